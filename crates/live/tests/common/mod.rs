//! Shared by the kernel-backed tests: the root check (a loud skip, or a failure in CI) and
//! small builders.
#![allow(dead_code, clippy::print_stderr)]

use model::{Family, Packet, Ruleset, SourceFile, TcpFlags, L4};

/// Whether kernel-backed tests can run. Not root: prints a loud SKIP and returns false,
/// except under `CI=true`, where not being root is a failure.
pub fn kernel_tests_enabled(test: &str) -> bool {
    if live::is_root() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: kernel-backed test needs root, and CI=true forbids skipping");
    }
    eprintln!("SKIP (not root): {test} needs root (network namespaces, netfilter tracing)");
    false
}

pub fn iptables(name: &str, text: &str) -> (SourceFile, Ruleset) {
    let src = SourceFile::new(name, text);
    let rs = frontends::iptables_save::parse(&src, Some(Family::Ip)).expect("test ruleset parses");
    (src, rs)
}

pub fn tcp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    flags: &str,
    iif: Option<&str>,
    oif: Option<&str>,
) -> Packet {
    let mut p = Packet::new(
        src.parse().unwrap(),
        dst.parse().unwrap(),
        L4::Tcp {
            sport,
            dport,
            flags: TcpFlags::from_letters(flags).unwrap(),
        },
    );
    p.iif = iif.map(str::to_string);
    p.oif = oif.map(str::to_string);
    p
}

pub fn udp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    iif: Option<&str>,
    oif: Option<&str>,
) -> Packet {
    let mut p = Packet::new(
        src.parse().unwrap(),
        dst.parse().unwrap(),
        L4::Udp { sport, dport },
    );
    p.iif = iif.map(str::to_string);
    p.oif = oif.map(str::to_string);
    p
}

/// No `wb*` namespace of this process remains.
pub fn assert_no_namespaces_of_this_process() {
    let me = std::process::id();
    let left: Vec<String> = oracle::netns::list_ours()
        .into_iter()
        .filter(|n| oracle::netns::creator_pid(n) == Some(me))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}

/// A router: lan0 10.1.1.1/24, wan0 10.1.0.1/24, connected routes, forwarding on (user
/// story 3's shape).
pub fn router() -> model::Host {
    use model::host::{IfAddr, Interface, Route, RouteType, Scope};
    let mut h = model::Host::default();
    for (name, a, net) in [
        ("lan0", "10.1.1.1", "10.1.1.0/24"),
        ("wan0", "10.1.0.1", "10.1.0.0/24"),
    ] {
        h.interfaces.push(Interface {
            name: name.into(),
            up: true,
            addrs: vec![IfAddr {
                addr: a.parse().unwrap(),
                prefix_len: 24,
                scope: Scope::Universe,
                broadcast: None,
                temporary: false,
                secondary: false,
            }],
            ..Interface::default()
        });
        h.routes.push(Route {
            table: 254,
            dst: net.parse().unwrap(),
            route_type: RouteType::Unicast,
            gateway: None,
            dev: Some(name.into()),
            prefsrc: Some(a.parse().unwrap()),
            metric: 0,
            scope: Scope::Link,
            protocol: Some("kernel".into()),
            nexthops: vec![],
            text: format!("{net} dev {name} proto kernel scope link src {a}"),
        });
    }
    h.sysctls.0.insert("net.ipv4.ip_forward".into(), "1".into());
    h.known.addresses = true;
    h.known.routes = true;
    h.known.sysctls = true;
    h
}

/// A whole number from the environment (case counts, seeds of the differential tests).
pub fn env_usize(k: &str) -> Option<usize> {
    std::env::var(k).ok().and_then(|v| v.parse().ok())
}

/// A packet the live tracer reported, with its words made as the CLI makes them (the
/// ruleset it was placed in is gone once the tracer stops).
#[derive(Debug, Clone)]
pub struct Seen {
    pub packet: analysis::agree::TracedPacket,
    text: String,
    /// The packet as `trace --json` shows it (each step's rule text and line).
    pub json: report::trace::TracedJson,
    /// What the sender sees, in words.
    pub sender: Option<String>,
    /// `--compare`: the first divergence in words.
    pub divergence: Option<String>,
    /// `--compare`: both walks side by side.
    pub side_by_side: String,
}

impl Seen {
    pub fn new(p: &analysis::agree::TracedPacket, rs: &Ruleset) -> Seen {
        let off = p.offline.as_ref();
        Seen {
            packet: p.clone(),
            text: report::trace::render_text(p, rs),
            json: report::trace::to_json(p, rs),
            sender: p.sender_sees.as_ref().map(report::trace::sender_sees),
            divergence: off.and_then(|o| report::trace::offline_divergence(rs, o)),
            side_by_side: off
                .map(|o| report::trace::offline_side_by_side(rs, o))
                .unwrap_or_default(),
        }
    }

    pub fn render_text(&self) -> String {
        self.text.clone()
    }
}

impl std::ops::Deref for Seen {
    type Target = analysis::agree::TracedPacket;
    fn deref(&self) -> &Self::Target {
        &self.packet
    }
}
