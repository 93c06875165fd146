//! placeholder
use model::ipf::NatRule;
/// placeholder
pub fn nat_rule(_r: &NatRule) -> String { String::new() }
