//! NAT as the pass applies it: map-block, rdr collisions, the rule order by mask,
//! rewrite (the numbers are those of IPFilter's own tests n3, n15, n6 and n100).

use std::net::IpAddr;

use model::packet::TcpFlags;
use model::Packet;

use super::tests::with_nat;
use super::IpfState;
use crate::bsd::{Direction, FilterPass, PassVerdict};

/// A SYN.
fn tcp(src: &str, sport: u16, dst: &str, dport: u16) -> Packet {
    super::tests::tcp(src, sport, dst, dport, TcpFlags::SYN)
}

fn ip(a: &str) -> IpAddr {
    a.parse().unwrap()
}

#[test]
fn map_block_gives_each_host_its_block_of_ports() {
    let f = with_nat(
        "pass out all\n",
        "map-block em0 10.1.0.0/16 -> 192.168.1.0/24 ports 252\n",
    );
    let mut state = IpfState::default();
    let out = f.pass(
        &tcp("10.1.1.1", 5000, "203.1.1.1", 80),
        Direction::Out,
        "em0",
        &mut state,
    );
    assert_eq!(out.packet.src, ip("192.168.1.1"));
    // 5000 % 252 + 252 * (0x0101 % 256) + 1024
    assert_eq!(out.packet.l4.ports(), Some((1488, 80)));
    let last = f.pass(
        &tcp("10.1.255.255", 65535, "203.1.1.1", 80),
        Direction::Out,
        "em0",
        &mut state,
    );
    assert_eq!(last.packet.src, ip("192.168.1.255"));
    assert_eq!(last.packet.l4.ports(), Some((65299, 80)));
}

#[test]
fn an_rdr_whose_translated_flow_is_taken_drops_the_packet() {
    let f = with_nat(
        "pass in all\n",
        "rdr em0 0/0 port 80 -> 3.3.3.3 port 80 tcp\n",
    );
    let mut state = IpfState::default();
    let first = f.pass(
        &tcp("9.9.9.9", 10011, "5.5.5.5", 80),
        Direction::In,
        "em0",
        &mut state,
    );
    assert_eq!(first.verdict, PassVerdict::Pass);
    assert_eq!(first.packet.dst, ip("3.3.3.3"));
    let second = f.pass(
        &tcp("9.9.9.9", 10011, "2.2.2.2", 80),
        Direction::In,
        "em0",
        &mut state,
    );
    assert!(
        matches!(second.verdict, PassVerdict::Block { .. }),
        "{:?}",
        second.verdict
    );
}

#[test]
fn rdr_rules_are_tried_longest_mask_first() {
    let f = with_nat(
        "pass in all\n",
        "rdr em0 0/0 port 23 -> 10.9.9.9 port 23 tcp\nrdr em0 10.1.1.1/32 port 23 -> 10.2.2.1 port 10023 tcp\n",
    );
    let r = f.pass(
        &tcp("10.3.3.3", 12345, "10.1.1.1", 23),
        Direction::In,
        "em0",
        &mut IpfState::default(),
    );
    assert_eq!(r.packet.dst, ip("10.2.2.1"));
    assert_eq!(r.packet.l4.ports(), Some((12345, 10023)));
}

#[test]
fn rewrite_replaces_both_ends_and_steps_the_destination_on_a_collision() {
    let f = with_nat(
        "pass out all\n",
        "rewrite out on em0 from 0/0 to 2.2.0.0/16 -> src 4.4.4.4/32 dst 6.6.0.0/16;\n",
    );
    let mut state = IpfState::default();
    let a = f.pass(
        &tcp("1.1.1.1", 101, "2.2.2.3", 203),
        Direction::Out,
        "em0",
        &mut state,
    );
    assert_eq!((a.packet.src, a.packet.dst), (ip("4.4.4.4"), ip("6.6.0.1")));
    assert_eq!(a.packet.l4.ports(), Some((101, 203)));
    // The same ports from another host would collide on 6.6.0.1: the next address.
    let b = f.pass(
        &tcp("1.1.1.2", 101, "2.2.2.3", 203),
        Direction::Out,
        "em0",
        &mut state,
    );
    assert_eq!((b.packet.src, b.packet.dst), (ip("4.4.4.4"), ip("6.6.0.2")));
}
