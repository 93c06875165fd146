//! `nft list ruleset` text and `nft -f` input into the syntax tree of [`super::ast`].
//!
//! The file is read as commands (`table ... { }`, `add rule ...`, `flush ruleset`,
//! `define`, `include`, ...) applied in order to a [`Doc`], the ruleset the commands would
//! leave in the kernel. Rules are split into statements here; what their values mean is
//! decided by [`super::lower`].
//!
//! Contract: never panics; every error carries the span of the offending token in the file
//! it came from (included files included).

use super::ast::*;
use super::lexer::{tokenize, Kind, Token};
use crate::{ErrorKind, ParseError};
use model::expr::{Effect, Undecidable};
use model::source::Counters;
use model::{Dialect, Origin, SourceFile, Span};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The tables the input leaves behind, and every file read (the input and its includes).
#[derive(Debug, Default)]
pub struct Doc {
    pub tables: Vec<TableAst>,
    pub sources: Vec<SourceFile>,
}

/// Parses `source` (and the files it includes).
pub fn parse(source: &SourceFile) -> Result<Doc, ParseError> {
    let mut st = State::default();
    read_file(source, &mut st, 0)?;
    Ok(Doc {
        tables: st.tables,
        sources: st.sources,
    })
}

/// nft's own include depth limit (`MAX_INCLUDE_DEPTH`).
const MAX_INCLUDE_DEPTH: usize = 16;

#[derive(Default)]
struct State {
    tables: Vec<TableAst>,
    sources: Vec<SourceFile>,
    defines: HashMap<String, Vec<Token>>,
    /// Chain bindings made so far per table (`jump { ... }` becomes `__chainN`).
    bindings: HashMap<(String, String), usize>,
}

fn read_file(source: &SourceFile, st: &mut State, depth: usize) -> Result<(), ParseError> {
    st.sources.push(source.clone());
    let toks = tokenize(&source.text).map_err(|e| {
        ParseError::new(
            source,
            e.span,
            ErrorKind::Structure {
                message: e.message.to_string(),
            },
        )
    })?;
    let lines = std::iter::once(0)
        .chain(source.text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut p = P {
        src: source,
        toks,
        pos: 0,
        depth,
        lines,
    };
    p.file(st)
}

/// The parser of one file.
struct P<'s> {
    src: &'s SourceFile,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Byte offset of each line's start, for 1-based line numbers of origins.
    lines: Vec<usize>,
}

type R<T> = Result<T, ParseError>;

/// Payload protocols nft knows as `PROTO FIELD`.
const PAYLOAD: &[&str] = &[
    "ether", "vlan", "arp", "ip", "ip6", "icmp", "icmpv6", "igmp", "tcp", "udp", "udplite", "sctp",
    "dccp", "th", "ah", "esp", "comp", "gre", "geneve", "vxlan", "gretap",
];
/// Meta keys that may be written without `meta`.
const UNQUALIFIED_META: &[&str] = &[
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
const EXTHDR: &[&str] = &["hbh", "rt0", "rt2", "rt4", "srh", "frag", "dst", "mh"];
/// TCP option fields (`tcp option maxseg size`).
const TCP_OPTION_FIELDS: &[&str] = &[
    "kind", "length", "size", "count", "left", "right", "tsval", "tsecr", "value", "subtype",
];

impl<'s> P<'s> {
    // ---- tokens ----

    fn peek_raw(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    /// The token at the cursor, with a `$var` there replaced by its definition (whose
    /// tokens then carry the `$var`'s span).
    fn peek(&mut self, st: &State) -> R<Option<&Token>> {
        let mut guard = 0;
        while let Some(t) = self.toks.get(self.pos) {
            if t.kind != Kind::Var {
                break;
            }
            guard += 1;
            let Some(def) = st.defines.get(&t.text) else {
                return Err(self.err(
                    t.span,
                    ErrorKind::Undefined {
                        what: "variable".into(),
                        name: t.text.clone(),
                    },
                ));
            };
            if guard > 64 {
                return Err(self.structure(t.span, "variables nested too deeply"));
            }
            let span = t.span;
            let repl: Vec<Token> = def.iter().map(|d| Token { span, ..d.clone() }).collect();
            self.toks.splice(self.pos..self.pos + 1, repl);
        }
        Ok(self.toks.get(self.pos))
    }

    fn next(&mut self, st: &State) -> R<Option<Token>> {
        self.peek(st)?;
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        Ok(t)
    }

    fn end_span(&self) -> Span {
        let e = self
            .toks
            .get(self.pos.saturating_sub(1))
            .map_or(0, |t| t.span.end as usize);
        match self.toks.get(self.pos) {
            Some(t) => t.span,
            None => Span::new(e, e),
        }
    }

    fn err(&self, span: Span, kind: ErrorKind) -> ParseError {
        ParseError::new(self.src, span, kind)
    }
    fn structure(&self, span: Span, m: impl Into<String>) -> ParseError {
        self.err(span, ErrorKind::Structure { message: m.into() })
    }
    fn unsupported(&self, span: Span, c: impl Into<String>) -> ParseError {
        self.err(
            span,
            ErrorKind::Unsupported {
                construct: c.into(),
            },
        )
    }
    fn expected_here(&mut self, st: &State, what: &str) -> ParseError {
        let span = self.end_span();
        let found = match self.peek(st) {
            Ok(Some(t)) if t.kind == Kind::Newline => String::new(),
            Ok(Some(t)) => t.text.clone(),
            _ => String::new(),
        };
        ParseError::expected(self.src, span, what, &found)
    }

    /// The next token if it is the word `w`.
    fn eat(&mut self, st: &State, w: &str) -> R<bool> {
        if self.peek(st)?.is_some_and(|t| t.is(w)) {
            self.pos += 1;
            return Ok(true);
        }
        Ok(false)
    }
    fn eat_punct(&mut self, st: &State, p: &str) -> R<bool> {
        if self.peek(st)?.is_some_and(|t| t.is_punct(p)) {
            self.pos += 1;
            return Ok(true);
        }
        Ok(false)
    }
    fn expect_punct(&mut self, st: &State, p: &str) -> R<Token> {
        match self.peek(st)? {
            Some(t) if t.is_punct(p) => Ok(self.next(st)?.unwrap_or_else(unreachable_token)),
            _ => Err(self.expected_here(st, &format!("`{p}`"))),
        }
    }
    /// A name: a word or a quoted string.
    fn name(&mut self, st: &State, what: &str) -> R<Token> {
        match self.peek(st)? {
            Some(t) if matches!(t.kind, Kind::Word | Kind::Str) => {
                Ok(self.next(st)?.unwrap_or_else(unreachable_token))
            }
            _ => Err(self.expected_here(st, what)),
        }
    }
    fn word(&mut self, st: &State, what: &str) -> R<Token> {
        match self.peek(st)? {
            Some(t) if t.kind == Kind::Word => Ok(self.next(st)?.unwrap_or_else(unreachable_token)),
            _ => Err(self.expected_here(st, what)),
        }
    }
    fn number(&mut self, st: &State, what: &str) -> R<i64> {
        let t = self.word(st, what)?;
        parse_int(&t.text).ok_or_else(|| {
            self.err(
                t.span,
                ErrorKind::InvalidValue {
                    what: what.into(),
                    value: t.text.clone(),
                    reason: "not a number".into(),
                },
            )
        })
    }

    /// Skips newlines, `;` and comments.
    fn skip_ends(&mut self, st: &State) -> R<()> {
        while let Some(t) = self.peek(st)? {
            if t.is_end() || t.kind == Kind::Comment {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(())
    }

    /// Skips to the end of the statement, over balanced braces (objects not modelled).
    fn skip_statement(&mut self, st: &State) -> R<()> {
        let mut depth = 0usize;
        while let Some(t) = self.peek(st)? {
            if depth == 0 && (t.is_end() || t.is_punct("}")) {
                break;
            }
            if t.is_punct("{") {
                depth += 1;
            } else if t.is_punct("}") {
                depth -= 1;
            }
            self.pos += 1;
        }
        Ok(())
    }

    /// A `# handle N` comment right here (end of a line), if any.
    fn handle_comment(&mut self) -> Option<u64> {
        let t = self.peek_raw()?;
        if t.kind != Kind::Comment {
            return None;
        }
        let h = t
            .text
            .strip_prefix("handle ")
            .and_then(|n| n.trim().parse().ok());
        if h.is_some() {
            self.pos += 1;
        }
        h
    }

    // ---- commands ----

    fn file(&mut self, st: &mut State) -> R<()> {
        loop {
            self.skip_ends(st)?;
            let Some(t) = self.next(st)? else {
                return Ok(());
            };
            if t.kind != Kind::Word {
                return Err(ParseError::expected(
                    self.src,
                    t.span,
                    "a command such as `table`",
                    &t.text,
                ));
            }
            match t.text.as_str() {
                "add" | "create" => {
                    let what =
                        self.word(st, "what to add (table, chain, rule, set, map, element)")?;
                    self.add(st, &what, Position::Append)?;
                }
                "insert" => {
                    let what = self.word(st, "`rule`")?;
                    if what.text != "rule" {
                        return Err(ParseError::expected(
                            self.src, what.span, "`rule`", &what.text,
                        ));
                    }
                    self.add(st, &what, Position::Prepend)?;
                }
                "replace" => {
                    let what = self.word(st, "`rule`")?;
                    if what.text != "rule" {
                        return Err(ParseError::expected(
                            self.src, what.span, "`rule`", &what.text,
                        ));
                    }
                    self.add(st, &what, Position::Replace)?;
                }
                "table" | "chain" | "rule" | "set" | "map" | "element" | "flowtable"
                | "counter" | "quota" | "limit" | "ct" | "secmark" | "synproxy" => {
                    self.add(st, &t, Position::Append)?
                }
                "delete" | "destroy" => self.delete(st, t.text == "destroy")?,
                "flush" => self.flush(st)?,
                "define" | "redefine" => self.define(st)?,
                "undefine" => {
                    let n = self.word(st, "a variable name")?;
                    st.defines.remove(&n.text);
                }
                "include" => self.include(st, &t)?,
                "list" | "describe" | "monitor" | "export" | "reset" | "get" => {
                    self.skip_statement(st)?
                }
                _ => {
                    return Err(ParseError::expected(
                        self.src,
                        t.span,
                        "a command (table, add, insert, delete, flush, define, include)",
                        &t.text,
                    ))
                }
            }
        }
    }

    fn define(&mut self, st: &mut State) -> R<()> {
        let name = self.word(st, "a variable name")?;
        self.expect_punct(st, "=")?;
        let mut value = Vec::new();
        let mut depth = 0usize;
        while let Some(t) = self.peek(st)? {
            if depth == 0 && (t.is_end() || t.kind == Kind::Comment) {
                break;
            }
            if t.is_punct("{") {
                depth += 1;
            } else if t.is_punct("}") {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            if t.kind != Kind::Newline && t.kind != Kind::Comment {
                value.push(t.clone());
            }
            self.pos += 1;
        }
        if value.is_empty() {
            return Err(self.expected_here(st, "a value after `=`"));
        }
        st.defines.insert(name.text, value);
        Ok(())
    }

    fn include(&mut self, st: &mut State, at: &Token) -> R<()> {
        let path = self.next(st)?.filter(|t| t.kind == Kind::Str);
        let Some(path) = path else {
            return Err(ParseError::expected(
                self.src,
                at.span,
                "a quoted file name after include",
                "",
            ));
        };
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(self.structure(
                path.span,
                "includes nested too deeply (more than 16 levels)",
            ));
        }
        let base = Path::new(&*self.src.name)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let full = if Path::new(&path.text).is_absolute() {
            PathBuf::from(&path.text)
        } else {
            base.join(&path.text)
        };
        let files = if path.text.contains(['*', '?', '[']) {
            glob(&full)
        } else {
            vec![full]
        };
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|e| {
                self.err(
                    path.span,
                    ErrorKind::InvalidValue {
                        what: "include".into(),
                        value: f.display().to_string(),
                        reason: e.to_string(),
                    },
                )
            })?;
            let source = SourceFile::new(f.display().to_string(), text);
            read_file(&source, st, self.depth + 1)?;
        }
        Ok(())
    }

    /// `[family] name`: an optional family then a name.
    fn family_and(&mut self, st: &State, what: &str) -> R<(model::ruleset::Family, Token)> {
        let first = self.name(st, what)?;
        if first.kind == Kind::Word {
            if let Some(f) = family(&first.text) {
                if self
                    .peek(st)?
                    .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::Str))
                {
                    return Ok((f, self.name(st, what)?));
                }
            }
        }
        Ok((model::ruleset::Family::Ip, first))
    }

    fn table_index(&self, st: &State, family: model::ruleset::Family, name: &Token) -> R<usize> {
        st.tables
            .iter()
            .position(|t| t.family == family && t.name == name.text)
            .ok_or_else(|| {
                self.err(
                    name.span,
                    ErrorKind::Undefined {
                        what: "table".into(),
                        name: format!("{family} {}", name.text),
                    },
                )
            })
    }

    fn add(&mut self, st: &mut State, what: &Token, pos: Position) -> R<()> {
        match what.text.as_str() {
            "table" => {
                let start = what.span.start as usize;
                let (family, name) = self.family_and(st, "a table name")?;
                let ti = match st
                    .tables
                    .iter()
                    .position(|t| t.family == family && t.name == name.text)
                {
                    Some(i) => i,
                    None => {
                        let origin = self.origin_from(start, name.span.end as usize);
                        st.tables.push(TableAst {
                            family,
                            name: name.text.clone(),
                            flags: vec![],
                            chains: vec![],
                            sets: vec![],
                            origin,
                        });
                        st.tables.len() - 1
                    }
                };
                if self.eat_punct(st, "{")? {
                    if let Some(h) = self.handle_comment() {
                        st.tables[ti].origin.handle = Some(h);
                    }
                    self.table_body(st, ti)?;
                }
                Ok(())
            }
            "chain" => {
                let (family, table) = self.family_and(st, "a table name")?;
                let ti = self.table_index(st, family, &table)?;
                let name = self.name(st, "a chain name")?;
                self.chain(st, ti, &name, what.span.start as usize)
            }
            "set" | "map" => {
                let (family, table) = self.family_and(st, "a table name")?;
                let ti = self.table_index(st, family, &table)?;
                let name = self.name(st, "a set name")?;
                self.set(st, ti, &name, what.text == "map", what.span.start as usize)
            }
            "element" => {
                let (family, table) = self.family_and(st, "a table name")?;
                let ti = self.table_index(st, family, &table)?;
                let name = self.name(st, "a set name")?;
                self.expect_punct(st, "{")?;
                let elems = self.set_elements(st)?;
                let Some(set) = st.tables[ti].set_mut(&name.text) else {
                    return Err(self.err(
                        name.span,
                        ErrorKind::Undefined {
                            what: "set".into(),
                            name: name.text,
                        },
                    ));
                };
                set.timeouts |= elems.1;
                set.elements.extend(elems.0);
                Ok(())
            }
            "rule" => {
                let (family, table) = self.family_and(st, "a table name")?;
                let ti = self.table_index(st, family, &table)?;
                let chain = self.name(st, "a chain name")?;
                if st.tables[ti].chains.iter().all(|c| c.name != chain.text) {
                    return Err(self.err(
                        chain.span,
                        ErrorKind::Undefined {
                            what: "chain".into(),
                            name: chain.text,
                        },
                    ));
                }
                let mut anchor = None;
                for kw in ["position", "handle", "index"] {
                    if self.eat(st, kw)? {
                        let at = self.end_span();
                        anchor = Some((kw, self.number(st, "a rule handle or index")?, at));
                        break;
                    }
                }
                let rule = self.rule(st, ti)?;
                let tname = &st.tables[ti].name.clone();
                let chain_ref = st.tables[ti]
                    .chain_mut(&chain.text)
                    .ok_or_else(|| unreachable_err(self.src, chain.span))?;
                let rules = &mut chain_ref.rules;
                let index = match anchor {
                    None => match pos {
                        Position::Prepend => 0,
                        Position::Append => rules.len(),
                        Position::Replace => {
                            return Err(self.structure(chain.span, "replace rule needs `handle N`"))
                        }
                    },
                    Some(("index", n, at)) => {
                        let n = usize::try_from(n)
                            .ok()
                            .filter(|&n| n <= rules.len())
                            .ok_or_else(|| {
                                self.structure(at, "rule index beyond the end of the chain")
                            })?;
                        if pos == Position::Append { n + 1 } else { n }.min(rules.len())
                    }
                    Some((_, h, at)) => {
                        let i = rules
                            .iter()
                            .position(|r| r.origin.handle == Some(h as u64))
                            .ok_or_else(|| {
                                self.err(
                                    at,
                                    ErrorKind::Undefined {
                                        what: "rule handle".into(),
                                        name: format!("{h} in {tname} {}", chain.text),
                                    },
                                )
                            })?;
                        match pos {
                            Position::Append => i + 1,
                            Position::Prepend => i,
                            Position::Replace => {
                                rules[i] = rule;
                                return Ok(());
                            }
                        }
                    }
                };
                rules.insert(index, rule);
                Ok(())
            }
            // Stateful objects, flowtables, helpers: not part of the verdict path.
            _ => self.skip_statement(st),
        }
    }

    fn delete(&mut self, st: &mut State, quiet: bool) -> R<()> {
        let what = self.word(st, "what to delete")?;
        match what.text.as_str() {
            "table" => {
                let (family, name) = self.family_and(st, "a table name")?;
                let before = st.tables.len();
                st.tables
                    .retain(|t| !(t.family == family && t.name == name.text));
                if before == st.tables.len() && !quiet {
                    return Err(self.err(
                        name.span,
                        ErrorKind::Undefined {
                            what: "table".into(),
                            name: name.text,
                        },
                    ));
                }
            }
            "chain" | "set" | "map" | "rule" | "element" => {
                let (family, table) = self.family_and(st, "a table name")?;
                let ti = match self.table_index(st, family, &table) {
                    Ok(i) => i,
                    Err(_) if quiet => return self.skip_statement(st),
                    Err(e) => return Err(e),
                };
                let name = self.name(st, "a name")?;
                let t = &mut st.tables[ti];
                match what.text.as_str() {
                    "chain" => t.chains.retain(|c| c.name != name.text),
                    "set" | "map" => t.sets.retain(|s| s.name != name.text),
                    "rule" => {
                        if !self.eat(st, "handle")? {
                            return Err(self.expected_here(st, "`handle N`"));
                        }
                        let h = self.number(st, "a rule handle")? as u64;
                        if let Some(c) = st.tables[ti].chain_mut(&name.text) {
                            c.rules.retain(|r| r.origin.handle != Some(h));
                        }
                    }
                    _ => {
                        self.expect_punct(st, "{")?;
                        let (gone, _) = self.set_elements(st)?;
                        if let Some(s) = st.tables[ti].set_mut(&name.text) {
                            s.elements.retain(|e| !gone.iter().any(|g| g.key == e.key));
                        }
                    }
                }
            }
            _ => return self.skip_statement(st),
        }
        Ok(())
    }

    fn flush(&mut self, st: &mut State) -> R<()> {
        let what = self.word(st, "what to flush")?;
        match what.text.as_str() {
            "ruleset" => {
                let fam = match self.peek(st)? {
                    Some(t) if t.kind == Kind::Word => family(&t.text),
                    _ => None,
                };
                if fam.is_some() {
                    self.pos += 1;
                }
                st.tables.retain(|t| fam.is_some_and(|f| f != t.family));
            }
            "table" | "chain" | "set" | "map" => {
                let (family, table) = self.family_and(st, "a table name")?;
                let ti = self.table_index(st, family, &table)?;
                let t = &mut st.tables[ti];
                match what.text.as_str() {
                    "table" => {
                        t.chains.iter_mut().for_each(|c| c.rules.clear());
                        t.sets.iter_mut().for_each(|s| s.elements.clear());
                    }
                    kind => {
                        let name = self.name(st, "a name")?;
                        let t = &mut st.tables[ti];
                        if kind == "chain" {
                            if let Some(c) = t.chain_mut(&name.text) {
                                c.rules.clear();
                            }
                        } else if let Some(s) = t.set_mut(&name.text) {
                            s.elements.clear();
                        }
                    }
                }
            }
            _ => self.skip_statement(st)?,
        }
        Ok(())
    }

    // ---- blocks ----

    fn origin_from(&self, start: usize, end: usize) -> Origin {
        let line = self.lines.partition_point(|&l| l <= start) as u32;
        let text = self.src.text.get(start..end).unwrap_or("");
        Origin {
            file: self.src.name.clone(),
            span: Span::new(start, end),
            line,
            text: collapse(text),
            dialect: Some(Dialect::NftText),
            ..Origin::default()
        }
    }

    /// The origin of a block header: from `start` to the end of its `{` line.
    fn header_origin(&self, start: usize) -> Origin {
        let text: &str = &self.src.text;
        let end = text
            .get(start..)
            .and_then(|s| s.find('\n'))
            .map_or(text.len(), |n| start + n);
        let line_text = text.get(start..end).unwrap_or("");
        let cut = line_text.find('#').unwrap_or(line_text.len());
        self.origin_from(start, start + line_text[..cut].trim_end().len())
    }

    fn table_body(&mut self, st: &mut State, ti: usize) -> R<()> {
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
    fn word_list(&mut self, st: &State) -> R<Vec<String>> {
        let mut out = vec![self.name(st, "a word")?.text];
        while self.eat_punct(st, ",")? {
            out.push(self.name(st, "a word after `,`")?.text);
        }
        Ok(out)
    }

    fn chain(&mut self, st: &mut State, ti: usize, name: &Token, start: usize) -> R<()> {
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

    fn chain_body(&mut self, st: &mut State, ti: usize, chain: &str) -> R<()> {
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
    fn devices(&mut self, st: &State) -> R<Vec<String>> {
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
    fn hook_spec(&mut self, st: &State, at: Span) -> R<HookAst> {
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

    fn priority(&mut self, st: &State) -> R<Prio> {
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

    fn set(
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
    fn set_type(&mut self, st: &State, is_typeof: bool) -> R<(SetKey, Option<SetKey>)> {
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

    fn type_part(&mut self, st: &State, is_typeof: bool) -> R<SetKey> {
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

    fn typeof_expr(&mut self, st: &State) -> R<Expr> {
        match self.selector(st)? {
            Some(e) => Ok(e),
            None => Ok(Expr::Value(self.name(st, "an expression")?.text)),
        }
    }

    /// Elements up to the closing `}` (after `{`); whether any carries a timeout.
    fn set_elements(&mut self, st: &State) -> R<(Vec<Elem>, bool)> {
        let mut out = Vec::new();
        let mut timeouts = false;
        loop {
            self.skip_ends(st)?;
            if self.eat_punct(st, "}")? {
                return Ok((out, timeouts));
            }
            let key = self.concat_value(st, false)?;
            timeouts |= self.element_options(st)?;
            let data = if self.peek(st)?.is_some_and(|t| t.is(":")) {
                self.pos += 1;
                Some(self.map_data(st)?)
            } else {
                None
            };
            timeouts |= self.element_options(st)?;
            out.push(Elem { key, data });
            self.skip_ends(st)?;
            if !self.eat_punct(st, ",")? && !self.peek(st)?.is_some_and(|t| t.is_punct("}")) {
                return Err(self.expected_here(st, "`,` or `}` after a set element"));
            }
        }
    }

    /// `timeout 1s expires 2s counter packets 1 bytes 2 comment "x"` after an element.
    fn element_options(&mut self, st: &State) -> R<bool> {
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
                "comment" if t.kind == Kind::Word => self.pos += 2,
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
    fn map_data(&mut self, st: &State) -> R<Expr> {
        if let Some(v) = self.verdict(st)? {
            return Ok(Expr::Verdict(v));
        }
        self.concat_value(st, false)
    }

    fn verdict(&mut self, st: &State) -> R<Option<VerdictAst>> {
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

    // ---- rules ----

    /// One rule, up to the end of its line (or `;`, or the chain's `}`).
    fn rule(&mut self, st: &mut State, ti: usize) -> R<RuleAst> {
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

    fn prev_end(&self) -> usize {
        self.toks
            .get(self.pos.wrapping_sub(1))
            .map_or(0, |t| t.span.end as usize)
    }

    fn stmt(&mut self, st: &mut State, ti: usize) -> R<Stmt> {
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

    fn text_from(&self, start: usize) -> String {
        collapse(
            self.src
                .text
                .get(start..self.prev_end().max(start))
                .unwrap_or(""),
        )
    }

    fn stmt_kind(&mut self, st: &mut State, ti: usize, t: &Token) -> R<StmtKind> {
        let start = t.span.start as usize;
        if t.kind == Kind::Word {
            match t.text.as_str() {
                "accept" | "drop" | "continue" | "return" => {
                    let v = self.verdict(st)?.unwrap_or(VerdictAst::Accept);
                    return Ok(StmtKind::Verdict(v));
                }
                "jump" | "goto" => {
                    self.pos += 1;
                    if self.peek(st)?.is_some_and(|n| n.is_punct("{")) {
                        self.pos += 1;
                        let name = self.binding(st, ti)?;
                        return Ok(StmtKind::Verdict(if t.text == "jump" {
                            VerdictAst::Jump(name)
                        } else {
                            VerdictAst::Goto(name)
                        }));
                    }
                    let target = self.name(st, "a chain name")?.text;
                    return Ok(StmtKind::Verdict(if t.text == "jump" {
                        VerdictAst::Jump(target)
                    } else {
                        VerdictAst::Goto(target)
                    }));
                }
                "queue" => {
                    self.pos += 1;
                    return self.queue(st);
                }
                "log" => {
                    self.pos += 1;
                    return self.log(st);
                }
                "reject" => {
                    self.pos += 1;
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
                    return Ok(StmtKind::Reject {
                        kind: Some(kind),
                        code: Some(code),
                    });
                }
                "snat" | "dnat" | "masquerade" | "redirect" => {
                    self.pos += 1;
                    return self.nat(st, &t.text);
                }
                "notrack" => {
                    self.pos += 1;
                    return Ok(StmtKind::Notrack);
                }
                "limit" | "quota" | "meter" => {
                    self.pos += 1;
                    self.skip_stateful(st)?;
                    if t.text == "meter" {
                        self.skip_braced(st)?;
                    }
                    let kind = if t.text == "quota" {
                        Undecidable::Quota
                    } else {
                        Undecidable::Limit
                    };
                    return Ok(StmtKind::Undecidable {
                        kind,
                        text: self.text_from(start),
                    });
                }
                "add" | "update" | "delete"
                    if self
                        .toks
                        .get(self.pos + 1)
                        .is_some_and(|n| n.kind == Kind::At) =>
                {
                    self.pos += 1;
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
                    return Ok(StmtKind::SetUpdate {
                        op: t.text.clone(),
                        set,
                        elem,
                        stateful,
                    });
                }
                "dup" | "fwd" | "tproxy" | "synproxy" | "flow" | "xt" | "last" | "secmark"
                | "osf"
                    if !self.is_selector_stmt(t) =>
                {
                    self.pos += 1;
                    let args = self.pos;
                    self.skip_args(st)?;
                    let text = self.text_from(start);
                    return Ok(match t.text.as_str() {
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
                            kind: Undecidable::Unsupported(format!("{text} (iptables-nft compat expression: pass the iptables-save view too)")),
                            text,
                        },
                        "xt" => StmtKind::Unknown(format!("{text} (iptables-nft compat expression: pass the iptables-save view too)")),
                        _ => StmtKind::Unknown(text),
                    });
                }
                "ct" if self.toks.get(self.pos + 1).is_some_and(|n| n.is("count")) => {
                    self.pos += 2;
                    self.eat(st, "over")?;
                    self.word(st, "a connection count")?;
                    return Ok(StmtKind::Undecidable {
                        kind: Undecidable::CtCount,
                        text: self.text_from(start),
                    });
                }
                _ => {}
            }
        }
        // A selector-led statement: a match, `set`, or `vmap`.
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
    fn is_selector_stmt(&self, t: &Token) -> bool {
        t.text == "osf"
    }

    /// Words of a statement we only show (`dup to 1.2.3.4 device eth0`), up to the next
    /// verdict or the end of the rule.
    fn skip_args(&mut self, st: &State) -> R<()> {
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

    fn skip_braced(&mut self, st: &State) -> R<()> {
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
    fn skip_stateful(&mut self, st: &State) -> R<()> {
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
    fn binding(&mut self, st: &mut State, ti: usize) -> R<String> {
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

    fn queue(&mut self, st: &State) -> R<StmtKind> {
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

    fn queue_num(&mut self, st: &State) -> R<QueueNum> {
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

    fn log(&mut self, st: &State) -> R<StmtKind> {
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

    fn nat(&mut self, st: &State, kind: &str) -> R<StmtKind> {
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

    fn op(&mut self, st: &State) -> R<Op> {
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
            _ => return Ok(Op::Implicit),
        };
        self.pos += 1;
        Ok(op)
    }

    // ---- expressions ----

    /// A selector (`tcp dport`, `meta mark`, `ct original saddr`, `fib saddr . iif oif`, ...)
    /// at the cursor, or None (cursor unchanged) when the word is not one.
    fn selector(&mut self, st: &State) -> R<Option<Expr>> {
        let Some(t) = self.peek(st)?.cloned() else {
            return Ok(None);
        };
        let start = t.span.start as usize;
        let next_word = |p: &Self, k: usize| {
            p.toks
                .get(p.pos + k)
                .filter(|n| n.kind == Kind::Word)
                .map(|n| n.text.clone())
        };
        if t.kind == Kind::At {
            // Raw payload `@nh,16,8` (the `,` parts follow).
            if self.toks.get(self.pos + 1).is_some_and(|n| n.is_punct(",")) {
                self.pos += 1;
                for _ in 0..2 {
                    self.expect_punct(st, ",")?;
                    self.word(st, "an offset or length")?;
                }
                return Ok(Some(Expr::Opaque {
                    name: "raw payload".into(),
                    text: self.text_from(start),
                }));
            }
            return Ok(None);
        }
        if t.kind != Kind::Word {
            return Ok(None);
        }
        let w = t.text.as_str();
        let e = if PAYLOAD.contains(&w) {
            let Some(field) = next_word(self, 1) else {
                return Ok(None);
            };
            if field == "option" && (w == "tcp" || w == "ip") {
                self.pos += 2;
                let name = self.word(st, "an option name")?.text;
                let field = match self.peek(st)? {
                    Some(f)
                        if f.kind == Kind::Word && TCP_OPTION_FIELDS.contains(&f.text.as_str()) =>
                    {
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
            Expr::Payload {
                proto: w.to_string(),
                field,
            }
        } else if w == "meta" {
            self.pos += 1;
            Expr::Meta(self.word(st, "a meta key")?.text)
        } else if UNQUALIFIED_META.contains(&w) {
            self.pos += 1;
            Expr::Meta(w.to_string())
        } else if w == "ct" {
            self.pos += 1;
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
                && next_word(self, 1).is_some_and(|k| k == "saddr" || k == "daddr")
            {
                self.pos += 1;
            }
            let key = self.word(st, "a ct key")?.text;
            Expr::Ct { key, dir }
        } else if w == "fib" {
            self.pos += 1;
            let mut flags = vec![self.word(st, "saddr or daddr")?.text];
            while self.eat(st, ".")? {
                flags.push(self.word(st, "a fib flag (iif, oif, mark)")?.text);
            }
            let result = self.word(st, "a fib result (oif, oifname, type)")?.text;
            Expr::Fib { flags, result }
        } else if w == "rt" || EXTHDR.contains(&w) || w == "exthdr" {
            let Some(field) = next_word(self, 1) else {
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
            if w == "exthdr" {
                Expr::Exthdr {
                    name: field,
                    field: String::new(),
                }
            } else {
                Expr::Exthdr {
                    name: w.to_string(),
                    field,
                }
            }
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

    /// The words of an opaque selector (`numgen inc mod 2 offset 1`, `socket transparent`,
    /// `jhash ip saddr . tcp dport mod 4 seed 0x1`, `osf ttl loose name`).
    fn opaque_args(&mut self, st: &State, w: &str) -> R<()> {
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
    fn term(&mut self, st: &State, selectors: bool) -> R<Expr> {
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
    fn binop_expr(&mut self, st: &State, selectors: bool) -> R<Option<Expr>> {
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

    fn binop_rest(&mut self, st: &State, mut left: Expr, min: u8) -> R<Expr> {
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
    fn finish_concat(&mut self, st: &State, first: Expr, selectors: bool) -> R<Expr> {
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
    fn concat_value(&mut self, st: &State, selectors: bool) -> R<Expr> {
        let t = self.term(st, selectors)?;
        let first = self.binop_rest(st, t, 0)?;
        self.finish_concat(st, first, selectors)
    }

    /// The right side of a match or of `set`: a concatenation, a `,` flag list, a `map`.
    fn value_expr(&mut self, st: &State, selectors: bool) -> R<Expr> {
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

fn binop_of(t: &Token) -> Option<(BinOp, u8)> {
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
fn split_addr_port(e: Expr, port: &mut Option<Expr>) -> Expr {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Append,
    Prepend,
    Replace,
}

/// Integers as nft writes them: decimal, `0x` hex, negative.
pub fn parse_int(s: &str) -> Option<i64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

/// A statement's text on one line: runs of whitespace (newlines included) become one space.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Files matching a glob in one directory (`dir/*.nft`), sorted, dot files skipped as nft
/// does.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let dir = pattern.parent().unwrap_or(Path::new("."));
    let pat = pattern.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter(|e| {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    !n.starts_with('.') && wildcard(pat, &n)
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn wildcard(p: &str, s: &str) -> bool {
    match p.chars().next() {
        None => s.is_empty(),
        Some('*') => (0..=s.len())
            .filter(|&i| s.is_char_boundary(i))
            .any(|i| wildcard(&p[1..], &s[i..])),
        Some('?') => s
            .chars()
            .next()
            .is_some_and(|c| wildcard(&p[1..], &s[c.len_utf8()..])),
        Some(c) => s.starts_with(c) && wildcard(&p[c.len_utf8()..], &s[c.len_utf8()..]),
    }
}

fn unreachable_token() -> Token {
    Token {
        kind: Kind::Newline,
        text: String::new(),
        span: Span::default(),
    }
}

fn unreachable_err(src: &SourceFile, span: Span) -> ParseError {
    ParseError::new(
        src,
        span,
        ErrorKind::Structure {
            message: "internal: chain vanished".into(),
        },
    )
}
