//! The kernel-backed tests' shared helpers live in `testgen::kernel_tests`; the tracer's
//! reported packet, with its words, is this crate's own.
#![allow(unused_imports, dead_code)]

use model::Ruleset;
pub use testgen::kernel_tests::*;

/// A packet the live tracer reported, with its words made as the CLI makes them (the
/// ruleset it was placed in is gone once the tracer stops).
#[derive(Debug, Clone)]
pub struct Seen {
    pub packet: analysis::agree::TracedPacket,
    text: String,
    /// The packet as `trace --json` shows it (each step's rule text and line).
    pub json: report::trace::TracedJson,
    /// What the sender sees, in words.
    pub sender: Option<String>,
    /// `--compare`: the first divergence in words.
    pub divergence: Option<String>,
    /// `--compare`: both walks side by side.
    pub side_by_side: String,
}

impl Seen {
    pub fn new(p: &analysis::agree::TracedPacket, rs: &Ruleset) -> Seen {
        let off = p.offline.as_ref();
        Seen {
            packet: p.clone(),
            text: report::trace::render_text(p, rs),
            json: report::trace::to_json(p, rs),
            sender: p.sender_sees.as_ref().map(report::trace::sender_sees),
            divergence: off.and_then(|o| report::trace::offline_divergence(rs, o)),
            side_by_side: off
                .map(|o| report::trace::offline_side_by_side(rs, o))
                .unwrap_or_default(),
        }
    }

    pub fn render_text(&self) -> String {
        self.text.clone()
    }
}

impl std::ops::Deref for Seen {
    type Target = analysis::agree::TracedPacket;
    fn deref(&self) -> &Self::Target {
        &self.packet
    }
}
