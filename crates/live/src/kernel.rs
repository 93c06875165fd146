//! One packet's walk through the real kernel, read from its trace events: the rules it met
//! (mapped to the user's rules), the hooks it got through, its fate, its headers after NAT,
//! its conntrack state and the answers the kernel sent back.

use crate::frame::Headers;
use crate::mapping::{binding_rule_ref, chain_ref, Listing};
use crate::nftrace::{KernelVerdict, TraceEvent, TraceType};
use crate::TRACE_TABLE;
use engine::CtState;
use model::{ChainRef, Family, Hook, Packet, Reject, RuleRef, Ruleset, TcpFlags, Verdict};
use std::collections::HashMap;
use std::fmt;

/// One event of the user's ruleset in the kernel's trace.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelStep {
    pub hook: Option<Hook>,
    pub family: Option<Family>,
    pub table: String,
    pub chain: String,
    pub kind: TraceType,
    pub handle: Option<u64>,
    /// The user's rule (for rule events), when the mapping found it.
    pub rule: Option<RuleRef>,
    /// The user's chain.
    pub chain_ref: Option<ChainRef>,
    pub verdict: KernelVerdict,
    /// The model rule says REJECT (the kernel reports it as drop).
    pub rejects: Option<Reject>,
}

impl fmt::Display for KernelStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hook = self
            .hook
            .map(|h| h.to_string())
            .unwrap_or_else(|| "?".into());
        let fam = self.family.map(|x| x.to_string()).unwrap_or_default();
        write!(f, "{hook:<11} {fam} {} {}", self.table, self.chain)?;
        match self.kind {
            TraceType::Rule => match self.rule {
                Some(r) => write!(f, " #{}", r.rule + 1)?,
                None => write!(f, " handle {}", self.handle.unwrap_or(0))?,
            },
            TraceType::Policy => f.write_str(" policy")?,
            TraceType::Return => f.write_str(" end")?,
            TraceType::Unknown(t) => write!(f, " type {t}")?,
        }
        match (&self.verdict, self.rejects) {
            (KernelVerdict::Drop, Some(r)) => write!(f, " -> reject ({r}; the kernel says drop)"),
            (v, _) => write!(f, " -> {v}"),
        }
    }
}

/// Where the packet ended, as the kernel's trace shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelFate {
    /// Reached the end of the input hook.
    Delivered,
    /// Received and reached the end of postrouting, leaving by `oif`.
    Forwarded {
        oif: String,
    },
    /// Locally generated and reached the end of postrouting.
    Sent {
        oif: String,
    },
    /// A drop verdict at `steps[step]`.
    Dropped {
        step: usize,
    },
    /// A drop verdict by a REJECT rule; `with` is what the kernel's answer shows, if traced.
    Rejected {
        step: usize,
        with: Option<Reject>,
    },
    Queued {
        num: u16,
    },
    /// No verdict ended it and it did not get through: lost in routing (no route, forwarding
    /// off, martian source, rp_filter, TTL) or stolen.
    Vanished {
        after: Option<Hook>,
    },
}

impl fmt::Display for KernelFate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelFate::Delivered => f.write_str("delivered locally"),
            KernelFate::Forwarded { oif } => write!(f, "forwarded out of {oif}"),
            KernelFate::Sent { oif } => write!(f, "sent out of {oif}"),
            KernelFate::Dropped { .. } => f.write_str("dropped"),
            KernelFate::Rejected { with: Some(r), .. } => write!(f, "rejected with {r}"),
            KernelFate::Rejected { with: None, .. } => f.write_str("rejected"),
            KernelFate::Queued { num } => write!(f, "queued to {num}"),
            KernelFate::Vanished { after: Some(h) } => {
                write!(f, "vanished after {h} (lost in routing)")
            }
            KernelFate::Vanished { after: None } => f.write_str("vanished before any hook"),
        }
    }
}

/// One packet's walk through the kernel.
#[derive(Debug, Clone)]
pub struct KernelTrace {
    pub tag: u32,
    pub packet: Packet,
    /// Events of the user's tables, in order.
    pub steps: Vec<KernelStep>,
    /// Hooks whose end the packet reached, in order.
    pub hooks_done: Vec<Hook>,
    pub fate: KernelFate,
    /// The headers at the last end-of-hook observation (after NAT).
    pub final_headers: Option<Headers>,
    /// Conntrack's classification (after the conntrack hook of prerouting/output).
    pub ct_state: Option<CtState>,
    /// Packets the kernel generated in answer (RST, ICMP errors), as traced.
    pub responses: Vec<Headers>,
    /// Whether the answer's own walk out of the host ended in a drop (an OUTPUT or
    /// POSTROUTING rule or policy stopped it): `None` when no answer was traced apart.
    pub answer_stopped: Option<bool>,
    /// Every event, ours included, for debugging.
    pub events: Vec<TraceEvent>,
}

fn ct_state_of(bits: u32) -> Option<CtState> {
    Some(match bits {
        1 => CtState::Invalid,
        2 => CtState::Established,
        4 => CtState::Related,
        8 => CtState::New,
        64 => CtState::Untracked,
        _ => return None,
    })
}

fn our_chain_hook(chain: &str) -> Option<(Hook, bool)> {
    Some(match chain {
        "pre" => (Hook::Prerouting, false),
        "out" => (Hook::Output, false),
        "pre_end" => (Hook::Prerouting, true),
        "in_end" => (Hook::Input, true),
        "fwd_end" => (Hook::Forward, true),
        "out_end" => (Hook::Output, true),
        "post_end" => (Hook::Postrouting, true),
        _ => return None,
    })
}

/// What an answer packet says about the REJECT that made it.
pub fn reject_of_response(h: &Headers) -> Option<Reject> {
    if h.tcp_flags.is_some_and(|f| f.contains(TcpFlags::RST)) {
        return Some(Reject::TcpReset);
    }
    match (h.proto, h.icmp) {
        (1, Some((3, code))) => Some(Reject::Icmp(code)),
        (58, Some((1, code))) => Some(Reject::Icmpv6(code)),
        _ => None,
    }
}

/// Reads one packet's events into a [`KernelTrace`].
pub fn analyse(
    ruleset: &Ruleset,
    listing: &Listing,
    iface_name: &dyn Fn(u32) -> Option<String>,
    packet: &Packet,
    tag: u32,
    events: Vec<TraceEvent>,
    responses: Vec<Headers>,
) -> KernelTrace {
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
        let ours = ev.table == TRACE_TABLE && ev.family == Some(Family::Inet);
        if received {
            let ev_hook = if ours {
                our_chain_hook(&ev.chain).map(|(h, _)| h)
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
                let dropped =
                    matches!(ev.verdict, Some(KernelVerdict::Drop)) || ev.policy == Some(0);
                answer_dropped_here |= dropped;
                continue;
            }
        }
        if ours {
            if let Some((h, end)) = our_chain_hook(&ev.chain) {
                hook = Some(h);
                if end {
                    // The first event of the chain carries headers, interfaces and conntrack
                    // state; its policy event says the packet got through the hook.
                    if let Some(hd) = ev.headers() {
                        final_headers = Some(hd);
                    }
                    if ev.oif.is_some() {
                        oif = ev.oif;
                    }
                    // The state rules saw first (as the engine reports it): a packet
                    // looped back through `lo` meets prerouting again later.
                    if matches!(h, Hook::Prerouting | Hook::Output) && ct_state.is_none() {
                        ct_state = ev.ct_state.and_then(ct_state_of);
                    }
                    if ev.kind == TraceType::Policy {
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
        let kind = match (ev.kind, ev.handle) {
            (TraceType::Rule, None) if base_hook.is_some() => continue,
            (TraceType::Rule, None) => TraceType::Return,
            (k, _) => k,
        };
        // A chain binding (`jump { ... }`) is unlisted and named by nft's own counter
        // (`__chain6`): it is the model chain the mapped jumping rule names.
        let binding = bindings
            .get(&(family, ev.table.clone(), ev.chain.clone()))
            .copied();
        let rule = match (kind, ev.handle, binding) {
            (TraceType::Rule, Some(handle), Some((c, outer))) => {
                binding_rule_ref(ruleset, c, outer, handle)
            }
            (TraceType::Rule, Some(handle), None) => {
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
            .unwrap_or(KernelVerdict::Continue);
        if let (Some(r), Some(handle)) = (rule, ev.handle) {
            let model_target = match ruleset.rule_at(r).verdict() {
                Some(Verdict::Jump(m) | Verdict::Goto(m)) => Some(m.clone()),
                _ => None,
            };
            if let (KernelVerdict::Jump(k) | KernelVerdict::Goto(k), Some(m)) =
                (&mut verdict, model_target)
            {
                let unlisted = listing.chain(family, &ev.table, k).is_none();
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
        steps.push(KernelStep {
            hook,
            family: Some(family),
            table: ev.table.clone(),
            chain: chain_name,
            kind,
            handle: ev.handle,
            rule,
            chain_ref: chain_at,
            verdict,
            rejects,
        });
    }
    let observed_reject = responses.iter().find_map(reject_of_response);
    let ending = steps.iter().enumerate().find(|(_, s)| {
        matches!(
            s.verdict,
            KernelVerdict::Drop | KernelVerdict::Queue(_) | KernelVerdict::Stolen
        )
    });
    let fate = match ending {
        Some((i, s)) => match &s.verdict {
            KernelVerdict::Queue(n) => KernelFate::Queued { num: *n },
            KernelVerdict::Stolen => KernelFate::Vanished {
                after: hooks_done.last().copied(),
            },
            _ if s.rejects.is_some()
                || (observed_reject.is_some() && s.kind == TraceType::Rule) =>
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
    KernelTrace {
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

impl KernelTrace {
    /// What became of the `index`th answer, for display (known for the first answer that
    /// is not an ICMP redirect).
    pub fn answer_note(&self, index: usize) -> &'static str {
        let redirect =
            |h: &Headers| matches!((h.proto, h.icmp), (1, Some((5, _))) | (58, Some((137, _))));
        let judged = self.responses.iter().position(|h| !redirect(h));
        match (judged == Some(index), self.answer_stopped) {
            (true, Some(true)) => " (stopped on its way out: the sender never gets it)",
            _ => "",
        }
    }
}

impl fmt::Display for KernelTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "kernel: {} (tag {})", self.fate, self.tag)?;
        for s in &self.steps {
            writeln!(f, "  {s}")?;
        }
        if let Some(h) = &self.final_headers {
            writeln!(f, "  leaves as {h}")?;
        }
        if let Some(s) = self.ct_state {
            writeln!(f, "  conntrack {s:?}")?;
        }
        for (i, r) in self.responses.iter().enumerate() {
            writeln!(f, "  answered with {r}{}", self.answer_note(i))?;
        }
        Ok(())
    }
}
