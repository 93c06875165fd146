//! The test host builder: namespaces are created as the host model says and always deleted.
mod common;

use ipnet::IpNet;
use model::host::{IfAddr, Interface, Route, RouteType, Scope};
use model::Host;
use oracle::netns::{self, Plan, TestHost};
use std::sync::Mutex;

fn addr(a: &str, p: u8) -> IfAddr {
    IfAddr {
        addr: a.parse().unwrap(),
        prefix_len: p,
        scope: Scope::Universe,
        broadcast: None,
        temporary: false,
        secondary: false,
        deprecated: false,
        dad: model::host::DadState::Done,
    }
}

fn router_host() -> Host {
    let mut h = Host::default();
    for (name, a4, a6) in [
        ("lan0", "192.168.60.1", "fd60::1"),
        ("wan0", "192.168.70.1", "fd70::1"),
    ] {
        h.interfaces.push(Interface {
            name: name.into(),
            up: true,
            addrs: vec![addr(a4, 24), addr(a6, 64)],
            ..Interface::default()
        });
    }
    h.routes.push(Route {
        table: 100,
        dst: "10.9.0.0/16".parse::<IpNet>().unwrap(),
        route_type: RouteType::Unicast,
        gateway: Some("192.168.70.254".parse().unwrap()),
        dev: Some("wan0".into()),
        prefsrc: None,
        metric: 0,
        scope: Scope::Universe,
        protocol: None,
        nexthops: vec![],
        text: String::new(),
    });
    h.known.addresses = true;
    h.known.routes = true;
    h.sysctls
        .0
        .insert("net.ipv4.conf.lan0.rp_filter".into(), "2".into());
    h
}

fn exists(name: &str) -> bool {
    std::path::Path::new(&format!("/run/netns/{name}")).exists()
}

#[test]
fn builds_the_host_and_tears_it_down() {
    if !common::kernel_tests_enabled("builds_the_host_and_tears_it_down") {
        return;
    }
    let host = TestHost::build(&Plan::new(&router_host(), &[])).unwrap();
    let names = host.namespace_names();
    assert_eq!(names.len(), 3, "router and two peers: {names:?}");
    assert!(names.iter().all(|n| n.starts_with("wb") && exists(n)));
    assert_eq!(netns::creator_pid(&names[0]), Some(std::process::id()));

    let r = host.router.name();
    let addrs = host.router.exec("ip", &["-br", "addr"], None).unwrap();
    assert!(
        addrs.contains("lan0@")
            && addrs.contains("192.168.60.1/24")
            && addrs.contains("fd70::1/64"),
        "{addrs}"
    );
    let routes = host
        .router
        .exec("ip", &["route", "show", "table", "100"], None)
        .unwrap();
    assert!(
        routes.contains("10.9.0.0/16 via 192.168.70.254 dev wan0"),
        "{routes}"
    );
    let fwd = host
        .router
        .exec(
            "sysctl",
            &["-n", "net.ipv4.ip_forward", "net.ipv4.conf.lan0.rp_filter"],
            None,
        )
        .unwrap();
    assert_eq!(
        fwd.split_whitespace().collect::<Vec<_>>(),
        ["1", "2"],
        "in {r}"
    );
    // The gateway lives in wan0's peer, which can reach the router.
    let peer = host.peer_of("wan0").unwrap();
    assert!(peer
        .addrs
        .iter()
        .any(|a| a.addr().to_string() == "192.168.70.254"));
    peer.ns
        .exec("ping", &["-c1", "-W2", "192.168.70.1"], None)
        .map(|_| ())
        .unwrap_or_else(|e| {
            // ping may be missing; the address check above is the essential part.
            assert!(e.to_string().contains("ping"), "{e}");
        });
    // The root namespace is untouched: no `lan0` there.
    assert!(!std::path::Path::new("/sys/class/net/lan0").exists());

    drop(host);
    for n in &names {
        assert!(!exists(n), "{n} left behind");
    }
}

#[test]
fn namespaces_are_deleted_when_a_test_panics() {
    if !common::kernel_tests_enabled("namespaces_are_deleted_when_a_test_panics") {
        return;
    }
    let created = Mutex::new(Vec::new());
    let result = std::panic::catch_unwind(|| {
        let host = TestHost::build(&Plan::new(&router_host(), &[])).unwrap();
        created.lock().unwrap().extend(host.namespace_names());
        panic!("a failing test");
    });
    assert!(result.is_err());
    let created = created.into_inner().unwrap();
    assert_eq!(created.len(), 3);
    for n in &created {
        assert!(!exists(n), "{n} survived the panic");
    }
}

#[test]
fn sweep_deletes_namespaces_of_dead_processes_only() {
    if !common::kernel_tests_enabled("sweep_deletes_namespaces_of_dead_processes_only") {
        return;
    }
    // pid_max is at most 2^22, so this pid cannot exist.
    let stale = "wb4194399_0stale";
    oracle::netns::list_ours();
    std::process::Command::new("ip")
        .args(["netns", "add", stale])
        .status()
        .unwrap();
    let host = TestHost::build(&Plan::new(&router_host(), &[])).unwrap();
    // Other tests of this binary sweep in parallel, so the stale namespace may be gone by
    // another thread's sweep: what matters is that it is gone and live ones are not.
    let deleted = oracle::sweep_stale().unwrap();
    assert!(
        !exists(stale),
        "stale namespace left; this sweep deleted {deleted:?}"
    );
    assert!(
        host.namespace_names().iter().all(|n| exists(n)),
        "a live process's namespaces were swept"
    );
}

/// Several processes sweep at once (tests run in parallel, each `verify` sweeps first): the
/// one that loses the race to delete a stale namespace must not fail. CI once failed here.
#[test]
fn concurrent_sweeps_all_succeed() {
    if !common::kernel_tests_enabled("concurrent_sweeps_all_succeed") {
        return;
    }
    // pid_max is at most 2^22: these pids cannot exist.
    let stale: Vec<String> = (0..24).map(|i| format!("wb4194398_{i}race")).collect();
    for name in &stale {
        std::process::Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .unwrap();
    }
    let results: Vec<_> = std::thread::scope(|s| {
        let sweeps: Vec<_> = (0..8).map(|_| s.spawn(oracle::sweep_stale)).collect();
        sweeps.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &results {
        assert!(r.is_ok(), "a sweep failed: {r:?}");
    }
    for name in &stale {
        assert!(!exists(name), "{name} survived the sweeps");
    }
}

#[test]
fn packets_without_host_state_get_interfaces_and_routes() {
    if !common::kernel_tests_enabled("packets_without_host_state_get_interfaces_and_routes") {
        return;
    }
    let p = common::tcp(
        "10.1.1.2",
        1050,
        "10.1.0.2",
        2175,
        "S",
        Some("tap0"),
        Some("eno1"),
    );
    let host = TestHost::for_packets(&Host::default(), &[p]).unwrap();
    assert!(host.iface("tap0").is_some() && host.iface("eno1").is_some());
    let route = host
        .router
        .exec("ip", &["route", "get", "10.1.0.2"], None)
        .unwrap();
    assert!(route.contains("dev eno1"), "{route}");
    let back = host
        .router
        .exec("ip", &["route", "get", "10.1.1.2"], None)
        .unwrap();
    assert!(back.contains("dev tap0"), "{back}");
}
