//! `whyblocked log`: a firewall log's flow table joined with the simulation of each flow's
//! first packet (`analysis::flows::logs`), as text and as JSON.
//!
//! ```text
//! FLOW                                         COUNT  FIRST SEEN       LAST SEEN        PREFIX        FATE      DECIDING RULE
//! tcp 10.1.1.2:1050 -> 10.1.0.2:2175 tap0>eno1     3  Nov 22 10:00:00  Nov 22 10:00:05  [UFW BLOCK]   REJECTED  filter/ufw-reject-forward #1 (iptables-save.txt:94)
//! ```

pub mod json;
pub mod text;
