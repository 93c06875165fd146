//! Raw arguments, as typed by the user: clap parses them, nothing is read or checked
//! beyond their syntax. [`crate::config::Config`] turns them into a validated
//! configuration (step two).

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

/// The usage line: a packet (or a log line) to simulate, or a subcommand.
const USAGE: &str = "\
whyblocked [OPTIONS] --rules FILE PACKET...
       whyblocked [OPTIONS] --rules FILE --from-log LINE
       whyblocked [OPTIONS] --host SNAPSHOT PACKET...
       whyblocked <COMMAND> [ARGS]...   (whyblocked help COMMAND)";

/// The packet grammar, shown by `--help`.
const PACKET_HELP: &str = "\
PACKET:
  PROTO SRC DST [in IFACE] [out IFACE] [flags FLAGS] [type ICMPTYPE [code N]]
                [mark N] [len N] [ttl N]

  PROTO   tcp, udp, sctp, icmp, icmpv6, or a protocol number 0-255
  SRC/DST ADDR:PORT, [V6ADDR]:PORT, or a bare address; ports are required for tcp,
          udp and sctp and refused for the others; one family for both
  in      the interface it arrives on; without `in` it is locally generated
  out     where it is expected to leave (routing may disagree; the answer says so)
  flags   tcp only: letters S A P R F U E C (SA, PA, FA...) or names (syn,ack);
          a tcp packet is a SYN unless told otherwise
  type    icmp/icmpv6: a number or a name (echo-request, port-unreachable...);
          default echo-request; `code N` overrides the code
  mark    skb mark, decimal or 0x hex;  len  IP total length;  ttl  TTL on arrival

Examples:
  whyblocked --rules iptables-save.txt tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0 out eno1
  whyblocked --rules rules.v4 --host ./router tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0
  whyblocked --rules rules.v4 --from-log '[UFW BLOCK] IN=tap0 OUT=eno1 SRC=10.1.1.2 DST=10.1.0.2 PROTO=TCP SPT=1050 DPT=2175 SYN'
  whyblocked --rules rules.v4 --json udp 192.0.2.7:5353 10.0.0.1:53 in eth0
  whyblocked --rules ruleset.nft --host ./router tcp 198.51.100.7:40000 10.1.2.3:1222 in wan0
  whyblocked --rules iptables-save.txt --rules firewalld.json tcp 10.0.0.2:4000 10.0.1.2:80 in eth0
  whyblocked --rules ipf.rules --rules ipnat.rules --os solaris10 tcp 127.0.0.1:40000 127.0.0.1:22 in lo0
  whyblocked --rules pf.conf --host ./bsd-host --os openbsd tcp 203.0.113.9:50000 192.0.2.10:443 in em0

Exit status (like grep's 1 for \"no match\", 1 is an answer, not a failure; it follows what
the connection experiences, JSON `connection`):
  0  delivered, forwarded or sent, and the answer can get back
  1  dropped, rejected, queued or lost in routing; refused by the stack (nothing
     listens); or the answer cannot get back
  2  usage or input error (with --json, also a JSON `error` object on stdout)
  3  undecidable offline: Unknown matches (rate limits...) change the fate, an
     unmodelled target, no rules of the packet's family were given, or an ICMP
     error's fate rests on the conntrack table";

/// Which firewall rule is blocking me, and what do I change?
///
/// Simulates a packet through a Linux host's real ruleset (iptables-save, `nft list ruleset`
/// or `nft -j list ruleset` output, several at once for a mixed host; addresses,
/// routes, sysctls, listening sockets, conntrack) the way the kernel walks it, and says
/// what happens to it, which rule decided, what the sender sees, and the narrowest rule
/// that would let it through. Offline: nothing on the host is touched.
#[derive(Debug, Parser)]
#[command(name = "whyblocked", version, after_long_help = PACKET_HELP)]
#[command(args_conflicts_with_subcommands = true, override_usage = USAGE)]
#[command(arg_required_else_help = true)]
pub struct Args {
    /// Later subcommands (`verify`, `snapshot`, `trace`, ...); none means "simulate".
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The host's rules, state and the packet.
    #[command(flatten)]
    pub input: InputArgs,

    /// Print the answer as JSON (schema: see the README).
    #[arg(long)]
    pub json: bool,

    /// Decide an Unknown match (rate limit, recent, ...) instead of branching: the rule at
    /// LINE (of FILE) takes it as matching or not. Repeatable.
    #[arg(long = "assume", value_name = "[FILE:]LINE=match|nomatch")]
    pub assume: Vec<String>,

    /// Do not search for a fix.
    #[arg(long = "no-fix")]
    pub no_fix: bool,

    /// When to use colours (`auto`: on a terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// The platform of IPFilter or pf rules (`ipf.conf`, `ipnat.conf`, `ippool.conf`,
    /// `pf.conf`): it decides whether loopback is filtered and what a blocked sender sees.
    /// Without it, the platform most common for the filter is assumed, and said.
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
}

/// Subcommands. Each new one (`verify`, `snapshot`, `trace`, `counters`, `log`, `pcap`)
/// is a variant here with its own argument struct, help and tests.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Prove the prediction against the real kernel: build a throwaway copy of the host in
    /// network namespaces (the host's own firewall is never touched), load the rules, send
    /// the packet, read the kernel's trace and compare it with the simulation. Needs root.
    /// Exit status: 0 kernel and simulation agree, 1 they differ, 2 error.
    #[command(after_long_help = PACKET_HELP)]
    Verify(VerifyArgs),
    Snapshot(crate::cmd_snapshot::SnapshotArgs),
    Trace(crate::cmd_trace::TraceArgs),
    Counters(crate::cmd_counters::CountersArgs),
    Log(crate::cmd_log::LogArgs),
    ExplainTrace(crate::cmd_log::ExplainTraceArgs),
    Conntrack(crate::cmd_log::ConntrackArgs),
    Pcap(crate::cmd_pcap::PcapArgs),
    Path(crate::cmd_path::PathArgs),
    Ipftest(crate::cmd_ipftest::IpftestArgs),
}

/// `whyblocked verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Apply the suggested fix (the primary remedy's rules) in the test host and send the
    /// whole connection through the kernel: the request, the reply, data both ways.
    #[arg(long = "fix")]
    pub fix: bool,
}

/// The inputs every command reads: rules, ipsets, host state, the packet.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// A rules file: iptables-save, ip6tables-save, `nft list ruleset` (with or without -a)
    /// or `nft -j list ruleset`, told apart by content. Repeat for several; files of
    /// different dialects make one mixed host (every base chain on a hook runs, in priority
    /// order, whichever tool wrote it). On BSD and Solaris: `ipf.conf` with `ipnat.conf`
    /// and `ippool.conf`, or one `pf.conf` (see --os).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,

    /// Read every --rules file as this dialect instead of telling it from the content.
    #[arg(long = "format", value_enum, value_name = "DIALECT")]
    pub format: Option<RulesFormat>,

    /// An `ipset save` file whose sets `-m set --match-set` rules refer to.
    #[arg(long = "ipset", value_name = "FILE")]
    pub ipset: Vec<PathBuf>,

    /// A directory with the host's state (ip -j addr/route/rule/link/neigh, sysctl -a, ss -ltnuH,
    /// conntrack -L, ipset save), or a `whyblocked snapshot` file (its rules are used too,
    /// unless --rules is given); without it, the packet spec's `in`/`out` say the way. With
    /// IPFilter or pf rules: a directory with `ifconfig -a` output in ifconfig.txt and
    /// `netstat -rn` output in netstat.txt, and copies of /etc/passwd and /etc/group as
    /// passwd and group (pf's `user`/`group` names; without both, names are taken as written).
    #[arg(long = "host", value_name = "DIR|FILE")]
    pub host: Option<PathBuf>,

    /// Take the host state and rules from this host, now (a `whyblocked snapshot` in
    /// memory; read-only; root sees everything).
    #[arg(long, conflicts_with = "host")]
    pub live: bool,

    /// Family of every iptables-save --rules file: `ip` (iptables-save) or `ip6`
    /// (ip6tables-save); guessed from the name and contents when not given. nft rulesets
    /// name their families themselves.
    #[arg(long, value_enum, value_name = "FAMILY")]
    pub family: Option<FamilyArg>,

    /// Build the packet from a kernel log line (LOG target / nft log, e.g. a
    /// `[UFW BLOCK] IN=... OUT=...` line): its IN= and OUT= become the interfaces.
    #[arg(long = "from-log", value_name = "LINE", conflicts_with = "packet")]
    pub from_log: Option<String>,

    /// The packet (see PACKET below).
    #[arg(value_name = "PACKET", required_unless_present = "from_log")]
    pub packet: Vec<String>,
}

/// `--family`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    /// IPv4 (iptables-save).
    Ip,
    /// IPv6 (ip6tables-save).
    Ip6,
}

/// `--format`: the dialect of the --rules files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// iptables-save / ip6tables-save output.
    Iptables,
    /// `nft list ruleset` text (or an `nft -f` file).
    Nft,
    /// `nft -j list ruleset` JSON.
    #[value(name = "nft-json")]
    NftJson,
    /// IPFilter's filter rules (`ipf.conf`).
    Ipf,
    /// IPFilter's NAT rules (`ipnat.conf`).
    Ipnat,
    /// IPFilter's address pools (`ippool.conf`).
    Ippool,
    /// pf's `pf.conf`.
    Pf,
}

impl RulesFormat {
    /// The Linux dialect this names; `None` for the BSD filters' languages.
    pub fn linux_dialect(self) -> Option<model::Dialect> {
        match self {
            RulesFormat::Iptables => Some(model::Dialect::Iptables),
            RulesFormat::Nft => Some(model::Dialect::NftText),
            RulesFormat::NftJson => Some(model::Dialect::NftJson),
            RulesFormat::Ipf | RulesFormat::Ipnat | RulesFormat::Ippool | RulesFormat::Pf => None,
        }
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `whyblocked help --help` (or `help trace -h`) as `help` (`help trace`): clap's `help`
/// subcommand takes no options, and asking for help about help is still asking for help.
pub fn without_help_flags_after_help(argv: Vec<OsString>) -> Vec<OsString> {
    if argv.get(1).and_then(|a| a.to_str()) != Some("help") {
        return argv;
    }
    argv.into_iter()
        .enumerate()
        .filter(|(i, a)| *i < 2 || !matches!(a.to_str(), Some("-h" | "--help")))
        .map(|(_, a)| a)
        .collect()
}

/// Whether the user asked for JSON (`--json` anywhere before a `--`), read from the raw
/// words so that errors found before or while parsing them are JSON too.
pub fn json_requested(argv: &[OsString]) -> bool {
    argv.iter()
        .skip(1)
        .map(|a| a.to_str())
        .take_while(|a| *a != Some("--"))
        .any(|a| a == Some("--json"))
}

/// The subcommand `word` was probably meant to be: `word` is not a protocol the packet
/// grammar knows (so it is no packet) and is one or two edits (a transposition counts as
/// one) from a subcommand's name.
pub fn mistyped_subcommand(word: &str) -> Option<String> {
    if word.starts_with('-') || is_packet_protocol(word) {
        return None;
    }
    let typed = word.to_ascii_lowercase();
    Args::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .chain(["help".to_string()])
        .map(|name| (edit_distance(&typed, &name), name))
        .filter(|(d, _)| (1..=2).contains(d) && *d < typed.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

/// The first word of the packet grammar (`PROTO`) accepts `word`: the packet parser's
/// error, if any, is past it.
fn is_packet_protocol(word: &str) -> bool {
    match frontends::packet_spec::parse(&[word.to_string()]) {
        Ok(_) => true,
        Err(e) => e.span.start > 0,
    }
}

/// Optimal string alignment distance: insertions, deletions, substitutions and
/// transpositions of neighbours each cost one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The usage error for a mistyped subcommand, with clap's usage lines under it.
pub fn mistyped_subcommand_error(typed: &str, meant: &str) -> clap::Error {
    Args::command().error(
        clap::error::ErrorKind::InvalidSubcommand,
        report::diagnostic::unknown_subcommand(typed, meant),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn options_may_follow_the_packet() {
        let a = Args::try_parse_from([
            "whyblocked",
            "tcp",
            "1.2.3.4:5",
            "6.7.8.9:22",
            "--json",
            "--rules",
            "r",
        ])
        .unwrap();
        assert!(a.json);
        assert_eq!(a.input.packet, ["tcp", "1.2.3.4:5", "6.7.8.9:22"]);
        assert_eq!(a.input.rules, [PathBuf::from("r")]);
    }

    #[test]
    fn a_packet_or_a_log_line_is_required() {
        let e = Args::try_parse_from(["whyblocked", "--rules", "r"]).unwrap_err();
        assert!(e.use_stderr());
        let a = Args::try_parse_from(["whyblocked", "--from-log", "IN=eth0 SRC=1.2.3.4"]).unwrap();
        assert!(a.input.packet.is_empty());
    }

    #[test]
    fn verify_takes_the_same_inputs() {
        let a = Args::try_parse_from([
            "whyblocked",
            "verify",
            "--rules",
            "r",
            "tcp",
            "1.2.3.4:5",
            "6.7.8.9:22",
            "in",
            "eth0",
        ])
        .unwrap();
        match a.command {
            Some(Command::Verify(v)) => assert_eq!(v.input.rules, [PathBuf::from("r")]),
            _ => panic!("verify not parsed"),
        }
    }

    #[test]
    fn c4_a_mistyped_subcommand_is_suggested_unless_it_is_a_protocol() {
        assert_eq!(mistyped_subcommand("tarce").as_deref(), Some("trace"));
        assert_eq!(mistyped_subcommand("pcpa").as_deref(), Some("pcap"));
        assert_eq!(
            mistyped_subcommand("conntrak").as_deref(),
            Some("conntrack")
        );
        assert_eq!(mistyped_subcommand("Verfiy").as_deref(), Some("verify"));
        // `sctp` is two edits from `pcap`, but the packet grammar knows it.
        assert_eq!(mistyped_subcommand("sctp"), None);
        assert_eq!(mistyped_subcommand("6"), None);
        // Far from every name, or a subcommand already: no suggestion.
        assert_eq!(mistyped_subcommand("banana"), None);
        assert_eq!(mistyped_subcommand("trace"), None);
        assert_eq!(mistyped_subcommand("--json"), None);
    }

    #[test]
    fn c4_help_about_help_is_help() {
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            without_help_flags_after_help(os(&["whyblocked", "help", "--help"])),
            os(&["whyblocked", "help"])
        );
        assert_eq!(
            without_help_flags_after_help(os(&["whyblocked", "help", "trace", "-h"])),
            os(&["whyblocked", "help", "trace"])
        );
        let plain = os(&["whyblocked", "--rules", "r", "--help"]);
        assert_eq!(without_help_flags_after_help(plain.clone()), plain);
        let e = Args::try_parse_from(os(&["whyblocked", "help"])).unwrap_err();
        assert!(!e.use_stderr(), "help is printed on stdout, exit 0");
    }

    #[test]
    fn c4_json_is_requested_before_a_double_dash_only() {
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(json_requested(&os(&["whyblocked", "tarce", "--json"])));
        assert!(!json_requested(&os(&[
            "whyblocked",
            "counters",
            "--watch",
            "--",
            "x",
            "--json"
        ])));
        assert!(!json_requested(&os(&["whyblocked", "tcp"])));
    }
}
