//! A TLS handshake as far as it travelled in clear, and its alerts, in words.

use super::side_name;
use evidence::tls::{names, Alert, AlertContent, Side, TlsSummary};

pub(super) fn alert_short(a: &Alert) -> String {
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

pub(super) fn alert_long(a: &Alert) -> String {
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

pub(super) fn handshake_stage(t: &TlsSummary) -> String {
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

pub(super) fn alert_meaning(a: &Alert, t: Option<&TlsSummary>) -> String {
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

pub(super) fn tls_lines(t: &TlsSummary) -> Vec<String> {
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
