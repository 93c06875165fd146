//! The `whyblocked` command, as a library: the binary (`main.rs`) is glue over it.
//!
//! Two steps, as ripgrep does: [`args::Args`] holds the raw, typed arguments (clap);
//! [`config::Config`] reads and checks every input. [`run`] simulates, searches a fix and
//! renders; it returns a [`Conclusion`] that `main.rs` maps to the exit code in one place.

pub mod args;
pub mod cmd_bsd;
pub mod cmd_counters;
pub mod cmd_ipftest;
pub mod cmd_log;
pub mod cmd_path;
pub mod cmd_pcap;
pub mod cmd_snapshot;
pub mod cmd_trace;
pub mod config;
mod pcap_path;

use clap::Parser;
use config::{Config, Format};
use engine::Connection;
use frontends::ParseError;
use model::note::InputNote;
use std::ffi::OsString;
use std::io::{self, Write};

/// What the command concluded, as far as the exit code is concerned (`main.rs` maps it to
/// the exit status; it is not a netfilter verdict).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    /// The connection succeeds: delivered to a listener, forwarded or sent, and the answer
    /// can get back.
    Passed,
    /// The connection fails: dropped, rejected, queued, lost in routing, refused by the
    /// stack (nothing listens), or its answer cannot get back.
    Blocked,
    /// The branches of Unknown matches disagree, the simulation cannot say, or the answer
    /// rests on an input not given (no rules of the packet's family, the conntrack table
    /// for an ICMP error).
    Undecided,
    /// `verify`: the kernel did what the simulation predicted.
    KernelAgrees,
    /// `verify`: the kernel did something else.
    KernelDisagrees,
    /// `snapshot`, `trace`, `counters`: done.
    Done,
}

impl Conclusion {
    /// The exit status's conclusion of an answer: what the connection experiences, unless
    /// the all-clear has no ground ([`analysis::AnswerFacts::conclusion`]).
    pub fn of(facts: &analysis::AnswerFacts) -> Conclusion {
        match facts.conclusion() {
            Connection::Succeeds => Conclusion::Passed,
            Connection::Refused | Connection::AnswerLost | Connection::Blocked => {
                Conclusion::Blocked
            }
            Connection::Undecided => Conclusion::Undecided,
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

    /// The error as `--json` prints it on stdout (see the README's JSON section).
    pub fn render_json<W: Write>(&self, w: &mut W, exit_status: u8) -> io::Result<()> {
        use report::diagnostic::{message_error_json, parse_error_json, ErrorClass};
        let class = match self {
            Error::Parse(e) => {
                return report::diagnostic::render_json(w, &parse_error_json(e, exit_status))
            }
            Error::Usage(_) => ErrorClass::Usage,
            Error::Input(_) => ErrorClass::Input,
            Error::Output(_) => ErrorClass::Output,
        };
        let mut text = Vec::new();
        self.render(&mut text)?;
        let json = message_error_json(class, &String::from_utf8_lossy(&text), exit_status);
        report::diagnostic::render_json(w, &json)
    }
}

/// Parses the command line, reads the inputs and answers on `out`.
pub fn run_from_args<I, T, W>(argv: I, out: &mut W) -> Result<Conclusion, Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
    W: Write,
{
    let argv = args::without_help_flags_after_help(argv.into_iter().map(Into::into).collect());
    let mistyped = |word: Option<&str>| {
        let word = word?;
        args::mistyped_subcommand(word).map(|meant| args::mistyped_subcommand_error(word, &meant))
    };
    let args = args::Args::try_parse_from(&argv).map_err(|e| match e.kind() {
        clap::error::ErrorKind::UnknownArgument
        | clap::error::ErrorKind::InvalidSubcommand
        | clap::error::ErrorKind::MissingRequiredArgument
        | clap::error::ErrorKind::ArgumentConflict => {
            Error::Usage(mistyped(argv.get(1).and_then(|a| a.to_str())).unwrap_or(e))
        }
        _ => Error::Usage(e),
    })?;
    if args.command.is_none() && args.input.from_log.is_none() {
        if let Some(e) = mistyped(args.input.packet.first().map(String::as_str)) {
            return Err(Error::Usage(e));
        }
    }
    match &args.command {
        Some(args::Command::Verify(v)) => verify(&config::Inputs::load(&v.input)?, v.fix, out),
        Some(args::Command::Snapshot(a)) => cmd_snapshot::run(a, out),
        Some(args::Command::Trace(a)) => cmd_trace::run(a, out),
        Some(args::Command::Counters(a)) => cmd_counters::run(a, out),
        Some(args::Command::Log(a)) => cmd_log::run_log(a, out),
        Some(args::Command::ExplainTrace(a)) => cmd_log::run_explain_trace(a, out),
        Some(args::Command::Conntrack(a)) => cmd_log::run_conntrack(a, out),
        Some(args::Command::Pcap(a)) => cmd_pcap::run(a, out),
        Some(args::Command::Path(a)) => cmd_path::run(a, out),
        Some(args::Command::Ipftest(a)) => cmd_ipftest::run(a, out),
        None => match cmd_bsd::answer(&args, out)? {
            Some(conclusion) => Ok(conclusion),
            None => run(&Config::from_env(&args)?, out),
        },
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
    if let Some(spec) = config.unused_assumption(&outcome) {
        return Err(Error::Input(format!(
            "--assume {spec}: the rule at that line decided nothing unknown for this packet \
             (the packet does not reach it, or it matches or not without an Unknown), so \
             nothing was assumed; drop it, or point it at the line the answer lists as unknown"
        )));
    }
    let ping = analysis::ping_contrast(
        &config.ruleset,
        &config.host,
        &config.packet,
        &outcome,
        &config.options,
    );
    let mut facts = analysis::AnswerFacts::of(&config.ruleset, &outcome)
        .with_firewalld_zone(&config.ruleset, &config.tool_config, &outcome)
        .with_connection(
            &config.ruleset,
            &config.host,
            &config.packet,
            &config.options,
        );
    if let Some(family) = config.notes.iter().find_map(|n| match n {
        InputNote::NoRulesOfPacketFamily { family } => Some(*family),
        _ => None,
    }) {
        facts = facts.without_rules_of_family(family);
    }
    let remedies = if !config.fix {
        None
    } else if facts.connection == Connection::AnswerLost {
        // The request passes; the answer is what this host stops.
        analysis::remedy::remedies_for_lost_answer(
            &config.ruleset,
            &config.host,
            &config.packet,
            &config.options,
            &config.tool_config,
        )
    } else {
        analysis::remedy::remedies(
            &config.ruleset,
            &config.host,
            &config.packet,
            &outcome,
            &config.options,
            &config.tool_config,
        )
    };
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
        remedies: remedies.as_ref(),
        rule_reasons: Some(&rule_reasons),
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
    Ok(Conclusion::of(&facts))
}

/// `whyblocked verify`: the packet through the real kernel in throwaway namespaces,
/// compared with the simulation (see [`oracle::verify()`]); with `fix`, the suggested fix
/// applied and the whole connection sent ([`verify_fix`]).
pub fn verify<W: Write>(
    inputs: &config::Inputs,
    fix: bool,
    out: &mut W,
) -> Result<Conclusion, Error> {
    if fix {
        return verify_fix(inputs, out);
    }
    let report = oracle::verify(
        &kernel_files(inputs),
        &inputs.ruleset,
        &inputs.host,
        &inputs.packet,
    )
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

/// The rules files as the oracle loads them: iptables-save files with iptables-restore and
/// nft files (text or JSON, told apart by their content) with `nft -f`; the family is read
/// from the file.
fn kernel_files(inputs: &config::Inputs) -> Vec<(model::SourceFile, model::Family)> {
    inputs
        .sources
        .iter()
        .cloned()
        .chain(
            inputs
                .nft_sources
                .iter()
                .map(|s| (s.clone(), model::Family::Inet)),
        )
        .collect()
}

/// `whyblocked verify --fix`: the primary remedy's rules applied in a throwaway test host
/// and the whole connection (request, reply, data both ways) sent through the kernel,
/// compared step by step with the simulated exchange. Agrees only when the whole exchange
/// passes in the kernel, as simulated.
pub fn verify_fix<W: Write>(inputs: &config::Inputs, out: &mut W) -> Result<Conclusion, Error> {
    use analysis::remedy::exchange;
    let options = engine::Options::default();
    let outcome = engine::simulate(&inputs.ruleset, &inputs.host, &inputs.packet, &options);
    let found = analysis::remedy::remedies(
        &inputs.ruleset,
        &inputs.host,
        &inputs.packet,
        &outcome,
        &options,
        &inputs.tool_config,
    )
    .or_else(|| {
        // It passes, and its answer may be what this host stops.
        analysis::remedy::remedies_for_lost_answer(
            &inputs.ruleset,
            &inputs.host,
            &inputs.packet,
            &options,
            &inputs.tool_config,
        )
    })
    .ok_or_else(|| {
        Error::Input("verify --fix: neither the packet nor its answer is blocked by a rule or policy; there is no fix to verify".into())
    })?;
    let remedy = found
        .primary()
        .ok_or_else(|| Error::Input("verify --fix: no remedy was found".into()))?;
    let simulated = remedy.exchange.as_ref().filter(|_| !remedy.kernel_rules.is_empty()).ok_or_else(|| {
        Error::Input("verify --fix: the suggested fix is not a firewall rule, so it cannot be applied in a test host".into())
    })?;
    // The kernel's exchange starts where the simulated one does (the connection's first
    // packet, when the packet asked about is a later one).
    let request = simulated
        .steps
        .first()
        .map_or_else(|| inputs.packet.clone(), |s| s.packet.clone());
    let kernel = oracle::exchange::verify_fix(
        &kernel_files(inputs),
        &inputs.ruleset,
        &inputs.host,
        &request,
        simulated,
        &remedy.kernel_rules,
    )
    .map_err(|e| Error::Input(format!("verify --fix: {e}")))?;
    let agreement = oracle::exchange::compare(simulated, &kernel);
    let steps: Vec<(
        exchange::StepRole,
        &model::Packet,
        &model::kernel_walk::KernelWalk,
    )> = kernel
        .steps
        .iter()
        .map(|s| (s.role, &s.packet, &s.walk))
        .collect();
    write!(
        out,
        "{}",
        report::verify::render_fix_exchange(remedy, simulated, &steps, kernel.works())
    )
    .and_then(|()| out.flush())
    .map_err(Error::Output)?;
    Ok(if kernel.works() && agreement.agree() {
        Conclusion::KernelAgrees
    } else {
        Conclusion::KernelDisagrees
    })
}
