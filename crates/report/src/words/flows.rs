//! Words shared by the evidence commands (`log`, `explain-trace`, `conntrack`): a simulated
//! outcome's headline, a packet with its input interface, malformed input lines.

use super::{fate_headline, packet};
use engine::Outcome;
use frontends::ParseError;
use model::Packet;
use std::io::{self, Write};

/// The width of each column of a table: its widest cell, heading included (in chars).
pub fn column_widths<const N: usize>(head: [&str; N], rows: &[[String; N]]) -> [usize; N] {
    let mut width = head.map(|h| h.chars().count());
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    width
}

/// One table row: each cell padded to its column's width (to the right for the columns
/// in `right`), two spaces apart, the last cell as is; trailing blanks trimmed.
pub fn aligned_row(cells: &[&str], width: &[usize], right: &[usize]) -> String {
    let mut s = String::new();
    for (i, c) in cells.iter().enumerate() {
        if i + 1 == cells.len() {
            s.push_str(c);
        } else if right.contains(&i) {
            s.push_str(&format!("{c:>w$}  ", w = width[i]));
        } else {
            s.push_str(&format!("{c:<w$}  ", w = width[i]));
        }
    }
    s.trim_end().to_string()
}

/// `ACCEPTED`, `DROPPED`... or `UNDECIDED` when branches of unknown matches disagree.
pub fn outcome_headline(o: &Outcome) -> &'static str {
    match o.decided_fate() {
        Some(f) => fate_headline(f),
        None => "UNDECIDED",
    }
}

/// `file:LINE:COL: message` for a malformed line whose error source is the line alone.
pub fn malformed_line(name: &str, line: u64, e: &ParseError) -> String {
    let (_, col) = e.line_col();
    format!("{name}:{line}:{col}: {}", e.kind)
}

/// The count of malformed lines and the first examples, after a blank line; nothing when
/// every line was read.
pub fn write_malformed<W: Write>(
    w: &mut W,
    name: &str,
    count: u64,
    examples: &[(u64, &ParseError)],
) -> io::Result<()> {
    if count == 0 {
        return Ok(());
    }
    writeln!(
        w,
        "\nmalformed lines: {count} (skipped; the first {} shown)",
        examples.len()
    )?;
    for (line, e) in examples {
        writeln!(w, "  {}", malformed_line(name, *line, e))?;
    }
    Ok(())
}

/// The packet as [`packet`] words it, plus ` in IFACE` when it came in somewhere.
pub fn packet_with_iif(p: &Packet) -> String {
    let mut s = packet(p);
    if let Some(i) = &p.iif {
        s.push_str(&format!(" in {i}"));
    }
    s
}
