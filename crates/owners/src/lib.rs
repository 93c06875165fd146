//! Which tool wrote each table, chain and rule, with the evidence.
//!
//! A fix typed into a chain that ufw, firewalld, Docker or kube-proxy rewrites is gone at
//! the tool's next reload; a fix is only worth suggesting in the language of the tool that
//! owns the rule. [`recognise`] fills [`model::Origin::owner`] on every table, chain and
//! rule of a ruleset from what the ruleset itself shows (table and chain names, comments,
//! who jumps where) and, when a snapshot recorded it, the tool's own configuration
//! ([`ToolConfig`]: ufw's `user.rules`, firewalld's zone XML, ...).
//!
//! One module per tool; each claims what it recognises and leaves the rest. The first
//! claim stands (tools are asked in the order below, the most specific first), and what no
//! tool claims is [`unmanaged`]: hand-written, with the file it is conventionally kept in.

mod claim;
pub mod containers;
mod fail2ban;
pub mod firewalld;
pub mod kube;
mod ufw;
mod unmanaged;

pub use claim::owner_of_chain;
pub use containers::wg_quick;

use model::tool_config::ToolConfig;
use model::Ruleset;

/// Fills the owner of every table, chain and rule of `ruleset` that a tool's mark or
/// `config` shows; what is left is marked hand-written.
pub fn recognise(ruleset: &mut Ruleset, config: &ToolConfig) {
    ufw::recognise(ruleset, config);
    firewalld::recognise(ruleset, config);
    fail2ban::recognise(ruleset, config);
    kube::recognise(ruleset, config);
    containers::recognise(ruleset, config);
    unmanaged::recognise(ruleset, config);
}
