//! `ip [-6] -j route show table all`: routes of every table, with their next hops.

use super::{
    json_kind, lower_each, parse_ip, parse_prefix, scalar_text, scope_of, table_id_of_name,
    Element, Listing,
};
use model::diag::{ErrorKind, ParseError};
use model::host::{table_id, NextHop, Route, RouteType, Scope};
use model::{SourceFile, Span};
use serde::Deserialize;
use serde_json::Value;
use std::net::IpAddr;

/// `ip [-6] -j route show table all`: routes of every table.
pub fn parse_routes(source: &SourceFile, v6: bool) -> Result<Vec<Route>, ParseError> {
    lower_each(source, Listing::Route { v6 }, |elem, route: JRoute| {
        lower_route(source, elem, route, v6)
    })
}

#[derive(Deserialize)]
struct JRoute {
    #[serde(default, rename = "type")]
    route_type: Option<String>,
    #[serde(default)]
    dst: Option<String>,
    #[serde(default)]
    tos: Option<Value>,
    #[serde(default)]
    gateway: Option<String>,
    #[serde(default)]
    via: Option<JVia>,
    #[serde(default)]
    dev: Option<String>,
    #[serde(default)]
    table: Option<Value>,
    #[serde(default)]
    protocol: Option<Value>,
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default)]
    prefsrc: Option<String>,
    #[serde(default)]
    metric: Option<u32>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    pref: Option<String>,
    #[serde(default)]
    nexthops: Vec<JNextHop>,
}

/// `RTA_VIA`: a gateway of another family (`"via": {"family": "inet6", "host": "fe80::1"}`).
#[derive(Deserialize)]
struct JVia {
    #[serde(default)]
    host: Option<String>,
}

#[derive(Deserialize)]
struct JNextHop {
    #[serde(default)]
    gateway: Option<String>,
    #[serde(default)]
    via: Option<JVia>,
    #[serde(default)]
    dev: Option<String>,
    #[serde(default)]
    weight: Option<u32>,
    #[serde(default)]
    flags: Vec<String>,
}

fn lower_route(
    source: &SourceFile,
    elem: &Element<'_>,
    r: JRoute,
    v6_default: bool,
) -> Result<Route, ParseError> {
    let whole = Span::new(elem.start, elem.start + elem.text.len());
    let gateway_text = r
        .gateway
        .clone()
        .or_else(|| r.via.as_ref().and_then(|v| v.host.clone()));
    let gateway = match &gateway_text {
        Some(g) => {
            let key = if r.gateway.is_some() {
                "gateway"
            } else {
                "host"
            };
            Some(parse_ip(source, elem.value_span(key, 0), "gateway", g)?)
        }
        None => None,
    };
    let prefsrc = match &r.prefsrc {
        Some(p) => Some(parse_ip(
            source,
            elem.value_span("prefsrc", 0),
            "source address",
            p,
        )?),
        None => None,
    };
    let mut nexthops = Vec::new();
    let mut search = elem.key_offset("nexthops");
    for nh in &r.nexthops {
        let gw_text = nh
            .gateway
            .clone()
            .or_else(|| nh.via.as_ref().and_then(|v| v.host.clone()));
        let gw = match &gw_text {
            Some(g) => {
                let key = if nh.gateway.is_some() {
                    "gateway"
                } else {
                    "host"
                };
                let span = elem.value_span(key, search);
                search = (span.end as usize).saturating_sub(elem.start);
                Some(parse_ip(source, span, "gateway", g)?)
            }
            None => None,
        };
        nexthops.push(NextHop {
            gateway: gw,
            dev: nh.dev.clone(),
            weight: nh.weight.unwrap_or(1),
        });
    }
    // The family: the destination says it, else any address the route carries, else `v6`.
    let dst_text = r.dst.clone().unwrap_or_else(|| "default".to_string());
    let family_hint = dst_text
        .split('/')
        .next()
        .and_then(|a| a.parse::<IpAddr>().ok())
        .or(gateway)
        .or(prefsrc)
        .or_else(|| nexthops.iter().find_map(|n| n.gateway))
        .map_or(v6_default, |a| a.is_ipv6());
    let dst = parse_prefix(source, elem.value_span("dst", 0), &dst_text, family_hint)?;
    let route_type = match &r.route_type {
        None => RouteType::Unicast,
        Some(t) => RouteType::from_name(t).ok_or_else(|| {
            ParseError::new(
                source,
                elem.value_span("type", 0),
                ErrorKind::Unsupported {
                    construct: format!("route type `{t}`"),
                },
            )
        })?,
    };
    let table_text = r.table.as_ref().and_then(scalar_text);
    let table = table_text
        .as_deref()
        .map_or(table_id::MAIN, table_id_of_name);
    let scope_text = r.scope.as_ref().and_then(scalar_text);
    let scope = scope_text.as_deref().map_or(Scope::Universe, scope_of);
    let protocol = r.protocol.as_ref().and_then(scalar_text);
    let first = nexthops.first();
    let text = route_text(
        &r,
        &dst_text,
        gateway_text.as_deref(),
        table_text.as_deref(),
        scope_text.as_deref(),
        protocol.as_deref(),
    );
    if r.dst.is_none()
        && r.route_type.is_none()
        && r.dev.is_none()
        && nexthops.is_empty()
        && gateway.is_none()
    {
        return Err(ParseError::new(
            source,
            whole,
            json_kind("route without `dst`, `dev` or gateway"),
        ));
    }
    Ok(Route {
        table,
        dst,
        route_type,
        gateway: gateway.or_else(|| first.and_then(|n| n.gateway)),
        dev: r.dev.clone().or_else(|| first.and_then(|n| n.dev.clone())),
        prefsrc,
        metric: r.metric.unwrap_or(0),
        scope,
        protocol,
        nexthops,
        text,
    })
}

/// The route as `ip route` prints it (on one line; next hops follow the prefix).
fn route_text(
    r: &JRoute,
    dst: &str,
    gateway: Option<&str>,
    table: Option<&str>,
    scope: Option<&str>,
    protocol: Option<&str>,
) -> String {
    let mut w: Vec<String> = Vec::new();
    if let Some(t) = &r.route_type {
        if t != "unicast" {
            w.push(t.clone());
        }
    }
    w.push(dst.to_string());
    if let Some(tos) = r.tos.as_ref().and_then(scalar_text) {
        w.push(format!("tos {tos}"));
    }
    if let Some(g) = gateway {
        w.push(format!("via {g}"));
    }
    if let Some(d) = &r.dev {
        w.push(format!("dev {d}"));
    }
    if let Some(t) = table {
        if t != "main" && t != "254" {
            w.push(format!("table {t}"));
        }
    }
    if let Some(p) = protocol {
        w.push(format!("proto {p}"));
    }
    if let Some(s) = scope {
        w.push(format!("scope {s}"));
    }
    if let Some(s) = &r.prefsrc {
        w.push(format!("src {s}"));
    }
    if let Some(m) = r.metric {
        w.push(format!("metric {m}"));
    }
    w.extend(r.flags.iter().cloned());
    if let Some(p) = &r.pref {
        w.push(format!("pref {p}"));
    }
    for nh in &r.nexthops {
        w.push("nexthop".to_string());
        if let Some(g) = nh
            .gateway
            .as_deref()
            .or_else(|| nh.via.as_ref().and_then(|v| v.host.as_deref()))
        {
            w.push(format!("via {g}"));
        }
        if let Some(d) = &nh.dev {
            w.push(format!("dev {d}"));
        }
        w.push(format!("weight {}", nh.weight.unwrap_or(1)));
        w.extend(nh.flags.iter().cloned());
    }
    w.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::iproute::tests::{fixture, ip, net, POLICY, ROUTER};

    #[test]
    fn router_routes_mixed_families_from_table_all() {
        let routes = parse_routes(&fixture(ROUTER, "ip-route.json"), false).unwrap();
        let default = &routes[0];
        assert_eq!(default.dst, net("0.0.0.0/0"));
        assert_eq!(default.gateway, Some(ip("10.1.0.254")));
        assert_eq!((default.metric, default.table), (100, table_id::MAIN));
        assert_eq!(default.protocol.as_deref(), Some("static"));
        assert_eq!(
            default.text,
            "default via 10.1.0.254 dev eno1 proto static metric 100"
        );
        let eno1 = &routes[1];
        assert_eq!(
            eno1.text,
            "10.1.0.0/24 dev eno1 proto kernel scope link src 10.1.0.1"
        );
        assert_eq!(
            (eno1.scope, eno1.prefsrc),
            (Scope::Link, Some(ip("10.1.0.1")))
        );
        let local = routes.iter().find(|r| r.dst == net("10.1.1.1/32")).unwrap();
        assert_eq!(
            (local.route_type, local.table, local.scope),
            (RouteType::Local, table_id::LOCAL, Scope::Host)
        );
        assert_eq!(
            local.text,
            "local 10.1.1.1 dev tap0 table local proto kernel scope host src 10.1.1.1"
        );
        // `ip route show table all` without -4 lists IPv6 routes too.
        let v6 = routes.iter().filter(|r| r.dst.addr().is_ipv6()).count();
        assert_eq!(v6, 15);
        let anycast = routes
            .iter()
            .find(|r| r.route_type == RouteType::Anycast)
            .unwrap();
        assert_eq!(anycast.dst, net("fd00:1::/128"));
    }

    #[test]
    fn v6_routes_have_metric_and_pref() {
        let routes = parse_routes(&fixture(ROUTER, "ip6-route.json"), true).unwrap();
        assert_eq!(routes[0].dst, net("fd00:1::/64"));
        assert_eq!(routes[0].metric, 256);
        assert_eq!(
            routes[0].text,
            "fd00:1::/64 dev eno1 proto kernel metric 256 pref medium"
        );
        assert_eq!(routes[0].scope, Scope::Universe);
    }

    #[test]
    fn policy_routes_types_tables_and_multipath() {
        let routes = parse_routes(&fixture(POLICY, "ip-route.json"), false).unwrap();
        let find = |d: &str, t: u32| {
            routes
                .iter()
                .find(|r| r.dst == net(d) && r.table == t)
                .unwrap()
        };
        assert_eq!(find("0.0.0.0/0", 100).gateway, Some(ip("10.1.0.254")));
        assert_eq!(
            find("0.0.0.0/0", 100).text,
            "default via 10.1.0.254 dev eno1 table 100 linkdown"
        );
        assert_eq!(find("10.69.0.0/16", 200).route_type, RouteType::Throw);
        assert_eq!(find("10.66.0.0/16", 254).route_type, RouteType::Blackhole);
        assert_eq!(find("10.67.0.0/16", 254).route_type, RouteType::Unreachable);
        let prohibit = find("10.68.0.0/16", 254);
        assert_eq!(
            (prohibit.route_type, prohibit.metric),
            (RouteType::Prohibit, 5)
        );
        assert_eq!(prohibit.text, "prohibit 10.68.0.0/16 metric 5");
        let mp = find("172.16.0.0/12", 254);
        assert_eq!(mp.nexthops.len(), 2);
        assert_eq!(
            mp.nexthops[1],
            NextHop {
                gateway: Some(ip("10.1.0.254")),
                dev: Some("eno1".into()),
                weight: 3
            }
        );
        assert_eq!(
            (mp.gateway, mp.dev.as_deref()),
            (Some(ip("10.1.1.254")), Some("tap0")),
            "first next hop"
        );
        assert_eq!(
            mp.text,
            "172.16.0.0/12 nexthop via 10.1.1.254 dev tap0 weight 1 nexthop via 10.1.0.254 dev eno1 weight 3 linkdown"
        );
        assert_eq!(find("198.51.100.7/32", 254).gateway, Some(ip("10.1.0.254")));
        let dhcp = find("0.0.0.0/0", 254);
        assert_eq!(
            dhcp.text,
            "default via 10.1.1.254 dev tap0 proto dhcp src 10.1.1.1 metric 100"
        );
    }

    #[test]
    fn policy_v6_routes_blackhole_and_link_local_gateway() {
        let routes = parse_routes(&fixture(POLICY, "ip6-route.json"), true).unwrap();
        let default = routes.iter().find(|r| r.dst == net("::/0")).unwrap();
        assert_eq!(default.gateway, Some(ip("fe80::1")));
        let bh = routes
            .iter()
            .find(|r| r.dst == net("2001:db8:66::/48"))
            .unwrap();
        assert_eq!(
            (bh.route_type, bh.dev.as_deref()),
            (RouteType::Blackhole, Some("lo"))
        );
        let t100 = routes.iter().find(|r| r.table == 100).unwrap();
        assert_eq!(t100.dst, net("2001:db8:77::/48"));
    }

    #[test]
    fn route_via_other_family_and_numeric_table() {
        let text = r#"[{"dst":"default","via":{"family":"inet6","host":"fe80::1"},"dev":"eth0","table":100,"scope":253}]"#;
        let r = &parse_routes(&SourceFile::new("r.json", text), false).unwrap()[0];
        assert_eq!(
            (r.gateway, r.table, r.scope),
            (Some(ip("fe80::1")), 100, Scope::Link)
        );
    }

    #[test]
    fn bare_default_family_follows_v6_flag() {
        let text = r#"[{"dst":"default","dev":"wg0"}]"#;
        assert_eq!(
            parse_routes(&SourceFile::new("r", text), true).unwrap()[0].dst,
            net("::/0")
        );
        assert_eq!(
            parse_routes(&SourceFile::new("r", text), false).unwrap()[0].dst,
            net("0.0.0.0/0")
        );
    }

    #[test]
    fn bad_prefix_spans_the_value() {
        let text = "[{\"dst\": \"default\", \"dev\": \"eth0\"},\n  {\"dst\": \"10.0.0.0/33\", \"dev\": \"eth0\"}]";
        let e = parse_routes(&SourceFile::new("ip-route.json", text), false).unwrap_err();
        assert_eq!(
            &text[e.span.start as usize..e.span.end as usize],
            "\"10.0.0.0/33\""
        );
        assert_eq!(e.line_col(), (2, 11));
    }

    #[test]
    fn bad_gateway_in_second_nexthop_spans_that_one() {
        let text = r#"[{"dst":"10.0.0.0/8","nexthops":[{"gateway":"10.1.1.1","dev":"a"},{"gateway":"10.1.1.x","dev":"b"}]}]"#;
        let e = parse_routes(&SourceFile::new("r", text), false).unwrap_err();
        assert_eq!(
            &text[e.span.start as usize..e.span.end as usize],
            "\"10.1.1.x\""
        );
    }
}
