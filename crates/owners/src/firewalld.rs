//! Recognising firewalld's objects: its nftables table (`table inet firewalld`) and the
//! chains of its iptables backend, each chain and rule with the zone or policy and the
//! part of it (service, port, rich rule, protocol, ICMP block, forward port, masquerade,
//! the zone's target) it implements; and [`zone_of`]: which zone a packet lands in, and
//! why.
//!
//! Chain names are read by [`chain_name`], the configuration by [`config`]; what a rule
//! is, from its shape, by `rule_part`.

pub mod chain_name;
pub mod config;
mod rule_part;
mod zone_of;

pub use zone_of::{zone_of, Direction, ZoneChoice, ZoneWhy};

use crate::claim::claim;
use chain_name::{ChainKind, ChainName, SubChain};
use config::{FirewalldConfig, Located};
use model::owner::{FirewalldPart, FirewalldRole};
use model::tool_config::ToolConfig;
use model::{
    Chain, Evidence, Family, Key, Owner, Pattern, Role, Rule, Ruleset, Table, Test, Tool, Value,
    Verdict,
};

/// The zones firewalld ships (`/usr/lib/firewalld/zones`): an iptables chain named after
/// one of them is the zone's, not a policy's.
const SHIPPED_ZONES: [&str; 10] = [
    "block",
    "dmz",
    "drop",
    "external",
    "home",
    "internal",
    "nm-shared",
    "public",
    "trusted",
    "work",
];

/// firewalld's nftables table, and the one it loads while starting or in panic mode.
const NFT_TABLES: [&str; 2] = ["firewalld", "firewalld_policy_drop"];

/// Claims firewalld's tables, chains and rules.
pub(crate) fn recognise(ruleset: &mut Ruleset, config: &ToolConfig) {
    let cfg = FirewalldConfig::read(config);
    for table in &mut ruleset.tables {
        let nft = table.origin.dialect.is_some_and(|d| d.is_nft());
        if nft && table.family == Family::Inet && NFT_TABLES.contains(&table.name.as_str()) {
            recognise_nft_table(table, &cfg);
        } else if !nft && has_iptables_layout(table) {
            recognise_iptables_table(table, &cfg);
        }
    }
}

fn owner(evidence: Evidence, role: Role) -> Owner {
    Owner {
        tool: Tool::Firewalld,
        evidence,
        role,
    }
}

fn infrastructure() -> Role {
    Role::Firewalld(FirewalldRole::Infrastructure)
}

fn recognise_nft_table(table: &mut Table, cfg: &FirewalldConfig) {
    let table_evidence = Evidence::TableName(format!("inet {}", table.name));
    claim(
        &mut table.origin,
        owner(table_evidence.clone(), infrastructure()),
    );
    let names: Vec<Option<ChainName>> = table
        .chains
        .iter()
        .map(|c| chain_name::parse_nft(&c.name))
        .collect();
    let zone_targets = ZoneTargets::of(table, &names, cfg);
    for (chain, name) in table.chains.iter_mut().zip(&names) {
        // Every chain of firewalld's table is firewalld's, named or not.
        let (role, evidence) = match name {
            Some(n) => (chain_role(n, &chain.name, cfg), chain_evidence(&chain.name)),
            None => (infrastructure(), table_evidence.clone()),
        };
        claim(&mut chain.origin, owner(evidence, role.clone()));
        claim_rules(chain, name.as_ref(), &role, cfg, &zone_targets, |target| {
            chain_name::parse_nft(target)
        });
    }
}

/// Whether an iptables table has firewalld's layout: its `_direct` chains (created by the
/// iptables backend of every version) or its zone dispatch.
fn has_iptables_layout(table: &Table) -> bool {
    table.chains.iter().any(|c| {
        ["_direct", "_ZONES", "_dispatch"]
            .iter()
            .any(|s| c.name.ends_with(s))
            && chain_name::parse_iptables(&table.name, &c.name)
                .is_some_and(|n| n.kind == ChainKind::Infrastructure)
    })
}

fn recognise_iptables_table(table: &mut Table, cfg: &FirewalldConfig) {
    let kernel_table = table.name.clone();
    let names: Vec<Option<ChainName>> = table
        .chains
        .iter()
        .map(|c| chain_name::parse_iptables(&kernel_table, &c.name))
        .collect();
    let zone_targets = ZoneTargets::of(table, &names, cfg);
    let parse = |target: &str| chain_name::parse_iptables(&kernel_table, target);
    for (chain, name) in table.chains.iter_mut().zip(&names) {
        match name {
            Some(n) => {
                let role = chain_role(n, &chain.name, cfg);
                claim(
                    &mut chain.origin,
                    owner(chain_evidence(&chain.name), role.clone()),
                );
                claim_rules(chain, Some(n), &role, cfg, &zone_targets, parse);
            }
            // A built-in chain: firewalld's are the rules that hand over to its chains and
            // the base rules around them; other tools' rules stay theirs.
            None if chain.base.is_some() => claim_builtin_rules(chain, parse),
            None => {}
        }
    }
}

fn chain_evidence(name: &str) -> Evidence {
    Evidence::ChainName(name.to_string())
}

/// What a chain is to firewalld, from its name (and, for an iptables chain that could be a
/// zone's or a policy's, from the configuration; `Unknown` when that does not say).
fn chain_role(name: &ChainName, chain: &str, cfg: &FirewalldConfig) -> Role {
    let part = FirewalldPart::Chain(chain.to_string());
    match &name.kind {
        ChainKind::Infrastructure => infrastructure(),
        ChainKind::Policy { policy, .. } => Role::Firewalld(FirewalldRole::Policy {
            policy: policy.clone(),
            part,
        }),
        ChainKind::Zone { zone, .. } if name.policy_or_zone => {
            if cfg.zones.contains_key(zone) || SHIPPED_ZONES.contains(&zone.as_str()) {
                zone_role(zone, part)
            } else if cfg.policies.contains_key(zone) {
                Role::Firewalld(FirewalldRole::Policy {
                    policy: zone.clone(),
                    part,
                })
            } else {
                Role::Unknown
            }
        }
        _ => match name.target_zone() {
            Some(zone) => zone_role(zone, part),
            None => infrastructure(),
        },
    }
}

fn zone_role(zone: &str, part: FirewalldPart) -> Role {
    Role::Firewalld(FirewalldRole::Zone {
        zone: zone.to_string(),
        part,
    })
}

/// The same role with another part.
fn with_part(role: &Role, part: FirewalldPart) -> Role {
    match role {
        Role::Firewalld(FirewalldRole::Zone { zone, .. }) => zone_role(zone, part),
        Role::Firewalld(FirewalldRole::Policy { policy, .. }) => {
            Role::Firewalld(FirewalldRole::Policy {
                policy: policy.clone(),
                part,
            })
        }
        other => other.clone(),
    }
}

fn jump_target(rule: &Rule) -> Option<&str> {
    match rule.verdict()? {
        Verdict::Jump(t) | Verdict::Goto(t) => Some(t),
        _ => None,
    }
}

fn claim_rules(
    chain: &mut Chain,
    name: Option<&ChainName>,
    chain_role_: &Role,
    cfg: &FirewalldConfig,
    zone_targets: &ZoneTargets,
    parse: impl Fn(&str) -> Option<ChainName>,
) {
    let chain_label = chain.name.clone();
    for rule in &mut chain.rules {
        let (role, evidence) = rule_role(
            rule,
            &chain_label,
            name,
            chain_role_,
            cfg,
            zone_targets,
            &parse,
        );
        claim(&mut rule.origin, owner(evidence, role));
    }
}

fn rule_role(
    rule: &Rule,
    chain: &str,
    name: Option<&ChainName>,
    chain_role_: &Role,
    cfg: &FirewalldConfig,
    zone_targets: &ZoneTargets,
    parse: &impl Fn(&str) -> Option<ChainName>,
) -> (Role, Evidence) {
    let by_chain = chain_evidence(chain);
    // A hand-over to another of firewalld's chains is that chain's.
    if let Some(target) = jump_target(rule) {
        return match parse(target) {
            Some(t) => (chain_role(&t, target, cfg), chain_evidence(target)),
            None => (chain_role_.clone(), by_chain),
        };
    }
    let Some(name) = name else {
        return (chain_role_.clone(), by_chain);
    };
    let zone = name.target_zone();
    match &name.kind {
        ChainKind::Zone { sub, .. } | ChainKind::Policy { sub, .. } if *sub != SubChain::Main => {
            let policy_zone = matches!(name.kind, ChainKind::Zone { .. }).then_some(zone);
            let (part, shown) = rule_part::part_of(rule, chain, *sub, policy_zone.flatten(), cfg);
            let evidence = shown.map_or(by_chain, config_evidence);
            (with_part(chain_role_, part), evidence)
        }
        ChainKind::Zone { .. } | ChainKind::ZonePair { .. }
            if is_target_rule(rule) || is_default_icmp_accept(rule) =>
        {
            let zone = zone.unwrap_or_default();
            let (target, shown) = zone_targets.target(zone);
            let evidence = shown.map_or(by_chain, config_evidence);
            (
                with_part(chain_role_, FirewalldPart::Target(target.to_string())),
                evidence,
            )
        }
        ChainKind::Policy { .. } if is_target_rule(rule) => {
            let target = match rule.verdict() {
                Some(Verdict::Accept) => "ACCEPT",
                Some(Verdict::Drop) => "DROP",
                _ => "REJECT",
            };
            (
                with_part(chain_role_, FirewalldPart::Target(target.to_string())),
                by_chain,
            )
        }
        _ => (chain_role_.clone(), by_chain),
    }
}

fn config_evidence(at: Located<String>) -> Evidence {
    Evidence::Config {
        path: at.path,
        line: at.line,
    }
}

/// A zone's or policy's target rule: an unconditional accept, drop or reject.
fn is_target_rule(rule: &Rule) -> bool {
    rule.matches().next().is_none()
        && matches!(
            rule.verdict(),
            Some(Verdict::Accept | Verdict::Drop | Verdict::Reject(_))
        )
}

/// `meta l4proto { icmp, ipv6-icmp } accept` (iptables: `-p icmp -j ACCEPT`): what the
/// `default` target adds to a zone's INPUT chain.
fn is_default_icmp_accept(rule: &Rule) -> bool {
    let icmp = |p: &Pattern| {
        matches!(p, Pattern::Value(Value::Int(1 | 58)))
            || matches!(p, Pattern::OneOf(ps) if ps.iter().all(|p| matches!(p, Pattern::Value(Value::Int(1 | 58)))))
    };
    matches!(rule.verdict(), Some(Verdict::Accept))
        && rule.matches().count() == 1
        && rule.matches().all(|m| {
            !m.negated
                && matches!(&m.test, Test::Cmp { key: Key::L4Proto, pattern } if icmp(pattern))
        })
}

/// Each zone's target: from its XML when recorded, else from its rules (a zone whose INPUT
/// chain accepts ICMP and then rejects has the `default` target).
struct ZoneTargets<'a> {
    cfg: &'a FirewalldConfig,
    /// Zones whose `IN` main chain holds the `default` target's ICMP accept.
    default_icmp: Vec<String>,
    /// The verdict ending each zone's pair or main chain, by zone.
    verdicts: Vec<(String, &'static str)>,
}

impl<'a> ZoneTargets<'a> {
    fn of(table: &Table, names: &[Option<ChainName>], cfg: &'a FirewalldConfig) -> Self {
        let mut default_icmp = Vec::new();
        let mut verdicts = Vec::new();
        for (chain, name) in table.chains.iter().zip(names) {
            let Some(name) = name else { continue };
            let filter_in =
                name.table == "filter" && name.shortcut == Some(chain_name::Shortcut::In);
            match &name.kind {
                ChainKind::Zone {
                    zone,
                    sub: SubChain::Main,
                } if filter_in => {
                    if chain.rules.iter().any(is_default_icmp_accept) {
                        default_icmp.push(zone.clone());
                    }
                    if let Some(v) = chain.rules.last().and_then(target_word) {
                        verdicts.push((zone.clone(), v));
                    }
                }
                ChainKind::ZonePair { ingress, .. } if filter_in => {
                    if let Some(v) = chain.rules.last().and_then(target_word) {
                        verdicts.push((ingress.clone(), v));
                    }
                }
                _ => {}
            }
        }
        ZoneTargets {
            cfg,
            default_icmp,
            verdicts,
        }
    }

    /// The zone's target as `--get-target` prints it, and the XML line that sets it.
    fn target(&self, zone: &str) -> (String, Option<Located<String>>) {
        if let Some(z) = self.cfg.zones.get(zone) {
            let target = z.target.clone().unwrap_or_else(|| "default".to_string());
            let line = z.path.clone();
            return (
                target.clone(),
                Some(Located {
                    value: target,
                    path: line,
                    line: 0,
                }),
            );
        }
        if self.default_icmp.iter().any(|z| z == zone) {
            return ("default".to_string(), None);
        }
        let word = self
            .verdicts
            .iter()
            .find(|(z, _)| z == zone)
            .map_or("%%REJECT%%", |(_, v)| v);
        (word.to_string(), None)
    }
}

fn target_word(rule: &Rule) -> Option<&'static str> {
    if !is_target_rule(rule) {
        return None;
    }
    Some(match rule.verdict()? {
        Verdict::Accept => "ACCEPT",
        Verdict::Drop => "DROP",
        _ => "%%REJECT%%",
    })
}

/// In a built-in iptables chain: the jumps to firewalld's chains, the base rules before
/// the first (conntrack state, loopback) and the catch-all reject after the last.
fn claim_builtin_rules(chain: &mut Chain, parse: impl Fn(&str) -> Option<ChainName>) {
    let hands_over = |r: &Rule| jump_target(r).and_then(&parse).is_some();
    let Some(first) = chain.rules.iter().position(hands_over) else {
        return;
    };
    let last = chain.rules.iter().rposition(hands_over).unwrap_or(first);
    let mut start = first;
    while start > 0 && is_base_rule(&chain.rules[start - 1]) {
        start -= 1;
    }
    let end = match chain.rules.get(last + 1) {
        Some(r)
            if r.matches().next().is_none() && matches!(r.verdict(), Some(Verdict::Reject(_))) =>
        {
            last + 1
        }
        _ => last,
    };
    let evidence = chain_evidence(&chain.name);
    for rule in &mut chain.rules[start..=end] {
        if jump_target(rule).is_some() && !hands_over(rule) {
            continue;
        }
        claim(&mut rule.origin, owner(evidence.clone(), infrastructure()));
    }
}

/// One of the rules firewalld puts in front of its dispatch in a built-in chain.
fn is_base_rule(rule: &Rule) -> bool {
    rule.verdict().is_some_and(|v| matches!(v, Verdict::Accept | Verdict::Drop))
        && rule.matches().all(|m| match &m.test {
            Test::Cmp { key, pattern } => match key {
                Key::CtState | Key::CtStatus => true,
                Key::IifName | Key::OifName => {
                    matches!(pattern, Pattern::Value(Value::Str(s)) | Pattern::Iface(s) if s == "lo")
                }
                _ => false,
            },
            _ => false,
        })
}
