//! Source address selection, one rule or case per test, on hosts read from `ip -j addr`
//! and `ip -j route` JSON by the project's own readers. The kernel differential
//! (`oracle/tests/source_address_kernel.rs`) checks the same rules against Linux.

use engine::source::{
    select_source, Bind, SourceChoice, SourceFailure, SourceNote, SourceReason, V6Rule,
};
use engine::RoutingFailure;
use model::host::Known;
use model::{Host, SourceFile};
use serde_json::{json, Value};
use std::net::IpAddr;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// One `addr_info` entry from `"ADDR/LEN [flag...]"` (flags as `ip -j addr` names them;
/// `scope=link` for a scope).
fn addr_info(spec: &str) -> Value {
    let mut words = spec.split_whitespace();
    let (addr, len) = words.next().unwrap().split_once('/').unwrap();
    let v6 = addr.contains(':');
    let mut o = json!({
        "family": if v6 { "inet6" } else { "inet" },
        "local": addr,
        "prefixlen": len.parse::<u8>().unwrap(),
        "scope": if addr.starts_with("fe80") { "link" } else { "global" },
    });
    for w in words {
        match w.split_once('=') {
            Some((k, v)) => o[k] = json!(v),
            None => o[w] = json!(true),
        }
    }
    o
}

/// A host from interfaces (`name`, addresses), routes as `ip -j route` objects and
/// `sysctl` lines. `lo` comes first, with 127.0.0.1/8 and ::1.
fn host(ifaces: &[(&str, &[&str])], routes: &[Value], sysctls: &str) -> Host {
    let mut links = vec![json!({
        "ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP"], "link_type": "loopback",
        "addr_info": [addr_info("127.0.0.1/8 scope=host"), addr_info("::1/128 scope=host")],
    })];
    for (i, (name, addrs)) in ifaces.iter().enumerate() {
        let infos: Vec<Value> = addrs.iter().map(|a| addr_info(a)).collect();
        links.push(json!({
            "ifindex": i + 2, "ifname": name, "flags": ["UP"], "link_type": "ether",
            "addr_info": infos,
        }));
    }
    let addrs = SourceFile::new("ip-addr.json", Value::Array(links).to_string());
    let routes = SourceFile::new("ip-route.json", Value::Array(routes.to_vec()).to_string());
    let mut h = Host {
        interfaces: frontends::host::iproute::parse_addrs(&addrs).unwrap(),
        routes: frontends::host::iproute::parse_routes(&routes, false).unwrap(),
        sysctls: frontends::host::sysctl::parse(&SourceFile::new("sysctl", sysctls)).unwrap(),
        ..Host::default()
    };
    h.known = Known {
        addresses: true,
        routes: true,
        sysctls: true,
        ..Known::default()
    };
    h
}

/// An `ip -j route` object from `ip route`'s words (`10.0.0.0/24 dev eth0 src 10.0.0.1`).
fn route(text: &str) -> Value {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut o = json!({});
    let mut i = 0;
    if matches!(words[0], "unreachable" | "blackhole" | "prohibit" | "local") {
        o["type"] = json!(words[0]);
        i = 1;
    }
    o["dst"] = json!(words[i]);
    i += 1;
    while i + 1 < words.len() {
        let key = match words[i] {
            "via" => "gateway",
            "src" => "prefsrc",
            other => other,
        };
        o[key] = if key == "metric" {
            json!(words[i + 1].parse::<u32>().unwrap())
        } else {
            json!(words[i + 1])
        };
        i += 2;
    }
    o
}

fn pick(h: &Host, dst: &str, bind: Bind) -> SourceChoice {
    select_source(h, ip(dst), &bind)
}

fn dev(name: &str) -> Bind {
    Bind::Device(name.to_string())
}

fn beaten(c: &SourceChoice) -> Vec<(IpAddr, V6Rule)> {
    match &c.reason {
        SourceReason::V6Rule { beaten, .. } => beaten.clone(),
        other => panic!("not decided by an IPv6 rule: {other:?}"),
    }
}

fn rule(c: &SourceChoice) -> V6Rule {
    match &c.reason {
        SourceReason::V6Rule { rule, .. } => *rule,
        other => panic!("not decided by an IPv6 rule: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// IPv4

fn v4_host() -> Host {
    host(
        &[
            (
                "eth0",
                &["10.0.0.1/24", "10.0.0.2/24 secondary", "192.168.9.1/24"],
            ),
            ("wlan0", &["169.254.7.7/16 scope=link", "10.0.5.1/24"]),
            ("tun0", &[]),
        ],
        &[
            route("10.0.0.0/24 dev eth0 scope link src 10.0.0.1"),
            route("172.16.0.0/16 dev eth0 scope link"),
            route("203.0.113.0/24 via 192.168.9.254 dev eth0"),
            route("198.51.100.0/24 via 10.0.5.254 dev wlan0 src 10.0.0.2"),
            route("198.51.200.0/24 dev wlan0 scope link"),
            route("default via 10.0.5.254 dev wlan0 metric 600"),
            route("default via 10.0.0.254 dev eth0 metric 100"),
            route("unreachable 10.99.0.0/16"),
        ],
        "",
    )
}

#[test]
fn prefsrc_wins() {
    let c = pick(&v4_host(), "198.51.100.5", Bind::None);
    assert_eq!(c.addr, Some(ip("10.0.0.2")));
    assert_eq!(c.reason, SourceReason::RoutePrefsrc);
    assert_eq!(c.oif.as_deref(), Some("wlan0"));
    assert_eq!(c.route, Some(3));
}

#[test]
fn secondary_never_chosen_and_first_primary_for_a_link_route() {
    // A link route without src: the device's first primary address of a scope within
    // `link`, not the one whose subnet holds the destination, never the secondary.
    let c = pick(&v4_host(), "172.16.3.3", Bind::None);
    assert_eq!(c.addr, Some(ip("10.0.0.1")));
    assert_eq!(
        c.reason,
        SourceReason::V4Device {
            dev: "eth0".into(),
            gateway_subnet: None
        }
    );
}

#[test]
fn gateway_subnet_decides_among_primaries() {
    let c = pick(&v4_host(), "203.0.113.5", Bind::None);
    assert_eq!(c.addr, Some(ip("192.168.9.1")));
    assert_eq!(
        c.reason,
        SourceReason::V4Device {
            dev: "eth0".into(),
            gateway_subnet: Some(ip("192.168.9.254"))
        }
    );
    assert_eq!(c.gateway, Some(ip("192.168.9.254")));
}

#[test]
fn scope_link_route_may_take_a_link_scope_address_gateway_route_never() {
    let h = v4_host();
    assert_eq!(
        pick(&h, "198.51.200.5", Bind::None).addr,
        Some(ip("169.254.7.7"))
    );
    // The default route by wlan0 (bound to it): scope global, so 10.0.5.1.
    assert_eq!(pick(&h, "8.8.8.8", dev("wlan0")).addr, Some(ip("10.0.5.1")));
}

#[test]
fn lowest_metric_default_route_unless_bound_to_a_device() {
    let h = v4_host();
    let plain = pick(&h, "8.8.8.8", Bind::None);
    assert_eq!(
        (plain.addr, plain.oif.as_deref()),
        (Some(ip("10.0.0.1")), Some("eth0"))
    );
    let bound = pick(&h, "8.8.8.8", dev("wlan0"));
    assert_eq!(bound.oif.as_deref(), Some("wlan0"));
    assert_eq!(bound.gateway, Some(ip("10.0.5.254")));
    assert!(
        !bound.notes.iter().any(|n| matches!(
            n,
            SourceNote::OnLinkAssumed { .. } | SourceNote::PingOtherDeviceWarning { .. }
        )),
        "{:?}",
        bound.notes
    );
}

#[test]
fn secondary_local_destination_gets_the_primary_from_its_local_route() {
    let c = pick(&v4_host(), "10.0.0.2", Bind::None);
    assert_eq!(c.addr, Some(ip("10.0.0.1")));
    assert_eq!(c.oif.as_deref(), Some("lo"));
}

#[test]
fn device_without_address_takes_another_devices_and_ping_warns() {
    let c = pick(&v4_host(), "10.0.0.9", dev("tun0"));
    assert_eq!(c.addr, Some(ip("10.0.0.1")));
    assert_eq!(c.oif.as_deref(), Some("tun0"));
    assert_eq!(
        c.reason,
        SourceReason::V4OtherDevice {
            out_dev: "tun0".into(),
            dev: "eth0".into()
        }
    );
    assert!(c
        .notes
        .contains(&SourceNote::OnLinkAssumed { dev: "tun0".into() }));
    assert!(c
        .notes
        .contains(&SourceNote::PingOtherDeviceWarning { dev: "tun0".into() }));
}

#[test]
fn bound_device_with_no_route_is_on_link_even_past_an_unreachable_route() {
    let h = v4_host();
    assert_eq!(
        pick(&h, "10.99.1.1", Bind::None).reason,
        SourceReason::Failed(SourceFailure::Route(RoutingFailure::Unreachable))
    );
    let c = pick(&h, "10.99.1.1", dev("wlan0"));
    assert_eq!(c.addr, Some(ip("169.254.7.7")));
    assert_eq!(c.oif.as_deref(), Some("wlan0"));
    assert!(c.notes.contains(&SourceNote::OnLinkAssumed {
        dev: "wlan0".into()
    }));
}

#[test]
fn bound_address_is_the_source_or_eaddrnotavail() {
    let h = v4_host();
    let c = pick(&h, "8.8.8.8", Bind::Address(ip("10.0.0.2")));
    assert_eq!(
        (c.addr, c.reason),
        (Some(ip("10.0.0.2")), SourceReason::Bound)
    );
    assert_eq!(
        pick(&h, "8.8.8.8", Bind::Address(ip("10.7.7.7"))).reason,
        SourceReason::Failed(SourceFailure::AddressNotAvailable(ip("10.7.7.7")))
    );
    assert_eq!(
        pick(&h, "8.8.8.8", dev("nosuch")).reason,
        SourceReason::Failed(SourceFailure::NoSuchDevice("nosuch".into()))
    );
}

#[test]
fn no_address_anywhere_sends_from_nothing() {
    let h = host(
        &[("eth0", &[])],
        &[route("default dev eth0 scope link")],
        "",
    );
    let c = pick(&h, "8.8.8.8", Bind::None);
    assert_eq!((c.addr, c.reason), (None, SourceReason::NoAddress));
}

#[test]
fn unknown_addresses_are_said_not_guessed() {
    let mut h = v4_host();
    h.known.addresses = false;
    h.interfaces.clear();
    let c = pick(&h, "172.16.3.3", Bind::None);
    assert_eq!((c.addr, c.reason), (None, SourceReason::AddressesUnknown));
    // A route's src is known all the same.
    assert_eq!(
        pick(&h, "198.51.100.5", Bind::None).addr,
        Some(ip("10.0.0.2"))
    );
}

// ---------------------------------------------------------------------------------------
// IPv6

const TEMP: &str = "2001:db8:1:0:a08f:fa6c:6557:b186/64 temporary dynamic";

fn v6_host(sysctls: &str) -> Host {
    host(
        &[
            (
                "wlan0",
                &[
                    TEMP,
                    "2001:db8:1::5/64 mngtmpaddr",
                    "2001:db8:3::5/64 deprecated",
                    "2001:db8:3::6/64",
                    "fd00:4::1/64",
                    "2001:db8:6::1/64 tentative",
                    "2001:db8:7::1/64 tentative dadfailed",
                    "fe80::1/64",
                ],
            ),
            ("eth0", &["fe80::2/64"]),
        ],
        &[
            route("2001:db8:1::/64 dev wlan0"),
            route("2001:db8:3::/64 dev wlan0"),
            route("2001:db8:6::/64 dev wlan0"),
            route("fd00:9::/64 dev wlan0"),
            route("2001:db8:8::/48 dev wlan0 src 2001:db8:1::5"),
            route("2001:db8:9::/48 dev eth0"),
            route("fe80::/64 dev wlan0"),
            route("fe80::/64 dev eth0"),
        ],
        sysctls,
    )
}

#[test]
fn temporary_preferred_with_use_tempaddr_2() {
    let h = v6_host("net.ipv6.conf.wlan0.use_tempaddr = 2\n");
    let c = pick(&h, "2001:db8:1::99", Bind::None);
    assert_eq!(c.addr, Some(ip("2001:db8:1:0:a08f:fa6c:6557:b186")));
    assert_eq!(
        rule(&c),
        V6Rule::Privacy {
            prefer_temporary: true
        }
    );
    // Even over an address in the destination's own subnet (rule 7 before rule 8).
    let c = pick(&h, "2001:db8:3::99", Bind::None);
    assert_eq!(c.addr, Some(ip("2001:db8:1:0:a08f:fa6c:6557:b186")));
}

#[test]
fn public_preferred_with_use_tempaddr_1_and_default_noted() {
    let h = v6_host("net.ipv6.conf.wlan0.use_tempaddr = 1\n");
    let c = pick(&h, "2001:db8:1::99", Bind::None);
    assert_eq!(c.addr, Some(ip("2001:db8:1::5")));
    // The temporary address lost at rule 7; 2001:db8:3::6 came closer and lost at 8.
    assert_eq!(rule(&c), V6Rule::LongestPrefix);
    assert!(beaten(&c).contains(&(
        ip("2001:db8:1:0:a08f:fa6c:6557:b186"),
        V6Rule::Privacy {
            prefer_temporary: false
        }
    )));
    let unset = pick(&v6_host(""), "2001:db8:1::99", Bind::None);
    assert_eq!(unset.addr, Some(ip("2001:db8:1::5")));
    assert!(unset.notes.iter().any(|n| matches!(
        n,
        SourceNote::SysctlDefault { key, .. }
            if key == "net.ipv6.conf.wlan0.use_tempaddr"
    )));
}

#[test]
fn deprecated_avoided() {
    let h = v6_host("net.ipv6.conf.wlan0.use_tempaddr = 0\n");
    let c = pick(&h, "2001:db8:3::99", Bind::None);
    assert_eq!(c.addr, Some(ip("2001:db8:3::6")));
    assert!(beaten(&c).contains(&(ip("2001:db8:3::5"), V6Rule::AvoidDeprecated)));
}

#[test]
fn longest_matching_prefix() {
    let h = v6_host("net.ipv6.conf.wlan0.use_tempaddr = 0\n");
    let c = pick(&h, "2001:db8:3::99", Bind::None);
    assert_eq!(rule(&c), V6Rule::LongestPrefix);
}

#[test]
fn label_matches_ula_to_ula() {
    let h = v6_host("net.ipv6.conf.wlan0.use_tempaddr = 0\n");
    let c = pick(&h, "fd00:9::9", Bind::None);
    assert_eq!(c.addr, Some(ip("fd00:4::1")));
    assert_eq!(rule(&c), V6Rule::Label);
    assert!(c.notes.contains(&SourceNote::DefaultAddressLabels));
}

#[test]
fn same_address_first() {
    let h = v6_host("net.ipv6.conf.wlan0.use_tempaddr = 2\n");
    let c = pick(&h, "2001:db8:3::5", Bind::None);
    assert_eq!(c.addr, Some(ip("2001:db8:3::5")));
    assert_eq!(rule(&c), V6Rule::SameAddress);
}

#[test]
fn tentative_and_dadfailed_are_never_candidates() {
    let h = v6_host("net.ipv6.conf.wlan0.use_tempaddr = 0\n");
    let c = pick(&h, "2001:db8:6::99", Bind::None);
    assert_ne!(c.addr, Some(ip("2001:db8:6::1")));
    assert!(c.addr.is_some());
    assert_eq!(
        pick(&h, "2001:db8:6::99", Bind::Address(ip("2001:db8:6::1"))).reason,
        SourceReason::Failed(SourceFailure::AddressNotAvailable(ip("2001:db8:6::1")))
    );
    assert_eq!(
        pick(&h, "2001:db8:7::99", Bind::Address(ip("2001:db8:7::1"))).reason,
        SourceReason::Failed(SourceFailure::AddressNotAvailable(ip("2001:db8:7::1")))
    );
}

#[test]
fn link_local_destination_takes_the_link_scope_address_of_its_device() {
    let h = v6_host("");
    let c = pick(&h, "fe80::99", dev("eth0"));
    assert_eq!(c.addr, Some(ip("fe80::2")));
    assert_eq!(rule(&c), V6Rule::OnlyCandidate);
    assert_eq!(
        pick(&h, "fe80::99", Bind::None).reason,
        SourceReason::Failed(SourceFailure::NeedsDevice)
    );
}

#[test]
fn global_destination_from_a_device_with_only_link_local_uses_another_and_ping_warns() {
    let h = v6_host("net.ipv6.conf.wlan0.use_tempaddr = 2\n");
    let c = pick(&h, "2001:db8:9::1", dev("eth0"));
    assert_eq!(c.oif.as_deref(), Some("eth0"));
    assert_eq!(c.addr, Some(ip("2001:db8:1:0:a08f:fa6c:6557:b186")));
    assert!(c
        .notes
        .contains(&SourceNote::PingOtherDeviceWarning { dev: "eth0".into() }));
}

#[test]
fn use_oif_addrs_only_keeps_to_the_output_device() {
    let h = v6_host("net.ipv6.conf.eth0.use_oif_addrs_only = 1\n");
    let c = pick(&h, "2001:db8:9::1", dev("eth0"));
    assert_eq!(c.addr, Some(ip("fe80::2")));
    assert_eq!(rule(&c), V6Rule::OnlyCandidate);
}

#[test]
fn ipv6_prefsrc_wins() {
    let h = v6_host("net.ipv6.conf.wlan0.use_tempaddr = 2\n");
    let c = pick(&h, "2001:db8:8::1", Bind::None);
    assert_eq!(
        (c.addr, c.reason),
        (Some(ip("2001:db8:1::5")), SourceReason::RoutePrefsrc)
    );
}

#[test]
fn ipv6_bound_device_without_route_fails_no_on_link_guess() {
    let h = v6_host("");
    assert_eq!(
        pick(&h, "2001:db8:9::1", dev("wlan0")).reason,
        SourceReason::Failed(SourceFailure::Route(RoutingFailure::NoRoute))
    );
}

#[test]
fn ipv6_no_candidate_is_no_address() {
    let h = host(
        &[("eth0", &["2001:db8::5/64 tentative"])],
        &[route("2001:db8::/64 dev eth0")],
        "",
    );
    let c = pick(&h, "2001:db8::9", Bind::None);
    // ::1 on lo is a candidate; its scope (the kernel types loopback as link scope) is
    // too small but it is the only one.
    assert_eq!(c.addr, Some(ip("::1")));
    let bare = {
        let mut h = h.clone();
        h.interfaces.retain(|i| i.name != "lo");
        h
    };
    let c = pick(&bare, "2001:db8::9", Bind::None);
    assert_eq!((c.addr, c.reason), (None, SourceReason::NoAddress));
}

#[test]
fn without_routes_only_the_connected_subnets_route_and_it_is_said() {
    let mut h = v4_host();
    h.routes.clear();
    h.known.routes = false;
    let c = pick(&h, "192.168.9.7", Bind::None);
    assert_eq!(c.addr, Some(ip("192.168.9.1")));
    assert!(c.notes.contains(&SourceNote::RoutesUnknown));
    assert_eq!(
        pick(&h, "8.8.8.8", Bind::None).reason,
        SourceReason::Failed(SourceFailure::Route(RoutingFailure::NoRoute))
    );
}

#[test]
fn use_tempaddr_2_makes_public_addresses_lose_rule_7_without_any_temporary() {
    let h = host(
        &[
            ("eth0", &["2001:db8:a::1/64"]),
            ("eth1", &["2001:db8:b::1/64"]),
            ("eth2", &[]),
        ],
        &[route("2001:db8:9::/48 dev eth2")],
        "net.ipv6.conf.eth0.use_tempaddr = 2\nnet.ipv6.conf.eth1.use_tempaddr = 0\n",
    );
    let c = pick(&h, "2001:db8:9::1", Bind::None);
    assert_eq!(c.addr, Some(ip("2001:db8:b::1")));
    assert_eq!(
        rule(&c),
        V6Rule::Privacy {
            prefer_temporary: false
        }
    );
}
