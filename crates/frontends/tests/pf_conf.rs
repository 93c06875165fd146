//! pf.conf by hand: what pfctl's expansion gives the engine (typed rules, not text),
//! the `pfctl -sr -vv` listing reader, and the diagnostics of bad input as users read
//! them (file:line:col, the line, a caret, what was expected).
#![allow(clippy::print_stderr)]

use std::net::IpAddr;

use frontends::pf::{parse, parse_listing, print, Env};
use model::pf::{
    Action, Af, BlockPolicy, DynamicModifier, Host, Item, KeepState, NumOp, RuleDirection,
    TcpFlagsSpec,
};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn rendered_error(name: &str, text: &str) -> String {
    rendered_error_with(name, text, &Env::default())
}

fn rendered_error_with(name: &str, text: &str, env: &Env) -> String {
    let err = parse(name, text, env).expect_err("must be refused");
    let mut out = Vec::new();
    report::diagnostic::render(&mut out, &err).expect("render");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn lists_and_macros_expand_into_one_rule_per_combination() {
    let text = "ext = \"{ 10.0.0.0/8, 2001:db8::/32 }\"\n\
                pass in on em0 proto { tcp udp } from $ext to any port { 22 53 }\n";
    let rs = parse("pf.conf", text, &Env::default()).expect("parses");
    let rules: Vec<_> = rs.rules().collect();
    assert_eq!(rules.len(), 8);
    let first = rules[0];
    assert_eq!(first.action, Action::Pass);
    assert_eq!(first.direction, RuleDirection::In);
    assert_eq!(
        first.interface.as_ref().map(|i| i.name.as_str()),
        Some("em0")
    );
    assert_eq!(first.af, Some(Af::Inet));
    assert_eq!(first.proto, Some(6));
    assert_eq!(
        first.from.addr.host,
        Host::Network {
            addr: ip("10.0.0.0"),
            prefix: 8
        }
    );
    assert_eq!(first.to.port, Some(NumOp::Eq(22)));
    assert_eq!(first.keep_state, Some(KeepState::Keep));
    assert_eq!(
        first.flags,
        Some(TcpFlagsSpec {
            set: 0x02,
            mask: 0x12
        })
    );
    // udp rules keep state but have no flags; the origin is the written line.
    let udp = rules[4];
    assert_eq!(udp.proto, Some(17));
    assert_eq!(udp.flags, None);
    assert_eq!(udp.origin.line, 2);
    assert!(udp.origin.text.starts_with("pass in on em0"));
    assert_eq!(rules[2].af, Some(Af::Inet6));
}

#[test]
fn block_policy_and_interface_addresses_follow_pfctl() {
    let text = "set block-policy return\nblock in on ! em0 from (em0:network) to self\n";
    let rs = parse("pf.conf", text, &Env::default()).expect("parses");
    let rule = rs.rules().next().expect("one rule");
    assert_eq!(rule.action, Action::Block(BlockPolicy::Return));
    assert!(rule.interface.as_ref().is_some_and(|i| i.negated));
    assert!(matches!(
        &rule.from.addr.host,
        Host::Dynamic { interface, modifier: DynamicModifier::Network, .. } if interface == "em0"
    ));
    // Without the host's interfaces, `self` stays a name: never guessed.
    assert!(matches!(&rule.to.addr.host, Host::InterfaceName { name, .. } if name == "self"));
    assert_eq!(
        print(&rs),
        "set block-policy return\nblock return in on ! em0 from (em0:network) to self\n"
    );
}

#[test]
fn inline_anchors_keep_their_rules_and_path() {
    let text = "anchor \"ext\" in on em0 {\n  pass proto tcp to port 22\n  block\n}\npass out\n";
    let rs = parse("pf.conf", text, &Env::default()).expect("parses");
    let rules: Vec<_> = rs.rules().collect();
    assert_eq!(rules.len(), 2);
    let Action::Anchor(call) = &rules[0].action else {
        panic!("an anchor first")
    };
    assert_eq!(call.name.as_deref(), Some("ext"));
    let body = call.body.as_ref().expect("inline body");
    let inner: Vec<_> = body.rules().collect();
    assert_eq!(inner.len(), 2);
    assert_eq!(inner[0].anchor_path.as_deref(), Some("ext"));
    assert_eq!(inner[1].origin.line, 3);
    insta::assert_snapshot!(print(&rs), @r#"
    anchor "ext" in on em0 all {
      pass proto tcp from any to any port = 22 flags S/SA
      block drop all
    }
    pass out all flags S/SA
    "#);
}

#[test]
fn translation_rules_carry_their_pools() {
    let text = "match out on egress inet from 192.168.0.0/16 nat-to (egress:0)\n\
                pass in on egress proto tcp to port 80 rdr-to 10.0.0.5 port 8080\n";
    let rs = parse("pf.conf", text, &Env::default()).expect("parses");
    let rules: Vec<_> = rs.rules().collect();
    let nat = rules[0].nat_to.as_ref().expect("nat-to");
    assert!(matches!(
        &nat.hosts[0].host,
        Host::Dynamic { interface, modifier: DynamicModifier::NoAlias, .. } if interface == "egress"
    ));
    let rdr = rules[1].rdr_to.as_ref().expect("rdr-to");
    assert_eq!(rdr.ports, Some((8080, 8080)));
    assert_eq!(
        rdr.hosts[0].host,
        Host::Network {
            addr: ip("10.0.0.5"),
            prefix: 32
        }
    );
}

#[test]
fn includes_are_read_from_the_environment() {
    let mut env = Env::default();
    env.files
        .insert("/etc/pf.local".into(), "block in proto udp\n".into());
    let rs = parse("pf.conf", "include \"/etc/pf.local\"\npass out\n", &env).expect("parses");
    let rules: Vec<_> = rs.rules().collect();
    assert_eq!(rules.len(), 2);
    assert_eq!(&*rules[0].origin.file, "/etc/pf.local");
}

#[test]
fn a_pfctl_vvsr_listing_keeps_numbers_and_counters() {
    let listing = "@0 block return all\n\
  [ Evaluations: 120       Packets: 7         Bytes: 420         States: 0     ]\n\
  [ Inserted: uid 0 pid 4242 State Creations: 0     ]\n\
@1 pass out all flags S/SA\n\
  [ Evaluations: 120       Packets: 100       Bytes: 9000        States: 3     ]\n\
@2 pass in on em0 inet proto tcp from any to (em0) port = 22 flags S/SA\n";
    let rs = parse_listing("pfctl-vvsr.txt", listing, &Env::default()).expect("parses");
    let rules: Vec<_> = rs.rules().collect();
    assert_eq!(rules.len(), 3);
    assert_eq!(
        rules.iter().map(|r| r.number).collect::<Vec<_>>(),
        [Some(0), Some(1), Some(2)]
    );
    assert_eq!(
        rules[0].origin.counters.map(|c| (c.packets, c.bytes)),
        Some((7, 420))
    );
    assert_eq!(rules[1].origin.counters.map(|c| c.packets), Some(100));
    assert_eq!(rules[2].origin.counters, None);
    assert_eq!(rules[2].origin.line, 6);
    assert_eq!(rules[2].direction, RuleDirection::In);
    assert!(matches!(
        rules[0].action,
        Action::Block(BlockPolicy::Return)
    ));
    assert!(rs.items.iter().all(|i| matches!(i, Item::Rule(_))));
}

#[test]
fn a_bad_listing_line_is_placed_in_the_listing() {
    let listing = "@0 pass all\n@1 pass in frm any\n";
    let err = parse_listing("rules.txt", listing, &Env::default()).expect_err("refused");
    assert_eq!(err.line_col(), (2, 12));
}

#[test]
fn diagnostics_name_the_place_and_what_was_expected() {
    insta::assert_snapshot!(
        "undefined_macro",
        rendered_error("pf.conf", "ext_if = \"em0\"\npass in on $ext_fi\n")
    );
    insta::assert_snapshot!(
        "bad_address",
        rendered_error("pf.conf", "block in from 10.0.0.256 to any\n")
    );
    insta::assert_snapshot!(
        "port_without_protocol",
        rendered_error("pf.conf", "pass in from any to any port 22\n")
    );
    insta::assert_snapshot!(
        "unknown_option",
        rendered_error("pf.conf", "pass in all keep stat\n")
    );
    insta::assert_snapshot!(
        "flags_without_mask",
        rendered_error("pf.conf", "pass proto tcp flags S\n")
    );
    insta::assert_snapshot!(
        "unterminated_string",
        rendered_error("pf.conf", "pass in all label \"web\n")
    );
    insta::assert_snapshot!(
        "old_rdr_without_target",
        rendered_error("pf.conf", "rdr on em0 proto tcp to port 80\n")
    );
}

#[test]
fn no_input_panics_on_odd_bytes() {
    for text in [
        "pass in from { 1.2.3.4",
        "anchor \"x\" {\npass\n",
        "a = \"$a $a\"\npass on $a\n",
        "pass in on \u{e9}m0 all\n",
        "table <t> { 10.0.0.1 - 10.0.0.9 }\n",
        "pass route-to (\n",
        "set limit { states 10,",
        "\\\n\\",
    ] {
        let _ = parse("fuzz", text, &Env::default());
        let _ = parse_listing("fuzz", text, &Env::default());
    }
}

#[test]
fn freebsd_translation_and_scrub_rules_are_read() {
    let text = "ext_if = \"em0\"\n\
scrub in all fragment reassemble\n\
scrub on $ext_if all reassemble tcp\n\
nat on $ext_if inet from 10.0.0.0/8 to any -> ($ext_if)\n\
nat pass on $ext_if from 192.168.1.0/24 to any -> 1.2.3.4 port 1024:65535\n\
no nat on $ext_if from 10.1.0.0/16 to 10.2.0.0/16\n\
rdr pass on $ext_if proto tcp from any to any port 80 -> 10.0.0.5 port 8080\n\
rdr on $ext_if proto tcp from any to any port 8000:8010 -> 10.0.0.6 port 9000:*\n\
binat on $ext_if from 10.0.0.7 to any -> 1.2.3.7\n\
nat-anchor \"ftp-proxy/*\"\n\
rdr-anchor \"ftp-proxy/*\"\n\
block in on $ext_if\n";
    let rs = parse("pf.conf", text, &Env::default()).expect("parses");
    let rules: Vec<_> = rs.rules().collect();
    assert!(matches!(
        rules[3].action,
        Action::OldNat {
            kind: model::pf::OldNatKind::Nat,
            no: false
        }
    ));
    assert!(rules[3].translation_pass);
    assert!(rules[5].translation_pass);
    assert_eq!(
        rules[6].rdr_to.as_ref().and_then(|p| p.ports),
        Some((9000, 9010))
    );
    insta::assert_snapshot!(print(&rs), @r#"
    ext_if = "em0"
    scrub in all fragment reassemble
    scrub on em0 all reassemble tcp
    nat on em0 inet from 10.0.0.0/8 to any -> (em0) round-robin
    nat pass on em0 inet from 192.168.1.0/24 to any -> 1.2.3.4 port 1024:65535
    no nat on em0 inet from 10.1.0.0/16 to 10.2.0.0/16
    rdr pass on em0 inet proto tcp from any to any port = 80 -> 10.0.0.5 port 8080
    rdr on em0 inet proto tcp from any to any port 8000:8010 -> 10.0.0.6 port 9000:9010
    binat on em0 inet from 10.0.0.7 to any -> 1.2.3.7
    nat-anchor "ftp-proxy/*" all
    rdr-anchor "ftp-proxy/*" all
    block drop in on em0 all
    "#);
}

#[test]
fn listing_counts_after_tables_and_interfaces_are_not_names() {
    let listing = "No ALTQ support in kernel\nALTQ related functions disabled\n\
@0 block drop in quick from <bruteforce:3> to <empty:0>\n\
@1 pass in on em0 inet proto tcp from any to (em0:1) port = 22 flags S/SA keep state\n\
@2 pass out inet from (em0:network:*) to any flags S/SA\n";
    let rs = parse_listing("vvsr.txt", listing, &Env::default()).expect("parses");
    let rules: Vec<_> = rs.rules().collect();
    assert_eq!(rules[0].from.addr.host, Host::Table("bruteforce".into()));
    assert_eq!(rules[0].to.addr.host, Host::Table("empty".into()));
    assert!(
        matches!(&rules[1].to.addr.host, Host::Dynamic { interface, modifier: DynamicModifier::None, .. } if interface == "em0")
    );
    assert!(
        matches!(&rules[2].from.addr.host, Host::Dynamic { interface, modifier: DynamicModifier::Network, .. } if interface == "em0")
    );
    assert_eq!(rules[2].number, Some(2));
}

#[test]
fn a_file_that_includes_itself_is_refused() {
    let mut env = Env::default();
    env.files
        .insert("loop.conf".into(), "include \"loop.conf\"\n".into());
    env.files
        .insert("a.conf".into(), "load anchor a from \"a.conf\"\n".into());
    let err = parse("pf.conf", "include \"loop.conf\"\n", &env).expect_err("refused");
    assert!(err.to_string().contains("too deep"), "{err}");
    let err = parse("pf.conf", "load anchor a from \"a.conf\"\n", &env).expect_err("refused");
    assert!(err.to_string().contains("too deep"), "{err}");
}

#[test]
fn a_hosts_interfaces_resolve_names_and_groups() {
    use frontends::host::iproute::{parse_addrs, parse_routes};
    use model::SourceFile;
    let addrs = r#"[{"ifindex":2,"ifname":"em0","flags":["UP"],"mtu":1500,"link_type":"ether",
        "addr_info":[{"family":"inet","local":"192.0.2.10","prefixlen":24,"scope":"global"}]}]"#;
    let routes = r#"[{"dst":"default","gateway":"192.0.2.1","dev":"em0"}]"#;
    let mut host = model::Host {
        interfaces: parse_addrs(&SourceFile::new("addr.json", addrs)).expect("addresses"),
        routes: parse_routes(&SourceFile::new("route.json", routes), false).expect("routes"),
        ..Default::default()
    };
    host.known.addresses = true;
    let env = Env::from_host(&host);
    let rs = parse(
        "pf.conf",
        "pass out on egress from em0:network to ! em\n",
        &env,
    )
    .expect("parses");
    let rule = rs.rules().next().expect("a rule");
    assert_eq!(
        rule.from.addr.host,
        Host::Network {
            addr: ip("192.0.2.0"),
            prefix: 24
        }
    );
    assert_eq!(
        rule.to.addr.host,
        Host::Network {
            addr: ip("192.0.2.10"),
            prefix: 32
        }
    );
    assert!(rule.to.addr.negated);
    assert_eq!(
        rule.interface.as_ref().map(|i| i.name.as_str()),
        Some("egress")
    );
}

/// The literal examples of `pf.conf(5)` (OpenBSD 7.8), each read on its own: the ones
/// that are not pf.conf (operator tables, shell commands) are listed and skipped.
#[test]
fn the_manual_pages_examples_parse() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/openbsd-pfctl-regress/pf.conf.5"
    );
    let Ok(man) = std::fs::read_to_string(path) else {
        eprintln!("SKIP: {path} not found");
        return;
    };
    let mut env = Env::openbsd_regress();
    for name in ["/etc/pf/sub.filter.conf", "/etc/spammers", "/etc/privnets"] {
        env.files.insert(name.into(), String::new());
    }
    // The examples use these macros without defining them.
    for (name, value) in [
        ("ext_if", "em0"),
        ("int_if", "em1"),
        ("v4_if", "em0"),
        ("v6_if", "em1"),
        ("int_net", "10.0.0.0/8"),
        ("developerhosts", "{ 10.0.0.5, 10.0.0.6 }"),
        ("employeehosts", "{ 10.0.1.0/24 }"),
        ("server", "10.0.0.10"),
        ("webserver", "10.0.0.11"),
        ("wifi_if", "em2"),
        ("sysadmins", "{ 10.0.2.0/24 }"),
    ] {
        env.defines.insert(name.into(), value.into());
    }
    env.users.insert("dhartmei".into(), 1000);
    let mut parsed = 0;
    let mut refused = Vec::new();
    for block in man.split(".Bd -literal").skip(1) {
        let body = block.split_once('\n').map_or("", |(_, b)| b);
        let body = body.split(".Ed").next().unwrap_or("");
        let text: String = body
            .replace("\\e", "\\")
            .replace("\\(aq", "'")
            .replace("\\&", "")
            .replace("\\-", "-")
            .lines()
            .filter(|l| !l.starts_with('.'))
            .map(|l| format!("{l}\n"))
            .collect();
        // Operator tables, address ranges and the grammar are prose, not pf.conf.
        let first = text.trim_start();
        if first.starts_with('=') || first.starts_with("10.0.0.0") || first.starts_with("line") {
            continue;
        }
        match parse("pf.conf.5", &text, &env) {
            Ok(_) => parsed += 1,
            Err(e) => refused.push(format!("{e}\n    {}", text.lines().next().unwrap_or(""))),
        }
    }
    eprintln!("pf.conf(5) examples: {parsed} parse; refused:");
    for r in &refused {
        eprintln!("  {r}");
    }
    assert!(refused.is_empty(), "{} examples refused", refused.len());
}

#[test]
fn antispoof_drops_from_the_networks_and_the_interfaces_own_addresses() {
    let mut env = Env::openbsd_regress();
    env.interfaces.push(frontends::pf::Interface {
        name: "em0".into(),
        groups: vec!["em".into()],
        addresses: vec![(ip("192.0.2.10"), 24)],
        point_to_point: false,
    });
    let rs = parse(
        "pf.conf",
        "set block-policy return\nantispoof quick for { lo0 em0 } inet\n",
        &env,
    )
    .expect("parses");
    insta::assert_snapshot!(print(&rs), @r"
    set block-policy return
    block drop in quick on ! lo0 inet from 127.0.0.0/8 to any
    block drop in quick on ! em0 inet from 192.0.2.0/24 to any
    block drop in quick inet from 192.0.2.10 to any
    ");
}

#[test]
fn nothing_that_would_read_as_any_is_accepted() {
    let env = Env::openbsd_regress();
    for text in [
        "block in from { } to any\n",
        "block in proto tcp from any port { } to any\n",
        "block in from lo1000000 to any\n",
        "block in from lo1000000:network to any\n",
    ] {
        assert!(parse("pf.conf", text, &env).is_err(), "accepted: {text}");
    }
    // Broadcast and peer addresses are not in the environment: kept by name.
    let rs = parse("pf.conf", "block in from lo0:broadcast to any\n", &env).expect("parses");
    assert!(matches!(
        &rs.rules().next().expect("a rule").from.addr.host,
        Host::InterfaceName { name, modifier: DynamicModifier::Broadcast } if name == "lo0"
    ));
}

#[test]
fn negated_any_is_any_negated() {
    let rs = parse(
        "pf.conf",
        "block in from ! any to { any }\n",
        &Env::default(),
    )
    .expect("parses");
    let rule = rs.rules().next().expect("a rule");
    assert!(rule.from.addr.negated);
    assert_eq!(rule.from.addr.host, Host::Any);
    assert_eq!(rule.to.addr.host, Host::Any);
    assert_eq!(print(&rs), "block drop in from ! any to any\n");
}

#[test]
fn openbsds_default_pf_conf_needs_the_hosts_users() {
    let conf = "set skip on lo\n\nblock return\t# block stateless traffic\npass\t\t# establish keep-state\n\n\
# By default, do not permit remote connections to X11\n\
block return in on ! lo0 proto tcp to port 6000:6010\n\n\
# Port build user does not need network\n\
block return out log proto {tcp udp} user _pbuild\n";
    let mut env = Env::default();
    insta::assert_snapshot!(
        "unknown_user",
        rendered_error_with("/etc/pf.conf", conf, &env)
    );
    env.read_passwd("root:*:0:0:Charlie &:/root:/bin/ksh\n_pbuild:*:21:21:Port build:/var/empty:/sbin/nologin\n");
    let rs = parse("/etc/pf.conf", conf, &env).expect("parses");
    let last = rs.rules().last().expect("rules");
    assert_eq!(last.user, Some(NumOp::Eq(21)));
    insta::assert_snapshot!(print(&rs), @r"
    set skip on { lo }
    block return all
    pass all flags S/SA
    block return in on ! lo0 proto tcp from any to any port 6000:6010
    block return out log proto tcp all user = 21
    block return out log proto udp all user = 21
    ");
}

#[test]
fn a_listing_with_anchors_keeps_their_bodies() {
    let listing = "@0 block drop all\n\
@1 anchor \"relayd/*\" all {\n\
  @0 pass in quick on em0 inet proto tcp from any to 10.0.0.1 port = 80 flags S/SA\n\
    [ Evaluations: 5         Packets: 9         Bytes: 700         States: 1     ]\n\
}\n\
@2 pass out all flags S/SA\n";
    let rs = parse_listing("vvsr.txt", listing, &Env::default()).expect("parses");
    let rules: Vec<_> = rs.rules().collect();
    assert_eq!(rules.len(), 3);
    let Action::Anchor(call) = &rules[1].action else {
        panic!("an anchor")
    };
    let inner: Vec<_> = call.body.as_ref().expect("its body").rules().collect();
    assert_eq!(inner.len(), 1);
    assert_eq!(inner[0].number, Some(0));
    assert_eq!(inner[0].anchor_path.as_deref(), Some("relayd/*"));
    assert_eq!(inner[0].origin.counters.map(|c| c.packets), Some(9));
    assert_eq!(inner[0].origin.line, 3);
    assert_eq!(rules[2].number, Some(2));
    let err =
        parse_listing("x", "@0 anchor \"a\" all {\n@0 pass\n", &Env::default()).expect_err("open");
    assert_eq!(err.line_col().0, 1);
}

#[test]
fn windows_line_ends_read_like_unix_ones() {
    let text = "ext = \"em0\"\r\npass in on $ext proto tcp \\\r\n  to port 22\r\n";
    let rs = parse("pf.conf", text, &Env::default()).expect("parses");
    assert_eq!(
        print(&rs),
        "ext = \"em0\"\npass in on em0 proto tcp from any to any port = 22 flags S/SA\n"
    );
}

#[test]
fn a_freebsd_listing_reads() {
    let listing = "No ALTQ support in kernel\nALTQ related functions disabled\n\
@0 scrub in all fragment reassemble\n\
  [ Evaluations: 10        Packets: 10        Bytes: 840         States: 0     ]\n\
  [ Inserted: uid 0 pid 411 State Creations: 0     ]\n\
  [ Last Active Time: N/A ]\n\
@0 block drop in log all\n\
@1 pass in quick on em0 proto tcp from any to any port = ssh flags S/SA keep state (if-bound) ridentifier 7\n\
@2 pass out quick on em0 all flags S/SA keep state dnpipe (1, 2)\n";
    let rs = parse_listing("freebsd-vvsr.txt", listing, &Env::default()).expect("parses");
    let rules: Vec<_> = rs.rules().collect();
    assert_eq!(rules.len(), 4);
    assert_eq!(rules[0].action, Action::Scrub);
    assert_eq!(rules[2].to.port, Some(NumOp::Eq(22)));
    assert_eq!(rules[3].number, Some(2));
}

#[test]
fn freebsd_altq_queues_are_kept_with_their_words() {
    let text = "altq on em0 cbq bandwidth 10Mb queue { std, ssh }\n\
queue std bandwidth 50% cbq(default)\n\
queue ssh bandwidth 25% { ssh_login, ssh_bulk }\n\
queue ssh_login bandwidth 25% priority 4 cbq(ecn)\n\
queue ssh_bulk bandwidth 75% cbq(ecn)\n\
pass out on em0 proto tcp to port 22 queue (ssh_bulk, ssh_login)\n";
    let rs = parse("pf.conf", text, &Env::default()).expect("parses");
    let rule = rs.rules().next().expect("a rule");
    assert_eq!(
        rule.queue,
        Some(("ssh_bulk".into(), Some("ssh_login".into())))
    );
    let printed = print(&rs);
    assert!(
        printed.starts_with("altq on em0 cbq bandwidth 10Mb queue { std , ssh }\n"),
        "{printed}"
    );
}

#[test]
fn table_files_given_are_read_and_others_stay_unknown() {
    let mut env = Env::default();
    env.files.insert(
        "/etc/pf.bad".into(),
        "# scanners\n192.0.2.0/24\n!192.0.2.7 198.51.100.9\n".into(),
    );
    let rs = parse(
        "pf.conf",
        "table <bad> persist file \"/etc/pf.bad\" file \"/etc/pf.more\"\nblock in from <bad>\n",
        &env,
    )
    .expect("parses");
    let table = rs.tables().next().expect("a table");
    assert_eq!(table.entries.len(), 3);
    assert!(table.entries[1].negated);
    assert_eq!(table.files, vec!["/etc/pf.more".to_string()]);
    env.files.insert(
        "/etc/pf.bad".into(),
        "192.0.2.0/24\n10.0.0.1 - 10.0.0.9\n".into(),
    );
    let err = parse("pf.conf", "table <bad> file \"/etc/pf.bad\"\n", &env).expect_err("a range");
    assert_eq!(&*err.source.name, "/etc/pf.bad");
    assert_eq!(err.line_col(), (2, 1));
}

#[test]
fn a_rules_text_is_its_own_lines() {
    let text = "pass in all # don't log\nblock out all\npass proto tcp \\\n  to port 22 # ssh\n";
    let rs = parse("pf.conf", text, &Env::default()).expect("parses");
    let texts: Vec<_> = rs.rules().map(|r| r.origin.text.to_string()).collect();
    assert_eq!(
        texts,
        [
            "pass in all # don't log",
            "block out all",
            "pass proto tcp to port 22 # ssh"
        ]
    );
}
