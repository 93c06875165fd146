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

/// What a file that is not text looks like, told from its first bytes: a binary file given
/// where text is expected is named for what it is, never read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryKind {
    /// A pcap capture (any byte order, micro- or nanosecond stamps).
    Pcap,
    /// A pcapng capture.
    Pcapng,
    /// gzip-compressed data (`rules.v4.gz`, a rotated `syslog.1.gz`).
    Gzip,
    /// xz-compressed data.
    Xz,
    /// zstd-compressed data (a rotated journal file, `*.zst`).
    Zstd,
    /// bzip2-compressed data.
    Bzip2,
    /// A zip archive.
    Zip,
    /// An ELF executable or library.
    Elf,
    /// A systemd journal file (`*.journal`): read it with `journalctl --file`.
    Journal,
    /// Anything else holding a NUL byte, which no text file the tool reads has.
    Other,
}

/// How many leading bytes are looked at for a NUL byte when only a stream's start is known.
pub const SNIFF_LEN: usize = 8192;

impl BinaryKind {
    /// What `bytes` (a file's first bytes, or all of it) are when they are not text; `None`
    /// for text. A NUL byte anywhere in `bytes` makes them binary.
    pub fn of(bytes: &[u8]) -> Option<BinaryKind> {
        const MAGICS: [(&[u8], BinaryKind); 11] = [
            (&[0xd4, 0xc3, 0xb2, 0xa1], BinaryKind::Pcap),
            (&[0xa1, 0xb2, 0xc3, 0xd4], BinaryKind::Pcap),
            (&[0x4d, 0x3c, 0xb2, 0xa1], BinaryKind::Pcap),
            (&[0xa1, 0xb2, 0x3c, 0x4d], BinaryKind::Pcap),
            (&[0x0a, 0x0d, 0x0d, 0x0a], BinaryKind::Pcapng),
            (&[0x1f, 0x8b], BinaryKind::Gzip),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], BinaryKind::Xz),
            (&[0x28, 0xb5, 0x2f, 0xfd], BinaryKind::Zstd),
            (b"PK\x03\x04", BinaryKind::Zip),
            (b"\x7fELF", BinaryKind::Elf),
            (b"LPKSHHRH", BinaryKind::Journal),
        ];
        if let Some((_, kind)) = MAGICS.iter().find(|(m, _)| bytes.starts_with(m)) {
            return Some(*kind);
        }
        // `BZh` then the block size digit then the block magic (pi): a text file may well
        // start with "BZh".
        if bytes.len() >= 10
            && bytes.starts_with(b"BZh")
            && bytes[3].is_ascii_digit()
            && bytes[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
        {
            return Some(BinaryKind::Bzip2);
        }
        bytes.contains(&0).then_some(BinaryKind::Other)
    }
}

/// Text read from bytes that may not all be UTF-8 (a Latin-1 `--comment "café"` that
/// iptables accepts). Each byte that is not part of valid UTF-8 is kept visible as the four
/// characters `<NN>` (its hex value, as `less` shows it), so nothing is lost or silently
/// replaced, and [`DecodedText::escaped`] says where, so a reader can refuse one where the
/// byte matters (in a name). Not `\xNN`: a backslash is an escape in the quoted strings of
/// iptables-restore, nft and JSON, and would be read away.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecodedText {
    /// The text, every undecodable byte written `<NN>` (upper-case hex).
    pub text: String,
    /// Byte offset in `text` of each `<NN>` that stands for one undecodable byte.
    pub escaped: Vec<usize>,
}

impl DecodedText {
    /// `bytes` as text; `Err` with what they look like when they are binary
    /// ([`BinaryKind::of`]).
    pub fn decode(bytes: &[u8]) -> Result<DecodedText, BinaryKind> {
        if let Some(kind) = BinaryKind::of(bytes) {
            return Err(kind);
        }
        Ok(DecodedText::lossy(bytes))
    }

    /// `bytes` as text, undecodable bytes escaped, without looking for binary content (for a
    /// line of a stream whose start was already checked).
    pub fn lossy(bytes: &[u8]) -> DecodedText {
        let mut out = DecodedText::default();
        for chunk in bytes.utf8_chunks() {
            out.text.push_str(chunk.valid());
            for b in chunk.invalid() {
                out.escaped.push(out.text.len());
                out.text.push_str(&format!("<{b:02X}>"));
            }
        }
        out
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
    pub text: Arc<str>,
    /// The counters the listing showed; `None` when it had none (no `-c`, no `counter`).
    pub counters: Option<Counters>,
    /// `-m comment --comment` / nft `comment "..."`.
    pub comment: Option<String>,
    /// The language of the file it was read from (`None` for objects built in code).
    pub dialect: Option<Dialect>,
    /// The tool that wrote it, when recognised.
    pub owner: Option<Owner>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b4_binary_files_are_told_from_their_first_bytes() {
        for (bytes, kind) in [
            (&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0][..], BinaryKind::Pcap),
            (&[0xa1, 0xb2, 0x3c, 0x4d, 0, 2][..], BinaryKind::Pcap),
            (&[0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0][..], BinaryKind::Pcapng),
            (&[0x1f, 0x8b, 8, 0][..], BinaryKind::Gzip),
            (b"\xfd7zXZ\x00\x00", BinaryKind::Xz),
            (&[0x28, 0xb5, 0x2f, 0xfd, 4][..], BinaryKind::Zstd),
            (b"BZh91AY&SY\x01", BinaryKind::Bzip2),
            (b"PK\x03\x04\x14", BinaryKind::Zip),
            (b"\x7fELF\x02\x01", BinaryKind::Elf),
            (b"LPKSHHRH\x00", BinaryKind::Journal),
            (b"*filter\n\x00\n", BinaryKind::Other),
        ] {
            assert_eq!(BinaryKind::of(bytes), Some(kind), "{bytes:?}");
            assert_eq!(DecodedText::decode(bytes), Err(kind));
        }
        // Text, Latin-1 included, is not binary; nor is a text that starts like bzip2's magic.
        for text in [&b"*filter\n"[..], b"caf\xe9", b"BZh9 is not bzip2\n", b""] {
            assert_eq!(BinaryKind::of(text), None, "{text:?}");
        }
    }

    #[test]
    fn b4_bytes_that_are_not_utf8_are_kept_escaped_and_located() {
        let d = DecodedText::decode(b"-m comment --comment \"caf\xe9 \xff\xfe\" \xc3\xa9").unwrap();
        assert_eq!(d.text, "-m comment --comment \"caf<E9> <FF><FE>\" é");
        assert_eq!(d.escaped, [25, 30, 34]);
        for at in &d.escaped {
            assert!(d.text[*at..].starts_with('<'));
        }
        assert_eq!(DecodedText::lossy(b"ok").escaped, Vec::<usize>::new());
    }
}
