//! The evidence commands: `whyblocked log`, `whyblocked explain-trace`,
//! `whyblocked conntrack`. Each reads a file of evidence, and with `--rules` (and `--host`)
//! simulates what it shows and names the rules; the work is in `evidence`,
//! `analysis::flows` and `report::{log, traces, conntrack}`.

use crate::args::{FamilyArg, RulesFormat};
use crate::{Conclusion, Error};
use engine::Options;
use model::{Host, Ruleset};
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// The rules and host state the evidence is checked against (all optional).
#[derive(Debug, Clone, clap::Args)]
pub struct RulesArgs {
    /// A rules file (iptables-save, ip6tables-save, `nft list ruleset`, `nft -j list
    /// ruleset`); repeat for several. Without it the evidence is only read, not simulated.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// An `ipset save` file the rules refer to.
    #[arg(long = "ipset", value_name = "FILE")]
    pub ipset: Vec<PathBuf>,
    /// The host's state: a directory (ip -j addr/route/rule/link/neigh, sysctl -a, ss, conntrack -L)
    /// or a `whyblocked snapshot` file. `pcap` takes it several times: the hosts of a
    /// topology its failed flows are walked across.
    #[arg(long = "host", value_name = "DIR|FILE")]
    pub host: Vec<PathBuf>,
    /// Family of every iptables-save --rules file (guessed when not given).
    #[arg(long, value_enum, value_name = "FAMILY")]
    pub family: Option<FamilyArg>,
    /// Dialect of every --rules file (told from the content when not given).
    #[arg(long = "format", value_enum, value_name = "DIALECT")]
    pub format: Option<RulesFormat>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl RulesArgs {
    /// The one host's state, when given: a second `--host` is an error here.
    pub fn one_host(&self) -> Result<Option<PathBuf>, Error> {
        match self.host.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.clone())),
            _ => Err(Error::Input(
                "--host: give one host's state here (several only for `pcap`, whose failed \
                 flows are walked across them)"
                    .to_string(),
            )),
        }
    }
}

/// Read a firewall log (kernel LOG / nft `log` lines: ufw.log, syslog, `dmesg`, `dmesg -T`,
/// `journalctl` short or `-o json`; any prefix; IPv4 and IPv6), group its lines into flows
/// (addresses, ports, protocol, interfaces, prefix) and, with --rules, simulate each flow
/// once and name the rule that decides it, with a summary per deciding rule. Flows are
/// listed most lines first (`--top N`). Malformed lines are counted and the first few
/// shown; they never stop the scan. Exit status: 0 read, 2 input error.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// The log file; `-` or nothing reads standard input.
    #[arg(value_name = "FILE|-")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Keep at most this many distinct flows (memory bound); further lines are counted.
    #[arg(long = "max-flows", value_name = "N", default_value_t = 100_000)]
    pub max_flows: usize,
    /// Never draw the progress bar (drawn on stderr for big files when it is a terminal).
    #[arg(long = "no-progress")]
    pub no_progress: bool,
    /// List the N flows with the most lines (0: all). Without it, the text lists the first
    /// 50 of a longer log and says how many are left out; JSON lists all.
    #[arg(long = "top", value_name = "N")]
    pub top: Option<usize>,
}

/// Explain a kernel trace: iptables-legacy `TRACE:` lines (dmesg), `xtables-monitor --trace`
/// output or `nft monitor trace` output (told apart by content). Each traced packet's path
/// is shown with the rule text and file:line of the given ruleset, its fate stated (a REJECT
/// the kernel prints as a drop is named as such; an accept has no closing event), and it is
/// compared with the simulation of the same packet: divergences are flagged.
/// Exit status: 0 the trace and the simulation agree (or no --rules), 1 they diverge,
/// 2 input error.
#[derive(Debug, clap::Args)]
pub struct ExplainTraceArgs {
    /// The trace file; `-` reads standard input.
    #[arg(value_name = "FILE|-")]
    pub file: PathBuf,
    #[command(flatten)]
    pub rules: RulesArgs,
    /// `nft -a list ruleset` of the traced host, to place rules by handle (and nft rule text)
    /// when the ruleset was given in another dialect.
    #[arg(long = "listing", value_name = "FILE")]
    pub listing: Option<PathBuf>,
}

/// Read `conntrack -E` events (or a `conntrack -L` listing; with or without
/// `-o timestamp,extended`) and say per flow what they prove: a `[NEW]` means the first
/// packet passed this host's firewall; `[NEW] ... [UNREPLIED]` then `[DESTROY]` in CLOSE
/// means a reset answered (closed port); no event means dropped before conntrack or
/// untracked. Give a PACKET to ask about one flow; with --rules it is simulated and checked
/// against the events. `--table-out` writes the conntrack table the events leave, as
/// `conntrack -L` lines (a host directory's conntrack.txt).
/// Exit status: 0 read (and agree), 1 the events and the simulation disagree, 2 input error.
#[derive(Debug, clap::Args)]
pub struct ConntrackArgs {
    /// The events file; `-` reads standard input.
    #[arg(value_name = "FILE|-")]
    pub file: PathBuf,
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Write the table left after the last event, as `conntrack -L` lines.
    #[arg(long = "table-out", value_name = "FILE")]
    pub table_out: Option<PathBuf>,
    /// A packet to ask about (the PACKET grammar of `whyblocked`).
    #[arg(
        value_name = "PACKET",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub packet: Vec<String>,
}

/// Rules, host and notes, read through the same loader as the main command (it needs a
/// packet, so a placeholder is given and dropped, with the note it causes).
fn load(r: &RulesArgs, packet: &[String]) -> Result<(Ruleset, Host, Option<model::Packet>), Error> {
    let asked = !packet.is_empty();
    let placeholder = || ["icmp", "0.0.0.0", "0.0.0.0"].map(String::from).to_vec();
    let input = crate::args::InputArgs {
        rules: r.rules.clone(),
        format: r.format,
        ipset: r.ipset.clone(),
        host: r.one_host()?,
        live: false,
        family: r.family,
        from_log: None,
        packet: if asked {
            packet.to_vec()
        } else {
            placeholder()
        },
    };
    let inputs = crate::config::Inputs::load(&input)?;
    Ok((inputs.ruleset, inputs.host, asked.then_some(inputs.packet)))
}

/// An opened input: the reader, its size when known (for the progress bar), its name.
type Opened = (Box<dyn BufRead>, Option<u64>, String);

/// The evidence file at `path` (`-` is standard input), refused when it is empty or its
/// first bytes are binary: a capture or a compressed log is named for what it is, never
/// scanned as text.
fn open(path: &Path, expected: &str) -> Result<Opened, Error> {
    let (mut reader, size, name): Opened = if path.as_os_str() == "-" {
        (
            Box::new(BufReader::new(io::stdin())),
            None,
            "<stdin>".into(),
        )
    } else {
        let f = File::open(path)
            .map_err(|e| Error::Input(format!("cannot read {}: {e}", path.display())))?;
        let size = f.metadata().ok().map(|m| m.len());
        (
            Box::new(BufReader::with_capacity(1 << 16, f)),
            size,
            path.display().to_string(),
        )
    };
    let head = reader
        .fill_buf()
        .map_err(|e| Error::Input(format!("cannot read {name}: {e}")))?;
    if head.is_empty() {
        // What `dmesg`, `journalctl -k` and `conntrack -E` leave in a file when not run as
        // root: read as "no events", it would be an answer without ground.
        return Err(Error::Input(format!(
            "{name} is empty (expected {expected}), so there is nothing to read: `dmesg`, `journalctl -k` \
             and `conntrack -E`/`-L` write nothing to a file when they are not run as root \
             (their error goes to the terminal): run them with sudo"
        )));
    }
    let head = &head[..head.len().min(model::source::SNIFF_LEN)];
    if let Some(kind) = model::source::BinaryKind::of(head) {
        let not_text = frontends::NotText {
            file: name,
            kind,
            expected: expected.to_string(),
        };
        return Err(Error::Input(not_text.to_string()));
    }
    Ok((reader, size, name))
}

/// The whole evidence file at `path` as text (see [`open`]); bytes that are not UTF-8 are
/// kept escaped (`<NN>`).
fn read_all(path: &Path, expected: &str) -> Result<(String, String), Error> {
    let (mut r, _, name) = open(path, expected)?;
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)
        .map_err(|e| Error::Input(format!("cannot read {name}: {e}")))?;
    match model::source::DecodedText::decode(&bytes) {
        Ok(decoded) => Ok((decoded.text, name)),
        Err(kind) => Err(Error::Input(
            frontends::NotText {
                file: name,
                kind,
                expected: expected.to_string(),
            }
            .to_string(),
        )),
    }
}

/// A progress line on stderr: only for files above 32 MiB, only on a terminal.
struct Progress {
    total: Option<u64>,
    on: bool,
}

impl Progress {
    fn tick(&self, done: u64) {
        if !self.on {
            return;
        }
        if let Some(t) = self.total.filter(|&t| t > 0) {
            let pct = (done.min(t) * 100) / t;
            let _ = write!(
                io::stderr(),
                "\r  reading: {pct:>3}% ({} of {} MiB)",
                done >> 20,
                t >> 20
            );
        }
    }
    fn done(&self) {
        if self.on {
            let _ = write!(io::stderr(), "\r{:60}\r", "");
        }
    }
}

/// `whyblocked log`.
pub fn run_log<W: Write>(a: &LogArgs, out: &mut W) -> Result<Conclusion, Error> {
    let simulate = !a.rules.rules.is_empty() || !a.rules.host.is_empty();
    let (ruleset, host, _) = if simulate {
        load(&a.rules, &[])?
    } else {
        (Ruleset::default(), Host::default(), None)
    };
    let path = a.file.clone().unwrap_or_else(|| PathBuf::from("-"));
    let (reader, size, name) = open(&path, "a kernel log")?;
    let progress = Progress {
        total: size,
        on: !a.no_progress && size.is_some_and(|s| s > 32 << 20) && io::stderr().is_terminal(),
    };
    let options = evidence::log_file::ScanOptions {
        max_flows: a.max_flows,
        ..Default::default()
    };
    let scan = evidence::log_file::scan(&name, reader, &options, &mut |b| progress.tick(b))
        .map_err(|e| Error::Input(format!("cannot read {name}: {e}")))?;
    progress.done();
    let answers = if simulate {
        analysis::flows::logs::explain_flows(&ruleset, &host, &scan.flows, &Options::default())
    } else {
        Vec::new()
    };
    if a.rules.json {
        report::log::json::render(out, &name, &scan, &ruleset, &answers, a.top)
    } else {
        report::log::text::render(out, &name, &scan, &ruleset, &answers, a.top)
    }
    .and_then(|()| out.flush())
    .map_err(Error::Output)?;
    Ok(Conclusion::Done)
}

/// `whyblocked explain-trace`.
pub fn run_explain_trace<W: Write>(a: &ExplainTraceArgs, out: &mut W) -> Result<Conclusion, Error> {
    let simulate = !a.rules.rules.is_empty() || !a.rules.host.is_empty();
    let (ruleset, host, _) = if simulate {
        load(&a.rules, &[])?
    } else {
        (Ruleset::default(), Host::default(), None)
    };
    let listing = match &a.listing {
        Some(p) => Some(evidence::nft_listing::parse(
            &read_all(p, "an `nft -a list ruleset` listing")?.0,
        )),
        None => None,
    };
    let (text, name) = read_all(&a.file, "a packet trace")?;
    let Some((tracer, file)) = evidence::trace::parse(&name, &text) else {
        return Err(Error::Input(format!(
            "{name}: no trace lines found (expected `TRACE: table:chain:rule:N IN=...` from dmesg, `PACKET:`/` TRACE:` from xtables-monitor --trace, or `trace id ...` from nft monitor trace)"
        )));
    };
    let answers = if simulate {
        analysis::flows::traces::explain_traces(
            &ruleset,
            &host,
            listing.as_ref(),
            &file.packets,
            &Options::default(),
        )
    } else {
        analysis::flows::traces::explain_traces(
            &ruleset,
            &host,
            listing.as_ref(),
            &file.packets,
            &Options::default(),
        )
        .into_iter()
        .map(|mut t| {
            t.simulated = None;
            t.divergences.clear();
            t
        })
        .collect()
    };
    if a.rules.json {
        report::traces::json::render(out, &name, tracer.name(), &file, &ruleset, &answers)
    } else {
        report::traces::text::render(out, &name, tracer.name(), &file, &ruleset, &answers)
    }
    .and_then(|()| out.flush())
    .map_err(Error::Output)?;
    // Trace lines, none of which could be read: "0 diverge" would be an all-clear without
    // ground.
    if file.packets.is_empty() {
        return Err(Error::Input(format!(
            "{name}: no traced packet could be read ({} malformed trace lines{}; the first shown above)",
            file.malformed,
            if file.orphans > 0 {
                format!(", {} events of packets whose start is missing", file.orphans)
            } else {
                String::new()
            }
        )));
    }
    Ok(if !simulate {
        Conclusion::Done
    } else if answers.iter().any(|t| !t.divergences.is_empty()) {
        Conclusion::KernelDisagrees
    } else {
        Conclusion::KernelAgrees
    })
}

/// `whyblocked conntrack`.
pub fn run_conntrack<W: Write>(a: &ConntrackArgs, out: &mut W) -> Result<Conclusion, Error> {
    let simulate = !a.rules.rules.is_empty() || !a.rules.host.is_empty();
    let (ruleset, host, packet) = if simulate || !a.packet.is_empty() {
        load(&a.rules, &a.packet)?
    } else {
        (Ruleset::default(), Host::default(), None)
    };
    let (text, name) = read_all(&a.file, "conntrack events or a conntrack -L listing")?;
    let file = evidence::conntrack_events::parse(&name, &text);
    // Lines, none of them an event or entry: not a conntrack file (an empty table is
    // only conntrack's own summary line, "0 flow entries have been shown.").
    if file.events == 0 && !text.contains("flow entries have been shown") {
        return Err(Error::Input(format!(
            "{name}: no conntrack event or entry found ({} malformed, {} other lines; expected \
             `conntrack -E` events or a `conntrack -L` listing)",
            file.malformed, file.other
        )));
    }
    let asked: Vec<_> = packet
        .iter()
        .map(|p| {
            analysis::flows::conntrack::explain_packet(
                simulate.then_some(&ruleset),
                &host,
                &file,
                p,
                &Options::default(),
            )
        })
        .collect();
    if let Some(path) = &a.table_out {
        let table: String = file
            .table_after()
            .iter()
            .map(|e| format!("{}\n", e.text))
            .collect();
        std::fs::write(path, table)
            .map_err(|e| Error::Input(format!("cannot write {}: {e}", path.display())))?;
    }
    if a.rules.json {
        report::conntrack::json::render(out, &name, &file, &ruleset, &asked)
    } else {
        report::conntrack::text::render(out, &name, &file, &ruleset, &asked)
    }
    .and_then(|()| out.flush())
    .map_err(Error::Output)?;
    Ok(if asked.iter().any(|x| x.agrees == Some(false)) {
        Conclusion::KernelDisagrees
    } else {
        Conclusion::Done
    })
}
