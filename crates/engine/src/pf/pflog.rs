//! The line `tcpdump -n -e -ttt -i pflog0` prints for a packet pf logged, without its
//! timestamp, as OpenBSD's own tcpdump prints it ([`Tcpdump::OpenBsd`]) or as the
//! tcpdump.org one FreeBSD ships does ([`Tcpdump::Upstream`], below).
//!
//! The header part follows OpenBSD's `usr.sbin/tcpdump/print-pflog.c` (`pflog_if_print`
//! with `-e`): `rule N/(reason) ACTION DIR on IF: `, where N is the rule's number, or
//! `A.ANCHOR.M` for rule M of anchor ANCHOR called by rule A (`if_pflog.c`
//! `pflog_packet`: `rulenr` is the anchor rule's, `subrulenr` the rule's, `ruleset` the
//! anchor's name), and the reason is `match` for every rule pf logs in `pf_test_rule` and
//! `pf_match_rule` (`PFRES_MATCH`, the first of `PFRES_NAMES`).
//!
//! The packet part follows `print-ip.c` (`ip_print`), `print-tcp.c`, `print-udp.c` and
//! `print-icmp.c` without `-v`. The packet printed is the one pf's `pflog_bpfcopy` hands to
//! bpf: rewritten to the addresses and ports of the translation so far (`pf_translate` with
//! the header's `saddr`/`daddr`, which `pflog_packet` fills from `pd->nsaddr`/`ndaddr`).
//!
//! What the packet model does not hold is printed as `?` (documented, never invented):
//! - TCP sequence numbers, acknowledgment number and window: `S ?:?(0) win ?`; the data
//!   length is 0 when the packet's length is the model's minimal one (headers only, a SYN's
//!   with its 20 bytes of options, printed `<?>`), else `?` (options and data cannot be
//!   told apart, and the options are left out).
//! - UDP to or from a port tcpdump decodes (`print-udp.c`: DNS, NTP, DHCP, …): the payload
//!   is not known, so the decoded part is `?`. Other ports print `udp LEN`; the payload is
//!   assumed not to be WireGuard (`wg_match` looks at its first bytes).
//! - ICMP errors quote the packet they are about; the model has no quoted packet, so the
//!   part that names it is `?`.
//!
//! tcpdump.org's `print-pflog.c` (FreeBSD's tcpdump) prints the header as
//! `rule N/0(match): ACTION DIR on IF: ` (the reason's number, then a colon); with `-e` its
//! `ip_print`/`ip6_print` leave out the `IP `/`IP6 ` prefix and, without `-v`, the
//! `(DF)`/`[tos]` marks. Its `tcp_print` writes `Flags [S.], seq ?, ack ?, win ?,
//! options [?], length 0`, `udp_print` `UDP, length N`, `icmp_print` `ICMP echo request,
//! id N, seq ?, length N`; the same unknowns are `?`.
use std::fmt::Write;

use model::packet::{Fragment, TcpFlags, L4};
use model::Packet;

use crate::bsd::Direction;

/// Which tcpdump prints the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tcpdump {
    /// OpenBSD's `usr.sbin/tcpdump`.
    #[default]
    OpenBsd,
    /// tcpdump.org's, which FreeBSD ships.
    Upstream,
}

/// The action `print-pflog.c` prints: the logging rule's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogAction {
    /// `pass`.
    Pass,
    /// `block`.
    Block,
    /// `match`.
    Match,
    /// `nat` (old `nat` / `no nat` rules).
    Nat,
    /// `rdr` (old `rdr` / `no rdr` rules).
    Rdr,
    /// `binat` (old `binat` / `no binat` rules).
    Binat,
}

impl LogAction {
    fn word(self) -> &'static str {
        match self {
            LogAction::Pass => "pass",
            LogAction::Block => "block",
            LogAction::Match => "match",
            LogAction::Nat => "nat",
            LogAction::Rdr => "rdr",
            LogAction::Binat => "binat",
        }
    }
}

/// Which rule a pflog header names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRule {
    /// pf's default rule (`rulenr` -1: `rule def`).
    Default,
    /// A rule of the main ruleset.
    Main(u32),
    /// Rule `rule` of anchor `anchor`, reached by anchor rule `caller`.
    Anchored {
        /// The number of the anchor rule that called the anchor, in its own ruleset.
        caller: u32,
        /// The anchor's name (`ruleset->anchor->name`).
        anchor: String,
        /// The rule's number within the anchor.
        rule: u32,
    },
}

/// The pflog header fields the line prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHeader {
    /// The logged rule.
    pub rule: LogRule,
    /// The rule's action.
    pub action: LogAction,
    /// The pass's direction.
    pub direction: Direction,
    /// The interface of the pass.
    pub interface: String,
}

/// The whole line for `packet` (as translated so far) under `header`.
pub fn line(header: &LogHeader, packet: &Packet, tcpdump: Tcpdump) -> String {
    let mut out = String::from("rule ");
    match &header.rule {
        LogRule::Default => out.push_str("def"),
        LogRule::Main(n) => {
            let _ = write!(out, "{n}");
        }
        LogRule::Anchored {
            caller,
            anchor,
            rule,
        } => {
            let _ = write!(out, "{caller}.{anchor}.{rule}");
        }
    }
    // PFRES_MATCH (0): pf logs a rule's packet with reason "match".
    out.push_str(match tcpdump {
        Tcpdump::OpenBsd => "/(match) ",
        Tcpdump::Upstream => "/0(match): ",
    });
    out.push_str(header.action.word());
    let dir = match header.direction {
        Direction::In => "in",
        Direction::Out => "out",
    };
    let _ = write!(out, " {dir} on {}: ", header.interface);
    match tcpdump {
        Tcpdump::OpenBsd => ip_part(&mut out, packet),
        Tcpdump::Upstream => upstream::ip_part(&mut out, packet),
    }
    out
}

/// `ip_print` / `ip6_print` without `-v`.
fn ip_part(out: &mut String, p: &Packet) {
    let v4 = p.src.is_ipv4();
    let later_fragment = matches!(p.fragment, Fragment::Later { .. });
    let header_len: u16 = if v4 { 20 } else { 40 };
    let payload = p.len.saturating_sub(header_len);
    if later_fragment {
        // Not the first fragment: no transport header, the addresses are printed here.
        let _ = write!(out, "{} > {}:", p.src, p.dst);
    } else {
        transport(out, p, payload);
    }
    if v4 {
        if let Fragment::Later { offset } = p.fragment {
            // `(frag id:len@offset+)`: whether more fragments follow is not modelled for
            // later fragments, so the `+` is left out.
            let _ = write!(out, " (frag {}:{}@{})", p.id & 0xffff, payload, offset * 8);
        } else if p.fragment == Fragment::First {
            let _ = write!(out, " (frag {}:{}@0+)", p.id & 0xffff, payload);
        }
        if p.dont_fragment {
            out.push_str(" (DF)");
        }
        if p.tos != 0 {
            let _ = write!(out, " [tos 0x{:x}", p.tos);
            // IPTOS_ECT 0x02, IPTOS_CE 0x01 as print-ip.c tests them.
            if p.tos & 0x03 != 0 {
                out.push_str(" (");
                if p.tos & 0x02 != 0 {
                    out.push('E');
                }
                if p.tos & 0x01 != 0 {
                    out.push('C');
                }
                out.push(')');
            }
            out.push(']');
        }
        if p.ttl <= 1 {
            let _ = write!(out, " [ttl {}]", p.ttl);
        }
    }
}

fn transport(out: &mut String, p: &Packet, payload: u16) {
    match p.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
        } => {
            let _ = write!(out, "{}.{sport} > {}.{dport}: ", p.src, p.dst);
            tcp_flags(out, flags);
            // The model's minimal length is the headers alone (a SYN's with 20 bytes of
            // options): then the segment carries no data.
            let minimal = no_data(p);
            let syn = flags.0 & TcpFlags::SYN.0 != 0;
            let data = if minimal { "0" } else { "?" };
            if !minimal || flags.0 & (TcpFlags::SYN.0 | TcpFlags::FIN.0 | TcpFlags::RST.0) != 0 {
                let _ = write!(out, " ?:?({data})");
            }
            if flags.0 & TcpFlags::ACK.0 != 0 {
                out.push_str(" ack ?");
            }
            out.push_str(" win ?");
            if flags.0 & TcpFlags::URG.0 != 0 {
                out.push_str(" urg ?");
            }
            if minimal && syn {
                out.push_str(" <?>");
            }
        }
        L4::Udp { sport, dport } => {
            let _ = write!(out, "{}.{sport} > {}.{dport}: ", p.src, p.dst);
            let data = payload.saturating_sub(8);
            if decoded_udp_port(sport) || decoded_udp_port(dport) {
                out.push('?');
            } else {
                let _ = write!(out, "udp {data}");
            }
        }
        L4::Icmp {
            icmp_type, code, ..
        } => {
            let _ = write!(
                out,
                "{} > {}: icmp: {}",
                p.src,
                p.dst,
                icmp_text(icmp_type, code)
            );
        }
        L4::Icmpv6 { icmp_type, .. } => {
            let what = match icmp_type {
                128 => "echo request",
                129 => "echo reply",
                _ => "?",
            };
            let _ = write!(out, "{} > {}: icmp6: {what}", p.src, p.dst);
        }
        L4::Sctp { .. } | L4::Other(_) => {
            let _ = write!(
                out,
                "{} > {}: ip-proto-{} {payload}",
                p.src,
                p.dst,
                p.l4.proto().number()
            );
        }
    }
}

/// Whether the packet is the model's minimal one (headers only), so it carries no data;
/// a minimal SYN has 20 bytes of TCP options.
fn no_data(p: &Packet) -> bool {
    p.len == p.minimal_len()
}

/// `print-tcp.c`: S F R P, then W (CWR) and E (ECE), or `.` for none of them.
fn tcp_flags(out: &mut String, flags: TcpFlags) {
    let shown = [
        (TcpFlags::SYN, 'S'),
        (TcpFlags::FIN, 'F'),
        (TcpFlags::RST, 'R'),
        (TcpFlags::PSH, 'P'),
        (TcpFlags::CWR, 'W'),
        (TcpFlags::ECE, 'E'),
    ];
    let mut any = false;
    for (flag, letter) in shown {
        if flags.0 & flag.0 != 0 {
            out.push(letter);
            any = true;
        }
    }
    if !any {
        out.push('.');
    }
}

/// The ports `udp_print` hands to a payload decoder (OpenBSD `print-udp.c`): DNS 53,
/// mDNS 5353, lwres 921, timed 525, TFTP 69, BOOTP 67/68, RIP 520, SNMP 161/162, NTP 123,
/// Kerberos 88/750, L2TP 1701, UDP-encapsulated ESP 4500, ISAKMP 500, RADIUS
/// 1645/1646/1812/1813, vat 3456, IAPP 3517/2313, VQP 1589, GRE-in-UDP 4754, VXLAN
/// 4789/4790, MPLS-in-UDP 6635, RIPng 521, DHCPv6 546/547, GTP 2123/2152/3386, wb 4567,
/// HSRP 1985, NFS 2049.
fn decoded_udp_port(port: u16) -> bool {
    matches!(
        port,
        53 | 5353
            | 921
            | 525
            | 69
            | 67
            | 68
            | 520
            | 161
            | 162
            | 123
            | 88
            | 750
            | 1701
            | 4500
            | 500
            | 1645
            | 1646
            | 1812
            | 1813
            | 3456
            | 3517
            | 2313
            | 1589
            | 4754
            | 4789
            | 4790
            | 6635
            | 521
            | 546
            | 547
            | 2123
            | 2152
            | 3386
            | 4567
            | 1985
            | 2049
    )
}

/// `icmp_print`'s text for types that need no quoted packet (`icmp2str`, time exceeded);
/// `?` where it would print from the quoted packet or fields the model lacks.
fn icmp_text(icmp_type: u8, code: u8) -> String {
    match (icmp_type, code) {
        (0, _) => "echo reply".into(),
        (4, _) => "source quench".into(),
        (8, _) => "echo request".into(),
        (10, _) => "router solicitation".into(),
        (13, _) => "time stamp request".into(),
        (14, _) => "time stamp reply".into(),
        (15, _) => "information request".into(),
        (16, _) => "information reply".into(),
        (17, _) => "address mask request".into(),
        (11, 0) => "time exceeded in-transit".into(),
        (11, 1) => "ip reassembly time exceeded".into(),
        (11, c) => format!("time exceeded-#{c}"),
        (12, 1) => "requested option absent".into(),
        // Unreachable and redirect name the quoted packet's destination; parameter problem
        // and mask reply print fields the model does not hold; router advertisement its
        // address list.
        (3 | 5 | 12 | 18 | 9, _) => "?".into(),
        (t, _) => format!("type-#{t}"),
    }
}

/// tcpdump.org's printers (FreeBSD), with `-n -e` and without `-v`.
mod upstream {
    use std::fmt::Write;

    use model::packet::{Fragment, TcpFlags, L4};
    use model::Packet;

    use super::{decoded_udp_port, no_data};

    /// `ip_print` / `ip6_print`: with `-e` no `IP ` prefix, and no flags without `-v`.
    pub fn ip_part(out: &mut String, p: &Packet) {
        let header_len: u16 = if p.src.is_ipv4() { 20 } else { 40 };
        let payload = p.len.saturating_sub(header_len);
        if matches!(p.fragment, Fragment::Later { .. }) {
            let _ = write!(out, "{} > {}: ?", p.src, p.dst);
            return;
        }
        match p.l4 {
            L4::Tcp {
                sport,
                dport,
                flags,
            } => {
                let _ = write!(out, "{}.{sport} > {}.{dport}: Flags [", p.src, p.dst);
                tcp_flags(out, flags);
                out.push(']');
                let data = if no_data(p) { "0" } else { "?" };
                let opens_or_ends = TcpFlags::SYN.0 | TcpFlags::FIN.0 | TcpFlags::RST.0;
                if !no_data(p) || flags.0 & opens_or_ends != 0 {
                    out.push_str(", seq ?");
                    if !no_data(p) {
                        out.push_str(":?");
                    }
                }
                if flags.0 & TcpFlags::ACK.0 != 0 {
                    out.push_str(", ack ?");
                }
                out.push_str(", win ?");
                if flags.0 & TcpFlags::URG.0 != 0 {
                    out.push_str(", urg ?");
                }
                if no_data(p) && flags.0 & TcpFlags::SYN.0 != 0 {
                    out.push_str(", options [?]");
                }
                let _ = write!(out, ", length {data}");
            }
            L4::Udp { sport, dport } => {
                let _ = write!(out, "{}.{sport} > {}.{dport}: ", p.src, p.dst);
                if decoded_udp_port(sport) || decoded_udp_port(dport) {
                    out.push('?');
                } else {
                    let _ = write!(out, "UDP, length {}", payload.saturating_sub(8));
                }
            }
            L4::Icmp { icmp_type, id, .. } | L4::Icmpv6 { icmp_type, id, .. } => {
                let v6 = p.src.is_ipv6();
                let what = match (v6, icmp_type) {
                    (false, 8) | (true, 128) => "echo request",
                    (false, 0) | (true, 129) => "echo reply",
                    _ => "?",
                };
                let proto = if v6 { "ICMP6," } else { "ICMP" };
                let _ = write!(out, "{} > {}: {proto} {what}", p.src, p.dst);
                if what != "?" {
                    let _ = write!(out, ", id {id}, seq ?, length {payload}");
                }
            }
            L4::Sctp { .. } | L4::Other(_) => {
                let proto = p.l4.proto().number();
                let _ = write!(out, "{} > {}: ip-proto-{proto} {payload}", p.src, p.dst);
            }
        }
    }

    /// `tcp_flag_values` in bit order (F S R P . U E W), `none` for no flag.
    fn tcp_flags(out: &mut String, flags: TcpFlags) {
        let letters = ['F', 'S', 'R', 'P', '.', 'U', 'E', 'W'];
        let before = out.len();
        for (bit, letter) in letters.iter().enumerate() {
            if flags.0 & (1 << bit) != 0 {
                out.push(*letter);
            }
        }
        if out.len() == before {
            out.push_str("none");
        }
    }
}
