//! `cargo bench -p whyblocked-bench --bench path [-- WALKS]`: the cost of `network::walk`
//! across a chain of hosts (a client, routers, a server), as a ratio to its baseline measured
//! in the same run: the one-host simulations of the same packets at every hop, done
//! directly (`engine::simulate_prepared` on each router's ruleset, prepared once, for the
//! request and the answer). What remains is the composition: conntrack entries carried
//! between hops, neighbour resolution, the answer built and walked back, each node's
//! ruleset prepared per walk.
//!
//! Each router has a FORWARD chain of `RULES` rules the flow does not match, then the
//! `ct state established` and port accepts it does.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use model::packet::IpProto;
use model::{Family, Packet, TcpFlags, L4};
use network::{HopKind, Outcome, Query};
use std::hint::black_box;
use std::time::{Duration, Instant};
use testgen::topology::Net;

/// Walks per chain length unless given on the command line.
const DEFAULT_WALKS: usize = 2_000;
/// Rules in each router's FORWARD chain.
const RULES: usize = 1_000;

fn forward_rules() -> String {
    let mut text =
        String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for i in 0..RULES {
        text.push_str(&format!(
            "-A FORWARD -s 192.0.2.{}/32 -p tcp --dport {} -j DROP\n",
            i % 250,
            1000 + i
        ));
    }
    text.push_str("-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n");
    text.push_str("-A FORWARD -p tcp --dport 443 -j ACCEPT\nCOMMIT\n");
    text
}

/// client -- r1 -- ... -- rN -- server, each link a /24 of 10.0.K.0.
fn chain(routers: usize) -> model::topology::Topology {
    let mut n = Net::new();
    let rules = forward_rules();
    let client = n.host("client");
    n.iface(client, "eth0", &["10.0.0.2/24"]).route(
        client,
        "default",
        Some("10.0.0.1"),
        Some("eth0"),
    );
    let mut left = (client, "eth0");
    for k in 0..routers {
        let r = n.host(&format!("r{}", k + 1));
        n.iface(r, "eth0", &[&format!("10.0.{k}.1/24")])
            .iface(r, "eth1", &[&format!("10.0.{}.254/24", k + 1)])
            .forwarding(r)
            .iptables(r, Family::Ip, &rules);
        if k > 0 {
            // Back toward the client, via the router before.
            n.route(
                r,
                "10.0.0.0/16",
                Some(&format!("10.0.{k}.254")),
                Some("eth0"),
            );
        }
        if k + 1 < routers {
            // On toward the server, via the router after.
            let server_net = format!("10.0.{routers}.0/24");
            n.route(
                r,
                &server_net,
                Some(&format!("10.0.{}.1", k + 1)),
                Some("eth1"),
            );
        }
        n.link(&format!("l{k}"), &[left, (r, "eth0")]);
        left = (r, "eth1");
    }
    let server = n.host("server");
    n.iface(server, "eth0", &[&format!("10.0.{routers}.2/24")])
        .route(
            server,
            "default",
            Some(&format!("10.0.{routers}.254")),
            Some("eth0"),
        )
        .listen(server, IpProto::Tcp, "0.0.0.0:443");
    n.link("last", &[left, (server, "eth0")]);
    n.build()
}

fn main() {
    let walks: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(DEFAULT_WALKS);
    println!(
        "{:<10} {:>6} {:>14} {:>16} {:>8}",
        "routers", "hops", "walk", "hop simulations", "ratio"
    );
    for routers in [1, 2, 4, 8] {
        let topo = chain(routers);
        let server_addr = format!("10.0.{routers}.2");
        let query = Query {
            bind: network::Bind::Address("10.0.0.2".parse().unwrap()),
            ..Query::new(
                0,
                Packet::new(
                    "10.0.0.2".parse().unwrap(),
                    server_addr.parse().unwrap(),
                    L4::Tcp {
                        sport: 40000,
                        dport: 443,
                        flags: TcpFlags::SYN,
                    },
                ),
            )
        };
        let walked = network::walk(&topo, &query);
        assert_eq!(
            walked.outcome,
            Outcome::Works,
            "the benchmark's chain must work"
        );
        // The baseline: the same hop packets, each simulated alone on its host.
        let hops: Vec<(usize, Packet, model::Host)> = walked
            .legs
            .iter()
            .flat_map(|l| &l.hops)
            .filter(|h| matches!(h.kind, HopKind::Linux { .. }))
            .map(|h| {
                let mut host = topo.nodes[h.node].host.clone();
                host.conntrack = h.conntrack.clone();
                host.known.conntrack = true;
                (h.node, h.packet.clone(), host)
            })
            .collect();
        let prepared: Vec<engine::Prepared> = topo
            .nodes
            .iter()
            .map(|n| engine::Prepared::new(&n.ruleset))
            .collect();
        let t = Instant::now();
        for _ in 0..walks {
            black_box(network::walk(&topo, &query));
        }
        let walk = t.elapsed();
        let t = Instant::now();
        for _ in 0..walks {
            for (node, packet, host) in &hops {
                black_box(engine::simulate_prepared(
                    &prepared[*node],
                    host,
                    packet,
                    &query.options,
                ));
            }
        }
        let baseline = t.elapsed();
        let per = |d: Duration| d.as_secs_f64() * 1e6 / walks as f64;
        println!(
            "{routers:<10} {:>6} {:>11.1} µs {:>13.1} µs {:>7.2}x",
            hops.len(),
            per(walk),
            per(baseline),
            walk.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}
