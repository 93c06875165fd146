//! nftables semantics end to end: rulesets read by the nft front end (text and JSON),
//! walked by the engine. Each test is a small ruleset, a packet and the fate the kernel
//! gives it (semantics per nft(8) and the kernel sources named in each test).

use engine::{simulate, Decider, Event, Fate, Note, Options, Outcome, Warning};
use model::{Family, Host, Packet, Ruleset, SourceFile};

fn nft(text: &str) -> Ruleset {
    frontends::nft::parse_text(&SourceFile::new("t.nft", text)).unwrap_or_else(|e| panic!("{e}"))
}

fn packet(spec: &str) -> Packet {
    frontends::packet_spec::packet(spec).unwrap_or_else(|e| panic!("{e}"))
}

fn run(rs: &Ruleset, spec: &str) -> Outcome {
    simulate(rs, &Host::default(), &packet(spec), &Options::default())
}

fn fate(rs: &Ruleset, spec: &str) -> Fate {
    let o = run(rs, spec);
    o.decided_fate()
        .unwrap_or_else(|| panic!("undecided: {o:#?}"))
        .clone()
}

fn passed(rs: &Ruleset, spec: &str) -> bool {
    fate(rs, spec).passed()
}

const FWD: &str = "in eth0 out eth1";

fn input_filter(body: &str) -> Ruleset {
    nft(&format!(
        "table inet t {{\n{body}\n chain fwd {{\n  type filter hook forward priority 0; policy drop;\n  ip daddr . tcp dport @allow accept\n  ip6 daddr . tcp dport @allow6 accept\n }}\n}}\n"
    ))
}

#[test]
fn concatenated_sets_with_intervals_prefixes_and_ranges() {
    let rs = input_filter(
        " set allow { type ipv4_addr . inet_service; flags interval; elements = { 10.0.1.0/24 . 80-90, 10.0.2.5 . 22 } }\n set allow6 { type ipv6_addr . inet_service; flags interval; elements = { 2001:db8::/64 . 443 } }",
    );
    assert!(passed(
        &rs,
        &format!("tcp 192.0.2.1:4000 10.0.1.77:85 {FWD}")
    ));
    assert!(!passed(
        &rs,
        &format!("tcp 192.0.2.1:4000 10.0.1.77:91 {FWD}")
    ));
    assert!(passed(
        &rs,
        &format!("tcp 192.0.2.1:4000 10.0.2.5:22 {FWD}")
    ));
    assert!(!passed(
        &rs,
        &format!("tcp 192.0.2.1:4000 10.0.2.6:22 {FWD}")
    ));
    // inet: the IPv6 packet meets the ip6 rule of the same chain.
    assert!(passed(
        &rs,
        &format!("tcp [2001:db8:1::1]:4000 [2001:db8::9]:443 {FWD}")
    ));
    assert!(!passed(
        &rs,
        &format!("tcp [2001:db8:1::1]:4000 [2001:db8:0:1::9]:443 {FWD}")
    ));
}

#[test]
fn an_empty_set_matches_nothing_and_a_negated_lookup_everything() {
    let rs = nft("table ip t {\n set none { type ipv4_addr; }\n chain in {\n  type filter hook input priority 0; policy accept;\n  ip saddr @none drop\n  ip saddr != @none tcp dport 23 drop\n }\n}\n");
    assert!(passed(&rs, "tcp 192.0.2.1:4000 10.0.0.1:22 in eth0"));
    assert_eq!(
        fate(&rs, "tcp 192.0.2.1:4000 10.0.0.1:23 in eth0"),
        Fate::Dropped
    );
}

#[test]
fn verdict_maps_decide_per_element_with_a_catch_all() {
    let rs = nft("table inet t {\n chain in {\n  type filter hook input priority 0; policy accept;\n  tcp dport vmap { 22 : accept, 23 : drop, * : jump other }\n }\n chain other {\n  reject with tcp reset\n }\n}\n");
    assert!(passed(&rs, "tcp 192.0.2.1:4000 10.0.0.1:22 in eth0"));
    assert_eq!(
        fate(&rs, "tcp 192.0.2.1:4000 10.0.0.1:23 in eth0"),
        Fate::Dropped
    );
    assert_eq!(
        fate(&rs, "tcp 192.0.2.1:4000 10.0.0.1:24 in eth0"),
        Fate::Rejected {
            with: model::Reject::TcpReset
        }
    );
    // Not tcp: the vmap's key does not exist, the rule does not match.
    assert!(passed(&rs, "udp 192.0.2.1:4000 10.0.0.1:24 in eth0"));
}

#[test]
fn ip_and_ip6_tables_see_only_their_family_inet_sees_both() {
    let rs = nft("table ip a {\n chain in {\n  type filter hook input priority 0; policy drop;\n }\n}\ntable ip6 b {\n chain in {\n  type filter hook input priority 0; policy accept;\n }\n}\n");
    assert_eq!(
        fate(&rs, "udp 192.0.2.1:1 10.0.0.1:53 in eth0"),
        Fate::Dropped
    );
    assert!(passed(&rs, "udp [2001:db8::1]:1 [2001:db8::2]:53 in eth0"));
    let rs = nft(
        "table inet c {\n chain in {\n  type filter hook input priority 0; policy drop;\n }\n}\n",
    );
    assert_eq!(
        fate(&rs, "udp 192.0.2.1:1 10.0.0.1:53 in eth0"),
        Fate::Dropped
    );
    assert_eq!(
        fate(&rs, "udp [2001:db8::1]:1 [2001:db8::2]:53 in eth0"),
        Fate::Dropped
    );
}

/// All base chains of a hook run in priority order, whatever table they are in; accept
/// ends only its own base chain, drop is final (`nf_hook_slow`).
#[test]
fn named_priorities_with_offsets_order_base_chains_across_tables() {
    let rs = nft("table inet late {\n chain f {\n  type filter hook forward priority filter + 10; policy accept;\n  tcp dport 80 drop\n }\n}\ntable inet early {\n chain f {\n  type filter hook forward priority filter - 5; policy accept;\n  tcp dport 80 accept\n  tcp dport 81 drop\n }\n}\n");
    let o = run(&rs, &format!("tcp 192.0.2.1:4000 10.0.1.1:80 {FWD}"));
    assert_eq!(o.primary().fate, Fate::Dropped);
    // The accept of `early` (priority -5) came first, then `late` (priority 10) dropped.
    let tables: Vec<&str> = o
        .primary()
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Rule { at, .. } => Some(rs.tables[at.table].name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(tables, ["early", "late"]);
    assert_eq!(
        fate(&rs, &format!("tcp 192.0.2.1:4000 10.0.1.1:81 {FWD}")),
        Fate::Dropped
    );
}

/// A netdev ingress chain runs before prerouting, only for packets arriving on its device
/// (`__netif_receive_skb_core` -> `nf_ingress`).
#[test]
fn netdev_ingress_runs_first_and_only_on_its_device() {
    let rs = nft("table netdev n {\n chain ing {\n  type filter hook ingress device eth0 priority 0; policy accept;\n  ip saddr 192.0.2.66 drop\n }\n}\ntable inet t {\n chain pre {\n  type filter hook prerouting priority -300; policy accept;\n  ip saddr 192.0.2.66 accept\n }\n}\n");
    let o = run(&rs, "udp 192.0.2.66:1 10.0.0.1:53 in eth0");
    assert_eq!(o.primary().fate, Fate::Dropped);
    let Decider::Rule(at) = o.primary().decider else {
        panic!("{:?}", o.primary().decider)
    };
    assert_eq!(rs.tables[at.table].family, Family::Netdev);
    assert!(!o
        .primary()
        .events
        .iter()
        .any(|e| matches!(e, Event::Hook(model::Hook::Prerouting))));
    // Another device: the netdev chain is not attached there.
    assert!(passed(&rs, "udp 192.0.2.66:1 10.0.0.1:53 in eth1"));
}

/// Bridge and arp chains never see routed IP packets; a bridge table is named as not
/// simulated rather than silently ignored.
#[test]
fn bridge_tables_do_not_change_ip_verdicts_and_are_named() {
    let rs = nft("table bridge b {\n chain f {\n  type filter hook forward priority 0; policy drop;\n }\n}\ntable arp a {\n chain i {\n  type filter hook input priority 0; policy drop;\n }\n}\n");
    let o = run(&rs, &format!("tcp 192.0.2.1:4000 10.0.1.1:80 {FWD}"));
    assert!(o.primary().fate.passed());
    assert!(o
        .primary()
        .warnings
        .iter()
        .any(|w| matches!(w, Warning::BridgeNotSimulated { table, .. } if table == "b")));
}

/// `ct status dnat` after an inet DNAT, and the forward path sees the new address.
#[test]
fn ct_status_dnat_after_dnat_in_prerouting() {
    let rs = nft("table inet nat {\n chain pre {\n  type nat hook prerouting priority dstnat; policy accept;\n  tcp dport 8080 dnat ip to 10.0.1.5:80\n }\n}\ntable inet f {\n chain fwd {\n  type filter hook forward priority 0; policy accept;\n  ct status dnat ip daddr 10.0.1.5 tcp dport 80 drop\n }\n}\n");
    let o = run(&rs, &format!("tcp 192.0.2.1:4000 198.51.100.1:8080 {FWD}"));
    assert_eq!(o.primary().fate, Fate::Dropped);
    assert!(passed(
        &rs,
        &format!("tcp 192.0.2.1:4000 198.51.100.1:8081 {FWD}")
    ));
}

/// Only a `type route` output chain (and NAT) re-routes: a mark set in a `type filter`
/// output chain is not followed by a new routing decision (`nf_route_table_hook` vs
/// `nft_do_chain_ipv4`).
#[test]
fn only_route_chains_reroute_after_output() {
    let route = nft("table ip m {\n chain out {\n  type route hook output priority mangle; policy accept;\n  meta mark set 0x1\n }\n}\n");
    let filter = nft("table ip m {\n chain out {\n  type filter hook output priority mangle; policy accept;\n  meta mark set 0x1\n }\n}\n");
    let rerouted = |rs: &Ruleset| {
        run(rs, "udp 10.0.0.1:4000 192.0.2.1:53 out eth0")
            .primary()
            .events
            .iter()
            .any(|e| {
                matches!(
                    e,
                    Event::Note {
                        note: Note::Rerouted,
                        ..
                    }
                )
            })
    };
    assert!(rerouted(&route));
    assert!(!rerouted(&filter));
    // iptables' mangle OUTPUT is a route chain too.
    let ipt = frontends::iptables_save::parse(
        &SourceFile::new(
            "r",
            "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A OUTPUT -j MARK --set-mark 1\nCOMMIT\n",
        ),
        Some(Family::Ip),
    )
    .unwrap();
    assert!(rerouted(&ipt));
}

#[test]
fn flowtable_offload_and_set_updates_are_said() {
    let rs = nft("table inet t {\n flowtable ft { hook ingress priority 0; devices = { eth0, eth1 }; }\n set seen { type ipv4_addr; flags dynamic; }\n chain fwd {\n  type filter hook forward priority 0; policy accept;\n  ip protocol tcp flow add @ft\n  add @seen { ip saddr }\n }\n chain in {\n  type filter hook input priority 0; policy accept;\n  ip saddr @seen drop\n }\n}\n");
    let o = run(&rs, &format!("tcp 192.0.2.1:4000 10.0.1.1:80 {FWD}"));
    assert!(o.primary().fate.passed());
    let warnings = &o.primary().warnings;
    assert!(
        warnings
            .iter()
            .any(|w| matches!(w, Warning::FlowOffload { flowtable, .. } if flowtable == "ft")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| matches!(w, Warning::SetUpdated { set, .. } if set == "seen")),
        "{warnings:?}"
    );
    let o = run(&rs, "tcp 192.0.2.1:4000 10.0.0.1:22 in eth0");
    assert!(o
        .primary()
        .warnings
        .iter()
        .any(|w| matches!(w, Warning::DynamicSetRead { set } if set == "seen")));
}

#[test]
fn queue_flags_notrack_and_helpers() {
    let rs = nft("table inet t {\n chain in {\n  type filter hook input priority 0; policy accept;\n  tcp dport 22 queue flags bypass,fanout to 3-5\n }\n}\n");
    match fate(&rs, "tcp 192.0.2.1:4000 10.0.0.1:22 in eth0") {
        Fate::Queued { queue } => {
            assert_eq!(
                (queue.num, queue.last, queue.bypass, queue.fanout),
                (3, 5, true, true)
            )
        }
        other => panic!("{other:?}"),
    }
    let rs = nft("table inet t {\n chain raw {\n  type filter hook prerouting priority raw; policy accept;\n  udp dport 53 notrack\n }\n chain in {\n  type filter hook input priority 0; policy drop;\n  ct state untracked accept\n }\n}\n");
    assert!(passed(&rs, "udp 192.0.2.1:4000 10.0.0.1:53 in eth0"));
    assert_eq!(
        fate(&rs, "udp 192.0.2.1:4000 10.0.0.1:54 in eth0"),
        Fate::Dropped
    );
}

/// iptables-nft rules seen through `nft -j` carry `xt` compat expressions: Unknown, with
/// the hint to pass the iptables-save view.
#[test]
fn xt_compat_expressions_are_unknown_with_a_hint() {
    let json = r#"{"nftables":[{"table":{"family":"ip","name":"filter","handle":1}},
{"chain":{"family":"ip","table":"filter","name":"INPUT","handle":1,"type":"filter","hook":"input","prio":0,"policy":"accept"}},
{"rule":{"family":"ip","table":"filter","chain":"INPUT","handle":2,"expr":[{"xt":{"type":"match","name":"recent"}},{"drop":null}]}}]}"#;
    let (rs, _) = frontends::nft::parse_json(&SourceFile::new("r.json", json)).unwrap();
    let o = run(&rs, "tcp 192.0.2.1:4000 10.0.0.1:22 in eth0");
    assert!(o.decided_fate().is_none(), "{o:#?}");
    let why = o.branches[0].choices[0].why.to_string();
    assert!(why.contains("pass the iptables-save view too"), "{why}");
}

/// Two tables' base chains at one priority run in load order, which no listing records: the
/// answer says which order it took.
#[test]
fn equal_priorities_across_tables_are_named() {
    let text = "table inet a {\n chain f { type filter hook input priority 0; policy accept; }\n}\n\
                table inet b {\n chain f { type filter hook input priority 0; policy accept; }\n}\n\
                table inet c {\n chain f { type filter hook input priority 10; policy accept; }\n}\n";
    let rs = frontends::nft::parse_text(&model::SourceFile::new("t.nft", text)).unwrap();
    let mut p = model::Packet::new(
        "10.0.0.2".parse().unwrap(),
        "10.0.0.1".parse().unwrap(),
        model::L4::Udp {
            sport: 1,
            dport: 53,
        },
    );
    p.iif = Some("eth0".into());
    let out = engine::simulate(
        &rs,
        &model::Host::default(),
        &p,
        &engine::Options::default(),
    );
    let ties: Vec<_> = out
        .primary()
        .warnings
        .iter()
        .filter_map(|w| match w {
            engine::Warning::EqualPriority {
                ran_first,
                ran_second,
                ..
            } => Some((
                rs.tables[ran_first.table].name.as_str(),
                rs.tables[ran_second.table].name.as_str(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        ties,
        vec![("b", "a")],
        "b, loaded last, runs first; c's distinct priority is no tie"
    );
}

/// Issue 11 B3: raw payload matches (miniupnpd's rules) are decided from the packet's header
/// bytes: ports, protocol, addresses, TTL, flags, ethertype, masked and in sets. A read of bytes
/// a packet spec does not give (the TCP sequence number) stays Unknown, and a link-layer
/// read on a locally generated packet (no link-layer header) does not match.
#[test]
fn b3_raw_payload_is_decided_from_the_packets_bytes() {
    let rs = nft("table inet t {\n chain fwd {\n  type filter hook forward priority 0; policy accept;\n  \
         iif \"eth0\" @nh,72,8 0x6 ip daddr 192.168.0.42 @th,16,16 0x50 drop\n  \
         @th,16,16 { 53, 54 } @nh,64,8 < 10 drop\n  \
         @th,104,8 & 0x12 == 0x12 @th,16,16 443 drop\n  \
         @ll,96,16 0x0800 @th,16,16 8080 drop\n  \
         @th,16,16 9000 @th,32,32 7 drop\n }\n chain out {\n  type filter hook output priority 0; policy accept;\n  \
         @ll,96,16 0x0800 drop\n }\n}\n");
    let dropped = |spec: &str| !passed(&rs, spec);
    assert!(dropped(&format!("tcp 10.0.0.1:1000 192.168.0.42:80 {FWD}")));
    assert!(!dropped(&format!(
        "udp 10.0.0.1:1000 192.168.0.42:80 {FWD}"
    )));
    assert!(!dropped(&format!(
        "tcp 10.0.0.1:1000 192.168.0.43:80 {FWD}"
    )));
    assert!(dropped(&format!(
        "udp 10.0.0.1:1000 8.8.8.8:54 {FWD} ttl 5"
    )));
    assert!(!dropped(&format!("udp 10.0.0.1:1000 8.8.8.8:54 {FWD}")));
    assert!(dropped(&format!(
        "tcp 10.0.0.1:1000 8.8.8.8:443 {FWD} flags SA"
    )));
    assert!(!dropped(&format!(
        "tcp 10.0.0.1:1000 8.8.8.8:443 {FWD} flags S"
    )));
    assert!(dropped(&format!("tcp 10.0.0.1:1000 8.8.8.8:8080 {FWD}")));
    assert!(!dropped(&format!(
        "tcp [2001:db8::1]:1000 [2001:db8::2]:8080 {FWD}"
    )));
    let o = run(&rs, &format!("tcp 10.0.0.1:1000 8.8.8.8:9000 {FWD}"));
    assert!(
        o.decided_fate().is_none(),
        "the sequence number is not given: {o:#?}"
    );
    assert!(!dropped("udp 10.0.0.1:1000 8.8.8.8:53 out eth1"));
}
