//! NAT rules that read pools: `from pool/N` matches (`ipf_nat_rule` resolving the `nat`
//! tables) and `rewrite … dst dstlist/NAME` (`ipf_nat_nextaddr` taking the list's pick),
//! with the pools of IPFilter's own tests p4 and p7.

use std::net::IpAddr;

use frontends::ipf::{parse_ipf, parse_ipnat, parse_ippool, ParseOptions};
use model::packet::TcpFlags;
use model::SourceFile;

use super::{Ipf, IpfState, Tuning};
use crate::bsd::{Direction, FilterPass, PassVerdict};

fn with_pools(filter: &str, nat: &str, pools: &str) -> Ipf {
    let opts = ParseOptions::default();
    let rules = parse_ipf(&SourceFile::new("ipf.conf", filter), &opts).expect("rules parse");
    let nat = parse_ipnat(&SourceFile::new("ipnat.conf", nat), &opts).expect("nat parses");
    let pools = parse_ippool(&SourceFile::new("ippool.conf", pools), &opts).expect("pools parse");
    Ipf::new(&rules, &pools, None, Tuning::default()).with_nat(&nat)
}

fn ip(a: &str) -> IpAddr {
    a.parse().unwrap()
}

/// The pass of `packet` is Undetermined.
fn assert_undetermined(f: &Ipf, packet: &model::Packet, dir: Direction) {
    let out = f.pass(packet, dir, "em0", &mut IpfState::default());
    assert!(
        matches!(out.verdict, PassVerdict::Undetermined { .. }),
        "{:?}",
        out.verdict
    );
}

fn syn(src: &str) -> model::Packet {
    super::tests::tcp(src, 10000, "9.9.9.9", 80, TcpFlags::SYN)
}

#[test]
fn a_map_from_a_nat_pool_translates_only_its_members() {
    let f = with_pools(
        "pass out all\n",
        "map em0 from pool/100 to any -> 1.2.3.4/32\n",
        "table role = nat type = tree number = 100 { 1.1.1.1/32; };\n",
    );
    let mut state = IpfState::default();
    let member = f.pass(&syn("1.1.1.1"), Direction::Out, "em0", &mut state);
    assert_eq!(member.packet.src, ip("1.2.3.4"));
    let other = f.pass(&syn("1.1.1.2"), Direction::Out, "em0", &mut state);
    assert_eq!(other.packet.src, ip("1.1.1.2"));
}

#[test]
fn a_map_from_a_pool_of_the_filter_role_is_unknown() {
    // `ipf_nat_rule` looks the name up among the `nat` tables only.
    let f = with_pools(
        "pass out all\n",
        "map em0 from pool/100 to any -> 1.2.3.4/32\n",
        "table role = ipf type = tree number = 100 { 1.1.1.1/32; };\n",
    );
    assert_undetermined(&f, &syn("1.1.1.1"), Direction::Out);
}

#[test]
fn a_rewrite_to_a_destination_list_takes_its_picks_in_turn() {
    let f = with_pools(
        "pass in all\n",
        "rewrite in on em0 proto tcp from any to any port = 80 -> src 0/0 dst dstlist/servers;\n",
        "pool nat/dstlist (name servers; policy round-robin;) { 1.1.1.2; 1.1.1.4; };\n",
    );
    let mut state = IpfState::default();
    let picks: Vec<IpAddr> = ["5.5.5.5", "5.5.5.6", "5.5.5.7"]
        .iter()
        .map(|src| {
            f.pass(&syn(src), Direction::In, "em0", &mut state)
                .packet
                .dst
        })
        .collect();
    assert_eq!(picks, [ip("1.1.1.2"), ip("1.1.1.4"), ip("1.1.1.2")]);
}

#[test]
fn a_rewrite_to_a_hashed_destination_list_is_unknown_not_untranslated() {
    let f = with_pools(
        "pass in all\n",
        "rewrite in on em0 proto tcp from any to any port = 80 -> src 0/0 dst dstlist/servers;\n",
        "pool nat/dstlist (name servers; policy src-hash;) { 1.1.1.2; 1.1.1.4; };\n",
    );
    assert_undetermined(&f, &syn("5.5.5.5"), Direction::In);
}
