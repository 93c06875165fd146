//! The IPFilter readers on hand-written inputs: what they make of tricky rules (typed
//! values, not printed text), and every error rendered as users read it.

use std::net::IpAddr;

use frontends::ipf::{parse_ipf, parse_ipnat, parse_ippool, ParseOptions};
use model::ipf::filter::{Action, BlockReturn, Dir, Matcher, PacketFlag, TunableValue};
use model::ipf::nat::{NatAddr, NatKind, NatMatch, NatProto, NatTarget};
use model::ipf::pool::{PoolDef, PoolSource};
use model::ipf::{Addr, InterfaceAddr, IpFamily, Masked, PortMatch, PortOp, Proto};
use model::SourceFile;

fn ipf(text: &str) -> model::ipf::IpfRules {
    parse_ipf(&SourceFile::new("ipf.conf", text), &ParseOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn net(text: &str) -> Masked {
    let (a, len) = text.split_once('/').expect("ADDR/LEN");
    Masked::prefix(a.parse().expect("address"), len.parse().expect("length")).expect("prefix")
}

fn from_to(r: &model::ipf::FilterRule) -> (&model::ipf::Endpoint, &model::ipf::Endpoint) {
    match &r.matcher {
        Matcher::FromTo { from, to } => (from, to),
        other => panic!("not from/to: {other:?}"),
    }
}

#[test]
fn lists_make_one_rule_each_with_the_written_origin() {
    let rules = ipf("pass in proto tcp from {1.1.1.1,2.2.2.0/24} to any port = {22,80}\n").rules;
    assert_eq!(rules.len(), 4);
    let seen: Vec<(Addr, Option<PortMatch>)> = rules
        .iter()
        .map(|r| {
            let (from, to) = from_to(r);
            (from.addr.clone(), to.port)
        })
        .collect();
    let port = |p| {
        Some(PortMatch::Cmp {
            op: PortOp::Eq,
            port: p,
        })
    };
    assert_eq!(
        seen,
        [
            (Addr::Net(net("1.1.1.1/32")), port(22)),
            (Addr::Net(net("2.2.2.0/24")), port(22)),
            (Addr::Net(net("1.1.1.1/32")), port(80)),
            (Addr::Net(net("2.2.2.0/24")), port(80)),
        ]
    );
    for r in &rules {
        assert_eq!(r.origin.line, 1);
        assert_eq!(
            &*r.origin.text,
            "pass in proto tcp from {1.1.1.1,2.2.2.0/24} to any port = {22,80}"
        );
        assert_eq!(r.family, Some(IpFamily::Inet));
        assert_eq!(r.proto, Some(Proto::TCP));
    }
}

#[test]
fn a_rule_spans_lines_and_variables_are_read_again() {
    let rules = ipf("net=\"10.0.0.0/8\";\nblock return-icmp(port-unr) in quick on em0 \\\n  from $net to any\npass out all\n").rules;
    assert_eq!(rules.len(), 2);
    let r = &rules[0];
    assert_eq!(
        r.action,
        Action::Block(Some(BlockReturn::Icmp {
            code: Some(3),
            as_dest: false
        }))
    );
    assert!(r.quick);
    assert_eq!(r.on, ["em0"]);
    assert_eq!(from_to(r).0.addr, Addr::Net(net("10.0.0.0/8")));
    assert_eq!(
        (r.origin.line, &*r.origin.text),
        (
            2,
            "block return-icmp(port-unr) in quick on em0 from $net to any"
        )
    );
    assert_eq!((rules[1].direction, rules[1].origin.line), (Dir::Out, 4));
}

#[test]
fn group_rules_take_the_head_rules_family_and_protocol() {
    let rules = ipf(
        "block in on vm0 proto tcp/udp from 10.0.0.0/8 to any head 101\n\
         pass in from any to any port = 53 group 101\n\
         pass in proto icmp all group 101\n\
         pass in all\n",
    )
    .rules;
    assert_eq!(rules[1].proto, Some(Proto::TcpUdp));
    assert_eq!(rules[1].family, Some(IpFamily::Inet));
    assert_eq!(rules[2].proto, Some(Proto::ICMP), "its own protocol stays");
    assert_eq!(
        (rules[3].proto, rules[3].family),
        (None, None),
        "not in the group"
    );
}

#[test]
fn names_the_host_does_not_know_stay_names() {
    let rules = ipf("pass in from gateway.example to localhost\n").rules;
    let (from, to) = from_to(&rules[0]);
    assert_eq!(
        from.addr,
        Addr::Host {
            name: "gateway.example".to_string(),
            prefix: None
        }
    );
    assert_eq!(to.addr, Addr::Net(net("127.0.0.1/32")));
    let mut opts = ParseOptions::default();
    opts.hosts.push((
        "gateway.example".to_string(),
        "192.0.2.1".parse::<IpAddr>().unwrap(),
    ));
    let rules = parse_ipf(
        &SourceFile::new("ipf.conf", "pass in from gateway.example to any\n"),
        &opts,
    )
    .unwrap()
    .rules;
    assert_eq!(from_to(&rules[0]).0.addr, Addr::Net(net("192.0.2.1/32")));
}

#[test]
fn an_interface_of_the_rule_is_its_address() {
    let rules =
        ipf("pass in on ppp0 from ppp0/peer to ppp0/32\npass in on bge0 from any to bge0/24\n")
            .rules;
    let (from, to) = from_to(&rules[0]);
    let iface = |which| Addr::Interface {
        name: "ppp0".to_string(),
        which,
    };
    assert_eq!(from.addr, iface(InterfaceAddr::Peer));
    assert_eq!(to.addr, iface(InterfaceAddr::Address));
    assert_eq!(
        from_to(&rules[1]).1.addr,
        Addr::Interface {
            name: "bge0".to_string(),
            which: InterfaceAddr::Prefix(24)
        }
    );
}

#[test]
fn with_tests_are_kept_once_each() {
    let rules =
        ipf("block in all with short,frags and not frag-body with opt lsrr not opt ssrr\n").rules;
    let w = &rules[0].with;
    assert_eq!(
        w.flags,
        [
            (PacketFlag::Short, true),
            (PacketFlag::Frag, true),
            (PacketFlag::FragBody, false)
        ]
    );
    assert_eq!(w.options.len(), 2);
    assert_eq!(
        rules[0].family,
        Some(IpFamily::Inet),
        "IPv4 options make it an IPv4 rule"
    );
}

#[test]
fn nat_rules_are_what_ipnat_loads() {
    let src = SourceFile::new(
        "ipnat.conf",
        "map em0 10.0.0.0/8 -> 0/32 portmap tcp/udp 10000:20000\n\
         rdr em0 0/0 port 80 -> 10.0.0.5 port 8080 icmp sticky\n\
         rdr em0 0/0 port 80 -> 10.0.0.5,10.0.0.6 port 8080 tcp sticky\n",
    );
    let rules = parse_ipnat(&src, &ParseOptions::default()).unwrap().rules;
    assert_eq!(rules[0].kind, NatKind::Map);
    assert_eq!(
        rules[0].matcher,
        NatMatch::Simple {
            addr: NatAddr::Net(net("10.0.0.0/8")),
            ports: None
        }
    );
    assert_eq!(
        rules[0].target,
        NatTarget::Net(NatAddr::Net(net("0.0.0.0/32")))
    );
    // Not TCP/UDP: ipnat drops the ports; sticky without round-robin or two targets too.
    assert_eq!(rules[1].proto, Some(NatProto::Proto(Proto::ICMP)));
    assert!(matches!(
        rules[1].matcher,
        NatMatch::Simple { ports: None, .. }
    ));
    assert!(matches!(
        rules[1].target,
        NatTarget::Redirect { port: None, .. }
    ));
    assert!(!rules[1].sticky);
    assert!(rules[2].sticky);
    assert!(matches!(
        rules[2].matcher,
        NatMatch::Simple {
            ports: Some((80, 80)),
            ..
        }
    ));
}

#[test]
fn pools_keep_their_entries_and_files() {
    let src = SourceFile::new(
        "ippool.conf",
        "table role = ipf type = tree number = 100 { 10.0.0.0/8; !10.1.0.0/16; };\n\
         table role = ipf type = tree name = bad { \"file:///etc/bad\"; };\n",
    );
    let pools = parse_ippool(&src, &ParseOptions::default()).unwrap();
    let PoolDef::Table(t) = &pools.defs[0] else {
        panic!("not a table")
    };
    let entries = t.source.entries().expect("inline");
    assert_eq!(
        (entries[1].negated, entries[1].net),
        (true, net("10.1.0.0/16"))
    );
    let PoolDef::Table(t) = &pools.defs[1] else {
        panic!("not a table")
    };
    assert_eq!(
        t.source,
        PoolSource::File {
            url: "file:///etc/bad".to_string(),
            entries: None
        }
    );
    assert_eq!(t.origin.line, 2);
}

/// `text` read by `parse`, and its error rendered as users see it.
fn rendered(
    name: &str,
    text: &str,
    parse: fn(&SourceFile, &ParseOptions) -> Result<(), model::diag::ParseError>,
) -> String {
    let err = parse(&SourceFile::new(name, text), &ParseOptions::default()).expect_err("an error");
    let mut out = Vec::new();
    report::diagnostic::render(&mut out, &err).unwrap();
    String::from_utf8(out).unwrap()
}

fn ipf_err(s: &SourceFile, o: &ParseOptions) -> Result<(), model::diag::ParseError> {
    parse_ipf(s, o).map(|_| ())
}
fn ipnat_err(s: &SourceFile, o: &ParseOptions) -> Result<(), model::diag::ParseError> {
    parse_ipnat(s, o).map(|_| ())
}
fn ippool_err(s: &SourceFile, o: &ParseOptions) -> Result<(), model::diag::ParseError> {
    parse_ippool(s, o).map(|_| ())
}

#[test]
fn every_error_points_into_the_file() {
    type Parse = fn(&SourceFile, &ParseOptions) -> Result<(), model::diag::ParseError>;
    let cases: [(&str, &str, &str, Parse); 12] = [
        ("ipf_no_direction", "ipf.conf", "pass all\n", ipf_err),
        (
            "ipf_bad_action",
            "ipf.conf",
            "pass in all\nallow in all\n",
            ipf_err,
        ),
        (
            "ipf_bad_port",
            "ipf.conf",
            "pass in proto tcp from any to any port = 70000\n",
            ipf_err,
        ),
        (
            "ipf_unknown_service",
            "ipf.conf",
            "pass in proto tcp from any to any port = gopherx\n",
            ipf_err,
        ),
        (
            "ipf_port_on_icmp",
            "ipf.conf",
            "pass in proto icmp from any port = 53 to any\n",
            ipf_err,
        ),
        (
            "ipf_bad_flags",
            "ipf.conf",
            "pass in proto tcp all flags SX\n",
            ipf_err,
        ),
        (
            "ipf_undefined_variable",
            "ipf.conf",
            "pass in from $lan to any\n",
            ipf_err,
        ),
        (
            "ipf_unclosed_list",
            "ipf.conf",
            "pass in from {1.1.1.1, 2.2.2.2 to any\n",
            ipf_err,
        ),
        (
            "ipf_family_mismatch",
            "ipf.conf",
            "pass in from 10.0.0.1 to ::1\n",
            ipf_err,
        ),
        (
            "ipnat_no_arrow",
            "ipnat.conf",
            "map em0 10.0.0.0/8 0/32\n",
            ipnat_err,
        ),
        (
            "ipnat_bad_kind",
            "ipnat.conf",
            "nat em0 10.0.0.0/8 -> 0/32\n",
            ipnat_err,
        ),
        (
            "ippool_bad_role",
            "ippool.conf",
            "table role = fw type = tree number = 1 { 1.1.1.1; };\n",
            ippool_err,
        ),
    ];
    for (name, file, text, parse) in cases {
        insta::assert_snapshot!(name, rendered(file, text, parse));
    }
}

#[test]
fn pool_files_read_as_ippool_reads_them() {
    let file = SourceFile::new(
        "/etc/badnets",
        "# bad networks\n10.0.0.0/8\n  !10.1.0.0/16 # but not these\n192.0.2.7\n\n2001:db8::/32\n",
    );
    let entries = frontends::ipf::parse_pool_file(&file, &ParseOptions::default()).unwrap();
    let got: Vec<(bool, Masked)> = entries.iter().map(|e| (e.negated, e.net)).collect();
    assert_eq!(
        got,
        [
            (false, net("10.0.0.0/8")),
            (true, net("10.1.0.0/16")),
            (false, net("192.0.2.7/32")),
            (false, net("2001:db8::/32")),
        ]
    );
    let bad = SourceFile::new("/etc/badnets", "10.0.0.0/8\n10.1\n");
    let e = frontends::ipf::parse_pool_file(&bad, &ParseOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/badnets:2:1: invalid pool entry `10.1`: an address written in part: write it in full"
    );
}

#[test]
fn settings_before_the_rules_are_kept() {
    let rules =
        ipf("# illumos\nset intercept_loopback true;\nset state_max 0x1000;\npass in all\n");
    let got: Vec<(&str, TunableValue, u32)> = rules
        .tunables
        .iter()
        .map(|t| (t.name.as_str(), t.value, t.origin.line))
        .collect();
    assert_eq!(
        got,
        [
            ("intercept_loopback", TunableValue::Bool(true), 2),
            ("state_max", TunableValue::Number(4096), 3)
        ]
    );
    assert_eq!(rules.rules.len(), 1);
    let late = parse_ipf(
        &SourceFile::new("ipf.conf", "pass in all\nset intercept_loopback true;\n"),
        &ParseOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        late.to_string(),
        "ipf.conf:2:1: expected a rule (`set` lines come before the first rule), found `set`"
    );
}

#[test]
fn the_starting_family_is_the_tools_dash_6() {
    let opts = ParseOptions {
        family: Some(IpFamily::Inet6),
        ..ParseOptions::default()
    };
    let rules = parse_ipf(
        &SourceFile::new(
            "ipf6.conf",
            "pass out proto ipv6-icmp from any to any icmp-type echo\n",
        ),
        &opts,
    )
    .unwrap()
    .rules;
    assert_eq!(rules[0].family, Some(IpFamily::Inet6));
    assert_eq!(
        rules[0].icmp.map(|i| i.icmp_type),
        Some(128),
        "ICMPv6 echo request"
    );
    let e = parse_ipf(&SourceFile::new("ipf6.conf", "pass in inet all\n"), &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        "ipf6.conf:1:9: invalid family `inet`: not the family the rules are read for"
    );
}

#[test]
fn ipftest_dumps_without_counts_or_unknown_interfaces() {
    use frontends::ipf::print::{ipf_rule, ipf_rule_with, PrintOptions};
    let rules = ipf("pass in on le0 dup-to qe0 proto tcp all flags S keep state\n").rules;
    assert_eq!(
        ipf_rule(&rules[0]),
        "pass in on le0(!) dup-to qe0(!) proto tcp from any to any flags S/FSRPAU keep state # count 0"
    );
    assert_eq!(
        ipf_rule_with(&rules[0], &PrintOptions::IPFTEST_DUMP),
        "pass in on le0 dup-to qe0 proto tcp from any to any flags S/FSRPAU keep state"
    );
}

#[test]
fn keywords_are_read_in_any_case() {
    let rules = ipf(
        "BLOCK Return-RST IN Quick ON em0 PROTO tcp FROM Any TO 10.0.0.0/8 PORT EQ 22 KEEP STATE\n",
    )
    .rules;
    let r = &rules[0];
    assert_eq!(r.action, Action::Block(Some(BlockReturn::Rst)));
    assert!(r.quick && r.keep_state.is_some());
    assert_eq!(r.on, ["em0"], "names keep their case");
    assert_eq!(
        from_to(r).1.port,
        Some(PortMatch::Cmp {
            op: PortOp::Eq,
            port: 22
        })
    );
}
