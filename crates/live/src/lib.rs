//! Linux-only: a live host, read-only.
//!
//! Modules, one job each:
//! - [`snapshot`] and [`redact`]: a host's state collected read-only into one file,
//!   optionally with addresses redacted (`whyblocked snapshot`);
//! - [`counters`]: the rules' packet counters before and after a command;
//! - [`tracer`]: `whyblocked trace`, the kernel's own trace of real packets on this host,
//!   placed in the host's rules and (`--compare`) held against the offline simulation;
//!   its trace events are grouped into packets by the private `walks` module.
//!
//! It returns data (`analysis::agree::TracedPacket`, snapshots); the words are `report`'s.
//! The kernel oracle (namespaces, injection) is the `oracle` crate; netlink decoding and
//! system calls are `netlink`'s. On systems other than Linux the same API exists and returns
//! [`LiveError::Unsupported`].

pub mod redact;

#[cfg(target_os = "linux")]
pub mod counters;
#[cfg(target_os = "linux")]
pub mod snapshot;
#[cfg(target_os = "linux")]
pub mod tracer;
#[cfg(target_os = "linux")]
mod walks;

pub use model::kernel_walk::TRACE_TABLE;
/// Running programs with a bounded wait (here for the CLI's `counters`).
#[cfg(target_os = "linux")]
pub use netlink::cmd;
pub use netlink::{is_root, LiveError};
