//! The nft syntax tree lowered into the model: values typed by what they are compared
//! with, implicit protocol dependencies made explicit, verdict maps expanded.
//!
//! What nft does implicitly is written out, because the model evaluates each match alone:
//! - `tcp dport 22` is `meta l4proto tcp` then `th dport 22` (nft's payload dependency);
//!   in inet, bridge and netdev tables `ip saddr` is preceded by `meta nfproto ipv4` (so
//!   `ip saddr != 10.0.0.0/8` does not match IPv6 packets), `ip6 ...` by `nfproto ipv6`.
//! - A verdict map is a lookup that picks the verdict; the model has no such test, so a
//!   rule `KEY vmap { k1 : v1, k2 : v2, * : v3 }` becomes one model rule per element
//!   (`KEY == k1 v1`, `KEY == k2 v2`, then `KEY != {k1, k2} v3` for the catch-all), all with
//!   the rule's origin. Elements of a map never overlap, so exactly one rule applies. A
//!   named map (`vmap @m`) is expanded by its elements as listed: later changes to the map
//!   are not seen. Value maps in `meta mark set`, `ct mark set` and NAT statements expand
//!   the same way (no element matching: the rule does not apply, as nft's lookup breaks).
//! - An anonymous set with concatenated keys becomes a table set named `__anonN`.
//!
//! Anything the model cannot express is `Test::Undecidable` or `Action::Undecidable`,
//! never dropped.

use super::ast::*;
use super::parser::{parse_int, Doc};
use crate::iptables_save::values;
use crate::{ErrorKind, ParseError};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use model::expr::{
    ct_state, ct_status, rtn, Action, CmpOp, CtMarkOp, Effect, IfaceLimit, Key, Log, LogKind,
    Match, Nat, NatKind, Pattern, Queue, Reject, SetRef, SetUpdateOp, Test, Undecidable, Value,
    Verdict,
};
use model::packet::Mac;
use model::ruleset::{BaseChain, ChainType, Family, Hook, MapData, NamedSet, SetElement, Step};
use model::{Chain, Origin, Rule, Ruleset, SourceFile, Table};
use std::collections::HashSet;
use std::net::IpAddr;

/// Lowers a parsed document (text or JSON) into the model.
pub fn lower(doc: Doc) -> Result<Ruleset, ParseError> {
    let mut tables = Vec::with_capacity(doc.tables.len());
    for t in &doc.tables {
        tables.push(lower_table(t, &doc.sources)?);
    }
    Ok(Ruleset {
        tables,
        ipsets: Vec::new(),
        sources: doc.sources,
    })
}

/// Errors point into the file the object came from.
fn source_of(sources: &[SourceFile], origin: &Origin) -> SourceFile {
    sources
        .iter()
        .find(|s| s.name == origin.file)
        .or_else(|| sources.first())
        .cloned()
        .unwrap_or_else(|| SourceFile::new(origin.file.clone(), ""))
}

fn lower_table(t: &TableAst, sources: &[SourceFile]) -> Result<Table, ParseError> {
    let mut cx = TableCx {
        family: t.family,
        table: t,
        anon: Vec::new(),
        dynamic: HashSet::new(),
    };
    // A dormant table is not registered with the kernel: its chains see no packets, so
    // they are kept as regular chains (nothing reaches them).
    let dormant = t.flags.iter().any(|f| f == "dormant");
    let mut chains = Vec::with_capacity(t.chains.len());
    for c in &t.chains {
        let src = source_of(sources, &c.origin);
        let base = match (&c.hook, dormant) {
            (Some(h), false) => Some(base_chain(h, t.family, &src)?),
            _ => None,
        };
        let mut rules = Vec::with_capacity(c.rules.len());
        for r in &c.rules {
            let src = source_of(sources, &r.origin);
            for body in cx.rule(r, &src)? {
                rules.push(Rule {
                    body,
                    origin: r.origin.clone(),
                });
            }
        }
        let devices: Vec<Option<String>> = match &base {
            Some(_) if c.hook.as_ref().is_some_and(|h| h.devices.len() > 1) => c
                .hook
                .iter()
                .flat_map(|h| h.devices.iter().cloned().map(Some))
                .collect(),
            _ => vec![None],
        };
        // A chain on several devices is one model base chain per device (same name and
        // rules): the engine matches one device per base chain.
        for dev in devices {
            let mut base = base.clone();
            if let (Some(b), Some(d)) = (base.as_mut(), dev) {
                b.device = Some(d);
            }
            chains.push(Chain {
                name: c.name.clone(),
                base,
                rules: rules.clone(),
                counters: None,
                origin: c.origin.clone(),
            });
        }
    }
    // Jump targets must exist.
    for c in &chains {
        for r in &c.rules {
            for a in r.actions() {
                if let Action::Verdict(Verdict::Jump(n) | Verdict::Goto(n)) = a {
                    if t.chains.iter().all(|c| &c.name != n) {
                        let src = source_of(sources, &r.origin);
                        return Err(ParseError::new(
                            &src,
                            r.origin.span,
                            ErrorKind::Undefined {
                                what: "chain".into(),
                                name: n.clone(),
                            },
                        ));
                    }
                }
            }
        }
    }
    let mut sets = Vec::with_capacity(t.sets.len() + cx.anon.len());
    for s in &t.sets {
        let src = source_of(sources, &s.origin);
        let mut set = lower_set(s, t.family, &src)?;
        set.dynamic |= cx.dynamic.contains(&s.name);
        sets.push(set);
    }
    sets.append(&mut cx.anon);
    Ok(Table {
        family: t.family,
        name: t.name.clone(),
        chains,
        sets,
        origin: t.origin.clone(),
    })
}

fn base_chain(h: &HookAst, family: Family, src: &SourceFile) -> Result<BaseChain, ParseError> {
    let bad = |what: &str, value: &str, reason: &str| {
        ParseError::new(
            src,
            h.span,
            ErrorKind::InvalidValue {
                what: what.into(),
                value: value.into(),
                reason: reason.into(),
            },
        )
    };
    let chain_type = match h.chain_type.as_str() {
        "filter" => ChainType::Filter,
        "nat" => ChainType::Nat,
        "route" => ChainType::Route,
        other => return Err(bad("chain type", other, "expected filter, nat or route")),
    };
    let hook = match h.hook.as_str() {
        "prerouting" => Hook::Prerouting,
        "input" => Hook::Input,
        "forward" => Hook::Forward,
        "output" => Hook::Output,
        "postrouting" => Hook::Postrouting,
        "ingress" => Hook::Ingress,
        "egress" => Hook::Egress,
        other => {
            return Err(bad(
                "hook",
                other,
                "expected prerouting, input, forward, output, postrouting, ingress or egress",
            ))
        }
    };
    let priority = match &h.priority {
        Prio::Num(n) => *n,
        Prio::Named { name, offset } => match std_priority(family, name) {
            Some(p) => p + offset,
            None => {
                return Err(bad(
                    "priority",
                    name,
                    &format!("not a standard priority name in the {family} family"),
                ))
            }
        },
    };
    let priority = i32::try_from(priority)
        .map_err(|_| bad("priority", &priority.to_string(), "out of range"))?;
    let policy = match h.policy.as_deref() {
        None | Some("accept") => Verdict::Accept,
        Some("drop") => Verdict::Drop,
        Some(other) => return Err(bad("policy", other, "expected accept or drop")),
    };
    let device = h.devices.first().cloned();
    Ok(BaseChain {
        hook,
        chain_type,
        priority,
        policy,
        device,
    })
}

/// nft's named priorities (`std_prio_lookup` in src/rule.c): the bridge family has its own
/// table; arp and netdev know only `filter`.
pub fn std_priority(family: Family, name: &str) -> Option<i64> {
    use model::ruleset::priority as p;
    match family {
        Family::Bridge => Some(match name {
            "dstnat" => -300,
            "filter" => -200,
            "out" => 100,
            "srcnat" => 300,
            _ => return None,
        }),
        Family::Arp | Family::Netdev => (name == "filter").then_some(0),
        _ => Some(i64::from(match name {
            "raw" => p::RAW,
            "mangle" => p::MANGLE,
            "dstnat" => p::NAT_DST,
            "filter" => p::FILTER,
            "security" => p::SECURITY,
            "srcnat" => p::NAT_SRC,
            _ => return None,
        })),
    }
}

// ---- types of values ----

/// What a value means, decided by the key it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Addr,
    Port,
    Int,
    Proto,
    Iface,
    Mac,
    Str,
    /// A bit set with names (`ct state`, `ct status`, `tcp flags`).
    Flags(&'static [(&'static str, u64)]),
    /// Names for numbers (`icmp type`, `pkttype`, `fib type`, ...).
    Named(&'static [(&'static str, u64)]),
    /// An ethertype, lowered to `nfproto` numbers (2 for IPv4, 10 for IPv6).
    EtherType,
    Id,
}

const CT_STATE: &[(&str, u64)] = &[
    ("invalid", ct_state::INVALID),
    ("established", ct_state::ESTABLISHED),
    ("related", ct_state::RELATED),
    ("new", ct_state::NEW),
    ("untracked", ct_state::UNTRACKED),
];
const CT_STATUS: &[(&str, u64)] = &[
    ("expected", ct_status::EXPECTED),
    ("seen-reply", ct_status::SEEN_REPLY),
    ("assured", ct_status::ASSURED),
    ("confirmed", ct_status::CONFIRMED),
    ("snat", ct_status::SRC_NAT),
    ("dnat", ct_status::DST_NAT),
    ("dying", 512),
];
const TCP_FLAGS: &[(&str, u64)] = &[
    ("fin", 0x01),
    ("syn", 0x02),
    ("rst", 0x04),
    ("psh", 0x08),
    ("ack", 0x10),
    ("urg", 0x20),
    ("ecn", 0x40),
    ("cwr", 0x80),
];
const CT_DIR: &[(&str, u64)] = &[("original", 0), ("reply", 1)];
const NFPROTO: &[(&str, u64)] = &[("ipv4", 2), ("ipv6", 10)];
const PKTTYPE: &[(&str, u64)] = &[
    ("host", 0),
    ("unicast", 0),
    ("broadcast", 1),
    ("multicast", 2),
    ("other", 3),
];
const ICMP_TYPE: &[(&str, u64)] = &[
    ("echo-reply", 0),
    ("destination-unreachable", 3),
    ("source-quench", 4),
    ("redirect", 5),
    ("echo-request", 8),
    ("router-advertisement", 9),
    ("router-solicitation", 10),
    ("time-exceeded", 11),
    ("parameter-problem", 12),
    ("timestamp-request", 13),
    ("timestamp-reply", 14),
    ("info-request", 15),
    ("info-reply", 16),
    ("address-mask-request", 17),
    ("address-mask-reply", 18),
];
const ICMPV6_TYPE: &[(&str, u64)] = &[
    ("destination-unreachable", 1),
    ("packet-too-big", 2),
    ("time-exceeded", 3),
    ("parameter-problem", 4),
    ("echo-request", 128),
    ("echo-reply", 129),
    ("mld-listener-query", 130),
    ("mld-listener-report", 131),
    ("mld-listener-done", 132),
    ("mld-listener-reduction", 132),
    ("nd-router-solicit", 133),
    ("nd-router-advert", 134),
    ("nd-neighbor-solicit", 135),
    ("nd-neighbor-advert", 136),
    ("nd-redirect", 137),
    ("router-renumbering", 138),
    ("ind-neighbor-solicit", 141),
    ("ind-neighbor-advert", 142),
    ("mld2-listener-report", 143),
];
const ICMP_CODE: &[(&str, u64)] = &[
    ("net-unreachable", 0),
    ("host-unreachable", 1),
    ("prot-unreachable", 2),
    ("port-unreachable", 3),
    ("frag-needed", 4),
    ("net-prohibited", 9),
    ("host-prohibited", 10),
    ("admin-prohibited", 13),
];
const ICMPV6_CODE: &[(&str, u64)] = &[
    ("no-route", 0),
    ("admin-prohibited", 1),
    ("addr-unreachable", 3),
    ("port-unreachable", 4),
    ("policy-fail", 5),
    ("reject-route", 6),
];
/// The number of an ICMP (`v6`: ICMPv6) type as nft names it (`echo-request`), or a number:
/// for readers of nft's own output (`nft monitor trace`).
pub fn icmp_type_number(name: &str, v6: bool) -> Option<u8> {
    named_number(if v6 { ICMPV6_TYPE } else { ICMP_TYPE }, name).and_then(|n| u8::try_from(n).ok())
}

/// The number of an ICMP (`v6`: ICMPv6) destination-unreachable code as nft names it
/// (`port-unreachable`), or a number.
pub fn icmp_code_number(name: &str, v6: bool) -> Option<u8> {
    named_number(if v6 { ICMPV6_CODE } else { ICMP_CODE }, name).and_then(|n| u8::try_from(n).ok())
}

const ICMPX_CODE: &[(&str, u64)] = &[
    ("no-route", 0),
    ("port-unreachable", 1),
    ("host-unreachable", 2),
    ("admin-prohibited", 3),
];
const FIB_TYPE: &[(&str, u64)] = &[
    ("unspec", rtn::UNSPEC),
    ("unicast", rtn::UNICAST),
    ("local", rtn::LOCAL),
    ("broadcast", rtn::BROADCAST),
    ("anycast", rtn::ANYCAST),
    ("multicast", rtn::MULTICAST),
    ("blackhole", rtn::BLACKHOLE),
    ("unreachable", rtn::UNREACHABLE),
    ("prohibit", rtn::PROHIBIT),
    ("throw", rtn::THROW),
    ("nat", rtn::NAT),
    ("xresolve", rtn::XRESOLVE),
];
const DSCP: &[(&str, u64)] = &[
    ("cs0", 0),
    ("cs1", 8),
    ("cs2", 16),
    ("cs3", 24),
    ("cs4", 32),
    ("cs5", 40),
    ("cs6", 48),
    ("cs7", 56),
    ("df", 0),
    ("be", 0),
    ("lephb", 1),
    ("af11", 10),
    ("af12", 12),
    ("af13", 14),
    ("af21", 18),
    ("af22", 20),
    ("af23", 22),
    ("af31", 26),
    ("af32", 28),
    ("af33", 30),
    ("af41", 34),
    ("af42", 36),
    ("af43", 38),
    ("va", 44),
    ("ef", 46),
];
const ETHERTYPE: &[(&str, u64)] = &[
    ("ip", 0x0800),
    ("ip6", 0x86dd),
    ("arp", 0x0806),
    ("vlan", 0x8100),
    ("8021ad", 0x88a8),
    ("8021q", 0x8100),
];

/// A set type name (`ipv4_addr`) as a value type; None: not modelled.
fn type_name(name: &str) -> Option<Ty> {
    Some(match name {
        "ipv4_addr" | "ipv6_addr" => Ty::Addr,
        "inet_service" => Ty::Port,
        "inet_proto" => Ty::Proto,
        "ifname" => Ty::Iface,
        "ether_addr" => Ty::Mac,
        "mark" | "integer" | "ct_zone" | "dccp_pkttype" | "ipsec_spi" | "realm" | "classid" => {
            Ty::Int
        }
        "ct_state" => Ty::Flags(CT_STATE),
        "ct_status" => Ty::Flags(CT_STATUS),
        "tcp_flag" => Ty::Flags(TCP_FLAGS),
        "ct_dir" => Ty::Named(CT_DIR),
        "nf_proto" => Ty::Named(NFPROTO),
        "pkt_type" => Ty::Named(PKTTYPE),
        "icmp_type" => Ty::Named(ICMP_TYPE),
        "icmpv6_type" => Ty::Named(ICMPV6_TYPE),
        "icmp_code" => Ty::Named(ICMP_CODE),
        "icmpv6_code" => Ty::Named(ICMPV6_CODE),
        "icmpx_code" => Ty::Named(ICMPX_CODE),
        "fib_addrtype" => Ty::Named(FIB_TYPE),
        "dscp" => Ty::Named(DSCP),
        "ether_type" => Ty::EtherType,
        "uid" | "gid" => Ty::Id,
        "string" => Ty::Str,
        _ => return None,
    })
}

/// What a selector reads.
enum Sel {
    Key {
        key: Key,
        ty: Ty,
        deps: Vec<Match>,
    },
    Fib {
        flags: Vec<String>,
        result: String,
    },
    TcpOption {
        name: String,
        field: Option<String>,
    },
    /// Not modelled: the kind and a name.
    Undecidable(Undecidable),
}

fn int(n: u64) -> Pattern {
    Pattern::Value(Value::Int(n))
}

fn proto_dep(n: u64) -> Match {
    Match::cmp(Key::L4Proto, int(n))
}

fn nfproto_dep(n: u64) -> Match {
    Match::cmp(Key::NfProto, int(n))
}

/// nft's name of an undecidable thing from its selector (`numgen`, `socket`, ...).
fn opaque_kind(name: &str) -> Undecidable {
    match name {
        "numgen" | "jhash" | "symhash" => Undecidable::Numgen,
        "socket" => Undecidable::Socket,
        "ipsec" => Undecidable::Ipsec,
        other => Undecidable::Unsupported(other.to_string()),
    }
}

/// One alternative of a statement: steps, each flagged when it is an implicit dependency
/// (dropped if the rule already has the same match).
type Alt = Vec<(Step, bool)>;

/// Per-table lowering state.
struct TableCx<'t> {
    family: Family,
    table: &'t TableAst,
    /// Sets made for anonymous sets with concatenated keys.
    anon: Vec<NamedSet>,
    /// Sets updated from the packet path (`add @s`).
    dynamic: HashSet<String>,
}

/// A lowering failure inside a statement: a parse error (bad value) at the statement.
struct Bad(String, String, String);

fn bad(what: &str, value: &str, reason: impl Into<String>) -> Bad {
    Bad(what.into(), value.into(), reason.into())
}

impl TableCx<'_> {
    /// A rule's alternatives: usually one body; several when a map is expanded.
    fn rule(&mut self, r: &RuleAst, src: &SourceFile) -> Result<Vec<Vec<Step>>, ParseError> {
        let mut alts: Vec<Vec<Step>> = vec![Vec::with_capacity(r.stmts.len() + 2)];
        for s in &r.stmts {
            let options = self.stmt(s).map_err(|Bad(what, value, reason)| {
                ParseError::new(
                    src,
                    s.span,
                    ErrorKind::InvalidValue {
                        what,
                        value,
                        reason,
                    },
                )
            })?;
            if options.len() == 1 {
                let opt = &options[0];
                for body in &mut alts {
                    push_alt(body, opt);
                }
            } else {
                let mut next = Vec::with_capacity(alts.len() * options.len());
                for body in &alts {
                    for opt in &options {
                        let mut b = body.clone();
                        push_alt(&mut b, opt);
                        next.push(b);
                    }
                }
                alts = next;
            }
        }
        Ok(alts)
    }

    fn stmt(&mut self, s: &Stmt) -> Result<Vec<Alt>, Bad> {
        let one = |step: Step| Ok(vec![vec![(step, false)]]);
        match &s.kind {
            StmtKind::Match { left, op, right } => self.match_(left, *op, right, &s.text),
            StmtKind::Verdict(v) => one(Step::Action(Action::Verdict(verdict(v)))),
            StmtKind::Queue { num, flags } => {
                let (num, last) = match num {
                    None => (0, 0),
                    Some(QueueNum::Range(a, b)) => (*a, *b),
                    Some(QueueNum::Hashed { modulus, offset }) => {
                        let lo = (*offset).min(65535) as u16;
                        (lo, (offset + modulus.saturating_sub(1)).min(65535) as u16)
                    }
                };
                let q = Queue {
                    num,
                    last,
                    bypass: flags.iter().any(|f| f == "bypass"),
                    fanout: flags.iter().any(|f| f == "fanout"),
                };
                one(Step::Action(Action::Verdict(Verdict::Queue(q))))
            }
            StmtKind::Counter => one(Step::Action(Action::Counter)),
            StmtKind::Log(l) => Ok(vec![vec![(Step::Action(log(l)?), false)]]),
            StmtKind::Reject { kind, code } => self.reject(kind.as_deref(), code.as_deref()),
            StmtKind::Nat {
                kind,
                family,
                addr,
                port,
                flags,
            } => {
                let mut alts = self.nat(
                    kind,
                    family.as_deref(),
                    addr.as_ref(),
                    port.as_ref(),
                    flags,
                    &s.text,
                )?;
                // `dnat ip to ...` in an inet table does nothing to a packet of the other
                // family (`nft_nat_inet_eval`) and the rule goes on: one more alternative,
                // the other family, with no action (traced as the rule, verdict continue).
                let other = match family.as_deref() {
                    Some("ip") => Some(10),
                    Some("ip6") => Some(2),
                    _ => None,
                };
                if let (Family::Inet, Some(n)) = (self.family, other) {
                    alts.push(vec![(Step::Match(nfproto_dep(n)), false)]);
                }
                Ok(alts)
            }
            StmtKind::Mangle { key, value } => self.mangle(key, value, &s.text),
            StmtKind::Notrack => one(Step::Action(Action::Notrack)),
            StmtKind::VMap { key, data } => self.vmap(key, data, &s.text),
            StmtKind::SetUpdate {
                op, set, stateful, ..
            } => {
                self.dynamic.insert(set.clone());
                if *stateful {
                    let m = Match::new(Test::Undecidable {
                        kind: Undecidable::Limit,
                        text: s.text.clone(),
                    });
                    return one(Step::Match(m));
                }
                let op = match op.as_str() {
                    "update" => SetUpdateOp::Update,
                    "delete" => SetUpdateOp::Delete,
                    _ => SetUpdateOp::Add,
                };
                let set = set.clone();
                one(Step::Action(Action::Effect(Effect::SetUpdate { op, set })))
            }
            StmtKind::Undecidable { kind, text } => {
                one(Step::Match(Match::new(Test::Undecidable {
                    kind: kind.clone(),
                    text: text.clone(),
                })))
            }
            StmtKind::Effect(e) => one(Step::Action(Action::Effect(e.clone()))),
            StmtKind::Unknown(name) => one(Step::Action(Action::Undecidable(name.clone()))),
        }
    }

    fn undecidable(kind: Undecidable, text: &str) -> Vec<Alt> {
        vec![vec![(
            Step::Match(Match::new(Test::Undecidable {
                kind,
                text: text.to_string(),
            })),
            false,
        )]]
    }

    // ---- selectors ----

    fn selector(&self, e: &Expr) -> Sel {
        let fam = self.family;
        let needs_nfproto = matches!(fam, Family::Inet | Family::Bridge | Family::Netdev);
        let unsupported = |n: String| Sel::Undecidable(Undecidable::Unsupported(n));
        match e {
            Expr::Payload { proto, field } => {
                let p = proto.as_str();
                let f = field.as_str();
                let mut deps = Vec::new();
                match p {
                    "ip" if needs_nfproto => deps.push(nfproto_dep(2)),
                    "ip6" if needs_nfproto => deps.push(nfproto_dep(10)),
                    "tcp" => deps.push(proto_dep(6)),
                    "udp" => deps.push(proto_dep(17)),
                    "udplite" => deps.push(proto_dep(136)),
                    "sctp" => deps.push(proto_dep(132)),
                    "dccp" => deps.push(proto_dep(33)),
                    "icmp" => deps.push(proto_dep(1)),
                    "icmpv6" => deps.push(proto_dep(58)),
                    _ => {}
                }
                let (key, ty) = match (p, f) {
                    ("ether", "saddr") => (Key::EtherSrc, Ty::Mac),
                    ("ether", "daddr") => (Key::EtherDst, Ty::Mac),
                    ("ether", "type") => (Key::NfProto, Ty::EtherType),
                    ("ip", "saddr") | ("ip6", "saddr") => (Key::SrcAddr, Ty::Addr),
                    ("ip", "daddr") | ("ip6", "daddr") => (Key::DstAddr, Ty::Addr),
                    ("ip", "protocol") => (Key::L4Proto, Ty::Proto),
                    // Approximation: `ip6 nexthdr` is the first next-header field, which is
                    // the transport protocol only without extension headers.
                    ("ip6", "nexthdr") => (Key::L4Proto, Ty::Proto),
                    ("ip", "ttl") | ("ip6", "hoplimit") => (Key::Ttl, Ty::Int),
                    ("ip", "dscp") | ("ip6", "dscp") => (Key::Dscp, Ty::Named(DSCP)),
                    ("ip", "length") => (Key::Length, Ty::Int),
                    ("tcp" | "udp" | "udplite" | "sctp" | "dccp" | "th", "sport") => {
                        (Key::SrcPort, Ty::Port)
                    }
                    ("tcp" | "udp" | "udplite" | "sctp" | "dccp" | "th", "dport") => {
                        (Key::DstPort, Ty::Port)
                    }
                    ("tcp", "flags") => (Key::TcpFlags, Ty::Flags(TCP_FLAGS)),
                    ("icmp", "type") => (Key::IcmpType, Ty::Named(ICMP_TYPE)),
                    ("icmp", "code") => (Key::IcmpCode, Ty::Named(ICMP_CODE)),
                    ("icmpv6", "type") => (Key::Icmpv6Type, Ty::Named(ICMPV6_TYPE)),
                    ("icmpv6", "code") => (Key::Icmpv6Code, Ty::Named(ICMPV6_CODE)),
                    _ => return unsupported(format!("{p} {f}")),
                };
                Sel::Key { key, ty, deps }
            }
            Expr::Meta(k) => {
                let (key, ty) = match k.as_str() {
                    "iifname" => (Key::IifName, Ty::Iface),
                    "oifname" => (Key::OifName, Ty::Iface),
                    // `iif`/`oif` compare interface indexes in the kernel; a listing prints
                    // the name the index had, so they are matched by name.
                    "iif" => (Key::IifName, Ty::Iface),
                    "oif" => (Key::OifName, Ty::Iface),
                    "mark" => (Key::Mark, Ty::Int),
                    "length" => (Key::Length, Ty::Int),
                    "l4proto" => (Key::L4Proto, Ty::Proto),
                    "nfproto" => (Key::NfProto, Ty::Named(NFPROTO)),
                    "protocol" => (Key::NfProto, Ty::EtherType),
                    "pkttype" => (Key::PktType, Ty::Named(PKTTYPE)),
                    "skuid" => (Key::SkUid, Ty::Id),
                    "skgid" => (Key::SkGid, Ty::Id),
                    "time" | "day" | "hour" => return Sel::Undecidable(Undecidable::Time),
                    "ipsec" | "secpath" => return Sel::Undecidable(Undecidable::Ipsec),
                    other => return unsupported(format!("meta {other}")),
                };
                Sel::Key {
                    key,
                    ty,
                    deps: vec![],
                }
            }
            Expr::Ct { key, dir } => {
                let reply = dir.as_deref() == Some("reply");
                let (key, ty) = match key.as_str() {
                    "state" => (Key::CtState, Ty::Flags(CT_STATE)),
                    "status" => (Key::CtStatus, Ty::Flags(CT_STATUS)),
                    "mark" => (Key::CtMark, Ty::Int),
                    "direction" => (Key::CtDirection, Ty::Named(CT_DIR)),
                    "zone" => (Key::CtZone, Ty::Int),
                    "helper" => (Key::CtHelper, Ty::Str),
                    "protocol" | "proto" => (Key::CtProto, Ty::Proto),
                    "saddr" | "ip saddr" | "ip6 saddr" => (
                        if reply {
                            Key::CtReplSrc
                        } else {
                            Key::CtOrigSrc
                        },
                        Ty::Addr,
                    ),
                    "daddr" | "ip daddr" | "ip6 daddr" => (
                        if reply {
                            Key::CtReplDst
                        } else {
                            Key::CtOrigDst
                        },
                        Ty::Addr,
                    ),
                    "proto-src" => (
                        if reply {
                            Key::CtReplSrcPort
                        } else {
                            Key::CtOrigSrcPort
                        },
                        Ty::Port,
                    ),
                    "proto-dst" => (
                        if reply {
                            Key::CtReplDstPort
                        } else {
                            Key::CtOrigDstPort
                        },
                        Ty::Port,
                    ),
                    "count" => return Sel::Undecidable(Undecidable::CtCount),
                    other => return unsupported(format!("ct {other}")),
                };
                Sel::Key {
                    key,
                    ty,
                    deps: vec![],
                }
            }
            Expr::Fib { flags, result } => Sel::Fib {
                flags: flags.clone(),
                result: result.clone(),
            },
            Expr::TcpOption { name, field } => Sel::TcpOption {
                name: name.clone(),
                field: field.clone(),
            },
            Expr::Exthdr { name, field } if name == "rt" && field == "type" => Sel::Key {
                key: Key::Ip6RtType,
                ty: Ty::Int,
                deps: vec![],
            },
            Expr::Exthdr { name, field } => {
                unsupported(format!("exthdr {name} {field}").trim_end().to_string())
            }
            Expr::Opaque { name, .. } => Sel::Undecidable(opaque_kind(name)),
            _ => unsupported("expression".into()),
        }
    }

    // ---- matches ----

    fn match_(&mut self, left: &Expr, op: Op, right: &Expr, text: &str) -> Result<Vec<Alt>, Bad> {
        // `KEY & MASK == VALUE`.
        if let Expr::Binop {
            op: BinOp::And,
            left: inner,
            right: mask,
        } = left
        {
            if let Sel::Key { key, ty, deps } = self.selector(inner) {
                // The model's masks are 64 bits: an IPv6 address mask is not expressible.
                let Ok(mask_v) = bits(ty, mask) else {
                    return Ok(Self::undecidable(
                        Undecidable::Unsupported("masked IPv6 address".into()),
                        text,
                    ));
                };
                let value = if is_flag_list(right) || matches!(ty, Ty::Flags(_)) {
                    bits(ty, right)?
                } else {
                    scalar_bits(ty, right)?
                };
                let neg = match op {
                    Op::Implicit | Op::Eq => false,
                    Op::Ne => true,
                    _ => {
                        return Ok(Self::undecidable(
                            Undecidable::Unsupported("ordered comparison of a masked value".into()),
                            text,
                        ))
                    }
                };
                let m = Match::cmp(
                    key,
                    Pattern::Masked {
                        mask: mask_v,
                        value: value & mask_v,
                    },
                )
                .negate(neg);
                return Ok(vec![with_deps(deps, Step::Match(m))]);
            }
            if let Sel::Undecidable(kind) = self.selector(inner) {
                return Ok(Self::undecidable(kind, text));
            }
        }
        if let Expr::Binop { .. } = left {
            return Ok(Self::undecidable(
                Undecidable::Unsupported("bitwise expression".into()),
                text,
            ));
        }
        if let Expr::Concat(parts) = left {
            return self.concat_match(parts, op, right, text);
        }
        match self.selector(left) {
            Sel::Undecidable(kind) => Ok(Self::undecidable(kind, text)),
            Sel::Fib { flags, result } => self.fib(&flags, &result, op, right, text),
            Sel::TcpOption { name, field } => {
                let kind = tcp_option_kind(&name);
                let exists = match (field.as_deref(), right) {
                    (None, Expr::Value(v)) if v == "exists" => Some(true),
                    (None, Expr::Value(v)) if v == "missing" => Some(false),
                    (None, Expr::Bool(b)) => Some(*b),
                    _ => None,
                };
                match (kind, exists) {
                    (Some(kind), Some(exists)) => {
                        let neg = (op == Op::Ne) == exists;
                        let m = Match::new(Test::TcpOption(kind)).negate(neg);
                        Ok(vec![with_deps(vec![proto_dep(6)], Step::Match(m))])
                    }
                    _ => Ok(Self::undecidable(
                        Undecidable::Unsupported(format!("tcp option {name}")),
                        text,
                    )),
                }
            }
            Sel::Key { key, ty, deps } => {
                if let Expr::SetRef(name) = right {
                    if !self.set_modelled(name) {
                        return Ok(Self::undecidable(
                            Undecidable::Unsupported(format!(
                                "lookup in @{name} (its type is not modelled)"
                            )),
                            text,
                        ));
                    }
                    let test = Test::InSet {
                        keys: vec![key],
                        set: SetRef::Table(name.clone()),
                    };
                    let m = Match::new(test).negate(op == Op::Ne);
                    return Ok(vec![with_deps(deps, Step::Match(m))]);
                }
                if let Expr::Map { .. } = right {
                    return Ok(Self::undecidable(
                        Undecidable::Unsupported("map lookup in a match".into()),
                        text,
                    ));
                }
                let m = self.cmp(key, ty, op, right)?;
                Ok(vec![with_deps(deps, Step::Match(m))])
            }
        }
    }

    /// `KEY op VALUE` for one key.
    fn cmp(&self, key: Key, ty: Ty, op: Op, right: &Expr) -> Result<Match, Bad> {
        let flags = matches!(ty, Ty::Flags(_));
        let (pattern, neg) = match op {
            Op::Implicit if flags && !matches!(right, Expr::Set(_)) => {
                (Pattern::AnyBit(bits(ty, right)?), false)
            }
            Op::Ne if flags && is_flag_list(right) => (Pattern::AnyBit(bits(ty, right)?), true),
            Op::Implicit | Op::Eq => (pattern(ty, right)?, false),
            Op::Ne => (pattern(ty, right)?, true),
            Op::Lt | Op::Gt | Op::Le | Op::Ge => {
                let v = match pattern(ty, right)? {
                    Pattern::Value(v) => v,
                    _ => {
                        return Err(bad(
                            "value",
                            &format!("{right:?}"),
                            "an ordered comparison needs a single value",
                        ))
                    }
                };
                let o = match op {
                    Op::Lt => CmpOp::Lt,
                    Op::Gt => CmpOp::Gt,
                    Op::Le => CmpOp::Le,
                    _ => CmpOp::Ge,
                };
                (Pattern::Compare(o, v), false)
            }
        };
        Ok(Match::cmp(key, pattern).negate(neg))
    }

    /// `a . b OP VALUE`: per component for one value, or a set lookup.
    fn concat_match(
        &mut self,
        parts: &[Expr],
        op: Op,
        right: &Expr,
        text: &str,
    ) -> Result<Vec<Alt>, Bad> {
        let mut keys = Vec::new();
        let mut tys = Vec::new();
        let mut alt: Alt = Vec::new();
        for p in parts {
            match self.selector(p) {
                Sel::Key { key, ty, deps } => {
                    alt.extend(deps.into_iter().map(|d| (Step::Match(d), true)));
                    keys.push(key);
                    tys.push(ty);
                }
                Sel::Undecidable(kind) => return Ok(Self::undecidable(kind, text)),
                _ => {
                    return Ok(Self::undecidable(
                        Undecidable::Unsupported("fib or tcp option in a concatenation".into()),
                        text,
                    ))
                }
            }
        }
        let neg = match op {
            Op::Implicit | Op::Eq => false,
            Op::Ne => true,
            _ => {
                return Ok(Self::undecidable(
                    Undecidable::Unsupported("ordered comparison of a concatenation".into()),
                    text,
                ))
            }
        };
        let set = match right {
            Expr::SetRef(name) if !self.set_modelled(name) => {
                return Ok(Self::undecidable(
                    Undecidable::Unsupported(format!(
                        "lookup in @{name} (its type is not modelled)"
                    )),
                    text,
                ));
            }
            Expr::SetRef(name) => name.clone(),
            Expr::Set(elems) => self.anon_set(&tys, elems)?,
            single => self.anon_set(
                &tys,
                &[Elem {
                    key: single.clone(),
                    data: None,
                }],
            )?,
        };
        let m = Match::new(Test::InSet {
            keys,
            set: SetRef::Table(set),
        })
        .negate(neg);
        alt.push((Step::Match(m), false));
        Ok(vec![alt])
    }

    /// A table set holding an anonymous set's elements; its name.
    fn anon_set(&mut self, tys: &[Ty], elems: &[Elem]) -> Result<String, Bad> {
        let name = format!("__anon{}", self.anon.len());
        let mut elements = Vec::with_capacity(elems.len());
        for e in elems {
            if e.key == Expr::Catchall {
                continue;
            }
            elements.push(SetElement {
                key: element_key(tys, &e.key)?,
                data: None,
                nomatch: false,
            });
        }
        self.anon.push(NamedSet {
            name: name.clone(),
            key_width: tys.len(),
            elements,
            declared_type: "anonymous set".into(),
            dynamic: false,
            ipset_dims: vec![],
            origin: self.table.origin.clone(),
        });
        Ok(name)
    }

    /// `fib`: address types, or the reverse-path idiom `fib saddr [. iif] oif missing`.
    fn fib(
        &self,
        flags: &[String],
        result: &str,
        op: Op,
        right: &Expr,
        text: &str,
    ) -> Result<Vec<Alt>, Bad> {
        let has = |f: &str| flags.iter().any(|x| x == f);
        let dst = has("daddr");
        let iface = if has("iif") {
            Some(IfaceLimit::In)
        } else if has("oif") {
            Some(IfaceLimit::Out)
        } else {
            None
        };
        match result {
            "type" => {
                let m = self.cmp(
                    Key::FibAddrType { dst, iface },
                    Ty::Named(FIB_TYPE),
                    op,
                    right,
                )?;
                Ok(vec![vec![(Step::Match(m), false)]])
            }
            "oif" if has("saddr") && iface != Some(IfaceLimit::Out) => {
                // `fib saddr . iif oif missing` is the strict reverse-path check failing
                // (no route back via the input interface); without `. iif`, the loose one.
                let missing = match right {
                    Expr::Value(v) if v == "missing" => true,
                    Expr::Value(v) if v == "exists" => false,
                    Expr::Bool(b) => !*b,
                    Expr::Num(0) => true,
                    _ => {
                        return Ok(Self::undecidable(
                            Undecidable::Unsupported(
                                "fib saddr oif compared with an interface".into(),
                            ),
                            text,
                        ))
                    }
                };
                let missing = match op {
                    Op::Implicit | Op::Eq => missing,
                    Op::Ne => !missing,
                    _ => {
                        return Ok(Self::undecidable(
                            Undecidable::Unsupported("fib".into()),
                            text,
                        ))
                    }
                };
                let test = Test::RpFilter {
                    loose: iface.is_none(),
                    validmark: has("mark"),
                    accept_local: false,
                };
                Ok(vec![vec![(
                    Step::Match(Match::new(test).negate(missing)),
                    false,
                )]])
            }
            _ => Ok(Self::undecidable(
                Undecidable::Unsupported(format!("fib {} {result}", flags.join(" . "))),
                text,
            )),
        }
    }

    // ---- statements ----

    fn reject(&self, kind: Option<&str>, code: Option<&str>) -> Result<Vec<Alt>, Bad> {
        let mut alt: Alt = Vec::new();
        let inet = matches!(self.family, Family::Inet | Family::Bridge | Family::Netdev);
        let r = match (kind, code) {
            (None, _) => match self.family {
                Family::Ip => Reject::DEFAULT_V4,
                Family::Ip6 => Reject::DEFAULT_V6,
                _ => Reject::Icmpx(1),
            },
            (Some("tcp reset"), _) => {
                alt.push((Step::Match(proto_dep(6)), true));
                Reject::TcpReset
            }
            (Some(k), Some(c)) => {
                let (table, v6) = match k {
                    "icmp" => (ICMP_CODE, Some(false)),
                    "icmpv6" => (ICMPV6_CODE, Some(true)),
                    "icmpx" => (ICMPX_CODE, None),
                    other => {
                        return Err(bad(
                            "reject type",
                            other,
                            "expected icmp, icmpv6, icmpx or tcp reset",
                        ))
                    }
                };
                let n = named_number(table, c)
                    .ok_or_else(|| bad("reject code", c, "not a known code"))?
                    as u8;
                match v6 {
                    Some(false) => {
                        if inet {
                            alt.push((Step::Match(nfproto_dep(2)), true));
                        }
                        Reject::Icmp(n)
                    }
                    Some(true) => {
                        if inet {
                            alt.push((Step::Match(nfproto_dep(10)), true));
                        }
                        Reject::Icmpv6(n)
                    }
                    None => Reject::Icmpx(n),
                }
            }
            (Some(k), None) => return Err(bad("reject", k, "a code is missing")),
        };
        alt.push((Step::Action(Action::Verdict(Verdict::Reject(r))), false));
        Ok(vec![alt])
    }

    fn nat(
        &mut self,
        kind: &str,
        family: Option<&str>,
        addr: Option<&Expr>,
        port: Option<&Expr>,
        flags: &[String],
        text: &str,
    ) -> Result<Vec<Alt>, Bad> {
        let nat_kind = match kind {
            "snat" => NatKind::Snat,
            "dnat" => NatKind::Dnat,
            "masquerade" => NatKind::Masquerade,
            _ => NatKind::Redirect,
        };
        let base = Nat {
            kind: nat_kind,
            addr: None,
            ports: None,
            random: flags.iter().any(|f| f == "random"),
            fully_random: flags.iter().any(|f| f == "fully-random"),
            persistent: flags.iter().any(|f| f == "persistent"),
        };
        let mut dep: Alt = Vec::new();
        match family {
            Some("ip") => dep.push((Step::Match(nfproto_dep(2)), true)),
            Some("ip6") => dep.push((Step::Match(nfproto_dep(10)), true)),
            _ => {}
        }
        let ports = match port {
            None => None,
            Some(p) => match nat_ports(p) {
                Some(p) => Some(p),
                None => {
                    return Ok(vec![vec![(
                        Step::Action(Action::Undecidable(text.to_string())),
                        false,
                    )]])
                }
            },
        };
        match addr {
            None => {
                let mut alt = dep;
                alt.push((Step::Action(Action::Nat(Nat { ports, ..base })), false));
                Ok(vec![alt])
            }
            Some(Expr::Map { key, data }) => {
                let Some(elems) = self.map_elems(data).map(<[Elem]>::to_vec) else {
                    return Ok(vec![vec![(
                        Step::Action(Action::Undecidable(text.to_string())),
                        false,
                    )]]);
                };
                let mut out = Vec::new();
                for e in elems.iter().filter(|e| e.key != Expr::Catchall) {
                    let Some(d) = &e.data else { continue };
                    let mut nat = Nat {
                        ports,
                        ..base.clone()
                    };
                    let (a, p) = match d {
                        Expr::Concat(parts) if parts.len() == 2 => (&parts[0], Some(&parts[1])),
                        other => (other, None),
                    };
                    nat.addr = Some(nat_addr(a).ok_or_else(|| {
                        bad(
                            "NAT address",
                            &format!("{a:?}"),
                            "expected an address or range",
                        )
                    })?);
                    if let Some(p) = p {
                        nat.ports = Some(nat_ports(p).ok_or_else(|| {
                            bad("NAT port", &format!("{p:?}"), "expected a port or range")
                        })?);
                    }
                    let Some(mut alt) = self.key_is(key, &e.key, text)? else {
                        return Ok(vec![vec![(
                            Step::Action(Action::Undecidable(text.to_string())),
                            false,
                        )]]);
                    };
                    let mut full = dep.clone();
                    full.append(&mut alt);
                    full.push((Step::Action(Action::Nat(nat)), false));
                    out.push(full);
                }
                if elems.iter().any(|e| e.key == Expr::Catchall) {
                    return Ok(vec![vec![(
                        Step::Action(Action::Undecidable(format!(
                            "{text} (catch-all NAT map element)"
                        ))),
                        false,
                    )]]);
                }
                if out.is_empty() {
                    // An empty map: the lookup never succeeds, the rule never applies.
                    let never = Match::cmp(Key::NfProto, int(0));
                    return Ok(vec![vec![(Step::Match(never), false)]]);
                }
                Ok(out)
            }
            Some(a) => match nat_addr(a) {
                Some(range) => {
                    let mut alt = dep;
                    if self.family == Family::Inet && family.is_none() {
                        alt.push((
                            Step::Match(nfproto_dep(if range.0.is_ipv4() { 2 } else { 10 })),
                            true,
                        ));
                    }
                    alt.push((
                        Step::Action(Action::Nat(Nat {
                            addr: Some(range),
                            ports,
                            ..base
                        })),
                        false,
                    ));
                    Ok(vec![alt])
                }
                None => Ok(vec![vec![(
                    Step::Action(Action::Undecidable(text.to_string())),
                    false,
                )]]),
            },
        }
    }

    /// Whether a named set's elements could be typed (an undefined set is left to the
    /// engine, which reports it).
    fn set_modelled(&self, name: &str) -> bool {
        match self.table.sets.iter().find(|s| s.name == name) {
            Some(s) => key_types(&s.key, self.family).is_some(),
            None => true,
        }
    }

    /// The elements of an anonymous map or of a named map of this table.
    fn map_elems<'a>(&'a self, data: &'a Expr) -> Option<&'a [Elem]> {
        match data {
            Expr::Set(e) => Some(e),
            Expr::SetRef(n) => self
                .table
                .sets
                .iter()
                .find(|s| &s.name == n)
                .map(|s| s.elements.as_slice()),
            _ => None,
        }
    }

    /// Matches saying "`key` equals this element's key"; None if the key cannot be read.
    fn key_is(&mut self, key: &Expr, elem: &Expr, text: &str) -> Result<Option<Alt>, Bad> {
        let mut alt = Vec::new();
        match key {
            Expr::Concat(parts) => {
                let Expr::Concat(vals) = elem else {
                    return Err(bad(
                        "map element",
                        &format!("{elem:?}"),
                        "expected a concatenation",
                    ));
                };
                if vals.len() != parts.len() {
                    return Err(bad(
                        "map element",
                        &format!("{elem:?}"),
                        "wrong number of components",
                    ));
                }
                for (p, v) in parts.iter().zip(vals) {
                    match self.match_(p, Op::Eq, v, text)?.pop() {
                        Some(a) if !has_undecidable(&a) => alt.extend(a),
                        _ => return Ok(None),
                    }
                }
            }
            k => match self.match_(k, Op::Eq, elem, text)?.pop() {
                Some(a) if !has_undecidable(&a) => alt.extend(a),
                _ => return Ok(None),
            },
        }
        Ok(Some(alt))
    }

    /// Matches saying "`key` is none of these elements' keys" (for a catch-all).
    fn key_none_of(&mut self, key: &Expr, elems: &[Elem], text: &str) -> Result<Option<Alt>, Bad> {
        let keys: Vec<Elem> = elems
            .iter()
            .filter(|e| e.key != Expr::Catchall)
            .map(|e| Elem {
                key: e.key.clone(),
                data: None,
            })
            .collect();
        if keys.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let alts = self.match_(key, Op::Ne, &Expr::Set(keys), text)?;
        match alts.into_iter().next() {
            Some(a) if !has_undecidable(&a) => Ok(Some(a)),
            _ => Ok(None),
        }
    }

    fn vmap(&mut self, key: &Expr, data: &Expr, text: &str) -> Result<Vec<Alt>, Bad> {
        let Some(elems) = self.map_elems(data).map(<[Elem]>::to_vec) else {
            return Ok(vec![vec![(
                Step::Action(Action::Undecidable(text.to_string())),
                false,
            )]]);
        };
        let mut out = Vec::with_capacity(elems.len());
        let mut catchall = None;
        for e in &elems {
            let v = match &e.data {
                Some(Expr::Verdict(v)) => verdict(v),
                _ => {
                    return Err(bad(
                        "verdict map element",
                        &format!("{:?}", e.data),
                        "expected a verdict",
                    ))
                }
            };
            if e.key == Expr::Catchall {
                catchall = Some(v);
                continue;
            }
            let Some(mut alt) = self.key_is(key, &e.key, text)? else {
                return Ok(vec![vec![(
                    Step::Action(Action::Undecidable(text.to_string())),
                    false,
                )]]);
            };
            alt.push((Step::Action(Action::Verdict(v)), false));
            out.push(alt);
        }
        if let Some(v) = catchall {
            let Some(mut alt) = self.key_none_of(key, &elems, text)? else {
                return Ok(vec![vec![(
                    Step::Action(Action::Undecidable(text.to_string())),
                    false,
                )]]);
            };
            alt.push((Step::Action(Action::Verdict(v)), false));
            out.push(alt);
        }
        if out.is_empty() {
            // An empty verdict map: no element, no verdict; the rule goes on (nft breaks).
            out.push(vec![(Step::Match(Match::cmp(Key::NfProto, int(0))), false)]);
        }
        Ok(out)
    }

    fn mangle(&mut self, key: &Expr, value: &Expr, text: &str) -> Result<Vec<Alt>, Bad> {
        let act = |a: Action| Ok(vec![vec![(Step::Action(a), false)]]);
        let unknown = || act(Action::Undecidable(text.to_string()));
        // Value maps: one alternative per element.
        if let Expr::Map { key: mkey, data } = value {
            let Some(elems) = self.map_elems(data).map(<[Elem]>::to_vec) else {
                return unknown();
            };
            if elems.iter().any(|e| e.key == Expr::Catchall) {
                return unknown();
            }
            let mut out = Vec::new();
            for e in &elems {
                let Some(d) = &e.data else { continue };
                let Some(mut alt) = self.key_is(mkey, &e.key, text)? else {
                    return unknown();
                };
                let mut inner = self.mangle(key, d, text)?;
                let Some(mut a) = inner.pop() else {
                    return unknown();
                };
                alt.append(&mut a);
                out.push(alt);
            }
            if out.is_empty() {
                out.push(vec![(Step::Match(Match::cmp(Key::NfProto, int(0))), false)]);
            }
            return Ok(out);
        }
        match key {
            Expr::Meta(k) if k == "mark" => match mark_expr(value, "mark") {
                Some(MarkSrc::Own { keep, xor }) => act(Action::SetMark {
                    value: xor,
                    mask: !keep,
                }),
                Some(MarkSrc::Other { mask }) => act(Action::CtMark(CtMarkOp::Restore {
                    nfmask: u32::MAX,
                    ctmask: mask,
                })),
                None => unknown(),
            },
            Expr::Ct { key: k, .. } if k == "mark" => match mark_expr(value, "ct") {
                Some(MarkSrc::Own { keep, xor }) => act(Action::CtMark(CtMarkOp::SetXmark {
                    value: xor,
                    mask: !keep,
                })),
                Some(MarkSrc::Other { mask }) => act(Action::CtMark(CtMarkOp::Save {
                    nfmask: mask,
                    ctmask: u32::MAX,
                })),
                None => unknown(),
            },
            Expr::Ct { key: k, .. } if k == "helper" => match value {
                Expr::Value(h) => act(Action::CtSet {
                    helper: Some(h.clone()),
                    zone: None,
                }),
                _ => unknown(),
            },
            Expr::Ct { key: k, .. } if k == "zone" => match const_u64(value) {
                Some(z) if z <= u64::from(u16::MAX) => act(Action::CtSet {
                    helper: None,
                    zone: Some(z as u16),
                }),
                _ => unknown(),
            },
            Expr::Ct { key: k, .. }
                if matches!(
                    k.as_str(),
                    "timeout" | "expectation" | "label" | "event" | "secmark"
                ) =>
            {
                act(Action::Effect(Effect::CtAttribute { key: k.clone() }))
            }
            Expr::Meta(k) if k == "nftrace" => match const_u64(value) {
                Some(1) => act(Action::Trace),
                _ => act(Action::Effect(Effect::Nftrace)),
            },
            Expr::Meta(k) if k == "priority" => act(Action::Effect(Effect::Priority)),
            Expr::Meta(k) if k == "secmark" => act(Action::Effect(Effect::Secmark)),
            Expr::Payload { proto, field }
                if (proto == "ip" || proto == "ip6") && field == "dscp" =>
            {
                match pattern(Ty::Named(DSCP), value) {
                    Ok(Pattern::Value(Value::Int(d))) if d < 64 => act(Action::SetDscp(d as u8)),
                    _ => unknown(),
                }
            }
            Expr::TcpOption { name, .. } => {
                act(Action::Effect(Effect::TcpOption { name: name.clone() }))
            }
            _ => unknown(),
        }
    }
}

/// Appends a statement's steps to a body; dependencies already present are skipped.
fn push_alt(body: &mut Vec<Step>, alt: &Alt) {
    for (step, dep) in alt {
        if *dep && body.contains(step) {
            continue;
        }
        body.push(step.clone());
    }
}

fn with_deps(deps: Vec<Match>, step: Step) -> Alt {
    let mut alt: Alt = deps.into_iter().map(|d| (Step::Match(d), true)).collect();
    alt.push((step, false));
    alt
}

fn has_undecidable(alt: &Alt) -> bool {
    alt.iter().any(|(s, _)| {
        matches!(
            s,
            Step::Match(Match {
                test: Test::Undecidable { .. },
                ..
            })
        )
    })
}

/// Where a new mark comes from: the mark itself under `(mark & keep) ^ xor`, or the other
/// mark (ct mark for `meta mark set`, meta mark for `ct mark set`) under `& mask`.
enum MarkSrc {
    Own { keep: u32, xor: u32 },
    Other { mask: u32 },
}

/// `set VALUE` for marks: a constant, `mark | c`, `mark & c`, `mark ^ c` (nested), or the
/// other mark (optionally `& c`). `own` is "mark" (meta) or "ct".
fn mark_expr(e: &Expr, own: &str) -> Option<MarkSrc> {
    let is_own = |e: &Expr| match e {
        Expr::Meta(k) => own == "mark" && k == "mark",
        Expr::Ct { key, .. } => own == "ct" && key == "mark",
        _ => false,
    };
    let is_other = |e: &Expr| match e {
        Expr::Meta(k) => own == "ct" && k == "mark",
        Expr::Ct { key, .. } => own == "mark" && key == "mark",
        _ => false,
    };
    if let Some(c) = const_u64(e) {
        return Some(MarkSrc::Own {
            keep: 0,
            xor: c as u32,
        });
    }
    if is_own(e) {
        return Some(MarkSrc::Own {
            keep: u32::MAX,
            xor: 0,
        });
    }
    if is_other(e) {
        return Some(MarkSrc::Other { mask: u32::MAX });
    }
    let Expr::Binop { op, left, right } = e else {
        return None;
    };
    let c = const_u64(right)? as u32;
    if is_other(left) && *op == BinOp::And {
        return Some(MarkSrc::Other { mask: c });
    }
    let MarkSrc::Own { keep, xor } = mark_expr(left, own)? else {
        return None;
    };
    Some(match op {
        BinOp::And => MarkSrc::Own {
            keep: keep & c,
            xor: xor & c,
        },
        BinOp::Or => MarkSrc::Own {
            keep: keep & !c,
            xor: (xor & !c) | c,
        },
        BinOp::Xor => MarkSrc::Own { keep, xor: xor ^ c },
        BinOp::Shl | BinOp::Shr => return None,
    })
}

fn const_u64(e: &Expr) -> Option<u64> {
    match e {
        Expr::Num(n) => u64::try_from(*n).ok(),
        Expr::Value(v) => parse_int(v).and_then(|n| u64::try_from(n).ok()),
        _ => None,
    }
}

fn verdict(v: &VerdictAst) -> Verdict {
    match v {
        VerdictAst::Accept => Verdict::Accept,
        VerdictAst::Drop => Verdict::Drop,
        VerdictAst::Continue => Verdict::Continue,
        VerdictAst::Return => Verdict::Return,
        VerdictAst::Jump(c) => Verdict::Jump(c.clone()),
        VerdictAst::Goto(c) => Verdict::Goto(c.clone()),
    }
}

fn log(l: &LogAst) -> Result<Action, Bad> {
    if l.level.as_deref() == Some("audit") {
        return Ok(Action::Effect(Effect::Audit));
    }
    let level = match l.level.as_deref() {
        None => None,
        Some(name) => Some(match name {
            "emerg" => 0,
            "alert" => 1,
            "crit" => 2,
            "err" => 3,
            "warn" => 4,
            "notice" => 5,
            "info" => 6,
            "debug" => 7,
            other => {
                return Err(bad(
                    "log level",
                    other,
                    "expected emerg, alert, crit, err, warn, notice, info, debug or audit",
                ))
            }
        }),
    };
    let has = |f: &str| l.flags.iter().any(|x| x == f || x == "all");
    Ok(Action::Log(Log {
        kind: match l.group {
            Some(group) => LogKind::Nflog { group },
            None => LogKind::Kernel,
        },
        prefix: l.prefix.clone().unwrap_or_default(),
        level,
        tcp_sequence: has("tcp sequence"),
        tcp_options: has("tcp options"),
        ip_options: has("ip options"),
        uid: has("skuid"),
        macdecode: has("ether"),
    }))
}

/// TCP option names as nft knows them, to their kind numbers.
fn tcp_option_kind(name: &str) -> Option<u8> {
    Some(match name {
        "eol" => 0,
        "nop" | "noop" => 1,
        "maxseg" | "mss" => 2,
        "window" => 3,
        "sack-perm" | "sack-permitted" => 4,
        "sack" | "sack0" | "sack1" | "sack2" | "sack3" => 5,
        "timestamp" => 8,
        "md5sig" => 19,
        "mptcp" => 30,
        "fastopen" => 34,
        n => return n.parse().ok(),
    })
}

fn named_number(table: &[(&str, u64)], s: &str) -> Option<u64> {
    table
        .iter()
        .find(|(n, _)| *n == s)
        .map(|&(_, v)| v)
        .or_else(|| parse_int(s).and_then(|n| u64::try_from(n).ok()))
}

fn is_flag_list(e: &Expr) -> bool {
    matches!(e, Expr::List(_) | Expr::Binop { op: BinOp::Or, .. })
}

/// A flag value, list or `|` combination as one bit set.
fn bits(ty: Ty, e: &Expr) -> Result<u64, Bad> {
    match e {
        Expr::List(items) => items.iter().try_fold(0, |acc, i| Ok(acc | bits(ty, i)?)),
        Expr::Binop {
            op: BinOp::Or,
            left,
            right,
        } => Ok(bits(ty, left)? | bits(ty, right)?),
        Expr::Set(elems) => elems
            .iter()
            .try_fold(0, |acc, i| Ok(acc | bits(ty, &i.key)?)),
        other => scalar_bits(ty, other),
    }
}

fn scalar_bits(ty: Ty, e: &Expr) -> Result<u64, Bad> {
    match pattern(ty, e)? {
        Pattern::Value(Value::Int(n)) => Ok(n),
        Pattern::Value(Value::Addr(IpAddr::V4(a))) => Ok(u64::from(u32::from(a))),
        Pattern::AnyBit(n) => Ok(n),
        _ => Err(bad("mask", &format!("{e:?}"), "expected a number")),
    }
}

/// The key of one set element, a pattern per component.
fn element_key(tys: &[Ty], key: &Expr) -> Result<Vec<Pattern>, Bad> {
    match (key, tys.len()) {
        (Expr::Concat(parts), n) if parts.len() == n => {
            parts.iter().zip(tys).map(|(p, t)| pattern(*t, p)).collect()
        }
        (k, 1) => Ok(vec![pattern(tys[0], k)?]),
        (k, _) => Err(bad(
            "set element",
            &format!("{k:?}"),
            format!("expected {} components", tys.len()),
        )),
    }
}

/// A value (or set, range, prefix) typed by `ty`.
fn pattern(ty: Ty, e: &Expr) -> Result<Pattern, Bad> {
    match e {
        Expr::Num(n) => {
            let n = u64::try_from(*n).map_err(|_| bad("value", &n.to_string(), "negative"))?;
            Ok(int(convert_ether(ty, n)))
        }
        Expr::Value(s) => scalar(ty, s),
        Expr::Range(a, b) => Ok(Pattern::Range(value_of(ty, a)?, value_of(ty, b)?)),
        Expr::Prefix(a, len) => {
            let addr = match value_of(ty, a)? {
                Value::Addr(a) => a,
                v => return Err(bad("prefix", &format!("{v:?}"), "not an address")),
            };
            Ok(Pattern::Prefix(prefix(addr, *len)?))
        }
        Expr::Set(elems) => Ok(Pattern::OneOf(
            elems
                .iter()
                .filter(|e| e.key != Expr::Catchall)
                .map(|e| pattern(ty, &e.key))
                .collect::<Result<_, _>>()?,
        )),
        Expr::List(items) => match ty {
            Ty::Flags(_) => Ok(Pattern::AnyBit(bits(ty, e)?)),
            _ => Ok(Pattern::OneOf(
                items
                    .iter()
                    .map(|i| pattern(ty, i))
                    .collect::<Result<_, _>>()?,
            )),
        },
        Expr::Binop { op: BinOp::Or, .. } => Ok(int(bits(ty, e)?)),
        Expr::Bool(b) => Ok(int(u64::from(*b))),
        other => Err(bad("value", &format!("{other:?}"), "not a value")),
    }
}

fn value_of(ty: Ty, e: &Expr) -> Result<Value, Bad> {
    match pattern(ty, e)? {
        Pattern::Value(v) => Ok(v),
        Pattern::Iface(s) => Ok(Value::Str(s)),
        p => Err(bad("value", &format!("{p:?}"), "expected a single value")),
    }
}

fn convert_ether(ty: Ty, n: u64) -> u64 {
    if ty != Ty::EtherType {
        return n;
    }
    // nfproto numbers for the IP ethertypes; others never equal them.
    match n {
        0x0800 => 2,
        0x86dd => 10,
        other => other,
    }
}

fn prefix(addr: IpAddr, len: u32) -> Result<IpNet, Bad> {
    let len8 =
        u8::try_from(len).map_err(|_| bad("prefix length", &len.to_string(), "too large"))?;
    Ok(match addr {
        IpAddr::V4(a) => IpNet::V4(
            Ipv4Net::new(a, len8)
                .map_err(|_| bad("prefix length", &len.to_string(), "larger than 32"))?
                .trunc(),
        ),
        IpAddr::V6(a) => IpNet::V6(
            Ipv6Net::new(a, len8)
                .map_err(|_| bad("prefix length", &len.to_string(), "larger than 128"))?
                .trunc(),
        ),
    })
}

/// One word typed by `ty`: ranges `a-b` and prefixes `a/n` included.
fn scalar(ty: Ty, s: &str) -> Result<Pattern, Bad> {
    if let Ok(v) = single(ty, s) {
        return Ok(v);
    }
    if ty == Ty::Addr {
        if let Some((a, l)) = s.split_once('/') {
            let addr = addr(a)?;
            let len = l
                .parse()
                .map_err(|_| bad("prefix length", l, "not a number"))?;
            return Ok(Pattern::Prefix(prefix(addr, len)?));
        }
    }
    if let Some((a, b)) = split_range(s) {
        let lo = single(ty, a)?;
        let hi = single(ty, b)?;
        if let (Pattern::Value(lo), Pattern::Value(hi)) = (lo, hi) {
            return Ok(Pattern::Range(lo, hi));
        }
    }
    single(ty, s)
}

/// `a-b` split at the `-` that separates two values (names may contain `-`).
fn split_range(s: &str) -> Option<(&str, &str)> {
    s.match_indices('-')
        .map(|(i, _)| (&s[..i], &s[i + 1..]))
        .find(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes()
                    .next()
                    .is_some_and(|c| c.is_ascii_hexdigit() || c == b':')
                && b.bytes()
                    .next()
                    .is_some_and(|c| c.is_ascii_hexdigit() || c == b':')
        })
}

fn addr(s: &str) -> Result<IpAddr, Bad> {
    s.parse::<IpAddr>().map_err(|_| {
        if s.chars()
            .any(|c| c.is_ascii_alphabetic() && !c.is_ascii_hexdigit())
        {
            bad(
                "address",
                s,
                "host names are not resolved offline; use an address",
            )
        } else {
            bad("address", s, "not an IPv4 or IPv6 address")
        }
    })
}

fn single(ty: Ty, s: &str) -> Result<Pattern, Bad> {
    let num = |what: &str| {
        parse_int(s)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| bad(what, s, "not a number"))
    };
    Ok(match ty {
        Ty::Addr => Pattern::Value(Value::Addr(addr(s)?)),
        Ty::Port => match parse_int(s) {
            Some(n) if (0..=65535).contains(&n) => int(n as u64),
            _ => int(u64::from(
                values::port(s).map_err(|b| bad("port", s, b.reason))?,
            )),
        },
        Ty::Proto => int(u64::from(
            values::protocol(s).map_err(|b| bad("protocol", s, b.reason))?,
        )),
        Ty::Int => int(num("number")?),
        // nft's wildcard `eth*` is iptables' `eth+`; an escaped `\*` at the end is a literal
        // star (`iptables-translate -i '*'` gives `iifname "\*"`). A literal name ending in
        // `+` is kept as an exact string value: as `Iface` it would read as a wildcard.
        Ty::Iface => {
            let exact = |name: String| {
                if name.ends_with('+') {
                    Pattern::Value(Value::Str(name))
                } else {
                    Pattern::Iface(name)
                }
            };
            if let Some(p) = s.strip_suffix("\\*") {
                exact(format!("{p}*"))
            } else if let Some(p) = s.strip_suffix('*') {
                Pattern::Iface(format!("{p}+"))
            } else {
                exact(s.to_string())
            }
        }
        Ty::Mac => Pattern::Value(Value::Mac(
            Mac::parse(s).ok_or_else(|| bad("MAC address", s, "expected aa:bb:cc:dd:ee:ff"))?,
        )),
        Ty::Str => Pattern::Value(Value::Str(s.to_string())),
        Ty::Flags(t) | Ty::Named(t) => int(named_number(t, s).ok_or_else(|| {
            bad(
                "value",
                s,
                format!(
                    "not one of {}",
                    t.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ),
            )
        })?),
        Ty::EtherType => int(convert_ether(
            ty,
            named_number(ETHERTYPE, s)
                .ok_or_else(|| bad("ethertype", s, "expected ip, ip6, arp, vlan or a number"))?,
        )),
        Ty::Id => match s {
            "root" => int(0),
            _ => int(num(
                "user or group id (names other than root are not resolved offline)",
            )?),
        },
    })
}

/// A NAT address: a single address, a range, or a prefix as its first..last range.
fn nat_addr(e: &Expr) -> Option<(IpAddr, IpAddr)> {
    match pattern(Ty::Addr, e).ok()? {
        Pattern::Value(Value::Addr(a)) => Some((a, a)),
        Pattern::Range(Value::Addr(a), Value::Addr(b)) => Some((a, b)),
        Pattern::Prefix(net) => Some((net.network(), net.broadcast())),
        _ => None,
    }
}

fn nat_ports(e: &Expr) -> Option<(u16, u16)> {
    match pattern(Ty::Port, e).ok()? {
        Pattern::Value(Value::Int(p)) => Some((p as u16, p as u16)),
        Pattern::Range(Value::Int(a), Value::Int(b)) => Some((a as u16, b as u16)),
        _ => None,
    }
}

/// A named set lowered: its key types from `type` or `typeof`, its elements typed.
fn lower_set(s: &SetAst, family: Family, src: &SourceFile) -> Result<NamedSet, ParseError> {
    let tys = key_types(&s.key, family);
    let data_tys = s.data.as_ref().map(|d| key_types(d, family));
    let declared = match &s.key {
        SetKey::Type(t) => t.join(" . "),
        SetKey::Typeof(_) => "typeof".to_string(),
    };
    let mut elements = Vec::with_capacity(s.elements.len());
    if let Some(tys) = &tys {
        for e in &s.elements {
            if e.key == Expr::Catchall {
                continue;
            }
            let key = element_key(tys, &e.key).map_err(|Bad(what, value, reason)| {
                ParseError::new(
                    src,
                    s.origin.span,
                    ErrorKind::InvalidValue {
                        what,
                        value,
                        reason,
                    },
                )
            })?;
            let data = match (&e.data, &data_tys) {
                (Some(Expr::Verdict(v)), _) => Some(MapData::Verdict(verdict(v))),
                (Some(d), Some(Some(dt))) if dt.len() == 1 => match pattern(dt[0], d) {
                    Ok(Pattern::Value(v)) => Some(MapData::Value(v)),
                    _ => None,
                },
                _ => None,
            };
            elements.push(SetElement {
                key,
                data,
                nomatch: false,
            });
        }
    }
    let width = match &s.key {
        SetKey::Type(t) => t.len(),
        SetKey::Typeof(t) => t.len(),
    };
    Ok(NamedSet {
        name: s.name.clone(),
        key_width: width,
        elements,
        declared_type: declared,
        dynamic: s.timeouts || s.flags.iter().any(|f| f == "dynamic" || f == "timeout"),
        ipset_dims: vec![],
        origin: s.origin.clone(),
    })
}

/// Value types of a set's key components; None when one is not modelled (its elements are
/// then left out: lookups in it are decided by the engine as "not defined").
fn key_types(k: &SetKey, family: Family) -> Option<Vec<Ty>> {
    match k {
        SetKey::Type(names) => names.iter().map(|n| type_name(n)).collect(),
        SetKey::Typeof(exprs) => {
            let cx = TableCx {
                family,
                table: &TableAst {
                    family,
                    name: String::new(),
                    flags: vec![],
                    chains: vec![],
                    sets: vec![],
                    origin: Origin::default(),
                },
                anon: vec![],
                dynamic: HashSet::new(),
            };
            exprs
                .iter()
                .map(|e| match cx.selector(e) {
                    Sel::Key { ty, .. } => Some(ty),
                    Sel::Fib { result, .. } if result == "type" => Some(Ty::Named(FIB_TYPE)),
                    _ => None,
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use model::expr::{Key, Pattern, Test, Value};
    use model::ruleset::Step;
    use model::SourceFile;

    fn ifname_pattern(rule: &str) -> Pattern {
        let text = format!("table ip t {{\n chain c {{\n  {rule}\n }}\n}}\n");
        let rs = crate::nft::parse_text(&SourceFile::new("t.nft", text)).unwrap();
        match &rs.tables[0].chains[0].rules[0].body[0] {
            Step::Match(m) => match &m.test {
                Test::Cmp {
                    key: Key::IifName,
                    pattern,
                } => pattern.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    /// Found by the txlate cross-check (`iptables-translate -A FORWARD -i *` gives
    /// `iifname "\*"`): an escaped trailing star is the literal name `*`, not a wildcard;
    /// a literal name ending in `+` must not turn into iptables' `+` wildcard.
    /// Found by the nft kernel-differential test: `dnat ip6 to X` in an inet table leaves
    /// an IPv4 packet alone and the rule continues (the kernel traces the rule, verdict
    /// continue): an alternative for the other family with no action.
    #[test]
    fn inet_nat_with_a_family_continues_for_the_other_family() {
        let text = "table inet t {\n chain c {\n  type nat hook prerouting priority -100;\n  dnat ip6 to fd00::1\n }\n}\n";
        let rs = crate::nft::parse_text(&SourceFile::new("t.nft", text)).unwrap();
        let rules = &rs.tables[0].chains[0].rules;
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].origin.span, rules[1].origin.span);
        assert_eq!(
            rules[1].body,
            vec![Step::Match(model::expr::Match::cmp(
                Key::NfProto,
                Pattern::Value(Value::Int(2))
            ))]
        );
    }

    #[test]
    fn escaped_star_and_plus_are_literal_interface_names() {
        assert_eq!(
            ifname_pattern(r#"iifname "\*""#),
            Pattern::Iface("*".into())
        );
        assert_eq!(
            ifname_pattern(r#"iifname "eth*""#),
            Pattern::Iface("eth+".into())
        );
        assert_eq!(
            ifname_pattern(r#"iifname "eth*foo**""#),
            Pattern::Iface("eth*foo*+".into())
        );
        assert_eq!(
            ifname_pattern(r#"iifname "eth+""#),
            Pattern::Value(Value::Str("eth+".into()))
        );
    }
}
