//! Fixes for a packet an IPFilter or pf host blocks: the rule an admin would type, in the
//! filter's own syntax ([`ipf`], [`pf`]), placed where it works given last-match-wins,
//! each proved by walking the whole exchange again with the rule in the file.
//!
//! Placement: a blocking `quick` rule ends the walk, so the fix is a `quick` pass right
//! before it (in its group or anchor); a block that won as the last match is overridden by
//! a later match, so the fix is a pass right after it. The rule keeps state, so the reply
//! passes too. Breadths go from the flow (this source to this service) to the service for
//! every source. When a rule that did not match names a table (pool) the file declares,
//! the packet's address in that table is offered first: the admin's own structure.
//!
//! Proof: the fix's text is inserted into the user's file, the file is parsed again by the
//! real parser and the packet walked again through the whole path (request, then reply):
//! only a candidate whose connection then succeeds is offered, with what the walk showed.

pub mod ipf;
pub mod pf;
mod state;
mod table;

use engine::bsd::path::{BsdFate, BsdTrace, Leg, PassStep};
use engine::bsd::{Decider, Direction, Filter, PassResult, RuleId, Step};
use engine::Connection;
use model::diag::ParseError;
use model::{Packet, SourceFile, L4};
use std::sync::Arc;

/// How broad a fix is, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breadth {
    /// This source to this destination's port.
    Flow,
    /// This source to the port on any destination.
    SourceToService,
    /// Every source to this destination's port.
    Service,
    /// An address added to a table or pool: what the rules already let the table's
    /// addresses do.
    TableEntry,
    /// State on the rule that passed the request: what that rule already passes.
    RequestRule,
}

impl Breadth {
    /// Every breadth, narrowest first.
    pub const ALL: [Breadth; 3] = [Breadth::Flow, Breadth::SourceToService, Breadth::Service];
}

/// A blocked packet as the deciding rule saw it: the pass's direction, interface and
/// group, and the packet after the translations that came before the rule.
#[derive(Debug, Clone)]
pub struct Seen<'a> {
    /// In or out.
    pub direction: Direction,
    /// The interface.
    pub interface: &'a str,
    /// The IPFilter group holding the blocking rule (a pf anchor's rules are written into
    /// the anchor itself).
    pub group: Option<&'a str>,
    /// The packet.
    pub packet: &'a Packet,
}

/// The words a fix rule starts with in both filters' syntax (`pass in quick on lo0`) and
/// its two ends as broad as `breadth`, each address written by `host`; `None` for a table
/// entry, which is no rule.
fn rule_start(
    seen: &Seen<'_>,
    breadth: Breadth,
    quick: bool,
    host: impl Fn(std::net::IpAddr) -> String,
) -> Option<(Vec<String>, String, String)> {
    let p = seen.packet;
    let (from, to) = match breadth {
        Breadth::Flow => (host(p.src), host(p.dst)),
        Breadth::SourceToService => (host(p.src), "any".to_string()),
        Breadth::Service => ("any".to_string(), host(p.dst)),
        Breadth::TableEntry | Breadth::RequestRule => return None,
    };
    let direction = match seen.direction {
        Direction::In => "in",
        Direction::Out => "out",
    };
    let mut words = vec!["pass".to_string(), direction.to_string()];
    if quick {
        words.push("quick".into());
    }
    words.push(format!("on {}", seen.interface));
    Some((words, from, to))
}

/// Where a fix goes in its file.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Right before the blocking `quick` rule.
    Before(RuleId),
    /// Right after the blocking rule that won as the last match.
    After(RuleId),
    /// The rule that passed the request, edited in place to keep state (the reply was
    /// blocked).
    KeepState(RuleId),
    /// An entry in a table's (pool's) declaration.
    TableEntry {
        /// The table (`allow_in`) or pool (`100`) as the rules name it.
        table: String,
        /// The address added.
        addr: std::net::IpAddr,
    },
}

/// A fix, proved.
#[derive(Debug, Clone, PartialEq)]
pub struct BsdFix {
    /// How broad it is.
    pub breadth: Breadth,
    /// The rule as the admin types it.
    pub text: String,
    /// The file it goes into.
    pub file: Arc<str>,
    /// Where.
    pub placement: Placement,
    /// Its line in the fixed file.
    pub line: u32,
    /// What the walk with the fix in place showed.
    pub proof: Proof,
}

/// What walking the exchange again with a fix in place showed.
#[derive(Debug, Clone, PartialEq)]
pub struct Proof {
    /// The packet's fate.
    pub fate: BsdFate,
    /// The rule that now decides the pass the packet was blocked in.
    pub decided_by: Option<RuleId>,
    /// That rule is the fix itself.
    pub by_fix: bool,
    /// The reply passes back (a state entry, or rules).
    pub reply_passes: bool,
    /// What the connection experiences: [`Connection::Succeeds`] for every fix offered.
    pub connection: Connection,
}

/// The fixes searched for a blocked packet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BsdFixes {
    /// The proved fixes, narrowest first.
    pub fixes: Vec<BsdFix>,
    /// Why there is none, when there is none.
    pub none: Option<NoFix>,
}

/// Why no fix is offered.
#[derive(Debug, Clone, PartialEq)]
pub enum NoFix {
    /// The packet is not blocked by a rule (it passes, or routing or an Unknown decides).
    NotBlockedByRule,
    /// The blocking rule's file is not among the files given (a pf anchor loaded from
    /// elsewhere): the fix cannot be placed and proved.
    FileNotGiven {
        /// The file.
        file: Arc<str>,
    },
    /// The protocol has no ports or types a rule could name.
    Protocol,
    /// Every candidate was walked, and none made the connection succeed.
    NoneWorked {
        /// The candidates, with what the connection experienced with each.
        tried: Vec<(String, Connection)>,
    },
}

/// The pass that blocked the exchange: the request's, or the reply's.
fn blocking_pass(trace: &BsdTrace) -> Option<&PassStep> {
    let at = match &trace.fate {
        BsdFate::Blocked { pass, .. } => Some(*pass),
        f if f.passed() => trace.reply.as_ref().and_then(|r| r.blocked_at),
        _ => None,
    }?;
    trace.passes.get(at)
}

/// The packet as the rule at `step` of `pass` saw it: the pass's output with every
/// translation after that step undone.
fn packet_at(pass: &PassResult, step: usize) -> Packet {
    let mut p = pass.packet.clone();
    for s in pass.steps[step..].iter().rev() {
        if let Step::Nat(r) = s {
            let (addr, port) = r.before;
            if r.source {
                p.src = addr;
            } else {
                p.dst = addr;
            }
            if let Some(port) = port {
                set_port(&mut p, r.source, port);
            }
        }
    }
    p
}

fn set_port(p: &mut Packet, source: bool, port: u16) {
    match &mut p.l4 {
        L4::Tcp { sport, dport, .. } | L4::Udp { sport, dport } | L4::Sctp { sport, dport } => {
            if source {
                *sport = port;
            } else {
                *dport = port;
            }
        }
        _ => {}
    }
}

/// `text` inserted as a line of its own before line `line` (1-based) of `file`, indented
/// like that line; or at the end when `line` is past it.
fn insert_line(file: &SourceFile, line: u32, text: &str) -> SourceFile {
    let mut out = String::with_capacity(file.text.len() + text.len() + 1);
    let mut inserted = false;
    for (i, l) in file.text.split_inclusive('\n').enumerate() {
        if i + 1 == line as usize {
            let indent: String = l.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
            out.push_str(&indent);
            out.push_str(text);
            out.push('\n');
            inserted = true;
        }
        out.push_str(l);
    }
    if !inserted {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(text);
        out.push('\n');
    }
    SourceFile::new(file.name.clone(), out)
}

/// The line after the rule's last: a rule continued with `\` spans several.
fn line_after(rule: &RuleId) -> u32 {
    let continued = rule.origin.text.matches('\n').count() as u32;
    rule.origin.line + 1 + continued
}

/// Searches fixes for `trace`'s blocked exchange. `files` are the filter's rules files
/// as given; `walk` parses a set of them (the fixed one in place of its original) and
/// walks the packet again.
pub fn search(
    filter: Filter,
    trace: &BsdTrace,
    files: &[SourceFile],
    walk: impl Fn(&[SourceFile]) -> Result<BsdTrace, ParseError>,
) -> BsdFixes {
    let none = |why| BsdFixes {
        fixes: Vec::new(),
        none: Some(why),
    };
    let Some(pass) = blocking_pass(trace) else {
        return none(NoFix::NotBlockedByRule);
    };
    if pass.leg == Leg::Reply {
        return reply_fixes(filter, trace, files, walk);
    }
    let Decider::Rule(rule) = &pass.result.decider else {
        return none(NoFix::NotBlockedByRule);
    };
    let Some(index) = files.iter().position(|f| f.name == rule.origin.file) else {
        return none(NoFix::FileNotGiven {
            file: rule.origin.file.clone(),
        });
    };
    let step = pass
        .result
        .steps
        .iter()
        .rposition(|s| matches!(s, Step::Rule { rule: r, matched: Some(true), .. } if r == rule))
        .unwrap_or(0);
    let quick = !matches!(
        pass.result.steps.get(step),
        Some(Step::Rule {
            remembered: true,
            ..
        })
    );
    let packet = packet_at(&pass.result, step);
    let seen = Seen {
        direction: pass.direction,
        interface: &pass.interface,
        group: match filter {
            Filter::Ipf => rule.group.as_deref(),
            Filter::Pf => None,
        },
        packet: &packet,
    };
    let (placement, line) = if quick {
        (Placement::Before(rule.clone()), rule.origin.line)
    } else {
        (Placement::After(rule.clone()), line_after(rule))
    };
    let mut fixes = Vec::new();
    let mut tried = Vec::new();
    for breadth in Breadth::ALL {
        let text = match filter {
            Filter::Ipf => ipf::rule_text(&seen, breadth, quick),
            Filter::Pf => pf::rule_text(&seen, breadth, quick),
        };
        let Some(text) = text else {
            return none(NoFix::Protocol);
        };
        if fixes.iter().any(|f: &BsdFix| f.text == text) {
            continue;
        }
        let mut fixed = files.to_vec();
        fixed[index] = insert_line(&files[index], line, &text);
        let proof = match walk(&fixed) {
            Ok(after) => prove(&after, pass, &rule.origin.file, line),
            // The fix's own text does not parse: a bug here, never offered.
            Err(_) => None,
        };
        match proof {
            Some(proof) if proof.connection == Connection::Succeeds => fixes.push(BsdFix {
                breadth,
                text,
                file: rule.origin.file.clone(),
                placement: placement.clone(),
                line,
                proof,
            }),
            Some(proof) => tried.push((text, proof.connection)),
            None => tried.push((text, Connection::Undecided)),
        }
    }
    // A table entry keeps the admin's own structure (the rule that passes the table's
    // addresses): offered first.
    let mut entries = Vec::new();
    for entry in table::entries(filter, &pass.result, files, &packet) {
        let mut fixed = files.to_vec();
        fixed[entry.file] = entry.fixed;
        let file = files[entry.file].name.clone();
        let proof = walk(&fixed)
            .ok()
            .and_then(|after| prove(&after, pass, &file, 0));
        match proof {
            Some(proof) if proof.connection == Connection::Succeeds => entries.push(BsdFix {
                breadth: Breadth::TableEntry,
                text: entry.text,
                file,
                placement: Placement::TableEntry {
                    table: entry.table,
                    addr: entry.addr,
                },
                line: entry.line,
                proof,
            }),
            Some(proof) => tried.push((entry.text, proof.connection)),
            None => tried.push((entry.text, Connection::Undecided)),
        }
    }
    entries.append(&mut fixes);
    let fixes = entries;
    if fixes.is_empty() {
        return none(NoFix::NoneWorked { tried });
    }
    BsdFixes { fixes, none: None }
}

/// The fixes for a blocked reply: state on the rule that passed the request.
fn reply_fixes(
    filter: Filter,
    trace: &BsdTrace,
    files: &[SourceFile],
    walk: impl Fn(&[SourceFile]) -> Result<BsdTrace, ParseError>,
) -> BsdFixes {
    let mut fixes = Vec::new();
    let mut tried = Vec::new();
    for candidate in state::candidates(filter, trace, files) {
        let mut fixed = files.to_vec();
        fixed[candidate.file] = candidate.fixed;
        let proof = walk(&fixed).ok().map(|after| Proof {
            fate: after.fate.clone(),
            decided_by: None,
            by_fix: false,
            reply_passes: after
                .reply
                .as_ref()
                .is_some_and(|r| r.blocked_at.is_none() && r.undecided_at.is_none()),
            connection: after.connection(),
        });
        match proof {
            Some(proof) if proof.connection == Connection::Succeeds => fixes.push(BsdFix {
                breadth: Breadth::RequestRule,
                text: candidate.text,
                file: candidate.rule.origin.file.clone(),
                line: candidate.rule.origin.line,
                placement: Placement::KeepState(candidate.rule),
                proof,
            }),
            Some(proof) => tried.push((candidate.text, proof.connection)),
            None => tried.push((candidate.text, Connection::Undecided)),
        }
    }
    let none = fixes.is_empty().then_some(NoFix::NoneWorked { tried });
    BsdFixes { fixes, none }
}

/// What the walk with a fix showed: the fate, the new decider of the pass the packet was
/// blocked in, whether the reply passes.
fn prove(after: &BsdTrace, blocked: &PassStep, file: &str, line: u32) -> Option<Proof> {
    let decided_by = after
        .passes
        .iter()
        .find(|p| {
            p.leg == blocked.leg
                && p.direction == blocked.direction
                && p.interface == blocked.interface
        })
        .and_then(|p| match &p.result.decider {
            Decider::Rule(r) => Some(r.clone()),
            _ => None,
        });
    let reply_passes = after
        .reply
        .as_ref()
        .is_some_and(|r| r.blocked_at.is_none() && r.undecided_at.is_none());
    let by_fix = decided_by
        .as_ref()
        .is_some_and(|r| &*r.origin.file == file && r.origin.line == line);
    Some(Proof {
        fate: after.fate.clone(),
        decided_by,
        by_fix,
        reply_passes,
        connection: after.connection(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_goes_in_before_the_rule_indented_like_it() {
        let f = SourceFile::new(
            "pf.conf",
            "set skip on lo\nanchor \"a\" {\n  block in all\n}\n",
        );
        let fixed = insert_line(&f, 3, "pass in quick on em0");
        assert_eq!(
            &*fixed.text,
            "set skip on lo\nanchor \"a\" {\n  pass in quick on em0\n  block in all\n}\n"
        );
        let end = insert_line(&SourceFile::new("r", "block in all"), 9, "pass in all");
        assert_eq!(&*end.text, "block in all\npass in all\n");
    }
}
