//! One rule's words (everything after `-A CHAIN`): the generic options of
//! `ip_packet_match` (`-s -d -i -o -p -f`), `-m` modules and their options, the target,
//! `-c` counters and the `-4`/`-6` family filters.
//!
//! An option word goes to the module or target that knows it, preferring the one named
//! last (`-m tcp --dport 22`), then any other loaded one, then the protocol's implicit
//! module (`-p tcp --dport 22` loads `tcp` as iptables does), and last to an unknown module
//! or target, which takes whatever follows it.

use super::cursor::{Cursor, Cx, Opt};
use super::lexer::Token;
use super::matches::{Item, Module};
use super::targets::{Lowered, Target};
use super::values::{self, Masked};
use crate::unmodelled::unmodelled;
use crate::ParseError;
use model::expr::{Key, Match, Pattern, Test, Undecidable, Value};
use model::source::Counters;
use model::Span;

/// A parsed rule, before its target's chain is resolved.
pub struct RuleSpec {
    /// One rule per source and destination address (`-s a,b` is two rules, as iptables
    /// makes them).
    pub srcs: Vec<Match>,
    pub dsts: Vec<Match>,
    /// `-i -o -p -f` and the modules' items, in order.
    pub items: Vec<Item>,
    pub target: Option<Lowered>,
    pub counters: Option<Counters>,
    pub comment: Option<String>,
    /// `-4` in an ip6tables file or `-6` in an iptables file: iptables-restore skips it.
    pub other_family: bool,
}

/// The implicit match module of a protocol (`-p tcp` then `--dport`).
fn implicit_module(proto: u8, v6: bool) -> Option<&'static str> {
    match proto {
        6 => Some("tcp"),
        17 => Some("udp"),
        132 => Some("sctp"),
        1 if !v6 => Some("icmp"),
        58 if v6 => Some("icmp6"),
        _ => None,
    }
}

fn proto_name(p: u8) -> &'static str {
    match p {
        1 => "icmp",
        6 => "tcp",
        17 => "udp",
        33 => "dccp",
        58 => "ipv6-icmp",
        132 => "sctp",
        136 => "udplite",
        _ => "?",
    }
}

/// Which context took the last `-m` / `-j`.
#[derive(Clone, Copy, PartialEq)]
enum Last {
    None,
    Module,
    Target,
}

pub fn parse_rule(toks: &[Token<'_>], cx: &Cx<'_>) -> Result<RuleSpec, ParseError> {
    let mut cur = Cursor::new(toks);
    let mut rule = RuleParser::new(cx);
    let mut pending_neg: Option<Span> = None;
    while let Some(tok) = cur.next() {
        if tok.is("!") {
            if pending_neg.is_some() {
                return Err(cx.expected(tok.span, "an option after `!`", "!"));
            }
            pending_neg = Some(tok.span);
            continue;
        }
        let opt = Opt {
            tok,
            name: "",
            neg: pending_neg.is_some(),
            neg_span: pending_neg.take(),
        };
        if tok.quoted || !tok.text.starts_with('-') || tok.text.len() < 2 {
            return Err(cx.expected(tok.span, "an option", &tok.text));
        }
        rule.option(opt, &mut cur)?;
    }
    if let Some(span) = pending_neg {
        return Err(cx.expected(span, "an option after `!`", ""));
    }
    rule.finish()
}

/// One rule being read: what its words gave so far.
struct RuleParser<'c> {
    cx: &'c Cx<'c>,
    spec: RuleSpec,
    modules: Vec<Module>,
    target: Option<Target>,
    last: Last,
    /// `-p`: the protocol and whether it is negated, and the span of its value.
    proto: Option<(u8, bool)>,
    proto_span: Span,
}

impl<'c> RuleParser<'c> {
    fn new(cx: &'c Cx<'c>) -> Self {
        RuleParser {
            cx,
            spec: RuleSpec {
                srcs: Vec::new(),
                dsts: Vec::new(),
                items: Vec::new(),
                target: None,
                counters: None,
                comment: None,
                other_family: false,
            },
            modules: Vec::new(),
            target: None,
            last: Last::None,
            proto: None,
            proto_span: Span::default(),
        }
    }

    /// One option word (`-s`, `-m`, `--dport`, ...) and its arguments.
    fn option<'t, 'a>(
        &mut self,
        mut opt: Opt<'t, 'a>,
        cur: &mut Cursor<'t, 'a>,
    ) -> Result<(), ParseError> {
        let cx = self.cx;
        let tok = opt.tok;
        let text: &str = &tok.text;
        match text {
            "-s" | "--source" | "--src" | "-d" | "--destination" | "--dst" => {
                self.addresses(opt, cur)?
            }
            "-i" | "--in-interface" | "-o" | "--out-interface" => {
                let v = cur.arg(cx, &mut opt)?;
                if v.text.len() > 15 {
                    return Err(
                        cx.invalid(v, values::bad("interface", "longer than 15 characters"))
                    );
                }
                let key = if matches!(text, "-i" | "--in-interface") {
                    Key::IifName
                } else {
                    Key::OifName
                };
                self.spec.items.push(Item::One(
                    Match::cmp(key, Pattern::Iface(v.text.to_string())).negate(opt.neg),
                ));
            }
            "-p" | "--protocol" => self.protocol(opt, cur)?,
            "-f" | "--fragment" => {
                if cx.v6() {
                    return Err(
                        cx.unsupported(tok.span, "-f in an ip6tables ruleset (use -m frag)")
                    );
                }
                self.spec
                    .items
                    .push(Item::One(Match::new(Test::LaterFragment).negate(opt.neg)));
            }
            "-4" | "--ipv4" | "-6" | "--ipv6" => {
                opt.no_neg(cx)?;
                self.spec.other_family |= matches!(text, "-4" | "--ipv4") == cx.v6();
            }
            "-c" | "--set-counters" => {
                opt.no_neg(cx)?;
                let p = cur.value(cx, tok, "a packet count")?;
                let b = cur.value(cx, p, "a byte count")?;
                let packets = values::number(&p.text, u64::MAX, "packet count")
                    .map_err(|e| cx.invalid(p, e))?;
                let bytes = values::number(&b.text, u64::MAX, "byte count")
                    .map_err(|e| cx.invalid(b, e))?;
                self.spec.counters = Some(Counters { packets, bytes });
            }
            "-m" | "--match" => {
                opt.no_neg(cx)?;
                let v = cur.value(cx, tok, "a match module name")?;
                self.modules.push(Module::load(&v.text, v.span, cx));
                self.last = Last::Module;
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                opt.no_neg(cx)?;
                let v = cur.value(cx, tok, "a target or chain name")?;
                if self.target.is_some() {
                    return Err(cx.unsupported(tok.span, "a second target"));
                }
                let goto = matches!(text, "-g" | "--goto");
                self.target = Some(Target::new(&v.text, v.span, goto));
                self.last = Last::Target;
            }
            _ if text.starts_with("--") => {
                opt.name = &text[2..];
                self.dispatch(opt, cur)?;
            }
            _ => return Err(cx.unsupported(tok.span, format!("option {text}"))),
        }
        Ok(())
    }

    /// `-s`/`-d` with a comma-separated list: one rule per address, as iptables makes them.
    fn addresses<'t, 'a>(
        &mut self,
        mut opt: Opt<'t, 'a>,
        cur: &mut Cursor<'t, 'a>,
    ) -> Result<(), ParseError> {
        let cx = self.cx;
        let text: &str = &opt.tok.text;
        let v = cur.arg(cx, &mut opt)?;
        let dst = matches!(text, "-d" | "--destination" | "--dst");
        let key = if dst { Key::DstAddr } else { Key::SrcAddr };
        let mut list = Vec::new();
        for part in v.text.split(',') {
            let m = match values::prefix(part, cx.family).map_err(|b| cx.invalid(v, b))? {
                Masked::Prefix(p) => Match::cmp(key, Pattern::Prefix(p)),
                Masked::NonContiguous => {
                    let why = Undecidable::Unsupported(unmodelled("non-contiguous netmask"));
                    Match::new(Test::Undecidable {
                        kind: why,
                        text: format!("{text} {part}"),
                    })
                }
            };
            list.push(m.negate(opt.neg));
        }
        let slot = if dst {
            &mut self.spec.dsts
        } else {
            &mut self.spec.srcs
        };
        if !slot.is_empty() {
            return Err(cx.unsupported(opt.tok.span, format!("{text} given twice")));
        }
        *slot = list;
        Ok(())
    }

    /// `-p`: the protocol by name or number (`all`, 0, is no condition).
    fn protocol<'t, 'a>(
        &mut self,
        mut opt: Opt<'t, 'a>,
        cur: &mut Cursor<'t, 'a>,
    ) -> Result<(), ParseError> {
        let cx = self.cx;
        let v = cur.arg(cx, &mut opt)?;
        let n = values::protocol(&v.text).map_err(|b| cx.invalid(v, b))?;
        if self.proto.is_some() {
            return Err(cx.unsupported(opt.tok.span, "-p given twice"));
        }
        if n == 0 && opt.neg {
            return Err(cx.invalid(v, values::bad("protocol", "`! -p all` would never match")));
        }
        self.proto = Some((n, opt.neg));
        self.proto_span = v.span;
        if n != 0 {
            self.spec.items.push(Item::One(
                Match::cmp(Key::L4Proto, Pattern::Value(Value::Int(n.into()))).negate(opt.neg),
            ));
        }
        Ok(())
    }

    /// The modules' contributions (each checked against `-p`, as the kernel does) and the
    /// target, once every word is read.
    fn finish(mut self) -> Result<RuleSpec, ParseError> {
        let cx = self.cx;
        for m in std::mem::take(&mut self.modules) {
            self.check_protocol(&m)?;
            let finished = m.finish(cx)?;
            self.spec.items.extend(finished.items);
            if let Some(c) = finished.comment {
                self.spec.comment = Some(match self.spec.comment.take() {
                    Some(prev) => format!("{prev}; {c}"),
                    None => c,
                });
            }
        }
        if let Some(t) = self.target {
            self.spec.target = Some(t.finish(cx)?);
        }
        Ok(self.spec)
    }

    /// The kernel refuses a module without the protocol it needs (`-m tcp` without `-p tcp`).
    fn check_protocol(&self, m: &Module) -> Result<(), ParseError> {
        let Some(required) = m.required_protocols() else {
            return Ok(());
        };
        match self.proto {
            Some((p, false)) if required.contains(&p) => Ok(()),
            _ => {
                let span = if self.proto.is_some() {
                    self.proto_span
                } else {
                    m.span
                };
                let names: Vec<&str> = required.iter().map(|&p| proto_name(p)).collect();
                let message = format!(
                    "match `{}` needs `-p {}` (the kernel refuses the rule otherwise)",
                    m.name,
                    names.join("|")
                );
                Err(self.cx.structure(span, message))
            }
        }
    }

    /// Gives `--name` to the module or target that takes it (see the module doc).
    fn dispatch<'t, 'a>(
        &mut self,
        opt: Opt<'t, 'a>,
        cur: &mut Cursor<'t, 'a>,
    ) -> Result<(), ParseError> {
        let (cx, last, proto) = (self.cx, self.last, self.proto);
        let (modules, target) = (&mut self.modules, &mut self.target);
        let name = opt.name;
        let target_knows = target
            .as_ref()
            .is_some_and(|t| !t.is_unknown() && t.knows(name));
        if last == Last::Target && target_knows {
            return target.as_mut().map_or(Ok(()), |t| t.option(opt, cur, cx));
        }
        if let Some(m) = modules
            .iter_mut()
            .rev()
            .find(|m| !m.is_unknown() && m.knows(name))
        {
            return m.option(opt, cur, cx);
        }
        if target_knows {
            return target.as_mut().map_or(Ok(()), |t| t.option(opt, cur, cx));
        }
        if let Some((p, false)) = proto {
            if let Some(implicit) = implicit_module(p, cx.v6()) {
                if !modules.iter().any(|m| m.name == implicit) {
                    let m = Module::load(implicit, opt.tok.span, cx);
                    if m.knows(name) {
                        modules.push(m);
                        return modules
                            .last_mut()
                            .map_or(Ok(()), |m| m.option(opt, cur, cx));
                    }
                }
            }
        }
        // Unknown modules and targets take what nothing else claims; the one named last wins.
        let unknown_target = target.as_ref().is_some_and(|t| t.is_unknown());
        let unknown_module = modules.iter().rposition(|m| m.is_unknown());
        if unknown_target && (last == Last::Target || unknown_module.is_none()) {
            return target.as_mut().map_or(Ok(()), |t| t.option(opt, cur, cx));
        }
        if let Some(i) = unknown_module {
            return modules[i].option(opt, cur, cx);
        }
        if unknown_target {
            return target.as_mut().map_or(Ok(()), |t| t.option(opt, cur, cx));
        }
        let owner = match (last, target.as_ref(), modules.last()) {
            (Last::Target, Some(t), _) => format!(" of target {}", t.name),
            (_, _, Some(m)) => format!(" of match `{}`", m.name),
            (_, Some(t), None) => format!(" of target {}", t.name),
            _ => String::new(),
        };
        Err(cx.unsupported(opt.tok.span, format!("option {}{owner}", opt.tok.text)))
    }
}
