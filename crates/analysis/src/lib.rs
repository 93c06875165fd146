//! Analyses over a ruleset and a simulated [`engine::Outcome`].
//!
//! - [`fix`]: the smallest `iptables -I ... -j ACCEPT` that lets a blocked packet through,
//!   proved by re-running the simulation with the rule in place;
//! - [`contrast`]: what a ping between the same endpoints does ("why ping works");
//! - [`callstack`]: which jumps were active when a rule was reached (the "reached via" of a
//!   report), reconstructed from a [`engine::Trace`].
//!
//! Later: lint, diff and policy tests, one check per module.

pub mod callstack;
pub mod contrast;
pub mod fix;

pub use contrast::{ping_contrast, PingContrast};
pub use fix::{suggest, Fix, FixRule, Position};
