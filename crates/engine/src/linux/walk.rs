//! The explicit state of one simulated path (one branch): the packet as it is now, what
//! conntrack attached, the devices each hook knows, the routing decision, and the trace
//! being written. Every step of [`crate::linux::path`], [`crate::linux::chain`] and [`crate::linux::action`]
//! takes it by `&mut` and returns a typed result.

use crate::linux::conntrack::Nfct;
use crate::linux::prepared::Prepared;
use crate::trace::{CtInfo, Decider, Event, Fate, LogLine, NatRewrite, RouteDecision};
use crate::warning::{Assumption, Warning};
use crate::{Decisions, Options};
use model::{ChainRef, Hook, Host, Packet, Ruleset};

/// How a path ended: the fate, what decided it and at which hook (for the response).
#[derive(Debug, Clone, PartialEq)]
pub struct End {
    pub fate: Fate,
    pub by: Decider,
    pub hook: Option<Hook>,
}

/// What `-j CT` / `ct zone set` put on the packet before conntrack ran (the template).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CtTemplate {
    pub zone: u16,
    pub helper: Option<String>,
}

/// A call frame of a chain traversal: where to continue after a `return`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub chain: ChainRef,
    /// The rule to continue with.
    pub next: usize,
}

/// One branch's state.
pub struct Walk<'a, 'p> {
    pub prep: &'a Prepared<'a>,
    pub host: &'a Host,
    pub options: &'a Options,
    /// The packet as given.
    pub original: &'a Packet,
    pub locally_generated: bool,

    /// The packet as it is now (NAT, mark, TOS, TTL applied).
    pub packet: Packet,
    pub nfct: Nfct,
    /// For an answer the stack sends (SYN/ACK, echo reply, its RST or ICMP error): the
    /// connection conntrack finds for it at its hook (-200); chains before that see none.
    pub answer_to: Option<Nfct>,
    pub template: CtTemplate,
    /// The device the packet came in by (`lo` after a loopback re-entry).
    pub in_dev: Option<String>,
    /// The device routing chose.
    pub out_dev: Option<String>,
    /// The packet is being forwarded (postrouting then knows its input device).
    pub forwarded: bool,
    pub route: Option<RouteDecision>,
    /// The last rule that accepted on a non-nat chain.
    pub last_rule_accept: Option<Decider>,
    /// The last policy that accepted on a non-nat chain.
    pub last_policy_accept: Option<Decider>,
    pub decisions: Decisions<'p>,
    /// Call stack of the chain traversal in progress (reused between base chains).
    pub stack: Vec<Frame>,
    /// A `type route` base chain (iptables mangle OUTPUT) changed the mark, TOS or
    /// addresses: the kernel re-routes after OUTPUT (`ip_route_me_harder`). A mark set in
    /// a `type filter` chain does not re-route.
    pub route_chain_changed: bool,

    pub events: Vec<Event>,
    pub logs: Vec<LogLine>,
    pub nat: Vec<NatRewrite>,
    pub ct: CtInfo,
    pub assumptions: Vec<Assumption>,
    pub warnings: Vec<Warning>,
}

impl<'a, 'p> Walk<'a, 'p> {
    pub fn new(
        prep: &'a Prepared<'a>,
        host: &'a Host,
        packet: &'a Packet,
        options: &'a Options,
        decisions: Decisions<'p>,
    ) -> Self {
        Walk {
            prep,
            host,
            options,
            original: packet,
            locally_generated: packet.iif.is_none(),
            packet: packet.clone(),
            nfct: Nfct::None,
            answer_to: None,
            template: CtTemplate::default(),
            in_dev: packet.iif.clone(),
            out_dev: None,
            forwarded: false,
            route: None,
            last_rule_accept: None,
            last_policy_accept: None,
            decisions,
            stack: Vec::new(),
            route_chain_changed: false,
            events: Vec::with_capacity(16),
            logs: Vec::new(),
            nat: Vec::new(),
            ct: CtInfo::default(),
            assumptions: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn ruleset(&self) -> &'a Ruleset {
        self.prep.ruleset
    }

    /// Input and output device names as `hook` knows them (`""` for none). POSTROUTING
    /// sees the input device of a forwarded packet (`ip_output` passes `skb->dev`).
    pub fn devices(&self, hook: Hook) -> (&str, &str) {
        let i = self.in_dev.as_deref().unwrap_or("");
        let o = self.out_dev.as_deref().unwrap_or("");
        match hook {
            Hook::Ingress | Hook::Prerouting | Hook::Input => (i, ""),
            Hook::Forward => (i, o),
            Hook::Postrouting if self.forwarded => (i, o),
            Hook::Output | Hook::Postrouting | Hook::Egress => ("", o),
        }
    }

    pub fn assume(&mut self, a: Assumption) {
        if !self.assumptions.contains(&a) {
            self.assumptions.push(a);
        }
    }

    pub fn warn(&mut self, w: Warning) {
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    /// An integer sysctl the decision reads; its kernel default (stated as an assumption)
    /// when not given.
    pub fn sysctl(&mut self, key: &str, default: i64) -> i64 {
        if self.host.sysctls.is_set(key) {
            self.host.sysctls.int_or(key, default)
        } else {
            self.assume(Assumption::SysctlDefault {
                key: key.to_string(),
                value: default.to_string(),
            });
            default
        }
    }
}
