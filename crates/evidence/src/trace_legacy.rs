//! iptables-legacy `TRACE:` kernel log lines into [`TracedPacket`]s.
//!
//! The legacy `-j TRACE` target makes `ipt_do_table` log, for every rule a traced packet
//! matches and every chain end it reaches, one kernel line:
//!
//! ```text
//! TRACE: filter:INPUT:rule:3 IN=lan0 OUT= MAC=... SRC=... DST=... PROTO=UDP SPT=40104 DPT=33 LEN=8
//! TRACE: filter:ufw-user-input:return:7 IN=...
//! TRACE: filter:INPUT:policy:12 IN=...
//! ```
//!
//! `rule:N` is the rule's number as `iptables -L --line-numbers` counts it; `return:N` and
//! `policy:N` are one past the chain's last rule. The rest is the packet in the LOG target's
//! format ([`crate::log_line`]), in any log wrapper ([`crate::wrapper`]). There is no trace
//! id: consecutive lines with the same IPv4 id (IPv6 flow label), protocol and source are one
//! packet; a line that starts again at a `raw`/`mangle` `PREROUTING` or `OUTPUT` chain after
//! another chain starts a new one.

use crate::log_line;
use crate::trace::{KernelVerdict, RuleName, StepKind, TraceFile, TracedPacket, Tracer, WalkEvent};
use crate::wrapper;
use frontends::ParseError;
use model::kernel::NfVerdict;
use model::{Family, Packet, SourceFile, Span};

/// Reads a kernel log holding legacy `TRACE:` lines (other lines are counted and skipped).
pub fn parse(name: &str, text: &str) -> TraceFile {
    let mut file = TraceFile::default();
    for (n, line) in text.lines().enumerate() {
        let lineno = n as u64 + 1;
        let u = wrapper::unwrap(line);
        let Some(rest) = u.message.strip_prefix("TRACE: ") else {
            if !line.trim().is_empty() {
                file.other += 1;
            }
            continue;
        };
        let Some((head, fields)) = rest.split_once(' ') else {
            bad(
                &mut file,
                name,
                line,
                lineno,
                "`TABLE:CHAIN:rule|return|policy:N IN=...`",
            );
            continue;
        };
        let parts: Vec<&str> = head.split(':').collect();
        let [table, chain, kind, number] = parts[..] else {
            bad(
                &mut file,
                name,
                line,
                lineno,
                "`TABLE:CHAIN:rule|return|policy:N`",
            );
            continue;
        };
        let Ok(number) = number.parse::<u32>() else {
            bad(
                &mut file,
                name,
                line,
                lineno,
                "a rule number after the last `:`",
            );
            continue;
        };
        let kind = match kind {
            "rule" => StepKind::Rule,
            "return" => StepKind::Return,
            "policy" => StepKind::Policy,
            _ => {
                bad(
                    &mut file,
                    name,
                    line,
                    lineno,
                    "`rule`, `return` or `policy`",
                );
                continue;
            }
        };
        let source = SourceFile::new(name, fields.to_string());
        let packet = match log_line::parse_message(&source, 0, fields) {
            Ok(r) => r.packet,
            Err(e) => {
                file.malformed(lineno, e);
                continue;
            }
        };
        let family = if packet.is_ipv6() {
            Family::Ip6
        } else {
            Family::Ip
        };
        let starts_over = matches!((table, chain), ("raw" | "mangle", "PREROUTING" | "OUTPUT"));
        let same = file.packets.last().is_some_and(|p| {
            same_packet(&p.packet, &packet)
                && !(starts_over && p.steps.last().is_some_and(|s| s.chain != chain))
        });
        let rule = RuleName {
            number: (kind == StepKind::Rule).then_some(number),
            handle: None,
            text: None,
            rejects: false,
            starts_trace: false,
        };
        // Legacy lines carry no verdict: the rule's target says what it did.
        let verdict = match kind {
            StepKind::Return => Some(KernelVerdict::of(NfVerdict::Return)),
            _ => None,
        };
        let step = WalkEvent::traced(
            lineno,
            family,
            (table.to_string(), chain.to_string()),
            kind,
            rule,
            verdict,
            Some(packet.clone()),
        );
        if same {
            if let Some(p) = file.packets.last_mut() {
                p.steps.push(step);
            }
        } else {
            file.packets.push(TracedPacket {
                tracer: Tracer::Legacy,
                id: None,
                packet,
                line: lineno,
                steps: vec![step],
                incomplete: None,
            });
        }
    }
    file
}

fn bad(file: &mut TraceFile, name: &str, line: &str, lineno: u64, what: &str) {
    let source = SourceFile::new(name, line.to_string());
    let e = ParseError::expected(&source, Span::new(0, line.len()), what, line.trim());
    file.malformed(lineno, e);
}

/// The same packet seen at another chain: same tag, protocol and source port (addresses may
/// change with NAT).
fn same_packet(a: &Packet, b: &Packet) -> bool {
    a.id == b.id
        && a.proto() == b.proto()
        && a.l4.ports().map(|p| p.0) == b.l4.ports().map(|p| p.0)
        && a.is_ipv6() == b.is_ipv6()
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: &str = "[ 100.1] TRACE: filter:INPUT:rule:3 IN=lan0 OUT= MAC=02:00:00:00:60:01:02:00:00:00:60:02:08:00 SRC=192.168.60.2 DST=192.168.60.1 LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=7 PROTO=UDP SPT=40104 DPT=33 LEN=8";

    #[test]
    fn rule_number_and_packet() {
        let f = parse("k", L);
        let p = &f.packets[0];
        assert_eq!(
            p.packet.to_string(),
            "udp 192.168.60.2:40104 -> 192.168.60.1:33"
        );
        let s = &p.steps[0];
        assert_eq!(
            (s.table.as_str(), s.chain.as_str(), s.rule.number),
            ("filter", "INPUT", Some(3))
        );
    }

    #[test]
    fn consecutive_lines_of_one_packet_group() {
        let policy = L.replace("rule:3", "policy:9");
        let other = L.replace("ID=7", "ID=8");
        let f = parse("k", &format!("{L}\n{policy}\n{other}\n"));
        assert_eq!(f.packets.len(), 2);
        assert_eq!(f.packets[0].steps[1].kind, StepKind::Policy);
    }

    #[test]
    fn malformed_lines_are_counted() {
        let f = parse("k", "TRACE: filter:INPUT:rule:x IN=a\nTRACE: a:b IN=\nTRACE: filter:INPUT:rule:1 IN=a OUT= SRC=1.1.1.1\nhello\n");
        assert_eq!((f.malformed, f.other, f.packets.len()), (3, 1, 0));
    }
}
