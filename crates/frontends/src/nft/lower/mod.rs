//! The nft syntax tree lowered into the model: values typed by what they are compared
//! with, implicit protocol dependencies made explicit, verdict maps expanded.
//!
//! What nft does implicitly is written out, because the model evaluates each match alone:
//! - `tcp dport 22` is `meta l4proto tcp` then `th dport 22` (nft's payload dependency);
//!   in inet, bridge and netdev tables `ip saddr` is preceded by `meta nfproto ipv4` (so
//!   `ip saddr != 10.0.0.0/8` does not match IPv6 packets), `ip6 ...` by `nfproto ipv6`.
//! - A verdict map is a lookup that picks the verdict; the model has no such test, so a
//!   rule `KEY vmap { k1 : v1, k2 : v2, * : v3 }` becomes one model rule per element
//!   (`KEY == k1 v1`, `KEY == k2 v2`, then `KEY != {k1, k2} v3` for the catch-all), all with
//!   the rule's origin. Elements of a map never overlap, so exactly one rule applies. A
//!   named map (`vmap @m`) is expanded by its elements as listed: later changes to the map
//!   are not seen. Value maps in `meta mark set`, `ct mark set` and NAT statements expand
//!   the same way (no element matching: the rule does not apply, as nft's lookup breaks).
//! - An anonymous set with concatenated keys becomes a table set named `__anonN`.
//!
//! Anything the model cannot express is `Test::Undecidable` or `Action::Undecidable`,
//! never dropped.
//!
//! One file per construct: `table` (tables, chains, hooks, priorities), `set` (named
//! and anonymous sets), `selector` (payload, meta, ct, ... keys), `compare` (matches,
//! lookups, concatenations), `fib`, `vmap` (verdict maps), `nat`, `verdict`
//! (verdicts and reject), `stmt` (log and `set` statements); values in `value`, names
//! in `names`. This file holds the walk over a rule's statements.

mod compare;
mod fib;
mod names;
mod nat;
mod selector;
mod set;
mod stmt;
mod table;
mod value;
mod verdict;
mod vmap;

pub use table::std_priority;

use crate::unmodelled::unmodelled;
use stmt::log;
use table::lower_table;
use verdict::{queue, verdict};

use super::ast::*;
use super::parse::Doc;
use crate::{ErrorKind, ParseError};
use model::expr::{Action, Key, Match, Pattern, Test, Undecidable, Unmodelled, Value};
use model::ruleset::{Family, NamedSet, Step};
use model::{Origin, Ruleset, SourceFile};
use std::collections::HashSet;

/// Lowers a parsed document (text or JSON) into the model. The document is consumed table
/// by table and rule by rule, so a rule's syntax tree is freed as its model rule is made:
/// peak memory is about the larger of the two, not their sum (issue 11 B7).
pub fn lower(doc: Doc) -> Result<Ruleset, ParseError> {
    let mut tables = Vec::with_capacity(doc.tables.len());
    for t in doc.tables {
        tables.push(lower_table(t, &doc.sources)?);
    }
    Ok(Ruleset {
        tables,
        ipsets: Vec::new(),
        sources: doc.sources,
    })
}

/// Errors point into the file the object came from.
fn source_of(sources: &[SourceFile], origin: &Origin) -> SourceFile {
    sources
        .iter()
        .find(|s| s.name == origin.file)
        .or_else(|| sources.first())
        .cloned()
        .unwrap_or_else(|| SourceFile::new(origin.file.clone(), ""))
}

fn int(n: u64) -> Pattern {
    Pattern::Value(Value::Int(n))
}

fn proto_dep(n: u64) -> Match {
    Match::cmp(Key::L4Proto, int(n))
}

fn nfproto_dep(n: u64) -> Match {
    Match::cmp(Key::NfProto, int(n))
}

/// One alternative of a statement: steps, each flagged when it is an implicit dependency
/// (dropped if the rule already has the same match).
type Alt = Vec<(Step, bool)>;

/// Per-table lowering state.
struct TableCx<'t> {
    family: Family,
    table: &'t TableAst,
    /// Sets made for anonymous sets with concatenated keys.
    anon: Vec<NamedSet>,
    /// Sets updated from the packet path (`add @s`).
    dynamic: HashSet<String>,
}

/// A lowering failure inside a statement: a parse error (bad value) at the statement.
struct Bad(String, String, String);

/// An unmodelled `KEY set ..` or `KEY vmap ..` statement. A `ct` key takes a conntrack
/// reference whatever the input's syntax: nft JSON names the statement by its JSON text,
/// which the name rule of [`unmodelled`] cannot read.
fn unmodelled_on(key: &Expr, text: &str) -> Unmodelled {
    let mut u = unmodelled(text);
    u.needs_conntrack |= matches!(key, Expr::Ct { .. });
    u
}

fn bad(what: &str, value: &str, reason: impl Into<String>) -> Bad {
    Bad(what.into(), value.into(), reason.into())
}

/// The most steps one rule may expand into (its alternatives times their length): a
/// kube-proxy verdict map of 30,000 services is about 300,000.
const MAX_EXPANDED_STEPS: usize = 2_000_000;

impl TableCx<'_> {
    /// A rule's alternatives: usually one body; several when a map is expanded.
    fn rule(&mut self, r: &RuleAst, src: &SourceFile) -> Result<Vec<Vec<Step>>, ParseError> {
        let mut alts: Vec<Vec<Step>> = vec![Vec::with_capacity(r.stmts.len() + 2)];
        for s in &r.stmts {
            let options = self.stmt(s).map_err(|Bad(what, value, reason)| {
                ParseError::new(
                    src,
                    s.span,
                    ErrorKind::InvalidValue {
                        what,
                        value,
                        reason,
                    },
                )
            })?;
            if options.len() == 1 {
                let opt = &options[0];
                for body in &mut alts {
                    push_alt(body, opt);
                }
            } else {
                // Each multi-valued statement multiplies the rule's alternatives: a few of
                // them in one rule would exhaust memory, so a rule is bounded by its steps.
                let alternatives = alts.len().saturating_mul(options.len());
                let longest = alts.first().map_or(0, Vec::len)
                    + options.iter().map(Vec::len).max().unwrap_or(0);
                if alternatives.saturating_mul(longest.max(1)) > MAX_EXPANDED_STEPS {
                    return Err(ParseError::new(
                        src,
                        s.span,
                        ErrorKind::InvalidValue {
                            what: "rule".into(),
                            value: format!("{alternatives} alternatives"),
                            reason: format!(
                                "its maps and multi-valued statements expand into more than \
                                 {MAX_EXPANDED_STEPS} steps, more than whyblocked simulates"
                            ),
                        },
                    ));
                }
                let mut next = Vec::with_capacity(alternatives);
                for body in &alts {
                    for opt in &options {
                        let mut b = body.clone();
                        push_alt(&mut b, opt);
                        next.push(b);
                    }
                }
                alts = next;
            }
        }
        Ok(alts)
    }

    fn stmt(&mut self, s: &Stmt) -> Result<Vec<Alt>, Bad> {
        let one = |step: Step| Ok(vec![vec![(step, false)]]);
        match &s.kind {
            StmtKind::Match { left, op, right } => self.match_(left, *op, right, &s.text),
            StmtKind::Verdict(v) => one(Step::Action(Action::Verdict(verdict(v)))),
            StmtKind::Queue { num, flags } => {
                one(Step::Action(Action::Verdict(queue(num.as_ref(), flags))))
            }
            StmtKind::Counter => one(Step::Action(Action::Counter)),
            StmtKind::Log(l) => Ok(vec![vec![(Step::Action(log(l)?), false)]]),
            StmtKind::Reject { kind, code } => self.reject(kind.as_deref(), code.as_deref()),
            StmtKind::Nat {
                kind,
                family,
                addr,
                port,
                flags,
            } => self.nat(
                kind,
                family.as_deref(),
                addr.as_ref(),
                port.as_ref(),
                flags,
                &s.text,
            ),
            StmtKind::Mangle { key, value } => self.mangle(key, value, &s.text),
            StmtKind::Notrack => one(Step::Action(Action::Notrack)),
            StmtKind::VMap { key, data } => self.vmap(key, data, &s.text),
            StmtKind::SetUpdate {
                op, set, stateful, ..
            } => Ok(self.set_update(op, set, *stateful, &s.text)),
            StmtKind::Undecidable { kind, text } => {
                one(Step::Match(Match::new(Test::Undecidable {
                    kind: kind.clone(),
                    text: text.clone(),
                })))
            }
            StmtKind::Effect(e) => one(Step::Action(Action::Effect(e.clone()))),
            StmtKind::Unknown(name) => {
                one(Step::Action(Action::Undecidable(unmodelled(name.clone()))))
            }
        }
    }

    fn undecidable(kind: Undecidable, text: &str) -> Vec<Alt> {
        vec![vec![(
            Step::Match(Match::new(Test::Undecidable {
                kind,
                text: text.to_string(),
            })),
            false,
        )]]
    }
}

/// Appends a statement's steps to a body; dependencies already present are skipped.
fn push_alt(body: &mut Vec<Step>, alt: &Alt) {
    for (step, dep) in alt {
        if *dep && body.contains(step) {
            continue;
        }
        body.push(step.clone());
    }
}

fn with_deps(deps: Vec<Match>, step: Step) -> Alt {
    let mut alt: Alt = deps.into_iter().map(|d| (Step::Match(d), true)).collect();
    alt.push((step, false));
    alt
}

fn has_undecidable(alt: &Alt) -> bool {
    alt.iter().any(|(s, _)| {
        matches!(
            s,
            Step::Match(Match {
                test: Test::Undecidable { .. },
                ..
            })
        )
    })
}
