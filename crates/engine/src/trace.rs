//! What a simulation returns: data only, every rule referred to by position.

use model::expr::{Nat, NatKind, Queue, Reject, Undecidable};
use model::host::Socket;
use model::{ChainRef, Hook, Packet, RuleRef};
use std::net::IpAddr;

/// All ways the packet can go, one branch per combination of Unknown outcomes explored.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// At least one. The first branch is the one where every Unknown match took its
    /// default (see [`UnknownChoice`]).
    pub branches: Vec<Branch>,
    /// More combinations existed than `Options::max_branches`.
    pub truncated: bool,
}

impl Outcome {
    /// The fate, if every branch agrees on it (then Unknown matches on the path did not
    /// matter for the verdict, e.g. a rate-limited LOG).
    pub fn decided_fate(&self) -> Option<&Fate> {
        let first = &self.branches[0].trace.fate;
        self.branches
            .iter()
            .all(|b| b.trace.fate.same_kind(first))
            .then_some(first)
    }
    pub fn primary(&self) -> &Trace {
        &self.branches[0].trace
    }
}

#[derive(Debug, Clone)]
pub struct Branch {
    /// The Unknown matches met on this branch and the outcome taken for each, in path order.
    pub choices: Vec<UnknownChoice>,
    pub trace: Trace,
}

/// Where an Unknown match is: the rule and the index of the match in `rule.body`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnknownSite {
    pub rule: RuleRef,
    pub step: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnknownChoice {
    pub site: UnknownSite,
    pub why: Undecidable,
    /// The outcome taken on this branch.
    pub matched: bool,
    /// Forced by the user's `--assume`, not explored.
    pub assumed_by_user: bool,
}

/// One simulated path.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The packet as given.
    pub packet: Packet,
    /// The packet as it last was (after NAT, mark and TTL changes).
    pub final_packet: Packet,
    pub events: Vec<Event>,
    pub fate: Fate,
    /// What decided the fate.
    pub decider: Decider,
    pub route: Option<RouteDecision>,
    pub nat: Vec<NatRewrite>,
    pub conntrack: CtInfo,
    pub sender_sees: SenderView,
    pub logs: Vec<LogLine>,
    /// Things the simulation had to assume because the input did not say (no host state,
    /// missing sysctls): each is stated in the output.
    pub assumptions: Vec<Assumption>,
    /// Warnings about the path that do not change the fate (e.g. a queue after conntrack on
    /// a NATed flow may rewrite ports too late).
    pub warnings: Vec<Warning>,
    /// Whether and how the reply gets back.
    pub reply: Option<Reply>,
}

/// One step of the path, in order; read like `nft monitor trace`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The packet enters a hook.
    Hook(Hook),
    /// A rule matched and its action ran. `verdict` is what it did to the traversal
    /// (`Continue` for LOG/MARK and other non-terminal targets).
    Rule {
        hook: Hook,
        at: RuleRef,
        verdict: TraceVerdict,
    },
    /// The end of a regular chain was reached: back to the caller.
    ChainEnd { hook: Hook, chain: ChainRef },
    /// The end of a base chain was reached: its policy applied.
    Policy {
        hook: Hook,
        chain: ChainRef,
        verdict: TraceVerdict,
    },
    /// An Unknown match: which outcome this branch took.
    Unknown { hook: Hook, choice: UnknownChoice },
    /// Conntrack classified the packet.
    Conntrack {
        hook: Hook,
        state: CtState,
        entry: Option<usize>,
    },
    /// Address translation happened.
    Nat { hook: Hook, rewrite: NatRewrite },
    /// A routing decision (prerouting, output, or a re-route after output changes).
    Route(RouteDecision),
    /// Mark changed by a rule.
    MarkSet {
        hook: Hook,
        at: RuleRef,
        old: u32,
        new: u32,
    },
    /// Something on the path worth a line that is not a rule (e.g. TTL decremented,
    /// conntrack skipped because of NOTRACK).
    Note { hook: Option<Hook>, note: Note },
}

/// What a rule or policy did, as the kernel's trace would say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceVerdict {
    Accept,
    Drop,
    Reject(Reject),
    Queue(Queue),
    Jump(ChainRef),
    Goto(ChainRef),
    Return,
    Continue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    TtlDecremented {
        from: u8,
        to: u8,
    },
    /// The packet is untracked: `type nat` chains and conntrack are skipped.
    Untracked,
    /// A `type nat` chain was skipped: not the first packet of its connection.
    NatChainSkipped {
        chain: ChainRef,
    },
    /// The packet was re-routed after OUTPUT: a `type route` chain (iptables mangle
    /// OUTPUT) changed its mark, TOS or addresses, or NAT changed its destination.
    Rerouted,
    /// The interface given on the command line was not what routing chose.
    OifContradicted {
        given: String,
        routed: String,
    },
}

/// Conntrack's classification (`ct state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtState {
    New,
    Established,
    Related,
    Invalid,
    Untracked,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CtInfo {
    /// The state rules saw first (None: the packet never reached conntrack).
    pub state: Option<CtState>,
    /// Index into `host.conntrack` of the entry the packet belongs to, if it had one.
    pub entry: Option<usize>,
    /// The tuple conntrack would create for a new connection (original, reply) after NAT.
    pub new_entry: Option<(model::host::CtTuple, model::host::CtTuple)>,
    /// A knob the state depended on (e.g. `net.netfilter.nf_conntrack_tcp_loose`).
    pub depends_on: Vec<String>,
}

/// One translation applied to the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatRewrite {
    pub kind: NatKind,
    pub hook: Hook,
    /// The rule that did it (None: conntrack applied an existing binding).
    pub by: Option<RuleRef>,
    pub before: (IpAddr, Option<u16>),
    pub after: (IpAddr, Option<u16>),
    /// The translation as the rule stated it.
    pub spec: Option<Nat>,
}

/// The packet's fate.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// Accepted for a local socket. `listener` says who answers.
    Delivered {
        listener: Listener,
    },
    /// Forwarded out of `oif`.
    Forwarded {
        oif: String,
        gateway: Option<IpAddr>,
    },
    /// Locally generated and sent out of `oif`.
    Sent {
        oif: String,
    },
    Dropped,
    Rejected {
        with: Reject,
    },
    /// Handed to a userspace queue; what happens next depends on the program.
    Queued {
        queue: Queue,
    },
    /// Lost in routing: no route, blackhole/unreachable/prohibit route, forwarding off,
    /// rp_filter, martian source, TTL exhausted.
    RoutingFailed {
        reason: RoutingFailure,
    },
    /// The simulation cannot say: a target whyblocked does not model stopped the packet on
    /// this branch, or the ruleset is one the kernel would refuse to load (a jump to a
    /// missing chain, a jump loop). Never counted as passed or blocked.
    Undetermined {
        reason: Undetermined,
    },
}

/// Why a branch's fate is [`Fate::Undetermined`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undetermined {
    /// An unmodelled target (its name) ended the rule with a verdict nobody knows.
    UnmodelledTarget { target: String },
    /// `jump`/`goto` to a chain that does not exist in the table (the kernel refuses to
    /// load such a ruleset).
    MissingChain { name: String },
    /// Jumps loop or nest deeper than the kernel allows (it refuses such a ruleset with
    /// ELOOP / EMLINK); `chain` is where the loop closed.
    JumpLoop { chain: ChainRef },
}

impl Fate {
    /// Same outcome ignoring details (for deciding whether branches agree).
    pub fn same_kind(&self, other: &Fate) -> bool {
        match (self, other) {
            (Fate::Rejected { with: a }, Fate::Rejected { with: b }) => a == b,
            (Fate::Forwarded { oif: a, .. }, Fate::Forwarded { oif: b, .. }) => a == b,
            (Fate::Sent { oif: a }, Fate::Sent { oif: b }) => a == b,
            (Fate::Delivered { listener: a }, Fate::Delivered { listener: b }) => {
                std::mem::discriminant(a) == std::mem::discriminant(b)
            }
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
    /// Whether the packet got where it was going (exit code 0).
    pub fn passed(&self) -> bool {
        matches!(
            self,
            Fate::Delivered { .. } | Fate::Forwarded { .. } | Fate::Sent { .. }
        )
    }
}

/// Who answers a packet delivered locally.
#[derive(Debug, Clone, PartialEq)]
pub enum Listener {
    /// A socket listens: the connection is accepted.
    Open(Socket),
    /// No socket: the stack answers (TCP RST, ICMP port unreachable for UDP).
    Closed,
    /// Listening sockets were not given.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutingFailure {
    /// No route matched (`ENETUNREACH` locally, ICMP net unreachable when forwarding).
    NoRoute,
    Blackhole,
    Unreachable,
    Prohibit,
    /// `ip_forward` / `conf.IFACE.forwarding` is 0.
    ForwardingDisabled {
        sysctl: String,
    },
    /// Reverse path filter dropped it (`rp_filter` 1 strict or 2 loose).
    RpFilter {
        mode: u8,
        sysctl: String,
    },
    /// A source address the kernel never accepts from the wire (127.0.0.0/8, multicast...).
    Martian,
    /// TTL would reach 0 when forwarding: ICMP time exceeded.
    TtlExceeded,
    /// The frame was not addressed to this host's MAC (link-layer broadcast, multicast or
    /// another host's): `ip_forward()`/`ip6_forward()` drop it silently before the forward
    /// hook (`skb->pkt_type != PACKET_HOST`).
    NotUnicastFrame {
        pkttype: model::packet::PktType,
    },
}

/// What decided the fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decider {
    Rule(RuleRef),
    Policy(ChainRef),
    /// The accept of a base chain was final because no later chain dropped: the last
    /// rule or policy that accepted, per hook.
    Routing,
    /// The local stack (socket lookup).
    Stack,
    /// Conntrack (invalid packet dropped by the kernel, table full).
    Conntrack,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RouteDecision {
    pub hook: Hook,
    pub kind: RouteKind,
    /// Routing table consulted (255 local, 254 main).
    pub table: u32,
    /// Priority of the policy rule that led there.
    pub rule_priority: Option<u32>,
    /// Index into `host.routes` of the route used.
    pub route: Option<usize>,
    /// Chosen without host state (from `in`/`out` of the packet spec).
    pub assumed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RouteKind {
    Local,
    Forward {
        oif: String,
        gateway: Option<IpAddr>,
    },
    Output {
        oif: String,
        gateway: Option<IpAddr>,
        src: Option<IpAddr>,
    },
    Failed(RoutingFailure),
}

/// What the sender of the packet observes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SenderView {
    /// What comes back on the wire, if anything.
    pub response: Option<Response>,
    /// What the sender's `connect()` (TCP) or a connected UDP socket's `recv()` returns.
    pub errno: Option<Errno>,
    /// How long until the sender gives up, when nothing comes back (TCP SYN retries).
    pub timeout_secs: Option<u32>,
    /// The errno arrives only after about this many seconds, not at once (IPv6 TCP and an
    /// ICMPv6 port unreachable: after one SYN retransmit, ~1 s).
    pub errno_after_secs: Option<u32>,
    /// The answer depends on whether something listens, and listening sockets were not
    /// given: `response` and `errno` are then unknown (None), not "nothing".
    pub depends_on_listener: bool,
    /// A UDP sender: no error is reported, its `recv()` waits until its own timeout.
    pub recv_times_out: bool,
}

/// A packet sent back to the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub kind: ResponseKind,
    /// Its source address (a firewall RST carries the original destination; an ICMP error
    /// for a forwarded packet comes from the router's address on the route back).
    pub from: IpAddr,
    pub to: IpAddr,
    /// Sent by the local stack (closed port) rather than by a firewall rule.
    pub by_stack: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    TcpRst,
    Icmp {
        icmp_type: u8,
        code: u8,
    },
    Icmpv6 {
        icmp_type: u8,
        code: u8,
    },
    /// The connection is accepted (SYN/ACK from the server).
    SynAck,
}

/// What a socket call returns, named as errno(3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Errno {
    Econnrefused,
    Ehostunreach,
    Enetunreach,
    Eacces,
    Eperm,
    Etimedout,
    /// A blackhole route on output (`connect: Invalid argument`).
    Einval,
}

impl Errno {
    pub fn name(self) -> &'static str {
        match self {
            Errno::Econnrefused => "ECONNREFUSED",
            Errno::Ehostunreach => "EHOSTUNREACH",
            Errno::Enetunreach => "ENETUNREACH",
            Errno::Eacces => "EACCES",
            Errno::Eperm => "EPERM",
            Errno::Etimedout => "ETIMEDOUT",
            Errno::Einval => "EINVAL",
        }
    }
    /// strerror(3) text.
    pub fn message(self) -> &'static str {
        match self {
            Errno::Econnrefused => "Connection refused",
            Errno::Ehostunreach => "No route to host",
            Errno::Enetunreach => "Network is unreachable",
            Errno::Eacces => "Permission denied",
            Errno::Eperm => "Operation not permitted",
            Errno::Etimedout => "Connection timed out",
            Errno::Einval => "Invalid argument",
        }
    }
}

/// A line the kernel (or an nflog reader) writes on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub by: RuleRef,
    /// Exactly as `dmesg` shows it (without the timestamp).
    pub text: String,
    pub kind: model::expr::LogKind,
    /// Why the line may be missing, e.g. the LOG rule sits behind a rate limit.
    pub may_be_missing: Option<Undecidable>,
}

/// Something assumed because the input did not say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assumption {
    /// No host state: `in X out Y` taken as forwarded from X to Y.
    ForwardedFromSpec,
    /// No host state: `in X` alone taken as addressed to this host.
    LocalFromSpec,
    /// No host state: `out Y` alone (or neither) taken as locally generated.
    OutputFromSpec,
    /// A sysctl was not given: its kernel default was used.
    SysctlDefault { key: String, value: String },
    /// Listening sockets not given: cannot say whether something answers.
    SocketsUnknown,
    /// No conntrack table given: the packet is taken as the first of its flow.
    FirstPacketOfFlow,
    /// The routes had no local table (255) for this family: the kernel's implicit local
    /// and broadcast routes were derived from the host's addresses.
    LocalRoutesFromAddresses { v6: bool },
    /// A sysctl was not given and no sysctls at all were: this value was taken because the
    /// packet spec implies it (e.g. forwarding on for a packet given `in X out Y`), not
    /// the kernel default.
    SysctlAssumed { key: String, value: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A queue that may rewrite ports sits after conntrack on a NATed flow (user story 6):
    /// conntrack's reverse NAT matched on the tuple before the program's change.
    QueueAfterConntrackOnNat { at: RuleRef },
    /// Base chains of two tables share a priority on a hook the packet crossed: the kernel
    /// runs the one registered last first, and no listing records which was loaded last.
    /// The simulation took the input order as the load order, so `ran_first` ran first.
    EqualPriority {
        hook: model::Hook,
        ran_first: ChainRef,
        ran_second: ChainRef,
    },
    /// The RST or ICMP error sent back was itself stopped on its way out (by a rule or
    /// policy of OUTPUT/POSTROUTING, or by routing): the sender sees nothing.
    AnswerStopped { by: Decider },
    /// Whether the answer gets out is not decided: an Unknown match on its way out, or a
    /// broadcast/multicast destination (output routing models only the local copy).
    AnswerUncertain,
    /// Anything else worth saying about the path, in words.
    Other(String),
}

/// The reply direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The reply as the peer sends it (addresses swapped against the translated packet).
    pub packet: Packet,
    /// The reply after conntrack undoes the NAT, as the original sender receives it.
    pub delivered_as: Packet,
    /// Whether a route back to the sender exists on this host.
    pub route_back: Option<RouteDecision>,
}
