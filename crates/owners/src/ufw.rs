//! Recognising ufw's objects in the `filter` tables of iptables (legacy or iptables-nft,
//! as `iptables-save` or `nft list ruleset` shows them): the `ufw-*` / `ufw6-*` chains of
//! its templates, the jumps into them from `INPUT`/`FORWARD`/`OUTPUT`, the defaults ufw
//! sets there, and the user rules of `ufw-user-{input,output,forward}`, tied to their
//! `### tuple ###` lines when the snapshot recorded `/etc/ufw/user.rules`.
//!
//! How ufw writes a default (`/lib/ufw/ufw-init-functions`, ufw 0.36.2): the base chain's
//! policy is `ACCEPT` for `allow` and `DROP` for `deny` and `reject`; `reject` adds
//! `-A ufw-reject-<dir> -j REJECT`, reached from the base chain after every other ufw
//! chain; `ufw-skip-to-policy-<dir>` ends in the default's own target; `allow` adds the
//! `ufw-track-<dir>` accepts of new connections.

mod user_rules;

use crate::claim::claim;
use model::owner::{UfwDirection, UfwRole, UfwTuple};
use model::tool_config::ToolConfig;
use model::{Chain, Evidence, Family, Owner, Role, Ruleset, Table, Tool, Verdict};
use user_rules::{user_rules_path, TupleLines, UserRules};

/// Where ufw records its defaults.
const DEFAULTS_FILE: &str = "/etc/default/ufw";

/// Claims ufw's tables, chains and rules.
pub(crate) fn recognise(ruleset: &mut Ruleset, config: &ToolConfig) {
    let user_rules = UserRules::read(config);
    for table in &mut ruleset.tables {
        let Some(prefix) = ufw_prefix(table) else {
            continue;
        };
        let defaults: Vec<(UfwDirection, Option<(String, Evidence)>)> = DIRECTIONS
            .iter()
            .map(|&(dir, base, _)| (dir, default_policy(table, prefix, dir, base, config)))
            .collect();
        let tuples = user_rules.of(table.family);
        for chain in &mut table.chains {
            if let Some(&(dir, _, _)) = DIRECTIONS.iter().find(|(_, b, _)| *b == chain.name) {
                let policy = defaults
                    .iter()
                    .find(|(d, _)| *d == dir)
                    .and_then(|(_, p)| p.clone());
                claim_base_chain(chain, prefix, dir, policy);
            } else if let Some(rest) = chain
                .name
                .strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('-'))
            {
                let rest = rest.to_string();
                claim_ufw_chain(chain, &rest, tuples, table.family);
            }
        }
    }
}

/// The three base chains ufw sets the policy of, with the suffix of its chains for them.
const DIRECTIONS: [(UfwDirection, &str, &str); 3] = [
    (UfwDirection::Incoming, "INPUT", "input"),
    (UfwDirection::Outgoing, "OUTPUT", "output"),
    (UfwDirection::Routed, "FORWARD", "forward"),
];

/// `ufw` for an IPv4 `filter` table holding ufw's chains, `ufw6` for an IPv6 one.
fn ufw_prefix(table: &Table) -> Option<&'static str> {
    let prefix = match table.family {
        Family::Ip => "ufw",
        Family::Ip6 => "ufw6",
        _ => return None,
    };
    let user_input = format!("{prefix}-user-input");
    (table.name == "filter" && table.chain(&user_input).is_some()).then_some(prefix)
}

/// A base chain ufw manages: its policy is the default of `dir`; its jumps into ufw's
/// chains are ufw's template. Other rules (Docker's jumps, say) are left to their owners.
fn claim_base_chain(
    chain: &mut Chain,
    prefix: &str,
    dir: UfwDirection,
    policy: Option<(String, Evidence)>,
) {
    let mut jumps_to_ufw = false;
    for rule in &mut chain.rules {
        if let Some(Verdict::Jump(target) | Verdict::Goto(target)) = rule.verdict() {
            if target.starts_with(&format!("{prefix}-")) {
                jumps_to_ufw = true;
                let owner = Owner {
                    tool: Tool::Ufw,
                    evidence: Evidence::ChainName(target.clone()),
                    role: Role::Ufw(UfwRole::Template {
                        chain: target.clone(),
                    }),
                };
                claim(&mut rule.origin, owner);
            }
        }
    }
    if let (true, Some((policy, evidence))) = (jumps_to_ufw, policy) {
        let owner = Owner {
            tool: Tool::Ufw,
            evidence,
            role: Role::Ufw(UfwRole::DefaultPolicy {
                direction: dir,
                policy,
            }),
        };
        claim(&mut chain.origin, owner);
    }
}

/// A `ufw-*` chain (`rest` is its name after the prefix) and its rules.
fn claim_ufw_chain(chain: &mut Chain, rest: &str, tuples: Option<&[TupleLines]>, family: Family) {
    let name = chain.name.clone();
    let template = Owner {
        tool: Tool::Ufw,
        evidence: Evidence::ChainName(name.clone()),
        role: Role::Ufw(UfwRole::Template {
            chain: name.clone(),
        }),
    };
    claim(&mut chain.origin, template.clone());
    if matches!(rest, "user-input" | "user-output" | "user-forward") {
        claim_user_rules(chain, tuples, family);
        return;
    }
    let dir = DIRECTIONS
        .iter()
        .find(|(_, _, suffix)| rest.strip_suffix(suffix).is_some_and(|p| p.ends_with('-')))
        .map(|&(d, _, _)| d);
    let defaults_chain = rest.starts_with("reject-")
        || rest.starts_with("skip-to-policy-")
        || rest.starts_with("track-");
    for rule in &mut chain.rules {
        let policy = match (dir, defaults_chain, rule.verdict()) {
            (Some(d), true, Some(v)) => policy_of_verdict(v).map(|p| (d, p)),
            _ => None,
        };
        let owner = match policy {
            Some((direction, policy)) => Owner {
                tool: Tool::Ufw,
                evidence: Evidence::ChainName(name.clone()),
                role: Role::Ufw(UfwRole::DefaultPolicy {
                    direction,
                    policy: policy.to_string(),
                }),
            },
            None => template.clone(),
        };
        claim(&mut rule.origin, owner);
    }
}

/// The default a rule of `ufw-reject-*`, `ufw-skip-to-policy-*` or `ufw-track-*` enacts.
fn policy_of_verdict(v: &Verdict) -> Option<&'static str> {
    match v {
        Verdict::Accept => Some("allow"),
        Verdict::Drop => Some("deny"),
        Verdict::Reject(_) => Some("reject"),
        _ => None,
    }
}

/// Ties the rules of a `ufw-user-{input,output,forward}` chain to their tuples: the
/// chain's rules, in order, are the `-A` lines for it in `user.rules`, in order. When the
/// counts or the targets differ the file is not what is loaded, and no rule is tied.
fn claim_user_rules(chain: &mut Chain, tuples: Option<&[TupleLines]>, family: Family) {
    let lines: Vec<(&TupleLines, Option<&str>)> = tuples
        .unwrap_or_default()
        .iter()
        .flat_map(|t| {
            t.rules
                .iter()
                .filter(|r| r.chain == chain.name)
                .map(move |r| (t, r.target.as_deref()))
        })
        .collect();
    let numbers = chain.source_rule_numbers();
    let source_rules = numbers.last().copied().unwrap_or(0);
    let tied = tuples.is_some()
        && source_rules == lines.len()
        && chain
            .rules
            .iter()
            .zip(&numbers)
            .all(|(rule, n)| same_target(rule.verdict(), lines[n - 1].1));
    let name = chain.name.clone();
    for (rule, n) in chain.rules.iter_mut().zip(&numbers) {
        let owner = if tied {
            let t = lines[n - 1].0;
            Owner {
                tool: Tool::Ufw,
                evidence: Evidence::Config {
                    path: user_rules_path(family).to_string(),
                    line: t.line,
                },
                role: Role::Ufw(UfwRole::UserRule(UfwTuple {
                    text: t.text.clone(),
                    number: t.number,
                    v6: family == Family::Ip6,
                })),
            }
        } else {
            Owner {
                tool: Tool::Ufw,
                evidence: Evidence::ChainName(name.clone()),
                role: Role::Ufw(UfwRole::UntiedUserRule {
                    chain: name.clone(),
                }),
            }
        };
        claim(&mut rule.origin, owner);
    }
}

/// Whether a loaded rule's verdict is the `-j` target of its `user.rules` line.
fn same_target(verdict: Option<&Verdict>, target: Option<&str>) -> bool {
    match (verdict, target) {
        (None, None) => true,
        (Some(Verdict::Accept), Some("ACCEPT")) | (Some(Verdict::Drop), Some("DROP")) => true,
        (Some(Verdict::Reject(_)), Some("REJECT")) => true,
        (Some(Verdict::Jump(c) | Verdict::Goto(c)), Some(t)) => c == t,
        _ => false,
    }
}

/// The default of `dir` and what shows it: `/etc/default/ufw` when it agrees with the
/// loaded rules, else the loaded rules themselves (the file may have been edited without
/// a reload; the kernel does what is loaded).
fn default_policy(
    table: &Table,
    prefix: &str,
    dir: UfwDirection,
    base: &str,
    config: &ToolConfig,
) -> Option<(String, Evidence)> {
    let suffix = DIRECTIONS.iter().find(|(d, _, _)| *d == dir)?.2;
    let reject_chain = format!("{prefix}-reject-{suffix}");
    let rejects = table.chain(&reject_chain).is_some_and(|c| {
        table.chains[c]
            .rules
            .iter()
            .any(|r| matches!(r.verdict(), Some(Verdict::Reject(_))))
    });
    let policy = table.chains[table.chain(base)?]
        .base
        .as_ref()?
        .policy
        .clone();
    let loaded = match (rejects, policy) {
        (true, Verdict::Drop) => "reject",
        (false, Verdict::Drop) => "deny",
        (false, Verdict::Accept) => "allow",
        _ => return None,
    };
    let from_file = config_default(config, base).filter(|(p, _)| *p == loaded);
    Some(match from_file {
        Some((p, line)) => (
            p.to_string(),
            Evidence::Config {
                path: DEFAULTS_FILE.to_string(),
                line,
            },
        ),
        None if rejects => (loaded.to_string(), Evidence::ChainName(reject_chain)),
        None => (loaded.to_string(), Evidence::ChainName(base.to_string())),
    })
}

/// `DEFAULT_<BASE>_POLICY="..."` of `/etc/default/ufw`, as `ufw default` spells it, with
/// its line.
fn config_default(config: &ToolConfig, base: &str) -> Option<(&'static str, u32)> {
    let file = config.file(DEFAULTS_FILE)?;
    let key = format!("DEFAULT_{base}_POLICY=");
    file.text.lines().enumerate().find_map(|(i, l)| {
        let value = l.trim().strip_prefix(&key)?.trim_matches('"');
        let policy = match value {
            "ACCEPT" => "allow",
            "DROP" => "deny",
            "REJECT" => "reject",
            _ => return None,
        };
        Some((policy, u32::try_from(i + 1).unwrap_or(u32::MAX)))
    })
}

#[cfg(test)]
#[path = "ufw/tests.rs"]
mod tests;
