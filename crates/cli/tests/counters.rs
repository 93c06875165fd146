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

/// A namespace with `lo` up and the iptables `rules` loaded; its name.
fn lab(rules: &str) -> (oracle::netns::TestHost, String) {
    let host = oracle::netns::TestHost::for_packets(&model::Host::default(), &[]).unwrap();
    let r = &host.router;
    r.exec("ip", &["link", "set", "lo", "up"], None).unwrap();
    r.exec("iptables-restore", &[], Some(rules.as_bytes()))
        .unwrap();
    let ns = r.name().to_string();
    (host, ns)
}

#[test]
fn iptables_and_nft_listings_before_and_after() {
    if !kernel_tests_enabled("iptables_and_nft_listings_before_and_after") {
        return;
    }
    let (host, ns) = lab(RULES);
    let r = &host.router;
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

/// `whyblocked ARGS` inside namespace `ns`.
fn run_in_ns(ns: &str, args: &[&str]) -> (i32, String, String) {
    let mut full = vec!["netns", "exec", ns, BIN];
    full.extend_from_slice(args);
    let o = Command::new("ip").args(&full).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn d2_watch_takes_the_documented_dashes_and_names_a_missing_command() {
    if !kernel_tests_enabled("d2_watch_takes_the_documented_dashes_and_names_a_missing_command") {
        return;
    }
    let (_host, ns) = lab(RULES);
    // The README's and --help's syntax: `--watch -- CMD`.
    let (code, out, err) = run_in_ns(
        &ns,
        &[
            "counters",
            "--watch",
            "--",
            "bash",
            "-c",
            "echo > /dev/udp/127.0.0.1/9",
        ],
    );
    eprintln!("{out}{err}");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("+1 pkts"), "{out}");
    assert!(
        err.contains("`bash -c echo"),
        "the command run is named: {err}"
    );

    // A command that does not exist: named, with no placeholder for an unknown package.
    let (code, out, err) = run_in_ns(&ns, &["counters", "--watch", "--", "wb-no-such-command"]);
    eprintln!("{out}{err}");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`wb-no-such-command`"), "{err}");
    assert!(
        !err.contains("`--`") && !err.contains("package providing it"),
        "{err}"
    );
}

/// A user chain declared before the one that reaches it earlier on the path.
const JUMPS: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
:zzz_in - [0:0]\n:aaa_out - [0:0]\n-A INPUT -p udp -j zzz_in\n-A OUTPUT -p udp -j aaa_out\n\
-A zzz_in -p udp --dport 9 -j ACCEPT\n-A aaa_out -p udp --dport 9 -j ACCEPT\nCOMMIT\n";

#[test]
fn c2_counters_in_path_order_across_formats_and_without_counters() {
    if !kernel_tests_enabled("c2_counters_in_path_order_across_formats_and_without_counters") {
        return;
    }
    let (host, ns) = lab(JUMPS);
    let r = &host.router;
    let dir = tmp("c2");
    std::fs::create_dir_all(&dir).unwrap();
    let save = |name: &str, program: &str, args: &[&str]| {
        std::fs::write(dir.join(name), r.exec(program, args, None).unwrap()).unwrap();
    };
    save("before.save", "iptables-save", &["-c"]);
    save("before.plain", "iptables-save", &[]);
    save("before.list", "iptables", &["-L", "-n", "-v", "-x"]);
    send_udp(&ns, 9, 2);
    save("after.save", "iptables-save", &["-c"]);
    save("after.plain", "iptables-save", &[]);
    save("after.list", "iptables", &["-L", "-n", "-v", "-x"]);
    save("after.nft", "nft", &["list", "ruleset"]);
    let counters = |b: &str, a: &str| {
        let o = Command::new(BIN)
            .args(["counters", b, a])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let outputs = [
        counters("before.save", "after.save"),
        counters("before.save", "after.list"),
        counters("before.list", "after.nft"),
        counters("before.plain", "after.plain"),
    ];
    let json = Command::new(BIN)
        .args(["counters", "--json", "before.plain", "after.list"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["formats_differ"], true, "{v}");
    assert_eq!(v["formats"]["before"], serde_json::json!(["iptables-save"]));
    assert_eq!(v["formats"]["after"], serde_json::json!(["iptables-list"]));
    assert_eq!(v["uncounted"]["before"]["iptables-save"], 4, "{v}");
    assert_eq!(v["compared_rules"], 4, "{v}");
    for o in &outputs {
        eprintln!("{o}");
    }
    // In path order: each user chain after the base chain that jumps to it.
    assert_eq!(
        outputs[0],
        "counters that moved between before.save and after.save, in path order:
  ip filter/INPUT #1               +2 pkts +60 bytes            after.save:8
      -A INPUT -p udp -j zzz_in
  ip filter/INPUT policy           +2 pkts +116 bytes           after.save:3
      policy accept
  ip filter/zzz_in #1              +2 pkts +60 bytes            after.save:11
      -A zzz_in -p udp -m udp --dport 9 -j ACCEPT
  ip filter/OUTPUT #1              +2 pkts +60 bytes            after.save:9
      -A OUTPUT -p udp -j aaa_out
  ip filter/OUTPUT policy          +2 pkts +116 bytes           after.save:5
      policy accept
  ip filter/aaa_out #1             +2 pkts +60 bytes            after.save:10
      -A aaa_out -p udp -m udp --dport 9 -j ACCEPT
"
    );
    // Two formats: said, and the rules paired by place rather than all "new".
    assert_eq!(
        outputs[1],
        "note: before.save is an iptables-save file and after.list is an `iptables -L` listing: the same rule reads differently in each, so rules were paired by table, chain and position (4 rules), not by their text
counters that moved between before.save and after.list, in path order:
  filter/INPUT #1                  +2 pkts +60 bytes            after.list:3
      zzz_in 17 -- * * 0.0.0.0/0 0.0.0.0/0
  filter/INPUT policy              +2 pkts +116 bytes           after.list:1
      policy ACCEPT
  filter/zzz_in #1                 +2 pkts +60 bytes            after.list:18
      ACCEPT 17 -- * * 0.0.0.0/0 0.0.0.0/0 udp dpt:9
  filter/OUTPUT #1                 +2 pkts +60 bytes            after.list:10
      aaa_out 17 -- * * 0.0.0.0/0 0.0.0.0/0
  filter/OUTPUT policy             +2 pkts +116 bytes           after.list:8
      policy ACCEPT
  filter/aaa_out #1                +2 pkts +60 bytes            after.list:14
      ACCEPT 17 -- * * 0.0.0.0/0 0.0.0.0/0 udp dpt:9
"
    );
    // nft lists no policy counters: those are not "removed".
    assert_eq!(
        outputs[2],
        "note: before.list is an `iptables -L` listing and after.nft is an nft listing: the same rule reads differently in each, so rules were paired by table, chain and position (4 rules), not by their text
counters that moved between before.list and after.nft, in path order:
  ip filter/INPUT #1               +2 pkts +60 bytes            after.nft:4
      meta l4proto udp counter jump zzz_in
  ip filter/zzz_in #1              +2 pkts +60 bytes            after.nft:17
      udp dport 9 counter accept
  ip filter/OUTPUT #1              +2 pkts +60 bytes            after.nft:13
      meta l4proto udp counter jump aaa_out
  ip filter/aaa_out #1             +2 pkts +60 bytes            after.nft:21
      udp dport 9 counter accept
"
    );
    // Saved without -c: only the policies could be compared, and the output says why.
    assert_eq!(
        outputs[3],
        "note: 4 iptables rules of before.plain have no counters and were not compared (saved without counters? save with `iptables-save -c`)
note: 4 iptables rules of after.plain have no counters and were not compared (saved without counters? save with `iptables-save -c`)
note: no rule had counters on both sides: only chain policies were compared
counters that moved between before.plain and after.plain, in path order:
  ip filter/INPUT policy           +2 pkts +116 bytes           after.plain:3
      policy accept
  ip filter/OUTPUT policy          +2 pkts +116 bytes           after.plain:5
      policy accept
"
    );
}
