//! Line- and word-level reading shared by the text front ends. Every piece keeps its byte
//! offset into the file, so an error can point at the exact span.

/// One line of a text, without its line ending (`\n` or `\r\n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// 0-based line index.
    pub index: usize,
    /// Byte offset of the line's first character in the whole text.
    pub start: usize,
    pub text: &'a str,
}

impl<'a> Line<'a> {
    /// The line without surrounding blanks, and the byte offset (in the whole text) where
    /// that trimmed text starts.
    pub fn trimmed(&self) -> (usize, &'a str) {
        let body = self.text.trim_start();
        (self.start + self.text.len() - body.len(), body.trim_end())
    }

    /// Blank, or a `#` comment.
    pub fn is_blank_or_comment(&self) -> bool {
        let (_, t) = self.trimmed();
        t.is_empty() || t.starts_with('#')
    }
}

/// Every line of `text` with its offset.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut offset = 0;
    text.split_inclusive('\n')
        .enumerate()
        .map(move |(index, raw)| {
            let start = offset;
            offset += raw.len();
            Line {
                index,
                start,
                text: raw.trim_end_matches(['\n', '\r']),
            }
        })
}

/// Whitespace-separated words of `text`, each with its byte offset in `text`.
pub(crate) fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_offsets_and_strip_crlf() {
        let got: Vec<_> = lines("a\r\n  b c\n\n")
            .map(|l| (l.index, l.start, l.text))
            .collect();
        assert_eq!(got, vec![(0, 0, "a"), (1, 3, "  b c"), (2, 9, "")]);
    }

    #[test]
    fn trimmed_offset_points_at_the_first_character() {
        let line = lines("x\n  # note ").nth(1).unwrap();
        assert_eq!(line.trimmed(), (4, "# note"));
        assert!(line.is_blank_or_comment());
    }

    #[test]
    fn words_carry_their_offsets() {
        assert_eq!(words(" ab\tc  d"), vec![(1, "ab"), (4, "c"), (7, "d")]);
        assert!(words("   ").is_empty());
    }
}
