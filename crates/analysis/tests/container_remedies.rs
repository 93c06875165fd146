//! Remedies for blocks on container, VM and router-firewall traffic: Docker's goldens
//! (moby, read in place from `../shared/corpus`), fw4's expected ruleset, and LXD tables
//! written by hand from its sources (`fixtures/containers/`). Each asserts the owner, a fix
//! in the owner's language, never a rule in the owner's rewritten chains, and the whole
//! exchange passing in the simulation.
#![allow(clippy::print_stderr)]

use analysis::remedy::{remedies, Breadth, Durability, Language, Step};
use analysis::FixCaveat;
use engine::Options;
use ipnet::IpNet;
use model::host::{IfAddr, Interface, Route, RouteType, Scope};
use model::tool_config::ToolConfig;
use model::{Family, Host, Packet, Ruleset, SourceFile, TcpFlags, Tool, L4};
use std::net::IpAddr;
use std::path::Path;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

fn corpus_file(rel: &str) -> Option<String> {
    let p = Path::new(CORPUS).join(rel);
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(t),
        Err(_) => {
            eprintln!(
                "SKIPPED: {} is absent (the shared corpus is not beside the checkout)",
                p.display()
            );
            None
        }
    }
}

fn host(ifaces: &[(&str, &str)], default_dev: &str) -> Host {
    let mut h = Host::default();
    for (i, (name, cidr)) in ifaces.iter().enumerate() {
        let net: IpNet = cidr.parse().unwrap();
        h.interfaces.push(Interface {
            name: (*name).into(),
            index: i as u32 + 2,
            up: true,
            addrs: vec![IfAddr {
                addr: net.addr(),
                prefix_len: net.prefix_len(),
                scope: Scope::Universe,
                broadcast: None,
                temporary: false,
                secondary: false,
            }],
            ..Interface::default()
        });
        h.routes.push(route(net.trunc(), name, None));
    }
    let gw: IpAddr = "203.0.113.254".parse().unwrap();
    h.routes
        .push(route("0.0.0.0/0".parse().unwrap(), default_dev, Some(gw)));
    h.sysctls.0.insert("net.ipv4.ip_forward".into(), "1".into());
    h.sysctls
        .0
        .insert("net.ipv4.conf.all.rp_filter".into(), "0".into());
    h.known.addresses = true;
    h.known.routes = true;
    h.known.sysctls = true;
    h.known.conntrack = true;
    h
}

fn route(dst: IpNet, dev: &str, gateway: Option<IpAddr>) -> Route {
    Route {
        table: model::host::table_id::MAIN,
        dst,
        route_type: RouteType::Unicast,
        gateway,
        dev: Some(dev.into()),
        prefsrc: None,
        metric: 0,
        scope: if gateway.is_some() {
            Scope::Universe
        } else {
            Scope::Link
        },
        protocol: None,
        nexthops: vec![],
        text: format!("{dst} dev {dev}"),
    }
}

fn syn(src: &str, dst: &str, dport: u16, iif: &str) -> Packet {
    let mut p = Packet::new(
        src.parse().unwrap(),
        dst.parse().unwrap(),
        L4::Tcp {
            sport: 40000,
            dport,
            flags: TcpFlags::SYN,
        },
    );
    p.iif = Some(iif.into());
    p
}

fn recognised(mut rs: Ruleset) -> Ruleset {
    owners::recognise(&mut rs, &ToolConfig::default());
    rs
}

fn run(rs: &Ruleset, host: &Host, packet: &Packet) -> analysis::remedy::Remedies {
    let options = Options::default();
    let outcome = engine::simulate(rs, host, packet, &options);
    remedies(rs, host, packet, &outcome, &options, &ToolConfig::default())
        .expect("blocked, with remedies")
}

/// The commands of every step, to check that none writes into a chain the tool rewrites.
fn commands(r: &analysis::remedy::Remedy) -> Vec<String> {
    r.steps
        .iter()
        .map(|s| match s {
            Step::Run(c) => c.clone(),
            Step::AddLine { line, .. } => line.clone(),
        })
        .collect()
}

#[test]
fn docker_published_port_blocked_in_docker_user_gets_a_docker_user_accept() {
    let dir = "moby/daemon/libnetwork/drivers/bridge/internal/iptabler/testdata/TestIptabler";
    let Some(golden) = corpus_file(&format!(
        "{dir}/hairpin=false,internal=false,icc=true,masq=true,snat=false,gwm=nat,bindlh=false__iptables.golden"
    )) else {
        return;
    };
    let Some(user) = corpus_file(
        "moby/daemon/libnetwork/testdata/TestUserChain/iptables-true_append-false_fwdafter4.golden",
    ) else {
        return;
    };
    // Docker's filter table with DOCKER-USER as Docker creates it (TestUserChain: the two
    // jumps lead FORWARD), the admin's drop of everything from eth0 in it, and ufw beside.
    let jumps: Vec<&str> = user
        .lines()
        .filter(|l| l.starts_with("-A FORWARD"))
        .collect();
    let text = golden
        .replace("-A FORWARD -j DOCKER-FORWARD\n", "")
        .replace(
            ":DOCKER-FORWARD - [0:0]\n",
            &format!(
                ":DOCKER-FORWARD - [0:0]\n:DOCKER-USER - [0:0]\n:ufw-before-forward - [0:0]\n{}\n-A DOCKER-USER -i eth0 -j DROP\n",
                jumps.join("\n")
            ),
        );
    let rs = recognised(
        frontends::iptables_save::parse(&SourceFile::new("docker.rules", text), Some(Family::Ip))
            .expect("parses"),
    );
    let h = host(
        &[("eth0", "203.0.113.1/24"), ("br-dummy", "192.168.0.1/24")],
        "eth0",
    );
    let p = syn("198.51.100.7", "203.0.113.1", 8080, "eth0");
    let r = run(&rs, &h, &p);
    assert_eq!(
        r.owner.as_ref().map(|o| o.tool.clone()),
        Some(Tool::Unmanaged),
        "the admin's own drop"
    );
    let docker_user = r
        .ladder
        .iter()
        .find(|x| {
            commands(x)
                .iter()
                .any(|c| c.starts_with("iptables -I DOCKER-USER"))
        })
        .unwrap_or_else(|| panic!("no DOCKER-USER remedy: {:#?}", r.ladder));
    assert!(docker_user.verified(), "{:#?}", docker_user.exchange);
    assert_eq!(docker_user.durability, Durability::Durable);
    assert_eq!(
        commands(docker_user),
        vec![
            "iptables -I DOCKER-USER -i eth0 -o br-dummy -s 198.51.100.7/32 -d 192.168.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT".to_string(),
            "-A DOCKER-USER -i eth0 -o br-dummy -s 198.51.100.7/32 -d 192.168.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT".to_string(),
        ]
    );
    assert!(docker_user.caveats.iter().any(|c| matches!(
        c,
        FixCaveat::PublishedPortBypassesUfw { port } if port.host_port == 8080 && port.container_port == 80
    )));
    for x in &r.ladder {
        for c in commands(x) {
            assert!(
                !c.contains(" DOCKER ") && !c.contains("DOCKER-FORWARD"),
                "into Docker's chain: {c}"
            );
        }
    }
}

#[test]
fn fw4_wan_input_reject_gets_a_uci_rule_that_fw4_writes_into_the_zone() {
    let Some(text) =
        corpus_file("openwrt-firewall4/extracted_expected_nft/01_configuration__01_ruleset.nft")
    else {
        return;
    };
    let rs =
        recognised(frontends::nft::parse_text(&SourceFile::new("fw4.nft", text)).expect("parses"));
    let h = host(
        &[
            ("pppoe-wan", "203.0.113.1/24"),
            ("br-lan", "192.168.1.1/24"),
        ],
        "pppoe-wan",
    );
    // UDP: a TCP SYN meets fw4's syn_flood rate limit, which cannot be decided offline.
    let mut p = syn("198.51.100.7", "203.0.113.1", 8443, "pppoe-wan");
    p.l4 = L4::Udp {
        sport: 40000,
        dport: 8443,
    };
    let r = run(&rs, &h, &p);
    let owner = r.owner.clone().expect("owned");
    assert_eq!(owner.tool, Tool::Fw4);
    let uci = r
        .ladder
        .iter()
        .find(|x| x.language == Language::ToolSetting(Tool::Fw4))
        .unwrap_or_else(|| panic!("no fw4 remedy: {:#?}", r.ladder));
    assert!(uci.verified(), "{:#?}", uci.exchange);
    let cmds = commands(uci);
    assert!(
        cmds.contains(&"uci set firewall.@rule[-1].src='wan'".to_string()),
        "{cmds:?}"
    );
    assert!(
        cmds.contains(&"uci set firewall.@rule[-1].dest_port='8443'".to_string()),
        "{cmds:?}"
    );
    assert!(
        cmds.contains(&"uci set firewall.@rule[-1].proto='udp'".to_string()),
        "{cmds:?}"
    );
    assert_eq!(
        r.primary().map(|x| &x.language),
        Some(&Language::ToolSetting(Tool::Fw4))
    );
    assert!(r
        .ladder
        .iter()
        .all(|x| !matches!(x.durability, Durability::LostOnReload(_))));
}

#[test]
fn lxd_acl_reject_gets_the_networks_acl_setting_not_a_rule_in_its_table() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/containers/lxd-acl.nft"
    ))
    .unwrap();
    let rs = recognised(
        frontends::nft::parse_text(&SourceFile::new("lxd-acl.nft", text)).expect("parses"),
    );
    let h = host(
        &[("eth0", "203.0.113.1/24"), ("lxdbr0", "10.10.10.1/24")],
        "eth0",
    );
    let p = syn("198.51.100.7", "10.10.10.20", 80, "eth0");
    let r = run(&rs, &h, &p);
    assert_eq!(r.owner.as_ref().map(|o| o.tool.clone()), Some(Tool::Lxd));
    let setting = r
        .ladder
        .iter()
        .find(|x| x.breadth == Breadth::Cause)
        .unwrap_or_else(|| panic!("no LXD setting: {:#?}", r.ladder));
    assert_eq!(
        commands(setting),
        vec!["lxc network set lxdbr0 security.acls.default.ingress.action=allow".to_string()]
    );
    // A rule typed into LXD's table is offered only as the last resort, marked as lost.
    for x in &r.ladder {
        if commands(x).iter().any(|c| c.contains("inet lxd")) {
            assert_eq!(x.durability, Durability::LostOnReload(Tool::Lxd));
        }
    }
}
