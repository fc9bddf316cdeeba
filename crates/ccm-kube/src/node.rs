//! Which nodes the CCM may touch, and small read-only accessors of a Node.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Node;

use crate::{
    names::{LABEL_EXCLUDE_NODE, LABEL_EXCLUDE_NODE_LEGACY, LABEL_NODE_TYPE, NODE_TYPE_VIRTUAL_KUBELET},
    provider_id::{ProviderId, ProviderIdError},
};

/// Why a node is not the CCM's to manage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exclusion {
    /// Labelled `service.alibabacloud.com/exclude-node` (or the legacy `service.beta.kubernetes.io/exclude-node`).
    ExcludeLabel,
    /// A virtual-kubelet node (`type=virtual-kubelet`).
    VirtualKubelet,
    /// A provider ID of another kind (`ack-hybrid://`, another cloud).
    ForeignProviderId(String),
    /// A provider ID without a scheme that is not `<region>.<instance>`.
    MalformedProviderId(String),
}

/// What a node is, from the CCM's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeClass {
    /// An ECS instance, by its provider ID.
    Ecs(ProviderId),
    /// No provider ID yet: maybe an ECS instance to be found by its IP, maybe an IDC machine.
    NoProviderId,
    /// Not to be touched.
    Excluded(Exclusion),
}

/// Classifies a node. Exclusions win over a valid provider ID, so an operator's exclude label always holds.
pub fn classify(node: &Node) -> NodeClass {
    let labels = node.metadata.labels.as_ref();
    let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
    if label(LABEL_EXCLUDE_NODE).is_some() || label(LABEL_EXCLUDE_NODE_LEGACY).is_some() {
        return NodeClass::Excluded(Exclusion::ExcludeLabel);
    }
    if label(LABEL_NODE_TYPE) == Some(NODE_TYPE_VIRTUAL_KUBELET) {
        return NodeClass::Excluded(Exclusion::VirtualKubelet);
    }
    let provider_id = node.spec.as_ref().and_then(|s| s.provider_id.as_deref()).unwrap_or_default();
    match provider_id.parse::<ProviderId>() {
        Ok(id) => NodeClass::Ecs(id),
        Err(ProviderIdError::Empty) => NodeClass::NoProviderId,
        Err(ProviderIdError::ForeignScheme(id, _)) => NodeClass::Excluded(Exclusion::ForeignProviderId(id)),
        Err(ProviderIdError::Malformed(id)) => NodeClass::Excluded(Exclusion::MalformedProviderId(id)),
    }
}

/// The node's `Ready` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyStatus {
    /// `Ready=True`.
    Ready,
    /// `Ready=False`.
    NotReady,
    /// `Ready=Unknown`, or no Ready condition at all.
    Unknown,
}

/// The node's readiness as its `Ready` condition says.
pub fn ready_status(node: &Node) -> ReadyStatus {
    let condition =
        node.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    match condition.map(|c| c.status.as_str()) {
        Some("True") => ReadyStatus::Ready,
        Some("False") => ReadyStatus::NotReady,
        _ => ReadyStatus::Unknown,
    }
}

/// Whether the node carries a taint with `key` (any value, any effect — upstream matches the cloud taint by key).
pub fn has_taint(node: &Node, key: &str) -> bool {
    node.spec.as_ref().and_then(|s| s.taints.as_ref()).is_some_and(|t| t.iter().any(|t| t.key == key))
}

/// The node's `InternalIP` addresses, as reported (by the kubelet or an earlier CCM pass).
pub fn internal_ips(node: &Node) -> Vec<IpAddr> {
    node.status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .map(|a| a.iter().filter(|a| a.type_ == "InternalIP").filter_map(|a| a.address.parse().ok()).collect())
        .unwrap_or_default()
}

/// The node's pod CIDRs: `spec.podCIDRs`, or the single `spec.podCIDR` of older apiservers.
pub fn pod_cidrs(node: &Node) -> Vec<String> {
    let Some(spec) = node.spec.as_ref() else { return Vec::new() };
    match (&spec.pod_cidrs, &spec.pod_cidr) {
        (Some(cidrs), _) if !cidrs.is_empty() => cidrs.clone(),
        (_, Some(cidr)) if !cidr.is_empty() => vec![cidr.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeAddress, NodeCondition, NodeSpec, NodeStatus, Taint};
    use std::collections::BTreeMap;

    fn node(provider_id: &str, labels: &[(&str, &str)]) -> Node {
        let mut n = Node::default();
        n.metadata.labels =
            Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>());
        n.spec = Some(NodeSpec { provider_id: Some(provider_id.to_owned()), ..Default::default() });
        n
    }

    #[test]
    fn ecs_nodes_are_recognised_by_provider_id() {
        assert_eq!(classify(&node("cn-hangzhou.i-1", &[])), NodeClass::Ecs(ProviderId::new("cn-hangzhou", "i-1")));
        assert_eq!(classify(&node("", &[])), NodeClass::NoProviderId);
    }

    #[test]
    fn hybrid_virtual_and_excluded_nodes_are_left_alone() {
        assert!(matches!(
            classify(&node("ack-hybrid://idc-1", &[])),
            NodeClass::Excluded(Exclusion::ForeignProviderId(_))
        ));
        assert_eq!(classify(&node("", &[("type", "virtual-kubelet")])), NodeClass::Excluded(Exclusion::VirtualKubelet));
        assert_eq!(
            classify(&node("cn-hangzhou.i-1", &[("service.alibabacloud.com/exclude-node", "true")])),
            NodeClass::Excluded(Exclusion::ExcludeLabel)
        );
        assert_eq!(
            classify(&node("cn-hangzhou.i-1", &[("service.beta.kubernetes.io/exclude-node", "")])),
            NodeClass::Excluded(Exclusion::ExcludeLabel)
        );
        assert!(matches!(classify(&node("garbage", &[])), NodeClass::Excluded(Exclusion::MalformedProviderId(_))));
    }

    #[test]
    fn readiness_taints_addresses_and_cidrs() {
        let mut n = node("cn-hangzhou.i-1", &[]);
        assert_eq!(ready_status(&n), ReadyStatus::Unknown);
        n.status = Some(NodeStatus {
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "False".into(),
                ..Default::default()
            }]),
            addresses: Some(vec![
                NodeAddress { type_: "InternalIP".into(), address: "192.168.0.5".into() },
                NodeAddress { type_: "Hostname".into(), address: "node-a".into() },
                NodeAddress { type_: "InternalIP".into(), address: "fd00::5".into() },
            ]),
            ..Default::default()
        });
        assert_eq!(ready_status(&n), ReadyStatus::NotReady);
        assert_eq!(internal_ips(&n), vec!["192.168.0.5".parse::<IpAddr>().unwrap(), "fd00::5".parse().unwrap()]);
        let spec = n.spec.as_mut().unwrap();
        spec.taints = Some(vec![Taint {
            key: crate::names::TAINT_UNINITIALIZED.into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        }]);
        spec.pod_cidr = Some("10.0.1.0/24".into());
        assert!(has_taint(&n, crate::names::TAINT_UNINITIALIZED));
        assert!(!has_taint(&n, crate::names::TAINT_SHUTDOWN));
        assert_eq!(pod_cidrs(&n), vec!["10.0.1.0/24"]);
        n.spec.as_mut().unwrap().pod_cidrs = Some(vec!["10.0.1.0/24".into(), "fd00:10::/64".into()]);
        assert_eq!(pod_cidrs(&n).len(), 2);
    }
}
