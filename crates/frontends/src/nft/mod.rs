//! nftables rulesets, as `nft list ruleset` text and as `nft -j list ruleset` JSON, lowered
//! into the model.
//!
//! ```text
//! table inet filter {                        -> table inet filter
//!   chain input {                            -> base chain on input, priority 0
//!     type filter hook input priority filter; policy drop;
//!     tcp dport 22 accept # handle 4         -> meta l4proto 6, th dport 22, accept
//!   }
//! }
//! ```
//!
//! The parts, one job each: [`lexer`] splits text into tokens with spans; [`parser`] reads
//! commands and rules into the syntax tree of [`ast`]; [`json`] reads `nft -j` output into
//! the same tree; [`lower`] gives values their types and builds the model. Text and JSON
//! share the lowering, so twins of one ruleset lower to the same IR.
//!
//! Contract: never panics on any input; every error has a file span; anything the model
//! cannot express is `Undecidable` (matches) or `Action::Undecidable` (statements).

pub mod ast;
pub mod json;
pub mod lexer;
pub mod lower;
pub mod parse;
mod print;

use crate::ParseError;
use model::{Ruleset, SourceFile};

pub use lower::std_priority;

/// `nft list ruleset` text (with or without `-a` handles) and common `nft -f` input forms
/// (`add table/chain/rule/set/map/element`, `insert`, `flush ruleset`, `define`/`$var`,
/// `include` of files next to the input, resolved relative to the including file's
/// directory; read errors become ParseErrors at the include line).
pub fn parse_text(source: &SourceFile) -> Result<Ruleset, ParseError> {
    let doc = parse::parse(source)?;
    lower::lower(doc)
}

/// `nft -j list ruleset` (libnftables-json(5)), tolerant of version differences (single
/// flags as string or array, etc.); unknown objects are reported by JSON path in the
/// warnings, not fatal.
pub fn parse_json(source: &SourceFile) -> Result<(Ruleset, Vec<String>), ParseError> {
    let (doc, warnings) = json::parse(source)?;
    Ok((lower::lower(doc)?, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use model::expr::{
        ct_state, ct_status, rtn, Action, CtMarkOp, Effect, IfaceLimit, Key, LogKind, Match, Nat,
        NatKind, Pattern, Reject, SetRef, Test, Undecidable, Value, Verdict,
    };
    use model::ruleset::{ChainType, Family, Hook, Step};
    use model::Rule;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nft");

    fn text(t: &str) -> Ruleset {
        parse_text(&SourceFile::new("rules.nft", t)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The rules of one chain `c` in `table <family> t` holding `body`.
    fn rules_in(family: &str, body: &str) -> Vec<Rule> {
        let rs = text(&format!(
            "table {family} t {{\n chain c {{\n{body}\n }}\n chain other {{\n }}\n}}\n"
        ));
        rs.tables[0].chains[0].rules.clone()
    }

    fn body(family: &str, rule: &str) -> Vec<Step> {
        let mut r = rules_in(family, rule);
        assert_eq!(r.len(), 1, "{rule}");
        r.remove(0).body
    }

    fn cmp(key: Key, p: Pattern) -> Step {
        Step::Match(Match::cmp(key, p))
    }
    fn int(n: u64) -> Pattern {
        Pattern::Value(Value::Int(n))
    }
    fn act(a: Action) -> Step {
        Step::Action(a)
    }
    fn addr(s: &str) -> Pattern {
        Pattern::Value(Value::Addr(s.parse().unwrap()))
    }

    // ---- user story 2 ----

    fn story2_check(rs: &Ruleset) {
        let nat = &rs.tables[rs.table(Family::Inet, "nat").unwrap()];
        let pre = &nat.chains[0];
        let base = pre.base.clone().unwrap();
        assert_eq!(
            (base.hook, base.chain_type, base.priority),
            (Hook::Prerouting, ChainType::Nat, -100)
        );
        let dnat = Nat {
            kind: NatKind::Dnat,
            addr: Some((
                "192.168.70.10".parse().unwrap(),
                "192.168.70.10".parse().unwrap(),
            )),
            ports: Some((22, 22)),
            random: false,
            fully_random: false,
            persistent: false,
        };
        assert_eq!(
            pre.rules[0].body,
            vec![
                cmp(Key::NfProto, int(2)),
                cmp(Key::DstAddr, addr("10.1.2.3")),
                cmp(Key::L4Proto, int(6)),
                cmp(Key::DstPort, int(1222)),
                act(Action::Nat(dnat)),
            ]
        );
        let filter = &rs.tables[rs.table(Family::Inet, "filter").unwrap()];
        let fwd = &filter.chains[filter.chain("forward").unwrap()];
        assert_eq!(
            fwd.base.as_ref().map(|b| (b.hook, b.priority)),
            Some((Hook::Forward, 0))
        );
        assert_eq!(
            fwd.rules[0].body,
            vec![
                cmp(Key::CtStatus, Pattern::AnyBit(ct_status::DST_NAT)),
                act(Action::Verdict(Verdict::Jump("allowed_dnats".into()))),
            ]
        );
        let allowed = &filter.chains[filter.chain("allowed_dnats").unwrap()];
        assert!(allowed.base.is_none());
        let lookup = Test::InSet {
            keys: vec![Key::DstAddr, Key::DstPort],
            set: SetRef::Table("allow_in".into()),
        };
        assert_eq!(
            allowed.rules[0].body,
            vec![
                cmp(Key::NfProto, int(2)),
                cmp(Key::L4Proto, int(6)),
                Step::Match(Match::new(lookup)),
                act(Action::Verdict(Verdict::Accept)),
            ]
        );
        assert_eq!(
            allowed.rules[1].body,
            vec![act(Action::Verdict(Verdict::Drop))]
        );
        let set = filter.set("allow_in").unwrap();
        assert_eq!(set.key_width, 2);
        assert_eq!(set.elements.len(), 3);
        let missing = vec![addr("192.168.70.10"), int(22)];
        assert!(set.elements.iter().all(|e| e.key != missing));
        assert!(set
            .elements
            .iter()
            .any(|e| e.key == vec![addr("192.168.70.11"), int(22)]));
    }

    fn fixture(name: &str) -> SourceFile {
        let path = format!("{FIXTURES}/{name}");
        SourceFile::new(path.clone(), std::fs::read_to_string(&path).unwrap())
    }

    #[test]
    fn story2_from_text_listing_and_json() {
        let written = parse_text(&fixture("story2.nft")).unwrap();
        story2_check(&written);
        let listed = parse_text(&fixture("story2.listed-a.nft")).unwrap();
        story2_check(&listed);
        let (json, warnings) = parse_json(&fixture("story2.json")).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        story2_check(&json);
        // Provenance: handles from `-a` and JSON, line and text as listed.
        let f = &listed.tables[1];
        let r = &f.chains[f.chain("allowed_dnats").unwrap()].rules[0];
        assert_eq!((r.origin.handle, r.origin.line), (Some(5), 21));
        assert_eq!(r.origin.text, "ip daddr . tcp dport @allow_in accept");
        let j = &json.tables[1];
        assert_eq!(
            j.chains[j.chain("allowed_dnats").unwrap()].rules[0]
                .origin
                .handle,
            Some(5)
        );
    }

    // ---- structure ----

    #[test]
    fn named_priorities_with_offsets_by_family() {
        let rs = text(
            "table inet a { chain x { type filter hook input priority filter + 10; policy drop; } }\n\
             table ip b { chain y { type nat hook prerouting priority dstnat - 5; } }\n\
             table bridge c { chain z { type filter hook prerouting priority dstnat; } }\n\
             table netdev d { chain w { type filter hook ingress device \"eth0\" priority -500; } }\n",
        );
        let prio = |t: usize| rs.tables[t].chains[0].base.clone().unwrap();
        assert_eq!((prio(0).priority, prio(0).policy), (10, Verdict::Drop));
        assert_eq!(
            (prio(1).priority, prio(1).chain_type, prio(1).policy),
            (-105, ChainType::Nat, Verdict::Accept)
        );
        assert_eq!(prio(2).priority, -300);
        assert_eq!(
            (prio(3).priority, prio(3).device.as_deref()),
            (-500, Some("eth0"))
        );
        let e = parse_text(&SourceFile::new(
            "x",
            "table netdev n { chain c { type filter hook ingress device lo priority srcnat; } }",
        ))
        .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::InvalidValue { .. }), "{e}");
    }

    #[test]
    fn several_devices_make_one_base_chain_each() {
        let rs = text("table netdev t {\n chain c {\n type filter hook ingress devices = { eth0, eth1 } priority filter; policy drop;\n drop\n }\n}\n");
        let devs: Vec<_> = rs.tables[0]
            .chains
            .iter()
            .map(|c| c.base.clone().unwrap().device)
            .collect();
        assert_eq!(
            devs,
            vec![Some("eth0".to_string()), Some("eth1".to_string())]
        );
    }

    #[test]
    fn dormant_tables_have_no_base_chains() {
        let rs = text("table ip t {\n flags dormant\n chain c { type filter hook input priority 0; policy drop; }\n}\n");
        assert!(rs.tables[0].chains[0].base.is_none());
    }

    #[test]
    fn commands_defines_and_insert() {
        let rs = text(
            "define ports = { 22, 80 }\ndefine lan = 10.0.0.0/8\n\
             add table ip t\nadd chain ip t c { type filter hook input priority 0; }\n\
             add rule ip t c ip saddr $lan tcp dport $ports accept\n\
             insert rule ip t c counter\nadd set ip t s { type ipv4_addr; }\n\
             add element ip t s { 1.2.3.4 }\n",
        );
        let c = &rs.tables[0].chains[0];
        assert_eq!(c.rules[0].body, vec![act(Action::Counter)]);
        assert_eq!(
            c.rules[1].body,
            vec![
                cmp(Key::SrcAddr, Pattern::Prefix("10.0.0.0/8".parse().unwrap())),
                cmp(Key::L4Proto, int(6)),
                cmp(Key::DstPort, Pattern::OneOf(vec![int(22), int(80)])),
                act(Action::Verdict(Verdict::Accept)),
            ]
        );
        assert_eq!(
            c.rules[1].origin.text,
            "ip saddr $lan tcp dport $ports accept"
        );
        assert_eq!(rs.tables[0].sets[0].elements[0].key, vec![addr("1.2.3.4")]);
        let rs = text("table ip t { chain c { accept; } }\nflush ruleset\ntable ip u { }\n");
        assert_eq!(rs.tables.len(), 1);
        assert_eq!(rs.tables[0].name, "u");
    }

    #[test]
    fn includes_resolve_next_to_the_file_and_errors_point_at_the_include() {
        let dir = std::env::temp_dir().join(format!("wb-nft-include-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(
            dir.join("sub/inner.nft"),
            "define p = 22\ntable ip t { chain c { tcp dport $p drop } }\n",
        )
        .unwrap();
        let main = dir.join("main.nft");
        std::fs::write(
            &main,
            "include \"sub/inner.nft\"\nadd rule ip t c udp dport $p accept\n",
        )
        .unwrap();
        let src = SourceFile::new(
            main.display().to_string(),
            std::fs::read_to_string(&main).unwrap(),
        );
        let rs = parse_text(&src).unwrap();
        let c = &rs.tables[0].chains[0];
        assert_eq!(c.rules.len(), 2);
        assert!(c.rules[0].origin.file.ends_with("inner.nft"));
        assert_eq!(rs.sources.len(), 2);
        let bad = SourceFile::new(
            main.display().to_string(),
            "table ip t { }\ninclude \"nope.nft\"\n",
        );
        let e = parse_text(&bad).unwrap_err();
        assert_eq!(e.line_col(), (2, 9));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_have_line_and_column() {
        let e = parse_text(&SourceFile::new(
            "f",
            "table ip t {\n chain c {\n  ip saddr 10.0.0.300 accept\n }\n}\n",
        ))
        .unwrap_err();
        assert_eq!(e.line_col(), (3, 3));
        assert!(matches!(e.kind, ErrorKind::InvalidValue { .. }), "{e}");
        let e = parse_text(&SourceFile::new(
            "f",
            "table ip t {\n chain c {\n  frobnicate 3\n }\n}\n",
        ))
        .unwrap_err();
        assert_eq!(e.line_col(), (3, 3));
        assert!(
            matches!(&e.kind, ErrorKind::Unsupported { construct } if construct.contains("frobnicate")),
            "{e}"
        );
        let e = parse_text(&SourceFile::new(
            "f",
            "table ip t {\n chain c {\n  jump nowhere\n }\n}\n",
        ))
        .unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Undefined { .. }));
        assert_eq!(e.line_col(), (3, 3));
        let e = parse_text(&SourceFile::new(
            "f",
            "table ip t {\n chain c {\n  tcp dport $nope\n",
        ))
        .unwrap_err();
        assert_eq!(e.line_col(), (3, 13));
        let e =
            parse_json(&SourceFile::new("j", "{\"nftables\": [ {\"table\": 3} ]}")).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Json { .. }));
    }

    #[test]
    fn json_tolerates_unknown_objects_and_single_flags() {
        let j = r#"{"nftables": [{"table": {"family": "ip", "name": "t", "flags": "dormant"}},
            {"wibble": {}},
            {"chain": {"family": "ip", "table": "t", "name": "c", "type": "filter", "hook": "input", "prio": "filter + 5", "policy": "drop"}},
            {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [{"frob": 1}, {"accept": null}]}}]}"#;
        let (rs, w) = parse_json(&SourceFile::new("j", j)).unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("nftables[1].wibble"));
        assert!(rs.tables[0].chains[0].base.is_none(), "dormant");
        assert!(matches!(
            rs.tables[0].chains[0].rules[0].body[0],
            Step::Action(Action::Undecidable(_))
        ));
        assert_eq!(rs.tables[0].chains[0].rules[0].origin.line, 4);
    }

    // ---- expressions ----

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
            matches!(&body("inet", "meta cpu 1")[0], Step::Match(Match { test: Test::Undecidable { kind: Undecidable::Unsupported(n), .. }, .. }) if n == "meta cpu")
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

    #[test]
    fn tcp_flags_forms() {
        let syn = cmp(
            Key::TcpFlags,
            Pattern::Masked {
                mask: 0x12,
                value: 0x02,
            },
        );
        assert_eq!(body("ip", "tcp flags & (syn | ack) == syn")[1], syn);
        assert_eq!(body("ip", "tcp flags syn / syn,ack")[1], syn);
        assert_eq!(
            body("ip", "tcp flags syn")[1],
            cmp(Key::TcpFlags, Pattern::AnyBit(0x02))
        );
    }

    #[test]
    fn fib_forms() {
        assert_eq!(
            body("inet", "fib daddr type local"),
            vec![cmp(
                Key::FibAddrType {
                    dst: true,
                    iface: None
                },
                int(rtn::LOCAL)
            )]
        );
        assert_eq!(
            body("inet", "fib daddr . iif type != local")[0],
            Step::Match(
                Match::cmp(
                    Key::FibAddrType {
                        dst: true,
                        iface: Some(IfaceLimit::In)
                    },
                    int(rtn::LOCAL)
                )
                .negate(true)
            )
        );
        let strict = Test::RpFilter {
            loose: false,
            validmark: false,
            accept_local: false,
        };
        assert_eq!(
            body("inet", "fib saddr . iif oif missing drop")[0],
            Step::Match(Match::new(strict.clone()).negate(true))
        );
        assert_eq!(
            body("inet", "fib saddr . iif oif exists")[0],
            Step::Match(Match::new(strict))
        );
        let loose = Test::RpFilter {
            loose: true,
            validmark: true,
            accept_local: false,
        };
        assert_eq!(
            body("inet", "fib saddr . mark oif missing")[0],
            Step::Match(Match::new(loose).negate(true))
        );
    }

    #[test]
    fn named_and_anonymous_sets() {
        let rs = text("table inet t {\n set s { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.1.1-192.168.1.9 } }\n chain c {\n ip saddr != @s drop\n ip saddr . tcp dport { 1.2.3.4 . 22 } accept\n }\n}\n");
        let t = &rs.tables[0];
        let s = t.set("s").unwrap();
        assert_eq!(
            s.elements[1].key,
            vec![Pattern::Range(
                Value::Addr("192.168.1.1".parse().unwrap()),
                Value::Addr("192.168.1.9".parse().unwrap())
            )]
        );
        let lookup = Test::InSet {
            keys: vec![Key::SrcAddr],
            set: SetRef::Table("s".into()),
        };
        assert_eq!(
            t.chains[0].rules[0].body[1],
            Step::Match(Match::new(lookup).negate(true))
        );
        let anon = t.set("__anon0").unwrap();
        assert_eq!(anon.elements[0].key, vec![addr("1.2.3.4"), int(22)]);
    }

    #[test]
    fn verdict_maps_expand_with_a_guarded_catch_all() {
        let rules = rules_in(
            "inet",
            "tcp dport vmap { 22 : accept, 80 : jump other, * : drop }",
        );
        assert_eq!(rules.len(), 3);
        assert!(rules.iter().all(|r| r.origin.span == rules[0].origin.span));
        assert_eq!(
            rules[1].body,
            vec![
                cmp(Key::L4Proto, int(6)),
                cmp(Key::DstPort, int(80)),
                act(Action::Verdict(Verdict::Jump("other".into())))
            ]
        );
        assert_eq!(
            rules[2].body,
            vec![
                cmp(Key::L4Proto, int(6)),
                Step::Match(
                    Match::cmp(Key::DstPort, Pattern::OneOf(vec![int(22), int(80)])).negate(true)
                ),
                act(Action::Verdict(Verdict::Drop)),
            ]
        );
        let rs = text("table ip t {\n map m { type ipv4_addr : verdict; elements = { 1.1.1.1 : drop } }\n chain c { ip saddr vmap @m }\n}\n");
        assert_eq!(
            rs.tables[0].chains[0].rules[0].body,
            vec![
                cmp(Key::SrcAddr, addr("1.1.1.1")),
                act(Action::Verdict(Verdict::Drop))
            ]
        );
    }

    #[test]
    fn chain_bindings_become_chains() {
        let rs = text("table inet x {\n chain y {\n  tcp dport 53 jump {\n   ip saddr 10.0.0.1 accept\n  }\n  drop\n }\n}\n");
        let t = &rs.tables[0];
        assert_eq!(t.chains[1].name, "__chain0");
        assert_eq!(
            t.chains[0].rules[0].body.last(),
            Some(&act(Action::Verdict(Verdict::Jump("__chain0".into()))))
        );
        assert_eq!(t.chains[0].rules.len(), 2);
        assert_eq!(t.chains[1].rules.len(), 1);
    }

    // ---- statements ----

    #[test]
    fn statements() {
        let a = |family: &str, s: &str| {
            body(family, s)
                .into_iter()
                .filter_map(|s| match s {
                    Step::Action(a) => Some(a),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            a("ip", "reject"),
            vec![Action::Verdict(Verdict::Reject(Reject::Icmp(3)))]
        );
        assert_eq!(
            a("inet", "reject"),
            vec![Action::Verdict(Verdict::Reject(Reject::Icmpx(1)))]
        );
        assert_eq!(
            a("inet", "reject with icmpx admin-prohibited"),
            vec![Action::Verdict(Verdict::Reject(Reject::Icmpx(3)))]
        );
        assert_eq!(
            body("inet", "reject with icmpv6 addr-unreachable")[0],
            cmp(Key::NfProto, int(10))
        );
        assert_eq!(
            body("inet", "reject with tcp reset")[0],
            cmp(Key::L4Proto, int(6))
        );
        assert_eq!(
            a("ip", "meta mark set 0x10"),
            vec![Action::SetMark {
                value: 0x10,
                mask: u32::MAX
            }]
        );
        assert_eq!(
            a("ip", "meta mark set meta mark | 0x10"),
            vec![Action::SetMark {
                value: 0x10,
                mask: 0x10
            }]
        );
        assert_eq!(
            a("ip", "meta mark set ct mark"),
            vec![Action::CtMark(CtMarkOp::Restore {
                nfmask: u32::MAX,
                ctmask: u32::MAX
            })]
        );
        assert_eq!(
            a("ip", "ct mark set meta mark"),
            vec![Action::CtMark(CtMarkOp::Save {
                nfmask: u32::MAX,
                ctmask: u32::MAX
            })]
        );
        assert_eq!(
            a("ip", "ct helper set \"ftp\""),
            vec![Action::CtSet {
                helper: Some("ftp".into()),
                zone: None
            }]
        );
        assert_eq!(a("ip", "meta nftrace set 1"), vec![Action::Trace]);
        assert_eq!(a("ip", "notrack"), vec![Action::Notrack]);
        assert_eq!(
            a("ip", "queue num 3 bypass"),
            vec![Action::Verdict(Verdict::Queue(model::expr::Queue {
                num: 3,
                last: 3,
                bypass: true,
                fanout: false
            }))]
        );
        let log = a("ip", "log prefix \"x \" level info group 2");
        assert!(
            matches!(&log[0], Action::Log(l) if l.prefix == "x " && l.level == Some(6) && l.kind == LogKind::Nflog { group: 2 })
        );
        let nat = a("ip", "snat to 10.0.0.1-10.0.0.5:1000-2000 fully-random");
        assert!(
            matches!(&nat[0], Action::Nat(n) if n.kind == NatKind::Snat && n.ports == Some((1000, 2000)) && n.fully_random && n.addr.unwrap().1 == "10.0.0.5".parse::<std::net::IpAddr>().unwrap())
        );
        assert!(
            matches!(&a("ip", "redirect to :8080")[0], Action::Nat(n) if n.kind == NatKind::Redirect && n.ports == Some((8080, 8080)))
        );
        assert!(
            matches!(&a("ip", "masquerade")[0], Action::Nat(n) if n.kind == NatKind::Masquerade)
        );
        let mapped = rules_in(
            "ip",
            "dnat to ip daddr map { 1.1.1.1 : 10.0.0.1, 2.2.2.2 : 10.0.0.2 }",
        );
        assert_eq!(mapped.len(), 2);
        assert_eq!(mapped[1].body[0], cmp(Key::DstAddr, addr("2.2.2.2")));
        assert!(matches!(
            &body("ip", "limit rate 10/second accept")[0],
            Step::Match(Match {
                test: Test::Undecidable {
                    kind: Undecidable::Limit,
                    ..
                },
                ..
            })
        ));
        assert!(matches!(
            &body("ip", "numgen inc mod 2 0 accept")[0],
            Step::Match(Match {
                test: Test::Undecidable {
                    kind: Undecidable::Numgen,
                    ..
                },
                ..
            })
        ));
        assert_eq!(a("ip", "dup to 10.0.0.1")[0], Action::Effect(Effect::Dup));
        let r = &rules_in(
            "ip",
            "tcp dport 22 counter packets 5 bytes 300 accept comment \"ssh\" # handle 7",
        )[0];
        assert_eq!(
            r.origin.counters.map(|c| (c.packets, c.bytes)),
            Some((5, 300))
        );
        assert_eq!(
            (r.origin.comment.as_deref(), r.origin.handle),
            (Some("ssh"), Some(7))
        );
        assert_eq!(
            r.origin.text,
            "tcp dport 22 counter packets 5 bytes 300 accept comment \"ssh\""
        );
    }

    #[test]
    fn never_panics_on_truncations() {
        let t = std::fs::read_to_string(format!("{FIXTURES}/story2.nft")).unwrap();
        for i in 0..t.len() {
            if t.is_char_boundary(i) {
                let _ = parse_text(&SourceFile::new("t", &t[..i]));
            }
        }
        let j = std::fs::read_to_string(format!("{FIXTURES}/story2.json")).unwrap();
        for i in (0..j.len()).step_by(7) {
            let _ = parse_json(&SourceFile::new("j", &j[..i]));
        }
    }
}
