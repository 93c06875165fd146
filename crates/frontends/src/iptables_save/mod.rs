//! `iptables-save` / `ip6tables-save` output (and hand-written `iptables-restore` files)
//! lowered into the nft-shaped model.
//!
//! ```text
//! *filter                              -> table filter (family ip or ip6)
//! :INPUT DROP [12:720]                 -> base chain on hook input, priority 0, policy drop
//! :ufw-user-input - [0:0]              -> regular chain
//! [3:180] -A INPUT -p tcp --dport 22 -j ACCEPT
//!                                      -> rule: meta l4proto 6, th dport 22, accept
//! COMMIT
//! ```
//!
//! The parts, one job each: [`lexer`] splits a line into words with spans and quotes;
//! [`rule`] reads one rule's options; [`matches`] and [`targets`] lower `-m` modules and
//! `-j` targets with the kernel's semantics; [`family`] guesses ip vs ip6; this module
//! reads the file structure (tables, chain lines, commands, COMMIT) and resolves jumps.
//!
//! Contract: never panics on any input; every error has the exact span of the offending
//! word; anything not modelled is `Undecidable` (matches) or `Action::Undecidable`
//! (targets), never dropped.

mod cursor;
mod family;
pub(crate) mod lexer;
mod matches;
mod rule;
mod targets;
pub(crate) mod values;

pub use family::guess_family;

use crate::lines::lines;
use crate::{ErrorKind, ParseError};
use cursor::Cx;
use lexer::{tokenize, Token};
use matches::Item;
use model::expr::{Action, Match, Verdict};
use model::ruleset::{priority, BaseChain, ChainType, Family, Hook, Step};
use model::source::Counters;
use model::{Chain, Origin, Rule, Ruleset, SourceFile, Span, Table};
use rule::RuleSpec;
use std::collections::HashMap;
use std::sync::Arc;
use targets::Lowered;

/// Parses iptables-save or ip6tables-save output (with or without -c counters).
/// `family`: Family::Ip or Family::Ip6; None = guess with [`guess_family`].
pub fn parse(source: &SourceFile, family: Option<Family>) -> Result<Ruleset, ParseError> {
    let family = family.unwrap_or_else(|| guess_family(&source.name, &source.text).0);
    let cx = Cx {
        src: source,
        family,
    };
    let mut tables = Vec::new();
    let mut open: Option<TableBuilder> = None;
    let text: &str = &source.text;
    for raw in lines(text) {
        if raw.is_blank_or_comment() {
            continue;
        }
        let index = raw.index;
        let (start, line) = raw.trimmed();
        let span = Span::new(start, start + line.len());
        let at = Line {
            text: line,
            start,
            span,
            number: index as u32 + 1,
        };
        let toks = tokenize(line, start).map_err(|q| cx.structure(q.0, "unterminated quote"))?;
        let Some(first) = toks.first() else { continue };
        if let Some(name) = first.text.strip_prefix('*').filter(|_| !first.quoted) {
            if let Some(t) = &open {
                return Err(cx.structure(
                    t.span,
                    format!("table `{}` is not committed (missing COMMIT)", t.name),
                ));
            }
            open = Some(TableBuilder::new(
                name,
                first.span,
                &at,
                &cx,
                toks.len() > 1,
            )?);
            continue;
        }
        let Some(table) = open.as_mut() else {
            return Err(cx.structure(
                first.span,
                "expected a table header such as `*filter` first",
            ));
        };
        if first.is("COMMIT") {
            if let Some(t) = open.take() {
                tables.push(t.finish(&cx)?);
            }
        } else if first.text.starts_with(':') && !first.quoted {
            table.chain_line(&toks, &at, &cx)?;
        } else {
            table.command(&toks, &at, &cx)?;
        }
    }
    if let Some(t) = open {
        return Err(cx.structure(
            t.span,
            format!("table `{}` is not committed (missing COMMIT)", t.name),
        ));
    }
    Ok(Ruleset {
        tables,
        ipsets: Vec::new(),
        sources: vec![source.clone()],
    })
}

/// A non-empty line: its trimmed text, where it starts, its 1-based number.
struct Line<'a> {
    text: &'a str,
    start: usize,
    span: Span,
    number: u32,
}

impl Line<'_> {
    fn origin(&self, file: &Arc<str>, text: &str) -> Origin {
        Origin {
            file: file.clone(),
            span: self.span,
            line: self.number,
            text: text.to_string(),
            dialect: Some(model::Dialect::Iptables),
            ..Origin::default()
        }
    }
}

/// The built-in chains of a table: name, hook, priority, chain type.
fn builtins(table: &str) -> &'static [(&'static str, Hook, i32, ChainType)] {
    use ChainType::{Filter, Nat, Route};
    match table {
        "raw" => &[
            ("PREROUTING", Hook::Prerouting, priority::RAW, Filter),
            ("OUTPUT", Hook::Output, priority::RAW, Filter),
        ],
        "mangle" => &[
            ("PREROUTING", Hook::Prerouting, priority::MANGLE, Filter),
            ("INPUT", Hook::Input, priority::MANGLE, Filter),
            ("FORWARD", Hook::Forward, priority::MANGLE, Filter),
            ("OUTPUT", Hook::Output, priority::MANGLE, Route),
            ("POSTROUTING", Hook::Postrouting, priority::MANGLE, Filter),
        ],
        "nat" => &[
            ("PREROUTING", Hook::Prerouting, priority::NAT_DST, Nat),
            ("INPUT", Hook::Input, priority::NAT_SRC, Nat),
            ("OUTPUT", Hook::Output, priority::NAT_DST, Nat),
            ("POSTROUTING", Hook::Postrouting, priority::NAT_SRC, Nat),
        ],
        "filter" => &[
            ("INPUT", Hook::Input, priority::FILTER, Filter),
            ("FORWARD", Hook::Forward, priority::FILTER, Filter),
            ("OUTPUT", Hook::Output, priority::FILTER, Filter),
        ],
        "security" => &[
            ("INPUT", Hook::Input, priority::SECURITY, Filter),
            ("FORWARD", Hook::Forward, priority::SECURITY, Filter),
            ("OUTPUT", Hook::Output, priority::SECURITY, Filter),
        ],
        _ => &[],
    }
}

/// A rule whose target may still name a chain.
struct PendingRule {
    body: Vec<Step>,
    target: Option<Lowered>,
    origin: Origin,
}

struct ChainBuilder {
    chain: Chain,
    rules: Vec<PendingRule>,
}

/// A table between its `*name` line and `COMMIT`.
struct TableBuilder {
    name: String,
    span: Span,
    origin: Origin,
    chains: Vec<ChainBuilder>,
    by_name: HashMap<String, usize>,
}

impl TableBuilder {
    fn new(
        name: &str,
        span: Span,
        at: &Line<'_>,
        cx: &Cx<'_>,
        extra: bool,
    ) -> Result<TableBuilder, ParseError> {
        if builtins(name).is_empty() {
            let name_span = Span::new(span.start as usize + 1, span.end as usize);
            return Err(cx.unsupported(
                name_span,
                format!("table `{name}` (expected raw, mangle, nat, filter or security)"),
            ));
        }
        if extra {
            return Err(cx.structure(
                Span::new(span.end as usize, at.span.end as usize),
                "unexpected words after the table name",
            ));
        }
        Ok(TableBuilder {
            name: name.to_string(),
            span,
            origin: at.origin(&cx.src.name, at.text),
            chains: Vec::new(),
            by_name: HashMap::new(),
        })
    }

    fn builtin(&self, chain: &str) -> Option<&'static (&'static str, Hook, i32, ChainType)> {
        builtins(&self.name).iter().find(|b| b.0 == chain)
    }

    fn add_chain(
        &mut self,
        name: &str,
        base: Option<BaseChain>,
        counters: Option<Counters>,
        origin: Origin,
    ) -> usize {
        let chain = Chain {
            name: name.to_string(),
            base,
            rules: Vec::new(),
            counters,
            origin,
        };
        self.chains.push(ChainBuilder {
            chain,
            rules: Vec::new(),
        });
        self.by_name.insert(name.to_string(), self.chains.len() - 1);
        self.chains.len() - 1
    }

    /// `:NAME POLICY [packets:bytes]`.
    fn chain_line(
        &mut self,
        toks: &[Token<'_>],
        at: &Line<'_>,
        cx: &Cx<'_>,
    ) -> Result<(), ParseError> {
        let first = &toks[0];
        let name = &first.text[1..];
        let name_span = Span::new(first.span.start as usize + 1, first.span.end as usize);
        if name.is_empty() {
            return Err(cx.expected(name_span, "a chain name after `:`", ""));
        }
        let policy_tok = toks.get(1).ok_or_else(|| {
            cx.expected(
                Span::new(first.span.end as usize, first.span.end as usize),
                "a policy (ACCEPT, DROP or -)",
                "",
            )
        })?;
        let counters = match toks.get(2) {
            Some(t) => Some(bracket_counters(t, cx)?),
            None => None,
        };
        if let Some(extra) = toks.get(3) {
            return Err(cx.expected(extra.span, "end of line", &extra.text));
        }
        if self.by_name.contains_key(name) {
            return Err(cx.structure(name_span, format!("chain `{name}` is declared twice")));
        }
        let origin = at.origin(&cx.src.name, at.text);
        match (self.builtin(name), &*policy_tok.text) {
            (Some(&(_, hook, priority, chain_type)), "ACCEPT" | "DROP") => {
                let policy = if policy_tok.text == "ACCEPT" {
                    Verdict::Accept
                } else {
                    Verdict::Drop
                };
                let base = BaseChain {
                    hook,
                    chain_type,
                    priority,
                    policy,
                    device: None,
                };
                self.add_chain(name, Some(base), counters, origin);
            }
            (Some(_), _) => {
                return Err(cx.expected(
                    policy_tok.span,
                    "the built-in chain's policy, ACCEPT or DROP",
                    &policy_tok.text,
                ));
            }
            (None, "-") => {
                self.add_chain(name, None, counters, origin);
            }
            (None, _) => {
                return Err(cx.expected(
                    policy_tok.span,
                    "`-` (a user chain has no policy)",
                    &policy_tok.text,
                ))
            }
        }
        Ok(())
    }

    /// `[p:b] -A CHAIN rule...`, `-I CHAIN [n] rule...`, `-N CHAIN`.
    fn command(
        &mut self,
        toks: &[Token<'_>],
        at: &Line<'_>,
        cx: &Cx<'_>,
    ) -> Result<(), ParseError> {
        let (counters, rest) = match toks.first() {
            Some(t) if t.text.starts_with('[') && !t.quoted => {
                (Some(bracket_counters(t, cx)?), &toks[1..])
            }
            _ => (None, toks),
        };
        let Some(cmd) = rest.first() else {
            let end = Span::new(at.span.end as usize, at.span.end as usize);
            return Err(cx.expected(end, "a command such as -A", ""));
        };
        let chain_tok = |what: &str| {
            rest.get(1).ok_or_else(|| {
                cx.expected(
                    Span::new(cmd.span.end as usize, cmd.span.end as usize),
                    what,
                    "",
                )
            })
        };
        match &*cmd.text {
            "-N" | "--new-chain" => {
                let name = chain_tok("a chain name")?;
                if self.by_name.contains_key(&*name.text) || self.builtin(&name.text).is_some() {
                    return Err(
                        cx.structure(name.span, format!("chain `{}` already exists", name.text))
                    );
                }
                if let Some(extra) = rest.get(2) {
                    return Err(cx.expected(extra.span, "end of line", &extra.text));
                }
                self.add_chain(&name.text, None, None, at.origin(&cx.src.name, at.text));
                Ok(())
            }
            "-A" | "--append" | "-I" | "--insert" => {
                let name = chain_tok("a chain name")?;
                let insert = matches!(&*cmd.text, "-I" | "--insert");
                let mut words = &rest[2..];
                let mut position = None;
                if insert {
                    if let Some(n) = words
                        .first()
                        .filter(|t| !t.quoted && t.text.bytes().all(|b| b.is_ascii_digit()))
                    {
                        let v = values::number(&n.text, u32::MAX.into(), "rule number")
                            .map_err(|b| cx.invalid(n, b))?;
                        if v == 0 {
                            return Err(cx.invalid(
                                n,
                                values::bad("rule number", "rules are numbered from 1"),
                            ));
                        }
                        position = Some((v as usize - 1, n));
                        words = &words[1..];
                    }
                }
                let index = self.chain_index(name, cx)?;
                let spec = rule::parse_rule(words, cx)?;
                if spec.other_family {
                    return Ok(());
                }
                let text_start = cmd.span.start as usize - at.start;
                let text = at.text.get(text_start..).unwrap_or(at.text);
                let mut origin = at.origin(&cx.src.name, text);
                origin.counters = counters.or(spec.counters);
                origin.comment = spec.comment.clone();
                let rules = expand(spec, origin);
                let list = &mut self.chains[index].rules;
                match position {
                    None if insert => {
                        list.splice(0..0, rules);
                    }
                    None => list.extend(rules),
                    Some((p, tok)) => {
                        if p > list.len() {
                            return Err(cx.invalid(
                                tok,
                                values::bad("rule number", "beyond the end of the chain"),
                            ));
                        }
                        list.splice(p..p, rules);
                    }
                }
                Ok(())
            }
            "COMMIT" => Err(cx.expected(cmd.span, "COMMIT alone on its line", &cmd.text)),
            _ if cmd.text.starts_with('-') && !cmd.quoted => Err(cx.unsupported(
                cmd.span,
                format!("command {} (iptables-save files use -A)", cmd.text),
            )),
            _ => Err(cx.expected(
                cmd.span,
                "a command (-A, -I, -N), a chain line (:NAME) or COMMIT",
                &cmd.text,
            )),
        }
    }

    /// The chain a rule goes to: declared, or a built-in not declared (created with
    /// policy ACCEPT, as the kernel's table has it).
    fn chain_index(&mut self, name: &Token<'_>, cx: &Cx<'_>) -> Result<usize, ParseError> {
        if let Some(&i) = self.by_name.get(&*name.text) {
            return Ok(i);
        }
        match self.builtin(&name.text) {
            Some(&(n, hook, priority, chain_type)) => {
                let base = BaseChain {
                    hook,
                    chain_type,
                    priority,
                    policy: Verdict::Accept,
                    device: None,
                };
                Ok(self.add_chain(n, Some(base), None, Origin::default()))
            }
            None => Err(cx.err(
                name.span,
                ErrorKind::Undefined {
                    what: "chain".into(),
                    name: name.text.to_string(),
                },
            )),
        }
    }

    /// `COMMIT`: adds missing built-in chains and resolves chain targets.
    fn finish(mut self, cx: &Cx<'_>) -> Result<Table, ParseError> {
        for &(n, hook, priority, chain_type) in builtins(&self.name) {
            if !self.by_name.contains_key(n) {
                let base = BaseChain {
                    hook,
                    chain_type,
                    priority,
                    policy: Verdict::Accept,
                    device: None,
                };
                self.add_chain(n, Some(base), None, Origin::default());
            }
        }
        let by_name = self.by_name;
        let mut chains = Vec::with_capacity(self.chains.len());
        for ChainBuilder { mut chain, rules } in self.chains {
            chain.rules.reserve(rules.len());
            for PendingRule {
                mut body,
                target,
                origin,
            } in rules
            {
                match target {
                    None => {}
                    Some(Lowered::Actions(actions)) => {
                        body.extend(actions.into_iter().map(Step::Action))
                    }
                    Some(Lowered::Chain {
                        name,
                        span,
                        goto,
                        otherwise,
                    }) => {
                        let action = if by_name.contains_key(&name) {
                            Action::Verdict(if goto {
                                Verdict::Goto(name)
                            } else {
                                Verdict::Jump(name)
                            })
                        } else if let Some(action) = otherwise {
                            action
                        } else {
                            return Err(cx.err(
                                span,
                                ErrorKind::Undefined {
                                    what: "chain".into(),
                                    name,
                                },
                            ));
                        };
                        body.push(Step::Action(action));
                    }
                }
                chain.rules.push(Rule { body, origin });
            }
            chains.push(chain);
        }
        Ok(Table {
            family: cx.family,
            name: self.name,
            chains,
            sets: Vec::new(),
            origin: self.origin,
        })
    }
}

/// `[packets:bytes]`.
fn bracket_counters(t: &Token<'_>, cx: &Cx<'_>) -> Result<Counters, ParseError> {
    let inner = t.text.strip_prefix('[').and_then(|s| s.strip_suffix(']'));
    let parsed = inner.and_then(|s| s.split_once(':')).and_then(|(p, b)| {
        Some(Counters {
            packets: p.parse().ok()?,
            bytes: b.parse().ok()?,
        })
    });
    parsed.ok_or_else(|| cx.expected(t.span, "counters as [packets:bytes]", &t.text))
}

/// The model rules of one iptables rule: one per source x destination address, and one
/// per alternative of each [`Item::Either`]; all share the origin.
fn expand(spec: RuleSpec, origin: Origin) -> Vec<PendingRule> {
    let srcs: Vec<Option<Match>> = if spec.srcs.is_empty() {
        vec![None]
    } else {
        spec.srcs.into_iter().map(Some).collect()
    };
    let dsts: Vec<Option<Match>> = if spec.dsts.is_empty() {
        vec![None]
    } else {
        spec.dsts.into_iter().map(Some).collect()
    };
    // Each Either multiplies the bodies by its alternatives.
    let mut bodies: Vec<Vec<Match>> = vec![Vec::new()];
    for item in spec.items {
        match item {
            Item::One(m) => bodies.iter_mut().for_each(|b| b.push(m.clone())),
            Item::Either(alts) => {
                bodies = bodies
                    .into_iter()
                    .flat_map(|b| {
                        alts.iter().map(move |alt| {
                            let mut b = b.clone();
                            b.extend(alt.iter().cloned());
                            b
                        })
                    })
                    .collect();
            }
        }
    }
    let mut out = Vec::with_capacity(srcs.len() * dsts.len() * bodies.len());
    for s in &srcs {
        for d in &dsts {
            for b in &bodies {
                let mut body = Vec::with_capacity(b.len() + 3);
                body.extend(s.iter().cloned().map(Step::Match));
                body.extend(d.iter().cloned().map(Step::Match));
                body.extend(b.iter().cloned().map(Step::Match));
                out.push(PendingRule {
                    body,
                    target: spec.target.clone(),
                    origin: origin.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::expr::{
        ct_state, ct_status, rtn, Absent, CmpOp, CtMarkOp, IfaceLimit, Key, LogKind, Nat, NatKind,
        Pattern, Queue, Reject, SetRef, Test, Undecidable, Value,
    };

    fn parse_text(text: &str, family: Family) -> Result<Ruleset, ParseError> {
        parse(&SourceFile::new("rules", text), Some(family))
    }

    /// The rules of `-A INPUT <rest>` in table `table`.
    fn rules_in(table: &str, chain: &str, rest: &str, family: Family) -> Vec<Rule> {
        let text =
            format!("*{table}\n:{chain} ACCEPT [0:0]\n:user - [0:0]\n-A {chain} {rest}\nCOMMIT\n");
        let rs = parse_text(&text, family).unwrap_or_else(|e| panic!("{e}"));
        let t = &rs.tables[0];
        t.chains[t.chain(chain).unwrap()].rules.clone()
    }

    fn rule(rest: &str) -> Rule {
        let mut r = rules_in("filter", "INPUT", rest, Family::Ip);
        assert_eq!(r.len(), 1);
        r.remove(0)
    }

    fn rule6(rest: &str) -> Rule {
        rules_in("filter", "INPUT", rest, Family::Ip6).remove(0)
    }

    fn matches(r: &Rule) -> Vec<Match> {
        r.matches().cloned().collect()
    }

    fn actions(r: &Rule) -> Vec<Action> {
        r.actions().cloned().collect()
    }

    fn err(rest: &str) -> ParseError {
        let text = format!("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT {rest}\nCOMMIT\n");
        parse_text(&text, Family::Ip).unwrap_err()
    }

    fn cmp(key: Key, pattern: Pattern) -> Match {
        Match::cmp(key, pattern)
    }

    fn int(n: u64) -> Pattern {
        Pattern::Value(Value::Int(n))
    }

    fn proto(n: u64) -> Match {
        cmp(Key::L4Proto, int(n))
    }

    // ---- file structure ----

    #[test]
    fn builtin_chains_get_hooks_priorities_and_policies() {
        let text = "*nat\n:PREROUTING ACCEPT [1:2]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*mangle\n:OUTPUT DROP [0:0]\nCOMMIT\n";
        let rs = parse_text(text, Family::Ip).unwrap();
        let nat = &rs.tables[0];
        assert_eq!(nat.name, "nat");
        let pre = nat.chains[nat.chain("PREROUTING").unwrap()]
            .base
            .clone()
            .unwrap();
        assert_eq!(
            (pre.hook, pre.priority, pre.chain_type),
            (Hook::Prerouting, -100, ChainType::Nat)
        );
        let input = nat.chains[nat.chain("INPUT").unwrap()]
            .base
            .clone()
            .unwrap();
        assert_eq!(
            (input.hook, input.priority, input.policy),
            (Hook::Input, 100, Verdict::Accept)
        );
        assert_eq!(
            nat.chains[0].counters,
            Some(Counters {
                packets: 1,
                bytes: 2
            })
        );
        let mangle = &rs.tables[1];
        let out = mangle.chains[mangle.chain("OUTPUT").unwrap()]
            .base
            .clone()
            .unwrap();
        assert_eq!(
            (out.chain_type, out.priority, out.policy),
            (ChainType::Route, -150, Verdict::Drop)
        );
        assert_eq!(mangle.chains.len(), 5);
    }

    #[test]
    fn user_chains_are_regular_and_jumps_resolve() {
        let r = rule("-j user");
        assert_eq!(
            actions(&r),
            vec![Action::Verdict(Verdict::Jump("user".into()))]
        );
        let r = rule("-g user");
        assert_eq!(
            actions(&r),
            vec![Action::Verdict(Verdict::Goto("user".into()))]
        );
    }

    #[test]
    fn origin_has_line_text_counters_and_comment() {
        let text = "*filter\n:INPUT ACCEPT [0:0]\n[5:300] -A INPUT -m comment --comment \"ssh in\" -j ACCEPT\nCOMMIT\n";
        let rs = parse_text(text, Family::Ip).unwrap();
        let r = &rs.tables[0].chains[0].rules[0];
        assert_eq!(r.origin.line, 3);
        assert_eq!(
            r.origin.text,
            "-A INPUT -m comment --comment \"ssh in\" -j ACCEPT"
        );
        assert_eq!(
            r.origin.counters,
            Some(Counters {
                packets: 5,
                bytes: 300
            })
        );
        assert_eq!(r.origin.comment.as_deref(), Some("ssh in"));
        assert_eq!(
            &text[r.origin.span.start as usize..r.origin.span.end as usize],
            &text[28..text.len() - 8]
        );
        assert_eq!(&*r.origin.file, "rules");
    }

    #[test]
    fn dash_c_counters() {
        let r = rule("-c 7 420 -j ACCEPT");
        assert_eq!(
            r.origin.counters,
            Some(Counters {
                packets: 7,
                bytes: 420
            })
        );
    }

    #[test]
    fn insert_and_new_chain_commands() {
        let text = "*filter\n-N mine\n-A INPUT -j DROP\n-I INPUT -j mine\n-I INPUT 2 -s 10.0.0.1 -j ACCEPT\nCOMMIT\n";
        let rs = parse_text(text, Family::Ip).unwrap();
        let t = &rs.tables[0];
        let input = &t.chains[t.chain("INPUT").unwrap()];
        let verdicts: Vec<_> = input
            .rules
            .iter()
            .map(|r| r.verdict().cloned().unwrap())
            .collect();
        assert_eq!(
            verdicts,
            vec![Verdict::Jump("mine".into()), Verdict::Accept, Verdict::Drop]
        );
        assert_eq!(input.base.as_ref().unwrap().policy, Verdict::Accept);
        assert!(t.chains[t.chain("mine").unwrap()].base.is_none());
    }

    #[test]
    fn undeclared_builtins_are_created_with_accept() {
        let rs = parse_text("*filter\n:INPUT DROP [0:0]\nCOMMIT\n", Family::Ip).unwrap();
        let t = &rs.tables[0];
        assert_eq!(t.chains.len(), 3);
        let fwd = &t.chains[t.chain("FORWARD").unwrap()];
        assert_eq!(fwd.base.as_ref().unwrap().policy, Verdict::Accept);
        assert_eq!(fwd.origin, Origin::default());
    }

    #[test]
    fn other_family_rules_are_skipped() {
        assert!(rules_in("filter", "INPUT", "-6 -j ACCEPT", Family::Ip).is_empty());
        assert!(rules_in("filter", "INPUT", "-4 -j ACCEPT", Family::Ip6).is_empty());
        assert_eq!(
            rules_in("filter", "INPUT", "-4 -j ACCEPT", Family::Ip).len(),
            1
        );
    }

    #[test]
    fn undefined_jump_is_an_error_at_the_name() {
        let e = err("-j nowhere");
        assert!(matches!(e.kind, ErrorKind::Undefined { .. }));
        assert_eq!(e.line_col(), (3, 13));
        let e = err("-g DROPPED");
        assert!(matches!(e.kind, ErrorKind::Undefined { .. }));
    }

    #[test]
    fn missing_commit_and_rule_before_table() {
        let e = parse_text("*filter\n-A INPUT -j DROP\n", Family::Ip).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Structure { .. }));
        assert_eq!(e.line_col(), (1, 1));
        let e = parse_text("-A INPUT -j DROP\n", Family::Ip).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Structure { .. }));
    }

    #[test]
    fn unknown_table_is_unsupported() {
        let e = parse_text("*broute\nCOMMIT\n", Family::Ip).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported { .. }));
        assert_eq!(e.line_col(), (1, 2));
    }

    #[test]
    fn bad_policy_of_builtin_chain() {
        let e = parse_text("*filter\n:INPUT - [0:0]\nCOMMIT\n", Family::Ip).unwrap_err();
        assert_eq!(e.line_col(), (2, 8));
    }

    #[test]
    fn garbage_never_panics() {
        let inputs = [
            "",
            "*",
            "*filter\n:",
            "*filter\n:X",
            "*filter\n[",
            "*filter\n[1:2]",
            "*filter\n-A",
            "*filter\n-A INPUT !",
            "*filter\n-A INPUT -s",
            "*filter\n-A INPUT -m",
            "*filter\n-A INPUT -j",
            "*filter\n-A INPUT --dport",
            "*filter\n-A INPUT -p tcp --tcp-flags SYN",
            "*filter\n-I INPUT 0",
            "*filter\n-A INPUT -m comment --comment \"x",
            "*filter\n-A INPUT -j DNAT --to-destination [",
            "*filter\n-A INPUT -j LOG --log-prefix é\u{301}",
            "\u{feff}*filter",
            "*filter\n-A INPUT -s ::1",
            "*nat\n-A PREROUTING -j DNAT --to-destination :",
        ];
        for text in inputs {
            let _ = parse_text(text, Family::Ip);
            let _ = parse_text(text, Family::Ip6);
        }
    }

    // ---- generic options ----

    #[test]
    fn source_and_destination_prefixes() {
        let r = rule("-s 10.0.0.1/255.255.255.0 ! -d 192.168.0.0/16 -j DROP");
        assert_eq!(
            matches(&r),
            vec![
                cmp(
                    Key::SrcAddr,
                    Pattern::Prefix("10.0.0.0/24".parse().unwrap())
                ),
                cmp(
                    Key::DstAddr,
                    Pattern::Prefix("192.168.0.0/16".parse().unwrap())
                )
                .negate(true),
            ]
        );
    }

    #[test]
    fn legacy_negation_after_the_option() {
        let r = rule("-s ! 10.0.0.0/8 -j DROP");
        assert!(matches(&r)[0].negated);
    }

    #[test]
    fn comma_lists_make_one_rule_per_address() {
        let r = rules_in(
            "filter",
            "INPUT",
            "-s 10.0.0.1,10.0.0.2 -d 1.1.1.1,2.2.2.2 -j DROP",
            Family::Ip,
        );
        assert_eq!(r.len(), 4);
        assert!(r.iter().all(|r| r.origin.line == 4));
    }

    #[test]
    fn host_names_are_an_error() {
        let e = err("-s example.com -j DROP");
        assert!(
            matches!(&e.kind, ErrorKind::InvalidValue { reason, .. } if reason.contains("host names"))
        );
        assert_eq!(e.line_col(), (3, 13));
    }

    #[test]
    fn interfaces_with_wildcards() {
        let r = rule("-i eth+ ! -o lo -j ACCEPT");
        assert_eq!(
            matches(&r),
            vec![
                cmp(Key::IifName, Pattern::Iface("eth+".into())),
                cmp(Key::OifName, Pattern::Iface("lo".into())).negate(true)
            ]
        );
    }

    #[test]
    fn protocols_by_name_number_and_all() {
        assert_eq!(matches(&rule("-p gre -j ACCEPT")), vec![proto(47)]);
        assert_eq!(
            matches(&rule("! -p 17 -j ACCEPT")),
            vec![proto(17).negate(true)]
        );
        assert!(matches(&rule("-p all -j ACCEPT")).is_empty());
        assert!(matches!(
            err("! -p all -j ACCEPT").kind,
            ErrorKind::InvalidValue { .. }
        ));
    }

    #[test]
    fn fragments() {
        assert_eq!(
            matches(&rule("-f -j DROP")),
            vec![Match::new(Test::LaterFragment)]
        );
        assert_eq!(
            matches(&rule("! -f -j DROP")),
            vec![Match::new(Test::LaterFragment).negate(true)]
        );
    }

    // ---- matches ----

    #[test]
    fn tcp_ports_ranges_and_flags() {
        let r = rule(
            "-p tcp -m tcp --sport :1024 ! --dport 1024: --tcp-flags SYN,RST SYN --syn -j ACCEPT",
        );
        assert_eq!(
            matches(&r),
            vec![
                proto(6),
                cmp(
                    Key::SrcPort,
                    Pattern::Range(Value::Int(0), Value::Int(1024))
                ),
                cmp(
                    Key::DstPort,
                    Pattern::Range(Value::Int(1024), Value::Int(65535))
                )
                .negate(true),
                cmp(
                    Key::TcpFlags,
                    Pattern::Masked {
                        mask: 0x06,
                        value: 0x02
                    }
                ),
                cmp(
                    Key::TcpFlags,
                    Pattern::Masked {
                        mask: 0x17,
                        value: 0x02
                    }
                ),
            ]
        );
    }

    #[test]
    fn tcp_option() {
        let r = rule("-p tcp --tcp-option 2 -j ACCEPT");
        assert_eq!(matches(&r)[1], Match::new(Test::TcpOption(2)));
    }

    #[test]
    fn implicit_protocol_module() {
        let r = rule("-p udp --dport 53 -j ACCEPT");
        assert_eq!(matches(&r), vec![proto(17), cmp(Key::DstPort, int(53))]);
    }

    #[test]
    fn tcp_match_needs_tcp_protocol() {
        let e = err("-m tcp --dport 22 -j ACCEPT");
        assert!(matches!(e.kind, ErrorKind::Structure { .. }));
        assert_eq!(e.line_col(), (3, 13));
        assert!(matches!(
            err("-p udp -m tcp --dport 22 -j ACCEPT").kind,
            ErrorKind::Structure { .. }
        ));
    }

    #[test]
    fn udp_and_sctp_ports() {
        assert_eq!(
            matches(&rule("-p udp -m udp --sport 67:68 -j ACCEPT"))[1],
            cmp(Key::SrcPort, Pattern::Range(Value::Int(67), Value::Int(68)))
        );
        assert_eq!(
            matches(&rule("-p sctp -m sctp --dport 9 -j ACCEPT"))[1],
            cmp(Key::DstPort, int(9))
        );
        let m = &matches(&rule("-p sctp -m sctp --chunk-types any INIT -j ACCEPT"))[1];
        assert!(
            matches!(&m.test, Test::Undecidable { kind: Undecidable::Unsupported(n), .. } if n.contains("chunk-types"))
        );
    }

    #[test]
    fn icmp_types_names_codes_and_any() {
        assert_eq!(
            matches(&rule("-p icmp -m icmp --icmp-type echo-request -j ACCEPT"))[1],
            cmp(Key::IcmpType, int(8))
        );
        let m = matches(&rule("-p icmp -m icmp --icmp-type 3/4 -j ACCEPT"));
        assert_eq!(
            m[1..],
            [cmp(Key::IcmpType, int(3)), cmp(Key::IcmpCode, int(4))]
        );
        let m = matches(&rule("-p icmp --icmp-type any -j ACCEPT"));
        assert_eq!(
            m[1],
            cmp(
                Key::IcmpType,
                Pattern::Range(Value::Int(0), Value::Int(255))
            )
        );
        let m = matches(&rule("-p icmp --icmp-type port-unreachable -j ACCEPT"));
        assert_eq!(
            m[1..],
            [cmp(Key::IcmpType, int(3)), cmp(Key::IcmpCode, int(3))]
        );
    }

    #[test]
    fn negated_icmp_type_and_code_splits_the_rule() {
        let r = rules_in(
            "filter",
            "INPUT",
            "-p icmp ! --icmp-type 3/4 -j DROP",
            Family::Ip,
        );
        assert_eq!(r.len(), 2);
        assert_eq!(
            matches(&r[0])[1..],
            [cmp(Key::IcmpType, int(3)).negate(true)]
        );
        assert_eq!(
            matches(&r[1])[1..],
            [
                cmp(Key::IcmpType, int(3)),
                cmp(Key::IcmpCode, int(4)).negate(true)
            ]
        );
    }

    #[test]
    fn icmpv6_types() {
        let m = matches(&rule6(
            "-p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT",
        ));
        assert_eq!(m, vec![proto(58), cmp(Key::Icmpv6Type, int(135))]);
        let m = matches(&rule6("-p icmpv6 --icmpv6-type 1/4 -j ACCEPT"));
        assert_eq!(
            m[1..],
            [cmp(Key::Icmpv6Type, int(1)), cmp(Key::Icmpv6Code, int(4))]
        );
    }

    #[test]
    fn multiport_lists() {
        let m = matches(&rule("-p tcp -m multiport --dports 22,80:90 -j ACCEPT"));
        assert_eq!(
            m[1],
            cmp(
                Key::DstPort,
                Pattern::OneOf(vec![
                    int(22),
                    Pattern::Range(Value::Int(80), Value::Int(90))
                ])
            )
        );
        let m = matches(&rule("-p udp -m multiport ! --sports 53 -j ACCEPT"));
        assert_eq!(m[1], cmp(Key::SrcPort, int(53)).negate(true));
    }

    #[test]
    fn multiport_ports_is_source_or_destination() {
        let r = rules_in(
            "filter",
            "INPUT",
            "-p tcp -m multiport --ports 22,80 -j ACCEPT",
            Family::Ip,
        );
        let p = Pattern::OneOf(vec![int(22), int(80)]);
        assert_eq!(r.len(), 2);
        assert_eq!(matches(&r[0])[1..], [cmp(Key::SrcPort, p.clone())]);
        assert_eq!(
            matches(&r[1])[1..],
            [
                cmp(Key::SrcPort, p.clone()).negate(true),
                cmp(Key::DstPort, p.clone())
            ]
        );
        let r = rule("-p tcp -m multiport ! --ports 22,80 -j ACCEPT");
        assert_eq!(
            matches(&r)[1..],
            [
                cmp(Key::SrcPort, p.clone()).negate(true),
                cmp(Key::DstPort, p).negate(true)
            ]
        );
    }

    #[test]
    fn state_match() {
        let m = matches(&rule("-m state --state RELATED,ESTABLISHED -j ACCEPT"));
        assert_eq!(
            m,
            vec![cmp(
                Key::CtState,
                Pattern::AnyBit(ct_state::RELATED | ct_state::ESTABLISHED)
            )]
        );
        let m = matches(&rule("-m state ! --state NEW -j ACCEPT"));
        assert!(m[0].negated);
    }

    #[test]
    fn conntrack_states_and_nat_pseudo_states() {
        let m = matches(&rule("-m conntrack --ctstate INVALID -j DROP"));
        assert_eq!(
            m,
            vec![cmp(Key::CtState, Pattern::AnyBit(ct_state::INVALID))]
        );
        let m = matches(&rule("-m conntrack --ctstate DNAT -j ACCEPT"));
        let mut dnat = cmp(Key::CtStatus, Pattern::AnyBit(ct_status::DST_NAT));
        dnat.when_absent = Absent::Unequal;
        assert_eq!(m, vec![dnat.clone()]);
        let r = rules_in(
            "filter",
            "INPUT",
            "-m conntrack --ctstate NEW,DNAT -j ACCEPT",
            Family::Ip,
        );
        assert_eq!(r.len(), 2);
        let m = matches(&rule("-m conntrack ! --ctstate NEW,DNAT -j ACCEPT"));
        assert_eq!(
            m,
            vec![
                cmp(Key::CtState, Pattern::AnyBit(ct_state::NEW)).negate(true),
                dnat.negate(true)
            ]
        );
    }

    #[test]
    fn conntrack_tuple_status_and_direction() {
        let m = matches(&rule(
            "-m conntrack --ctstate ESTABLISHED --ctproto tcp --ctorigdst 10.0.0.0/8 ! --ctorigdstport 80 --ctstatus ASSURED --ctdir REPLY -j ACCEPT",
        ));
        assert_eq!(
            m,
            vec![
                cmp(Key::CtState, Pattern::AnyBit(ct_state::ESTABLISHED)),
                cmp(Key::CtProto, int(6)),
                cmp(
                    Key::CtOrigDst,
                    Pattern::Prefix("10.0.0.0/8".parse().unwrap())
                ),
                cmp(Key::CtOrigDstPort, int(80)).negate(true),
                cmp(Key::CtStatus, Pattern::AnyBit(ct_status::ASSURED)),
                cmp(Key::CtDirection, int(1)),
            ]
        );
    }

    #[test]
    fn conntrack_expire_and_invalid_with_tuple_are_undecidable() {
        let m = matches(&rule("-m conntrack --ctexpire 10:20 -j ACCEPT"));
        assert!(matches!(m[0].test, Test::Undecidable { .. }));
        let m = matches(&rule(
            "-m conntrack --ctstate INVALID --ctorigsrc 10.0.0.1 -j ACCEPT",
        ));
        assert_eq!(m.len(), 1);
        assert!(matches!(m[0].test, Test::Undecidable { .. }));
    }

    #[test]
    fn addrtype_types_and_interface_limit() {
        let m = matches(&rule(
            "-m addrtype ! --dst-type LOCAL,BROADCAST --limit-iface-in -j DROP",
        ));
        let key = Key::FibAddrType {
            dst: true,
            iface: Some(IfaceLimit::In),
        };
        assert_eq!(
            m,
            vec![cmp(
                key,
                Pattern::OneOf(vec![int(rtn::LOCAL), int(rtn::BROADCAST)])
            )
            .negate(true)]
        );
        let m = matches(&rule("-m addrtype --src-type LOCAL -j DROP"));
        assert_eq!(
            m,
            vec![cmp(
                Key::FibAddrType {
                    dst: false,
                    iface: None
                },
                int(rtn::LOCAL)
            )]
        );
    }

    #[test]
    fn iprange() {
        let m = matches(&rule("-m iprange ! --src-range 10.0.0.1-10.0.0.9 -j DROP"));
        let range = Pattern::Range(
            Value::Addr("10.0.0.1".parse().unwrap()),
            Value::Addr("10.0.0.9".parse().unwrap()),
        );
        assert_eq!(m, vec![cmp(Key::SrcAddr, range).negate(true)]);
    }

    #[test]
    fn mac_source() {
        let m = matches(&rule("-m mac --mac-source 00:11:22:33:44:55 -j DROP"));
        let mac = model::packet::Mac([0, 0x11, 0x22, 0x33, 0x44, 0x55]);
        assert_eq!(m, vec![cmp(Key::EtherSrc, Pattern::Value(Value::Mac(mac)))]);
        assert!(matches!(
            err("-m mac --mac-source 00:11 -j DROP").kind,
            ErrorKind::InvalidValue { .. }
        ));
        let m = matches(&rule("-m mac --mac-source XX:XX:XX:XX:XX:XX -j DROP"));
        assert!(matches!(m[0].test, Test::Undecidable { .. }));
    }

    #[test]
    fn mark_and_connmark() {
        assert_eq!(
            matches(&rule("-m mark --mark 0x1/0xff -j DROP")),
            vec![cmp(
                Key::Mark,
                Pattern::Masked {
                    mask: 0xff,
                    value: 1
                }
            )]
        );
        assert_eq!(
            matches(&rule("-m connmark ! --mark 5 -j DROP")),
            vec![cmp(
                Key::CtMark,
                Pattern::Masked {
                    mask: 0xffff_ffff,
                    value: 5
                }
            )
            .negate(true)]
        );
    }

    #[test]
    fn pkttype() {
        assert_eq!(
            matches(&rule("-m pkttype --pkt-type broadcast -j DROP")),
            vec![cmp(Key::PktType, int(1))]
        );
        assert_eq!(
            matches(&rule("-m pkttype --pkt-type unicast -j DROP")),
            vec![cmp(Key::PktType, int(0))]
        );
        assert_eq!(
            matches(&rule("-m pkttype --pkt-type otherhost -j DROP")),
            vec![cmp(Key::PktType, int(3))]
        );
    }

    #[test]
    fn owner_numeric_names_and_socket() {
        let mut uid = cmp(Key::SkUid, int(1000)).negate(true);
        uid.when_absent = Absent::Unequal;
        assert_eq!(
            matches(&rule("-m owner ! --uid-owner 1000 -j DROP")),
            vec![uid]
        );
        let m = matches(&rule("-m owner --gid-owner staff -j DROP"));
        assert!(matches!(
            &m[0].test,
            Test::Undecidable {
                kind: Undecidable::Unsupported(_),
                ..
            }
        ));
        let m = matches(&rule("-m owner --socket-exists -j DROP"));
        assert!(matches!(
            &m[0].test,
            Test::Undecidable {
                kind: Undecidable::Socket,
                ..
            }
        ));
    }

    #[test]
    fn length_ttl_hl() {
        assert_eq!(
            matches(&rule("-m length --length 0:64 -j DROP")),
            vec![cmp(
                Key::Length,
                Pattern::Range(Value::Int(0), Value::Int(64))
            )]
        );
        assert_eq!(
            matches(&rule("-m ttl --ttl-lt 5 -j DROP")),
            vec![cmp(Key::Ttl, Pattern::Compare(CmpOp::Lt, Value::Int(5)))]
        );
        assert_eq!(
            matches(&rule("-m ttl ! --ttl-eq 64 -j DROP")),
            vec![cmp(Key::Ttl, int(64)).negate(true)]
        );
        assert_eq!(
            matches(&rule6("-m hl --hl-gt 1 -j DROP")),
            vec![cmp(Key::Ttl, Pattern::Compare(CmpOp::Gt, Value::Int(1)))]
        );
    }

    #[test]
    fn tos_and_dscp() {
        assert_eq!(
            matches(&rule("-m tos --tos Minimize-Delay -j DROP")),
            vec![cmp(
                Key::Tos,
                Pattern::Masked {
                    mask: 0x3f,
                    value: 0x10
                }
            )]
        );
        assert_eq!(
            matches(&rule("-m dscp --dscp 46 -j DROP")),
            vec![cmp(Key::Dscp, int(46))]
        );
        assert_eq!(
            matches(&rule("-m dscp ! --dscp-class AF41 -j DROP")),
            vec![cmp(Key::Dscp, int(34)).negate(true)]
        );
    }

    #[test]
    fn physdev_compares_unequal_when_not_bridged() {
        let m = matches(&rule(
            "-m physdev --physdev-in vnet0 ! --physdev-is-bridged -j DROP",
        ));
        let mut a = cmp(Key::PhysIn, Pattern::Iface("vnet0".into()));
        a.when_absent = Absent::Unequal;
        let mut b = cmp(Key::PhysIsBridged, int(1)).negate(true);
        b.when_absent = Absent::Unequal;
        assert_eq!(m, vec![a, b]);
    }

    #[test]
    fn ipset_lookup() {
        let m = matches(&rule(
            "-m set ! --match-set blocked src,dst --return-nomatch -j DROP",
        ));
        assert!(matches!(m[0].test, Test::Undecidable { .. }));
        let m = matches(&rule(
            "-m set --match-set blocked src,dst ! --update-counters -j DROP",
        ));
        let set = SetRef::Ipset {
            name: "blocked".into(),
            src: vec![true, false],
        };
        assert_eq!(m, vec![Match::new(Test::InSet { keys: vec![], set })]);
    }

    #[test]
    fn rpfilter_flags() {
        let m = matches(&rule("-m rpfilter --loose --invert -j DROP"));
        assert_eq!(
            m,
            vec![Match::new(Test::RpFilter {
                loose: true,
                validmark: false,
                accept_local: false
            })
            .negate(true)]
        );
    }

    #[test]
    fn ipsec_policy() {
        let m = matches(&rule("-m policy --dir in --pol none -j ACCEPT"));
        assert_eq!(
            m,
            vec![Match::new(Test::IpsecPolicy {
                dir_in: true,
                ipsec: false
            })]
        );
        let m = matches(&rule(
            "-m policy --dir out --pol ipsec --proto esp -j ACCEPT",
        ));
        assert_eq!(
            m,
            vec![Match::new(Test::IpsecPolicy {
                dir_in: false,
                ipsec: true
            })]
        );
    }

    #[test]
    fn routing_header_type() {
        assert_eq!(
            matches(&rule6("-m rt --rt-type 0 -j DROP")),
            vec![cmp(Key::Ip6RtType, int(0))]
        );
        let m = matches(&rule6("-m rt --rt-type 0 --rt-segsleft 0 -j DROP"));
        assert!(matches!(m[1].test, Test::Undecidable { .. }));
    }

    #[test]
    fn undecidable_modules_keep_their_text() {
        let m = matches(&rule("-m limit --limit 3/min --limit-burst 10 -j LOG"));
        assert_eq!(
            m,
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::Limit,
                text: "-m limit --limit 3/min --limit-burst 10".into()
            })]
        );
        let m = matches(&rule(
            "-m recent --name ssh --update --seconds 60 --hitcount 4 -j DROP",
        ));
        assert!(matches!(
            &m[0].test,
            Test::Undecidable {
                kind: Undecidable::Recent,
                ..
            }
        ));
        let m = matches(&rule(
            "-m statistic --mode random --probability 0.5 -j DROP",
        ));
        assert!(matches!(
            &m[0].test,
            Test::Undecidable {
                kind: Undecidable::Statistic,
                ..
            }
        ));
    }

    #[test]
    fn unknown_module_is_undecidable_not_an_error() {
        let m = matches(&rule(
            "-m cgroup --path user.slice -p tcp --dport 22 -j DROP",
        ));
        assert!(
            matches!(&m[1].test, Test::Undecidable { kind: Undecidable::Unsupported(n), text } if n == "cgroup" && text == "-m cgroup --path user.slice")
        );
        assert_eq!(m[2], cmp(Key::DstPort, int(22)));
        let m = matches(&rule6("-m frag --fragid 5 -j DROP"));
        assert!(
            matches!(&m[0].test, Test::Undecidable { kind: Undecidable::Unsupported(n), .. } if n == "frag")
        );
    }

    #[test]
    fn unknown_option_of_known_module_is_an_error() {
        let e = err("-p tcp -m tcp --bogus 1 -j ACCEPT");
        assert!(matches!(e.kind, ErrorKind::Unsupported { .. }));
        assert_eq!(e.line_col(), (3, 24));
    }

    // ---- targets ----

    #[test]
    fn verdict_targets() {
        assert_eq!(
            actions(&rule("-j ACCEPT")),
            vec![Action::Verdict(Verdict::Accept)]
        );
        assert_eq!(
            actions(&rule("-j DROP")),
            vec![Action::Verdict(Verdict::Drop)]
        );
        assert_eq!(
            actions(&rule("-j RETURN")),
            vec![Action::Verdict(Verdict::Return)]
        );
        assert!(actions(&rule("-p tcp")).is_empty());
    }

    #[test]
    fn reject_with_every_type() {
        assert_eq!(
            actions(&rule("-j REJECT")),
            vec![Action::Verdict(Verdict::Reject(Reject::Icmp(3)))]
        );
        for (name, code) in [
            ("icmp-net-unreachable", 0),
            ("icmp-host-unreachable", 1),
            ("icmp-proto-unreachable", 2),
            ("icmp-port-unreachable", 3),
            ("icmp-net-prohibited", 9),
            ("icmp-host-prohibited", 10),
            ("icmp-admin-prohibited", 13),
            ("host-prohib", 10),
        ] {
            assert_eq!(
                actions(&rule(&format!("-j REJECT --reject-with {name}"))),
                vec![Action::Verdict(Verdict::Reject(Reject::Icmp(code)))]
            );
        }
        assert_eq!(
            actions(&rule("-p tcp -j REJECT --reject-with tcp-reset")),
            vec![Action::Verdict(Verdict::Reject(Reject::TcpReset))]
        );
        assert_eq!(
            actions(&rule6("-j REJECT")),
            vec![Action::Verdict(Verdict::Reject(Reject::Icmpv6(4)))]
        );
        for (name, code) in [
            ("icmp6-no-route", 0),
            ("adm-prohibited", 1),
            ("icmp6-addr-unreachable", 3),
            ("icmp6-policy-fail", 5),
            ("icmp6-reject-route", 6),
        ] {
            assert_eq!(
                actions(&rule6(&format!("-j REJECT --reject-with {name}"))),
                vec![Action::Verdict(Verdict::Reject(Reject::Icmpv6(code)))]
            );
        }
        assert!(matches!(
            err("-j REJECT --reject-with icmp6-no-route").kind,
            ErrorKind::InvalidValue { .. }
        ));
    }

    #[test]
    fn log_options() {
        let a = actions(&rule(
            "-j LOG --log-prefix \"[UFW BLOCK] \" --log-level info --log-tcp-options --log-uid",
        ));
        let Action::Log(l) = &a[0] else {
            panic!("{a:?}")
        };
        assert_eq!(
            (
                l.kind,
                l.prefix.as_str(),
                l.level,
                l.tcp_options,
                l.uid,
                l.ip_options
            ),
            (LogKind::Kernel, "[UFW BLOCK] ", Some(6), true, true, false)
        );
        let a = actions(&rule("-j LOG"));
        let Action::Log(l) = &a[0] else { panic!() };
        assert_eq!(l.level, Some(4));
    }

    #[test]
    fn nflog_and_ulog() {
        let a = actions(&rule("-j NFLOG --nflog-group 5 --nflog-prefix drop"));
        let Action::Log(l) = &a[0] else { panic!() };
        assert_eq!(
            (l.kind, l.prefix.as_str()),
            (LogKind::Nflog { group: 5 }, "drop")
        );
        let a = actions(&rule("-j ULOG --ulog-nlgroup 2"));
        let Action::Log(l) = &a[0] else { panic!() };
        assert_eq!(l.kind, LogKind::Ulog { group: 2 });
    }

    #[test]
    fn trace_target() {
        let a = rules_in("raw", "PREROUTING", "-j TRACE", Family::Ip);
        assert_eq!(actions(&a[0]), vec![Action::Trace]);
    }

    #[test]
    fn mark_target_xmark_forms() {
        assert_eq!(
            actions(&rule("-j MARK --set-xmark 0x1/0xff")),
            vec![Action::SetMark {
                value: 1,
                mask: 0xff
            }]
        );
        assert_eq!(
            actions(&rule("-j MARK --set-mark 0x1")),
            vec![Action::SetMark {
                value: 1,
                mask: u32::MAX
            }]
        );
        assert_eq!(
            actions(&rule("-j MARK --and-mark 0xf0")),
            vec![Action::SetMark {
                value: 0,
                mask: !0xf0
            }]
        );
        assert_eq!(
            actions(&rule("-j MARK --or-mark 4")),
            vec![Action::SetMark { value: 4, mask: 4 }]
        );
        assert_eq!(
            actions(&rule("-j MARK --xor-mark 4")),
            vec![Action::SetMark { value: 4, mask: 0 }]
        );
        assert!(matches!(err("-j MARK").kind, ErrorKind::Expected { .. }));
    }

    #[test]
    fn connmark_target() {
        assert_eq!(
            actions(&rule("-j CONNMARK --set-xmark 0x2/0xf")),
            vec![Action::CtMark(CtMarkOp::SetXmark {
                value: 2,
                mask: 0xf
            })]
        );
        assert_eq!(
            actions(&rule("-j CONNMARK --save-mark --nfmask 0xff --ctmask 0xf")),
            vec![Action::CtMark(CtMarkOp::Save {
                nfmask: 0xff,
                ctmask: 0xf
            })]
        );
        assert_eq!(
            actions(&rule("-j CONNMARK --restore-mark --mask 0xff")),
            vec![Action::CtMark(CtMarkOp::Restore {
                nfmask: 0xff,
                ctmask: 0xff
            })]
        );
    }

    fn nat_action(table_chain: (&str, &str), rest: &str, family: Family) -> Nat {
        let r = rules_in(table_chain.0, table_chain.1, rest, family);
        let a = actions(&r[0]);
        assert_eq!(a[1], Action::Verdict(Verdict::Accept));
        match &a[0] {
            Action::Nat(n) => n.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dnat_and_snat_ranges() {
        let n = nat_action(
            ("nat", "PREROUTING"),
            "-p tcp --dport 80 -j DNAT --to-destination 10.0.0.2-10.0.0.3:8080-8081 --random",
            Family::Ip,
        );
        assert_eq!(n.kind, NatKind::Dnat);
        assert_eq!(
            n.addr,
            Some(("10.0.0.2".parse().unwrap(), "10.0.0.3".parse().unwrap()))
        );
        assert_eq!(n.ports, Some((8080, 8081)));
        assert!(n.random);
        let n = nat_action(
            ("nat", "POSTROUTING"),
            "-j SNAT --to-source 1.2.3.4 --persistent --random-fully",
            Family::Ip,
        );
        assert_eq!(
            (n.kind, n.ports, n.persistent, n.fully_random),
            (NatKind::Snat, None, true, true)
        );
        let n = nat_action(
            ("nat", "PREROUTING"),
            "-p tcp -j DNAT --to-destination [2001:db8::1]:443",
            Family::Ip6,
        );
        assert_eq!(
            n.addr,
            Some((
                "2001:db8::1".parse().unwrap(),
                "2001:db8::1".parse().unwrap()
            ))
        );
        assert_eq!(n.ports, Some((443, 443)));
        let n = nat_action(
            ("nat", "PREROUTING"),
            "-j DNAT --to-destination 2001:db8::1",
            Family::Ip6,
        );
        assert_eq!(n.ports, None);
        let n = nat_action(
            ("nat", "PREROUTING"),
            "-p tcp -j DNAT --to-destination :8080",
            Family::Ip,
        );
        assert_eq!((n.addr, n.ports), (None, Some((8080, 8080))));
    }

    #[test]
    fn masquerade_redirect_netmap() {
        let n = nat_action(
            ("nat", "POSTROUTING"),
            "-p tcp -j MASQUERADE --to-ports 1024-2048",
            Family::Ip,
        );
        assert_eq!((n.kind, n.ports), (NatKind::Masquerade, Some((1024, 2048))));
        let n = nat_action(
            ("nat", "PREROUTING"),
            "-p tcp -j REDIRECT --to-ports 3128",
            Family::Ip,
        );
        assert_eq!((n.kind, n.ports), (NatKind::Redirect, Some((3128, 3128))));
        let n = nat_action(
            ("nat", "PREROUTING"),
            "-j NETMAP --to 10.1.0.0/16",
            Family::Ip,
        );
        assert_eq!(
            n.addr,
            Some(("10.1.0.0".parse().unwrap(), "10.1.255.255".parse().unwrap()))
        );
    }

    #[test]
    fn notrack_and_ct() {
        let r = |rest: &str| actions(&rules_in("raw", "PREROUTING", rest, Family::Ip)[0]);
        assert_eq!(r("-j NOTRACK"), vec![Action::Notrack]);
        assert_eq!(r("-j CT --notrack"), vec![Action::Notrack]);
        assert_eq!(
            r("-p tcp -j CT --helper ftp --zone 3"),
            vec![Action::CtSet {
                helper: Some("ftp".into()),
                zone: Some(3)
            }]
        );
        assert_eq!(
            r("-j CT --ctevents new,destroy"),
            vec![Action::Shown("CT".into())]
        );
    }

    #[test]
    fn nfqueue_options() {
        let a = actions(&rule(
            "-j NFQUEUE --queue-balance 2:5 --queue-bypass --fanout",
        ));
        assert_eq!(
            a,
            vec![Action::Verdict(Verdict::Queue(Queue {
                num: 2,
                last: 5,
                bypass: true,
                fanout: true
            }))]
        );
        let a = actions(&rule("-j NFQUEUE --queue-num 7"));
        assert_eq!(
            a,
            vec![Action::Verdict(Verdict::Queue(Queue {
                num: 7,
                last: 7,
                bypass: false,
                fanout: false
            }))]
        );
    }

    #[test]
    fn shown_targets() {
        for (t, rest) in [
            (
                "TCPMSS",
                "-p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
            ),
            ("CHECKSUM", "-j CHECKSUM --checksum-fill"),
            ("CLASSIFY", "-j CLASSIFY --set-class 1:10"),
            ("AUDIT", "-j AUDIT --type drop"),
            ("SECMARK", "-j SECMARK --selctx system_u:object_r:x:s0"),
            ("CONNSECMARK", "-j CONNSECMARK --save"),
        ] {
            let r = rules_in("mangle", "FORWARD", rest, Family::Ip);
            assert_eq!(actions(&r[0]), vec![Action::Shown(t.into())]);
        }
    }

    #[test]
    fn dscp_and_tos_targets() {
        let r = |rest: &str| actions(&rules_in("mangle", "OUTPUT", rest, Family::Ip)[0]);
        assert_eq!(r("-j DSCP --set-dscp 10"), vec![Action::SetDscp(10)]);
        assert_eq!(r("-j DSCP --set-dscp-class EF"), vec![Action::SetDscp(46)]);
        assert_eq!(
            r("-j TOS --set-tos 0x10/0x3f"),
            vec![Action::SetTos {
                value: 0x10,
                mask: 0x3f
            }]
        );
        assert_eq!(
            r("-j TOS --and-tos 0x0f"),
            vec![Action::SetTos {
                value: 0,
                mask: 0xf0
            }]
        );
        assert_eq!(
            r("-j TOS --or-tos 0x08"),
            vec![Action::SetTos { value: 8, mask: 8 }]
        );
        assert_eq!(
            r("-j TOS --xor-tos 0x08"),
            vec![Action::SetTos { value: 8, mask: 0 }]
        );
    }

    #[test]
    fn unknown_targets_are_undecidable() {
        assert_eq!(
            actions(&rule("-p tcp -j TARPIT")),
            vec![Action::Undecidable("TARPIT".into())]
        );
        assert_eq!(
            actions(&rule("-j FOOBAR --foo-level 3")),
            vec![Action::Undecidable("FOOBAR".into())]
        );
    }
}
