//! A table (pf) or pool (IPFilter) entry as a fix: a pass rule of the blocking pass that
//! did not match, naming a table in the file (`to <allow_in>`, `to pool/100`), may match
//! once the packet's address is in it. The entry is written into the table's declaration
//! in the file (`table <allow_in> { … }` in pf.conf, `table role = ipf … { … };` in
//! ippool.conf) and proved like any fix, by walking again.

use engine::bsd::{Filter, PassResult, Step};
use model::{Packet, SourceFile};
use std::net::IpAddr;

/// One candidate entry, written into its file.
pub(super) struct Entry {
    /// The table (`allow_in`) or pool (`100`) as the rules name it.
    pub table: String,
    /// The address added.
    pub addr: IpAddr,
    /// Which file holds the declaration.
    pub file: usize,
    /// That file with the entry in.
    pub fixed: SourceFile,
    /// The declaration's line (where the entry goes).
    pub line: u32,
    /// That line as it reads with the entry.
    pub text: String,
}

/// The tables the pass's unmatched rules name, in order, once each.
fn named_tables(filter: Filter, pass: &PassResult) -> Vec<String> {
    let mut names = Vec::new();
    for step in &pass.steps {
        let Step::Rule {
            rule,
            matched: Some(false),
            ..
        } = step
        else {
            continue;
        };
        for word in rule
            .origin
            .text
            .split(|c: char| c.is_whitespace() || c == ',')
        {
            let name = match filter {
                Filter::Pf => word
                    .strip_prefix('<')
                    .and_then(|w| w.strip_suffix('>'))
                    .filter(|w| !w.is_empty()),
                Filter::Ipf => word
                    .strip_prefix("pool/")
                    .or_else(|| word.strip_prefix("hash/")),
            };
            if let Some(name) = name.filter(|n| !names.iter().any(|m: &String| m == n)) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// The byte offset just after the `{` opening `table`'s entries in `text`, when the file
/// declares it.
fn declaration(filter: Filter, text: &str, table: &str) -> Option<usize> {
    let start = match filter {
        Filter::Pf => {
            let needle = format!("<{table}>");
            let mut at = None;
            let mut offset = 0;
            for line in text.split_inclusive('\n') {
                let words: Vec<&str> = line.split_whitespace().collect();
                if words.first() == Some(&"table") && words.get(1) == Some(&needle.as_str()) {
                    at = Some(offset);
                    break;
                }
                offset += line.len();
            }
            at?
        }
        // `number = 100` / `name = letters` (ippool.conf), or `(number 100;)` / `(name
        // letters;)` in the newer `pool ipf/tree (...)` form.
        Filter::Ipf => {
            let words: Vec<(usize, &str)> = text
                .split(|c: char| c.is_whitespace() || c == '(' || c == ';' || c == ')')
                .scan(0usize, |pos, w| {
                    let at = *pos;
                    *pos += w.len() + 1;
                    Some((at, w))
                })
                .filter(|(_, w)| !w.is_empty())
                .collect();
            words.windows(3).find_map(|w| {
                let key = matches!(w[0].1, "number" | "name");
                let named = (w[1].1 == "=" && w[2].1 == table) || w[1].1 == table;
                (key && named).then_some(w[0].0)
            })?
        }
    };
    text[start..].find('{').map(|brace| start + brace + 1)
}

/// Each table the unmatched rules of `pass` name and the file declares, with the packet's
/// source or destination in it.
pub(super) fn entries(
    filter: Filter,
    pass: &PassResult,
    files: &[SourceFile],
    packet: &Packet,
) -> Vec<Entry> {
    let mut out = Vec::new();
    for table in named_tables(filter, pass) {
        for (file, source) in files.iter().enumerate() {
            let Some(at) = declaration(filter, &source.text, &table) else {
                continue;
            };
            for addr in [packet.dst, packet.src] {
                let entry = match (filter, addr) {
                    (Filter::Pf, _) => format!(" {addr}"),
                    (Filter::Ipf, IpAddr::V4(_)) => format!(" {addr}/32;"),
                    (Filter::Ipf, IpAddr::V6(_)) => format!(" {addr}/128;"),
                };
                let mut text = source.text.to_string();
                text.insert_str(at, &entry);
                let line = source.text[..at].matches('\n').count() as u32 + 1;
                let line_text = text
                    .lines()
                    .nth(line as usize - 1)
                    .unwrap_or("")
                    .trim()
                    .to_string();
                out.push(Entry {
                    table: table.clone(),
                    addr,
                    file,
                    fixed: SourceFile::new(source.name.clone(), text),
                    line,
                    text: line_text,
                });
            }
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_goes_into_the_declaration() {
        let pf = "ext = \"em0\"\ntable <allow_in> { 192.168.70.20 }\npass in to <allow_in>\n";
        let at = declaration(Filter::Pf, pf, "allow_in").unwrap();
        assert_eq!(&pf[..at], "ext = \"em0\"\ntable <allow_in> {");
        assert_eq!(declaration(Filter::Pf, pf, "other"), None);
        let pool = "table role = ipf type = tree number = 100\n{ 10.0.0.0/8; };\n";
        let at = declaration(Filter::Ipf, pool, "100").unwrap();
        assert_eq!(&pool[at..], " 10.0.0.0/8; };\n");
        let newer = "pool ipf/tree (name letters;) { 1.1.1.1/32; };\n";
        assert!(declaration(Filter::Ipf, newer, "letters").is_some());
    }
}
