//! `whyblocked pcap FILE [--rules R...] [--host H] [--at IFACE] [--json]`: a capture's
//! failed and suspicious flows, each explained, and with the host's rules, each failed
//! flow's first packet simulated at the capture point; with `--topology FILE` or several
//! `--host`, each failed flow walked across the hosts (`pcap_path`). The work is in
//! `evidence::capture` (reading, flows, classification), `analysis::capture` (simulation
//! at the capture point) and `report::capture` (words).

use crate::cmd_log::RulesArgs;
use crate::{Conclusion, Error};
use evidence::capture;
use frontends::topology::TopologyError;
use model::note::InputNote;
use model::topology::Topology;
use model::{Host, Ruleset};
use report::CaptureAnswer;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;

/// Diagnose a packet capture (pcap or pcapng, any size, streamed): reassemble flows and
/// name every failed or suspicious one (SYN without answer, SYN refused by RST and whether
/// the RST was forged on the way, ICMP/ICMPv6 errors and which hop sent them, a SYN/ACK from
/// the wrong address, unanswered pings, TLS alerts with the handshake seen in clear).
/// With --rules (and --host), each failed flow's first packet is simulated at the capture
/// point (--at) and the deciding rule named. With --topology FILE (or --host given several
/// times), each failed flow is walked across the hosts from the one that owns its source
/// address, there and back, and the hop and direction that failed it are named.
/// Exit status: 0 no failed flow, 1 some flow failed, 2 input error (a capture that stops
/// being readable part-way is reported up to that point, then exits 2), 3 no IP packet in
/// the capture (nothing to judge).
#[derive(Debug, clap::Args)]
pub struct PcapArgs {
    /// The capture file; `-` reads standard input.
    #[arg(value_name = "FILE|-")]
    pub file: PathBuf,
    #[command(flatten)]
    pub rules: RulesArgs,
    /// The interface of the simulated host the capture was taken on: a packet seen there
    /// from another host arrives `in IFACE`; one from the host's own address leaves by it.
    /// Defaults to the pcapng interface name, when the capture has one.
    #[arg(long = "at", value_name = "IFACE")]
    pub at: Option<String>,
    /// A topology file (TOML, docs/topology.md): each failed flow is walked across its
    /// hosts, as `whyblocked path` walks a packet. Several `--host` do the same.
    #[arg(long = "topology", value_name = "FILE", conflicts_with_all = ["at", "rules", "host"])]
    pub topology: Option<PathBuf>,
    /// Flows held in memory at once (the longest idle are classified early beyond it).
    #[arg(long = "max-flows", value_name = "N", default_value_t = 65_536)]
    pub max_flows: usize,
    /// Failed and suspicious flows listed at most (all are counted); a bound for tests.
    #[arg(
        long = "max-findings",
        value_name = "N",
        default_value_t = 10_000,
        hide = true
    )]
    pub max_findings: usize,
    /// Never draw the progress line (drawn on stderr for big files when it is a terminal).
    #[arg(long = "no-progress")]
    pub no_progress: bool,
}

/// Rules and host (when given), read by the main command's loader.
fn load(r: &RulesArgs) -> Result<Option<(Ruleset, Host, Vec<InputNote>)>, Error> {
    if r.rules.is_empty() && r.host.is_empty() {
        return Ok(None);
    }
    let input = crate::args::InputArgs {
        rules: r.rules.clone(),
        format: r.format,
        ipset: r.ipset.clone(),
        host: r.one_host()?,
        live: false,
        family: r.family,
        from_log: None,
        // The loader wants a packet; this placeholder is dropped.
        packet: ["icmp", "0.0.0.0", "0.0.0.0"].map(String::from).to_vec(),
    };
    let inputs = crate::config::Inputs::load(&input)?;
    let notes = inputs
        .notes
        .into_iter()
        .filter(|n| !matches!(n, InputNote::NoRulesOfPacketFamily { .. }))
        .collect();
    Ok(Some((inputs.ruleset, inputs.host, notes)))
}

/// The topology the failed flows are walked across: `--topology`, or several `--host`
/// (each host's own rules: `--rules` and `--at` belong to one host).
fn load_topology(a: &PcapArgs) -> Result<Option<Topology>, Error> {
    let topology = match (&a.topology, a.rules.host.as_slice()) {
        (Some(file), _) => frontends::topology::load_file(file),
        (None, hosts @ [_, _, ..]) => {
            if !a.rules.rules.is_empty() || a.at.is_some() {
                return Err(Error::Input(
                    "pcap: several --host walk the flows across those hosts, each with its \
                     own rules; --rules and --at are for one host (put rules in a topology \
                     file: rules = [...])"
                        .to_string(),
                ));
            }
            frontends::topology::from_hosts(hosts)
        }
        _ => return Ok(None),
    };
    let mut topology = topology.map_err(|e| match e {
        TopologyError::Parse(p) => Error::Parse(p),
        other => Error::Input(other.to_string()),
    })?;
    for node in &mut topology.nodes {
        owners::recognise(&mut node.ruleset, &node.tool_config);
    }
    Ok(Some(topology))
}

/// Runs `whyblocked pcap`.
pub fn run<W: Write>(a: &PcapArgs, out: &mut W) -> Result<Conclusion, Error> {
    let topology = load_topology(a)?;
    let loaded = match topology {
        Some(_) => None,
        None => load(&a.rules)?,
    };
    let (input, size, name): (Box<dyn Read>, Option<u64>, String) = if a.file.as_os_str() == "-" {
        (Box::new(io::stdin()), None, "<stdin>".into())
    } else {
        let f = File::open(&a.file)
            .map_err(|e| Error::Input(format!("cannot read {}: {e}", a.file.display())))?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size, a.file.display().to_string())
    };
    let show_progress =
        !a.no_progress && io::stderr().is_terminal() && size.is_some_and(|s| s > 32 << 20);
    let mut progress = |done: u64| {
        if let (true, Some(total)) = (show_progress, size.filter(|&t| t > 0)) {
            let pct = (done.min(total) * 100) / total;
            let _ = write!(
                io::stderr(),
                "\r  reading: {pct:>3}% ({} of {} MiB)",
                done >> 20,
                total >> 20
            );
        }
    };
    let options = capture::Options {
        max_flows: a.max_flows,
        max_findings: a.max_findings,
        ..capture::Options::default()
    };
    let analysis = capture::analyze(input, &options, &mut progress)
        .map_err(|e| Error::Input(format!("{name}: {e}")))?;
    if show_progress {
        let _ = writeln!(io::stderr());
    }

    let empty_rules = Ruleset::default();
    let empty_host = Host::default();
    let (ruleset, host, notes) = match &loaded {
        Some((r, h, n)) => (r, h, n.clone()),
        None => (&empty_rules, &empty_host, Vec::new()),
    };
    let simulations = match &loaded {
        Some(_) => analysis::capture::simulate(&analysis, ruleset, host, a.at.as_deref()),
        None => analysis::capture::CaptureSimulations::none(&analysis),
    };
    let paths = topology.map(|t| crate::pcap_path::walk_findings(t, &analysis));
    let answer = CaptureAnswer {
        file: &name,
        analysis: &analysis,
        simulations: &simulations,
        ruleset,
        host,
        notes: &notes,
        paths: paths.as_ref(),
    };
    if a.rules.json {
        report::capture::json::render(out, &answer)
    } else {
        report::capture::text::render(out, &answer)
    }
    .and_then(|()| out.flush())
    .map_err(Error::Output)?;
    if let Some(e) = &analysis.stopped_by {
        return Err(Error::Input(format!("{name}: {e}")));
    }
    Ok(if analysis.has_failures() {
        Conclusion::Blocked
    } else if analysis.shows_no_traffic() {
        Conclusion::Undecided
    } else {
        Conclusion::Passed
    })
}

#[cfg(test)]
mod tests {
    use crate::{run_from_args, Conclusion};

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../evidence/tests/fixtures/pcap"
    );

    fn pcap(args: &[&str]) -> (Result<Conclusion, crate::Error>, String) {
        let mut argv = vec!["whyblocked", "pcap"];
        argv.extend(args);
        let mut out = Vec::new();
        let r = run_from_args(argv, &mut out);
        (r, String::from_utf8(out).unwrap())
    }

    /// User story 1 from the capture: the port unreachable comes from the router 10.1.1.1,
    /// and with the router's ruleset the REJECT rule is named.
    #[test]
    fn story1_capture_names_the_router_and_the_rule() {
        let file = format!("{FIXTURES}/reject-icmp-port-unreachable.pcap");
        let rules = format!("{FIXTURES}/reject-icmp-port-unreachable.rules");
        let host = format!("{FIXTURES}/router");
        let (r, text) = pcap(&[&file, "--rules", &rules, "--host", &host, "--at", "lan0"]);
        assert_eq!(r.unwrap(), Conclusion::Blocked);
        assert!(
            text.contains("rejected on the way: ICMP port unreachable"),
            "{text}"
        );
        assert!(text.contains("10.1.1.1 (on the way)"), "{text}");
        assert!(text.contains("REJECTED"), "{text}");
        assert!(
            text.contains("-j REJECT --reject-with icmp-port-unreachable"),
            "{text}"
        );
        assert!(text.contains("seen arriving on lan0"), "{text}");
    }

    /// User story 1 on the real ufw ruleset: with the host state, the ICMP error's sender
    /// is this host (the router), and the ping that passed is shown with the rule that let
    /// it through.
    #[test]
    fn story1_ufw_names_this_host_as_the_router_and_shows_the_ping() {
        let file = format!("{FIXTURES}/story1-ufw.pcap");
        let ex = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ufw-router");
        let rules = format!("{ex}/iptables-save.txt");
        let host = format!("{ex}/host");
        let (r, text) = pcap(&[&file, "--rules", &rules, "--host", &host, "--at", "tap0"]);
        assert_eq!(r.unwrap(), Conclusion::Blocked);
        assert!(
            text.contains("from 10.1.1.1 (the router: this host, its address on tap0; not the destination 10.1.0.2)"),
            "{text}"
        );
        assert!(text.contains("fine: ping answered"), "{text}");
        assert!(
            text.contains("-A ufw-before-forward -p icmp -m icmp --icmp-type 8 -j ACCEPT"),
            "{text}"
        );
        // Without the host state, the sender is only known to be a hop on the way.
        let (_, text) = pcap(&[&file]);
        assert!(
            text.contains("a hop on the way (a router), not the destination 10.1.0.2"),
            "{text}"
        );
        assert!(text.contains("fine: ping answered"), "{text}");
    }

    #[test]
    fn json_schema_of_a_finding() {
        let file = format!("{FIXTURES}/reject-tcp-reset.pcap");
        let rules = format!("{FIXTURES}/reject-tcp-reset.rules");
        let host = format!("{FIXTURES}/router");
        let (r, text) = pcap(&[
            &file, "--rules", &rules, "--host", &host, "--at", "lan0", "--json",
        ]);
        assert_eq!(r.unwrap(), Conclusion::Blocked);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["schema"], "whyblocked-capture/1");
        assert_eq!(v["flows"]["failed"], 1);
        assert_eq!(v["flows"]["ok"], 1);
        let f = &v["findings"][0];
        assert_eq!(f["kind"], "syn_refused");
        assert_eq!(f["severity"], "failed");
        assert_eq!(f["answered_by"]["role"], "middlebox");
        assert_eq!(f["server"]["port"], 2175);
        let sim = &f["simulation"]["report"];
        assert_eq!(sim["fate"], "rejected");
        assert!(sim["deciding_rule"]["text"]
            .as_str()
            .unwrap()
            .contains("tcp-reset"));
    }

    #[test]
    fn without_at_the_flows_are_classified_but_not_simulated() {
        let file = format!("{FIXTURES}/drop.pcap");
        let rules = format!("{FIXTURES}/drop.rules");
        let (r, text) = pcap(&[&file, "--rules", &rules]);
        assert_eq!(r.unwrap(), Conclusion::Blocked);
        assert!(text.contains("timed out: 3 SYNs"), "{text}");
        assert!(text.contains("give --at IFACE"), "{text}");
    }

    #[test]
    fn not_a_capture_is_an_input_error() {
        let file = format!("{FIXTURES}/drop.rules");
        let (r, _) = pcap(&[&file]);
        match r {
            Err(crate::Error::Input(m)) => assert!(m.contains("not a pcap or pcapng file"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
