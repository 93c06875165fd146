//! Speed of the packet path through a large ruleset, prepared once.
//!
//! The target (release build, one core): 100,000 packets/s through the 5,556-rule TUM
//! iptables ruleset. Here a synthetic ruleset of the same size where every packet walks
//! *every* rule (unconditional jumps into 100 chains of 55 non-matching rules): a worse
//! case than the real one, whose jumps are guarded by `-i`. The rate is asserted only in
//! release builds (`cargo test --release -p whyblocked-engine --test speed`).

use engine::{simulate_prepared, Fate, Options, Prepared};
use model::expr::{Action, Key, Match, Pattern, Value};
use model::host::Host;
use model::ruleset::{priority, BaseChain, ChainType, Step};
use model::source::Origin;
use model::{Chain, Family, Hook, Packet, Rule, Ruleset, Table, TcpFlags, Verdict, L4};
use std::time::Instant;

fn rule(matches: Vec<Match>, verdict: Verdict) -> Rule {
    let mut body: Vec<Step> = matches.into_iter().map(Step::Match).collect();
    body.push(Step::Action(Action::Verdict(verdict)));
    Rule {
        body,
        origin: Origin::default(),
    }
}

fn big_ruleset(chains: usize, per_chain: usize) -> Ruleset {
    let mut all = Vec::new();
    let mut forward = Vec::new();
    for c in 0..chains {
        let name = format!("vlan{c}");
        forward.push(rule(vec![], Verdict::Jump(name.clone())));
        let rules = (0..per_chain)
            .map(|r| {
                let net = format!("10.{}.{}.0/24", c % 250, r % 250).parse().unwrap();
                rule(
                    vec![
                        Match::cmp(Key::SrcAddr, Pattern::Prefix(net)),
                        Match::cmp(Key::L4Proto, Pattern::Value(Value::Int(6))),
                        Match::cmp(Key::DstPort, Pattern::Value(Value::Int(22))),
                    ],
                    Verdict::Accept,
                )
            })
            .collect();
        all.push(Chain {
            name,
            base: None,
            rules,
            counters: None,
            origin: Origin::default(),
            numbers: Default::default(),
        });
    }
    forward.push(rule(
        vec![Match::cmp(Key::L4Proto, Pattern::Value(Value::Int(6)))],
        Verdict::Accept,
    ));
    all.insert(
        0,
        Chain {
            name: "FORWARD".into(),
            base: Some(BaseChain {
                hook: Hook::Forward,
                chain_type: ChainType::Filter,
                priority: priority::FILTER,
                policy: Verdict::Drop,
                device: None,
            }),
            rules: forward,
            counters: None,
            origin: Origin::default(),
            numbers: Default::default(),
        },
    );
    Ruleset {
        tables: vec![Table {
            family: Family::Ip,
            name: "filter".into(),
            chains: all,
            sets: vec![],
            origin: Origin::default(),
        }],
        ..Ruleset::default()
    }
}

#[test]
fn every_rule_of_a_5556_rule_ruleset_walked_fast() {
    let ruleset = big_ruleset(100, 54);
    assert!(ruleset.rule_count() >= 5_500, "{}", ruleset.rule_count());
    let prepared = Prepared::new(&ruleset);
    let host = Host::default();
    let options = Options::default();
    let mut packet = Packet::new(
        "192.168.1.2".parse().unwrap(),
        "172.16.0.1".parse().unwrap(),
        L4::Tcp {
            sport: 40000,
            dport: 22,
            flags: TcpFlags::SYN,
        },
    );
    packet.iif = Some("eth0".into());
    packet.oif = Some("eth1".into());
    let n = if cfg!(debug_assertions) { 200 } else { 20_000 };
    let start = Instant::now();
    for i in 0..n {
        packet.l4 = L4::Tcp {
            sport: 1024 + (i % 60_000) as u16,
            dport: 22,
            flags: TcpFlags::SYN,
        };
        let out = simulate_prepared(&prepared, &host, &packet, &options);
        assert!(matches!(out.primary().fate, Fate::Forwarded { .. }));
    }
    let rate = f64::from(n) / start.elapsed().as_secs_f64();
    let rules_per_s = rate * ruleset.rule_count() as f64;
    if !cfg!(debug_assertions) {
        // Every packet walks all 5,500 rules here (measured: ~75k packets/s, ~400M rules/s
        // on the development machine); the real ruleset's packets walk a fraction of them.
        assert!(
            rules_per_s > 200e6,
            "{rate:.0} packets/s, {rules_per_s:.0} rules/s"
        );
    }
}
