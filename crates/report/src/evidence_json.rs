//! Schema parts shared by the evidence commands' JSON documents (`log`, `explain-trace`,
//! `conntrack`).

use crate::words;
use model::{RuleRef, Ruleset};
use serde::Serialize;

/// A rule of the user's ruleset, by where it sits and where it was written.
#[derive(Debug, Serialize)]
pub struct RuleJson {
    /// The table's name.
    pub table: String,
    /// The chain's name.
    pub chain: String,
    /// 1-based position in its chain as iptables counts it (`index`, as in `--json`).
    pub index: usize,
    /// The file the rule was read from.
    pub file: String,
    /// Its line in that file.
    pub line: u32,
    /// The rule as written.
    pub text: String,
}

impl RuleJson {
    /// The rule at `r` of `ruleset`.
    pub fn of(ruleset: &Ruleset, r: RuleRef) -> RuleJson {
        let o = words::rule_origin(ruleset, r);
        RuleJson {
            table: words::table_name(ruleset, r.table),
            chain: words::chain_name(ruleset, r.chain_ref()),
            index: words::rule_number(ruleset, r),
            file: o.map(|o| o.file.to_string()).unwrap_or_default(),
            line: o.map_or(0, |o| o.line),
            text: o.map(|o| o.text.to_string()).unwrap_or_default(),
        }
    }
}
