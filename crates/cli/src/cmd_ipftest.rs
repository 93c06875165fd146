//! `whyblocked ipftest`: IPFilter's `ipftest`, offline. Reads ipf rules (`-r`), ipnat
//! rules (`-N`), pools (`-P`) and packets in ipftest's text or hex format (`-i`), and
//! prints what ipftest prints: `pass`, `block`, `nomatch`, `bad-packet`, … per packet.

use crate::config::load_error;
use crate::{Conclusion, Error};
use engine::bsd::{Rewrite, Step};
use engine::ipf::ipftest_random::IpftestRandom;
use engine::ipf::{Check, Ipf, IpfState, Tuning};
use frontends::ipf::{
    parse_ipf, parse_ipnat, parse_ippool, parse_pool_file, parse_whois_file, ParseOptions,
};
use frontends::ipftest::{self, Format};
use frontends::NonUtf8;
use model::expr::{Undecidable, Unmodelled};
use model::ipf::pool::{PoolDef, PoolSource};
use model::ipf::{IpFamily, IpfRules, Pools};
use model::SourceFile;
use report::ipftest::PrintOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Run packets through IPFilter rules as IPFilter's `ipftest` does, with its output.
///
/// Accepted and ignored (they change nothing offline): `-R` (names are never looked
/// up), `-v`, `-d`, `-C` (checksums are always checked), `-M user`.
#[derive(Debug, clap::Args)]
pub struct IpftestArgs {
    /// ipf.conf rules (`-` for standard input).
    #[arg(short = 'r', value_name = "FILE")]
    pub rules: Option<PathBuf>,

    /// ipnat.conf rules (`-` for standard input).
    #[arg(short = 'N', value_name = "FILE")]
    pub nat: Option<PathBuf>,

    /// ippool.conf pools.
    #[arg(short = 'P', value_name = "FILE")]
    pub pools: Option<PathBuf>,

    /// The packets (standard input when not given).
    #[arg(short = 'i', value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// The input format: `text` (default) or `hex`.
    #[arg(short = 'F', value_name = "FORMAT")]
    pub format: Option<String>,

    /// Print packets in hex.
    #[arg(short = 'x', action = clap::ArgAction::Count)]
    pub hex: u8,

    /// A tunable, `name=value` (`state_max`, `update_ipid`; others are accepted and
    /// ignored).
    #[arg(short = 'T', value_name = "NAME=VALUE")]
    pub tune: Vec<String>,

    /// Print the verdict only.
    #[arg(short = 'b', action = clap::ArgAction::Count)]
    pub brief: u8,

    /// After the packets, print the NAT, state, pool and rule tables.
    #[arg(short = 'D', action = clap::ArgAction::Count)]
    pub dump: u8,

    /// Load every rule as IPv6 (`use_inet6`).
    #[arg(short = '6', action = clap::ArgAction::Count)]
    pub inet6: u8,

    /// The interface of packets that name none (default `anon0`).
    #[arg(short = 'I', value_name = "IF")]
    pub interface: Option<String>,

    /// Accepted and ignored: names are never looked up.
    #[arg(short = 'R', action = clap::ArgAction::Count)]
    pub no_resolve: u8,

    /// Accepted and ignored.
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Accepted and ignored.
    #[arg(short = 'd', action = clap::ArgAction::Count)]
    pub debug: u8,

    /// Accepted and ignored: checksums are always checked.
    #[arg(short = 'C', action = clap::ArgAction::Count)]
    pub checksums: u8,

    /// `user` (the only mode offline).
    #[arg(short = 'M', value_name = "MODE")]
    pub mode: Option<String>,
}

/// Reads `path` (`-`: standard input, once).
fn read(path: &Path, what: &str) -> Result<SourceFile, Error> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Input(format!("cannot read standard input: {e}")))?;
        return frontends::read_text("-".to_string(), &bytes, what, NonUtf8::FreeTextOnly)
            .map_err(|e| load_error(e.into()));
    }
    frontends::read_file(path, what, NonUtf8::FreeTextOnly).map_err(load_error)
}

fn tuning(args: &IpftestArgs) -> Result<Tuning, Error> {
    let mut tuning = Tuning::default();
    for setting in args.tune.iter().flat_map(|t| t.split(',')) {
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| Error::Input(format!("-T {setting}: expected NAME=VALUE")))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| Error::Input(format!("-T {setting}: {value} is not a number")))
        };
        match name {
            "state_max" => tuning.state_max = number()?,
            "update_ipid" => tuning.update_ipid = number()? != 0,
            _ => {}
        }
    }
    Ok(tuning)
}

/// The pools with the files their tables name read, as `ippool` reads them when it
/// loads them (`load_file`, `read_whoisfile`), from the current directory. A file that
/// cannot be read is an error here (IPFilter loads such a table empty).
fn read_pool_files(mut pools: Pools, opts: &ParseOptions) -> Result<Pools, Error> {
    for def in &mut pools.defs {
        let PoolDef::Table(table) = def else { continue };
        match &mut table.source {
            PoolSource::File { url, entries } if url.starts_with("file://") => {
                let file = read(Path::new(&url["file://".len()..]), "ippool file")?;
                *entries = Some(parse_pool_file(&file, opts).map_err(Error::Parse)?);
            }
            PoolSource::Whois { path, entries } => {
                let file = read(Path::new(path.as_str()), "whois reply")?;
                *entries = Some(parse_whois_file(&file.text));
            }
            _ => {}
        }
    }
    Ok(pools)
}

/// `whyblocked ipftest`.
pub fn run<W: Write>(args: &IpftestArgs, out: &mut W) -> Result<Conclusion, Error> {
    let family = (args.inet6 > 0).then_some(IpFamily::Inet6);
    let opts = ParseOptions {
        family,
        ..ParseOptions::default()
    };
    let rules = match &args.rules {
        Some(path) => parse_ipf(&read(path, "ipf rules")?, &opts).map_err(Error::Parse)?,
        None => IpfRules::default(),
    };
    let nat = match &args.nat {
        Some(path) => Some(parse_ipnat(&read(path, "ipnat rules")?, &opts).map_err(Error::Parse)?),
        None => None,
    };
    let pools = match &args.pools {
        Some(path) => parse_ippool(&read(path, "ippool pools")?, &opts).map_err(Error::Parse)?,
        None => Pools::default(),
    };
    let pools = read_pool_files(pools, &opts)?;
    if args.rules.is_none() && args.nat.is_none() && args.pools.is_none() {
        return Err(Error::Input("no rules loaded (give -r, -N or -P)".into()));
    }
    let format = match args
        .format
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("text") => Format::Text,
        Some("hex") => Format::Hex,
        Some(other) => {
            return Err(Error::Input(format!(
                "-F {other}: the input formats are text and hex"
            )))
        }
    };
    let input_path = args.input.clone().unwrap_or_else(|| PathBuf::from("-"));
    let input = read(&input_path, "ipftest packets")?;
    let packets = ipftest::parse(&input.name, &input.text, format);
    for skipped in &packets.skipped {
        let mut err = Vec::new();
        let _ = report::diagnostic::render(&mut err, skipped);
        let _ = std::io::stderr().write_all(&err);
    }
    let mut ipf = Ipf::new(&rules, &pools, family, tuning(args)?);
    if let Some(nat) = &nat {
        ipf = ipf.with_nat(nat);
    }
    for rule in ipf.refused() {
        // `ipf_addrule` reports the failed ioctl and loads the next rule.
        let _ = writeln!(
            std::io::stderr(),
            "whyblocked ipftest: {}:{}: rule not loaded: no group map of its number and direction (ESRCH)",
            rule.origin.file,
            rule.origin.line
        );
    }
    let mut tables = IpfState::default();
    // ipftest's `ipf_random` is a fixed sequence (`ip_fil.c`, userland): emulated here only.
    tables.nat.ipftest_random = Some(IpftestRandom::default());
    ipf.seed_dstlists_for_ipftest(&mut tables);
    let print = PrintOptions {
        brief: args.brief > 0,
        nat: nat.is_some(),
        hex: args.hex > 0,
    };
    let default_interface = args.interface.as_deref().unwrap_or("anon0");
    let mut undecided = false;
    for packet in &packets.packets {
        let interface = packet.interface.as_deref().unwrap_or(default_interface);
        if let Some(addr) = packet.interface_addr {
            tables
                .nat
                .interface_addrs
                .insert(interface.to_string(), addr);
        }
        let cast = cast_flags(packet.cast);
        let mut check = ipf.check(&packet.bytes, packet.out, interface, cast, &mut tables);
        if check.undetermined.is_none() {
            check.undetermined = undecided_by_earlier_or_random_port(&check, undecided);
        }
        if let Some(on) = &check.undetermined {
            undecided = true;
            let _ = writeln!(
                std::io::stderr(),
                "whyblocked ipftest: {}:{}: the answer depends on {on}, which cannot be decided offline",
                input.name,
                packet.line
            );
        }
        out.write_all(report::ipftest::result(&check, packet.out, interface, print).as_bytes())
            .map_err(Error::Output)?;
    }
    if args.dump > 0 {
        let text = report::ipftest::dump(&ipf, &tables, &pools);
        out.write_all(text.as_bytes()).map_err(Error::Output)?;
    }
    Ok(if undecided {
        Conclusion::Undecided
    } else {
        Conclusion::Done
    })
}

/// The link-layer flags a hex packet's `+mcast`/`+bcast`/`+mbcast` give it.
fn cast_flags(cast: ipftest::LinkCast) -> u32 {
    use engine::ipf::fin::flx;
    let mut f = 0;
    if cast.multicast {
        f |= flx::MBCAST | flx::MULTICAST;
    }
    if cast.broadcast {
        f |= flx::MBCAST | flx::BROADCAST;
    }
    if cast.mbcast {
        f |= flx::MBCAST;
    }
    f
}

/// Why a packet ipftest would print cannot be printed as IPFilter's, when the check
/// itself was decided: a packet after an undecided one meets tables that packet may have
/// changed (a session or state entry made or not), and a port NAT takes from
/// `ipf_random` (`portmap` without `sequential`) is ipftest's own test sequence, not
/// known here.
fn undecided_by_earlier_or_random_port(check: &Check, earlier: bool) -> Option<Undecidable> {
    let unmodelled = |name: &str| {
        Some(Undecidable::Unsupported(Unmodelled {
            name: name.to_string(),
            needs_conntrack: false,
        }))
    };
    if earlier {
        return unmodelled("the tables an earlier undecided packet may have changed");
    }
    let random_port = check.steps.iter().any(|step| {
        matches!(
            step,
            Step::Nat(Rewrite {
                before: (_, Some(_)),
                after: (_, None),
                ..
            })
        )
    });
    if random_port {
        return unmodelled("the port ipf_random gives a portmap");
    }
    None
}
