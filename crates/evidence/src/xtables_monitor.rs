//! `xtables-monitor --trace` output into [`TracedPacket`]s.
//!
//! ```text
//! PACKET: 2 1af1f87c IN=lan0 MACSRC=2:0:0:0:60:2 ... SRC=192.168.60.2 DST=192.168.70.10 LEN=40 TOS=0x0 TTL=64 ID=101 DF SPORT=40001 DPORT=22 SYN
//!  TRACE: 2 1af1f87c filter:FORWARD:rule:0x9:ACCEPT  -4 -t filter -A FORWARD -i lan0 -o wan0 -p tcp -m multiport --dports 22,80 -j ACCEPT
//!  TRACE: 2 1af1f87c filter:FORWARD:rule:0xb:JUMP:fwd-user  -4 -t filter -A FORWARD -j fwd-user
//!  TRACE: 2 1af1f87c raw:PREROUTING:policy:ACCEPT
//! ```
//!
//! `2` is the family (`NFPROTO_IPV4`; 10 is IPv6), then the trace id. A `PACKET:` line
//! precedes the events of each hook. `rule:0x9` is the nftables handle; the rule follows in
//! iptables-save form, which is what places it in the user's ruleset. The packet line names
//! no protocol: ports with TCP flag words are TCP, ports alone UDP; a packet without ports
//! (ICMP among others) is marked incomplete rather than guessed.

use crate::trace::{
    parse_verdict, KernelVerdict, RuleName, StepKind, TraceFile, TracedPacket, Tracer, WalkEvent,
};
use frontends::ParseError;
use model::kernel::NfVerdict;
use model::packet::{IpProto, Mac, TcpFlags};
use model::{Family, Packet, SourceFile, Span, L4};
use std::collections::HashMap;
use std::net::IpAddr;

/// Reads a whole `xtables-monitor --trace` output.
pub fn parse(name: &str, text: &str) -> TraceFile {
    let mut file = TraceFile::default();
    // Trace id -> (open packet, its IP id, the header to attach to the next step).
    let mut open: HashMap<u32, (usize, u32, Option<Packet>)> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let lineno = n as u64 + 1;
        let t = line.trim_start();
        let bad = |file: &mut TraceFile, what: &str| {
            let source = SourceFile::new(name, line.to_string());
            let e = ParseError::expected(&source, Span::new(0, line.len()), what, line.trim());
            file.malformed(lineno, e);
        };
        if let Some(rest) = t.strip_prefix("PACKET: ") {
            let Some((id, packet, incomplete)) = packet_line(rest) else {
                bad(&mut file, "`PACKET: FAMILY ID` and `SRC=`/`DST=` fields");
                continue;
            };
            let tag = packet.id;
            match open.get_mut(&id) {
                Some((_, open_tag, pending)) if *open_tag == tag => *pending = Some(packet),
                _ => {
                    open.insert(id, (file.packets.len(), tag, Some(packet.clone())));
                    file.packets.push(TracedPacket {
                        tracer: Tracer::XtablesMonitor,
                        id: Some(id),
                        packet,
                        line: lineno,
                        steps: Vec::new(),
                        incomplete,
                    });
                }
            }
        } else if let Some(rest) = t.strip_prefix("TRACE: ") {
            let Some((id, step)) = trace_line(rest, lineno) else {
                bad(
                    &mut file,
                    "` TRACE: FAMILY ID TABLE:CHAIN:rule|policy|return:...`",
                );
                continue;
            };
            let Some((i, _, pending)) = open.get_mut(&id) else {
                file.orphans += 1;
                continue;
            };
            let mut step = step;
            step.packet = pending.take();
            file.packets[*i].steps.push(step);
        } else if !t.is_empty() {
            file.other += 1;
        }
    }
    file
}

/// `2 1af1f87c IN=... SRC=... DPORT=22 SYN`: the trace id, the packet, and why its headers
/// are incomplete (if they are).
fn packet_line(rest: &str) -> Option<(u32, Packet, Option<&'static str>)> {
    let mut words = rest.split_whitespace();
    let nfproto: u8 = words.next()?.parse().ok()?;
    let id = u32::from_str_radix(words.next()?, 16).ok()?;
    let (mut src, mut dst): (Option<IpAddr>, Option<IpAddr>) = (None, None);
    let (mut iif, mut oif, mut smac, mut dmac) = (None, None, None, None);
    let (mut sport, mut dport, mut flags) = (None, None, TcpFlags(0));
    let (mut ttl, mut len, mut tag, mut mark, mut df) = (None, None, 0u32, 0u32, false);
    let (mut proto, mut itype, mut icode) = (None, None, None);
    for w in words {
        let (k, v) = w.split_once('=').unwrap_or((w, ""));
        match k {
            "IN" => iif = Some(v.to_string()),
            "OUT" => oif = Some(v.to_string()),
            "MACSRC" => smac = Mac::parse(v),
            "MACDST" => dmac = Mac::parse(v),
            "SRC" => src = v.parse().ok(),
            "DST" => dst = v.parse().ok(),
            "LEN" => len = v.parse().ok(),
            "TTL" | "HOPLIMIT" => ttl = v.parse().ok(),
            "ID" | "FLOWLBL" => tag = v.parse().unwrap_or(0),
            "DF" => df = true,
            "SPORT" => sport = v.parse().ok(),
            "DPORT" => dport = v.parse().ok(),
            "PROTO" => proto = IpProto::from_name(v),
            "TYPE" => itype = v.parse().ok(),
            "CODE" => icode = v.parse().ok(),
            "MARK" => mark = u32::from_str_radix(v.trim_start_matches("0x"), 16).unwrap_or(0),
            f if v.is_empty() => {
                if let Some((_, bit)) = TcpFlags::NAMES.iter().find(|(n, _)| *n == f) {
                    flags = flags.union(*bit);
                }
            }
            _ => {}
        }
    }
    let (src, dst) = (src?, dst?);
    if src.is_ipv6() != dst.is_ipv6() || (nfproto == 10) != src.is_ipv6() && nfproto != 1 {
        return None;
    }
    let mut incomplete = None;
    let l4 = match (proto, sport.zip(dport), itype) {
        (Some(IpProto::Udp), Some((s, d)), _) => L4::Udp { sport: s, dport: d },
        (Some(IpProto::Tcp), Some((s, d)), _) | (None, Some((s, d)), _) if flags.0 != 0 => {
            L4::Tcp {
                sport: s,
                dport: d,
                flags,
            }
        }
        (None, Some((s, d)), _) => L4::Udp { sport: s, dport: d },
        (_, None, Some(t)) if !src.is_ipv6() => L4::Icmp {
            icmp_type: t,
            code: icode.unwrap_or(0),
            id: 0,
        },
        (_, None, Some(t)) => L4::Icmpv6 {
            icmp_type: t,
            code: icode.unwrap_or(0),
            id: 0,
        },
        (p, _, _) => {
            incomplete =
                Some("xtables-monitor printed no protocol for this packet (it does not for ICMP)");
            L4::Other(p.unwrap_or(IpProto::Other(0)))
        }
    };
    let mut p = Packet::new(src, dst, l4);
    if let Some(t) = ttl {
        p.ttl = t;
    }
    if let Some(l) = len {
        p.len = l;
    }
    p.id = tag;
    p.mark = mark;
    p.dont_fragment = df;
    p.iif = iif;
    p.oif = oif;
    p.src_mac = smac;
    p.dst_mac = dmac;
    Some((id, p, incomplete))
}

/// `2 1af1f87c filter:FORWARD:rule:0x9:JUMP:fwd-user  -4 -t filter -A FORWARD -j fwd-user`.
fn trace_line(rest: &str, line: u64) -> Option<(u32, WalkEvent)> {
    let mut it = rest.splitn(4, ' ');
    let nfproto: u8 = it.next()?.parse().ok()?;
    let id = u32::from_str_radix(it.next()?, 16).ok()?;
    let what = it.next()?;
    let rule_text = it.next().unwrap_or("").trim();
    let mut parts = what.splitn(5, ':');
    let table = parts.next().filter(|s| !s.is_empty())?.to_string();
    let chain = parts.next().filter(|s| !s.is_empty())?.to_string();
    let kind = parts.next()?;
    let family = if nfproto == 10 {
        Family::Ip6
    } else {
        Family::Ip
    };
    let (kind, rule, verdict) = match kind {
        "rule" => {
            let handle = u64::from_str_radix(parts.next()?.trim_start_matches("0x"), 16).ok();
            let verdict = parse_verdict(&parts.collect::<Vec<_>>().join(":"));
            let text = iptables_text(rule_text);
            let rule = RuleName {
                number: None,
                handle,
                rejects: text.as_deref().is_some_and(|t| jumps_to(t, "REJECT")),
                starts_trace: text.as_deref().is_some_and(|t| jumps_to(t, "TRACE")),
                text,
            };
            (StepKind::Rule, rule, verdict)
        }
        "policy" => (
            StepKind::Policy,
            RuleName::default(),
            parse_verdict(&parts.collect::<Vec<_>>().join(":")),
        ),
        "return" => (
            StepKind::Return,
            RuleName::default(),
            Some(KernelVerdict::of(NfVerdict::Return)),
        ),
        _ => return None,
    };
    Some((
        id,
        WalkEvent::traced(line, family, (table, chain), kind, rule, verdict, None),
    ))
}

/// `-4 -t filter -A FORWARD -j fwd-user` into `-A FORWARD -j fwd-user`.
/// Whether an iptables rule's target is `target` (`-j REJECT`, as iptables-save prints it).
fn jumps_to(rule: &str, target: &str) -> bool {
    let words: Vec<&str> = rule.split_whitespace().collect();
    words.windows(2).any(|w| w == ["-j", target])
}

fn iptables_text(s: &str) -> Option<String> {
    let mut w: Vec<&str> = s.split_whitespace().collect();
    if matches!(w.first(), Some(&"-4" | &"-6")) {
        w.remove(0);
    }
    if w.first() == Some(&"-t") && w.len() >= 2 {
        w.drain(0..2);
    }
    (!w.is_empty()).then(|| w.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PKT: &str = "PACKET: 2 1af1f87c IN=lan0 MACSRC=2:0:0:0:60:2 MACDST=2:0:0:0:60:1 MACPROTO=0800 SRC=192.168.60.2 DST=192.168.70.10 LEN=40 TOS=0x0 TTL=64 ID=101 DF SPORT=40001 DPORT=22 SYN ";
    const RULE: &str = " TRACE: 2 1af1f87c filter:FORWARD:rule:0x9:ACCEPT  -4 -t filter -A FORWARD -i lan0 -o wan0 -p tcp -m multiport --dports 22,80 -j ACCEPT";

    #[test]
    fn a_reject_is_told_by_its_target_not_by_any_word() {
        assert!(jumps_to(
            "-A INPUT -p tcp -j REJECT --reject-with tcp-reset",
            "REJECT"
        ));
        assert!(!jumps_to(
            "-A INPUT -m comment --comment REJECT -j DROP",
            "REJECT"
        ));
        assert!(!jumps_to("-A INPUT -j reject-chain", "REJECT"));
        assert!(jumps_to("-A PREROUTING -p tcp -j TRACE", "TRACE"));
    }

    #[test]
    fn packet_and_rule_with_handle_and_iptables_text() {
        let f = parse("x", &format!("{PKT}\n{RULE}\n"));
        assert_eq!(f.packets.len(), 1);
        let p = &f.packets[0];
        assert_eq!(
            p.packet.to_string(),
            "tcp 192.168.60.2:40001 -> 192.168.70.10:22 [SYN]"
        );
        assert_eq!(p.incomplete, None);
        let s = &p.steps[0];
        assert_eq!(
            (s.table.as_str(), s.chain.as_str(), s.rule.handle),
            ("filter", "FORWARD", Some(9))
        );
        assert_eq!(
            s.rule.text.as_deref(),
            Some("-A FORWARD -i lan0 -o wan0 -p tcp -m multiport --dports 22,80 -j ACCEPT")
        );
        assert_eq!(s.verdict, Some(KernelVerdict::of(NfVerdict::Accept)));
        assert!(!s.rule.rejects);
        assert!(
            s.packet.is_some(),
            "the header goes with the hook's first step"
        );
    }

    #[test]
    fn jump_and_policy() {
        let text = format!("{PKT}\n TRACE: 2 1af1f87c filter:FORWARD:rule:0xb:JUMP:fwd-user  -4 -t filter -A FORWARD -j fwd-user\n TRACE: 2 1af1f87c filter:FORWARD:policy:DROP \n");
        let f = parse("x", &text);
        let s = &f.packets[0].steps;
        assert_eq!(s[0].verdict, Some(KernelVerdict::jump("fwd-user")));
        assert_eq!(
            (s[1].kind, &s[1].verdict),
            (StepKind::Policy, &Some(KernelVerdict::of(NfVerdict::Drop)))
        );
    }

    #[test]
    fn icmp_without_protocol_is_incomplete() {
        let f = parse(
            "x",
            "PACKET: 2 a IN=lan0 SRC=10.1.1.2 DST=10.1.0.2 LEN=84 TOS=0x0 TTL=64 ID=5010 DF \n",
        );
        assert!(f.packets[0].incomplete.is_some());
    }

    #[test]
    fn same_id_new_ip_id_is_a_new_packet() {
        let second = PKT.replace("ID=101", "ID=102");
        let f = parse("x", &format!("{PKT}\n{RULE}\n{second}\n{RULE}\n"));
        assert_eq!(f.packets.len(), 2);
    }

    #[test]
    fn garbage_is_counted_never_panics() {
        let f = parse("x", "PACKET: x\n TRACE: 2 1 a\n TRACE: 2 zz a:b:rule:0x1:ACCEPT\n TRACE: 2 1 a:b:policy:ACCEPT\nfoo\n");
        assert_eq!((f.malformed, f.orphans, f.other), (3, 1, 1));
        for t in [
            "PACKET: 2 1 SRC=1.1.1.1 DST=::1",
            " TRACE: 2 1 ::::",
            " TRACE: 2 1 a:b:rule",
            "PACKET: 10 1 SRC=1.1.1.1 DST=1.1.1.2",
        ] {
            let _ = parse("x", t);
        }
    }
}
