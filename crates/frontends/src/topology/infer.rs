//! Links between hosts given without a topology file, inferred from what the hosts say.
//!
//! - Interfaces with addresses in the same subnet are on one link ([`SharedSubnet`]); not
//!   `lo` or any loopback device, not host-scope addresses, and not IPv6 link-local ones
//!   (`fe80::/64` is on every link, so it tells nothing).
//! - A neighbour-table entry of node A on its device D, for an address that node B's
//!   interface E carries, puts A:D and B:E on one link ([`Neighbour`]): the way two hosts
//!   that share only link-local addresses are found. Only entries that resolved (not
//!   `FAILED`/`INCOMPLETE`) count, and when the entry's MAC and E's are both known they must
//!   be equal; an address several other interfaces carry (the same `fe80::1` on many
//!   routers) tells nothing and is skipped.
//!
//! Inferred links that share an end are merged (the first one's evidence is kept). They are
//! never complete: other machines may share the segment. A declared link overrides
//! inference for its ends.
//!
//! [`SharedSubnet`]: LinkEvidence::SharedSubnet
//! [`Neighbour`]: LinkEvidence::Neighbour

use model::host::{LinkType, Scope};
use model::topology::{Link, LinkEnd, LinkEvidence, Topology};

/// Adds to `topology` the links its nodes' addresses and neighbour tables show, leaving
/// the ends of declared links out.
pub fn infer_links(topology: &mut Topology) {
    let mut candidates = shared_subnets(topology);
    candidates.extend(neighbours(topology));
    let declared = |e: &LinkEnd| topology.link_of(e.node, &e.iface).is_some();
    let mut merged: Vec<Link> = Vec::new();
    for mut link in candidates {
        link.ends.retain(|e| !declared(e));
        if link.ends.len() < 2 {
            continue;
        }
        // Fold every merged link that shares an end into this one.
        let mut i = 0;
        while i < merged.len() {
            if merged[i].ends.iter().any(|e| link.ends.contains(e)) {
                let older = merged.remove(i);
                let mut ends = older.ends;
                for e in link.ends {
                    if !ends.contains(&e) {
                        ends.push(e);
                    }
                }
                link = Link {
                    ends,
                    evidence: older.evidence,
                    ..link
                };
                i = 0;
            } else {
                i += 1;
            }
        }
        merged.push(link);
    }
    for mut link in merged {
        link.name = link
            .ends
            .iter()
            .map(|e| format!("{}:{}", topology.nodes[e.node].name, e.iface))
            .collect::<Vec<_>>()
            .join(" -- ");
        topology.links.push(link);
    }
}

/// One candidate link per subnet that interfaces of two or more nodes share.
fn shared_subnets(topology: &Topology) -> Vec<Link> {
    let mut by_net: Vec<(ipnet::IpNet, Vec<LinkEnd>)> = Vec::new();
    for (n, node) in topology.nodes.iter().enumerate() {
        for iface in &node.host.interfaces {
            if iface.name == "lo" || iface.link == LinkType::Loopback {
                continue;
            }
            for a in &iface.addrs {
                let link_local =
                    matches!(a.addr, std::net::IpAddr::V6(v6) if v6.is_unicast_link_local());
                if a.scope >= Scope::Host || link_local {
                    continue;
                }
                let end = LinkEnd {
                    node: n,
                    iface: iface.name.clone(),
                };
                let net = a.network();
                match by_net.iter_mut().find(|(k, _)| *k == net) {
                    Some((_, ends)) if !ends.contains(&end) => ends.push(end),
                    Some(_) => {}
                    None => by_net.push((net, vec![end])),
                }
            }
        }
    }
    by_net
        .into_iter()
        .filter(|(_, ends)| {
            ends.iter()
                .any(|e| ends.iter().any(|other| other.node != e.node))
        })
        .map(|(net, ends)| Link {
            name: String::new(),
            ends,
            evidence: LinkEvidence::SharedSubnet { net },
            complete: false,
        })
        .collect()
}

/// One candidate link per resolved neighbour entry whose address one other node's
/// interface carries.
fn neighbours(topology: &Topology) -> Vec<Link> {
    let mut out = Vec::new();
    for (n, node) in topology.nodes.iter().enumerate() {
        for entry in node.host.neighbours.iter().filter(|e| !e.failed()) {
            let owners: Vec<LinkEnd> = topology
                .owners_of(entry.addr)
                .into_iter()
                .filter(|o| o.node != n)
                .filter(|o| {
                    let mac = topology.nodes[o.node]
                        .host
                        .interface(&o.iface)
                        .and_then(|i| i.mac);
                    match (entry.lladdr, mac) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
                })
                .collect();
            let [owner] = owners.as_slice() else {
                continue;
            };
            out.push(Link {
                name: String::new(),
                ends: vec![
                    LinkEnd {
                        node: n,
                        iface: entry.dev.clone(),
                    },
                    owner.clone(),
                ],
                evidence: LinkEvidence::Neighbour {
                    node: n,
                    iface: entry.dev.clone(),
                    addr: entry.addr,
                },
                complete: false,
            });
        }
    }
    out
}
