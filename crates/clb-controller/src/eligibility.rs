//! Which nodes may serve a Service as load balancer backends.
//!
//! A node is a backend candidate when it is an ECS instance (by provider ID, not excluded by the Go CCM's exclude
//! labels, not a virtual-kubelet node), not being deleted, `Ready`, not excluded by
//! `node.kubernetes.io/exclude-from-external-load-balancers` (upstream value semantics), not tainted
//! `ToBeDeletedByClusterAutoscaler`, not a control-plane node, matches the `backend-label` filter, and is
//! schedulable when `remove-unscheduled-backend: on`.

use std::collections::BTreeMap;

use ccm_kube::{
    NodeClass, ProviderId, ReadyStatus,
    node::{classify, has_taint, ready_status},
};
use k8s_openapi::api::core::v1::Node;

/// Upstream label excluding a node from external load balancers; its value follows Go's `strconv.ParseBool`.
pub const LABEL_EXCLUDE_FROM_LB: &str = "node.kubernetes.io/exclude-from-external-load-balancers";
/// Legacy alpha exclusion label (presence excludes), still honoured by the Go CCM.
pub const LABEL_EXCLUDE_BALANCER_ALPHA: &str = "alpha.service-controller.kubernetes.io/exclude-balancer";
/// Taint the cluster autoscaler puts on nodes it is about to delete.
pub const TAINT_TO_BE_DELETED: &str = "ToBeDeletedByClusterAutoscaler";
/// Legacy control-plane role label.
pub const LABEL_ROLE_MASTER: &str = "node-role.kubernetes.io/master";
/// Control-plane role label.
pub const LABEL_ROLE_CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";

/// Why a node is not a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ineligible {
    /// Not an ECS instance this controller may use (no provider ID, excluded, virtual, foreign).
    NotEcs(NodeClass),
    /// Being deleted.
    Deleting,
    /// Not `Ready`.
    NotReady,
    /// Carries an exclusion label.
    Excluded(&'static str),
    /// Tainted `ToBeDeletedByClusterAutoscaler`.
    ToBeDeleted,
    /// A control-plane node.
    ControlPlane,
    /// Does not match the `backend-label` filter.
    LabelMismatch,
    /// Unschedulable while `remove-unscheduled-backend: on`.
    Unschedulable,
}

/// The Service-specific part of the node rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeFilter<'a> {
    /// `backend-label`: every pair must be a label of the node.
    pub required_labels: Option<&'a BTreeMap<String, String>>,
    /// `remove-unscheduled-backend: on`.
    pub drop_unschedulable: bool,
}

/// Whether `node` may be a backend, and if so its provider ID.
pub fn eligible(node: &Node, filter: &NodeFilter<'_>) -> Result<ProviderId, Ineligible> {
    let provider_id = match classify(node) {
        NodeClass::Ecs(id) => id,
        other => return Err(Ineligible::NotEcs(other)),
    };
    if node.metadata.deletion_timestamp.is_some() {
        return Err(Ineligible::Deleting);
    }
    if ready_status(node) != ReadyStatus::Ready {
        return Err(Ineligible::NotReady);
    }
    let labels = node.metadata.labels.clone().unwrap_or_default();
    if excluded_by_upstream_label(labels.get(LABEL_EXCLUDE_FROM_LB).map(String::as_str)) {
        return Err(Ineligible::Excluded(LABEL_EXCLUDE_FROM_LB));
    }
    if labels.contains_key(LABEL_EXCLUDE_BALANCER_ALPHA) {
        return Err(Ineligible::Excluded(LABEL_EXCLUDE_BALANCER_ALPHA));
    }
    if has_taint(node, TAINT_TO_BE_DELETED) {
        return Err(Ineligible::ToBeDeleted);
    }
    if labels.contains_key(LABEL_ROLE_MASTER) || labels.contains_key(LABEL_ROLE_CONTROL_PLANE) {
        return Err(Ineligible::ControlPlane);
    }
    if let Some(required) = filter.required_labels
        && !required.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return Err(Ineligible::LabelMismatch);
    }
    let unschedulable = node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false);
    if filter.drop_unschedulable && unschedulable {
        return Err(Ineligible::Unschedulable);
    }
    Ok(provider_id)
}

/// Upstream semantics of the exclude label: absent → included; a Go boolean → excluded when true;
/// anything else (empty, unparsable) → excluded.
fn excluded_by_upstream_label(value: Option<&str>) -> bool {
    match value {
        None => false,
        Some(v) => !matches!(v, "0" | "f" | "F" | "false" | "FALSE" | "False"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::{
        api::core::v1::{NodeCondition, NodeSpec, NodeStatus, Taint},
        apimachinery::pkg::apis::meta::v1::Time,
    };

    /// A Ready ECS node `name` with instance `i-<name>`.
    pub(crate) fn ready_node(name: &str) -> Node {
        let mut n = Node::default();
        n.metadata.name = Some(name.to_owned());
        n.metadata.labels = Some(BTreeMap::new());
        n.spec = Some(NodeSpec { provider_id: Some(format!("cn-hangzhou.i-{name}")), ..Default::default() });
        n.status = Some(NodeStatus {
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..Default::default()
            }]),
            ..Default::default()
        });
        n
    }

    pub(crate) fn with_label(mut n: Node, k: &str, v: &str) -> Node {
        n.metadata.labels.get_or_insert_default().insert(k.into(), v.into());
        n
    }

    #[test]
    fn ready_ecs_nodes_are_eligible() {
        let id = eligible(&ready_node("a"), &NodeFilter::default()).unwrap();
        assert_eq!(id.instance_id(), "i-a");
    }

    #[test]
    fn exclusion_rules() {
        let f = NodeFilter::default();
        let mut not_ready = ready_node("a");
        not_ready.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].status = "False".into();
        assert_eq!(eligible(&not_ready, &f), Err(Ineligible::NotReady));
        let mut deleting = ready_node("a");
        deleting.metadata.deletion_timestamp = Some(Time(Default::default()));
        assert_eq!(eligible(&deleting, &f), Err(Ineligible::Deleting));
        for (value, excluded) in
            [("true", true), ("", true), ("yes", true), ("false", false), ("False", false), ("0", false)]
        {
            let n = with_label(ready_node("a"), LABEL_EXCLUDE_FROM_LB, value);
            assert_eq!(eligible(&n, &f).is_err(), excluded, "value {value:?}");
        }
        let n = with_label(ready_node("a"), LABEL_EXCLUDE_BALANCER_ALPHA, "");
        assert_eq!(eligible(&n, &f), Err(Ineligible::Excluded(LABEL_EXCLUDE_BALANCER_ALPHA)));
        let n = with_label(ready_node("a"), "service.alibabacloud.com/exclude-node", "true");
        assert!(matches!(eligible(&n, &f), Err(Ineligible::NotEcs(_))));
        let n = with_label(ready_node("a"), LABEL_ROLE_CONTROL_PLANE, "");
        assert_eq!(eligible(&n, &f), Err(Ineligible::ControlPlane));
        let n = with_label(ready_node("a"), LABEL_ROLE_MASTER, "");
        assert_eq!(eligible(&n, &f), Err(Ineligible::ControlPlane));
        let mut tainted = ready_node("a");
        tainted.spec.as_mut().unwrap().taints =
            Some(vec![Taint { key: TAINT_TO_BE_DELETED.into(), effect: "NoSchedule".into(), ..Default::default() }]);
        assert_eq!(eligible(&tainted, &f), Err(Ineligible::ToBeDeleted));
        let mut no_id = ready_node("a");
        no_id.spec.as_mut().unwrap().provider_id = None;
        assert!(matches!(eligible(&no_id, &f), Err(Ineligible::NotEcs(NodeClass::NoProviderId))));
    }

    #[test]
    fn service_filters() {
        let labels: BTreeMap<String, String> = [("pool".to_string(), "web".to_string())].into();
        let f = NodeFilter { required_labels: Some(&labels), drop_unschedulable: true };
        assert_eq!(eligible(&ready_node("a"), &f), Err(Ineligible::LabelMismatch));
        let matching = with_label(ready_node("a"), "pool", "web");
        assert!(eligible(&matching, &f).is_ok());
        let mut cordoned = matching.clone();
        cordoned.spec.as_mut().unwrap().unschedulable = Some(true);
        assert_eq!(eligible(&cordoned, &f), Err(Ineligible::Unschedulable));
        let keep = NodeFilter { required_labels: Some(&labels), drop_unschedulable: false };
        assert!(eligible(&cordoned, &keep).is_ok());
    }
}
