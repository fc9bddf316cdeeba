//! The pure core: from a node, what the cloud said about it, and the configuration, what to do with the node.
//!
//! No IO and no clock here. [`lookup_for`] says what a node needs from the cloud, [`match_by_private_ip`] turns
//! the answer of a batched IP lookup into one [`CloudView`] per node, and [`plan_node`] decides.
//!
//! The rules:
//! * Excluded nodes (exclusion labels, virtual-kubelet, `ack-hybrid://` and other foreign provider IDs, Lingjun
//!   workers) and nodes being deleted are never touched.
//! * A node without a provider ID is only considered while it carries the uninitialized taint: it is looked up
//!   by its private IP in the cluster's VPC, and initialized only when exactly one instance matches.
//! * Initializing sets the provider ID (when empty), the labels and the whole address list, turns the primary
//!   ENI's source/destination check off (when configured), then removes the taint. Anything that cannot be done
//!   leaves the taint, with a Warning saying why.
//! * Initialized nodes get their labels and addresses refreshed.
//! * A node is deleted only when it is not Ready and the cloud answered that its instance does not exist; never on
//!   an error. A node never initialized is only deleted once its kubelet stops reporting (`Ready=Unknown`): while
//!   the kubelet runs, an unknown instance is more likely a wrong provider ID, which deleting would not fix (the
//!   kubelet registers again). A not-Ready node whose instance is `Stopped` gets the shutdown taint; a Ready node
//!   loses it.

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    net::{IpAddr, Ipv4Addr},
};

use ccm_kube::{
    Exclusion, NodeClass, ProviderId, ReadyStatus,
    names::{
        ECS_TAG_NODEPOOL_ID, LABEL_INSTANCE_CHARGE_TYPE, LABEL_INSTANCE_TYPE, LABEL_INSTANCE_TYPE_BETA,
        LABEL_NODEPOOL_ID, LABEL_REGION, LABEL_REGION_BETA, LABEL_SPOT_STRATEGY, LABEL_ZONE, LABEL_ZONE_BETA,
        TAINT_SHUTDOWN, TAINT_UNINITIALIZED,
    },
};
use k8s_openapi::api::core::v1::{Node, NodeAddress};

use crate::{
    addresses::{self, current_addresses, desired_addresses},
    cloud::{EcsInstance, InstanceStatus},
    config::PlanConfig,
    events::{ADD_NODE_FAILED, SYNC_NODE_FAILED},
};

/// Label of Lingjun (EFLO) workers, which are not ECS instances although their provider ID may look like one.
pub const LABEL_LINGJUN_WORKER: &str = "alibabacloud.com/lingjun-worker";

/// What a node needs from the cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Nothing (the plan is decided without the cloud).
    Nothing,
    /// Its instance, by the provider ID.
    ById(ProviderId),
    /// The instance of the cluster's VPC holding one of these private IPs.
    ByPrivateIps(Vec<Ipv4Addr>),
}

/// Where the source/destination check of a node's primary ENI stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SourceDestCheck {
    /// Not looked at yet.
    #[default]
    Unchecked,
    /// Off (it was, or it was just turned off).
    Disabled,
    /// Turning it off failed.
    Failed(String),
}

/// What the cloud said about a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudView {
    /// Not asked ([`Lookup::Nothing`]).
    NotAsked,
    /// The instance.
    Found {
        /// The instance (boxed: the other variants are small).
        instance: Box<EcsInstance>,
        /// Its primary ENI's source/destination check.
        source_dest_check: SourceDestCheck,
    },
    /// The lookup by ID succeeded and the instance is not there: it does not exist.
    Absent,
    /// No instance of the VPC has the node's private IPs.
    NoIpMatch {
        /// The IPs looked up.
        ips: Vec<Ipv4Addr>,
    },
    /// Several instances match the node's private IPs, or the match belongs to several nodes.
    AmbiguousIpMatch {
        /// The IPs looked up.
        ips: Vec<Ipv4Addr>,
        /// The candidates.
        instance_ids: Vec<String>,
    },
    /// The cloud call failed.
    Failed {
        /// Why.
        error: String,
    },
}

impl CloudView {
    /// The view of a found instance whose ENI was not looked at yet.
    pub fn found(instance: EcsInstance) -> Self {
        CloudView::Found { instance: Box::new(instance), source_dest_check: SourceDestCheck::Unchecked }
    }
}

/// Why nothing is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The node is being deleted.
    Deleting,
    /// Not the CCM's node.
    Excluded(Exclusion),
    /// A Lingjun (EFLO) worker.
    LingjunWorker,
    /// No provider ID and no uninitialized taint: a node this controller does not manage (hybrid clusters).
    NotInitializing,
    /// No provider ID and no InternalIP yet to find the instance with; the kubelet will report one.
    AwaitingInternalIp,
    /// The instance is gone but the node is Ready: a Ready node is never deleted.
    ReadyWithoutInstance,
    /// Nothing differs.
    UpToDate,
    /// The cloud was not asked (the caller's choice).
    NotLookedUp,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Deleting => f.write_str("being deleted"),
            SkipReason::Excluded(e) => write!(f, "excluded ({e:?})"),
            SkipReason::LingjunWorker => write!(f, "Lingjun worker ({LABEL_LINGJUN_WORKER}=true)"),
            SkipReason::NotInitializing => f.write_str("no provider ID and no uninitialized taint: not managed"),
            SkipReason::AwaitingInternalIp => f.write_str("no provider ID and no InternalIP yet"),
            SkipReason::ReadyWithoutInstance => f.write_str("instance not found, but the node is Ready: kept"),
            SkipReason::UpToDate => f.write_str("up to date"),
            SkipReason::NotLookedUp => f.write_str("not looked up"),
        }
    }
}

/// A change of the shutdown taint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownTaint {
    /// Add `node.cloudprovider.kubernetes.io/shutdown:NoSchedule`.
    Add,
    /// Remove it.
    Remove,
}

/// A Warning event to publish on the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Event reason ([`ADD_NODE_FAILED`], [`SYNC_NODE_FAILED`]).
    pub reason: &'static str,
    /// Event note.
    pub message: String,
}

/// Changes to a node. Empty fields change nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeUpdate {
    /// `spec.providerID` to set (only ever when it is empty).
    pub provider_id: Option<String>,
    /// Labels to set (only those that differ); other labels are never touched.
    pub labels: BTreeMap<String, String>,
    /// The whole new `status.addresses`, when it differs.
    pub addresses: Option<Vec<NodeAddress>>,
    /// Remove the uninitialized taint (the node is initialized).
    pub remove_uninitialized_taint: bool,
    /// Add or remove the shutdown taint.
    pub shutdown_taint: Option<ShutdownTaint>,
    /// The primary ENI whose source/destination check must be turned off before the taint can go. While set, the
    /// taint stays; the controller turns the check off and plans again.
    pub source_dest_check_eni: Option<String>,
    /// Something could not be done; published as a Warning, and the node is retried later.
    pub warning: Option<Warning>,
}

impl NodeUpdate {
    /// Whether the update writes anything to the node.
    pub fn writes(&self) -> bool {
        self.provider_id.is_some()
            || !self.labels.is_empty()
            || self.addresses.is_some()
            || self.remove_uninitialized_taint
            || self.shutdown_taint.is_some()
    }
}

impl fmt::Display for NodeUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(id) = &self.provider_id {
            parts.push(format!("set providerID {id}"));
        }
        if !self.labels.is_empty() {
            let labels: Vec<String> = self.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            parts.push(format!("set labels {}", labels.join(",")));
        }
        if let Some(list) = &self.addresses {
            let list: Vec<String> = list.iter().map(|a| format!("{}={}", a.type_, a.address)).collect();
            parts.push(format!("set addresses [{}]", list.join(" ")));
        }
        if let Some(eni) = &self.source_dest_check_eni {
            parts.push(format!("turn off source/dest check of {eni}"));
        }
        if self.remove_uninitialized_taint {
            parts.push(format!("remove taint {TAINT_UNINITIALIZED}"));
        }
        match self.shutdown_taint {
            Some(ShutdownTaint::Add) => parts.push(format!("add taint {TAINT_SHUTDOWN}:NoSchedule")),
            Some(ShutdownTaint::Remove) => parts.push(format!("remove taint {TAINT_SHUTDOWN}")),
            None => {}
        }
        if let Some(w) = &self.warning {
            parts.push(format!("warn {}: {}", w.reason, w.message));
        }
        f.write_str(&parts.join("; "))
    }
}

/// What to do with a node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodePlan {
    /// Nothing.
    Skip {
        /// Why.
        reason: SkipReason,
    },
    /// Nothing, but tell the user why on the node; retried later.
    Warn(Warning),
    /// The cloud could not answer: change nothing, retry with backoff.
    Retry {
        /// Why.
        message: String,
    },
    /// Change the node.
    Update(NodeUpdate),
    /// Delete the node: it is not Ready and its instance does not exist.
    Delete {
        /// The instance that is gone.
        instance_id: String,
    },
}

impl fmt::Display for NodePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodePlan::Skip { reason } => write!(f, "skip: {reason}"),
            NodePlan::Warn(w) => write!(f, "warn {}: {}", w.reason, w.message),
            NodePlan::Retry { message } => write!(f, "retry: {message}"),
            NodePlan::Update(update) => write!(f, "update: {update}"),
            NodePlan::Delete { instance_id } => write!(f, "delete: instance {instance_id} does not exist"),
        }
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Which nodes, and what they need from the cloud
// ------------------------------------------------------------------------------------------------------------------

/// The node's class, with this crate's extra exclusion (Lingjun workers).
enum Class {
    Skip(SkipReason),
    NoProviderId,
    Ecs(ProviderId),
}

fn class_of(node: &Node) -> Class {
    if node.metadata.deletion_timestamp.is_some() {
        return Class::Skip(SkipReason::Deleting);
    }
    let lingjun = node.metadata.labels.as_ref().and_then(|l| l.get(LABEL_LINGJUN_WORKER));
    if lingjun.is_some_and(|v| v == "true") {
        return Class::Skip(SkipReason::LingjunWorker);
    }
    match ccm_kube::node::classify(node) {
        NodeClass::Excluded(e) => Class::Skip(SkipReason::Excluded(e)),
        NodeClass::NoProviderId => Class::NoProviderId,
        NodeClass::Ecs(id) => Class::Ecs(id),
    }
}

/// Whether the node carries the uninitialized taint.
pub fn is_uninitialized(node: &Node) -> bool {
    ccm_kube::node::has_taint(node, TAINT_UNINITIALIZED)
}

/// The private IPv4s to find the node's instance by: its InternalIPs and the kubelet's provided node IPs.
pub fn lookup_ips(node: &Node) -> Vec<Ipv4Addr> {
    let provided = addresses::provided_node_ips(node).ok().flatten().unwrap_or_default();
    let mut ips: Vec<Ipv4Addr> = Vec::new();
    for ip in ccm_kube::node::internal_ips(node).into_iter().chain(provided) {
        if let IpAddr::V4(v4) = ip
            && !ips.contains(&v4)
        {
            ips.push(v4);
        }
    }
    ips
}

/// What `node` needs from the cloud.
pub fn lookup_for(node: &Node, config: &PlanConfig) -> Lookup {
    match class_of(node) {
        Class::Skip(_) => Lookup::Nothing,
        Class::Ecs(id) => Lookup::ById(id),
        Class::NoProviderId => {
            let ips = lookup_ips(node);
            if !is_uninitialized(node) || config.vpc_id.is_none() || ips.is_empty() {
                Lookup::Nothing
            } else {
                Lookup::ByPrivateIps(ips)
            }
        }
    }
}

/// Whether the node is a Ready ECS node carrying the shutdown taint (removing it needs no cloud call).
pub fn needs_shutdown_taint_removal(node: &Node) -> bool {
    matches!(class_of(node), Class::Ecs(_))
        && ccm_kube::node::ready_status(node) == ReadyStatus::Ready
        && ccm_kube::node::has_taint(node, TAINT_SHUTDOWN)
}

/// Whether the node is an ECS node that is not Ready (the lifecycle check looks at its instance).
pub fn needs_lifecycle_check(node: &Node) -> bool {
    matches!(class_of(node), Class::Ecs(_)) && ccm_kube::node::ready_status(node) != ReadyStatus::Ready
}

/// Whether the node waits for initialization by this controller.
pub fn is_initializing(node: &Node) -> bool {
    matches!(class_of(node), Class::Ecs(_) | Class::NoProviderId) && is_uninitialized(node)
}

/// Whether the node is one the periodic refresh looks at (initializing nodes and every ECS node).
pub fn is_managed(node: &Node) -> bool {
    matches!(class_of(node), Class::Ecs(_)) || is_initializing(node)
}

/// Distributes the instances a batched IP lookup returned: each node gets [`CloudView::Found`] when exactly one
/// instance of `vpc_id` holds one of its IPs and no other node of the batch claims that instance;
/// [`CloudView::AmbiguousIpMatch`] when several do; [`CloudView::NoIpMatch`] when none does.
pub fn match_by_private_ip(
    wanted: &[(String, Vec<Ipv4Addr>)],
    instances: &[EcsInstance],
    vpc_id: &str,
) -> HashMap<String, CloudView> {
    let in_vpc: Vec<&EcsInstance> = instances.iter().filter(|i| i.vpc_id.is_empty() || i.vpc_id == vpc_id).collect();
    let candidates: Vec<(&String, &Vec<Ipv4Addr>, Vec<&EcsInstance>)> = wanted
        .iter()
        .map(|(node, ips)| {
            let mut matched: Vec<&EcsInstance> =
                in_vpc.iter().copied().filter(|i| ips.iter().any(|ip| i.has_private_ip(IpAddr::V4(*ip)))).collect();
            matched.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
            matched.dedup_by(|a, b| a.instance_id == b.instance_id);
            (node, ips, matched)
        })
        .collect();
    let mut claims: HashMap<&str, usize> = HashMap::new();
    for (_, _, matched) in &candidates {
        for i in matched {
            *claims.entry(i.instance_id.as_str()).or_default() += 1;
        }
    }
    candidates
        .into_iter()
        .map(|(node, ips, matched)| {
            let view = match matched.as_slice() {
                [] => CloudView::NoIpMatch { ips: ips.clone() },
                [one] if claims.get(one.instance_id.as_str()) == Some(&1) => CloudView::found((*one).clone()),
                _ => CloudView::AmbiguousIpMatch {
                    ips: ips.clone(),
                    instance_ids: matched.iter().map(|i| i.instance_id.clone()).collect(),
                },
            };
            (node.clone(), view)
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------------------------
// Planning
// ------------------------------------------------------------------------------------------------------------------

/// Decides what to do with `node`, given what the cloud said about it.
pub fn plan_node(node: &Node, view: &CloudView, config: &PlanConfig) -> NodePlan {
    match class_of(node) {
        Class::Skip(reason) => NodePlan::Skip { reason },
        Class::NoProviderId => plan_without_provider_id(node, view, config),
        Class::Ecs(id) => plan_ecs_node(node, &id, view, config),
    }
}

fn warn(reason: &'static str, message: String) -> NodePlan {
    NodePlan::Warn(Warning { reason, message })
}

fn join_ips(ips: &[Ipv4Addr]) -> String {
    ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn plan_without_provider_id(node: &Node, view: &CloudView, config: &PlanConfig) -> NodePlan {
    if !is_uninitialized(node) {
        return NodePlan::Skip { reason: SkipReason::NotInitializing };
    }
    let vpc = config.vpc_id.as_deref().unwrap_or_default();
    match view {
        CloudView::NotAsked => plan_unaskable(node, config),
        CloudView::Found { instance, source_dest_check } => {
            let region = if instance.region_id.is_empty() { &config.region } else { &instance.region_id };
            let provider_id = ProviderId::new(region.as_str(), instance.instance_id.as_str()).to_string();
            initialize(node, instance, source_dest_check, Some(provider_id), config)
        }
        CloudView::NoIpMatch { ips } => warn(
            ADD_NODE_FAILED,
            format!(
                "spec.providerID is empty and no ECS instance of VPC {vpc} has the private IP {}; the node keeps \
                 its taint until spec.providerID is set to <region-id>.<instance-id>",
                join_ips(ips)
            ),
        ),
        CloudView::AmbiguousIpMatch { ips, instance_ids } => warn(
            ADD_NODE_FAILED,
            format!(
                "spec.providerID is empty and the private IP {} of VPC {vpc} does not name exactly one instance for \
                 exactly one node (candidates: {}); the node keeps its taint until spec.providerID is set",
                join_ips(ips),
                instance_ids.join(", ")
            ),
        ),
        CloudView::Failed { error } => NodePlan::Retry { message: format!("looking the instance up by IP: {error}") },
        CloudView::Absent => NodePlan::Retry { message: "the lookup did not match the node; looking again".into() },
    }
}

/// A node without provider ID that could not be looked up.
fn plan_unaskable(node: &Node, config: &PlanConfig) -> NodePlan {
    if config.vpc_id.is_none() {
        return warn(
            ADD_NODE_FAILED,
            "spec.providerID is empty and no VPC is configured (cloud-config Global.vpcid), so the instance cannot \
             be found by its IP; the node keeps its taint until spec.providerID is set to <region-id>.<instance-id>"
                .to_owned(),
        );
    }
    if ccm_kube::node::internal_ips(node).is_empty() {
        return NodePlan::Skip { reason: SkipReason::AwaitingInternalIp };
    }
    if lookup_ips(node).is_empty() {
        return warn(
            ADD_NODE_FAILED,
            "spec.providerID is empty and the node has no IPv4 InternalIP to find its instance by; the node keeps \
             its taint until spec.providerID is set"
                .to_owned(),
        );
    }
    NodePlan::Skip { reason: SkipReason::NotLookedUp }
}

fn plan_ecs_node(node: &Node, id: &ProviderId, view: &CloudView, config: &PlanConfig) -> NodePlan {
    let readiness = ccm_kube::node::ready_status(node);
    let ready = readiness == ReadyStatus::Ready;
    match view {
        CloudView::Found { instance, .. } if instance.instance_id != id.instance_id() => {
            NodePlan::Retry { message: format!("the node's provider ID {id} changed during the lookup") }
        }
        CloudView::Found { instance, source_dest_check } => {
            let plan = if is_uninitialized(node) {
                initialize(node, instance, source_dest_check, None, config)
            } else {
                finish(refresh(node, instance, config))
            };
            with_shutdown_taint(plan, node, instance)
        }
        CloudView::Absent if ready => lifecycle_only(node, SkipReason::ReadyWithoutInstance),
        CloudView::Absent if is_uninitialized(node) && readiness == ReadyStatus::NotReady => warn(
            ADD_NODE_FAILED,
            format!(
                "instance {} of provider ID {id} does not exist; check spec.providerID. The node keeps its taint, \
                 and is deleted once its kubelet stops reporting",
                id.instance_id()
            ),
        ),
        CloudView::Absent => NodePlan::Delete { instance_id: id.instance_id().to_owned() },
        CloudView::Failed { error } if !needs_shutdown_taint_removal(node) => {
            NodePlan::Retry { message: format!("looking up instance {}: {error}", id.instance_id()) }
        }
        CloudView::NotAsked | CloudView::Failed { .. } => lifecycle_only(node, SkipReason::NotLookedUp),
        CloudView::NoIpMatch { .. } | CloudView::AmbiguousIpMatch { .. } => {
            NodePlan::Retry { message: format!("the node got provider ID {id} during the lookup; looking again") }
        }
    }
}

/// Without an instance to compare with, only the Ready-removes-the-shutdown-taint rule applies.
fn lifecycle_only(node: &Node, otherwise: SkipReason) -> NodePlan {
    if needs_shutdown_taint_removal(node) {
        NodePlan::Update(NodeUpdate { shutdown_taint: Some(ShutdownTaint::Remove), ..NodeUpdate::default() })
    } else {
        NodePlan::Skip { reason: otherwise }
    }
}

/// The shutdown-taint change: a not-Ready node of a stopped instance gets it; a Ready node loses it.
fn shutdown_taint_change(node: &Node, instance: &EcsInstance) -> Option<ShutdownTaint> {
    let tainted = ccm_kube::node::has_taint(node, TAINT_SHUTDOWN);
    match ccm_kube::node::ready_status(node) {
        ReadyStatus::Ready => tainted.then_some(ShutdownTaint::Remove),
        _ => (instance.status == InstanceStatus::Stopped && !tainted).then_some(ShutdownTaint::Add),
    }
}

fn with_shutdown_taint(plan: NodePlan, node: &Node, instance: &EcsInstance) -> NodePlan {
    let Some(change) = shutdown_taint_change(node, instance) else { return plan };
    match plan {
        NodePlan::Update(mut update) => {
            update.shutdown_taint = Some(change);
            NodePlan::Update(update)
        }
        NodePlan::Skip { .. } => NodePlan::Update(NodeUpdate { shutdown_taint: Some(change), ..NodeUpdate::default() }),
        NodePlan::Warn(warning) if !is_uninitialized(node) => {
            NodePlan::Update(NodeUpdate { shutdown_taint: Some(change), warning: Some(warning), ..Default::default() })
        }
        // An uninitialized node is unschedulable anyway; its initialization problem is what matters.
        other => other,
    }
}

/// The labels the instance gives its node.
pub fn desired_labels(instance: &EcsInstance, fallback_region: &str) -> BTreeMap<String, String> {
    let region = if instance.region_id.is_empty() { fallback_region } else { &instance.region_id };
    let pairs = [
        (LABEL_INSTANCE_TYPE, instance.instance_type.as_str()),
        (LABEL_INSTANCE_TYPE_BETA, instance.instance_type.as_str()),
        (LABEL_ZONE, instance.zone_id.as_str()),
        (LABEL_ZONE_BETA, instance.zone_id.as_str()),
        (LABEL_REGION, region),
        (LABEL_REGION_BETA, region),
        (LABEL_INSTANCE_CHARGE_TYPE, instance.charge_type.as_str()),
        (LABEL_SPOT_STRATEGY, instance.spot_strategy.as_str()),
        (LABEL_NODEPOOL_ID, instance.tags.get(ECS_TAG_NODEPOOL_ID).map_or("", String::as_str)),
    ];
    pairs.into_iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn label_changes(node: &Node, desired: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let current = node.metadata.labels.as_ref();
    desired.into_iter().filter(|(k, v)| current.and_then(|c| c.get(k)) != Some(v)).collect()
}

/// The new address list when it differs from the node's (order matters: the first InternalIP is the node IP).
fn address_change(node: &Node, desired: Vec<NodeAddress>) -> Option<Vec<NodeAddress>> {
    (!desired.is_empty() && current_addresses(node) != desired.as_slice()).then_some(desired)
}

/// Where initialization stands on the source/destination check.
enum SourceDestStep {
    Done,
    Pending(String),
    Failed(String, String),
}

fn source_dest_step(config: &PlanConfig, instance: &EcsInstance, check: &SourceDestCheck) -> SourceDestStep {
    let Some(eni) = instance.primary_eni_id.as_ref().filter(|_| config.disable_source_dest_check) else {
        return SourceDestStep::Done;
    };
    match check {
        SourceDestCheck::Disabled => SourceDestStep::Done,
        SourceDestCheck::Unchecked => SourceDestStep::Pending(eni.clone()),
        SourceDestCheck::Failed(error) => SourceDestStep::Failed(eni.clone(), error.clone()),
    }
}

fn initialize(
    node: &Node,
    instance: &EcsInstance,
    check: &SourceDestCheck,
    provider_id: Option<String>,
    config: &PlanConfig,
) -> NodePlan {
    let addresses = match desired_addresses(node, instance, config.ipv6_dual_stack) {
        Ok(list) => list,
        Err(e) => return warn(ADD_NODE_FAILED, format!("{e}; the node keeps its taint")),
    };
    let mut update = NodeUpdate {
        provider_id,
        labels: label_changes(node, desired_labels(instance, &config.region)),
        addresses: address_change(node, addresses),
        ..NodeUpdate::default()
    };
    match source_dest_step(config, instance, check) {
        SourceDestStep::Done => update.remove_uninitialized_taint = true,
        SourceDestStep::Pending(eni) => update.source_dest_check_eni = Some(eni),
        SourceDestStep::Failed(eni, error) => {
            update.warning = Some(Warning {
                reason: ADD_NODE_FAILED,
                message: format!(
                    "could not turn off the source/destination check of network interface {eni}: {error}; the node \
                     keeps its taint"
                ),
            });
        }
    }
    finish(update)
}

fn refresh(node: &Node, instance: &EcsInstance, config: &PlanConfig) -> NodeUpdate {
    let mut update =
        NodeUpdate { labels: label_changes(node, desired_labels(instance, &config.region)), ..NodeUpdate::default() };
    match desired_addresses(node, instance, config.ipv6_dual_stack) {
        Ok(list) => update.addresses = address_change(node, list),
        Err(e) => {
            update.warning = Some(Warning { reason: SYNC_NODE_FAILED, message: format!("addresses not updated: {e}") });
        }
    }
    update
}

/// An update that changes nothing is a skip (or a bare warning).
fn finish(update: NodeUpdate) -> NodePlan {
    if update.writes() || update.source_dest_check_eni.is_some() {
        return NodePlan::Update(update);
    }
    match update.warning {
        Some(warning) => NodePlan::Warn(warning),
        None => NodePlan::Skip { reason: SkipReason::UpToDate },
    }
}

#[cfg(test)]
mod tests;
