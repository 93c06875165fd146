//! Analyses over a ruleset and a simulated [`engine::Outcome`].
//!
//! # Public surface
//!
//! Four public modules, each a family of analyses whose types `report`, `cli`, `live`
//! and `oracle` name by path:
//! - [`agree`]: the one comparer (a kernel walk against the simulation, divergences as
//!   values) and the one placer (a kernel handle or trace text to the user's rule), shared
//!   by `explain-trace`, `trace --compare`, `verify` and the kernel agreement tests;
//! - [`flows`]: logged flows, traced packets and conntrack events explained against the
//!   simulation;
//! - [`capture`]: a capture's failed and fine flows simulated at the capture point;
//! - [`counters`]: two counter listings of one ruleset compared rule by rule.
//!
//! At the crate root, the answer's own analyses (one function or type each):
//! - [`suggest`] ([`Fix`], [`FixRule`], [`Position`]): the smallest rule that lets a
//!   blocked packet through, in the words of the table's dialect (`iptables -I ...` or
//!   `nft insert rule ...` / `nft add element ...`), proved by re-running the simulation
//!   with the rule in place;
//! - [`AnswerFacts`] ([`Frame`], [`CrossTable`], [`EarlierAccept`]): how the deciding
//!   rule was reached (the "reached via" of a report) and an accept in another base chain
//!   on the same hook that did not save the packet (mixed hosts), and what the connection
//!   experiences (its answer simulated back, an ICMP error's unknown quote, a family
//!   without rules), which the headline and exit status follow; computed before
//!   rendering;
//! - [`ping_contrast`] ([`PingContrast`]): what a ping between the same endpoints does
//!   ("why ping works").
//!
//! Private: the modules behind those (`fix` and `fix_nft`, `callstack`, `cross_table`,
//! `answer_facts`, `contrast`).
//!
//! Later: lint, diff and policy tests, one check per module.

pub mod agree;
pub mod capture;
pub mod counters;
pub mod fix_bsd;
pub mod flows;
pub mod reasons;
pub mod remedy;

mod answer_facts;
mod callstack;
mod contrast;
mod cross_table;
mod fix;
mod fix_facts;
mod fix_nft;

pub use answer_facts::AnswerFacts;
pub use callstack::Frame;
pub use contrast::{ping_contrast, PingContrast};
pub use cross_table::{CrossTable, EarlierAccept};
pub use fix::{suggest, Fix, FixRule, Position};
pub use fix_facts::{
    Blocker, ElementOpening, FixCaveat, FlowOpening, Opens, RuleSite, Service, TrafficOpening,
    ZoneOpening, ZoneScope,
};
