//! When the reply is what a filter blocks, the fix is state on the rule that passed the
//! request: its entry then passes the reply before any rule is read (IPFilter's `keep
//! state`, ipf.conf(5) "Stateful Packet Filtering"; pf keeps state on `pass` unless told
//! `no state`, pf.conf(5) STATEFUL FILTERING). The rule is edited in place.

use engine::bsd::path::{BsdTrace, Leg};
use engine::bsd::{Decider, Filter, RuleId};
use model::SourceFile;

/// One candidate: a request rule with state, as its line now reads, in its file.
pub(super) struct Stateful {
    /// The rule edited.
    pub rule: RuleId,
    /// Which file holds it.
    pub file: usize,
    /// That file with the rule edited.
    pub fixed: SourceFile,
    /// The rule's line as it now reads.
    pub text: String,
}

/// `text` with state: ipf's `keep state` goes before `head`/`group` (the grammar's
/// order, `tools/ipf_y.y`); pf's `no state` becomes `keep state`. `None` when the rule
/// cannot be edited so (it keeps state already).
fn with_state(filter: Filter, text: &str) -> Option<String> {
    let (rule, comment) = match text.find('#') {
        Some(at) => (text[..at].trim_end(), &text[at..]),
        None => (text.trim_end(), ""),
    };
    let words: Vec<&str> = rule.split_whitespace().collect();
    let edited = match filter {
        Filter::Ipf => {
            if words.windows(2).any(|w| w == ["keep", "state"]) {
                return None;
            }
            let at = words
                .iter()
                .position(|w| matches!(*w, "head" | "group"))
                .unwrap_or(words.len());
            let mut out = words[..at].to_vec();
            out.extend(["keep", "state"]);
            out.extend(&words[at..]);
            out.join(" ")
        }
        Filter::Pf => {
            let at = words.windows(2).position(|w| w == ["no", "state"])?;
            let mut out = words.clone();
            out[at] = "keep";
            out.join(" ")
        }
    };
    Some(match comment {
        "" => edited,
        c => format!("{edited} {c}"),
    })
}

/// The request's passing rules that created no state, each with state.
pub(super) fn candidates(filter: Filter, trace: &BsdTrace, files: &[SourceFile]) -> Vec<Stateful> {
    let mut out: Vec<Stateful> = Vec::new();
    for pass in trace.passes.iter().filter(|p| p.leg == Leg::Request) {
        let Decider::Rule(rule) = &pass.result.decider else {
            continue;
        };
        if pass.result.keeps_state || rule.origin.text.contains('\n') {
            continue;
        }
        if out.iter().any(|c| c.rule.origin == rule.origin) {
            continue;
        }
        let Some(file) = files.iter().position(|f| f.name == rule.origin.file) else {
            continue;
        };
        let Some(text) = with_state(filter, &rule.origin.text) else {
            continue;
        };
        let source = &files[file];
        let fixed: String = source
            .text
            .split_inclusive('\n')
            .enumerate()
            .map(|(i, l)| {
                if i + 1 == rule.origin.line as usize {
                    let indent: String = l.chars().take_while(|c| c.is_whitespace()).collect();
                    let end = if l.ends_with('\n') { "\n" } else { "" };
                    format!("{indent}{text}{end}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        out.push(Stateful {
            rule: rule.clone(),
            file,
            fixed: SourceFile::new(source.name.clone(), fixed),
            text,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_goes_where_the_grammar_wants_it() {
        assert_eq!(
            with_state(Filter::Ipf, "pass in quick on em0 proto tcp from any to any port = 22 group 10 # ssh").as_deref(),
            Some("pass in quick on em0 proto tcp from any to any port = 22 keep state group 10 # ssh")
        );
        assert_eq!(with_state(Filter::Ipf, "pass in all keep state"), None);
        assert_eq!(
            with_state(Filter::Pf, "pass in on em0 proto tcp to port 22 no state").as_deref(),
            Some("pass in on em0 proto tcp to port 22 keep state")
        );
        assert_eq!(with_state(Filter::Pf, "pass in on em0"), None);
    }
}
