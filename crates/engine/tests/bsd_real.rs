//! The BSD/Solaris path with the real filters: IPFilter (`engine::ipf`) on `ipf.conf` text
//! and pf (`engine::pf`) on `pf.conf` text, on a host read from `ifconfig -a` and
//! `netstat -rn` (`frontends::bsd_host`). Story 7 as users write it, per platform, and the
//! reply's way back through each filter's own state table.

use engine::bsd::path::{AnswerOutcome, BsdAssumption, BsdFate, Leg, NotSent, PathKind};
use engine::bsd::{simulate, BsdTrace, Decider, Direction, FilterPass, Os, Platform};
use engine::ipf::{Ipf, Tuning};
use engine::pf::PfRules;
use engine::{Connection, Errno, ResponseKind};
use frontends::ipf::{parse_ipf, ParseOptions};
use frontends::pf::{parse, Env, Interface};
use model::host::LinkType;
use model::ipf::{IpfRules, Pools};
use model::{Host, SourceFile};

const IFCONFIG: &str = "\
em0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
\tether 08:00:27:aa:bb:cc
\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255
em1: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500
\tether 08:00:27:aa:bb:dd
\tinet 198.51.100.1 netmask 0xffffff00 broadcast 198.51.100.255
lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0 mtu 16384
\tinet6 ::1 prefixlen 128
\tinet 127.0.0.1 netmask 0xff000000
";

const NETSTAT: &str = "\
Routing tables

Internet:
Destination        Gateway            Flags     Netif Expire
default            192.0.2.1          UGS         em0
127.0.0.1          link#3             UH          lo0
192.0.2.0/24       link#1             U           em0
198.51.100.0/24    link#2             U           em1
";

fn host() -> Host {
    let ifconfig = SourceFile::new("ifconfig", IFCONFIG);
    let netstat = SourceFile::new("netstat", NETSTAT);
    frontends::bsd_host::host(Some(&ifconfig), Some(&netstat)).unwrap_or_else(|e| panic!("{e}"))
}

fn ipf_rules(text: &str) -> IpfRules {
    parse_ipf(&SourceFile::new("ipf.conf", text), &ParseOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn ipf(text: &str) -> Ipf {
    Ipf::new(&ipf_rules(text), &Pools::default(), None, Tuning::default())
}

/// What pf.conf's interface names resolve against: the same host's interfaces, `lo0` in
/// the `lo` group (`set skip on lo`).
fn pf_env() -> Env {
    let interfaces = host()
        .interfaces
        .iter()
        .map(|i| Interface {
            name: i.name.clone(),
            groups: if i.link == LinkType::Loopback {
                vec!["lo".to_string()]
            } else {
                Vec::new()
            },
            addresses: i.addrs.iter().map(|a| (a.addr, a.prefix_len)).collect(),
            point_to_point: false,
        })
        .collect();
    Env {
        interfaces,
        ..Env::default()
    }
}

fn run<F: FilterPass>(f: &F, os: Os, intercept: bool, spec: &str) -> BsdTrace {
    let packet = frontends::packet_spec::packet(spec).unwrap_or_else(|e| panic!("{e}"));
    let platform = Platform {
        os,
        intercept_loopback: intercept,
    };
    simulate(f, &platform, &host(), &packet)
}

const LOOPBACK_SSH: &str = "tcp 127.0.0.1:40000 127.0.0.1:22 in lo0";

/// Story 7's rules as an admin writes them.
const IPF_STORY_7: &str = "\
set intercept_loopback true;
block return-rst in log quick on lo0 proto tcp from any to any port = 22
pass in all
pass out all
";

#[test]
fn story_7_ipf_per_platform() {
    let f = ipf(IPF_STORY_7);
    // The platform's switch comes from the file's `set intercept_loopback true;`.
    for os in [Os::Solaris10, Os::Illumos] {
        assert!(Platform::with_ipf(os, &ipf_rules(IPF_STORY_7)).intercept_loopback);
        assert!(!Platform::with_ipf(os, &ipf_rules("pass in all\n")).intercept_loopback);
    }

    let before = run(&f, Os::Solaris10, true, LOOPBACK_SSH);
    assert_eq!(before.kind, PathKind::ToSelf);
    assert!(
        matches!(before.fate, BsdFate::Blocked { pass: 1, .. }),
        "{:?}",
        before.fate
    );
    assert!(matches!(before.passes[1].result.decider, Decider::Rule(ref r) if r.origin.line == 2));
    assert_eq!(
        before.answer.as_ref().unwrap().outcome,
        AnswerOutcome::NotSent(NotSent::LoopbackNoNic)
    );
    assert_eq!(before.sender_sees.errno, Some(Errno::Etimedout));
    assert_eq!(before.logs.len(), 1, "{:?}", before.logs);
    assert_eq!(before.connection(), Connection::Blocked);

    let after = run(&f, Os::Illumos, true, LOOPBACK_SSH);
    let AnswerOutcome::RewrittenInPlace(rst) = &after.answer.as_ref().unwrap().outcome else {
        panic!("{:?}", after.answer)
    };
    assert_eq!(rst.kind, ResponseKind::TcpRst);
    assert_eq!(after.sender_sees.errno, Some(Errno::Econnrefused));

    // Without `set intercept_loopback true;` loopback is not filtered at all.
    let off = run(&f, Os::Illumos, false, LOOPBACK_SSH);
    assert!(matches!(off.fate, BsdFate::Delivered { .. }));
    assert!(off.logs.is_empty());

    // FreeBSD: the RST (22 -> 40000) crosses lo0 inbound, where `port = 22` does not match
    // it and `pass in all` lets it in.
    let freebsd = run(&f, Os::FreeBsd, false, LOOPBACK_SSH);
    assert_eq!(freebsd.passes.len(), 3);
    assert_eq!(freebsd.passes[2].leg, Leg::Answer);
    assert!(matches!(
        freebsd.answer.unwrap().outcome,
        AnswerOutcome::Sent(_)
    ));
    assert_eq!(freebsd.sender_sees.errno, Some(Errno::Econnrefused));
}

#[test]
fn story_7_ipf_blocking_all_tcp_on_lo0_stops_its_own_rst_on_freebsd() {
    let f = ipf("block return-rst in quick on lo0 proto tcp all\n");
    let t = run(&f, Os::FreeBsd, false, LOOPBACK_SSH);
    assert!(
        matches!(
            t.answer.as_ref().unwrap().outcome,
            AnswerOutcome::Stopped { pass: 2, .. }
        ),
        "{:?}",
        t.answer
    );
    assert_eq!(t.sender_sees.errno, Some(Errno::Etimedout));
    assert_eq!(t.sender_sees.timeout_secs, Some(75));
}

#[test]
fn ipf_forwarded_with_state_lets_the_reply_back() {
    let f = ipf("\
block in all
block out all
pass in quick on em0 proto tcp from any to any port = 443 flags S keep state
pass out quick on em1 proto tcp from any to any port = 443 flags S keep state
");
    let t = run(
        &f,
        Os::NetBsd,
        false,
        "tcp 192.0.2.99:50000 198.51.100.7:443 in em0",
    );
    assert_eq!(
        t.fate,
        BsdFate::Forwarded {
            oif: "em1".into(),
            gateway: None
        }
    );
    let reply = t.reply.as_ref().unwrap();
    assert_eq!(reply.blocked_at, None, "{:#?}", t.passes);
    assert!(t.passes[2..]
        .iter()
        .all(|p| matches!(p.result.decider, Decider::State { .. })));
    assert_eq!(t.connection(), Connection::Succeeds);

    // Without state the SYN/ACK meets `block in all` on em1.
    let stateless = ipf("\
block in all
block out all
pass in quick on em0 proto tcp from any to any port = 443
pass out quick on em1 proto tcp from any to any port = 443
");
    let t = run(
        &stateless,
        Os::NetBsd,
        false,
        "tcp 192.0.2.99:50000 198.51.100.7:443 in em0",
    );
    assert_eq!(t.reply.as_ref().unwrap().blocked_at, Some(2));
    assert_eq!(t.connection(), Connection::AnswerLost);
}

#[test]
fn story_7_pf_answers_on_loopback_unless_skipped() {
    let rs = parse(
        "/etc/pf.conf",
        "block return in quick on lo0 proto tcp to port 22\npass\n",
        &pf_env(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rules = PfRules::new(&rs, None);
    let t = run(&rules, Os::OpenBsd, false, LOOPBACK_SSH);
    assert_eq!(t.passes.len(), 2);
    let answer = t.answer.as_ref().unwrap();
    assert!(
        matches!(answer.outcome, AnswerOutcome::Sent(_)),
        "{answer:?}"
    );
    assert_eq!(t.sender_sees.errno, Some(Errno::Econnrefused));

    let skipped = parse(
        "/etc/pf.conf",
        "set skip on lo\nblock return in quick on lo0 proto tcp to port 22\npass\n",
        &pf_env(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rules = PfRules::new(&skipped, None);
    let t = run(&rules, Os::OpenBsd, false, LOOPBACK_SSH);
    assert!(matches!(t.fate, BsdFate::Delivered { .. }), "{:?}", t.fate);
    assert!(t
        .passes
        .iter()
        .all(|p| matches!(p.result.decider, Decider::Skipped { .. })));
    assert!(t.assumptions.contains(&BsdAssumption::SocketsUnknown));
}

#[test]
fn pf_blocked_outbound_on_freebsd_fails_the_send() {
    let rs = parse(
        "/etc/pf.conf",
        "pass\nblock return out quick on em0 proto tcp to port 443\n",
        &pf_env(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rules = PfRules::new(&rs, None);
    let t = run(
        &rules,
        Os::FreeBsd,
        false,
        "tcp 192.0.2.10:40000 203.0.113.5:443",
    );
    assert_eq!(t.passes.len(), 1);
    assert_eq!(t.passes[0].direction, Direction::Out);
    assert_eq!(t.sender_sees.errno, Some(Errno::Eperm));
    assert!(t.sender_sees.errno_on_send);
}

#[test]
fn pf_route_to_sends_a_forwarded_packet_out_of_its_interface() {
    let rs = parse(
        "/etc/pf.conf",
        "pass in on em0 proto tcp to port 443 route-to (em1 198.51.100.254)\npass out\n",
        &pf_env(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let host = host();
    let rules = PfRules::new(&rs, Some(&host));
    // The routing table would send 203.0.113.7 back out of em0 (default route).
    let t = run(
        &rules,
        Os::OpenBsd,
        false,
        "tcp 203.0.113.9:50000 203.0.113.7:443 in em0",
    );
    assert_eq!(
        t.fate,
        BsdFate::Forwarded {
            oif: "em1".into(),
            gateway: None
        }
    );
    assert!(t.route.as_ref().unwrap().by_filter);
    assert_eq!(t.passes[1].interface, "em1");
}

#[test]
fn pf_story_2_port_forward_then_blocked_on_the_way_out() {
    let rs = parse(
        "/etc/pf.conf",
        "\
pass in on em0 proto tcp to port 1222 rdr-to 198.51.100.10 port 22
block out log on em1
",
        &pf_env(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rules = PfRules::new(&rs, None);
    let t = run(
        &rules,
        Os::OpenBsd,
        false,
        "tcp 203.0.113.9:50000 192.0.2.10:1222 in em0",
    );
    // The rdr makes it a forwarded packet to the VM; `block out on em1` drops it silently.
    assert_eq!(t.kind, PathKind::Forwarded);
    assert_eq!(t.passes[1].interface, "em1");
    assert_eq!(t.passes[1].result.packet.dst.to_string(), "198.51.100.10");
    assert!(
        matches!(
            t.fate,
            BsdFate::Blocked {
                pass: 1,
                answer: None
            }
        ),
        "{:?}",
        t.fate
    );
    assert_eq!(t.logs.len(), 1, "{:?}", t.logs);
    assert_eq!(t.sender_sees.errno, Some(Errno::Etimedout));
    assert!(t.assumptions.contains(&BsdAssumption::SenderStackAssumed));
}
