//! Prometheus metrics of the route controller.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Labels of deleted routes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct DeleteLabels {
    /// Why: `unknown_instance`, `stale_cidr`, `same_destination`, `inside_node_cidr`.
    pub reason: String,
}

/// Labels of reconcile passes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct PassLabels {
    /// What started the pass: `startup`, `node_change`, `periodic`, `retry`.
    pub trigger: String,
    /// `success` or `failure`.
    pub result: String,
}

/// Labels of errors.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ErrorLabels {
    /// Error kind: per-route write errors (`busy`, `quota`, `next_hop`, ...) or pass errors (`cloud_read`, ...).
    pub kind: String,
}

/// The route controller's metrics. Cheap to clone (shared); register once with [`RouteMetrics::register`].
#[derive(Debug, Clone)]
pub struct RouteMetrics {
    /// Routes created.
    pub routes_created: Counter,
    /// Routes deleted, by reason.
    pub routes_deleted: Family<DeleteLabels, Counter>,
    /// Reconcile passes, by trigger and result.
    pub passes: Family<PassLabels, Counter>,
    /// Seconds per reconcile pass.
    pub pass_duration: Histogram,
    /// Errors by kind.
    pub errors: Family<ErrorLabels, Counter>,
    /// Route tables managed by the last pass.
    pub managed_tables: Gauge,
    /// Nodes whose routes all exist, after the last pass.
    pub routed_nodes: Gauge,
}

impl Default for RouteMetrics {
    fn default() -> Self {
        Self {
            routes_created: Counter::default(),
            routes_deleted: Family::default(),
            passes: Family::default(),
            pass_duration: Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0]),
            errors: Family::default(),
            managed_tables: Gauge::default(),
            routed_nodes: Gauge::default(),
        }
    }
}

impl RouteMetrics {
    /// Registers every metric under the `route_controller_` prefix.
    pub fn register(&self, registry: &mut Registry) {
        let sub = registry.sub_registry_with_prefix("route_controller");
        sub.register("routes_created", "VPC routes created for node pod CIDRs", self.routes_created.clone());
        sub.register("routes_deleted", "VPC routes deleted, by reason", self.routes_deleted.clone());
        sub.register("passes", "Reconcile passes, by trigger and result", self.passes.clone());
        sub.register("pass_duration_seconds", "Duration of one reconcile pass", self.pass_duration.clone());
        sub.register("errors", "Errors by kind", self.errors.clone());
        sub.register("managed_tables", "Route tables managed by the last pass", self.managed_tables.clone());
        sub.register("routed_nodes", "Nodes whose routes all exist after the last pass", self.routed_nodes.clone());
    }

    /// Counts one error of `kind`.
    pub fn error(&self, kind: &str) {
        self.errors.get_or_create(&ErrorLabels { kind: kind.to_owned() }).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_register_and_encode() {
        let metrics = RouteMetrics::default();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        metrics.routes_created.inc();
        metrics.routes_deleted.get_or_create(&DeleteLabels { reason: "unknown_instance".into() }).inc();
        metrics.error("quota");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("route_controller_routes_created_total 1"), "{text}");
        assert!(text.contains("route_controller_routes_deleted_total{reason=\"unknown_instance\"} 1"));
        assert!(text.contains("route_controller_errors_total{kind=\"quota\"} 1"));
    }
}
