//! The two Node operations the initor needs: read `spec.providerID`, set it. RBAC: `nodes` `get` and `patch`.

use std::future::Future;

use k8s_openapi::api::core::v1::Node;
use kube::{
    Api, Client,
    api::{Patch, PatchParams},
};

/// Why a Node operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeApiError {
    /// No Node of that name.
    #[error("node {0} not found; is NODE_NAME the node's name (fieldRef spec.nodeName)?")]
    NotFound(String),
    /// Not allowed by RBAC.
    #[error(
        "not allowed to {verb} node {node}: {message}; grant the initor's ServiceAccount `get` and `patch` on \
         `nodes` (manifests/rbac/provider-id-initor.yaml)"
    )]
    Forbidden {
        /// `get` or `patch`.
        verb: &'static str,
        /// Node name.
        node: String,
        /// The apiserver's message.
        message: String,
    },
    /// The apiserver refused the write (invalid, or the provider ID was set meanwhile).
    #[error("the apiserver refused to set the provider ID of node {node}: {message}")]
    Rejected {
        /// Node name.
        node: String,
        /// The apiserver's message.
        message: String,
    },
    /// A failure that may pass: no connection, timeout, 5xx, 429, conflicts.
    #[error("Kubernetes API request about node {node} failed: {message}")]
    Transient {
        /// Node name.
        node: String,
        /// What failed.
        message: String,
    },
    /// Anything else.
    #[error("Kubernetes API request about node {node} failed: {message}")]
    Other {
        /// Node name.
        node: String,
        /// What failed.
        message: String,
    },
}

impl NodeApiError {
    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, NodeApiError::Transient { .. })
    }
}

/// Reads and sets a Node's provider ID.
pub trait NodeApi {
    /// `spec.providerID` of node `name` (`None` when unset).
    fn provider_id(&self, name: &str) -> impl Future<Output = Result<Option<String>, NodeApiError>> + Send;
    /// Sets `spec.providerID` of node `name`.
    fn set_provider_id(&self, name: &str, provider_id: &str) -> impl Future<Output = Result<(), NodeApiError>> + Send;
}

/// [`NodeApi`] over the Kubernetes API.
#[derive(Clone)]
pub struct KubeNodeApi {
    nodes: Api<Node>,
}

impl std::fmt::Debug for KubeNodeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeNodeApi").finish_non_exhaustive()
    }
}

/// The field manager recorded on the patch.
pub const FIELD_MANAGER: &str = "provider-id-initor";

impl KubeNodeApi {
    /// Nodes through `client`.
    pub fn new(client: Client) -> Self {
        Self { nodes: Api::all(client) }
    }

    fn classify(name: &str, verb: &'static str, error: kube::Error) -> NodeApiError {
        let node = name.to_owned();
        match error {
            kube::Error::Api(status) => {
                let message = if status.message.is_empty() { status.reason.clone() } else { status.message.clone() };
                match status.code {
                    404 => NodeApiError::NotFound(node),
                    401 | 403 => NodeApiError::Forbidden { verb, node, message },
                    409 | 429 => NodeApiError::Transient { node, message },
                    400 | 422 => NodeApiError::Rejected { node, message },
                    c if c >= 500 => NodeApiError::Transient { node, message },
                    _ => NodeApiError::Other { node, message },
                }
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
                NodeApiError::Transient { node, message: error.to_string() }
            }
            other => NodeApiError::Other { node, message: other.to_string() },
        }
    }
}

impl NodeApi for KubeNodeApi {
    async fn provider_id(&self, name: &str) -> Result<Option<String>, NodeApiError> {
        let node = self.nodes.get(name).await.map_err(|e| Self::classify(name, "get", e))?;
        Ok(node.spec.and_then(|s| s.provider_id))
    }

    async fn set_provider_id(&self, name: &str, provider_id: &str) -> Result<(), NodeApiError> {
        // A merge patch of one field; the apiserver itself refuses to change a provider ID that is already set.
        let patch = serde_json::json!({ "spec": { "providerID": provider_id } });
        self.nodes
            .patch(
                name,
                &PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PatchParams::default() },
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| Self::classify(name, "patch", e))?;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::{
        collections::BTreeMap,
        sync::{Arc, Mutex},
    };

    use axum::{
        Json, Router,
        extract::{Path, State},
        http::StatusCode,
        routing::get,
    };
    use serde_json::{Value, json};

    use super::*;

    #[derive(Debug, Default)]
    struct Inner {
        nodes: BTreeMap<String, Option<String>>,
        fail_next: usize,
        race: Option<Option<String>>,
        writes: usize,
    }

    /// Nodes in memory, with failure injection.
    #[derive(Debug, Clone, Default)]
    pub struct MemoryNodes(Arc<Mutex<Inner>>);

    impl MemoryNodes {
        pub fn with(name: &str, provider_id: Option<&str>) -> Self {
            let nodes = Self::default();
            nodes.0.lock().unwrap().nodes.insert(name.into(), provider_id.map(Into::into));
            nodes
        }
        pub fn get(&self, name: &str) -> Option<String> {
            self.0.lock().unwrap().nodes.get(name).cloned().flatten()
        }
        pub fn writes(&self) -> usize {
            self.0.lock().unwrap().writes
        }
        /// The next `n` calls fail transiently.
        pub fn fail_next(&self, n: usize) {
            self.0.lock().unwrap().fail_next = n;
        }
        /// Just before the first write, another writer sets the provider ID to `value`.
        pub fn race_with(&self, value: Option<&str>) {
            self.0.lock().unwrap().race = Some(value.map(Into::into));
        }
    }

    impl NodeApi for MemoryNodes {
        async fn provider_id(&self, name: &str) -> Result<Option<String>, NodeApiError> {
            let mut inner = self.0.lock().unwrap();
            if inner.fail_next > 0 {
                inner.fail_next -= 1;
                return Err(NodeApiError::Transient { node: name.into(), message: "HTTP 503".into() });
            }
            inner.nodes.get(name).cloned().ok_or_else(|| NodeApiError::NotFound(name.into()))
        }

        async fn set_provider_id(&self, name: &str, provider_id: &str) -> Result<(), NodeApiError> {
            let mut inner = self.0.lock().unwrap();
            if inner.fail_next > 0 {
                inner.fail_next -= 1;
                return Err(NodeApiError::Transient { node: name.into(), message: "HTTP 503".into() });
            }
            if let Some(value) = inner.race.take() {
                inner.nodes.insert(name.into(), value);
            }
            let current = inner.nodes.get_mut(name).ok_or_else(|| NodeApiError::NotFound(name.into()))?;
            if current.as_deref().is_some_and(|c| !c.is_empty() && c != provider_id) {
                return Err(NodeApiError::Rejected {
                    node: name.into(),
                    message: "spec.providerID: Forbidden: node updates may not change providerID except from \"\" \
                              to valid"
                        .into(),
                });
            }
            *current = Some(provider_id.into());
            inner.writes += 1;
            Ok(())
        }
    }

    type Seen = Arc<Mutex<Vec<String>>>;
    type Nodes = Arc<Mutex<BTreeMap<String, Value>>>;

    /// A minimal apiserver for `GET`/`PATCH /api/v1/nodes/{name}` on loopback.
    async fn fake_apiserver(nodes: Nodes, seen: Seen) -> kube::Client {
        async fn get_node(
            State((nodes, seen)): State<(Nodes, Seen)>,
            Path(name): Path<String>,
        ) -> (StatusCode, Json<Value>) {
            seen.lock().unwrap().push(format!("GET {name}"));
            match nodes.lock().unwrap().get(&name) {
                Some(n) => (StatusCode::OK, Json(n.clone())),
                None => (StatusCode::NOT_FOUND, Json(status(404, "NotFound", &format!("nodes \"{name}\" not found")))),
            }
        }
        async fn patch_node(
            State((nodes, seen)): State<(Nodes, Seen)>,
            Path(name): Path<String>,
            headers: axum::http::HeaderMap,
            body: String,
        ) -> (StatusCode, Json<Value>) {
            let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            seen.lock().unwrap().push(format!("PATCH {name} {ct} {body}"));
            if name == "forbidden" {
                return (StatusCode::FORBIDDEN, Json(status(403, "Forbidden", "nodes is forbidden")));
            }
            let mut nodes = nodes.lock().unwrap();
            let Some(node) = nodes.get_mut(&name) else {
                return (StatusCode::NOT_FOUND, Json(status(404, "NotFound", "not found")));
            };
            let patch: Value = serde_json::from_str(&body).unwrap();
            node["spec"]["providerID"] = patch["spec"]["providerID"].clone();
            (StatusCode::OK, Json(node.clone()))
        }
        fn status(code: u16, reason: &str, message: &str) -> Value {
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason,
                   "message": message})
        }
        let app =
            Router::new().route("/api/v1/nodes/{name}", get(get_node).patch(patch_node)).with_state((nodes, seen));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        kube::Client::try_from(config).unwrap()
    }

    #[tokio::test]
    async fn kube_node_api_reads_and_patches() {
        let nodes = Arc::new(Mutex::new(BTreeMap::from([(
            "node-a".to_owned(),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"}, "spec": {}}),
        )])));
        let seen = Seen::default();
        let api = KubeNodeApi::new(fake_apiserver(nodes.clone(), seen.clone()).await);
        assert_eq!(api.provider_id("node-a").await.unwrap(), None);
        api.set_provider_id("node-a", "cn-hangzhou.i-1").await.unwrap();
        assert_eq!(api.provider_id("node-a").await.unwrap().as_deref(), Some("cn-hangzhou.i-1"));
        let log = seen.lock().unwrap().clone();
        assert!(
            log[1].starts_with("PATCH node-a application/merge-patch+json")
                && log[1].contains(r#"{"spec":{"providerID":"cn-hangzhou.i-1"}}"#),
            "{log:?}"
        );
        assert!(matches!(api.provider_id("nope").await, Err(NodeApiError::NotFound(n)) if n == "nope"));
        let forbidden = api.set_provider_id("forbidden", "x.y").await.unwrap_err();
        assert!(matches!(forbidden, NodeApiError::Forbidden { verb: "patch", .. }), "{forbidden:?}");
        assert!(forbidden.to_string().contains("`get` and `patch`"));
    }
}
