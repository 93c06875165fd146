//! Evidence in, packets and symptoms out: kernel log lines (and later TRACE lines,
//! `nft monitor trace` text, conntrack events and captures).
//!
//! - [`log_line`]: a kernel LOG / nft `log` line (`[UFW BLOCK] IN=tap0 OUT=eno1 ... SRC=...`)
//!   into the packet it describes.

pub mod log_line;
