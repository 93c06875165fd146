//! Provenance: which file, line and text a rule (or a parse error) came from.

use crate::owner::{Dialect, Owner};
use std::sync::Arc;

/// A half-open byte range `[start, end)` into a [`SourceFile`]'s text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset just past the last byte.
    pub end: u32,
}

impl Span {
    /// The span `[start, end)`; offsets are stored as `u32` (inputs stay far below 4 GiB).
    pub fn new(start: usize, end: usize) -> Span {
        debug_assert!(start <= end);
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }
    /// Whether it covers no byte (an error at a position, e.g. at the end of a line).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
    /// This span shifted right by `offset` bytes (sub-spans of a line into file spans).
    pub fn offset(self, offset: usize) -> Span {
        Span::new(self.start as usize + offset, self.end as usize + offset)
    }
}

/// One input file, kept whole so errors and deciding rules can be shown with their line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The path as the user gave it (what is printed in `file:line:col`).
    pub name: Arc<str>,
    /// The file's whole text, shared by every span and error that points into it.
    pub text: Arc<str>,
}

impl SourceFile {
    /// A file called `name` (as the user gave it) with the text `text`.
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let offset = (offset as usize).min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.bytes().filter(|&b| b == b'\n').count() as u32 + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() as u32 + 1;
        (line, col)
    }

    /// The whole text of the 1-based line `line`, without its newline.
    pub fn line_text(&self, line: u32) -> &str {
        self.text
            .lines()
            .nth(line.saturating_sub(1) as usize)
            .unwrap_or("")
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Packet and byte counters as the ruleset listed them (`[packets:bytes]` of
/// `iptables-save -c`, `counter packets N bytes M` of nft).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Counters {
    /// Packets that reached the rule (or the chain's policy) since the counters were reset.
    pub packets: u64,
    /// Bytes of those packets, counted from the IP header.
    pub bytes: u64,
}

/// Where a table, chain, rule or set came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The file name as the user gave it; empty for generated objects (e.g. a built-in chain
    /// that the input never declared).
    pub file: Arc<str>,
    /// Byte span of the whole statement (e.g. the `-A ...` line) in that file.
    pub span: Span,
    /// 1-based line of `span.start`, precomputed because every report prints it.
    pub line: u32,
    /// 1-based byte column of `span.start`, set where the line alone does not place the
    /// object: `nft -j` prints a whole ruleset on one line.
    pub column: Option<u32>,
    /// nft rule handle, when the listing had one (`nft -a`, JSON).
    pub handle: Option<u64>,
    /// The statement as written in the input (one line, trimmed).
    pub text: String,
    /// The counters the listing showed; `None` when it had none (no `-c`, no `counter`).
    pub counters: Option<Counters>,
    /// `-m comment --comment` / nft `comment "..."`.
    pub comment: Option<String>,
    /// The language of the file it was read from (`None` for objects built in code).
    pub dialect: Option<Dialect>,
    /// The tool that wrote it, when recognised.
    pub owner: Option<Owner>,
}
