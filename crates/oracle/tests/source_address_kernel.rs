//! Source address selection against the kernel (issue 12 part 2): a namespace with veth
//! devices, addresses (deprecated, tentative, temporary ones made by the kernel itself with
//! `mngtmpaddr` + `use_tempaddr`), routes with `src`, policy rules; read back with the
//! project's own readers into a `Host`; then for each destination and binding, what
//! `engine::source::select_source` says against what the kernel does: a UDP socket bound as
//! asked, connected, asked `getsockname` (exactly iputils ping's probe), and
//! `ip -j route get DST [oif DEV]`'s `prefsrc`.
//!
//! Hand-written cases name each rule; a seeded generator of random configurations checks
//! the rest (`WB_SRC_CASES` cases, at least 200 in CI; `WB_SEED` the first seed).
#![allow(clippy::print_stderr)]
mod common;

use engine::source::{
    select_source, Bind, SourceChoice, SourceFailure, SourceNote, SourceReason, V6Rule,
};
use engine::RoutingFailure;
use model::host::Known;
use model::{Host, SourceFile};
use oracle::netns::Netns;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use testgen::Rng;

/// What the kernel did for one socket: the source it got (`None`: 0.0.0.0), or the errno.
type Outcome = Result<Option<IpAddr>, i32>;

/// One namespace for one configuration; deleted on drop.
struct Lab {
    ns: Netns,
}

impl Lab {
    /// A namespace with `devices` veth pairs (`d0`/`d0p`, ...), DAD and RAs off for new
    /// devices, then `per_dev` sysctls, then `script` run by `ip -force -batch`.
    /// Returns the lab and the script's lines the kernel refused.
    fn build(devices: usize, per_dev: &[(String, String)], script: &str) -> (Lab, String) {
        let ns = Netns::standalone("s").expect("namespace");
        let quiet: Vec<(String, String)> = [
            ("net.ipv6.conf.all.accept_dad", "0"),
            ("net.ipv6.conf.default.accept_dad", "0"),
            ("net.ipv6.conf.all.accept_ra", "0"),
            ("net.ipv6.conf.default.accept_ra", "0"),
            ("net.ipv6.conf.default.router_solicitations", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        ns.set_sysctls(&quiet).expect("sysctls");
        let mut links = String::from("link set lo up\n");
        for i in 0..devices {
            let _ = writeln!(links, "link add d{i} type veth peer name d{i}p");
        }
        ns.ip_batch(None, &links).expect("links");
        ns.set_sysctls(per_dev).expect("device sysctls");
        let mut up = String::new();
        for i in 0..devices {
            let _ = writeln!(up, "link set d{i} up\nlink set d{i}p up");
        }
        ns.ip_batch(None, &up).expect("links up");
        let out = netlink::cmd::run(
            "ip",
            &["-n", ns.name(), "-force", "-batch", "-"],
            Some(script.as_bytes()),
            Duration::from_secs(10),
        )
        .expect("ip batch");
        let lab = Lab { ns };
        lab.wait_for_temporaries(script);
        (lab, out.stderr)
    }

    fn ip(&self, args: &[&str]) -> netlink::cmd::Output {
        let mut full = vec!["-n", self.ns.name()];
        full.extend_from_slice(args);
        netlink::cmd::run("ip", &full, None, Duration::from_secs(5)).expect("ip")
    }

    /// `mngtmpaddr` on a device with `use_tempaddr > 0`: the kernel makes temporary
    /// addresses; wait (bounded) until there are as many as such addresses, or give up.
    fn wait_for_temporaries(&self, script: &str) {
        let want = script.matches("mngtmpaddr").count();
        if want == 0 {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            let out = self.ip(&["-j", "addr"]).stdout;
            if out.matches("\"temporary\":true").count() >= want {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The namespace as the project's readers see it.
    fn host(&self) -> Host {
        let read = |args: &[&str]| {
            let out = self.ip(args);
            assert!(out.success, "ip {args:?}: {}", out.stderr);
            SourceFile::new(format!("ip {}", args.join(" ")), out.stdout)
        };
        use frontends::host::iproute::{parse_addrs, parse_routes, parse_rules};
        let mut host = Host {
            interfaces: parse_addrs(&read(&["-j", "addr"])).expect("addrs"),
            ..Host::default()
        };
        host.routes = parse_routes(&read(&["-4", "-j", "route", "show", "table", "all"]), false)
            .expect("routes");
        host.routes.extend(
            parse_routes(&read(&["-6", "-j", "route", "show", "table", "all"]), true)
                .expect("routes6"),
        );
        host.rules = parse_rules(&read(&["-4", "-j", "rule"]), false).expect("rules");
        host.rules
            .extend(parse_rules(&read(&["-6", "-j", "rule"]), true).expect("rules6"));
        let sysctl = self
            .ns
            .exec("sysctl", &["-a"], None)
            .unwrap_or_default();
        host.sysctls = frontends::host::sysctl::parse(&SourceFile::new("sysctl -a", sysctl))
            .expect("sysctls");
        host.known = Known {
            addresses: true,
            routes: true,
            policy_rules: true,
            sysctls: true,
            ..Known::default()
        };
        host
    }

    /// A UDP socket bound as `bind` says, connected to `dst`: the source it got.
    fn socket(&self, dst: IpAddr, bind: &Bind) -> Outcome {
        let bind = bind.clone();
        netlink::sys::in_netns(self.ns.name(), move || Ok(probe(dst, &bind)))
            .expect("enter namespace")
    }

    /// `ip -j route get DST [oif DEV]`: its `prefsrc`, or the error it printed.
    fn route_get(&self, dst: IpAddr, bind: &Bind) -> Result<Option<IpAddr>, String> {
        let d = dst.to_string();
        let mut args = vec!["-j", "route", "get", d.as_str()];
        if let Bind::Device(dev) = bind {
            args.extend(["oif", dev.as_str()]);
        }
        let out = self.ip(&args);
        if !out.success {
            return Err(out.stderr.trim().to_string());
        }
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("route get json");
        Ok(v[0]["prefsrc"].as_str().and_then(|s| s.parse().ok()))
    }
}

/// The socket probe, run inside the namespace's thread: bind as asked, connect, read the
/// local address back.
fn probe(dst: IpAddr, bind: &Bind) -> Outcome {
    let errno = |e: std::io::Error| e.raw_os_error().unwrap_or(-1);
    let local = match bind {
        Bind::Address(a) => SocketAddr::new(*a, 0),
        _ if dst.is_ipv6() => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
        _ => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
    };
    let socket = UdpSocket::bind(local).map_err(errno)?;
    if let Bind::Device(dev) = bind {
        netlink::sys::bind_to_device(&socket, dev).map_err(errno)?;
    }
    socket.connect(SocketAddr::new(dst, 1025)).map_err(errno)?;
    let addr = socket.local_addr().map_err(errno)?.ip();
    Ok((!addr.is_unspecified()).then_some(addr))
}

/// What the model says a socket gets: the address, or the errno it fails with (`None`
/// for a failure the model does not pin to one errno).
fn expected(choice: &SourceChoice, v6: bool) -> Result<Option<IpAddr>, Option<i32>> {
    match &choice.reason {
        SourceReason::Failed(f) => Err(Some(match f {
            SourceFailure::AddressNotAvailable(_) => libc::EADDRNOTAVAIL,
            SourceFailure::NoSuchDevice(_) => libc::ENODEV,
            SourceFailure::DeviceDown(_) => libc::ENETUNREACH,
            SourceFailure::NeedsDevice => libc::EINVAL,
            SourceFailure::Route(RoutingFailure::NoRoute) => libc::ENETUNREACH,
            SourceFailure::Route(RoutingFailure::Unreachable) => libc::EHOSTUNREACH,
            SourceFailure::Route(RoutingFailure::Prohibit) => libc::EACCES,
            SourceFailure::Route(RoutingFailure::Blackhole) => libc::EINVAL,
            SourceFailure::Route(_) => return Err(None),
        })),
        SourceReason::NoAddress if v6 => Err(Some(libc::EADDRNOTAVAIL)),
        _ => Ok(choice.addr),
    }
}

/// Model against the kernel for one destination and binding; `Some(description)` when
/// they disagree.
fn compare(lab: &Lab, host: &Host, dst: IpAddr, bind: &Bind) -> Option<String> {
    let choice = select_source(host, dst, bind);
    let kernel = lab.socket(dst, bind);
    let want = expected(&choice, dst.is_ipv6());
    let agree = match (&want, &kernel) {
        (Ok(a), Ok(b)) => a == b,
        (Err(Some(e)), Err(k)) => e == k,
        (Err(None), Err(_)) => true,
        _ => false,
    };
    let mut problem = (!agree).then(|| {
        format!("socket: kernel {kernel:?}, model {want:?} ({:?})", choice.reason)
    });
    // `ip route get` answers for an unbound lookup (or one by device): its prefsrc is the
    // source a socket gets, unless the destination needs a device it was not given.
    let comparable = !matches!(bind, Bind::Address(_))
        && !matches!(choice.reason, SourceReason::Failed(SourceFailure::NeedsDevice));
    if comparable && problem.is_none() {
        if let (Ok(Some(a)), Ok(prefsrc)) = (&kernel, lab.route_get(dst, bind)) {
            if prefsrc != Some(*a) {
                problem = Some(format!(
                    "ip route get: prefsrc {prefsrc:?}, socket and model {a}"
                ));
            }
        }
    }
    problem.map(|p| format!("to {dst} bound {bind:?}: {p}; notes {:?}", choice.notes))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn dev(s: &str) -> Bind {
    Bind::Device(s.to_string())
}

/// Builds `script` on `devices` veth pairs and checks each `(dst, bind, want)`: the model
/// agrees with the kernel, and the kernel's answer is `want` (so each case shows the rule
/// it is named for). Returns the choices for further checks.
fn case(
    name: &str,
    devices: usize,
    per_dev: &[(&str, &str)],
    script: &str,
    checks: &[(&str, Bind, Outcome)],
) -> Vec<SourceChoice> {
    let per_dev: Vec<(String, String)> = per_dev
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (lab, refused) = Lab::build(devices, &per_dev, script);
    assert!(refused.trim().is_empty(), "{name}: setup refused: {refused}");
    let host = lab.host();
    let mut out = Vec::new();
    for (dst, bind, want) in checks {
        let dst = ip(dst);
        if let Some(p) = compare(&lab, &host, dst, bind) {
            panic!("{name}: {p}");
        }
        let kernel = lab.socket(dst, bind);
        assert_eq!(&kernel, want, "{name}: the kernel's answer to {dst} {bind:?}");
        out.push(select_source(&host, dst, bind));
    }
    out
}

fn some(s: &str) -> Outcome {
    Ok(Some(ip(s)))
}

#[test]
fn ipv4_rules_agree_with_the_kernel() {
    if !common::kernel_tests_enabled("ipv4_rules_agree_with_the_kernel") {
        return;
    }
    // prefsrc wins; a secondary address is never chosen; a link route takes the first
    // primary address (not the one in the destination's subnet); a gateway route takes
    // the one in the gateway's subnet; scope link addresses only for link routes.
    let script = "addr add 10.0.0.1/24 dev d0
addr add 10.0.0.2/24 dev d0
addr add 192.168.9.1/24 dev d0
addr add 10.0.5.1/24 dev d1
addr add 169.254.7.7/16 dev d1 scope link
route add 172.16.0.0/16 dev d0
route add 203.0.113.0/24 via 192.168.9.254
route add 198.51.100.0/24 via 10.0.5.254 src 10.0.0.2
route add 198.51.200.0/24 dev d1 scope link
route add 198.51.201.0/24 via 10.0.5.254 dev d1
route add unreachable 10.99.0.0/16
route add local 10.77.0.0/16 dev lo
";
    let choices = case(
        "ipv4",
        3,
        &[],
        script,
        &[
            ("10.0.0.9", Bind::None, some("10.0.0.1")),
            ("172.16.3.3", Bind::None, some("10.0.0.1")),
            ("203.0.113.5", Bind::None, some("192.168.9.1")),
            ("198.51.100.5", Bind::None, some("10.0.0.2")),
            // The kernel lists a link-scope primary before global ones (`ip addr` shows
            // it first): a scope link route takes it.
            ("198.51.200.5", Bind::None, some("169.254.7.7")),
            ("198.51.201.5", Bind::None, some("10.0.5.1")),
            // A secondary address's local route has the primary as `src`.
            ("10.0.0.2", Bind::None, some("10.0.0.1")),
            // An AnyIP local route without `src`: the destination itself.
            ("10.77.1.1", Bind::None, some("10.77.1.1")),
            ("10.99.1.1", Bind::None, Err(libc::EHOSTUNREACH)),
            ("8.8.8.8", Bind::None, Err(libc::ENETUNREACH)),
            ("10.0.0.9", Bind::Address(ip("10.0.0.2")), some("10.0.0.2")),
            (
                "10.0.0.9",
                Bind::Address(ip("10.7.7.7")),
                Err(libc::EADDRNOTAVAIL),
            ),
            // Bound to d1, no route by d1: on-link from d1 anyway, even past the
            // unreachable route, with link scope (so the link-scope address).
            ("8.8.8.8", dev("d1"), some("169.254.7.7")),
            ("10.99.1.1", dev("d1"), some("169.254.7.7")),
            ("10.0.0.9", dev("d1"), some("169.254.7.7")),
            // d2 has no IPv4 address: the first primary global address of any device
            // (ping warns "source address might be selected on device other than: d2").
            ("10.0.0.9", dev("d2"), some("10.0.0.1")),
            ("10.0.0.9", dev("nosuch"), Err(libc::ENODEV)),
        ],
    );
    assert_eq!(choices[0].reason, SourceReason::RoutePrefsrc);
    assert!(matches!(
        choices[1].reason,
        SourceReason::V4Device {
            gateway_subnet: None,
            ..
        }
    ));
    assert!(matches!(
        choices[2].reason,
        SourceReason::V4Device {
            gateway_subnet: Some(_),
            ..
        }
    ));
    assert_eq!(choices[6].reason, SourceReason::RoutePrefsrc);
    assert_eq!(choices[7].reason, SourceReason::LocalDestination);
    assert_eq!(choices[7].oif.as_deref(), Some("lo"));
    assert!(choices[12]
        .notes
        .iter()
        .any(|n| matches!(n, SourceNote::OnLinkAssumed { .. })));
    assert!(choices[15]
        .notes
        .contains(&SourceNote::PingOtherDeviceWarning { dev: "d2".into() }));
    assert!(!choices[14]
        .notes
        .iter()
        .any(|n| matches!(n, SourceNote::PingOtherDeviceWarning { .. })));
}

/// The address the model chose for check `i`, and the rule that decided it.
fn v6_rule(c: &SourceChoice) -> Option<V6Rule> {
    match c.reason {
        SourceReason::V6Rule { rule, .. } => Some(rule),
        _ => None,
    }
}

#[test]
fn ipv6_rules_agree_with_the_kernel() {
    if !common::kernel_tests_enabled("ipv6_rules_agree_with_the_kernel") {
        return;
    }
    let per_dev = [
        ("net.ipv6.conf.d0.use_tempaddr", "2"),
        ("net.ipv6.conf.d1.use_tempaddr", "1"),
        ("net.ipv6.conf.d4.accept_dad", "1"),
        ("net.ipv6.conf.d4.dad_transmits", "200"),
        ("net.ipv6.conf.d5.use_oif_addrs_only", "1"),
    ];
    let script = "addr add 2001:db8:1::5/64 dev d0 mngtmpaddr
addr add 2001:db8:3::6/64 dev d0
addr add 2001:db8:13::5/64 dev d5 preferred_lft 0
addr add 2001:db8:7::1/64 dev d5
addr add 2001:db8:2::5/64 dev d1 mngtmpaddr
addr add 2001:db8:4::1/64 dev d2
addr add 2001:db8:5::1/64 dev d2
addr add fd00:4::1/64 dev d2
addr add 2001:db8:6::1/64 dev d4
route add 2001:db8:4:1::/64 dev d2
route add fd00:9::/64 dev d2
route add 2001:db8:9::/48 dev d3
route add 2001:db8:8::/48 dev d0 src 2001:db8:1::5
route add 2001:db8:66::/48 dev d4
";
    let checks: Vec<(&str, Bind, Outcome)> = vec![
        // 0: use_tempaddr=2 on d0: the kernel's own temporary address (random: checked
        // below to be the temporary one).
        ("2001:db8:1::99", Bind::None, Ok(None)),
        // 1: use_tempaddr=1 on d1: temporary addresses exist, the public one is used.
        ("2001:db8:2::99", Bind::None, some("2001:db8:2::5")),
        // 2: use_tempaddr=2 beats the longest prefix: not 2001:db8:3::6 in the
        // destination's own subnet, but d0's temporary address of another prefix.
        ("2001:db8:3::99", Bind::None, Ok(None)),
        // 3: longest matching prefix among d2's addresses.
        ("2001:db8:4:1::9", Bind::None, some("2001:db8:4::1")),
        // 4: the label of fd00::/7 (5) matches only the ULA source.
        ("fd00:9::9", Bind::None, some("fd00:4::1")),
        // 5: the route's src.
        ("2001:db8:8::1", Bind::None, some("2001:db8:1::5")),
        // 6: a link-local destination on d0: d0's link-local address (scope).
        ("fe80::99", dev("d0"), Ok(None)),
        // 7: a link-local destination without a device.
        ("fe80::99", Bind::None, Err(libc::EINVAL)),
        // 8: -I d3, which has only a link-local address: a global address of another
        // device wins on scope (ping warns).
        ("2001:db8:9::1", dev("d3"), Ok(None)),
        // 9: bound to an address the host does not have.
        (
            "2001:db8:3::99",
            Bind::Address(ip("2001:db8:77::1")),
            Err(libc::EADDRNOTAVAIL),
        ),
        // 10: bound to a tentative address (DAD still running on d4).
        (
            "2001:db8:66::1",
            Bind::Address(ip("2001:db8:6::1")),
            Err(libc::EADDRNOTAVAIL),
        ),
        // 11: the tentative address is no candidate even on its own route's device.
        ("2001:db8:66::1", Bind::None, Ok(None)),
        // 12: bound to d0, no route by d0 for it: IPv6 does not assume on-link.
        ("2001:db8:9::1", dev("d0"), Err(libc::ENETUNREACH)),
        // 13: only d5's addresses (use_oif_addrs_only): the deprecated one in the
        // destination's subnet is avoided.
        ("2001:db8:13::99", Bind::None, some("2001:db8:7::1")),
    ];
    let per_dev: Vec<(String, String)> = per_dev
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (lab, refused) = Lab::build(6, &per_dev, script);
    assert!(refused.trim().is_empty(), "setup refused: {refused}");
    let host = lab.host();
    let mut choices = Vec::new();
    for (dst, bind, want) in &checks {
        let dst = ip(dst);
        if let Some(p) = compare(&lab, &host, dst, bind) {
            panic!("ipv6: {p}");
        }
        let kernel = lab.socket(dst, bind);
        if *want != Ok(None) {
            assert_eq!(&kernel, want, "the kernel's answer to {dst} {bind:?}");
        }
        choices.push(select_source(&host, dst, bind));
    }
    let owner = |a: Option<IpAddr>| {
        let a = a.expect("an address");
        host.interfaces
            .iter()
            .flat_map(|i| i.addrs.iter().map(move |x| (i.name.as_str(), x)))
            .find(|(_, x)| x.addr == a)
            .expect("one of the host's")
    };
    let (_, temp) = owner(choices[0].addr);
    assert!(temp.temporary, "use_tempaddr=2 prefers the temporary address");
    assert_eq!(
        v6_rule(&choices[0]),
        Some(V6Rule::Privacy {
            prefer_temporary: true
        })
    );
    assert!(host.interfaces[..]
        .iter()
        .any(|i| i.addrs.iter().any(|a| a.temporary && a.network().contains(&ip("2001:db8:2::1")))),
        "use_tempaddr=1 makes temporary addresses too");
    assert_eq!(
        v6_rule(&choices[1]),
        Some(V6Rule::Privacy {
            prefer_temporary: false
        })
    );
    let (_, temp3) = owner(choices[2].addr);
    assert!(temp3.temporary && !temp3.network().contains(&ip("2001:db8:3::99")));
    assert_eq!(v6_rule(&choices[13]), Some(V6Rule::AvoidDeprecated));
    assert_eq!(v6_rule(&choices[3]), Some(V6Rule::LongestPrefix));
    assert_eq!(v6_rule(&choices[4]), Some(V6Rule::Label));
    assert!(choices[4].notes.contains(&SourceNote::DefaultAddressLabels));
    assert_eq!(choices[5].reason, SourceReason::RoutePrefsrc);
    let (dev6, ll) = owner(choices[6].addr);
    assert_eq!((dev6, ll.scope), ("d0", model::host::Scope::Link));
    let (dev8, _) = owner(choices[8].addr);
    assert_ne!(dev8, "d3");
    // d3's link-local address loses on scope; the global ones of d0 and d1 tie on every
    // rule after it, and the first listed is kept.
    assert_eq!(v6_rule(&choices[8]), Some(V6Rule::ListOrder));
    assert!(choices[8]
        .notes
        .contains(&SourceNote::PingOtherDeviceWarning { dev: "d3".into() }));
    assert_ne!(choices[11].addr, Some(ip("2001:db8:6::1")));
    // What iputils ping itself says for case 8 (its probe is the socket above).
    let ping = lab.ns.exec("ping", &["-c", "1", "-W", "1", "-I", "d3", "2001:db8:9::1"], None);
    let text = match ping {
        Ok(out) => out,
        Err(oracle::LiveError::Command { stderr, .. }) => stderr,
        Err(e) => panic!("ping: {e}"),
    };
    assert!(
        text.contains("Warning: source address might be selected on device other than: d3"),
        "ping -I d3 said: {text}"
    );
}
