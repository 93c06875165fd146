//! Declarations inside a table block: chains (with their `type ... hook ... priority`
//! line and policy), sets and maps (type, flags, elements), and where each came from.

use super::{parse_int, State, P, R};
use crate::nft::ast::{ChainAst, Elem, Expr, HookAst, Prio, SetAst, SetKey};
use crate::nft::lexer::{Kind, Token};
use crate::{ErrorKind, ParseError};
use model::{Dialect, Origin, Span};

/// A statement's text on one line: runs of whitespace (newlines included) become one space.
pub(super) fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

impl<'s> P<'s> {
    pub(super) fn origin_from(&self, start: usize, end: usize) -> Origin {
        let line = self.lines.partition_point(|&l| l <= start) as u32;
        let text = self.src.text.get(start..end).unwrap_or("");
        Origin {
            file: self.src.name.clone(),
            span: Span::new(start, end),
            line,
            text: collapse(text).into(),
            dialect: Some(Dialect::NftText),
            ..Origin::default()
        }
    }

    /// The origin of a block header: from `start` to the end of its `{` line.
    pub(super) fn header_origin(&self, start: usize) -> Origin {
        let text: &str = &self.src.text;
        let end = text
            .get(start..)
            .and_then(|s| s.find('\n'))
            .map_or(text.len(), |n| start + n);
        let line_text = text.get(start..end).unwrap_or("");
        let cut = line_text.find('#').unwrap_or(line_text.len());
        self.origin_from(start, start + line_text[..cut].trim_end().len())
    }

    pub(super) fn table_body(&mut self, st: &mut State, ti: usize) -> R<()> {
        loop {
            self.skip_ends(st)?;
            let Some(t) = self.next(st)? else {
                return Err(self.structure(
                    st.tables[ti].origin.span,
                    "table block is not closed with `}`",
                ));
            };
            if t.is_punct("}") {
                return Ok(());
            }
            if t.kind != Kind::Word {
                return Err(ParseError::expected(
                    self.src,
                    t.span,
                    "chain, set, map or `}`",
                    &t.text,
                ));
            }
            match t.text.as_str() {
                "chain" => {
                    let name = self.name(st, "a chain name")?;
                    self.chain(st, ti, &name, t.span.start as usize)?;
                }
                "set" | "map" => {
                    let name = self.name(st, "a set name")?;
                    self.set(st, ti, &name, t.text == "map", t.span.start as usize)?;
                }
                "flags" => {
                    let flags = self.word_list(st)?;
                    st.tables[ti].flags.extend(flags);
                }
                "comment" => {
                    let c = self.name(st, "a comment string")?;
                    st.tables[ti].origin.comment = Some(c.text);
                }
                "define" | "redefine" => self.define(st)?,
                _ => self.skip_statement(st)?,
            }
        }
    }

    /// `a,b,c` words.
    pub(super) fn word_list(&mut self, st: &State) -> R<Vec<String>> {
        let mut out = vec![self.name(st, "a word")?.text];
        while self.eat_punct(st, ",")? {
            out.push(self.name(st, "a word after `,`")?.text);
        }
        Ok(out)
    }

    pub(super) fn chain(&mut self, st: &mut State, ti: usize, name: &Token, start: usize) -> R<()> {
        if st.tables[ti].chain_mut(&name.text).is_none() {
            let origin = self.header_origin(start);
            st.tables[ti].chains.push(ChainAst {
                name: name.text.clone(),
                hook: None,
                rules: vec![],
                origin,
            });
        }
        if self.eat_punct(st, "{")? {
            if let Some(h) = self.handle_comment() {
                if let Some(c) = st.tables[ti].chain_mut(&name.text) {
                    c.origin.handle = Some(h);
                }
            }
            self.chain_body(st, ti, &name.text)?;
        }
        Ok(())
    }

    pub(super) fn chain_body(&mut self, st: &mut State, ti: usize, chain: &str) -> R<()> {
        loop {
            self.skip_ends(st)?;
            let Some(t) = self.peek(st)?.cloned() else {
                return Err(self.structure(
                    self.end_span(),
                    format!("chain `{chain}` is not closed with `}}`"),
                ));
            };
            if t.is_punct("}") {
                self.pos += 1;
                return Ok(());
            }
            match t.text.as_str() {
                "type" if t.kind == Kind::Word => {
                    self.pos += 1;
                    let hook = self.hook_spec(st, t.span)?;
                    if let Some(c) = st.tables[ti].chain_mut(chain) {
                        let policy = c.hook.as_ref().and_then(|h| h.policy.clone());
                        c.hook = Some(HookAst {
                            policy: hook.policy.clone().or(policy),
                            ..hook
                        });
                    }
                }
                "policy" if t.kind == Kind::Word => {
                    self.pos += 1;
                    let p = self.word(st, "accept or drop")?;
                    if let Some(h) = st.tables[ti].chain_mut(chain).and_then(|c| c.hook.as_mut()) {
                        h.policy = Some(p.text);
                    }
                }
                "comment" if t.kind == Kind::Word => {
                    self.pos += 1;
                    let c = self.name(st, "a comment string")?;
                    if let Some(ch) = st.tables[ti].chain_mut(chain) {
                        ch.origin.comment = Some(c.text);
                    }
                }
                "devices" if t.kind == Kind::Word => {
                    self.pos += 1;
                    let devs = self.devices(st)?;
                    if let Some(h) = st.tables[ti].chain_mut(chain).and_then(|c| c.hook.as_mut()) {
                        h.devices = devs;
                    }
                }
                "flags" if t.kind == Kind::Word => {
                    self.pos += 1;
                    self.word_list(st)?;
                }
                "define" | "redefine" if t.kind == Kind::Word => {
                    self.pos += 1;
                    self.define(st)?;
                }
                _ => {
                    let rule = self.rule(st, ti)?;
                    if let Some(c) = st.tables[ti].chain_mut(chain) {
                        c.rules.push(rule);
                    }
                }
            }
        }
    }

    /// `devices = { a, b }` or `devices = a` (after `devices`).
    pub(super) fn devices(&mut self, st: &State) -> R<Vec<String>> {
        self.expect_punct(st, "=")?;
        if self.eat_punct(st, "{")? {
            let mut out = Vec::new();
            loop {
                self.skip_ends(st)?;
                if self.eat_punct(st, "}")? {
                    return Ok(out);
                }
                out.push(self.name(st, "a device name")?.text);
                self.eat_punct(st, ",")?;
            }
        }
        Ok(vec![self.name(st, "a device name")?.text])
    }

    /// `filter hook input [device D] priority P; [policy X;]` after `type`.
    pub(super) fn hook_spec(&mut self, st: &State, at: Span) -> R<HookAst> {
        let chain_type = self.word(st, "a chain type (filter, nat, route)")?.text;
        if !self.eat(st, "hook")? {
            return Err(self.expected_here(st, "`hook`"));
        }
        let hook = self.word(st, "a hook name")?.text;
        let mut devices = Vec::new();
        if self.eat(st, "device")? {
            devices.push(self.name(st, "a device name")?.text);
        } else if self.eat(st, "devices")? {
            devices = self.devices(st)?;
        }
        let mut priority = Prio::Num(0);
        if self.eat(st, "priority")? {
            priority = self.priority(st)?;
        }
        let mut policy = None;
        self.eat_punct(st, ";")?;
        if self.eat(st, "policy")? {
            policy = Some(self.word(st, "accept or drop")?.text);
            self.eat_punct(st, ";")?;
        }
        Ok(HookAst {
            chain_type,
            hook,
            devices,
            priority,
            policy,
            span: Span::new(at.start as usize, self.end_span().start as usize),
        })
    }

    pub(super) fn priority(&mut self, st: &State) -> R<Prio> {
        let t = self.word(st, "a priority")?;
        if let Some(n) = parse_int(&t.text) {
            return Ok(Prio::Num(n));
        }
        let (name, mut offset) = match t.text.split_once(['+', '-']) {
            Some((n, o)) if !n.is_empty() => {
                let o = parse_int(o).ok_or_else(|| {
                    self.err(
                        t.span,
                        ErrorKind::InvalidValue {
                            what: "priority".into(),
                            value: t.text.clone(),
                            reason: "bad offset".into(),
                        },
                    )
                })?;
                (n.to_string(), if t.text.contains('-') { -o } else { o })
            }
            _ => (t.text.clone(), 0),
        };
        if let Some(sign) = self
            .peek(st)?
            .filter(|s| s.is("+") || s.is("-"))
            .map(|s| s.text.clone())
        {
            self.pos += 1;
            let n = self.number(st, "a priority offset")?;
            offset = if sign == "-" { -n } else { n };
        }
        Ok(Prio::Named { name, offset })
    }

    pub(super) fn set(
        &mut self,
        st: &mut State,
        ti: usize,
        name: &Token,
        is_map: bool,
        start: usize,
    ) -> R<()> {
        if st.tables[ti].set_mut(&name.text).is_none() {
            let origin = self.header_origin(start);
            st.tables[ti].sets.push(SetAst {
                name: name.text.clone(),
                is_map,
                key: SetKey::Type(vec![]),
                data: None,
                flags: vec![],
                timeouts: false,
                elements: vec![],
                origin,
            });
        }
        self.expect_punct(st, "{")?;
        if let Some(h) = self.handle_comment() {
            if let Some(s) = st.tables[ti].set_mut(&name.text) {
                s.origin.handle = Some(h);
            }
        }
        loop {
            self.skip_ends(st)?;
            let Some(t) = self.next(st)? else {
                return Err(self.structure(name.span, "set block is not closed with `}`"));
            };
            if t.is_punct("}") {
                return Ok(());
            }
            match t.text.as_str() {
                "type" | "typeof" => {
                    let (key, data) = self.set_type(st, t.text == "typeof")?;
                    if let Some(s) = st.tables[ti].set_mut(&name.text) {
                        s.key = key;
                        s.data = data;
                    }
                }
                "flags" => {
                    let f = self.word_list(st)?;
                    if let Some(s) = st.tables[ti].set_mut(&name.text) {
                        s.flags.extend(f);
                    }
                }
                "timeout" => {
                    self.skip_statement(st)?;
                    if let Some(s) = st.tables[ti].set_mut(&name.text) {
                        s.timeouts = true;
                    }
                }
                "elements" => {
                    self.expect_punct(st, "=")?;
                    self.expect_punct(st, "{")?;
                    let (elems, timeouts) = self.set_elements(st)?;
                    if let Some(s) = st.tables[ti].set_mut(&name.text) {
                        s.elements.extend(elems);
                        s.timeouts |= timeouts;
                    }
                }
                "define" | "redefine" => self.define(st)?,
                _ => self.skip_statement(st)?,
            }
        }
    }

    /// The key (and for maps, data) type after `type` / `typeof`.
    pub(super) fn set_type(&mut self, st: &State, is_typeof: bool) -> R<(SetKey, Option<SetKey>)> {
        let key = self.type_part(st, is_typeof)?;
        let data = if self.peek(st)?.is_some_and(|t| t.is(":")) {
            self.pos += 1;
            let is_typeof = self.eat(st, "typeof")?
                || is_typeof && !self.peek(st)?.is_some_and(|t| t.is("verdict"));
            Some(self.type_part(st, is_typeof)?)
        } else {
            None
        };
        Ok((key, data))
    }

    pub(super) fn type_part(&mut self, st: &State, is_typeof: bool) -> R<SetKey> {
        if is_typeof {
            let mut parts = vec![self.typeof_expr(st)?];
            while self.eat(st, ".")? {
                parts.push(self.typeof_expr(st)?);
            }
            return Ok(SetKey::Typeof(parts));
        }
        let mut parts = vec![self.word(st, "a type name")?.text];
        while self.eat(st, ".")? {
            parts.push(self.word(st, "a type name")?.text);
        }
        Ok(SetKey::Type(parts))
    }

    pub(super) fn typeof_expr(&mut self, st: &State) -> R<Expr> {
        match self.selector(st)? {
            Some(e) => Ok(e),
            None => Ok(Expr::Value(self.name(st, "an expression")?.text)),
        }
    }

    /// Elements up to the closing `}` (after `{`); whether any carries a timeout.
    pub(super) fn set_elements(&mut self, st: &State) -> R<(Vec<Elem>, bool)> {
        let mut out = Vec::new();
        let mut timeouts = false;
        loop {
            self.skip_ends(st)?;
            if self.eat_punct(st, "}")? {
                return Ok((out, timeouts));
            }
            let key = self.concat_value(st, false)?;
            let mut comment = None;
            timeouts |= self.element_options(st, &mut comment)?;
            let data = if self.peek(st)?.is_some_and(|t| t.is(":")) {
                self.pos += 1;
                Some(self.map_data(st)?)
            } else {
                None
            };
            timeouts |= self.element_options(st, &mut comment)?;
            out.push(Elem { key, data, comment });
            self.skip_ends(st)?;
            if !self.eat_punct(st, ",")? && !self.peek(st)?.is_some_and(|t| t.is_punct("}")) {
                return Err(self.expected_here(st, "`,` or `}` after a set element"));
            }
        }
    }

    /// `timeout 1s expires 2s counter packets 1 bytes 2 comment "x"` after an element:
    /// whether it has a timeout; its comment goes to `comment`.
    pub(super) fn element_options(&mut self, st: &State, comment: &mut Option<String>) -> R<bool> {
        let mut timeout = false;
        loop {
            let Some(t) = self.peek(st)? else {
                return Ok(timeout);
            };
            match t.text.as_str() {
                "timeout" | "expires" if t.kind == Kind::Word => {
                    timeout = true;
                    self.pos += 2;
                }
                "comment" if t.kind == Kind::Word => {
                    self.pos += 1;
                    *comment = Some(self.name(st, "a comment string")?.text);
                }
                "counter" | "limit" | "quota" | "last" if t.kind == Kind::Word => {
                    self.pos += 1;
                    while self.peek(st)?.is_some_and(|t| {
                        t.kind == Kind::Word && !t.is(":") && !t.is("timeout") && !t.is("comment")
                    }) {
                        self.pos += 1;
                    }
                }
                _ => return Ok(timeout),
            }
        }
    }

    /// A map element's data: a verdict or a value.
    pub(super) fn map_data(&mut self, st: &State) -> R<Expr> {
        if let Some(v) = self.verdict(st)? {
            return Ok(Expr::Verdict(v));
        }
        self.concat_value(st, false)
    }
}
