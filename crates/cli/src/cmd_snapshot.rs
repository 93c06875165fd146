//! `whyblocked snapshot`, and reading host state for every command: `--host DIR`,
//! `--host FILE` (a snapshot) or `--live` (a snapshot taken now, in memory).

use crate::args::InputArgs;
use crate::{Conclusion, Error};
use frontends::host::host_dir;
use frontends::host::snapshot::Snapshot;
use frontends::topology::node::{self, HostError, RulesIn};
use model::note::InputNote;
use model::tool_config::ToolConfig;
use model::{Family, Host, Ruleset, SourceFile};
use std::io::Write;
use std::path::PathBuf;

/// Collect this host's firewall and network state into one file, read-only: iptables-save
/// (both backends) and nft rulesets with counters, addresses, routes of all tables, policy
/// rules, sysctls, listening sockets, conntrack entries (bounded), ipsets, ufw and firewalld
/// configuration. Read it back anywhere with `whyblocked --host FILE PACKET`. Without root
/// it collects what it can and says what it could not (in the file and on stderr).
#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// Write the snapshot here (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace addresses (prefix-preserving, consistently), MACs and the host name, so the
    /// file can be shared; answers from it stay the same for the redacted addresses.
    #[arg(long)]
    pub redact: bool,

    /// Keep at most this many conntrack entries.
    #[arg(long = "conntrack-max", value_name = "N", default_value_t = 10_000)]
    pub conntrack_max: usize,
}

/// `whyblocked snapshot`.
pub fn run<W: Write>(a: &SnapshotArgs, out: &mut W) -> Result<Conclusion, Error> {
    let mut snap = collect(a.conntrack_max)?;
    let mut err = std::io::stderr().lock();
    if a.redact {
        #[cfg(target_os = "linux")]
        {
            let st = live::snapshot::redact(&mut snap, &live::snapshot::host_redactor());
            let _ = writeln!(
                err,
                "whyblocked: redacted {} addresses, {} MACs, {} host names",
                st.addresses, st.macs, st.names
            );
            if st.ranges > 0 {
                let _ = writeln!(
                    err,
                    "whyblocked: note: {} address ranges were redacted endpoint by endpoint (see the file's %meta note)",
                    st.ranges
                );
            }
        }
    }
    for why in snap.unreadable() {
        let _ = writeln!(err, "whyblocked: could not read {why}");
    }
    let text = snap.render();
    match &a.output {
        Some(path) => {
            std::fs::write(path, text.as_bytes())
                .map_err(|e| Error::Input(format!("cannot write {}: {e}", path.display())))?;
            let _ = writeln!(
                err,
                "whyblocked: snapshot of {} members written to {}",
                snap.members.len(),
                path.display()
            );
        }
        None => out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(Error::Output)?,
    }
    Ok(Conclusion::Done)
}

#[cfg(target_os = "linux")]
fn collect(conntrack_max: usize) -> Result<Snapshot, Error> {
    let o = live::snapshot::Options {
        conntrack_max,
        ..live::snapshot::Options::default()
    };
    Ok(live::snapshot::collect(&o))
}

#[cfg(not(target_os = "linux"))]
fn collect(_conntrack_max: usize) -> Result<Snapshot, Error> {
    Err(Error::Input(
        "snapshot reads a Linux host's firewall (iptables, nft, ip): this is not Linux".into(),
    ))
}

/// The host state of `--host DIR`, `--host FILE` or `--live`, read by the loader the
/// topology uses too. A snapshot's rules are read into `ruleset` (and its iptables sources
/// into `sources`) unless `--rules` was given. Returns the host and whether rules came with
/// it.
pub fn load_host(
    args: &InputArgs,
    ruleset: &mut Ruleset,
    sources: &mut Vec<(SourceFile, Family)>,
    notes: &mut Vec<InputNote>,
) -> Result<(Host, ToolConfig, bool), Error> {
    let (name, read) = if args.live {
        let mut snap = collect(1000)?;
        snap.members.retain(|m| !m.name.starts_with("file:"));
        let mut err = std::io::stderr().lock();
        for why in snap.unreadable() {
            let _ = writeln!(err, "whyblocked: --live: could not read {why}");
        }
        let name = "<live host>".to_string();
        let read = node::from_snapshot(&name, &snap).map_err(Error::Parse)?;
        (name, read)
    } else {
        match &args.host {
            None => return Ok((Host::default(), ToolConfig::default(), false)),
            Some(path) => {
                let read = node::read_host(path).map_err(|e| match e {
                    HostError::File(e) => crate::config::load_error(e),
                    HostError::Dir(host_dir::LoadError::Parse(p)) => Error::Parse(p),
                    other => Error::Input(other.to_string()),
                })?;
                (path.display().to_string(), read)
            }
        }
    };
    notes.extend(read.notes);
    ruleset.ipsets.extend(read.state.ipsets);
    let state = (read.state.host, read.state.config);
    let rules = match read.rules {
        RulesIn::NotCarried => return Ok((state.0, state.1, false)),
        _ if !args.rules.is_empty() => {
            notes.push(InputNote::SnapshotRulesIgnored { snapshot: name });
            return Ok((state.0, state.1, false));
        }
        RulesIn::Unreadable => {
            return Err(Error::Input(format!(
                "{name}: no ruleset could be read from it (iptables-save and nft failed; see the notes above or the file's %status lines): give the rules with --rules"
            )))
        }
        RulesIn::Sources(rules) => rules,
    };
    let (rs, iptables_sources, more) =
        frontends::host::snapshot::ruleset(&rules).map_err(Error::Parse)?;
    notes.extend(more);
    let ipsets = std::mem::take(&mut ruleset.ipsets);
    ruleset.merge(rs);
    ruleset.ipsets.extend(ipsets);
    sources.extend(iptables_sources);
    Ok((state.0, state.1, true))
}
