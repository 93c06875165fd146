//! ICMP errors about translated flows (`ipf_nat_icmperror` in `ip_nat.c`): an error
//! quoting a packet of a NAT session is translated back, the quoted header and ports
//! to what the other side of the translation saw, and the outer header's address the
//! way `ipf_nat_in`/`ipf_nat_out` treat a packet flagged `IPN_ICMPERR`.
//!
//! IPFilter adjusts checksums by differences (`CALC_SUMD`, `ipf_fix_datacksum`,
//! `ipf_fix_incksum`, `ipf_fix_outcksum`) rather than computing them again; ipftest
//! prints what that arithmetic leaves, including in quoted headers whose checksums
//! were already wrong, so the same arithmetic is followed here.

use std::net::{IpAddr, Ipv4Addr};

use model::ipf::nat::NatKind;

use super::fin::{flx, Fin};
use super::nat::{unknown, NatOutcome, NatState, Session, Translation};

/// `CALC_SUMD`: the one's complement difference from `s1` to `s2`. Like the macro it
/// folds both arguments and lowers `s2` by one when `s1` is the larger, in place.
fn calc_sumd(s1: &mut u32, s2: &mut u32) -> u32 {
    for _ in 0..2 {
        *s1 = (*s1 & 0xffff) + (*s1 >> 16);
        *s2 = (*s2 & 0xffff) + (*s2 >> 16);
    }
    if *s1 > *s2 {
        *s2 = s2.wrapping_sub(1);
    }
    let sd = s2.wrapping_sub(*s1);
    (sd & 0xffff) + (sd >> 16)
}

/// `CALC_SUMD` between two values that need not be kept.
fn sumd_of(mut s1: u32, mut s2: u32) -> u32 {
    calc_sumd(&mut s1, &mut s2)
}

/// `LONG_SUM` of an IPv4 address in host order.
fn long_sum(a: Ipv4Addr) -> u32 {
    let v = u32::from(a);
    (v & 0xffff) + (v >> 16)
}

fn get16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// `ipf_fix_datacksum` (and `ipf_fix_outcksum`, the same sum): the 16-bit checksum at
/// `at` adjusted by `n`.
fn fix_add(b: &mut [u8], at: usize, n: u32) {
    if n == 0 {
        return;
    }
    let mut sum = u32::from(!get16(b, at)) + n;
    sum = (sum >> 16) + (sum & 0xffff);
    sum = (sum >> 16) + (sum & 0xffff);
    put16(b, at, !(sum as u16));
}

/// `ipf_fix_incksum`: the 16-bit checksum at `at` adjusted by minus `n`.
fn fix_sub(b: &mut [u8], at: usize, n: u32) {
    if n == 0 {
        return;
    }
    let mut sum = u32::from(!get16(b, at)) + (!n & 0xffff);
    sum = (sum >> 16) + (sum & 0xffff);
    sum = (sum >> 16) + (sum & 0xffff);
    put16(b, at, !(sum as u16));
}

fn v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(v) => Some(v),
        IpAddr::V6(_) => None,
    }
}

/// A session's four addresses, IPv4 only (`ipf_nat_icmperror` is for IPv4).
struct Addrs {
    osrc: Ipv4Addr,
    odst: Ipv4Addr,
    nsrc: Ipv4Addr,
    ndst: Ipv4Addr,
}

impl Addrs {
    fn of(s: &Session) -> Option<Addrs> {
        Some(Addrs {
            osrc: v4(s.osrc)?,
            odst: v4(s.odst)?,
            nsrc: v4(s.nsrc)?,
            ndst: v4(s.ndst)?,
        })
    }

    /// `nat_ipsumd` (`ipf_nat_finalise`): the header checksum difference the session's
    /// address changes make.
    fn ipsumd(&self) -> u32 {
        let src = sumd_of(long_sum(self.osrc), long_sum(self.nsrc));
        let dst = sumd_of(long_sum(self.odst), long_sum(self.ndst));
        ((src & 0xffff) + (src >> 16)) + ((dst & 0xffff) + (dst >> 16))
    }
}

/// `ipf_nat_icmperrorlookup`: the session of the flow an ICMP error (going `out` or in)
/// quotes. The quoted packet went the other way, so it is looked up reversed, as a
/// packet of this direction. `Err` for a quoted ICMP query between the hosts of an
/// ICMP session: IPFilter finds its session by ICMP id, which sessions here do not keep.
fn lookup(
    fin: &Fin,
    bytes: &[u8],
    interface: &str,
    state: &NatState,
    out: bool,
) -> Result<Option<usize>, NatOutcome> {
    const ICMPERR_IPICMPHLEN: i64 = 28;
    if fin.v != 4 || fin.hlen != 20 || fin.flx & flx::ICMPERR == 0 {
        return Ok(None);
    }
    let oip = fin.dp + 8;
    if bytes.len() < oip + 20 {
        return Ok(None);
    }
    let ohl = usize::from(bytes[oip] & 0x0f) * 4;
    let mut minlen = ohl as i64;
    if ohl < 20 || fin.plen < ICMPERR_IPICMPHLEN + minlen {
        return Ok(None);
    }
    let osrc = Ipv4Addr::new(
        bytes[oip + 12],
        bytes[oip + 13],
        bytes[oip + 14],
        bytes[oip + 15],
    );
    let odst = Ipv4Addr::new(
        bytes[oip + 16],
        bytes[oip + 17],
        bytes[oip + 18],
        bytes[oip + 19],
    );
    if fin.dst != IpAddr::V4(osrc) {
        return Ok(None);
    }
    let p = bytes[oip + 9];
    let mut quoted = fin.clone();
    quoted.p = p;
    quoted.src = IpAddr::V4(odst);
    quoted.dst = IpAddr::V4(osrc);
    quoted.sport = 0;
    quoted.dport = 0;
    // In: the quoted packet left mapped, or arrived redirected; out, the other way.
    let session_of = |quoted: &Fin| state.find(quoted, interface, out).map(|(i, _)| i);
    match p {
        6 | 17 => {
            minlen += 8;
            let ports = oip + ohl;
            if fin.plen < ICMPERR_IPICMPHLEN + minlen || bytes.len() < ports + 4 {
                return Ok(None);
            }
            quoted.sport = get16(bytes, ports + 2);
            quoted.dport = get16(bytes, ports);
        }
        1 => {
            let query = bytes
                .get(oip + ohl)
                .is_some_and(|&t| matches!(t, 8 | 0 | 13 | 14 | 15 | 16 | 17 | 18));
            if query && session_of(&quoted).is_some() {
                return Err(unknown(
                    "ICMP error quoting an ICMP query (ICMP id mapping)",
                ));
            }
        }
        _ => {}
    }
    Ok(session_of(&quoted))
}

/// `ipf_nat_icmperror` then `ipf_nat_in`/`ipf_nat_out` for an ICMP error about a NAT
/// session: `None` when the packet is not one (the usual lookups follow).
pub(super) fn icmp_error(
    fin: &Fin,
    bytes: &mut [u8],
    interface: &str,
    state: &NatState,
    out: bool,
) -> Option<NatOutcome> {
    if fin.p != 1 || fin.flx & (flx::SHORT | flx::FRAGBODY) != 0 {
        return None;
    }
    let index = match lookup(fin, bytes, interface, state, out) {
        Ok(found) => found?,
        Err(u) => return Some(u),
    };
    let s = &state.sessions[index];
    // A rewrite changes both addresses: `ipf_nat_in` then sums the session's addresses
    // in network byte order, which depends on the host IPFilter runs on.
    if matches!(s.kind, NatKind::Rewrite | NatKind::Divert) {
        return Some(unknown("ICMP error about a rewrite or divert session"));
    }
    let a = Addrs::of(s)?;
    let icmp = fin.dp;
    let oip = icmp + 8;
    let ohl = usize::from(bytes[oip] & 0x0f) * 4;
    let dp = oip + ohl;
    let dlen = fin.plen - dp as i64;
    let p = bytes[oip + 9];

    // Step 1: the quoted addresses, and the quoted header's checksum.
    let odst = (!out && s.outbound) || (out && !s.outbound);
    let old_src = u32::from_be_bytes([
        bytes[oip + 12],
        bytes[oip + 13],
        bytes[oip + 14],
        bytes[oip + 15],
    ]);
    let old_dst = u32::from_be_bytes([
        bytes[oip + 16],
        bytes[oip + 17],
        bytes[oip + 18],
        bytes[oip + 19],
    ]);
    let (new_src, new_dst) = if odst {
        (u32::from(a.osrc), u32::from(a.odst))
    } else {
        (u32::from(a.ndst), u32::from(a.nsrc))
    };
    bytes[oip + 12..oip + 16].copy_from_slice(&new_src.to_be_bytes());
    bytes[oip + 16..oip + 20].copy_from_slice(&new_dst.to_be_bytes());
    let mut sumd = sumd_of(old_dst, new_dst) + sumd_of(old_src, new_src);
    fix_add(bytes, oip + 10, sumd);
    let mut sumd2 = sumd;

    // Step 2: the quoted ports, the quoted transport checksum (when all of it is
    // there) or else the ICMP checksum.
    if matches!(p, 6 | 17) && dlen >= 4 && bytes.len() >= dp + 4 {
        let (mut sum1, mut sum2, mut sum3, mut sum4);
        if odst {
            sum1 = u32::from(s.osport);
            sum4 = u32::from(get16(bytes, dp));
            sum3 = u32::from(s.odport);
            sum2 = u32::from(get16(bytes, dp + 2));
            put16(bytes, dp, sum1 as u16);
            put16(bytes, dp + 2, sum3 as u16);
        } else {
            sum1 = u32::from(s.ndport);
            sum2 = u32::from(get16(bytes, dp + 2));
            sum3 = u32::from(s.nsport);
            sum4 = u32::from(get16(bytes, dp));
            put16(bytes, dp + 2, sum3 as u16);
            put16(bytes, dp, sum1 as u16);
        }
        sumd += calc_sumd(&mut sum4, &mut sum1);
        sumd += calc_sumd(&mut sum2, &mut sum3);
        if sumd != 0 || sumd2 != 0 {
            let csum_at = if p == 6 { dp + 16 } else { dp + 6 };
            let whole = if p == 17 {
                dlen >= 8 && bytes.len() >= csum_at + 2 && get16(bytes, csum_at) != 0
            } else {
                dlen >= 18 && bytes.len() >= csum_at + 2
            };
            if whole {
                fix_add(bytes, csum_at, sumd);
            } else {
                sumd2 = calc_sumd(&mut sum1, &mut sum4);
                sumd2 += calc_sumd(&mut sum3, &mut sum2);
            }
            if sumd2 != 0 {
                for _ in 0..3 {
                    sumd2 = (sumd2 & 0xffff) + (sumd2 >> 16);
                }
                fix_sub(bytes, icmp + 2, sumd2);
            }
        }
    }

    // The outer header (`ipf_nat_in`/`ipf_nat_out` with `IPN_ICMPERR`).
    let before_src = v4(fin.src)?;
    let before_dst = v4(fin.dst)?;
    let (src, dst) = if out {
        let (to_src, to_dst) = if s.outbound {
            (a.nsrc, a.ndst)
        } else {
            (a.odst, a.osrc)
        };
        let msumd = sumd_of(long_sum(before_src), long_sum(to_src))
            + sumd_of(long_sum(before_dst), long_sum(to_dst));
        fix_add(bytes, 10, msumd);
        (to_src, to_dst)
    } else if s.outbound {
        // The source stays; the difference in destinations (none for a map) is
        // taken out of the session's.
        let ipsumd = a
            .ipsumd()
            .wrapping_sub(sumd_of(u32::from(a.odst), u32::from(a.ndst)));
        fix_sub(bytes, 10, ipsumd);
        (before_src, a.osrc)
    } else {
        let ipsumd = a
            .ipsumd()
            .wrapping_sub(sumd_of(u32::from(a.osrc), u32::from(a.nsrc)));
        fix_add(bytes, 10, ipsumd);
        (before_src, a.ndst)
    };
    bytes[12..16].copy_from_slice(&src.octets());
    bytes[16..20].copy_from_slice(&dst.octets());
    let (before, after) = if out {
        (before_src, src)
    } else {
        (before_dst, dst)
    };
    Some(NatOutcome::Translated(Translation {
        rule: s.rule,
        source: out,
        before: (IpAddr::V4(before), None),
        after: (IpAddr::V4(after), None),
        created: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one's complement sum IPFilter's checksums are the complement of.
    fn ones_sum(b: &[u8]) -> u16 {
        let mut sum: u32 = b
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    fn header(src: [u8; 4], dst: [u8; 4], p: u8, len: u16) -> Vec<u8> {
        let mut h = vec![0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, p, 0, 0];
        h[2..4].copy_from_slice(&len.to_be_bytes());
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h
    }

    /// A UDP datagram with valid checksums.
    fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let mut b = header(src, dst, 17, 36);
        b.extend_from_slice(&sport.to_be_bytes());
        b.extend_from_slice(&dport.to_be_bytes());
        b.extend_from_slice(&[0, 16, 0, 1]);
        b.extend_from_slice(b"whyblock");
        super::super::wire::refill_checksums(&mut b);
        b
    }

    /// An ICMP port unreachable from `from` to `to` quoting the first 28 bytes of
    /// `quoted`, with valid checksums.
    fn unreachable(from: [u8; 4], to: [u8; 4], quoted: &[u8]) -> Vec<u8> {
        let mut b = header(from, to, 1, 56);
        b.extend_from_slice(&[3, 3, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&quoted[..28]);
        super::super::wire::refill_checksums(&mut b);
        b
    }

    fn mapped(osrc: [u8; 4], nsrc: [u8; 4], dst: [u8; 4], osport: u16, nsport: u16) -> NatState {
        let mut state = NatState::default();
        state.sessions.push(Session {
            rule: 0,
            kind: NatKind::Map,
            outbound: true,
            p: 17,
            interface: "nic0".into(),
            osrc: osrc.into(),
            odst: dst.into(),
            osport,
            odport: 53,
            nsrc: nsrc.into(),
            ndst: dst.into(),
            nsport,
            ndport: 53,
        });
        state
    }

    #[test]
    fn calc_sumd_is_the_ones_complement_difference() {
        assert_eq!(sumd_of(0x0101, 0x0303), 0x0202);
        // Going down borrows one and is folded once, as the macro leaves it.
        assert_eq!(sumd_of(0x0303, 0x0101), 0x1_fdfc);
        let mut b = header([10, 0, 0, 1], [192, 0, 2, 1], 6, 20);
        let sum = !ones_sum(&b);
        b[10..12].copy_from_slice(&sum.to_be_bytes());
        let old = u32::from_be_bytes([10, 0, 0, 1]);
        let new = u32::from_be_bytes([203, 0, 113, 7]);
        b[12..16].copy_from_slice(&new.to_be_bytes());
        fix_add(&mut b, 10, sumd_of(old, new));
        assert_eq!(ones_sum(&b), 0xffff, "the adjusted checksum checks");
        b[12..16].copy_from_slice(&old.to_be_bytes());
        fix_sub(&mut b, 10, sumd_of(old, new));
        assert_eq!(ones_sum(&b), 0xffff, "and adjusting back checks too");
    }

    #[test]
    fn an_error_about_a_mapped_flow_comes_back_about_the_sent_packet() {
        let (inside, outside, server) = ([10, 0, 0, 5], [203, 0, 113, 7], [192, 0, 2, 1]);
        let sent = udp(inside, server, 1234, 53);
        let translated = udp(outside, server, 40000, 53);
        let mut error = unreachable([198, 51, 100, 1], outside, &translated);
        let state = mapped(inside, outside, server, 1234, 40000);
        let fin = Fin::decode(&error, 0).expect("an ICMP error");
        let outcome = icmp_error(&fin, &mut error, "nic0", &state, false);
        assert!(matches!(outcome, Some(NatOutcome::Translated(_))));
        assert_eq!(&error[16..20], &inside, "sent to the inside host");
        assert_eq!(&error[28..56], &sent[..28], "quoting what it sent");
        assert_eq!(ones_sum(&error[..20]), 0xffff, "outer header checksum");
        assert_eq!(ones_sum(&error[20..]), 0xffff, "ICMP checksum");
    }

    #[test]
    fn an_error_on_another_interface_or_flow_is_left_to_the_usual_lookups() {
        let (inside, outside, server) = ([10, 0, 0, 5], [203, 0, 113, 7], [192, 0, 2, 1]);
        let translated = udp(outside, server, 40001, 53);
        let mut error = unreachable([198, 51, 100, 1], outside, &translated);
        let state = mapped(inside, outside, server, 1234, 40000);
        let fin = Fin::decode(&error, 0).expect("an ICMP error");
        assert_eq!(icmp_error(&fin, &mut error, "nic0", &state, false), None);
        let translated = udp(outside, server, 40000, 53);
        let mut error = unreachable([198, 51, 100, 1], outside, &translated);
        let fin = Fin::decode(&error, 0).expect("an ICMP error");
        assert_eq!(icmp_error(&fin, &mut error, "nic1", &state, false), None);
    }

    #[test]
    fn an_error_quoting_a_ping_is_undetermined_only_between_an_icmp_sessions_hosts() {
        let (inside, outside, server) = ([10, 0, 0, 5], [203, 0, 113, 7], [192, 0, 2, 1]);
        let mut ping = header(outside, server, 1, 36);
        ping.extend_from_slice(&[8, 0, 0, 0, 0x12, 0x34, 0, 1]);
        ping.extend_from_slice(b"whyblock");
        super::super::wire::refill_checksums(&mut ping);
        let mut error = unreachable([198, 51, 100, 1], outside, &ping);
        let fin = Fin::decode(&error, 0).expect("an ICMP error");
        let udp_only = mapped(inside, outside, server, 1234, 40000);
        assert_eq!(icmp_error(&fin, &mut error, "nic0", &udp_only, false), None);
        let mut pinged = udp_only.clone();
        pinged.sessions[0].p = 1;
        assert!(matches!(
            icmp_error(&fin, &mut error, "nic0", &pinged, false),
            Some(NatOutcome::Undetermined(_))
        ));
    }
}
