//! What the connection experiences ([`engine::Connection`]), the ground of the answer's
//! headline and exit status (issue 11 A4), and what an ICMP error does and does not cause
//! (A8), on the bundled ufw router's host state (`examples/ufw-router/host`: routes only
//! to its two links, sshd listening on port 22).

use engine::{simulate, Connection, CtState, Fate, Listener, Options, Trace};
use model::{Family, Host, Packet, Ruleset, SourceFile};
use std::path::Path;

/// The packet `whyblocked` reads from `spec`.
fn packet(spec: &str) -> Packet {
    let words: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
    frontends::packet_spec::parse(&words)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_packet()
}

fn trace(rs: &Ruleset, host: &Host, spec: &str) -> Trace {
    simulate(rs, host, &packet(spec), &Options::default())
        .primary()
        .clone()
}

fn example_host() -> Host {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ufw-router/host");
    frontends::host::host_dir::load(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .host
}

fn iptables(text: &str) -> Ruleset {
    let src = SourceFile::new("rules", text);
    frontends::iptables_save::parse(&src, Some(Family::Ip)).unwrap_or_else(|e| panic!("{e}"))
}

fn ip6tables(text: &str) -> Ruleset {
    let src = SourceFile::new("rules6", text);
    frontends::iptables_save::parse(&src, Some(Family::Ip6)).unwrap_or_else(|e| panic!("{e}"))
}

const ACCEPT: &str =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";

/// Accepts all but INVALID packets: conntrack runs.
const DROP_INVALID: &str =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
    -A INPUT -m conntrack --ctstate INVALID -j DROP\n\
    -A FORWARD -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";

#[test]
fn a4_closed_port_is_refused_and_has_no_peer_reply() {
    let host = example_host();
    let t = trace(
        &iptables(ACCEPT),
        &host,
        "tcp 10.1.1.2:1050 10.1.1.1:80 in tap0",
    );
    assert_eq!(
        t.fate,
        Fate::Delivered {
            listener: Listener::Closed
        }
    );
    assert!(t.fate.passed(), "the packet itself got through");
    assert_eq!(t.connection(), Connection::Refused);
    assert_eq!(
        t.reply, None,
        "the stack's RST is the answer, not a SYN/ACK"
    );
}

#[test]
fn a4_open_port_succeeds() {
    let host = example_host();
    let o = simulate(
        &iptables(ACCEPT),
        &host,
        &packet("tcp 10.1.1.2:1050 10.1.1.1:22 in tap0"),
        &Options::default(),
    );
    assert_eq!(o.connection(), Connection::Succeeds);
    assert!(o.primary().reply.is_some());
}

#[test]
fn a4_answer_without_a_route_back_is_lost() {
    let host = example_host();
    let t = trace(
        &ip6tables(ACCEPT),
        &host,
        "tcp [2001:db8:9::2]:1050 [fe80::38ef:98ff:feba:7c21]:22 in eno1",
    );
    assert!(matches!(t.fate, Fate::Delivered { .. }), "{:?}", t.fate);
    assert_eq!(t.connection(), Connection::AnswerLost);
}

#[test]
fn a4_forwarded_packet_whose_reply_has_no_route_back_is_lost() {
    // Forwarded out of eno1 to 10.1.0.2, from a source this router has no route to
    // (`rp_filter` is 0, so the SYN passes): the SYN/ACK arriving on eno1 cannot be routed
    // back.
    let host = example_host();
    let t = trace(
        &iptables(ACCEPT),
        &host,
        "tcp 192.0.2.7:1050 10.1.0.2:80 in tap0",
    );
    assert!(matches!(t.fate, Fate::Forwarded { .. }), "{:?}", t.fate);
    assert_eq!(t.connection(), Connection::AnswerLost, "{:?}", t.reply);
}

#[test]
fn a4_blocked_packet_is_blocked() {
    let host = example_host();
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let t = trace(
        &iptables(rules),
        &host,
        "tcp 10.1.1.2:1050 10.1.1.1:22 in tap0",
    );
    assert_eq!(t.connection(), Connection::Blocked);
}

#[test]
fn a8_icmp_error_without_a_conntrack_table_creates_no_entry_and_gets_no_answer() {
    let host = example_host();
    let t = trace(
        &iptables(DROP_INVALID),
        &host,
        "icmp 10.1.1.2 10.1.1.1 in tap0 type port-unreachable",
    );
    assert_eq!(t.conntrack.state, Some(CtState::Related));
    assert_eq!(t.conntrack.new_entry, None);
    assert_eq!(t.reply, None);
    assert_eq!(t.sender_sees, engine::SenderView::default());
    assert!(!t
        .assumptions
        .contains(&engine::Assumption::FirstPacketOfFlow));
}

#[test]
fn a8_icmp_error_with_an_empty_conntrack_table_is_invalid() {
    // With the host's table given and no entry the error could quote, the kernel's
    // `icmp_error_message` finds no connection: the error is INVALID (proved in the
    // kernel by oracle/tests/answer_ground_kernel.rs).
    let mut host = example_host();
    host.known.conntrack = true;
    host.conntrack.clear();
    let t = trace(
        &iptables(DROP_INVALID),
        &host,
        "icmp 10.1.1.2 10.1.0.2 in tap0 type port-unreachable",
    );
    assert_eq!(t.conntrack.state, Some(CtState::Invalid));
    assert_eq!(t.conntrack.new_entry, None);
    assert_eq!(t.fate, Fate::Dropped);
}
