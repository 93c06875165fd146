//! pf's pass on whole `pf.conf` files read by the pf front end: OpenBSD's default
//! `/etc/pf.conf`, and the pf versions of user stories 1 (a forwarded TCP connection
//! refused while ping passes) and 2 (a port forward whose forwarded packet is dropped).

use std::collections::HashMap;

use engine::bsd::{BlockAnswer, Decider, Direction, FilterPass, PassVerdict, Step};
use engine::pf::{PfRules, PfState};
use frontends::pf::{parse, Env, Interface};
use model::expr::Undecidable;
use model::packet::{TcpFlags, L4};
use model::pf::{Host as PfHost, TableEntry};
use model::{Host, Packet};

mod pf_common;
use pf_common::{line_of, syn_ack, tcp};

fn env() -> Env {
    let iface = |name: &str, groups: &[&str], addr: &str, prefix: u8| Interface {
        name: name.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        addresses: vec![(addr.parse().unwrap(), prefix)],
        point_to_point: false,
    };
    Env {
        interfaces: vec![
            iface("lo0", &["lo"], "127.0.0.1", 8),
            iface("em0", &["egress"], "10.1.2.3", 24),
            iface("em1", &[], "192.168.70.1", 24),
            iface("tap0", &[], "10.1.1.1", 24),
        ],
        users: HashMap::from([("_pbuild".to_string(), 21)]),
        ..Env::default()
    }
}

/// OpenBSD 7's `/etc/pf.conf`, as installed.
const OPENBSD_DEFAULT: &str = "\
#\t$OpenBSD: pf.conf,v 1.55 2017/12/03 20:40:04 sthen Exp $
#
# See pf.conf(5) and /etc/examples/pf.conf

set skip on lo

block return\t# block stateless traffic
pass\t\t# establish keep-state

# By default, do not permit remote connections to X11
block return in on ! lo0 proto tcp to port 6000:6010

# Port build user does not need network
block return out log proto {tcp udp} user _pbuild
";

#[test]
fn openbsd_default_pf_conf() {
    let rs = parse("/etc/pf.conf", OPENBSD_DEFAULT, &env()).expect("parses");
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let ssh = tcp("203.0.113.9", 50000, "10.1.2.3", 22, TcpFlags::SYN);
    let result = rules.pass(&ssh, Direction::In, "em0", &mut st);
    assert_eq!(result.verdict, PassVerdict::Pass);
    assert_eq!(line_of(&result), Some(8), "`pass` keeps state");
    assert!(result.keeps_state);
    // A stray ACK without state: `pass` is `flags S/SA`, so `block return` answers it.
    let ack = tcp("203.0.113.9", 50001, "10.1.2.3", 22, TcpFlags::ACK);
    let stray = rules.pass(&ack, Direction::In, "em0", &mut st);
    assert_eq!(
        stray.verdict,
        PassVerdict::Block {
            answer: Some(BlockAnswer::Rst)
        }
    );
    assert_eq!(line_of(&stray), Some(7));
    // X11 from outside: refused with a RST by line 11.
    let x11 = tcp("203.0.113.9", 50002, "10.1.2.3", 6001, TcpFlags::SYN);
    let refused = rules.pass(&x11, Direction::In, "em0", &mut st);
    assert_eq!(
        refused.verdict,
        PassVerdict::Block {
            answer: Some(BlockAnswer::Rst)
        }
    );
    assert_eq!(line_of(&refused), Some(11));
    // Loopback is skipped.
    let local = tcp("127.0.0.1", 50003, "127.0.0.1", 6001, TcpFlags::SYN);
    assert_eq!(
        rules.pass(&local, Direction::In, "lo0", &mut st).decider,
        Decider::Skipped {
            interface: "lo0".into()
        }
    );
    // The port build user's packet out: blocked and logged by the TCP expansion (rule 3).
    let mut build = tcp("10.1.2.3", 40000, "198.51.100.7", 443, TcpFlags::SYN);
    build.uid = Some(21);
    let blocked = rules.pass(&build, Direction::Out, "em0", &mut st);
    assert_eq!(line_of(&blocked), Some(14));
    assert_eq!(
        blocked.logs.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
        ["rule 3/(match) block out on em0: 10.1.2.3.40000 > 198.51.100.7.443: S ?:?(0) win ? <?> (DF)"]
    );
    // Another user's packet passes; an unknown sender is Unknown, never a guess.
    build.uid = Some(1000);
    assert_eq!(
        line_of(&rules.pass(&build, Direction::Out, "em0", &mut st)),
        Some(8)
    );
    build.uid = None;
    build.l4 = L4::Tcp {
        sport: 40001,
        dport: 443,
        flags: TcpFlags::SYN,
    };
    assert_eq!(
        rules.pass(&build, Direction::Out, "em0", &mut st).verdict,
        PassVerdict::Undetermined {
            on: Undecidable::SocketOwnerUnknown
        }
    );
    // A forwarded packet has no local socket: `user _pbuild` does not match it.
    let mut forwarded = tcp("10.1.1.2", 1050, "198.51.100.7", 443, TcpFlags::SYN);
    forwarded.iif = Some("tap0".into());
    assert_eq!(
        line_of(&rules.pass(&forwarded, Direction::Out, "em0", &mut st)),
        Some(8)
    );
}

/// Story 1 on pf: the router passes ICMP but refuses forwarded TCP with a RST or an ICMP
/// port unreachable, logged.
const STORY1: &str = "\
set skip on lo
block return log all
pass in on tap0 inet proto icmp
pass out on em0 inet proto icmp
pass in on tap0 inet proto tcp to port 22
";

#[test]
fn story1_forwarded_tcp_refused_while_ping_passes() {
    let rs = parse("pf.conf", STORY1, &env()).expect("parses");
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let mut ping = Packet::new(
        "10.1.1.2".parse().unwrap(),
        "10.1.0.2".parse().unwrap(),
        L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: 1,
        },
    );
    assert_eq!(
        line_of(&rules.pass(&ping, Direction::In, "tap0", &mut st)),
        Some(3)
    );
    ping.iif = Some("tap0".into());
    assert_eq!(
        line_of(&rules.pass(&ping, Direction::Out, "em0", &mut st)),
        Some(4)
    );
    let syn = tcp("10.1.1.2", 1050, "10.1.0.2", 2175, TcpFlags::SYN);
    let refused = rules.pass(&syn, Direction::In, "tap0", &mut st);
    assert_eq!(
        refused.verdict,
        PassVerdict::Block {
            answer: Some(BlockAnswer::Rst)
        }
    );
    assert_eq!(line_of(&refused), Some(2));
    assert_eq!(
        refused.logs[0].text,
        "rule 0/(match) block in on tap0: 10.1.1.2.1050 > 10.1.0.2.2175: S ?:?(0) win ? <?> (DF)"
    );
    let dgram = Packet::new(
        "10.1.1.2".parse().unwrap(),
        "10.1.0.2".parse().unwrap(),
        L4::Udp {
            sport: 1050,
            dport: 2175,
        },
    );
    assert_eq!(
        rules.pass(&dgram, Direction::In, "tap0", &mut st).verdict,
        PassVerdict::Block {
            answer: Some(BlockAnswer::Icmp {
                icmp_type: 3,
                code: 3,
                as_dest: false
            })
        }
    );
}

/// Story 2 on pf: a port forward (`rdr-to`) whose forwarded packet meets `block` on the way
/// out, because the pass out looks the destination up in a table that lacks it.
const STORY2: &str = "\
table <allow_in> { 192.168.70.20 }
block drop log all
pass in on em0 proto tcp to 10.1.2.3 port 1222 rdr-to 192.168.70.10 port 22
pass out on em1 proto tcp to <allow_in> port 22
";

#[test]
fn story2_port_forward_dropped_on_the_way_out() {
    let rs = parse("pf.conf", STORY2, &env()).expect("parses");
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let syn = tcp("10.1.2.50", 50000, "10.1.2.3", 1222, TcpFlags::SYN);
    let inbound = rules.pass(&syn, Direction::In, "em0", &mut st);
    assert_eq!(line_of(&inbound), Some(3));
    assert_eq!(
        inbound.packet.dst,
        "192.168.70.10".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(inbound.packet.l4.ports(), Some((50000, 22)));
    assert!(inbound
        .steps
        .iter()
        .any(|s| matches!(s, Step::Nat(rw) if !rw.source)));
    let mut forwarded = inbound.packet.clone();
    forwarded.iif = Some("em0".into());
    let outbound = rules.pass(&forwarded, Direction::Out, "em1", &mut st);
    assert_eq!(
        outbound.verdict,
        PassVerdict::Block { answer: None },
        "the client times out"
    );
    assert_eq!(line_of(&outbound), Some(2));
    assert_eq!(
        outbound.logs[0].text,
        "rule 0/(match) block out on em1: 10.1.2.50.50000 > 192.168.70.10.22: S ?:?(0) win ? <?> (DF)"
    );
    // With the address in the table the connection goes through, and the reply is
    // translated back to the address the client wrote.
    let rules = PfRules::new(&rs, None).with_table(
        "allow_in",
        vec![TableEntry {
            negated: false,
            host: PfHost::Network {
                addr: "192.168.70.10".parse().unwrap(),
                prefix: 32,
            },
        }],
    );
    let mut st = PfState::default();
    let inbound = rules.pass(&syn, Direction::In, "em0", &mut st);
    let mut forwarded = inbound.packet.clone();
    forwarded.iif = Some("em0".into());
    assert_eq!(
        line_of(&rules.pass(&forwarded, Direction::Out, "em1", &mut st)),
        Some(4)
    );
    let reply = syn_ack("192.168.70.10", 22, "10.1.2.50", 50000);
    assert!(matches!(
        rules.pass(&reply, Direction::In, "em1", &mut st).decider,
        Decider::State { .. }
    ));
    let back = rules.pass(&reply, Direction::Out, "em0", &mut st);
    assert!(matches!(back.decider, Decider::State { .. }));
    assert_eq!(
        back.packet.src,
        "10.1.2.3".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(back.packet.l4.ports(), Some((1222, 50000)));
}

#[test]
fn inline_anchors_and_match_nat_from_pf_conf() {
    let text = "\
match out on egress inet from 192.168.70.0/24 nat-to (egress:0)
block all
anchor \"lan\" on em1 {
  pass in quick proto tcp to port { 80 443 }
  block in quick
}
pass out on egress
";
    let rs = parse("pf.conf", text, &env()).expect("parses");
    let host = host();
    let rules = PfRules::new(&rs, Some(&host));
    let mut st = PfState::default();
    let web = tcp("192.168.70.10", 40000, "198.51.100.7", 443, TcpFlags::SYN);
    let inbound = rules.pass(&web, Direction::In, "em1", &mut st);
    assert_eq!(line_of(&inbound), Some(4));
    match &inbound.decider {
        Decider::Rule(id) => assert_eq!(id.group.as_deref(), Some("lan")),
        other => panic!("{other:?}"),
    }
    let ssh = tcp("192.168.70.10", 40001, "198.51.100.7", 22, TcpFlags::SYN);
    assert_eq!(
        line_of(&rules.pass(&ssh, Direction::In, "em1", &mut st)),
        Some(5)
    );
    // Out by egress (the interface of the default route): translated to its address.
    let mut forwarded = web.clone();
    forwarded.iif = Some("em1".into());
    let out = rules.pass(&forwarded, Direction::Out, "em0", &mut st);
    assert_eq!(line_of(&out), Some(7));
    assert_eq!(
        out.packet.src,
        "10.1.2.3".parse::<std::net::IpAddr>().unwrap()
    );
    // Without the host, which interfaces are `egress` is not known.
    let rules = PfRules::new(&rs, None);
    let unknown = rules.pass(&forwarded, Direction::Out, "em0", &mut PfState::default());
    assert_eq!(
        unknown.verdict,
        PassVerdict::Undetermined {
            on: Undecidable::RoutesUnknown
        }
    );
}

/// The host of [`env`] as the pass sees it: its interfaces and a default route by em0.
fn host() -> Host {
    pf_common::host(&pf_common::env_interfaces(&env()), Some("em0"))
}

#[test]
fn route_to_and_reply_to_name_the_interface_the_packet_leaves_by() {
    let text = "\
block all
pass in on em1 proto tcp from 192.168.70.0/24 route-to (tap0 10.1.1.2)
pass in on em0 proto tcp to port 22 reply-to (em0 10.1.2.1)
pass in on em0 proto tcp to port 80 route-to 10.1.1.2
pass out
";
    let rs = parse("pf.conf", text, &env()).expect("parses");
    let host = host();
    let rules = PfRules::new(&rs, Some(&host));
    let mut st = PfState::default();
    let lan = tcp("192.168.70.10", 40000, "198.51.100.7", 443, TcpFlags::SYN);
    let routed = rules.pass(&lan, Direction::In, "em1", &mut st);
    assert_eq!(line_of(&routed), Some(2));
    assert_eq!(routed.packet.oif.as_deref(), Some("tap0"));
    // reply-to leaves the request alone and sends the replies back by em0.
    let ssh = tcp("203.0.113.9", 50000, "10.1.2.3", 22, TcpFlags::SYN);
    let inbound = rules.pass(&ssh, Direction::In, "em0", &mut st);
    assert_eq!(inbound.packet.oif, None);
    let reply = syn_ack("10.1.2.3", 22, "203.0.113.9", 50000);
    let back = rules.pass(&reply, Direction::Out, "em1", &mut st);
    assert!(matches!(back.decider, Decider::State { .. }));
    assert_eq!(back.packet.oif.as_deref(), Some("em0"));
    // A next hop alone: the interface whose network holds it, which needs the host.
    let web = tcp("203.0.113.9", 50001, "10.1.2.3", 80, TcpFlags::SYN);
    assert_eq!(
        rules
            .pass(&web, Direction::In, "em0", &mut st)
            .packet
            .oif
            .as_deref(),
        Some("tap0")
    );
    let blind = PfRules::new(&rs, None);
    assert_eq!(
        blind
            .pass(&web, Direction::In, "em0", &mut PfState::default())
            .verdict,
        PassVerdict::Undetermined {
            on: Undecidable::RoutesUnknown
        }
    );
}

/// FreeBSD's pf.conf: translation rules first, filter rules after them.
const FREEBSD: &str = "\
ext_if = \"em0\"
nat on $ext_if from 192.168.70.0/24 to any -> ($ext_if)
rdr pass on $ext_if proto tcp to port 1222 -> 192.168.70.10 port 22
binat on $ext_if from 192.168.70.20 to any -> 10.1.2.20
block in all
pass out on $ext_if from 10.1.2.3
";

#[test]
fn freebsd_translation_rules_come_before_the_filter_rules() {
    let rs = parse("pf.conf", FREEBSD, &env()).expect("parses");
    let host = host();
    let rules = PfRules::new(&rs, Some(&host));
    let mut st = PfState::default();
    // `rdr pass`: translated, and passed without the filter rules (`block in all`).
    let ssh = tcp("203.0.113.9", 50000, "10.1.2.3", 1222, TcpFlags::SYN);
    let forwarded = rules.pass(&ssh, Direction::In, "em0", &mut st);
    assert_eq!(forwarded.verdict, PassVerdict::Pass);
    assert_eq!(line_of(&forwarded), Some(3));
    assert_eq!(
        forwarded.packet.dst,
        "192.168.70.10".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(forwarded.packet.l4.ports(), Some((50000, 22)));
    assert!(forwarded.keeps_state);
    // `nat`: the filter rules see the translated source.
    let mut lan = tcp("192.168.70.11", 40000, "198.51.100.7", 443, TcpFlags::SYN);
    lan.iif = Some("em1".into());
    let out = rules.pass(&lan, Direction::Out, "em0", &mut st);
    assert_eq!(line_of(&out), Some(6));
    assert_eq!(
        out.packet.src,
        "10.1.2.3".parse::<std::net::IpAddr>().unwrap()
    );
    // `binat` inbound (no `pass`): translated to the inside address, then filtered.
    let to_inside = tcp("203.0.113.9", 50001, "10.1.2.20", 80, TcpFlags::SYN);
    let inbound = rules.pass(&to_inside, Direction::In, "em0", &mut st);
    assert_eq!(line_of(&inbound), Some(5));
    assert_eq!(inbound.verdict, PassVerdict::Block { answer: None });
    // `binat` outbound: the inside address leaves as the outside one, ports unchanged.
    let mut from_inside = tcp("192.168.70.20", 40001, "198.51.100.7", 443, TcpFlags::SYN);
    from_inside.iif = Some("em1".into());
    let out = rules.pass(&from_inside, Direction::Out, "em0", &mut st);
    assert_eq!(
        out.packet.src,
        "10.1.2.20".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(out.packet.l4.ports(), Some((40001, 443)));
}

#[test]
fn a_table_declared_inside_an_inline_anchor_is_known() {
    let text = "\
block all
anchor \"friends\" in on em0 {
  table <friends> { 203.0.113.9 }
  pass in quick from <friends>
}
";
    let rs = parse("pf.conf", text, &env()).expect("parses");
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let friend = tcp("203.0.113.9", 50000, "10.1.2.3", 22, TcpFlags::SYN);
    assert_eq!(
        line_of(&rules.pass(&friend, Direction::In, "em0", &mut st)),
        Some(4)
    );
    let stranger = tcp("203.0.113.10", 50000, "10.1.2.3", 22, TcpFlags::SYN);
    assert_eq!(
        line_of(&rules.pass(&stranger, Direction::In, "em0", &mut st)),
        Some(1)
    );
}

/// Story 2 with the redirection on a `match` rule: the rules after it see the translated
/// destination, and the one that blocks names it.
const STORY2_MATCH: &str = "\
ext_if = \"em0\"
table <allow_in> { 192.168.70.20 }
match in on $ext_if inet proto tcp to 10.1.2.3 port 1222 rdr-to 192.168.70.10 port 22
block log all
pass in on $ext_if inet proto tcp to <allow_in> port 22
";

#[test]
fn a_match_rdr_to_is_what_the_blocking_rule_saw() {
    let rs = parse("pf.conf", STORY2_MATCH, &env()).expect("parses");
    let rules = PfRules::new(&rs, None);
    let syn = tcp("10.1.2.50", 50000, "10.1.2.3", 1222, TcpFlags::SYN);
    let blocked = rules.pass(&syn, Direction::In, "em0", &mut PfState::default());
    assert_eq!(blocked.verdict, PassVerdict::Block { answer: None });
    assert_eq!(line_of(&blocked), Some(4));
    // The translation stands right after the `match` rule that made it.
    let nat_at = blocked
        .steps
        .iter()
        .position(|s| matches!(s, Step::Nat(rw) if !rw.source));
    assert_eq!(nat_at, Some(1));
    assert!(
        matches!(&blocked.steps[0], Step::Rule { rule, matched: Some(true), .. } if rule.origin.line == 3)
    );
    assert_eq!(
        blocked.packet.dst,
        "192.168.70.10".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(
        blocked.logs[0].text,
        "rule 1/(match) block in on em0: 10.1.2.50.50000 > 192.168.70.10.22: S ?:?(0) win ? <?> (DF)"
    );
}

#[test]
fn load_anchor_gives_the_anchor_its_rules() {
    let text = "\
block all
anchor \"ssh\"
load anchor \"ssh\" from \"/etc/pf.ssh\"
";
    let mut env = env();
    env.files.insert(
        "/etc/pf.ssh".into(),
        "pass in proto tcp to port 22\n".into(),
    );
    let rs = parse("pf.conf", text, &env).expect("parses");
    let rules = PfRules::new(&rs, None);
    let ssh = tcp("203.0.113.9", 50000, "10.1.2.3", 22, TcpFlags::SYN);
    let passed = rules.pass(&ssh, Direction::In, "em0", &mut PfState::default());
    assert_eq!(passed.verdict, PassVerdict::Pass);
    match &passed.decider {
        Decider::Rule(id) => assert_eq!(id.group.as_deref(), Some("ssh")),
        other => panic!("{other:?}"),
    }
    // Without the file the anchor's rules are not known.
    let rs = parse("pf.conf", text, &self::env()).expect("parses");
    let unknown = PfRules::new(&rs, None).pass(&ssh, Direction::In, "em0", &mut PfState::default());
    assert!(matches!(unknown.verdict, PassVerdict::Undetermined { .. }));
}

#[test]
fn if_bound_states_match_on_their_interface_only() {
    let text = "\
set state-policy if-bound
block all
pass out proto tcp
pass out proto udp keep state (floating)
";
    let rs = parse("pf.conf", text, &env()).expect("parses");
    let rules = PfRules::new(&rs, None);
    let mut st = PfState::default();
    let out = tcp("10.1.2.3", 40000, "198.51.100.7", 443, TcpFlags::SYN);
    rules.pass(&out, Direction::Out, "em0", &mut st);
    let reply = syn_ack("198.51.100.7", 443, "10.1.2.3", 40000);
    assert_eq!(
        line_of(&rules.pass(&reply, Direction::In, "em1", &mut st)),
        Some(2)
    );
    assert!(matches!(
        rules.pass(&reply, Direction::In, "em0", &mut st).decider,
        Decider::State { .. }
    ));
    // A rule's own `floating` overrides the policy.
    let dns = Packet::new(
        "10.1.2.3".parse().unwrap(),
        "198.51.100.53".parse().unwrap(),
        L4::Udp {
            sport: 40001,
            dport: 53,
        },
    );
    rules.pass(&dns, Direction::Out, "em0", &mut st);
    let answer = Packet::new(
        "198.51.100.53".parse().unwrap(),
        "10.1.2.3".parse().unwrap(),
        L4::Udp {
            sport: 53,
            dport: 40001,
        },
    );
    assert!(matches!(
        rules.pass(&answer, Direction::In, "em1", &mut st).decider,
        Decider::State { .. }
    ));
}
