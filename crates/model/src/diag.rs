//! Diagnostics: the one error type of every front end (a span into the input, a named kind,
//! what was expected), rendered by `report` as `file:line:col`, the line and a caret.

use crate::{SourceFile, Span};
use std::fmt;

/// A parse error: where, what kind, and what was expected instead.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// The input (file name and full text), so the error can be shown with its line.
    pub source: SourceFile,
    /// The bytes the error is about (empty when it points between two bytes, e.g. at the
    /// end of a line where something is missing).
    pub span: Span,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// What went wrong. "Unsupported" kinds name the construct so users can tell a gap in
/// whyblocked from a typo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// Found something else where `expected` should be.
    Expected {
        /// What the grammar wants here, as a phrase (`a chain name`, `` `]` ``).
        expected: String,
        /// The text found instead; empty at the end of the line.
        found: String,
    },
    /// A value that does not parse (bad address, port out of range, ...).
    InvalidValue {
        /// What kind of value (`address`, `port range`, `prefix length`).
        what: String,
        /// The value as written.
        value: String,
        /// Why it is not valid (`not an IP address`).
        reason: String,
    },
    /// Syntax that is valid for the tool that wrote the file but not modelled here.
    Unsupported {
        /// The construct, named as the input spells it (``route type `nat` ``), so a user
        /// can tell it from a typo.
        construct: String,
    },
    /// A reference to something that does not exist (an undefined chain, set, table).
    Undefined {
        /// What kind of object (`chain`, `set`).
        what: String,
        /// The name that was referenced.
        name: String,
    },
    /// Input that is structurally wrong (rule before a table header, missing COMMIT).
    Structure {
        /// The whole message (e.g. that a table has no `COMMIT`).
        message: String,
    },
    /// JSON that does not have the expected shape.
    Json {
        /// serde's message, without its own position (the span has it).
        message: String,
    },
}

impl ParseError {
    /// An error of kind `kind` at `span` of `source`.
    pub fn new(source: &SourceFile, span: Span, kind: ErrorKind) -> ParseError {
        ParseError {
            source: source.clone(),
            span,
            kind,
        }
    }
    /// An [`ErrorKind::Expected`] error: `expected` was wanted at `span`, `found` was there.
    pub fn expected(source: &SourceFile, span: Span, expected: &str, found: &str) -> ParseError {
        ParseError::new(
            source,
            span,
            ErrorKind::Expected {
                expected: expected.to_string(),
                found: found.to_string(),
            },
        )
    }
    /// An [`ErrorKind::InvalidValue`] error: `value`, read as `what` at `span`, is wrong
    /// for `reason`.
    pub fn invalid_value(
        source: &SourceFile,
        span: Span,
        what: &str,
        value: &str,
        reason: &str,
    ) -> ParseError {
        ParseError::new(
            source,
            span,
            ErrorKind::InvalidValue {
                what: what.to_string(),
                value: value.to_string(),
                reason: reason.to_string(),
            },
        )
    }
    /// 1-based line and column of the start of the span.
    pub fn line_col(&self) -> (u32, u32) {
        self.source.line_col(self.span.start)
    }
}

/// The longest piece of the input an error message quotes, in characters: a 10 MB word is
/// quoted by its start, with `…`, never whole.
const MAX_QUOTED: usize = 80;
/// The longest JSON reader's message (serde quotes the offending value in it).
const MAX_JSON_MESSAGE: usize = 200;

/// `text` as an error message quotes it: whole, or its first [`MAX_QUOTED`] characters and `…`.
fn quoted(text: &str) -> std::borrow::Cow<'_, str> {
    cut(text, MAX_QUOTED)
}

/// `text`, or its first `max` characters and `…`.
fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]).into(),
        None => text.into(),
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Expected { expected, found } if found.is_empty() => {
                write!(f, "expected {expected}, found end of line")
            }
            ErrorKind::Expected { expected, found } => {
                write!(f, "expected {expected}, found `{}`", quoted(found))
            }
            ErrorKind::InvalidValue {
                what,
                value,
                reason,
            } => {
                write!(f, "invalid {what} `{}`: {reason}", quoted(value))
            }
            ErrorKind::Unsupported { construct } => {
                write!(
                    f,
                    "unsupported: {} is not modelled by whyblocked",
                    quoted(construct)
                )
            }
            ErrorKind::Undefined { what, name } => {
                write!(f, "undefined {what} `{}`", quoted(name))
            }
            ErrorKind::Structure { message } => f.write_str(message),
            ErrorKind::Json { message } => write!(f, "JSON: {}", cut(message, MAX_JSON_MESSAGE)),
        }
    }
}

/// `file:line:col: message` (the renderer in `report` adds the line and caret).
impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, col) = self.line_col();
        write!(f, "{}:{}:{}: {}", self.source.name, line, col, self.kind)
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b8_a_long_value_is_quoted_by_its_start() {
        let source = SourceFile::new("rules.v4", "x");
        let word = "9".repeat(10_000_000);
        let e = ParseError::invalid_value(&source, Span::new(0, 1), "port", &word, "too big");
        let shown = e.to_string();
        assert_eq!(
            shown,
            format!("rules.v4:1:1: invalid port `{}…`: too big", &word[..80])
        );
        let e = ParseError::expected(&source, Span::new(0, 1), "a port", &word);
        assert!(e.to_string().len() < 200);
        let short = ParseError::expected(&source, Span::new(0, 1), "a port", "http");
        assert_eq!(
            short.to_string(),
            "rules.v4:1:1: expected a port, found `http`"
        );
    }
}
