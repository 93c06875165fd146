//! `nft list ruleset` text and `nft -f` input into the syntax tree of [`super::ast`].
//!
//! The file is read as commands (`table ... { }`, `add rule ...`, `flush ruleset`,
//! `define`, `include`, ...) applied in order to a [`Doc`], the ruleset the commands would
//! leave in the kernel. Rules are split into statements here; what their values mean is
//! decided by [`super::lower`].
//!
//! Contract: never panics; every error carries the span of the offending token in the file
//! it came from (included files included).
//!
//! One file per construct: `command` (top-level commands, `define`, `include`),
//! `block` (chains, sets and maps inside a table), `rule` (a rule's statements),
//! `stmt` (verdicts, `queue`, `log`, NAT), `expr` (selectors and values). This file
//! holds the token cursor they share.

mod block;
mod command;
mod expr;
mod rule;
mod stmt;

use super::ast::*;
use super::lexer::{tokenize, Kind, Token};
use crate::{ErrorKind, ParseError};
use model::{SourceFile, Span};
use std::collections::HashMap;

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

impl<'s> P<'s> {
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

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    #[test]
    fn errors_have_line_and_column() {
        let e = parse_text(&SourceFile::new(
            "f",
            "table ip t {\n chain c {\n  ip saddr 10.0.0.300 accept\n }\n}\n",
        ))
        .unwrap_err();
        assert_eq!(e.line_col(), (3, 3));
        assert!(matches!(e.kind, ErrorKind::InvalidValue { .. }), "{e}");
        let e = parse_text(&SourceFile::new(
            "f",
            "table ip t {\n chain c {\n  frobnicate 3\n }\n}\n",
        ))
        .unwrap_err();
        assert_eq!(e.line_col(), (3, 3));
        assert!(
            matches!(&e.kind, ErrorKind::Unsupported { construct } if construct.contains("frobnicate")),
            "{e}"
        );
        let e = parse_text(&SourceFile::new(
            "f",
            "table ip t {\n chain c {\n  jump nowhere\n }\n}\n",
        ))
        .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Undefined { .. }));
        assert_eq!(e.line_col(), (3, 3));
        let e = parse_text(&SourceFile::new(
            "f",
            "table ip t {\n chain c {\n  tcp dport $nope\n",
        ))
        .unwrap_err();
        assert_eq!(e.line_col(), (3, 13));
        let e =
            parse_json(&SourceFile::new("j", "{\"nftables\": [ {\"table\": 3} ]}")).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }));
    }
}
