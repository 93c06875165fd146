//! IPFilter's own regression suite (`../shared/corpus/ipfilter/test`) run through
//! `whyblocked ipftest`: every f*, ipv6*, n*, ni* and p* test the suite's `Makefile`
//! lists, driven as its `*_test` scripts drive `ipftest` (options from `test.format`;
//! `f_test`, `n_test`, `ipv6_test` and `ni_test single` feed the rules one line at a
//! time, each with the whole input), compared with `expected/`. The `i*` tests
//! `test.format` runs in `i_test`'s `ipftest` mode are run too: `ipftest -D -r FILE -i
//! /dev/null`, the dump of the rules as loaded.
//!
//! The `.dist` files are prepared as `build_test.pl` prepares them (`NIC0` → `nic0`,
//! `NIC0ADDR` → `192.168.1.188  `, `_` → space), then, when they still hold `CKSUM`
//! placeholders, through [`fillcksum::fill_checksums`] as `cksumfile` runs `fillcksum.pl`.
//!
//! A table of every test, passing or not, is printed (`cargo test -- --nocapture`); the
//! test asserts that at least [`MIN_PASSING`] pass. [`KNOWN_FAILURES`] says why each of
//! the others fails.

#![allow(clippy::print_stderr)] // The SKIP notice and the per-test table are the point.

#[path = "ipftest_suite/fillcksum.rs"]
mod fillcksum;

use std::fs;
use std::path::{Path, PathBuf};

/// The number of tests passing now: a change that breaks one fails this test.
const MIN_PASSING: usize = 104;

/// Why each test that does not pass fails (for the README).
#[rustfmt::skip] // One row a line: helpers edit their own rows.
pub const KNOWN_FAILURES: &[(&str, &str)] = &[
    ("ni5", "the ftp proxy (`ip_ftp_pxy.c`) follows only the control connection's segments without data (`ipf_p_ftp_process`); reading commands and replies (`ipf_p_ftp_client_valid`/`ipf_p_ftp_server_valid`, the `ftp_debug` lines ipftest prints), PORT/EPRT/227/229 rewriting with the sequence shift (`ipf_proxy_fixseqack`) and the data connection's session and state entry (`ipf_p_ftp_addport`) are not modelled: from the first data segment on, Undetermined"),
];

/// The suite's directory, or `None` (with a visible message) when the corpus is absent.
fn suite() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/ipfilter/test");
    if dir.join("Makefile").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: {} is absent (../shared/corpus is not beside this clone)",
            dir.display()
        );
        None
    }
}

/// `build_test.pl`'s substitutions, in its order.
const SUBSTITUTIONS: [(&str, &str); 12] = [
    ("NIC0HEXADDR6", "c0a8 0100 0000 0000 0000 0000 0000 00bc"),
    ("NIC1HEXADDR6", ""),
    ("NIC0HEXADDR", "c0a8 01bc"),
    ("NIC1HEXADDR", ""),
    ("NIC0ADDR6", "c0a8:100::bc"),
    ("NIC1ADDR6", ""),
    ("NIC0ADDR", "192.168.1.188__"),
    ("NIC1ADDR", ""),
    ("NIC0", "nic0"),
    ("NIC1", "nic1"),
    ("NIC2", "nic2"),
    ("NIC3", "nic3"),
];

/// The prepared text of `kind/name` (or `kind/name.dist`), as `build_test.pl`'s
/// `fixfile` makes it.
fn prepared(dir: &Path, kind: &str, name: &str) -> Option<String> {
    let plain = dir.join(kind).join(name);
    if let Ok(text) = fs::read_to_string(&plain) {
        return Some(text);
    }
    let dist = fs::read_to_string(dir.join(kind).join(format!("{name}.dist"))).ok()?;
    let mut out = String::with_capacity(dist.len());
    for line in dist.split_inclusive('\n') {
        let mut line = line.to_string();
        for (from, to) in SUBSTITUTIONS {
            line = line.replace(from, to);
        }
        out.push_str(&line.replace('_', " "));
    }
    if out.contains("CKSUM") {
        out = fillcksum::fill_checksums(&out);
    }
    Some(out)
}

/// A test's runner script and extra word (`ni_test`'s `single`/`multi`).
struct Case {
    name: String,
    script: String,
    mode: Option<String>,
}

/// The tests the Makefile runs with the scripts this suite drives.
fn cases(dir: &Path) -> Vec<Case> {
    let makefile = fs::read_to_string(dir.join("Makefile")).unwrap_or_default();
    let mut cases = Vec::new();
    let mut target: Option<String> = None;
    for line in makefile.lines() {
        if let Some(rest) = line.strip_prefix("$(RESDIR)/") {
            target = rest.split(':').next().map(str::to_string);
            continue;
        }
        let Some(command) = line.trim_start().strip_prefix("@/bin/sh ./") else {
            continue;
        };
        let Some(name) = target.take() else { continue };
        let mut words = command.split_whitespace();
        let script = words.next().unwrap_or_default().to_string();
        let wanted = [
            "f_test",
            "f_m_test",
            "n_test",
            "ni_test",
            "p_test",
            "ipv6_test",
        ];
        let group_ok = ["f", "n", "ni", "p", "ipv6"].iter().any(|g| {
            name.starts_with(g)
                && name[g.len()..].starts_with(|c: char| c.is_ascii_digit() || c == '_')
        });
        let ipftest_dump = script == "i_test"
            && format_of(dir, &name).get(1).map(String::as_str) == Some("ipftest");
        if (wanted.contains(&script.as_str()) && group_ok) || ipftest_dump {
            let mode = words.nth(2).map(str::to_string);
            cases.push(Case { name, script, mode });
        }
    }
    cases
}

/// The words after the name in `test.format`.
fn format_of(dir: &Path, name: &str) -> Vec<String> {
    let text = fs::read_to_string(dir.join("test.format")).unwrap_or_default();
    text.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|w| w.first().map(String::as_str) == Some(name))
        .map(|w| w[1..].to_vec())
        .unwrap_or_default()
}

/// Runs `whyblocked ipftest ARGS`: its output, or its error rendered.
fn ipftest(args: &[String]) -> Result<String, String> {
    let mut argv = vec!["whyblocked".to_string(), "ipftest".to_string()];
    argv.extend(args.iter().cloned());
    let mut out = Vec::new();
    match whyblocked_cli::run_from_args(argv, &mut out) {
        Ok(_) => Ok(String::from_utf8_lossy(&out).into_owned()),
        Err(e) => {
            let mut text = Vec::new();
            let _ = e.render(&mut text);
            Err(String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .to_string())
        }
    }
}

/// Scratch files of one test.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("wb-ipftest-{}-{name}", std::process::id()));
        let _ = fs::create_dir_all(&dir);
        Scratch { dir }
    }
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        fs::write(&path, text).expect("scratch file");
        path.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Options from `test.format` words: `-x` words as they are, tunables as `-T`.
fn options(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for w in words {
        if w.starts_with('-') {
            out.push(w.clone());
        } else {
            out.push("-T".to_string());
            out.push(w.clone());
        }
    }
    out
}

/// `i_test`'s `ipftest` mode: `ipftest -D -r regress/NAME -i /dev/null`.
fn run_dump_case(dir: &Path, name: &str) -> Result<String, String> {
    let rules =
        prepared(dir, "regress", name).ok_or_else(|| format!("regress/{name} is missing"))?;
    let scratch = Scratch::new(name);
    let rules = scratch.file("rules", &rules);
    let empty = scratch.file("input", "");
    ipftest(&["-D".into(), "-r".into(), rules, "-i".into(), empty])
}

/// Runs one test as its script does: the output to compare with `expected/`.
fn run_case(dir: &Path, case: &Case) -> Result<String, String> {
    let name = case.name.as_str();
    if case.script == "i_test" {
        return run_dump_case(dir, name);
    }
    let need = |kind: &str, file: &str| -> Result<String, String> {
        prepared(dir, kind, file).ok_or_else(|| format!("{kind}/{file} is missing"))
    };
    let optional = |kind: &str, file: &str| prepared(dir, kind, file);
    let words = format_of(dir, name);
    let scratch = Scratch::new(name);
    let input = scratch.file("input", &need("input", name)?);
    let out;
    let per_line = |rules: &str, sep: &str, make: &dyn Fn(String) -> Vec<String>| {
        let mut out = String::new();
        for rule in rules.lines() {
            let file = scratch.file("rule", &format!("{rule}\n"));
            out.push_str(&ipftest(&make(file))?);
            out.push_str(sep);
        }
        Ok::<String, String>(out)
    };
    let informat = words.first().cloned().unwrap_or_else(|| "text".into());
    let outformat = words.get(1).cloned().unwrap_or_else(|| "text".into());
    match case.script.as_str() {
        "f_test" => {
            let extra = options(words.get(2..).unwrap_or(&[]));
            out = per_line(&need("regress", name)?, "--------\n", &|file| {
                let mut a = extra.clone();
                a.extend(["-F".into(), informat.clone(), "-R".into(), "-b".into()]);
                a.extend(["-r".into(), file, "-i".into(), input.clone()]);
                a
            })?;
        }
        "f_m_test" => {
            let rules = scratch.file("rules", &need("regress", name)?);
            let mut a = vec!["-F".to_string(), informat];
            a.extend(words.get(2).cloned());
            a.extend([
                "-R".into(),
                "-b".into(),
                "-r".into(),
                rules,
                "-i".into(),
                input,
            ]);
            out = ipftest(&a)? + "--------\n";
        }
        "n_test" => {
            let mut format = if outformat == "hex" {
                vec!["-x".to_string(), "-F".into(), informat]
            } else {
                vec!["-F".to_string(), informat]
            };
            if let Some(w) = words.get(2) {
                let mut front = options(std::slice::from_ref(w));
                front.append(&mut format);
                format = front;
            }
            out = per_line(
                &need("regress", name)?,
                "-------------------------------\n",
                &|file| {
                    let mut a = format.clone();
                    a.extend(["-D".into(), "-R".into(), "-b".into(), "-N".into(), file]);
                    a.extend(["-i".into(), input.clone()]);
                    a
                },
            )?;
        }
        "ni_test" => {
            let mut format = if outformat == "hex" {
                vec!["-x".to_string(), "-F".into(), informat]
            } else {
                vec!["-F".to_string(), informat]
            };
            format.extend(options(words.get(2..).unwrap_or(&[])));
            let ipf = scratch.file("ipf", &need("regress", &format!("{name}.ipf"))?);
            let nat = need("regress", &format!("{name}.nat"))?;
            if case.mode.as_deref() == Some("single") {
                out = per_line(&nat, "-------------------------------\n", &|file| {
                    let mut a = vec!["-R".to_string()];
                    a.extend(format.clone());
                    a.extend(["-b".into(), "-r".into(), ipf.clone(), "-N".into(), file]);
                    a.extend(["-i".into(), input.clone()]);
                    a
                })?;
            } else {
                let natf = scratch.file("nat", &nat);
                let mut a = vec!["-R".to_string()];
                a.extend(format);
                a.extend([
                    "-b".into(),
                    "-r".into(),
                    ipf,
                    "-N".into(),
                    natf,
                    "-i".into(),
                    input,
                ]);
                out = ipftest(&a)? + "-------------------------------\n";
            }
        }
        "p_test" => {
            let pool = dir.join("regress").join(format!("{name}.pool"));
            let ipf = optional("regress", &format!("{name}.ipf"));
            let nat = optional("regress", &format!("{name}.nat"));
            let mut a = vec!["-R".to_string(), "-D".into(), "-b".into()];
            if pool.is_file() && ipf.is_some() {
                a.extend(["-P".into(), pool.display().to_string()]);
                a.extend(["-r".into(), scratch.file("ipf", &ipf.unwrap_or_default())]);
            } else if pool.is_file() && nat.is_some() {
                a.extend(["-P".into(), pool.display().to_string()]);
                a.extend(["-N".into(), scratch.file("nat", &nat.unwrap_or_default())]);
            } else {
                a.extend(["-r".into(), scratch.file("ipf", &ipf.unwrap_or_default())]);
            }
            a.extend(["-i".into(), input]);
            out = ipftest(&a)? + "-------------------------------\n";
        }
        "ipv6_test" => {
            out = per_line(&need("regress", name)?, "--------\n", &|file| {
                vec![
                    "-F".into(),
                    informat.clone(),
                    "-6".into(),
                    "-b".into(),
                    "-r".into(),
                    file,
                    "-i".into(),
                    input.clone(),
                ]
            })?;
        }
        other => return Err(format!("no driver for {other}")),
    }
    Ok(out)
}

/// The first line where `got` differs from `expected`.
fn first_difference(expected: &str, got: &str) -> String {
    let (e, g): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), got.lines().collect());
    for i in 0..e.len().max(g.len()) {
        let (a, b) = (e.get(i).copied(), g.get(i).copied());
        if a != b {
            return format!(
                "line {}: expected {:?}, got {:?}",
                i + 1,
                a.unwrap_or("<end>"),
                b.unwrap_or("<end>")
            );
        }
    }
    "identical".into()
}

/// Failing tests that print a packet differing from IPFilter's without saying
/// `undetermined` for it: confident wrong answers, each with its reason. Kept empty.
const KNOWN_WRONG: &[(&str, &str)] = &[];

/// Whether `line` is a packet ipftest printed (`printpacket`'s `< IF ip …`/`> IF ip …`,
/// or a hex dump line), as opposed to a table listing or a separator.
fn is_packet_line(line: &str) -> bool {
    let hex_word =
        |w: &str| w.len() <= 4 && !w.is_empty() && w.chars().all(|c| c.is_ascii_hexdigit());
    line.starts_with("< ")
        || line.starts_with("> ")
        || line
            .split_whitespace()
            .next()
            .is_some_and(|w| w.len() == 4 && hex_word(w))
            && line.split_whitespace().all(hex_word)
}

/// The packets of `got` that differ from `expected`'s at the same line and do not say
/// `undetermined`: answers given with confidence that are not IPFilter's.
fn confident_differences(expected: &str, got: &str) -> Vec<String> {
    let (e, g): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), got.lines().collect());
    g.iter()
        .enumerate()
        .filter(|&(i, line)| {
            e.get(i) != Some(line) && is_packet_line(line) && !line.contains("undetermined")
        })
        .map(|(i, line)| format!("line {}: {line:?}", i + 1))
        .collect()
}

#[test]
fn ipfilter_regression_suite() {
    let Some(dir) = suite() else { return };
    // The scripts run in the suite's directory: pools name files relative to it.
    std::env::set_current_dir(&dir).expect("the suite's directory");
    let cases = cases(&dir);
    assert!(cases.len() > 90, "the Makefile lists {} tests", cases.len());
    let mut passing = 0;
    let mut wrong = Vec::new();
    let mut table = String::from("IPFilter regression suite through `whyblocked ipftest`:\n");
    for case in &cases {
        let expected = prepared(&dir, "expected", &case.name)
            .ok_or_else(|| format!("expected/{} is missing", case.name));
        let verdict = match (expected, run_case(&dir, case)) {
            (Ok(e), Ok(got)) if e == got => {
                passing += 1;
                "pass".to_string()
            }
            (Ok(e), Ok(got)) => {
                let known = KNOWN_WRONG
                    .iter()
                    .any(|(names, _)| names.split(' ').any(|n| n == case.name));
                let confident = confident_differences(&e, &got);
                if !known && !confident.is_empty() {
                    wrong.push(format!("{}: {}", case.name, confident.join("; ")));
                }
                format!("FAIL {}", first_difference(&e, &got))
            }
            (Err(e), _) | (_, Err(e)) => format!("FAIL {e}"),
        };
        table.push_str(&format!(
            "  {:<8} {:<10} {verdict}\n",
            case.name, case.script
        ));
    }
    table.push_str(&format!("{passing} of {} pass\n", cases.len()));
    eprintln!("{table}");
    assert!(
        wrong.is_empty(),
        "packets differing from IPFilter's without `undetermined`:\n{}",
        wrong.join("\n")
    );
    assert!(
        passing >= MIN_PASSING,
        "{passing} tests pass, fewer than {MIN_PASSING}:\n{table}"
    );
}
