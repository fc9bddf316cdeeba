//! One reconcile pass on the cloud side: observe (nodes, managed tables, their routes), plan, apply. No
//! Kubernetes IO, so a `plan` (dry-run) command can use it as well as the controller.
//!
//! Cloud calls per pass, frugally: with `routeTableIDs` configured, one route listing per table. Otherwise the
//! VPC's route tables and vSwitches are listed once per reconciliation period (or sooner when a node shows up
//! that they cannot place), nodes are placed in vSwitches by their internal IPs, and only nodes that match no
//! vSwitch CIDR are looked up with `DescribeInstances` (cached per instance). Writes happen only for a
//! non-empty plan.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use k8s_openapi::api::core::v1::Node;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::{
    apply::{ApplyReport, RouteExecutor},
    cloud::RouteCloud,
    config::RouteControllerConfig,
    error::{Error, Result},
    nodes::ClusterNodes,
    plan::{ObservedTable, PlanInput, RoutePlan},
    tables::{self, TableSelection, TableSource, Topology},
};

/// What a pass saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The nodes, sorted out.
    pub nodes: ClusterNodes,
    /// The managed tables and how they were chosen.
    pub selection: TableSelection,
    /// The routes of each managed table.
    pub tables: Vec<ObservedTable>,
}

/// Observes, plans and applies; keeps the cloud topology and instance placements between passes.
#[derive(Debug)]
pub struct RouteReconciler<C> {
    cloud: Arc<C>,
    config: RouteControllerConfig,
    executor: RouteExecutor<C>,
    topology: Option<(Topology, Instant)>,
    /// vSwitch of instances looked up with `DescribeInstances`; `None`: the cloud did not know the instance.
    looked_up: BTreeMap<String, Option<String>>,
}

impl<C: RouteCloud> RouteReconciler<C> {
    /// A reconciler for `config`, calling through `cloud`.
    pub fn new(cloud: Arc<C>, config: RouteControllerConfig) -> Self {
        let executor = RouteExecutor::new(Arc::clone(&cloud), config.apply.clone());
        Self { cloud, config, executor, topology: None, looked_up: BTreeMap::new() }
    }

    /// Observes the cloud and computes the plan for `nodes`. `full` refreshes every cache (periodic passes).
    pub async fn plan(&mut self, nodes: &[Arc<Node>], full: bool) -> Result<(RoutePlan, Observation)> {
        let nodes = ClusterNodes::collect(nodes, &self.config.region);
        for (node, why) in &nodes.skipped {
            debug!(node, reason = %why, "node gets no routes");
        }
        let selection = self.select_tables(&nodes, full).await?;
        let tables = self.observe_tables(&selection.table_ids).await?;
        let plan = RoutePlan::compute(&PlanInput {
            nodes: &nodes.nodes,
            untouchable_instances: &nodes.untouchable,
            tables: &tables,
            cluster_cidrs: &self.config.cluster_cidrs,
        });
        Ok((plan, Observation { nodes, selection, tables }))
    }

    /// Applies `plan`.
    pub async fn apply(&self, plan: &RoutePlan) -> ApplyReport {
        self.executor.apply(plan).await
    }

    async fn select_tables(&mut self, nodes: &ClusterNodes, full: bool) -> Result<TableSelection> {
        if !self.config.route_table_ids.is_empty() {
            return Ok(tables::configured(&self.config.route_table_ids));
        }
        if full {
            self.topology = None;
            self.looked_up.retain(|_, v| v.is_some());
        }
        let mut located = self.locate(nodes).await?;
        let unlocated = nodes.internal_ips.keys().any(|i| !located.contains_key(i));
        if unlocated && !self.topology_is_fresh() {
            // A node the cached topology cannot place (a new vSwitch?): look again before asking per instance.
            self.topology = None;
            located = self.locate(nodes).await?;
        }
        self.look_up_instances(nodes, &mut located).await;
        let topology = self.topology().await?;
        let selection =
            topology.select(&located).ok_or_else(|| Error::NoRouteTable { vpc_id: self.config.vpc_id.clone() })?;
        if selection.source == TableSource::SystemTable && !nodes.nodes.is_empty() {
            warn!("no node could be placed in a vSwitch; managing the VPC's system route table");
        }
        Ok(selection)
    }

    fn topology_is_fresh(&self) -> bool {
        self.topology.as_ref().is_some_and(|(_, at)| at.elapsed() < std::time::Duration::from_secs(10))
    }

    async fn topology(&mut self) -> Result<&Topology> {
        let stale = self.topology.as_ref().is_none_or(|(_, at)| at.elapsed() >= self.config.reconciliation_period);
        if stale {
            let vpc = &self.config.vpc_id;
            let (tables, vswitches) = futures::join!(self.cloud.route_tables(vpc), self.cloud.vswitches(vpc));
            let topology = Topology { tables: tables?, vswitches: vswitches? };
            debug!(tables = topology.tables.len(), vswitches = topology.vswitches.len(), "listed the VPC topology");
            self.topology = Some((topology, Instant::now()));
        }
        match &self.topology {
            Some((topology, _)) => Ok(topology),
            None => Err(Error::NoRouteTable { vpc_id: self.config.vpc_id.clone() }),
        }
    }

    /// Places instances in vSwitches: by internal IP, then from earlier `DescribeInstances` answers.
    async fn locate(&mut self, nodes: &ClusterNodes) -> Result<BTreeMap<String, String>> {
        let mut located = self.topology().await?.locate_by_ip(&nodes.internal_ips);
        for instance in nodes.internal_ips.keys() {
            if let Some(Some(vswitch)) = self.looked_up.get(instance) {
                located.entry(instance.clone()).or_insert_with(|| vswitch.clone());
            }
        }
        Ok(located)
    }

    /// Asks the cloud for the vSwitch of instances still unplaced (each at most once between periodic passes).
    async fn look_up_instances(&mut self, nodes: &ClusterNodes, located: &mut BTreeMap<String, String>) {
        let present: BTreeSet<&String> = nodes.internal_ips.keys().collect();
        self.looked_up.retain(|instance, _| present.contains(instance));
        let missing: Vec<String> = nodes
            .internal_ips
            .keys()
            .filter(|i| !located.contains_key(*i) && !self.looked_up.contains_key(*i))
            .cloned()
            .collect();
        if missing.is_empty() {
            return;
        }
        match self.cloud.instance_vswitches(&missing).await {
            Ok(found) => {
                for instance in missing {
                    let vswitch = found.get(&instance).cloned();
                    if let Some(v) = &vswitch {
                        located.insert(instance.clone(), v.clone());
                    }
                    self.looked_up.insert(instance, vswitch);
                }
            }
            Err(error) => warn!(%error, instances = missing.len(), "cannot look up the vSwitch of instances"),
        }
    }

    async fn observe_tables(&self, table_ids: &[String]) -> Result<Vec<ObservedTable>> {
        let listings = futures::future::join_all(table_ids.iter().map(|id| self.cloud.routes(id))).await;
        let mut tables = Vec::with_capacity(table_ids.len());
        for (id, routes) in table_ids.iter().zip(listings) {
            tables.push(ObservedTable { id: id.clone(), routes: routes? });
        }
        debug!(tables = ?table_ids, "observed managed route tables");
        Ok(tables)
    }
}

#[cfg(test)]
mod tests;
