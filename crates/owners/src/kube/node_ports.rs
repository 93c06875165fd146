//! NodePorts as kube-proxy wrote them, and the clashes among them: a NodePort a host
//! socket also listens on (kube-proxy's DNAT, or its no-endpoints reject, takes every
//! packet to that port before the socket sees one), and a NodePort two service ports
//! claim (a packet meets only one of their rules).
//!
//! Where the NodePorts are (kube-proxy's `pkg/proxy/iptables/proxier.go` and
//! `pkg/proxy/nftables/proxier.go`): the iptables mode jumps from nat's `KUBE-NODEPORTS`
//! (`-p tcp --dport N`, commented with the service port) for a service with endpoints,
//! and rejects in filter's `KUBE-EXTERNAL-SERVICES` (`-m addrtype --dst-type LOCAL`, no
//! `-d`) for one without; the nftables mode keys its `service-nodeports` and
//! `no-endpoint-nodeports` maps by `proto . port`. The service port comes from the owner
//! the `kube_proxy` module gave each rule or element.

use super::kube_proxy::service_of_nft_chain;
use model::expr::{Key, Pattern, Test, Value};
use model::host::Socket;
use model::owner::{KubeRole, KubeService};
use model::packet::IpProto;
use model::ruleset::{MapData, SetElement};
use model::{Host, Role, Rule, Ruleset, Tool, Verdict};

/// One NodePort of one service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePort {
    /// The protocol.
    pub proto: IpProto,
    /// The port on every node address.
    pub port: u16,
    /// The service port that claims it (`ns/name:port`).
    pub service: KubeService,
}

/// A NodePort that something else also claims.
#[derive(Debug, Clone, PartialEq)]
pub enum NodePortClash {
    /// A host socket listens on the NodePort: kube-proxy takes the packets first (to the
    /// service's endpoints, or rejected when it has none), so the socket never sees one
    /// from outside.
    HostSocket {
        /// The protocol.
        proto: IpProto,
        /// The port.
        port: u16,
        /// The service ports whose NodePort it is.
        services: Vec<KubeService>,
        /// The socket (`ss`), with its process when known.
        socket: Socket,
    },
    /// Two or more service ports claim the NodePort: kube-proxy's rules for each are in
    /// place, and a packet to the port meets only one of them (which one is the
    /// simulation's answer: nat's DNAT comes before filter's reject).
    Services {
        /// The protocol.
        proto: IpProto,
        /// The port.
        port: u16,
        /// The service ports, in the order kube-proxy's rules list them.
        services: Vec<KubeService>,
    },
}

impl NodePortClash {
    /// The protocol and port that clash.
    pub fn port(&self) -> (IpProto, u16) {
        match self {
            NodePortClash::HostSocket { proto, port, .. }
            | NodePortClash::Services { proto, port, .. } => (*proto, *port),
        }
    }

    /// The service ports involved.
    pub fn services(&self) -> &[KubeService] {
        match self {
            NodePortClash::HostSocket { services, .. }
            | NodePortClash::Services { services, .. } => services,
        }
    }
}

/// Every NodePort kube-proxy wrote, in rule (or map element) order; each service port
/// once per protocol and port.
pub fn node_ports(ruleset: &Ruleset) -> Vec<NodePort> {
    let mut out: Vec<NodePort> = Vec::new();
    for table in &ruleset.tables {
        let nft = table.origin.dialect.is_some_and(|d| d.is_nft());
        if nft && table.name == "kube-proxy" {
            for set in &table.sets {
                if set.name == "service-nodeports" || set.name == "no-endpoint-nodeports" {
                    out.extend(set.elements.iter().filter_map(nft_node_port));
                }
            }
            continue;
        }
        for chain in &table.chains {
            let node_port_chain = match chain.name.as_str() {
                "KUBE-NODEPORTS" => true,
                "KUBE-EXTERNAL-SERVICES" => false,
                _ => continue,
            };
            for rule in &chain.rules {
                // In KUBE-EXTERNAL-SERVICES, a rule with `-d` is an external IP's.
                if !node_port_chain && cmp(rule, Key::DstAddr).is_some() {
                    continue;
                }
                if let Some(np) = ipt_node_port(rule) {
                    out.push(np);
                }
            }
        }
    }
    let mut unique: Vec<NodePort> = Vec::new();
    for np in out {
        if !unique.contains(&np) {
            unique.push(np);
        }
    }
    unique
}

/// The NodePorts that a host socket or another service port also claims. Host sockets
/// are only looked at when the host's sockets were given (`ss`).
pub fn clashes(ruleset: &Ruleset, host: &Host) -> Vec<NodePortClash> {
    let ports = node_ports(ruleset);
    let mut keys: Vec<(IpProto, u16)> = Vec::new();
    for np in &ports {
        if !keys.contains(&(np.proto, np.port)) {
            keys.push((np.proto, np.port));
        }
    }
    let mut out = Vec::new();
    for (proto, port) in keys {
        let services: Vec<KubeService> = ports
            .iter()
            .filter(|np| (np.proto, np.port) == (proto, port))
            .map(|np| np.service.clone())
            .collect();
        let mut names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
        names.dedup();
        if names.len() > 1 {
            out.push(NodePortClash::Services {
                proto,
                port,
                services: services.clone(),
            });
        }
        if !host.known.sockets {
            continue;
        }
        for socket in host
            .sockets
            .iter()
            .filter(|s| s.proto == proto && s.port == port)
        {
            out.push(NodePortClash::HostSocket {
                proto,
                port,
                services: services.clone(),
                socket: socket.clone(),
            });
        }
    }
    out
}

/// The service port a kube-proxy rule's owner names.
fn service_of(rule: &Rule) -> Option<KubeService> {
    let owner = rule.origin.owner.as_ref()?;
    if owner.tool != Tool::KubeProxy {
        return None;
    }
    match &owner.role {
        Role::Kube(
            KubeRole::Service(s) | KubeRole::NoEndpoints(s) | KubeRole::NoLocalEndpoints(s),
        ) => Some(s.clone()),
        _ => None,
    }
}

/// The pattern a rule's plain (not negated) comparison of `key` has.
fn cmp(rule: &Rule, key: Key) -> Option<&Pattern> {
    rule.matches().find_map(|m| match &m.test {
        Test::Cmp { key: k, pattern } if *k == key && !m.negated => Some(pattern),
        _ => None,
    })
}

fn int(p: &Pattern) -> Option<u64> {
    match p {
        Pattern::Value(Value::Int(n)) => Some(*n),
        _ => None,
    }
}

fn ipt_node_port(rule: &Rule) -> Option<NodePort> {
    let proto = u8::try_from(int(cmp(rule, Key::L4Proto)?)?).ok()?;
    let port = u16::try_from(int(cmp(rule, Key::DstPort)?)?).ok()?;
    Some(NodePort {
        proto: IpProto::from_number(proto),
        port,
        service: service_of(rule)?,
    })
}

/// `tcp . 30001 comment "ns/name:port" : goto reject-chain` (no endpoints) or
/// `tcp . 30001 : goto external-HASH-ns/name/tcp/port`.
fn nft_node_port(e: &SetElement) -> Option<NodePort> {
    let [proto, port] = e.key.as_slice() else {
        return None;
    };
    let proto = match proto {
        Pattern::Value(Value::Str(s)) => match s.as_str() {
            "tcp" => IpProto::Tcp,
            "udp" => IpProto::Udp,
            _ => return None,
        },
        p => IpProto::from_number(u8::try_from(int(p)?).ok()?),
    };
    let port = u16::try_from(int(port)?).ok()?;
    let service = match (&e.comment, &e.data) {
        (Some(c), _) => KubeService { name: c.clone() },
        (None, Some(MapData::Verdict(Verdict::Goto(c) | Verdict::Jump(c)))) => {
            service_of_nft_chain(c)?
        }
        _ => return None,
    };
    Some(NodePort {
        proto,
        port,
        service,
    })
}
