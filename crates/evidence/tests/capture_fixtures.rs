//! Our own captures of real failures (recorded by scripts/make-captures.sh in network
//! namespaces: client 10.1.1.2 / fd00:1::2 -- lan0 [router] wan0 -- server 10.1.0.2 /
//! fd00:2::2, tcpdump on the router's lan0), each classified as it happened, with the hop
//! that answered; and each failed flow's first packet simulated on the recorded router
//! (its ruleset saved beside the capture) with the rule that decided it.

use engine::{Decider, Fate};
use evidence::capture::{analyze, CaptureAnalysis, Options};
use evidence::classify::{Finding, Reporter, RstOrigin, Symptom};
use evidence::tls::{AlertContent, Side};
use model::{Family, Host, Ruleset, SourceFile};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pcap")
}

fn load(name: &str) -> CaptureAnalysis {
    let bytes = std::fs::read(dir().join(format!("{name}.pcap"))).unwrap();
    analyze(&bytes[..], &Options::default(), &mut |_| {}).unwrap()
}

fn only(name: &str) -> Finding {
    let a = load(name);
    assert!(a.stopped_by.is_none(), "{name}: {:?}", a.stopped_by);
    let failed: Vec<&Finding> = a
        .findings
        .iter()
        .filter(|f| f.symptom.is_failure())
        .collect();
    assert!(
        failed.len() <= 1 && !a.findings.is_empty(),
        "{name}: {:#?}",
        a.findings
    );
    failed.first().copied().unwrap_or(&a.findings[0]).clone()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The router's ruleset at capture time and its host state.
fn router(name: &str) -> (Ruleset, Host) {
    let path = dir().join(format!("{name}.rules"));
    let text = std::fs::read_to_string(&path).unwrap();
    let family = if text.contains("ip6tables-save") {
        Family::Ip6
    } else {
        Family::Ip
    };
    let source = SourceFile::new(path.display().to_string(), text);
    let ruleset = frontends::iptables_save::parse(&source, Some(family)).unwrap();
    let host = frontends::host::host_dir::load(&dir().join("router"))
        .unwrap()
        .host;
    (ruleset, host)
}

/// Simulates the finding's first packet arriving on lan0 (the capture point); returns the
/// fate and the deciding rule's text.
fn simulate(name: &str, f: &Finding) -> (Fate, Option<String>) {
    let (ruleset, host) = router(name);
    let mut p = f.first_packet.clone();
    p.iif = Some("lan0".into());
    let out = engine::simulate(&ruleset, &host, &p, &engine::Options::default());
    let t = out.primary();
    let rule = match t.decider {
        Decider::Rule(at) => Some(
            ruleset.tables[at.table].chains[at.chain].rules[at.rule]
                .origin
                .text
                .to_string(),
        ),
        _ => None,
    };
    (t.fate.clone(), rule)
}

/// REJECT with an ICMP error: from the router's lan0 address, on the way, the rule named.
fn icmp_reject(name: &str, v6: bool, icmp_type: u8, code: u8, reject_with: &str) {
    let f = only(name);
    let Symptom::IcmpError(v) = &f.symptom else {
        panic!("{name}: {:?}", f.symptom)
    };
    assert_eq!(
        (v.error.v6, v.error.icmp_type, v.error.code),
        (v6, icmp_type, code),
        "{name}"
    );
    let router = if v6 { "fd00:1::1" } else { "10.1.1.1" };
    assert_eq!(v.error.from, ip(router), "{name}");
    assert_eq!(v.reporter, Reporter::OnTheWay, "{name}");
    assert_eq!(v.hops, 0, "{name}: the router is on the captured link");
    let q = v.quoted().unwrap();
    assert_eq!(q.ports.map(|p| p.1), Some(2175), "{name}");
    let (fate, rule) = simulate(name, &f);
    assert!(matches!(fate, Fate::Rejected { .. }), "{name}: {fate:?}");
    let rule = rule.unwrap();
    assert!(rule.contains(reject_with), "{name}: {rule}");
}

#[test]
fn reject_icmp_port_unreachable_names_the_router_and_the_rule() {
    icmp_reject(
        "reject-icmp-port-unreachable",
        false,
        3,
        3,
        "icmp-port-unreachable",
    );
}

#[test]
fn reject_icmp_host_prohibited() {
    icmp_reject(
        "reject-icmp-host-prohibited",
        false,
        3,
        10,
        "icmp-host-prohibited",
    );
}

#[test]
fn reject_icmp_admin_prohibited() {
    icmp_reject(
        "reject-icmp-admin-prohibited",
        false,
        3,
        13,
        "icmp-admin-prohibited",
    );
}

#[test]
fn reject_icmp_net_unreachable() {
    icmp_reject(
        "reject-icmp-net-unreachable",
        false,
        3,
        0,
        "icmp-net-unreachable",
    );
}

#[test]
fn reject_icmp_host_unreachable() {
    icmp_reject(
        "reject-icmp-host-unreachable",
        false,
        3,
        1,
        "icmp-host-unreachable",
    );
}

#[test]
fn reject_icmp_net_prohibited() {
    icmp_reject(
        "reject-icmp-net-prohibited",
        false,
        3,
        9,
        "icmp-net-prohibited",
    );
}

#[test]
fn reject_icmp_proto_unreachable() {
    icmp_reject(
        "reject-icmp-proto-unreachable",
        false,
        3,
        2,
        "icmp-proto-unreachable",
    );
}

#[test]
fn reject6_icmp6_port_unreachable() {
    icmp_reject(
        "reject6-icmp6-port-unreachable",
        true,
        1,
        4,
        "icmp6-port-unreachable",
    );
}

#[test]
fn reject6_icmp6_adm_prohibited() {
    icmp_reject(
        "reject6-icmp6-adm-prohibited",
        true,
        1,
        1,
        "icmp6-adm-prohibited",
    );
}

#[test]
fn reject6_icmp6_no_route() {
    icmp_reject("reject6-icmp6-no-route", true, 1, 0, "icmp6-no-route");
}

#[test]
fn reject6_icmp6_addr_unreachable() {
    icmp_reject(
        "reject6-icmp6-addr-unreachable",
        true,
        1,
        3,
        "icmp6-addr-unreachable",
    );
}

/// User story 1 for UDP: port unreachable from 10.1.1.1, not from the destination.
#[test]
fn reject_udp_port_unreachable_from_the_router() {
    let f = only("reject-udp");
    assert_eq!(f.protocol, 17);
    let Symptom::IcmpError(v) = &f.symptom else {
        panic!("{:?}", f.symptom)
    };
    assert_eq!((v.error.icmp_type, v.error.code), (3, 3));
    assert_eq!(v.error.from, ip("10.1.1.1"));
    assert_eq!(v.reporter, Reporter::OnTheWay);
    assert_eq!(v.sent_ttl, Some(64));
    assert_eq!(v.quoted().unwrap().ttl, 63);
    let (fate, rule) = simulate("reject-udp", &f);
    assert!(matches!(fate, Fate::Rejected { .. }));
    assert!(rule.unwrap().contains("-p udp"));
}

/// A firewall's RST: TTL 64 at the capture point (forged by the router next to it), while
/// the server's own packets arrive with TTL 63.
#[test]
fn reject_tcp_reset_is_told_from_the_server_by_its_ttl() {
    let f = only("reject-tcp-reset");
    let Symptom::SynRefused { rst } = &f.symptom else {
        panic!("{:?}", f.symptom)
    };
    assert_eq!(rst.origin, RstOrigin::Middlebox);
    assert_eq!((rst.ttl, rst.server_ttl), (64, Some(63)));
    assert_eq!(f.server, (ip("10.1.0.2"), 2175));
    let (fate, rule) = simulate("reject-tcp-reset", &f);
    assert!(matches!(fate, Fate::Rejected { .. }));
    assert!(rule.unwrap().contains("--reject-with tcp-reset"));
}

#[test]
fn reject6_tcp_reset_without_a_comparison() {
    let f = only("reject6-tcp-reset");
    let Symptom::SynRefused { rst } = &f.symptom else {
        panic!("{:?}", f.symptom)
    };
    assert_eq!(rst.origin, RstOrigin::Unknown);
    let (fate, rule) = simulate("reject6-tcp-reset", &f);
    assert!(matches!(fate, Fate::Rejected { .. }));
    assert!(rule.unwrap().contains("tcp-reset"));
}

#[test]
fn drop_times_out_after_the_syn_retries() {
    let f = only("drop");
    let Symptom::SynUnanswered { syns, span_ns } = f.symptom else {
        panic!("{:?}", f.symptom)
    };
    assert_eq!(syns, 3);
    assert!(
        (1_500_000_000..4_000_000_000).contains(&span_ns),
        "{span_ns}"
    );
    let (fate, rule) = simulate("drop", &f);
    assert_eq!(fate, Fate::Dropped);
    assert!(rule.unwrap().contains("-j DROP"));
}

/// Nothing listens: the server's own RST (same TTL as its other packets) and, for UDP, the
/// port unreachable from the destination itself. The router forwards both.
#[test]
fn closed_port_is_the_server_answering() {
    let a = load("closed-port");
    assert_eq!(a.ok_flows, 1, "the working connection to port 80");
    let [tcp, udp] = &a.findings[..] else {
        panic!("{:#?}", a.findings)
    };
    let Symptom::SynRefused { rst } = &tcp.symptom else {
        panic!("{:?}", tcp.symptom)
    };
    assert_eq!(rst.origin, RstOrigin::Server);
    let Symptom::IcmpError(v) = &udp.symptom else {
        panic!("{:?}", udp.symptom)
    };
    assert_eq!(v.reporter, Reporter::Destination);
    assert_eq!(v.error.from, ip("10.1.0.2"));
    assert_eq!(v.hops, 1);
    let (fate, _) = simulate("closed-port", tcp);
    assert!(fate.passed(), "{fate:?}");
}

/// User story 6's symptom: the SYN to 10.1.1.1:1222 is answered from 10.1.0.2:80 (the DNAT
/// target: the reply was NOTRACKed, so never un-NATed) and the client resets it.
#[test]
fn dnat_with_a_broken_reply_path() {
    let f = only("dnat-broken-reply");
    let Symptom::WrongAnswer(s) = &f.symptom else {
        panic!("{:?}", f.symptom)
    };
    assert_eq!(f.server, (ip("10.1.1.1"), 1222));
    assert_eq!(s.from, (ip("10.1.0.2"), 80));
    assert_eq!((s.count, s.client_rsts), (3, 3));
    let (ruleset, host) = router("dnat-broken-reply");
    let mut p = f.first_packet.clone();
    p.iif = Some("lan0".into());
    let out = engine::simulate(&ruleset, &host, &p, &engine::Options::default());
    let t = out.primary();
    assert!(t.fate.passed(), "{:?}", t.fate);
    assert_eq!(t.final_packet.dst, ip("10.1.0.2"), "the DNAT applies");
}

/// User story 9: the server refuses the client certificate of an unknown CA, in clear.
#[test]
fn tls12_unknown_ca_names_the_side_and_the_issuer() {
    let f = only("tls12-unknown-ca");
    let Symptom::TlsAlert(alert) = f.symptom else {
        panic!("{:?}", f.symptom)
    };
    assert_eq!(alert.sender, Side::Server);
    assert_eq!(
        alert.content,
        AlertContent::Clear {
            level: 2,
            description: 48
        }
    );
    let tls = f.tls.unwrap();
    assert_eq!(tls.server_hello.unwrap().version, 0x0303);
    assert_eq!(
        tls.client_hello.unwrap().server_name.as_deref(),
        Some("server.test")
    );
    let client_cert = tls
        .certificates
        .iter()
        .find(|c| c.sender == Side::Client)
        .unwrap();
    assert!(client_cert.issuer.contains("Unknown Rogue CA"));
    let cas = tls.certificate_request.unwrap().ca_names;
    assert!(cas[0].contains("Trusted Test CA"), "{cas:?}");
}

/// TLS 1.3: the same refusal, encrypted: reported as a likely encrypted alert.
#[test]
fn tls13_unknown_ca_is_a_likely_encrypted_alert() {
    let f = only("tls13-unknown-ca");
    let Symptom::TlsAlert(alert) = f.symptom else {
        panic!("{:?}", f.symptom)
    };
    assert_eq!(alert.sender, Side::Server);
    assert_eq!(alert.content, AlertContent::LikelyEncrypted);
    assert!(
        !f.symptom.is_failure(),
        "unreadable: suspicious, not proven"
    );
}

#[test]
fn ping_with_no_route_back() {
    let f = only("ping-no-route-back");
    assert_eq!(f.symptom.kind(), "echo_unanswered");
    let Symptom::EchoUnanswered { requests, .. } = f.symptom else {
        unreachable!()
    };
    assert_eq!(requests, 2);
    let (fate, _) = simulate("ping-no-route-back", &f);
    assert!(
        fate.passed(),
        "the router forwards it: the problem is beyond"
    );
}

#[test]
fn ping_ttl_exceeded_at_the_router() {
    let f = only("ping-ttl-exceeded");
    let Symptom::IcmpError(v) = &f.symptom else {
        panic!("{:?}", f.symptom)
    };
    assert!(v.is_time_exceeded());
    assert_eq!(v.error.from, ip("10.1.1.1"));
    let (fate, _) = simulate("ping-ttl-exceeded", &f);
    assert!(matches!(fate, Fate::RoutingFailed { .. }), "{fate:?}");
}

/// User story 8: neighbour discovery failed at the router for fd00:2::99.
#[test]
fn icmp6_address_unreachable_from_the_middle_hop() {
    let f = only("icmp6-addr-unreachable");
    let Symptom::IcmpError(v) = &f.symptom else {
        panic!("{:?}", f.symptom)
    };
    assert_eq!((v.error.v6, v.error.icmp_type, v.error.code), (true, 1, 3));
    assert_eq!(v.error.from, ip("fd00:1::1"));
    assert_eq!(f.server.0, ip("fd00:2::99"));
    assert_eq!(v.reporter, Reporter::OnTheWay);
}

/// User story 1 recorded on a router running the real ufw ruleset
/// (examples/ufw-router/iptables-save.txt, interfaces tap0/eno1 as in examples/ufw-router/host):
/// the SYN from port 1050 is refused by ICMP port unreachable from the router 10.1.1.1, which
/// `ufw-reject-forward` sends; the ping beside it passes (ufw-before-forward's echo-request
/// allowance).
#[test]
fn story1_ufw_router_rejects_tcp_and_passes_the_ping() {
    let a = load("story1-ufw");
    assert!(a.stopped_by.is_none());
    assert_eq!(a.findings.len(), 1, "{:#?}", a.findings);
    let f = &a.findings[0];
    let Symptom::IcmpError(v) = &f.symptom else {
        panic!("{:?}", f.symptom)
    };
    assert_eq!((v.error.icmp_type, v.error.code), (3, 3));
    assert_eq!(v.error.from, ip("10.1.1.1"));
    assert_eq!(v.reporter, Reporter::OnTheWay);
    assert_eq!(f.client, (ip("10.1.1.2"), 1050));
    assert_eq!(f.server, (ip("10.1.0.2"), 2175));
    assert_eq!(a.ok_flows, 1);
    assert!(matches!(
        a.fine[0].working,
        evidence::classify::Working::EchoAnswered {
            requests: 1,
            replies: 1
        }
    ));

    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ufw-router");
    let path = examples.join("iptables-save.txt");
    let source = SourceFile::new(
        path.display().to_string(),
        std::fs::read_to_string(&path).unwrap(),
    );
    let ruleset = frontends::iptables_save::parse(&source, Some(Family::Ip)).unwrap();
    let host = frontends::host::host_dir::load(&examples.join("host"))
        .unwrap()
        .host;
    let rule_of = |p: &model::Packet| {
        let mut p = p.clone();
        p.iif = Some("tap0".into());
        let out = engine::simulate(&ruleset, &host, &p, &engine::Options::default());
        let t = out.primary();
        let Decider::Rule(at) = t.decider else {
            panic!("{:?}", t.decider)
        };
        let chain = &ruleset.tables[at.table].chains[at.chain];
        (
            t.fate.clone(),
            chain.name.clone(),
            chain.rules[at.rule].origin.line,
        )
    };
    let (fate, chain, line) = rule_of(&f.first_packet);
    assert!(matches!(fate, Fate::Rejected { .. }), "{fate:?}");
    assert_eq!((chain.as_str(), line), ("ufw-reject-forward", 94));
    let (fate, chain, line) = rule_of(&a.fine[0].first_packet);
    assert!(matches!(fate, Fate::Forwarded { .. }), "{fate:?}");
    assert_eq!((chain.as_str(), line), ("ufw-before-forward", 68));
}

/// Every prefix of every fixture reads without panicking (the tail is noted as cut).
#[test]
fn every_prefix_of_every_fixture_is_safe() {
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "pcap") {
            let bytes = std::fs::read(&path).unwrap();
            for n in (0..bytes.len()).step_by(7) {
                let _ = analyze(&bytes[..n], &Options::default(), &mut |_| {});
            }
        }
    }
}
