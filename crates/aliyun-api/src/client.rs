//! The client: builds, signs and sends calls; retries what is safe to retry; paces itself.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use rand::Rng as _;
use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};
use tracing::{debug, warn};

use crate::{
    credentials::{Credentials, CredentialsProvider},
    endpoint::{Endpoints, Product},
    error::{ApiError, Error, Result},
    metrics::{ActionLabels, ClientMetrics, ErrorLabels},
    params::Params,
    ratelimit::{RateLimiter, RateLimits},
    request::{ApiRequest, is_read_action},
    retry::{RetryPolicy, throttling_hint},
    signature,
};

/// Which signature scheme the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureVersion {
    /// RPC: `SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`, signature in the query (what the Go CCM sends).
    #[default]
    V1,
    /// V3: `ACS3-HMAC-SHA256` in the `Authorization` header.
    V3,
}

/// HTTP method for RPC calls. Every ECS/VPC/SLB action accepts both; the official SDKs use POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpMethod {
    /// GET, parameters in the query string.
    Get,
    /// POST, parameters in the query string and an empty form body (as the official Go SDK sends them).
    #[default]
    Post,
}

impl HttpMethod {
    fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// An untyped call: any action of a product with any parameters.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// The product.
    pub product: Product,
    /// Action name.
    pub action: String,
    /// Operation parameters, sent as given.
    pub params: Params,
    /// Whether it may be retried after an ambiguous failure (defaults to "is a read").
    pub idempotent: bool,
    /// Send without credentials or signature (STS `AssumeRoleWithOIDC`).
    pub anonymous: bool,
}

impl RawRequest {
    /// A call of `action` on `product` with no parameters yet.
    pub fn new(product: Product, action: impl Into<String>) -> Self {
        let action = action.into();
        Self { product, idempotent: is_read_action(&action), action, params: Params::new(), anonymous: false }
    }

    /// Adds a parameter.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.set(name, value);
        self
    }
}

/// Builds a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    credentials: Option<Arc<dyn CredentialsProvider>>,
    endpoints: Endpoints,
    signature: SignatureVersion,
    method: HttpMethod,
    retry: RetryPolicy,
    rate_limits: RateLimits,
    metrics: ClientMetrics,
    user_agent: String,
}

impl ClientBuilder {
    /// Credentials provider (required unless every call is anonymous).
    pub fn credentials(mut self, provider: impl CredentialsProvider + 'static) -> Self {
        self.credentials = Some(Arc::new(provider));
        self
    }

    /// Shared credentials provider.
    pub fn credentials_arc(mut self, provider: Arc<dyn CredentialsProvider>) -> Self {
        self.credentials = Some(provider);
        self
    }

    /// Endpoints (region, network, overrides).
    pub fn endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// Signature scheme (default RPC `V1`).
    pub fn signature(mut self, version: SignatureVersion) -> Self {
        self.signature = version;
        self
    }

    /// HTTP method for RPC calls (default POST).
    pub fn method(mut self, method: HttpMethod) -> Self {
        self.method = method;
        self
    }

    /// Retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Client-side rate limits (default: [`RateLimits::default`]).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Metrics to record into (register them with your registry).
    pub fn metrics(mut self, metrics: ClientMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Appends a product token to the `User-Agent`.
    pub fn user_agent(mut self, token: &str) -> Self {
        self.user_agent = format!("{} {token}", self.user_agent);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(self.retry.attempt_timeout)
            .user_agent(self.user_agent.clone())
            .build()
            .map_err(|e| Error::InvalidRequest(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                credentials: self.credentials,
                endpoints: self.endpoints,
                signature: self.signature,
                method: self.method,
                retry: self.retry,
                limiter: RateLimiter::new(self.rate_limits),
                metrics: self.metrics,
            }),
        })
    }
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    credentials: Option<Arc<dyn CredentialsProvider>>,
    endpoints: Endpoints,
    signature: SignatureVersion,
    method: HttpMethod,
    retry: RetryPolicy,
    limiter: RateLimiter,
    metrics: ClientMetrics,
}

/// An Alibaba Cloud API client for one region. Cheap to clone; clones share connections, pacing and metrics.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

const TIMESTAMP: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Formats a UTC timestamp as the API wants it (`2023-03-13T08:34:30Z`, no fraction).
pub fn format_timestamp(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(TIMESTAMP).unwrap_or_default()
}

fn new_nonce() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// What one attempt produced.
struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

impl Client {
    /// A builder for `region` with endpoints from the environment (`ECS_ENDPOINT`... `ALICLOUD_CLIENT_SCHEME`).
    pub fn builder(region: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            credentials: None,
            endpoints: Endpoints::from_env(region),
            signature: SignatureVersion::default(),
            method: HttpMethod::default(),
            retry: RetryPolicy::default(),
            rate_limits: RateLimits::default(),
            metrics: ClientMetrics::default(),
            user_agent: format!("aliyun-api-rs/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// The region this client calls.
    pub fn region(&self) -> &str {
        self.inner.endpoints.region()
    }

    /// The endpoints this client calls.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The metrics this client records.
    pub fn metrics(&self) -> &ClientMetrics {
        &self.inner.metrics
    }

    /// Sends a typed request and parses its response.
    pub async fn call<R: ApiRequest>(&self, request: &R) -> Result<R::Response> {
        let mut params = Params::new();
        request.to_params(&mut params);
        let raw = RawRequest {
            product: R::PRODUCT,
            action: R::ACTION.to_owned(),
            params,
            idempotent: request.idempotent(),
            anonymous: request.anonymous(),
        };
        let body = self.send(&raw).await?;
        serde_json::from_slice(&body).map_err(|source| Error::Decode {
            product: R::PRODUCT.code(),
            action: R::ACTION.to_owned(),
            source,
        })
    }

    /// Sends an untyped request and returns the JSON response.
    pub async fn call_raw(&self, request: &RawRequest) -> Result<serde_json::Value> {
        let body = self.send(request).await?;
        serde_json::from_slice(&body).map_err(|source| Error::Decode {
            product: request.product.code(),
            action: request.action.clone(),
            source,
        })
    }

    /// Sends with pacing and retries; returns the success body.
    async fn send(&self, request: &RawRequest) -> Result<Vec<u8>> {
        let started = Instant::now();
        let policy = &self.inner.retry;
        let labels = ActionLabels { product: request.product.code().to_owned(), action: request.action.clone() };
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.pace(request, &labels).await;
            let error = match self.attempt(request, &labels).await {
                Ok(body) => return Ok(body),
                Err(e) => e,
            };
            self.count_error(&labels, &error);
            let retry_allowed = error.is_transient() && (request.idempotent || error.certainly_not_applied());
            if !retry_allowed || attempt >= policy.max_attempts {
                return Err(error);
            }
            let hint = error.api().and_then(|e| e.retry_after);
            let delay = policy.delay(attempt, error.is_throttling(), hint);
            if error.is_throttling() {
                self.inner.limiter.throttled(request.product, &request.action, delay, Instant::now());
            }
            let elapsed = started.elapsed();
            if elapsed + delay > policy.deadline {
                return Err(Error::DeadlineExceeded {
                    product: request.product.code(),
                    action: request.action.clone(),
                    attempts: attempt,
                    elapsed,
                    last: error.to_string(),
                });
            }
            debug!(product = %request.product, action = %request.action, attempt, ?delay, error = %error, "retrying API call");
            self.inner.metrics.retries.get_or_create(&labels).inc();
            tokio::time::sleep(delay).await;
        }
    }

    async fn pace(&self, request: &RawRequest, labels: &ActionLabels) {
        let wait = self.inner.limiter.reserve(request.product, &request.action, Instant::now());
        if !wait.is_zero() {
            debug!(product = %request.product, action = %request.action, ?wait, "pacing API call");
            self.inner.metrics.paced_seconds.get_or_create(labels).inc_by(wait.as_secs_f64());
            tokio::time::sleep(wait).await;
        }
    }

    fn count_error(&self, labels: &ActionLabels, error: &Error) {
        let code = match error {
            Error::Api { source, .. } => source.code.clone(),
            Error::Transport { .. } => "transport".to_owned(),
            Error::UnexpectedBody { .. } => "unexpected_body".to_owned(),
            Error::Decode { .. } => "decode".to_owned(),
            Error::DeadlineExceeded { .. } => "deadline".to_owned(),
            Error::Credentials(_) => "credentials".to_owned(),
            Error::InvalidRequest(_) => "invalid_request".to_owned(),
        };
        let labels = ErrorLabels { product: labels.product.clone(), action: labels.action.clone(), code };
        self.inner.metrics.errors.get_or_create(&labels).inc();
    }

    async fn credentials(&self) -> Result<Credentials> {
        let provider = self
            .inner
            .credentials
            .as_ref()
            .ok_or_else(|| Error::InvalidRequest("no credentials provider configured on this client".to_owned()))?;
        Ok(provider.credentials().await?)
    }

    /// One signed HTTP exchange.
    async fn attempt(&self, request: &RawRequest, labels: &ActionLabels) -> Result<Vec<u8>> {
        let credentials = if request.anonymous { None } else { Some(self.credentials().await?) };
        let mut params = request.params.clone();
        if matches!(request.product, Product::Ecs | Product::Vpc | Product::Slb) && !params.contains("RegionId") {
            params.set("RegionId", self.region());
        }
        let builder = match (self.inner.signature, request.anonymous) {
            (SignatureVersion::V3, false) => self.build_v3(request, params, credentials.as_ref())?,
            _ => self.build_rpc(request, params, credentials.as_ref()),
        };
        self.inner.metrics.requests.get_or_create(labels).inc();
        let timer = Instant::now();
        let result = builder.send().await;
        let answer = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = response.bytes().await.map_err(|source| self.transport(request, source))?;
                Answer { status, headers, body: body.to_vec() }
            }
            Err(source) => return Err(self.transport(request, source)),
        };
        self.inner.metrics.latency.get_or_create(labels).observe(timer.elapsed().as_secs_f64());
        if (200..300).contains(&answer.status) {
            return Ok(answer.body);
        }
        Err(self.api_error(request, answer))
    }

    fn transport(&self, request: &RawRequest, source: reqwest::Error) -> Error {
        // reqwest's error text carries the URL; our RPC URLs carry no secret (the signature is not one, the
        // STS token travels in a header for V3 and as `SecurityToken` for RPC), so strip the URL to be sure.
        Error::Transport {
            product: request.product.code(),
            action: request.action.clone(),
            source: source.without_url(),
        }
    }

    fn build_rpc(
        &self,
        request: &RawRequest,
        mut params: Params,
        credentials: Option<&Credentials>,
    ) -> reqwest::RequestBuilder {
        let method = if request.anonymous { HttpMethod::Post } else { self.inner.method };
        params.set("Action", request.action.as_str());
        params.set("Version", request.product.version());
        params.set("Format", "JSON");
        params.set("Timestamp", format_timestamp(OffsetDateTime::now_utc()));
        if let Some(c) = credentials {
            params.set("AccessKeyId", c.access_key_id.as_str());
            params.set("SignatureMethod", "HMAC-SHA1");
            params.set("SignatureVersion", "1.0");
            params.set("SignatureNonce", new_nonce());
            if let Some(token) = &c.security_token {
                params.set("SecurityToken", token.expose());
            }
            let string_to_sign = signature::rpc_string_to_sign(method.as_str(), params.iter());
            params.set("Signature", signature::rpc_signature(c.access_key_secret.expose(), &string_to_sign));
        }
        let base = self.inner.endpoints.base_url(request.product);
        let http = &self.inner.http;
        if request.anonymous {
            // Like the official credentials SDKs: the common parameters in the query, the operation's (an OIDC
            // token among them) in the form body, where they stay out of URLs and access logs.
            let common = ["Action", "Version", "Format", "Timestamp"];
            let query = signature::canonical_query(params.iter().filter(|(k, _)| common.contains(k)));
            let form = signature::canonical_query(params.iter().filter(|(k, _)| !common.contains(k)));
            return http
                .post(format!("{base}/?{query}"))
                .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form);
        }
        let url = format!("{base}/?{}", signature::canonical_query(params.iter()));
        match method {
            HttpMethod::Get => http.get(url),
            HttpMethod::Post => http.post(url).header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
        }
    }

    fn build_v3(
        &self,
        request: &RawRequest,
        params: Params,
        credentials: Option<&Credentials>,
    ) -> Result<reqwest::RequestBuilder> {
        let base = self.inner.endpoints.base_url(request.product);
        let host = base.split_once("://").map_or(base.as_str(), |(_, rest)| rest).to_owned();
        let payload_hash = signature::sha256_hex(b"");
        let mut headers: Vec<(&str, String)> = vec![
            ("host", host),
            ("x-acs-action", request.action.clone()),
            ("x-acs-version", request.product.version().to_owned()),
            ("x-acs-date", format_timestamp(OffsetDateTime::now_utc())),
            ("x-acs-signature-nonce", new_nonce()),
            ("x-acs-content-sha256", payload_hash.clone()),
        ];
        if let Some(token) = credentials.and_then(|c| c.security_token.as_ref()) {
            headers.push(("x-acs-security-token", token.expose().to_owned()));
        }
        let query: Vec<(&str, &str)> = params.iter().collect();
        let mut builder =
            self.inner.http.post(format!("{base}/?{}", signature::canonical_query(query.iter().copied())));
        if let Some(c) = credentials {
            let header_refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let input = signature::V3Input {
                method: "POST",
                path: "/",
                query: &query,
                headers: &header_refs,
                payload_hash: &payload_hash,
            };
            let authorization = signature::v3_authorization(&c.access_key_id, c.access_key_secret.expose(), &input);
            builder = builder.header(http::header::AUTHORIZATION, authorization);
        }
        for (name, value) in headers {
            if name != "host" {
                builder = builder.header(name, value);
            }
        }
        Ok(builder.header(http::header::ACCEPT, "application/json"))
    }

    fn api_error(&self, request: &RawRequest, answer: Answer) -> Error {
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct Body {
            #[serde(rename = "Code", alias = "code")]
            code: String,
            #[serde(rename = "Message", alias = "message")]
            message: String,
            #[serde(rename = "RequestId", alias = "requestId")]
            request_id: String,
            #[serde(rename = "HostId")]
            host_id: String,
            #[serde(rename = "Recommend")]
            recommend: String,
        }
        match serde_json::from_slice::<Body>(&answer.body) {
            Ok(body) if !body.code.is_empty() => {
                let request_id = if body.request_id.is_empty() {
                    answer.headers.get("x-acs-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
                } else {
                    body.request_id
                };
                let source = ApiError {
                    status: answer.status,
                    code: body.code,
                    message: body.message,
                    request_id,
                    host_id: body.host_id,
                    recommend: body.recommend,
                    retry_after: throttling_hint(&answer.headers),
                };
                if source.is_throttling() {
                    warn!(product = %request.product, action = %request.action, code = %source.code, "throttled by Alibaba Cloud");
                }
                Error::Api { product: request.product.code(), action: request.action.clone(), source: Box::new(source) }
            }
            _ => Error::UnexpectedBody {
                product: request.product.code(),
                action: request.action.clone(),
                status: answer.status,
                snippet: snippet(&answer.body),
            },
        }
    }
}

/// The first 200 characters of a body, whitespace collapsed, for error messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return "(empty body)".to_owned();
    }
    let mut out: String = collapsed.chars().take(200).collect();
    if collapsed.chars().count() > 200 {
        out.push('…');
    }
    out
}
