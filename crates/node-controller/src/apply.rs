//! Executes plans against the Kubernetes API, with the write mechanism each field needs (see [`crate::patch`]),
//! and reports each result as events and metrics.

use std::{sync::Arc, time::Duration};

use ccm_kube::node::has_taint;
use k8s_openapi::{api::core::v1::Node, jiff::Timestamp};
use kube::{
    Api,
    api::{DeleteParams, Patch, PatchParams, Preconditions},
    runtime::events::{EventType, Recorder},
};

use crate::{
    batch::PlannedNode,
    config::PlanConfig,
    error::{Error, Result},
    events::{
        ADD_NODE_FAILED, DELETE_NODE_FAILED, DELETED_NODE, DELETING_NODE, SYNC_NODE_FAILED, SYNCED, SYNCED_MESSAGE,
        publish,
    },
    metrics::NodeMetrics,
    patch::{addresses_patch, node_patch},
    plan::{NodePlan, NodeUpdate, ShutdownTaint, Warning, is_uninitialized, plan_node},
};

/// Writes attempted on a node that keeps changing under us before giving up until the next retry.
const MAX_WRITE_ATTEMPTS: u32 = 5;
/// Pause before re-reading a node after a conflicting write (times the attempt number).
const CONFLICT_PAUSE: Duration = Duration::from_millis(50);

/// How a node's sync ended, for the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done (or nothing to do): no retry needed.
    Settled,
    /// Done, and the node was initialized (its uninitialized taint removed).
    Initialized,
    /// Something blocks the node (ambiguous match, source/dest check, provided IP): retried with backoff.
    Blocked,
    /// A cloud or Kubernetes error: retried with backoff.
    Failed,
}

/// Writes plans to the apiserver.
pub struct Applier {
    nodes: Api<Node>,
    recorder: Recorder,
    metrics: NodeMetrics,
    plan_config: PlanConfig,
    params: PatchParams,
}

impl Applier {
    /// An applier writing through `nodes`, publishing with `recorder`.
    pub fn new(
        nodes: Api<Node>,
        recorder: Recorder,
        metrics: NodeMetrics,
        plan_config: PlanConfig,
        manager: &str,
    ) -> Self {
        let params = PatchParams { field_manager: Some(manager.to_owned()), ..PatchParams::default() };
        Self { nodes, recorder, metrics, plan_config, params }
    }

    /// Applies one plan. When the node changed since it was read, reads it again and plans again with the same
    /// cloud answer, a few times.
    pub async fn apply(&self, planned: PlannedNode) -> Outcome {
        let PlannedNode { mut node, view, mut plan } = planned;
        for attempt in 1..=MAX_WRITE_ATTEMPTS {
            let error = match self.execute(&node, &plan).await {
                Ok(outcome) => return outcome,
                Err(error) => error,
            };
            if !error.is_write_conflict() || attempt == MAX_WRITE_ATTEMPTS {
                self.report_failure(&node, &plan, &error).await;
                return Outcome::Failed;
            }
            tokio::time::sleep(CONFLICT_PAUSE * attempt).await;
            match self.reread(&node).await {
                Ok(Some(fresh)) => node = Arc::new(fresh),
                Ok(None) => return Outcome::Settled,
                Err(error) => {
                    self.report_failure(&node, &plan, &error).await;
                    return Outcome::Failed;
                }
            }
            plan = plan_node(&node, &view, &self.plan_config);
        }
        Outcome::Failed
    }

    async fn reread(&self, node: &Node) -> Result<Option<Node>> {
        let name = name_of(node);
        self.nodes.get_opt(name).await.map_err(|source| Error::Kube { verb: "get", node: name.to_owned(), source })
    }

    async fn execute(&self, node: &Node, plan: &NodePlan) -> Result<Outcome> {
        let name = name_of(node);
        match plan {
            NodePlan::Skip { reason } => {
                tracing::debug!(node = name, %reason, "nothing to do");
                Ok(Outcome::Settled)
            }
            NodePlan::Warn(warning) => {
                tracing::warn!(node = name, reason = warning.reason, "{}", warning.message);
                self.warn(node, warning).await;
                Ok(Outcome::Blocked)
            }
            NodePlan::Retry { message } => {
                tracing::warn!(node = name, "{message}; will retry");
                if is_uninitialized(node) {
                    self.warn(node, &Warning { reason: ADD_NODE_FAILED, message: message.clone() }).await;
                }
                Ok(Outcome::Failed)
            }
            NodePlan::Update(update) => self.update(node, update).await,
            NodePlan::Delete { instance_id } => self.delete(node, instance_id).await,
        }
    }

    async fn warn(&self, node: &Node, warning: &Warning) {
        publish(&self.recorder, node, EventType::Warning, warning.reason, &warning.message).await;
    }

    async fn update(&self, node: &Node, update: &NodeUpdate) -> Result<Outcome> {
        let name = name_of(node);
        tracing::info!(node = name, "{update}");
        if let Some(addresses) = &update.addresses {
            // Addresses first, so that the node is never schedulable with the kubelet's provisional list.
            let body = Patch::Merge(addresses_patch(addresses));
            self.nodes.patch_status(name, &self.params, &body).await.map_err(|source| Error::Kube {
                verb: "patch status of",
                node: name.to_owned(),
                source,
            })?;
        }
        let patch = node_patch(node, update).map_err(|source| Error::InvalidPatch { node: name.to_owned(), source })?;
        if let Some(patch) = patch {
            self.nodes.patch(name, &self.params, &Patch::Json::<()>(patch)).await.map_err(|source| Error::Kube {
                verb: "patch",
                node: name.to_owned(),
                source,
            })?;
        }
        self.report_update(node, update).await;
        let blocked = update.warning.is_some() || update.source_dest_check_eni.is_some();
        Ok(match (blocked, update.remove_uninitialized_taint) {
            (true, _) => Outcome::Blocked,
            (false, true) => Outcome::Initialized,
            (false, false) => Outcome::Settled,
        })
    }

    async fn report_update(&self, node: &Node, update: &NodeUpdate) {
        if update.remove_uninitialized_taint && has_taint(node, ccm_kube::names::TAINT_UNINITIALIZED) {
            self.metrics.nodes_initialized.inc();
            if let Some(created) = &node.metadata.creation_timestamp {
                let delay = Timestamp::now().duration_since(created.0).as_secs_f64().max(0.0);
                self.metrics.taint_removal_delay.observe(delay);
            }
            publish(&self.recorder, node, EventType::Normal, SYNCED, SYNCED_MESSAGE).await;
        }
        if update.shutdown_taint == Some(ShutdownTaint::Add) {
            self.metrics.shutdown_taints_added.inc();
        }
        if let Some(warning) = &update.warning {
            self.warn(node, warning).await;
        }
    }

    async fn delete(&self, node: &Node, instance_id: &str) -> Result<Outcome> {
        let name = name_of(node);
        let note =
            format!("Deleting node {name} because its instance {instance_id} does not exist in the cloud provider");
        tracing::info!(node = name, instance_id, "deleting a not-Ready node whose instance no longer exists");
        publish(&self.recorder, node, EventType::Normal, DELETING_NODE, &note).await;
        // Preconditions: the very node we judged (same UID, unchanged since read: still not Ready).
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: node.metadata.uid.clone(),
                resource_version: node.metadata.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        match self.nodes.delete(name, &params).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(Outcome::Settled),
            Err(source) => return Err(Error::Kube { verb: "delete", node: name.to_owned(), source }),
        }
        self.metrics.nodes_deleted.inc();
        let note = format!("Deleted node {name}: its instance {instance_id} does not exist in the cloud provider");
        publish(&self.recorder, node, EventType::Normal, DELETED_NODE, &note).await;
        Ok(Outcome::Settled)
    }

    async fn report_failure(&self, node: &Node, plan: &NodePlan, error: &Error) {
        let name = name_of(node);
        tracing::warn!(node = name, %error, "node sync failed; will retry");
        let (stage, reason) = match plan {
            NodePlan::Delete { .. } => ("kube_delete", DELETE_NODE_FAILED),
            _ if is_uninitialized(node) => ("kube_write", ADD_NODE_FAILED),
            _ => ("kube_write", SYNC_NODE_FAILED),
        };
        self.metrics.count_error(stage);
        publish(&self.recorder, node, EventType::Warning, reason, &error.to_string()).await;
    }
}

fn name_of(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or_default()
}
