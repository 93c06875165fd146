//! MSS clamping as a fix, with the kernel as judge: behind a tunnel-like link of MTU 1400
//! whose "fragmentation needed" the client's firewall drops (a path-MTU black hole), the
//! walk says the full-size data fails, and `network::fix` proposes clamping the MSS on the
//! router; the same topology built in namespaces, with 100 kB written, delivers nothing
//! without the clamp and everything with it, as the walk says.
#![cfg(target_os = "linux")]
#![allow(clippy::print_stderr)]

use model::topology::Topology;
use model::{Family, Packet, TcpFlags, L4};
use network::fix::Change;
use network::{Outcome, Query};
use oracle::topology::{TcpProbe, TcpSeen, TestNetwork};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use testgen::kernel_tests::{assert_no_namespaces_of_this_process, kernel_tests_enabled};
use testgen::topology::tunnel_between_routers;

/// The client takes TCP of its established connections and no ICMP.
const CLIENT_NO_ICMP: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp -m state --state ESTABLISHED -j ACCEPT\nCOMMIT\n";

const BYTES: usize = 100_000;

/// The cases run one at a time, so each can check that no `wb*` namespace of this process
/// is left once its network is dropped.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn query() -> Query {
    Query {
        size: Some(1500),
        ..Query::new(
            0,
            Packet::new(
                "10.0.1.2".parse().unwrap(),
                "10.0.2.2".parse().unwrap(),
                L4::Tcp {
                    sport: 40000,
                    dport: 443,
                    flags: TcpFlags::SYN,
                },
            ),
        )
    }
}

/// What the kernel delivers of `BYTES` written from the client to the server.
fn delivered(t: &Topology) -> (usize, usize) {
    let t0 = Instant::now();
    let mut net = TestNetwork::build(t).expect("the topology builds");
    let probe = TcpProbe {
        dst: "10.0.2.2:443".parse().unwrap(),
        listener: Some("server".to_string()),
        write: BYTES,
        timeout: Duration::from_secs(3),
    };
    let seen = net.tcp("client", &probe).expect("the probe runs");
    drop(net);
    assert_no_namespaces_of_this_process();
    eprintln!("  kernel: {:?} in {:?}", seen.seen, t0.elapsed());
    match seen.seen {
        TcpSeen::Connected { written, delivered } => (written, delivered),
        other => panic!("the handshake must work: {other:?}"),
    }
}

#[test]
fn mss_clamping_on_the_router_cures_the_black_hole_as_the_walk_proves() {
    if !kernel_tests_enabled("mss_clamping_on_the_router_cures_the_black_hole") {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (mut n, [client, r1, _, _]) = tunnel_between_routers();
    n.iptables(client, Family::Ip, CLIENT_NO_ICMP);
    let hole = n.build();

    // The walk: the full-size segment fails; the fix names the clamp on r1, proven.
    let walked = network::walk(&hole, &query());
    assert!(
        matches!(walked.outcome, Outcome::Fails { .. }),
        "{walked:#?}"
    );
    let fix = network::fix::fix(&hole, &query(), &walked).expect("a fix");
    let clamp = fix.alternative.as_ref().expect("the MSS clamp");
    assert_eq!(hole.nodes[clamp.node].name, "r1");
    let Change::ClampMss { line } = &clamp.change else {
        panic!("{:?}", clamp.change)
    };
    assert_eq!(
        clamp.proof.as_ref().map(|p| p.outcome.clone()),
        Some(Outcome::Works)
    );

    // The kernel: nothing arrives without the clamp ...
    let (_, got) = delivered(&hole);
    assert_eq!(got, 0, "the black hole delivers nothing");

    // ... and everything with the rule the fix gives, on r1.
    let mangle = format!(
        "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n{line}\nCOMMIT\n"
    );
    n.iptables(r1, Family::Ip, &mangle);
    let clamped = n.build();
    assert_eq!(network::walk(&clamped, &query()).outcome, Outcome::Works);
    let (written, got) = delivered(&clamped);
    assert_eq!(got, written, "with the clamp every byte arrives");
    assert!(got >= BYTES, "{got} of {BYTES}");
}

/// The clamp as the answer words it for a host whose firewall is nft's: the table it says
/// to keep in /etc/nftables.conf, loaded on r1, cures the black hole in the walk and in the
/// kernel alike.
#[test]
fn the_nft_wording_of_the_clamp_cures_it_too() {
    if !kernel_tests_enabled("the_nft_wording_of_the_clamp_cures_it_too") {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (mut n, [client, r1, _, _]) = tunnel_between_routers();
    n.iptables(client, Family::Ip, CLIENT_NO_ICMP);
    n.nft(
        r1,
        "table inet mss_clamp { chain forward { type filter hook forward priority mangle; tcp flags syn tcp option maxseg size set rt mtu; }; }\n",
    );
    let clamped = n.build();
    assert_eq!(network::walk(&clamped, &query()).outcome, Outcome::Works);
    let (written, got) = delivered(&clamped);
    assert_eq!(got, written, "with the nft clamp every byte arrives");
    assert!(got >= BYTES, "{got} of {BYTES}");
}
