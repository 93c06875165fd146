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
