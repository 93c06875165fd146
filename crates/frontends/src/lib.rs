//! Front ends: each input language parsed and lowered into the `model` IR, with exact
//! source spans and clear errors.
//!
//! # Public surface
//!
//! One public module per input language, each with a `parse` entry point, because callers
//! pick the language they were given (a test fixture, a `--format`, a fuzz target) and
//! the module path says which:
//! - [`iptables_save`]: `iptables-save` / `ip6tables-save` output (with or without `-c`);
//! - [`nft`]: `nft list ruleset` text ([`nft::parse_text`]) and `nft -j list ruleset`
//!   JSON ([`nft::parse_json`]);
//! - [`iptables_list`]: `iptables -L -n -v [-x]` listings, for counter diffs;
//! - [`packet_spec`]: the command-line packet grammar (`tcp 10.0.0.1:1050 10.0.0.2:22 in eth0`);
//! - [`host`]: the host's other state (addresses, routes, policy rules, sysctls, sockets,
//!   conntrack, ipsets), one reader per command's output, and the directory or snapshot
//!   file that carries them.
//! - [`topology`]: several hosts and their links, from a topology file (TOML) or from
//!   several snapshots and host directories, for `whyblocked path`.
//!
//! At the crate root, for callers that do not know the language:
//! - [`load_rules`] (with [`LoadOptions`], [`LoadedRules`], [`LoadError`]),
//!   [`read_rules`] and [`read_source`]: rules files of any dialect merged into one ruleset;
//! - [`detect_dialect`]: the one dialect detector, used by the loader and by the kernel
//!   oracle (which is handed files to load, not rulesets);
//! - [`is_iptables_save`]: the strict test that picks iptables-save files out of a
//!   directory of mixed files;
//! - [`ParseError`] and [`ErrorKind`] (from `model::diag`), the one error of every parser.
//!
//! Private: the loader's internals and the line helpers shared by
//! the readers; inside each language, its lexer, parser and lowering steps.
//!
//! Every parser returns [`ParseError`] on bad input: a byte span into the file, a named
//! kind and what was expected. `report` renders it as `file:line:col`, the line and a caret.

pub mod bsd_host;
pub mod host;
pub mod ipf;
pub mod ipftest;
pub mod iptables_list;
pub mod iptables_save;
pub mod nft;
pub mod packet_spec;
pub mod pf;
pub mod topology;
mod unmodelled;

mod dialect;
mod lines;
mod loader;

pub use dialect::{detect as detect_dialect, detect_bsd, is_iptables_save, BsdLanguage};
pub use loader::{
    load_rules, read_file, read_rules, read_source, read_text, LoadError, LoadOptions, LoadedRules,
    NonUtf8, NotText, TextError,
};
pub use model::diag::{ErrorKind, ParseError};
