//! Real rulesets against the kernel (issue 3 part 9): every iptables-save file of the
//! shared corpus that the kernel accepts is loaded into a test router shaped after it (the
//! interfaces its rules name), packets are derived from its rules ([`super::aim`]) and each
//! is compared with the engine.
//!
//! The corpus is found by content, as the front end's corpus test does ([`is_iptables_save`]).

use super::aim::{self, Topology};
use super::Rng;
pub use frontends::is_iptables_save;
use model::expr::{Key, Pattern, Test};
use model::{Family, RuleRef, Ruleset, SourceFile};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where the shared corpus lives, from this crate.
pub const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

/// Most interfaces built for one ruleset (each is a veth to its own namespace).
pub const MAX_IFACES: usize = 16;

/// Every iptables-save file under `root`, sorted.
pub fn find_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                if depth < 16 {
                    walk(&p, out, depth + 1);
                }
            } else if std::fs::read_to_string(&p).is_ok_and(|t| is_iptables_save(&t)) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out, 0);
    out
}

/// A corpus ruleset made ready for the test host.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub name: String,
    pub source: SourceFile,
    pub family: Family,
    pub ruleset: Ruleset,
    pub topo: Topology,
    /// Interface names renamed (too long for the kernel): (original, used).
    pub renamed: Vec<(String, String)>,
}

fn iface_names(p: &Pattern, out: &mut BTreeMap<String, usize>) {
    match p {
        Pattern::Iface(n) | Pattern::Value(model::expr::Value::Str(n)) => {
            *out.entry(n.clone()).or_default() += 1
        }
        Pattern::OneOf(ps) => ps.iter().for_each(|p| iface_names(p, out)),
        _ => {}
    }
}

/// Parses `text` and shapes a topology after the interfaces its rules name (wildcards
/// `eth+` become `eth0` unless a named interface fits; names longer than 15 bytes are
/// renamed in the text, which is parsed again).
pub fn prepare(name: &str, text: &str) -> Result<Prepared, String> {
    let (family, _) = frontends::iptables_save::guess_family(name, text);
    if !matches!(family, Family::Ip | Family::Ip6) {
        return Err(format!("family {family} is not tested"));
    }
    let parse = |t: &str| {
        let src = SourceFile::new(name.to_string(), t.to_string());
        frontends::iptables_save::parse(&src, Some(family))
            .map(|r| (src, r))
            .map_err(|e| format!("front end: {e}"))
    };
    // Interface names the kernel (and the front end) refuse, longer than 15 bytes, are
    // renamed in the text first.
    let mut text = text.to_string();
    let mut renamed = Vec::new();
    let mut long: Vec<String> = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for w in words.windows(2) {
            if matches!(w[0], "-i" | "-o" | "--in-interface" | "--out-interface") {
                let base = w[1].trim_end_matches('+');
                if base.len() > 14 && !long.iter().any(|l| l == base) {
                    long.push(base.to_string());
                }
            }
        }
    }
    long.sort_by_key(|l| std::cmp::Reverse(l.len()));
    for base in long {
        let used = format!("wbif{}", renamed.len());
        text = text.replace(&base, &used);
        renamed.push((base, used));
    }
    // Anonymised MAC addresses (`XX:XX:XX:XX:XX:XX`) are refused by iptables ("Invalid MAC
    // address specified"): a valid stand-in keeps the ruleset loadable.
    const ANON_MAC: &str = "XX:XX:XX:XX:XX:XX";
    if text.contains(ANON_MAC) {
        text = text.replace(ANON_MAC, "02:58:58:58:58:58");
        renamed.push((ANON_MAC.to_string(), "02:58:58:58:58:58".to_string()));
    }
    let (_, first) = parse(&text)?;
    let mut counts = BTreeMap::new();
    for m in first
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
        .flat_map(|r| r.matches())
    {
        if let Test::Cmp {
            key: Key::IifName | Key::OifName,
            pattern,
        } = &m.test
        {
            iface_names(pattern, &mut counts);
        }
    }
    let mut concrete: BTreeSet<String> = BTreeSet::new();
    let mut wild: BTreeSet<String> = BTreeSet::new();
    let mut by_use: Vec<(String, usize)> = counts.into_iter().collect();
    by_use.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (n, _) in by_use {
        let bad = |s: &str| {
            s.is_empty() || s.len() > 15 || s.contains(['/', ':', ' ']) || s == "." || s == ".."
        };
        let (base, is_wild) = match n.strip_suffix('+') {
            Some(b) => (b.to_string(), true),
            None => (n.clone(), false),
        };
        if base.is_empty() {
            continue; // `+`: any interface
        }
        let mut used = base.clone();
        if bad(&base) || (is_wild && base.len() > 14) {
            used = format!("wbif{}", renamed.len());
            text = text.replace(&base, &used);
            renamed.push((base.clone(), used.clone()));
        }
        if is_wild {
            wild.insert(used);
        } else {
            concrete.insert(used);
        }
    }
    let mut names: Vec<String> = concrete.iter().cloned().collect();
    for w in &wild {
        if !names.iter().any(|n| n.starts_with(w.as_str())) {
            names.push(format!("{w}0"));
        }
    }
    names.retain(|n| n != "lo" && n.len() <= 15);
    names.truncate(MAX_IFACES);
    if names.is_empty() {
        names = vec!["eth0".into(), "eth1".into()];
    } else if names.len() == 1 {
        names.push(if names[0] == "eth1" { "eth0" } else { "eth1" }.into());
    }
    let (source, ruleset) = parse(&text)?;
    Ok(Prepared {
        name: name.to_string(),
        source,
        family,
        ruleset,
        topo: Topology::with_names(&names),
        renamed,
    })
}

/// Up to `max` packets aimed at rules spread evenly over the ruleset.
pub fn packets(p: &Prepared, max: usize, seed: u64) -> Vec<model::Packet> {
    let mut refs = Vec::new();
    for (ti, t) in p.ruleset.tables.iter().enumerate() {
        for (ci, c) in t.chains.iter().enumerate() {
            for ri in 0..c.rules.len() {
                refs.push(RuleRef {
                    table: ti,
                    chain: ci,
                    rule: ri,
                });
            }
        }
    }
    let mut rng = Rng::new(seed);
    let v6 = p.family == Family::Ip6;
    let mut used = BTreeSet::new();
    let mut out = Vec::new();
    if refs.is_empty() {
        for _ in 0..max.min(4) {
            let mut q = aim::random_packet(&p.topo, v6, &mut rng);
            aim::uniquify(&mut q, &mut used, true);
            out.push(q);
        }
        return out;
    }
    let step = (refs.len() as f64 / max as f64).max(1.0);
    let mut x = 0.0;
    while (x as usize) < refs.len() && out.len() < max {
        let at = refs[x as usize];
        let mut q = aim::aim(&p.ruleset, at, &p.topo, v6, &mut rng);
        let free = !aim::rule_fixes_sport(&p.ruleset, at);
        aim::uniquify(&mut q, &mut used, free);
        out.push(q);
        x += step;
    }
    out
}

/// One ruleset's result.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub name: String,
    pub rules: usize,
    pub packets: usize,
    pub agree: usize,
    pub disagree: usize,
    pub unknown: usize,
    /// Why the ruleset was not run (the kernel or the front end refused it), or notes.
    pub note: String,
    /// Rendered disagreements (the first few).
    pub disagreements: Vec<String>,
    /// The kinds of divergence seen (for the table's "known gaps").
    pub gaps: BTreeSet<String>,
}

/// Runs one corpus file: prepare, build a test host, load, send, compare.
#[cfg(target_os = "linux")]
pub fn run_file(path: &Path, max_packets: usize) -> Row {
    use super::lab::{Class, Lab};
    let short = path
        .strip_prefix(Path::new(CORPUS))
        .unwrap_or(path)
        .display()
        .to_string();
    let mut row = Row {
        name: short.clone(),
        ..Row::default()
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        row.note = "unreadable".into();
        return row;
    };
    let prep = match prepare(&short, &text) {
        Ok(p) => p,
        Err(e) => {
            row.note = format!("skipped: {e}");
            return row;
        }
    };
    row.rules = prep.ruleset.rule_count();
    if !prep.renamed.is_empty() {
        row.note = format!(
            "renamed {}",
            prep.renamed
                .iter()
                .map(|(a, b)| format!("{a}->{b}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut lab = match Lab::new(prep.topo.clone()) {
        Ok(l) => l,
        Err(e) => {
            row.note = format!("test host: {e}");
            return row;
        }
    };
    if let Err(e) = lab.load(&[(prep.source.clone(), prep.family)]) {
        row.note = format!(
            "kernel refused: {}",
            e.to_string().lines().next().unwrap_or("")
        );
        return row;
    }
    let pk = packets(&prep, max_packets, 0xc0ffee);
    let cases = match lab.run(&prep.ruleset, &pk) {
        Ok(c) => c,
        Err(e) => {
            row.note = format!("kernel run failed: {e}");
            return row;
        }
    };
    row.packets = cases.len();
    for c in cases {
        match &c.class {
            Class::Agree => row.agree += 1,
            Class::Unknown => row.unknown += 1,
            Class::Disagree | Class::EngineFailed(_) => {
                row.disagree += 1;
                let kind = match (
                    &c.class,
                    c.report.comparison.as_ref().and_then(|x| x.first()),
                ) {
                    (Class::EngineFailed(_), _) => "engine panic".to_string(),
                    (_, Some(analysis::agree::Divergence::Path { .. })) => "path".to_string(),
                    (_, Some(analysis::agree::Divergence::Fate { .. })) => "fate".to_string(),
                    (_, Some(analysis::agree::Divergence::Nat { .. })) => "NAT".to_string(),
                    (_, Some(analysis::agree::Divergence::Conntrack { .. })) => {
                        "conntrack state".to_string()
                    }
                    _ => "other".to_string(),
                };
                row.gaps.insert(kind);
                if row.disagreements.len() < 3 {
                    row.disagreements.push(format!(
                        "{}: {}\n{}",
                        short,
                        super::lab::packet_spec(&c.report.packet),
                        report::verify::render_text(&c.report)
                    ));
                }
            }
        }
    }
    row
}

/// The summary table with rulesets of one directory folded into one line (`N files`);
/// refused rulesets and those with disagreements keep a line of their own.
pub fn markdown_grouped(rows: &[Row]) -> String {
    let mut groups: BTreeMap<String, Row> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows {
        let alone = r.packets == 0 || r.disagree > 0;
        let key = if alone {
            r.name.clone()
        } else {
            match r.name.rsplit_once('/') {
                Some((dir, _)) => format!("{dir}/"),
                None => r.name.clone(),
            }
        };
        let g = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Row {
                name: key.clone(),
                ..Row::default()
            }
        });
        *count.entry(key.clone()).or_default() += 1;
        g.rules += r.rules;
        g.packets += r.packets;
        g.agree += r.agree;
        g.disagree += r.disagree;
        g.unknown += r.unknown;
        g.gaps.extend(r.gaps.iter().cloned());
        if alone && !r.note.is_empty() {
            g.note = r.note.clone();
        }
    }
    let folded: Vec<Row> = order
        .into_iter()
        .map(|k| {
            let mut g = groups.remove(&k).expect("grouped");
            let n = count[&k];
            if n > 1 {
                g.name = format!("{k} ({n} files)");
            }
            g
        })
        .collect();
    let mut s = markdown(&folded);
    // The total line counts rulesets, not lines.
    let run = rows.iter().filter(|x| x.packets > 0).count();
    if let Some(i) = s.rfind("| **total**") {
        let rest = &s[i..];
        let cut = rest.find(')').map_or(0, |j| j + 1);
        let tail = rest[cut..].to_string();
        s.truncate(i);
        s.push_str(&format!(
            "| **total** ({} rulesets, {run} run){tail}",
            rows.len()
        ));
    }
    s
}

/// The summary table in Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut s = String::from(
        "| ruleset | rules | packets | agree | disagree | unknown (skipped) | known gaps / notes |\n|---|---:|---:|---:|---:|---:|---|\n",
    );
    let (mut r, mut p, mut a, mut d, mut u) = (0, 0, 0, 0, 0);
    for row in rows {
        let mut notes: Vec<String> = row.gaps.iter().cloned().collect();
        if !row.note.is_empty() {
            notes.push(row.note.clone());
        }
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            row.name,
            row.rules,
            row.packets,
            row.agree,
            row.disagree,
            row.unknown,
            if notes.is_empty() {
                "—".to_string()
            } else {
                notes.join("; ")
            }
        ));
        r += row.rules;
        p += row.packets;
        a += row.agree;
        d += row.disagree;
        u += row.unknown;
    }
    s.push_str(&format!(
        "| **total** ({} rulesets, {} run) | {r} | {p} | {a} | {d} | {u} | |\n",
        rows.len(),
        rows.iter().filter(|x| x.packets > 0).count()
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_iptables_save() {
        assert!(is_iptables_save(
            "# x\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DROP\nCOMMIT\n"
        ));
        assert!(!is_iptables_save("Chain INPUT (policy ACCEPT)\n"));
        assert!(!is_iptables_save("table inet f {\n}\n"));
    }

    #[test]
    fn long_interface_names_are_renamed() {
        let text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i averyveryverylongname0 -j DROP\n-A FORWARD -i br+ -o eth1 -j ACCEPT\nCOMMIT\n";
        let p = prepare("t.rules", text).unwrap();
        assert_eq!(p.renamed.len(), 1);
        let names: Vec<&str> = p.topo.ifaces.iter().map(|i| i.name.as_str()).collect();
        assert!(names.contains(&"wbif0"), "{names:?}");
        assert!(names.contains(&"br0"), "{names:?}");
        assert!(names.contains(&"eth1"), "{names:?}");
        assert!(!packets(&p, 10, 1).is_empty());
    }
}
