//! The packet whose fate is simulated: a plain value with typed fields.

use std::fmt;
use std::net::IpAddr;

/// IP protocol numbers (`/etc/protocols`), named as iptables and nft print them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpProto {
    /// `icmp`, 1.
    Icmp,
    /// `igmp`, 2.
    Igmp,
    /// `tcp`, 6.
    Tcp,
    /// `udp`, 17.
    Udp,
    /// `gre`, 47.
    Gre,
    /// `esp`, 50 (IPsec payload).
    Esp,
    /// `ah`, 51 (IPsec authentication header).
    Ah,
    /// `icmpv6` (`ipv6-icmp` in `/etc/protocols`), 58.
    Icmpv6,
    /// `sctp`, 132.
    Sctp,
    /// `udplite`, 136.
    UdpLite,
    /// Any other protocol number, printed as the number.
    Other(u8),
}

impl IpProto {
    /// The protocol with this number (the IPv4 `protocol` / IPv6 `next header` byte).
    pub fn from_number(n: u8) -> IpProto {
        match n {
            1 => IpProto::Icmp,
            2 => IpProto::Igmp,
            6 => IpProto::Tcp,
            17 => IpProto::Udp,
            47 => IpProto::Gre,
            50 => IpProto::Esp,
            51 => IpProto::Ah,
            58 => IpProto::Icmpv6,
            132 => IpProto::Sctp,
            136 => IpProto::UdpLite,
            n => IpProto::Other(n),
        }
    }
    /// The protocol's number, as on the wire.
    pub fn number(self) -> u8 {
        match self {
            IpProto::Icmp => 1,
            IpProto::Igmp => 2,
            IpProto::Tcp => 6,
            IpProto::Udp => 17,
            IpProto::Gre => 47,
            IpProto::Esp => 50,
            IpProto::Ah => 51,
            IpProto::Icmpv6 => 58,
            IpProto::Sctp => 132,
            IpProto::UdpLite => 136,
            IpProto::Other(n) => n,
        }
    }
    /// Parses a name as iptables/nft/`/etc/protocols` spell it, or a number.
    pub fn from_name(name: &str) -> Option<IpProto> {
        let p = match name.to_ascii_lowercase().as_str() {
            "icmp" => IpProto::Icmp,
            "igmp" => IpProto::Igmp,
            "tcp" => IpProto::Tcp,
            "udp" => IpProto::Udp,
            "gre" => IpProto::Gre,
            "esp" => IpProto::Esp,
            "ah" => IpProto::Ah,
            "icmpv6" | "ipv6-icmp" | "icmp6" => IpProto::Icmpv6,
            "sctp" => IpProto::Sctp,
            "udplite" => IpProto::UdpLite,
            other => return other.parse::<u8>().ok().map(IpProto::from_number),
        };
        Some(p)
    }
}

impl fmt::Display for IpProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpProto::Icmp => f.write_str("icmp"),
            IpProto::Igmp => f.write_str("igmp"),
            IpProto::Tcp => f.write_str("tcp"),
            IpProto::Udp => f.write_str("udp"),
            IpProto::Gre => f.write_str("gre"),
            IpProto::Esp => f.write_str("esp"),
            IpProto::Ah => f.write_str("ah"),
            IpProto::Icmpv6 => f.write_str("icmpv6"),
            IpProto::Sctp => f.write_str("sctp"),
            IpProto::UdpLite => f.write_str("udplite"),
            IpProto::Other(n) => write!(f, "{n}"),
        }
    }
}

/// TCP header flags as a bit set, with the kernel's bit values (FIN = 0x01 ... CWR = 0x80).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from the sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronise sequence numbers: opens a connection.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection (what `reject with tcp reset` sends).
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push the data to the application.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// The acknowledgment number is valid (every segment after the SYN).
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// The urgent pointer is valid.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECN echo.
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// Congestion window reduced (ECN).
    pub const CWR: TcpFlags = TcpFlags(0x80);
    /// Names in bit order, as iptables spells them.
    pub const NAMES: [(&'static str, TcpFlags); 8] = [
        ("FIN", TcpFlags::FIN),
        ("SYN", TcpFlags::SYN),
        ("RST", TcpFlags::RST),
        ("PSH", TcpFlags::PSH),
        ("ACK", TcpFlags::ACK),
        ("URG", TcpFlags::URG),
        ("ECE", TcpFlags::ECE),
        ("CWR", TcpFlags::CWR),
    ];

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// The flags of both.
    pub fn union(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }
    /// Parses the packet-spec short form: a word of letters `S A P R F U E C`
    /// (e.g. `S`, `SA`, `PA`, `FA`).
    pub fn from_letters(s: &str) -> Option<TcpFlags> {
        let mut flags = TcpFlags(0);
        for c in s.chars() {
            flags = flags.union(match c.to_ascii_uppercase() {
                'F' => TcpFlags::FIN,
                'S' => TcpFlags::SYN,
                'R' => TcpFlags::RST,
                'P' => TcpFlags::PSH,
                'A' => TcpFlags::ACK,
                'U' => TcpFlags::URG,
                'E' => TcpFlags::ECE,
                'C' => TcpFlags::CWR,
                _ => return None,
            });
        }
        Some(flags)
    }
}

/// Prints flags the way the kernel's LOG target does: `SYN ACK` (space separated, in
/// the order CWR ECE URG ACK PSH RST SYN FIN as `nf_log_dump_tcp_header` prints them).
impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (name, flag) in TcpFlags::NAMES.iter().rev() {
            if self.contains(*flag) {
                if !first {
                    f.write_str(" ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// The transport header, typed per protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4 {
    /// A TCP segment.
    Tcp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// The header's flags (a SYN opens a connection, what `ct state new` usually sees).
        flags: TcpFlags,
    },
    /// A UDP datagram.
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
    },
    /// An SCTP packet (only the common header's ports are simulated).
    Sctp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
    },
    /// ICMP for IPv4. `id` is the echo identifier (used as conntrack's "port").
    Icmp {
        /// The ICMP type (8 echo request, 0 echo reply, 3 destination unreachable, ...).
        icmp_type: u8,
        /// The ICMP code (for type 3: 3 port unreachable, 13 administratively prohibited, ...).
        code: u8,
        /// The echo identifier; 0 for types that have none.
        id: u16,
    },
    /// ICMPv6. `id` is the echo identifier, as for [`L4::Icmp`].
    Icmpv6 {
        /// The ICMPv6 type (128 echo request, 129 echo reply, 1 destination unreachable, ...).
        icmp_type: u8,
        /// The ICMPv6 code.
        code: u8,
        /// The echo identifier; 0 for types that have none.
        id: u16,
    },
    /// Any other protocol: no transport fields are known.
    Other(IpProto),
}

impl L4 {
    /// The IP protocol that carries this header.
    pub fn proto(&self) -> IpProto {
        match self {
            L4::Tcp { .. } => IpProto::Tcp,
            L4::Udp { .. } => IpProto::Udp,
            L4::Sctp { .. } => IpProto::Sctp,
            L4::Icmp { .. } => IpProto::Icmp,
            L4::Icmpv6 { .. } => IpProto::Icmpv6,
            L4::Other(p) => *p,
        }
    }
    /// Source and destination ports, for the protocols that have them.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match *self {
            L4::Tcp { sport, dport, .. } | L4::Udp { sport, dport } | L4::Sctp { sport, dport } => {
                Some((sport, dport))
            }
            _ => None,
        }
    }
    /// The same header with ports replaced (NAT); a no-op for portless protocols.
    pub fn with_ports(self, new_sport: u16, new_dport: u16) -> L4 {
        match self {
            L4::Tcp { flags, .. } => L4::Tcp {
                sport: new_sport,
                dport: new_dport,
                flags,
            },
            L4::Udp { .. } => L4::Udp {
                sport: new_sport,
                dport: new_dport,
            },
            L4::Sctp { .. } => L4::Sctp {
                sport: new_sport,
                dport: new_dport,
            },
            other => other,
        }
    }
}

/// IPv4 fragmentation state of the packet (IPv6 packets are simulated unfragmented).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fragment {
    /// Not a fragment: a whole datagram.
    #[default]
    None,
    /// Offset 0 with more-fragments set: carries the transport header.
    First,
    /// A later fragment: no transport header, `-f` matches it.
    Later {
        /// The IPv4 fragment offset field, in 8-byte units (`FRAG:` of a LOG line).
        offset: u16,
    },
}

/// A 48-bit Ethernet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// Parses `aa:bb:cc:dd:ee:ff` (also with single hex digits, as the kernel log prints).
    pub fn parse(s: &str) -> Option<Mac> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in out.iter_mut() {
            let p = parts.next()?;
            if p.is_empty() || p.len() > 2 {
                return None;
            }
            *byte = u8::from_str_radix(p, 16).ok()?;
        }
        parts.next().is_none().then_some(Mac(out))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Link-layer packet type as the kernel classifies it (`meta pkttype`, `-m pkttype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PktType {
    /// Addressed to this host's MAC (`PACKET_HOST`; `host` in nft, `unicast` in iptables).
    #[default]
    Unicast,
    /// Sent to the link's broadcast address (`PACKET_BROADCAST`).
    Broadcast,
    /// Sent to a multicast MAC (`PACKET_MULTICAST`).
    Multicast,
    /// Addressed to another host's MAC (seen in promiscuous mode).
    OtherHost,
}

/// The packet being simulated.
///
/// `iif`/`oif` say where it is *given* to arrive or leave: `iif` set means it arrives on
/// that interface; `iif` unset means it is locally generated (output path). Routing may
/// fill in or contradict `oif`; the engine reports that.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Packet {
    /// The IP source address; its family (with `dst`'s) is the packet's family.
    pub src: IpAddr,
    /// The IP destination address.
    pub dst: IpAddr,
    /// The transport header.
    pub l4: L4,
    /// IPv4 TTL or IPv6 hop limit, as the packet arrives (before any decrement).
    pub ttl: u8,
    /// IPv4 total length / IPv6 payload length + 40: the `LEN=` of a LOG line.
    pub len: u16,
    /// The whole TOS / traffic class byte (DSCP << 2 | ECN).
    pub tos: u8,
    /// skb mark at the start of the path.
    pub mark: u32,
    /// The interface the packet arrives on; `None` for a packet the host itself sends.
    pub iif: Option<String>,
    /// The interface the packet is given to leave by; `None` lets routing choose.
    pub oif: Option<String>,
    /// The Ethernet source address of an arriving packet; `None` when not given (a rule
    /// matching on it is then undecidable, except for locally generated packets).
    pub src_mac: Option<Mac>,
    /// The Ethernet destination address of an arriving packet; `None` means the inbound
    /// interface's own MAC where one is needed (a LOG line).
    pub dst_mac: Option<Mac>,
    /// How the link layer classified the packet (`meta pkttype`, `-m pkttype`).
    pub pkttype: PktType,
    /// Whether and which IPv4 fragment this is.
    pub fragment: Fragment,
    /// IPv4 identification or IPv6 flow label: the tag the kernel oracle uses.
    pub id: u32,
    /// DF bit (IPv4).
    pub dont_fragment: bool,
    /// Owner of a locally generated packet's socket (`-m owner`, `meta skuid`).
    pub uid: Option<u32>,
    /// Group of a locally generated packet's socket (`--gid-owner`, `meta skgid`).
    pub gid: Option<u32>,
    /// The device a locally generated packet's socket is bound to (`SO_BINDTODEVICE`,
    /// `ping -I eth0`): its routing finds only routes leaving by that device.
    pub bound_dev: Option<String>,
}

impl Packet {
    /// A packet with kernel-typical defaults: TTL 64, DF set, minimal length for its headers.
    pub fn new(src: IpAddr, dst: IpAddr, l4: L4) -> Packet {
        let mut p = Packet {
            src,
            dst,
            l4,
            ttl: 64,
            len: 0,
            tos: 0,
            mark: 0,
            iif: None,
            oif: None,
            src_mac: None,
            dst_mac: None,
            pkttype: PktType::Unicast,
            fragment: Fragment::None,
            id: 0,
            dont_fragment: true,
            uid: None,
            gid: None,
            bound_dev: None,
        };
        p.len = p.minimal_len();
        p
    }
    /// Whether this is an IPv6 packet.
    pub fn is_ipv6(&self) -> bool {
        self.dst.is_ipv6()
    }
    /// Length of the headers alone: IP + transport (TCP SYN with the usual 20 bytes of
    /// options is 60 on IPv4, as Linux sends it).
    pub fn minimal_len(&self) -> u16 {
        let ip = if self.is_ipv6() { 40 } else { 20 };
        let l4 = match self.l4 {
            L4::Tcp { flags, .. } if flags.contains(TcpFlags::SYN) => 40,
            L4::Tcp { .. } => 20,
            L4::Udp { .. } => 8,
            L4::Sctp { .. } => 12,
            L4::Icmp { .. } | L4::Icmpv6 { .. } => 8,
            L4::Other(_) => 0,
        };
        ip + l4
    }
    /// The packet's IP protocol.
    pub fn proto(&self) -> IpProto {
        self.l4.proto()
    }
    /// Whether the transport header is present (absent in later IPv4 fragments).
    pub fn has_transport_header(&self) -> bool {
        !matches!(self.fragment, Fragment::Later { .. })
    }
    /// The DSCP (the TOS byte's upper six bits; `-m dscp`, `ip dscp`).
    pub fn dscp(&self) -> u8 {
        self.tos >> 2
    }
}

/// `tcp 10.1.1.2:1050 -> 10.1.0.2:2175 [SYN]`
impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = |f: &mut fmt::Formatter<'_>, a: IpAddr, port: Option<u16>| match (a, port) {
            (IpAddr::V6(a), Some(p)) => write!(f, "[{a}]:{p}"),
            (a, Some(p)) => write!(f, "{a}:{p}"),
            (a, None) => write!(f, "{a}"),
        };
        let ports = self.l4.ports();
        write!(f, "{} ", self.proto())?;
        addr(f, self.src, ports.map(|p| p.0))?;
        f.write_str(" -> ")?;
        addr(f, self.dst, ports.map(|p| p.1))?;
        match self.l4 {
            L4::Tcp { flags, .. } => write!(f, " [{flags}]"),
            L4::Icmp {
                icmp_type, code, ..
            }
            | L4::Icmpv6 {
                icmp_type, code, ..
            } => {
                write!(f, " type {icmp_type} code {code}")
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_flags_print_like_the_kernel_log() {
        assert_eq!(TcpFlags::from_letters("SA").unwrap().to_string(), "ACK SYN");
        assert_eq!(TcpFlags::from_letters("S").unwrap().to_string(), "SYN");
        assert!(TcpFlags::from_letters("SX").is_none());
    }

    #[test]
    fn syn_default_length_matches_linux() {
        let p = Packet::new(
            "10.1.1.2".parse().unwrap(),
            "10.1.0.2".parse().unwrap(),
            L4::Tcp {
                sport: 1050,
                dport: 2175,
                flags: TcpFlags::SYN,
            },
        );
        assert_eq!(p.len, 60);
        assert_eq!(p.to_string(), "tcp 10.1.1.2:1050 -> 10.1.0.2:2175 [SYN]");
    }

    #[test]
    fn mac_parses_short_kernel_form() {
        assert_eq!(
            Mac::parse("2:0:0:0:60:2").unwrap().to_string(),
            "02:00:00:00:60:02"
        );
        assert!(Mac::parse("2:0:0:0:60").is_none());
    }
}
