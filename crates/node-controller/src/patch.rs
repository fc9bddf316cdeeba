//! The bodies of the Kubernetes writes, as pure data (k8s-ccm-contract A6).
//!
//! * `spec.providerID`, our labels and the taints: one JSON patch (RFC 6902). Labels are added key by key, so other
//!   labels are never touched. The taint list has no merge key, so it is written whole, guarded by a `test` of the
//!   list as it was read: if the kubelet or another controller changed a taint meanwhile, the apiserver rejects
//!   the patch (422) and the controller reads the node again. `providerID` is guarded the same way. Kubelet
//!   heartbeats (status, conditions) do not conflict with this patch.
//! * `status.addresses`: a JSON merge patch of `nodes/status`, which replaces the list whole (never merged by
//!   `type`, so dual-stack nodes keep both InternalIPs).

use ccm_kube::names::{TAINT_SHUTDOWN, TAINT_UNINITIALIZED};
use k8s_openapi::api::core::v1::{Node, NodeAddress, Taint};
use serde_json::{Value, json};

use crate::plan::{NodeUpdate, ShutdownTaint};

/// The taint added to not-Ready nodes of stopped instances.
pub fn shutdown_taint() -> Taint {
    Taint { key: TAINT_SHUTDOWN.to_owned(), effect: "NoSchedule".to_owned(), ..Taint::default() }
}

fn current_taints(node: &Node) -> Option<&Vec<Taint>> {
    node.spec.as_ref().and_then(|s| s.taints.as_ref())
}

/// The node's taint list after `update`, when it differs from the current one. Other taints keep their place.
pub fn new_taints(node: &Node, update: &NodeUpdate) -> Option<Vec<Taint>> {
    let current = current_taints(node).cloned().unwrap_or_default();
    let mut next = current.clone();
    if update.remove_uninitialized_taint {
        next.retain(|t| t.key != TAINT_UNINITIALIZED);
    }
    match update.shutdown_taint {
        Some(ShutdownTaint::Add) if !next.iter().any(|t| t.key == TAINT_SHUTDOWN) => next.push(shutdown_taint()),
        Some(ShutdownTaint::Remove) => next.retain(|t| t.key != TAINT_SHUTDOWN),
        _ => {}
    }
    (next != current).then_some(next)
}

/// Escapes a map key for a JSON pointer (RFC 6901): `~` as `~0`, `/` as `~1`.
pub fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn taints_value(taints: &[Taint]) -> Value {
    serde_json::to_value(taints).unwrap_or(Value::Null)
}

fn provider_id_ops(node: &Node, provider_id: &str, ops: &mut Vec<Value>) {
    let current = node.spec.as_ref().and_then(|s| s.provider_id.as_deref());
    ops.push(json!({"op": "test", "path": "/spec/providerID", "value": current}));
    ops.push(json!({"op": "add", "path": "/spec/providerID", "value": provider_id}));
}

fn label_ops(node: &Node, update: &NodeUpdate, ops: &mut Vec<Value>) {
    if update.labels.is_empty() {
        return;
    }
    if node.metadata.labels.is_none() {
        ops.push(json!({"op": "test", "path": "/metadata/labels", "value": null}));
        ops.push(json!({"op": "add", "path": "/metadata/labels", "value": update.labels}));
        return;
    }
    for (key, value) in &update.labels {
        ops.push(json!({"op": "add", "path": format!("/metadata/labels/{}", pointer_escape(key)), "value": value}));
    }
}

fn taint_ops(node: &Node, update: &NodeUpdate, ops: &mut Vec<Value>) {
    let Some(next) = new_taints(node, update) else { return };
    let current = current_taints(node);
    ops.push(json!({"op": "test", "path": "/spec/taints", "value": current.map(|t| taints_value(t))}));
    match (next.is_empty(), current.is_some()) {
        (true, true) => ops.push(json!({"op": "remove", "path": "/spec/taints"})),
        (true, false) => {}
        (false, _) => ops.push(json!({"op": "add", "path": "/spec/taints", "value": taints_value(&next)})),
    }
}

/// The JSON patch operations for the node object (not its status), or nothing when the update writes no field
/// of it.
pub fn node_patch_ops(node: &Node, update: &NodeUpdate) -> Vec<Value> {
    let mut ops = Vec::new();
    let wants_spec = update.provider_id.is_some() || new_taints(node, update).is_some();
    if wants_spec && node.spec.is_none() {
        ops.push(json!({"op": "add", "path": "/spec", "value": {}}));
    }
    if let Some(id) = &update.provider_id {
        provider_id_ops(node, id, &mut ops);
    }
    label_ops(node, update, &mut ops);
    taint_ops(node, update, &mut ops);
    ops
}

/// [`node_patch_ops`] as the patch type kube sends.
pub fn node_patch(node: &Node, update: &NodeUpdate) -> Result<Option<json_patch::Patch>, serde_json::Error> {
    let ops = node_patch_ops(node, update);
    if ops.is_empty() {
        return Ok(None);
    }
    serde_json::from_value(Value::Array(ops)).map(Some)
}

/// The merge patch of `nodes/status` that replaces `status.addresses` whole.
pub fn addresses_patch(addresses: &[NodeAddress]) -> Value {
    json!({"status": {"addresses": addresses}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::NodeBuilder;
    use std::collections::BTreeMap;

    /// Applies ops as the apiserver does; a `test` of `null` on a missing member passes, as in evanphx/json-patch.
    fn apply(node: &Node, ops: &[Value]) -> Result<Node, String> {
        let mut doc = serde_json::to_value(node).unwrap();
        let kept: Vec<Value> = ops
            .iter()
            .filter(|op| {
                !(op["op"] == "test" && op["value"].is_null() && doc.pointer(op["path"].as_str().unwrap()).is_none())
            })
            .cloned()
            .collect();
        let patch: json_patch::Patch = serde_json::from_value(Value::Array(kept)).unwrap();
        json_patch::patch(&mut doc, &patch).map_err(|e| e.to_string())?;
        Ok(serde_json::from_value(doc).unwrap())
    }

    fn keys(node: &Node) -> Vec<String> {
        node.spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .map(|t| t.iter().map(|t| t.key.clone()).collect())
            .unwrap_or_default()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn initialization_patch_keeps_other_taints_and_labels() {
        let node = NodeBuilder::new("n1")
            .taint("dedicated", "NoExecute")
            .uninitialized()
            .taint("node.kubernetes.io/not-ready", "NoSchedule")
            .label("team", "a")
            .build();
        let update = NodeUpdate {
            provider_id: Some("cn-hangzhou.i-1".into()),
            labels: labels(&[("topology.kubernetes.io/zone", "cn-hangzhou-a")]),
            remove_uninitialized_taint: true,
            ..Default::default()
        };
        let ops = node_patch_ops(&node, &update);
        assert_eq!(ops[0], json!({"op": "test", "path": "/spec/providerID", "value": null}));
        assert_eq!(ops[2]["path"], "/metadata/labels/topology.kubernetes.io~1zone");
        let patched = apply(&node, &ops).unwrap();
        assert_eq!(keys(&patched), vec!["dedicated", "node.kubernetes.io/not-ready"]);
        assert_eq!(patched.spec.unwrap().provider_id.as_deref(), Some("cn-hangzhou.i-1"));
        let l = patched.metadata.labels.unwrap();
        assert_eq!(l.get("team").map(String::as_str), Some("a"));
        assert_eq!(l.get("topology.kubernetes.io/zone").map(String::as_str), Some("cn-hangzhou-a"));
    }

    #[test]
    fn the_taint_write_fails_when_taints_changed_since_the_read() {
        let read = NodeBuilder::new("n1").uninitialized().build();
        let ops = node_patch_ops(&read, &NodeUpdate { remove_uninitialized_taint: true, ..Default::default() });
        let changed_meanwhile = NodeBuilder::new("n1").uninitialized().taint("other", "NoSchedule").build();
        assert!(apply(&changed_meanwhile, &ops).is_err(), "guarded by the test op");
        let patched = apply(&read, &ops).unwrap();
        assert!(keys(&patched).is_empty());
        assert_eq!(ops.last().unwrap()["op"], "remove", "an emptied list is removed");
    }

    #[test]
    fn shutdown_taint_added_once_and_removed_by_key() {
        let node = NodeBuilder::new("n1").taint("other", "NoSchedule").build();
        let add = NodeUpdate { shutdown_taint: Some(ShutdownTaint::Add), ..Default::default() };
        let tainted = apply(&node, &node_patch_ops(&node, &add)).unwrap();
        assert_eq!(keys(&tainted), vec!["other", TAINT_SHUTDOWN]);
        let effect = &tainted.spec.as_ref().unwrap().taints.as_ref().unwrap()[1].effect;
        assert_eq!(effect, "NoSchedule");
        assert!(node_patch_ops(&tainted, &add).is_empty(), "already there: nothing to write");
        let remove = NodeUpdate { shutdown_taint: Some(ShutdownTaint::Remove), ..Default::default() };
        assert_eq!(keys(&apply(&tainted, &node_patch_ops(&tainted, &remove)).unwrap()), vec!["other"]);
    }

    #[test]
    fn labels_on_a_node_without_labels_and_nothing_to_do() {
        let mut node = NodeBuilder::new("n1").build();
        node.metadata.labels = None;
        let update = NodeUpdate { labels: labels(&[("a/b", "1")]), ..Default::default() };
        let patched = apply(&node, &node_patch_ops(&node, &update)).unwrap();
        assert_eq!(patched.metadata.labels.unwrap().get("a/b").map(String::as_str), Some("1"));
        assert!(node_patch(&node, &NodeUpdate::default()).unwrap().is_none());
        assert!(node_patch(&node, &update).unwrap().is_some());
    }

    #[test]
    fn addresses_replace_the_whole_list() {
        let list = vec![
            NodeAddress { type_: "InternalIP".into(), address: "10.0.0.1".into() },
            NodeAddress { type_: "InternalIP".into(), address: "fd00::1".into() },
        ];
        let body = addresses_patch(&list);
        assert_eq!(body["status"]["addresses"].as_array().unwrap().len(), 2);
        let node = NodeBuilder::new("n1").address("InternalIP", "10.9.9.9").address("Hostname", "n1").build();
        let mut doc = serde_json::to_value(&node).unwrap();
        json_patch::merge(&mut doc, &body);
        let patched: Node = serde_json::from_value(doc).unwrap();
        assert_eq!(patched.status.unwrap().addresses.unwrap(), list, "RFC 7386 replaces arrays");
    }

    #[test]
    fn pointer_escaping() {
        assert_eq!(pointer_escape("a/b~c"), "a~1b~0c");
    }
}
