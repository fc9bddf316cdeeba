//! Prometheus metrics of the node controller.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

/// Labels naming a cloud call (`describe_instances_by_ids`, `describe_instances_by_ips`,
/// `describe_network_interfaces`, `disable_source_dest_check`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct CallLabels {
    /// The call.
    pub call: &'static str,
}

/// Labels naming what failed (`cloud`, `kube_write`, `kube_delete`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct StageLabels {
    /// The stage.
    pub stage: &'static str,
}

/// The controller's metrics. Cheap to clone (shared); register once with [`NodeMetrics::register`].
#[derive(Debug, Clone)]
pub struct NodeMetrics {
    /// Seconds from a node's creation to the removal of its uninitialized taint.
    pub taint_removal_delay: Histogram,
    /// Nodes initialized (taint removed).
    pub nodes_initialized: Counter,
    /// Nodes deleted because their instance was gone.
    pub nodes_deleted: Counter,
    /// Shutdown taints added.
    pub shutdown_taints_added: Counter,
    /// Cloud requests made, by call.
    pub cloud_calls: Family<CallLabels, Counter>,
    /// Failures, by stage.
    pub errors: Family<StageLabels, Counter>,
    /// Nodes per processed batch.
    pub batch_size: Histogram,
}

impl Default for NodeMetrics {
    fn default() -> Self {
        let delays = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];
        let sizes = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0];
        Self {
            taint_removal_delay: Histogram::new(delays),
            nodes_initialized: Counter::default(),
            nodes_deleted: Counter::default(),
            shutdown_taints_added: Counter::default(),
            cloud_calls: Family::default(),
            errors: Family::default(),
            batch_size: Histogram::new(sizes),
        }
    }
}

impl NodeMetrics {
    /// Registers every metric under the `node_controller_` prefix (the taint-removal histogram keeps upstream's
    /// name, `node_controller_cloud_provider_taint_removal_delay_seconds`).
    pub fn register(&self, registry: &mut Registry) {
        let sub = registry.sub_registry_with_prefix("node_controller");
        sub.register(
            "cloud_provider_taint_removal_delay_seconds",
            "Seconds from node creation to the removal of the uninitialized taint",
            self.taint_removal_delay.clone(),
        );
        sub.register("nodes_initialized", "Nodes initialized", self.nodes_initialized.clone());
        sub.register(
            "nodes_deleted",
            "Nodes deleted because their instance no longer exists",
            self.nodes_deleted.clone(),
        );
        sub.register(
            "shutdown_taints_added",
            "Shutdown taints added to nodes of stopped instances",
            self.shutdown_taints_added.clone(),
        );
        sub.register("cloud_calls", "Cloud requests made by the node controller", self.cloud_calls.clone());
        sub.register("errors", "Failures of the node controller, by stage", self.errors.clone());
        sub.register("batch_nodes", "Nodes per processed batch", self.batch_size.clone());
    }

    /// Counts `requests` cloud requests of `call`.
    pub fn count_calls(&self, call: &'static str, requests: usize) {
        self.cloud_calls.get_or_create(&CallLabels { call }).inc_by(requests as u64);
    }

    /// Counts one failure at `stage`.
    pub fn count_error(&self, stage: &'static str) {
        self.errors.get_or_create(&StageLabels { stage }).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_with_upstream_taint_removal_name() {
        let metrics = NodeMetrics::default();
        metrics.taint_removal_delay.observe(3.0);
        metrics.count_calls("describe_instances_by_ids", 2);
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("node_controller_cloud_provider_taint_removal_delay_seconds_count 1"));
        assert!(text.contains("node_controller_cloud_calls_total{call=\"describe_instances_by_ids\"} 2"));
    }
}
