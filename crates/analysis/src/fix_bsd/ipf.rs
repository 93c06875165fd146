//! The rule an IPFilter admin would type to let a packet through one pass, in ipf.conf
//! syntax (ipf.conf(5); `tools/ipf_y.y`): `pass in quick on lo0 proto tcp from
//! 127.0.0.1/32 to 127.0.0.1/32 port = 22 flags S keep state group 100`.
//!
//! `flags S keep state` is IPFilter's idiom for a TCP connection: the state entry made by
//! the SYN passes the rest of the connection both ways, the reply included. ICMP echo
//! gets `keep state` too (the echo reply then passes); UDP likewise.

use super::{Breadth, Seen};
use model::L4;
use std::net::IpAddr;

/// A host address as ipf writes it: `127.0.0.1/32`, `2001:db8::1/128`.
fn host(a: IpAddr) -> String {
    match a {
        IpAddr::V4(_) => format!("{a}/32"),
        IpAddr::V6(_) => format!("{a}/128"),
    }
}

/// The ipf.conf rule passing `packet` as `seen` describes, as broad as `breadth`.
/// `quick` ends the walk there (placed before a quick block); without it the rule wins as
/// the last match (placed after a non-quick block).
pub fn rule_text(seen: &Seen<'_>, breadth: Breadth, quick: bool) -> Option<String> {
    let p = seen.packet;
    let (mut words, from, to) = super::rule_start(seen, breadth, quick, host)?;
    match p.l4 {
        L4::Tcp { dport, .. } => {
            words.push(format!("proto tcp from {from} to {to} port = {dport}"));
            words.push("flags S keep state".into());
        }
        L4::Udp { dport, .. } => {
            words.push(format!("proto udp from {from} to {to} port = {dport}"));
            words.push("keep state".into());
        }
        L4::Icmp { icmp_type, .. } => {
            words.push(format!(
                "proto icmp from {from} to {to} icmp-type {icmp_type} keep state"
            ));
        }
        L4::Icmpv6 { icmp_type, .. } => {
            words.push(format!(
                "proto ipv6-icmp from {from} to {to} icmp-type {icmp_type} keep state"
            ));
        }
        // SCTP and other protocols: IPFilter's state keeps no ports for them.
        _ => return None,
    }
    if let Some(group) = seen.group {
        words.push(format!("group {group}"));
    }
    Some(words.join(" "))
}
