//! Caching and refresh of temporary credentials.

use std::{
    fmt,
    sync::{Arc, RwLock},
    time::Duration,
};

use time::OffsetDateTime;

use super::{BoxFuture, Credentials, CredentialsError, CredentialsProvider};

/// Refresh this long before expiry by default (the official SDKs' 180 s).
pub const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(180);
/// After a failed refresh, while the cached credentials are still valid, wait this long before trying again.
pub const DEFAULT_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// The current time; injectable so refresh logic is testable without sleeping.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(OffsetDateTime::now_utc))
    }

    /// A clock reading `now`.
    pub fn from_fn(now: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The current time.
    pub fn now(&self) -> OffsetDateTime {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

#[derive(Default)]
struct Cached {
    credentials: Option<Credentials>,
    /// When the last refresh failed, if it did since the last success.
    failed_at: Option<OffsetDateTime>,
}

/// Wraps a provider of temporary credentials and reuses them until `refresh_before` their expiry.
///
/// Credentials without an expiry are kept for good. Concurrent callers share one refresh. When a refresh fails
/// but the cached credentials have not expired yet, they keep being served (with a warning; the refresh is
/// retried at most every [`DEFAULT_RETRY_AFTER_FAILURE`]); once they have expired, the error is returned.
pub struct CachedProvider<P> {
    inner: P,
    refresh_before: Duration,
    retry_after_failure: Duration,
    clock: Clock,
    cache: RwLock<Cached>,
    refresh: tokio::sync::Mutex<()>,
}

impl<P: CredentialsProvider> CachedProvider<P> {
    /// Caches `inner`'s credentials, refreshing 180 s before expiry.
    pub fn new(inner: P) -> Self {
        Self {
            inner,
            refresh_before: DEFAULT_REFRESH_BEFORE,
            retry_after_failure: DEFAULT_RETRY_AFTER_FAILURE,
            clock: Clock::system(),
            cache: RwLock::new(Cached::default()),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    /// Refreshes when the credentials expire within `refresh_before`.
    pub fn with_refresh_before(mut self, refresh_before: Duration) -> Self {
        self.refresh_before = refresh_before;
        self
    }

    /// After a failed refresh, serves the still-valid cached credentials for `interval` before trying again.
    pub fn with_retry_after_failure(mut self, interval: Duration) -> Self {
        self.retry_after_failure = interval;
        self
    }

    /// Reads the time from `clock` (for tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// Forgets the cached credentials, so the next call fetches new ones (after the server rejected them).
    pub fn invalidate(&self) {
        *self.write() = Cached::default();
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cached> {
        self.cache.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cached> {
        self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached credentials if they need no refresh now.
    fn fresh(&self, now: OffsetDateTime) -> Option<Credentials> {
        let cached = self.read();
        let credentials = cached.credentials.as_ref()?;
        let Some(expiration) = credentials.expiration else { return Some(credentials.clone()) };
        if expiration - now > self.refresh_before {
            return Some(credentials.clone());
        }
        // Inside the refresh window: after a recent failure, keep serving while still valid.
        let backing_off = cached.failed_at.is_some_and(|failed| now - failed < self.retry_after_failure);
        (backing_off && expiration > now).then(|| credentials.clone())
    }

    async fn get(&self) -> Result<Credentials, CredentialsError> {
        if let Some(credentials) = self.fresh(self.clock.now()) {
            return Ok(credentials);
        }
        let _refreshing = self.refresh.lock().await;
        // Another caller may have refreshed while this one waited.
        if let Some(credentials) = self.fresh(self.clock.now()) {
            return Ok(credentials);
        }
        match self.inner.credentials().await {
            Ok(credentials) => {
                tracing::debug!(
                    provider = self.inner.name(),
                    access_key_id = %credentials.access_key_id,
                    expiration = ?credentials.expiration,
                    "refreshed credentials"
                );
                *self.write() = Cached { credentials: Some(credentials.clone()), failed_at: None };
                Ok(credentials)
            }
            Err(error) => {
                let now = self.clock.now();
                let mut cached = self.write();
                let still_valid = cached.credentials.as_ref().filter(|c| c.expiration.is_none_or(|e| e > now)).cloned();
                match still_valid {
                    Some(credentials) => {
                        cached.failed_at = Some(now);
                        tracing::warn!(
                            provider = self.inner.name(),
                            expiration = ?credentials.expiration,
                            error = %error,
                            "refreshing credentials failed; using the cached ones until they expire"
                        );
                        Ok(credentials)
                    }
                    None => Err(error),
                }
            }
        }
    }
}

impl<P: fmt::Debug> fmt::Debug for CachedProvider<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expiration = self.cache.read().ok().and_then(|c| c.credentials.as_ref().map(|c| c.expiration));
        f.debug_struct("CachedProvider")
            .field("inner", &self.inner)
            .field("refresh_before", &self.refresh_before)
            .field("cached_expiration", &expiration)
            .finish_non_exhaustive()
    }
}

impl<P: CredentialsProvider> CredentialsProvider for CachedProvider<P> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.get())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;
    use crate::credentials::{
        SecretString,
        ecs_ram_role::{
            EcsRamRoleProvider,
            tests::{FakeImds, ROLE_SECRET, ROLE_TOKEN},
        },
        oidc::{
            OidcProvider,
            tests::{FakeSts, OIDC_TOKEN, STS_SECRET, STS_TOKEN, token_file},
        },
    };

    /// A scripted provider: counts calls, answers from a queue (last answer repeats), optionally slowly.
    #[derive(Debug)]
    struct Scripted {
        calls: AtomicUsize,
        answers: Mutex<Vec<Result<Credentials, String>>>,
        delay: Duration,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Credentials, String>>) -> Self {
            Self { calls: AtomicUsize::new(0), answers: Mutex::new(answers), delay: Duration::ZERO }
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl CredentialsProvider for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }
        fn credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(self.delay).await;
                let mut answers = self.answers.lock().unwrap();
                let answer = if answers.len() > 1 { answers.remove(0) } else { answers[0].clone() };
                answer.map_err(|reason| CredentialsError::Provider { provider: "scripted", reason })
            })
        }
    }

    fn temp(id: &str, expiration: OffsetDateTime) -> Credentials {
        Credentials::access_key(id, SecretString::new("cached-secret-pqr"))
            .with_security_token("cached-token-stu")
            .with_expiration(expiration)
    }

    fn fake_clock(start: OffsetDateTime) -> (Clock, Arc<Mutex<OffsetDateTime>>) {
        let now = Arc::new(Mutex::new(start));
        let reader = now.clone();
        (Clock::from_fn(move || *reader.lock().unwrap()), now)
    }

    #[tokio::test]
    async fn refreshes_inside_the_window_only() {
        let t0 = OffsetDateTime::now_utc();
        let (clock, now) = fake_clock(t0);
        let inner = Scripted::new(vec![
            Ok(temp("A", t0 + time::Duration::hours(1))),
            Ok(temp("B", t0 + time::Duration::hours(2))),
        ]);
        let p = CachedProvider::new(inner).with_clock(clock);
        assert_eq!(p.credentials().await.unwrap().access_key_id, "A");
        assert_eq!(p.credentials().await.unwrap().access_key_id, "A");
        assert_eq!(p.inner().calls(), 1);
        // 181 s left: still cached.
        *now.lock().unwrap() = t0 + time::Duration::seconds(3600 - 181);
        assert_eq!(p.credentials().await.unwrap().access_key_id, "A");
        assert_eq!(p.inner().calls(), 1);
        // 180 s left: refreshed.
        *now.lock().unwrap() = t0 + time::Duration::seconds(3600 - 180);
        assert_eq!(p.credentials().await.unwrap().access_key_id, "B");
        assert_eq!(p.inner().calls(), 2);
        // Configurable window.
        let inner = Scripted::new(vec![Ok(temp("A", t0 + time::Duration::seconds(300)))]);
        let (clock, _) = fake_clock(t0);
        let p = CachedProvider::new(inner).with_clock(clock).with_refresh_before(Duration::from_secs(600));
        p.credentials().await.unwrap();
        p.credentials().await.unwrap();
        assert_eq!(p.inner().calls(), 2);
    }

    #[tokio::test]
    async fn credentials_without_expiry_are_kept() {
        let inner = Scripted::new(vec![Ok(Credentials::access_key("AK", "s"))]);
        let p = CachedProvider::new(inner);
        for _ in 0..3 {
            p.credentials().await.unwrap();
        }
        assert_eq!(p.inner().calls(), 1);
        p.invalidate();
        p.credentials().await.unwrap();
        assert_eq!(p.inner().calls(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_callers_share_one_refresh() {
        let t0 = OffsetDateTime::now_utc();
        let mut inner = Scripted::new(vec![Ok(temp("A", t0 + time::Duration::hours(1)))]);
        inner.delay = Duration::from_millis(100);
        let p = Arc::new(CachedProvider::new(inner));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move { p.credentials().await.map(|c| c.access_key_id) })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), "A");
        }
        assert_eq!(p.inner().calls(), 1);
    }

    #[tokio::test]
    async fn failed_refresh_serves_valid_cache_then_fails_after_expiry() {
        let t0 = OffsetDateTime::now_utc();
        let (clock, now) = fake_clock(t0);
        let inner =
            Scripted::new(vec![Ok(temp("A", t0 + time::Duration::seconds(100))), Err("metadata server down".into())]);
        let p = CachedProvider::new(inner).with_clock(clock);
        assert_eq!(p.credentials().await.unwrap().access_key_id, "A");
        // Inside the window: refresh fails, cached still valid.
        assert_eq!(p.credentials().await.unwrap().access_key_id, "A");
        assert_eq!(p.inner().calls(), 2);
        // Backing off: no new attempt within the retry interval.
        *now.lock().unwrap() = t0 + time::Duration::seconds(5);
        assert_eq!(p.credentials().await.unwrap().access_key_id, "A");
        assert_eq!(p.inner().calls(), 2);
        // Retried after it.
        *now.lock().unwrap() = t0 + time::Duration::seconds(11);
        assert_eq!(p.credentials().await.unwrap().access_key_id, "A");
        assert_eq!(p.inner().calls(), 3);
        // Expired: the error comes through.
        *now.lock().unwrap() = t0 + time::Duration::seconds(101);
        let err = p.credentials().await.unwrap_err();
        assert!(err.to_string().contains("metadata server down"), "{err}");
        let shown = format!("{p:?}");
        assert!(!shown.contains("cached-secret-pqr") && !shown.contains("cached-token-stu"), "{shown}");
    }

    #[tokio::test]
    async fn ecs_role_expiring_soon_is_refetched_and_an_hour_is_not() {
        let imds = FakeImds::new();
        imds.state.lock().unwrap().expires_in = 100;
        let url = imds.serve().await;
        let p = CachedProvider::new(EcsRamRoleProvider::new().with_endpoint(&url));
        p.credentials().await.unwrap();
        p.credentials().await.unwrap();
        assert_eq!(imds.credential_fetches(), 2, "expiring in 100 s: refreshed on the next call");

        let imds = FakeImds::new();
        let url = imds.serve().await;
        let p = CachedProvider::new(EcsRamRoleProvider::new().with_endpoint(&url));
        p.credentials().await.unwrap();
        p.credentials().await.unwrap();
        assert_eq!(imds.credential_fetches(), 1, "expiring in 1 h: cached");

        // The metadata server starts failing: the cached, still-valid credentials keep being served.
        let imds = FakeImds::new();
        imds.state.lock().unwrap().expires_in = 100;
        let url = imds.serve().await;
        let p = CachedProvider::new(EcsRamRoleProvider::new().with_endpoint(&url));
        p.credentials().await.unwrap();
        imds.state.lock().unwrap().code = "Failed".into();
        let c = p.credentials().await.unwrap();
        assert_eq!(c.access_key_secret.expose(), ROLE_SECRET);
        assert_eq!(imds.credential_fetches(), 2);
        let shown = format!("{p:?}");
        assert!(!shown.contains(ROLE_SECRET) && !shown.contains(ROLE_TOKEN), "{shown}");
    }

    #[tokio::test]
    async fn oidc_expiring_soon_is_refetched_with_a_fresh_token() {
        let sts = FakeSts::new();
        sts.state.lock().unwrap().expires_in = 100;
        let url = sts.serve().await;
        let file = token_file("cache", OIDC_TOKEN);
        let p = CachedProvider::new(OidcProvider::new("r", "p", &file).with_sts_endpoint(&url));
        p.credentials().await.unwrap();
        std::fs::write(&file, "rotated-token").unwrap();
        p.credentials().await.unwrap();
        assert_eq!(sts.calls(), 2);
        assert_eq!(sts.state.lock().unwrap().requests[1].1["OIDCToken"], "rotated-token");
        sts.state.lock().unwrap().expires_in = 3600;
        p.credentials().await.unwrap();
        p.credentials().await.unwrap();
        assert_eq!(sts.calls(), 3);
        let shown = format!("{p:?}");
        for s in [OIDC_TOKEN, STS_SECRET, STS_TOKEN] {
            assert!(!shown.contains(s), "{shown}");
        }
    }
}
