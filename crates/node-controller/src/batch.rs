//! Observe and plan a batch of nodes: batched cloud lookups (at most 100 IDs or IPs per request), one plan per
//! node, and the source/destination check of the nodes about to be initialized. No Kubernetes IO here.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    net::Ipv4Addr,
    sync::Arc,
};

use futures::{StreamExt as _, stream};
use k8s_openapi::api::core::v1::Node;

use crate::{
    cloud::{EcsInstance, MAX_IDS_PER_CALL, NodeCloud},
    config::PlanConfig,
    error::Result,
    metrics::NodeMetrics,
    plan::{CloudView, Lookup, NodePlan, SourceDestCheck, lookup_for, match_by_private_ip, plan_node},
};

/// Cloud requests of one batch in flight at once.
const CLOUD_CONCURRENCY: usize = 4;

/// A node, what the cloud said about it, and what to do with it.
#[derive(Debug, Clone)]
pub struct PlannedNode {
    /// The node as read.
    pub node: Arc<Node>,
    /// The cloud's answer (kept to plan again when the node changes under a write).
    pub view: CloudView,
    /// What to do.
    pub plan: NodePlan,
}

impl PlannedNode {
    /// The node's name.
    pub fn name(&self) -> &str {
        self.node.metadata.name.as_deref().unwrap_or_default()
    }
}

/// Looks every node up in the cloud with as few requests as possible, and plans each.
pub async fn plan_batch<C: NodeCloud>(
    cloud: &C,
    nodes: Vec<Arc<Node>>,
    config: &PlanConfig,
    metrics: &NodeMetrics,
) -> Vec<PlannedNode> {
    let lookups: Vec<Lookup> = nodes.iter().map(|n| lookup_for(n, config)).collect();
    let mut views = vec![CloudView::NotAsked; nodes.len()];
    look_up_by_id(cloud, &lookups, &mut views, metrics).await;
    look_up_by_ip(cloud, &nodes, &lookups, &mut views, config, metrics).await;
    let mut planned: Vec<PlannedNode> = nodes
        .into_iter()
        .zip(views)
        .map(|(node, view)| {
            let plan = plan_node(&node, &view, config);
            PlannedNode { node, view, plan }
        })
        .collect();
    disable_source_dest_checks(cloud, &mut planned, config, metrics).await;
    planned
}

/// Splits a list into request-sized chunks.
fn chunks<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    items.chunks(MAX_IDS_PER_CALL).map(<[T]>::to_vec).collect()
}

async fn look_up_by_id<C: NodeCloud>(cloud: &C, lookups: &[Lookup], views: &mut [CloudView], metrics: &NodeMetrics) {
    let mut by_region: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for lookup in lookups {
        if let Lookup::ById(id) = lookup {
            by_region.entry(id.region()).or_default().insert(id.instance_id());
        }
    }
    let requests: Vec<(String, Vec<String>)> = by_region
        .iter()
        .flat_map(|(region, ids)| {
            let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
            chunks(&ids).into_iter().map(move |chunk| ((*region).to_owned(), chunk))
        })
        .collect();
    metrics.count_calls("describe_instances_by_ids", requests.len());
    let answers: Vec<(String, Vec<String>, Result<Vec<EcsInstance>>)> = stream::iter(requests)
        .map(|(region, ids)| async move {
            let answer = cloud.instances_by_ids(&region, &ids).await;
            (region, ids, answer)
        })
        .buffer_unordered(CLOUD_CONCURRENCY)
        .collect()
        .await;
    let mut result: HashMap<(String, String), CloudView> = HashMap::new();
    for (region, ids, answer) in answers {
        record_id_answer(region, ids, answer, &mut result, metrics);
    }
    for (lookup, view) in lookups.iter().zip(views.iter_mut()) {
        if let Lookup::ById(id) = lookup
            && let Some(found) = result.get(&(id.region().to_owned(), id.instance_id().to_owned()))
        {
            *view = found.clone();
        }
    }
}

fn record_id_answer(
    region: String,
    ids: Vec<String>,
    answer: Result<Vec<EcsInstance>>,
    result: &mut HashMap<(String, String), CloudView>,
    metrics: &NodeMetrics,
) {
    match answer {
        Ok(instances) => {
            let mut by_id: HashMap<String, EcsInstance> =
                instances.into_iter().map(|i| (i.instance_id.clone(), i)).collect();
            for id in ids {
                let view = by_id.remove(&id).map_or(CloudView::Absent, CloudView::found);
                result.insert((region.clone(), id), view);
            }
        }
        Err(error) => {
            metrics.count_error("cloud");
            tracing::warn!(region, %error, instances = ids.len(), "looking instances up by ID failed");
            let error = error.to_string();
            for id in ids {
                result.insert((region.clone(), id), CloudView::Failed { error: error.clone() });
            }
        }
    }
}

async fn look_up_by_ip<C: NodeCloud>(
    cloud: &C,
    nodes: &[Arc<Node>],
    lookups: &[Lookup],
    views: &mut [CloudView],
    config: &PlanConfig,
    metrics: &NodeMetrics,
) {
    let Some(vpc) = config.vpc_id.as_deref() else { return };
    let wanted: Vec<(usize, Vec<Ipv4Addr>)> = lookups
        .iter()
        .enumerate()
        .filter_map(|(index, lookup)| match lookup {
            Lookup::ByPrivateIps(ips) => Some((index, ips.clone())),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return;
    }
    let all_ips: Vec<Ipv4Addr> =
        wanted.iter().flat_map(|(_, ips)| ips.iter().copied()).collect::<BTreeSet<_>>().into_iter().collect();
    let requests = chunks(&all_ips);
    metrics.count_calls("describe_instances_by_ips", requests.len());
    let answers: Vec<(Vec<Ipv4Addr>, Result<Vec<EcsInstance>>)> = stream::iter(requests)
        .map(|ips| async move {
            let answer = cloud.instances_by_private_ips(&config.region, vpc, &ips).await;
            (ips, answer)
        })
        .buffer_unordered(CLOUD_CONCURRENCY)
        .collect()
        .await;
    let mut instances: Vec<EcsInstance> = Vec::new();
    let mut failed: HashMap<Ipv4Addr, String> = HashMap::new();
    for (ips, answer) in answers {
        match answer {
            Ok(found) => instances.extend(found),
            Err(error) => {
                metrics.count_error("cloud");
                tracing::warn!(%error, ips = ips.len(), "looking instances up by private IP failed");
                failed.extend(ips.into_iter().map(|ip| (ip, error.to_string())));
            }
        }
    }
    let name = |index: usize| nodes[index].metadata.name.clone().unwrap_or_default();
    let (unsure, sure): (Vec<_>, Vec<_>) =
        wanted.into_iter().partition(|(_, ips)| ips.iter().any(|ip| failed.contains_key(ip)));
    for (index, ips) in unsure {
        let error = ips.iter().find_map(|ip| failed.get(ip)).cloned().unwrap_or_default();
        views[index] = CloudView::Failed { error };
    }
    let by_name: Vec<(String, Vec<Ipv4Addr>)> = sure.iter().map(|(index, ips)| (name(*index), ips.clone())).collect();
    let mut matched = match_by_private_ip(&by_name, &instances, vpc);
    for (index, _) in sure {
        if let Some(view) = matched.remove(&name(index)) {
            views[index] = view;
        }
    }
}

/// The ENI a plan waits on, with its region.
fn pending_eni(planned: &PlannedNode, config: &PlanConfig) -> Option<(String, String)> {
    let NodePlan::Update(update) = &planned.plan else { return None };
    let eni = update.source_dest_check_eni.clone()?;
    let CloudView::Found { instance, .. } = &planned.view else { return None };
    let region = if instance.region_id.is_empty() { config.region.clone() } else { instance.region_id.clone() };
    Some((region, eni))
}

/// Turns the source/destination check off for every node about to be initialized (one describe per 100 ENIs,
/// one modification per ENI that has it on), then plans those nodes again with the result.
async fn disable_source_dest_checks<C: NodeCloud>(
    cloud: &C,
    planned: &mut [PlannedNode],
    config: &PlanConfig,
    metrics: &NodeMetrics,
) {
    let mut by_region: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (region, eni) in planned.iter().filter_map(|p| pending_eni(p, config)) {
        by_region.entry(region).or_default().push(eni);
    }
    let mut results: HashMap<String, SourceDestCheck> = HashMap::new();
    for (region, enis) in &by_region {
        for chunk in chunks(enis) {
            results.extend(source_dest_chunk(cloud, region, chunk, metrics).await);
        }
    }
    for p in planned.iter_mut() {
        let Some((_, eni)) = pending_eni(p, config) else { continue };
        let CloudView::Found { source_dest_check, .. } = &mut p.view else { continue };
        *source_dest_check = results.remove(&eni).unwrap_or_default();
        p.plan = plan_node(&p.node, &p.view, config);
    }
}

async fn source_dest_chunk<C: NodeCloud>(
    cloud: &C,
    region: &str,
    enis: Vec<String>,
    metrics: &NodeMetrics,
) -> Vec<(String, SourceDestCheck)> {
    metrics.count_calls("describe_network_interfaces", 1);
    let enabled = match cloud.source_dest_check_enabled(region, &enis).await {
        Ok(enabled) => enabled,
        Err(error) => {
            metrics.count_error("cloud");
            let failure = SourceDestCheck::Failed(error.to_string());
            return enis.into_iter().map(|eni| (eni, failure.clone())).collect();
        }
    };
    metrics.count_calls("disable_source_dest_check", enabled.len());
    let modified: Vec<(String, SourceDestCheck)> = stream::iter(enabled)
        .map(|eni| async move {
            let result = match cloud.disable_source_dest_check(region, &eni).await {
                Ok(()) => SourceDestCheck::Disabled,
                Err(error) => {
                    metrics.count_error("cloud");
                    SourceDestCheck::Failed(error.to_string())
                }
            };
            (eni, result)
        })
        .buffer_unordered(CLOUD_CONCURRENCY)
        .collect()
        .await;
    let mut results: HashMap<String, SourceDestCheck> = modified.into_iter().collect();
    enis.into_iter().map(|eni| (eni.clone(), results.remove(&eni).unwrap_or(SourceDestCheck::Disabled))).collect()
}

#[cfg(test)]
mod tests;
