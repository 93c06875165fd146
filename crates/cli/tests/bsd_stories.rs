//! The user stories on the BSD and Solaris packet filters, end to end through the
//! `whyblocked` binary: story 7 (a reject on the loopback) on every platform of the
//! platform table, and IPFilter and pf versions of story 1 (a router refusing forwarded TCP
//! with ICMP while ping passes) and story 2 (a redirect, then a block: the filter sees the
//! translated packet). Each asserts the fate, the deciding line, the sender's view, the log
//! line and the fix (proved by walking again), and snapshots the whole text answer.
//!
//! No BSD or Solaris kernel runs here: the platform facts come from the sources cited in
//! `docs/platforms.md`, and these tests check that the answer follows them.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

const FIXTURES: &str = "crates/cli/tests/fixtures/bsd";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `whyblocked ARGS`: exit status, stdout, stderr.
fn whyblocked(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
        .expect("the whyblocked binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The JSON answer of `args`, with its exit status.
fn json(args: &[&str]) -> (i32, Value) {
    let mut with = vec!["--json"];
    with.extend_from_slice(args);
    let (code, stdout, stderr) = whyblocked(&with);
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (code, v)
}

/// The text answer as one reviewable document.
fn text(args: &[&str]) -> String {
    let (code, stdout, stderr) = whyblocked(args);
    format!(
        "$ whyblocked {}\nexit status: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        args.join(" ")
    )
}

fn fixture(path: &str) -> String {
    format!("{FIXTURES}/{path}")
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} is not a string in {v:#}"))
}

/// The first proved fix: its rule, and that the walk with it showed the connection
/// succeeding with the reply passing back.
fn proved_fix(v: &Value) -> String {
    let fix = v
        .pointer("/fixes/0")
        .unwrap_or_else(|| panic!("no fix in {v:#}"));
    assert_eq!(fix["reply_passes"], Value::Bool(true), "{fix:#}");
    fix["rule"].as_str().unwrap().to_string()
}
