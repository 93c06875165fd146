//! The kernel as the judge of issue 11 A8's semantics, through `verify` (the packet through
//! a throwaway router in network namespaces, compared with the engine):
//! - forwarding decrements the TTL before the FORWARD hook (`ip_forward()` calls
//!   `ip_decrease_ttl()` before `NF_HOOK(NF_INET_FORWARD)`), while PREROUTING sees the
//!   arrival TTL: a LOG rule in FORWARD prints what `-m ttl` there matches, one less than
//!   the packet arrived with (so `--from-log` adds one back for a forwarded line);
//! - an ICMP error that quotes no tracked flow is `ct state invalid` (`icmp_error_message`
//!   finds no connection and attaches none; the injected error quotes a zeroed header, in
//!   a namespace whose table is empty);
//! - port 0 is forwarded like any other port.
#![allow(clippy::print_stderr)]
mod common;

use model::kernel_walk::KernelFate;
use model::packet::L4;
use model::{Family, Hook, Host, Packet};

fn verify(name: &str, rules: &str, host: &Host, packet: &Packet) -> analysis::agree::Verification {
    let (src, rs) = common::iptables("rules.v4", rules);
    let r = oracle::verify(&[(src, Family::Ip)], &rs, host, packet).unwrap();
    eprintln!("--- {name}\n{}", report::verify::render_text(&r));
    assert!(
        r.engine_error.is_none(),
        "{name}: engine failed: {:?}",
        r.engine_error
    );
    r
}

/// A SYN from the LAN to the WAN side, arriving with `ttl`.
fn forwarded_syn(ttl: u8, dport: u16) -> Packet {
    let mut p = common::tcp(
        "10.1.1.2",
        40000,
        "10.1.0.10",
        dport,
        "S",
        Some("lan0"),
        Some("wan0"),
    );
    p.ttl = ttl;
    p
}

#[test]
fn a8_forward_hook_sees_the_ttl_after_forwarding_decremented_it() {
    if !common::kernel_tests_enabled("a8_forward_hook_sees_the_ttl_after_forwarding_decremented_it")
    {
        return;
    }
    // PREROUTING drops TTL 63, FORWARD drops TTL 63: a SYN arriving with TTL 64 passes
    // PREROUTING and is dropped in FORWARD, where its TTL is 63.
    let rules = "\
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -m ttl --ttl-eq 63 -j DROP
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m ttl --ttl-eq 63 -j DROP
COMMIT
";
    let dropped_at = |r: &analysis::agree::Verification| match r.kernel.fate {
        KernelFate::Dropped { step } => r.kernel.steps[step].hook,
        ref other => panic!("not dropped: {other:?}\n{}", report::verify::render_text(r)),
    };
    let r = verify("ttl 64", rules, &common::router(), &forwarded_syn(64, 22));
    assert_eq!(dropped_at(&r), Some(Hook::Forward));
    assert!(r.agree, "{}", report::verify::render_text(&r));

    // Arriving with 63, PREROUTING drops it: the arrival TTL is what PREROUTING sees.
    let r = verify("ttl 63", rules, &common::router(), &forwarded_syn(63, 22));
    assert_eq!(dropped_at(&r), Some(Hook::Prerouting));
    assert!(r.agree, "{}", report::verify::render_text(&r));
}

#[test]
fn a8_icmp_error_quoting_no_tracked_flow_is_ct_state_invalid() {
    if !common::kernel_tests_enabled("a8_icmp_error_quoting_no_tracked_flow_is_ct_state_invalid") {
        return;
    }
    let rules = "\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
COMMIT
";
    // The namespace's conntrack table is empty: given as such to the engine.
    let mut host = common::router();
    host.known.conntrack = true;
    let mut error = Packet::new(
        "10.1.1.2".parse().unwrap(),
        "10.1.0.10".parse().unwrap(),
        L4::Icmp {
            icmp_type: 3,
            code: 3,
            id: 0,
        },
    );
    error.iif = Some("lan0".into());
    error.oif = Some("wan0".into());
    let r = verify("icmp port unreachable, no entry", rules, &host, &error);
    assert!(
        matches!(r.kernel.fate, KernelFate::Dropped { .. }),
        "{}",
        report::verify::render_text(&r)
    );
    assert!(r.agree, "{}", report::verify::render_text(&r));
}

#[test]
fn a8_port_zero_is_forwarded_like_any_other_port() {
    if !common::kernel_tests_enabled("a8_port_zero_is_forwarded_like_any_other_port") {
        return;
    }
    let rules =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let r = verify("dport 0", rules, &common::router(), &forwarded_syn(64, 0));
    assert_eq!(r.kernel.fate, KernelFate::Forwarded { oif: "wan0".into() });
    assert!(r.agree, "{}", report::verify::render_text(&r));
}
