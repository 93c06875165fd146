//! What a tracer saw the kernel do with one packet: the ONE model every tracer produces (the
//! netlink nftrace reader of the oracle and of `whyblocked trace`, the readers of
//! `iptables -j TRACE`, `xtables-monitor --trace` and `nft monitor trace` text), and what
//! the comparer in `analysis::agree` holds against the engine's simulation.
//!
//! A walk is built in two steps: the tracer reports [`WalkEvent`]s as it named them (family,
//! table, chain, the rule by number, handle or text, verdict, headers or packet, conntrack),
//! then the placer in `analysis::agree` puts each in the user's ruleset ([`KernelStep`]:
//! a [`Placement`], the hook, the verdict in the user's terms) and reads the [`KernelFate`]
//! they prove; a netlink walk becomes a [`KernelWalk`] with the headers after NAT, conntrack's
//! state and the answers the kernel sent.

use crate::kernel::ct::state;
use crate::kernel::NfVerdict;
use crate::packet::IpProto;
use crate::{ChainRef, Family, Hook, Packet, Reject, RuleRef, TcpFlags, Verdict};
use std::fmt;
use std::net::IpAddr;

/// Name of the table whyblocked's own tracers add (`table inet wbtrace`): it switches
/// tracing on and observes the end of every hook. Its events are not the user's.
pub const TRACE_TABLE: &str = "wbtrace";

/// The chains of [`TRACE_TABLE`] that observe a hook: the hook, and whether the chain sits
/// at its end (priority 1000: the packet got through the hook).
pub fn observer_chain(chain: &str) -> Option<(Hook, bool)> {
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

/// What the network and transport headers of a trace event say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers {
    /// Source address as the hook saw it (after any NAT done before it).
    pub src: IpAddr,
    /// Destination address as the hook saw it.
    pub dst: IpAddr,
    /// Transport protocol number.
    pub proto: u8,
    /// IPv4 identification or IPv6 flow label.
    pub tag: u32,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Source and destination port, when the transport header has them.
    pub ports: Option<(u16, u16)>,
    /// The TCP flags, for TCP.
    pub tcp_flags: Option<TcpFlags>,
    /// ICMP/ICMPv6 type and code.
    pub icmp: Option<(u8, u8)>,
    /// For an ICMP/ICMPv6 error: the tag (IPv4 id / IPv6 flow label) of the packet it
    /// quotes, when the traced transport header reaches that far.
    pub quoted_tag: Option<u32>,
    /// The TOS / traffic class byte.
    pub tos: u8,
    /// IPv4 total length / IPv6 payload length + 40.
    pub len: u16,
    /// IPv4 DF bit (false for IPv6).
    pub dont_fragment: bool,
    /// ICMP/ICMPv6 echo identifier (bytes 4-5 of the ICMP header).
    pub icmp_id: Option<u16>,
}

impl Headers {
    /// What an answer packet says about the REJECT that made it.
    pub fn reject_answered(&self) -> Option<Reject> {
        if self.tcp_flags.is_some_and(|f| f.contains(TcpFlags::RST)) {
            return Some(Reject::TcpReset);
        }
        match (self.proto, self.icmp) {
            (1, Some((3, code))) => Some(Reject::Icmp(code)),
            (58, Some((1, code))) => Some(Reject::Icmpv6(code)),
            _ => None,
        }
    }

    /// An ICMP or ICMPv6 redirect (which a router adds when it forwards a packet back out
    /// of the interface it came in by; never the answer to a REJECT).
    pub fn is_redirect(&self) -> bool {
        matches!(
            (self.proto, self.icmp),
            (1, Some((5, _))) | (58, Some((137, _)))
        )
    }
}

impl fmt::Display for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proto = IpProto::from_number(self.proto);
        match self.ports {
            Some((s, d)) if self.src.is_ipv6() => {
                write!(f, "{proto} [{}]:{s} -> [{}]:{d}", self.src, self.dst)?
            }
            Some((s, d)) => write!(f, "{proto} {}:{s} -> {}:{d}", self.src, self.dst)?,
            None => write!(f, "{proto} {} -> {}", self.src, self.dst)?,
        }
        if let Some(fl) = self.tcp_flags {
            write!(f, " [{fl}]")?;
        }
        if let Some((t, c)) = self.icmp {
            write!(f, " type {t} code {c}")?;
        }
        Ok(())
    }
}

/// What kind of trace event a step is (`NFTA_TRACE_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// The end of a base chain: its policy applied.
    Policy,
    /// The end of a regular chain: back to the caller.
    Return,
    /// A rule matched.
    Rule,
    /// A type this reader does not know (the raw `NFTA_TRACE_TYPE`).
    Unknown(u32),
}

impl From<u32> for StepKind {
    fn from(v: u32) -> StepKind {
        match v {
            1 => StepKind::Policy,
            2 => StepKind::Return,
            3 => StepKind::Rule,
            v => StepKind::Unknown(v),
        }
    }
}

/// A verdict as the kernel reports it: the netfilter verdict, and the chain of a jump or
/// goto, the queue number of a queue. A REJECT is reported as [`NfVerdict::Drop`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelVerdict {
    /// The netfilter verdict.
    pub code: NfVerdict,
    /// The target chain of a jump or goto.
    pub chain: Option<String>,
    /// The queue number of `NF_QUEUE` (the upper 16 bits of the verdict word).
    pub queue: u16,
}

impl KernelVerdict {
    /// From `NFTA_VERDICT_CODE` (and `NFTA_VERDICT_CHAIN`), or `NFTA_TRACE_POLICY`.
    pub fn decode(word: i32, chain: Option<String>) -> KernelVerdict {
        let code = NfVerdict::from_kernel(word);
        let queue = if code == NfVerdict::Queue {
            (word as u32 >> 16) as u16
        } else {
            0
        };
        let chain = match code {
            NfVerdict::Jump | NfVerdict::Goto => Some(chain.unwrap_or_default()),
            _ => None,
        };
        KernelVerdict { code, chain, queue }
    }

    /// A verdict without a chain or queue number.
    pub fn of(code: NfVerdict) -> KernelVerdict {
        KernelVerdict {
            code,
            chain: None,
            queue: 0,
        }
    }

    /// A jump to `chain`.
    pub fn jump(chain: &str) -> KernelVerdict {
        KernelVerdict {
            code: NfVerdict::Jump,
            chain: Some(chain.to_string()),
            queue: 0,
        }
    }

    /// What the kernel reports for a rule with this verdict (a REJECT is a drop to it).
    pub fn of_rule(v: &Verdict) -> KernelVerdict {
        match v {
            Verdict::Accept => KernelVerdict::of(NfVerdict::Accept),
            Verdict::Drop | Verdict::Reject(_) => KernelVerdict::of(NfVerdict::Drop),
            Verdict::Return => KernelVerdict::of(NfVerdict::Return),
            Verdict::Jump(c) => KernelVerdict::jump(c),
            Verdict::Goto(c) => KernelVerdict {
                code: NfVerdict::Goto,
                chain: Some(c.clone()),
                queue: 0,
            },
            Verdict::Queue(q) => KernelVerdict {
                code: NfVerdict::Queue,
                chain: None,
                queue: q.num,
            },
            Verdict::Continue => KernelVerdict::of(NfVerdict::Continue),
        }
    }

    /// Whether the packet's walk ends here (drop, queue, stolen).
    pub fn ends_walk(&self) -> bool {
        matches!(
            self.code,
            NfVerdict::Drop | NfVerdict::Queue | NfVerdict::Stolen
        )
    }
}

impl fmt::Display for KernelVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chain = self.chain.as_deref().unwrap_or_default();
        match self.code {
            NfVerdict::Queue => write!(f, "queue {}", self.queue),
            NfVerdict::Jump => write!(f, "jump {chain}"),
            NfVerdict::Goto => write!(f, "goto {chain}"),
            NfVerdict::Stop | NfVerdict::Unknown(_) => {
                write!(f, "verdict {}", i32::from(self.code))
            }
            c => write!(f, "{c}"),
        }
    }
}

/// How a tracer names the rule of an event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleName {
    /// iptables numbering (legacy `rule:3`), 1-based.
    pub number: Option<u32>,
    /// nftables rule handle (netlink's `NFTA_TRACE_RULE_HANDLE`, `rule:0x9`, `# handle 9`).
    pub handle: Option<u64>,
    /// The rule as the tracer printed it: iptables-save form (`-A FORWARD ...`, without the
    /// `-4 -t filter` xtables-monitor adds) or nft form (counters removed).
    pub text: Option<String>,
    /// The printed rule ends in a reject (`-j REJECT`, nft `reject`): the kernel traces a
    /// REJECT as a drop, so a text tracer's rule is the only word that it was one. Set by the
    /// reader that knows the tracer's syntax.
    pub rejects: bool,
    /// The printed rule turns tracing on (`-j TRACE`, nft `meta nftrace set 1`): the rule
    /// that made the trace, not a rule of the ruleset under study. Set by the reader.
    pub starts_trace: bool,
}

/// One event as a tracer saw it, before it is placed in the user's ruleset: what the netlink
/// trace reader decodes and what the readers of a tracer's text (`iptables -j TRACE`,
/// `xtables-monitor --trace`, `nft monitor trace`) parse.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkEvent {
    /// The tracer's id of the walk (a hash of the packet: two packets may share it).
    pub id: Option<u32>,
    /// 1-based line of the tracer's text (`None` from netlink).
    pub line: Option<u64>,
    /// The table's family (a text tracer that prints none: the packet's).
    pub family: Option<Family>,
    /// The table's name as the kernel knows it.
    pub table: String,
    /// The chain's name as the kernel knows it (an nft chain binding is `__chainN`).
    pub chain: String,
    /// Rule, policy or return.
    pub kind: StepKind,
    /// The rule, as far as the tracer names it.
    pub rule: RuleName,
    /// `None` when the tracer printed no verdict (legacy `TRACE:` lines: the rule's target
    /// is the verdict).
    pub verdict: Option<KernelVerdict>,
    /// A base chain's policy (`NF_DROP` 0, `NF_ACCEPT` 1).
    pub policy: Option<u32>,
    /// Index of the input interface (`NFTA_TRACE_IIF`).
    pub iif: Option<u32>,
    /// Index of the output interface (`NFTA_TRACE_OIF`).
    pub oif: Option<u32>,
    /// The packet's headers, when a netlink event carries them (the first event of a hook).
    pub headers: Option<Headers>,
    /// The packet as a text tracer printed it at this event (the first event of each hook):
    /// addresses after NAT, TTL after forwarding.
    pub packet: Option<Packet>,
    /// `NF_CT_STATE_*_BIT` (see [`crate::kernel::ct::state`]).
    pub ct_state: Option<u32>,
    /// The connection's id (`NFTA_TRACE_CT_ID`, the same as ctnetlink's `CTA_ID`): ties
    /// the event to a [`CtEvent`].
    pub ct_id: Option<u32>,
}

impl WalkEvent {
    /// An event of a text tracer: no id, interfaces, headers or conntrack.
    pub fn traced(
        line: u64,
        family: Family,
        (table, chain): (String, String),
        kind: StepKind,
        rule: RuleName,
        verdict: Option<KernelVerdict>,
        packet: Option<Packet>,
    ) -> WalkEvent {
        WalkEvent {
            id: None,
            line: Some(line),
            family: Some(family),
            table,
            chain,
            kind,
            rule,
            verdict,
            policy: None,
            iif: None,
            oif: None,
            headers: None,
            packet,
            ct_state: None,
            ct_id: None,
        }
    }
    /// A drop verdict or a drop policy.
    pub fn drops(&self) -> bool {
        self.verdict
            .as_ref()
            .is_some_and(|v| v.code == NfVerdict::Drop)
            || self.policy == Some(0)
    }

    /// An event of [`TRACE_TABLE`], whyblocked's own.
    pub fn is_observer(&self) -> bool {
        self.table == TRACE_TABLE && self.family == Some(Family::Inet)
    }
}

/// Where an event landed in the user's ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// A rule of the user's ruleset.
    Rule(RuleRef),
    /// The end of a base chain: its policy.
    Policy(ChainRef),
    /// The end of a regular chain (its implicit return, or an explicit one).
    ChainEnd(ChainRef),
    /// A netlink event the placer could not place in the user's ruleset.
    Unmapped {
        /// The event's table.
        table: String,
        /// The event's chain.
        chain: String,
        /// The event's rule handle.
        handle: Option<u64>,
    },
    /// The rule that switched tracing on (`-j TRACE`, `meta nftrace set 1`): not part of the
    /// user's rules.
    TracingRule,
    /// The table or chain is not in the given ruleset.
    NotInRuleset,
    /// The chain is, but the rule could not be told apart from others.
    Unplaced(Unplaceable),
}

/// Why a traced event in a known chain could not be placed on one of its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unplaceable {
    /// The tracer printed an event of a kind the placer does not know.
    UnknownEventKind,
    /// The traced rule number is beyond the chain's last rule.
    BeyondLastRule,
    /// No rule of the chain has the traced verdict.
    NoRuleWithVerdict,
    /// Several rules of the chain have the traced verdict and no handle tells them apart.
    SeveralRulesWithVerdict,
}

/// How a text tracer's event was placed (a netlink event is placed by its exact handle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacedBy {
    /// The iptables rule number the tracer printed (legacy `rule:3`).
    RuleNumber,
    /// The nft rule handle the tracer printed, found in a listing with handles.
    Handle,
    /// The rule text the tracer printed, equal to one rule's.
    Text,
    /// The only rule of the chain with the traced verdict.
    Verdict,
    /// One of several rules with the traced verdict: the one the simulation took.
    Simulation,
}

/// One event of the kernel's walk, placed in the user's ruleset.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelStep {
    /// The event as the tracer saw it; for a netlink event, a chain binding's kernel name
    /// (`__chain6`) is replaced by the user's chain, and a chain's end marker is a
    /// [`StepKind::Return`].
    pub event: WalkEvent,
    /// The hook, from the chain's base chain (or the last base chain for a regular chain).
    pub hook: Option<Hook>,
    /// Where it landed in the user's ruleset.
    pub at: Placement,
    /// How a text tracer's event was placed.
    pub by: Option<PlacedBy>,
    /// What it did: the kernel's verdict (a jump to a chain binding named as the user's
    /// chain); for a legacy event that printed none, its rule's or policy's.
    pub verdict: KernelVerdict,
    /// The model rule says REJECT (the kernel reports it as drop).
    pub rejects: Option<Reject>,
}

impl KernelStep {
    /// The user's rule, when the step is a placed rule.
    pub fn rule(&self) -> Option<RuleRef> {
        match self.at {
            Placement::Rule(r) => Some(r),
            _ => None,
        }
    }
}

/// Where the packet ended, as the kernel's walk proves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelFate {
    /// Reached the end of the input hook.
    Delivered,
    /// Received and reached the end of postrouting, leaving by `oif`.
    Forwarded {
        /// The output interface's name.
        oif: String,
    },
    /// Locally generated and reached the end of postrouting.
    Sent {
        /// The output interface's name.
        oif: String,
    },
    /// A drop verdict at `steps[step]`.
    Dropped {
        /// Index into the walk's steps.
        step: usize,
    },
    /// A drop verdict by a REJECT rule; `with` is what the kernel's answer shows, if traced.
    Rejected {
        /// Index into the walk's steps.
        step: usize,
        /// The reject kind read from the answer packet (RST or ICMP error).
        with: Option<Reject>,
    },
    /// A queue verdict at `steps[step]`.
    Queued {
        /// Index into the walk's steps.
        step: usize,
        /// The queue number.
        num: u16,
    },
    /// No drop: accepted, as far as a tracer without end-of-hook observation can tell
    /// (`iptables -j TRACE`, `nft monitor trace` read offline); `last_hook` is where it was
    /// last seen.
    Accepted {
        /// The last hook the packet was seen in.
        last_hook: Option<Hook>,
    },
    /// No verdict ended it and it did not get through: lost in routing (no route, forwarding
    /// off, martian source, rp_filter, TTL) or stolen.
    Vanished {
        /// The last hook the packet got through.
        after: Option<Hook>,
    },
}

/// Conntrack's classification of a packet as the kernel's trace reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtSeen {
    /// The first packet of a connection (`ct state new`).
    New,
    /// A packet of a connection that has seen traffic both ways.
    Established,
    /// Related to a tracked connection: an ICMP error quoting it, or a connection it
    /// expects (FTP data).
    Related,
    /// Conntrack could not classify it (a lone RST or FIN-ACK, a bad checksum).
    Invalid,
    /// `notrack`: conntrack skipped it.
    Untracked,
}

impl CtSeen {
    /// From the `NF_CT_STATE_*_BIT` of a trace event (one bit set).
    pub fn from_bits(bits: u32) -> Option<CtSeen> {
        Some(match u64::from(bits) {
            state::INVALID => CtSeen::Invalid,
            state::ESTABLISHED => CtSeen::Established,
            state::RELATED => CtSeen::Related,
            state::NEW => CtSeen::New,
            state::UNTRACKED => CtSeen::Untracked,
            _ => return None,
        })
    }
}

/// Conntrack event kinds (ctnetlink).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtEventKind {
    /// An entry was created (confirmed).
    New,
    /// An entry changed (state, status, mark).
    Update,
    /// An entry was removed.
    Destroy,
}

/// One direction of a conntrack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtTuple {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport protocol number.
    pub proto: u8,
    /// Ports, or (ICMP id, type << 8 | code) for ICMP.
    pub sport: u16,
    /// Destination port (for ICMP: type << 8 | code).
    pub dport: u16,
}

/// A ctnetlink event (`IPCTNL_MSG_CT_NEW` / `_DELETE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtEvent {
    /// New, update or destroy.
    pub kind: CtEventKind,
    /// The original direction's tuple (as the first packet came in).
    pub orig: Option<CtTuple>,
    /// The reply direction's tuple (NAT shows here: the addresses answers carry).
    pub reply: Option<CtTuple>,
    /// `IPS_*` bits (see [`crate::kernel::ct::status`]).
    pub status: Option<u32>,
    /// Same 4 bytes as `NFTA_TRACE_CT_ID`.
    pub id: Option<u32>,
    /// The connection's mark.
    pub mark: Option<u32>,
}

/// One packet's walk through the kernel.
#[derive(Debug, Clone)]
pub struct KernelWalk {
    /// The tag the packet was sent with (IPv4 id / IPv6 flow label), to tell its events
    /// from others'.
    pub tag: u32,
    /// The packet as injected.
    pub packet: Packet,
    /// Events of the user's tables, in order.
    pub steps: Vec<KernelStep>,
    /// Hooks whose end the packet reached, in order.
    pub hooks_done: Vec<Hook>,
    /// Where the packet ended.
    pub fate: KernelFate,
    /// The headers at the last end-of-hook observation (after NAT).
    pub final_headers: Option<Headers>,
    /// Conntrack's classification (after the conntrack hook of prerouting/output).
    pub ct_state: Option<CtSeen>,
    /// Packets the kernel generated in answer (RST, ICMP errors), as traced.
    pub responses: Vec<Headers>,
    /// Whether the answer's own walk out of the host ended in a drop (an OUTPUT or
    /// POSTROUTING rule or policy stopped it): `None` when no answer was traced apart.
    pub answer_stopped: Option<bool>,
    /// Every event, ours included, for debugging.
    pub events: Vec<WalkEvent>,
}

impl KernelWalk {
    /// Whether the `index`th answer is the one judged (the first that is not an ICMP
    /// redirect) and its own walk out of the host was stopped.
    pub fn answer_stopped_at(&self, index: usize) -> bool {
        let judged = self.responses.iter().position(|h| !h.is_redirect());
        judged == Some(index) && self.answer_stopped == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_decode_as_the_kernel_encodes_them() {
        assert_eq!(
            KernelVerdict::decode(1, None),
            KernelVerdict::of(NfVerdict::Accept)
        );
        let q = KernelVerdict::decode((7 << 16) | 3, None);
        assert_eq!((q.code, q.queue), (NfVerdict::Queue, 7));
        assert_eq!(q.to_string(), "queue 7");
        assert_eq!(
            KernelVerdict::decode(-3, Some("sub".into())),
            KernelVerdict::jump("sub")
        );
        assert_eq!(KernelVerdict::decode(-5, None).to_string(), "return");
        assert_eq!(KernelVerdict::decode(-9, None).to_string(), "verdict -9");
    }
}
