//! What the kernel's tracers say, as one shape.
//!
//! Three tracers print a packet's walk through the rules, each in its own text:
//! iptables-legacy `TRACE:` lines, `xtables-monitor --trace` and `nft monitor trace`, each
//! read by a private module of its own behind [`parse`] (the tracer told from the text) and
//! [`parse_as`] (the tracer given). Each parser returns [`TracedPacket`]s: the packet's
//! headers as first seen, then its walk in order, as [`WalkEvent`]s (the one model of what
//! a tracer saw, shared with the netlink reader). A step names its rule the way its tracer
//! does (a rule number, a handle, the rule's text): placing it in a given ruleset is the
//! job of the placer in `analysis::agree`.
//!
//! What the tracers do not say, and the parsers do not invent: a REJECT is printed as a drop
//! (the rule's target tells them apart); an accept has no closing event (the packet's last
//! step says where it was last seen); identical packets can share a trace id.

use frontends::ParseError;
use model::kernel::NfVerdict;
pub use model::kernel_walk::{KernelVerdict, RuleName, StepKind, WalkEvent};
use model::{Family, Packet};

/// Which tracer wrote the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracer {
    /// iptables-legacy `-j TRACE`, through the kernel log.
    Legacy,
    /// `xtables-monitor --trace` (iptables-nft's `-j TRACE`).
    XtablesMonitor,
    /// `nft monitor trace` (`meta nftrace set 1`, or iptables-nft's `-j TRACE`).
    NftMonitor,
}

impl Tracer {
    pub fn name(self) -> &'static str {
        match self {
            Tracer::Legacy => "iptables-legacy TRACE",
            Tracer::XtablesMonitor => "xtables-monitor --trace",
            Tracer::NftMonitor => "nft monitor trace",
        }
    }
}

/// A verdict as the tracer printed it: `accept`, `drop`, `jump CHAIN`, `ACCEPT`,
/// `JUMP:CHAIN`, `queue to 3`, ... (any case). `None` for a word no tracer prints for a
/// verdict (the step is then read like a legacy one, which prints none).
pub fn parse_verdict(s: &str) -> Option<KernelVerdict> {
    let s = s.trim();
    let (word, arg) = match s.split_once([' ', ':']) {
        Some((w, a)) => (w, a.trim()),
        None => (s, ""),
    };
    let code = match word.to_ascii_lowercase().as_str() {
        "accept" => NfVerdict::Accept,
        "drop" => NfVerdict::Drop,
        "continue" => NfVerdict::Continue,
        "jump" | "goto" if !arg.is_empty() => {
            let code = if word.eq_ignore_ascii_case("jump") {
                NfVerdict::Jump
            } else {
                NfVerdict::Goto
            };
            return Some(KernelVerdict {
                code,
                chain: Some(arg.to_string()),
                queue: 0,
            });
        }
        "return" => NfVerdict::Return,
        "queue" => {
            return Some(KernelVerdict {
                code: NfVerdict::Queue,
                chain: None,
                queue: arg
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
            })
        }
        "stolen" => NfVerdict::Stolen,
        "repeat" => NfVerdict::Repeat,
        _ => return None,
    };
    Some(KernelVerdict::of(code))
}

/// One traced packet: its headers and its walk.
#[derive(Debug, Clone, PartialEq)]
pub struct TracedPacket {
    pub tracer: Tracer,
    /// The tracer's id (not unique: identical packets can share it).
    pub id: Option<u32>,
    /// The packet as first seen (with `iif`, and `oif` when it was known there).
    pub packet: Packet,
    /// 1-based line where the packet's trace starts.
    pub line: u64,
    /// Its walk, event by event, as the tracer printed it.
    pub steps: Vec<WalkEvent>,
    /// Why the headers are not complete enough to simulate (e.g. `xtables-monitor` prints no
    /// protocol for ICMP); `None` when they are.
    pub incomplete: Option<&'static str>,
}

/// A whole trace file, read.
#[derive(Debug, Clone, Default)]
pub struct TraceFile {
    pub packets: Vec<TracedPacket>,
    /// Lines that belong to no tracer format (counted, e.g. other kernel messages).
    pub other: u64,
    /// Lines of the tracer's format that do not parse (all counted, the first few kept).
    pub malformed: u64,
    pub malformed_examples: Vec<(u64, ParseError)>,
    /// Events whose packet was never printed (the trace started mid-walk): counted.
    pub orphans: u64,
}

impl TraceFile {
    pub(crate) fn malformed(&mut self, line: u64, e: ParseError) {
        self.malformed += 1;
        if self.malformed_examples.len() < 5 {
            self.malformed_examples.push((line, e));
        }
    }
}

/// Which tracer wrote `text`, from its first recognisable line.
pub fn detect(text: &str) -> Option<Tracer> {
    for line in text.lines().take(1000) {
        let l = line.trim_start();
        if l.starts_with("trace id ") {
            return Some(Tracer::NftMonitor);
        }
        if l.starts_with("PACKET: ")
            || l.starts_with("TRACE: ") && l.contains(":rule:0x")
            || l.starts_with("TRACE: ") && l.contains(":policy:") && !l.contains("IN=")
        {
            return Some(Tracer::XtablesMonitor);
        }
        if crate::wrapper::unwrap(line).message.starts_with("TRACE: ") {
            return Some(Tracer::Legacy);
        }
    }
    None
}

/// Reads `text` with the parser of the tracer that wrote it (see [`detect`]).
pub fn parse(name: &str, text: &str) -> Option<(Tracer, TraceFile)> {
    let tracer = detect(text)?;
    Some((tracer, parse_as(tracer, name, text)))
}

/// Reads `text` with `tracer`'s parser, whatever the text looks like: lines that parser
/// cannot read are counted as malformed.
pub fn parse_as(tracer: Tracer, name: &str, text: &str) -> TraceFile {
    match tracer {
        Tracer::Legacy => crate::trace_legacy::parse(name, text),
        Tracer::XtablesMonitor => crate::xtables_monitor::parse(name, text),
        Tracer::NftMonitor => crate::nft_monitor::parse(name, text),
    }
}

/// `ip`, `ip6`, ... from the family names the tracers print.
pub fn family_from_name(s: &str) -> Option<Family> {
    Family::from_name(s)
}

/// Removes nft's `counter packets N bytes M` (the values change; the rule is the same).
pub fn strip_counters(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "counter"
            && words.get(i + 1) == Some(&"packets")
            && words.get(i + 3) == Some(&"bytes")
        {
            out.push("counter");
            i += 5;
            continue;
        }
        out.push(words[i]);
        i += 1;
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_in_every_tracer_spelling() {
        let code = |s| parse_verdict(s).map(|v| v.code);
        assert_eq!(code("ACCEPT"), Some(NfVerdict::Accept));
        assert_eq!(
            parse_verdict("JUMP:fwd-user"),
            Some(KernelVerdict::jump("fwd-user"))
        );
        assert_eq!(
            parse_verdict("jump sub1"),
            Some(KernelVerdict::jump("sub1"))
        );
        assert_eq!(
            parse_verdict("GOTO:x").map(|v| (v.code, v.chain)),
            Some((NfVerdict::Goto, Some("x".into())))
        );
        assert_eq!(parse_verdict("queue to 3").map(|v| v.queue), Some(3));
        assert_eq!(parse_verdict("jump"), None);
    }

    #[test]
    fn counters_are_removed() {
        assert_eq!(
            strip_counters("tcp dport 22 counter packets 12 bytes 720 accept"),
            "tcp dport 22 counter accept"
        );
    }

    #[test]
    fn detects_each_tracer() {
        assert_eq!(
            detect("trace id 1 ip filter INPUT policy drop"),
            Some(Tracer::NftMonitor)
        );
        assert_eq!(detect("PACKET: 2 1 IN=a"), Some(Tracer::XtablesMonitor));
        assert_eq!(
            detect("[ 1.0] TRACE: filter:INPUT:rule:3 IN=a OUT= SRC=1.1.1.1"),
            Some(Tracer::Legacy)
        );
        assert_eq!(detect("hello"), None);
    }
}
