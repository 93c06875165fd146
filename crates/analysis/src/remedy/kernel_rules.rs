//! Remedies as plain kernel rules (`iptables -I ...`, `nft insert rule ...`, `nft add
//! element ...`), placed by the fix search ([`crate::fix`]) and written in the dialect of
//! the table they go into. For hand-written rules the steps include the line for the
//! persistent file; in a chain a tool rewrites they say they will not survive a reload.

use super::{Blocked, Breadth, Candidate, Durability, Language, Step};
use crate::fix::{Fix, FixRule};
use model::owner::UnmanagedRole;
use model::{Owner, Role, Ruleset, Tool};

/// The kernel-rule remedies for `blocked`.
pub(crate) fn candidates(blocked: &Blocked<'_>) -> Vec<Candidate> {
    let Some(fix) = crate::fix::suggest(
        blocked.ruleset,
        blocked.host,
        blocked.packet,
        blocked.outcome,
        blocked.options,
    ) else {
        return Vec::new();
    };
    vec![candidate(blocked.ruleset, Breadth::Flow, fix)]
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
                line: persistent_line(rule),
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

/// The rule as it is written in the persistent file: `-A CHAIN ...` for rules.v4/v6 (the
/// command without the tool and its `-I CHAIN N`), the rule body for nftables.conf.
fn persistent_line(rule: &FixRule) -> String {
    rule.command.clone()
}
