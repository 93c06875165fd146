//! Kernel-differential tests for nft rulesets (issue 4): the engine's walk of an nft ruleset
//! against the kernel's, packet by packet, rules mapped back by handle position.
//!
//! Two parts:
//! - [`nft_expression_table`]: hand-written cases, one or more per expression kind the nft
//!   front end decides (payload fields, meta, ct, fib, sets with intervals and
//!   concatenations, maps and verdict maps with catch-all, NAT incl. `ip to` in inet, marks,
//!   reject kinds incl. icmpx, several tables with priorities, chain bindings);
//! - [`random_nft_rulesets_agree_with_the_kernel`]: small random nft rulesets
//!   ([`testgen::nft`]) with packets aimed at their rules; at least `WB_NFT_CASES` (2,000)
//!   cases within 90 s in CI; `WB_NFT_SOAK_CASES=N` for a long run; `WB_NFT_SEED` picks the
//!   first seed. A disagreement fails with a minimised reproduction.
//!
//! Cases whose engine path meets an Unknown are counted, not compared. Not root: a loud
//! SKIP, a failure under `CI=true`.
#![allow(clippy::print_stderr)]
mod common;

use model::{Family, Packet, SourceFile};
use std::time::{Duration, Instant};
use testgen::aim::Topology;
use testgen::lab::{packet_spec, Case, Class, Lab};
use testgen::nft as gen_nft;
use testgen::Rng;

fn pk(spec: &str) -> Packet {
    let words: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
    match frontends::packet_spec::parse(&words) {
        Ok(s) => s.packet,
        Err(e) => panic!("test packet `{spec}`: {e}"),
    }
}

fn tos(mut p: Packet, tos: u8) -> Packet {
    p.tos = tos;
    p
}

/// One hand-written case: its name and the packets sent through its ruleset.
struct HandCase {
    name: &'static str,
    packets: Vec<Packet>,
}

/// A forward-chain ruleset in `table inet t` (policy accept) with `body` as its rules.
fn fwd(body: &str) -> String {
    format!(
        "table inet t {{\n\tchain fw {{\n\t\ttype filter hook forward priority filter; policy accept;\n{body}\n\t}}\n}}\n"
    )
}

fn cases() -> Vec<(HandCase, String)> {
    // Forwarded lan0 -> wan0 and back, received, sent.
    let f4 = |proto: &str, sport: u16, dport: u16, extra: &str| {
        pk(&format!(
            "{proto} 10.1.1.2:{sport} 10.1.0.10:{dport} in lan0 {extra}"
        ))
    };
    let f6 = |proto: &str, sport: u16, dport: u16| {
        pk(&format!(
            "{proto} [fd00:1:1::2]:{sport} [fd00:1::10]:{dport} in lan0"
        ))
    };
    let mut out: Vec<(HandCase, String)> = Vec::new();
    let mut add = |name: &'static str, rules: String, packets: Vec<Packet>| {
        out.push((HandCase { name, packets }, rules));
    };
    add(
        "payload: ip saddr/daddr prefixes, ttl, length, dscp, protocol",
        fwd(
            "\t\tip saddr 10.1.1.0/28 ip daddr 10.1.0.10 tcp dport 22 drop\n\
             \t\tip ttl < 10 udp dport 53 drop\n\
             \t\tip length > 500 udp dport 54 drop\n\
             \t\tip dscp cs1 udp dport 55 drop\n\
             \t\tip protocol udp udp dport 56 reject\n\
             \t\tip saddr != 10.1.1.2 tcp dport 23 drop",
        ),
        vec![
            f4("tcp", 1001, 22, ""),
            pk("tcp 10.1.1.20:1002 10.1.0.10:22 in lan0"),
            f4("udp", 1003, 53, "ttl 5"),
            f4("udp", 1004, 53, ""),
            f4("udp", 1005, 54, "len 600"),
            f4("udp", 1006, 54, ""),
            tos(f4("udp", 1007, 55, ""), 0x20),
            f4("udp", 1008, 55, ""),
            f4("udp", 1009, 56, ""),
            f4("tcp", 1010, 23, ""),
            pk("tcp 10.1.1.3:1011 10.1.0.10:23 in lan0"),
        ],
    );
    add(
        "payload: ip6 addresses, hoplimit, nexthdr",
        fwd(
            "\t\tip6 saddr fd00:1:1::/64 ip6 daddr fd00:1::10 tcp dport 22 drop\n\
             \t\tip6 hoplimit 5 udp dport 53 drop\n\
             \t\tip6 nexthdr udp udp dport 54 reject",
        ),
        vec![
            f6("tcp", 1101, 22),
            f6("tcp", 1102, 23),
            pk("udp [fd00:1:1::2]:1103 [fd00:1::10]:53 in lan0 ttl 5"),
            f6("udp", 1104, 53),
            f6("udp", 1105, 54),
        ],
    );
    add(
        "transport: tcp flags forms, port sets and ranges, th, icmp/icmpv6 type and code",
        fwd("\t\ttcp flags & (syn | ack) == syn tcp dport 22 drop\n\
             \t\ttcp flags syn / syn,ack,rst,fin tcp dport 24 drop\n\
             \t\ttcp dport { 80, 8000-8010 } drop\n\
             \t\tudp sport 5353 drop\n\
             \t\tth dport 6000 drop\n\
             \t\ticmp type echo-request icmp code 0 drop\n\
             \t\ticmpv6 type echo-request drop\n\
             \t\tmeta l4proto { udp, sctp } th dport 7000-7010 reject"),
        vec![
            f4("tcp", 1201, 22, ""),
            f4("tcp", 1202, 22, "flags SA"),
            f4("tcp", 1203, 24, "flags S"),
            f4("tcp", 1204, 24, "flags SF"),
            f4("tcp", 1205, 8005, ""),
            f4("tcp", 1206, 8011, ""),
            f4("tcp", 1207, 80, ""),
            f4("udp", 5353, 1, ""),
            f4("udp", 1208, 6000, ""),
            f4("tcp", 1209, 6000, ""),
            pk("icmp 10.1.1.2 10.1.0.10 in lan0 type echo-request"),
            pk("icmp 10.1.1.2 10.1.0.10 in lan0 type timestamp-request"),
            pk("icmpv6 fd00:1:1::2 fd00:1::10 in lan0 type echo-request"),
            f4("udp", 1210, 7005, ""),
            f6("udp", 1211, 7005),
        ],
    );
    add(
        "meta: iif/oif names and wildcards, nfproto, l4proto, length, pkttype",
        fwd("\t\tiifname \"lan*\" oifname \"wan0\" tcp dport 22 drop\n\
             \t\tiif \"dmz0\" tcp dport 22 reject with tcp reset\n\
             \t\tmeta nfproto ipv6 tcp dport 23 drop\n\
             \t\tmeta l4proto udp meta length 100-200 drop\n\
             \t\tmeta pkttype unicast tcp dport 25 drop\n\
             \t\toif \"dmz0\" drop"),
        vec![
            f4("tcp", 1301, 22, ""),
            pk("tcp 10.1.2.2:1302 10.1.0.10:22 in dmz0"),
            f4("tcp", 1303, 23, ""),
            f6("tcp", 1304, 23),
            f4("udp", 1305, 9, "len 150"),
            f4("udp", 1306, 9, "len 250"),
            f4("tcp", 1307, 25, ""),
            pk("tcp 10.1.1.2:1308 10.1.2.10:80 in lan0"),
        ],
    );
    add(
        "marks: meta mark set in prerouting, matched with a mask in forward; ct mark",
        "table inet t {\n\
         \tchain pre {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n\
         \t\ttcp dport 22 meta mark set 0x10\n\
         \t\ttcp dport 23 meta mark set meta mark | 0x3\n\
         \t\ttcp dport 24 ct mark set 0x7\n\t}\n\
         \tchain fw {\n\t\ttype filter hook forward priority filter; policy accept;\n\
         \t\tmeta mark 0x10 drop\n\
         \t\tmeta mark & 0x2 == 0x2 reject\n\
         \t\tct mark 0x7 drop\n\t}\n}\n"
            .to_string(),
        vec![
            f4("tcp", 1401, 22, ""),
            f4("tcp", 1402, 23, ""),
            f4("tcp", 1403, 24, ""),
            f4("tcp", 1404, 25, ""),
        ],
    );
    add(
        "ct: state new/established/invalid, status, direction",
        fwd("\t\tct state invalid drop\n\
             \t\tct state established,related accept\n\
             \t\tct direction original tcp dport 22 ct state new reject with tcp reset\n\
             \t\tct status dnat drop"),
        vec![
            f4("tcp", 1501, 22, "flags S"),
            f4("tcp", 1502, 22, "flags A"),
            f4("tcp", 1503, 22, "flags R"),
            f4("tcp", 1504, 22, "flags SA"),
            f4("tcp", 1505, 80, "flags S"),
        ],
    );
    add(
        "fib: daddr type local/unicast/broadcast, rpfilter",
        "table inet t {\n\
         \tchain pre {\n\t\ttype filter hook prerouting priority filter; policy accept;\n\
         \t\tfib saddr . iif oif missing drop\n\
         \t\tfib daddr type local tcp dport 22 drop\n\
         \t\tfib daddr . iif type broadcast drop\n\
         \t\tfib daddr type unicast tcp dport 23 drop\n\t}\n}\n"
            .to_string(),
        vec![
            pk("tcp 10.1.1.2:1601 10.1.1.1:22 in lan0"),
            pk("tcp 10.1.1.2:1602 10.1.0.10:22 in lan0"),
            pk("tcp 10.1.1.2:1603 10.1.0.10:23 in lan0"),
            pk("tcp 10.1.1.2:1604 10.1.1.1:23 in lan0"),
            pk("tcp 10.1.2.2:1605 10.1.0.10:80 in lan0"),
            pk("udp 10.1.1.2:1606 10.1.1.255:9 in lan0"),
        ],
    );
    add(
        "sets: named with intervals, concatenation, anonymous, negated",
        "table inet t {\n\
         \tset nets { type ipv4_addr; flags interval; elements = { 10.1.1.0/29, 10.1.1.20-10.1.1.30 } }\n\
         \tset svc { type ipv4_addr . inet_proto . inet_service; elements = { 10.1.0.10 . tcp . 22, 10.1.0.11 . udp . 53 } }\n\
         \tset ports { type inet_service; elements = { 80, 443 } }\n\
         \tchain fw {\n\t\ttype filter hook forward priority filter; policy accept;\n\
         \t\tip saddr @nets tcp dport 80 drop\n\
         \t\tip daddr . meta l4proto . th dport @svc reject\n\
         \t\tip saddr != @nets tcp dport @ports drop\n\
         \t\tip saddr . tcp dport { 10.1.1.9 . 8080, 10.1.1.10 . 8081 } drop\n\t}\n}\n"
            .to_string(),
        vec![
            pk("tcp 10.1.1.2:1701 10.1.0.10:80 in lan0"),
            pk("tcp 10.1.1.25:1702 10.1.0.10:80 in lan0"),
            pk("tcp 10.1.1.15:1703 10.1.0.10:80 in lan0"),
            pk("tcp 10.1.1.15:1704 10.1.0.10:22 in lan0"),
            pk("udp 10.1.1.15:1705 10.1.0.11:53 in lan0"),
            pk("udp 10.1.1.15:1706 10.1.0.10:53 in lan0"),
            pk("tcp 10.1.1.15:1707 10.1.0.10:443 in lan0"),
            pk("tcp 10.1.1.9:1708 10.1.0.10:8080 in lan0"),
            pk("tcp 10.1.1.9:1709 10.1.0.10:8081 in lan0"),
        ],
    );
    add(
        "maps and verdict maps: named vmap, anonymous vmap with catch-all, jump/goto/return",
        "table inet t {\n\
         \tmap vm { type ipv4_addr : verdict; elements = { 10.1.1.2 : jump sub, 10.1.1.3 : drop, 10.1.1.4 : goto sub } }\n\
         \tchain fw {\n\t\ttype filter hook forward priority filter; policy accept;\n\
         \t\tip saddr vmap @vm\n\
         \t\ttcp dport vmap { 22 : accept, 23 : drop, * : continue }\n\
         \t\tudp dport vmap { 53 : accept, * : drop }\n\t}\n\
         \tchain sub {\n\t\ttcp dport 80 return\n\t\ttcp dport 81 drop\n\t}\n}\n"
            .to_string(),
        vec![
            pk("tcp 10.1.1.2:1801 10.1.0.10:80 in lan0"),
            pk("tcp 10.1.1.2:1802 10.1.0.10:81 in lan0"),
            pk("tcp 10.1.1.3:1803 10.1.0.10:80 in lan0"),
            pk("tcp 10.1.1.4:1804 10.1.0.10:80 in lan0"),
            pk("tcp 10.1.1.4:1805 10.1.0.10:82 in lan0"),
            pk("tcp 10.1.1.9:1806 10.1.0.10:22 in lan0"),
            pk("tcp 10.1.1.9:1807 10.1.0.10:23 in lan0"),
            pk("tcp 10.1.1.9:1808 10.1.0.10:24 in lan0"),
            pk("udp 10.1.1.9:1809 10.1.0.10:53 in lan0"),
            pk("udp 10.1.1.9:1810 10.1.0.10:54 in lan0"),
        ],
    );
    add(
        "NAT: dnat with a map, dnat ip to in inet, redirect, snat, masquerade",
        "table inet n {\n\
         \tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\
         \t\ttcp dport 1222 dnat ip to 10.1.2.10:22\n\
         \t\ttcp dport 8080 redirect to :80\n\
         \t\tudp dport 5353 dnat ip to udp dport map { 5353 : 10.1.2.11 }\n\
         \t\ttcp dport 2222 dnat ip6 to [fd00:1:2::10]:22\n\t}\n\
         \tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\
         \t\toifname \"dmz0\" ip saddr 10.1.1.0/24 snat ip to 10.1.2.1\n\
         \t\toifname \"wan0\" masquerade\n\t}\n}\n"
            .to_string(),
        vec![
            pk("tcp 10.1.1.2:1901 10.1.1.1:1222 in lan0"),
            pk("tcp 10.1.1.2:1902 10.1.1.1:8080 in lan0"),
            pk("udp 10.1.1.2:1903 10.1.1.1:5353 in lan0"),
            pk("tcp [fd00:1:1::2]:1904 [fd00:1:1::1]:2222 in lan0"),
            pk("tcp 10.1.1.2:1905 10.1.2.10:80 in lan0"),
            pk("tcp 10.1.1.2:1906 10.1.0.10:80 in lan0"),
            pk("tcp [fd00:1:1::2]:1907 [fd00:1::10]:80 in lan0"),
        ],
    );
    add(
        "reject kinds: default, tcp reset, icmp codes, icmpx in inet, icmpv6",
        fwd("\t\ttcp dport 1 reject\n\
             \t\ttcp dport 2 reject with tcp reset\n\
             \t\tudp dport 3 reject with icmpx admin-prohibited\n\
             \t\tudp dport 4 reject with icmpx no-route\n\
             \t\tudp dport 5 reject with icmpx host-unreachable\n\
             \t\tmeta nfproto ipv4 udp dport 6 reject with icmp net-prohibited\n\
             \t\tmeta nfproto ipv6 udp dport 6 reject with icmpv6 addr-unreachable"),
        vec![
            f4("tcp", 2001, 1, ""),
            f6("tcp", 2002, 1),
            f4("tcp", 2003, 2, ""),
            f6("tcp", 2004, 2),
            f4("udp", 2005, 3, ""),
            f6("udp", 2006, 3),
            f4("udp", 2007, 4, ""),
            f4("udp", 2008, 5, ""),
            f6("udp", 2009, 5),
            f4("udp", 2010, 6, ""),
            f6("udp", 2011, 6),
        ],
    );
    add(
        "tables and priorities: an accept in one table, a drop in another; order by priority",
        "table inet a {\n\tchain fw {\n\t\ttype filter hook forward priority filter; policy accept;\n\
         \t\ttcp dport 22 accept\n\t\ttcp dport 23 drop\n\t}\n}\n\
         table ip b {\n\tchain fw {\n\t\ttype filter hook forward priority 10; policy accept;\n\
         \t\ttcp dport 22 drop\n\t\ttcp dport 24 accept\n\t}\n}\n\
         table ip6 c {\n\tchain fw {\n\t\ttype filter hook forward priority -10; policy drop;\n\
         \t\ttcp dport 22 accept\n\t}\n}\n\
         table inet d {\n\tchain in {\n\t\ttype filter hook input priority filter + 5; policy drop;\n\
         \t\ttcp dport 22 accept\n\t}\n\
         \tchain out {\n\t\ttype filter hook output priority filter; policy accept;\n\
         \t\tudp dport 53 drop\n\t}\n}\n"
            .to_string(),
        vec![
            f4("tcp", 2101, 22, ""),
            f4("tcp", 2102, 23, ""),
            f4("tcp", 2103, 24, ""),
            f6("tcp", 2104, 22),
            f6("tcp", 2105, 24),
            pk("tcp 10.1.1.2:2106 10.1.1.1:22 in lan0"),
            pk("tcp 10.1.1.2:2107 10.1.1.1:23 in lan0"),
            pk("udp 10.1.0.1:2108 10.1.0.10:53"),
            pk("udp 10.1.0.1:2109 10.1.0.10:54"),
        ],
    );
    add(
        "chain bindings: jump and goto to anonymous chains",
        fwd("\t\ttcp dport 22 jump {\n\t\t\tip saddr 10.1.1.2 accept\n\t\t\tip saddr 10.1.1.3 drop\n\t\t}\n\
             \t\ttcp dport { 22, 23 } reject with tcp reset"),
        vec![
            f4("tcp", 2201, 22, ""),
            pk("tcp 10.1.1.3:2202 10.1.0.10:22 in lan0"),
            pk("tcp 10.1.1.4:2203 10.1.0.10:22 in lan0"),
            f4("tcp", 2204, 23, ""),
        ],
    );
    out
}

/// Runs one ruleset text with its packets; returns the cases.
fn run_one(lab: &mut Lab, name: &str, rules: &str, packets: &[Packet]) -> Vec<Case> {
    let src = SourceFile::new(
        format!("{}.nft", name.split(':').next().unwrap_or("case")),
        rules,
    );
    let ruleset = frontends::nft::parse_text(&src)
        .unwrap_or_else(|e| panic!("case `{name}`: the nft front end refuses it: {e}\n{rules}"));
    if let Err(e) = lab.load(&[(src, Family::Inet)]) {
        panic!("case `{name}`: the kernel refuses it: {e}\n{rules}");
    }
    lab.run(&ruleset, packets)
        .unwrap_or_else(|e| panic!("case `{name}`: kernel run failed: {e}"))
}

fn repro(rules: &str, c: &Case) -> String {
    format!(
        "---- ruleset (nft) ----\n{rules}---- packet ----\n{}\n---- verdict ----\n{}",
        packet_spec(&c.report.packet),
        report::verify::render_text(&c.report)
    )
}

/// Every expression kind the nft front end decides, against the kernel.
#[test]
fn nft_expression_table() {
    if !common::kernel_tests_enabled("nft_expression_table") {
        return;
    }
    let start = Instant::now();
    let mut lab = Lab::new(Topology::lab()).expect("test host");
    let (mut total, mut agree, mut unknown) = (0, 0, 0);
    let mut failures = Vec::new();
    for (case, rules) in cases() {
        let results = run_one(&mut lab, case.name, &rules, &case.packets);
        for c in &results {
            total += 1;
            match &c.class {
                Class::Agree => agree += 1,
                Class::Unknown => {
                    unknown += 1;
                    eprintln!(
                        "unknown on the path ({}): {}",
                        case.name,
                        packet_spec(&c.report.packet)
                    );
                }
                Class::Disagree | Class::EngineFailed(_) => {
                    failures.push(format!("case `{}`:\n{}", case.name, repro(&rules, c)))
                }
            }
        }
    }
    common::close_lab(lab);
    eprintln!(
        "nft expression table: {total} packets, {agree} agree, {unknown} unknown (not compared), {} disagree in {:.1}s",
        failures.len(),
        start.elapsed().as_secs_f64()
    );
    common::assert_no_disagreements(&failures);
}

/// Random small nft rulesets (sets, maps, vmaps, concatenations, NAT, several tables and
/// priorities) against the kernel.
#[test]
fn random_nft_rulesets_agree_with_the_kernel() {
    if !common::kernel_tests_enabled("random_nft_rulesets_agree_with_the_kernel") {
        return;
    }
    let soak = common::env_usize("WB_NFT_SOAK_CASES");
    let target = soak.or(common::env_usize("WB_NFT_CASES")).unwrap_or(2_000);
    let limit = if soak.is_some() {
        Duration::from_secs(24 * 3600)
    } else {
        Duration::from_secs(90)
    };
    let first_seed = common::env_usize("WB_NFT_SEED").unwrap_or(1) as u64;
    let start = Instant::now();
    let topo = Topology::lab();
    let mut lab = Lab::new(topo.clone()).expect("test host");
    let (mut cases, mut agree, mut unknown, mut rulesets) = (0usize, 0usize, 0usize, 0usize);
    let mut failures: Vec<String> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let mut seed = first_seed;
    while cases < target && start.elapsed() < limit && failures.len() < 3 {
        let g = gen_nft::generate(seed);
        let text = g.to_text();
        let src = SourceFile::new(format!("seed{seed}.nft"), text.clone());
        let ruleset = match frontends::nft::parse_text(&src) {
            Ok(r) => r,
            Err(e) => panic!("generator bug (the nft front end refuses seed {seed}): {e}\n{text}"),
        };
        if let Err(e) = lab.load(&[(src, Family::Inet)]) {
            refused.push(format!("seed {seed}: {e}\n{text}"));
            seed += 1;
            continue;
        }
        rulesets += 1;
        let mut rng = Rng::new(seed ^ 0x6e66_7400_0000);
        let packets = gen_nft::packets(&g, &ruleset, &topo, gen_nft::PER_RULESET, &mut rng);
        let results = lab.run(&ruleset, &packets).expect("kernel run");
        for case in results {
            cases += 1;
            match &case.class {
                Class::Agree => agree += 1,
                Class::Unknown => unknown += 1,
                Class::Disagree | Class::EngineFailed(_) => {
                    if failures.len() >= 3 {
                        continue;
                    }
                    let packet = case.report.packet.clone();
                    failures.push(match lab.shrink(&g, &packet, 200) {
                        Some((small, c)) => format!(
                            "seed {seed} ({} rules, minimised to {}):\n{}",
                            g.rule_count(),
                            small.rule_count(),
                            repro(&small.to_text(), &c)
                        ),
                        None => format!(
                            "seed {seed} (not reproduced alone on a fresh conntrack table):\n{}",
                            repro(&text, &case)
                        ),
                    });
                }
            }
        }
        seed += 1;
    }
    let took = start.elapsed();
    eprintln!(
        "nft differential: {cases} cases on {rulesets} rulesets (seeds {first_seed}..{seed}) in {:.1}s: \
         {agree} agree, {unknown} unknown (not compared), {} disagree; {} rulesets refused by the kernel",
        took.as_secs_f64(),
        failures.len(),
        refused.len()
    );
    common::close_lab(lab);
    for r in &refused {
        eprintln!("REFUSED {r}");
    }
    common::assert_no_disagreements(&failures);
    assert!(
        refused.is_empty(),
        "generator bug: the kernel refused {} ruleset(s)",
        refused.len()
    );
    assert!(
        cases >= target,
        "only {cases} of {target} cases within {limit:?}"
    );
}
