//! `ippool.conf` (placeholder replaced below).
use model::ipf::Pools;
use super::cursor::{Cursor, Res};
pub(crate) fn pools(_cx: &mut Cursor) -> Res<Pools> { Ok(Pools::default()) }
