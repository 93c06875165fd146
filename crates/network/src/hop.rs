//! One host on the way: what its kernel (or, for a stub, its routing table) does with the
//! packet, and where the packet goes next.

use crate::leg::Stop;
use crate::neighbour::{self, Resolution};
use crate::state::State;
use crate::stub;
use engine::{Fate, Options, Outcome, RouteKind};
use model::packet::PktType;
use model::topology::{NodeKind, Topology};
use model::Packet;
use std::net::IpAddr;

/// One host the packet crossed.
#[derive(Debug, Clone)]
pub struct Hop {
    /// The node (index into the topology's nodes).
    pub node: usize,
    /// The interface it arrived on; `None` when the host sent it.
    pub arrived_on: Option<String>,
    /// The packet as it arrived (or as the host sent it).
    pub packet: Packet,
    /// What the host did with it.
    pub kind: HopKind,
    /// How it left, when it did.
    pub egress: Option<Egress>,
    /// The host's conntrack table as the packet met it (entries the walk created before
    /// included): what a remedy for this hop is judged against.
    pub conntrack: Vec<model::host::CtEntry>,
}

/// What a host did with the packet.
#[derive(Debug, Clone)]
pub enum HopKind {
    /// A Linux host: the engine's walk of its kernel path (every branch of the Unknown
    /// matches on it).
    Linux {
        /// The simulation.
        outcome: Box<Outcome>,
    },
    /// A stub: its routing table only.
    Stub {
        /// The route taken (index into its host's routes), `None` for an address of its
        /// own or an on-link destination without a route listed.
        route: Option<usize>,
    },
}

/// How a packet left a host.
#[derive(Debug, Clone, PartialEq)]
pub struct Egress {
    /// The interface.
    pub oif: String,
    /// The address resolved on the link: the gateway, or the destination when on link.
    pub next_hop: IpAddr,
    /// The link (index into the topology's links), when the interface is on one.
    pub link: Option<usize>,
    /// Who answered for the next hop.
    pub resolution: Resolution,
    /// The interface's MTU, when known.
    pub mtu: Option<u32>,
    /// The packet is larger than the MTU and may be fragmented (IPv4 without DF): it
    /// leaves in fragments (the next Linux host's conntrack reassembles them).
    pub fragmented: bool,
    /// The packet as it left (after NAT, TTL).
    pub packet: Packet,
}

/// Where the walk goes after a hop.
pub(crate) enum Next {
    /// On to `node`, arriving as `packet` (on `packet.iif`).
    To { node: usize, packet: Packet },
    /// Delivered to this host.
    Arrived,
    /// Lost here.
    Stopped(Stop),
    /// Left the hosts given.
    Left,
    /// The verdict depends on what the input does not tell.
    Undecided,
}

/// The hop of `packet` at `node`.
/// `reset_of`: the packet a REJECT refused at `node`, which `packet` (its TCP reset)
/// answers.
pub(crate) fn cross(
    topology: &Topology,
    state: &mut State<'_>,
    node: usize,
    packet: &Packet,
    options: &Options,
    reset_of: Option<&Packet>,
) -> (Hop, Next) {
    match &topology.nodes[node].kind {
        NodeKind::Linux => linux(topology, state, node, packet, options, reset_of),
        NodeKind::Stub(_) => stub::cross(topology, state, node, packet),
    }
}

fn linux(
    topology: &Topology,
    state: &mut State<'_>,
    node: usize,
    packet: &Packet,
    options: &Options,
    reset_of: Option<&Packet>,
) -> (Hop, Next) {
    let (prepared, host) = (&state.prepared[node], &state.hosts[node]);
    let outcome = match reset_of {
        Some(about) => engine::simulate_reject_answer(prepared, host, packet, about, options),
        None => engine::simulate_prepared(prepared, host, packet, options),
    };
    let decided = outcome.decided_fate().is_some();
    let conntrack = state.hosts[node].conntrack.clone();
    if decided {
        let trace = outcome.primary();
        if trace.fate.passed() && trace.conntrack.entry.is_none() {
            if let Some(entry) = analysis::remedy::exchange::entry_after(&state.hosts[node], trace)
            {
                state.confirm(node, entry);
            }
        }
    }
    let trace = outcome.primary();
    // Where it goes next, taken before the outcome moves into the hop.
    let way_out = match &trace.fate {
        _ if !decided => Err(Next::Undecided),
        Fate::Delivered { .. } => Err(Next::Arrived),
        Fate::Forwarded { oif, gateway } => Ok((oif.clone(), *gateway, trace.final_packet.clone())),
        Fate::Sent { oif } => {
            let gateway = trace.route.as_ref().and_then(|r| match &r.kind {
                RouteKind::Output { gateway, .. } | RouteKind::Forward { gateway, .. } => *gateway,
                _ => None,
            });
            Ok((oif.clone(), gateway, trace.final_packet.clone()))
        }
        Fate::Undetermined { .. } | Fate::Queued { .. } => Err(Next::Undecided),
        Fate::Dropped | Fate::Rejected { .. } | Fate::RoutingFailed { .. } => {
            Err(Next::Stopped(Stop::Kernel))
        }
    };
    let mut hop = Hop {
        node,
        arrived_on: packet.iif.clone(),
        packet: packet.clone(),
        kind: HopKind::Linux {
            outcome: Box::new(outcome),
        },
        egress: None,
        conntrack,
    };
    let (oif, gateway, final_packet) = match way_out {
        Ok(way) => way,
        Err(next) => return (hop, next),
    };
    let next = leave(
        topology,
        state,
        node,
        &oif,
        gateway,
        &final_packet,
        &mut hop,
    );
    (hop, next)
}

/// The packet leaves `node` by `oif` toward `gateway` (or its destination, on link):
/// neighbour resolution, then the host on the other side.
pub(crate) fn leave(
    topology: &Topology,
    state: &State<'_>,
    node: usize,
    oif: &str,
    gateway: Option<IpAddr>,
    packet: &Packet,
    hop: &mut Hop,
) -> Next {
    let next_hop = gateway.unwrap_or(packet.dst);
    let host = &state.hosts[node];
    let iface = host.interface(oif);
    let mtu = iface.and_then(|i| i.mtu);
    let resolution = neighbour::resolve(
        topology,
        &state.hosts,
        &state.prepared,
        node,
        oif,
        next_hop,
        packet.src,
    );
    let too_big = mtu.is_some_and(|m| u32::from(packet.len) > m);
    let mut packet = packet.clone();
    if too_big && hop.arrived_on.is_none() {
        if state.strict_df {
            // `ping -M do`: the send fails with EMSGSIZE, nothing leaves.
            hop.egress = Some(Egress {
                oif: oif.to_string(),
                next_hop,
                link: topology.link_of(node, oif),
                resolution,
                mtu,
                fragmented: false,
                packet,
            });
            return Next::Stopped(Stop::TooBigToSend {
                mtu: mtu.unwrap_or_default(),
            });
        }
        // The sender fragments what does not fit its own way out (ping's and UDP's
        // default path-MTU discovery; IPv6 sources fragment themselves).
        packet.dont_fragment = false;
    }
    hop.egress = Some(Egress {
        oif: oif.to_string(),
        next_hop,
        link: topology.link_of(node, oif),
        resolution: resolution.clone(),
        mtu,
        fragmented: too_big,
        packet: packet.clone(),
    });
    match resolution {
        Resolution::Node {
            node: to,
            iface: to_iface,
        } => {
            let receiver = state.hosts[to].interface(&to_iface);
            let frame = mtu.map_or(u32::from(packet.len), |m| u32::from(packet.len).min(m));
            if let Some(rmtu) = receiver.and_then(|i| i.mtu) {
                if frame > rmtu {
                    return Next::Stopped(Stop::FrameTooBig {
                        node: to,
                        iface: to_iface,
                        mtu: rmtu,
                    });
                }
            }
            let mut arriving = packet.clone();
            arriving.iif = Some(to_iface);
            arriving.oif = None;
            arriving.src_mac = iface.and_then(|i| i.mac);
            arriving.dst_mac = receiver.and_then(|i| i.mac);
            arriving.pkttype = PktType::Unicast;
            arriving.mark = 0;
            arriving.uid = None;
            arriving.gid = None;
            Next::To {
                node: to,
                packet: arriving,
            }
        }
        Resolution::Failed { .. } | Resolution::Filtered { .. } => {
            Next::Stopped(Stop::Neighbour { next_hop })
        }
        Resolution::Outside { .. } | Resolution::NoLink => Next::Left,
        Resolution::Unknown => Next::Undecided,
    }
}
