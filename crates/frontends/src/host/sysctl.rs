//! `sysctl -a` output: `net.ipv4.ip_forward = 1` lines into [`Sysctls`].
//!
//! Accepted: `key = value` and `key=value` (as in `/etc/sysctl.conf`), blank lines, comments
//! starting with `#` or `;`, and `sysctl: ...` messages (stderr mixed in with `2>&1`), which
//! are skipped. Keys are kept as printed: an interface with a dot in its name appears with a
//! slash (`net.ipv4.conf.eth0/100.rp_filter`), as sysctl prints it. Values keep their inner
//! whitespace (`ip_local_port_range = 32768\t60999`); a later duplicate key wins.

use crate::lines::{lines, Line};
use model::diag::{ErrorKind, ParseError};
use model::host::Sysctls;
use model::{SourceFile, Span};

/// Parses `sysctl -a` text.
pub fn parse(source: &SourceFile) -> Result<Sysctls, ParseError> {
    let mut out = Sysctls::default();
    for Line {
        start, text: line, ..
    } in lines(&source.text)
    {
        let body = line.trim_start();
        if body.is_empty()
            || body.starts_with('#')
            || body.starts_with(';')
            || body.starts_with("sysctl: ")
        {
            continue;
        }
        let indent = line.len() - body.len();
        let Some(eq) = body.find('=') else {
            let span = Span::new(start + indent, start + line.len());
            return Err(ParseError::expected(source, span, "`key = value`", body));
        };
        let key = body[..eq].trim_end();
        if key.is_empty() || key.contains(char::is_whitespace) {
            let span = Span::new(start + indent, start + indent + eq.max(1));
            return Err(ParseError::new(
                source,
                span,
                ErrorKind::InvalidValue {
                    what: "sysctl name".into(),
                    value: key.to_string(),
                    reason: "expected a dotted name such as net.ipv4.ip_forward".into(),
                },
            ));
        }
        let value = body[eq + 1..].trim();
        out.0.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(host: &str) -> SourceFile {
        let path = format!(
            "{}/tests/fixtures/host/{host}/sysctl.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        SourceFile::new("sysctl.txt", std::fs::read_to_string(&path).unwrap())
    }

    #[test]
    fn router_forwards_with_loose_rp_filter() {
        let s = parse(&fixture("router")).unwrap();
        assert_eq!(s.get("net.ipv4.ip_forward"), Some("1"));
        assert_eq!(s.int_or("net.ipv4.conf.tap0.rp_filter", 0), 2);
        assert_eq!(s.int_or("net.ipv4.conf.lo.rp_filter", 9), 0);
        assert_eq!(s.get("net.ipv6.conf.all.forwarding"), Some("1"));
        assert_eq!(s.get("net.netfilter.nf_conntrack_tcp_loose"), Some("1"));
        assert_eq!(s.get("net.ipv4.ip_local_port_range"), Some("32768\t60999"));
        assert!(!s.is_set("#"));
    }

    #[test]
    fn loopback_host_does_not_forward() {
        let s = parse(&fixture("loopback")).unwrap();
        assert_eq!(s.get("net.ipv4.ip_forward"), Some("0"));
    }

    #[test]
    fn conf_style_comments_and_no_spaces() {
        let s = parse(&SourceFile::new("s", "; comment\nnet.ipv4.ip_forward=1\n\n  # x\nkernel.hostname = \nsysctl: permission denied on key 'x'\r\n")).unwrap();
        assert_eq!(s.get("net.ipv4.ip_forward"), Some("1"));
        assert_eq!(s.get("kernel.hostname"), Some(""));
        assert_eq!(s.0.len(), 2);
    }

    #[test]
    fn later_duplicate_wins() {
        let s = parse(&SourceFile::new("s", "a.b = 1\na.b = 2\n")).unwrap();
        assert_eq!(s.get("a.b"), Some("2"));
    }

    #[test]
    fn line_without_equals_is_an_error_at_its_line() {
        let text = "net.ipv4.ip_forward = 1\n  net.ipv4.conf.all.rp_filter 2\n";
        let e = parse(&SourceFile::new("sysctl.txt", text)).unwrap_err();
        assert_eq!(e.line_col(), (2, 3));
        assert_eq!(
            &text[e.span.start as usize..e.span.end as usize],
            "net.ipv4.conf.all.rp_filter 2"
        );
    }

    #[test]
    fn empty_key_is_an_error() {
        let e = parse(&SourceFile::new("sysctl.txt", "a = 1\n= 2")).unwrap_err();
        assert_eq!(e.line_col(), (2, 1));
        assert!(matches!(e.kind, ErrorKind::InvalidValue { .. }));
    }

    #[test]
    fn key_with_spaces_is_an_error() {
        let e = parse(&SourceFile::new("sysctl.txt", "net ipv4 = 1")).unwrap_err();
        assert_eq!((e.span.start, e.span.end), (0, 9));
    }
}
