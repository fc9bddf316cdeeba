//! Route controller of the Alibaba Cloud CCM: one VPC route per pod CIDR of every ECS node, in every managed
//! route table, and nothing else touched.
//!
//! The shape is observe -> plan -> apply:
//! * [`cloud`]: the port, [`cloud::RouteCloud`], with plain-data models; [`aliyun`] implements it over
//!   `aliyun_api::Client`, `mock` (feature `mock`) in memory.
//! * [`nodes`] and [`tables`]: which nodes get routes, which route tables are managed.
//! * [`plan`]: the pure [`plan::RoutePlan::compute`]: creates, deletes, per-node state, warnings.
//! * [`apply`]: the executor: serialized per table, deletes first, batched, waits out Pending entries.
//! * [`reconciler`]: one pass on the cloud side (also for a dry-run `plan` command).
//! * [`controller`]: [`controller::run`]: triggers, the `NetworkUnavailable` condition and events ([`status`]).
//!
//! ```no_run
//! # async fn wire(client: kube::Client, cloud: aliyun_api::Client, feed: ccm_kube::node_feed::NodeFeed)
//! # -> Result<(), route_controller::Error> {
//! use std::sync::Arc;
//! use route_controller::{Context, RouteControllerConfig, RouteMetrics, aliyun::AliyunRouteCloud, parse_cluster_cidrs};
//!
//! let config = RouteControllerConfig {
//!     region: "cn-hangzhou".into(),
//!     vpc_id: "vpc-123".into(),
//!     cluster_cidrs: parse_cluster_cidrs("10.244.0.0/16")?,
//!     ..Default::default()
//! };
//! let ctx = Context {
//!     client,
//!     cloud: Arc::new(AliyunRouteCloud::new(cloud)),
//!     config,
//!     metrics: RouteMetrics::default(),
//!     reporter: None,
//! };
//! route_controller::run(ctx, feed).await
//! # }
//! ```

pub mod aliyun;
pub mod apply;
pub mod cloud;
pub mod config;
pub mod controller;
pub mod error;
pub mod metrics;
#[cfg(any(test, feature = "mock"))]
pub mod mock;
pub mod nodes;
pub mod plan;
pub mod reconciler;
pub mod status;
pub mod tables;
mod writer;

pub use apply::{ApplyReport, ApplySettings, RouteExecutor};
pub use cloud::{CloudRoute, RouteCloud, RouteKey};
pub use config::{RouteControllerConfig, parse_cluster_cidrs, parse_route_table_ids, validate_cluster_cidrs};
pub use controller::{Context, run};
pub use error::{Error, Result};
pub use metrics::RouteMetrics;
pub use plan::RoutePlan;
pub use reconciler::RouteReconciler;
