//! The one renderer of input errors, rustc/ruff style:
//!
//! ```text
//! error: expected a port, found `http`
//!  --> rules.v4:12:38
//!    |
//! 12 | -A INPUT -p tcp -m tcp --dport http -j ACCEPT
//!    |                                ^^^^ expected a port
//! ```
//!
//! The caret sits under the span's characters: tabs are shown as four spaces and
//! multi-byte characters count once, so the caret lines up whatever the line holds.

use frontends::{ErrorKind, ParseError};
use serde::Serialize;
use std::io::{self, Write};

/// Width a tab is shown as.
const TAB: usize = 4;

/// Writes `err` with its line and a caret under its span.
pub fn render<W: Write>(w: &mut W, err: &ParseError) -> io::Result<()> {
    let (line_no, col) = err.line_col();
    writeln!(w, "error: {}", err.kind)?;
    let line = err.source.line_text(line_no);
    let gutter = line_no.to_string().len();
    let pad = " ".repeat(gutter);
    writeln!(w, "{pad}--> {}:{}:{}", err.source.name, line_no, col)?;
    writeln!(w, "{pad} |")?;

    // Byte offsets of the span within the line (clamped to it).
    let text = &*err.source.text;
    let start = (err.span.start as usize).min(text.len());
    let line_start = text[..floor_boundary(text, start)]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let in_line = |offset: usize| offset.saturating_sub(line_start).min(line.len());
    let s = floor_boundary(line, in_line(start));
    let e = floor_boundary(line, in_line((err.span.end as usize).max(start))).max(s);
    let before = display_width(&line[..s]);
    let carets = display_width(&line[s..e]).max(1);
    let excerpt = Excerpt::around(&expand_tabs(line), before);
    writeln!(w, "{line_no} | {}", excerpt.text)?;
    let label = label(&err.kind);
    let label = if label.is_empty() {
        String::new()
    } else {
        format!(" {label}")
    };
    let caret_at = before + excerpt.shift_right - excerpt.cut_left;
    let carets = carets.min(excerpt.width.saturating_sub(caret_at)).max(1);
    writeln!(
        w,
        "{pad} | {}{}{}",
        " ".repeat(caret_at),
        "^".repeat(carets),
        label
    )?;
    Ok(())
}

/// The widest part of a line an error shows, in columns: a 10 MB line is cut to a window
/// around the caret rather than echoed whole.
const MAX_EXCERPT: usize = 120;
/// How many columns of the window lie before the caret when the line is cut.
const BEFORE_CARET: usize = 40;

/// The part of a (tab-expanded) line shown under an error, `…` marking each cut.
struct Excerpt {
    text: String,
    /// Columns cut from the left.
    cut_left: usize,
    /// Columns the left `…` adds (0 or 1).
    shift_right: usize,
    /// Columns shown, marks included.
    width: usize,
}

impl Excerpt {
    /// The window of `line` around column `caret`: the whole line when it fits.
    fn around(line: &str, caret: usize) -> Excerpt {
        let total = line.chars().count();
        if total <= MAX_EXCERPT {
            return Excerpt {
                text: line.to_string(),
                cut_left: 0,
                shift_right: 0,
                width: total,
            };
        }
        let cut_left = caret.saturating_sub(BEFORE_CARET).min(total - MAX_EXCERPT);
        let shown: String = line.chars().skip(cut_left).take(MAX_EXCERPT).collect();
        let left = if cut_left > 0 { "…" } else { "" };
        let right = if cut_left + MAX_EXCERPT < total {
            "…"
        } else {
            ""
        };
        Excerpt {
            text: format!("{left}{shown}{right}"),
            cut_left,
            shift_right: left.chars().count(),
            width: left.chars().count() + MAX_EXCERPT + right.chars().count(),
        }
    }
}

/// Writes a message that has no source line (an unreadable file, a bad directory).
pub fn render_message<W: Write>(w: &mut W, message: &str) -> io::Result<()> {
    writeln!(w, "error: {message}")
}

/// Which kind of error stopped the command, as `--json` names it (`error.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Bad arguments (clap's errors, a mistyped subcommand).
    Usage,
    /// An input that does not parse: the error has a file, line and column.
    Parse,
    /// Any other input problem (an unreadable file, a bad `--assume`).
    Input,
    /// Writing the answer failed.
    Output,
}

impl ErrorClass {
    fn code(self) -> &'static str {
        match self {
            ErrorClass::Usage => "usage",
            ErrorClass::Parse => "parse",
            ErrorClass::Input => "input",
            ErrorClass::Output => "output",
        }
    }
}

/// Version of the [`ErrorJson`] schema; bumped on any change that is not purely additive.
pub const ERROR_SCHEMA_VERSION: u32 = 1;

/// An error under `--json`: `{"error": {...}}` on stdout, so a script that reads the
/// answer as JSON reads the failure the same way (the text still goes to stderr).
#[derive(Debug, Clone, Serialize)]
pub struct ErrorJson {
    /// What went wrong.
    pub error: ErrorBodyJson,
    /// [`ERROR_SCHEMA_VERSION`].
    pub schema_version: u32,
}

/// The error itself.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBodyJson {
    /// `usage`, `parse`, `input` or `output`.
    pub kind: &'static str,
    /// The first line of the text, without `error: `.
    pub message: String,
    /// The input the error is in (`parse` errors; `<packet>` for the packet words).
    pub file: Option<String>,
    /// 1-based line in `file`.
    pub line: Option<u32>,
    /// 1-based column (characters) in the line.
    pub col: Option<u32>,
    /// The exit status the command ends with.
    pub exit_status: u8,
    /// The whole text as stderr shows it (caret, usage and hints included).
    pub text: String,
}

/// The JSON of a parse error, with its place.
pub fn parse_error_json(err: &ParseError, exit_status: u8) -> ErrorJson {
    let mut text = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = render(&mut text, err);
    let (line, col) = err.line_col();
    error_json(ErrorBodyJson {
        kind: ErrorClass::Parse.code(),
        message: err.kind.to_string(),
        file: Some(err.source.name.to_string()),
        line: Some(line),
        col: Some(col),
        exit_status,
        text: String::from_utf8_lossy(&text).into_owned(),
    })
}

/// The JSON of an error without a place; `text` is what stderr shows (`error: ...`).
pub fn message_error_json(class: ErrorClass, text: &str, exit_status: u8) -> ErrorJson {
    let first = text.lines().next().unwrap_or_default();
    error_json(ErrorBodyJson {
        kind: class.code(),
        message: first.strip_prefix("error: ").unwrap_or(first).to_string(),
        file: None,
        line: None,
        col: None,
        exit_status,
        text: text.to_string(),
    })
}

fn error_json(error: ErrorBodyJson) -> ErrorJson {
    ErrorJson {
        error,
        schema_version: ERROR_SCHEMA_VERSION,
    }
}

/// Writes an error's JSON as one line.
pub fn render_json<W: Write>(w: &mut W, err: &ErrorJson) -> io::Result<()> {
    serde_json::to_writer(&mut *w, err)?;
    writeln!(w)
}

/// The words of a mistyped subcommand: `typed` is neither a subcommand nor a protocol.
pub fn unknown_subcommand(typed: &str, meant: &str) -> String {
    format!("`{typed}` is neither a subcommand nor a protocol; did you mean `whyblocked {meant}`?")
}

/// The short text after the caret: what was expected instead.
fn label(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::Expected { expected, .. } => format!("expected {expected}"),
        ErrorKind::InvalidValue { reason, .. } => reason.clone(),
        ErrorKind::Unsupported { construct } => format!("{construct} is not supported"),
        ErrorKind::Undefined { what, name } => format!("no {what} named `{name}`"),
        ErrorKind::Structure { .. } => "here".to_string(),
        ErrorKind::Json { .. } => "here".to_string(),
    }
}

fn expand_tabs(s: &str) -> String {
    s.replace('\t', &" ".repeat(TAB))
}

fn display_width(s: &str) -> usize {
    s.chars().map(|c| if c == '\t' { TAB } else { 1 }).sum()
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{SourceFile, Span};

    fn rendered(text: &str, start: usize, end: usize, kind: ErrorKind) -> String {
        let src = SourceFile::new("rules.v4", text);
        let err = ParseError::new(&src, Span::new(start, end), kind);
        let mut out = Vec::new();
        render(&mut out, &err).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The first caret of `out` stands under the first character of `needle` in the shown
    /// line, counted in characters.
    fn assert_caret_under(out: &str, needle: &str) {
        let lines: Vec<&str> = out.lines().collect();
        let shown = lines[3].find(needle).unwrap();
        let caret = lines[4].find('^').unwrap();
        assert_eq!(
            lines[3][..shown].chars().count(),
            lines[4][..caret].chars().count(),
            "{out}"
        );
    }

    fn expected(what: &str, found: &str) -> ErrorKind {
        ErrorKind::Expected {
            expected: what.into(),
            found: found.into(),
        }
    }

    #[test]
    fn caret_under_the_span() {
        let text = "*filter\n-A INPUT -p tcp --dport http -j ACCEPT\nCOMMIT\n";
        let start = text.find("http").unwrap();
        insta::assert_snapshot!(rendered(text, start, start + 4, expected("a port", "http")), @r"
        error: expected a port, found `http`
         --> rules.v4:2:25
          |
        2 | -A INPUT -p tcp --dport http -j ACCEPT
          |                         ^^^^ expected a port
        ");
    }

    #[test]
    fn tabs_and_multibyte_characters_keep_the_caret_aligned() {
        let text = "\t-A INPUT -m comment --comment \"héllo\" -j WHAT\n";
        let start = text.find("WHAT").unwrap();
        let out = rendered(
            text,
            start,
            start + 4,
            ErrorKind::Unsupported {
                construct: "target `WHAT`".into(),
            },
        );
        assert_caret_under(&out, "WHAT");
        assert!(
            out.lines()
                .nth(4)
                .unwrap()
                .ends_with("^^^^ target `WHAT` is not supported"),
            "{out}"
        );
    }

    #[test]
    fn empty_span_at_end_of_line_gets_one_caret() {
        let text = "-A INPUT -p\n";
        let out = rendered(text, 11, 11, expected("a protocol", ""));
        insta::assert_snapshot!(out, @r"
        error: expected a protocol, found end of line
         --> rules.v4:1:12
          |
        1 | -A INPUT -p
          |            ^ expected a protocol
        ");
    }

    #[test]
    fn wide_gutter_for_long_files() {
        let mut text = String::new();
        for _ in 0..120 {
            text.push_str("# comment\n");
        }
        text.push_str("bogus\n");
        let start = text.find("bogus").unwrap();
        let out = rendered(
            &text,
            start,
            start + 5,
            ErrorKind::Structure {
                message: "rule before a table header".into(),
            },
        );
        assert!(
            out.contains("\n    |\n121 | bogus\n    | ^^^^^ here\n"),
            "{out}"
        );
    }

    #[test]
    fn span_past_the_end_does_not_panic() {
        let out = rendered("x", 5, 9, expected("y", "x"));
        assert!(out.contains("^"));
    }

    #[test]
    fn b8_a_long_line_is_shown_as_a_window_around_the_caret() {
        let comment = "a".repeat(10_000_000);
        let text = format!("-A INPUT -m comment --comment \"{comment}\" -j DROPX\n");
        let start = text.find("DROPX").unwrap();
        let out = rendered(&text, start, start + 5, expected("a target", "DROPX"));
        assert!(out.len() < 600, "{} bytes", out.len());
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[3].starts_with("1 | …aaa"), "{out}");
        assert!(lines[3].ends_with("\" -j DROPX"), "{out}");
        assert_caret_under(&out, "DROPX");
        assert!(lines[4].ends_with("^^^^^ expected a target"), "{out}");
        // At the start of a long line: cut on the right only, the caret where it was.
        let out = rendered(&text, 0, 2, expected("a rule", "-A"));
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[3].starts_with("1 | -A INPUT") && lines[3].ends_with("aaa…"),
            "{out}"
        );
        assert!(lines[4].starts_with("  | ^^ "), "{out}");
        // A span that runs past the window is underlined to its edge only.
        let at = text.find('a').unwrap();
        let out = rendered(&text, at, at + comment.len(), expected("x", "y"));
        assert!(out.len() < 600, "{} bytes", out.len());
    }
}
