//! Splits IPFilter's files (`ipf.conf`, `ipnat.conf`, `ippool.conf`) into tokens with
//! byte spans, the way IPFilter's own lexer (`tools/lexer.c`) reads them:
//! - `#` to the end of the line is a comment, a backslash before a newline joins the lines
//!   (even inside a word: `1\` newline `28` is `128`), a backslash before any other
//!   character makes it part of a word (`test\.host`, `\ntp`);
//! - `NAME = VALUE;` at the start of a line defines a variable; `$NAME` and `${NAME}`
//!   are replaced by its value, read again as input (the tokens it gives point at the
//!   `$NAME` that produced them);
//! - a word is a run of anything but blanks and the punctuation below; `-` ends a word
//!   only before `>` (`->`), so `return-rst`, `1000-2000` and `1.1.1.1-1.1.1.9` are words,
//!   and `:` and `.` stay inside (`qe0:127.0.0.1`, `10:20`, `fe80::1`);
//! - punctuation: `{ } ( ) , ; = ! < > / @ ->` and `!= <= >= >< <>`.

use std::collections::HashMap;

use model::Span;

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Word,
    /// `"…"` or `'…'`: the text without its quotes.
    Str,
    Punct,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub text: String,
    pub span: Span,
    /// The first token of its line (the line-per-rule readers split on it).
    pub line_start: bool,
}

impl Token {
    /// A word equal to the keyword `w`: IPFilter's lexer matches keywords in any case
    /// (`yyfindkey`, `strcasecmp`), so `PASS IN ALL` is `pass in all`.
    pub fn is(&self, w: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(w)
    }

    /// The word as a keyword: in lower case.
    pub fn keyword(&self) -> String {
        self.text.to_ascii_lowercase()
    }
    pub fn is_punct(&self, p: &str) -> bool {
        self.kind == Kind::Punct && self.text == p
    }
}

/// A lexing error: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    pub span: Span,
    pub expected: &'static str,
    pub found: String,
}

const PUNCT2: [&str; 6] = ["->", "!=", "<=", ">=", "><", "<>"];
const PUNCT1: &[u8] = b"{}(),;=!<>/@";
/// How deep variables may refer to variables (a self-reference must not loop).
const MAX_EXPANSION_DEPTH: usize = 32;
/// How many tokens one file may give, counting expansions (`a="$b $b"`, `b="$c $c"`…
/// doubles at each level).
const MAX_TOKENS: usize = 1_000_000;

/// A stretch of text being read: the file itself, or a variable's value.
struct Frame {
    text: Vec<char>,
    /// Byte offset in the file of each char (file frames), or `None` for an expansion.
    offsets: Option<Vec<usize>>,
    pos: usize,
    /// The `$NAME` span every token of an expansion points at.
    at: Span,
    depth: usize,
}

struct Lexer {
    frames: Vec<Frame>,
    vars: HashMap<String, String>,
    file_len: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    /// The char `n` ahead, within the frames as they stand.
    fn peek_at(&self, mut n: usize) -> Option<char> {
        for frame in self.frames.iter().rev() {
            let left = frame.text.len() - frame.pos;
            if n < left {
                return Some(frame.text[frame.pos + n]);
            }
            n -= left;
        }
        None
    }

    fn pop_finished(&mut self) {
        while self
            .frames
            .last()
            .is_some_and(|f| f.pos >= f.text.len() && self.frames.len() > 1)
        {
            self.frames.pop();
        }
    }

    /// Byte offset of the next char in the file (the `$NAME` span's start inside an
    /// expansion).
    fn offset(&self) -> usize {
        match self.frames.last() {
            Some(Frame {
                offsets: Some(offsets),
                pos,
                ..
            }) => offsets.get(*pos).copied().unwrap_or(self.file_len),
            Some(frame) => frame.at.start as usize,
            None => self.file_len,
        }
    }

    /// The span from `start` to here, or the `$NAME` span inside an expansion.
    fn span_from(&self, start: usize, expanded: Option<Span>) -> Span {
        match expanded {
            Some(at) => at,
            None => Span::new(start, self.offset().max(start)),
        }
    }

    fn expansion(&self) -> Option<Span> {
        self.frames
            .iter()
            .rev()
            .find(|f| f.offsets.is_none())
            .map(|f| f.at)
    }

    fn bump(&mut self) -> Option<char> {
        self.pop_finished();
        let frame = self.frames.last_mut()?;
        let c = frame.text.get(frame.pos).copied()?;
        frame.pos += 1;
        Some(c)
    }

    fn depth(&self) -> usize {
        self.frames.last().map_or(0, |f| f.depth)
    }
}

/// The tokens of `text`.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, LexError> {
    let (chars, offsets): (Vec<char>, Vec<usize>) =
        text.char_indices().map(|(i, c)| (c, i)).unzip();
    let mut lx = Lexer {
        frames: vec![Frame {
            text: chars,
            offsets: Some(offsets),
            pos: 0,
            at: Span::default(),
            depth: 0,
        }],
        vars: HashMap::new(),
        file_len: text.len(),
    };
    let mut out: Vec<Token> = Vec::new();
    let mut line_start = true;
    loop {
        lx.pop_finished();
        let Some(c) = lx.peek() else { break };
        let start = lx.offset();
        let expanded = lx.expansion();
        match c {
            '\n' => {
                lx.bump();
                if expanded.is_none() {
                    line_start = true;
                }
            }
            c if c.is_whitespace() => {
                lx.bump();
            }
            '\\' if lx.peek_at(1) == Some('\n') => {
                lx.bump();
                lx.bump();
            }
            '\\' if lx.peek_at(1) == Some('\r') && lx.peek_at(2) == Some('\n') => {
                lx.bump();
                lx.bump();
                lx.bump();
            }
            '#' => {
                while lx.peek().is_some_and(|c| c != '\n') {
                    lx.bump();
                }
            }
            '$' => {
                lx.bump();
                expand(&mut lx, start)?;
            }
            '"' | '\'' => {
                lx.bump();
                let mut s = String::new();
                loop {
                    match lx.bump() {
                        None => {
                            return Err(LexError {
                                span: Span::new(start, lx.offset()),
                                expected: "a closing quote",
                                found: String::new(),
                            })
                        }
                        Some(q) if q == c => break,
                        Some('\\') if lx.peek() == Some('\n') => {
                            lx.bump();
                        }
                        Some(ch) => s.push(ch),
                    }
                }
                push(
                    &mut out,
                    Kind::Str,
                    s,
                    lx.span_from(start, expanded),
                    &mut line_start,
                )?;
            }
            _ => {
                let two: String = [Some(c), lx.peek_at(1)].into_iter().flatten().collect();
                if let Some(p) = PUNCT2.iter().find(|p| **p == two) {
                    lx.bump();
                    lx.bump();
                    push(
                        &mut out,
                        Kind::Punct,
                        p.to_string(),
                        lx.span_from(start, expanded),
                        &mut line_start,
                    )?;
                } else if c.is_ascii() && PUNCT1.contains(&(c as u8)) {
                    lx.bump();
                    push(
                        &mut out,
                        Kind::Punct,
                        c.to_string(),
                        lx.span_from(start, expanded),
                        &mut line_start,
                    )?;
                } else {
                    let word = read_word(&mut lx, start)?;
                    push(
                        &mut out,
                        Kind::Word,
                        word,
                        lx.span_from(start, expanded),
                        &mut line_start,
                    )?;
                }
            }
        }
        take_assignment(&mut lx, &mut out);
    }
    Ok(out)
}

fn push(
    out: &mut Vec<Token>,
    kind: Kind,
    text: String,
    span: Span,
    line_start: &mut bool,
) -> Result<(), LexError> {
    if out.len() >= MAX_TOKENS {
        return Err(LexError {
            span,
            expected: "fewer tokens (variables expand too far)",
            found: text,
        });
    }
    out.push(Token {
        kind,
        text,
        span,
        line_start: std::mem::take(line_start),
    });
    Ok(())
}

/// A word: up to a blank, punctuation, a quote or a comment; backslashes escape.
fn read_word(lx: &mut Lexer, start: usize) -> Result<String, LexError> {
    let mut word = String::new();
    while let Some(c) = lx.peek() {
        match c {
            '\\' => {
                lx.bump();
                match lx.peek() {
                    Some('\n') => {
                        lx.bump();
                    }
                    Some(next) => {
                        lx.bump();
                        word.push(next);
                    }
                    None => break,
                }
            }
            '$' => {
                lx.bump();
                expand(lx, lx.offset().saturating_sub(1).max(start))?;
            }
            '-' if lx.peek_at(1) == Some('>') => break,
            c if c.is_whitespace() || c == '"' || c == '\'' || c == '#' => break,
            c if c.is_ascii() && PUNCT1.contains(&(c as u8)) => break,
            c => {
                lx.bump();
                word.push(c);
            }
        }
    }
    Ok(word)
}

/// Reads the `NAME` or `{NAME}` after a `$` and pushes its value to be read next.
fn expand(lx: &mut Lexer, start: usize) -> Result<(), LexError> {
    let braced = lx.peek() == Some('{');
    if braced {
        lx.bump();
    }
    let mut name = String::new();
    while let Some(c) = lx.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            lx.bump();
            name.push(c);
        } else {
            break;
        }
    }
    if braced {
        if lx.peek() != Some('}') {
            return Err(LexError {
                span: Span::new(start, lx.offset()),
                expected: "`}` after the variable's name",
                found: lx.peek().map(String::from).unwrap_or_default(),
            });
        }
        lx.bump();
    }
    let at = lx
        .expansion()
        .unwrap_or_else(|| Span::new(start, lx.offset()));
    let Some(value) = lx.vars.get(&name).cloned() else {
        return Err(LexError {
            span: at,
            expected: "a defined variable",
            found: format!("${name}"),
        });
    };
    let depth = lx.depth() + 1;
    if depth > MAX_EXPANSION_DEPTH {
        return Err(LexError {
            span: at,
            expected: "a variable that does not refer to itself",
            found: format!("${name}"),
        });
    }
    lx.frames.push(Frame {
        text: value.chars().collect(),
        offsets: None,
        pos: 0,
        at,
        depth,
    });
    Ok(())
}

/// `NAME = VALUE ;` as the first tokens of a line: a variable definition, taken out of
/// the token stream.
fn take_assignment(lx: &mut Lexer, out: &mut Vec<Token>) {
    let n = out.len();
    if n < 4 {
        return;
    }
    let [name, eq, value, semi] = &out[n - 4..] else {
        return;
    };
    if name.line_start
        && name.kind == Kind::Word
        && eq.is_punct("=")
        && matches!(value.kind, Kind::Word | Kind::Str)
        && semi.is_punct(";")
        && name
            .text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        lx.vars.insert(name.text.clone(), value.text.clone());
        out.truncate(n - 4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn continuation_escapes_and_comments() {
        assert_eq!(
            words("pass in from 1\\\n28\\\n.0.0.1/16 to test\\.host # c\n"),
            [
                "pass",
                "in",
                "from",
                "128.0.0.1",
                "/",
                "16",
                "to",
                "test.host"
            ]
        );
        assert_eq!(words("port != \\ntp"), ["port", "!=", "ntp"]);
        assert_eq!(
            words("0/0 -> 1.1.1.1-1.1.1.9"),
            ["0", "/", "0", "->", "1.1.1.1-1.1.1.9"]
        );
    }

    #[test]
    fn variables_are_read_again() {
        assert_eq!(
            words("a=any;\nb=\"from $a\";\nd=block;\n$d in $b to ${a}\n"),
            ["block", "in", "from", "any", "to", "any"]
        );
        let e = tokenize("a=\"$a\";\npass $a\n").unwrap_err();
        assert_eq!(e.expected, "a variable that does not refer to itself");
        assert_eq!(tokenize("pass $nope").unwrap_err().span, Span::new(5, 10));
    }
}
