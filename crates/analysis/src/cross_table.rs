//! "It was accepted — why is it dropped?": an accept in one base chain does not save a
//! packet from a drop in another base chain on the same hook.
//!
//! ## What it catches
//! Every base chain registered on a hook runs, in priority order, whichever table (and
//! whichever tool: iptables-nft, firewalld, Docker, a hand-written nft table) it belongs
//! to. `accept` ends only the base chain it was issued in; the next base chain on the hook
//! still runs, and its `drop` is final. Users of mixed hosts read "accepted by firewalld"
//! in a trace and stop looking.
//!
//! ## Example
//! `inet t` forward (priority -10) accepts with `tcp dport 80 accept`, then `ip filter`
//! FORWARD (priority 0) has policy DROP: [`explain`] returns the accept, the drop and the
//! hook, and the report says "accepted by inet t/fwd #1 (priority -10) — but an accept ends
//! only its own base chain: filter/FORWARD (priority 0) still ran and dropped it".
//!
//! Accepts by `type nat` chains (a NAT rule ends its chain with an accept) and by policies
//! are not counted: they are not the "it was allowed" the user is misled by.

use crate::callstack::call_stack;
use engine::{Decider, Event, Fate, Trace, TraceVerdict};
use model::ruleset::ChainType;
use model::{ChainRef, Hook, RuleRef, Ruleset};

/// An explicit accept by an earlier base chain of the hook on which the packet was then
/// dropped or rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossTable {
    /// The hook both base chains are on.
    pub hook: Hook,
    /// The earlier accepts on that hook, in path order (one per base chain).
    pub accepted: Vec<EarlierAccept>,
    /// The base chain in which the packet was then dropped or rejected (by a rule of it
    /// or of a chain it jumped to, or by its policy).
    pub decided_in: ChainRef,
    /// That base chain's priority.
    pub decided_priority: i32,
}

/// One base chain that accepted the packet before the one that dropped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlierAccept {
    /// The base chain that accepted.
    pub base: ChainRef,
    pub priority: i32,
    /// The accepting rule (possibly in a chain the base chain jumped to).
    pub rule: RuleRef,
}

/// The cross-table effect of `trace`, if its fate is a drop or reject that an earlier base
/// chain of the same hook had accepted.
pub fn explain(ruleset: &Ruleset, trace: &Trace) -> Option<CrossTable> {
    if !matches!(trace.fate, Fate::Dropped | Fate::Rejected { .. }) {
        return None;
    }
    let decided_in = match trace.decider {
        Decider::Rule(at) => base_of(trace, at),
        Decider::Policy(c) => c,
        _ => return None,
    };
    let base = ruleset
        .tables
        .get(decided_in.table)?
        .chains
        .get(decided_in.chain)?
        .base
        .as_ref()?;
    let hook = base.hook;
    // The events of the last visit of `hook` (a looped-back packet meets prerouting twice).
    let start = trace
        .events
        .iter()
        .rposition(|e| matches!(e, Event::Hook(h) if *h == hook))?;
    let mut accepted: Vec<EarlierAccept> = Vec::new();
    for e in &trace.events[start..] {
        let Event::Rule {
            hook: h,
            at,
            verdict: TraceVerdict::Accept,
        } = e
        else {
            continue;
        };
        if *h != hook {
            continue;
        }
        let b = base_of(trace, *at);
        if b == decided_in || accepted.iter().any(|a| a.base == b) {
            continue;
        }
        let Some(bc) = ruleset
            .tables
            .get(b.table)
            .and_then(|t| t.chains.get(b.chain))
            .and_then(|c| c.base.as_ref())
        else {
            continue;
        };
        if bc.chain_type == ChainType::Nat {
            continue;
        }
        accepted.push(EarlierAccept {
            base: b,
            priority: bc.priority,
            rule: *at,
        });
    }
    (!accepted.is_empty()).then_some(CrossTable {
        hook,
        accepted,
        decided_in,
        decided_priority: base.priority,
    })
}

/// The base chain a rule was reached from: the outermost caller, or its own chain.
fn base_of(trace: &Trace, at: RuleRef) -> ChainRef {
    call_stack(trace, at)
        .first()
        .map_or(at.chain_ref(), |f| f.from.chain_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Family, Host, SourceFile};

    #[test]
    fn an_nft_accept_does_not_save_a_packet_from_an_iptables_policy_drop() {
        let mut rs = frontends::nft::parse_text(&SourceFile::new(
            "t.nft",
            "table inet t {\n chain fwd {\n  type filter hook forward priority -10; policy accept;\n  tcp dport 80 accept\n }\n}\n",
        ))
        .unwrap();
        rs.merge(
            frontends::iptables_save::parse(
                &SourceFile::new(
                    "rules.v4",
                    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
                ),
                Some(Family::Ip),
            )
            .unwrap(),
        );
        let args: Vec<String> = "tcp 10.0.0.2:4000 10.0.1.2:80 in eth0 out eth1"
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let spec = frontends::packet_spec::parse(&args).unwrap();
        let mut p = spec.packet;
        p.iif = spec.given_in;
        p.oif = spec.given_out;
        let o = engine::simulate(&rs, &Host::default(), &p, &engine::Options::default());
        let trace = o.primary();
        assert_eq!(trace.fate, Fate::Dropped);
        let x = explain(&rs, trace).expect("cross-table effect");
        assert_eq!(x.hook, Hook::Forward);
        assert_eq!(x.accepted.len(), 1);
        assert_eq!(x.accepted[0].priority, -10);
        assert_eq!(rs.tables[x.accepted[0].base.table].name, "t");
        assert_eq!(rs.tables[x.decided_in.table].name, "filter");
        assert_eq!(x.decided_priority, 0);

        // Port 81 is not accepted by `inet t`: nothing to explain.
        p.l4 = p.l4.with_ports(4000, 81);
        let o = engine::simulate(&rs, &Host::default(), &p, &engine::Options::default());
        assert!(explain(&rs, o.primary()).is_none());
    }
}
