//! Malformed and unusual captures, one test per case: each ends in a clear error with the
//! byte offset, or the packet skipped and counted; never a panic. Plus the formats and
//! link types the fixtures do not cover (pcapng with several interfaces, both byte orders,
//! nanosecond pcap, Linux cooked captures, raw IP) and the bounded flow table.

use evidence::capture::{analyze, CaptureAnalysis, Options};
use evidence::pcap::{CaptureReader, ErrorKind, Format, LinkType, BUFFER_LEN};
use evidence::wire::Direction;

// ---- builders -------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum E {
    Le,
    Be,
}

fn u16b(e: E, v: u16) -> [u8; 2] {
    match e {
        E::Le => v.to_le_bytes(),
        E::Be => v.to_be_bytes(),
    }
}

fn u32b(e: E, v: u32) -> [u8; 4] {
    match e {
        E::Le => v.to_le_bytes(),
        E::Be => v.to_be_bytes(),
    }
}

fn pcap_header(e: E, nanos: bool, link: u32) -> Vec<u8> {
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut h = u32b(e, magic).to_vec();
    h.extend(u16b(e, 2));
    h.extend(u16b(e, 4));
    h.extend([0; 8]);
    h.extend(u32b(e, 262_144));
    h.extend(u32b(e, link));
    h
}

fn pcap_record(e: E, sec: u32, frac: u32, data: &[u8]) -> Vec<u8> {
    let mut r = u32b(e, sec).to_vec();
    r.extend(u32b(e, frac));
    r.extend(u32b(e, data.len() as u32));
    r.extend(u32b(e, data.len() as u32));
    r.extend(data);
    r
}

fn block(e: E, block_type: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    while body.len() & 3 != 0 {
        body.push(0);
    }
    let len = (body.len() + 12) as u32;
    let mut b = u32b(e, block_type).to_vec();
    b.extend(u32b(e, len));
    b.extend(body);
    b.extend(u32b(e, len));
    b
}

fn shb(e: E) -> Vec<u8> {
    let mut body = u32b(e, 0x1a2b_3c4d).to_vec();
    body.extend(u16b(e, 1));
    body.extend(u16b(e, 0));
    body.extend([0xff; 8]);
    block(e, 0x0a0d_0d0a, &body)
}

fn idb(e: E, link: u16, name: &str, tsresol: Option<u8>) -> Vec<u8> {
    let mut body = u16b(e, link).to_vec();
    body.extend([0, 0]);
    body.extend(u32b(e, 65535));
    body.extend(u16b(e, 2));
    body.extend(u16b(e, name.len() as u16));
    body.extend(name.as_bytes());
    while body.len() & 3 != 0 {
        body.push(0);
    }
    if let Some(r) = tsresol {
        body.extend(u16b(e, 9));
        body.extend(u16b(e, 1));
        body.extend([r, 0, 0, 0]);
    }
    body.extend([0, 0, 0, 0]);
    block(e, 1, &body)
}

fn epb(e: E, iface: u32, ts: u64, data: &[u8]) -> Vec<u8> {
    let mut body = u32b(e, iface).to_vec();
    body.extend(u32b(e, (ts >> 32) as u32));
    body.extend(u32b(e, ts as u32));
    body.extend(u32b(e, data.len() as u32));
    body.extend(u32b(e, data.len() as u32));
    body.extend(data);
    block(e, 6, &body)
}

/// IPv4 + TCP with the given flags (no options).
fn ipv4_tcp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags: u8, ttl: u8) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 40, 0, 1, 0x40, 0, ttl, 6, 0, 0];
    p.extend(src);
    p.extend(dst);
    p.extend(sport.to_be_bytes());
    p.extend(dport.to_be_bytes());
    p.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p
}

fn ether(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend(ip);
    f
}

fn syn() -> Vec<u8> {
    ipv4_tcp([10, 1, 1, 2], [10, 1, 0, 2], 1050, 2175, 0x02, 64)
}

fn run(bytes: &[u8]) -> CaptureAnalysis {
    analyze(bytes, &Options::default(), &mut |_| {}).unwrap()
}

fn open_err(bytes: &[u8]) -> evidence::pcap::CaptureError {
    match CaptureReader::new(bytes) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    }
}

// ---- malformed ------------------------------------------------------------------------

#[test]
fn empty_input_is_a_truncated_header() {
    let e = open_err(&[]);
    assert!(matches!(e.kind, ErrorKind::TruncatedHeader));
    assert_eq!(e.offset, 0);
}

#[test]
fn truncated_pcap_header() {
    let h = pcap_header(E::Le, false, 1);
    let e = open_err(&h[..10]);
    assert!(matches!(e.kind, ErrorKind::TruncatedHeader));
}

#[test]
fn not_a_capture_names_its_magic() {
    let e = open_err(b"GET / HTTP/1.1\r\n\r\n and more bytes");
    assert!(matches!(e.kind, ErrorKind::NotACapture { magic } if &magic == b"GET "));
    assert!(e.to_string().contains("not a pcap or pcapng file"));
}

#[test]
fn huge_caplen_stops_with_the_offset() {
    let mut f = pcap_header(E::Le, false, 1);
    f.extend(pcap_record(E::Le, 1, 0, &ether(&syn())));
    let at = f.len() as u64;
    f.extend(u32b(E::Le, 2));
    f.extend(u32b(E::Le, 0));
    f.extend(u32b(E::Le, 0x7fff_ffff));
    f.extend(u32b(E::Le, 60));
    f.extend([0u8; 64]);
    let a = run(&f);
    assert_eq!(a.read.frames, 1, "the record before is read");
    let e = a.stopped_by.unwrap();
    assert_eq!(e.offset, at);
    assert!(matches!(
        e.kind,
        ErrorKind::HugeCaplen {
            caplen: 0x7fff_ffff
        }
    ));
}

#[test]
fn truncated_record_ends_the_reading_and_is_noted() {
    let mut f = pcap_header(E::Le, false, 1);
    f.extend(pcap_record(E::Le, 1, 0, &ether(&syn())));
    let at = f.len() as u64;
    let rec = pcap_record(E::Le, 2, 0, &ether(&syn()));
    f.extend(&rec[..rec.len() - 5]);
    let a = run(&f);
    assert_eq!(a.read.frames, 1);
    assert_eq!(a.read.truncated_at, Some(at));
    assert!(a.stopped_by.is_none());
}

#[test]
fn truncated_record_header() {
    let mut f = pcap_header(E::Le, false, 1);
    f.extend([1, 2, 3]);
    let a = run(&f);
    assert_eq!(a.read.truncated_at, Some(24));
}

#[test]
fn pcapng_block_length_below_twelve() {
    let mut f = shb(E::Le);
    let at = f.len() as u64;
    f.extend(u32b(E::Le, 6));
    f.extend(u32b(E::Le, 8));
    f.extend([0; 8]);
    let a = run(&f);
    let e = a.stopped_by.unwrap();
    assert_eq!(e.offset, at);
    assert!(matches!(e.kind, ErrorKind::BadBlockLength { len: 8 }));
}

#[test]
fn pcapng_block_length_not_a_multiple_of_four() {
    let mut f = shb(E::Le);
    f.extend(u32b(E::Le, 6));
    f.extend(u32b(E::Le, 30));
    f.extend([0; 30]);
    let e = run(&f).stopped_by.unwrap();
    assert!(matches!(e.kind, ErrorKind::BadBlockLength { len: 30 }));
}

#[test]
fn pcapng_trailing_length_differs() {
    let mut f = shb(E::Le);
    f.extend(idb(E::Le, 1, "eth0", None));
    let mut b = epb(E::Le, 0, 0, &ether(&syn()));
    let n = b.len();
    b[n - 4..].copy_from_slice(&u32b(E::Le, 999));
    let at = f.len() as u64;
    f.extend(b);
    let e = run(&f).stopped_by.unwrap();
    assert_eq!(e.offset, at);
    assert!(matches!(e.kind, ErrorKind::BadBlockLength { .. }));
}

#[test]
fn pcapng_section_header_without_byte_order_magic() {
    let mut f = shb(E::Le);
    f[8..12].copy_from_slice(&[1, 2, 3, 4]);
    let e = run(&f).stopped_by.unwrap();
    assert_eq!(e.offset, 0);
    assert!(matches!(e.kind, ErrorKind::BadSectionHeader));
}

#[test]
fn pcapng_packet_on_an_undescribed_interface_is_skipped() {
    let mut f = shb(E::Le);
    f.extend(idb(E::Le, 1, "eth0", None));
    f.extend(epb(E::Le, 5, 0, &ether(&syn())));
    f.extend(epb(E::Le, 0, 0, &ether(&syn())));
    let a = run(&f);
    assert_eq!(a.read.skipped_packets, 1);
    assert_eq!(a.read.frames, 1);
}

#[test]
fn pcapng_caplen_beyond_its_block() {
    let mut f = shb(E::Le);
    f.extend(idb(E::Le, 1, "eth0", None));
    let mut b = epb(E::Le, 0, 0, &ether(&syn()));
    b[20..24].copy_from_slice(&u32b(E::Le, 5000));
    f.extend(b);
    let e = run(&f).stopped_by.unwrap();
    assert!(matches!(
        e.kind,
        ErrorKind::MalformedBlock { block_type: 6 }
    ));
}

#[test]
fn pcapng_packet_larger_than_the_buffer_is_skipped_and_reading_goes_on() {
    let mut f = shb(E::Le);
    f.extend(idb(E::Le, 1, "eth0", None));
    let big = vec![0u8; BUFFER_LEN + 100];
    f.extend(epb(E::Le, 0, 0, &big));
    f.extend(epb(E::Le, 0, 0, &ether(&syn())));
    let a = run(&f);
    assert_eq!(a.read.skipped_packets, 1);
    assert_eq!(a.read.frames, 1);
    assert_eq!(a.findings.len(), 1);
}

#[test]
fn pcapng_unknown_blocks_are_skipped() {
    let mut f = shb(E::Le);
    f.extend(idb(E::Le, 1, "eth0", None));
    f.extend(block(E::Le, 0x0000_0005, &[0; 20])); // interface statistics
    f.extend(block(E::Le, 0x0000_0bad, &[0; 8])); // custom
    f.extend(epb(E::Le, 0, 0, &ether(&syn())));
    let a = run(&f);
    assert_eq!(a.read.skipped_blocks, 2);
    assert_eq!(a.read.frames, 1);
}

#[test]
fn malformed_ip_headers_are_counted() {
    let mut f = pcap_header(E::Le, false, 1);
    let mut bad = syn();
    bad[0] = 0x4f; // IHL beyond the buffer
    f.extend(pcap_record(E::Le, 1, 0, &ether(&bad)));
    f.extend(pcap_record(E::Le, 1, 0, &[0u8; 5]));
    f.extend(pcap_record(E::Le, 1, 0, &[]));
    let a = run(&f);
    assert_eq!(a.packets.malformed, 3);
    assert!(a.findings.is_empty());
}

#[test]
fn unsupported_link_type_is_counted() {
    let mut f = pcap_header(E::Le, false, 147);
    f.extend(pcap_record(E::Le, 1, 0, &syn()));
    let a = run(&f);
    assert_eq!(a.packets.unsupported_link, 1);
}

/// Random bytes behind valid headers, with a small deterministic generator: no panic.
#[test]
fn random_bodies_never_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..600 {
        let len = (next() % 600) as usize;
        let noise: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let mut f = match i % 3 {
            0 => pcap_header(E::Le, false, 1),
            1 => pcap_header(E::Be, true, 276),
            _ => {
                let mut f = shb(E::Be);
                f.extend(idb(E::Be, 101, "x", Some(9)));
                f
            }
        };
        f.extend(&noise);
        let _ = analyze(&f[..], &Options::default(), &mut |_| {});
        // And valid records around noisy frames.
        let mut g = pcap_header(E::Le, false, (i % 5) as u32 * 50 + 1);
        g.extend(pcap_record(E::Le, 1, 0, &noise));
        let _ = analyze(&g[..], &Options::default(), &mut |_| {});
    }
}

// ---- formats and link types -----------------------------------------------------------

#[test]
fn pcapng_big_endian_with_two_named_interfaces() {
    let e = E::Be;
    let mut f = shb(e);
    f.extend(idb(e, 1, "lan0", Some(9)));
    f.extend(idb(e, 101, "tun0", None));
    f.extend(epb(e, 0, 1_500_000_000_123_456_789, &ether(&syn())));
    f.extend(epb(e, 1, 1_500_000_000_000_000, &syn()));
    let mut r = CaptureReader::new(&f[..]).unwrap();
    assert_eq!(r.format(), Format::Pcapng);
    let a = r.next_frame().unwrap().unwrap();
    assert_eq!((a.interface, a.link), (0, LinkType::Ethernet));
    assert_eq!(a.timestamp_ns, 1_500_000_000_123_456_789);
    let (ts, link, iface) = {
        let b = r.next_frame().unwrap().unwrap();
        (b.timestamp_ns, b.link, b.interface)
    };
    assert_eq!((iface, link), (1, LinkType::Raw));
    assert_eq!(ts, 1_500_000_000_000_000_000, "microseconds by default");
    assert!(r.next_frame().unwrap().is_none());
    assert_eq!(r.interfaces()[0].name.as_deref(), Some("lan0"));
    assert_eq!(r.interfaces()[1].name.as_deref(), Some("tun0"));
}

#[test]
fn pcapng_second_section_restarts_interfaces() {
    let mut f = shb(E::Le);
    f.extend(idb(E::Le, 1, "a", None));
    f.extend(shb(E::Be));
    f.extend(idb(E::Be, 101, "b", None));
    f.extend(epb(E::Be, 0, 0, &syn()));
    let mut r = CaptureReader::new(&f[..]).unwrap();
    let fr = r.next_frame().unwrap().unwrap();
    assert_eq!((fr.interface, fr.link), (1, LinkType::Raw));
}

#[test]
fn pcap_big_endian_nanoseconds() {
    let mut f = pcap_header(E::Be, true, 101);
    f.extend(pcap_record(E::Be, 7, 123_456_789, &syn()));
    let mut r = CaptureReader::new(&f[..]).unwrap();
    let fr = r.next_frame().unwrap().unwrap();
    assert_eq!(fr.timestamp_ns, 7_123_456_789);
    assert_eq!(fr.link, LinkType::Raw);
}

#[test]
fn linux_cooked_v1_and_v2_tell_the_direction() {
    // SLL v1, outgoing.
    let mut sll = vec![0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
    sll.extend(syn());
    let mut f = pcap_header(E::Le, false, 113);
    f.extend(pcap_record(E::Le, 1, 0, &sll));
    let a = run(&f);
    assert_eq!(a.findings[0].direction, Some(Direction::Sent));
    // SLL v2, received.
    let mut sll2 = vec![
        0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0,
    ];
    sll2.extend(syn());
    let mut f = pcap_header(E::Le, false, 276);
    f.extend(pcap_record(E::Le, 1, 0, &sll2));
    let a = run(&f);
    assert_eq!(a.findings[0].direction, Some(Direction::Received));
    assert_eq!(a.findings[0].symptom.kind(), "syn_unanswered");
}

/// A reader over a `Read` that hands out a few bytes at a time: records straddling reads.
#[test]
fn short_reads_are_reassembled() {
    struct Dribble<'a>(&'a [u8]);
    impl std::io::Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let mut f = pcap_header(E::Le, false, 1);
    for i in 0..50u16 {
        f.extend(pcap_record(
            E::Le,
            1,
            u32::from(i),
            &ether(&ipv4_tcp(
                [10, 0, 0, 1],
                [10, 0, 0, 2],
                1000 + i,
                80,
                0x02,
                64,
            )),
        ));
    }
    let a = analyze(Dribble(&f), &Options::default(), &mut |_| {}).unwrap();
    assert_eq!(a.read.frames, 50);
    assert_eq!(a.findings.len(), 50);
}

/// More flows than the table holds: the longest idle are classified early, none is lost.
#[test]
fn flow_table_is_bounded_and_evicts_the_oldest() {
    let mut f = pcap_header(E::Le, false, 101);
    for i in 0..1000u32 {
        let port = 10_000 + i as u16;
        f.extend(pcap_record(
            E::Le,
            i,
            0,
            &ipv4_tcp([10, 0, 0, 1], [10, 0, 0, 2], port, 443, 0x02, 64),
        ));
    }
    let options = Options {
        max_flows: 64,
        max_findings: 100,
        ..Options::default()
    };
    let a = analyze(&f[..], &options, &mut |_| {}).unwrap();
    assert_eq!(a.table.flows, 1000);
    assert!(a.table.evicted >= 900, "{}", a.table.evicted);
    assert_eq!(a.findings.len() as u64 + a.findings_not_kept, 1000);
    assert_eq!(a.findings.len(), 100);
}
