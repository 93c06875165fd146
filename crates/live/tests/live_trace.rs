//! `whyblocked trace` on a live (namespace) host: the tracer runs inside a router namespace
//! on a thread that joined it; packets come from the peers.
#![allow(clippy::print_stderr)]
mod common;

use common::Seen;
use live::tracer::{self, Selector};
use model::kernel_walk::KernelFate;
use model::{Family, Packet, SourceFile};
use oracle::inject::Injector;
use oracle::netns::{Plan, TestHost};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RULES: &str = "\
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i lan0 -p tcp --dport 1222 -j DNAT --to-destination 10.1.0.10:22
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p tcp --dport 22 -j ACCEPT
-A FORWARD -p tcp --dport 23 -j DROP
-A FORWARD -p tcp --dport 24 -j REJECT --reject-with tcp-reset
-A FORWARD -p udp --dport 9999 -j ACCEPT
COMMIT
";

fn fwd(dport: u16) -> Packet {
    common::tcp(
        "10.1.1.2",
        30000 + dport,
        "10.1.0.10",
        dport,
        "S",
        Some("lan0"),
        Some("wan0"),
    )
}

fn udp(sport: u16) -> Packet {
    common::udp(
        "10.1.1.2",
        sport,
        "10.1.0.10",
        9999,
        Some("lan0"),
        Some("wan0"),
    )
}

fn lab() -> TestHost {
    let host = TestHost::build(&Plan::new(&common::router(), &[fwd(22), udp(1)])).unwrap();
    oracle::load::load(
        host.router.name(),
        &SourceFile::new("rules.v4", RULES),
        Family::Ip,
    )
    .unwrap();
    host
}

fn trace_table_exists(host: &TestHost) -> bool {
    host.router
        .exec("nft", &["list", "tables"], None)
        .map(|t| t.contains(live::TRACE_TABLE))
        .unwrap_or(false)
}

type Traced = Arc<Mutex<Vec<Seen>>>;

/// Starts the tracer in the router namespace; returns once its table is in place.
fn start(
    host: &TestHost,
    sel: Selector,
    o: tracer::Options,
) -> (
    Traced,
    std::thread::JoinHandle<Result<tracer::Summary, live::LiveError>>,
) {
    let seen: Traced = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let ns = host.router.name().to_string();
    let h = std::thread::spawn(move || {
        tracer::run_in(
            &ns,
            sel,
            o,
            Box::new(move |p: &_, rs: &_| sink.lock().unwrap().push(Seen::new(p, rs))),
        )
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !trace_table_exists(host) {
        assert!(Instant::now() < deadline, "the trace table never appeared");
        assert!(!h.is_finished(), "the tracer stopped early: {:?}", h.join());
        std::thread::sleep(Duration::from_millis(20));
    }
    (seen, h)
}

fn by_dport(seen: &[Seen], dport: u16) -> &Seen {
    seen.iter()
        .find(|p| p.headers.ports.map(|x| x.1) == Some(dport))
        .unwrap_or_else(|| {
            panic!(
                "no traced packet to port {dport}: {:#?}",
                seen.iter().map(|p| p.render_text()).collect::<Vec<_>>()
            )
        })
}

#[test]
fn trace_shows_accepted_dropped_rejected_and_natted_packets_with_their_rules() {
    if !common::kernel_tests_enabled(
        "trace_shows_accepted_dropped_rejected_and_natted_packets_with_their_rules",
    ) {
        return;
    }
    let host = lab();
    let sel = Selector::parse(&["tcp", "any", "any", "in", "lan0"].map(String::from)).unwrap();
    let o = tracer::Options {
        count: 4,
        timeout: Duration::from_secs(15),
        rate: 50,
        compare: true,
        stop: None,
        catch_signals: false,
    };
    let (seen, h) = start(&host, sel, o);
    let inj = Injector::new(&host).unwrap();
    let dnat = common::tcp("10.1.1.2", 31222, "10.1.1.1", 1222, "S", Some("lan0"), None);
    for (i, p) in [fwd(22), fwd(23), fwd(24), dnat].iter().enumerate() {
        inj.send(p, 0x6100 + i as u32).unwrap();
    }
    let summary = h.join().unwrap().unwrap();
    eprintln!("{summary:?}");
    assert!(
        !trace_table_exists(&host),
        "the trace table outlived a normal exit"
    );
    let seen = seen.lock().unwrap();
    for p in seen.iter() {
        eprintln!("{}", p.render_text());
    }
    assert_eq!(seen.len(), 4);

    let a = by_dport(&seen, 22);
    assert_eq!(a.kernel.fate, KernelFate::Forwarded { oif: "wan0".into() });
    let rule = a
        .json
        .path
        .iter()
        .find(|s| {
            s.text
                .as_deref()
                .is_some_and(|t| t.contains("--dport 22 -j ACCEPT"))
        })
        .unwrap_or_else(|| panic!("{}", a.render_text()));
    // The line of the rule in the host's own `iptables-save` (read at start).
    assert!(
        rule.at
            .as_deref()
            .is_some_and(|at| at.starts_with("live[iptables-save.txt]:")),
        "{:?}",
        rule.at
    );

    let d = by_dport(&seen, 23);
    assert!(
        matches!(d.kernel.fate, KernelFate::Dropped { .. }),
        "{}",
        d.render_text()
    );
    assert!(
        d.render_text().contains("--dport 23 -j DROP"),
        "{}",
        d.render_text()
    );
    assert!(
        d.sender.as_deref().is_some_and(|s| s.contains("silence")),
        "{:?}",
        d.sender
    );

    let r = by_dport(&seen, 24);
    assert!(
        matches!(r.kernel.fate, KernelFate::Rejected { .. }),
        "{}",
        r.render_text()
    );
    assert!(
        r.render_text()
            .contains("-j REJECT --reject-with tcp-reset"),
        "{}",
        r.render_text()
    );
    assert!(
        r.sender
            .as_deref()
            .is_some_and(|s| s.contains("TCP RST") && s.contains("ECONNREFUSED")),
        "{:?}",
        r.sender
    );

    let n = by_dport(&seen, 1222);
    assert!(
        n.render_text()
            .contains("-j DNAT --to-destination 10.1.0.10:22"),
        "{}",
        n.render_text()
    );
    let after = n.kernel.final_headers.expect("headers after NAT");
    assert_eq!(after.dst, "10.1.0.10".parse::<std::net::IpAddr>().unwrap());
    assert_eq!(after.ports.map(|p| p.1), Some(22));
    assert_eq!(n.kernel.fate, KernelFate::Forwarded { oif: "wan0".into() });
    // DNAT needs conntrack: its NEW event is joined by CT_ID.
    assert!(
        !n.conntrack.is_empty(),
        "no conntrack event joined: {}",
        n.render_text()
    );

    // --compare: the offline simulation agrees on all four.
    for p in seen.iter() {
        let o = p.offline.as_ref().expect("--compare result");
        assert!(
            p.divergence.is_none() && !o.unknown,
            "divergence: {}",
            p.render_text()
        );
    }
}

#[test]
fn the_rate_limit_holds_and_other_traffic_is_untouched() {
    if !common::kernel_tests_enabled("the_rate_limit_holds_and_other_traffic_is_untouched") {
        return;
    }
    let host = lab();
    let inj = Injector::new(&host).unwrap();
    // Rule text -> packets, from `iptables-save -c` in the router.
    let counters = || -> Vec<(String, u64)> {
        let t = host.router.exec("iptables-save", &["-c"], None).unwrap();
        t.lines()
            .filter_map(|l| {
                let (c, rule) = l.strip_prefix('[')?.split_once("] ")?;
                Some((rule.to_string(), c.split(':').next()?.parse().ok()?))
            })
            .collect()
    };
    let delta = |a: &[(String, u64)], b: &[(String, u64)]| -> Vec<(String, u64)> {
        b.iter()
            .zip(a)
            .map(|((t, n1), (_, n0))| (t.clone(), n1 - n0))
            .filter(|(_, d)| *d > 0)
            .collect()
    };
    // Other traffic (TCP 22/23/24) without tracing: the counter deltas it causes.
    let other = || {
        for (i, d) in [22u16, 23, 24].iter().enumerate() {
            inj.send(&fwd(*d), 0x6200 + i as u32).unwrap();
        }
    };
    let c0 = counters();
    other();
    let c1 = counters();
    let plain = delta(&c0, &c1);

    let sel = Selector::parse(&["udp", "any", "any:9999", "in", "lan0"].map(String::from)).unwrap();
    let o = tracer::Options {
        count: 1000,
        timeout: Duration::from_secs(4),
        rate: 10,
        compare: false,
        stop: None,
        catch_signals: false,
    };
    let (seen, h) = start(&host, sel, o);
    let c2 = counters();
    other();
    let t0 = Instant::now();
    for i in 0..100u16 {
        inj.send(&udp(20000 + i), 0x6300 + u32::from(i)).unwrap();
        std::thread::sleep(Duration::from_millis(9));
    }
    let sent_in = t0.elapsed();
    let c3 = counters();
    let summary = h.join().unwrap().unwrap();
    let traced = seen.lock().unwrap().len();
    eprintln!("100 packets in {sent_in:?}: {traced} traced; {summary:?}");
    assert!(traced >= 5, "the selector traced too little: {traced}");
    // The trace rule is `limit rate 10/second burst 10 packets`: a full bucket, then ten a
    // second while the packets arrive (a loaded machine sends slower, so more get through).
    let allowed = 10 + (10.0 * sent_in.as_secs_f64()).ceil() as usize + 1;
    assert!(
        traced <= allowed,
        "rate 10/s burst 10 let {traced} of 100 packets through in {sent_in:?} (at most {allowed})"
    );
    assert!(!trace_table_exists(&host));

    // With tracing on, TCP 22/23/24 moved exactly the same counters (and so took the
    // same paths); the UDP packets moved only their own rule, by all 100.
    let traced_delta = delta(&c2, &c3);
    let tcp_only: Vec<_> = traced_delta
        .iter()
        .filter(|d| !d.0.contains("9999"))
        .cloned()
        .collect();
    assert_eq!(tcp_only, plain);
    assert!(!plain.is_empty());
    let udp_rule = traced_delta.iter().find(|d| d.0.contains("9999")).unwrap();
    assert_eq!(udp_rule.1, 100);
}

/// `RUNS` TCP connections over `lo` inside namespace `ns`: each a handshake, a request, an
/// answer and the close of both ends.
fn tcp_exchanges(ns: &str, runs: usize) {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    netlink::sys::in_netns(ns, move || {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = std::thread::spawn(move || -> std::io::Result<()> {
            for _ in 0..runs {
                let (mut s, _) = listener.accept()?;
                s.set_read_timeout(Some(Duration::from_secs(5)))?;
                let mut req = [0u8; 4];
                s.read_exact(&mut req)?;
                s.write_all(b"pong")?;
            }
            Ok(())
        });
        for _ in 0..runs {
            let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
            c.set_read_timeout(Some(Duration::from_secs(5)))?;
            c.write_all(b"ping")?;
            let mut answer = [0u8; 4];
            c.read_exact(&mut answer)?;
            assert_eq!(&answer, b"pong");
        }
        server
            .join()
            .map_err(|_| std::io::Error::other("server thread panicked"))?
    })
    .unwrap();
}

#[test]
fn a9_every_packet_of_traced_tcp_exchanges_is_shown_though_trace_ids_repeat() {
    if !common::kernel_tests_enabled(
        "a9_every_packet_of_traced_tcp_exchanges_is_shown_though_trace_ids_repeat",
    ) {
        return;
    }
    let host = TestHost::for_packets(&model::Host::default(), &[]).unwrap();
    let r = &host.router;
    r.exec("ip", &["link", "set", "lo", "up"], None).unwrap();
    // The kernel's own count of the packets sent: every TCP packet leaves through OUTPUT.
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 -A OUTPUT -p tcp -j ACCEPT\nCOMMIT\n";
    r.exec("iptables-restore", &[], Some(rules.as_bytes()))
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let o = tracer::Options {
        count: 10_000,
        timeout: Duration::from_secs(60),
        rate: 10_000,
        compare: false,
        stop: Some(Arc::clone(&stop)),
        catch_signals: false,
    };
    let sel = Selector::parse(&["tcp", "any", "any"].map(String::from)).unwrap();
    let (seen, h) = start(&host, sel, o);
    const RUNS: usize = 9;
    tcp_exchanges(host.router.name(), RUNS);
    // The last ACKs and FINs leave within milliseconds; then every walk is emitted.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let summary = h.join().unwrap().unwrap();
    let sent: u64 = r
        .exec("iptables-save", &["-c"], None)
        .unwrap()
        .lines()
        .find_map(|l| {
            let (c, rule) = l.strip_prefix('[')?.split_once("] ")?;
            (rule == "-A OUTPUT -p tcp -j ACCEPT")
                .then(|| c.split(':').next()?.parse().ok())
                .flatten()
        })
        .expect("the OUTPUT counter");
    let seen = seen.lock().unwrap();
    let flags: Vec<String> = seen
        .iter()
        .map(|p| match p.packet.packet.l4 {
            model::L4::Tcp { flags, .. } => format!("{flags:?}"),
            _ => "not TCP".into(),
        })
        .collect();
    eprintln!("{sent} TCP packets sent; shown: {flags:?}; {summary:?}");
    assert_eq!(
        (summary.lost, summary.not_shown),
        (0, 0),
        "traced packets were not shown"
    );
    assert_eq!(
        seen.len() as u64,
        sent,
        "every packet sent is shown: {flags:?}"
    );
    let syns = seen
        .iter()
        .filter(|p| p.headers.tcp_flags == Some(model::TcpFlags::SYN))
        .count();
    assert_eq!(syns, RUNS, "one SYN per connection: {flags:?}");
    assert!(!trace_table_exists(&host));
}
