//! A packet across several hosts, there and back.
//!
//! [`walk`] takes a [`Topology`] and a [`Query`] (a packet sent by one of its hosts) and
//! follows the packet hop by hop the way each host's kernel takes it: on a Linux host the
//! engine's whole path (hooks, routing, NAT, conntrack, TTL, the MTU of the way out), then
//! neighbour resolution on the link it leaves by ([`neighbour`]), then the next host on
//! that link. Where it arrives, the destination answers ([`answer`]: a SYN/ACK, an echo
//! reply, a reset, a port unreachable) and the answer walks back through the conntrack
//! state and NAT bindings the way there left on every hop. An ICMP error a hop sends (a
//! REJECT, no route, "fragmentation needed", an unresolved neighbour) walks back to the
//! sender the same way, so an error a firewall on the way drops (the path-MTU black hole)
//! is found.
//!
//! Returns data only ([`PathWalk`]); the words are `report`'s.

#![warn(missing_docs)]

pub mod answer;
pub mod fix;
mod hop;
mod leg;
mod mss;
pub mod neighbour;
pub mod sees;
mod state;
mod stub;

pub use engine::source::{Bind, SourceChoice};
pub use hop::{Egress, Hop, HopKind};
pub use leg::{Leg, LegEnd, LegRole, Stop};
pub use neighbour::Resolution;

use engine::Options;
use model::topology::Topology;
use model::Packet;

/// Hops followed before a walk is called a loop. Every router decrements the TTL (stubs
/// too), so a loop ends where it runs out, in "time exceeded", within 256 hops of any
/// TTL: the sender's hop and one per router (a TTL of 64 runs out at the 64th router).
pub const MAX_HOPS: usize = 256;

/// What to send, from where.
#[derive(Debug, Clone)]
pub struct Query {
    /// The node that sends (an index into [`Topology::nodes`]).
    pub from: usize,
    /// The packet. Its source is what `bind` says (the sender's kernel picks it unless
    /// the socket is bound to an address); `iif` must be unset (the sender generates it).
    pub packet: Packet,
    /// How the sending socket is bound: to nothing (`ping DST`), a device (`ping -I eth0`)
    /// or an address (`ping -I 10.0.0.5`, a fixed source).
    pub bind: Bind,
    /// The sender forbids fragmentation (`ping -M do`): a packet too big for its own way
    /// out fails with `EMSGSIZE`, and a "too big" error does not make it send smaller.
    /// Otherwise (ping's default, UDP, TCP) it fragments, or sends smaller, as the kernel
    /// does.
    pub dont_fragment: bool,
    /// The IP length (header included, what a LOG line's `LEN=` shows and an MTU limits)
    /// of a full-size packet (`--size`): the echo request or datagram itself, or for TCP
    /// a data segment sent after the handshake, cut to what both ends' MSS allow.
    pub size: Option<u16>,
    /// Engine options for every hop.
    pub options: Options,
}

impl Query {
    /// `packet` sent by node `from` as a program that binds nothing sends it: the source
    /// chosen by its kernel (unless the packet's is given with [`Bind::Address`]), ping's
    /// and UDP's default fragmentation, no `--size`, the engine's default options.
    pub fn new(from: usize, packet: Packet) -> Query {
        Query {
            from,
            packet,
            bind: Bind::None,
            dont_fragment: false,
            size: None,
            options: Options::default(),
        }
    }
}

/// The whole exchange: the way there, the answer's way back, and for TCP with `--size`
/// a full-size data segment and what comes back for it.
#[derive(Debug, Clone)]
pub struct PathWalk {
    /// How the sender's kernel chose the source address (and the way out), and why.
    pub source: SourceChoice,
    /// Every leg, in the order the packets travel (a packet sent again after path-MTU
    /// discovery is a leg of its own).
    pub legs: Vec<Leg>,
    /// The path MTU the sender learned on the way, from a "fragmentation needed" /
    /// "packet too big" that reached it.
    pub path_mtu: Option<u32>,
    /// What the exchange comes to.
    pub outcome: Outcome,
}

/// What the exchange comes to, seen from the sender.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The request arrived and the answer got back to the socket that asked.
    Works,
    /// The destination refused: nothing listens (a reset, a port unreachable), or echo
    /// requests are ignored.
    Refused,
    /// A leg stopped: which leg, at which of its hops, and why.
    Fails {
        /// Index into [`PathWalk::legs`].
        leg: usize,
        /// Index into that leg's hops.
        hop: usize,
    },
    /// The walk cannot say: a hop's verdict depends on what the input does not tell, or
    /// the packet left the hosts given (an inferred link may have other hosts on it).
    Undecided {
        /// Index into [`PathWalk::legs`].
        leg: usize,
        /// Index into that leg's hops.
        hop: usize,
    },
}

/// Walks `query` across `topology`, there and back.
pub fn walk(topology: &Topology, query: &Query) -> PathWalk {
    leg::exchange(topology, query)
}
