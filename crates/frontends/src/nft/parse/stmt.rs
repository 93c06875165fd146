//! Statements with their own grammar: verdicts, `queue`, `log`, and NAT
//! (`snat`/`dnat`/`masquerade`/`redirect` with addresses, ports and flags).

use super::expr::split_addr_port;
use super::{parse_int, State, P, R};
use crate::nft::ast::{Expr, LogAst, QueueNum, StmtKind, VerdictAst};
use crate::nft::lexer::Kind;
use crate::ErrorKind;

impl<'s> P<'s> {
    /// `jump|goto CHAIN` or `jump|goto { RULES }` (a chain binding), after the keyword.
    pub(super) fn jump(&mut self, st: &mut State, ti: usize, jump: bool) -> R<StmtKind> {
        let target = if self.peek(st)?.is_some_and(|n| n.is_punct("{")) {
            self.pos += 1;
            self.binding(st, ti)?
        } else {
            self.name(st, "a chain name")?.text
        };
        Ok(StmtKind::Verdict(if jump {
            VerdictAst::Jump(target)
        } else {
            VerdictAst::Goto(target)
        }))
    }

    /// `reject [with icmp|icmpv6|icmpx [type] CODE | with tcp reset]`, after `reject`.
    pub(super) fn reject(&mut self, st: &State) -> R<StmtKind> {
        if !self.eat(st, "with")? {
            return Ok(StmtKind::Reject {
                kind: None,
                code: None,
            });
        }
        let kind = self.word(st, "icmp, icmpv6, icmpx or tcp")?;
        if kind.text == "tcp" {
            if !self.eat(st, "reset")? {
                return Err(self.expected_here(st, "`reset`"));
            }
            return Ok(StmtKind::Reject {
                kind: Some("tcp reset".into()),
                code: None,
            });
        }
        self.eat(st, "type")?;
        let code = self.word(st, "a reject code")?.text;
        let kind = if kind.text == "icmp6" {
            "icmpv6".to_string()
        } else {
            kind.text
        };
        Ok(StmtKind::Reject {
            kind: Some(kind),
            code: Some(code),
        })
    }

    pub(super) fn verdict(&mut self, st: &State) -> R<Option<VerdictAst>> {
        let Some(t) = self.peek(st)?.filter(|t| t.kind == Kind::Word).cloned() else {
            return Ok(None);
        };
        let v = match t.text.as_str() {
            "accept" => VerdictAst::Accept,
            "drop" => VerdictAst::Drop,
            "continue" => VerdictAst::Continue,
            "return" => VerdictAst::Return,
            "jump" | "goto" => {
                self.pos += 1;
                let target = self.name(st, "a chain name")?.text;
                return Ok(Some(if t.text == "jump" {
                    VerdictAst::Jump(target)
                } else {
                    VerdictAst::Goto(target)
                }));
            }
            _ => return Ok(None),
        };
        self.pos += 1;
        Ok(Some(v))
    }

    pub(super) fn queue(&mut self, st: &State) -> R<StmtKind> {
        let mut flags = Vec::new();
        let mut num = None;
        loop {
            if self.eat(st, "flags")? {
                flags.extend(self.word_list(st)?);
            } else if self.eat(st, "num")? || self.eat(st, "to")? {
                num = Some(self.queue_num(st)?);
            } else if self
                .peek(st)?
                .is_some_and(|t| t.is("bypass") || t.is("fanout"))
            {
                flags.push(self.next(st)?.map(|t| t.text).unwrap_or_default());
                self.eat_punct(st, ",")?;
            } else {
                return Ok(StmtKind::Queue { num, flags });
            }
        }
    }

    pub(super) fn queue_num(&mut self, st: &State) -> R<QueueNum> {
        let t = self.word(st, "a queue number")?;
        if matches!(t.text.as_str(), "jhash" | "symhash" | "numgen") {
            let mut modulus = 1;
            let mut offset = 0;
            while let Some(n) = self.peek(st)? {
                if n.is_end()
                    || n.is_punct("}")
                    || n.kind == Kind::Comment
                    || n.is("bypass")
                    || n.is("fanout")
                {
                    break;
                }
                if n.is("mod") {
                    self.pos += 1;
                    modulus = self.number(st, "a modulus")? as u32;
                } else if n.is("offset") {
                    self.pos += 1;
                    offset = self.number(st, "an offset")? as u32;
                } else if n.is("seed") {
                    self.pos += 2;
                } else if n.kind == Kind::Word
                    && matches!(n.text.as_str(), "accept" | "drop" | "counter" | "comment")
                {
                    break;
                } else {
                    self.pos += 1;
                }
            }
            return Ok(QueueNum::Hashed { modulus, offset });
        }
        let (a, b) = t.text.split_once('-').unwrap_or((&t.text, &t.text));
        match (parse_int(a), parse_int(b)) {
            (Some(a), Some(b)) if (0..=65535).contains(&a) && (0..=65535).contains(&b) => {
                Ok(QueueNum::Range(a as u16, b as u16))
            }
            _ => Err(self.err(
                t.span,
                ErrorKind::InvalidValue {
                    what: "queue number".into(),
                    value: t.text.clone(),
                    reason: "expected N or N-M".into(),
                },
            )),
        }
    }

    pub(super) fn log(&mut self, st: &State) -> R<StmtKind> {
        let mut log = LogAst::default();
        while let Some(t) = self.peek(st)?.filter(|t| t.kind == Kind::Word).cloned() {
            match t.text.as_str() {
                "prefix" => {
                    self.pos += 1;
                    log.prefix = Some(self.name(st, "a log prefix")?.text);
                }
                "level" => {
                    self.pos += 1;
                    log.level = Some(self.word(st, "a log level")?.text);
                }
                "group" => {
                    self.pos += 1;
                    log.group = Some(self.number(st, "a log group")? as u16);
                }
                "snaplen" | "queue-threshold" => {
                    self.pos += 2;
                }
                "flags" => {
                    self.pos += 1;
                    let first = self.word(st, "log flags")?.text;
                    if first == "tcp" || first == "ip" {
                        for f in self.word_list(st)? {
                            log.flags.push(format!("{first} {f}"));
                        }
                    } else {
                        log.flags.push(first);
                        while self.eat_punct(st, ",")? {
                            log.flags.push(self.word(st, "a log flag")?.text);
                        }
                    }
                }
                _ => break,
            }
        }
        Ok(StmtKind::Log(log))
    }

    pub(super) fn nat(&mut self, st: &State, kind: &str) -> R<StmtKind> {
        let mut family = None;
        if let Some(f) = self
            .peek(st)?
            .filter(|t| t.is("ip") || t.is("ip6"))
            .map(|t| t.text.clone())
        {
            // `dnat ip to ...` (inet), not `dnat ip daddr map`: `ip` then `to`/`prefix`/`addr`.
            if self
                .toks
                .get(self.pos + 1)
                .is_some_and(|n| n.is("to") || n.is("prefix") || n.is("addr"))
            {
                self.pos += 1;
                family = Some(f);
            }
        }
        let mut prefix = false;
        for w in ["prefix", "addr", "port"] {
            if self.eat(st, w)? {
                prefix |= w == "prefix";
            }
        }
        let mut addr = None;
        let mut port = None;
        // `to` is optional before an address (`dnat 10.0.0.2:22`, older syntax).
        let bare = self.peek(st)?.is_some_and(|t| {
            t.kind == Kind::Word
                && t.text
                    .starts_with(|c: char| c.is_ascii_digit() || c == '[' || c == ':')
        });
        if bare || self.eat(st, "to")? {
            if self
                .peek(st)?
                .is_some_and(|t| t.kind == Kind::Word && t.text.starts_with(':'))
            {
                let t = self.word(st, "a port")?;
                port = Some(Expr::Value(t.text[1..].to_string()));
            } else {
                let e = self.value_expr(st, true)?;
                let e = split_addr_port(e, &mut port);
                addr = Some(e);
            }
        }
        if prefix {
            addr = addr.map(|a| Expr::Opaque {
                name: "nat prefix".into(),
                text: format!("{a:?}"),
            });
        }
        let mut flags = Vec::new();
        while let Some(t) = self
            .peek(st)?
            .filter(|t| matches!(t.text.as_str(), "random" | "fully-random" | "persistent"))
            .cloned()
        {
            self.pos += 1;
            flags.push(t.text);
            while self.eat_punct(st, ",")? {
                flags.push(self.word(st, "a NAT flag")?.text);
            }
        }
        Ok(StmtKind::Nat {
            kind: kind.to_string(),
            family,
            addr,
            port,
            flags,
        })
    }
}
