//! `cargo bench -p whyblocked-bench --bench analyses [-- PACKETS]`: the cost of the answer's
//! analyses beyond the simulation, on the largest rulesets: `analysis::remedy::remedies`
//! (for blocked packets) and `analysis::reasons::RuleReasons::of` (for every packet), each
//! as a ratio to `engine::simulate` of the same packets in the same run (the baseline: what
//! one `whyblocked` answer costs without them); `owners::recognise` against the parse.
//!
//! Workloads: the TUM border firewall (iptables-save, 5,556 rules) with varied packets from
//! its own addresses; a generated 10,000-service kube-proxy node (iptables mode) with pods
//! calling services with and without endpoints.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use analysis::reasons::RuleReasons;
use analysis::remedy::remedies;
use bench::{corpus_source, varied_packets, TUM_RULESETS};
use model::tool_config::ToolConfig;
use model::{Family, Host, Packet, Ruleset, SourceFile, TcpFlags, L4};
use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use testgen::kube::{Cluster, Proto};

/// Packets per workload unless given on the command line.
const DEFAULT_PACKETS: usize = 200;
/// Services of the generated kube-proxy node.
const KUBE_SERVICES: usize = 10_000;

/// The time of one call of `f`, with its result.
fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = black_box(f());
    (start.elapsed(), out)
}

/// Total and worst time of one kind of call over a workload's packets.
#[derive(Default)]
struct Cost {
    calls: usize,
    total: Duration,
    worst: Duration,
}

impl Cost {
    fn add(&mut self, d: Duration) {
        self.calls += 1;
        self.total += d;
        self.worst = self.worst.max(d);
    }
    fn mean_ms(&self) -> f64 {
        self.total.as_secs_f64() * 1e3 / self.calls.max(1) as f64
    }
}

/// Times the baseline and both analyses on every packet and prints one line per measure.
fn measure(label: &str, ruleset: &Ruleset, host: &Host, packets: &[Packet]) {
    let options = engine::Options::default();
    let config = ToolConfig::default();
    let (mut simulate, mut remedy, mut reasons) =
        (Cost::default(), Cost::default(), Cost::default());
    let (mut blocked, mut with_remedy) = (0, 0);
    for packet in packets {
        let (d, outcome) = timed(|| engine::simulate(ruleset, host, packet, &options));
        simulate.add(d);
        if outcome.decided_fate().is_some_and(|f| !f.passed()) {
            blocked += 1;
            let (d, r) = timed(|| remedies(ruleset, host, packet, &outcome, &options, &config));
            remedy.add(d);
            with_remedy += usize::from(r.is_some());
        }
        let (d, _) = timed(|| RuleReasons::of(ruleset, host, packet, &outcome, &options));
        reasons.add(d);
    }
    let rules = ruleset.rule_count();
    println!(
        "{label:<30} {rules:>7} rules {:>5} packets, {blocked} blocked ({with_remedy} with remedies)",
        packets.len()
    );
    println!(
        "{:<30} {:>9.2} ms mean {:>9.2} ms worst  (baseline)",
        "  engine::simulate",
        simulate.mean_ms(),
        simulate.worst.as_secs_f64() * 1e3
    );
    for (name, cost) in [
        ("  remedy::remedies", &remedy),
        ("  RuleReasons::of", &reasons),
    ] {
        println!(
            "{name:<30} {:>9.2} ms mean {:>9.2} ms worst {:>7.1}x simulate",
            cost.mean_ms(),
            cost.worst.as_secs_f64() * 1e3,
            cost.mean_ms() / simulate.mean_ms().max(1e-9)
        );
    }
}

/// Parses `source` with `parse`, times `owners::recognise` on it against the parse.
fn parse_and_recognise(
    label: &str,
    source: &SourceFile,
    parse: impl Fn(&SourceFile) -> Result<Ruleset, frontends::ParseError>,
) -> Option<Ruleset> {
    let (parse_time, parsed) = timed(|| parse(source));
    let mut ruleset = match parsed {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{label}: {e}");
            return None;
        }
    };
    let (recognise, ()) = timed(|| owners::recognise(&mut ruleset, &ToolConfig::default()));
    println!(
        "{label:<30} owners::recognise {:>9.2} ms {:>7.2}x parse ({:.2} ms)",
        recognise.as_secs_f64() * 1e3,
        recognise.as_secs_f64() / parse_time.as_secs_f64().max(1e-9),
        parse_time.as_secs_f64() * 1e3
    );
    Some(ruleset)
}

/// A kube node as `ip -j addr` and `ip -j route` show it: pods on cni0, the node on eth0.
fn kube_node() -> Host {
    const ADDRS: &str = r#"[
 {"ifindex":2,"ifname":"eth0","flags":["UP"],"operstate":"UP","addr_info":[{"family":"inet","local":"192.168.0.2","prefixlen":24,"scope":"global"}]},
 {"ifindex":3,"ifname":"cni0","flags":["UP"],"operstate":"UP","addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":8,"scope":"global"}]}]"#;
    const ROUTES: &str = r#"[
 {"dst":"default","gateway":"192.168.0.1","dev":"eth0","table":"main"},
 {"dst":"192.168.0.0/24","dev":"eth0","prefsrc":"192.168.0.2","scope":"link","table":"main"},
 {"dst":"10.0.0.0/8","dev":"cni0","prefsrc":"10.0.0.1","scope":"link","table":"main"}]"#;
    let mut host = Host::default();
    let read = |text: &str| SourceFile::new("bench", text);
    host.interfaces = frontends::host::iproute::parse_addrs(&read(ADDRS)).expect("ip -j addr");
    host.routes = frontends::host::iproute::parse_routes(&read(ROUTES), false).expect("routes");
    host.sysctls
        .0
        .insert("net.ipv4.ip_forward".into(), "1".into());
    host.known.addresses = true;
    host.known.routes = true;
    host.known.sysctls = true;
    host
}

/// Pods calling services' first ports, alternately one without and one with endpoints.
fn pod_calls(cluster: &Cluster, count: usize) -> Vec<Packet> {
    let (empty, served): (Vec<_>, Vec<_>) = cluster
        .services
        .iter()
        .partition(|s| s.endpoints.is_empty());
    let mut services = empty.iter().zip(&served).flat_map(|(a, b)| [*a, *b]);
    (0..count)
        .map_while(|i| {
            let s = services.next()?;
            let p = &s.ports[0];
            let sport = 40_000 + i as u16;
            let l4 = match p.proto {
                Proto::Tcp => L4::Tcp {
                    sport,
                    dport: p.port,
                    flags: TcpFlags::SYN,
                },
                Proto::Udp => L4::Udp {
                    sport,
                    dport: p.port,
                },
            };
            let mut packet = Packet::new("10.0.0.2".parse().ok()?, IpAddr::V4(s.cluster_ip), l4);
            packet.iif = Some("cni0".into());
            Some(packet)
        })
        .collect()
}

fn main() {
    let packets: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(DEFAULT_PACKETS);
    let (label, path, family) = TUM_RULESETS[0];
    match corpus_source(path) {
        None => eprintln!("SKIP {label}: ../shared/corpus/{path} is absent"),
        Some(source) => {
            let parse = |s: &SourceFile| frontends::iptables_save::parse(s, Some(family));
            if let Some(ruleset) = parse_and_recognise(label, &source, parse) {
                let stream = varied_packets(&ruleset, family == Family::Ip6, packets, 42);
                measure(label, &ruleset, &Host::default(), &stream);
            }
        }
    }
    let label = "kube-proxy 10k services";
    let cluster = Cluster::generate(1, KUBE_SERVICES);
    let source = SourceFile::new("kube.rules", cluster.iptables_save());
    let parse = |s: &SourceFile| frontends::iptables_save::parse(s, Some(Family::Ip));
    if let Some(ruleset) = parse_and_recognise(label, &source, parse) {
        measure(label, &ruleset, &kube_node(), &pod_calls(&cluster, packets));
    }
}
