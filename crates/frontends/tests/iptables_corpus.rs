//! The iptables-save front end against real rulesets and hand-written fixtures.
//!
//! - `fixtures/iptables/valid/*.rules` must parse;
//! - `fixtures/iptables/invalid/*.rules` must fail where their first line says:
//!   `# expect: LINE:COL KIND` (KIND is the `ErrorKind` variant name);
//! - every iptables-save file of the shared corpus (`../shared/corpus`, found by content)
//!   must parse; the test prints what is not understood (undecidable modules, unknown
//!   targets). Without the corpus it prints SKIP and passes.
#![allow(clippy::print_stdout)]

use frontends::iptables_save::{guess_family, parse};
use frontends::is_iptables_save;
use frontends::ErrorKind;
use model::expr::{Action, Test, Undecidable};
use model::ruleset::Step;
use model::SourceFile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/iptables");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

fn files_in(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_in(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn load(path: &Path) -> Option<SourceFile> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(SourceFile::new(path.display().to_string(), text))
}

fn kind_name(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Expected { .. } => "Expected",
        ErrorKind::InvalidValue { .. } => "InvalidValue",
        ErrorKind::Unsupported { .. } => "Unsupported",
        ErrorKind::Undefined { .. } => "Undefined",
        ErrorKind::Structure { .. } => "Structure",
        ErrorKind::Json { .. } => "Json",
    }
}

#[test]
fn valid_fixtures_parse() {
    let mut files = Vec::new();
    files_in(&Path::new(FIXTURES).join("valid"), &mut files);
    assert!(!files.is_empty(), "no valid fixtures");
    for path in files {
        let src = load(&path).expect("fixture is UTF-8");
        let (family, _) = guess_family(&src.name, &src.text);
        if let Err(e) = parse(&src, Some(family)) {
            panic!("{e}");
        }
    }
}

#[test]
fn invalid_fixtures_fail_where_expected() {
    let mut files = Vec::new();
    files_in(&Path::new(FIXTURES).join("invalid"), &mut files);
    assert!(!files.is_empty(), "no invalid fixtures");
    for path in files {
        let src = load(&path).expect("fixture is UTF-8");
        let first = src.text.lines().next().unwrap_or("");
        let expect = first
            .strip_prefix("# expect: ")
            .unwrap_or_else(|| panic!("{}: first line must be `# expect: L:C KIND`", src.name));
        let (at, kind) = expect.split_once(' ').expect("`L:C KIND`");
        let (family, _) = guess_family(&src.name, &src.text);
        let err = match parse(&src, Some(family)) {
            Ok(_) => panic!("{}: parsed, expected {expect}", src.name),
            Err(e) => e,
        };
        let (line, col) = err.line_col();
        assert_eq!(
            format!("{line}:{col} {}", kind_name(&err.kind)),
            format!("{at} {kind}"),
            "{err}"
        );
    }
}

/// Corpus files that are iptables-save shaped but that iptables itself would refuse, with
/// the error they must give (path suffix, `line:col kind`, why).
const KNOWN_INVALID: &[(&str, &str, &str)] = &[(
    "diekmann-Iptables_Semantics/Examples/Parser_Test/data/iptables-save",
    "12:55 Unsupported",
    "a contrived parser test: `--something-else` is no multiport option",
)];

/// Whether every table of the file declares its built-in chains with a policy, as
/// iptables-save always prints them. Files that do not are iptables-restore fragments
/// (ufw's before.rules, loaded with `-n` into chains made elsewhere).
fn declares_builtin_chains(text: &str) -> bool {
    let mut table_ok = true;
    let mut in_table = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('*') {
            if in_table && !table_ok {
                return false;
            }
            in_table = true;
            table_ok = false;
        } else if let Some(chain) = line.strip_prefix(':') {
            table_ok |= matches!(chain.split_whitespace().nth(1), Some("ACCEPT" | "DROP"));
        }
    }
    !in_table || table_ok
}

#[test]
fn corpus_iptables_save_files_parse() {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        println!(
            "SKIP: corpus not found at {} (a fresh clone has no shared/)",
            root.display()
        );
        return;
    }
    let mut files = Vec::new();
    files_in(root, &mut files);
    let mut parsed = 0;
    let mut rules = 0;
    let mut failures = Vec::new();
    let mut fragments = 0;
    let mut known_invalid = 0;
    let mut unsupported: BTreeMap<String, usize> = BTreeMap::new();
    let mut unknown_targets: BTreeMap<String, usize> = BTreeMap::new();
    for path in files {
        let Some(src) = load(&path) else { continue };
        if !is_iptables_save(&src.text) {
            continue;
        }
        let (family, _) = guess_family(&src.name, &src.text);
        match parse(&src, Some(family)) {
            Ok(ruleset) => {
                parsed += 1;
                rules += ruleset.rule_count();
                for rule in ruleset
                    .tables
                    .iter()
                    .flat_map(|t| &t.chains)
                    .flat_map(|c| &c.rules)
                {
                    for step in &rule.body {
                        match step {
                            Step::Match(m) => {
                                if let Test::Undecidable { kind, .. } = &m.test {
                                    let name = match kind {
                                        Undecidable::Unsupported(u) => {
                                            format!("unsupported {}", u.name)
                                        }
                                        other => format!("undecidable {other:?}"),
                                    };
                                    *unsupported.entry(name).or_default() += 1;
                                }
                            }
                            Step::Action(Action::Undecidable(t)) => {
                                *unknown_targets.entry(t.name.clone()).or_default() += 1
                            }
                            Step::Action(_) => {}
                        }
                    }
                }
            }
            Err(e) => {
                let (line, col) = e.line_col();
                let got = format!("{line}:{col} {}", kind_name(&e.kind));
                if let Some((_, want, _)) =
                    KNOWN_INVALID.iter().find(|(p, _, _)| src.name.ends_with(p))
                {
                    assert_eq!(&got, want, "{e}");
                    known_invalid += 1;
                } else if matches!(e.kind, ErrorKind::Undefined { .. })
                    && !declares_builtin_chains(&src.text)
                {
                    // A fragment jumping to chains another file creates.
                    fragments += 1;
                } else {
                    failures.push(format!("{e}\n    {}", src.line_text(line).trim()));
                }
            }
        }
    }
    println!("corpus: {parsed} iptables-save files, {rules} rules parsed");
    println!("  {known_invalid} known-invalid files failed as expected");
    println!("  {fragments} restore fragments refer to chains defined in other files");
    println!("not understood (match kinds, by rule count):");
    for (name, n) in &unsupported {
        println!("  {n:6}  {name}");
    }
    println!("unknown targets:");
    for (name, n) in &unknown_targets {
        println!("  {n:6}  {name}");
    }
    assert!(
        failures.is_empty(),
        "{} corpus files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(parsed > 0);
}

/// The largest ruleset (5,556 rules) must parse fast; timed in release builds only.
#[test]
fn large_ruleset_parses_quickly() {
    let path = Path::new(CORPUS)
        .join("diekmann-net-network/configs_chair_for_Network_Architectures_and_Services/iptables-save-2016-06-27_16-29-01");
    let Some(src) = load(&path) else {
        println!("SKIP: {} not found", path.display());
        return;
    };
    let start = Instant::now();
    let ruleset = parse(&src, None).expect("parses");
    let took = start.elapsed();
    println!("{} rules in {took:?}", ruleset.rule_count());
    assert!(ruleset.rule_count() >= 5556);
    if !cfg!(debug_assertions) {
        assert!(took.as_millis() < 100, "took {took:?}");
    }
}
