//! What a piece of evidence says about a packet's way through this host, made into the
//! assumptions of its simulation, and checked against the simulation afterwards.
//!
//! Every evidence command goes through here: a trace's hooks (`explain-trace`), a log
//! line's `IN=` and `OUT=` (`log`), an ICMP error's sender and quoted TTL (`pcap`). The
//! evidence is the kernel's word on the path: without host state it sets what the packet
//! spec would (forwarded, delivered locally, sent by this host, and the interfaces); with
//! host state the simulation routes by itself, and where it takes another way than the
//! evidence shows, that is a [`Contradiction`], reported as such and never as a finding.

use engine::{Outcome, RouteKind};
use model::{Hook, Host, Packet};
use std::net::IpAddr;

/// A packet's way through this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// Routed through: prerouting, forward, postrouting.
    Forwarded,
    /// Delivered to this host: prerouting, input.
    Local,
    /// Sent by this host: output, postrouting.
    Sent,
}

/// The evidence a [`Way`] was taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ground {
    /// A trace shows the packet in a chain of this hook.
    TracedIn(Hook),
    /// A log line's `IN=` and `OUT=` (an empty one is `None`).
    LoggedInterfaces {
        iif: Option<String>,
        oif: Option<String>,
    },
    /// An ICMP error quotes the packet, seen arriving at the capture point, with a lower
    /// TTL than it was captured with: the first router after the capture point, this host,
    /// forwarded it.
    TtlDecrementedPastCapture { captured: u8, quoted: u8 },
    /// An ICMP error about the packet came from this host's own address, which is not the
    /// packet's destination: this host handled it as a router.
    AnsweredByThisHostAsHop { hop: IpAddr },
}

/// What the evidence implies for one packet: its way and interfaces, and on what ground.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Implied {
    /// `None`: the evidence says nothing of the way.
    pub way: Option<(Way, Ground)>,
    /// The input interface the evidence shows.
    pub iif: Option<String>,
    /// The output interface the evidence shows.
    pub oif: Option<String>,
    /// This host refused the packet: an ICMP error refusing it came from its own address.
    pub refused_here: Option<IpAddr>,
}

impl Implied {
    /// From the hooks a trace shows the packet in, and the interfaces it printed: FORWARD
    /// means forwarded; INPUT delivered; OUTPUT sent; POSTROUTING without OUTPUT forwarded.
    pub fn from_hooks(hooks: &[Hook], iif: Option<String>, oif: Option<String>) -> Implied {
        let has = |h: Hook| hooks.contains(&h);
        let way = if has(Hook::Forward) {
            Some((Way::Forwarded, Ground::TracedIn(Hook::Forward)))
        } else if has(Hook::Input) {
            Some((Way::Local, Ground::TracedIn(Hook::Input)))
        } else if has(Hook::Output) {
            Some((Way::Sent, Ground::TracedIn(Hook::Output)))
        } else if has(Hook::Postrouting) && has(Hook::Prerouting) {
            Some((Way::Forwarded, Ground::TracedIn(Hook::Postrouting)))
        } else {
            None
        };
        Implied {
            way,
            iif,
            oif,
            refused_here: None,
        }
    }

    /// From a log line's `IN=` and `OUT=`: both set, forwarded; `IN=` alone, delivered
    /// (or not yet routed: LOG in PREROUTING prints no `OUT=` either); `OUT=` alone, sent.
    pub fn from_log(iif: Option<String>, oif: Option<String>) -> Implied {
        let ground = Ground::LoggedInterfaces {
            iif: iif.clone(),
            oif: oif.clone(),
        };
        let way = match (&iif, &oif) {
            (Some(_), Some(_)) => Some((Way::Forwarded, ground)),
            (None, Some(_)) => Some((Way::Sent, ground)),
            _ => None,
        };
        Implied {
            way,
            iif,
            oif,
            refused_here: None,
        }
    }

    /// From an ICMP error about a packet seen arriving on `iif`: sent by `hop`, quoting
    /// the packet with TTL `quoted` where the capture saw `captured` (when it saw the
    /// packet itself). A decrement past the capture point, or `hop` being this host's own
    /// address while not the destination, means this host forwarded it; `refusal` (an
    /// unreachable, not a path-MTU signal) from this host's address, that it refused it.
    pub fn from_icmp_error(
        packet: &Packet,
        iif: &str,
        hop: IpAddr,
        (captured, quoted): (Option<u8>, Option<u8>),
        refusal: bool,
        host: &Host,
    ) -> Implied {
        let by_ttl = match (captured, quoted) {
            (Some(c), Some(q)) if q < c => Some(Ground::TtlDecrementedPastCapture {
                captured: c,
                quoted: q,
            }),
            _ => None,
        };
        let by_hop = (hop != packet.dst && host.owner_of(hop).is_some())
            .then_some(Ground::AnsweredByThisHostAsHop { hop });
        let ours = host.owner_of(hop).is_some();
        Implied {
            way: by_hop.or(by_ttl).map(|g| (Way::Forwarded, g)),
            iif: Some(iif.to_string()),
            oif: None,
            refused_here: (refusal && ours).then_some(hop),
        }
    }

    /// `packet` with the interfaces the evidence shows, and the way it sets. Without
    /// routes or addresses the engine takes the way from the interfaces (`in X out Y`
    /// forwarded, `in X` local, `out Y` sent), so the evidence sets it: a forwarded packet
    /// whose output interface the evidence does not show gets the engine's "unknown
    /// interface" (empty name). With host state the simulation routes by itself (nothing
    /// is assumed) and [`contradiction`] checks it.
    pub fn apply(&self, packet: &Packet, host: &Host) -> (Packet, Option<Assumed>) {
        let mut p = packet.clone();
        if self.iif.is_some() {
            p.iif = self.iif.clone();
        }
        if self.oif.is_some() {
            p.oif = self.oif.clone();
        }
        if host.known.routes || host.known.addresses {
            return (p, None);
        }
        let Some((way, ground)) = self.way.clone() else {
            return (p, None);
        };
        match way {
            Way::Forwarded if p.oif.is_none() => p.oif = Some(String::new()),
            Way::Sent => p.iif = None,
            Way::Local => p.oif = None,
            Way::Forwarded => {}
        }
        let oif = self.oif.clone();
        (p, Some(Assumed { way, ground, oif }))
    }
}

/// The way evidence set for a simulation that had no host state to route by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assumed {
    pub way: Way,
    pub ground: Ground,
    /// The output interface the evidence shows; `None` for a forwarded or sent packet:
    /// simulated with no output interface name (rules on it see none).
    pub oif: Option<String>,
}

/// How the simulation took the packet, from its routing decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulatedWay {
    Took(Way),
    /// Routing found no way (no route, forwarding off, TTL exceeded...).
    RoutingFailed,
}

/// Where the evidence and the simulation disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contradiction {
    /// The evidence shows one way, the simulation took another.
    Way {
        shown: Way,
        ground: Ground,
        simulated: SimulatedWay,
    },
    /// This host refused the packet (an ICMP error from its address `hop`), and the
    /// simulation lets it through.
    RefusedButPassed { hop: IpAddr },
}

/// The way the simulation's default branch took; `None` when it ended before routing.
pub fn simulated_way(outcome: &Outcome) -> Option<SimulatedWay> {
    let route = outcome.primary().route.as_ref()?;
    Some(match route.kind {
        RouteKind::Local => SimulatedWay::Took(Way::Local),
        RouteKind::Forward { .. } => SimulatedWay::Took(Way::Forwarded),
        RouteKind::Output { .. } => SimulatedWay::Took(Way::Sent),
        RouteKind::Failed(_) => SimulatedWay::RoutingFailed,
    })
}

/// Where the evidence and the simulation disagree: on the packet's way first, else on
/// whether this host let it through.
pub fn contradiction(implied: &Implied, outcome: &Outcome) -> Option<Contradiction> {
    if let (Some((shown, ground)), Some(simulated)) = (&implied.way, simulated_way(outcome)) {
        if simulated != SimulatedWay::Took(*shown) {
            return Some(Contradiction::Way {
                shown: *shown,
                ground: ground.clone(),
                simulated,
            });
        }
    }
    let hop = implied.refused_here?;
    let passed = outcome.decided_fate().is_some_and(|f| f.passed());
    passed.then_some(Contradiction::RefusedButPassed { hop })
}
