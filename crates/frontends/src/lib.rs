//! Front ends: each input language parsed and lowered into the `model` IR, with exact
//! source spans and clear errors.
//!
//! One module per language:
//! - [`dialect`]: which of the rules languages a file is written in, from its content;
//! - [`iptables_save`]: `iptables-save` / `ip6tables-save` output (with or without `-c`);
//! - [`nft`]: `nft list ruleset` text and `nft -j list ruleset` JSON;
//! - [`host`]: the host's other state (addresses, routes, policy rules, sysctls, sockets,
//!   conntrack, ipsets), one reader per command's output, and the directory or snapshot
//!   file that carries them;
//! - [`loader`]: rules files of any dialect (told by [`dialect`]) merged into one ruleset;
//! - [`packet_spec`]: the command-line packet grammar (`tcp 10.0.0.1:1050 10.0.0.2:22 in eth0`);
//!
//! Every parser returns [`ParseError`] on bad input: a byte span into the file, a named
//! kind and what was expected. `report` renders it as `file:line:col`, the line and a caret.

pub mod dialect;
pub mod host;
pub mod iptables_list;
pub mod iptables_save;
mod lines;
pub mod loader;
pub mod nft;
pub mod packet_spec;
mod unmodelled;

pub use loader::{load_rules, LoadError, LoadOptions, LoadedRules};
pub use model::diag::{ErrorKind, ParseError};
