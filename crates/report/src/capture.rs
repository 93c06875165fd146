//! A capture's diagnosis (`whyblocked pcap`): a table of the failed and suspicious flows,
//! then each one explained (what the capture proves, which hop answered, what it usually
//! means, the TLS handshake as far as it travelled in clear) and, when a ruleset was given,
//! the simulation of its first packet with the deciding rule.
//!
//! ```text
//! capture   story1.pcap (pcap, Ethernet): 4 frames, 1 flow
//! flows     1 failed, 0 suspicious, 0 fine
//!
//!  flow  what                               proto  client -> server                   answered by
//!     1  rejected: ICMP port unreachable    tcp    10.1.1.2:1050 -> 10.1.0.2:2175     10.1.1.1 (on the way)
//! ```
//!
//! [`render_json`] writes the same as [`CaptureJson`]: its own serialisable types, so the
//! evidence crate's internals can change without changing the schema.

use crate::{json, words, Answer};
use analysis::capture::{CaptureSimulations, Placement, Simulated};
use engine::ResponseKind;
use evidence::capture::CaptureAnalysis;
use evidence::classify::{Finding, FineFlow, IcmpVerdict, Reporter, RstOrigin, Symptom, Working};
use evidence::flows::Endpoint;
use evidence::tls::{names, Alert, AlertContent, Side, TlsSummary};
use model::{Host, Ruleset};
use serde::Serialize;
use std::io::{self, Write};
use std::net::IpAddr;

/// Everything a capture diagnosis is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct CaptureAnswer<'a> {
    /// The capture's name as given.
    pub file: &'a str,
    pub analysis: &'a CaptureAnalysis,
    /// The findings' and fine flows' simulations, when rules were given.
    pub simulations: &'a CaptureSimulations,
    pub ruleset: &'a Ruleset,
    pub host: &'a Host,
    /// Notes on how inputs were read.
    pub notes: &'a [String],
}

/// Writes the text diagnosis.
pub fn render_text<W: Write>(w: &mut W, a: &CaptureAnswer<'_>) -> io::Result<()> {
    let an = a.analysis;
    let links: Vec<String> = an
        .interfaces
        .iter()
        .map(|i| match &i.name {
            Some(n) => format!("{n}: {}", i.link),
            None => i.link.to_string(),
        })
        .collect();
    writeln!(
        w,
        "capture   {} ({}, {}): {} frame{}, {} flow{}{}",
        a.file,
        format_name(an),
        links.join(", "),
        an.read.frames,
        plural(an.read.frames),
        an.table.flows,
        plural(an.table.flows),
        duration(an)
    )?;
    let failed = an
        .findings
        .iter()
        .filter(|f| f.symptom.is_failure())
        .count();
    let suspicious = an.findings.len() - failed;
    writeln!(
        w,
        "flows     {failed} failed, {suspicious} suspicious, {} fine",
        an.ok_flows
    )?;
    for line in reading_notes(an) {
        writeln!(w, "note      {line}")?;
    }
    for n in input_notes(a) {
        writeln!(w, "note      {n}")?;
    }
    if an.findings.is_empty() {
        writeln!(w, "\nno failed or suspicious flow")?;
        if an.fine.is_empty() {
            return Ok(());
        }
    }
    writeln!(w)?;
    // Failed and suspicious flows, then the fine ones kept (what worked beside them).
    let mut rows: Vec<(u64, [String; 5])> = an
        .findings
        .iter()
        .map(|f| {
            (
                f.flow,
                [
                    f.flow.to_string(),
                    headline(f),
                    proto_name(f.protocol).to_string(),
                    format!("{} -> {}", endpoint(f.client, f), endpoint(f.server, f)),
                    answered_by(f),
                ],
            )
        })
        .collect();
    rows.extend(an.fine.iter().map(|f| {
        (
            f.flow,
            [
                f.flow.to_string(),
                fine_headline(f),
                proto_name(f.protocol).to_string(),
                format!(
                    "{} -> {}",
                    fine_endpoint(f.client, f),
                    fine_endpoint(f.server, f)
                ),
                match f.working {
                    Working::OneWay => "-".to_string(),
                    _ => "the destination".to_string(),
                },
            ],
        )
    }));
    rows.sort_by_key(|(flow, _)| *flow);
    let rows: Vec<[String; 5]> = rows.into_iter().map(|(_, r)| r).collect();
    let head = ["flow", "what", "proto", "client -> server", "answered by"];
    let mut width = head.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |w: &mut W, r: [&str; 5]| {
        writeln!(
            w,
            "{:>w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3]
        )
    };
    line(w, head)?;
    for r in &rows {
        line(w, [&r[0], &r[1], &r[2], &r[3], &r[4]])?;
    }
    if an.findings_not_kept > 0 {
        writeln!(w, "... and {} more not kept", an.findings_not_kept)?;
    }
    let fine_not_listed = an.ok_flows.saturating_sub(an.fine.len() as u64);
    if fine_not_listed > 0 {
        writeln!(w, "... and {fine_not_listed} more fine flows not listed")?;
    }
    for (i, f) in an.findings.iter().enumerate() {
        writeln!(w)?;
        let sim = a.simulations.findings.get(i).and_then(|s| s.as_ref());
        finding_text(w, f, sim, a)?;
    }
    // A fine flow is explained only when simulated: why the rules let it through.
    for (i, f) in an.fine.iter().enumerate() {
        if let Some(sim) = a.simulations.fine.get(i).and_then(|s| s.as_ref()) {
            writeln!(w)?;
            writeln!(
                w,
                "flow {}  {} {} -> {}  (fine, frame {})",
                f.flow,
                proto_name(f.protocol),
                fine_endpoint(f.client, f),
                fine_endpoint(f.server, f),
                f.first_frame
            )?;
            labelled(w, "seen", &[fine_summary(f)])?;
            simulation_text(w, sim, a)?;
        }
    }
    Ok(())
}

/// The table's "what" column for a fine flow.
pub fn fine_headline(f: &FineFlow) -> String {
    match f.working {
        Working::EchoAnswered { .. } => "fine: ping answered".to_string(),
        Working::Handshake => "fine: handshake completed".to_string(),
        Working::BothWays => "fine: answered".to_string(),
        Working::OneWay => "fine: one way, no answer expected".to_string(),
    }
}

/// What a fine flow shows, in one sentence.
fn fine_summary(f: &FineFlow) -> String {
    match f.working {
        Working::EchoAnswered { requests, replies } => format!(
            "{requests} echo request{} to {}, {replies} echo repl{} from it",
            plural(u64::from(requests)),
            f.server.0,
            if replies == 1 { "y" } else { "ies" }
        ),
        Working::Handshake => format!(
            "the SYN to {} was answered by a SYN/ACK",
            fine_endpoint(f.server, f)
        ),
        Working::BothWays => format!(
            "{} packet{} from the client, {} from {}",
            f.packets[0],
            plural(u64::from(f.packets[0])),
            f.packets[1],
            fine_endpoint(f.server, f)
        ),
        Working::OneWay => format!(
            "{} packet{} one way, none expected back",
            f.packets[0] + f.packets[1],
            plural(u64::from(f.packets[0] + f.packets[1]))
        ),
    }
}

fn fine_endpoint(e: Endpoint, f: &FineFlow) -> String {
    match f.protocol {
        1 | 58 if e.1 != 0 => format!("{} (id {})", e.0, e.1),
        1 | 58 => e.0.to_string(),
        _ => addr_port(e.0, Some(e.1)),
    }
}

const LABEL: usize = 12;

fn labelled<W: Write>(w: &mut W, label: &str, lines: &[String]) -> io::Result<()> {
    for (i, l) in lines.iter().enumerate() {
        let label = if i == 0 { label } else { "" };
        writeln!(w, "  {label:<LABEL$} {l}")?;
    }
    Ok(())
}

fn finding_text<W: Write>(
    w: &mut W,
    f: &Finding,
    sim: Option<&Simulated>,
    a: &CaptureAnswer<'_>,
) -> io::Result<()> {
    writeln!(
        w,
        "flow {}  {} {} -> {}  ({}, frame {}{})",
        f.flow,
        proto_name(f.protocol),
        endpoint(f.client, f),
        endpoint(f.server, f),
        if f.symptom.is_failure() {
            "FAILED"
        } else {
            "suspicious"
        },
        f.first_frame,
        if f.from_quote {
            "; only an ICMP error quoting it was captured"
        } else {
            ""
        }
    )?;
    labelled(w, "seen", &[summary(f, a.host)])?;
    labelled(w, "means", &[meaning(f)])?;
    if let Symptom::IcmpError(v) = &f.symptom {
        if let Some(q) = v.quoted() {
            let mut s = format!(
                "{} {} -> {} ttl {}",
                proto_name(q.protocol),
                addr_port(q.src, q.ports.map(|p| p.0)),
                addr_port(q.dst, q.ports.map(|p| p.1)),
                q.ttl
            );
            if let Some(sent) = v.sent_ttl {
                let n = sent.saturating_sub(q.ttl);
                s.push_str(&format!(
                    " (captured with ttl {sent}: decremented {n} time{} past the capture point before it was refused)",
                    plural(u64::from(n))
                ));
            }
            labelled(w, "quoted", &[s])?;
        }
    }
    if let Some(t) = &f.tls {
        labelled(w, "tls", &tls_lines(t))?;
    }
    if let Some(s) = sim {
        simulation_text(w, s, a)?;
    }
    Ok(())
}

/// How a captured packet was placed on the host, in words.
fn placement(p: &Placement) -> String {
    match p {
        Placement::SentByHost { iface: Some(i) } => {
            format!("sent by this host out of {i}: the source is its own address")
        }
        Placement::SentByHost { iface: None } => {
            "sent by this host: the source is its own address".to_string()
        }
        Placement::LeftArrivalUnknown { iface } => format!(
            "captured leaving {iface}; its arrival interface is unknown, simulated as arriving on {iface}"
        ),
        Placement::Arrived { iface } => format!("seen arriving on {iface}, the capture point"),
    }
}

/// The notes on how the inputs were read, then whether some flows could not be placed.
fn input_notes(a: &CaptureAnswer<'_>) -> Vec<String> {
    let mut notes = a.notes.to_vec();
    if a.simulations.unplaced {
        notes.push(
            "some flows were not simulated: give --at IFACE, the interface the capture was taken on"
                .to_string(),
        );
    }
    notes
}

fn simulation_text<W: Write>(w: &mut W, s: &Simulated, a: &CaptureAnswer<'_>) -> io::Result<()> {
    let trace = s.outcome.primary();
    let fate = match s.outcome.decided_fate() {
        Some(f) => words::fate_headline(f).to_string(),
        None => "UNDECIDED".to_string(),
    };
    let mut lines = vec![format!(
        "{fate}  {}  ({})",
        words::packet(&s.packet),
        placement(&s.placement)
    )];
    lines.push(format!(
        "decided by {}",
        words::decider_short(a.ruleset, &trace.decider)
    ));
    if let engine::Decider::Rule(at) = trace.decider {
        if let Some(o) = words::rule_origin(a.ruleset, at) {
            lines.push(format!("  {}", o.text));
        }
    }
    for n in &trace.nat {
        lines.push(format!("nat {}", words::nat(a.ruleset, n)));
    }
    for l in words::sender_sees(trace, a.host) {
        lines.push(format!("sender sees {l}"));
    }
    labelled(w, "simulated", &lines)
}

/// The table's "what" column.
pub fn headline(f: &Finding) -> String {
    match &f.symptom {
        Symptom::SynUnanswered { syns, .. } => {
            format!(
                "timed out: {syns} SYN{}, no answer",
                plural(u64::from(*syns))
            )
        }
        Symptom::SynRefused { rst } => match rst.origin {
            RstOrigin::Middlebox => "refused: RST forged on the way".to_string(),
            RstOrigin::Server => "refused: RST from the server".to_string(),
            RstOrigin::Unknown => "refused: RST".to_string(),
        },
        Symptom::IcmpError(v) => {
            let word = if v.is_time_exceeded() {
                "time exceeded"
            } else if v.is_pmtu() {
                "too big"
            } else if v.reporter == Reporter::Destination {
                "refused by the destination"
            } else {
                "rejected on the way"
            };
            format!("{word}: {}", icmp_name(v))
        }
        Symptom::WrongAnswer(_) => "SYN/ACK from the wrong address".to_string(),
        Symptom::EchoUnanswered { requests, .. } => {
            format!(
                "{requests} echo request{}, no reply",
                plural(u64::from(*requests))
            )
        }
        Symptom::TlsAlert(alert) => format!("TLS: {}", alert_short(alert)),
        Symptom::Reset { by, .. } => format!("reset by the {}", side_name(*by)),
    }
}

/// The table's "answered by" column.
fn answered_by(f: &Finding) -> String {
    match &f.symptom {
        Symptom::SynUnanswered { .. } | Symptom::EchoUnanswered { .. } => "nobody".to_string(),
        Symptom::SynRefused { rst } => format!(
            "{} ({} hop{})",
            f.server.0,
            rst.hops,
            plural(u64::from(rst.hops))
        ),
        Symptom::IcmpError(v) => format!(
            "{} ({})",
            v.error.from,
            match v.reporter {
                Reporter::Destination => "the destination",
                Reporter::OnTheWay => "on the way",
            }
        ),
        Symptom::WrongAnswer(s) => addr_port(s.from.0, Some(s.from.1)),
        Symptom::TlsAlert(a) => format!("the {}", side_name(a.sender)),
        Symptom::Reset { by, .. } => format!("the {}", side_name(*by)),
    }
}

/// What the capture shows, in one sentence. `host`: the simulated host, when its state was
/// given (an ICMP error from one of its addresses came from it: the router).
fn summary(f: &Finding, host: &Host) -> String {
    match &f.symptom {
        Symptom::SynUnanswered { syns, span_ns } => format!(
            "{syns} SYN{} over {} s (retransmissions: {}), nothing came back",
            plural(u64::from(*syns)),
            secs(*span_ns),
            syns.saturating_sub(1)
        ),
        Symptom::SynRefused { rst } => {
            let mut s = format!(
                "the SYN was answered by an RST from {} with TTL {} ({} hop{} away)",
                f.server.0,
                rst.ttl,
                rst.hops,
                plural(u64::from(rst.hops))
            );
            match (rst.server_ttl, rst.server_hops) {
                (Some(t), Some(h)) => s.push_str(&format!(
                    "; the server's other packets have TTL {t} ({h} hop{} away)",
                    plural(u64::from(h))
                )),
                _ => s.push_str("; no other packet from the server to compare its TTL with"),
            }
            s
        }
        Symptom::IcmpError(v) => {
            let who = match v.reporter {
                Reporter::Destination => "the destination itself".to_string(),
                Reporter::OnTheWay => match host.owner_of(v.error.from) {
                    Some(i) => format!(
                        "the router: this host, its address on {}; not the destination {}",
                        i.name, f.server.0
                    ),
                    None => format!(
                        "a hop on the way (a router), not the destination {}",
                        f.server.0
                    ),
                },
            };
            let count = if v.error.count > 1 {
                format!(" ({} times)", v.error.count)
            } else {
                String::new()
            };
            format!(
                "{}{count} from {} ({who}), {}",
                icmp_name(v),
                v.error.from,
                distance(v.hops)
            )
        }
        Symptom::WrongAnswer(s) => format!(
            "the SYN went to {}, the SYN/ACK came from {} ({} time{}), and the client answered it with RST ({} time{})",
            endpoint(f.server, f),
            addr_port(s.from.0, Some(s.from.1)),
            s.count,
            plural(u64::from(s.count)),
            s.client_rsts,
            plural(u64::from(s.client_rsts))
        ),
        Symptom::EchoUnanswered { requests, span_ns } => format!(
            "{requests} echo request{} to {} over {} s, no reply and no error",
            plural(u64::from(*requests)),
            f.server.0,
            secs(*span_ns)
        ),
        Symptom::TlsAlert(a) => {
            let handshake = f
                .tls
                .as_ref()
                .map(handshake_stage)
                .unwrap_or_default();
            format!(
                "the {} sent {}{handshake} (frame {})",
                side_name(a.sender),
                alert_long(a),
                a.frame
            )
        }
        Symptom::Reset {
            by,
            payload,
            with_data,
        } => format!(
            "the {} reset the connection after {} bytes from the client and {} from the server{}",
            side_name(*by),
            payload[0],
            payload[1],
            if *with_data { "; the RST carries data (often a reason in text)" } else { "" }
        ),
    }
}

/// What the symptom usually means.
fn meaning(f: &Finding) -> String {
    match &f.symptom {
        Symptom::SynUnanswered { .. } => {
            "timed out: silently dropped (a DROP rule or policy, no route back, or the host is down); \
             the client's connect() ends with ETIMEDOUT"
                .to_string()
        }
        Symptom::SynRefused { rst } => match rst.origin {
            RstOrigin::Middlebox => format!(
                "a firewall between forged the RST in the server's name (REJECT --reject-with tcp-reset): \
                 its TTL says {} hop{} away, the server is {}",
                rst.hops,
                plural(u64::from(rst.hops)),
                rst.server_hops.map_or("elsewhere".to_string(), |h| format!(
                    "{h} hop{} away",
                    plural(u64::from(h))
                ))
            ),
            RstOrigin::Server => format!(
                "the server's own stack refused: nothing listens on port {} (or a firewall on the server \
                 rejects with tcp-reset); connect() fails at once with ECONNREFUSED",
                f.server.1
            ),
            RstOrigin::Unknown => format!(
                "connection refused: nothing listens on port {}, or a firewall rejects with tcp-reset; \
                 a firewall's RST often has another TTL than the server's packets (none to compare here)",
                f.server.1
            ),
        },
        Symptom::IcmpError(v) => icmp_meaning(v, f),
        Symptom::WrongAnswer(_) => "broken reverse NAT: the reply left without conntrack undoing the \
             translation (the reply path skipped the NAT box, the reply was untracked, or something \
             rewrote ports after conntrack), so the client does not recognise it and resets it"
            .to_string(),
        Symptom::EchoUnanswered { .. } => format!(
            "the requests or the replies are dropped silently: a DROP rule, or {} has no route back to {}",
            f.server.0, f.client.0
        ),
        Symptom::TlsAlert(a) => alert_meaning(a, f.tls.as_ref()),
        Symptom::Reset { by, .. } => format!(
            "the {} aborted the connection (an application closing with unread data, a timeout, \
             or a firewall resetting an established flow)",
            side_name(*by)
        ),
    }
}

fn icmp_meaning(v: &IcmpVerdict, f: &Finding) -> String {
    let e = &v.error;
    let at = match v.reporter {
        Reporter::Destination => format!("the destination {}", e.from),
        Reporter::OnTheWay => format!("the hop {}", e.from),
    };
    let firewall = |with: &str| format!("{at} refused it: a firewall REJECT ({with}) there");
    match (e.v6, e.icmp_type, e.code) {
        (false, 3, 3) | (true, 1, 4) => match v.reporter {
            Reporter::Destination => format!(
                "nothing listens on {} port {} at {}, or its firewall rejects it (icmp-port-unreachable)",
                proto_name(f.protocol),
                f.server.1,
                e.from
            ),
            Reporter::OnTheWay => format!(
                "{at} refused to forward it: a firewall REJECT there (icmp-port-unreachable, REJECT's \
                 default); the client sees ECONNREFUSED \"Connection refused\""
            ),
        },
        (false, 3, 13) => firewall("icmp-admin-prohibited"),
        (false, 3, 10) => firewall("icmp-host-prohibited"),
        (false, 3, 9) => firewall("icmp-net-prohibited"),
        (false, 3, 0) => format!("{at} has no route to the destination network (or a REJECT with icmp-net-unreachable)"),
        (false, 3, 1) => format!(
            "{at} cannot reach the host: ARP got no answer on its link, no route, or a REJECT with icmp-host-unreachable"
        ),
        (false, 3, 2) => firewall("icmp-proto-unreachable") + ", or the protocol is not supported there",
        (false, 3, 4) | (true, 2, _) => format!(
            "path MTU: the packet is too big for the next link at {} and may not be fragmented; \
             connections stall if these errors are filtered",
            e.from
        ),
        (false, 11, _) | (true, 3, _) => format!(
            "the TTL ran out at {}: a routing loop, or the sender's TTL is too small (traceroute)",
            e.from
        ),
        (true, 1, 0) => format!("{at} has no route to the destination (or a REJECT with icmp6-no-route)"),
        (true, 1, 1) => firewall("icmp6-adm-prohibited") + "; the client sees EACCES \"Permission denied\"",
        (true, 1, 3) => format!(
            "address unreachable: neighbour discovery for {} failed at {} (nothing answers on that \
             link), or a REJECT with icmp6-addr-unreachable",
            f.server.0, e.from
        ),
        (true, 1, 5) => format!("{at}: the source address failed an ingress/egress policy"),
        (true, 1, 6) => format!("{at} has a reject route to the destination"),
        (_, t, c) => format!("{at} answered with ICMP type {t} code {c}"),
    }
}

fn icmp_name(v: &IcmpVerdict) -> String {
    let e = &v.error;
    let kind = if e.v6 {
        ResponseKind::Icmpv6 {
            icmp_type: e.icmp_type,
            code: e.code,
        }
    } else {
        ResponseKind::Icmp {
            icmp_type: e.icmp_type,
            code: e.code,
        }
    };
    words::response_kind(kind)
}

fn alert_short(a: &Alert) -> String {
    match a.content {
        AlertContent::Clear { level, description } => format!(
            "{} {}",
            if level == 2 { "fatal" } else { "warning" },
            names::alert(description).map_or(description.to_string(), str::to_string)
        ),
        AlertContent::Encrypted => "encrypted alert".to_string(),
        AlertContent::LikelyEncrypted => "likely encrypted alert".to_string(),
    }
}

fn alert_long(a: &Alert) -> String {
    match a.content {
        AlertContent::Clear { level, description } => format!(
            "{} alert {} ({description})",
            match level {
                2 => "a fatal",
                1 => "a warning",
                _ => "an",
            },
            names::alert(description).unwrap_or("unknown")
        ),
        AlertContent::Encrypted => {
            "an encrypted alert (sent after its ChangeCipherSpec: unreadable)".to_string()
        }
        AlertContent::LikelyEncrypted => {
            "a last record of exactly an encrypted alert's size (TLS 1.3: unreadable)".to_string()
        }
    }
}

fn handshake_stage(t: &TlsSummary) -> String {
    let mut seen = Vec::new();
    if t.client_hello.is_some() {
        seen.push("ClientHello");
    }
    if t.server_hello.is_some() {
        seen.push("ServerHello");
    }
    if t.certificate_request.is_some() {
        seen.push("CertificateRequest");
    }
    if t.certificates.iter().any(|c| c.sender == Side::Client) {
        seen.push("the client's Certificate");
    }
    if seen.is_empty() {
        String::new()
    } else {
        format!(" after {}", seen.join(", "))
    }
}

fn alert_meaning(a: &Alert, t: Option<&TlsSummary>) -> String {
    let sender = side_name(a.sender);
    let peer = side_name(match a.sender {
        Side::Client => Side::Server,
        Side::Server => Side::Client,
    });
    let peer_cert_issuer = t.and_then(|t| {
        t.certificates
            .iter()
            .find(|c| c.sender != a.sender && c.position == 0)
            .map(|c| c.issuer.clone())
    });
    let description = match a.content {
        AlertContent::Clear { description, .. } => description,
        AlertContent::LikelyEncrypted if a.sender == Side::Server => {
            return "TLS 1.3: the server's only record after the client's finished flight has \
                    exactly an alert's size: it most likely refused that flight, typically a client \
                    certificate from a CA it does not trust (the alert itself is encrypted)"
                .to_string()
        }
        AlertContent::LikelyEncrypted => {
            return "TLS 1.3: the client's first encrypted record has exactly an alert's size: it \
                    most likely refused the server's certificate (the alert itself is encrypted)"
                .to_string()
        }
        AlertContent::Encrypted => {
            return format!(
                "the {sender} ended the handshake or the session with an alert whose contents are \
                 encrypted; a failure right after the {peer}'s certificate or finished message usually \
                 means the {sender} rejected it (e.g. an untrusted client certificate in TLS 1.3); \
                 at the end of a session it is usually close_notify"
            )
        }
    };
    match names::alert(description) {
        Some("unknown_ca") => format!(
            "the {sender} does not trust the issuer of the certificate the {peer} sent{}: add that CA \
             to the {sender}'s trust store, or give the {peer} a certificate from a CA the {sender} trusts{}",
            peer_cert_issuer.map_or(String::new(), |i| format!(" ({i})")),
            t.and_then(|t| t.certificate_request.as_ref())
                .filter(|r| !r.ca_names.is_empty())
                .map_or(String::new(), |r| format!(" (it asked for: {})", r.ca_names.join("; ")))
        ),
        Some("handshake_failure") => format!(
            "no common cipher suite or version, or the {sender} required a client certificate that \
             was not sent{}",
            if t.is_some_and(|t| t.certificate_request.is_some()) {
                " (the server did ask for one)"
            } else {
                ""
            }
        ),
        Some("protocol_version") => format!(
            "the {sender} does not accept the version offered{}",
            t.and_then(|t| t.client_hello.as_ref())
                .map_or(String::new(), |h| format!(
                    " (the client offered up to {})",
                    names::version(h.max_version())
                ))
        ),
        Some("bad_certificate") => format!("the {sender} found the {peer}'s certificate corrupt or its signature wrong"),
        Some("unsupported_certificate") => format!("the {sender} does not support the {peer}'s certificate type"),
        Some("certificate_expired") => format!("the {peer}'s certificate has expired (or is not yet valid): check clocks"),
        Some("certificate_revoked") => format!("the {peer}'s certificate was revoked"),
        Some("certificate_unknown") => format!("the {sender} rejected the {peer}'s certificate (name mismatch, usage, policy)"),
        Some("certificate_required") => "the server requires a client certificate and none was sent".to_string(),
        Some("unrecognized_name") => "the server has no certificate or virtual host for the name in the SNI".to_string(),
        Some("decrypt_error") => "a signature or finished-message check failed (wrong key, or an intercepting proxy)".to_string(),
        Some("illegal_parameter") | Some("decode_error") => format!("the {sender} found a malformed handshake field"),
        Some("insufficient_security") => format!("the {peer} offered only ciphers weaker than the {sender} accepts"),
        Some("access_denied") => format!("the {sender} accepted the certificate but denies access"),
        Some("no_application_protocol") => "no ALPN protocol in common (e.g. h2 vs http/1.1)".to_string(),
        Some("internal_error") => format!("the {sender} failed internally (not the {peer}'s fault)"),
        Some("close_notify") => "a normal close".to_string(),
        Some(other) => format!("the {sender} sent {other}"),
        None => format!("alert {description} (not in the registry)"),
    }
}

fn tls_lines(t: &TlsSummary) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(h) = &t.client_hello {
        let versions = if h.supported_versions.is_empty() {
            names::version(h.legacy_version)
        } else {
            h.supported_versions
                .iter()
                .map(|v| names::version(*v))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(format!(
            "ClientHello  versions {versions}; {} cipher suites{}",
            h.cipher_suites.len(),
            h.server_name
                .as_ref()
                .map_or(String::new(), |n| format!("; SNI {n}"))
        ));
    }
    if let Some(h) = &t.server_hello {
        out.push(format!(
            "ServerHello  {}, {}",
            names::version(h.version),
            names::cipher_suite(h.cipher_suite)
                .map_or(format!("cipher {:#06x}", h.cipher_suite), str::to_string)
        ));
    }
    for c in &t.certificates {
        out.push(format!(
            "Certificate  from the {} #{}: subject {}; issuer {}",
            side_name(c.sender),
            c.position,
            c.subject,
            c.issuer
        ));
    }
    if let Some(r) = &t.certificate_request {
        out.push(if r.ca_names.is_empty() {
            "CertificateRequest  any CA the server trusts".to_string()
        } else {
            format!("CertificateRequest  CAs: {}", r.ca_names.join("; "))
        });
    }
    for a in &t.alerts {
        out.push(format!(
            "Alert  from the {}: {} (frame {})",
            side_name(a.sender),
            alert_short(a),
            a.frame
        ));
    }
    if t.gap {
        out.push("(segments missing from the capture: the rest was not read)".to_string());
    }
    out
}

fn reading_notes(an: &CaptureAnalysis) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(e) = &an.stopped_by {
        out.push(format!("reading stopped {e}; what came before is analysed"));
    }
    if let Some(at) = an.read.truncated_at {
        out.push(format!(
            "the file ends inside a record at byte {at} (cut short)"
        ));
    }
    let p = &an.packets;
    if p.malformed > 0 {
        out.push(format!(
            "{} malformed frame{} skipped",
            p.malformed,
            plural(p.malformed)
        ));
    }
    if p.unsupported_link > 0 {
        out.push(format!(
            "{} frame{} of an unsupported link type skipped",
            p.unsupported_link,
            plural(p.unsupported_link)
        ));
    }
    if an.read.skipped_packets > 0 {
        out.push(format!(
            "{} packet block{} skipped (too large, or an undescribed interface)",
            an.read.skipped_packets,
            plural(an.read.skipped_packets)
        ));
    }
    if an.table.evicted > 0 {
        out.push(format!(
            "{} flow{} classified early to keep memory bounded (idle the longest)",
            an.table.evicted,
            plural(an.table.evicted)
        ));
    }
    out
}

fn format_name(an: &CaptureAnalysis) -> &'static str {
    match an.format {
        evidence::pcap::Format::Pcap => "pcap",
        evidence::pcap::Format::Pcapng => "pcapng",
    }
}

fn duration(an: &CaptureAnalysis) -> String {
    match (an.first_ts, an.last_ts) {
        (Some(a), Some(b)) if b > a => format!(" over {} s", secs(b - a)),
        _ => String::new(),
    }
}

/// "0 hops from the capture point (its sender is on the captured link)".
fn distance(hops: u8) -> String {
    if hops == 0 {
        "0 hops from the capture point (sent from the captured link itself)".to_string()
    } else {
        format!(
            "{hops} hop{} from the capture point",
            plural(u64::from(hops))
        )
    }
}

fn secs(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e9)
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn side_name(s: Side) -> &'static str {
    match s {
        Side::Client => "client",
        Side::Server => "server",
    }
}

/// `tcp`, `udp`, `icmp`... or `proto N`.
pub fn proto_name(p: u8) -> String {
    match model::packet::IpProto::from_number(p) {
        model::packet::IpProto::Other(n) => format!("proto {n}"),
        known => known.to_string(),
    }
}

fn addr_port(a: IpAddr, port: Option<u16>) -> String {
    words::addr_port(a, port)
}

/// An endpoint as the flow's protocol shows it (ports for TCP/UDP, the echo id for ICMP).
fn endpoint(e: Endpoint, f: &Finding) -> String {
    match f.protocol {
        1 | 58 if e.1 != 0 => format!("{} (id {})", e.0, e.1),
        1 | 58 => e.0.to_string(),
        _ if f.from_quote && e.1 == 0 => e.0.to_string(),
        _ => addr_port(e.0, Some(e.1)),
    }
}

// ---- JSON ------------------------------------------------------------------------------

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
    pub total: u64,
    pub failed: usize,
    pub suspicious: usize,
    pub ok: u64,
    /// Classified early to bound memory.
    pub evicted: u64,
    /// Findings counted but not listed.
    pub not_listed: u64,
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
    /// `tls_alert`, `reset`.
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
    pub tls: Option<TlsJson>,
    /// Only an ICMP error quoting the flow was captured.
    pub from_quote: bool,
    /// The first packet simulated on the given host; `null` without `--rules`/`--host`.
    pub simulation: Option<SimulationJson>,
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
    /// The full simulation report (the schema of `whyblocked --json`).
    pub report: json::Report,
}

/// The JSON value of a capture diagnosis.
pub fn capture_json(a: &CaptureAnswer<'_>) -> CaptureJson {
    let an = a.analysis;
    let failed = an
        .findings
        .iter()
        .filter(|f| f.symptom.is_failure())
        .count();
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
            failed,
            suspicious: an.findings.len() - failed,
            ok: an.ok_flows,
            evicted: an.table.evicted,
            not_listed: an.findings_not_kept,
        },
        findings: an
            .findings
            .iter()
            .enumerate()
            .map(|(i, f)| {
                finding_json(f, a.simulations.findings.get(i).and_then(|s| s.as_ref()), a)
            })
            .collect(),
        fine: an
            .fine
            .iter()
            .enumerate()
            .map(|(i, f)| FineJson {
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
                simulation: a
                    .simulations
                    .fine
                    .get(i)
                    .and_then(|s| s.as_ref())
                    .map(|s| simulation_json(s, a)),
            })
            .collect(),
        notes,
    }
}

/// Writes the JSON diagnosis.
pub fn render_json<W: Write>(w: &mut W, a: &CaptureAnswer<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &capture_json(a))?;
    writeln!(w)
}

fn ep(e: Endpoint) -> EndpointJson {
    EndpointJson {
        address: e.0.to_string(),
        port: e.1,
    }
}

fn finding_json(f: &Finding, sim: Option<&Simulated>, a: &CaptureAnswer<'_>) -> FindingJson {
    let answered = match &f.symptom {
        Symptom::SynUnanswered { .. } | Symptom::EchoUnanswered { .. } => None,
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
    };
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
        seen: summary(f, a.host),
        means: meaning(f),
        answered_by: answered,
        syns: match &f.symptom {
            Symptom::SynUnanswered { syns, .. } => Some(*syns),
            _ => None,
        },
        icmp: match &f.symptom {
            Symptom::IcmpError(v) => Some(IcmpJson {
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
            }),
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
        tls: f.tls.as_ref().map(tls_json),
        from_quote: f.from_quote,
        simulation: sim.map(|s| simulation_json(s, a)),
    }
}

fn simulation_json(s: &Simulated, a: &CaptureAnswer<'_>) -> SimulationJson {
    SimulationJson {
        placement: placement(&s.placement),
        report: json::report(&Answer {
            ruleset: a.ruleset,
            host: a.host,
            outcome: &s.outcome,
            facts: &s.facts,
            fix: None,
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
