//! Issue 11 A7: a capture's counts are true whatever the bounds of the flow table and the
//! findings list. The captures are written here (`testgen::capture`), the bounds made small
//! (`--max-flows`, the hidden `--max-findings`) so thousands of flows reach them.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use testgen::capture::{tcp, PcapWriter};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 2);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);

/// Writes `bytes` to a file of this test and runs `whyblocked pcap FILE ARGS`: (exit code,
/// stdout). The file is removed afterwards.
fn pcap(tag: &str, bytes: &[u8], args: &[&str]) -> (Option<i32>, String) {
    let path: PathBuf =
        std::env::temp_dir().join(format!("wb-a7-{tag}-{}.pcap", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .arg("pcap")
        .arg(&path)
        .args(args)
        .output()
        .expect("run whyblocked");
    let _ = std::fs::remove_file(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The summary lines before the flow table, the file name made stable.
fn head(text: &str) -> String {
    text.lines()
        .take_while(|l| !l.is_empty())
        .map(|l| match l.split_once(".pcap (") {
            Some((_, rest)) => format!("capture   FILE.pcap ({rest}"),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `n` connections whose SYN is never answered (one SYN each).
fn unanswered_syns(n: u16) -> Vec<u8> {
    let mut w = PcapWriter::new();
    for i in 0..n {
        w.tcp((CLIENT, 20_000 + i), (SERVER, 80), tcp::SYN, 0);
    }
    w.into_bytes()
}

/// `n` connections, their packets interleaved round by round (handshake, then data both
/// ways), as on a busy link: with a small table each is evicted while open and seen again.
fn interleaved_connections(n: u16) -> Vec<u8> {
    let mut w = PcapWriter::new();
    let c = |i: u16| (CLIENT, 20_000 + i);
    let s = (SERVER, 443);
    for i in 0..n {
        w.tcp(c(i), s, tcp::SYN, 0);
    }
    for i in 0..n {
        w.tcp(s, c(i), tcp::SYN | tcp::ACK, 0);
    }
    for i in 0..n {
        w.tcp(c(i), s, tcp::ACK, 100);
    }
    for i in 0..n {
        w.tcp(s, c(i), tcp::ACK, 1000);
    }
    w.into_bytes()
}

#[test]
fn a7_failed_flows_beyond_the_findings_table_are_counted_not_capped() {
    let bytes = unanswered_syns(300);
    let (code, text) = pcap(
        "capped",
        &bytes,
        &["--max-findings", "100", "--no-progress"],
    );
    assert_eq!(code, Some(1), "{text}");
    insta::assert_snapshot!(head(&text), @r"
    capture   FILE.pcap (pcap, Ethernet): 300 frames, 300 flows over 0.3 s
    flows     300 failed (100 shown; the table keeps 100), 0 suspicious, 0 fine
    ");
    assert!(
        text.contains("... and 200 more failed or suspicious flows not kept (the table keeps 100)"),
        "{text}"
    );
    let (_, json) = pcap("capped-json", &bytes, &["--max-findings", "100", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["flows"]["failed"], 300);
    assert_eq!(v["flows"]["not_listed"], 200);
    assert_eq!(v["flows"]["listed_at_most"], 100);
    assert_eq!(v["findings"].as_array().unwrap().len(), 100);
}

#[test]
fn a7_evicted_flows_are_counted_once_and_never_called_fine() {
    let n = 2000;
    let bytes = interleaved_connections(n);
    let (code, text) = pcap("evicted", &bytes, &["--max-flows", "64", "--no-progress"]);
    // Nothing failed: the connections' fates are unknown, not failures.
    assert_eq!(code, Some(0), "{text}");
    insta::assert_snapshot!(head(&text), @r"
    capture   FILE.pcap (pcap, Ethernet): 8000 frames, 2000 flows over 8.0 s
    flows     0 failed, 0 suspicious, 0 fine
    note      7936 flows classified early to keep memory bounded (idle the longest)
    note      2000 TCP flows evicted before they ended: their fate is unknown
    note      2000 flows seen again mid-stream after eviction (counted once; not called fine)
    ");
    let (_, json) = pcap("evicted-json", &bytes, &["--max-flows", "64", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["flows"]["total"], u64::from(n));
    assert_eq!(v["flows"]["ok"], 0);
    assert_eq!(v["flows"]["evicted_open"], u64::from(n));
    assert_eq!(v["flows"]["resumed"], u64::from(n));
}

/// With a table big enough, the same connections are whole and fine: the counts above are
/// the bounds' doing, and said so.
#[test]
fn a7_the_same_connections_held_whole_are_fine() {
    let bytes = interleaved_connections(2000);
    let (code, json) = pcap("whole", &bytes, &["--json"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["flows"]["total"], 2000);
    assert_eq!(v["flows"]["ok"], 2000);
    assert_eq!(v["flows"]["evicted_open"], 0);
    assert_eq!(v["flows"]["resumed"], 0);
}

/// A SYN left unanswered long past its retransmission time is a timeout even when the
/// table evicts it: eviction makes a fate unknown only while the answer may still come.
#[test]
fn a7_a_syn_evicted_long_after_it_was_sent_is_still_a_timeout() {
    // Fewer than the table holds: they are evicted by the later connections, 5 s on.
    let mut w = PcapWriter::new();
    for i in 0..12 {
        w.tcp((CLIENT, 20_000 + i), (SERVER, 80), tcp::SYN, 0);
    }
    w.pause_secs(5);
    for i in 0..200 {
        let (c, s) = ((CLIENT, 30_000 + i), (SERVER, 443));
        w.tcp(c, s, tcp::SYN, 0);
        w.tcp(s, c, tcp::SYN | tcp::ACK, 0);
        w.tcp(c, s, tcp::FIN | tcp::ACK, 0);
        w.tcp(s, c, tcp::FIN | tcp::ACK, 0);
    }
    let (code, json) = pcap(
        "given-up",
        &w.into_bytes(),
        &["--max-flows", "16", "--json"],
    );
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["flows"]["evicted"].as_u64().unwrap() > 12);
    assert_eq!(v["flows"]["total"], 212);
    assert_eq!(v["flows"]["failed"], 12);
    assert_eq!(v["flows"]["ok"], 200);
    assert_eq!(v["flows"]["evicted_open"], 0);
}
