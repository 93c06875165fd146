//! The `whyblocked` command, as a library: the binary (`main.rs`) is glue over it.
//!
//! Two steps, as ripgrep does: [`args::Args`] holds the raw, typed arguments (clap);
//! [`config::Config`] reads and checks every input. [`run`] simulates, searches a fix and
//! renders; it returns a [`Conclusion`] that `main.rs` maps to the exit code in one place.

pub mod args;
pub mod cmd_counters;
pub mod cmd_log;
pub mod cmd_pcap;
pub mod cmd_snapshot;
pub mod cmd_trace;
pub mod config;

use clap::Parser;
use config::{Config, Format};
use engine::{Fate, Outcome};
use frontends::ParseError;
use std::ffi::OsString;
use std::io::{self, Write};

/// What the command concluded, as far as the exit code is concerned (`main.rs` maps it to
/// the exit status; it is not a netfilter verdict).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    /// Delivered, forwarded or sent.
    Passed,
    /// Dropped, rejected, queued, or lost in routing.
    Blocked,
    /// The branches of Unknown matches disagree, or the simulation cannot say.
    Undecided,
    /// `verify`: the kernel did what the simulation predicted.
    KernelAgrees,
    /// `verify`: the kernel did something else.
    KernelDisagrees,
    /// `snapshot`, `trace`, `counters`: done.
    Done,
}

impl Conclusion {
    pub fn of(outcome: &Outcome) -> Conclusion {
        match outcome.decided_fate() {
            None | Some(Fate::Undetermined { .. }) => Conclusion::Undecided,
            Some(f) if f.passed() => Conclusion::Passed,
            Some(_) => Conclusion::Blocked,
        }
    }
}

/// Why the command could not answer.
#[derive(Debug)]
pub enum Error {
    /// Bad arguments, or `--help`/`--version` (clap prints those itself).
    Usage(clap::Error),
    /// An input that does not parse: shown with its line and a caret.
    Parse(ParseError),
    /// Any other input problem (a file that cannot be read, a bad `--assume`).
    Input(String),
    /// Writing the answer failed (a broken pipe among them).
    Output(io::Error),
}

impl Error {
    /// Whether this is a closed output pipe (`| head`): not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// Writes the error for the user: a diagnostic with the line and a caret for parse
    /// errors, clap's own message for usage errors, one line otherwise.
    pub fn render<W: Write>(&self, w: &mut W) -> io::Result<()> {
        match self {
            Error::Usage(e) => write!(w, "{}", e.render()),
            Error::Parse(e) => report::diagnostic::render(w, e),
            Error::Input(m) => report::diagnostic::render_message(w, m),
            Error::Output(e) => {
                report::diagnostic::render_message(w, &format!("cannot write the answer: {e}"))
            }
        }
    }
}

/// Parses the command line, reads the inputs and answers on `out`.
pub fn run_from_args<I, T, W>(argv: I, out: &mut W) -> Result<Conclusion, Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
    W: Write,
{
    let args = args::Args::try_parse_from(argv).map_err(Error::Usage)?;
    match &args.command {
        Some(args::Command::Verify(v)) => verify(&config::Inputs::load(&v.input)?, out),
        Some(args::Command::Snapshot(a)) => cmd_snapshot::run(a, out),
        Some(args::Command::Trace(a)) => cmd_trace::run(a, out),
        Some(args::Command::Counters(a)) => cmd_counters::run(a, out),
        Some(args::Command::Log(a)) => cmd_log::run_log(a, out),
        Some(args::Command::ExplainTrace(a)) => cmd_log::run_explain_trace(a, out),
        Some(args::Command::Conntrack(a)) => cmd_log::run_conntrack(a, out),
        Some(args::Command::Pcap(a)) => cmd_pcap::run(a, out),
        None => run(&Config::from_env(&args)?, out),
    }
}

/// Simulates the configured packet, searches a fix if it is blocked, and renders the answer.
pub fn run<W: Write>(config: &Config, out: &mut W) -> Result<Conclusion, Error> {
    let outcome = engine::simulate(
        &config.ruleset,
        &config.host,
        &config.packet,
        &config.options,
    );
    let fix = if config.fix {
        analysis::suggest(
            &config.ruleset,
            &config.host,
            &config.packet,
            &outcome,
            &config.options,
        )
    } else {
        None
    };
    let ping = analysis::ping_contrast(
        &config.ruleset,
        &config.host,
        &config.packet,
        &outcome,
        &config.options,
    );
    let facts = analysis::AnswerFacts::of(&config.ruleset, &outcome);
    let rule_reasons = analysis::reasons::RuleReasons::of(
        &config.ruleset,
        &config.host,
        &config.packet,
        &outcome,
        &config.options,
    );
    let answer = report::Answer {
        ruleset: &config.ruleset,
        host: &config.host,
        outcome: &outcome,
        facts: &facts,
        rule_reasons: Some(&rule_reasons),
        fix: fix.as_ref(),
        ping: ping.as_ref(),
        input_notes: &config.notes,
    };
    match config.format {
        Format::Json => report::answer::json::render(out, &answer),
        Format::Text { color } => {
            report::answer::text::render(out, &answer, &report::TextOptions { color })
        }
    }
    .and_then(|()| out.flush())
    .map_err(Error::Output)?;
    Ok(Conclusion::of(&outcome))
}

/// `whyblocked verify`: the packet through the real kernel in throwaway namespaces,
/// compared with the simulation (see [`oracle::verify()`]).
pub fn verify<W: Write>(inputs: &config::Inputs, out: &mut W) -> Result<Conclusion, Error> {
    // The oracle loads iptables-save files with iptables-restore and nft files (text or
    // JSON, told apart by their content) with `nft -f`; the family is read from the file.
    let rules: Vec<(model::SourceFile, model::Family)> = inputs
        .sources
        .iter()
        .cloned()
        .chain(
            inputs
                .nft_sources
                .iter()
                .map(|s| (s.clone(), model::Family::Inet)),
        )
        .collect();
    let report = oracle::verify(&rules, &inputs.ruleset, &inputs.host, &inputs.packet)
        .map_err(|e| Error::Input(format!("verify: {e}")))?;
    write!(out, "{}", report::verify::render_text(&report))
        .and_then(|()| out.flush())
        .map_err(Error::Output)?;
    Ok(if report.agree {
        Conclusion::KernelAgrees
    } else {
        Conclusion::KernelDisagrees
    })
}
