//! What the sender sees at the end of a walk.
mod support;

use model::L4;
use network::sees::{sender_sees, SenderSees};
use support::*;

#[test]
fn a_working_ping_sees_the_echo_reply_from_the_destination() {
    let t = three("", BACK, 1500);
    let w = network::walk(&t, &query(0, ping(), "10.0.2.2", None));
    assert_eq!(
        sender_sees(&w),
        SenderSees::Answer {
            from: ip("10.0.2.2")
        }
    );
}

#[test]
fn a_neighbour_failure_on_the_router_is_seen_as_host_unreachable_from_the_router() {
    let t = three("", BACK, 1500);
    let w = network::walk(&t, &query(0, ping(), "10.0.2.9", None));
    assert_eq!(
        sender_sees(&w),
        SenderSees::Error {
            from: ip("10.0.1.1"),
            l4: L4::Icmp {
                icmp_type: 3,
                code: 1,
                id: 0
            },
            mtu: None
        }
    );
}

#[test]
fn a_neighbour_failure_on_the_sender_itself_is_its_own_host_unreachable() {
    let t = three("", BACK, 1500);
    let w = network::walk(&t, &query(0, ping(), "10.0.1.9", None));
    assert_eq!(
        sender_sees(&w),
        SenderSees::Error {
            from: ip("10.0.1.2"),
            l4: L4::Icmp {
                icmp_type: 3,
                code: 1,
                id: 0
            },
            mtu: None
        }
    );
}

#[test]
fn no_route_back_is_a_timeout() {
    let t = three("", &[], 1500);
    let w = network::walk(&t, &query(0, ping(), "10.0.2.2", None));
    assert_eq!(sender_sees(&w), SenderSees::Nothing);
}

#[test]
fn a_closed_port_is_refused_by_the_server() {
    let t = three("", BACK, 1500);
    let w = network::walk(&t, &query(0, syn(80), "10.0.2.2", None));
    assert_eq!(
        sender_sees(&w),
        SenderSees::Refused {
            from: ip("10.0.2.2")
        }
    );
}

#[test]
fn a_big_ping_sees_fragmentation_needed_with_the_mtu_first() {
    // Both ends of the router-server link are 1400 (were they to differ, the server's
    // full-size reply would be dropped by the router's smaller interface).
    let t = three("", BACK, 1400);
    let q = query(0, ping(), "10.0.2.2", Some(1500));
    let w = network::walk(&t, &q);
    // The first echo request gets the error; the walk's outcome is about the next one
    // (sent in fragments, answered by a reply of its size, in fragments too).
    assert_eq!(w.outcome, network::Outcome::Works);
    assert_eq!(w.path_mtu, Some(1400));
}
