//! A rule: its statements, the `comment` and `# handle N` that close it, and the
//! statements that are skipped or only shown (`limit`, `quota`, `dup`, `flow add`, ...).

use super::block::collapse;
use super::{State, P, R};
use crate::nft::ast::{BinOp, ChainAst, Expr, RuleAst, Stmt, StmtKind, VerdictAst};
use crate::nft::lexer::{Kind, Token};
use crate::unmodelled::unmodelled;
use model::expr::{Effect, Undecidable};
use model::source::Counters;
use model::Span;

impl<'s> P<'s> {
    /// One rule, up to the end of its line (or `;`, or the chain's `}`).
    pub(super) fn rule(&mut self, st: &mut State, ti: usize) -> R<RuleAst> {
        let start = self.peek(st)?.map_or(0, |t| t.span.start as usize);
        let mut stmts = Vec::new();
        let mut comment = None;
        let mut counters = None;
        let mut end = start;
        while let Some(t) = self.peek(st)?.cloned() {
            if t.is_end() || t.is_punct("}") || t.kind == Kind::Comment {
                break;
            }
            let before = self.pos;
            if t.is("comment") {
                self.pos += 1;
                comment = Some(self.name(st, "a comment string")?.text);
            } else if t.is("counter") {
                self.pos += 1;
                if self.eat(st, "packets")? {
                    let packets = self.number(st, "a packet count")? as u64;
                    if !self.eat(st, "bytes")? {
                        return Err(self.expected_here(st, "`bytes`"));
                    }
                    let bytes = self.number(st, "a byte count")? as u64;
                    counters = Some(Counters { packets, bytes });
                } else if self.eat(st, "name")? {
                    self.name(st, "a counter name")?;
                }
                stmts.push(Stmt {
                    kind: StmtKind::Counter,
                    span: Span::new(t.span.start as usize, self.prev_end()),
                    text: "counter".into(),
                });
            } else {
                let s = self.stmt(st, ti)?;
                stmts.push(s);
            }
            if self.pos == before {
                return Err(self.expected_here(st, "a statement"));
            }
            end = self.prev_end();
        }
        let mut origin = self.origin_from(start, end);
        origin.handle = self.handle_comment();
        origin.comment = comment;
        origin.counters = counters;
        if stmts.is_empty() {
            return Err(self.expected_here(st, "a rule"));
        }
        Ok(RuleAst { stmts, origin })
    }

    pub(super) fn prev_end(&self) -> usize {
        self.toks
            .get(self.pos.wrapping_sub(1))
            .map_or(0, |t| t.span.end as usize)
    }

    pub(super) fn stmt(&mut self, st: &mut State, ti: usize) -> R<Stmt> {
        let Some(t) = self.peek(st)?.cloned() else {
            return Err(self.expected_here(st, "a statement"));
        };
        let start = t.span.start as usize;
        let kind = self.stmt_kind(st, ti, &t)?;
        Ok(Stmt {
            kind,
            span: Span::new(start, self.prev_end().max(start)),
            text: self.text_from(start),
        })
    }

    pub(super) fn text_from(&self, start: usize) -> String {
        collapse(
            self.src
                .text
                .get(start..self.prev_end().max(start))
                .unwrap_or(""),
        )
    }

    pub(super) fn stmt_kind(&mut self, st: &mut State, ti: usize, t: &Token) -> R<StmtKind> {
        if t.kind == Kind::Word {
            if let Some(kind) = self.keyword_stmt(st, ti, t)? {
                return Ok(kind);
            }
        }
        self.selector_stmt(st, t)
    }

    /// A statement led by its keyword (`accept`, `jump`, `log`, `reject`, `snat`, `limit`,
    /// `add @s`, `dup`, ...); `None` when `t` starts a selector instead.
    fn keyword_stmt(&mut self, st: &mut State, ti: usize, t: &Token) -> R<Option<StmtKind>> {
        let start = t.span.start as usize;
        let next_is = |p: &Self, f: &dyn Fn(&Token) -> bool| p.toks.get(p.pos + 1).is_some_and(f);
        if matches!(t.text.as_str(), "accept" | "drop" | "continue" | "return") {
            let v = self.verdict(st)?.unwrap_or(VerdictAst::Accept);
            return Ok(Some(StmtKind::Verdict(v)));
        }
        let kind = match t.text.as_str() {
            "add" | "update" | "delete" if next_is(self, &|n| n.kind == Kind::At) => {
                self.pos += 1;
                self.set_update(st, &t.text)?
            }
            "dup" | "fwd" | "tproxy" | "synproxy" | "flow" | "xt" | "last" | "secmark" | "osf"
                if !self.is_selector_stmt(t) =>
            {
                self.pos += 1;
                self.effect_stmt(st, t, start)?
            }
            "ct" if next_is(self, &|n| n.is("count")) => {
                self.pos += 2;
                self.eat(st, "over")?;
                self.word(st, "a connection count")?;
                StmtKind::Undecidable {
                    kind: Undecidable::CtCount,
                    text: self.text_from(start),
                }
            }
            "jump" | "goto" | "queue" | "log" | "reject" | "snat" | "dnat" | "masquerade"
            | "redirect" | "notrack" | "limit" | "quota" | "meter" => {
                self.pos += 1;
                match t.text.as_str() {
                    "jump" | "goto" => self.jump(st, ti, t.text == "jump")?,
                    "queue" => self.queue(st)?,
                    "log" => self.log(st)?,
                    "reject" => self.reject(st)?,
                    "notrack" => StmtKind::Notrack,
                    "limit" | "quota" | "meter" => self.stateful(st, &t.text, start)?,
                    nat => self.nat(st, nat)?,
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(kind))
    }

    /// `limit ...`, `quota ...`, `meter NAME { ... }`: undecidable offline.
    fn stateful(&mut self, st: &State, word: &str, start: usize) -> R<StmtKind> {
        self.skip_stateful(st)?;
        if word == "meter" {
            self.skip_braced(st)?;
        }
        let kind = if word == "quota" {
            Undecidable::Quota
        } else {
            Undecidable::Limit
        };
        Ok(StmtKind::Undecidable {
            kind,
            text: self.text_from(start),
        })
    }

    /// `add|update|delete @set { ELEM [limit ...] }`, after the operation.
    fn set_update(&mut self, st: &State, op: &str) -> R<StmtKind> {
        let set = self.next(st)?.map(|s| s.text).unwrap_or_default();
        self.expect_punct(st, "{")?;
        let elem = self.concat_value(st, true)?;
        let mut stateful = false;
        loop {
            self.skip_ends(st)?;
            let Some(n) = self.next(st)? else {
                return Err(self.expected_here(st, "`}`"));
            };
            if n.is_punct("}") {
                break;
            }
            if n.is("limit") || n.is("quota") || n.is("ct") {
                stateful = true;
            }
        }
        Ok(StmtKind::SetUpdate {
            op: op.to_string(),
            set,
            elem,
            stateful,
        })
    }

    /// Statements whose arguments are skipped: the effects whyblocked knows (`dup`,
    /// `flow add @ft`, `last`, `secmark`), iptables-nft's `xt` compat expressions, and the
    /// ones it does not model (`fwd`, `tproxy`, `synproxy`, `osf`).
    fn effect_stmt(&mut self, st: &State, t: &Token, start: usize) -> R<StmtKind> {
        let args = self.pos;
        self.skip_args(st)?;
        let text = self.text_from(start);
        let compat = " (iptables-nft compat expression: pass the iptables-save view too)";
        Ok(match t.text.as_str() {
            "dup" => StmtKind::Effect(Effect::Dup),
            "flow" => {
                let flowtable = self.toks[args..self.pos]
                    .iter()
                    .find(|a| a.kind == Kind::At)
                    .map(|a| a.text.clone())
                    .unwrap_or_default();
                StmtKind::Effect(Effect::FlowOffload { flowtable })
            }
            "last" => StmtKind::Effect(Effect::Last),
            "secmark" => StmtKind::Effect(Effect::Secmark),
            "xt" if text.starts_with("xt match") => StmtKind::Undecidable {
                kind: Undecidable::Unsupported(unmodelled(format!("{text}{compat}"))),
                text,
            },
            "xt" => StmtKind::Unknown(format!("{text}{compat}")),
            _ => StmtKind::Unknown(text),
        })
    }

    /// A selector-led statement: a match, `KEY set VALUE`, or `KEY vmap DATA`.
    fn selector_stmt(&mut self, st: &State, t: &Token) -> R<StmtKind> {
        let Some(left) = self.binop_expr(st, true)? else {
            return Err(self.unsupported(t.span, format!("statement `{}`", t.text)));
        };
        let left = self.finish_concat(st, left, true)?;
        if self.eat(st, "set")? {
            let value = self.value_expr(st, true)?;
            return Ok(StmtKind::Mangle { key: left, value });
        }
        if self.eat(st, "vmap")? {
            let data = self.term(st, false)?;
            return Ok(StmtKind::VMap { key: left, data });
        }
        let op = self.op(st)?;
        let right = self.value_expr(st, false)?;
        let mut left = left;
        // `tcp flags syn / fin,syn,rst,ack`: (flags & mask) == value.
        if self.eat(st, "/")? {
            let mask = self.value_expr(st, false)?;
            left = Expr::Binop {
                op: BinOp::And,
                left: Box::new(left),
                right: Box::new(mask),
            };
        }
        Ok(StmtKind::Match { left, op, right })
    }

    /// `dup to`, `fwd to` and such are statements, but `osf name` is a selector.
    pub(super) fn is_selector_stmt(&self, t: &Token) -> bool {
        t.text == "osf"
    }

    /// Words of a statement we only show (`dup to 1.2.3.4 device eth0`), up to the next
    /// verdict or the end of the rule.
    pub(super) fn skip_args(&mut self, st: &State) -> R<()> {
        while let Some(t) = self.peek(st)? {
            if t.is_end() || t.is_punct("}") || t.kind == Kind::Comment {
                break;
            }
            if t.kind == Kind::Word
                && matches!(
                    t.text.as_str(),
                    "accept"
                        | "drop"
                        | "continue"
                        | "return"
                        | "jump"
                        | "goto"
                        | "counter"
                        | "comment"
                        | "log"
                )
            {
                break;
            }
            if t.is_punct("{") {
                self.skip_braced(st)?;
                continue;
            }
            self.pos += 1;
        }
        Ok(())
    }

    pub(super) fn skip_braced(&mut self, st: &State) -> R<()> {
        if !self.eat_punct(st, "{")? {
            return Ok(());
        }
        let mut depth = 1;
        while let Some(t) = self.next(st)? {
            if t.is_punct("{") {
                depth += 1;
            } else if t.is_punct("}") {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
        }
        Ok(())
    }

    /// `rate [over] 10/second [burst 5 packets]`, `over 25 mbytes used 0 bytes`, `name "x"`.
    pub(super) fn skip_stateful(&mut self, st: &State) -> R<()> {
        if self.eat(st, "name")? {
            self.name(st, "a name")?;
            return Ok(());
        }
        while let Some(t) = self.peek(st)? {
            let w = t.text.as_str();
            let unit = matches!(
                w,
                "rate"
                    | "over"
                    | "until"
                    | "burst"
                    | "used"
                    | "packets"
                    | "bytes"
                    | "kbytes"
                    | "mbytes"
                    | "gbytes"
                    | "inv"
            ) || w.contains('/')
                || w.bytes().next().is_some_and(|b| b.is_ascii_digit());
            if t.kind == Kind::Word && unit {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(())
    }

    /// `jump { ... }` after `{`: a new chain named as the kernel names bindings.
    pub(super) fn binding(&mut self, st: &mut State, ti: usize) -> R<String> {
        let key = (st.tables[ti].name.clone(), st.tables[ti].family.to_string());
        let n = st.bindings.entry(key).or_insert(0);
        let name = format!("__chain{n}");
        *n += 1;
        let start = self
            .toks
            .get(self.pos.wrapping_sub(1))
            .map_or(0, |t| t.span.start as usize);
        let origin = self.header_origin(start);
        st.tables[ti].chains.push(ChainAst {
            name: name.clone(),
            hook: None,
            rules: vec![],
            origin,
        });
        self.chain_body(st, ti, &name)?;
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    #[test]
    fn chain_bindings_become_chains() {
        let rs = text("table inet x {\n chain y {\n  tcp dport 53 jump {\n   ip saddr 10.0.0.1 accept\n  }\n  drop\n }\n}\n");
        let t = &rs.tables[0];
        assert_eq!(t.chains[1].name, "__chain0");
        assert_eq!(
            t.chains[0].rules[0].body.last(),
            Some(&act(Action::Verdict(Verdict::Jump("__chain0".into()))))
        );
        assert_eq!(t.chains[0].rules.len(), 2);
        assert_eq!(t.chains[1].rules.len(), 1);
    }
}
