//! OIDC / RRSA: a Kubernetes service-account token exchanged with STS `AssumeRoleWithOIDC`.

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use time::{OffsetDateTime, macros::format_description};

use super::{
    BoxFuture, Credentials, CredentialsError, CredentialsProvider, SecretString,
    env::Env,
    util::{describe_transport, json_str, parse_expiration, redact, truncate},
};

const PROVIDER: &str = "oidc";

/// The RAM role to assume.
pub const ROLE_ARN_ENV: &str = "ALIBABA_CLOUD_ROLE_ARN";
/// The OIDC identity provider registered in RAM.
pub const OIDC_PROVIDER_ARN_ENV: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
/// The file holding the OIDC token (the projected service-account token).
pub const OIDC_TOKEN_FILE_ENV: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";
/// The role session name (optional).
pub const ROLE_SESSION_NAME_ENV: &str = "ALIBABA_CLOUD_ROLE_SESSION_NAME";
/// STS endpoint override: a host (`sts.cn-hangzhou.aliyuncs.com`, HTTPS) or a URL (`http://127.0.0.1:9000`).
pub const STS_ENDPOINT_ENV: &str = "STS_ENDPOINT";
/// STS region: `sts.<region>.aliyuncs.com`.
pub const STS_REGION_ENV: &str = "ALIBABA_CLOUD_STS_REGION";
/// With `true` and a region, the VPC endpoint `sts-vpc.<region>.aliyuncs.com`.
pub const VPC_ENDPOINT_ENABLED_ENV: &str = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED";
/// The global STS endpoint.
pub const DEFAULT_STS_ENDPOINT: &str = "https://sts.aliyuncs.com";

const DEFAULT_DURATION: Duration = Duration::from_secs(3600);
const MIN_DURATION: Duration = Duration::from_secs(900);

/// The STS endpoint (a URL) the environment selects: `STS_ENDPOINT`, else `ALIBABA_CLOUD_STS_REGION`, else the
/// global endpoint.
pub fn sts_endpoint_from_env(env: &Env) -> String {
    if let Some(endpoint) = env.get(STS_ENDPOINT_ENV) {
        return normalize_endpoint(&endpoint);
    }
    match env.get(STS_REGION_ENV) {
        Some(region) if env.is_true(VPC_ENDPOINT_ENABLED_ENV) => {
            format!("https://sts-vpc.{}.aliyuncs.com", region.trim())
        }
        Some(region) => format!("https://sts.{}.aliyuncs.com", region.trim()),
        None => DEFAULT_STS_ENDPOINT.to_owned(),
    }
}

/// `host[:port]` becomes `https://host[:port]`; a URL is kept; no trailing slash.
fn normalize_endpoint(endpoint: &str) -> String {
    let endpoint = endpoint.trim().trim_end_matches('/');
    if endpoint.contains("://") { endpoint.to_owned() } else { format!("https://{endpoint}") }
}

/// Temporary credentials for a RAM role, from STS `AssumeRoleWithOIDC` (RRSA on ACK).
///
/// The call is anonymous: the OIDC token, read from its file on every call (the kubelet rotates it), proves
/// the identity. Errors carry STS's code, message and request ID, never the token.
///
/// Every call goes to STS: wrap the provider in [`CachedProvider`](super::CachedProvider) (as
/// [`default_chain`](super::default_chain) does) to reuse credentials until shortly before they expire.
#[derive(Clone)]
pub struct OidcProvider {
    role_arn: String,
    oidc_provider_arn: String,
    token_file: PathBuf,
    session_name: String,
    endpoint: String,
    duration: Duration,
    client: tokio::sync::OnceCell<reqwest::Client>,
}

impl OidcProvider {
    /// Assumes `role_arn` through the identity provider `oidc_provider_arn` with the token in `token_file`,
    /// at the global STS endpoint, for an hour, with a generated session name.
    pub fn new(
        role_arn: impl Into<String>,
        oidc_provider_arn: impl Into<String>,
        token_file: impl Into<PathBuf>,
    ) -> Self {
        let micros = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
        Self {
            role_arn: role_arn.into().trim().to_owned(),
            oidc_provider_arn: oidc_provider_arn.into().trim().to_owned(),
            token_file: token_file.into(),
            session_name: format!("aliyun-api-{micros}"),
            endpoint: DEFAULT_STS_ENDPOINT.to_owned(),
            duration: DEFAULT_DURATION,
            client: tokio::sync::OnceCell::new(),
        }
    }

    /// Configured from `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`, `ALIBABA_CLOUD_OIDC_TOKEN_FILE`,
    /// `ALIBABA_CLOUD_ROLE_SESSION_NAME` and the STS endpoint variables ([`sts_endpoint_from_env`]).
    ///
    /// `Ok(None)` when none of the three required variables is set; an error naming the missing ones when only
    /// some are.
    pub fn from_env(env: &Env) -> Result<Option<Self>, CredentialsError> {
        let required = [ROLE_ARN_ENV, OIDC_PROVIDER_ARN_ENV, OIDC_TOKEN_FILE_ENV];
        let values = required.map(|name| env.get(name));
        let missing: Vec<&str> =
            required.iter().zip(&values).filter(|(_, v)| v.is_none()).map(|(name, _)| *name).collect();
        if missing.len() == required.len() {
            return Ok(None);
        }
        let [Some(role_arn), Some(provider_arn), Some(token_file)] = values else {
            return Err(Self::err(format!(
                "{} set but {} not; set all three or none",
                required.iter().filter(|n| !missing.contains(n)).copied().collect::<Vec<_>>().join(" and "),
                missing.join(" and ")
            )));
        };
        let mut provider =
            Self::new(role_arn, provider_arn, token_file.trim()).with_sts_endpoint(sts_endpoint_from_env(env));
        if let Some(name) = env.get(ROLE_SESSION_NAME_ENV) {
            provider = provider.with_session_name(name);
        }
        Ok(Some(provider))
    }

    /// Uses another STS endpoint: a host (HTTPS) or a URL (`http://127.0.0.1:9000`).
    pub fn with_sts_endpoint(mut self, endpoint: impl AsRef<str>) -> Self {
        self.endpoint = normalize_endpoint(endpoint.as_ref());
        self.client = tokio::sync::OnceCell::new();
        self
    }

    /// Sets the role session name (shown in ActionTrail).
    pub fn with_session_name(mut self, name: impl Into<String>) -> Self {
        let name = name.into().trim().to_owned();
        if !name.is_empty() {
            self.session_name = name;
        }
        self
    }

    /// How long the credentials should last (`DurationSeconds`; at least 900 s, default 3600 s).
    pub fn with_duration(mut self, duration: Duration) -> Self {
        self.duration = duration.max(MIN_DURATION);
        self
    }

    /// The STS base URL.
    pub fn sts_endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The OIDC token file.
    pub fn token_file(&self) -> &Path {
        &self.token_file
    }

    fn err(reason: impl Into<String>) -> CredentialsError {
        CredentialsError::Provider { provider: PROVIDER, reason: reason.into() }
    }

    async fn client(&self) -> Result<&reqwest::Client, CredentialsError> {
        self.client
            .get_or_try_init(|| async {
                let mut builder =
                    reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).timeout(Duration::from_secs(15));
                if is_loopback(&self.endpoint) {
                    builder = builder.no_proxy();
                }
                builder
                    .build()
                    .map_err(|e| Self::err(format!("cannot build the HTTP client: {}", describe_transport(&e))))
            })
            .await
    }

    async fn read_token(&self) -> Result<SecretString, CredentialsError> {
        let file = self.token_file.display();
        let bytes = tokio::fs::read(&self.token_file).await.map_err(|e| {
            Self::err(format!(
                "cannot read the OIDC token file {file} ({OIDC_TOKEN_FILE_ENV}): {e}; is the service-account \
                 token projected into the pod (RRSA enabled for this workload)?"
            ))
        })?;
        let text =
            String::from_utf8(bytes).map_err(|_| Self::err(format!("the OIDC token file {file} is not UTF-8 text")))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(Self::err(format!("the OIDC token file {file} is empty")));
        }
        Ok(SecretString::new(token))
    }

    async fn assume_role(&self) -> Result<Credentials, CredentialsError> {
        let token = self.read_token().await?;
        let client = self.client().await?;
        let timestamp = OffsetDateTime::now_utc()
            .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
            .map_err(|e| Self::err(format!("cannot format the timestamp: {e}")))?;
        let url = format!("{}/", self.endpoint);
        let duration = self.duration.as_secs().to_string();
        let form = [
            ("RoleArn", self.role_arn.as_str()),
            ("OIDCProviderArn", self.oidc_provider_arn.as_str()),
            ("OIDCToken", token.expose()),
            ("RoleSessionName", self.session_name.as_str()),
            ("DurationSeconds", duration.as_str()),
        ];
        let response = client
            .post(&url)
            .query(&[
                ("Action", "AssumeRoleWithOIDC"),
                ("Version", "2015-04-01"),
                ("Format", "JSON"),
                ("Timestamp", timestamp.as_str()),
            ])
            .header("x-acs-credentials-provider", "oidc_role_arn")
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                Self::err(format!(
                    "STS AssumeRoleWithOIDC at {}: {}",
                    self.endpoint,
                    redact(&describe_transport(&e), token.expose())
                ))
            })?;
        let status = response.status();
        let body = response.text().await.map_err(|e| {
            Self::err(format!(
                "STS AssumeRoleWithOIDC at {}: reading the answer: {}",
                self.endpoint,
                describe_transport(&e)
            ))
        })?;
        parse_sts_response(status.as_u16(), &body, token.expose(), &self.role_arn)
    }
}

/// STS's answer: credentials on success, else an error with the server's code, message and request ID.
fn parse_sts_response(status: u16, body: &str, token: &str, role_arn: &str) -> Result<Credentials, CredentialsError> {
    let doc: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let creds = doc.as_ref().and_then(|d| d.get("Credentials")).filter(|c| c.is_object());
    match (status, creds) {
        (200..=299, Some(creds)) => {
            let field = |name: &str| {
                json_str(creds, name).ok_or_else(|| {
                    OidcProvider::err(format!("STS AssumeRoleWithOIDC answer for {role_arn} lacks Credentials.{name}"))
                })
            };
            let id = field("AccessKeyId")?;
            let secret = field("AccessKeySecret")?;
            let security_token = field("SecurityToken")?;
            let expiration = field("Expiration")?;
            let expiration = parse_expiration(expiration).ok_or_else(|| {
                OidcProvider::err(format!("cannot parse STS Expiration {}", truncate(expiration, 40)))
            })?;
            Ok(Credentials::access_key(id, SecretString::new(secret))
                .with_security_token(security_token)
                .with_expiration(expiration))
        }
        _ => {
            // Server text is echoed only after scrubbing the token, in case STS quotes it.
            let clean = |s: &str| truncate(&redact(s, token), 300);
            let detail = match &doc {
                Some(d) if json_str(d, "Code").is_some() => format!(
                    "{}: {} (RequestId: {})",
                    clean(json_str(d, "Code").unwrap_or_default()),
                    clean(json_str(d, "Message").unwrap_or("no message")),
                    clean(json_str(d, "RequestId").unwrap_or("none"))
                ),
                _ if (200..300).contains(&status) => "the answer has no Credentials".to_owned(),
                _ => format!("unexpected answer: {}", clean(body.trim())),
            };
            Err(OidcProvider::err(format!("STS AssumeRoleWithOIDC for {role_arn} failed (HTTP {status}): {detail}")))
        }
    }
}

fn is_loopback(endpoint: &str) -> bool {
    let host = endpoint.split("://").nth(1).unwrap_or(endpoint);
    let host = host.split('/').next().unwrap_or(host);
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("role_arn", &self.role_arn)
            .field("oidc_provider_arn", &self.oidc_provider_arn)
            .field("token_file", &self.token_file)
            .field("session_name", &self.session_name)
            .field("sts_endpoint", &self.endpoint)
            .field("duration", &self.duration)
            .finish_non_exhaustive()
    }
}

impl CredentialsProvider for OidcProvider {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.assume_role())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::{
        collections::HashMap,
        sync::{Arc, Mutex},
    };

    use axum::{
        Form, Router,
        extract::{Query, State},
        http::{HeaderMap, StatusCode},
        routing::post,
    };

    use super::*;

    pub(crate) const OIDC_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.oidc-token-payload.sig";
    pub(crate) const STS_SECRET: &str = "sts-secret-jkl";
    pub(crate) const STS_TOKEN: &str = "sts-security-token-mno";

    pub(crate) type StsRequest = (HashMap<String, String>, HashMap<String, String>, Option<String>);

    /// A fake STS.
    #[derive(Clone)]
    pub(crate) struct FakeSts {
        pub(crate) state: Arc<Mutex<StsState>>,
    }

    pub(crate) struct StsState {
        /// Seconds from now the credentials expire.
        pub(crate) expires_in: i64,
        /// Answer with this error (status, body) instead.
        pub(crate) fail: Option<(u16, String)>,
        /// (query, form, content-type) of every request.
        pub(crate) requests: Vec<StsRequest>,
    }

    impl FakeSts {
        pub(crate) fn new() -> Self {
            Self { state: Arc::new(Mutex::new(StsState { expires_in: 3600, fail: None, requests: Vec::new() })) }
        }

        pub(crate) fn calls(&self) -> usize {
            self.state.lock().unwrap().requests.len()
        }

        pub(crate) async fn serve(&self) -> String {
            async fn handle(
                State(s): State<FakeSts>,
                Query(query): Query<HashMap<String, String>>,
                headers: HeaderMap,
                Form(form): Form<HashMap<String, String>>,
            ) -> (StatusCode, String) {
                let mut st = s.state.lock().unwrap();
                let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
                st.requests.push((query, form, content_type));
                if let Some((status, body)) = &st.fail {
                    return (StatusCode::from_u16(*status).unwrap(), body.clone());
                }
                let expiration =
                    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() + time::Duration::seconds(st.expires_in);
                let expiration = expiration.format(&time::format_description::well_known::Rfc3339).unwrap();
                let body = serde_json::json!({
                    "RequestId": "req-1",
                    "AssumedRoleUser": {"Arn": "acs:ram::1:role/r/s", "AssumedRoleId": "1:s"},
                    "Credentials": {
                        "AccessKeyId": "STS.oidc",
                        "AccessKeySecret": STS_SECRET,
                        "SecurityToken": STS_TOKEN,
                        "Expiration": expiration,
                    }
                });
                (StatusCode::OK, body.to_string())
            }
            let app = Router::new().route("/", post(handle)).with_state(self.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            format!("http://{addr}")
        }
    }

    pub(crate) fn token_file(name: &str, content: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("aliyun-api-oidc-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, content).unwrap();
        path
    }

    fn assert_no_secrets(text: &str) {
        for s in [OIDC_TOKEN, STS_SECRET, STS_TOKEN] {
            assert!(!text.contains(s), "secret {s} in {text}");
        }
    }

    #[tokio::test]
    async fn assume_role_with_oidc_sends_the_right_request() {
        let sts = FakeSts::new();
        let url = sts.serve().await;
        let file = token_file("request", &format!("{OIDC_TOKEN}\n"));
        let env = Env::from_pairs([
            (ROLE_ARN_ENV, "acs:ram::123:role/ccm"),
            (OIDC_PROVIDER_ARN_ENV, "acs:ram::123:oidc-provider/ack-rrsa-c1"),
            (OIDC_TOKEN_FILE_ENV, file.to_str().unwrap()),
            (ROLE_SESSION_NAME_ENV, "ccm-session"),
            (STS_ENDPOINT_ENV, url.as_str()),
        ]);
        let p = OidcProvider::from_env(&env).unwrap().unwrap();
        assert_eq!(p.sts_endpoint(), url);
        assert_eq!(p.token_file(), file);
        let c = p.credentials().await.unwrap();
        assert_eq!(c.access_key_id, "STS.oidc");
        assert_eq!(c.access_key_secret.expose(), STS_SECRET);
        assert_eq!(c.security_token.as_ref().map(SecretString::expose), Some(STS_TOKEN));
        assert!(c.expiration.unwrap() > OffsetDateTime::now_utc() + time::Duration::seconds(3500));

        let st = sts.state.lock().unwrap();
        let (query, form, content_type) = &st.requests[0];
        assert_eq!(query["Action"], "AssumeRoleWithOIDC");
        assert_eq!(query["Version"], "2015-04-01");
        assert_eq!(query["Format"], "JSON");
        let ts = &query["Timestamp"];
        assert!(OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).is_ok(), "{ts}");
        assert!(ts.ends_with('Z') && ts.len() == 20, "{ts}");
        assert!(!query.contains_key("Signature") && !query.contains_key("AccessKeyId"));
        assert_eq!(content_type.as_deref(), Some("application/x-www-form-urlencoded"));
        assert_eq!(form["RoleArn"], "acs:ram::123:role/ccm");
        assert_eq!(form["OIDCProviderArn"], "acs:ram::123:oidc-provider/ack-rrsa-c1");
        assert_eq!(form["OIDCToken"], OIDC_TOKEN, "trimmed file content");
        assert_eq!(form["RoleSessionName"], "ccm-session");
        assert_eq!(form["DurationSeconds"], "3600");
        assert_eq!(form.len(), 5);
        assert_no_secrets(&format!("{p:?} {c:?}"));
    }

    #[tokio::test]
    async fn token_file_is_reread_on_every_call() {
        let sts = FakeSts::new();
        let url = sts.serve().await;
        let file = token_file("reread", "first-token");
        let p = OidcProvider::new("acs:ram::1:role/r", "acs:ram::1:oidc-provider/p", &file).with_sts_endpoint(&url);
        p.credentials().await.unwrap();
        std::fs::write(&file, "second-token\n").unwrap();
        p.credentials().await.unwrap();
        let st = sts.state.lock().unwrap();
        assert_eq!(st.requests[0].1["OIDCToken"], "first-token");
        assert_eq!(st.requests[1].1["OIDCToken"], "second-token");
        assert!(st.requests[0].1["RoleSessionName"].starts_with("aliyun-api-"));
    }

    #[tokio::test]
    async fn sts_errors_carry_code_message_request_id_but_never_the_token() {
        let sts = FakeSts::new();
        sts.state.lock().unwrap().fail = Some((
            400,
            format!(
                r#"{{"RequestId":"req-42","Code":"AuthenticationFail.OIDCToken.Invalid","Message":"bad token {OIDC_TOKEN}"}}"#
            ),
        ));
        let url = sts.serve().await;
        let file = token_file("error", OIDC_TOKEN);
        let p = OidcProvider::new("acs:ram::1:role/r", "acs:ram::1:oidc-provider/p", &file).with_sts_endpoint(&url);
        let err = p.credentials().await.unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("AuthenticationFail.OIDCToken.Invalid"), "{shown}");
        assert!(shown.contains("req-42") && shown.contains("HTTP 400"), "{shown}");
        assert_no_secrets(&shown);

        sts.state.lock().unwrap().fail = Some((502, format!("<html>bad gateway {OIDC_TOKEN}</html>")));
        let err = p.credentials().await.unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("HTTP 502") && shown.contains("bad gateway"), "{shown}");
        assert_no_secrets(&shown);
    }

    #[test]
    fn success_without_fields_is_an_error_without_secrets() {
        let body = format!(r#"{{"Credentials":{{"AccessKeyId":"STS.x","AccessKeySecret":"{STS_SECRET}"}}}}"#);
        let err = parse_sts_response(200, &body, OIDC_TOKEN, "r").unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("Credentials.SecurityToken"), "{shown}");
        assert_no_secrets(&shown);
        let err = parse_sts_response(200, &format!("{{\"x\":\"{STS_SECRET}\"}}"), OIDC_TOKEN, "r").unwrap_err();
        assert_no_secrets(&format!("{err} {err:?}"));
    }

    #[tokio::test]
    async fn missing_or_empty_token_file() {
        let dir = std::env::temp_dir().join(format!("aliyun-api-oidc-missing-{}", std::process::id()));
        let p = OidcProvider::new("r", "p", dir.join("nope")).with_sts_endpoint("http://127.0.0.1:9");
        let err = p.credentials().await.unwrap_err();
        assert!(err.to_string().contains(OIDC_TOKEN_FILE_ENV) && err.to_string().contains("nope"), "{err}");
        let file = token_file("empty", " \n");
        let err = OidcProvider::new("r", "p", &file).credentials().await.unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn from_env_partial_and_absent() {
        assert!(OidcProvider::from_env(&Env::empty()).unwrap().is_none());
        let err = OidcProvider::from_env(&Env::from_pairs([(ROLE_ARN_ENV, "acs:ram::1:role/r")])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(OIDC_PROVIDER_ARN_ENV) && text.contains(OIDC_TOKEN_FILE_ENV), "{text}");
    }

    #[test]
    fn sts_endpoint_selection() {
        assert_eq!(sts_endpoint_from_env(&Env::empty()), "https://sts.aliyuncs.com");
        assert_eq!(
            sts_endpoint_from_env(&Env::from_pairs([(STS_REGION_ENV, "cn-shanghai")])),
            "https://sts.cn-shanghai.aliyuncs.com"
        );
        assert_eq!(
            sts_endpoint_from_env(&Env::from_pairs([
                (STS_REGION_ENV, "cn-shanghai"),
                (VPC_ENDPOINT_ENABLED_ENV, "true")
            ])),
            "https://sts-vpc.cn-shanghai.aliyuncs.com"
        );
        assert_eq!(
            sts_endpoint_from_env(&Env::from_pairs([(STS_ENDPOINT_ENV, "sts.example.com"), (STS_REGION_ENV, "x")])),
            "https://sts.example.com"
        );
        assert_eq!(
            sts_endpoint_from_env(&Env::from_pairs([(STS_ENDPOINT_ENV, "http://127.0.0.1:9000/")])),
            "http://127.0.0.1:9000"
        );
        assert!(is_loopback("http://127.0.0.1:9000") && is_loopback("localhost:1"));
        assert!(!is_loopback("https://sts.aliyuncs.com"));
    }
}
