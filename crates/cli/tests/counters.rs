//! `whyblocked counters` on real listings: before/after pairs made in a namespace (iptables
//! and nft), `--watch` inside a namespace, and the `iptables -L -n -v` corpus.
#![allow(clippy::print_stderr)]

use model::SourceFile;
use std::path::{Path, PathBuf};
use std::process::Command;
use testgen::kernel_tests::kernel_tests_enabled;

const BIN: &str = env!("CARGO_BIN_EXE_whyblocked");

const RULES: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A INPUT -p udp --dport 7 -j ACCEPT\n-A INPUT -p udp --dport 9 -j ACCEPT\n-A OUTPUT -p udp --dport 9 -j ACCEPT\nCOMMIT\n";

const NFT: &str = "table inet t {\n chain input { type filter hook input priority 10; policy accept;\n  udp dport 7 counter accept\n  udp dport 9 counter drop\n }\n chain output { type filter hook output priority 0; policy accept;\n  udp dport 9 counter accept\n }\n}\n";

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("wb-counters-{}-{name}", std::process::id()))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// Sends `n` UDP datagrams to port `port` of the router from inside the router (OUTPUT then
/// INPUT over lo).
fn send_udp(ns: &str, port: u16, n: usize) {
    let script = format!("for i in $(seq {n}); do echo x > /dev/udp/127.0.0.1/{port}; done");
    live::cmd::in_ns_ok(ns, "bash", &["-c", &script], None).unwrap();
}

fn lab() -> oracle::netns::TestHost {
    oracle::netns::TestHost::for_packets(&model::Host::default(), &[]).unwrap()
}

#[test]
fn iptables_and_nft_listings_before_and_after() {
    if !kernel_tests_enabled("iptables_and_nft_listings_before_and_after") {
        return;
    }
    let host = lab();
    let ns = host.router.name().to_string();
    let r = &host.router;
    r.exec("ip", &["link", "set", "lo", "up"], None).unwrap();
    r.exec("iptables-restore", &[], Some(RULES.as_bytes()))
        .unwrap();
    r.exec("nft", &["-f", "-"], Some(NFT.as_bytes())).unwrap();
    let listings = |tag: &str| {
        let files = [
            ("save", r.exec("iptables-save", &["-c"], None).unwrap()),
            (
                "list",
                r.exec("iptables", &["-L", "-n", "-v", "-x"], None).unwrap(),
            ),
            (
                "nft",
                r.exec("nft", &["list", "table", "inet", "t"], None)
                    .unwrap(),
            ),
        ];
        files
            .into_iter()
            .map(|(k, text)| {
                let p = tmp(&format!("{tag}-{k}"));
                std::fs::write(&p, text).unwrap();
                p
            })
            .collect::<Vec<_>>()
    };
    let before = listings("before");
    send_udp(&ns, 9, 3);
    let after = listings("after");
    for (b, a) in before.iter().zip(&after) {
        let (code, out, err) = run(&["counters", b.to_str().unwrap(), a.to_str().unwrap()]);
        // Removed before any assertion can fail.
        let _ = std::fs::remove_file(b);
        let _ = std::fs::remove_file(a);
        eprintln!("{out}{err}");
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        // In hook order (prerouting, input, forward, output, postrouting), then rule order.
        let out_at = lines
            .iter()
            .position(|l| l.contains("OUTPUT #1") || l.contains("output #1"));
        let in_at = lines
            .iter()
            .position(|l| l.contains("INPUT #2") || l.contains("input #2"));
        assert!(
            out_at.is_some() && in_at.is_some() && in_at < out_at,
            "{out}"
        );
        assert!(out.contains("+3 pkts"), "{out}");
        assert!(
            !out.contains("INPUT #1") && !out.contains("input #1"),
            "port 7 did not move: {out}"
        );
        assert!(
            out.contains("dport 9") || out.contains("dpt:9"),
            "rule text shown: {out}"
        );
    }

    // --watch inside the namespace, around a command that sends 2 datagrams.
    let o = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns,
            BIN,
            "counters",
            "--watch",
            "bash",
            "-c",
            "echo > /dev/udp/127.0.0.1/9; echo > /dev/udp/127.0.0.1/9",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    eprintln!("{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success());
    assert!(out.contains("+2 pkts"), "{out}");
    assert!(
        out.contains("-A INPUT -p udp -m udp --dport 9 -j ACCEPT"),
        "{out}"
    );
    assert!(out.contains("udp dport 9 counter drop"), "{out}");
}

#[test]
fn the_diekmann_listings_parse_and_diff() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/diekmann-net-network");
    if !dir.is_dir() {
        eprintln!("SKIP: {} is absent", dir.display());
        return;
    }
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("iptables-Lnv"))
            {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty());
    let mut rules = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let chains =
            frontends::iptables_list::parse(&SourceFile::new(f.display().to_string(), text))
                .unwrap_or_else(|e| panic!("{e}"));
        rules += chains.iter().map(|c| c.rules.len()).sum::<usize>();
    }
    eprintln!("{} listings, {rules} rules", files.len());
    // Two listings of the same router, months apart.
    let chair: Vec<&PathBuf> = files
        .iter()
        .filter(|f| f.to_string_lossy().contains("chair"))
        .collect();
    let (b, a) = (chair[0], chair[chair.len() - 1]);
    let (code, out, err) = run(&["counters", b.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("FORWARD") && out.contains("~"),
        "{}",
        &out[..out.len().min(2000)]
    );
    let (code, json, _) = run(&[
        "counters",
        "--json",
        b.to_str().unwrap(),
        a.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(!v["deltas"].as_array().unwrap().is_empty());
}
