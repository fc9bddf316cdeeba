//! Event reasons (compatible with upstream's cloud node controllers and the Go CCM) and their publishing.

use k8s_openapi::api::core::v1::Node;
use kube::{
    Resource as _,
    runtime::events::{Event, EventType, Recorder},
};

/// Normal: the node was initialized (upstream's reason and message).
pub const SYNCED: &str = "Synced";
/// Message of [`SYNCED`].
pub const SYNCED_MESSAGE: &str = "Node synced successfully";
/// Warning: the node could not be initialized and keeps its taint (Go CCM).
pub const ADD_NODE_FAILED: &str = "AddNodeFailed";
/// Warning: an initialized node could not be refreshed (Go CCM).
pub const SYNC_NODE_FAILED: &str = "SyncNodeFailed";
/// Normal: about to delete a node whose instance is gone (upstream).
pub const DELETING_NODE: &str = "DeletingNode";
/// Normal: the node was deleted (Go CCM).
pub const DELETED_NODE: &str = "DeletedNode";
/// Warning: deleting the node failed (Go CCM).
pub const DELETE_NODE_FAILED: &str = "DeleteNodeFailed";

/// The API's limit on an event note.
const MAX_NOTE_BYTES: usize = 1024;

/// Cuts a note to the API's limit, on a character boundary.
pub fn truncate_note(note: &str) -> String {
    if note.len() <= MAX_NOTE_BYTES {
        return note.to_owned();
    }
    let mut end = MAX_NOTE_BYTES - 3;
    while !note.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &note[..end])
}

/// Publishes an event about `node`; a failure is logged, never returned (events are best effort).
pub async fn publish(recorder: &Recorder, node: &Node, type_: EventType, reason: &str, note: &str) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(truncate_note(note)),
        action: action_of(reason).to_owned(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, &node.object_ref(&())).await {
        let name = node.metadata.name.as_deref().unwrap_or_default();
        tracing::warn!(node = name, reason, %error, "could not publish an event");
    }
}

/// The `action` of an event, which the events API requires.
fn action_of(reason: &str) -> &'static str {
    match reason {
        SYNCED | ADD_NODE_FAILED => "InitializeNode",
        DELETING_NODE | DELETED_NODE | DELETE_NODE_FAILED => "DeleteNode",
        _ => "SyncNode",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_cut_to_the_api_limit_on_char_boundaries() {
        assert_eq!(truncate_note("short"), "short");
        let long = "é".repeat(1000);
        let cut = truncate_note(&long);
        assert!(cut.len() <= MAX_NOTE_BYTES);
        assert!(cut.ends_with("..."));
    }

    #[test]
    fn every_reason_has_an_action() {
        assert_eq!(action_of(SYNCED), "InitializeNode");
        assert_eq!(action_of(DELETED_NODE), "DeleteNode");
        assert_eq!(action_of(SYNC_NODE_FAILED), "SyncNode");
    }
}
