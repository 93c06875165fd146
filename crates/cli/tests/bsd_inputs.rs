//! The main command's BSD inputs: what each `--rules` file was read as, and the mixes and
//! options that make no sense refused with a clear error (exit status 2), never answered.

use std::path::PathBuf;
use std::process::Command;

const FIXTURES: &str = "crates/cli/tests/fixtures/bsd";

/// `whyblocked ARGS` from the repository root: exit status, stdout, stderr.
fn whyblocked(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(args)
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env("NO_COLOR", "1")
        .output()
        .expect("the whyblocked binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The error of `args`: exit status 2, one message on stderr, nothing on stdout.
fn error(args: &[&str]) -> String {
    let (code, stdout, stderr) = whyblocked(args);
    assert_eq!(code, 2, "{args:?}: stdout {stdout} stderr {stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    stderr
}

const PACKET: [&str; 5] = ["tcp", "127.0.0.1:40000", "127.0.0.1:22", "in", "lo0"];

fn with_packet<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(PACKET);
    v
}

#[test]
fn pf_with_ipfilter_files_is_refused() {
    let e = error(&with_packet(&[
        "--rules",
        "crates/cli/tests/fixtures/bsd/story2/pf.conf",
        "--rules",
        "crates/cli/tests/fixtures/bsd/story2/ipnat.rules",
    ]));
    assert!(e.contains("story2/pf.conf is pf's pf.conf and"), "{e}");
    assert!(e.contains("story2/ipnat.rules is IPFilter's"), "{e}");
}

#[test]
fn linux_rules_with_bsd_rules_are_refused() {
    let e = error(&with_packet(&[
        "--rules",
        "examples/ufw-router/iptables-save.txt",
        "--rules",
        "crates/cli/tests/fixtures/bsd/story7/pf.conf",
    ]));
    assert!(
        e.contains("iptables-save.txt is not IPFilter's or pf's"),
        "{e}"
    );
}

#[test]
fn os_names_a_bsd_platform_for_bsd_rules_only() {
    let e = error(&with_packet(&[
        "--rules",
        "examples/ufw-router/iptables-save.txt",
        "--os",
        "openbsd",
    ]));
    assert!(
        e.contains("--os names the platform of IPFilter or pf rules"),
        "{e}"
    );
    let e = error(&with_packet(&[
        "--rules",
        "crates/cli/tests/fixtures/bsd/story7/pf.conf",
        "--os",
        "beos",
    ]));
    assert!(
        e.contains("--os beos: not a platform whyblocked knows; one of solaris10-pfil"),
        "{e}"
    );
    let e = error(&with_packet(&[
        "--rules",
        "crates/cli/tests/fixtures/bsd/story7/pf.conf",
        "--os",
        "netbsd",
    ]));
    assert!(
        e.contains("--os netbsd: that system does not run pf (it runs ipf)"),
        "{e}"
    );
}

#[test]
fn rules_valid_in_both_filters_need_the_platform_or_the_format() {
    let dir = std::env::temp_dir().join(format!("wb-bsd-inputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("rules");
    std::fs::write(
        &rules,
        "block return-rst in quick on lo0 proto tcp from any to any port = 22\n",
    )
    .unwrap();
    let rules = rules.to_str().unwrap().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec!["--json", "--rules", rules.as_str()];
        args.extend_from_slice(extra);
        args.extend(PACKET);
        whyblocked(&args)
    };
    let (code, _, e) = run(&[]);
    assert_eq!(code, 2);
    assert!(
        e.contains("its rules read the same in IPFilter's ipf.conf and pf's pf.conf"),
        "{e}"
    );
    assert!(e.contains("(line 1: block return-rst"), "{e}");
    assert!(
        e.contains("say which with --format ipf or --format pf, or name a platform"),
        "{e}"
    );
    let (code, _, e) = run(&["--os", "freebsd"]);
    assert_eq!(code, 2);
    assert!(e.contains("(the platform runs both)"), "{e}");
    // OpenBSD runs pf only; illumos IPFilter only (which, without `set
    // intercept_loopback true;`, does not see the loopback); --format says it outright.
    for (extra, filter, exit, headline) in [
        (&["--os", "openbsd"][..], "pf", 1, "REJECTED"),
        (&["--os", "illumos"][..], "ipf", 0, "DELIVERED"),
        (
            &["--format", "pf", "--os", "freebsd"][..],
            "pf",
            1,
            "REJECTED",
        ),
    ] {
        let (code, stdout, e) = run(extra);
        assert_eq!(code, exit, "{extra:?}: {e}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["filter"], filter, "{extra:?}");
        assert_eq!(v["headline"], headline, "{extra:?}: {v:#}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn linux_only_options_are_refused_by_name() {
    let e = error(&with_packet(&[
        "--rules",
        "crates/cli/tests/fixtures/bsd/story7/pf.conf",
        "--assume",
        "4=match",
    ]));
    assert!(e.contains("--assume is for Linux rulesets"), "{e}");
}

#[test]
fn without_os_the_filters_usual_platform_is_assumed_and_said() {
    let (code, stdout, _) = whyblocked(&[
        "--json",
        "--rules",
        &format!("{FIXTURES}/story7/pf.conf"),
        "tcp",
        "127.0.0.1:40000",
        "127.0.0.1:22",
        "in",
        "lo0",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["os"], "openbsd");
    assert_eq!(v["os_assumed"], true);
    assert_eq!(v["assumptions"][0]["code"], "os_assumed");
}

#[test]
fn a_bad_rule_is_shown_with_its_line_and_a_caret() {
    let dir = std::env::temp_dir().join(format!("wb-bsd-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("pf.conf");
    std::fs::write(
        &rules,
        "pass\nblock return-rst in quick on lo0 proto tcp from any to any port 22 frobnicate\n",
    )
    .unwrap();
    let rules = rules.to_str().unwrap().to_string();
    let e = error(&with_packet(&["--rules", &rules, "--os", "openbsd"]));
    assert!(e.contains("pf.conf:2:68"), "{e}");
    assert!(e.contains("^^^^^^^^^^ expected a rule option"), "{e}");
    // The host directory must hold what a BSD host's admin can list.
    let e = error(&with_packet(&[
        "--rules",
        "crates/cli/tests/fixtures/bsd/story7/pf.conf",
        "--host",
        "crates/cli/tests/fixtures/bsd/story7",
    ]));
    assert!(
        e.contains("no ifconfig.txt (`ifconfig -a` output) or netstat.txt"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_the_main_command_reads_bsd_rules() {
    let mut args = vec![
        "verify",
        "--rules",
        "crates/cli/tests/fixtures/bsd/story7/pf.conf",
    ];
    args.extend(PACKET);
    let e = error(&args);
    assert!(
        e.contains("story7/pf.conf is IPFilter's or pf's: only the main command"),
        "{e}"
    );
}

/// Story 1's pf router (em0, em1, lo0 in its ifconfig.txt) and `packet`.
fn story1_router(packet: &str) -> Vec<&str> {
    let mut args = vec![
        "--rules",
        "crates/cli/tests/fixtures/bsd/story1/pf.conf",
        "--host",
        "crates/cli/tests/fixtures/bsd/story1/host-freebsd",
        "--os",
        "freebsd",
    ];
    args.extend(packet.split_whitespace());
    args
}

#[test]
fn an_interface_the_host_does_not_have_is_refused_naming_those_it_has() {
    let e = error(&story1_router("tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0"));
    assert!(
        e.contains("in tap0: the host (ifconfig.txt) has no interface tap0; it has em0, em1, lo0"),
        "{e}"
    );
    let e = error(&story1_router(
        "tcp 10.1.1.2:1050 10.1.0.2:2175 in em0 out em2",
    ));
    assert!(
        e.contains("out em2: the host (ifconfig.txt) has no interface em2"),
        "{e}"
    );
    // The interfaces it has are answered.
    let (code, stdout, _) = whyblocked(&story1_router("tcp 10.1.1.2:1050 10.1.0.2:2175 in em0"));
    assert_eq!(code, 1, "{stdout}");
}
