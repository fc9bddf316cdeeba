//! Service controller for Alibaba Cloud Classic Load Balancers (CLB, SLB API 2014-05-15).
//!
//! Services of `type: LoadBalancer` become CLBs with one listener and one vServer group per port, named and
//! tagged exactly as the Go `cloud-provider-alibaba-cloud` names and tags them, so that a cluster switching over
//! keeps its load balancers, listeners and addresses: what the Go CCM created is adopted with no change.
//!
//! The pipeline is observe → plan → apply:
//! * [`annotations`] parses the Service annotations into a [`ServiceLbConfig`];
//! * [`model`] builds the desired [`DesiredClb`] (pure);
//! * [`observe`] reads the cloud through the [`ClbCloud`] port into an [`ObservedClb`];
//! * [`plan`] diffs them into a printable [`ClbPlan`] (pure);
//! * [`apply`] runs a plan against the cloud;
//! * [`reconcile`] strings these together for one Service with the Kubernetes side (finalizer, status, events);
//! * [`controller`] runs it for every Service with kube-runtime.

pub mod aliyun;
pub mod annotations;
pub mod apply;
pub mod cloud;
pub mod config;
pub mod controller;
pub mod eligibility;
pub mod error;
pub mod metrics;
#[cfg(any(test, feature = "mock"))]
pub mod mock;
pub mod model;
pub mod naming;
pub mod observe;
pub mod plan;
pub mod reconcile;
pub mod service_io;
#[cfg(test)]
mod testutil;

pub use aliyun::AliyunClb;
pub use annotations::{AnnotationError, AnnotationErrors, ServiceLbConfig};
pub use cloud::{ClbCloud, CloudError};
pub use config::ClbControllerConfig;
pub use controller::{ClbContext, run};
pub use error::Error;
pub use metrics::ClbMetrics;
#[cfg(any(test, feature = "mock"))]
pub use mock::MockClbCloud;
pub use model::{DesiredClb, ListenerSpec, LoadBalancerSpec, VServerGroupSpec};
pub use naming::{ListenerKey, ServiceOwner, VServerGroupKey};
pub use observe::ObservedClb;
pub use plan::{ClbOp, ClbPlan};
pub use reconcile::{Outcome, Reconciler};
