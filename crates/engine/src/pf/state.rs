//! pf's state table, as OpenBSD `sys/net/pf.c` keys and finds it.
//!
//! A state has two keys (`pf_state_key_setup`): the *wire* key, the connection as it looks
//! on the interface, and the *stack* key, as the host's stack sees it; they differ when the
//! creating rule translated the packet. A key stores the addresses and ports in "inbound"
//! order: index 0 is the source of a packet going `in` (`pd->sidx` is 0 `in`, 1 `out`,
//! `pd->didx` the other), so a reply in the other direction builds the same key.
//! `pf_find_state` compares an `in` packet's key with the wire key and an `out` packet's
//! with the stack key; a state is floating (any interface) unless its rule or
//! `set state-policy` binds it (`BOUND_IFACE`). So a forwarded packet passed `in` on one
//! interface needs its own state (a `pass out` rule) on the way out: its `out` key has the
//! addresses the other way round.
//!
//! ICMP queries are keyed by `pf_icmp_mapping`: the echo id as one port and the query type
//! as the other (a reply maps to its query's type, so it builds its query's key). ICMP
//! errors are not keyed themselves: they belong to the state of the packet they quote.
//!
//! TCP tracking is coarse: the sequence windows of `pf_tcp_track_full` are not modelled
//! (every segment is taken to be in window). What is kept is whether each side has closed
//! (FIN or RST), because a SYN meeting a state both sides closed ends that state and goes
//! to the rules as a new connection (`pf_test_state`, "state reuse").

use std::net::IpAddr;

use model::packet::{TcpFlags, L4};
use model::pf::RouteKind;
use model::Packet;

use crate::bsd::{Direction, RuleId};

/// A state key: protocol, addresses and ports in pf's inbound order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateKey {
    /// The IP protocol number (`key.proto`, the virtual protocol).
    pub proto: u8,
    /// Addresses, index 0 the source of an inbound packet.
    pub addr: [IpAddr; 2],
    /// Ports (or ICMP id and query type), in the same order.
    pub port: [u16; 2],
}

/// How an ICMP message relates to states (`pf_icmp_mapping`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpRole {
    /// A query or a message of its own: it keys its own state. `request` is true for the
    /// message that opens the exchange (`icmp_dir == PF_IN`).
    Query {
        /// The message opens an exchange (echo request, timestamp request, …).
        request: bool,
        /// The id kept as a port (echo id; 0 for types without one).
        id: u16,
        /// The request type both the request and its reply key with.
        virtual_type: u16,
    },
    /// An error about another packet (unreachable, time exceeded, …): it belongs to that
    /// packet's state and never creates one.
    Error,
    /// An IPv6 neighbour advertisement: pf "overrides keep state to no state" for it
    /// (unsolicited ones expect no answer); it meets the rules.
    NeighbourAdvert,
}

/// `pf_icmp_mapping` for an ICMP or ICMPv6 header.
pub fn icmp_role(l4: &L4) -> Option<IcmpRole> {
    let (v6, t, id) = match *l4 {
        L4::Icmp { icmp_type, id, .. } => (false, icmp_type, id),
        L4::Icmpv6 { icmp_type, id, .. } => (true, icmp_type, id),
        _ => return None,
    };
    let query = |request, id, virtual_type: u8| IcmpRole::Query {
        request,
        id,
        virtual_type: u16::from(virtual_type),
    };
    Some(if !v6 {
        match t {
            8 => query(true, id, 8),
            0 => query(false, id, 8),
            13 => query(true, id, 13),
            14 => query(false, id, 13),
            15 => query(true, id, 15),
            16 => query(false, id, 15),
            17 => query(true, id, 17),
            18 => query(false, id, 17),
            // Router solicitation / advertisement: no id to match on.
            10 => query(true, 0, 10),
            9 => query(false, 0, 10),
            3 | 4 | 5 | 11 | 12 => IcmpRole::Error,
            other => query(true, 0, other),
        }
    } else {
        match t {
            128 => query(true, id, 128),
            129 => query(false, id, 128),
            1..=4 => IcmpRole::Error,
            136 => IcmpRole::NeighbourAdvert,
            other => query(true, 0, other),
        }
    })
}

/// Index of the packet's source in a key: `pd->sidx`.
fn sidx(direction: Direction) -> usize {
    match direction {
        Direction::In => 0,
        Direction::Out => 1,
    }
}

/// The key `packet` looks up (and a state it creates starts from) in `direction`; `None`
/// for an ICMP error or a neighbour advertisement, which have no key of their own.
pub fn packet_key(packet: &Packet, direction: Direction) -> Option<StateKey> {
    let (sport, dport) = match icmp_role(&packet.l4) {
        Some(IcmpRole::Error | IcmpRole::NeighbourAdvert) => return None,
        Some(IcmpRole::Query {
            request,
            id,
            virtual_type,
        }) => {
            if request {
                (id, virtual_type)
            } else {
                (virtual_type, id)
            }
        }
        None => packet.l4.ports().unwrap_or((0, 0)),
    };
    let s = sidx(direction);
    let d = 1 - s;
    let mut addr = [packet.src; 2];
    addr[d] = packet.dst;
    let mut port = [sport; 2];
    port[d] = dport;
    Some(StateKey {
        proto: packet.l4.proto().number(),
        addr,
        port,
    })
}

/// Where one side of a TCP connection stands, coarsely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpSide {
    /// Open (SYN sent or later).
    Open,
    /// Sent a FIN or a RST (`TCPS_FIN_WAIT_2` or later).
    Closed,
}

/// One state entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StateEntry {
    /// The key as on the wire.
    pub wire: StateKey,
    /// The key as the stack sees it (the wire key when nothing was translated).
    pub stack: StateKey,
    /// The interface it is bound to (`if-bound`); `None` floats.
    pub interface: Option<String>,
    /// The direction of the packet that created it.
    pub direction: Direction,
    /// The rule that created it.
    pub created_by: RuleId,
    /// `log (all)` on the creating rule (or a `match` rule before it): every packet of
    /// the state is logged.
    pub log_all: Vec<crate::pf::pflog::LogHeader>,
    /// The tag the packets of the state carry (`st->tag`).
    pub tag: Option<String>,
    /// TCP: the side that opened (the creator's source) and the other one.
    pub tcp: Option<[TcpSide; 2]>,
    /// `route-to IF` (the state's direction) or `reply-to IF` (the other one): the
    /// interface those packets are sent by, whatever the routing table says.
    pub route: Option<(RouteKind, String)>,
}

impl StateEntry {
    /// The interface a packet of this state going `direction` is sent by, when the
    /// creating rule's `route-to`/`reply-to` says so (pf.conf(5) "Routing").
    pub fn routed_by(&self, direction: Direction) -> Option<&str> {
        match &self.route {
            Some((RouteKind::RouteTo, iface)) if direction == self.direction => Some(iface),
            Some((RouteKind::ReplyTo, iface)) if direction != self.direction => Some(iface),
            _ => None,
        }
    }
}

/// A packet's tag, carried from its `in` pass to its `out` pass (pf keeps it in the mbuf).
#[derive(Debug, Clone, PartialEq)]
struct CarriedTag {
    src: IpAddr,
    dst: IpAddr,
    l4: L4,
    tag: String,
}

/// pf's state table plus the tags of packets between their two passes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PfState {
    /// The states, oldest first.
    pub entries: Vec<StateEntry>,
    tags: Vec<CarriedTag>,
}

/// A state found for a packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Its index in [`PfState::entries`].
    pub index: usize,
    /// The key the packet is to be rewritten to (`st->key[PF_SK_STACK]` in, the wire key
    /// out).
    pub rewrite_to: StateKey,
}

impl PfState {
    /// `pf_find_state` for `key` in `direction` on `interface`.
    pub fn find(&self, key: &StateKey, direction: Direction, interface: &str) -> Option<Found> {
        // If-bound states are listed before floating ones.
        let bound = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.interface.as_deref() == Some(interface));
        let floating = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.interface.is_none());
        bound.chain(floating).find_map(|(index, e)| {
            let (mine, other) = match direction {
                Direction::In => (&e.wire, &e.stack),
                Direction::Out => (&e.stack, &e.wire),
            };
            (mine == key).then(|| Found {
                index,
                rewrite_to: other.clone(),
            })
        })
    }

    /// The state an ICMP error quoting `quoted` belongs to: the quoted packet went the
    /// other way, so its key is built for the opposite direction and compared with the key
    /// side of the error's own direction (`pf_test_state_icmp`, `pd2.sidx`/`didx`).
    pub fn find_quoted(
        &self,
        quoted: &Packet,
        direction: Direction,
        interface: &str,
    ) -> Option<Found> {
        let opposite = match direction {
            Direction::In => Direction::Out,
            Direction::Out => Direction::In,
        };
        let key = packet_key(quoted, opposite)?;
        self.find(&key, direction, interface)
    }

    /// Whether any state has `addr` as one of its endpoints: an ICMP error sent to `addr`
    /// without its quoted packet could belong to it.
    pub fn touches(&self, addr: IpAddr) -> bool {
        self.entries
            .iter()
            .any(|e| e.wire.addr.contains(&addr) || e.stack.addr.contains(&addr))
    }

    /// Updates a TCP state for a segment of `packet` in `direction`; returns false when a
    /// SYN met a state both sides had closed, which pf then removes ("state reuse"): the
    /// segment goes to the rules.
    pub fn track_tcp(&mut self, index: usize, packet: &Packet, direction: Direction) -> bool {
        let L4::Tcp { flags, .. } = packet.l4 else {
            return true;
        };
        let entry = &mut self.entries[index];
        let Some(sides) = entry.tcp.as_mut() else {
            return true;
        };
        let syn_only = flags.0 & (TcpFlags::SYN.0 | TcpFlags::ACK.0) == TcpFlags::SYN.0;
        if syn_only && sides.iter().all(|s| *s == TcpSide::Closed) {
            self.entries.remove(index);
            return false;
        }
        let from_creator = usize::from(direction != entry.direction);
        if flags.0 & TcpFlags::RST.0 != 0 {
            *sides = [TcpSide::Closed; 2];
        } else if flags.0 & TcpFlags::FIN.0 != 0 {
            sides[from_creator] = TcpSide::Closed;
        }
        true
    }

    /// Remembers `tag` for `packet` as it leaves an `in` pass.
    pub fn carry_tag(&mut self, packet: &Packet, tag: String) {
        self.tags
            .retain(|t| !(t.src == packet.src && t.dst == packet.dst && t.l4 == packet.l4));
        self.tags.push(CarriedTag {
            src: packet.src,
            dst: packet.dst,
            l4: packet.l4,
            tag,
        });
    }

    /// The tag `packet` carries from its `in` pass, if it had one.
    pub fn carried_tag(&self, packet: &Packet) -> Option<String> {
        self.tags
            .iter()
            .find(|t| t.src == packet.src && t.dst == packet.dst && t.l4 == packet.l4)
            .map(|t| t.tag.clone())
    }
}
