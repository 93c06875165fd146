//! Each distinct flow of a firewall log, simulated once.
//!
//! A log line is the packet as the LOG rule saw it. To simulate it from the start of the
//! path, the TTL of a forwarded packet (both `IN=` and `OUT=` set) is given back the one the
//! router took before the forward hook. The rule that wrote the line is found from its
//! prefix: the simulated path should pass a LOG rule with exactly that prefix; when it does
//! not, the flow is flagged (the host state, the NAT before the LOG rule, or the ruleset
//! differ from what wrote the log).

use super::implied::{contradiction, Assumed, Contradiction, Implied, Way};
use engine::{Decider, Fate, Options, Outcome, Prepared};
use evidence::log_file::Flow;
use evidence::log_line::LogRecord;
use model::expr::Action;
use model::{ChainRef, Host, Packet, RuleRef, Ruleset};
use std::collections::HashMap;

/// Which rule wrote the flow's lines, as far as the ruleset and the simulation tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggedBy {
    /// The simulated path passes this LOG rule, whose prefix is the line's.
    OnPath(RuleRef),
    /// LOG rules with this prefix exist, but the simulated path passes none of them.
    NotOnPath(Vec<RuleRef>),
    /// No LOG rule of the ruleset has this prefix.
    NoSuchRule,
}

/// One flow, simulated.
#[derive(Debug, Clone)]
pub struct FlowAnswer {
    /// The packet simulated (the flow's first line, TTL restored).
    pub packet: Packet,
    pub outcome: Outcome,
    pub logged_by: LoggedBy,
    /// The TTL was raised by one: the line was written after forwarding.
    pub ttl_restored: bool,
    /// The way the line's interfaces show, when the simulation was given it (no host
    /// state).
    pub assumed: Option<Assumed>,
    /// The simulation took another way than the line shows.
    pub contradiction: Option<Contradiction>,
}

/// The packet to simulate for a log line on `host` (on the way its interfaces show), what
/// that assumed, and whether its TTL was restored.
pub fn packet_of(
    record: &LogRecord,
    implied: &Implied,
    host: &Host,
) -> (Packet, Option<Assumed>, bool) {
    let (mut p, assumed) = implied.apply(&record.packet, host);
    // LOG in FORWARD/POSTROUTING sees the TTL after ip_forward decremented it.
    // Without `TTL=` the packet has the default arrival TTL: nothing to restore.
    let forwarded = record.ttl_logged && matches!(implied.way, Some((Way::Forwarded, _)));
    if forwarded {
        p.ttl = p.ttl.saturating_add(1);
    }
    (p, assumed, forwarded)
}

/// The LOG (or nft `log`) rules whose prefix is `prefix`, in the tables that see packets of
/// the line's family (`v6`): an ip6tables rule cannot have written an IPv4 line.
pub fn log_rules_with_prefix(ruleset: &Ruleset, prefix: &str, v6: bool) -> Vec<RuleRef> {
    let mut out = Vec::new();
    for (ti, t) in ruleset.tables.iter().enumerate() {
        if !t.family.sees(v6) {
            continue;
        }
        for (ci, c) in t.chains.iter().enumerate() {
            for (ri, r) in c.rules.iter().enumerate() {
                let logs = r.actions().any(|a| match a {
                    Action::Log(l) => {
                        l.prefix == prefix || l.prefix.trim_end() == prefix.trim_end()
                    }
                    _ => false,
                });
                if logs && !prefix.is_empty() {
                    out.push(RuleRef {
                        table: ti,
                        chain: ci,
                        rule: ri,
                    });
                }
            }
        }
    }
    out
}

/// Simulates every flow once (through one prepared ruleset).
pub fn explain_flows(
    ruleset: &Ruleset,
    host: &Host,
    flows: &[Flow],
    options: &Options,
) -> Vec<FlowAnswer> {
    let prepared = Prepared::new(ruleset);
    flows
        .iter()
        .map(|f| {
            let implied = Implied::from_log(f.first.iif.clone(), f.first.oif.clone());
            let (packet, assumed, ttl_restored) = packet_of(&f.first, &implied, host);
            let mut outcome = engine::simulate_prepared(&prepared, host, &packet, options);
            let contradiction = contradiction(&implied, &outcome);
            // Only the fate, the decider and the log lines are reported per flow: dropping
            // each path keeps a log of 100,000 flows in a few hundred bytes per flow.
            for b in &mut outcome.branches {
                b.trace.events = Vec::new();
            }
            let candidates = log_rules_with_prefix(ruleset, &f.first.prefix, packet.is_ipv6());
            let on_path = outcome
                .branches
                .iter()
                .flat_map(|b| &b.trace.logs)
                .find(|l| candidates.contains(&l.by))
                .map(|l| l.by);
            let logged_by = match on_path {
                Some(r) => LoggedBy::OnPath(r),
                None if candidates.is_empty() => LoggedBy::NoSuchRule,
                None => LoggedBy::NotOnPath(candidates),
            };
            FlowAnswer {
                packet,
                outcome,
                logged_by,
                ttl_restored,
                assumed,
                contradiction,
            }
        })
        .collect()
}

/// The flows a deciding rule (or policy, or the stack...) decided, and their lines.
#[derive(Debug, Clone)]
pub struct DeciderTally {
    /// `None`: the fate depends on an Unknown match.
    pub decider: Option<Decider>,
    /// The fate of the first flow it decided (a rule decides one fate).
    pub fate: Option<Fate>,
    pub flows: u64,
    pub lines: u64,
}

/// A [`Decider`] as a map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DeciderKey {
    Undecided,
    Rule(RuleRef),
    Policy(ChainRef),
    Routing,
    Stack,
    Conntrack,
}

impl DeciderKey {
    fn of(o: &Outcome) -> DeciderKey {
        if o.decided_fate().is_none() {
            return DeciderKey::Undecided;
        }
        match &o.primary().decider {
            Decider::Rule(r) => DeciderKey::Rule(*r),
            Decider::Policy(c) => DeciderKey::Policy(*c),
            Decider::Routing => DeciderKey::Routing,
            Decider::Stack => DeciderKey::Stack,
            Decider::Conntrack => DeciderKey::Conntrack,
        }
    }
}

/// The flows and lines each decider decided, most lines first (then most flows, then the
/// first met). `answers[i]` is the simulation of `flows[i]`.
pub fn tally_by_decider(flows: &[Flow], answers: &[FlowAnswer]) -> Vec<DeciderTally> {
    let mut index: HashMap<DeciderKey, usize> = HashMap::new();
    let mut out: Vec<DeciderTally> = Vec::new();
    for (f, a) in flows.iter().zip(answers) {
        let i = *index.entry(DeciderKey::of(&a.outcome)).or_insert_with(|| {
            let decided = a.outcome.decided_fate();
            out.push(DeciderTally {
                decider: decided.map(|_| a.outcome.primary().decider.clone()),
                fate: decided.cloned(),
                flows: 0,
                lines: 0,
            });
            out.len() - 1
        });
        out[i].flows += 1;
        out[i].lines += f.count;
    }
    // Stable: ties keep the order the deciders were first met in.
    out.sort_by_key(|t| std::cmp::Reverse((t.lines, t.flows)));
    out
}

/// The flows' indices, most lines first (ties in order of their first line): the order in
/// which a long log is worth reading.
pub fn by_count(flows: &[Flow]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..flows.len()).collect();
    order.sort_by(|&a, &b| {
        flows[b]
            .count
            .cmp(&flows[a].count)
            .then(flows[a].first_line.cmp(&flows[b].first_line))
    });
    order
}
