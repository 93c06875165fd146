//! A whole firewall log, streamed, grouped into flows.
//!
//! Each line is unwrapped (the private `wrapper`); a line whose message has no `IN=` field is
//! not a firewall line and is only counted (a syslog file holds much else). A firewall line
//! that does not parse is counted as malformed and the first few are kept with their line
//! number; it never stops the scan.
//!
//! Lines are grouped into [`Flow`]s by [`FlowKey`]: the log prefix, the interfaces (the
//! direction), the protocol, the addresses, and the ports (ICMP: type and code). Memory is
//! bounded by the number of distinct flows (at most [`ScanOptions::max_flows`]; lines of
//! further flows are counted in [`LogScan::unmatched`]), not by the size of the file.

use crate::log_line::{self, LogRecord};
use crate::wrapper::{self, Stamp};
use frontends::ParseError;
use model::packet::{IpProto, TcpFlags};
use model::{SourceFile, L4};
use std::collections::HashMap;
use std::io::{self, BufRead};
use std::net::IpAddr;
use std::sync::Arc;

/// What makes two log lines the same flow.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub prefix: String,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub proto: IpProto,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Ports for TCP/UDP/SCTP; ICMP type and code for ICMP; `(0, 0)` otherwise.
    pub ports: (u16, u16),
}

impl FlowKey {
    pub fn of(record: &LogRecord) -> FlowKey {
        let p = &record.packet;
        let ports = match p.l4 {
            L4::Icmp {
                icmp_type, code, ..
            }
            | L4::Icmpv6 {
                icmp_type, code, ..
            } => (u16::from(icmp_type), u16::from(code)),
            l4 => l4.ports().unwrap_or((0, 0)),
        };
        FlowKey {
            prefix: record.prefix.clone(),
            iif: record.iif.clone(),
            oif: record.oif.clone(),
            proto: p.proto(),
            src: p.src,
            dst: p.dst,
            ports,
        }
    }
}

/// One flow: the lines that share a [`FlowKey`].
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub key: FlowKey,
    /// The first line of the flow, parsed: the packet to simulate.
    pub first: LogRecord,
    pub count: u64,
    /// Timestamps of the first and last line, when the wrapper had them.
    pub first_seen: Option<Stamp>,
    pub last_seen: Option<Stamp>,
    /// 1-based line numbers of the first and last line.
    pub first_line: u64,
    pub last_line: u64,
    /// Every TCP flag seen on the flow's lines (a SYN retried, or mid-stream ACKs).
    pub tcp_flags_seen: TcpFlags,
}

/// A firewall line that did not parse.
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    /// 1-based line number in the file.
    pub line: u64,
    /// The error; its source is the line alone, so render `file:LINE:col` with `line`.
    pub error: ParseError,
}

/// Knobs of a scan.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// At most this many distinct flows are kept.
    pub max_flows: usize,
    /// At most this many malformed lines are kept (all are counted).
    pub max_malformed: usize,
}

impl Default for ScanOptions {
    fn default() -> ScanOptions {
        ScanOptions {
            max_flows: 100_000,
            max_malformed: 5,
        }
    }
}

/// The result of a scan.
#[derive(Debug, Clone, Default)]
pub struct LogScan {
    /// Flows in order of their first line.
    pub flows: Vec<Flow>,
    pub lines: u64,
    pub bytes: u64,
    /// Lines read as firewall log lines.
    pub records: u64,
    /// Lines without `IN=`: not from a firewall rule.
    pub other: u64,
    pub malformed: u64,
    pub malformed_examples: Vec<Malformed>,
    /// Firewall lines of flows beyond [`ScanOptions::max_flows`]: counted, not grouped.
    pub unmatched: u64,
}

/// Reads a log from `reader`, named `name` in errors. `progress` is called with the bytes read
/// so far every few thousand lines (for a progress bar); it must not fail.
pub fn scan<R: BufRead>(
    name: &str,
    mut reader: R,
    options: &ScanOptions,
    progress: &mut dyn FnMut(u64),
) -> io::Result<LogScan> {
    let mut scan = LogScan::default();
    let mut index: HashMap<FlowKey, usize> = HashMap::new();
    let name: Arc<str> = Arc::from(name);
    let mut buf = Vec::with_capacity(512);
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        scan.lines += 1;
        scan.bytes += n as u64;
        if scan.lines % 8192 == 0 {
            progress(scan.bytes);
        }
        // Bytes that are not UTF-8 (a Latin-1 log prefix) are kept escaped, as the rules'.
        let text = model::source::DecodedText::lossy(&buf).text;
        let line = text.trim_end_matches(['\n', '\r']);
        if !has_in_field(line) {
            scan.other += 1;
            continue;
        }
        match read_line(&name, line) {
            Some(Ok((record, stamp))) => {
                scan.records += 1;
                add(&mut scan, &mut index, record, stamp, options);
            }
            Some(Err(error)) => {
                scan.malformed += 1;
                if scan.malformed_examples.len() < options.max_malformed {
                    scan.malformed_examples.push(Malformed {
                        line: scan.lines,
                        error,
                    });
                }
            }
            None => scan.other += 1,
        }
    }
    progress(scan.bytes);
    Ok(scan)
}

/// A cheap test before any parsing: most lines of a syslog file are not firewall lines.
fn has_in_field(line: &str) -> bool {
    line.contains("IN=")
}

/// One line: `None` when, once unwrapped, it is not a firewall line after all.
fn read_line(
    name: &Arc<str>,
    line: &str,
) -> Option<Result<(LogRecord, Option<Stamp>), ParseError>> {
    let u = wrapper::unwrap(line);
    let stamp = u.stamp.clone();
    let (source, base) = match u.offset {
        Some(at) => (SourceFile::new(name.clone(), line.to_string()), at),
        None => (SourceFile::new(name.clone(), u.message.to_string()), 0),
    };
    let message = &source.text[base..];
    if !message.contains("IN=") {
        return None;
    }
    // Kernel messages that mention IN= but are not from LOG (e.g. a TRACE line) are read by
    // their own parsers.
    if message.starts_with("TRACE: ") {
        return None;
    }
    Some(log_line::parse_message(&source, base, message).map(|r| (r, stamp)))
}

fn add(
    scan: &mut LogScan,
    index: &mut HashMap<FlowKey, usize>,
    record: LogRecord,
    stamp: Option<Stamp>,
    options: &ScanOptions,
) {
    let key = FlowKey::of(&record);
    let flags = match record.packet.l4 {
        L4::Tcp { flags, .. } => flags,
        _ => TcpFlags(0),
    };
    match index.get(&key) {
        Some(&i) => {
            let f = &mut scan.flows[i];
            f.count += 1;
            f.last_line = scan.lines;
            if stamp.is_some() {
                f.last_seen = stamp;
            }
            f.tcp_flags_seen = f.tcp_flags_seen.union(flags);
        }
        None if scan.flows.len() < options.max_flows => {
            index.insert(key.clone(), scan.flows.len());
            scan.flows.push(Flow {
                key,
                first: record,
                count: 1,
                first_seen: stamp.clone(),
                last_seen: stamp,
                first_line: scan.lines,
                last_line: scan.lines,
                tcp_flags_seen: flags,
            });
        }
        None => scan.unmatched += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYN: &str = "Nov 22 10:00:00 router kernel: [ 100.000000] [UFW BLOCK] IN=tap0 OUT=eno1 MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=10.1.1.2 DST=10.1.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0";

    fn run(text: &str) -> LogScan {
        scan(
            "ufw.log",
            text.as_bytes(),
            &ScanOptions::default(),
            &mut |_| {},
        )
        .unwrap()
    }

    #[test]
    fn retransmitted_syn_is_one_flow_with_first_and_last_seen() {
        let later = SYN
            .replace("Nov 22 10:00:00", "Nov 22 10:00:03")
            .replace("ID=1", "ID=2");
        let s = run(&format!("{SYN}\n{later}\n"));
        assert_eq!((s.lines, s.records, s.flows.len()), (2, 2, 1));
        let f = &s.flows[0];
        assert_eq!(f.count, 2);
        assert_eq!(
            f.first_seen.as_ref().unwrap().to_string(),
            "Nov 22 10:00:00"
        );
        assert_eq!(f.last_seen.as_ref().unwrap().to_string(), "Nov 22 10:00:03");
        assert_eq!((f.first_line, f.last_line), (1, 2));
        assert_eq!(f.key.prefix, "[UFW BLOCK] ");
    }

    #[test]
    fn other_syslog_lines_are_counted_not_malformed() {
        let s = run(&format!(
            "Nov 22 10:00:00 router sshd[1]: Accepted key\n{SYN}\n\n"
        ));
        assert_eq!((s.other, s.records, s.malformed), (2, 1, 0));
    }

    #[test]
    fn malformed_lines_are_kept_with_their_line_number() {
        let bad = SYN.replace("SRC=10.1.1.2", "SRC=10.1.1.999");
        let s = run(&format!("{SYN}\n{bad}\n"));
        assert_eq!((s.records, s.malformed), (1, 1));
        let m = &s.malformed_examples[0];
        assert_eq!(m.line, 2);
        assert!(m.error.to_string().contains("10.1.1.999"), "{}", m.error);
    }

    #[test]
    fn different_source_ports_are_different_flows() {
        let other = SYN.replace("SPT=1050", "SPT=1051");
        let s = run(&format!("{SYN}\n{other}\n{SYN}\n"));
        assert_eq!(s.flows.len(), 2);
        assert_eq!(s.flows[0].count, 2);
    }

    #[test]
    fn flows_beyond_the_limit_are_counted() {
        let other = SYN.replace("SPT=1050", "SPT=1051");
        let s = scan(
            "x",
            format!("{SYN}\n{other}\n").as_bytes(),
            &ScanOptions {
                max_flows: 1,
                max_malformed: 0,
            },
            &mut |_| {},
        )
        .unwrap();
        assert_eq!((s.flows.len(), s.unmatched), (1, 1));
    }

    #[test]
    fn journal_json_lines_are_read() {
        let s = run(
            r#"{"__REALTIME_TIMESTAMP":"1732269600000000","MESSAGE":"[UFW BLOCK] IN=tap0 OUT=eno1 SRC=10.1.1.2 DST=10.1.0.2 LEN=60 TTL=63 ID=1 PROTO=TCP SPT=1050 DPT=2175 SYN"}"#,
        );
        assert_eq!(s.flows.len(), 1);
        assert_eq!(
            s.flows[0].first_seen.as_ref().unwrap().to_string(),
            "2024-11-22T10:00:00.000000Z"
        );
    }

    #[test]
    fn invalid_utf8_and_garbage_never_panic() {
        let mut bytes = b"IN=\xff\xfe SRC=1\n".to_vec();
        bytes.extend_from_slice(b"\x00\x01 IN= [SRC=\n{\"MESSAGE\":\"IN=\"}\n");
        let s = scan("x", &bytes[..], &ScanOptions::default(), &mut |_| {}).unwrap();
        assert_eq!(s.lines, 3);
        assert_eq!(s.records, 0);
    }

    #[test]
    fn progress_reports_every_byte() {
        let mut seen = 0;
        let text = format!("{SYN}\n");
        scan("x", text.as_bytes(), &ScanOptions::default(), &mut |b| {
            seen = b
        })
        .unwrap();
        assert_eq!(seen, text.len() as u64);
    }
}
