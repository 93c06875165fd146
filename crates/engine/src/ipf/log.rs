//! The line `ipmon` writes for a logged packet (`print_ipflog` in `tools/ipmon.c`),
//! without its timestamp: `nic0 @0:2 b 1.1.1.1,1025 -> 2.1.1.1,25 PR tcp len 20 40 -S IN`.
//!
//! Written as on the BSDs, where the interface name is printed as the kernel gives it
//! (Solaris appends the unit only to names ending in a letter, which its names do not);
//! port numbers are not turned into names (`ipmon` without `-n`). The action letter is
//! read as `ipmon` reads it: `fl_flags & FR_LOGP` for a pass, `& FR_LOGB` for a block,
//! which every logged pass and block has, so they print `p` and `b`.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::fin::{flx, Fin};
use super::flags as fr;

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([
        b.get(at).copied().unwrap_or(0),
        b.get(at + 1).copied().unwrap_or(0),
    ])
}

fn proto_name(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "ipv6-icmp".into(),
        n => n.to_string(),
    }
}

/// `icmptypes4` and its subtables.
fn icmp_name(t: u8, code: u8) -> String {
    let types: [(u8, &str); 15] = [
        (0, "echoreply"),
        (3, "unreach"),
        (4, "sourcequench"),
        (5, "redirect"),
        (8, "echo"),
        (9, "routeradvert"),
        (10, "routersolicit"),
        (11, "timxceed"),
        (12, "paramprob"),
        (13, "timestamp"),
        (14, "timestampreply"),
        (15, "inforeq"),
        (16, "inforeply"),
        (17, "maskreq"),
        (18, "maskreply"),
    ];
    let codes: &[&str] = match t {
        3 => &[
            "net",
            "host",
            "protocol",
            "port",
            "needfrag",
            "srcfail",
            "net_unknown",
            "host_unknown",
            "",
            "net_prohib",
            "",
            "tosnet",
            "toshost",
            "admin_prohibit",
        ],
        5 => &["net", "host", "tosnet", "toshost"],
        11 => &["transit", "reassem"],
        12 => &["errata_pointer", "optmissing", "length"],
        _ => &[],
    };
    named(&types, codes, "icmptype", t, code)
}

/// `icmptypes6` and its subtables.
fn icmp6_name(t: u8, code: u8) -> String {
    let types: [(u8, &str); 19] = [
        (1, "unreach"),
        (2, "toobig"),
        (3, "timxceed"),
        (4, "paramprob"),
        (128, "echo"),
        (129, "echoreply"),
        (130, "groupmemberquery"),
        (131, "groupmemberreport"),
        (132, "groupmemberterm"),
        (133, "routersolicit"),
        (134, "routeradvert"),
        (135, "neighborsolicit"),
        (136, "neighboradvert"),
        (137, "redirect"),
        (138, "routerrenumber"),
        // 139 and 140 are also fqdnquery/reply and nodeinforequest/reply: the table's
        // first entry for each wins.
        (139, "whoareyourequest"),
        (140, "whoareyoureply"),
        (200, "mtraceresponse"),
        (201, "mtracerequest"),
    ];
    let codes: &[&str] = match t {
        1 => &["noroute", "admin", "neighbour", "address", "noport"],
        3 => &["intransit", "reassem"],
        4 => &["header", "nextheader", "option"],
        130 => &["ipv6", "fqdn", "ipv4"],
        138 => &["command", "result"],
        _ => &[],
    };
    named(&types, codes, "icmpv6type", t, code)
}

/// `TYPE/CODE` by name where the tables have one, by number otherwise.
fn named(types: &[(u8, &str)], codes: &[&str], unknown: &str, t: u8, code: u8) -> String {
    let mut s = match types.iter().find(|(v, _)| *v == t) {
        Some((_, n)) => format!("{n}/"),
        None => format!("{unknown}({t})/"),
    };
    match codes.get(usize::from(code)).filter(|c| !c.is_empty()) {
        Some(c) => s.push_str(c),
        None => {
            let _ = write!(s, "{code}");
        }
    }
    s
}

/// The `ipmon` line for a packet logged with flags `pass`. `rule`: the number (0-based) and
/// group (`None`: the main list) of the last rule the packet matched before the log was
/// written (`fin_rule`, `fin_group`); `None` before any (`@-1:-1`).
pub fn line(
    fin: &Fin,
    bytes: &[u8],
    out: bool,
    interface: &str,
    pass: u32,
    rule: Option<(u32, Option<&str>)>,
) -> String {
    let mut s = String::from(interface);
    match rule {
        None => s.push_str(" @-1:-1 "),
        Some((n, group)) => {
            let _ = write!(s, " @{}:{} ", group.unwrap_or("0"), n + 1);
        }
    }
    if fin.flx & flx::SHORT != 0 {
        s.push('S');
    }
    s.push(if fr::is_pass(pass) {
        'p'
    } else if fr::is_block(pass) {
        'b'
    } else if pass & fr::LOGMASK == fr::LOG {
        'L'
    } else {
        '?'
    });
    s.push(' ');
    let hl = fin.dp;
    let plen = fin.plen;
    let (src, dst) = (fin.src, fin.dst);
    let p = fin.p;
    let name = proto_name(p);
    if (p == 6 || p == 17) && fin.off == 0 {
        if fin.flx & flx::SHORT == 0 {
            let _ = write!(
                s,
                "{src},{} -> {dst},{} PR {name} len {hl} {plen}",
                be16(bytes, hl),
                be16(bytes, hl + 2)
            );
            if p == 6 {
                s.push_str(" -");
                let flags = bytes.get(hl + 13).copied().unwrap_or(0);
                for (bit, c) in [
                    (0x10, 'A'),
                    (0x04, 'R'),
                    (0x02, 'S'),
                    (0x01, 'F'),
                    (0x20, 'U'),
                    (0x08, 'P'),
                    (0x40, 'E'),
                    (0x80, 'C'),
                ] {
                    if flags & bit != 0 {
                        s.push(c);
                    }
                }
            }
        } else {
            let _ = write!(s, "{src} -> {dst} PR {name} len {hl} {plen}");
        }
    } else if p == 58 && fin.off == 0 && fin.v == 6 {
        let _ = write!(
            s,
            "{src} -> {dst} PR icmpv6 len {hl} {plen} icmpv6 {}",
            icmp6_name(fin.icmp_type(), (fin.data0 & 0xff) as u8)
        );
    } else if p == 1 && fin.off == 0 && fin.v == 4 {
        let (t, code) = (fin.icmp_type(), (fin.data0 & 0xff) as u8);
        let _ = write!(
            s,
            "{src} -> {dst} PR icmp len {hl} {plen} icmp {}",
            icmp_name(t, code)
        );
        if matches!(t, 3 | 4 | 5 | 11 | 12) {
            quoted(&mut s, bytes, hl + 8, hl);
        }
    } else {
        let _ = write!(s, "{src} -> {dst} PR {name} len {hl} ({plen})");
        let ipoff = if fin.v == 4 { be16(bytes, 6) } else { 0 };
        if fin.v == 4 && ipoff & 0x1fff != 0 {
            let _ = write!(
                s,
                " (frag {}:{}@{}{}{})",
                be16(bytes, 4),
                plen - hl as i64,
                (ipoff & 0x1fff) << 3,
                if ipoff & 0x2000 != 0 { "+" } else { "" },
                if ipoff & 0x4000 != 0 { "-" } else { "" }
            );
        }
    }
    if pass & fr::KEEPSTATE != 0 {
        s.push_str(" K-S");
    }
    if pass & fr::KEEPFRAG != 0 {
        s.push_str(" K-F");
    }
    s.push_str(if out { " OUT" } else { " IN" });
    s
}

/// The packet an ICMP error quotes, as `ipmon` appends it (` for SRC,PORT - DST,PORT PR
/// tcp len 20 40`); it reads the quoted transport header at the outer header's length.
fn quoted(s: &mut String, bytes: &[u8], at: usize, outer_hl: usize) {
    let addr = |k: usize| {
        Ipv4Addr::new(
            bytes.get(k).copied().unwrap_or(0),
            bytes.get(k + 1).copied().unwrap_or(0),
            bytes.get(k + 2).copied().unwrap_or(0),
            bytes.get(k + 3).copied().unwrap_or(0),
        )
    };
    let mut len = be16(bytes, at + 2);
    if len > 1500 {
        len = u16::from_le_bytes(len.to_be_bytes());
    }
    let ipoff = be16(bytes, at + 6);
    let p = bytes.get(at + 9).copied().unwrap_or(0);
    let ihl = usize::from(bytes.get(at).copied().unwrap_or(0) & 0x0f) * 4;
    let (src, dst) = (addr(at + 12), addr(at + 16));
    let name = proto_name(p);
    if ipoff & 0x1fff == 0 && (p == 6 || p == 17) {
        let t = at + outer_hl;
        let _ = write!(
            s,
            " for {src},{} - {dst},{} PR {name} len {ihl} {len}",
            be16(bytes, t),
            be16(bytes, t + 2)
        );
    } else if ipoff & 0x1fff == 0 && p == 1 {
        let t = at + outer_hl;
        let _ = write!(
            s,
            " for {src} - {dst} PR icmp len {ihl} {len} icmp {}/{}",
            bytes.get(t).copied().unwrap_or(0),
            bytes.get(t + 1).copied().unwrap_or(0)
        );
    } else {
        let _ = write!(s, " for {src} - {dst} PR {name} len {ihl} ({len})");
        if ipoff & 0x1fff != 0 {
            let _ = write!(
                s,
                "(frag {}:{}@{}{}{})",
                be16(bytes, at + 4),
                i64::from(len) - ihl as i64,
                (ipoff & 0x1fff) << 3,
                if ipoff & 0x2000 != 0 { "+" } else { "" },
                if ipoff & 0x4000 != 0 { "-" } else { "" }
            );
        }
    }
}
