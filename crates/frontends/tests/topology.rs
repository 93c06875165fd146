//! The topology front end: a topology file (story 1: a laptop, the ufw router, a z/OS
//! stub), links inferred from snapshots that share a subnet and from link-local
//! neighbours, the `ip route` text reader, and every error, rendered as users read it.

use frontends::topology::{self, routes, TopologyError};
use model::host::{table_id, Interface, RouteType, Scope};
use model::topology::{LinkEnd, LinkEvidence, NodeKind, Topology};
use model::SourceFile;
use std::path::{Path, PathBuf};

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/topology")
        .join(relative)
}

fn end(t: &Topology, name: &str, iface: &str) -> LinkEnd {
    LinkEnd {
        node: t.node(name).unwrap_or_else(|| panic!("no node {name}")),
        iface: iface.to_string(),
    }
}

/// The routes of `host` as `ip route` prints them, sorted.
fn route_texts(t: &Topology, node: &str) -> Vec<String> {
    let mut texts: Vec<String> = t.nodes[t.node(node).unwrap()]
        .host
        .routes
        .iter()
        .map(|r| r.text.clone())
        .collect();
    texts.sort();
    texts
}

#[test]
fn story1_file_has_the_laptop_the_ufw_router_and_the_zos_stub() {
    let t = topology::load_file(&fixture("story1/topology.toml")).unwrap();
    let names: Vec<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["laptop", "router", "zos"]);

    let laptop = &t.nodes[0];
    assert_eq!(laptop.kind, NodeKind::Linux);
    assert!(
        !laptop.rules_given,
        "no rules: simulated without a firewall"
    );
    let known = laptop.host.known;
    assert!(known.addresses && known.routes && known.sockets && known.links);
    assert!(!known.sysctls && !known.neighbours && !known.conntrack);
    assert_eq!(
        laptop
            .host
            .interfaces
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        ["lo", "eth0"]
    );
    insta::assert_snapshot!(route_texts(&t, "laptop").join("\n"), @r"
    10.1.0.0/24 dev eth0 proto kernel scope link src 10.1.0.2
    broadcast 10.1.0.255 dev eth0 table local proto kernel scope link src 10.1.0.2
    broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1
    default via 10.1.0.1 dev eth0
    default via fe80::5054:ff:feaa:bb01 dev eth0 metric 1024 pref medium
    fd00:1::/64 dev eth0 proto kernel metric 256 pref medium
    fe80::/64 dev eth0 proto kernel metric 256 pref medium
    local 10.1.0.2 dev eth0 table local proto kernel scope host src 10.1.0.2
    local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1
    local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1
    local ::1 dev lo table local proto kernel metric 0 pref medium
    local fd00:1::2 dev eth0 table local proto kernel metric 0 pref medium
    local fe80::2 dev eth0 table local proto kernel metric 0 pref medium
    multicast ff00::/8 dev eth0 table local proto kernel metric 256 pref medium
    ");
    assert_eq!(laptop.host.sockets.len(), 1);
    assert_eq!(laptop.host.sockets[0].port, 2175);

    let router = &t.nodes[1];
    assert_eq!(router.kind, NodeKind::Linux);
    assert!(router.rules_given);
    assert!(router.source.ends_with("host/router"), "{}", router.source);
    assert!(router
        .ruleset
        .tables
        .iter()
        .any(|t| t.chains.iter().any(|c| c.name == "ufw-reject-forward")));
    assert_eq!(router.iptables_sources.len(), 1);
    assert!(router.host.interface("tap0").is_some());
    assert!(router.host.known.routes && router.host.known.sysctls);

    let zos = &t.nodes[2];
    let NodeKind::Stub(answers) = &zos.kind else {
        panic!("zos is a stub: {:?}", zos.kind);
    };
    assert_eq!((answers.tcp.as_ref(), answers.ping), (None, true));
    assert!(zos.host.interface("lo").is_none(), "a stub is not Linux");
    assert_eq!(
        route_texts(&t, "zos"),
        [
            "10.1.1.0/24 dev eth0 proto kernel scope link src 10.1.1.2",
            "default via 10.1.1.1 dev eth0"
        ]
    );

    assert_eq!(t.links.len(), 2);
    assert_eq!(t.links[0].name, "lan");
    assert_eq!(
        t.links[0].ends,
        [end(&t, "laptop", "eth0"), end(&t, "router", "eno1")]
    );
    assert!(t.links[0].complete);
    assert!(matches!(
        &t.links[0].evidence,
        LinkEvidence::Declared { file, line: 18 } if file.ends_with("story1/topology.toml")
    ));
    assert_eq!(t.links[1].name, "zos:eth0 -- router:tap0");
    assert_eq!(t.link_of(2, "eth0"), Some(1));
}

#[test]
fn two_snapshots_that_share_a_subnet_are_linked_by_it() {
    let t = topology::from_hosts(&[fixture("pair/alpha.snap"), fixture("pair/beta.snap")]).unwrap();
    let names: Vec<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta"], "named by %meta hostname");
    assert!(t.nodes.iter().all(|n| n.rules_given));
    assert_eq!(t.nodes[1].ruleset.tables[0].chains[0].rules.len(), 1);
    assert_eq!(t.links.len(), 1, "{:#?}", t.links);
    let link = &t.links[0];
    assert_eq!(
        link.ends,
        [end(&t, "alpha", "eth0"), end(&t, "beta", "eth0")]
    );
    assert_eq!(link.name, "alpha:eth0 -- beta:eth0");
    assert!(!link.complete, "others may share an inferred subnet");
    assert_eq!(
        link.evidence,
        LinkEvidence::SharedSubnet {
            net: "192.0.2.0/24".parse().unwrap()
        }
    );
    assert_eq!(
        t.link_of(0, "eth1"),
        None,
        "alpha:eth1 faces a host not given"
    );
}

#[test]
fn a_snapshot_without_a_hostname_is_named_by_its_file_and_names_must_differ() {
    let dir = std::env::temp_dir().join(format!("wb-topology-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(fixture("pair/beta.snap")).unwrap();
    let anonymous = dir.join("edge-1.snap");
    std::fs::write(&anonymous, text.replace("%meta hostname beta\n", "")).unwrap();
    let t = topology::from_hosts(&[fixture("pair/alpha.snap"), anonymous.clone()]).unwrap();
    assert_eq!(t.nodes[1].name, "edge-1");

    let err =
        topology::from_hosts(&[fixture("pair/beta.snap"), fixture("pair/beta.snap")]).unwrap_err();
    assert!(matches!(&err, TopologyError::DuplicateName { name, .. } if name == "beta"));
    assert!(err.to_string().starts_with("two hosts are called `beta` ("));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_link_local_neighbour_links_hosts_that_share_no_subnet() {
    let t = topology::from_hosts(&[
        fixture("linklocal/left.toml"),
        fixture("linklocal/right.toml"),
    ])
    .unwrap();
    assert_eq!(t.links.len(), 1, "{:#?}", t.links);
    let link = &t.links[0];
    assert_eq!(
        link.ends,
        [end(&t, "left", "eth0"), end(&t, "right", "eth0")]
    );
    assert_eq!(
        link.evidence,
        LinkEvidence::Neighbour {
            node: 0,
            iface: "eth0".into(),
            addr: "fe80::2".parse().unwrap()
        }
    );
    // Without MACs, fe80::2 is on two interfaces of `right`: which one is not told.
    let text = std::fs::read_to_string(fixture("linklocal/right.toml")).unwrap();
    let no_macs = text
        .replace(", mac = \"02:00:00:00:00:02\"", "")
        .replace(", mac = \"02:00:00:00:00:03\"", "");
    let right = topology::from_source(&SourceFile::new("right.toml", no_macs), None).unwrap();
    let mut t = topology::from_source(
        &SourceFile::new(
            "left.toml",
            std::fs::read_to_string(fixture("linklocal/left.toml")).unwrap(),
        ),
        None,
    )
    .unwrap();
    t.nodes.extend(right.nodes);
    topology::infer::infer_links(&mut t);
    assert!(t.links.is_empty(), "{:#?}", t.links);
}

#[test]
fn a_declared_link_overrides_inference_for_its_ends() {
    let text = r#"
[host.a]
interfaces.eth0 = { addresses = ["10.0.0.1/24"] }
interfaces.eth1 = { addresses = ["10.9.0.1/24"] }
[host.b]
interfaces.eth0 = { addresses = ["10.0.0.2/24"] }
interfaces.eth1 = { addresses = ["10.9.0.2/24"] }
[host.c]
interfaces.eth0 = { addresses = ["10.0.0.3/24"] }
[[link]]
ends = ["a:eth0", "b:eth0"]
"#;
    let mut t = topology::from_source(&SourceFile::new("lab.toml", text), None).unwrap();
    topology::infer::infer_links(&mut t);
    let summary: Vec<(String, bool)> = t
        .links
        .iter()
        .map(|l| (l.name.clone(), l.complete))
        .collect();
    // c:eth0 shares 10.0.0.0/24 with a and b, but their eth0 are on a declared, complete
    // link: c is left unlinked. eth1 is linked by its subnet.
    assert_eq!(
        summary,
        [
            ("a:eth0 -- b:eth0".to_string(), true),
            ("a:eth1 -- b:eth1".to_string(), false)
        ]
    );
}

#[test]
fn links_that_share_an_end_merge_into_one() {
    let text = r#"
[host.a]
interfaces.br0 = { addresses = ["10.0.0.1/24", "2001:db8::1/64"] }
[host.b]
interfaces.eth0 = { addresses = ["10.0.0.2/24"] }
[host.c]
interfaces.eth0 = { addresses = ["2001:db8::3/64"] }
"#;
    let mut t = topology::from_source(&SourceFile::new("lab.toml", text), None).unwrap();
    topology::infer::infer_links(&mut t);
    assert_eq!(t.links.len(), 1, "{:#?}", t.links);
    assert_eq!(t.links[0].name, "a:br0 -- b:eth0 -- c:eth0");
}

/// The interfaces the route table tests run on: eth0 10.0.0.1/24 + fe80::1/64, eth1
/// 10.1.0.1/24 + 2001:db8:5::1/64.
fn router() -> (Vec<Interface>, Vec<model::host::Route>) {
    let text = r#"
[host.r]
interfaces.eth0 = { addresses = ["10.0.0.1/24", "fe80::1/64"] }
interfaces.eth1 = { addresses = ["10.1.0.1/24", "2001:db8:5::1/64"] }
"#;
    let t = topology::from_source(&SourceFile::new("r.toml", text), None).unwrap();
    let host = t.nodes.into_iter().next().unwrap().host;
    (host.interfaces, host.routes)
}

#[test]
fn route_lines_read_as_the_kernel_lists_them() {
    let (ifaces, routes) = router();
    for (line, listed) in [
        (
            "10.2.0.0/16 via 10.1.0.9",
            "10.2.0.0/16 via 10.1.0.9 dev eth1",
        ),
        (
            "default via 10.0.0.254 dev eth0",
            "default via 10.0.0.254 dev eth0",
        ),
        ("10.5.0.0/16 dev eth0", "10.5.0.0/16 dev eth0 scope link"),
        (
            "10.6.0.0/16 dev eth0 src 10.1.0.1",
            "10.6.0.0/16 dev eth0 scope link src 10.1.0.1",
        ),
        (
            "10.7.0.0/16 via 10.1.0.254 dev eth1 metric 5 table 100 proto static",
            "10.7.0.0/16 via 10.1.0.254 dev eth1 table 100 proto static metric 5",
        ),
        ("blackhole 10.9.0.0/16", "blackhole 10.9.0.0/16"),
        (
            "unreachable 10.8.0.0/16 table 10",
            "unreachable 10.8.0.0/16 table 10",
        ),
        (
            "local 10.44.0.1 dev eth1",
            "local 10.44.0.1 dev eth1 table local scope host",
        ),
        (
            "2001:db8::/64 via 2001:db8:5::2",
            "2001:db8::/64 via 2001:db8:5::2 dev eth1 metric 1024 pref medium",
        ),
        (
            "default via fe80::2 dev eth0",
            "default via fe80::2 dev eth0 metric 1024 pref medium",
        ),
        (
            "2001:db8:7::5/64 dev eth1",
            "2001:db8:7::/64 dev eth1 metric 1024 pref medium",
        ),
        (
            "prohibit 2001:db8:9::/48",
            "prohibit 2001:db8:9::/48 dev lo metric 1024 pref medium",
        ),
        (
            "10.3.0.0/16 via 10.1.0.9 proto boot",
            "10.3.0.0/16 via 10.1.0.9 dev eth1",
        ),
    ] {
        let route =
            routes::parse(line, &ifaces, &routes).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(route.text, listed, "{line}");
    }
    let r = routes::parse("10.7.0.0/16 via 10.1.0.254 table 100", &ifaces, &routes).unwrap();
    assert_eq!(
        (r.table, r.route_type, r.scope, r.gateway),
        (
            100,
            RouteType::Unicast,
            Scope::Universe,
            "10.1.0.254".parse().ok()
        )
    );
    let r = routes::parse("local 10.44.0.1 dev eth1", &ifaces, &routes).unwrap();
    assert_eq!(r.table, table_id::LOCAL);
}

#[test]
fn route_lines_the_kernel_refuses_are_refused_in_its_words() {
    let (ifaces, routes) = router();
    for (line, word, reason) in [
        (
            "10.2.0.0/16 via 10.9.9.9",
            "10.9.9.9",
            "Nexthop has invalid gateway",
        ),
        (
            "10.2.0.0/16 via 10.0.0.9 dev eth1",
            "10.0.0.9",
            "Nexthop has invalid gateway",
        ),
        (
            "10.3.0.5/16 via 10.1.0.9",
            "10.3.0.5/16",
            "Invalid prefix for given prefix length",
        ),
        (
            "10.4.0.0/16 via 10.1.0.9 src 10.7.7.7",
            "10.7.7.7",
            "Invalid prefsrc address",
        ),
        (
            "2001:db8::/64 via 2001:db8:9::2",
            "2001:db8:9::2",
            "No route to host",
        ),
        (
            "2001:db8:4::/64 via 2001:db8:5::2 dev eth0",
            "2001:db8:5::2",
            "No route to host",
        ),
        (
            "2001:db8:2::/64 via fe80::2",
            "fe80::2",
            "Egress device not specified",
        ),
        (
            "2001:db8:8::/64 via 2001:db8:5::9 src 2001:db8:5::77",
            "2001:db8:5::77",
            "Invalid source address",
        ),
        (
            "2001:db8:9::/64 via 10.1.0.9",
            "10.1.0.9",
            "not of the route's family",
        ),
        (
            "10.46.0.0/16 via 10.1.0.9 dev eth9",
            "eth9",
            "Cannot find device \"eth9\"",
        ),
        ("10.47.0.0/16", "", "expected `via ADDR` or `dev NAME`"),
        (
            "10.48.0.0/16 dev eth0 onlink",
            "onlink",
            "route option `onlink`",
        ),
        ("10.49.0.0/16 dev eth0 dev eth1", "dev", "given twice"),
        ("nat 10.50.0.0/16 via 10.1.0.9", "nat", "route type `nat`"),
        (
            "10.50.0.0/33 dev eth0",
            "10.50.0.0/33",
            "not an address or prefix",
        ),
        (
            "blackhole 10.51.0.0/16 via 10.1.0.9",
            "10.1.0.9",
            "has no next hop",
        ),
        ("10.52.0.0/16 metric x dev eth0", "x", "not a number"),
    ] {
        let err = routes::parse(line, &ifaces, &routes).expect_err(line);
        assert_eq!(&line[err.at.clone()], word, "{line}: {err:?}");
        let message = err.kind.to_string();
        assert!(message.contains(reason), "{line}: {message}");
    }
}

/// `text` (a topology file named `lab.toml`) read, and its error rendered as users see it.
fn rendered_error(text: &str) -> String {
    let base = fixture("story1");
    let err = match topology::from_source(&SourceFile::new("lab.toml", text), Some(&base)) {
        Ok(t) => panic!("no error: {t:#?}"),
        Err(e) => e,
    };
    let TopologyError::Parse(p) = err else {
        panic!("not at a place in the file: {err}");
    };
    let mut out = Vec::new();
    report::diagnostic::render(&mut out, &p).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn every_error_points_into_the_file() {
    let cases: [(&str, &str); 17] = [
        ("toml_syntax", "[host.a]\ninterfaces.eth0 = { addresses = [\"10.0.0.1/24\" }\n"),
        ("unknown_key", "[host.a]\ninterface.eth0 = { addresses = [] }\n"),
        ("unknown_iface_key", "[host.a]\ninterfaces.eth0 = { address = [\"10.0.0.1/24\"] }\n"),
        ("wrong_type", "[host.a]\ninterfaces.eth0 = { mtu = \"big\" }\n"),
        ("bad_address", "[host.a]\ninterfaces.eth0 = { addresses = [\"10.0.0.300/24\"] }\n"),
        ("bad_kind", "[host.a]\nkind = \"router\"\n"),
        (
            "route_gateway_off_link",
            "[host.a]\ninterfaces.eth0 = { addresses = [\"10.0.0.1/24\"] }\nroutes = [\"default via 10.9.0.1\"]\n",
        ),
        (
            "route_host_bits",
            "[host.a]\ninterfaces.eth0 = { addresses = [\"10.0.0.1/24\"] }\nroutes = [\"10.2.0.1/16 dev eth0\"]\n",
        ),
        (
            "link_unknown_host",
            "[host.a]\ninterfaces.eth0 = {}\n[[link]]\nends = [\"a:eth0\", \"b:eth0\"]\n",
        ),
        (
            "link_unknown_iface",
            "[host.a]\ninterfaces.eth0 = {}\n[host.b]\ninterfaces.eth0 = {}\n[[link]]\nends = [\"a:eth0\", \"b:eth1\"]\n",
        ),
        (
            "link_one_end",
            "[host.a]\ninterfaces.eth0 = {}\n[[link]]\nends = [\"a:eth0\"]\n",
        ),
        (
            "link_end_twice",
            "[host.a]\ninterfaces.eth0 = {}\n[host.b]\ninterfaces.eth0 = {}\n[[link]]\nends = [\"a:eth0\", \"b:eth0\"]\n[[link]]\nends = [\"b:eth0\", \"a:eth0\"]\n",
        ),
        (
            "snapshot_missing",
            "[host.a]\nsnapshot = \"missing.snap\"\n",
        ),
        (
            "snapshot_and_inline",
            "[host.a]\ndir = \"../../host/router\"\nroutes = [\"default via 10.1.0.9\"]\n",
        ),
        (
            "stub_with_rules",
            "[host.z]\nkind = \"stub\"\nrules = [\"z.rules\"]\n",
        ),
        (
            "bad_neighbour",
            "[host.a]\ninterfaces.eth0 = {}\nneighbours = [\"10.0.0.9 dev eth0 GONE\"]\n",
        ),
        ("bad_listen", "[host.z]\nkind = \"stub\"\nlistens = [\"sctp/9\"]\n"),
    ];
    for (name, text) in cases {
        insta::assert_snapshot!(name, rendered_error(text));
    }
}

#[test]
fn a_rules_file_that_does_not_parse_is_reported_at_its_own_line() {
    let dir = std::env::temp_dir().join(format!("wb-topology-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.rules"), "*filter\n-A INPUT -j\nCOMMIT\n").unwrap();
    let text = "[host.a]\ninterfaces.eth0 = {}\nrules = [\"bad.rules\"]\n";
    let err = topology::from_source(&SourceFile::new("lab.toml", text), Some(&dir)).unwrap_err();
    let TopologyError::Parse(p) = &err else {
        panic!("{err}");
    };
    assert!(p.source.name.ends_with("bad.rules"), "{err}");
    assert_eq!(p.line_col().0, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_topology_read_from_memory_names_no_files() {
    let text = "[host.a]\nsnapshot = \"/etc/passwd\"\n";
    let err = topology::from_source(&SourceFile::new("lab.toml", text), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "lab.toml:2:12: invalid path `/etc/passwd`: this topology is read without a \
         directory, so it cannot name files"
    );
}

#[test]
fn a_host_directory_is_named_by_itself_and_has_no_firewall_of_its_own() {
    let router = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/host/router");
    let laptop = fixture("story1/topology.toml");
    let err = topology::from_hosts(&[router.clone(), laptop]).unwrap_err();
    // The story file has a host called `router` too.
    assert!(matches!(&err, TopologyError::DuplicateName { name, .. } if name == "router"));
    let t = topology::from_hosts(&[router, fixture("linklocal/left.toml")]).unwrap();
    let node = &t.nodes[0];
    assert_eq!(node.name, "router");
    assert!(!node.rules_given && node.ruleset.tables.is_empty());
    assert!(node.host.known.addresses && node.host.known.routes);
}
