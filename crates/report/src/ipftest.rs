//! `whyblocked ipftest`'s output, as IPFilter's `ipftest` prints it (`print_result` and
//! `test_usermode` in `tools/ipftest.c`, `printpacket`/`printpacket6`, `mb_hexdump`), so
//! scripts that read ipftest's output read ours.

use engine::ipf::flags as fr;
use engine::ipf::nat::Session;
use engine::ipf::pool::{rule_as_loaded, AnonymousHash};
use engine::ipf::rules::ListKey;
use engine::ipf::state::{isf, Entry};
use engine::ipf::{Check, Ipf, IpfState};
use frontends::ipf::print::PrintOptions as RulePrint;
use model::ipf::nat::NatKind;
use model::ipf::Pools;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// How ipftest was asked to print.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// `-b`: the verdict only.
    pub brief: bool,
    /// `-N` was given: print the packet after translation instead of the verdict.
    pub nat: bool,
    /// `-x`: packets in hex.
    pub hex: bool,
}

/// ipftest's word for a result (`ipf_check_result`, then `print_result`); `undetermined`
/// (not a word of ipftest's) when a rule on the way cannot be decided offline, so no
/// guess is printed as an answer.
pub fn verdict(check: &Check) -> &'static str {
    if check.undetermined.is_some() {
        return "undetermined";
    }
    let pass = check.pass;
    if pass & fr::NOMATCH != 0 {
        return if check.freed { "bad-packet" } else { "nomatch" };
    }
    match pass & fr::RETMASK {
        fr::RETRST => return "block return-rst",
        fr::RETICMP => return "block return-icmp",
        fr::FAKEICMP => return "block return-icmp-as-dest",
        _ => {}
    }
    match pass & fr::CMDMASK {
        fr::PASS => "pass",
        fr::BLOCK => "block",
        fr::AUTH => "auth",
        fr::ACCOUNT => "account",
        fr::PREAUTH => "preauth",
        _ => "unrecognised return",
    }
}

/// What ipftest prints for one packet, including its line ends. `out`: the direction;
/// `interface`: the interface name it printed the packet on.
pub fn result(check: &Check, out: bool, interface: &str, opts: PrintOptions) -> String {
    let mut s = String::new();
    // With `-N`, ipftest prints packets without a verdict: a packet whose way could not
    // be decided is marked, so it is never read as IPFilter's answer.
    let unsure = opts.nat && check.undetermined.is_some();
    // `ipf_fastroute` prints the packet it sends out before ipftest prints the result.
    if let Some(sent) = &check.forwarded {
        if unsure {
            s.push_str("undetermined ");
        }
        s.push_str(&packet(&sent.bytes, true, &sent.interface, opts.hex));
    }
    if !opts.nat || unsure {
        s.push_str(verdict(check));
    }
    if unsure && opts.brief {
        s.push(' ');
    }
    if !opts.brief {
        s.push(' ');
        s.push_str(&packet(&check.bytes, out, interface, opts.hex));
        s.push_str("--------------");
    } else if opts.nat {
        if check.freed {
            let _ = writeln!(s, "{}", check.reason);
        } else {
            s.push_str(&packet(&check.bytes, out, interface, opts.hex));
        }
    }
    if !(opts.brief && opts.nat) {
        s.push('\n');
    }
    s
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([
        b.get(at).copied().unwrap_or(0),
        b.get(at + 1).copied().unwrap_or(0),
    ])
}

/// `printpacket`: one line (hex: `mb_hexdump` and an empty line).
pub fn packet(bytes: &[u8], out: bool, interface: &str, hex: bool) -> String {
    let mut s = String::new();
    if hex {
        let mut i = 0;
        while i < bytes.len() {
            let _ = write!(s, "{:02x}", bytes[i]);
            if bytes.len() - i > 1 {
                i += 1;
                let _ = write!(s, "{:02x}", bytes[i]);
            }
            s.push(' ');
            i += 1;
        }
        s.push_str("\n\n");
        return s;
    }
    s.push_str(if out { "> " } else { "< " });
    s.push_str(interface);
    s.push(' ');
    if bytes.first().map(|b| b >> 4) == Some(6) {
        packet6(bytes, &mut s);
        return s;
    }
    let hl = usize::from(bytes.first().copied().unwrap_or(0) & 0x0f) * 4;
    let off = be16(bytes, 6);
    let p = bytes.get(9).copied().unwrap_or(0);
    let addr = |at: usize| {
        Ipv4Addr::new(
            bytes.get(at).copied().unwrap_or(0),
            bytes.get(at + 1).copied().unwrap_or(0),
            bytes.get(at + 2).copied().unwrap_or(0),
            bytes.get(at + 3).copied().unwrap_or(0),
        )
    };
    let _ = write!(s, "ip #{} {}({}) {}", be16(bytes, 4), be16(bytes, 2), hl, p);
    let frag_off = off & 0x1fff;
    if frag_off != 0 {
        let _ = write!(s, " @{}", u32::from(off) << 3);
    }
    let _ = write!(s, " {}", addr(12));
    if frag_off == 0 && (p == 6 || p == 17) {
        let _ = write!(s, ",{}", be16(bytes, hl));
    }
    let _ = write!(s, " > {}", addr(16));
    if frag_off == 0 {
        if p == 6 || p == 17 {
            let _ = write!(s, ",{}", be16(bytes, hl + 2));
        }
        let flags = bytes.get(hl + 13).copied().unwrap_or(0);
        if p == 6 && flags != 0 {
            s.push(' ');
            for (bit, c) in [
                (0x01, 'F'),
                (0x02, 'S'),
                (0x04, 'R'),
                (0x08, 'P'),
                (0x10, 'A'),
                (0x20, 'U'),
                (0x40, 'E'),
                (0x80, 'C'),
            ] {
                if flags & bit != 0 {
                    s.push(c);
                }
            }
        }
    }
    s.push('\n');
    s
}

/// `printpacket6`.
fn packet6(b: &[u8], s: &mut String) {
    let p = b.get(6).copied().unwrap_or(0);
    let flow = (u32::from(be16(b, 0)) << 16 | u32::from(be16(b, 2))) & 0xfffff;
    let plen = be16(b, 4);
    if flow == 0 {
        let _ = write!(s, "ip6/{} {} 0 {}", b[0] & 0x0f, plen, p);
    } else {
        let _ = write!(s, "ip6/{} {} {:#x} {}", b[0] & 0x0f, plen, flow, p);
    }
    let addr = |at: usize| {
        (0..8)
            .map(|k| format!("{:x}", be16(b, at + 2 * k)))
            .collect::<Vec<_>>()
            .join(":")
    };
    let ports = plen >= 4 && (p == 6 || p == 17);
    let _ = write!(s, " {}", addr(8));
    if ports {
        let _ = write!(s, ",{}", be16(b, 40));
    }
    let _ = write!(s, " > {}", addr(24));
    if ports {
        let _ = write!(s, ",{}", be16(b, 42));
    }
    s.push('\n');
}

/// `-D`: the tables after the last packet, as `dumpnat`, `dumpstate`,
/// `ipf_lookup_dump` and `dumpgroups_test` print them (no NAT rules or sessions: NAT is
/// refused before packets are read).
/// Pools are listed newest first, as `ipf_pool_dump` walks its lists.
pub fn dump(ipf: &Ipf, tables: &IpfState, pools: &Pools) -> String {
    let mut s = String::new();
    s.push_str("List of active MAP/Redirect filters:\n");
    for rule in ipf.nat_rules() {
        s.push_str(&frontends::ipf::print::nat_rule(rule));
        if !s.ends_with('\n') {
            s.push('\n');
        }
    }
    s.push_str("\nList of active sessions:\n");
    for session in tables.nat.sessions.iter().rev() {
        nat_session(&mut s, session, tables.nat.proxy.clone_session(session));
        if tables.nat.proxy.active(ipf.nat_rules(), session) {
            s.push_str("\tproxy active\n");
        }
    }
    s.push_str("\nHostmap table:\n");
    for hm in tables.nat.hostmaps.iter().rev() {
        // `printactiveaddress` prints IPv6's all-zero address as `any` (the new source
        // too: an IPv6 `map … -> 0/128` leaves it zero).
        let zero = if hm.osrc.is_ipv4() { "0.0.0.0" } else { "any" };
        let nsrc = match hm.nsrc {
            std::net::IpAddr::V6(a) if a.is_unspecified() => "any".to_string(),
            a => a.to_string(),
        };
        let _ = writeln!(
            s,
            "{},{} -> {nsrc},{zero} (use = {})",
            hm.osrc, hm.odst, hm.uses
        );
    }
    s.push_str("List of active state sessions:\n");
    for entry in tables.state.entries.iter().rev() {
        state_entry(&mut s, entry);
    }
    let anonymous = engine::ipf::pool::anonymous_hashes(ipf.rules(), pools);
    let anonymous_tables: Vec<_> = anonymous
        .iter()
        .map(|t| (t.number, t.entries.as_slice(), AnonymousHash::REFS))
        .collect();
    s.push_str(&frontends::ipf::print::lookup_dump(
        pools,
        &anonymous_tables,
    ));
    let lists = ipf.lists();
    let hits = |i: usize| tables.hits.get(i).copied().unwrap_or(0);
    let print_list = |s: &mut String, key: &ListKey| {
        for &i in lists.list(key) {
            let _ = writeln!(
                s,
                "{} {}",
                hits(i),
                frontends::ipf::print::ipf_rule_with(
                    &rule_as_loaded(i, &ipf.rules()[i], &anonymous),
                    &RulePrint::IPFTEST_DUMP
                )
            );
        }
    };
    s.push_str("List of groups configured (set 0)\n");
    for key in &engine::ipf::grpmap::groups_in_creation_order(pools, &lists.group_order) {
        let members = lists.list(key).len();
        let flags = if key.out { fr::OUTQUE } else { fr::INQUE };
        let _ = writeln!(
            s,
            "Dev.0. Group {} Ref {} Flags {:#x}",
            key.group.as_deref().unwrap_or(""),
            group_refs(pools, key, members),
            flags
        );
        print_list(&mut s, key);
    }
    s.push_str("List of groups configured (set 1)\n");
    for (title, out, accounting) in [
        ("Rules configured (set 0, in)", false, false),
        ("Rules configured (set 0, out)", true, false),
        ("Rules configured (set 1, in)", false, false),
        ("Rules configured (set 1, out)", true, false),
        ("Accounting rules configured (set 0, in)", false, true),
        ("Accounting rules configured (set 0, out)", true, true),
        ("Accounting rules configured (set 1, in)", false, true),
        ("Accounting rules configured (set 1, out)", true, true),
    ] {
        s.push_str(title);
        s.push('\n');
        if title.contains("set 0") {
            print_list(
                &mut s,
                &ListKey {
                    out,
                    accounting,
                    group: None,
                },
            );
        }
    }
    s
}

/// A group's references in `-D`: its rules and what made it, the entries of group maps
/// naming it (`ipf_group_add` from `ipf_htent_insert`) or else its head rule.
fn group_refs(pools: &Pools, key: &ListKey, members: usize) -> usize {
    let group = key.group.as_deref().unwrap_or("");
    let mapped = engine::ipf::grpmap::entries_naming(pools, group, !key.out);
    members + usize::try_from(mapped).unwrap_or(0).max(1)
}

/// `printactivenat` without `-v`: `MAP 10.1.1.1        <- -> 10.2.2.2        [10.4.3.2]`.
fn nat_session(s: &mut String, n: &Session, clone: bool) {
    let kind = match n.kind {
        NatKind::Map => "MAP",
        NatKind::MapBlock => "MAP-BLOCK",
        NatKind::Rdr => "RDR",
        NatKind::Bimap => "BIMAP",
        NatKind::Rewrite if n.outbound => "RWR-MAP",
        NatKind::Rewrite => "RWR-RDR",
        NatKind::Divert if n.outbound => "DIV-MAP",
        NatKind::Divert => "DIV-RDR",
    };
    let tu = n.p == 6 || n.p == 17;
    let port = |p: u16, wide: bool| match (tu, wide) {
        (false, _) => String::new(),
        (true, true) => format!(" {p:<5}"),
        (true, false) => format!(" {p}"),
    };
    // `printactivenat`: a session cloned for each connection (`SI_CLONE`).
    let kind = if clone {
        format!("{kind} CLONE")
    } else {
        kind.to_string()
    };
    // `printactiveaddress` pads IPv4 addresses to 15 columns, not IPv6 ones.
    let addr = |x: std::net::IpAddr| match x {
        std::net::IpAddr::V4(_) => format!("{:<15}", x.to_string()),
        std::net::IpAddr::V6(_) => x.to_string(),
    };
    if n.kind == NatKind::Rewrite {
        // Both ends before and after, each port in five columns.
        let ends = [
            (n.osrc, n.osport),
            (n.odst, n.odport),
            (n.nsrc, n.nsport),
            (n.ndst, n.ndport),
        ];
        let [os, od, ns, nd] = ends.map(|(a, p)| format!("{}{}", addr(a), port(p, true)));
        let _ = writeln!(s, "{kind} {os} {od}<- -> {ns} {nd}");
        return;
    }
    let (a, ap, b, bp, c, cp) = if n.outbound {
        (n.osrc, n.osport, n.nsrc, n.nsport, n.odst, n.odport)
    } else {
        (n.ndst, n.ndport, n.odst, n.odport, n.osrc, n.osport)
    };
    let _ = writeln!(
        s,
        "{kind} {}{} <- -> {}{} [{}{}]",
        addr(a),
        port(ap, true),
        addr(b),
        port(bp, true),
        c,
        port(cp, false)
    );
}

/// `printstate` without `-v`, names not resolved (`-R`).
fn state_entry(s: &mut String, e: &Entry) {
    let _ = write!(s, "{}:{} src:{}", e.v, e.p, e.src);
    let ports = e.p == 6 || e.p == 17;
    if ports && e.flags & isf::W_SPORT != 0 {
        s.push_str(",*");
    } else if ports {
        let _ = write!(s, ",{}", e.sport);
    }
    let _ = write!(s, " dst:{}", e.dst);
    if ports {
        let _ = write!(s, ",{}", e.dport);
    }
    if e.p == 6 {
        let _ = write!(s, " state:{}/{}", e.tcp_state[0], e.tcp_state[1]);
    }
    if e.flags & isf::CLONE != 0 {
        s.push_str(" CLONE");
    }
    s.push('\n');
    if e.p == 6 {
        let _ = writeln!(
            s,
            "\t{:x}:{:x} {}<<{}:{}<<{}",
            e.tcp[0].end,
            e.tcp[1].end,
            e.tcp[0].maxwin as u16,
            e.tcp[0].winscale,
            e.tcp[1].maxwin as u16,
            e.tcp[1].winscale
        );
    } else if e.p == 1 || e.p == 58 {
        let _ = writeln!(s, "\tid {} seq 0 type {}", e.icmp_id, e.icmp_type);
    }
    let _ = writeln!(
        s,
        "\tFWD: IN pkts {} bytes {} OUT pkts {} bytes {}\n\tREV: IN pkts {} bytes {} OUT pkts {} bytes {}",
        e.pkts[0], e.bytes[0], e.pkts[1], e.bytes[1], e.pkts[2], e.bytes[2], e.pkts[3], e.bytes[3]
    );
    let _ = write!(s, "\ttag 0 pass {:#x} = ", e.pass);
    let p = e.pass;
    if fr::is_pass(p) {
        s.push_str("pass");
    } else if fr::is_block(p) {
        s.push_str("block");
        match p & fr::RETMASK {
            fr::RETICMP => s.push_str(" return-icmp"),
            fr::FAKEICMP => s.push_str(" return-icmp-as-dest"),
            fr::RETRST => s.push_str(" return-rst"),
            _ => {}
        }
    } else if p & fr::LOGMASK == fr::LOG {
        s.push_str("log");
    } else if p & fr::CMDMASK == fr::ACCOUNT {
        s.push_str("count");
    } else if p & fr::CMDMASK == fr::PREAUTH {
        s.push_str("preauth");
    } else if p & fr::CMDMASK == fr::AUTH {
        s.push_str("auth");
    }
    s.push_str(if p & fr::OUTQUE != 0 { " out" } else { " in" });
    if p & fr::LOG != 0 {
        s.push_str(" log");
        if p & fr::LOGBODY != 0 {
            s.push_str(" body");
        }
        if p & fr::LOGFIRST != 0 {
            s.push_str(" first");
        }
        if p & fr::LOGORBLOCK != 0 {
            s.push_str(" or-block");
        }
    }
    if p & fr::QUICK != 0 {
        s.push_str(" quick");
    }
    if p & fr::KEEPFRAG != 0 {
        s.push_str(" keep frags");
    }
    if p & fr::KEEPSTATE != 0 {
        s.push_str(" keep state");
        if p & (fr::STATESYNC | fr::STSTRICT | fr::STLOOSE) != 0 {
            s.push_str(" (");
            if p & fr::STATESYNC != 0 {
                s.push_str(" sync");
            }
            if p & fr::STSTRICT != 0 {
                s.push_str(" strict");
            }
            if p & fr::STLOOSE != 0 {
                s.push_str(" loose");
            }
            s.push_str(" )");
        }
    }
    s.push('\n');
    let name = |i: usize| e.ifnames[i].as_deref().unwrap_or("");
    let _ = writeln!(
        s,
        "\tinterfaces: in X[{}],X[{}] out X[{}],X[{}]\n\tSync status: not synchronized",
        name(0),
        name(1),
        name(2),
        name(3)
    );
}
