//! The kernel judges the routes of an inline topology host: its interfaces, addresses,
//! sysctls and `routes` lines are put in a network namespace as `ip` puts them, and `ip -j
//! route show table all` (both families), read back with the project's reader, must equal
//! the host's routes, the kernel's own routes for the addresses included; `ip -j addr` must
//! give the addresses the same scope and secondary flag. Each route line the topology
//! reader refuses, `ip route add` must refuse too.

use frontends::topology;
use model::host::Route;
use model::SourceFile;
use std::process::Command;
use std::time::{Duration, Instant};

/// A namespace of this test, deleted on drop.
struct Ns(String);

impl Ns {
    fn new(tag: &str) -> Ns {
        let name = format!("wb{}_topo{tag}", std::process::id());
        run(&["ip", "netns", "add", &name]).expect("ip netns add");
        Ns(name)
    }
    fn ip(&self, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["ip", "-n", self.0.as_str()];
        all.extend(args);
        run(&all)
    }
    fn sysctl(&self, key: &str, value: &str) {
        run(&[
            "ip",
            "netns",
            "exec",
            &self.0,
            "sysctl",
            "-qw",
            &format!("{key}={value}"),
        ])
        .unwrap_or_else(|e| panic!("sysctl {key}={value}: {e}"));
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = run(&["ip", "netns", "del", &self.0]);
    }
}

fn run(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{}`: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// One inline host: its `[host.h]` table without `routes`, and its route lines.
struct Case {
    name: &'static str,
    table: &'static str,
    routes: &'static [&'static str],
}

const CASES: [Case; 3] = [
    Case {
        name: "router",
        table: r#"
interfaces.eth0 = { addresses = ["10.0.0.1/24", "fe80::1/64"], mtu = 1500 }
interfaces.eth1 = { addresses = ["10.1.0.1/24", "10.1.0.2/24", "2001:db8:5::1/64", "2001:db8:6::1/128"], mtu = 1400 }
interfaces.eth2 = { addresses = ["10.2.0.1/31", "10.3.0.1/32", "192.168.9.1/16"] }
interfaces.eth3 = { addresses = ["0.0.0.7/8"] }
sysctls = { "net.ipv4.ip_forward" = 1, "net.ipv6.conf.all.forwarding" = 1 }
"#,
        routes: &[
            "10.20.0.0/16 via 10.1.0.9",
            "default via 10.0.0.254 dev eth0 metric 100",
            "2001:db8::/64 via 2001:db8:5::2 dev eth1",
            "2001:db8:1::/64 via fe80::2 dev eth0 proto static",
            "blackhole 10.9.0.0/16",
            "unreachable 10.8.0.0/16 table 10",
            "prohibit 2001:db8:9::/48",
            "10.5.0.0/16 dev eth0",
            "10.6.0.0/16 dev eth0 src 10.1.0.1",
            "10.7.0.0/16 via 10.1.0.254 dev eth1 metric 5 table 100 proto static",
            "local 10.44.0.1 dev eth1",
            "2001:db8:7::5/64 dev eth1",
            "default via fe80::2 dev eth0",
            "10.50.0.0/16 via 10.5.0.9",
        ],
    },
    Case {
        name: "laptop",
        table: r#"
interfaces.wlan0 = { addresses = ["192.168.1.23/24", "2001:db8:77::23/64", "fe80::23/64"] }
"#,
        routes: &[
            "default via 192.168.1.1",
            "default via fe80::1 dev wlan0 metric 600",
        ],
    },
    Case {
        name: "v6fwd_one_iface",
        table: r#"
interfaces.eth0 = { addresses = ["2001:db8:a::1/64", "fe80::a/64"] }
interfaces.eth1 = { addresses = ["2001:db8:b::1/64", "2001:db8:c::1/127"] }
sysctls = { "net.ipv6.conf.eth1.forwarding" = 1 }
"#,
        routes: &[],
    },
];

/// Route lines the reader refuses, on the `router` case's host.
const REFUSED: [&str; 10] = [
    "10.2.0.0/16 via 10.9.9.9",
    "10.2.0.0/16 via 10.0.0.9 dev eth1",
    "10.3.0.5/16 via 10.1.0.9",
    "10.4.0.0/16 via 10.1.0.9 src 10.7.7.7",
    "2001:db8:2::/64 via 2001:db8:9::2",
    "2001:db8:4::/64 via 2001:db8:5::2 dev eth0",
    "2001:db8:2::/64 via fe80::2",
    "2001:db8:8::/64 via 2001:db8:5::9 src 2001:db8:5::77",
    "10.46.0.0/16 via 10.1.0.9 dev eth9",
    "blackhole 10.51.0.0/16 via 10.1.0.9",
];

fn toml_of(case: &Case) -> String {
    let routes: Vec<String> = case.routes.iter().map(|r| format!("{r:?}")).collect();
    format!(
        "[host.h]\n{}routes = [{}]\n",
        case.table.trim_start(),
        routes.join(", ")
    )
}

/// The inline host of `text`, put in a fresh namespace; the routes lines are added by the
/// caller. Returns the namespaces (router, then peers) and the host.
fn build(tag: &str, text: &str) -> (Vec<Ns>, model::Host) {
    let t = topology::from_source(&SourceFile::new("case.toml", text), None)
        .unwrap_or_else(|e| panic!("{tag}: {e}"));
    let host = t.nodes.into_iter().next().expect("one host").host;
    let ns = Ns::new(tag);
    let peer = Ns::new(&format!("{tag}p"));
    // No automatic link-local address on the veths made next (an inline host has only the
    // addresses listed). Only `default`: writing `all.addr_gen_mode` re-runs address
    // generation on `lo`, which then gets a `::1/128` route in main that no host has.
    for key in ["all", "default"] {
        ns.sysctl(&format!("net.ipv6.conf.{key}.accept_dad"), "0");
    }
    ns.sysctl("net.ipv6.conf.default.addr_gen_mode", "1");
    ns.ip(&["link", "set", "lo", "up"]).unwrap();
    for (i, iface) in host
        .interfaces
        .iter()
        .filter(|i| i.name != "lo")
        .enumerate()
    {
        let p = format!("p{i}");
        ns.ip(&[
            "link",
            "add",
            &iface.name,
            "type",
            "veth",
            "peer",
            "name",
            &p,
            "netns",
            &peer.0,
        ])
        .unwrap();
        peer.ip(&["link", "set", &p, "up"]).unwrap();
        if let Some(mtu) = iface.mtu {
            ns.ip(&["link", "set", &iface.name, "mtu", &mtu.to_string()])
                .unwrap();
        }
    }
    for (k, v) in &host.sysctls.0 {
        ns.sysctl(k, v);
    }
    for iface in host.interfaces.iter().filter(|i| i.name != "lo") {
        for a in &iface.addrs {
            let cidr = format!("{}/{}", a.addr, a.prefix_len);
            ns.ip(&["addr", "add", &cidr, "dev", &iface.name]).unwrap();
        }
        ns.ip(&["link", "set", &iface.name, "up"]).unwrap();
    }
    (vec![ns, peer], host)
}

/// `ip -j route show table all` of both families, read with the project's reader, as
/// sorted debug lines (every field compared, the text too).
fn kernel_routes(ns: &Ns) -> Vec<String> {
    let mut out = Vec::new();
    for (flag, v6) in [("-4", false), ("-6", true)] {
        let json = ns
            .ip(&[flag, "-j", "route", "show", "table", "all"])
            .unwrap();
        let routes = frontends::host::iproute::parse_routes(&SourceFile::new("ip-route", json), v6)
            .expect("the reader reads the kernel's listing");
        out.extend(routes.iter().map(line));
    }
    out.sort();
    out
}

fn line(r: &Route) -> String {
    format!("{r:?}")
}

#[test]
fn inline_host_routes_are_the_kernels() {
    if !testgen::kernel_tests::kernel_tests_enabled("inline_host_routes_are_the_kernels") {
        return;
    }
    for (n, case) in CASES.iter().enumerate() {
        let (namespaces, host) = build(&n.to_string(), &toml_of(case));
        let ns = &namespaces[0];
        for r in case.routes {
            let words: Vec<&str> = r.split_whitespace().collect();
            let mut args = vec!["route", "add"];
            args.extend(words);
            ns.ip(&args)
                .unwrap_or_else(|e| panic!("{}: the kernel refused {r}: {e}", case.name));
        }
        let mut expected: Vec<String> = host.routes.iter().map(line).collect();
        expected.sort();
        // The kernel adds `ff00::/8` and the IPv6 routes when each link's carrier is up:
        // wait for them, boundedly.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut listed = kernel_routes(ns);
        while listed != expected && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            listed = kernel_routes(ns);
        }
        let missing: Vec<&String> = expected.iter().filter(|r| !listed.contains(r)).collect();
        let extra: Vec<&String> = listed.iter().filter(|r| !expected.contains(r)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}: routes differ from the kernel's\nonly in the topology:\n{missing:#?}\nonly in the kernel:\n{extra:#?}",
            case.name
        );

        let json = ns.ip(&["-j", "addr"]).unwrap();
        let kernel_ifaces =
            frontends::host::iproute::parse_addrs(&SourceFile::new("ip-addr", json)).unwrap();
        for iface in &host.interfaces {
            let k = kernel_ifaces
                .iter()
                .find(|k| k.name == iface.name)
                .unwrap_or_else(|| panic!("{}: no {} in the kernel", case.name, iface.name));
            // An MTU the file does not give stays unknown (`None`), not the kernel's default.
            let mtu = iface.mtu.and(k.mtu);
            let shape = |i: &model::host::Interface, mtu: Option<u32>| {
                let mut a: Vec<_> = i
                    .addrs
                    .iter()
                    .map(|a| (a.addr, a.prefix_len, a.scope, a.secondary))
                    .collect();
                a.sort_by_key(|x| format!("{x:?}"));
                (a, mtu, i.link)
            };
            assert_eq!(
                shape(k, mtu),
                shape(iface, iface.mtu),
                "{}: {}",
                case.name,
                iface.name
            );
        }
        drop(namespaces);
    }
    testgen::kernel_tests::assert_no_namespaces_of_this_process();
}

#[test]
fn route_lines_refused_by_the_reader_are_refused_by_the_kernel() {
    if !testgen::kernel_tests::kernel_tests_enabled(
        "route_lines_refused_by_the_reader_are_refused_by_the_kernel",
    ) {
        return;
    }
    let base = Case {
        routes: &[],
        ..CASES[0]
    };
    let (namespaces, host) = build("refused", &toml_of(&base));
    for r in REFUSED {
        let err = topology::routes::parse(r, &host.interfaces, &host.routes);
        assert!(err.is_err(), "the reader takes {r}");
        let words: Vec<&str> = r.split_whitespace().collect();
        let mut args = vec!["route", "add"];
        args.extend(words);
        let kernel = namespaces[0].ip(&args);
        assert!(
            kernel.is_err(),
            "the kernel takes {r}, the reader refuses it: {err:?}"
        );
    }
    drop(namespaces);
}
