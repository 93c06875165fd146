//! Fix search: the narrowest `iptables -I ... -j ACCEPT` that lets a blocked packet through.
//!
//! ## What it does
//! For a packet dropped or rejected by a rule or a base chain's policy, builds one ACCEPT
//! rule that matches only this flow (`-i IIF -o OIF -s SRC/32 -d DST/32 -p PROTO --dport
//! PORT`, interfaces as the hook allows), places it just before the deciding rule (or
//! appends it to the base chain whose policy decided), and re-runs the simulation on a copy
//! of the ruleset with the rule in place to prove the packet now passes.
//!
//! ## Where it goes
//! Candidates, in order of preference (the first that the re-simulation accepts wins):
//! 1. the deciding rule's own chain, just before it: every earlier rule still applies;
//! 2. each calling chain, just before the jump that led there (innermost first): this skips
//!    the rest of the called chain too, so it is only used when (1) does not work.
//!
//! If the packet is then blocked somewhere else (a later hook, another table), the search
//! adds a rule there as well, up to [`MAX_RULES`] rules, and says that no single rule is
//! enough. If nothing works, the [`Fix`] says so honestly (`passes == false`).
//!
//! ## Example
//! `REJECT` by `ufw-reject-forward #1` for `tcp 10.1.1.2:1050 -> 10.1.0.2:2175` in on tap0,
//! out on eno1 gives
//! `iptables -I ufw-reject-forward 1 -i tap0 -o eno1 -s 10.1.1.2/32 -d 10.1.0.2/32 -p tcp -m tcp --dport 2175 -j ACCEPT`.
//!
//! The inserted rule is built by the iptables-save front end from a synthetic one-line
//! source named [`FIX_SOURCE`], so its provenance in a trace says where it came from.
//!
//! Each rule is written in the dialect of the table it goes into: a table that came from
//! an nft listing gets `nft insert rule ...` (or, for a drop after a failed set lookup, the
//! missing set element; see [`crate::fix_nft`]), so a mixed host's fix may mix both.

use crate::callstack::call_stack;
use crate::fix_facts::{Blocker, FixCaveat, FlowOpening, Opens, RuleSite, Service};
use crate::fix_nft::out_interface;
use engine::{Decider, Event, Fate, Options, Outcome, Trace};
use model::{ChainRef, Family, Hook, Host, Packet, Rule, RuleRef, Ruleset, SourceFile, L4};
use std::borrow::Cow;
use std::net::IpAddr;

/// At most this many ACCEPT rules are combined before giving up.
pub const MAX_RULES: usize = 3;

/// The file name the inserted rules' provenance carries.
pub const FIX_SOURCE: &str = "fix";

/// A suggested change, verified by simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// The shell command(s) to run, one per line.
    pub command: String,
    /// Table of the (first) rule to add (`filter`, `nat`, ...).
    pub table: String,
    /// Chain of the (first) rule to add.
    pub chain: String,
    /// Where the (first) rule goes.
    pub position: Position,
    /// Every rule the fix adds, in the order to run them (usually one).
    pub rules: Vec<FixRule>,
    /// The fate of the packet when the simulation is re-run with the fix in place.
    pub verified_fate: Fate,
    /// Whether the packet passes with the fix in place (every branch agrees).
    pub passes: bool,
    /// What the fix lets through.
    pub opens: Opens,
    /// Why it is placed where it is, or why it is not enough, in the order found.
    pub caveats: Vec<FixCaveat>,
    /// The ruleset with the fix's rules in it (what the whole exchange is simulated on).
    pub patched: Ruleset,
}

/// One rule of a fix.
#[derive(Debug, Clone, PartialEq)]
pub struct FixRule {
    /// `iptables [-t TABLE] -I CHAIN N ... -j ACCEPT` (`ip6tables` for IPv6); for a table
    /// from an nft listing `nft insert rule ...` / `nft add element ...` (made by the
    /// private `fix_nft`).
    pub command: String,
    /// The rule as it is written in the persistent file: `-A CHAIN ... -j ACCEPT` in the
    /// table's section of `rules.v4`/`rules.v6`, `... accept` inside the chain's block of
    /// `nftables.conf`, the element inside the set's `elements = { }`.
    pub body: String,
    pub family: Family,
    pub table: String,
    pub chain: String,
    pub position: Position,
}

/// Where a rule is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// `-I CHAIN N` (nft: `insert rule ... position HANDLE` / `index N-1`): becomes rule N
    /// (1-based), pushing the old rule N down.
    Insert(usize),
    /// `-A CHAIN` (nft: `add rule`): after the last rule (before the policy).
    Append,
    /// `nft add element`: no rule, an element of the set named in [`Fix::chain`] /
    /// [`FixRule::chain`].
    SetElement,
    /// A removal: `-D CHAIN <rule>` (nft: `delete rule ... handle H`), `nft delete
    /// element`, `ipset del`; what a tool's own removal (`ufw delete N`, an unban) takes
    /// out of the kernel. [`FixRule::body`] is what leaves the persistent file.
    Delete,
}

/// A place to put an ACCEPT rule, with the hook the packet meets it on.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Place {
    chain: ChainRef,
    /// 0-based index the rule is inserted at (`rules.len()` to append).
    index: usize,
    append: bool,
    hook: Hook,
}

/// The narrowest single ACCEPT (or few) that lets `packet` through, verified by
/// re-simulation; `None` when the packet was not blocked by a rule or policy (it passed,
/// the branches disagree, routing or the stack decided, or the table is not iptables').
pub fn suggest(
    ruleset: &Ruleset,
    host: &Host,
    packet: &Packet,
    outcome: &Outcome,
    options: &Options,
) -> Option<Fix> {
    search(ruleset, host, packet, outcome, options, Scope::Flow)
}

/// What an ACCEPT of the fix search matches: the three rungs of the breadth ladder that
/// plain kernel rules can express.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// This flow: interfaces, source, destination, protocol and port.
    Flow,
    /// The service: the protocol and port on the interfaces, from any source (and to any
    /// of this host's addresses when the packet is for this host).
    Service,
    /// Replies and related packets of connections the ruleset already let through
    /// (`ct state established,related`), at the top of the base chain that blocked.
    Established,
}

/// [`suggest`] at the breadth of `scope`.
pub(crate) fn search(
    ruleset: &Ruleset,
    host: &Host,
    packet: &Packet,
    outcome: &Outcome,
    options: &Options,
    scope: Scope,
) -> Option<Fix> {
    let fate = outcome.decided_fate()?;
    if !matches!(fate, Fate::Dropped | Fate::Rejected { .. }) {
        return None;
    }
    let first_trace = outcome.primary();
    // nft: a missing set element is a smaller change than a new rule.
    if scope == Scope::Flow {
        if let Some(fix) = crate::fix_nft::element_fix(ruleset, host, packet, outcome, options) {
            return Some(fix);
        }
    }
    // Nothing to offer if the first block is not a rule or policy we can write before.
    let places = candidates(ruleset, first_trace, scope)?;
    if scope == Scope::Established {
        // One rule at the top of the base chain; it is judged by the whole exchange (the
        // packet alone may be a reply that only passes with its connection's entry).
        return structural(ruleset, host, packet, options, first_trace, places[0]);
    }

    // Borrowed until the first rule is added: a copy of a large ruleset is costly.
    let mut current = Cow::Borrowed(ruleset);
    let mut trace = first_trace.clone();
    let mut rules: Vec<FixRule> = Vec::new();
    let mut placements: Vec<FixCaveat> = Vec::new();
    let mut last_outcome: Option<Outcome> = None;

    for _ in 0..MAX_RULES {
        let Some(places) = candidates(&current, &trace, scope) else {
            break;
        };
        let mut tried: Vec<(Place, Ruleset, FixRule, Outcome)> = Vec::new();
        for place in places {
            let Some((patched, rule)) = insert_accept(&current, &trace, place, scope) else {
                continue;
            };
            let out = engine::simulate(&patched, host, packet, options);
            let passes = out.decided_fate().is_some_and(Fate::passed);
            tried.push((place, patched, rule, out));
            if passes {
                break;
            }
        }
        // Prefer the first place that lets the packet through; otherwise the first that
        // moved the block somewhere else (progress), to add a second rule there.
        let pick = tried
            .iter()
            .position(|t| t.3.decided_fate().is_some_and(Fate::passed))
            .or_else(|| {
                tried
                    .iter()
                    .position(|t| t.3.primary().decider != trace.decider)
            });
        let Some(i) = pick else {
            if let Some(t) = tried.into_iter().next() {
                last_outcome = Some(t.3);
            }
            break;
        };
        let (place, patched, rule, out) = tried.swap_remove(i);
        let chain = current.chain_at(place.chain);
        if i > 0 {
            placements.push(FixCaveat::PlacedBeforeJump {
                chain: chain.name.clone(),
            });
        } else if place.index > 0 && !place.append && chain.base.is_none() {
            placements.push(FixCaveat::PlacedBeforeDecidingRule {
                chain: chain.name.clone(),
            });
        }
        rules.push(rule);
        current = Cow::Owned(patched);
        let passes = out.decided_fate().is_some_and(Fate::passed);
        trace = out.primary().clone();
        last_outcome = Some(out);
        if passes {
            break;
        }
    }

    let outcome_after = last_outcome?;
    let passes = outcome_after.decided_fate().is_some_and(Fate::passed);
    if rules.is_empty() {
        return None;
    }
    let mut caveats = Vec::new();
    if passes && rules.len() > 1 {
        caveats.push(FixCaveat::SeveralRules {
            blocks: rules.len(),
        });
    }
    if !passes {
        caveats.push(match outcome_after.decided_fate() {
            Some(_) => {
                FixCaveat::StillBlockedBy(blocker(&current, &outcome_after.primary().decider))
            }
            None => FixCaveat::Undecidable,
        });
    }
    caveats.extend(placements);
    let first = rules[0].clone();
    let opens = opening(&first_trace.final_packet, first_trace, scope, &first);
    Some(Fix {
        command: rules
            .iter()
            .map(|r| r.command.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        table: first.table,
        chain: first.chain,
        position: first.position,
        rules,
        verified_fate: outcome_after.primary().fate.clone(),
        passes,
        opens,
        caveats,
        patched: current.into_owned(),
    })
}

/// The `ct state established,related` ACCEPT at `place`, with the packet's fate then.
fn structural(
    ruleset: &Ruleset,
    host: &Host,
    packet: &Packet,
    options: &Options,
    trace: &Trace,
    place: Place,
) -> Option<Fix> {
    let (patched, rule) = insert_accept(ruleset, trace, place, Scope::Established)?;
    let out = engine::simulate(&patched, host, packet, options);
    Some(Fix {
        command: rule.command.clone(),
        table: rule.table.clone(),
        chain: rule.chain.clone(),
        position: rule.position,
        opens: opening(&trace.final_packet, trace, Scope::Established, &rule),
        rules: vec![rule],
        verified_fate: out.primary().fate.clone(),
        passes: out.decided_fate().is_some_and(Fate::passed),
        caveats: Vec::new(),
        patched,
    })
}

/// `fix` with a `ct state established,related` ACCEPT added at the top of the base chain
/// `base` (of `fix.patched`): for a chain that drops the replies or the established
/// packets of the connection, the flow's own rule is not enough. `trace` is the blocked
/// packet's (the rule matches no field of it).
pub(crate) fn with_established(trace: &Trace, fix: Fix, base: ChainRef) -> Option<Fix> {
    let hook = fix.patched.chain_at(base).base.as_ref()?.hook;
    let place = Place {
        chain: base,
        index: 0,
        append: false,
        hook,
    };
    let (patched, rule) = insert_accept(&fix.patched, trace, place, Scope::Established)?;
    let mut caveats = fix.caveats;
    caveats.push(FixCaveat::AlsoReplies {
        table: rule.table.clone(),
        chain: rule.chain.clone(),
    });
    let mut rules = vec![rule];
    rules.extend(fix.rules);
    Some(Fix {
        command: rules
            .iter()
            .map(|r| r.command.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        rules,
        caveats,
        patched,
        ..fix
    })
}

/// Places for an ACCEPT against the block in `trace`, most preferred first; `None` when the
/// fate was not decided by a rule or policy of an iptables (ip/ip6) table or of an nft
/// table of a family that sees IP packets (bridge and arp tables are not simulated).
fn candidates(ruleset: &Ruleset, trace: &Trace, scope: Scope) -> Option<Vec<Place>> {
    if !matches!(trace.fate, Fate::Dropped | Fate::Rejected { .. }) {
        return None;
    }
    let iptables = |c: ChainRef| match ruleset.tables.get(c.table) {
        Some(t) if crate::fix_nft::is_nft(t) => {
            matches!(
                t.family,
                Family::Ip | Family::Ip6 | Family::Inet | Family::Netdev
            )
        }
        Some(t) => matches!(t.family, Family::Ip | Family::Ip6),
        None => false,
    };
    match &trace.decider {
        Decider::Rule(at) => {
            let at = *at;
            if !iptables(at.chain_ref()) {
                return None;
            }
            let hook = hook_of_rule(trace, at)?;
            if scope == Scope::Established {
                // The top of the base chain the packet entered: every connection it
                // carries gets its replies back, whatever the rules below say.
                let base = call_stack(trace, at)
                    .first()
                    .map_or(at.chain_ref(), |f| f.from.chain_ref());
                return Some(vec![Place {
                    chain: base,
                    index: 0,
                    append: false,
                    hook,
                }]);
            }
            let mut places = vec![Place {
                chain: at.chain_ref(),
                index: at.rule,
                append: false,
                hook,
            }];
            for frame in call_stack(trace, at).iter().rev() {
                places.push(Place {
                    chain: frame.from.chain_ref(),
                    index: frame.from.rule,
                    append: false,
                    hook,
                });
            }
            Some(places)
        }
        Decider::Policy(chain) => {
            if !iptables(*chain) {
                return None;
            }
            let c = ruleset.tables.get(chain.table)?.chains.get(chain.chain)?;
            let hook = c.base.as_ref()?.hook;
            let top = scope == Scope::Established && !c.rules.is_empty();
            Some(vec![Place {
                chain: *chain,
                index: if top { 0 } else { c.rules.len() },
                append: !top,
                hook,
            }])
        }
        Decider::Routing | Decider::Stack | Decider::Conntrack => None,
    }
}

/// The hook on which the trace last reached rule `at`.
fn hook_of_rule(trace: &Trace, at: model::RuleRef) -> Option<Hook> {
    trace.events.iter().rev().find_map(|e| match e {
        Event::Rule { hook, at: a, .. } if *a == at => Some(*hook),
        _ => None,
    })
}

/// A copy of `ruleset` with an ACCEPT for the flow of `trace` at `place`, and how to run it.
fn insert_accept(
    ruleset: &Ruleset,
    trace: &Trace,
    place: Place,
    scope: Scope,
) -> Option<(Ruleset, FixRule)> {
    let table = ruleset.tables.get(place.chain.table)?;
    let chain = table.chains.get(place.chain.chain)?;
    if crate::fix_nft::is_nft(table) {
        return insert_nft_accept(ruleset, trace, place, scope);
    }
    let matches = flow_matches(&trace.final_packet, trace, place.hook, scope)?;
    let rule = parse_rule(
        table.family,
        &table.name,
        &chain.name,
        chain.base.is_some(),
        &matches,
    )?;

    // Insert before the whole source rule that `place.index` belongs to: one iptables rule
    // may have been lowered into several model rules sharing its number.
    let index = if place.index >= chain.rules.len() {
        chain.rules.len()
    } else {
        chain
            .rules_of_source_number(chain.source_rule_number(place.index))
            .start
    };
    let number = chain.source_rule_number(index);
    let mut patched = ruleset.clone();
    let rules = &mut patched.tables[place.chain.table].chains[place.chain.chain].rules;
    rules.insert(index, rule.rule);
    if patched.source(FIX_SOURCE).is_none() {
        patched.sources.push(rule.source);
    }

    let tool = if table.family == Family::Ip6 {
        "ip6tables"
    } else {
        "iptables"
    };
    let t = if table.name == "filter" {
        String::new()
    } else {
        format!("-t {} ", table.name)
    };
    let (position, at) = if place.append {
        (Position::Append, format!("-A {}", chain.name))
    } else {
        (
            Position::Insert(number),
            format!("-I {} {}", chain.name, number),
        )
    };
    let fix_rule = FixRule {
        command: format!("{tool} {t}{at} {matches} -j ACCEPT"),
        body: format!("-A {} {matches} -j ACCEPT", chain.name),
        family: table.family,
        table: table.name.clone(),
        chain: chain.name.clone(),
        position,
    };
    Some((patched, fix_rule))
}

/// [`insert_accept`] for an nft table: the rule in nft syntax, placed by handle or index.
fn insert_nft_accept(
    ruleset: &Ruleset,
    trace: &Trace,
    place: Place,
    scope: Scope,
) -> Option<(Ruleset, FixRule)> {
    let table = ruleset.tables.get(place.chain.table)?;
    let chain = table.chains.get(place.chain.chain)?;
    let matches = crate::fix_nft::matches(&trace.final_packet, trace, place.hook, scope);
    let (rule, source) =
        crate::fix_nft::parse_rule(table.family, &table.name, &chain.name, &matches)?;
    let index = if place.append || place.index >= chain.rules.len() {
        chain.rules.len()
    } else {
        chain
            .rules_of_source_number(chain.source_rule_number(place.index))
            .start
    };
    let before = (index < chain.rules.len()).then(|| {
        (
            chain.source_rule_number(index),
            chain.rules[index].origin.handle,
        )
    });
    let mut patched = ruleset.clone();
    patched.tables[place.chain.table].chains[place.chain.chain]
        .rules
        .insert(index, rule);
    if patched.source(FIX_SOURCE).is_none() {
        patched.sources.push(source);
    }
    let position = match before {
        Some((number, _)) => Position::Insert(number),
        None => Position::Append,
    };
    let fix_rule = FixRule {
        command: crate::fix_nft::insert_command(
            table.family,
            &table.name,
            &chain.name,
            before,
            &matches,
        ),
        body: format!("{matches} accept"),
        family: table.family,
        table: table.name.clone(),
        chain: chain.name.clone(),
        position,
    };
    Some((patched, fix_rule))
}

/// The first rule of `parsed` (a fix's one-rule source), marked as whyblocked's
/// suggestion.
pub(crate) fn suggested_rule(parsed: Ruleset) -> Option<Rule> {
    let mut rule = parsed
        .tables
        .into_iter()
        .next()?
        .chains
        .into_iter()
        .next()?
        .rules
        .into_iter()
        .next()?;
    rule.origin.owner = Some(model::Owner::suggested_fix());
    Some(rule)
}

struct ParsedRule {
    rule: Rule,
    source: SourceFile,
}

/// Builds the rule through the iptables-save front end, from a one-rule synthetic file.
fn parse_rule(
    family: Family,
    table: &str,
    chain: &str,
    base: bool,
    matches: &str,
) -> Option<ParsedRule> {
    let decl = if base {
        format!(":{chain} ACCEPT [0:0]")
    } else {
        format!(":{chain} - [0:0]")
    };
    let text = format!("*{table}\n{decl}\n-A {chain} {matches} -j ACCEPT\nCOMMIT\n");
    let source = SourceFile::new(FIX_SOURCE, text);
    let parsed = frontends::iptables_save::parse(&source, Some(family)).ok()?;
    let mut rule = parsed
        .tables
        .into_iter()
        .flat_map(|t| t.chains)
        .find(|c| c.name == chain)?
        .rules
        .into_iter()
        .next()?;
    rule.origin.owner = Some(model::Owner::suggested_fix());
    Some(ParsedRule { rule, source })
}

/// `-i IIF -o OIF -s SRC/32 -d DST/32 -p PROTO ...` for `packet` as `hook` sees it, as
/// broad as `scope`.
pub(crate) fn flow_matches(
    packet: &Packet,
    trace: &Trace,
    hook: Hook,
    scope: Scope,
) -> Option<String> {
    let mut m: Vec<String> = Vec::new();
    let (iif_ok, oif_ok) = match hook {
        Hook::Prerouting | Hook::Input => (true, false),
        Hook::Forward => (true, true),
        Hook::Output | Hook::Postrouting => (false, true),
        Hook::Ingress | Hook::Egress => return None,
    };
    if scope == Scope::Established {
        return Some("-m conntrack --ctstate RELATED,ESTABLISHED".to_string());
    }
    if iif_ok {
        if let Some(iif) = &packet.iif {
            m.push(format!("-i {iif}"));
        }
    }
    if oif_ok {
        if let Some(oif) = out_interface(packet, trace) {
            m.push(format!("-o {oif}"));
        }
    }
    if scope == Scope::Flow {
        m.push(format!("-s {}", host_prefix(packet.src)));
    }
    if scope == Scope::Flow || !delivered_here(trace) {
        m.push(format!("-d {}", host_prefix(packet.dst)));
    }
    match packet.l4 {
        L4::Tcp { dport, .. } => m.push(format!("-p tcp -m tcp --dport {dport}")),
        L4::Udp { dport, .. } => m.push(format!("-p udp -m udp --dport {dport}")),
        L4::Sctp { dport, .. } => m.push(format!("-p sctp -m sctp --dport {dport}")),
        L4::Icmp { icmp_type, .. } => m.push(format!("-p icmp -m icmp --icmp-type {icmp_type}")),
        L4::Icmpv6 { icmp_type, .. } => {
            m.push(format!("-p ipv6-icmp -m icmp6 --icmpv6-type {icmp_type}"))
        }
        L4::Other(p) => m.push(format!("-p {}", p.number())),
    }
    Some(m.join(" "))
}

fn host_prefix(a: IpAddr) -> String {
    match a {
        IpAddr::V4(a) => format!("{a}/32"),
        IpAddr::V6(a) => format!("{a}/128"),
    }
}

/// Whether the blocked packet was for this host (a service opens on every address).
pub(crate) fn delivered_here(trace: &Trace) -> bool {
    trace
        .events
        .iter()
        .any(|e| matches!(e, Event::Hook(Hook::Input)))
}

/// What the fix's first rule lets through at `scope`.
fn opening(packet: &Packet, trace: &Trace, scope: Scope, rule: &FixRule) -> Opens {
    match scope {
        Scope::Flow => Opens::Flow(flow_opening(packet, trace)),
        Scope::Service => {
            let mut flow = flow_opening(packet, trace);
            flow.src = None;
            if delivered_here(trace) {
                flow.dst = None;
            }
            Opens::Flow(flow)
        }
        Scope::Established => Opens::Replies {
            table: rule.table.clone(),
            chain: rule.chain.clone(),
        },
    }
}

/// What an ACCEPT for the flow of `trace` lets through.
pub(crate) fn flow_opening(packet: &Packet, trace: &Trace) -> FlowOpening {
    let service = match packet.l4 {
        L4::Tcp { dport, .. } | L4::Udp { dport, .. } | L4::Sctp { dport, .. } => {
            Service::Port(dport)
        }
        L4::Icmp { icmp_type, .. } | L4::Icmpv6 { icmp_type, .. } => Service::IcmpType(icmp_type),
        L4::Other(_) => Service::Any,
    };
    FlowOpening {
        proto: packet.proto(),
        src: Some(packet.src),
        dst: Some(packet.dst),
        service,
        iif: packet.iif.clone(),
        oif: out_interface(packet, trace),
    }
}

/// The rule at `at` as the user reads it; `None` if the reference does not resolve.
pub(crate) fn rule_site(ruleset: &Ruleset, at: RuleRef) -> Option<RuleSite> {
    let table = ruleset.tables.get(at.table)?;
    let chain = table.chains.get(at.chain)?;
    let rule = chain.rules.get(at.rule)?;
    Some(RuleSite {
        family: table.family,
        table: table.name.clone(),
        chain: chain.name.clone(),
        number: chain.source_rule_number(at.rule),
        file: rule.origin.file.clone(),
        line: rule.origin.line,
    })
}

/// What `decider` is in `ruleset` (the ruleset with the fix's rules in it, so it is named
/// here rather than by reference).
fn blocker(ruleset: &Ruleset, decider: &Decider) -> Blocker {
    match decider {
        Decider::Rule(at) => Blocker::Rule(rule_site(ruleset, *at)),
        Decider::Policy(c) => Blocker::Policy(
            ruleset
                .tables
                .get(c.table)
                .and_then(|t| Some((t.name.clone(), t.chains.get(c.chain)?.name.clone()))),
        ),
        Decider::Routing => Blocker::Routing,
        Decider::Stack => Blocker::Stack,
        Decider::Conntrack => Blocker::Conntrack,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::packet::IpProto;
    use model::{Host, SourceFile};

    fn ruleset(text: &str, family: Family) -> Ruleset {
        frontends::iptables_save::parse(&SourceFile::new("rules", text), Some(family))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn packet(spec: &str) -> Packet {
        frontends::packet_spec::packet(spec).unwrap_or_else(|e| panic!("{e}"))
    }

    fn fix_for(rules: &Ruleset, spec: &str) -> Option<Fix> {
        let host = Host::default();
        let p = packet(spec);
        let options = Options::default();
        let outcome = engine::simulate(rules, &host, &p, &options);
        suggest(rules, &host, &p, &outcome, &options)
    }

    const FORWARD_REJECT: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:fw-reject - [0:0]
-A FORWARD -p icmp -j ACCEPT
-A FORWARD -j fw-reject
-A fw-reject -j REJECT --reject-with icmp-port-unreachable
COMMIT
";

    #[test]
    fn reject_in_a_called_chain_gets_an_accept_just_before_it() {
        let rules = ruleset(FORWARD_REJECT, Family::Ip);
        let fix =
            fix_for(&rules, "tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0 out eno1").expect("a fix");
        assert_eq!(
            fix.command,
            "iptables -I fw-reject 1 -i tap0 -o eno1 -s 10.1.1.2/32 -d 10.1.0.2/32 -p tcp -m tcp --dport 2175 -j ACCEPT"
        );
        assert_eq!(
            (fix.table.as_str(), fix.chain.as_str()),
            ("filter", "fw-reject")
        );
        assert_eq!(fix.position, Position::Insert(1));
        assert!(fix.passes, "{fix:?}");
        assert!(
            matches!(fix.verified_fate, Fate::Forwarded { .. }),
            "{fix:?}"
        );
        assert_eq!(
            fix.opens,
            Opens::Flow(FlowOpening {
                proto: IpProto::Tcp,
                src: Some("10.1.1.2".parse().unwrap()),
                dst: Some("10.1.0.2".parse().unwrap()),
                service: Service::Port(2175),
                iif: Some("tap0".into()),
                oif: Some("eno1".into()),
            })
        );
        assert_eq!(fix.caveats, []);
    }

    #[test]
    fn policy_drop_gets_an_appended_accept() {
        let rules = ruleset(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
            Family::Ip,
        );
        let fix = fix_for(&rules, "udp 192.0.2.7:5353 10.0.0.1:53 in eth0").expect("a fix");
        assert_eq!(
            fix.command,
            "iptables -A INPUT -i eth0 -s 192.0.2.7/32 -d 10.0.0.1/32 -p udp -m udp --dport 53 -j ACCEPT"
        );
        assert_eq!(fix.position, Position::Append);
        assert!(fix.passes, "{fix:?}");
    }

    #[test]
    fn nat_table_drop_is_fixed_in_its_own_table() {
        let rules = ruleset(
            "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 8080 -j DROP\nCOMMIT\n",
            Family::Ip,
        );
        let fix = fix_for(&rules, "tcp 192.0.2.7:40000 10.0.0.1:8080 in eth0").expect("a fix");
        assert!(
            fix.command
                .starts_with("iptables -t raw -I PREROUTING 1 -i eth0 "),
            "{}",
            fix.command
        );
        assert!(fix.passes, "{fix:?}");
    }

    #[test]
    fn two_blocks_need_two_rules_and_say_so() {
        let rules = ruleset(
            "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p tcp -m tcp --dport 8080 -j DROP\nCOMMIT\n\
             *filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
            Family::Ip,
        );
        let fix = fix_for(&rules, "tcp 192.0.2.7:40000 10.0.0.1:8080 in eth0").expect("a fix");
        assert_eq!(fix.rules.len(), 2, "{fix:?}");
        assert!(fix.passes, "{fix:?}");
        assert_eq!(fix.caveats, [FixCaveat::SeveralRules { blocks: 2 }]);
        assert!(
            fix.rules[1].command.starts_with("iptables -A INPUT "),
            "{}",
            fix.command
        );
    }

    #[test]
    fn ipv6_uses_ip6tables() {
        let rules = ruleset(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
            Family::Ip6,
        );
        let fix =
            fix_for(&rules, "tcp [2001:db8::7]:40000 [2001:db8::1]:22 in eth0").expect("a fix");
        assert_eq!(
            fix.command,
            "ip6tables -A INPUT -i eth0 -s 2001:db8::7/128 -d 2001:db8::1/128 -p tcp -m tcp --dport 22 -j ACCEPT"
        );
    }

    #[test]
    fn no_fix_for_a_packet_that_passes() {
        let rules = ruleset(FORWARD_REJECT, Family::Ip);
        assert!(fix_for(&rules, "icmp 10.1.1.2 10.1.0.2 in tap0 out eno1").is_none());
    }

    #[test]
    fn an_accept_after_earlier_rules_of_a_called_chain_says_they_still_apply() {
        let rules = ruleset(
            &FORWARD_REJECT.replace(
                "-A fw-reject -j REJECT",
                "-A fw-reject -p udp -j ACCEPT\n-A fw-reject -j REJECT",
            ),
            Family::Ip,
        );
        let fix =
            fix_for(&rules, "tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0 out eno1").expect("a fix");
        assert_eq!(fix.position, Position::Insert(2));
        assert_eq!(
            fix.caveats,
            [FixCaveat::PlacedBeforeDecidingRule {
                chain: "fw-reject".into()
            }]
        );
    }

    #[test]
    fn more_blocks_than_rules_names_what_still_blocks() {
        let rules = ruleset(
            "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A PREROUTING -p tcp -j DROP\nCOMMIT\n\
             *mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j DROP\n-A INPUT -p tcp -j DROP\nCOMMIT\n\
             *filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -j DROP\nCOMMIT\n",
            Family::Ip,
        );
        let fix = fix_for(&rules, "tcp 192.0.2.7:40000 10.0.0.1:8080 in eth0").expect("a fix");
        assert_eq!(fix.rules.len(), MAX_RULES, "{fix:?}");
        assert!(!fix.passes, "{fix:?}");
        let [FixCaveat::StillBlockedBy(Blocker::Rule(Some(site)))] = fix.caveats.as_slice() else {
            panic!("{:?}", fix.caveats);
        };
        assert_eq!(
            (site.table.as_str(), site.chain.as_str(), site.number),
            ("filter", "INPUT", 1)
        );
    }

    #[test]
    fn the_inserted_rule_says_where_it_came_from() {
        let rule = parse_rule(
            Family::Ip,
            "filter",
            "INPUT",
            true,
            "-i eth0 -p tcp -m tcp --dport 22",
        )
        .expect("the front end parses the synthetic rule");
        assert_eq!(&*rule.rule.origin.file, FIX_SOURCE);
        assert!(rule.rule.origin.owner.is_some());
    }
}
