//! Routes of a host a topology file describes inline: `ip route` text for the routes the
//! user adds, and the routes the kernel adds by itself for each address.
//!
//! An inline host's route list is what `ip -j route show table all` would list on a Linux
//! host given those addresses and those `ip route add` commands (checked against the kernel
//! in `oracle/tests/topology_routes_kernel.rs`):
//! - for each IPv4 address: `local ADDR` (table local, scope host, `src` the primary address
//!   of its subnet); for a primary address, the subnet's route (`proto kernel scope link`, in
//!   main; `local` in table local on a loopback device) unless the prefix is /32, and the
//!   subnet's `broadcast` (table local) unless it is /31 or /32. A second address in an
//!   already covered subnet is *secondary*: only its `local` route;
//! - for each IPv6 address: the prefix route (`proto kernel metric 256`, even for /128; none
//!   on a loopback device) and `local ADDR` (table local, metric 0); on an interface that
//!   forwards IPv6 (`net.ipv6.conf.IFACE.forwarding`, else `...all.forwarding`), the
//!   subnet-router `anycast` address of every prefix shorter than /127;
//! - on every interface but a loopback one, `multicast ff00::/8` (table local, metric 256).
//!
//! Each route the user adds is refused where `ip route add` would refuse it, in the
//! kernel's words: a prefix with host bits (IPv4), a gateway not on a link of the device
//! ("Nexthop has invalid gateway", IPv6 "No route to host"), a link-local gateway without a
//! device, a `src` the host does not own, a device it does not have.

use crate::host::iproute::table_id_of_name;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use model::diag::ErrorKind;
use model::host::{table_id, Interface, LinkType, Route, RouteType, Scope, Sysctls};
use std::net::{IpAddr, Ipv6Addr};
use std::ops::Range;

/// Why a route line is refused: the bytes of the line it is about, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteError {
    /// Byte range in the line.
    pub at: Range<usize>,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// The route types a route line may start with.
const TYPES: [&str; 5] = ["unicast", "local", "blackhole", "unreachable", "prohibit"];

/// Reads `line` (`ip route add` arguments: `[TYPE] PREFIX|default [via ADDR] [dev NAME]
/// [src ADDR] [metric N] [table ID] [proto NAME] [scope NAME]`) into the route the kernel
/// would list, checked against the host's `interfaces` and the `routes` it already has.
pub fn parse(line: &str, interfaces: &[Interface], routes: &[Route]) -> Result<Route, RouteError> {
    let mut it = words(line).into_iter();
    let Some((first, first_at)) = it.next() else {
        return Err(expected(0..line.len(), "a prefix or `default`", ""));
    };
    if RouteType::from_name(first).is_some() && !TYPES.contains(&first) {
        return Err(RouteError {
            at: first_at,
            kind: ErrorKind::Unsupported {
                construct: format!("route type `{first}`"),
            },
        });
    }
    let (route_type, dst_word) = if TYPES.contains(&first) {
        let Some((d, d_at)) = it.next() else {
            return Err(expected(
                line.len()..line.len(),
                "a prefix or `default`",
                "",
            ));
        };
        (RouteType::from_name(first).unwrap_or_default(), (d, d_at))
    } else {
        (RouteType::Unicast, (first, first_at))
    };
    // Refused first, as `ip` refuses it: the prefix, whatever follows.
    prefix(dst_word.0, dst_word.1.clone(), false)?;
    let mut opts = Options::default();
    while let Some((key, key_at)) = it.next() {
        let Some((value, at)) = it.next() else {
            return Err(match key {
                "via" | "dev" | "src" | "metric" | "table" | "proto" | "scope" => expected(
                    line.len()..line.len(),
                    &format!("a value after `{key}`"),
                    "",
                ),
                _ => unsupported(key_at, key),
            });
        };
        let slot = match key {
            "via" => &mut opts.via,
            "dev" => &mut opts.dev,
            "src" => &mut opts.src,
            "metric" | "priority" | "preference" => &mut opts.metric,
            "table" => &mut opts.table,
            "proto" | "protocol" => &mut opts.proto,
            "scope" => &mut opts.scope,
            other => return Err(unsupported(key_at, other)),
        };
        if slot.is_some() {
            return Err(invalid(key_at, "route option", key, "given twice"));
        }
        *slot = Some((value, at));
    }
    let via = opts
        .via
        .map(|(v, at)| ip(v, at.clone(), "gateway").map(|a| (a, at)))
        .transpose()?;
    let src = opts
        .src
        .map(|(v, at)| ip(v, at.clone(), "source address").map(|a| (a, at)))
        .transpose()?;
    let v6 = via
        .as_ref()
        .or(src.as_ref())
        .is_some_and(|(a, _)| a.is_ipv6());
    let dst = prefix(dst_word.0, dst_word.1.clone(), v6)?;
    for (a, at) in via.iter().chain(src.iter()) {
        if a.is_ipv6() != dst.addr().is_ipv6() {
            return Err(invalid(
                at.clone(),
                "address",
                &a.to_string(),
                "not of the route's family",
            ));
        }
    }
    let v6 = dst.addr().is_ipv6();
    let dev = match &opts.dev {
        Some((d, at)) => {
            if !interfaces.iter().any(|i| i.name == *d) {
                return Err(invalid(
                    at.clone(),
                    "device",
                    d,
                    &format!("Cannot find device \"{d}\""),
                ));
            }
            Some(d.to_string())
        }
        None => None,
    };
    let table = opts.table.as_ref().map_or(
        if route_type == RouteType::Local {
            table_id::LOCAL
        } else {
            table_id::MAIN
        },
        |(t, _)| table_id_of_name(t),
    );
    let metric = match &opts.metric {
        Some((m, at)) => m
            .parse::<u32>()
            .map_err(|_| invalid(at.clone(), "metric", m, "not a number from 0 to 4294967295"))?,
        None if v6 && route_type != RouteType::Local => 1024,
        None => 0,
    };
    let dev = match (&via, route_type) {
        (Some((gw, at)), RouteType::Unicast) => Some(gateway_dev(
            *gw,
            at.clone(),
            dev,
            table,
            interfaces,
            routes,
        )?),
        (Some((_, at)), _) => {
            return Err(invalid(
                at.clone(),
                "gateway",
                &line[at.clone()],
                "a route of this type has no next hop",
            ))
        }
        (None, RouteType::Unicast | RouteType::Local) if dev.is_none() => {
            return Err(expected(
                line.len()..line.len(),
                "`via ADDR` or `dev NAME`",
                "",
            ))
        }
        (None, RouteType::Blackhole | RouteType::Unreachable | RouteType::Prohibit) if v6 => {
            Some("lo".to_string())
        }
        (None, _) => dev,
    };
    if let Some((s, at)) = &src {
        if !interfaces
            .iter()
            .any(|i| i.addrs.iter().any(|a| a.addr == *s))
        {
            let reason = if v6 {
                "Invalid source address"
            } else {
                "Invalid prefsrc address"
            };
            return Err(invalid(
                at.clone(),
                "source address",
                &s.to_string(),
                reason,
            ));
        }
    }
    let scope = if v6 {
        Scope::Universe
    } else {
        match &opts.scope {
            Some((s, _)) => Scope::from_name(s),
            None => match route_type {
                RouteType::Local => Scope::Host,
                RouteType::Unicast if via.is_none() => Scope::Link,
                _ => Scope::Universe,
            },
        }
    };
    let protocol = opts
        .proto
        .map(|(p, _)| p.to_string())
        .filter(|p| p != "boot");
    let mut route = Route {
        table,
        dst,
        route_type,
        gateway: via.map(|(a, _)| a),
        dev,
        prefsrc: src.map(|(a, _)| a),
        metric,
        scope,
        protocol,
        nexthops: Vec::new(),
        text: String::new(),
    };
    route.text = text(&route);
    Ok(route)
}

/// The values of a route line's options, each with where it is.
#[derive(Default)]
struct Options<'a> {
    via: Option<(&'a str, Range<usize>)>,
    dev: Option<(&'a str, Range<usize>)>,
    src: Option<(&'a str, Range<usize>)>,
    metric: Option<(&'a str, Range<usize>)>,
    table: Option<(&'a str, Range<usize>)>,
    proto: Option<(&'a str, Range<usize>)>,
    scope: Option<(&'a str, Range<usize>)>,
}

/// The device a gateway is reached through, as the kernel checks it at `ip route add`:
/// the gateway must be on a link (a route without a gateway covers it), of `dev` when
/// given; an IPv6 link-local gateway needs `dev`.
fn gateway_dev(
    gw: IpAddr,
    at: Range<usize>,
    dev: Option<String>,
    table: u32,
    interfaces: &[Interface],
    routes: &[Route],
) -> Result<String, RouteError> {
    let link_local = matches!(gw, IpAddr::V6(a) if a.is_unicast_link_local());
    if link_local {
        return dev.ok_or_else(|| {
            invalid(
                at,
                "gateway",
                &gw.to_string(),
                "Egress device not specified (a link-local gateway needs `dev`)",
            )
        });
    }
    let on_link = routes
        .iter()
        .filter(|r| {
            r.dst.contains(&gw)
                && r.gateway.is_none()
                && matches!(r.route_type, RouteType::Unicast | RouteType::Local)
                && (gw.is_ipv6() || r.scope >= Scope::Link)
                && [table, table_id::MAIN, table_id::LOCAL].contains(&r.table)
                && r.dev.as_deref().is_some_and(|d| d != "lo" || gw.is_ipv4())
                && dev.as_deref().is_none_or(|d| r.dev.as_deref() == Some(d))
        })
        .max_by_key(|r| r.dst.prefix_len());
    let found = on_link.and_then(|r| r.dev.clone()).filter(|d| {
        interfaces
            .iter()
            .any(|i| i.name == *d && i.link != LinkType::Loopback)
    });
    found.ok_or_else(|| {
        let reason = if gw.is_ipv6() {
            "No route to host: the gateway is on no link of the device"
        } else {
            "Nexthop has invalid gateway: it is on no link of the device"
        };
        invalid(at, "gateway", &gw.to_string(), reason)
    })
}

/// The routes the kernel adds for the addresses of `interfaces` (see the module doc).
/// `linux` false (a stub): only the subnets' routes, which every IP stack has.
pub fn kernel_routes(interfaces: &[Interface], sysctls: &Sysctls, linux: bool) -> Vec<Route> {
    let mut out: Vec<Route> = Vec::new();
    let mut add = |route: Route| {
        if !out.iter().any(|r| {
            r.table == route.table
                && r.dst == route.dst
                && r.dev == route.dev
                && r.route_type == route.route_type
        }) {
            out.push(route);
        }
    };
    for iface in interfaces {
        let loopback = iface.link == LinkType::Loopback;
        let forwards_v6 = sysctls
            .get(&format!("net.ipv6.conf.{}.forwarding", iface.name))
            .or_else(|| sysctls.get("net.ipv6.conf.all.forwarding"))
            .is_some_and(|v| v.trim() != "0");
        for a in &iface.addrs {
            let net = a.network();
            match a.addr {
                IpAddr::V4(_) => {
                    let primary = iface
                        .addrs
                        .iter()
                        .find(|p| p.addr.is_ipv4() && !p.secondary && p.network().contains(&a.addr))
                        .map_or(a.addr, |p| p.addr);
                    if linux {
                        add(kernel(
                            table_id::LOCAL,
                            RouteType::Local,
                            host_net(a.addr),
                            iface,
                            Some(primary),
                            0,
                        ));
                    }
                    // No subnet routes for a secondary address, nor for a subnet in
                    // 0.0.0.0/8 (`ipv4_is_zeronet` in `fib_add_ifaddr`).
                    let zeronet = matches!(net.addr(), IpAddr::V4(n) if n.octets()[0] == 0);
                    if a.secondary || zeronet {
                        continue;
                    }
                    if a.prefix_len < 32 {
                        let route_type = if loopback {
                            RouteType::Local
                        } else {
                            RouteType::Unicast
                        };
                        let table = if loopback {
                            table_id::LOCAL
                        } else {
                            table_id::MAIN
                        };
                        if linux || !loopback {
                            add(kernel(table, route_type, net, iface, Some(primary), 0));
                        }
                    }
                    if linux && a.prefix_len < 31 {
                        add(kernel(
                            table_id::LOCAL,
                            RouteType::Broadcast,
                            host_net(net.broadcast()),
                            iface,
                            Some(primary),
                            0,
                        ));
                    }
                }
                IpAddr::V6(_) => {
                    if !loopback {
                        add(kernel(
                            table_id::MAIN,
                            RouteType::Unicast,
                            net,
                            iface,
                            None,
                            256,
                        ));
                    }
                    if !linux {
                        continue;
                    }
                    add(kernel(
                        table_id::LOCAL,
                        RouteType::Local,
                        host_net(a.addr),
                        iface,
                        None,
                        0,
                    ));
                    if forwards_v6 && a.prefix_len < 127 && !net.addr().is_unspecified() {
                        add(kernel(
                            table_id::LOCAL,
                            RouteType::Anycast,
                            host_net(net.addr()),
                            iface,
                            None,
                            0,
                        ));
                    }
                }
            }
        }
        if linux && !loopback {
            add(kernel(
                table_id::LOCAL,
                RouteType::Multicast,
                IpNet::V6(Ipv6Net::new(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8).expect("/8")),
                iface,
                None,
                256,
            ));
        }
    }
    out
}

/// A route the kernel adds for an address (`proto kernel`), with the scope the kernel
/// gives it (IPv6 routes have none).
fn kernel(
    table: u32,
    route_type: RouteType,
    dst: IpNet,
    iface: &Interface,
    prefsrc: Option<IpAddr>,
    metric: u32,
) -> Route {
    let scope = match (dst, route_type) {
        (IpNet::V6(_), _) => Scope::Universe,
        (_, RouteType::Local) => Scope::Host,
        _ => Scope::Link,
    };
    let mut route = Route {
        table,
        dst,
        route_type,
        gateway: None,
        dev: Some(iface.name.clone()),
        prefsrc,
        metric,
        scope,
        protocol: Some("kernel".to_string()),
        nexthops: Vec::new(),
        text: String::new(),
    };
    route.text = text(&route);
    route
}

/// The host route of `addr` (/32 or /128).
fn host_net(addr: IpAddr) -> IpNet {
    IpNet::from(addr)
}

/// The route as `ip route` prints it (what the `ip -j route` reader writes too).
pub fn text(r: &Route) -> String {
    let mut w: Vec<String> = Vec::new();
    if r.route_type != RouteType::Unicast {
        w.push(r.route_type.to_string());
    }
    w.push(if r.dst.prefix_len() == 0 {
        "default".to_string()
    } else if r.dst.prefix_len() == r.dst.max_prefix_len() {
        r.dst.addr().to_string()
    } else {
        r.dst.to_string()
    });
    if let Some(g) = r.gateway {
        w.push(format!("via {g}"));
    }
    if let Some(d) = &r.dev {
        w.push(format!("dev {d}"));
    }
    match r.table {
        table_id::MAIN => {}
        table_id::LOCAL => w.push("table local".to_string()),
        table_id::DEFAULT => w.push("table default".to_string()),
        t => w.push(format!("table {t}")),
    }
    if let Some(p) = &r.protocol {
        w.push(format!("proto {p}"));
    }
    let scope = match r.scope {
        Scope::Universe => None,
        Scope::Site => Some("site".to_string()),
        Scope::Link => Some("link".to_string()),
        Scope::Host => Some("host".to_string()),
        Scope::Nowhere => Some("nowhere".to_string()),
        Scope::Other(n) => Some(n.to_string()),
    };
    if let Some(s) = scope {
        w.push(format!("scope {s}"));
    }
    if let Some(s) = r.prefsrc {
        w.push(format!("src {s}"));
    }
    if r.dst.addr().is_ipv6() || r.metric != 0 {
        w.push(format!("metric {}", r.metric));
    }
    if r.dst.addr().is_ipv6() {
        w.push("pref medium".to_string());
    }
    w.join(" ")
}

/// The words of `line` with their byte ranges.
fn words(line: &str) -> Vec<(&str, Range<usize>)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices().chain([(line.len(), ' ')]) {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((&line[s..i], s..i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

fn ip(s: &str, at: Range<usize>, what: &str) -> Result<IpAddr, RouteError> {
    s.parse()
        .map_err(|_| invalid(at, what, s, "not an IP address"))
}

/// `default`, `PREFIX/LEN` or a bare address (a host route); IPv4 host bits are refused as
/// the kernel refuses them, IPv6 ones cleared as it clears them.
fn prefix(s: &str, at: Range<usize>, v6: bool) -> Result<IpNet, RouteError> {
    if s == "default" || s == "all" {
        return Ok(if v6 {
            IpNet::V6(Ipv6Net::default())
        } else {
            IpNet::V4(Ipv4Net::default())
        });
    }
    let net = match s.parse::<IpNet>() {
        Ok(n) => n,
        Err(_) => s
            .parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| invalid(at.clone(), "prefix", s, "not an address or prefix"))?,
    };
    match net {
        IpNet::V4(n) if n.trunc() != n => Err(invalid(
            at,
            "prefix",
            s,
            &format!(
                "Invalid prefix for given prefix length (did you mean {}?)",
                n.trunc()
            ),
        )),
        IpNet::V4(_) => Ok(net),
        IpNet::V6(n) => Ok(IpNet::V6(n.trunc())),
    }
}

fn invalid(at: Range<usize>, what: &str, value: &str, reason: &str) -> RouteError {
    RouteError {
        at,
        kind: ErrorKind::InvalidValue {
            what: what.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        },
    }
}

fn expected(at: Range<usize>, what: &str, found: &str) -> RouteError {
    RouteError {
        at,
        kind: ErrorKind::Expected {
            expected: what.to_string(),
            found: found.to_string(),
        },
    }
}

fn unsupported(at: Range<usize>, word: &str) -> RouteError {
    RouteError {
        at,
        kind: ErrorKind::Unsupported {
            construct: format!("route option `{word}`"),
        },
    }
}
