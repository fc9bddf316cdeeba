//! Node controller of the Alibaba Cloud CCM: initializes ECS nodes and follows their lifecycle.
//!
//! * Initialization: a node carrying `node.cloudprovider.kubernetes.io/uninitialized` is matched to its ECS
//!   instance (by provider ID, or by private IP in the cluster's VPC when the provider ID is empty), gets its
//!   provider ID, labels and addresses, and loses the taint.
//! * Refresh: labels and addresses of every node follow the cloud (every 5 minutes by default).
//! * Lifecycle: a not-Ready node whose instance is gone is deleted; a stopped instance's node gets the shutdown
//!   taint.
//! * Cost: changed nodes are coalesced and looked up 100 per request.
//!
//! The shape is observe -> plan -> apply: [`batch`] observes (cloud lookups through the [`NodeCloud`] port),
//! [`plan`] decides (pure), [`apply`] writes to Kubernetes; [`controller`] schedules batches.
//!
//! ```no_run
//! # async fn wire(client: kube::Client, ecs: aliyun_api::Client, watch: &ccm_kube::node_feed::SharedNodeWatch)
//! # -> Result<(), node_controller::Error> {
//! use std::sync::Arc;
//! use node_controller::{AliyunNodeCloud, Context, NodeControllerConfig, run};
//!
//! let config = NodeControllerConfig { vpc_id: Some("vpc-123".into()), ..NodeControllerConfig::for_region("cn-hangzhou") };
//! let ctx = Arc::new(Context::new(client, AliyunNodeCloud::new(ecs), config));
//! // ctx.metrics.register(&mut registry);
//! run(ctx, watch.feed()).await
//! # }
//! ```

pub mod addresses;
pub mod aliyun;
pub mod apply;
pub mod batch;
pub mod cloud;
pub mod config;
pub mod controller;
pub mod error;
pub mod events;
pub mod metrics;
#[cfg(any(test, feature = "mock"))]
pub mod mock;
pub mod patch;
pub mod plan;
#[cfg(test)]
mod test_support;

pub use aliyun::AliyunNodeCloud;
pub use cloud::{EcsInstance, InstanceStatus, NodeCloud};
pub use config::{NodeControllerConfig, PlanConfig};
pub use controller::{Context, run};
pub use error::{Error, Result};
pub use metrics::NodeMetrics;
pub use plan::{CloudView, NodePlan, NodeUpdate, plan_node};
