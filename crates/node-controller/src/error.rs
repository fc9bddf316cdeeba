//! The crate's error type.

/// Everything the node controller can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An Alibaba Cloud call failed.
    #[error("cloud call {call} failed: {source}")]
    Cloud {
        /// What was asked (`DescribeInstances`, `ModifyNetworkInterfaceAttribute`).
        call: &'static str,
        /// The client's error.
        #[source]
        source: aliyun_api::Error,
    },
    /// A node names a region this process has no Alibaba Cloud client for.
    #[error("no Alibaba Cloud client for region `{0}` (nodes of other regions are left alone)")]
    NoClientForRegion(String),
    /// A Kubernetes API call failed.
    #[error("{verb} node {node}: {source}")]
    Kube {
        /// What was attempted (`patch`, `patch status of`, `get`, `delete`).
        verb: &'static str,
        /// The node.
        node: String,
        /// kube's error.
        #[source]
        source: kube::Error,
    },
    /// A patch could not be built (a bug: the operations are made from typed values).
    #[error("building the patch of node {node}: {source}")]
    InvalidPatch {
        /// The node.
        node: String,
        /// The serialization error.
        #[source]
        source: serde_json::Error,
    },
    /// The shared node cache went away before it was filled (the process is shutting down).
    #[error("the shared node cache was dropped before it was ready")]
    FeedClosed,
}

impl Error {
    /// Whether a Kubernetes write failed because the node changed since it was read: 409, or 422 from a JSON
    /// patch `test` operation that no longer holds.
    pub fn is_write_conflict(&self) -> bool {
        match self {
            Error::Kube { source: kube::Error::Api(status), .. } => status.code == 409 || status.code == 422,
            _ => false,
        }
    }

    /// Whether the Kubernetes object was not found.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Kube { source: kube::Error::Api(status), .. } if status.code == 404)
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
