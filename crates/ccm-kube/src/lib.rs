//! Kubernetes-side helpers shared by the controllers: provider IDs, which nodes are ECS instances, and the
//! well-known names (taints, labels, annotations) the CCM contract and the Go CCM use.

pub mod names;
pub mod node;
pub mod node_feed;
pub mod provider_id;

pub use node::{Exclusion, NodeClass, ReadyStatus};
pub use provider_id::{ProviderId, ProviderIdError};
