//! Tables and chains: a table's chains (a chain on several devices is one base chain
//! per device), jump targets checked, and a base chain's type, hook, priority and policy.

use super::set::lower_set;
use super::{source_of, TableCx};
use crate::nft::ast::{ChainAst, HookAst, Prio, RuleAst, TableAst};
use crate::{ErrorKind, ParseError};
use model::expr::{Action, Verdict};
use model::ruleset::{BaseChain, ChainType, Family, Hook};
use model::{Chain, Rule, SourceFile, Table};
use std::collections::HashSet;

/// A table: its chains (rules lowered), jump targets checked, its sets (named, then the
/// anonymous ones its rules made).
pub(super) fn lower_table(mut t: TableAst, sources: &[SourceFile]) -> Result<Table, ParseError> {
    // The rules are taken out of the tree (lowering reads the table's chains and sets, never
    // its rules) and each is dropped once lowered.
    let rules: Vec<Vec<RuleAst>> = t
        .chains
        .iter_mut()
        .map(|c| std::mem::take(&mut c.rules))
        .collect();
    let t = &t;
    let mut cx = TableCx {
        family: t.family,
        table: t,
        anon: Vec::new(),
        dynamic: HashSet::new(),
    };
    let mut chains = Vec::with_capacity(t.chains.len());
    for (c, rules) in t.chains.iter().zip(rules) {
        chains.extend(lower_chain(&mut cx, c, rules, sources)?);
    }
    check_jumps(t, &chains, sources)?;
    let mut sets = Vec::with_capacity(t.sets.len() + cx.anon.len());
    for s in &t.sets {
        let src = source_of(sources, &s.origin);
        let mut set = lower_set(s, t.family, &src)?;
        set.dynamic |= cx.dynamic.contains(&s.name);
        sets.push(set);
    }
    sets.append(&mut cx.anon);
    Ok(Table {
        family: t.family,
        name: t.name.clone(),
        chains,
        sets,
        origin: t.origin.clone(),
    })
}

/// A chain as model chains: one, or for a base chain on several devices one per device
/// (same name and rules), since the engine matches one device per base chain.
fn lower_chain(
    cx: &mut TableCx<'_>,
    c: &ChainAst,
    rule_asts: Vec<RuleAst>,
    sources: &[SourceFile],
) -> Result<Vec<Chain>, ParseError> {
    let t = cx.table;
    let src = source_of(sources, &c.origin);
    // A dormant table is not registered with the kernel: its chains see no packets, so
    // they are kept as regular chains (nothing reaches them).
    let dormant = t.flags.iter().any(|f| f == "dormant");
    let base = match (&c.hook, dormant) {
        (Some(h), false) => Some(base_chain(h, t.family, &src)?),
        _ => None,
    };
    let mut rules = Vec::with_capacity(rule_asts.len());
    for r in rule_asts {
        let src = source_of(sources, &r.origin);
        let mut bodies = cx.rule(&r, &src)?;
        let last = bodies.pop();
        for body in bodies {
            rules.push(Rule {
                body,
                origin: r.origin.clone(),
            });
        }
        if let Some(body) = last {
            rules.push(Rule {
                body,
                origin: r.origin,
            });
        }
    }
    let devices: Vec<Option<String>> = match &base {
        Some(_) if c.hook.as_ref().is_some_and(|h| h.devices.len() > 1) => c
            .hook
            .iter()
            .flat_map(|h| h.devices.iter().cloned().map(Some))
            .collect(),
        _ => vec![None],
    };
    // One chain per device; the last takes the rules, the others copy them.
    let n = devices.len();
    let per_device = devices.into_iter().enumerate().map(|(i, dev)| {
        let mut base = base.clone();
        if let (Some(b), Some(d)) = (base.as_mut(), dev) {
            b.device = Some(d);
        }
        Chain {
            name: c.name.clone(),
            base,
            rules: if i + 1 == n {
                std::mem::take(&mut rules)
            } else {
                rules.clone()
            },
            counters: None,
            origin: c.origin.clone(),
            numbers: Default::default(),
        }
    });
    Ok(per_device.collect())
}

/// Every `jump`/`goto` names a chain of the table.
fn check_jumps(t: &TableAst, chains: &[Chain], sources: &[SourceFile]) -> Result<(), ParseError> {
    for r in chains.iter().flat_map(|c| &c.rules) {
        for a in r.actions() {
            if let Action::Verdict(Verdict::Jump(n) | Verdict::Goto(n)) = a {
                if t.chains.iter().all(|c| &c.name != n) {
                    let src = source_of(sources, &r.origin);
                    return Err(ParseError::new(
                        &src,
                        r.origin.span,
                        ErrorKind::Undefined {
                            what: "chain".into(),
                            name: n.clone(),
                        },
                    ));
                }
            }
        }
    }
    Ok(())
}

pub(super) fn base_chain(
    h: &HookAst,
    family: Family,
    src: &SourceFile,
) -> Result<BaseChain, ParseError> {
    let bad = |what: &str, value: &str, reason: &str| {
        ParseError::new(
            src,
            h.span,
            ErrorKind::InvalidValue {
                what: what.into(),
                value: value.into(),
                reason: reason.into(),
            },
        )
    };
    let chain_type = match h.chain_type.as_str() {
        "filter" => ChainType::Filter,
        "nat" => ChainType::Nat,
        "route" => ChainType::Route,
        other => return Err(bad("chain type", other, "expected filter, nat or route")),
    };
    let Some(hook) = Hook::from_name(&h.hook) else {
        return Err(bad(
            "hook",
            &h.hook,
            "expected prerouting, input, forward, output, postrouting, ingress or egress",
        ));
    };
    let priority = match &h.priority {
        Prio::Num(n) => *n,
        Prio::Named { name, offset } => match std_priority(family, name) {
            Some(p) => p + offset,
            None => {
                return Err(bad(
                    "priority",
                    name,
                    &format!("not a standard priority name in the {family} family"),
                ))
            }
        },
    };
    let priority = i32::try_from(priority)
        .map_err(|_| bad("priority", &priority.to_string(), "out of range"))?;
    let policy = match h.policy.as_deref() {
        None | Some("accept") => Verdict::Accept,
        Some("drop") => Verdict::Drop,
        Some(other) => return Err(bad("policy", other, "expected accept or drop")),
    };
    let device = h.devices.first().cloned();
    Ok(BaseChain {
        hook,
        chain_type,
        priority,
        policy,
        device,
    })
}

/// nft's named priorities (`std_prio_lookup` in src/rule.c): the bridge family has its own
/// table; arp and netdev know only `filter`.
pub fn std_priority(family: Family, name: &str) -> Option<i64> {
    use model::ruleset::priority as p;
    match family {
        Family::Bridge => Some(match name {
            "dstnat" => -300,
            "filter" => -200,
            "out" => 100,
            "srcnat" => 300,
            _ => return None,
        }),
        Family::Arp | Family::Netdev => (name == "filter").then_some(0),
        _ => Some(i64::from(match name {
            "raw" => p::RAW,
            "mangle" => p::MANGLE,
            "dstnat" => p::NAT_DST,
            "filter" => p::FILTER,
            "security" => p::SECURITY,
            "srcnat" => p::NAT_SRC,
            _ => return None,
        })),
    }
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    #[test]
    fn named_priorities_with_offsets_by_family() {
        let rs = text(
            "table inet a { chain x { type filter hook input priority filter + 10; policy drop; } }\n\
             table ip b { chain y { type nat hook prerouting priority dstnat - 5; } }\n\
             table bridge c { chain z { type filter hook prerouting priority dstnat; } }\n\
             table netdev d { chain w { type filter hook ingress device \"eth0\" priority -500; } }\n",
        );
        let prio = |t: usize| rs.tables[t].chains[0].base.clone().unwrap();
        assert_eq!((prio(0).priority, prio(0).policy), (10, Verdict::Drop));
        assert_eq!(
            (prio(1).priority, prio(1).chain_type, prio(1).policy),
            (-105, ChainType::Nat, Verdict::Accept)
        );
        assert_eq!(prio(2).priority, -300);
        assert_eq!(
            (prio(3).priority, prio(3).device.as_deref()),
            (-500, Some("eth0"))
        );
        let e = parse_text(&SourceFile::new(
            "x",
            "table netdev n { chain c { type filter hook ingress device lo priority srcnat; } }",
        ))
        .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::InvalidValue { .. }), "{e}");
    }

    #[test]
    fn several_devices_make_one_base_chain_each() {
        let rs = text("table netdev t {\n chain c {\n type filter hook ingress devices = { eth0, eth1 } priority filter; policy drop;\n drop\n }\n}\n");
        let devs: Vec<_> = rs.tables[0]
            .chains
            .iter()
            .map(|c| c.base.clone().unwrap().device)
            .collect();
        assert_eq!(
            devs,
            vec![Some("eth0".to_string()), Some("eth1".to_string())]
        );
    }

    #[test]
    fn dormant_tables_have_no_base_chains() {
        let rs = text("table ip t {\n flags dormant\n chain c { type filter hook input priority 0; policy drop; }\n}\n");
        assert!(rs.tables[0].chains[0].base.is_none());
    }
}
