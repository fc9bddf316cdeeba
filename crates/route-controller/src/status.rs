//! What the controller tells Kubernetes: the `NetworkUnavailable` node condition and node events. Pure: the
//! controller sends what these functions build.

use k8s_openapi::{api::core::v1::Node, jiff::Timestamp};
use serde_json::{Value, json};

use crate::{
    apply::{ApplyReport, NodeRouteResult},
    cloud::{RouteWriteError, WriteOutcome},
    plan::{PlanWarning, RoutePlan},
};

/// The node condition type the route controller owns.
pub const CONDITION_TYPE: &str = "NetworkUnavailable";

/// Event reasons, as the Go CCM's route controller spells them.
pub mod reasons {
    /// Normal: routes were created for the node.
    pub const CREATED_ROUTE: &str = "CreatedRoute";
    /// Warning: a route of the node could not be created (quota, next hop, conflicts...).
    pub const CREATE_ROUTE_FAILED: &str = "CreateRouteFailed";
    /// Warning: the node's routes cannot be made as things stand (a foreign route holds its CIDR, ...).
    pub const SYNC_ROUTE_FAILED: &str = "SyncRouteFailed";
    /// Normal: a route in the way of the node's routes was deleted.
    pub const DELETED_ROUTE: &str = "DeletedRoute";
    /// Warning: a route in the way of the node's routes could not be deleted.
    pub const DELETE_ROUTE_FAILED: &str = "DeleteRouteFailed";
}

/// The two values the controller gives `NetworkUnavailable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkCondition {
    /// `False` / `RouteCreated`: every route of the node exists.
    RouteCreated,
    /// `True` / `NoRouteCreated`: some route of the node is missing.
    NoRouteCreated,
}

impl NetworkCondition {
    /// From whether all the node's routes exist.
    pub fn from_routed(all_routes_present: bool) -> Self {
        if all_routes_present { NetworkCondition::RouteCreated } else { NetworkCondition::NoRouteCreated }
    }

    /// The condition's `status`.
    pub fn status(self) -> &'static str {
        match self {
            NetworkCondition::RouteCreated => "False",
            NetworkCondition::NoRouteCreated => "True",
        }
    }

    /// The condition's `reason`.
    pub fn reason(self) -> &'static str {
        match self {
            NetworkCondition::RouteCreated => "RouteCreated",
            NetworkCondition::NoRouteCreated => "NoRouteCreated",
        }
    }

    /// The condition's `message` (upstream's wording).
    pub fn message(self) -> &'static str {
        match self {
            NetworkCondition::RouteCreated => "RouteController created a route",
            NetworkCondition::NoRouteCreated => "RouteController failed to create a route",
        }
    }

    /// Whether `node` already carries this condition (same status and reason): then no patch is needed.
    pub fn is_set_on(self, node: &Node) -> bool {
        node.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == CONDITION_TYPE))
            .is_some_and(|c| c.status == self.status() && c.reason.as_deref() == Some(self.reason()))
    }

    /// The strategic-merge patch of `nodes/status` that sets this one condition and leaves the others alone
    /// (conditions merge by `type`).
    pub fn patch(self, now: Timestamp) -> Value {
        let now = now.to_string();
        json!({
            "status": {
                "conditions": [{
                    "type": CONDITION_TYPE,
                    "status": self.status(),
                    "reason": self.reason(),
                    "message": self.message(),
                    "lastTransitionTime": now,
                    "lastHeartbeatTime": now,
                }]
            }
        })
    }
}

/// One event to publish on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEvent {
    /// The node.
    pub node: String,
    /// Warning (true) or Normal.
    pub warning: bool,
    /// Reason, from [`reasons`].
    pub reason: &'static str,
    /// Human-readable note (at most 1 kB).
    pub note: String,
    /// The action, for `events.k8s.io` (`CreateRoute`, `DeleteRoute`).
    pub action: &'static str,
}

/// Most bytes of an event note.
const NOTE_LIMIT: usize = 1000;

fn note_of(lines: &[String]) -> String {
    let mut note = lines.join("; ");
    if note.len() > NOTE_LIMIT {
        let mut cut = NOTE_LIMIT - 3;
        while !note.is_char_boundary(cut) {
            cut -= 1;
        }
        note.truncate(cut);
        note.push_str("...");
    }
    note
}

fn event(node: &str, warning: bool, reason: &'static str, action: &'static str, lines: &[String]) -> Option<NodeEvent> {
    (!lines.is_empty()).then(|| NodeEvent { node: node.to_owned(), warning, reason, note: note_of(lines), action })
}

/// Explains a failed create in words an operator can act on, keeping the cloud's message.
pub fn explain_create_failure(route: &crate::cloud::RouteKey, error: &RouteWriteError) -> String {
    let what = format!("route {} -> {} in {}", route.destination, route.instance_id, route.table_id);
    match error {
        RouteWriteError::QuotaExceeded { code, message } => format!(
            "cannot create {what}: the route table is full ({code}: {message}); raise the route entry quota of the \
             VPC or remove unused routes"
        ),
        RouteWriteError::InvalidNextHop { code, message } => format!(
            "cannot create {what}: instance {} cannot be a next hop ({code}: {message}); check that it exists, is \
             running and is in the cluster's VPC",
            route.instance_id
        ),
        other => format!("cannot create {what}: {other}"),
    }
}

/// The events of one pass, per node: created routes, failures with the cloud's message, blocking warnings, and
/// deletions of routes that were in a node's way.
pub fn node_events(plan: &RoutePlan, report: &ApplyReport, results: &[NodeRouteResult]) -> Vec<NodeEvent> {
    let mut events = Vec::new();
    for result in results {
        let created: Vec<String> = report
            .creates
            .iter()
            .filter(|c| c.create.node == result.node && c.result == Ok(WriteOutcome::Applied))
            .map(|c| {
                format!(
                    "created route {} -> {} in {}",
                    c.create.route.destination, c.create.route.instance_id, c.create.route.table_id
                )
            })
            .collect();
        events.extend(event(&result.node, false, reasons::CREATED_ROUTE, "CreateRoute", &created));
        let failed: Vec<String> = result.failed.iter().map(|(route, e)| explain_create_failure(route, e)).collect();
        events.extend(event(&result.node, true, reasons::CREATE_ROUTE_FAILED, "CreateRoute", &failed));
        let blocked: Vec<String> = plan
            .warnings
            .iter()
            .filter(|w| w.node() == result.node && w.blocks_node())
            .map(PlanWarning::to_string)
            .collect();
        events.extend(event(&result.node, true, reasons::SYNC_ROUTE_FAILED, "SyncRoute", &blocked));
    }
    events.extend(delete_events(report));
    events
}

fn delete_events(report: &ApplyReport) -> Vec<NodeEvent> {
    let mut by_node: std::collections::BTreeMap<&str, (Vec<String>, Vec<String>)> = Default::default();
    for d in &report.deletes {
        let Some(node) = d.delete.reason.node() else { continue };
        let entry = by_node.entry(node).or_default();
        match &d.result {
            Ok(WriteOutcome::Applied) => {
                entry.0.push(format!("deleted route {} ({})", d.delete.route, d.delete.reason))
            }
            Ok(WriteOutcome::AlreadyDone) => {}
            Err(e) => entry.1.push(format!("cannot delete route {} ({}): {e}", d.delete.route, d.delete.reason)),
        }
    }
    by_node
        .into_iter()
        .flat_map(|(node, (done, failed))| {
            let ok = event(node, false, reasons::DELETED_ROUTE, "DeleteRoute", &done);
            let bad = event(node, true, reasons::DELETE_ROUTE_FAILED, "DeleteRoute", &failed);
            ok.into_iter().chain(bad)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        apply::{CreateResult, DeleteResult},
        cloud::RouteKey,
        plan::{DeleteReason, NodeRouteState, RouteCreate, RouteDelete},
    };
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};

    fn node_with(conditions: Vec<NodeCondition>) -> Node {
        Node { status: Some(NodeStatus { conditions: Some(conditions), ..Default::default() }), ..Default::default() }
    }

    fn condition(type_: &str, status: &str, reason: &str) -> NodeCondition {
        NodeCondition { type_: type_.into(), status: status.into(), reason: Some(reason.into()), ..Default::default() }
    }

    #[test]
    fn the_condition_is_patched_only_when_it_changes() {
        let ready = condition("Ready", "True", "KubeletReady");
        let node = node_with(vec![ready.clone(), condition("NetworkUnavailable", "False", "RouteCreated")]);
        assert!(NetworkCondition::RouteCreated.is_set_on(&node));
        assert!(!NetworkCondition::NoRouteCreated.is_set_on(&node));
        let kubelet_set = node_with(vec![ready, condition("NetworkUnavailable", "True", "NoRouteCreated")]);
        assert!(NetworkCondition::NoRouteCreated.is_set_on(&kubelet_set));
        assert!(!NetworkCondition::RouteCreated.is_set_on(&Node::default()));
        let other_reason = node_with(vec![condition("NetworkUnavailable", "False", "CalicoIsUp")]);
        assert!(!NetworkCondition::RouteCreated.is_set_on(&other_reason));
    }

    #[test]
    fn the_patch_carries_one_condition_merged_by_type() {
        let now: Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
        let patch = NetworkCondition::RouteCreated.patch(now);
        assert_eq!(
            patch,
            json!({"status": {"conditions": [{
                "type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated",
                "message": "RouteController created a route",
                "lastTransitionTime": "2026-01-02T03:04:05Z", "lastHeartbeatTime": "2026-01-02T03:04:05Z"
            }]}})
        );
        assert_eq!(NetworkCondition::from_routed(false).status(), "True");
        assert_eq!(NetworkCondition::from_routed(false).message(), "RouteController failed to create a route");
    }

    fn key(destination: &str, instance: &str) -> RouteKey {
        RouteKey::new("vtb-a", destination.parse().unwrap(), instance)
    }

    #[test]
    fn events_carry_the_cloud_message() {
        let quota = RouteWriteError::QuotaExceeded {
            code: "QuotaExceeded".into(),
            message: "Route entry quota exceeded in this route table.".into(),
        };
        let hop = RouteWriteError::InvalidNextHop {
            code: "OperationFailed.InvalidNexthop".into(),
            message: "vpc multi scope route must has a enable nexthop".into(),
        };
        let plan = RoutePlan {
            nodes: vec![
                NodeRouteState { node: "node-1".into(), wanted: vec![key("10.244.1.0/24", "i-1")], blocked: false },
                NodeRouteState { node: "node-2".into(), wanted: vec![key("10.244.2.0/24", "i-2")], blocked: false },
            ],
            ..Default::default()
        };
        let report = ApplyReport {
            creates: vec![
                CreateResult {
                    create: RouteCreate { route: key("10.244.1.0/24", "i-1"), node: "node-1".into() },
                    result: Err(quota),
                },
                CreateResult {
                    create: RouteCreate { route: key("10.244.2.0/24", "i-2"), node: "node-2".into() },
                    result: Err(hop),
                },
            ],
            deletes: vec![DeleteResult {
                delete: RouteDelete {
                    route: key("10.244.2.0/24", "i-old"),
                    entry_id: String::new(),
                    reason: DeleteReason::SameDestination { node: "node-2".into() },
                },
                result: Ok(WriteOutcome::Applied),
            }],
        };
        let events = node_events(&plan, &report, &report.node_results(&plan));
        let summary: Vec<(&str, bool, &str)> = events.iter().map(|e| (e.node.as_str(), e.warning, e.reason)).collect();
        assert_eq!(
            summary,
            vec![
                ("node-1", true, "CreateRouteFailed"),
                ("node-2", true, "CreateRouteFailed"),
                ("node-2", false, "DeletedRoute"),
            ]
        );
        assert!(
            events[0].note.contains("Route entry quota exceeded in this route table.")
                && events[0].note.contains("quota")
        );
        assert!(events[1].note.contains("vpc multi scope route must has a enable nexthop"));
        assert!(events[1].note.contains("i-2"));
    }

    #[test]
    fn notes_are_bounded() {
        let lines: Vec<String> = (0..200).map(|i| format!("line {i} with ünïcode")).collect();
        let note = note_of(&lines);
        assert!(note.len() <= NOTE_LIMIT && note.ends_with("..."));
    }
}
