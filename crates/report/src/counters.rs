//! A counter diff ([`analysis::counters::Diff`]) as text or JSON.

use analysis::counters::{Change, Diff, Format, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

fn place(r: &Row) -> String {
    let fam = r.family.map(|f| format!("{f} ")).unwrap_or_default();
    let at = match r.index {
        Some(i) => format!("#{}", i + 1),
        None => "policy".to_string(),
    };
    format!("{fam}{}/{} {at}", r.table, r.chain)
}

/// How a listing's format is named, with its article.
fn format_words(f: Format) -> &'static str {
    match f {
        Format::IptablesSave => "an iptables-save file",
        Format::IptablesList => "an `iptables -L` listing",
        Format::NftText => "an nft listing",
        Format::NftJson => "an nft JSON listing",
    }
}

fn formats_words(fs: &BTreeSet<Format>) -> String {
    let names: Vec<&str> = fs.iter().map(|f| format_words(*f)).collect();
    match names.as_slice() {
        [] => "empty".to_string(),
        _ => names.join(" and "),
    }
}

/// The notes on what could not be compared: listings of different formats (paired by
/// place, not by text) and rules listed without counters.
fn notes(d: &Diff, before: &str, after: &str) -> Vec<String> {
    let mut out = Vec::new();
    if d.formats_differ() {
        let (b, a) = &d.formats;
        out.push(format!(
            "note: {before} is {} and {after} is {}: the same rule reads differently in each, so rules were paired by table, chain and position ({} rules), not by their text",
            formats_words(b),
            formats_words(a),
            d.paired_by_position
        ));
    }
    let (ub, ua) = &d.uncounted;
    for (name, uncounted) in [(before, ub), (after, ua)] {
        for (format, n) in uncounted {
            let (what, hint) = match format {
                Format::NftText | Format::NftJson => {
                    ("nft", "nft counts only rules with a `counter` statement")
                }
                _ => (
                    "iptables",
                    "saved without counters? save with `iptables-save -c`",
                ),
            };
            let note = format!(
                "note: {n} {what} rules of {name} have no counters and were not compared ({hint})"
            );
            // The same file on both sides says it once.
            if !out.contains(&note) {
                out.push(note);
            }
        }
    }
    let uncounted = ub.values().chain(ua.values()).sum::<usize>();
    if uncounted > 0 && d.compared_rules == 0 {
        out.push(
            "note: no rule had counters on both sides: only chain policies were compared".into(),
        );
    }
    out
}

/// One line per row whose counters moved, in path order, then a summary line.
pub fn render_text<W: Write>(w: &mut W, d: &Diff, before: &str, after: &str) -> io::Result<()> {
    let about = if d.approx { "~" } else { "" };
    for n in notes(d, before, after) {
        writeln!(w, "{n}")?;
    }
    if d.deltas.is_empty() {
        writeln!(
            w,
            "no counter moved between {before} and {after} ({} rules and policies compared)",
            d.compared
        )?;
        return Ok(());
    }
    writeln!(
        w,
        "counters that moved between {before} and {after}, in path order:"
    )?;
    for x in &d.deltas {
        let r = &x.row;
        let delta = match &x.change {
            Change::Moved { packets, bytes } => {
                format!("+{about}{packets} pkts +{about}{bytes} bytes")
            }
            Change::New => format!("new: {} pkts {} bytes", r.packets, r.bytes),
            Change::Removed => "removed".to_string(),
            Change::Reset => format!("reset (now {} pkts {} bytes)", r.packets, r.bytes),
        };
        writeln!(w, "  {:<32} {:<28} {}:{}", place(r), delta, r.file, r.line)?;
        writeln!(w, "      {}", r.text)?;
    }
    if d.approx {
        writeln!(
            w,
            "(~: the listings rounded their counts (no -x): deltas are approximate)"
        )?;
    }
    Ok(())
}

/// A rule or policy whose counters changed.
#[derive(serde::Serialize)]
pub struct DeltaJson<'a> {
    /// The table's family, when the listing names it (nft).
    pub family: Option<String>,
    /// The table's name.
    pub table: &'a str,
    /// The chain's name.
    pub chain: &'a str,
    /// 1-based rule number; null for the chain's policy.
    pub rule: Option<usize>,
    /// The rule as written.
    pub text: &'a str,
    /// The file it was read from.
    pub file: &'a str,
    /// Its line there.
    pub line: u32,
    /// `moved`, `new`, `removed` or `reset`.
    pub change: &'static str,
    /// Packets: the delta for `moved`, else the row's own count.
    pub packets: u64,
    /// Bytes: the delta for `moved`, else the row's own count.
    pub bytes: u64,
    /// Rounded counts (`iptables -L` without `-x`).
    pub approx: bool,
}

/// The JSON document of `whyblocked counters`.
#[derive(serde::Serialize)]
pub struct CountersJson<'a> {
    /// Version of this document's schema ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The earlier snapshot or listing, as named on the command line.
    pub before: &'a str,
    /// The later one.
    pub after: &'a str,
    /// How many rules and policies were compared.
    pub compared: usize,
    /// Of which rules (the rest are chain policies).
    pub compared_rules: usize,
    /// The formats each side was read in (`iptables-save`, `iptables-list`, `nft`,
    /// `nft-json`).
    pub formats: SidesJson<Vec<&'static str>>,
    /// Whether the two sides' formats differ: rules were then paired by place.
    pub formats_differ: bool,
    /// Rules of different formats paired by table, chain and position, not by text.
    pub paired_by_position: usize,
    /// Rules listed without counters on each side, by format: not compared.
    pub uncounted: SidesJson<BTreeMap<&'static str, usize>>,
    /// The rules and policies whose counters changed, in path order.
    pub deltas: Vec<DeltaJson<'a>>,
}

/// One value for each listing.
#[derive(serde::Serialize)]
pub struct SidesJson<T> {
    /// For BEFORE.
    pub before: T,
    /// For AFTER.
    pub after: T,
}

/// A format's name in the JSON document.
fn format_key(f: Format) -> &'static str {
    match f {
        Format::IptablesSave => "iptables-save",
        Format::IptablesList => "iptables-list",
        Format::NftText => "nft",
        Format::NftJson => "nft-json",
    }
}

/// Version of the counters JSON schema.
pub const SCHEMA_VERSION: u32 = 1;

/// `{"schema_version", "before", "after", "compared", "deltas": [...]}`; for `moved`,
/// packets/bytes are the deltas, otherwise the row's own counts.
pub fn render_json<W: Write>(w: &mut W, d: &Diff, before: &str, after: &str) -> io::Result<()> {
    let deltas: Vec<DeltaJson> = d
        .deltas
        .iter()
        .map(|x| {
            let r = &x.row;
            let (change, packets, bytes) = match &x.change {
                Change::Moved { packets, bytes } => ("moved", *packets, *bytes),
                Change::New => ("new", r.packets, r.bytes),
                Change::Removed => ("removed", r.packets, r.bytes),
                Change::Reset => ("reset", r.packets, r.bytes),
            };
            DeltaJson {
                family: r.family.map(|f| f.to_string()),
                table: &r.table,
                chain: &r.chain,
                rule: r.index.map(|i| i + 1),
                text: &r.text,
                file: &r.file,
                line: r.line,
                change,
                packets,
                bytes,
                approx: r.approx,
            }
        })
        .collect();
    let names = |fs: &BTreeSet<Format>| fs.iter().map(|f| format_key(*f)).collect();
    let keyed = |m: &BTreeMap<Format, usize>| m.iter().map(|(f, n)| (format_key(*f), *n)).collect();
    let v = CountersJson {
        schema_version: SCHEMA_VERSION,
        before,
        after,
        compared: d.compared,
        compared_rules: d.compared_rules,
        formats: SidesJson {
            before: names(&d.formats.0),
            after: names(&d.formats.1),
        },
        formats_differ: d.formats_differ(),
        paired_by_position: d.paired_by_position,
        uncounted: SidesJson {
            before: keyed(&d.uncounted.0),
            after: keyed(&d.uncounted.1),
        },
        deltas,
    };
    serde_json::to_writer_pretty(&mut *w, &v).map_err(io::Error::other)?;
    writeln!(w)
}
