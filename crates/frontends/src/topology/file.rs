//! The topology file (TOML): hosts, stub hosts and links. See the format in the parent
//! module's doc and `docs/topology.md`.
//!
//! Every error points into the file (`file:line:col`, the line, a caret): TOML's own at the
//! bytes its parser names, the file's meaning (an address that does not parse, a route the
//! kernel would refuse, a link to a host that is not there) at the value it is about.

use super::node::{self, HostError, NodeError};
use super::routes::{self, RouteError};
use super::TopologyError;
use crate::LoadError;
use ipnet::IpNet;
use model::diag::ErrorKind;
use model::diag::ParseError;
use model::host::{
    Host, IfAddr, Interface, LinkType, Neighbour, NeighbourState, Scope, Socket, Sysctls,
};
use model::packet::{IpProto, Mac};
use model::topology::{Link, LinkEnd, LinkEvidence, Node, NodeKind, StubAnswers, Topology};
use model::{Ruleset, SourceFile, Span};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    host: BTreeMap<Spanned<String>, Spanned<HostDoc>>,
    #[serde(default)]
    link: Vec<Spanned<LinkDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostDoc {
    kind: Option<Spanned<String>>,
    snapshot: Option<Spanned<String>>,
    dir: Option<Spanned<String>>,
    #[serde(default)]
    rules: Vec<Spanned<String>>,
    interfaces: Option<Spanned<BTreeMap<Spanned<String>, Spanned<IfaceDoc>>>>,
    routes: Option<Spanned<Vec<Spanned<String>>>>,
    sysctls: Option<Spanned<BTreeMap<String, Spanned<SysctlValue>>>>,
    neighbours: Option<Spanned<Vec<Spanned<String>>>>,
    listens: Option<Spanned<Vec<Spanned<String>>>>,
    ping: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IfaceDoc {
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
    mtu: Option<Spanned<u32>>,
    mac: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SysctlValue {
    Int(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkDoc {
    name: Option<String>,
    ends: Spanned<Vec<Spanned<String>>>,
}

/// Reads the topology file `source`; the files it names are relative to `base` (`None`: it
/// may name none, e.g. a file read from memory).
pub fn parse(source: &SourceFile, base: Option<&Path>) -> Result<Topology, TopologyError> {
    let doc: FileDoc = toml::from_str(&source.text).map_err(|e| toml_error(source, &e))?;
    let at = |s: std::ops::Range<usize>| Span::new(s.start, s.end);
    let mut hosts: Vec<_> = doc.host.into_iter().collect();
    hosts.sort_by_key(|(name, _)| name.span().start);
    let mut topology = Topology::default();
    for (name, host) in hosts {
        let span = at(name.span());
        let name = name.into_inner();
        if name.trim().is_empty() {
            return Err(ParseError::invalid_value(
                source,
                span,
                "host name",
                &name,
                "empty: a host needs a name to be called by",
            )
            .into());
        }
        let node = host_node(source, base, name, host.into_inner())?;
        topology.nodes.push(node);
    }
    for link in doc.link {
        let line = source.line_col(link.span().start as u32).0 as usize;
        let link = link.into_inner();
        let ends_span = at(link.ends.span());
        let mut ends = Vec::new();
        for end in link.ends.into_inner() {
            let end_span = at(end.span());
            let end = link_end(source, &topology, end.get_ref(), end_span)?;
            if ends.contains(&end) {
                return Err(invalid(
                    source,
                    end_span,
                    "link end",
                    end.iface.as_str(),
                    "given twice",
                )
                .into());
            }
            if let Some(other) = topology.link_of(end.node, &end.iface) {
                let reason = format!(
                    "already on link `{}`: an interface is on one link",
                    topology.links[other].name
                );
                return Err(invalid(
                    source,
                    end_span,
                    "link end",
                    &format_end(&topology, &end),
                    &reason,
                )
                .into());
            }
            ends.push(end);
        }
        if ends.len() < 2 {
            return Err(ParseError::expected(
                source,
                ends_span,
                "2 or more ends (`NODE:IFACE`)",
                &ends.len().to_string(),
            )
            .into());
        }
        let name = link.name.unwrap_or_else(|| {
            ends.iter()
                .map(|e| format_end(&topology, e))
                .collect::<Vec<_>>()
                .join(" -- ")
        });
        topology.links.push(Link {
            name,
            ends,
            evidence: LinkEvidence::Declared {
                file: source.name.to_string(),
                line,
            },
            complete: true,
        });
    }
    Ok(topology)
}

/// `NODE:IFACE` of a link end.
fn format_end(topology: &Topology, end: &LinkEnd) -> String {
    format!("{}:{}", topology.nodes[end.node].name, end.iface)
}

/// A link end `NODE:IFACE` (an interface name has no `:`; a node name may).
fn link_end(
    source: &SourceFile,
    topology: &Topology,
    text: &str,
    span: Span,
) -> Result<LinkEnd, ParseError> {
    let Some((node, iface)) = text
        .rsplit_once(':')
        .filter(|(n, i)| !n.is_empty() && !i.is_empty())
    else {
        return Err(ParseError::expected(source, span, "`NODE:IFACE`", text));
    };
    let Some(index) = topology.node(node) else {
        return Err(ParseError::new(
            source,
            span,
            ErrorKind::Undefined {
                what: "host".into(),
                name: node.into(),
            },
        ));
    };
    let host = &topology.nodes[index].host;
    if host.known.addresses && host.interface(iface).is_none() {
        return Err(ParseError::new(
            source,
            span,
            ErrorKind::Undefined {
                what: "interface".into(),
                name: text.into(),
            },
        ));
    }
    Ok(LinkEnd {
        node: index,
        iface: iface.to_string(),
    })
}

/// The node a `[host.NAME]` table describes.
fn host_node(
    source: &SourceFile,
    base: Option<&Path>,
    name: String,
    doc: HostDoc,
) -> Result<Node, TopologyError> {
    let stub = match &doc.kind {
        None => false,
        Some(k) => match k.get_ref().as_str() {
            "linux" => false,
            "stub" => true,
            other => {
                return Err(invalid(
                    source,
                    span(k),
                    "host kind",
                    other,
                    "expected `linux` or `stub`",
                )
                .into())
            }
        },
    };
    let resolve = |named: &Spanned<String>| -> Result<PathBuf, ParseError> {
        match base {
            Some(base) => Ok(base.join(named.get_ref())),
            None => Err(invalid(
                source,
                span(named),
                "path",
                named.get_ref(),
                "this topology is read without a directory, so it cannot name files",
            )),
        }
    };
    let read_from = match (&doc.snapshot, &doc.dir) {
        (Some(_), Some(d)) => {
            return Err(invalid(
                source,
                span(d),
                "key",
                "dir",
                "a host is read from a snapshot or a directory, not both",
            )
            .into())
        }
        (Some(p), None) | (None, Some(p)) => Some(p),
        (None, None) => None,
    };
    if let Some(path) = read_from {
        if stub {
            return Err(invalid(
                source,
                span(path),
                "key",
                "snapshot/dir",
                "a stub is described by its addresses and routes, not read from a Linux host",
            )
            .into());
        }
        let inline = [
            ("interfaces", doc.interfaces.as_ref().map(Spanned::span)),
            ("routes", doc.routes.as_ref().map(Spanned::span)),
            ("sysctls", doc.sysctls.as_ref().map(Spanned::span)),
            ("neighbours", doc.neighbours.as_ref().map(Spanned::span)),
            ("listens", doc.listens.as_ref().map(Spanned::span)),
        ];
        if let Some((key, s)) = inline.into_iter().find_map(|(k, s)| s.map(|s| (k, s))) {
            let reason = "a host read from a snapshot or directory takes its state from it; \
                          describe a host inline or read it, not both";
            return Err(invalid(source, Span::new(s.start, s.end), "key", key, reason).into());
        }
        let file = resolve(path)?;
        let rules = doc
            .rules
            .iter()
            .map(resolve)
            .collect::<Result<Vec<_>, _>>()?;
        let read = node::read_host(&file).map_err(|e| host_error(source, path, e))?;
        return node::linux_node(name, file.display().to_string(), read, &rules)
            .map_err(|e| node_error(source, &doc.rules, e));
    }
    if stub {
        for (key, s) in [
            ("rules", doc.rules.first().map(Spanned::span)),
            ("sysctls", doc.sysctls.as_ref().map(Spanned::span)),
            ("neighbours", doc.neighbours.as_ref().map(Spanned::span)),
        ] {
            if let Some(s) = s {
                return Err(invalid(
                    source,
                    Span::new(s.start, s.end),
                    "key",
                    key,
                    "a stub has addresses, routes, listening ports and `ping` only",
                )
                .into());
            }
        }
    } else if let Some(p) = &doc.ping {
        return Err(invalid(
            source,
            span(p),
            "key",
            "ping",
            "only a stub takes `ping`: a Linux host answers as its kernel and firewall do",
        )
        .into());
    }
    let host = inline_host(source, &doc, stub)?;
    let kind = if stub {
        NodeKind::Stub(stub_answers(source, &doc)?)
    } else {
        NodeKind::Linux
    };
    let mut node = Node {
        name,
        kind,
        host,
        ruleset: Ruleset::default(),
        tool_config: Default::default(),
        source: source.name.to_string(),
        rules_given: false,
        iptables_sources: Vec::new(),
        nft_sources: Vec::new(),
        notes: Vec::new(),
    };
    let rules = doc
        .rules
        .iter()
        .map(resolve)
        .collect::<Result<Vec<_>, _>>()?;
    if !rules.is_empty() {
        node::add_rules_files(&mut node, &rules)
            .map_err(|e| node_error(source, &doc.rules, NodeError::Rules(e)))?;
    }
    Ok(node)
}

/// The host state a `[host.NAME]` table gives inline.
fn inline_host(source: &SourceFile, doc: &HostDoc, stub: bool) -> Result<Host, ParseError> {
    let mut host = Host::default();
    if !stub
        && !doc
            .interfaces
            .as_ref()
            .is_some_and(|i| i.get_ref().keys().any(|k| k.get_ref() == "lo"))
    {
        host.interfaces.push(loopback());
    }
    let mut ifaces: Vec<_> = doc
        .interfaces
        .iter()
        .flat_map(|i| i.get_ref().iter())
        .collect();
    ifaces.sort_by_key(|(k, _)| k.span().start);
    for (name, iface) in ifaces {
        let iname = name.get_ref();
        if iname.is_empty()
            || iname.len() > 15
            || iname.contains(['/', ':'])
            || iname.contains(char::is_whitespace)
        {
            return Err(invalid(
                source,
                span(name),
                "interface name",
                iname,
                "Linux names are 1 to 15 bytes without `/`, `:` or spaces",
            ));
        }
        let loopback = iname == "lo";
        let mut out = Interface {
            name: iname.clone(),
            index: host.interfaces.len() as u32 + 1,
            link: if loopback {
                LinkType::Loopback
            } else {
                LinkType::Ether
            },
            mac: match &iface.get_ref().mac {
                Some(m) => Some(Mac::parse(m.get_ref()).ok_or_else(|| {
                    invalid(
                        source,
                        span(m),
                        "MAC address",
                        m.get_ref(),
                        "expected six hex bytes `02:00:00:00:00:01`",
                    )
                })?),
                None => None,
            },
            up: true,
            mtu: iface.get_ref().mtu.as_ref().map(|m| *m.get_ref()),
            addrs: Vec::new(),
            ..Interface::default()
        };
        for a in &iface.get_ref().addresses {
            let addr = if_addr(source, a, &out.addrs)?;
            out.addrs.push(addr);
        }
        host.interfaces.push(out);
    }
    host.known.addresses = true;
    host.known.links = host.interfaces.iter().all(|i| i.mtu.is_some());
    if let Some(s) = &doc.sysctls {
        host.sysctls = Sysctls(
            s.get_ref()
                .iter()
                .map(|(k, v)| {
                    let v = match v.get_ref() {
                        SysctlValue::Int(n) => n.to_string(),
                        SysctlValue::Text(t) => t.clone(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        );
        host.known.sysctls = true;
    }
    host.routes = routes::kernel_routes(&host.interfaces, &host.sysctls, !stub);
    for line in doc.routes.iter().flat_map(|r| r.get_ref().iter()) {
        let route = routes::parse(line.get_ref(), &host.interfaces, &host.routes)
            .map_err(|e| route_error(source, line, e))?;
        host.routes.push(route);
    }
    host.known.routes = true;
    if let Some(n) = &doc.neighbours {
        for line in n.get_ref() {
            host.neighbours
                .push(neighbour(source, line, &host.interfaces)?);
        }
        host.known.neighbours = true;
    }
    if let Some(l) = &doc.listens {
        if !stub {
            for line in l.get_ref() {
                let (proto, port) = listen(source, line)?;
                host.sockets.push(Socket {
                    proto,
                    addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                    port,
                    device: None,
                    process: None,
                    dual_stack: true,
                });
            }
            host.known.sockets = true;
        }
    }
    Ok(host)
}

/// The `lo` every Linux host has (`127.0.0.1/8`, `::1/128`, scope host), MTU 65536.
fn loopback() -> Interface {
    Interface {
        name: "lo".to_string(),
        index: 1,
        link: LinkType::Loopback,
        mac: None,
        up: true,
        mtu: Some(65536),
        addrs: vec![
            plain_addr(IpAddr::V4(Ipv4Addr::LOCALHOST), 8, Scope::Host),
            plain_addr(IpAddr::V6(Ipv6Addr::LOCALHOST), 128, Scope::Host),
        ],
        ..Interface::default()
    }
}

/// A primary, permanent address.
fn plain_addr(addr: IpAddr, prefix_len: u8, scope: Scope) -> IfAddr {
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

/// An address `ADDR/LEN` (a bare address is /32 or /128, as `ip addr add` takes it), with
/// the scope and secondary flag the kernel gives it.
fn if_addr(
    source: &SourceFile,
    text: &Spanned<String>,
    earlier: &[IfAddr],
) -> Result<IfAddr, ParseError> {
    let s = text.get_ref();
    let (addr, prefix_len) = match s.parse::<IpNet>() {
        Ok(n) => (n.addr(), n.prefix_len()),
        Err(_) => match s.parse::<IpAddr>() {
            Ok(a) => (a, if a.is_ipv4() { 32 } else { 128 }),
            Err(_) => {
                return Err(invalid(
                    source,
                    span(text),
                    "address",
                    s,
                    "expected ADDRESS/PREFIX-LENGTH",
                ))
            }
        },
    };
    if earlier.iter().any(|e| e.addr == addr) {
        return Err(invalid(
            source,
            span(text),
            "address",
            s,
            "given twice on this interface",
        ));
    }
    let scope = match addr {
        IpAddr::V4(a) if a.is_loopback() => Scope::Host,
        IpAddr::V6(a) if a.is_loopback() => Scope::Host,
        IpAddr::V6(a) if a.is_unicast_link_local() => Scope::Link,
        _ => Scope::Universe,
    };
    let mut out = plain_addr(addr, prefix_len, scope);
    // The kernel makes a second IPv4 address of an already covered subnet secondary.
    out.secondary = addr.is_ipv4()
        && earlier.iter().any(|e| {
            e.addr.is_ipv4()
                && !e.secondary
                && e.prefix_len == prefix_len
                && e.network().contains(&addr)
        });
    Ok(out)
}

/// A neighbour as `ip neigh` prints it: `ADDR dev IFACE [lladdr MAC] [router] STATE...`.
fn neighbour(
    source: &SourceFile,
    line: &Spanned<String>,
    interfaces: &[Interface],
) -> Result<Neighbour, ParseError> {
    let text = line.get_ref();
    let words: Vec<&str> = text.split_whitespace().collect();
    let wrong = |what: &str| invalid(source, span(line), "neighbour", text, what);
    let addr: IpAddr = words
        .first()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| wrong("expected `ADDR dev IFACE [lladdr MAC] [router] STATE`"))?;
    if words.get(1) != Some(&"dev") || words.get(2).is_none() {
        return Err(wrong("expected `dev IFACE` after the address"));
    }
    let dev = words[2].to_string();
    if !interfaces.iter().any(|i| i.name == dev) {
        return Err(wrong(&format!("the host has no interface `{dev}`")));
    }
    let mut out = Neighbour {
        addr,
        dev,
        lladdr: None,
        states: Vec::new(),
        router: false,
    };
    let mut rest = words[3..].iter();
    while let Some(w) = rest.next() {
        match *w {
            "lladdr" => {
                let mac = rest.next().and_then(|m| Mac::parse(m)).ok_or_else(|| wrong("expected a MAC address after `lladdr`"))?;
                out.lladdr = Some(mac);
            }
            "router" => out.router = true,
            state => match NeighbourState::from_name(state) {
                NeighbourState::Other(_) => return Err(wrong(&format!("`{state}` is not a neighbour state (REACHABLE, STALE, FAILED, INCOMPLETE, ...)"))),
                s => out.states.push(s),
            },
        }
    }
    if out.states.is_empty() {
        return Err(wrong(
            "expected a state (REACHABLE, STALE, FAILED, INCOMPLETE, ...)",
        ));
    }
    Ok(out)
}

/// A listening port `tcp/PORT` or `udp/PORT`.
fn listen(source: &SourceFile, line: &Spanned<String>) -> Result<(IpProto, u16), ParseError> {
    let text = line.get_ref();
    let parsed = text.split_once('/').and_then(|(p, n)| {
        let proto = match p {
            "tcp" => IpProto::Tcp,
            "udp" => IpProto::Udp,
            _ => return None,
        };
        n.parse::<u16>().ok().filter(|&n| n > 0).map(|n| (proto, n))
    });
    parsed.ok_or_else(|| {
        invalid(
            source,
            span(line),
            "listening port",
            text,
            "expected `tcp/PORT` or `udp/PORT` (1 to 65535)",
        )
    })
}

/// How a stub answers: its listening ports (when `listens` is given, every port not in it
/// is closed) and `ping` (default: it answers).
fn stub_answers(source: &SourceFile, doc: &HostDoc) -> Result<StubAnswers, ParseError> {
    let mut answers = StubAnswers {
        tcp: None,
        udp: None,
        ping: doc.ping.as_ref().is_none_or(|p| *p.get_ref()),
    };
    if let Some(l) = &doc.listens {
        let (mut tcp, mut udp) = (Vec::new(), Vec::new());
        for line in l.get_ref() {
            match listen(source, line)? {
                (IpProto::Tcp, port) => tcp.push(port),
                (_, port) => udp.push(port),
            }
        }
        answers.tcp = Some(tcp);
        answers.udp = Some(udp);
    }
    Ok(answers)
}

fn span<T>(s: &Spanned<T>) -> Span {
    let r = s.span();
    Span::new(r.start, r.end)
}

fn invalid(source: &SourceFile, span: Span, what: &str, value: &str, reason: &str) -> ParseError {
    ParseError::invalid_value(source, span, what, value, reason)
}

/// A route line's error, placed on its word inside the TOML string when the string is
/// written as is (no escapes), else on the whole string.
fn route_error(source: &SourceFile, line: &Spanned<String>, e: RouteError) -> ParseError {
    let whole = line.span();
    let raw = source
        .text
        .get(whole.start + 1..whole.end.saturating_sub(1));
    let at = if raw == Some(line.get_ref().as_str()) {
        Span::new(whole.start + 1 + e.at.start, whole.start + 1 + e.at.end)
    } else {
        Span::new(whole.start, whole.end)
    };
    ParseError::new(source, at, e.kind)
}

/// A TOML syntax or shape error, at the bytes the TOML parser names.
fn toml_error(source: &SourceFile, e: &toml::de::Error) -> ParseError {
    let r = e.span().unwrap_or(0..0);
    let message = e.message().trim_end().replace('\n', " ");
    ParseError::new(
        source,
        Span::new(r.start, r.end),
        ErrorKind::Structure {
            message: format!("TOML: {message}"),
        },
    )
}

/// A host file that cannot be read, at the path's value in the topology file; errors
/// inside the host's own files stay at their own lines.
fn host_error(source: &SourceFile, path: &Spanned<String>, e: HostError) -> TopologyError {
    let unreadable = |error: std::io::Error| -> TopologyError {
        let reason = format!("cannot read it: {error}");
        invalid(source, span(path), "path", path.get_ref(), &reason).into()
    };
    match e {
        HostError::File(LoadError::Io { error, .. }) => unreadable(error),
        HostError::Dir(crate::host::host_dir::LoadError::Io { error, .. }) => unreadable(error),
        other => other.into(),
    }
}

/// A rules file that cannot be read, at its name in the topology file.
fn node_error(source: &SourceFile, rules: &[Spanned<String>], e: NodeError) -> TopologyError {
    match e {
        NodeError::Rules(LoadError::Io { path, error }) => {
            let at = rules
                .iter()
                .find(|r| path.ends_with(r.get_ref()))
                .map_or(Span::new(0, 0), span);
            invalid(
                source,
                at,
                "rules file",
                &path.display().to_string(),
                &format!("cannot read it: {error}"),
            )
            .into()
        }
        other => other.into(),
    }
}
