//! Splits one line of `iptables-save` / `iptables-restore` input into words, as
//! iptables-restore's `add_param_to_argv` does.
//!
//! Words are separated by spaces and tabs. A `"` opens a quoted part in which spaces are
//! kept and a backslash escapes the next character; the closing `"` ends the word. Each
//! word keeps its byte span in the file, so errors point at the exact token.

use model::Span;
use std::borrow::Cow;

/// One word of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    /// The word with quotes and escapes removed (borrowed unless it had escapes).
    pub text: Cow<'a, str>,
    /// Byte span in the file, including any quotes.
    pub span: Span,
    /// Whether any part was quoted: a quoted `!` or `-4` is data, not syntax.
    pub quoted: bool,
}

impl Token<'_> {
    /// The word as written, for syntax checks: `!`, `-A`, option names.
    pub fn is(&self, s: &str) -> bool {
        !self.quoted && self.text == s
    }
}

/// Why a line could not be split: a quote that is never closed (span of the quote).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnterminatedQuote(pub Span);

/// Splits `line`, which starts at byte `offset` of the file, into tokens.
pub fn tokenize(line: &str, offset: usize) -> Result<Vec<Token<'_>>, UnterminatedQuote> {
    let bytes = line.as_bytes();
    let mut out = Vec::with_capacity(16);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            _ => {
                let start = i;
                let (token, next) = word(line, start, offset)?;
                out.push(token);
                i = next.max(start + 1);
            }
        }
    }
    Ok(out)
}

/// Reads one word starting at `start`; returns it and the index after it.
fn word(line: &str, start: usize, offset: usize) -> Result<(Token<'_>, usize), UnterminatedQuote> {
    let bytes = line.as_bytes();
    let mut i = start;
    // Fast path: an unquoted word borrows the line.
    while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n' | b'"') {
        i += 1;
    }
    if i >= bytes.len() || bytes[i] != b'"' {
        let token = Token {
            text: Cow::Borrowed(&line[start..i]),
            span: Span::new(offset + start, offset + i),
            quoted: false,
        };
        return Ok((token, i));
    }
    // Slow path: the word has a quoted part; build it.
    let mut text = String::from(&line[start..i]);
    let quote_at = i;
    i += 1;
    let mut closed = false;
    let mut escaped = false;
    let mut chars = line[i..].char_indices();
    let mut end = line.len();
    for (at, c) in chars.by_ref() {
        if escaped {
            text.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            closed = true;
            end = i + at + 1;
            break;
        } else {
            text.push(c);
        }
    }
    if !closed {
        return Err(UnterminatedQuote(Span::new(
            offset + quote_at,
            offset + quote_at + 1,
        )));
    }
    // iptables-restore ends the word at the closing quote.
    let token = Token {
        text: Cow::Owned(text),
        span: Span::new(offset + start, offset + end),
        quoted: true,
    };
    Ok((token, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        tokenize(line, 0)
            .unwrap()
            .into_iter()
            .map(|t| t.text.into_owned())
            .collect()
    }

    #[test]
    fn splits_on_spaces_and_tabs() {
        assert_eq!(
            words("-A INPUT\t-j  ACCEPT"),
            ["-A", "INPUT", "-j", "ACCEPT"]
        );
    }

    #[test]
    fn quoted_word_keeps_spaces() {
        assert_eq!(
            words(r#"--log-prefix "[UFW BLOCK] " -j"#),
            ["--log-prefix", "[UFW BLOCK] ", "-j"]
        );
    }

    #[test]
    fn backslash_escapes_inside_quotes() {
        assert_eq!(words(r#"--comment "\"" x"#), ["--comment", "\"", "x"]);
        assert_eq!(words(r#"--comment "a\\b""#), ["--comment", "a\\b"]);
    }

    #[test]
    fn empty_quotes_are_an_empty_word() {
        let t = tokenize(r#"--log-prefix "" -j"#, 0).unwrap();
        assert_eq!(t[1].text, "");
        assert!(t[1].quoted);
        assert_eq!(t[1].span, Span::new(13, 15));
    }

    #[test]
    fn spans_are_offset_into_the_file() {
        let t = tokenize("-j DROP", 100).unwrap();
        assert_eq!(t[1].span, Span::new(103, 107));
    }

    #[test]
    fn unterminated_quote_is_reported_at_the_quote() {
        assert_eq!(
            tokenize(r#"-m comment --comment "abc"#, 0),
            Err(UnterminatedQuote(Span::new(21, 22)))
        );
    }

    #[test]
    fn quoted_bang_is_data() {
        let t = tokenize(r#""!" !"#, 0).unwrap();
        assert!(!t[0].is("!"));
        assert!(t[1].is("!"));
    }
}
