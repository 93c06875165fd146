//! `whyblocked counters`: which rules' counters moved between two listings, or around a
//! command (`--watch`).

use crate::{Conclusion, Error};
use analysis::counters::{self, Listing};
use frontends::host::snapshot::Snapshot;
use model::SourceFile;
use std::io::Write;
use std::path::PathBuf;

/// Show the rules whose packet/byte counters moved, in path order, with the deltas and
/// each rule's text and line. BEFORE and AFTER: two `whyblocked snapshot` files, two
/// `iptables-save -c` files, two `iptables -L -n -v -x` listings, or two `nft list ruleset`
/// listings with counters. With `--watch -- CMD`: reads the counters from the kernel, runs
/// CMD (e.g. the failing `nc -vz host 22`), reads them again and shows the diff (root).
#[derive(Debug, clap::Args)]
#[command(arg_required_else_help = true)]
pub struct CountersArgs {
    /// The earlier listing.
    #[arg(value_name = "BEFORE", required_unless_present = "watch")]
    pub before: Option<PathBuf>,

    /// The later listing.
    #[arg(value_name = "AFTER", required_unless_present = "watch")]
    pub after: Option<PathBuf>,

    /// Read the counters from this host around CMD (after `--`).
    #[arg(long, value_name = "CMD", num_args = 1.., allow_hyphen_values = true, conflicts_with_all = ["before", "after"])]
    pub watch: Option<Vec<String>>,

    /// Give CMD at most this many seconds (then it is stopped).
    #[arg(long, value_name = "S", default_value_t = 30)]
    pub timeout: u64,

    /// The table of `iptables -L` listings (they do not name it).
    #[arg(long, value_name = "TABLE", default_value = "filter")]
    pub table: String,

    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `whyblocked counters`.
pub fn run<W: Write>(a: &CountersArgs, out: &mut W) -> Result<Conclusion, Error> {
    let (before_name, before, after_name, after) = match &a.watch {
        Some(cmd) => watch(cmd, a.timeout)?,
        None => {
            let (Some(b), Some(af)) = (&a.before, &a.after) else {
                return Err(Error::Input(
                    "counters needs BEFORE and AFTER, or --watch -- CMD".into(),
                ));
            };
            (
                b.display().to_string(),
                rows_of_file(b, &a.table)?,
                af.display().to_string(),
                rows_of_file(af, &a.table)?,
            )
        }
    };
    let d = counters::diff(&before, &after);
    if a.json {
        report::counters::render_json(out, &d, &before_name, &after_name)
    } else {
        report::counters::render_text(out, &d, &before_name, &after_name)
    }
    .and_then(|()| out.flush())
    .map_err(Error::Output)?;
    Ok(Conclusion::Done)
}

/// The counted rows of one file, whatever kind it is.
/// A rules file is read as `--rules` reads it; a snapshot also holds commands' output, whose
/// bytes need not be UTF-8 anywhere.
pub fn rows_of_file(path: &PathBuf, table: &str) -> Result<Listing, Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Input(format!("cannot read {}: {e}", path.display())))?;
    let non_utf8 = if bytes.starts_with(frontends::host::snapshot::MAGIC.as_bytes()) {
        frontends::NonUtf8::Anywhere
    } else {
        frontends::NonUtf8::FreeTextOnly
    };
    let source = frontends::read_text(
        path.display().to_string(),
        &bytes,
        "a ruleset, `iptables -L -v` listing or snapshot",
        non_utf8,
    )
    .map_err(|e| crate::config::load_error(e.into()))?;
    rows_of_source(&source, table)
}

/// The counted rows of a snapshot, iptables-save, `iptables -L` or nft listing.
pub fn rows_of_source(source: &SourceFile, table: &str) -> Result<Listing, Error> {
    let text: &str = &source.text;
    if text.starts_with(frontends::host::snapshot::MAGIC) {
        let snap = Snapshot::parse(source).map_err(Error::Parse)?;
        return rows_of_snapshot(&source.name, &snap);
    }
    if frontends::iptables_list::looks_like(text) {
        let chains = frontends::iptables_list::parse(source).map_err(Error::Parse)?;
        return Ok(counters::rows_of_listing(&chains, &source.name, table));
    }
    // Otherwise a rules file of any dialect, read as `--rules` reads it.
    let loaded = frontends::read_rules([Ok(source.clone())], Default::default())
        .map_err(crate::config::load_error)?;
    Ok(counters::rows_of_ruleset(&loaded.ruleset))
}

fn rows_of_snapshot(name: &str, snap: &Snapshot) -> Result<Listing, Error> {
    let loaded = frontends::host::snapshot::load(name, snap).map_err(Error::Parse)?;
    if !loaded.rules_known {
        return Err(Error::Input(format!(
            "{name}: no ruleset could be read from it (was it taken without root?)"
        )));
    }
    let (rs, _, _) = frontends::host::snapshot::ruleset(&loaded.rules).map_err(Error::Parse)?;
    Ok(counters::rows_of_ruleset(&rs))
}

#[cfg(target_os = "linux")]
fn watch(cmd: &[String], timeout: u64) -> Result<(String, Listing, String, Listing), Error> {
    // `--watch -- CMD` (the documented form): clap hands the `--` over as a value.
    let cmd = match cmd.split_first() {
        Some((dashes, rest)) if dashes == "--" => rest,
        _ => cmd,
    };
    let Some((program, args)) = cmd.split_first() else {
        return Err(Error::Input("--watch needs a command after `--`".into()));
    };
    if !live::is_root() {
        return Err(Error::Input(
            "counters --watch reads the kernel's rule counters: that needs root (run it with sudo)"
                .into(),
        ));
    }
    let o = live::snapshot::Options::default();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // A CMD that hangs (a dropped SYN) is the common case: stop it, then diff anyway.
    let (before, ran, after) = live::counters::watch(&o, || {
        match live::cmd::run(
            program,
            &args,
            None,
            std::time::Duration::from_secs(timeout),
        ) {
            Ok(o) => Ok(o.status),
            Err(live::LiveError::Timeout { .. }) => {
                Ok(format!("no exit within {timeout} s (stopped)"))
            }
            Err(e) => Err(e),
        }
    })
    .map_err(|e| Error::Input(format!("counters --watch: {e}")))?;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "whyblocked: `{}`: {}", cmd.join(" "), ran);
    Ok((
        "before".into(),
        rows_of_snapshot("before", &before)?,
        "after".into(),
        rows_of_snapshot("after", &after)?,
    ))
}

#[cfg(not(target_os = "linux"))]
fn watch(_cmd: &[String], _timeout: u64) -> Result<(String, Listing, String, Listing), Error> {
    Err(Error::Input(
        "counters --watch reads a Linux kernel's rule counters: this is not Linux".into(),
    ))
}
