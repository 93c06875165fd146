//! Shared by the kernel-backed tests: the root check (a loud skip, or a failure in CI) and
//! small builders.
#![allow(dead_code, clippy::print_stderr)]

use model::{Family, Packet, Ruleset, SourceFile, TcpFlags, L4};

/// Whether kernel-backed tests can run. Not root: prints a loud SKIP and returns false,
/// except under `CI=true`, where not being root is a failure.
pub fn kernel_tests_enabled(test: &str) -> bool {
    if live::is_root() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: kernel-backed test needs root, and CI=true forbids skipping");
    }
    eprintln!("SKIP (not root): {test} needs root (network namespaces, netfilter tracing)");
    false
}

pub fn iptables(name: &str, text: &str) -> (SourceFile, Ruleset) {
    let src = SourceFile::new(name, text);
    let rs = frontends::iptables_save::parse(&src, Some(Family::Ip)).expect("test ruleset parses");
    (src, rs)
}

pub fn tcp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    flags: &str,
    iif: Option<&str>,
    oif: Option<&str>,
) -> Packet {
    let mut p = Packet::new(
        src.parse().unwrap(),
        dst.parse().unwrap(),
        L4::Tcp {
            sport,
            dport,
            flags: TcpFlags::from_letters(flags).unwrap(),
        },
    );
    p.iif = iif.map(str::to_string);
    p.oif = oif.map(str::to_string);
    p
}

pub fn udp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    iif: Option<&str>,
    oif: Option<&str>,
) -> Packet {
    let mut p = Packet::new(
        src.parse().unwrap(),
        dst.parse().unwrap(),
        L4::Udp { sport, dport },
    );
    p.iif = iif.map(str::to_string);
    p.oif = oif.map(str::to_string);
    p
}

/// No `wb*` namespace of this process remains.
pub fn assert_no_namespaces_of_this_process() {
    let me = std::process::id();
    let left: Vec<String> = live::netns::list_ours()
        .into_iter()
        .filter(|n| live::netns::creator_pid(n) == Some(me))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}
