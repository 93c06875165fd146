//! The intermediate representation every part of whyblocked speaks.
//!
//! Pure data, no parsing of input files, no printing beyond `Display` in the kernel's own
//! words, no I/O:
//! - [`packet`]: the packet being simulated, with typed fields (never strings);
//! - [`host`]: the host's interfaces, addresses, routes, policy rules, sysctls, listening
//!   sockets and conntrack entries;
//! - [`ruleset`]: tables, chains and rules shaped like nftables; iptables lowers into it
//!   (each iptables table/chain becomes a base chain at the standard priority);
//! - [`expr`]: what a rule matches on ([`expr::Match`]) and what it does ([`expr::Action`]);
//! - [`kernel`]: the kernel's vocabulary (families, hooks, ICMP types and codes, conntrack
//!   states and statuses, route types, netfilter verdicts), each with `from_name` for the
//!   names its tools print;
//! - [`source`]: where each rule came from (file, byte span, line, handle, original text);
//! - [`owner`]: which language a table, chain or rule was read from and which tool wrote it;
//! - [`topology`]: several hosts and the links between them (what `path` walks);
//! - [`tool_config`]: the firewall tools' own configuration files, as a snapshot recorded them;
//! - [`diag`]: the one parse error type of every front end, with its span;
//! - [`note`]: how the inputs were read when it was a guess, as facts for `report` to word.
//!
//! Every enum that mirrors a kernel number keeps an escape hatch (`Unknown(raw)` or
//! `Other(raw)`) and a `Display` in the kernel's own words, so nothing the kernel can say
//! is lost.

#![warn(missing_docs)]

pub mod diag;
pub mod expr;
pub mod host;
pub mod ipf;
pub mod kernel;
pub mod kernel_walk;
pub mod note;
pub mod owner;
pub mod packet;
pub mod pf;
pub mod ruleset;
pub mod source;
pub mod tool_config;
pub mod topology;

pub use expr::{Action, Key, Match, Pattern, Reject, Test, Value, Verdict};
pub use host::Host;
pub use owner::{Dialect, Evidence, Owner, Role, Tool};
pub use packet::{Packet, TcpFlags, L4};
pub use ruleset::{Chain, ChainRef, Family, Hook, Rule, RuleRef, Ruleset, Table};
pub use source::{Origin, SourceFile, Span};
