//! `provider-id-initor`: gives a Node its ECS provider ID.
//!
//! Reads `region-id` and `instance-id` from the instance metadata server and sets the Node's `spec.providerID` to
//! `<region-id>.<instance-id>` when it is empty — what the Go CCM's node controller needs before it initializes a
//! node, and what the `provider-initor` image of Alibaba Cloud's guides does in a BroadcastJob.
//!
//! * [`metadata`]: the metadata-server client (IMDSv2 with a v1 fallback), also used by the CCM binary.
//! * [`Initor`]: the logic, over a [`NodeApi`] (Kubernetes in production, a map in tests), with retries.
//! * [`Outcome`] and [`InitorError`]: what happened, and the process exit status for each (see [`exit_code`]).

pub mod metadata;
pub mod node_api;

use std::time::Duration;

use ccm_kube::ProviderId;

pub use metadata::{MetadataClient, MetadataError};
pub use node_api::{KubeNodeApi, NodeApi, NodeApiError};

/// Exit status: the provider ID was set, or already had the expected value.
pub const EXIT_OK: i32 = 0;
/// Exit status: bad usage or configuration (e.g. `NODE_NAME` unset). Also clap's status for bad flags.
pub const EXIT_USAGE: i32 = 2;
/// Exit status: the Node already has a *different* provider ID (the apiserver forbids changing it).
pub const EXIT_MISMATCH: i32 = 3;
/// Exit status: the metadata server failed (unreachable after retries, or it lacks an item).
pub const EXIT_METADATA: i32 = 4;
/// Exit status: the Kubernetes API failed (node not found, forbidden, unreachable after retries).
pub const EXIT_KUBERNETES: i32 = 5;

/// What the initor did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider ID was empty and is now set.
    Set(String),
    /// The provider ID already was the expected one (`alicloud://` prefix accepted).
    AlreadySet(String),
}

/// Why the initor failed.
#[derive(Debug, thiserror::Error)]
pub enum InitorError {
    /// The node carries another provider ID; the apiserver does not allow changing it.
    #[error(
        "node {node} already has provider ID `{current}`, but this instance is `{expected}`; the provider ID \
         cannot be changed once set: if the node was re-created on another instance, delete the Node object \
         (kubectl delete node {node}) and restart its kubelet so it registers again"
    )]
    Mismatch {
        /// Node name.
        node: String,
        /// The provider ID the node has.
        current: String,
        /// The one this instance should have.
        expected: String,
    },
    /// The metadata server failed.
    #[error("reading the instance metadata failed: {0}")]
    Metadata(#[source] MetadataError),
    /// The metadata server answered values that do not form a provider ID.
    #[error(
        "the metadata server answered region-id `{region}` and instance-id `{instance}`, which do not form a provider ID"
    )]
    BadMetadata {
        /// `region-id` as answered.
        region: String,
        /// `instance-id` as answered.
        instance: String,
    },
    /// The Kubernetes API failed.
    #[error("{0}")]
    Kubernetes(#[source] NodeApiError),
}

impl InitorError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            InitorError::Mismatch { .. } => EXIT_MISMATCH,
            InitorError::Metadata(_) | InitorError::BadMetadata { .. } => EXIT_METADATA,
            InitorError::Kubernetes(_) => EXIT_KUBERNETES,
        }
    }
}

/// The process exit status for a result of [`Initor::run`].
pub fn exit_code(result: &Result<Outcome, InitorError>) -> i32 {
    match result {
        Ok(_) => EXIT_OK,
        Err(e) => e.exit_code(),
    }
}

/// Exponential backoff between attempts at a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// Delay after the first failure.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Default for Backoff {
    /// 8 attempts, 1 s doubling up to 30 s: about 1.5 minutes before giving up.
    fn default() -> Self {
        Self { attempts: 8, initial: Duration::from_secs(1), max: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// The delay after failed attempt `n` (1-based).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1));
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// Runs `op` until it succeeds, fails permanently, or the attempts are used up.
    pub async fn retry<T, E, F, Fut>(&self, what: &str, is_transient: impl Fn(&E) -> bool, mut op: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if is_transient(&e) && attempt < self.attempts.max(1) => {
                    let delay = self.delay(attempt);
                    tracing::warn!(error = %e, attempt, ?delay, "{what} failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Sets one node's provider ID from the metadata server.
#[derive(Debug)]
pub struct Initor<N> {
    metadata: MetadataClient,
    nodes: N,
    node_name: String,
    backoff: Backoff,
}

impl<N: NodeApi> Initor<N> {
    /// The initor for node `node_name`.
    pub fn new(metadata: MetadataClient, nodes: N, node_name: impl Into<String>) -> Self {
        Self { metadata, nodes, node_name: node_name.into(), backoff: Backoff::default() }
    }

    /// Uses this backoff for transient failures.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The provider ID of this instance: `<region-id>.<instance-id>`.
    pub async fn expected_provider_id(&self) -> Result<ProviderId, InitorError> {
        let read =
            |item: &'static str| self.backoff.retry(item, MetadataError::is_transient, move || self.metadata.get(item));
        let region = read("region-id").await.map_err(InitorError::Metadata)?;
        let instance = read("instance-id").await.map_err(InitorError::Metadata)?;
        let id = ProviderId::new(region.clone(), instance.clone());
        // Round-trip through the parser: both parts must be plain IDs.
        match id.to_string().parse::<ProviderId>() {
            Ok(parsed) if parsed == id => Ok(id),
            _ => Err(InitorError::BadMetadata { region, instance }),
        }
    }

    /// Reads the metadata, then sets the provider ID if it is empty.
    pub async fn run(&self) -> Result<Outcome, InitorError> {
        let expected = self.expected_provider_id().await?;
        let wanted = expected.to_string();
        tracing::info!(node = %self.node_name, provider_id = %wanted, "read provider ID from the metadata server");
        let get = || {
            self.backoff
                .retry("reading the node", NodeApiError::is_transient, || self.nodes.provider_id(&self.node_name))
        };
        let current = get().await.map_err(InitorError::Kubernetes)?;
        if let Some(current) = current.filter(|c| !c.trim().is_empty()) {
            return self.compare(current, &expected);
        }
        let set = self
            .backoff
            .retry("setting the provider ID", NodeApiError::is_transient, || {
                self.nodes.set_provider_id(&self.node_name, &wanted)
            })
            .await;
        match set {
            Ok(()) => {
                tracing::info!(node = %self.node_name, provider_id = %wanted, "provider ID set");
                Ok(Outcome::Set(wanted))
            }
            // Someone else set it in between (the apiserver refuses to change a set provider ID): look again.
            Err(NodeApiError::Rejected { .. }) => match get().await.map_err(InitorError::Kubernetes)? {
                Some(current) if !current.trim().is_empty() => self.compare(current, &expected),
                _ => Err(InitorError::Kubernetes(NodeApiError::Rejected {
                    node: self.node_name.clone(),
                    message: "the apiserver refused the provider ID and the node still has none".into(),
                })),
            },
            Err(e) => Err(InitorError::Kubernetes(e)),
        }
    }

    fn compare(&self, current: String, expected: &ProviderId) -> Result<Outcome, InitorError> {
        if current.parse::<ProviderId>().is_ok_and(|c| &c == expected) {
            tracing::info!(node = %self.node_name, provider_id = %current, "provider ID already set");
            Ok(Outcome::AlreadySet(current))
        } else {
            Err(InitorError::Mismatch { node: self.node_name.clone(), current, expected: expected.to_string() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        metadata::tests::{FakeMetadata, dead_endpoint},
        node_api::tests::MemoryNodes,
    };

    fn quick() -> Backoff {
        Backoff { attempts: 4, initial: Duration::from_millis(5), max: Duration::from_millis(20) }
    }

    async fn initor(fake: &FakeMetadata, nodes: MemoryNodes) -> Initor<MemoryNodes> {
        let metadata = MetadataClient::new(&fake.serve().await).unwrap();
        Initor::new(metadata, nodes, "node-a").with_backoff(quick())
    }

    #[tokio::test]
    async fn empty_provider_id_is_set() {
        let nodes = MemoryNodes::with("node-a", None);
        let fake = FakeMetadata::new("cn-hangzhou", "i-bp1abc");
        let result = initor(&fake, nodes.clone()).await.run().await;
        assert_eq!(result.unwrap(), Outcome::Set("cn-hangzhou.i-bp1abc".into()));
        assert_eq!(nodes.get("node-a"), Some("cn-hangzhou.i-bp1abc".into()));
        assert_eq!(nodes.writes(), 1);
    }

    #[tokio::test]
    async fn equal_provider_id_is_left_alone() {
        for existing in ["cn-hangzhou.i-bp1abc", "alicloud://cn-hangzhou.i-bp1abc"] {
            let nodes = MemoryNodes::with("node-a", Some(existing));
            let fake = FakeMetadata::new("cn-hangzhou", "i-bp1abc");
            let result = initor(&fake, nodes.clone()).await.run().await;
            assert_eq!(result.unwrap(), Outcome::AlreadySet(existing.into()));
            assert_eq!(nodes.writes(), 0);
            assert_eq!(exit_code(&Ok(Outcome::AlreadySet(existing.into()))), EXIT_OK);
        }
    }

    #[tokio::test]
    async fn different_provider_id_fails_clearly() {
        let nodes = MemoryNodes::with("node-a", Some("cn-beijing.i-other"));
        let fake = FakeMetadata::new("cn-hangzhou", "i-bp1abc");
        let result = initor(&fake, nodes.clone()).await.run().await;
        let err = result.as_ref().unwrap_err();
        assert_eq!(exit_code(&result), EXIT_MISMATCH);
        let text = err.to_string();
        assert!(text.contains("`cn-beijing.i-other`") && text.contains("`cn-hangzhou.i-bp1abc`"), "{text}");
        assert!(text.contains("kubectl delete node node-a"), "{text}");
        assert_eq!(nodes.writes(), 0);
    }

    #[tokio::test]
    async fn transient_failures_are_retried() {
        let nodes = MemoryNodes::with("node-a", None);
        nodes.fail_next(2);
        let fake = FakeMetadata::new("cn-hangzhou", "i-bp1abc");
        fake.state.lock().unwrap().fail_first = 2;
        let result = initor(&fake, nodes.clone()).await.run().await;
        assert_eq!(result.unwrap(), Outcome::Set("cn-hangzhou.i-bp1abc".into()));
        let gets = fake.log().iter().filter(|l| l.starts_with("GET region-id")).count();
        assert_eq!(gets, 3, "{:?}", fake.log());
    }

    #[tokio::test]
    async fn retries_end_with_the_right_exit_code() {
        let metadata = MetadataClient::new(&dead_endpoint()).unwrap();
        let result =
            Initor::new(metadata, MemoryNodes::with("node-a", None), "node-a").with_backoff(quick()).run().await;
        assert_eq!(exit_code(&result), EXIT_METADATA);

        let nodes = MemoryNodes::with("node-a", None);
        nodes.fail_next(100);
        let fake = FakeMetadata::new("cn-hangzhou", "i-1");
        let result = initor(&fake, nodes).await.run().await;
        assert_eq!(exit_code(&result), EXIT_KUBERNETES, "{result:?}");

        let fake = FakeMetadata::new("cn-hangzhou", "i-1");
        let result = initor(&fake, MemoryNodes::default()).await.run().await;
        assert_eq!(exit_code(&result), EXIT_KUBERNETES);
        assert!(result.unwrap_err().to_string().contains("node node-a not found"));
    }

    #[tokio::test]
    async fn malformed_metadata_is_refused() {
        let fake = FakeMetadata::new("cn hangzhou", "i-1");
        let result = initor(&fake, MemoryNodes::with("node-a", None)).await.run().await;
        assert!(matches!(result, Err(InitorError::BadMetadata { .. })), "{result:?}");
    }

    #[tokio::test]
    async fn a_concurrent_writer_is_detected() {
        // Someone else sets the same provider ID in between: the write is a no-op, accepted.
        let nodes = MemoryNodes::with("node-a", None);
        nodes.race_with(Some("cn-hangzhou.i-bp1abc"));
        let fake = FakeMetadata::new("cn-hangzhou", "i-bp1abc");
        let result = initor(&fake, nodes.clone()).await.run().await;
        assert_eq!(result.unwrap(), Outcome::Set("cn-hangzhou.i-bp1abc".into()));

        // Someone else sets another one in between: the apiserver refuses ours, and the mismatch is reported.

        let nodes = MemoryNodes::with("node-a", None);
        nodes.race_with(Some("cn-hangzhou.i-zzz"));
        let result = initor(&fake, nodes).await.run().await;
        assert!(matches!(result, Err(InitorError::Mismatch { .. })), "{result:?}");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff::default();
        assert_eq!(b.delay(1), Duration::from_secs(1));
        assert_eq!(b.delay(3), Duration::from_secs(4));
        assert_eq!(b.delay(10), Duration::from_secs(30));
    }
}
