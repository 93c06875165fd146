//! `whyblocked trace`: the kernel's trace of real packets on this host, with rule text.

use crate::{Conclusion, Error};
use std::io::Write;

/// Trace real packets through this host's firewall (root): each matching packet's path
/// through the kernel's chains with every rule's text and line, conntrack events of its
/// flow, the final fate and what the sender sees. A temporary table `inet wbtrace` (flags
/// owner: the kernel deletes it when whyblocked exits, even on SIGKILL) sets `meta nftrace`
/// for matching packets under a rate limit; no verdict changes.
///
/// SELECTOR: PROTO SRC DST [in IFACE] [out IFACE], where PROTO may be `any` and SRC/DST are
/// `any`, ADDR, ADDR/LEN, ADDR:PORT, any:PORT or [V6]:PORT; e.g. `tcp any 10.1.0.2:2175 in tap0`.
/// Or raw nft match syntax with --nft 'tcp dport 2175'.
#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// The packets to trace (see above).
    #[arg(
        value_name = "SELECTOR",
        required_unless_present = "nft",
        conflicts_with = "nft"
    )]
    pub selector: Vec<String>,

    /// A raw nft match expression instead of SELECTOR.
    #[arg(long, value_name = "EXPR")]
    pub nft: Option<String>,

    /// Stop after N packets.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub count: usize,

    /// Stop after S seconds.
    #[arg(long, value_name = "S", default_value_t = 60)]
    pub timeout: u64,

    /// Trace at most R packets per second (enforced by the kernel).
    #[arg(long, value_name = "R", default_value_t = 10)]
    pub rate: u32,

    /// One JSON object per packet, one per line.
    #[arg(long)]
    pub json: bool,

    /// Beside each packet, the offline simulation of it on a snapshot of this host taken
    /// at start; divergences are flagged.
    #[arg(long)]
    pub compare: bool,
}

/// `whyblocked trace`.
#[cfg(target_os = "linux")]
pub fn run<W: Write>(a: &TraceArgs, out: &mut W) -> Result<Conclusion, Error> {
    let sel = match &a.nft {
        Some(e) => live::tracer::Selector::nft(e),
        None => live::tracer::Selector::parse(&a.selector),
    }
    .map_err(|e| Error::Input(format!("trace: {e}")))?;
    if !live::is_root() {
        return Err(Error::Input(
            "trace needs root: it adds a temporary trace table and reads the kernel's trace events (run it with sudo)".into(),
        ));
    }
    if live::tracer::legacy_only() {
        out.write_all(live::tracer::legacy_help(&a.selector).as_bytes())
            .and_then(|()| out.flush())
            .map_err(Error::Output)?;
        return Err(Error::Input(
            "trace: the rules are in the legacy iptables backend (see above)".into(),
        ));
    }
    let o = live::tracer::Options {
        count: a.count,
        timeout: std::time::Duration::from_secs(a.timeout),
        rate: a.rate,
        compare: a.compare,
        stop: None,
        // Ctrl-C and `kill` stop it cleanly even when SIGINT was inherited as ignored.
        catch_signals: true,
    };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "whyblocked: tracing up to {} packets for {} s at most ({}/s); Ctrl-C stops (the trace table goes with us)",
        a.count, a.timeout, a.rate
    );
    let mut failed = None;
    let json = a.json;
    let summary = live::tracer::run(&sel, &o, &mut |p, ruleset| {
        if failed.is_some() {
            return;
        }
        let r = if json {
            report::trace::render_json(out, p, ruleset)
        } else {
            writeln!(out, "{}", report::trace::render_text(p, ruleset))
        };
        if let Err(e) = r.and_then(|()| out.flush()) {
            failed = Some(e);
        }
    })
    .map_err(|e| Error::Input(format!("trace: {e}")))?;
    if let Some(e) = failed {
        return Err(Error::Output(e));
    }
    let _ = writeln!(
        err,
        "{}",
        report::trace::summary_line(&summary_facts(&summary))
    );
    Ok(Conclusion::Done)
}

/// The run's counts, for the summary line.
#[cfg(target_os = "linux")]
fn summary_facts(s: &live::tracer::Summary) -> report::trace::RunSummary<'_> {
    report::trace::RunSummary {
        packets: s.packets,
        lost: s.lost,
        not_shown: s.not_shown,
        stray_events: s.stray_events,
        events: s.events,
        seconds: s.elapsed.as_secs_f64(),
        stopped_by: &s.stopped_by,
        listing_refreshes: s.listing_refreshes,
    }
}

/// `whyblocked trace` elsewhere: a clear refusal.
#[cfg(not(target_os = "linux"))]
pub fn run<W: Write>(_a: &TraceArgs, _out: &mut W) -> Result<Conclusion, Error> {
    Err(Error::Input(
        "trace follows packets through a Linux kernel's netfilter: this is not Linux".into(),
    ))
}
