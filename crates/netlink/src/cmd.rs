//! Running `ip`, `nft`, `iptables-restore`, `sysctl` and `conntrack` with a bounded wait.
//!
//! Every command gets a deadline; a command that overruns it is killed (by the pid of the
//! child we spawned, nothing else) and reported as [`LiveError::Timeout`].

use crate::error::LiveError;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Default deadline of one command.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub success: bool,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

fn reader<R: Read + Send + 'static>(r: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut s);
        }
        String::from_utf8_lossy(&s).into_owned()
    })
}

fn wait_bounded(
    child: &mut Child,
    timeout: Duration,
    what: &str,
) -> Result<std::process::ExitStatus, LiveError> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(200);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| LiveError::io(what, e))? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            // Only the child we spawned, by its pid.
            let _ = child.kill();
            let _ = child.wait();
            return Err(LiveError::Timeout {
                what: what.to_string(),
                millis: timeout.as_millis() as u64,
            });
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// Runs `program args...`, feeding `stdin`, waiting at most `timeout`.
pub fn run(
    program: &str,
    args: &[&str],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output, LiveError> {
    let what = format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LiveError::MissingTool {
                tool: program.to_string(),
                package: package_of(program).map(str::to_string),
            },
            _ => LiveError::io(format!("spawn {program}"), e),
        })?;
    let writer = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            Some(thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let status = wait_bounded(&mut child, timeout, &what)?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok(Output {
        success: status.success(),
        status: status.to_string(),
        stdout,
        stderr,
    })
}

/// Like [`run`] with the default deadline, failing on a non-zero exit.
pub fn run_ok(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Result<String, LiveError> {
    let out = run(program, args, stdin, DEFAULT_TIMEOUT)?;
    if !out.success {
        return Err(LiveError::Command {
            what: format!("{program} {}", args.join(" ")),
            status: out.status,
            stderr: out.stderr,
        });
    }
    Ok(out.stdout)
}

/// Runs `program args...` inside network namespace `ns` (`ip netns exec`).
pub fn in_ns(
    ns: &str,
    program: &str,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> Result<Output, LiveError> {
    let mut full = vec!["netns", "exec", ns, program];
    full.extend_from_slice(args);
    run("ip", &full, stdin, DEFAULT_TIMEOUT)
}

/// Like [`in_ns`], failing on a non-zero exit.
pub fn in_ns_ok(
    ns: &str,
    program: &str,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> Result<String, LiveError> {
    let out = in_ns(ns, program, args, stdin)?;
    if !out.success {
        return Err(LiveError::Command {
            what: format!("{program} {} (in namespace {ns})", args.join(" ")),
            status: out.status,
            stderr: out.stderr,
        });
    }
    Ok(out.stdout)
}

/// The Debian package that ships `program`, when it is one whyblocked runs.
pub fn package_of(program: &str) -> Option<&'static str> {
    Some(match program {
        "ip" => "iproute2",
        "nft" => "nftables",
        "iptables"
        | "iptables-restore"
        | "ip6tables-restore"
        | "iptables-save"
        | "ip6tables-save"
        | "iptables-nft-save"
        | "ip6tables-nft-save"
        | "iptables-legacy-save"
        | "ip6tables-legacy-save" => "iptables",
        "conntrack" => "conntrack",
        "sysctl" => "procps",
        "setpriv" => "util-linux",
        _ => return None,
    })
}
