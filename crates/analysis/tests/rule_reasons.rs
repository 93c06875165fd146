#![allow(clippy::print_stderr)] // SKIP notices for absent corpus files are the point.
//! Rule-level reasons (issue 10, part 5) on real rulesets: set and verdict-map misses,
//! shadowed rules and repeated rules, from user story 2, the nftables test suite's sample
//! ruleset, the real ufw ruleset of the corpus, the iptables test suite's ipset rule shape,
//! firewalld's ipset rule shape and a real duplicated rule from net-network.

use analysis::reasons::{KeyPart, Lookup, Mismatch, RuleReasons, VerdictClass};
use engine::{Options, Outcome};
use model::{Family, Host, Key, Packet, Pattern, RuleRef, Ruleset, SourceFile, Value};
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus(relative: &str) -> Option<String> {
    let path = repo().join("../shared/corpus").join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            eprintln!(
                "SKIP: {} is absent (../shared/corpus is not beside this clone)",
                path.display()
            );
            None
        }
    }
}

fn nft(text: &str) -> Ruleset {
    frontends::nft::parse_text(&SourceFile::new("t.nft", text)).unwrap_or_else(|e| panic!("{e}"))
}

fn iptables(text: &str) -> Ruleset {
    frontends::iptables_save::parse(&SourceFile::new("rules.v4", text), Some(Family::Ip))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn with_ipsets(mut rs: Ruleset, save: &str) -> Ruleset {
    rs.ipsets = frontends::host::ipset::parse(&SourceFile::new("ipset.save", save))
        .unwrap_or_else(|e| panic!("{e}"));
    rs
}

fn packet(spec: &str) -> Packet {
    frontends::packet_spec::packet(spec).unwrap_or_else(|e| panic!("{e}"))
}

fn reasons(rs: &Ruleset, spec: &str) -> (RuleReasons, Outcome) {
    reasons_with(rs, spec, &Options::default())
}

fn reasons_with(rs: &Ruleset, spec: &str, options: &Options) -> (RuleReasons, Outcome) {
    let p = packet(spec);
    let host = Host::default();
    let outcome = engine::simulate(rs, &host, &p, options);
    (RuleReasons::of(rs, &host, &p, &outcome, options), outcome)
}

fn rule_text(rs: &Ruleset, at: RuleRef) -> &str {
    &rs.rule_at(at).origin.text
}

fn part(key: Key, value: Value) -> KeyPart {
    KeyPart {
        key,
        value: Some(value),
    }
}

fn addr(s: &str) -> Value {
    Value::Addr(s.parse().unwrap())
}

/// The sample ruleset, and `--assume` that its reverse-path check (`fib saddr . iif oif 0
/// drop`, which needs the host's routes) passes, as it does for a packet whose source is
/// routed back out of its arrival interface.
fn sample_ruleset() -> Option<(Ruleset, Options)> {
    let text = corpus("netfilter-nftables/tests/shell/testcases/nft-f/dumps/sample-ruleset.nft")?;
    let rs = nft(&text);
    let t = rs.table(Family::Inet, "filter").expect("inet filter");
    let c = rs.tables[t].chain("rpfilter").expect("chain rpfilter");
    let rule = rs.tables[t].chains[c]
        .rules
        .iter()
        .position(|r| r.origin.text.starts_with("fib saddr . iif oif 0"))
        .expect("the fib rule");
    let site = engine::UnknownSite {
        rule: RuleRef {
            table: t,
            chain: c,
            rule,
        },
        step: 0,
    };
    let options = Options {
        assume: vec![(site, false)],
        ..Options::default()
    };
    Some((rs, options))
}

fn story2() -> String {
    std::fs::read_to_string(repo().join("crates/frontends/tests/fixtures/nft/story2.nft"))
        .expect("story 2 fixture")
}

/// Story 2: the forward path sees the post-NAT key 192.168.70.10 . 22, which `allow_in`
/// lacks; its nearest elements are the same address on port 80, then the same port on
/// the next address.
#[test]
fn story2_names_the_missed_key_and_the_nearest_elements() {
    let rs = nft(&story2());
    let (r, outcome) = reasons(&rs, "tcp 198.51.100.7:40000 10.1.2.3:1222 in eth0 out eth1");
    assert!(!outcome.primary().fate.passed());
    assert_eq!(r.set_misses.len(), 1, "{r:#?}");
    let miss = &r.set_misses[0];
    assert_eq!(
        miss.lookup,
        Lookup::Set {
            name: "allow_in".into()
        }
    );
    assert_eq!(miss.hook, model::Hook::Forward);
    assert_eq!(miss.declared_type, "ipv4_addr . inet_service");
    assert_eq!(miss.elements, 3);
    assert_eq!(
        miss.key,
        vec![
            part(Key::DstAddr, addr("192.168.70.10")),
            part(Key::DstPort, Value::Int(22))
        ]
    );
    assert_eq!(
        miss.nearest[0].key,
        vec![
            Pattern::Value(addr("192.168.70.10")),
            Pattern::Value(Value::Int(80))
        ]
    );
    assert_eq!(miss.nearest[0].matching, vec![true, false]);
    assert_eq!(
        miss.nearest[1].key,
        vec![
            Pattern::Value(addr("192.168.70.11")),
            Pattern::Value(Value::Int(22))
        ]
    );
    assert_eq!(miss.nearest[1].matching, vec![false, true]);
    assert!(miss.mismatches.is_empty(), "{:?}", miss.mismatches);
    assert!(rule_text(&rs, miss.rule).contains("@allow_in accept"));
    // The drop that decided has nothing after it on the chain: nothing is shadowed.
    assert!(r.shadowed.is_empty(), "{:?}", r.shadowed);
    assert!(r.repeats.is_empty());
}

/// Story 2 with the set holding the address and port the client dialled: the forward
/// chain sees the translated key, and the miss says the untranslated one is in the set.
#[test]
fn story2_with_the_pre_nat_element_says_the_set_holds_the_untranslated_key() {
    let text = story2().replace("192.168.70.10 . 80,", "10.1.2.3 . 1222,");
    let rs = nft(&text);
    let (r, _) = reasons(&rs, "tcp 198.51.100.7:40000 10.1.2.3:1222 in eth0 out eth1");
    let miss = &r.set_misses[0];
    assert_eq!(
        miss.mismatches,
        vec![Mismatch::Untranslated {
            key: vec![
                part(Key::DstAddr, addr("10.1.2.3")),
                part(Key::DstPort, Value::Int(1222))
            ]
        }]
    );
}

/// The nftables test suite's sample ruleset: INPUT dispatches by `iifname vmap @if_input`;
/// a packet on an interface the map does not list misses it, and the nearest elements are
/// the `eth*` names the map holds.
#[test]
fn sample_ruleset_vmap_miss_on_an_unlisted_interface() {
    let Some((rs, options)) = sample_ruleset() else {
        return;
    };
    let (r, _) = reasons_with(&rs, "udp 8.8.8.8:40000 192.168.1.1:53 in wlan0", &options);
    let miss = r
        .set_misses
        .iter()
        .find(|m| {
            m.lookup
                == Lookup::VerdictMap {
                    name: Some("if_input".into()),
                }
        })
        .unwrap_or_else(|| panic!("{r:#?}"));
    assert_eq!(miss.hook, model::Hook::Input);
    assert_eq!(
        miss.key,
        vec![part(Key::IifName, Value::Str("wlan0".into()))]
    );
    assert_eq!(miss.elements, 4);
    assert_eq!(miss.nearest.len(), 3);
    assert!(miss.nearest.iter().all(|e| e.matching == vec![false]));
    assert!(miss.nearest.iter().all(|e| e.verdict.is_some()));
    assert!(rule_text(&rs, miss.rule).contains("iifname vmap @if_input"));
}

/// The same ruleset on its public interface: the empty, interval-flagged `ipv4_blacklist`
/// is met and missed (empty), then `if_input` matches (no miss for it).
#[test]
fn sample_ruleset_empty_blacklist_set_is_a_miss_of_an_empty_set() {
    let Some((rs, options)) = sample_ruleset() else {
        return;
    };
    let (r, _) = reasons_with(&rs, "udp 8.8.8.8:40000 192.168.1.1:53 in eth0", &options);
    let names: Vec<&Lookup> = r.set_misses.iter().map(|m| &m.lookup).collect();
    assert!(
        names.contains(&&Lookup::Set {
            name: "ipv4_blacklist".into()
        }),
        "{r:#?}"
    );
    assert!(!names.contains(&&Lookup::VerdictMap {
        name: Some("if_input".into())
    }));
    let bl = r
        .set_misses
        .iter()
        .find(|m| {
            m.lookup
                == Lookup::Set {
                    name: "ipv4_blacklist".into(),
                }
        })
        .unwrap();
    assert_eq!(bl.mismatches, vec![Mismatch::Empty]);
    assert_eq!(bl.key, vec![part(Key::SrcAddr, addr("8.8.8.8"))]);
}

/// The real ufw ruleset (ufw 0.36 in a namespace): `ufw allow 22/tcp` was added before
/// `ufw deny from 192.168.60.99`, so that host's SSH is accepted and the deny never sees
/// it; its telnet is dropped by the deny, and the `ufw reject 23/tcp` after it is shadowed.
#[test]
fn ufw_deny_shadowed_by_the_earlier_allow_and_reject_by_the_deny() {
    let Some(text) = corpus("generated/ufw-in-netns/iptables-save.txt") else {
        return;
    };
    let rs = iptables(&text);
    let (r, outcome) = reasons(&rs, "tcp 192.168.60.99:40000 192.168.60.1:22 in lan0");
    assert!(outcome.primary().fate.passed());
    let s = r
        .shadowed
        .iter()
        .find(|s| rule_text(&rs, s.rule).contains("-s 192.168.60.99/32 -j DROP"))
        .unwrap_or_else(|| panic!("{:#?}", r.shadowed));
    assert_eq!((s.did, s.would), (VerdictClass::Accept, VerdictClass::Drop));
    assert!(rule_text(&rs, s.by).contains("--dport 22 -j ACCEPT"));
    assert!(!s.passes_without);
    assert_eq!(
        rs.source_rule_number(s.by) + 1,
        rs.source_rule_number(s.rule)
    );

    let (r, outcome) = reasons(&rs, "tcp 192.168.60.99:40000 192.168.60.1:23 in lan0");
    assert!(!outcome.primary().fate.passed());
    assert_eq!(r.shadowed.len(), 1, "{:#?}", r.shadowed);
    let s = &r.shadowed[0];
    assert_eq!((s.did, s.would), (VerdictClass::Drop, VerdictClass::Reject));
    assert!(rule_text(&rs, s.by).contains("-s 192.168.60.99/32 -j DROP"));
    assert!(rule_text(&rs, s.rule).contains("--dport 23 -j REJECT"));
    assert!(!s.passes_without);
}

/// A packet no later rule would decide otherwise has nothing shadowed.
#[test]
fn ufw_plain_accept_shadows_nothing() {
    let Some(text) = corpus("generated/ufw-in-netns/iptables-save.txt") else {
        return;
    };
    let rs = iptables(&text);
    let (r, outcome) = reasons(&rs, "tcp 192.168.60.5:40000 192.168.60.1:22 in lan0");
    assert!(outcome.primary().fate.passed());
    assert!(r.shadowed.is_empty(), "{:#?}", r.shadowed);
}

/// firewalld's rich rule `destination ipset=foobar accept` as iptables lists it
/// (`match-set foobar dst`), with a `hash:ip` set that does not hold the destination.
#[test]
fn firewalld_ipset_rule_shape_miss_with_nearest_address() {
    let Some(json) =
        corpus("firewalld/extracted_testsuite_expectations/features__rich_destination_ipset.json")
    else {
        return;
    };
    assert!(json.contains("match-set foobar dst"));
    let rs = with_ipsets(
        iptables(
            "*filter\n:INPUT DROP [0:0]\n:IN_public_allow - [0:0]\n-A INPUT -j IN_public_allow\n-A IN_public_allow -p tcp -m tcp --dport 22 -j ACCEPT\n-A IN_public_allow -m set --match-set foobar dst -j ACCEPT\nCOMMIT\n",
        ),
        "create foobar hash:ip family inet hashsize 1024 maxelem 65536\nadd foobar 192.0.2.10\nadd foobar 192.0.2.200\nadd foobar 198.51.100.1\n",
    );
    let (r, _) = reasons(&rs, "tcp 203.0.113.9:40000 192.0.2.11:443 in eth0");
    assert_eq!(r.set_misses.len(), 1, "{r:#?}");
    let miss = &r.set_misses[0];
    assert_eq!(
        miss.lookup,
        Lookup::Ipset {
            name: "foobar".into(),
            src: vec![false]
        }
    );
    assert_eq!(miss.declared_type, "hash:ip");
    assert_eq!(miss.key, vec![part(Key::DstAddr, addr("192.0.2.11"))]);
    assert_eq!(
        miss.nearest[0].key,
        vec![Pattern::Value(addr("192.0.2.10"))]
    );
    assert!(miss.mismatches.is_empty(), "{:?}", miss.mismatches);
}

/// The iptables test suite's ipset rule (`-m set --match-set foo src,dst`) on a
/// `hash:ip,port` set whose element is the server's address and port: the rule reads the
/// address from the source, so the key misses; `dst,dst` would find it.
#[test]
fn ipset_src_dst_rule_on_the_servers_element_is_the_other_direction() {
    let Some(t) = corpus("netfilter-iptables/extensions/libxt_set.t") else {
        return;
    };
    let rule = t
        .lines()
        .find_map(|l| l.strip_suffix(";;FAIL").filter(|r| r.ends_with("src,dst")))
        .expect("the src,dst rule of libxt_set.t");
    let rs = with_ipsets(
        iptables(&format!(
            "*filter\n:INPUT DROP [0:0]\n-A INPUT {rule} -j ACCEPT\nCOMMIT\n"
        )),
        "create foo hash:ip,port family inet\nadd foo 192.168.70.10,tcp:22\n",
    );
    let (r, _) = reasons(&rs, "tcp 10.0.0.7:40000 192.168.70.10:22 in eth0");
    let miss = &r.set_misses[0];
    assert_eq!(
        miss.key,
        vec![
            part(Key::SrcAddr, addr("10.0.0.7")),
            part(Key::L4Proto, Value::Int(6)),
            part(Key::DstPort, Value::Int(22))
        ]
    );
    assert_eq!(
        miss.mismatches,
        vec![Mismatch::OtherDirection {
            keys: vec![Key::DstAddr, Key::L4Proto, Key::DstPort],
            ipset_flags: Some(vec![false, false]),
        }]
    );
    assert_eq!(miss.nearest[0].matching, vec![false, true, true]);
}

/// A rule giving one flag for a two-dimensional set never matches in the kernel
/// (`ip_set_test`); an IPv4 packet never matches an `inet6` set; a timeout set is dynamic.
#[test]
fn ipset_fewer_dimensions_family_and_timeout() {
    let rs = with_ipsets(
        iptables(
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -m set --match-set svc dst -j ACCEPT\n-A INPUT -m set --match-set v6nets src -j ACCEPT\n-A INPUT -m set --match-set recent src -j ACCEPT\nCOMMIT\n",
        ),
        "create svc hash:ip,port family inet\nadd svc 192.168.70.10,tcp:22\ncreate v6nets hash:net family inet6\nadd v6nets 2001:db8::/32\ncreate recent hash:ip family inet timeout 300\nadd recent 10.0.0.8 timeout 120\n",
    );
    let (r, outcome) = reasons(&rs, "tcp 10.0.0.7:40000 192.168.70.10:22 in eth0");
    assert!(!outcome.primary().fate.passed());
    assert_eq!(r.set_misses.len(), 3, "{r:#?}");
    assert_eq!(
        r.set_misses[0].mismatches,
        vec![Mismatch::FewerDimensions { rule: 1, set: 2 }]
    );
    assert_eq!(
        r.set_misses[1].mismatches,
        vec![Mismatch::Family { key_v6: false }]
    );
    assert_eq!(r.set_misses[2].mismatches, vec![Mismatch::Dynamic]);
    assert_eq!(
        r.set_misses[2].nearest[0].key,
        vec![Pattern::Value(addr("10.0.0.8"))]
    );
}

/// A matched lookup and a lookup after a failed match are not misses.
#[test]
fn lookups_not_met_or_matched_are_not_misses() {
    let rs = nft(&story2());
    let (r, outcome) = reasons(
        &rs,
        "tcp 198.51.100.7:40000 192.168.70.11:22 in eth0 out eth1",
    );
    // Not DNATed: `ct status dnat` fails, the lookup is never met.
    assert!(outcome.primary().fate.passed());
    assert!(r.set_misses.is_empty(), "{r:#?}");
    let text = story2().replace("192.168.70.10 . 80,", "192.168.70.10 . 22,");
    let rs = nft(&text);
    let (r, outcome) = reasons(&rs, "tcp 198.51.100.7:40000 10.1.2.3:1222 in eth0 out eth1");
    assert!(outcome.primary().fate.passed());
    assert!(r.set_misses.is_empty(), "{r:#?}");
}

/// net-network's psa firewall lists `-A OUTPUT -d 212.211.132.250/32 -j ACCEPT` twice: a
/// packet to that host meets both copies (the first matches).
#[test]
fn real_duplicated_output_rule_is_a_repeat() {
    let Some(text) =
        corpus("diekmann-net-network/configs_psa/team_a/psa1_iptables-save.2015-11-14")
    else {
        return;
    };
    let rs = iptables(&text);
    let (r, _) = reasons(&rs, "tcp 192.168.1.5:40000 212.211.132.250:443 out eth0");
    assert_eq!(r.repeats.len(), 1, "{:#?}", r.repeats);
    let rep = &r.repeats[0];
    assert_eq!(rs.chain_at(rep.chain).name, "OUTPUT");
    let lines: Vec<u32> = rep
        .rules
        .iter()
        .map(|c| rs.rule_at(c.at).origin.line)
        .collect();
    assert_eq!(lines, vec![35, 40]);
    assert_eq!(
        rep.rules.iter().map(|c| c.matched).collect::<Vec<_>>(),
        vec![true, false]
    );
}
