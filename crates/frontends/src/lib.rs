//! Front ends: each input language parsed and lowered into the `model` IR, with exact
//! source spans and clear errors.
//!
//! One module per language:
//! - [`dialect`]: which of the rules languages a file is written in, from its content;
//! - [`iptables_save`]: `iptables-save` / `ip6tables-save` output (with or without `-c`);
//! - [`ipset`]: `ipset save`;
//! - [`iproute`]: `ip -j addr`, `ip -j route show table all`, `ip -j rule`;
//! - [`sysctl`]: `sysctl -a`;
//! - [`ss`]: `ss -ltnuH` listening sockets;
//! - [`conntrack`]: `conntrack -L`;
//! - [`host_dir`]: a directory of the files above, read into one [`model::Host`];
//! - [`packet_spec`]: the command-line packet grammar (`tcp 10.0.0.1:1050 10.0.0.2:22 in eth0`);
//!
//! Every parser returns [`ParseError`] on bad input: a byte span into the file, a named
//! kind and what was expected. `report` renders it as `file:line:col`, the line and a caret.

pub mod conntrack;
pub mod dialect;

pub mod host_dir;
pub mod iproute;
pub mod ipset;
pub mod iptables_list;
pub mod iptables_save;
mod lines;
pub mod nft;
pub mod packet_spec;
pub mod snapshot;
pub mod ss;
pub mod sysctl;

pub use model::diag::{ErrorKind, ParseError};
