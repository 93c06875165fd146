//! The chain of jumps that led to a rule, reconstructed from a trace.
//!
//! The engine records every rule that matched, in order; the jumps among them and the
//! ends of regular chains are enough to know, at any point, which calls are open. A report
//! prints them as "reached via FORWARD #5 -> ufw-reject-forward"; the fix search uses them
//! to offer a place in the calling chain as well.

use engine::{Event, Trace, TraceVerdict};
use model::{ChainRef, RuleRef};

/// One open call: the rule that jumped (or went) and the chain it entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// The `-j CHAIN` / `-g CHAIN` rule.
    pub from: RuleRef,
    /// The chain entered.
    pub to: ChainRef,
    /// Entered with `goto` (no return to `from`'s chain).
    pub goto: bool,
}

/// The calls open when `target` was (last) reached in `trace`, outermost first; empty when
/// `target` sits in the base chain itself or was never reached.
pub fn call_stack(trace: &Trace, target: RuleRef) -> Vec<Frame> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut found = Vec::new();
    for event in &trace.events {
        match event {
            Event::Hook(_) | Event::Policy { .. } => stack.clear(),
            Event::ChainEnd { chain, .. } => {
                unwind_to(&mut stack, *chain);
                pop_call(&mut stack);
            }
            Event::Rule { at, verdict, .. } => {
                unwind_to(&mut stack, at.chain_ref());
                if *at == target {
                    found = stack.clone();
                }
                match verdict {
                    TraceVerdict::Jump(to) => stack.push(Frame {
                        from: *at,
                        to: *to,
                        goto: false,
                    }),
                    // A goto stays on the stack for display, but returning from `to` goes
                    // back past the chain that went there (see `pop_call`).
                    TraceVerdict::Goto(to) => stack.push(Frame {
                        from: *at,
                        to: *to,
                        goto: true,
                    }),
                    TraceVerdict::Return => pop_call(&mut stack),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    found
}

/// Ends the innermost call: its frame, and the frames it was reached from by `goto`.
fn pop_call(stack: &mut Vec<Frame>) {
    while let Some(top) = stack.pop() {
        if !top.goto {
            return;
        }
    }
}

/// Pops frames until the innermost open call is the chain `current` (or none is left, when
/// `current` is a base chain).
fn unwind_to(stack: &mut Vec<Frame>, current: ChainRef) {
    while let Some(top) = stack.last() {
        if top.to == current {
            return;
        }
        stack.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{CtInfo, Decider, Fate, SenderView};
    use model::{Hook, Packet, TcpFlags, L4};

    fn trace(events: Vec<Event>) -> Trace {
        let p = Packet::new(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            L4::Tcp {
                sport: 1,
                dport: 2,
                flags: TcpFlags::SYN,
            },
        );
        Trace {
            packet: p.clone(),
            final_packet: p,
            events,
            fate: Fate::Dropped,
            decider: Decider::Rule(RuleRef {
                table: 0,
                chain: 2,
                rule: 0,
            }),
            route: None,
            nat: vec![],
            conntrack: CtInfo::default(),
            sender_sees: SenderView::default(),
            logs: vec![],
            assumptions: vec![],
            warnings: vec![],
            reply: None,
            cause: None,
        }
    }

    fn r(chain: usize, rule: usize) -> RuleRef {
        RuleRef {
            table: 0,
            chain,
            rule,
        }
    }
    fn c(chain: usize) -> ChainRef {
        ChainRef { table: 0, chain }
    }

    #[test]
    fn returned_calls_are_not_in_the_stack() {
        let h = Hook::Forward;
        let t = trace(vec![
            Event::Hook(h),
            Event::Rule {
                hook: h,
                at: r(0, 2),
                verdict: TraceVerdict::Jump(c(1)),
            },
            Event::ChainEnd {
                hook: h,
                chain: c(1),
            },
            Event::Rule {
                hook: h,
                at: r(0, 4),
                verdict: TraceVerdict::Jump(c(2)),
            },
            Event::Rule {
                hook: h,
                at: r(2, 0),
                verdict: TraceVerdict::Drop,
            },
        ]);
        assert_eq!(
            call_stack(&t, r(2, 0)),
            vec![Frame {
                from: r(0, 4),
                to: c(2),
                goto: false
            }]
        );
    }

    #[test]
    fn a_rule_in_the_base_chain_has_no_calls() {
        let h = Hook::Input;
        let t = trace(vec![
            Event::Hook(h),
            Event::Rule {
                hook: h,
                at: r(0, 0),
                verdict: TraceVerdict::Jump(c(1)),
            },
            Event::Rule {
                hook: h,
                at: r(1, 0),
                verdict: TraceVerdict::Return,
            },
            Event::Rule {
                hook: h,
                at: r(0, 3),
                verdict: TraceVerdict::Drop,
            },
        ]);
        assert!(call_stack(&t, r(0, 3)).is_empty());
    }

    #[test]
    fn goto_replaces_the_frame() {
        let h = Hook::Input;
        let t = trace(vec![
            Event::Hook(h),
            Event::Rule {
                hook: h,
                at: r(0, 0),
                verdict: TraceVerdict::Jump(c(1)),
            },
            Event::Rule {
                hook: h,
                at: r(1, 1),
                verdict: TraceVerdict::Goto(c(2)),
            },
            Event::Rule {
                hook: h,
                at: r(2, 0),
                verdict: TraceVerdict::Drop,
            },
        ]);
        assert_eq!(
            call_stack(&t, r(2, 0)),
            vec![
                Frame {
                    from: r(0, 0),
                    to: c(1),
                    goto: false
                },
                Frame {
                    from: r(1, 1),
                    to: c(2),
                    goto: true
                },
            ]
        );
    }
}
