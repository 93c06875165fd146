//! What the sender observes and what its socket call returns (KERNEL-FACTS "What the
//! sender observes").

use crate::trace::{Fate, Response, SenderView};
use model::{Host, Packet};

/// The sender's view of `fate`, given the `response` computed by [`crate::reject`].
/// `locally_generated`: the sender is a process on this host (OUTPUT drops give EPERM).
pub fn sender_view(host: &Host, packet: &Packet, fate: &Fate, response: Option<&Response>, locally_generated: bool) -> SenderView {
    let _ = (host, packet, fate, response, locally_generated);
    todo!("sender_view")
}
