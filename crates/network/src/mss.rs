//! TCP's maximum segment size along a connection: each end announces its own way out's MTU
//! less the IP and TCP headers in its SYN, and every MSS-clamping rule the SYN meets on the
//! way (`-j TCPMSS`, nft `tcp option maxseg size set`) lowers it, never raises it. A sender
//! sends segments no larger than the MSS the other end's SYN arrived with.

use crate::hop::HopKind;
use crate::leg::Leg;
use engine::Event;
use model::expr::{Action, Effect, MssClamp};
use model::topology::Topology;

/// An MTU the input does not give: Ethernet's.
const DEFAULT_MTU: u32 = 1500;

/// IP and TCP headers without options.
fn headers(v6: bool) -> u32 {
    if v6 {
        60
    } else {
        40
    }
}

/// The MSS the SYN of `leg` (a request or an answer) carries when it arrives.
pub(crate) fn on_arrival(topology: &Topology, leg: &Leg) -> u32 {
    let Some(first) = leg.hops.first() else {
        return DEFAULT_MTU - 40;
    };
    let hdr = headers(first.packet.is_ipv6());
    let out_mtu = |h: &crate::Hop| h.egress.as_ref().and_then(|e| e.mtu).unwrap_or(DEFAULT_MTU);
    let mut mss = out_mtu(first).saturating_sub(hdr);
    for hop in &leg.hops {
        let HopKind::Linux { outcome } = &hop.kind else {
            continue;
        };
        let ruleset = &topology.nodes[hop.node].ruleset;
        let in_mtu = hop
            .arrived_on
            .as_deref()
            .and_then(|i| topology.nodes[hop.node].host.interface(i))
            .and_then(|i| i.mtu)
            .unwrap_or(DEFAULT_MTU);
        for event in &outcome.primary().events {
            let Event::Rule { at, .. } = event else {
                continue;
            };
            for action in ruleset.rule_at(*at).actions() {
                let Action::Effect(Effect::ClampMss(clamp)) = action else {
                    continue;
                };
                let clamped = match clamp {
                    MssClamp::Value(v) => u32::from(*v),
                    // xt_TCPMSS: the smaller of the route's and the reverse route's MTU.
                    MssClamp::ToPmtu => out_mtu(hop).min(in_mtu).saturating_sub(hdr),
                };
                mss = mss.min(clamped);
            }
        }
    }
    mss
}

/// The IP length of a full-size data segment of `size` bytes (IP length) sent by the
/// request's sender once the answer's SYN arrived: no larger than its own way out allows,
/// nor than the MSS the answer arrived with.
pub(crate) fn segment_len(topology: &Topology, request: &Leg, answer: &Leg, size: u16) -> u16 {
    let v6 = request.hops.first().is_some_and(|h| h.packet.is_ipv6());
    let hdr = headers(v6);
    let own = request
        .hops
        .first()
        .and_then(|h| h.egress.as_ref())
        .and_then(|e| e.mtu)
        .unwrap_or(DEFAULT_MTU);
    let limit = own.min(on_arrival(topology, answer) + hdr);
    size.min(u16::try_from(limit).unwrap_or(u16::MAX))
}
