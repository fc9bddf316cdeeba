//! Prometheus metrics of the CLB service controller.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

/// Labels of a reconcile outcome.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `changed`, `unchanged`, `cached`, `cleaned`, `invalid`, `error`.
    pub outcome: String,
}

/// Labels of one cloud write.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct OperationLabels {
    /// API action.
    pub action: String,
    /// `success` or `failure`.
    pub result: String,
}

fn duration_histogram() -> Histogram {
    Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0])
}

/// The controller's metrics. Cheap to clone (shared); register once with [`ClbMetrics::register`].
#[derive(Debug, Clone)]
pub struct ClbMetrics {
    /// Reconciles by outcome.
    pub reconciles: Family<OutcomeLabels, Counter>,
    /// Seconds per reconcile.
    pub reconcile_duration: Histogram,
    /// Cloud writes by action and result.
    pub cloud_operations: Family<OperationLabels, Counter>,
}

impl Default for ClbMetrics {
    fn default() -> Self {
        Self {
            reconciles: Family::default(),
            reconcile_duration: duration_histogram(),
            cloud_operations: Family::default(),
        }
    }
}

impl ClbMetrics {
    /// Registers every metric under the `clb_controller_` prefix.
    pub fn register(&self, registry: &mut Registry) {
        let sub = registry.sub_registry_with_prefix("clb_controller");
        sub.register("reconciles", "Service reconciles by outcome", self.reconciles.clone());
        sub.register(
            "reconcile_duration_seconds",
            "Duration of one Service reconcile",
            self.reconcile_duration.clone(),
        );
        sub.register("cloud_operations", "CLB write operations by action and result", self.cloud_operations.clone());
    }

    /// Counts a reconcile outcome.
    pub fn reconciled(&self, outcome: &str) {
        self.reconciles.get_or_create(&OutcomeLabels { outcome: outcome.to_owned() }).inc();
    }

    /// Counts one cloud write.
    pub fn operation(&self, action: &str, ok: bool) {
        let result = if ok { "success" } else { "failure" };
        self.cloud_operations
            .get_or_create(&OperationLabels { action: action.to_owned(), result: result.to_owned() })
            .inc();
    }
}
