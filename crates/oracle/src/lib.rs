//! Linux-only: the kernel as judge.
//!
//! A simulator is only worth its agreement with the kernel. This crate runs the same packet
//! through the real Linux kernel in throwaway network namespaces and reads back the kernel's
//! own trace, so the engine's prediction can be checked (`whyblocked verify`, the
//! differential test suites). It returns data (`analysis::agree::Verification`,
//! `model::kernel_walk::KernelWalk`); the words are `report`'s.
//!
//! Modules, one job each:
//! - [`netns`]: test hosts (a router namespace shaped like a `model::Host`, peer namespaces
//!   at the other end of each interface), deleted on drop, stale ones swept by pid;
//! - [`load`]: the user's ruleset into the router (`iptables-restore`, `nft -f`), errors
//!   mapped to the user's `file:line`;
//! - [`frame`]: packets built from `model::Packet` with the `wire` crate's typed views and
//!   checksums;
//! - [`inject`]: `AF_PACKET` from a peer, raw IP sockets for locally generated packets;
//! - [`run`]: the [`Oracle`]: injection in batches, the trace read back (`netlink`), each
//!   packet's walk placed and assembled (`analysis::agree`);
//! - [`verify()`]: all of the above for one packet, compared with the engine;
//! - [`topology`]: a whole topology of hosts and links built in namespaces, real traffic
//!   (ping, TCP, UDP) sent across it, each hop's kernel walk read back;
//! - [`exchange`]: a whole connection (request, reply, data both ways) through the kernel,
//!   with a remedy's rules applied, compared with the simulated exchange.
//!
//! On systems other than Linux the same API exists and returns [`LiveError::Unsupported`].

#[cfg(target_os = "linux")]
pub mod exchange;
pub mod frame;
pub mod load;
pub mod verify;

#[cfg(target_os = "linux")]
pub mod inject;
#[cfg(target_os = "linux")]
pub mod netns;
#[cfg(target_os = "linux")]
pub mod run;
#[cfg(target_os = "linux")]
pub mod topology;

pub use model::kernel_walk::TRACE_TABLE;
pub use netlink::{is_root, LiveError};
#[cfg(target_os = "linux")]
pub use run::Oracle;
pub use verify::verify;

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
