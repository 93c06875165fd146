//! `whyblocked log`: a firewall log's flow table joined with the simulation of each flow's
//! first packet (`analysis::flows::logs`), as text and as JSON. Flows are listed most lines
//! first; with rules, a summary per deciding rule comes first. A long table is cut to the
//! first [`DEFAULT_TOP`] flows in text (`--top N` to choose, 0 for all), saying how many
//! flows and lines are not shown.
//!
//! ```text
//! FLOW                                         COUNT  FIRST SEEN       LAST SEEN        PREFIX        FATE      DECIDING RULE
//! tcp 10.1.1.2:1050 -> 10.1.0.2:2175 tap0>eno1     3  Nov 22 10:00:00  Nov 22 10:00:05  [UFW BLOCK]   REJECTED  filter/ufw-reject-forward #1 (iptables-save.txt:94)
//! ```

pub mod json;
pub mod text;

/// Flows listed in text when the log has more and `--top` was not given.
pub const DEFAULT_TOP: usize = 50;

/// How many flows to list: `--top N` (0: all), or `None` when not given.
fn shown(flows: usize, top: Option<usize>, default: Option<usize>) -> usize {
    match top.or(default) {
        Some(0) | None => flows,
        Some(n) => n.min(flows),
    }
}
