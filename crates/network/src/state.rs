//! What the walk changes as it goes: every host's conntrack table (each Linux hop confirms
//! the entry its packet created, so the answer meets it) and each ruleset prepared once.

use engine::Prepared;
use model::host::CtEntry;
use model::topology::Topology;
use model::Host;

/// The hosts as the walk has left them so far.
pub(crate) struct State<'t> {
    /// Each node's host state, with the conntrack entries this walk created.
    pub hosts: Vec<Host>,
    /// Each node's ruleset, prepared once.
    pub prepared: Vec<Prepared<'t>>,
    /// The entries this walk created: (node, index into its conntrack table).
    pub created: Vec<(usize, usize)>,
    /// The sender forbids fragmenting its own packets (`ping -M do`): one too big for its
    /// way out fails to send instead of leaving in fragments.
    pub strict_df: bool,
}

impl<'t> State<'t> {
    pub fn new(topology: &'t Topology, strict_df: bool) -> State<'t> {
        State {
            hosts: topology.nodes.iter().map(|n| n.host.clone()).collect(),
            prepared: topology
                .nodes
                .iter()
                .map(|n| Prepared::new(&n.ruleset))
                .collect(),
            created: Vec::new(),
            strict_df,
        }
    }

    /// Confirms `entry` on `node` (the kernel confirms a new entry when its first packet
    /// leaves the host or is delivered).
    pub fn confirm(&mut self, node: usize, entry: CtEntry) {
        let host = &mut self.hosts[node];
        host.known.conntrack = true;
        host.conntrack.push(entry);
        self.created.push((node, host.conntrack.len() - 1));
    }

    /// The answer came through: every entry this walk created is ESTABLISHED and has seen
    /// its reply (what the next packets of the connection meet).
    pub fn established(&mut self) {
        use model::kernel::ct::status;
        for &(node, i) in &self.created {
            if let Some(e) = self.hosts[node].conntrack.get_mut(i) {
                if e.tcp_state.is_some() {
                    e.tcp_state = Some("ESTABLISHED".to_string());
                }
                e.status |= status::SEEN_REPLY | status::ASSURED;
            }
        }
    }
}
