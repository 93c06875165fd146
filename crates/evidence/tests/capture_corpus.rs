//! The labelled captures of ../shared/corpus/pcap (tcpdump and zeek test traces), read in
//! place and classified as labelled. Skips with a message when the corpus is absent (a
//! fresh clone has no shared/). Prints a table: file, label, got, ok.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use evidence::capture::{analyze, Options};
use evidence::classify::Symptom;
use evidence::tls::AlertContent;
use std::path::Path;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/pcap");

/// What each labelled capture must show: a finding of this kind (and for TLS, this alert
/// description) among its findings.
const EXPECTED: &[(&str, &str, Option<u8>)] = &[
    (
        "the-tcpdump-group-tcpdump/tests/mpls-traceroute.pcap",
        "icmp_error",
        None,
    ),
    (
        "the-tcpdump-group-tcpdump/tests/bgp-bgpsec.pcap",
        "syn_refused",
        None,
    ),
    (
        "the-tcpdump-group-tcpdump/tests/bgp-4byte-asn.pcap",
        "syn_refused",
        None,
    ),
    (
        "the-tcpdump-group-tcpdump/tests/of10_pf5240.pcap",
        "syn_refused",
        None,
    ),
    (
        "the-tcpdump-group-tcpdump/tests/tcp_rst_data.pcap",
        "reset",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/icmp/icmp-destunreach-udp.pcap",
        "icmp_error",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/icmp/icmp-destunreach-ip.pcap",
        "icmp_error",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/icmp/icmp-destunreach-no-context.pcap",
        "icmp_error",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/icmp/icmp-timeexceeded.pcap",
        "icmp_error",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/icmp/icmp6-destunreach-ip6ext-udp.pcap",
        "icmp_error",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/icmp/icmp6-destunreach-ip6ext.pcap",
        "icmp_error",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/icmp/icmp6-destunreach-ip6ext-trunc.pcap",
        "icmp_error",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/icmp/icmp6-destunreach-no-context.pcap",
        "icmp_error",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/conn-size.pcap",
        "icmp_error",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/smtp.pcap",
        "icmp_error",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/irc-353.pcap",
        "syn_refused",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/redis/almost-resp.pcap",
        "syn_refused",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/tcp/option-sack.pcap",
        "syn_unanswered",
        None,
    ),
    (
        "zeek-zeek/testing/btest/Traces/tls/tls-1.2-handshake-failure.pcap",
        "tls_alert",
        Some(40),
    ),
    (
        "zeek-zeek/testing/btest/Traces/tls/certificate-request-failed.pcap",
        "tls_alert",
        Some(40),
    ),
    (
        "zeek-zeek/testing/btest/Traces/tls/tls13draft16-chrome55.0.2879.0-canary-aborted.pcap",
        "tls_alert",
        Some(70),
    ),
    (
        "zeek-zeek/testing/btest/Traces/tls/tls-early-alert.pcap",
        "tls_alert",
        Some(112),
    ),
];

fn matches(s: &Symptom, kind: &str, description: Option<u8>) -> bool {
    if s.kind() != kind {
        return false;
    }
    match (s, description) {
        (Symptom::TlsAlert(a), Some(d)) => {
            matches!(a.content, AlertContent::Clear { description, .. } if description == d)
        }
        _ => true,
    }
}

#[test]
fn labelled_captures_are_classified_as_labelled() {
    let dir = Path::new(CORPUS);
    let labels_path = dir.join("labels.json");
    let Ok(labels) = std::fs::read_to_string(&labels_path) else {
        eprintln!(
            "SKIP: {} is absent (no shared corpus)",
            labels_path.display()
        );
        return;
    };
    let labels: serde_json::Value = serde_json::from_str(&labels).unwrap();
    let entries = labels.as_array().unwrap();
    println!("{:<70} {:<55} {:<30} ok", "file", "label", "got");
    let mut failures = Vec::new();
    for e in entries {
        let file = e["file"].as_str().unwrap();
        let label = e["what"].as_str().unwrap_or("");
        let Some(&(_, kind, description)) = EXPECTED.iter().find(|x| x.0 == file) else {
            failures.push(format!("{file}: labelled but not in EXPECTED"));
            continue;
        };
        let bytes = match std::fs::read(dir.join(file)) {
            Ok(b) => b,
            Err(err) => {
                failures.push(format!("{file}: {err}"));
                continue;
            }
        };
        let a = analyze(&bytes[..], &Options::default(), &mut |_| {}).unwrap();
        let got: Vec<&str> = a.findings.iter().map(|f| f.symptom.kind()).collect();
        let ok = a
            .findings
            .iter()
            .any(|f| matches(&f.symptom, kind, description));
        let mut got_text = got.clone();
        got_text.dedup();
        println!(
            "{:<70} {:<55} {:<30} {}",
            file,
            label,
            got_text.join(","),
            if ok { "ok" } else { "FAIL" }
        );
        if !ok {
            failures.push(format!("{file}: expected {kind}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
