//! Set, ipset and verdict-map lookups the packet met and missed, with the key it
//! presented and why that key is not in the set.
//!
//! A lookup is *met* when the rule's steps before it all matched, and *missed* when the
//! lookup itself then failed: both are read off probe runs of the engine (the rule cut
//! just before the lookup, and just after it), so this module never re-decides a match.
//! Only un-negated lookups are reported (a negated one fails when the key *is* found).
//!
//! The key is read back from the packet as the rule saw it (after NAT, with the devices
//! of the hook). A key the engine would compute differently (a key kind not read back
//! here, or one that reads back as *in* the set) is reported as not read.
//!
//! Kernel facts the mismatch kinds rest on (`net/netfilter/ipset/ip_set_core.c`,
//! `ip_set_test`): a rule giving fewer `src,dst` flags than the set type's dimensions, or a
//! packet of another family than the set's, never matches.

use super::probe::{cut, source_rules, visits, PacketAt, Sim};
use engine::eval::{pattern_matches, set_contains, Val};
use engine::Trace;
use model::expr::SetRef;
use model::ruleset::{IpsetDim, NamedSet, Step};
use model::{Hook, Key, Pattern, RuleRef, Ruleset, Test, Value, Verdict};
use std::collections::HashSet;
use std::net::IpAddr;

/// One lookup the packet met and missed.
#[derive(Debug, Clone, PartialEq)]
pub struct SetMiss {
    /// The rule holding the lookup (for a verdict map, its first element's model rule).
    pub rule: RuleRef,
    /// The hook the rule was met on.
    pub hook: Hook,
    /// What was looked up.
    pub lookup: Lookup,
    /// The set's type as declared (`ipv4_addr . inet_service`, `hash:ip,port`); empty for
    /// an anonymous verdict map.
    pub declared_type: String,
    /// How many elements the set held.
    pub elements: usize,
    /// The key the packet presented, one part per component in the set's order; empty
    /// when it could not be read back exactly (see the module doc).
    pub key: Vec<KeyPart>,
    /// The elements nearest to the key, nearest first (at most [`NEAREST`]).
    pub nearest: Vec<NearElement>,
    /// Why the key could not match, as far as the set and the packet say.
    pub mismatches: Vec<Mismatch>,
}

/// The kind of lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// An nft set of the rule's table (`@name`).
    Set {
        /// The set's name, without the `@`.
        name: String,
    },
    /// An ipset (`-m set --match-set NAME src,dst`).
    Ipset {
        /// The ipset's name.
        name: String,
        /// The rule's flags in order, `true` for `src`.
        src: Vec<bool>,
    },
    /// An nft verdict map (`KEY vmap @name` or `KEY vmap { .. }`): no element's key matched,
    /// so no verdict was taken.
    VerdictMap {
        /// The named map, `None` for an anonymous one.
        name: Option<String>,
    },
}

/// One component of the key the packet presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPart {
    /// What the component is read from.
    pub key: Key,
    /// Its value; `None` when the packet lacks it (no transport header, no MAC on output).
    pub value: Option<Value>,
}

/// An element of the set near the key.
#[derive(Debug, Clone, PartialEq)]
pub struct NearElement {
    /// The element's key, one pattern per component.
    pub key: Vec<Pattern>,
    /// Per component, whether the packet's key part matches it.
    pub matching: Vec<bool>,
    /// For a verdict map, the element's verdict.
    pub verdict: Option<Verdict>,
    /// An ipset `nomatch` element.
    pub nomatch: bool,
}

/// Why a key could not match.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// The rule reads fewer dimensions than the ipset's type has (`--match-set s src` on a
    /// `hash:ip,port` set): the kernel never matches.
    FewerDimensions {
        /// How many flags the rule gives.
        rule: usize,
        /// How many dimensions the set's type has.
        set: usize,
    },
    /// The key's address family is not the one of the set's address elements.
    Family {
        /// The key's address is IPv6.
        key_v6: bool,
    },
    /// The key read from the other side of the packet is in the set (`src` for `dst`, `ip
    /// saddr` for `ip daddr`, `iifname` for `oifname`).
    OtherDirection {
        /// The key components that would find an element, in the set's order.
        keys: Vec<Key>,
        /// For an ipset, the `--match-set` flags that would (`true` for `src`).
        ipset_flags: Option<Vec<bool>>,
    },
    /// The packet before address translation presented a key that is in the set: the set
    /// holds the pre-NAT address or port, the rule sees the translated one.
    Untranslated {
        /// That key.
        key: Vec<KeyPart>,
    },
    /// The key falls in an element marked `nomatch` (ipset), which excludes it.
    Excluded {
        /// The excluding element's key.
        element: Vec<Pattern>,
    },
    /// The set is updated from the packet path or its elements time out: its contents are
    /// those of the snapshot, and an element may have expired since it was added.
    Dynamic,
    /// The set had no element at all.
    Empty,
}

/// How many nearest elements a miss lists.
pub const NEAREST: usize = 3;

/// The most lookups per rule the probes follow.
const MAX_LOOKUPS_PER_RULE: usize = 4;

/// A lookup site in the ruleset.
struct Site {
    rule: RuleRef,
    /// The step index of the lookup's match (for a verdict map, of its key compare).
    step: usize,
    /// Which lookup of the rule it is (0 for the first).
    ordinal: usize,
    kind: SiteKind,
}

enum SiteKind {
    Set {
        keys: Vec<Key>,
        set: SetRef,
    },
    VerdictMap {
        key: Key,
        name: Option<String>,
        group: std::ops::Range<usize>,
    },
}

/// The lookups `trace`'s packet met and missed, in path order.
pub(super) fn find(sim: &Sim<'_>, trace: &Trace) -> Vec<SetMiss> {
    let matched: HashSet<RuleRef> = visits(trace).iter().map(|v| v.rule).collect();
    let sites = lookup_sites(sim.ruleset, &matched);
    let mut found: Vec<(usize, SetMiss)> = Vec::new();
    let mut seen = HashSet::new();
    for ordinal in 0..MAX_LOOKUPS_PER_RULE {
        let round: Vec<&Site> = sites
            .iter()
            .filter(|s| s.ordinal == ordinal && !assumed_false_before(sim, s))
            .collect();
        if round.is_empty() {
            break;
        }
        let mut met = sim.ruleset.clone();
        let mut hit = sim.ruleset.clone();
        for s in &round {
            cut(&mut met, s.rule, s.step);
            if matches!(s.kind, SiteKind::Set { .. }) {
                cut(&mut hit, s.rule, s.step + 1);
            }
        }
        let met_trace = sim.run(&met);
        let hits: HashSet<(RuleRef, usize)> = visits(&sim.run(&hit))
            .iter()
            .map(|v| (v.rule, v.hook_visit))
            .collect();
        for v in visits(&met_trace) {
            let Some(site) = round.iter().find(|s| s.rule == v.rule) else {
                continue;
            };
            // A verdict map's elements never matched on the original path (such groups
            // are not sites); a set lookup missed when the cut after it was not reached.
            let missed = match site.kind {
                SiteKind::Set { .. } => !hits.contains(&(v.rule, v.hook_visit)),
                SiteKind::VerdictMap { .. } => true,
            };
            if !missed || !seen.insert((v.rule, v.hook_visit, site.step)) {
                continue;
            }
            let at = PacketAt::of(&met_trace, v.event, v.hook);
            if let Some(miss) = describe(sim.ruleset, trace, site, &at) {
                found.push((v.event, miss));
            }
        }
    }
    found.sort_by_key(|(event, _)| *event);
    found.into_iter().map(|(_, m)| m).collect()
}

/// Whether the user forced an Unknown match before the lookup to fail (`--assume`): the
/// probe's cut rule would record that match as met, so the site is not probed.
fn assumed_false_before(sim: &Sim<'_>, site: &Site) -> bool {
    sim.options
        .assume
        .iter()
        .any(|(s, matched)| !matched && s.rule == site.rule && s.step < site.step)
}

/// Every lookup site of rules that did not match on the path: un-negated set and ipset
/// lookups, and single-key verdict maps. An Unknown match before a lookup takes its
/// default (matches) on the primary path, as it does on the probe's.
fn lookup_sites(ruleset: &Ruleset, matched: &HashSet<RuleRef>) -> Vec<Site> {
    let mut sites = Vec::new();
    for (ti, table) in ruleset.tables.iter().enumerate() {
        for (ci, chain) in table.chains.iter().enumerate() {
            for group in source_rules(chain) {
                let at = |rule| RuleRef {
                    table: ti,
                    chain: ci,
                    rule,
                };
                if let Some(site) = verdict_map_site(chain, group.clone(), matched, at(group.start))
                {
                    sites.push(site);
                } else {
                    for r in group {
                        if !matched.contains(&at(r)) {
                            set_sites(&chain.rules[r], at(r), &mut sites);
                        }
                    }
                }
            }
        }
    }
    sites
}

/// The un-negated set lookups of one rule, each with the steps before it decidable.
fn set_sites(rule: &model::Rule, at: RuleRef, sites: &mut Vec<Site>) {
    let mut ordinal = 0;
    for (step, s) in rule.body.iter().enumerate() {
        let Step::Match(m) = s else { continue };
        if let Test::InSet { keys, set } = &m.test {
            if !m.negated {
                sites.push(Site {
                    rule: at,
                    step,
                    ordinal,
                    kind: SiteKind::Set {
                        keys: keys.clone(),
                        set: set.clone(),
                    },
                });
                ordinal += 1;
            }
        }
    }
}

/// A verdict map lowered into one model rule per element (`KEY == k verdict`, sharing the
/// rule's origin and its steps before the map): a site when no element matched on the
/// path and the map has no catch-all.
fn verdict_map_site(
    chain: &model::Chain,
    group: std::ops::Range<usize>,
    matched: &HashSet<RuleRef>,
    first: RuleRef,
) -> Option<Site> {
    let rules = &chain.rules[group.clone()];
    let text = &rules.first()?.origin.text;
    let name = map_name(text);
    if !text.contains("vmap") {
        return None;
    }
    let mut key = None;
    let mut prefix: Option<&[Step]> = None;
    for (i, rule) in rules.iter().enumerate() {
        if matched.contains(&RuleRef {
            rule: group.start + i,
            ..first
        }) {
            return None;
        }
        let [head @ .., Step::Match(m), Step::Action(model::Action::Verdict(_))] =
            rule.body.as_slice()
        else {
            return None;
        };
        let Test::Cmp { key: k, .. } = &m.test else {
            return None;
        };
        if m.negated || key.is_some_and(|prev| prev != *k) || prefix.is_some_and(|p| p != head) {
            return None;
        }
        key = Some(*k);
        prefix = Some(head);
    }
    Some(Site {
        rule: first,
        step: prefix?.len(),
        ordinal: 0,
        kind: SiteKind::VerdictMap {
            key: key?,
            name,
            group,
        },
    })
}

/// `m` of a rule written `KEY vmap @m`.
fn map_name(text: &str) -> Option<String> {
    let rest = &text[text.find("vmap @")? + "vmap @".len()..];
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The set's elements as a lookup sees them.
enum Elements<'a> {
    Named(&'a NamedSet),
    /// An anonymous verdict map: one pattern per element, with its verdict.
    Anonymous(Vec<(Pattern, Verdict)>),
}

impl Elements<'_> {
    fn contains(&self, vals: &[Val<'_>]) -> bool {
        match self {
            Elements::Named(set) => set_contains(set, vals),
            Elements::Anonymous(elems) => {
                vals.len() == 1 && elems.iter().any(|(p, _)| pattern_matches(p, vals[0]))
            }
        }
    }
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn len(&self) -> usize {
        match self {
            Elements::Named(set) => set.elements.len(),
            Elements::Anonymous(elems) => elems.len(),
        }
    }
    fn list(&self) -> Vec<NearElement> {
        match self {
            Elements::Named(set) => set
                .elements
                .iter()
                .map(|e| NearElement {
                    key: e.key.clone(),
                    matching: Vec::new(),
                    verdict: match &e.data {
                        Some(model::ruleset::MapData::Verdict(v)) => Some(v.clone()),
                        _ => None,
                    },
                    nomatch: e.nomatch,
                })
                .collect(),
            Elements::Anonymous(elems) => elems
                .iter()
                .map(|(p, v)| NearElement {
                    key: vec![p.clone()],
                    matching: Vec::new(),
                    verdict: Some(v.clone()),
                    nomatch: false,
                })
                .collect(),
        }
    }
}

/// The miss at one site, as the packet `at` met it.
fn describe(ruleset: &Ruleset, trace: &Trace, site: &Site, at: &PacketAt) -> Option<SetMiss> {
    let table = ruleset.tables.get(site.rule.table)?;
    let (lookup, keys, elements, declared_type, dynamic, set_dims) = match &site.kind {
        SiteKind::Set {
            keys,
            set: SetRef::Table(name),
        } => {
            let set = table.set(name)?;
            (
                Lookup::Set { name: name.clone() },
                keys.clone(),
                Elements::Named(set),
                set.declared_type.clone(),
                set.dynamic,
                None,
            )
        }
        SiteKind::Set {
            set: SetRef::Ipset { name, src },
            ..
        } => {
            let set = ruleset.ipset(name)?;
            (
                Lookup::Ipset {
                    name: name.clone(),
                    src: src.clone(),
                },
                ipset_keys(&set.ipset_dims, src),
                Elements::Named(set),
                set.declared_type.clone(),
                set.dynamic,
                Some((src.len(), set.ipset_dims.len())),
            )
        }
        SiteKind::VerdictMap { key, name, group } => {
            let named = name.as_deref().and_then(|n| table.set(n));
            let elements = match named {
                Some(set) => Elements::Named(set),
                None => Elements::Anonymous(anonymous_map(
                    &table.chains[site.rule.chain].rules[group.clone()],
                )),
            };
            (
                Lookup::VerdictMap { name: name.clone() },
                vec![*key],
                elements,
                named.map(|s| s.declared_type.clone()).unwrap_or_default(),
                named.is_some_and(|s| s.dynamic),
                None,
            )
        }
    };
    let mut mismatches = Vec::new();
    if let Some((rule, set)) = set_dims {
        if rule < set {
            mismatches.push(Mismatch::FewerDimensions { rule, set });
        }
    }
    if elements.is_empty() {
        mismatches.push(Mismatch::Empty);
    }
    let key = read_key(at, &keys).filter(|key| {
        // Read back as *in* the set: the engine saw another key; say nothing about it.
        set_dims.is_some_and(|(rule, set)| rule < set) || !elements.contains(&vals(key))
    });
    let mut nearest = Vec::new();
    if let Some(key) = &key {
        nearest = nearest_elements(&elements, key);
        if let Some(m) = family_mismatch(&elements, key) {
            mismatches.push(m);
        }
        if let Some(e) = excluding_element(&elements, key) {
            mismatches.push(Mismatch::Excluded { element: e });
        }
        if set_dims.is_none_or(|(rule, set)| rule >= set) {
            if let Some(m) = other_direction(at, &keys, &elements, &lookup) {
                mismatches.push(m);
            }
            if at.translated {
                if let Some(before) = read_key(&at.untranslated(trace), &keys) {
                    if before != *key && elements.contains(&vals(&before)) {
                        mismatches.push(Mismatch::Untranslated { key: before });
                    }
                }
            }
        }
    }
    if dynamic {
        mismatches.push(Mismatch::Dynamic);
    }
    Some(SetMiss {
        rule: site.rule,
        hook: at.hook,
        lookup,
        declared_type,
        elements: elements.len(),
        key: key.unwrap_or_default(),
        nearest,
        mismatches,
    })
}

/// The keys an ipset lookup reads: per dimension the flag gives, its side of the packet
/// (a `port` dimension reads the protocol, then the port), as the engine does.
fn ipset_keys(dims: &[IpsetDim], src: &[bool]) -> Vec<Key> {
    let mut keys = Vec::new();
    for (dim, &is_src) in dims.iter().zip(src) {
        match (dim, is_src) {
            (IpsetDim::Ip, true) => keys.push(Key::SrcAddr),
            (IpsetDim::Ip, false) => keys.push(Key::DstAddr),
            (IpsetDim::Port, true) => keys.extend([Key::L4Proto, Key::SrcPort]),
            (IpsetDim::Port, false) => keys.extend([Key::L4Proto, Key::DstPort]),
            (IpsetDim::Mac, true) => keys.push(Key::EtherSrc),
            (IpsetDim::Mac, false) => keys.push(Key::EtherDst),
            (IpsetDim::Iface, true) => keys.push(Key::IifName),
            (IpsetDim::Iface, false) => keys.push(Key::OifName),
            (IpsetDim::Mark, _) => keys.push(Key::Mark),
        }
    }
    keys
}

/// The elements of an anonymous verdict map, from its lowered rules.
fn anonymous_map(rules: &[model::Rule]) -> Vec<(Pattern, Verdict)> {
    rules
        .iter()
        .filter_map(|r| match r.body.as_slice() {
            [.., Step::Match(m), Step::Action(model::Action::Verdict(v))] => match &m.test {
                Test::Cmp { pattern, .. } => Some((pattern.clone(), v.clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The key `keys` of the packet `at`; `None` when a component is one this module does not
/// read back.
fn read_key(at: &PacketAt, keys: &[Key]) -> Option<Vec<KeyPart>> {
    keys.iter()
        .map(|&key| read(at, key).map(|value| KeyPart { key, value }))
        .collect()
}

/// One key component of the packet `at`: `Some(None)` when the packet lacks it, `None`
/// when it is not read back here.
fn read(at: &PacketAt, key: Key) -> Option<Option<Value>> {
    let p = &at.packet;
    let int = |v: u64| Some(Some(Value::Int(v)));
    match key {
        Key::SrcAddr => Some(Some(Value::Addr(p.src))),
        Key::DstAddr => Some(Some(Value::Addr(p.dst))),
        Key::IifName => Some(Some(Value::Str(at.iif.clone()))),
        Key::OifName => Some(Some(Value::Str(at.oif.clone()))),
        Key::L4Proto => int(u64::from(p.proto().number())),
        Key::NfProto => int(if p.is_ipv6() { 10 } else { 2 }),
        Key::Mark => int(u64::from(p.mark)),
        Key::SrcPort | Key::DstPort => match (p.has_transport_header(), p.l4.ports()) {
            (true, Some((s, d))) => int(u64::from(if key == Key::SrcPort { s } else { d })),
            _ => Some(None),
        },
        Key::EtherSrc | Key::EtherDst => {
            let mac = if key == Key::EtherSrc {
                p.src_mac
            } else {
                p.dst_mac
            };
            match (at.hook, mac) {
                (Hook::Output | Hook::Postrouting | Hook::Egress, _) => Some(None),
                (_, Some(m)) => Some(Some(Value::Mac(m))),
                (_, None) => None,
            }
        }
        _ => None,
    }
}

/// The engine's view of a key (a missing component reads as nothing the set can hold).
fn vals(key: &[KeyPart]) -> Vec<Val<'_>> {
    key.iter()
        .map(|k| match &k.value {
            Some(Value::Int(i)) => Val::Int(*i),
            Some(Value::Addr(a)) => Val::Addr(*a),
            Some(Value::Mac(m)) => Val::Mac(*m),
            Some(Value::Str(s)) => Val::Str(s),
            None => Val::Str("\0absent"),
        })
        .collect()
}

/// The elements nearest to `key`: most components matching first, then the closest first
/// non-matching component.
fn nearest_elements(elements: &Elements<'_>, key: &[KeyPart]) -> Vec<NearElement> {
    let vals = vals(key);
    let mut scored: Vec<((usize, u128), NearElement)> = elements
        .list()
        .into_iter()
        .filter(|e| e.key.len() == key.len())
        .map(|mut e| {
            e.matching = e
                .key
                .iter()
                .zip(&vals)
                .map(|(p, v)| pattern_matches(p, *v))
                .collect();
            let matching = e.matching.iter().filter(|m| **m).count();
            let first_miss = e.matching.iter().position(|m| !m);
            let closeness = first_miss.map_or(u128::MAX, |i| closeness(&e.key[i], &key[i]));
            ((matching, closeness), e)
        })
        .collect();
    scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    scored.into_iter().take(NEAREST).map(|(_, e)| e).collect()
}

/// How close a pattern is to a key part: common leading bits for addresses, the inverse
/// distance for numbers, the common prefix for names.
fn closeness(pattern: &Pattern, part: &KeyPart) -> u128 {
    let anchor = match pattern {
        Pattern::Value(v) | Pattern::Range(v, _) => Some(v.clone()),
        Pattern::Prefix(net) => Some(Value::Addr(net.network())),
        Pattern::Iface(name) => Some(Value::Str(name.trim_end_matches('+').to_string())),
        _ => None,
    };
    match (anchor, &part.value) {
        (Some(Value::Addr(a)), Some(Value::Addr(b))) => common_bits(a, *b),
        (Some(Value::Int(a)), Some(Value::Int(b))) => u128::from(u64::MAX - a.abs_diff(*b)),
        (Some(Value::Str(a)), Some(Value::Str(b))) => {
            a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count() as u128
        }
        _ => 0,
    }
}

/// The number of leading bits two addresses of one family share (0 across families).
fn common_bits(a: IpAddr, b: IpAddr) -> u128 {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u128::from((u32::from(a) ^ u32::from(b)).leading_zeros()),
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            u128::from((u128::from(a) ^ u128::from(b)).leading_zeros())
        }
        _ => 0,
    }
}

/// The key's address family against the set's: a mismatch when every address element is
/// of the other family.
fn family_mismatch(elements: &Elements<'_>, key: &[KeyPart]) -> Option<Mismatch> {
    let (i, addr) = key.iter().enumerate().find_map(|(i, k)| match k.value {
        Some(Value::Addr(a)) => Some((i, a)),
        _ => None,
    })?;
    let families: Vec<bool> = elements
        .list()
        .iter()
        .filter_map(|e| match e.key.get(i)? {
            Pattern::Value(Value::Addr(a)) | Pattern::Range(Value::Addr(a), _) => Some(a.is_ipv6()),
            Pattern::Prefix(net) => Some(net.network().is_ipv6()),
            _ => None,
        })
        .collect();
    let key_v6 = addr.is_ipv6();
    (!families.is_empty() && families.iter().all(|&v6| v6 != key_v6))
        .then_some(Mismatch::Family { key_v6 })
}

/// The `nomatch` element the key falls in, when that is what excludes it.
fn excluding_element(elements: &Elements<'_>, key: &[KeyPart]) -> Option<Vec<Pattern>> {
    let vals = vals(key);
    elements
        .list()
        .into_iter()
        .find(|e| {
            e.nomatch
                && e.key.len() == vals.len()
                && e.key.iter().zip(&vals).all(|(p, v)| pattern_matches(p, *v))
        })
        .map(|e| e.key)
}

/// The key component read from the other side of the packet, if it has one.
fn swapped(key: Key) -> Option<Key> {
    Some(match key {
        Key::SrcAddr => Key::DstAddr,
        Key::DstAddr => Key::SrcAddr,
        Key::SrcPort => Key::DstPort,
        Key::DstPort => Key::SrcPort,
        Key::IifName => Key::OifName,
        Key::OifName => Key::IifName,
        Key::EtherSrc => Key::EtherDst,
        Key::EtherDst => Key::EtherSrc,
        _ => return None,
    })
}

/// The fewest components read from the other side that make the key one the set holds.
fn other_direction(
    at: &PacketAt,
    keys: &[Key],
    elements: &Elements<'_>,
    lookup: &Lookup,
) -> Option<Mismatch> {
    let swappable: Vec<usize> = (0..keys.len())
        .filter(|&i| swapped(keys[i]).is_some())
        .collect();
    if swappable.is_empty() || swappable.len() > 8 {
        return None;
    }
    let mut masks: Vec<u32> = (1..1u32 << swappable.len()).collect();
    masks.sort_by_key(|m| m.count_ones());
    for mask in masks {
        let mut other = keys.to_vec();
        for (bit, &i) in swappable.iter().enumerate() {
            if mask & (1 << bit) != 0 {
                other[i] = swapped(keys[i])?;
            }
        }
        let Some(key) = read_key(at, &other) else {
            continue;
        };
        if elements.contains(&vals(&key)) {
            let ipset_flags = match lookup {
                // A port dimension reads the protocol first: one flag per dimension.
                Lookup::Ipset { src, .. } => Some(
                    other
                        .iter()
                        .filter(|k| **k != Key::L4Proto)
                        .zip(src)
                        .map(|(k, &given)| match k {
                            Key::SrcAddr | Key::SrcPort | Key::EtherSrc | Key::IifName => true,
                            Key::DstAddr | Key::DstPort | Key::EtherDst | Key::OifName => false,
                            _ => given,
                        })
                        .collect(),
                ),
                _ => None,
            };
            return Some(Mismatch::OtherDirection {
                keys: other,
                ipset_flags,
            });
        }
    }
    None
}
