//! The `--json` output: a stable, documented schema.
//!
//! These types are the schema. They are built from the engine's trace but are separate
//! from it, so refactoring the engine cannot change what scripts read; a change here is a
//! schema change and bumps [`SCHEMA_VERSION`] when it is not purely additive.
//!
//! Conventions: names are `snake_case`; optional values are `null` rather than absent;
//! rule numbers (`index`) are 1-based as iptables numbers them; `line` is 1-based;
//! addresses are strings as `ip` prints them.

use super::Answer;
use crate::words;
use analysis::Fix;
use engine::{
    Assumption, Branch, Decider, Event, Fate, LogLine, NatRewrite, Reply, Response, ResponseKind,
    RouteDecision, RouteKind, Trace, TraceVerdict, UnknownChoice, Warning,
};
use model::expr::LogKind;
use model::{ChainRef, Host, Packet, RuleRef, Ruleset, L4};
use serde::Serialize;
use std::io::{self, Write};

/// Version of this schema; bumped on any change that is not purely additive. 2: each
/// assumption and warning is an object (`code`, its values, `text`), no longer a string.
pub const SCHEMA_VERSION: u32 = 2;

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
    /// For a blocked port: what an ICMP echo request between the same endpoints does ("why
    /// ping works"); `null` when not computed or not applicable.
    pub ping: Option<PingJson>,
    /// Mixed hosts: the packet was dropped or rejected although an earlier base chain on
    /// the same hook (often another table, another tool) had accepted it: an accept ends
    /// only its own base chain. `null` when that is not the case.
    pub cross_table: Option<CrossTableJson>,
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
    /// Front end that generated the rule (ufw, firewalld, ...), when recognised.
    pub generated_by: Option<String>,
    /// For a policy: `accept` or `drop`.
    pub policy: Option<String>,
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
    /// The same in words, one line each.
    pub text: Vec<String>,
}

/// A packet sent back to the sender.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseJson {
    /// `tcp_rst`, `icmp`, `icmpv6`, `syn_ack`.
    pub kind: String,
    pub from: String,
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

/// A suggested fix.
#[derive(Debug, Clone, Serialize)]
pub struct FixJson {
    /// The command(s) to run, one per line.
    pub command: String,
    /// The same, one entry per rule.
    pub commands: Vec<String>,
    /// Table and chain of the first rule.
    pub table: String,
    pub chain: String,
    /// 1-based position the first rule is inserted at; `null` when appended (`-A`,
    /// `nft add rule`) or when the fix is a set element (`kind` = `set_element`).
    pub position: Option<usize>,
    /// `insert`, `append` or `set_element` (`nft add element`: `chain` is then the set).
    pub kind: String,
    /// The fate when the simulation is re-run with the fix.
    pub verified_fate: String,
    /// Whether the packet then passes.
    pub passes: bool,
    /// What the fix opens and why it is placed there (or why it is not enough).
    pub note: String,
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
            text: note.clone(),
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
        fix: answer.fix.map(fix),
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
    }
}

fn assumption(a: &Assumption, packet: &Packet) -> AssumptionJson {
    let kind = match a {
        Assumption::ForwardedFromSpec => AssumptionKind::ForwardedFromSpec {
            iif: packet.iif.clone(),
            oif: packet.oif.clone(),
        },
        Assumption::LocalFromSpec => AssumptionKind::LocalFromSpec {
            iif: packet.iif.clone(),
        },
        Assumption::OutputFromSpec => AssumptionKind::OutputFromSpec,
        Assumption::SysctlDefault { key, value } => AssumptionKind::SysctlDefault {
            key: key.clone(),
            value: value.clone(),
        },
        Assumption::SocketsUnknown => AssumptionKind::SocketsUnknown,
        Assumption::FirstPacketOfFlow => AssumptionKind::FirstPacketOfFlow,
        Assumption::LocalRoutesFromAddresses { v6 } => AssumptionKind::LocalRoutesFromAddresses {
            family: if *v6 { "ip6" } else { "ip" },
        },
        Assumption::SysctlAssumed { key, value } => AssumptionKind::SysctlAssumed {
            key: key.clone(),
            value: value.clone(),
        },
    };
    AssumptionJson {
        kind,
        text: words::assumption(a, packet),
    }
}

fn warning(rs: &Ruleset, w: &Warning) -> WarningJson {
    let base_chain = |c: ChainRef| {
        let priority = rs
            .tables
            .get(c.table)
            .and_then(|t| t.chains.get(c.chain))
            .and_then(|ch| ch.base.as_ref())
            .map_or(0, |b| b.priority);
        base_chain_json(rs, c, priority)
    };
    let kind = match w {
        Warning::QueueAfterConntrackOnNat { at } => WarningKind::QueueAfterConntrackOnNat {
            rule: rule_json(rs, *at),
        },
        Warning::EqualPriority {
            hook,
            ran_first,
            ran_second,
        } => WarningKind::EqualPriority {
            hook: hook.to_string(),
            ran_first: base_chain(*ran_first),
            ran_second: base_chain(*ran_second),
        },
        Warning::AnswerStopped { by } => WarningKind::AnswerStopped {
            decided_by: decided_by(by).to_string(),
            rule: decider_json(rs, by),
        },
        Warning::AnswerUncertain => WarningKind::AnswerUncertain,
        Warning::QueueAssumedListening { num, bypass } => WarningKind::QueueAssumedListening {
            queue: *num,
            bypass: *bypass,
        },
        Warning::BridgeNotSimulated { table, iif } => WarningKind::BridgeNotSimulated {
            table: table.clone(),
            iif: iif.clone(),
        },
        Warning::FlowOffload { at, flowtable } => WarningKind::FlowOffload {
            rule: rule_json(rs, *at),
            flowtable: flowtable.clone(),
        },
        Warning::SetUpdated { at, set } => WarningKind::SetUpdated {
            rule: rule_json(rs, *at),
            set: set.clone(),
        },
        Warning::DynamicSetRead { set } => WarningKind::DynamicSetRead { set: set.clone() },
        Warning::HelperAssigned { helper } => WarningKind::HelperAssigned {
            helper: helper.clone(),
        },
        Warning::NatOutsideNatChain { kind } => WarningKind::NatOutsideNatChain {
            nat: kind.to_string(),
        },
        Warning::NatWrongHook { kind, hook } => WarningKind::NatWrongHook {
            nat: kind.to_string(),
            hook: hook.to_string(),
        },
        Warning::NatNoInterfaceAddress { kind } => WarningKind::NatNoInterfaceAddress {
            nat: kind.to_string(),
        },
        Warning::NatAddressesUnknown { kind } => WarningKind::NatAddressesUnknown {
            nat: kind.to_string(),
        },
        Warning::NatRangeFirstShown { kind } => WarningKind::NatRangeFirstShown {
            nat: kind.to_string(),
        },
        Warning::ConntrackTableFull => WarningKind::ConntrackTableFull,
        Warning::IcmpErrorAssumedRelated => WarningKind::IcmpErrorAssumedRelated,
    };
    WarningJson {
        kind,
        text: words::warning(rs, w),
    }
}

fn base_chain_json(rs: &Ruleset, c: ChainRef, priority: i32) -> BaseChainJson {
    BaseChainJson {
        table: rs
            .tables
            .get(c.table)
            .map(|t| t.name.clone())
            .unwrap_or_default(),
        family: rs
            .tables
            .get(c.table)
            .map(|t| t.family.to_string())
            .unwrap_or_default(),
        chain: words::chain_name(rs, c),
        priority,
    }
}

fn cross_table(rs: &Ruleset, x: &analysis::CrossTable, trace: &Trace) -> CrossTableJson {
    CrossTableJson {
        hook: x.hook.to_string(),
        accepted_by: x
            .accepted
            .iter()
            .map(|a| CrossTableAccept {
                base_chain: base_chain_json(rs, a.base, a.priority),
                rule: rule_json(rs, a.rule),
            })
            .collect(),
        decided_in: base_chain_json(rs, x.decided_in, x.decided_priority),
        text: words::cross_table(rs, x, &trace.fate),
    }
}

/// Writes the answer as pretty-printed JSON followed by a newline.
pub fn render<W: Write>(w: &mut W, answer: &Answer<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &report(answer)).map_err(io::Error::from)?;
    writeln!(w)
}

fn packet(p: &Packet) -> PacketJson {
    let ports = p.l4.ports();
    let (icmp_type, icmp_code) = match p.l4 {
        L4::Icmp {
            icmp_type, code, ..
        }
        | L4::Icmpv6 {
            icmp_type, code, ..
        } => (Some(icmp_type), Some(code)),
        _ => (None, None),
    };
    PacketJson {
        family: if p.is_ipv6() { "ip6" } else { "ip" }.to_string(),
        proto: p.proto().to_string(),
        src: p.src.to_string(),
        dst: p.dst.to_string(),
        sport: ports.map(|x| x.0),
        dport: ports.map(|x| x.1),
        tcp_flags: match p.l4 {
            L4::Tcp { flags, .. } => Some(flags.to_string()),
            _ => None,
        },
        icmp_type,
        icmp_code,
        iif: p.iif.clone(),
        oif: p.oif.clone(),
        mark: p.mark,
        ttl: p.ttl,
        len: p.len,
        text: p.to_string(),
    }
}

fn fate_detail(f: &Fate) -> FateDetail {
    let mut d = FateDetail {
        text: words::fate_sentence(f),
        ..FateDetail::default()
    };
    match f {
        Fate::Delivered { listener } => {
            d.listener = Some(
                match listener {
                    engine::Listener::Open(_) => "open",
                    engine::Listener::Closed => "closed",
                    engine::Listener::Unknown => "unknown",
                }
                .to_string(),
            )
        }
        Fate::Forwarded { oif, gateway } => {
            d.oif = Some(oif.clone());
            d.gateway = gateway.map(|g| g.to_string());
        }
        Fate::Sent { oif } => d.oif = Some(oif.clone()),
        Fate::Dropped => {}
        Fate::Rejected { with } => d.reject_with = Some(with.to_string()),
        Fate::Queued { queue } => d.queue = Some(queue.num),
        Fate::RoutingFailed { reason } => d.routing_failure = Some(words::routing_failure(reason)),
        Fate::Undetermined { reason } => d.undetermined = Some(words::undetermined(reason)),
    }
    d
}

fn decided_by(d: &Decider) -> &'static str {
    match d {
        Decider::Rule(_) => "rule",
        Decider::Policy(_) => "policy",
        Decider::Routing => "routing",
        Decider::Stack => "stack",
        Decider::Conntrack => "conntrack",
    }
}

fn decider_json(rs: &Ruleset, d: &Decider) -> Option<RuleJson> {
    match d {
        Decider::Rule(at) => rule_json(rs, *at),
        Decider::Policy(c) => policy_json(rs, *c),
        _ => None,
    }
}

fn rule_json(rs: &Ruleset, at: RuleRef) -> Option<RuleJson> {
    let table = rs.tables.get(at.table)?;
    let chain = table.chains.get(at.chain)?;
    let o = &chain.rules.get(at.rule)?.origin;
    Some(RuleJson {
        kind: "rule".to_string(),
        table: table.name.clone(),
        family: table.family.to_string(),
        chain: chain.name.clone(),
        index: Some(chain.source_rule_number(at.rule)),
        file: o.file.to_string(),
        line: o.line,
        handle: o.handle,
        text: o.text.clone(),
        comment: o.comment.clone(),
        generated_by: o.owner.as_ref().map(|owner| owner.evidence.clone()),
        policy: None,
    })
}

fn policy_json(rs: &Ruleset, at: ChainRef) -> Option<RuleJson> {
    let table = rs.tables.get(at.table)?;
    let chain = table.chains.get(at.chain)?;
    let o = &chain.origin;
    Some(RuleJson {
        kind: "policy".to_string(),
        table: table.name.clone(),
        family: table.family.to_string(),
        chain: chain.name.clone(),
        index: None,
        file: o.file.to_string(),
        line: o.line,
        handle: o.handle,
        text: o.text.clone(),
        comment: o.comment.clone(),
        generated_by: o.owner.as_ref().map(|owner| owner.evidence.clone()),
        policy: chain.base.as_ref().map(|b| b.policy.to_string()),
    })
}

fn rule_loc(rs: &Ruleset, at: RuleRef) -> Option<RuleLoc> {
    let o = words::rule_origin(rs, at)?;
    Some(RuleLoc {
        file: o.file.to_string(),
        line: o.line,
        text: o.text.clone(),
        index: words::rule_number(rs, at),
        handle: o.handle,
    })
}

fn empty_step(event: &str, hook: Option<model::Hook>) -> PathStep {
    PathStep {
        event: event.to_string(),
        hook: hook.map(|h| h.to_string()),
        table: None,
        family: None,
        chain: None,
        rule: None,
        verdict: None,
        target: None,
        detail: None,
    }
}

fn in_chain(mut s: PathStep, rs: &Ruleset, c: ChainRef) -> PathStep {
    if let Some(t) = rs.tables.get(c.table) {
        s.table = Some(t.name.clone());
        s.family = Some(t.family.to_string());
    }
    s.chain = Some(words::chain_name(rs, c));
    s
}

fn verdict_parts(rs: &Ruleset, v: &TraceVerdict) -> (String, Option<String>, Option<String>) {
    match v {
        TraceVerdict::Accept => ("accept".into(), None, None),
        TraceVerdict::Drop => ("drop".into(), None, None),
        TraceVerdict::Reject(r) => ("reject".into(), None, Some(r.to_string())),
        TraceVerdict::Queue(q) => ("queue".into(), None, Some(words::queue_words(q))),
        TraceVerdict::Jump(c) => ("jump".into(), Some(words::chain_name(rs, *c)), None),
        TraceVerdict::Goto(c) => ("goto".into(), Some(words::chain_name(rs, *c)), None),
        TraceVerdict::Return => ("return".into(), None, None),
        TraceVerdict::Continue => ("continue".into(), None, None),
    }
}

/// The step with a rule's or a policy's verdict, its target and detail.
fn with_verdict(mut s: PathStep, rs: &Ruleset, verdict: &TraceVerdict) -> PathStep {
    let (v, target, detail) = verdict_parts(rs, verdict);
    s.verdict = Some(v);
    s.target = target;
    s.detail = detail;
    s
}

fn step(rs: &Ruleset, host: &Host, e: &Event) -> PathStep {
    match e {
        Event::Hook(h) => empty_step("hook", Some(*h)),
        Event::Rule { hook, at, verdict } => {
            let mut s = in_chain(empty_step("rule", Some(*hook)), rs, at.chain_ref());
            s.rule = rule_loc(rs, *at);
            with_verdict(s, rs, verdict)
        }
        Event::ChainEnd { hook, chain } => {
            let mut s = in_chain(empty_step("chain_end", Some(*hook)), rs, *chain);
            s.verdict = Some("return".into());
            s
        }
        Event::Policy {
            hook,
            chain,
            verdict,
        } => {
            let s = in_chain(empty_step("policy", Some(*hook)), rs, *chain);
            with_verdict(s, rs, verdict)
        }
        Event::Unknown { hook, choice } => {
            let mut s = in_chain(
                empty_step("unknown", Some(*hook)),
                rs,
                choice.site.rule.chain_ref(),
            );
            s.rule = rule_loc(rs, choice.site.rule);
            s.detail = Some(format!(
                "{}: taken as {}",
                choice.why,
                if choice.matched {
                    "matching"
                } else {
                    "not matching"
                }
            ));
            s
        }
        Event::Conntrack { hook, state, entry } => {
            let mut s = empty_step("conntrack", Some(*hook));
            let mut d = words::ct_state(*state).to_string();
            if let Some(c) = entry.and_then(|i| host.conntrack.get(i)) {
                d.push_str(&format!(": {}", c.text));
            }
            s.detail = Some(d);
            s
        }
        Event::Nat { hook, rewrite } => {
            let mut s = empty_step("nat", Some(*hook));
            if let Some(at) = rewrite.by {
                s = in_chain(s, rs, at.chain_ref());
                s.rule = rule_loc(rs, at);
            }
            s.detail = Some(words::nat(rs, rewrite));
            s
        }
        Event::Route(d) => {
            let mut s = empty_step("route", Some(d.hook));
            s.detail = Some(words::route(d, host));
            s
        }
        Event::MarkSet { hook, at, old, new } => {
            let mut s = in_chain(empty_step("mark", Some(*hook)), rs, at.chain_ref());
            s.rule = rule_loc(rs, *at);
            s.detail = Some(format!("mark {old:#x} -> {new:#x}"));
            s
        }
        Event::Note { hook, note } => {
            let mut s = empty_step("note", *hook);
            s.detail = Some(words::note(rs, note));
            s
        }
    }
}

fn nat(rs: &Ruleset, n: &NatRewrite) -> NatJson {
    NatJson {
        kind: n.kind.to_string(),
        hook: n.hook.to_string(),
        before: Endpoint {
            addr: n.before.0.to_string(),
            port: n.before.1,
        },
        after: Endpoint {
            addr: n.after.0.to_string(),
            port: n.after.1,
        },
        rule: n.by.and_then(|at| rule_json(rs, at)),
    }
}

fn conntrack(trace: &Trace, host: &Host) -> ConntrackJson {
    let ct = &trace.conntrack;
    let tuple = |t: &model::host::CtTuple| CtTupleJson {
        src: t.src.to_string(),
        dst: t.dst.to_string(),
        sport: t.sport,
        dport: t.dport,
    };
    ConntrackJson {
        state: ct.state.map(|s| words::ct_state(s).to_string()),
        entry: ct
            .entry
            .and_then(|i| host.conntrack.get(i))
            .map(|e| e.text.clone()),
        new_entry: ct.new_entry.as_ref().map(|(o, r)| CtEntryJson {
            original: tuple(o),
            reply: tuple(r),
        }),
        depends_on: ct.depends_on.clone(),
    }
}

fn route(d: &RouteDecision, host: &Host) -> RouteJson {
    let (kind, oif, gateway, src, failure) = match &d.kind {
        RouteKind::Local => ("local", None, None, None, None),
        RouteKind::Forward { oif, gateway } => ("forward", Some(oif.clone()), *gateway, None, None),
        RouteKind::Output { oif, gateway, src } => {
            ("output", Some(oif.clone()), *gateway, *src, None)
        }
        RouteKind::Failed(f) => ("failed", None, None, None, Some(words::routing_failure(f))),
    };
    RouteJson {
        hook: d.hook.to_string(),
        kind: kind.to_string(),
        oif,
        gateway: gateway.map(|g| g.to_string()),
        src: src.map(|s| s.to_string()),
        table: d.table,
        rule_priority: d.rule_priority,
        route: words::route_text(d, host).map(str::to_string),
        failure,
        assumed: d.assumed,
        text: words::route(d, host),
    }
}

fn response(r: &Response, trace: &Trace, host: &Host) -> ResponseJson {
    let (kind, icmp_type, icmp_code) = match r.kind {
        ResponseKind::TcpRst => ("tcp_rst", None, None),
        ResponseKind::SynAck => ("syn_ack", None, None),
        ResponseKind::Icmp { icmp_type, code } => ("icmp", Some(icmp_type), Some(code)),
        ResponseKind::Icmpv6 { icmp_type, code } => ("icmpv6", Some(icmp_type), Some(code)),
    };
    ResponseJson {
        kind: kind.to_string(),
        from: r.from.to_string(),
        to: r.to.to_string(),
        icmp_type,
        icmp_code,
        by_stack: r.by_stack,
        text: words::response(r, trace, host),
    }
}

fn sender_sees(trace: &Trace, host: &Host) -> SenderSeesJson {
    let v = &trace.sender_sees;
    SenderSeesJson {
        response: v.response.as_ref().map(|r| response(r, trace, host)),
        errno: v.errno.map(|e| e.name().to_string()),
        errno_message: v.errno.map(|e| e.message().to_string()),
        timeout_secs: v.timeout_secs,
        errno_after_secs: v.errno_after_secs,
        depends_on_listener: v.depends_on_listener,
        recv_times_out: v.recv_times_out,
        text: words::sender_sees(trace, host),
    }
}

fn log(rs: &Ruleset, l: &LogLine) -> LogJson {
    LogJson {
        text: l.text.clone(),
        kind: words::log_kind(l.kind).to_string(),
        group: match l.kind {
            LogKind::Kernel => None,
            LogKind::Nflog { group } | LogKind::Ulog { group } => Some(group),
        },
        rule: rule_json(rs, l.by),
        may_be_missing: l.may_be_missing.as_ref().map(|u| u.to_string()),
    }
}

fn unknown(rs: &Ruleset, c: &UnknownChoice) -> UnknownJson {
    UnknownJson {
        rule: rule_json(rs, c.site.rule),
        step: c.site.step,
        why: c.why.to_string(),
        matched: c.matched,
        assumed_by_user: c.assumed_by_user,
    }
}

fn branch(rs: &Ruleset, b: &Branch) -> BranchJson {
    BranchJson {
        choices: b.choices.iter().map(|c| unknown(rs, c)).collect(),
        fate: words::fate_kind(&b.trace.fate).to_string(),
        fate_detail: fate_detail(&b.trace.fate),
        decided_by: decided_by(&b.trace.decider).to_string(),
        deciding_rule: decider_json(rs, &b.trace.decider),
        text: words::branch(rs, b),
    }
}

fn reply(r: &Reply, host: &Host) -> ReplyJson {
    ReplyJson {
        packet: packet(&r.packet),
        delivered_as: packet(&r.delivered_as),
        route_back: r.route_back.as_ref().map(|d| route(d, host)),
    }
}

fn fix(f: &Fix) -> FixJson {
    FixJson {
        command: f.command.clone(),
        commands: f.rules.iter().map(|r| r.command.clone()).collect(),
        table: f.table.clone(),
        chain: f.chain.clone(),
        position: match f.position {
            analysis::Position::Insert(n) => Some(n),
            analysis::Position::Append | analysis::Position::SetElement => None,
        },
        kind: match f.position {
            analysis::Position::Insert(_) => "insert",
            analysis::Position::Append => "append",
            analysis::Position::SetElement => "set_element",
        }
        .to_string(),
        verified_fate: words::fate_kind(&f.verified_fate).to_string(),
        passes: f.passes,
        note: f.note.clone(),
    }
}
