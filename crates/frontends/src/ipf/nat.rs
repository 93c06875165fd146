//! `ipnat.conf` (placeholder replaced below).
use model::ipf::NatRules;
use super::cursor::{Cursor, Res};
pub(crate) fn rules(_cx: &mut Cursor) -> Res<NatRules> { Ok(NatRules::default()) }
