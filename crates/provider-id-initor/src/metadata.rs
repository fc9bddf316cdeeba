//! A small client of the ECS instance metadata server (`http://100.100.100.200/latest/meta-data/<item>`).
//!
//! IMDSv2 first: a token from `PUT /latest/api/token` (header `X-aliyun-ecs-metadata-token-ttl-seconds`) is sent
//! with every `GET` as `X-aliyun-ecs-metadata-token`. When the token request fails, the client falls back to
//! token-less (IMDSv1) requests, as the Go CCM does. `METADATA_ENDPOINT` overrides the address.

use std::{
    fmt,
    sync::Mutex,
    time::{Duration, Instant},
};

/// The metadata server's address on every ECS instance.
pub const DEFAULT_ENDPOINT: &str = "http://100.100.100.200";
/// Environment variable overriding the metadata server's address (the Go CCM's name).
pub const ENDPOINT_ENV: &str = "METADATA_ENDPOINT";
/// Token lifetime asked for, in seconds (the largest the server grants; the Go CCM asks the same).
pub const TOKEN_TTL_SECONDS: u64 = 21_600;

const TOKEN_PATH: &str = "/latest/api/token";
const TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
/// A token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// Why a metadata item could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// No answer at all (connection refused, timeout, DNS).
    #[error(
        "metadata server {endpoint} unreachable while reading {item}: {reason}; is this an ECS instance? \
         (set {ENDPOINT_ENV} to use another address)"
    )]
    Unreachable {
        /// The server's base URL.
        endpoint: String,
        /// The item requested.
        item: String,
        /// What the HTTP client said.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("metadata server {endpoint} answered HTTP {status} for {item}{hint}")]
    Status {
        /// The server's base URL.
        endpoint: String,
        /// The item requested.
        item: String,
        /// HTTP status.
        status: u16,
        /// A hint for the operator (may be empty).
        hint: &'static str,
    },
    /// The server answered an empty value.
    #[error("metadata server {endpoint} answered an empty value for {item}")]
    Empty {
        /// The server's base URL.
        endpoint: String,
        /// The item requested.
        item: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the metadata HTTP client: {0}")]
    Client(String),
}

impl MetadataError {
    /// Whether the same request may succeed later (no answer, 5xx, 429).
    pub fn is_transient(&self) -> bool {
        match self {
            MetadataError::Unreachable { .. } => true,
            MetadataError::Status { status, .. } => *status >= 500 || *status == 429,
            MetadataError::Empty { .. } | MetadataError::Client(_) => false,
        }
    }
}

/// Normalizes an endpoint: `host[:port]` becomes `http://host[:port]`; no trailing slash.
pub fn normalize_endpoint(endpoint: &str) -> String {
    let endpoint = endpoint.trim().trim_end_matches('/');
    if endpoint.contains("://") { endpoint.to_owned() } else { format!("http://{endpoint}") }
}

/// A cached IMDSv2 token. Its value is never printed.
struct Token {
    value: String,
    expires: Instant,
}

/// Reads items of the instance metadata server.
pub struct MetadataClient {
    endpoint: String,
    imdsv2: bool,
    http: reqwest::Client,
    token: Mutex<Option<Token>>,
}

impl fmt::Debug for MetadataClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataClient").field("endpoint", &self.endpoint).field("imdsv2", &self.imdsv2).finish()
    }
}

impl MetadataClient {
    /// A client of the server at `endpoint` (a URL or `host[:port]`), IMDSv2 enabled, 2 s to connect, 5 s per
    /// request.
    pub fn new(endpoint: &str) -> Result<Self, MetadataError> {
        // Plain HTTP to a link-local address: never through a proxy.
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| MetadataError::Client(e.to_string()))?;
        Ok(Self { endpoint: normalize_endpoint(endpoint), imdsv2: true, http, token: Mutex::new(None) })
    }

    /// A client of `METADATA_ENDPOINT`, or of `100.100.100.200` when it is unset or empty.
    pub fn from_env() -> Result<Self, MetadataError> {
        let endpoint = std::env::var(ENDPOINT_ENV).ok().filter(|v| !v.trim().is_empty());
        Self::new(endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT))
    }

    /// Whether to ask for an IMDSv2 token first (default `true`; the Go CCM's `--enable-imdsv2`).
    pub fn with_imdsv2(mut self, enabled: bool) -> Self {
        self.imdsv2 = enabled;
        self
    }

    /// The server's base URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `region-id` (`cn-hangzhou`).
    pub async fn region_id(&self) -> Result<String, MetadataError> {
        self.get("region-id").await
    }

    /// `instance-id` (`i-bp1...`).
    pub async fn instance_id(&self) -> Result<String, MetadataError> {
        self.get("instance-id").await
    }

    /// `vpc-id` (`vpc-bp1...`).
    pub async fn vpc_id(&self) -> Result<String, MetadataError> {
        self.get("vpc-id").await
    }

    /// `zone-id` (`cn-hangzhou-b`).
    pub async fn zone_id(&self) -> Result<String, MetadataError> {
        self.get("zone-id").await
    }

    /// `vswitch-id` (`vsw-bp1...`).
    pub async fn vswitch_id(&self) -> Result<String, MetadataError> {
        self.get("vswitch-id").await
    }

    fn cached_token(&self) -> Option<String> {
        let guard = self.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.as_ref().filter(|t| t.expires > Instant::now()).map(|t| t.value.clone())
    }

    fn forget_token(&self) {
        *self.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// A token, or `None` to go on without one (IMDSv2 disabled, or the server gave none).
    async fn token(&self, item: &str) -> Result<Option<String>, MetadataError> {
        if !self.imdsv2 {
            return Ok(None);
        }
        if let Some(token) = self.cached_token() {
            return Ok(Some(token));
        }
        let url = format!("{}{TOKEN_PATH}", self.endpoint);
        let response = self.http.put(&url).header(TOKEN_TTL_HEADER, TOKEN_TTL_SECONDS.to_string()).send().await;
        let reason = match response {
            Ok(r) if r.status().is_success() => match r.text().await {
                Ok(text) if !text.trim().is_empty() => {
                    let value = text.trim().to_owned();
                    let expires = Instant::now() + Duration::from_secs(TOKEN_TTL_SECONDS) - TOKEN_MARGIN;
                    *self.token.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                        Some(Token { value: value.clone(), expires });
                    return Ok(Some(value));
                }
                Ok(_) => "empty token".to_owned(),
                Err(e) => e.to_string(),
            },
            Ok(r) => format!("HTTP {}", r.status().as_u16()),
            Err(e) if e.is_connect() || e.is_timeout() => {
                return Err(MetadataError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    item: item.to_owned(),
                    reason: error_chain(&e),
                });
            }
            Err(e) => error_chain(&e),
        };
        tracing::debug!(%reason, "no metadata token; falling back to token-less (IMDSv1) requests");
        Ok(None)
    }

    /// The text of `latest/meta-data/<item>`, trimmed.
    pub async fn get(&self, item: &str) -> Result<String, MetadataError> {
        let token = self.token(item).await?;
        match self.get_once(item, token.as_deref()).await {
            // A token that the server no longer accepts (restarted, expired early): get a new one, once.
            Err(MetadataError::Status { status: 401, .. }) if token.is_some() => {
                self.forget_token();
                let token = self.token(item).await?;
                self.get_once(item, token.as_deref()).await
            }
            other => other,
        }
    }

    async fn get_once(&self, item: &str, token: Option<&str>) -> Result<String, MetadataError> {
        let url = format!("{}/latest/meta-data/{}", self.endpoint, item.trim_start_matches('/'));
        let mut request = self.http.get(&url);
        if let Some(token) = token {
            request = request.header(TOKEN_HEADER, token);
        }
        let unreachable = |e: reqwest::Error| MetadataError::Unreachable {
            endpoint: self.endpoint.clone(),
            item: item.to_owned(),
            reason: error_chain(&e),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let hint = match status {
                401 | 403 if token.is_none() => {
                    " (the instance may require IMDSv2 tokens; keep --enable-imdsv2=true and check that PUT \
                     /latest/api/token is reachable)"
                }
                404 => " (no such item on this instance)",
                _ => "",
            };
            return Err(MetadataError::Status { endpoint: self.endpoint.clone(), item: item.to_owned(), status, hint });
        }
        let text = response.text().await.map_err(unreachable)?;
        let value = text.trim();
        if value.is_empty() {
            return Err(MetadataError::Empty { endpoint: self.endpoint.clone(), item: item.to_owned() });
        }
        Ok(value.to_owned())
    }
}

/// An error and its sources, on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex as StdMutex};

    use axum::{
        Router,
        extract::{Path, State},
        http::{HeaderMap, StatusCode},
        routing::{get, put},
    };

    use super::*;

    /// What the fake metadata server does and has seen.
    #[derive(Debug, Default)]
    pub struct FakeState {
        /// Items served under `/latest/meta-data/`.
        pub items: Vec<(String, String)>,
        /// Whether `PUT /latest/api/token` is supported (else 404).
        pub tokens_supported: bool,
        /// Whether GETs need a valid token (hardened mode: 403 without one).
        pub token_required: bool,
        /// Answer this many GETs with 500 before serving.
        pub fail_first: usize,
        /// Requests seen: `PUT token`, `GET <item> token=<bool>`.
        pub log: Vec<String>,
    }

    const TOKEN: &str = "fake-imds-token-0123";

    /// A metadata server on a loopback port.
    #[derive(Clone)]
    pub struct FakeMetadata {
        pub state: Arc<StdMutex<FakeState>>,
    }

    impl FakeMetadata {
        pub fn new(region: &str, instance: &str) -> Self {
            let state = FakeState {
                items: vec![("region-id".into(), region.into()), ("instance-id".into(), instance.into())],
                tokens_supported: true,
                ..FakeState::default()
            };
            Self { state: Arc::new(StdMutex::new(state)) }
        }

        pub fn log(&self) -> Vec<String> {
            self.state.lock().unwrap().log.clone()
        }

        /// Serves on 127.0.0.1; returns the base URL.
        pub async fn serve(&self) -> String {
            async fn token(State(s): State<Arc<StdMutex<FakeState>>>, headers: HeaderMap) -> (StatusCode, String) {
                let mut s = s.lock().unwrap();
                s.log.push("PUT token".into());
                if !s.tokens_supported {
                    return (StatusCode::NOT_FOUND, "Not Found".into());
                }
                if headers.get(TOKEN_TTL_HEADER).and_then(|v| v.to_str().ok()) != Some("21600") {
                    return (StatusCode::BAD_REQUEST, "bad ttl".into());
                }
                (StatusCode::OK, TOKEN.into())
            }
            async fn item(
                State(s): State<Arc<StdMutex<FakeState>>>,
                Path(item): Path<String>,
                headers: HeaderMap,
            ) -> (StatusCode, String) {
                let mut s = s.lock().unwrap();
                let token = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
                s.log.push(format!("GET {item} token={}", token.is_some()));
                if s.fail_first > 0 {
                    s.fail_first -= 1;
                    return (StatusCode::INTERNAL_SERVER_ERROR, "busy".into());
                }
                match token.as_deref() {
                    Some(TOKEN) => {}
                    Some(_) => return (StatusCode::UNAUTHORIZED, "Unauthorized".into()),
                    None if s.token_required => return (StatusCode::FORBIDDEN, "Forbidden".into()),
                    None => {}
                }
                match s.items.iter().find(|(k, _)| *k == item) {
                    Some((_, v)) => (StatusCode::OK, v.clone()),
                    None => (StatusCode::NOT_FOUND, "Not Found".into()),
                }
            }
            let app = Router::new()
                .route("/latest/api/token", put(token))
                .route("/latest/meta-data/{*item}", get(item))
                .with_state(self.state.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            format!("http://{addr}")
        }
    }

    /// A loopback port where nothing listens.
    pub fn dead_endpoint() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn imdsv2_token_is_fetched_once_and_sent() {
        let fake = FakeMetadata::new("cn-hangzhou", "i-abc");
        fake.state.lock().unwrap().token_required = true;
        let client = MetadataClient::new(&fake.serve().await).unwrap();
        assert_eq!(client.region_id().await.unwrap(), "cn-hangzhou");
        assert_eq!(client.instance_id().await.unwrap(), "i-abc");
        assert_eq!(fake.log(), ["PUT token", "GET region-id token=true", "GET instance-id token=true"]);
    }

    #[tokio::test]
    async fn falls_back_to_v1_when_tokens_are_unsupported() {
        let fake = FakeMetadata::new("cn-beijing", "i-v1");
        fake.state.lock().unwrap().tokens_supported = false;
        let client = MetadataClient::new(&fake.serve().await).unwrap();
        assert_eq!(client.instance_id().await.unwrap(), "i-v1");
        assert_eq!(fake.log(), ["PUT token", "GET instance-id token=false"]);
    }

    #[tokio::test]
    async fn imdsv2_can_be_disabled() {
        let fake = FakeMetadata::new("cn-beijing", "i-v1");
        let client = MetadataClient::new(&fake.serve().await).unwrap().with_imdsv2(false);
        assert_eq!(client.region_id().await.unwrap(), "cn-beijing");
        assert_eq!(fake.log(), ["GET region-id token=false"]);
    }

    #[tokio::test]
    async fn errors_say_what_failed_and_whether_to_retry() {
        let fake = FakeMetadata::new("cn-beijing", "i-1");
        let url = fake.serve().await;
        let client = MetadataClient::new(url.trim_start_matches("http://")).unwrap();
        assert_eq!(client.endpoint(), url);
        let missing = client.vpc_id().await.unwrap_err();
        assert!(!missing.is_transient());
        assert!(missing.to_string().contains("HTTP 404 for vpc-id"), "{missing}");

        fake.state.lock().unwrap().fail_first = 1;
        let busy = client.region_id().await.unwrap_err();
        assert!(busy.is_transient(), "{busy}");
        assert_eq!(client.region_id().await.unwrap(), "cn-beijing");

        let dead = MetadataClient::new(&dead_endpoint()).unwrap();
        let err = dead.region_id().await.unwrap_err();
        assert!(err.is_transient());
        assert!(err.to_string().contains("unreachable while reading region-id"), "{err}");
        assert!(!format!("{dead:?} {client:?}").contains(TOKEN));
    }
}
