//! `-m comment` (xt_comment): matches every packet; its text becomes the rule's comment
//! (several are joined with `; `), cut to its first [`COMMENT_MAX`] bytes as iptables cuts it.
//!
//! ```text
//! -A INPUT -p tcp --dport 22 -m comment --comment "ssh in" -j ACCEPT
//! ```

use super::{Args, Extension, Simple};
use crate::ParseError;

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&["comment"], None, option)
}

/// The longest comment iptables keeps, in bytes: `XT_MAX_COMMENT_LEN` (256, Linux's
/// `xt_comment.h`) less the NUL. iptables 1.8 cuts a longer one silently (its option parser
/// copies at most that much), in iptables-restore as on the command line.
pub const COMMENT_MAX: usize = 255;

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    a.no_neg()?;
    let t = a.arg()?;
    let mut kept = t.text.len().min(COMMENT_MAX);
    while !t.text.is_char_boundary(kept) {
        kept -= 1;
    }
    a.comment(t.text[..kept].to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::parse;
    use crate::iptables_save::table_test::check_errors;
    use model::ruleset::Family;
    use model::SourceFile;

    #[test]
    fn lines() {
        for (line, comment) in [
            ("-m comment --comment \"ssh in\" -j ACCEPT", "ssh in"),
            ("-m comment --comment a -m comment --comment b", "a; b"),
            ("-m comment --comment a --comment b", "a; b"),
        ] {
            let text = format!("*filter\n-A INPUT {line}\nCOMMIT\n");
            let rs = parse(&SourceFile::new("t", text), Some(Family::Ip)).unwrap();
            let rule = &rs.tables[0].chains[0].rules[0];
            assert!(rule.matches().next().is_none(), "{line}");
            assert_eq!(rule.origin.comment.as_deref(), Some(comment), "{line}");
        }
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-m comment ! --comment x",
                "unsupported: `!` before --comment is not modelled by whyblocked",
                12,
            ),
            (
                "-m comment --comment",
                "expected a value for --comment, found end of line",
                21,
            ),
        ]);
    }
}
