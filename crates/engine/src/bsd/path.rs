//! A BSD or Solaris host's packet path, composed from one filter's passes.
//!
//! The filters see a packet once per direction on an interface: a packet arriving is
//! filtered `in` on its interface, then delivered or routed and filtered `out` on the way
//! out; a packet the host sends is filtered `out`; a packet to the host itself crosses the
//! loopback interface `out` then `in` (when the platform filters loopback). A block's
//! answer (RST, ICMP) is sent or not as the platform does, the reply to a passed packet
//! takes the way back through the same state tables, and the sender's view follows from
//! what comes back. Data only: the report words it.

use std::net::IpAddr;

use model::expr::Undecidable;
use model::host::LinkType;
use model::packet::{TcpFlags, L4};
use model::{Host, Packet};

use super::platform::{IcmpEffect, LoopbackAnswer, Os, Platform};
use super::{BlockAnswer, Decider, Direction, Filter, FilterLog, FilterPass, PassResult};
use super::{PassVerdict, Step};
use crate::trace::{AnswerSource, Connection, Errno, Listener, Response, ResponseKind, SenderView};

/// Where the packet goes through the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// Arrives on an interface, addressed to this host.
    Local,
    /// Arrives on an interface and is routed out of another.
    Forwarded,
    /// Sent by this host to another.
    Sent,
    /// Sent by this host to itself: across the loopback interface.
    ToSelf,
}

/// Which packet a pass saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The packet asked about.
    Request,
    /// The answer a block sent back (a RST or ICMP error crossing the loopback).
    Answer,
    /// The reply to the passed packet (SYN/ACK, datagram, echo reply) on its way back.
    Reply,
}

/// One pass of the path.
#[derive(Debug, Clone, PartialEq)]
pub struct PassStep {
    /// Which packet.
    pub leg: Leg,
    /// In or out.
    pub direction: Direction,
    /// The interface.
    pub interface: String,
    /// What the filter did (for an interface the platform does not filter, a pass with
    /// [`Decider::Skipped`]).
    pub result: PassResult,
}

/// The routing decision: where the packet leaves.
#[derive(Debug, Clone, PartialEq)]
pub struct BsdRoute {
    /// The output interface.
    pub oif: String,
    /// The next hop, when not on link.
    pub gateway: Option<IpAddr>,
    /// Index into `host.routes` of the route used.
    pub route: Option<usize>,
    /// Taken from the packet spec (`out IF`) or an interface's network, not a route.
    pub assumed: bool,
    /// Chosen by the filter (pf `route-to`), not by the routing table.
    pub by_filter: bool,
}

/// Where the packet ended up.
#[derive(Debug, Clone, PartialEq)]
pub enum BsdFate {
    /// Delivered to this host; `listener` says who answers.
    Delivered {
        /// Who answers.
        listener: Listener,
    },
    /// Forwarded out of `oif`.
    Forwarded {
        /// The output interface.
        oif: String,
        /// The next hop, when not on link.
        gateway: Option<IpAddr>,
    },
    /// Sent out of `oif` by this host.
    Sent {
        /// The output interface.
        oif: String,
    },
    /// Blocked by the pass at this index of [`BsdTrace::passes`].
    Blocked {
        /// The pass.
        pass: usize,
        /// The answer the rule asked for.
        answer: Option<BlockAnswer>,
    },
    /// No route to the destination.
    NoRoute,
    /// The simulation cannot say.
    Undetermined(BsdUndetermined),
}

impl BsdTrace {
    /// What the connection experiences, seen from its sender (the ground of the answer's
    /// headline and exit status, as [`crate::Trace::connection`] is on Linux).
    pub fn connection(&self) -> Connection {
        let reply = self.reply.as_ref();
        match &self.fate {
            BsdFate::Undetermined(_) => Connection::Undecided,
            BsdFate::Delivered {
                listener: Listener::Closed,
            } => Connection::Refused,
            f if f.passed() && reply.is_some_and(|r| r.undecided_at.is_some()) => {
                Connection::Undecided
            }
            f if f.passed() && reply.is_some_and(|r| r.blocked_at.is_some()) => {
                Connection::AnswerLost
            }
            f if f.passed() => Connection::Succeeds,
            _ => Connection::Blocked,
        }
    }
}

impl BsdFate {
    /// Whether the packet got where it was going.
    pub fn passed(&self) -> bool {
        matches!(
            self,
            BsdFate::Delivered { .. } | BsdFate::Forwarded { .. } | BsdFate::Sent { .. }
        )
    }
}

/// Why a fate is undetermined.
#[derive(Debug, Clone, PartialEq)]
pub enum BsdUndetermined {
    /// A pass could not be decided offline.
    Pass {
        /// The pass (index into [`BsdTrace::passes`]).
        pass: usize,
        /// What it depends on.
        on: Undecidable,
    },
    /// The interface the packet leaves by is not known: no host routes or addresses and
    /// no `out IF` in the packet spec.
    NoInterface,
}

/// What became of a block's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerWay {
    /// What the rule asked for.
    pub asked: BlockAnswer,
    /// What happened to it.
    pub outcome: AnswerOutcome,
}

/// What happened to a block's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerOutcome {
    /// Sent to the blocked packet's source.
    Sent(Response),
    /// The blocked packet itself was turned into the answer (Solaris loopback fix).
    RewrittenInPlace(Response),
    /// Sent, and stopped by the filter on its way in (the pass at this index).
    Stopped {
        /// The answer as it was sent.
        response: Response,
        /// The pass that blocked it.
        pass: usize,
    },
    /// Whether the filter lets it in cannot be decided (the pass at this index).
    Uncertain {
        /// The answer as it was sent.
        response: Response,
        /// The pass.
        pass: usize,
    },
    /// Never sent.
    NotSent(NotSent),
}

impl AnswerOutcome {
    /// The answer that reaches the blocked packet's sender, if one does.
    pub fn delivered(&self) -> Option<&Response> {
        match self {
            AnswerOutcome::Sent(r) | AnswerOutcome::RewrittenInPlace(r) => Some(r),
            _ => None,
        }
    }
}

/// Why a block's answer is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSent {
    /// IPFilter answers only packets blocked inbound (`fr_check()`: `if (!out)`).
    BlockedOutbound,
    /// On loopback the filter has no NIC to send by, and this release does not turn the
    /// packet into the answer (Solaris 10 before the fix).
    LoopbackNoNic,
    /// The loopback fix turns only a TCP SYN or FIN into the answer.
    NotSynOrFin,
    /// A RST is never answered with a RST.
    AnswerToRst,
    /// An ICMP error is never answered with an ICMP error; IPFilter answers only ICMP
    /// queries (echo, timestamp, information, mask requests: `ipf_send_icmp_err()`).
    AnswerToIcmp,
    /// `return-rst` on a packet that is not TCP.
    RstForNonTcp,
}

/// The reply to a passed packet on its way back.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyWay {
    /// The reply as the answering side sends it.
    pub packet: Packet,
    /// The pass that blocked it (index into [`BsdTrace::passes`]), if one did.
    pub blocked_at: Option<usize>,
    /// The pass that could not be decided, if one could not.
    pub undecided_at: Option<usize>,
}

/// A fact of the platform, named when the simulation could not settle it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformFact {
    /// What an ICMP error does to a TCP client in `SYN_SENT`.
    TcpIcmp {
        /// The ICMP type.
        icmp_type: u8,
        /// The ICMP code.
        code: u8,
    },
    /// What an ICMP error does to a connected UDP socket.
    UdpIcmp {
        /// The ICMP type.
        icmp_type: u8,
        /// The ICMP code.
        code: u8,
    },
    /// What the send of a locally generated packet returns when a filter blocks it.
    BlockedSendErrno,
    /// Which ICMP error a router sends back for a packet it has no route for.
    NoRouteError,
    /// What the socket call of a packet this host has no route for returns.
    NoRouteSendErrno,
}

/// Something assumed because the input did not say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BsdAssumption {
    /// No host addresses: `in IF` taken as addressed to this host.
    LocalFromSpec,
    /// No host addresses: `in X out Y` taken as forwarded from X to Y.
    ForwardedFromSpec,
    /// No routes: the packet taken to leave by `out IF` of the packet spec.
    OutputFromSpec,
    /// Listening sockets not given: whether something answers is unknown.
    SocketsUnknown,
    /// Forwarding was not given: taken as on, as the packet spec implies.
    ForwardingAssumed {
        /// The sysctl (`net.inet.ip.forwarding`).
        key: String,
    },
    /// A platform fact the sources read did not settle: the sender's view is unknown there.
    PlatformFactUnknown(PlatformFact),
    /// The sender is another host whose system was not given: what its socket call returns
    /// is read as this platform's stack would (a Linux or Windows client differs).
    SenderStackAssumed,
    /// The answer took the behaviour of the release given (`--os`); on `other` (the same
    /// system with or without the loopback fix) it differs.
    DiffersByRelease {
        /// The release whose behaviour differs.
        other: Os,
    },
    /// The routes do not say how the reply gets back to the sender (none given, or none
    /// leads there): it is taken to leave by the interface the request came in by.
    ReplyByArrival {
        /// The reply's sender-bound destination.
        to: IpAddr,
        /// The interface the request came in by.
        interface: String,
    },
    /// A pass no IPFilter rule matched was taken as passed: the kernel as shipped; one
    /// built with `IPFILTER_DEFAULT_BLOCK` blocks it.
    IpfDefaultPass,
}

/// One simulated path through a BSD or Solaris host.
#[derive(Debug, Clone, PartialEq)]
pub struct BsdTrace {
    /// The packet as given.
    pub packet: Packet,
    /// Which way it goes through the host.
    pub kind: PathKind,
    /// Every pass, in order (request, then the answer or the reply).
    pub passes: Vec<PassStep>,
    /// The routing decision, when one was taken.
    pub route: Option<BsdRoute>,
    /// Where the packet ended up.
    pub fate: BsdFate,
    /// What became of a block's answer, when a rule asked for one.
    pub answer: Option<AnswerWay>,
    /// The reply's way back, for a passed packet that has one.
    pub reply: Option<ReplyWay>,
    /// What the sender observes.
    pub sender_sees: SenderView,
    /// The log lines written, in order.
    pub logs: Vec<FilterLog>,
    /// What had to be assumed.
    pub assumptions: Vec<BsdAssumption>,
}

/// Simulates `packet` through `host` on `platform`, filtered by `filter`.
///
/// `packet.iif` set: the packet arrives on that interface (on the loopback interface: the
/// host sent it to itself); unset: the host sends it.
pub fn simulate<F: FilterPass>(
    filter: &F,
    platform: &Platform,
    host: &Host,
    packet: &Packet,
) -> BsdTrace {
    let mut walk = Walk {
        filter,
        platform,
        host,
        state: F::State::default(),
        trace: BsdTrace {
            packet: packet.clone(),
            kind: PathKind::Local,
            passes: Vec::new(),
            route: None,
            fate: BsdFate::NoRoute,
            answer: None,
            reply: None,
            sender_sees: SenderView::default(),
            logs: Vec::new(),
            assumptions: Vec::new(),
        },
    };
    walk.run(packet);
    walk.trace
}

/// How one leg of passes ended.
enum LegEnd {
    Passed(Packet),
    Blocked(usize, Option<BlockAnswer>, Packet),
    Undecided(usize, Undecidable),
}

struct Walk<'a, F: FilterPass> {
    filter: &'a F,
    platform: &'a Platform,
    host: &'a Host,
    state: F::State,
    trace: BsdTrace,
}

impl<F: FilterPass> Walk<'_, F> {
    fn run(&mut self, packet: &Packet) {
        let lo = self.platform.os.loopback_interface().to_string();
        match packet.iif.clone() {
            Some(iif) if self.is_loopback_interface(&iif) => self.sent_to_itself(packet, &lo),
            Some(iif) => self.arriving(packet, &iif),
            None if self.is_local(packet.dst) => self.sent_to_itself(packet, &lo),
            None => self.sending(packet),
        }
        let view = &self.trace.sender_sees;
        let read_by_stack =
            view.errno.is_some() || view.timeout_secs.is_some() || view.recv_times_out;
        if matches!(self.trace.kind, PathKind::Local | PathKind::Forwarded) && read_by_stack {
            self.assume(BsdAssumption::SenderStackAssumed);
        }
    }

    /// A packet the host sends to itself: out and in on the loopback interface.
    fn sent_to_itself(&mut self, packet: &Packet, lo: &str) {
        self.trace.kind = PathKind::ToSelf;
        let request = [(Direction::Out, lo), (Direction::In, lo)];
        match self.leg(Leg::Request, packet, &request) {
            LegEnd::Passed(p) => {
                let listener = self.listener(&p);
                self.trace.fate = BsdFate::Delivered {
                    listener: listener.clone(),
                };
                self.reply(&p, &listener, &request);
            }
            end => self.stopped(end, packet),
        }
    }

    /// A packet arriving on `iif`: delivered here or forwarded.
    fn arriving(&mut self, packet: &Packet, iif: &str) {
        let after_in = match self.leg(Leg::Request, packet, &[(Direction::In, iif)]) {
            LegEnd::Passed(p) => p,
            end => {
                self.trace.kind = self.arriving_kind(packet);
                return self.stopped(end, packet);
            }
        };
        self.trace.kind = self.arriving_kind(&after_in);
        if self.trace.kind == PathKind::Local {
            let listener = self.listener(&after_in);
            self.trace.fate = BsdFate::Delivered {
                listener: listener.clone(),
            };
            let out = self.reply_interface(after_in.src, iif);
            self.reply(&after_in, &listener, &[(Direction::Out, out.as_str())]);
            return;
        }
        self.note_forwarding(&after_in);
        // pf's route-to names the interface in the in pass's packet: it leaves by that one.
        let by_filter = after_in.oif.clone().filter(|_| after_in.oif != packet.oif);
        let route = match by_filter {
            Some(oif) => Some(BsdRoute {
                oif,
                gateway: None,
                route: None,
                assumed: false,
                by_filter: true,
            }),
            None => self.route_to(after_in.dst, after_in.oif.as_deref()),
        };
        let Some(route) = route else {
            self.trace.fate = self.no_way_out();
            if self.trace.fate == BsdFate::NoRoute {
                self.trace.sender_sees = self.no_route_view(&after_in, iif);
            }
            return;
        };
        self.trace.route = Some(route.clone());
        match self.leg(Leg::Request, &after_in, &[(Direction::Out, &route.oif)]) {
            LegEnd::Passed(p) => {
                self.trace.fate = BsdFate::Forwarded {
                    oif: route.oif.clone(),
                    gateway: route.gateway,
                };
                let back = self.reply_interface(p.src, iif);
                self.remote_reply(&p, &[(Direction::In, &route.oif), (Direction::Out, &back)]);
            }
            end => self.stopped(end, packet),
        }
    }

    /// A packet the host sends to another.
    fn sending(&mut self, packet: &Packet) {
        self.trace.kind = PathKind::Sent;
        let Some(route) = self.route_to(packet.dst, packet.oif.as_deref()) else {
            self.trace.fate = self.no_way_out();
            if self.trace.fate == BsdFate::NoRoute {
                self.assume(BsdAssumption::PlatformFactUnknown(
                    PlatformFact::NoRouteSendErrno,
                ));
            }
            return;
        };
        self.trace.route = Some(route.clone());
        match self.leg(Leg::Request, packet, &[(Direction::Out, &route.oif)]) {
            LegEnd::Passed(p) => {
                self.trace.fate = BsdFate::Sent {
                    oif: route.oif.clone(),
                };
                self.remote_reply(&p, &[(Direction::In, &route.oif)]);
            }
            end => self.stopped(end, packet),
        }
    }

    /// Runs `packet` through the passes in order; each pass sees the packet as the
    /// previous one left it (NAT).
    fn leg(&mut self, leg: Leg, packet: &Packet, passes: &[(Direction, &str)]) -> LegEnd {
        let mut current = packet.clone();
        for &(direction, interface) in passes {
            let result = if self.is_loopback_interface(interface)
                && !self.platform.filters_loopback(self.filter.filter())
            {
                skipped(&current, interface)
            } else {
                self.filter
                    .pass(&current, direction, interface, &mut self.state)
            };
            if self.filter.filter() == Filter::Ipf && result.decider == Decider::Default {
                self.assume(BsdAssumption::IpfDefaultPass);
            }
            self.trace.logs.extend(result.logs.iter().cloned());
            let index = self.trace.passes.len();
            let verdict = result.verdict.clone();
            let after = result.packet.clone();
            self.trace.passes.push(PassStep {
                leg,
                direction,
                interface: interface.to_string(),
                result,
            });
            match verdict {
                PassVerdict::Pass => current = after,
                PassVerdict::Block { answer } => return LegEnd::Blocked(index, answer, current),
                PassVerdict::Undetermined { on } => return LegEnd::Undecided(index, on),
            }
        }
        LegEnd::Passed(current)
    }

    /// The request stopped: the fate, the block's answer and what the sender sees.
    fn stopped(&mut self, end: LegEnd, original: &Packet) {
        match end {
            LegEnd::Passed(_) => {}
            LegEnd::Undecided(pass, on) => {
                self.trace.fate = BsdFate::Undetermined(BsdUndetermined::Pass { pass, on });
            }
            LegEnd::Blocked(pass, answer, blocked) => {
                self.trace.fate = BsdFate::Blocked { pass, answer };
                let step = &self.trace.passes[pass];
                let (direction, interface) = (step.direction, step.interface.clone());
                if let Some(asked) = answer {
                    let outcome = self.answer(asked, &blocked, direction, &interface);
                    self.trace.answer = Some(AnswerWay { asked, outcome });
                }
                let local_sender = matches!(self.trace.kind, PathKind::Sent | PathKind::ToSelf);
                self.trace.sender_sees = if local_sender && direction == Direction::Out {
                    self.blocked_send_view()
                } else {
                    let response = self
                        .trace
                        .answer
                        .as_ref()
                        .and_then(|a| a.outcome.delivered().cloned());
                    self.view_of(original, response)
                };
            }
        }
    }

    /// What becomes of the answer `asked` to `blocked`, blocked `direction` on `interface`.
    fn answer(
        &mut self,
        asked: BlockAnswer,
        blocked: &Packet,
        direction: Direction,
        interface: &str,
    ) -> AnswerOutcome {
        let filter = self.filter.filter();
        if filter == Filter::Ipf && direction == Direction::Out {
            return AnswerOutcome::NotSent(NotSent::BlockedOutbound);
        }
        let tcp_flags = match blocked.l4 {
            L4::Tcp { flags, .. } => Some(flags),
            _ => None,
        };
        match asked {
            BlockAnswer::Rst if tcp_flags.is_none() => {
                return AnswerOutcome::NotSent(NotSent::RstForNonTcp)
            }
            BlockAnswer::Rst if tcp_flags.is_some_and(|f| f.contains(TcpFlags::RST)) => {
                return AnswerOutcome::NotSent(NotSent::AnswerToRst)
            }
            BlockAnswer::Icmp { .. } if !answers_icmp(filter, &blocked.l4) => {
                return AnswerOutcome::NotSent(NotSent::AnswerToIcmp)
            }
            _ => {}
        }
        if !self.is_loopback_interface(interface) {
            let from = self.answer_source(asked, blocked, interface);
            return AnswerOutcome::Sent(response(asked, blocked, from));
        }
        if let Some(other) = self.platform.os.other_loopback_release() {
            self.assume(BsdAssumption::DiffersByRelease { other });
        }
        match self.platform.os.loopback_answer(filter) {
            LoopbackAnswer::Dropped => AnswerOutcome::NotSent(NotSent::LoopbackNoNic),
            LoopbackAnswer::RewrittenInPlace => {
                let syn_or_fin = TcpFlags(TcpFlags::SYN.0 | TcpFlags::FIN.0);
                if tcp_flags.is_some_and(|f| f.0 & syn_or_fin.0 == 0) {
                    return AnswerOutcome::NotSent(NotSent::NotSynOrFin);
                }
                // fr_make_icmp_v4(): return-icmp-as-dest makes no difference here, the
                // answer always comes from the blocked packet's destination.
                let from = AnswerSource::Addr(blocked.dst);
                AnswerOutcome::RewrittenInPlace(response(asked, blocked, from))
            }
            LoopbackAnswer::Sent { refiltered_in } => {
                let from = self.answer_source(asked, blocked, interface);
                let sent = response(asked, blocked, from);
                if !refiltered_in {
                    return AnswerOutcome::Sent(sent);
                }
                let answer_packet = answer_packet(&sent, blocked, interface);
                match self.leg(Leg::Answer, &answer_packet, &[(Direction::In, interface)]) {
                    LegEnd::Passed(_) => AnswerOutcome::Sent(sent),
                    LegEnd::Blocked(pass, ..) => AnswerOutcome::Stopped {
                        response: sent,
                        pass,
                    },
                    LegEnd::Undecided(pass, _) => AnswerOutcome::Uncertain {
                        response: sent,
                        pass,
                    },
                }
            }
        }
    }

    /// The address an answer comes from: a RST from the blocked packet's destination (the
    /// filter swaps the addresses); an ICMP error from the destination when asked
    /// (`return-icmp-as-dest`) or when it is this host's (pf: `icmp_reflect()`), else from
    /// an address of the interface the packet came in by (IPFilter: the blocking pass's
    /// interface, `fin_ifp`, always an inbound one; pf: the receiving interface).
    fn answer_source(&self, asked: BlockAnswer, blocked: &Packet, interface: &str) -> AnswerSource {
        let interface = match (self.filter.filter(), self.trace.packet.iif.as_deref()) {
            (Filter::Pf, Some(arrived_on)) => arrived_on,
            _ => interface,
        };
        match asked {
            BlockAnswer::Rst => AnswerSource::Addr(blocked.dst),
            BlockAnswer::Icmp { as_dest: true, .. } => AnswerSource::Addr(blocked.dst),
            BlockAnswer::Icmp { .. } => {
                if self.filter.filter() == Filter::Pf && self.is_local(blocked.dst) {
                    return AnswerSource::Addr(blocked.dst);
                }
                let v4 = blocked.src.is_ipv4();
                self.host
                    .interface(interface)
                    .and_then(|i| i.addrs.iter().find(|a| a.addr.is_ipv4() == v4))
                    .map(|a| AnswerSource::Addr(a.addr))
                    .unwrap_or_else(|| AnswerSource::RouteBack {
                        via: Some(interface.to_string()),
                    })
            }
        }
    }

    /// The reply of a packet delivered here, out (and, on loopback, in) by `way`.
    fn reply(&mut self, delivered: &Packet, listener: &Listener, way: &[(Direction, &str)]) {
        let reply_packet = match listener {
            Listener::Closed => stack_refusal(delivered),
            Listener::Open(_) | Listener::Unknown => reply_to(delivered),
        };
        let Some(reply_packet) = reply_packet else {
            self.trace.sender_sees = self.delivered_view(delivered, listener, None);
            return;
        };
        let way = self.reply_leg(reply_packet, way);
        self.trace.sender_sees = self.delivered_view(
            delivered,
            listener,
            Some((way.blocked_at, way.undecided_at)),
        );
        self.trace.reply = Some(way);
    }

    /// Runs the reply back by `way`.
    fn reply_leg(&mut self, packet: Packet, way: &[(Direction, &str)]) -> ReplyWay {
        let (blocked_at, undecided_at) = match self.leg(Leg::Reply, &packet, way) {
            LegEnd::Passed(_) => (None, None),
            LegEnd::Blocked(i, ..) => (Some(i), None),
            LegEnd::Undecided(i, _) => (None, Some(i)),
        };
        ReplyWay {
            packet,
            blocked_at,
            undecided_at,
        }
    }

    /// The reply of the far side, back through this host by `way`: whether the far side
    /// answers is not this host's to say, only whether its answer gets through.
    fn remote_reply(&mut self, sent: &Packet, way: &[(Direction, &str)]) {
        let Some(reply_packet) = reply_to(sent) else {
            return;
        };
        let way = self.reply_leg(reply_packet, way);
        if way.blocked_at.is_some() {
            self.trace.sender_sees = self.silence_view(sent);
        }
        self.trace.reply = Some(way);
    }

    /// What the sender of a packet delivered here sees.
    fn delivered_view(
        &mut self,
        delivered: &Packet,
        listener: &Listener,
        reply: Option<(Option<usize>, Option<usize>)>,
    ) -> SenderView {
        if matches!(reply, Some((Some(_), _))) {
            return self.silence_view(delivered);
        }
        match listener {
            Listener::Unknown => {
                self.assume(BsdAssumption::SocketsUnknown);
                SenderView {
                    depends_on_listener: true,
                    ..SenderView::default()
                }
            }
            Listener::Open(_) => SenderView {
                response: matches!(delivered.l4, L4::Tcp { .. }).then(|| Response {
                    kind: ResponseKind::SynAck,
                    from: AnswerSource::Addr(delivered.dst),
                    to: delivered.src,
                    by_stack: false,
                }),
                ..SenderView::default()
            },
            Listener::Closed => {
                let Some(refusal) = stack_refusal(delivered) else {
                    return SenderView::default();
                };
                let kind = response_kind(&refusal.l4);
                let mut view = self.view_of(
                    delivered,
                    kind.map(|kind| Response {
                        kind,
                        from: AnswerSource::Addr(delivered.dst),
                        to: delivered.src,
                        by_stack: true,
                    }),
                );
                if let Some(r) = view.response.as_mut() {
                    r.by_stack = true;
                }
                view
            }
        }
    }

    /// What the sender of `packet` sees when `response` comes back (or nothing does).
    fn view_of(&mut self, packet: &Packet, response: Option<Response>) -> SenderView {
        let Some(response) = response else {
            return self.silence_view(packet);
        };
        let os = self.platform.os;
        let v6 = packet.dst.is_ipv6();
        let mut view = SenderView {
            response: Some(response.clone()),
            ..SenderView::default()
        };
        let (icmp_type, code) = match response.kind {
            ResponseKind::TcpRst => {
                view.errno = Some(Errno::Econnrefused);
                return view;
            }
            ResponseKind::SynAck => return view,
            ResponseKind::Icmp { icmp_type, code } | ResponseKind::Icmpv6 { icmp_type, code } => {
                (icmp_type, code)
            }
        };
        match packet.l4 {
            L4::Tcp { .. } => match os.tcp_icmp_effect(v6, icmp_type, code) {
                IcmpEffect::Immediate(errno) => view.errno = Some(errno),
                IcmpEffect::Soft(errno) => {
                    view.errno = Some(errno);
                    view.errno_after_secs = Some(os.soft_error_after_secs());
                }
                IcmpEffect::Ignored => {
                    view.errno = Some(Errno::Etimedout);
                    view.timeout_secs = Some(os.connect_timeout_secs());
                }
                IcmpEffect::Unknown => {
                    self.assume(BsdAssumption::PlatformFactUnknown(PlatformFact::TcpIcmp {
                        icmp_type,
                        code,
                    }))
                }
            },
            L4::Udp { .. } => match os.udp_icmp_errno(v6, icmp_type, code) {
                IcmpEffect::Immediate(errno) | IcmpEffect::Soft(errno) => view.errno = Some(errno),
                IcmpEffect::Ignored => view.recv_times_out = true,
                IcmpEffect::Unknown => {
                    self.assume(BsdAssumption::PlatformFactUnknown(PlatformFact::UdpIcmp {
                        icmp_type,
                        code,
                    }))
                }
            },
            _ => {}
        }
        view
    }

    /// Nothing comes back: a TCP client retries until its timeout, a UDP one waits.
    fn silence_view(&self, packet: &Packet) -> SenderView {
        match packet.l4 {
            L4::Tcp { .. } => SenderView {
                errno: Some(Errno::Etimedout),
                timeout_secs: Some(self.platform.os.connect_timeout_secs()),
                ..SenderView::default()
            },
            L4::Udp { .. } => SenderView {
                recv_times_out: true,
                ..SenderView::default()
            },
            _ => SenderView::default(),
        }
    }

    /// What the sender of a packet this router has no route for sees: the platform's ICMP
    /// error, from this host's address on `iif`, filtered out on `iif` as it leaves.
    fn no_route_view(&mut self, packet: &Packet, iif: &str) -> SenderView {
        let Some((icmp_type, code)) = self.platform.os.no_route_error(packet.dst.is_ipv6()) else {
            self.assume(BsdAssumption::PlatformFactUnknown(
                PlatformFact::NoRouteError,
            ));
            return SenderView::default();
        };
        let error = BlockAnswer::Icmp {
            icmp_type,
            code,
            as_dest: false,
        };
        let from = self.answer_source(error, packet, iif);
        let sent = Response {
            by_stack: true,
            ..response(error, packet, from)
        };
        let mut error_packet = answer_packet(&sent, packet, iif);
        error_packet.iif = None;
        match self.leg(Leg::Answer, &error_packet, &[(Direction::Out, iif)]) {
            LegEnd::Passed(_) => self.view_of(packet, Some(sent)),
            LegEnd::Blocked(..) => self.silence_view(packet),
            LegEnd::Undecided(..) => SenderView::default(),
        }
    }

    /// A packet this host sends, blocked on its way out: the send itself fails.
    fn blocked_send_view(&mut self) -> SenderView {
        match self.platform.os.blocked_send_errno() {
            Some(errno) => SenderView {
                errno: Some(errno),
                errno_on_send: true,
                ..SenderView::default()
            },
            None => {
                self.assume(BsdAssumption::PlatformFactUnknown(
                    PlatformFact::BlockedSendErrno,
                ));
                let response = self
                    .trace
                    .answer
                    .as_ref()
                    .and_then(|a| a.outcome.delivered().cloned());
                // The errno stays unknown; an answer pf sent back is still what arrives.
                SenderView {
                    response,
                    ..SenderView::default()
                }
            }
        }
    }

    /// Who answers a packet delivered here.
    fn listener(&mut self, packet: &Packet) -> Listener {
        let Some((_, dport)) = packet.l4.ports() else {
            return Listener::Unknown;
        };
        if !self.host.known.sockets {
            return Listener::Unknown;
        }
        let proto = packet.l4.proto();
        self.host
            .sockets
            .iter()
            .find(|s| {
                s.proto == proto
                    && s.port == dport
                    && (s.addr == packet.dst
                        || s.addr.is_unspecified()
                            && (s.addr.is_ipv4() == packet.dst.is_ipv4() || s.dual_stack))
            })
            .map(|s| Listener::Open(s.clone()))
            .unwrap_or(Listener::Closed)
    }

    /// Local or forwarded, for a packet that arrived (after the in pass's NAT).
    fn arriving_kind(&mut self, packet: &Packet) -> PathKind {
        if self.host.known.addresses {
            return if self.is_local(packet.dst) {
                PathKind::Local
            } else {
                PathKind::Forwarded
            };
        }
        if packet.oif.is_some() {
            self.assume(BsdAssumption::ForwardedFromSpec);
            PathKind::Forwarded
        } else {
            self.assume(BsdAssumption::LocalFromSpec);
            PathKind::Local
        }
    }

    /// Forwarding is off by default on every one of these systems; without the host's
    /// setting, the packet spec's forwarding is taken as meant.
    fn note_forwarding(&mut self, packet: &Packet) {
        let key = if packet.dst.is_ipv4() {
            "net.inet.ip.forwarding"
        } else {
            "net.inet6.ip6.forwarding"
        };
        if !self.host.sysctls.is_set(key) {
            self.assume(BsdAssumption::ForwardingAssumed {
                key: key.to_string(),
            });
        }
    }

    /// The longest-prefix route to `dst` in the host's table; without routes, the
    /// interface whose network holds `dst`, then `given` (the packet spec's `out IF`).
    fn route_to(&mut self, dst: IpAddr, given: Option<&str>) -> Option<BsdRoute> {
        if self.host.known.routes {
            // A route without a device (Solaris lists the default route so) leaves by the
            // interface its gateway is on.
            let best = self
                .host
                .routes
                .iter()
                .enumerate()
                .filter_map(|(index, r)| {
                    let dev = r.dev.clone().or_else(|| {
                        let gateway = r.gateway?;
                        self.host
                            .interfaces
                            .iter()
                            .find(|i| i.addrs.iter().any(|a| a.network().contains(&gateway)))
                            .map(|i| i.name.clone())
                    })?;
                    r.dst.contains(&dst).then_some((index, r, dev))
                })
                .max_by_key(|(_, r, _)| (r.dst.prefix_len(), std::cmp::Reverse(r.metric)));
            return best.map(|(index, r, oif)| BsdRoute {
                oif,
                gateway: r.gateway,
                route: Some(index),
                assumed: false,
                by_filter: false,
            });
        }
        let on_link = self.host.interfaces.iter().find(|i| {
            i.link != LinkType::Loopback && i.addrs.iter().any(|a| a.network().contains(&dst))
        });
        if let Some(interface) = on_link {
            return Some(BsdRoute {
                oif: interface.name.clone(),
                gateway: None,
                route: None,
                assumed: true,
                by_filter: false,
            });
        }
        let given = given?;
        self.assume(BsdAssumption::OutputFromSpec);
        Some(BsdRoute {
            oif: given.to_string(),
            gateway: None,
            route: None,
            assumed: true,
            by_filter: false,
        })
    }

    /// The interface a reply to `sender` leaves by: the route back to it, else (assumed,
    /// and said) the interface the request arrived on, `iif`.
    fn reply_interface(&mut self, sender: IpAddr, iif: &str) -> String {
        if let Some(route) = self.route_to(sender, None) {
            return route.oif;
        }
        self.assume(BsdAssumption::ReplyByArrival {
            to: sender,
            interface: iif.to_string(),
        });
        iif.to_string()
    }

    /// No route: known routes without one are a real "no route"; otherwise the way out
    /// is just not known.
    fn no_way_out(&self) -> BsdFate {
        if self.host.known.routes {
            BsdFate::NoRoute
        } else {
            BsdFate::Undetermined(BsdUndetermined::NoInterface)
        }
    }

    fn is_local(&self, addr: IpAddr) -> bool {
        addr.is_loopback() || self.host.owner_of(addr).is_some()
    }

    fn is_loopback_interface(&self, name: &str) -> bool {
        match self.host.interface(name) {
            Some(i) => i.link == LinkType::Loopback,
            None => name == self.platform.os.loopback_interface(),
        }
    }

    fn assume(&mut self, assumption: BsdAssumption) {
        if !self.trace.assumptions.contains(&assumption) {
            self.trace.assumptions.push(assumption);
        }
    }
}

/// A pass on an interface the platform does not filter.
fn skipped(packet: &Packet, interface: &str) -> PassResult {
    PassResult {
        verdict: PassVerdict::Pass,
        decider: Decider::Skipped {
            interface: interface.to_string(),
        },
        packet: packet.clone(),
        steps: Vec::<Step>::new(),
        logs: Vec::new(),
        keeps_state: false,
    }
}

/// The answer as a packet kind sent to `blocked`'s source.
fn response(asked: BlockAnswer, blocked: &Packet, from: AnswerSource) -> Response {
    let kind = match asked {
        BlockAnswer::Rst => ResponseKind::TcpRst,
        BlockAnswer::Icmp {
            icmp_type, code, ..
        } if blocked.dst.is_ipv6() => ResponseKind::Icmpv6 { icmp_type, code },
        BlockAnswer::Icmp {
            icmp_type, code, ..
        } => ResponseKind::Icmp { icmp_type, code },
    };
    Response {
        kind,
        from,
        to: blocked.src,
        by_stack: false,
    }
}

/// The answer as a packet arriving on the loopback interface.
fn answer_packet(sent: &Response, blocked: &Packet, interface: &str) -> Packet {
    let from = sent.from.addr().unwrap_or(blocked.dst);
    let l4 = match (sent.kind, blocked.l4) {
        (ResponseKind::TcpRst, L4::Tcp { sport, dport, .. }) => L4::Tcp {
            sport: dport,
            dport: sport,
            flags: TcpFlags(TcpFlags::RST.0 | TcpFlags::ACK.0),
        },
        (ResponseKind::Icmpv6 { icmp_type, code }, _) => L4::Icmpv6 {
            icmp_type,
            code,
            id: 0,
        },
        (ResponseKind::Icmp { icmp_type, code }, _) => L4::Icmp {
            icmp_type,
            code,
            id: 0,
        },
        (_, l4) => l4,
    };
    let mut p = Packet::new(from, blocked.src, l4);
    p.iif = Some(interface.to_string());
    p
}

/// The reply a listening peer sends (SYN/ACK to a SYN, the same flow back for UDP, an echo
/// reply to an echo request); `None` for what gets no reply (a RST, other ICMP).
fn reply_to(packet: &Packet) -> Option<Packet> {
    let answered = match packet.l4 {
        L4::Tcp { flags, .. } => !flags.contains(TcpFlags::RST),
        L4::Udp { .. } | L4::Sctp { .. } => true,
        L4::Icmp { icmp_type, .. } => icmp_type == 8,
        L4::Icmpv6 { icmp_type, .. } => icmp_type == 128,
        L4::Other(_) => false,
    };
    answered.then(|| crate::linux::nat::reply_to(packet))
}

/// What the stack sends when nothing listens: a RST to TCP, ICMP port unreachable to UDP.
fn stack_refusal(packet: &Packet) -> Option<Packet> {
    let l4 = match packet.l4 {
        L4::Tcp { sport, dport, .. } => L4::Tcp {
            sport: dport,
            dport: sport,
            flags: TcpFlags(TcpFlags::RST.0 | TcpFlags::ACK.0),
        },
        L4::Udp { .. } if packet.dst.is_ipv6() => L4::Icmpv6 {
            icmp_type: 1,
            code: 4,
            id: 0,
        },
        L4::Udp { .. } => L4::Icmp {
            icmp_type: 3,
            code: 3,
            id: 0,
        },
        _ => return None,
    };
    Some(Packet::new(packet.dst, packet.src, l4))
}

fn response_kind(l4: &L4) -> Option<ResponseKind> {
    match *l4 {
        L4::Tcp { .. } => Some(ResponseKind::TcpRst),
        L4::Icmp {
            icmp_type, code, ..
        } => Some(ResponseKind::Icmp { icmp_type, code }),
        L4::Icmpv6 {
            icmp_type, code, ..
        } => Some(ResponseKind::Icmpv6 { icmp_type, code }),
        _ => None,
    }
}

/// Whether `filter` answers this ICMP message with an ICMP error: never an error
/// (destination unreachable, time exceeded, ...); IPFilter only the IPv4 queries.
fn answers_icmp(filter: Filter, l4: &L4) -> bool {
    match *l4 {
        L4::Icmp { icmp_type, .. } if filter == Filter::Ipf => {
            matches!(icmp_type, 8 | 13 | 15 | 17)
        }
        L4::Icmp { icmp_type, .. } => !matches!(icmp_type, 3 | 4 | 5 | 11 | 12),
        L4::Icmpv6 { icmp_type, .. } => icmp_type >= 128,
        _ => true,
    }
}
