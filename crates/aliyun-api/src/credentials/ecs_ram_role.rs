//! The RAM role attached to this ECS instance, through the instance metadata server.

use std::{fmt, time::Duration};

use super::{
    BoxFuture, Credentials, CredentialsError, CredentialsProvider, SecretString,
    env::Env,
    util::{describe_transport, json_str, parse_expiration, truncate},
};

const PROVIDER: &str = "ecs-ram-role";

/// The metadata server's address.
pub const DEFAULT_METADATA_ENDPOINT: &str = "http://100.100.100.200";
/// Overrides the metadata server's address (the Go CCM's variable; `http://127.0.0.1:8080` or `host:port`).
pub const METADATA_ENDPOINT_ENV: &str = "METADATA_ENDPOINT";
/// The RAM role name; discovered from the metadata server when unset.
pub const ROLE_NAME_ENV: &str = "ALIBABA_CLOUD_ECS_METADATA";
/// `true` makes the IMDSv2 token mandatory (no token-less fallback).
pub const IMDSV1_DISABLED_ENV: &str = "ALIBABA_CLOUD_IMDSV1_DISABLED";
/// Lifetime asked for the metadata token, in seconds (the maximum, as in the SDKs).
pub const METADATA_TOKEN_TTL_SECONDS: u32 = 21600;

const TOKEN_PATH: &str = "/latest/api/token";
const CREDENTIALS_PATH: &str = "/latest/meta-data/ram/security-credentials/";
const TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";

/// Temporary credentials of the instance's RAM role, from the metadata server (`100.100.100.200`).
///
/// Each call asks for an IMDSv2 token (`PUT /latest/api/token`), discovers the role name unless one is
/// configured (`GET /latest/meta-data/ram/security-credentials/`), then fetches
/// `/latest/meta-data/ram/security-credentials/<role>`. When the token request fails the provider carries on
/// without a token (IMDSv1), unless IMDSv1 is disabled. Timeouts: 1 s to connect, 5 s in all.
///
/// Every call goes to the server: wrap the provider in [`CachedProvider`](super::CachedProvider) (as
/// [`default_chain`](super::default_chain) does) to reuse credentials until shortly before they expire.
#[derive(Clone)]
pub struct EcsRamRoleProvider {
    endpoint: String,
    role_name: Option<String>,
    imdsv1_disabled: bool,
    connect_timeout: Duration,
    timeout: Duration,
    client: tokio::sync::OnceCell<reqwest::Client>,
}

impl Default for EcsRamRoleProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl EcsRamRoleProvider {
    /// The real metadata server, the role discovered, IMDSv1 fallback allowed.
    pub fn new() -> Self {
        Self {
            endpoint: DEFAULT_METADATA_ENDPOINT.to_owned(),
            role_name: None,
            imdsv1_disabled: false,
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
            client: tokio::sync::OnceCell::new(),
        }
    }

    /// Configured from `METADATA_ENDPOINT`, `ALIBABA_CLOUD_ECS_METADATA` and `ALIBABA_CLOUD_IMDSV1_DISABLED`.
    pub fn from_env(env: &Env) -> Self {
        let mut provider = Self::new().with_imdsv1_disabled(env.is_true(IMDSV1_DISABLED_ENV));
        if let Some(endpoint) = env.get(METADATA_ENDPOINT_ENV) {
            provider = provider.with_endpoint(endpoint);
        }
        if let Some(role) = env.get(ROLE_NAME_ENV) {
            provider = provider.with_role_name(role);
        }
        provider
    }

    /// Uses another metadata server: a URL (`http://127.0.0.1:8080`) or `host[:port]` (plain HTTP).
    pub fn with_endpoint(mut self, endpoint: impl AsRef<str>) -> Self {
        let endpoint = endpoint.as_ref().trim().trim_end_matches('/');
        self.endpoint = if endpoint.contains("://") { endpoint.to_owned() } else { format!("http://{endpoint}") };
        self
    }

    /// Uses this RAM role instead of discovering it.
    pub fn with_role_name(mut self, role_name: impl Into<String>) -> Self {
        let role_name = role_name.into().trim().to_owned();
        self.role_name = (!role_name.is_empty()).then_some(role_name);
        self
    }

    /// With `true`, fails when no metadata token can be had instead of falling back to token-less requests.
    pub fn with_imdsv1_disabled(mut self, disabled: bool) -> Self {
        self.imdsv1_disabled = disabled;
        self
    }

    /// Changes the timeouts (connect, and whole request).
    pub fn with_timeouts(mut self, connect: Duration, total: Duration) -> Self {
        self.connect_timeout = connect;
        self.timeout = total;
        self.client = tokio::sync::OnceCell::new();
        self
    }

    /// The metadata server's base URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn err(reason: impl Into<String>) -> CredentialsError {
        CredentialsError::Provider { provider: PROVIDER, reason: reason.into() }
    }

    async fn client(&self) -> Result<&reqwest::Client, CredentialsError> {
        self.client
            .get_or_try_init(|| async {
                // Plain HTTP to a link-local address: no proxy, no TLS roots.
                reqwest::Client::builder()
                    .no_proxy()
                    .tls_built_in_root_certs(false)
                    .connect_timeout(self.connect_timeout)
                    .timeout(self.timeout)
                    .build()
                    .map_err(|e| Self::err(format!("cannot build the HTTP client: {}", describe_transport(&e))))
            })
            .await
    }

    /// An IMDSv2 token, `None` to go on without one, or an error.
    async fn token(&self, client: &reqwest::Client) -> Result<Option<SecretString>, CredentialsError> {
        let url = format!("{}{TOKEN_PATH}", self.endpoint);
        let response = client.put(&url).header(TOKEN_TTL_HEADER, METADATA_TOKEN_TTL_SECONDS.to_string()).send().await;
        let failure = match response {
            Ok(r) if r.status().is_success() => match r.text().await {
                Ok(token) if !token.trim().is_empty() => return Ok(Some(SecretString::new(token.trim()))),
                Ok(_) => "the metadata server answered an empty token".to_owned(),
                Err(e) => format!("reading the token failed: {}", describe_transport(&e)),
            },
            Ok(r) => format!("PUT {url} answered HTTP {}", r.status().as_u16()),
            Err(e) if e.is_connect() || e.is_timeout() => {
                // The GET would fail the same way: not on ECS, or the endpoint is wrong.
                return Err(Self::err(format!(
                    "metadata server {} unreachable ({}); not running on ECS? (disable this source with \
                     ALIBABA_CLOUD_ECS_METADATA_DISABLED=true, or set {METADATA_ENDPOINT_ENV})",
                    self.endpoint,
                    describe_transport(&e)
                )));
            }
            Err(e) => describe_transport(&e),
        };
        if self.imdsv1_disabled {
            return Err(Self::err(format!(
                "no metadata token ({failure}) and {IMDSV1_DISABLED_ENV}=true forbids token-less requests"
            )));
        }
        tracing::debug!(reason = %failure, "no ECS metadata token; falling back to token-less (IMDSv1) requests");
        Ok(None)
    }

    async fn get(
        &self,
        client: &reqwest::Client,
        path: &str,
        token: Option<&SecretString>,
    ) -> Result<String, CredentialsError> {
        let url = format!("{}{path}", self.endpoint);
        let mut request = client.get(&url);
        if let Some(token) = token {
            request = request.header(TOKEN_HEADER, token.expose());
        }
        let response = request.send().await.map_err(|e| Self::err(format!("GET {url}: {}", describe_transport(&e))))?;
        let status = response.status();
        if !status.is_success() {
            let hint = match status.as_u16() {
                401 | 403 if token.is_none() => {
                    "; the instance may require metadata tokens (IMDSv2) and the token request failed"
                }
                404 if path == CREDENTIALS_PATH => "; is a RAM role attached to the instance?",
                404 => "; is that RAM role attached to the instance? (check ALIBABA_CLOUD_ECS_METADATA)",
                _ => "",
            };
            return Err(Self::err(format!("GET {url} answered HTTP {}{hint}", status.as_u16())));
        }
        response.text().await.map_err(|e| Self::err(format!("GET {url}: {}", describe_transport(&e))))
    }

    async fn fetch(&self) -> Result<Credentials, CredentialsError> {
        let client = self.client().await?;
        let token = self.token(client).await?;
        let role = match &self.role_name {
            Some(role) => role.clone(),
            None => {
                let listing = self.get(client, CREDENTIALS_PATH, token.as_ref()).await?;
                match listing.lines().map(str::trim).find(|l| !l.is_empty()) {
                    Some(role) => role.to_owned(),
                    None => return Err(Self::err("no RAM role is attached to this instance")),
                }
            }
        };
        let body = self.get(client, &format!("{CREDENTIALS_PATH}{role}"), token.as_ref()).await?;
        parse_role_credentials(&role, &body)
    }
}

/// The metadata server's JSON for a role: `{"Code":"Success","AccessKeyId",...}`.
fn parse_role_credentials(role: &str, body: &str) -> Result<Credentials, CredentialsError> {
    let err = |reason: String| EcsRamRoleProvider::err(format!("role {role}: {reason}"));
    let doc: serde_json::Value =
        serde_json::from_str(body).map_err(|_| err("the metadata server's answer is not JSON".to_owned()))?;
    match json_str(&doc, "Code") {
        Some("Success") => {}
        Some(code) => return Err(err(format!("the metadata server answered Code {}", truncate(code, 100)))),
        None => return Err(err("the metadata server's answer has no Code".to_owned())),
    }
    let field = |name: &str| json_str(&doc, name).ok_or_else(|| err(format!("the answer lacks {name}")));
    let id = field("AccessKeyId")?;
    let secret = field("AccessKeySecret")?;
    let token = field("SecurityToken")?;
    let expiration = field("Expiration")?;
    let expiration = parse_expiration(expiration)
        .ok_or_else(|| err(format!("cannot parse Expiration {}", truncate(expiration, 40))))?;
    Ok(Credentials::access_key(id, SecretString::new(secret)).with_security_token(token).with_expiration(expiration))
}

impl fmt::Debug for EcsRamRoleProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcsRamRoleProvider")
            .field("endpoint", &self.endpoint)
            .field("role_name", &self.role_name)
            .field("imdsv1_disabled", &self.imdsv1_disabled)
            .finish_non_exhaustive()
    }
}

impl CredentialsProvider for EcsRamRoleProvider {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.fetch())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use axum::{
        Router,
        extract::{Path, State},
        http::{HeaderMap, Method, StatusCode},
        routing::{any, get},
    };
    use time::OffsetDateTime;

    use super::*;

    pub(crate) const ROLE_SECRET: &str = "ecs-role-secret-abc";
    pub(crate) const ROLE_TOKEN: &str = "ecs-role-sts-token-def";
    const IMDS_TOKEN: &str = "imds-token-ghi";

    /// A fake metadata server.
    #[derive(Clone)]
    pub(crate) struct FakeImds {
        pub(crate) state: Arc<Mutex<ImdsState>>,
    }

    pub(crate) struct ImdsState {
        /// Token PUTs answer 403 / token-less GETs answer 403.
        pub(crate) token_api_broken: bool,
        pub(crate) token_required: bool,
        pub(crate) role: String,
        pub(crate) code: String,
        /// Seconds from now the credentials expire.
        pub(crate) expires_in: i64,
        /// (method, path, ttl header, token header) of every request.
        pub(crate) requests: Vec<(String, String, Option<String>, Option<String>)>,
    }

    impl FakeImds {
        pub(crate) fn new() -> Self {
            Self {
                state: Arc::new(Mutex::new(ImdsState {
                    token_api_broken: false,
                    token_required: false,
                    role: "KubernetesMasterRole".into(),
                    code: "Success".into(),
                    expires_in: 3600,
                    requests: Vec::new(),
                })),
            }
        }

        pub(crate) fn credential_fetches(&self) -> usize {
            let s = self.state.lock().unwrap();
            s.requests.iter().filter(|r| r.0 == "GET" && r.1.ends_with(&format!("/{}", s.role))).count()
        }

        /// Serves on 127.0.0.1; returns the base URL.
        pub(crate) async fn serve(&self) -> String {
            async fn token(State(s): State<FakeImds>, method: Method, headers: HeaderMap) -> (StatusCode, String) {
                let mut st = s.state.lock().unwrap();
                let ttl = headers.get(TOKEN_TTL_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
                st.requests.push((method.to_string(), TOKEN_PATH.into(), ttl.clone(), None));
                if method != Method::PUT || st.token_api_broken || ttl.as_deref() != Some("21600") {
                    return (StatusCode::FORBIDDEN, "Forbidden".into());
                }
                (StatusCode::OK, IMDS_TOKEN.into())
            }
            fn check(st: &mut ImdsState, path: String, headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
                let token = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let bad = match &token {
                    Some(t) => t != IMDS_TOKEN,
                    None => st.token_required,
                };
                st.requests.push(("GET".into(), path, None, token));
                if bad { Err((StatusCode::FORBIDDEN, "Forbidden".into())) } else { Ok(()) }
            }
            async fn listing(State(s): State<FakeImds>, headers: HeaderMap) -> (StatusCode, String) {
                let mut st = s.state.lock().unwrap();
                if let Err(e) = check(&mut st, CREDENTIALS_PATH.into(), &headers) {
                    return e;
                }
                (StatusCode::OK, st.role.clone())
            }
            async fn role(
                State(s): State<FakeImds>,
                Path(role): Path<String>,
                headers: HeaderMap,
            ) -> (StatusCode, String) {
                let mut st = s.state.lock().unwrap();
                if let Err(e) = check(&mut st, format!("{CREDENTIALS_PATH}{role}"), &headers) {
                    return e;
                }
                if role != st.role {
                    return (StatusCode::NOT_FOUND, "Not Found".into());
                }
                let expiration = OffsetDateTime::now_utc() + time::Duration::seconds(st.expires_in);
                let expiration = expiration.replace_nanosecond(0).unwrap();
                let expiration = expiration.format(&time::format_description::well_known::Rfc3339).unwrap();
                let body = serde_json::json!({
                    "Code": st.code,
                    "AccessKeyId": "STS.roleid",
                    "AccessKeySecret": ROLE_SECRET,
                    "SecurityToken": ROLE_TOKEN,
                    "Expiration": expiration,
                    "LastUpdated": "2024-01-01T00:00:00Z",
                });
                (StatusCode::OK, body.to_string())
            }
            let app = Router::new()
                .route(TOKEN_PATH, any(token))
                .route(CREDENTIALS_PATH, get(listing))
                .route(&format!("{CREDENTIALS_PATH}{{role}}"), get(role))
                .with_state(self.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            format!("http://{addr}")
        }
    }

    fn assert_no_secrets(text: &str) {
        for s in [ROLE_SECRET, ROLE_TOKEN, IMDS_TOKEN] {
            assert!(!text.contains(s), "secret {s} in {text}");
        }
    }

    #[tokio::test]
    async fn token_required_with_role_discovery() {
        let imds = FakeImds::new();
        imds.state.lock().unwrap().token_required = true;
        let url = imds.serve().await;
        let p = EcsRamRoleProvider::new().with_endpoint(&url);
        let c = p.credentials().await.unwrap();
        assert_eq!(c.access_key_id, "STS.roleid");
        assert_eq!(c.access_key_secret.expose(), ROLE_SECRET);
        assert_eq!(c.security_token.as_ref().map(SecretString::expose), Some(ROLE_TOKEN));
        let left = c.expiration.unwrap() - OffsetDateTime::now_utc();
        assert!(left > time::Duration::seconds(3500) && left <= time::Duration::seconds(3600), "{left}");

        let st = imds.state.lock().unwrap();
        let r = &st.requests;
        assert_eq!(r.len(), 3, "{r:?}");
        assert_eq!((r[0].0.as_str(), r[0].1.as_str(), r[0].2.as_deref()), ("PUT", TOKEN_PATH, Some("21600")));
        assert_eq!((r[1].1.as_str(), r[1].3.as_deref()), (CREDENTIALS_PATH, Some(IMDS_TOKEN)));
        assert_eq!(
            (r[2].1.as_str(), r[2].3.as_deref()),
            ("/latest/meta-data/ram/security-credentials/KubernetesMasterRole", Some(IMDS_TOKEN))
        );
        assert_no_secrets(&format!("{p:?} {c:?}"));
    }

    #[tokio::test]
    async fn configured_role_skips_discovery() {
        let imds = FakeImds::new();
        let url = imds.serve().await;
        let env = Env::from_pairs([(METADATA_ENDPOINT_ENV, url.as_str()), (ROLE_NAME_ENV, "KubernetesMasterRole")]);
        let p = EcsRamRoleProvider::from_env(&env);
        assert_eq!(p.endpoint(), url);
        p.credentials().await.unwrap();
        let st = imds.state.lock().unwrap();
        assert_eq!(st.requests.len(), 2, "{:?}", st.requests);
        assert!(st.requests.iter().all(|r| r.1 != CREDENTIALS_PATH));
    }

    #[tokio::test]
    async fn token_failure_falls_back_to_imdsv1() {
        let imds = FakeImds::new();
        imds.state.lock().unwrap().token_api_broken = true;
        let url = imds.serve().await;
        let c = EcsRamRoleProvider::new().with_endpoint(&url).credentials().await.unwrap();
        assert_eq!(c.access_key_id, "STS.roleid");
        let st = imds.state.lock().unwrap();
        assert_eq!(st.requests.len(), 3);
        assert!(st.requests[1..].iter().all(|r| r.3.is_none()), "{:?}", st.requests);
    }

    #[tokio::test]
    async fn imdsv1_disabled_makes_the_token_mandatory() {
        let imds = FakeImds::new();
        imds.state.lock().unwrap().token_api_broken = true;
        let url = imds.serve().await;
        let env = Env::from_pairs([(METADATA_ENDPOINT_ENV, url.as_str()), (IMDSV1_DISABLED_ENV, "true")]);
        let err = EcsRamRoleProvider::from_env(&env).credentials().await.unwrap_err();
        assert!(err.to_string().contains(IMDSV1_DISABLED_ENV), "{err}");
        assert_eq!(imds.state.lock().unwrap().requests.len(), 1);
    }

    #[tokio::test]
    async fn token_required_but_unavailable_is_a_clear_403() {
        let imds = FakeImds::new();
        {
            let mut st = imds.state.lock().unwrap();
            st.token_api_broken = true;
            st.token_required = true;
        }
        let url = imds.serve().await;
        let err = EcsRamRoleProvider::new().with_endpoint(&url).credentials().await.unwrap_err();
        assert!(err.to_string().contains("HTTP 403") && err.to_string().contains("IMDSv2"), "{err}");
    }

    #[tokio::test]
    async fn code_other_than_success_is_rejected() {
        let imds = FakeImds::new();
        imds.state.lock().unwrap().code = "Failed".into();
        let url = imds.serve().await;
        let p = EcsRamRoleProvider::new().with_endpoint(&url);
        let err = p.credentials().await.unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("Code Failed") && shown.contains("KubernetesMasterRole"), "{shown}");
        assert_no_secrets(&shown);
    }

    #[tokio::test]
    async fn unknown_role_and_unreachable_server() {
        let imds = FakeImds::new();
        let url = imds.serve().await;
        let err = EcsRamRoleProvider::new().with_endpoint(&url).with_role_name("Nope").credentials().await.unwrap_err();
        assert!(err.to_string().contains("HTTP 404"), "{err}");

        // A port nobody listens on (bound, then dropped).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = EcsRamRoleProvider::new().with_endpoint(addr.to_string()).credentials().await.unwrap_err();
        assert!(err.to_string().contains("unreachable"), "{err}");
    }

    #[test]
    fn parse_rejects_missing_fields_without_echoing_secrets() {
        let body = format!(r#"{{"Code":"Success","AccessKeyId":"STS.x","AccessKeySecret":"{ROLE_SECRET}"}}"#);
        let err = parse_role_credentials("r", &body).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("SecurityToken"), "{shown}");
        assert_no_secrets(&shown);
        let err = parse_role_credentials("r", &format!("oops {ROLE_SECRET}")).unwrap_err();
        assert_no_secrets(&format!("{err} {err:?}"));
    }
}
