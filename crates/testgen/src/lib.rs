//! Test-only generators for the kernel agreement suites (a dev-dependency, never linked into
//! the binary): random iptables rulesets (this module), random nft rulesets ([`nft`]),
//! packets and hosts aimed at their rules ([`aim`]), the shared corpus ([`corpus`]), and a
//! lab of kernel comparisons with the one shrinker ([`lab::Lab::shrink`] over
//! [`Generated`]).
//!
//! # Random iptables rulesets (issue 3 part 8)
//!
//! [`generate`] builds a small ruleset from a seed: 2-4 of the tables raw, mangle, nat and
//! filter, every built-in chain declared (as `iptables-save` prints them), user chains,
//! jumps, gotos and returns, the decidable matches of the iptables front end, NAT, marks,
//! REJECT variants, LOG, NOTRACK and policies. It is kept as structure ([`GenRuleset`]) so
//! that a disagreement can be shrunk (drop tables, rules, matches) and printed again as
//! `iptables-save` text ([`GenRuleset::to_text`]), which goes through
//! `frontends::iptables_save::parse` like any user's file.
//!
//! Determinism: everything comes from [`Rng`], a xorshift64* seeded by the caller.
//!
//! Shapes left out on purpose, each because the kernel's answer is not a function of the
//! ruleset and the packet:
//! - NAT to address *ranges* or port *ranges*: the kernel picks inside the range with a
//!   hash of the tuple (and skips taken tuples); only single addresses and single ports
//!   are generated.
//! - `--random`/`--random-fully`/`--persistent`: random port choice.
//! - rate limits, `statistic`, `recent`, ... (undecidable offline; they make the engine
//!   branch, see `model::expr::Undecidable`).

use model::{Family, Hook, Ruleset, SourceFile};

pub mod aim;
pub mod capture;
pub mod corpus;
pub mod counted;
#[cfg(target_os = "linux")]
pub mod kernel_tests;
pub mod kube;
#[cfg(target_os = "linux")]
pub mod lab;
pub mod nft;
pub mod random_topology;
pub mod reply_blocks;
pub mod topology;

/// A generated ruleset the lab can load and [`lab::Lab::shrink`] can make smaller.
pub trait Generated: Clone {
    /// Its text, as a user's file would have it.
    fn to_text(&self) -> String;
    /// Variants one step smaller (a table, rule, match or DROP policy fewer).
    fn shrink_candidates(&self) -> Vec<Self>;
    /// The file its text is loaded from, and the family its loader needs.
    fn source(&self) -> (SourceFile, Family);
    /// The front end's reading of the file; `None` when it refuses it.
    fn parse(src: &SourceFile) -> Option<Ruleset>;
}

impl Generated for GenRuleset {
    fn to_text(&self) -> String {
        GenRuleset::to_text(self)
    }
    fn shrink_candidates(&self) -> Vec<Self> {
        GenRuleset::shrink_candidates(self)
    }
    fn source(&self) -> (SourceFile, Family) {
        (
            SourceFile::new("generated.rules", self.to_text()),
            Family::Ip,
        )
    }
    fn parse(src: &SourceFile) -> Option<Ruleset> {
        frontends::iptables_save::parse(src, Some(Family::Ip)).ok()
    }
}

/// xorshift64*: small, fast and deterministic. Not for cryptography.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        self.next_u64() % n.max(1)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `pct`%.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// A generated ruleset, as structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenRuleset {
    pub tables: Vec<GTable>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GTable {
    pub name: &'static str,
    pub chains: Vec<GChain>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GChain {
    pub name: String,
    /// Built-in chains: the policy. User chains: `None` (declared `-`).
    pub policy: Option<&'static str>,
    pub rules: Vec<GRule>,
}

/// One rule: match fragments (each complete on its own, e.g. `-p tcp -m tcp --dport 22`)
/// and a target (`-j ACCEPT`, empty for a rule without target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GRule {
    pub matches: Vec<String>,
    pub target: String,
}

impl GenRuleset {
    /// The ruleset as `iptables-save` would print it (counters zero).
    pub fn to_text(&self) -> String {
        let mut s = String::from("# generated by whyblocked's differential tester\n");
        for t in &self.tables {
            s.push('*');
            s.push_str(t.name);
            s.push('\n');
            for c in &t.chains {
                s.push_str(&format!(":{} {} [0:0]\n", c.name, c.policy.unwrap_or("-")));
            }
            for c in &t.chains {
                for r in &c.rules {
                    s.push_str("-A ");
                    s.push_str(&c.name);
                    for m in &r.matches {
                        s.push(' ');
                        s.push_str(m);
                    }
                    if !r.target.is_empty() {
                        s.push(' ');
                        s.push_str(&r.target);
                    }
                    s.push('\n');
                }
            }
            s.push_str("COMMIT\n");
        }
        s
    }

    pub fn rule_count(&self) -> usize {
        self.tables
            .iter()
            .flat_map(|t| &t.chains)
            .map(|c| c.rules.len())
            .sum()
    }

    /// Smaller variants, most aggressive first: without one table, without one rule,
    /// without one match, with a policy turned to ACCEPT. Jump targets stay declared, so
    /// every variant is a valid ruleset unless a target needs a match that was removed
    /// (then the kernel refuses it and the shrinker moves on).
    pub fn shrink_candidates(&self) -> Vec<GenRuleset> {
        let mut out = Vec::new();
        if self.tables.len() > 1 {
            for i in 0..self.tables.len() {
                let mut g = self.clone();
                g.tables.remove(i);
                out.push(g);
            }
        }
        for (ti, t) in self.tables.iter().enumerate() {
            for (ci, c) in t.chains.iter().enumerate() {
                // Whole chain emptied first, then single rules.
                if c.rules.len() > 1 {
                    let mut g = self.clone();
                    g.tables[ti].chains[ci].rules.clear();
                    out.push(g);
                }
                for ri in 0..c.rules.len() {
                    let mut g = self.clone();
                    g.tables[ti].chains[ci].rules.remove(ri);
                    out.push(g);
                }
            }
        }
        // Unreferenced user chains.
        for (ti, t) in self.tables.iter().enumerate() {
            for (ci, c) in t.chains.iter().enumerate() {
                if c.policy.is_some() {
                    continue;
                }
                let used = t.chains.iter().flat_map(|c| &c.rules).any(|r| {
                    r.target == format!("-j {}", c.name) || r.target == format!("-g {}", c.name)
                });
                if !used {
                    let mut g = self.clone();
                    g.tables[ti].chains.remove(ci);
                    out.push(g);
                }
            }
        }
        for (ti, t) in self.tables.iter().enumerate() {
            for (ci, c) in t.chains.iter().enumerate() {
                for (ri, r) in c.rules.iter().enumerate() {
                    for mi in 0..r.matches.len() {
                        let mut g = self.clone();
                        g.tables[ti].chains[ci].rules[ri].matches.remove(mi);
                        out.push(g);
                    }
                }
                if c.policy == Some("DROP") {
                    let mut g = self.clone();
                    g.tables[ti].chains[ci].policy = Some("ACCEPT");
                    out.push(g);
                }
            }
        }
        out
    }
}

/// The built-in chains of a table, with their hooks, in `iptables-save` order.
pub fn builtins(table: &str) -> &'static [(&'static str, Hook)] {
    match table {
        "raw" => &[("PREROUTING", Hook::Prerouting), ("OUTPUT", Hook::Output)],
        "mangle" => &[
            ("PREROUTING", Hook::Prerouting),
            ("INPUT", Hook::Input),
            ("FORWARD", Hook::Forward),
            ("OUTPUT", Hook::Output),
            ("POSTROUTING", Hook::Postrouting),
        ],
        "nat" => &[
            ("PREROUTING", Hook::Prerouting),
            ("INPUT", Hook::Input),
            ("OUTPUT", Hook::Output),
            ("POSTROUTING", Hook::Postrouting),
        ],
        "filter" => &[
            ("INPUT", Hook::Input),
            ("FORWARD", Hook::Forward),
            ("OUTPUT", Hook::Output),
        ],
        _ => &[],
    }
}

/// Addresses the generated rules talk about (the test host's, see
/// [`aim::Topology::lab`]): the router's own, hosts on each side, the internet.
const ADDRS: [&str; 12] = [
    "10.1.1.1",
    "10.1.1.2",
    "10.1.1.20",
    "10.1.0.1",
    "10.1.0.10",
    "10.1.0.20",
    "10.1.2.1",
    "10.1.2.10",
    "198.51.100.7",
    "198.51.100.99",
    "203.0.113.5",
    "10.1.1.255",
];
const IFACES: [&str; 7] = ["lan0", "wan0", "dmz0", "lan+", "wan+", "d+", "eth0"];
const NAT_TO: [&str; 5] = [
    "10.1.0.10",
    "10.1.2.10",
    "10.1.1.20",
    "198.51.100.7",
    "10.1.0.1",
];
const PORTS: [u16; 10] = [22, 25, 53, 80, 443, 1000, 1222, 8080, 33000, 65535];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Tcp,
    Udp,
    Icmp,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        }
    }
}

fn addr_with_prefix(rng: &mut Rng) -> String {
    let a = *rng.pick(&ADDRS);
    let len = *rng.pick(&[32u8, 32, 24, 24, 16, 8]);
    let octets: Vec<u8> = a.split('.').map(|o| o.parse().unwrap_or(0)).collect();
    let v = u32::from_be_bytes([octets[0], octets[1], octets[2], octets[3]]);
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    let n = std::net::Ipv4Addr::from(v & mask);
    // iptables-save prints the network address and the prefix length.
    format!("{n}/{len}")
}

fn bang(rng: &mut Rng, pct: u64) -> &'static str {
    if rng.chance(pct) {
        "! "
    } else {
        ""
    }
}

fn port_spec(rng: &mut Rng) -> String {
    let p = *rng.pick(&PORTS);
    // A range needs lo < hi (iptables' multiport refuses `65535:65535`).
    if p < 65000 && rng.chance(25) {
        let hi = p.saturating_add(rng.range(1, 100) as u16);
        format!("{p}:{hi}")
    } else {
        p.to_string()
    }
}

/// The hook class a chain runs in decides which matches and targets are allowed.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    table: &'static str,
    hook: Hook,
}

fn iif_ok(h: Hook) -> bool {
    matches!(h, Hook::Prerouting | Hook::Input | Hook::Forward)
}
fn oif_ok(h: Hook) -> bool {
    matches!(h, Hook::Forward | Hook::Output | Hook::Postrouting)
}

fn gen_matches(rng: &mut Rng, cx: Ctx, proto: Option<Proto>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = proto {
        out.push(format!("-p {}", p.name()));
    }
    let n = rng.range(0, 3);
    for _ in 0..n {
        let m = match rng.below(19) {
            0 | 1 => format!("{}-s {}", bang(rng, 10), addr_with_prefix(rng)),
            2 | 3 => format!("{}-d {}", bang(rng, 10), addr_with_prefix(rng)),
            4 if iif_ok(cx.hook) => format!("{}-i {}", bang(rng, 15), rng.pick(&IFACES)),
            5 if oif_ok(cx.hook) => format!("{}-o {}", bang(rng, 15), rng.pick(&IFACES)),
            6 | 7 => match proto {
                Some(Proto::Tcp | Proto::Udp) => {
                    let p = proto.map(Proto::name).unwrap_or("tcp");
                    match rng.below(4) {
                        0 => format!("-m {p} {}--sport {}", bang(rng, 10), port_spec(rng)),
                        1 | 2 => format!("-m {p} {}--dport {}", bang(rng, 10), port_spec(rng)),
                        _ => {
                            let k = rng.range(1, 3);
                            let ports: Vec<String> = (0..k).map(|_| port_spec(rng)).collect();
                            let dir = if rng.chance(70) { "dports" } else { "sports" };
                            format!("-m multiport --{dir} {}", ports.join(","))
                        }
                    }
                }
                Some(Proto::Icmp) => {
                    let t = *rng.pick(&["8", "0", "3", "3/3", "11", "echo-request", "any"]);
                    format!("-m icmp {}--icmp-type {t}", bang(rng, 10))
                }
                None => continue,
            },
            8 => match proto {
                Some(Proto::Tcp) => match rng.below(3) {
                    0 => "-m tcp --syn".to_string(),
                    1 => "-m tcp ! --syn".to_string(),
                    _ => {
                        let (mask, comp) = *rng.pick(&[
                            ("SYN,RST,ACK,FIN", "SYN"),
                            ("SYN,ACK", "SYN,ACK"),
                            ("ACK", "ACK"),
                            ("FIN,SYN,RST,PSH,ACK,URG", "NONE"),
                            ("RST", "RST"),
                        ]);
                        format!("-m tcp {}--tcp-flags {mask} {comp}", bang(rng, 10))
                    }
                },
                _ => continue,
            },
            9 | 10 => {
                let states = *rng.pick(&[
                    "NEW",
                    "INVALID",
                    "RELATED,ESTABLISHED",
                    "NEW,UNTRACKED",
                    "UNTRACKED",
                    "ESTABLISHED",
                ]);
                if rng.chance(25) && !states.contains("UNTRACKED") {
                    format!("-m state {}--state {states}", bang(rng, 10))
                } else {
                    format!("-m conntrack {}--ctstate {states}", bang(rng, 10))
                }
            }
            11 => {
                let v = rng.range(0, 3);
                if rng.chance(50) {
                    format!("-m mark {}--mark 0x{v:x}", bang(rng, 10))
                } else {
                    format!(
                        "-m mark {}--mark 0x{v:x}/0x{:x}",
                        bang(rng, 10),
                        rng.range(1, 3)
                    )
                }
            }
            12 => {
                let t = *rng.pick(&["LOCAL", "UNICAST", "BROADCAST", "MULTICAST"]);
                let dir = if rng.chance(60) { "dst" } else { "src" };
                format!("-m addrtype {}--{dir}-type {t}", bang(rng, 10))
            }
            13 => {
                let (a, b) = *rng.pick(&[
                    ("10.1.1.2", "10.1.1.30"),
                    ("10.1.0.5", "10.1.0.15"),
                    ("198.51.100.1", "198.51.100.50"),
                    ("10.1.0.1", "10.1.2.255"),
                ]);
                let dir = if rng.chance(50) { "src" } else { "dst" };
                format!("-m iprange {}--{dir}-range {a}-{b}", bang(rng, 10))
            }
            14 => {
                let lo = *rng.pick(&[20u16, 28, 40, 52, 60, 100, 500]);
                if rng.chance(50) {
                    format!("-m length {}--length {lo}", bang(rng, 10))
                } else {
                    let hi = lo + *rng.pick(&[0u16, 10, 40, 400, 1000]);
                    format!("-m length {}--length {lo}:{hi}", bang(rng, 10))
                }
            }
            15 => {
                let v = *rng.pick(&[1u8, 2, 63, 64, 65, 128, 255]);
                match rng.below(3) {
                    0 => format!("-m ttl --ttl-eq {v}"),
                    1 => format!("-m ttl --ttl-lt {v}"),
                    _ => format!("-m ttl --ttl-gt {v}"),
                }
            }
            16 => {
                if rng.chance(50) {
                    let (v, m) =
                        *rng.pick(&[(0x10u8, 0x3fu8), (0x08, 0xff), (0x00, 0xff), (0x04, 0x1c)]);
                    format!("-m tos {}--tos 0x{v:02x}/0x{m:02x}", bang(rng, 10))
                } else {
                    let d = *rng.pick(&[0u8, 4, 10, 46]);
                    format!("-m dscp {}--dscp 0x{d:02x}", bang(rng, 10))
                }
            }
            17 => {
                let t = *rng.pick(&["unicast", "unicast", "broadcast", "multicast"]);
                format!("-m pkttype {}--pkt-type {t}", bang(rng, 10))
            }
            _ => format!("-m comment --comment \"wb note {}\"", rng.range(1, 99)),
        };
        // One of each option (iptables refuses `-s` twice, and `--dport` twice is no
        // rule anyone writes).
        let option = |f: &str| {
            f.split_whitespace()
                .find(|w| w.starts_with('-') && *w != "-m")
                .map(str::to_string)
        };
        let o = option(&m);
        if !out.iter().any(|x| option(x) == o) {
            out.push(m);
        }
    }
    out
}

/// Generates one target for a rule in `cx`. May add a protocol requirement through
/// `proto` (tcp-reset and NAT ports need `-p tcp`/`-p udp`).
fn gen_target(rng: &mut Rng, cx: Ctx, proto: &mut Option<Proto>, user_chains: &[String]) -> String {
    let ported = |p: &Option<Proto>| matches!(p, Some(Proto::Tcp | Proto::Udp));
    let roll = rng.below(100);
    if roll < 18 && !user_chains.is_empty() {
        let c = rng.pick(user_chains);
        return if rng.chance(25) {
            format!("-g {c}")
        } else {
            format!("-j {c}")
        };
    }
    if roll < 24 {
        return "-j RETURN".into();
    }
    if roll < 30 {
        return format!("-j LOG --log-prefix \"wb{} \"", rng.range(1, 9));
    }
    if roll < 34 {
        return String::new();
    }
    match cx.table {
        "raw" => match rng.below(5) {
            0 | 1 => "-j CT --notrack".into(),
            2 => "-j DROP".into(),
            _ => "-j ACCEPT".into(),
        },
        "mangle" => match rng.below(6) {
            0..=2 => {
                let v = rng.range(0, 3);
                if rng.chance(50) {
                    format!("-j MARK --set-xmark 0x{v:x}/0xffffffff")
                } else {
                    format!("-j MARK --set-xmark 0x{v:x}/0x{:x}", rng.range(1, 3))
                }
            }
            3 => "-j DROP".into(),
            _ => "-j ACCEPT".into(),
        },
        "nat" => {
            let port = |rng: &mut Rng, p: &Option<Proto>| {
                if ported(p) && rng.chance(50) {
                    Some(*rng.pick(&[22u16, 80, 8080, 2222]))
                } else {
                    None
                }
            };
            match (cx.hook, rng.below(4)) {
                (Hook::Prerouting | Hook::Output, 0 | 1) => {
                    let a = rng.pick(&NAT_TO);
                    match port(rng, proto) {
                        Some(p) => format!("-j DNAT --to-destination {a}:{p}"),
                        None => format!("-j DNAT --to-destination {a}"),
                    }
                }
                (Hook::Prerouting | Hook::Output, 2) => match port(rng, proto) {
                    Some(p) => format!("-j REDIRECT --to-ports {p}"),
                    None => "-j REDIRECT".into(),
                },
                (Hook::Input | Hook::Postrouting, 0 | 1) => {
                    let a = rng.pick(&["10.1.0.1", "10.1.1.1", "198.51.100.1", "10.1.2.1"]);
                    match port(rng, proto) {
                        Some(p) => format!("-j SNAT --to-source {a}:{p}"),
                        None => format!("-j SNAT --to-source {a}"),
                    }
                }
                (Hook::Postrouting, 2) => match port(rng, proto) {
                    Some(p) => format!("-j MASQUERADE --to-ports {p}"),
                    None => "-j MASQUERADE".into(),
                },
                _ => "-j ACCEPT".into(),
            }
        }
        _ => match rng.below(10) {
            0..=2 => "-j ACCEPT".into(),
            3..=5 => "-j DROP".into(),
            6 => {
                let v = rng.range(0, 3);
                format!("-j MARK --set-xmark 0x{v:x}/0xffffffff")
            }
            _ => {
                let with = *rng.pick(&[
                    "icmp-port-unreachable",
                    "icmp-net-unreachable",
                    "icmp-host-unreachable",
                    "icmp-proto-unreachable",
                    "icmp-net-prohibited",
                    "icmp-host-prohibited",
                    "icmp-admin-prohibited",
                    "tcp-reset",
                ]);
                if with == "tcp-reset" {
                    *proto = Some(Proto::Tcp);
                }
                format!("-j REJECT --reject-with {with}")
            }
        },
    }
}

/// Builds a ruleset from `seed`.
pub fn generate(seed: u64) -> GenRuleset {
    let mut rng = Rng::new(seed);
    let all = ["raw", "mangle", "nat", "filter"];
    let n = rng.range(2, 4) as usize;
    // A random subset of n tables, kept in iptables-save order.
    let mut chosen: Vec<&'static str> = all.to_vec();
    while chosen.len() > n {
        let i = rng.below(chosen.len() as u64) as usize;
        chosen.remove(i);
    }
    let mut tables = Vec::new();
    for table in chosen {
        let bis = builtins(table);
        // User chains, each at home in one built-in chain's hook; a chain jumps only to
        // user chains of the same home declared after it (no loops, a valid hook mask).
        let n_user = rng.range(0, 3) as usize;
        let homes: Vec<Hook> = (0..n_user).map(|_| rng.pick(bis).1).collect();
        let user_names: Vec<String> = (0..n_user).map(|i| format!("wb_{table}{i}")).collect();
        let mut chains = Vec::new();
        for &(name, hook) in bis {
            let policy = match table {
                "filter" if rng.chance(30) => "DROP",
                "raw" | "mangle" if rng.chance(4) => "DROP",
                _ => "ACCEPT",
            };
            let callable: Vec<String> = (0..n_user)
                .filter(|&i| homes[i] == hook)
                .map(|i| user_names[i].clone())
                .collect();
            let rules = gen_rules(&mut rng, Ctx { table, hook }, &callable, 4);
            chains.push(GChain {
                name: name.to_string(),
                policy: Some(policy),
                rules,
            });
        }
        for i in 0..n_user {
            let callable: Vec<String> = (i + 1..n_user)
                .filter(|&j| homes[j] == homes[i])
                .map(|j| user_names[j].clone())
                .collect();
            let rules = gen_rules(
                &mut rng,
                Ctx {
                    table,
                    hook: homes[i],
                },
                &callable,
                4,
            );
            chains.push(GChain {
                name: user_names[i].clone(),
                policy: None,
                rules,
            });
        }
        tables.push(GTable {
            name: table,
            chains,
        });
    }
    GenRuleset { tables }
}

fn gen_rules(rng: &mut Rng, cx: Ctx, callable: &[String], max: u64) -> Vec<GRule> {
    let n = rng.range(0, max);
    (0..n)
        .map(|_| {
            let mut proto = match rng.below(20) {
                0..=7 => None,
                8..=13 => Some(Proto::Tcp),
                14..=16 => Some(Proto::Udp),
                _ => Some(Proto::Icmp),
            };
            let target = gen_target(rng, cx, &mut proto, callable);
            // tcp-reset and NAT ports need the protocol: re-read it after the target.
            let mut matches = gen_matches(rng, cx, proto);
            // `! -p X` only when nothing depends on the protocol.
            let needs_proto = target.contains("tcp-reset")
                || target.contains("--to-ports")
                || (target.contains("NAT --to-") && target.matches(':').count() == 1);
            if matches.len() == 1 && proto.is_some() && !needs_proto && rng.chance(10) {
                matches[0] = format!("! {}", matches[0]);
            }
            GRule { matches, target }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Family, SourceFile};

    #[test]
    fn deterministic() {
        assert_eq!(generate(7), generate(7));
        assert_ne!(generate(7).to_text(), generate(8).to_text());
    }

    #[test]
    fn front_end_accepts_generated_rulesets() {
        for seed in 0..500 {
            let text = generate(seed).to_text();
            let src = SourceFile::new(format!("seed{seed}"), text.clone());
            if let Err(e) = frontends::iptables_save::parse(&src, Some(Family::Ip)) {
                panic!("seed {seed}: {e}\n{text}");
            }
        }
    }

    #[test]
    fn shrinking_gets_smaller() {
        let g = generate(3);
        for c in g.shrink_candidates() {
            assert_ne!(c, g);
            assert!(c.rule_count() <= g.rule_count());
        }
    }
}
