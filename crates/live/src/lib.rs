//! Linux-only: the kernel oracle (network namespaces), the netlink trace reader, host
//! snapshots.
//!
//! A simulator is only worth its agreement with the kernel. This crate runs the same packet
//! through the real Linux kernel in throwaway network namespaces and reads back the kernel's
//! own nftrace events, so the engine's prediction can be checked (`whyblocked verify`, the
//! differential test suite).
//!
//! Modules, one job each:
//! - [`netns`]: test hosts (a router namespace shaped like a `model::Host`, peer namespaces
//!   at the other end of each interface), deleted on drop, stale ones swept by pid;
//! - [`load`]: the user's ruleset into the router (`iptables-restore`, `nft -f`), errors
//!   mapped to the user's `file:line`;
//! - [`frame`]: packets built from `model::Packet` with the `wire` crate's typed views and
//!   checksums, and the headers of trace events read back;
//! - [`inject`]: `AF_PACKET` from a peer, raw IP sockets for locally generated packets;
//! - [`nftrace`]: `NFT_MSG_TRACE` and ctnetlink events decoded by hand, loss detection;
//! - [`mapping`]: kernel rule handles back to the user's rules;
//! - [`kernel`]: one packet's walk as the kernel traced it;
//! - [`compare`]: kernel walk vs engine trace, first divergence;
//! - [`oracle`] and [`verify()`]: all of the above in one call;
//! - [`redact`] and `snapshot`: a host's state collected read-only into one file, optionally
//!   with addresses redacted; `tracer`: `whyblocked trace` on a live host;
//! - [`gen`]: random rulesets, packets aimed at rules, a lab for many rulesets (the
//!   differential tests);
//! - [`gen_nft`]: random small nft rulesets (sets, maps, vmaps, concatenations, NAT, several
//!   tables and priorities) and packets aimed at them, for the nft differential tests.
//!
//! `unsafe` lives in one module only (`sys`). On systems other than Linux the same API
//! exists and returns [`LiveError::Unsupported`].

pub mod compare;
pub mod error;
pub mod frame;
pub mod gen;
pub mod gen_nft;
pub mod kernel;
pub mod load;
pub mod mapping;
pub mod nftrace;
pub mod redact;
pub mod verify;

#[cfg(target_os = "linux")]
pub mod cmd;
#[cfg(target_os = "linux")]
pub mod counters;
#[cfg(target_os = "linux")]
pub mod inject;
#[cfg(target_os = "linux")]
pub mod netns;
#[cfg(target_os = "linux")]
pub mod oracle;
#[cfg(target_os = "linux")]
pub mod snapshot;
#[cfg(target_os = "linux")]
mod sys;
#[cfg(target_os = "linux")]
pub mod tracer;

pub use error::LiveError;
pub use verify::{verify, VerifyReport};

/// Name of the oracle's own trace table (`table inet wbtrace`).
pub const TRACE_TABLE: &str = "wbtrace";

/// Whether the process runs as root (the oracle needs it).
#[cfg(target_os = "linux")]
pub fn is_root() -> bool {
    sys::is_root()
}

/// Whether the process runs as root (never true where the oracle is unsupported).
#[cfg(not(target_os = "linux"))]
pub fn is_root() -> bool {
    false
}

/// Deletes `wb*` namespaces left by processes that no longer exist.
#[cfg(target_os = "linux")]
pub fn sweep_stale() -> Result<Vec<String>, LiveError> {
    netns::sweep_stale()
}

/// Deletes `wb*` namespaces left by processes that no longer exist.
#[cfg(not(target_os = "linux"))]
pub fn sweep_stale() -> Result<Vec<String>, LiveError> {
    Err(LiveError::Unsupported("the kernel oracle"))
}
