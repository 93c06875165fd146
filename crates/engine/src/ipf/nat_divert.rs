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

#[cfg(test)]
mod tests {
    use super::super::tests::with_nat;
    use super::super::IpfState;

    fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace()
            .flat_map(|w| {
                (0..w.len())
                    .step_by(2)
                    .map(move |i| u8::from_str_radix(&w[i..i + 2], 16).unwrap())
            })
            .collect()
    }

    /// IPFilter's test n200: 99.99.99.99,909 > 88.88.88.88,80, a SYN-less TCP segment.
    const ARRIVING: &str = "4500 0028 0000 0000 0006 435a 6363 6363 5858 5858 038d 0050 \
         0000 0000 0000 0000 5000 1000 2491 0000";
    /// The same wrapped in UDP 127.0.0.1,10101 > 127.0.0.1,10101 (n200's expected).
    const WRAPPED: &str = "4500 0044 0000 0000 ff11 bda6 7f00 0001 7f00 0001 2775 2775 \
         0030 0000";

    const RULE: &str =
        "divert in on em0 from any to any -> src 127.0.0.1,10101 dst 127.0.0.1,10101 udp;\n";

    #[test]
    fn an_arriving_packet_is_wrapped_and_its_udp_reply_unwrapped() {
        let f = with_nat("", RULE);
        let mut state = IpfState::default();
        let packet = hex(ARRIVING);
        let wrapped = f.check(&packet, false, "em0", 0, &mut state);
        let mut expected = hex(WRAPPED);
        expected.extend_from_slice(&packet);
        assert_eq!(wrapped.bytes, expected);
        assert_eq!(state.nat.sessions.len(), 1);
        assert_eq!(state.nat.sessions[0].p, 6);

        let unwrapped = f.check(&expected, true, "em0", 0, &mut state);
        assert_eq!(unwrapped.bytes, packet);
        assert_eq!(state.nat.sessions.len(), 1);
    }

    #[test]
    fn with_ports_and_no_proto_only_tcp_is_diverted() {
        let f = with_nat("", RULE);
        let mut state = IpfState::default();
        // The same packet as UDP (protocol 17, checksums left as they are: not read).
        let mut udp = hex(ARRIVING);
        udp.truncate(28);
        udp[3] = 28;
        udp[9] = 17;
        udp[24..26].copy_from_slice(&8u16.to_be_bytes());
        udp[26..28].copy_from_slice(&[0, 0]);
        let out = f.check(&udp, false, "em0", 0, &mut state);
        assert_eq!(out.bytes.len(), 28);
        assert!(state.nat.sessions.is_empty());
    }

    #[test]
    fn a_reply_too_short_to_hold_a_packet_is_dropped() {
        let f = with_nat("", RULE);
        let mut state = IpfState::default();
        let _ = f.check(&hex(ARRIVING), false, "em0", 0, &mut state);
        let bare = hex(WRAPPED);
        let mut short = bare.clone();
        short[2..4].copy_from_slice(&28u16.to_be_bytes());
        short[24..26].copy_from_slice(&8u16.to_be_bytes());
        let out = f.check(&short, true, "em0", 0, &mut state);
        assert!(out.nat_failed);
        assert!(out.freed);
    }
}
