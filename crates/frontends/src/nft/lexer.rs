//! Splits nft text into tokens with byte spans.
//!
//! nft's own scanner knows each value syntax (addresses, times, rates); here a *word* is
//! any run of `[A-Za-z0-9_.:/*+%\-\[\]]`, so `10.0.0.0/8`, `fe80::1`, `100-222`, `eth*`,
//! `10/second` and `nd-router-advert` are each one word, and the lowering gives them a type
//! from what they are compared with. A lone `.` (concatenation), `-`, `:` or `*` is a word
//! of its own, which is how nft's listing spaces them. Newlines are tokens: they end a rule
//! except inside braces.

use model::Span;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Word,
    /// `"..."`: `text` is the content without quotes.
    Str,
    /// `$name`: `text` is the name.
    Var,
    /// `@name`: `text` is the name.
    At,
    /// `{ } ( ) ; , = ! < > & | ^ == != <= >= << >>`.
    Punct,
    Newline,
    /// `# ...` to the end of the line: `text` is what follows `#`, trimmed.
    Comment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub text: String,
    pub span: Span,
}

impl Token {
    /// An unquoted word equal to `w`.
    pub fn is(&self, w: &str) -> bool {
        self.kind == Kind::Word && self.text == w
    }
    pub fn is_punct(&self, p: &str) -> bool {
        self.kind == Kind::Punct && self.text == p
    }
    /// Ends a statement: newline or `;`.
    pub fn is_end(&self) -> bool {
        self.kind == Kind::Newline || self.is_punct(";")
    }
}

/// A lexing error: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub span: Span,
    pub message: &'static str,
}

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'_' | b'.' | b':' | b'/' | b'*' | b'+' | b'%' | b'-' | b'[' | b']'
        )
}

/// The string that starts with the quote at `start`, unescaped, and where it ends (after
/// the closing quote).
fn string(text: &str, start: usize) -> Result<(String, usize), LexError> {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    let mut s = String::new();
    loop {
        match bytes.get(i) {
            None | Some(b'\n') => {
                return Err(LexError {
                    span: Span::new(start, i),
                    message: "unterminated string",
                })
            }
            Some(b'"') => return Ok((s, i + 1)),
            Some(b'\\') if matches!(bytes.get(i + 1), Some(b'"') | Some(b'\\')) => {
                s.push(bytes[i + 1] as char);
                i += 2;
            }
            Some(_) => {
                let c = text[i..].chars().next().unwrap_or('?');
                s.push(c);
                i += c.len_utf8();
            }
        }
    }
}

/// The end of a `$variable` or `@set` name that starts at `i`.
fn name_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'-' | b'.' | b'/'))
    {
        i += 1;
    }
    i
}

/// Tokenizes a whole file.
pub fn tokenize(text: &str) -> Result<Vec<Token>, LexError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(text.len() / 4);
    let mut i = 0;
    let push = |out: &mut Vec<Token>, kind: Kind, t: &str, s: usize, e: usize| {
        out.push(Token {
            kind,
            text: t.to_string(),
            span: Span::new(s, e),
        });
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => {
                push(&mut out, Kind::Newline, "\n", i, i + 1);
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'\\' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'#' => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                push(&mut out, Kind::Comment, text[i + 1..end].trim(), i, end);
                i = end;
            }
            b'"' => {
                let (unquoted, end) = string(text, i)?;
                out.push(Token {
                    kind: Kind::Str,
                    text: unquoted,
                    span: Span::new(i, end),
                });
                i = end;
            }
            b'$' | b'@' => {
                let start = i;
                i = name_end(bytes, i + 1);
                if i == start + 1 {
                    return Err(LexError {
                        span: Span::new(start, i),
                        message: "expected a name after `$` or `@`",
                    });
                }
                let kind = if b == b'$' { Kind::Var } else { Kind::At };
                push(&mut out, kind, &text[start + 1..i], start, i);
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = bytes.get(i + 1).copied();
                let len = match (b, two) {
                    (b'=', Some(b'='))
                    | (b'!', Some(b'='))
                    | (b'<', Some(b'='))
                    | (b'>', Some(b'=')) => 2,
                    (b'<', Some(b'<')) | (b'>', Some(b'>')) => 2,
                    _ => 1,
                };
                push(&mut out, Kind::Punct, &text[i..i + len], i, i + len);
                i += len;
            }
            b'{' | b'}' | b'(' | b')' | b';' | b',' | b'&' | b'|' | b'^' => {
                push(&mut out, Kind::Punct, &text[i..i + 1], i, i + 1);
                i += 1;
            }
            _ if word_byte(b) => {
                let start = i;
                while i < bytes.len() && word_byte(bytes[i]) {
                    i += 1;
                }
                push(&mut out, Kind::Word, &text[start..i], start, i);
            }
            _ => {
                let c = text[i..].chars().next().map_or(1, char::len_utf8);
                return Err(LexError {
                    span: Span::new(i, i + c),
                    message: "unexpected character",
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        tokenize(s).unwrap().into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn values_stay_whole() {
        assert_eq!(
            words("ip saddr 10.0.0.0/8 tcp dport 100-222 iifname \"eth*\""),
            [
                "ip",
                "saddr",
                "10.0.0.0/8",
                "tcp",
                "dport",
                "100-222",
                "iifname",
                "eth*"
            ]
        );
        assert_eq!(
            words("ip6 saddr fe80::1 . 22"),
            ["ip6", "saddr", "fe80::1", ".", "22"]
        );
    }

    #[test]
    fn operators_and_comments() {
        let t = tokenize("meta mark & 0xff != 0x1 accept # handle 4\n").unwrap();
        let kinds: Vec<_> = t
            .iter()
            .map(|t| (t.kind.clone(), t.text.as_str()))
            .collect();
        assert_eq!(kinds[2], (Kind::Punct, "&"));
        assert_eq!(kinds[4], (Kind::Punct, "!="));
        assert_eq!(kinds[7], (Kind::Comment, "handle 4"));
        assert_eq!(kinds[8].0, Kind::Newline);
    }

    #[test]
    fn unterminated_string_is_an_error() {
        let e = tokenize("comment \"abc\n").unwrap_err();
        assert_eq!(e.span.start, 8);
    }
}
