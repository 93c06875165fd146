//! The one error type of the kernel-facing crates (`netlink`, `oracle`, `live`).

use std::fmt;
use std::io;

/// Why a kernel run (or a live trace) could not be done. A run that could be done but whose
/// result disagrees with the engine is not an error: see `analysis::agree::Comparison`.
#[derive(Debug)]
pub enum LiveError {
    /// Network namespaces, packet sockets and netfilter tracing need root.
    NotRoot,
    /// Built for a system other than Linux.
    Unsupported(&'static str),
    /// A program to run is not installed: `package` is the Debian package that ships it,
    /// when known (a user's own command has none).
    MissingTool {
        tool: String,
        package: Option<String>,
    },
    /// iptables is not the nf_tables backend (legacy iptables emits no netlink trace).
    NotNftBackend { version: String },
    /// A command failed.
    Command {
        what: String,
        status: String,
        stderr: String,
    },
    /// A bounded wait ran out.
    Timeout { what: String, millis: u64 },
    /// A system call failed.
    Io { what: String, source: io::Error },
    /// The kernel refused the user's ruleset: `file:line`, the line, and the tool's message.
    Load {
        file: String,
        line: Option<u32>,
        text: String,
        message: String,
    },
    /// Trace events were lost (socket overrun or netlink drops): the run is void.
    TraceLoss { detail: String },
    /// A netlink message did not have the expected shape.
    Malformed { what: String },
    /// The host model cannot be reproduced in a namespace (e.g. an address conflict).
    Setup(String),
    /// A packet cannot be injected as given.
    Packet(String),
    /// The engine failed (panicked) on this packet.
    Engine(String),
}

impl LiveError {
    pub fn io(what: impl Into<String>, source: io::Error) -> LiveError {
        LiveError::Io {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::NotRoot => f.write_str(
                "the kernel oracle needs root: it creates network namespaces, loads the ruleset \
                 into them and reads netfilter trace events (run as root, e.g. with sudo; the \
                 host's own firewall is never touched)",
            ),
            LiveError::Unsupported(what) => write!(f, "{what} is only available on Linux"),
            LiveError::MissingTool {
                tool,
                package: Some(package),
            } => write!(
                f,
                "`{tool}` is not installed (install the `{package}` package)"
            ),
            LiveError::MissingTool {
                tool,
                package: None,
            } => write!(f, "`{tool}`: no such command (not found on PATH)"),
            LiveError::NotNftBackend { version } => write!(
                f,
                "iptables is not the nf_tables backend (`{version}`): legacy iptables emits no \
                 netlink trace; install iptables-nft or select it with update-alternatives"
            ),
            LiveError::Command {
                what,
                status,
                stderr,
            } => {
                write!(f, "{what} failed ({status})")?;
                if !stderr.trim().is_empty() {
                    write!(f, ": {}", stderr.trim())?;
                }
                Ok(())
            }
            LiveError::Timeout { what, millis } => write!(f, "{what}: no answer after {millis} ms"),
            LiveError::Io { what, source } => write!(f, "{what}: {source}"),
            LiveError::Load {
                file,
                line: Some(line),
                text,
                message,
            } => {
                write!(
                    f,
                    "{file}:{line}: the kernel refused this rule: {message}\n  {text}"
                )
            }
            LiveError::Load {
                file,
                line: None,
                message,
                ..
            } => {
                write!(f, "{file}: the kernel refused the ruleset: {message}")
            }
            LiveError::TraceLoss { detail } => {
                write!(
                    f,
                    "trace events were lost ({detail}); the run is void, not partial"
                )
            }
            LiveError::Malformed { what } => write!(f, "malformed netlink message: {what}"),
            LiveError::Setup(msg) => write!(f, "cannot build the test host: {msg}"),
            LiveError::Packet(msg) => write!(f, "cannot inject the packet: {msg}"),
            LiveError::Engine(msg) => write!(f, "the engine failed: {msg}"),
        }
    }
}

impl std::error::Error for LiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LiveError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d2_a_missing_command_names_itself_and_its_package_only_when_known() {
        let known = LiveError::MissingTool {
            tool: "nft".into(),
            package: crate::cmd::package_of("nft").map(str::to_string),
        };
        assert_eq!(
            known.to_string(),
            "`nft` is not installed (install the `nftables` package)"
        );
        let users = LiveError::MissingTool {
            tool: "my-probe".into(),
            package: crate::cmd::package_of("my-probe").map(str::to_string),
        };
        assert_eq!(
            users.to_string(),
            "`my-probe`: no such command (not found on PATH)"
        );
    }
}
