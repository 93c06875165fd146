use crate::{Options, Outcome}; use model::{Host, Packet, Ruleset};
/// Entry point (in progress).
pub fn simulate(ruleset: &Ruleset, host: &Host, packet: &Packet, options: &Options) -> Outcome { let _ = (ruleset, host, packet, options); todo!("simulate") }
