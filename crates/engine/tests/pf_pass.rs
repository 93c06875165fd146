//! pf's pass, behaviour by behaviour, on small rulesets built as pfctl would expand them.
//! The judge is OpenBSD's `sys/net/pf.c` and pf.conf(5); each test names the fact.

use std::net::IpAddr;

use engine::bsd::{BlockAnswer, Decider, Direction, FilterPass, PassResult, PassVerdict, Step};
use engine::pf::{PfRules, PfState};
use model::expr::Undecidable;
use model::packet::{TcpFlags, L4};
use model::pf::{
    Action, AddrSpec, AnchorCall, BlockPolicy, BlockPolicyOption, Host as PfHost, InterfaceSpec,
    Item, KeepState, Log, NumOp, PfOption, Pool, PoolHost, Rule, RuleDirection, Ruleset, Table,
    TableEntry,
};
use model::{Origin, Packet};

mod pf_common;
use pf_common::{host, line_of, packet, syn, syn_ack, tcp, udp};

fn origin(line: u32, text: &str) -> Origin {
    Origin {
        file: "pf.conf".into(),
        line,
        text: text.into(),
        ..Origin::default()
    }
}

/// A rule with its text (for the report) and the fields a test sets.
fn rule(line: u32, action: Action, text: &str, set: impl FnOnce(&mut Rule)) -> Item {
    let mut r = Rule::new(action, origin(line, text));
    set(&mut r);
    Item::Rule(r)
}

/// Line 1: `block all`.
fn block_all() -> Item {
    rule(1, block(), "block all", |_| {})
}

fn block() -> Action {
    Action::Block(BlockPolicy::Default)
}

fn net(s: &str) -> AddrSpec {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a.parse().unwrap(), p.parse().unwrap()),
        None => {
            let a: IpAddr = s.parse().unwrap();
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    AddrSpec {
        negated: false,
        host: PfHost::Network { addr, prefix },
    }
}

fn on(name: &str) -> Option<InterfaceSpec> {
    Some(InterfaceSpec {
        negated: false,
        name: name.into(),
    })
}

fn pool(addr: &str) -> Pool {
    Pool {
        hosts: vec![PoolHost {
            host: net(addr).host,
            interface: None,
        }],
        ports: None,
        kind: None,
        hash_key: None,
        sticky: false,
        static_port: false,
    }
}

fn ruleset(items: Vec<Item>) -> Ruleset {
    Ruleset { items }
}

fn icmp(src: &str, dst: &str, icmp_type: u8, code: u8) -> Packet {
    let l4 = if src.contains(':') {
        L4::Icmpv6 {
            icmp_type,
            code,
            id: 7,
        }
    } else {
        L4::Icmp {
            icmp_type,
            code,
            id: 7,
        }
    };
    packet(src, dst, l4)
}

fn run(
    rules: &PfRules<'_>,
    p: &Packet,
    dir: Direction,
    iface: &str,
    st: &mut PfState,
) -> PassResult {
    rules.pass(p, dir, iface, st)
}

/// One pass on a fresh state table.
fn fresh(rules: &PfRules<'_>, p: &Packet, dir: Direction, iface: &str) -> PassResult {
    rules.pass(p, dir, iface, &mut PfState::default())
}

/// A SYN from 203.0.113.9 to 192.0.2.10 port 22, in on em0, on a fresh state table.
fn ssh_in(rules: &PfRules<'_>) -> PassResult {
    fresh(
        rules,
        &syn("203.0.113.9", 50000, "192.0.2.10", 22),
        Direction::In,
        "em0",
    )
}

/// `proto tcp to port N`.
fn tcp_to_port(r: &mut Rule, port: u32) {
    tcp_proto(r);
    r.to.port = Some(NumOp::Eq(port));
}

fn tcp_proto(r: &mut Rule) {
    r.proto = Some(6);
}

#[test]
fn the_last_matching_rule_decides() {
    let rs = ruleset(vec![
        block_all(),
        rule(2, Action::Pass, "pass in proto tcp to port 22", |r| {
            tcp_proto(r);
            r.direction = RuleDirection::In;
            r.to.port = Some(NumOp::Eq(22));
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let ssh = run(
        &rules,
        &syn("203.0.113.9", 50000, "192.0.2.10", 22),
        Direction::In,
        "em0",
        &mut st,
    );
    assert_eq!(ssh.verdict, PassVerdict::Pass);
    assert_eq!(line_of(&ssh), Some(2));
    assert!(ssh.keeps_state, "pass keeps state by default");
    let https = run(
        &rules,
        &syn("203.0.113.9", 50001, "192.0.2.10", 443),
        Direction::In,
        "em0",
        &mut st,
    );
    assert_eq!(https.verdict, PassVerdict::Block { answer: None });
    assert_eq!(line_of(&https), Some(1));
    // The first rule matched and was remembered, the second was evaluated and missed.
    assert!(matches!(
        https.steps.as_slice(),
        [
            Step::Rule {
                matched: Some(true),
                remembered: true,
                ..
            },
            Step::Rule {
                matched: Some(false),
                ..
            }
        ]
    ));
}

#[test]
fn quick_ends_the_evaluation_at_once() {
    let rs = ruleset(vec![
        rule(1, block(), "block quick proto tcp to port 22", |r| {
            r.quick = true;
            tcp_to_port(r, 22);
        }),
        rule(2, Action::Pass, "pass all", |_| {}),
    ]);
    let rules = PfRules::new(&rs, None);
    let result = ssh_in(&rules);
    assert_eq!(line_of(&result), Some(1));
    assert_eq!(
        result.steps.len(),
        1,
        "the rule after the quick one is not read"
    );
}

#[test]
fn no_matching_rule_passes_by_the_default_rule_without_state() {
    let rs = ruleset(vec![rule(1, block(), "block in on em1", |r| {
        r.direction = RuleDirection::In;
        r.interface = on("em1");
    })]);
    let rules = PfRules::new(&rs, None);
    let result = ssh_in(&rules);
    assert_eq!(result.verdict, PassVerdict::Pass);
    assert_eq!(result.decider, Decider::Default);
    assert!(!result.keeps_state);
}

#[test]
fn a_reply_passes_by_the_state_the_request_created() {
    let rs = ruleset(vec![
        block_all(),
        rule(2, Action::Pass, "pass out proto tcp", |r| {
            r.direction = RuleDirection::Out;
            tcp_proto(r);
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let out = run(
        &rules,
        &syn("192.0.2.10", 40000, "198.51.100.7", 80),
        Direction::Out,
        "em0",
        &mut st,
    );
    assert_eq!(out.verdict, PassVerdict::Pass);
    let reply = syn_ack("198.51.100.7", 80, "192.0.2.10", 40000);
    let back = run(&rules, &reply, Direction::In, "em0", &mut st);
    assert_eq!(back.verdict, PassVerdict::Pass);
    assert!(
        matches!(back.decider, Decider::State { created_by: Some(ref id) } if id.origin.line == 2)
    );
    // The same addresses as a new connection from outside: no state, blocked.
    let new = run(
        &rules,
        &syn("198.51.100.7", 80, "192.0.2.10", 40001),
        Direction::In,
        "em0",
        &mut st,
    );
    assert_eq!(line_of(&new), Some(1));
}

#[test]
fn a_forwarded_packet_needs_its_own_state_on_the_way_out() {
    // pf_find_state: an `out` packet's key has its addresses the other way round from the
    // `in` state's, so the state of `pass in` does not pass it out of em1.
    let rs = ruleset(vec![
        block_all(),
        rule(2, Action::Pass, "pass in on em0 proto tcp", |r| {
            r.direction = RuleDirection::In;
            r.interface = on("em0");
            tcp_proto(r);
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let p = syn("10.0.0.5", 40000, "198.51.100.7", 80);
    assert_eq!(
        run(&rules, &p, Direction::In, "em0", &mut st).verdict,
        PassVerdict::Pass
    );
    let out = run(&rules, &p, Direction::Out, "em1", &mut st);
    assert_eq!(line_of(&out), Some(1));
}

#[test]
fn a_stateful_pass_only_opens_on_a_syn() {
    // pfctl's default `flags S/SA` on a stateful pass: a mid-stream segment without state
    // does not match it.
    let rs = ruleset(vec![
        block_all(),
        rule(2, Action::Pass, "pass in proto tcp", |r| {
            r.direction = RuleDirection::In;
            tcp_proto(r);
        }),
        rule(3, Action::Pass, "pass in proto udp no state", |r| {
            r.direction = RuleDirection::In;
            r.proto = Some(17);
            r.keep_state = Some(KeepState::No);
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let ack = tcp("203.0.113.9", 50000, "192.0.2.10", 22, TcpFlags::ACK);
    assert_eq!(
        line_of(&run(&rules, &ack, Direction::In, "em0", &mut st)),
        Some(1)
    );
    let dns = run(
        &rules,
        &udp("203.0.113.9", 5353, "192.0.2.10", 53),
        Direction::In,
        "em0",
        &mut st,
    );
    assert_eq!(line_of(&dns), Some(3));
    assert!(!dns.keeps_state);
    assert!(st.entries.is_empty());
}

#[test]
fn a_new_syn_on_a_closed_state_goes_to_the_rules() {
    let rs = ruleset(vec![rule(1, Action::Pass, "pass in proto tcp", |r| {
        r.direction = RuleDirection::In;
        tcp_proto(r);
    })]);
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let p = syn("203.0.113.9", 50000, "192.0.2.10", 22);
    run(&rules, &p, Direction::In, "em0", &mut st);
    let rst = tcp("203.0.113.9", 50000, "192.0.2.10", 22, TcpFlags::RST);
    let reset = run(&rules, &rst, Direction::In, "em0", &mut st);
    assert!(matches!(reset.decider, Decider::State { .. }));
    let again = run(&rules, &p, Direction::In, "em0", &mut st);
    assert_eq!(
        line_of(&again),
        Some(1),
        "state reuse: the old state is removed"
    );
    assert_eq!(st.entries.len(), 1);
}

fn blocked_with(
    policy: BlockPolicy,
    set: Option<BlockPolicyOption>,
    p: &Packet,
) -> Option<BlockAnswer> {
    let mut items = Vec::new();
    if let Some(option) = set {
        items.push(Item::Option(
            PfOption::BlockPolicy(option),
            origin(1, "set block-policy"),
        ));
    }
    items.push(rule(2, Action::Block(policy), "block", |_| {}));
    let rs = ruleset(items);
    let rules = PfRules::new(&rs, None);
    match fresh(&rules, p, Direction::In, "em0").verdict {
        PassVerdict::Block { answer } => answer,
        other => panic!("not blocked: {other:?}"),
    }
}

#[test]
fn block_answers_follow_return_options_and_the_block_policy() {
    let s = syn("203.0.113.9", 50000, "192.0.2.10", 22);
    let u = udp("203.0.113.9", 50000, "192.0.2.10", 53);
    let u6 = udp("2001:db8::9", 50000, "2001:db8::10", 53);
    let port_unreach = Some(BlockAnswer::Icmp {
        icmp_type: 3,
        code: 3,
        as_dest: false,
    });
    // Plain block: the default policy drops.
    assert_eq!(blocked_with(BlockPolicy::Default, None, &s), None);
    // set block-policy return: RST for TCP, port unreachable for UDP.
    assert_eq!(
        blocked_with(BlockPolicy::Default, Some(BlockPolicyOption::Return), &s),
        Some(BlockAnswer::Rst)
    );
    assert_eq!(
        blocked_with(BlockPolicy::Default, Some(BlockPolicyOption::Return), &u),
        port_unreach
    );
    // An explicit drop ignores the policy.
    assert_eq!(
        blocked_with(BlockPolicy::Drop, Some(BlockPolicyOption::Return), &s),
        None
    );
    // return-rst answers TCP only: a UDP packet is dropped silently.
    assert_eq!(
        blocked_with(BlockPolicy::ReturnRst { ttl: None }, None, &u),
        None
    );
    // return-icmp answers TCP with ICMP too, with the code written.
    let icmp13 = BlockPolicy::ReturnIcmp {
        code4: Some(13),
        code6: None,
        v6_only: false,
    };
    assert_eq!(
        blocked_with(icmp13, None, &s),
        Some(BlockAnswer::Icmp {
            icmp_type: 3,
            code: 13,
            as_dest: false
        })
    );
    // IPv6: destination unreachable, no port (1/4).
    assert_eq!(
        blocked_with(BlockPolicy::Return, None, &u6),
        Some(BlockAnswer::Icmp {
            icmp_type: 1,
            code: 4,
            as_dest: false
        })
    );
    // A RST is never answered with a RST: `return` falls to its ICMP error.
    let rst = tcp("203.0.113.9", 50000, "192.0.2.10", 22, TcpFlags::RST);
    assert_eq!(blocked_with(BlockPolicy::Return, None, &rst), port_unreach);
    // An echo request is answered, an ICMP error is not (ICMP_INFOTYPE).
    assert_eq!(
        blocked_with(
            BlockPolicy::Return,
            None,
            &icmp("203.0.113.9", "192.0.2.10", 8, 0)
        ),
        port_unreach
    );
    assert_eq!(
        blocked_with(
            BlockPolicy::Return,
            None,
            &icmp("203.0.113.9", "192.0.2.10", 3, 1)
        ),
        None
    );
}

#[test]
fn set_skip_on_a_group_skips_its_interfaces() {
    let rs = ruleset(vec![
        Item::Option(
            PfOption::Skip(vec!["lo".into()]),
            origin(1, "set skip on lo"),
        ),
        rule(2, block(), "block all", |_| {}),
    ]);
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let p = syn("127.0.0.1", 40000, "127.0.0.1", 22);
    let lo = run(&rules, &p, Direction::In, "lo0", &mut st);
    assert_eq!(lo.verdict, PassVerdict::Pass);
    assert_eq!(
        lo.decider,
        Decider::Skipped {
            interface: "lo0".into()
        }
    );
    assert_eq!(
        line_of(&run(&rules, &p, Direction::In, "em0", &mut st)),
        Some(2)
    );
}

/// `translation` (line 1) from 10.0.0.0/24 to 198.51.100.1 on em1, then `block all`
/// and `pass out on em1 from 198.51.100.1` (line 3): the pass sees the translated
/// source. Returns the result of `p` going out of em1, checked to be rule 3's.
fn translated_out(translation: Item, p: &Packet, st: &mut PfState) -> PassResult {
    let rs = ruleset(vec![
        translation,
        rule(2, block(), "block all", |_| {}),
        rule(3, Action::Pass, "pass out on em1 from 198.51.100.1", |r| {
            r.direction = RuleDirection::Out;
            r.interface = on("em1");
            r.from.addr = net("198.51.100.1");
        }),
    ]);
    let out = PfRules::new(&rs, None).pass(p, Direction::Out, "em1", st);
    assert_eq!(line_of(&out), Some(3));
    assert_eq!(out.packet.src, "198.51.100.1".parse::<IpAddr>().unwrap());
    out
}

fn on_em1_from_lan(r: &mut Rule) {
    r.interface = on("em1");
    r.from.addr = net("10.0.0.0/24");
}

#[test]
fn nat_to_on_a_match_rule_rewrites_through_the_state_and_back() {
    let nat = rule(
        1,
        Action::Match,
        "match out on em1 from 10.0.0.0/24 nat-to 198.51.100.1",
        |r| {
            on_em1_from_lan(r);
            r.direction = RuleDirection::Out;
            r.nat_to = Some(Pool {
                static_port: true,
                ..pool("198.51.100.1")
            });
        },
    );
    let mut st = PfState::default();
    let out = translated_out(nat, &syn("10.0.0.5", 40000, "203.0.113.9", 443), &mut st);
    let static_port =
        |s: &Step| matches!(s, Step::Nat(rw) if rw.source && rw.after.1 == Some(40000));
    assert!(out.steps.iter().any(static_port));
    // The reply meets the state on the way in and is translated back.
    let rs = ruleset(vec![block_all()]);
    let reply = syn_ack("203.0.113.9", 443, "198.51.100.1", 40000);
    let rules = PfRules::new(&rs, None);
    let back = rules.pass(&reply, Direction::In, "em1", &mut st);
    assert!(matches!(back.decider, Decider::State { .. }));
    assert_eq!(back.packet.dst, "10.0.0.5".parse::<IpAddr>().unwrap());
    // An ICMP error about the translated segment (as it left: 198.51.100.1 > 203.0.113.9)
    // belongs to the state and reaches the inside host.
    let quoted = syn("198.51.100.1", 40000, "203.0.113.9", 443);
    let error = icmp("192.0.2.1", "198.51.100.1", 3, 4);
    let related = rules.pass_icmp_error(&error, &quoted, Direction::In, "em1", &mut st);
    assert!(matches!(related.decider, Decider::State { .. }));
    assert_eq!(related.packet.dst, "10.0.0.5".parse::<IpAddr>().unwrap());
}

#[test]
fn nat_to_without_a_state_leaves_the_packet_as_it_was() {
    // pf_test_rule rewrites the packet only when it creates a state.
    let rs = ruleset(vec![rule(
        1,
        Action::Pass,
        "pass out from 10.0.0.0/24 nat-to 198.51.100.1 no state",
        |r| {
            r.direction = RuleDirection::Out;
            r.from.addr = net("10.0.0.0/24");
            r.nat_to = Some(pool("198.51.100.1"));
            r.keep_state = Some(KeepState::No);
        },
    )]);
    let rules = PfRules::new(&rs, None);
    let p = udp("10.0.0.5", 40000, "203.0.113.9", 4444);
    let out = fresh(&rules, &p, Direction::Out, "em1");
    assert_eq!(out.packet, p);
}

#[test]
fn rdr_to_rewrites_the_destination_and_its_port_range() {
    let rs = ruleset(vec![rule(
        1,
        Action::Pass,
        "pass in on em0 proto tcp to 192.0.2.10 port 2000:2999 rdr-to 10.0.0.5 port 4000:*",
        |r| {
            r.direction = RuleDirection::In;
            r.interface = on("em0");
            tcp_proto(r);
            r.to.addr = net("192.0.2.10");
            r.to.port = Some(NumOp::Range(2000, 2999));
            r.rdr_to = Some(Pool {
                ports: Some((4000, 4999)),
                ..pool("10.0.0.5")
            });
        },
    )]);
    let rules = PfRules::new(&rs, None);
    let out = fresh(
        &rules,
        &syn("203.0.113.9", 50000, "192.0.2.10", 2001),
        Direction::In,
        "em0",
    );
    assert_eq!(out.packet.dst, "10.0.0.5".parse::<IpAddr>().unwrap());
    assert_eq!(out.packet.l4.ports(), Some((50000, 4001)));
}

#[test]
fn anchors_are_evaluated_in_place() {
    let body = ruleset(vec![rule(
        10,
        Action::Pass,
        "pass in proto tcp to port 22",
        |r| {
            r.direction = RuleDirection::In;
            tcp_to_port(r, 22);
            r.log = Some(Log::default());
        },
    )]);
    let rs = ruleset(vec![
        block_all(),
        rule(
            2,
            Action::Anchor(AnchorCall {
                name: Some("ssh".into()),
                body: Some(Box::new(body)),
            }),
            "anchor ssh",
            |_| {},
        ),
        rule(3, block(), "block in proto tcp to port 2222", |r| {
            tcp_to_port(r, 2222);
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let result = ssh_in(&rules);
    assert_eq!(line_of(&result), Some(10));
    match &result.decider {
        Decider::Rule(id) => assert_eq!(id.group.as_deref(), Some("ssh")),
        other => panic!("{other:?}"),
    }
    assert!(result
        .steps
        .iter()
        .any(|s| matches!(s, Step::EnterGroup { group } if &**group == "ssh")));
    assert_eq!(
        result.logs[0].text,
        "rule 1.ssh.0/(match) pass in on em0: 203.0.113.9.50000 > 192.0.2.10.22: S ?:?(0) win ? <?> (DF)"
    );
}

#[test]
fn a_quick_anchor_stops_when_its_rules_matched() {
    let body = ruleset(vec![rule(10, Action::Pass, "pass in proto tcp", |r| {
        r.direction = RuleDirection::In;
        tcp_proto(r);
    })]);
    let rs = ruleset(vec![
        rule(
            1,
            Action::Anchor(AnchorCall {
                name: Some("a".into()),
                body: Some(Box::new(body)),
            }),
            "anchor a quick",
            |r| r.quick = true,
        ),
        rule(2, block(), "block all", |_| {}),
    ]);
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let tcp_result = run(
        &rules,
        &syn("203.0.113.9", 50000, "192.0.2.10", 22),
        Direction::In,
        "em0",
        &mut st,
    );
    assert_eq!(line_of(&tcp_result), Some(10));
    // Nothing in the anchor matched UDP: evaluation goes on.
    let udp_result = run(
        &rules,
        &udp("203.0.113.9", 50000, "192.0.2.10", 4444),
        Direction::In,
        "em0",
        &mut st,
    );
    assert_eq!(line_of(&udp_result), Some(2));
}

#[test]
fn an_anchor_whose_rules_were_not_given_is_unknown() {
    let named = |name: &str| {
        Action::Anchor(AnchorCall {
            name: Some(name.into()),
            body: None,
        })
    };
    let rs = ruleset(vec![
        block_all(),
        rule(2, named("relayd/*"), "anchor \"relayd/*\"", |_| {}),
    ]);
    let p = syn("203.0.113.9", 50000, "192.0.2.10", 443);
    let rules = PfRules::new(&rs, None);
    let unknown = fresh(&rules, &p, Direction::In, "em0");
    assert!(matches!(unknown.verdict, PassVerdict::Undetermined { .. }));
    // Given its children, the wildcard evaluates each of them.
    let web = ruleset(vec![rule(
        20,
        Action::Pass,
        "pass in proto tcp to port 443",
        |r| {
            tcp_to_port(r, 443);
        },
    )]);
    let empty = ruleset(Vec::new());
    let rules = PfRules::new(&rs, None)
        .with_anchor("relayd/web", &web)
        .with_anchor("relayd/other", &empty);
    let known = fresh(&rules, &p, Direction::In, "em0");
    assert_eq!(line_of(&known), Some(20));
}

#[test]
fn a_tag_set_going_in_is_seen_going_out() {
    let rs = ruleset(vec![
        rule(1, Action::Match, "match in on em0 tag LAN", |r| {
            r.direction = RuleDirection::In;
            r.interface = on("em0");
            r.tag = Some("LAN".into());
        }),
        rule(2, block(), "block out", |r| {
            r.direction = RuleDirection::Out
        }),
        rule(3, Action::Pass, "pass out tagged LAN", |r| {
            r.direction = RuleDirection::Out;
            r.tagged = Some((false, "LAN".into()));
        }),
        // Without state: the tag still rides with the packet (pf_tag_packet).
        rule(4, Action::Pass, "pass in no state", |r| {
            r.direction = RuleDirection::In;
            r.keep_state = Some(KeepState::No);
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let p = syn("10.0.0.5", 40000, "203.0.113.9", 443);
    run(&rules, &p, Direction::In, "em0", &mut st);
    assert_eq!(
        line_of(&run(&rules, &p, Direction::Out, "em1", &mut st)),
        Some(3)
    );
    // A packet the host sends itself carries no tag.
    let own = syn("192.0.2.10", 40000, "203.0.113.9", 443);
    assert_eq!(
        line_of(&run(&rules, &own, Direction::Out, "em1", &mut st)),
        Some(2)
    );
}

#[test]
fn received_on_names_the_interface_the_packet_came_in_by() {
    let rs = ruleset(vec![
        rule(1, block(), "block out", |r| {
            r.direction = RuleDirection::Out
        }),
        rule(2, Action::Pass, "pass out received-on em0", |r| {
            r.direction = RuleDirection::Out;
            r.received_on = on("em0");
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let mut forwarded = syn("10.0.0.5", 40000, "203.0.113.9", 443);
    forwarded.iif = Some("em0".into());
    assert_eq!(
        line_of(&run(
            &rules,
            &forwarded,
            Direction::Out,
            "em1",
            &mut PfState::default()
        )),
        Some(2)
    );
    let own = syn("192.0.2.10", 40000, "203.0.113.9", 443);
    assert_eq!(
        line_of(&run(
            &rules,
            &own,
            Direction::Out,
            "em1",
            &mut PfState::default()
        )),
        Some(1)
    );
}

fn table(name: &str, persist: bool, entries: Vec<TableEntry>) -> Item {
    Item::Table(Table {
        name: name.into(),
        persist,
        constant: false,
        counters: false,
        entries,
        files: Vec::new(),
        origin: origin(1, "table"),
    })
}

fn entry(negated: bool, s: &str) -> TableEntry {
    TableEntry {
        negated,
        host: net(s).host,
    }
}

#[test]
fn tables_match_by_longest_prefix_with_negated_entries() {
    let rs = ruleset(vec![
        table(
            "bad",
            false,
            vec![
                entry(false, "203.0.113.0/24"),
                entry(true, "203.0.113.128/25"),
                entry(false, "203.0.113.200"),
            ],
        ),
        rule(2, block(), "block in from <bad>", |r| {
            r.direction = RuleDirection::In;
            r.from.addr = AddrSpec {
                negated: false,
                host: PfHost::Table("bad".into()),
            };
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let from = |src: &str| {
        fresh(
            &rules,
            &syn(src, 50000, "192.0.2.10", 22),
            Direction::In,
            "em0",
        )
    };
    assert_eq!(line_of(&from("203.0.113.9")), Some(2));
    assert_eq!(
        from("203.0.113.130").decider,
        Decider::Default,
        "the negated /25 is the longest match"
    );
    assert_eq!(
        line_of(&from("203.0.113.200")),
        Some(2),
        "the /32 inside the negated /25"
    );
    assert_eq!(from("198.51.100.1").decider, Decider::Default);
}

#[test]
fn a_table_filled_at_run_time_is_unknown_only_where_it_matters() {
    let rs = ruleset(vec![
        table("bruteforce", true, Vec::new()),
        rule(2, block(), "block in quick from <bruteforce>", |r| {
            r.quick = true;
            r.direction = RuleDirection::In;
            r.from.addr = AddrSpec {
                negated: false,
                host: PfHost::Table("bruteforce".into()),
            };
        }),
        rule(3, Action::Pass, "pass in proto tcp to port 22", |r| {
            tcp_to_port(r, 22);
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let result = ssh_in(&rules);
    assert_eq!(
        result.verdict,
        PassVerdict::Undetermined {
            on: Undecidable::SetUndefined("bruteforce".into())
        }
    );
    // With the table's contents given, it is decided.
    let rules =
        PfRules::new(&rs, None).with_table("bruteforce", vec![entry(false, "198.51.100.66")]);
    let decided = ssh_in(&rules);
    assert_eq!(line_of(&decided), Some(3));
    // Where both outcomes end alike, the answer stands and the rule is shown undecided.
    let rs = ruleset(vec![
        table("bruteforce", true, Vec::new()),
        rule(2, block(), "block in from <bruteforce>", |r| {
            r.from.addr = AddrSpec {
                negated: false,
                host: PfHost::Table("bruteforce".into()),
            };
        }),
        rule(3, Action::Pass, "pass in quick proto tcp to port 22", |r| {
            r.quick = true;
            tcp_to_port(r, 22);
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let either = ssh_in(&rules);
    assert_eq!(line_of(&either), Some(3));
    assert!(matches!(either.steps[0], Step::Rule { matched: None, .. }));
}

#[test]
fn interface_addresses_and_egress_resolve_from_the_host() {
    let rs = ruleset(vec![
        block_all(),
        rule(
            2,
            Action::Pass,
            "pass in on egress proto tcp to (egress) port 443",
            |r| {
                r.interface = on("egress");
                tcp_proto(r);
                r.to.addr = AddrSpec {
                    negated: false,
                    host: PfHost::Dynamic {
                        interface: "egress".into(),
                        modifier: Default::default(),
                        prefix: None,
                        af: None,
                    },
                };
                r.to.port = Some(NumOp::Eq(443));
            },
        ),
    ]);
    let p = syn("203.0.113.9", 50000, "192.0.2.10", 443);
    let unknown = run(
        &PfRules::new(&rs, None),
        &p,
        Direction::In,
        "em0",
        &mut PfState::default(),
    );
    assert!(
        matches!(unknown.verdict, PassVerdict::Undetermined { .. }),
        "no host: (egress) is Unknown, never no"
    );
    let host = host(
        &[("em0", vec![("192.0.2.10".parse().unwrap(), 24)])],
        Some("em0"),
    );
    let known = run(
        &PfRules::new(&rs, Some(&host)),
        &p,
        Direction::In,
        "em0",
        &mut PfState::default(),
    );
    assert_eq!(line_of(&known), Some(2));
    let other = syn("203.0.113.9", 50000, "192.0.2.11", 443);
    let missed = run(
        &PfRules::new(&rs, Some(&host)),
        &other,
        Direction::In,
        "em0",
        &mut PfState::default(),
    );
    assert_eq!(line_of(&missed), Some(1));
}

#[test]
fn probability_and_user_on_input_are_undetermined_when_they_decide() {
    let rs = ruleset(vec![
        rule(1, Action::Pass, "pass all", |_| {}),
        rule(2, block(), "block in proto tcp probability 10%", |r| {
            tcp_proto(r);
            r.probability = Some(0.1);
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let p = syn("203.0.113.9", 50000, "192.0.2.10", 22);
    let result = fresh(&rules, &p, Direction::In, "em0");
    assert_eq!(
        result.verdict,
        PassVerdict::Undetermined {
            on: Undecidable::Statistic
        }
    );
    let rs = ruleset(vec![
        block_all(),
        rule(2, Action::Pass, "pass proto tcp user 1000", |r| {
            tcp_proto(r);
            r.user = Some(NumOp::Eq(1000));
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let inbound = fresh(&rules, &p, Direction::In, "em0");
    assert_eq!(
        inbound.verdict,
        PassVerdict::Undetermined {
            on: Undecidable::SocketOwnerUnknown
        }
    );
    let mut own = syn("192.0.2.10", 40000, "203.0.113.9", 443);
    own.uid = Some(1000);
    assert_eq!(
        line_of(&run(
            &rules,
            &own,
            Direction::Out,
            "em0",
            &mut PfState::default()
        )),
        Some(2)
    );
    own.uid = Some(0);
    assert_eq!(
        line_of(&run(
            &rules,
            &own,
            Direction::Out,
            "em0",
            &mut PfState::default()
        )),
        Some(1)
    );
}

#[test]
fn a_stateful_rule_does_not_match_an_icmp_reply() {
    // "don't create states on replies": an echo reply without state meets `block all`.
    let rs = ruleset(vec![block_all(), rule(2, Action::Pass, "pass all", |_| {})]);
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let reply = icmp("203.0.113.9", "192.0.2.10", 0, 0);
    assert_eq!(
        line_of(&run(&rules, &reply, Direction::In, "em0", &mut st)),
        Some(1)
    );
    // The request creates a state that passes the reply.
    let request = icmp("192.0.2.10", "203.0.113.9", 8, 0);
    assert_eq!(
        line_of(&run(&rules, &request, Direction::Out, "em0", &mut st)),
        Some(2)
    );
    assert!(matches!(
        run(&rules, &reply, Direction::In, "em0", &mut st).decider,
        Decider::State { .. }
    ));
}

#[test]
fn an_icmp_error_belongs_to_the_state_of_the_packet_it_quotes() {
    let rs = ruleset(vec![
        block_all(),
        rule(2, Action::Pass, "pass out proto udp", |r| {
            r.direction = RuleDirection::Out;
            r.proto = Some(17);
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let request = udp("192.0.2.10", 40000, "203.0.113.9", 53);
    run(&rules, &request, Direction::Out, "em0", &mut st);
    let error = icmp("198.51.100.1", "192.0.2.10", 3, 3);
    let related = rules.pass_icmp_error(&error, &request, Direction::In, "em0", &mut st);
    assert!(matches!(related.decider, Decider::State { .. }));
    // Without the quoted packet it cannot be told whether it belongs to that state.
    let unknown = rules.pass(&error, Direction::In, "em0", &mut st);
    assert_eq!(
        unknown.verdict,
        PassVerdict::Undetermined {
            on: Undecidable::RawBytesUnknown
        }
    );
    // An error quoting a packet of no state meets the rules.
    let other = udp("192.0.2.10", 40001, "203.0.113.9", 53);
    let unrelated = rules.pass_icmp_error(&error, &other, Direction::In, "em0", &mut st);
    assert_eq!(line_of(&unrelated), Some(1));
}

#[test]
fn log_lines_name_the_rule_as_pflog_does() {
    let rs = ruleset(vec![
        rule(1, Action::Pass, "pass all", |_| {}),
        rule(
            2,
            block(),
            "block in log on em0 proto tcp to port 443",
            |r| {
                r.direction = RuleDirection::In;
                r.log = Some(Log::default());
                r.interface = on("em0");
                tcp_to_port(r, 443);
            },
        ),
        rule(3, Action::Pass, "pass in log (all) proto udp", |r| {
            r.direction = RuleDirection::In;
            r.proto = Some(17);
            r.log = Some(Log {
                all: true,
                ..Log::default()
            });
        }),
    ]);
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let blocked = run(
        &rules,
        &syn("203.0.113.9", 50000, "192.0.2.10", 443),
        Direction::In,
        "em0",
        &mut st,
    );
    assert_eq!(
        blocked.logs.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
        ["rule 1/(match) block in on em0: 203.0.113.9.50000 > 192.0.2.10.443: S ?:?(0) win ? <?> (DF)"]
    );
    let first = udp("203.0.113.9", 50000, "192.0.2.10", 4444);
    let passed = run(&rules, &first, Direction::In, "em0", &mut st);
    assert_eq!(
        passed.logs[0].text,
        "rule 2/(match) pass in on em0: 203.0.113.9.50000 > 192.0.2.10.4444: udp 0 (DF)"
    );
    // log (all): the state's later packets are logged too, the reply among them.
    let reply = udp("192.0.2.10", 4444, "203.0.113.9", 50000);
    let back = run(&rules, &reply, Direction::Out, "em0", &mut st);
    assert_eq!(
        back.logs[0].text,
        "rule 2/(match) pass out on em0: 192.0.2.10.4444 > 203.0.113.9.50000: udp 0 (DF)"
    );
    // DNS is decoded by tcpdump: its payload is not known.
    let dns = run(
        &rules,
        &udp("203.0.113.9", 50001, "192.0.2.10", 53),
        Direction::In,
        "em0",
        &mut st,
    );
    assert_eq!(
        dns.logs[0].text,
        "rule 2/(match) pass in on em0: 203.0.113.9.50001 > 192.0.2.10.53: ? (DF)"
    );
}

#[test]
fn freebsd_nat_translates_before_the_filter_rules() {
    let kind = model::pf::OldNatKind::Nat;
    let nat = rule(
        1,
        Action::OldNat { kind, no: false },
        "nat on em1 from 10.0.0.0/24 to any -> 198.51.100.1",
        |r| {
            on_em1_from_lan(r);
            r.nat_to = Some(pool("198.51.100.1"));
        },
    );
    let p = udp("10.0.0.5", 40000, "203.0.113.9", 4444);
    let out = translated_out(nat, &p, &mut PfState::default());
    // The random source port pf picks is not invented: the rewrite says it is not known.
    let random_port = |s: &Step| matches!(s, Step::Nat(rw) if rw.source && rw.after.1.is_none());
    assert!(out.steps.iter().any(random_port));
}

#[test]
fn log_lines_as_freebsd_tcpdump_prints_them() {
    // tcpdump.org's print-pflog.c: `rule N/0(match): ACTION DIR on IF: `, and its
    // printers' forms without `IP ` (with -e) and without the DF mark (without -v).
    let rs = ruleset(vec![rule(1, block(), "block log all", |r| {
        r.log = Some(Log::default());
    })]);
    let rules = PfRules::new(&rs, None).with_tcpdump(engine::pf::pflog::Tcpdump::Upstream);
    let text = |p: &Packet| fresh(&rules, p, Direction::In, "em0").logs[0].text.clone();
    assert_eq!(
        text(&syn("203.0.113.9", 50000, "192.0.2.10", 443)),
        "rule 0/0(match): block in on em0: 203.0.113.9.50000 > 192.0.2.10.443: \
         Flags [S], seq ?, win ?, options [?], length 0"
    );
    assert_eq!(
        text(&syn_ack("203.0.113.9", 443, "192.0.2.10", 50000)),
        "rule 0/0(match): block in on em0: 203.0.113.9.443 > 192.0.2.10.50000: \
         Flags [S.], seq ?, ack ?, win ?, options [?], length 0"
    );
    assert_eq!(
        text(&udp("203.0.113.9", 50000, "192.0.2.10", 4444)),
        "rule 0/0(match): block in on em0: 203.0.113.9.50000 > 192.0.2.10.4444: UDP, length 0"
    );
    assert_eq!(
        text(&icmp("203.0.113.9", "192.0.2.10", 8, 0)),
        "rule 0/0(match): block in on em0: 203.0.113.9 > 192.0.2.10: \
         ICMP echo request, id 7, seq ?, length 8"
    );
}

#[test]
fn a_neighbour_advertisement_meets_the_rules_and_keeps_no_state() {
    // pf_icmp_mapping: an advertisement's keep state is overridden to no state.
    let rs = ruleset(vec![block_all(), rule(2, Action::Pass, "pass", |_| {})]);
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let advert = icmp("fe80::2", "fe80::1", 136, 0);
    let passed = run(&rules, &advert, Direction::In, "em0", &mut st);
    assert_eq!(line_of(&passed), Some(2));
    assert!(!passed.keeps_state);
    assert!(st.entries.is_empty());
}
