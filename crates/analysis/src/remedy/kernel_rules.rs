//! Remedies as plain kernel rules (`iptables -I ...`, `nft insert rule ...`, `nft add
//! element ...`), placed by the fix search ([`crate::fix`]) and written in the dialect of
//! the table they go into. For hand-written rules the steps include the line for the
//! persistent file; in a chain a tool rewrites they say they will not survive a reload.

use super::exchange::{self, StepRole};
use super::{Blocked, Breadth, Candidate, Durability, Language, Step};
use crate::fix::{Fix, FixRule, Scope};
use model::owner::UnmanagedRole;
use model::{Owner, Role, Ruleset, Tool};

/// The kernel-rule remedies for `blocked`: this flow and the service; for a blocked reply
/// or established packet the missing `ct state established,related accept`, and for a
/// request whose reply would be blocked too, each rung with that rule added.
pub(crate) fn candidates(blocked: &Blocked<'_>) -> Vec<Candidate> {
    let search = |scope| {
        crate::fix::search(
            blocked.ruleset,
            blocked.host,
            blocked.packet,
            blocked.outcome,
            blocked.options,
            scope,
        )
    };
    let flow = search(Scope::Flow);
    let mut out: Vec<Candidate> = Vec::new();
    let mut add = |breadth, fix: Option<Fix>| {
        let fix = fix.map(|f| with_replies(blocked, f));
        // A set element or the same rule at two breadths is one remedy.
        if let Some(fix) = fix.filter(|f| !out.iter().any(|c| c.kernel_rules == f.rules)) {
            out.push(candidate(blocked.ruleset, breadth, fix));
        }
    };
    // A missing set element is the ruleset's own way to open a service: the admin's
    // mechanism, preferred over a new rule of the same breadth.
    let element_is_service = flow.as_ref().is_some_and(
        |f| matches!(&f.opens, crate::fix_facts::Opens::SetElement(e) if e.src.is_none()),
    );
    if element_is_service {
        add(Breadth::Service, flow);
    } else {
        add(Breadth::Flow, flow);
        add(Breadth::Service, search(Scope::Service));
    }
    if super::hit_reply(blocked) {
        add(Breadth::Structural, search(Scope::Established));
    }
    out
}

/// `fix` with `ct state established,related accept` at the top of every base chain that
/// would still stop a later packet of the connection (the reply, the data either way),
/// up to [`crate::fix::MAX_RULES`] of them: a table without it drops the replies of what
/// it lets through.
fn with_replies(blocked: &Blocked<'_>, mut fix: Fix) -> Fix {
    for _ in 0..crate::fix::MAX_RULES {
        let x = exchange::simulate(&fix.patched, blocked.host, blocked.packet, blocked.options);
        let Some(stop) = x.first_failure() else {
            break;
        };
        let Some(base) = stop.base_chain.filter(|_| stop.role != StepRole::Request) else {
            break;
        };
        match crate::fix::with_established(blocked.trace, fix.clone(), base) {
            Some(wider) => fix = wider,
            None => break,
        }
    }
    fix
}

fn candidate(ruleset: &Ruleset, breadth: Breadth, fix: Fix) -> Candidate {
    let nft = fix.rules.iter().any(|r| r.command.starts_with("nft "));
    let owners: Vec<Option<&Owner>> = fix.rules.iter().map(|r| owner_of(ruleset, r)).collect();
    let rewritten = owners
        .iter()
        .flatten()
        .find(|o| o.rewritten_on_reload())
        .map(|o| o.tool.clone());
    let mut steps: Vec<Step> = fix
        .rules
        .iter()
        .map(|r| Step::Run(r.command.clone()))
        .collect();
    for (rule, owner) in fix.rules.iter().zip(&owners) {
        if let Some(Owner {
            role: Role::Unmanaged(UnmanagedRole { file }),
            ..
        }) = owner
        {
            steps.push(Step::AddLine {
                file: file.clone(),
                table: rule.table.clone(),
                chain: rule.chain.clone(),
                line: rule.body.clone(),
            });
        }
    }
    let durability = match rewritten {
        Some(tool) => Durability::LostOnReload(tool),
        None if owners.iter().any(|o| o.is_none()) => Durability::RuntimeOnly,
        None => Durability::Durable,
    };
    Candidate {
        breadth,
        language: if nft {
            Language::Nft
        } else {
            Language::Iptables
        },
        steps,
        durability,
        opens: fix.opens,
        caveats: fix.caveats,
        patched: Some(fix.patched),
        kernel_rules: fix.rules,
    }
}

/// The owner of the chain (or set's table) a fix rule goes into.
fn owner_of<'a>(ruleset: &'a Ruleset, rule: &FixRule) -> Option<&'a Owner> {
    let t = ruleset
        .tables
        .iter()
        .position(|t| t.family == rule.family && t.name == rule.table)?;
    let table = &ruleset.tables[t];
    match table.chain(&rule.chain) {
        Some(c) => owners::owner_of_chain(ruleset, model::ChainRef { table: t, chain: c }),
        None => table.origin.owner.as_ref(),
    }
    .filter(|o| o.tool != Tool::Whyblocked)
}
