//! `verify` and the differential table: the engine's prediction against the kernel's walk.
#![allow(clippy::print_stderr)]
mod common;

use model::{Family, Packet};

const RULES: &str = "\
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i lan0 -p tcp --dport 1222 -j DNAT --to-destination 10.1.0.10:22
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:checks - [0:0]
-A FORWARD -p tcp --dport 22 -j ACCEPT
-A FORWARD -p tcp --dport 23 -j DROP
-A FORWARD -p tcp --dport 24 -j REJECT --reject-with tcp-reset
-A FORWARD -p udp --dport 25 -j REJECT --reject-with icmp-port-unreachable
-A FORWARD -j checks
-A checks -p tcp --dport 80 -j RETURN
-A checks -p tcp --dport 81 -j ACCEPT
COMMIT
";

fn fwd(proto: &str, dport: u16) -> Packet {
    match proto {
        "tcp" => common::tcp(
            "10.1.1.2",
            30000 + dport,
            "10.1.0.10",
            dport,
            "S",
            Some("lan0"),
            Some("wan0"),
        ),
        _ => common::udp(
            "10.1.1.2",
            30000 + dport,
            "10.1.0.10",
            dport,
            Some("lan0"),
            Some("wan0"),
        ),
    }
}

fn run(name: &str, packet: Packet) -> Option<analysis::agree::Verification> {
    let (src, rs) = common::iptables("rules.v4", RULES);
    let report = oracle::verify(&[(src, Family::Ip)], &rs, &common::router(), &packet).unwrap();
    eprintln!("--- {name}\n{}", report::verify::render_text(&report));
    Some(report)
}

#[test]
fn verify_compares_the_kernel_with_the_engine() {
    if !common::kernel_tests_enabled("verify_compares_the_kernel_with_the_engine") {
        return;
    }
    let r = run("accept", fwd("tcp", 22)).unwrap();
    assert_eq!(
        r.kernel.fate,
        model::kernel_walk::KernelFate::Forwarded { oif: "wan0".into() }
    );
    assert!(
        r.kernel.steps.iter().any(|s| s.rule().is_some()),
        "kernel steps mapped to rules"
    );
    // The engine must have run and agreed; if it failed, say why.
    assert!(
        r.engine_error.is_none(),
        "engine failed: {:?}",
        r.engine_error
    );
    assert!(r.agree, "{}", report::verify::render_text(&r));
}

/// Engine vs kernel on the basic verdicts (issue 3): every case must agree.
#[test]
fn differential_table() {
    if !common::kernel_tests_enabled("differential_table") {
        return;
    }
    let mut dnat = common::tcp("10.1.1.2", 57522, "10.1.1.1", 1222, "S", Some("lan0"), None);
    dnat.oif = None;
    let cases = [
        ("ACCEPT", fwd("tcp", 22)),
        ("DROP", fwd("tcp", 23)),
        ("REJECT tcp-reset", fwd("tcp", 24)),
        ("REJECT icmp-port-unreachable", fwd("udp", 25)),
        ("policy drop", fwd("tcp", 99)),
        ("jump/return", fwd("tcp", 80)),
        ("jump/accept", fwd("tcp", 81)),
        ("DNAT port (user story 3)", dnat),
        (
            "local delivery, INPUT policy",
            common::tcp("10.1.1.2", 40022, "10.1.1.1", 22, "S", Some("lan0"), None),
        ),
    ];
    let mut disagreements = Vec::new();
    for (name, p) in cases {
        let r = run(name, p).unwrap();
        if !r.agree {
            disagreements.push(format!(
                "{name}: {}",
                report::verify::first_divergence(&r)
                    .or(r.engine_error.clone())
                    .unwrap_or_default()
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "engine and kernel disagree:\n{}",
        disagreements.join("\n")
    );
}

/// A `*nat` section that declares chains but holds no rule (resolved, issue 3 part 8): the
/// kernel registers conntrack in a namespace only while a rule needs it
/// (`nf_ct_netns_get`: a conntrack match, a NAT target ...), and without conntrack
/// `nf_nat_inet_fn` never runs the nat chains, so the trace shows none; the engine now
/// models that (`engine::prepared::conntrack_used`). The nat INPUT chain the file never
/// declared exists in the model (the front end creates every built-in chain, as
/// iptables-legacy would) but not in the kernel (iptables-nft creates only declared
/// chains); the comparison leaves such empty accept chains out.
#[test]
fn ruleless_nat_chains() {
    if !common::kernel_tests_enabled("ruleless_nat_chains") {
        return;
    }
    let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
    let (src, rs) = common::iptables("rules.v4", rules);
    let p = common::tcp("10.1.1.2", 40022, "10.1.1.1", 22, "S", Some("lan0"), None);
    let r = oracle::verify(&[(src, Family::Ip)], &rs, &common::router(), &p).unwrap();
    assert!(r.agree, "{}", report::verify::render_text(&r));
    // With conntrack on (a conntrack match), the declared nat chains run; the undeclared
    // nat INPUT does not exist in the kernel.
    let rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";
    let (src, rs) = common::iptables("rules.v4", rules);
    let r = oracle::verify(&[(src, Family::Ip)], &rs, &common::router(), &p).unwrap();
    assert!(r.agree, "{}", report::verify::render_text(&r));
    assert!(
        r.kernel.steps.iter().any(|s| s.event.table == "nat"),
        "{}",
        report::verify::render_text(&r)
    );
}
