//! What goes back to the sender when a packet is refused: a REJECT's RST or ICMP error,
//! or the stack's own answer (closed port, no route, TTL exceeded), and from which address.

use crate::trace::{Fate, Response, RouteDecision};
use model::{Hook, Host, Packet};

/// The packet sent back for `fate` (a rejected packet, a closed local port, a routing
/// failure), or `None` when nothing is sent (drop, accept, open port).
/// `packet` is the packet as the deciding hook saw it; `original` as it was sent.
pub fn response(host: &Host, original: &Packet, packet: &Packet, fate: &Fate, hook: Option<Hook>, route: Option<&RouteDecision>) -> Option<Response> {
    let _ = (host, original, packet, fate, hook, route);
    todo!("response")
}
