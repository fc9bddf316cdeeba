//! Test-only client: a tiny, separate signer for RPC and V3 requests.

use std::collections::BTreeMap;

use aliyun_fake::{FakeCloud, FakeConfig, FakeHandle, Seed};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Digest as _;

pub const AK: &str = "fake-ak";
pub const SECRET: &str = "fake-secret";
pub const ECS: &str = "2014-05-26";
pub const VPC: &str = "2016-04-28";
pub const STS: &str = "2015-04-01";

pub async fn start() -> FakeHandle {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut FakeConfig)) -> FakeHandle {
    let mut config = FakeConfig { seed: Seed::default_seed(), ..Default::default() };
    config.seed.route_entry_delay_ms = Some(60_000);
    tweak(&mut config);
    FakeCloud::start(config).await.expect("fake starts")
}

/// RFC 3986 encoding, written independently of the crate's.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn now_utc() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub fn nonce() -> String {
    let b: [u8; 16] = rand::random();
    hex::encode(b)
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
    pub text: String,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["Code"].as_str().unwrap_or("")
    }
}

pub struct Client {
    pub endpoint: String,
    pub ak: String,
    pub secret: String,
    pub token: Option<String>,
    pub http: reqwest::Client,
}

impl Client {
    pub fn new(fake: &FakeHandle) -> Self {
        Self {
            endpoint: fake.endpoint(),
            ak: AK.into(),
            secret: SECRET.into(),
            token: None,
            http: reqwest::Client::new(),
        }
    }

    /// Common RPC parameters, unsigned.
    pub fn rpc_params(&self, version: &str, action: &str, params: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut p: BTreeMap<String, String> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for (k, v) in [
            ("Action", action.to_string()),
            ("Version", version.to_string()),
            ("Format", "JSON".to_string()),
            ("AccessKeyId", self.ak.clone()),
            ("SignatureMethod", "HMAC-SHA1".to_string()),
            ("SignatureVersion", "1.0".to_string()),
            ("SignatureNonce", nonce()),
            ("Timestamp", now_utc()),
        ] {
            p.entry(k.to_string()).or_insert(v);
        }
        if let Some(t) = &self.token {
            p.insert("SecurityToken".into(), t.clone());
        }
        p
    }

    pub fn rpc_sign(&self, method: &str, p: &mut BTreeMap<String, String>) {
        p.remove("Signature");
        let canonical: Vec<String> = p.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        let sts = format!("{method}&%2F&{}", enc(&canonical.join("&")));
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{}&", self.secret).as_bytes()).unwrap();
        mac.update(sts.as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        p.insert("Signature".into(), sig);
    }

    pub async fn rpc(&self, version: &str, action: &str, params: &[(&str, &str)]) -> Reply {
        let mut p = self.rpc_params(version, action, params);
        self.rpc_sign("GET", &mut p);
        self.send_query("GET", &p).await
    }

    pub async fn send_query(&self, method: &str, p: &BTreeMap<String, String>) -> Reply {
        let query: Vec<String> = p.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        self.raw(method, &format!("/?{}", query.join("&")), vec![], None).await
    }

    pub async fn raw(
        &self,
        method: &str,
        path_and_query: &str,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{}", self.endpoint, path_and_query));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await.expect("request is answered");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Reply { status, headers, body, text }
    }

    /// A V3 (ACS3-HMAC-SHA256) call with the parameters in the query.
    pub async fn v3(&self, version: &str, action: &str, params: &[(&str, &str)]) -> Reply {
        let (path, headers) = self.v3_parts(version, action, params, b"", None);
        self.raw("POST", &path, headers, None).await
    }

    pub fn v3_parts(
        &self,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
        body: &[u8],
        content_type: Option<&str>,
    ) -> (String, Vec<(String, String)>) {
        let host = self.endpoint.trim_start_matches("http://").to_string();
        let mut sorted: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        sorted.sort();
        let query: Vec<String> = sorted.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        let query = query.join("&");
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        headers.insert("host".into(), host);
        headers.insert("x-acs-action".into(), action.into());
        headers.insert("x-acs-version".into(), version.into());
        headers.insert("x-acs-date".into(), now_utc());
        headers.insert("x-acs-signature-nonce".into(), nonce());
        headers.insert("x-acs-content-sha256".into(), hex::encode(sha2::Sha256::digest(body)));
        if let Some(ct) = content_type {
            headers.insert("content-type".into(), ct.into());
        }
        if let Some(t) = &self.token {
            headers.insert("x-acs-security-token".into(), t.clone());
        }
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let signed: Vec<&str> = headers.keys().map(String::as_str).collect();
        let signed = signed.join(";");
        let canonical = format!("POST\n/\n{query}\n{canonical_headers}\n{signed}\n{}", headers["x-acs-content-sha256"]);
        let sts = format!("ACS3-HMAC-SHA256\n{}", hex::encode(sha2::Sha256::digest(canonical.as_bytes())));
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.secret.as_bytes()).unwrap();
        mac.update(sts.as_bytes());
        let sig = hex::encode(mac.finalize().into_bytes());
        headers.insert(
            "authorization".into(),
            format!("ACS3-HMAC-SHA256 Credential={},SignedHeaders={signed},Signature={sig}", self.ak),
        );
        headers.remove("host");
        let path = if query.is_empty() { "/".to_string() } else { format!("/?{query}") };
        (path, headers.into_iter().collect())
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Reply {
        let headers = vec![("content-type".to_string(), "application/json".to_string())];
        self.raw(method, path, headers, body.map(|b| b.to_string().into_bytes())).await
    }
}
