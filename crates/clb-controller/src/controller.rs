//! The kube-runtime wiring: watch Services and EndpointSlices, take nodes from the process's shared Node watch,
//! and reconcile each Service with per-Service exponential backoff and bounded concurrency.
//!
//! Triggers:
//! * a Service change that matters (spec, annotations, finalizers, deletion, UID, published status);
//! * a change of the node set as backends see it (readiness, labels, taints, schedulability, provider ID, a node
//!   appearing or disappearing): every Service is re-checked, which costs a cloud call only for Services whose
//!   backends actually change, and then only backend calls;
//! * an EndpointSlice change of a Service whose backends follow its endpoints: `externalTrafficPolicy: Local`, ENI
//!   backends, or any Service while the cluster has virtual-kubelet nodes (their pods are ENI backends).

use std::{
    collections::{BTreeMap, HashMap},
    hash::{DefaultHasher, Hash, Hasher},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use ccm_kube::{Exclusion, NodeClass, node::classify, node::has_taint, node::ready_status, node_feed::NodeFeed};
use futures::{Stream, StreamExt as _};
use k8s_openapi::api::{
    core::v1::{Node, Service},
    discovery::v1::EndpointSlice,
};
use kube::{
    Api, Client,
    runtime::{
        Controller, WatchStreamExt as _,
        controller::{Action, Config as ControllerConfig},
        reflector::{self, ObjectRef, Store},
        watcher,
    },
};
use tracing::{info, warn};

use crate::{
    annotations::BACKEND_TYPE_ANNOTATION,
    cloud::ClbCloud,
    config::ClbControllerConfig,
    eligibility::TAINT_TO_BE_DELETED,
    error::Error,
    metrics::ClbMetrics,
    model::LABEL_SERVICE_NAME,
    reconcile::{Outcome, Reconciler},
    service_io::KubeServiceWriter,
};

/// How often the node set is compared with the last one even without node events (catches deletions, which the
/// shared feed does not emit).
const NODE_SWEEP_INTERVAL: Duration = Duration::from_secs(15);

/// What the controller runs with.
pub struct ClbContext<C> {
    /// Kubernetes client.
    pub client: Client,
    /// The cloud (the [`crate::aliyun::AliyunClb`] adapter in production).
    pub cloud: C,
    /// Configuration.
    pub config: ClbControllerConfig,
    /// Metrics (register them with the process registry before running).
    pub metrics: ClbMetrics,
}

/// Shared state of the running controller.
struct State<C> {
    reconciler: Reconciler<C, KubeServiceWriter>,
    nodes: Store<Node>,
    slices: Store<EndpointSlice>,
    caches: CachesReady,
    failures: Mutex<HashMap<ObjectRef<Service>, u32>>,
}

/// Runs the CLB service controller until the process stops.
pub async fn run<C: ClbCloud>(ctx: ClbContext<C>, feed: NodeFeed) {
    let ClbContext { client, cloud, config, metrics } = ctx;
    let services: Api<Service> = Api::all(client.clone());
    let (service_store, service_writer) = reflector::store();
    let service_stream = watcher(services, watcher::Config::default())
        .default_backoff()
        .reflect(service_writer)
        .applied_objects()
        .predicate_filter(service_fingerprint, Default::default());
    let slices_api: Api<EndpointSlice> = Api::all(client.clone());
    let (slice_store, slice_writer) = reflector::store();
    let slice_stream = watcher(slices_api, watcher::Config::default().labels(LABEL_SERVICE_NAME))
        .default_backoff()
        .reflect(slice_writer)
        .touched_objects();
    let writer = KubeServiceWriter::new(client, &config.event_reporter, config.event_instance.clone());
    let eni_default = config.eni_backends;
    let concurrency = config.concurrent_service_syncs;
    let state = Arc::new(State {
        reconciler: Reconciler::new(cloud, writer, config, metrics),
        nodes: feed.store.clone(),
        slices: slice_store.clone(),
        caches: CachesReady::new(feed.store.clone(), slice_store),
        failures: Mutex::new(HashMap::new()),
    });
    let lookup_store = service_store.clone();
    let node_store = feed.store.clone();
    info!("CLB service controller starting");
    Controller::for_stream(service_stream, service_store)
        .watches_stream(slice_stream, move |slice| {
            // Runs for every EndpointSlice event: a scan of the cache that stops at the first match, no copy.
            let virtual_nodes = node_store.find(is_virtual_kubelet).is_some();
            let inputs = EndpointUse { eni_default, virtual_nodes };
            endpoint_service_of(&lookup_store, &slice, inputs)
        })
        .reconcile_all_on(node_set_changes(feed))
        .with_config(ControllerConfig::default().concurrency(concurrency))
        .run(reconcile, error_policy, state)
        .for_each(|result| async move {
            if let Err(error) = result {
                warn!(%error, "service reconcile");
            }
        })
        .await;
}

async fn reconcile<C: ClbCloud>(service: Arc<Service>, state: Arc<State<C>>) -> Result<Action, Error> {
    // Never compute backends from a cache that is still filling: that would remove every backend.
    if !state.caches.wait().await {
        return Ok(Action::requeue(Duration::from_secs(5)));
    }
    let nodes = state.nodes.state();
    let inputs = EndpointUse {
        eni_default: state.reconciler.config().eni_backends,
        virtual_nodes: has_virtual_kubelet_nodes(&nodes),
    };
    let slices = slices_of(&state.slices, &service, inputs);
    let outcome = state.reconciler.reconcile(&service, &nodes, &slices).await?;
    state.failures.lock().unwrap_or_else(PoisonError::into_inner).remove(&ObjectRef::from_obj(service.as_ref()));
    Ok(match outcome {
        Outcome::Ignored | Outcome::Invalid | Outcome::Cleaned => Action::await_change(),
        Outcome::Cached | Outcome::Unchanged | Outcome::Changed { .. } => {
            Action::requeue(state.reconciler.config().resync_period)
        }
    })
}

/// Waits until the node and EndpointSlice caches are filled, for any number of concurrent reconciles.
///
/// kube-runtime's `Store::wait_until_ready` wakes only the last of several concurrent waiters (its `DelayedInit`
/// keeps a single waker), so reconciles running in parallel must not each wait on the stores: all but one would
/// wait forever. Here only one caller at a time waits on the stores (the others queue on the `OnceCell`), and once
/// both are filled every later call returns at once.
struct CachesReady {
    nodes: Store<Node>,
    slices: Store<EndpointSlice>,
    filled: tokio::sync::OnceCell<()>,
}

impl CachesReady {
    fn new(nodes: Store<Node>, slices: Store<EndpointSlice>) -> Self {
        Self { nodes, slices, filled: tokio::sync::OnceCell::new() }
    }

    /// Whether both caches are filled (waiting until they are); false if a watch stopped before filling its cache.
    async fn wait(&self) -> bool {
        self.filled
            .get_or_try_init(|| async {
                self.nodes.wait_until_ready().await?;
                self.slices.wait_until_ready().await
            })
            .await
            .is_ok()
    }
}

/// Per-Service exponential backoff: 5 s, 10 s, … up to 300 s.
fn error_policy<C: ClbCloud>(service: Arc<Service>, error: &Error, state: Arc<State<C>>) -> Action {
    let mut failures = state.failures.lock().unwrap_or_else(PoisonError::into_inner);
    let count = failures.entry(ObjectRef::from_obj(service.as_ref())).or_insert(0);
    *count = count.saturating_add(1);
    let delay = state.reconciler.config().retry_delay(*count);
    warn!(service = ?service.metadata.name, namespace = ?service.metadata.namespace, %error, ?delay, "retrying");
    Action::requeue(delay)
}

/// What decides, besides the Service itself, whether its backends follow its endpoints.
#[derive(Debug, Clone, Copy)]
struct EndpointUse {
    /// cloud-config `serviceBackendType: eni`.
    eni_default: bool,
    /// The cluster has virtual-kubelet nodes, whose pods are ENI backends of every Service.
    virtual_nodes: bool,
}

fn has_virtual_kubelet_nodes(nodes: &[Arc<Node>]) -> bool {
    nodes.iter().any(|n| is_virtual_kubelet(n))
}

fn is_virtual_kubelet(node: &Node) -> bool {
    matches!(classify(node), NodeClass::Excluded(Exclusion::VirtualKubelet))
}

/// Whether a Service's backends follow its endpoints: `externalTrafficPolicy: Local`, ENI backends (the
/// `service.beta.kubernetes.io/backend-type` annotation, else the cloud-config default), or pods on
/// virtual-kubelet nodes, which may back any Service.
fn uses_endpoints(service: &Service, inputs: EndpointUse) -> bool {
    let local = service.spec.as_ref().and_then(|s| s.external_traffic_policy.as_deref()) == Some("Local");
    let eni = match service.metadata.annotations.as_ref().and_then(|a| a.get(BACKEND_TYPE_ANNOTATION)) {
        Some(v) if v.trim().eq_ignore_ascii_case("eni") => true,
        Some(v) if v.trim().eq_ignore_ascii_case("ecs") => false,
        _ => inputs.eni_default,
    };
    local || eni || inputs.virtual_nodes
}

/// The EndpointSlices of a Service, when its backends follow them (else none: nothing to compute from).
fn slices_of(store: &Store<EndpointSlice>, service: &Service, inputs: EndpointUse) -> Vec<Arc<EndpointSlice>> {
    if !uses_endpoints(service, inputs) {
        return Vec::new();
    }
    let name = service.metadata.name.as_deref();
    store.state_filter(|s| {
        s.metadata.namespace == service.metadata.namespace
            && s.metadata.labels.as_ref().and_then(|l| l.get(LABEL_SERVICE_NAME)).map(String::as_str) == name
    })
}

/// The Service an EndpointSlice belongs to, if it is a LoadBalancer Service whose backends follow its endpoints.
fn endpoint_service_of(
    services: &Store<Service>,
    slice: &EndpointSlice,
    inputs: EndpointUse,
) -> Option<ObjectRef<Service>> {
    let name = slice.metadata.labels.as_ref()?.get(LABEL_SERVICE_NAME)?;
    let namespace = slice.metadata.namespace.as_deref()?;
    let key = ObjectRef::new(name).within(namespace);
    let service = services.get(&key)?;
    let spec = service.spec.as_ref()?;
    let relevant = spec.type_.as_deref() == Some("LoadBalancer") && uses_endpoints(&service, inputs);
    relevant.then_some(key)
}

/// Hash of what makes a Service worth reconciling: spec, annotations, finalizers, deletion, UID and the
/// published ingress (so that a status someone cleared is restored).
fn service_fingerprint(service: &Service) -> Option<u64> {
    let mut h = DefaultHasher::new();
    let spec = serde_json::to_string(&service.spec).unwrap_or_default();
    let ingress = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .map(|lb| lb.ingress.iter().flatten().map(|i| (i.ip.clone(), i.hostname.clone())).collect::<Vec<_>>());
    (
        spec,
        &service.metadata.annotations,
        &service.metadata.finalizers,
        service.metadata.deletion_timestamp.is_some(),
        &service.metadata.uid,
        ingress,
    )
        .hash(&mut h);
    Some(h.finish())
}

/// What of a node matters to backends.
fn node_fingerprint(node: &Node) -> u64 {
    let mut h = DefaultHasher::new();
    let class = match classify(node) {
        NodeClass::Ecs(id) => id.to_string(),
        other => format!("{other:?}"),
    };
    (
        class,
        format!("{:?}", ready_status(node)),
        &node.metadata.labels,
        node.spec.as_ref().and_then(|s| s.unschedulable),
        has_taint(node, TAINT_TO_BE_DELETED),
        node.metadata.deletion_timestamp.is_some(),
    )
        .hash(&mut h);
    h.finish()
}

/// A stream that yields once each time the node set changes as backends see it. A node event costs one node's
/// fingerprint (not the whole set's: kubelets update every node all the time); the periodic sweep compares the
/// whole set, which is how deletions (not in the feed) are noticed.
fn node_set_changes(feed: NodeFeed) -> impl Stream<Item = ()> + Send + 'static {
    struct Watch {
        store: Store<Node>,
        changes: futures::stream::BoxStream<'static, Arc<Node>>,
        tick: tokio::time::Interval,
        known: Option<NodeSet>,
    }
    let watch = Watch {
        store: feed.store,
        changes: feed.changes.boxed(),
        tick: tokio::time::interval(NODE_SWEEP_INTERVAL),
        known: None,
    };
    futures::stream::unfold(watch, |mut w| async move {
        loop {
            let changed = tokio::select! {
                changed = w.changes.next() => {
                    let node = changed?;
                    w.known.as_mut().map(|known| known.update(&node))
                }
                _ = w.tick.tick() => {
                    let now = NodeSet::of(&w.store.state());
                    let changed = w.known.as_ref().map(|known| *known != now);
                    w.known = Some(now);
                    changed
                }
            };
            if changed == Some(true) {
                return Some(((), w));
            }
        }
    })
}

/// The node set as backends see it: a fingerprint per node name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeSet(BTreeMap<String, u64>);

impl NodeSet {
    fn of(nodes: &[Arc<Node>]) -> Self {
        Self(nodes.iter().map(|n| (n.metadata.name.clone().unwrap_or_default(), node_fingerprint(n))).collect())
    }

    /// Takes in one node's new state; whether that changed the set.
    fn update(&mut self, node: &Node) -> bool {
        let fingerprint = node_fingerprint(node);
        let name = node.metadata.name.clone().unwrap_or_default();
        self.0.insert(name, fingerprint) != Some(fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eni_and_local_services_follow_their_endpoints() {
        let plain = EndpointUse { eni_default: false, virtual_nodes: false };
        let eni_default = EndpointUse { eni_default: true, ..plain };
        let mut svc = crate::model::tests::service();
        assert!(!uses_endpoints(&svc, plain));
        assert!(uses_endpoints(&svc, eni_default), "cloud-config serviceBackendType: eni");
        svc.metadata.annotations = Some([(BACKEND_TYPE_ANNOTATION.to_owned(), "ecs".to_owned())].into());
        assert!(!uses_endpoints(&svc, eni_default), "the annotation overrides the default");
        svc.metadata.annotations = Some([(BACKEND_TYPE_ANNOTATION.to_owned(), "eni".to_owned())].into());
        assert!(uses_endpoints(&svc, plain));
        svc.metadata.annotations = None;
        svc.spec.as_mut().unwrap().external_traffic_policy = Some("Local".into());
        assert!(uses_endpoints(&svc, plain));
    }

    #[test]
    fn node_set_changes_only_with_what_backends_see() {
        let mut node = Node::default();
        node.metadata.name = Some("a".into());
        let mut set = NodeSet::of(&[Arc::new(node.clone())]);
        assert!(!set.update(&node), "the same node again");
        node.status = Some(Default::default());
        node.metadata.resource_version = Some("2".into());
        assert!(!set.update(&node), "a heartbeat-like change that backends do not see");
        node.metadata.labels = Some([("pool".to_owned(), "b".to_owned())].into());
        assert!(set.update(&node), "a label change");
        let mut other = node.clone();
        other.metadata.name = Some("b".into());
        assert!(set.update(&other), "a new node");
        assert_ne!(set, NodeSet::of(&[Arc::new(node)]), "a deletion shows in a sweep");
    }

    #[test]
    fn cluster_services_follow_endpoints_only_while_virtual_kubelet_nodes_exist() {
        let svc = crate::model::tests::service();
        assert!(!uses_endpoints(&svc, EndpointUse { eni_default: false, virtual_nodes: false }));
        assert!(uses_endpoints(&svc, EndpointUse { eni_default: false, virtual_nodes: true }));
        let mut vk = Node::default();
        vk.metadata.name = Some("vk".into());
        vk.metadata.labels = Some([("type".to_owned(), "virtual-kubelet".to_owned())].into());
        let mut ecs = Node::default();
        ecs.metadata.name = Some("a".into());
        ecs.spec = Some(k8s_openapi::api::core::v1::NodeSpec {
            provider_id: Some("cn-hangzhou.i-a".into()),
            ..Default::default()
        });
        assert!(!has_virtual_kubelet_nodes(&[Arc::new(ecs.clone())]));
        assert!(has_virtual_kubelet_nodes(&[Arc::new(ecs), Arc::new(vk)]));
    }

    /// Several reconciles start before the caches are filled (the binary runs up to `--concurrent-service-syncs`
    /// at once). kube-runtime's `Store::wait_until_ready` wakes only the last of several concurrent waiters, so
    /// every one of them must still get through once the caches fill.
    #[tokio::test]
    async fn concurrent_waiters_all_pass_once_the_caches_fill() {
        let (nodes, mut node_writer) = reflector::store::<Node>();
        let (slices, mut slice_writer) = reflector::store::<EndpointSlice>();
        let caches = Arc::new(CachesReady::new(nodes, slices));
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let caches = caches.clone();
                tokio::spawn(async move { caches.wait().await })
            })
            .collect();
        // Let every waiter register before the caches fill.
        tokio::time::sleep(Duration::from_millis(50)).await;
        node_writer.apply_watcher_event(&watcher::Event::Init);
        node_writer.apply_watcher_event(&watcher::Event::InitDone);
        slice_writer.apply_watcher_event(&watcher::Event::Init);
        slice_writer.apply_watcher_event(&watcher::Event::InitDone);
        for (i, waiter) in waiters.into_iter().enumerate() {
            let passed = tokio::time::timeout(Duration::from_secs(5), waiter).await;
            assert!(matches!(passed, Ok(Ok(true))), "waiter {i} of 3 is still waiting: {passed:?}");
        }
        // Later waits return at once.
        assert!(tokio::time::timeout(Duration::from_secs(1), caches.wait()).await.unwrap_or(false));
    }

    #[tokio::test]
    async fn a_watch_that_stops_before_filling_fails_the_wait() {
        let (nodes, node_writer) = reflector::store::<Node>();
        let (slices, mut slice_writer) = reflector::store::<EndpointSlice>();
        slice_writer.apply_watcher_event(&watcher::Event::InitDone);
        drop(node_writer);
        let caches = CachesReady::new(nodes, slices);
        assert_eq!(tokio::time::timeout(Duration::from_secs(5), caches.wait()).await.ok(), Some(false));
    }
}
