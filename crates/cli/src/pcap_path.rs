//! `pcap --topology FILE` / several `--host`: each failed flow of a capture walked across
//! the topology with `network::walk`, from the host that owns its source address, so the
//! answer names the hop and the direction that failed it (`report::capture::path` words it).

use evidence::capture::CaptureAnalysis;
use evidence::classify::{Finding, Symptom};
use model::topology::Topology;
use model::Packet;
use network::Query;
use report::capture::path::{CapturePaths, FlowOnPath, NotPlaced};

/// Every failed finding of `analysis` walked across `topology` (suspicious ones are not).
pub fn walk_findings(topology: Topology, analysis: &CaptureAnalysis) -> CapturePaths {
    let flows = analysis
        .findings
        .iter()
        .map(|f| f.symptom.is_failure().then(|| walk_one(&topology, f)))
        .collect();
    CapturePaths { topology, flows }
}

fn walk_one(topology: &Topology, f: &Finding) -> FlowOnPath {
    let query = match query(topology, f) {
        Ok(q) => q,
        Err(n) => return FlowOnPath::NotPlaced(n),
    };
    let walk = network::walk(topology, &query);
    FlowOnPath::Walked {
        from: query.from,
        walk,
    }
}

/// The flow's first packet as its sender sends it (the capture's TTL and interfaces are
/// those of the capture point, not the sender's), from the one node that owns its source;
/// a path-MTU black hole is walked with its stuck segment's size.
fn query(topology: &Topology, f: &Finding) -> Result<Query, NotPlaced> {
    let src = f.client.0;
    if f.first_packet.src != src {
        return Err(NotPlaced::NoClientPacket);
    }
    let mut nodes: Vec<usize> = topology.owners_of(src).iter().map(|e| e.node).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let from = match nodes.as_slice() {
        [] => return Err(NotPlaced::NoOwner(src)),
        [one] => *one,
        _ => return Err(NotPlaced::SeveralOwners(src, nodes)),
    };
    let packet = Packet::new(src, f.first_packet.dst, f.first_packet.l4);
    let size = match &f.symptom {
        Symptom::PmtuBlackHole(v) => Some(v.ip_len),
        _ => None,
    };
    Ok(Query {
        bind: network::Bind::Address(src),
        size,
        ..Query::new(from, packet)
    })
}
