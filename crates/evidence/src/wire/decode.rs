//! One captured frame into the datagram it carries: link layer off, IP header read,
//! transport fields typed, and for ICMP errors the quoted original header decoded.

use crate::pcap::LinkType;
use std::net::IpAddr;
use wire::{ethernet, icmp, sll, IcmpPacket, Ipv4Packet, Ipv6Packet, TcpPacket, UdpPacket};

/// Which way the frame went, when the link layer says (Linux cooked captures do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received by the capturing host.
    Received,
    /// Sent by the capturing host.
    Sent,
}

/// An IP datagram seen in a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL / IPv6 hop limit as captured.
    pub ttl: u8,
    /// TOS / traffic class byte.
    pub tos: u8,
    /// IPv4 identification or IPv6 flow label.
    pub ident: u32,
    pub dont_fragment: bool,
    /// IPv4 total length, or IPv6 payload length + 40: the datagram's length on the wire.
    pub ip_len: u16,
    pub direction: Option<Direction>,
    pub transport: Transport<'a>,
}

/// The transport header, typed per protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport<'a> {
    Tcp {
        sport: u16,
        dport: u16,
        /// FIN 0x01 ... CWR 0x80.
        flags: u8,
        seq: u32,
        ack: u32,
        /// The data as captured (cut by the snap length).
        payload: &'a [u8],
        /// The data's length on the wire, from the IP length: a capture cut by its snap
        /// length still tells a full-size segment.
        wire_len: u16,
        /// The maximum segment size option (SYNs announce it).
        mss: Option<u16>,
    },
    Udp {
        sport: u16,
        dport: u16,
        payload: &'a [u8],
    },
    Icmp {
        v6: bool,
        icmp_type: u8,
        code: u8,
        /// Echo identifier and sequence (meaningful for echo messages only).
        ident: u16,
        seq: u16,
        /// For error messages: the header of the datagram that caused it, when quoted.
        quoted: Option<Quoted>,
        /// Fragmentation needed (ICMP 3/4) and packet too big (ICMPv6 2): the MTU of the
        /// next link, as the hop that sent it says (0 from old routers that do not say).
        mtu: Option<u32>,
    },
    /// A later fragment, or a transport header cut by the snap length.
    Missing { protocol: u8 },
    /// A protocol whose header is not read (GRE, ESP...).
    Other { protocol: u8 },
}

/// The start of the datagram an ICMP error quotes: which packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The TTL the datagram had when the reporting hop refused it.
    pub ttl: u8,
    pub protocol: u8,
    /// Source and destination ports (TCP, UDP, SCTP), when quoted.
    pub ports: Option<(u16, u16)>,
    /// Echo identifier, when the quoted datagram is an echo request.
    pub echo_ident: Option<u16>,
    /// TCP flags, when the quote reaches them (14 bytes of TCP header).
    pub tcp_flags: Option<u8>,
    /// IPv4 identification or IPv6 flow label of the quoted datagram.
    pub ident: u32,
}

/// Why a frame gave no datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotDecoded {
    /// Not IP (ARP, LLDP, spanning tree...): not our business.
    NotIp,
    /// An IP header that does not hold together.
    Malformed,
    /// A link type this reader does not know.
    UnsupportedLink,
}

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMP: u8 = 1;
const PROTO_ICMPV6: u8 = 58;
const PROTO_SCTP: u8 = 132;
const PROTO_UDPLITE: u8 = 136;

/// Decodes a frame captured with link type `link`.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Datagram<'_>, NotDecoded> {
    let (payload, ethertype, direction) = match link {
        LinkType::Ethernet => {
            let f = ethernet::Frame::new_checked(frame).map_err(|_| NotDecoded::Malformed)?;
            (f.payload(), Some(f.ethertype()), None)
        }
        LinkType::LinuxSll | LinkType::LinuxSll2 => {
            let v = if link == LinkType::LinuxSll {
                sll::Version::V1
            } else {
                sll::Version::V2
            };
            let p = sll::Packet::new_checked(frame, v).map_err(|_| NotDecoded::Malformed)?;
            let dir = match p.packet_type() {
                sll::PacketType::Outgoing => Some(Direction::Sent),
                sll::PacketType::Unknown(_) => None,
                _ => Some(Direction::Received),
            };
            (p.payload(), Some(p.protocol()), dir)
        }
        LinkType::Ppp => {
            let b = match frame {
                [0xff, 0x03, rest @ ..] => rest,
                b => b,
            };
            // Protocol field compression: an odd first byte is a one-byte protocol.
            let (proto, rest) = match b {
                [p, rest @ ..] if p & 1 == 1 => (u16::from(*p), rest),
                [a, c, rest @ ..] => (u16::from_be_bytes([*a, *c]), rest),
                _ => return Err(NotDecoded::Malformed),
            };
            let t = match proto {
                0x21 => ethernet::ethertype::IPV4,
                0x57 => ethernet::ethertype::IPV6,
                0x281 | 0x283 => ETHERTYPE_MPLS,
                _ => return Err(NotDecoded::NotIp),
            };
            (rest, Some(t), None)
        }
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => (frame, None, None),
        LinkType::Null | LinkType::Loop => {
            (frame.get(4..).ok_or(NotDecoded::Malformed)?, None, None)
        }
        LinkType::Unknown(_) => return Err(NotDecoded::UnsupportedLink),
    };
    let (payload, ethertype) = match ethertype {
        Some(ETHERTYPE_MPLS) | Some(ETHERTYPE_MPLS_MULTICAST) => (mpls(payload)?, None),
        Some(ethernet::ethertype::IPV4) | Some(ethernet::ethertype::IPV6) | None => {
            (payload, ethertype)
        }
        Some(_) => return Err(NotDecoded::NotIp),
    };
    let mut d = match payload.first().map(|b| b >> 4) {
        Some(4) => ipv4(payload)?,
        Some(6) => ipv6(payload)?,
        _ if ethertype.is_none() => return Err(NotDecoded::NotIp),
        _ => return Err(NotDecoded::Malformed),
    };
    d.direction = direction;
    Ok(d)
}

const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MULTICAST: u16 = 0x8848;
/// More labels than this is not a real packet.
const MAX_MPLS_LABELS: usize = 16;

/// Skips an MPLS label stack (4 bytes a label, the last with the bottom-of-stack bit).
fn mpls(mut b: &[u8]) -> Result<&[u8], NotDecoded> {
    for _ in 0..MAX_MPLS_LABELS {
        let label = b.get(..4).ok_or(NotDecoded::Malformed)?;
        b = &b[4..];
        if label[2] & 0x01 != 0 {
            return Ok(b);
        }
    }
    Err(NotDecoded::Malformed)
}

fn ipv4(b: &[u8]) -> Result<Datagram<'_>, NotDecoded> {
    let ip = Ipv4Packet::new_checked(b).map_err(|_| NotDecoded::Malformed)?;
    let later = ip.frag_offset() != 0;
    let payload = ip.payload();
    let transport = if later {
        Transport::Missing {
            protocol: ip.protocol(),
        }
    } else {
        let on_wire = ip.total_len().saturating_sub(u16::from(ip.header_len()));
        transport(ip.protocol(), payload, false, on_wire)
    };
    Ok(Datagram {
        src: ip.src_addr().into(),
        dst: ip.dst_addr().into(),
        ttl: ip.ttl(),
        tos: ip.tos(),
        ident: u32::from(ip.ident()),
        dont_fragment: ip.dont_frag(),
        ip_len: ip.total_len(),
        direction: None,
        transport,
    })
}

fn ipv6(b: &[u8]) -> Result<Datagram<'_>, NotDecoded> {
    let ip = Ipv6Packet::new_checked(b).map_err(|_| NotDecoded::Malformed)?;
    let transport = match ip.upper_layer() {
        Some(u) if !u.later_fragment => {
            // Extension headers are what lies between the fixed header and the upper layer.
            let extensions = ip.payload().len().saturating_sub(u.payload.len());
            let on_wire = ip.payload_len().saturating_sub(extensions as u16);
            transport(u.protocol, u.payload, true, on_wire)
        }
        Some(u) => Transport::Missing {
            protocol: u.protocol,
        },
        None => Transport::Missing {
            protocol: ip.next_header(),
        },
    };
    Ok(Datagram {
        src: ip.src_addr().into(),
        dst: ip.dst_addr().into(),
        ttl: ip.hop_limit(),
        tos: ip.traffic_class(),
        ident: ip.flow_label(),
        dont_fragment: false,
        ip_len: ip.payload_len().saturating_add(40),
        direction: None,
        transport,
    })
}

/// The transport header in `b`; `on_wire`: the transport bytes the IP header announces.
fn transport(protocol: u8, b: &[u8], v6: bool, on_wire: u16) -> Transport<'_> {
    let missing = Transport::Missing { protocol };
    match protocol {
        PROTO_TCP => match TcpPacket::new_checked(b) {
            Ok(t) => Transport::Tcp {
                sport: t.src_port(),
                dport: t.dst_port(),
                flags: t.flags().0,
                seq: t.seq_number(),
                ack: t.ack_number(),
                payload: t.payload(),
                wire_len: on_wire.saturating_sub(u16::from(t.header_len())),
                mss: t.mss_option(),
            },
            Err(_) => missing,
        },
        PROTO_UDP | PROTO_UDPLITE => match UdpPacket::new_checked(b) {
            Ok(u) => Transport::Udp {
                sport: u.src_port(),
                dport: u.dst_port(),
                payload: u.payload(),
            },
            Err(_) => missing,
        },
        PROTO_ICMP | PROTO_ICMPV6 if (protocol == PROTO_ICMPV6) == v6 => {
            match IcmpPacket::new_checked(b) {
                Ok(i) => {
                    let quoted = if icmp::is_error(v6, i.msg_type()) {
                        quoted(i.data())
                    } else {
                        None
                    };
                    let mtu = match (v6, i.msg_type(), i.msg_code()) {
                        (true, icmp::types::V6_PKT_TOO_BIG, _) => Some(i.rest_of_header()),
                        (false, icmp::types::V4_DST_UNREACHABLE, 4) => {
                            Some(i.rest_of_header() & 0xffff)
                        }
                        _ => None,
                    };
                    Transport::Icmp {
                        v6,
                        icmp_type: i.msg_type(),
                        code: i.msg_code(),
                        ident: i.echo_ident(),
                        seq: i.echo_seq_no(),
                        quoted,
                        mtu,
                    }
                }
                Err(_) => missing,
            }
        }
        p => Transport::Other { protocol: p },
    }
}

/// The quoted datagram of an ICMP error: an IP header and at least the first 8 bytes of
/// its payload (RFC 792), often more (RFC 1812, ICMPv6: as much as fits).
fn quoted(b: &[u8]) -> Option<Quoted> {
    let (src, dst, ttl, protocol, ident, inner): (IpAddr, IpAddr, u8, u8, u32, &[u8]) =
        match b.first()? >> 4 {
            4 => {
                let ip = Ipv4Packet::new_checked(b).ok()?;
                let hl = usize::from(ip.header_len());
                let inner = if ip.frag_offset() != 0 {
                    &[][..]
                } else {
                    b.get(hl..).unwrap_or(&[])
                };
                (
                    ip.src_addr().into(),
                    ip.dst_addr().into(),
                    ip.ttl(),
                    ip.protocol(),
                    u32::from(ip.ident()),
                    inner,
                )
            }
            6 => {
                let ip = Ipv6Packet::new_checked(b).ok()?;
                // The quote is cut: walk what is there, without the payload length's limit.
                let (protocol, inner) = match ip.upper_layer_of_quote() {
                    Some(u) if !u.later_fragment => (u.protocol, u.payload),
                    Some(u) => (u.protocol, &[][..]),
                    None => (ip.next_header(), &[][..]),
                };
                (
                    ip.src_addr().into(),
                    ip.dst_addr().into(),
                    ip.hop_limit(),
                    protocol,
                    ip.flow_label(),
                    inner,
                )
            }
            _ => return None,
        };
    let ports = match protocol {
        PROTO_TCP | PROTO_UDP | PROTO_SCTP | PROTO_UDPLITE if inner.len() >= 4 => Some((
            u16::from_be_bytes([inner[0], inner[1]]),
            u16::from_be_bytes([inner[2], inner[3]]),
        )),
        _ => None,
    };
    let echo_ident = match (protocol, inner) {
        (PROTO_ICMP, [8, _, _, _, a, b, ..]) | (PROTO_ICMPV6, [128, _, _, _, a, b, ..]) => {
            Some(u16::from_be_bytes([*a, *b]))
        }
        _ => None,
    };
    let tcp_flags = match protocol {
        PROTO_TCP => inner.get(13).copied(),
        _ => None,
    };
    Some(Quoted {
        src,
        dst,
        ttl,
        protocol,
        ports,
        echo_ident,
        tcp_flags,
        ident,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet + IPv4 ICMP port unreachable from 10.1.1.1 quoting a TCP SYN to
    /// 10.1.0.2:2175 (user story 1).
    fn story1_icmp() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend([0x08, 0x00]);
        let quoted_ip = [
            0x45, 0, 0, 60, 0, 1, 0x40, 0, 63, 6, 0, 0, 10, 1, 1, 2, 10, 1, 0, 2,
        ];
        let quoted_tcp = [0x04, 0x1a, 0x08, 0x7f, 0, 0, 0, 1];
        let total = 20 + 8 + 20 + 8;
        f.extend([
            0x45, 0xc0, 0, total, 0, 2, 0, 0, 64, 1, 0, 0, 10, 1, 1, 1, 10, 1, 1, 2,
        ]);
        f.extend([3, 3, 0, 0, 0, 0, 0, 0]);
        f.extend(quoted_ip);
        f.extend(quoted_tcp);
        f
    }

    #[test]
    fn icmp_error_quotes_the_refused_syn() {
        let f = story1_icmp();
        let d = decode(LinkType::Ethernet, &f).unwrap();
        assert_eq!(d.src, "10.1.1.1".parse::<IpAddr>().unwrap());
        match d.transport {
            Transport::Icmp {
                v6: false,
                icmp_type: 3,
                code: 3,
                quoted: Some(q),
                ..
            } => {
                assert_eq!(q.dst, "10.1.0.2".parse::<IpAddr>().unwrap());
                assert_eq!(q.ports, Some((1050, 2175)));
                assert_eq!(q.ttl, 63);
                assert_eq!(q.protocol, 6);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_prefix_of_a_frame_decodes_or_fails_cleanly() {
        let f = story1_icmp();
        for n in 0..f.len() {
            let _ = decode(LinkType::Ethernet, &f[..n]);
            let _ = decode(LinkType::Raw, &f[14..14 + n.min(f.len() - 14)]);
        }
    }

    #[test]
    fn arp_is_not_ip() {
        let mut f = vec![0u8; 12];
        f.extend([0x08, 0x06, 0, 1]);
        assert_eq!(decode(LinkType::Ethernet, &f), Err(NotDecoded::NotIp));
    }
}
