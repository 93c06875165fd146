//! The `ip -j link` and `ip -j neigh` readers against the kernel: a namespace is configured
//! (MTUs, a bridge and its port, a device without carrier, one without addresses, neighbour
//! entries by hand and by resolution), the real commands run in it, and what the readers
//! make of their output must be what was configured.
#![allow(clippy::print_stderr)]
mod common;

use frontends::host::iproute::{merge_links, parse_addrs, parse_links, parse_neighbours};
use model::host::{Interface, Neighbour, NeighbourState};
use model::packet::Mac;
use model::SourceFile;
use oracle::netns::Netns;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const MAC_A: &str = "52:54:00:21:00:01";
const MAC_B: &str = "52:54:00:21:00:02";

/// `A` (the host read) and `B` (its neighbour on veth0), configured as the module doc says.
fn build() -> (Netns, Netns) {
    let a = Netns::standalone("rda").unwrap();
    let b = Netns::standalone("rdb").unwrap();
    let quiet: Vec<(String, String)> = [
        "net.ipv6.conf.all.accept_dad",
        "net.ipv6.conf.default.accept_dad",
        "net.ipv6.conf.default.accept_ra",
        "net.ipv6.conf.default.router_solicitations",
    ]
    .iter()
    .map(|k| (k.to_string(), "0".to_string()))
    .collect();
    a.set_sysctls(&quiet).unwrap();
    b.set_sysctls(&quiet).unwrap();
    a.ip_batch(
        None,
        &format!(
            "link set lo up
link add veth0 type veth peer name veth0 netns {b}
link set veth0 mtu 1400 address {MAC_A}
addr add 10.21.0.1/24 brd + dev veth0
addr add fd00:21::1/64 dev veth0 nodad
link set veth0 up
link add br0 type bridge
link add port0 type veth peer name port0p
link set port0 master br0
link set br0 up
link set port0 up
link set port0p up
link add veth1 type veth peer name veth1p
link set veth1 up
link add idle0 type veth peer name idle0p
neigh add 10.21.0.50 lladdr 02:00:00:00:00:50 dev veth0 nud permanent
neigh add 10.21.0.51 lladdr 02:00:00:00:00:51 dev veth0 nud stale
neigh add fd00:21::50 lladdr 02:00:00:00:00:50 dev veth0 nud permanent
neigh add fd00:21::60 lladdr 02:00:00:00:00:60 dev veth0 router nud stale
",
            b = b.name()
        ),
    )
    .unwrap();
    b.ip_batch(
        None,
        &format!(
            "link set lo up
link set veth0 address {MAC_B}
addr add 10.21.0.2/24 brd + dev veth0
addr add fd00:21::2/64 dev veth0 nodad
link set veth0 up
"
        ),
    )
    .unwrap();
    (a, b)
}

fn ip_json(ns: &Netns, args: &[&str]) -> SourceFile {
    let out = ns.exec("ip", args, None).unwrap();
    SourceFile::new(format!("ip {}", args.join(" ")), out)
}

/// Whether `addr` answers one echo request within a second.
fn ping(ns: &Netns, addr: &str) -> bool {
    ns.exec("ping", &["-c1", "-W1", addr], None).is_ok()
}

/// Pings until `addr` answers, at most five times: IPv6 on a veth that just came up waits
/// for the link watcher (up to a second) before it sends anything.
fn ping_until_answered(ns: &Netns, addr: &str) -> bool {
    (0..5).any(|_| ping(ns, addr))
}

fn addr(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn entry<'a>(table: &'a [Neighbour], dst: &str) -> &'a Neighbour {
    table
        .iter()
        .find(|n| n.addr == addr(dst))
        .unwrap_or_else(|| panic!("no neighbour {dst} in {table:?}"))
}

fn iface<'a>(ifs: &'a [Interface], name: &str) -> &'a Interface {
    ifs.iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no {name} in {ifs:?}"))
}

#[test]
fn link_reader_sees_the_configured_devices() {
    if !common::kernel_tests_enabled("link_reader_sees_the_configured_devices") {
        return;
    }
    let (a, b) = build();
    for args in [&["-j", "-d", "link"][..], &["-j", "link"][..]] {
        let detailed = args.contains(&"-d");
        let links = parse_links(&ip_json(&a, args)).unwrap();
        let veth0 = iface(&links, "veth0");
        assert_eq!(
            (veth0.mtu, veth0.up, veth0.lower_up, veth0.mac),
            (Some(1400), true, Some(true), Mac::parse(MAC_A)),
            "{args:?}"
        );
        let kind = |name: &str| iface(&links, name).kind.clone();
        if detailed {
            assert_eq!(kind("veth0").as_deref(), Some("veth"));
            assert_eq!(kind("br0").as_deref(), Some("bridge"));
        } else {
            assert!(links.iter().all(|i| i.kind.is_none()), "{links:?}");
        }
        assert_eq!(iface(&links, "port0").master.as_deref(), Some("br0"));
        let veth1 = iface(&links, "veth1");
        assert_eq!((veth1.up, veth1.lower_up), (true, Some(false)), "peer down");
        let idle0 = iface(&links, "idle0");
        assert_eq!((idle0.up, idle0.lower_up), (false, Some(false)));
    }
    let peer = parse_links(&ip_json(&b, &["-j", "link"])).unwrap();
    assert_eq!(
        iface(&peer, "veth0").mtu,
        Some(1500),
        "the other side keeps 1500"
    );

    let mut ifs = parse_addrs(&ip_json(&a, &["-j", "addr"])).unwrap();
    merge_links(
        &mut ifs,
        parse_links(&ip_json(&a, &["-j", "-d", "link"])).unwrap(),
    );
    assert!(iface(&ifs, "veth0")
        .addrs
        .iter()
        .any(|x| x.addr == addr("10.21.0.1")));
    assert_eq!(iface(&ifs, "veth0").kind.as_deref(), Some("veth"));
    assert!(iface(&ifs, "idle0").addrs.is_empty());
    close([a, b]);
}

#[test]
fn neigh_reader_sees_every_state_the_kernel_reached() {
    if !common::kernel_tests_enabled("neigh_reader_sees_every_state_the_kernel_reached") {
        return;
    }
    let (a, b) = build();
    assert!(
        ping_until_answered(&a, "10.21.0.2") && ping_until_answered(&a, "fd00:21::2"),
        "B answers"
    );
    assert!(
        !ping(&a, "10.21.0.99") && !ping(&a, "fd00:21::99"),
        "nobody owns .99"
    );

    let unanswered = ["10.21.0.99", "fd00:21::99"];
    let first = parse_neighbours(&ip_json(&a, &["-j", "neigh"])).unwrap();
    for dst in unanswered {
        let n = entry(&first, dst);
        assert!(n.failed() && n.lladdr.is_none(), "{n:?}");
    }
    // The probes run out within a few seconds (3 × retrans_time of 1 s): FAILED.
    let deadline = Instant::now() + Duration::from_secs(10);
    let table = loop {
        let table = parse_neighbours(&ip_json(&a, &["-j", "neigh"])).unwrap();
        let settled = unanswered
            .iter()
            .all(|d| entry(&table, d).states == [NeighbourState::Failed]);
        if settled {
            break table;
        }
        assert!(Instant::now() < deadline, "never FAILED: {table:?}");
        std::thread::sleep(Duration::from_millis(250));
    };
    eprintln!("{table:#?}");
    let by_hand = [
        (
            "10.21.0.50",
            "02:00:00:00:00:50",
            NeighbourState::Permanent,
            false,
        ),
        (
            "10.21.0.51",
            "02:00:00:00:00:51",
            NeighbourState::Stale,
            false,
        ),
        (
            "fd00:21::50",
            "02:00:00:00:00:50",
            NeighbourState::Permanent,
            false,
        ),
        (
            "fd00:21::60",
            "02:00:00:00:00:60",
            NeighbourState::Stale,
            true,
        ),
    ];
    for (dst, mac, state, router) in by_hand {
        let n = entry(&table, dst);
        assert_eq!(
            (n.dev.as_str(), n.lladdr, &n.states, n.router),
            ("veth0", Mac::parse(mac), &vec![state], router),
            "{dst}"
        );
    }
    for dst in ["10.21.0.2", "fd00:21::2"] {
        let n = entry(&table, dst);
        assert!(n.resolved() && n.lladdr == Mac::parse(MAC_B), "{n:?}");
        assert!(
            matches!(
                n.states[..],
                [NeighbourState::Reachable | NeighbourState::Stale | NeighbourState::Delay]
            ),
            "{n:?}"
        );
    }

    // One family at a time: the same entries, split.
    let v4 = parse_neighbours(&ip_json(&a, &["-4", "-j", "neigh"])).unwrap();
    let v6 = parse_neighbours(&ip_json(&a, &["-6", "-j", "neigh"])).unwrap();
    assert!(v4.iter().all(|n| n.addr.is_ipv4()) && v6.iter().all(|n| n.addr.is_ipv6()));
    let addrs = |t: &[Neighbour]| {
        let mut v: Vec<IpAddr> = t.iter().map(|n| n.addr).collect();
        v.sort();
        v
    };
    assert_eq!(addrs(&[v4, v6].concat()), addrs(&table));
    close([a, b]);
}

/// Deletes the namespaces and checks they are gone.
fn close(namespaces: [Netns; 2]) {
    let names: Vec<String> = namespaces.iter().map(|n| n.name().to_string()).collect();
    drop(namespaces);
    let left: Vec<String> = oracle::netns::list_ours()
        .into_iter()
        .filter(|n| names.contains(n))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}
