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
//! The parts, one job each (private; [`parse`] and [`guess_family`] are the entry points):
//! `lexer` splits a line into words with spans and quotes; `rule` reads one rule's
//! options; `matches` and `targets` lower `-m` modules and `-j` targets with the kernel's
//! semantics, one file per extension with its test table (`CONTRIBUTING.md` says how to
//! add one); `family` guesses ip vs ip6; this module reads the file structure (tables,
//! chain lines, commands, COMMIT) and resolves jumps.
//!
//! Contract: never panics on any input; every error has the exact span of the offending
//! word; anything not modelled is `Undecidable` (matches) or `Action::Undecidable`
//! (targets), never dropped.

mod cursor;
mod family;
pub(crate) mod lexer;
mod matches;
mod rule;
#[cfg(test)]
mod table_test;
mod targets;
pub(crate) mod values;

pub use family::guess_family;
pub(crate) use matches::COMMENT_MAX;

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
            text: text.into(),
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
            numbers: Default::default(),
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
                self.add_rule(cmd, name, &rest[2..], counters, at, cx)
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

    /// `-A CHAIN words` (or `-I CHAIN [n] words`, by `cmd`): the rules of `words` into the
    /// chain.
    fn add_rule(
        &mut self,
        cmd: &Token<'_>,
        chain: &Token<'_>,
        mut words: &[Token<'_>],
        counters: Option<Counters>,
        at: &Line<'_>,
        cx: &Cx<'_>,
    ) -> Result<(), ParseError> {
        let insert = matches!(&*cmd.text, "-I" | "--insert");
        let mut position = None;
        if insert {
            if let Some(n) = words
                .first()
                .filter(|t| !t.quoted && t.text.bytes().all(|b| b.is_ascii_digit()))
            {
                position = Some((rule_number(n, cx)?, n));
                words = &words[1..];
            }
        }
        let index = self.chain_index(chain, cx)?;
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

/// `-I CHAIN n`: the 0-based index of rule number `n` (numbered from 1).
fn rule_number(n: &Token<'_>, cx: &Cx<'_>) -> Result<usize, ParseError> {
    let v =
        values::number(&n.text, u32::MAX.into(), "rule number").map_err(|b| cx.invalid(n, b))?;
    if v == 0 {
        return Err(cx.invalid(n, values::bad("rule number", "rules are numbered from 1")));
    }
    Ok(v as usize - 1)
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
    use model::expr::{Key, Pattern, Test, Value};

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
            &*r.origin.text,
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
}
