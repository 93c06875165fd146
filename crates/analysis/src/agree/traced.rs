//! One packet as the live tracer (`whyblocked trace`) saw it on a real host: its kernel
//! walk placed in the host's rules, conntrack's events, what the sender sees,
//! and (`--compare`) the offline simulation held against it. Data only; `report::trace`
//! makes the words.

use super::Comparison;
use engine::{Fate, SenderView};
use model::kernel_walk::{CtEvent, Headers, KernelWalk};
use model::Packet;

/// One traced packet.
#[derive(Debug, Clone)]
pub struct TracedPacket {
    pub number: usize,
    /// The packet as it entered (first headers of its walk).
    pub packet: Packet,
    pub headers: Headers,
    pub iif: Option<String>,
    /// Its walk, each step placed in the host's rules.
    pub kernel: KernelWalk,
    pub conntrack: Vec<CtEvent>,
    /// What the sender sees, worked out from the deciding rule (engine functions).
    pub sender_sees: Option<SenderView>,
    /// `--compare`: the offline simulation of the same packet.
    pub offline: Option<Offline>,
}

/// `--compare`: the offline simulation of one traced packet beside the kernel's walk.
#[derive(Debug, Clone)]
pub struct Offline {
    /// The simulated fate, or why the engine failed.
    pub fate: Result<Fate, String>,
    /// The simulation met an Unknown (a rate limit, an unmodelled match, several branches):
    /// its answer is not expected to be the kernel's, and a difference is not a divergence.
    pub unknown: bool,
    /// The comparison (`None` when the engine failed).
    pub comparison: Option<Comparison>,
}

impl Offline {
    /// The kernel and the simulation differ (or the engine failed).
    pub fn differs(&self) -> bool {
        self.fate.is_err() || self.comparison.as_ref().is_some_and(|c| !c.agree())
    }

    /// The kernel and the simulation disagree on a packet whose simulation is decided.
    pub fn diverges(&self) -> bool {
        !self.unknown && self.differs()
    }
}
