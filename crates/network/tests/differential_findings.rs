//! Regression tests for what the random path differential against the kernel
//! (`oracle/tests/path_differential.rs`) found, each named after its finding.

mod support;

use network::sees::{sender_sees, SenderSees};
use support::*;

#[test]
fn a_connection_to_an_address_of_the_sender_itself_goes_out_lo_and_back() {
    for dst in ["10.0.1.2", "2001:db8:1::2"] {
        let t = if dst.contains(':') {
            three_v6(&[])
        } else {
            three(ROUTER_OPEN, BACK, 1500)
        };
        let w = network::walk(&t, &query(0, syn(443), dst, None));
        assert_eq!(
            sender_sees(&w),
            SenderSees::Refused { from: ip(dst) },
            "{dst}: {w:#?}"
        );
    }
}

#[test]
fn an_echo_reply_is_as_large_as_the_request_and_leaves_in_fragments() {
    // The server's link is 1400: the 1500-byte echo request (without DF) arrives in
    // fragments, and the reply, as large, leaves in fragments too (no DF on the kernel's
    // echo replies).
    let t = three(ROUTER_OPEN, BACK, 1400);
    let mut q = query(0, ping(), "10.0.2.2", Some(1500));
    q.packet.dont_fragment = false;
    let w = network::walk(&t, &q);
    assert_eq!(w.outcome, network::Outcome::Works, "{w:#?}");
    let reply = &w.legs[1].hops[0];
    assert_eq!(w.legs[1].role, network::LegRole::Answer);
    assert_eq!(reply.packet.len, 1500);
    assert!(!reply.packet.dont_fragment);
    assert!(
        reply.egress.as_ref().is_some_and(|e| e.fragmented),
        "{reply:#?}"
    );
}
