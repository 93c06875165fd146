//! Cross-check of the two front ends on Docker's paired goldens (issue 4): moby's bridge
//! driver writes the same network scenario once as iptables rules
//! (`iptabler/testdata/TestIptabler/<scenario>__ip{,6}tables.golden`) and once as nftables
//! (`nftabler/testdata/TestNftabler/<scenario>__ip{,6}.golden`). For every scenario present
//! on both sides, both rulesets are simulated on the same Docker host (an external `eth0`,
//! the bridge `br-dummy` with the scenario's container subnet, loopback) with packets made
//! from the rules' own addresses and ports: from outside to published ports and straight to
//! containers, from containers out, to each other and back to the host (hairpin), from the
//! host itself. Fates and the packet after NAT must be the same wherever neither side met
//! an Unknown.
//!
//! The corpus is data of its own (Apache-2.0, never copied here): absent, the test says so
//! and passes.
#![allow(clippy::print_stderr)]

use engine::{Event, Fate, Options, Outcome};
use ipnet::IpNet;
use model::expr::{Action, Key, Pattern, Test, Value};
use model::host::{IfAddr, Interface, LinkType, Route, RouteType, Scope};
use model::ruleset::Step;
use model::{Family, Host, Packet, Ruleset, SourceFile, TcpFlags, L4};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");
const DRIVER: &str = "moby/daemon/libnetwork/drivers/bridge/internal";
const BRIDGE: &str = "br-dummy";

/// Scenarios whose two backends differ by design, with the reason (matched on a substring
/// of the scenario name).
const EXCLUDED: &[(&str, &str)] = &[];

/// Addresses and ports the rules mention, sorted into what they are on a Docker host.
#[derive(Debug, Default)]
struct Seen {
    /// Container addresses (`-d X/32` with `-o br-dummy`, DNAT targets, `ip daddr X`).
    addrs: BTreeSet<IpAddr>,
    /// Prefixes (the container subnet, `-s 192.168.0.0/24`).
    nets: BTreeSet<IpNet>,
    ports: BTreeSet<u16>,
}

fn collect(rs: &Ruleset, seen: &mut Seen) {
    let add_pattern = |key: Key, p: &Pattern, seen: &mut Seen| match (key, p) {
        (Key::SrcAddr | Key::DstAddr, Pattern::Value(Value::Addr(a))) => {
            seen.addrs.insert(*a);
        }
        (Key::SrcAddr | Key::DstAddr, Pattern::Prefix(n)) => {
            if n.prefix_len() == n.max_prefix_len() {
                seen.addrs.insert(n.addr());
            } else if n.prefix_len() >= 8 && !n.addr().is_loopback() {
                seen.nets.insert(n.trunc());
            }
        }
        (Key::DstPort, Pattern::Value(Value::Int(n))) if *n <= 65535 => {
            seen.ports.insert(*n as u16);
        }
        _ => {}
    };
    for t in &rs.tables {
        for c in &t.chains {
            for r in &c.rules {
                for s in &r.body {
                    match s {
                        Step::Match(m) => {
                            if let Test::Cmp { key, pattern } = &m.test {
                                match pattern {
                                    Pattern::OneOf(ps) => {
                                        for p in ps {
                                            add_pattern(*key, p, seen)
                                        }
                                    }
                                    p => add_pattern(*key, p, seen),
                                }
                            }
                        }
                        Step::Action(Action::Nat(n)) => {
                            if let Some((a, _)) = n.addr {
                                seen.addrs.insert(a);
                            }
                            if let Some((p, _)) = n.ports {
                                seen.ports.insert(p);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        for set in &t.sets {
            for e in set.elements.iter().take(8) {
                for p in &e.key {
                    if let Pattern::Value(Value::Addr(a)) = p {
                        seen.addrs.insert(*a);
                    }
                }
            }
        }
    }
}

fn ifaddr(addr: IpAddr, prefix_len: u8, scope: Scope) -> IfAddr {
    IfAddr {
        addr,
        prefix_len,
        scope,
        broadcast: None,
        temporary: false,
        secondary: false,
        deprecated: false,
        dad: model::host::DadState::Done,
    }
}

fn route(dst: IpNet, dev: &str, gateway: Option<IpAddr>, src: Option<IpAddr>) -> Route {
    Route {
        table: model::host::table_id::MAIN,
        dst,
        route_type: RouteType::Unicast,
        gateway,
        dev: Some(dev.into()),
        prefsrc: src,
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

/// The Docker host of a scenario: `eth0` outside (203.0.113.1/24, 2001:db8:e::1/64, default
/// routes), `br-dummy` with the container subnet (its gateway address one not used by a
/// container), `lo`; forwarding on.
struct DockerHost {
    host: Host,
    ext_addr: IpAddr,
    bridge_addr: IpAddr,
    subnet: IpNet,
    containers: Vec<IpAddr>,
}

fn docker_host(seen: &Seen, v6: bool) -> DockerHost {
    let fam = |a: &IpAddr| a.is_ipv6() == v6;
    let ext: IpNet = if v6 {
        "2001:db8:e::/64".parse().unwrap()
    } else {
        "203.0.113.0/24".parse().unwrap()
    };
    let ext_addr: IpAddr = if v6 {
        "2001:db8:e::1".parse().unwrap()
    } else {
        "203.0.113.1".parse().unwrap()
    };
    let gw: IpAddr = if v6 {
        "2001:db8:e::fe".parse().unwrap()
    } else {
        "203.0.113.254".parse().unwrap()
    };
    let local = |a: &IpAddr| a.is_loopback() || (v6 && a.to_string().starts_with("fe80"));
    let containers: Vec<IpAddr> = seen
        .addrs
        .iter()
        .filter(|a| fam(a) && !local(a) && !ext.contains(*a))
        .copied()
        .collect();
    let plen = if v6 { 64 } else { 24 };
    let subnet = seen
        .nets
        .iter()
        .find(|n| n.addr().is_ipv6() == v6 && !local(&n.addr()) && !n.addr().is_multicast())
        .copied()
        .or_else(|| {
            containers
                .first()
                .and_then(|a| IpNet::new(*a, plen).ok().map(|n| n.trunc()))
        })
        .unwrap_or_else(|| {
            if v6 {
                "fd00:d0c::/64".parse().unwrap()
            } else {
                "172.17.0.0/16".parse().unwrap()
            }
        });
    let hosts = |n: &IpNet| -> Vec<IpAddr> {
        match n {
            IpNet::V4(n) => {
                let base = u32::from(n.network());
                [1u32, 254, 253]
                    .iter()
                    .map(|o| IpAddr::V4((base + o).into()))
                    .collect()
            }
            IpNet::V6(n) => {
                let base = u128::from(n.network());
                [1u128, 0xfffe, 0xfffd]
                    .iter()
                    .map(|o| IpAddr::V6((base + o).into()))
                    .collect()
            }
        }
    };
    let bridge_addr = hosts(&subnet)
        .into_iter()
        .find(|a| !containers.contains(a))
        .unwrap_or(subnet.addr());
    let mut h = Host::default();
    let lo_addr: IpAddr = if v6 {
        "::1".parse().unwrap()
    } else {
        "127.0.0.1".parse().unwrap()
    };
    h.interfaces.push(Interface {
        name: "lo".into(),
        index: 1,
        link: LinkType::Loopback,
        up: true,
        addrs: vec![ifaddr(lo_addr, if v6 { 128 } else { 8 }, Scope::Host)],
        ..Interface::default()
    });
    h.interfaces.push(Interface {
        name: "eth0".into(),
        index: 2,
        up: true,
        addrs: vec![ifaddr(ext_addr, ext.prefix_len(), Scope::Universe)],
        ..Interface::default()
    });
    h.interfaces.push(Interface {
        name: BRIDGE.into(),
        index: 3,
        up: true,
        addrs: vec![ifaddr(bridge_addr, subnet.prefix_len(), Scope::Universe)],
        ..Interface::default()
    });
    h.routes.push(route(ext, "eth0", None, Some(ext_addr)));
    h.routes
        .push(route(subnet, BRIDGE, None, Some(bridge_addr)));
    let default: IpNet = if v6 {
        "::/0".parse().unwrap()
    } else {
        "0.0.0.0/0".parse().unwrap()
    };
    h.routes.push(route(default, "eth0", Some(gw), None));
    for (k, v) in [
        ("net.ipv4.ip_forward", "1"),
        ("net.ipv6.conf.all.forwarding", "1"),
        ("net.ipv4.conf.all.rp_filter", "0"),
        ("net.ipv4.conf.default.rp_filter", "0"),
    ] {
        h.sysctls.0.insert(k.into(), v.into());
    }
    h.known.addresses = true;
    h.known.routes = true;
    h.known.sysctls = true;
    h.known.conntrack = true;
    DockerHost {
        host: h,
        ext_addr,
        bridge_addr,
        subnet,
        containers,
    }
}

fn packet(
    proto: u8,
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    flags: u8,
    iif: Option<&str>,
) -> Packet {
    let l4 = match proto {
        6 => L4::Tcp {
            sport,
            dport,
            flags: TcpFlags(flags),
        },
        17 => L4::Udp { sport, dport },
        _ if src.is_ipv6() => L4::Icmpv6 {
            icmp_type: 128,
            code: 0,
            id: sport,
        },
        _ => L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: sport,
        },
    };
    let mut p = Packet::new(src, dst, l4);
    p.iif = iif.map(str::to_string);
    p
}

/// Packets from the rules: outside -> published ports on the host and straight to
/// containers; containers -> outside, each other, the host (hairpin); the host -> all.
fn packets(d: &DockerHost, seen: &Seen, v6: bool) -> Vec<Packet> {
    let outside: IpAddr = if v6 {
        "2001:db8:f::7".parse().unwrap()
    } else {
        "198.51.100.7".parse().unwrap()
    };
    let lo: IpAddr = if v6 {
        "::1".parse().unwrap()
    } else {
        "127.0.0.1".parse().unwrap()
    };
    let mut ports: Vec<u16> = seen.ports.iter().copied().collect();
    ports.push(9999);
    let mut containers = d.containers.clone();
    if containers.is_empty() {
        containers.push(d.subnet.hosts().nth(1).unwrap_or(d.subnet.addr()));
    }
    // Another container on the bridge, for ICC.
    let other = d
        .subnet
        .hosts()
        .take(20)
        .find(|a| *a != d.bridge_addr && !containers.contains(a))
        .unwrap_or(d.subnet.addr());
    let c0 = containers[0];
    let mut out = Vec::new();
    let mut sport = 30000u16;
    let mut add =
        |proto: u8, src: IpAddr, dst: IpAddr, dport: u16, flags: u8, iif: Option<&str>| {
            sport += 1;
            out.push(packet(proto, src, sport, dst, dport, flags, iif));
        };
    for &port in &ports {
        for proto in [6u8, 17] {
            add(proto, outside, d.ext_addr, port, 0x02, Some("eth0"));
            add(proto, outside, d.bridge_addr, port, 0x02, Some("eth0"));
            for &c in &containers {
                add(proto, outside, c, port, 0x02, Some("eth0"));
                add(proto, other, c, port, 0x02, Some(BRIDGE));
                add(proto, d.ext_addr, c, port, 0x02, None);
            }
            add(proto, c0, d.ext_addr, port, 0x02, Some(BRIDGE));
            add(proto, c0, d.bridge_addr, port, 0x02, Some(BRIDGE));
            add(proto, d.ext_addr, d.ext_addr, port, 0x02, None);
            add(proto, lo, lo, port, 0x02, None);
        }
        add(6, outside, d.ext_addr, port, 0x10, Some("eth0"));
        add(6, outside, c0, port, 0x10, Some("eth0"));
    }
    for proto in [6u8, 17, 1] {
        add(proto, c0, outside, 443, 0x02, Some(BRIDGE));
        add(proto, c0, other, 80, 0x02, Some(BRIDGE));
        add(proto, outside, c0, 80, 0x02, Some("eth0"));
        add(proto, d.ext_addr, outside, 53, 0x02, None);
    }
    out
}

fn has_unknown(o: &Outcome) -> bool {
    o.branches.len() > 1
        || o.truncated
        || matches!(o.primary().fate, Fate::Undetermined { .. })
        || o.primary()
            .events
            .iter()
            .any(|e| matches!(e, Event::Unknown { .. }))
}

/// The fate and the packet after NAT, in words both sides share.
fn observe(o: &Outcome) -> String {
    let t = o.primary();
    let fate = match &t.fate {
        Fate::Delivered { .. } => "delivered".to_string(),
        Fate::Forwarded { oif, .. } => format!("forwarded out of {oif}"),
        f => format!("{f:?}"),
    };
    let p = &t.final_packet;
    format!(
        "{fate}; leaves as {} -> {} {:?}",
        p.src,
        p.dst,
        p.l4.ports()
    )
}

#[test]
fn docker_iptables_and_nftables_goldens_give_the_same_fates() {
    let base = PathBuf::from(CORPUS).join(DRIVER);
    let ipt_dir = base.join("iptabler/testdata/TestIptabler");
    let nft_dir = base.join("nftabler/testdata/TestNftabler");
    let Ok(entries) = std::fs::read_dir(&ipt_dir) else {
        eprintln!(
            "SKIP: {} is absent (a fresh clone has no shared corpus)",
            ipt_dir.display()
        );
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".golden"))
        .collect();
    names.sort();
    let start = std::time::Instant::now();
    let (mut scenarios, mut comparable, mut agree, mut packets_compared, mut unknown) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut fates: std::collections::BTreeMap<String, usize> = Default::default();
    let mut unpaired = Vec::new();
    let mut excluded = Vec::new();
    let mut failures = Vec::new();
    for name in &names {
        let Some((scenario, v6)) = name
            .strip_suffix("__iptables.golden")
            .map(|s| (s, false))
            .or_else(|| name.strip_suffix("__ip6tables.golden").map(|s| (s, true)))
        else {
            continue;
        };
        scenarios += 1;
        let twin = nft_dir.join(format!(
            "{scenario}__{}.golden",
            if v6 { "ip6" } else { "ip" }
        ));
        let (Ok(ipt_text), Ok(nft_text)) = (
            std::fs::read_to_string(ipt_dir.join(name)),
            std::fs::read_to_string(&twin),
        ) else {
            unpaired.push(name.clone());
            continue;
        };
        if let Some((_, why)) = EXCLUDED.iter().find(|(s, _)| scenario.contains(s)) {
            excluded.push(format!("{name}: {why}"));
            continue;
        }
        let fam = if v6 { Family::Ip6 } else { Family::Ip };
        let a =
            frontends::iptables_save::parse(&SourceFile::new(name.as_str(), ipt_text), Some(fam))
                .unwrap_or_else(|e| panic!("{name}: the iptables front end refuses it: {e}"));
        let b = frontends::nft::parse_text(&SourceFile::new(twin.display().to_string(), nft_text))
            .unwrap_or_else(|e| panic!("{}: the nft front end refuses it: {e}", twin.display()));
        let mut seen = Seen::default();
        collect(&a, &mut seen);
        collect(&b, &mut seen);
        let d = docker_host(&seen, v6);
        let opts = Options::default();
        let mut diffs = Vec::new();
        let mut compared = 0;
        for p in packets(&d, &seen, v6) {
            let oa = engine::simulate(&a, &d.host, &p, &opts);
            let ob = engine::simulate(&b, &d.host, &p, &opts);
            if has_unknown(&oa) || has_unknown(&ob) {
                unknown += 1;
                continue;
            }
            compared += 1;
            let (x, y) = (observe(&oa), observe(&ob));
            *fates
                .entry(x.split(';').next().unwrap_or("").to_string())
                .or_default() += 1;
            if x != y && diffs.len() < 4 {
                let iif = p.iif.clone().unwrap_or_else(|| "(local)".into());
                diffs.push(format!(
                    "  {p} in {iif}\n    iptables: {x}\n    nftables: {y}"
                ));
            }
        }
        packets_compared += compared;
        if compared > 0 {
            comparable += 1;
        }
        if diffs.is_empty() {
            if compared > 0 {
                agree += 1;
            }
        } else {
            failures.push(format!(
                "{scenario} ({}):\n{}",
                if v6 { "IPv6" } else { "IPv4" },
                diffs.join("\n")
            ));
        }
    }
    eprintln!(
        "docker goldens: {scenarios} iptables scenarios, {} unpaired, {} excluded, {comparable} comparable \
         ({packets_compared} packets, {unknown} with an Unknown not compared): {agree} agree, {} disagree in {:.1}s",
        unpaired.len(),
        excluded.len(),
        failures.len(),
        start.elapsed().as_secs_f64()
    );
    // The spread of fates shows the packets reach every part of the rulesets.
    eprintln!("  fates (iptables side): {fates:?}");
    for u in &unpaired {
        eprintln!("  unpaired (no nftabler twin): {u}");
    }
    for e in &excluded {
        eprintln!("  excluded: {e}");
    }
    for f in &failures {
        eprintln!("DISAGREE {f}");
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) disagree, see above",
        failures.len()
    );
}
