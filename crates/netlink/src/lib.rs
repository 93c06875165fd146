//! Linux-only: the system boundary of whyblocked's kernel-facing crates.
//!
//! - [`nftrace`]: `NFT_MSG_TRACE` and ctnetlink events decoded by hand, the reader that
//!   subscribes to them (`NFNLGRP_NFTRACE`), loss detection, grouping per packet;
//! - [`headers`]: the packet headers a trace event carries;
//! - [`cmd`]: running `ip`, `nft`, `iptables-restore`, ... with a bounded wait, in a network
//!   namespace or not;
//! - `sys`: the only module of the workspace with `unsafe` (sockets, `setns`);
//! - [`LiveError`]: the one error type of `netlink`, `oracle` and `live`.
//!
//! Decoding is plain data in, [`model::kernel_walk`] values out; placing events in the
//! user's ruleset and comparing them with the engine is `analysis::agree`'s job.

pub mod error;
pub mod headers;
pub mod nftrace;

#[cfg(target_os = "linux")]
pub mod cmd;
#[cfg(target_os = "linux")]
pub mod sys;

pub use error::LiveError;

/// Whether the process runs as root (the oracle and the live tracer need it).
#[cfg(target_os = "linux")]
pub fn is_root() -> bool {
    sys::is_root()
}

/// Whether the process runs as root (never true where the kernel crates are unsupported).
#[cfg(not(target_os = "linux"))]
pub fn is_root() -> bool {
    false
}
