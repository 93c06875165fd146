//! Selectors: what a left-hand side reads (payload fields, `meta`, `ct`, `fib`, TCP
//! options, sockets), with the protocol dependencies nft adds implicitly.

use super::names::{Names, Ty, CT_DIR, CT_STATUS, DSCP, NFPROTO, PKTTYPE, TCP_FLAGS};
use super::{nfproto_dep, proto_dep, TableCx};
use crate::nft::ast::Expr;
use crate::unmodelled::unmodelled;
use model::expr::{Key, Match, RawBase, RawField, Undecidable};
use model::ruleset::Family;

/// What a selector reads.
pub(super) enum Sel {
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

/// nft's name of an undecidable thing from its selector (`numgen`, `socket`, ...).
pub(super) fn opaque_kind(name: &str) -> Undecidable {
    match name {
        "numgen" | "jhash" | "symhash" => Undecidable::Numgen,
        "socket" => Undecidable::Socket,
        "ipsec" => Undecidable::Ipsec,
        other => Undecidable::Unsupported(unmodelled(other.to_string())),
    }
}

impl TableCx<'_> {
    /// What `e` reads, with the dependencies nft adds implicitly for this table's family.
    pub(super) fn selector(&self, e: &Expr) -> Sel {
        let unsupported = |n: String| Sel::Undecidable(Undecidable::Unsupported(unmodelled(n)));
        match e {
            Expr::Payload { proto, field } => self.payload(proto, field),
            Expr::Meta(k) => meta(k),
            Expr::Ct { key, dir } => ct(key, dir.as_deref() == Some("reply")),
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
            Expr::Raw { base, offset, len } => raw(base, *offset, *len),
            Expr::Opaque { name, .. } => Sel::Undecidable(opaque_kind(name)),
            _ => unsupported("expression".into()),
        }
    }

    /// `PROTO FIELD`: the key, and the protocol (or, in inet, bridge and netdev tables, the
    /// family) the field depends on.
    fn payload(&self, p: &str, f: &str) -> Sel {
        let needs_nfproto = matches!(self.family, Family::Inet | Family::Bridge | Family::Netdev);
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
            ("ip", "dscp") | ("ip6", "dscp") => (Key::Dscp, Ty::Named(Names::Nft(DSCP))),
            ("ip", "length") => (Key::Length, Ty::Int),
            ("tcp" | "udp" | "udplite" | "sctp" | "dccp" | "th", "sport") => {
                (Key::SrcPort, Ty::Port)
            }
            ("tcp" | "udp" | "udplite" | "sctp" | "dccp" | "th", "dport") => {
                (Key::DstPort, Ty::Port)
            }
            ("tcp", "flags") => (Key::TcpFlags, Ty::Flags(Names::Nft(TCP_FLAGS))),
            ("icmp", "type") => (Key::IcmpType, Ty::Named(Names::IcmpType)),
            ("icmp", "code") => (Key::IcmpCode, Ty::Named(Names::IcmpCode)),
            ("icmpv6", "type") => (Key::Icmpv6Type, Ty::Named(Names::Icmpv6Type)),
            ("icmpv6", "code") => (Key::Icmpv6Code, Ty::Named(Names::Icmpv6Code)),
            _ => return Sel::Undecidable(Undecidable::Unsupported(unmodelled(format!("{p} {f}")))),
        };
        Sel::Key { key, ty, deps }
    }
}

/// Raw payload `@BASE,OFFSET,LEN`, read as a number from the packet's bytes; the inner
/// header (`@ih`) and reads wider than 64 bits are not modelled.
fn raw(base: &str, offset: u64, len: u64) -> Sel {
    let base_of = match base {
        "ll" => Some(RawBase::Link),
        "nh" => Some(RawBase::Network),
        "th" => Some(RawBase::Transport),
        _ => None,
    };
    match (base_of, u32::try_from(offset), u8::try_from(len)) {
        (Some(base), Ok(offset), Ok(len @ 1..=64)) => Sel::Key {
            key: Key::Raw(RawField { base, offset, len }),
            ty: Ty::Int,
            deps: vec![],
        },
        _ => Sel::Undecidable(Undecidable::Unsupported(unmodelled(format!(
            "raw payload @{base},{offset},{len}"
        )))),
    }
}

/// `meta KEY` (or a meta key written alone: `iifname`, `mark`, ...).
fn meta(k: &str) -> Sel {
    let (key, ty) = match k {
        "iifname" => (Key::IifName, Ty::Iface),
        "oifname" => (Key::OifName, Ty::Iface),
        // `iif`/`oif` compare interface indexes in the kernel; a listing prints
        // the name the index had, so they are matched by name.
        "iif" => (Key::IifName, Ty::Iface),
        "oif" => (Key::OifName, Ty::Iface),
        "mark" => (Key::Mark, Ty::Int),
        "length" => (Key::Length, Ty::Int),
        "l4proto" => (Key::L4Proto, Ty::Proto),
        "nfproto" => (Key::NfProto, Ty::Named(Names::Nft(NFPROTO))),
        "protocol" => (Key::NfProto, Ty::EtherType),
        "pkttype" => (Key::PktType, Ty::Named(Names::Nft(PKTTYPE))),
        "skuid" => (Key::SkUid, Ty::Id),
        "skgid" => (Key::SkGid, Ty::Id),
        "time" | "day" | "hour" => return Sel::Undecidable(Undecidable::Time),
        "ipsec" | "secpath" => return Sel::Undecidable(Undecidable::Ipsec),
        other => {
            return Sel::Undecidable(Undecidable::Unsupported(unmodelled(format!(
                "meta {other}"
            ))))
        }
    };
    Sel::Key {
        key,
        ty,
        deps: vec![],
    }
}

/// `ct [original|reply] KEY`: `reply` picks the reply tuple's addresses and ports.
fn ct(key: &str, reply: bool) -> Sel {
    let pick = |orig: Key, repl: Key| if reply { repl } else { orig };
    let (key, ty) = match key {
        "state" => (Key::CtState, Ty::Flags(Names::CtState)),
        "status" => (Key::CtStatus, Ty::Flags(Names::Nft(CT_STATUS))),
        "mark" => (Key::CtMark, Ty::Int),
        "direction" => (Key::CtDirection, Ty::Named(Names::Nft(CT_DIR))),
        "zone" => (Key::CtZone, Ty::Int),
        "helper" => (Key::CtHelper, Ty::Str),
        "protocol" | "proto" => (Key::CtProto, Ty::Proto),
        "saddr" | "ip saddr" | "ip6 saddr" => (pick(Key::CtOrigSrc, Key::CtReplSrc), Ty::Addr),
        "daddr" | "ip daddr" | "ip6 daddr" => (pick(Key::CtOrigDst, Key::CtReplDst), Ty::Addr),
        "proto-src" => (pick(Key::CtOrigSrcPort, Key::CtReplSrcPort), Ty::Port),
        "proto-dst" => (pick(Key::CtOrigDstPort, Key::CtReplDstPort), Ty::Port),
        "count" => return Sel::Undecidable(Undecidable::CtCount),
        other => {
            return Sel::Undecidable(Undecidable::Unsupported(unmodelled(format!("ct {other}"))))
        }
    };
    Sel::Key {
        key,
        ty,
        deps: vec![],
    }
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    #[test]
    fn payload_dependencies_follow_the_family() {
        assert_eq!(
            body("ip", "ip saddr != 10.0.0.0/8"),
            vec![Step::Match(
                Match::cmp(Key::SrcAddr, Pattern::Prefix("10.0.0.0/8".parse().unwrap()))
                    .negate(true)
            )]
        );
        assert_eq!(body("inet", "ip6 daddr ::1")[0], cmp(Key::NfProto, int(10)));
        assert_eq!(
            body("inet", "th dport 53"),
            vec![cmp(Key::DstPort, int(53))]
        );
        assert_eq!(
            body("ip", "udp sport 67-68"),
            vec![
                cmp(Key::L4Proto, int(17)),
                cmp(Key::SrcPort, Pattern::Range(Value::Int(67), Value::Int(68)))
            ]
        );
        assert_eq!(
            body("ip", "icmp type echo-request")[1],
            cmp(Key::IcmpType, int(8))
        );
        assert_eq!(
            body("ip6", "icmpv6 type nd-neighbor-solicit")[1],
            cmp(Key::Icmpv6Type, int(135))
        );
        assert_eq!(
            body("ip", "ip protocol tcp"),
            vec![cmp(Key::L4Proto, int(6))]
        );
        assert_eq!(
            body("bridge", "ether saddr 02:00:00:00:00:01")[0],
            cmp(
                Key::EtherSrc,
                Pattern::Value(Value::Mac(model::packet::Mac([2, 0, 0, 0, 0, 1])))
            )
        );
        assert_eq!(
            body("bridge", "ether type ip6"),
            vec![cmp(Key::NfProto, int(10))]
        );
    }

    #[test]
    fn meta_and_interfaces() {
        assert_eq!(
            body("inet", "iifname \"eth*\""),
            vec![cmp(Key::IifName, Pattern::Iface("eth+".into()))]
        );
        assert_eq!(
            body("inet", "meta oif lo"),
            vec![cmp(Key::OifName, Pattern::Iface("lo".into()))]
        );
        assert_eq!(
            body("inet", "meta mark & 0xff == 0x1"),
            vec![cmp(
                Key::Mark,
                Pattern::Masked {
                    mask: 0xff,
                    value: 1
                }
            )]
        );
        assert_eq!(
            body("inet", "meta nfproto ipv6"),
            vec![cmp(Key::NfProto, int(10))]
        );
        assert_eq!(
            body("inet", "meta l4proto { tcp, udp }"),
            vec![cmp(Key::L4Proto, Pattern::OneOf(vec![int(6), int(17)]))]
        );
        assert_eq!(
            body("inet", "meta pkttype broadcast"),
            vec![cmp(Key::PktType, int(1))]
        );
        assert_eq!(
            body("inet", "meta skuid 1000"),
            vec![cmp(Key::SkUid, int(1000))]
        );
        assert_eq!(
            body("inet", "meta length > 1000"),
            vec![cmp(
                Key::Length,
                Pattern::Compare(model::expr::CmpOp::Gt, Value::Int(1000))
            )]
        );
        assert!(
            matches!(&body("inet", "meta cpu 1")[0], Step::Match(Match { test: Test::Undecidable { kind: Undecidable::Unsupported(u), .. }, .. }) if u.name == "meta cpu")
        );
    }

    #[test]
    fn conntrack_keys() {
        assert_eq!(
            body("inet", "ct state established,related"),
            vec![cmp(
                Key::CtState,
                Pattern::AnyBit(ct_state::ESTABLISHED | ct_state::RELATED)
            )]
        );
        assert_eq!(
            body("inet", "ct state { new, untracked }"),
            vec![cmp(
                Key::CtState,
                Pattern::OneOf(vec![int(ct_state::NEW), int(ct_state::UNTRACKED)])
            )]
        );
        assert_eq!(
            body("inet", "ct original saddr 10.0.0.1"),
            vec![cmp(Key::CtOrigSrc, addr("10.0.0.1"))]
        );
        assert_eq!(
            body("inet", "ct reply proto-dst 80"),
            vec![cmp(Key::CtReplDstPort, int(80))]
        );
        assert_eq!(
            body("inet", "ct helper \"ftp\""),
            vec![cmp(Key::CtHelper, Pattern::Value(Value::Str("ftp".into())))]
        );
        assert_eq!(
            body("inet", "ct direction reply"),
            vec![cmp(Key::CtDirection, int(1))]
        );
        assert!(matches!(
            &body("inet", "ct count over 2 drop")[0],
            Step::Match(Match {
                test: Test::Undecidable {
                    kind: Undecidable::CtCount,
                    ..
                },
                ..
            })
        ));
    }
}
