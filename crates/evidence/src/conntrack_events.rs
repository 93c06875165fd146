//! `conntrack -E` events (and `conntrack -L` entries) grouped per flow, and what they prove.
//!
//! Lines look like (`-o timestamp,extended` adds the first two columns):
//!
//! ```text
//! [1732269600.973154]        [NEW] ipv4     2 tcp      6 120 SYN_SENT src=10.1.1.2 dst=10.1.1.1 sport=43003 dport=22 [UNREPLIED] src=10.1.1.1 dst=10.1.1.2 sport=22 dport=43003
//! [1732269600.973187]    [DESTROY] ipv4     2 tcp      6 120 CLOSE src=10.1.1.2 dst=10.1.1.1 sport=43003 dport=22 [UNREPLIED] src=10.1.1.1 dst=10.1.1.2 sport=22 dport=43003
//! ```
//!
//! The entry itself is read by `frontends::host::conntrack`. Conntrack reports a connection only
//! when its first packet is *confirmed*, at the very end of the input or postrouting hook:
//! a `[NEW]` proves the first packet passed every firewall rule on this host. A flow without
//! any event had its first packet dropped before that (by a rule in any table, by routing),
//! or it was untracked. What follows `[NEW]` says what answered ([`Proof`]).

use crate::wrapper::Stamp;
use frontends::host::conntrack::status;
use frontends::ParseError;
use model::host::{CtEntry, CtTuple};
use model::packet::IpProto;
use model::SourceFile;
use std::collections::HashMap;

/// The event type of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtEvent {
    New,
    Update,
    Destroy,
    /// A `conntrack -L` line: the entry as it was listed.
    Listed,
}

/// One line, read.
#[derive(Debug, Clone, PartialEq)]
pub struct CtLine {
    /// 1-based line number.
    pub line: u64,
    pub stamp: Option<Stamp>,
    pub event: CtEvent,
    pub entry: CtEntry,
}

/// All the events of one connection (same protocol, original tuple and zone).
#[derive(Debug, Clone, PartialEq)]
pub struct CtFlow {
    pub proto: IpProto,
    pub orig: CtTuple,
    pub events: Vec<CtLine>,
}

/// What a flow's events prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// TCP reached ESTABLISHED: the handshake completed through this host.
    HandshakeCompleted,
    /// A reply was seen (UDP, ICMP, other): the peer answered through this host.
    Replied,
    /// `[NEW] ... [UNREPLIED]` then `[DESTROY]` in state CLOSE: the first packet passed
    /// every firewall rule here and was answered by a TCP reset (a closed port, or a
    /// `reject with tcp reset` further on), which conntrack does not count as a reply.
    PassedThenReset,
    /// `[NEW] ... [UNREPLIED]` then `[DESTROY]` still unanswered (timed out): the first packet
    /// passed every firewall rule here and nothing ever answered.
    PassedNoAnswer,
    /// `[NEW] ... [UNREPLIED]` and nothing since: passed, no answer yet.
    PassedNoAnswerYet,
    /// Only updates or a listing: the connection existed before the capture started.
    SeenMidway,
}

/// What the next packet of a flow meets, from the table the events leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextState {
    /// An entry with a reply seen: `ct state established`.
    Established,
    /// An entry without a reply yet: the next packet in the original direction is still
    /// `ct state new` to the rules (a retransmitted SYN).
    NewWithEntry,
    /// No entry (destroyed, or never created): the next packet starts a new connection.
    NoEntry,
}

impl CtFlow {
    /// What the events prove (see [`Proof`]).
    pub fn proof(&self) -> Proof {
        let has_new = self.events.iter().any(|e| e.event == CtEvent::New);
        let replied = self
            .events
            .iter()
            .any(|e| e.entry.status & status::SEEN_REPLY != 0);
        let established = self.events.iter().any(|e| {
            matches!(
                e.entry.tcp_state.as_deref(),
                Some("ESTABLISHED" | "FIN_WAIT" | "CLOSE_WAIT" | "LAST_ACK" | "TIME_WAIT")
            ) && e.entry.status & status::SEEN_REPLY != 0
        });
        let destroyed = self
            .events
            .iter()
            .rev()
            .find(|e| e.event == CtEvent::Destroy);
        if established {
            return Proof::HandshakeCompleted;
        }
        if replied {
            return Proof::Replied;
        }
        if !has_new {
            return Proof::SeenMidway;
        }
        match destroyed {
            Some(d) if d.entry.tcp_state.as_deref() == Some("CLOSE") => Proof::PassedThenReset,
            Some(_) => Proof::PassedNoAnswer,
            None => Proof::PassedNoAnswerYet,
        }
    }

    /// The entry as it stands after the last event, or `None` if it was destroyed: what the
    /// next packet of the flow meets (usable as host state).
    pub fn entry_after(&self) -> Option<&CtEntry> {
        let last = self.events.last()?;
        (last.event != CtEvent::Destroy).then_some(&last.entry)
    }

    /// What the next packet of the flow meets, from the table the events leave behind.
    pub fn next_state(&self) -> NextState {
        match self.entry_after() {
            None => NextState::NoEntry,
            Some(e) if e.status & status::SEEN_REPLY != 0 => NextState::Established,
            Some(_) => NextState::NewWithEntry,
        }
    }

    /// Seconds between the first and the last event, when both have Unix timestamps.
    pub fn span_secs(&self) -> Option<f64> {
        let micros = |e: &CtLine| match e.stamp {
            Some(Stamp::Unix { micros }) => Some(micros),
            _ => None,
        };
        let a = micros(self.events.first()?)?;
        let b = micros(self.events.last()?)?;
        Some(b.saturating_sub(a) as f64 / 1e6)
    }

    /// Whether `packet`'s addresses, protocol and ports are this flow's original direction.
    pub fn is_original_of(&self, packet: &model::Packet) -> bool {
        let (sport, dport) = match packet.l4 {
            model::L4::Icmp {
                id,
                icmp_type,
                code,
            }
            | model::L4::Icmpv6 {
                id,
                icmp_type,
                code,
            } => (id, u16::from(icmp_type) << 8 | u16::from(code)),
            l4 => l4.ports().unwrap_or((0, 0)),
        };
        self.proto == packet.proto()
            && self.orig.src == packet.src
            && self.orig.dst == packet.dst
            && self.orig.sport == sport
            && (self.orig.dport == dport
                || !matches!(
                    packet.l4,
                    model::L4::Tcp { .. } | model::L4::Udp { .. } | model::L4::Sctp { .. }
                ))
    }
}

/// A whole file of events or a listing.
#[derive(Debug, Clone, Default)]
pub struct CtFile {
    /// Flows in order of their first line.
    pub flows: Vec<CtFlow>,
    /// Lines read.
    pub events: u64,
    /// Lines that are not events (conntrack's summary, blank lines).
    pub other: u64,
    pub malformed: u64,
    pub malformed_examples: Vec<(u64, ParseError)>,
}

impl CtFile {
    /// The conntrack table after the last event: every flow not destroyed, as it last was.
    pub fn table_after(&self) -> Vec<CtEntry> {
        self.flows
            .iter()
            .filter_map(|f| f.entry_after().cloned())
            .collect()
    }
    /// The flow whose original direction `packet` is, if any event names it.
    pub fn flow_of(&self, packet: &model::Packet) -> Option<&CtFlow> {
        self.flows.iter().find(|f| f.is_original_of(packet))
    }
}

/// Reads `conntrack -E` or `conntrack -L` output (any `-o` options).
pub fn parse(name: &str, text: &str) -> CtFile {
    let mut file = CtFile::default();
    let mut index: HashMap<(IpProto, CtTuple, u16), usize> = HashMap::new();
    for (n, raw) in text.lines().enumerate() {
        let lineno = n as u64 + 1;
        let line = raw.trim_end();
        if line.trim().is_empty() || line.trim_start().starts_with("conntrack v") {
            file.other += 1;
            continue;
        }
        let (stamp, rest) = timestamp(line);
        let rest = rest.trim_start();
        let event = match rest.split_whitespace().next() {
            Some("[NEW]") => CtEvent::New,
            Some("[UPDATE]") => CtEvent::Update,
            Some("[DESTROY]") => CtEvent::Destroy,
            _ => CtEvent::Listed,
        };
        let source = SourceFile::new(name, rest.to_string());
        let entry = match frontends::host::conntrack::parse(&source) {
            Ok(mut v) if v.len() == 1 => v.remove(0),
            Ok(_) => {
                file.other += 1;
                continue;
            }
            Err(e) => {
                file.malformed += 1;
                if file.malformed_examples.len() < 5 {
                    file.malformed_examples.push((lineno, e));
                }
                continue;
            }
        };
        file.events += 1;
        let key = (entry.proto, entry.orig, entry.zone);
        let at = *index.entry(key).or_insert_with(|| {
            file.flows.push(CtFlow {
                proto: entry.proto,
                orig: entry.orig,
                events: Vec::new(),
            });
            file.flows.len() - 1
        });
        file.flows[at].events.push(CtLine {
            line: lineno,
            stamp,
            event,
            entry,
        });
    }
    file
}

/// `[1732269600.973154]` at the start (`-o timestamp`): the stamp and the rest.
fn timestamp(line: &str) -> (Option<Stamp>, &str) {
    let t = line.trim_start();
    if let Some(inner) = t.strip_prefix('[') {
        if let Some((stamp, rest)) = inner.split_once(']') {
            if let Some((s, us)) = stamp.split_once('.') {
                if let (Ok(s), Ok(us)) = (s.trim().parse::<u64>(), us.trim().parse::<u64>()) {
                    let micros = s.saturating_mul(1_000_000).saturating_add(us.min(999_999));
                    return (Some(Stamp::Unix { micros }), rest);
                }
            }
        }
    }
    (None, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOSED: &str = "[1795337722.143658]\t    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=10.1.1.2 dst=10.1.1.1 sport=43003 dport=22 [UNREPLIED] src=10.1.1.1 dst=10.1.1.2 sport=22 dport=43003
[1795337722.143687]\t[DESTROY] ipv4     2 tcp      6 120 CLOSE src=10.1.1.2 dst=10.1.1.1 sport=43003 dport=22 [UNREPLIED] src=10.1.1.1 dst=10.1.1.2 sport=22 dport=43003
";

    #[test]
    fn new_then_destroy_in_close_is_a_reset_after_the_firewall() {
        let f = parse("ct", CLOSED);
        assert_eq!((f.flows.len(), f.events), (1, 2));
        let flow = &f.flows[0];
        assert_eq!(flow.proof(), Proof::PassedThenReset);
        assert!(flow.entry_after().is_none());
        assert!((flow.span_secs().unwrap() - 0.000029).abs() < 1e-9);
        assert!(f.table_after().is_empty());
    }

    #[test]
    fn destroy_still_syn_sent_is_no_answer() {
        let t = CLOSED.replace(" CLOSE ", " SYN_SENT ");
        assert_eq!(parse("ct", &t).flows[0].proof(), Proof::PassedNoAnswer);
    }

    #[test]
    fn new_alone_is_no_answer_yet_and_stays_in_the_table() {
        let first = CLOSED.lines().next().unwrap();
        let f = parse("ct", first);
        assert_eq!(f.flows[0].proof(), Proof::PassedNoAnswerYet);
        assert_eq!(f.table_after().len(), 1);
    }

    #[test]
    fn handshake_completed_plain_events() {
        let t = "    [NEW] tcp      6 120 SYN_SENT src=10.1.1.2 dst=10.1.0.2 sport=44001 dport=80 [UNREPLIED] src=10.1.0.2 dst=10.1.1.2 sport=80 dport=44001
 [UPDATE] tcp      6 60 SYN_RECV src=10.1.1.2 dst=10.1.0.2 sport=44001 dport=80 src=10.1.0.2 dst=10.1.1.2 sport=80 dport=44001
 [UPDATE] tcp      6 432000 ESTABLISHED src=10.1.1.2 dst=10.1.0.2 sport=44001 dport=80 src=10.1.0.2 dst=10.1.1.2 sport=80 dport=44001 [ASSURED]
conntrack v1.4.7 (conntrack-tools): 3 flow events have been shown.
";
        let f = parse("ct", t);
        assert_eq!((f.flows.len(), f.other), (1, 1));
        assert_eq!(f.flows[0].proof(), Proof::HandshakeCompleted);
        assert_eq!(f.table_after()[0].tcp_state.as_deref(), Some("ESTABLISHED"));
        assert_eq!(f.flows[0].span_secs(), None);
    }

    #[test]
    fn icmp_reply_and_listing() {
        let t = "ipv4     2 icmp     1 17 src=10.1.1.2 dst=10.1.0.2 type=8 code=0 id=11084 src=10.1.0.2 dst=10.1.1.2 type=0 code=0 id=11084 mark=0 use=1";
        let f = parse("ct", t);
        assert_eq!(f.flows[0].events[0].event, CtEvent::Listed);
        assert_eq!(f.flows[0].proof(), Proof::Replied);
    }

    #[test]
    fn malformed_lines_are_kept_with_line_numbers() {
        let f = parse(
            "ct",
            "\n[NEW] tcp 6 120 SYN_SENT src=10.1.1.999 dst=1.1.1.1\n",
        );
        assert_eq!((f.malformed, f.malformed_examples[0].0), (1, 2));
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "[",
            "[1.2",
            "[1.2]",
            "[99999999999999999999.1] [NEW]",
            "[NEW]",
            "[DESTROY] tcp 6",
            "\u{0}",
        ] {
            let _ = parse("ct", t);
        }
    }
}
