//! The kernel's word on the reasons of part 5 of issue 10: the wg-quick host (the engine's
//! `tests/fixtures/wg-quick-host`, recorded from `ip -j` in a namespace set up with
//! wg-quick's own `ip rule`/`ip route` commands, WireGuard/wireguard-tools
//! src/wg-quick/linux.bash `add_default`) is rebuilt in network namespaces, the packet is
//! sent, and the kernel must lose it exactly where the engine says and for the reason the
//! engine gives (rp_filter 1: no verdict, the packet vanishes in routing; nft `fib saddr .
//! iif oif missing drop`: that rule drops it), while a source routed back by the arrival
//! interface gets through.
#![allow(clippy::print_stderr)]
mod common;

use engine::{Cause, RpfCheck, RpfMiss};
use model::kernel_walk::KernelFate;
use model::{Family, Host, Packet, Ruleset, SourceFile};
use std::path::Path;

fn wg_quick_host() -> Host {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures/wg-quick-host");
    frontends::host::host_dir::load(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .host
}

fn verify(rules: &str, host: &Host, packet: &Packet) -> analysis::agree::Verification {
    let src = SourceFile::new("rules.nft", rules);
    let rs: Ruleset = frontends::nft::parse_text(&src).unwrap_or_else(|e| panic!("{e}"));
    let v = oracle::verify(&[(src, Family::Inet)], &rs, host, packet)
        .unwrap_or_else(|e| panic!("verify: {e}"));
    eprintln!("{}", report::verify::render_text(&v));
    v
}

fn engine_cause(v: &analysis::agree::Verification) -> Option<Cause> {
    v.engine.as_ref().and_then(|o| o.primary().cause.clone())
}

/// An empty inet table: the kernel needs a ruleset to trace through.
const ACCEPT_ALL: &str = "table inet wbh6 {\n chain pre {\n  type filter hook prerouting priority 0; policy accept;\n }\n chain in {\n  type filter hook input priority 0; policy accept;\n }\n}\n";

const FIB_RPF: &str = "table inet wbh6 {\n chain pre {\n  type filter hook prerouting priority raw; policy accept;\n  fib saddr . iif oif missing drop\n }\n chain in {\n  type filter hook input priority 0; policy accept;\n }\n}\n";

/// One test (the namespace check at its end needs no other test of this file running).
#[test]
fn kernel_agrees_on_the_wg_quick_reverse_path_reasons() {
    if !common::kernel_tests_enabled("kernel_agrees_on_the_wg_quick_reverse_path_reasons") {
        return;
    }
    // rp_filter 1: no verdict, the kernel loses the packet in routing. A neighbour on
    // eth0's subnet is routed back by eth0 (main, /24, not suppressed).
    let sysctl = lost_then_passes(ACCEPT_ALL, ("203.0.113.5", "192.0.2.7", "192.0.2.10"));
    assert!(
        matches!(sysctl.0, KernelFate::Vanished { .. }),
        "{:?}",
        sysctl.0
    );
    assert!(matches!(sysctl.1, RpfCheck::Sysctl { mode: 1, .. }));
    // The nft fib rule, IPv6: the rule drops it.
    let rule = lost_then_passes(
        FIB_RPF,
        ("2001:db8:99::5", "2001:db8:1::7", "2001:db8:1::10"),
    );
    assert!(matches!(rule.0, KernelFate::Dropped { .. }), "{:?}", rule.0);
    assert!(matches!(rule.1, RpfCheck::Rule { loose: false, .. }));
    common::assert_no_namespaces_of_this_process();
}

/// Sends a SYN from `far` (routed back by wg0) and from `near` (routed back by eth0) to
/// `dst` on eth0: the kernel must stop the first and deliver the second, agreeing with the
/// engine, whose reason for the first is a reverse lookup leaving by wg0. Returns the
/// kernel's fate of the first and the engine's check.
fn lost_then_passes(rules: &str, (far, near, dst): (&str, &str, &str)) -> (KernelFate, RpfCheck) {
    let host = wg_quick_host();
    let syn = |src| common::tcp(src, 40000, dst, 22, "S", Some("eth0"), None);
    let v = verify(rules, &host, &syn(far));
    assert!(v.agree, "engine and kernel disagree on {far}");
    let Some(Cause::RpFilter {
        check,
        lookup: Some(l),
    }) = engine_cause(&v)
    else {
        panic!("no rp_filter reason for {far}");
    };
    assert_eq!(
        l.miss,
        RpfMiss::OtherInterface {
            via: Some("wg0".into())
        }
    );
    let stopped = v.kernel.fate;
    let v = verify(rules, &host, &syn(near));
    assert_eq!(v.kernel.fate, KernelFate::Delivered);
    assert!(v.agree, "engine and kernel disagree on {near}");
    assert_eq!(engine_cause(&v), None);
    (stopped, check)
}
