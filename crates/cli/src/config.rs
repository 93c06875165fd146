//! Step two: raw [`Args`] into a validated [`Config`]. All input is read and parsed here,
//! so every input error surfaces before anything is simulated.

use crate::args::{Args, ColorChoice, FamilyArg, InputArgs, RulesFormat};
use crate::Error;
use engine::{Options, UnknownSite};
use model::note::InputNote;
use model::tool_config::ToolConfig;
use model::{Family, Host, Packet, RuleRef, Ruleset, SourceFile};
use std::io::IsTerminal;
use std::path::Path;

/// How to print the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text { color: bool },
    Json,
}

/// Everything a simulation needs, read and checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub ruleset: Ruleset,
    pub host: Host,
    pub packet: Packet,
    pub options: Options,
    pub format: Format,
    /// Search for a fix when the packet is blocked.
    pub fix: bool,
    /// How inputs were read when it was a guess; shown with the report's assumptions.
    pub notes: Vec<InputNote>,
    /// The firewall tools' own configuration, from a host directory or snapshot.
    pub tool_config: ToolConfig,
    /// Each `--assume` as given, with the sites it decides: one that decides nothing on the
    /// packet's path is an error, never silently ignored.
    pub assumed: Vec<(String, Vec<UnknownSite>)>,
}

/// The inputs, read and parsed: what both simulating and `verify` need.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub ruleset: Ruleset,
    pub host: Host,
    pub packet: Packet,
    /// Each iptables-save rules file with the family it was read as (what
    /// `iptables-restore` needs).
    pub sources: Vec<(SourceFile, Family)>,
    /// Each nft rules file (text or JSON), as read.
    pub nft_sources: Vec<SourceFile>,
    /// How inputs were read when it was a guess.
    pub notes: Vec<InputNote>,
    /// The firewall tools' own configuration, from a host directory or snapshot.
    pub tool_config: ToolConfig,
}

impl Inputs {
    /// Reads and parses the rules, ipsets, host state and packet named by `args`.
    pub fn load(args: &InputArgs) -> Result<Inputs, Error> {
        crate::cmd_bsd::refuse_bsd_rules(args)?;
        let family = args.family.map(|f| match f {
            FamilyArg::Ip => Family::Ip,
            FamilyArg::Ip6 => Family::Ip6,
        });

        let options = frontends::LoadOptions {
            dialect: args.format.and_then(RulesFormat::linux_dialect),
            family,
        };
        let frontends::LoadedRules {
            mut ruleset,
            iptables: mut sources,
            nft: nft_sources,
            mut notes,
        } = frontends::load_rules(&args.rules, options).map_err(load_error)?;
        for path in &args.ipset {
            let source = read_source(path)?;
            ruleset
                .ipsets
                .extend(frontends::host::ipset::parse(&source).map_err(Error::Parse)?);
        }
        // `--host DIR`, `--host FILE` (a snapshot, with its rules) or `--live`.
        let (host, tool_config, host_gave_rules) =
            crate::cmd_snapshot::load_host(args, &mut ruleset, &mut sources, &mut notes)?;
        owners::recognise(&mut ruleset, &tool_config);
        if args.rules.is_empty() && !host_gave_rules {
            notes.push(InputNote::NoRules);
        }

        let packet = match &args.from_log {
            Some(line) => packet_from_log(line)?,
            None => {
                let spec = frontends::packet_spec::parse(&args.packet).map_err(Error::Parse)?;
                if spec.zero_port {
                    notes.push(InputNote::PortZero);
                }
                spec.into_packet()
            }
        };
        // Rules of the packet's family are tables of the IP hooks that see it (`ip`, `ip6`,
        // `inet`): bridge chains never see a routed packet and netdev chains only filter a
        // device's ingress or egress, neither stands in for the family's firewall. Rules
        // from a snapshot or `--live` are the kernel's whole listing of every family: there,
        // no table of the family proves it has no firewall.
        if !args.rules.is_empty()
            && !ruleset.tables.iter().any(|t| {
                matches!(t.family, Family::Ip | Family::Ip6 | Family::Inet)
                    && t.family.sees(packet.is_ipv6())
            })
        {
            notes.push(InputNote::NoRulesOfPacketFamily {
                family: if packet.is_ipv6() {
                    Family::Ip6
                } else {
                    Family::Ip
                },
            });
        }
        Ok(Inputs {
            ruleset,
            host,
            packet,
            sources,
            nft_sources,
            notes,
            tool_config,
        })
    }
}

impl Config {
    /// Reads and parses every input named by `args`. `stdout_is_terminal` and `no_color`
    /// (the `NO_COLOR` variable is set and not empty) decide `--color auto`.
    pub fn from_args(
        args: &Args,
        stdout_is_terminal: bool,
        no_color: bool,
    ) -> Result<Config, Error> {
        let Inputs {
            ruleset,
            host,
            packet,
            notes,
            tool_config,
            ..
        } = Inputs::load(&args.input)?;

        let mut options = Options::default();
        let mut assumed = Vec::new();
        for a in &args.assume {
            let sites = parse_assume(a, &ruleset)?;
            assumed.push((a.clone(), sites.iter().map(|(s, _)| *s).collect()));
            options.assume.extend(sites);
        }

        let format = if args.json {
            Format::Json
        } else {
            Format::Text {
                color: paints(args.color, stdout_is_terminal, no_color),
            }
        };

        Ok(Config {
            ruleset,
            host,
            packet,
            options,
            format,
            fix: !args.no_fix,
            notes,
            tool_config,
            assumed,
        })
    }

    /// The `--assume` that decided no Unknown match on any branch of `outcome`: the rule at
    /// its line was not reached by this packet, or decided it without an Unknown.
    pub fn unused_assumption(&self, outcome: &engine::Outcome) -> Option<&str> {
        self.assumed.iter().find_map(|(spec, sites)| {
            let used = outcome.branches.iter().any(|b| {
                b.choices
                    .iter()
                    .any(|c| c.assumed_by_user && sites.contains(&c.site))
            });
            (!used).then_some(spec.as_str())
        })
    }

    /// [`Config::from_args`] with the real terminal and environment.
    pub fn from_env(args: &Args) -> Result<Config, Error> {
        Config::from_args(args, std::io::stdout().is_terminal(), no_color())
    }
}

/// Whether `--color CHOICE` paints, on a terminal or not, with `NO_COLOR` set or not.
fn paints(choice: ColorChoice, stdout_is_terminal: bool, no_color: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout_is_terminal && !no_color,
    }
}

/// The `NO_COLOR` variable is set and not empty.
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether `--color CHOICE` paints this process's standard output.
pub fn paints_stdout(choice: ColorChoice) -> bool {
    paints(choice, std::io::stdout().is_terminal(), no_color())
}

fn read_source(path: &Path) -> Result<SourceFile, Error> {
    frontends::read_source(path).map_err(load_error)
}

/// A rules-loading error as the command reports it.
pub(crate) fn load_error(e: frontends::LoadError) -> Error {
    match e {
        frontends::LoadError::Parse(p) => Error::Parse(p),
        other => Error::Input(other.to_string()),
    }
}

/// The packet a kernel log line describes, as it arrived; its `IN=`/`OUT=` become the
/// interfaces. A line with both `IN=` and `OUT=` (and no bridge ports) was logged after
/// routing chose to forward it, and `ip_forward()`/`ip6_forward()` decrement the TTL (hop
/// limit) before the FORWARD hook: the arrival TTL is one more than the line shows.
fn packet_from_log(line: &str) -> Result<Packet, Error> {
    let source = SourceFile::new("<log line>", line.trim_end().to_string());
    let record = evidence::log_line::parse(&source).map_err(Error::Parse)?;
    let mut packet = record.packet;
    // Without `TTL=` the packet gets the default arrival TTL: nothing to restore.
    let forwarded = record.ttl_logged
        && record.iif.is_some()
        && record.oif.is_some()
        && record.physin.is_none()
        && record.physout.is_none();
    if forwarded {
        packet.ttl = packet.ttl.checked_add(1).ok_or_else(|| {
            Error::Input(
                "--from-log: TTL=255 on a forwarded line (IN= and OUT=): forwarding decrements \
                 the TTL before the line is logged, so no arrival TTL fits"
                    .to_string(),
            )
        })?;
    }
    if packet.iif.is_none() {
        packet.iif = record.iif;
    }
    if packet.oif.is_none() {
        packet.oif = record.oif;
    }
    Ok(packet)
}

/// `[FILE:]LINE=match|nomatch`: every Unknown match of the rule(s) at that line is decided.
fn parse_assume(spec: &str, ruleset: &Ruleset) -> Result<Vec<(UnknownSite, bool)>, Error> {
    let bad = |why: &str| {
        Error::Input(format!(
            "--assume {spec}: {why} (expected [FILE:]LINE=match|nomatch)"
        ))
    };
    let (at, value) = spec.split_once('=').ok_or_else(|| bad("no `=`"))?;
    let matched = match value.trim().to_ascii_lowercase().as_str() {
        "match" | "matches" | "yes" | "true" | "1" => true,
        "nomatch" | "no-match" | "no" | "false" | "0" => false,
        _ => return Err(bad("the value must be match or nomatch")),
    };
    let (file, line) = match at.rsplit_once(':') {
        Some((f, l)) => (Some(f), l),
        None => (None, at),
    };
    let line: u32 = line
        .trim()
        .parse()
        .map_err(|_| bad("the line is not a number"))?;
    let file_matches = |name: &str| match file {
        None => true,
        Some(f) => name == f || Path::new(name).file_name() == Path::new(f).file_name(),
    };
    let mut sites = Vec::new();
    for (ti, table) in ruleset.tables.iter().enumerate() {
        for (ci, chain) in table.chains.iter().enumerate() {
            for (ri, rule) in chain.rules.iter().enumerate() {
                if rule.origin.line != line || !file_matches(&rule.origin.file) {
                    continue;
                }
                // Every step is a site: a match may be Unknown only when evaluated (a socket
                // owner on input, addrtype without host state), and the engine consults
                // `--assume` only where the answer is Unknown.
                let at = RuleRef {
                    table: ti,
                    chain: ci,
                    rule: ri,
                };
                let steps = 0..rule.body.len();
                sites.extend(steps.map(|step| (UnknownSite { rule: at, step }, matched)));
            }
        }
    }
    if sites.is_empty() {
        return Err(bad("no rule at that line"));
    }
    Ok(sites)
}
