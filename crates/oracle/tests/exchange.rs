//! The whole exchange (request, reply, data both ways), simulated and in the kernel, on
//! the shapes where the reply's fate is the question: stateless and stateful accepts,
//! reverse NAT (DNAT, MASQUERADE), replies made by this host and to this host, UDP, ICMP
//! echo, untracked flows. Each case asserts how the simulated exchange ends and that the
//! kernel agrees step by step.
#![allow(clippy::print_stderr)]
mod common;

use analysis::remedy::exchange::{self, Exchange, ExchangeEnd, StepRole};
use model::{Family, Packet, SourceFile};
use oracle::exchange as kx;
use testgen::aim::Topology;
use testgen::lab::Lab;

fn packet(spec: &str) -> Packet {
    frontends::packet_spec::packet(spec).unwrap_or_else(|e| panic!("{e}"))
}

/// The filter table with FORWARD, INPUT (and OUTPUT) policies and these rules.
fn filter(forward_policy: &str, input_policy: &str, rules: &str) -> String {
    format!(
        "*filter\n:INPUT {input_policy} [0:0]\n:FORWARD {forward_policy} [0:0]\n:OUTPUT ACCEPT [0:0]\n{rules}COMMIT\n"
    )
}

struct Case {
    name: &'static str,
    rules: String,
    packet: &'static str,
    end: ExchangeEnd,
    tracked: bool,
}

const EST: &str = "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n";

fn cases() -> Vec<Case> {
    let syn = "tcp 10.1.1.50:40001 10.1.0.50:80 in lan0 out wan0 flags S";
    let stopped = |step| ExchangeEnd::Stopped { step };
    vec![
        Case {
            name: "stateless accepts both ways",
            rules: filter(
                "DROP",
                "ACCEPT",
                "-A FORWARD -i lan0 -o wan0 -p tcp --dport 80 -j ACCEPT\n\
                 -A FORWARD -i wan0 -o lan0 -p tcp --sport 80 -j ACCEPT\n",
            ),
            packet: syn,
            end: ExchangeEnd::Works,
            tracked: false,
        },
        Case {
            name: "NEW accepted, no established accept: the SYN/ACK is dropped",
            rules: filter(
                "DROP",
                "ACCEPT",
                "-A FORWARD -i lan0 -o wan0 -p tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT\n",
            ),
            packet: syn,
            end: stopped(1),
            tracked: true,
        },
        Case {
            name: "NEW and established accepted",
            rules: filter(
                "DROP",
                "ACCEPT",
                &format!("{EST}-A FORWARD -i lan0 -o wan0 -p tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT\n"),
            ),
            packet: syn,
            end: ExchangeEnd::Works,
            tracked: true,
        },
        Case {
            name: "the reply dropped by its source port",
            rules: filter(
                "ACCEPT",
                "ACCEPT",
                "-A FORWARD -i wan0 -p tcp --sport 80 --tcp-flags SYN,ACK SYN,ACK -j DROP\n",
            ),
            packet: syn,
            end: stopped(1),
            tracked: false,
        },
        Case {
            name: "DNAT: the reply from the target is un-NATed",
            rules: format!(
                "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                 -A PREROUTING -i wan0 -p tcp --dport 8080 -j DNAT --to-destination 10.1.2.50:80\nCOMMIT\n{}",
                filter(
                    "DROP",
                    "ACCEPT",
                    &format!("{EST}-A FORWARD -i wan0 -o dmz0 -d 10.1.2.50/32 -p tcp --dport 80 -j ACCEPT\n")
                )
            ),
            packet: "tcp 10.1.0.60:40002 10.1.0.1:8080 in wan0 flags S",
            end: ExchangeEnd::Works,
            tracked: true,
        },
        Case {
            name: "MASQUERADE: the reply is un-SNATed before FORWARD",
            rules: format!(
                "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                 -A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n{}",
                filter(
                    "DROP",
                    "ACCEPT",
                    "-A FORWARD -i lan0 -o wan0 -j ACCEPT\n\
                     -A FORWARD -i wan0 -o lan0 -d 10.1.1.50/32 -p tcp --sport 80 -j ACCEPT\n"
                )
            ),
            packet: syn,
            end: ExchangeEnd::Works,
            tracked: true,
        },
        Case {
            name: "UDP: NEW only, the reply is dropped",
            rules: filter(
                "DROP",
                "ACCEPT",
                "-A FORWARD -p udp --dport 53 -m conntrack --ctstate NEW -j ACCEPT\n",
            ),
            packet: "udp 10.1.1.50:40003 10.1.0.50:53 in lan0 out wan0",
            end: stopped(1),
            tracked: true,
        },
        Case {
            name: "ICMP echo with established accepted",
            rules: filter(
                "DROP",
                "ACCEPT",
                &format!("{EST}-A FORWARD -p icmp --icmp-type echo-request -j ACCEPT\n"),
            ),
            packet: "icmp 10.1.1.50 10.1.0.50 in lan0 out wan0 type 8 code 0",
            end: ExchangeEnd::Works,
            tracked: true,
        },
        Case {
            name: "ICMP echo, requests only",
            rules: filter(
                "DROP",
                "ACCEPT",
                "-A FORWARD -p icmp --icmp-type echo-request -j ACCEPT\n",
            ),
            packet: "icmp 10.1.1.50 10.1.0.50 in lan0 out wan0 type 8 code 0",
            end: stopped(1),
            tracked: false,
        },
        Case {
            name: "delivered here, NEW only: the client's ACK is dropped on input",
            rules: filter(
                "DROP",
                "DROP",
                "-A INPUT -p tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT\n",
            ),
            packet: "tcp 10.1.1.50:40004 10.1.1.1:22 in lan0 flags S",
            end: stopped(2),
            tracked: true,
        },
        Case {
            name: "sent from here, no established accept on input: the SYN/ACK is dropped",
            rules: filter(
                "DROP",
                "DROP",
                "-A INPUT -p tcp --dport 22 -j ACCEPT\n",
            ),
            packet: "tcp 10.1.0.1:40005 10.1.0.50:443 flags S",
            end: stopped(1),
            tracked: false,
        },
        Case {
            name: "NOTRACK both ways: every packet untracked",
            rules: format!(
                "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 -A PREROUTING -p udp --dport 53 -j NOTRACK\n-A PREROUTING -p udp --sport 53 -j NOTRACK\nCOMMIT\n{}",
                filter(
                    "DROP",
                    "ACCEPT",
                    "-A FORWARD -m conntrack --ctstate UNTRACKED -j ACCEPT\n"
                )
            ),
            packet: "udp 10.1.1.50:40006 10.1.0.50:53 in lan0 out wan0",
            end: ExchangeEnd::Works,
            tracked: false,
        },
        Case {
            name: "NOTRACK on the request only: the reply is a new flow",
            rules: format!(
                "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 -A PREROUTING -p udp --dport 53 -j NOTRACK\nCOMMIT\n{}",
                filter(
                    "DROP",
                    "ACCEPT",
                    "-A FORWARD -m conntrack --ctstate UNTRACKED,ESTABLISHED -j ACCEPT\n"
                )
            ),
            packet: "udp 10.1.1.50:40007 10.1.0.50:53 in lan0 out wan0",
            end: stopped(1),
            tracked: false,
        },
    ]
}

fn summary(e: &Exchange) -> String {
    e.steps
        .iter()
        .map(|s| format!("{:?} {:?}", s.role, s.fate))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn exchanges_agree_with_the_kernel() {
    if !common::kernel_tests_enabled("exchanges_agree_with_the_kernel") {
        return;
    }
    let mut lab = Lab::new(Topology::lab()).expect("test host");
    kx::silence_peers(&lab.oracle).expect("silent peers");
    applied_rules_change_the_kernel_exchange(&mut lab);
    let mut failures = Vec::new();
    for case in cases() {
        let src = SourceFile::new("rules.v4", case.rules.clone());
        let rs = frontends::iptables_save::parse(&src, Some(Family::Ip))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        lab.load(&[(src, Family::Ip)]).expect("kernel loads");
        kx::add_endpoints(&lab.oracle).expect("endpoint table");
        let p = packet(case.packet);
        let sim = exchange::simulate(&rs, &lab.host, &p, &engine::Options::default());
        let kernel = kx::run(&mut lab.oracle, &rs, &p).expect("kernel exchange");
        let agreement = kx::compare(&sim, &kernel);
        eprintln!(
            "{}: simulated {:?} [{}]; kernel {:?}",
            case.name,
            sim.end,
            summary(&sim),
            kernel
                .steps
                .iter()
                .map(|s| (s.role, s.walk.fate.clone()))
                .collect::<Vec<_>>()
        );
        if sim.end != case.end || sim.tracked != case.tracked {
            failures.push(format!(
                "{}: simulated {:?} (tracked {}), expected {:?} (tracked {})",
                case.name, sim.end, sim.tracked, case.end, case.tracked
            ));
        }
        if !agreement.agree() {
            failures.push(format!("{}: kernel disagrees: {agreement:?}", case.name));
        }
    }
    drop(lab);
    common::assert_no_namespaces_of_this_process();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A remedy's rules applied in the router: the data of the exchange is then judged with
/// them (and a command the kernel refuses is an error naming it).
fn applied_rules_change_the_kernel_exchange(lab: &mut Lab) {
    let rules = filter(
        "DROP",
        "ACCEPT",
        "-A FORWARD -i lan0 -o wan0 -p tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT\n",
    );
    let src = SourceFile::new("rules.v4", rules);
    let rs = frontends::iptables_save::parse(&src, Some(Family::Ip)).unwrap();
    lab.load(&[(src, Family::Ip)]).unwrap();
    kx::add_endpoints(&lab.oracle).unwrap();
    let p = packet("tcp 10.1.1.50:40010 10.1.0.50:80 in lan0 out wan0 flags S");
    let before = kx::run(&mut lab.oracle, &rs, &p).unwrap();
    assert_eq!(
        before.first_failure().map(|s| s.role),
        Some(StepRole::Reply)
    );
    let fix = analysis::FixRule {
        command: "iptables -I FORWARD 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
            .into(),
        body: "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into(),
        family: Family::Ip,
        table: "filter".into(),
        chain: "FORWARD".into(),
        position: analysis::Position::Insert(1),
    };
    kx::apply(&mut lab.oracle, std::slice::from_ref(&fix)).unwrap();
    let after = kx::run(&mut lab.oracle, &rs, &p).unwrap();
    assert!(after.works(), "{:?}", after.first_failure());
    let bad = analysis::FixRule {
        command: "iptables -I NOSUCHCHAIN 1 -j ACCEPT".into(),
        body: "-A NOSUCHCHAIN -j ACCEPT".into(),
        ..fix
    };
    let err = kx::apply(&mut lab.oracle, &[bad]).unwrap_err().to_string();
    assert!(err.contains("NOSUCHCHAIN"), "{err}");
}
