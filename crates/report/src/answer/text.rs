//! The human answer: the verdict first, then the path.
//!
//! ```text
//! REJECTED  tcp 10.1.1.2:1050 -> 10.1.0.2:2175 [SYN], forwarded tap0 -> eno1
//!   deciding rule  filter/ufw-reject-forward #1   iptables-save.txt:95
//!                  -A ufw-reject-forward -j REJECT --reject-with icmp-port-unreachable
//!   reached via    FORWARD #5 -> ufw-reject-forward
//!   sender sees    ICMP port unreachable from 10.1.1.1 (this host's address on tap0)
//!                  connect() fails at once: ECONNREFUSED "Connection refused"
//!   ...
//!
//! path
//!   forward  filter  FORWARD #5             -A FORWARD -j ufw-reject-forward  rules:60  jump ufw-reject-forward
//! ```
//!
//! When the branches of Unknown matches disagree, the headline is `UNDECIDED` and each
//! branch is listed with its fate and deciding rule. Colour only when
//! [`TextOptions::color`] is set (the caller decides from the terminal and `NO_COLOR`).

use super::Answer;
use crate::words;
use analysis::remedy::{Remedies, Remedy};
use analysis::PingContrast;
use engine::{Decider, Event, Outcome, Reply, Trace, UnknownChoice};
use model::{ChainRef, Hook, Host, RuleRef, Ruleset};
use std::io::{self, Write};

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// ANSI colours (bold headline, red/green/yellow fate, dim locations).
    pub color: bool,
}

/// Width of the label column ("deciding rule  ").
const LABEL: usize = 15;
/// Rule text wider than this is not padded (it would push every column far right).
const MAX_TEXT_PAD: usize = 64;

#[derive(Clone, Copy)]
pub(crate) enum Style {
    Bold,
    Red,
    Green,
    Yellow,
    Dim,
}

pub(crate) struct Painter {
    pub(crate) color: bool,
}

impl Painter {
    pub(crate) fn paint(&self, s: &str, style: Style) -> String {
        if !self.color || s.is_empty() {
            return s.to_string();
        }
        let code = match style {
            Style::Bold => "1",
            Style::Red => "1;31",
            Style::Green => "1;32",
            Style::Yellow => "1;33",
            Style::Dim => "2",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    }
}

/// Writes the answer to `w`.
pub fn render<W: Write>(w: &mut W, answer: &Answer<'_>, options: &TextOptions) -> io::Result<()> {
    let p = Painter {
        color: options.color,
    };
    let outcome = answer.outcome;
    let trace = outcome.primary();
    let decided = outcome.decided_fate().is_some();

    // Headline: what the connection experiences (the exit status follows it).
    let conclusion = answer.facts.conclusion();
    let style = match conclusion {
        engine::Connection::Succeeds => Style::Green,
        engine::Connection::Undecided => Style::Yellow,
        _ => Style::Red,
    };
    let word = words::answer_headline(&trace.fate, conclusion);
    let facts = answer.facts;
    let ground = match (facts.no_rules_of_family, facts.if_quoting_no_flow) {
        (Some(f), _) => format!(" ({})", words::no_rules_of_family_short(f)),
        (None, Some(_)) => format!(" ({})", words::icmp_quote_unknown_short()),
        (None, None)
            if facts
                .reply_not_through
                .as_ref()
                .is_some_and(|s| s.fate.is_none()) =>
        {
            format!(" ({})", words::reply_not_through_short())
        }
        (None, None) => String::new(),
    };
    writeln!(
        w,
        "{}  {}, {}{ground}",
        p.paint(word, style),
        p.paint(&words::packet(&trace.packet), Style::Bold),
        words::direction(trace)
    )?;

    let mut s = Section { w, p: &p };
    if let Some(family) = facts.no_rules_of_family {
        s.field("undecided", [words::no_rules_of_family(family)])?;
    }
    if let Some(if_invalid) = facts.if_quoting_no_flow {
        s.field(
            "undecided",
            [words::icmp_quote_unknown(facts.connection, if_invalid)],
        )?;
    }
    if decided {
        s.decided(answer, trace)?;
    } else {
        s.undecided(answer.ruleset, outcome)?;
    }
    s.context(answer, trace, decided)?;
    if let Some(reasons) = answer.rule_reasons {
        s.rule_reasons(answer.ruleset, reasons)?;
    }
    if let Some(remedies) = answer.remedies {
        s.remedies(remedies)?;
    }

    // The path.
    let w = s.w;
    writeln!(w)?;
    if decided {
        writeln!(w, "{}", p.paint("path", Style::Bold))?;
    } else {
        writeln!(w, "{} (first branch)", p.paint("path", Style::Bold))?;
    }
    path(w, &p, answer.ruleset, answer.host, trace)
}

/// Writes the path alone, one line per event, in `nft monitor trace` style.
pub fn render_path<W: Write>(
    w: &mut W,
    answer: &Answer<'_>,
    options: &TextOptions,
) -> io::Result<()> {
    let p = Painter {
        color: options.color,
    };
    path(w, &p, answer.ruleset, answer.host, answer.outcome.primary())
}

pub(crate) struct Section<'w, 'p, W: Write> {
    pub(crate) w: &'w mut W,
    pub(crate) p: &'p Painter,
}

impl<W: Write> Section<'_, '_, W> {
    /// `  label          first line` then continuation lines under it.
    pub(crate) fn field<I, S>(&mut self, label: &str, lines: I) -> io::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut first = true;
        for line in lines {
            if first {
                let pad = LABEL.saturating_sub(label.chars().count()).max(1);
                writeln!(
                    self.w,
                    "  {}{}{}",
                    self.p.paint(label, Style::Bold),
                    " ".repeat(pad),
                    line.as_ref()
                )?;
                first = false;
            } else {
                writeln!(self.w, "  {}{}", " ".repeat(LABEL), line.as_ref())?;
            }
        }
        Ok(())
    }

    fn decided(&mut self, answer: &Answer<'_>, trace: &Trace) -> io::Result<()> {
        self.decider(answer, trace)?;
        self.field("fate", [words::fate_sentence(&trace.fate)])?;
        if let Some(cause) = &trace.cause {
            self.field("reason", words::reason(cause, answer.ruleset))?;
        }
        let sees = words::sender_sees(trace, answer.host);
        if !sees.is_empty() {
            self.field("sender sees", sees)?;
        }
        Ok(())
    }

    /// What decided: the rule or policy (with how it was reached), its owner, the zone
    /// and what an earlier table's accept did not save.
    pub(crate) fn decider(&mut self, answer: &Answer<'_>, trace: &Trace) -> io::Result<()> {
        let rs = answer.ruleset;
        match &trace.decider {
            Decider::Rule(at) => {
                let mut loc = words::rule_location(rs, *at);
                if let Some(h) = words::rule_origin(rs, *at).and_then(|o| o.handle) {
                    loc.push_str(&format!(" handle {h}"));
                }
                let mut lines = vec![format!(
                    "{}   {}",
                    words::rule_label(rs, *at),
                    self.p.paint(&loc, Style::Dim)
                )];
                if let Some(origin) = words::rule_origin(rs, *at) {
                    if !origin.text.is_empty() {
                        lines.push(words::rule_text(&origin.text).into_owned());
                    }
                }
                self.field("deciding rule", lines)?;
                let stack = &answer.facts.reached_via;
                if !stack.is_empty() {
                    let via: Vec<String> = stack
                        .iter()
                        .map(|f| {
                            format!(
                                "{} #{} {} {}",
                                words::chain_name(rs, f.from.chain_ref()),
                                words::rule_number(rs, f.from),
                                if f.goto { "goto" } else { "->" },
                                words::chain_name(rs, f.to)
                            )
                        })
                        .collect();
                    self.field("reached via", [via.join(", ")])?;
                }
            }
            Decider::Policy(c) => {
                let origin = words::chain_origin(rs, *c);
                let loc = origin.map(words::location).unwrap_or_default();
                let policy = words::chain_policy(rs, *c).unwrap_or_default();
                let mut lines = vec![format!(
                    "policy {} of {}   {}",
                    policy,
                    words::chain_label(rs, *c),
                    self.p.paint(&loc, Style::Dim)
                )];
                if let Some(o) = origin.filter(|o| !o.text.is_empty()) {
                    lines.push(words::rule_text(&o.text).into_owned());
                }
                self.field("deciding rule", lines)?;
            }
            other => self.field("decided by", [words::decider_short(rs, other)])?,
        }
        if let Some(owner) = words::decider_owner(rs, &trace.decider) {
            self.field(
                "owner",
                [format!(
                    "{}   {}",
                    words::owner_summary(owner),
                    self.p.paint(
                        &format!("({})", words::owner_evidence(&owner.evidence)),
                        Style::Dim
                    )
                )],
            )?;
        }
        if let Some(zone) = &answer.facts.firewalld_zone {
            self.field("zone", [words::firewalld_zone(rs, zone)])?;
        }
        if let Some(x) = &answer.facts.cross_table {
            self.field("not saved by", words::cross_table(rs, x, &trace.fate))?;
        }
        Ok(())
    }

    /// Missed set lookups, shadowed and repeated rules, one field per fact.
    fn rule_reasons(
        &mut self,
        rs: &Ruleset,
        reasons: &analysis::reasons::RuleReasons,
    ) -> io::Result<()> {
        for m in &reasons.set_misses {
            self.field("set miss", words::set_miss(rs, m))?;
        }
        for x in &reasons.shadowed {
            self.field("shadowed", words::shadowed(rs, x))?;
        }
        for r in &reasons.repeats {
            self.field("repeated", words::repeat(rs, r))?;
        }
        Ok(())
    }

    pub(crate) fn undecided(&mut self, rs: &Ruleset, outcome: &Outcome) -> io::Result<()> {
        let mut sites: Vec<String> = Vec::new();
        for b in &outcome.branches {
            for c in &b.choices {
                let label = format!(
                    "{} ({}): {}",
                    words::rule_label(rs, c.site.rule),
                    words::rule_location(rs, c.site.rule),
                    c.why
                );
                if !sites.contains(&label) {
                    sites.push(label);
                }
            }
        }
        self.field("depends on", sites)?;
        let lines: Vec<String> = outcome
            .branches
            .iter()
            .map(|b| words::branch(rs, b))
            .collect();
        self.field("branches", lines)?;
        if outcome.truncated {
            self.field("", ["(more combinations exist than were explored)"])?;
        }
        Ok(())
    }

    /// Logs, NAT, conntrack, route, reply, assumptions, warnings, unknowns.
    fn context(&mut self, answer: &Answer<'_>, trace: &Trace, decided: bool) -> io::Result<()> {
        let rs = answer.ruleset;
        let host = answer.host;
        if !trace.logs.is_empty() {
            let mut lines = Vec::new();
            for l in &trace.logs {
                lines.push(l.text.clone());
                lines.push(
                    self.p
                        .paint(&format!("({})", words::log_source(rs, l)), Style::Dim),
                );
            }
            self.field("kernel log", lines)?;
        }
        if let Some(ping) = answer.ping {
            self.ping(rs, ping)?;
        }
        if !trace.nat.is_empty() {
            self.field("nat", trace.nat.iter().map(|n| words::nat(rs, n)))?;
        }
        self.conntrack(trace, host)?;
        if let Some(r) = &trace.route {
            self.field("route", [words::route(r, host)])?;
        }
        if let Some(reply) = &trace.reply {
            self.reply(rs, reply, host, answer.facts)?;
        }
        let mut assumed: Vec<String> = answer.input_notes.iter().map(words::input_note).collect();
        assumed.extend(
            trace
                .assumptions
                .iter()
                .map(|a| words::assumption(a, &trace.packet)),
        );
        if !assumed.is_empty() {
            self.field("assumed", assumed)?;
        }
        if !trace.warnings.is_empty() {
            let lines: Vec<String> = trace
                .warnings
                .iter()
                .map(|x| words::warning(rs, x))
                .collect();
            let painted: Vec<String> = lines
                .iter()
                .map(|l| self.p.paint(l, Style::Yellow))
                .collect();
            self.field("warning", painted)?;
        }
        if decided && answer.outcome.branches.len() > 1 {
            self.unknowns(answer)?;
        }
        Ok(())
    }

    /// The conntrack state, its entry (existing or created) and what it depends on.
    fn conntrack(&mut self, trace: &Trace, host: &Host) -> io::Result<()> {
        let ct = &trace.conntrack;
        let Some(state) = ct.state else {
            return Ok(());
        };
        let mut lines = vec![words::ct_state(state).to_string()];
        if let Some(e) = ct.entry.and_then(|i| host.conntrack.get(i)) {
            lines[0].push_str(": existing entry");
            lines.push(e.text.clone());
        } else if let Some((orig, reply)) = &ct.new_entry {
            lines.push(format!(
                "creates src={} dst={} sport={} dport={}  reply src={} dst={} sport={} dport={}",
                orig.src,
                orig.dst,
                orig.sport,
                orig.dport,
                reply.src,
                reply.dst,
                reply.sport,
                reply.dport
            ));
        }
        if !ct.depends_on.is_empty() {
            lines.push(format!("depends on {}", ct.depends_on.join(", ")));
        }
        self.field("conntrack", lines)
    }

    /// The reply: the packet, how it arrives, the route back, and what stops it when it
    /// does not get back through this host.
    fn reply(
        &mut self,
        rs: &Ruleset,
        reply: &Reply,
        host: &Host,
        facts: &analysis::AnswerFacts,
    ) -> io::Result<()> {
        let mut lines = vec![format!("{}", reply.packet)];
        if reply.delivered_as != reply.packet {
            lines.push(format!("arrives as {}", reply.delivered_as));
        }
        match &reply.route_back {
            Some(r) => lines.push(format!("route back: {}", words::route(r, host))),
            None => lines.push("route back: unknown".to_string()),
        }
        if let Some(step) = &facts.reply_not_through {
            lines.push(words::reply_not_through(rs, step));
        }
        self.field("reply", lines)
    }

    /// The unknown matches, when every branch ends the same way.
    fn unknowns(&mut self, answer: &Answer<'_>) -> io::Result<()> {
        let rs = answer.ruleset;
        let mut lines: Vec<String> = Vec::new();
        for b in &answer.outcome.branches {
            for c in &b.choices {
                let label = format!(
                    "{} ({}): {}",
                    words::rule_label(rs, c.site.rule),
                    words::rule_location(rs, c.site.rule),
                    c.why
                );
                if !lines.contains(&label) {
                    lines.push(label);
                }
            }
        }
        lines.push("the fate is the same either way".to_string());
        self.field("unknown", lines)
    }

    /// "why ping works": the rule that lets an echo request between the same endpoints
    /// through, or that ping is blocked too.
    fn ping(&mut self, rs: &Ruleset, ping: &PingContrast) -> io::Result<()> {
        let what = if ping.packet.is_ipv6() {
            "ICMPv6 echo-request"
        } else {
            "ICMP echo-request"
        };
        let by = match &ping.decider {
            Decider::Rule(at) => Some((
                words::rule_label(rs, *at),
                words::rule_location(rs, *at),
                words::rule_origin(rs, *at).map(|o| words::rule_text(&o.text).into_owned()),
            )),
            Decider::Policy(c) => Some((
                format!("the policy of {}", words::chain_label(rs, *c)),
                words::chain_origin(rs, *c)
                    .map(words::location)
                    .unwrap_or_default(),
                None,
            )),
            _ => None,
        };
        let mut lines = Vec::new();
        let passed = ping.fate.passed();
        match by {
            Some((label, loc, text)) => {
                let verb = if passed {
                    "is let through by"
                } else {
                    "is blocked too, by"
                };
                lines.push(if loc.is_empty() {
                    format!("{what} {verb} {label}")
                } else {
                    format!("{what} {verb} {label}   {}", self.p.paint(&loc, Style::Dim))
                });
                lines.extend(text.filter(|t| !t.is_empty()));
            }
            None => lines.push(format!("{what}: {}", words::fate_sentence(&ping.fate))),
        }
        self.field(if passed { "why ping works" } else { "ping" }, lines)
    }

    pub(crate) fn remedies(&mut self, remedies: &Remedies) -> io::Result<()> {
        let Some(primary) = remedies.primary() else {
            return Ok(());
        };
        let label = if primary.verified() {
            words::remedy_label(primary)
        } else {
            "no fix found".to_string()
        };
        self.field(&label, self.remedy_lines(primary))?;
        for (i, r) in remedies.ladder.iter().enumerate() {
            if i != remedies.primary {
                let label = format!("   {}", words::rung_label(r, primary));
                self.field(&label, self.remedy_lines(r))?;
            }
        }
        match &primary.exchange {
            Some(x) if x.firewall_passes() => self.field(
                "verified",
                [format!(
                    "{} (simulated; `whyblocked verify --fix` proves it in a kernel)",
                    words::exchange_summary(x)
                )],
            ),
            Some(x) => self.field(
                "not verified",
                [format!("{} (simulated)", words::exchange_summary(x))],
            ),
            None => self.field(
                "not verified",
                ["the change is outside the ruleset: nothing to simulate".to_string()],
            ),
        }
    }

    /// The steps of one remedy, what it opens, its caveats and whether it lasts.
    fn remedy_lines(&self, r: &Remedy) -> Vec<String> {
        let passes = r.exchange.as_ref().is_none_or(|x| {
            x.steps
                .first()
                .is_some_and(analysis::remedy::exchange::ExchangeStep::passed)
        });
        self.remedy_lines_passing(r, passes)
    }

    /// [`Self::remedy_lines`], with whether the remedy lets the packet through decided by
    /// the caller (the path answer walks the whole exchange again with it).
    pub(crate) fn remedy_lines_passing(&self, r: &Remedy, passes: bool) -> Vec<String> {
        let mut lines: Vec<String> = r
            .steps
            .iter()
            .map(|s| match s {
                analysis::remedy::Step::Run(_) => self.p.paint(&words::step(s), Style::Bold),
                analysis::remedy::Step::AddLine { .. } => words::step(s),
            })
            .collect();
        lines.push(format!(
            "({})",
            words::fix_note(&r.opens, &r.caveats, passes)
        ));
        if let Some(d) = words::durability(&r.durability) {
            lines.push(format!("({d})"));
        }
        lines
    }
}

/// One row of the path table.
struct Row {
    hook: String,
    table: String,
    chain: String,
    text: String,
    loc: String,
    verdict: String,
}

impl Row {
    /// A row with only its hook and text (the hook entered, a route, a note).
    fn plain(hook: String, text: String) -> Row {
        Row {
            hook,
            table: String::new(),
            chain: String::new(),
            text,
            loc: String::new(),
            verdict: String::new(),
        }
    }

    /// A row at a rule: `table  chain #N  text  file:line  verdict`.
    fn at_rule(rs: &Ruleset, hook: &Hook, at: RuleRef, text: String, verdict: String) -> Row {
        Row {
            hook: hook.to_string(),
            table: words::table_name(rs, at.table),
            chain: format!(
                "{} #{}",
                words::chain_name(rs, at.chain_ref()),
                words::rule_number(rs, at)
            ),
            text: words::rule_text(&text).into_owned(),
            loc: words::rule_location(rs, at),
            verdict,
        }
    }

    /// A row at a chain (its end, its policy).
    fn at_chain(rs: &Ruleset, hook: &Hook, chain: ChainRef, text: &str) -> Row {
        Row {
            hook: hook.to_string(),
            table: words::table_name(rs, chain.table),
            chain: words::chain_name(rs, chain),
            text: text.to_string(),
            loc: String::new(),
            verdict: String::new(),
        }
    }
}

/// `file:LINE` or `file:LINE:COLUMN` split into the file and the place after it.
fn file_and_place(loc: &str) -> Option<(&str, &str)> {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (head, last) = loc.rsplit_once(':').filter(|(_, l)| numeric(l))?;
    match head.rsplit_once(':') {
        Some((file, line)) if numeric(line) => Some((file, &loc[file.len() + 1..])),
        _ => Some((head, last)),
    }
}

pub(crate) fn path<W: Write>(
    w: &mut W,
    p: &Painter,
    rs: &Ruleset,
    host: &Host,
    trace: &Trace,
) -> io::Result<()> {
    let mut rows: Vec<Row> = trace
        .events
        .iter()
        .map(|e| row(rs, host, &trace.packet, e))
        .collect();
    // When every rule on the path comes from one file, say it once and keep `:LINE`.
    let mut files = rows
        .iter()
        .filter_map(|r| file_and_place(&r.loc).map(|(f, _)| f));
    if let Some(first) = files.next().map(str::to_string) {
        if files.all(|f| f == first) {
            let columns = rows
                .iter()
                .any(|r| file_and_place(&r.loc).is_some_and(|(_, at)| at.contains(':')));
            let note = if columns {
                format!("(:LINE:COLUMN is a place in {first})")
            } else {
                format!("(:LINE is a line of {first})")
            };
            writeln!(w, "  {}", p.paint(&note, Style::Dim))?;
            for r in &mut rows {
                if let Some((_, at)) = file_and_place(&r.loc) {
                    r.loc = format!(":{at}");
                }
            }
        }
    }
    let width =
        |f: fn(&Row) -> &String| rows.iter().map(|r| f(r).chars().count()).max().unwrap_or(0);
    let wh = width(|r| &r.hook);
    let wt = width(|r| &r.table);
    let wc = width(|r| &r.chain);
    let wx = width(|r| &r.text).min(MAX_TEXT_PAD);
    let wl = width(|r| &r.loc);
    for r in &rows {
        let mut line = String::new();
        let mut cell = |s: &str, wdt: usize, style: Option<Style>, last: bool| {
            let painted = match style {
                Some(st) => p.paint(s, st),
                None => s.to_string(),
            };
            line.push_str(&painted);
            if !last {
                line.push_str(&" ".repeat(wdt.saturating_sub(s.chars().count()) + 2));
            }
        };
        cell(&r.hook, wh, None, false);
        cell(&r.table, wt, None, false);
        cell(&r.chain, wc, None, false);
        cell(&r.text, wx, None, false);
        cell(&r.loc, wl, Some(Style::Dim), false);
        cell(&r.verdict, 0, Some(Style::Bold), true);
        writeln!(w, "  {}", line.trim_end())?;
    }
    Ok(())
}

/// `unknown: WHY; taken as matching (--assume)`.
fn unknown_text(choice: &UnknownChoice) -> String {
    format!(
        "unknown: {}; taken as {}{}",
        choice.why,
        if choice.matched {
            "matching"
        } else {
            "not matching"
        },
        if choice.assumed_by_user {
            " (--assume)"
        } else {
            ""
        }
    )
}

fn row(rs: &Ruleset, host: &Host, packet: &model::Packet, e: &Event) -> Row {
    match e {
        Event::Hook(h) => Row::plain(h.to_string(), "(enters the hook)".to_string()),
        Event::Rule { hook, at, verdict } => Row::at_rule(
            rs,
            hook,
            *at,
            words::rule_origin(rs, *at)
                .map(|o| o.text.to_string())
                .unwrap_or_default(),
            words::verdict(rs, verdict),
        ),
        Event::ChainEnd { hook, chain } => Row {
            verdict: "return".to_string(),
            ..Row::at_chain(rs, hook, *chain, "(end of chain: back to the caller)")
        },
        Event::Policy {
            hook,
            chain,
            verdict,
        } => Row {
            loc: words::chain_origin(rs, *chain)
                .map(words::location)
                .unwrap_or_default(),
            verdict: words::verdict(rs, verdict),
            ..Row::at_chain(rs, hook, *chain, "policy")
        },
        Event::Unknown { hook, choice } => Row::at_rule(
            rs,
            hook,
            choice.site.rule,
            unknown_text(choice),
            "?".to_string(),
        ),
        Event::Conntrack { hook, state, entry } => Row {
            table: "ct".to_string(),
            chain: words::ct_state(*state).to_string(),
            ..Row::plain(
                hook.to_string(),
                entry.and_then(|i| host.conntrack.get(i)).map_or_else(
                    || {
                        if engine::reject::is_icmp_error(packet) {
                            "(no entry: an ICMP error belongs to the flow it quotes)"
                        } else {
                            "(no entry: first packet of the flow)"
                        }
                        .to_string()
                    },
                    |c| c.text.clone(),
                ),
            )
        },
        Event::Nat { hook, rewrite } => Row {
            table: "nat".to_string(),
            chain: rewrite.kind.to_string(),
            loc: rewrite
                .by
                .map(|at| words::rule_location(rs, at))
                .unwrap_or_default(),
            ..Row::plain(
                hook.to_string(),
                format!(
                    "{} -> {}",
                    words::addr_port(rewrite.before.0, rewrite.before.1),
                    words::addr_port(rewrite.after.0, rewrite.after.1)
                ),
            )
        },
        Event::Route(d) => Row::plain("routing".to_string(), words::route(d, host)),
        Event::MarkSet { hook, at, old, new } => Row::at_rule(
            rs,
            hook,
            *at,
            format!("mark {old:#x} -> {new:#x}"),
            String::new(),
        ),
        Event::Note { hook, note } => Row::plain(
            hook.map(|h| h.to_string()).unwrap_or_default(),
            format!("({})", words::note(rs, note)),
        ),
    }
}
