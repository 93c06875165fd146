//! Readers of a host's state besides its firewall rules: what the packet path needs to know
//! about interfaces, routes, sysctls, sockets, conntrack and ipsets, each from the text or
//! JSON the usual command prints.
//!
//! - [`iproute`]: `ip -j addr`, `ip -j route show table all`, `ip -j rule`;
//! - [`sysctl`]: `sysctl -a`;
//! - [`ss`]: `ss -ltnuH` listening sockets;
//! - [`conntrack`]: `conntrack -L`;
//! - [`ipset`]: `ipset save`;
//! - [`host_dir`]: a directory of the files above, read into one [`model::Host`];
//! - [`snapshot`]: one file that carries all of it (and the rules) from a live host.

pub mod conntrack;
pub mod host_dir;
pub mod iproute;
pub mod ipset;
pub mod snapshot;
pub mod ss;
pub mod sysctl;
