//! What the sender observes at the end of a walk: the answer, a refusal, an ICMP error
//! from a hop, its own send failing, or nothing at all.

use crate::hop::HopKind;
use crate::leg::{LegEnd, LegRole, Stop};
use crate::{Outcome, PathWalk};
use engine::{Cause, Errno};
use model::L4;
use std::net::IpAddr;

/// What the sending program sees.
#[derive(Debug, Clone, PartialEq)]
pub enum SenderSees {
    /// The answer arrives: an echo reply, a SYN/ACK (`connect()` succeeds), a reply
    /// datagram.
    Answer {
        /// The address it comes from.
        from: IpAddr,
    },
    /// The destination refuses: a TCP reset or an ICMP port unreachable
    /// (`ECONNREFUSED`).
    Refused {
        /// The address it comes from.
        from: IpAddr,
    },
    /// An error a hop sent reaches the sender: an ICMP error (ping prints `From ADDR ...`;
    /// a socket gets the errno the error maps to), or a firewall's reset.
    Error {
        /// The hop's address (the sender's own address for a neighbour it could not
        /// resolve itself).
        from: IpAddr,
        /// The error: `L4::Icmp`/`L4::Icmpv6` type and code, or a TCP reset.
        l4: L4,
        /// The MTU a "fragmentation needed" / "packet too big" carries.
        mtu: Option<u32>,
    },
    /// The send itself fails on the sender (its routing, its own firewall, a packet
    /// larger than its MTU with DF, no source address).
    SendFails {
        /// The errno, when the engine names one.
        errno: Option<Errno>,
        /// A packet too big for the sender's own MTU (`EMSGSIZE`, ping's "message too
        /// long, mtu=N").
        too_big: Option<u32>,
    },
    /// Nothing comes back: the program times out.
    Nothing,
    /// The walk cannot say.
    Unknown,
}

/// What the sender of `walked` sees, for the first packet it sent (a later packet, sent
/// again after path-MTU discovery, is what [`PathWalk::outcome`] is about).
pub fn sender_sees(walked: &PathWalk) -> SenderSees {
    // Sent again after path-MTU discovery: the first packet was lost on its way there,
    // and what came back for it is what the sender saw of it (`ping -c1` prints the
    // "packet too big" / "fragmentation needed").
    if walked
        .legs
        .iter()
        .skip(1)
        .any(|l| l.role == LegRole::Request)
    {
        let hop = walked.legs[0].hops.len().saturating_sub(1);
        return failed(walked, 0, hop);
    }
    match walked.outcome {
        Outcome::Works => SenderSees::Answer {
            from: answer_source(walked).unwrap_or(unspecified(walked)),
        },
        Outcome::Refused => match answer_source(walked) {
            Some(from) => SenderSees::Refused { from },
            None => SenderSees::Nothing,
        },
        Outcome::Undecided { .. } => SenderSees::Unknown,
        Outcome::Fails { leg, hop } => failed(walked, leg, hop),
    }
}

fn failed(walked: &PathWalk, leg: usize, hop: usize) -> SenderSees {
    let failing = &walked.legs[leg];
    let sender = walked
        .legs
        .first()
        .and_then(|l| l.hops.first())
        .map(|h| h.node);
    if let Some(error) = walked
        .legs
        .iter()
        .rev()
        .find(|l| l.role == LegRole::Error { about: leg })
    {
        // An error about a lost answer goes to the host that answered, not the sender.
        let at_sender = error.hops.last().map(|h| h.node) == sender;
        if error.end == LegEnd::Arrived && at_sender {
            let first = &error.hops[0];
            let mtu = failing.hops.get(hop).and_then(|h| match &h.kind {
                HopKind::Linux { outcome } => match outcome.primary().cause {
                    Some(Cause::TooBig { mtu }) => Some(mtu),
                    _ => None,
                },
                HopKind::Stub { .. } => None,
            });
            return SenderSees::Error {
                from: first.packet.src,
                l4: first.packet.l4,
                mtu,
            };
        }
        return SenderSees::Nothing;
    }
    let local = failing.role != LegRole::Answer
        && hop == 0
        && failing.hops.first().is_some_and(|h| h.arrived_on.is_none());
    match &failing.end {
        LegEnd::Stopped(Stop::NoSourceAddress) => SenderSees::SendFails {
            errno: Some(Errno::Enetunreach),
            too_big: None,
        },
        LegEnd::Stopped(Stop::TooBigToSend { mtu }) => SenderSees::SendFails {
            errno: None,
            too_big: Some(*mtu),
        },
        LegEnd::Stopped(Stop::Kernel) if local => match &failing.hops[0].kind {
            // A send the host's own path refused (its OUTPUT chain, its routing) fails
            // with an errno; one to itself lost on the way back in (its INPUT chain) was
            // sent, and nothing comes back.
            HopKind::Linux { outcome } => match outcome.primary().sender_sees.errno {
                Some(errno) => SenderSees::SendFails {
                    errno: Some(errno),
                    too_big: None,
                },
                None => SenderSees::Nothing,
            },
            HopKind::Stub { .. } => SenderSees::Nothing,
        },
        _ => SenderSees::Nothing,
    }
}

/// The source of the answer that reached the sender last (the answer leg that arrived).
fn answer_source(walked: &PathWalk) -> Option<IpAddr> {
    walked
        .legs
        .iter()
        .rev()
        .find(|l| {
            matches!(l.role, LegRole::Answer | LegRole::DataAnswer) && l.end == LegEnd::Arrived
        })
        .and_then(|l| l.hops.last())
        .map(|h| match &h.kind {
            HopKind::Linux { outcome } => outcome.primary().final_packet.src,
            HopKind::Stub { .. } => h.packet.src,
        })
}

fn unspecified(walked: &PathWalk) -> IpAddr {
    walked
        .legs
        .first()
        .and_then(|l| l.hops.first())
        .map_or(IpAddr::from([0, 0, 0, 0]), |h| h.packet.dst)
}
