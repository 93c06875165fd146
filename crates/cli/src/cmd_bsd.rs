//! The main command on IPFilter and pf rules: which `--rules` files are a BSD filter's,
//! in which language, on which platform; then the packet through that host's path.
//!
//! Each file's language is told from its content ([`frontends::detect_bsd`]) unless
//! `--format` says it. Files whose rules read the same in ipf.conf and pf.conf take the
//! filter of the files given with them, else of the platform when it runs only one.
//! Mixes that make no sense are refused: Linux rules with BSD ones, pf with IPFilter's
//! files, two pf.conf.

use crate::args::{Args, RulesFormat};
use crate::{Conclusion, Error};
use engine::bsd::path::BsdTrace;
use engine::bsd::{Filter, Os, Platform};
use engine::Connection;
use frontends::BsdLanguage;
use model::diag::ParseError;
use model::{Host, Packet, SourceFile};
use report::bsd::{DetectedFile, ToldBy};
use std::io::Write;

/// The `--rules` files of one BSD filter, read and sorted by language.
#[derive(Debug, Clone)]
pub struct BsdRules {
    /// Which filter they configure.
    pub filter: Filter,
    /// `ipf.conf` files, in the order given (`ipf -f a -f b` appends).
    pub ipf: Vec<SourceFile>,
    /// `ipnat.conf` files, in order.
    pub ipnat: Vec<SourceFile>,
    /// `ippool.conf` files, in order.
    pub ippool: Vec<SourceFile>,
    /// The `pf.conf`.
    pub pf: Option<SourceFile>,
    /// How each file's language was told.
    pub detected: Vec<DetectedFile>,
}

impl BsdRules {
    /// Every file, in a fixed order: ipf.conf files, ipnat.conf files, ippool.conf files,
    /// pf.conf.
    pub fn files(&self) -> Vec<SourceFile> {
        let mut all = Vec::new();
        all.extend(self.ipf.iter().cloned());
        all.extend(self.ipnat.iter().cloned());
        all.extend(self.ippool.iter().cloned());
        all.extend(self.pf.iter().cloned());
        all
    }

    /// The same rules with `files` (in [`BsdRules::files`]' order) in place of the files.
    pub fn with_files(&self, files: &[SourceFile]) -> BsdRules {
        let mut rest = files.iter().cloned();
        let mut take = |n: usize| rest.by_ref().take(n).collect::<Vec<_>>();
        BsdRules {
            filter: self.filter,
            ipf: take(self.ipf.len()),
            ipnat: take(self.ipnat.len()),
            ippool: take(self.ippool.len()),
            pf: take(usize::from(self.pf.is_some())).pop(),
            detected: self.detected.clone(),
        }
    }
}

/// The system assumed for a filter's rules when `--os` is not given: the one most hosts
/// running that filter are. IPFilter's is illumos (OmniOS, SmartOS, OpenIndiana ship it as
/// their only filter), pf's OpenBSD (its home).
pub fn default_os(filter: Filter) -> Os {
    match filter {
        Filter::Ipf => Os::Illumos,
        Filter::Pf => Os::OpenBsd,
    }
}

/// The platform `--os` names, when given.
pub fn os_arg(args: &Args) -> Result<Option<Os>, Error> {
    let Some(name) = &args.os else {
        return Ok(None);
    };
    Os::from_name(name).map(Some).ok_or_else(|| {
        let names: Vec<&str> = Os::ALL.iter().map(|o| o.name()).collect();
        Error::Input(format!(
            "--os {name}: not a platform whyblocked knows; one of {}",
            names.join(", ")
        ))
    })
}

/// Refuses IPFilter and pf rules where only Linux rules are read (`verify`, `log`,
/// `pcap`, ...): the main command is the one that answers on them.
pub fn refuse_bsd_rules(args: &crate::args::InputArgs) -> Result<(), Error> {
    let forced = args.format.is_some_and(|f| f.linux_dialect().is_none());
    let bsd = args.rules.iter().find(|path| {
        forced
            || frontends::read_source(path)
                .is_ok_and(|source| frontends::detect_bsd(&source.text).is_some())
    });
    match bsd {
        Some(path) => Err(Error::Input(format!(
            "{} is IPFilter's or pf's: only the main command answers on those rules \
             (`whyblocked --rules FILE --os OS PACKET`); this one reads Linux rulesets \
             (and no BSD or Solaris kernel runs here to verify against)",
            path.display()
        ))),
        None => Ok(()),
    }
}

/// The options of the Linux answer that mean nothing on a BSD host, refused by name
/// rather than ignored.
fn refuse_linux_options(args: &Args) -> Result<(), Error> {
    let given = [
        ("--from-log", args.input.from_log.is_some()),
        ("--live", args.input.live),
        ("--ipset", !args.input.ipset.is_empty()),
        ("--family", args.input.family.is_some()),
        ("--assume", !args.assume.is_empty()),
    ];
    match given.iter().find(|(_, on)| *on) {
        Some((name, _)) => Err(Error::Input(format!(
            "{name} is for Linux rulesets; with IPFilter or pf rules give the packet (PROTO \
             SRC DST in IF [out IF2]) and --os"
        ))),
        None => Ok(()),
    }
}

/// The main command when its `--rules` are IPFilter's or pf's: the answer on `out`;
/// `None` when they are Linux rules (the Linux answer takes them).
pub fn answer<W: Write>(args: &Args, out: &mut W) -> Result<Option<Conclusion>, Error> {
    let os = os_arg(args)?;
    match classify(args, os.map(|o| (o.name(), o.filters())))? {
        Some(rules) => run(args, &rules, os, out).map(Some),
        None if os.is_some() => Err(Error::Input(
            "--os names the platform of IPFilter or pf rules (ipf.conf, ipnat.conf, \
             ippool.conf, pf.conf); the --rules given are none of those"
                .to_string(),
        )),
        None => Ok(None),
    }
}

/// The main command on BSD rules: the packet through the host's path, the fixes, the
/// answer on `out`.
pub fn run<W: Write>(
    args: &Args,
    rules: &BsdRules,
    os: Option<Os>,
    out: &mut W,
) -> Result<Conclusion, Error> {
    refuse_linux_options(args)?;
    if let Some(os) = os {
        if !os.filters().contains(&rules.filter) {
            return Err(Error::Input(format!(
                "--os {}: that system does not run {} (it runs {})",
                os.name(),
                report::bsd::words::filter_name(rules.filter),
                os.filters()
                    .iter()
                    .map(|f| report::bsd::words::filter_name(*f))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let os_assumed = os.is_none();
    let os = os.unwrap_or_else(|| default_os(rules.filter));
    let packet = frontends::packet_spec::parse(&args.input.packet)
        .map_err(Error::Parse)?
        .into_packet();
    let host = match &args.input.host {
        Some(dir) => bsd_host(dir)?,
        None => Host::default(),
    };
    let host_given = args.input.host.is_some();
    refuse_unknown_interfaces(&packet, &host)?;
    let ids = match &args.input.host {
        Some(dir) => host_ids(dir)?,
        None => HostIds::default(),
    };
    let ctx = HostContext {
        os,
        host: &host,
        host_given,
        ids: &ids,
    };
    let walk = |files: &[SourceFile]| {
        walk_path(&rules.with_files(files), &ctx, &packet).map(|(t, _, _)| t)
    };
    let (trace, platform, loaded) = walk_path(rules, &ctx, &packet).map_err(Error::Parse)?;
    let connection = trace.connection();
    // A fix is searched where a filter stops the exchange; not where nothing listens or
    // where the answer rests on what cannot be decided offline.
    let blocked = matches!(connection, Connection::Blocked | Connection::AnswerLost);
    let fixes = (!args.no_fix && blocked)
        .then(|| analysis::fix_bsd::search(rules.filter, &trace, &rules.files(), walk));
    let answer = report::bsd::BsdAnswer {
        filter: rules.filter,
        platform: &platform,
        os_assumed,
        trace: &trace,
        host: &host,
        connection,
        detected: &rules.detected,
        fixes: fixes.as_ref(),
        loaded: &loaded,
    };
    if args.json {
        report::bsd::json::render(out, &answer)
    } else {
        let color = crate::config::paints_stdout(args.color);
        report::bsd::text::render(out, &answer, &report::TextOptions { color })
    }
    .and_then(|()| out.flush())
    .map_err(Error::Output)?;
    Ok(match connection {
        Connection::Succeeds => Conclusion::Passed,
        Connection::Undecided => Conclusion::Undecided,
        Connection::Refused | Connection::AnswerLost | Connection::Blocked => Conclusion::Blocked,
    })
}

/// Refuses a packet spec's `in IF` or `out IF` that the host's `ifconfig -a` does not
/// list: the filters' `on IF` rules and the path would be answered for an interface the
/// host does not have (a typo, or the description of another host).
fn refuse_unknown_interfaces(packet: &Packet, host: &Host) -> Result<(), Error> {
    if !host.known.addresses {
        return Ok(());
    }
    let given = [("in", &packet.iif), ("out", &packet.oif)];
    let Some((word, name)) = given.iter().find_map(|(word, name)| {
        name.as_deref()
            .filter(|n| host.interface(n).is_none())
            .map(|n| (word, n))
    }) else {
        return Ok(());
    };
    let names: Vec<&str> = host.interfaces.iter().map(|i| i.name.as_str()).collect();
    Err(Error::Input(format!(
        "{word} {name}: the host (ifconfig.txt) has no interface {name}; it has {}",
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    )))
}

/// What the path runs on: the platform, the host (`--host`), its users and groups.
struct HostContext<'a> {
    os: Os,
    host: &'a Host,
    host_given: bool,
    ids: &'a HostIds,
}

/// The packet through the host's path, filtered by `rules`; with the platform it ran on
/// (its loopback knob read from the rules) and what loading left out or undecided. Parse
/// errors are the files' own.
fn walk_path(
    rules: &BsdRules,
    ctx: &HostContext<'_>,
    packet: &Packet,
) -> Result<(BsdTrace, Platform, report::bsd::Loaded), ParseError> {
    let (os, host, host_given) = (ctx.os, ctx.host, ctx.host_given);
    match rules.filter {
        Filter::Ipf => {
            let options = frontends::ipf::ParseOptions::default();
            let mut platform = Platform::new(os);
            let mut filter_rules = model::ipf::IpfRules::default();
            for file in &rules.ipf {
                let parsed = frontends::ipf::parse_ipf(file, &options)?;
                platform.intercept_loopback |= intercepts_loopback(&parsed);
                filter_rules.rules.extend(parsed.rules);
                filter_rules.tunables.extend(parsed.tunables);
            }
            let mut pools = model::ipf::Pools::default();
            for file in &rules.ippool {
                pools
                    .defs
                    .extend(frontends::ipf::parse_ippool(file, &options)?.defs);
            }
            let mut nat = model::ipf::NatRules::default();
            for file in &rules.ipnat {
                nat.rules
                    .extend(frontends::ipf::parse_ipnat(file, &options)?.rules);
            }
            let ipf = engine::ipf::Ipf::new(&filter_rules, &pools, None, Default::default())
                .with_nat(&nat);
            let loaded = report::bsd::Loaded {
                not_loaded: ipf.refused().iter().map(|r| r.origin.clone()).collect(),
                ..Default::default()
            };
            Ok((
                engine::bsd::simulate(&ipf, &platform, host, packet),
                platform,
                loaded,
            ))
        }
        Filter::Pf => {
            let platform = Platform::new(os);
            let Some(file) = &rules.pf else {
                let empty = model::pf::Ruleset::default();
                let pf = engine::pf::PfRules::new(&empty, host_given.then_some(host));
                return Ok((
                    engine::bsd::simulate(&pf, &platform, host, packet),
                    platform,
                    report::bsd::Loaded::default(),
                ));
            };
            let listing = rules
                .detected
                .iter()
                .any(|d| d.file == *file.name && d.language == BsdLanguage::PfListing);
            let mut env = pf_env(host, ctx.ids);
            env.files = files_beside(file);
            let (ruleset, unresolved_names) = if listing {
                (
                    frontends::pf::parse_listing(&file.name, &file.text, &env)?,
                    Vec::new(),
                )
            } else {
                frontends::pf::parse_offline(&file.name, &file.text, &env)?
            };
            let pf = engine::pf::PfRules::new(&ruleset, host_given.then_some(host));
            Ok((
                engine::bsd::simulate(&pf, &platform, host, packet),
                platform,
                report::bsd::Loaded {
                    unresolved_names,
                    missing_files: missing_files(&ruleset),
                    ..Default::default()
                },
            ))
        }
    }
}

/// IPFilter's `set intercept_loopback true;` (illumos, Solaris: the filter sees loopback
/// traffic only then), the last setting of the file winning as `ipf` applies them in order.
fn intercepts_loopback(rules: &model::ipf::IpfRules) -> bool {
    use model::ipf::filter::TunableValue;
    rules
        .tunables
        .iter()
        .rfind(|t| t.name == "intercept_loopback")
        .is_some_and(|t| {
            matches!(
                t.value,
                TunableValue::Bool(true) | TunableValue::Number(1..)
            )
        })
}

/// The host as pfctl sees it while it parses (interfaces and addresses for `(em0)`,
/// `self`, interface groups; users and groups for `user`/`group`, names accepted without
/// ids unless both files were given).
fn pf_env(host: &Host, ids: &HostIds) -> frontends::pf::Env {
    let mut env = frontends::pf::Env {
        interfaces: host
            .interfaces
            .iter()
            .map(|i| frontends::pf::Interface {
                name: i.name.clone(),
                groups: if i.link == model::host::LinkType::Loopback {
                    vec!["lo".to_string()]
                } else {
                    Vec::new()
                },
                addresses: i.addrs.iter().map(|a| (a.addr, a.prefix_len)).collect(),
                point_to_point: false,
            })
            .collect(),
        unknown_names_allowed: ids.passwd.is_none() || ids.group.is_none(),
        ..Default::default()
    };
    if let Some(passwd) = &ids.passwd {
        env.read_passwd(&passwd.text);
    }
    if let Some(group) = &ids.group {
        env.read_group(&group.text);
    }
    env
}

/// How many files `include`, `load anchor` and `table … file` may bring in.
const MAX_PF_FILES: usize = 64;

/// The files a pf.conf (and the files it reads) names in double quotes that exist beside
/// it, by the name written: a relative name from the pf.conf's directory, an absolute one
/// (`/etc/pf.spamd`, the BSD host's path, not this machine's) by its last component there.
/// pfctl reads them on the host; offline they are the copies given with the pf.conf.
fn files_beside(conf: &SourceFile) -> std::collections::HashMap<String, String> {
    let dir = std::path::Path::new(&*conf.name)
        .parent()
        .unwrap_or(std::path::Path::new(""));
    let mut files = std::collections::HashMap::new();
    let mut texts = vec![conf.text.to_string()];
    while let Some(text) = texts.pop() {
        for name in text.split('"').skip(1).step_by(2) {
            if files.len() >= MAX_PF_FILES || name.is_empty() || files.contains_key(name) {
                continue;
            }
            let written = std::path::Path::new(name);
            let path = if written.is_absolute() {
                written.file_name().map(|base| dir.join(base))
            } else {
                Some(dir.join(written))
            };
            let Some(content) = path
                .filter(|p| p.is_file() && p.as_os_str() != std::ffi::OsStr::new(&*conf.name))
                .and_then(|p| std::fs::read_to_string(p).ok())
            else {
                continue;
            };
            texts.push(content.clone());
            files.insert(name.to_string(), content);
        }
    }
    files
}

/// The tables and anchors whose files were not found: their contents are Unknown.
fn missing_files(ruleset: &model::pf::Ruleset) -> Vec<report::bsd::MissingFile> {
    use model::pf::Item;
    let mut missing = Vec::new();
    for item in &ruleset.items {
        match item {
            Item::Table(table) => {
                missing.extend(table.files.iter().map(|f| report::bsd::MissingFile {
                    file: f.clone(),
                    fills: report::bsd::FileFills::Table(table.name.clone()),
                    origin: table.origin.clone(),
                }))
            }
            Item::LoadAnchor {
                anchor,
                file,
                origin,
                ruleset,
            } => match ruleset {
                Some(loaded) => missing.extend(missing_files(loaded)),
                None => missing.push(report::bsd::MissingFile {
                    file: file.clone(),
                    fills: report::bsd::FileFills::Anchor(anchor.clone()),
                    origin: origin.clone(),
                }),
            },
            _ => {}
        }
    }
    missing
}

/// `--host DIR`'s `passwd` and `group` (copies of the host's `/etc/passwd`, `/etc/group`):
/// pfctl resolves `user`/`group` names with them.
#[derive(Debug, Default)]
struct HostIds {
    passwd: Option<SourceFile>,
    group: Option<SourceFile>,
}

/// [`HostIds`] from `dir`, either file may be missing.
fn host_ids(dir: &std::path::Path) -> Result<HostIds, Error> {
    Ok(HostIds {
        passwd: read_host_file(dir, "passwd")?,
        group: read_host_file(dir, "group")?,
    })
}

/// `dir/name` when it exists.
fn read_host_file(dir: &std::path::Path, name: &str) -> Result<Option<SourceFile>, Error> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(None);
    }
    frontends::read_source(&path)
        .map(Some)
        .map_err(crate::config::load_error)
}

/// `--host DIR` of a BSD or Solaris host: `ifconfig -a` output in `DIR/ifconfig.txt`
/// and `netstat -rn` output in `DIR/netstat.txt`, either may be missing (not both).
fn bsd_host(dir: &std::path::Path) -> Result<Host, Error> {
    let ifconfig = read_host_file(dir, "ifconfig.txt")?;
    let netstat = read_host_file(dir, "netstat.txt")?;
    if ifconfig.is_none() && netstat.is_none() {
        return Err(Error::Input(format!(
            "--host {}: no ifconfig.txt (`ifconfig -a` output) or netstat.txt (`netstat -rn` \
             output) there",
            dir.display()
        )));
    }
    frontends::bsd_host::host(ifconfig.as_ref(), netstat.as_ref()).map_err(Error::Parse)
}

/// A file and its language as far as its own content tells.
struct Read {
    source: SourceFile,
    told: Option<(BsdLanguage, ToldBy)>,
}

/// The BSD rules among `args`' `--rules` files; `None` when they are Linux rules (the
/// Linux answer takes them). `os_runs` is the `--os` platform's name and the filters it
/// runs, when given.
pub fn classify(
    args: &Args,
    os_runs: Option<(&str, &[Filter])>,
) -> Result<Option<BsdRules>, Error> {
    let forced = match args.input.format {
        Some(f) if f.linux_dialect().is_some() => return Ok(None),
        Some(RulesFormat::Ipf) => Some(BsdLanguage::Ipf),
        Some(RulesFormat::Ipnat) => Some(BsdLanguage::Ipnat),
        Some(RulesFormat::Ippool) => Some(BsdLanguage::Ippool),
        Some(RulesFormat::Pf) => Some(BsdLanguage::Pf),
        _ => None,
    };
    let mut read = Vec::new();
    for path in &args.input.rules {
        let source = frontends::read_source(path).map_err(crate::config::load_error)?;
        let told = match forced {
            Some(language) => Some((language, ToldBy::Format)),
            None => frontends::detect_bsd(&source.text)
                .map(|(language, reason)| (language, ToldBy::Line(reason))),
        };
        read.push(Read { source, told });
    }
    sort(read, os_runs)
}

/// [`classify`] on files already read.
fn sort(read: Vec<Read>, os_runs: Option<(&str, &[Filter])>) -> Result<Option<BsdRules>, Error> {
    let Some(bsd) = read.iter().find(|r| r.told.is_some()) else {
        return Ok(None);
    };
    if let Some(linux) = read.iter().find(|r| r.told.is_none()) {
        return Err(Error::Input(format!(
            "{} is not IPFilter's or pf's (a Linux ruleset, or no telling line), and {} is: \
             one host runs one of them; give the files of one host",
            linux.source.name, bsd.source.name
        )));
    }
    let named = |language: BsdLanguage| {
        read.iter()
            .find(|r| matches!(&r.told, Some((l, _)) if *l == language))
            .map(|r| r.source.name.to_string())
    };
    let ipf_file = named(BsdLanguage::Ipf)
        .or_else(|| named(BsdLanguage::Ipnat))
        .or_else(|| named(BsdLanguage::Ippool));
    let pf_file = named(BsdLanguage::Pf).or_else(|| named(BsdLanguage::PfListing));
    let filter = match (&ipf_file, &pf_file) {
        (Some(ipf), Some(pf)) => {
            return Err(Error::Input(format!(
                "{pf} is pf's pf.conf and {ipf} is IPFilter's: a host filters with one of \
                 them (pf has its own nat-to/rdr-to, tables and anchors); give one filter's files"
            )))
        }
        (Some(_), None) => Some(Filter::Ipf),
        (None, Some(_)) => Some(Filter::Pf),
        (None, None) => None,
    };
    let companion = ipf_file.or(pf_file);
    let mut rules = BsdRules {
        filter: Filter::Ipf,
        ipf: Vec::new(),
        ipnat: Vec::new(),
        ippool: Vec::new(),
        pf: None,
        detected: Vec::new(),
    };
    let mut chosen = None;
    for r in read {
        let Some((language, told_by)) = r.told else {
            continue;
        };
        let (language, told_by) = match language {
            BsdLanguage::IpfOrPf => either(&r.source, told_by, filter, &companion, os_runs)?,
            l => (l, told_by),
        };
        chosen = Some(
            if matches!(language, BsdLanguage::Pf | BsdLanguage::PfListing) {
                Filter::Pf
            } else {
                Filter::Ipf
            },
        );
        rules.detected.push(DetectedFile {
            file: r.source.name.to_string(),
            language,
            told_by,
        });
        match language {
            BsdLanguage::Ipf => rules.ipf.push(r.source),
            BsdLanguage::Ipnat => rules.ipnat.push(r.source),
            BsdLanguage::Ippool => rules.ippool.push(r.source),
            BsdLanguage::Pf | BsdLanguage::PfListing | BsdLanguage::IpfOrPf => {
                if let Some(first) = &rules.pf {
                    return Err(Error::Input(format!(
                        "{} and {} are both pf.conf: pf loads one (the others by `include` \
                         or `anchor ... load`); give the one pfctl loads",
                        first.name, r.source.name
                    )));
                }
                rules.pf = Some(r.source);
            }
        }
    }
    rules.filter = filter.or(chosen).unwrap_or(Filter::Ipf);
    Ok(Some(rules))
}

/// The language of a file whose rules read the same in ipf.conf and pf.conf: the filter
/// of the files given with it, else the platform's when it runs only one.
fn either(
    source: &SourceFile,
    told_by: ToldBy,
    filter: Option<Filter>,
    companion: &Option<String>,
    os_runs: Option<(&str, &[Filter])>,
) -> Result<(BsdLanguage, ToldBy), Error> {
    let language = |f: Filter| match f {
        Filter::Ipf => BsdLanguage::Ipf,
        Filter::Pf => BsdLanguage::Pf,
    };
    if let (Some(f), Some(file)) = (filter, companion) {
        let told = ToldBy::Companion { file: file.clone() };
        return Ok((language(f), told));
    }
    match os_runs {
        Some((os, [only])) => Ok((language(*only), ToldBy::Platform { os: os.to_string() })),
        _ => {
            let line = match told_by {
                ToldBy::Line(model::note::DialectReason::Line { number, text }) => {
                    format!(" (line {number}: {text})")
                }
                _ => String::new(),
            };
            Err(Error::Input(format!(
                "{}: its rules read the same in IPFilter's ipf.conf and pf's pf.conf{line}; \
                 say which with --format ipf or --format pf{}",
                source.name,
                if os_runs.is_some() {
                    " (the platform runs both)"
                } else {
                    ", or name a platform that runs one of them with --os"
                }
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(
        files: &[(&str, &str)],
        os_runs: Option<(&str, &[Filter])>,
    ) -> Result<Option<BsdRules>, Error> {
        let read = files
            .iter()
            .map(|(name, text)| {
                let source = SourceFile::new(*name, *text);
                let told = frontends::detect_bsd(text)
                    .map(|(language, reason)| (language, ToldBy::Line(reason)));
                Read { source, told }
            })
            .collect();
        sort(read, os_runs)
    }

    fn message(r: Result<Option<BsdRules>, Error>) -> String {
        match r {
            Err(Error::Input(m)) => m,
            other => panic!("expected an input error, got {other:?}"),
        }
    }

    const IPF: &str = "block in log quick on lo0 proto tcp from any to any port = 22 head 1\n";
    const IPNAT: &str = "rdr em0 192.0.2.10/32 port 80 -> 10.0.0.5 port 8080 tcp\n";
    const EITHER: &str = "block return-rst in quick on lo0 proto tcp from any to any port = 22\n";
    const PF: &str = "set skip on lo\npass in on em0 proto tcp to port 443\n";

    #[test]
    fn linux_rules_stay_linux() {
        let r = sorted(&[("rules.v4", "*filter\n:INPUT ACCEPT\nCOMMIT\n")], None).unwrap();
        assert!(r.is_none());
    }

    #[test]
    fn ipf_with_ipnat_is_one_ipfilter_host() {
        let r = sorted(&[("ipf.rules", IPF), ("ipnat.rules", IPNAT)], None)
            .unwrap()
            .unwrap();
        assert_eq!(r.filter, Filter::Ipf);
        assert_eq!((r.ipf.len(), r.ipnat.len(), r.pf.is_none()), (1, 1, true));
        assert!(matches!(r.detected[1].told_by, ToldBy::Line(_)));
    }

    #[test]
    fn rules_valid_in_both_take_their_companions_filter_or_the_platforms() {
        let r = sorted(&[("ipf.rules", EITHER), ("ipnat.rules", IPNAT)], None)
            .unwrap()
            .unwrap();
        assert_eq!(r.detected[0].language, BsdLanguage::Ipf);
        assert_eq!(
            r.detected[0].told_by,
            ToldBy::Companion {
                file: "ipnat.rules".into()
            }
        );
        let r = sorted(&[("rules", EITHER)], Some(("openbsd", &[Filter::Pf])))
            .unwrap()
            .unwrap();
        assert_eq!(r.filter, Filter::Pf);
        assert!(r.pf.is_some());
        assert_eq!(
            r.detected[0].told_by,
            ToldBy::Platform {
                os: "openbsd".into()
            }
        );
        let m = message(sorted(&[("rules", EITHER)], None));
        assert!(m.contains("--format ipf or --format pf"), "{m}");
        assert!(m.contains("line 1: block return-rst"), "{m}");
        let m = message(sorted(
            &[("rules", EITHER)],
            Some(("freebsd", &[Filter::Ipf, Filter::Pf])),
        ));
        assert!(m.contains("the platform runs both"), "{m}");
    }

    #[test]
    fn mixes_that_make_no_sense_are_refused() {
        let m = message(sorted(&[("pf.conf", PF), ("ipnat.rules", IPNAT)], None));
        assert!(
            m.starts_with("pf.conf is pf's pf.conf and ipnat.rules is IPFilter's"),
            "{m}"
        );
        let m = message(sorted(
            &[("rules.v4", "*filter\nCOMMIT\n"), ("pf.conf", PF)],
            None,
        ));
        assert!(m.starts_with("rules.v4 is not IPFilter's or pf's"), "{m}");
        let m = message(sorted(&[("a.conf", PF), ("b.conf", PF)], None));
        assert!(m.starts_with("a.conf and b.conf are both pf.conf"), "{m}");
    }
}
