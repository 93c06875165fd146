//! The BSD/Solaris host path (`engine::bsd::path`) with a small filter of its own: a few
//! IPFilter-like rules (last match wins, `quick` ends the walk, `keep state` lets the flow's
//! packets pass both ways), until the real IPFilter and pf passes are merged.
//!
//! What is asserted is the path's part: which passes run in which order, the platform's
//! answer on loopback (user story 7's four behaviours), where an answer comes from, the
//! reply's way back with and without state, and the sender's view per system.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use engine::bsd::path::{AnswerOutcome, BsdAssumption, BsdFate, Leg, NotSent, PathKind};
use engine::bsd::path::{PathKind as Kind, PlatformFact};
use engine::bsd::{
    simulate, BlockAnswer, BsdTrace, Decider, Direction, Filter, FilterLog, FilterPass, Os,
    PassResult, PassVerdict, Platform, RuleId, Step,
};
use engine::{AnswerSource, Errno, Listener, ResponseKind};
use model::host::{IfAddr, Interface, LinkType, Route, Socket};
use model::packet::{IpProto, L4};
use model::{Host, Origin, Packet};

/// One rule of the test filter, written `block in quick on lo0 proto tcp port 22
/// return-rst` (action, direction, then options in any order).
#[derive(Debug, Clone)]
struct Rule {
    text: String,
    line: u32,
    pass: bool,
    direction: Direction,
    quick: bool,
    on: Option<String>,
    proto: Option<IpProto>,
    dport: Option<u16>,
    answer: Option<BlockAnswer>,
    keep_state: bool,
    log: bool,
}

fn rule(line: u32, text: &str) -> Rule {
    let w: Vec<&str> = text.split_whitespace().collect();
    let mut r = Rule {
        text: text.to_string(),
        line,
        pass: w[0] == "pass",
        direction: if w[1] == "in" {
            Direction::In
        } else {
            Direction::Out
        },
        quick: false,
        on: None,
        proto: None,
        dport: None,
        answer: None,
        keep_state: false,
        log: false,
    };
    let mut i = 2;
    while i < w.len() {
        match w[i] {
            "quick" => r.quick = true,
            "log" => r.log = true,
            "keep-state" => r.keep_state = true,
            "return-rst" => r.answer = Some(BlockAnswer::Rst),
            "on" => {
                r.on = Some(w[i + 1].to_string());
                i += 1;
            }
            "proto" => {
                r.proto = IpProto::from_name(w[i + 1]);
                i += 1;
            }
            "port" => {
                r.dport = w[i + 1].parse().ok();
                i += 1;
            }
            "return-icmp" | "return-icmp-as-dest" => {
                let (icmp_type, code) = w[i + 1].split_once('/').expect("TYPE/CODE");
                r.answer = Some(BlockAnswer::Icmp {
                    icmp_type: icmp_type.parse().unwrap(),
                    code: code.parse().unwrap(),
                    as_dest: w[i] == "return-icmp-as-dest",
                });
                i += 1;
            }
            other => panic!("test rule word {other}"),
        }
        i += 1;
    }
    r
}

/// The test filter: its rules and which filter it stands for.
struct TestFilter {
    kind: Filter,
    rules: Vec<Rule>,
}

fn filter(kind: Filter, rules: &[&str]) -> TestFilter {
    TestFilter {
        kind,
        rules: rules
            .iter()
            .enumerate()
            .map(|(i, t)| rule(i as u32 + 1, t))
            .collect(),
    }
}

/// A flow both ways: protocol and the two ends, smaller end first.
type Flow = (u8, (IpAddr, u16), (IpAddr, u16));

fn flow(p: &Packet) -> Flow {
    let (sport, dport) = p.l4.ports().unwrap_or((0, 0));
    let (a, b) = ((p.src, sport), (p.dst, dport));
    (p.l4.proto().number(), a.min(b), a.max(b))
}

impl Rule {
    fn id(&self) -> RuleId {
        RuleId {
            origin: Origin {
                file: Arc::from("test.rules"),
                line: self.line,
                text: Arc::from(self.text.as_str()),
                ..Origin::default()
            },
            number: Some(self.line - 1),
            group: None,
        }
    }

    fn matches(&self, p: &Packet, direction: Direction, interface: &str) -> bool {
        self.direction == direction
            && self.on.as_deref().is_none_or(|on| on == interface)
            && self.proto.is_none_or(|proto| proto == p.l4.proto())
            && self
                .dport
                .is_none_or(|port| p.l4.ports().is_some_and(|(_, d)| d == port))
    }
}

impl FilterPass for TestFilter {
    type State = HashSet<Flow>;

    fn filter(&self) -> Filter {
        self.kind
    }

    fn pass(
        &self,
        packet: &Packet,
        direction: Direction,
        interface: &str,
        state: &mut HashSet<Flow>,
    ) -> PassResult {
        let mut result = PassResult {
            verdict: PassVerdict::Pass,
            decider: Decider::Default,
            packet: packet.clone(),
            steps: Vec::new(),
            logs: Vec::new(),
            keeps_state: false,
        };
        if state.contains(&flow(packet)) {
            result.decider = Decider::State { created_by: None };
            result.steps.push(Step::State { created_by: None });
            return result;
        }
        let mut last: Option<&Rule> = None;
        for r in &self.rules {
            let matched = r.matches(packet, direction, interface);
            result.steps.push(Step::Rule {
                rule: r.id(),
                matched: Some(matched),
                remembered: matched && !r.quick,
            });
            if matched {
                last = Some(r);
                if r.quick {
                    break;
                }
            }
        }
        let Some(r) = last else {
            return result;
        };
        result.decider = Decider::Rule(r.id());
        if r.log {
            result.logs.push(FilterLog {
                by: r.id(),
                text: format!(
                    "{interface} @0:{} {}",
                    r.line,
                    if r.pass { "p" } else { "b" }
                ),
            });
        }
        if r.pass {
            if r.keep_state {
                state.insert(flow(packet));
                result.keeps_state = true;
            }
        } else {
            result.verdict = PassVerdict::Block { answer: r.answer };
        }
        result
    }
}

fn packet(spec: &str) -> Packet {
    frontends::packet_spec::packet(spec).unwrap_or_else(|e| panic!("{e}"))
}

fn iface(name: &str, link: LinkType, addrs: &[(&str, u8)]) -> Interface {
    Interface {
        name: name.to_string(),
        link,
        up: true,
        addrs: addrs
            .iter()
            .map(|(a, len)| IfAddr {
                addr: a.parse().unwrap(),
                prefix_len: *len,
                scope: Default::default(),
                broadcast: None,
                temporary: false,
                secondary: false,
                deprecated: false,
                dad: Default::default(),
            })
            .collect(),
        ..Interface::default()
    }
}

fn route(dst: &str, gateway: Option<&str>, dev: &str) -> Route {
    Route {
        table: 254,
        dst: dst.parse().unwrap(),
        route_type: Default::default(),
        gateway: gateway.map(|g| g.parse().unwrap()),
        dev: Some(dev.to_string()),
        prefsrc: None,
        metric: 0,
        scope: Default::default(),
        protocol: None,
        nexthops: Vec::new(),
        text: format!("{dst} {dev}"),
    }
}

/// A router: em0 192.0.2.1/24 and 2001:db8::1/64 outside, em1 198.51.100.1/24 inside,
/// lo0, a default route out of em0; sshd listens on port 22.
fn router() -> Host {
    let mut host = Host {
        interfaces: vec![
            iface("lo0", LinkType::Loopback, &[("127.0.0.1", 8), ("::1", 128)]),
            iface(
                "em0",
                LinkType::Ether,
                &[("192.0.2.1", 24), ("2001:db8::1", 64)],
            ),
            iface("em1", LinkType::Ether, &[("198.51.100.1", 24)]),
        ],
        routes: vec![
            route("0.0.0.0/0", Some("192.0.2.254"), "em0"),
            route("192.0.2.0/24", None, "em0"),
            route("198.51.100.0/24", None, "em1"),
            route("2001:db8::/64", None, "em0"),
        ],
        sockets: vec![Socket {
            proto: IpProto::Tcp,
            addr: "0.0.0.0".parse().unwrap(),
            port: 22,
            device: None,
            process: None,
            dual_stack: false,
        }],
        ..Host::default()
    };
    host.known.addresses = true;
    host.known.routes = true;
    host.known.sockets = true;
    host
}

fn run(f: &TestFilter, os: Os, intercept: bool, host: &Host, spec: &str) -> BsdTrace {
    let platform = Platform {
        os,
        intercept_loopback: intercept,
    };
    simulate(f, &platform, host, &packet(spec))
}

/// `run` on the [`router`], without loopback interception.
fn on_router(f: &TestFilter, os: Os, spec: &str) -> BsdTrace {
    run(f, os, false, &router(), spec)
}

/// (leg, direction, interface) of every pass, in order.
fn passes(t: &BsdTrace) -> Vec<(Leg, Direction, &str)> {
    t.passes
        .iter()
        .map(|p| (p.leg, p.direction, p.interface.as_str()))
        .collect()
}

const LOOPBACK_SSH: &str = "tcp 127.0.0.1:40000 127.0.0.1:22 in lo0";
const RST_LOOPBACK_SSH: &str = "block in quick on lo0 proto tcp port 22 return-rst";

#[test]
fn forwarded_packet_is_filtered_in_then_out_and_its_reply_back() {
    let f = filter(Filter::Ipf, &[]);
    let t = on_router(
        &f,
        Os::FreeBsd,
        "tcp 192.0.2.9:50000 198.51.100.7:443 in em0",
    );
    assert_eq!(t.kind, PathKind::Forwarded);
    assert_eq!(
        t.fate,
        BsdFate::Forwarded {
            oif: "em1".into(),
            gateway: None
        }
    );
    assert_eq!(
        passes(&t),
        [
            (Leg::Request, Direction::In, "em0"),
            (Leg::Request, Direction::Out, "em1"),
            (Leg::Reply, Direction::In, "em1"),
            (Leg::Reply, Direction::Out, "em0"),
        ]
    );
    assert_eq!(t.route.as_ref().and_then(|r| r.route), Some(2));
    assert!(t.assumptions.contains(&BsdAssumption::ForwardingAssumed {
        key: "net.inet.ip.forwarding".into()
    }));
    assert_eq!(t.reply.as_ref().map(|r| r.blocked_at), Some(None));
    assert_eq!(t.connection(), engine::Connection::Succeeds);
}

#[test]
fn pf_answers_a_forwarded_packet_blocked_outbound_from_the_receiving_interface() {
    let f = filter(
        Filter::Pf,
        &["block out quick on em1 proto tcp port 443 return-icmp 3/13"],
    );
    let t = on_router(
        &f,
        Os::FreeBsd,
        "tcp 192.0.2.9:50000 198.51.100.7:443 in em0",
    );
    assert_eq!(t.connection(), engine::Connection::Blocked);
    let response = t.answer.unwrap().outcome.delivered().cloned().unwrap();
    assert_eq!(
        response.from,
        AnswerSource::Addr("192.0.2.1".parse().unwrap())
    );
}

#[test]
fn forwarded_block_answers_from_the_inbound_interface_and_each_system_reads_it_its_way() {
    let f = filter(
        Filter::Ipf,
        &["block in quick on em0 proto tcp port 443 return-icmp 3/13 log"],
    );
    let spec = "tcp 192.0.2.9:50000 198.51.100.7:443 in em0";
    let bsd = on_router(&f, Os::FreeBsd, spec);
    assert_eq!(
        bsd.fate,
        BsdFate::Blocked {
            pass: 0,
            answer: Some(BlockAnswer::Icmp {
                icmp_type: 3,
                code: 13,
                as_dest: false
            })
        }
    );
    let answer = bsd.answer.as_ref().unwrap();
    let AnswerOutcome::Sent(response) = &answer.outcome else {
        panic!("{answer:?}")
    };
    assert_eq!(
        response.from,
        AnswerSource::Addr("192.0.2.1".parse().unwrap())
    );
    assert_eq!(
        response.kind,
        ResponseKind::Icmp {
            icmp_type: 3,
            code: 13
        }
    );
    // FreeBSD: admin prohibited drops the SYN_SENT connection at once.
    assert_eq!(bsd.sender_sees.errno, Some(Errno::Econnrefused));
    assert_eq!(bsd.logs.len(), 1);
    assert_eq!(bsd.logs[0].text, "em0 @0:1 b");
    assert!(bsd.assumptions.contains(&BsdAssumption::SenderStackAssumed));
    // illumos ignores code 13: the client retries for tcp_ip_abort_cinterval.
    let illumos = on_router(&f, Os::Illumos, spec);
    assert_eq!(illumos.sender_sees.errno, Some(Errno::Etimedout));
    assert_eq!(illumos.sender_sees.timeout_secs, Some(180));
    // OpenBSD's reading of ICMP by TCP was not settled: said, not guessed.
    let openbsd = on_router(&f, Os::OpenBsd, spec);
    assert_eq!(openbsd.sender_sees.errno, None);
    assert!(openbsd
        .assumptions
        .contains(&BsdAssumption::PlatformFactUnknown(PlatformFact::TcpIcmp {
            icmp_type: 3,
            code: 13
        })));
    // as-dest: from the blocked packet's destination.
    let as_dest = filter(
        Filter::Ipf,
        &["block in quick on em0 proto tcp port 443 return-icmp-as-dest 3/1"],
    );
    let t = on_router(&as_dest, Os::Illumos, spec);
    let response = t.answer.unwrap().outcome.delivered().cloned().unwrap();
    assert_eq!(
        response.from,
        AnswerSource::Addr("198.51.100.7".parse().unwrap())
    );
    assert_eq!(t.sender_sees.errno, Some(Errno::Ehostunreach));
    assert_eq!(t.sender_sees.errno_after_secs, Some(180));
}

#[test]
fn local_delivery_with_and_without_the_hosts_sockets() {
    let f = filter(Filter::Ipf, &[]);
    let t = on_router(&f, Os::Illumos, "tcp 192.0.2.9:50000 192.0.2.1:22 in em0");
    assert_eq!(t.kind, PathKind::Local);
    assert!(matches!(
        t.fate,
        BsdFate::Delivered {
            listener: Listener::Open(_)
        }
    ));
    assert_eq!(
        t.sender_sees.response.as_ref().map(|r| r.kind),
        Some(ResponseKind::SynAck)
    );
    assert_eq!(
        passes(&t),
        [
            (Leg::Request, Direction::In, "em0"),
            (Leg::Reply, Direction::Out, "em0")
        ]
    );
    // Nothing listens on 23: the stack's RST, refused.
    let closed = on_router(&f, Os::Illumos, "tcp 192.0.2.9:50000 192.0.2.1:23 in em0");
    assert_eq!(
        closed.fate,
        BsdFate::Delivered {
            listener: Listener::Closed
        }
    );
    assert_eq!(closed.sender_sees.errno, Some(Errno::Econnrefused));
    assert_eq!(closed.connection(), engine::Connection::Refused);
    assert!(closed.sender_sees.response.as_ref().unwrap().by_stack);
    // No host at all: `in em0` is taken as for this host, and who answers is unknown.
    let bare = run(
        &f,
        Os::Illumos,
        false,
        &Host::default(),
        "tcp 192.0.2.9:50000 192.0.2.1:22 in em0",
    );
    assert_eq!(bare.kind, Kind::Local);
    assert!(bare.sender_sees.depends_on_listener);
    assert!(bare.assumptions.contains(&BsdAssumption::LocalFromSpec));
    assert!(bare.assumptions.contains(&BsdAssumption::SocketsUnknown));
}

#[test]
fn locally_sent_packet_blocked_on_its_way_out() {
    let f = filter(
        Filter::Pf,
        &["block out quick on em0 proto tcp port 443 return-rst"],
    );
    let spec = "tcp 192.0.2.1:40000 203.0.113.5:443";
    let freebsd = on_router(&f, Os::FreeBsd, spec);
    assert_eq!(freebsd.kind, PathKind::Sent);
    assert_eq!(passes(&freebsd), [(Leg::Request, Direction::Out, "em0")]);
    assert_eq!(freebsd.sender_sees.errno, Some(Errno::Eperm));
    assert!(freebsd.sender_sees.errno_on_send);
    let openbsd = on_router(&f, Os::OpenBsd, spec);
    assert_eq!(openbsd.sender_sees.errno, None);
    assert!(openbsd
        .assumptions
        .contains(&BsdAssumption::PlatformFactUnknown(
            PlatformFact::BlockedSendErrno
        )));
    // pf answers outbound blocks too: its RST comes back to the local client.
    assert_eq!(
        openbsd.sender_sees.response.as_ref().map(|r| r.kind),
        Some(ResponseKind::TcpRst)
    );
    // IPFilter answers only inbound blocks.
    let ipf = filter(
        Filter::Ipf,
        &["block out quick on em0 proto tcp port 443 return-rst"],
    );
    let t = on_router(&ipf, Os::Illumos, spec);
    assert_eq!(
        t.answer.unwrap().outcome,
        AnswerOutcome::NotSent(NotSent::BlockedOutbound)
    );
}

#[test]
fn story_7_solaris_10_before_the_fix_only_drops_on_loopback() {
    let f = filter(Filter::Ipf, &[RST_LOOPBACK_SSH]);
    let t = run(&f, Os::Solaris10, true, &router(), LOOPBACK_SSH);
    assert_eq!(t.kind, PathKind::ToSelf);
    assert_eq!(
        passes(&t),
        [
            (Leg::Request, Direction::Out, "lo0"),
            (Leg::Request, Direction::In, "lo0")
        ]
    );
    assert_eq!(
        t.answer.unwrap().outcome,
        AnswerOutcome::NotSent(NotSent::LoopbackNoNic)
    );
    assert_eq!(t.sender_sees.errno, Some(Errno::Etimedout));
    assert_eq!(t.sender_sees.timeout_secs, Some(180));
    assert_eq!(t.sender_sees.response, None);
    assert!(t.assumptions.contains(&BsdAssumption::DiffersByRelease {
        other: Os::Solaris10Fixed
    }));
}

#[test]
fn story_7_loopback_is_not_filtered_without_intercept_loopback_or_before_hooks() {
    let f = filter(Filter::Ipf, &[RST_LOOPBACK_SSH]);
    for (os, intercept) in [
        (Os::Solaris10, false),
        (Os::Illumos, false),
        (Os::Solaris10Pfil, true),
    ] {
        let t = run(&f, os, intercept, &router(), LOOPBACK_SSH);
        assert!(
            matches!(t.fate, BsdFate::Delivered { .. }),
            "{os:?}: {:?}",
            t.fate
        );
        assert!(t
            .passes
            .iter()
            .all(|p| matches!(p.result.decider, Decider::Skipped { .. })));
    }
}

#[test]
fn story_7_after_the_fix_the_syn_itself_becomes_the_rst() {
    let f = filter(Filter::Ipf, &[RST_LOOPBACK_SSH]);
    for os in [Os::Solaris10Fixed, Os::Solaris11, Os::Illumos] {
        let t = run(&f, os, true, &router(), LOOPBACK_SSH);
        let AnswerOutcome::RewrittenInPlace(response) = t.answer.clone().unwrap().outcome else {
            panic!("{os:?}: {:?}", t.answer)
        };
        assert_eq!(response.kind, ResponseKind::TcpRst);
        assert_eq!(
            response.from,
            AnswerSource::Addr("127.0.0.1".parse().unwrap())
        );
        assert_eq!(t.sender_sees.errno, Some(Errno::Econnrefused), "{os:?}");
    }
    // Only a SYN or FIN is turned around: a lone ACK is just dropped.
    let ack = run(
        &f,
        Os::Illumos,
        true,
        &router(),
        &format!("{LOOPBACK_SSH} flags A"),
    );
    assert_eq!(
        ack.answer.unwrap().outcome,
        AnswerOutcome::NotSent(NotSent::NotSynOrFin)
    );
    // UDP: the datagram is turned into ICMP port unreachable from its destination.
    let udp = filter(
        Filter::Ipf,
        &["block in quick on lo0 proto udp port 53 return-icmp-as-dest 3/3"],
    );
    let t = run(
        &udp,
        Os::Illumos,
        true,
        &router(),
        "udp 127.0.0.1:40000 127.0.0.1:53 in lo0",
    );
    let AnswerOutcome::RewrittenInPlace(response) = t.answer.unwrap().outcome else {
        panic!()
    };
    assert_eq!(
        response.kind,
        ResponseKind::Icmp {
            icmp_type: 3,
            code: 3
        }
    );
    assert_eq!(t.sender_sees.errno, Some(Errno::Econnrefused));
}

#[test]
fn story_7_on_freebsd_ipf_the_rst_crosses_lo0_inbound_again() {
    // The RST (port 22 -> 40000) does not match `port 22`: it gets in, refused at once.
    let f = filter(Filter::Ipf, &[RST_LOOPBACK_SSH]);
    let t = on_router(&f, Os::FreeBsd, LOOPBACK_SSH);
    assert_eq!(
        passes(&t),
        [
            (Leg::Request, Direction::Out, "lo0"),
            (Leg::Request, Direction::In, "lo0"),
            (Leg::Answer, Direction::In, "lo0"),
        ]
    );
    assert!(matches!(t.answer.unwrap().outcome, AnswerOutcome::Sent(_)));
    assert_eq!(t.sender_sees.errno, Some(Errno::Econnrefused));
    // Blocking all TCP in on lo0 blocks the RST as well: the client times out.
    let all = filter(Filter::Ipf, &["block in quick on lo0 proto tcp return-rst"]);
    let t = on_router(&all, Os::FreeBsd, LOOPBACK_SSH);
    assert!(matches!(
        t.answer.unwrap().outcome,
        AnswerOutcome::Stopped { pass: 2, .. }
    ));
    assert_eq!(t.sender_sees.errno, Some(Errno::Etimedout));
    assert_eq!(t.sender_sees.timeout_secs, Some(75));
}

#[test]
fn story_7_pf_answers_are_never_filtered_again() {
    let f = filter(Filter::Pf, &["block in quick on lo0 proto tcp return-rst"]);
    let t = on_router(&f, Os::OpenBsd, LOOPBACK_SSH);
    assert_eq!(t.passes.len(), 2);
    assert!(matches!(t.answer.unwrap().outcome, AnswerOutcome::Sent(_)));
    assert_eq!(t.sender_sees.errno, Some(Errno::Econnrefused));
}

#[test]
fn the_reply_passes_by_state_or_is_stopped_without_it() {
    let with_state = filter(
        Filter::Ipf,
        &[
            "block in on em0",
            "block out on em0",
            "pass in quick on em0 proto tcp port 22 keep-state",
        ],
    );
    let spec = "tcp 192.0.2.9:50000 192.0.2.1:22 in em0";
    let t = on_router(&with_state, Os::Illumos, spec);
    let reply = t.reply.as_ref().unwrap();
    assert_eq!(reply.blocked_at, None);
    assert!(matches!(t.passes[1].result.decider, Decider::State { .. }));
    assert_eq!(
        reply.packet.l4,
        L4::Tcp {
            sport: 22,
            dport: 50000,
            flags: model::packet::TcpFlags(0x12)
        }
    );
    let without = filter(
        Filter::Ipf,
        &[
            "block in on em0",
            "block out on em0",
            "pass in quick on em0 proto tcp port 22",
        ],
    );
    let t = on_router(&without, Os::Illumos, spec);
    assert_eq!(t.reply.as_ref().unwrap().blocked_at, Some(1));
    assert!(t.fate.passed());
    assert_eq!(t.connection(), engine::Connection::AnswerLost);
    assert_eq!(t.sender_sees.errno, Some(Errno::Etimedout));
}

#[test]
fn ipv6_answers_are_icmpv6_and_read_per_system() {
    let f = filter(
        Filter::Ipf,
        &["block in quick on em0 proto tcp port 22 return-icmp 1/1"],
    );
    let spec = "tcp [2001:db8::9]:50000 [2001:db8::1]:22 in em0";
    let t = on_router(&f, Os::Illumos, spec);
    let response = t.answer.unwrap().outcome.delivered().cloned().unwrap();
    assert_eq!(
        response.kind,
        ResponseKind::Icmpv6 {
            icmp_type: 1,
            code: 1
        }
    );
    assert_eq!(
        response.from,
        AnswerSource::Addr("2001:db8::1".parse().unwrap())
    );
    assert_eq!(t.sender_sees.errno, Some(Errno::Ehostunreach));
    assert_eq!(t.sender_sees.errno_after_secs, Some(180));
    let port = filter(
        Filter::Ipf,
        &["block in quick on em0 proto tcp port 22 return-icmp 1/4"],
    );
    let t = on_router(&port, Os::FreeBsd, spec);
    assert_eq!(t.sender_sees.errno, Some(Errno::Econnrefused));
}

#[test]
fn no_route_is_said_and_an_unknown_way_out_is_undetermined() {
    let f = filter(Filter::Ipf, &[]);
    let mut host = router();
    host.routes
        .retain(|r| !r.dst.to_string().starts_with("0.0.0.0"));
    let t = run(
        &f,
        Os::NetBsd,
        false,
        &host,
        "tcp 192.0.2.1:40000 203.0.113.5:443",
    );
    assert_eq!(t.fate, BsdFate::NoRoute);
    let t = run(
        &f,
        Os::NetBsd,
        false,
        &Host::default(),
        "tcp 192.0.2.1:40000 203.0.113.5:443",
    );
    assert!(matches!(t.fate, BsdFate::Undetermined(_)));
    let t = run(
        &f,
        Os::NetBsd,
        false,
        &Host::default(),
        "tcp 192.0.2.1:40000 203.0.113.5:443 out em0",
    );
    assert_eq!(t.fate, BsdFate::Sent { oif: "em0".into() });
    assert!(t.assumptions.contains(&BsdAssumption::OutputFromSpec));
}

#[test]
fn icmp_errors_are_never_answered_and_ipf_answers_only_queries() {
    let f = filter(
        Filter::Ipf,
        &["block in quick on em0 proto icmp return-icmp 3/13"],
    );
    let reply = on_router(
        &f,
        Os::FreeBsd,
        "icmp 192.0.2.9 192.0.2.1 in em0 type echo-reply",
    );
    assert_eq!(
        reply.answer.unwrap().outcome,
        AnswerOutcome::NotSent(NotSent::AnswerToIcmp)
    );
    let ping = on_router(&f, Os::FreeBsd, "icmp 192.0.2.9 192.0.2.1 in em0");
    assert!(matches!(
        ping.answer.unwrap().outcome,
        AnswerOutcome::Sent(_)
    ));
    let pf = filter(
        Filter::Pf,
        &["block in quick on em0 proto icmp return-icmp 3/13"],
    );
    let unreach = on_router(
        &pf,
        Os::OpenBsd,
        "icmp 192.0.2.9 192.0.2.1 in em0 type port-unreachable",
    );
    assert_eq!(
        unreach.answer.unwrap().outcome,
        AnswerOutcome::NotSent(NotSent::AnswerToIcmp)
    );
}

#[test]
fn a_solaris_host_from_its_own_listings() {
    let ifconfig = model::SourceFile::new(
        "ifconfig",
        "lo0: flags=2001000849<UP,LOOPBACK,RUNNING,MULTICAST,IPv4,VIRTUAL> mtu 8232 index 1\n\
        \tinet 127.0.0.1 netmask ff000000\n\
        e1000g0: flags=1000843<UP,BROADCAST,RUNNING,MULTICAST,IPv4> mtu 1500 index 2\n\
        \tinet 192.0.2.10 netmask ffffff00 broadcast 192.0.2.255\n",
    );
    let netstat = model::SourceFile::new(
        "netstat",
        "Routing Table: IPv4\n\
        default              192.0.2.1            UG        2        345\n",
    );
    let host = frontends::bsd_host::host(Some(&ifconfig), Some(&netstat)).unwrap();
    let f = filter(Filter::Ipf, &[]);
    // The default route names no interface: it leaves by the one its gateway is on.
    let t = run(
        &f,
        Os::Solaris10,
        false,
        &host,
        "tcp 192.0.2.10:40000 203.0.113.5:443",
    );
    assert_eq!(
        t.fate,
        BsdFate::Sent {
            oif: "e1000g0".into()
        }
    );
    assert_eq!(t.route.unwrap().gateway, Some("192.0.2.1".parse().unwrap()));
    // Its own address is on loopback; loopback is not filtered without intercept_loopback.
    let t = run(
        &f,
        Os::Solaris10,
        false,
        &host,
        "tcp 192.0.2.10:40000 192.0.2.10:22",
    );
    assert_eq!(t.kind, PathKind::ToSelf);
    assert!(t.assumptions.contains(&BsdAssumption::SocketsUnknown));
}
