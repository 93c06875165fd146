//! Conntrack: what `nf_conntrack_in` attaches to a packet, and the state rules then see.
//!
//! - A packet that matches an entry of the host's table (`conntrack -L`) in its original or
//!   reply tuple belongs to that connection: ESTABLISHED once a reply was seen (or when it is
//!   itself in the reply direction), RELATED for an expected connection, NEW otherwise (a
//!   retransmitted SYN of an `[UNREPLIED]` entry is still NEW).
//! - Otherwise the packet is the first of its flow ([`classify_first`], after
//!   `nf_conntrack_proto_tcp.c` `tcp_error`/`tcp_new`, `nf_conntrack_proto_icmp.c`
//!   `valid_new`, `nf_conntrack_proto_icmpv6.c` `noct_valid_new`).
//!
//! A packet conntrack does not attach a connection to reads as `ct state invalid`
//! (`nft_ct_get_eval`: no ct and not untracked -> INVALID): so does every packet before
//! conntrack ran (raw table). INVALID packets are not dropped by conntrack itself.

use crate::trace::{CtInvalid, CtState, TcpSegment};
use model::expr::ct_state;
use model::host::{CtEntry, CtTuple, Sysctls};
use model::packet::IpProto;
use model::{Packet, TcpFlags, L4};
use std::net::IpAddr;

pub const TCP_LOOSE: &str = "net.netfilter.nf_conntrack_tcp_loose";
pub const CT_MAX: &str = "net.netfilter.nf_conntrack_max";
pub const CT_COUNT: &str = "net.netfilter.nf_conntrack_count";

/// What conntrack attached to the packet (`skb->_nfct`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Nfct {
    /// Conntrack has not run yet (before priority -200): reads as INVALID.
    #[default]
    None,
    /// `NOTRACK` / `notrack` before conntrack, or an ICMPv6 ND/MLD message:
    /// `IP_CT_UNTRACKED`.
    Untracked,
    /// Conntrack ran and attached nothing: `ct state invalid`.
    Invalid,
    /// The packet belongs to a connection.
    Tracked(Conn),
}

impl Nfct {
    /// `ct state` bits as rules read them.
    pub fn state_bits(&self) -> u64 {
        match self {
            Nfct::None | Nfct::Invalid => ct_state::INVALID,
            Nfct::Untracked => ct_state::UNTRACKED,
            Nfct::Tracked(c) => match c.state {
                CtState::New => ct_state::NEW,
                CtState::Established => ct_state::ESTABLISHED,
                CtState::Related => ct_state::RELATED,
                CtState::Invalid => ct_state::INVALID,
                CtState::Untracked => ct_state::UNTRACKED,
            },
        }
    }
    pub fn conn(&self) -> Option<&Conn> {
        match self {
            Nfct::Tracked(c) => Some(c),
            _ => None,
        }
    }
    pub fn conn_mut(&mut self) -> Option<&mut Conn> {
        match self {
            Nfct::Tracked(c) => Some(c),
            _ => None,
        }
    }
    /// The state as the trace reports it; `None` before conntrack ran.
    pub fn trace_state(&self) -> Option<CtState> {
        match self {
            Nfct::None => None,
            Nfct::Untracked => Some(CtState::Untracked),
            Nfct::Invalid => Some(CtState::Invalid),
            Nfct::Tracked(c) => Some(c.state),
        }
    }
}

/// A connection as the packet sees it (`struct nf_conn` plus `ctinfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct Conn {
    pub state: CtState,
    /// The packet travels in the reply direction (`IP_CT_DIR_REPLY`).
    pub reply_dir: bool,
    /// Index into `host.conntrack`; `None` for a connection this packet creates.
    pub entry: Option<usize>,
    pub proto: IpProto,
    /// `tuplehash[IP_CT_DIR_ORIGINAL]`.
    pub orig: CtTuple,
    /// `tuplehash[IP_CT_DIR_REPLY]`: changed by NAT on the first packet.
    pub reply: CtTuple,
    /// `IPS_*` bits.
    pub status: u64,
    pub mark: u32,
    pub zone: u16,
    pub helper: Option<String>,
    /// `nf_nat_initialized(ct, NF_NAT_MANIP_SRC)`.
    pub src_nat_done: bool,
    /// `nf_nat_initialized(ct, NF_NAT_MANIP_DST)`.
    pub dst_nat_done: bool,
}

/// Why a first packet got its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstPacket {
    /// Creates a connection in state NEW.
    New,
    /// A lone ACK picked up mid-stream because `nf_conntrack_tcp_loose` is not 0.
    NewLoose,
    /// A TCP packet that cannot open a connection (`tcp_new`: RST, FIN, SYN-ACK, or a
    /// mid-stream ACK with `tcp_loose` 0).
    InvalidNew,
    /// `tcp_error`: a flag combination TCP never uses (no flags, SYN-FIN, lone FIN).
    InvalidFlags,
    /// ICMP that cannot open a connection (echo reply, router advertisement, ...).
    InvalidIcmp,
    /// An ICMP error: RELATED if it quotes a tracked flow, INVALID otherwise.
    IcmpError,
    /// ICMPv6 neighbour discovery / MLD: conntrack marks it untracked.
    Untracked,
}

/// Whether a lone ACK needs `nf_conntrack_tcp_loose` to open a connection.
pub fn needs_tcp_loose(packet: &Packet) -> bool {
    matches!(packet.l4, L4::Tcp { flags, .. } if tcp_index(flags) == TcpIndex::Ack)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TcpIndex {
    Syn,
    SynAck,
    Fin,
    Ack,
    Rst,
    None,
}

/// `get_conntrack_index`.
fn tcp_index(flags: TcpFlags) -> TcpIndex {
    if flags.contains(TcpFlags::RST) {
        TcpIndex::Rst
    } else if flags.contains(TcpFlags::SYN) {
        if flags.contains(TcpFlags::ACK) {
            TcpIndex::SynAck
        } else {
            TcpIndex::Syn
        }
    } else if flags.contains(TcpFlags::FIN) {
        TcpIndex::Fin
    } else if flags.contains(TcpFlags::ACK) {
        TcpIndex::Ack
    } else {
        TcpIndex::None
    }
}

/// `tcp_valid_flags[]` of `nf_conntrack_proto_tcp.c` (ECE, CWR and PSH masked off).
fn tcp_flags_valid(flags: TcpFlags) -> bool {
    const FIN: u8 = 0x01;
    const SYN: u8 = 0x02;
    const RST: u8 = 0x04;
    const ACK: u8 = 0x10;
    const URG: u8 = 0x20;
    let f = flags.0 & !(0x40 | 0x80 | 0x08);
    matches!(
        f,
        x if x == SYN
            || x == SYN | URG
            || x == SYN | ACK
            || x == RST
            || x == RST | ACK
            || x == FIN | ACK
            || x == FIN | ACK | URG
            || x == ACK
            || x == ACK | URG
    )
}

/// The classification of a packet no entry knows, with `tcp_loose` the value of
/// `nf_conntrack_tcp_loose`.
pub fn classify_first(packet: &Packet, tcp_loose: bool) -> FirstPacket {
    match packet.l4 {
        L4::Tcp { flags, .. } => {
            if !tcp_flags_valid(flags) {
                return FirstPacket::InvalidFlags;
            }
            match tcp_index(flags) {
                TcpIndex::Syn => FirstPacket::New,
                TcpIndex::Ack if tcp_loose => FirstPacket::NewLoose,
                _ => FirstPacket::InvalidNew,
            }
        }
        L4::Icmp { icmp_type, .. } => match icmp_type {
            // echo, timestamp, info request, address mask request (`valid_new`)
            8 | 13 | 15 | 17 => FirstPacket::New,
            // dest unreachable, source quench, redirect, time exceeded, parameter problem
            3 | 4 | 5 | 11 | 12 => FirstPacket::IcmpError,
            _ => FirstPacket::InvalidIcmp,
        },
        L4::Icmpv6 { icmp_type, .. } => match icmp_type {
            // echo request, node information query
            128 | 139 => FirstPacket::New,
            // MLD query/report/done, RS, RA, NS, NA, MLDv2 report, multicast router
            // discovery (`noct_valid_new`; a redirect, 137, is not among them)
            130..=136 | 143 | 151 | 152 => FirstPacket::Untracked,
            1..=4 => FirstPacket::IcmpError,
            _ => FirstPacket::InvalidIcmp,
        },
        L4::Udp { .. } | L4::Sctp { .. } | L4::Other(_) => FirstPacket::New,
    }
}

/// Why a first packet classified `first` is INVALID (`None`: it is not). `tcp_loose` is
/// the value of `nf_conntrack_tcp_loose` when it was consulted (a lone ACK).
pub fn invalid_why(
    packet: &Packet,
    first: FirstPacket,
    tcp_loose: Option<bool>,
) -> Option<CtInvalid> {
    match (first, packet.l4) {
        (FirstPacket::InvalidNew, L4::Tcp { flags, .. }) => {
            let segment = match tcp_index(flags) {
                TcpIndex::SynAck => TcpSegment::SynAck,
                TcpIndex::Rst => TcpSegment::Rst,
                TcpIndex::Fin => TcpSegment::Fin,
                _ => TcpSegment::Ack,
            };
            Some(CtInvalid::NoEntry { segment, tcp_loose })
        }
        (FirstPacket::InvalidFlags, _) => Some(CtInvalid::BadTcpFlags),
        (FirstPacket::InvalidIcmp, L4::Icmp { icmp_type, .. } | L4::Icmpv6 { icmp_type, .. }) => {
            Some(CtInvalid::IcmpCannotOpen { icmp_type })
        }
        _ => None,
    }
}

/// A protocol a conntrack helper follows whose expected connection runs between the same
/// two hosts as its control connection (`nf_conntrack_ftp.c`, `nf_conntrack_tftp.c`).
struct HelperProtocol {
    /// The helper's name (`-j CT --helper NAME`, `ct helper set`, `helper=NAME` in
    /// `conntrack -L`).
    name: &'static str,
    /// The control connection's protocol.
    proto: IpProto,
    /// The control connection's server port.
    control_port: u16,
    /// The data connection's fixed source port, when it has one (active FTP's 20).
    data_sport: Option<u16>,
}

const HELPER_PROTOCOLS: [HelperProtocol; 2] = [
    HelperProtocol {
        name: "ftp",
        proto: IpProto::Tcp,
        control_port: 21,
        data_sport: Some(20),
    },
    HelperProtocol {
        name: "tftp",
        proto: IpProto::Udp,
        control_port: 69,
        data_sport: None,
    },
];

/// The ground for taking `packet`, the first of its flow, as the data connection of a
/// helper's protocol: the helper's name and the control connection's entry in `table`
/// (`None` when only the data port's shape says so: active FTP from port 20). `None` when
/// there is no ground, or when the control entry has the helper (`helper=ftp`): the kernel
/// then expects the data connection and no helper is not why it is lost.
pub fn helper_ground(
    table: Option<&[CtEntry]>,
    packet: &Packet,
) -> Option<(&'static str, Option<usize>)> {
    let (sport, dport) = packet.l4.ports()?;
    HELPER_PROTOCOLS.iter().find_map(|h| {
        if packet.proto() != h.proto || dport == h.control_port {
            return None;
        }
        match table.and_then(|t| control_of(t, packet, h).map(|i| (t, i))) {
            Some((t, i)) if has_helper(&t[i], h.name) => None,
            Some((_, i)) => Some((h.name, Some(i))),
            None if h.data_sport == Some(sport) => Some((h.name, None)),
            None => None,
        }
    })
}

/// The entry of `table` of `h`'s control connection between `packet`'s two hosts.
fn control_of(table: &[CtEntry], packet: &Packet, h: &HelperProtocol) -> Option<usize> {
    table.iter().position(|e| {
        let ends = [e.orig.src, e.orig.dst, e.reply.src, e.reply.dst];
        e.proto == h.proto
            && e.orig.dport == h.control_port
            && ends.contains(&packet.src)
            && ends.contains(&packet.dst)
    })
}

/// The helper whose control connection (an entry of `table` between the packet's hosts,
/// printed with `helper=NAME`) may expect `packet`, the first of its flow: the kernel's
/// expectation table (`conntrack -L expect`) would say whether it is RELATED; the entries
/// alone do not.
pub fn expected_by(table: &[CtEntry], packet: &Packet) -> Option<(&'static str, usize)> {
    let (_, dport) = packet.l4.ports()?;
    HELPER_PROTOCOLS.iter().find_map(|h| {
        if packet.proto() != h.proto || dport == h.control_port {
            return None;
        }
        control_of(table, packet, h)
            .filter(|&i| has_helper(&table[i], h.name))
            .map(|i| (h.name, i))
    })
}

/// Whether `conntrack -L` printed the entry with this helper (`helper=ftp`).
fn has_helper(e: &CtEntry, helper: &str) -> bool {
    e.text
        .split_whitespace()
        .any(|w| w.strip_prefix("helper=") == Some(helper))
}

/// The packet's tuple as conntrack forms it (`nf_ct_get_tuple`): ports, or the ICMP echo
/// id in `sport` and `type << 8 | code` in `dport`.
pub fn tuple_of(packet: &Packet) -> CtTuple {
    let (sport, dport) = match packet.l4 {
        L4::Tcp { sport, dport, .. } | L4::Udp { sport, dport } | L4::Sctp { sport, dport } => {
            (sport, dport)
        }
        L4::Icmp {
            icmp_type,
            code,
            id,
        }
        | L4::Icmpv6 {
            icmp_type,
            code,
            id,
        } => (id, u16::from(icmp_type) << 8 | u16::from(code)),
        L4::Other(_) => (0, 0),
    };
    CtTuple {
        src: packet.src,
        dst: packet.dst,
        sport,
        dport,
    }
}

/// The inverse tuple (`nf_ct_invert_tuple`): addresses and ports swapped; an ICMP request
/// type becomes its reply type.
pub fn invert(proto: IpProto, t: &CtTuple) -> CtTuple {
    let dport = match proto {
        IpProto::Icmp | IpProto::Icmpv6 => {
            let (ty, code) = ((t.dport >> 8) as u8, t.dport as u8);
            let inv = match (proto, ty) {
                (IpProto::Icmp, 8) => 0,
                (IpProto::Icmp, 13) => 14,
                (IpProto::Icmp, 15) => 16,
                (IpProto::Icmp, 17) => 18,
                (IpProto::Icmpv6, 128) => 129,
                (IpProto::Icmpv6, 139) => 140,
                (_, ty) => ty,
            };
            u16::from(inv) << 8 | u16::from(code)
        }
        _ => t.sport,
    };
    match proto {
        IpProto::Icmp | IpProto::Icmpv6 => CtTuple {
            src: t.dst,
            dst: t.src,
            sport: t.sport,
            dport,
        },
        _ => CtTuple {
            src: t.dst,
            dst: t.src,
            sport: t.dport,
            dport,
        },
    }
}

/// Whether a packet's tuple is `t` (ICMP: addresses and echo id only).
fn same_tuple(proto: IpProto, t: &CtTuple, p: &CtTuple) -> bool {
    match proto {
        IpProto::Icmp | IpProto::Icmpv6 => t.src == p.src && t.dst == p.dst && t.sport == p.sport,
        _ => t == p,
    }
}

/// The entry of `table` the packet belongs to, and whether it travels in the reply
/// direction (`__nf_conntrack_find_get` over both tuple hashes, in `zone`).
pub fn lookup(table: &[CtEntry], packet: &Packet, zone: u16) -> Option<(usize, bool)> {
    let proto = packet.proto();
    let t = tuple_of(packet);
    let find = |same: &dyn Fn(&CtTuple, &CtTuple) -> bool| {
        table.iter().enumerate().find_map(|(i, e)| {
            if e.proto != proto || e.zone != zone {
                None
            } else if same(&e.orig, &t) {
                Some((i, false))
            } else if same(&e.reply, &t) {
                Some((i, true))
            } else {
                None
            }
        })
    };
    // The whole tuple first: an ICMP type tells the directions apart where the addresses
    // do not (a host pinging itself: its echo reply is the reply direction).
    find(&|a, b| a == b).or_else(|| find(&|a, b| same_tuple(proto, a, b)))
}

/// The state of a packet that belongs to entry `e` (`resolve_normal_ct`): ESTABLISHED in
/// the reply direction or once a reply was seen; RELATED for an expected connection; NEW
/// otherwise.
pub fn state_in_entry(e: &CtEntry, reply_dir: bool) -> CtState {
    use model::expr::ct_status::{EXPECTED, SEEN_REPLY};
    if reply_dir || e.status & SEEN_REPLY != 0 {
        CtState::Established
    } else if e.status & EXPECTED != 0 {
        CtState::Related
    } else {
        CtState::New
    }
}

/// NAT status bits an entry implies: its reply tuple differs from the inverted original.
pub fn nat_status_of(e: &CtEntry) -> u64 {
    use model::expr::ct_status::{DST_NAT, SRC_NAT};
    let mut bits = 0;
    let ports = !matches!(e.proto, IpProto::Icmp | IpProto::Icmpv6);
    if e.reply.src != e.orig.dst || (ports && e.reply.sport != e.orig.dport) {
        bits |= DST_NAT;
    }
    if e.reply.dst != e.orig.src || (ports && e.reply.dport != e.orig.sport) {
        bits |= SRC_NAT;
    }
    bits
}

/// The connection of a packet that matched entry `index`.
pub fn conn_from_entry(table: &[CtEntry], index: usize, reply_dir: bool) -> Conn {
    let e = &table[index];
    Conn {
        state: state_in_entry(e, reply_dir),
        reply_dir,
        entry: Some(index),
        proto: e.proto,
        orig: e.orig,
        reply: e.reply,
        status: e.status | nat_status_of(e),
        mark: e.mark,
        zone: e.zone,
        helper: None,
        // A confirmed connection has both bindings (a null binding at least).
        src_nat_done: true,
        dst_nat_done: true,
    }
}

/// A new connection created by `packet` (state NEW, or RELATED for an ICMP error).
pub fn new_conn(packet: &Packet, state: CtState, zone: u16, helper: Option<String>) -> Conn {
    let proto = packet.proto();
    let orig = tuple_of(packet);
    Conn {
        state,
        reply_dir: false,
        entry: None,
        proto,
        orig,
        reply: invert(proto, &orig),
        status: 0,
        mark: 0,
        zone,
        helper,
        src_nat_done: false,
        dst_nat_done: false,
    }
}

/// An entry an ICMP error plausibly quotes, and whether the error travels in the entry's
/// reply direction. An error about a packet of the original direction goes back to the
/// flow's originator, addressed as the reply direction addresses it (`reply.dst`: the
/// originator after SNAT); one about a reply goes to the responder (`reply.src`, the
/// responder as it answers). The kernel finds the entry from the
/// quoted header and translates the error like the flow's packets in that direction
/// (`nf_nat_icmp_reply_translation`); the packet model carries no quoted header, so this
/// is a best match on the error's destination.
pub fn quoted_flow(table: &[CtEntry], error_dst: IpAddr) -> Option<(usize, bool)> {
    table
        .iter()
        .position(|e| e.reply.dst == error_dst || e.orig.src == error_dst)
        .map(|i| (i, true))
        .or_else(|| {
            table
                .iter()
                .position(|e| e.reply.src == error_dst)
                .map(|i| (i, false))
        })
}

/// `nf_conntrack_count >= nf_conntrack_max`, when both are given: a new connection cannot
/// be allocated ("nf_conntrack: table full, dropping packet").
pub fn table_full(sysctls: &Sysctls) -> bool {
    match (sysctls.get(CT_COUNT), sysctls.get(CT_MAX)) {
        (Some(count), Some(max)) => {
            match (count.trim().parse::<u64>(), max.trim().parse::<u64>()) {
                (Ok(count), Ok(max)) => max > 0 && count >= max,
                _ => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::expr::ct_status;

    fn tcp(flags: &str) -> Packet {
        Packet::new(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            L4::Tcp {
                sport: 1000,
                dport: 22,
                flags: TcpFlags::from_letters(flags).unwrap(),
            },
        )
    }

    fn icmp(t: u8) -> Packet {
        Packet::new(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            L4::Icmp {
                icmp_type: t,
                code: 0,
                id: 7,
            },
        )
    }

    #[test]
    fn syn_is_new_and_lone_ack_depends_on_tcp_loose() {
        assert_eq!(classify_first(&tcp("S"), false), FirstPacket::New);
        assert_eq!(classify_first(&tcp("A"), true), FirstPacket::NewLoose);
        assert_eq!(classify_first(&tcp("PA"), true), FirstPacket::NewLoose);
        assert_eq!(classify_first(&tcp("A"), false), FirstPacket::InvalidNew);
        assert!(needs_tcp_loose(&tcp("PA")));
        assert!(!needs_tcp_loose(&tcp("S")));
    }

    #[test]
    fn rst_fin_ack_syn_ack_are_invalid_first_packets() {
        assert_eq!(classify_first(&tcp("R"), true), FirstPacket::InvalidNew);
        assert_eq!(classify_first(&tcp("FA"), true), FirstPacket::InvalidNew);
        assert_eq!(classify_first(&tcp("SA"), true), FirstPacket::InvalidNew);
    }

    #[test]
    fn impossible_flag_combinations_are_invalid() {
        assert_eq!(classify_first(&tcp("SF"), true), FirstPacket::InvalidFlags);
        assert_eq!(classify_first(&tcp(""), true), FirstPacket::InvalidFlags);
        assert_eq!(classify_first(&tcp("F"), true), FirstPacket::InvalidFlags);
    }

    #[test]
    fn icmp_echo_request_new_unsolicited_reply_invalid_errors_need_a_flow() {
        assert_eq!(classify_first(&icmp(8), true), FirstPacket::New);
        assert_eq!(classify_first(&icmp(0), true), FirstPacket::InvalidIcmp);
        assert_eq!(classify_first(&icmp(3), true), FirstPacket::IcmpError);
    }

    #[test]
    fn icmpv6_neighbour_discovery_is_untracked() {
        let p = Packet::new(
            "fe80::1".parse().unwrap(),
            "ff02::1".parse().unwrap(),
            L4::Icmpv6 {
                icmp_type: 135,
                code: 0,
                id: 0,
            },
        );
        assert_eq!(classify_first(&p, true), FirstPacket::Untracked);
    }

    fn entry(orig: CtTuple, reply: CtTuple, status: u64) -> CtEntry {
        CtEntry {
            proto: IpProto::Tcp,
            orig,
            reply,
            tcp_state: None,
            status,
            mark: 0,
            zone: 0,
            timeout: None,
            text: String::new(),
        }
    }

    #[test]
    fn lookup_finds_both_directions_and_states_follow_seen_reply() {
        let p = tcp("A");
        let orig = tuple_of(&p);
        let e = entry(orig, invert(IpProto::Tcp, &orig), ct_status::SEEN_REPLY);
        let table = vec![e];
        assert_eq!(lookup(&table, &p, 0), Some((0, false)));
        assert_eq!(
            conn_from_entry(&table, 0, false).state,
            CtState::Established
        );
        let mut back = tcp("SA");
        std::mem::swap(&mut back.src, &mut back.dst);
        back.l4 = back.l4.with_ports(22, 1000);
        assert_eq!(lookup(&table, &back, 0), Some((0, true)));
        assert_eq!(lookup(&table, &p, 1), None, "another zone");
    }

    #[test]
    fn unreplied_entry_keeps_the_original_direction_new() {
        let p = tcp("S");
        let orig = tuple_of(&p);
        let table = vec![entry(orig, invert(IpProto::Tcp, &orig), 0)];
        assert_eq!(conn_from_entry(&table, 0, false).state, CtState::New);
    }

    #[test]
    fn dnat_entry_reports_dst_nat() {
        let p = tcp("S");
        let orig = tuple_of(&p);
        let mut reply = invert(IpProto::Tcp, &orig);
        reply.src = "192.168.0.9".parse().unwrap();
        let e = entry(orig, reply, 0);
        assert_eq!(nat_status_of(&e), ct_status::DST_NAT);
    }

    #[test]
    fn table_full_needs_both_sysctls() {
        let mut s = Sysctls::default();
        s.0.insert(CT_MAX.into(), "10".into());
        assert!(!table_full(&s));
        s.0.insert(CT_COUNT.into(), "10".into());
        assert!(table_full(&s));
    }

    #[test]
    fn echo_reply_inverts_echo_request() {
        let t = tuple_of(&icmp(8));
        let r = invert(IpProto::Icmp, &t);
        assert_eq!(r.dport >> 8, 0);
        assert_eq!((r.src, r.dst, r.sport), (t.dst, t.src, 7));
    }
}
