//! Counted-steps tests: instructions a command executes, counted by valgrind's cachegrind
//! (deterministic for the same binary and input, unlike time), so that a test can assert
//! that work grows linearly with the input without timing anything.
#![allow(clippy::print_stderr)]

use std::ffi::OsStr;
use std::process::Command;

/// Whether valgrind runs here. Without it a counted test prints a SKIP line, except under
/// `CI=true`, where it fails (the test script installs valgrind).
pub fn valgrind_or_skip(test: &str) -> bool {
    let found = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test} needs valgrind, and CI=true forbids skipping");
    }
    eprintln!("SKIP (no valgrind): {test} counts instructions with it");
    false
}

/// The instructions `program args...` executes (with `envs` set), counted by cachegrind.
/// Panics, with valgrind's output, when the program fails.
pub fn instructions<I, S>(program: &OsStr, args: I, envs: &[(&str, String)]) -> u64
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = Command::new("valgrind")
        .args([
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
        ])
        .arg(program)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("valgrind runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || expected_exit(&out.status),
        "{} failed under valgrind:\n{stderr}",
        program.to_string_lossy()
    );
    // "==123== I   refs:      1,234,567"
    let line = stderr
        .lines()
        .find(|l| l.contains("I   refs:") || l.contains("I    refs:"))
        .unwrap_or_else(|| panic!("no instruction count in:\n{stderr}"));
    line.rsplit(':')
        .next()
        .and_then(|n| n.trim().replace(',', "").parse().ok())
        .unwrap_or_else(|| panic!("unreadable instruction count in `{line}`"))
}

/// whyblocked's own answers exit 1 (blocked) or 3 (undecided); other statuses are failures.
fn expected_exit(status: &std::process::ExitStatus) -> bool {
    matches!(status.code(), Some(1 | 3))
}
