//! The reason of a loss that is not a plain rule: a typed [`Cause`] for every routing, stack
//! and conntrack fate; the reverse lookup of a reverse-path check step by step; why a packet
//! is `ct state invalid`; what the sender sees without host state.
//!
//! The wg-quick host (`tests/fixtures/wg-quick-host`) was recorded with `ip -j` from a
//! network namespace set up with the commands of wg-quick's `add_default`
//! (WireGuard/wireguard-tools, src/wg-quick/linux.bash at 025f004: `ip rule add not fwmark
//! $table table $table`, `ip rule add table main suppress_prefixlength 0`, `ip route add
//! $1 dev $INTERFACE table $table`, with the fwmark table 51820 and `src_valid_mark=1`);
//! `wg0` was a veth there (no wireguard module needed for routing). Its `sysctl.txt` holds
//! only the knobs that matter (rp_filter 1, as many distributions set it).

mod common;
use common::{fixture_host, trace};
use engine::{
    AnswerSource, Cause, CtInvalid, Decider, Errno, Fate, FibStepResult, RoutingFailure, RpfCheck,
    RpfMiss, TcpSegment,
};
use model::host::{table_id, CtEntry, CtTuple};
use model::packet::IpProto;
use model::{Host, Ruleset, SourceFile};

fn nft(text: &str) -> Ruleset {
    frontends::nft::parse_text(&SourceFile::new("t.nft", text)).unwrap_or_else(|e| panic!("{e}"))
}

fn wg_quick_host() -> Host {
    fixture_host("wg-quick-host")
}

fn cause(rs: &Ruleset, host: &Host, spec: &str) -> Option<Cause> {
    trace(rs, host, spec).cause
}

const NO_RULES: &str = "";

/// The kernel's rp_filter on a wg-quick host: a SYN from the internet arriving on eth0 is
/// looked up back through `not fwmark 51820 lookup 51820` (the main table's default is
/// suppressed by `suppress_prefixlength 0`), whose default route leaves by wg0.
#[test]
fn rp_filter_on_a_wg_quick_host_shows_the_reverse_lookup() {
    let host = wg_quick_host();
    let t = trace(
        &nft(NO_RULES),
        &host,
        "tcp 203.0.113.5:40000 192.0.2.10:22 in eth0",
    );
    assert!(matches!(
        t.fate,
        Fate::RoutingFailed {
            reason: RoutingFailure::RpFilter { mode: 1, .. }
        }
    ));
    let Some(Cause::RpFilter {
        check: RpfCheck::Sysctl { mode: 1, .. },
        lookup: Some(l),
    }) = t.cause
    else {
        panic!("no rp_filter cause: {:?}", t.cause);
    };
    assert_eq!(
        (l.iif.as_str(), l.addr.to_string()),
        ("eth0", "203.0.113.5".into())
    );
    let steps: Vec<(u32, &FibStepResult)> =
        l.steps.iter().map(|s| (s.priority, &s.result)).collect();
    assert!(
        matches!(
            steps.as_slice(),
            [
                (0, FibStepResult::NothingInTable { table: table_id::LOCAL }),
                (32764, FibStepResult::Suppressed { table: table_id::MAIN, .. }),
                (32765, FibStepResult::Found { table: 51820, route }),
            ] if route.dev.as_deref() == Some("wg0") && route.dst.prefix_len() == 0
        ),
        "{steps:#?}"
    );
    assert_eq!(
        l.steps[2].rule,
        "32765: not from all fwmark 0xca6c lookup 51820"
    );
    assert_eq!(
        l.miss,
        RpfMiss::OtherInterface {
            via: Some("wg0".into())
        }
    );
    // The same packet marked 51820 (src_valid_mark is on): the wg-quick rule does not
    // match, main's default leads back out of eth0, and the packet is taken in.
    let t = trace(
        &nft(NO_RULES),
        &host,
        "tcp 203.0.113.5:40000 192.0.2.10:22 in eth0 mark 51820",
    );
    assert!(matches!(t.fate, Fate::Delivered { .. }), "{:?}", t.fate);
    assert_eq!(t.cause, None);
}

/// nft's `fib saddr . iif oif missing drop` (firewalld's and many hand-written rpfilter
/// rules) on the same host, IPv6: the reverse lookup finds `::/0 dev wg0`.
#[test]
fn fib_rpfilter_rule_on_a_wg_quick_host_shows_the_reverse_lookup() {
    let host = wg_quick_host();
    let rs = nft("table inet filter {\n chain pre {\n  type filter hook prerouting priority raw; policy accept;\n  fib saddr . iif oif missing drop\n }\n}\n");
    let t = trace(
        &rs,
        &host,
        "tcp [2001:db8:99::5]:40000 [2001:db8:1::10]:22 in eth0",
    );
    assert!(matches!(t.decider, Decider::Rule(_)));
    let Some(Cause::RpFilter {
        check: RpfCheck::Rule { loose: false, .. },
        lookup: Some(l),
    }) = t.cause
    else {
        panic!("no rp_filter cause: {:?}", t.cause);
    };
    let last = l.steps.last().expect("steps");
    assert!(matches!(
        &last.result,
        FibStepResult::Found { table: 51820, route } if route.dst.to_string() == "::/0"
            && route.dev.as_deref() == Some("wg0")
    ));
    // A source routed back by eth0 passes, and the rule does not decide.
    let t = trace(
        &rs,
        &host,
        "tcp [2001:db8:1::7]:40000 [2001:db8:1::10]:22 in eth0",
    );
    assert!(matches!(t.fate, Fate::Delivered { .. }));
    assert_eq!(t.cause, None);
}

/// Without routes the check cannot be made: the branch that takes it as failing says the
/// lookup is unknown rather than inventing one.
#[test]
fn rpfilter_rule_without_routes_has_no_invented_lookup() {
    let rs = nft("table inet filter {\n chain pre {\n  type filter hook prerouting priority raw; policy accept;\n  fib saddr . iif oif missing drop\n }\n}\n");
    let c = cause(
        &rs,
        &Host::default(),
        "tcp 203.0.113.5:40000 192.0.2.10:22 in eth0",
    );
    assert!(
        matches!(c, Some(Cause::RpFilter { lookup: None, .. })),
        "{c:?}"
    );
}

fn ct_invalid_drop() -> Ruleset {
    nft("table inet f {\n chain in {\n  type filter hook input priority 0; policy accept;\n  ct state invalid drop\n }\n}\n")
}

/// A host whose conntrack table was given (and is empty), with `tcp_loose` as given.
fn tracked_host(tcp_loose: &str) -> Host {
    let mut h = Host::default();
    h.known.conntrack = true;
    h.known.sysctls = true;
    h.sysctls.0.insert(
        "net.netfilter.nf_conntrack_tcp_loose".into(),
        tcp_loose.into(),
    );
    h
}

#[test]
fn ct_invalid_says_why() {
    let rs = ct_invalid_drop();
    let h = tracked_host("1");
    let why = |spec: &str, h: &Host| match cause(&rs, h, spec) {
        Some(Cause::CtInvalid { why }) => Some(why),
        _ => None,
    };
    let no_entry = |segment, tcp_loose| Some(CtInvalid::NoEntry { segment, tcp_loose });
    assert_eq!(
        why("tcp 10.0.0.2:80 10.0.0.1:40000 flags SA in eth0", &h),
        no_entry(TcpSegment::SynAck, None)
    );
    assert_eq!(
        why("tcp 10.0.0.2:80 10.0.0.1:40000 flags R in eth0", &h),
        no_entry(TcpSegment::Rst, None)
    );
    // A lone ACK: INVALID only with tcp_loose 0.
    assert_eq!(
        why("tcp 10.0.0.2:80 10.0.0.1:40000 flags A in eth0", &h),
        None
    );
    assert_eq!(
        why(
            "tcp 10.0.0.2:80 10.0.0.1:40000 flags A in eth0",
            &tracked_host("0")
        ),
        no_entry(TcpSegment::Ack, Some(false))
    );
    assert_eq!(
        why("tcp 10.0.0.2:80 10.0.0.1:40000 flags SF in eth0", &h),
        Some(CtInvalid::BadTcpFlags)
    );
    // An echo reply nobody asked for; an ICMP error about a flow the (empty) table lacks.
    assert_eq!(
        why("icmp 10.0.0.2 10.0.0.1 type 0 in eth0", &h),
        Some(CtInvalid::IcmpCannotOpen { icmp_type: 0 })
    );
    assert_eq!(
        why("icmp 10.0.0.2 10.0.0.1 type 3 code 3 in eth0", &h),
        Some(CtInvalid::IcmpErrorUnknownFlow)
    );
    // With an entry, the SYN/ACK is ESTABLISHED: nothing invalid, no cause.
    let mut h = tracked_host("1");
    h.conntrack.push(CtEntry {
        proto: IpProto::Tcp,
        orig: CtTuple {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            sport: 40000,
            dport: 80,
        },
        reply: CtTuple {
            src: "10.0.0.2".parse().unwrap(),
            dst: "10.0.0.1".parse().unwrap(),
            sport: 80,
            dport: 40000,
        },
        tcp_state: Some("SYN_SENT".into()),
        status: 0,
        mark: 0,
        zone: 0,
        timeout: None,
        text: String::new(),
    });
    assert_eq!(
        why("tcp 10.0.0.2:80 10.0.0.1:40000 flags SA in eth0", &h),
        None
    );
}

#[test]
fn ct_state_rule_before_conntrack_reads_invalid() {
    let rs = nft("table inet f {\n chain raw {\n  type filter hook prerouting priority -300; policy accept;\n  ct state invalid drop\n }\n}\n");
    assert_eq!(
        cause(
            &rs,
            &Host::default(),
            "tcp 10.0.0.2:40000 10.0.0.1:22 in eth0"
        ),
        Some(Cause::CtInvalid {
            why: CtInvalid::BeforeConntrack
        })
    );
}

/// The wg-quick host with rp_filter off and IPv4 forwarding as given.
fn small_host(forwarding: &str) -> Host {
    let mut host = wg_quick_host();
    for k in [
        "net.ipv4.conf.all.rp_filter",
        "net.ipv4.conf.eth0.rp_filter",
        "net.ipv4.conf.wg0.rp_filter",
    ] {
        host.sysctls.0.insert(k.into(), "0".into());
    }
    for k in [
        "net.ipv4.conf.eth0.forwarding",
        "net.ipv4.conf.wg0.forwarding",
        "net.ipv4.ip_forward",
        "net.ipv4.conf.all.forwarding",
    ] {
        host.sysctls.0.insert(k.into(), forwarding.into());
    }
    host
}

#[test]
fn routing_and_stack_fates_have_codes() {
    let rs = nft(NO_RULES);
    let off = small_host("0");
    assert!(matches!(
        cause(&rs, &off, "tcp 192.0.2.99:40000 198.51.100.1:22 in eth0"),
        Some(Cause::IpForwardOff { sysctl }) if sysctl == "net.ipv4.conf.eth0.forwarding"
    ));
    let on = small_host("1");
    for (spec, want) in [
        (
            "tcp 192.0.2.99:40000 198.51.100.1:22 in eth0 ttl 1",
            Cause::TtlExceeded,
        ),
        (
            "tcp 127.0.0.1:40000 192.0.2.10:22 in eth0",
            Cause::MartianSource { lookup: None },
        ),
        (
            "tcp 192.0.2.99:40000 0.0.0.0:22 in eth0",
            Cause::MartianDestination,
        ),
        (
            "tcp [::1]:40000 [2001:db8:1::10]:22 in eth0",
            Cause::MartianSource { lookup: None },
        ),
        (
            "tcp [2001:db8:1::99]:40000 [::1]:22 in eth0",
            Cause::MartianDestination,
        ),
    ] {
        assert_eq!(cause(&rs, &on, spec), Some(want), "{spec}");
    }
    // Sockets given, none on the port: the stack refuses.
    let mut listening = on.clone();
    listening.known.sockets = true;
    assert_eq!(
        cause(
            &rs,
            &listening,
            "tcp 192.0.2.99:40000 192.0.2.10:22 in eth0"
        ),
        Some(Cause::NoListener)
    );
    listening
        .sysctls
        .0
        .insert("net.ipv4.icmp_echo_ignore_all".into(), "1".into());
    assert_eq!(
        cause(&rs, &listening, "icmp 192.0.2.99 192.0.2.10 type 8 in eth0"),
        Some(Cause::EchoIgnored {
            sysctl: "net.ipv4.icmp_echo_ignore_all".into()
        })
    );
    // A delivered, forwarded or plainly rule-dropped packet has no cause.
    assert_eq!(
        cause(&rs, &on, "tcp 192.0.2.99:40000 198.51.100.1:22 in eth0"),
        None
    );
    let drop22 = nft("table inet f {\n chain in {\n  type filter hook input priority 0; policy accept;\n  tcp dport 22 drop\n }\n}\n");
    assert_eq!(
        cause(&drop22, &on, "tcp 192.0.2.99:40000 192.0.2.10:22 in eth0"),
        None
    );
}

#[test]
fn local_routing_failures_have_codes() {
    let rs = nft(NO_RULES);
    let mut h = small_host("1");
    // Table 51820 and the suppress rule catch everything; drop the policy rules to get a
    // host whose only routes are eth0's subnet and a blackhole.
    h.rules.clear();
    h.known.policy_rules = false;
    h.routes
        .retain(|r| r.table != 51820 && r.dst.prefix_len() != 0);
    let mut blackhole = h.routes[0].clone();
    blackhole.table = table_id::MAIN;
    blackhole.dst = "203.0.113.0/24".parse().unwrap();
    blackhole.route_type = model::host::RouteType::Blackhole;
    (blackhole.dev, blackhole.gateway, blackhole.prefsrc) = (None, None, None);
    blackhole.text = "blackhole 203.0.113.0/24".into();
    h.routes.push(blackhole);
    assert_eq!(
        cause(&rs, &h, "tcp 192.0.2.10:40000 198.51.100.1:22"),
        Some(Cause::NoRoute)
    );
    assert_eq!(
        cause(&rs, &h, "tcp 192.0.2.10:40000 203.0.113.1:22"),
        Some(Cause::Blackhole)
    );
}

#[test]
fn conntrack_table_full_has_a_code() {
    let mut h = Host::default();
    h.known.sysctls = true;
    for (k, v) in [
        ("net.netfilter.nf_conntrack_max", "10"),
        ("net.netfilter.nf_conntrack_count", "10"),
    ] {
        h.sysctls.0.insert(k.into(), v.into());
    }
    let t = trace(
        &ct_invalid_drop(),
        &h,
        "tcp 10.0.0.2:40000 10.0.0.1:22 in eth0",
    );
    assert_eq!(
        (t.decider, t.cause),
        (Decider::Conntrack, Some(Cause::CtTableFull))
    );
}

/// Part 6: without host state the ICMP error of a forwarded packet comes from "this host's
/// address on the route back", never 0.0.0.0; a UDP send refused in OUTPUT fails the send.
#[test]
fn senders_view_without_host_state() {
    let rs = nft("table inet f {\n chain fwd {\n  type filter hook forward priority 0; policy accept;\n  tcp dport 22 reject with icmpx admin-prohibited\n }\n chain out {\n  type filter hook output priority 0; policy accept;\n  udp dport 53 drop\n }\n}\n");
    let t = trace(
        &rs,
        &Host::default(),
        "tcp 10.1.1.2:1050 10.1.0.2:22 in tap0 out eno1",
    );
    let r = t.sender_sees.response.expect("an ICMP error");
    assert_eq!(
        r.from,
        AnswerSource::RouteBack {
            via: Some("tap0".into())
        }
    );
    let t = trace(&rs, &Host::default(), "udp 10.0.0.1:1050 8.8.8.8:53");
    assert_eq!(
        (t.sender_sees.errno, t.sender_sees.errno_on_send),
        (Some(Errno::Eperm), true)
    );
}

/// `no_helper`: an FTP data connection is RELATED only when the ftp conntrack helper is
/// assigned to its control connection (`nf_conntrack_ftp.c` creates the expectation); without
/// one it is NEW, and a ruleset that accepts RELATED but not NEW loses it. The ground is the
/// control connection's entry in the host's table, or active FTP's source port 20.
mod no_helper {
    use super::*;
    use engine::CtState;
    use model::expr::ct_status::{ASSURED, EXPECTED, SEEN_REPLY};

    /// Accepts the control port and RELATED/ESTABLISHED; drops the rest by policy.
    const RELATED_ONLY: &str = "table inet f {\n chain in {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  tcp dport 21 accept\n }\n}\n";

    fn entry(sport: u16, dport: u16, status: u64, extra: &str) -> CtEntry {
        let (client, server) = ("10.0.0.2", "10.0.0.1");
        CtEntry {
            proto: IpProto::Tcp,
            orig: CtTuple {
                src: client.parse().unwrap(),
                dst: server.parse().unwrap(),
                sport,
                dport,
            },
            reply: CtTuple {
                src: server.parse().unwrap(),
                dst: client.parse().unwrap(),
                sport: dport,
                dport: sport,
            },
            tcp_state: Some("ESTABLISHED".into()),
            status,
            mark: 0,
            zone: 0,
            timeout: Some(431999),
            text: format!(
                "tcp 6 431999 ESTABLISHED src={client} dst={server} sport={sport} dport={dport} \
             src={server} dst={client} sport={dport} dport={sport} [ASSURED] mark=0 use=1{extra}"
            ),
        }
    }

    fn host_with(entries: Vec<CtEntry>) -> Host {
        let mut h = Host::default();
        h.known.conntrack = true;
        h.conntrack = entries;
        h
    }

    /// A passive-mode data connection (client port 40001 to server port 50000).
    const PASSIVE_DATA: &str = "tcp 10.0.0.2:40001 10.0.0.1:50000 in eth0";

    #[test]
    fn passive_data_connection_with_a_helperless_control_entry_is_no_helper() {
        let rs = nft(RELATED_ONLY);
        let control = entry(40000, 21, ASSURED | SEEN_REPLY, "");
        let t = trace(&rs, &host_with(vec![control.clone()]), PASSIVE_DATA);
        assert_eq!(t.fate, Fate::Dropped);
        assert_eq!(t.conntrack.state, Some(CtState::New));
        let Some(Cause::NoHelper {
            helper,
            control: Some(c),
            related_accept,
        }) = t.cause
        else {
            panic!("no no_helper cause: {:?}", t.cause);
        };
        assert_eq!(helper, "ftp");
        assert_eq!(c, control);
        assert_eq!(related_accept.rule, 0);
    }

    #[test]
    fn active_data_connection_from_port_20_without_a_table_entry_is_no_helper() {
        let rs = nft(RELATED_ONLY);
        // Active mode: the server connects from port 20 back to the client.
        let t = trace(
            &rs,
            &host_with(vec![]),
            "tcp 10.0.0.1:20 10.0.0.2:40005 in eth0",
        );
        assert!(
            matches!(
                &t.cause,
                Some(Cause::NoHelper { helper, control: None, .. }) if helper == "ftp"
            ),
            "{:?}",
            t.cause
        );
    }

    /// With the helper on the control connection the kernel may hold an expectation for the
    /// data connection (`conntrack -L expect`, not given): the answer takes it as NEW and says
    /// so, never silently.
    #[test]
    fn a_helper_on_the_control_entry_makes_not_expected_an_assumption() {
        let rs = nft(RELATED_ONLY);
        let control = entry(40000, 21, ASSURED | SEEN_REPLY, " helper=ftp");
        let t = trace(&rs, &host_with(vec![control.clone()]), PASSIVE_DATA);
        assert_eq!(t.conntrack.state, Some(CtState::New));
        assert_eq!(
            t.cause, None,
            "the helper is assigned: no_helper is not the reason"
        );
        assert!(
            t.assumptions.contains(&engine::Assumption::NotExpected {
                helper: "ftp".into(),
                control: control.text.clone(),
            }),
            "{:?}",
            t.assumptions
        );
        // Without the helper: no such assumption (the no_helper reason says why instead).
        let helperless = entry(40000, 21, ASSURED | SEEN_REPLY, "");
        let t = trace(&rs, &host_with(vec![helperless]), PASSIVE_DATA);
        assert!(!t
            .assumptions
            .iter()
            .any(|a| matches!(a, engine::Assumption::NotExpected { .. })));
    }

    #[test]
    fn no_ground_no_helper_reason() {
        let rs = nft(RELATED_ONLY);
        // Neither a control connection between the hosts nor port 20: a plain NEW drop.
        let t = trace(&rs, &host_with(vec![]), PASSIVE_DATA);
        assert_eq!(t.fate, Fate::Dropped);
        assert_eq!(t.cause, None);
        // A control connection between other hosts is no ground either.
        let mut other = entry(40000, 21, ASSURED | SEEN_REPLY, "");
        other.orig.src = "10.0.0.9".parse().unwrap();
        other.reply.dst = other.orig.src;
        assert_eq!(
            trace(&rs, &host_with(vec![other]), PASSIVE_DATA).cause,
            None
        );
    }

    #[test]
    fn no_related_accept_on_the_path_no_helper_reason() {
        // Only NEW to port 21 is accepted: RELATED would be dropped as well.
        let rs = nft("table inet f {\n chain in {\n  type filter hook input priority 0; policy drop;\n  tcp dport 21 accept\n }\n}\n");
        let control = entry(40000, 21, ASSURED | SEEN_REPLY, "");
        let t = trace(&rs, &host_with(vec![control]), PASSIVE_DATA);
        assert_eq!(t.fate, Fate::Dropped);
        assert_eq!(t.cause, None);
        // A drop before the RELATED accept is reached: RELATED would not have helped.
        let rs = nft("table inet f {\n chain in {\n  type filter hook input priority 0; policy accept;\n  tcp dport 50000 drop\n  ct state established,related accept\n  drop\n }\n}\n");
        let control = entry(40000, 21, ASSURED | SEEN_REPLY, "");
        assert_eq!(
            trace(&rs, &host_with(vec![control]), PASSIVE_DATA).cause,
            None
        );
    }

    #[test]
    fn with_the_helper_assigned_it_is_not_no_helper() {
        let rs = nft(RELATED_ONLY);
        // The control entry carries the helper: the kernel expects the data connection.
        let control = entry(40000, 21, ASSURED | SEEN_REPLY, " helper=ftp");
        let t = trace(&rs, &host_with(vec![control.clone()]), PASSIVE_DATA);
        assert_eq!(t.cause, None);
        // Once the expected connection is in the table ([EXPECTED]) it is RELATED and passes.
        let data = entry(40001, 50000, EXPECTED, "");
        let t = trace(&rs, &host_with(vec![control, data]), PASSIVE_DATA);
        assert_eq!(t.conntrack.state, Some(CtState::Related));
        assert!(t.fate.passed(), "{:?}", t.fate);
        // A ruleset that assigns the helper is no ground for saying it is missing.
        let rs = nft("table inet f {\n ct helper ftp-std {\n  type \"ftp\" protocol tcp;\n }\n chain pre {\n  type filter hook prerouting priority 0; policy accept;\n  tcp dport 21 ct helper set \"ftp-std\"\n }\n chain in {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  tcp dport 21 accept\n }\n}\n");
        let control = entry(40000, 21, ASSURED | SEEN_REPLY, "");
        let t = trace(&rs, &host_with(vec![control]), PASSIVE_DATA);
        assert_eq!(t.fate, Fate::Dropped);
        assert!(
            !matches!(t.cause, Some(Cause::NoHelper { .. })),
            "{:?}",
            t.cause
        );
    }
}
