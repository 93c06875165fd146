//! Targets (`-j NAME --option ...`) lowered into `model::expr::Action`s: one file per
//! target, as iptables' own `extensions/libxt_*.c`, each ending with its table of rule lines
//! and what they lower to.
//!
//! A target's verdict follows the kernel's: NAT targets return `NF_ACCEPT` (lowered as the
//! NAT action then `accept`), LOG/MARK/CT and friends continue with the next rule. A
//! `-j NAME` that is no known target may be a user chain: it is resolved when the
//! table is complete ([`Lowered::Chain`]).

mod audit;
mod checksum;
mod classify;
mod connmark;
mod connsecmark;
mod ct;
mod dnat;
mod dscp;
mod log;
mod mark;
mod masquerade;
mod nat;
mod netmap;
mod nflog;
mod nfqueue;
mod notrack;
mod redirect;
mod reject;
mod secmark;
mod snat;
mod tcpmss;
mod tos;
mod trace;
mod ulog;

use super::cursor::{Cursor, Cx, Opt};
use super::lexer::Token;
use super::values::Bad;
use crate::unmodelled::unmodelled;
use crate::ParseError;
use model::expr::{Action, Effect, Verdict};
use model::Span;

/// The target `-j name` loads (`-g` only takes chains).
struct Entry {
    name: &'static str,
    load: fn() -> Box<dyn Extension>,
}

const fn entry(name: &'static str, load: fn() -> Box<dyn Extension>) -> Entry {
    Entry { name, load }
}

/// Every target whyblocked models, by the name `-j` gives it. A name not here is a user
/// chain, or a target whyblocked does not model ([`UNMODELLED`], or any with options).
const REGISTRY: &[Entry] = &[
    entry("ACCEPT", || Box::new(Builtin(Verdict::Accept))),
    entry("DROP", || Box::new(Builtin(Verdict::Drop))),
    entry("RETURN", || Box::new(Builtin(Verdict::Return))),
    entry("AUDIT", audit::load),
    entry("CHECKSUM", checksum::load),
    entry("CLASSIFY", classify::load),
    entry("CONNMARK", connmark::load),
    entry("CONNSECMARK", connsecmark::load),
    entry("CT", ct::load),
    entry("DNAT", dnat::load),
    entry("DSCP", dscp::load),
    entry("LOG", log::load),
    entry("MARK", mark::load),
    entry("MASQUERADE", masquerade::load),
    entry("NETMAP", netmap::load),
    entry("NFLOG", nflog::load),
    entry("NFQUEUE", nfqueue::load),
    entry("NOTRACK", notrack::load),
    // The old name of NFQUEUE's queue 0.
    entry("QUEUE", nfqueue::load),
    entry("REDIRECT", redirect::load),
    entry("REJECT", reject::load),
    entry("SECMARK", secmark::load),
    entry("SNAT", snat::load),
    entry("TCPMSS", tcpmss::load),
    entry("TOS", tos::load),
    entry("TRACE", trace::load),
    entry("ULOG", ulog::load),
];

/// Extension targets whyblocked knows by name but does not model: `-j` to one of these
/// is not a chain jump.
const UNMODELLED: &[&str] = &[
    "CLUSTERIP",
    "DNPT",
    "SNPT",
    "ECN",
    "HL",
    "TTL",
    "HMARK",
    "IDLETIMER",
    "LED",
    "RATEEST",
    "SET",
    "SYNPROXY",
    "TCPOPTSTRIP",
    "TEE",
    "TPROXY",
    "TARPIT",
    "CHAOS",
    "DELUDE",
    "IPMARK",
    "LOGMARK",
    "SYSRQ",
    "STEAL",
    "ECHO",
    "DHCPMAC",
    "IMQ",
    "MIRROR",
    "SAME",
    "ROUTE",
    "XOR",
    "NOTRACK_",
    "IPV4OPTSSTRIP",
];

/// One target being read: it takes its options, then yields its actions.
trait Extension {
    /// Whether `--option` is one of its options.
    fn knows(&self, option: &str) -> bool;
    /// Takes one option it knows, with its arguments.
    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError>;
    /// The actions once all options are read.
    fn finish(self: Box<Self>, end: &End<'_>) -> Result<Vec<Action>, ParseError>;
}

/// ACCEPT, DROP, RETURN: a verdict, no options.
struct Builtin(Verdict);

impl Extension for Builtin {
    fn knows(&self, _option: &str) -> bool {
        false
    }
    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        Err(a.unknown_option())
    }
    fn finish(self: Box<Self>, _end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        Ok(vec![Action::Verdict(self.0)])
    }
}

/// A known target with no effect on the fate, only a typed [`Effect`] on the packet or its
/// connection; its options (each with how many words it takes) are consumed exactly so that
/// typos are caught.
struct EffectOnly {
    options: &'static [(&'static str, u8)],
    effect: Effect,
}

impl EffectOnly {
    fn boxed(options: &'static [(&'static str, u8)], effect: Effect) -> Box<dyn Extension> {
        Box::new(EffectOnly { options, effect })
    }
}

impl Extension for EffectOnly {
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
    fn finish(self: Box<Self>, _end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        Ok(vec![Action::Effect(self.effect)])
    }
}

/// A `-j`/`-g` target being read.
pub struct Target {
    pub name: String,
    pub span: Span,
    goto: bool,
    /// None: not a known target (a user chain, or an unmodelled target).
    extension: Option<Box<dyn Extension>>,
    /// Whether an unknown target was given options (then it is no chain).
    options: bool,
}

/// What a target lowers to.
#[derive(Debug, Clone, PartialEq)]
pub enum Lowered {
    Actions(Vec<Action>),
    /// A chain name to jump or go to; `otherwise` when no such chain exists: an
    /// unmodelled target, or `None` (then it is an undefined chain).
    Chain {
        name: String,
        span: Span,
        goto: bool,
        otherwise: Option<Action>,
    },
}

impl Target {
    /// `-j name` (`goto` for `-g`, which only takes chains).
    pub fn new(name: &str, span: Span, goto: bool) -> Target {
        let known = REGISTRY.iter().find(|e| e.name == name).filter(|_| !goto);
        Target {
            name: name.to_string(),
            span,
            goto,
            extension: known.map(|e| (e.load)()),
            options: false,
        }
    }

    /// Whether `--name` is an option of this target.
    pub fn knows(&self, name: &str) -> bool {
        match &self.extension {
            Some(e) => e.knows(name),
            None => !self.goto,
        }
    }

    /// Whether this may be an unmodelled extension target that takes any option.
    pub fn is_unknown(&self) -> bool {
        self.extension.is_none() && !self.goto
    }

    /// Takes option `opt` (which [`Target::knows`]) and its arguments.
    pub fn option<'t, 'a>(
        &mut self,
        opt: Opt<'t, 'a>,
        cur: &mut Cursor<'t, 'a>,
        cx: &Cx<'_>,
    ) -> Result<(), ParseError> {
        opt.no_neg(cx)?;
        let mut args = Args {
            opt,
            cur,
            cx,
            target: &self.name,
        };
        match &mut self.extension {
            Some(e) => e.option(&mut args),
            None => {
                self.options = true;
                while args.cur.optional_value().is_some() {}
                Ok(())
            }
        }
    }

    /// The actions once all options are read.
    pub fn finish(self, cx: &Cx<'_>) -> Result<Lowered, ParseError> {
        let Some(extension) = self.extension else {
            let extension = self.options || UNMODELLED.contains(&self.name.as_str());
            let otherwise = extension.then(|| Action::Undecidable(unmodelled(self.name.clone())));
            return Ok(Lowered::Chain {
                name: self.name,
                span: self.span,
                goto: self.goto,
                otherwise,
            });
        };
        let end = End {
            cx,
            span: self.span,
        };
        extension.finish(&end).map(Lowered::Actions)
    }
}

/// One option of a target being read.
struct Args<'r, 't, 'a> {
    opt: Opt<'t, 'a>,
    cur: &'r mut Cursor<'t, 'a>,
    cx: &'r Cx<'r>,
    target: &'r str,
}

impl<'t, 'a> Args<'_, 't, 'a> {
    /// The option's name without its dashes.
    fn name(&self) -> &'t str {
        self.opt.name
    }
    /// The option's argument; no target option can be negated.
    fn arg(&mut self) -> Result<&'t Token<'a>, ParseError> {
        let t = self.cur.arg(self.cx, &mut self.opt)?;
        self.opt.no_neg(self.cx)?;
        Ok(t)
    }
    /// A parsed value of `tok`, or the error pointing at it.
    fn check<T>(&self, tok: &Token<'_>, parsed: Result<T, Bad>) -> Result<T, ParseError> {
        parsed.map_err(|b| self.cx.invalid(tok, b))
    }
    /// The error for a construct of this option that is not modelled.
    fn unsupported(&self, construct: String) -> ParseError {
        self.cx.unsupported(self.opt.tok.span, construct)
    }
    /// The error for an option this target does not take.
    fn unknown_option(&self) -> ParseError {
        let text = &self.opt.tok.text;
        self.unsupported(format!("option {text} of target {}", self.target))
    }
}

/// A target once the rule is read.
struct End<'r> {
    cx: &'r Cx<'r>,
    span: Span,
}

impl End<'_> {
    /// The error for a target that lacks the option it cannot do without.
    fn missing(&self, what: &str) -> ParseError {
        let at = Span::new(self.span.end as usize, self.span.end as usize);
        self.cx.expected(at, what, "")
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{actions, actions6, check_errors, error};
    use crate::unmodelled::unmodelled;
    use model::expr::{Action, Verdict};

    #[test]
    fn verdicts() {
        for (line, verdict) in [
            ("-j ACCEPT", Verdict::Accept),
            ("-j DROP", Verdict::Drop),
            ("-j RETURN", Verdict::Return),
            ("-j user", Verdict::Jump("user".into())),
            ("-g user", Verdict::Goto("user".into())),
        ] {
            assert_eq!(actions(line), vec![Action::Verdict(verdict)], "{line}");
        }
        assert!(actions6("-p tcp").is_empty());
    }

    #[test]
    fn unknown_targets_are_undecidable() {
        for (line, name) in [
            ("-p tcp -j TARPIT", "TARPIT"),
            ("-j FOOBAR --foo-level 3", "FOOBAR"),
            ("-j SET --add-set x src", "SET"),
        ] {
            assert_eq!(
                actions(line),
                vec![Action::Undecidable(unmodelled(name))],
                "{line}"
            );
        }
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-j ACCEPT --foo",
                "unsupported: option --foo of target ACCEPT is not modelled by whyblocked",
                11,
            ),
            ("-j nowhere", "undefined chain `nowhere`", 4),
            ("-g DROPPED", "undefined chain `DROPPED`", 4),
            (
                "-j FOO ! --bar",
                "unsupported: `!` before --bar is not modelled by whyblocked",
                8,
            ),
        ]);
        assert_eq!(error("-j DROP -j ACCEPT").1, 9);
    }
}
