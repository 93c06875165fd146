//! The words of `whyblocked trace`: one traced packet as text (its path, one line per rule
//! or policy, then fate, conntrack, what the sender sees and the `--compare` verdict) or as
//! one JSON object ([`TracedJson`]).

use crate::answer::json::{response_with_text, sender_view, SenderSeesJson};
use crate::verify::{divergence, engine_fate, side_by_side};
use crate::words;
use analysis::agree::{Offline, TracedPacket};
use engine::{Response, SenderView};
use model::kernel::NfVerdict;
use model::kernel_walk::{CtEvent, CtTuple, KernelStep, StepKind};
use model::Ruleset;
use serde::Serialize;
use std::fmt::Write as _;

/// Version of the [`TracedJson`] schema; bumped on any change that is not purely additive.
/// 2: `sender_sees` is an object (the answer's `sender_sees` schema), no longer a string.
pub const SCHEMA_VERSION: u32 = 2;

/// `ICMP port unreachable from 10.1.1.1`: the response without host-state remarks.
fn response_words(r: &Response) -> String {
    format!(
        "{} from {}",
        words::response_kind(r.kind),
        words::answer_source(&r.from)
    )
}

/// What the sender sees, in one line.
pub fn sender_sees(v: &SenderView) -> String {
    let mut s = match &v.response {
        Some(r) => response_words(r),
        None => "nothing (silence)".to_string(),
    };
    if let (Some(e), Some(t)) = (v.errno, v.timeout_secs) {
        let _ = write!(
            s,
            "; the call fails after ~{t} s with {} \"{}\"",
            e.name(),
            e.message()
        );
    } else if let Some(e) = v.errno {
        let _ = write!(
            s,
            "; the call fails at once with {} \"{}\"",
            e.name(),
            e.message()
        );
    } else if v.recv_times_out {
        s += "; recv() waits until its own timeout";
    }
    s
}

/// The simulated fate, or the engine's failure.
fn offline_fate(o: &Offline) -> String {
    match &o.fate {
        Ok(f) => engine_fate(f),
        Err(e) => format!("the engine failed: {e}"),
    }
}

/// The first divergence (`None`: they agree).
pub fn offline_divergence(ruleset: &Ruleset, o: &Offline) -> Option<String> {
    match (&o.fate, &o.comparison) {
        (Err(_), _) => Some("engine failure".into()),
        (Ok(_), Some(c)) => c.first().map(|d| divergence(ruleset, d)),
        (Ok(_), None) => None,
    }
}

/// Both walks side by side (empty if the engine failed).
pub fn offline_side_by_side(ruleset: &Ruleset, o: &Offline) -> String {
    o.comparison
        .as_ref()
        .map(|c| side_by_side(ruleset, c))
        .unwrap_or_default()
}

/// A step's verdict: a REJECT rule's drop says `reject`.
fn verdict(st: &KernelStep, with_reject: bool) -> String {
    match (st.verdict.code, st.rejects) {
        (NfVerdict::Drop, Some(r)) if with_reject => format!("reject ({r})"),
        (NfVerdict::Drop, Some(_)) => "reject".to_string(),
        _ => st.verdict.to_string(),
    }
}

/// The event's tuples as `conntrack -E` prints them; a direction the event did not carry
/// is left out (never a bare `reply `).
fn ct_text(c: &CtEvent) -> String {
    let t = |x: &CtTuple| {
        format!(
            "src={} dst={} sport={} dport={}",
            x.src, x.dst, x.sport, x.dport
        )
    };
    match (&c.orig, &c.reply) {
        (Some(o), Some(r)) => format!("{} reply {}", t(o), t(r)),
        (Some(o), None) => t(o),
        (None, Some(r)) => format!("reply {}", t(r)),
        (None, None) => "(no tuple)".to_string(),
    }
}

/// A step's rule text (for a policy or a chain's end, what it did) and the rule's
/// `file:line`.
fn step_source(ruleset: &Ruleset, st: &KernelStep) -> (Option<String>, Option<String>) {
    match (st.rule(), st.event.kind) {
        (Some(r), _) => {
            let o = &ruleset.rule_at(r).origin;
            (
                Some(o.text.to_string()),
                Some(format!("{}:{}", o.file, o.line)),
            )
        }
        (None, StepKind::Policy) => (Some(format!("policy {}", st.verdict)), None),
        (None, StepKind::Return) => (Some("end of chain: return".into()), None),
        _ => (None, None),
    }
}

/// The packet's path, one line per rule or policy, then fate, conntrack and sender.
/// `ruleset` is the one the live tracer placed the steps in (for `--compare`'s words).
pub fn render_text(tp: &TracedPacket, ruleset: &Ruleset) -> String {
    let mut s = String::new();
    let via = tp
        .iif
        .as_deref()
        .map(|i| format!(" in {i}"))
        .unwrap_or_else(|| " (locally generated)".into());
    let _ = writeln!(
        s,
        "#{} {}{} — {}",
        tp.number,
        tp.headers,
        via,
        words::kernel_fate(&tp.kernel.fate)
    );
    for st in &tp.kernel.steps {
        let (text, at) = step_source(ruleset, st);
        let hook = st.hook.map(|h| h.to_string()).unwrap_or_else(|| "?".into());
        let e = &st.event;
        let fam = e.family.map(|f| f.to_string()).unwrap_or_default();
        let _ = write!(s, "  {hook:<11} {fam} {}/{}", e.table, e.chain);
        match (e.kind, st.rule(), e.rule.handle) {
            (StepKind::Rule, Some(r), _) => {
                let _ = write!(s, " #{}", r.rule + 1);
            }
            (StepKind::Rule, None, Some(h)) => {
                let _ = write!(s, " handle {h}");
            }
            _ => {}
        }
        let _ = write!(s, "  -> {}", verdict(st, true));
        if let Some(at) = &at {
            let _ = write!(s, "   {at}");
        }
        s += "\n";
        if let Some(t) = &text {
            if e.kind == StepKind::Rule {
                let _ = writeln!(s, "      {t}");
            }
        }
    }
    if let Some(h) = &tp.kernel.final_headers {
        if h.src != tp.headers.src || h.dst != tp.headers.dst || h.ports != tp.headers.ports {
            let _ = writeln!(s, "  after NAT   {h}");
        }
    }
    for c in &tp.conntrack {
        let id = c.id.map(|i| format!(" id {i}")).unwrap_or_default();
        let _ = writeln!(
            s,
            "  conntrack   {}{id} {}",
            words::ct_event_kind(c.kind),
            ct_text(c)
        );
    }
    if let Some(v) = &tp.sender_sees {
        let _ = writeln!(s, "  sender sees {}", sender_sees(v));
    }
    if let Some(o) = &tp.offline {
        let fate = offline_fate(o);
        match (offline_divergence(ruleset, o), o.unknown) {
            (None, _) => {
                let _ = writeln!(s, "  offline     {fate} (agrees)");
            }
            (Some(d), true) => {
                let _ = writeln!(
                    s,
                    "  offline     {fate} (not compared: the simulation depends on an Unknown match; it differs at {d})"
                );
            }
            (Some(d), false) => {
                let _ = writeln!(s, "  offline     {fate}  !! DIVERGES: {d}");
            }
        }
    }
    s
}

/// One traced packet as JSON (`trace --json`, one object per line). Fields are in
/// alphabetical order, as the output has always printed them.
#[derive(Debug, Clone, Serialize)]
pub struct TracedJson {
    /// The headers after NAT, when NAT changed them (`null` otherwise).
    pub after_nat: Option<String>,
    pub conntrack: Vec<ConntrackJson>,
    /// The kernel's fate of the packet, in words.
    pub fate: String,
    pub iif: Option<String>,
    /// The packet's number in this run, from 1.
    pub number: usize,
    /// `--compare`: the offline simulation (`null` without `--compare`).
    pub offline: Option<OfflineJson>,
    /// The packet's headers as it entered.
    pub packet: String,
    pub path: Vec<TraceStepJson>,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What the sender sees (the answer's schema; `text` is one line): `null` when the
    /// packet was not refused.
    pub sender_sees: Option<SenderSeesJson>,
}

/// One rule or policy the packet met.
#[derive(Debug, Clone, Serialize)]
pub struct TraceStepJson {
    /// `file:line` of the rule.
    pub at: Option<String>,
    pub chain: String,
    pub family: Option<String>,
    pub handle: Option<u64>,
    pub hook: Option<String>,
    /// 1-based position of the rule in its chain.
    pub rule: Option<usize>,
    pub table: String,
    pub text: Option<String>,
    /// `accept`, `drop`, `reject`, `jump <chain>`, ...
    pub verdict: String,
}

/// One conntrack event of the packet's flow.
#[derive(Debug, Clone, Serialize)]
pub struct ConntrackJson {
    /// `new`, `update` or `destroy`.
    pub event: String,
    pub id: Option<u32>,
    pub tuple: String,
}

/// The offline simulation beside the kernel's walk.
#[derive(Debug, Clone, Serialize)]
pub struct OfflineJson {
    /// The first divergence, in words (`null`: they agree).
    pub divergence: Option<String>,
    pub fate: String,
    /// The simulation depends on an Unknown match (a difference is not a divergence).
    pub unknown: bool,
}

/// The JSON schema value of one traced packet.
pub fn to_json(tp: &TracedPacket, ruleset: &Ruleset) -> TracedJson {
    TracedJson {
        after_nat: tp.kernel.final_headers.map(|h| h.to_string()),
        conntrack: tp
            .conntrack
            .iter()
            .map(|c| ConntrackJson {
                event: words::ct_event_kind(c.kind).to_string(),
                id: c.id,
                tuple: ct_text(c),
            })
            .collect(),
        fate: words::kernel_fate(&tp.kernel.fate),
        iif: tp.iif.clone(),
        number: tp.number,
        offline: tp.offline.as_ref().map(|o| OfflineJson {
            divergence: offline_divergence(ruleset, o),
            fate: offline_fate(o),
            unknown: o.unknown,
        }),
        packet: tp.headers.to_string(),
        path: tp
            .kernel
            .steps
            .iter()
            .map(|st| {
                let (text, at) = step_source(ruleset, st);
                TraceStepJson {
                    at,
                    chain: st.event.chain.clone(),
                    family: st.event.family.map(|f| f.to_string()),
                    handle: st.event.rule.handle,
                    hook: st.hook.map(|h| h.to_string()),
                    rule: st.rule().map(|r| r.rule + 1),
                    table: st.event.table.clone(),
                    text,
                    verdict: verdict(st, false),
                }
            })
            .collect(),
        schema_version: SCHEMA_VERSION,
        sender_sees: tp.sender_sees.as_ref().map(sender_sees_json),
    }
}

/// The sender's view as an object, as the answer's JSON has it.
fn sender_sees_json(v: &SenderView) -> SenderSeesJson {
    let response = v
        .response
        .as_ref()
        .map(|r| response_with_text(r, response_words(r)));
    sender_view(v, response, vec![sender_sees(v)])
}

/// Writes one traced packet as one line of JSON.
pub fn render_json(
    out: &mut dyn std::io::Write,
    tp: &TracedPacket,
    ruleset: &Ruleset,
) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, &to_json(tp, ruleset))?;
    writeln!(out)
}

/// The counts of one `trace` run, for [`summary_line`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary<'a> {
    /// Packets shown.
    pub packets: usize,
    /// Packets traced whose events could not be rebuilt into a packet.
    pub lost: usize,
    /// Packets traced after `--count` was reached.
    pub not_shown: usize,
    /// Events of packets that began before the trace was read.
    pub stray_events: usize,
    /// Trace events read.
    pub events: usize,
    /// How long the run took.
    pub seconds: f64,
    /// What ended it (`10 packets`, `timeout (60 s)`, `SIGINT`, ...).
    pub stopped_by: &'a str,
    /// How often the rule listing was re-read because the ruleset changed.
    pub listing_refreshes: usize,
}

/// The line `trace` ends with on stderr: what was shown, and every traced packet that was
/// not, so that none goes missing silently.
pub fn summary_line(s: &RunSummary) -> String {
    let mut line = format!(
        "whyblocked: {} packets, {} events in {:.1} s; stopped by {}",
        s.packets, s.events, s.seconds, s.stopped_by
    );
    for (n, what) in [
        (
            s.not_shown,
            "more traced packets not shown (--count reached)",
        ),
        (
            s.lost,
            "traced packets LOST (their events did not carry the packet's headers)",
        ),
        (
            s.stray_events,
            "events of packets that began before the trace started were left out",
        ),
        (
            s.listing_refreshes,
            "re-readings of the rule listing (the ruleset changed)",
        ),
    ] {
        if n > 0 {
            let _ = write!(line, "; {n} {what}");
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{AnswerSource, Errno, ResponseKind};
    use model::expr::Reject;
    use model::kernel_walk::{CtEventKind, Headers, KernelFate, KernelWalk};
    use model::{Packet, TcpFlags, L4};

    /// A SYN forwarded from tap0 and refused with an ICMP port unreachable by a host
    /// whose addresses the tracer could not name (the answer's source is "this host's
    /// address on the route back"), with the conntrack event of its flow.
    fn refused_syn() -> TracedPacket {
        let (src, dst) = ("10.1.1.2".parse().unwrap(), "10.1.0.2".parse().unwrap());
        let packet = Packet::new(
            src,
            dst,
            L4::Tcp {
                sport: 1050,
                dport: 2175,
                flags: TcpFlags::SYN,
            },
        );
        let headers = Headers {
            src,
            dst,
            proto: 6,
            tag: 1,
            ttl: 64,
            ports: Some((1050, 2175)),
            tcp_flags: Some(TcpFlags::SYN),
            icmp: None,
            quoted_tag: None,
            tos: 0,
            len: 60,
            dont_fragment: true,
            icmp_id: None,
        };
        let tuple = CtTuple {
            src,
            dst,
            proto: 6,
            sport: 1050,
            dport: 2175,
        };
        TracedPacket {
            number: 1,
            packet: packet.clone(),
            headers,
            iif: Some("tap0".into()),
            kernel: KernelWalk {
                tag: 1,
                packet,
                steps: Vec::new(),
                hooks_done: Vec::new(),
                fate: KernelFate::Rejected {
                    step: 0,
                    with: Some(Reject::Icmp(3)),
                },
                final_headers: None,
                ct_state: None,
                responses: Vec::new(),
                answer_stopped: None,
                events: Vec::new(),
            },
            conntrack: vec![CtEvent {
                kind: CtEventKind::New,
                orig: Some(tuple),
                reply: None,
                status: None,
                id: Some(7),
                mark: None,
            }],
            sender_sees: Some(SenderView {
                response: Some(Response {
                    kind: ResponseKind::Icmp {
                        icmp_type: 3,
                        code: 3,
                    },
                    from: AnswerSource::RouteBack { via: None },
                    to: src,
                    by_stack: false,
                }),
                errno: Some(Errno::Econnrefused),
                ..SenderView::default()
            }),
            offline: None,
        }
    }

    #[test]
    fn c1_trace_text_words_the_answer_and_conntrack_without_debug_text() {
        let text = render_text(&refused_syn(), &Ruleset::default());
        assert!(
            text.contains(
                "sender sees ICMP port unreachable from this host's address on the route back; \
                 the call fails at once with ECONNREFUSED"
            ),
            "{text}"
        );
        assert!(
            text.contains("  conntrack   new id 7 src=10.1.1.2"),
            "{text}"
        );
        for debug in ["Icmp {", "Some(", "New ", "0.0.0.0"] {
            assert!(!text.contains(debug), "`{debug}` in:\n{text}");
        }
    }

    #[test]
    fn c1_trace_json_sender_sees_is_a_structured_object() {
        let json = serde_json::to_value(to_json(&refused_syn(), &Ruleset::default())).unwrap();
        let sees = &json["sender_sees"];
        assert_eq!(sees["response"]["kind"], "icmp", "{json}");
        assert_eq!(sees["response"]["icmp_type"], 3);
        assert_eq!(sees["response"]["icmp_code"], 3);
        assert_eq!(sees["response"]["from"], serde_json::Value::Null);
        assert_eq!(sees["errno"], "ECONNREFUSED");
        assert_eq!(json["conntrack"][0]["event"], "new");
        assert_eq!(json["schema_version"], 2);
        assert!(!json.to_string().contains("Icmp {"), "{json}");
    }

    #[test]
    fn c1_an_interface_the_input_does_not_give_is_named_so_not_blank() {
        let blank = String::new();
        assert_eq!(
            words::kernel_fate(&KernelFate::Forwarded { oif: blank.clone() }),
            "forwarded out of an interface the input does not give"
        );
        assert_eq!(
            engine_fate(&engine::Fate::Sent { oif: blank }),
            "sent out of an interface the input does not give"
        );
    }
}
