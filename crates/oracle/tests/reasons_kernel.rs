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
    rp_filter_drops_what_the_wg_quick_lookup_sends_to_wg0();
    fib_rpfilter_rule_drops_what_the_wg_quick_lookup_sends_to_wg0();
    common::assert_no_namespaces_of_this_process();
}

fn rp_filter_drops_what_the_wg_quick_lookup_sends_to_wg0() {
    let host = wg_quick_host();
    let from_internet = common::tcp(
        "203.0.113.5",
        40000,
        "192.0.2.10",
        22,
        "S",
        Some("eth0"),
        None,
    );
    let v = verify(ACCEPT_ALL, &host, &from_internet);
    assert!(
        matches!(v.kernel.fate, KernelFate::Vanished { .. }),
        "the kernel let it through: {:?}",
        v.kernel.fate
    );
    assert!(v.agree, "engine and kernel disagree");
    assert!(matches!(
        engine_cause(&v),
        Some(Cause::RpFilter {
            check: RpfCheck::Sysctl { mode: 1, .. },
            lookup: Some(l),
        }) if l.miss == RpfMiss::OtherInterface { via: Some("wg0".into()) }
    ));
    // A neighbour on eth0's subnet is routed back by eth0 (main, /24, not suppressed).
    let neighbour = common::tcp(
        "192.0.2.7",
        40000,
        "192.0.2.10",
        22,
        "S",
        Some("eth0"),
        None,
    );
    let v = verify(ACCEPT_ALL, &host, &neighbour);
    assert_eq!(v.kernel.fate, KernelFate::Delivered);
    assert!(v.agree);
    assert_eq!(engine_cause(&v), None);
}

fn fib_rpfilter_rule_drops_what_the_wg_quick_lookup_sends_to_wg0() {
    let host = wg_quick_host();
    let from_internet = common::tcp(
        "2001:db8:99::5",
        40000,
        "2001:db8:1::10",
        22,
        "S",
        Some("eth0"),
        None,
    );
    let v = verify(FIB_RPF, &host, &from_internet);
    assert!(
        matches!(v.kernel.fate, KernelFate::Dropped { .. }),
        "the kernel did not drop it: {:?}",
        v.kernel.fate
    );
    assert!(v.agree, "engine and kernel disagree");
    assert!(matches!(
        engine_cause(&v),
        Some(Cause::RpFilter {
            check: RpfCheck::Rule { loose: false, .. },
            lookup: Some(l),
        }) if l.miss == RpfMiss::OtherInterface { via: Some("wg0".into()) }
    ));
    let neighbour = common::tcp(
        "2001:db8:1::7",
        40000,
        "2001:db8:1::10",
        22,
        "S",
        Some("eth0"),
        None,
    );
    let v = verify(FIB_RPF, &host, &neighbour);
    assert_eq!(v.kernel.fate, KernelFate::Delivered);
    assert!(v.agree);
}
