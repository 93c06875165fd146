//! Remedies for a fail2ban ban: `fail2ban-client set JAIL unbanip ADDR`. fail2ban removes
//! the address from every action of the jail (the `f2b-JAIL` chain's rule, the ipset or
//! nft set element), so the patched ruleset has the ban gone everywhere it was.
//!
//! Its breadth is [`Breadth::Cause`]: the ban is not a rule the admin wrote but fail2ban's
//! response to the address' failures, and lifting it restores whatever the address could
//! reach before, not one flow. fail2ban bans the address again if it keeps failing the
//! jail's filter ([`FixCaveat::MayBeBannedAgain`]).

use super::{Blocked, Breadth, Candidate, Durability, Language, Step};
use crate::fix_facts::{FixCaveat, Opens, TrafficOpening};
use model::expr::SetRef;
use model::owner::Fail2banRole;
use model::ruleset::NamedSet;
use model::{Key, Owner, Pattern, Role, Rule, RuleRef, Ruleset, Test, Tool, Value};
use std::net::IpAddr;

/// The changes fail2ban's own language offers for `blocked`.
pub(crate) fn candidates(blocked: &Blocked<'_>) -> Vec<Candidate> {
    let Some(Owner {
        tool: Tool::Fail2ban,
        role: Role::Fail2ban(role),
        ..
    }) = blocked.owner
    else {
        return Vec::new();
    };
    let engine::Decider::Rule(at) = blocked.trace.decider else {
        return Vec::new();
    };
    let (jail, address) = match role {
        Fail2banRole::Ban { jail, address } => (jail.clone(), *address),
        // A set action: the deciding rule looked the source up in the jail's set.
        Fail2banRole::Jail(jail) if looks_up_source(blocked.ruleset, at) => {
            (jail.clone(), blocked.trace.final_packet.src)
        }
        Fail2banRole::Jail(_) => return Vec::new(),
    };
    let patched = unbanned(blocked.ruleset, &jail, address);
    vec![Candidate {
        breadth: Breadth::Cause,
        language: Language::Fail2banClient,
        steps: vec![Step::Run(format!(
            "fail2ban-client set {jail} unbanip {address}"
        ))],
        durability: Durability::Durable,
        opens: Opens::Traffic(TrafficOpening {
            proto: None,
            src: Some(address),
            dst: None,
            dport: None,
            iif: None,
            oif: None,
        }),
        caveats: vec![FixCaveat::MayBeBannedAgain { jail }],
        patched: Some(patched),
        // A removal: there is no rule to add.
        kernel_rules: Vec::new(),
    }]
}

/// Whether the rule at `at` looks the packet's source up in a set.
fn looks_up_source(ruleset: &Ruleset, at: RuleRef) -> bool {
    let Some(rule) = rule_at(ruleset, at) else {
        return false;
    };
    rule.matches().any(|m| match &m.test {
        Test::InSet {
            set: SetRef::Ipset { src, .. },
            ..
        } => src.first() == Some(&true),
        Test::InSet { keys, .. } => keys.first() == Some(&Key::SrcAddr),
        _ => false,
    })
}

fn rule_at(ruleset: &Ruleset, at: RuleRef) -> Option<&Rule> {
    ruleset
        .tables
        .get(at.table)?
        .chains
        .get(at.chain)?
        .rules
        .get(at.rule)
}

/// `ruleset` without `jail`'s ban of `address`: its ban rules and its set elements.
fn unbanned(ruleset: &Ruleset, jail: &str, address: IpAddr) -> Ruleset {
    let mut patched = ruleset.clone();
    let is_ban = |r: &Rule| {
        matches!(
            r.origin.owner.as_ref().map(|o| &o.role),
            Some(Role::Fail2ban(Fail2banRole::Ban { jail: j, address: a }))
                if j == jail && *a == address
        )
    };
    let jail_role = Role::Fail2ban(Fail2banRole::Jail(jail.to_string()));
    let is_jail_set = |s: &NamedSet| s.origin.owner.as_ref().is_some_and(|o| o.role == jail_role);
    for set in patched.ipsets.iter_mut().filter(|s| is_jail_set(s)) {
        remove_element(set, address);
    }
    for table in &mut patched.tables {
        for set in table.sets.iter_mut().filter(|s| is_jail_set(s)) {
            remove_element(set, address);
        }
        for chain in &mut table.chains {
            chain.rules.retain(|r| !is_ban(r));
        }
    }
    patched
}

/// Removes the element that is `address` (fail2ban's sets hold single addresses).
fn remove_element(set: &mut NamedSet, address: IpAddr) {
    set.elements.retain(|e| match e.key.first() {
        Some(Pattern::Value(Value::Addr(a))) => *a != address,
        Some(Pattern::Prefix(net)) => {
            !(net.prefix_len() == net.max_prefix_len() && net.addr() == address)
        }
        _ => true,
    });
}

#[cfg(test)]
#[path = "fail2ban_tests.rs"]
mod tests;
