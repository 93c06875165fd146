//! The rule a pf admin would type to let a packet through one pass, in pf.conf syntax
//! (pf.conf(5) PACKET FILTERING): `pass in quick on em0 inet proto tcp from 203.0.113.9
//! to 192.0.2.10 port 443 flags S/SA keep state`.
//!
//! `keep state` is pf's default on `pass` since OpenBSD 4.1 and FreeBSD 7; written out so
//! the rule reads the same on older systems and says why the reply passes.

use super::{Breadth, Seen};
use model::L4;
use std::net::IpAddr;

/// The pf.conf rule passing the packet as `seen` describes, as broad as `breadth`; see
/// [`super::ipf::rule_text`] for `quick`. A rule inside an anchor is written into the
/// anchor's own rules, so it names no anchor.
pub fn rule_text(seen: &Seen<'_>, breadth: Breadth, quick: bool) -> Option<String> {
    let p = seen.packet;
    let (mut words, from, to) = super::rule_start(seen, breadth, quick, |a| a.to_string())?;
    words.push(
        match p.src {
            IpAddr::V4(_) => "inet",
            IpAddr::V6(_) => "inet6",
        }
        .into(),
    );
    match p.l4 {
        L4::Tcp { dport, .. } => {
            words.push(format!("proto tcp from {from} to {to} port {dport}"));
            words.push("flags S/SA keep state".into());
        }
        L4::Udp { dport, .. } => {
            words.push(format!("proto udp from {from} to {to} port {dport}"));
            words.push("keep state".into());
        }
        L4::Icmp { icmp_type, .. } => words.push(format!(
            "proto icmp from {from} to {to} icmp-type {icmp_type} keep state"
        )),
        L4::Icmpv6 { icmp_type, .. } => words.push(format!(
            "proto icmp6 from {from} to {to} icmp6-type {icmp_type} keep state"
        )),
        L4::Sctp { dport, .. } => {
            words.push(format!("proto sctp from {from} to {to} port {dport}"));
            words.push("keep state".into());
        }
        L4::Other(_) => return None,
    }
    Some(words.join(" "))
}
