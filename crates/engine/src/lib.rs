//! Packet paths, simulated.
//!
//! [`simulate`] walks a [`Packet`] through a host's [`Ruleset`] and [`Host`] state the way
//! the Linux kernel does (see DESIGN.md "The engine: the Linux packet path") and returns an
//! [`Outcome`]: one [`Trace`] per way the Unknown matches on the path can go. The engine
//! returns data only: warnings and assumptions are typed values, wording belongs to the
//! `report` crate.
//!
//! The seam: a [`PacketPath`] walks one packet through one host once; the exploration of
//! Unknown outcomes ([`explore`]), the trace types, the warnings and the [`Options`] are
//! the same for every path. The Linux path lives in `linux/` (one kernel step per module)
//! and is the [`PacketPath`] of a [`Prepared`] ruleset; another operating system's path, or
//! a composition of several hosts, is another implementation beside it.

#![warn(missing_docs)]

mod branches;
pub mod bsd;
pub mod ipf;
mod linux;
pub mod pf;
mod trace;
mod warning;

pub use branches::{explore, Decisions};
pub use linux::Prepared;
pub use trace::*;
pub use warning::{Assumption, Warning};

use model::{Host, Packet, Ruleset};

/// Matching a pattern against a value, as rules do (for tests that check a front end's
/// patterns against known values).
pub mod eval {
    pub use crate::linux::eval::{pattern_matches, set_contains, Val};
}

/// The answer a REJECT (or the local stack) sends back.
pub mod reject {
    pub use crate::linux::reject::{is_icmp_error, response};
}

/// Addresses the kernel picks for the packets it sends itself, and its routing decisions.
pub mod route {
    pub use crate::linux::route::{icmp_error_source, route_local, route_received};
}

/// What the sender of a packet observes.
pub mod symptom {
    pub use crate::linux::symptom::sender_view_at;
}

/// Which source address the kernel picks for a packet this host sends, and why.
pub mod source {
    pub use crate::linux::source::{
        select_source, Bind, SourceChoice, SourceFailure, SourceNote, SourceReason, V6Rule,
    };
}

/// A ruleset indexed once for many simulations on the Linux path.
pub mod prepared {
    pub use crate::linux::prepared::{conntrack_used, Prepared};
}

/// The packet path of one host's operating system: walks one packet through the host
/// once, taking each Unknown outcome from `decisions` (see [`explore`] for the branches).
///
/// The Linux path is [`Prepared`]'s implementation; the ruleset it runs is inside the
/// implementor, prepared once for many packets.
pub trait PacketPath {
    /// One walk of `packet` through `host`, following `decisions` at every Unknown match.
    fn walk(
        &self,
        host: &Host,
        packet: &Packet,
        options: &Options,
        decisions: &mut Decisions<'_>,
    ) -> Trace;
}

/// Knobs of a simulation.
#[derive(Debug, Clone)]
pub struct Options {
    /// How many combinations of Unknown outcomes to explore before following the stated
    /// default assumption for the rest.
    pub max_branches: usize,
    /// Forced outcomes for Unknown matches, set by the user (`--assume`): a match at this
    /// site evaluates to this value instead of branching.
    pub assume: Vec<(UnknownSite, bool)>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_branches: 16,
            assume: Vec::new(),
        }
    }
}

/// Simulates `packet` on `host` with `ruleset` on the Linux path (prepares the ruleset
/// first; see [`simulate_prepared`]).
pub fn simulate(ruleset: &Ruleset, host: &Host, packet: &Packet, options: &Options) -> Outcome {
    simulate_prepared(&Prepared::new(ruleset), host, packet, options)
}

/// Simulates `answer`, the RST or ICMP error `host` sends back about `about` (a packet it
/// received) when a REJECT refused it: attached to `about`'s connection, RELATED, before
/// it is sent (`nf_ct_attach`), where a packet `host` sends on its own would be looked up.
pub fn simulate_reject_answer(
    prepared: &Prepared<'_>,
    host: &Host,
    answer: &Packet,
    about: &Packet,
    options: &Options,
) -> Outcome {
    let path = linux::path::RejectAnswer { prepared, about };
    explore(&path, host, answer, options)
}

/// Simulates `packet` against a ruleset prepared once with [`Prepared::new`]: for many
/// packets through one ruleset (benchmarks, the fix search). Every branch of Unknown
/// outcomes, depth first, the "matches" branch first.
pub fn simulate_prepared(
    prepared: &Prepared<'_>,
    host: &Host,
    packet: &Packet,
    options: &Options,
) -> Outcome {
    explore(prepared, host, packet, options)
}
