//! What a simulation returns: data only, every rule referred to by position.

use crate::warning::{Assumption, Warning};
use model::expr::{Nat, NatKind, Queue, Reject, Undecidable};
use model::host::Socket;
use model::ruleset::Backend;
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
    /// The default branch's trace (every Unknown match took its default).
    pub fn primary(&self) -> &Trace {
        &self.branches[0].trace
    }
    /// What the connection experiences, if every branch agrees on it (see
    /// [`Trace::connection`]); [`Connection::Undecided`] otherwise.
    pub fn connection(&self) -> Connection {
        let first = self.primary().connection();
        if self.decided_fate().is_some()
            && self.branches.iter().all(|b| b.trace.connection() == first)
        {
            first
        } else {
            Connection::Undecided
        }
    }
}

/// What the connection a packet belongs to experiences, seen from its sender: the ground
/// of the answer's headline and exit status. A packet can pass every chain and still fail
/// its sender: the stack refuses it, or the answer to it cannot get back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// The packet got where it was going and, as far as the input tells, the answer to it
    /// (a SYN/ACK, an echo reply, a reply datagram) can get back.
    Succeeds,
    /// Delivered, and the local stack refuses it: nothing listens (a TCP RST, an ICMP port
    /// unreachable) or echo requests are ignored.
    Refused,
    /// The packet got where it was going, but the answer to it cannot get back: no route
    /// back to the sender, or a rule on the way out stops it.
    AnswerLost,
    /// Stopped on the way: dropped, rejected, queued or lost in routing.
    Blocked,
    /// The branches of Unknown matches disagree, or the simulation cannot say.
    Undecided,
}

impl Connection {
    /// Whether the sender gets what it asked for.
    pub fn succeeds(self) -> bool {
        self == Connection::Succeeds
    }
}

/// One explored combination of Unknown outcomes and the path it gave.
#[derive(Debug, Clone)]
pub struct Branch {
    /// The Unknown matches met on this branch and the outcome taken for each, in path order.
    pub choices: Vec<UnknownChoice>,
    /// The path this combination gave.
    pub trace: Trace,
}

/// Where an Unknown match is: the rule and the index of the match in `rule.body`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnknownSite {
    /// The rule holding the match.
    pub rule: RuleRef,
    /// The index of the match (or unmodelled target) in `rule.body`.
    pub step: usize,
}

/// The outcome one branch took at one Unknown match.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownChoice {
    /// Where the match is.
    pub site: UnknownSite,
    /// Why it cannot be decided offline.
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
    /// Every step of the path, in order.
    pub events: Vec<Event>,
    /// Where the packet ended up.
    pub fate: Fate,
    /// What decided the fate.
    pub decider: Decider,
    /// The last routing decision (None: the packet never got that far).
    pub route: Option<RouteDecision>,
    /// Address translations applied, in order.
    pub nat: Vec<NatRewrite>,
    /// Conntrack's view of the packet.
    pub conntrack: CtInfo,
    /// What the sender observes.
    pub sender_sees: SenderView,
    /// Lines LOG/NFLOG rules write on the way.
    pub logs: Vec<LogLine>,
    /// Things the simulation had to assume because the input did not say (no host state,
    /// missing sysctls): each is stated in the output.
    pub assumptions: Vec<Assumption>,
    /// Warnings about the path that do not change the fate (e.g. a queue after conntrack on
    /// a NATed flow may rewrite ports too late).
    pub warnings: Vec<Warning>,
    /// Whether and how the reply gets back.
    pub reply: Option<Reply>,
    /// Why the packet was lost when the reason is not (only) a rule's verdict: a routing
    /// or stack drop, conntrack, a reverse-path check, an INVALID packet; `None` when it
    /// passed or a plain rule decided.
    pub cause: Option<Cause>,
}

/// One step of the path, in order; read like `nft monitor trace`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The packet enters a hook.
    Hook(Hook),
    /// A rule matched and its action ran. `verdict` is what it did to the traversal
    /// (`Continue` for LOG/MARK and other non-terminal targets).
    Rule {
        /// The hook the rule's base chain is on.
        hook: Hook,
        /// The rule.
        at: RuleRef,
        /// What it did to the traversal.
        verdict: TraceVerdict,
    },
    /// The end of a regular chain was reached: back to the caller.
    ChainEnd {
        /// The hook being traversed.
        hook: Hook,
        /// The regular chain that ended.
        chain: ChainRef,
    },
    /// The end of a base chain was reached: its policy applied.
    Policy {
        /// The hook of the base chain.
        hook: Hook,
        /// The base chain.
        chain: ChainRef,
        /// Its policy.
        verdict: TraceVerdict,
    },
    /// An Unknown match: which outcome this branch took.
    Unknown {
        /// The hook being traversed.
        hook: Hook,
        /// The match and the outcome taken.
        choice: UnknownChoice,
    },
    /// Conntrack classified the packet.
    Conntrack {
        /// Prerouting or output.
        hook: Hook,
        /// The state rules see.
        state: CtState,
        /// Index into `host.conntrack` of the entry found, if any.
        entry: Option<usize>,
    },
    /// Address translation happened.
    Nat {
        /// The hook of the NAT core.
        hook: Hook,
        /// What changed.
        rewrite: NatRewrite,
    },
    /// A routing decision (prerouting, output, or a re-route after output changes).
    Route(RouteDecision),
    /// Mark changed by a rule.
    MarkSet {
        /// The hook being traversed.
        hook: Hook,
        /// The rule that set it.
        at: RuleRef,
        /// The mark before.
        old: u32,
        /// The mark after.
        new: u32,
    },
    /// Something on the path worth a line that is not a rule (e.g. TTL decremented,
    /// conntrack skipped because of NOTRACK).
    Note {
        /// The hook it happened on, if any.
        hook: Option<Hook>,
        /// What happened.
        note: Note,
    },
}

/// What a rule or policy did, as the kernel's trace would say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceVerdict {
    /// `accept`.
    Accept,
    /// `drop`.
    Drop,
    /// `reject` (iptables `REJECT`) with this answer.
    Reject(Reject),
    /// `queue` to userspace.
    Queue(Queue),
    /// `jump` to this chain.
    Jump(ChainRef),
    /// `goto` this chain.
    Goto(ChainRef),
    /// `return` to the calling chain.
    Return,
    /// On to the next rule (non-terminal actions).
    Continue,
}

/// A step of the path that is not a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Forwarding decremented the TTL (hop limit).
    TtlDecremented {
        /// Before.
        from: u8,
        /// After.
        to: u8,
    },
    /// The packet is untracked: `type nat` chains and conntrack are skipped.
    Untracked,
    /// A `type nat` chain was skipped: not the first packet of its connection.
    NatChainSkipped {
        /// The nat chain.
        chain: ChainRef,
    },
    /// The packet was re-routed after OUTPUT: a `type route` chain (iptables mangle
    /// OUTPUT) changed its mark, TOS or addresses, or NAT changed its destination.
    Rerouted,
    /// The interface given on the command line was not what routing chose.
    OifContradicted {
        /// The interface given.
        given: String,
        /// The interface routing chose.
        routed: String,
    },
}

/// Conntrack's classification (`ct state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtState {
    /// The first packet of a connection.
    New,
    /// A packet of a connection seen both ways.
    Established,
    /// A new connection expected by another (FTP data, an ICMP error).
    Related,
    /// A packet conntrack cannot place.
    Invalid,
    /// Exempted by NOTRACK.
    Untracked,
}

/// What conntrack made of the packet.
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
    /// Why conntrack left the packet INVALID, when it did.
    pub invalid: Option<CtInvalid>,
}

/// One translation applied to the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatRewrite {
    /// SNAT, DNAT, masquerade, redirect.
    pub kind: NatKind,
    /// The hook of the NAT core that applied it.
    pub hook: Hook,
    /// The rule that did it (None: conntrack applied an existing binding).
    pub by: Option<RuleRef>,
    /// Address and port before.
    pub before: (IpAddr, Option<u16>),
    /// Address and port after.
    pub after: (IpAddr, Option<u16>),
    /// The translation as the rule stated it.
    pub spec: Option<Nat>,
}

/// The packet's fate.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// Accepted for a local socket. `listener` says who answers.
    Delivered {
        /// Who answers.
        listener: Listener,
    },
    /// Forwarded out of `oif`.
    Forwarded {
        /// The output interface.
        oif: String,
        /// The next hop, when not on link.
        gateway: Option<IpAddr>,
    },
    /// Locally generated and sent out of `oif`.
    Sent {
        /// The output interface.
        oif: String,
    },
    /// Dropped without an answer.
    Dropped,
    /// Rejected: the answer is in [`Trace::sender_sees`].
    Rejected {
        /// The answer the rule asked for.
        with: Reject,
    },
    /// Handed to a userspace queue; what happens next depends on the program.
    Queued {
        /// The queue.
        queue: Queue,
    },
    /// Lost in routing: no route, blackhole/unreachable/prohibit route, forwarding off,
    /// rp_filter, martian source, TTL exhausted.
    RoutingFailed {
        /// Why.
        reason: RoutingFailure,
    },
    /// The simulation cannot say: a target whyblocked does not model stopped the packet on
    /// this branch, or the ruleset is one the kernel would refuse to load (a jump to a
    /// missing chain, a jump loop). Never counted as passed or blocked.
    Undetermined {
        /// Why.
        reason: Undetermined,
    },
}

/// Why a branch's fate is [`Fate::Undetermined`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undetermined {
    /// An unmodelled target (its name) ended the rule with a verdict nobody knows.
    UnmodelledTarget {
        /// The target as written.
        target: String,
    },
    /// `jump`/`goto` to a chain that does not exist in the table (the kernel refuses to
    /// load such a ruleset).
    MissingChain {
        /// The chain named by the jump.
        name: String,
    },
    /// Chains reachable from a base chain of the table reach themselves: no backend loads
    /// it (x_tables -ELOOP, nf_tables -ELOOP or -EMLINK).
    JumpLoop {
        /// The table's name.
        table: String,
        /// The chains of the loop by name, in jump order, the first repeated at the end.
        cycle: Vec<String>,
    },
    /// nf_tables refuses the table (-EMLINK): a path from a base chain takes
    /// `NFT_JUMP_STACK_SIZE` (16) jumps or gotos; iptables-legacy would load it.
    NestedTooDeep {
        /// The table's name.
        table: String,
        /// The chains of that path by name, the base chain first.
        path: Vec<String>,
        /// The backend the input names (native nft or iptables-nft).
        backend: Backend,
    },
    /// One traversal entered more chains than are followed (loop-free chains re-entered
    /// over and over); the limit.
    TooManyChainEntries {
        /// Chain entries followed.
        limit: usize,
    },
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

impl Trace {
    /// What the connection experiences on this path: [`Fate::passed`] tells whether the
    /// packet got through; this tells whether its sender gets an answer.
    pub fn connection(&self) -> Connection {
        let answer_lost = self
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::AnswerStopped { .. }))
            || self.reply.as_ref().is_some_and(|r| {
                matches!(
                    r.route_back,
                    Some(RouteDecision {
                        kind: RouteKind::Failed(_),
                        ..
                    })
                )
            });
        match &self.fate {
            Fate::Undetermined { .. } => Connection::Undecided,
            Fate::Delivered {
                listener: Listener::Closed,
            } => Connection::Refused,
            f if f.passed() && answer_lost => Connection::AnswerLost,
            f if f.passed() => Connection::Succeeds,
            _ => Connection::Blocked,
        }
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

/// Why routing lost the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutingFailure {
    /// No route matched (`ENETUNREACH` locally, ICMP net unreachable when forwarding).
    NoRoute,
    /// A `blackhole` route: dropped silently.
    Blackhole,
    /// An `unreachable` route: ICMP host unreachable.
    Unreachable,
    /// A `prohibit` route: ICMP administratively prohibited.
    Prohibit,
    /// `ip_forward` / `conf.IFACE.forwarding` is 0.
    ForwardingDisabled {
        /// The sysctl that is 0.
        sysctl: String,
    },
    /// Reverse path filter dropped it (`rp_filter` 1 strict or 2 loose).
    RpFilter {
        /// 1 strict, 2 loose.
        mode: u8,
        /// The sysctl that set the mode.
        sysctl: String,
    },
    /// A source address the kernel never accepts from the wire (127.0.0.0/8, multicast,
    /// 0.0.0.0, one of this host's own addresses, a source whose route back is not
    /// unicast).
    MartianSource,
    /// A destination the kernel never routes from the wire (0.0.0.0, 127.0.0.0/8 without
    /// `route_localnet`, IPv6 loopback on a non-loopback device).
    MartianDestination,
    /// TTL would reach 0 when forwarding: ICMP time exceeded.
    TtlExceeded,
    /// Too big for the output device's MTU and not to be fragmented (IPv4 with DF set; every
    /// forwarded IPv6 packet): `ip_forward()`/`ip6_forward()` check this after the TTL and
    /// before the forward hook, and answer ICMP "fragmentation needed" (3/4) / ICMPv6
    /// "packet too big" (2/0) carrying the MTU.
    TooBig {
        /// The output device's MTU.
        mtu: u32,
    },
    /// The frame was not addressed to this host's MAC (link-layer broadcast, multicast or
    /// another host's): `ip_forward()`/`ip6_forward()` drop it silently before the forward
    /// hook (`skb->pkt_type != PACKET_HOST`).
    NotUnicastFrame {
        /// What the frame was addressed to.
        pkttype: model::packet::PktType,
    },
}

/// What decided the fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decider {
    /// A rule's verdict.
    Rule(RuleRef),
    /// A base chain's policy.
    Policy(ChainRef),
    /// The accept of a base chain was final because no later chain dropped: the last
    /// rule or policy that accepted, per hook.
    Routing,
    /// The local stack (socket lookup).
    Stack,
    /// Conntrack (invalid packet dropped by the kernel, table full).
    Conntrack,
}

/// One routing decision.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteDecision {
    /// Where it was taken (prerouting for received packets, output for local ones).
    pub hook: Hook,
    /// What routing decided.
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

/// What routing decided.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteKind {
    /// For this host.
    Local,
    /// To be forwarded.
    Forward {
        /// The output interface.
        oif: String,
        /// The next hop, when not on link.
        gateway: Option<IpAddr>,
    },
    /// A locally generated packet's way out.
    Output {
        /// The output interface.
        oif: String,
        /// The next hop, when not on link.
        gateway: Option<IpAddr>,
        /// The preferred source address of the route.
        src: Option<IpAddr>,
    },
    /// No way: the packet is lost.
    Failed(RoutingFailure),
}

/// What the sender of the packet observes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SenderView {
    /// What comes back on the wire, if anything.
    pub response: Option<Response>,
    /// What the sender's `connect()` (TCP) or a connected UDP socket's `recv()` returns
    /// (its send, when [`SenderView::errno_on_send`]).
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
    /// `errno` is returned by the send itself (`send()`/`sendmsg()`, or a UDP `connect()`
    /// whose route lookup fails), not by a later `recv()`: a locally generated packet
    /// refused on its way out.
    pub errno_on_send: bool,
}

/// A packet sent back to the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// What kind of packet.
    pub kind: ResponseKind,
    /// Its source address (a firewall RST carries the original destination; an ICMP error
    /// for a forwarded packet comes from the router's address on the route back).
    pub from: AnswerSource,
    /// Its destination (the sender).
    pub to: IpAddr,
    /// Sent by the local stack (closed port) rather than by a firewall rule.
    pub by_stack: bool,
}

/// Where an answer comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerSource {
    /// This address.
    Addr(IpAddr),
    /// An address of this host that the input did not give (no host addresses): the one
    /// source selection picks on the route back to the sender, which leaves by `via` when
    /// the input tells (the interface the packet came in by).
    RouteBack {
        /// The interface of the route back, when known.
        via: Option<String>,
    },
}

impl AnswerSource {
    /// The address, when the input told it.
    pub fn addr(&self) -> Option<IpAddr> {
        match self {
            AnswerSource::Addr(a) => Some(*a),
            AnswerSource::RouteBack { .. } => None,
        }
    }
}

/// The kind of packet sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    /// A TCP RST.
    TcpRst,
    /// An ICMP message.
    Icmp {
        /// ICMP type.
        icmp_type: u8,
        /// ICMP code.
        code: u8,
    },
    /// An ICMPv6 message.
    Icmpv6 {
        /// ICMPv6 type.
        icmp_type: u8,
        /// ICMPv6 code.
        code: u8,
    },
    /// The connection is accepted (SYN/ACK from the server).
    SynAck,
}

/// What a socket call returns, named as errno(3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Errno {
    /// `ECONNREFUSED`.
    Econnrefused,
    /// `EHOSTUNREACH`.
    Ehostunreach,
    /// `ENETUNREACH`.
    Enetunreach,
    /// `EACCES`.
    Eacces,
    /// `EPERM`.
    Eperm,
    /// `ETIMEDOUT`.
    Etimedout,
    /// A blackhole route on output (`connect: Invalid argument`).
    Einval,
}

impl Errno {
    /// The errno's C name (`ECONNREFUSED`).
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
    /// The LOG rule.
    pub by: RuleRef,
    /// Exactly as `dmesg` shows it (without the timestamp).
    pub text: String,
    /// Kernel log, NFLOG or ULOG.
    pub kind: model::expr::LogKind,
    /// Why the line may be missing, e.g. the LOG rule sits behind a rate limit.
    pub may_be_missing: Option<Undecidable>,
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

// ---------------------------------------------------------------------------------------
// Causes: why a packet was lost when the answer is not (only) a rule's verdict.

/// The typed reason of a loss that is not a plain rule: each has a [`CauseCode`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    /// A reverse-path check failed: the `rp_filter` sysctl, or a rule (`-m rpfilter`, nft
    /// `fib saddr . iif oif missing`).
    RpFilter {
        /// Who checked.
        check: RpfCheck,
        /// The reverse lookup, step by step (`None`: the host's routes were not given).
        lookup: Option<ReverseLookup>,
    },
    /// No route to the destination (or an `ip rule ... unreachable`).
    NoRoute,
    /// A `blackhole` route or rule.
    Blackhole,
    /// An `unreachable` route.
    Unreachable,
    /// A `prohibit` route or rule.
    Prohibit,
    /// Forwarding is off for the packet's family or inbound interface.
    IpForwardOff {
        /// The sysctl that is 0.
        sysctl: String,
    },
    /// The packet was `ct state invalid` and a rule testing the state stopped it.
    CtInvalid {
        /// Why conntrack left it INVALID.
        why: CtInvalid,
    },
    /// The conntrack table is full: a new connection cannot be tracked.
    CtTableFull,
    /// The packet opens the data connection of a protocol a conntrack helper follows (an
    /// FTP data connection): with the helper assigned to the control connection it would
    /// be RELATED, without one it is NEW, and the path accepts RELATED but not NEW.
    NoHelper {
        /// The helper that would have expected it (`ftp`).
        helper: String,
        /// The control connection between the same hosts, when the host's table shows one
        /// (`None`: only the data port's shape says so).
        control: Option<model::host::CtEntry>,
        /// The rule on the path that accepts RELATED (and not NEW).
        related_accept: RuleRef,
    },
    /// A martian source address; `lookup` is the reverse lookup when that found it (a
    /// source whose route back is not unicast).
    MartianSource {
        /// The reverse lookup, when it decided.
        lookup: Option<ReverseLookup>,
    },
    /// A martian destination address.
    MartianDestination,
    /// The TTL (hop limit) ran out while forwarding.
    TtlExceeded,
    /// Larger than the next link's MTU and not to be fragmented.
    TooBig {
        /// The MTU of the way out.
        mtu: u32,
    },
    /// A link-layer broadcast or multicast frame is never forwarded.
    NotUnicastFrame {
        /// What the frame was addressed to.
        pkttype: model::packet::PktType,
    },
    /// Accepted for this host, but no socket listens on the port.
    NoListener,
    /// An echo request this host is set to ignore.
    EchoIgnored {
        /// The sysctl that is set.
        sysctl: String,
    },
}

/// The code of a [`Cause`], one per kind (JSON's `reason.code` is its snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CauseCode {
    /// [`Cause::RpFilter`].
    RpFilter,
    /// [`Cause::NoRoute`].
    NoRoute,
    /// [`Cause::Blackhole`].
    Blackhole,
    /// [`Cause::Unreachable`].
    Unreachable,
    /// [`Cause::Prohibit`].
    Prohibit,
    /// [`Cause::IpForwardOff`].
    IpForwardOff,
    /// [`Cause::CtInvalid`].
    CtInvalid,
    /// [`Cause::CtTableFull`].
    CtTableFull,
    /// [`Cause::NoHelper`].
    NoHelper,
    /// [`Cause::MartianSource`].
    MartianSource,
    /// [`Cause::MartianDestination`].
    MartianDestination,
    /// [`Cause::TtlExceeded`].
    TtlExceeded,
    /// [`Cause::TooBig`].
    TooBig,
    /// [`Cause::NotUnicastFrame`].
    NotUnicastFrame,
    /// [`Cause::NoListener`].
    NoListener,
    /// [`Cause::EchoIgnored`].
    EchoIgnored,
}

impl CauseCode {
    /// Every code, in the order the README lists them.
    pub const ALL: [CauseCode; 16] = [
        CauseCode::RpFilter,
        CauseCode::NoRoute,
        CauseCode::Blackhole,
        CauseCode::Unreachable,
        CauseCode::Prohibit,
        CauseCode::IpForwardOff,
        CauseCode::CtInvalid,
        CauseCode::CtTableFull,
        CauseCode::NoHelper,
        CauseCode::MartianSource,
        CauseCode::MartianDestination,
        CauseCode::TtlExceeded,
        CauseCode::TooBig,
        CauseCode::NotUnicastFrame,
        CauseCode::NoListener,
        CauseCode::EchoIgnored,
    ];
}

impl Cause {
    /// The cause's code.
    pub fn code(&self) -> CauseCode {
        match self {
            Cause::RpFilter { .. } => CauseCode::RpFilter,
            Cause::NoRoute => CauseCode::NoRoute,
            Cause::Blackhole => CauseCode::Blackhole,
            Cause::Unreachable => CauseCode::Unreachable,
            Cause::Prohibit => CauseCode::Prohibit,
            Cause::IpForwardOff { .. } => CauseCode::IpForwardOff,
            Cause::CtInvalid { .. } => CauseCode::CtInvalid,
            Cause::CtTableFull => CauseCode::CtTableFull,
            Cause::NoHelper { .. } => CauseCode::NoHelper,
            Cause::MartianSource { .. } => CauseCode::MartianSource,
            Cause::MartianDestination => CauseCode::MartianDestination,
            Cause::TtlExceeded => CauseCode::TtlExceeded,
            Cause::TooBig { .. } => CauseCode::TooBig,
            Cause::NotUnicastFrame { .. } => CauseCode::NotUnicastFrame,
            Cause::NoListener => CauseCode::NoListener,
            Cause::EchoIgnored { .. } => CauseCode::EchoIgnored,
        }
    }
}

/// Who made a reverse-path check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpfCheck {
    /// The kernel's `rp_filter` (`fib_validate_source`).
    Sysctl {
        /// 1 strict, 2 loose.
        mode: u8,
        /// The sysctl that set the mode.
        sysctl: String,
    },
    /// A rule: `-m rpfilter`, nft `fib saddr [. iif] oif missing`.
    Rule {
        /// The rule.
        rule: RuleRef,
        /// Loose: any route back will do.
        loose: bool,
    },
}

/// The reverse lookup of a reverse-path check: the packet's source looked up as a
/// destination, as if sent from this host, and why the answer does not lead back out of
/// the arrival interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReverseLookup {
    /// The interface the packet arrived on.
    pub iif: String,
    /// The address looked up (the packet's source).
    pub addr: IpAddr,
    /// The mark the lookup used (0 unless `src_valid_mark` / `--validmark`).
    pub mark: u32,
    /// The policy rules that matched, in order, and what each gave.
    pub steps: Vec<FibStep>,
    /// Why the answer does not point back out of `iif`.
    pub miss: RpfMiss,
}

/// One matching policy rule of a fib lookup and what it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibStep {
    /// The rule's priority.
    pub priority: u32,
    /// The rule as `ip rule` prints it (`32765: not from all fwmark 0xca6c lookup 51820`).
    pub rule: String,
    /// What it gave.
    pub result: FibStepResult,
}

/// What one policy rule of a lookup gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibStepResult {
    /// Its table has no route for the address: on to the next rule.
    NothingInTable {
        /// The table.
        table: u32,
    },
    /// A route was found but its prefix is too short for `suppress_prefixlength`: on.
    Suppressed {
        /// The table.
        table: u32,
        /// The route passed over.
        route: RouteSeen,
    },
    /// A `throw` route: on to the next rule.
    Throw {
        /// The table.
        table: u32,
    },
    /// The lookup ends with this route.
    Found {
        /// The table.
        table: u32,
        /// The route.
        route: RouteSeen,
    },
    /// The rule's own action ends the lookup (blackhole, unreachable, prohibit).
    Action(model::host::RuleAction),
}

/// A route as a lookup saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSeen {
    /// Index into `host.routes` (`None`: a route the kernel adds itself, e.g. for an
    /// address).
    pub index: Option<usize>,
    /// Its prefix.
    pub dst: ipnet::IpNet,
    /// Its type.
    pub route_type: model::host::RouteType,
    /// Its device (first next hop's for a multipath route).
    pub dev: Option<String>,
    /// Its gateway.
    pub gateway: Option<IpAddr>,
}

/// Why a reverse lookup does not lead back out of the arrival interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpfMiss {
    /// The route back leaves by another interface (strict mode).
    OtherInterface {
        /// Its interface.
        via: Option<String>,
    },
    /// No route back at all.
    NoRoute,
    /// The route back is not a unicast route (blackhole, unreachable, prohibit, or local
    /// without `accept_local`), or a rule's action ended the lookup.
    NotUnicast,
}

/// Why conntrack left a packet INVALID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtInvalid {
    /// A TCP segment that cannot open a connection (SYN/ACK, RST, FIN, or an ACK while
    /// `nf_conntrack_tcp_loose` is 0) and no entry knows its flow.
    NoEntry {
        /// What the segment is.
        segment: TcpSegment,
        /// `nf_conntrack_tcp_loose` for a lone ACK (`None`: not consulted).
        tcp_loose: Option<bool>,
    },
    /// A TCP flag combination TCP never uses (`tcp_error`).
    BadTcpFlags,
    /// An ICMP error that quotes a flow no entry knows.
    IcmpErrorUnknownFlow,
    /// An ICMP message that cannot open a connection (an echo reply, ...) and no entry.
    IcmpCannotOpen {
        /// Its type.
        icmp_type: u8,
    },
    /// The rule ran before conntrack (a raw-priority chain): every packet reads INVALID
    /// there.
    BeforeConntrack,
}

/// The kind of a TCP segment, as conntrack sorts them (`get_conntrack_index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpSegment {
    /// SYN/ACK.
    SynAck,
    /// RST.
    Rst,
    /// FIN.
    Fin,
    /// A lone ACK.
    Ack,
}
