//! A counter diff ([`analysis::counters::Diff`]) as text or JSON.

use analysis::counters::{Change, Diff, Row};
use std::io::{self, Write};

fn place(r: &Row) -> String {
    let fam = r.family.map(|f| format!("{f} ")).unwrap_or_default();
    let at = match r.index {
        Some(i) => format!("#{}", i + 1),
        None => "policy".to_string(),
    };
    format!("{fam}{}/{} {at}", r.table, r.chain)
}

/// One line per row whose counters moved, in path order, then a summary line.
pub fn render_text<W: Write>(w: &mut W, d: &Diff, before: &str, after: &str) -> io::Result<()> {
    let about = if d.approx { "~" } else { "" };
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
    /// The rules and policies whose counters changed, most packets first.
    pub deltas: Vec<DeltaJson<'a>>,
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
    let v = CountersJson {
        schema_version: SCHEMA_VERSION,
        before,
        after,
        compared: d.compared,
        deltas,
    };
    serde_json::to_writer_pretty(&mut *w, &v).map_err(io::Error::other)?;
    writeln!(w)
}
