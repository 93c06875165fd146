//! What the kernel did against what the engine predicted: ONE placer, ONE comparer.
//!
//! - the placer (private `place`): a kernel rule handle (with [`Listing`], read from
//!   `nft -a -j list ruleset`), a trace's rule number or a rule's text back to the user's
//!   [`model::RuleRef`] / [`model::ChainRef`];
//! - [`walk`]: a netlink tracer's [`model::kernel_walk::WalkEvent`]s into one placed
//!   [`KernelWalk`] and the fate it proves ([`walk::analyse`], called by the oracle and the
//!   live tracer); the fate a placed text trace proves;
//! - the comparer (private `compare`): the kernel's steps and fate against the engine's
//!   [`engine::Trace`] ([`compare()`]), divergences as values ([`Comparison`],
//!   [`Divergence`]; the words are made in `report`);
//! - [`TracedPacket`]: one packet of the live tracer, placed and (`--compare`) judged
//!   ([`Offline`]);
//! - [`Verification`]: one packet judged (the kernel's walk, the engine's outcome, their
//!   comparison), what `whyblocked verify` and the live tracer's `--compare` show.

pub(crate) mod compare;
pub(crate) mod place;
mod traced;
pub mod walk;

pub use compare::{compare, fate_matches, reject_on_wire, Comparison, Divergence, Endpoints, Step};
pub use place::{ListedChain, Listing};
pub use traced::{Offline, TracedPacket};

use engine::{Event, Fate, Outcome};
use model::kernel_walk::KernelWalk;
use model::{Host, Packet, Ruleset};

/// Runs the engine, turning a panic into an error message (a kernel comparison must report
/// an engine failure on one packet, not stop).
pub fn simulate_guarded(
    ruleset: &Ruleset,
    host: &Host,
    packet: &Packet,
) -> Result<Outcome, String> {
    let run = std::panic::AssertUnwindSafe(|| {
        engine::simulate(ruleset, host, packet, &engine::Options::default())
    });
    std::panic::catch_unwind(run).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into())
    })
}

/// Whether the engine's answer depends on an Unknown (then kernel agreement is not
/// expected of it).
pub fn depends_on_unknown(o: &Outcome) -> bool {
    o.branches.len() > 1
        || o.truncated
        || matches!(o.primary().fate, Fate::Undetermined { .. })
        || o.primary()
            .events
            .iter()
            .any(|e| matches!(e, Event::Unknown { .. }))
}

/// One packet judged: its walk through the kernel against the engine's simulation.
#[derive(Debug, Clone)]
pub struct Verification {
    pub packet: Packet,
    /// The kernel's walk, rules placed in the user's.
    pub kernel: KernelWalk,
    /// The engine's prediction; `None` when the engine failed (see `engine_error`).
    pub engine: Option<Outcome>,
    pub engine_error: Option<String>,
    /// Present when the engine produced a trace.
    pub comparison: Option<Comparison>,
    /// Kernel and engine agree on path, fate, NAT and conntrack state.
    pub agree: bool,
    /// What the test host could not reproduce exactly.
    pub notes: Vec<String>,
    /// The ruleset the rule positions refer to (for rendering).
    pub ruleset: Ruleset,
}

impl Verification {
    /// Simulates `packet` and compares the simulation with an already-traced kernel walk.
    pub fn judge(
        ruleset: &Ruleset,
        host: &Host,
        packet: &Packet,
        kernel: KernelWalk,
        notes: Vec<String>,
    ) -> Verification {
        let (engine, engine_error) = match simulate_guarded(ruleset, host, packet) {
            Ok(o) => (Some(o), None),
            Err(e) => (None, Some(e)),
        };
        let comparison = engine
            .as_ref()
            .map(|o| compare(ruleset, &kernel, o.primary()));
        let agree = comparison.as_ref().is_some_and(Comparison::agree);
        Verification {
            packet: packet.clone(),
            kernel,
            engine,
            engine_error,
            comparison,
            agree,
            notes,
            ruleset: ruleset.clone(),
        }
    }
}
