//! The parsers on real outputs captured in network namespaces (see fixtures/make.sh and
//! fixtures/README.md for how each file was made).

use evidence::conntrack_events::{self, CtEvent, Proof};
use evidence::trace::{self, KernelVerdict, StepKind, Tracer};
use model::kernel::NfVerdict;
use model::L4;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn dport(p: &model::Packet) -> Option<u16> {
    p.l4.ports().map(|p| p.1)
}

#[test]
fn nft_monitor_trace_real_output() {
    let (tracer, f) = trace::parse("t", &fixture("nft-monitor-trace.txt")).unwrap();
    assert_eq!(tracer, Tracer::NftMonitor);
    assert_eq!((f.malformed, f.orphans), (0, 0));
    // SYN+ACK+FIN+ACK to :80, one SYN each to 2175, 22, 23, 9, 2222, and a ping; the trace
    // id 5834a240 is reused by two packets of the :80 flow.
    assert_eq!(f.packets.len(), 10);
    let reject = f
        .packets
        .iter()
        .find(|p| dport(&p.packet) == Some(2175))
        .unwrap();
    let last = reject.steps.last().unwrap();
    assert_eq!(
        (last.table.as_str(), last.chain.as_str()),
        ("filter", "FORWARD")
    );
    assert_eq!(last.verdict, Some(KernelVerdict::of(NfVerdict::Drop)));
    assert_eq!(last.rule.text.as_deref(), Some("counter reject"));
    let dnat = f
        .packets
        .iter()
        .find(|p| dport(&p.packet) == Some(2222))
        .unwrap();
    let forward = dnat.steps.iter().find(|s| s.chain == "FORWARD").unwrap();
    let after_nat = forward.packet.as_ref().unwrap();
    assert_eq!(
        (after_nat.dst.to_string(), dport(after_nat)),
        ("10.1.0.2".into(), Some(22))
    );
    assert_eq!(after_nat.oif.as_deref(), Some("wan0"));
    let ping = f
        .packets
        .iter()
        .find(|p| matches!(p.packet.l4, L4::Icmp { .. }))
        .unwrap();
    assert_eq!(
        ping.packet.l4,
        L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: 10565
        }
    );
}

#[test]
fn xtables_monitor_real_output() {
    let (tracer, f) = trace::parse("x", &fixture("xtables-monitor.txt")).unwrap();
    assert_eq!(tracer, Tracer::XtablesMonitor);
    assert_eq!((f.malformed, f.orphans), (0, 0));
    assert_eq!(f.packets.len(), 10);
    let reject = f
        .packets
        .iter()
        .find(|p| dport(&p.packet) == Some(23))
        .unwrap();
    let last = reject.steps.last().unwrap();
    assert_eq!(last.verdict, Some(KernelVerdict::of(NfVerdict::Drop)));
    assert_eq!(
        last.rule.text.as_deref(),
        Some("-A INPUT -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset")
    );
    assert!(last.rule.handle.is_some());
    // ICMP: xtables-monitor prints no protocol; the packet is flagged, not guessed.
    let incomplete: Vec<_> = f
        .packets
        .iter()
        .filter(|p| p.incomplete.is_some())
        .collect();
    assert_eq!(incomplete.len(), 1);
}

#[test]
fn legacy_trace_hand_written_in_kernel_format() {
    let (tracer, f) = trace::parse("k", &fixture("trace-legacy.txt")).unwrap();
    assert_eq!(tracer, Tracer::Legacy);
    assert_eq!(f.packets.len(), 2);
    assert_eq!(
        f.other, 1,
        "the LOG line between TRACE lines is not a trace line"
    );
    let p = &f.packets[0];
    assert_eq!(p.steps.len(), 6);
    assert_eq!(p.steps[2].rule.number, Some(2));
    assert_eq!(p.steps[3].kind, StepKind::Return);
}

#[test]
fn conntrack_events_real_output_story_4() {
    let f = conntrack_events::parse("ct", &fixture("conntrack-events.txt"));
    assert_eq!((f.malformed, f.events), (0, 12));
    let proof = |dport: u16| {
        f.flows
            .iter()
            .find(|fl| fl.orig.dport == dport)
            .map(|fl| fl.proof())
    };
    assert_eq!(proof(80), Some(Proof::HandshakeCompleted));
    assert_eq!(
        proof(22),
        Some(Proof::PassedThenReset),
        "closed port on the router"
    );
    assert_eq!(
        proof(2222),
        Some(Proof::PassedThenReset),
        "DNATed to a closed port"
    );
    // Rejected (2175, 23) and dropped in raw (9): no event at all.
    assert_eq!((proof(2175), proof(23), proof(9)), (None, None, None));
    let ping = f
        .flows
        .iter()
        .find(|fl| fl.proto == model::packet::IpProto::Icmp)
        .unwrap();
    assert_eq!(ping.proof(), Proof::Replied);
    assert_eq!(
        f.table_after().len(),
        2,
        "the :80 flow in TIME_WAIT and the ping remain"
    );
}

#[test]
fn conntrack_plain_events_and_listing() {
    let f = conntrack_events::parse("ct", &fixture("conntrack-events-plain.txt"));
    assert_eq!(f.flows.len(), 2);
    assert_eq!(f.flows[0].proof(), Proof::PassedThenReset);
    let l = conntrack_events::parse("ct", &fixture("conntrack-list.txt"));
    assert!(l
        .flows
        .iter()
        .all(|fl| fl.events[0].event == CtEvent::Listed));
    assert_eq!(
        l.flows[0].entry_after().unwrap().tcp_state.as_deref(),
        Some("TIME_WAIT")
    );
}

#[test]
fn nft_listing_real_output() {
    let l = evidence::nft_listing::parse(&fixture("nft-list-ruleset.txt"));
    let c = l.chain(model::Family::Ip, "filter", "FORWARD").unwrap();
    assert_eq!(c.rules.len(), 4);
    assert!(c.rules.iter().all(|(h, _)| h.is_some()));
    assert_eq!(c.rules[3].1, "counter reject");
}

#[test]
fn hand_written_logs() {
    let scan = |name: &str| {
        evidence::log_file::scan(
            name,
            fixture(name).as_bytes(),
            &Default::default(),
            &mut |_| {},
        )
        .unwrap()
    };
    let s = scan("ufw.log");
    assert_eq!((s.lines, s.records, s.malformed, s.other), (9, 7, 1, 1));
    assert_eq!(s.flows.len(), 4);
    assert_eq!(s.flows[0].count, 3);
    assert_eq!(s.malformed_examples[0].line, 8);
    let j = scan("journal.json");
    assert_eq!((j.records, j.other, j.flows.len()), (2, 1, 1));
}
