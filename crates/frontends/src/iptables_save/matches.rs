//! Match modules (`-m name --option value ...`) lowered into `model::expr` with the
//! semantics of the kernel's xt modules.
//!
//! A [`Module`] is created by `-m name` (or implicitly by `-p tcp` when a `--dport` follows),
//! takes its options one by one and, at the end of the rule, yields [`Item`]s. Modules
//! whose result depends on things not known offline (rates, time, payload, ...) and modules
//! whyblocked does not know become one [`Test::Undecidable`] carrying the module's text.
//! An unknown option of a known module is an error; an unknown module is not.

use super::cursor::{Cursor, Cx, Opt};
use super::values::{self, bad, Bad, Masked};
use crate::ParseError;
use model::expr::{
    ct_state, ct_status, rtn, Absent, CmpOp, IfaceLimit, Key, Match, Pattern, SetRef, Test,
    Undecidable, Value,
};
use model::packet::Mac;
use model::Span;

/// One lowered condition of a rule, or a disjunction the rule is split on.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    One(Match),
    /// Mutually exclusive alternatives (each a conjunction): the rule becomes one rule per
    /// alternative, so exactly one of them can match a packet (`--ports`, `! type/code`).
    Either(Vec<Vec<Match>>),
}

/// Options of the modules whose results are undecidable offline, with how many words
/// each takes, so that their options are consumed exactly and typos are caught.
const LIMIT: &[(&str, u8)] = &[("limit", 1), ("limit-burst", 1)];
const HASHLIMIT: &[(&str, u8)] = &[
    ("hashlimit", 1),
    ("hashlimit-upto", 1),
    ("hashlimit-above", 1),
    ("hashlimit-burst", 1),
    ("hashlimit-mode", 1),
    ("hashlimit-srcmask", 1),
    ("hashlimit-dstmask", 1),
    ("hashlimit-name", 1),
    ("hashlimit-htable-size", 1),
    ("hashlimit-htable-max", 1),
    ("hashlimit-htable-expire", 1),
    ("hashlimit-htable-gcinterval", 1),
    ("hashlimit-rate-match", 0),
    ("hashlimit-rate-interval", 1),
];
const RECENT: &[(&str, u8)] = &[
    ("set", 0),
    ("rcheck", 0),
    ("update", 0),
    ("remove", 0),
    ("seconds", 1),
    ("reap", 0),
    ("hitcount", 1),
    ("rttl", 0),
    ("name", 1),
    ("rsource", 0),
    ("rdest", 0),
    ("mask", 1),
];
const CONNLIMIT: &[(&str, u8)] = &[
    ("connlimit-upto", 1),
    ("connlimit-above", 1),
    ("connlimit-mask", 1),
    ("connlimit-saddr", 0),
    ("connlimit-daddr", 0),
];
const STATISTIC: &[(&str, u8)] = &[("mode", 1), ("probability", 1), ("every", 1), ("packet", 1)];
const TIME: &[(&str, u8)] = &[
    ("datestart", 1),
    ("datestop", 1),
    ("timestart", 1),
    ("timestop", 1),
    ("monthdays", 1),
    ("weekdays", 1),
    ("kerneltz", 0),
    ("localtz", 0),
    ("utc", 0),
    ("contiguous", 0),
];
const STRING: &[(&str, u8)] = &[
    ("algo", 1),
    ("from", 1),
    ("to", 1),
    ("string", 1),
    ("hex-string", 1),
    ("icase", 0),
];
const U32: &[(&str, u8)] = &[("u32", 1)];
const BPF: &[(&str, u8)] = &[("bytecode", 1), ("object-pinned", 1)];
const QUOTA: &[(&str, u8)] = &[("quota", 1)];
const NFACCT: &[(&str, u8)] = &[("nfacct-name", 1)];
const SOCKET: &[(&str, u8)] = &[("transparent", 0), ("nowildcard", 0), ("restore-skmark", 0)];

/// What a module is and what it has gathered so far.
#[derive(Debug)]
enum Kind {
    Tcp,
    Udp,
    Sctp,
    Icmp,
    Icmp6,
    Multiport,
    State,
    Conntrack(Box<CtAcc>),
    Comment,
    Addrtype(AddrAcc),
    Iprange,
    Mac,
    Mark,
    Connmark,
    Pkttype,
    Owner,
    Length,
    Ttl,
    Hl,
    Tos,
    Dscp,
    Physdev,
    Set(SetAcc),
    Rpfilter {
        loose: bool,
        validmark: bool,
        accept_local: bool,
        invert: bool,
    },
    Policy {
        dir_in: Option<bool>,
        ipsec: bool,
    },
    Rt,
    /// Known, undecidable offline: options from the table.
    Opaque {
        why: Undecidable,
        opts: &'static [(&'static str, u8)],
    },
    /// Not known: options are taken as they come (an option word and the non-option
    /// words after it).
    Unknown,
}

#[derive(Debug, Default)]
struct CtAcc {
    /// `--ctstate`: state bits, SNAT/DNAT status bits, negated, span.
    state: Option<(u64, u64, bool)>,
    others: Vec<Match>,
}

#[derive(Debug, Default)]
struct AddrAcc {
    src: Option<(Pattern, bool)>,
    dst: Option<(Pattern, bool)>,
    iface: Option<IfaceLimit>,
}

#[derive(Debug, Default)]
struct SetAcc {
    set: Option<(String, Vec<bool>, bool)>,
    /// Options that make the result depend on something other than membership.
    undecidable: Option<&'static str>,
}

/// A loaded match module.
#[derive(Debug)]
pub struct Module {
    pub name: String,
    /// Span of the module name after `-m` (or of `-p`'s value for an implicit one).
    pub span: Span,
    kind: Kind,
    items: Vec<Item>,
    /// The module's words as written, for the text of an undecidable match.
    words: Vec<String>,
    comment: Option<String>,
}

/// What a finished module contributes to the rule.
pub struct Finished {
    pub items: Vec<Item>,
    pub comment: Option<String>,
}

fn one(key: Key, pattern: Pattern, neg: bool) -> Item {
    Item::One(Match::cmp(key, pattern).negate(neg))
}

fn int(n: u64) -> Value {
    Value::Int(n)
}

/// A port or an inclusive range (an inverted range stays inverted: it matches nothing).
fn port_pattern((lo, hi): (u16, u16)) -> Pattern {
    if lo == hi {
        Pattern::Value(int(lo.into()))
    } else {
        Pattern::Range(int(lo.into()), int(hi.into()))
    }
}

fn undecidable(kind: Undecidable, text: String) -> Match {
    Match::new(Test::Undecidable { kind, text })
}

impl Module {
    /// `-m name`: the module for this family, or an unknown one.
    pub fn load(name: &str, span: Span, cx: &Cx<'_>) -> Module {
        let v6 = cx.v6();
        let kind = match name {
            "tcp" => Kind::Tcp,
            "udp" => Kind::Udp,
            "sctp" => Kind::Sctp,
            "icmp" if !v6 => Kind::Icmp,
            "icmp6" if v6 => Kind::Icmp6,
            "multiport" => Kind::Multiport,
            "state" => Kind::State,
            "conntrack" => Kind::Conntrack(Box::default()),
            "comment" => Kind::Comment,
            "addrtype" => Kind::Addrtype(AddrAcc::default()),
            "iprange" => Kind::Iprange,
            "mac" => Kind::Mac,
            "mark" => Kind::Mark,
            "connmark" => Kind::Connmark,
            "pkttype" => Kind::Pkttype,
            "owner" => Kind::Owner,
            "length" => Kind::Length,
            "ttl" if !v6 => Kind::Ttl,
            "hl" if v6 => Kind::Hl,
            "tos" => Kind::Tos,
            "dscp" => Kind::Dscp,
            "physdev" => Kind::Physdev,
            "set" => Kind::Set(SetAcc::default()),
            "rpfilter" => Kind::Rpfilter {
                loose: false,
                validmark: false,
                accept_local: false,
                invert: false,
            },
            "policy" => Kind::Policy {
                dir_in: None,
                ipsec: false,
            },
            "rt" if v6 => Kind::Rt,
            "limit" => Kind::Opaque {
                why: Undecidable::Limit,
                opts: LIMIT,
            },
            "hashlimit" => Kind::Opaque {
                why: Undecidable::Hashlimit,
                opts: HASHLIMIT,
            },
            "recent" => Kind::Opaque {
                why: Undecidable::Recent,
                opts: RECENT,
            },
            "connlimit" => Kind::Opaque {
                why: Undecidable::Connlimit,
                opts: CONNLIMIT,
            },
            "statistic" => Kind::Opaque {
                why: Undecidable::Statistic,
                opts: STATISTIC,
            },
            "time" => Kind::Opaque {
                why: Undecidable::Time,
                opts: TIME,
            },
            "string" => Kind::Opaque {
                why: Undecidable::String,
                opts: STRING,
            },
            "u32" => Kind::Opaque {
                why: Undecidable::U32,
                opts: U32,
            },
            "bpf" => Kind::Opaque {
                why: Undecidable::Bpf,
                opts: BPF,
            },
            "quota" => Kind::Opaque {
                why: Undecidable::Quota,
                opts: QUOTA,
            },
            "nfacct" => Kind::Opaque {
                why: Undecidable::Nfacct,
                opts: NFACCT,
            },
            "socket" => Kind::Opaque {
                why: Undecidable::Socket,
                opts: SOCKET,
            },
            _ => Kind::Unknown,
        };
        Module {
            name: name.to_string(),
            span,
            kind,
            items: Vec::new(),
            words: vec!["-m".into(), name.into()],
            comment: None,
        }
    }

    /// The protocols (`-p`) the kernel requires for this module, if any.
    pub fn required_protocols(&self) -> Option<&'static [u8]> {
        match self.kind {
            Kind::Tcp => Some(&[6]),
            Kind::Udp => Some(&[17]),
            Kind::Sctp => Some(&[132]),
            Kind::Icmp => Some(&[1]),
            Kind::Icmp6 => Some(&[58]),
            Kind::Multiport => Some(&[6, 17, 33, 132, 136]),
            _ => None,
        }
    }

    /// Whether the module takes options it does not know (so it only gets those no other
    /// loaded module claims).
    pub fn is_unknown(&self) -> bool {
        matches!(self.kind, Kind::Unknown)
    }

    /// Whether `--name` is one of this module's options.
    pub fn knows(&self, name: &str) -> bool {
        let opts: &[&str] = match &self.kind {
            Kind::Tcp => &[
                "sport",
                "source-port",
                "dport",
                "destination-port",
                "tcp-flags",
                "syn",
                "tcp-option",
            ],
            Kind::Udp => &["sport", "source-port", "dport", "destination-port"],
            Kind::Sctp => &[
                "sport",
                "source-port",
                "dport",
                "destination-port",
                "chunk-types",
            ],
            Kind::Icmp => &["icmp-type"],
            Kind::Icmp6 => &["icmpv6-type"],
            Kind::Multiport => &[
                "sports",
                "source-ports",
                "dports",
                "destination-ports",
                "ports",
            ],
            Kind::State => &["state"],
            Kind::Conntrack(_) => &[
                "ctstate",
                "ctproto",
                "ctorigsrc",
                "ctorigdst",
                "ctreplsrc",
                "ctrepldst",
                "ctorigsrcport",
                "ctorigdstport",
                "ctreplsrcport",
                "ctrepldstport",
                "ctstatus",
                "ctexpire",
                "ctdir",
            ],
            Kind::Comment => &["comment"],
            Kind::Addrtype(_) => &["src-type", "dst-type", "limit-iface-in", "limit-iface-out"],
            Kind::Iprange => &["src-range", "dst-range"],
            Kind::Mac => &["mac-source"],
            Kind::Mark | Kind::Connmark => &["mark"],
            Kind::Pkttype => &["pkt-type"],
            Kind::Owner => &["uid-owner", "gid-owner", "socket-exists", "suppl-groups"],
            Kind::Length => &["length"],
            Kind::Ttl => &["ttl-eq", "ttl-lt", "ttl-gt"],
            Kind::Hl => &["hl-eq", "hl-lt", "hl-gt"],
            Kind::Tos => &["tos"],
            Kind::Dscp => &["dscp", "dscp-class"],
            Kind::Physdev => &[
                "physdev-in",
                "physdev-out",
                "physdev-is-in",
                "physdev-is-out",
                "physdev-is-bridged",
            ],
            Kind::Set(_) => &[
                "match-set",
                "set",
                "return-nomatch",
                "update-counters",
                "update-subcounters",
                "packets-eq",
                "packets-lt",
                "packets-gt",
                "bytes-eq",
                "bytes-lt",
                "bytes-gt",
            ],
            Kind::Rpfilter { .. } => &["loose", "validmark", "accept-local", "invert"],
            Kind::Policy { .. } => &[
                "dir",
                "pol",
                "strict",
                "reqid",
                "spi",
                "proto",
                "mode",
                "tunnel-src",
                "tunnel-dst",
                "next",
            ],
            Kind::Rt => &[
                "rt-type",
                "rt-segsleft",
                "rt-len",
                "rt-0-res",
                "rt-0-addrs",
                "rt-0-not-strict",
            ],
            Kind::Opaque { opts, .. } => return opts.iter().any(|(n, _)| *n == name),
            Kind::Unknown => return true,
        };
        opts.contains(&name)
    }

    /// Takes option `opt` (which [`Module::knows`]) and its arguments from `cur`.
    pub fn option<'t, 'a>(
        &mut self,
        mut opt: Opt<'t, 'a>,
        cur: &mut Cursor<'t, 'a>,
        cx: &Cx<'_>,
    ) -> Result<(), ParseError> {
        let name = opt.name;
        // Records the words for an undecidable match's text.
        let mut words = Vec::new();
        if opt.neg {
            words.push("!".to_string());
        }
        words.push(opt.tok.text.to_string());
        macro_rules! arg {
            () => {{
                let t = cur.arg(cx, &mut opt)?;
                words.push(shown(&t.text));
                t
            }};
        }
        macro_rules! inv {
            ($r:expr, $t:expr) => {
                $r.map_err(|b: Bad| cx.invalid($t, b))?
            };
        }
        match &mut self.kind {
            Kind::Tcp | Kind::Udp | Kind::Sctp => match name {
                "sport" | "source-port" | "dport" | "destination-port" => {
                    let t = arg!();
                    let range = inv!(values::port_range(&t.text, ':'), t);
                    let key = if name.starts_with('s') {
                        Key::SrcPort
                    } else {
                        Key::DstPort
                    };
                    self.items.push(one(key, port_pattern(range), opt.neg));
                }
                "tcp-flags" => {
                    let mask_tok = arg!();
                    let mask = inv!(tcp_flags(&mask_tok.text), mask_tok);
                    let comp_tok = cur.value(cx, mask_tok, "the TCP flags that must be set")?;
                    words.push(comp_tok.text.to_string());
                    let comp = inv!(tcp_flags(&comp_tok.text), comp_tok);
                    self.items.push(one(
                        Key::TcpFlags,
                        Pattern::Masked { mask, value: comp },
                        opt.neg,
                    ));
                }
                "syn" => self.items.push(one(
                    Key::TcpFlags,
                    Pattern::Masked {
                        mask: 0x17,
                        value: 0x02,
                    },
                    opt.neg,
                )),
                "tcp-option" => {
                    let t = arg!();
                    let n = inv!(values::number(&t.text, 255, "TCP option"), t);
                    self.items.push(Item::One(
                        Match::new(Test::TcpOption(n as u8)).negate(opt.neg),
                    ));
                }
                "chunk-types" => {
                    let _scope = arg!();
                    let _chunks = cur.value(cx, opt.tok, "a list of SCTP chunk types")?;
                    words.push(_chunks.text.to_string());
                    let text = words.join(" ");
                    let m =
                        undecidable(Undecidable::Unsupported("sctp --chunk-types".into()), text);
                    self.items.push(Item::One(m.negate(opt.neg)));
                }
                _ => return Err(unknown_option(cx, &opt, &self.name)),
            },
            Kind::Icmp | Kind::Icmp6 => {
                let v6 = matches!(self.kind, Kind::Icmp6);
                let t = arg!();
                let (ty, lo, hi) = inv!(icmp_type(&t.text, v6), t);
                let (tkey, ckey) = if v6 {
                    (Key::Icmpv6Type, Key::Icmpv6Code)
                } else {
                    (Key::IcmpType, Key::IcmpCode)
                };
                let all_codes = lo == 0 && hi == 255;
                if ty == 255 && !v6 {
                    // `any`: any ICMP header (a later fragment has none and does not match).
                    self.items
                        .push(one(tkey, Pattern::Range(int(0), int(255)), opt.neg));
                } else if all_codes {
                    self.items
                        .push(one(tkey, Pattern::Value(int(ty.into())), opt.neg));
                } else {
                    let code = if lo == hi {
                        Pattern::Value(int(lo.into()))
                    } else {
                        Pattern::Range(int(lo.into()), int(hi.into()))
                    };
                    let ty_m = Match::cmp(tkey, Pattern::Value(int(ty.into())));
                    let code_m = Match::cmp(ckey, code);
                    if opt.neg {
                        // not (type and code) = type differs, or type equal and code differs.
                        let other_type = ty_m.clone().negate(true);
                        self.items.push(Item::Either(vec![
                            vec![other_type],
                            vec![ty_m, code_m.negate(true)],
                        ]));
                    } else {
                        self.items.push(Item::One(ty_m));
                        self.items.push(Item::One(code_m));
                    }
                }
            }
            Kind::Multiport => {
                let t = arg!();
                let ports = inv!(port_list(&t.text), t);
                match name {
                    "sports" | "source-ports" => self.items.push(one(Key::SrcPort, ports, opt.neg)),
                    "dports" | "destination-ports" => {
                        self.items.push(one(Key::DstPort, ports, opt.neg))
                    }
                    _ => {
                        // `--ports`: the source or the destination port is listed.
                        let src = Match::cmp(Key::SrcPort, ports.clone());
                        let dst = Match::cmp(Key::DstPort, ports);
                        if opt.neg {
                            self.items.push(Item::One(src.negate(true)));
                            self.items.push(Item::One(dst.negate(true)));
                        } else {
                            self.items.push(Item::Either(vec![
                                vec![src.clone()],
                                vec![src.negate(true), dst],
                            ]));
                        }
                    }
                }
            }
            Kind::State => {
                let t = arg!();
                let (states, nat) = inv!(ct_states(&t.text, false), t);
                debug_assert_eq!(nat, 0);
                self.items
                    .push(one(Key::CtState, Pattern::AnyBit(states), opt.neg));
            }
            Kind::Conntrack(acc) => conntrack_option(acc, &mut opt, cur, cx, &mut words)?,
            Kind::Comment => {
                opt.no_neg(cx)?;
                let t = arg!();
                let text = t.text.to_string();
                self.comment = Some(match self.comment.take() {
                    Some(prev) => format!("{prev}; {text}"),
                    None => text,
                });
            }
            Kind::Addrtype(acc) => match name {
                "src-type" | "dst-type" => {
                    let t = arg!();
                    let types = inv!(addr_types(&t.text), t);
                    let slot = if name == "src-type" {
                        &mut acc.src
                    } else {
                        &mut acc.dst
                    };
                    *slot = Some((types, opt.neg));
                }
                _ => {
                    opt.no_neg(cx)?;
                    acc.iface = Some(if name == "limit-iface-in" {
                        IfaceLimit::In
                    } else {
                        IfaceLimit::Out
                    });
                }
            },
            Kind::Iprange => {
                let t = arg!();
                let (a, b) = inv!(values::address_range(&t.text, cx.family), t);
                let key = if name == "src-range" {
                    Key::SrcAddr
                } else {
                    Key::DstAddr
                };
                self.items.push(one(
                    key,
                    Pattern::Range(Value::Addr(a), Value::Addr(b)),
                    opt.neg,
                ));
            }
            Kind::Mac => {
                let t = arg!();
                match Mac::parse(&t.text) {
                    Some(mac) => self.items.push(one(
                        Key::EtherSrc,
                        Pattern::Value(Value::Mac(mac)),
                        opt.neg,
                    )),
                    None if is_anonymised_mac(&t.text) => {
                        let why = Undecidable::Unsupported("mac (anonymised address)".into());
                        self.items
                            .push(Item::One(undecidable(why, words.join(" ")).negate(opt.neg)));
                    }
                    None => {
                        return Err(cx.invalid(
                            t,
                            bad(
                                "MAC address",
                                "expected six hex bytes like 00:11:22:33:44:55",
                            ),
                        ))
                    }
                }
            }
            Kind::Mark | Kind::Connmark => {
                let t = arg!();
                let (value, mask) = inv!(
                    values::value_mask(&t.text, u32::MAX.into(), u32::MAX.into(), "mark"),
                    t
                );
                let key = if matches!(self.kind, Kind::Mark) {
                    Key::Mark
                } else {
                    Key::CtMark
                };
                self.items
                    .push(one(key, Pattern::Masked { mask, value }, opt.neg));
            }
            Kind::Pkttype => {
                let t = arg!();
                let v = inv!(pkt_type(&t.text), t);
                self.items
                    .push(one(Key::PktType, Pattern::Value(int(v)), opt.neg));
            }
            Kind::Owner => match name {
                "uid-owner" | "gid-owner" => {
                    let t = arg!();
                    let key = if name == "uid-owner" {
                        Key::SkUid
                    } else {
                        Key::SkGid
                    };
                    match id_range(&t.text) {
                        Some(pattern) => {
                            // xt_owner: a packet without a socket matches exactly when every
                            // given option is negated, so the absent key compares unequal.
                            let mut m = Match::cmp(key, pattern).negate(opt.neg);
                            m.when_absent = Absent::Unequal;
                            self.items.push(Item::One(m));
                        }
                        None => {
                            let why = Undecidable::Unsupported(format!(
                                "owner --{name} with a user or group name"
                            ));
                            self.items
                                .push(Item::One(undecidable(why, words.join(" ")).negate(opt.neg)));
                        }
                    }
                }
                "socket-exists" => {
                    self.items.push(Item::One(
                        undecidable(Undecidable::Socket, words.join(" ")).negate(opt.neg),
                    ));
                }
                _ => {
                    let why = Undecidable::Unsupported("owner --suppl-groups".into());
                    self.items
                        .push(Item::One(undecidable(why, words.join(" "))));
                }
            },
            Kind::Length => {
                let t = arg!();
                let (lo, hi) = inv!(u16_range(&t.text, "length"), t);
                self.items
                    .push(one(Key::Length, port_pattern((lo, hi)), opt.neg));
            }
            Kind::Ttl | Kind::Hl => {
                let t = arg!();
                let n = inv!(values::number(&t.text, 255, "TTL"), t);
                let op = &name[name.len() - 2..];
                if op != "eq" {
                    opt.no_neg(cx)?;
                }
                let pattern = match op {
                    "eq" => Pattern::Value(int(n)),
                    "lt" => Pattern::Compare(CmpOp::Lt, int(n)),
                    _ => Pattern::Compare(CmpOp::Gt, int(n)),
                };
                self.items.push(one(Key::Ttl, pattern, opt.neg));
            }
            Kind::Tos => {
                let t = arg!();
                let (value, mask) = inv!(tos_value(&t.text, 0xFF), t);
                self.items
                    .push(one(Key::Tos, Pattern::Masked { mask, value }, opt.neg));
            }
            Kind::Dscp => {
                let t = arg!();
                let v = if name == "dscp" {
                    inv!(values::number(&t.text, 63, "DSCP"), t)
                } else {
                    inv!(dscp_class(&t.text), t)
                };
                self.items
                    .push(one(Key::Dscp, Pattern::Value(int(v)), opt.neg));
            }
            Kind::Physdev => {
                let (key, pattern) = match name {
                    "physdev-in" | "physdev-out" => {
                        let t = arg!();
                        if t.text.len() > 15 {
                            return Err(
                                cx.invalid(t, bad("interface", "longer than 15 characters"))
                            );
                        }
                        let key = if name == "physdev-in" {
                            Key::PhysIn
                        } else {
                            Key::PhysOut
                        };
                        (key, Pattern::Iface(t.text.to_string()))
                    }
                    "physdev-is-in" => (Key::PhysIn, Pattern::Iface("+".into())),
                    "physdev-is-out" => (Key::PhysOut, Pattern::Iface("+".into())),
                    _ => (Key::PhysIsBridged, Pattern::Value(int(1))),
                };
                // xt_physdev: on a packet that was not bridged each option compares
                // unequal, so a negated one matches.
                let mut m = Match::cmp(key, pattern).negate(opt.neg);
                m.when_absent = Absent::Unequal;
                self.items.push(Item::One(m));
            }
            Kind::Set(acc) => match name {
                "match-set" | "set" => {
                    let n = arg!();
                    let f = cur.value(cx, n, "the set's direction flags (src,dst)")?;
                    let flags = inv!(set_flags(&f.text), f);
                    acc.set = Some((n.text.to_string(), flags, opt.neg));
                }
                "return-nomatch" => acc.undecidable = Some("set --return-nomatch"),
                "update-counters" | "update-subcounters" => {}
                _ => {
                    let t = arg!();
                    inv!(values::number(&t.text, u64::MAX, "counter"), t);
                    acc.undecidable = Some("set counter conditions");
                }
            },
            Kind::Rpfilter {
                loose,
                validmark,
                accept_local,
                invert,
            } => {
                opt.no_neg(cx)?;
                match name {
                    "loose" => *loose = true,
                    "validmark" => *validmark = true,
                    "accept-local" => *accept_local = true,
                    _ => *invert = true,
                }
            }
            Kind::Policy { dir_in, ipsec } => match name {
                "dir" => {
                    let t = arg!();
                    *dir_in = Some(match &*t.text {
                        "in" => true,
                        "out" => false,
                        _ => {
                            return Err(
                                cx.invalid(t, bad("policy direction", "expected `in` or `out`"))
                            )
                        }
                    });
                }
                "pol" => {
                    let t = arg!();
                    *ipsec = match &*t.text {
                        "none" => false,
                        "ipsec" => true,
                        _ => return Err(cx.invalid(t, bad("policy", "expected `none` or `ipsec`"))),
                    };
                }
                "strict" | "next" => {}
                _ => {
                    arg!();
                    *ipsec = true;
                }
            },
            Kind::Rt => {
                let t = arg!();
                if name == "rt-type" {
                    let n = inv!(values::number(&t.text, 255, "routing header type"), t);
                    self.items
                        .push(one(Key::Ip6RtType, Pattern::Value(int(n)), opt.neg));
                } else {
                    let why = Undecidable::Unsupported(format!("rt --{name}"));
                    self.items
                        .push(Item::One(undecidable(why, words.join(" ")).negate(opt.neg)));
                }
            }
            Kind::Opaque { opts, .. } => {
                let arity = opts.iter().find(|(n, _)| *n == name).map_or(0, |&(_, a)| a);
                for _ in 0..arity {
                    arg!();
                }
            }
            Kind::Unknown => {
                while let Some(t) = cur.optional_value() {
                    words.push(shown(&t.text));
                }
            }
        }
        self.words.extend(words);
        Ok(())
    }

    /// The module's contribution once the rule's words are all read.
    pub fn finish(self, cx: &Cx<'_>) -> Result<Finished, ParseError> {
        let text = self.words.join(" ");
        let mut items = self.items;
        match self.kind {
            Kind::Opaque { why, .. } => items.push(Item::One(undecidable(why, text))),
            Kind::Unknown => items.push(Item::One(undecidable(
                Undecidable::Unsupported(self.name.clone()),
                text,
            ))),
            Kind::Conntrack(acc) => items.extend(finish_conntrack(*acc, text)),
            Kind::Addrtype(acc) => {
                if let Some((p, neg)) = acc.src {
                    items.push(one(
                        Key::FibAddrType {
                            dst: false,
                            iface: acc.iface,
                        },
                        p,
                        neg,
                    ));
                }
                if let Some((p, neg)) = acc.dst {
                    items.push(one(
                        Key::FibAddrType {
                            dst: true,
                            iface: acc.iface,
                        },
                        p,
                        neg,
                    ));
                }
            }
            Kind::Set(acc) => match (acc.set, acc.undecidable) {
                (Some(_), Some(why)) => items.push(Item::One(undecidable(
                    Undecidable::Unsupported(why.into()),
                    text,
                ))),
                (Some((name, src, neg)), None) => {
                    let test = Test::InSet {
                        keys: vec![],
                        set: SetRef::Ipset { name, src },
                    };
                    items.push(Item::One(Match::new(test).negate(neg)));
                }
                (None, _) => {
                    return Err(cx.expected(self.span, "--match-set NAME src|dst after -m set", ""))
                }
            },
            Kind::Rpfilter {
                loose,
                validmark,
                accept_local,
                invert,
            } => {
                items.push(Item::One(
                    Match::new(Test::RpFilter {
                        loose,
                        validmark,
                        accept_local,
                    })
                    .negate(invert),
                ));
            }
            Kind::Policy { dir_in, ipsec } => match dir_in {
                Some(dir_in) => {
                    items.push(Item::One(Match::new(Test::IpsecPolicy { dir_in, ipsec })))
                }
                None => return Err(cx.expected(self.span, "--dir in|out after -m policy", "")),
            },
            _ => {}
        }
        Ok(Finished {
            items,
            comment: self.comment,
        })
    }
}

/// A word as it would be written back (quoted if it has spaces).
fn shown(s: &str) -> String {
    if s.is_empty() || s.contains([' ', '\t']) {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

fn unknown_option(cx: &Cx<'_>, opt: &Opt<'_, '_>, module: &str) -> ParseError {
    cx.unsupported(
        opt.tok.span,
        format!("option {} of match `{module}`", opt.tok.text),
    )
}

fn conntrack_option<'t, 'a>(
    acc: &mut CtAcc,
    opt: &mut Opt<'t, 'a>,
    cur: &mut Cursor<'t, 'a>,
    cx: &Cx<'_>,
    words: &mut Vec<String>,
) -> Result<(), ParseError> {
    let t = cur.arg(cx, opt)?;
    words.push(shown(&t.text));
    let neg = opt.neg;
    let inv = |b: Bad| cx.invalid(t, b);
    let m = match opt.name {
        "ctstate" => {
            let (states, nat) = ct_states(&t.text, true).map_err(inv)?;
            acc.state = Some((states, nat, neg));
            return Ok(());
        }
        "ctproto" => Match::cmp(
            Key::CtProto,
            Pattern::Value(int(values::protocol(&t.text).map_err(inv)?.into())),
        ),
        "ctorigsrc" | "ctorigdst" | "ctreplsrc" | "ctrepldst" => {
            let key = match opt.name {
                "ctorigsrc" => Key::CtOrigSrc,
                "ctorigdst" => Key::CtOrigDst,
                "ctreplsrc" => Key::CtReplSrc,
                _ => Key::CtReplDst,
            };
            match values::prefix(&t.text, cx.family).map_err(inv)? {
                Masked::Prefix(p) => Match::cmp(key, Pattern::Prefix(p)),
                Masked::NonContiguous => undecidable(
                    Undecidable::Unsupported("non-contiguous netmask".into()),
                    words.join(" "),
                ),
            }
        }
        "ctorigsrcport" | "ctorigdstport" | "ctreplsrcport" | "ctrepldstport" => {
            let key = match opt.name {
                "ctorigsrcport" => Key::CtOrigSrcPort,
                "ctorigdstport" => Key::CtOrigDstPort,
                "ctreplsrcport" => Key::CtReplSrcPort,
                _ => Key::CtReplDstPort,
            };
            Match::cmp(
                key,
                port_pattern(values::port_range(&t.text, ':').map_err(inv)?),
            )
        }
        "ctstatus" => Match::cmp(
            Key::CtStatus,
            Pattern::AnyBit(ct_statuses(&t.text).map_err(inv)?),
        ),
        "ctexpire" => undecidable(
            Undecidable::Unsupported("conntrack --ctexpire".into()),
            words.join(" "),
        ),
        _ => {
            opt.no_neg(cx)?;
            let dir = if t.text.eq_ignore_ascii_case("ORIGINAL") {
                0
            } else if t.text.eq_ignore_ascii_case("REPLY") {
                1
            } else {
                return Err(cx.invalid(t, bad("conntrack direction", "expected ORIGINAL or REPLY")));
            };
            Match::cmp(Key::CtDirection, Pattern::Value(int(dir)))
        }
    };
    acc.others.push(m.negate(neg));
    Ok(())
}

/// xt_conntrack checks `--ctstate` first; on a packet without a conntrack entry it then
/// returns whether a state was given, skipping every other option.
fn finish_conntrack(acc: CtAcc, text: String) -> Vec<Item> {
    let mut items = Vec::new();
    if let Some((states, nat, neg)) = acc.state {
        // Without an entry the packet's state is INVALID or UNTRACKED.
        let no_entry = ct_state::INVALID | ct_state::UNTRACKED;
        let passes_without_entry = if neg {
            states & no_entry != no_entry
        } else {
            states & no_entry != 0
        };
        if passes_without_entry && !acc.others.is_empty() {
            let why = Undecidable::Unsupported(
                "conntrack: --ctstate INVALID/UNTRACKED with other conntrack options".into(),
            );
            return vec![Item::One(undecidable(why, text))];
        }
        // SNAT/DNAT are status bits; a packet without an entry has none of them.
        let mut nat_match = Match::cmp(Key::CtStatus, Pattern::AnyBit(nat));
        nat_match.when_absent = Absent::Unequal;
        match (states != 0, nat != 0) {
            (true, false) => items.push(one(Key::CtState, Pattern::AnyBit(states), neg)),
            (false, true) => items.push(Item::One(nat_match.negate(neg))),
            (true, true) if neg => {
                items.push(one(Key::CtState, Pattern::AnyBit(states), true));
                items.push(Item::One(nat_match.negate(true)));
            }
            (true, true) => {
                let state = Match::cmp(Key::CtState, Pattern::AnyBit(states));
                items.push(Item::Either(vec![
                    vec![state.clone()],
                    vec![state.negate(true), nat_match],
                ]));
            }
            (false, false) => items.push(one(Key::CtState, Pattern::AnyBit(0), neg)),
        }
    }
    items.extend(acc.others.into_iter().map(Item::One));
    items
}

/// `INVALID,NEW,...` (prefixes allowed, case-insensitive, as libxt_conntrack's
/// `strncasecmp`): conntrack state bits and, with `nat`, SNAT/DNAT as status bits.
fn ct_states(list: &str, nat: bool) -> Result<(u64, u64), Bad> {
    let mut states = 0;
    let mut status = 0;
    for word in list.split(',') {
        let up = word.to_ascii_uppercase();
        let hit = |name: &str| !up.is_empty() && name.starts_with(up.as_str());
        if let Some(&(_, bit)) = ct_state::NAMES.iter().find(|(n, _)| hit(n)) {
            states |= bit;
        } else if nat && hit("SNAT") {
            status |= ct_status::SRC_NAT;
        } else if nat && hit("DNAT") {
            status |= ct_status::DST_NAT;
        } else {
            return Err(bad("conntrack state", format!("unknown state `{word}`")));
        }
    }
    Ok((states, status))
}

fn ct_statuses(list: &str) -> Result<u64, Bad> {
    let mut mask = 0;
    for word in list.split(',') {
        let up = word.to_ascii_uppercase();
        mask |= match up.as_str() {
            "NONE" => 0,
            "EXPECTED" => ct_status::EXPECTED,
            "SEEN_REPLY" => ct_status::SEEN_REPLY,
            "ASSURED" => ct_status::ASSURED,
            "CONFIRMED" => ct_status::CONFIRMED,
            _ => return Err(bad("conntrack status", format!("unknown status `{word}`"))),
        };
    }
    Ok(mask)
}

/// `SYN,ACK`, `ALL` (the six classic flags, as libxt_tcp), `NONE`.
fn tcp_flags(list: &str) -> Result<u64, Bad> {
    let mut bits = 0;
    for word in list.split(',') {
        bits |= match word.to_ascii_uppercase().as_str() {
            "FIN" => 0x01,
            "SYN" => 0x02,
            "RST" => 0x04,
            "PSH" => 0x08,
            "ACK" => 0x10,
            "URG" => 0x20,
            "ECE" => 0x40,
            "CWR" => 0x80,
            "ALL" => 0x3F,
            "NONE" => 0,
            _ => return Err(bad("TCP flag", format!("unknown flag `{word}`"))),
        };
    }
    Ok(bits)
}

/// ICMP type names as `iptables -p icmp -h` lists them (libxt_icmp.h): type, codes.
const ICMP_NAMES: &[(&str, u8, u8, u8)] = &[
    ("any", 0xFF, 0, 0xFF),
    ("echo-reply", 0, 0, 0xFF),
    ("pong", 0, 0, 0xFF),
    ("destination-unreachable", 3, 0, 0xFF),
    ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1),
    ("protocol-unreachable", 3, 2, 2),
    ("port-unreachable", 3, 3, 3),
    ("fragmentation-needed", 3, 4, 4),
    ("source-route-failed", 3, 5, 5),
    ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7),
    ("network-prohibited", 3, 9, 9),
    ("host-prohibited", 3, 10, 10),
    ("TOS-network-unreachable", 3, 11, 11),
    ("TOS-host-unreachable", 3, 12, 12),
    ("communication-prohibited", 3, 13, 13),
    ("host-precedence-violation", 3, 14, 14),
    ("precedence-cutoff", 3, 15, 15),
    ("source-quench", 4, 0, 0xFF),
    ("redirect", 5, 0, 0xFF),
    ("network-redirect", 5, 0, 0),
    ("host-redirect", 5, 1, 1),
    ("TOS-network-redirect", 5, 2, 2),
    ("TOS-host-redirect", 5, 3, 3),
    ("echo-request", 8, 0, 0xFF),
    ("ping", 8, 0, 0xFF),
    ("router-advertisement", 9, 0, 0xFF),
    ("router-solicitation", 10, 0, 0xFF),
    ("time-exceeded", 11, 0, 0xFF),
    ("ttl-exceeded", 11, 0, 0xFF),
    ("ttl-zero-during-transit", 11, 0, 0),
    ("ttl-zero-during-reassembly", 11, 1, 1),
    ("parameter-problem", 12, 0, 0xFF),
    ("ip-header-bad", 12, 0, 0),
    ("required-option-missing", 12, 1, 1),
    ("timestamp-request", 13, 0, 0xFF),
    ("timestamp-reply", 14, 0, 0xFF),
    ("address-mask-request", 17, 0, 0xFF),
    ("address-mask-reply", 18, 0, 0xFF),
];

/// ICMPv6 type names (`ip6tables -p icmpv6 -h`).
const ICMPV6_NAMES: &[(&str, u8, u8, u8)] = &[
    ("destination-unreachable", 1, 0, 0xFF),
    ("no-route", 1, 0, 0),
    ("communication-prohibited", 1, 1, 1),
    ("beyond-scope", 1, 2, 2),
    ("address-unreachable", 1, 3, 3),
    ("port-unreachable", 1, 4, 4),
    ("failed-policy", 1, 5, 5),
    ("reject-route", 1, 6, 6),
    ("packet-too-big", 2, 0, 0xFF),
    ("time-exceeded", 3, 0, 0xFF),
    ("ttl-exceeded", 3, 0, 0xFF),
    ("ttl-zero-during-transit", 3, 0, 0),
    ("ttl-zero-during-reassembly", 3, 1, 1),
    ("parameter-problem", 4, 0, 0xFF),
    ("bad-header", 4, 0, 0),
    ("unknown-header-type", 4, 1, 1),
    ("unknown-option", 4, 2, 2),
    ("echo-request", 128, 0, 0xFF),
    ("ping", 128, 0, 0xFF),
    ("echo-reply", 129, 0, 0xFF),
    ("pong", 129, 0, 0xFF),
    ("router-solicitation", 133, 0, 0xFF),
    ("router-advertisement", 134, 0, 0xFF),
    ("neighbour-solicitation", 135, 0, 0xFF),
    ("neighbor-solicitation", 135, 0, 0xFF),
    ("neighbour-advertisement", 136, 0, 0xFF),
    ("neighbor-advertisement", 136, 0, 0xFF),
    ("redirect", 137, 0, 0xFF),
];

/// A name (unique case-insensitive prefix, as libxt_icmp's `strncasecmp`), `type` or
/// `type/code`: the type and the code range.
fn icmp_type(s: &str, v6: bool) -> Result<(u8, u8, u8), Bad> {
    let table = if v6 { ICMPV6_NAMES } else { ICMP_NAMES };
    let lower = s.to_ascii_lowercase();
    let exact = table.iter().find(|e| e.0.eq_ignore_ascii_case(s));
    let mut hits = table
        .iter()
        .filter(|e| !s.is_empty() && e.0.to_ascii_lowercase().starts_with(&lower));
    let found = match exact {
        Some(e) => Some(e),
        None => {
            let first = hits.next();
            if let (Some(a), Some(b)) = (first, hits.next()) {
                return Err(bad(
                    "ICMP type",
                    format!("ambiguous: `{}` or `{}`", a.0, b.0),
                ));
            }
            first
        }
    };
    if let Some(&(_, t, lo, hi)) = found {
        return Ok((t, lo, hi));
    }
    let (t, c) = match s.split_once('/') {
        Some((t, c)) => (t, Some(c)),
        None => (s, None),
    };
    let ty = values::number(t, 255, "ICMP type")
        .map_err(|_| bad("ICMP type", "not a type name, number or type/code"))? as u8;
    match c {
        Some(c) => {
            let code = values::number(c, 255, "ICMP code")? as u8;
            Ok((ty, code, code))
        }
        None => Ok((ty, 0, 0xFF)),
    }
}

/// `22,80:90,443` (at most 15 ports, a range counting two, as xt_multiport).
fn port_list(s: &str) -> Result<Pattern, Bad> {
    let mut out = Vec::new();
    let mut slots = 0;
    for part in s.split(',') {
        let range = values::port_range(part, ':')?;
        slots += if range.0 == range.1 { 1 } else { 2 };
        out.push(port_pattern(range));
    }
    if slots > 15 {
        return Err(bad("port list", "more than 15 ports (a range counts two)"));
    }
    Ok(if out.len() == 1 {
        out.remove(0)
    } else {
        Pattern::OneOf(out)
    })
}

/// `UNICAST,LOCAL` (case-insensitive prefixes, as libxt_addrtype) as routing types.
fn addr_types(list: &str) -> Result<Pattern, Bad> {
    let mut out = Vec::new();
    for word in list.split(',') {
        let up = word.to_ascii_uppercase();
        let &(_, n) = rtn::NAMES
            .iter()
            .find(|(name, _)| !up.is_empty() && name.starts_with(up.as_str()))
            .ok_or_else(|| bad("address type", format!("unknown type `{word}`")))?;
        out.push(Pattern::Value(int(n)));
    }
    Ok(if out.len() == 1 {
        out.remove(0)
    } else {
        Pattern::OneOf(out)
    })
}

fn pkt_type(s: &str) -> Result<u64, Bad> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "unicast" | "host" => 0,
        "broadcast" => 1,
        "multicast" => 2,
        "otherhost" => 3,
        "outgoing" => 4,
        "loopback" => 5,
        _ => {
            return Err(bad(
                "packet type",
                "expected unicast, broadcast, multicast, host or otherhost",
            ))
        }
    })
}

/// A numeric uid/gid or `a-b`; `None` for a name (resolving it needs the host's passwd).
fn id_range(s: &str) -> Option<Pattern> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a = values::number(a, u32::MAX.into(), "id").ok()?;
    let b = values::number(b, u32::MAX.into(), "id").ok()?;
    Some(if a == b {
        Pattern::Value(int(a))
    } else {
        Pattern::Range(int(a), int(b))
    })
}

fn u16_range(s: &str, what: &'static str) -> Result<(u16, u16), Bad> {
    let (a, b) = s.split_once(':').unwrap_or((s, s));
    let a = values::number(a, 65535, what)? as u16;
    let b = values::number(b, 65535, what)? as u16;
    if a > b {
        return Err(bad(what, "first value is larger than the last"));
    }
    Ok((a, b))
}

/// `value[/mask]` (mask defaults to `default_mask`) or a symbolic name (mask 0x3F), as
/// libxtables' XTTYPE_TOSMASK.
pub fn tos_value(s: &str, default_mask: u64) -> Result<(u64, u64), Bad> {
    const NAMES: [(&str, u64); 5] = [
        ("minimize-delay", 0x10),
        ("maximize-throughput", 0x08),
        ("maximize-reliability", 0x04),
        ("minimize-cost", 0x02),
        ("normal-service", 0x00),
    ];
    if let Some(&(_, v)) = NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok((v, 0x3F));
    }
    values::value_mask(s, 255, default_mask, "TOS")
}

/// DSCP class names (`--dscp-class`, `--set-dscp-class`).
pub fn dscp_class(s: &str) -> Result<u64, Bad> {
    let up = s.to_ascii_uppercase();
    let v = match up.as_str() {
        "BE" | "CS0" => 0,
        "CS1" => 8,
        "AF11" => 10,
        "AF12" => 12,
        "AF13" => 14,
        "CS2" => 16,
        "AF21" => 18,
        "AF22" => 20,
        "AF23" => 22,
        "CS3" => 24,
        "AF31" => 26,
        "AF32" => 28,
        "AF33" => 30,
        "CS4" => 32,
        "AF41" => 34,
        "AF42" => 36,
        "AF43" => 38,
        "CS5" => 40,
        "EF" => 46,
        "CS6" => 48,
        "CS7" => 56,
        _ => {
            return Err(bad(
                "DSCP class",
                "expected a class name like AF41, CS1 or EF",
            ))
        }
    };
    Ok(v)
}

fn set_flags(s: &str) -> Result<Vec<bool>, Bad> {
    let mut out = Vec::new();
    for word in s.split(',') {
        out.push(match word {
            "src" => true,
            "dst" => false,
            _ => {
                return Err(bad(
                    "set flags",
                    "expected a comma-separated list of src and dst",
                ))
            }
        });
    }
    if out.len() > 6 {
        return Err(bad("set flags", "more than 6 dimensions"));
    }
    Ok(out)
}

/// Addresses in published rulesets are often anonymised as `XX:XX:XX:XX:XX:XX`.
fn is_anonymised_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 2
                && p.chars()
                    .all(|c| c.is_ascii_hexdigit() || c == 'X' || c == 'x')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_names_prefixes_and_numbers() {
        assert_eq!(icmp_type("echo-request", false), Ok((8, 0, 255)));
        assert_eq!(icmp_type("port-unr", false), Ok((3, 3, 3)));
        assert_eq!(icmp_type("3/4", false), Ok((3, 4, 4)));
        assert_eq!(icmp_type("8", false), Ok((8, 0, 255)));
        assert_eq!(icmp_type("any", false), Ok((255, 0, 255)));
        assert!(icmp_type("echo-re", false).is_err());
        assert_eq!(icmp_type("neighbor-solicitation", true), Ok((135, 0, 255)));
        assert_eq!(icmp_type("packet-too-big", true), Ok((2, 0, 255)));
        assert!(icmp_type("any", true).is_err());
    }

    #[test]
    fn ct_state_names() {
        assert_eq!(
            ct_states("NEW,ESTABLISHED", false),
            Ok((ct_state::NEW | ct_state::ESTABLISHED, 0))
        );
        assert_eq!(ct_states("DNAT", true), Ok((0, ct_status::DST_NAT)));
        assert!(ct_states("DNAT", false).is_err());
        assert!(ct_states("BOGUS", true).is_err());
    }

    #[test]
    fn tcp_flag_lists() {
        assert_eq!(tcp_flags("FIN,SYN,RST,ACK"), Ok(0x17));
        assert_eq!(tcp_flags("ALL"), Ok(0x3F));
        assert_eq!(tcp_flags("NONE"), Ok(0));
        assert!(tcp_flags("FOO").is_err());
    }

    #[test]
    fn multiport_lists() {
        let p = port_list("22,80:90").unwrap();
        assert_eq!(
            p,
            Pattern::OneOf(vec![
                Pattern::Value(int(22)),
                Pattern::Range(int(80), int(90))
            ])
        );
        assert!(port_list("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15:16").is_err());
    }

    #[test]
    fn tos_names_use_mask_3f() {
        assert_eq!(tos_value("Minimize-Delay", 0xFF), Ok((0x10, 0x3F)));
        assert_eq!(tos_value("0x10/0x1c", 0xFF), Ok((0x10, 0x1c)));
        assert_eq!(tos_value("0x10", 0xFF), Ok((0x10, 0xFF)));
    }

    #[test]
    fn anonymised_macs_are_recognised() {
        assert!(is_anonymised_mac("XX:XX:XX:XX:XX:XX"));
        assert!(!is_anonymised_mac("XX:XX"));
    }
}
