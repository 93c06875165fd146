//! The Linux packet path, simulated.
//!
//! [`simulate`] walks a [`Packet`] through a host's [`Ruleset`] and [`Host`] state the way
//! the kernel does (see DESIGN.md "The engine: the Linux packet path") and returns an
//! [`Outcome`]: one [`Trace`] per way the Unknown matches on the path can go. The engine
//! returns data only; wording belongs to the `report` crate.
//!
//! Modules, one step of the path each:
//! - [`path`]: the order of hooks for received, forwarded and locally generated packets;
//! - [`chain`]: base chains of one hook in priority order; jump/goto/return; policies;
//! - [`eval`]: one match against the packet and its context (true / false / Unknown);
//! - [`conntrack`]: first-packet classification and lookup in the host's conntrack table;
//! - [`nat`]: address/port translation and the conntrack binding it creates;
//! - [`route`]: policy rules, tables, longest prefix, route types, forwarding, rp_filter;
//! - [`delivery`]: which local socket (if any) answers;
//! - [`reject`]: the RST or ICMP error a REJECT (or the stack) sends, and from which address;
//! - [`symptom`]: what the sender observes and what its `connect()` returns;
//! - [`logline`]: the line LOG writes to the kernel log, in the kernel's format;
//! - [`prepared`]: a ruleset indexed once (hook lists, chain names) for many simulations;
//! - [`action`]: what a rule's actions do (verdicts, marks, NAT, LOG);
//! - [`walk`]: the explicit state of one simulated path.

pub mod action;
pub mod chain;
pub mod conntrack;
pub mod delivery;
pub mod eval;
#[cfg(test)]
mod hostkit;
pub mod logline;
pub mod nat;
pub mod path;
pub mod prepared;
pub mod reject;
pub mod route;
pub mod symptom;
pub mod trace;
pub mod walk;

pub use prepared::Prepared;
pub use trace::*;

use model::{Host, Packet, Ruleset};

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

/// Simulates `packet` on `host` with `ruleset`.
pub fn simulate(ruleset: &Ruleset, host: &Host, packet: &Packet, options: &Options) -> Outcome {
    path::simulate(ruleset, host, packet, options)
}

/// Simulates `packet` against a ruleset prepared once with [`Prepared::new`]: for many
/// packets through one ruleset (benchmarks, the fix search).
pub fn simulate_prepared(
    prepared: &Prepared<'_>,
    host: &Host,
    packet: &Packet,
    options: &Options,
) -> Outcome {
    path::simulate_prepared(prepared, host, packet, options)
}
