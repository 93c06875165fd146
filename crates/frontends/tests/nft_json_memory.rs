//! Issue 11 B7: reading an `nft -j` file too large for the memory the process may use ends
//! in a clear error saying how far it got, never in an abort ("memory allocation failed",
//! SIGABRT). The test re-runs itself under `ulimit -v` (an address-space limit, which the
//! reader's guard reads from `/proc/self/limits`) with a file that does not fit.
#![allow(clippy::print_stderr)]

use model::SourceFile;
use std::process::Command;

const CHILD: &str = "WB_NFT_JSON_MEMORY_CHILD";

/// An `nft -j` listing of one chain with `rules` rules, on one line as `nft -j` prints it.
fn listing(rules: usize) -> String {
    let mut s = String::from(
        r#"{"nftables": [{"table": {"family": "inet", "name": "t", "handle": 1}}, {"chain": {"family": "inet", "table": "t", "name": "c", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}"#,
    );
    for i in 0..rules {
        s.push_str(&format!(
            r#", {{"rule": {{"family": "inet", "table": "t", "chain": "c", "handle": {}, "expr": [{{"match": {{"op": "==", "left": {{"payload": {{"protocol": "ip", "field": "saddr"}}}}, "right": "10.{}.{}.{}"}}}}, {{"match": {{"op": "==", "left": {{"payload": {{"protocol": "tcp", "field": "dport"}}}}, "right": {}}}}}, {{"counter": {{"packets": 0, "bytes": 0}}}}, {{"drop": null}}]}}}}"#,
            i + 2,
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255,
            1000 + i % 60000
        ));
    }
    s.push_str("]}\n");
    s
}

fn vm_size_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmSize:"))
        .expect("VmSize");
    line[7..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("a number")
}

#[test]
fn b7_json_too_large_for_memory_is_an_error_not_an_abort() {
    if std::env::var_os(CHILD).is_some() {
        let text = listing(150_000);
        let source = SourceFile::new("big.json", text);
        match frontends::nft::parse_json(&source) {
            Ok((rs, _)) => panic!(
                "read {} tables within the limit: the test's file is too small",
                rs.tables.len()
            ),
            Err(e) => {
                let m = e.to_string();
                eprintln!("child: {m}");
                assert!(
                    m.contains("not enough memory to read this file: stopped after"),
                    "{m}"
                );
                assert!(m.contains("MB is available"), "{m}");
            }
        }
        return;
    }
    if !std::path::Path::new("/proc/self/limits").exists() {
        eprintln!("SKIP: b7 needs /proc (Linux)");
        return;
    }
    // Room for the harness and the generated text (~55 MB, held twice), not for the model.
    let limit_kb = vm_size_kb() + 260 * 1024;
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {limit_kb} && exec \"$0\" --exact b7_json_too_large_for_memory_is_an_error_not_an_abort --test-threads=1 --nocapture"
        ))
        .arg(&exe)
        .env(CHILD, "1")
        .env("MALLOC_ARENA_MAX", "1")
        .output()
        .expect("re-run under ulimit -v");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "under ulimit -v {limit_kb}: {:?} (an abort is the defect)\n{stderr}",
        out.status
    );
}
