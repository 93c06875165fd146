//! Random small nft rulesets for the kernel-differential tests (issue 4), and packets aimed
//! at their rules.
//!
//! A ruleset is kept as structure ([`NftGen`]: tables, named sets and maps, base and
//! regular chains, rules made of conditions and one statement) so that a disagreement can be
//! shrunk by dropping tables, rules and conditions. Every condition carries the packet
//! fields that satisfy it ([`Hint`]): [`packets`] aims a packet at a rule with
//! [`crate::aim::aim`] (for the plain comparisons the front end lowers) and then applies
//! the hints (for set and map lookups, which the model-level aiming does not read).
//!
//! What is generated stays inside what the kernel accepts: reject only in input, forward
//! and output; `iifname` only where the hook has an input device, `oifname` only where it
//! has an output one; `fib ... . iif` only in prerouting and input; NAT statements in NAT
//! chains, with a transport condition before a port; `return` only in regular chains.

use crate::aim::{self, Topology};
use crate::{Generated, Rng};
use model::{Family, Hook, Packet, RuleRef, Ruleset, SourceFile, TcpFlags, L4};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

/// Packets per loaded ruleset in the differential test.
pub const PER_RULESET: usize = 16;

/// A packet field a condition wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    Src(IpAddr),
    Dst(IpAddr),
    /// Transport protocol (6, 17, 1, 58).
    Proto(u8),
    Sport(u16),
    Dport(u16),
    Iif(String),
    TcpFlags(u8),
}

/// One condition: its nft text and what satisfies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    pub text: String,
    pub hints: Vec<Hint>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NRule {
    pub conds: Vec<Cond>,
    pub stmt: String,
    /// The address family the rule's conditions are written for (inet tables mix).
    pub v6: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NChain {
    pub name: String,
    /// `type filter hook forward priority 10; policy accept;` for a base chain.
    pub head: Option<String>,
    /// The hook it runs in (a regular chain: the hook of the base chain that reaches it).
    pub hook: Hook,
    pub nat: bool,
    pub rules: Vec<NRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NTable {
    /// `inet`, `ip` or `ip6`.
    pub family: &'static str,
    pub name: String,
    /// Set and map declarations, one line each.
    pub sets: Vec<String>,
    pub chains: Vec<NChain>,
}

/// A generated nft ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftGen {
    pub tables: Vec<NTable>,
}

impl NRule {
    pub fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.conds {
            s.push_str(&c.text);
            s.push(' ');
        }
        s.push_str(&self.stmt);
        s
    }
}

impl NftGen {
    /// The ruleset as `nft -f` input.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for t in &self.tables {
            let _ = writeln!(s, "table {} {} {{", t.family, t.name);
            for set in &t.sets {
                let _ = writeln!(s, "\t{set}");
            }
            for c in &t.chains {
                let _ = writeln!(s, "\tchain {} {{", c.name);
                if let Some(h) = &c.head {
                    let _ = writeln!(s, "\t\t{h}");
                }
                for r in &c.rules {
                    let _ = writeln!(s, "\t\t{}", r.text());
                }
                let _ = writeln!(s, "\t}}");
            }
            let _ = writeln!(s, "}}");
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

    /// Smaller variants: without one table, one rule, or one condition of a rule (jumps,
    /// sets and maps stay, so every variant still loads).
    pub fn shrink_candidates(&self) -> Vec<NftGen> {
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
                for ri in 0..c.rules.len() {
                    let mut g = self.clone();
                    g.tables[ti].chains[ci].rules.remove(ri);
                    out.push(g);
                }
            }
        }
        for (ti, t) in self.tables.iter().enumerate() {
            for (ci, c) in t.chains.iter().enumerate() {
                for (ri, r) in c.rules.iter().enumerate() {
                    for k in 0..r.conds.len() {
                        let mut g = self.clone();
                        g.tables[ti].chains[ci].rules[ri].conds.remove(k);
                        // A statement that needs a transport protocol keeps its condition.
                        if needs_l4(&g.tables[ti].chains[ci].rules[ri]) {
                            continue;
                        }
                        out.push(g);
                    }
                }
            }
        }
        out
    }
}

/// Whether the statement needs a transport protocol that no condition states (nft refuses
/// `reject with tcp reset` without tcp, and NAT to a port without tcp or udp).
fn needs_l4(r: &NRule) -> bool {
    let tcp = r.conds.iter().any(|c| {
        c.text.starts_with("tcp ") || c.text == "meta l4proto tcp" || c.text.contains(". tcp dport")
    });
    let udp = r
        .conds
        .iter()
        .any(|c| c.text.starts_with("udp ") || c.text == "meta l4proto udp");
    if r.stmt.contains("tcp reset") {
        return !tcp;
    }
    let port_nat = r.stmt.starts_with("redirect to :")
        || ((r.stmt.starts_with("dnat") || r.stmt.starts_with("snat")) && r.stmt.ends_with(":22"));
    port_nat && !(tcp || udp)
}

// ---- generation ----

const V4_NETS: [&str; 3] = ["10.1.1.0/24", "10.1.0.0/24", "10.1.2.0/24"];

fn v4_host(rng: &mut Rng) -> (String, IpAddr) {
    let net = *rng.pick(&[1u8, 0, 2]);
    let host = rng.range(2, 30) as u8;
    let a = format!("10.1.{net}.{host}");
    let ip = a.parse().expect("address");
    (a, ip)
}

fn v6_host(rng: &mut Rng) -> (String, IpAddr) {
    let net = *rng.pick(&[1u16, 0, 2]);
    let host = rng.range(2, 30) as u16;
    let a = if net == 0 {
        format!("fd00:1::{host:x}")
    } else {
        format!("fd00:1:{net:x}::{host:x}")
    };
    let ip = a.parse().expect("address");
    (a, ip)
}

fn host(rng: &mut Rng, v6: bool) -> (String, IpAddr) {
    if v6 {
        v6_host(rng)
    } else {
        v4_host(rng)
    }
}

fn cond(text: impl Into<String>, hints: Vec<Hint>) -> Cond {
    Cond {
        text: text.into(),
        hints,
    }
}

/// What a table offers rules: its sets and maps, by kind.
#[derive(Debug, Default, Clone)]
struct Offer {
    /// (name, v6) address sets with one member address each for aiming.
    addr_sets: Vec<(String, bool, IpAddr)>,
    /// Port sets with a member.
    port_sets: Vec<(String, u16)>,
    /// Concatenated address . port sets (tcp) with a member.
    concat_sets: Vec<(String, bool, IpAddr, u16)>,
    /// Port-keyed verdict maps with a member port.
    vmaps: Vec<(String, u16)>,
}

fn gen_sets(t: &mut NTable, rng: &mut Rng, regular: &[String]) -> Offer {
    let mut o = Offer::default();
    let fams: Vec<bool> = match t.family {
        "ip" => vec![false],
        "ip6" => vec![true],
        _ => vec![false, true],
    };
    for i in 0..rng.below(4) {
        let name = format!("s{i}");
        match rng.below(4) {
            0 => {
                let v6 = *rng.pick(&fams);
                let (a, ip) = host(rng, v6);
                let (b, _) = host(rng, v6);
                let (interval, elems) = if v6 {
                    (
                        true,
                        format!("{a}, {b}, fd00:1:2::100/120, fd00:1::1:0-fd00:1::1:ff"),
                    )
                } else {
                    (
                        true,
                        format!("{a}, {b}, 10.1.2.128/28, 10.1.0.40-10.1.0.49"),
                    )
                };
                let ty = if v6 { "ipv6_addr" } else { "ipv4_addr" };
                let flags = if interval { " flags interval;" } else { "" };
                t.sets.push(format!(
                    "set {name} {{ type {ty};{flags} elements = {{ {elems} }} }}"
                ));
                o.addr_sets.push((name, v6, ip));
            }
            1 => {
                let p = *rng.pick(&[22u16, 53, 80, 443, 8080]);
                t.sets.push(format!(
                    "set {name} {{ type inet_service; flags interval; elements = {{ {p}, 1000-1100, 3000 }} }}"
                ));
                o.port_sets.push((name, p));
            }
            2 => {
                let v6 = *rng.pick(&fams);
                let (a, ip) = host(rng, v6);
                let (b, _) = host(rng, v6);
                let p = *rng.pick(&[22u16, 80, 443]);
                let ty = if v6 { "ipv6_addr" } else { "ipv4_addr" };
                t.sets.push(format!(
                    "set {name} {{ type {ty} . inet_service; elements = {{ {a} . {p}, {b} . 8080 }} }}"
                ));
                o.concat_sets.push((name, v6, ip, p));
            }
            _ => {
                let p = *rng.pick(&[22u16, 53, 80, 443]);
                let target = match regular.first() {
                    Some(c) if rng.chance(50) => format!("jump {c}"),
                    _ => "accept".to_string(),
                };
                let name = format!("m{i}");
                t.sets.push(format!(
                    "map {name} {{ type inet_service : verdict; elements = {{ {p} : drop, {} : {target}, 5000 : continue }} }}",
                    p + 1
                ));
                o.vmaps.push((name, p));
            }
        }
    }
    o
}

/// A random condition usable in `hook`, for family `v6`.
fn gen_cond(rng: &mut Rng, hook: Hook, v6: bool, offer: &Offer, proto: &mut Option<u8>) -> Cond {
    let ip = if v6 { "ip6" } else { "ip" };
    let has_iif = matches!(hook, Hook::Prerouting | Hook::Input | Hook::Forward);
    let has_oif = matches!(hook, Hook::Forward | Hook::Output | Hook::Postrouting);
    for _ in 0..16 {
        match rng.below(17) {
            0 => {
                let (a, addr) = host(rng, v6);
                let neg = rng.chance(20);
                return cond(
                    format!("{ip} saddr {}{a}", if neg { "!= " } else { "" }),
                    if neg { vec![] } else { vec![Hint::Src(addr)] },
                );
            }
            1 => {
                let (net, hint) = if v6 {
                    let n = *rng.pick(&[1u16, 0, 2]);
                    let (a, addr) = host(rng, true);
                    let _ = a;
                    let net = if n == 0 {
                        "fd00:1::/64".to_string()
                    } else {
                        format!("fd00:1:{n:x}::/64")
                    };
                    let ok = net.parse::<ipnet::IpNet>().is_ok_and(|x| x.contains(&addr));
                    (net, ok.then_some(addr))
                } else {
                    let net = rng.pick(&V4_NETS).to_string();
                    let (_, addr) = host(rng, false);
                    let ok = net.parse::<ipnet::IpNet>().is_ok_and(|x| x.contains(&addr));
                    (net, ok.then_some(addr))
                };
                let side = if rng.chance(50) { "saddr" } else { "daddr" };
                let hints = hint
                    .map(|a| {
                        vec![if side == "saddr" {
                            Hint::Src(a)
                        } else {
                            Hint::Dst(a)
                        }]
                    })
                    .unwrap_or_default();
                return cond(format!("{ip} {side} {net}"), hints);
            }
            2 if proto.is_none() || *proto == Some(6) => {
                *proto = Some(6);
                let p = *rng.pick(&[22u16, 80, 443, 8080, 1222]);
                return match rng.below(3) {
                    0 => cond(
                        format!("tcp dport {p}"),
                        vec![Hint::Proto(6), Hint::Dport(p)],
                    ),
                    1 => cond(
                        format!("tcp dport {{ {p}, 2000-2100 }}"),
                        vec![Hint::Proto(6), Hint::Dport(p)],
                    ),
                    _ => cond("tcp sport != 1-1023", vec![Hint::Proto(6)]),
                };
            }
            3 if proto.is_none() || *proto == Some(17) => {
                *proto = Some(17);
                let p = *rng.pick(&[53u16, 123, 5353]);
                return cond(
                    format!("udp dport {p}"),
                    vec![Hint::Proto(17), Hint::Dport(p)],
                );
            }
            4 if proto.is_none() => {
                *proto = Some(if rng.chance(50) { 6 } else { 17 });
                let pr = if *proto == Some(6) { "tcp" } else { "udp" };
                return cond(
                    format!("meta l4proto {pr}"),
                    vec![Hint::Proto(proto.unwrap_or(6))],
                );
            }
            5 if proto.is_none() || *proto == Some(6) => {
                *proto = Some(6);
                return match rng.below(2) {
                    0 => cond(
                        "tcp flags & (syn | ack) == syn",
                        vec![Hint::Proto(6), Hint::TcpFlags(0x02)],
                    ),
                    _ => cond(
                        "tcp flags ack / syn,ack",
                        vec![Hint::Proto(6), Hint::TcpFlags(0x10)],
                    ),
                };
            }
            6 if proto.is_none() => {
                let p = *rng.pick(&[53u16, 80, 1222]);
                return cond(format!("th dport {p}"), vec![Hint::Dport(p)]);
            }
            7 if proto.is_none() => {
                let icmp = if v6 { 58 } else { 1 };
                *proto = Some(icmp);
                return cond(
                    if v6 {
                        "icmpv6 type echo-request"
                    } else {
                        "icmp type echo-request"
                    },
                    vec![Hint::Proto(icmp)],
                );
            }
            8 if has_iif => {
                let n = *rng.pick(&["lan0", "wan0", "dmz0"]);
                return if rng.chance(30) {
                    cond(
                        format!("iifname \"{}*\"", &n[..3]),
                        vec![Hint::Iif(n.into())],
                    )
                } else {
                    cond(format!("iifname \"{n}\""), vec![Hint::Iif(n.into())])
                };
            }
            9 if has_oif => {
                let n = *rng.pick(&["lan0", "wan0", "dmz0"]);
                return cond(format!("oifname \"{n}\""), vec![]);
            }
            10 => {
                return cond(
                    *rng.pick(&[
                        "ct state new",
                        "ct state established,related",
                        "ct state invalid",
                        "ct state { new, untracked }",
                    ]),
                    vec![],
                );
            }
            11 => {
                return cond(
                    *rng.pick(&[
                        "meta mark 0x1",
                        "meta mark & 0x0f == 0x1",
                        "ct mark 0x5",
                        "ct status dnat",
                        "ct direction original",
                    ]),
                    vec![],
                );
            }
            12 => {
                let c = match hook {
                    Hook::Prerouting | Hook::Input if rng.chance(40) => {
                        "fib saddr . iif oif missing"
                    }
                    _ => *rng.pick(&[
                        "fib daddr type local",
                        "fib daddr type != local",
                        "fib daddr type unicast",
                    ]),
                };
                return cond(c, vec![]);
            }
            13 if offer.addr_sets.iter().any(|s| s.1 == v6) => {
                let sets: Vec<_> = offer.addr_sets.iter().filter(|s| s.1 == v6).collect();
                let s = (*rng.pick(&sets)).clone();
                let side = if rng.chance(50) { "saddr" } else { "daddr" };
                let neg = rng.chance(20);
                let hint = if side == "saddr" {
                    Hint::Src(s.2)
                } else {
                    Hint::Dst(s.2)
                };
                return cond(
                    format!("{ip} {side} {}@{}", if neg { "!= " } else { "" }, s.0),
                    if neg { vec![] } else { vec![hint] },
                );
            }
            14 if !offer.port_sets.is_empty() && (proto.is_none() || *proto == Some(6)) => {
                *proto = Some(6);
                let s = rng.pick(&offer.port_sets).clone();
                return cond(
                    format!("tcp dport @{}", s.0),
                    vec![Hint::Proto(6), Hint::Dport(s.1)],
                );
            }
            15 if (proto.is_none() || *proto == Some(6))
                && offer.concat_sets.iter().any(|s| s.1 == v6) =>
            {
                *proto = Some(6);
                let sets: Vec<_> = offer.concat_sets.iter().filter(|s| s.1 == v6).collect();
                let s = (*rng.pick(&sets)).clone();
                return cond(
                    format!("{ip} daddr . tcp dport @{}", s.0),
                    vec![Hint::Proto(6), Hint::Dst(s.2), Hint::Dport(s.3)],
                );
            }
            16 => {
                let (a, addr) = host(rng, v6);
                let (b, _) = host(rng, v6);
                return cond(format!("{ip} daddr {{ {a}, {b} }}"), vec![Hint::Dst(addr)]);
            }
            _ => {}
        }
    }
    cond(
        format!("meta nfproto {}", if v6 { "ipv6" } else { "ipv4" }),
        vec![],
    )
}

/// A random statement for a rule of `chain` (index `ci` of `chains`).
fn gen_stmt(
    rng: &mut Rng,
    chain: &NChain,
    family: &str,
    proto: Option<u8>,
    v6: bool,
    regular: &[String],
    offer: &Offer,
) -> String {
    let ip = if v6 { "ip6" } else { "ip" };
    if chain.nat {
        let inet = family == "inet";
        let to = |a: String| {
            if inet {
                format!("{ip} to {a}")
            } else {
                format!("to {a}")
            }
        };
        let l4 = matches!(proto, Some(6) | Some(17));
        return match chain.hook {
            Hook::Prerouting | Hook::Output => match rng.below(4) {
                0 if l4 => "redirect to :8080".to_string(),
                1 if l4 => {
                    let (a, _) = host(rng, v6);
                    let a = if v6 {
                        format!("[{a}]:22")
                    } else {
                        format!("{a}:22")
                    };
                    format!("dnat {}", to(a))
                }
                2 => "accept".to_string(),
                _ => {
                    let (a, _) = host(rng, v6);
                    format!("dnat {}", to(a))
                }
            },
            _ => match rng.below(3) {
                0 => "masquerade".to_string(),
                1 => "accept".to_string(),
                _ => {
                    let a = if v6 { "fd00:1::1" } else { "10.1.0.1" };
                    format!("snat {}", to(a.to_string()))
                }
            },
        };
    }
    let can_reject = matches!(chain.hook, Hook::Input | Hook::Forward | Hook::Output);
    let in_regular = chain.head.is_none();
    for _ in 0..16 {
        let s = match rng.below(13) {
            0 | 1 => "accept".to_string(),
            2 | 3 => "drop".to_string(),
            4 if can_reject => "reject".to_string(),
            5 if can_reject && proto == Some(6) => "reject with tcp reset".to_string(),
            6 if can_reject && family == "inet" => {
                format!(
                    "reject with icmpx {}",
                    rng.pick(&[
                        "admin-prohibited",
                        "host-unreachable",
                        "no-route",
                        "port-unreachable"
                    ])
                )
            }
            7 => "counter".to_string(),
            8 => format!("meta mark set {:#x}", rng.pick(&[1u32, 0x11, 0x5])),
            9 => "ct mark set 0x5".to_string(),
            10 if !regular.is_empty() && !in_regular => {
                let c = rng.pick(regular);
                format!("{} {c}", if rng.chance(70) { "jump" } else { "goto" })
            }
            11 if in_regular => "return".to_string(),
            12 if !offer.vmaps.is_empty() && !in_regular && proto.is_none_or(|p| p == 6) => {
                let m = rng.pick(&offer.vmaps);
                format!("tcp dport vmap @{}", m.0)
            }
            12 if proto.is_none_or(|p| p == 6) && !in_regular => {
                let t = if regular.is_empty() || in_regular {
                    "accept".to_string()
                } else {
                    format!("jump {}", rng.pick(regular))
                };
                format!("tcp dport vmap {{ 22 : drop, 80 : {t}, * : continue }}")
            }
            _ => continue,
        };
        return s;
    }
    "accept".to_string()
}

/// A random small nft ruleset for `seed`.
pub fn generate(seed: u64) -> NftGen {
    let mut rng = Rng::new(seed ^ 0x6e66_7467_656e);
    let mut g = NftGen { tables: Vec::new() };
    let ntables = rng.range(1, 3);
    for ti in 0..ntables {
        let family = *rng.pick(&["inet", "inet", "ip", "ip6"]);
        let mut t = NTable {
            family,
            name: format!("t{ti}"),
            sets: Vec::new(),
            chains: Vec::new(),
        };
        let nat_table = rng.chance(25);
        let hooks: Vec<Hook> = if nat_table {
            let mut h = vec![Hook::Prerouting];
            if rng.chance(70) {
                h.push(Hook::Postrouting);
            }
            if rng.chance(30) {
                h.push(Hook::Output);
            }
            h
        } else {
            let all = [
                Hook::Prerouting,
                Hook::Input,
                Hook::Forward,
                Hook::Output,
                Hook::Postrouting,
            ];
            let n = rng.range(1, 3);
            let mut hs: Vec<Hook> = Vec::new();
            for _ in 0..n {
                let h = if rng.chance(50) {
                    Hook::Forward
                } else {
                    *rng.pick(&all)
                };
                if !hs.contains(&h) {
                    hs.push(h);
                }
            }
            hs
        };
        // Regular chains (filter tables only), reached from the first base chain.
        let regular: Vec<String> = if nat_table {
            Vec::new()
        } else {
            (0..rng.below(3)).map(|i| format!("sub{i}")).collect()
        };
        let offer = gen_sets(&mut t, &mut rng, &regular);
        for (i, h) in hooks.iter().enumerate() {
            let (ty, prio) = if nat_table {
                let p = match h {
                    // nft accepts the name `dstnat` in prerouting only.
                    Hook::Prerouting => *rng.pick(&["dstnat", "dstnat + 5", "-100"]),
                    Hook::Output => *rng.pick(&["-100", "-95"]),
                    _ => *rng.pick(&["srcnat", "100", "srcnat - 5"]),
                };
                ("nat", p.to_string())
            } else {
                let p = *rng.pick(&["filter", "-150", "-10", "10", "filter + 5", "mangle"]);
                ("filter", p.to_string())
            };
            let policy = if !nat_table && rng.chance(20) {
                "drop"
            } else {
                "accept"
            };
            t.chains.push(NChain {
                name: format!("c{i}_{h}"),
                head: Some(format!(
                    "type {ty} hook {h} priority {prio}; policy {policy};"
                )),
                hook: *h,
                nat: nat_table,
                rules: Vec::new(),
            });
        }
        let first_hook = hooks.first().copied().unwrap_or(Hook::Forward);
        for r in &regular {
            t.chains.push(NChain {
                name: r.clone(),
                head: None,
                hook: first_hook,
                nat: false,
                rules: Vec::new(),
            });
        }
        // Rules. Only the first base chain jumps to regular chains (their hook is its hook).
        let nchains = t.chains.len();
        for ci in 0..nchains {
            let nrules = rng.range(1, 4);
            let jump_targets: Vec<String> = if ci == 0 {
                regular.clone()
            } else {
                // A regular chain may continue to a later one (no loops).
                let me = &t.chains[ci].name;
                match regular.iter().position(|r| r == me) {
                    Some(p) => regular[p + 1..].to_vec(),
                    None => Vec::new(),
                }
            };
            for _ in 0..nrules {
                let v6 = match family {
                    "ip" => false,
                    "ip6" => true,
                    _ => rng.chance(30),
                };
                let chain = t.chains[ci].clone();
                let mut proto = None;
                let mut conds = Vec::new();
                for _ in 0..rng.below(3) {
                    conds.push(gen_cond(&mut rng, chain.hook, v6, &offer, &mut proto));
                }
                // NAT chains are hook-specific in what they accept: keep them simple.
                if chain.nat && proto.is_none() && rng.chance(60) {
                    proto = Some(6);
                    let p = *rng.pick(&[22u16, 80, 1222]);
                    conds.push(cond(
                        format!("tcp dport {p}"),
                        vec![Hint::Proto(6), Hint::Dport(p)],
                    ));
                }
                let jt: Vec<String> = if ci == 0 || chain.head.is_none() {
                    jump_targets.clone()
                } else {
                    Vec::new()
                };
                let mut stmt = gen_stmt(&mut rng, &chain, family, proto, v6, &jt, &offer);
                // A regular chain that is not the first base chain's may not jump: map
                // verdicts naming regular chains are only used from chain 0.
                if ci != 0 && stmt.contains("vmap @") {
                    stmt = "accept".into();
                }
                if stmt.starts_with("jump") || stmt.starts_with("goto") {
                    let target = stmt.split_whitespace().nth(1).unwrap_or("");
                    if !jt.iter().any(|j| j == target) {
                        stmt = "accept".into();
                    }
                }
                let rule = NRule { conds, stmt, v6 };
                if needs_l4(&rule) {
                    continue;
                }
                t.chains[ci].rules.push(rule);
            }
        }
        // A vmap naming a regular chain is only reachable from chain 0: drop such maps'
        // users elsewhere (done above); keep the map declared either way.
        g.tables.push(t);
    }
    g
}

// ---- packets ----

fn apply(p: &mut Packet, h: &Hint) {
    match h {
        Hint::Src(a) if a.is_ipv6() == p.is_ipv6() => p.src = *a,
        Hint::Dst(a) if a.is_ipv6() == p.is_ipv6() => p.dst = *a,
        Hint::Proto(n) => {
            let (s, d) = p.l4.ports().unwrap_or((40000, 80));
            let v6 = p.is_ipv6();
            p.l4 = match n {
                6 => L4::Tcp {
                    sport: s,
                    dport: d,
                    flags: match p.l4 {
                        L4::Tcp { flags, .. } => flags,
                        _ => TcpFlags::SYN,
                    },
                },
                17 => L4::Udp { sport: s, dport: d },
                1 if !v6 => L4::Icmp {
                    icmp_type: 8,
                    code: 0,
                    id: s,
                },
                58 if v6 => L4::Icmpv6 {
                    icmp_type: 128,
                    code: 0,
                    id: s,
                },
                _ => p.l4,
            };
            p.len = p.minimal_len();
        }
        Hint::Sport(x) => {
            if let Some((_, d)) = p.l4.ports() {
                p.l4 = p.l4.with_ports(*x, d);
            }
        }
        Hint::Dport(x) => {
            if let Some((s, _)) = p.l4.ports() {
                p.l4 = p.l4.with_ports(s, *x);
            }
        }
        Hint::Iif(n) if p.iif.is_some() => p.iif = Some(n.clone()),
        Hint::TcpFlags(f) => {
            if let L4::Tcp { sport, dport, .. } = p.l4 {
                p.l4 = L4::Tcp {
                    sport,
                    dport,
                    flags: TcpFlags(*f),
                };
                p.len = p.minimal_len();
            }
        }
        _ => {}
    }
}

/// The model rule of generated rule `ri` of chain `ci` in table `ti`.
fn model_ref(g: &NftGen, rs: &Ruleset, ti: usize, ci: usize, ri: usize) -> Option<RuleRef> {
    let t = &g.tables[ti];
    let mt = rs.table(model::Family::from_name(t.family)?, &t.name)?;
    let mc = rs.tables[mt].chain(&t.chains[ci].name)?;
    let range = rs.tables[mt].chains[mc].rules_of_source_number(ri + 1);
    (!range.is_empty()).then_some(RuleRef {
        table: mt,
        chain: mc,
        rule: range.start,
    })
}

/// `n` packets for a loaded ruleset: aimed at each rule in turn (the plain comparisons by
/// [`aim::aim`], set lookups and protocols by the rule's hints), some perturbed, a few
/// random; every one a distinct flow.
pub fn packets(g: &NftGen, rs: &Ruleset, topo: &Topology, n: usize, rng: &mut Rng) -> Vec<Packet> {
    let mut targets = Vec::new();
    for (ti, t) in g.tables.iter().enumerate() {
        for (ci, c) in t.chains.iter().enumerate() {
            for ri in 0..c.rules.len() {
                targets.push((ti, ci, ri));
            }
        }
    }
    let mut used = BTreeSet::new();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut fixes_sport = false;
        let mut p = if targets.is_empty() || i + 2 >= n {
            aim::random_packet(topo, rng.chance(30), rng)
        } else {
            let (ti, ci, ri) = targets[i % targets.len()];
            let rule = &g.tables[ti].chains[ci].rules[ri];
            let mut p = match model_ref(g, rs, ti, ci, ri) {
                Some(at) => aim::aim(rs, at, topo, rule.v6, rng),
                None => aim::random_packet(topo, rule.v6, rng),
            };
            for c in &rule.conds {
                for h in &c.hints {
                    fixes_sport |= matches!(h, Hint::Sport(_));
                    apply(&mut p, h);
                }
            }
            if rng.chance(25) {
                p = aim::perturb(&p, topo, rng);
            }
            p
        };
        // A forwarded or received packet never comes from the router's own address.
        if p.iif.is_some() && topo.local_addrs(p.is_ipv6()).contains(&p.src) {
            p.src = match p.src {
                IpAddr::V4(_) => "10.1.1.77".parse().expect("address"),
                IpAddr::V6(_) => "fd00:1:1::77".parse().expect("address"),
            };
        }
        aim::uniquify(&mut p, &mut used, !fixes_sport);
        out.push(p);
    }
    out
}

impl Generated for NftGen {
    fn to_text(&self) -> String {
        NftGen::to_text(self)
    }
    fn shrink_candidates(&self) -> Vec<Self> {
        NftGen::shrink_candidates(self)
    }
    fn source(&self) -> (SourceFile, Family) {
        (
            SourceFile::new("generated.nft", self.to_text()),
            Family::Inet,
        )
    }
    fn parse(src: &SourceFile) -> Option<Ruleset> {
        frontends::nft::parse_text(src).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_rulesets_parse_and_shrink() {
        for seed in 1..200 {
            let g = generate(seed);
            let text = g.to_text();
            let src = model::SourceFile::new("g.nft", text.clone());
            let rs = frontends::nft::parse_text(&src)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
            assert!(rs.tables.len() == g.tables.len(), "seed {seed}");
            for c in g.shrink_candidates().iter().take(5) {
                let t = c.to_text();
                frontends::nft::parse_text(&model::SourceFile::new("g.nft", t.clone()))
                    .unwrap_or_else(|e| panic!("seed {seed} shrunk: {e}\n{t}"));
            }
        }
    }
}
