//! placeholder
use model::ipf::PoolDef;
/// placeholder
pub fn pool_def(_p: &PoolDef) -> String { String::new() }
