//! Cross-check of the two front ends (issue 4): the `iptables -> nft` translation pairs of
//! the iptables test suite (`../shared/corpus/netfilter-iptables/extensions/*.txlate`).
//!
//! Each IPv4/IPv6 pair becomes two one-rule rulesets, the iptables rule through the
//! iptables-save front end and its translation through the nft front end, each in the same
//! table and chain (an iptables-nft chain at its standard priority) followed by a rule with
//! a verdict distinct from the tested rule's. Packets are generated from the conditions of
//! both lowered rules: one satisfying every condition, then for every condition the values
//! just around its constants (inside and outside prefixes, ranges, sets, masks, names).
//! Both rulesets are simulated on the same host; per packet the tested rule's event (did it
//! match, with which verdict), the fate, the packet after NAT/mangling and the log lines
//! must be the same. A pair is skipped, with its reason counted, when it is not a rule
//! (`-F`), has no translation, a front end refuses either side, or every packet met an
//! Unknown on the path (rate limits, sockets, unmodelled modules).
//!
//! A disagreement is a bug in a front end or the engine: the test fails on any that is
//! not listed in [`KNOWN`] (translations the iptables suite itself documents as inexact).
//! The corpus is data of its own (GPL-2.0, never copied here): absent, the test says so
//! and passes.
#![allow(clippy::print_stderr)]

use engine::{Event, Fate, Options, Outcome, TraceVerdict};
use model::expr::{Key, Pattern, SetRef, Test, Value};
use model::packet::{IpProto, Mac, PktType};
use model::ruleset::Step;
use model::{ChainRef, Family, Host, Packet, Ruleset, SourceFile, TcpFlags, L4};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

/// Pairs whose translation is not equivalent by construction (the translator's choice, not
/// a bug of ours), with the reason. Matched on the iptables command line.
const KNOWN: &[(&str, &str)] = &[
    (
        "-I OUTPUT -p tcp --sport 0:65535 -j ACCEPT",
        "the full port range is dropped from the translation; xt `tcp` never matches a \
         later IPv4 fragment, nft `meta l4proto tcp` does",
    ),
    (
        "-I OUTPUT -p udp --sport 0:65535 -j ACCEPT",
        "the full port range is dropped from the translation; xt `udp` never matches a \
         later IPv4 fragment, nft `meta l4proto udp` does",
    ),
    (
        "-A INPUT -j TOS --set-tos 0x1f",
        "ip6tables TOS sets the whole traffic class byte (ECN bits too); the translation \
         `ip6 dscp set` keeps the ECN bits",
    ),
    (
        "-A INPUT -j TOS --set-tos 0xff",
        "ip6tables TOS sets the whole traffic class byte (ECN bits too); the translation \
         `ip6 dscp set` keeps the ECN bits",
    ),
    (
        "-A INPUT -j TOS --set-tos Minimize-Cost",
        "Minimize-Cost is 0x02, an ECN bit: ip6tables TOS sets it, the translation \
         `ip6 dscp set 0x00` cannot",
    ),
];

/// One translation pair.
#[derive(Debug, Clone)]
struct Pair {
    file: String,
    line: usize,
    v6: bool,
    /// The iptables arguments after the program name.
    ipt: String,
    /// The nft commands (quotes removed), in order.
    nft: Vec<String>,
}

/// Reads the pairs of one `.txlate` file (IPv4/IPv6 ones only; `others` counts the rest).
fn read_pairs(path: &Path, others: &mut usize) -> Vec<Pair> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out: Vec<Pair> = Vec::new();
    let mut cur: Option<Pair> = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        let cmd = [
            "iptables-translate ",
            "ip6tables-translate ",
            "iptables ",
            "ip6tables ",
        ]
        .iter()
        .find(|p| l.starts_with(**p));
        if let Some(p) = cmd {
            out.extend(cur.take());
            cur = Some(Pair {
                file: file.clone(),
                line: i + 1,
                v6: p.starts_with("ip6"),
                ipt: l[p.len()..].trim().to_string(),
                nft: Vec::new(),
            });
        } else if let Some(rest) = l.strip_prefix("nft ") {
            if let Some(c) = cur.as_mut() {
                let rest = rest.trim();
                let unq = rest
                    .strip_prefix('\'')
                    .map(|r| r.strip_suffix('\'').unwrap_or(r))
                    .unwrap_or(rest);
                c.nft.push(unq.to_string());
            }
        } else if l.starts_with("ebtables-translate") || l.starts_with("arptables-translate") {
            out.extend(cur.take());
            *others += 1;
        } else if l.is_empty() {
            out.extend(cur.take());
        }
    }
    out.extend(cur);
    out
}

/// Why a pair was not compared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Skip {
    NotARule,
    Untranslated,
    IptablesFrontEnd,
    NftFrontEnd,
    UnknownOnPath,
}

/// Where the rule sits: table, chain and the hook that runs it.
#[derive(Debug, Clone)]
struct Place {
    table: String,
    chain: String,
    /// The built-in chain of the hook (equal to `chain`, or the base chain that jumps to a
    /// user chain such as the suite's lowercase `postrouting`).
    base: String,
}

/// Splits `-t nat -A POSTROUTING ...` into the place and the rule's own arguments.
fn split_ipt(args: &str) -> Option<(Place, String)> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let mut table = "filter".to_string();
    let mut chain = None;
    let mut rest = Vec::new();
    let mut i = 0;
    while i < words.len() {
        match words[i] {
            "-t" | "--table" => {
                table = words.get(i + 1)?.to_string();
                i += 2;
            }
            "-A" | "--append" | "-I" | "--insert" => {
                chain = Some(words.get(i + 1)?.to_string());
                i += 2;
                // `-I CHAIN 1`
                if words.get(i).is_some_and(|w| w.parse::<u32>().is_ok()) {
                    i += 1;
                }
            }
            w => {
                rest.push(w);
                i += 1;
            }
        }
    }
    let chain = chain?;
    let base = chain.to_ascii_uppercase();
    if !matches!(
        base.as_str(),
        "PREROUTING" | "INPUT" | "FORWARD" | "OUTPUT" | "POSTROUTING"
    ) {
        return None;
    }
    Some((Place { table, chain, base }, rest.join(" ")))
}

/// The nft base chain iptables-nft registers for a table's built-in chain.
fn nft_base(table: &str, chain: &str) -> Option<String> {
    let hook = chain.to_ascii_lowercase();
    let builtin = match table {
        "filter" | "security" => &["INPUT", "FORWARD", "OUTPUT"][..],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"][..],
        "raw" => &["PREROUTING", "OUTPUT"][..],
        _ => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"][..],
    };
    // The suite sometimes names a chain the table does not have (`-A PREROUTING` in
    // filter): iptables refuses such a rule.
    if !builtin.contains(&chain) {
        return None;
    }
    let (ty, prio) = match (table, chain) {
        ("filter", _) => ("filter", 0),
        ("nat", "PREROUTING" | "OUTPUT") => ("nat", -100),
        ("nat", _) => ("nat", 100),
        ("mangle", "OUTPUT") => ("route", -150),
        ("mangle", _) => ("filter", -150),
        ("raw", _) => ("filter", -300),
        ("security", _) => ("filter", 50),
        _ => return None,
    };
    Some(format!(
        "type {ty} hook {hook} priority {prio}; policy accept;"
    ))
}

/// Whether the iptables rule ends with a dropping verdict (then the chain ends accepting).
fn drops(rule: &str) -> bool {
    let w: Vec<&str> = rule.split_whitespace().collect();
    w.windows(2)
        .any(|p| matches!(p[0], "-j" | "--jump") && matches!(p[1], "DROP" | "REJECT"))
}

/// The two rulesets of a pair, as text.
fn rulesets(pair: &Pair) -> Result<(String, String, Place), Skip> {
    let (place, rule) = split_ipt(&pair.ipt).ok_or(Skip::NotARule)?;
    let rules: Vec<&String> = pair.nft.iter().filter(|c| !c.starts_with('#')).collect();
    if rules.is_empty() {
        return Err(Skip::Untranslated);
    }
    if !rules
        .iter()
        .any(|c| c.starts_with("add rule") || c.starts_with("insert rule"))
    {
        return Err(Skip::NotARule);
    }
    let filtering = matches!(
        place.table.as_str(),
        "filter" | "mangle" | "raw" | "security"
    );
    let (ipt_end, nft_end) = if !filtering {
        (None, None)
    } else if drops(&rule) {
        (Some("-j ACCEPT"), Some("accept"))
    } else {
        (Some("-j DROP"), Some("drop"))
    };
    let user = place.chain != place.base;
    // iptables-save text.
    let mut ipt = format!("*{}\n:{} ACCEPT [0:0]\n", place.table, place.base);
    if user {
        ipt.push_str(&format!(":{} - [0:0]\n", place.chain));
        ipt.push_str(&format!("-A {} -j {}\n", place.base, place.chain));
    }
    ipt.push_str(&format!("-A {} {rule}\n", place.chain));
    if let Some(e) = ipt_end {
        ipt.push_str(&format!("-A {} {e}\n", place.chain));
    }
    ipt.push_str("COMMIT\n");
    // nft text: the table and chains, then the translation's commands as given.
    let fam = if pair.v6 { "ip6" } else { "ip" };
    let head = nft_base(&place.table, &place.base).ok_or(Skip::NotARule)?;
    let mut nft = format!(
        "table {fam} {} {{\n\tchain {} {{\n\t\t{head}\n",
        place.table, place.base
    );
    if user {
        nft.push_str(&format!(
            "\t\tjump {}\n\t}}\n\tchain {} {{\n",
            place.chain, place.chain
        ));
    }
    nft.push_str("\t}\n}\n");
    for c in &rules {
        nft.push_str(c);
        nft.push('\n');
    }
    if let Some(e) = nft_end {
        nft.push_str(&format!(
            "add rule {fam} {} {} {e}\n",
            place.table, place.chain
        ));
    }
    Ok((ipt, nft, place))
}

// ---- packets ----

/// A packet under construction: every field a rule can ask about.
#[derive(Debug, Clone, PartialEq)]
struct Draft {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
    flags: u8,
    itype: u8,
    icode: u8,
    ttl: u8,
    tos: u8,
    len: Option<u16>,
    mark: u32,
    iif: Option<String>,
    oif: Option<String>,
    pkttype: PktType,
    src_mac: Option<Mac>,
    uid: Option<u32>,
    gid: Option<u32>,
    later_fragment: bool,
}

impl Draft {
    fn base(v6: bool, hook: &str) -> Draft {
        let (src, dst): (IpAddr, IpAddr) = if v6 {
            (
                "2001:db8:1::10".parse().unwrap(),
                "2001:db8:2::20".parse().unwrap(),
            )
        } else {
            (
                "192.0.2.10".parse().unwrap(),
                "198.51.100.20".parse().unwrap(),
            )
        };
        let (iif, oif) = match hook {
            "PREROUTING" | "INPUT" => (Some("lan0"), None),
            "OUTPUT" => (None, Some("wan0")),
            _ => (Some("lan0"), Some("wan0")),
        };
        Draft {
            src,
            dst,
            proto: 6,
            sport: 40000,
            dport: 80,
            flags: 0x02,
            itype: if v6 { 128 } else { 8 },
            icode: 0,
            ttl: 64,
            tos: 0,
            len: None,
            mark: 0,
            iif: iif.map(str::to_string),
            oif: oif.map(str::to_string),
            pkttype: PktType::Unicast,
            src_mac: None,
            uid: None,
            gid: None,
            later_fragment: false,
        }
    }

    fn packet(&self) -> Packet {
        let v6 = self.dst.is_ipv6();
        let l4 = match self.proto {
            6 => L4::Tcp {
                sport: self.sport,
                dport: self.dport,
                flags: TcpFlags(self.flags),
            },
            17 => L4::Udp {
                sport: self.sport,
                dport: self.dport,
            },
            132 => L4::Sctp {
                sport: self.sport,
                dport: self.dport,
            },
            1 if !v6 => L4::Icmp {
                icmp_type: self.itype,
                code: self.icode,
                id: self.sport,
            },
            58 if v6 => L4::Icmpv6 {
                icmp_type: self.itype,
                code: self.icode,
                id: self.sport,
            },
            n => L4::Other(IpProto::from_number(n)),
        };
        let mut p = Packet::new(self.src, self.dst, l4);
        p.ttl = self.ttl;
        p.tos = self.tos;
        if let Some(l) = self.len {
            p.len = l.max(p.minimal_len());
        }
        p.mark = self.mark;
        p.iif = self.iif.clone();
        p.oif = self.oif.clone();
        p.pkttype = self.pkttype;
        p.src_mac = self.src_mac;
        p.uid = self.uid;
        p.gid = self.gid;
        if self.later_fragment && !v6 {
            p.fragment = model::packet::Fragment::Later { offset: 185 };
        }
        p
    }

    /// Sets the field `key` reads to `v`; false when the key is not a packet field or the
    /// value does not fit it.
    fn set(&mut self, key: Key, v: &Value, hook: &str) -> bool {
        let int = |v: &Value| match v {
            Value::Int(n) => Some(*n),
            _ => None,
        };
        let v6 = self.dst.is_ipv6();
        match key {
            Key::SrcAddr | Key::DstAddr => match v {
                Value::Addr(a) if a.is_ipv6() == v6 => {
                    if key == Key::SrcAddr {
                        self.src = *a;
                    } else {
                        self.dst = *a;
                    }
                    true
                }
                _ => false,
            },
            Key::IifName | Key::OifName => {
                let Value::Str(s) = v else { return false };
                // Only where the hook has that device: otherwise the packet takes another
                // path and never meets the rule.
                let has = if key == Key::IifName {
                    hook != "OUTPUT"
                } else {
                    !matches!(hook, "PREROUTING" | "INPUT")
                };
                // Names the kernel refuses (`dev_valid_name`): the translation of `! -i +`
                // matches one on purpose ("INVAL/D") so that it never matches.
                let invalid = s.is_empty()
                    || s.len() > 15
                    || s == "."
                    || s == ".."
                    || s.contains(['/', ':'])
                    || s.contains(char::is_whitespace);
                if !has || invalid {
                    return false;
                }
                if key == Key::IifName {
                    self.iif = Some(s.clone());
                } else {
                    self.oif = Some(s.clone());
                }
                true
            }
            Key::EtherSrc => match v {
                Value::Mac(m) if hook != "OUTPUT" => {
                    self.src_mac = Some(*m);
                    true
                }
                _ => false,
            },
            _ => {
                let Some(n) = int(v) else { return false };
                let fits = |max: u64| n <= max;
                match key {
                    Key::L4Proto if fits(255) => self.proto = n as u8,
                    Key::SrcPort if fits(65535) => self.sport = n as u16,
                    Key::DstPort if fits(65535) => self.dport = n as u16,
                    Key::TcpFlags if fits(255) => self.flags = n as u8,
                    Key::IcmpType | Key::Icmpv6Type if fits(255) => self.itype = n as u8,
                    Key::IcmpCode | Key::Icmpv6Code if fits(255) => self.icode = n as u8,
                    Key::Ttl if (1..=255).contains(&n) => self.ttl = n as u8,
                    Key::Tos if fits(255) => self.tos = n as u8,
                    Key::Dscp if fits(63) => self.tos = (n as u8) << 2 | (self.tos & 3),
                    Key::Length if (20..=1500).contains(&n) => self.len = Some(n as u16),
                    Key::Mark if fits(u64::from(u32::MAX)) => self.mark = n as u32,
                    Key::PktType if fits(3) => {
                        self.pkttype = match n {
                            0 => PktType::Unicast,
                            1 => PktType::Broadcast,
                            2 => PktType::Multicast,
                            _ => PktType::OtherHost,
                        }
                    }
                    Key::SkUid if hook == "OUTPUT" && fits(65535) => self.uid = Some(n as u32),
                    Key::SkGid if hook == "OUTPUT" && fits(65535) => self.gid = Some(n as u32),
                    _ => return false,
                }
                true
            }
        }
    }
}

fn addr_add(a: IpAddr, d: i128) -> IpAddr {
    match a {
        IpAddr::V4(x) => IpAddr::V4(
            (u32::from(x) as i128 + d)
                .clamp(0, u32::MAX as i128)
                .try_into()
                .map(u32::into)
                .unwrap_or(x),
        ),
        IpAddr::V6(x) => IpAddr::V6(((u128::from(x) as i128).wrapping_add(d) as u128).into()),
    }
}

fn value_near(v: &Value) -> Vec<Value> {
    match v {
        Value::Int(n) => vec![
            Value::Int(*n),
            Value::Int(n + 1),
            Value::Int(n.saturating_sub(1)),
        ],
        Value::Addr(a) => vec![
            Value::Addr(*a),
            Value::Addr(addr_add(*a, 1)),
            Value::Addr(addr_add(*a, -1)),
        ],
        Value::Str(s) => vec![Value::Str(s.clone()), Value::Str(format!("{s}x"))],
        Value::Mac(m) => {
            let mut o = m.0;
            o[5] = o[5].wrapping_add(1);
            vec![Value::Mac(*m), Value::Mac(Mac(o))]
        }
    }
}

/// Values just inside and just outside what a pattern accepts.
fn candidates(p: &Pattern) -> Vec<Value> {
    match p {
        Pattern::Value(v) => value_near(v),
        Pattern::Prefix(net) => {
            let (lo, hi) = (net.network(), net.broadcast());
            vec![
                Value::Addr(lo),
                Value::Addr(addr_add(lo, 1)),
                Value::Addr(hi),
                Value::Addr(addr_add(hi, 1)),
                Value::Addr(addr_add(lo, -1)),
            ]
        }
        Pattern::Range(a, b) => {
            let mut v = value_near(a);
            v.extend(value_near(b));
            v
        }
        Pattern::Masked { mask, value } => {
            let low = mask & mask.wrapping_neg();
            vec![
                Value::Int(*value),
                Value::Int(value ^ low),
                Value::Int(value | (!mask & 0xffff_ffff)),
                Value::Int(0),
                Value::Int(*mask),
            ]
        }
        Pattern::AnyBit(b) => {
            let low = b & b.wrapping_neg();
            vec![
                Value::Int(*b),
                Value::Int(low),
                Value::Int(0),
                Value::Int(!b & 0xff),
            ]
        }
        Pattern::Compare(_, v) => value_near(v),
        Pattern::Iface(s) => match s.strip_suffix('+') {
            Some(pre) => vec![
                Value::Str(format!("{pre}0")),
                Value::Str(pre.to_string()),
                Value::Str(format!("x{pre}0")),
            ],
            None => vec![Value::Str(s.clone()), Value::Str(format!("{s}x"))],
        },
        Pattern::OneOf(ps) => ps.iter().take(6).flat_map(candidates).collect(),
    }
}

/// One condition of a rule: the fields it reads and candidate value tuples for them.
struct Cond {
    keys: Vec<Key>,
    negated: bool,
    /// Patterns per key whose candidates are tried (a set's elements: one tuple each).
    tuples: Vec<Vec<Pattern>>,
    /// `-f` / `ip frag-off & 0x1fff != 0`.
    fragment: bool,
}

fn conds_of(rs: &Ruleset, chain: ChainRef, out: &mut Vec<Cond>) {
    let c = rs.chain_at(chain);
    for (i, r) in c.rules.iter().enumerate() {
        if c.source_rule_number(i) != 1 {
            continue;
        }
        for s in &r.body {
            let Step::Match(m) = s else { continue };
            match &m.test {
                Test::Cmp { key, pattern } => out.push(Cond {
                    keys: vec![*key],
                    negated: m.negated,
                    tuples: vec![vec![pattern.clone()]],
                    fragment: false,
                }),
                Test::InSet {
                    keys,
                    set: SetRef::Table(name),
                } => {
                    let Some(set) = rs.tables[chain.table].set(name) else {
                        continue;
                    };
                    out.push(Cond {
                        keys: keys.clone(),
                        negated: m.negated,
                        tuples: set.elements.iter().take(6).map(|e| e.key.clone()).collect(),
                        fragment: false,
                    });
                }
                Test::LaterFragment => out.push(Cond {
                    keys: vec![],
                    negated: m.negated,
                    tuples: vec![],
                    fragment: true,
                }),
                _ => {}
            }
        }
    }
}

fn val_of(v: &Value) -> engine::eval::Val<'_> {
    match v {
        Value::Int(n) => engine::eval::Val::Int(*n),
        Value::Addr(a) => engine::eval::Val::Addr(*a),
        Value::Mac(m) => engine::eval::Val::Mac(*m),
        Value::Str(s) => engine::eval::Val::Str(s),
    }
}

/// Packets for the conditions: one meant to satisfy all, then each condition's boundary
/// values applied to it, and a few TCP flag and protocol variations (conntrack state and
/// protocol conditions hang on them).
fn packets(conds: &[Cond], v6: bool, hook: &str) -> Vec<Packet> {
    let mut base = Draft::base(v6, hook);
    // Protocol first: ports and flags only exist for it.
    for pass in 0..2 {
        for c in conds {
            let first_is_proto = c.keys.first() == Some(&Key::L4Proto);
            if (pass == 0) != first_is_proto {
                continue;
            }
            if c.fragment {
                base.later_fragment = !c.negated;
                continue;
            }
            'tuples: for t in &c.tuples {
                let mut d = base.clone();
                for (k, p) in c.keys.iter().zip(t) {
                    let pick = candidates(p).into_iter().find(|v| {
                        engine::eval::pattern_matches(p, val_of(v)) != c.negated
                            && d.clone().set(*k, v, hook)
                    });
                    match pick {
                        Some(v) => {
                            d.set(*k, &v, hook);
                        }
                        None => continue 'tuples,
                    }
                }
                base = d;
                break;
            }
        }
    }
    let mut out = vec![base.clone()];
    for c in conds {
        if c.fragment {
            let mut d = base.clone();
            d.later_fragment = !d.later_fragment;
            out.push(d);
            continue;
        }
        for t in &c.tuples {
            for (i, (k, p)) in c.keys.iter().zip(t).enumerate() {
                for v in candidates(p) {
                    let mut d = base.clone();
                    // The other components of a tuple keep matching values.
                    for (j, (k2, p2)) in c.keys.iter().zip(t).enumerate() {
                        if j != i {
                            if let Some(v2) = candidates(p2)
                                .into_iter()
                                .find(|v| engine::eval::pattern_matches(p2, val_of(v)))
                            {
                                d.set(*k2, &v2, hook);
                            }
                        }
                    }
                    if d.set(*k, &v, hook) {
                        out.push(d);
                    }
                }
            }
        }
    }
    for flags in [0x10u8, 0x12, 0x04, 0x11, 0x18, 0x00, 0x3f] {
        let mut d = base.clone();
        d.proto = 6;
        d.flags = flags;
        out.push(d);
    }
    for proto in [17u8, if v6 { 58 } else { 1 }, 132, 47] {
        let mut d = base.clone();
        d.proto = proto;
        out.push(d);
    }
    if !v6 {
        let mut d = base.clone();
        d.later_fragment = !d.later_fragment;
        out.push(d);
    }
    let mut seen = Vec::new();
    out.into_iter()
        .map(|d| d.packet())
        .filter(|p| {
            let new = !seen.contains(p);
            if new {
                seen.push(p.clone());
            }
            new
        })
        .collect()
}

// ---- observations ----

/// What a packet's simulation shows about the tested rule and the packet.
#[derive(Debug, Clone, PartialEq)]
struct Obs {
    /// The tested rule's event: its verdict, or None when it did not match.
    rule: Option<String>,
    fate: String,
    after: String,
    logs: Vec<String>,
}

fn has_unknown(o: &Outcome) -> bool {
    o.branches.len() > 1
        || o.truncated
        || matches!(o.primary().fate, Fate::Undetermined { .. })
        || o.primary()
            .events
            .iter()
            .any(|e| matches!(e, Event::Unknown { .. }))
}

fn observe(rs: &Ruleset, tested: ChainRef, o: &Outcome) -> Obs {
    let t = o.primary();
    let chain = rs.chain_at(tested);
    let name = |c: &ChainRef| rs.chain_at(*c).name.clone();
    let rule = t.events.iter().find_map(|e| match e {
        Event::Rule { at, verdict, .. }
            if at.chain_ref() == tested && chain.source_rule_number(at.rule) == 1 =>
        {
            Some(match verdict {
                TraceVerdict::Jump(c) => format!("jump {}", name(c)),
                TraceVerdict::Goto(c) => format!("goto {}", name(c)),
                v => format!("{v:?}"),
            })
        }
        _ => None,
    });
    let fate = match &t.fate {
        Fate::Delivered { .. } => "delivered".to_string(),
        f => format!("{f:?}"),
    };
    let p = &t.final_packet;
    let after = format!(
        "{} -> {} {:?} mark {:#x} tos {:#x} ttl {}",
        p.src, p.dst, p.l4, p.mark, p.tos, p.ttl
    );
    let logs = t
        .logs
        .iter()
        .map(|l| format!("{:?} {}", l.kind, l.text))
        .collect();
    Obs {
        rule,
        fate,
        after,
        logs,
    }
}

fn tested_chain(rs: &Ruleset, fam: Family, place: &Place) -> Option<ChainRef> {
    let t = rs.table(fam, &place.table)?;
    let c = rs.tables[t].chain(&place.chain)?;
    Some(ChainRef { table: t, chain: c })
}

/// How one pair came out.
enum Result_ {
    Agree { packets: usize },
    Skip(Skip, String),
    Disagree(String),
}

fn check(pair: &Pair) -> Result_ {
    let (ipt, nft, place) = match rulesets(pair) {
        Ok(x) => x,
        Err(s) => return Result_::Skip(s, String::new()),
    };
    let fam = if pair.v6 { Family::Ip6 } else { Family::Ip };
    let a = match frontends::iptables_save::parse(
        &SourceFile::new("ipt.rules", ipt.clone()),
        Some(fam),
    ) {
        Ok(r) => r,
        Err(e) => return Result_::Skip(Skip::IptablesFrontEnd, e.to_string()),
    };
    let b = match frontends::nft::parse_text(&SourceFile::new("nft.rules", nft.clone())) {
        Ok(r) => r,
        Err(e) => return Result_::Skip(Skip::NftFrontEnd, e.to_string()),
    };
    let (Some(ca), Some(cb)) = (tested_chain(&a, fam, &place), tested_chain(&b, fam, &place))
    else {
        return Result_::Skip(Skip::NotARule, "tested chain missing".into());
    };
    let mut conds = Vec::new();
    conds_of(&a, ca, &mut conds);
    conds_of(&b, cb, &mut conds);
    let host = Host::default();
    let opts = Options::default();
    let mut compared = 0;
    let mut diffs = Vec::new();
    let mut packets_ = packets(&conds, pair.v6, &place.base);
    // POSTROUTING also sees locally generated packets.
    if place.base == "POSTROUTING" {
        let extra: Vec<Packet> = packets_
            .iter()
            .take(8)
            .map(|p| {
                let mut q = p.clone();
                q.iif = None;
                q
            })
            .collect();
        packets_.extend(extra);
    }
    for p in &packets_ {
        let oa = engine::simulate(&a, &host, p, &opts);
        let ob = engine::simulate(&b, &host, p, &opts);
        if has_unknown(&oa) || has_unknown(&ob) {
            continue;
        }
        compared += 1;
        let (x, y) = (observe(&a, ca, &oa), observe(&b, cb, &ob));
        if x != y && diffs.len() < 3 {
            diffs.push(format!(
                "  packet {p} in {:?} out {:?} mark {:#x} ttl {} tos {:#x} len {} frag {:?}\n    iptables: {x:?}\n    nft:      {y:?}",
                p.iif, p.oif, p.mark, p.ttl, p.tos, p.len, p.fragment
            ));
        }
    }
    if !diffs.is_empty() {
        return Result_::Disagree(format!(
            "{}:{} {}\n  nft: {}\n{}\n  ---- iptables ruleset\n{ipt}  ---- nft ruleset\n{nft}",
            pair.file,
            pair.line,
            pair.ipt,
            pair.nft.join(" ; "),
            diffs.join("\n")
        ));
    }
    if compared == 0 {
        return Result_::Skip(Skip::UnknownOnPath, String::new());
    }
    Result_::Agree { packets: compared }
}

#[test]
fn txlate_pairs_give_the_same_verdicts() {
    let dir = PathBuf::from(CORPUS).join("netfilter-iptables/extensions");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "SKIP: {} is absent (a fresh clone has no shared corpus)",
            dir.display()
        );
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txlate"))
        .collect();
    files.sort();
    let mut others = 0;
    let pairs: Vec<Pair> = files
        .iter()
        .flat_map(|f| read_pairs(f, &mut others))
        .collect();
    let start = std::time::Instant::now();
    let (mut agree, mut packets_total) = (0usize, 0usize);
    let mut skips: BTreeMap<Skip, Vec<String>> = BTreeMap::new();
    let mut known = Vec::new();
    let mut disagree = Vec::new();
    for pair in &pairs {
        match check(pair) {
            Result_::Agree { packets } => {
                agree += 1;
                packets_total += packets;
            }
            Result_::Skip(s, why) => skips
                .entry(s)
                .or_default()
                .push(format!("{}:{} {} {why}", pair.file, pair.line, pair.ipt)),
            Result_::Disagree(d) => match KNOWN.iter().find(|(cmd, _)| pair.ipt == *cmd) {
                Some((_, reason)) => known.push(format!("{d}\n  known: {reason}")),
                None => disagree.push(d),
            },
        }
    }
    let skipped: usize = skips.values().map(Vec::len).sum();
    eprintln!(
        "txlate: {} ip/ip6 pairs ({others} arp/bridge pairs not counted); {} compared \
         ({packets_total} packets), {agree} agree, {} disagree, {} known differences, \
         {skipped} skipped in {:.1}s",
        pairs.len(),
        agree + disagree.len() + known.len(),
        disagree.len(),
        known.len(),
        start.elapsed().as_secs_f64()
    );
    for (s, list) in &skips {
        eprintln!("  skipped {s:?}: {}", list.len());
        for l in list {
            eprintln!("    {l}");
        }
    }
    for k in &known {
        eprintln!("KNOWN {k}");
    }
    for d in &disagree {
        eprintln!("DISAGREE {d}");
    }
    assert!(
        disagree.is_empty(),
        "{} pair(s) disagree, see above",
        disagree.len()
    );
}
