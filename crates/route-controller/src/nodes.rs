//! From Kubernetes Nodes to the plan's [`RouteNode`]s: which nodes get routes, which instances are left alone.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    net::IpAddr,
    sync::Arc,
};

use ccm_kube::{Exclusion, NodeClass, ProviderId, node as kube_node};
use ipnet::IpNet;
use k8s_openapi::api::core::v1::Node;

use crate::plan::RouteNode;

/// Why a node gets no routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// No provider ID yet: not known to be an ECS instance.
    NoProviderId,
    /// Hybrid, virtual-kubelet or excluded node: its pod network is routed elsewhere.
    Excluded(Exclusion),
    /// An ECS instance of another region: not in this VPC.
    OtherRegion(String),
    /// A pod CIDR that does not parse.
    InvalidPodCidr(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NoProviderId => f.write_str("no provider ID yet"),
            SkipReason::Excluded(Exclusion::ExcludeLabel) => f.write_str("excluded by label"),
            SkipReason::Excluded(Exclusion::VirtualKubelet) => f.write_str("virtual-kubelet node"),
            SkipReason::Excluded(Exclusion::ForeignProviderId(id)) => write!(f, "not an ECS node ({id})"),
            SkipReason::Excluded(Exclusion::MalformedProviderId(id)) => write!(f, "malformed provider ID {id}"),
            SkipReason::OtherRegion(region) => write!(f, "instance in region {region}, not this VPC's"),
            SkipReason::InvalidPodCidr(cidr) => write!(f, "pod CIDR {cidr} does not parse"),
        }
    }
}

/// The nodes of the cluster, sorted out for routing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterNodes {
    /// ECS nodes of this region (with or without pod CIDRs).
    pub nodes: Vec<RouteNode>,
    /// Instances whose routes are never deleted (excluded nodes, nodes with unreadable pod CIDRs, ...).
    pub untouchable: BTreeSet<String>,
    /// Internal IPs of each routed node's instance (to find its vSwitch).
    pub internal_ips: BTreeMap<String, Vec<IpAddr>>,
    /// Nodes without routes, and why.
    pub skipped: Vec<(String, SkipReason)>,
}

impl ClusterNodes {
    /// Sorts out `nodes`; ECS instances must be in `region` to be routed.
    pub fn collect(nodes: &[Arc<Node>], region: &str) -> Self {
        let mut out = ClusterNodes::default();
        for node in nodes {
            out.add(node, region);
        }
        out.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        out.skipped.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn add(&mut self, node: &Node, region: &str) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let id = match ccm_kube::node::classify(node) {
            NodeClass::Ecs(id) => id,
            NodeClass::NoProviderId => return self.skipped.push((name, SkipReason::NoProviderId)),
            NodeClass::Excluded(why) => {
                // An excluded ECS node keeps whatever routes it has: the operator took it out of our hands.
                if let Some(id) = provider_id(node) {
                    self.untouchable.insert(id.instance_id().to_owned());
                }
                return self.skipped.push((name, SkipReason::Excluded(why)));
            }
        };
        let instance = id.instance_id().to_owned();
        if !region.is_empty() && id.region() != region {
            self.untouchable.insert(instance);
            return self.skipped.push((name, SkipReason::OtherRegion(id.region().to_owned())));
        }
        match parse_pod_cidrs(node) {
            Ok(pod_cidrs) => {
                self.internal_ips.insert(instance.clone(), kube_node::internal_ips(node));
                self.nodes.push(RouteNode { name, instance_id: instance, pod_cidrs });
            }
            Err(bad) => {
                self.untouchable.insert(instance);
                self.skipped.push((name, SkipReason::InvalidPodCidr(bad)));
            }
        }
    }
}

fn provider_id(node: &Node) -> Option<ProviderId> {
    node.spec.as_ref()?.provider_id.as_deref()?.parse().ok()
}

/// The node's pod CIDRs, or the first one that does not parse.
fn parse_pod_cidrs(node: &Node) -> Result<Vec<IpNet>, String> {
    kube_node::pod_cidrs(node)
        .into_iter()
        .map(|c| c.trim().parse::<IpNet>().map(|n| n.trunc()).map_err(|_| c))
        .collect()
}

/// What about a node matters to routes: a change of it calls for a reconcile pass.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoutingKey {
    class: String,
    pod_cidrs: Vec<String>,
    internal_ips: Vec<IpAddr>,
}

impl RoutingKey {
    /// The routing-relevant facts of `node`.
    pub fn of(node: &Node) -> Self {
        let class = match ccm_kube::node::classify(node) {
            NodeClass::Ecs(id) => id.to_string(),
            other => format!("{other:?}"),
        };
        Self { class, pod_cidrs: kube_node::pod_cidrs(node), internal_ips: kube_node::internal_ips(node) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeAddress, NodeSpec, NodeStatus};

    fn node(name: &str, provider_id: &str, cidrs: &[&str], labels: &[(&str, &str)]) -> Arc<Node> {
        let mut n = Node::default();
        n.metadata.name = Some(name.into());
        n.metadata.labels = Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        n.spec = Some(NodeSpec {
            provider_id: Some(provider_id.into()),
            pod_cidrs: Some(cidrs.iter().map(|c| c.to_string()).collect()),
            ..Default::default()
        });
        n.status = Some(NodeStatus {
            addresses: Some(vec![NodeAddress { type_: "InternalIP".into(), address: "192.168.0.10".into() }]),
            ..Default::default()
        });
        Arc::new(n)
    }

    #[test]
    fn ecs_nodes_are_routed_and_others_skipped() {
        let nodes = vec![
            node("ecs", "cn-hangzhou.i-1", &["10.244.1.0/24", "fd00::/64"], &[]),
            node("prefixed", "alicloud://cn-hangzhou.i-2", &["10.244.2.0/24"], &[]),
            node("hybrid", "ack-hybrid://idc-1", &["10.244.3.0/24"], &[]),
            node(
                "excluded",
                "cn-hangzhou.i-4",
                &["10.244.4.0/24"],
                &[("service.alibabacloud.com/exclude-node", "true")],
            ),
            node("vk", "", &[], &[("type", "virtual-kubelet")]),
            node("new", "", &[], &[]),
            node("elsewhere", "cn-beijing.i-6", &["10.244.6.0/24"], &[]),
            node("broken", "cn-hangzhou.i-7", &["10.244.7.0/33"], &[]),
            node("no-cidr", "cn-hangzhou.i-8", &[], &[]),
        ];
        let sorted = ClusterNodes::collect(&nodes, "cn-hangzhou");
        let routed: Vec<(&str, &str, usize)> =
            sorted.nodes.iter().map(|n| (n.name.as_str(), n.instance_id.as_str(), n.pod_cidrs.len())).collect();
        assert_eq!(routed, vec![("ecs", "i-1", 2), ("no-cidr", "i-8", 0), ("prefixed", "i-2", 1)]);
        assert_eq!(sorted.untouchable, ["i-4", "i-6", "i-7"].into_iter().map(String::from).collect());
        let skipped: Vec<&str> = sorted.skipped.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(skipped, vec!["broken", "elsewhere", "excluded", "hybrid", "new", "vk"]);
        assert_eq!(sorted.internal_ips["i-1"], vec!["192.168.0.10".parse::<IpAddr>().unwrap()]);
        assert!(sorted.skipped.iter().all(|(_, why)| !why.to_string().is_empty()));
    }

    #[test]
    fn routing_keys_change_with_what_matters_only() {
        let a = node("n", "cn-hangzhou.i-1", &["10.244.1.0/24"], &[]);
        let mut b = (*a).clone();
        b.metadata.resource_version = Some("99".into());
        assert_eq!(RoutingKey::of(&a), RoutingKey::of(&b));
        b.spec.as_mut().unwrap().pod_cidrs = Some(vec!["10.244.9.0/24".into()]);
        assert_ne!(RoutingKey::of(&a), RoutingKey::of(&b));
        let mut c = (*a).clone();
        c.metadata.labels = Some([("service.alibabacloud.com/exclude-node".to_string(), String::new())].into());
        assert_ne!(RoutingKey::of(&a), RoutingKey::of(&c));
    }
}
