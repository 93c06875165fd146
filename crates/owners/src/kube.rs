//! Recognising the objects of Kubernetes' node agents: kube-proxy (iptables and nftables
//! modes), Calico and Cilium. Each writes its own chains with its own prefix; the
//! service or policy an object stands for is in its comments or chain names.

mod calico;
mod cilium;
pub mod kube_proxy;
pub mod node_ports;

use model::tool_config::ToolConfig;
use model::{Rule, Ruleset, Verdict};

/// Claims kube-proxy's, Calico's and Cilium's tables, chains and rules.
pub(crate) fn recognise(ruleset: &mut Ruleset, _config: &ToolConfig) {
    kube_proxy::recognise(ruleset);
    calico::recognise(ruleset);
    cilium::recognise(ruleset);
}

/// The chain a rule jumps or goes to, if any.
fn target(rule: &Rule) -> Option<&str> {
    match rule.verdict()? {
        Verdict::Jump(c) | Verdict::Goto(c) => Some(c),
        _ => None,
    }
}
