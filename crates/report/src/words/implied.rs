//! What evidence implied for a simulation (`analysis::flows::implied`), and where the
//! simulation still contradicts it, in words shared by `pcap`, `log` and `explain-trace`.

use analysis::flows::implied::{Assumed, Contradiction, Ground, SimulatedWay, Way};

/// How a way reads in a sentence: "forwarded by this host".
fn way(w: Way) -> &'static str {
    match w {
        Way::Forwarded => "forwarded by this host",
        Way::Local => "delivered to this host",
        Way::Sent => "sent by this host",
    }
}

/// The evidence behind a way, as a clause.
fn ground(g: &Ground) -> String {
    match g {
        Ground::TracedIn(hook) => format!("traced in the {hook} hook"),
        Ground::LoggedInterfaces { iif, oif } => format!(
            "IN={} OUT={}",
            iif.as_deref().unwrap_or(""),
            oif.as_deref().unwrap_or("")
        ),
        Ground::TtlDecrementedPastCapture { captured, quoted } => format!(
            "an ICMP error quotes it with ttl {quoted}, captured arriving with ttl {captured}: this host decremented it"
        ),
        Ground::AnsweredByThisHostAsHop { hop } => format!(
            "an ICMP error about it came from {hop}, this host's address, not the destination"
        ),
    }
}

/// The way the evidence set for a simulation without host state: "taken as forwarded by
/// this host from the capture (...), out of an interface it does not show". `evidence`
/// names it ("capture", "trace", "log line").
pub fn evidence_assumption(a: &Assumed, evidence: &str) -> String {
    let oif = match (a.way, &a.oif) {
        (Way::Forwarded | Way::Sent, Some(o)) => format!(", out of {o}"),
        (Way::Forwarded | Way::Sent, None) => {
            ", out of an interface it does not show (rules on the output interface see none)"
                .to_string()
        }
        (Way::Local, _) => String::new(),
    };
    format!(
        "taken as {} from the {evidence} ({}){oif}",
        way(a.way),
        ground(&a.ground)
    )
}

/// "evidence contradicts the simulation: the capture shows the packet forwarded by this
/// host (...); the simulation has it delivered to this host. ..."
pub fn evidence_contradiction(c: &Contradiction, evidence: &str) -> String {
    let what = match c {
        Contradiction::Way {
            shown,
            ground: g,
            simulated,
        } => {
            let simulated = match simulated {
                SimulatedWay::Took(w) => format!("the simulation has it {}", way(*w)),
                SimulatedWay::RoutingFailed => "the simulation finds no route for it".to_string(),
            };
            format!(
                "the {evidence} shows the packet {} ({}); {simulated}",
                way(*shown),
                ground(g)
            )
        }
        Contradiction::RefusedButPassed { hop } => format!(
            "the {evidence} shows this host refused the packet (an ICMP error refusing it came from {hop}, this host's address); the simulation lets it through"
        ),
    };
    format!(
        "evidence contradicts the simulation: {what}. The host state or the ruleset given differ from the host the {evidence} comes from, so the simulation does not explain it"
    )
}
