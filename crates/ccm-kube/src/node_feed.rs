//! One Node watch shared by every controller of the process.
//!
//! The binary starts a single reflector over Nodes; each controller gets a [`NodeFeed`]: the shared cache and
//! its own stream of changed nodes. N controllers cost one watch on the apiserver, not N.

use std::sync::Arc;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Node;
use kube::{
    Api, Client,
    runtime::{
        WatchStreamExt as _,
        reflector::{self, ReflectHandle, Store, store::Writer},
        watcher,
    },
};

/// How many node changes a slow subscriber may lag behind before the watch waits for it.
const SUBSCRIBER_BUFFER: usize = 1024;

/// What a controller receives: the shared node cache, and a stream of nodes as they change.
pub struct NodeFeed {
    /// The cache of every Node, kept current by the shared watch.
    pub store: Store<Node>,
    /// Nodes as they are added or changed (deletions show as absence from the store).
    pub changes: ReflectHandle<Node>,
}

/// The shared Node watch: hand out [`NodeFeed`]s with [`SharedNodeWatch::feed`], then [`SharedNodeWatch::run`].
pub struct SharedNodeWatch {
    store: Store<Node>,
    writer: Writer<Node>,
}

impl Default for SharedNodeWatch {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedNodeWatch {
    /// A watch with no subscriber yet.
    pub fn new() -> Self {
        let (store, writer) = reflector::store_shared(SUBSCRIBER_BUFFER);
        Self { store, writer }
    }

    /// A feed for one more controller. Call before [`SharedNodeWatch::run`].
    pub fn feed(&self) -> NodeFeed {
        // `subscribe` returns None only for stores made without `store_shared`, which `new` never does.
        let changes = self.writer.subscribe().unwrap_or_else(|| unreachable!("store_shared always subscribes"));
        NodeFeed { store: self.store.clone(), changes }
    }

    /// The shared cache.
    pub fn store(&self) -> Store<Node> {
        self.store.clone()
    }

    /// Runs the watch until the process stops, re-listing with backoff after errors.
    pub async fn run(self, client: Client) {
        let nodes: Api<Node> = Api::all(client);
        watcher(nodes, watcher::Config::default())
            .default_backoff()
            .reflect_shared(self.writer)
            .for_each(|event| async move {
                if let Err(error) = event {
                    tracing::warn!(%error, "node watch error; retrying with backoff");
                }
            })
            .await;
    }
}

/// Nodes of the shared cache as a vector (a snapshot; cheap `Arc` clones).
pub fn snapshot(store: &Store<Node>) -> Vec<Arc<Node>> {
    store.state()
}
