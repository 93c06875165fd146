//! One base chain traversal: rules in order, `jump` pushes a frame, `goto` replaces the
//! current chain, `return` and the end of a regular chain pop, `return` or the end with an
//! empty stack applies the base chain's policy (`ipt_do_table`, `nft_do_chain`).
//!
//! `accept` ends this base chain only (the caller runs the next base chain on the hook);
//! `drop`, `reject` and `queue` end the packet's path.
//!
//! A table the kernel would refuse for the way its chains nest (a loop; nf_tables' depth
//! limit: [`crate::linux::nesting`]) ends the path where it enters that table
//! ([`Undetermined::JumpLoop`], [`Undetermined::NestedTooDeep`]), naming the chains; the
//! traversal itself never meets a loop. More than [`MAX_CHAIN_ENTRIES`] chain entries in
//! one traversal (loop-free chains re-entered over and over) end it too.
//!
//! An Unknown match either branches (the rule's verdict depends on it) or, when everything
//! after it in the rule is a match or a non-terminal action (LOG, counter, TRACE, a shown
//! target), is recorded as "may or may not happen" without branching: ufw's rate-limited
//! LOG rules do not split the answer.

use crate::linux::action::{self, Flow};
use crate::linux::eval::{self, Truth};
use crate::linux::nesting::Nesting;
use crate::linux::walk::{End, Frame, Walk};
use crate::trace::{Decider, Event, Fate, TraceVerdict, Undetermined, UnknownChoice, UnknownSite};
use crate::warning::{Assumption, Warning};
use model::expr::{ct_status, Action, Undecidable};
use model::ruleset::{priority, ChainType, Step};
use model::{ChainRef, Hook, Rule, RuleRef, Verdict};

/// Most chain entries (jumps and gotos) in one base chain traversal.
pub const MAX_CHAIN_ENTRIES: usize = 10_000;

/// What a base chain did with the packet when it did not end its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passed {
    /// A rule accepted.
    ByRule(RuleRef),
    /// The policy accepted.
    ByPolicy,
}

/// How one rule ended.
#[derive(Debug, Clone, PartialEq)]
enum RuleEnd {
    /// A match failed (or a statement broke the rule): next rule.
    NoMatch,
    /// All steps ran without a verdict: next rule.
    Continue,
    Flow(Flow),
}

/// Runs base chain `base` on `hook`. `Ok` when the packet goes on to the next base chain
/// (accepted), `Err` with the path's end otherwise. A `type route` chain that changed the
/// mark, TOS or addresses sets [`Walk::route_chain_changed`] (`nf_route_table_hook`,
/// `ipt_mangle_out`).
pub fn run_base_chain(w: &mut Walk<'_, '_>, hook: Hook, base: ChainRef) -> Result<Passed, End> {
    let route_type = w
        .ruleset()
        .tables
        .get(base.table)
        .and_then(|t| t.chains.get(base.chain))
        .and_then(|c| c.base.as_ref())
        .is_some_and(|b| b.chain_type == ChainType::Route);
    if !route_type {
        return run_base_chain_inner(w, hook, base);
    }
    let p = &w.packet;
    let before = (p.mark, p.tos, p.src, p.dst);
    let result = run_base_chain_inner(w, hook, base);
    let p = &w.packet;
    if (p.mark, p.tos, p.src, p.dst) != before {
        w.route_chain_changed = true;
    }
    result
}

fn run_base_chain_inner(w: &mut Walk<'_, '_>, hook: Hook, base: ChainRef) -> Result<Passed, End> {
    let ruleset = w.ruleset();
    let Some(base_chain) = ruleset
        .tables
        .get(base.table)
        .and_then(|t| t.chains.get(base.chain))
    else {
        return Ok(Passed::ByPolicy);
    };
    let chain_type = base_chain
        .base
        .as_ref()
        .map_or(ChainType::Filter, |b| b.chain_type);
    if let Err(refused) = nesting_loads(w, base.table) {
        return Err(end(refused.0, Decider::Rule(refused.1), hook));
    }
    w.stack.clear();
    let mut cur = base;
    let mut idx = 0usize;
    let mut entries = 0usize;
    let prep = w.prep;
    loop {
        let chain = &ruleset.tables[cur.table].chains[cur.chain];
        // Skip the rules whose first match certainly fails, without reading them.
        let quick = prep.quick(cur);
        while idx < quick.len() && !quick[idx].may_match(&w.packet) {
            idx += 1;
        }
        let Some(rule) = chain.rules.get(idx) else {
            // End of the chain: pop, or the base chain's policy.
            match w.stack.pop() {
                Some(frame) => {
                    w.events.push(Event::ChainEnd { hook, chain: cur });
                    cur = frame.chain;
                    idx = frame.next;
                    continue;
                }
                None => {
                    // The end of a chain entered by `goto`: the kernel traces it as the
                    // chain's return (`nft_trace_verdict`, NFT_TRACETYPE_RETURN), then the
                    // base chain's policy.
                    if cur != base {
                        w.events.push(Event::ChainEnd { hook, chain: cur });
                    }
                    return policy(w, hook, base, chain_type);
                }
            }
        };
        let at = RuleRef {
            table: cur.table,
            chain: cur.chain,
            rule: idx,
        };
        match run_rule(w, hook, chain_type, at, rule) {
            RuleEnd::NoMatch | RuleEnd::Continue => idx += 1,
            RuleEnd::Flow(flow) => match flow {
                Flow::Continue => idx += 1,
                Flow::Accept => {
                    if chain_type != ChainType::Nat {
                        w.last_rule_accept = Some(Decider::Rule(at));
                    }
                    return Ok(Passed::ByRule(at));
                }
                Flow::Drop => return Err(end(Fate::Dropped, Decider::Rule(at), hook)),
                Flow::Reject(with) => {
                    return Err(end(Fate::Rejected { with }, Decider::Rule(at), hook))
                }
                Flow::Queue(queue) => {
                    queue_warnings(w, hook, base, at, queue.num, queue.bypass);
                    return Err(end(Fate::Queued { queue }, Decider::Rule(at), hook));
                }
                Flow::Stop(fate) => return Err(end(fate, Decider::Rule(at), hook)),
                Flow::Return => match w.stack.pop() {
                    Some(frame) => {
                        cur = frame.chain;
                        idx = frame.next;
                    }
                    None => return policy(w, hook, base, chain_type),
                },
                Flow::Jump(target) | Flow::Goto(target) => {
                    let target = ChainRef {
                        table: cur.table,
                        chain: target,
                    };
                    entries += 1;
                    if entries > MAX_CHAIN_ENTRIES {
                        let fate = Fate::Undetermined {
                            reason: Undetermined::TooManyChainEntries {
                                limit: MAX_CHAIN_ENTRIES,
                            },
                        };
                        return Err(end(fate, Decider::Rule(at), hook));
                    }
                    if matches!(flow, Flow::Jump(_)) {
                        w.stack.push(Frame {
                            chain: cur,
                            next: idx + 1,
                        });
                    }
                    cur = target;
                    idx = 0;
                }
            },
        }
    }
}

/// Whether the kernel loads table `table` as its chains nest: `Err` with the fate and the
/// refused jump when it does not; the backend assumed, when only one loads it.
fn nesting_loads(w: &mut Walk<'_, '_>, table: usize) -> Result<(), (Fate, RuleRef)> {
    let names = |chains: &[ChainRef]| -> Vec<String> {
        chains
            .iter()
            .map(|&c| w.ruleset().chain_at(c).name.clone())
            .collect()
    };
    let table_name = || w.ruleset().tables[table].name.clone();
    let reason = match w.prep.nesting(table) {
        Nesting::Loads => return Ok(()),
        Nesting::LegacyOnly { depth, path } => {
            let assumption = Assumption::LegacyBackendForDepth {
                table: table_name(),
                depth: *depth,
                path: names(path),
            };
            w.assume(assumption);
            return Ok(());
        }
        Nesting::Loop { cycle, at } => (
            Undetermined::JumpLoop {
                table: table_name(),
                cycle: names(cycle),
            },
            *at,
        ),
        Nesting::TooDeep { path, at, backend } => (
            Undetermined::NestedTooDeep {
                table: table_name(),
                path: names(path),
                backend: *backend,
            },
            *at,
        ),
    };
    Err((Fate::Undetermined { reason: reason.0 }, reason.1))
}

fn end(fate: Fate, by: Decider, hook: Hook) -> End {
    End {
        fate,
        by,
        hook: Some(hook),
    }
}

/// The base chain's policy: accept (next base chain) or drop.
fn policy(
    w: &mut Walk<'_, '_>,
    hook: Hook,
    base: ChainRef,
    chain_type: ChainType,
) -> Result<Passed, End> {
    let chain = w.ruleset().chain_at(base);
    let drops = matches!(
        chain.base.as_ref().map(|b| &b.policy),
        Some(Verdict::Drop | Verdict::Reject(_))
    );
    let verdict = if drops {
        TraceVerdict::Drop
    } else {
        TraceVerdict::Accept
    };
    w.events.push(Event::Policy {
        hook,
        chain: base,
        verdict,
    });
    if drops {
        Err(end(Fate::Dropped, Decider::Policy(base), hook))
    } else {
        if chain_type != ChainType::Nat {
            w.last_policy_accept = Some(Decider::Policy(base));
        }
        Ok(Passed::ByPolicy)
    }
}

/// Whether everything after an Unknown match is a match or a non-terminal action, so the
/// Unknown only decides whether a LOG line (or a counter) happens.
pub fn rest_is_soft(rest: &[Step]) -> bool {
    rest.iter().all(|s| match s {
        Step::Match(_) => true,
        Step::Action(a) => matches!(
            a,
            Action::Log(_) | Action::Counter | Action::Trace | Action::Effect(_)
        ),
    })
}

/// Runs one rule's steps left to right.
fn run_rule(
    w: &mut Walk<'_, '_>,
    hook: Hook,
    chain_type: ChainType,
    at: RuleRef,
    rule: &Rule,
) -> RuleEnd {
    let mut may_be_missing: Option<Undecidable> = None;
    // Where the rule's event goes: before the events its actions produce.
    let mut event_at: Option<usize> = None;
    for (step, s) in rule.body.iter().enumerate() {
        match s {
            Step::Match(m) => {
                let truth = {
                    let (iif, oif) = w.devices(hook);
                    let ctx = eval::Ctx {
                        ruleset: w.prep.ruleset,
                        table: at.table,
                        host: w.host,
                        hook,
                        packet: &w.packet,
                        nfct: &w.nfct,
                        iif,
                        oif,
                        locally_generated: w.locally_generated,
                    };
                    eval::test(&ctx, m)
                };
                if let model::expr::Test::InSet {
                    set: model::expr::SetRef::Table(name),
                    ..
                } = &m.test
                {
                    dynamic_set_read(w, at, name);
                }
                match truth {
                    Truth::Yes => {}
                    Truth::No => return RuleEnd::NoMatch,
                    Truth::Unknown(why) => {
                        let site = UnknownSite { rule: at, step };
                        if rest_is_soft(&rule.body[step + 1..]) {
                            // Recorded, not branched: what follows only logs or counts.
                            let choice = UnknownChoice {
                                site,
                                why: why.clone(),
                                matched: true,
                                assumed_by_user: false,
                            };
                            w.events.push(Event::Unknown { hook, choice });
                            if may_be_missing.is_none() {
                                may_be_missing = Some(why);
                            }
                        } else {
                            let choice = w.decisions.decide(w.options, site, why);
                            let matched = choice.matched;
                            w.events.push(Event::Unknown { hook, choice });
                            if !matched {
                                return RuleEnd::NoMatch;
                            }
                        }
                    }
                }
            }
            Step::Action(a) => {
                if event_at.is_none() {
                    event_at = Some(w.events.len());
                }
                match action::run(w, hook, chain_type, at, step, a, &may_be_missing) {
                    action::Done::Continue => {}
                    action::Done::Break => return RuleEnd::NoMatch,
                    action::Done::Flow(flow) => {
                        if let Some(verdict) = trace_verdict(&flow, at) {
                            let pos = event_at.unwrap_or(w.events.len());
                            w.events.insert(pos, Event::Rule { hook, at, verdict });
                        }
                        return match flow {
                            Flow::Continue => RuleEnd::Continue,
                            other => RuleEnd::Flow(other),
                        };
                    }
                }
            }
        }
    }
    let pos = event_at.unwrap_or(w.events.len());
    w.events.insert(
        pos,
        Event::Rule {
            hook,
            at,
            verdict: TraceVerdict::Continue,
        },
    );
    RuleEnd::Continue
}

/// A lookup in a set the packet path updates (`add @s` somewhere in the table): its
/// contents are those of the listing; earlier packets may have changed them since.
fn dynamic_set_read(w: &mut Walk<'_, '_>, at: RuleRef, name: &str) {
    let dynamic = w
        .ruleset()
        .tables
        .get(at.table)
        .and_then(|t| t.set(name))
        .is_some_and(|s| s.dynamic);
    if dynamic {
        w.warn(Warning::DynamicSetRead {
            set: name.to_string(),
        });
    }
}

/// The verdict as a trace shows it (`None` for an end the kernel never traces).
fn trace_verdict(flow: &Flow, at: RuleRef) -> Option<TraceVerdict> {
    let chain = |c: usize| ChainRef {
        table: at.table,
        chain: c,
    };
    Some(match flow {
        Flow::Accept => TraceVerdict::Accept,
        Flow::Drop => TraceVerdict::Drop,
        Flow::Reject(r) => TraceVerdict::Reject(*r),
        Flow::Queue(q) => TraceVerdict::Queue(*q),
        Flow::Return => TraceVerdict::Return,
        Flow::Jump(c) => TraceVerdict::Jump(chain(*c)),
        Flow::Goto(c) => TraceVerdict::Goto(chain(*c)),
        Flow::Continue => TraceVerdict::Continue,
        Flow::Stop(Fate::Dropped) => TraceVerdict::Drop,
        Flow::Stop(_) => return None,
    })
}

/// Queue warnings: the program is assumed to be listening, and a queue after conntrack on
/// a NATed flow may rewrite ports too late (user story 6).
fn queue_warnings(
    w: &mut Walk<'_, '_>,
    hook: Hook,
    base: ChainRef,
    at: RuleRef,
    num: u16,
    bypass: bool,
) {
    w.warn(Warning::QueueAssumedListening { num, bypass });
    let prio = w
        .ruleset()
        .chain_at(base)
        .base
        .as_ref()
        .map_or(0, |b| b.priority);
    let after_conntrack = match hook {
        Hook::Prerouting | Hook::Output => prio >= priority::CONNTRACK,
        Hook::Ingress => false,
        _ => true,
    };
    if !after_conntrack {
        return;
    }
    let natted = w
        .nfct
        .conn()
        .is_some_and(|c| c.status & (ct_status::SRC_NAT | ct_status::DST_NAT) != 0)
        || !w.nat.is_empty()
        || later_nat_rules(w, hook);
    if natted {
        w.warn(Warning::QueueAfterConntrackOnNat { at });
    }
}

/// Whether the NAT core of this hook (or a later hook of the path) has rules that may
/// translate this flow.
fn later_nat_rules(w: &Walk<'_, '_>, hook: Hook) -> bool {
    let v6 = w.packet.is_ipv6();
    let later: &[Hook] = match hook {
        Hook::Prerouting => &[Hook::Prerouting, Hook::Input, Hook::Postrouting],
        Hook::Output => &[Hook::Output, Hook::Postrouting],
        Hook::Input => &[Hook::Input],
        Hook::Forward | Hook::Postrouting => &[Hook::Postrouting],
        _ => &[],
    };
    later.iter().any(|h| {
        w.prep.entries(*h, v6).iter().any(|e| match e {
            crate::linux::prepared::Entry::Nat { chains, .. } => chains.iter().any(|c| {
                w.ruleset()
                    .chain_at(*c)
                    .rules
                    .iter()
                    .any(|r| r.actions().any(|a| matches!(a, Action::Nat(_))))
            }),
            _ => false,
        })
    })
}

#[cfg(test)]
mod tests {
    use crate::{simulate, Event, Options};
    use model::{Family, Host, Packet, SourceFile, TcpFlags, L4};

    /// Found by the differential tester (issue 3 part 8): the end of a chain entered by
    /// `goto` is traced as that chain's return before the base chain's policy.
    #[test]
    fn end_of_a_goto_chain_is_traced_before_the_policy() {
        let text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:sub - [0:0]\n-A FORWARD -g sub\nCOMMIT\n";
        let src = SourceFile::new("t.rules", text);
        let rs = frontends::iptables_save::parse(&src, Some(Family::Ip)).unwrap();
        let mut p = Packet::new(
            "10.1.1.2".parse().unwrap(),
            "10.1.0.10".parse().unwrap(),
            L4::Tcp {
                sport: 4000,
                dport: 80,
                flags: TcpFlags::SYN,
            },
        );
        p.iif = Some("lan0".into());
        p.oif = Some("wan0".into());
        let o = simulate(&rs, &Host::default(), &p, &Options::default());
        let kinds: Vec<&str> = o
            .primary()
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Rule { .. } => Some("rule"),
                Event::ChainEnd { .. } => Some("end"),
                Event::Policy { .. } => Some("policy"),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, ["rule", "end", "policy"]);
    }
}
