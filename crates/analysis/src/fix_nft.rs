//! Fixes in nft's own words, for packets blocked by a table that came from an nft listing.
//!
//! ## What it does
//! - When the deciding `drop` follows a rule that accepts on a set lookup
//!   (`ip daddr . tcp dport @allow_in accept`), the smallest change is an element:
//!   `nft add element inet filter allow_in { 192.168.70.10 . 22 }`, built from the packet's
//!   values as that hook sees them (after DNAT). [`element_fix`] adds it to a copy of the
//!   ruleset and re-simulates; it is offered only when the packet then passes.
//! - Otherwise an accept rule before the deciding rule, written as nft syntax
//!   ([`matches`]) and placed with `position HANDLE` when the listing had handles (`nft -a`,
//!   JSON), else `index N` (0-based, nft >= 0.9.3); see [`insert_command`]. The search
//!   itself (which place, several blocks) is shared with iptables in [`crate::fix`].
//!
//! ## Example
//! User story 2: DNAT 10.1.2.3:1222 -> 192.168.70.10:22, then `allowed_dnats` drops: the
//! fix is `nft add element inet filter allow_in { 192.168.70.10 . 22 }`, which opens tcp
//! to 192.168.70.10 port 22 wherever `@allow_in` is looked up.

use crate::callstack::call_stack;
use crate::fix::{Fix, FixRule, Position, Scope, FIX_SOURCE};
use crate::fix_facts::{ElementOpening, FixCaveat, Opens, RuleSite};
use engine::{Decider, Options, Outcome, RouteKind, Trace};
use model::expr::{Key, Pattern, SetRef, Test, Value};
use model::ruleset::{SetElement, Step};
use model::{
    Dialect, Family, Hook, Host, Packet, Rule, RuleRef, Ruleset, SourceFile, Table, Verdict, L4,
};

/// Whether `table` was read from nft rules (text or JSON), as its front end recorded: the
/// fix is then written for `nft`. Tables built in code (no dialect) count as iptables.
pub fn is_nft(table: &Table) -> bool {
    table.origin.dialect.is_some_and(Dialect::is_nft)
}

/// The set-element fix for an nft drop that follows a failed set lookup, verified by
/// re-simulation; `None` when there is no such lookup or the element would not help.
pub fn element_fix(
    ruleset: &Ruleset,
    host: &Host,
    packet: &Packet,
    outcome: &Outcome,
    options: &Options,
) -> Option<Fix> {
    let trace = outcome.primary();
    let at = match trace.decider {
        Decider::Rule(at) => at,
        _ => return None,
    };
    let table = ruleset.tables.get(at.table)?;
    if !is_nft(table) {
        return None;
    }
    for (lookup, keys, set) in lookups_before(ruleset, trace, at) {
        let named = table.set(&set)?;
        if named.elements.iter().any(|e| e.data.is_some()) || named.key_width != keys.len() {
            continue;
        }
        let Some((words, key)) = element(&trace.final_packet, trace, &keys) else {
            continue;
        };
        let mut patched = ruleset.clone();
        if let Some(s) = patched.tables[at.table]
            .sets
            .iter_mut()
            .find(|s| s.name == set)
        {
            s.elements.push(SetElement {
                key,
                data: None,
                nomatch: false,
                comment: None,
            });
        }
        let out = engine::simulate(&patched, host, packet, options);
        let Some(fate) = out.decided_fate() else {
            continue;
        };
        if !fate.passed() {
            continue;
        }
        let command = format!(
            "nft add element {} {} {} {{ {} }}",
            table.family,
            quote(&table.name),
            quote(&set),
            words.join(" . ")
        );
        let Some(failed_lookup) = crate::fix::rule_site(ruleset, lookup) else {
            continue;
        };
        let caveats = if named.dynamic {
            vec![FixCaveat::SetUpdatedFromPacketPath { set: set.clone() }]
        } else {
            Vec::new()
        };
        let lookups = rules_using(table, &set);
        let opens = element_opening(
            &trace.final_packet,
            trace,
            &keys,
            &set,
            lookups,
            failed_lookup,
        );
        return Some(Fix {
            command: command.clone(),
            table: table.name.clone(),
            chain: set.clone(),
            position: Position::SetElement,
            rules: vec![FixRule {
                command,
                body: words.join(" . "),
                family: table.family,
                table: table.name.clone(),
                chain: set,
                position: Position::SetElement,
            }],
            verified_fate: out.primary().fate.clone(),
            passes: true,
            opens: Opens::SetElement(opens),
            caveats,
            patched,
        });
    }
    None
}

/// Accept-on-lookup rules the packet met (and failed) before reaching `at` on its hook:
/// earlier rules of `at`'s chain, then earlier rules of each calling chain, innermost
/// first. Each with its lookup keys and set name.
fn lookups_before(
    ruleset: &Ruleset,
    trace: &Trace,
    at: RuleRef,
) -> Vec<(RuleRef, Vec<Key>, String)> {
    let mut places = vec![at];
    places.extend(call_stack(trace, at).iter().rev().map(|f| f.from));
    let mut found = Vec::new();
    for place in places {
        let chain = ruleset.chain_at(place.chain_ref());
        for (i, rule) in chain.rules.iter().enumerate().take(place.rule).rev() {
            if rule.verdict() != Some(&Verdict::Accept) {
                continue;
            }
            for step in &rule.body {
                if let Step::Match(m) = step {
                    if let Test::InSet {
                        keys,
                        set: SetRef::Table(name),
                    } = &m.test
                    {
                        if !m.negated && !name.starts_with("__") {
                            let r = RuleRef { rule: i, ..place };
                            found.push((r, keys.clone(), name.clone()));
                        }
                    }
                }
            }
        }
    }
    found
}

/// The element for `keys` from the packet as the deciding hook saw it: nft words and the
/// model pattern of each component; `None` when a key has no value from the packet alone.
fn element(packet: &Packet, trace: &Trace, keys: &[Key]) -> Option<(Vec<String>, Vec<Pattern>)> {
    let mut words = Vec::new();
    let mut key = Vec::new();
    for k in keys {
        let (w, v) = match k {
            Key::SrcAddr => (packet.src.to_string(), Value::Addr(packet.src)),
            Key::DstAddr => (packet.dst.to_string(), Value::Addr(packet.dst)),
            Key::SrcPort | Key::DstPort => {
                let (s, d) = packet.l4.ports()?;
                let p = if *k == Key::SrcPort { s } else { d };
                (p.to_string(), Value::Int(u64::from(p)))
            }
            Key::L4Proto => {
                let p = packet.proto();
                (p.to_string(), Value::Int(u64::from(p.number())))
            }
            Key::NfProto => {
                let (w, n) = if packet.is_ipv6() {
                    ("ipv6", 10)
                } else {
                    ("ipv4", 2)
                };
                (w.to_string(), Value::Int(n))
            }
            Key::IifName => {
                let i = packet.iif.clone()?;
                (format!("\"{i}\""), Value::Str(i))
            }
            Key::OifName => {
                let o = out_interface(packet, trace)?;
                (format!("\"{o}\""), Value::Str(o))
            }
            Key::Mark => (
                format!("{:#x}", packet.mark),
                Value::Int(u64::from(packet.mark)),
            ),
            _ => return None,
        };
        words.push(w);
        key.push(Pattern::Value(v));
    }
    Some((words, key))
}

/// What an element of these keys lets in, from the packet as the deciding hook saw it
/// ("tcp to 192.168.70.10 port 22 from any source"), in `set` with `lookups` users.
fn element_opening(
    packet: &Packet,
    trace: &Trace,
    keys: &[Key],
    set: &str,
    lookups: usize,
    failed_lookup: RuleSite,
) -> ElementOpening {
    let has = |k: Key| keys.contains(&k);
    let ports = packet.l4.ports();
    ElementOpening {
        set: set.to_string(),
        proto: (has(Key::L4Proto) || has(Key::SrcPort) || has(Key::DstPort))
            .then(|| packet.proto()),
        src: has(Key::SrcAddr).then_some(packet.src),
        sport: ports.filter(|_| has(Key::SrcPort)).map(|(s, _)| s),
        dst: has(Key::DstAddr).then_some(packet.dst),
        dport: ports.filter(|_| has(Key::DstPort)).map(|(_, d)| d),
        iif: packet.iif.clone().filter(|_| has(Key::IifName)),
        oif: if has(Key::OifName) {
            out_interface(packet, trace)
        } else {
            None
        },
        lookups,
        failed_lookup,
    }
}

fn rules_using(table: &Table, set: &str) -> usize {
    table
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .filter(|r| {
            r.matches()
                .any(|m| matches!(&m.test, Test::InSet { set: SetRef::Table(n), .. } if n == set))
        })
        .count()
}

/// The output interface the trace routed to (or the one given).
pub fn out_interface(packet: &Packet, trace: &Trace) -> Option<String> {
    match trace.route.as_ref().map(|r| &r.kind) {
        Some(RouteKind::Forward { oif, .. }) | Some(RouteKind::Output { oif, .. }) => {
            Some(oif.clone())
        }
        _ => packet.oif.clone(),
    }
}

/// nft matches for exactly this flow as `hook` sees it:
/// `iifname "tap0" oifname "eno1" ip saddr 10.1.1.2 ip daddr 10.1.0.2 tcp dport 2175`.
pub fn matches(packet: &Packet, trace: &Trace, hook: Hook, scope: Scope) -> String {
    if scope == Scope::Established {
        return "ct state established,related".to_string();
    }
    let mut m: Vec<String> = Vec::new();
    let (iif_ok, oif_ok) = match hook {
        Hook::Prerouting | Hook::Input => (true, false),
        Hook::Forward => (true, true),
        Hook::Output | Hook::Postrouting => (false, true),
        // A netdev chain is bound to its device already.
        Hook::Ingress | Hook::Egress => (false, false),
    };
    if iif_ok {
        if let Some(iif) = &packet.iif {
            m.push(format!("iifname \"{iif}\""));
        }
    }
    if oif_ok {
        if let Some(oif) = out_interface(packet, trace) {
            m.push(format!("oifname \"{oif}\""));
        }
    }
    let ip = if packet.is_ipv6() { "ip6" } else { "ip" };
    if scope == Scope::Flow {
        m.push(format!("{ip} saddr {}", packet.src));
    }
    if scope == Scope::Flow || !crate::fix::delivered_here(trace) {
        m.push(format!("{ip} daddr {}", packet.dst));
    }
    match packet.l4 {
        L4::Tcp { dport, .. } => m.push(format!("tcp dport {dport}")),
        L4::Udp { dport, .. } => m.push(format!("udp dport {dport}")),
        L4::Sctp { dport, .. } => m.push(format!("sctp dport {dport}")),
        L4::Icmp { icmp_type, .. } => m.push(format!("icmp type {icmp_type}")),
        L4::Icmpv6 { icmp_type, .. } => m.push(format!("icmpv6 type {icmp_type}")),
        L4::Other(p) => m.push(format!("meta l4proto {}", p.number())),
    }
    m.join(" ")
}

/// The accept rule `matches accept` in chain `chain` of `table`, built by the nft front end
/// from a synthetic source named [`FIX_SOURCE`].
pub fn parse_rule(
    family: Family,
    table: &str,
    chain: &str,
    matches: &str,
) -> Option<(Rule, SourceFile)> {
    let text = format!(
        "table {family} {} {{\n\tchain {} {{\n\t\t{matches} accept\n\t}}\n}}\n",
        quote(table),
        quote(chain)
    );
    let source = SourceFile::new(FIX_SOURCE, text);
    let parsed = frontends::nft::parse_text(&source).ok()?;
    let rule = crate::fix::suggested_rule(parsed)?;
    Some((rule, source))
}

/// `nft insert rule FAMILY TABLE CHAIN position HANDLE ... accept` before the rule with
/// that handle, else `index N` (0-based: the N+1-th rule), or `nft add rule ...` to append.
pub fn insert_command(
    family: Family,
    table: &str,
    chain: &str,
    before: Option<(usize, Option<u64>)>,
    matches: &str,
) -> String {
    let (verb, at) = match before {
        Some((_, Some(handle))) => ("insert", format!(" position {handle}")),
        Some((number, None)) => ("insert", format!(" index {}", number.saturating_sub(1))),
        None => ("add", String::new()),
    };
    format!(
        "nft {verb} rule {family} {} {}{at} {matches} accept",
        quote(table),
        quote(chain)
    )
}

/// An nft identifier as written on the command line: quoted unless it is a plain name.
fn quote(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    if plain {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::Fate;

    const STORY2: &str = "table inet nat {\n chain prerouting {\n  type nat hook prerouting priority dstnat; policy accept;\n  ip daddr 10.1.2.3 tcp dport 1222 dnat ip to 192.168.70.10:22\n }\n}\ntable inet filter {\n set allow_in {\n  type ipv4_addr . inet_service\n  elements = { 192.168.70.10 . 80, 192.168.70.11 . 22 }\n }\n chain forward {\n  type filter hook forward priority filter; policy accept;\n  ct status dnat jump allowed_dnats\n }\n chain allowed_dnats {\n  meta nfproto ipv4 ip daddr . tcp dport @allow_in accept\n  drop\n }\n}\n";

    fn packet(spec: &str) -> Packet {
        let args: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
        let spec = frontends::packet_spec::parse(&args).unwrap();
        let mut p = spec.packet;
        p.iif = spec.given_in;
        p.oif = spec.given_out;
        p
    }

    #[test]
    fn story2_missing_element_is_the_fix() {
        let rs = frontends::nft::parse_text(&SourceFile::new("s.nft", STORY2)).unwrap();
        let p = packet("tcp 198.51.100.7:40000 10.1.2.3:1222 in wan0 out virbr0");
        let o = engine::simulate(&rs, &Host::default(), &p, &Options::default());
        assert_eq!(o.primary().fate, Fate::Dropped);
        let fix =
            crate::fix::suggest(&rs, &Host::default(), &p, &o, &Options::default()).expect("a fix");
        assert_eq!(
            fix.command,
            "nft add element inet filter allow_in { 192.168.70.10 . 22 }"
        );
        assert!(fix.passes);
        assert_eq!(fix.position, Position::SetElement);
        assert!(matches!(fix.verified_fate, Fate::Forwarded { .. }));
        let Opens::SetElement(opens) = &fix.opens else {
            panic!("{:?}", fix.opens);
        };
        assert_eq!(
            (opens.proto, opens.src, opens.dst, opens.dport),
            (
                Some(model::packet::IpProto::Tcp),
                None,
                Some("192.168.70.10".parse().unwrap()),
                Some(22)
            )
        );
        assert_eq!((opens.set.as_str(), opens.lookups), ("allow_in", 1));
        assert_eq!(
            (
                opens.failed_lookup.chain.as_str(),
                opens.failed_lookup.number
            ),
            ("allowed_dnats", 1)
        );
        assert_eq!(fix.caveats, []);
    }

    #[test]
    fn a_plain_drop_gets_an_nft_rule_before_it() {
        let rs = frontends::nft::parse_text(&SourceFile::new(
            "f.nft",
            "table inet f { # handle 3\n chain input { # handle 1\n  type filter hook input priority 0; policy accept;\n  tcp dport 22 accept # handle 4\n  drop # handle 5\n }\n}\n",
        ))
        .unwrap();
        let p = packet("tcp 192.0.2.7:40000 10.0.0.1:8080 in eth0");
        let o = engine::simulate(&rs, &Host::default(), &p, &Options::default());
        let fix =
            crate::fix::suggest(&rs, &Host::default(), &p, &o, &Options::default()).expect("a fix");
        assert_eq!(
            fix.command,
            "nft insert rule inet f input position 5 iifname \"eth0\" ip saddr 192.0.2.7 ip daddr 10.0.0.1 tcp dport 8080 accept"
        );
        assert!(fix.passes, "{fix:?}");
        assert_eq!(fix.position, Position::Insert(2));

        // Without handles: the 0-based index.
        let rs = frontends::nft::parse_text(&SourceFile::new(
            "f.nft",
            "table ip f {\n chain input {\n  type filter hook input priority 0; policy drop;\n  tcp dport 22 accept\n }\n}\n",
        ))
        .unwrap();
        let o = engine::simulate(&rs, &Host::default(), &p, &Options::default());
        let fix =
            crate::fix::suggest(&rs, &Host::default(), &p, &o, &Options::default()).expect("a fix");
        assert_eq!(
            fix.command,
            "nft add rule ip f input iifname \"eth0\" ip saddr 192.0.2.7 ip daddr 10.0.0.1 tcp dport 8080 accept"
        );
        assert!(fix.passes, "{fix:?}");
    }

    #[test]
    fn index_is_zero_based_and_names_are_quoted_when_needed() {
        assert_eq!(
            insert_command(
                Family::Ip,
                "filter",
                "my chain",
                Some((3, None)),
                "tcp dport 1"
            ),
            "nft insert rule ip filter \"my chain\" index 2 tcp dport 1 accept"
        );
        assert_eq!(quote("DOCKER-USER"), "DOCKER-USER");
    }
}
