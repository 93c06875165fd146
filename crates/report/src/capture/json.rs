//! The capture diagnosis as JSON ([`CaptureJson`], `whyblocked pcap --json`): its own
//! serialisable types, so the evidence crate's internals can change without changing the
//! schema.

use super::finding::{fine_headline, fine_summary, headline, icmp_name, meaning, summary};
use super::notes::{format_name, input_notes, placement, reading_notes};
use super::path::{self, FlowOnPath, WhereFailed};
use super::{pmtu, proto_name, side_name, CaptureAnswer};
use crate::answer::{self, Answer};
use crate::words;
use analysis::capture::Simulated;
use evidence::classify::{Finding, FineFlow, IcmpVerdict, Reporter, RstOrigin, Symptom};
use evidence::flows::Endpoint;
use evidence::pmtu::{PmtuVerdict, TooBigFate};
use evidence::tls::{names, AlertContent, Side, TlsSummary};
use model::topology::Topology;
use serde::Serialize;
use std::io::{self, Write};

/// Version of the `whyblocked pcap --json` schema (also named in `schema`).
pub const SCHEMA_VERSION: u32 = 1;

/// `whyblocked pcap --json`: schema `whyblocked-capture/1`.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureJson {
    /// `whyblocked-capture/1`, kept for readers of the first release.
    pub schema: &'static str,
    /// The version of this schema, as every whyblocked JSON document carries it.
    pub schema_version: u32,
    pub file: String,
    /// `pcap` or `pcapng`.
    pub format: &'static str,
    pub interfaces: Vec<InterfaceJson>,
    pub frames: u64,
    pub ip_packets: u64,
    pub not_ip: u64,
    pub malformed: u64,
    pub skipped_packets: u64,
    /// The byte offset where the file is cut short, if it is.
    pub truncated_at: Option<u64>,
    /// Reading stopped early: where and why.
    pub stopped_by: Option<StoppedJson>,
    pub flows: FlowCountsJson,
    /// Failed and suspicious flows, in order of first packet.
    pub findings: Vec<FindingJson>,
    /// The first fine flows (at most 20; `flows.ok` counts them all), with what worked.
    pub fine: Vec<FineJson>,
    pub notes: Vec<String>,
}

/// A flow with nothing wrong.
#[derive(Debug, Clone, Serialize)]
pub struct FineJson {
    pub flow: u64,
    pub protocol: String,
    pub client: EndpointJson,
    pub server: EndpointJson,
    pub first_frame: u64,
    pub packets_from_client: u32,
    pub packets_from_server: u32,
    /// `echo_answered`, `handshake`, `both_ways`, `one_way`.
    pub kind: &'static str,
    pub headline: String,
    pub seen: String,
    /// Its first packet simulated, when rules were given: why it passed.
    pub simulation: Option<SimulationJson>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InterfaceJson {
    pub index: usize,
    pub name: Option<String>,
    pub link: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoppedJson {
    pub offset: u64,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FlowCountsJson {
    /// Distinct flows (an upper bound when `evictions_not_remembered` is not 0).
    pub total: u64,
    /// All failed flows, listed or not.
    pub failed: u64,
    /// All suspicious flows, listed or not.
    pub suspicious: u64,
    pub ok: u64,
    /// Classified early to bound memory.
    pub evicted: u64,
    /// TCP flows evicted while still open: their fate is unknown.
    pub evicted_open: u64,
    /// Flows seen again mid-stream after eviction (counted once in `total`).
    pub resumed: u64,
    /// Evicted flows whose keys could not be remembered.
    pub evictions_not_remembered: u64,
    /// Findings counted but not listed.
    pub not_listed: u64,
    /// Findings listed at most.
    pub listed_at_most: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointJson {
    pub address: String,
    /// Port (TCP/UDP), echo identifier (ICMP client), 0 otherwise.
    pub port: u16,
}

/// One failed or suspicious flow.
#[derive(Debug, Clone, Serialize)]
pub struct FindingJson {
    pub flow: u64,
    pub protocol: String,
    pub client: EndpointJson,
    pub server: EndpointJson,
    pub first_frame: u64,
    /// Seconds since the epoch.
    pub first_seen: f64,
    pub last_seen: f64,
    pub packets_from_client: u32,
    pub packets_from_server: u32,
    /// `failed` or `suspicious`.
    pub severity: &'static str,
    /// `syn_unanswered`, `syn_refused`, `icmp_error`, `wrong_answer`, `echo_unanswered`,
    /// `pmtu_black_hole`, `tls_alert`, `reset`.
    pub kind: &'static str,
    /// The table's short form.
    pub headline: String,
    /// What the capture shows, in words.
    pub seen: String,
    /// What it usually means, in words.
    pub means: String,
    /// Who answered: `{address, role, hops, ttl}`; `null` when nobody did.
    pub answered_by: Option<AnsweredByJson>,
    pub syns: Option<u32>,
    pub icmp: Option<IcmpJson>,
    /// The endpoint the stray SYN/ACK came from (`wrong_answer`).
    pub wrong_answer: Option<WrongAnswerJson>,
    /// The stuck full-size segment and the too-big error's fate (`pmtu_black_hole`).
    pub pmtu: Option<PmtuJson>,
    pub tls: Option<TlsJson>,
    /// Only an ICMP error quoting the flow was captured.
    pub from_quote: bool,
    /// The first packet simulated on the given host; `null` without `--rules`/`--host`.
    pub simulation: Option<SimulationJson>,
    /// A failed flow walked across the topology (`--topology`, several `--host`): where it
    /// failed; `null` without a topology, or for a flow that did not fail.
    pub path: Option<FlowPathJson>,
}

/// A failed flow walked across the topology from the host that owns its source.
#[derive(Debug, Clone, Serialize)]
pub struct FlowPathJson {
    /// The host it was walked from; `null` when it was not walked.
    pub from: Option<String>,
    #[serde(flatten)]
    pub at: WhereFailed,
    /// The error the failing hop sent back and where it ended, in words.
    pub error_back: Option<String>,
    /// Why the flow was not walked, in words.
    pub not_walked: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnsweredByJson {
    pub address: String,
    /// `destination`, `on_the_way` (ICMP); `server`, `middlebox`, `unknown` (RST);
    /// `wrong_endpoint`; `client`, `server` (TLS, reset).
    pub role: &'static str,
    pub hops: Option<u8>,
    pub ttl: Option<u8>,
    /// The interface of the simulated host (`--host`) that holds this address: the answer
    /// came from that host itself (for an ICMP error on the way: it is the router).
    pub host_interface: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IcmpJson {
    pub v6: bool,
    #[serde(rename = "type")]
    pub icmp_type: u8,
    pub code: u8,
    pub name: String,
    pub count: u32,
    pub frame: u64,
    pub quoted: Option<QuotedJson>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuotedJson {
    pub src: String,
    pub dst: String,
    pub protocol: String,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub ttl: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct WrongAnswerJson {
    pub from: EndpointJson,
    pub synacks: u32,
    pub client_rsts: u32,
}

/// A path-MTU black hole: the handshake worked, a full-size segment was sent again and
/// again and never acknowledged, smaller ones got through.
#[derive(Debug, Clone, Serialize)]
pub struct PmtuJson {
    /// `client` or `server`: whose full-size segments vanish.
    pub sender: &'static str,
    /// The stuck segment: its sequence number relative to its sender's SYN, its data length
    /// and IP length on the wire.
    pub seq: u32,
    pub data_len: u16,
    pub ip_len: u16,
    /// How many times the capture shows it sent (the first and the retransmissions).
    pub sends: u32,
    pub first_frame: u64,
    pub last_frame: u64,
    /// From its first sending to its last.
    pub seconds: f64,
    /// The MSS the receiver announced in its SYN; `null` when it announced none.
    pub receiver_mss: Option<u16>,
    /// The largest data length of the sender that was acknowledged; `null` when none was.
    pub largest_acked_data_len: Option<u16>,
    /// Duplicate ACKs while it was stuck: later, smaller segments arrived.
    pub duplicate_acks: u32,
    pub too_big: TooBigJson,
    /// The usual cures, in words (MSS clamping on the router, or letting the error through).
    pub cure: Vec<String>,
}

/// The ICMP fragmentation needed / ICMPv6 packet too big about the connection.
#[derive(Debug, Clone, Serialize)]
pub struct TooBigJson {
    /// `not_captured` (never reached the capture point), `not_taken` (captured, and the
    /// sender kept sending full size), `one_side_only` (captured on some interfaces of the
    /// capture and not on the others that carry the connection).
    pub fate: &'static str,
    /// The hop that sent it, the MTU it gave (0: none), how many were captured and the
    /// first one's frame; `null` when `not_captured`.
    pub from: Option<String>,
    pub mtu: Option<u32>,
    pub count: Option<u32>,
    pub frame: Option<u64>,
    /// `not_taken`: full-size sends of the stuck segment after it.
    pub sends_after: Option<u32>,
    /// `one_side_only`: the capture interfaces (indices into `interfaces`) it was seen on,
    /// and those it was not.
    pub seen_on: Vec<usize>,
    pub missing_on: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TlsJson {
    pub client_hello: Option<ClientHelloJson>,
    pub server_hello: Option<ServerHelloJson>,
    pub certificates: Vec<CertificateJson>,
    /// CA names of the server's CertificateRequest; `null` when it sent none in clear.
    pub certificate_request_cas: Option<Vec<String>>,
    pub alerts: Vec<AlertJson>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientHelloJson {
    pub versions: Vec<String>,
    pub cipher_suites: Vec<String>,
    pub server_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerHelloJson {
    pub version: String,
    pub cipher_suite: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificateJson {
    pub sender: &'static str,
    pub position: usize,
    pub subject: String,
    pub issuer: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertJson {
    pub sender: &'static str,
    /// `fatal`, `warning`, or `null` when encrypted.
    pub level: Option<&'static str>,
    /// Registry name (`unknown_ca`); `null` when encrypted.
    pub description: Option<String>,
    /// `clear`, `encrypted`, `likely_encrypted`.
    pub visibility: &'static str,
    pub frame: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SimulationJson {
    /// How the capture point became interfaces, in words.
    pub placement: String,
    /// What the capture showed of the packet's way and the simulation was given, in words.
    pub implied: Option<String>,
    /// The simulation still took another way than the capture shows: it does not explain
    /// the finding. In words; `null` when they agree.
    pub contradiction: Option<String>,
    /// The full simulation report (the schema of `whyblocked --json`).
    pub report: answer::json::Report,
}

/// The JSON value of a capture diagnosis.
pub fn document(a: &CaptureAnswer<'_>) -> CaptureJson {
    let an = a.analysis;
    let mut notes = reading_notes(an);
    notes.extend(input_notes(a));
    CaptureJson {
        schema: "whyblocked-capture/1",
        schema_version: SCHEMA_VERSION,
        file: a.file.to_string(),
        format: format_name(an),
        interfaces: an
            .interfaces
            .iter()
            .enumerate()
            .map(|(index, i)| InterfaceJson {
                index,
                name: i.name.clone(),
                link: i.link.to_string(),
            })
            .collect(),
        frames: an.read.frames,
        ip_packets: an.packets.ip,
        not_ip: an.packets.not_ip,
        malformed: an.packets.malformed,
        skipped_packets: an.read.skipped_packets,
        truncated_at: an.read.truncated_at,
        stopped_by: an.stopped_by.as_ref().map(|e| StoppedJson {
            offset: e.offset,
            message: e.to_string(),
        }),
        flows: FlowCountsJson {
            total: an.table.flows,
            failed: an.failed,
            suspicious: an.suspicious,
            ok: an.ok_flows,
            evicted: an.table.evicted,
            evicted_open: an.evicted_open,
            resumed: an.table.resumed,
            evictions_not_remembered: an.table.evictions_not_remembered,
            not_listed: an.findings_not_kept,
            listed_at_most: an.findings_limit,
        },
        findings: an
            .findings
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let sim = a.simulations.findings.get(i).and_then(|s| s.as_ref());
                finding_json(i, f, sim, a)
            })
            .collect(),
        fine: an
            .fine
            .iter()
            .enumerate()
            .map(|(i, f)| fine_json(f, a.simulations.fine.get(i).and_then(|s| s.as_ref()), a))
            .collect(),
        notes,
    }
}

/// Writes the JSON diagnosis.
pub fn render<W: Write>(w: &mut W, a: &CaptureAnswer<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &document(a))?;
    writeln!(w)
}

fn fine_json(f: &FineFlow, sim: Option<&Simulated>, a: &CaptureAnswer<'_>) -> FineJson {
    FineJson {
        flow: f.flow,
        protocol: proto_name(f.protocol),
        client: ep(f.client),
        server: ep(f.server),
        first_frame: f.first_frame,
        packets_from_client: f.packets[0],
        packets_from_server: f.packets[1],
        kind: f.working.kind(),
        headline: fine_headline(f),
        seen: fine_summary(f),
        simulation: sim.map(|s| simulation_json(s, a)),
    }
}

fn ep(e: Endpoint) -> EndpointJson {
    EndpointJson {
        address: e.0.to_string(),
        port: e.1,
    }
}

/// The finding at `index` of the analysis.
fn finding_json(
    index: usize,
    f: &Finding,
    sim: Option<&Simulated>,
    a: &CaptureAnswer<'_>,
) -> FindingJson {
    FindingJson {
        flow: f.flow,
        protocol: proto_name(f.protocol),
        client: ep(f.client),
        server: ep(f.server),
        first_frame: f.first_frame,
        first_seen: f.first_ts as f64 / 1e9,
        last_seen: f.last_ts as f64 / 1e9,
        packets_from_client: f.packets[0],
        packets_from_server: f.packets[1],
        severity: if f.symptom.is_failure() {
            "failed"
        } else {
            "suspicious"
        },
        kind: f.symptom.kind(),
        headline: headline(f),
        seen: summary(f, a),
        means: meaning(f, a),
        answered_by: answered_by_json(f, a),
        syns: match &f.symptom {
            Symptom::SynUnanswered { syns, .. } => Some(*syns),
            _ => None,
        },
        icmp: match &f.symptom {
            Symptom::IcmpError(v) => Some(icmp_json(v)),
            _ => None,
        },
        wrong_answer: match &f.symptom {
            Symptom::WrongAnswer(s) => Some(WrongAnswerJson {
                from: ep(s.from),
                synacks: s.count,
                client_rsts: s.client_rsts,
            }),
            _ => None,
        },
        pmtu: match &f.symptom {
            Symptom::PmtuBlackHole(v) => Some(pmtu_json(f, v)),
            _ => None,
        },
        tls: f.tls.as_ref().map(tls_json),
        from_quote: f.from_quote,
        simulation: sim.map(|s| simulation_json(s, a)),
        path: a.paths.and_then(|p| {
            let on_path = p.flows.get(index)?.as_ref()?;
            Some(flow_path_json(on_path, &p.topology))
        }),
    }
}

fn flow_path_json(f: &FlowOnPath, topology: &Topology) -> FlowPathJson {
    match f {
        FlowOnPath::NotPlaced(n) => FlowPathJson {
            from: None,
            at: WhereFailed::nowhere("not_walked"),
            error_back: None,
            not_walked: Some(path::not_placed(n, topology)),
        },
        FlowOnPath::Walked { from, walk } => {
            let at = path::where_failed(walk, topology);
            FlowPathJson {
                from: topology.nodes.get(*from).map(|n| n.name.clone()),
                error_back: path::error_back(walk, at.leg, topology),
                at,
                not_walked: None,
            }
        }
    }
}

/// Who answered the flow's packets (nobody, for a timeout).
fn answered_by_json(f: &Finding, a: &CaptureAnswer<'_>) -> Option<AnsweredByJson> {
    match &f.symptom {
        // Nobody acknowledged the segment; the too-big error, if any, is in `pmtu`.
        Symptom::SynUnanswered { .. }
        | Symptom::EchoUnanswered { .. }
        | Symptom::PmtuBlackHole(_) => None,
        Symptom::SynRefused { rst } => Some(AnsweredByJson {
            address: f.server.0.to_string(),
            role: match rst.origin {
                RstOrigin::Server => "server",
                RstOrigin::Middlebox => "middlebox",
                RstOrigin::Unknown => "unknown",
            },
            hops: Some(rst.hops),
            ttl: Some(rst.ttl),
            host_interface: None,
        }),
        Symptom::IcmpError(v) => Some(AnsweredByJson {
            address: v.error.from.to_string(),
            role: match v.reporter {
                Reporter::Destination => "destination",
                Reporter::OnTheWay => "on_the_way",
            },
            hops: Some(v.hops),
            ttl: Some(v.error.ttl),
            host_interface: a.host.owner_of(v.error.from).map(|i| i.name.clone()),
        }),
        Symptom::WrongAnswer(s) => Some(AnsweredByJson {
            address: s.from.0.to_string(),
            role: "wrong_endpoint",
            hops: Some(evidence::classify::hops(s.ttl)),
            ttl: Some(s.ttl),
            host_interface: None,
        }),
        Symptom::TlsAlert(al) => Some(AnsweredByJson {
            address: match al.sender {
                Side::Client => f.client.0.to_string(),
                Side::Server => f.server.0.to_string(),
            },
            role: side_name(al.sender),
            hops: None,
            ttl: None,
            host_interface: None,
        }),
        Symptom::Reset { by, .. } => Some(AnsweredByJson {
            address: match by {
                Side::Client => f.client.0.to_string(),
                Side::Server => f.server.0.to_string(),
            },
            role: side_name(*by),
            hops: None,
            ttl: None,
            host_interface: None,
        }),
    }
}

fn pmtu_json(f: &Finding, v: &PmtuVerdict) -> PmtuJson {
    let (fate, error, sends_after, seen_on, missing_on) = match &v.too_big {
        TooBigFate::NotCaptured => ("not_captured", None, None, vec![], vec![]),
        TooBigFate::NotTaken { error, sends_after } => {
            ("not_taken", Some(error), Some(*sends_after), vec![], vec![])
        }
        TooBigFate::OneSideOnly {
            error,
            seen_on,
            missing_on,
        } => (
            "one_side_only",
            Some(error),
            None,
            seen_on.clone(),
            missing_on.clone(),
        ),
    };
    PmtuJson {
        sender: side_name(v.sender),
        seq: v.seq,
        data_len: v.len,
        ip_len: v.ip_len,
        sends: v.sends,
        first_frame: v.first_frame,
        last_frame: v.last_frame,
        seconds: v.span_ns as f64 / 1e9,
        receiver_mss: v.receiver_mss,
        largest_acked_data_len: v.largest_acked.map(|(len, _)| len),
        duplicate_acks: v.dup_acks,
        too_big: TooBigJson {
            fate,
            from: error.map(|e| e.from.to_string()),
            mtu: error.map(|e| e.mtu),
            count: error.map(|e| e.count),
            frame: error.map(|e| e.frame),
            sends_after,
            seen_on,
            missing_on,
        },
        cure: pmtu::cure(f),
    }
}

fn icmp_json(v: &IcmpVerdict) -> IcmpJson {
    IcmpJson {
        v6: v.error.v6,
        icmp_type: v.error.icmp_type,
        code: v.error.code,
        name: icmp_name(v),
        count: v.error.count,
        frame: v.error.frame,
        quoted: v.quoted().map(|q| QuotedJson {
            src: q.src.to_string(),
            dst: q.dst.to_string(),
            protocol: proto_name(q.protocol),
            sport: q.ports.map(|p| p.0),
            dport: q.ports.map(|p| p.1),
            ttl: q.ttl,
        }),
    }
}

fn simulation_json(s: &Simulated, a: &CaptureAnswer<'_>) -> SimulationJson {
    SimulationJson {
        placement: placement(&s.placement),
        implied: s
            .assumed
            .as_ref()
            .map(|i| words::evidence_assumption(i, "capture")),
        contradiction: s
            .contradiction
            .as_ref()
            .map(|c| words::evidence_contradiction(c, "capture")),
        report: answer::json::report(&Answer {
            ruleset: a.ruleset,
            host: a.host,
            outcome: &s.outcome,
            facts: &s.facts,
            remedies: None,
            rule_reasons: None,
            ping: None,
            input_notes: &[],
        }),
    }
}

fn tls_json(t: &TlsSummary) -> TlsJson {
    TlsJson {
        client_hello: t.client_hello.as_ref().map(|h| ClientHelloJson {
            versions: if h.supported_versions.is_empty() {
                vec![names::version(h.legacy_version)]
            } else {
                h.supported_versions
                    .iter()
                    .map(|v| names::version(*v))
                    .collect()
            },
            cipher_suites: h
                .cipher_suites
                .iter()
                .map(|c| names::cipher_suite(*c).map_or(format!("{c:#06x}"), str::to_string))
                .collect(),
            server_name: h.server_name.clone(),
        }),
        server_hello: t.server_hello.map(|h| ServerHelloJson {
            version: names::version(h.version),
            cipher_suite: names::cipher_suite(h.cipher_suite)
                .map_or(format!("{:#06x}", h.cipher_suite), str::to_string),
        }),
        certificates: t
            .certificates
            .iter()
            .map(|c| CertificateJson {
                sender: side_name(c.sender),
                position: c.position,
                subject: c.subject.clone(),
                issuer: c.issuer.clone(),
            })
            .collect(),
        certificate_request_cas: t.certificate_request.as_ref().map(|r| r.ca_names.clone()),
        alerts: t
            .alerts
            .iter()
            .map(|a| {
                let (level, description, visibility) = match a.content {
                    AlertContent::Clear { level, description } => (
                        Some(if level == 2 { "fatal" } else { "warning" }),
                        Some(
                            names::alert(description)
                                .map_or(description.to_string(), str::to_string),
                        ),
                        "clear",
                    ),
                    AlertContent::Encrypted => (None, None, "encrypted"),
                    AlertContent::LikelyEncrypted => (None, None, "likely_encrypted"),
                };
                AlertJson {
                    sender: side_name(a.sender),
                    level,
                    description,
                    visibility,
                    frame: a.frame,
                }
            })
            .collect(),
    }
}
