//! Analyses over a ruleset and a simulated [`engine::Outcome`].
//!
//! - [`fix`]: the smallest `iptables -I ... -j ACCEPT` that lets a blocked packet through,
//!   proved by re-running the simulation with the rule in place;
//! - [`fix_nft`]: the same in nft's words (`nft add element ...` for a failed set lookup,
//!   `nft insert rule ... position HANDLE ...` otherwise);
//! - [`cross_table`]: an accept in one base chain that did not save the packet from a drop
//!   in another base chain on the same hook (mixed hosts);
//! - [`contrast`]: what a ping between the same endpoints does ("why ping works");
//! - [`answer_facts`]: how the deciding rule was reached and what another table's accept
//!   did not do, computed before rendering;
//! - [`capture`]: a capture's failed and fine flows simulated at the capture point;
//! - [`callstack`]: which jumps were active when a rule was reached (the "reached via" of a
//!   report), reconstructed from a [`engine::Trace`].
//!
//! Later: lint, diff and policy tests, one check per module.

pub mod agree;
pub mod answer_facts;
pub mod callstack;
pub mod capture;
pub mod contrast;
pub mod counters;
pub mod cross_table;
pub mod fix;
pub mod fix_nft;
pub mod flows;

pub use answer_facts::AnswerFacts;
pub use contrast::{ping_contrast, PingContrast};
pub use cross_table::CrossTable;
pub use fix::{suggest, Fix, FixRule, Position};
