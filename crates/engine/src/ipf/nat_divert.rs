//! `divert in|out on IF … -> src A,P dst B,Q udp` (`ip_nat.c`): a packet the rule
//! applies to is wrapped, whole, in a new IPv4 header and a UDP header from A,P to B,Q
//! (`ipf_nat_builddivertmp`), and the session it creates (`ipf_nat_newdivert`) takes
//! the UDP replies the other way, which are unwrapped (`ipf_nat_decap`). A session's
//! two sides carry different protocols: the packet's own on the side it came from,
//! UDP on the other (`nat_pr[]`).

use std::net::IpAddr;

use model::ipf::nat::{NatAddr, NatKind, NatRule, NatTarget};

use super::fin::{flx, Fin};
use super::nat::{unknown, NatOutcome, NatState, Session, Translation, Tried};

/// `IPPROTO_UDP`: what a divert session's other side carries.
const UDP: u8 = 17;
/// The IPv4 and UDP headers put in front (`MINDECAP` without the inner header).
const WRAP: usize = 20 + 8;

/// The protocol a session's packets carry on the side they are seen: a divert
/// session's replies (`reverse`) are UDP (`nat_pr[1 - fin_out]` of `ipf_nat_newdivert`).
pub(super) fn side_proto(s: &Session, reverse: bool) -> u8 {
    if s.kind == NatKind::Divert && reverse {
        UDP
    } else {
        s.p
    }
}

/// The outer ends of a divert rule: `in_snip`,`in_spnext` and `in_dnip`,`in_dpnext`.
fn ends(rule: &NatRule) -> Option<((IpAddr, u16), (IpAddr, u16))> {
    let NatTarget::Rewrite {
        src: NatAddr::Net(src),
        src_port,
        dst: NatAddr::Net(dst),
        dst_port,
    } = &rule.target
    else {
        return None;
    };
    let port = |p: Option<model::ipf::nat::RedirectPort>| p.map_or(0, |p| p.low);
    match (src.addr, dst.addr) {
        (IpAddr::V4(_), IpAddr::V4(_)) => {
            Some(((src.addr, port(*src_port)), (dst.addr, port(*dst_port))))
        }
        _ => None,
    }
}

/// `ipf_nat_newdivert`: a divert rule applies to a packet no session knows. The session
/// is refused when the UDP flow it would use is already some session's (the kernel's
/// "complimentary duplicate check"); else it is recorded and the packet wrapped.
#[allow(clippy::too_many_arguments)]
pub(super) fn new_divert(
    index: usize,
    rule: &NatRule,
    fin: &Fin,
    bytes: &mut Vec<u8>,
    interface: &str,
    state: &mut NatState,
    out: bool,
) -> Tried {
    let Some(((nsrc, nsport), (ndst, ndport))) = ends(rule) else {
        return Tried::Done(unknown("divert to an address that is not one IPv4 host"));
    };
    if fin.v != 4 {
        return Tried::Done(unknown("divert of an IPv6 packet"));
    }
    let taken = if out {
        state.in_lookup(UDP, interface, (ndst, nsport), (nsrc, ndport))
    } else {
        state.out_lookup(UDP, interface, (ndst, nsport), (nsrc, ndport))
    };
    if taken {
        return Tried::Failed;
    }
    state.record(
        fin,
        interface,
        (index, NatKind::Divert),
        out,
        (nsrc, nsport, ndst, ndport),
    );
    let before = (fin.dst, tcp_udp(fin.p).then_some(fin.dport));
    wrap(fin, bytes, (nsrc, nsport), (ndst, ndport));
    Tried::Done(NatOutcome::Translated(Translation {
        rule: index,
        source: out,
        before,
        after: (ndst, Some(ndport)),
        created: true,
    }))
}

/// A packet of a divert session: wrapped going the way the session was made
/// (`NAT_DIVERTIN` in `ipf_nat_in`, `NAT_DIVERTOUT` in `ipf_nat_out`), unwrapped coming
/// back (`ipf_nat_decap`). A reply too short to hold a wrapped packet is dropped, as
/// `ipf_nat_decap` failing drops it; an ICMP error about the flow is not modelled.
pub(super) fn by_session(
    fin: &Fin,
    bytes: &mut Vec<u8>,
    state: &NatState,
    (index, reverse): (usize, bool),
) -> NatOutcome {
    let s = &state.sessions[index];
    if !reverse {
        let before = (fin.dst, tcp_udp(fin.p).then_some(fin.dport));
        wrap(fin, bytes, (s.nsrc, s.nsport), (s.ndst, s.ndport));
        return NatOutcome::Translated(Translation {
            rule: s.rule,
            source: s.outbound,
            before,
            after: (s.ndst, Some(s.ndport)),
            created: false,
        });
    }
    if fin.flx & flx::ICMPERR != 0 {
        return unknown("an ICMP error about a diverted flow");
    }
    let plen = usize::try_from(fin.plen).unwrap_or(0).min(bytes.len());
    if plen < WRAP + 20 {
        return NatOutcome::Failed;
    }
    let before = (fin.dst, Some(fin.dport));
    bytes.truncate(plen);
    bytes.drain(..fin.hlen + 8);
    NatOutcome::Translated(Translation {
        rule: s.rule,
        source: s.outbound,
        before,
        after: (s.odst, tcp_udp(s.p).then_some(s.odport)),
        created: false,
    })
}

fn tcp_udp(p: u8) -> bool {
    p == 6 || p == 17
}

/// Puts the divert header in front of the packet: IPv4 (TTL 255, id 0 — `ipf_nextipid`
/// is given by the caller — no options) and UDP with a zero checksum, as
/// `ipf_nat_builddivertmp` builds it and `ipf_nat_in`/`ipf_nat_out` fill its lengths.
fn wrap(fin: &Fin, bytes: &mut Vec<u8>, (src, sport): (IpAddr, u16), (dst, dport): (IpAddr, u16)) {
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (src, dst) else {
        return;
    };
    let plen = usize::try_from(fin.plen).unwrap_or(0).min(bytes.len());
    bytes.truncate(plen);
    let total = u16::try_from(plen + WRAP).unwrap_or(u16::MAX);
    let udp_len = u16::try_from(plen + 8).unwrap_or(u16::MAX);
    let mut head = Vec::with_capacity(WRAP);
    head.extend_from_slice(&[0x45, 0]);
    head.extend_from_slice(&total.to_be_bytes());
    head.extend_from_slice(&[0, 0, 0, 0, 255, UDP, 0, 0]);
    head.extend_from_slice(&src.octets());
    head.extend_from_slice(&dst.octets());
    let sum = header_checksum(&head);
    head[10..12].copy_from_slice(&sum.to_be_bytes());
    head.extend_from_slice(&sport.to_be_bytes());
    head.extend_from_slice(&dport.to_be_bytes());
    head.extend_from_slice(&udp_len.to_be_bytes());
    head.extend_from_slice(&[0, 0]);
    bytes.splice(0..0, head);
}

/// The Internet checksum of an IPv4 header whose checksum field is zero.
fn header_checksum(header: &[u8]) -> u16 {
    let mut acc: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}
