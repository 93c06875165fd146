//! The kernel's own trace of real packets, decoded and mapped to the user's rules.
#![allow(clippy::print_stderr)]
mod common;

use model::kernel::NfVerdict;
use model::kernel_walk::KernelFate;
use model::kernel_walk::{KernelVerdict, StepKind};
use model::{Family, Host, Reject, RuleRef};
use oracle::netns::TestHost;
use oracle::LiveError;
use oracle::Oracle;

/// Three rules on INPUT: accept 22, drop 23, reject 24 (ICMP port unreachable).
const THREE_RULES: &str = "\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p tcp --dport 23 -j DROP
-A INPUT -p tcp --dport 24 -j REJECT --reject-with icmp-port-unreachable
COMMIT
";

fn oracle_for(packets: &[model::Packet], rules: &str) -> (Oracle, model::Ruleset) {
    let (src, rs) = common::iptables("rules.v4", rules);
    let host = TestHost::for_packets(&Host::default(), packets).unwrap();
    let mut o = Oracle::new(host).unwrap();
    o.load(&[(src, Family::Ip)]).unwrap();
    (o, rs)
}

#[test]
fn accepted_dropped_and_rejected_packets_as_the_kernel_traces_them() {
    if !common::kernel_tests_enabled(
        "accepted_dropped_and_rejected_packets_as_the_kernel_traces_them",
    ) {
        return;
    }
    let to = |port| {
        common::tcp(
            "10.1.1.2",
            40000 + port,
            "10.1.1.1",
            port,
            "S",
            Some("lan0"),
            None,
        )
    };
    let packets = [to(22), to(23), to(24), to(25)];
    let (mut o, rs) = oracle_for(&packets, THREE_RULES);
    let t = o.run(&rs, &packets).unwrap();
    let rule = |n| {
        Some(RuleRef {
            table: 0,
            chain: 0,
            rule: n,
        })
    };

    // 22: rule 1 accepts; the packet reaches the end of the input hook.
    assert_eq!(
        t[0].fate,
        KernelFate::Delivered,
        "{}",
        report::verify::kernel_walk(&t[0])
    );
    assert_eq!(t[0].steps.len(), 1);
    assert_eq!(
        (t[0].steps[0].rule(), &t[0].steps[0].verdict),
        (rule(0), &KernelVerdict::of(NfVerdict::Accept))
    );
    assert_eq!(t[0].steps[0].hook, Some(model::Hook::Input));
    // A filter-only iptables ruleset does not need conntrack, so the kernel does not run it.
    assert_eq!(t[0].ct_state, None);

    // 23: rule 2 drops.
    assert_eq!(
        t[1].fate,
        KernelFate::Dropped { step: 0 },
        "{}",
        report::verify::kernel_walk(&t[1])
    );
    assert_eq!(
        (t[1].steps[0].rule(), &t[1].steps[0].verdict),
        (rule(1), &KernelVerdict::of(NfVerdict::Drop))
    );

    // 24: rule 3 rejects; the kernel says "drop" and sends ICMP port unreachable, traced.
    assert_eq!(
        t[2].fate,
        KernelFate::Rejected {
            step: 0,
            with: Some(Reject::Icmp(3))
        },
        "{}",
        report::verify::kernel_walk(&t[2])
    );
    assert_eq!(t[2].steps[0].rule(), rule(2));
    assert_eq!(t[2].steps[0].rejects, Some(Reject::Icmp(3)));
    let answer = &t[2].responses[0];
    assert_eq!(
        (answer.src.to_string().as_str(), answer.icmp),
        ("10.1.1.1", Some((3, 3)))
    );

    // 25: no rule; the chain's policy accepts.
    assert_eq!(t[3].fate, KernelFate::Delivered);
    assert_eq!(t[3].steps.len(), 1);
    assert_eq!(
        (t[3].steps[0].event.kind, &t[3].steps[0].verdict),
        (StepKind::Policy, &KernelVerdict::of(NfVerdict::Accept))
    );
}

#[test]
fn jumps_returns_and_positions_map_to_the_users_rules() {
    if !common::kernel_tests_enabled("jumps_returns_and_positions_map_to_the_users_rules") {
        return;
    }
    let rules = "\
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:checks - [0:0]
-A FORWARD -p udp -j DROP
-A FORWARD -j checks
-A FORWARD -p tcp --dport 80 -j ACCEPT
-A checks -p tcp --dport 81 -j RETURN
-A checks -p tcp --dport 80 -j LOG --log-prefix \"web \"
COMMIT
";
    let p80 = common::tcp(
        "10.1.1.2",
        5000,
        "10.1.0.2",
        80,
        "S",
        Some("lan0"),
        Some("wan0"),
    );
    let p81 = common::tcp(
        "10.1.1.2",
        5001,
        "10.1.0.2",
        81,
        "S",
        Some("lan0"),
        Some("wan0"),
    );
    let (mut o, rs) = oracle_for(&[p80.clone(), p81.clone()], rules);
    let t = o.run(&rs, &[p80, p81]).unwrap();
    let fwd = rs.tables[0].chain("FORWARD").unwrap();
    let checks = rs.tables[0].chain("checks").unwrap();
    let r = |chain, rule| {
        Some(RuleRef {
            table: 0,
            chain,
            rule,
        })
    };

    let got: Vec<_> = t[0]
        .steps
        .iter()
        .map(|s| (s.rule(), s.event.kind, s.verdict.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (r(fwd, 1), StepKind::Rule, KernelVerdict::jump("checks")),
            (
                r(checks, 1),
                StepKind::Rule,
                KernelVerdict::of(NfVerdict::Continue)
            ),
            (
                None,
                StepKind::Return,
                KernelVerdict::of(NfVerdict::Continue)
            ),
            (
                r(fwd, 2),
                StepKind::Rule,
                KernelVerdict::of(NfVerdict::Accept)
            ),
        ],
        "{}",
        report::verify::kernel_walk(&t[0])
    );
    assert_eq!(t[0].fate, KernelFate::Forwarded { oif: "wan0".into() });

    let got: Vec<_> = t[1]
        .steps
        .iter()
        .map(|s| (s.rule(), s.verdict.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (r(fwd, 1), KernelVerdict::jump("checks")),
            (r(checks, 0), KernelVerdict::of(NfVerdict::Return)),
            (None, KernelVerdict::of(NfVerdict::Drop)),
        ],
        "{}",
        report::verify::kernel_walk(&t[1])
    );
    assert_eq!(t[1].steps[2].event.kind, StepKind::Policy);
    assert_eq!(t[1].fate, KernelFate::Dropped { step: 2 });
}

#[test]
fn dnat_shows_the_translated_headers_at_the_end_of_postrouting() {
    if !common::kernel_tests_enabled("dnat_shows_the_translated_headers_at_the_end_of_postrouting")
    {
        return;
    }
    let rules = "\
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i lan0 -p tcp --dport 1222 -j DNAT --to-destination 10.1.0.10:22
COMMIT
";
    let p = common::tcp("10.1.1.2", 57522, "10.1.1.1", 1222, "S", Some("lan0"), None);
    let mut host = Host::default();
    host.known.addresses = false;
    let (src, rs) = common::iptables("nat.v4", rules);
    // The DNAT target 10.1.0.10 sits behind wan0.
    let mut wan = p.clone();
    wan.dst = "10.1.0.10".parse().unwrap();
    wan.oif = Some("wan0".into());
    let th = TestHost::for_packets(&host, &[p.clone(), wan]).unwrap();
    let mut o = Oracle::new(th).unwrap();
    o.load(&[(src, Family::Ip)]).unwrap();
    let t = o.run(&rs, std::slice::from_ref(&p)).unwrap().remove(0);
    assert_eq!(
        t.fate,
        KernelFate::Forwarded { oif: "wan0".into() },
        "{}",
        report::verify::kernel_walk(&t)
    );
    let h = t.final_headers.unwrap();
    assert_eq!(
        (h.dst.to_string().as_str(), h.ports),
        ("10.1.0.10", Some((57522, 22)))
    );
    assert_eq!(t.ct_state, Some(model::kernel_walk::CtSeen::New));
}

#[test]
fn a_bad_rule_is_reported_at_its_line() {
    if !common::kernel_tests_enabled("a_bad_rule_is_reported_at_its_line") {
        return;
    }
    let host = TestHost::for_packets(&Host::default(), &[]).unwrap();
    let mut o = Oracle::new(host).unwrap();
    let bad = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp --dprt 23 -j DROP\nCOMMIT\n";
    let err = o
        .load(&[(model::SourceFile::new("rules.v4", bad), Family::Ip)])
        .unwrap_err();
    match &err {
        LiveError::Load {
            file, line, text, ..
        } => {
            assert_eq!((file.as_str(), *line), ("rules.v4", Some(4)));
            assert_eq!(text, "-A INPUT -p tcp --dprt 23 -j DROP");
        }
        other => panic!("expected a load error, got {other}"),
    }
    assert!(err.to_string().starts_with("rules.v4:4: "), "{err}");
    let nft = "table inet f {\n  chain c {\n    type filter hook input priority 0;\n    tcp dport 22 acept\n  }\n}\n";
    let err = o
        .load(&[(model::SourceFile::new("fw.nft", nft), Family::Inet)])
        .unwrap_err();
    assert!(
        matches!(err, LiveError::Load { line: Some(4), .. }),
        "{err}"
    );
}

#[test]
fn lost_events_fail_the_run() {
    if !common::kernel_tests_enabled("lost_events_fail_the_run") {
        return;
    }
    let packets: Vec<_> = (0..400)
        .map(|i| {
            common::tcp(
                "10.1.1.2",
                20000 + i,
                "10.1.1.1",
                22,
                "S",
                Some("lan0"),
                None,
            )
        })
        .collect();
    let (src, rs) = common::iptables("rules.v4", THREE_RULES);
    let host = TestHost::for_packets(&Host::default(), &packets[..1]).unwrap();
    // A tiny receive buffer: the batch's events cannot fit before we read.
    let mut o = Oracle::with_rcvbuf(host, 4096).unwrap();
    o.load(&[(src, Family::Ip)]).unwrap();
    match o.run(&rs, &packets) {
        Err(LiveError::TraceLoss { detail }) => eprintln!("loss detected as expected: {detail}"),
        Err(e) => panic!("expected TraceLoss, got {e}"),
        Ok(_) => panic!("400 packets fit a 4 KiB buffer: loss detection untested"),
    }
}

#[test]
fn throughput_of_injection_and_tracing() {
    if !common::kernel_tests_enabled("throughput_of_injection_and_tracing") {
        return;
    }
    let n: u16 = 2000;
    let packets: Vec<_> = (0..n)
        .map(|i| {
            common::tcp(
                "10.1.1.2",
                10000 + i,
                "10.1.1.1",
                22 + (i % 4),
                "S",
                Some("lan0"),
                None,
            )
        })
        .collect();
    let (mut o, rs) = oracle_for(&packets[..1], THREE_RULES);
    let t = o.run(&rs, &packets).unwrap();
    assert_eq!(t.len(), n as usize);
    assert!(t.iter().all(|k| !k.steps.is_empty()), "every packet traced");
    let s = o.stats;
    eprintln!(
        "{} packets in {} batches, {} events: injected {:.0} packets/s, traced end to end {:.0} packets/s",
        s.packets,
        s.batches,
        s.events,
        s.packets as f64 / s.inject_time.as_secs_f64(),
        s.packets as f64 / s.total_time.as_secs_f64()
    );
}
