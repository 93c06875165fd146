//! Where the fix belongs: one change on the host that failed the exchange, in the terms its
//! admin uses (the firewall's owner's language, a sysctl, a route), proven by walking the
//! whole exchange again with the change in place.
//!
//! The host is the one where the exchange failed, except for a path-MTU black hole: the
//! packet too big for a link is answered by a "too big" error, and what fails is that error
//! being dropped on its way back, so the fix goes where it is dropped.

use crate::hop::HopKind;
use crate::leg::{LegEnd, LegRole, Stop};
use crate::{walk, Outcome, PathWalk, Query};
use analysis::remedy::Remedies;
use engine::{Cause, Decider, Fate, RoutingFailure};
use ipnet::IpNet;
use model::host::{Route, RouteType, Scope};
use model::topology::Topology;
use std::net::IpAddr;

/// A change on one host and the exchange walked again with it.
#[derive(Debug, Clone)]
pub struct PathFix {
    /// The host to change (index into the topology's nodes).
    pub node: usize,
    /// The leg whose packet the change lets through.
    pub leg: usize,
    /// What to change.
    pub change: Change,
    /// The exchange with the change in place; `None` when the change is not one the walk
    /// can apply (a remedy that is no rule).
    pub proof: Option<Box<PathWalk>>,
    /// Another change that works too, on another host (for a path-MTU black hole: MSS
    /// clamping on the router whose way out is smaller, beside letting the error through).
    pub alternative: Option<Box<PathFix>>,
}

impl PathFix {
    /// Whether the exchange works with the change.
    pub fn works(&self) -> bool {
        self.proof
            .as_ref()
            .is_some_and(|w| matches!(w.outcome, Outcome::Works | Outcome::Refused))
    }
}

/// A change on a host.
#[derive(Debug, Clone)]
pub enum Change {
    /// The host's firewall: its remedies (owner's language first), the primary one proven
    /// across the path.
    Firewall(Box<Remedies>),
    /// Set a sysctl (forwarding off on a router).
    Sysctl {
        /// The sysctl.
        key: String,
        /// Its new value.
        value: String,
    },
    /// Clamp the MSS of forwarded TCP SYNs to the route's MTU (a router whose way out is
    /// smaller than the ends' links): the iptables-save line of its mangle FORWARD chain.
    ClampMss {
        /// `-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu`.
        line: String,
    },
    /// Send from another of the sender's addresses, one its kernel passed over (a
    /// temporary IPv6 address the far end does not know, say): `ping -I ADDR` / a bind,
    /// and when the kernel chose by preferring temporary addresses, the sysctl that stops it.
    Source {
        /// The address to send from.
        addr: IpAddr,
        /// `net.ipv6.conf.DEV.use_tempaddr` to set to 1 so the kernel prefers it itself.
        prefer_public: Option<String>,
    },
    /// Add a route (no route back).
    Route {
        /// The destination network.
        dst: IpNet,
        /// The gateway on the link the way goes.
        via: IpAddr,
        /// The device.
        dev: String,
    },
}

/// The fix for a failed walk, when one change on one host can make it: `None` for an
/// exchange that works, is undecided, or fails where no change of the kind above helps
/// (a neighbour that never answers, a stub).
pub fn fix(topology: &Topology, query: &Query, walked: &PathWalk) -> Option<PathFix> {
    let (leg, hop) = where_to_fix(walked)?;
    let h = &walked.legs[leg].hops[hop];
    let node = &topology.nodes[h.node];
    let HopKind::Linux { outcome } = &h.kind else {
        return None;
    };
    let trace = outcome.primary();
    let change = match (&trace.decider, &trace.fate, &trace.cause) {
        (Decider::Rule(_) | Decider::Policy(_), _, _) => {
            let mut host = node.host.clone();
            host.conntrack = h.conntrack.clone();
            host.known.conntrack = true;
            let remedies = analysis::remedy::remedies(
                &node.ruleset,
                &host,
                &h.packet,
                outcome,
                &query.options,
                &node.tool_config,
            )?;
            Change::Firewall(Box::new(remedies))
        }
        (_, _, Some(Cause::IpForwardOff { sysctl })) => Change::Sysctl {
            key: sysctl.clone(),
            value: "1".to_string(),
        },
        (
            _,
            Fate::RoutingFailed {
                reason: RoutingFailure::NoRoute,
            },
            _,
        ) => route_back(topology, walked, leg, h.node, h.packet.dst)?,
        _ => return None,
    };
    let proof = prove(topology, query, h.node, &change).map(Box::new);
    Some(PathFix {
        node: h.node,
        leg,
        change,
        proof,
        alternative: clamp_mss(topology, query, walked)
            .or_else(|| other_source(topology, query, walked))
            .map(Box::new),
    })
}

/// For an exchange that fails from the source its sender's kernel chose: another address
/// of the sender, one the choice passed over, with which the whole exchange works.
fn other_source(topology: &Topology, query: &Query, walked: &PathWalk) -> Option<PathFix> {
    use engine::source::{SourceReason, V6Rule};
    if !matches!(walked.outcome, Outcome::Fails { .. }) || query.bind != crate::Bind::None {
        return None;
    }
    let SourceReason::V6Rule {
        rule, beaten, dev, ..
    } = &walked.source.reason
    else {
        return None;
    };
    let prefer_public = matches!(
        rule,
        V6Rule::Privacy {
            prefer_temporary: true
        }
    )
    .then(|| format!("net.ipv6.conf.{dev}.use_tempaddr"));
    beaten.iter().find_map(|(addr, _)| {
        let change = Change::Source {
            addr: *addr,
            prefer_public: prefer_public.clone(),
        };
        let proof = prove(topology, query, query.from, &change)?;
        (proof.outcome == Outcome::Works).then(|| PathFix {
            node: query.from,
            leg: 0,
            change,
            proof: Some(Box::new(proof)),
            alternative: None,
        })
    })
}

/// The iptables-save line that clamps forwarded SYNs' MSS to the route's MTU.
const CLAMP_LINE: &str =
    "-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu";

/// For a TCP segment too big for a router's way out: MSS clamping on that router, so both
/// ends send segments that fit (the usual cure where the "too big" error cannot be relied
/// on), proven by walking again.
fn clamp_mss(topology: &Topology, query: &Query, walked: &PathWalk) -> Option<PathFix> {
    let Outcome::Fails { leg, hop } = walked.outcome else {
        return None;
    };
    let h = walked.legs[leg].hops.get(hop)?;
    let HopKind::Linux { outcome } = &h.kind else {
        return None;
    };
    let too_big = matches!(outcome.primary().cause, Some(Cause::TooBig { .. }));
    if !too_big || !matches!(h.packet.l4, model::L4::Tcp { .. }) {
        return None;
    }
    let change = Change::ClampMss {
        line: CLAMP_LINE.to_string(),
    };
    let proof = prove(topology, query, h.node, &change).map(Box::new);
    Some(PathFix {
        node: h.node,
        leg,
        change,
        proof,
        alternative: None,
    })
}

/// The leg and hop to change: the failing one, or for a black hole the hop that drops the
/// error about it.
fn where_to_fix(walked: &PathWalk) -> Option<(usize, usize)> {
    let Outcome::Fails { leg, hop } = walked.outcome else {
        return None;
    };
    let error_dropped = walked.legs.iter().enumerate().rev().find_map(|(i, l)| {
        (l.role == LegRole::Error { about: leg } && l.end == LegEnd::Stopped(Stop::Kernel))
            .then(|| (i, l.hops.len() - 1))
    });
    let too_big = matches!(
        &walked.legs[leg].hops.get(hop)?.kind,
        HopKind::Linux { outcome } if matches!(outcome.primary().cause, Some(Cause::TooBig { .. }))
    );
    match error_dropped {
        Some(at) if too_big => Some(at),
        _ if walked.legs[leg].end == LegEnd::Stopped(Stop::Kernel) => Some((leg, hop)),
        _ => None,
    }
}

/// A route on `node` back to `dst`'s network, via the host the exchange's request came
/// from on the link it arrived by (the way the answer should go back).
fn route_back(
    topology: &Topology,
    walked: &PathWalk,
    leg: usize,
    node: usize,
    dst: IpAddr,
) -> Option<Change> {
    let request = walked.legs[..leg]
        .iter()
        .rev()
        .find(|l| matches!(l.role, LegRole::Request | LegRole::Data))?;
    let at = request.hops.iter().position(|h| h.node == node)?;
    let previous = request.hops.get(at.checked_sub(1)?)?;
    let arrived_on = request.hops[at].arrived_on.clone()?;
    let ours = topology.nodes[node].host.interface(&arrived_on)?;
    let theirs = previous.egress.as_ref()?;
    let via = topology.nodes[previous.node]
        .host
        .interface(&theirs.oif)?
        .addrs
        .iter()
        .find(|a| {
            a.addr.is_ipv4() == dst.is_ipv4()
                && ours.addrs.iter().any(|o| o.network().contains(&a.addr))
        })
        .map(|a| a.addr)?;
    let dst_net = topology
        .owners_of(dst)
        .first()
        .and_then(|end| {
            topology.nodes[end.node]
                .host
                .interface(&end.iface)?
                .addrs
                .iter()
                .find(|a| a.addr == dst)
                .map(|a| a.network())
        })
        .unwrap_or_else(|| IpNet::from(dst));
    Some(Change::Route {
        dst: dst_net,
        via,
        dev: arrived_on,
    })
}

/// The exchange again, with `change` on `node`.
fn prove(topology: &Topology, query: &Query, node: usize, change: &Change) -> Option<PathWalk> {
    if let Change::Source { addr, .. } = change {
        let mut bound = query.clone();
        bound.bind = crate::Bind::Address(*addr);
        bound.packet.src = *addr;
        return Some(walk(topology, &bound));
    }
    let mut changed = topology.clone();
    let n = &mut changed.nodes[node];
    match change {
        Change::Firewall(remedies) => {
            n.ruleset = remedies.primary()?.patched.clone()?;
        }
        Change::Sysctl { key, value } => {
            n.host.sysctls.0.insert(key.clone(), value.clone());
        }
        Change::ClampMss { line } => {
            let family = if query.packet.is_ipv6() {
                model::Family::Ip6
            } else {
                model::Family::Ip
            };
            let text = format!(
                "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n\
                 :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{line}\nCOMMIT\n"
            );
            let source = model::SourceFile::new("(the MSS clamp)", text);
            let clamp = frontends::iptables_save::parse(&source, Some(family)).ok()?;
            n.ruleset.merge(clamp);
        }
        Change::Source { .. } => return None,
        Change::Route { dst, via, dev } => n.host.routes.push(Route {
            table: model::host::table_id::MAIN,
            dst: *dst,
            route_type: RouteType::Unicast,
            gateway: Some(*via),
            dev: Some(dev.clone()),
            prefsrc: None,
            metric: 0,
            scope: Scope::Universe,
            protocol: Some("static".to_string()),
            nexthops: Vec::new(),
            text: format!("{dst} via {via} dev {dev}"),
        }),
    }
    Some(walk(&changed, query))
}
