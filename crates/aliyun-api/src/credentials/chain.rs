//! The default credentials chain: environment, OIDC, cloud-config, ECS RAM role.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::OnceLock,
    time::Duration,
};

use super::{
    BoxFuture, Credentials, CredentialsError, CredentialsProvider,
    cache::{CachedProvider, Clock, DEFAULT_REFRESH_BEFORE},
    cloud_config::CloudConfigProvider,
    ecs_ram_role::EcsRamRoleProvider,
    env::{Env, EnvProvider},
    oidc::{OidcProvider, sts_endpoint_from_env},
};

/// `true` leaves the ECS RAM role (metadata server) out of the default chain.
pub const ECS_METADATA_DISABLED_ENV: &str = "ALIBABA_CLOUD_ECS_METADATA_DISABLED";

/// Tries providers in order; the first that yields credentials is remembered and used alone afterwards (as in
/// the official SDKs). When none does, [`CredentialsError::NotFound`] lists each provider and why it failed.
pub struct ChainProvider {
    providers: Vec<Box<dyn CredentialsProvider>>,
    chosen: OnceLock<usize>,
    discovery: tokio::sync::Mutex<()>,
}

impl ChainProvider {
    /// Tries `providers` in this order.
    pub fn new(providers: Vec<Box<dyn CredentialsProvider>>) -> Self {
        Self { providers, chosen: OnceLock::new(), discovery: tokio::sync::Mutex::new(()) }
    }

    /// The names of the providers, in order.
    pub fn provider_names(&self) -> Vec<&'static str> {
        self.providers.iter().map(|p| p.name()).collect()
    }

    /// The name of the provider in use, once one has succeeded.
    pub fn chosen(&self) -> Option<&'static str> {
        self.chosen.get().and_then(|i| self.providers.get(*i)).map(|p| p.name())
    }

    async fn get(&self) -> Result<Credentials, CredentialsError> {
        if let Some(provider) = self.chosen.get().and_then(|i| self.providers.get(*i)) {
            return provider.credentials().await;
        }
        // One discovery at a time, so concurrent first callers do not all walk the chain.
        let _discovering = self.discovery.lock().await;
        if let Some(provider) = self.chosen.get().and_then(|i| self.providers.get(*i)) {
            return provider.credentials().await;
        }
        let mut tried = Vec::with_capacity(self.providers.len());
        for (index, provider) in self.providers.iter().enumerate() {
            match provider.credentials().await {
                Ok(credentials) => {
                    let _ = self.chosen.set(index);
                    tracing::info!(
                        provider = provider.name(),
                        access_key_id = %credentials.access_key_id,
                        "using Alibaba Cloud credentials"
                    );
                    return Ok(credentials);
                }
                Err(error) => {
                    tracing::debug!(provider = provider.name(), error = %error, "no credentials from provider");
                    tried.push(match error {
                        CredentialsError::Provider { provider, reason } => format!("{provider}: {reason}"),
                        other => format!("{}: {other}", provider.name()),
                    });
                }
            }
        }
        Err(CredentialsError::NotFound { tried })
    }
}

impl fmt::Debug for ChainProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainProvider").field("providers", &self.providers).field("chosen", &self.chosen()).finish()
    }
}

impl CredentialsProvider for ChainProvider {
    fn name(&self) -> &'static str {
        self.chosen().unwrap_or("chain")
    }

    fn credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.get())
    }
}

/// A chain member that is not configured: always fails with its reason, so [`CredentialsError::NotFound`] says
/// why it was skipped.
#[derive(Debug)]
struct Skipped {
    name: &'static str,
    reason: String,
}

impl CredentialsProvider for Skipped {
    fn name(&self) -> &'static str {
        self.name
    }

    fn credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        let error = CredentialsError::Provider { provider: self.name, reason: self.reason.clone() };
        Box::pin(async move { Err(error) })
    }
}

/// Settings of the default chain, with every input injectable for tests.
///
/// ```no_run
/// # use aliyun_api::credentials::ChainConfig;
/// let chain = ChainConfig::from_process_env().cloud_config("/etc/kubernetes/cloud-config.json").build();
/// ```
#[derive(Debug, Clone)]
pub struct ChainConfig {
    env: Env,
    cloud_config: Option<PathBuf>,
    metadata_endpoint: Option<String>,
    sts_endpoint: Option<String>,
    refresh_before: Duration,
    clock: Clock,
}

impl ChainConfig {
    /// Reads variables through `env`; no cloud-config file; endpoints from the variables or the defaults.
    pub fn new(env: Env) -> Self {
        Self {
            env,
            cloud_config: None,
            metadata_endpoint: None,
            sts_endpoint: None,
            refresh_before: DEFAULT_REFRESH_BEFORE,
            clock: Clock::system(),
        }
    }

    /// Reads the process environment.
    pub fn from_process_env() -> Self {
        Self::new(Env::process())
    }

    /// Also reads AccessKeys from this Go CCM cloud-config file (`--cloud-config`).
    pub fn cloud_config(mut self, path: impl Into<PathBuf>) -> Self {
        self.cloud_config = Some(path.into());
        self
    }

    /// Uses this metadata server instead of `METADATA_ENDPOINT` / `100.100.100.200`.
    pub fn metadata_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.metadata_endpoint = Some(endpoint.into());
        self
    }

    /// Uses this STS endpoint (host or URL) instead of `STS_ENDPOINT` / `ALIBABA_CLOUD_STS_REGION`.
    pub fn sts_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.sts_endpoint = Some(endpoint.into());
        self
    }

    /// Refreshes temporary credentials this long before they expire (default 180 s).
    pub fn refresh_before(mut self, refresh_before: Duration) -> Self {
        self.refresh_before = refresh_before;
        self
    }

    /// Reads the time from `clock` (for tests).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn cached<P: CredentialsProvider + 'static>(&self, provider: P) -> Box<dyn CredentialsProvider> {
        Box::new(CachedProvider::new(provider).with_refresh_before(self.refresh_before).with_clock(self.clock.clone()))
    }

    /// The chain: environment, OIDC (when its variables are set), cloud-config (when a file is given), ECS RAM
    /// role (unless `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`). Members that are not configured stay in the
    /// chain only to say so in [`CredentialsError::NotFound`].
    pub fn build(self) -> ChainProvider {
        let mut providers: Vec<Box<dyn CredentialsProvider>> = vec![Box::new(EnvProvider::new(self.env.clone()))];

        providers.push(match OidcProvider::from_env(&self.env) {
            Ok(Some(oidc)) => {
                let endpoint = self.sts_endpoint.clone().unwrap_or_else(|| sts_endpoint_from_env(&self.env));
                self.cached(oidc.with_sts_endpoint(endpoint))
            }
            Ok(None) => Box::new(Skipped {
                name: "oidc",
                reason: "ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and ALIBABA_CLOUD_OIDC_TOKEN_FILE \
                         not set"
                    .to_owned(),
            }),
            Err(CredentialsError::Provider { reason, .. }) => Box::new(Skipped { name: "oidc", reason }),
            Err(other) => Box::new(Skipped { name: "oidc", reason: other.to_string() }),
        });

        providers.push(match &self.cloud_config {
            Some(path) => Box::new(CloudConfigProvider::new(path)),
            None => Box::new(Skipped { name: "cloud-config", reason: "no cloud-config file given".to_owned() }),
        });

        providers.push(if self.env.is_true(ECS_METADATA_DISABLED_ENV) {
            Box::new(Skipped { name: "ecs-ram-role", reason: format!("disabled by {ECS_METADATA_DISABLED_ENV}=true") })
        } else {
            let mut ecs = EcsRamRoleProvider::from_env(&self.env);
            if let Some(endpoint) = &self.metadata_endpoint {
                ecs = ecs.with_endpoint(endpoint);
            }
            self.cached(ecs)
        });

        ChainProvider::new(providers)
    }
}

/// The default chain over the process environment, with the Go CCM's `--cloud-config` file when given.
pub fn default_chain(cloud_config: Option<&Path>) -> ChainProvider {
    let mut config = ChainConfig::from_process_env();
    if let Some(path) = cloud_config {
        config = config.cloud_config(path);
    }
    config.build()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::credentials::{
        ecs_ram_role::{
            METADATA_ENDPOINT_ENV,
            tests::{FakeImds, ROLE_SECRET, ROLE_TOKEN},
        },
        env::{ACCESS_KEY_ID, ACCESS_KEY_SECRET},
        oidc::{
            OIDC_PROVIDER_ARN_ENV, OIDC_TOKEN_FILE_ENV, ROLE_ARN_ENV,
            tests::{FakeSts, OIDC_TOKEN, STS_SECRET, STS_TOKEN, token_file},
        },
    };

    const ENV_SECRET: &str = "chain-env-secret-vwx";
    const CC_SECRET: &str = "chain-cc-secret-yz";

    fn cloud_config_file(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("aliyun-api-chain-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cloud-config.json");
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let text =
            format!(r#"{{"Global":{{"accessKeyID":"{}","accessKeySecret":"{}"}}}}"#, b64("LTAIcc"), b64(CC_SECRET));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn assert_no_secrets(text: &str) {
        for s in [ENV_SECRET, CC_SECRET, ROLE_SECRET, ROLE_TOKEN, OIDC_TOKEN, STS_SECRET, STS_TOKEN] {
            assert!(!text.contains(s), "secret {s} in {text}");
        }
    }

    /// A port where nothing listens.
    fn dead_endpoint() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn nothing_configured_lists_every_provider() {
        let env = Env::from_pairs([(ECS_METADATA_DISABLED_ENV, "true")]);
        let chain = ChainConfig::new(env).build();
        assert_eq!(chain.provider_names(), ["environment", "oidc", "cloud-config", "ecs-ram-role"]);
        let err = chain.credentials().await.unwrap_err();
        let CredentialsError::NotFound { tried } = &err else { panic!("{err:?}") };
        assert_eq!(tried.len(), 4, "{tried:?}");
        assert!(tried[0].starts_with("environment: ALIBABA_CLOUD_ACCESS_KEY_ID not set"), "{tried:?}");
        assert!(tried[1].starts_with("oidc: ALIBABA_CLOUD_ROLE_ARN"), "{tried:?}");
        assert!(tried[2].starts_with("cloud-config: no cloud-config file"), "{tried:?}");
        assert_eq!(tried[3], "ecs-ram-role: disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED=true");
        assert!(err.to_string().starts_with("no Alibaba Cloud credentials found; tried: environment: "), "{err}");
        assert_eq!(chain.chosen(), None);
    }

    #[tokio::test]
    async fn failures_of_configured_providers_are_listed() {
        let dir = std::env::temp_dir().join(format!("aliyun-api-chain-missing-{}", std::process::id()));
        let env = Env::from_pairs([(ACCESS_KEY_SECRET, ENV_SECRET), (ROLE_ARN_ENV, "acs:ram::1:role/r")]);
        let chain = ChainConfig::new(env).cloud_config(dir.join("cc.json")).metadata_endpoint(dead_endpoint()).build();
        let err = chain.credentials().await.unwrap_err();
        let CredentialsError::NotFound { tried } = &err else { panic!("{err:?}") };
        assert!(tried[0].contains(ACCESS_KEY_ID) && tried[0].contains(ACCESS_KEY_SECRET), "{tried:?}");
        assert!(tried[1].contains(OIDC_TOKEN_FILE_ENV), "{tried:?}");
        assert!(tried[2].contains("cc.json"), "{tried:?}");
        assert!(tried[3].starts_with("ecs-ram-role: metadata server") && tried[3].contains("unreachable"), "{tried:?}");
        assert_no_secrets(&format!("{err} {err:?} {chain:?}"));
    }

    #[tokio::test]
    async fn environment_comes_first() {
        let imds = FakeImds::new();
        let url = imds.serve().await;
        let env = Env::from_pairs([(ACCESS_KEY_ID, "LTAIenv"), (ACCESS_KEY_SECRET, ENV_SECRET)]);
        let chain = ChainConfig::new(env).cloud_config(cloud_config_file("envfirst")).metadata_endpoint(&url).build();
        assert_eq!(chain.credentials().await.unwrap().access_key_id, "LTAIenv");
        assert_eq!(chain.chosen(), Some("environment"));
        assert_eq!(chain.name(), "environment");
        assert!(imds.state.lock().unwrap().requests.is_empty());
        assert_no_secrets(&format!("{chain:?}"));
    }

    #[tokio::test]
    async fn oidc_before_cloud_config_and_ecs() {
        let sts = FakeSts::new();
        let sts_url = sts.serve().await;
        let imds = FakeImds::new();
        let imds_url = imds.serve().await;
        let file = token_file("chain", OIDC_TOKEN);
        let env = Env::from_pairs([
            (ROLE_ARN_ENV, "acs:ram::1:role/r"),
            (OIDC_PROVIDER_ARN_ENV, "acs:ram::1:oidc-provider/p"),
            (OIDC_TOKEN_FILE_ENV, file.to_str().unwrap()),
        ]);
        let chain = ChainConfig::new(env)
            .cloud_config(cloud_config_file("oidc"))
            .metadata_endpoint(&imds_url)
            .sts_endpoint(&sts_url)
            .build();
        let c = chain.credentials().await.unwrap();
        assert_eq!(c.access_key_id, "STS.oidc");
        assert_eq!(chain.chosen(), Some("oidc"));
        // Cached: a second call does not reach STS.
        chain.credentials().await.unwrap();
        assert_eq!(sts.calls(), 1);
        assert!(imds.state.lock().unwrap().requests.is_empty());
        assert_no_secrets(&format!("{chain:?}"));
    }

    #[tokio::test]
    async fn cloud_config_before_ecs() {
        let imds = FakeImds::new();
        let url = imds.serve().await;
        let chain =
            ChainConfig::new(Env::empty()).cloud_config(cloud_config_file("ccfirst")).metadata_endpoint(&url).build();
        let c = chain.credentials().await.unwrap();
        assert_eq!((c.access_key_id.as_str(), c.access_key_secret.expose()), ("LTAIcc", CC_SECRET));
        assert_eq!(chain.chosen(), Some("cloud-config"));
        assert!(imds.state.lock().unwrap().requests.is_empty());
    }

    #[tokio::test]
    async fn ecs_role_last_and_the_choice_is_remembered() {
        let imds = FakeImds::new();
        imds.state.lock().unwrap().token_required = true;
        let url = imds.serve().await;
        let env = Env::from_pairs([(METADATA_ENDPOINT_ENV, url.as_str())]);
        let chain = ChainConfig::new(env).build();
        let c = chain.credentials().await.unwrap();
        assert_eq!(c.access_key_id, "STS.roleid");
        assert_eq!(chain.chosen(), Some("ecs-ram-role"));
        assert_no_secrets(&format!("{chain:?} {c:?}"));

        // Remembered: once the metadata server fails for good, its error comes back as is, with no fallback.
        imds.state.lock().unwrap().code = "Failed".into();
        let chain = ChainConfig::new(Env::from_pairs([(METADATA_ENDPOINT_ENV, url.as_str())]))
            .refresh_before(Duration::from_secs(7200))
            .build();
        imds.state.lock().unwrap().code = "Success".into();
        chain.credentials().await.unwrap();
        imds.state.lock().unwrap().code = "Failed".into();
        // Credentials expire in 1 h, inside the 2 h window: refreshed, fails, cached ones kept.
        assert_eq!(chain.credentials().await.unwrap().access_key_id, "STS.roleid");
        assert_eq!(chain.chosen(), Some("ecs-ram-role"));
    }

    #[tokio::test]
    async fn remembered_provider_is_used_alone() {
        use std::sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        };
        #[derive(Debug)]
        struct Flaky(Arc<AtomicUsize>, bool);
        impl CredentialsProvider for Flaky {
            fn name(&self) -> &'static str {
                if self.1 { "first" } else { "second" }
            }
            fn credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
                let n = self.0.fetch_add(1, Ordering::SeqCst);
                let first = self.1;
                Box::pin(async move {
                    // "first" works once, then fails; "second" always works.
                    if first && n > 0 {
                        Err(CredentialsError::Provider { provider: "first", reason: "gone".into() })
                    } else {
                        Ok(Credentials::access_key(if first { "one" } else { "two" }, "s"))
                    }
                })
            }
        }
        let (a, b) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let chain = ChainProvider::new(vec![Box::new(Flaky(a.clone(), true)), Box::new(Flaky(b.clone(), false))]);
        assert_eq!(chain.name(), "chain");
        assert_eq!(chain.credentials().await.unwrap().access_key_id, "one");
        let err = chain.credentials().await.unwrap_err();
        assert_eq!(err.to_string(), "first credentials: gone");
        assert_eq!(b.load(Ordering::SeqCst), 0, "the second provider is never tried once the first was chosen");

        let empty = ChainProvider::new(Vec::new());
        assert!(matches!(empty.credentials().await, Err(CredentialsError::NotFound { tried }) if tried.is_empty()));
    }

    #[tokio::test]
    async fn ecs_can_be_disabled_and_default_chain_builds() {
        let imds = FakeImds::new();
        let url = imds.serve().await;
        let env = Env::from_pairs([(METADATA_ENDPOINT_ENV, url.as_str()), (ECS_METADATA_DISABLED_ENV, "true")]);
        let chain = ChainConfig::new(env).build();
        assert!(chain.credentials().await.is_err());
        assert!(imds.state.lock().unwrap().requests.is_empty());
        let chain = default_chain(Some(Path::new("/etc/kubernetes/cloud-config.json")));
        assert_eq!(chain.provider_names().len(), 4);
    }
}
