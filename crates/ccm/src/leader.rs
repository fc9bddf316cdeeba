//! Leader election on a `coordination.k8s.io/v1` Lease, with client-go's algorithm and record format, so that
//! this CCM and the Go CCM (controller-runtime, client-go `LeaseLock`) exclude each other on the same Lease
//! (`kube-system/ccm` by default).
//!
//! * **Acquire**: every retry period (jittered), read the Lease; take it when it is absent, has no holder, or
//!   its record has not changed for `leaseDurationSeconds` *as observed locally* (client-go's rule: immune to clock
//!   skew between nodes). Writes are `create` or `update` with the read `resourceVersion`, so two candidates
//!   never both win.
//! * **Renew**: every retry period; if no renewal succeeds within the renew deadline, leadership is lost and the
//!   caller exits (as upstream's `OnStoppedLeading`).
//! * **Release** on graceful shutdown: the holder is cleared so that a standby takes over at once.
//!
//! RBAC: `leases` `get`, `create`, `update` in the Lease's namespace.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::Timestamp,
};
use kube::{Api, api::PostParams};
use rand::Rng as _;
use tokio::time::Instant;

use crate::flags::LeaderElectionSettings;

/// client-go's jitter factor for the acquire loop.
const JITTER_FACTOR: f64 = 1.2;

/// How long past the lease duration a leader may go without renewal before `/healthz` fails (upstream's
/// `NewLeaderHealthzAdaptor(20 * time.Second)`).
pub const HEALTH_TOLERANCE: Duration = Duration::from_secs(20);

/// The election record kept in the Lease spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaderRecord {
    /// `holderIdentity`; empty when released.
    pub holder: String,
    /// `leaseDurationSeconds`.
    pub lease_duration_seconds: i32,
    /// `acquireTime`.
    pub acquire_time: Option<Timestamp>,
    /// `renewTime`.
    pub renew_time: Option<Timestamp>,
    /// `leaseTransitions`.
    pub transitions: i32,
}

impl LeaderRecord {
    fn from_spec(spec: Option<&LeaseSpec>) -> Self {
        let Some(spec) = spec else { return Self::default() };
        Self {
            holder: spec.holder_identity.clone().unwrap_or_default(),
            lease_duration_seconds: spec.lease_duration_seconds.unwrap_or(0),
            acquire_time: spec.acquire_time.as_ref().map(|t| t.0),
            renew_time: spec.renew_time.as_ref().map(|t| t.0),
            transitions: spec.lease_transitions.unwrap_or(0),
        }
    }

    fn to_spec(&self) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.holder.clone()),
            lease_duration_seconds: Some(self.lease_duration_seconds),
            acquire_time: self.acquire_time.map(MicroTime),
            renew_time: self.renew_time.map(MicroTime),
            lease_transitions: Some(self.transitions),
            ..LeaseSpec::default()
        }
    }
}

/// A Lease as read: its record and `resourceVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedLease {
    /// The election record.
    pub record: LeaderRecord,
    /// `metadata.resourceVersion`, for optimistic concurrency.
    pub resource_version: String,
}

/// Why a Lease operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Someone else wrote the Lease first (409), or created it first.
    #[error("the Lease was changed by another candidate")]
    Conflict,
    /// Anything else (network, RBAC, apiserver).
    #[error("{0}")]
    Api(String),
}

/// A boxed future (object-safe async).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The three Lease operations the election needs; the Kubernetes API in production, memory in tests.
pub trait LeaseStore: Send + Sync {
    /// Reads the Lease; `None` when it does not exist.
    fn get(&self) -> BoxFuture<'_, Result<Option<ObservedLease>, LeaseError>>;
    /// Creates the Lease with `record`.
    fn create(&self, record: &LeaderRecord) -> BoxFuture<'_, Result<(), LeaseError>>;
    /// Replaces the record if the Lease still has `resource_version`.
    fn update(&self, record: &LeaderRecord, resource_version: &str) -> BoxFuture<'_, Result<(), LeaseError>>;
}

/// [`LeaseStore`] over the Kubernetes API.
pub struct KubeLeaseStore {
    api: Api<Lease>,
    name: String,
}

impl fmt::Debug for KubeLeaseStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeLeaseStore").field("name", &self.name).finish_non_exhaustive()
    }
}

impl KubeLeaseStore {
    /// The Lease `namespace/name`.
    pub fn new(client: kube::Client, namespace: &str, name: &str) -> Self {
        Self { api: Api::namespaced(client, namespace), name: name.to_owned() }
    }

    fn classify(error: kube::Error) -> LeaseError {
        match &error {
            kube::Error::Api(status) if status.code == 409 => LeaseError::Conflict,
            kube::Error::Api(status) if status.code == 403 => LeaseError::Api(format!(
                "{}; grant get, create and update on leases (coordination.k8s.io) in this namespace \
                 (manifests/rbac)",
                status.message
            )),
            _ => LeaseError::Api(error.to_string()),
        }
    }
}

impl LeaseStore for KubeLeaseStore {
    fn get(&self) -> BoxFuture<'_, Result<Option<ObservedLease>, LeaseError>> {
        Box::pin(async move {
            let lease = self.api.get_opt(&self.name).await.map_err(Self::classify)?;
            Ok(lease.map(|l| ObservedLease {
                record: LeaderRecord::from_spec(l.spec.as_ref()),
                resource_version: l.metadata.resource_version.unwrap_or_default(),
            }))
        })
    }

    fn create(&self, record: &LeaderRecord) -> BoxFuture<'_, Result<(), LeaseError>> {
        let lease = Lease {
            metadata: ObjectMeta { name: Some(self.name.clone()), ..ObjectMeta::default() },
            spec: Some(record.to_spec()),
        };
        Box::pin(async move {
            self.api.create(&PostParams::default(), &lease).await.map_err(Self::classify)?;
            Ok(())
        })
    }

    fn update(&self, record: &LeaderRecord, resource_version: &str) -> BoxFuture<'_, Result<(), LeaseError>> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                resource_version: Some(resource_version.to_owned()),
                ..ObjectMeta::default()
            },
            spec: Some(record.to_spec()),
        };
        Box::pin(async move {
            self.api.replace(&self.name, &PostParams::default(), &lease).await.map_err(Self::classify)?;
            Ok(())
        })
    }
}

/// Leadership as seen by `/healthz` and the metrics, shared with the elector.
#[derive(Debug, Default)]
pub struct LeaderStatus {
    leading: AtomicBool,
    last_renewal: Mutex<Option<Instant>>,
    lease_duration: Mutex<Duration>,
}

impl LeaderStatus {
    /// Whether this process holds the Lease.
    pub fn is_leader(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    fn set(&self, leading: bool, renewed: Option<Instant>) {
        self.leading.store(leading, Ordering::SeqCst);
        *self.last_renewal.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = renewed;
    }

    /// The leader-election health check: failing when this process leads but has not renewed the Lease for
    /// longer than the lease duration plus [`HEALTH_TOLERANCE`].
    pub fn check(&self, now: Instant) -> Result<(), String> {
        if !self.is_leader() {
            return Ok(());
        }
        let last = *self.last_renewal.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let duration = *self.lease_duration.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match last {
            Some(t) if now.saturating_duration_since(t) > duration + HEALTH_TOLERANCE => Err(format!(
                "the leader Lease was last renewed {:?} ago (lease duration {duration:?})",
                now.saturating_duration_since(t)
            )),
            _ => Ok(()),
        }
    }
}

/// Why leadership ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("leader election lost: {0}")]
pub struct LeadershipLost(pub String);

/// The leader elector of one process.
pub struct LeaderElector<S> {
    store: S,
    identity: String,
    lease_duration: Duration,
    renew_deadline: Duration,
    retry_period: Duration,
    observed: Option<LeaderRecord>,
    observed_at: Option<Instant>,
    status: Arc<LeaderStatus>,
    clock: fn() -> Timestamp,
}

impl<S> fmt::Debug for LeaderElector<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaderElector")
            .field("identity", &self.identity)
            .field("lease_duration", &self.lease_duration)
            .field("observed", &self.observed)
            .finish_non_exhaustive()
    }
}

/// `<hostname>_<random UUID>`, as upstream's identities.
pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    let b: [u8; 16] = rand::rng().random();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{host}_{}-{}-4{}-a{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

fn system_clock() -> Timestamp {
    Timestamp::now()
}

impl<S: LeaseStore> LeaderElector<S> {
    /// An elector over `store` with `settings`' timing.
    pub fn new(
        store: S,
        identity: impl Into<String>,
        settings: &LeaderElectionSettings,
        status: Arc<LeaderStatus>,
    ) -> Self {
        *status.lease_duration.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = settings.lease_duration;
        Self {
            store,
            identity: identity.into(),
            lease_duration: settings.lease_duration,
            renew_deadline: settings.renew_deadline,
            retry_period: settings.retry_period,
            observed: None,
            observed_at: None,
            status,
            clock: system_clock,
        }
    }

    /// This candidate's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The holder of the Lease as last observed.
    pub fn observed_holder(&self) -> Option<&str> {
        self.observed.as_ref().map(|r| r.holder.as_str()).filter(|h| !h.is_empty())
    }

    fn lease_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX)
    }

    /// One attempt to acquire or renew (client-go's `tryAcquireOrRenew`). `Ok(true)`: this process leads.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, LeaseError> {
        let now = (self.clock)();
        let (identity, seconds) = (self.identity.clone(), self.lease_seconds());
        let mine = |acquire, transitions| LeaderRecord {
            holder: identity.clone(),
            lease_duration_seconds: seconds,
            acquire_time: Some(acquire),
            renew_time: Some(now),
            transitions,
        };
        let Some(current) = self.store.get().await? else {
            let record = mine(now, 0);
            self.store.create(&record).await?;
            self.observe(record);
            return Ok(true);
        };
        if self.observed.as_ref() != Some(&current.record) {
            self.observe(current.record.clone());
        }
        let old = &current.record;
        let held_by_other = !old.holder.is_empty() && old.holder != self.identity;
        if held_by_other {
            let valid_for = Duration::from_secs(u64::try_from(old.lease_duration_seconds.max(0)).unwrap_or(0));
            let observed_at = self.observed_at.unwrap_or_else(Instant::now);
            if observed_at + valid_for > Instant::now() {
                return Ok(false);
            }
        }
        let record = if old.holder == self.identity {
            mine(old.acquire_time.unwrap_or(now), old.transitions)
        } else {
            mine(now, old.transitions.saturating_add(1))
        };
        self.store.update(&record, &current.resource_version).await?;
        self.observe(record);
        Ok(true)
    }

    fn observe(&mut self, record: LeaderRecord) {
        self.observed = Some(record);
        self.observed_at = Some(Instant::now());
    }

    fn jittered_retry(&self) -> Duration {
        let extra = rand::rng().random_range(0.0..JITTER_FACTOR);
        self.retry_period.mul_f64(1.0 + extra)
    }

    /// When a candidate tries again: after the jittered retry period, but no later than the moment the Lease it
    /// observed expires, so that a standby takes over as soon as client-go's rule allows instead of up to a
    /// jittered retry period (4.4 s by default) later — which kept failover within 20 s only most of the time.
    fn next_attempt_in(&self) -> Duration {
        let retry = self.jittered_retry();
        let (Some(record), Some(at)) = (self.observed.as_ref(), self.observed_at) else { return retry };
        if record.holder.is_empty() || record.holder == self.identity {
            return retry;
        }
        let valid_for = Duration::from_secs(u64::try_from(record.lease_duration_seconds.max(0)).unwrap_or(0));
        let expiry = (at + valid_for).saturating_duration_since(Instant::now()) + Duration::from_millis(1);
        retry.min(expiry)
    }

    /// Waits until this process holds the Lease.
    pub async fn acquire(&mut self) {
        let mut last_holder = String::new();
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    self.status.set(true, Some(Instant::now()));
                    tracing::info!(identity = %self.identity, "acquired the leader Lease");
                    return;
                }
                Ok(false) => {
                    let holder = self.observed_holder().unwrap_or_default().to_owned();
                    if holder != last_holder {
                        tracing::info!(holder = %holder, "the leader Lease is held by another instance; waiting");
                        last_holder = holder;
                    }
                }
                Err(LeaseError::Conflict) => tracing::debug!("another candidate wrote the Lease first"),
                Err(e) => tracing::warn!(error = %e, "cannot acquire the leader Lease; retrying"),
            }
            tokio::time::sleep(self.next_attempt_in()).await;
        }
    }

    /// Renews the Lease every retry period; returns when it could not be renewed within the renew deadline.
    pub async fn keep_renewing(&mut self) -> LeadershipLost {
        loop {
            tokio::time::sleep(self.retry_period).await;
            let deadline = Instant::now() + self.renew_deadline;
            let lost = loop {
                let remaining = deadline.saturating_duration_since(Instant::now());
                let attempt = tokio::time::timeout(remaining, self.try_acquire_or_renew()).await;
                match attempt {
                    Ok(Ok(true)) => {
                        self.status.set(true, Some(Instant::now()));
                        break None;
                    }
                    Ok(Ok(false)) => {
                        break Some(format!(
                            "the Lease is now held by {}",
                            self.observed_holder().unwrap_or("another instance")
                        ));
                    }
                    Ok(Err(e)) => tracing::warn!(error = %e, "cannot renew the leader Lease; retrying"),
                    Err(_) => {}
                }
                if Instant::now() + self.retry_period >= deadline {
                    break Some(format!("the Lease could not be renewed within {:?}", self.renew_deadline));
                }
                tokio::time::sleep(self.retry_period).await;
            };
            if let Some(reason) = lost {
                self.status.set(false, None);
                return LeadershipLost(reason);
            }
        }
    }

    /// Gives the Lease up (graceful shutdown): clears the holder so a standby takes over at once.
    pub async fn release(&mut self) -> Result<(), LeaseError> {
        self.status.set(false, None);
        let Some(current) = self.store.get().await? else { return Ok(()) };
        if current.record.holder != self.identity {
            return Ok(());
        }
        let now = (self.clock)();
        let record = LeaderRecord {
            holder: String::new(),
            lease_duration_seconds: 1,
            acquire_time: Some(now),
            renew_time: Some(now),
            transitions: current.record.transitions,
        };
        self.store.update(&record, &current.resource_version).await?;
        tracing::info!("released the leader Lease");
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A Lease in memory, with failure injection and a write counter.
    #[derive(Debug, Default)]
    pub struct Memory {
        lease: Mutex<Option<(LeaderRecord, u64)>>,
        pub down: AtomicBool,
        pub writes: AtomicUsize,
    }

    #[derive(Debug, Clone, Default)]
    pub struct MemoryStore(pub Arc<Memory>);

    impl MemoryStore {
        pub fn record(&self) -> Option<LeaderRecord> {
            self.0.lease.lock().unwrap().as_ref().map(|(r, _)| r.clone())
        }
        fn check(&self) -> Result<(), LeaseError> {
            if self.0.down.load(Ordering::SeqCst) { Err(LeaseError::Api("apiserver down".into())) } else { Ok(()) }
        }
    }

    impl LeaseStore for MemoryStore {
        fn get(&self) -> BoxFuture<'_, Result<Option<ObservedLease>, LeaseError>> {
            let r = self.check().map(|()| {
                self.0
                    .lease
                    .lock()
                    .unwrap()
                    .as_ref()
                    .map(|(record, rv)| ObservedLease { record: record.clone(), resource_version: rv.to_string() })
            });
            Box::pin(async move { r })
        }
        fn create(&self, record: &LeaderRecord) -> BoxFuture<'_, Result<(), LeaseError>> {
            let r = self.check().and_then(|()| {
                let mut lease = self.0.lease.lock().unwrap();
                if lease.is_some() {
                    return Err(LeaseError::Conflict);
                }
                *lease = Some((record.clone(), 1));
                self.0.writes.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            Box::pin(async move { r })
        }
        fn update(&self, record: &LeaderRecord, rv: &str) -> BoxFuture<'_, Result<(), LeaseError>> {
            let r = self.check().and_then(|()| {
                let mut lease = self.0.lease.lock().unwrap();
                match lease.as_mut() {
                    Some((current, version)) if version.to_string() == rv => {
                        *current = record.clone();
                        *version += 1;
                        self.0.writes.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    }
                    _ => Err(LeaseError::Conflict),
                }
            });
            Box::pin(async move { r })
        }
    }

    pub fn timing() -> LeaderElectionSettings {
        LeaderElectionSettings {
            namespace: "kube-system".into(),
            name: "ccm".into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    fn elector(store: &MemoryStore, id: &str) -> LeaderElector<MemoryStore> {
        LeaderElector::new(store.clone(), id, &timing(), Arc::default())
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_candidate_creates_the_lease() {
        let store = MemoryStore::default();
        let mut a = elector(&store, "a");
        a.acquire().await;
        let r = store.record().unwrap();
        assert_eq!((r.holder.as_str(), r.lease_duration_seconds, r.transitions), ("a", 15, 0));
        assert!(a.status.is_leader());
        assert_eq!(r.acquire_time, r.renew_time);
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_lease_is_respected_until_it_expires_locally() {
        let store = MemoryStore::default();
        let mut a = elector(&store, "a");
        let mut b = elector(&store, "b");
        assert!(a.try_acquire_or_renew().await.unwrap());
        assert!(!b.try_acquire_or_renew().await.unwrap());
        // a keeps renewing: b never gets it.
        for _ in 0..20 {
            tokio::time::advance(Duration::from_secs(2)).await;
            assert!(a.try_acquire_or_renew().await.unwrap());
            assert!(!b.try_acquire_or_renew().await.unwrap());
        }
        // a stops; b takes over 15 s after it last saw a change, not before.
        tokio::time::advance(Duration::from_secs(14)).await;
        assert!(!b.try_acquire_or_renew().await.unwrap());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(b.try_acquire_or_renew().await.unwrap());
        let r = store.record().unwrap();
        assert_eq!((r.holder.as_str(), r.transitions), ("b", 1));
        // a, back, sees b's lease and does not take it.
        assert!(!a.try_acquire_or_renew().await.unwrap());
        assert_eq!(a.observed_holder(), Some("b"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_standby_takes_over_as_soon_as_the_observed_lease_expires() {
        // The standby notices the crashed leader's last renewal at its next attempt (at most a jittered retry
        // period later) and takes over once the lease duration has passed since, not a retry period after that.
        let t = timing();
        let max = t.retry_period.mul_f64(1.0 + JITTER_FACTOR) + t.lease_duration + Duration::from_millis(50);
        for _ in 0..10 {
            let store = MemoryStore::default();
            let mut a = elector(&store, "a");
            assert!(a.try_acquire_or_renew().await.unwrap());
            let mut b = elector(&store, "b");
            let standby = tokio::spawn(async move {
                b.acquire().await;
                Instant::now()
            });
            for _ in 0..5 {
                tokio::time::sleep(t.retry_period).await;
                assert!(a.try_acquire_or_renew().await.unwrap());
            }
            let last_renewal = Instant::now();
            let took_over = standby.await.unwrap();
            let took = took_over - last_renewal;
            assert!(took >= t.lease_duration && took <= max, "took over {took:?} after the last renewal");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_foreign_holder_with_a_skewed_clock_is_still_respected() {
        // The Go CCM holds the Lease with a renewTime far in the past (its clock is behind): what counts is
        // that the record keeps changing.
        let store = MemoryStore::default();
        let old = Timestamp::from_second(1_000_000).unwrap();
        *store.0.lease.lock().unwrap() = Some((
            LeaderRecord {
                holder: "go-ccm_1234".into(),
                lease_duration_seconds: 15,
                acquire_time: Some(old),
                renew_time: Some(old),
                transitions: 3,
            },
            7,
        ));
        let mut a = elector(&store, "a");
        assert!(!a.try_acquire_or_renew().await.unwrap());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(!a.try_acquire_or_renew().await.unwrap());
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(a.try_acquire_or_renew().await.unwrap());
        assert_eq!(store.record().unwrap().transitions, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn renewal_keeps_acquire_time_and_transitions() {
        let store = MemoryStore::default();
        let mut a = elector(&store, "a");
        assert!(a.try_acquire_or_renew().await.unwrap());
        let first = store.record().unwrap();
        a.clock = || Timestamp::now() + k8s_openapi::jiff::SignedDuration::from_secs(5);
        assert!(a.try_acquire_or_renew().await.unwrap());
        let second = store.record().unwrap();
        assert_eq!(second.acquire_time, first.acquire_time);
        assert!(second.renew_time > first.renew_time);
        assert_eq!(second.transitions, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_candidates_never_both_win() {
        let store = MemoryStore::default();
        let mut a = elector(&store, "a");
        let mut b = elector(&store, "b");
        // Both read "no lease"; only one create succeeds.
        let (ra, rb) = tokio::join!(a.try_acquire_or_renew(), b.try_acquire_or_renew());
        let wins = [ra, rb].iter().filter(|r| matches!(r, Ok(true))).count();
        assert_eq!(wins, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn leadership_is_lost_after_the_renew_deadline() {
        let store = MemoryStore::default();
        let mut a = elector(&store, "a");
        a.acquire().await;
        let status = a.status.clone();
        store.0.down.store(true, Ordering::SeqCst);
        let started = Instant::now();
        let lost = a.keep_renewing().await;
        let took = started.elapsed();
        assert!(lost.0.contains("could not be renewed within 10s"), "{lost}");
        // One retry period before the first attempt, then at most the renew deadline.
        assert!(took <= Duration::from_secs(12) && took >= Duration::from_secs(10), "{took:?}");
        assert!(!status.is_leader());
    }

    #[tokio::test(start_paused = true)]
    async fn leadership_is_lost_when_another_took_the_lease() {
        let store = MemoryStore::default();
        let mut a = elector(&store, "a");
        a.acquire().await;
        // Someone force-writes the lease.
        store.0.lease.lock().unwrap().as_mut().unwrap().0.holder = "intruder".into();
        let lost = a.keep_renewing().await;
        assert!(lost.0.contains("held by intruder"), "{lost}");
    }

    #[tokio::test(start_paused = true)]
    async fn short_outages_do_not_lose_leadership() {
        let store = MemoryStore::default();
        let mut a = elector(&store, "a");
        a.acquire().await;
        store.0.down.store(true, Ordering::SeqCst);
        let s = store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(7)).await;
            s.0.down.store(false, Ordering::SeqCst);
        });
        let renewed = tokio::time::timeout(Duration::from_secs(60), a.keep_renewing()).await;
        assert!(renewed.is_err(), "leadership was lost: {renewed:?}");
        assert!(a.status.is_leader());
    }

    #[tokio::test(start_paused = true)]
    async fn release_hands_over_at_once() {
        let store = MemoryStore::default();
        let mut a = elector(&store, "a");
        let mut b = elector(&store, "b");
        a.acquire().await;
        assert!(!b.try_acquire_or_renew().await.unwrap());
        a.release().await.unwrap();
        let r = store.record().unwrap();
        assert_eq!((r.holder.as_str(), r.lease_duration_seconds), ("", 1));
        assert!(b.try_acquire_or_renew().await.unwrap());
        assert_eq!(store.record().unwrap().transitions, 1);
        // Releasing a Lease held by someone else does nothing.
        let writes = store.0.writes.load(Ordering::SeqCst);
        a.release().await.unwrap();
        assert_eq!(store.0.writes.load(Ordering::SeqCst), writes);
    }

    #[tokio::test(start_paused = true)]
    async fn health_fails_when_the_leader_stops_renewing() {
        let status = Arc::new(LeaderStatus::default());
        let store = MemoryStore::default();
        let mut a = LeaderElector::new(store, "a", &timing(), status.clone());
        assert!(status.check(Instant::now()).is_ok());
        a.acquire().await;
        assert!(status.check(Instant::now()).is_ok());
        tokio::time::advance(Duration::from_secs(34)).await;
        assert!(status.check(Instant::now()).is_ok());
        tokio::time::advance(Duration::from_secs(2)).await;
        let e = status.check(Instant::now()).unwrap_err();
        assert!(e.contains("last renewed"), "{e}");
    }

    #[test]
    fn identities_are_unique_and_host_prefixed() {
        let (a, b) = (default_identity(), default_identity());
        assert_ne!(a, b);
        assert!(a.contains('_') && a.len() > 37, "{a}");
    }

    #[test]
    fn records_round_trip_through_the_lease_spec() {
        let r = LeaderRecord {
            holder: "x".into(),
            lease_duration_seconds: 15,
            acquire_time: Some(Timestamp::from_second(10).unwrap()),
            renew_time: Some(Timestamp::from_second(20).unwrap()),
            transitions: 2,
        };
        assert_eq!(LeaderRecord::from_spec(Some(&r.to_spec())), r);
        assert_eq!(LeaderRecord::from_spec(None), LeaderRecord::default());
    }
}
