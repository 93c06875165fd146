//! Every reason code of part 5 of issue 10 on real rulesets from `../shared/corpus`, each
//! with a host of its own, asserting the typed [`Cause`] and its details:
//!
//! - `generated/ufw-in-netns/iptables-save.txt`: what the real ufw 0.36 wrote in a network
//!   namespace (lan0/wan0; `ufw allow 22/tcp`, `ufw route allow in on lan0 out on wan0`,
//!   ...), with ufw's own `--ctstate INVALID -j DROP` from before.rules.
//! - `netfilter-nftables/tests/shell/testcases/nft-f/dumps/sample-ruleset.nft`: nftables'
//!   test-suite home router (eth0 public, eth1 home, eth2.10 voip, eth2.20 guest), whose
//!   `rpfilter` chain is `fib saddr . iif oif 0 drop` and whose `ct state vmap` jumps INVALID
//!   packets to a chain that drops them.
//! - firewalld's own test suite: the rpfilter rules `firewall-cmd` makes
//!   (`firewalld/extracted_testsuite_expectations/features__rpfilter.json`).
//! - `netfilter-iptables/extensions/libxt_rpfilter.t`: the `-m rpfilter` rule lines iptables'
//!   test suite loads.
//!
//! The hosts (`tests/fixtures/ufw-router-host`, `tests/fixtures/nft-home-router-host`) were
//! recorded with `ip -j` from network namespaces built with those interface names (veths,
//! peers in a third namespace); their `sysctl.txt`, `ss.txt` and (empty) `conntrack.txt` are
//! written by hand: forwarding on, `rp_filter` 0, `tcp_loose` 1, one listener on 2222.
//!
//! The corpus is data of its own (never copied here): absent, each test says so and skips.
#![allow(clippy::print_stderr)] // the skip message is the point

mod common;
use common::{fixture_host, trace};
use engine::{
    Cause, CtInvalid, Decider, Fate, FibStepResult, RpfCheck, RpfMiss, TcpSegment, Trace,
};
use model::host::table_id;
use model::{Host, Ruleset, SourceFile};
use std::path::PathBuf;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

/// The corpus file, or None after saying loudly that it is absent.
fn corpus(rel: &str) -> Option<String> {
    let path = PathBuf::from(CORPUS).join(rel);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) => {
            eprintln!(
                "SKIP: {} is absent ({e}): a fresh clone has no shared corpus",
                path.display()
            );
            None
        }
    }
}

fn ufw_ruleset() -> Option<Ruleset> {
    let rel = "generated/ufw-in-netns/iptables-save.txt";
    let text = corpus(rel)?;
    Some(
        frontends::iptables_save::parse(&SourceFile::new(rel, text), None)
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

fn nft_ruleset(name: &str, text: String) -> Ruleset {
    frontends::nft::parse_text(&SourceFile::new(name, text)).unwrap_or_else(|e| panic!("{e}"))
}

fn home_router_ruleset() -> Option<Ruleset> {
    let rel = "netfilter-nftables/tests/shell/testcases/nft-f/dumps/sample-ruleset.nft";
    Some(nft_ruleset(rel, corpus(rel)?))
}

fn set_sysctl(host: &mut Host, key: &str, value: &str) {
    host.sysctls.0.insert(key.into(), value.into());
}

/// The deciding rule's text and chain name, for asserting which real rule stopped it.
fn deciding_rule(rs: &Ruleset, t: &Trace) -> (String, String) {
    let Decider::Rule(at) = t.decider else {
        panic!("not decided by a rule: {:?} ({:?})", t.decider, t.fate);
    };
    (
        rs.chain_at(at.chain_ref()).name.clone(),
        rs.rule_at(at).origin.text.to_string(),
    )
}

// ---------------------------------------------------------------------------------------
// rp_filter: the sysctl, nft `fib` (nftables' sample ruleset and firewalld's), `-m rpfilter`.

/// The ufw router with `rp_filter` 1 on lan0: a source that is routed back by wan0 (the
/// default route) arriving on lan0 is lost in routing, before ufw's INPUT sees it.
#[test]
fn rp_filter_sysctl_on_the_ufw_router() {
    let Some(rs) = ufw_ruleset() else { return };
    let mut h = fixture_host("ufw-router-host");
    set_sysctl(&mut h, "net.ipv4.conf.lan0.rp_filter", "1");
    let t = trace(&rs, &h, "tcp 8.8.8.8:40000 192.168.60.1:22 in lan0");
    assert_eq!(t.decider, Decider::Routing, "{:?}", t.fate);
    let Some(Cause::RpFilter {
        check: RpfCheck::Sysctl { mode: 1, sysctl },
        lookup: Some(l),
    }) = t.cause
    else {
        panic!("no rp_filter cause: {:?}", t.cause);
    };
    assert_eq!(sysctl, "net.ipv4.conf.lan0.rp_filter");
    assert_eq!(
        l.miss,
        RpfMiss::OtherInterface {
            via: Some("wan0".into())
        }
    );
    assert!(matches!(
        &l.steps.last().expect("steps").result,
        FibStepResult::Found { table: table_id::MAIN, route }
            if route.dev.as_deref() == Some("wan0") && route.dst.prefix_len() == 0
    ));
    // A neighbour on lan0 passes the check; ufw's `allow 22/tcp` takes it, and the reason
    // is now the port nobody listens on.
    let t = trace(&rs, &h, "tcp 192.168.60.7:40000 192.168.60.1:22 in lan0");
    assert_eq!(t.cause, Some(Cause::NoListener));
    assert_eq!(
        deciding_rule(&rs, &t).1,
        "-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT"
    );
}

/// nftables' sample home router: an NTP query on the home interface (eth1) whose source
/// belongs to the voip subnet (eth2.10) is dropped by `fib saddr . iif oif 0`; the reverse
/// lookup says it would leave by eth2.10. (UDP: a TCP SYN meets `tcp option maxseg` first,
/// which the packet does not tell.)
#[test]
fn fib_rpfilter_rule_of_the_nft_sample_router() {
    let Some(rs) = home_router_ruleset() else {
        return;
    };
    let h = fixture_host("nft-home-router-host");
    let t = trace(&rs, &h, "udp 192.168.2.50:40000 192.168.1.1:123 in eth1");
    assert!(matches!(t.fate, Fate::Dropped), "{:?}", t.fate);
    let (chain, text) = deciding_rule(&rs, &t);
    assert_eq!(chain, "rpfilter");
    assert!(text.starts_with("fib saddr . iif oif 0"), "{text}");
    let Some(Cause::RpFilter {
        check: RpfCheck::Rule { loose: false, .. },
        lookup: Some(l),
    }) = t.cause
    else {
        panic!("no rp_filter cause: {:?}", t.cause);
    };
    assert_eq!(
        (l.iif.as_str(), l.addr.to_string()),
        ("eth1", "192.168.2.50".into())
    );
    assert_eq!(
        l.miss,
        RpfMiss::OtherInterface {
            via: Some("eth2.10".into())
        }
    );
    // The same query from a home address passes the check and `udp dport 123 accept`
    // takes it.
    let t = trace(&rs, &h, "udp 192.168.1.50:40000 192.168.1.1:123 in eth1");
    assert_eq!(t.cause, None);
    assert_eq!(deciding_rule(&rs, &t).0, "home_input");
}

/// The listing of firewalld's strict rpfilter (`IPv6_rpfilter=yes`), as its test suite
/// records it, in the chain firewalld puts it in.
fn firewalld_rpfilter(test: &str) -> Option<String> {
    let rel = "firewalld/extracted_testsuite_expectations/features__rpfilter.json";
    let json: serde_json::Value = serde_json::from_str(&corpus(rel)?).expect("json");
    let block = json["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .find(|b| b["test"] == test && b["args"][1] == "filter_PREROUTING")
        .expect("the recorded filter_PREROUTING listing");
    let listing = block["expected"].as_str().expect("listing");
    let rule = listing
        .lines()
        .map(str::trim)
        .find(|l| l.contains("fib saddr"))
        .expect("the fib rule");
    // firewalld's filter_PREROUTING: `type filter hook prerouting priority filter + 10`
    // (firewalld src/firewall/core/nftables.py, `IPTABLES_TO_NFT_HOOK["filter"]
    // ["PREROUTING"] = ("prerouting", 0 + NFT_HOOK_OFFSET)`, the offset being 10).
    Some(format!(
        "table inet firewalld {{\n chain filter_PREROUTING {{\n  type filter hook prerouting priority filter + 10; policy accept;\n  {rule}\n }}\n}}\n"
    ))
}

/// firewalld's `meta nfproto ipv6 fib saddr . mark . iif check missing drop`: the ufw
/// router's IPv6 default leaves by wan0, so a source from the internet arriving on lan0 is
/// dropped; strict and loose as firewalld writes them.
#[test]
fn firewalld_rpfilter_rules_from_its_test_suite() {
    let Some(strict) = firewalld_rpfilter("rpfilter - strict") else {
        return;
    };
    let h = fixture_host("ufw-router-host");
    let rs = nft_ruleset("firewalld-strict.nft", strict);
    let t = trace(
        &rs,
        &h,
        "tcp [2001:db8:99::5]:40000 [2001:db8:60::1]:22 in lan0",
    );
    let Some(Cause::RpFilter {
        check: RpfCheck::Rule { loose: false, .. },
        lookup: Some(l),
    }) = &t.cause
    else {
        panic!("no rp_filter cause: {:?} ({:?})", t.cause, t.fate);
    };
    assert_eq!(
        l.miss,
        RpfMiss::OtherInterface {
            via: Some("wan0".into())
        }
    );
    // IPv4 is not checked by firewalld's IPv6_rpfilter: through, to the closed port 22.
    let t = trace(&rs, &h, "tcp 8.8.8.8:40000 192.168.60.1:22 in lan0");
    assert_eq!(t.cause, Some(Cause::NoListener), "{:?}", t.fate);
    // Loose: any route back will do, and the default is one.
    let loose = firewalld_rpfilter("rpfilter - loose").expect("same file");
    let rs = nft_ruleset("firewalld-loose.nft", loose);
    let t = trace(
        &rs,
        &h,
        "tcp [2001:db8:99::5]:40000 [2001:db8:60::1]:22 in lan0",
    );
    assert_eq!(t.cause, Some(Cause::NoListener), "{:?}", t.fate);
}

/// `-m rpfilter --invert -j DROP` in mangle PREROUTING, with each rpfilter line of
/// iptables' own test file, on the ufw router: the strict forms drop a lan0 packet routed
/// back by wan0; `--loose` lets it through.
#[test]
fn iptables_rpfilter_lines_from_the_iptables_test_suite() {
    let Some(t_file) = corpus("netfilter-iptables/extensions/libxt_rpfilter.t") else {
        return;
    };
    let h = fixture_host("ufw-router-host");
    let lines: Vec<&str> = t_file
        .lines()
        .filter_map(|l| l.strip_suffix(";=;OK"))
        .filter(|l| l.contains("--invert"))
        .collect();
    assert!(
        !lines.is_empty(),
        "no --invert rpfilter line in the test file"
    );
    for line in lines {
        let save =
            format!("*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING {line} -j DROP\nCOMMIT\n");
        let rs = frontends::iptables_save::parse(&SourceFile::new("rpf.save", save), None)
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        let t = trace(&rs, &h, "tcp 8.8.8.8:40000 192.168.60.1:22 in lan0");
        let loose = line.contains("--loose");
        match &t.cause {
            Some(Cause::RpFilter {
                check: RpfCheck::Rule { loose: false, .. },
                lookup: Some(l),
            }) if !loose => assert_eq!(
                l.miss,
                RpfMiss::OtherInterface {
                    via: Some("wan0".into())
                },
                "{line}"
            ),
            // Through: ufw is not loaded here, so it meets the closed port.
            Some(Cause::NoListener) if loose => {}
            other => panic!("{line}: {other:?} ({:?})", t.fate),
        }
    }
}

// ---------------------------------------------------------------------------------------
// ct_invalid: ufw's `--ctstate INVALID -j DROP`, the sample router's `ct state vmap`.

/// A SYN/ACK for a connection the (empty) table never saw: ufw's before.rules drop it as
/// INVALID, and the reason says it is a SYN/ACK with no entry.
#[test]
fn ct_invalid_by_ufw_before_rules() {
    let Some(rs) = ufw_ruleset() else { return };
    let h = fixture_host("ufw-router-host");
    let t = trace(
        &rs,
        &h,
        "tcp 192.168.60.7:22 192.168.60.1:40000 flags SA in lan0",
    );
    assert_eq!(
        deciding_rule(&rs, &t).1,
        "-A ufw-before-input -m conntrack --ctstate INVALID -j DROP"
    );
    assert_eq!(
        t.cause,
        Some(Cause::CtInvalid {
            why: CtInvalid::NoEntry {
                segment: TcpSegment::SynAck,
                tcp_loose: None
            }
        })
    );
    // An ICMP port unreachable about a flow nobody has.
    let t = trace(
        &rs,
        &h,
        "icmp 192.168.60.7 192.168.60.1 type 3 code 3 in lan0",
    );
    assert_eq!(
        t.cause,
        Some(Cause::CtInvalid {
            why: CtInvalid::IcmpErrorUnknownFlow
        }),
        "{:?}",
        t.fate
    );
}

/// The sample router sends INVALID packets (an RST for no connection) through `ct state vmap { invalid : jump
/// ct_invalid_pre, ... }` to a chain whose rule is a bare `drop`: the state was tested by
/// the jump, and the reason still says why the packet is INVALID.
#[test]
fn ct_invalid_by_a_state_vmap_jump() {
    let Some(rs) = home_router_ruleset() else {
        return;
    };
    let h = fixture_host("nft-home-router-host");
    let t = trace(
        &rs,
        &h,
        "tcp 192.168.1.50:22 192.168.1.1:40000 flags R in eth1",
    );
    assert_eq!(deciding_rule(&rs, &t).0, "ct_invalid_pre");
    assert_eq!(
        t.cause,
        Some(Cause::CtInvalid {
            why: CtInvalid::NoEntry {
                segment: TcpSegment::Rst,
                tcp_loose: None
            }
        })
    );
}

// ---------------------------------------------------------------------------------------
// Routing and the stack on the ufw router.

#[test]
fn martians_on_the_ufw_router() {
    let Some(rs) = ufw_ruleset() else { return };
    let h = fixture_host("ufw-router-host");
    for (spec, want) in [
        (
            "tcp 127.0.0.1:40000 192.168.60.1:22 in lan0",
            Cause::MartianSource { lookup: None },
        ),
        (
            "tcp 192.168.60.7:40000 0.0.0.0:22 in lan0",
            Cause::MartianDestination,
        ),
        (
            "tcp [::1]:40000 [2001:db8:60::1]:22 in lan0",
            Cause::MartianSource { lookup: None },
        ),
    ] {
        let t = trace(&rs, &h, spec);
        assert_eq!(t.decider, Decider::Routing, "{spec}");
        assert_eq!(t.cause, Some(want), "{spec}");
    }
}

#[test]
fn forwarding_fates_on_the_ufw_router() {
    let Some(rs) = ufw_ruleset() else { return };
    let h = fixture_host("ufw-router-host");
    // `ufw route allow in on lan0 out on wan0` forwards it; the reason codes come only
    // when routing stops it.
    let fwd = "tcp 192.168.60.7:40000 198.18.0.1:443 in lan0";
    let t = trace(&rs, &h, fwd);
    assert!(matches!(t.fate, Fate::Forwarded { .. }), "{:?}", t.fate);
    assert_eq!(t.cause, None);
    let t = trace(&rs, &h, &format!("{fwd} ttl 1"));
    assert_eq!(t.cause, Some(Cause::TtlExceeded));
    let t = trace(&rs, &h, "tcp 192.168.60.7:40000 10.66.1.1:443 in lan0");
    assert_eq!(t.cause, Some(Cause::Blackhole));
    let mut off = h.clone();
    set_sysctl(&mut off, "net.ipv4.conf.lan0.forwarding", "0");
    let t = trace(&rs, &off, fwd);
    assert_eq!(
        t.cause,
        Some(Cause::IpForwardOff {
            sysctl: "net.ipv4.conf.lan0.forwarding".into()
        })
    );
    // Without the default route, the internet is unreachable.
    let mut no_default = h.clone();
    no_default.routes.retain(|r| r.dst.prefix_len() != 0);
    let t = trace(&rs, &no_default, fwd);
    assert_eq!(t.cause, Some(Cause::NoRoute));
}

/// `ufw allow 22/tcp` accepts it, but only 2222 listens: the stack refuses.
#[test]
fn no_listener_behind_a_ufw_allow() {
    let Some(rs) = ufw_ruleset() else { return };
    let h = fixture_host("ufw-router-host");
    let t = trace(&rs, &h, "tcp 192.168.60.7:40000 192.168.60.1:22 in lan0");
    assert_eq!(t.cause, Some(Cause::NoListener), "{:?}", t.fate);
    let t = trace(&rs, &h, "tcp 192.168.60.7:40000 192.168.60.1:2222 in lan0");
    assert_eq!(t.cause, None, "{:?}", t.fate);
}

/// The conntrack table is full: the SYN that `ufw allow 22/tcp` would take is dropped by
/// conntrack itself.
#[test]
fn ct_table_full_on_the_ufw_router() {
    let Some(rs) = ufw_ruleset() else { return };
    let mut h = fixture_host("ufw-router-host");
    set_sysctl(&mut h, "net.netfilter.nf_conntrack_count", "262144");
    let t = trace(&rs, &h, "tcp 192.168.60.7:40000 192.168.60.1:22 in lan0");
    assert_eq!(
        (t.decider, t.cause),
        (Decider::Conntrack, Some(Cause::CtTableFull))
    );
}
