//! The controller loop: which nodes to look at when, coalesced into batches.
//!
//! Nodes enter a pending set when:
//! * they change in a way that matters to initialization (a new tainted node, a provider ID set late, new
//!   InternalIPs): within `coalesce_window`, so a node getting its provider ID late is initialized in seconds;
//! * their readiness changes (Ready nodes with the shutdown taint lose it; not-Ready nodes are checked);
//! * the lifecycle tick finds them not Ready (only those cost cloud calls; those already tainted as shut down wait
//!   for the refresh);
//! * the refresh tick comes (every managed node, labels and addresses);
//! * their retry is due (exponential backoff after a failure).
//!
//! The set is drained as one batch once the window after its first entry has passed and no batch is running;
//! nodes changing during a batch wait for the next one. So a burst of nodes costs one `DescribeInstances` per 100.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    hash::{DefaultHasher, Hash, Hasher},
    pin::pin,
    sync::Arc,
    time::Duration,
};

use ccm_kube::{
    ReadyStatus,
    names::{
        ANNOTATION_PROVIDED_NODE_IP, LABEL_EXCLUDE_NODE, LABEL_EXCLUDE_NODE_LEGACY, LABEL_NODE_TYPE, TAINT_SHUTDOWN,
    },
    node::has_taint,
    node_feed::NodeFeed,
};
use futures::{Stream, StreamExt as _, stream};
use k8s_openapi::api::core::v1::Node;
use kube::{
    Api,
    runtime::{
        events::{Recorder, Reporter},
        reflector::{ObjectRef, Store},
    },
};
use tokio::{
    task::JoinSet,
    time::{Instant, MissedTickBehavior, interval_at, sleep_until},
};

use crate::{
    apply::{Applier, Outcome},
    batch::plan_batch,
    cloud::NodeCloud,
    config::NodeControllerConfig,
    error::{Error, Result},
    metrics::NodeMetrics,
    plan::{
        LABEL_LINGJUN_WORKER, is_initializing, is_managed, is_uninitialized, needs_lifecycle_check,
        needs_shutdown_taint_removal,
    },
};

/// Everything the controller needs.
pub struct Context<C> {
    /// The Kubernetes client.
    pub client: kube::Client,
    /// The cloud.
    pub cloud: C,
    /// Settings.
    pub config: NodeControllerConfig,
    /// Metrics (register them with [`NodeMetrics::register`]).
    pub metrics: NodeMetrics,
    /// The client events are published with, when not `client`: a client with its own rate limit keeps the
    /// `Synced` event of each node from taking the budget of the next node's taint removal.
    pub events_client: Option<kube::Client>,
}

impl<C: NodeCloud> Context<C> {
    /// A context with fresh metrics.
    pub fn new(client: kube::Client, cloud: C, config: NodeControllerConfig) -> Self {
        Self { client, cloud, config, metrics: NodeMetrics::default(), events_client: None }
    }
}

/// Runs the node controller until the node feed ends. Start it once this process leads.
pub async fn run<C: NodeCloud>(ctx: Arc<Context<C>>, feed: NodeFeed) -> Result<()> {
    let NodeFeed { store, changes } = feed;
    store.wait_until_ready().await.map_err(|_| Error::FeedClosed)?;
    tracing::info!(nodes = store.state().len(), "node controller started");
    run_loop(ctx, store, changes).await;
    tracing::info!("node feed ended; node controller stopped");
    Ok(())
}

/// The loop: wakes on a node change, a tick, a finished batch, or when the scheduler has something due.
async fn run_loop<C: NodeCloud>(ctx: Arc<Context<C>>, store: Store<Node>, changes: impl Stream<Item = Arc<Node>>) {
    let worker = Arc::new(Worker::new(ctx.clone(), store.clone()));
    let config = &ctx.config;
    let mut changes = pin!(changes);
    let start = Instant::now();
    let mut scheduler = Scheduler::new(config);
    let mut refresh = ticker(start, config.refresh_period);
    let mut lifecycle = ticker(start + config.lifecycle_period, config.lifecycle_period);
    let mut jobs: JoinSet<Vec<(String, Outcome)>> = JoinSet::new();
    loop {
        // While a batch runs, nothing the scheduler has due can start: waking for it would only find the batch
        // still running, with the deadline still in the past, and spin until the batch ends. The end of the batch
        // wakes the loop instead.
        let wake = scheduler.next_wakeup().filter(|_| jobs.is_empty());
        tokio::select! {
            change = changes.next() => match change {
                Some(node) => scheduler.observe(&node, Instant::now()),
                None => break,
            },
            _ = refresh.tick() => scheduler.refresh_tick(&store.state(), Instant::now()),
            _ = lifecycle.tick() => scheduler.lifecycle_tick(&store.state(), Instant::now()),
            _ = sleep_until(wake.unwrap_or(start)), if wake.is_some() => {}
            Some(done) = jobs.join_next(), if !jobs.is_empty() => match done {
                Ok(outcomes) => scheduler.record_all(outcomes, Instant::now()),
                Err(error) => tracing::error!(%error, "a node batch panicked; its nodes wait for the next trigger"),
            },
        }
        if jobs.is_empty()
            && let Some(batch) = scheduler.take_batch(Instant::now())
        {
            let worker = worker.clone();
            jobs.spawn(async move { worker.process(batch).await });
        }
    }
    jobs.shutdown().await;
}

/// An interval starting at `start` (a zero period is taken as one millisecond); late ticks are not bunched.
fn ticker(start: Instant, period: Duration) -> tokio::time::Interval {
    let mut interval = interval_at(start, period.max(Duration::from_millis(1)));
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

/// Processes batches: reads the nodes from the cache, plans them with the cloud, applies the plans.
struct Worker<C> {
    ctx: Arc<Context<C>>,
    store: Store<Node>,
    applier: Applier,
}

impl<C: NodeCloud> Worker<C> {
    fn new(ctx: Arc<Context<C>>, store: Store<Node>) -> Self {
        let config = &ctx.config;
        let reporter = Reporter { controller: config.event_reporter.clone(), instance: config.event_instance.clone() };
        let events_client = ctx.events_client.clone().unwrap_or_else(|| ctx.client.clone());
        let recorder = Recorder::new(events_client, reporter);
        let nodes: Api<Node> = Api::all(ctx.client.clone());
        let applier = Applier::new(nodes, recorder, ctx.metrics.clone(), config.plan_config(), &config.event_reporter);
        Self { ctx, store, applier }
    }

    async fn process(&self, batch: Vec<(String, Trigger)>) -> Vec<(String, Outcome)> {
        let nodes: Vec<Arc<Node>> = batch
            .iter()
            .filter_map(|(name, trigger)| {
                let node = self.store.get(&ObjectRef::new(name))?;
                // A node initialized since it changed needs nothing more.
                (*trigger != Trigger::Init || is_initializing(&node)).then_some(node)
            })
            .collect();
        tracing::debug!(nodes = nodes.len(), dropped = batch.len() - nodes.len(), "processing a node batch");
        self.ctx.metrics.batch_size.observe(nodes.len() as f64);
        let plan_config = self.ctx.config.plan_config();
        let planned = plan_batch(&self.ctx.cloud, nodes, &plan_config, &self.ctx.metrics).await;
        let applier = &self.applier;
        stream::iter(planned)
            .map(|p| async move {
                let name = p.name().to_owned();
                (name, applier.apply(p).await)
            })
            .buffer_unordered(self.ctx.config.max_concurrent_writes.max(1))
            .collect()
            .await
    }
}

/// Why a node is in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Trigger {
    /// It changed in a way that matters to its initialization (dropped if it is initialized meanwhile).
    Init,
    /// Its readiness changed.
    Readiness,
    /// A tick or a retry: always processed.
    Periodic,
}

/// What the scheduler remembers of a node from its last change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    fingerprint: u64,
    ready: ReadyStatus,
}

/// A node that failed, and when it is retried (`None` once it is pending again).
#[derive(Debug, Clone, Copy)]
struct Retry {
    failures: u32,
    due: Option<Instant>,
}

/// Decides which nodes go into the next batch, and when. Pure state: time comes in as arguments.
pub(crate) struct Scheduler {
    window: Duration,
    retry_base: Duration,
    retry_max: Duration,
    pending: BTreeMap<String, Trigger>,
    window_ends: Option<Instant>,
    seen: HashMap<String, Seen>,
    retries: HashMap<String, Retry>,
}

/// A hash of what initialization depends on. Heartbeats, conditions, our labels and (once the provider ID is
/// known) the addresses do not change it.
fn fingerprint(node: &Node) -> u64 {
    let mut h = DefaultHasher::new();
    let spec = node.spec.as_ref();
    let provider_id = spec.and_then(|s| s.provider_id.as_deref()).filter(|id| !id.is_empty());
    provider_id.hash(&mut h);
    is_uninitialized(node).hash(&mut h);
    if provider_id.is_none() {
        // The IPs only matter to find the instance of a node without provider ID.
        ccm_kube::node::internal_ips(node).hash(&mut h);
    }
    node.metadata.deletion_timestamp.is_some().hash(&mut h);
    let annotations = node.metadata.annotations.as_ref();
    annotations.and_then(|a| a.get(ANNOTATION_PROVIDED_NODE_IP)).hash(&mut h);
    let labels = node.metadata.labels.as_ref();
    for key in [LABEL_EXCLUDE_NODE, LABEL_EXCLUDE_NODE_LEGACY, LABEL_NODE_TYPE, LABEL_LINGJUN_WORKER] {
        labels.and_then(|l| l.get(key)).hash(&mut h);
    }
    h.finish()
}

impl Scheduler {
    pub(crate) fn new(config: &NodeControllerConfig) -> Self {
        Self {
            window: config.coalesce_window,
            retry_base: config.retry_base_delay,
            retry_max: config.retry_max_delay,
            pending: BTreeMap::new(),
            window_ends: None,
            seen: HashMap::new(),
            retries: HashMap::new(),
        }
    }

    fn enqueue(&mut self, name: String, trigger: Trigger, now: Instant) {
        if self.pending.is_empty() {
            self.window_ends = Some(now + self.window);
        }
        let entry = self.pending.entry(name).or_insert(trigger);
        *entry = (*entry).max(trigger);
    }

    /// A node changed (or was listed at start).
    pub(crate) fn observe(&mut self, node: &Node, now: Instant) {
        let Some(name) = node.metadata.name.clone() else { return };
        let seen = Seen { fingerprint: fingerprint(node), ready: ccm_kube::node::ready_status(node) };
        let before = self.seen.insert(name.clone(), seen);
        let changed = before.is_none_or(|b| b.fingerprint != seen.fingerprint);
        let readiness_changed = before.is_some_and(|b| b.ready != seen.ready);
        let trigger = if changed && is_initializing(node) {
            Trigger::Init
        } else if (before.is_none() && needs_shutdown_taint_removal(node))
            || (readiness_changed && (needs_shutdown_taint_removal(node) || needs_lifecycle_check(node)))
        {
            Trigger::Readiness
        } else {
            return;
        };
        // New information: do not wait for the retry.
        if let Some(retry) = self.retries.get_mut(&name) {
            retry.due = None;
        }
        self.enqueue(name, trigger, now);
    }

    /// Periodic work: these nodes, except those waiting for a retry (which come when it is due).
    pub(crate) fn enqueue_tick<'a>(&mut self, nodes: impl Iterator<Item = &'a Arc<Node>>, now: Instant) {
        for node in nodes {
            let Some(name) = node.metadata.name.as_ref() else { continue };
            if self.retries.get(name).is_none_or(|r| r.due.is_none()) {
                self.enqueue(name.clone(), Trigger::Periodic, now);
            }
        }
    }

    /// The refresh: every managed node; nodes that no longer exist are forgotten.
    pub(crate) fn refresh_tick(&mut self, nodes: &[Arc<Node>], now: Instant) {
        self.forget_missing(nodes);
        self.enqueue_tick(nodes.iter().filter(|n| is_managed(n)), now);
    }

    /// The lifecycle check: not-Ready ECS nodes, and Ready ones still tainted as shut down. Nodes already tainted
    /// as shut down are left to the refresh, so that stopped instances do not cost a call every tick.
    pub(crate) fn lifecycle_tick(&mut self, nodes: &[Arc<Node>], now: Instant) {
        let due = |n: &&Arc<Node>| {
            (needs_lifecycle_check(n) && !has_taint(n, TAINT_SHUTDOWN)) || needs_shutdown_taint_removal(n)
        };
        self.enqueue_tick(nodes.iter().filter(due), now);
    }

    /// Forgets nodes that no longer exist.
    pub(crate) fn forget_missing(&mut self, nodes: &[Arc<Node>]) {
        let present: HashSet<&str> = nodes.iter().filter_map(|n| n.metadata.name.as_deref()).collect();
        self.seen.retain(|name, _| present.contains(name.as_str()));
        self.retries.retain(|name, _| present.contains(name.as_str()));
    }

    fn promote_due_retries(&mut self, now: Instant) {
        let mut due: Vec<String> = Vec::new();
        for (name, retry) in &mut self.retries {
            if retry.due.is_some_and(|d| d <= now) {
                retry.due = None;
                due.push(name.clone());
            }
        }
        for name in due {
            self.enqueue(name, Trigger::Periodic, now);
        }
    }

    /// The nodes of the next batch, when its window has passed.
    pub(crate) fn take_batch(&mut self, now: Instant) -> Option<Vec<(String, Trigger)>> {
        self.promote_due_retries(now);
        if self.pending.is_empty() || self.window_ends.is_some_and(|end| end > now) {
            return None;
        }
        self.window_ends = None;
        Some(std::mem::take(&mut self.pending).into_iter().collect())
    }

    /// Records how a node's sync ended.
    pub(crate) fn record(&mut self, name: String, outcome: Outcome, now: Instant) {
        match outcome {
            Outcome::Settled => {
                self.retries.remove(&name);
                return;
            }
            Outcome::Initialized => {
                // Changes seen while it was initialized were ours: initialization is done.
                self.retries.remove(&name);
                if self.pending.get(&name) == Some(&Trigger::Init) {
                    self.pending.remove(&name);
                }
                return;
            }
            Outcome::Blocked | Outcome::Failed => {}
        }
        let failures = self.retries.get(&name).map_or(0, |r| r.failures) + 1;
        let delay = self.retry_base.saturating_mul(1 << (failures - 1).min(20)).min(self.retry_max);
        self.retries.insert(name, Retry { failures, due: Some(now + delay) });
    }

    /// Records a batch's outcomes.
    pub(crate) fn record_all(&mut self, outcomes: Vec<(String, Outcome)>, now: Instant) {
        for (name, outcome) in outcomes {
            self.record(name, outcome, now);
        }
    }

    /// When the loop must wake up: the end of the current window, or the next due retry.
    pub(crate) fn next_wakeup(&self) -> Option<Instant> {
        let retry = self.retries.values().filter_map(|r| r.due).min();
        match (self.window_ends.filter(|_| !self.pending.is_empty()), retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod scenarios;
