//! Packets, hosts and answers the pf tests share.
#![allow(dead_code)]

use engine::bsd::{Decider, PassResult};
use model::host::{table_id, DadState, IfAddr, Interface, Route, RouteType, Scope};
use model::packet::{TcpFlags, L4};
use model::{Host, Packet};

/// A packet from `src` to `dst` (addresses as text).
pub fn packet(src: &str, dst: &str, l4: L4) -> Packet {
    Packet::new(
        src.parse().expect("address"),
        dst.parse().expect("address"),
        l4,
    )
}

/// A TCP segment.
pub fn tcp(src: &str, sport: u16, dst: &str, dport: u16, flags: TcpFlags) -> Packet {
    let l4 = L4::Tcp {
        sport,
        dport,
        flags,
    };
    packet(src, dst, l4)
}

/// A TCP SYN.
pub fn syn(src: &str, sport: u16, dst: &str, dport: u16) -> Packet {
    tcp(src, sport, dst, dport, TcpFlags::SYN)
}

/// The SYN|ACK answering a SYN.
pub fn syn_ack(src: &str, sport: u16, dst: &str, dport: u16) -> Packet {
    tcp(
        src,
        sport,
        dst,
        dport,
        TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0),
    )
}

/// A UDP datagram.
pub fn udp(src: &str, sport: u16, dst: &str, dport: u16) -> Packet {
    packet(src, dst, L4::Udp { sport, dport })
}

/// The line of the rule that decided, or created the deciding state.
pub fn line_of(result: &PassResult) -> Option<u32> {
    match &result.decider {
        Decider::Rule(id)
        | Decider::State {
            created_by: Some(id),
        } => Some(id.origin.line),
        _ => None,
    }
}

/// The interfaces of a pf front-end environment, as [`host`] takes them.
pub fn env_interfaces(env: &frontends::pf::Env) -> Vec<(String, Vec<(std::net::IpAddr, u8)>)> {
    env.interfaces
        .iter()
        .map(|i| (i.name.clone(), i.addresses.clone()))
        .collect()
}

/// A host with these interfaces (name, addresses with prefix lengths) and, when given, a
/// default route by `egress`; its addresses and routes are known.
pub fn host<S: AsRef<str>>(
    interfaces: &[(S, Vec<(std::net::IpAddr, u8)>)],
    egress: Option<&str>,
) -> Host {
    let mut host = Host::default();
    for (name, addresses) in interfaces {
        let addrs = addresses
            .iter()
            .map(|&(addr, prefix_len)| IfAddr {
                addr,
                prefix_len,
                scope: Scope::Universe,
                broadcast: None,
                temporary: false,
                secondary: false,
                deprecated: false,
                dad: DadState::Done,
            })
            .collect();
        host.interfaces.push(Interface {
            name: name.as_ref().to_string(),
            up: true,
            addrs,
            ..Interface::default()
        });
    }
    if let Some(dev) = egress {
        host.routes.push(Route {
            table: table_id::MAIN,
            dst: "0.0.0.0/0".parse().expect("prefix"),
            route_type: RouteType::Unicast,
            gateway: None,
            dev: Some(dev.to_string()),
            prefsrc: None,
            metric: 0,
            scope: Scope::Universe,
            protocol: None,
            nexthops: Vec::new(),
            text: format!("default dev {dev}"),
        });
    }
    host.known.addresses = true;
    host.known.routes = egress.is_some();
    host
}
