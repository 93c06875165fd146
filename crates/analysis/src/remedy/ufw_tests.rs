//! ufw remedies on the story-1 router the real ufw wrote (`examples/ufw-router`), and
//! the command → `user.rules` line pairs the real ufw 0.36.2 produced in a namespace.

use super::*;
use crate::fix::Position;
use crate::remedy::{remedies, Remedies, Remedy};
use model::tool_config::ToolConfig;
use model::Host;
use std::path::PathBuf;

fn example(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/ufw-router")
        .join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(example(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn config() -> ToolConfig {
    let files = [
        ("/etc/ufw/user.rules", "host/etc/ufw/user.rules"),
        ("/etc/ufw/user6.rules", "host/etc/ufw/user6.rules"),
        ("/etc/default/ufw", "host/etc/default/ufw"),
        ("ufw status numbered", "host/cmd/ufw-status-numbered.txt"),
    ];
    ToolConfig {
        files: files
            .iter()
            .map(|(name, rel)| SourceFile::new(*name, read(rel)))
            .collect(),
    }
}

struct Story {
    ruleset: Ruleset,
    host: Host,
    config: ToolConfig,
}

fn story1() -> Story {
    let source = SourceFile::new("iptables-save.txt", read("iptables-save.txt"));
    let mut ruleset = frontends::iptables_save::parse(&source, Some(Family::Ip))
        .unwrap_or_else(|e| panic!("{e}"));
    let config = config();
    owners::recognise(&mut ruleset, &config);
    let host = frontends::host::host_dir::load(&example("host"))
        .unwrap_or_else(|e| panic!("{e:?}"))
        .host;
    Story {
        ruleset,
        host,
        config,
    }
}

fn remedies_for(story: &Story, spec: &str) -> Remedies {
    let args: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
    let packet = frontends::packet_spec::parse(&args)
        .unwrap_or_else(|e| panic!("{e}"))
        .packet;
    let options = engine::Options::default();
    let outcome = engine::simulate(&story.ruleset, &story.host, &packet, &options);
    remedies(
        &story.ruleset,
        &story.host,
        &packet,
        &outcome,
        &options,
        &story.config,
    )
    .unwrap_or_else(|| panic!("{spec}: no remedies"))
}

fn commands(r: &Remedy) -> Vec<&str> {
    r.steps
        .iter()
        .filter_map(|s| match s {
            Step::Run(c) => Some(c.as_str()),
            Step::AddLine { .. } => None,
        })
        .collect()
}

/// The ufw remedies' breadths and commands.
fn ufw_ladder(r: &Remedies) -> Vec<(Breadth, String)> {
    r.ladder
        .iter()
        .filter(|x| x.language == Language::Ufw)
        .map(|x| (x.breadth, commands(x).join("; ")))
        .collect()
}

#[test]
fn story_1_routed_reject_gets_ufw_route_allow_at_three_breadths() {
    let story = story1();
    let r = remedies_for(&story, "tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0");
    assert_eq!(
        r.owner.as_ref().map(|o| &o.role),
        Some(&Role::Ufw(UfwRole::DefaultPolicy {
            direction: UfwDirection::Routed,
            policy: "reject".into()
        }))
    );
    assert_eq!(
        ufw_ladder(&r),
        [
            (
                Breadth::Flow,
                "ufw route allow in on tap0 out on eno1 from 10.1.1.2 to 10.1.0.2 port 2175 proto tcp"
                    .into(),
            ),
            (
                Breadth::Service,
                "ufw route allow in on tap0 out on eno1 to 10.1.0.2 port 2175 proto tcp".into(),
            ),
            (
                Breadth::Path,
                "ufw route allow in on tap0 out on eno1".into(),
            ),
        ]
    );
    assert!(r
        .ladder
        .iter()
        .filter(|x| x.language == Language::Ufw)
        .all(Remedy::verified));
    let primary = r.primary().unwrap_or_else(|| panic!("no primary"));
    assert_eq!(
        commands(primary),
        ["ufw route allow in on tap0 out on eno1 to 10.1.0.2 port 2175 proto tcp"]
    );
    assert_eq!(primary.durability, Durability::Durable);
    // Nothing typed by hand into ufw's chains once ufw's own command works.
    assert!(r.ladder.iter().all(|x| x
        .kernel_rules
        .iter()
        .all(|k| k.chain.starts_with("ufw-user-"))
        && !matches!(x.durability, Durability::LostOnReload(_))));
}

#[test]
fn the_patched_ruleset_holds_ufws_rule_at_the_end_of_ufw_user_forward() {
    let story = story1();
    let r = remedies_for(&story, "tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0");
    let path = r
        .ladder
        .iter()
        .find(|x| x.breadth == Breadth::Path)
        .unwrap_or_else(|| panic!("no path remedy"));
    assert_eq!(
        path.kernel_rules
            .iter()
            .map(|k| k.command.as_str())
            .collect::<Vec<_>>(),
        ["iptables -A ufw-user-forward -i tap0 -o eno1 -j ACCEPT"]
    );
    assert_eq!(
        path.opens,
        Opens::Traffic(TrafficOpening {
            proto: None,
            src: None,
            dst: None,
            dport: None,
            iif: Some("tap0".into()),
            oif: Some("eno1".into()),
        })
    );
}

#[test]
fn an_incoming_default_deny_gets_ufw_allow() {
    let story = story1();
    let r = remedies_for(&story, "tcp 10.1.1.2:1050 10.1.1.1:2175 in tap0");
    let ladder = ufw_ladder(&r);
    assert_eq!(
        ladder,
        [
            (
                Breadth::Flow,
                "ufw allow in on tap0 from 10.1.1.2 to any port 2175 proto tcp".into()
            ),
            (
                Breadth::Service,
                "ufw allow in on tap0 to any port 2175 proto tcp".into()
            ),
            (Breadth::Service, "ufw allow 2175/tcp".into()),
        ]
    );
    // Through the firewall, each reaches the host.
    for remedy in r.ladder.iter().filter(|x| x.language == Language::Ufw) {
        let exchange = remedy
            .exchange
            .as_ref()
            .unwrap_or_else(|| panic!("unsimulated"));
        assert!(
            matches!(exchange.steps[0].fate, Some(engine::Fate::Delivered { .. })),
            "{:?}",
            exchange.steps[0]
        );
    }
}

#[test]
fn a_blocking_deny_rule_is_named_and_deleted_or_preceded_by_an_insert() {
    let story = story1();
    let r = remedies_for(&story, "tcp 10.1.1.2:1050 10.1.1.1:23 in tap0");
    let Some(Role::Ufw(UfwRole::UserRule(tuple))) = r.owner.as_ref().map(|o| &o.role) else {
        panic!("{:?}", r.owner);
    };
    assert_eq!(tuple.number, Some(2));
    assert_eq!(tuple.text, "deny tcp 23 0.0.0.0/0 any 0.0.0.0/0 in");
    let ladder = ufw_ladder(&r);
    assert_eq!(
        ladder,
        [
            (
                Breadth::Flow,
                "ufw insert 2 allow in on tap0 from 10.1.1.2 to any port 23 proto tcp".into()
            ),
            (Breadth::Cause, "ufw delete 2".into()),
        ]
    );
    let insert = &r.ladder[0];
    assert_eq!(
        insert.kernel_rules[0].command,
        "iptables -I ufw-user-input 2 -i tap0 -p tcp --dport 23 -s 10.1.1.2 -j ACCEPT"
    );
    let first_fate = |x: &Remedy| {
        let exchange = x.exchange.as_ref().unwrap_or_else(|| panic!("unsimulated"));
        (
            exchange.steps[0].fate.clone(),
            exchange.steps[0].decider.clone(),
        )
    };
    assert!(matches!(
        first_fate(insert).0,
        Some(engine::Fate::Delivered { .. })
    ));
    // Deleting the deny leaves the incoming default (deny): the INPUT policy drops it,
    // and the simulation says so.
    let delete = &r.ladder[1];
    // What `ufw delete 2` takes out of the kernel, by the rule's own specification.
    assert_eq!(
        super::removal::commands(&delete.kernel_rules),
        [(
            "iptables -D ufw-user-input -p tcp -m tcp --dport 23 -j DROP",
            Position::Delete
        )]
    );
    let input = story.ruleset.tables[0].chain("INPUT").unwrap_or(usize::MAX);
    assert_eq!(
        first_fate(delete),
        (
            Some(engine::Fate::Dropped),
            engine::Decider::Policy(model::ChainRef {
                table: 0,
                chain: input
            })
        )
    );
}

#[test]
fn a_reply_blocked_by_ufw_gets_no_ufw_allow() {
    let story = story1();
    let args: Vec<String> = "tcp 10.1.0.2:2175 10.1.1.2:1050 in eno1 flags SA"
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let packet = frontends::packet_spec::parse(&args)
        .unwrap_or_else(|e| panic!("{e}"))
        .packet;
    let options = engine::Options::default();
    let outcome = engine::simulate(&story.ruleset, &story.host, &packet, &options);
    let r = remedies(
        &story.ruleset,
        &story.host,
        &packet,
        &outcome,
        &options,
        &story.config,
    );
    assert!(r
        .iter()
        .flat_map(|r| &r.ladder)
        .all(|x| x.language != Language::Ufw));
}

/// Each command with the `user.rules` line the real ufw 0.36.2 wrote for it (run in a
/// namespace with private copies of /etc/ufw, as scripts/gen-ufw-example.sh does).
#[test]
fn commands_and_lines_are_the_ones_the_real_ufw_writes() {
    let v4 = |s: &str| -> IpAddr { s.parse().unwrap_or_else(|e| panic!("{e}")) };
    let rule = |direction, iif: Option<&str>, oif: Option<&str>, src, dst, port| UfwRule {
        direction,
        iif: iif.map(str::to_string),
        oif: oif.map(str::to_string),
        src,
        dst,
        port,
    };
    let cases = [
        (
            rule(UfwDirection::Routed, Some("tap0"), Some("eno1"), Some(v4("2001:db8:1::2")), Some(v4("2001:db8::2")), Some(("tcp", 2175))),
            Family::Ip6,
            "ufw route allow in on tap0 out on eno1 from 2001:db8:1::2 to 2001:db8::2 port 2175 proto tcp",
            "-A ufw6-user-forward -i tap0 -o eno1 -p tcp -d 2001:db8::2 --dport 2175 -s 2001:db8:1::2 -j ACCEPT",
        ),
        (
            rule(UfwDirection::Routed, Some("tap0"), Some("eno1"), None, None, Some(("udp", 53))),
            Family::Ip,
            "ufw route allow in on tap0 out on eno1 to any port 53 proto udp",
            "-A ufw-user-forward -i tap0 -o eno1 -p udp --dport 53 -j ACCEPT",
        ),
        (
            rule(UfwDirection::Incoming, Some("tap0"), None, None, Some(v4("10.1.1.1")), Some(("tcp", 2176))),
            Family::Ip,
            "ufw allow in on tap0 to 10.1.1.1 port 2176 proto tcp",
            "-A ufw-user-input -i tap0 -p tcp -d 10.1.1.1 --dport 2176 -j ACCEPT",
        ),
        (
            rule(UfwDirection::Outgoing, None, Some("eno1"), None, Some(v4("10.1.0.2")), Some(("tcp", 2175))),
            Family::Ip,
            "ufw allow out on eno1 to 10.1.0.2 port 2175 proto tcp",
            "-A ufw-user-output -o eno1 -p tcp -d 10.1.0.2 --dport 2175 -j ACCEPT",
        ),
        (
            rule(UfwDirection::Outgoing, None, None, None, None, Some(("tcp", 2175))),
            Family::Ip6,
            "ufw allow out 2175/tcp",
            "-A ufw6-user-output -p tcp --dport 2175 -j ACCEPT",
        ),
    ];
    for (rule, family, command, line) in cases {
        assert_eq!(rule.command(None), command);
        assert_eq!(rule.line(family), line);
    }
}

#[test]
fn a_tuple_states_what_deleting_it_opens_or_nothing() {
    let tuple = |text: &str| UfwTuple {
        text: text.into(),
        number: Some(1),
        v6: false,
    };
    assert_eq!(
        tuple_opens(&tuple(
            "route:deny udp 514 0.0.0.0/0 any 1.2.3.4 in_tap0!out_eno1"
        )),
        Some(Opens::Traffic(TrafficOpening {
            proto: Some(IpProto::Udp),
            src: Some("1.2.3.4".parse().unwrap_or_else(|e| panic!("{e}"))),
            dst: None,
            dport: Some(514),
            iif: Some("tap0".into()),
            oif: Some("eno1".into()),
        }))
    );
    // A port list and a network cannot be stated as one opening.
    assert_eq!(
        tuple_opens(&tuple("deny tcp 23,25 0.0.0.0/0 any 0.0.0.0/0 in")),
        None
    );
    assert_eq!(
        tuple_opens(&tuple("deny any any 0.0.0.0/0 any 10.0.0.0/8 in")),
        None
    );
}
