//! The packet path end to end, with small rulesets built by hand (read each as the
//! iptables-save lines in its comment). Without host state, routing follows the packet
//! spec: `in X` alone is addressed to this host, `in X out Y` is forwarded.

use engine::{
    simulate, simulate_prepared, Assumption, CtState, Decider, Event, Fate, Note, Options,
    Prepared, TraceVerdict, Undetermined, UnknownSite, Warning,
};
use model::expr::{
    ct_state, ct_status, Action, Key, Log, LogKind, Match, Nat, NatKind, Pattern, Queue, Test,
    Undecidable, Unmodelled, Value,
};
use model::host::{CtEntry, CtTuple, Host, Known};
use model::packet::IpProto;
use model::ruleset::{priority, BaseChain, ChainType, Step};
use model::source::Origin;
use model::{
    Chain, ChainRef, Family, Hook, Packet, Rule, RuleRef, Ruleset, Table, TcpFlags, Verdict, L4,
};

// ----------------------------------------------------------------------------------------
// A tiny builder: tables of iptables chains, rules as matches then one target.

fn base(
    name: &str,
    hook: Hook,
    prio: i32,
    chain_type: ChainType,
    policy: Verdict,
    rules: Vec<Rule>,
) -> Chain {
    Chain {
        name: name.into(),
        base: Some(BaseChain {
            hook,
            chain_type,
            priority: prio,
            policy,
            device: None,
        }),
        rules,
        counters: None,
        origin: Origin::default(),
        numbers: Default::default(),
    }
}

fn filter(name: &str, hook: Hook, policy: Verdict, rules: Vec<Rule>) -> Chain {
    base(
        name,
        hook,
        priority::FILTER,
        ChainType::Filter,
        policy,
        rules,
    )
}

fn user(name: &str, rules: Vec<Rule>) -> Chain {
    Chain {
        name: name.into(),
        base: None,
        rules,
        counters: None,
        origin: Origin::default(),
        numbers: Default::default(),
    }
}

fn table(name: &str, chains: Vec<Chain>) -> Table {
    Table {
        family: Family::Ip,
        name: name.into(),
        chains,
        sets: vec![],
        origin: Origin::default(),
    }
}

fn ruleset(tables: Vec<Table>) -> Ruleset {
    Ruleset {
        tables,
        ..Ruleset::default()
    }
}

fn rule(matches: Vec<Match>, actions: Vec<Action>) -> Rule {
    let mut body: Vec<Step> = matches.into_iter().map(Step::Match).collect();
    body.extend(actions.into_iter().map(Step::Action));
    Rule {
        body,
        origin: Origin::default(),
    }
}

fn tcp_dport(port: u64) -> Vec<Match> {
    vec![
        Match::cmp(Key::L4Proto, Pattern::Value(Value::Int(6))),
        Match::cmp(Key::DstPort, Pattern::Value(Value::Int(port))),
    ]
}

fn ctstate(bits: u64) -> Match {
    Match::cmp(Key::CtState, Pattern::AnyBit(bits))
}

fn limit() -> Match {
    Match::new(Test::Undecidable {
        kind: Undecidable::Limit,
        text: "-m limit --limit 3/min".into(),
    })
}

fn v(verdict: Verdict) -> Action {
    Action::Verdict(verdict)
}

fn log(prefix: &str) -> Action {
    Action::Log(Log {
        kind: LogKind::Kernel,
        prefix: prefix.into(),
        level: None,
        tcp_sequence: false,
        tcp_options: false,
        ip_options: false,
        uid: false,
        macdecode: false,
    })
}

fn dnat(addr: Option<&str>, port: Option<u16>) -> Action {
    Action::Nat(Nat {
        kind: NatKind::Dnat,
        addr: addr.map(|a| (a.parse().unwrap(), a.parse().unwrap())),
        ports: port.map(|p| (p, p)),
        random: false,
        fully_random: false,
        persistent: false,
    })
}

fn nat_prerouting(rules: Vec<Rule>) -> Table {
    table(
        "nat",
        vec![
            base(
                "PREROUTING",
                Hook::Prerouting,
                priority::NAT_DST,
                ChainType::Nat,
                Verdict::Accept,
                rules,
            ),
            base(
                "INPUT",
                Hook::Input,
                priority::NAT_SRC,
                ChainType::Nat,
                Verdict::Accept,
                vec![],
            ),
            base(
                "OUTPUT",
                Hook::Output,
                priority::NAT_DST,
                ChainType::Nat,
                Verdict::Accept,
                vec![],
            ),
            base(
                "POSTROUTING",
                Hook::Postrouting,
                priority::NAT_SRC,
                ChainType::Nat,
                Verdict::Accept,
                vec![],
            ),
        ],
    )
}

fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: &str) -> Packet {
    Packet::new(
        src.parse().unwrap(),
        dst.parse().unwrap(),
        L4::Tcp {
            sport,
            dport,
            flags: TcpFlags::from_letters(flags).unwrap(),
        },
    )
}

/// A SYN received on eth0 for this host.
fn syn_in(dport: u16) -> Packet {
    let mut p = tcp("198.51.100.7", 40000, "192.0.2.10", dport, "S");
    p.iif = Some("eth0".into());
    p
}

/// A SYN received on eth0, forwarded out of eth1.
fn syn_through(dport: u16) -> Packet {
    let mut p = syn_in(dport);
    p.oif = Some("eth1".into());
    p
}

fn run(rs: &Ruleset, host: &Host, p: &Packet) -> engine::Outcome {
    simulate(rs, host, p, &Options::default())
}

fn at(table: usize, chain: usize, rule: usize) -> RuleRef {
    RuleRef { table, chain, rule }
}

/// (table name, chain name, 1-based rule number) of every matched rule, in order.
fn rule_steps(rs: &Ruleset, trace: &engine::Trace) -> Vec<(String, String, usize)> {
    trace
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Rule { at, .. } => Some((
                rs.tables[at.table].name.clone(),
                rs.chain_at(at.chain_ref()).name.clone(),
                at.rule + 1,
            )),
            _ => None,
        })
        .collect()
}

// ----------------------------------------------------------------------------------------
// Chains and verdicts.

/// `*raw -A PREROUTING -j ACCEPT`, `*filter :INPUT ACCEPT -A INPUT -p tcp --dport 22 -j DROP`
#[test]
fn accept_in_raw_does_not_stop_filter_drop() {
    let rs = ruleset(vec![
        table(
            "raw",
            vec![base(
                "PREROUTING",
                Hook::Prerouting,
                priority::RAW,
                ChainType::Filter,
                Verdict::Accept,
                vec![rule(vec![], vec![v(Verdict::Accept)])],
            )],
        ),
        table(
            "filter",
            vec![filter(
                "INPUT",
                Hook::Input,
                Verdict::Accept,
                vec![rule(tcp_dport(22), vec![v(Verdict::Drop)])],
            )],
        ),
    ]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert_eq!(out.decided_fate(), Some(&Fate::Dropped));
    assert_eq!(out.primary().decider, Decider::Rule(at(1, 0, 0)));
}

/// `:INPUT DROP`, no rule matches: the policy decides.
#[test]
fn policy_drop_decides() {
    let rs = ruleset(vec![table(
        "filter",
        vec![filter(
            "INPUT",
            Hook::Input,
            Verdict::Drop,
            vec![rule(tcp_dport(80), vec![v(Verdict::Accept)])],
        )],
    )]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert_eq!(out.decided_fate(), Some(&Fate::Dropped));
    assert_eq!(
        out.primary().decider,
        Decider::Policy(ChainRef { table: 0, chain: 0 })
    );
    assert!(out.primary().events.iter().any(|e| matches!(
        e,
        Event::Policy {
            verdict: TraceVerdict::Drop,
            ..
        }
    )));
}

/// `-A INPUT -j sub`, `-A sub -p tcp --dport 80 -j ACCEPT` (no match: end of sub pops),
/// `-A INPUT -p tcp --dport 22 -j REJECT`.
#[test]
fn jump_then_end_of_chain_returns_to_the_caller() {
    let rs = ruleset(vec![table(
        "filter",
        vec![
            filter(
                "INPUT",
                Hook::Input,
                Verdict::Accept,
                vec![
                    rule(vec![], vec![v(Verdict::Jump("sub".into()))]),
                    rule(
                        tcp_dport(22),
                        vec![v(Verdict::Reject(model::expr::Reject::TcpReset))],
                    ),
                ],
            ),
            user("sub", vec![rule(tcp_dport(80), vec![v(Verdict::Accept)])]),
        ],
    )]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert_eq!(
        out.decided_fate(),
        Some(&Fate::Rejected {
            with: model::expr::Reject::TcpReset
        })
    );
    let trace = out.primary();
    assert!(trace
        .events
        .iter()
        .any(|e| matches!(e, Event::ChainEnd { chain, .. } if chain.chain == 1)));
    assert_eq!(trace.decider, Decider::Rule(at(0, 0, 1)));
}

/// `-A sub -j RETURN` returns before the sub chain's ACCEPT.
#[test]
fn return_pops_to_the_rule_after_the_jump() {
    let rs = ruleset(vec![table(
        "filter",
        vec![
            filter(
                "INPUT",
                Hook::Input,
                Verdict::Drop,
                vec![
                    rule(vec![], vec![v(Verdict::Jump("sub".into()))]),
                    rule(tcp_dport(22), vec![v(Verdict::Accept)]),
                ],
            ),
            user(
                "sub",
                vec![
                    rule(vec![], vec![v(Verdict::Return)]),
                    rule(vec![], vec![v(Verdict::Drop)]),
                ],
            ),
        ],
    )]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert!(matches!(out.decided_fate(), Some(Fate::Delivered { .. })));
    assert_eq!(out.primary().decider, Decider::Rule(at(0, 0, 1)));
}

/// `-A INPUT -j a`, `-A a -g b`, `-A b` ends: back in INPUT after the jump (the goto did
/// not push), so `-A INPUT -j DROP` decides.
#[test]
fn goto_returns_to_the_callers_caller() {
    let rs = ruleset(vec![table(
        "filter",
        vec![
            filter(
                "INPUT",
                Hook::Input,
                Verdict::Accept,
                vec![
                    rule(vec![], vec![v(Verdict::Jump("a".into()))]),
                    rule(vec![], vec![v(Verdict::Drop)]),
                ],
            ),
            user(
                "a",
                vec![
                    rule(vec![], vec![v(Verdict::Goto("b".into()))]),
                    rule(vec![], vec![v(Verdict::Accept)]),
                ],
            ),
            user("b", vec![rule(tcp_dport(80), vec![v(Verdict::Accept)])]),
        ],
    )]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert_eq!(out.decided_fate(), Some(&Fate::Dropped));
    assert_eq!(
        out.primary().decider,
        Decider::Rule(at(0, 0, 1)),
        "a's ACCEPT after the goto is never reached"
    );
}

/// A `-j RETURN` in a base chain applies its policy.
#[test]
fn return_in_a_base_chain_applies_the_policy() {
    let rs = ruleset(vec![table(
        "filter",
        vec![filter(
            "INPUT",
            Hook::Input,
            Verdict::Drop,
            vec![rule(vec![], vec![v(Verdict::Return)])],
        )],
    )]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert_eq!(
        out.primary().decider,
        Decider::Policy(ChainRef { table: 0, chain: 0 })
    );
}

/// `-A a -j b`, `-A b -j a`: the kernel refuses the ruleset; the simulation says so and
/// ends.
#[test]
fn loop_in_jumps_is_reported_not_hung() {
    let rs = ruleset(vec![table(
        "filter",
        vec![
            filter(
                "INPUT",
                Hook::Input,
                Verdict::Accept,
                vec![rule(vec![], vec![v(Verdict::Jump("a".into()))])],
            ),
            user("a", vec![rule(vec![], vec![v(Verdict::Jump("b".into()))])]),
            user("b", vec![rule(vec![], vec![v(Verdict::Goto("a".into()))])]),
        ],
    )]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert!(matches!(
        out.decided_fate(),
        Some(Fate::Undetermined {
            reason: Undetermined::JumpLoop { .. }
        })
    ));
}

#[test]
fn goto_cycle_without_jumps_is_reported_not_hung() {
    let rs = ruleset(vec![table(
        "filter",
        vec![
            filter(
                "INPUT",
                Hook::Input,
                Verdict::Accept,
                vec![rule(vec![], vec![v(Verdict::Goto("a".into()))])],
            ),
            user("a", vec![rule(vec![], vec![v(Verdict::Goto("b".into()))])]),
            user("b", vec![rule(vec![], vec![v(Verdict::Goto("a".into()))])]),
        ],
    )]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert!(matches!(
        out.decided_fate(),
        Some(Fate::Undetermined {
            reason: Undetermined::JumpLoop { .. }
        })
    ));
}

#[test]
fn jump_to_a_missing_chain_is_undetermined_not_a_panic() {
    let rs = ruleset(vec![table(
        "filter",
        vec![filter(
            "INPUT",
            Hook::Input,
            Verdict::Accept,
            vec![rule(vec![], vec![v(Verdict::Jump("nope".into()))])],
        )],
    )]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert_eq!(
        out.decided_fate(),
        Some(&Fate::Undetermined {
            reason: Undetermined::MissingChain {
                name: "nope".into()
            }
        })
    );
}

/// Base chains of one hook run in priority order whatever the ruleset order: a mangle
/// chain (-150) listed after filter (0) still runs first and its mark is seen by filter.
#[test]
fn mark_set_then_matched_later() {
    let rs = ruleset(vec![
        table(
            "filter",
            vec![filter(
                "INPUT",
                Hook::Input,
                Verdict::Drop,
                vec![rule(
                    vec![Match::cmp(
                        Key::Mark,
                        Pattern::Masked {
                            mask: 0xff,
                            value: 0x2a,
                        },
                    )],
                    vec![v(Verdict::Accept)],
                )],
            )],
        ),
        table(
            "mangle",
            vec![base(
                "INPUT",
                Hook::Input,
                priority::MANGLE,
                ChainType::Filter,
                Verdict::Accept,
                vec![rule(
                    tcp_dport(22),
                    vec![Action::SetMark {
                        value: 0x2a,
                        mask: 0xffff_ffff,
                    }],
                )],
            )],
        ),
    ]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert!(matches!(out.decided_fate(), Some(Fate::Delivered { .. })));
    let trace = out.primary();
    assert!(trace.events.iter().any(|e| matches!(
        e,
        Event::MarkSet {
            old: 0,
            new: 0x2a,
            ..
        }
    )));
    assert_eq!(trace.decider, Decider::Rule(at(0, 0, 0)));
    assert_eq!(trace.final_packet.mark, 0x2a);
}

// ----------------------------------------------------------------------------------------
// Unknown matches.

/// ufw: `-A ufw-after-input -m limit --limit 3/min -j LOG --log-prefix "[UFW BLOCK] "`
/// then the policy drops: one answer, the log line flagged as possibly missing.
#[test]
fn unknown_limit_on_log_does_not_branch() {
    let rs = ruleset(vec![table(
        "filter",
        vec![filter(
            "INPUT",
            Hook::Input,
            Verdict::Drop,
            vec![rule(vec![limit()], vec![log("[UFW BLOCK] ")])],
        )],
    )]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert_eq!(out.branches.len(), 1);
    assert_eq!(out.decided_fate(), Some(&Fate::Dropped));
    let trace = out.primary();
    assert_eq!(trace.logs.len(), 1);
    assert_eq!(trace.logs[0].may_be_missing, Some(Undecidable::Limit));
    assert!(
        trace.logs[0].text.starts_with("[UFW BLOCK] IN=eth0 OUT= "),
        "{}",
        trace.logs[0].text
    );
}

/// `-A INPUT -m limit -j ACCEPT`, policy drop: accepted if the limit is not exceeded,
/// dropped otherwise.
#[test]
fn unknown_limit_on_accept_branches_into_two_fates() {
    let rs = ruleset(vec![table(
        "filter",
        vec![filter(
            "INPUT",
            Hook::Input,
            Verdict::Drop,
            vec![rule(vec![limit()], vec![v(Verdict::Accept)])],
        )],
    )]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert_eq!(out.branches.len(), 2);
    assert_eq!(out.decided_fate(), None);
    assert!(
        matches!(out.branches[0].trace.fate, Fate::Delivered { .. }),
        "the matching branch comes first"
    );
    assert!(out.branches[0].choices[0].matched);
    assert_eq!(out.branches[1].trace.fate, Fate::Dropped);
    assert!(!out.branches[1].choices[0].matched);
    assert!(!out.truncated);
}

#[test]
fn assume_forces_an_unknown_match_instead_of_branching() {
    let rs = ruleset(vec![table(
        "filter",
        vec![filter(
            "INPUT",
            Hook::Input,
            Verdict::Drop,
            vec![rule(vec![limit()], vec![v(Verdict::Accept)])],
        )],
    )]);
    let options = Options {
        assume: vec![(
            UnknownSite {
                rule: at(0, 0, 0),
                step: 0,
            },
            false,
        )],
        ..Options::default()
    };
    let out = simulate(&rs, &Host::default(), &syn_in(22), &options);
    assert_eq!(out.branches.len(), 1);
    assert_eq!(out.decided_fate(), Some(&Fate::Dropped));
    assert!(out
        .primary()
        .events
        .iter()
        .any(|e| matches!(e, Event::Unknown { choice, .. } if choice.assumed_by_user)));
}

/// Four limited rules in a row: 5 paths, cut at max_branches.
#[test]
fn branches_stop_at_max_branches() {
    let rules = (0..4)
        .map(|_| rule(vec![limit()], vec![v(Verdict::Accept)]))
        .collect();
    let rs = ruleset(vec![table(
        "filter",
        vec![filter("INPUT", Hook::Input, Verdict::Drop, rules)],
    )]);
    let all = run(&rs, &Host::default(), &syn_in(22));
    assert_eq!(all.branches.len(), 5);
    assert!(!all.truncated);
    let options = Options {
        max_branches: 3,
        ..Options::default()
    };
    let cut = simulate(&rs, &Host::default(), &syn_in(22), &options);
    assert_eq!(cut.branches.len(), 3);
    assert!(cut.truncated);
}

/// A target whyblocked does not model: it either lets the packet go on (first branch) or
/// stops it with a verdict nobody knows.
#[test]
fn unmodelled_target_branches_into_continue_and_undetermined() {
    let rs = ruleset(vec![table(
        "filter",
        vec![filter(
            "INPUT",
            Hook::Input,
            Verdict::Drop,
            vec![
                rule(
                    vec![],
                    vec![Action::Undecidable(Unmodelled {
                        name: "FOO".into(),
                        needs_conntrack: false,
                    })],
                ),
                rule(tcp_dport(22), vec![v(Verdict::Accept)]),
            ],
        )],
    )]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert_eq!(out.branches.len(), 2);
    assert!(matches!(out.branches[0].trace.fate, Fate::Delivered { .. }));
    assert!(matches!(
        out.branches[1].trace.fate,
        Fate::Undetermined {
            reason: Undetermined::UnmodelledTarget { .. }
        }
    ));
    assert_eq!(out.decided_fate(), None);
}

// ----------------------------------------------------------------------------------------
// Conntrack.

fn host_with_conntrack(entries: Vec<CtEntry>) -> Host {
    Host {
        conntrack: entries,
        known: Known {
            conntrack: true,
            ..Known::default()
        },
        ..Host::default()
    }
}

fn entry(orig: CtTuple, reply: CtTuple, status: u64) -> CtEntry {
    CtEntry {
        proto: IpProto::Tcp,
        orig,
        reply,
        tcp_state: None,
        status,
        mark: 0,
        zone: 0,
        timeout: None,
        text: String::new(),
    }
}

fn tuple(src: &str, sport: u16, dst: &str, dport: u16) -> CtTuple {
    CtTuple {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        sport,
        dport,
    }
}

fn stateful_input() -> Table {
    table(
        "filter",
        vec![filter(
            "INPUT",
            Hook::Input,
            Verdict::Drop,
            vec![
                rule(
                    vec![ctstate(ct_state::ESTABLISHED | ct_state::RELATED)],
                    vec![v(Verdict::Accept)],
                ),
                rule(vec![ctstate(ct_state::INVALID)], vec![v(Verdict::Drop)]),
                rule(vec![ctstate(ct_state::UNTRACKED)], vec![v(Verdict::Accept)]),
            ],
        )],
    )
}

#[test]
fn established_from_conntrack_table() {
    let rs = ruleset(vec![stateful_input()]);
    let host = host_with_conntrack(vec![entry(
        tuple("198.51.100.7", 40000, "192.0.2.10", 22),
        tuple("192.0.2.10", 22, "198.51.100.7", 40000),
        ct_status::SEEN_REPLY | ct_status::ASSURED,
    )]);
    let mut p = syn_in(22);
    p.l4 = L4::Tcp {
        sport: 40000,
        dport: 22,
        flags: TcpFlags::from_letters("PA").unwrap(),
    };
    let out = run(&rs, &host, &p);
    let trace = out.primary();
    assert_eq!(trace.conntrack.state, Some(CtState::Established));
    assert_eq!(trace.conntrack.entry, Some(0));
    assert_eq!(trace.decider, Decider::Rule(at(0, 0, 0)));
    assert!(!trace.assumptions.contains(&Assumption::FirstPacketOfFlow));
}

#[test]
fn first_packet_is_assumed_without_a_conntrack_table() {
    let rs = ruleset(vec![stateful_input()]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    let trace = out.primary();
    assert_eq!(trace.conntrack.state, Some(CtState::New));
    assert!(trace.assumptions.contains(&Assumption::FirstPacketOfFlow));
    assert!(trace.conntrack.new_entry.is_some());
}

#[test]
fn tcp_loose_0_makes_a_lone_ack_invalid() {
    let rs = ruleset(vec![stateful_input()]);
    let mut host = Host::default();
    host.sysctls
        .0
        .insert("net.netfilter.nf_conntrack_tcp_loose".into(), "0".into());
    let mut p = syn_in(22);
    p.l4 = L4::Tcp {
        sport: 40000,
        dport: 22,
        flags: TcpFlags::ACK,
    };
    let out = run(&rs, &host, &p);
    let trace = out.primary();
    assert_eq!(trace.conntrack.state, Some(CtState::Invalid));
    assert_eq!(trace.decider, Decider::Rule(at(0, 0, 1)));
    assert!(trace
        .conntrack
        .depends_on
        .iter()
        .any(|k| k == "net.netfilter.nf_conntrack_tcp_loose"));

    // Not given: the default (1) is used and said.
    let out = run(&rs, &Host::default(), &p);
    assert_eq!(out.primary().conntrack.state, Some(CtState::New));
    assert!(out.primary().assumptions.iter().any(|a| matches!(a, Assumption::SysctlDefault { key, value } if key == "net.netfilter.nf_conntrack_tcp_loose" && value == "1")));
}

#[test]
fn full_conntrack_table_drops_new_flows() {
    let rs = ruleset(vec![stateful_input()]);
    let mut host = Host::default();
    host.sysctls
        .0
        .insert("net.netfilter.nf_conntrack_max".into(), "100".into());
    host.sysctls
        .0
        .insert("net.netfilter.nf_conntrack_count".into(), "100".into());
    let out = run(&rs, &host, &syn_in(22));
    assert_eq!(out.decided_fate(), Some(&Fate::Dropped));
    assert_eq!(out.primary().decider, Decider::Conntrack);
}

#[test]
fn raw_drop_happens_before_conntrack() {
    let rs = ruleset(vec![table(
        "raw",
        vec![base(
            "PREROUTING",
            Hook::Prerouting,
            priority::RAW,
            ChainType::Filter,
            Verdict::Accept,
            vec![rule(tcp_dport(22), vec![v(Verdict::Drop)])],
        )],
    )]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert_eq!(out.primary().conntrack.state, None);
}

/// `*raw -A PREROUTING -p tcp --dport 22 -j CT --notrack`, `*nat -A PREROUTING -j DNAT`:
/// the untracked packet skips the nat chain.
#[test]
fn notrack_skips_nat() {
    let rs = ruleset(vec![
        table(
            "raw",
            vec![base(
                "PREROUTING",
                Hook::Prerouting,
                priority::RAW,
                ChainType::Filter,
                Verdict::Accept,
                vec![rule(tcp_dport(22), vec![Action::Notrack])],
            )],
        ),
        nat_prerouting(vec![rule(tcp_dport(22), vec![dnat(None, Some(2222))])]),
        stateful_input(),
    ]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    let trace = out.primary();
    assert_eq!(trace.conntrack.state, Some(CtState::Untracked));
    assert!(trace.nat.is_empty());
    assert!(trace.events.iter().any(|e| matches!(
        e,
        Event::Note {
            note: Note::NatChainSkipped { .. },
            ..
        }
    )));
    assert_eq!(trace.decider, Decider::Rule(at(2, 0, 2)));
}

// ----------------------------------------------------------------------------------------
// NAT.

/// User story 3: `-t nat -A PREROUTING -p tcp --dport 22 -j DNAT --to-destination :2222`,
/// filter INPUT rule 11 accepts 2222 (rule 10 accepting 22 is not reached).
#[test]
fn dnat_then_filter_sees_the_post_nat_port() {
    let mut input = vec![
        rule(
            vec![Match::cmp(Key::IifName, Pattern::Iface("lo".into()))],
            vec![v(Verdict::Accept)],
        ),
        rule(
            vec![ctstate(ct_state::ESTABLISHED | ct_state::RELATED)],
            vec![v(Verdict::Accept)],
        ),
        rule(vec![ctstate(ct_state::INVALID)], vec![v(Verdict::Drop)]),
    ];
    for port in [53, 53, 80, 443] {
        input.push(rule(tcp_dport(port), vec![v(Verdict::Accept)]));
    }
    input.push(rule(tcp_dport(8080), vec![v(Verdict::Accept)]));
    input.push(rule(
        vec![Match::cmp(
            Key::SrcAddr,
            Pattern::Prefix("203.0.113.0/24".parse().unwrap()),
        )],
        vec![v(Verdict::Drop)],
    ));
    input.push(rule(tcp_dport(22), vec![v(Verdict::Accept)]));
    input.push(rule(tcp_dport(2222), vec![v(Verdict::Accept)]));
    let rs = ruleset(vec![
        nat_prerouting(vec![rule(tcp_dport(22), vec![dnat(None, Some(2222))])]),
        table(
            "filter",
            vec![filter("INPUT", Hook::Input, Verdict::Drop, input)],
        ),
    ]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    let trace = out.primary();
    assert_eq!(
        rule_steps(&rs, trace),
        vec![
            ("nat".into(), "PREROUTING".into(), 1),
            ("filter".into(), "INPUT".into(), 11)
        ]
    );
    assert_eq!(trace.nat.len(), 1);
    assert_eq!(
        trace.nat[0].before,
        ("192.0.2.10".parse().unwrap(), Some(22))
    );
    assert_eq!(
        trace.nat[0].after,
        ("192.0.2.10".parse().unwrap(), Some(2222))
    );
    let (orig, reply) = trace.conntrack.new_entry.unwrap();
    assert_eq!((orig.dport, reply.sport), (22, 2222));
    let reply_packet = trace.reply.as_ref().unwrap();
    assert_eq!(reply_packet.packet.l4.ports(), Some((2222, 40000)));
    assert_eq!(
        reply_packet.delivered_as.l4.ports(),
        Some((22, 40000)),
        "conntrack un-DNATs the reply"
    );
}

/// A later packet of a DNATed connection: the nat chain is skipped and the binding from
/// the conntrack table applies.
#[test]
fn nat_chain_runs_only_for_the_first_packet() {
    let rs = ruleset(vec![
        nat_prerouting(vec![rule(tcp_dport(22), vec![dnat(None, Some(2222))])]),
        table(
            "filter",
            vec![filter("INPUT", Hook::Input, Verdict::Accept, vec![])],
        ),
    ]);
    let host = host_with_conntrack(vec![entry(
        tuple("198.51.100.7", 40000, "192.0.2.10", 22),
        tuple("192.0.2.10", 2222, "198.51.100.7", 40000),
        ct_status::SEEN_REPLY,
    )]);
    let mut p = syn_in(22);
    p.l4 = L4::Tcp {
        sport: 40000,
        dport: 22,
        flags: TcpFlags::ACK,
    };
    let out = run(&rs, &host, &p);
    let trace = out.primary();
    assert!(rule_steps(&rs, trace).is_empty(), "no nat rule runs");
    assert!(trace.events.iter().any(|e| matches!(
        e,
        Event::Note {
            note: Note::NatChainSkipped { .. },
            ..
        }
    )));
    assert_eq!(trace.nat.len(), 1);
    assert_eq!(trace.nat[0].by, None, "applied by conntrack");
    assert_eq!(trace.final_packet.l4.ports(), Some((40000, 2222)));
}

/// Two dstnat chains: once the first set up a DNAT binding, the second is not run.
#[test]
fn second_dstnat_chain_is_skipped_once_a_binding_exists() {
    let mut second = nat_prerouting(vec![rule(tcp_dport(2222), vec![dnat(None, Some(3333))])]);
    second.name = "nat2".into();
    second.chains.truncate(1);
    let rs = ruleset(vec![
        nat_prerouting(vec![rule(tcp_dport(22), vec![dnat(None, Some(2222))])]),
        second,
    ]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    assert_eq!(out.primary().final_packet.l4.ports(), Some((40000, 2222)));
    assert_eq!(out.primary().nat.len(), 1);
}

/// User story 6: REDIRECT in nat PREROUTING, NFQUEUE in mangle INPUT (after conntrack):
/// queued, with the warning.
#[test]
fn queue_after_conntrack_on_a_natted_flow_warns() {
    let queue = Queue {
        num: 0,
        last: 0,
        bypass: false,
        fanout: false,
    };
    let redirect = Action::Nat(Nat {
        kind: NatKind::Redirect,
        addr: None,
        ports: Some((8080, 8080)),
        random: false,
        fully_random: false,
        persistent: false,
    });
    let rs = ruleset(vec![
        nat_prerouting(vec![rule(vec![], vec![redirect])]),
        table(
            "mangle",
            vec![base(
                "INPUT",
                Hook::Input,
                priority::MANGLE,
                ChainType::Filter,
                Verdict::Accept,
                vec![rule(vec![], vec![v(Verdict::Queue(queue))])],
            )],
        ),
    ]);
    let out = run(&rs, &Host::default(), &syn_in(22));
    let trace = out.primary();
    assert_eq!(trace.fate, Fate::Queued { queue });
    assert!(trace
        .warnings
        .contains(&Warning::QueueAfterConntrackOnNat { at: at(1, 0, 0) }));
}

// ----------------------------------------------------------------------------------------
// Forwarding and local output.

#[test]
fn forwarded_packet_ttl_is_decremented_before_forward_chains() {
    let rs = ruleset(vec![table(
        "filter",
        vec![filter(
            "FORWARD",
            Hook::Forward,
            Verdict::Drop,
            vec![rule(
                vec![Match::cmp(Key::Ttl, Pattern::Value(Value::Int(63)))],
                vec![v(Verdict::Accept)],
            )],
        )],
    )]);
    let out = run(&rs, &Host::default(), &syn_through(22));
    assert!(matches!(out.decided_fate(), Some(Fate::Forwarded { oif, .. }) if oif == "eth1"));
    assert!(out
        .primary()
        .assumptions
        .contains(&Assumption::ForwardedFromSpec));
    let mut last_hop = syn_through(22);
    last_hop.ttl = 1;
    let out = run(&rs, &Host::default(), &last_hop);
    assert!(matches!(
        out.decided_fate(),
        Some(Fate::RoutingFailed { .. })
    ));
}

/// The forward chain sees `-i` and `-o`; input never sees `-o`.
#[test]
fn forward_sees_both_interfaces() {
    let rs = ruleset(vec![table(
        "filter",
        vec![filter(
            "FORWARD",
            Hook::Forward,
            Verdict::Drop,
            vec![rule(
                vec![
                    Match::cmp(Key::IifName, Pattern::Iface("eth+".into())),
                    Match::cmp(Key::OifName, Pattern::Iface("eth1".into())),
                ],
                vec![v(Verdict::Accept)],
            )],
        )],
    )]);
    let out = run(&rs, &Host::default(), &syn_through(22));
    assert_eq!(out.primary().decider, Decider::Rule(at(0, 0, 0)));
}

/// A local connection to 127.0.0.1: OUTPUT (`-o lo`), then back in on `lo` through
/// PREROUTING and INPUT (`-i lo`), conntrack keeps the connection made on output.
#[test]
fn local_packet_to_loopback_goes_out_and_back_in_on_lo() {
    let rs = ruleset(vec![
        nat_prerouting(vec![rule(tcp_dport(5432), vec![dnat(None, Some(9999))])]),
        table(
            "filter",
            vec![
                filter(
                    "OUTPUT",
                    Hook::Output,
                    Verdict::Accept,
                    vec![rule(
                        vec![Match::cmp(Key::OifName, Pattern::Iface("lo".into()))],
                        vec![log("OUT ")],
                    )],
                ),
                filter(
                    "INPUT",
                    Hook::Input,
                    Verdict::Drop,
                    vec![rule(
                        vec![
                            Match::cmp(Key::IifName, Pattern::Iface("lo".into())),
                            ctstate(ct_state::NEW),
                        ],
                        vec![v(Verdict::Reject(model::expr::Reject::Icmp(3)))],
                    )],
                ),
            ],
        ),
    ]);
    let p = tcp("127.0.0.1", 40000, "127.0.0.1", 5432, "S");
    let out = run(&rs, &Host::default(), &p);
    let trace = out.primary();
    assert_eq!(
        trace.fate,
        Fate::Rejected {
            with: model::expr::Reject::Icmp(3)
        }
    );
    assert_eq!(trace.logs.len(), 1);
    let hooks: Vec<Hook> = trace
        .events
        .iter()
        .filter_map(|e| {
            if let Event::Hook(h) = e {
                Some(*h)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        hooks,
        vec![
            Hook::Output,
            Hook::Postrouting,
            Hook::Prerouting,
            Hook::Input
        ]
    );
    assert!(
        trace.nat.is_empty(),
        "prerouting's nat chain is not run on the loopback re-entry"
    );
}

/// Prepared once, simulated many times: the same answer as `simulate`.
#[test]
fn prepared_ruleset_gives_the_same_answer() {
    let rs = ruleset(vec![
        stateful_input(),
        nat_prerouting(vec![rule(tcp_dport(22), vec![dnat(None, Some(2222))])]),
    ]);
    let prepared = Prepared::new(&rs);
    for port in [22, 80] {
        let a = simulate_prepared(
            &prepared,
            &Host::default(),
            &syn_in(port),
            &Options::default(),
        );
        let b = run(&rs, &Host::default(), &syn_in(port));
        assert_eq!(a.primary().fate, b.primary().fate);
        assert_eq!(a.primary().events, b.primary().events);
    }
}
