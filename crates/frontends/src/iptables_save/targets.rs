//! Targets (`-j NAME --option ...`) lowered into `model::expr::Action`s.
//!
//! A target's verdict follows the kernel's: NAT targets return `NF_ACCEPT` (lowered as the
//! NAT action then `accept`), LOG/MARK/CT and friends continue with the next rule. A
//! `-j NAME` that is no known target may be a user chain: it is resolved when the
//! table is complete ([`Lowered::Chain`]).

use super::cursor::{Cursor, Cx, Opt};
use super::matches::{dscp_class, tos_value};
use super::values::{self, bad, Bad};
use crate::ParseError;
use model::expr::{Action, CtMarkOp, Log, LogKind, Nat, NatKind, Queue, Reject, Verdict};
use model::Span;
use std::net::IpAddr;

/// Extension targets whyblocked knows by name but does not model: `-j` to one of these
/// is not a chain jump.
const UNMODELLED: &[&str] = &[
    "CLUSTERIP",
    "DNPT",
    "SNPT",
    "ECN",
    "HL",
    "TTL",
    "HMARK",
    "IDLETIMER",
    "LED",
    "RATEEST",
    "SET",
    "SYNPROXY",
    "TCPOPTSTRIP",
    "TEE",
    "TPROXY",
    "TARPIT",
    "CHAOS",
    "DELUDE",
    "IPMARK",
    "LOGMARK",
    "SYSRQ",
    "STEAL",
    "ECHO",
    "DHCPMAC",
    "IMQ",
    "MIRROR",
    "SAME",
    "ROUTE",
    "XOR",
    "NOTRACK_",
    "IPV4OPTSSTRIP",
];

#[derive(Debug)]
enum Kind {
    Verdict(Verdict),
    Reject(Option<Reject>),
    Log(Log),
    Trace,
    Mark {
        value: u32,
        mask: u32,
        set: bool,
    },
    Connmark {
        op: Option<CtMarkOp>,
        save: Option<bool>,
        nfmask: u32,
        ctmask: u32,
    },
    Nat(Nat),
    Notrack,
    Ct {
        notrack: bool,
        helper: Option<String>,
        zone: Option<u16>,
    },
    Queue(Queue),
    /// No effect on the fate; options from the table.
    Shown(&'static [(&'static str, u8)]),
    Dscp(Option<u8>),
    Tos(Option<(u8, u8)>),
    /// Not a known target: a user chain, or (if it has options or is a known extension)
    /// a target whyblocked does not model.
    Other {
        options: bool,
    },
}

/// A `-j`/`-g` target being read.
#[derive(Debug)]
pub struct Target {
    pub name: String,
    pub span: Span,
    goto: bool,
    kind: Kind,
}

/// What a target lowers to.
#[derive(Debug, Clone, PartialEq)]
pub enum Lowered {
    Actions(Vec<Action>),
    /// A chain name to jump or go to; `otherwise` when no such chain exists: an
    /// unmodelled target, or `None` (then it is an undefined chain).
    Chain {
        name: String,
        span: Span,
        goto: bool,
        otherwise: Option<Action>,
    },
}

const TCPMSS: &[(&str, u8)] = &[("set-mss", 1), ("clamp-mss-to-pmtu", 0)];
const CHECKSUM: &[(&str, u8)] = &[("checksum-fill", 0)];
const CLASSIFY: &[(&str, u8)] = &[("set-class", 1)];
const AUDIT: &[(&str, u8)] = &[("type", 1)];
const SECMARK: &[(&str, u8)] = &[("selctx", 1)];
const CONNSECMARK: &[(&str, u8)] = &[("save", 0), ("restore", 0)];

fn log(kind: LogKind, level: Option<u8>) -> Log {
    Log {
        kind,
        prefix: String::new(),
        level,
        tcp_sequence: false,
        tcp_options: false,
        ip_options: false,
        uid: false,
        macdecode: false,
    }
}

fn nat(kind: NatKind) -> Nat {
    Nat {
        kind,
        addr: None,
        ports: None,
        random: false,
        fully_random: false,
        persistent: false,
    }
}

impl Target {
    /// `-j name` (`goto` for `-g`, which only takes chains).
    pub fn new(name: &str, span: Span, goto: bool) -> Target {
        let kind = if goto {
            Kind::Other { options: false }
        } else {
            match name {
                "ACCEPT" => Kind::Verdict(Verdict::Accept),
                "DROP" => Kind::Verdict(Verdict::Drop),
                "RETURN" => Kind::Verdict(Verdict::Return),
                "QUEUE" => Kind::Queue(Queue {
                    num: 0,
                    last: 0,
                    bypass: false,
                    fanout: false,
                }),
                "REJECT" => Kind::Reject(None),
                "LOG" => Kind::Log(log(LogKind::Kernel, Some(4))),
                "NFLOG" => Kind::Log(log(LogKind::Nflog { group: 0 }, None)),
                "ULOG" => Kind::Log(log(LogKind::Ulog { group: 1 }, None)),
                "TRACE" => Kind::Trace,
                "MARK" => Kind::Mark {
                    value: 0,
                    mask: 0,
                    set: false,
                },
                "CONNMARK" => Kind::Connmark {
                    op: None,
                    save: None,
                    nfmask: u32::MAX,
                    ctmask: u32::MAX,
                },
                "DNAT" => Kind::Nat(nat(NatKind::Dnat)),
                "SNAT" => Kind::Nat(nat(NatKind::Snat)),
                "MASQUERADE" => Kind::Nat(nat(NatKind::Masquerade)),
                "REDIRECT" => Kind::Nat(nat(NatKind::Redirect)),
                "NETMAP" => Kind::Nat(nat(NatKind::Netmap)),
                "NOTRACK" => Kind::Notrack,
                "CT" => Kind::Ct {
                    notrack: false,
                    helper: None,
                    zone: None,
                },
                "NFQUEUE" => Kind::Queue(Queue {
                    num: 0,
                    last: 0,
                    bypass: false,
                    fanout: false,
                }),
                "TCPMSS" => Kind::Shown(TCPMSS),
                "CHECKSUM" => Kind::Shown(CHECKSUM),
                "CLASSIFY" => Kind::Shown(CLASSIFY),
                "AUDIT" => Kind::Shown(AUDIT),
                "SECMARK" => Kind::Shown(SECMARK),
                "CONNSECMARK" => Kind::Shown(CONNSECMARK),
                "DSCP" => Kind::Dscp(None),
                "TOS" => Kind::Tos(None),
                _ => Kind::Other { options: false },
            }
        };
        Target {
            name: name.to_string(),
            span,
            goto,
            kind,
        }
    }

    /// Whether `--name` is an option of this target.
    pub fn knows(&self, name: &str) -> bool {
        let opts: &[&str] = match &self.kind {
            Kind::Verdict(_) | Kind::Trace | Kind::Notrack => &[],
            Kind::Reject(_) => &["reject-with"],
            Kind::Log(l) => match l.kind {
                LogKind::Kernel => &[
                    "log-level",
                    "log-prefix",
                    "log-tcp-sequence",
                    "log-tcp-options",
                    "log-ip-options",
                    "log-uid",
                    "log-macdecode",
                ],
                LogKind::Nflog { .. } => &[
                    "nflog-group",
                    "nflog-prefix",
                    "nflog-range",
                    "nflog-size",
                    "nflog-threshold",
                ],
                LogKind::Ulog { .. } => &[
                    "ulog-nlgroup",
                    "ulog-prefix",
                    "ulog-cprange",
                    "ulog-qthreshold",
                ],
            },
            Kind::Mark { .. } => &["set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark"],
            Kind::Connmark { .. } => &[
                "set-xmark",
                "set-mark",
                "and-mark",
                "or-mark",
                "xor-mark",
                "save-mark",
                "restore-mark",
                "nfmask",
                "ctmask",
                "mask",
            ],
            Kind::Nat(n) => match n.kind {
                // `--to` is getopt's unique abbreviation of `--to-destination`/`--to-source`
                // (iptables-translate's own tests write it so).
                NatKind::Dnat => &[
                    "to-destination",
                    "to",
                    "random",
                    "persistent",
                    "random-fully",
                ],
                NatKind::Snat => &["to-source", "to", "random", "persistent", "random-fully"],
                NatKind::Masquerade => &["to-ports", "random", "random-fully"],
                NatKind::Redirect => &["to-ports", "random"],
                NatKind::Netmap => &["to"],
            },
            Kind::Ct { .. } => &[
                "notrack",
                "helper",
                "zone",
                "zone-orig",
                "zone-reply",
                "ctevents",
                "expevents",
                "timeout",
            ],
            Kind::Queue(_) => &[
                "queue-num",
                "queue-balance",
                "queue-bypass",
                "queue-cpu-fanout",
                "fanout",
                "fail-open",
            ],
            Kind::Shown(opts) => return opts.iter().any(|(n, _)| *n == name),
            Kind::Dscp(_) => &["set-dscp", "set-dscp-class"],
            Kind::Tos(_) => &["set-tos", "and-tos", "or-tos", "xor-tos"],
            Kind::Other { .. } => return !self.goto,
        };
        opts.contains(&name)
    }

    /// Whether this may be an unmodelled extension target that takes any option.
    pub fn is_unknown(&self) -> bool {
        matches!(self.kind, Kind::Other { .. }) && !self.goto
    }

    /// Takes option `opt` (which [`Target::knows`]) and its arguments.
    pub fn option<'t, 'a>(
        &mut self,
        mut opt: Opt<'t, 'a>,
        cur: &mut Cursor<'t, 'a>,
        cx: &Cx<'_>,
    ) -> Result<(), ParseError> {
        opt.no_neg(cx)?;
        let name = opt.name;
        macro_rules! arg {
            () => {{
                let t = cur.arg(cx, &mut opt)?;
                opt.no_neg(cx)?;
                t
            }};
        }
        macro_rules! val {
            ($t:expr, $r:expr) => {
                $r.map_err(|b: Bad| cx.invalid($t, b))?
            };
        }
        let v6 = cx.v6();
        match &mut self.kind {
            Kind::Reject(with) => {
                let t = arg!();
                *with = Some(val!(t, reject_with(&t.text, v6)));
            }
            Kind::Log(l) => match name {
                "log-level" => {
                    let t = arg!();
                    l.level = Some(val!(t, log_level(&t.text)));
                }
                "log-prefix" | "nflog-prefix" | "ulog-prefix" => {
                    let t = arg!();
                    if name == "log-prefix" && t.text.len() > 29 {
                        return Err(cx.invalid(t, bad("log prefix", "longer than 29 characters")));
                    }
                    l.prefix = t.text.to_string();
                }
                "log-tcp-sequence" => l.tcp_sequence = true,
                "log-tcp-options" => l.tcp_options = true,
                "log-ip-options" => l.ip_options = true,
                "log-uid" => l.uid = true,
                "log-macdecode" => l.macdecode = true,
                "nflog-group" | "ulog-nlgroup" => {
                    let t = arg!();
                    let g = val!(t, values::number(&t.text, 65535, "group")) as u16;
                    l.kind = match l.kind {
                        LogKind::Nflog { .. } => LogKind::Nflog { group: g },
                        _ => LogKind::Ulog { group: g },
                    };
                }
                _ => {
                    let t = arg!();
                    val!(t, values::number(&t.text, u32::MAX.into(), "number"));
                }
            },
            Kind::Mark { value, mask, set } => {
                let t = arg!();
                let (v, m) = val!(
                    t,
                    values::value_mask(&t.text, u32::MAX.into(), u32::MAX.into(), "mark")
                );
                let (v, m) = (v as u32, m as u32);
                (*value, *mask) = xmark(name, v, m);
                *set = true;
            }
            Kind::Connmark {
                op,
                save,
                nfmask,
                ctmask,
            } => match name {
                "save-mark" | "restore-mark" => *save = Some(name == "save-mark"),
                "nfmask" | "ctmask" | "mask" => {
                    let t = arg!();
                    let m = val!(t, values::number(&t.text, u32::MAX.into(), "mask")) as u32;
                    if name != "ctmask" {
                        *nfmask = m;
                    }
                    if name != "nfmask" {
                        *ctmask = m;
                    }
                }
                _ => {
                    let t = arg!();
                    let (v, m) = val!(
                        t,
                        values::value_mask(&t.text, u32::MAX.into(), u32::MAX.into(), "mark")
                    );
                    let (value, mask) = xmark(name, v as u32, m as u32);
                    *op = Some(CtMarkOp::SetXmark { value, mask });
                }
            },
            Kind::Nat(n) => match name {
                "random" => n.random = true,
                "random-fully" => n.fully_random = true,
                "persistent" => n.persistent = true,
                "to-ports" => {
                    let t = arg!();
                    n.ports = Some(val!(t, values::port_range(&t.text, '-')));
                }
                "to" if n.kind == NatKind::Netmap => {
                    let t = arg!();
                    match val!(t, values::prefix(&t.text, cx.family)) {
                        values::Masked::Prefix(p) => n.addr = Some((p.network(), p.broadcast())),
                        values::Masked::NonContiguous => {
                            return Err(cx.invalid(
                                t,
                                bad("NETMAP prefix", "the netmask must be contiguous"),
                            ))
                        }
                    }
                }
                _ => {
                    let t = arg!();
                    if n.addr.is_some() || n.ports.is_some() {
                        return Err(cx.unsupported(opt.tok.span, format!("a second --{name}")));
                    }
                    let (addr, ports) = val!(t, nat_spec(&t.text, cx));
                    n.addr = addr;
                    n.ports = ports;
                }
            },
            Kind::Ct {
                notrack,
                helper,
                zone,
            } => match name {
                "notrack" => *notrack = true,
                "helper" => *helper = Some(arg!().text.to_string()),
                "zone" | "zone-orig" | "zone-reply" => {
                    let t = arg!();
                    match values::number(&t.text, 65535, "zone") {
                        Ok(z) if name == "zone" => *zone = Some(z as u16),
                        Ok(_) => {}
                        // `--zone mark`: the zone comes from the packet mark.
                        Err(_) if t.text == "mark" => {}
                        Err(b) => return Err(cx.invalid(t, b)),
                    }
                }
                _ => {
                    arg!();
                }
            },
            Kind::Queue(q) => match name {
                "queue-num" => {
                    let t = arg!();
                    q.num = val!(t, values::number(&t.text, 65535, "queue number")) as u16;
                    q.last = q.num;
                }
                "queue-balance" => {
                    let t = arg!();
                    let (a, b) = val!(t, values::port_range(&t.text, ':'));
                    (q.num, q.last) = (a, b);
                }
                "queue-bypass" => q.bypass = true,
                "queue-cpu-fanout" | "fanout" => q.fanout = true,
                _ => {}
            },
            Kind::Shown(opts) => {
                let arity = opts.iter().find(|(n, _)| *n == name).map_or(0, |&(_, a)| a);
                for _ in 0..arity {
                    arg!();
                }
            }
            Kind::Dscp(d) => {
                let t = arg!();
                let v = if name == "set-dscp" {
                    val!(t, values::number(&t.text, 63, "DSCP"))
                } else {
                    val!(t, dscp_class(&t.text))
                };
                *d = Some(v as u8);
            }
            Kind::Tos(tos) => {
                let t = arg!();
                *tos = Some(if name == "set-tos" {
                    let (v, m) = val!(t, tos_value(&t.text, 0xFF));
                    (v as u8, m as u8)
                } else {
                    let bits = val!(t, values::number(&t.text, 255, "TOS")) as u8;
                    match name {
                        "and-tos" => (0, !bits),
                        "or-tos" => (bits, bits),
                        _ => (bits, 0),
                    }
                });
            }
            Kind::Other { options } => {
                *options = true;
                while cur.optional_value().is_some() {}
            }
            Kind::Verdict(_) | Kind::Trace | Kind::Notrack => {
                return Err(cx.unsupported(
                    opt.tok.span,
                    format!("option {} of target {}", opt.tok.text, self.name),
                ))
            }
        }
        Ok(())
    }

    /// The actions once all options are read.
    pub fn finish(self, cx: &Cx<'_>) -> Result<Lowered, ParseError> {
        let v6 = cx.v6();
        let missing = |what: &str| {
            cx.expected(
                Span::new(self.span.end as usize, self.span.end as usize),
                what,
                "",
            )
        };
        let actions = match self.kind {
            Kind::Verdict(v) => vec![Action::Verdict(v)],
            Kind::Reject(with) => {
                let default = if v6 {
                    Reject::DEFAULT_V6
                } else {
                    Reject::DEFAULT_V4
                };
                vec![Action::Verdict(Verdict::Reject(with.unwrap_or(default)))]
            }
            Kind::Log(l) => vec![Action::Log(l)],
            Kind::Trace => vec![Action::Trace],
            Kind::Mark { value, mask, set } => {
                if !set {
                    return Err(missing(
                        "--set-xmark, --set-mark, --and-mark, --or-mark or --xor-mark",
                    ));
                }
                vec![Action::SetMark { value, mask }]
            }
            Kind::Connmark {
                op,
                save,
                nfmask,
                ctmask,
            } => match (op, save) {
                (Some(op), None) => vec![Action::CtMark(op)],
                (None, Some(true)) => vec![Action::CtMark(CtMarkOp::Save { nfmask, ctmask })],
                (None, Some(false)) => vec![Action::CtMark(CtMarkOp::Restore { nfmask, ctmask })],
                _ => {
                    return Err(missing(
                        "one of --set-xmark, --set-mark, --save-mark or --restore-mark",
                    ))
                }
            },
            Kind::Nat(n) => {
                if matches!(n.kind, NatKind::Dnat | NatKind::Snat | NatKind::Netmap)
                    && n.addr.is_none()
                    && n.ports.is_none()
                {
                    let opt = match n.kind {
                        NatKind::Dnat => "--to-destination",
                        NatKind::Snat => "--to-source",
                        _ => "--to",
                    };
                    return Err(missing(opt));
                }
                vec![Action::Nat(n), Action::Verdict(Verdict::Accept)]
            }
            Kind::Notrack => vec![Action::Notrack],
            Kind::Ct { notrack: true, .. } => vec![Action::Notrack],
            Kind::Ct {
                helper: None,
                zone: None,
                ..
            } => vec![Action::Shown(self.name.clone())],
            Kind::Ct { helper, zone, .. } => vec![Action::CtSet { helper, zone }],
            Kind::Queue(q) => vec![Action::Verdict(Verdict::Queue(q))],
            Kind::Shown(_) => vec![Action::Shown(self.name.clone())],
            Kind::Dscp(d) => vec![Action::SetDscp(
                d.ok_or_else(|| missing("--set-dscp or --set-dscp-class"))?,
            )],
            Kind::Tos(t) => {
                let (value, mask) =
                    t.ok_or_else(|| missing("--set-tos, --and-tos, --or-tos or --xor-tos"))?;
                vec![Action::SetTos { value, mask }]
            }
            Kind::Other { options } => {
                let extension = options || UNMODELLED.contains(&self.name.as_str());
                let otherwise = extension.then(|| Action::Undecidable(self.name.clone()));
                return Ok(Lowered::Chain {
                    name: self.name,
                    span: self.span,
                    goto: self.goto,
                    otherwise,
                });
            }
        };
        Ok(Lowered::Actions(actions))
    }
}

/// The kernel's xmark form of MARK's options: `mark = (mark & !mask) ^ value`.
fn xmark(option: &str, v: u32, m: u32) -> (u32, u32) {
    match option {
        "set-xmark" => (v, m),
        // --set-mark v/m zeroes the mask bits and sets v (libxt_MARK: mask = v | m).
        "set-mark" => (v, v | m),
        "and-mark" => (0, !v),
        "or-mark" => (v, v),
        _ => (v, 0),
    }
}

/// `--reject-with` names (with libxt_REJECT's short aliases and unique prefixes).
fn reject_with(s: &str, v6: bool) -> Result<Reject, Bad> {
    const V4: &[(&str, &str, Reject)] = &[
        ("icmp-net-unreachable", "net-unreach", Reject::Icmp(0)),
        ("icmp-host-unreachable", "host-unreach", Reject::Icmp(1)),
        ("icmp-proto-unreachable", "proto-unreach", Reject::Icmp(2)),
        ("icmp-port-unreachable", "port-unreach", Reject::Icmp(3)),
        ("icmp-net-prohibited", "net-prohib", Reject::Icmp(9)),
        ("icmp-host-prohibited", "host-prohib", Reject::Icmp(10)),
        ("tcp-reset", "tcp-rst", Reject::TcpReset),
        ("icmp-admin-prohibited", "admin-prohib", Reject::Icmp(13)),
    ];
    const V6: &[(&str, &str, Reject)] = &[
        ("icmp6-no-route", "no-route", Reject::Icmpv6(0)),
        ("icmp6-adm-prohibited", "adm-prohibited", Reject::Icmpv6(1)),
        ("icmp6-addr-unreachable", "addr-unreach", Reject::Icmpv6(3)),
        ("icmp6-port-unreachable", "port-unreach", Reject::Icmpv6(4)),
        ("icmp6-policy-fail", "policy-fail", Reject::Icmpv6(5)),
        ("icmp6-reject-route", "reject-route", Reject::Icmpv6(6)),
        ("tcp-reset", "tcp-rst", Reject::TcpReset),
    ];
    let table = if v6 { V6 } else { V4 };
    let lower = s.to_ascii_lowercase();
    let exact = table.iter().find(|(n, a, _)| *n == lower || *a == lower);
    let prefix = || {
        table
            .iter()
            .find(|(n, a, _)| !lower.is_empty() && (n.starts_with(&lower) || a.starts_with(&lower)))
    };
    exact.or_else(prefix).map(|&(_, _, r)| r).ok_or_else(|| {
        bad(
            "reject type",
            if v6 {
                "not an ip6tables --reject-with type"
            } else {
                "not an iptables --reject-with type"
            },
        )
    })
}

/// syslog levels by number or name.
fn log_level(s: &str) -> Result<u8, Bad> {
    const NAMES: [(&str, u8); 10] = [
        ("emerg", 0),
        ("panic", 0),
        ("alert", 1),
        ("crit", 2),
        ("err", 3),
        ("error", 3),
        ("warning", 4),
        ("warn", 4),
        ("notice", 5),
        ("info", 6),
    ];
    if s.eq_ignore_ascii_case("debug") {
        return Ok(7);
    }
    if let Some(&(_, n)) = NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok(n);
    }
    values::number(s, 7, "log level")
        .map(|n| n as u8)
        .map_err(|_| bad("log level", "expected 0-7 or a syslog level name"))
}

/// NAT ranges and ports, if given.
type NatSpec = (Option<(IpAddr, IpAddr)>, Option<(u16, u16)>);

/// `[a[-b]][:p[-q]]`; IPv6 addresses in brackets when a port follows (`[::1]:80`).
fn nat_spec(s: &str, cx: &Cx<'_>) -> Result<NatSpec, Bad> {
    let (addrs, ports) = if cx.v6() {
        if let Some(rest) = s.strip_prefix('[') {
            // `[a]`, `[a]-[b]`, each optionally followed by `:ports`.
            let (a, rest) = rest
                .split_once(']')
                .ok_or_else(|| bad("NAT address", "missing `]`"))?;
            let (b, rest) = match rest.strip_prefix("-[") {
                Some(r) => {
                    let (b, r) = r
                        .split_once(']')
                        .ok_or_else(|| bad("NAT address", "missing `]`"))?;
                    (Some(b), r)
                }
                None => (None, rest),
            };
            let ports = match rest.strip_prefix(':') {
                Some(p) => Some(p),
                None if rest.is_empty() => None,
                None => return Err(bad("NAT address", "unexpected text after `]`")),
            };
            let a = values::address(a, cx.family)?;
            let b = match b {
                Some(b) => values::address(b, cx.family)?,
                None => a,
            };
            (Some((a, b)), ports)
        } else if s.starts_with(':') && !s.starts_with("::") {
            (None, Some(&s[1..]))
        } else {
            (Some(values::address_range(s, cx.family)?), None)
        }
    } else {
        let (a, p) = match s.split_once(':') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addrs = if a.is_empty() {
            None
        } else {
            Some(values::address_range(a, cx.family)?)
        };
        (addrs, p)
    };
    let ports = match ports {
        Some(p) if p.contains('/') => {
            return Err(bad(
                "NAT ports",
                "shifted port ranges (`/base`) are not modelled",
            ))
        }
        Some(p) => Some(values::port_range(p, '-')?),
        None => None,
    };
    Ok((addrs, ports))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_names_and_aliases() {
        assert_eq!(
            reject_with("icmp-host-prohibited", false),
            Ok(Reject::Icmp(10))
        );
        assert_eq!(reject_with("net-unreach", false), Ok(Reject::Icmp(0)));
        assert_eq!(reject_with("tcp-reset", false), Ok(Reject::TcpReset));
        assert_eq!(
            reject_with("icmp6-adm-prohibited", true),
            Ok(Reject::Icmpv6(1))
        );
        assert_eq!(reject_with("addr-unreach", true), Ok(Reject::Icmpv6(3)));
        assert!(reject_with("icmp6-no-route", false).is_err());
    }

    #[test]
    fn xmark_formulas() {
        assert_eq!(xmark("set-xmark", 1, 0xff), (1, 0xff));
        assert_eq!(xmark("set-mark", 1, u32::MAX), (1, u32::MAX));
        assert_eq!(xmark("and-mark", 0xf0, 0), (0, !0xf0));
        assert_eq!(xmark("or-mark", 4, 0), (4, 4));
        assert_eq!(xmark("xor-mark", 4, 0), (4, 0));
    }

    /// Found by the txlate cross-check: `-j SNAT --to 1.2.3.4` (getopt's abbreviation of
    /// `--to-source`, as the iptables suite writes it) was refused.
    #[test]
    fn nat_to_abbreviates_to_source_and_to_destination() {
        let text = "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                    -A POSTROUTING -o eth0 -j SNAT --to 1.2.3.4-1.2.3.6\n\
                    -A PREROUTING -p tcp -j DNAT --to 10.0.0.1:80\nCOMMIT\n";
        let rs = crate::iptables_save::parse(
            &model::SourceFile::new("t", text),
            Some(model::Family::Ip),
        )
        .unwrap();
        let nat = |c: usize| {
            rs.tables[0].chains[c].rules[0]
                .actions()
                .find_map(|a| match a {
                    Action::Nat(n) => Some((n.kind, n.addr, n.ports)),
                    _ => None,
                })
                .unwrap()
        };
        let t = &rs.tables[0];
        let post = t.chain("POSTROUTING").unwrap();
        let pre = t.chain("PREROUTING").unwrap();
        let a = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(
            nat(post),
            (NatKind::Snat, Some((a("1.2.3.4"), a("1.2.3.6"))), None)
        );
        assert_eq!(
            nat(pre),
            (
                NatKind::Dnat,
                Some((a("10.0.0.1"), a("10.0.0.1"))),
                Some((80, 80))
            )
        );
    }

    #[test]
    fn log_levels() {
        assert_eq!(log_level("info"), Ok(6));
        assert_eq!(log_level("7"), Ok(7));
        assert!(log_level("8").is_err());
    }
}
