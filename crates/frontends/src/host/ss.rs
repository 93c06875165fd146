//! `ss -ltnuH` / `ss -ltnupH` listening sockets into [`Socket`]s.
//!
//! Columns: `[Netid] State Recv-Q Send-Q Local Peer [Process]`. The header line (when `-H`
//! was left out) is skipped. Without a `Netid` column (`ss -ltnH`, one protocol) the state
//! says it: `LISTEN` is TCP, `UNCONN` is UDP. Rows in other states (`ESTAB`, from `ss -tan`)
//! and other socket kinds (`u_str`, `raw`, ...) are skipped: they are not listeners.
//!
//! Local addresses: `0.0.0.0:22`, `[::]:22` (IPv6 only), `*:22` (IPv6 wildcard that also
//! takes IPv4), `127.0.0.53%lo:53` (bound to a device), `[fe80::1]%eth0:546`. Ports must be
//! numeric: capture with `-n`.

use crate::lines::{lines, words};
use model::diag::{ErrorKind, ParseError};
use model::host::Socket;
use model::packet::IpProto;
use model::{SourceFile, Span};
use std::net::{IpAddr, Ipv6Addr};

/// Parses `ss -ltnu[p]` output, with or without its header line.
pub fn parse(source: &SourceFile) -> Result<Vec<Socket>, ParseError> {
    let mut out = Vec::new();
    for line in lines(&source.text) {
        if let Some(socket) = parse_line(source, line.text, line.start)? {
            out.push(socket);
        }
    }
    Ok(out)
}

const STATES: [&str; 12] = [
    "LISTEN",
    "UNCONN",
    "ESTAB",
    "SYN-SENT",
    "SYN-RECV",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
    "CLOSE-WAIT",
    "LAST-ACK",
    "CLOSING",
    "UNKNOWN",
];

fn parse_line(source: &SourceFile, line: &str, base: usize) -> Result<Option<Socket>, ParseError> {
    let w = words(line);
    let Some(&(first_at, first)) = w.first() else {
        return Ok(None);
    };
    if first == "Netid" || first == "State" || first.starts_with('#') {
        return Ok(None);
    }
    let (proto, state_index) = if STATES.contains(&first) {
        match first {
            "LISTEN" => (IpProto::Tcp, 0),
            "UNCONN" => (IpProto::Udp, 0),
            _ => return Ok(None),
        }
    } else {
        let proto = match first {
            "tcp" => IpProto::Tcp,
            "udp" => IpProto::Udp,
            "sctp" => IpProto::Sctp,
            // mptcp, raw, u_str, p_raw, ...: not a TCP/UDP listener to deliver to.
            _ => return Ok(None),
        };
        (proto, 1)
    };
    let line_end = base + line.len();
    let Some(&(state_at, state)) = w.get(state_index) else {
        return Err(ParseError::expected(
            source,
            Span::new(line_end, line_end),
            "a socket state (LISTEN, UNCONN)",
            "",
        ));
    };
    if !STATES.contains(&state) {
        let span = Span::new(base + state_at, base + state_at + state.len());
        return Err(ParseError::expected(
            source,
            span,
            "a socket state (LISTEN, UNCONN)",
            state,
        ));
    }
    if state != "LISTEN" && state != "UNCONN" {
        return Ok(None);
    }
    // Recv-Q, Send-Q, then the local address.
    for k in 1..=2 {
        match w.get(state_index + k) {
            Some(&(at, q)) if q.parse::<u64>().is_err() => {
                let span = Span::new(base + at, base + at + q.len());
                return Err(ParseError::expected(
                    source,
                    span,
                    "a queue length (Recv-Q/Send-Q)",
                    q,
                ));
            }
            Some(_) => {}
            None => {
                return Err(ParseError::expected(
                    source,
                    Span::new(line_end, line_end),
                    "a queue length (Recv-Q/Send-Q)",
                    "",
                ))
            }
        }
    }
    let Some(&(local_at, local)) = w.get(state_index + 3) else {
        return Err(ParseError::expected(
            source,
            Span::new(line_end, line_end),
            "the local address:port",
            "",
        ));
    };
    let local_at = base + local_at;
    let (addr, port, device, dual_stack) = parse_local(source, local, local_at)?;
    // The process column begins at `users:(` and may contain spaces in a process name.
    let process = line[first_at..]
        .find("users:(")
        .map(|i| line[first_at + i..].trim_end().to_string());
    Ok(Some(Socket {
        proto,
        addr,
        port,
        device,
        process,
        dual_stack,
    }))
}

type Local = (IpAddr, u16, Option<String>, bool);

fn parse_local(source: &SourceFile, word: &str, at: usize) -> Result<Local, ParseError> {
    let span_of = |from: usize, to: usize| Span::new(at + from, at + to);
    let Some(colon) = word.rfind(':') else {
        return Err(ParseError::expected(
            source,
            span_of(0, word.len()),
            "ADDRESS:PORT",
            word,
        ));
    };
    let (host, port_text) = (&word[..colon], &word[colon + 1..]);
    let port = port_text.parse::<u16>().map_err(|_| {
        ParseError::new(
            source,
            span_of(colon + 1, word.len()),
            ErrorKind::InvalidValue {
                what: "port".into(),
                value: port_text.into(),
                reason: "expected a number 0-65535 (capture with `ss -n`)".into(),
            },
        )
    })?;
    let (addr_text, device) = match host.find('%') {
        Some(p) if !host[..p].contains('[') || host[..p].ends_with(']') => {
            (&host[..p], Some(host[p + 1..].to_string()))
        }
        _ => (host, None),
    };
    let bad = |reason: &str| {
        ParseError::new(
            source,
            span_of(0, addr_text.len()),
            ErrorKind::InvalidValue {
                what: "address".into(),
                value: addr_text.into(),
                reason: reason.into(),
            },
        )
    };
    if addr_text == "*" {
        return Ok((IpAddr::V6(Ipv6Addr::UNSPECIFIED), port, device, true));
    }
    let inner = match addr_text.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']').ok_or_else(|| bad("unclosed `[`"))?,
        None => addr_text,
    };
    let addr: IpAddr = inner
        .parse()
        .map_err(|_| bad("not an IP address (capture with `ss -n`)"))?;
    Ok((addr, port, device, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(host: &str) -> SourceFile {
        let path = format!(
            "{}/tests/fixtures/host/{host}/ss.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        SourceFile::new("ss.txt", std::fs::read_to_string(&path).unwrap())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn router_sshd_on_v4_and_v6() {
        let s = parse(&fixture("router")).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].proto, s[0].addr, s[0].port, s[0].dual_stack),
            (IpProto::Tcp, ip("0.0.0.0"), 22, false)
        );
        assert_eq!(
            s[0].process.as_deref(),
            Some("users:((\"sshd\",pid=9349,fd=3))")
        );
        assert_eq!(
            (s[1].addr, s[1].port, s[1].dual_stack),
            (ip("::"), 22, false)
        );
    }

    #[test]
    fn loopback_postgres_on_localhost_only() {
        let s = parse(&fixture("loopback")).unwrap();
        let pg = s.iter().find(|s| s.port == 5432).unwrap();
        assert_eq!(pg.addr, ip("127.0.0.1"));
        assert!(pg.process.as_deref().unwrap().contains("postgres"));
    }

    #[test]
    fn with_header_line_and_udp() {
        // `ss -ltnup` in namespace wbhrouter (the header's last two columns run together).
        let text = "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess                        \n\
udp   UNCONN 0      0           10.1.1.1:53        0.0.0.0:*    users:((\"sshd\",pid=9349,fd=5))\n\
tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:((\"sshd\",pid=9349,fd=3))\n";
        let s = parse(&SourceFile::new("ss.txt", text)).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].proto, s[0].addr, s[0].port),
            (IpProto::Udp, ip("10.1.1.1"), 53)
        );
    }

    #[test]
    fn without_netid_column_state_tells_protocol() {
        let s = parse(&SourceFile::new(
            "ss.txt",
            "LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\nUNCONN 0 0 0.0.0.0:68 0.0.0.0:*\n",
        ))
        .unwrap();
        assert_eq!((s[0].proto, s[1].proto), (IpProto::Tcp, IpProto::Udp));
    }

    #[test]
    fn dual_stack_device_bound_and_link_local() {
        let text = "tcp LISTEN 0 4096 *:80 *:*\n\
udp UNCONN 0 0 127.0.0.53%lo:53 0.0.0.0:*\n\
udp UNCONN 0 0 [fe80::5054:ff:fe12:3456]%eth0:546 [::]:*\n\
tcp LISTEN 0 10 [::ffff:127.0.0.1]:631 [::]:* users:((\"my daemon\",pid=1,fd=3))\n";
        let s = parse(&SourceFile::new("ss.txt", text)).unwrap();
        assert_eq!(
            (s[0].addr, s[0].port, s[0].dual_stack),
            (ip("::"), 80, true)
        );
        assert_eq!(
            (s[1].addr, s[1].device.as_deref()),
            (ip("127.0.0.53"), Some("lo"))
        );
        assert_eq!(
            (s[2].addr, s[2].device.as_deref(), s[2].port),
            (ip("fe80::5054:ff:fe12:3456"), Some("eth0"), 546)
        );
        assert_eq!(
            s[3].process.as_deref(),
            Some("users:((\"my daemon\",pid=1,fd=3))")
        );
    }

    #[test]
    fn established_and_unix_rows_are_skipped() {
        let text =
            "tcp ESTAB 0 0 10.0.0.1:22 10.0.0.2:5000\nu_str LISTEN 0 4096 /run/x.sock 123 * 0\n";
        assert!(parse(&SourceFile::new("ss.txt", text)).unwrap().is_empty());
    }

    #[test]
    fn service_name_port_is_an_error_at_the_port() {
        let text =
            "tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\ntcp LISTEN 0 128 0.0.0.0:ssh 0.0.0.0:*\n";
        let e = parse(&SourceFile::new("ss.txt", text)).unwrap_err();
        assert_eq!(e.line_col(), (2, 26));
        assert_eq!(&text[e.span.start as usize..e.span.end as usize], "ssh");
    }

    #[test]
    fn host_name_is_an_error_at_the_address() {
        let text = "tcp LISTEN 0 128 localhost:5432 0.0.0.0:*";
        let e = parse(&SourceFile::new("ss.txt", text)).unwrap_err();
        assert_eq!(
            &text[e.span.start as usize..e.span.end as usize],
            "localhost"
        );
    }

    #[test]
    fn bad_state_is_an_error() {
        let e = parse(&SourceFile::new(
            "ss.txt",
            "tcp LISTENING 0 1 0.0.0.0:1 0.0.0.0:*",
        ))
        .unwrap_err();
        assert_eq!((e.span.start, e.span.end), (4, 13));
    }

    #[test]
    fn truncated_line_is_an_error_at_its_end() {
        let e = parse(&SourceFile::new("ss.txt", "tcp LISTEN 0 128")).unwrap_err();
        assert_eq!((e.span.start, e.span.end), (16, 16));
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "tcp LISTEN 0 0 [:1",
            "tcp LISTEN 0 0 %:1",
            "tcp LISTEN 0 0 [::1]%:80",
            "LISTEN é é é é",
            "tcp LISTEN x",
        ] {
            let _ = parse(&SourceFile::new("ss", t));
        }
    }
}
