//! One packet's walk through the real kernel, read from its trace events: the rules it met
//! (mapped to the user's rules), the hooks it got through, its fate, its headers after NAT,
//! its conntrack state and the answers the kernel sent back.

use super::place::{binding_rule_ref, chain_ref, Listing};
use model::kernel::NfVerdict;
use model::kernel_walk::{
    observer_chain, CtSeen, Headers, KernelFate, KernelStep, KernelVerdict, KernelWalk, Placement,
    StepKind, WalkEvent,
};
use model::{ChainRef, Family, Hook, Packet, Ruleset, Verdict};
use std::collections::HashMap;

/// Reads one packet's events into a [`KernelWalk`], placed in the user's `ruleset`.
pub fn analyse(
    ruleset: &Ruleset,
    listing: &Listing,
    iface_name: &dyn Fn(u32) -> Option<String>,
    packet: &Packet,
    tag: u32,
    events: Vec<WalkEvent>,
    responses: Vec<Headers>,
) -> KernelWalk {
    let mut steps = Vec::new();
    let mut hooks_done = Vec::new();
    let mut hook: Option<Hook> = None;
    let mut final_headers = None;
    let mut oif = None;
    let mut ct_state = None;
    // Kernel chain-binding names -> (model chain, handle of the rule that jumps there).
    let mut bindings: HashMap<(Family, String, String), (ChainRef, u64)> = HashMap::new();
    // A received packet never crosses OUTPUT: events from an output chain on belong to the
    // RST or ICMP error it was answered with (a locally generated packet that can share the
    // trace id), up to the next event back on the packet's own hooks. That includes the
    // answer's POSTROUTING events, and its end-of-hook headers.
    let received = packet.iif.is_some();
    let mut in_answer = false;
    let mut answer_dropped_here = false;
    for ev in &events {
        let ours = ev.is_observer();
        if received {
            let ev_hook = if ours {
                observer_chain(&ev.chain).map(|(h, _)| h)
            } else {
                ev.family
                    .and_then(|f| listing.hook_of(f, &ev.table, &ev.chain))
            };
            match ev_hook {
                Some(Hook::Output) => in_answer = true,
                Some(Hook::Prerouting | Hook::Input | Hook::Forward) => in_answer = false,
                _ => {}
            }
            if in_answer {
                // Its drop still tells what became of the answer.
                answer_dropped_here |= ev.drops();
                continue;
            }
        }
        if ours {
            if let Some((h, end)) = observer_chain(&ev.chain) {
                hook = Some(h);
                if end {
                    // The first event of the chain carries headers, interfaces and conntrack
                    // state; its policy event says the packet got through the hook.
                    if let Some(hd) = ev.headers {
                        final_headers = Some(hd);
                    }
                    if ev.oif.is_some() {
                        oif = ev.oif;
                    }
                    // The state rules saw first (as the engine reports it): a packet
                    // looped back through `lo` meets prerouting again later.
                    if matches!(h, Hook::Prerouting | Hook::Output) && ct_state.is_none() {
                        ct_state = ev.ct_state.and_then(CtSeen::from_bits);
                    }
                    if ev.kind == StepKind::Policy {
                        hooks_done.push(h);
                    }
                }
            }
            continue;
        }
        let Some(family) = ev.family else { continue };
        let base_hook = listing.hook_of(family, &ev.table, &ev.chain);
        if let Some(h) = base_hook {
            hook = Some(h);
        }
        // The end of a chain shows as a rule event without a handle (the kernel's end-of-chain
        // marker, verdict continue): for a base chain the policy event follows and says it
        // all; for a regular chain it is the implicit return to the caller.
        let kind = match (ev.kind, ev.rule.handle) {
            (StepKind::Rule, None) if base_hook.is_some() => continue,
            (StepKind::Rule, None) => StepKind::Return,
            (k, _) => k,
        };
        // A chain binding (`jump { ... }`) is unlisted and named by nft's own counter
        // (`__chain6`): it is the model chain the mapped jumping rule names.
        let binding = bindings
            .get(&(family, ev.table.clone(), ev.chain.clone()))
            .copied();
        let rule = match (kind, ev.rule.handle, binding) {
            (StepKind::Rule, Some(handle), Some((c, outer))) => {
                binding_rule_ref(ruleset, c, outer, handle)
            }
            (StepKind::Rule, Some(handle), None) => {
                listing.rule_ref(ruleset, family, &ev.table, &ev.chain, handle)
            }
            _ => None,
        };
        let rejects = rule.and_then(|r| match ruleset.rule_at(r).verdict() {
            Some(Verdict::Reject(x)) => Some(*x),
            _ => None,
        });
        let mut verdict = ev
            .verdict
            .clone()
            .or_else(|| ev.policy.map(|p| KernelVerdict::decode(p as i32, None)))
            .unwrap_or(KernelVerdict::of(NfVerdict::Continue));
        if let (Some(r), Some(handle)) = (rule, ev.rule.handle) {
            let model_target = match ruleset.rule_at(r).verdict() {
                Some(Verdict::Jump(m) | Verdict::Goto(m)) => Some(m.clone()),
                _ => None,
            };
            let jumps = matches!(verdict.code, NfVerdict::Jump | NfVerdict::Goto);
            if let (true, Some(k), Some(m)) = (jumps, verdict.chain.as_mut(), model_target) {
                let unlisted = listing.chain(family, &ev.table, k.as_str()).is_none();
                let target = chain_ref(ruleset, family, &ev.table, &m);
                if *k != m && unlisted {
                    if let Some(t) = target {
                        bindings.insert((family, ev.table.clone(), k.clone()), (t, handle));
                        *k = m;
                    }
                }
            }
        }
        let (chain_name, chain_at) = match binding {
            Some((c, _)) => (ruleset.chain_at(c).name.clone(), Some(c)),
            None => (
                ev.chain.clone(),
                chain_ref(ruleset, family, &ev.table, &ev.chain),
            ),
        };
        let at = match (kind, rule, chain_at) {
            (StepKind::Rule, Some(r), _) => Placement::Rule(r),
            (StepKind::Policy, _, Some(c)) => Placement::Policy(c),
            (StepKind::Return, _, Some(c)) => Placement::ChainEnd(c),
            _ => Placement::Unmapped {
                table: ev.table.clone(),
                chain: chain_name.clone(),
                handle: ev.rule.handle,
            },
        };
        steps.push(KernelStep {
            event: WalkEvent {
                chain: chain_name,
                kind,
                ..ev.clone()
            },
            hook,
            at,
            by: None,
            verdict,
            rejects,
        });
    }
    let observed_reject = responses.iter().find_map(Headers::reject_answered);
    let ending = steps
        .iter()
        .enumerate()
        .find(|(_, s)| s.verdict.ends_walk());
    let fate = match ending {
        Some((i, s)) => match s.verdict.code {
            NfVerdict::Queue => KernelFate::Queued {
                step: i,
                num: s.verdict.queue,
            },
            NfVerdict::Stolen => KernelFate::Vanished {
                after: hooks_done.last().copied(),
            },
            _ if s.rejects.is_some()
                || (observed_reject.is_some() && s.event.kind == StepKind::Rule) =>
            {
                KernelFate::Rejected {
                    step: i,
                    with: observed_reject,
                }
            }
            _ => KernelFate::Dropped { step: i },
        },
        None => {
            let oif_name = || {
                oif.and_then(iface_name)
                    .unwrap_or_else(|| format!("ifindex {}", oif.unwrap_or(0)))
            };
            if hooks_done.contains(&Hook::Input) {
                KernelFate::Delivered
            } else if hooks_done.contains(&Hook::Postrouting) {
                if packet.iif.is_some() {
                    KernelFate::Forwarded { oif: oif_name() }
                } else {
                    KernelFate::Sent { oif: oif_name() }
                }
            } else {
                KernelFate::Vanished {
                    after: hooks_done.last().copied(),
                }
            }
        }
    };
    KernelWalk {
        tag,
        packet: packet.clone(),
        steps,
        hooks_done,
        fate,
        final_headers,
        ct_state,
        responses,
        answer_stopped: answer_dropped_here.then_some(true),
        events,
    }
}

/// What a text tracer's event did: its printed verdict, or for a legacy event (which prints
/// none) its rule's target (a drop, a reject's drop or a queue; anything else goes on) or
/// its policy.
pub fn text_verdict(ruleset: &Ruleset, event: &WalkEvent, at: &Placement) -> KernelVerdict {
    let model_verdict = match at {
        Placement::Rule(r) => ruleset.rule_at(*r).verdict(),
        _ => None,
    };
    match (&event.verdict, model_verdict) {
        (Some(v), _) => v.clone(),
        (None, Some(v @ (Verdict::Drop | Verdict::Reject(_) | Verdict::Queue(_)))) => {
            KernelVerdict::of_rule(v)
        }
        (None, None) if event.kind == StepKind::Policy => match at {
            Placement::Policy(c) => match ruleset.chain_at(*c).base.as_ref().map(|b| &b.policy) {
                Some(Verdict::Drop) => KernelVerdict::of(NfVerdict::Drop),
                _ => KernelVerdict::of(NfVerdict::Accept),
            },
            _ => KernelVerdict::of(NfVerdict::Continue),
        },
        _ => KernelVerdict::of(NfVerdict::Continue),
    }
}

/// The fate a trace read from a tracer's text shows: a drop by a rule whose target is REJECT
/// is a reject (the kernel prints both as `drop`); no drop means accepted, and the tracer has
/// no closing event for that, so the last hook seen is stated instead.
pub fn fate_of_placed(ruleset: &Ruleset, steps: &[KernelStep]) -> KernelFate {
    for (i, s) in steps.iter().enumerate() {
        match s.verdict.code {
            NfVerdict::Drop => {
                let model_verdict = s.rule().and_then(|r| ruleset.rule_at(r).verdict());
                let with = match model_verdict {
                    Some(Verdict::Reject(r)) => Some(Some(*r)),
                    _ if s.event.rule.rejects => Some(None),
                    _ => None,
                };
                return match with {
                    Some(with) => KernelFate::Rejected { step: i, with },
                    None => KernelFate::Dropped { step: i },
                };
            }
            NfVerdict::Queue => {
                return KernelFate::Queued {
                    step: i,
                    num: s.verdict.queue,
                }
            }
            _ => {}
        }
    }
    KernelFate::Accepted {
        last_hook: steps.iter().rev().find_map(|s| s.hook),
    }
}
