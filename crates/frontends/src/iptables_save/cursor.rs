//! Walking the words of one rule: the next word, an option's argument (with the legacy
//! `--opt ! value` negation), and the error constructors every part of the parser shares.

use super::lexer::Token;
use super::values::Bad;
use crate::{ErrorKind, ParseError};
use model::ruleset::Family;
use model::{SourceFile, Span};

/// What every part of the rule parser needs: the file (for errors) and the family.
#[derive(Clone, Copy)]
pub struct Cx<'s> {
    pub src: &'s SourceFile,
    pub family: Family,
}

impl Cx<'_> {
    pub fn v6(&self) -> bool {
        self.family == Family::Ip6
    }
    pub fn err(&self, span: Span, kind: ErrorKind) -> ParseError {
        ParseError::new(self.src, span, kind)
    }
    /// A value that did not parse, pointing at its token.
    pub fn invalid(&self, tok: &Token<'_>, bad: Bad) -> ParseError {
        self.err(
            tok.span,
            ErrorKind::InvalidValue {
                what: bad.what.to_string(),
                value: tok.text.to_string(),
                reason: bad.reason,
            },
        )
    }
    pub fn unsupported(&self, span: Span, construct: impl Into<String>) -> ParseError {
        self.err(
            span,
            ErrorKind::Unsupported {
                construct: construct.into(),
            },
        )
    }
    pub fn expected(&self, span: Span, expected: &str, found: &str) -> ParseError {
        ParseError::expected(self.src, span, expected, found)
    }
    pub fn structure(&self, span: Span, message: impl Into<String>) -> ParseError {
        self.err(
            span,
            ErrorKind::Structure {
                message: message.into(),
            },
        )
    }
}

/// An option as written: `[!] --name`.
#[derive(Clone, Copy)]
pub struct Opt<'t, 'a> {
    pub tok: &'t Token<'a>,
    /// The name without its leading dashes.
    pub name: &'t str,
    pub neg: bool,
    /// Where the `!` was, for "cannot be negated" errors.
    pub neg_span: Option<Span>,
}

impl Opt<'_, '_> {
    /// Rejects a `!` in front of an option that cannot be inverted, as iptables does.
    pub fn no_neg(&self, cx: &Cx<'_>) -> Result<(), ParseError> {
        match self.neg_span {
            Some(span) if self.neg => {
                Err(cx.unsupported(span, format!("`!` before --{}", self.name)))
            }
            _ => Ok(()),
        }
    }
}

/// The words of one rule, consumed left to right.
pub struct Cursor<'t, 'a> {
    toks: &'t [Token<'a>],
    pos: usize,
}

impl<'t, 'a> Cursor<'t, 'a> {
    pub fn new(toks: &'t [Token<'a>]) -> Self {
        Cursor { toks, pos: 0 }
    }
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<&'t Token<'a>> {
        let t = self.toks.get(self.pos)?;
        self.pos += 1;
        Some(t)
    }
    pub fn peek(&self) -> Option<&'t Token<'a>> {
        self.toks.get(self.pos)
    }
    /// The word after `after`, which must exist: `what` names it in the error.
    pub fn value(
        &mut self,
        cx: &Cx<'_>,
        after: &Token<'_>,
        what: &str,
    ) -> Result<&'t Token<'a>, ParseError> {
        match self.next() {
            Some(t) => Ok(t),
            None => Err(cx.expected(
                Span::new(after.span.end as usize, after.span.end as usize),
                what,
                "",
            )),
        }
    }
    /// The argument of `opt`. A bare `!` in front of it is the legacy negation form
    /// (`-s ! 10.0.0.1`, `--dport ! 22`) that iptables still accepts with a warning.
    pub fn arg(&mut self, cx: &Cx<'_>, opt: &mut Opt<'t, 'a>) -> Result<&'t Token<'a>, ParseError> {
        if let Some(t) = self.peek() {
            if t.is("!") {
                self.pos += 1;
                opt.neg = !opt.neg;
                opt.neg_span = Some(t.span);
            }
        }
        self.value(cx, opt.tok, &format!("a value for {}", opt.tok.text))
    }
    /// The next word if it is a value, not an option (`-I chain [n]`).
    pub fn optional_value(&mut self) -> Option<&'t Token<'a>> {
        let t = self.peek()?;
        if t.quoted || !t.text.starts_with('-') || t.text.len() == 1 {
            if t.is("!") {
                return None;
            }
            self.pos += 1;
            return Some(t);
        }
        None
    }
}
