//! The Kubernetes side of passes, off the pass: `NetworkUnavailable` conditions and events are written by a
//! background task, so that a pass ends when its cloud writes are done and the next one can plan the nodes that
//! joined meanwhile. With 1,000 nodes joining, the condition writes (client-side limited, 20 a second by default)
//! take far longer than the route writes; done inside the pass they held every later node's routes back.
//!
//! * Conditions are queued per node, the latest decision winning, and written a few at a time. A write is skipped
//!   when the node (in the shared cache) already carries the condition or is gone. A failed write is queued again
//!   (unless a newer decision replaced it) and retried after a doubling pause.
//! * Events are best effort: published a few at a time, never retried.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Node;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::Notify;
use tracing::warn;

use crate::{
    controller::KubeSide,
    metrics::RouteMetrics,
    status::{NetworkCondition, NodeEvent},
};

/// Kubernetes writes in flight at once (the client's rate limit paces them).
const WRITES_IN_FLIGHT: usize = 8;
/// First pause after a failed condition write; doubles up to [`RETRY_MAX`].
const RETRY_INITIAL: Duration = Duration::from_secs(1);
/// Longest pause between rounds with failures.
const RETRY_MAX: Duration = Duration::from_secs(30);

/// What waits to be written: the latest condition per node, and events in order.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    conditions: BTreeMap<String, NetworkCondition>,
    events: Vec<NodeEvent>,
}

impl Queue {
    /// Queues a condition; a decision queued earlier for the node and not written yet is replaced.
    pub(crate) fn condition(&mut self, node: String, wanted: NetworkCondition) {
        self.conditions.insert(node, wanted);
    }

    /// Queues events.
    pub(crate) fn events(&mut self, events: impl IntoIterator<Item = NodeEvent>) {
        self.events.extend(events);
    }

    /// Everything queued, leaving the queue empty.
    fn take(&mut self) -> (BTreeMap<String, NetworkCondition>, Vec<NodeEvent>) {
        (std::mem::take(&mut self.conditions), std::mem::take(&mut self.events))
    }

    /// Puts back a condition whose write failed, unless a newer decision was queued meanwhile.
    fn retry(&mut self, node: String, wanted: NetworkCondition) {
        self.conditions.entry(node).or_insert(wanted);
    }

    fn is_empty(&self) -> bool {
        self.conditions.is_empty() && self.events.is_empty()
    }
}

/// The handle the controller loop queues writes through; the task runs [`Writer::run`].
#[derive(Clone)]
pub(crate) struct Writer {
    queue: Arc<std::sync::Mutex<Queue>>,
    wake: Arc<Notify>,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self { queue: Arc::default(), wake: Arc::new(Notify::new()) }
    }

    /// Queues writes with `fill` and wakes the task.
    pub(crate) fn queue(&self, fill: impl FnOnce(&mut Queue)) {
        fill(&mut self.lock());
        self.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes what is queued, until the process stops.
    pub(crate) async fn run(self, kube: KubeSide, store: Store<Node>, metrics: RouteMetrics) {
        let mut pause = RETRY_INITIAL;
        loop {
            if self.lock().is_empty() {
                self.wake.notified().await;
            }
            let (conditions, events) = self.lock().take();
            let failed = write_conditions(&kube, &store, &metrics, conditions).await;
            publish_events(&kube, &store, &metrics, events).await;
            if failed.is_empty() {
                pause = RETRY_INITIAL;
                continue;
            }
            {
                let mut queue = self.lock();
                for (node, wanted) in failed {
                    queue.retry(node, wanted);
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RETRY_MAX);
        }
    }
}

/// Writes the conditions nodes do not carry yet; returns those whose write failed.
async fn write_conditions(
    kube: &KubeSide,
    store: &Store<Node>,
    metrics: &RouteMetrics,
    conditions: BTreeMap<String, NetworkCondition>,
) -> Vec<(String, NetworkCondition)> {
    let needed = conditions
        .into_iter()
        .filter(|(node, wanted)| store.get(&ObjectRef::new(node)).is_some_and(|current| !wanted.is_set_on(&current)));
    futures::stream::iter(needed)
        .map(|(node, wanted)| async move {
            match kube.set_condition(&node, wanted).await {
                Ok(()) => None,
                Err(error) => {
                    warn!(%error, "cannot set the NetworkUnavailable condition; will retry");
                    metrics.error(error.kind());
                    Some((node, wanted))
                }
            }
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .filter_map(std::future::ready)
        .collect()
        .await
}

/// Publishes events about nodes still present; failures are logged and counted.
async fn publish_events(kube: &KubeSide, store: &Store<Node>, metrics: &RouteMetrics, events: Vec<NodeEvent>) {
    let present = events.into_iter().filter_map(|event| store.get(&ObjectRef::new(&event.node)).map(|n| (n, event)));
    futures::stream::iter(present)
        .for_each_concurrent(WRITES_IN_FLIGHT, |(node, event)| async move {
            if let Err(error) = kube.publish(&node, &event).await {
                warn!(%error, "cannot publish a route event");
                metrics.error(error.kind());
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_decision_wins_and_a_failed_write_does_not_override_a_newer_one() {
        let mut q = Queue::default();
        q.condition("node-1".into(), NetworkCondition::NoRouteCreated);
        q.condition("node-1".into(), NetworkCondition::RouteCreated);
        let (conditions, _) = q.take();
        assert_eq!(conditions, [("node-1".to_string(), NetworkCondition::RouteCreated)].into());
        assert!(q.is_empty());

        // The write of RouteCreated fails while a pass decides NoRouteCreated: the newer decision stays.
        q.condition("node-1".into(), NetworkCondition::NoRouteCreated);
        q.retry("node-1".into(), NetworkCondition::RouteCreated);
        q.retry("node-2".into(), NetworkCondition::RouteCreated);
        let (conditions, _) = q.take();
        assert_eq!(
            conditions,
            [
                ("node-1".to_string(), NetworkCondition::NoRouteCreated),
                ("node-2".to_string(), NetworkCondition::RouteCreated)
            ]
            .into()
        );
    }
}
