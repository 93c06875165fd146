//! The path-MTU captures (recorded by scripts/make-pmtu-captures.sh in network namespaces:
//! client 10.1.1.2 -- firewall -- router 10.1.2.2, whose link to the server 10.1.0.2 has an
//! MTU of 1400), each told as it happened: a black hole when the router's "fragmentation
//! needed" never reaches the client's side, a sender that does not take it when it does,
//! the error lost between the two interfaces of a two-sided capture, and nothing when the
//! client takes it and recovers.

use evidence::capture::{analyze, CaptureAnalysis, Options};
use evidence::classify::Symptom;
use evidence::pmtu::{PmtuVerdict, TooBigFate};
use evidence::tls::Side;
use std::path::Path;

fn load(file: &str) -> CaptureAnalysis {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pcap-pmtu");
    let bytes = std::fs::read(path.join(file)).unwrap();
    let a = analyze(&bytes[..], &Options::default(), &mut |_| {}).unwrap();
    assert!(a.stopped_by.is_none(), "{file}: {:?}", a.stopped_by);
    a
}

/// The one finding of the capture, a black hole.
fn black_hole(file: &str) -> PmtuVerdict {
    let a = load(file);
    assert_eq!(
        (a.failed, a.findings.len()),
        (1, 1),
        "{file}: {:#?}",
        a.findings
    );
    match &a.findings[0].symptom {
        Symptom::PmtuBlackHole(v) => v.clone(),
        other => panic!("{file}: {other:?}"),
    }
}

/// What every black hole of these captures shares: the client's first full-size segment
/// (1448 bytes, 1500 on the wire, under the server's MSS of 1460), its 100-byte hello
/// acknowledged, the 1200-byte tail that got through drawing a duplicate ACK.
fn assert_the_clients_first_full_size_segment(v: &PmtuVerdict) {
    assert_eq!(v.sender, Side::Client);
    assert_eq!((v.seq, v.len, v.ip_len), (101, 1448, 1500));
    assert_eq!(v.receiver_mss, Some(1460));
    assert_eq!(v.largest_acked, Some((100, 152)));
    assert!(v.dup_acks >= 1, "{v:?}");
    // The first sending, the fast retransmission, then the timeouts (0.2, 0.6, 1.4, 3 s).
    assert!(v.sends >= 5, "{v:?}");
    assert!(v.span_ns >= 2_500_000_000, "{v:?}");
}

#[test]
fn the_error_dropped_by_the_router_is_a_black_hole() {
    let v = black_hole("pmtu-black-hole.pcap");
    assert_the_clients_first_full_size_segment(&v);
    assert_eq!(v.too_big, TooBigFate::NotCaptured);
}

#[test]
fn the_error_captured_and_not_taken_by_the_client() {
    let v = black_hole("pmtu-not-taken.pcap");
    assert_the_clients_first_full_size_segment(&v);
    match v.too_big {
        TooBigFate::NotTaken { error, sends_after } => {
            assert_eq!(error.from, "10.1.2.2".parse::<std::net::IpAddr>().unwrap());
            assert_eq!((error.v6, error.mtu), (false, 1400));
            // One error for each full-size segment that reached the router.
            assert!(error.count >= 5, "{error:?}");
            assert_eq!(sends_after, v.sends - 1);
        }
        other => panic!("{other:?}"),
    }
}

/// The same over IPv6: the ICMPv6 packet too big carries its MTU in 32 bits, the MSS is 20
/// bytes smaller (1440: 1428 bytes of data under the timestamps).
#[test]
fn the_icmpv6_error_captured_and_not_taken_by_the_client() {
    let v = black_hole("pmtu6-not-taken.pcap");
    assert_eq!(
        (v.sender, v.seq, v.len, v.ip_len),
        (Side::Client, 101, 1428, 1500)
    );
    assert_eq!(v.receiver_mss, Some(1440));
    assert_eq!(v.largest_acked, Some((100, 172)));
    assert!(v.dont_fragment, "IPv6 routers never fragment");
    match v.too_big {
        TooBigFate::NotTaken { error, sends_after } => {
            assert_eq!(error.from, "fd00:3::2".parse::<std::net::IpAddr>().unwrap());
            assert_eq!((error.v6, error.mtu), (true, 1400));
            assert_eq!(sends_after, v.sends - 1);
        }
        other => panic!("{other:?}"),
    }
}

/// The firewall between drops every ICMP it forwards: the error is on its wan0, not on its
/// lan0, and each segment is counted once though both interfaces hold it.
#[test]
fn the_error_seen_on_one_side_of_the_firewall_only() {
    let a = load("pmtu-one-side.pcapng");
    let names: Vec<_> = a.interfaces.iter().map(|i| i.name.as_deref()).collect();
    assert_eq!(names, [Some("lan0"), Some("wan0")]);
    let v = black_hole("pmtu-one-side.pcapng");
    assert_the_clients_first_full_size_segment(&v);
    assert!(v.sends < 10, "each segment counted on one interface: {v:?}");
    match v.too_big {
        TooBigFate::OneSideOnly {
            error,
            seen_on,
            missing_on,
        } => {
            assert_eq!(error.mtu, 1400);
            assert_eq!((seen_on, missing_on), (vec![1], vec![0]));
        }
        other => panic!("{other:?}"),
    }
}

/// The client takes the error, sends smaller segments, and all are acknowledged: no black
/// hole; the error itself stays a suspicious finding (a path-MTU signal), nothing failed.
#[test]
fn the_error_taken_is_no_black_hole() {
    let a = load("pmtu-recovers.pcap");
    assert_eq!(a.failed, 0, "{:#?}", a.findings);
    assert!(
        a.findings
            .iter()
            .all(|f| matches!(&f.symptom, Symptom::IcmpError(v) if v.is_pmtu())),
        "{:#?}",
        a.findings
    );
}
