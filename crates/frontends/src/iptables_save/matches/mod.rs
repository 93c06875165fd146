//! Match extensions (`-m name --option value ...`) lowered into `model::expr` with the
//! semantics of the kernel's xt modules: one file per extension, as iptables' own
//! `extensions/libxt_*.c`, each ending with its table of rule lines and what they lower to.
//!
//! A [`Module`] is created by `-m name` (or implicitly by `-p tcp` when a `--dport` follows).
//! [`REGISTRY`] names the extension that reads it; the extension takes its options one by one
//! through [`Args`] and, at the end of the rule, adds what it gathered through [`End`].
//! Extensions whose result depends on things not known offline (rates, time, payload, ...)
//! and modules whyblocked does not know become one [`Test::Undecidable`] carrying the
//! module's text. An unknown option of a known module is an error; an unknown module is not.

mod addrtype;
mod bpf;
mod comment;
pub(crate) use comment::COMMENT_MAX;
mod connlimit;
mod connmark;
mod conntrack;
mod dscp;
mod ecn;
mod hashlimit;
mod icmp;
mod iprange;
mod length;
mod limit;
mod mac;
mod mark;
mod multiport;
mod nfacct;
mod owner;
mod physdev;
mod pkttype;
mod policy;
mod quota;
mod recent;
mod rpfilter;
mod rt;
mod sctp;
mod set;
mod socket;
mod state;
mod statistic;
mod string;
mod tcp;
mod time;
mod tos;
mod ttl;
mod u32;
mod udp;

pub(super) use dscp::dscp_class;
pub(super) use tos::tos_value;

use super::cursor::{Cursor, Cx, Opt};
use super::lexer::Token;
use super::values::{self, Bad};
use crate::unmodelled::unmodelled;
use crate::ParseError;
use model::expr::{Key, Match, Pattern, Test, Undecidable, Value};
use model::Span;

/// Which rulesets have an extension: `icmp` is iptables', `icmp6` ip6tables'.
#[derive(Clone, Copy, PartialEq)]
enum Only {
    Both,
    Ip,
    Ip6,
}

/// The extension `-m name` loads, in the rulesets of `only`.
struct Entry {
    name: &'static str,
    only: Only,
    load: fn() -> Box<dyn Extension>,
}

const fn entry(name: &'static str, only: Only, load: fn() -> Box<dyn Extension>) -> Entry {
    Entry { name, only, load }
}

/// Every match extension whyblocked knows, by the name `-m` gives it. A name not here (or
/// not for this family) is an unknown module: an undecidable match, not an error.
const REGISTRY: &[Entry] = &[
    entry("addrtype", Only::Both, addrtype::load),
    entry("bpf", Only::Both, bpf::load),
    entry("comment", Only::Both, comment::load),
    entry("connlimit", Only::Both, connlimit::load),
    entry("connmark", Only::Both, connmark::load),
    entry("conntrack", Only::Both, conntrack::load),
    entry("dscp", Only::Both, dscp::load),
    entry("ecn", Only::Both, ecn::load),
    entry("hashlimit", Only::Both, hashlimit::load),
    entry("hl", Only::Ip6, ttl::load_hl),
    entry("icmp", Only::Ip, icmp::load),
    entry("icmp6", Only::Ip6, icmp::load_v6),
    entry("iprange", Only::Both, iprange::load),
    entry("length", Only::Both, length::load),
    entry("limit", Only::Both, limit::load),
    entry("mac", Only::Both, mac::load),
    entry("mark", Only::Both, mark::load),
    entry("multiport", Only::Both, multiport::load),
    entry("nfacct", Only::Both, nfacct::load),
    entry("owner", Only::Both, owner::load),
    entry("physdev", Only::Both, physdev::load),
    entry("pkttype", Only::Both, pkttype::load),
    entry("policy", Only::Both, policy::load),
    entry("quota", Only::Both, quota::load),
    entry("recent", Only::Both, recent::load),
    entry("rpfilter", Only::Both, rpfilter::load),
    entry("rt", Only::Ip6, rt::load),
    entry("sctp", Only::Both, sctp::load),
    entry("set", Only::Both, set::load),
    entry("socket", Only::Both, socket::load),
    entry("state", Only::Both, state::load),
    entry("statistic", Only::Both, statistic::load),
    entry("string", Only::Both, string::load),
    entry("tcp", Only::Both, tcp::load),
    entry("time", Only::Both, time::load),
    entry("tos", Only::Both, tos::load),
    entry("ttl", Only::Ip, ttl::load),
    entry("u32", Only::Both, u32::load),
    entry("udp", Only::Both, udp::load),
];

/// One lowered condition of a rule, or a disjunction the rule is split on.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    One(Match),
    /// Mutually exclusive alternatives (each a conjunction): the rule becomes one rule per
    /// alternative, so exactly one of them can match a packet (`--ports`, `! type/code`).
    Either(Vec<Vec<Match>>),
}

/// What a finished module contributes to the rule.
#[derive(Default)]
pub struct Finished {
    pub items: Vec<Item>,
    pub comment: Option<String>,
}

/// One match extension being read: it takes its options, then adds what it gathered.
trait Extension {
    /// Whether `--option` is one of its options.
    fn knows(&self, option: &str) -> bool;
    /// Takes one option it knows, with its arguments.
    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError>;
    /// Adds what the options gathered, once the rule's words are all read.
    fn finish(self: Box<Self>, _end: &mut End<'_>) -> Result<(), ParseError> {
        Ok(())
    }
    /// The protocols (`-p`) the kernel requires for the options given, if any.
    fn required_protocols(&self) -> Option<&'static [u8]> {
        None
    }
}

/// The extension of most modules: each option lowers at once, nothing is gathered.
struct Simple {
    options: &'static [&'static str],
    protocols: Option<&'static [u8]>,
    parse: fn(&mut Args<'_, '_, '_>) -> Result<(), ParseError>,
}

impl Simple {
    fn boxed(
        options: &'static [&'static str],
        protocols: Option<&'static [u8]>,
        parse: fn(&mut Args<'_, '_, '_>) -> Result<(), ParseError>,
    ) -> Box<dyn Extension> {
        Box::new(Simple {
            options,
            protocols,
            parse,
        })
    }
}

impl Extension for Simple {
    fn knows(&self, option: &str) -> bool {
        self.options.contains(&option)
    }
    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        (self.parse)(a)
    }
    fn required_protocols(&self) -> Option<&'static [u8]> {
        self.protocols
    }
}

/// A known module whose result is undecidable offline (rates, time, payload, sockets): its
/// options, each with how many words it takes, are consumed exactly so that typos are caught.
struct Opaque {
    why: Undecidable,
    options: &'static [(&'static str, u8)],
}

impl Opaque {
    fn boxed(why: Undecidable, options: &'static [(&'static str, u8)]) -> Box<dyn Extension> {
        Box::new(Opaque { why, options })
    }
}

impl Extension for Opaque {
    fn knows(&self, option: &str) -> bool {
        self.options.iter().any(|(n, _)| *n == option)
    }
    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        let name = a.name();
        let arity = self.options.iter().find(|(n, _)| *n == name);
        for _ in 0..arity.map_or(0, |&(_, arity)| arity) {
            a.arg()?;
        }
        Ok(())
    }
    fn finish(self: Box<Self>, end: &mut End<'_>) -> Result<(), ParseError> {
        let m = end.undecidable(self.why);
        end.push(Item::One(m));
        Ok(())
    }
}

/// A module whyblocked does not know: options are taken as they come (an option word and
/// the non-option words after it), and the whole module is one undecidable match.
struct Unknown;

impl Extension for Unknown {
    fn knows(&self, _option: &str) -> bool {
        true
    }
    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        a.rest();
        Ok(())
    }
    fn finish(self: Box<Self>, end: &mut End<'_>) -> Result<(), ParseError> {
        let m = end.undecidable(Undecidable::Unsupported(unmodelled(end.name.to_string())));
        end.push(Item::One(m));
        Ok(())
    }
}

/// A loaded match module.
pub struct Module {
    pub name: String,
    /// Span of the module name after `-m` (or of `-p`'s value for an implicit one).
    pub span: Span,
    extension: Box<dyn Extension>,
    unknown: bool,
    out: Finished,
    /// The module's words as written, for the text of an undecidable match.
    words: Vec<String>,
}

impl Module {
    /// `-m name`: the module for this family, or an unknown one.
    pub fn load(name: &str, span: Span, cx: &Cx<'_>) -> Module {
        let only = if cx.v6() { Only::Ip6 } else { Only::Ip };
        let known = REGISTRY
            .iter()
            .find(|e| e.name == name && (e.only == Only::Both || e.only == only));
        let extension =
            known.map_or_else(|| Box::new(Unknown) as Box<dyn Extension>, |e| (e.load)());
        Module {
            name: name.to_string(),
            span,
            extension,
            unknown: known.is_none(),
            out: Finished::default(),
            words: vec!["-m".into(), name.into()],
        }
    }

    /// The protocols (`-p`) the kernel requires for this module, if any.
    pub fn required_protocols(&self) -> Option<&'static [u8]> {
        self.extension.required_protocols()
    }

    /// Whether the module takes options it does not know (so it only gets those no other
    /// loaded module claims).
    pub fn is_unknown(&self) -> bool {
        self.unknown
    }

    /// Whether `--name` is one of this module's options.
    pub fn knows(&self, name: &str) -> bool {
        self.extension.knows(name)
    }

    /// Takes option `opt` (which [`Module::knows`]) and its arguments from `cur`.
    pub fn option<'t, 'a>(
        &mut self,
        opt: Opt<'t, 'a>,
        cur: &mut Cursor<'t, 'a>,
        cx: &Cx<'_>,
    ) -> Result<(), ParseError> {
        let mut words = Vec::new();
        if opt.neg {
            words.push("!".to_string());
        }
        words.push(opt.tok.text.to_string());
        let mut args = Args {
            opt,
            cur,
            cx,
            out: &mut self.out,
            words,
        };
        self.extension.option(&mut args)?;
        self.words.append(&mut args.words);
        Ok(())
    }

    /// The module's contribution once the rule's words are all read.
    pub fn finish(self, cx: &Cx<'_>) -> Result<Finished, ParseError> {
        let mut out = self.out;
        let mut end = End {
            cx,
            span: self.span,
            name: &self.name,
            text: self.words.join(" "),
            out: &mut out,
        };
        self.extension.finish(&mut end)?;
        Ok(out)
    }
}

/// One option of a module being read: its arguments, and where its items go.
struct Args<'r, 't, 'a> {
    opt: Opt<'t, 'a>,
    cur: &'r mut Cursor<'t, 'a>,
    cx: &'r Cx<'r>,
    out: &'r mut Finished,
    /// The option's words as written, for the text of an undecidable match.
    words: Vec<String>,
}

impl<'t, 'a> Args<'_, 't, 'a> {
    /// The option's name without its dashes.
    fn name(&self) -> &'t str {
        self.opt.name
    }
    /// Whether the option is negated (`! --opt v` or the legacy `--opt ! v`).
    fn neg(&self) -> bool {
        self.opt.neg
    }
    /// The option word itself, for errors about it.
    fn token(&self) -> &'t Token<'a> {
        self.opt.tok
    }
    /// The option's argument (after a legacy `!`, which negates the option).
    fn arg(&mut self) -> Result<&'t Token<'a>, ParseError> {
        let t = self.cur.arg(self.cx, &mut self.opt)?;
        self.words.push(shown(&t.text));
        Ok(t)
    }
    /// A further argument, the word after `after`; `what` names it in the error.
    fn value(&mut self, after: &Token<'_>, what: &str) -> Result<&'t Token<'a>, ParseError> {
        let t = self.cur.value(self.cx, after, what)?;
        self.words.push(shown(&t.text));
        Ok(t)
    }
    /// The non-option words that follow (an unknown module's arguments).
    fn rest(&mut self) {
        while let Some(t) = self.cur.optional_value() {
            self.words.push(shown(&t.text));
        }
    }
    /// A parsed value of `tok`, or the error pointing at it.
    fn check<T>(&self, tok: &Token<'_>, parsed: Result<T, Bad>) -> Result<T, ParseError> {
        parsed.map_err(|b| self.cx.invalid(tok, b))
    }
    /// Rejects a `!` in front of an option that cannot be inverted, as iptables does.
    fn no_neg(&self) -> Result<(), ParseError> {
        self.opt.no_neg(self.cx)
    }
    fn push(&mut self, item: Item) {
        self.out.items.push(item);
    }
    /// `key` matches `pattern`, negated as the option is.
    fn push_cmp(&mut self, key: Key, pattern: Pattern) {
        let neg = self.neg();
        self.push(one(key, pattern, neg));
    }
    /// An undecidable match with this option's text, negated as the option is.
    fn push_undecidable(&mut self, kind: Undecidable) {
        let m = undecidable(kind, self.words.join(" ")).negate(self.neg());
        self.push(Item::One(m));
    }
    /// An undecidable match with this option's text.
    fn undecidable(&self, kind: Undecidable) -> Match {
        undecidable(kind, self.words.join(" "))
    }
    /// Adds a rule comment (several are joined with `; `).
    fn comment(&mut self, text: String) {
        self.out.comment = Some(match self.out.comment.take() {
            Some(prev) => format!("{prev}; {text}"),
            None => text,
        });
    }
}

/// A module once the rule is read: its name, span and text, and where its items go.
struct End<'r> {
    cx: &'r Cx<'r>,
    span: Span,
    name: &'r str,
    /// The module's words as written (`-m limit --limit 3/min`).
    text: String,
    out: &'r mut Finished,
}

impl End<'_> {
    fn push(&mut self, item: Item) {
        self.out.items.push(item);
    }
    /// An undecidable match with the module's text.
    fn undecidable(&self, kind: Undecidable) -> Match {
        undecidable(kind, self.text.clone())
    }
    /// The error for a module that lacks the option it cannot do without.
    fn missing(&self, what: &str) -> ParseError {
        self.cx.expected(self.span, what, "")
    }
}

fn one(key: Key, pattern: Pattern, neg: bool) -> Item {
    Item::One(Match::cmp(key, pattern).negate(neg))
}

fn int(n: u64) -> Value {
    Value::Int(n)
}

fn undecidable(kind: Undecidable, text: String) -> Match {
    Match::new(Test::Undecidable { kind, text })
}

/// A word as it would be written back (quoted if it has spaces).
fn shown(s: &str) -> String {
    if s.is_empty() || s.contains([' ', '\t']) {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

/// A port or an inclusive range (an inverted range stays inverted: it matches nothing).
fn port_pattern((lo, hi): (u16, u16)) -> Pattern {
    if lo == hi {
        Pattern::Value(int(lo.into()))
    } else {
        Pattern::Range(int(lo.into()), int(hi.into()))
    }
}

/// `--sport`/`--dport` (and their long names) of tcp, udp and sctp: a port or `lo:hi`.
fn port_option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let t = a.arg()?;
    let range = a.check(t, values::port_range(&t.text, ':'))?;
    let key = if a.name().starts_with('s') {
        Key::SrcPort
    } else {
        Key::DstPort
    };
    a.push_cmp(key, port_pattern(range));
    Ok(())
}

/// The ports options every port-carrying protocol module takes.
const PORT_OPTIONS: [&str; 4] = ["sport", "source-port", "dport", "destination-port"];

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{lowered, lowered6};
    use model::expr::{Key, Match, Pattern, Test, Undecidable, Value};

    /// Found by the corpus: modules iptables has but whyblocked does not model keep their
    /// text and are undecidable, never an error.
    #[test]
    fn unknown_modules() {
        let m = lowered("-m cgroup --path user.slice -p tcp --dport 22 -j DROP");
        assert!(
            matches!(&m[1].test, Test::Undecidable { kind: Undecidable::Unsupported(u), text } if u.name == "cgroup" && text == "-m cgroup --path user.slice")
        );
        assert_eq!(
            m[2],
            Match::cmp(Key::DstPort, Pattern::Value(Value::Int(22)))
        );
        let m = lowered6("-m frag --fragid 5 -j DROP");
        assert!(
            matches!(&m[0].test, Test::Undecidable { kind: Undecidable::Unsupported(u), .. } if u.name == "frag")
        );
        // A module of the other family is unknown here.
        let m = lowered("-m hl --hl-eq 1 -j DROP");
        assert!(matches!(&m[0].test, Test::Undecidable { .. }));
    }
}
