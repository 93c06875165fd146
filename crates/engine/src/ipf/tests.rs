//! The pass on typed packets, as the host path calls it.

use std::net::IpAddr;

use frontends::ipf::{parse_ipf, ParseOptions};
use model::ipf::Pools;
use model::packet::{TcpFlags, L4};
use model::{Packet, SourceFile};

use super::{Ipf, IpfState, Tuning};
use crate::bsd::{BlockAnswer, Decider, Direction, FilterPass, PassVerdict, Step};

fn ipf(text: &str) -> Ipf {
    let rules = parse_ipf(&SourceFile::new("ipf.conf", text), &ParseOptions::default())
        .expect("rules parse");
    Ipf::new(&rules, &Pools::default(), None, Tuning::default())
}

pub(super) fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: TcpFlags) -> Packet {
    let (s, d): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
    Packet::new(
        s,
        d,
        L4::Tcp {
            sport,
            dport,
            flags,
        },
    )
}

fn decided_line(decider: &Decider) -> Option<u32> {
    match decider {
        Decider::Rule(id) => Some(id.origin.line),
        Decider::State { created_by } => created_by.as_ref().map(|id| id.origin.line),
        _ => None,
    }
}

#[test]
fn a_return_rst_rule_on_loopback_blocks_with_a_reset_and_logs_as_ipmon_does() {
    let f = ipf(
        "pass in all\nblock return-rst in log quick on lo0 proto tcp from any to any port = 22\n",
    );
    let syn = tcp("127.0.0.1", 40000, "127.0.0.1", 22, TcpFlags::SYN);
    let r = f.pass(&syn, Direction::In, "lo0", &mut IpfState::default());
    assert_eq!(
        r.verdict,
        PassVerdict::Block {
            answer: Some(BlockAnswer::Rst)
        }
    );
    assert_eq!(decided_line(&r.decider), Some(2));
    let logs: Vec<&str> = r.logs.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        logs,
        ["lo0 @0:2 b 127.0.0.1,40000 -> 127.0.0.1,22 PR tcp len 20 60 -S IN"]
    );
}

#[test]
fn the_last_matching_rule_decides_unless_a_quick_rule_matched_first() {
    let f =
        ipf("block in all\npass in proto tcp from any to any port = 22\nblock in proto udp all\n");
    let syn = tcp("192.0.2.1", 50000, "192.0.2.2", 22, TcpFlags::SYN);
    let r = f.pass(&syn, Direction::In, "em0", &mut IpfState::default());
    assert_eq!(r.verdict, PassVerdict::Pass);
    assert_eq!(decided_line(&r.decider), Some(2));
    let matched: Vec<Option<bool>> = r
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Rule { matched, .. } => Some(*matched),
            _ => None,
        })
        .collect();
    assert_eq!(matched, [Some(true), Some(true), Some(false)]);

    let quick = ipf("block in quick all\npass in proto tcp from any to any port = 22\n");
    let r = quick.pass(&syn, Direction::In, "em0", &mut IpfState::default());
    assert_eq!(r.verdict, PassVerdict::Block { answer: None });
    assert_eq!(decided_line(&r.decider), Some(1));
}

#[test]
fn no_matching_rule_passes_by_ipfilters_default() {
    let f = ipf("block in proto udp all\n");
    let syn = tcp("192.0.2.1", 50000, "192.0.2.2", 22, TcpFlags::SYN);
    let r = f.pass(&syn, Direction::In, "em0", &mut IpfState::default());
    assert_eq!(r.verdict, PassVerdict::Pass);
    assert_eq!(r.decider, Decider::Default);
}

#[test]
fn keep_state_lets_the_reply_in_before_the_rules() {
    let f = ipf("block in all\nblock out all\npass out quick proto tcp all flags S keep state\n");
    let mut state = IpfState::default();
    let syn = tcp("10.0.0.1", 40000, "198.51.100.7", 443, TcpFlags::SYN);
    let out = f.pass(&syn, Direction::Out, "em0", &mut state);
    assert_eq!(out.verdict, PassVerdict::Pass);
    assert!(out.keeps_state);
    let mut synack = tcp("198.51.100.7", 443, "10.0.0.1", 40000, TcpFlags(0x12));
    synack.len = 40;
    let reply = f.pass(&synack, Direction::In, "em0", &mut state);
    assert_eq!(reply.verdict, PassVerdict::Pass);
    assert!(matches!(reply.decider, Decider::State { .. }));
    assert_eq!(decided_line(&reply.decider), Some(3));
    let stranger = tcp("198.51.100.9", 443, "10.0.0.1", 40000, TcpFlags(0x12));
    let blocked = f.pass(&stranger, Direction::In, "em0", &mut state);
    assert_eq!(blocked.verdict, PassVerdict::Block { answer: None });
}

#[test]
fn a_group_answers_for_its_head_rule() {
    let f = ipf(
        "block in all\npass in on em0 all head 10\nblock in proto tcp from any to any port = 23 group 10\n",
    );
    let telnet = tcp("192.0.2.1", 50000, "192.0.2.2", 23, TcpFlags::SYN);
    let r = f.pass(&telnet, Direction::In, "em0", &mut IpfState::default());
    assert_eq!(r.verdict, PassVerdict::Block { answer: None });
    assert_eq!(decided_line(&r.decider), Some(3));
    assert!(r
        .steps
        .iter()
        .any(|s| matches!(s, Step::EnterGroup { group } if &**group == "10")));
    let ssh = tcp("192.0.2.1", 50000, "192.0.2.2", 22, TcpFlags::SYN);
    let r = f.pass(&ssh, Direction::In, "em0", &mut IpfState::default());
    assert_eq!(r.verdict, PassVerdict::Pass);
    assert_eq!(decided_line(&r.decider), Some(2));
}

#[test]
fn a_host_name_the_rules_could_not_resolve_leaves_the_answer_undetermined() {
    let f = ipf("pass in all\nblock in quick from gateway.example to any\n");
    let syn = tcp("192.0.2.1", 50000, "192.0.2.2", 22, TcpFlags::SYN);
    let r = f.pass(&syn, Direction::In, "em0", &mut IpfState::default());
    assert!(
        matches!(r.verdict, PassVerdict::Undetermined { .. }),
        "{:?}",
        r.verdict
    );
}

#[test]
fn return_icmp_without_a_code_answers_net_unreachable() {
    let f = ipf("block return-icmp in proto udp all\n");
    let (s, d): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
    let dns = Packet::new(
        s,
        d,
        L4::Udp {
            sport: 5353,
            dport: 53,
        },
    );
    let r = f.pass(&dns, Direction::In, "em0", &mut IpfState::default());
    assert_eq!(
        r.verdict,
        PassVerdict::Block {
            answer: Some(BlockAnswer::Icmp {
                icmp_type: 3,
                code: 0,
                as_dest: false
            })
        }
    );
}

#[test]
fn a_packet_too_short_for_its_header_is_bad_before_any_rule() {
    let f = ipf("pass in all\n");
    // A UDP datagram whose IP length promises a header the bytes do not hold.
    let bytes = [
        0x45, 0, 0, 24, 0, 0, 0x20, 0, 63, 17, 0, 0, 1, 1, 1, 1, 2, 1, 1, 1, 0, 53, 0, 53,
    ];
    let check = f.check(&bytes, false, "em0", 0, &mut IpfState::default());
    assert!(check.freed);
    assert!(matches!(check.decided, super::Decided::BadPacket(_)));
}

pub(super) fn with_nat(filter: &str, nat: &str) -> Ipf {
    let rules = frontends::ipf::parse_ipnat(
        &SourceFile::new("ipnat.conf", nat),
        &ParseOptions::default(),
    )
    .expect("nat rules parse");
    ipf(filter).with_nat(&rules)
}

#[test]
fn rdr_rewrites_the_destination_before_the_rules_read_it() {
    let f = with_nat(
        "pass in all\nblock in quick on em0 proto tcp from any to 10.0.0.5 port = 8080\n",
        "rdr em0 203.0.113.1/32 port 80 -> 10.0.0.5 port 8080 tcp\n",
    );
    let syn = tcp("198.51.100.7", 50000, "203.0.113.1", 80, TcpFlags::SYN);
    let r = f.pass(&syn, Direction::In, "em0", &mut IpfState::default());
    assert_eq!(r.verdict, PassVerdict::Block { answer: None });
    assert_eq!(decided_line(&r.decider), Some(2));
    match r.steps.first() {
        Some(Step::Nat(rw)) => {
            assert!(!rw.source);
            assert_eq!(rw.before, ("203.0.113.1".parse().unwrap(), Some(80)));
            assert_eq!(rw.after, ("10.0.0.5".parse().unwrap(), Some(8080)));
        }
        other => panic!("the first step is not the rdr: {other:?}"),
    }
    assert_eq!(r.packet.dst, "10.0.0.5".parse::<IpAddr>().unwrap());
    assert_eq!(r.packet.l4.ports(), Some((50000, 8080)));
}

#[test]
fn map_rewrites_the_source_after_the_rules_and_the_reply_comes_back() {
    let f = with_nat(
        "pass out all\npass in all\n",
        "map em0 10.0.0.0/24 -> 203.0.113.1/32\n",
    );
    let mut state = IpfState::default();
    let syn = tcp("10.0.0.5", 40000, "198.51.100.7", 443, TcpFlags::SYN);
    let out = f.pass(&syn, Direction::Out, "em0", &mut state);
    assert_eq!(out.verdict, PassVerdict::Pass);
    assert_eq!(out.packet.src, "203.0.113.1".parse::<IpAddr>().unwrap());
    assert!(matches!(out.steps.last(), Some(Step::Nat(rw)) if rw.source));
    let reply = tcp("198.51.100.7", 443, "203.0.113.1", 40000, TcpFlags(0x12));
    let back = f.pass(&reply, Direction::In, "em0", &mut state);
    assert_eq!(back.packet.dst, "10.0.0.5".parse::<IpAddr>().unwrap());
    assert_eq!(back.packet.l4.ports(), Some((443, 40000)));
}
