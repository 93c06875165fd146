//! `whyblocked counters --watch`: the ruleset's counters read before and after an action,
//! from the kernel (`iptables-save -c`, `nft list ruleset`), as two snapshots.
//!
//! Reading counters needs root (CAP_NET_ADMIN); listing changes nothing.

use crate::snapshot::{run_member, Options};
use frontends::host::snapshot::Snapshot;
use netlink::LiveError;

/// A snapshot of the rule sources only (with their counters), of this host or of
/// `o.netns`. Fails when no ruleset could be read (not root).
pub fn rules_snapshot(o: &Options) -> Result<Snapshot, LiveError> {
    if !crate::is_root() {
        return Err(LiveError::NotRoot);
    }
    let nft_backend = crate::snapshot::which("iptables-nft-save");
    let (v4, v6) = if nft_backend {
        ("iptables-nft-save", "ip6tables-nft-save")
    } else {
        ("iptables-save", "ip6tables-save")
    };
    let mut snap = Snapshot::default();
    snap.members
        .push(run_member("iptables-save.txt", v4, &["-c"], None, o));
    snap.members
        .push(run_member("ip6tables-save.txt", v6, &["-c"], None, o));
    if crate::snapshot::which("iptables-legacy-save") {
        for (name, prog) in [
            ("iptables-legacy-save.txt", "iptables-legacy-save"),
            ("ip6tables-legacy-save.txt", "ip6tables-legacy-save"),
        ] {
            snap.members.push(run_member(name, prog, &["-c"], None, o));
        }
    }
    snap.members.push(run_member(
        "nft-ruleset.txt",
        "nft",
        &["-a", "list", "ruleset"],
        None,
        o,
    ));
    snap.members.push(run_member(
        "nft-ruleset.json",
        "nft",
        &["-a", "-j", "list", "ruleset"],
        None,
        o,
    ));
    if snap.members.iter().all(|m| !m.readable()) {
        return Err(LiveError::Command {
            what: "iptables-save -c and nft list ruleset".into(),
            status: "failed".into(),
            stderr: snap.unreadable().join("\n"),
        });
    }
    Ok(snap)
}

/// Counters before, the result of `act`, counters after.
pub fn watch<T>(
    o: &Options,
    act: impl FnOnce() -> Result<T, LiveError>,
) -> Result<(Snapshot, T, Snapshot), LiveError> {
    let before = rules_snapshot(o)?;
    let r = act()?;
    let after = rules_snapshot(o)?;
    Ok((before, r, after))
}
