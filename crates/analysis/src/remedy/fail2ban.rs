//! Remedies for a fail2ban ban: `fail2ban-client set JAIL unbanip ADDR`. fail2ban removes
//! the address from every action of the jail (the `f2b-JAIL` chain's rule, the ipset or
//! nft set element), so the patched ruleset has the ban gone everywhere it was.
//!
//! Its breadth is [`Breadth::Cause`]: the ban is not a rule the admin wrote but fail2ban's
//! response to the address' failures, and lifting it restores whatever the address could
//! reach before, not one flow. fail2ban bans the address again if it keeps failing the
//! jail's filter ([`FixCaveat::MayBeBannedAgain`]).

use super::{removal, Blocked, Breadth, Candidate, Durability, Language, Step};
use crate::fix::FixRule;
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
    let (patched, kernel_rules) = unbanned(blocked.ruleset, &jail, address);
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
        kernel_rules: kernel_rules.unwrap_or_default(),
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

/// `ruleset` without `jail`'s ban of `address`: its ban rules and its set elements; with
/// the kernel commands that remove the same (`None` when one cannot be named).
fn unbanned(ruleset: &Ruleset, jail: &str, address: IpAddr) -> (Ruleset, Option<Vec<FixRule>>) {
    let mut patched = ruleset.clone();
    let mut kernel: Option<Vec<FixRule>> = Some(Vec::new());
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
        if remove_element(set, address) {
            push(
                &mut kernel,
                Some(vec![removal::delete_ipset_element(set, address)]),
            );
        }
    }
    for (t, table) in patched.tables.iter_mut().enumerate() {
        for set in table.sets.iter_mut().filter(|s| is_jail_set(s)) {
            if remove_element(set, address) {
                let rule = removal::delete_nft_element(ruleset, t, &set.name, address);
                push(&mut kernel, rule.map(|r| vec![r]));
            }
        }
        for (c, chain) in table.chains.iter_mut().enumerate() {
            let bans: Vec<usize> = (0..chain.rules.len())
                .filter(|&i| is_ban(&chain.rules[i]))
                .collect();
            if !bans.is_empty() {
                push(&mut kernel, removal::delete_rules(ruleset, t, c, &bans));
            }
            chain.rules.retain(|r| !is_ban(r));
        }
    }
    (patched, kernel)
}

/// Adds `rules` to `all`; one removal that cannot be named leaves none.
fn push(all: &mut Option<Vec<FixRule>>, rules: Option<Vec<FixRule>>) {
    match (all.as_mut(), rules) {
        (Some(all), Some(rules)) => all.extend(rules),
        _ => *all = None,
    }
}

/// Removes the element that is `address` (fail2ban's sets hold single addresses);
/// whether there was one.
fn remove_element(set: &mut NamedSet, address: IpAddr) -> bool {
    let before = set.elements.len();
    set.elements.retain(|e| match e.key.first() {
        Some(Pattern::Value(Value::Addr(a))) => *a != address,
        Some(Pattern::Prefix(net)) => {
            !(net.prefix_len() == net.max_prefix_len() && net.addr() == address)
        }
        _ => true,
    });
    set.elements.len() < before
}

#[cfg(test)]
#[path = "fail2ban_tests.rs"]
mod tests;
