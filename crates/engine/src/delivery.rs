//! Local delivery: which socket, if any, takes a packet accepted for this host.

use crate::trace::Listener;
use model::{Host, Packet};

/// The listener for `packet` (after NAT) on `host`.
pub fn listener(host: &Host, packet: &Packet) -> Listener {
    let _ = (host, packet);
    todo!("listener")
}
