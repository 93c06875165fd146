//! Expressions: selectors (`tcp dport`, `meta mark`, `ct original saddr`, `fib ...`),
//! operators, values, sets, binary operations and concatenations.

use super::{parse_int, State, P, R};
use crate::nft::ast::{BinOp, Expr, Op};
use crate::nft::lexer::{Kind, Token};
use crate::ParseError;

/// Payload protocols nft knows as `PROTO FIELD`.
pub(super) const PAYLOAD: &[&str] = &[
    "ether", "vlan", "arp", "ip", "ip6", "icmp", "icmpv6", "igmp", "tcp", "udp", "udplite", "sctp",
    "dccp", "th", "ah", "esp", "comp", "gre", "geneve", "vxlan", "gretap",
];

/// Meta keys that may be written without `meta`.
pub(super) const UNQUALIFIED_META: &[&str] = &[
    "iif",
    "oif",
    "iifname",
    "oifname",
    "iiftype",
    "oiftype",
    "mark",
    "skuid",
    "skgid",
    "nftrace",
    "rtclassid",
    "ibriport",
    "obriport",
    "ibrname",
    "obrname",
    "pkttype",
    "cpu",
    "iifgroup",
    "oifgroup",
    "cgroup",
    "random",
    "ipsec",
    "iifkind",
    "oifkind",
    "time",
    "day",
    "hour",
];

/// IPv6 extension headers (`frag more-fragments`, `hbh nexthdr`).
pub(super) const EXTHDR: &[&str] = &["hbh", "rt0", "rt2", "rt4", "srh", "frag", "dst", "mh"];

/// TCP option fields (`tcp option maxseg size`).
pub(super) const TCP_OPTION_FIELDS: &[&str] = &[
    "kind", "length", "size", "count", "left", "right", "tsval", "tsecr", "value", "subtype",
];

pub(super) fn binop_of(t: &Token) -> Option<(BinOp, u8)> {
    Some(match (t.kind.clone(), t.text.as_str()) {
        (Kind::Punct, "|") | (Kind::Word, "or") => (BinOp::Or, 1),
        (Kind::Punct, "^") | (Kind::Word, "xor") => (BinOp::Xor, 2),
        (Kind::Punct, "&") | (Kind::Word, "and") => (BinOp::And, 3),
        (Kind::Punct, "<<") | (Kind::Word, "lshift") => (BinOp::Shl, 4),
        (Kind::Punct, ">>") | (Kind::Word, "rshift") => (BinOp::Shr, 4),
        _ => return None,
    })
}

/// `1.2.3.4:80`, `[::1]:80`, `1.2.3.4:80-90`: the address part, with the port moved out.
pub(super) fn split_addr_port(e: Expr, port: &mut Option<Expr>) -> Expr {
    match e {
        Expr::Value(v) => {
            if let Some(rest) = v.strip_prefix('[') {
                if let Some((a, p)) = rest.split_once(']') {
                    if let Some(p) = p.strip_prefix(':') {
                        *port = Some(Expr::Value(p.to_string()));
                    }
                    return Expr::Value(a.to_string());
                }
            }
            if v.matches(':').count() == 1 {
                if let Some((a, p)) = v.split_once(':') {
                    *port = Some(Expr::Value(p.to_string()));
                    return Expr::Value(a.to_string());
                }
            }
            Expr::Value(v)
        }
        Expr::Range(a, b) => {
            let a = split_addr_port(*a, port);
            let mut p2 = None;
            let b = split_addr_port(*b, &mut p2);
            if port.is_none() {
                *port = p2;
            }
            Expr::Range(Box::new(a), Box::new(b))
        }
        other => other,
    }
}

impl<'s> P<'s> {
    pub(super) fn op(&mut self, st: &State) -> R<Op> {
        let Some(t) = self.peek(st)? else {
            return Ok(Op::Implicit);
        };
        let op = match (t.kind.clone(), t.text.as_str()) {
            (Kind::Punct, "==") | (Kind::Word, "eq") => Op::Eq,
            (Kind::Punct, "!=") | (Kind::Word, "ne") => Op::Ne,
            (Kind::Punct, "<") | (Kind::Word, "lt") => Op::Lt,
            (Kind::Punct, ">") | (Kind::Word, "gt") => Op::Gt,
            (Kind::Punct, "<=") | (Kind::Word, "le") => Op::Le,
            (Kind::Punct, ">=") | (Kind::Word, "ge") => Op::Ge,
            (Kind::Punct, "!") => Op::Neg,
            _ => return Ok(Op::Implicit),
        };
        self.pos += 1;
        Ok(op)
    }

    /// A selector (`tcp dport`, `meta mark`, `ct original saddr`, `fib saddr . iif oif`, ...)
    /// at the cursor, or None (cursor unchanged) when the word is not one.
    pub(super) fn selector(&mut self, st: &State) -> R<Option<Expr>> {
        let Some(t) = self.peek(st)?.cloned() else {
            return Ok(None);
        };
        let start = t.span.start as usize;
        if t.kind == Kind::At {
            return self.raw_payload(st);
        }
        if t.kind != Kind::Word {
            return Ok(None);
        }
        let w = t.text.as_str();
        let e = if PAYLOAD.contains(&w) {
            return self.payload(st, w, start);
        } else if w == "meta" {
            self.pos += 1;
            Expr::Meta(self.word(st, "a meta key")?.text)
        } else if UNQUALIFIED_META.contains(&w) {
            self.pos += 1;
            Expr::Meta(w.to_string())
        } else if w == "ct" {
            self.pos += 1;
            self.ct(st)?
        } else if w == "fib" {
            self.pos += 1;
            let mut flags = vec![self.word(st, "saddr or daddr")?.text];
            while self.eat(st, ".")? {
                flags.push(self.word(st, "a fib flag (iif, oif, mark)")?.text);
            }
            let result = self.word(st, "a fib result (oif, oifname, type)")?.text;
            Expr::Fib { flags, result }
        } else if w == "rt" || EXTHDR.contains(&w) || w == "exthdr" {
            return self.exthdr_or_rt(st, w, start);
        } else if matches!(
            w,
            "socket" | "osf" | "numgen" | "jhash" | "symhash" | "ipsec" | "tunnel"
        ) {
            self.pos += 1;
            self.opaque_args(st, w)?;
            Expr::Opaque {
                name: w.to_string(),
                text: self.text_from(start),
            }
        } else {
            return Ok(None);
        };
        Ok(Some(e))
    }

    /// The word `k` tokens after the cursor, if it is a word.
    fn word_at(&self, k: usize) -> Option<String> {
        self.toks
            .get(self.pos + k)
            .filter(|n| n.kind == Kind::Word)
            .map(|n| n.text.clone())
    }

    /// Raw payload `@nh,16,8` (the `,` parts follow), or None for a set reference.
    fn raw_payload(&mut self, st: &State) -> R<Option<Expr>> {
        if !self.toks.get(self.pos + 1).is_some_and(|n| n.is_punct(",")) {
            return Ok(None);
        }
        let base = self.toks[self.pos].text.clone();
        self.pos += 1;
        let mut numbers = [0u64; 2];
        for n in &mut numbers {
            self.expect_punct(st, ",")?;
            let w = self.word(st, "an offset or length in bits")?;
            *n = match parse_int(&w.text).and_then(|v| u64::try_from(v).ok()) {
                Some(v) => v,
                None => {
                    return Err(ParseError::expected(
                        self.src,
                        w.span,
                        "a number of bits",
                        &w.text,
                    ))
                }
            };
        }
        Ok(Some(Expr::Raw {
            base,
            offset: numbers[0],
            len: numbers[1],
        }))
    }

    /// `PROTO FIELD` (`tcp dport`), `tcp option NAME [FIELD]`, `sctp chunk NAME [FIELD]`;
    /// None when the next word is not a field.
    fn payload(&mut self, st: &State, w: &str, start: usize) -> R<Option<Expr>> {
        let Some(field) = self.word_at(1) else {
            return Ok(None);
        };
        if field == "option" && (w == "tcp" || w == "ip") {
            self.pos += 2;
            let name = self.word(st, "an option name")?.text;
            let field = match self.peek(st)? {
                Some(f) if f.kind == Kind::Word && TCP_OPTION_FIELDS.contains(&f.text.as_str()) => {
                    Some(self.next(st)?.map(|f| f.text).unwrap_or_default())
                }
                _ => None,
            };
            if w == "ip" {
                return Ok(Some(Expr::Opaque {
                    name: "ip option".into(),
                    text: self.text_from(start),
                }));
            }
            return Ok(Some(Expr::TcpOption { name, field }));
        }
        if field == "chunk" && w == "sctp" {
            self.pos += 3;
            if self.peek(st)?.is_some_and(|f| {
                f.kind == Kind::Word && !matches!(f.text.as_str(), "exists" | "missing")
            }) {
                self.pos += 1;
            }
            return Ok(Some(Expr::Opaque {
                name: "sctp chunk".into(),
                text: self.text_from(start),
            }));
        }
        if !field
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
        {
            return Ok(None);
        }
        self.pos += 2;
        Ok(Some(Expr::Payload {
            proto: w.to_string(),
            field,
        }))
    }

    /// `ct [original|reply] [ip|ip6] KEY`, after `ct`.
    fn ct(&mut self, st: &State) -> R<Expr> {
        let mut dir = None;
        if let Some(d) = self
            .peek(st)?
            .filter(|d| d.is("original") || d.is("reply"))
            .map(|d| d.text.clone())
        {
            self.pos += 1;
            dir = Some(d);
        }
        if self.peek(st)?.is_some_and(|f| f.is("ip") || f.is("ip6"))
            && self
                .word_at(1)
                .is_some_and(|k| k == "saddr" || k == "daddr")
        {
            self.pos += 1;
        }
        let key = self.word(st, "a ct key")?.text;
        Ok(Expr::Ct { key, dir })
    }

    /// IPv6 extension headers (`frag more-fragments`, `exthdr hbh`) and `rt` keys
    /// (`rt mtu`, `rt ip nexthop`); None when no field follows.
    fn exthdr_or_rt(&mut self, st: &State, w: &str, start: usize) -> R<Option<Expr>> {
        let Some(field) = self.word_at(1) else {
            return Ok(None);
        };
        if w == "rt"
            && matches!(
                field.as_str(),
                "classid" | "nexthop" | "mtu" | "ipsec" | "ip" | "ip6"
            )
        {
            self.pos += 2;
            if field == "ip" || field == "ip6" {
                self.word(st, "an rt key")?;
            }
            return Ok(Some(Expr::Opaque {
                name: format!("rt {field}"),
                text: self.text_from(start),
            }));
        }
        self.pos += 2;
        Ok(Some(if w == "exthdr" {
            Expr::Exthdr {
                name: field,
                field: String::new(),
            }
        } else {
            Expr::Exthdr {
                name: w.to_string(),
                field,
            }
        }))
    }

    /// The words of an opaque selector (`numgen inc mod 2 offset 1`, `socket transparent`,
    /// `jhash ip saddr . tcp dport mod 4 seed 0x1`, `osf ttl loose name`).
    pub(super) fn opaque_args(&mut self, st: &State, w: &str) -> R<()> {
        match w {
            "socket" => {
                let k = self.word(st, "a socket key")?;
                if k.text == "cgroupv2" {
                    self.eat(st, "level")?;
                    self.word(st, "a level")?;
                }
            }
            "osf" => {
                if self.eat(st, "ttl")? {
                    self.word(st, "loose or skip")?;
                }
                self.word(st, "name or version")?;
            }
            "ipsec" => {
                self.word(st, "in or out")?;
                if self.eat(st, "spnum")? {
                    self.word(st, "a number")?;
                }
                if self.peek(st)?.is_some_and(|t| t.is("ip") || t.is("ip6")) {
                    self.pos += 1;
                }
                self.word(st, "an ipsec key")?;
            }
            "tunnel" => {
                self.word(st, "a tunnel key")?;
            }
            _ => {
                if w == "numgen" {
                    self.word(st, "inc or random")?;
                } else if w == "jhash" {
                    let first = self.selector(st)?;
                    if first.is_none() {
                        return Err(self.expected_here(st, "an expression to hash"));
                    }
                    while self.eat(st, ".")? {
                        self.selector(st)?;
                    }
                }
                while let Some(t) = self.peek(st)? {
                    if t.is("mod") || t.is("offset") || t.is("seed") {
                        self.pos += 1;
                        self.word(st, "a number")?;
                    } else {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// A term: a selector (when allowed), `( expr )`, `{ set }`, `@set`, a word or a string.
    pub(super) fn term(&mut self, st: &State, selectors: bool) -> R<Expr> {
        if selectors {
            if let Some(e) = self.selector(st)? {
                return Ok(e);
            }
        }
        let Some(t) = self.peek(st)?.cloned() else {
            return Err(self.expected_here(st, "a value"));
        };
        match t.kind {
            Kind::Punct if t.text == "(" => {
                self.pos += 1;
                let e = self.value_expr(st, true)?;
                self.expect_punct(st, ")")?;
                Ok(e)
            }
            Kind::Punct if t.text == "{" => {
                self.pos += 1;
                let (elems, _) = self.set_elements(st)?;
                Ok(Expr::Set(elems))
            }
            Kind::At => {
                self.pos += 1;
                Ok(Expr::SetRef(t.text))
            }
            Kind::Str => {
                self.pos += 1;
                // A range of quoted values: `meta time "2022-05-30 21:51:23"-"2022-06-01
                // 23:51:23"`, `meta hour "17:00"-"19:00"` (nft lists times so).
                if self.peek(st)?.is_some_and(|n| n.is("-"))
                    && self
                        .toks
                        .get(self.pos + 1)
                        .is_some_and(|n| matches!(n.kind, Kind::Str | Kind::Word))
                {
                    self.pos += 1;
                    let hi = self.next(st)?.map(|h| h.text).unwrap_or_default();
                    return Ok(Expr::Range(
                        Box::new(Expr::Value(t.text)),
                        Box::new(Expr::Value(hi)),
                    ));
                }
                Ok(Expr::Value(t.text))
            }
            Kind::Word if t.text == "*" => {
                self.pos += 1;
                Ok(Expr::Catchall)
            }
            Kind::Word if !matches!(t.text.as_str(), "." | ":" | "-" | "/") => {
                self.pos += 1;
                // A range written with spaces: `10.0.0.1 - 10.0.0.9`.
                if self.peek(st)?.is_some_and(|n| n.is("-"))
                    && self
                        .toks
                        .get(self.pos + 1)
                        .is_some_and(|n| n.kind == Kind::Word)
                {
                    self.pos += 1;
                    let hi = self.word(st, "the end of a range")?;
                    return Ok(Expr::Range(
                        Box::new(Expr::Value(t.text)),
                        Box::new(Expr::Value(hi.text)),
                    ));
                }
                Ok(Expr::Value(t.text))
            }
            _ => Err(self.expected_here(st, "a value")),
        }
    }

    /// Binary operators over terms, with C precedence (`<<` `>>` over `&` over `^` over `|`).
    pub(super) fn binop_expr(&mut self, st: &State, selectors: bool) -> R<Option<Expr>> {
        let first = if selectors {
            match self.selector(st)? {
                Some(e) => e,
                None => return Ok(None),
            }
        } else {
            self.term(st, false)?
        };
        self.binop_rest(st, first, 0).map(Some)
    }

    pub(super) fn binop_rest(&mut self, st: &State, mut left: Expr, min: u8) -> R<Expr> {
        loop {
            let Some((op, prec)) = self.peek(st)?.and_then(binop_of) else {
                return Ok(left);
            };
            if prec < min {
                return Ok(left);
            }
            self.pos += 1;
            let mut right = self.term(st, true)?;
            while let Some((_, p2)) = self.peek(st)?.and_then(binop_of) {
                if p2 <= prec {
                    break;
                }
                right = self.binop_rest(st, right, prec + 1)?;
            }
            left = Expr::Binop {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
    }

    /// `a . b . c` after its first part.
    pub(super) fn finish_concat(&mut self, st: &State, first: Expr, selectors: bool) -> R<Expr> {
        let mut parts = vec![first];
        while self.peek(st)?.is_some_and(|t| t.is(".")) {
            self.pos += 1;
            let t = if selectors {
                match self.binop_expr(st, true)? {
                    Some(e) => e,
                    None => self.term(st, false)?,
                }
            } else {
                let t = self.term(st, false)?;
                self.binop_rest(st, t, 0)?
            };
            parts.push(t);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Expr::Catchall)
        } else {
            Expr::Concat(parts)
        })
    }

    /// A value in a set element or on the right of a match: terms joined by `.`.
    pub(super) fn concat_value(&mut self, st: &State, selectors: bool) -> R<Expr> {
        let t = self.term(st, selectors)?;
        let first = self.binop_rest(st, t, 0)?;
        self.finish_concat(st, first, selectors)
    }

    /// The right side of a match or of `set`: a concatenation, a `,` flag list, a `map`.
    pub(super) fn value_expr(&mut self, st: &State, selectors: bool) -> R<Expr> {
        let mut e = self.concat_value(st, selectors)?;
        if !selectors && self.peek(st)?.is_some_and(|t| t.is_punct(",")) {
            let mut list = vec![e];
            while self.eat_punct(st, ",")? {
                list.push(self.concat_value(st, false)?);
            }
            e = Expr::List(list);
        }
        if self.eat(st, "map")? {
            let data = self.term(st, false)?;
            e = Expr::Map {
                key: Box::new(e),
                data: Box::new(data),
            };
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    /// Issue 11 B2: time matches as nft lists them (a range of two quoted times, hours,
    /// days, sets of days) are read, in text and JSON, and stay undecidable offline (they
    /// depend on the time the packet is seen).
    #[test]
    fn b2_time_ranges_of_quoted_values_parse_and_stay_undecidable() {
        let rules = [
            r#"meta time "2022-05-30 21:51:23"-"2022-06-01 23:51:23" drop"#,
            r#"meta hour "17:00"-"19:00" drop"#,
            r#"meta day "Sunday" drop"#,
            r#"meta day { "Sunday", "Saturday" } drop"#,
            r#"meta hour "09:00" drop"#,
        ];
        for rule in rules {
            let b = body("inet", rule);
            assert!(
                matches!(&b[0], Step::Match(m) if matches!(m.test, Test::Undecidable { kind: Undecidable::Time, .. })),
                "{rule}: {b:?}"
            );
            assert_eq!(b[1], act(Action::Verdict(Verdict::Drop)), "{rule}");
        }
        let j = r#"{"nftables": [{"table": {"family": "inet", "name": "t"}},
            {"chain": {"family": "inet", "table": "t", "name": "c"}},
            {"rule": {"family": "inet", "table": "t", "chain": "c", "expr": [{"match": {"op": "==", "left": {"meta": {"key": "time"}}, "right": {"range": ["2022-05-30 21:51:23", "2022-06-01 23:51:23"]}}}, {"drop": null}]}}]}"#;
        let (rs, _) = parse_json(&SourceFile::new("j", j)).unwrap();
        assert!(matches!(&rs.tables[0].chains[0].rules[0].body[0],
            Step::Match(m) if matches!(m.test, Test::Undecidable { kind: Undecidable::Time, .. })));
    }
}
