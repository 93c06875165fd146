//! pcap and pcapng captures on arbitrary bytes: the reader, the decoder, the flow table,
//! TLS and the classification, with a tiny flow table so eviction runs too; and the same
//! bytes behind a valid header of each format, so the fuzzer reaches the records quickly.
#![no_main]
use evidence::capture::{analyze, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = Options {
        max_flows: 16,
        max_findings: 64,
        max_evicted_remembered: 32,
    };
    let _ = analyze(data, &options, &mut |_| {});
    // Classic pcap, Ethernet, then the bytes as records.
    let mut f = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    f.extend([0, 0, 4, 0, 1, 0, 0, 0]);
    f.extend(data);
    let _ = analyze(&f[..], &options, &mut |_| {});
    // pcapng: a section header, then the bytes as blocks.
    let mut g = vec![
        0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,
    ];
    g.extend([0xff; 8]);
    g.extend([28, 0, 0, 0]);
    g.extend(data);
    let _ = analyze(&g[..], &options, &mut |_| {});
    // Every frame decoder on the raw bytes.
    for link in [0u32, 1, 9, 101, 113, 228, 229, 276] {
        let _ = evidence::wire::decode(evidence::pcap::LinkType::from_raw(link), data);
    }
});
