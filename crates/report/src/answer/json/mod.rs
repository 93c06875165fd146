//! The `--json` output: a stable, documented schema.
//!
//! These types are the schema. They are built from the engine's trace but are separate
//! from it, so refactoring the engine cannot change what scripts read; a change here is a
//! schema change and bumps [`SCHEMA_VERSION`] when it is not purely additive.
//!
//! Conventions: names are `snake_case`; optional values are `null` rather than absent;
//! rule numbers (`index`) are 1-based as iptables numbers them; `line` is 1-based;
//! addresses are strings as `ip` prints them.

mod build;
pub(crate) use build::{fix as fix_json, packet as packet_json, response_with_text, sender_view};

use crate::answer::Answer;
use crate::words;
use build::{
    assumption, branch, conntrack, cross_table, decided_by, decider_json, fate_detail, fix, log,
    nat, packet, reason, reply, route, rule_json, sender_sees, step, unknown, warning,
};
use serde::Serialize;
use std::io::{self, Write};

/// Version of this schema; bumped on any change that is not purely additive. 2: each
/// assumption and warning is an object (`code`, its values, `text`), no longer a string.
pub const SCHEMA_VERSION: u32 = 3;

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The packet as given.
    pub packet: PacketJson,
    /// The packet as it last was (after NAT, mark and TTL changes).
    pub final_packet: PacketJson,
    /// `delivered`, `forwarded`, `sent`, `dropped`, `rejected`, `queued`, `routing_failed`,
    /// `undetermined` (an unmodelled target or a ruleset the kernel would refuse), or
    /// `undecided` when branches of Unknown matches disagree (see `branches`).
    pub fate: String,
    /// Details of the fate of the first branch (which interface, which reject, ...).
    pub fate_detail: FateDetail,
    /// Whether every branch agrees on the fate (false: exit code 3).
    pub decided: bool,
    /// What the connection experiences, which the exit status follows: `succeeds` (0: the
    /// packet got where it was going and its answer can get back), `refused` (1: delivered,
    /// and the stack refuses it: nothing listens), `answer_lost` (1: the answer to it
    /// cannot get back), `blocked` (1: dropped, rejected, queued or lost in routing),
    /// `undecided` (3: branches disagree, or see `no_rules_of_family`).
    pub connection: String,
    /// `ip` or `ip6` when no rules of the packet's family were given and nothing shows that
    /// family has no firewall, so a passed packet is no all-clear (`connection` is then
    /// `undecided`); `null` otherwise.
    pub no_rules_of_family: Option<String>,
    /// An ICMP error simulated without the host's conntrack table is taken as RELATED to a
    /// tracked flow it quotes; when, quoting no tracked flow (INVALID), the connection
    /// would differ, what it would be (a `connection` keyword; `connection` is then
    /// `undecided`); `null` otherwise.
    pub if_quoting_no_flow: Option<String>,
    /// The answer to a packet that passed (SYN/ACK, reply datagram, echo reply), simulated
    /// meeting the entry the packet created, when it does not get back through this host
    /// (`connection` is then `answer_lost`, or `undecided` when its `fate` is `null`);
    /// `null` otherwise.
    pub reply_not_through: Option<ReplyStepJson>,
    /// What decided the first branch: `rule`, `policy`, `routing`, `stack`, `conntrack`.
    pub decided_by: String,
    /// The rule (or base chain policy) that decided; `null` when routing, the stack or
    /// conntrack decided.
    pub deciding_rule: Option<RuleJson>,
    /// The jumps that led to the deciding rule, outermost first.
    pub reached_via: Vec<JumpJson>,
    /// Every step of the first branch, in order, like `nft monitor trace`.
    pub path: Vec<PathStep>,
    /// Address translations applied.
    pub nat: Vec<NatJson>,
    /// Conntrack's view of the packet.
    pub conntrack: ConntrackJson,
    /// The (last) routing decision; `null` if the packet never got that far.
    pub route: Option<RouteJson>,
    /// What the sender observes.
    pub sender_sees: SenderSeesJson,
    /// Lines the kernel (or an nflog reader) writes on the way.
    pub logs: Vec<LogJson>,
    /// Matches that cannot be decided offline (rate limits, `recent`, ...) met on the path,
    /// with the outcome the first branch took.
    pub unknowns: Vec<UnknownJson>,
    /// Things assumed because the input did not say them: how the inputs were read, then
    /// what the simulation assumed.
    pub assumptions: Vec<AssumptionJson>,
    /// Warnings about the path that do not change the fate.
    pub warnings: Vec<WarningJson>,
    /// Whether and how the reply gets back; `null` when there is no reply.
    pub reply: Option<ReplyJson>,
    /// One entry per explored combination of Unknown outcomes (one entry when there is
    /// none); the first is the default branch the rest of this report describes.
    pub branches: Vec<BranchJson>,
    /// More combinations existed than were explored.
    pub branches_truncated: bool,
    /// A suggested change, verified by re-simulation; `null` when none was searched for or
    /// none applies.
    pub fix: Option<FixJson>,
    /// When firewalld decided: the zone the packet lands in and why; `null` otherwise.
    pub firewalld_zone: Option<ZoneJson>,
    /// For a blocked port: what an ICMP echo request between the same endpoints does ("why
    /// ping works"); `null` when not computed or not applicable.
    pub ping: Option<PingJson>,
    /// Mixed hosts: the packet was dropped or rejected although an earlier base chain on
    /// the same hook (often another table, another tool) had accepted it: an accept ends
    /// only its own base chain. `null` when that is not the case.
    pub cross_table: Option<CrossTableJson>,
    /// Why the packet was lost when that is not (only) a rule's verdict: routing, the
    /// stack, conntrack, a reverse-path check, an INVALID packet. `null` otherwise.
    pub reason: Option<ReasonJson>,
    /// Rule-level reasons: set lookups met and missed, later rules shadowed by the one
    /// that decided, rules repeated in a chain on the path; `null` when not computed.
    pub rule_reasons: Option<RuleReasonsJson>,
}

/// The answer to a packet, simulated through this host, when it does not get back.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyStepJson {
    /// The answer as it arrives at this host.
    pub packet: PacketJson,
    /// Its fate's kind; `null` when it cannot be decided offline.
    pub fate: Option<String>,
    /// What decided it (the first branch's, when undecided): `rule`, `policy`, `routing`,
    /// `stack`, `conntrack`.
    pub decided_by: String,
    /// The rule or policy that decided, if one did.
    pub rule: Option<RuleJson>,
    /// In words.
    pub text: String,
}

/// The typed reason of a loss.
#[derive(Debug, Clone, Serialize)]
pub struct ReasonJson {
    /// `rp_filter`, `no_route`, `blackhole`, `unreachable`, `prohibit`, `ip_forward_off`,
    /// `ct_invalid`, `ct_table_full`, `martian_source`, `martian_destination`,
    /// `ttl_exceeded`, `too_big`, `not_unicast_frame`, `no_listener`, `echo_ignored`.
    pub code: String,
    /// The sysctl involved (`rp_filter`'s mode, forwarding, echo ignore), if any.
    pub sysctl: Option<String>,
    /// `rp_filter` and `martian_source`: the reverse lookup; `null` when not made (the
    /// host's routes were not given).
    pub reverse_lookup: Option<ReverseLookupJson>,
    /// `ct_invalid`: why conntrack found the packet INVALID: `no_entry`, `bad_tcp_flags`,
    /// `icmp_error_unknown_flow`, `icmp_cannot_open`, `before_conntrack`.
    pub ct_invalid: Option<String>,
    /// `no_helper`: the helper that would have made the packet RELATED, and its ground.
    pub no_helper: Option<NoHelperJson>,
    /// In words, one line each.
    pub text: Vec<String>,
}

/// The ground of a `no_helper` reason.
#[derive(Debug, Clone, Serialize)]
pub struct NoHelperJson {
    /// The helper (`ftp`, `tftp`).
    pub helper: String,
    /// The control connection's entry as `conntrack -L` printed it; `null` when only the
    /// data port's shape (active FTP's source port 20) is the ground.
    pub control: Option<String>,
    /// The rule that accepts RELATED but not NEW.
    pub related_accept: String,
}

/// The reverse lookup of a reverse-path check.
#[derive(Debug, Clone, Serialize)]
pub struct ReverseLookupJson {
    /// The interface the packet arrived on.
    pub iif: String,
    /// The address looked up (the packet's source).
    pub addr: String,
    /// The mark the lookup used.
    pub mark: u32,
    /// Each matching policy rule and what it gave.
    pub steps: Vec<FibStepJson>,
    /// Why it does not lead back: `other_interface`, `no_route`, `not_unicast`.
    pub miss: String,
    /// `other_interface`: the interface the route back leaves by.
    pub via: Option<String>,
}

/// One policy rule of a lookup.
#[derive(Debug, Clone, Serialize)]
pub struct FibStepJson {
    pub priority: u32,
    /// As `ip rule` prints it.
    pub rule: String,
    /// `nothing_in_table`, `suppressed`, `throw`, `found`, `action`.
    pub result: String,
    pub table: Option<u32>,
    /// The route seen, as `ip route` would print it.
    pub route: Option<String>,
}

/// Rule-level reasons of the first branch.
#[derive(Debug, Clone, Serialize)]
pub struct RuleReasonsJson {
    /// Set, ipset and verdict-map lookups the packet met and missed, in path order.
    pub set_misses: Vec<SetMissJson>,
    /// Later rules that would have decided the packet otherwise.
    pub shadowed: Vec<ShadowedJson>,
    /// Identical rules repeated in a chain the packet went through.
    pub repeats: Vec<RepeatJson>,
}

/// One missed lookup.
#[derive(Debug, Clone, Serialize)]
pub struct SetMissJson {
    /// The rule holding the lookup.
    pub rule: Option<RuleJson>,
    pub hook: String,
    /// `set` (nft `@name`), `ipset` (`--match-set`) or `verdict_map`.
    pub lookup: String,
    /// The set's or map's name; `null` for an anonymous verdict map.
    pub set: Option<String>,
    /// For an ipset: the rule's `src,dst` flags.
    pub match_set_flags: Option<String>,
    /// The set's type as declared (`ipv4_addr . inet_service`, `hash:ip,port`).
    pub set_type: String,
    /// How many elements the set held.
    pub elements: usize,
    /// The key the packet presented, one part per component; empty when it could not be
    /// read back exactly.
    pub key: Vec<KeyPartJson>,
    /// The nearest elements, nearest first.
    pub nearest: Vec<NearElementJson>,
    /// Why the key could not match.
    pub mismatches: Vec<MismatchJson>,
    /// The same in words, as the text output says it.
    pub text: Vec<String>,
}

/// One component of a key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyPartJson {
    /// What it is read from, as nft names it (`daddr`, `dport`, `iifname`, `l4proto`).
    pub field: String,
    /// Its value as nft prints it; `null` when the packet lacks it.
    pub value: Option<String>,
}

/// An element near the key.
#[derive(Debug, Clone, Serialize)]
pub struct NearElementJson {
    /// The element as nft prints it (`192.168.70.10 . 80`).
    pub element: String,
    /// Per component, whether the packet's key part matches it.
    pub matching: Vec<bool>,
    /// For a verdict map, the element's verdict.
    pub verdict: Option<String>,
    /// An ipset `nomatch` element.
    pub nomatch: bool,
}

/// Why a key could not match: a stable `code`, its values, and words.
#[derive(Debug, Clone, Serialize)]
pub struct MismatchJson {
    #[serde(flatten)]
    pub kind: MismatchKind,
    pub text: String,
}

/// The kinds of [`MismatchJson`].
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum MismatchKind {
    /// The rule gives fewer `src,dst` flags than the ipset type's dimensions.
    FewerDimensions {
        rule_dimensions: usize,
        set_dimensions: usize,
    },
    /// The key's address family is not the set's.
    Family { key_family: String },
    /// The key read from the other side of the packet is in the set.
    OtherDirection {
        fields: Vec<String>,
        match_set_flags: Option<String>,
    },
    /// The untranslated (pre-NAT) key is in the set.
    Untranslated { key: Vec<KeyPartJson> },
    /// The key falls in a `nomatch` element.
    Excluded { element: String },
    /// The set changes from the packet path or its elements time out.
    Dynamic,
    /// The set is empty.
    Empty,
}

/// A later rule that would have decided the packet otherwise.
#[derive(Debug, Clone, Serialize)]
pub struct ShadowedJson {
    /// The later rule.
    pub rule: Option<RuleJson>,
    /// What it would have done: `accept`, `drop`, `reject`, `queue`.
    pub would: String,
    /// The earlier rule that decided first.
    pub shadowed_by: Option<RuleJson>,
    /// What that one did.
    pub did: String,
    pub hook: String,
    /// Whether the packet would get through without the earlier rule.
    pub passes_without: bool,
    pub text: Vec<String>,
}

/// Identical rules of one chain.
#[derive(Debug, Clone, Serialize)]
pub struct RepeatJson {
    /// The copies, in chain order.
    pub rules: Vec<RepeatedRuleJson>,
    pub text: Vec<String>,
}

/// One copy of a repeated rule.
#[derive(Debug, Clone, Serialize)]
pub struct RepeatedRuleJson {
    pub rule: Option<RuleJson>,
    /// Whether it matched the packet.
    pub matched: bool,
}

/// One assumption: a stable `code`, the values it is made of, and the same in words.
#[derive(Debug, Clone, Serialize)]
pub struct AssumptionJson {
    /// What was assumed, with its values.
    #[serde(flatten)]
    pub kind: AssumptionKind,
    /// The assumption in words, as the text output says it.
    pub text: String,
}

/// What was assumed (`code`), with the values of that kind.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AssumptionKind {
    /// How an input was read when it was a guess (e.g. which family a rules file is):
    /// words only.
    InputNote,
    /// No host state: taken as forwarded from `iif` to `oif`.
    ForwardedFromSpec {
        /// The input interface given.
        iif: Option<String>,
        /// The output interface given.
        oif: Option<String>,
    },
    /// No host state: taken as addressed to this host, in on `iif`.
    LocalFromSpec {
        /// The input interface given.
        iif: Option<String>,
    },
    /// No host state: taken as generated by this host.
    OutputFromSpec,
    /// A sysctl not in the host state: its kernel default was used.
    SysctlDefault {
        /// The sysctl.
        key: String,
        /// The value used.
        value: String,
    },
    /// Listening sockets not given: whether anything answers is unknown.
    SocketsUnknown,
    /// No conntrack table given: the first packet of its flow.
    FirstPacketOfFlow,
    /// A TCP packet of a known connection: taken as inside its window.
    InsideTcpWindow,
    /// Taken as not expected by a helper whose control connection is in the table.
    NotExpected {
        helper: String,
        /// The control connection's `conntrack -L` line.
        control: String,
    },
    /// The kernel's local (and broadcast) routes derived from the host's addresses.
    LocalRoutesFromAddresses {
        /// `ip` or `ip6`.
        family: &'static str,
    },
    /// No sysctls given: a value the packet spec implies.
    SysctlAssumed {
        /// The sysctl.
        key: String,
        /// The value used.
        value: String,
    },
    /// Chains nested deeper than nf_tables loads, backend not named: iptables-legacy
    /// assumed.
    LegacyBackendForDepth {
        /// The table.
        table: String,
        /// The deepest nesting, in jumps.
        depth: usize,
        /// The base chain and the first 16 chains of that path.
        path: Vec<String>,
    },
}

/// One warning: a stable `code`, the values it is made of, and the same in words.
#[derive(Debug, Clone, Serialize)]
pub struct WarningJson {
    /// What the warning is about, with its values.
    #[serde(flatten)]
    pub kind: WarningKind,
    /// The warning in words, as the text output says it.
    pub text: String,
}

/// What a warning is about (`code`), with the values of that kind.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum WarningKind {
    /// A queue after conntrack on a NATed flow: port rewrites come too late.
    QueueAfterConntrackOnNat {
        /// The queueing rule.
        rule: Option<RuleJson>,
    },
    /// Two base chains share a priority on a hook: taken as loaded in the order given.
    EqualPriority {
        /// The hook.
        hook: String,
        /// The chain that ran first.
        ran_first: BaseChainJson,
        /// The chain that ran after it.
        ran_second: BaseChainJson,
    },
    /// The answer sent back (RST, ICMP error, SYN/ACK, echo reply) is stopped on its way
    /// out: the sender sees nothing.
    AnswerStopped {
        /// `rule`, `policy`, `routing`, `stack` or `conntrack`.
        decided_by: String,
        /// The rule or policy that stopped it, if one did.
        rule: Option<RuleJson>,
    },
    /// Whether the answer gets out is not decided.
    AnswerUncertain,
    /// A program is assumed to listen on the queue.
    QueueAssumedListening {
        /// The queue number.
        queue: u16,
        /// `--queue-bypass`: accepted without a program (else dropped).
        bypass: bool,
    },
    /// A bridge table is not simulated and may see the frame first.
    BridgeNotSimulated {
        /// The bridge table.
        table: String,
        /// The input interface.
        iif: String,
    },
    /// A flowtable offload: later packets of the connection bypass the hooks.
    FlowOffload {
        /// The rule.
        rule: Option<RuleJson>,
        /// The flowtable's name (`flow add @NAME`).
        flowtable: String,
    },
    /// The packet is added to a set from the packet path.
    SetUpdated {
        /// The rule.
        rule: Option<RuleJson>,
        /// The set.
        set: String,
    },
    /// A set the packet path updates was read as listed.
    DynamicSetRead {
        /// The set.
        set: String,
    },
    /// A conntrack helper was assigned.
    HelperAssigned {
        /// The helper.
        helper: String,
    },
    /// A NAT statement outside a nat chain has no effect.
    NatOutsideNatChain {
        /// `snat`, `dnat`, `masquerade`, `redirect`.
        nat: String,
    },
    /// A NAT statement on a hook it cannot run on.
    NatWrongHook {
        /// `snat`, `dnat`, `masquerade`, `redirect`.
        nat: String,
        /// The hook.
        hook: String,
    },
    /// The interface has no address: the kernel drops the packet.
    NatNoInterfaceAddress {
        /// `snat`, `dnat`, `masquerade`, `redirect`.
        nat: String,
    },
    /// The host's addresses were not given: the address is shown unchanged.
    NatAddressesUnknown {
        /// `snat`, `dnat`, `masquerade`, `redirect`.
        nat: String,
    },
    /// The kernel picks from a range: the first of the range is shown.
    NatRangeFirstShown {
        /// `snat`, `dnat`, `masquerade`, `redirect`.
        nat: String,
    },
    /// The conntrack table is full: the packet is dropped.
    ConntrackTableFull,
    /// No conntrack table given: an ICMP error is taken as RELATED.
    IcmpErrorAssumedRelated,
}

/// An accept that did not save the packet from a later drop on the same hook.
#[derive(Debug, Clone, Serialize)]
pub struct CrossTableJson {
    /// The hook both base chains are on.
    pub hook: String,
    /// The earlier accepts on that hook, in path order, one per base chain.
    pub accepted_by: Vec<CrossTableAccept>,
    /// The base chain that then dropped or rejected the packet.
    pub decided_in: BaseChainJson,
    /// The same in words.
    pub text: Vec<String>,
}

/// One earlier accept.
#[derive(Debug, Clone, Serialize)]
pub struct CrossTableAccept {
    /// The base chain that accepted (its priority orders it before `decided_in`).
    pub base_chain: BaseChainJson,
    /// The accepting rule (in that base chain or a chain it jumped to).
    pub rule: Option<RuleJson>,
}

/// A base chain: table, family, chain name, hook priority.
#[derive(Debug, Clone, Serialize)]
pub struct BaseChainJson {
    pub table: String,
    pub family: String,
    pub chain: String,
    pub priority: i32,
}

/// A packet.
#[derive(Debug, Clone, Serialize)]
pub struct PacketJson {
    /// `ip` or `ip6`.
    pub family: String,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, ... or the protocol number.
    pub proto: String,
    pub src: String,
    pub dst: String,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// TCP flags as the kernel log prints them (`SYN`, `ACK SYN`).
    pub tcp_flags: Option<String>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    /// Input interface (`null`: locally generated).
    pub iif: Option<String>,
    /// Output interface, when given or known.
    pub oif: Option<String>,
    pub mark: u32,
    pub ttl: u8,
    pub len: u16,
    /// One-line form: `tcp 10.1.1.2:1050 -> 10.1.0.2:2175 [SYN]`.
    pub text: String,
}

/// Details of a fate; the fields that do not apply are `null`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct FateDetail {
    /// Forwarded or sent: the output interface.
    pub oif: Option<String>,
    /// Forwarded: the next hop.
    pub gateway: Option<String>,
    /// Rejected: what the reject answers with (`icmp port-unreachable`, `tcp reset`).
    pub reject_with: Option<String>,
    /// Queued: the first queue number.
    pub queue: Option<u16>,
    /// Routing failed: why, in words.
    pub routing_failure: Option<String>,
    /// Delivered: `open`, `closed` or `unknown`.
    pub listener: Option<String>,
    /// Undetermined: why the simulation cannot say, in words.
    pub undetermined: Option<String>,
    /// The fate in one sentence.
    pub text: String,
}

/// A rule (or a base chain's policy) by its source.
#[derive(Debug, Clone, Serialize)]
pub struct RuleJson {
    /// `rule` or `policy`.
    pub kind: String,
    pub table: String,
    /// `ip`, `ip6`, `inet`, ...
    pub family: String,
    pub chain: String,
    /// 1-based rule number in its chain (`null` for a policy).
    pub index: Option<usize>,
    /// The file as given on the command line (empty for generated objects).
    pub file: String,
    /// 1-based line in `file`.
    pub line: u32,
    /// nft handle, when the listing had one.
    pub handle: Option<u64>,
    /// The rule as written (`-A FORWARD ...`), or the chain declaration for a policy.
    pub text: String,
    /// `-m comment` / nft comment.
    pub comment: Option<String>,
    /// The tool that wrote the rule (ufw, firewalld, ...) or `unmanaged`, with the evidence.
    pub owner: Option<OwnerJson>,
    /// For a policy: `accept` or `drop`.
    pub policy: Option<String>,
}

/// The firewalld zone a packet lands in.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneJson {
    pub zone: String,
    /// `source`, `interface` or `default_zone`.
    pub why: String,
    /// The bound source address or interface (`null` for the default zone).
    pub binding: Option<String>,
    /// The configuration line that binds it (`/etc/firewalld/zones/public.xml:5`), when
    /// recorded.
    pub config: Option<String>,
    /// The dispatch rule that chose it.
    pub rule: Option<RuleJson>,
    /// In words.
    pub text: String,
}

/// Who wrote a rule, table or chain.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerJson {
    /// `ufw`, `firewalld`, `docker`, `kube-proxy`, ..., `unmanaged`, `whyblocked` (a fix).
    pub tool: String,
    /// What the object is to the tool (`the routed default policy (...)`), when known.
    pub role: Option<String>,
    /// What showed it (`chain name ufw-reject-forward`, `its configuration FILE:LINE`).
    pub evidence: String,
    /// Whether the tool rewrites the object on reload (a rule added by hand is lost).
    pub rewritten_on_reload: bool,
}

/// One jump on the way to the deciding rule.
#[derive(Debug, Clone, Serialize)]
pub struct JumpJson {
    /// The rule that jumped.
    pub from: RuleJson,
    /// The chain entered.
    pub to: String,
    /// Entered with `goto` rather than `jump`.
    pub goto: bool,
}

/// A reference to a rule on the path.
#[derive(Debug, Clone, Serialize)]
pub struct RuleLoc {
    pub file: String,
    pub line: u32,
    pub text: String,
    /// 1-based rule number in its chain.
    pub index: usize,
    pub handle: Option<u64>,
    /// Who wrote the rule (as `deciding_rule.owner`), when the ruleset's owners are known.
    pub owner: Option<OwnerJson>,
}

/// One step of the path.
#[derive(Debug, Clone, Serialize)]
pub struct PathStep {
    /// `hook` (enters a hook), `rule` (a rule matched), `chain_end` (end of a regular
    /// chain), `policy`, `unknown`, `conntrack`, `nat`, `route`, `mark`, `note`.
    pub event: String,
    /// `prerouting`, `input`, `forward`, `output`, `postrouting`, ...
    pub hook: Option<String>,
    pub table: Option<String>,
    pub family: Option<String>,
    pub chain: Option<String>,
    pub rule: Option<RuleLoc>,
    /// `accept`, `drop`, `reject`, `queue`, `jump`, `goto`, `return`, `continue`, or `null`
    /// for steps that are not verdicts.
    pub verdict: Option<String>,
    /// Jump/goto target chain.
    pub target: Option<String>,
    /// The step in words (reject kind, conntrack state, NAT rewrite, route, note...).
    pub detail: Option<String>,
}

/// An address and optional port.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub addr: String,
    pub port: Option<u16>,
}

/// One address translation.
#[derive(Debug, Clone, Serialize)]
pub struct NatJson {
    /// `snat`, `dnat`, `masquerade`, `redirect`, `netmap`.
    pub kind: String,
    pub hook: String,
    pub before: Endpoint,
    pub after: Endpoint,
    /// The rule that did it; `null` when conntrack applied an existing binding.
    pub rule: Option<RuleJson>,
}

/// Conntrack's view.
#[derive(Debug, Clone, Serialize)]
pub struct ConntrackJson {
    /// `new`, `established`, `related`, `invalid`, `untracked`; `null` if the packet never
    /// reached conntrack.
    pub state: Option<String>,
    /// The existing entry the packet belongs to, as `conntrack -L` printed it.
    pub entry: Option<String>,
    /// The entry a new connection would create: original and reply tuples.
    pub new_entry: Option<CtEntryJson>,
    /// Sysctls the state depended on (e.g. `net.netfilter.nf_conntrack_tcp_loose`).
    pub depends_on: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CtEntryJson {
    pub original: CtTupleJson,
    pub reply: CtTupleJson,
}

#[derive(Debug, Clone, Serialize)]
pub struct CtTupleJson {
    pub src: String,
    pub dst: String,
    pub sport: u16,
    pub dport: u16,
}

/// A routing decision.
#[derive(Debug, Clone, Serialize)]
pub struct RouteJson {
    pub hook: String,
    /// `local`, `forward`, `output`, `failed`.
    pub kind: String,
    pub oif: Option<String>,
    pub gateway: Option<String>,
    /// Preferred source (output).
    pub src: Option<String>,
    /// Routing table consulted (255 local, 254 main).
    pub table: u32,
    /// Priority of the policy rule that led there.
    pub rule_priority: Option<u32>,
    /// The route used, as `ip route` prints it.
    pub route: Option<String>,
    /// For `failed`: why, in words.
    pub failure: Option<String>,
    /// Chosen from the packet spec's `in`/`out` because no host state was given.
    pub assumed: bool,
    /// The decision in words.
    pub text: String,
}

/// What the sender observes.
#[derive(Debug, Clone, Serialize)]
pub struct SenderSeesJson {
    /// What comes back on the wire; `null`: nothing.
    pub response: Option<ResponseJson>,
    /// `ECONNREFUSED`, `EHOSTUNREACH`, `ENETUNREACH`, `EACCES`, `EPERM`, `ETIMEDOUT`.
    pub errno: Option<String>,
    /// strerror text: `Connection refused`.
    pub errno_message: Option<String>,
    /// When nothing comes back: how long until the sender gives up.
    pub timeout_secs: Option<u32>,
    /// The errno arrives only after about this many seconds, not at once.
    pub errno_after_secs: Option<u32>,
    /// The answer depends on whether something listens, and listening sockets were not
    /// given: `response` and `errno` are then unknown (`null`), not "nothing".
    pub depends_on_listener: bool,
    /// A UDP sender gets no error: its `recv()` waits until its own timeout.
    pub recv_times_out: bool,
    /// `errno` is returned by the send itself (`send()`/`sendmsg()`), not a later `recv()`.
    pub errno_on_send: bool,
    /// The same in words, one line each.
    pub text: Vec<String>,
}

/// A packet sent back to the sender.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseJson {
    /// `tcp_rst`, `icmp`, `icmpv6`, `syn_ack`.
    pub kind: String,
    /// `null` when it is an address of this host the input did not give (see
    /// `from_route_back_via`); never 0.0.0.0 or ::.
    pub from: Option<String>,
    /// When `from` is `null`: the answer comes from this host's address on the route back,
    /// which leaves by this interface (`null`: unknown).
    pub from_route_back_via: Option<String>,
    pub to: String,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    /// Sent by the local stack (nothing listening), not by a firewall rule.
    pub by_stack: bool,
    /// In words: `ICMP port unreachable from 10.1.1.1 (this host's address on tap0)`.
    pub text: String,
}

/// A log line.
#[derive(Debug, Clone, Serialize)]
pub struct LogJson {
    /// Exactly as `dmesg` shows it (without the timestamp).
    pub text: String,
    /// `kernel`, `nflog`, `ulog`.
    pub kind: String,
    /// nflog/ulog group.
    pub group: Option<u16>,
    /// The LOG rule.
    pub rule: Option<RuleJson>,
    /// Why the line may be missing (e.g. a rate limit); `null`: it is always written.
    pub may_be_missing: Option<String>,
}

/// An Unknown match and the outcome taken.
#[derive(Debug, Clone, Serialize)]
pub struct UnknownJson {
    pub rule: Option<RuleJson>,
    /// Index of the match in the rule (0-based, in the IR's order).
    pub step: usize,
    /// Why it cannot be decided offline.
    pub why: String,
    /// The outcome taken on this branch.
    pub matched: bool,
    /// Forced with `--assume` rather than explored.
    pub assumed_by_user: bool,
}

/// One branch of Unknown outcomes.
#[derive(Debug, Clone, Serialize)]
pub struct BranchJson {
    /// The outcomes taken, in path order.
    pub choices: Vec<UnknownJson>,
    /// Same words as the top-level `fate` (never `undecided`).
    pub fate: String,
    pub fate_detail: FateDetail,
    pub decided_by: String,
    pub deciding_rule: Option<RuleJson>,
    /// In words: `if ... matches: ACCEPTED by filter/INPUT #3 (rules:40)`.
    pub text: String,
}

/// The reply direction.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyJson {
    /// The reply as the peer sends it.
    pub packet: PacketJson,
    /// The reply after conntrack undoes the NAT, as the original sender receives it.
    pub delivered_as: PacketJson,
    /// The route back to the sender; `null` when unknown.
    pub route_back: Option<RouteJson>,
}

/// The fate of a ping between the endpoints of a blocked packet.
#[derive(Debug, Clone, Serialize)]
pub struct PingJson {
    /// The echo request simulated, e.g. `icmp 10.1.1.2 -> 10.1.0.2 type 8 code 0`.
    pub packet: String,
    /// Its fate (same words as the top-level `fate`).
    pub fate: String,
    /// Whether the ping passes.
    pub passes: bool,
    /// The rule or policy that let it through or stopped it, when one did.
    pub rule: Option<RuleJson>,
}

/// The remedies for a blocked packet: the primary one (flattened) and the rest of the
/// ladder.
#[derive(Debug, Clone, Serialize)]
pub struct FixJson {
    /// The remedy the evidence points to.
    #[serde(flatten)]
    pub primary: RemedyJson,
    /// The other rungs of the ladder, narrow to broad.
    pub alternatives: Vec<RemedyJson>,
    /// The owner of the deciding rule or policy.
    pub owner: Option<OwnerJson>,
    /// Whether the blocked packet was a reply or part of an established connection (then
    /// the structural fix is the primary).
    pub hit_reply: bool,
}

/// One remedy.
#[derive(Debug, Clone, Serialize)]
pub struct RemedyJson {
    /// The `run` steps joined by newlines (what to paste into a shell).
    pub command: String,
    /// `flow`, `service`, `path`, `structural` or `cause`.
    pub breadth: String,
    /// `iptables`, `nft`, `ufw`, `firewall_cmd`, `fail2ban_client`, `kubernetes`, `TOOL_setting`.
    pub language: String,
    /// What to do, in order.
    pub steps: Vec<StepJson>,
    /// `durable`, `runtime_only` or `lost_on_reload`.
    pub durability: String,
    /// The rules the kernel holds afterwards (what `verify --fix` applies).
    pub kernel_rules: Vec<String>,
    /// Whether the whole connection works with it in the simulation.
    pub verified: bool,
    /// The simulated exchange with it in place (`null`: not simulated, the change is not
    /// in the ruleset).
    pub verified_exchange: Option<Vec<ExchangeStepJson>>,
    /// What it opens and what to know about it.
    pub note: String,
}

/// One step of a remedy.
#[derive(Debug, Clone, Serialize)]
pub struct StepJson {
    /// `run` or `add_line`.
    pub kind: String,
    /// The command, or the line for the file.
    pub text: String,
    /// For `add_line`: the persistent file.
    pub file: Option<String>,
    /// For `add_line`: the table and chain the line belongs in.
    pub table: Option<String>,
    pub chain: Option<String>,
}

/// One packet of a simulated exchange.
#[derive(Debug, Clone, Serialize)]
pub struct ExchangeStepJson {
    /// `request`, `reply`, `data_forward`, `data_back`.
    pub role: String,
    pub packet: PacketJson,
    /// The fate's kind (`null`: undecided offline).
    pub fate: Option<String>,
    pub passed: bool,
}

/// Builds the schema value of an answer.
pub fn report(answer: &Answer<'_>) -> Report {
    let rs = answer.ruleset;
    let host = answer.host;
    let outcome = answer.outcome;
    let trace = outcome.primary();
    let decided = outcome.decided_fate().is_some();
    let reached_via = answer
        .facts
        .reached_via
        .iter()
        .filter_map(|f| {
            Some(JumpJson {
                from: rule_json(rs, f.from)?,
                to: words::chain_name(rs, f.to),
                goto: f.goto,
            })
        })
        .collect();
    let assumptions = answer
        .input_notes
        .iter()
        .map(|note| AssumptionJson {
            kind: AssumptionKind::InputNote,
            text: words::input_note(note),
        })
        .chain(
            trace
                .assumptions
                .iter()
                .map(|a| assumption(a, &trace.packet)),
        )
        .collect();
    Report {
        schema_version: SCHEMA_VERSION,
        packet: packet(&trace.packet),
        final_packet: packet(&trace.final_packet),
        fate: if decided {
            words::fate_kind(&trace.fate).to_string()
        } else {
            "undecided".to_string()
        },
        fate_detail: fate_detail(&trace.fate),
        decided,
        connection: words::connection_kind(answer.facts.conclusion()).to_string(),
        no_rules_of_family: answer.facts.no_rules_of_family.map(|f| f.to_string()),
        if_quoting_no_flow: answer
            .facts
            .if_quoting_no_flow
            .map(|c| words::connection_kind(c).to_string()),
        reply_not_through: answer
            .facts
            .reply_not_through
            .as_ref()
            .map(|s| ReplyStepJson {
                packet: packet(&s.packet),
                fate: s.fate.as_ref().map(|f| words::fate_kind(f).to_string()),
                decided_by: decided_by(&s.decider).to_string(),
                rule: decider_json(rs, &s.decider),
                text: words::reply_not_through(rs, s),
            }),
        decided_by: decided_by(&trace.decider).to_string(),
        deciding_rule: decider_json(rs, &trace.decider),
        reached_via,
        path: trace.events.iter().map(|e| step(rs, host, e)).collect(),
        nat: trace.nat.iter().map(|n| nat(rs, n)).collect(),
        conntrack: conntrack(trace, host),
        route: trace.route.as_ref().map(|r| route(r, host)),
        sender_sees: sender_sees(trace, host),
        logs: trace.logs.iter().map(|l| log(rs, l)).collect(),
        unknowns: outcome
            .branches
            .first()
            .map(|b| b.choices.iter().map(|c| unknown(rs, c)).collect())
            .unwrap_or_default(),
        assumptions,
        warnings: trace.warnings.iter().map(|w| warning(rs, w)).collect(),
        reply: trace.reply.as_ref().map(|r| reply(r, host)),
        branches: outcome.branches.iter().map(|b| branch(rs, b)).collect(),
        branches_truncated: outcome.truncated,
        fix: answer.remedies.and_then(fix),
        firewalld_zone: answer
            .facts
            .firewalld_zone
            .as_ref()
            .map(|z| build::firewalld_zone(rs, z)),
        ping: answer.ping.map(|p| PingJson {
            packet: p.packet.to_string(),
            fate: words::fate_kind(&p.fate).to_string(),
            passes: p.fate.passed(),
            rule: decider_json(rs, &p.decider),
        }),
        cross_table: answer
            .facts
            .cross_table
            .as_ref()
            .map(|x| cross_table(rs, x, trace)),
        reason: trace.cause.as_ref().map(|c| reason(rs, c)),
        rule_reasons: answer.rule_reasons.map(|r| build::rule_reasons(rs, r)),
    }
}

/// Writes the answer as pretty-printed JSON followed by a newline.
pub fn render<W: Write>(w: &mut W, answer: &Answer<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &report(answer)).map_err(io::Error::from)?;
    writeln!(w)
}
