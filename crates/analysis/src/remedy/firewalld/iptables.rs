//! Traffic to the host that firewalld's iptables backend rejects: the same `firewall-cmd`
//! changes as on nftables, for the zone whose chains (`IN_public_to_HOST`,
//! `IN_public_deny`, ...) decided the packet, never an `iptables -I IN_public...` typed by
//! hand (firewalld flushes its chains at every reload).
//!
//! The patched ruleset holds the rule firewalld's `ipXtables.py` generates, appended to
//! `IN_{zone}_allow` of the packet's family's `filter` table (`build_policy_ports_rules`:
//! `-p tcp --dport 443 -j ACCEPT`, a rich rule's source in front of the port; no
//! conntrack match), as `iptables-save` prints it.

use super::{changes, runtime_and_permanent, Change, Flow, Scope};
use crate::fix::{FixRule, Position, FIX_SOURCE};
use crate::remedy::{Blocked, Candidate};
use engine::Decider;
use model::owner::FirewalldRole;
use model::{Family, Owner, Role, Ruleset, SourceFile};
use owners::firewalld::chain_name::{self, Shortcut};

/// The allow chain of the zone that rejected a packet to the host.
pub(super) struct Allow {
    zone: String,
    /// Index of the iptables `filter` table in the ruleset.
    table: usize,
    family: Family,
    /// `IN_{zone}_allow`.
    chain: String,
}

impl Allow {
    /// The zone's allow chain, when an input chain of a zone in an iptables `filter`
    /// table decided the packet.
    pub(super) fn of(blocked: &Blocked<'_>, owner: &Owner) -> Option<Allow> {
        let at = match &blocked.trace.decider {
            Decider::Rule(r) => r.chain_ref(),
            Decider::Policy(c) => *c,
            _ => return None,
        };
        let table = blocked.ruleset.tables.get(at.table)?;
        let nft = table.origin.dialect.is_some_and(|d| d.is_nft());
        if nft || table.name != "filter" {
            return None;
        }
        let name = chain_name::parse_iptables(&table.name, &table.chains.get(at.chain)?.name)?;
        if name.shortcut != Some(Shortcut::In) {
            return None;
        }
        let Role::Firewalld(FirewalldRole::Zone { zone, .. }) = &owner.role else {
            return None;
        };
        let chain = format!("IN_{zone}_allow");
        table.chain(&chain)?;
        Some(Allow {
            zone: zone.clone(),
            table: at.table,
            family: table.family,
            chain,
        })
    }
}

/// The rich rule, the service and the port, each appended to the zone's allow chain.
pub(super) fn candidates(blocked: &Blocked<'_>, allow: &Allow, flow: &Flow) -> Vec<Candidate> {
    changes(blocked, flow, false)
        .iter()
        .filter_map(|c| candidate(blocked.ruleset, allow, c, flow))
        .collect()
}

fn candidate(ruleset: &Ruleset, allow: &Allow, change: &Change, flow: &Flow) -> Option<Candidate> {
    let line = format!("-A {} {} -j ACCEPT", allow.chain, matches(change, flow));
    let patched = append(ruleset, allow, &line)?;
    let tool = if allow.family == Family::Ip6 {
        "ip6tables"
    } else {
        "iptables"
    };
    let kernel_rule = FixRule {
        command: format!("{tool} {line}"),
        body: line,
        family: allow.family,
        table: "filter".to_string(),
        chain: allow.chain.clone(),
        position: Position::Append,
    };
    let scope = Scope::Zone(allow.zone.clone());
    Some(runtime_and_permanent(
        &scope,
        change,
        flow,
        patched,
        kernel_rule,
    ))
}

/// The generated rule's matches as `iptables-save` prints them: the rich rule's source
/// (`-s 192.0.2.10/32`), then the protocol and port.
fn matches(change: &Change, flow: &Flow) -> String {
    let port = format!("-p {0} -m {0} --dport {1}", flow.proto, flow.port);
    match change.src {
        Some(src) => {
            let len = if src.is_ipv6() { 128 } else { 32 };
            format!("-s {src}/{len} {port}")
        }
        None => port,
    }
}

/// `ruleset` with `line` (`-A IN_public_allow ...`) appended to the zone's allow chain.
fn append(ruleset: &Ruleset, allow: &Allow, line: &str) -> Option<Ruleset> {
    let text = format!("*filter\n:{} - [0:0]\n{line}\nCOMMIT\n", allow.chain);
    let source = SourceFile::new(FIX_SOURCE, text);
    let parsed = frontends::iptables_save::parse(&source, Some(allow.family)).ok()?;
    let rules = parsed
        .tables
        .into_iter()
        .flat_map(|t| t.chains)
        .find(|c| c.name == allow.chain)?
        .rules;
    let mut patched = ruleset.clone();
    let table = patched.tables.get_mut(allow.table)?;
    let c = table.chain(&allow.chain)?;
    table.chains[c].rules.extend(rules);
    if patched.source(FIX_SOURCE).is_none() {
        patched.sources.push(source);
    }
    Some(patched)
}
