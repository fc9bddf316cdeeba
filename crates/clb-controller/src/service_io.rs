//! The Kubernetes side of a Service reconcile: finalizer, `status.loadBalancer.ingress`, events. Behind the
//! [`ServiceWriter`] trait so the reconcile pipeline is testable without an API server; [`KubeServiceWriter`]
//! is the real one.

use std::future::Future;

use k8s_openapi::api::core::v1::{LoadBalancerIngress, Service};
use kube::{
    Api, Client, Resource as _,
    api::{Patch, PatchParams},
    runtime::events::{Event, EventType, Recorder, Reporter},
};
use serde_json::{Value, json};

use crate::naming::{FINALIZER, UPSTREAM_FINALIZER};

/// Event reasons (the Go CCM's and upstream's).
pub mod reasons {
    /// About to change the load balancer.
    pub const ENSURING: &str = "EnsuringLoadBalancer";
    /// The load balancer matches the Service.
    pub const ENSURED: &str = "EnsuredLoadBalancer";
    /// Backends changed after node or endpoint changes.
    pub const UPDATED: &str = "UpdatedLoadBalancer";
    /// Reconciling failed (the note carries the cloud's message).
    pub const SYNC_FAILED: &str = "SyncLoadBalancerFailed";
    /// Cleanup starts.
    pub const DELETING: &str = "DeletingLoadBalancer";
    /// Cleanup done.
    pub const DELETED: &str = "DeletedLoadBalancer";
    /// No node can serve the Service.
    pub const UNAVAILABLE: &str = "UnAvailableLoadBalancer";
    /// The load balancer was kept on deletion (`preserve-lb-on-delete`).
    pub const PRESERVED: &str = "PreservedOnDelete";
    /// Pod backends left out: no ENI in the VPC holds their address.
    pub const INVALID_BACKENDS: &str = "InvalidBackends";
    /// Annotations that have no effect (unknown, or meant for another load balancer kind).
    pub const IGNORED_ANNOTATION: &str = "IgnoredAnnotation";
}

/// An event about a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEvent {
    /// Warning (true) or Normal.
    pub warning: bool,
    /// Reason (one of [`reasons`]).
    pub reason: &'static str,
    /// Human-readable note.
    pub note: String,
}

impl ServiceEvent {
    /// A Normal event.
    pub fn normal(reason: &'static str, note: impl Into<String>) -> Self {
        Self { warning: false, reason, note: note.into() }
    }

    /// A Warning event.
    pub fn warning(reason: &'static str, note: impl Into<String>) -> Self {
        Self { warning: true, reason, note: note.into() }
    }
}

/// Writes to a Service and its events.
pub trait ServiceWriter: Send + Sync + 'static {
    /// Adds [`FINALIZER`] (guarded by a test of the current list).
    fn add_finalizer(&self, service: &Service) -> impl Future<Output = Result<(), kube::Error>> + Send;
    /// Removes [`FINALIZER`] and [`UPSTREAM_FINALIZER`].
    fn remove_finalizers(&self, service: &Service) -> impl Future<Output = Result<(), kube::Error>> + Send;
    /// Replaces `status.loadBalancer.ingress` (empty clears it).
    fn set_ingress(
        &self,
        service: &Service,
        ingress: &[LoadBalancerIngress],
    ) -> impl Future<Output = Result<(), kube::Error>> + Send;
    /// Publishes an event (failures are only logged).
    fn publish(&self, service: &Service, event: ServiceEvent) -> impl Future<Output = ()> + Send;
}

/// Whether the Service carries one of the finalizers this controller answers for.
pub fn has_our_finalizer(service: &Service) -> bool {
    service.metadata.finalizers.iter().flatten().any(|f| f == FINALIZER || f == UPSTREAM_FINALIZER)
}

/// Whether the Service carries [`FINALIZER`] itself.
pub fn has_finalizer(service: &Service) -> bool {
    service.metadata.finalizers.iter().flatten().any(|f| f == FINALIZER)
}

/// JSON patch replacing the finalizer list by `wanted`, guarded by a test that it is still `current`
/// (`null` when absent), like kube-runtime's finalizer helper.
pub fn finalizers_patch(current: Option<&Vec<String>>, wanted: Vec<String>) -> Value {
    let current = current.filter(|c| !c.is_empty()).map_or(Value::Null, |c| json!(c));
    json!([
        { "op": "test", "path": "/metadata/finalizers", "value": current },
        { "op": "add", "path": "/metadata/finalizers", "value": wanted },
    ])
}

/// The ingress list as (ip, hostname) pairs: what the controller compares (the API server may add `ipMode`).
pub fn ingress_identity(ingress: &[LoadBalancerIngress]) -> Vec<(Option<String>, Option<String>)> {
    ingress.iter().map(|i| (i.ip.clone(), i.hostname.clone())).collect()
}

/// The ingress a Service currently publishes.
pub fn current_ingress(service: &Service) -> Vec<LoadBalancerIngress> {
    service.status.as_ref().and_then(|s| s.load_balancer.as_ref()).and_then(|lb| lb.ingress.clone()).unwrap_or_default()
}

/// The real writer: JSON patches on `services`, merge patches on `services/status`, `events.k8s.io` events.
#[derive(Clone)]
pub struct KubeServiceWriter {
    client: Client,
    recorder: Recorder,
}

impl KubeServiceWriter {
    /// A writer reporting events as `reporter` (`service-controller`) from `instance`.
    pub fn new(client: Client, reporter: &str, instance: Option<String>) -> Self {
        let recorder = Recorder::new(client.clone(), Reporter { controller: reporter.to_owned(), instance });
        Self { client, recorder }
    }

    fn api(&self, service: &Service) -> Api<Service> {
        Api::namespaced(self.client.clone(), service.metadata.namespace.as_deref().unwrap_or("default"))
    }

    async fn patch_finalizers(&self, service: &Service, wanted: Vec<String>) -> Result<(), kube::Error> {
        let name = service.metadata.name.as_deref().unwrap_or_default();
        let patch = finalizers_patch(service.metadata.finalizers.as_ref(), wanted);
        let patch: json_patch::Patch = serde_json::from_value(patch).map_err(kube::Error::SerdeError)?;
        match self.api(service).patch(name, &PatchParams::default(), &Patch::Json::<()>(patch)).await {
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

impl ServiceWriter for KubeServiceWriter {
    async fn add_finalizer(&self, service: &Service) -> Result<(), kube::Error> {
        let mut wanted = service.metadata.finalizers.clone().unwrap_or_default();
        wanted.push(FINALIZER.to_owned());
        self.patch_finalizers(service, wanted).await
    }

    async fn remove_finalizers(&self, service: &Service) -> Result<(), kube::Error> {
        let wanted: Vec<String> = service
            .metadata
            .finalizers
            .iter()
            .flatten()
            .filter(|f| *f != FINALIZER && *f != UPSTREAM_FINALIZER)
            .cloned()
            .collect();
        self.patch_finalizers(service, wanted).await
    }

    async fn set_ingress(&self, service: &Service, ingress: &[LoadBalancerIngress]) -> Result<(), kube::Error> {
        let name = service.metadata.name.as_deref().unwrap_or_default();
        let value = if ingress.is_empty() { Value::Null } else { json!(ingress) };
        let patch = json!({ "status": { "loadBalancer": { "ingress": value } } });
        match self.api(service).patch_status(name, &PatchParams::default(), &Patch::Merge(patch)).await {
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn publish(&self, service: &Service, event: ServiceEvent) {
        let event = Event {
            type_: if event.warning { EventType::Warning } else { EventType::Normal },
            reason: event.reason.to_owned(),
            note: Some(truncate(event.note, 1000)),
            action: event.reason.trim_end_matches("Failed").to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &service.object_ref(&())).await {
            tracing::warn!(%error, reason = %event.reason, "could not publish event");
        }
    }
}

/// Cuts a note to at most `max` bytes on a character boundary (events take 1 kB).
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finalizer_patches_test_the_current_list() {
        let add = finalizers_patch(None, vec![FINALIZER.to_owned()]);
        assert_eq!(
            add,
            json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
            ])
        );
        let current = vec!["other".to_owned(), FINALIZER.to_owned()];
        let remove = finalizers_patch(Some(&current), vec!["other".to_owned()]);
        assert_eq!(remove[0]["value"], json!(["other", FINALIZER]));
        assert_eq!(remove[1]["value"], json!(["other"]));
        let parsed: json_patch::Patch = serde_json::from_value(remove).unwrap();
        assert_eq!(parsed.0.len(), 2);
    }

    #[test]
    fn notes_are_cut_on_char_boundaries() {
        assert_eq!(truncate("héllo".into(), 2), "h");
        assert_eq!(truncate("abc".into(), 10), "abc");
    }
}
