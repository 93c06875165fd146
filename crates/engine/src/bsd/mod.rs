//! The packet paths of the BSD and Solaris packet filters, beside the Linux one.
//!
//! IPFilter (Solaris, illumos, FreeBSD, NetBSD) and pf (OpenBSD, FreeBSD) filter a packet
//! once per direction on an interface: `in on IF` as it arrives, `out on IF` as it leaves.
//! A [`FilterPass`] is one such pass through one filter's rules (what `ipftest` runs for
//! one input line); the host's path (in, routing, out; loopback; what the sender sees) is
//! composed from passes, the same for every filter.
//!
//! The types here are the contract between the filters (`ipf`, `pf`), the path, the
//! answer's report and the fix search: data only, no words.

use std::net::IpAddr;
use std::sync::Arc;

use model::expr::Undecidable;
use model::{Origin, Packet};

/// Which packet filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    /// IPFilter (`ipf.conf`, `ipnat.conf`, `ippool.conf`).
    Ipf,
    /// OpenBSD's Packet Filter (`pf.conf`), also on FreeBSD.
    Pf,
}

/// Which way a pass sees the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Arriving on the interface (`in on IF`).
    In,
    /// Leaving by the interface (`out on IF`).
    Out,
}

/// A rule as a report names it: where it was written and the number the filter's own
/// listing gives it (`ipfstat -n` / `ipf -v` `@N` within its group, `pfctl -vvsr` `@N`).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleId {
    /// File, line, column and the rule's text.
    pub origin: Origin,
    /// The filter's own number for it, when it has one.
    pub number: Option<u32>,
    /// The IPFilter group (`group 100`) or pf anchor path (`ftp-proxy/*`) holding it;
    /// `None` for the main list.
    pub group: Option<Arc<str>>,
}

/// What a blocking rule sends back (IPFilter `return-rst`/`return-icmp`, pf `return`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockAnswer {
    /// A TCP RST (IPFilter `return-rst`, pf `return-rst`).
    Rst,
    /// An ICMP or ICMPv6 error of this type and code.
    Icmp {
        /// ICMP (or ICMPv6, by the packet's family) type.
        icmp_type: u8,
        /// Its code.
        code: u8,
        /// IPFilter `return-icmp-as-dest`: sent from the blocked packet's destination
        /// address instead of the interface's.
        as_dest: bool,
    },
}

/// The verdict of one pass.
#[derive(Debug, Clone, PartialEq)]
pub enum PassVerdict {
    /// Passed on (possibly rewritten: [`PassResult::packet`]).
    Pass,
    /// Blocked; `answer` is what the rule asks the host to send back.
    Block {
        /// The answer asked for; `None` drops silently.
        answer: Option<BlockAnswer>,
    },
    /// The pass cannot be decided offline (an Unknown on the way, e.g. a rule that
    /// depends on an address pool or table the input did not give).
    Undetermined {
        /// What it depends on.
        on: Undecidable,
    },
}

/// What decided a pass.
#[derive(Debug, Clone, PartialEq)]
pub enum Decider {
    /// The last matching rule (or the first matching `quick` rule).
    Rule(RuleId),
    /// A state table entry (`keep state`) matched before the rules were read.
    State {
        /// The rule that created the entry, when known.
        created_by: Option<RuleId>,
    },
    /// No rule matched: the filter's default (IPFilter passes unless built with
    /// `IPFILTER_DEFAULT_BLOCK`; pf passes).
    Default,
    /// The interface is not filtered (pf `set skip on IF`; a loopback the platform does
    /// not filter).
    Skipped {
        /// The interface.
        interface: String,
    },
}

/// A network address translation applied in a pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewrite {
    /// The NAT rule (`map`, `rdr`, `bimap`, `nat-to`, `rdr-to`, `binat-to`, …).
    pub by: RuleId,
    /// Source (`map`, `nat-to`) or destination (`rdr`, `rdr-to`) rewritten.
    pub source: bool,
    /// Address and port before.
    pub before: (IpAddr, Option<u16>),
    /// Address and port after.
    pub after: (IpAddr, Option<u16>),
}

/// One thing a pass did, in order: the path a report prints.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A rule was evaluated. `matched` is `None` when it could not be decided.
    Rule {
        /// The rule.
        rule: RuleId,
        /// Whether it matched.
        matched: Option<bool>,
        /// For a matching rule without `quick`: it is remembered, a later match overrides it.
        remembered: bool,
    },
    /// The packet met a state (or NAT session) entry.
    State {
        /// The rule that created it, when known.
        created_by: Option<RuleId>,
    },
    /// A translation was applied.
    Nat(Rewrite),
    /// A rule's `head`/`call`/anchor sent evaluation into a group or anchor.
    EnterGroup {
        /// The group or anchor name.
        group: Arc<str>,
    },
}

/// A line the host's logger writes for this pass (`ipmon`, or `tcpdump -n -e -ttt -i
/// pflog0`), exactly as it prints it without a timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterLog {
    /// The logging rule.
    pub by: RuleId,
    /// The line.
    pub text: String,
}

/// The result of one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct PassResult {
    /// The verdict.
    pub verdict: PassVerdict,
    /// What decided it.
    pub decider: Decider,
    /// The packet as it leaves the pass (after NAT).
    pub packet: Packet,
    /// Everything the pass did, in order.
    pub steps: Vec<Step>,
    /// The log lines written.
    pub logs: Vec<FilterLog>,
    /// A state entry this pass created (`keep state`, pf's default on `pass`), so the
    /// reply and later packets pass without the rules.
    pub keeps_state: bool,
}

/// One filter's rules, prepared for packets, with the state its passes create.
///
/// `State` is the filter's state and NAT session tables: a pass reads and extends it, so
/// a path (request, then reply) or an `ipftest` input file runs its packets in order
/// against the same tables.
pub trait FilterPass {
    /// The filter's state and NAT tables.
    type State: Default;
    /// Which filter this is.
    fn filter(&self) -> Filter;
    /// One pass of `packet` in `direction` on `interface`.
    fn pass(
        &self,
        packet: &Packet,
        direction: Direction,
        interface: &str,
        state: &mut Self::State,
    ) -> PassResult;
}

pub mod path;
pub mod platform;

pub use path::{simulate, BsdTrace};
pub use platform::{Os, Platform};
