//! The controller loop: reconcile passes triggered by node changes (coalesced) and by a period, and the
//! Kubernetes side of each pass (the `NetworkUnavailable` condition and events).
//!
//! * Triggers: a node added, or its provider ID, exclusion, pod CIDRs or internal IPs changed (from the shared
//!   node feed); a node deleted (found by a cheap in-memory scan of the cache, as the feed does not carry
//!   deletions); every `reconciliation_period`; and after a failed pass, a retry with a doubling delay.
//!   Changes within `debounce` are handled by one pass; changes during a pass cause one more pass after it.
//! * Every pass is a full one: all nodes, all managed tables. Nothing is planned before the node cache has
//!   synced, so an empty cache never deletes routes.
//! * The node feed keeps being read while a pass runs, so the shared watch never waits for this controller.
//! * A pass ends with its cloud writes: its conditions and events are queued for the [`crate::writer`] task, so
//!   that nodes joining meanwhile get their routes planned without waiting for the Kubernetes writes.
//! * A node whose `NetworkUnavailable` condition is changed by someone else, while its routes are unchanged, is
//!   put right without a cloud call. While a pass runs, such a change is only noted and looked at again when the
//!   pass has ended: it may be the pass's own write, which the previous pass's decision would revert.

use std::{
    collections::{BTreeSet, HashMap},
    future::Future,
    pin::Pin,
    sync::Arc,
    time::Duration,
};

use ccm_kube::node_feed::NodeFeed;
use futures::StreamExt as _;
use k8s_openapi::{api::core::v1::Node, jiff::Timestamp};
use kube::{
    Api, Client, Resource as _,
    api::{Patch, PatchParams},
    runtime::{
        events::{Event, EventType, Recorder, Reporter},
        reflector::{ObjectRef, Store},
    },
};
use tokio::time::{Instant, sleep_until};
use tracing::{debug, error, info, warn};

use crate::{
    apply::ApplyReport,
    cloud::{RouteCloud, WriteOutcome},
    config::RouteControllerConfig,
    error::{Error, Result},
    metrics::{DeleteLabels, PassLabels, RouteMetrics},
    nodes::RoutingKey,
    plan::RoutePlan,
    reconciler::RouteReconciler,
    status::{NetworkCondition, NodeEvent, node_events},
    writer::Writer,
};

/// How often the node cache is scanned for deleted nodes.
const DELETION_SCAN: Duration = Duration::from_secs(2);

/// The event reporter name (the Go CCM records route events as `route-controller`).
pub const CONTROLLER_NAME: &str = "route-controller";

/// What the controller runs with.
pub struct Context<C> {
    /// Kubernetes client (node status patches, events).
    pub client: Client,
    /// The cloud.
    pub cloud: Arc<C>,
    /// Configuration.
    pub config: RouteControllerConfig,
    /// Metrics (register them with the binary's registry).
    pub metrics: RouteMetrics,
    /// Who reports events; `None`: `route-controller` without an instance name.
    pub reporter: Option<Reporter>,
}

/// What started a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Startup,
    NodeChange,
    Periodic,
    Retry,
}

impl Trigger {
    fn label(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::NodeChange => "node_change",
            Trigger::Periodic => "periodic",
            Trigger::Retry => "retry",
        }
    }
}

/// Runs the route controller until the process stops. Returns early only when the configuration is invalid
/// (`--cluster-cidr` first of all) or the node cache never syncs.
pub async fn run<C: RouteCloud + 'static>(ctx: Context<C>, feed: NodeFeed) -> Result<()> {
    ctx.config.validate()?;
    let NodeFeed { store, changes } = feed;
    store.wait_until_ready().await.map_err(|_| Error::NodeCacheNotReady)?;
    info!(
        cluster_cidrs = ?ctx.config.cluster_cidrs,
        route_tables = ?ctx.config.route_table_ids,
        period = ?ctx.config.reconciliation_period,
        "route controller started"
    );
    let reporter =
        ctx.reporter.clone().unwrap_or_else(|| Reporter { controller: CONTROLLER_NAME.into(), instance: None });
    let kube = KubeSide { nodes: Api::all(ctx.client.clone()), recorder: Recorder::new(ctx.client, reporter) };
    let writer = Writer::new();
    let writes = writer.clone().run(kube, store.clone(), ctx.metrics.clone());
    tokio::pin!(writes);
    let worker =
        Worker { reconciler: RouteReconciler::new(Arc::clone(&ctx.cloud), ctx.config.clone()), metrics: ctx.metrics };
    let mut state = LoopState::new(&ctx.config);
    let mut changes = changes.fuse();
    let mut scan = tokio::time::interval(DELETION_SCAN);
    let mut idle: Option<Worker<C>> = Some(worker);
    let mut running: Option<RunningPass<C>> = None;
    loop {
        if running.is_none()
            && let Some(trigger) = state.due(Instant::now())
            && let Some(worker) = idle.take()
        {
            let snapshot = store.state();
            state.planning_from(&snapshot);
            running = Some(Box::pin(worker.pass(trigger, snapshot)));
        }
        let wake = state.next_wake();
        tokio::select! {
            Some(node) = changes.next() => state.node_changed(&node, &writer, running.is_some()),
            _ = scan.tick() => state.scan_deletions(&store),
            (worker, outcome) = finish(&mut running), if running.is_some() => {
                running = None;
                idle = Some(worker);
                let events = state.pass_done(outcome, Instant::now());
                let to_write = state.conditions_to_write(&store);
                writer.queue(|q| {
                    for (name, wanted) in to_write {
                        q.condition(name, wanted);
                    }
                    q.events(events);
                });
            }
            _ = sleep_until(wake), if running.is_none() => {}
            () = &mut writes => {}
        }
    }
}

/// A pass in progress; it hands the worker back with its outcome.
type RunningPass<C> = Pin<Box<dyn Future<Output = (Worker<C>, PassOutcome)> + Send>>;

/// The running pass's result (never resolves when none runs).
async fn finish<T>(running: &mut Option<Pin<Box<dyn Future<Output = T> + Send>>>) -> T {
    match running.as_mut() {
        Some(pass) => pass.await,
        None => std::future::pending().await,
    }
}

/// The loop's bookkeeping: what the last pass saw, what is due when.
struct LoopState {
    /// Routing key of every node as of the snapshot the last pass planned from.
    known: HashMap<String, RoutingKey>,
    /// The condition the last pass decided for each node.
    conditions: HashMap<String, NetworkCondition>,
    /// Nodes whose condition changed while a pass ran: looked at again once it has ended.
    drift_during_pass: BTreeSet<String>,
    /// A node change waits for a pass at this time.
    change_due: Option<Instant>,
    next_periodic: Instant,
    retry_due: Option<Instant>,
    retry_delay: Duration,
    first_pass: bool,
    debounce: Duration,
    period: Duration,
    retry_initial: Duration,
}

impl LoopState {
    fn new(config: &RouteControllerConfig) -> Self {
        Self {
            known: HashMap::new(),
            conditions: HashMap::new(),
            drift_during_pass: BTreeSet::new(),
            change_due: None,
            next_periodic: Instant::now() + config.reconciliation_period,
            retry_due: None,
            retry_delay: Duration::ZERO,
            first_pass: true,
            debounce: config.debounce,
            period: config.reconciliation_period,
            retry_initial: config.retry_initial,
        }
    }

    /// The pass to start now, if any.
    fn due(&mut self, now: Instant) -> Option<Trigger> {
        if self.first_pass {
            self.first_pass = false;
            return Some(Trigger::Startup);
        }
        if self.change_due.is_some_and(|t| t <= now) {
            self.change_due = None;
            return Some(Trigger::NodeChange);
        }
        if self.retry_due.is_some_and(|t| t <= now) {
            self.retry_due = None;
            return Some(Trigger::Retry);
        }
        (self.next_periodic <= now).then_some(Trigger::Periodic)
    }

    fn next_wake(&self) -> Instant {
        [self.change_due, self.retry_due, Some(self.next_periodic)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(self.next_periodic)
    }

    fn mark_changed(&mut self) {
        if self.change_due.is_none() {
            self.change_due = Some(Instant::now() + self.debounce);
        }
    }

    fn node_changed(&mut self, node: &Node, writer: &Writer, pass_running: bool) {
        let Some(name) = node.metadata.name.as_deref() else { return };
        if let Some(wanted) = self.react(node, pass_running) {
            writer.queue(|q| q.condition(name.to_owned(), wanted));
        }
    }

    /// After a pass: the conditions to write, for the nodes of the cache that do not carry what the pass decided,
    /// and for those changed by someone else while it ran.
    fn conditions_to_write(&mut self, store: &Store<Node>) -> Vec<(String, NetworkCondition)> {
        let mut out = self.drifted_after_pass(store);
        for (name, wanted) in &self.conditions {
            if store.get(&ObjectRef::new(name)).is_some_and(|node| !wanted.is_set_on(&node)) {
                out.push((name.clone(), *wanted));
            }
        }
        out
    }

    /// Handles a node update; returns the condition to put back on the node now, if any.
    ///
    /// While a pass runs, the last pass's decisions may be outdated: the running pass may be setting the very
    /// condition seen here, and putting the old one back would undo its write (the node would stay marked
    /// `NetworkUnavailable=True` with all its routes present). So the node is only noted then, and looked at again
    /// with the new decisions when the pass has ended ([`LoopState::drifted_after_pass`]).
    fn react(&mut self, node: &Node, pass_running: bool) -> Option<NetworkCondition> {
        let name = node.metadata.name.as_deref()?;
        match self.change_of(node) {
            NodeChange::Routing => {
                debug!(node = name, "node change relevant to routes");
                self.mark_changed();
                None
            }
            NodeChange::ConditionDrift(_) if pass_running => {
                self.drift_during_pass.insert(name.to_owned());
                None
            }
            NodeChange::ConditionDrift(wanted) => Some(wanted),
            NodeChange::Irrelevant => None,
        }
    }

    /// After a pass: the nodes whose condition changed while it ran and still differs from what it decided, with
    /// the condition to put back.
    fn drifted_after_pass(&mut self, store: &Store<Node>) -> Vec<(String, NetworkCondition)> {
        std::mem::take(&mut self.drift_during_pass)
            .into_iter()
            .filter_map(|name| {
                let wanted = *self.conditions.get(&name)?;
                let node = store.get(&ObjectRef::new(&name))?;
                (!wanted.is_set_on(&node)).then_some((name, wanted))
            })
            .collect()
    }

    /// What a node update means: a pass is needed, only its condition needs putting back, or nothing.
    fn change_of(&self, node: &Node) -> NodeChange {
        let Some(name) = node.metadata.name.as_deref() else { return NodeChange::Irrelevant };
        if self.known.get(name) != Some(&RoutingKey::of(node)) {
            return NodeChange::Routing;
        }
        match self.conditions.get(name).copied() {
            Some(wanted) if !wanted.is_set_on(node) => NodeChange::ConditionDrift(wanted),
            _ => NodeChange::Irrelevant,
        }
    }

    fn scan_deletions(&mut self, store: &Store<Node>) {
        if self.known.keys().any(|name| store.get(&ObjectRef::new(name)).is_none()) {
            debug!("a node was deleted");
            self.known.retain(|name, _| store.get(&ObjectRef::new(name)).is_some());
            self.mark_changed();
        }
    }

    /// A pass starts from `snapshot`: later changes are compared with it.
    fn planning_from(&mut self, snapshot: &[Arc<Node>]) {
        self.known =
            snapshot.iter().filter_map(|n| n.metadata.name.clone().map(|name| (name, RoutingKey::of(n)))).collect();
    }

    /// Takes a pass's decisions; returns its events, to publish.
    fn pass_done(&mut self, outcome: PassOutcome, now: Instant) -> Vec<NodeEvent> {
        self.conditions = outcome.conditions;
        self.next_periodic = now + self.period;
        if outcome.success {
            self.retry_delay = Duration::ZERO;
            self.retry_due = None;
        } else {
            self.retry_delay = (self.retry_delay * 2).clamp(self.retry_initial, self.period);
            self.retry_due = Some(now + self.retry_delay);
            info!(retry_in = ?self.retry_delay, "route pass had failures; retrying");
        }
        outcome.events
    }
}

/// What a node update means to the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeChange {
    /// Its routes may change: plan a pass.
    Routing,
    /// Its routes are as planned but its condition was changed by someone else: put it back.
    ConditionDrift(NetworkCondition),
    /// Nothing to do (heartbeats, labels, ...).
    Irrelevant,
}

/// What a pass hands back to the loop.
struct PassOutcome {
    conditions: HashMap<String, NetworkCondition>,
    success: bool,
    /// Events to publish about the pass's nodes.
    events: Vec<NodeEvent>,
}

/// Kubernetes writes: node conditions and events.
#[derive(Clone)]
pub(crate) struct KubeSide {
    nodes: Api<Node>,
    recorder: Recorder,
}

impl KubeSide {
    pub(crate) async fn set_condition(&self, node: &str, condition: NetworkCondition) -> Result<()> {
        let patch = Patch::Strategic(condition.patch(Timestamp::now()));
        self.nodes
            .patch_status(node, &PatchParams::default(), &patch)
            .await
            .map_err(|source| Error::PatchNodeStatus { node: node.to_owned(), source })?;
        info!(node, status = condition.status(), reason = condition.reason(), "set NetworkUnavailable");
        Ok(())
    }

    pub(crate) async fn publish(&self, node: &Node, event: &NodeEvent) -> Result<()> {
        let kube_event = Event {
            type_: if event.warning { EventType::Warning } else { EventType::Normal },
            reason: event.reason.to_owned(),
            note: Some(event.note.clone()),
            action: event.action.to_owned(),
            secondary: None,
        };
        self.recorder.publish(&kube_event, &node.object_ref(&())).await.map_err(|source| Error::PublishEvent {
            node: event.node.clone(),
            reason: event.reason,
            source,
        })
    }
}

/// Does the passes; moved into the running pass and back.
struct Worker<C> {
    reconciler: RouteReconciler<C>,
    metrics: RouteMetrics,
}

impl<C: RouteCloud + 'static> Worker<C> {
    async fn pass(mut self, trigger: Trigger, snapshot: Vec<Arc<Node>>) -> (Self, PassOutcome) {
        let started = Instant::now();
        let outcome = match self.plan_and_apply(&snapshot, trigger).await {
            Ok((plan, report)) => self.report(&plan, &report),
            Err(error) => {
                error!(%error, trigger = trigger.label(), "route pass failed");
                self.metrics.error(error.kind());
                PassOutcome { conditions: HashMap::new(), success: false, events: Vec::new() }
            }
        };
        let result = if outcome.success { "success" } else { "failure" };
        self.metrics.passes.get_or_create(&PassLabels { trigger: trigger.label().into(), result: result.into() }).inc();
        self.metrics.pass_duration.observe(started.elapsed().as_secs_f64());
        (self, outcome)
    }

    async fn plan_and_apply(&mut self, nodes: &[Arc<Node>], trigger: Trigger) -> Result<(RoutePlan, ApplyReport)> {
        let full = matches!(trigger, Trigger::Startup | Trigger::Periodic);
        let (plan, observation) = self.reconciler.plan(nodes, full).await?;
        self.metrics.managed_tables.set(observation.selection.table_ids.len() as i64);
        for warning in &plan.warnings {
            warn!(%warning, "route plan warning");
        }
        if plan.is_empty() {
            debug!(trigger = trigger.label(), "routes up to date");
        } else {
            info!(trigger = trigger.label(), tables = ?observation.selection.table_ids, source = %observation.selection.source, "applying {plan}");
        }
        let report = self.reconciler.apply(&plan).await;
        Ok((plan, report))
    }

    /// Metrics of an applied plan, each node's condition, and the events to publish.
    fn report(&self, plan: &RoutePlan, report: &ApplyReport) -> PassOutcome {
        self.count(report);
        let results = report.node_results(plan);
        let routed = results.iter().filter(|r| r.all_routes_present).count();
        self.metrics.routed_nodes.set(routed as i64);
        let conditions =
            results.iter().map(|r| (r.node.clone(), NetworkCondition::from_routed(r.all_routes_present))).collect();
        let events = node_events(plan, report, &results);
        PassOutcome { conditions, success: report.is_success(), events }
    }

    fn count(&self, report: &ApplyReport) {
        for c in report.creates.iter().filter(|c| c.result == Ok(WriteOutcome::Applied)) {
            debug!(route = %c.create.route, node = %c.create.node, "created route");
            self.metrics.routes_created.inc();
        }
        for d in report.deletes.iter().filter(|d| d.result == Ok(WriteOutcome::Applied)) {
            info!(route = %d.delete.route, reason = %d.delete.reason, "deleted route");
            let labels = DeleteLabels { reason: d.delete.reason.label().into() };
            self.metrics.routes_deleted.get_or_create(&labels).inc();
        }
        for (route, error) in report.failures() {
            warn!(%route, %error, "route write failed");
            self.metrics.error(error.kind());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> LoopState {
        let config = RouteControllerConfig {
            debounce: Duration::from_secs(1),
            reconciliation_period: Duration::from_secs(300),
            retry_initial: Duration::from_secs(10),
            ..Default::default()
        };
        LoopState::new(&config)
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_pass_runs_at_once_then_the_period_rules() {
        let mut s = state();
        let now = Instant::now();
        assert_eq!(s.due(now), Some(Trigger::Startup));
        assert_eq!(s.due(now), None);
        s.pass_done(PassOutcome { conditions: HashMap::new(), success: true, events: Vec::new() }, now);
        assert_eq!(s.next_wake(), now + Duration::from_secs(300));
        assert_eq!(s.due(now + Duration::from_secs(300)), Some(Trigger::Periodic));
    }

    fn k8s_node(name: &str, cidr: &str, condition: Option<(&str, &str)>) -> Arc<Node> {
        use k8s_openapi::api::core::v1::{NodeCondition, NodeSpec, NodeStatus};
        let mut n = Node::default();
        n.metadata.name = Some(name.into());
        n.spec = Some(NodeSpec {
            provider_id: Some("cn-hangzhou.i-1".into()),
            pod_cidrs: Some(vec![cidr.into()]),
            ..Default::default()
        });
        n.status = Some(NodeStatus {
            conditions: Some(
                condition
                    .map(|(status, reason)| NodeCondition {
                        type_: "NetworkUnavailable".into(),
                        status: status.into(),
                        reason: Some(reason.into()),
                        ..Default::default()
                    })
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        });
        Arc::new(n)
    }

    #[tokio::test(start_paused = true)]
    async fn only_routing_changes_call_for_a_pass_and_condition_drift_is_put_back() {
        let mut s = state();
        let node = k8s_node("node-1", "10.244.1.0/24", Some(("False", "RouteCreated")));
        assert_eq!(s.change_of(&node), NodeChange::Routing, "not seen by any pass yet");
        s.planning_from(&[Arc::clone(&node)]);
        s.pass_done(
            PassOutcome {
                conditions: [("node-1".to_string(), NetworkCondition::RouteCreated)].into(),
                success: true,
                events: Vec::new(),
            },
            Instant::now(),
        );
        assert_eq!(s.change_of(&node), NodeChange::Irrelevant);
        let mut heartbeat = (*node).clone();
        heartbeat.metadata.resource_version = Some("2".into());
        assert_eq!(s.change_of(&heartbeat), NodeChange::Irrelevant);
        let flipped = k8s_node("node-1", "10.244.1.0/24", Some(("True", "NoRouteCreated")));
        assert_eq!(s.change_of(&flipped), NodeChange::ConditionDrift(NetworkCondition::RouteCreated));
        let moved = k8s_node("node-1", "10.244.7.0/24", Some(("False", "RouteCreated")));
        assert_eq!(s.change_of(&moved), NodeChange::Routing);
        assert_eq!(s.change_of(&k8s_node("node-2", "10.244.2.0/24", None)), NodeChange::Routing, "a new node");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pass_setting_a_condition_is_not_undone_by_the_previous_decision() {
        use kube::runtime::{reflector, watcher};
        let mut s = state();
        let unrouted = k8s_node("node-1", "10.244.1.0/24", Some(("True", "NoRouteCreated")));
        s.planning_from(&[Arc::clone(&unrouted)]);
        s.pass_done(
            PassOutcome {
                conditions: [("node-1".to_string(), NetworkCondition::NoRouteCreated)].into(),
                success: false,
                events: Vec::new(),
            },
            Instant::now(),
        );
        // The retry pass creates the route and sets False/RouteCreated; the echo of that write arrives while the
        // pass is still running. Putting back the previous pass's NoRouteCreated would undo it.
        s.planning_from(&[Arc::clone(&unrouted)]);
        let routed = k8s_node("node-1", "10.244.1.0/24", Some(("False", "RouteCreated")));
        assert_eq!(s.react(&routed, true), None, "no write while the pass runs");
        let (store, mut writer) = reflector::store::<Node>();
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitApply((*routed).clone()));
        writer.apply_watcher_event(&watcher::Event::InitDone);
        s.pass_done(
            PassOutcome {
                conditions: [("node-1".to_string(), NetworkCondition::RouteCreated)].into(),
                success: true,
                events: Vec::new(),
            },
            Instant::now(),
        );
        assert_eq!(s.drifted_after_pass(&store), vec![], "the node carries what the pass decided");
        assert_eq!(s.react(&routed, false), None);

        // Someone else flips it during a pass: put right once the pass has ended.
        s.planning_from(&[Arc::clone(&routed)]);
        assert_eq!(s.react(&unrouted, true), None);
        writer.apply_watcher_event(&watcher::Event::Apply((*unrouted).clone()));
        s.pass_done(
            PassOutcome {
                conditions: [("node-1".to_string(), NetworkCondition::RouteCreated)].into(),
                success: true,
                events: Vec::new(),
            },
            Instant::now(),
        );
        assert_eq!(s.drifted_after_pass(&store), vec![("node-1".to_string(), NetworkCondition::RouteCreated)]);
        assert_eq!(s.drifted_after_pass(&store), vec![], "looked at once");
        // Between passes, drift is put right at once.
        assert_eq!(s.react(&unrouted, false), Some(NetworkCondition::RouteCreated));
    }

    #[tokio::test(start_paused = true)]
    async fn deleted_nodes_are_noticed_by_the_scan() {
        use kube::runtime::{reflector, watcher};
        let (store, mut writer) = reflector::store::<Node>();
        let a = k8s_node("node-a", "10.244.1.0/24", None);
        let b = k8s_node("node-b", "10.244.2.0/24", None);
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitApply((*a).clone()));
        writer.apply_watcher_event(&watcher::Event::InitApply((*b).clone()));
        writer.apply_watcher_event(&watcher::Event::InitDone);
        let mut s = state();
        s.due(Instant::now());
        s.planning_from(&store.state());
        s.scan_deletions(&store);
        assert_eq!(s.change_due, None, "nothing deleted");
        writer.apply_watcher_event(&watcher::Event::Delete((*b).clone()));
        s.scan_deletions(&store);
        assert!(s.change_due.is_some(), "node-b went");
        assert_eq!(s.known.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn changes_are_coalesced_into_one_pass() {
        let mut s = state();
        let now = Instant::now();
        s.due(now);
        s.mark_changed();
        tokio::time::advance(Duration::from_millis(500)).await;
        s.mark_changed();
        assert_eq!(s.next_wake(), now + Duration::from_secs(1), "the first change sets the deadline");
        assert_eq!(s.due(now + Duration::from_millis(999)), None);
        assert_eq!(s.due(now + Duration::from_secs(1)), Some(Trigger::NodeChange));
        assert_eq!(s.due(now + Duration::from_secs(1)), None, "one pass for both changes");
    }

    #[tokio::test(start_paused = true)]
    async fn failed_passes_are_retried_with_a_doubling_delay() {
        let mut s = state();
        let now = Instant::now();
        s.due(now);
        let failed = || PassOutcome { conditions: HashMap::new(), success: false, events: Vec::new() };
        s.pass_done(failed(), now);
        assert_eq!(s.retry_due, Some(now + Duration::from_secs(10)));
        s.pass_done(failed(), now);
        assert_eq!(s.retry_due, Some(now + Duration::from_secs(20)));
        for _ in 0..10 {
            s.pass_done(failed(), now);
        }
        assert_eq!(s.retry_delay, Duration::from_secs(300), "capped at the period");
        assert_eq!(s.due(now + Duration::from_secs(300)), Some(Trigger::Retry));
        s.pass_done(PassOutcome { conditions: HashMap::new(), success: true, events: Vec::new() }, now);
        assert_eq!(s.retry_due, None);
    }
}
