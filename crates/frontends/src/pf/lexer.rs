//! pf.conf's tokens, as pfctl's `yylex` cuts them, with macro expansion.
//!
//! A word starts with a letter, digit, `:` or `_` and runs over letters, digits and
//! punctuation other than `( ) { } < > ! = / # ,` (so `fe80::1%lo0` and `tcp.first` are
//! words, `10.0.0.0/8` is a word, `/` and `8`). `\` before a newline joins lines.
//! `$name` outside quotes is replaced by the macro's value, lexed again (pfctl expands
//! macros inside a macro's value only where it is defined, so expansion never recurses);
//! the tokens it yields carry the span of `$name`. Newlines are tokens: they end a
//! statement outside braces.

use std::collections::HashMap;

use model::Span;

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An unquoted word (keywords, names, numbers, addresses).
    Word,
    /// A quoted string, without its quotes.
    Str,
    /// One of `{ } ( ) , / < > = ! - * @ :` or `!= <= >= <> >< ->`.
    Punct,
    /// The end of a line.
    Newline,
    /// The end of the input.
    End,
}

/// One token.
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
    /// Punctuation `p`.
    pub fn is_punct(&self, p: &str) -> bool {
        self.kind == Kind::Punct && self.text == p
    }
    /// A newline or the end of the input.
    pub fn ends_line(&self) -> bool {
        matches!(self.kind, Kind::Newline | Kind::End)
    }
    /// A word or a quoted string (pfctl's `STRING`).
    pub fn is_string(&self) -> bool {
        matches!(self.kind, Kind::Word | Kind::Str)
    }
}

/// A lexing error: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexError {
    /// `$name` with no macro of that name.
    UndefinedMacro { span: Span, name: String },
    /// A quote with no closing quote.
    Unterminated { span: Span },
}

/// A macro's text being lexed in place of its `$name`.
struct Expansion {
    text: Vec<u8>,
    pos: usize,
    span: Span,
}

/// The lexer over one file, with the macros defined so far.
pub struct Lexer<'a> {
    text: &'a [u8],
    pos: usize,
    expansion: Option<Expansion>,
    peeked: Vec<Token>,
    pub macros: HashMap<String, String>,
}

fn word_start(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b':' || b == b'_'
}

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || (b.is_ascii_punctuation()
            && !matches!(
                b,
                b'(' | b')' | b'{' | b'}' | b'<' | b'>' | b'!' | b'=' | b'/' | b'#' | b','
            ))
}

impl<'a> Lexer<'a> {
    /// A lexer over `text` with `macros` already defined.
    pub fn with_macros(text: &'a str, macros: HashMap<String, String>) -> Lexer<'a> {
        Lexer {
            text: text.as_bytes(),
            pos: 0,
            expansion: None,
            peeked: Vec::new(),
            macros,
        }
    }

    /// The next token without taking it.
    pub fn peek(&mut self) -> Result<&Token, LexError> {
        if self.peeked.is_empty() {
            let t = self.lex()?;
            self.peeked.push(t);
        }
        Ok(self.peeked.last().expect("just pushed"))
    }

    /// Takes the next token.
    pub fn next(&mut self) -> Result<Token, LexError> {
        match self.peeked.pop() {
            Some(t) => Ok(t),
            None => self.lex(),
        }
    }

    /// Gives a token back (it is the next one again).
    pub fn push_back(&mut self, token: Token) {
        self.peeked.push(token);
    }

    /// The byte at the cursor (in the expansion, else in the file) after joining
    /// `\`-newline, and its file offset.
    fn current(&mut self) -> Option<u8> {
        loop {
            if let Some(e) = &self.expansion {
                match e.text.get(e.pos) {
                    Some(&b) => return Some(b),
                    None => {
                        self.expansion = None;
                        continue;
                    }
                }
            }
            match self.text.get(self.pos) {
                Some(b'\\') if self.text.get(self.pos + 1) == Some(&b'\n') => self.pos += 2,
                Some(b'\\') if self.text.get(self.pos + 1..self.pos + 3) == Some(b"\r\n") => {
                    self.pos += 3
                }
                Some(&b) => return Some(b),
                None => return None,
            }
        }
    }

    fn advance(&mut self) {
        match &mut self.expansion {
            Some(e) => e.pos += 1,
            None => self.pos += 1,
        }
    }

    /// The span from `start` to the cursor, or the macro reference's span.
    fn span_from(&self, start: usize) -> Span {
        match &self.expansion {
            Some(e) => e.span,
            None => Span::new(start, self.pos.max(start)),
        }
    }

    fn offset(&self) -> usize {
        match &self.expansion {
            Some(e) => e.span.start as usize,
            None => self.pos,
        }
    }

    fn lex(&mut self) -> Result<Token, LexError> {
        // Spaces, tabs and comments.
        loop {
            match self.current() {
                Some(b' ' | b'\t' | b'\r') => self.advance(),
                Some(b'#') => {
                    while !matches!(self.current(), None | Some(b'\n')) {
                        self.advance();
                    }
                }
                _ => break,
            }
        }
        let in_expansion = self.expansion.is_some();
        let start = self.offset();
        let Some(c) = self.current() else {
            return Ok(Token {
                kind: Kind::End,
                text: String::new(),
                span: Span::new(self.pos, self.pos),
            });
        };
        if c == b'$' && !in_expansion {
            self.advance();
            let mut name = String::new();
            while let Some(b) = self
                .current()
                .filter(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                name.push(b as char);
                self.advance();
            }
            let span = Span::new(start, self.pos);
            let Some(value) = self.macros.get(&name) else {
                return Err(LexError::UndefinedMacro { span, name });
            };
            self.expansion = Some(Expansion {
                text: value.clone().into_bytes(),
                pos: 0,
                span,
            });
            return self.lex();
        }
        if c == b'\n' {
            self.advance();
            return Ok(self.token(Kind::Newline, "\n".into(), start));
        }
        if c == b'"' || c == b'\'' {
            return self.quoted(c, start);
        }
        if word_start(c) {
            let mut word = String::new();
            while let Some(b) = self.current().filter(|b| word_byte(*b)) {
                word.push(b as char);
                self.advance();
            }
            return Ok(self.token(Kind::Word, word, start));
        }
        self.advance();
        let two = match (c, self.current()) {
            (b'!', Some(b'=')) => Some("!="),
            (b'<', Some(b'=')) => Some("<="),
            (b'<', Some(b'>')) => Some("<>"),
            (b'>', Some(b'=')) => Some(">="),
            (b'>', Some(b'<')) => Some("><"),
            (b'-', Some(b'>')) => Some("->"),
            _ => None,
        };
        if let Some(p) = two {
            self.advance();
            return Ok(self.token(Kind::Punct, p.into(), start));
        }
        let text = if c.is_ascii() {
            (c as char).to_string()
        } else {
            // A byte of a multi-byte character: take the whole character.
            let mut bytes = vec![c];
            while let Some(b) = self.current().filter(|b| *b & 0xC0 == 0x80) {
                bytes.push(b);
                self.advance();
            }
            String::from_utf8_lossy(&bytes).into_owned()
        };
        Ok(self.token(Kind::Punct, text, start))
    }

    fn token(&self, kind: Kind, text: String, start: usize) -> Token {
        Token {
            kind,
            text,
            span: self.span_from(start),
        }
    }

    /// A quoted string; `\"` is a quote, `\`-newline joins lines.
    fn quoted(&mut self, quote: u8, start: usize) -> Result<Token, LexError> {
        self.advance();
        let mut bytes = Vec::new();
        loop {
            let b = match &self.expansion {
                Some(e) => e.text.get(e.pos).copied(),
                None => self.text.get(self.pos).copied(),
            };
            match b {
                None => {
                    return Err(LexError::Unterminated {
                        span: self.span_from(start),
                    })
                }
                Some(b) if b == quote => {
                    self.advance();
                    break;
                }
                Some(b'\\') => {
                    self.advance();
                    let next = match &self.expansion {
                        Some(e) => e.text.get(e.pos).copied(),
                        None => self.text.get(self.pos).copied(),
                    };
                    match next {
                        Some(b'\n') => self.advance(),
                        Some(n) if n == quote || n == b' ' || n == b'\t' => {
                            bytes.push(n);
                            self.advance();
                        }
                        _ => bytes.push(b'\\'),
                    }
                }
                Some(b'\n') => self.advance(),
                Some(b) => {
                    bytes.push(b);
                    self.advance();
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(self.token(Kind::Str, text, start))
    }
}
