//! A tiny in-process apiserver for Nodes and Events, with the write semantics the controller relies on: JSON patch
//! with `test` operations (422 when one fails, a `null` test passing on a missing member, as evanphx/json-patch),
//! merge patch of `nodes/status`, delete with UID/resourceVersion preconditions (409). Every write is fed back to
//! the controller through a shared node feed, as the binary's shared watch would.
//!
//! It is a test double for scenario tests of the whole loop; the real apiserver is exercised by the e2e suite.

use std::{
    collections::BTreeMap,
    convert::Infallible,
    sync::{Arc, Mutex, MutexGuard},
};

use ccm_kube::node_feed::NodeFeed;
use futures::{StreamExt as _, stream};
use http::{Method, Request, Response, StatusCode};
use k8s_openapi::api::core::v1::Node;
use kube::{
    client::Body,
    runtime::{WatchStreamExt as _, reflector, watcher},
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// An event the controller published: (type, reason, node).
pub type PublishedEvent = (String, String, String);

#[derive(Default)]
struct State {
    nodes: BTreeMap<String, Node>,
    resource_version: u64,
    events: Vec<PublishedEvent>,
    /// Writes (PATCH, DELETE) per node.
    writes: BTreeMap<String, u32>,
    /// Node patches to reject with 422 before applying, to exercise the conflict path.
    reject_patches: u32,
}

/// The fake apiserver. Clones share state.
#[derive(Clone)]
pub struct FakeApiServer {
    state: Arc<Mutex<State>>,
    watch: mpsc::UnboundedSender<watcher::Event<Node>>,
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": message, "reason": reason, "code": code.as_u16()});
    respond(code, &body)
}

fn respond(code: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(serde_json::to_vec(body).unwrap()));
    *response.status_mut() = code;
    response.headers_mut().insert(http::header::CONTENT_TYPE, "application/json".parse().unwrap());
    response
}

/// Drops `test` operations of `null` on missing members, which the apiserver's JSON patch lets pass.
fn apiserver_test_semantics(doc: &Value, ops: Vec<Value>) -> Vec<Value> {
    ops.into_iter()
        .filter(|op| {
            let missing = op["path"].as_str().is_some_and(|p| doc.pointer(p).is_none());
            !(op["op"] == "test" && op["value"].is_null() && missing)
        })
        .collect()
}

impl FakeApiServer {
    /// Starts with `nodes`; returns the server, a client talking to it, and a node feed fed by its writes.
    pub fn start(nodes: Vec<Node>) -> (Self, kube::Client, NodeFeed) {
        let (store, writer) = reflector::store_shared::<Node>(4096);
        let changes = writer.subscribe().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let events = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) });
        tokio::spawn(events.reflect_shared(writer).for_each(|_| async {}));
        let server = Self { state: Arc::default(), watch: tx };
        server.send(watcher::Event::Init);
        for node in nodes {
            let node = server.store_node(node);
            server.send(watcher::Event::InitApply(node));
        }
        server.send(watcher::Event::InitDone);
        let service_state = server.clone();
        let service = tower::service_fn(move |request: Request<Body>| {
            let server = service_state.clone();
            async move { Ok::<_, Infallible>(server.handle(request).await) }
        });
        let client = kube::Client::new(service, "default");
        (server, client, NodeFeed { store, changes })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn send(&self, event: watcher::Event<Node>) {
        let _ = self.watch.send(event);
    }

    fn store_node(&self, mut node: Node) -> Node {
        let mut state = self.state();
        state.resource_version += 1;
        node.metadata.resource_version = Some(state.resource_version.to_string());
        let name = node.metadata.name.clone().unwrap();
        node.metadata.uid.get_or_insert_with(|| format!("uid-{name}"));
        state.nodes.insert(name, node.clone());
        node
    }

    /// Creates or replaces a node, as the kubelet or a user would.
    pub fn put(&self, node: Node) {
        let node = self.store_node(node);
        self.send(watcher::Event::Apply(node));
    }

    /// Changes a node in place, as another actor would.
    pub fn modify(&self, name: &str, change: impl FnOnce(&mut Node)) {
        let Some(mut node) = self.node(name) else { return };
        change(&mut node);
        self.put(node);
    }

    /// A node as stored.
    pub fn node(&self, name: &str) -> Option<Node> {
        self.state().nodes.get(name).cloned()
    }

    /// The events published so far.
    pub fn events(&self) -> Vec<PublishedEvent> {
        self.state().events.clone()
    }

    /// Writes made to a node.
    pub fn writes(&self, name: &str) -> u32 {
        self.state().writes.get(name).copied().unwrap_or(0)
    }

    /// Rejects the next `n` node patches with 422, as a failed `test` would.
    pub fn reject_next_patches(&self, n: u32) {
        self.state().reject_patches = n;
    }

    async fn handle(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let body = body.collect_bytes().await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let path = parts.uri.path().to_owned();
        let content_type =
            parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (parts.method.clone(), segments.as_slice()) {
            (Method::GET, ["api", "v1", "nodes", name]) => self.get(name),
            (Method::PATCH, ["api", "v1", "nodes", name]) => self.patch(name, &content_type, body),
            (Method::PATCH, ["api", "v1", "nodes", name, "status"]) => self.patch(name, &content_type, body),
            (Method::DELETE, ["api", "v1", "nodes", name]) => self.delete(name, &body),
            (Method::POST | Method::PATCH, ["apis", "events.k8s.io", "v1", "namespaces", _, "events", ..]) => {
                self.record_event(&body);
                respond(StatusCode::CREATED, &body)
            }
            _ => status(StatusCode::NOT_FOUND, "NotFound", &format!("{} {path} is not served", parts.method)),
        }
    }

    fn get(&self, name: &str) -> Response<Body> {
        match self.node(name) {
            Some(node) => respond(StatusCode::OK, &serde_json::to_value(node).unwrap()),
            None => status(StatusCode::NOT_FOUND, "NotFound", &format!("nodes \"{name}\" not found")),
        }
    }

    fn patch(&self, name: &str, content_type: &str, body: Value) -> Response<Body> {
        let Some(node) = self.node(name) else {
            return status(StatusCode::NOT_FOUND, "NotFound", &format!("nodes \"{name}\" not found"));
        };
        *self.state().writes.entry(name.to_owned()).or_default() += 1;
        let mut doc = serde_json::to_value(&node).unwrap();
        if content_type.starts_with("application/json-patch+json") {
            {
                let mut state = self.state();
                if state.reject_patches > 0 {
                    state.reject_patches -= 1;
                    return status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", "testing value /spec/taints failed");
                }
            }
            let ops = apiserver_test_semantics(&doc, body.as_array().cloned().unwrap_or_default());
            let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops)).unwrap();
            if let Err(e) = json_patch::patch(&mut doc, &patch) {
                return status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", &e.to_string());
            }
        } else {
            json_patch::merge(&mut doc, &body);
        }
        let node = self.store_node(serde_json::from_value(doc).unwrap());
        self.send(watcher::Event::Apply(node.clone()));
        respond(StatusCode::OK, &serde_json::to_value(node).unwrap())
    }

    fn delete(&self, name: &str, options: &Value) -> Response<Body> {
        let Some(node) = self.node(name) else {
            return status(StatusCode::NOT_FOUND, "NotFound", &format!("nodes \"{name}\" not found"));
        };
        *self.state().writes.entry(name.to_owned()).or_default() += 1;
        let pre = &options["preconditions"];
        let uid_ok = pre["uid"].as_str().is_none_or(|uid| node.metadata.uid.as_deref() == Some(uid));
        let rv = pre["resourceVersion"].as_str();
        let rv_ok = rv.is_none_or(|rv| node.metadata.resource_version.as_deref() == Some(rv));
        if !uid_ok || !rv_ok {
            return status(StatusCode::CONFLICT, "Conflict", "Precondition failed");
        }
        self.state().nodes.remove(name);
        self.send(watcher::Event::Delete(node.clone()));
        respond(StatusCode::OK, &serde_json::to_value(node).unwrap())
    }

    fn record_event(&self, body: &Value) {
        let field = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let event = (field(&body["type"]), field(&body["reason"]), field(&body["regarding"]["name"]));
        if !event.1.is_empty() {
            self.state().events.push(event);
        }
    }
}
