//! `whyblocked ipftest` as a user runs it: ipftest's words, its packet lines, its errors.

use std::fs;
use std::path::PathBuf;

fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wb-ipftest-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    for (file, text) in files {
        fs::write(dir.join(file), text).expect("scratch file");
    }
    dir
}

fn run(args: &[&str]) -> Result<String, String> {
    let mut argv = vec!["whyblocked".to_string(), "ipftest".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let mut out = Vec::new();
    match whyblocked_cli::run_from_args(argv, &mut out) {
        Ok(_) => Ok(String::from_utf8_lossy(&out).into_owned()),
        Err(e) => {
            let mut text = Vec::new();
            e.render(&mut text).expect("render");
            Err(String::from_utf8_lossy(&text).into_owned())
        }
    }
}

#[test]
fn verdicts_and_packets_print_as_ipftest_prints_them() {
    let dir = scratch(
        "verdicts",
        &[
            (
                "ipf.conf",
                "block in all\npass in quick on em0 proto tcp from any to any port = 22 flags S keep state\nblock return-rst in proto tcp from any to any port = 23\n",
            ),
            (
                "packets",
                "in on em0 tcp 192.0.2.1,50000 192.0.2.2,22 S\nin on em0 tcp 192.0.2.1,50001 192.0.2.2,23 S\nin on em0 udp 192.0.2.1,53 192.0.2.2,53\nout on em0 tcp 192.0.2.2,22 192.0.2.1,50000 SA\n",
            ),
        ],
    );
    let rules = dir.join("ipf.conf").display().to_string();
    let input = dir.join("packets").display().to_string();
    let brief = run(&["-r", &rules, "-i", &input, "-b"]).expect("runs");
    // The reply leaves by the state entry the first packet made.
    assert_eq!(brief, "pass\nblock return-rst\nblock\npass\n");
    let long = run(&["-r", &rules, "-i", &input]).expect("runs");
    insta::assert_snapshot!(long);
}

#[test]
fn a_rules_file_that_does_not_parse_is_shown_with_its_line() {
    let dir = scratch(
        "bad",
        &[
            ("ipf.conf", "pass in al\n"),
            ("packets", "in 1.1.1.1 2.2.2.2\n"),
        ],
    );
    let rules = dir.join("ipf.conf").display().to_string();
    let input = dir.join("packets").display().to_string();
    let err = run(&["-r", &rules, "-i", &input]).expect_err("refused");
    assert!(err.contains("ipf.conf:1:"), "{err}");
}

#[test]
fn without_rules_it_says_so() {
    let err = run(&["-i", "/dev/null"]).expect_err("refused");
    assert!(err.contains("no rules loaded"), "{err}");
}
