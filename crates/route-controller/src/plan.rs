//! The plan: a pure function from nodes, observed routes and cluster CIDRs to route creates and deletes.
//!
//! Rules, for every managed route table:
//! * every pod CIDR of every ECS node gets one route through the node's instance;
//! * a route is deleted only if its next hop is one instance, its destination lies inside a cluster CIDR, and its
//!   instance is not one the controller must leave alone (excluded nodes); and then only if it is not wanted: it
//!   points to an instance of no current node, to a current node but for a CIDR that is not (or no longer) the
//!   node's, or it holds a node's destination (or a part of it) through another instance;
//! * routes outside the cluster CIDRs, default routes and routes whose next hop is not an instance are never
//!   touched; when one of them holds a node's destination, the node is reported blocked instead.
//!
//! No IO, no clock: the same input always gives the same plan, in a stable order.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
};

use ipnet::IpNet;

use crate::cloud::{CloudRoute, NextHop, RouteKey, RouteStatus};

/// An ECS node, as far as routes are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteNode {
    /// Node name.
    pub name: String,
    /// The node's ECS instance (from its provider ID).
    pub instance_id: String,
    /// The node's pod CIDRs (`spec.podCIDRs`, IPv4 and IPv6); empty when none is assigned yet.
    pub pod_cidrs: Vec<IpNet>,
}

/// A managed route table and the custom routes observed in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTable {
    /// Route table ID.
    pub id: String,
    /// Its custom routes, every next hop kind.
    pub routes: Vec<CloudRoute>,
}

/// Everything the plan is computed from.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// ECS nodes (hybrid, virtual and excluded nodes are not in here).
    pub nodes: &'a [RouteNode],
    /// Instances whose routes are never deleted: excluded nodes, nodes whose pod CIDRs could not be read.
    pub untouchable_instances: &'a BTreeSet<String>,
    /// The managed route tables with their routes.
    pub tables: &'a [ObservedTable],
    /// The cluster CIDRs (`--cluster-cidr`): only routes inside them may be deleted.
    pub cluster_cidrs: &'a [IpNet],
}

/// A route to create for a node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteCreate {
    /// The route.
    pub route: RouteKey,
    /// The node it serves.
    pub node: String,
}

/// Why a route is deleted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeleteReason {
    /// It points to an instance of no current node (also nodes deleted while the controller was down).
    UnknownInstance,
    /// It points to a current node, for a CIDR that is not one of the node's pod CIDRs.
    StaleCidr {
        /// The node.
        node: String,
    },
    /// It holds a node's pod CIDR through another instance.
    SameDestination {
        /// The node whose CIDR it holds.
        node: String,
    },
    /// It lies strictly inside a node's pod CIDR, through another instance.
    InsideNodeCidr {
        /// The node.
        node: String,
        /// The node's pod CIDR.
        pod_cidr: IpNet,
    },
}

impl DeleteReason {
    /// The node concerned, if any (where events go).
    pub fn node(&self) -> Option<&str> {
        match self {
            DeleteReason::UnknownInstance => None,
            DeleteReason::StaleCidr { node }
            | DeleteReason::SameDestination { node }
            | DeleteReason::InsideNodeCidr { node, .. } => Some(node),
        }
    }

    /// A short, stable label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            DeleteReason::UnknownInstance => "unknown_instance",
            DeleteReason::StaleCidr { .. } => "stale_cidr",
            DeleteReason::SameDestination { .. } => "same_destination",
            DeleteReason::InsideNodeCidr { .. } => "inside_node_cidr",
        }
    }
}

impl fmt::Display for DeleteReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeleteReason::UnknownInstance => f.write_str("instance of no current node"),
            DeleteReason::StaleCidr { node } => write!(f, "not a pod CIDR of node {node}"),
            DeleteReason::SameDestination { node } => write!(f, "holds the pod CIDR of node {node}"),
            DeleteReason::InsideNodeCidr { node, pod_cidr } => {
                write!(f, "inside pod CIDR {pod_cidr} of node {node}")
            }
        }
    }
}

/// A route to delete.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteDelete {
    /// The route.
    pub route: RouteKey,
    /// Its route entry ID, when the cloud gave one.
    pub entry_id: String,
    /// Why.
    pub reason: DeleteReason,
}

/// Why a route that is in the way is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HoldReason {
    /// Its next hop is not an ECS instance.
    ForeignNextHop,
    /// It is a default route (`0.0.0.0/0`, `::/0`).
    DefaultRoute,
    /// Its destination is not inside the cluster CIDRs.
    OutsideClusterCidr,
    /// Its instance belongs to a node the controller leaves alone.
    UntouchableInstance,
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HoldReason::ForeignNextHop => "its next hop is not an ECS instance",
            HoldReason::DefaultRoute => "it is a default route",
            HoldReason::OutsideClusterCidr => "it lies outside --cluster-cidr",
            HoldReason::UntouchableInstance => "its instance belongs to a node excluded from the CCM",
        })
    }
}

/// Something the plan cannot fix and the operator should know.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlanWarning {
    /// A route the controller must not touch holds the node's destination: the node's route cannot be created.
    DestinationHeld {
        /// The node.
        node: String,
        /// The table.
        table_id: String,
        /// The destination (the node's pod CIDR).
        destination: IpNet,
        /// The route's next hop.
        holder: NextHop,
        /// Why it is left alone.
        reason: HoldReason,
    },
    /// Two nodes claim the same pod CIDR; only `owner` gets the route.
    DuplicatePodCidr {
        /// The node left without a route.
        node: String,
        /// The CIDR.
        pod_cidr: IpNet,
        /// The node that gets it.
        owner: String,
    },
    /// The node's pod CIDR is outside `--cluster-cidr`: its route is created but will never be cleaned up.
    PodCidrOutsideClusterCidr {
        /// The node.
        node: String,
        /// The CIDR.
        pod_cidr: IpNet,
    },
    /// A route the controller must not touch covers part of the node's pod CIDR through another next hop.
    ForeignRouteInsidePodCidr {
        /// The node.
        node: String,
        /// The node's pod CIDR.
        pod_cidr: IpNet,
        /// The table.
        table_id: String,
        /// The other route's destination.
        destination: IpNet,
        /// The other route's next hop.
        holder: NextHop,
    },
}

impl PlanWarning {
    /// The node concerned.
    pub fn node(&self) -> &str {
        match self {
            PlanWarning::DestinationHeld { node, .. }
            | PlanWarning::DuplicatePodCidr { node, .. }
            | PlanWarning::PodCidrOutsideClusterCidr { node, .. }
            | PlanWarning::ForeignRouteInsidePodCidr { node, .. } => node,
        }
    }

    /// Whether it keeps the node from getting all its routes.
    pub fn blocks_node(&self) -> bool {
        matches!(self, PlanWarning::DestinationHeld { .. } | PlanWarning::DuplicatePodCidr { .. })
    }
}

impl fmt::Display for PlanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanWarning::DestinationHeld { node, table_id, destination, holder, reason } => write!(
                f,
                "node {node}: {destination} in {table_id} is already routed through {holder}, which is left alone \
                 because {reason}"
            ),
            PlanWarning::DuplicatePodCidr { node, pod_cidr, owner } => {
                write!(f, "node {node}: pod CIDR {pod_cidr} is also claimed by node {owner}, which gets the route")
            }
            PlanWarning::PodCidrOutsideClusterCidr { node, pod_cidr } => write!(
                f,
                "node {node}: pod CIDR {pod_cidr} is outside --cluster-cidr; its route is created but never cleaned up"
            ),
            PlanWarning::ForeignRouteInsidePodCidr { node, pod_cidr, table_id, destination, holder } => write!(
                f,
                "node {node}: {destination} in {table_id}, inside its pod CIDR {pod_cidr}, is routed through \
                 {holder} and left alone"
            ),
        }
    }
}

/// The routes one node needs, and whether the plan already knows some cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRouteState {
    /// Node name.
    pub node: String,
    /// Every route the node needs (each pod CIDR in each managed table).
    pub wanted: Vec<RouteKey>,
    /// Whether a [`PlanWarning`] keeps some of them from being created.
    pub blocked: bool,
}

/// What to do: deletes (run first), creates, and per node what decides its `NetworkUnavailable` condition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutePlan {
    /// Routes to create, by table and destination.
    pub creates: Vec<RouteCreate>,
    /// Routes to delete, by table and destination.
    pub deletes: Vec<RouteDelete>,
    /// Every node with pod CIDRs: its wanted routes; its condition follows from them once the plan is applied.
    pub nodes: Vec<NodeRouteState>,
    /// What the operator should know.
    pub warnings: Vec<PlanWarning>,
    /// Tables whose listing showed no entry in progress: the first write needs no look at them first.
    pub settled_tables: BTreeSet<String>,
}

impl RoutePlan {
    /// Computes the plan.
    pub fn compute(input: &PlanInput<'_>) -> Self {
        let cluster: Vec<IpNet> = input.cluster_cidrs.iter().map(IpNet::trunc).collect();
        let mut tables: Vec<&ObservedTable> = input.tables.iter().collect();
        tables.sort_by(|a, b| a.id.cmp(&b.id));
        let mut plan = RoutePlan::default();
        let owners = assign_pod_cidrs(input.nodes, &tables, &mut plan.warnings);
        warn_outside_cluster(&owners, &cluster, &mut plan.warnings);
        let rules = Rules { cluster: &cluster, untouchable: input.untouchable_instances, nodes: input.nodes };
        for table in &tables {
            rules.plan_table(table, &owners, &mut plan);
        }
        plan.nodes = node_states(input.nodes, &owners, &tables, &plan.warnings);
        plan.settled_tables = tables
            .iter()
            .filter(|t| t.routes.iter().all(|r| r.status != RouteStatus::InProgress))
            .map(|t| t.id.clone())
            .collect();
        plan.creates.sort();
        plan.deletes.sort();
        plan.warnings.sort();
        plan.warnings.dedup();
        plan
    }

    /// Whether the plan writes nothing.
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty() && self.deletes.is_empty()
    }

    /// The state of node `name`, if it has pod CIDRs.
    pub fn node(&self, name: &str) -> Option<&NodeRouteState> {
        self.nodes.iter().find(|n| n.node == name)
    }
}

impl fmt::Display for RoutePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "route plan: {} to delete, {} to create, {} warning(s), {} node(s)",
            self.deletes.len(),
            self.creates.len(),
            self.warnings.len(),
            self.nodes.len()
        )?;
        for d in &self.deletes {
            writeln!(f, "  delete {}  ({})", d.route, d.reason)?;
        }
        for c in &self.creates {
            writeln!(f, "  create {}  (node {})", c.route, c.node)?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}

/// Which node owns each pod CIDR. Nodes claiming the same CIDR: the one already routed wins, else the first by name.
fn assign_pod_cidrs<'n>(
    nodes: &'n [RouteNode],
    tables: &[&ObservedTable],
    warnings: &mut Vec<PlanWarning>,
) -> BTreeMap<IpNet, &'n RouteNode> {
    let mut claims: BTreeMap<IpNet, Vec<&RouteNode>> = BTreeMap::new();
    let mut sorted: Vec<&RouteNode> = nodes.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for node in sorted {
        let cidrs: BTreeSet<IpNet> = node.pod_cidrs.iter().map(IpNet::trunc).collect();
        for cidr in cidrs {
            claims.entry(cidr).or_default().push(node);
        }
    }
    let mut owners = BTreeMap::new();
    for (cidr, claimants) in claims {
        let owner = routed_claimant(cidr, &claimants, tables).unwrap_or(claimants[0]);
        for other in claimants.iter().filter(|n| n.name != owner.name) {
            warnings.push(PlanWarning::DuplicatePodCidr {
                node: other.name.clone(),
                pod_cidr: cidr,
                owner: owner.name.clone(),
            });
        }
        owners.insert(cidr, owner);
    }
    owners
}

/// The claimant whose instance already holds `cidr` in the first table where one does.
fn routed_claimant<'n>(cidr: IpNet, claimants: &[&'n RouteNode], tables: &[&ObservedTable]) -> Option<&'n RouteNode> {
    if claimants.len() < 2 {
        return None;
    }
    tables.iter().flat_map(|t| t.routes.iter()).filter(|r| r.destination.trunc() == cidr).find_map(|r| {
        let instance = r.next_hop_instance()?;
        claimants.iter().copied().find(|n| n.instance_id == instance)
    })
}

fn warn_outside_cluster(owners: &BTreeMap<IpNet, &RouteNode>, cluster: &[IpNet], warnings: &mut Vec<PlanWarning>) {
    for (cidr, node) in owners {
        if !inside_any(cidr, cluster) {
            warnings.push(PlanWarning::PodCidrOutsideClusterCidr { node: node.name.clone(), pod_cidr: *cidr });
        }
    }
}

fn inside_any(destination: &IpNet, cluster: &[IpNet]) -> bool {
    cluster.iter().any(|c| c.contains(destination))
}

/// The rules that decide whether a route may be deleted and why.
struct Rules<'a> {
    cluster: &'a [IpNet],
    untouchable: &'a BTreeSet<String>,
    nodes: &'a [RouteNode],
}

impl Rules<'_> {
    /// The route's instance, if the controller may delete the route; else why not.
    fn deletable<'r>(&self, route: &'r CloudRoute) -> Result<&'r str, HoldReason> {
        let instance = route.next_hop_instance().ok_or(HoldReason::ForeignNextHop)?;
        if route.destination.prefix_len() == 0 {
            return Err(HoldReason::DefaultRoute);
        }
        if !inside_any(&route.destination.trunc(), self.cluster) {
            return Err(HoldReason::OutsideClusterCidr);
        }
        if self.untouchable.contains(instance) {
            return Err(HoldReason::UntouchableInstance);
        }
        Ok(instance)
    }

    fn plan_table(&self, table: &ObservedTable, owners: &BTreeMap<IpNet, &RouteNode>, plan: &mut RoutePlan) {
        let mut deleted: BTreeSet<usize> = BTreeSet::new();
        for (cidr, owner) in owners {
            self.plan_destination(table, *cidr, owner, &mut deleted, plan);
        }
        for (index, route) in table.routes.iter().enumerate() {
            if deleted.contains(&index) || is_wanted(route, owners) {
                continue;
            }
            match self.deletable(route) {
                Ok(instance) => {
                    let reason = self.delete_reason(route, instance, owners);
                    plan.deletes.push(delete_of(&table.id, route, instance, reason));
                }
                Err(_) => warn_foreign_inside(table, route, owners, &mut plan.warnings),
            }
        }
    }

    /// Plans `cidr` of `owner` in one table: keep, create, or delete what holds it and create.
    fn plan_destination(
        &self,
        table: &ObservedTable,
        cidr: IpNet,
        owner: &RouteNode,
        deleted: &mut BTreeSet<usize>,
        plan: &mut RoutePlan,
    ) {
        let holders: Vec<(usize, &CloudRoute)> =
            table.routes.iter().enumerate().filter(|(_, r)| r.destination.trunc() == cidr).collect();
        if holders.iter().any(|(_, r)| r.next_hop_instance() == Some(owner.instance_id.as_str())) {
            return;
        }
        let mut blocked = false;
        for (index, route) in holders {
            match self.deletable(route) {
                Ok(instance) => {
                    let reason = DeleteReason::SameDestination { node: owner.name.clone() };
                    plan.deletes.push(delete_of(&table.id, route, instance, reason));
                    deleted.insert(index);
                }
                Err(reason) => {
                    blocked = true;
                    plan.warnings.push(PlanWarning::DestinationHeld {
                        node: owner.name.clone(),
                        table_id: table.id.clone(),
                        destination: cidr,
                        holder: route.next_hop.clone(),
                        reason,
                    });
                }
            }
        }
        if !blocked {
            let route = RouteKey::new(&table.id, cidr, &owner.instance_id);
            plan.creates.push(RouteCreate { route, node: owner.name.clone() });
        }
    }

    fn delete_reason(&self, route: &CloudRoute, instance: &str, owners: &BTreeMap<IpNet, &RouteNode>) -> DeleteReason {
        let destination = route.destination.trunc();
        let enclosing = owners.iter().find(|(cidr, owner)| {
            owner.instance_id != instance && **cidr != destination && cidr.contains(&destination)
        });
        if let Some((cidr, owner)) = enclosing {
            return DeleteReason::InsideNodeCidr { node: owner.name.clone(), pod_cidr: *cidr };
        }
        match self.nodes.iter().find(|n| n.instance_id == instance) {
            Some(node) => DeleteReason::StaleCidr { node: node.name.clone() },
            None => DeleteReason::UnknownInstance,
        }
    }
}

/// Whether the route is the one a node wants: its destination is a pod CIDR and it points to the owner.
fn is_wanted(route: &CloudRoute, owners: &BTreeMap<IpNet, &RouteNode>) -> bool {
    owners
        .get(&route.destination.trunc())
        .is_some_and(|owner| route.next_hop_instance() == Some(owner.instance_id.as_str()))
}

fn delete_of(table_id: &str, route: &CloudRoute, instance: &str, reason: DeleteReason) -> RouteDelete {
    RouteDelete {
        route: RouteKey::new(table_id, route.destination, instance),
        entry_id: route.entry_id.clone(),
        reason,
    }
}

/// A route that may not be touched but covers part of a node's pod CIDR deserves a warning.
fn warn_foreign_inside(
    table: &ObservedTable,
    route: &CloudRoute,
    owners: &BTreeMap<IpNet, &RouteNode>,
    warnings: &mut Vec<PlanWarning>,
) {
    let destination = route.destination.trunc();
    if destination.prefix_len() == 0 {
        return;
    }
    let enclosing = owners.iter().find(|(cidr, owner)| {
        **cidr != destination
            && cidr.contains(&destination)
            && route.next_hop_instance() != Some(owner.instance_id.as_str())
    });
    if let Some((cidr, owner)) = enclosing {
        warnings.push(PlanWarning::ForeignRouteInsidePodCidr {
            node: owner.name.clone(),
            pod_cidr: *cidr,
            table_id: table.id.clone(),
            destination,
            holder: route.next_hop.clone(),
        });
    }
}

fn node_states(
    nodes: &[RouteNode],
    owners: &BTreeMap<IpNet, &RouteNode>,
    tables: &[&ObservedTable],
    warnings: &[PlanWarning],
) -> Vec<NodeRouteState> {
    let mut states: Vec<NodeRouteState> = nodes
        .iter()
        .filter(|n| !n.pod_cidrs.is_empty())
        .map(|node| {
            let wanted = owners
                .iter()
                .filter(|(_, owner)| owner.name == node.name)
                .flat_map(|(cidr, _)| tables.iter().map(|t| RouteKey::new(&t.id, *cidr, &node.instance_id)))
                .collect();
            let blocked = warnings.iter().any(|w| w.blocks_node() && w.node() == node.name);
            NodeRouteState { node: node.name.clone(), wanted, blocked }
        })
        .collect();
    states.sort_by(|a, b| a.node.cmp(&b.node));
    states
}

#[cfg(test)]
mod tests;
