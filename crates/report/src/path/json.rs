//! The `whyblocked path --json` output: a stable, documented schema.
//!
//! These types are the schema; `docs/path.schema.json` is the same schema as a JSON
//! Schema file (a test checks the output against it, so the two cannot drift apart). A
//! change that is not purely additive bumps [`SCHEMA_VERSION`].
//!
//! Conventions as the one-host answer's: `snake_case` names, optional values `null`
//! rather than absent, addresses as `ip` prints them. Each Linux hop carries the whole
//! one-host answer of its kernel path (`host`: [`crate::answer::json::Report`], with its
//! own `schema_version`), so a script reads a hop the way it reads `whyblocked --json`.

use super::words as pw;
use super::{last_back, received, PathAnswer, Verdict};
use crate::answer::json::{fix_json, packet_json, report, FixJson, PacketJson, Report};
use model::topology::{LinkEvidence, Topology};
use network::fix::Change;
use network::sees::SenderSees;
use network::{Egress, Hop, HopKind, Leg, LegEnd, LegRole, Resolution, Stop};
use serde::Serialize;
use std::io::{self, Write};

/// Version of this schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct PathJson {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What the exchange comes to, which the exit status follows: `works` (0), `refused`
    /// (1: nothing listens, or the destination does not answer), `fails` (1: a leg
    /// stopped; see `failed_at`), `undecided` (3: a hop's verdict depends on what the
    /// input does not tell, or the packet left the hosts given).
    pub outcome: String,
    /// The node that sends.
    pub sender: String,
    /// The request as sent (with the source address chosen); `null` when nothing is sent.
    pub packet: Option<PacketJson>,
    /// The IP length asked for (`--size`), header included.
    pub size: Option<u16>,
    /// How the sender's kernel chose the source address (`bound` when it was given).
    pub source: SourceJson,
    /// What the sender observes.
    pub sender_sees: SenderSeesJson,
    /// Where the exchange fails or cannot be decided; `null` when it works or is refused.
    pub failed_at: Option<FailedAtJson>,
    /// Where the fix belongs and what it is; `null` when none is named.
    pub fix: Option<PathFixJson>,
    /// Everything assumed, over all hops.
    pub assumptions: Vec<PathAssumptionJson>,
    /// Every packet's way, in the order they travel.
    pub legs: Vec<LegJson>,
}

/// How the sender's kernel chose the source address.
#[derive(Debug, Clone, Serialize)]
pub struct SourceJson {
    /// The address; `null` when the sender has none to offer.
    pub addr: Option<String>,
    /// The interface the route leaves by.
    pub oif: Option<String>,
    /// The route's gateway, when it has one.
    pub gateway: Option<String>,
    /// What decided: `bound` (-I ADDR), `local_destination`, `route_src` (the route's
    /// `src`), `v4_device` (a primary address of the way out), `v4_other_device`,
    /// `v6_rule` (the RFC 6724 rule in `text`), `no_address`, `addresses_unknown`,
    /// `failed` (the socket cannot send: `text` says why).
    pub reason: &'static str,
    /// In words, the first line the reason, then the notes.
    pub text: Vec<String>,
}

/// The code of a source choice's reason.
fn source_reason_code(r: &engine::source::SourceReason) -> &'static str {
    use engine::source::SourceReason as R;
    match r {
        R::Bound => "bound",
        R::LocalDestination => "local_destination",
        R::RoutePrefsrc => "route_src",
        R::V4Device { .. } => "v4_device",
        R::V4OtherDevice { .. } => "v4_other_device",
        R::V6Rule { .. } => "v6_rule",
        R::NoAddress => "no_address",
        R::AddressesUnknown => "addresses_unknown",
        R::Failed(_) => "failed",
    }
}

/// What the sender observes.
#[derive(Debug, Clone, Serialize)]
pub struct SenderSeesJson {
    /// `answer`, `refused` (a reset, a port unreachable), `error` (an ICMP error or a
    /// firewall's reset from a hop, or the sender's own host unreachable), `send_fails`
    /// (the sender's own kernel refuses the send), `nothing` (lost without an error),
    /// `error_lost` (a hop's error is dropped on its way back: with an `mtu`, a path-MTU
    /// black hole), `stray_answer` (an answer from another address than the one asked,
    /// which no socket takes), `unknown`.
    pub code: String,
    /// The packet that comes back (or, for `error_lost`, the error as sent), if any.
    pub packet: Option<PacketJson>,
    /// The node that sent the error, for `error` and `error_lost`.
    pub from_node: Option<String>,
    /// The node that drops the error, for `error_lost`.
    pub lost_at: Option<String>,
    /// The MTU a "fragmentation needed" / "packet too big" announces.
    pub mtu: Option<u32>,
    /// In words, one line each (as the text output says it).
    pub text: Vec<String>,
}

/// Where the exchange fails or cannot be decided.
#[derive(Debug, Clone, Serialize)]
pub struct FailedAtJson {
    /// Index into `legs`.
    pub leg: usize,
    /// Index into that leg's `hops`.
    pub hop: usize,
    /// The node (`null` when nothing was sent).
    pub node: Option<String>,
    /// The leg's role (see [`LegJson::role`]).
    pub role: String,
    /// How the leg ended (see [`LegJson::end`]).
    pub end: String,
    /// Why it stopped, when it did.
    pub stop: Option<StopJson>,
    /// For an answer lost at a host the way there did not cross (the answer takes another
    /// way back, and a stateful firewall there never saw the connection): that, in words;
    /// `null` otherwise.
    pub asymmetric: Option<String>,
    /// Why, in words.
    pub text: Vec<String>,
}

/// Why a packet was lost at a hop.
#[derive(Debug, Clone, Serialize)]
pub struct StopJson {
    /// `kernel` (the hop's kernel path: its `host` answer says why, in `reason` or the
    /// deciding rule), `neighbour` (nobody answers ARP / neighbour solicitation),
    /// `frame_too_big` (the receiver's MTU is smaller), `too_big_to_send` (the sender's
    /// own packet does not fit and must not be fragmented: EMSGSIZE), `stub_no_route`,
    /// `stub_ttl`, `no_source_address`, `not_for_sender` (the answer comes from another
    /// address than the one asked: a hairpin NAT without SNAT), `arrived_elsewhere`.
    pub code: String,
    /// The address resolved, for `neighbour`.
    pub next_hop: Option<String>,
    /// The receiving node and interface, for `frame_too_big`.
    pub node: Option<String>,
    /// See `node`.
    pub iface: Option<String>,
    /// The MTU, for `frame_too_big` and `too_big_to_send`.
    pub mtu: Option<u32>,
    /// The address asked and the one the answer came from, for `not_for_sender`.
    pub expected: Option<String>,
    /// See `expected`.
    pub got: Option<String>,
}

/// Where the fix belongs.
#[derive(Debug, Clone, Serialize)]
pub struct PathFixJson {
    /// The node to change.
    pub node: String,
    /// What to change: `firewall`, `route`, `sysctl`, `mss_clamp`, `source`, `mtu`, `size`,
    /// `neighbour`, `icmp_back` (let the error back in), `snat`.
    pub code: String,
    /// In words.
    pub text: String,
    /// Whether the exchange walked again with the change works; `null` when it was not
    /// walked again (the change is only named).
    pub proven: Option<bool>,
    /// The firewall remedy for that node, verified by re-simulation, when one was searched
    /// for (the one-host answer's `fix`).
    pub remedy: Option<FixJson>,
    /// Another fix that works too, on another host (`mss_clamp` beside `firewall` for a
    /// path-MTU black hole); `null` when none.
    pub alternative: Option<Box<PathFixJson>>,
}

/// One assumption.
#[derive(Debug, Clone, Serialize)]
pub struct PathAssumptionJson {
    /// The node it is about (`null`: the topology).
    pub node: Option<String>,
    /// `input_note`, `stub` (a system known by its addresses and routes only), `no_rules`
    /// (a Linux host given without rules), `host` (the hop's
    /// simulation assumed it: see its `host.assumptions` for the values),
    /// `mtu_not_given`, `inferred_link`, `udp_source` (a UDP service on the wildcard address
    /// answers from the address source selection picks), `stub_answers` (a stub taken to accept a port it
    /// does not describe).
    pub code: String,
    /// In words.
    pub text: String,
}

/// One packet's way.
#[derive(Debug, Clone, Serialize)]
pub struct LegJson {
    /// `request`, `answer`, `data` (a full-size segment after the handshake, `--size`),
    /// `data_answer`, `error` (an ICMP error or reset a hop sends about a lost packet).
    pub role: String,
    /// For `error`: the index of the leg whose packet was lost.
    pub about: Option<usize>,
    /// The way in words (`the way there`, `the way back`, ...).
    pub direction: String,
    /// `arrived`, `stopped`, `left` (the hosts given), `undecided`, `looped`.
    pub end: String,
    /// Why it stopped, for `stopped`.
    pub stop: Option<StopJson>,
    /// The hosts it crossed, the sender first.
    pub hops: Vec<HopJson>,
}

/// One host on the way.
#[derive(Debug, Clone, Serialize)]
pub struct HopJson {
    /// The node.
    pub node: String,
    /// `linux` or `stub`.
    pub kind: String,
    /// The interface it arrived on; `null` when the host sent it.
    pub arrived_on: Option<String>,
    /// The packet as it arrived (or was sent).
    pub packet: PacketJson,
    /// For a Linux hop, the one-host answer of its kernel path; `null` for a stub.
    pub host: Option<Box<Report>>,
    /// For a stub: the route it forwarded by (as listed), or what it did, in words.
    pub stub: Option<String>,
    /// How it left, when it did.
    pub egress: Option<EgressJson>,
}

/// How a packet left a host.
#[derive(Debug, Clone, Serialize)]
pub struct EgressJson {
    /// The interface.
    pub oif: String,
    /// The address resolved on the link (the gateway, or the destination on link).
    pub next_hop: String,
    /// Who answered for it.
    pub neighbour: NeighbourJson,
    /// The link the interface is on, if any.
    pub link: Option<LinkJson>,
    /// The interface's MTU (`null`: not given, not checked).
    pub mtu: Option<u32>,
    /// The packet leaves in fragments (larger than the MTU, no DF).
    pub fragmented: bool,
    /// The packet as it left (after NAT and the TTL decrement).
    pub packet: PacketJson,
}

/// Neighbour resolution.
#[derive(Debug, Clone, Serialize)]
pub struct NeighbourJson {
    /// `node` (a host given answers), `outside` (the neighbour table resolves it to a
    /// machine not given), `failed`, `filtered` (the host given has the address, but a
    /// firewall drops the neighbour discovery: `text` says whose), `unknown`, `no_link`.
    pub result: String,
    /// The node that answers, for `node`.
    pub node: Option<String>,
    /// Its interface.
    pub iface: Option<String>,
    /// The sender's neighbour entry that decided, as `ip neigh` shows it.
    pub entry: Option<String>,
    /// In words.
    pub text: String,
}

/// A link and how it is known.
#[derive(Debug, Clone, Serialize)]
pub struct LinkJson {
    /// Its name.
    pub name: String,
    /// `declared` (in a topology file: `file`, `line`), `shared_subnet` (`net`),
    /// `neighbour` (a neighbour table lists the other end's address).
    pub evidence: String,
    /// For `declared`.
    pub file: Option<String>,
    /// For `declared`, 1-based.
    pub line: Option<usize>,
    /// For `shared_subnet`.
    pub net: Option<String>,
    /// Every system on it is given (false: inferred, others may share it).
    pub complete: bool,
    /// In words.
    pub text: String,
}

/// Builds the schema value of a path answer.
pub fn path_report(a: &PathAnswer<'_>) -> PathJson {
    let topo = a.topology;
    let v = Verdict::of(a.walk);
    let first = a.walk.legs.first().and_then(|l| l.hops.first());
    let fix = pw::fix(a, &v).map(|f| PathFixJson {
        node: pw::node(topo, f.node).to_string(),
        code: f.code.to_string(),
        text: std::iter::once(f.text)
            .chain(f.detail)
            .collect::<Vec<_>>()
            .join("; "),
        proven: f.proven,
        remedy: match a.facts.fix.as_ref().map(|f| &f.change) {
            Some(Change::Firewall(remedies)) => fix_json(remedies),
            _ => None,
        },
        alternative: pw::alternative_fix(a).map(|f| {
            Box::new(PathFixJson {
                node: pw::node(topo, f.node).to_string(),
                code: f.code.to_string(),
                text: std::iter::once(f.text)
                    .chain(f.detail)
                    .collect::<Vec<_>>()
                    .join("; "),
                proven: f.proven,
                remedy: None,
                alternative: None,
            })
        }),
    });
    PathJson {
        schema_version: SCHEMA_VERSION,
        outcome: pw::outcome_code(&a.walk.outcome).to_string(),
        sender: pw::node(topo, a.sender).to_string(),
        packet: first.map(|h| packet_json(&h.packet)),
        size: a.size,
        source: {
            let c = &a.walk.source;
            SourceJson {
                addr: c.addr.map(|x| x.to_string()),
                oif: c.oif.clone(),
                gateway: c.gateway.map(|g| g.to_string()),
                reason: source_reason_code(&c.reason),
                text: pw::source(topo, a.sender, c),
            }
        },
        sender_sees: sender_sees(a, &v),
        failed_at: v.at.map(|(leg, hop)| {
            let l = &a.walk.legs[leg];
            let h = l.hops.get(hop);
            FailedAtJson {
                leg,
                hop,
                node: h.map(|h| pw::node(topo, h.node).to_string()),
                role: pw::role_code(l.role).to_string(),
                end: pw::end_code(&l.end).to_string(),
                stop: stop(topo, &l.end),
                asymmetric: pw::asymmetry(a, leg, hop),
                text: pw::failure_reason(topo, a.sender, l, h)
                    .map_or_else(|| vec![pw::end(topo, l)], |(_, lines)| lines),
            }
        }),
        fix,
        assumptions: pw::assumptions(a)
            .into_iter()
            .map(|x| PathAssumptionJson {
                node: x.node.map(|n| pw::node(topo, n).to_string()),
                code: x.code.to_string(),
                text: x.text,
            })
            .collect(),
        legs: a
            .walk
            .legs
            .iter()
            .enumerate()
            .map(|(i, l)| leg(a, i, l))
            .collect(),
    }
}

/// Writes the answer as pretty-printed JSON followed by a newline.
pub fn render<W: Write>(w: &mut W, a: &PathAnswer<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &path_report(a)).map_err(io::Error::from)?;
    writeln!(w)
}

fn sender_sees(a: &PathAnswer<'_>, v: &Verdict<'_>) -> SenderSeesJson {
    let topo = a.topology;
    let name = |n: usize| Some(pw::node(topo, n).to_string());
    let (packet, from_node, lost_at, mtu) = match (&v.sees, &v.lost) {
        (SenderSees::Answer { .. } | SenderSees::Refused { .. }, _) => (
            last_back(a.walk).map(|l| packet_json(received(l))),
            None,
            None,
            None,
        ),
        (SenderSees::Error { from, l4, mtu }, _) => {
            let to = a.walk.legs[0].hops[0].packet.src;
            let owner = topo.owners_of(*from).first().map(|e| e.node);
            (
                Some(packet_json(&model::Packet::new(*from, to, *l4))),
                owner.and_then(name),
                None,
                *mtu,
            )
        }
        (SenderSees::Nothing, Some(lost)) => (
            Some(packet_json(lost.packet)),
            name(lost.from),
            name(lost.lost_at),
            lost.mtu,
        ),
        _ => (None, None, None, None),
    };
    SenderSeesJson {
        code: v.code().to_string(),
        packet,
        from_node,
        lost_at,
        mtu,
        text: pw::seen(a, v),
    }
}

fn stop(topo: &Topology, end: &LegEnd) -> Option<StopJson> {
    let LegEnd::Stopped(s) = end else {
        return None;
    };
    let mut j = StopJson {
        code: pw::stop_code(s).to_string(),
        next_hop: None,
        node: None,
        iface: None,
        mtu: None,
        expected: None,
        got: None,
    };
    match s {
        Stop::Neighbour { next_hop } => j.next_hop = Some(next_hop.to_string()),
        Stop::FrameTooBig { node, iface, mtu } => {
            j.node = Some(pw::node(topo, *node).to_string());
            j.iface = Some(iface.clone());
            j.mtu = Some(*mtu);
        }
        Stop::TooBigToSend { mtu } => j.mtu = Some(*mtu),
        Stop::NotForSender { expected, got } => {
            j.expected = Some(expected.to_string());
            j.got = Some(got.to_string());
        }
        Stop::Kernel
        | Stop::StubNoRoute
        | Stop::StubTtl
        | Stop::NoSourceAddress
        | Stop::ArrivedElsewhere => {}
    }
    Some(j)
}

fn leg(a: &PathAnswer<'_>, i: usize, l: &Leg) -> LegJson {
    LegJson {
        role: pw::role_code(l.role).to_string(),
        about: match l.role {
            LegRole::Error { about } => Some(about),
            _ => None,
        },
        direction: pw::direction(l.role).to_string(),
        end: pw::end_code(&l.end).to_string(),
        stop: stop(a.topology, &l.end),
        hops: l
            .hops
            .iter()
            .enumerate()
            .map(|(j, h)| hop(a, i, j, h))
            .collect(),
    }
}

fn hop(a: &PathAnswer<'_>, i: usize, j: usize, h: &Hop) -> HopJson {
    let topo = a.topology;
    let node = &topo.nodes[h.node];
    let (kind, stub) = match &h.kind {
        HopKind::Linux { .. } => ("linux", None),
        HopKind::Stub { route } => ("stub", Some(pw::stub_hop(topo, h, *route))),
    };
    let host = a.hop_answer(i, j).map(|answer| Box::new(report(&answer)));
    HopJson {
        node: node.name.clone(),
        kind: kind.to_string(),
        arrived_on: h.arrived_on.clone(),
        packet: packet_json(&h.packet),
        host,
        stub,
        egress: h.egress.as_ref().map(|e| egress(topo, e)),
    }
}

fn egress(topo: &Topology, e: &Egress) -> EgressJson {
    let (node, iface, entry) = match &e.resolution {
        Resolution::Node { node, iface } | Resolution::Filtered { node, iface, .. } => (
            Some(pw::node(topo, *node).to_string()),
            Some(iface.clone()),
            None,
        ),
        Resolution::Outside { entry } | Resolution::Failed { entry: Some(entry) } => {
            (None, None, Some(pw::entry_line(entry)))
        }
        Resolution::Failed { entry: None } | Resolution::Unknown | Resolution::NoLink => {
            (None, None, None)
        }
    };
    EgressJson {
        oif: e.oif.clone(),
        next_hop: e.next_hop.to_string(),
        neighbour: NeighbourJson {
            result: pw::resolution_code(&e.resolution).to_string(),
            node,
            iface,
            entry,
            text: pw::resolution(topo, e),
        },
        link: e.link.map(|l| {
            let link = &topo.links[l];
            let (file, line, net) = match &link.evidence {
                LinkEvidence::Declared { file, line } => (Some(file.clone()), Some(*line), None),
                LinkEvidence::SharedSubnet { net } => (None, None, Some(net.to_string())),
                LinkEvidence::Neighbour { .. } => (None, None, None),
            };
            LinkJson {
                name: link.name.clone(),
                evidence: pw::evidence_code(&link.evidence).to_string(),
                file,
                line,
                net,
                complete: link.complete,
                text: pw::evidence(topo, &link.evidence),
            }
        }),
        mtu: e.mtu,
        fragmented: e.fragmented,
        packet: packet_json(&e.packet),
    }
}
