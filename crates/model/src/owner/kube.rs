//! What an object of kube-proxy, Calico or Cilium is.

/// The object's part in the cluster's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KubeRole {
    /// The chains and rules of one service.
    Service(KubeService),
    /// A service that has no ready endpoints: kube-proxy rejects or drops its traffic.
    NoEndpoints(KubeService),
    /// A service with `externalTrafficPolicy: Local` and no ready endpoint on this node:
    /// kube-proxy drops its external traffic here (other nodes may serve it).
    NoLocalEndpoints(KubeService),
    /// A network policy (Calico, Cilium).
    NetworkPolicy(String),
    /// The tool's other chains and rules.
    Infrastructure,
}

/// A service port as kube-proxy's comments name it: `namespace/name:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KubeService {
    /// `namespace/name:port` as in the comment.
    pub name: String,
}
