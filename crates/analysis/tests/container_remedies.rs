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
                deprecated: false,
                dad: model::host::DadState::Done,
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

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/containers/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn nft_ruleset(name: &str, text: String) -> Ruleset {
    recognised(frontends::nft::parse_text(&SourceFile::new(name, text)).expect("parses"))
}

/// No step of any rung types a rule into `table` unless the rung says it is lost when the
/// tool reloads.
fn assert_not_into(r: &analysis::remedy::Remedies, table: &str, tool: Tool) {
    for x in &r.ladder {
        if x.kernel_rules.iter().any(|k| k.table == table) {
            assert_eq!(
                x.durability,
                Durability::LostOnReload(tool.clone()),
                "into {table}: {:?}",
                commands(x)
            );
        }
    }
}

/// `tool_tables` (which publish host port 8080 to `container`:80 on `bridge`) beside the
/// admin's `inet filter` that drops forwarding: the owner is the admin, and the primary
/// remedy is the service rule in the admin's forward chain for the packet as the forward
/// hook sees it (after the tool's DNAT), with its line for `/etc/nftables.conf`, verified.
fn own_table_opens_published_port_80(
    tool_tables: &str,
    bridge: &str,
    container: &str,
) -> analysis::remedy::Remedies {
    let rs = nft_ruleset(
        "ruleset.nft",
        format!("{tool_tables}\n{}", fixture("own-forward-drop.nft")),
    );
    let bridge_net = format!("{}.1/24", container.rsplit_once('.').expect("v4").0);
    let h = host(
        &[("eth0", "203.0.113.1/24"), (bridge, bridge_net.as_str())],
        "eth0",
    );
    let p = syn("198.51.100.7", "203.0.113.1", 8080, "eth0");
    let r = run(&rs, &h, &p);
    assert_eq!(
        r.owner.as_ref().map(|o| o.tool.clone()),
        Some(Tool::Unmanaged)
    );
    let primary = r.primary().expect("a primary");
    assert!(primary.verified(), "{:#?}", primary.exchange);
    assert_eq!(primary.durability, Durability::Durable);
    let rule =
        format!("iifname \"eth0\" oifname \"{bridge}\" ip daddr {container} tcp dport 80 accept");
    assert_eq!(
        commands(primary),
        vec![format!("nft add rule inet filter forward {rule}"), rule]
    );
    r
}

#[test]
fn netavark_isolation_drop_gets_the_podman_network_setting() {
    let rs = nft_ruleset("netavark.nft", fixture("netavark.nft"));
    let h = host(
        &[
            ("eth0", "203.0.113.1/24"),
            ("podman1", "10.89.0.1/24"),
            ("podman2", "10.89.1.1/24"),
        ],
        "eth0",
    );
    let p = syn("10.89.0.2", "10.89.1.2", 80, "podman1");
    let r = run(&rs, &h, &p);
    let owner = r.owner.clone().expect("owned");
    assert_eq!(owner.tool, Tool::Netavark);
    assert_eq!(
        owner.role,
        model::Role::Container(model::owner::ContainerRole::Isolation)
    );
    let primary = r.primary().expect("a primary");
    assert_eq!(primary.language, Language::ToolSetting(Tool::Netavark));
    assert_eq!(primary.breadth, Breadth::Cause);
    assert_eq!(
        commands(primary),
        vec!["podman network connect NETWORK CONTAINER".to_string()]
    );
    assert_not_into(&r, "netavark", Tool::Netavark);
}

#[test]
fn a_published_podman_port_dropped_by_the_admins_table_is_opened_there_not_in_netavarks() {
    // An accept in `inet netavark` would not help: the admin's forward chain still drops.
    let r = own_table_opens_published_port_80(&fixture("netavark.nft"), "podman1", "10.89.0.2");
    assert_not_into(&r, "netavark", Tool::Netavark);
}

#[test]
fn libvirt_reject_into_a_nat_network_gets_the_networks_forward_mode() {
    let rs = nft_ruleset("libvirt.nft", fixture("libvirt.nft"));
    let h = host(
        &[("eth0", "203.0.113.1/24"), ("virbr0", "192.168.122.1/24")],
        "eth0",
    );
    let p = syn("198.51.100.7", "192.168.122.50", 22, "eth0");
    let r = run(&rs, &h, &p);
    assert_eq!(
        r.owner.as_ref().map(|o| o.tool.clone()),
        Some(Tool::Libvirt)
    );
    let primary = r.primary().expect("a primary");
    assert_eq!(primary.language, Language::ToolSetting(Tool::Libvirt));
    let cmds = commands(primary);
    assert!(
        cmds.iter().any(|c| c.contains("<forward mode='open'")),
        "{cmds:?}"
    );
    assert_eq!(
        cmds.last().map(String::as_str),
        Some("virsh net-start NETWORK")
    );
    assert_not_into(&r, "libvirt_network", Tool::Libvirt);
}

#[test]
fn libvirt_leaves_traffic_out_of_its_network_to_the_kernel_rules() {
    // A guest's packet from a foreign source is libvirt's anti-spoofing reject: no forward
    // mode fixes that, and the setting is not offered.
    let rs = nft_ruleset("libvirt.nft", fixture("libvirt.nft"));
    let h = host(
        &[("eth0", "203.0.113.1/24"), ("virbr0", "192.168.122.1/24")],
        "eth0",
    );
    let p = syn("10.9.9.9", "198.51.100.7", 443, "virbr0");
    let outcome = engine::simulate(&rs, &h, &p, &Options::default());
    let r = remedies(
        &rs,
        &h,
        &p,
        &outcome,
        &Options::default(),
        &ToolConfig::default(),
    )
    .expect("blocked");
    assert!(r
        .ladder
        .iter()
        .all(|x| x.language != Language::ToolSetting(Tool::Libvirt)));
}

fn tailscale_host() -> Host {
    host(
        &[
            ("eth0", "203.0.113.1/24"),
            ("tailscale0", "100.100.1.1/10"),
            ("lan0", "192.168.1.1/24"),
        ],
        "eth0",
    )
}

fn tailscale_rules() -> Ruleset {
    recognised(
        frontends::iptables_save::parse(
            &SourceFile::new("tailscale.rules", fixture("tailscale.rules")),
            Some(Family::Ip),
        )
        .expect("parses"),
    )
}

#[test]
fn tailscale_cgnat_drop_of_an_isp_address_gets_nodivert_verified() {
    // An ISP's carrier-grade NAT hands out 100.64.0.0/10 too: ssh from such a client on
    // eth0 meets tailscale's spoofing guard.
    let rs = tailscale_rules();
    let p = syn("100.72.5.9", "203.0.113.1", 22, "eth0");
    let r = run(&rs, &tailscale_host(), &p);
    let owner = r.owner.clone().expect("owned");
    assert_eq!(owner.tool, Tool::Tailscale);
    let primary = r.primary().expect("a primary");
    assert_eq!(
        commands(primary),
        vec!["tailscale set --netfilter-mode=nodivert".to_string()]
    );
    assert!(primary.verified(), "{:#?}", primary.exchange);
    assert_not_into(&r, "filter", Tool::Tailscale);
}

#[test]
fn tailscale_stateful_filtering_drop_gets_the_setting() {
    let rs = tailscale_rules();
    let p = syn("192.168.1.5", "100.90.1.2", 443, "lan0");
    let r = run(&rs, &tailscale_host(), &p);
    assert_eq!(
        r.owner.as_ref().map(|o| o.tool.clone()),
        Some(Tool::Tailscale)
    );
    let setting = r
        .ladder
        .iter()
        .find(|x| x.language == Language::ToolSetting(Tool::Tailscale))
        .unwrap_or_else(|| panic!("no tailscale setting: {:#?}", r.ladder));
    assert_eq!(
        commands(setting),
        vec!["tailscale set --stateful-filtering=false".to_string()]
    );
    assert_eq!(r.primary(), Some(setting));
}

fn docker_nft_golden() -> Option<String> {
    corpus_file(
        "moby/daemon/libnetwork/drivers/bridge/internal/nftabler/testdata/TestNftabler/hairpin=false,internal=false,icc=true,masq=true,snat=false,gwm=nat,bindlh=false__ip.golden",
    )
}

#[test]
fn docker_nft_published_port_dropped_by_the_admins_table_is_opened_in_that_table() {
    let Some(golden) = docker_nft_golden() else {
        return;
    };
    let r = own_table_opens_published_port_80(&golden, "br-dummy", "192.168.0.2");
    assert_not_into(&r, "docker-bridges", Tool::Docker);
}

#[test]
fn docker_nft_unpublished_port_drop_is_the_cause_publish_it() {
    let Some(golden) = docker_nft_golden() else {
        return;
    };
    let rs = nft_ruleset("docker.nft", golden);
    let h = host(
        &[("eth0", "203.0.113.1/24"), ("br-dummy", "192.168.0.1/24")],
        "eth0",
    );
    // Routed straight to the container's address, port 81: Docker's "UNPUBLISHED PORT DROP".
    let p = syn("203.0.113.9", "192.168.0.2", 81, "eth0");
    let r = run(&rs, &h, &p);
    assert_eq!(r.owner.as_ref().map(|o| o.tool.clone()), Some(Tool::Docker));
    let primary = r.primary().expect("a primary");
    assert_eq!(primary.breadth, Breadth::Cause);
    assert_eq!(
        commands(primary),
        vec!["docker run --publish 81:81 IMAGE".to_string()]
    );
    assert_not_into(&r, "docker-bridges", Tool::Docker);
}
