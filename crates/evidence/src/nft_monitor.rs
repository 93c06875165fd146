//! `nft monitor trace` output into [`TracedPacket`]s.
//!
//! Every line is `trace id ID FAMILY TABLE CHAIN EVENT` where EVENT is one of
//!
//! ```text
//! packet: iif "lan0" ether saddr ... ip saddr 10.1.1.2 ip daddr 10.1.0.2 ... tcp dport 2175 tcp flags == syn ...
//! rule tcp dport 23 counter packets 0 bytes 0 reject with tcp reset (verdict drop)
//! rule jump sub1 comment "r-in-j1" # handle 9 (verdict jump sub1)
//! verdict continue
//! policy accept
//! ```
//!
//! The packet line comes first in each hook. A trace id is a hash, so two packets can share
//! it (the kernel reuses it for identical headers): a packet line whose IPv4 id (IPv6 flow
//! label) differs from the open packet's, or that repeats a chain the open packet already
//! went through, starts a new packet.

use crate::trace::{
    family_from_name, parse_verdict, strip_counters, KernelVerdict, RuleName, StepKind, TraceFile,
    TracedPacket, Tracer, WalkEvent,
};
use frontends::ParseError;
use model::packet::{Mac, TcpFlags};
use model::{Packet, SourceFile, Span, L4};
use std::collections::HashMap;
use std::net::IpAddr;

/// Reads a whole `nft monitor trace` output.
pub fn parse(name: &str, text: &str) -> TraceFile {
    let mut file = TraceFile::default();
    // Trace id -> index of its open packet in `file.packets`, and the packet's tag.
    let mut open: HashMap<u32, (usize, Option<u32>)> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let lineno = n as u64 + 1;
        let Some(rest) = line.trim_start().strip_prefix("trace id ") else {
            if !line.trim().is_empty() {
                file.other += 1;
            }
            continue;
        };
        match parse_line(rest) {
            Ok(ev) => place(&mut file, &mut open, lineno, ev),
            Err(what) => {
                let source = SourceFile::new(name, line.to_string());
                let e = ParseError::expected(&source, Span::new(0, line.len()), what, line.trim());
                file.malformed(lineno, e);
            }
        }
    }
    // A header line never followed by an event of its chain says only that the packet got
    // there; it is not a step.
    for p in &mut file.packets {
        p.steps.retain(|s| !is_header_only(s));
    }
    file
}

/// A header line's placeholder step (its chain's event not seen yet): no verdict, and the
/// packet as the chain saw it.
fn is_header_only(s: &WalkEvent) -> bool {
    s.verdict.is_none() && s.packet.is_some()
}

/// One line, read.
struct Event {
    id: u32,
    family: model::Family,
    table: String,
    chain: String,
    what: What,
}

enum What {
    Packet(Box<Packet>, Option<u32>),
    Step(StepKind, RuleName, Option<KernelVerdict>),
}

fn parse_line(rest: &str) -> Result<Event, &'static str> {
    let mut it = rest.splitn(5, ' ');
    let id = it
        .next()
        .and_then(|s| u32::from_str_radix(s, 16).ok())
        .ok_or("a hex trace id")?;
    let family = it.next().and_then(family_from_name).ok_or("a family")?;
    let table = it.next().filter(|s| !s.is_empty()).ok_or("a table")?;
    let chain = it.next().filter(|s| !s.is_empty()).ok_or("a chain")?;
    let event = it.next().unwrap_or("").trim();
    let what = if let Some(p) = event.strip_prefix("packet:") {
        let (packet, tag) = packet(p).ok_or("addresses in the packet line")?;
        What::Packet(Box::new(packet), tag)
    } else if let Some(r) = event.strip_prefix("rule ") {
        let (text, verdict) = match r.rfind(" (verdict ") {
            Some(i) => (&r[..i], r[i + " (verdict ".len()..].trim_end_matches(')')),
            None => return Err("`(verdict ...)` at the end of the rule"),
        };
        let (text, handle) = match text.rsplit_once(" # handle ") {
            Some((t, h)) => (t, h.trim().parse().ok()),
            None => (text, None),
        };
        let text = strip_counters(text);
        let rule = RuleName {
            number: None,
            handle,
            // `reject` is a statement of its own in nft's listing of a rule.
            rejects: text.split_whitespace().any(|w| w == "reject"),
            starts_trace: text
                .split_whitespace()
                .collect::<Vec<_>>()
                .windows(3)
                .any(|w| w == ["nftrace", "set", "1"]),
            text: Some(text),
        };
        What::Step(StepKind::Rule, rule, parse_verdict(verdict))
    } else if let Some(v) = event.strip_prefix("verdict ") {
        What::Step(StepKind::Return, RuleName::default(), parse_verdict(v))
    } else if let Some(v) = event.strip_prefix("policy ") {
        What::Step(StepKind::Policy, RuleName::default(), parse_verdict(v))
    } else {
        return Err("`packet:`, `rule`, `verdict` or `policy`");
    };
    Ok(Event {
        id,
        family,
        table: table.to_string(),
        chain: chain.to_string(),
        what,
    })
}

fn place(
    file: &mut TraceFile,
    open: &mut HashMap<u32, (usize, Option<u32>)>,
    line: u64,
    ev: Event,
) {
    match ev.what {
        What::Packet(packet, tag) => {
            let continues = open.get(&ev.id).is_some_and(|&(i, open_tag)| {
                let p = &file.packets[i];
                let repeated = p.steps.iter().any(|s| {
                    s.table == ev.table && s.chain == ev.chain && s.family == Some(ev.family)
                });
                open_tag == tag && !repeated
            });
            if continues {
                let (i, _) = open[&ev.id];
                // The header goes with the next step of this chain.
                file.packets[i].steps.push(WalkEvent::traced(
                    line,
                    ev.family,
                    (ev.table, ev.chain),
                    StepKind::Rule,
                    RuleName::default(),
                    None,
                    Some(*packet),
                ));
            } else {
                open.insert(ev.id, (file.packets.len(), tag));
                file.packets.push(TracedPacket {
                    tracer: Tracer::NftMonitor,
                    id: Some(ev.id),
                    packet: (*packet).clone(),
                    line,
                    incomplete: None,
                    steps: vec![WalkEvent::traced(
                        line,
                        ev.family,
                        (ev.table, ev.chain),
                        StepKind::Rule,
                        RuleName::default(),
                        None,
                        Some(*packet),
                    )],
                });
            }
        }
        What::Step(kind, rule, verdict) => {
            let Some(&(i, _)) = open.get(&ev.id) else {
                file.orphans += 1;
                return;
            };
            let steps = &mut file.packets[i].steps;
            // A header placeholder of the same chain takes the event's place.
            if let Some(last) = steps.last_mut() {
                if is_header_only(last) && last.chain == ev.chain && last.table == ev.table {
                    last.kind = kind;
                    last.rule = rule;
                    last.verdict = verdict;
                    last.line = Some(line);
                    return;
                }
            }
            steps.push(WalkEvent::traced(
                line,
                ev.family,
                (ev.table, ev.chain),
                kind,
                rule,
                verdict,
                None,
            ));
        }
    }
}

/// Reads the packet line's fields: `iif "lan0" ip saddr A ip daddr B ... tcp dport N`.
/// Returns the packet and its tag (IPv4 id / IPv6 flow label).
pub fn packet(text: &str) -> Option<(Packet, Option<u32>)> {
    let w = tokens(text);
    let get = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
    let (mut src, mut dst): (Option<IpAddr>, Option<IpAddr>) = (None, None);
    let (mut iif, mut oif, mut smac, mut dmac) = (None, None, None, None);
    let (mut ttl, mut len, mut tag, mut mark) = (None, None, None, 0u32);
    let (mut proto, mut sport, mut dport, mut flags) = (None::<String>, None, None, TcpFlags(0));
    let (mut itype, mut icode, mut iid) = (None, None, None);
    let mut i = 0;
    while i < w.len() {
        let (a, b, c) = (get(i), get(i + 1), get(i + 2));
        let mut step = 3;
        match (a, b) {
            ("iif", _) => (iif, step) = (Some(b.to_string()), 2),
            ("oif", _) => (oif, step) = (Some(b.to_string()), 2),
            ("ether", "saddr") => smac = Mac::parse(c),
            ("ether", "daddr") => dmac = Mac::parse(c),
            ("ip" | "ip6", "saddr") => src = c.parse().ok(),
            ("ip" | "ip6", "daddr") => dst = c.parse().ok(),
            ("ip", "ttl") | ("ip6", "hoplimit") => ttl = c.parse().ok(),
            ("ip", "id") | ("ip6", "flowlabel") => tag = c.parse().ok(),
            ("ip", "length") | ("ip6", "length") => len = c.parse().ok(),
            ("meta", "mark") => mark = parse_num(c).unwrap_or(0),
            ("tcp" | "udp" | "sctp" | "udplite", "sport") => {
                proto = Some(a.to_string());
                sport = c.parse().ok();
            }
            ("tcp" | "udp" | "sctp" | "udplite", "dport") => {
                proto = Some(a.to_string());
                dport = c.parse().ok();
            }
            ("tcp", "flags") => {
                // `tcp flags == syn`, `== 0x11`, `== (fin | ack)`.
                let mut j = i + 2;
                if get(j) == "==" {
                    j += 1;
                }
                let mut f = TcpFlags(0);
                while j < w.len() {
                    let t = get(j).trim_matches(|c| c == '(' || c == ')');
                    if t == "|" || t.is_empty() {
                        j += 1;
                        continue;
                    }
                    if let Some(n) = parse_num(t).filter(|_| t.starts_with("0x")) {
                        f = f.union(TcpFlags(n as u8));
                    } else if let Some((_, bit)) = TcpFlags::NAMES
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(t))
                    {
                        f = f.union(*bit);
                    } else {
                        break;
                    }
                    let closes =
                        get(j).ends_with(')') || !get(j).starts_with('(') && get(j + 1) != "|";
                    j += 1;
                    if closes {
                        break;
                    }
                }
                flags = f;
                proto = Some("tcp".into());
                step = j - i;
            }
            ("icmp" | "icmpv6", "type") => {
                proto = Some(a.to_string());
                itype = model::kernel::icmp::nft_type_number(c, a == "icmpv6");
            }
            ("icmp" | "icmpv6", "code") => {
                icode = model::kernel::icmp::nft_code_number(c, a == "icmpv6")
            }
            ("icmp" | "icmpv6", "id") => iid = c.parse().ok(),
            _ => step = 1,
        }
        i += step.max(1);
    }
    let (src, dst) = (src?, dst?);
    if src.is_ipv6() != dst.is_ipv6() {
        return None;
    }
    let l4 = match proto.as_deref() {
        Some("tcp") => L4::Tcp {
            sport: sport.unwrap_or(0),
            dport: dport.unwrap_or(0),
            flags,
        },
        Some("udp" | "udplite") => L4::Udp {
            sport: sport.unwrap_or(0),
            dport: dport.unwrap_or(0),
        },
        Some("sctp") => L4::Sctp {
            sport: sport.unwrap_or(0),
            dport: dport.unwrap_or(0),
        },
        Some("icmp") => L4::Icmp {
            icmp_type: itype.unwrap_or(0),
            code: icode.unwrap_or(0),
            id: iid.unwrap_or(0),
        },
        Some("icmpv6") => L4::Icmpv6 {
            icmp_type: itype.unwrap_or(0),
            code: icode.unwrap_or(0),
            id: iid.unwrap_or(0),
        },
        _ => L4::Other(model::packet::IpProto::Other(0)),
    };
    let mut p = Packet::new(src, dst, l4);
    if let Some(t) = ttl {
        p.ttl = t;
    }
    if let Some(l) = len {
        p.len = l;
    }
    p.id = tag.unwrap_or(0);
    p.mark = mark;
    p.iif = iif;
    p.oif = oif;
    p.src_mac = smac;
    p.dst_mac = dmac;
    Some((p, tag))
}

/// Words, with `"quoted strings"` unquoted as one word.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse_num(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::StepKind;
    use model::kernel::NfVerdict;

    const SYN: &str = "trace id 7ffec88f inet trace_debug trace_pre packet: iif \"vB\" ether saddr 06:2e:71:a6:88:a1 ether daddr 02:b6:66:f5:84:3c ip saddr 10.99.0.1 ip daddr 10.99.0.2 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 2388 ip protocol tcp ip length 60 tcp sport 34900 tcp dport 2175 tcp flags == syn tcp window 64240";

    #[test]
    fn packet_line_gives_the_headers() {
        let f = parse("t", SYN);
        assert_eq!(f.packets.len(), 1);
        let p = &f.packets[0].packet;
        assert_eq!(p.to_string(), "tcp 10.99.0.1:34900 -> 10.99.0.2:2175 [SYN]");
        assert_eq!(
            (p.ttl, p.id, p.len, p.iif.as_deref()),
            (64, 2388, 60, Some("vB"))
        );
        assert_eq!(p.src_mac.unwrap().to_string(), "06:2e:71:a6:88:a1");
    }

    #[test]
    fn reject_is_a_drop_with_the_rule_text() {
        let text = format!("{SYN}\ntrace id 7ffec88f inet filter input rule tcp dport 2175 counter packets 3 bytes 180 reject with icmp port-unreachable (verdict drop)");
        let f = parse("t", &text);
        let s = f.packets[0].steps.last().unwrap();
        assert_eq!(
            (s.kind, &s.verdict),
            (StepKind::Rule, &Some(KernelVerdict::of(NfVerdict::Drop)))
        );
        assert_eq!(
            s.rule.text.as_deref(),
            Some("tcp dport 2175 counter reject with icmp port-unreachable")
        );
        assert!(
            s.rule.rejects,
            "the printed rule is the only word it was a reject"
        );
        assert_eq!(
            (s.table.as_str(), s.chain.as_str(), s.line),
            ("filter", "input", Some(2))
        );
    }

    #[test]
    fn handle_and_jump_and_policy() {
        let text = format!("{SYN}\ntrace id 7ffec88f inet f input rule jump sub1 comment \"r-in-j1\" # handle 9 (verdict jump sub1)\ntrace id 7ffec88f inet f input policy drop ");
        let f = parse("t", &text);
        let steps = &f.packets[0].steps;
        // The header of chain trace_pre had no event of its own: not a step.
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].rule.handle, Some(9));
        assert_eq!(steps[0].verdict, Some(KernelVerdict::jump("sub1")));
        assert_eq!(
            (steps[1].kind, &steps[1].verdict),
            (StepKind::Policy, &Some(KernelVerdict::of(NfVerdict::Drop)))
        );
    }

    #[test]
    fn a_reused_trace_id_with_another_ip_id_is_another_packet() {
        let second = SYN.replace("ip id 2388", "ip id 2389");
        let f = parse("t", &format!("{SYN}\n{second}"));
        assert_eq!(f.packets.len(), 2);
    }

    #[test]
    fn flags_in_hex_and_in_parentheses() {
        let (p, _) = packet("ip saddr 1.1.1.1 ip daddr 1.1.1.2 tcp sport 1 tcp dport 2 tcp flags == 0x11 tcp window 5").unwrap();
        assert_eq!(
            p.l4,
            L4::Tcp {
                sport: 1,
                dport: 2,
                flags: TcpFlags::FIN.union(TcpFlags::ACK)
            }
        );
        let (p, _) = packet("ip saddr 1.1.1.1 ip daddr 1.1.1.2 tcp sport 1 tcp dport 2 tcp flags == (fin | ack) tcp window 5").unwrap();
        assert_eq!(
            p.l4,
            L4::Tcp {
                sport: 1,
                dport: 2,
                flags: TcpFlags::FIN.union(TcpFlags::ACK)
            }
        );
    }

    #[test]
    fn icmp_echo_with_nfts_code_name() {
        let (p, _) = packet("ip saddr 1.1.1.1 ip daddr 1.1.1.2 icmp type echo-request icmp code net-unreachable icmp id 7 icmp sequence 1").unwrap();
        assert_eq!(
            p.l4,
            L4::Icmp {
                icmp_type: 8,
                code: 0,
                id: 7
            }
        );
    }

    #[test]
    fn events_before_any_packet_are_orphans_and_garbage_is_malformed() {
        let f = parse(
            "t",
            "trace id 1 ip filter INPUT policy drop\ntrace id zz\nhello\n",
        );
        assert_eq!((f.orphans, f.malformed, f.other), (1, 1, 1));
        assert_eq!(f.malformed_examples[0].0, 2);
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "trace id",
            "trace id 1 ip",
            "trace id 1 ip t c packet:",
            "trace id 1 ip t c rule x (verdict",
            "trace id 1 ip t c packet: tcp flags == (",
            "trace id 1 ip t c packet: \"",
            "trace id 1 ip t c packet: ip saddr 1.1.1.1 ip daddr ::1",
        ] {
            let _ = parse("t", t);
        }
    }
}
