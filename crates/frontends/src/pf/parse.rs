//! pf.conf's grammar (`sbin/pfctl/parse.y`): statements, rules as written, hosts and
//! their resolution, options. Expansion into one rule per combination is `expand`.

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
}

/// `name:3` or `name:*` → `name` (the counts `pfctl -vv` prints after a table or an
/// interface address).
fn without_count(name: &str) -> &str {
    match name.rsplit_once(':') {
        Some((base, n))
            if n == "*" || (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n != "0") =>
        {
            base
        }
        _ => name,
    }
}

type PResult<T> = Result<T, ParseError>;

fn af_of(addr: &IpAddr) -> Af {
    match addr {
        IpAddr::V4(_) => Af::Inet,
        IpAddr::V6(_) => Af::Inet6,
    }
}

/// `addr` with the bits past `prefix` cleared.
pub fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix.min(32)))
            };
            IpAddr::V4(Ipv4Addr::from(bits & mask))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix.min(128)))
            };
            IpAddr::V6(Ipv6Addr::from(bits & mask))
        }
    }
}

/// `10/8`, `10.1/8`: pfctl's `inet_net_pton`, which fills missing octets with zeros.
fn short_v4(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        octets[i] = p.parse().ok()?;
    }
    Some(Ipv4Addr::from(octets))
}

impl<'a> Parser<'a> {
    pub fn new(src: SourceFile, text: &'a str, env: &'a Env) -> Parser<'a> {
        Parser {
            lx: Lexer::new(text),
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
        }
    }

    // ---- errors and tokens ----

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
        // The statement ends at the first newline not preceded by `\`, outside quotes.
        let bytes = text.as_bytes();
        let mut quote = None;
        while end < bytes.len() {
            let b = bytes[end];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'"' || b == b'\'' => quote = Some(b),
                None if b == b'\n' && (end == 0 || bytes[end - 1] != b'\\') => break,
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

    // ---- statements ----

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

    /// `queue …` (OpenBSD's queues, checked and normalised) or FreeBSD's ALTQ `altq on …`
    /// and the `queue` lines that follow it (kept as written).
    fn queue(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let mut words = Vec::new();
        while !self.peek()?.ends_line() {
            let w = self.next()?;
            words.push((w.text, w.span));
        }
        self.end_of_statement()?;
        let altq = t.is("altq") || self.saw_altq;
        self.saw_altq = altq;
        let as_written = || {
            let rest: Vec<&str> = words.iter().map(|(w, _)| w.as_str()).collect();
            format!("{} {}", t.text, rest.join(" "))
        };
        let printed = if altq {
            as_written()
        } else {
            let spec = super::queue::parse(&words, span)
                .map_err(|(at, message)| self.error(at, ErrorKind::Structure { message }))?;
            let printed = super::queue::text(&spec);
            self.queues.push(spec);
            printed
        };
        items.push(Item::Queue(Opaque {
            origin: self.origin(span),
            printed,
        }));
        Ok(())
    }

    /// pfctl's checks once the file is read: the queue tree, and that every queue a
    /// rule names is defined.
    pub fn check_queues(&self, items: &[Item]) -> PResult<()> {
        if self.queues.is_empty() {
            return Ok(());
        }
        super::queue::check(&self.queues)
            .map_err(|(at, message)| self.error(at, ErrorKind::Structure { message }))?;
        let defined = |name: &str| self.queues.iter().any(|q| q.name == name);
        for item in items {
            let Item::Rule(rule) = item else { continue };
            if let Some((q, pq)) = &rule.queue {
                for name in std::iter::once(q).chain(pq) {
                    if !defined(name) {
                        return Err(self.error(
                            rule.origin.span,
                            ErrorKind::Undefined {
                                what: "queue".into(),
                                name: name.clone(),
                            },
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn macro_definition(&mut self, name: Token, items: &mut Vec<Item>) -> PResult<()> {
        self.next()?; // `=`
        let mut parts = Vec::new();
        loop {
            let t = self.peek()?;
            if t.ends_line() {
                break;
            }
            let t = self.next()?;
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
        self.lx.macros.insert(name.text.clone(), value.clone());
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

    fn option(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let name = self.string("an option name")?;
        let mut push = |p: &mut Self, o: PfOption| items.push(Item::Option(o, p.origin(span)));
        match name.text.as_str() {
            "skip" => {
                self.expect_word("on")?;
                let list = self.name_list("an interface")?;
                push(self, PfOption::Skip(list));
            }
            "block-policy" => {
                let v = self.next()?;
                let policy = match v.text.as_str() {
                    "drop" => BlockPolicyOption::Drop,
                    "return" => BlockPolicyOption::Return,
                    _ => return Err(self.expected(&v, "`drop` or `return`")),
                };
                self.block_return = policy == BlockPolicyOption::Return;
                push(self, PfOption::BlockPolicy(policy));
            }
            "state-policy" => {
                let v = self.next()?;
                let policy = match v.text.as_str() {
                    "if-bound" => StatePolicy::IfBound,
                    "floating" => StatePolicy::Floating,
                    _ => return Err(self.expected(&v, "`if-bound` or `floating`")),
                };
                push(self, PfOption::StatePolicy(policy));
            }
            "limit" | "timeout" => {
                let mut pairs = Vec::new();
                let braced = self.eat_punct("{")?;
                loop {
                    if braced {
                        self.skip_newlines()?;
                    }
                    let key = self.string("a name")?;
                    if name.text == "timeout" && !names::TIMEOUTS.contains(&key.text.as_str()) {
                        return Err(self.expected(&key, "a timeout name"));
                    }
                    let (value, _) = self.number("a number", 0, u32::MAX)?;
                    pairs.push((key.text, u64::from(value)));
                    if !braced {
                        break;
                    }
                    self.eat_punct(",")?;
                    self.skip_newlines()?;
                    if self.eat_punct("}")? {
                        break;
                    }
                }
                let option = if name.text == "limit" {
                    PfOption::Limit(pairs)
                } else {
                    PfOption::Timeout(pairs)
                };
                push(self, option);
            }
            "optimization" => {
                let v = self.string("an optimization")?;
                push(self, PfOption::Optimization(v.text));
            }
            "ruleset-optimization" => {
                let v = self.string("`none`, `basic` or `profile`")?;
                push(self, PfOption::RulesetOptimization(v.text));
            }
            "loginterface" => {
                let v = self.string("an interface or `none`")?;
                let value = (v.text != "none").then_some(v.text);
                push(self, PfOption::LogInterface(value));
            }
            "hostid" => {
                let (v, span) = self.number("a host id", 0, u32::MAX)?;
                if v == 0 {
                    return Err(self.invalid(span, "hostid", "0", "hostid must be non-zero"));
                }
                push(self, PfOption::HostId(v));
            }
            "debug" => {
                let v = self.string("a debug level")?;
                push(self, PfOption::Debug(v.text));
            }
            "reassemble" => {
                let v = self.next()?;
                let enabled = match v.text.as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(self.expected(&v, "`yes` or `no`")),
                };
                let no_df = self.eat("no-df")?;
                push(self, PfOption::Reassemble { enabled, no_df });
            }
            "fingerprints" => {
                let v = self.string("a file name")?;
                push(self, PfOption::Fingerprints(v.text));
            }
            "state-defaults" => {
                let opts = self.state_opt_list()?;
                self.state_defaults = opts.clone();
                push(self, PfOption::StateDefaults(opts));
            }
            _ => {
                let mut words = Vec::new();
                while !self.peek()?.ends_line() {
                    words.push(self.next()?.text);
                }
                let option = match name.text.as_str() {
                    "syncookies" => PfOption::Syncookies(words.join(" ")),
                    _ => PfOption::Other {
                        name: name.text,
                        value: words.join(" "),
                    },
                };
                push(self, option);
            }
        }
        self.end_of_statement()
    }

    /// One `item`, or a `{ … }` list of them (commas optional, newlines allowed).
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> PResult<T>) -> PResult<Vec<T>> {
        if !self.eat_punct("{")? {
            return Ok(vec![item(self)?]);
        }
        let mut list = Vec::new();
        loop {
            self.skip_newlines()?;
            if self.eat_punct("}")? {
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

    fn table(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        self.expect_punct("<")?;
        let name = self.string("a table name")?;
        self.expect_punct(">")?;
        let mut table = Table {
            name: name.text,
            persist: false,
            constant: false,
            counters: false,
            entries: Vec::new(),
            files: Vec::new(),
            origin: self.origin(span),
        };
        loop {
            let t = self.peek()?;
            if t.ends_line() {
                break;
            }
            let t = self.next()?;
            match t.text.as_str() {
                "persist" if t.kind == Kind::Word => table.persist = true,
                "const" if t.kind == Kind::Word => table.constant = true,
                "counters" if t.kind == Kind::Word => table.counters = true,
                "file" if t.kind == Kind::Word => {
                    table.files.push(self.string("a file name")?.text)
                }
                "{" if t.kind == Kind::Punct => loop {
                    self.skip_newlines()?;
                    if self.eat_punct("}")? {
                        break;
                    }
                    for h in self.host(None)? {
                        let bad = match &h.host {
                            Host::Network { .. } | Host::InterfaceName { .. } | Host::Name(_) => {
                                None
                            }
                            Host::Range(..) => {
                                Some("address ranges are not permitted inside tables")
                            }
                            Host::Dynamic { .. } => {
                                Some("dynamic addresses are not permitted inside tables")
                            }
                            Host::Table(_) => Some("tables cannot contain tables"),
                            Host::NoRoute => Some("\"no-route\" is not permitted inside tables"),
                            Host::UrpfFailed => {
                                Some("\"urpf-failed\" is not permitted inside tables")
                            }
                            Host::Any | Host::RouteLabel(_) => Some("not an address"),
                        };
                        if let Some(reason) = bad {
                            let text = self.src.text[h.span.start as usize..h.span.end as usize]
                                .to_string();
                            return Err(self.invalid(h.span, "table entry", &text, reason));
                        }
                        table.entries.push(TableEntry {
                            negated: h.negated,
                            host: h.host,
                        });
                    }
                    self.eat_punct(",")?;
                },
                _ => return Err(self.expected(&t, "a table option or `{`")),
            }
        }
        items.push(Item::Table(table));
        self.end_of_statement()
    }

    fn antispoof(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let mut log = None;
        let mut quick = false;
        loop {
            if self.peek_is("log")? {
                self.next()?;
                log = Some(self.log_opts()?);
            } else if self.eat("quick")? {
                quick = true;
            } else {
                break;
            }
        }
        self.expect_word("for")?;
        let interfaces = self.list(Self::antispoof_if)?;
        let af = self.family()?;
        let mut label = None;
        if self.eat("label")? {
            label = Some(self.string("a label")?.text);
        }
        self.end_of_statement()?;
        for (name, dynamic, name_span) in interfaces {
            let mut rule = RawRule::new(Action::Block(self.default_block()), span);
            rule.direction = RuleDirection::In;
            rule.log = log.clone();
            rule.quick = quick;
            rule.af = af;
            rule.opts.label = label.clone();
            rule.interfaces = vec![InterfaceSpec {
                negated: true,
                name: name.clone(),
            }];
            if dynamic {
                rule.from = vec![RawHost {
                    negated: false,
                    host: Host::Dynamic {
                        interface: name.clone(),
                        modifier: DynamicModifier::Network,
                        prefix: None,
                        af,
                    },
                    af,
                    scope: None,
                    span: name_span,
                }];
            } else {
                let hosts = self.interface_hosts(&name, DynamicModifier::Network, None, name_span);
                let Some(hosts) = hosts else {
                    return Err(self.invalid(
                        name_span,
                        "interface",
                        &name,
                        "antispoof needs the interface's addresses (not given)",
                    ));
                };
                if hosts.is_empty() {
                    // An interface without addresses has nothing to spoof.
                    continue;
                }
                rule.from = hosts;
            }
            self.push(rule, items)?;
        }
        Ok(())
    }

    /// `IF` or `(IF)` after `antispoof for`.
    fn antispoof_if(&mut self) -> PResult<(String, bool, Span)> {
        if self.eat_punct("(")? {
            let t = self.string("an interface")?;
            self.expect_punct(")")?;
            return Ok((t.text, true, t.span));
        }
        let t = self.string("an interface")?;
        Ok((t.text, false, t.span))
    }

    fn default_block(&self) -> BlockPolicy {
        if self.block_return {
            BlockPolicy::Return
        } else {
            BlockPolicy::Drop
        }
    }

    // ---- FreeBSD's (and OpenBSD before 4.7) translation and scrub rules ----

    /// `[no] nat|rdr|binat [pass [log]] [on IF] [af] [proto] from … to … [tag] [tagged]
    /// [-> pool]`.
    fn old_translation(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let no = t.is("no");
        let word = if no { self.next()? } else { t };
        let kind = match word.text.as_str() {
            "nat" => OldNatKind::Nat,
            "rdr" => OldNatKind::Rdr,
            "binat" => OldNatKind::Binat,
            _ => return Err(self.expected(&word, "`nat`, `rdr` or `binat`")),
        };
        let mut rule = RawRule::new(Action::OldNat { kind, no }, span);
        if self.eat("pass")? {
            rule.translation_pass = true;
        }
        if self.peek_is("log")? {
            self.next()?;
            rule.log = Some(self.log_opts()?);
        }
        self.rule_head(&mut rule)?;
        self.hosts(&mut rule)?;
        loop {
            if self.eat("tag")? {
                rule.opts.tag = Some(self.tag_name()?);
            } else if self.eat("tagged")? {
                rule.opts.tagged = Some((false, self.tag_name()?));
            } else if self.eat("rtable")? {
                rule.opts.rtable = Some(self.number("a routing table", 0, 255)?.0);
            } else {
                break;
            }
        }
        if self.eat_punct("->")? {
            if no {
                let t = self.peek()?;
                return Err(self.expected(&t, "the end of a `no` rule (it translates nothing)"));
            }
            let pool = self.pool(false)?;
            match kind {
                OldNatKind::Rdr => rule.opts.rdr_to = Some(pool),
                OldNatKind::Nat | OldNatKind::Binat => rule.opts.nat_to = Some(pool),
            }
        } else if !no {
            let t = self.peek()?;
            return Err(self.expected(&t, "`->` and the translation address"));
        }
        self.end_of_statement()?;
        self.push(rule, items)
    }

    /// `scrub [in|out] [log] [on IF] [af] [proto] from … to … [options]`.
    fn old_scrub(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let mut rule = RawRule::new(Action::Scrub, span);
        self.rule_head(&mut rule)?;
        self.hosts(&mut rule)?;
        let mut scrub = Scrub::default();
        loop {
            let t = self.peek()?;
            if t.ends_line() {
                break;
            }
            let t = self.next()?;
            match t.text.as_str() {
                "no-df" => scrub.no_df = true,
                "random-id" => scrub.random_id = true,
                "min-ttl" => scrub.min_ttl = Some(self.limited("min-ttl", "a TTL", 255)? as u8),
                "max-mss" => scrub.max_mss = Some(self.limited("max-mss", "an MSS", 65535)? as u16),
                "set-tos" => {
                    let v = self.next()?;
                    scrub.set_tos = names::tos(&v.text).filter(|n| *n <= 255).map(|n| n as u8);
                    if scrub.set_tos.is_none() {
                        return Err(self.expected(&v, "a type of service"));
                    }
                }
                "reassemble" => {
                    self.expect_word("tcp")?;
                    scrub.reassemble_tcp = true;
                }
                "fragment" => {
                    let how = self.next()?;
                    if !matches!(how.text.as_str(), "reassemble" | "crop" | "drop-ovl") {
                        return Err(self.expected(&how, "`reassemble`, `crop` or `drop-ovl`"));
                    }
                    scrub.fragment = Some(how.text);
                }
                "(" if t.kind == Kind::Punct => {
                    self.lx.push_back(t);
                    scrub = self.scrub_opts()?;
                }
                _ => return Err(self.expected(&t, "a scrub option")),
            }
        }
        rule.opts.scrub = Some(scrub);
        self.end_of_statement()?;
        self.push(rule, items)
    }

    /// `nat-anchor|rdr-anchor|binat-anchor NAME [on IF] [af] [proto] [from … to …]`.
    fn old_anchor(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let kind = match t.text.as_str() {
            "nat-anchor" => OldNatKind::Nat,
            "rdr-anchor" => OldNatKind::Rdr,
            _ => OldNatKind::Binat,
        };
        let name = self.name("an anchor name")?;
        let call = AnchorCall {
            name: Some(name.text),
            body: None,
        };
        let mut rule = RawRule::new(Action::OldNatAnchor { kind, call }, span);
        self.rule_head(&mut rule)?;
        self.hosts(&mut rule)?;
        self.end_of_statement()?;
        self.push(rule, items)
    }

    // ---- rules ----

    fn rule(&mut self, t: Token, items: &mut Vec<Item>) -> PResult<()> {
        let span = self.statement_span(t.span);
        let mut anchor_name = None;
        let action = match t.text.as_str() {
            "pass" => Action::Pass,
            "match" => Action::Match,
            "block" => Action::Block(self.default_block()),
            _ => {
                let next = self.peek()?;
                if next.kind == Kind::Str
                    || (next.kind == Kind::Word && !is_rule_keyword(&next.text))
                {
                    let name = self.name("an anchor name")?;
                    if name.text.is_empty() {
                        return Err(self.expected(&name, "an anchor name"));
                    }
                    anchor_name = Some(name.text);
                }
                Action::Anchor(AnchorCall {
                    name: anchor_name.clone(),
                    body: None,
                })
            }
        };
        let mut rule = RawRule::new(action, span);
        if let Action::Block(_) = rule.action {
            if let Some(policy) = self.block_answer()? {
                rule.action = Action::Block(policy);
                rule.explicit_block = true;
            }
        }
        self.rule_head(&mut rule)?;
        self.hosts(&mut rule)?;
        self.filter_opts(&mut rule)?;
        if let Action::Anchor(call) = &mut rule.action {
            if rule.opts.keep.is_some() {
                return Err(self.invalid(
                    span,
                    "anchor",
                    "keep state",
                    "cannot specify state handling on anchors",
                ));
            }
            if self.eat_punct("{")? {
                if self.depth >= MAX_DEPTH {
                    return Err(self.error(
                        span,
                        ErrorKind::Structure {
                            message: "anchors nest too deep".into(),
                        },
                    ));
                }
                let mut body = Vec::new();
                self.depth += 1;
                let saved = self.expander.enter_anchor(call.name.as_deref());
                let result = self.statements(&mut body);
                self.expander.leave_anchor(saved);
                self.depth -= 1;
                result?;
                self.expect_punct("}")?;
                call.body = Some(Box::new(Ruleset { items: body }));
            }
        }
        self.end_of_statement()?;
        self.push(rule, items)
    }

    /// `drop`, `return`, `return-rst[(ttl N)]`, `return-icmp[(c[, c6])]`, `return-icmp6[(c)]`.
    fn block_answer(&mut self) -> PResult<Option<BlockPolicy>> {
        let t = self.peek()?;
        let policy = match t.text.as_str() {
            "drop" => BlockPolicy::Drop,
            "return" => BlockPolicy::Return,
            "return-rst" => {
                self.next()?;
                let mut ttl = None;
                if self.eat_punct("(")? {
                    self.expect_word("ttl")?;
                    ttl = Some(self.number("a TTL", 0, 255)?.0 as u8);
                    self.expect_punct(")")?;
                }
                return Ok(Some(BlockPolicy::ReturnRst { ttl }));
            }
            "return-icmp" | "return-icmp6" => {
                self.next()?;
                let v6_only = t.text == "return-icmp6";
                let mut code4 = None;
                let mut code6 = None;
                if self.eat_punct("(")? {
                    let first = self.icmp_unreach_code(v6_only)?;
                    if v6_only {
                        code6 = Some(first);
                    } else {
                        code4 = Some(first);
                        if self.eat_punct(",")? {
                            code6 = Some(self.icmp_unreach_code(true)?);
                        }
                    }
                    self.expect_punct(")")?;
                }
                return Ok(Some(BlockPolicy::ReturnIcmp {
                    code4,
                    code6,
                    v6_only,
                }));
            }
            _ => return Ok(None),
        };
        self.next()?;
        Ok(Some(policy))
    }

    fn icmp_unreach_code(&mut self, v6: bool) -> PResult<u8> {
        let t = self.next()?;
        let unreach = if v6 { 1 } else { 3 };
        names::icmp_code(unreach, &t.text, v6)
            .ok_or_else(|| self.expected(&t, "an ICMP unreachable code"))
    }

    /// `[in|out] [log …] [quick] [on …] [af] [proto …]`.
    fn rule_head(&mut self, rule: &mut RawRule) -> PResult<()> {
        if self.eat("in")? {
            rule.direction = RuleDirection::In;
        } else if self.eat("out")? {
            rule.direction = RuleDirection::Out;
        }
        loop {
            if self.peek_is("log")? {
                self.next()?;
                rule.log = Some(self.log_opts()?);
            } else if self.eat("quick")? {
                rule.quick = true;
            } else {
                break;
            }
        }
        if self.eat("on")? {
            let negated = self.eat_punct("!")?;
            if self.eat("rdomain")? {
                rule.on_rdomain = Some(self.number("a routing domain", 0, 255)?.0);
                if negated {
                    rule.interfaces.push(InterfaceSpec {
                        negated,
                        name: String::new(),
                    });
                }
            } else if negated {
                let t = self.string("an interface")?;
                rule.interfaces.push(InterfaceSpec {
                    negated,
                    name: t.text,
                });
            } else {
                rule.interfaces = self.list(|p| {
                    let negated = p.eat_punct("!")?;
                    let t = p.string("an interface")?;
                    Ok(InterfaceSpec {
                        negated,
                        name: t.text,
                    })
                })?;
            }
        }
        rule.af = self.family()?;
        if self.eat("proto")? {
            rule.protos = self.list(Self::protocol)?;
        }
        Ok(())
    }

    fn family(&mut self) -> PResult<Option<Af>> {
        if self.eat("inet")? {
            Ok(Some(Af::Inet))
        } else if self.eat("inet6")? {
            Ok(Some(Af::Inet6))
        } else {
            Ok(None)
        }
    }

    fn protocol(&mut self) -> PResult<(u8, Span)> {
        let t = self.string("a protocol")?;
        match names::protocol(&t.text) {
            Some(p) => Ok((p, t.span)),
            None => Err(self.invalid(t.span, "protocol", &t.text, "unknown protocol")),
        }
    }

    /// `log [(all, matches, user, to pflogN)]` after `log`.
    fn log_opts(&mut self) -> PResult<Log> {
        let mut log = Log::default();
        if self.eat_punct("(")? {
            loop {
                let t = self.next()?;
                match t.text.as_str() {
                    "all" => log.all = true,
                    "matches" => log.matches = true,
                    "user" => log.user = true,
                    "to" => log.to = Some(self.string("a pflog interface")?.text),
                    _ => return Err(self.expected(&t, "`all`, `matches`, `user` or `to`")),
                }
                if self.eat_punct(")")? {
                    break;
                }
                self.eat_punct(",")?;
            }
        }
        Ok(log)
    }

    /// `all` | `[from …] [to …]`.
    fn hosts(&mut self, rule: &mut RawRule) -> PResult<()> {
        if self.eat("all")? {
            return Ok(());
        }
        if self.eat("from")? {
            if !self.peek_is("port")? && !self.peek_is("os")? {
                rule.from = self.ipspec(rule.af)?;
            }
            if self.eat("port")? {
                rule.from_ports = self.port_spec()?;
            }
            if self.eat("os")? {
                rule.os = Some(self.string("an OS fingerprint")?.text);
            }
        }
        if self.eat("to")? {
            if !self.peek_is("port")? {
                rule.to = self.ipspec(rule.af)?;
            }
            if self.eat("port")? {
                rule.to_ports = self.port_spec()?;
            }
        }
        Ok(())
    }

    /// `any` | host | `{ host, … }`; empty for `any`.
    fn ipspec(&mut self, af: Option<Af>) -> PResult<Vec<RawHost>> {
        if self.eat("any")? {
            return Ok(Vec::new());
        }
        Ok(self.list(|p| p.host(af))?.into_iter().flatten().collect())
    }

    /// One host as written (possibly standing for several addresses).
    pub fn host(&mut self, af: Option<Af>) -> PResult<Vec<RawHost>> {
        let first = self.peek()?;
        let mut negated = false;
        while self.eat_punct("!")? {
            negated = !negated;
        }
        let t = self.next()?;
        let start = first.span;
        let one = |host: Host, af: Option<Af>, end: Span| RawHost {
            negated,
            host,
            af,
            scope: None,
            span: Span::new(start.start as usize, end.end.max(start.end) as usize),
        };
        if t.is_punct("<") {
            let mut name = self.string("a table name")?;
            if self.listing {
                name.text = without_count(&name.text).to_string();
            }
            let close = self.expect_punct(">")?;
            return Ok(vec![one(Host::Table(name.text), None, close.span)]);
        }
        if t.is_punct("(") {
            let mut name = self.string("an interface")?;
            if self.listing {
                name.text = without_count(&name.text).to_string();
            }
            let close = self.expect_punct(")")?;
            let (base, modifier) = self.split_modifiers(&name)?;
            if !base.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return Err(self.invalid(
                    name.span,
                    "interface name",
                    &name.text,
                    "interface names start with a letter",
                ));
            }
            let mut end = close.span;
            let mut prefix = None;
            if self.eat_punct("/")? {
                let (p, s) = self.number("a prefix length", 0, 128)?;
                prefix = Some(p as u8);
                end = s;
            }
            let host = Host::Dynamic {
                interface: base,
                modifier,
                prefix,
                af,
            };
            return Ok(vec![one(host, None, end)]);
        }
        if t.is("no-route") {
            return Ok(vec![one(Host::NoRoute, None, t.span)]);
        }
        if t.is("urpf-failed") {
            return Ok(vec![one(Host::UrpfFailed, None, t.span)]);
        }
        if t.is("route") {
            let label = self.string("a route label")?;
            return Ok(vec![one(Host::RouteLabel(label.text), None, label.span)]);
        }
        if !t.is_string() {
            return Err(self.expected(&t, "an address"));
        }
        // `a - b`
        if self.peek_punct("-")? {
            self.next()?;
            let b = self.string("an address")?;
            let (Ok(lo), Ok(hi)) = (t.text.parse::<IpAddr>(), b.text.parse::<IpAddr>()) else {
                return Err(self.invalid(t.span, "address range", &t.text, "not two addresses"));
            };
            if af_of(&lo) != af_of(&hi) {
                return Err(self.invalid(
                    b.span,
                    "address range",
                    &b.text,
                    "address families differ",
                ));
            }
            return Ok(vec![one(Host::Range(lo, hi), Some(af_of(&lo)), b.span)]);
        }
        let mut prefix = None;
        let mut end = t.span;
        if self.eat_punct("/")? {
            let p = self.next()?;
            match names::number(&p.text) {
                Some(n) if n <= 128 => prefix = Some(n as u8),
                Some(_) => {
                    return Err(self.invalid(p.span, "netmask", &p.text, "netmask is too large"))
                }
                None => return Err(self.expected(&p, "a prefix length")),
            }
            end = p.span;
        }
        let span = Span::new(start.start as usize, end.end as usize);
        let mut hosts = self.resolve(&t.text, prefix, span)?;
        for h in &mut hosts {
            h.negated = negated;
        }
        Ok(hosts)
    }

    /// `name:network:0` → (`name`, modifier).
    fn split_modifiers(&self, t: &Token) -> PResult<(String, DynamicModifier)> {
        let mut base = t.text.as_str();
        let mut modifier = DynamicModifier::None;
        let mut no_alias = false;
        while let Some((rest, m)) = base.rsplit_once(':') {
            match m {
                "network" => modifier = DynamicModifier::Network,
                "broadcast" => modifier = DynamicModifier::Broadcast,
                "peer" => modifier = DynamicModifier::Peer,
                "0" => no_alias = true,
                _ => break,
            }
            base = rest;
        }
        if no_alias {
            modifier = match modifier {
                DynamicModifier::Network => DynamicModifier::NetworkNoAlias,
                DynamicModifier::Broadcast => DynamicModifier::BroadcastNoAlias,
                DynamicModifier::Peer => DynamicModifier::PeerNoAlias,
                _ => DynamicModifier::NoAlias,
            };
        }
        if base.contains(':') && !base.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(self.invalid(t.span, "interface name", &t.text, "invalid interface name"));
        }
        Ok((base.to_string(), modifier))
    }

    /// A word as pfctl's `host()` reads it: an interface (with modifiers), an address, a
    /// known host name; an unknown name is kept as a name.
    fn resolve(&self, word: &str, prefix: Option<u8>, span: Span) -> PResult<Vec<RawHost>> {
        let (addr_text, scope) = match word.split_once('%') {
            Some((a, s)) => (a, Some(s.to_string())),
            None => (word, None),
        };
        if let Ok(addr) = addr_text.parse::<IpAddr>() {
            return Ok(vec![self.address(addr, prefix, scope, span)?]);
        }
        if prefix.is_some() {
            if let Some(v4) = short_v4(word) {
                return Ok(vec![self.address(IpAddr::V4(v4), prefix, None, span)?]);
            }
        }
        let token = Token {
            kind: Kind::Word,
            text: word.to_string(),
            span,
        };
        let looks_numeric = word.starts_with(|c: char| c.is_ascii_digit() || c == ':');
        if looks_numeric {
            return Err(self.invalid(span, "host", word, "no IP address found"));
        }
        let (base, modifier) = self.split_modifiers(&token)?;
        if let Some(hosts) = self.interface_hosts(&base, modifier, prefix, span) {
            return Ok(hosts);
        }
        if modifier == DynamicModifier::None {
            if let Some(addrs) = self.env.hosts.get(word) {
                return addrs
                    .iter()
                    .map(|a| self.address(*a, prefix, None, span))
                    .collect();
            }
        }
        let host = if modifier == DynamicModifier::None && !self.env.interfaces.is_empty() {
            Host::Name(word.to_string())
        } else {
            Host::InterfaceName {
                name: base,
                modifier,
            }
        };
        Ok(vec![RawHost {
            negated: false,
            host,
            af: None,
            scope: None,
            span,
        }])
    }

    fn address(
        &self,
        addr: IpAddr,
        prefix: Option<u8>,
        scope: Option<String>,
        span: Span,
    ) -> PResult<RawHost> {
        let full = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(full);
        if prefix > full {
            let text = self.src.text[span.start as usize..span.end as usize].to_string();
            return Err(self.invalid(
                span,
                "netmask",
                &text,
                &format!("netmask {prefix} invalid for IPv4 address"),
            ));
        }
        Ok(RawHost {
            negated: false,
            host: Host::Network {
                addr: masked(addr, prefix),
                prefix,
            },
            af: Some(af_of(&addr)),
            scope,
            span,
        })
    }

    /// The addresses of interface (or group) `name` with `modifier`, as pfctl's
    /// `ifa_lookup` lists them; `None` when the environment has no such interface.
    pub fn interface_hosts(
        &self,
        name: &str,
        modifier: DynamicModifier,
        prefix: Option<u8>,
        span: Span,
    ) -> Option<Vec<RawHost>> {
        let members = if name == "self" {
            self.env.interfaces.iter().collect()
        } else {
            self.env.members(name)
        };
        if members.is_empty() {
            return None;
        }
        let mut hosts = Vec::new();
        for iface in members {
            let mut got = (false, false);
            for &(addr, len) in &iface.addresses {
                let link_local =
                    matches!(addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80);
                let v4 = addr.is_ipv4();
                if modifier.no_alias() && ((v4 && got.0) || (!v4 && got.1)) {
                    continue;
                }
                let (addr, bits) = match modifier {
                    DynamicModifier::Network | DynamicModifier::NetworkNoAlias if link_local => {
                        continue
                    }
                    DynamicModifier::Network | DynamicModifier::NetworkNoAlias => {
                        (masked(addr, len), len)
                    }
                    // The environment gives no broadcast or peer addresses.
                    DynamicModifier::Broadcast
                    | DynamicModifier::BroadcastNoAlias
                    | DynamicModifier::Peer
                    | DynamicModifier::PeerNoAlias => continue,
                    DynamicModifier::None | DynamicModifier::NoAlias => {
                        (addr, prefix.unwrap_or(if v4 { 32 } else { 128 }))
                    }
                };
                if v4 {
                    got.0 = true;
                } else {
                    got.1 = true;
                }
                hosts.push(RawHost {
                    negated: false,
                    host: Host::Network {
                        addr: masked(addr, bits),
                        prefix: bits,
                    },
                    af: Some(af_of(&addr)),
                    scope: None,
                    span,
                });
            }
        }
        Some(hosts)
    }

    /// `port` items: one, or a `{ … }` list.
    fn port_spec(&mut self) -> PResult<Vec<(NumOp, Span)>> {
        self.list(|p| p.num_item("a port", &names::port))
    }

    /// `[op] value`, `a:b`, `a >< b`, `a <> b` with `lookup` naming values.
    fn num_item(
        &mut self,
        what: &str,
        lookup: &dyn Fn(&str) -> Option<u32>,
    ) -> PResult<(NumOp, Span)> {
        let max = if what == "a port" { 65535 } else { u32::MAX };
        let value = |p: &Self, t: &Token| -> PResult<u32> {
            match lookup(&t.text) {
                Some(v) if v <= max => Ok(v),
                Some(v) => {
                    Err(p.invalid(t.span, "port", &t.text, &format!("illegal port value {v}")))
                }
                None => Err(p.expected(t, what)),
            }
        };
        let t = self.next()?;
        let op = match t.text.as_str() {
            "=" | "!=" | "<" | "<=" | ">" | ">=" if t.kind == Kind::Punct => Some(t.text.clone()),
            _ => None,
        };
        if let Some(op) = op {
            let v = self.next()?;
            let n = value(self, &v)?;
            let span = Span::new(t.span.start as usize, v.span.end as usize);
            let op = match op.as_str() {
                "=" => NumOp::Eq(n),
                "!=" => NumOp::Ne(n),
                "<" => NumOp::Lt(n),
                "<=" => NumOp::Le(n),
                ">" => NumOp::Gt(n),
                _ => NumOp::Ge(n),
            };
            return Ok((op, span));
        }
        if t.kind == Kind::Word {
            if let Some((a, b)) = t.text.split_once(':') {
                let ta = Token {
                    text: a.into(),
                    ..t.clone()
                };
                let tb = Token {
                    text: b.into(),
                    ..t.clone()
                };
                let (a, b) = (value(self, &ta)?, value(self, &tb)?);
                return Ok((NumOp::Range(a, b), t.span));
            }
        }
        let a = value(self, &t)?;
        let next = self.peek()?;
        if next.is_punct("><") || next.is_punct("<>") {
            self.next()?;
            let v = self.next()?;
            let b = value(self, &v)?;
            let span = Span::new(t.span.start as usize, v.span.end as usize);
            let op = if next.text == "><" {
                NumOp::Inside(a, b)
            } else {
                NumOp::Outside(a, b)
            };
            return Ok((op, span));
        }
        Ok((NumOp::Eq(a), t.span))
    }

    /// One user or group item or list.
    fn id_spec(&mut self, users: bool) -> PResult<Vec<NumOp>> {
        let env = self.env;
        let lookup = move |w: &str| -> Option<u32> {
            if w == "unknown" {
                return Some(u32::MAX);
            }
            names::number(w).or_else(|| {
                let table = if users { &env.users } else { &env.groups };
                table.get(w).copied()
            })
        };
        let what = if users { "a user" } else { "a group" };
        self.list(|p| Ok(p.num_item(what, &lookup)?.0))
    }

    /// The options after the addresses.
    fn filter_opts(&mut self, rule: &mut RawRule) -> PResult<()> {
        loop {
            let t = self.peek()?;
            if t.ends_line() || t.is_punct("{") || (t.is_punct("}") && self.depth > 0) {
                return Ok(());
            }
            let t = self.next()?;
            self.filter_opt(t, rule)?;
        }
    }

    fn filter_opt(&mut self, t: Token, rule: &mut RawRule) -> PResult<()> {
        let o = &mut rule.opts;
        if t.is_punct("!") {
            let k = self.next()?;
            if k.is("tagged") {
                o.tagged = Some((true, self.tag_name()?));
                return Ok(());
            }
            if k.is("received-on") {
                let name = self.string("an interface")?;
                o.received_on = Some(InterfaceSpec {
                    negated: true,
                    name: name.text,
                });
                return Ok(());
            }
            return Err(self.expected(&k, "`tagged` or `received-on`"));
        }
        if t.kind != Kind::Word {
            return Err(self.expected(&t, "a rule option"));
        }
        match t.text.as_str() {
            "user" => {
                let mut list = self.id_spec(true)?;
                list.extend(std::mem::take(&mut rule.opts.users));
                rule.opts.users = list;
            }
            "group" => {
                let mut list = self.id_spec(false)?;
                list.extend(std::mem::take(&mut rule.opts.groups));
                rule.opts.groups = list;
            }
            "flags" => {
                let flags = self.flags()?;
                rule.opts.flags = Some((flags, t.span));
            }
            "icmp-type" | "icmp6-type" => {
                let v6 = t.text == "icmp6-type";
                rule.opts.icmp = self.list(|p| p.icmp_item(v6))?;
            }
            "tos" => {
                let v = self.next()?;
                match names::tos(&v.text) {
                    Some(n) if n <= 255 => rule.opts.tos = Some(n as u8),
                    _ => return Err(self.expected(&v, "a type of service")),
                }
            }
            "keep" | "modulate" | "synproxy" => {
                self.expect_word("state")?;
                rule.opts.keep = Some(match t.text.as_str() {
                    "keep" => KeepState::Keep,
                    "modulate" => KeepState::Modulate,
                    _ => KeepState::Synproxy,
                });
                if self.peek_punct("(")? {
                    rule.opts.state_opts = self.state_opt_list()?;
                }
            }
            "no" => {
                self.expect_word("state")?;
                rule.opts.keep = Some(KeepState::No);
            }
            "fragment" => rule.opts.fragment = true,
            "allow-opts" => rule.opts.allow_opts = true,
            "once" => rule.opts.once = true,
            "label" => {
                let l = self.name("a label")?;
                if l.text.len() > MAX_TAG {
                    return Err(self.invalid(
                        l.span,
                        "label",
                        &l.text,
                        "label too long, max 63 chars",
                    ));
                }
                rule.opts.label = Some(l.text);
            }
            "tag" => rule.opts.tag = Some(self.tag_name()?),
            "tagged" => rule.opts.tagged = Some((false, self.tag_name()?)),
            "received-on" => {
                let name = self.string("an interface")?;
                rule.opts.received_on = Some(InterfaceSpec {
                    negated: false,
                    name: name.text,
                });
            }
            "probability" => {
                let v = self.string("a probability")?;
                let (text, scale) = match v.text.strip_suffix('%') {
                    Some(t) => (t, 100.0),
                    None => (v.text.as_str(), 1.0),
                };
                match text.parse::<f64>() {
                    Ok(p) if (0.0..=scale).contains(&p) => rule.opts.probability = Some(p / scale),
                    _ => {
                        return Err(self.invalid(
                            v.span,
                            "probability",
                            &v.text,
                            "must be 0% - 100%",
                        ))
                    }
                }
            }
            "prio" => rule.opts.prio = Some(self.prio()?),
            "set" => self.set_opt(rule)?,
            "queue" => rule.opts.queue = Some(self.queue_names()?),
            "rtable" => rule.opts.rtable = Some(self.number("a routing table", 0, 255)?.0),
            "max-pkt-rate" => {
                rule.opts.max_pkt_rate = Some(self.rate()?);
            }
            "scrub" => rule.opts.scrub = Some(self.scrub_opts()?),
            "nat-to" => rule.opts.nat_to = Some(self.pool(false)?),
            "rdr-to" => rule.opts.rdr_to = Some(self.pool(false)?),
            "binat-to" => rule.opts.binat_to = Some(self.pool(false)?),
            "af-to" => {
                let af = match self.family()? {
                    Some(af) => af,
                    None => {
                        let t = self.peek()?;
                        return Err(self.expected(&t, "`inet` or `inet6`"));
                    }
                };
                self.expect_word("from")?;
                let from = self.pool(false)?;
                let to = if self.eat("to")? {
                    Some(self.pool(false)?)
                } else {
                    None
                };
                rule.opts.af_to = Some((af, from, to));
            }
            "route-to" | "reply-to" | "dup-to" => {
                let kind = match t.text.as_str() {
                    "route-to" => RouteKind::RouteTo,
                    "reply-to" => RouteKind::ReplyTo,
                    _ => RouteKind::DupTo,
                };
                rule.opts.route = Some((kind, self.pool(true)?));
            }
            "divert-to" => {
                let hosts = self.host(rule.af)?;
                self.expect_word("port")?;
                let (port, end) = self.number("a port", 1, 65535)?;
                self.set_divert(rule, Divert::To(Host::Any, port as u16), t.span.start, end)?;
                rule.opts.divert_hosts = hosts;
            }
            "divert-reply" => self.set_divert(rule, Divert::Reply, t.span.start, t.span)?,
            "divert-packet" => {
                self.expect_word("port")?;
                let (port, end) = self.number("a port", 1, 65535)?;
                self.set_divert(rule, Divert::Packet(port as u16), t.span.start, end)?;
            }
            _ => return Err(self.expected(&t, "a rule option")),
        }
        Ok(())
    }

    fn set_divert(&self, rule: &mut RawRule, d: Divert, start: u32, end: Span) -> PResult<()> {
        let span = Span::new(start as usize, end.end as usize);
        if rule.opts.divert.is_some() {
            return Err(self.invalid(span, "divert", "divert", "more than one divert option"));
        }
        rule.opts.divert = Some((d, span));
        Ok(())
    }

    fn tag_name(&mut self) -> PResult<String> {
        let t = self.name("a tag")?;
        if t.text.len() > MAX_TAG {
            return Err(self.invalid(t.span, "tag", &t.text, "tag too long, max 63 chars"));
        }
        Ok(t.text)
    }

    fn prio(&mut self) -> PResult<u8> {
        let t = self.next()?;
        match names::number(&t.text) {
            Some(n) if n <= 7 => Ok(n as u8),
            Some(_) => Err(self.invalid(t.span, "prio", &t.text, "prio must be 0 - 7")),
            None if t.is_punct("-") => Err(self.invalid(t.span, "prio", "-", "prio must be 0 - 7")),
            None => Err(self.expected(&t, "a priority 0 - 7")),
        }
    }

    /// `set prio N | (N, M)`, `set queue Q | (Q, P)`, `set tos T`, `set (…)`.
    fn set_opt(&mut self, rule: &mut RawRule) -> PResult<()> {
        let grouped = self.eat_punct("(")?;
        loop {
            let k = self.next()?;
            match k.text.as_str() {
                "prio" => {
                    if self.eat_punct("(")? {
                        let a = self.prio()?;
                        self.eat_punct(",")?;
                        let b = self.prio()?;
                        self.expect_punct(")")?;
                        rule.opts.set_prio = Some((a, Some(b)));
                    } else {
                        rule.opts.set_prio = Some((self.prio()?, None));
                    }
                }
                "queue" => rule.opts.queue = Some(self.queue_names()?),
                "tos" => {
                    let v = self.next()?;
                    match names::tos(&v.text) {
                        Some(n) if n <= 255 => rule.opts.set_tos = Some(n as u8),
                        _ => return Err(self.expected(&v, "a type of service")),
                    }
                }
                "delay" => {
                    self.number("a delay", 0, u32::from(u16::MAX))?;
                }
                _ => return Err(self.expected(&k, "`prio`, `queue`, `tos` or `delay`")),
            }
            if !grouped {
                return Ok(());
            }
            if self.eat_punct(")")? {
                return Ok(());
            }
            self.expect_punct(",")?;
        }
    }

    fn queue_names(&mut self) -> PResult<(String, Option<String>)> {
        if self.eat_punct("(")? {
            let a = self.string("a queue")?;
            let mut b = None;
            if self.eat_punct(",")? {
                b = Some(self.string("a queue")?.text);
            }
            self.expect_punct(")")?;
            return Ok((a.text, b));
        }
        Ok((self.string("a queue")?.text, None))
    }

    /// `N/S` (the lexer gives `N`, `/`, `S`).
    fn rate(&mut self) -> PResult<(u32, u32)> {
        let (n, _) = self.number("a count", 0, u32::MAX)?;
        self.expect_punct("/")?;
        let (s, _) = self.number("seconds", 0, u32::MAX)?;
        Ok((n, s))
    }

    /// `flags any`, `flags S/SA`, `flags /SA`.
    fn flags(&mut self) -> PResult<TcpFlagsSpec> {
        let t = self.next()?;
        if t.is("any") {
            return Ok(TcpFlagsSpec { set: 0, mask: 0 });
        }
        let (set, slash) = if t.is_punct("/") {
            (0, t)
        } else {
            let set = names::tcp_flags(&t.text).ok_or_else(|| self.expected(&t, "TCP flags"))?;
            (set, self.expect_punct("/")?)
        };
        let m = self.next()?;
        if m.kind != Kind::Word {
            return Err(self.expected(&m, "TCP flags after `/`"));
        }
        let mask = names::tcp_flags(&m.text).ok_or_else(|| self.expected(&m, "TCP flags"))?;
        if set & mask == 0 && set != 0 {
            let span = Span::new(slash.span.start as usize, m.span.end as usize);
            return Err(self.invalid(span, "flags", &m.text, "flags always false"));
        }
        Ok(TcpFlagsSpec { set, mask })
    }

    fn icmp_item(&mut self, v6: bool) -> PResult<(IcmpSpec, Span)> {
        let t = self.next()?;
        let icmp_type =
            names::icmp_type(&t.text, v6).ok_or_else(|| self.expected(&t, "an ICMP type"))?;
        let mut code = None;
        let mut end = t.span;
        if self.eat("code")? {
            let c = self.next()?;
            code = Some(
                names::icmp_code(icmp_type, &c.text, v6)
                    .ok_or_else(|| self.expected(&c, "an ICMP code"))?,
            );
            end = c.span;
        }
        let span = Span::new(t.span.start as usize, end.end as usize);
        Ok((
            IcmpSpec {
                v6,
                icmp_type,
                code,
            },
            span,
        ))
    }

    /// `( opt, opt … )` of `keep state` or `set state-defaults`.
    fn state_opt_list(&mut self) -> PResult<Vec<StateOpt>> {
        let open = self.peek()?;
        let parens = self.eat_punct("(")?;
        let mut opts = Vec::new();
        let mut global_track = false;
        loop {
            let t = self.next()?;
            let opt = match t.text.as_str() {
                "max" => StateOpt::Max(self.number("a number", 0, u32::MAX)?.0),
                "no-sync" => StateOpt::NoSync,
                "source-track" => {
                    let kind = if self.peek_is("rule")? || self.peek_is("global")? {
                        Some(self.next()?.text)
                    } else {
                        None
                    };
                    global_track = kind.as_deref() == Some("global");
                    StateOpt::SourceTrack(kind)
                }
                "max-src-nodes" => {
                    let (n, span) = self.number("a number", 0, u32::MAX)?;
                    if global_track {
                        return Err(self.invalid(
                            span,
                            "state option",
                            "max-src-nodes",
                            "'max-src-nodes' is incompatible with 'source-track global'",
                        ));
                    }
                    StateOpt::MaxSrcNodes(n)
                }
                "max-src-states" => StateOpt::MaxSrcStates(self.number("a number", 0, u32::MAX)?.0),
                "max-src-conn" => StateOpt::MaxSrcConn(self.number("a number", 0, u32::MAX)?.0),
                "max-src-conn-rate" => {
                    let (n, s) = self.rate()?;
                    StateOpt::MaxSrcConnRate(n, s)
                }
                "overload" => {
                    self.expect_punct("<")?;
                    let name = self.string("a table name")?;
                    self.expect_punct(">")?;
                    let flush = self.eat("flush")?;
                    let global = flush && self.eat("global")?;
                    StateOpt::Overload {
                        table: name.text,
                        flush,
                        global,
                    }
                }
                "if-bound" => StateOpt::Policy(StatePolicy::IfBound),
                "floating" => StateOpt::Policy(StatePolicy::Floating),
                "pflow" => StateOpt::Pflow,
                "sloppy" => StateOpt::Sloppy,
                name if names::TIMEOUTS.contains(&name) => {
                    StateOpt::Timeout(name.to_string(), self.number("seconds", 0, u32::MAX)?.0)
                }
                _ => return Err(self.expected(&t, "a state option")),
            };
            opts.push(opt);
            if !parens {
                return Ok(opts);
            }
            if self.eat_punct(")")? {
                return Ok(opts);
            }
            self.skip_newlines()?;
            if !self.eat_punct(",")? {
                let t = self.peek()?;
                return Err(self.expected(&t, "`,` or `)`"));
            }
            self.skip_newlines()?;
            let _ = &open;
        }
    }

    /// `scrub (no-df min-ttl N max-mss N random-id reassemble tcp set-tos T)`.
    fn scrub_opts(&mut self) -> PResult<Scrub> {
        self.expect_punct("(")?;
        let mut s = Scrub::default();
        loop {
            let t = self.next()?;
            let again = |p: &Self, what: &str| {
                p.invalid(
                    t.span,
                    "scrub option",
                    what,
                    &format!("{what} cannot be respecified"),
                )
            };
            match t.text.as_str() {
                "no-df" => {
                    if s.no_df {
                        return Err(again(self, "no-df"));
                    }
                    s.no_df = true;
                }
                "random-id" => {
                    if s.random_id {
                        return Err(again(self, "random-id"));
                    }
                    s.random_id = true;
                }
                "min-ttl" => {
                    if s.min_ttl.is_some() {
                        return Err(again(self, "min-ttl"));
                    }
                    s.min_ttl = Some(self.limited("min-ttl", "a TTL", 255)? as u8);
                }
                "max-mss" => {
                    if s.max_mss.is_some() {
                        return Err(again(self, "max-mss"));
                    }
                    s.max_mss = Some(self.limited("max-mss", "an MSS", 65535)? as u16);
                }
                "reassemble" => {
                    self.expect_word("tcp")?;
                    if s.reassemble_tcp {
                        return Err(again(self, "reassemble tcp"));
                    }
                    s.reassemble_tcp = true;
                }
                "set-tos" => {
                    let v = self.next()?;
                    s.set_tos = names::tos(&v.text).filter(|n| *n <= 255).map(|n| n as u8);
                    if s.set_tos.is_none() {
                        return Err(self.expected(&v, "a type of service"));
                    }
                }
                _ => return Err(self.expected(&t, "a scrub option")),
            }
            if self.eat_punct(")")? {
                return Ok(s);
            }
            self.eat_punct(",")?;
        }
    }

    /// A translation or routing target with its options.
    fn pool(&mut self, routing: bool) -> PResult<RawPool> {
        let start = self.peek()?.span;
        let mut pool = RawPool {
            listed: self.peek_punct("{")?,
            ..RawPool::default()
        };
        let members = self.list(|p| p.pool_host(routing))?;
        for (host, interface) in members.into_iter().flatten() {
            pool.hosts.push(host);
            pool.interfaces.push(interface);
        }
        loop {
            let t = self.peek()?;
            match t.text.as_str() {
                "port" if !routing => {
                    self.next()?;
                    let v = self.next()?;
                    let (a, b) = v.text.split_once(':').unwrap_or((&v.text, ""));
                    let lo = names::port(a)
                        .filter(|p| *p <= 65535)
                        .ok_or_else(|| self.expected(&v, "a port"))?;
                    let hi = if b == "*" {
                        pool.port_star = true;
                        lo
                    } else if b.is_empty() {
                        lo
                    } else {
                        names::port(b)
                            .filter(|p| *p <= 65535)
                            .ok_or_else(|| self.expected(&v, "a port"))?
                    };
                    pool.ports = Some((lo as u16, hi as u16));
                }
                "bitmask" => pool.kind = Some(self.pool_kind(PoolType::Bitmask)?),
                "random" => pool.kind = Some(self.pool_kind(PoolType::Random)?),
                "round-robin" => pool.kind = Some(self.pool_kind(PoolType::RoundRobin)?),
                "least-states" => pool.kind = Some(self.pool_kind(PoolType::LeastStates)?),
                "source-hash" => {
                    pool.kind = Some(self.pool_kind(PoolType::SourceHash)?);
                    let k = self.peek()?;
                    if k.kind == Kind::Word && !is_rule_keyword(&k.text) {
                        pool.hash_key = Some(self.next()?.text);
                    }
                }
                "sticky-address" => {
                    self.next()?;
                    pool.sticky = true;
                }
                "static-port" if !routing => {
                    self.next()?;
                    pool.static_port = true;
                }
                _ => break,
            }
        }
        let end = self.lx.peek().map(|t| t.span.start).unwrap_or(start.end);
        pool.span = Span::new(start.start as usize, (end.max(start.end)) as usize);
        Ok(pool)
    }

    fn pool_kind(&mut self, kind: PoolType) -> PResult<PoolType> {
        self.next()?;
        Ok(kind)
    }

    /// One pool member: a host, or `(IF [host])` for routing.
    fn pool_host(&mut self, routing: bool) -> PResult<Vec<(RawHost, Option<String>)>> {
        if routing && self.peek_punct("(")? {
            // `(if addr)` is routing's form; `(if)` alone is a dynamic address.
            let open = self.next()?;
            let name = self.string("an interface")?;
            if self.eat_punct(")")? {
                let (base, modifier) = self.split_modifiers(&name)?;
                let host = RawHost {
                    negated: false,
                    host: Host::Dynamic {
                        interface: base,
                        modifier,
                        prefix: None,
                        af: None,
                    },
                    af: None,
                    scope: None,
                    span: Span::new(open.span.start as usize, name.span.end as usize + 1),
                };
                return Ok(vec![(host, None)]);
            }
            let hosts = self.host(None)?;
            self.expect_punct(")")?;
            return Ok(hosts
                .into_iter()
                .map(|h| (h, Some(name.text.clone())))
                .collect());
        }
        Ok(self.host(None)?.into_iter().map(|h| (h, None)).collect())
    }
}

/// Words that start a rule part, so an anchor name or a hash key cannot be one.
fn is_rule_keyword(w: &str) -> bool {
    matches!(
        w,
        "in" | "out"
            | "log"
            | "quick"
            | "on"
            | "inet"
            | "inet6"
            | "proto"
            | "from"
            | "to"
            | "all"
            | "user"
            | "group"
            | "flags"
            | "icmp-type"
            | "icmp6-type"
            | "tos"
            | "keep"
            | "modulate"
            | "synproxy"
            | "no"
            | "fragment"
            | "allow-opts"
            | "label"
            | "tag"
            | "tagged"
            | "sticky-address"
            | "static-port"
            | "port"
            | "once"
            | "rtable"
            | "probability"
            | "prio"
            | "set"
            | "queue"
            | "received-on"
            | "nat-to"
            | "rdr-to"
            | "binat-to"
            | "af-to"
            | "route-to"
            | "reply-to"
            | "dup-to"
            | "divert-to"
            | "divert-reply"
            | "divert-packet"
            | "scrub"
            | "max-pkt-rate"
    )
}
