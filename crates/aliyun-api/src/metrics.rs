//! Prometheus metrics of API calls: calls, errors by code, retries, latency, time spent paced — per action.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

/// Labels of one action.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ActionLabels {
    /// Product code (`ecs`, `vpc`, `slb`, `sts`).
    pub product: String,
    /// Action name.
    pub action: String,
}

/// Labels of one failed attempt.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ErrorLabels {
    /// Product code.
    pub product: String,
    /// Action name.
    pub action: String,
    /// API error code, or `transport`, `unexpected_body`, `decode`.
    pub code: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
}

/// The client's metrics. Cheap to clone (shared counters); register once with [`ClientMetrics::register`].
#[derive(Debug, Clone)]
pub struct ClientMetrics {
    /// HTTP requests sent (attempts, retries included).
    pub requests: Family<ActionLabels, Counter>,
    /// Failed attempts by error code.
    pub errors: Family<ErrorLabels, Counter>,
    /// Retries made.
    pub retries: Family<ActionLabels, Counter>,
    /// Seconds per attempt.
    pub latency: Family<ActionLabels, Histogram, fn() -> Histogram>,
    /// Seconds spent waiting for the client-side rate limiter.
    pub paced_seconds: Family<ActionLabels, Counter<f64>>,
}

impl Default for ClientMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            errors: Family::default(),
            retries: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            paced_seconds: Family::default(),
        }
    }
}

impl ClientMetrics {
    /// Registers every metric under the `aliyun_api_` prefix.
    pub fn register(&self, registry: &mut Registry) {
        let sub = registry.sub_registry_with_prefix("aliyun_api");
        sub.register("requests", "HTTP requests sent to Alibaba Cloud APIs", self.requests.clone());
        sub.register("errors", "Failed API attempts by error code", self.errors.clone());
        sub.register("retries", "Retried API calls", self.retries.clone());
        sub.register("request_duration_seconds", "Duration of one API attempt", self.latency.clone());
        sub.register("paced_seconds", "Time calls waited for the client-side rate limiter", self.paced_seconds.clone());
    }
}
