//! Settings of the node controller.

use std::time::Duration;

/// How the node controller behaves. Every field has the default shown by [`NodeControllerConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeControllerConfig {
    /// The cluster's region (cloud-config `Global.region`): where nodes without a provider ID are looked up by IP.
    pub region: String,
    /// The cluster's VPC (cloud-config `Global.vpcid`). Without it, nodes without a provider ID cannot be found by
    /// their IP and stay tainted (with a Warning event saying so).
    pub vpc_id: Option<String>,
    /// How often every node's labels and addresses are refreshed from the cloud (Go CCM: 5 minutes, fixed).
    pub refresh_period: Duration,
    /// How long changed nodes are collected before one batched lookup (a burst of 1,000 joining nodes costs about
    /// ten `DescribeInstances` calls).
    pub coalesce_window: Duration,
    /// How often NotReady nodes are checked against the cloud (deleted when their instance is gone, tainted when
    /// stopped). Ready nodes cost nothing here. Upstream's `--node-monitor-period` is 5 s.
    pub lifecycle_period: Duration,
    /// Turn the source/destination check of a node's primary ENI off before removing its taint (the Go CCM does,
    /// unless started with `--skip-disable-source-dest-check`).
    pub disable_source_dest_check: bool,
    /// Publish the primary ENI's IPv6 addresses as `InternalIP` (the Go CCM's `IPv6DualStack` feature gate).
    /// They are also published, whatever this says, for a node whose `provided-node-ip` names an IPv6 address.
    pub ipv6_dual_stack: bool,
    /// Kubernetes writes in flight at once.
    pub max_concurrent_writes: usize,
    /// First retry delay of a node whose sync failed; it doubles per failure.
    pub retry_base_delay: Duration,
    /// Longest retry delay.
    pub retry_max_delay: Duration,
    /// The `reportingController` of the events (upstream: `cloud-node-controller`).
    pub event_reporter: String,
    /// The `reportingInstance` of the events (e.g. the pod name); the reporter's name when empty.
    pub event_instance: Option<String>,
}

impl Default for NodeControllerConfig {
    fn default() -> Self {
        Self {
            region: String::new(),
            vpc_id: None,
            refresh_period: Duration::from_secs(300),
            coalesce_window: Duration::from_millis(200),
            lifecycle_period: Duration::from_secs(10),
            disable_source_dest_check: true,
            ipv6_dual_stack: false,
            max_concurrent_writes: 16,
            retry_base_delay: Duration::from_secs(1),
            retry_max_delay: Duration::from_secs(300),
            event_reporter: "cloud-node-controller".to_owned(),
            event_instance: None,
        }
    }
}

impl NodeControllerConfig {
    /// The defaults for a cluster in `region`.
    pub fn for_region(region: impl Into<String>) -> Self {
        Self { region: region.into(), ..Self::default() }
    }

    /// The part of the configuration the pure planning needs.
    pub fn plan_config(&self) -> PlanConfig {
        PlanConfig {
            region: self.region.clone(),
            vpc_id: self.vpc_id.clone(),
            disable_source_dest_check: self.disable_source_dest_check,
            ipv6_dual_stack: self.ipv6_dual_stack,
        }
    }
}

/// What [`plan`](crate::plan) needs to know besides the node and the cloud's answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanConfig {
    /// The cluster's region.
    pub region: String,
    /// The cluster's VPC, for lookups by IP.
    pub vpc_id: Option<String>,
    /// Disable the primary ENI's source/destination check before removing the taint.
    pub disable_source_dest_check: bool,
    /// Publish the primary ENI's IPv6 addresses.
    pub ipv6_dual_stack: bool,
}
