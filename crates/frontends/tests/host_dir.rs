//! Host directories captured from network namespaces (see fixtures/host/make-fixtures.sh),
//! read whole with `host_dir::load`.

use frontends::host::host_dir::{self, LoadError};
use model::host::{table_id, LinkType, RouteType, RuleAction};
use model::packet::IpProto;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/host")
        .join(name)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("wb-host-dir-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn write(&self, name: &str, text: &str) -> &Scratch {
        std::fs::write(self.0.join(name), text).unwrap();
        self
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn router_story1_host_is_complete() {
    let state = host_dir::load(&fixture("router")).unwrap();
    let host = &state.host;
    let k = host.known;
    assert!(k.addresses && k.routes && k.policy_rules && k.sysctls && k.sockets && k.conntrack);
    assert!(state.ipsets.is_empty());

    let tap0 = host.interface("tap0").unwrap();
    assert_eq!(tap0.addrs[0].addr, ip("10.1.1.1"));
    assert_eq!(tap0.addrs[0].prefix_len, 24);
    assert_eq!(
        host.interface("eno1").unwrap().addrs[0].addr,
        ip("10.1.0.1")
    );
    assert_eq!(host.interface("lo").unwrap().link, LinkType::Loopback);
    assert_eq!(host.owner_of(ip("10.1.1.1")).unwrap().name, "tap0");

    // ip-route.json (taken without -4) also lists the IPv6 routes: they are not doubled.
    let v4 = host
        .routes
        .iter()
        .filter(|r| r.dst.addr().is_ipv4())
        .count();
    let v6 = host
        .routes
        .iter()
        .filter(|r| r.dst.addr().is_ipv6())
        .count();
    assert_eq!((v4, v6), (10, 15));
    let laptop_net = host
        .routes
        .iter()
        .find(|r| r.table == table_id::MAIN && r.dst == "10.1.0.0/24".parse().unwrap())
        .unwrap();
    assert_eq!(laptop_net.dev.as_deref(), Some("eno1"));
    assert_eq!(
        laptop_net.text,
        "10.1.0.0/24 dev eno1 proto kernel scope link src 10.1.0.1"
    );

    assert_eq!(host.rules.len(), 5);
    assert_eq!(host.rules.iter().filter(|r| r.v6).count(), 2);
    assert_eq!(host.rules[0].action, RuleAction::Lookup(table_id::LOCAL));

    assert_eq!(host.sysctls.get("net.ipv4.ip_forward"), Some("1"));
    assert_eq!(host.sysctls.int_or("net.ipv4.conf.tap0.rp_filter", 0), 2);

    let ssh: Vec<IpAddr> = host
        .sockets
        .iter()
        .filter(|s| s.port == 22)
        .map(|s| s.addr)
        .collect();
    assert_eq!(ssh, [ip("0.0.0.0"), ip("::")]);

    assert_eq!(host.conntrack.len(), 6);
    let forwarded = &host.conntrack[0];
    assert_eq!(
        (forwarded.orig.src, forwarded.orig.dport),
        (ip("10.1.1.2"), 2175)
    );
}

#[test]
fn loopback_host_for_the_loopback_story() {
    let host = host_dir::load(&fixture("loopback")).unwrap().host;
    assert!(!host.known.conntrack, "no conntrack.txt");
    assert!(host.known.sockets && host.known.sysctls);
    let lo = host.interface("lo").unwrap();
    let lo_addrs: Vec<(IpAddr, u8)> = lo.addrs.iter().map(|a| (a.addr, a.prefix_len)).collect();
    assert_eq!(lo_addrs, [(ip("127.0.0.1"), 8), (ip("::1"), 128)]);
    let eth0 = host.interface("eth0").unwrap();
    assert_eq!(
        (eth0.addrs[0].addr, eth0.addrs[0].prefix_len),
        (ip("192.0.2.10"), 24)
    );
    let default = host
        .routes
        .iter()
        .find(|r| r.table == table_id::MAIN && r.dst.prefix_len() == 0)
        .unwrap();
    assert_eq!(default.gateway, Some(ip("192.0.2.1")));
    let local = host
        .routes
        .iter()
        .find(|r| r.dst == "127.0.0.0/8".parse().unwrap())
        .unwrap();
    assert_eq!(local.route_type, RouteType::Local);
    let mut sockets: Vec<(IpProto, IpAddr, u16)> = host
        .sockets
        .iter()
        .map(|s| (s.proto, s.addr, s.port))
        .collect();
    sockets.sort();
    assert_eq!(
        sockets,
        [
            (IpProto::Tcp, ip("0.0.0.0"), 22),
            (IpProto::Tcp, ip("127.0.0.1"), 5432)
        ]
    );
    assert_eq!(host.sysctls.get("net.ipv4.ip_forward"), Some("0"));
}

#[test]
fn policy_host_has_routing_only() {
    let host = host_dir::load(&fixture("policy")).unwrap().host;
    assert!(host.known.addresses && host.known.routes && host.known.policy_rules);
    assert!(!host.known.sysctls && !host.known.sockets && !host.known.conntrack);
    assert!(host.rules.iter().any(|r| r.action == RuleAction::Goto(400)));
    assert!(host
        .routes
        .iter()
        .any(|r| r.route_type == RouteType::Blackhole && r.dst.addr().is_ipv6()));
}

#[test]
fn missing_directory_is_an_io_error_naming_it() {
    let path = fixture("no-such-host");
    match host_dir::load(&path) {
        Err(LoadError::Io { path: p, error }) => {
            assert_eq!(p, path);
            assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_file_is_not_a_host_directory() {
    let err = host_dir::load(&fixture("router/ss.txt")).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }));
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[test]
fn a_directory_with_nothing_recognised_is_an_error() {
    let dir = Scratch::new("empty");
    let err = host_dir::load(&dir.0).unwrap_err();
    assert!(
        matches!(&err, LoadError::NothingRecognised { found, .. } if found.is_empty()),
        "{err}"
    );
    dir.write("addr.json", "[]");
    let err = host_dir::load(&dir.0).unwrap_err();
    assert!(
        err.to_string().contains(
            "(found: addr.json (meant ip-addr.json?)); expected any of ip-addr.json (`ip -j addr`)"
        ),
        "{err}"
    );
}

#[test]
fn unknown_files_are_not_parsed() {
    let dir = Scratch::new("extra");
    dir.write("notes.txt", "not parsed {{{")
        .write("sysctl.txt", "net.ipv4.ip_forward = 1\n");
    let host = host_dir::load(&dir.0).unwrap().host;
    assert!(host.known.sysctls && !host.known.addresses);
}

#[test]
fn a3_files_not_read_are_listed_with_the_file_they_were_likely_meant_to_be() {
    let dir = Scratch::new("misnamed");
    dir.write("addr.json", "[]")
        .write("routes.json", "[]")
        .write("IP_RULE.json", "[]")
        .write("ip-adr.json", "[]")
        .write("links.json", "[]")
        .write("neighbours.json", "[]")
        .write("ip-neighbor.txt", "")
        .write("notes.txt", "")
        .write("rules.v4", "")
        .write("sysctl.txt", "net.ipv4.ip_forward = 1\n");
    std::fs::create_dir_all(dir.0.join("cmd")).unwrap();
    dir.write("cmd/ufw.out", "");
    let state = host_dir::load(&dir.0).unwrap();
    assert_eq!(state.read, ["cmd/", "sysctl.txt"]);
    let ignored: Vec<(&str, Option<&str>)> = state
        .ignored
        .iter()
        .map(|i| (i.name.as_str(), i.likely.as_ref().map(|(f, _)| f.as_str())))
        .collect();
    assert_eq!(
        ignored,
        [
            ("IP_RULE.json", Some("ip-rule.json")),
            ("addr.json", Some("ip-addr.json")),
            ("ip-adr.json", Some("ip-addr.json")),
            ("ip-neighbor.txt", Some("ip-neigh.json")),
            ("links.json", Some("ip-link.json")),
            ("neighbours.json", Some("ip-neigh.json")),
            ("notes.txt", None),
            ("routes.json", Some("ip-route.json")),
            ("rules.v4", None),
            ("cmd/ufw.out", None),
        ]
    );
    assert_eq!(
        state.ignored[1].likely,
        Some(("ip-addr.json".to_string(), "ip -j addr".to_string()))
    );
    // A directory of known files only has nothing to list.
    let clean = Scratch::new("clean");
    clean.write("sysctl.txt", "net.ipv4.ip_forward = 1\n");
    assert!(host_dir::load(&clean.0).unwrap().ignored.is_empty());
}

#[test]
fn b5_text_output_in_a_json_host_file_names_the_command_and_what_was_found() {
    for (file, text, command, found) in [
        (
            "ip-addr.json",
            "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n",
            "ip -j addr",
            "it looks like `ip addr` text output",
        ),
        (
            "ip-route.json",
            "default via 10.0.0.1 dev eth0 proto dhcp metric 100\n",
            "ip -j route show table all",
            "it looks like `ip route` text output",
        ),
        (
            "ip6-route.json",
            "fe80::/64 dev eth0 proto kernel metric 256 pref medium\n",
            "ip -6 -j route show table all",
            "it looks like `ip route` text output",
        ),
        (
            "ip-rule.json",
            "0:\tfrom all lookup local\n",
            "ip -j rule",
            "it looks like `ip rule` text output",
        ),
        (
            "ip6-rule.json",
            "hello\n",
            "ip -6 -j rule",
            "it is not JSON",
        ),
        (
            "ip-link.json",
            "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP\n",
            "ip -j -d link",
            "it looks like `ip link` text output",
        ),
        (
            "ip-neigh.json",
            "fe80::1 dev eth0 lladdr 52:54:00:12:34:56 router STALE\n",
            "ip -j neigh",
            "it looks like `ip neigh` text output",
        ),
    ] {
        let dir = Scratch::new("b5");
        dir.write(file, text);
        let err = host_dir::load(&dir.0).unwrap_err();
        let LoadError::Parse(p) = &err else {
            panic!("{file}: {err:?}");
        };
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!(
                "{}:1:1: expected the JSON that `{command}` prints; {found}",
                p.source.name
            )),
            "{shown}"
        );
        assert!(p.source.name.ends_with(file), "{shown}");
    }
}

#[test]
fn b4_a_binary_host_file_is_named_for_what_it_looks_like() {
    let dir = Scratch::new("b4bin");
    std::fs::write(dir.0.join("ip-addr.json"), [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    let err = host_dir::load(&dir.0).unwrap_err();
    assert!(matches!(err, LoadError::NotText(_)), "{err:?}");
    assert!(
        err.to_string().ends_with(
            "ip-addr.json is not the output of `ip -j addr`: it looks like gzip-compressed \
             data (decompress it first, e.g. `zcat`)"
        ),
        "{err}"
    );
    // A Latin-1 byte in free text is kept, escaped: `ss -p` prints process names as given.
    std::fs::remove_file(dir.0.join("ip-addr.json")).unwrap();
    std::fs::write(dir.0.join("sysctl.txt"), b"kernel.hostname = caf\xe9\n").unwrap();
    let host = host_dir::load(&dir.0).unwrap().host;
    assert!(host.known.sysctls);
}

#[test]
fn v6_routes_of_ip_route_json_are_kept_without_ip6_route_json() {
    let dir = Scratch::new("mixed");
    dir.write(
        "ip-route.json",
        &std::fs::read_to_string(fixture("router/ip-route.json")).unwrap(),
    );
    let host = host_dir::load(&dir.0).unwrap().host;
    assert_eq!(host.routes.len(), 25);
}

#[test]
fn parse_error_names_the_file_line_and_column() {
    let dir = Scratch::new("bad");
    dir.write(
        "ss.txt",
        "tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\ntcp LISTEN 0 128 0.0.0.0:ssh 0.0.0.0:*\n",
    );
    let err = host_dir::load(&dir.0).unwrap_err();
    let LoadError::Parse(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.line_col(), (2, 26));
    let shown = err.to_string();
    assert!(
        shown.starts_with(&dir.0.join("ss.txt").display().to_string()),
        "{shown}"
    );
    assert!(shown.contains(":2:26: "), "{shown}");
}

#[test]
fn json_error_in_rules_names_its_file() {
    let dir = Scratch::new("badjson");
    dir.write(
        "ip6-rule.json",
        "[{\"priority\": 0, \"src\": \"all\", \"table\": \"local\"},\n {\"priority\": x}]",
    );
    let err = host_dir::load(&dir.0).unwrap_err();
    let LoadError::Parse(e) = &err else {
        panic!("{err:?}")
    };
    assert!(e.source.name.ends_with("ip6-rule.json"));
    assert_eq!(e.line_col().0, 2, "{err}");
}

#[test]
fn ipset_save_is_read() {
    let dir = Scratch::new("ipset");
    dir.write("ipset.txt", "create allow_in hash:ip family inet hashsize 1024 maxelem 65536\nadd allow_in 192.168.70.10\n");
    let state = host_dir::load(&dir.0).unwrap();
    assert_eq!(state.ipsets.len(), 1);
    assert_eq!(state.ipsets[0].name, "allow_in");
}

/// The tools' files under `etc/` are named by their host path, the commands under `cmd/` by
/// the command (dashes of an unlisted stem read as spaces); the rules ufw 0.36 generated
/// in a namespace and a real firewalld zone when the corpus is there.
#[test]
fn tool_config_files_and_commands() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let read = |rel: &str| std::fs::read_to_string(corpus.join(rel));
    let (Ok(user_rules), Ok(zone)) = (
        read("generated/ufw-in-netns/ufw4.rules"),
        read("firewalld/config/zones/public.xml"),
    ) else {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("SKIP: ../shared/corpus is not beside this clone");
        }
        return;
    };
    let dir = Scratch::new("config");
    for (rel, text) in [
        ("etc/ufw/user.rules", user_rules.as_str()),
        ("etc/firewalld/zones/public.xml", zone.as_str()),
        ("cmd/ufw-status-numbered.txt", "Status: active\n"),
        (
            "cmd/firewall-cmd-get-active-zones.txt",
            "public\n  interfaces: eth0\n",
        ),
        ("cmd/nft-list-ruleset.txt", "table inet t {\n}\n"),
        ("cmd/notes.md", "not a command output\n"),
    ] {
        let path = dir.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let config = host_dir::load(&dir.0).unwrap().config;
    let mut names: Vec<&str> = config.files.iter().map(|f| &*f.name).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "/etc/firewalld/zones/public.xml",
            "/etc/ufw/user.rules",
            "firewall-cmd --get-active-zones",
            "nft list ruleset",
            "ufw status numbered",
        ]
    );
    let user = config.file("/etc/ufw/user.rules").unwrap();
    assert_eq!(&*user.text, user_rules.as_str());
    assert_eq!(config.files_under("/etc/firewalld/zones/").count(), 1);
    // A host directory without `etc/` or `cmd/` has no tool configuration.
    let empty = Scratch::new("config-empty");
    empty.write("sysctl.txt", "net.ipv4.ip_forward = 1\n");
    assert!(host_dir::load(&empty.0).unwrap().config.files.is_empty());
}

/// The links/ host (scripts/make-link-neigh-fixtures.sh): `ip -j -d link` joins the
/// interfaces of `ip -j addr`, `ip -j neigh` fills the neighbour tables of both families.
#[test]
fn links_and_neighbours_join_the_host() {
    let state = host_dir::load(&fixture("links")).unwrap();
    let host = &state.host;
    assert!(host.known.links && host.known.neighbours && host.known.addresses);
    assert!(state.ignored.is_empty(), "{:?}", state.ignored);
    let veth0 = host.interface("veth0").unwrap();
    assert_eq!(
        (veth0.mtu, veth0.lower_up, veth0.kind.as_deref()),
        (Some(1400), Some(true), Some("veth"))
    );
    assert_eq!(veth0.addrs[0].addr, ip("10.20.0.1"));
    let idle0 = host.interface("idle0").unwrap();
    assert!(idle0.addrs.is_empty() && !idle0.up);
    assert_eq!(
        host.interface("port0").unwrap().master.as_deref(),
        Some("br0")
    );
    assert_eq!(host.neighbours.len(), 8);
    let failed: Vec<IpAddr> = host
        .neighbours
        .iter()
        .filter(|n| n.failed())
        .map(|n| n.addr)
        .collect();
    assert_eq!(failed, [ip("10.20.0.99"), ip("fd00:20::99")]);
}

/// A links file alone still lists every device (no addresses known).
#[test]
fn a_link_listing_without_addresses_gives_the_devices() {
    let dir = Scratch::new("links-only");
    dir.write(
        "ip-link.json",
        &std::fs::read_to_string(fixture("links/ip-link.json")).unwrap(),
    );
    let host = host_dir::load(&dir.0).unwrap().host;
    assert!(host.known.links && !host.known.addresses && !host.known.neighbours);
    assert_eq!(host.interfaces.len(), 9);
    assert!(host.interfaces.iter().all(|i| i.addrs.is_empty()));
}

/// A snapshot holding the links/ host's files as members reads back into the same host as
/// the directory.
#[test]
fn a_snapshot_with_link_and_neigh_members_reads_back_into_the_same_host() {
    use frontends::host::snapshot::{self, Member, Snapshot};
    use model::SourceFile;
    let files = [
        ("ip-addr.json", "ip -j addr"),
        ("ip-link.json", "ip -j -d link"),
        ("ip-neigh.json", "ip -j neigh"),
        ("ip-route.json", "ip -4 -j route show table all"),
        ("ip6-route.json", "ip -6 -j route show table all"),
    ];
    let snap = Snapshot {
        meta: vec![("hostname".into(), "links".into())],
        members: files
            .iter()
            .map(|(name, command)| Member {
                name: (*name).into(),
                command: (*command).into(),
                status: "0".into(),
                stdout: std::fs::read_to_string(fixture("links").join(name)).unwrap(),
                ..Member::default()
            })
            .collect(),
    };
    let back = Snapshot::parse(&SourceFile::new("links.snap", snap.render())).unwrap();
    assert_eq!(back, snap);
    let loaded = snapshot::load("links.snap", &back).unwrap();
    let from_dir = host_dir::load(&fixture("links")).unwrap().host;
    assert_eq!(loaded.state.host, from_dir);
    assert!(loaded.state.host.known.links && loaded.state.host.known.neighbours);
}

/// A neighbour table with a bad address is an error at that address, named by the file.
#[test]
fn a_bad_neighbour_names_its_file_and_position() {
    let dir = Scratch::new("bad-neigh");
    dir.write(
        "ip-neigh.json",
        "[{\"dst\":\"10.0.0.1\",\"dev\":\"eth0\",\"state\":[\"STALE\"]},\n {\"dst\":\"10.0.0.999\",\"dev\":\"eth0\"}]\n",
    );
    let err = host_dir::load(&dir.0).unwrap_err().to_string();
    assert!(err.contains("ip-neigh.json:2:9:"), "{err}");
    assert!(err.contains("10.0.0.999"), "{err}");
}
