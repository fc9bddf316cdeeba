//! The crate's error type.

use crate::cloud::CloudError;

/// What can go wrong in the route controller outside per-route write results (those are
/// [`crate::cloud::RouteWriteError`]s in the apply report).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--cluster-cidr` is missing or invalid; the message names the fix.
    #[error("invalid --cluster-cidr: {0}")]
    ClusterCidr(String),
    /// The configuration is unusable.
    #[error("invalid route controller configuration: {0}")]
    Config(String),
    /// A cloud read failed.
    #[error("cloud call failed")]
    Cloud(#[from] CloudError),
    /// The VPC has no route table to manage.
    #[error(
        "VPC {vpc_id} has no system route table and no node could be located in a vSwitch; set routeTableIDs in the cloud-config"
    )]
    NoRouteTable {
        /// The VPC.
        vpc_id: String,
    },
    /// The shared node cache never became ready.
    #[error("the node cache is not ready")]
    NodeCacheNotReady,
    /// Patching a node's status failed.
    #[error("patching the NetworkUnavailable condition of node {node}")]
    PatchNodeStatus {
        /// The node.
        node: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Publishing an event failed.
    #[error("publishing event {reason} on node {node}")]
    PublishEvent {
        /// The node.
        node: String,
        /// The event reason.
        reason: &'static str,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

impl Error {
    /// A short, stable label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::ClusterCidr(_) | Error::Config(_) => "config",
            Error::Cloud(_) => "cloud_read",
            Error::NoRouteTable { .. } => "no_route_table",
            Error::NodeCacheNotReady => "node_cache",
            Error::PatchNodeStatus { .. } => "patch_node_status",
            Error::PublishEvent { .. } => "event",
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
