//! pf.conf's grammar (`sbin/pfctl/parse.y`). Here: the parser's state, its token
//! helpers, and the statements that are about files (`include`, `load anchor`) and
//! macros; `options` (set, table, queue, antispoof), `rule`, `host` and `old` (FreeBSD's
//! translation rules) read the rest. Expansion into one rule per combination is
//! `expand`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use model::diag::{ErrorKind, ParseError};
use model::pf::{
    Action, Af, AnchorCall, BlockPolicy, BlockPolicyOption, Divert, DynamicModifier, Host,
    IcmpSpec, InterfaceSpec, Item, KeepState, Log, NumOp, OldNatKind, Opaque, PfOption, PoolType,
    RouteKind, RuleDirection, Ruleset, Scrub, StateOpt, StatePolicy, Table, TableEntry,
    TcpFlagsSpec,
};
use model::{Origin, SourceFile, Span};

use super::env::Env;
use super::expand::Expander;
use super::lexer::{Kind, LexError, Lexer, Token};
use super::names;
use super::raw::{RawHost, RawPool, RawRule};

/// The longest tag or label pfctl accepts (`PF_TAG_NAME_SIZE` - 1).
const MAX_TAG: usize = 63;
/// The longest string the lexer takes (pfctl's buffer).
const MAX_STRING: usize = 8191;
/// How deep `include` and inline anchors may nest.
const MAX_DEPTH: usize = 32;
/// The longest macro value: definitions that repeat earlier macros grow
/// exponentially, and no real ruleset comes near this.
const MAX_MACRO: usize = 1 << 16;

/// A parser over one file.
pub struct Parser<'a> {
    pub lx: Lexer<'a>,
    pub src: SourceFile,
    pub env: &'a Env,
    /// `set block-policy return` seen: plain `block` returns.
    pub block_return: bool,
    /// `set state-defaults`.
    pub state_defaults: Vec<StateOpt>,
    pub expander: Expander,
    /// Reading a `pfctl -vvsr` listing: tables and interface addresses carry their
    /// entry counts (`<t:3>`, `(em0:1)`, `:*` when unknown), which are not part of the name.
    pub listing: bool,
    /// The queues defined so far.
    queues: Vec<super::queue::QueueSpec>,
    /// An `altq` statement was read: `queue` lines are FreeBSD's ALTQ ones.
    saw_altq: bool,
    depth: usize,
    /// How many `include`s and `load anchor`s led to this file.
    nesting: usize,
    /// User and group names accepted without ids (this file's and those it read).
    pub unresolved: Vec<super::UnresolvedName>,
}

type PResult<T> = Result<T, ParseError>;

mod host;
mod old;
mod options;
mod rule;

impl<'a> Parser<'a> {
    pub fn new(src: SourceFile, text: &'a str, env: &'a Env) -> Parser<'a> {
        Parser {
            lx: Lexer::with_macros(text, env.defines.clone()),
            src,
            env,
            block_return: false,
            state_defaults: Vec::new(),
            expander: Expander::default(),
            listing: false,
            queues: Vec::new(),
            saw_altq: false,
            depth: 0,
            nesting: 0,
            unresolved: Vec::new(),
        }
    }

    pub fn error(&self, span: Span, kind: ErrorKind) -> ParseError {
        ParseError::new(&self.src, span, kind)
    }

    fn lex_error(&self, e: LexError) -> ParseError {
        match e {
            LexError::UndefinedMacro { span, name } => self.error(
                span,
                ErrorKind::Undefined {
                    what: "macro".into(),
                    name,
                },
            ),
            LexError::Unterminated { span } => self.error(
                span,
                ErrorKind::Expected {
                    expected: "a closing quote".into(),
                    found: String::new(),
                },
            ),
        }
    }

    pub fn expected(&self, token: &Token, what: &str) -> ParseError {
        let found = if token.ends_line() {
            String::new()
        } else {
            token.text.clone()
        };
        self.error(
            token.span,
            ErrorKind::Expected {
                expected: what.into(),
                found,
            },
        )
    }

    pub fn invalid(&self, span: Span, what: &str, value: &str, reason: &str) -> ParseError {
        self.error(
            span,
            ErrorKind::InvalidValue {
                what: what.into(),
                value: value.into(),
                reason: reason.into(),
            },
        )
    }

    fn next(&mut self) -> PResult<Token> {
        let t = self.lx.next().map_err(|e| self.lex_error(e))?;
        if t.text.len() > MAX_STRING {
            return Err(self.invalid(t.span, "string", &t.text, "string too long"));
        }
        Ok(t)
    }

    fn peek(&mut self) -> PResult<Token> {
        match self.lx.peek() {
            Ok(t) => Ok(t.clone()),
            Err(e) => Err(self.lex_error(e)),
        }
    }

    fn peek_is(&mut self, w: &str) -> PResult<bool> {
        Ok(self.peek()?.is(w))
    }

    fn peek_punct(&mut self, p: &str) -> PResult<bool> {
        Ok(self.peek()?.is_punct(p))
    }

    /// Takes the next token if it is the word `w`.
    fn eat(&mut self, w: &str) -> PResult<bool> {
        if self.peek_is(w)? {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn eat_punct(&mut self, p: &str) -> PResult<bool> {
        if self.peek_punct(p)? {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect_word(&mut self, w: &str) -> PResult<Token> {
        let t = self.next()?;
        if t.is(w) {
            Ok(t)
        } else {
            Err(self.expected(&t, &format!("`{w}`")))
        }
    }

    fn expect_punct(&mut self, p: &str) -> PResult<Token> {
        let t = self.next()?;
        if t.is_punct(p) {
            Ok(t)
        } else {
            Err(self.expected(&t, &format!("`{p}`")))
        }
    }

    /// A name that pfctl's lexer would not read as a number (labels, tags, anchors).
    fn name(&mut self, what: &str) -> PResult<Token> {
        let t = self.string(what)?;
        if t.kind == Kind::Word && t.text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.expected(&t, &format!("{what}, not a number")));
        }
        Ok(t)
    }

    /// A word or quoted string.
    fn string(&mut self, what: &str) -> PResult<Token> {
        let t = self.next()?;
        if t.is_string() {
            Ok(t)
        } else {
            Err(self.expected(&t, what))
        }
    }

    fn skip_newlines(&mut self) -> PResult<()> {
        while self.peek()?.kind == Kind::Newline {
            self.next()?;
        }
        Ok(())
    }

    /// A number up to `max`, refused as pfctl refuses it (`illegal min-ttl value 256`).
    fn limited(&mut self, what: &str, expected: &str, max: u32) -> PResult<u32> {
        let v = self.next()?;
        match names::number(&v.text) {
            Some(n) if n <= max => Ok(n),
            Some(n) => {
                Err(self.invalid(v.span, what, &v.text, &format!("illegal {what} value {n}")))
            }
            None => Err(self.expected(&v, expected)),
        }
    }

    /// A number in `[min, max]`.
    fn number(&mut self, what: &str, min: u32, max: u32) -> PResult<(u32, Span)> {
        let t = self.next()?;
        if t.kind != Kind::Word {
            return Err(self.expected(&t, what));
        }
        match names::number(&t.text) {
            Some(n) if n >= min && n <= max => Ok((n, t.span)),
            Some(_) => Err(self.invalid(t.span, what, &t.text, &format!("must be {min} - {max}"))),
            None => Err(self.expected(&t, what)),
        }
    }

    /// The next token of this line, `None` at its end (which is left for
    /// `end_of_statement`).
    fn next_on_line(&mut self) -> PResult<Option<Token>> {
        if self.peek()?.ends_line() {
            return Ok(None);
        }
        self.next().map(Some)
    }

    fn end_of_statement(&mut self) -> PResult<()> {
        let t = self.peek()?;
        if t.ends_line() {
            if t.kind == Kind::Newline {
                self.next()?;
            }
            Ok(())
        } else if t.is_punct("}") && self.depth > 0 {
            Ok(())
        } else {
            Err(self.expected(&t, "the end of the line"))
        }
    }

    pub fn origin(&self, span: Span) -> Origin {
        let (line, _) = self.src.line_col(span.start);
        let text = self
            .src
            .text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        let text: String = text
            .split('\n')
            .map(|l| l.trim_end_matches('\\').trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Origin {
            file: self.src.name.clone(),
            span,
            line,
            text: text.into(),
            ..Origin::default()
        }
    }

    /// The span of a statement that started at `start`: to the end of its last line
    /// read so far.
    fn statement_span(&self, start: Span) -> Span {
        let text = &self.src.text;
        let from = start.start as usize;
        let mut end = from;
        // The statement ends at the first newline not preceded by `\`; a quote or a
        // comment does not carry it past its line (an apostrophe in a comment is text).
        let bytes = text.as_bytes();
        let mut quote = None;
        let mut comment = false;
        while end < bytes.len() {
            let b = bytes[end];
            let continued = end > 0 && bytes[end - 1] == b'\\';
            if b == b'\n' && (!continued || comment || quote.is_some()) {
                break;
            }
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if comment => {}
                None if b == b'#' => comment = true,
                None if b == b'"' || b == b'\'' => quote = Some(b),
                None => {}
            }
            end += 1;
        }
        Span::new(from, end)
    }

    /// Expands `rule` into `items`.
    fn push(&mut self, rule: RawRule, items: &mut Vec<Item>) -> PResult<()> {
        let mut expander = std::mem::take(&mut self.expander);
        let result = expander.push_rule(self, rule, items);
        self.expander = expander;
        result
    }

    /// Every statement up to the end of the input (or the `}` of an inline anchor).
    pub fn statements(&mut self, items: &mut Vec<Item>) -> PResult<()> {
        loop {
            let t = self.next()?;
            match t.kind {
                Kind::Newline => continue,
                Kind::End if self.depth == 0 => return Ok(()),
                Kind::End => return Err(self.expected(&t, "`}`")),
                Kind::Punct if t.text == "}" && self.depth > 0 => {
                    self.lx.push_back(t);
                    return Ok(());
                }
                _ => {}
            }
            self.statement(t, items)?;
        }
    }

    fn statement(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        if t.is_string() && self.peek_punct("=")? && t.kind == Kind::Word {
            return self.macro_definition(t, items);
        }
        if t.kind != Kind::Word {
            return Err(self.expected(&t, "a rule, option or macro"));
        }
        match t.text.as_str() {
            "include" => self.include(t, items),
            "set" => self.option(t, items),
            "table" => self.table(t, items),
            "queue" | "altq" => self.queue(t, items),
            "load" => self.load_anchor(t, items),
            "antispoof" => self.antispoof(t, items),
            "pass" | "block" | "match" | "anchor" => self.rule(t, items),
            "nat" | "rdr" | "binat" | "no" => self.old_translation(t, items),
            "scrub" => self.old_scrub(t, items),
            "nat-anchor" | "rdr-anchor" | "binat-anchor" => self.old_anchor(t, items),
            _ => Err(self.expected(&t, "a rule, option or macro")),
        }
    }

    fn macro_definition(&mut self, name: Token, items: &mut Vec<Item>) -> PResult<()> {
        self.next()?; // `=`
        let mut parts = Vec::new();
        while let Some(t) = self.next_on_line()? {
            if !t.is_string() {
                return Err(self.expected(&t, "a macro value"));
            }
            parts.push(t.text);
        }
        if parts.is_empty() {
            let t = self.peek()?;
            return Err(self.expected(&t, "a macro value"));
        }
        let value = parts.join(" ");
        let span = self.statement_span(name.span);
        if value.len() > MAX_MACRO {
            return Err(self.invalid(span, "macro", &name.text, "its value is longer than 64 KiB"));
        }
        // `pfctl -D name=value` wins over the file's definition (which is still printed).
        if !self.env.defines.contains_key(&name.text) {
            self.lx.macros.insert(name.text.clone(), value.clone());
        }
        items.push(Item::Macro {
            name: name.text,
            value,
            origin: self.origin(span),
        });
        self.end_of_statement()
    }

    fn include(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let file = self.string("a file name")?;
        self.end_of_statement()?;
        let Some(text) = self.env.files.get(&file.text) else {
            return Err(self.error(
                file.span,
                ErrorKind::Undefined {
                    what: "include file".into(),
                    name: file.text,
                },
            ));
        };
        let mut inner = self.nested(t.span, &file.text, text)?;
        inner.lx.macros = std::mem::take(&mut self.lx.macros);
        inner.block_return = self.block_return;
        inner.state_defaults = std::mem::take(&mut self.state_defaults);
        inner.expander = std::mem::take(&mut self.expander);
        let result = inner.statements(items);
        self.unresolved.append(&mut inner.unresolved);
        self.lx.macros = std::mem::take(&mut inner.lx.macros);
        self.block_return = inner.block_return;
        self.state_defaults = std::mem::take(&mut inner.state_defaults);
        self.expander = std::mem::take(&mut inner.expander);
        result
    }

    /// A parser for the file an `include` or `load anchor` at `at` names.
    fn nested(&self, at: Span, name: &str, text: &'a str) -> PResult<Parser<'a>> {
        if self.nesting >= MAX_DEPTH {
            return Err(self.error(
                at,
                ErrorKind::Structure {
                    message: "files include or load each other too deep".into(),
                },
            ));
        }
        let mut inner = Parser::new(SourceFile::new(name, text), text, self.env);
        inner.nesting = self.nesting + 1;
        Ok(inner)
    }

    fn load_anchor(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        self.expect_word("anchor")?;
        let anchor = self.string("an anchor name")?;
        self.expect_word("from")?;
        let file = self.string("a file name")?;
        let span = self.statement_span(t.span);
        self.end_of_statement()?;
        let ruleset = match self.env.files.get(&file.text) {
            Some(text) => {
                // pfctl reads the file as a ruleset of its own (its own macros and
                // options), into the anchor.
                let mut inner = self.nested(t.span, &file.text, text)?;
                inner.expander.enter_anchor(Some(&anchor.text));
                let mut body = Vec::new();
                inner.statements(&mut body)?;
                inner.check_queues(&body)?;
                self.unresolved.append(&mut inner.unresolved);
                Some(Box::new(Ruleset { items: body }))
            }
            None => None,
        };
        items.push(Item::LoadAnchor {
            anchor: anchor.text,
            file: file.text,
            origin: self.origin(span),
            ruleset,
        });
        Ok(())
    }

    /// One `item`, or a `{ … }` list of at least one (commas optional, newlines
    /// allowed): an empty list is refused, as it would read as `any`.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> PResult<T>) -> PResult<Vec<T>> {
        if !self.eat_punct("{")? {
            return Ok(vec![item(self)?]);
        }
        let mut list = Vec::new();
        loop {
            self.skip_newlines()?;
            if !list.is_empty() && self.eat_punct("}")? {
                return Ok(list);
            }
            list.push(item(self)?);
            self.eat_punct(",")?;
        }
    }

    /// `name` or `{ name, name }`.
    fn name_list(&mut self, what: &str) -> PResult<Vec<String>> {
        self.list(|p| Ok(p.string(what)?.text))
    }

    fn default_block(&self) -> BlockPolicy {
        if self.block_return {
            BlockPolicy::Return
        } else {
            BlockPolicy::Drop
        }
    }
}
