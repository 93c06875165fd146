//! What a rule's actions do: verdicts become a [`Flow`] for the chain traversal; marks,
//! TOS, conntrack marks, NOTRACK, CT templates, LOG and NAT change the walk's state.
//!
//! Kernel formulas: `MARK --set-xmark value/mask` is `mark = (mark & !mask) ^ value`
//! (`xt_MARK`), CONNMARK `--save-mark`/`--restore-mark` as in `xt_connmark.c`,
//! `TOS --set-xtos` as in `xt_DSCP.c`. NAT targets are terminal: they return
//! `NF_ACCEPT` and end the nat chain.

use crate::linux::conntrack::Nfct;
use crate::linux::logline;
use crate::linux::nat::{self, NatProblem};
use crate::linux::walk::Walk;
use crate::trace::{Event, Fate, LogLine, NatRewrite, Note, Undetermined, UnknownSite};
use crate::warning::Warning;
use model::expr::{Action, CtMarkOp, Effect, Nat, Queue, Reject, SetUpdateOp, Undecidable};
use model::ruleset::ChainType;
use model::{Hook, RuleRef, Verdict};

/// How the traversal continues after a verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Flow {
    Accept,
    Drop,
    Reject(Reject),
    Queue(Queue),
    Return,
    /// Jump to chain index (same table).
    Jump(usize),
    Goto(usize),
    /// Explicit `continue`: next rule.
    Continue,
    /// The path ends here with this fate (an unmodelled target, a missing chain, a NAT
    /// target that drops).
    Stop(Fate),
}

/// What one action did to the rule's evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// Go on with the rule's next step.
    Continue,
    /// The rule stops without a verdict (nft `NFT_BREAK`): next rule.
    Break,
    Flow(Flow),
}

/// Runs action `a` (step `step` of rule `at`) in a chain of type `chain_type` on `hook`.
pub fn run(
    w: &mut Walk<'_, '_>,
    hook: Hook,
    chain_type: ChainType,
    at: RuleRef,
    step: usize,
    a: &Action,
    may_be_missing: &Option<Undecidable>,
) -> Done {
    match a {
        Action::Verdict(v) => Done::Flow(verdict(w, at, step, v)),
        Action::Log(log) => {
            let text = {
                let (iif, oif) = w.devices(hook);
                let iif = Some(iif).filter(|s| !s.is_empty());
                let oif = Some(oif).filter(|s| !s.is_empty());
                logline::format(log, &w.packet, iif, oif, w.host)
            };
            w.logs.push(LogLine {
                by: at,
                text,
                kind: log.kind,
                may_be_missing: may_be_missing.clone(),
            });
            Done::Continue
        }
        Action::Trace | Action::Counter => Done::Continue,
        Action::Effect(effect) => {
            later_packets(w, at, effect);
            Done::Continue
        }
        Action::SetMark { value, mask } => {
            let old = w.packet.mark;
            let new = (old & !mask) ^ value;
            w.packet.mark = new;
            w.events.push(Event::MarkSet { hook, at, old, new });
            Done::Continue
        }
        Action::CtMark(op) => {
            ct_mark(w, hook, at, *op);
            Done::Continue
        }
        Action::SetTos { value, mask } => {
            w.packet.tos = (w.packet.tos & !mask) ^ value;
            Done::Continue
        }
        Action::SetDscp(dscp) => {
            w.packet.tos = (w.packet.tos & 0x03) | (dscp << 2);
            Done::Continue
        }
        Action::Notrack => {
            // Only before conntrack (`xt_CT`: a packet that already has a conntrack is
            // left alone).
            if w.nfct == Nfct::None {
                w.nfct = Nfct::Untracked;
                w.events.push(Event::Note {
                    hook: Some(hook),
                    note: Note::Untracked,
                });
            }
            Done::Continue
        }
        Action::CtSet { helper, zone } => {
            ct_set(w, helper.as_deref(), *zone);
            Done::Continue
        }
        Action::Nat(spec) => nat_action(w, hook, chain_type, at, spec),
        Action::Undecidable(target) => {
            let site = UnknownSite { rule: at, step };
            let choice = w.decisions.decide(
                w.options,
                site,
                Undecidable::UnmodelledTarget(target.name.clone()),
            );
            let continues = choice.matched;
            w.events.push(Event::Unknown { hook, choice });
            if continues {
                Done::Continue
            } else {
                let reason = Undetermined::UnmodelledTarget {
                    target: target.name.clone(),
                };
                Done::Flow(Flow::Stop(Fate::Undetermined { reason }))
            }
        }
    }
}

/// Effects that reach past this packet, said as warnings: a flowtable offload (`flow add
/// @ft`: later packets of the connection take the fast path at ingress and skip prerouting,
/// forward and postrouting) and set updates from the packet path (`add @s`, `update @s`:
/// later packets meet the set with this one in it).
fn later_packets(w: &mut Walk<'_, '_>, at: RuleRef, effect: &Effect) {
    match effect {
        Effect::FlowOffload { flowtable } => w.warn(Warning::FlowOffload {
            at,
            flowtable: flowtable.clone(),
        }),
        Effect::SetUpdate {
            op: SetUpdateOp::Add | SetUpdateOp::Update,
            set,
        } => w.warn(Warning::SetUpdated {
            at,
            set: set.clone(),
        }),
        _ => {}
    }
}

fn verdict(w: &mut Walk<'_, '_>, at: RuleRef, step: usize, v: &Verdict) -> Flow {
    match v {
        Verdict::Accept => Flow::Accept,
        Verdict::Drop => Flow::Drop,
        Verdict::Reject(r) => Flow::Reject(*r),
        Verdict::Return => Flow::Return,
        Verdict::Continue => Flow::Continue,
        Verdict::Queue(q) => Flow::Queue(*q),
        Verdict::Jump(name) | Verdict::Goto(name) => match w.prep.jump_target(at, step) {
            Some(c) if matches!(v, Verdict::Jump(_)) => Flow::Jump(c),
            Some(c) => Flow::Goto(c),
            None => Flow::Stop(Fate::Undetermined {
                reason: Undetermined::MissingChain { name: name.clone() },
            }),
        },
    }
}

/// CONNMARK / `ct mark set`: no effect without a connection.
fn ct_mark(w: &mut Walk<'_, '_>, hook: Hook, at: RuleRef, op: CtMarkOp) {
    let mark = w.packet.mark;
    let Some(conn) = w.nfct.conn_mut() else {
        return;
    };
    match op {
        CtMarkOp::SetXmark { value, mask } => conn.mark = (conn.mark & !mask) ^ value,
        CtMarkOp::Save { nfmask, ctmask } => conn.mark = (conn.mark & !ctmask) | (mark & nfmask),
        CtMarkOp::Restore { nfmask, ctmask } => {
            let new = (mark & !nfmask) | (conn.mark & ctmask);
            if new != mark {
                w.packet.mark = new;
                w.events.push(Event::MarkSet {
                    hook,
                    at,
                    old: mark,
                    new,
                });
            }
        }
    }
}

/// `-j CT --zone/--helper`, `ct zone set`, `ct helper set`: before conntrack they go on
/// the template; a helper can still be attached to a connection not yet confirmed.
fn ct_set(w: &mut Walk<'_, '_>, helper: Option<&str>, zone: Option<u16>) {
    match &mut w.nfct {
        Nfct::None => {
            if let Some(z) = zone {
                w.template.zone = z;
            }
            if let Some(h) = helper {
                w.template.helper = Some(h.to_string());
            }
        }
        Nfct::Tracked(conn) if conn.entry.is_none() => {
            if let Some(h) = helper {
                conn.helper = Some(h.to_string());
            }
        }
        _ => return,
    }
    if let Some(h) = helper {
        w.warn(Warning::HelperAssigned {
            helper: h.to_string(),
        });
    }
}

/// A NAT target: translates, records the rewrite and ends the nat chain (accept).
fn nat_action(
    w: &mut Walk<'_, '_>,
    hook: Hook,
    chain_type: ChainType,
    at: RuleRef,
    spec: &Nat,
) -> Done {
    if chain_type != ChainType::Nat {
        w.warn(Warning::NatOutsideNatChain { kind: spec.kind });
        return Done::Continue;
    }
    let result = nat::translate(
        spec,
        hook,
        &w.packet,
        w.host,
        w.route.as_ref(),
        w.in_dev.as_deref(),
    );
    let t = match result {
        Ok(t) => t,
        Err(NatProblem::FamilyMismatch) => return Done::Break,
        Err(NatProblem::WrongHook) => {
            w.warn(Warning::NatWrongHook {
                kind: spec.kind,
                hook,
            });
            return Done::Continue;
        }
        Err(NatProblem::NoInterfaceAddress) => {
            w.warn(Warning::NatNoInterfaceAddress { kind: spec.kind });
            return Done::Flow(Flow::Stop(Fate::Dropped));
        }
        Err(NatProblem::AddressesUnknown) => {
            w.warn(Warning::NatAddressesUnknown { kind: spec.kind });
            let manip = crate::linux::prepared::Manip::of_hook(hook)
                .unwrap_or(crate::linux::prepared::Manip::Dst);
            nat::Translation {
                manip,
                addr: nat::addr_of(&w.packet, manip),
                port: spec
                    .ports
                    .map(|(lo, _)| lo)
                    .or(nat::port_of(&w.packet, manip)),
                approximated: true,
            }
        }
    };
    if t.approximated {
        w.warn(Warning::NatRangeFirstShown { kind: spec.kind });
    }
    let before = (
        nat::addr_of(&w.packet, t.manip),
        nat::port_of(&w.packet, t.manip),
    );
    nat::apply(&mut w.packet, w.nfct.conn_mut(), &t);
    if let Some(conn) = w.nfct.conn_mut() {
        // `nf_nat_setup_info` initialises this manipulation even for an identity mapping.
        match t.manip {
            crate::linux::prepared::Manip::Src => conn.src_nat_done = true,
            crate::linux::prepared::Manip::Dst => conn.dst_nat_done = true,
        }
    }
    let after = (
        nat::addr_of(&w.packet, t.manip),
        nat::port_of(&w.packet, t.manip),
    );
    let rewrite = NatRewrite {
        kind: spec.kind,
        hook,
        by: Some(at),
        before,
        after,
        spec: Some(spec.clone()),
    };
    w.events.push(Event::Nat {
        hook,
        rewrite: rewrite.clone(),
    });
    w.nat.push(rewrite);
    Done::Flow(Flow::Accept)
}
