//! Helpers shared by the kernel-backed test suites of every crate (oracle, live, cli): the
//! root check (a loud skip, or a failure under `CI=true`) and small builders of rulesets,
//! packets and a router host.
#![allow(clippy::print_stderr)]

use model::{Family, Packet, Ruleset, SourceFile, TcpFlags, L4};

/// Whether kernel-backed tests can run. Not root: prints a loud SKIP and returns false,
/// except under `CI=true`, where not being root is a failure.
pub fn kernel_tests_enabled(test: &str) -> bool {
    if oracle::is_root() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: kernel-backed test needs root, and CI=true forbids skipping");
    }
    eprintln!("SKIP (not root): {test} needs root (network namespaces, netfilter tracing)");
    false
}

pub fn iptables(name: &str, text: &str) -> (SourceFile, Ruleset) {
    let src = SourceFile::new(name, text);
    let rs = frontends::iptables_save::parse(&src, Some(Family::Ip)).expect("test ruleset parses");
    (src, rs)
}

pub fn tcp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    flags: &str,
    iif: Option<&str>,
    oif: Option<&str>,
) -> Packet {
    let mut p = Packet::new(
        src.parse().unwrap(),
        dst.parse().unwrap(),
        L4::Tcp {
            sport,
            dport,
            flags: TcpFlags::from_letters(flags).unwrap(),
        },
    );
    p.iif = iif.map(str::to_string);
    p.oif = oif.map(str::to_string);
    p
}

pub fn udp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    iif: Option<&str>,
    oif: Option<&str>,
) -> Packet {
    let mut p = Packet::new(
        src.parse().unwrap(),
        dst.parse().unwrap(),
        L4::Udp { sport, dport },
    );
    p.iif = iif.map(str::to_string);
    p.oif = oif.map(str::to_string);
    p
}

/// No `wb*` namespace of this process remains.
pub fn assert_no_namespaces_of_this_process() {
    let me = std::process::id();
    let left: Vec<String> = oracle::netns::list_ours()
        .into_iter()
        .filter(|n| oracle::netns::creator_pid(n) == Some(me))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}

/// Deletes a lab's namespaces and checks they are gone (tests of one file run in parallel
/// in one process: each checks its own).
pub fn close_lab(lab: crate::lab::Lab) {
    let names = lab.oracle.host.namespace_names();
    drop(lab);
    let left: Vec<String> = oracle::netns::list_ours()
        .into_iter()
        .filter(|n| names.contains(n))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}

/// Prints each disagreement with the kernel and fails when there is any.
pub fn assert_no_disagreements(failures: &[String]) {
    for f in failures {
        eprintln!("DISAGREEMENT {f}");
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s), see above",
        failures.len()
    );
}

/// A router: lan0 10.1.1.1/24, wan0 10.1.0.1/24, connected routes, forwarding on (user
/// story 3's shape).
pub fn router() -> model::Host {
    use model::host::{IfAddr, Interface, Route, RouteType, Scope};
    let mut h = model::Host::default();
    for (name, a, net) in [
        ("lan0", "10.1.1.1", "10.1.1.0/24"),
        ("wan0", "10.1.0.1", "10.1.0.0/24"),
    ] {
        h.interfaces.push(Interface {
            name: name.into(),
            up: true,
            addrs: vec![IfAddr {
                addr: a.parse().unwrap(),
                prefix_len: 24,
                scope: Scope::Universe,
                broadcast: None,
                temporary: false,
                secondary: false,
            }],
            ..Interface::default()
        });
        h.routes.push(Route {
            table: 254,
            dst: net.parse().unwrap(),
            route_type: RouteType::Unicast,
            gateway: None,
            dev: Some(name.into()),
            prefsrc: Some(a.parse().unwrap()),
            metric: 0,
            scope: Scope::Link,
            protocol: Some("kernel".into()),
            nexthops: vec![],
            text: format!("{net} dev {name} proto kernel scope link src {a}"),
        });
    }
    h.sysctls.0.insert("net.ipv4.ip_forward".into(), "1".into());
    h.known.addresses = true;
    h.known.routes = true;
    h.known.sysctls = true;
    h
}

/// A whole number from the environment (case counts, seeds of the differential tests).
pub fn env_usize(k: &str) -> Option<usize> {
    std::env::var(k).ok().and_then(|v| v.parse().ok())
}
