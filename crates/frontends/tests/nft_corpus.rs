//! The nft front ends against real rulesets of the shared corpus (`../shared/corpus`):
//! - every `nft list ruleset` dump of nftables' own test suite parses, and so does every
//!   `nft -j` twin; each text/JSON pair lowers to the same IR (origins aside);
//! - the large benchmark listings (`bench/*.listed.nft`, `.listed.json`) parse, with timings;
//! - the listing of a real ufw ruleset parses;
//! - rules read from JSON are shown as nft lists them: the printed text of each JSON rule is
//!   compared with the listed text of its twin (ratio and first mismatches printed).
//!
//! Counts, undecidable names and any twin difference (with its reason) are printed. Without
//! the corpus the tests print SKIP and pass.

// The test reports its counts and timings on stdout (`--nocapture`).
#![allow(clippy::print_stdout)]

use frontends::nft::{parse_json, parse_text};
use model::expr::{Action, Test, Unmodelled};
use model::ruleset::Step;
use model::{Ruleset, SourceFile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nft");

fn corpus() -> Option<PathBuf> {
    let p = Path::new(CORPUS);
    if p.is_dir() {
        Some(p.to_path_buf())
    } else {
        println!("SKIP: corpus not found at {CORPUS} (a fresh clone has no shared/)");
        None
    }
}

fn load(path: &Path) -> SourceFile {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    SourceFile::new(path.display().to_string(), text)
}

/// The lowered IR without provenance: what must agree between text and JSON.
fn normalised(rs: &Ruleset) -> String {
    let mut out = String::new();
    for t in &rs.tables {
        out += &format!("table {} {}\n", t.family, t.name);
        for c in &t.chains {
            out += &format!("  chain {} {:?}\n", c.name, c.base);
            for r in &c.rules {
                let body: Vec<Step> = r
                    .body
                    .iter()
                    .map(|s| match s {
                        Step::Match(m) => {
                            let mut m = m.clone();
                            if let Test::Undecidable { text, .. } = &mut m.test {
                                text.clear();
                            }
                            Step::Match(m)
                        }
                        Step::Action(Action::Undecidable(u)) => {
                            Step::Action(Action::Undecidable(Unmodelled {
                                name: String::new(),
                                ..u.clone()
                            }))
                        }
                        other => other.clone(),
                    })
                    .collect();
                out += &format!("    {body:?} comment={:?}\n", r.origin.comment);
            }
        }
        for s in &t.sets {
            out += &format!(
                "  set {} width {} dynamic {} {:?}\n",
                s.name, s.key_width, s.dynamic, s.elements
            );
        }
    }
    out
}

/// Names of undecidable matches and actions, counted.
fn tally(rs: &Ruleset, names: &mut BTreeMap<String, usize>) {
    for r in rs
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
    {
        for s in &r.body {
            let name = match s {
                Step::Match(m) => match &m.test {
                    Test::Undecidable { kind, .. } => format!("match: {kind}"),
                    _ => continue,
                },
                Step::Action(Action::Undecidable(u)) => {
                    format!("action: {}", u.name.split_whitespace().next().unwrap_or(""))
                }
                _ => continue,
            };
            *names.entry(name).or_default() += 1;
        }
    }
}

/// Each rule's shown text, whitespace normalised, once per source rule (a verdict map
/// lowers to several model rules sharing one origin).
fn rule_texts(rs: &Ruleset) -> Vec<String> {
    let mut out: Vec<(u32, String)> = Vec::new();
    for r in rs
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
    {
        let key = (r.origin.span.start, r.origin.text.to_string());
        if out.last() != Some(&key) {
            out.push(key);
        }
    }
    out.into_iter()
        .map(|(_, t)| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Counts JSON rules whose printed text equals the text twin's listing; keeps mismatches.
fn compare_texts(
    text: &Ruleset,
    json: &Ruleset,
    what: &str,
    counts: &mut (usize, usize),
    mismatches: &mut Vec<String>,
) {
    let (a, b) = (rule_texts(text), rule_texts(json));
    if a.len() != b.len() {
        mismatches.push(format!(
            "{what}: {} text rules, {} JSON rules",
            a.len(),
            b.len()
        ));
    }
    for (x, y) in a.iter().zip(&b) {
        counts.1 += 1;
        if x == y {
            counts.0 += 1;
        } else {
            mismatches.push(format!("{what}\n    listed:  {x}\n    printed: {y}"));
        }
    }
}

fn ratio(counts: (usize, usize)) -> f64 {
    counts.0 as f64 / counts.1.max(1) as f64
}

/// The share of JSON rules of the corpus twins that must print exactly as listed.
const PRINTED_FLOOR: f64 = 0.95;
const MISMATCHES_SHOWN: usize = 8;

/// Twin pairs whose difference is understood, with the reason.
const EXPLAINED: &[(&str, &str)] = &[];

#[test]
fn corpus_nft_dumps_and_json_twins() {
    let Some(root) = corpus() else { return };
    let dir = root.join("netfilter-nftables/tests/shell/testcases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("dumps"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut dumps = Vec::new();
    for d in files {
        if let Ok(rd) = std::fs::read_dir(&d) {
            dumps.extend(rd.filter_map(|e| e.ok()).map(|e| e.path()));
        }
    }
    dumps.sort();
    let mut failures = Vec::new();
    let (mut texts, mut jsons, mut rules, mut pairs, mut differing) = (0, 0, 0, 0, 0);
    let mut names = BTreeMap::new();
    let mut warnings = 0;
    let (mut printed, mut mismatches) = ((0, 0), Vec::new());
    for path in &dumps {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "nft" {
            continue;
        }
        texts += 1;
        let text = match parse_text(&load(path)) {
            Ok(rs) => rs,
            Err(e) => {
                failures.push(format!("{e}"));
                continue;
            }
        };
        rules += text.rule_count();
        tally(&text, &mut names);
        let twin = path.with_extension("json-nft");
        if !twin.exists() {
            continue;
        }
        jsons += 1;
        let (json, w) = match parse_json(&load(&twin)) {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{e}"));
                continue;
            }
        };
        warnings += w.len();
        for w in w {
            println!("warning: {}: {w:?}", twin.display());
        }
        pairs += 1;
        let rel = path
            .strip_prefix(&dir)
            .unwrap_or(path)
            .display()
            .to_string();
        compare_texts(&text, &json, &rel, &mut printed, &mut mismatches);
        let (a, b) = (normalised(&text), normalised(&json));
        if a != b {
            let rel = path
                .strip_prefix(&dir)
                .unwrap_or(path)
                .display()
                .to_string();
            let reason = EXPLAINED
                .iter()
                .find(|(f, _)| rel.ends_with(f))
                .map(|(_, r)| *r);
            differing += 1;
            match reason {
                Some(r) => println!("DIFFERS (explained) {rel}: {r}"),
                None => {
                    let first = a.lines().zip(b.lines()).find(|(x, y)| x != y);
                    failures.push(format!(
                        "twins differ: {rel}\n  text: {:?}\n  json: {:?}",
                        first.map(|f| f.0),
                        first.map(|f| f.1)
                    ));
                }
            }
        }
    }
    // JSON files without a text twin parse too.
    for path in dumps.iter().filter(|p| {
        p.extension().is_some_and(|e| e == "json-nft") && !p.with_extension("nft").exists()
    }) {
        jsons += 1;
        if let Err(e) = parse_json(&load(path)) {
            failures.push(format!("{e}"));
        }
    }
    println!("nft corpus: {texts} text dumps, {jsons} JSON dumps, {rules} model rules; {pairs} twin pairs compared, {differing} differ; {warnings} JSON warnings");
    println!(
        "JSON rules printed as listed: {}/{} ({:.1}%); first mismatches:",
        printed.0,
        printed.1,
        100.0 * ratio(printed)
    );
    for m in mismatches.iter().take(MISMATCHES_SHOWN) {
        println!("  {m}");
    }
    println!("undecidable / unsupported in the corpus:");
    for (n, c) in &names {
        println!("  {c:5}  {n}");
    }
    assert!(
        ratio(printed) >= PRINTED_FLOOR,
        "only {}/{} JSON rules print as listed",
        printed.0,
        printed.1
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_bench_listings_parse() {
    let Some(root) = corpus() else { return };
    for stem in [
        "tum-iptables-save-2016-06-27",
        "tum-ip6tables-save-2016-06-27",
    ] {
        let text = load(&root.join(format!("bench/{stem}.listed.nft")));
        let json = load(&root.join(format!("bench/{stem}.listed.json")));
        let t0 = Instant::now();
        let a = parse_text(&text).unwrap_or_else(|e| panic!("{e}"));
        let t1 = Instant::now();
        let (b, w) = parse_json(&json).unwrap_or_else(|e| panic!("{e}"));
        let t2 = Instant::now();
        println!(
            "{stem}: text {} rules in {:?}, JSON {} rules in {:?} ({} warnings; debug builds are slower, see `cargo test --release`)",
            a.rule_count(),
            t1 - t0,
            b.rule_count(),
            t2 - t1,
            w.len()
        );
        assert!(a.rule_count() > 5000);
        let (mut printed, mut mismatches) = ((0, 0), Vec::new());
        compare_texts(&a, &b, stem, &mut printed, &mut mismatches);
        println!(
            "{stem}: JSON rules printed as listed: {}/{} ({:.1}%)",
            printed.0,
            printed.1,
            100.0 * ratio(printed)
        );
        for m in mismatches.iter().take(5) {
            println!("  {m}");
        }
        assert!(ratio(printed) >= PRINTED_FLOOR, "{stem}: {mismatches:?}");
        assert_eq!(
            normalised(&a),
            normalised(&b),
            "{stem}: text and JSON differ"
        );
    }
}

#[test]
fn corpus_ufw_listing_parses() {
    let Some(root) = corpus() else { return };
    let rs = parse_text(&load(
        &root.join("generated/ufw-in-netns/nft-list-ruleset.txt"),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    println!(
        "ufw listing: {} tables, {} rules",
        rs.tables.len(),
        rs.rule_count()
    );
    assert!(rs.rule_count() > 100);
}

#[test]
fn fixtures_parse() {
    let dir = Path::new(FIXTURES);
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let p = e.path();
        match p.extension().and_then(|x| x.to_str()) {
            Some("nft") => {
                parse_text(&load(&p)).unwrap_or_else(|e| panic!("{e}"));
            }
            Some("json") => {
                parse_json(&load(&p)).unwrap_or_else(|e| panic!("{e}"));
            }
            _ => {}
        }
    }
}

/// Each rule of the story 2 JSON is shown as nft lists it (the `-a` listing of the same
/// ruleset, without its `# handle N` comments).
#[test]
fn story2_json_rules_print_as_listed() {
    let dir = Path::new(FIXTURES);
    let listed =
        parse_text(&load(&dir.join("story2.listed-a.nft"))).unwrap_or_else(|e| panic!("{e}"));
    let (json, _) = parse_json(&load(&dir.join("story2.json"))).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (rule_texts(&listed), rule_texts(&json));
    assert_eq!(a.len(), 4);
    assert_eq!(a, b);
    assert!(b.contains(&"ip daddr . tcp dport @allow_in accept".to_string()));
}
