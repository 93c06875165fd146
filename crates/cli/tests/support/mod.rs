//! What the binary's tests share: running it (from the repository's root, so paths print
//! short, with a given standard input; or as given, for its exit status and both streams).
//! Each test binary uses some of these.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `whyblocked ARGS` run from the repository's root, `stdin` given: (exit code, stdout).
/// A panic on stderr fails the test.
pub fn run_in_repo(args: &[&str], stdin: &str) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .current_dir(repo())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run whyblocked");
    let mut input = child.stdin.take().expect("piped");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("wait for whyblocked");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// What one run of the binary printed.
pub struct Run {
    pub code: i32,
    pub out: String,
    pub err: String,
}

/// `whyblocked ARGS` with `NO_COLOR=1`; a panic on stderr fails the test.
pub fn whyblocked(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run whyblocked");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.err.contains("panicked"), "panic:\n{}", run.err);
    run
}
