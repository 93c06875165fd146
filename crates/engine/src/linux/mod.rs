//! The Linux packet path: netfilter hooks, chains, conntrack, NAT and routing as the
//! kernel runs them, behind [`crate::PacketPath`] (implemented by [`Prepared`], a ruleset
//! indexed for this path).
//!
//! Modules, one step of the path each:
//! - [`path`]: the order of hooks for received, forwarded and locally generated packets;
//! - [`chain`]: base chains of one hook in priority order; jump/goto/return; policies;
//! - [`eval`]: one match against the packet and its context (true / false / Unknown);
//! - [`conntrack`]: first-packet classification and lookup in the host's conntrack table;
//! - [`nat`]: address/port translation and the conntrack binding it creates;
//! - [`route`]: policy rules, tables, longest prefix, route types, forwarding, rp_filter;
//! - [`delivery`]: which local socket (if any) answers;
//! - [`source`]: which source address a packet this host sends gets, and why;
//! - [`reject`]: the RST or ICMP error a REJECT (or the stack) sends, and from which address;
//! - [`symptom`]: what the sender observes and what its `connect()` returns;
//! - [`logline`]: the line LOG writes to the kernel log, in the kernel's format;
//! - [`nesting`]: whether the kernel loads the way a table's chains nest (loops, depth per
//!   backend);
//! - [`prepared`]: a ruleset indexed once (hook lists, resolved jumps) for many simulations;
//! - [`action`]: what a rule's actions do (verdicts, marks, NAT, LOG);
//! - [`walk`]: the explicit state of one simulated path.

pub(crate) mod action;
pub(crate) mod chain;
pub(crate) mod conntrack;
pub(crate) mod delivery;
pub(crate) mod eval;
#[cfg(test)]
mod hostkit;
pub(crate) mod logline;
pub(crate) mod nat;
pub(crate) mod nesting;
pub(crate) mod path;
pub(crate) mod prepared;
mod raw_payload;
pub(crate) mod reject;
pub(crate) mod route;
pub(crate) mod source;
pub(crate) mod symptom;
pub(crate) mod walk;

pub use prepared::Prepared;
