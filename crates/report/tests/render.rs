//! Snapshots of the text and JSON answers for hand-made traces (the engine's data shapes,
//! built without running the engine), one per kind of story: a ufw router rejecting a
//! forwarded SYN, a rate-limited accept whose branches disagree, a DNAT to a closed port.
//! The whole output is compared, so any change in wording shows up as a snapshot diff.

use analysis::remedy::exchange::{Exchange, ExchangeEnd, ExchangeStep, StepRole};
use analysis::remedy::{Breadth, Durability, Language, Remedies, Remedy};
use analysis::{FixRule, FlowOpening, Opens, Position, Service};
use engine::*;
use model::expr::{Log, LogKind, Nat, NatKind, Reject, Undecidable};
use model::host::{CtTuple, IfAddr, Interface, Route, Scope};
use model::packet::IpProto;
use model::ruleset::{BaseChain, ChainType, Step};
use model::{
    Action, Chain, ChainRef, Family, Hook, Host, Match, Origin, Packet, Rule, RuleRef, Ruleset,
    Table, TcpFlags, Test, Verdict, L4,
};
use report::Answer;
use report::TextOptions;

const FILE: &str = "iptables-save.txt";

fn origin(line: u32, text: &str) -> Origin {
    Origin {
        file: FILE.into(),
        line,
        text: text.into(),
        ..Origin::default()
    }
}

fn rule(line: u32, text: &str) -> Rule {
    Rule {
        body: vec![Step::Action(Action::Verdict(Verdict::Accept))],
        origin: origin(line, text),
    }
}

fn base(name: &str, hook: Hook, policy: Verdict, line: u32, rules: Vec<Rule>) -> Chain {
    Chain {
        name: name.to_string(),
        base: Some(BaseChain {
            hook,
            chain_type: ChainType::Filter,
            priority: 0,
            policy,
            device: None,
        }),
        rules,
        counters: None,
        origin: origin(
            line,
            &format!(
                ":{name} {} [0:0]",
                if line == 3 { "DROP" } else { "ACCEPT" }
            ),
        ),
        numbers: Default::default(),
    }
}

fn regular(name: &str, line: u32, rules: Vec<Rule>) -> Chain {
    Chain {
        name: name.to_string(),
        base: None,
        rules,
        counters: None,
        origin: origin(line, &format!(":{name} - [0:0]")),
        numbers: Default::default(),
    }
}

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

/// filter: 0 INPUT, 1 FORWARD, 2 ufw-before-forward, 3 ufw-after-logging-forward,
/// 4 ufw-reject-forward.
fn ufw_ruleset() -> Ruleset {
    let mut limited = rule(
        88,
        "-A ufw-after-logging-forward -m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix \"[UFW BLOCK] \"",
    );
    limited.body = vec![
        Step::Match(Match::new(Test::Undecidable {
            kind: Undecidable::Limit,
            text: "-m limit".into(),
        })),
        Step::Action(Action::Log(Log {
            kind: LogKind::Kernel,
            prefix: "[UFW BLOCK] ".into(),
            level: None,
            tcp_sequence: false,
            tcp_options: false,
            ip_options: false,
            uid: false,
            macdecode: false,
        })),
    ];
    let table = Table {
        family: Family::Ip,
        name: "filter".into(),
        chains: vec![
            base(
                "INPUT",
                Hook::Input,
                Verdict::Drop,
                3,
                vec![rule(
                    40,
                    "-A INPUT -p tcp -m tcp --dport 22 -m limit --limit 6/min -j ACCEPT",
                )],
            ),
            base(
                "FORWARD",
                Hook::Forward,
                Verdict::Drop,
                4,
                vec![
                    rule(43, "-A FORWARD -j ufw-before-forward"),
                    rule(44, "-A FORWARD -j ufw-after-logging-forward"),
                    rule(45, "-A FORWARD -j ufw-reject-forward"),
                ],
            ),
            regular(
                "ufw-before-forward",
                10,
                vec![rule(
                    69,
                    "-A ufw-before-forward -p icmp -m icmp --icmp-type 8 -j ACCEPT",
                )],
            ),
            regular("ufw-after-logging-forward", 11, vec![limited]),
            regular(
                "ufw-reject-forward",
                12,
                vec![rule(
                    95,
                    "-A ufw-reject-forward -j REJECT --reject-with icmp-port-unreachable",
                )],
            ),
        ],
        sets: vec![],
        origin: origin(1, "*filter"),
    };
    Ruleset {
        tables: vec![table],
        ..Ruleset::default()
    }
}

fn router_host() -> Host {
    let iface = |name: &str, index: u32, addr: &str| Interface {
        name: name.into(),
        index,
        up: true,
        addrs: vec![IfAddr {
            addr: ip(addr),
            prefix_len: 24,
            scope: Scope::Universe,
            broadcast: None,
            temporary: false,
            secondary: false,
            deprecated: false,
            dad: model::host::DadState::Done,
        }],
        ..Interface::default()
    };
    Host {
        interfaces: vec![iface("tap0", 2, "10.1.1.1"), iface("eno1", 3, "10.1.0.1")],
        routes: vec![Route {
            table: 254,
            dst: "10.1.0.0/24".parse().unwrap(),
            route_type: model::host::RouteType::Unicast,
            gateway: None,
            dev: Some("eno1".into()),
            prefsrc: Some(ip("10.1.0.1")),
            metric: 0,
            scope: Scope::Link,
            protocol: Some("kernel".into()),
            nexthops: vec![],
            text: "10.1.0.0/24 dev eno1 proto kernel scope link src 10.1.0.1".into(),
        }],
        ..Host::default()
    }
}

fn r(chain: usize, rule: usize) -> RuleRef {
    RuleRef {
        table: 0,
        chain,
        rule,
    }
}
fn c(chain: usize) -> ChainRef {
    ChainRef { table: 0, chain }
}

fn syn(src: &str, sport: u16, dst: &str, dport: u16, iif: &str) -> Packet {
    let mut p = Packet::new(
        ip(src),
        ip(dst),
        L4::Tcp {
            sport,
            dport,
            flags: TcpFlags::SYN,
        },
    );
    p.iif = Some(iif.to_string());
    p
}

fn base_trace(packet: Packet, events: Vec<Event>, fate: Fate, decider: Decider) -> Trace {
    Trace {
        packet: packet.clone(),
        final_packet: packet,
        events,
        fate,
        decider,
        route: None,
        nat: vec![],
        conntrack: CtInfo::default(),
        sender_sees: SenderView::default(),
        logs: vec![],
        assumptions: vec![],
        warnings: vec![],
        reply: None,
        cause: None,
    }
}

/// Story 1: the SYN is forwarded tap0 -> eno1 and rejected by ufw-reject-forward; the LOG
/// before it is rate-limited, so there are two branches that agree on the fate.
fn ufw_outcome(limit_matched: bool) -> Trace {
    let packet = syn("10.1.1.2", 1050, "10.1.0.2", 2175, "tap0");
    let route = RouteDecision {
        hook: Hook::Prerouting,
        kind: RouteKind::Forward {
            oif: "eno1".into(),
            gateway: None,
        },
        table: 254,
        rule_priority: Some(32766),
        route: Some(0),
        assumed: false,
    };
    let choice = UnknownChoice {
        site: UnknownSite {
            rule: r(3, 0),
            step: 0,
        },
        why: Undecidable::Limit,
        matched: limit_matched,
        assumed_by_user: false,
    };
    let f = Hook::Forward;
    let mut events = vec![
        Event::Hook(Hook::Prerouting),
        Event::Conntrack {
            hook: Hook::Prerouting,
            state: CtState::New,
            entry: None,
        },
        Event::Route(route.clone()),
        Event::Note {
            hook: Some(f),
            note: Note::TtlDecremented { from: 64, to: 63 },
        },
        Event::Hook(f),
        Event::Rule {
            hook: f,
            at: r(1, 0),
            verdict: TraceVerdict::Jump(c(2)),
        },
        Event::ChainEnd {
            hook: f,
            chain: c(2),
        },
        Event::Rule {
            hook: f,
            at: r(1, 1),
            verdict: TraceVerdict::Jump(c(3)),
        },
        Event::Unknown {
            hook: f,
            choice: choice.clone(),
        },
    ];
    if limit_matched {
        events.push(Event::Rule {
            hook: f,
            at: r(3, 0),
            verdict: TraceVerdict::Continue,
        });
    }
    events.extend([
        Event::ChainEnd {
            hook: f,
            chain: c(3),
        },
        Event::Rule {
            hook: f,
            at: r(1, 2),
            verdict: TraceVerdict::Jump(c(4)),
        },
        Event::Rule {
            hook: f,
            at: r(4, 0),
            verdict: TraceVerdict::Reject(Reject::Icmp(3)),
        },
    ]);
    let mut t = base_trace(
        packet.clone(),
        events,
        Fate::Rejected {
            with: Reject::Icmp(3),
        },
        Decider::Rule(r(4, 0)),
    );
    t.final_packet.ttl = 63;
    t.route = Some(route);
    t.conntrack = CtInfo {
        state: Some(CtState::New),
        ..CtInfo::default()
    };
    t.sender_sees = SenderView {
        response: Some(Response {
            kind: ResponseKind::Icmp {
                icmp_type: 3,
                code: 3,
            },
            from: engine::AnswerSource::Addr(ip("10.1.1.1")),
            to: ip("10.1.1.2"),
            by_stack: false,
        }),
        errno: Some(Errno::Econnrefused),
        ..SenderView::default()
    };
    if limit_matched {
        t.logs.push(LogLine {
            by: r(3, 0),
            text: "[UFW BLOCK] IN=tap0 OUT=eno1 SRC=10.1.1.2 DST=10.1.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=0 DF PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0".into(),
            kind: LogKind::Kernel,
            may_be_missing: Some(Undecidable::Limit),
        });
    }
    t.assumptions.push(Assumption::SocketsUnknown);
    t
}

fn ufw_branches() -> Outcome {
    let choice = |matched| UnknownChoice {
        site: UnknownSite {
            rule: r(3, 0),
            step: 0,
        },
        why: Undecidable::Limit,
        matched,
        assumed_by_user: false,
    };
    Outcome {
        branches: vec![
            Branch {
                choices: vec![choice(true)],
                trace: ufw_outcome(true),
            },
            Branch {
                choices: vec![choice(false)],
                trace: ufw_outcome(false),
            },
        ],
        truncated: false,
    }
}

/// The remedy story 1 got before owners were recognised: a rule in ufw's chain, whose
/// exchange passes both ways.
fn ufw_fix() -> Remedies {
    let command = "iptables -I ufw-reject-forward 1 -i tap0 -o eno1 -s 10.1.1.2/32 -d 10.1.0.2/32 -p tcp -m tcp --dport 2175 -j ACCEPT";
    let syn = syn("10.1.1.2", 1050, "10.1.0.2", 2175, "tap0");
    let mut syn_ack = syn.clone();
    syn_ack.src = syn.dst;
    syn_ack.dst = syn.src;
    syn_ack.iif = Some("eno1".into());
    syn_ack.l4 = L4::Tcp {
        sport: 2175,
        dport: 1050,
        flags: TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0),
    };
    let forwarded = |oif: &str, role, packet: &Packet| ExchangeStep {
        role,
        packet: packet.clone(),
        fate: Some(Fate::Forwarded {
            oif: oif.into(),
            gateway: None,
        }),
        decider: Decider::Rule(r(0, 0)),
        base_chain: None,
    };
    Remedies {
        owner: None,
        hit_reply: false,
        ladder: vec![Remedy {
            breadth: Breadth::Flow,
            language: Language::Iptables,
            steps: vec![analysis::remedy::Step::Run(command.into())],
            durability: Durability::LostOnReload(model::Tool::Ufw),
            opens: Opens::Flow(FlowOpening {
                proto: IpProto::Tcp,
                src: Some("10.1.1.2".parse().unwrap()),
                dst: Some("10.1.0.2".parse().unwrap()),
                service: Service::Port(2175),
                iif: Some("tap0".into()),
                oif: Some("eno1".into()),
            }),
            kernel_rules: vec![FixRule {
                command: command.into(),
                body: command.into(),
                family: Family::Ip,
                table: "filter".into(),
                chain: "ufw-reject-forward".into(),
                position: Position::Insert(1),
            }],
            exchange: Some(Exchange {
                steps: vec![
                    forwarded("eno1", StepRole::Request, &syn),
                    forwarded("tap0", StepRole::Reply, &syn_ack),
                ],
                end: ExchangeEnd::Works,
                tracked: true,
            }),
            caveats: Vec::new(),
            patched: None,
        }],
        primary: 0,
    }
}

/// An SSH SYN to the host: `-m limit ... -j ACCEPT` or the DROP policy.
fn limited_ssh() -> Outcome {
    let packet = syn("192.0.2.7", 40000, "10.1.1.1", 22, "tap0");
    let i = Hook::Input;
    let choice = |matched| UnknownChoice {
        site: UnknownSite {
            rule: r(0, 0),
            step: 2,
        },
        why: Undecidable::Limit,
        matched,
        assumed_by_user: false,
    };
    let accepted = {
        let mut t = base_trace(
            packet.clone(),
            vec![
                Event::Hook(i),
                Event::Unknown {
                    hook: i,
                    choice: choice(true),
                },
                Event::Rule {
                    hook: i,
                    at: r(0, 0),
                    verdict: TraceVerdict::Accept,
                },
            ],
            Fate::Delivered {
                listener: Listener::Unknown,
            },
            Decider::Rule(r(0, 0)),
        );
        t.assumptions = vec![Assumption::LocalFromSpec, Assumption::SocketsUnknown];
        t.sender_sees.depends_on_listener = true;
        t
    };
    let dropped = {
        let mut t = base_trace(
            packet,
            vec![
                Event::Hook(i),
                Event::Unknown {
                    hook: i,
                    choice: choice(false),
                },
                Event::Policy {
                    hook: i,
                    chain: c(0),
                    verdict: TraceVerdict::Drop,
                },
            ],
            Fate::Dropped,
            Decider::Policy(c(0)),
        );
        t.assumptions = vec![Assumption::LocalFromSpec];
        t.sender_sees = SenderView {
            errno: Some(Errno::Etimedout),
            timeout_secs: Some(127),
            ..SenderView::default()
        };
        t
    };
    Outcome {
        branches: vec![
            Branch {
                choices: vec![choice(true)],
                trace: accepted,
            },
            Branch {
                choices: vec![choice(false)],
                trace: dropped,
            },
        ],
        truncated: false,
    }
}

/// Story 3-like: DNAT 22 -> 2222 in prerouting, delivered, nothing listens: the stack's RST.
fn dnat_closed_port() -> (Ruleset, Outcome) {
    let mut rs = ufw_ruleset();
    rs.tables.push(Table {
        family: Family::Ip,
        name: "nat".into(),
        chains: vec![Chain {
            name: "PREROUTING".into(),
            base: Some(BaseChain {
                hook: Hook::Prerouting,
                chain_type: ChainType::Nat,
                priority: -100,
                policy: Verdict::Accept,
                device: None,
            }),
            rules: vec![Rule {
                body: vec![],
                origin: origin(
                    120,
                    "-A PREROUTING -p tcp -m tcp --dport 22 -j DNAT --to-destination :2222",
                ),
            }],
            counters: None,
            origin: origin(118, ":PREROUTING ACCEPT [0:0]"),
            numbers: Default::default(),
        }],
        sets: vec![],
        origin: origin(117, "*nat"),
    });
    let packet = syn("10.1.1.2", 5000, "10.1.1.1", 22, "tap0");
    let mut after = packet.clone();
    after.l4 = after.l4.with_ports(5000, 2222);
    let nat_rule = RuleRef {
        table: 1,
        chain: 0,
        rule: 0,
    };
    let rewrite = NatRewrite {
        kind: NatKind::Dnat,
        hook: Hook::Prerouting,
        by: Some(nat_rule),
        before: (ip("10.1.1.1"), Some(22)),
        after: (ip("10.1.1.1"), Some(2222)),
        spec: Some(Nat {
            kind: NatKind::Dnat,
            addr: None,
            ports: Some((2222, 2222)),
            random: false,
            fully_random: false,
            persistent: false,
        }),
    };
    let route = RouteDecision {
        hook: Hook::Prerouting,
        kind: RouteKind::Local,
        table: 255,
        rule_priority: Some(0),
        route: None,
        assumed: false,
    };
    let p = Hook::Prerouting;
    let mut t = base_trace(
        packet.clone(),
        vec![
            Event::Hook(p),
            Event::Conntrack {
                hook: p,
                state: CtState::New,
                entry: None,
            },
            Event::Rule {
                hook: p,
                at: nat_rule,
                verdict: TraceVerdict::Accept,
            },
            Event::Nat {
                hook: p,
                rewrite: rewrite.clone(),
            },
            Event::Route(route.clone()),
            Event::Hook(Hook::Input),
            Event::Rule {
                hook: Hook::Input,
                at: r(0, 0),
                verdict: TraceVerdict::Accept,
            },
        ],
        Fate::Delivered {
            listener: Listener::Closed,
        },
        Decider::Stack,
    );
    t.final_packet = after.clone();
    t.route = Some(route);
    t.nat = vec![rewrite];
    let tuple = |src: &str, dst: &str, sport, dport| CtTuple {
        src: ip(src),
        dst: ip(dst),
        sport,
        dport,
    };
    t.conntrack = CtInfo {
        state: Some(CtState::New),
        entry: None,
        new_entry: Some((
            tuple("10.1.1.2", "10.1.1.1", 5000, 22),
            tuple("10.1.1.1", "10.1.1.2", 2222, 5000),
        )),
        depends_on: vec!["net.netfilter.nf_conntrack_tcp_loose".into()],
        invalid: None,
    };
    t.sender_sees = SenderView {
        response: Some(Response {
            kind: ResponseKind::TcpRst,
            from: engine::AnswerSource::Addr(ip("10.1.1.1")),
            to: ip("10.1.1.2"),
            by_stack: true,
        }),
        errno: Some(Errno::Econnrefused),
        ..SenderView::default()
    };
    let mut reply = Packet::new(
        ip("10.1.1.1"),
        ip("10.1.1.2"),
        L4::Tcp {
            sport: 2222,
            dport: 5000,
            flags: TcpFlags(0x14),
        },
    );
    reply.oif = Some("tap0".into());
    let mut delivered_as = reply.clone();
    delivered_as.l4 = delivered_as.l4.with_ports(22, 5000);
    t.reply = Some(Reply {
        packet: reply,
        delivered_as,
        route_back: None,
    });
    t.warnings.push(Warning::HelperAssigned {
        helper: "ftp".into(),
    });
    (
        rs,
        Outcome {
            branches: vec![Branch {
                choices: vec![],
                trace: t,
            }],
            truncated: false,
        },
    )
}

fn text(answer: &Answer<'_>) -> String {
    let mut out = Vec::new();
    report::answer::text::render(&mut out, answer, &TextOptions::default()).unwrap();
    String::from_utf8(out).unwrap()
}

fn json(answer: &Answer<'_>) -> String {
    let mut out = Vec::new();
    report::answer::json::render(&mut out, answer).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn story1_rejected_forward_text() {
    let rs = ufw_ruleset();
    let host = router_host();
    let outcome = ufw_branches();
    let fix = ufw_fix();
    let notes = [model::note::InputNote::Worded(
        "iptables-save.txt read as iptables-save (IPv4): header says iptables-save".to_string(),
    )];
    let facts = analysis::AnswerFacts::of(&rs, &outcome);
    let answer = Answer {
        ruleset: &rs,
        host: &host,
        outcome: &outcome,
        facts: &facts,
        remedies: Some(&fix),
        rule_reasons: None,
        ping: None,
        input_notes: &notes,
    };
    insta::assert_snapshot!("story1_text", text(&answer));
}

#[test]
fn story1_rejected_forward_json() {
    let rs = ufw_ruleset();
    let host = router_host();
    let outcome = ufw_branches();
    let fix = ufw_fix();
    let facts = analysis::AnswerFacts::of(&rs, &outcome);
    let answer = Answer {
        ruleset: &rs,
        host: &host,
        outcome: &outcome,
        facts: &facts,
        remedies: Some(&fix),
        rule_reasons: None,
        ping: None,
        input_notes: &[],
    };
    let out = json(&answer);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["fate"], "rejected");
    assert_eq!(v["deciding_rule"]["chain"], "ufw-reject-forward");
    assert_eq!(v["deciding_rule"]["line"], 95);
    assert_eq!(v["sender_sees"]["response"]["from"], "10.1.1.1");
    assert_eq!(v["reached_via"][0]["to"], "ufw-reject-forward");
    insta::assert_snapshot!("story1_json", out);
}

#[test]
fn undecided_when_branches_disagree() {
    let rs = ufw_ruleset();
    let host = Host::default();
    let outcome = limited_ssh();
    let facts = analysis::AnswerFacts::of(&rs, &outcome);
    let answer = Answer {
        ruleset: &rs,
        host: &host,
        outcome: &outcome,
        facts: &facts,
        remedies: None,
        rule_reasons: None,
        ping: None,
        input_notes: &[],
    };
    let out = text(&answer);
    assert!(out.starts_with("UNDECIDED"), "{out}");
    insta::assert_snapshot!("undecided_text", out);
    let v: serde_json::Value = serde_json::from_str(&json(&answer)).unwrap();
    assert_eq!(v["fate"], "undecided");
    assert_eq!(v["decided"], false);
    assert_eq!(v["branches"].as_array().unwrap().len(), 2);
    assert_eq!(v["branches"][1]["fate"], "dropped");
    assert_eq!(v["branches"][1]["deciding_rule"]["kind"], "policy");
}

#[test]
fn dnat_to_a_closed_port() {
    let (rs, outcome) = dnat_closed_port();
    let host = router_host();
    let facts = analysis::AnswerFacts::of(&rs, &outcome);
    let answer = Answer {
        ruleset: &rs,
        host: &host,
        outcome: &outcome,
        facts: &facts,
        remedies: None,
        rule_reasons: None,
        ping: None,
        input_notes: &[],
    };
    insta::assert_snapshot!("dnat_closed_text", text(&answer));
    insta::assert_snapshot!("dnat_closed_json", json(&answer));
}

#[test]
fn colour_only_when_asked() {
    let rs = ufw_ruleset();
    let host = router_host();
    let outcome = ufw_branches();
    let facts = analysis::AnswerFacts::of(&rs, &outcome);
    let answer = Answer {
        ruleset: &rs,
        host: &host,
        outcome: &outcome,
        facts: &facts,
        remedies: None,
        rule_reasons: None,
        ping: None,
        input_notes: &[],
    };
    assert!(!text(&answer).contains('\x1b'));
    let mut out = Vec::new();
    report::answer::text::render(&mut out, &answer, &TextOptions { color: true }).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("\x1b[1;31mREJECTED\x1b[0m"), "{out:?}");
}

#[test]
fn dangling_references_do_not_panic() {
    let rs = Ruleset::default();
    let host = Host::default();
    let outcome = ufw_branches();
    let facts = analysis::AnswerFacts::of(&rs, &outcome);
    let answer = Answer {
        ruleset: &rs,
        host: &host,
        outcome: &outcome,
        facts: &facts,
        remedies: None,
        rule_reasons: None,
        ping: None,
        input_notes: &[],
    };
    let out = text(&answer);
    assert!(out.contains("table#0/chain#4 #1"), "{out}");
    let _ = json(&answer);
}
