//! `ip -j addr`, `ip [-6] -j route show table all` and `ip [-6] -j rule` into the model.
//!
//! The JSON is read into serde structs that ignore unknown fields and accept the spellings
//! different iproute2 versions use (tables as names or numbers, `fwmark` with or without a
//! `/mask`, `sport` or `sport_start`/`sport_end`, `"nop": null`). Each element of the top-level
//! array is located in the text first, so a serde error or a bad value (an address that does
//! not parse) is reported at its exact byte span.
//!
//! Details worth knowing:
//! - `ip -j route show table all` without `-4` also lists IPv6 routes; each route's family is
//!   taken from its own `dst` (or gateway, or source), `v6` only decides a bare `default`.
//! - A multipath route's `gateway`/`dev` repeat its first next hop, so a simulation that
//!   ignores ECMP still has somewhere to send the packet.
//! - A table named in `/etc/iproute2/rt_tables` (e.g. `vpn`) has no number in the JSON; it gets
//!   a stable id from its name ([`table_id_of_name`]), the same in routes and rules.
//! - `Interface::up` is the administrative `UP` flag (`ip link set up`), not the carrier.

use ipnet::IpNet;
use model::diag::{ErrorKind, ParseError};
use model::host::{
    table_id, IfAddr, Interface, LinkType, NextHop, PolicyRule, Route, RouteType, RuleAction, Scope,
};
use model::packet::{IpProto, Mac};
use model::{SourceFile, Span};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::net::IpAddr;

/// `ip -j addr` (also `ip -j -d addr`): interfaces with their addresses.
pub fn parse_addrs(source: &SourceFile) -> Result<Vec<Interface>, ParseError> {
    let mut out = Vec::new();
    for elem in elements(source)? {
        let link: JLink = elem.decode(source)?;
        out.push(lower_link(source, &elem, link)?);
    }
    Ok(out)
}

/// `ip [-6] -j route show table all`: routes of every table.
pub fn parse_routes(source: &SourceFile, v6: bool) -> Result<Vec<Route>, ParseError> {
    let mut out = Vec::new();
    for elem in elements(source)? {
        let route: JRoute = elem.decode(source)?;
        out.push(lower_route(source, &elem, route, v6)?);
    }
    Ok(out)
}

/// `ip [-6] -j rule`: policy routing rules, in the order listed (by priority).
pub fn parse_rules(source: &SourceFile, v6: bool) -> Result<Vec<PolicyRule>, ParseError> {
    let mut out = Vec::new();
    for elem in elements(source)? {
        let rule: JRule = elem.decode(source)?;
        out.push(lower_rule(source, &elem, rule, v6)?);
    }
    Ok(out)
}

/// The id a named routing table gets when the JSON names it without a number.
///
/// `main`, `local`, `default` and `unspec` are the kernel's; a decimal name is its number;
/// any other name (from `rt_tables`) hashes into the top half of the id space, where real
/// tables are very rarely numbered, so rules and routes naming it still meet.
pub fn table_id_of_name(name: &str) -> u32 {
    match name {
        "main" => table_id::MAIN,
        "local" => table_id::LOCAL,
        "default" => table_id::DEFAULT,
        "unspec" => 0,
        other => other.parse().unwrap_or_else(|_| {
            // FNV-1a: stable across runs and Rust versions, unlike `DefaultHasher`.
            let mut h: u32 = 0x811c_9dc5;
            for b in other.bytes() {
                h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
            }
            0x8000_0000 | h
        }),
    }
}

// ---------------------------------------------------------------------------------------
// Locating array elements, and spans of values inside them.

/// One element of the top-level JSON array: its text and where it starts in the file.
struct Element<'a> {
    text: &'a str,
    start: usize,
}

impl Element<'_> {
    fn decode<T: DeserializeOwned>(&self, source: &SourceFile) -> Result<T, ParseError> {
        serde_json::from_str(self.text).map_err(|e| json_error(source, self.text, self.start, &e))
    }

    /// The span of the value of `"key"` (the first one after byte `from` of the element), or
    /// of the whole element when the key cannot be found.
    fn value_span(&self, key: &str, from: usize) -> Span {
        let whole = Span::new(self.start, self.start + self.text.len());
        let needle = format!("\"{key}\"");
        let mut search = from.min(self.text.len());
        while let Some(found) = self.text.get(search..).and_then(|t| t.find(&needle)) {
            let after_key = search + found + needle.len();
            let rest = &self.text[after_key..];
            let trimmed = rest.trim_start();
            if let Some(value) = trimmed.strip_prefix(':') {
                let value_trimmed = value.trim_start();
                let vstart = self.text.len() - value_trimmed.len();
                let vlen = json_token_len(value_trimmed);
                return Span::new(self.start + vstart, self.start + vstart + vlen);
            }
            search = after_key;
        }
        whole
    }

    /// Byte offset (within the element) of `"key"`, to search values after it.
    fn key_offset(&self, key: &str) -> usize {
        self.text.find(&format!("\"{key}\"")).unwrap_or(0)
    }
}

/// Length of the JSON scalar at the start of `s` (a string with its quotes, or a bare word).
fn json_token_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    if bytes.first() == Some(&b'"') {
        let mut i = 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return (i + 1).min(s.len()),
                _ => i += 1,
            }
        }
        s.len()
    } else {
        s.find(|c: char| c == ',' || c == '}' || c == ']' || c.is_whitespace())
            .unwrap_or(s.len())
    }
}

/// Splits the top-level array into its elements without interpreting them.
///
/// An empty file is an empty list (`ip -j rule` of a family with no rules prints nothing on
/// some versions). Anything that is not an array is a JSON error at the first bad byte.
fn elements(source: &SourceFile) -> Result<Vec<Element<'_>>, ParseError> {
    let text: &str = &source.text;
    let bytes = text.as_bytes();
    let mut i = skip_ws(bytes, 0);
    if i == bytes.len() {
        return Ok(Vec::new());
    }
    if bytes[i] != b'[' {
        // Let serde word the error (and find its position).
        let e = serde_json::from_str::<Vec<Value>>(text)
            .err()
            .map(|e| json_error(source, text, 0, &e));
        return Err(e.unwrap_or_else(|| {
            ParseError::new(
                source,
                Span::new(i, i + 1),
                json_kind("expected a JSON array"),
            )
        }));
    }
    i += 1;
    let mut out = Vec::new();
    loop {
        i = skip_ws(bytes, i);
        if i >= bytes.len() {
            return Err(ParseError::new(
                source,
                Span::new(i, i),
                json_kind("unterminated array"),
            ));
        }
        if bytes[i] == b']' && out.is_empty() {
            i += 1;
            break;
        }
        let start = i;
        let end = scan_value(bytes, i).ok_or_else(|| {
            ParseError::new(
                source,
                Span::new(start, bytes.len()),
                json_kind("unterminated value"),
            )
        })?;
        out.push(Element {
            text: &text[start..end],
            start,
        });
        i = skip_ws(bytes, end);
        match bytes.get(i) {
            Some(b',') => i += 1,
            Some(b']') => {
                i += 1;
                break;
            }
            Some(_) => {
                return Err(ParseError::new(
                    source,
                    Span::new(i, i + 1),
                    json_kind("expected `,` or `]` after an array element"),
                ))
            }
            None => {
                return Err(ParseError::new(
                    source,
                    Span::new(i, i),
                    json_kind("unterminated array"),
                ))
            }
        }
    }
    let rest = skip_ws(bytes, i);
    if rest < bytes.len() {
        return Err(ParseError::new(
            source,
            Span::new(rest, bytes.len()),
            json_kind("trailing characters after the array"),
        ));
    }
    Ok(out)
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// End (exclusive) of the JSON value starting at `i`: balanced brackets outside strings.
/// Validity is left to serde; this only has to find where the value stops.
fn scan_value(bytes: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    in_string = false;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => return Some(i),
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                b',' if depth == 0 => return Some(i),
                _ => {}
            }
        }
        i += 1;
    }
    (depth == 0 && !in_string).then_some(i)
}

fn json_kind(message: &str) -> ErrorKind {
    ErrorKind::Json {
        message: message.to_string(),
    }
}

/// A serde error in `text` (which starts at `base` in the file) as a span in the file.
fn json_error(source: &SourceFile, text: &str, base: usize, e: &serde_json::Error) -> ParseError {
    let offset = base + line_col_to_offset(text, e.line(), e.column());
    let end = (offset + 1).min(source.text.len()).max(offset);
    let message = e.to_string();
    // serde appends " at line L column C", which is relative to the element: drop it, the
    // renderer prints the file position.
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    ParseError::new(
        source,
        Span::new(offset.min(end), end),
        ErrorKind::Json { message },
    )
}

/// serde_json reports 1-based lines and 1-based byte columns (0 when before the first byte).
fn line_col_to_offset(text: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line.max(1) {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let mut offset = (start + column.saturating_sub(1)).min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

// ---------------------------------------------------------------------------------------
// Tolerant field decoders.

/// Present means true (`"nop": null`, `"not": null`, `"secondary": true`), unless it is
/// literally `false`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(!matches!(Value::deserialize(d)?, Value::Bool(false)))
}

/// A JSON number or string as text (tables, protocols, scopes, marks vary by version).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_u32_any(s: &str) -> Option<u32> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

// ---------------------------------------------------------------------------------------
// Addresses.

#[derive(Deserialize)]
struct JLink {
    #[serde(default)]
    ifindex: Option<u32>,
    #[serde(default)]
    ifname: Option<String>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    mtu: Option<u32>,
    #[serde(default)]
    operstate: Option<String>,
    #[serde(default)]
    link_type: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    master: Option<String>,
    #[serde(default)]
    addr_info: Vec<JAddrInfo>,
}

#[derive(Deserialize)]
struct JAddrInfo {
    #[serde(default)]
    family: Option<String>,
    #[serde(default)]
    local: Option<String>,
    #[serde(default)]
    prefixlen: Option<u8>,
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default)]
    broadcast: Option<String>,
    #[serde(default, deserialize_with = "present")]
    temporary: bool,
    #[serde(default, deserialize_with = "present")]
    secondary: bool,
}

fn lower_link(
    source: &SourceFile,
    elem: &Element<'_>,
    link: JLink,
) -> Result<Interface, ParseError> {
    let name = link.ifname.ok_or_else(|| {
        ParseError::new(
            source,
            Span::new(elem.start, elem.start + elem.text.len()),
            json_kind("interface without `ifname`"),
        )
    })?;
    let link_type = link_type_of(link.link_type.as_deref());
    let mac = match link_type {
        LinkType::Ether | LinkType::Loopback => link.address.as_deref().and_then(Mac::parse),
        _ => None,
    };
    let up = if link.flags.is_empty() {
        matches!(link.operstate.as_deref(), Some("UP" | "UNKNOWN"))
    } else {
        link.flags.iter().any(|f| f == "UP")
    };
    let addr_key = elem.key_offset("addr_info");
    let mut addrs = Vec::new();
    let mut search = addr_key;
    for info in link.addr_info {
        // Entries without an address (`{}` from old iproute2 filters) carry nothing.
        let Some(local) = info.local else { continue };
        let span = elem.value_span("local", search);
        let object_from = (span.start as usize).saturating_sub(elem.start);
        search = (span.end as usize).saturating_sub(elem.start);
        let addr: IpAddr = local
            .parse()
            .map_err(|_| invalid(source, span, "address", &local, "not an IP address"))?;
        let family_v6 = match info.family.as_deref() {
            Some("inet6") => Some(true),
            Some("inet") => Some(false),
            _ => None,
        };
        if family_v6.is_some_and(|v6| v6 != addr.is_ipv6()) {
            return Err(invalid(
                source,
                span,
                "address",
                &local,
                "does not match its `family`",
            ));
        }
        let max = if addr.is_ipv6() { 128 } else { 32 };
        let prefix_len = info.prefixlen.unwrap_or(max);
        if prefix_len > max {
            let pspan = elem.value_span("prefixlen", object_from);
            return Err(invalid(
                source,
                pspan,
                "prefix length",
                &prefix_len.to_string(),
                "too long for the address",
            ));
        }
        let broadcast = info.broadcast.as_deref().and_then(|b| b.parse().ok());
        addrs.push(IfAddr {
            addr,
            prefix_len,
            scope: info
                .scope
                .as_ref()
                .and_then(scalar_text)
                .map_or(Scope::Universe, |s| scope_of(&s)),
            broadcast,
            temporary: info.temporary,
            secondary: info.secondary,
        });
    }
    Ok(Interface {
        name,
        index: link.ifindex.unwrap_or(0),
        link: link_type,
        mac,
        up,
        mtu: link.mtu,
        addrs,
        master: link.master,
    })
}

/// A scope by name or by its `RT_SCOPE_*` number (some versions print numbers).
fn scope_of(s: &str) -> Scope {
    match s {
        "0" => Scope::Universe,
        "200" => Scope::Site,
        "253" => Scope::Link,
        "254" => Scope::Host,
        "255" => Scope::Nowhere,
        name => Scope::from_name(name),
    }
}

/// `link_type` names as iproute2 prints them (`ll_type_n2a`), with their `ARPHRD_*` numbers.
fn link_type_of(name: Option<&str>) -> LinkType {
    match name {
        None | Some("ether") => LinkType::Ether,
        Some("loopback") => LinkType::Loopback,
        Some("none") => LinkType::None,
        Some(other) => LinkType::Other(match other {
            "infiniband" => 32,
            "ipip" => 768,
            "tunnel6" => 769,
            "sit" => 776,
            "ipgre" | "gre" => 778,
            "ieee802.11" => 801,
            "ip6gre" => 823,
            "can" => 280,
            "ppp" => 512,
            // ARPHRD_VOID: anything iproute2 names that we do not list.
            _ => 0xffff,
        }),
    }
}

// ---------------------------------------------------------------------------------------
// Routes.

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

fn invalid(source: &SourceFile, span: Span, what: &str, value: &str, reason: &str) -> ParseError {
    ParseError::new(
        source,
        span,
        ErrorKind::InvalidValue {
            what: what.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        },
    )
}

fn parse_ip(source: &SourceFile, span: Span, what: &str, s: &str) -> Result<IpAddr, ParseError> {
    s.parse()
        .map_err(|_| invalid(source, span, what, s, "not an IP address"))
}

/// `default`, `10.0.0.0/24`, or a bare address (a host route).
fn parse_prefix(source: &SourceFile, span: Span, s: &str, v6: bool) -> Result<IpNet, ParseError> {
    if s == "default" || s == "all" {
        let any = if v6 {
            IpAddr::from([0u16; 8])
        } else {
            IpAddr::from([0u8; 4])
        };
        return Ok(IpNet::new(any, 0).unwrap_or_else(|_| IpNet::from(any)));
    }
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(net);
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| invalid(source, span, "prefix", s, "not an address or prefix"))
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

// ---------------------------------------------------------------------------------------
// Policy rules.

#[derive(Deserialize)]
struct JRule {
    #[serde(default)]
    priority: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    not: bool,
    #[serde(default)]
    src: Option<String>,
    #[serde(default)]
    srclen: Option<u8>,
    #[serde(default)]
    dst: Option<String>,
    #[serde(default)]
    dstlen: Option<u8>,
    #[serde(default)]
    iif: Option<String>,
    #[serde(default)]
    oif: Option<String>,
    #[serde(default)]
    fwmark: Option<Value>,
    #[serde(default)]
    fwmask: Option<Value>,
    #[serde(default)]
    tos: Option<Value>,
    #[serde(default)]
    dsfield: Option<Value>,
    #[serde(default)]
    table: Option<Value>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    goto: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    nop: bool,
    #[serde(default)]
    suppress_prefixlen: Option<Value>,
    #[serde(default)]
    ipproto: Option<Value>,
    #[serde(default)]
    sport: Option<Value>,
    #[serde(default)]
    sport_start: Option<u16>,
    #[serde(default)]
    sport_end: Option<u16>,
    #[serde(default)]
    dport: Option<Value>,
    #[serde(default)]
    dport_start: Option<u16>,
    #[serde(default)]
    dport_end: Option<u16>,
    #[serde(default)]
    uid_start: Option<u32>,
    #[serde(default)]
    uid_end: Option<u32>,
    #[serde(default)]
    uidrange: Option<Value>,
}

/// `N`, `"N"` or `"A-B"` into an inclusive range.
fn range_of(v: &Value) -> Option<(u32, u32)> {
    let text = scalar_text(v)?;
    match text.split_once('-') {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => {
            let n = text.trim().parse().ok()?;
            Some((n, n))
        }
    }
}

fn port_range(
    source: &SourceFile,
    elem: &Element<'_>,
    key: &str,
    single: &Option<Value>,
    start: Option<u16>,
    end: Option<u16>,
) -> Result<Option<(u16, u16)>, ParseError> {
    if let (Some(a), b) = (start, end) {
        return Ok(Some((a, b.unwrap_or(a))));
    }
    let Some(v) = single else { return Ok(None) };
    let bad = || {
        invalid(
            source,
            elem.value_span(key, 0),
            "port range",
            &v.to_string(),
            "expected N or N-M (0-65535)",
        )
    };
    let (a, b) = range_of(v).ok_or_else(bad)?;
    let a = u16::try_from(a).map_err(|_| bad())?;
    let b = u16::try_from(b).map_err(|_| bad())?;
    Ok(Some((a, b)))
}

fn lower_rule(
    source: &SourceFile,
    elem: &Element<'_>,
    r: JRule,
    v6: bool,
) -> Result<PolicyRule, ParseError> {
    let whole = Span::new(elem.start, elem.start + elem.text.len());
    let selector =
        |key: &str, addr: &Option<String>, len: Option<u8>| -> Result<Option<IpNet>, ParseError> {
            let Some(a) = addr else { return Ok(None) };
            if a == "all" {
                return Ok(None);
            }
            let span = elem.value_span(key, 0);
            if a.contains('/') {
                return parse_prefix(source, span, a, v6).map(Some);
            }
            let ip = parse_ip(source, span, "address", a)?;
            let max = if ip.is_ipv6() { 128 } else { 32 };
            let len = len.unwrap_or(max);
            IpNet::new(ip, len).map(|n| Some(n.trunc())).map_err(|_| {
                invalid(
                    source,
                    elem.value_span(&format!("{key}len"), 0),
                    "prefix length",
                    &len.to_string(),
                    "too long for the address",
                )
            })
        };
    let src = selector("src", &r.src, r.srclen)?;
    let dst = selector("dst", &r.dst, r.dstlen)?;

    let fwmark = match &r.fwmark {
        None => None,
        Some(v) => {
            let text = scalar_text(v).unwrap_or_default();
            let span = elem.value_span("fwmark", 0);
            let bad = |t: &str| {
                invalid(
                    source,
                    span,
                    "fwmark",
                    t,
                    "expected a number, optionally /mask",
                )
            };
            let (mark, mask) = match text.split_once('/') {
                Some((m, k)) => (
                    parse_u32_any(m).ok_or_else(|| bad(&text))?,
                    parse_u32_any(k).ok_or_else(|| bad(&text))?,
                ),
                None => {
                    let mark = parse_u32_any(&text).ok_or_else(|| bad(&text))?;
                    let mask = match &r.fwmask {
                        Some(m) => {
                            let mt = scalar_text(m).unwrap_or_default();
                            parse_u32_any(&mt).ok_or_else(|| {
                                invalid(
                                    source,
                                    elem.value_span("fwmask", 0),
                                    "fwmask",
                                    &mt,
                                    "expected a number",
                                )
                            })?
                        }
                        None => u32::MAX,
                    };
                    (mark, mask)
                }
            };
            Some((mark, mask))
        }
    };
    let tos = match r.tos.as_ref().or(r.dsfield.as_ref()) {
        None => None,
        Some(v) => {
            let t = scalar_text(v).unwrap_or_default();
            let key = if r.tos.is_some() { "tos" } else { "dsfield" };
            Some(
                parse_u32_any(&t)
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| {
                        invalid(
                            source,
                            elem.value_span(key, 0),
                            "tos",
                            &t,
                            "expected a byte",
                        )
                    })?,
            )
        }
    };
    let ipproto = match &r.ipproto {
        None => None,
        Some(v) => {
            let t = scalar_text(v).unwrap_or_default();
            let name = t.strip_prefix("ipproto-").unwrap_or(&t);
            Some(IpProto::from_name(name).ok_or_else(|| {
                invalid(
                    source,
                    elem.value_span("ipproto", 0),
                    "protocol",
                    &t,
                    "unknown protocol name",
                )
            })?)
        }
    };
    let sport = port_range(source, elem, "sport", &r.sport, r.sport_start, r.sport_end)?;
    let dport = port_range(source, elem, "dport", &r.dport, r.dport_start, r.dport_end)?;
    let uid = match (r.uid_start, r.uid_end, &r.uidrange) {
        (Some(a), b, _) => Some((a, b.unwrap_or(a))),
        (None, _, Some(v)) => Some(range_of(v).ok_or_else(|| {
            invalid(
                source,
                elem.value_span("uidrange", 0),
                "uid range",
                &v.to_string(),
                "expected N-M",
            )
        })?),
        _ => None,
    };
    let suppress_prefixlen = match &r.suppress_prefixlen {
        None => None,
        Some(v) => {
            let t = scalar_text(v).unwrap_or_default();
            match t.parse::<i64>() {
                // -1 is "not set" in some versions.
                Ok(n) if n < 0 => None,
                Ok(n) => Some(u8::try_from(n).map_err(|_| {
                    invalid(
                        source,
                        elem.value_span("suppress_prefixlen", 0),
                        "prefix length",
                        &t,
                        "too long",
                    )
                })?),
                Err(_) => {
                    return Err(invalid(
                        source,
                        elem.value_span("suppress_prefixlen", 0),
                        "prefix length",
                        &t,
                        "expected a number",
                    ))
                }
            }
        }
    };
    let table_text = r.table.as_ref().and_then(scalar_text);
    let goto_target = |source: &SourceFile| -> Result<u32, ParseError> {
        let v = r.goto.as_ref().and_then(scalar_text).unwrap_or_default();
        v.parse().map_err(|_| {
            invalid(
                source,
                elem.value_span("goto", 0),
                "goto target",
                &v,
                "expected a rule priority",
            )
        })
    };
    let action = match r.action.as_deref() {
        Some("blackhole") => RuleAction::Blackhole,
        Some("unreachable") => RuleAction::Unreachable,
        Some("prohibit") => RuleAction::Prohibit,
        Some("nop") => RuleAction::Nop,
        Some("goto") => RuleAction::Goto(goto_target(source)?),
        Some("lookup" | "to_tbl") | None if table_text.is_some() => RuleAction::Lookup(
            table_text
                .as_deref()
                .map_or(table_id::MAIN, table_id_of_name),
        ),
        None if r.goto.is_some() => RuleAction::Goto(goto_target(source)?),
        None if r.nop => RuleAction::Nop,
        Some(other) => {
            return Err(ParseError::new(
                source,
                elem.value_span("action", 0),
                ErrorKind::Unsupported {
                    construct: format!("rule action `{other}`"),
                },
            ))
        }
        None => {
            return Err(ParseError::new(
                source,
                whole,
                json_kind("rule without `table` or `action`"),
            ))
        }
    };
    let mut rule = PolicyRule {
        priority: r.priority.unwrap_or(0),
        v6,
        not: r.not,
        src,
        dst,
        iif: r.iif.clone(),
        oif: r.oif.clone(),
        fwmark,
        tos,
        ipproto,
        sport,
        dport,
        uid,
        action,
        suppress_prefixlen,
        text: String::new(),
    };
    rule.text = rule_text(&rule, table_text.as_deref());
    Ok(rule)
}

/// The rule as `ip rule` prints it: `32766: from all lookup main`.
fn rule_text(r: &PolicyRule, table: Option<&str>) -> String {
    let mut w = vec![format!("{}:", r.priority)];
    if r.not {
        w.push("not".into());
    }
    w.push(format!(
        "from {}",
        r.src.map_or_else(|| "all".to_string(), |n| net_text(&n))
    ));
    if let Some(d) = r.dst {
        w.push(format!("to {}", net_text(&d)));
    }
    if let Some(t) = r.tos {
        w.push(format!("tos {t:#04x}"));
    }
    if let Some((mark, mask)) = r.fwmark {
        if mask == u32::MAX {
            w.push(format!("fwmark {mark:#x}"));
        } else {
            w.push(format!("fwmark {mark:#x}/{mask:#x}"));
        }
    }
    if let Some(i) = &r.iif {
        w.push(format!("iif {i}"));
    }
    if let Some(o) = &r.oif {
        w.push(format!("oif {o}"));
    }
    if let Some((a, b)) = r.uid {
        w.push(format!("uidrange {a}-{b}"));
    }
    if let Some(p) = r.ipproto {
        w.push(format!("ipproto {p}"));
    }
    for (name, range) in [("sport", r.sport), ("dport", r.dport)] {
        match range {
            Some((a, b)) if a == b => w.push(format!("{name} {a}")),
            Some((a, b)) => w.push(format!("{name} {a}-{b}")),
            None => {}
        }
    }
    match &r.action {
        RuleAction::Lookup(id) => w.push(format!(
            "lookup {}",
            table.map_or_else(|| id.to_string(), str::to_string)
        )),
        RuleAction::Goto(p) => w.push(format!("goto {p}")),
        RuleAction::Nop => w.push("nop".into()),
        RuleAction::Blackhole => w.push("blackhole".into()),
        RuleAction::Unreachable => w.push("unreachable".into()),
        RuleAction::Prohibit => w.push("prohibit".into()),
    }
    if let Some(n) = r.suppress_prefixlen {
        w.push(format!("suppress_prefixlength {n}"));
    }
    w.join(" ")
}

/// `10.1.1.5` for a host prefix (as `ip rule` prints it), `10.0.0.0/8` otherwise.
fn net_text(n: &IpNet) -> String {
    if n.prefix_len() == n.max_prefix_len() {
        n.addr().to_string()
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/host/router/");
    const POLICY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/host/policy/");

    fn fixture(dir: &str, name: &str) -> SourceFile {
        let path = format!("{dir}{name}");
        SourceFile::new(
            name,
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
        )
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn router_addrs_have_tap0_and_eno1() {
        let ifs = parse_addrs(&fixture(ROUTER, "ip-addr.json")).unwrap();
        let names: Vec<&str> = ifs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["lo", "tap0", "eno1"]);
        let lo = &ifs[0];
        assert_eq!(
            (lo.link, lo.up, lo.mtu),
            (LinkType::Loopback, true, Some(65536))
        );
        assert_eq!(lo.addrs[0].addr, ip("127.0.0.1"));
        assert_eq!(
            (lo.addrs[0].prefix_len, lo.addrs[0].scope),
            (8, Scope::Host)
        );
        assert_eq!(lo.addrs[1].addr, ip("::1"));
        let tap0 = &ifs[1];
        assert_eq!(tap0.index, 2);
        assert_eq!(tap0.mac.unwrap().to_string(), "52:54:00:65:43:21");
        assert_eq!(tap0.addrs[0].addr, ip("10.1.1.1"));
        assert_eq!(tap0.addrs[0].prefix_len, 24);
        assert_eq!(tap0.addrs[0].broadcast, Some(ip("10.1.1.255")));
        assert_eq!(tap0.addrs[0].scope, Scope::Universe);
        assert_eq!(tap0.addrs[1].addr, ip("fd00:1:1::1"));
        let link_local = tap0.addrs.iter().find(|a| a.scope == Scope::Link).unwrap();
        assert_eq!(link_local.addr, ip("fe80::5054:ff:fe65:4321"));
        assert_eq!(ifs[2].addrs[0].network(), net("10.1.0.0/24"));
    }

    #[test]
    fn detailed_addrs_with_secondary_tun_and_down_links() {
        let ifs = parse_addrs(&fixture(POLICY, "ip-addr.json")).unwrap();
        let tap0 = ifs.iter().find(|i| i.name == "tap0").unwrap();
        let secondary: Vec<_> = tap0
            .addrs
            .iter()
            .filter(|a| a.secondary)
            .map(|a| a.addr)
            .collect();
        assert_eq!(secondary, [ip("10.1.1.5")]);
        let wg0 = ifs.iter().find(|i| i.name == "wg0").unwrap();
        assert_eq!((wg0.link, wg0.mac, wg0.up), (LinkType::None, None, true));
        assert_eq!(wg0.addrs[0].prefix_len, 32);
        let eno1p = ifs.iter().find(|i| i.name == "eno1p").unwrap();
        assert!(!eno1p.up, "no UP flag");
        let eno1 = ifs.iter().find(|i| i.name == "eno1").unwrap();
        assert_eq!(
            (eno1.up, eno1.mtu),
            (true, Some(9000)),
            "admin up even without carrier"
        );
    }

    #[test]
    fn addr_master_temporary_and_unknown_fields() {
        let text = r#"[{"ifindex":7,"ifname":"veth1","flags":["UP"],"master":"br0","link_type":"ether","address":"02:00:00:00:00:01","new_field":{"x":[1,2]},
          "addr_info":[{},{"family":"inet6","local":"2001:db8::abcd","prefixlen":64,"scope":"global","temporary":true,"dynamic":true}]}]"#;
        let ifs = parse_addrs(&SourceFile::new("a.json", text)).unwrap();
        assert_eq!(ifs[0].master.as_deref(), Some("br0"));
        assert_eq!(ifs[0].addrs.len(), 1);
        assert!(ifs[0].addrs[0].temporary);
    }

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
    fn named_table_gets_the_same_id_in_routes_and_rules() {
        let routes = parse_routes(
            &SourceFile::new("r", r#"[{"dst":"default","dev":"wg0","table":"vpn"}]"#),
            false,
        )
        .unwrap();
        let rules = parse_rules(
            &SourceFile::new("u", r#"[{"priority":5,"src":"all","table":"vpn"}]"#),
            false,
        )
        .unwrap();
        assert_eq!(rules[0].action, RuleAction::Lookup(routes[0].table));
        assert_eq!(rules[0].text, "5: from all lookup vpn");
        assert_eq!(routes[0].text, "default dev wg0 table vpn");
    }

    #[test]
    fn router_rules_are_the_three_defaults() {
        let rules = parse_rules(&fixture(ROUTER, "ip-rule.json"), false).unwrap();
        let texts: Vec<&str> = rules.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "0: from all lookup local",
                "32766: from all lookup main",
                "32767: from all lookup default"
            ]
        );
        assert_eq!(rules[1].action, RuleAction::Lookup(table_id::MAIN));
        assert!(!rules[1].v6);
        let v6 = parse_rules(&fixture(ROUTER, "ip6-rule.json"), true).unwrap();
        assert_eq!(v6.len(), 2);
        assert!(v6[0].v6);
    }

    #[test]
    fn policy_rules_every_selector_and_action() {
        let rules = parse_rules(&fixture(POLICY, "ip-rule.json"), false).unwrap();
        let by = |p: u32| rules.iter().find(|r| r.priority == p).unwrap();
        let r100 = by(100);
        assert_eq!(
            (r100.src, r100.dst),
            (Some(net("10.1.1.0/24")), Some(net("192.168.0.0/16")))
        );
        assert_eq!(
            (r100.iif.as_deref(), r100.action.clone()),
            (Some("tap0"), RuleAction::Lookup(100))
        );
        assert_eq!(
            r100.text,
            "100: from 10.1.1.0/24 to 192.168.0.0/16 iif tap0 lookup 100"
        );
        assert_eq!(by(200).fwmark, Some((1, 0xff)));
        assert_eq!(by(200).text, "200: from all fwmark 0x1/0xff lookup 200");
        assert_eq!(by(210).fwmark, Some((2, u32::MAX)));
        let r300 = by(300);
        assert!(r300.not);
        assert_eq!(
            (r300.src, r300.action.clone()),
            (Some(net("10.0.0.0/8")), RuleAction::Goto(400))
        );
        assert_eq!(r300.text, "300: not from 10.0.0.0/8 goto 400");
        assert_eq!(by(400).action, RuleAction::Nop);
        assert_eq!(by(500).action, RuleAction::Blackhole);
        assert_eq!(by(510).action, RuleAction::Unreachable);
        assert_eq!(by(520).action, RuleAction::Prohibit);
        assert_eq!(by(520).text, "520: from all to 10.68.0.0/16 prohibit");
        let r600 = by(600);
        assert_eq!(
            (r600.ipproto, r600.sport, r600.dport),
            (Some(IpProto::Tcp), Some((1024, 1024)), Some((8000, 8080)))
        );
        assert_eq!(
            r600.text,
            "600: from all ipproto tcp sport 1024 dport 8000-8080 lookup 100"
        );
        let r700 = by(700);
        assert_eq!(
            (r700.uid, r700.suppress_prefixlen),
            (Some((1000, 2000)), Some(0))
        );
        assert_eq!(
            r700.text,
            "700: from all uidrange 1000-2000 lookup main suppress_prefixlength 0"
        );
        let r800 = by(800);
        assert_eq!((r800.tos, r800.oif.as_deref()), (Some(0x10), Some("eno1")));
        assert_eq!(r800.text, "800: from all tos 0x10 oif eno1 lookup 100");
        assert_eq!(by(900).src, Some(net("10.1.1.5/32")));
        assert_eq!(by(900).text, "900: from 10.1.1.5 lookup 100");
    }

    #[test]
    fn policy_v6_rules() {
        let rules = parse_rules(&fixture(POLICY, "ip6-rule.json"), true).unwrap();
        let r = rules.iter().find(|r| r.priority == 1000).unwrap();
        assert_eq!(r.src, Some(net("fd00:1:1::/64")));
        let r = rules.iter().find(|r| r.priority == 1200).unwrap();
        assert_eq!((r.ipproto, r.dport), (Some(IpProto::Udp), Some((53, 53))));
        assert_eq!(
            rules.iter().find(|r| r.priority == 1100).unwrap().action,
            RuleAction::Prohibit
        );
    }

    #[test]
    fn rule_fwmark_with_slash_and_old_style_actions() {
        let text = r#"[{"priority":10,"src":"all","fwmark":"0x10/0xf0","action":"goto","goto":"20"},
                       {"priority":20,"src":"all","action":"nop"},{"priority":30,"src":"all","ipproto":"ipproto-47","table":"main","uidrange":"5-9"}]"#;
        let rules = parse_rules(&SourceFile::new("r", text), false).unwrap();
        assert_eq!(
            (rules[0].fwmark, rules[0].action.clone()),
            (Some((0x10, 0xf0)), RuleAction::Goto(20))
        );
        assert_eq!(rules[1].action, RuleAction::Nop);
        assert_eq!(
            (rules[2].ipproto, rules[2].uid),
            (Some(IpProto::Gre), Some((5, 9)))
        );
    }

    #[test]
    fn empty_file_is_no_routes() {
        assert!(parse_routes(&SourceFile::new("r", "\n"), false)
            .unwrap()
            .is_empty());
        assert!(parse_rules(&SourceFile::new("r", "[]"), false)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn syntax_error_points_at_line_and_column() {
        let text = "[{\"dst\": \"default\"},\n {\"dst\": \"10.0.0.0/8\" \"dev\": \"eth0\"}]";
        let e = parse_routes(&SourceFile::new("ip-route.json", text), false).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }), "{e}");
        assert_eq!(e.line_col(), (2, 23), "{e}");
        assert_eq!(&text[e.span.start as usize..e.span.end as usize], "\"");
    }

    #[test]
    fn wrong_type_points_into_the_element() {
        let text = "[\n  {\"ifname\": \"lo\", \"mtu\": \"big\"}\n]";
        let e = parse_addrs(&SourceFile::new("ip-addr.json", text)).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }));
        assert_eq!(e.line_col().0, 2, "{e}");
        assert!(
            !e.to_string().contains("column"),
            "positions come from the span: {e}"
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
    fn bad_address_in_second_addr_info_spans_that_one() {
        let text = r#"[{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":24},{"family":"inet","local":"10.0.0.300","prefixlen":24}]}]"#;
        let e = parse_addrs(&SourceFile::new("a", text)).unwrap_err();
        assert_eq!(
            &text[e.span.start as usize..e.span.end as usize],
            "\"10.0.0.300\""
        );
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

    #[test]
    fn unknown_rule_action_is_unsupported() {
        let text = r#"[{"priority":1,"src":"all","action":"frobnicate"}]"#;
        let e = parse_rules(&SourceFile::new("r", text), false).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported { .. }));
        assert_eq!(
            &text[e.span.start as usize..e.span.end as usize],
            "\"frobnicate\""
        );
    }

    #[test]
    fn not_an_array_is_an_error() {
        let e = parse_rules(&SourceFile::new("r", "{\"priority\": 1}"), false).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }));
        let e = parse_rules(
            &SourceFile::new("r", "[{\"priority\": 1, \"table\": \"main\"}"),
            false,
        )
        .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }), "{e}");
        let e = parse_rules(&SourceFile::new("r", "[] x"), false).unwrap_err();
        assert_eq!(e.span.start, 3);
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "[",
            "]",
            "[,]",
            "[{]",
            "[\"",
            "[{\"dst\":}]",
            "[1,2]",
            "[{\"a\":\"\\",
            "\u{e9}[",
            "[{\"dst\":\"\u{e9}\"}]",
            "[null]",
        ] {
            let s = SourceFile::new("x", text);
            let _ = parse_routes(&s, false);
            let _ = parse_rules(&s, true);
            let _ = parse_addrs(&s);
        }
    }
}
