//! The client against a scripted local HTTP server: signing on the wire, retries, throttling hints, error
//! bodies, pagination and deadlines. Loopback only.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use aliyun_api::{
    ApiRequest, Client, Credentials, Endpoints, Error, Params, Product, RawRequest, SignatureVersion,
    client::HttpMethod,
    credentials::StaticProvider,
    ratelimit::RateLimits,
    request::{NextTokenPage, NextTokenRequest, NumberedPage, NumberedRequest},
    retry::RetryPolicy,
    signature,
};
use axum::{
    Router,
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
};

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    query: BTreeMap<String, String>,
    headers: HeaderMap,
}

/// A canned answer.
#[derive(Debug, Clone)]
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn ok(body: &str) -> Canned {
    Canned { status: 200, headers: vec![], body: body.to_owned() }
}

fn api_error(status: u16, code: &str) -> Canned {
    Canned {
        status,
        headers: vec![],
        body: format!(
            r#"{{"RequestId":"REQ-1","HostId":"ecs.example","Code":"{code}","Message":"m for {code}","Recommend":"r"}}"#
        ),
    }
}

#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<Canned>>,
    seen: Mutex<Vec<Seen>>,
}

async fn answer(
    State(script): State<Arc<Script>>,
    method: Method,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    _body: Bytes,
) -> Response {
    let query = form_urlencoded_pairs(q.as_deref().unwrap_or(""));
    script.seen.lock().unwrap().push(Seen { method: method.to_string(), query, headers });
    let canned = script.answers.lock().unwrap().pop_front().unwrap_or_else(|| api_error(500, "NoMoreScript"));
    let mut response = (StatusCode::from_u16(canned.status).unwrap(), canned.body).into_response();
    for (k, v) in canned.headers {
        response.headers_mut().insert(k, v.parse().unwrap());
    }
    response
}

fn form_urlencoded_pairs(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

async fn serve(answers: Vec<Canned>) -> (String, Arc<Script>) {
    let script = Arc::new(Script { answers: Mutex::new(answers.into()), seen: Mutex::default() });
    let app = Router::new().fallback(answer).with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), script)
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        throttling_base_delay: Duration::from_millis(1),
        max_delay: Duration::from_secs(5),
        deadline: Duration::from_secs(10),
        attempt_timeout: Duration::from_secs(5),
    }
}

const SECRET: &str = "s3cr3t-value-never-shown";
const TOKEN: &str = "sts-token-never-shown";

fn client(endpoint: &str, signature: SignatureVersion) -> Client {
    Client::builder("cn-hangzhou")
        .endpoints(Endpoints::new("cn-hangzhou").with_all(endpoint))
        .credentials(StaticProvider::new(Credentials::access_key("AKID", SECRET).with_security_token(TOKEN)))
        .signature(signature)
        .retry(fast_retry())
        .rate_limits(RateLimits::unlimited())
        .build()
        .unwrap()
}

#[tokio::test]
async fn rpc_request_carries_common_parameters_and_a_verifiable_signature() {
    let (url, script) = serve(vec![ok(r#"{"RequestId":"x"}"#)]).await;
    let c = client(&url, SignatureVersion::V1);
    c.call_raw(&RawRequest::new(Product::Vpc, "DescribeVpcs").param("VpcName", "a b+c=d&é")).await.unwrap();
    let seen = script.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "POST");
    let q = &seen.query;
    assert_eq!(q["Action"], "DescribeVpcs");
    assert_eq!(q["Version"], "2016-04-28");
    assert_eq!(q["RegionId"], "cn-hangzhou");
    assert_eq!(q["AccessKeyId"], "AKID");
    assert_eq!(q["SecurityToken"], TOKEN);
    assert_eq!(q["SignatureMethod"], "HMAC-SHA1");
    assert_eq!(q["SignatureVersion"], "1.0");
    assert_eq!(q["Format"], "JSON");
    assert_eq!(q["VpcName"], "a b+c=d&é");
    assert_eq!(q["SignatureNonce"].len(), 32);
    let ts = &q["Timestamp"];
    assert!(ts.len() == 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{ts}");
    // Verify as a server would: everything but Signature, POST, key secret + "&".
    let unsigned: Vec<(&str, &str)> =
        q.iter().filter(|(k, _)| *k != "Signature").map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let expected = signature::rpc_signature(SECRET, &signature::rpc_string_to_sign("POST", unsigned));
    assert_eq!(q["Signature"], expected);
}

#[tokio::test]
async fn get_method_is_honoured() {
    let (url, script) = serve(vec![ok("{}")]).await;
    let c = Client::builder("cn-beijing")
        .endpoints(Endpoints::new("cn-beijing").with_all(&url))
        .credentials(StaticProvider::new(Credentials::access_key("AKID", SECRET)))
        .method(HttpMethod::Get)
        .build()
        .unwrap();
    c.call_raw(&RawRequest::new(Product::Ecs, "DescribeInstances")).await.unwrap();
    let seen = script.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.query["RegionId"], "cn-beijing");
    assert!(!seen.query.contains_key("SecurityToken"));
}

#[tokio::test]
async fn v3_request_signs_headers_not_query() {
    let (url, script) = serve(vec![ok("{}")]).await;
    let c = client(&url, SignatureVersion::V3);
    c.call_raw(&RawRequest::new(Product::Slb, "DescribeLoadBalancers").param("PageSize", "10")).await.unwrap();
    let seen = script.seen.lock().unwrap()[0].clone();
    let h = &seen.headers;
    assert_eq!(h["x-acs-action"], "DescribeLoadBalancers");
    assert_eq!(h["x-acs-version"], "2014-05-15");
    assert_eq!(h["x-acs-security-token"], TOKEN);
    assert_eq!(h["x-acs-content-sha256"], signature::sha256_hex(b""));
    let auth = h["authorization"].to_str().unwrap();
    assert!(auth.starts_with("ACS3-HMAC-SHA256 Credential=AKID,SignedHeaders=host;x-acs-action;"), "{auth}");
    assert!(!seen.query.contains_key("Signature") && !seen.query.contains_key("Action"));
    assert_eq!(seen.query["PageSize"], "10");
    // Recompute the signature from what arrived.
    let header_pairs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.to_str().unwrap())).collect();
    let signed: Vec<(&str, &str)> = header_pairs
        .iter()
        .copied()
        .filter(|(k, _)| *k == "host" || k.starts_with("x-acs-") || *k == "content-type")
        .collect();
    let query: Vec<(&str, &str)> = seen.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let input = signature::V3Input {
        method: "POST",
        path: "/",
        query: &query,
        headers: &signed,
        payload_hash: h["x-acs-content-sha256"].to_str().unwrap(),
    };
    assert_eq!(auth, signature::v3_authorization("AKID", SECRET, &input));
}

#[tokio::test]
async fn throttled_reads_are_retried_with_fresh_nonces() {
    let (url, script) = serve(vec![
        api_error(400, "Throttling.User"),
        api_error(503, "ServiceUnavailable"),
        ok(r#"{"RequestId":"ok"}"#),
    ])
    .await;
    let c = client(&url, SignatureVersion::V1);
    let v = c.call_raw(&RawRequest::new(Product::Ecs, "DescribeInstances")).await.unwrap();
    assert_eq!(v["RequestId"], "ok");
    let seen = script.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_ne!(seen[0].query["SignatureNonce"], seen[1].query["SignatureNonce"]);
}

#[tokio::test]
async fn server_throttling_hint_sets_the_wait() {
    let mut throttled = api_error(400, "Throttling.User");
    throttled.headers.push(("x-ratelimit-user-api", "Limit:1,Remain:0,TimeLeft:300,Reset:1".to_owned()));
    let (url, _script) = serve(vec![throttled, ok("{}")]).await;
    let c = client(&url, SignatureVersion::V1);
    let started = Instant::now();
    c.call_raw(&RawRequest::new(Product::Vpc, "DescribeRouteEntryList")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
}

#[tokio::test]
async fn ambiguous_failures_of_writes_are_not_retried_but_throttling_is() {
    let (url, script) = serve(vec![api_error(500, "InternalError")]).await;
    let c = client(&url, SignatureVersion::V1);
    let err = c.call_raw(&RawRequest::new(Product::Vpc, "CreateRouteEntry")).await.unwrap_err();
    assert_eq!(err.code(), Some("InternalError"));
    assert_eq!(script.seen.lock().unwrap().len(), 1, "a write that may have been applied must not be repeated");

    let (url, script) = serve(vec![api_error(400, "Throttling"), ok("{}")]).await;
    let c = client(&url, SignatureVersion::V1);
    c.call_raw(&RawRequest::new(Product::Vpc, "CreateRouteEntry")).await.unwrap();
    assert_eq!(script.seen.lock().unwrap().len(), 2, "a throttled write was never applied, so it is retried");
}

#[tokio::test]
async fn client_errors_are_not_retried_and_carry_the_body() {
    let (url, script) = serve(vec![api_error(404, "InvalidLoadBalancerId.NotFound")]).await;
    let c = client(&url, SignatureVersion::V1);
    let err = c.call_raw(&RawRequest::new(Product::Slb, "DescribeLoadBalancerAttribute")).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.status, api.code.as_str(), api.request_id.as_str()),
        (404, "InvalidLoadBalancerId.NotFound", "REQ-1")
    );
    assert_eq!(api.message, "m for InvalidLoadBalancerId.NotFound");
    assert!(err.is_not_found());
    assert_eq!(script.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_proxy_html_page_is_a_clear_error() {
    let page = Canned {
        status: 502,
        headers: vec![],
        body: "<html><body><h1>502 Bad Gateway</h1>\n</body></html>".to_owned(),
    };
    let (url, script) = serve(vec![page.clone(), page.clone(), page.clone(), page]).await;
    let c = client(&url, SignatureVersion::V1);
    let err = c.call_raw(&RawRequest::new(Product::Ecs, "DescribeInstances")).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::UnexpectedBody { status: 502, .. }), "{err:?}");
    assert!(text.contains("502 Bad Gateway") && text.contains("ecs.DescribeInstances"), "{text}");
    assert_eq!(script.seen.lock().unwrap().len(), 4, "gateway errors on reads are retried up to max_attempts");
}

#[tokio::test]
async fn the_deadline_bounds_the_whole_call() {
    let mut throttled = api_error(400, "Throttling.User");
    throttled.headers.push(("x-ratelimit-user", "TimeLeft:3000".to_owned()));
    let (url, _script) = serve(vec![throttled]).await;
    let c = Client::builder("cn-hangzhou")
        .endpoints(Endpoints::new("cn-hangzhou").with_all(&url))
        .credentials(StaticProvider::new(Credentials::access_key("AKID", SECRET)))
        .retry(RetryPolicy { deadline: Duration::from_millis(500), ..fast_retry() })
        .build()
        .unwrap();
    let started = Instant::now();
    let err = c.call_raw(&RawRequest::new(Product::Ecs, "DescribeInstances")).await.unwrap_err();
    assert!(matches!(err, Error::DeadlineExceeded { attempts: 1, .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn errors_never_show_secrets() {
    let (url, _script) = serve(vec![api_error(400, "SignatureDoesNotMatch")]).await;
    let c = client(&url, SignatureVersion::V1);
    let err = c.call_raw(&RawRequest::new(Product::Ecs, "DescribeInstances")).await.unwrap_err();
    let shown = format!("{err} {err:?} {c:?}");
    assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
    // A connection failure (nothing listens on port 9 of loopback) must not leak the URL's query either.
    let dead = client("http://127.0.0.1:9", SignatureVersion::V1);
    let err = dead.call_raw(&RawRequest::new(Product::Ecs, "DescribeInstances")).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(!shown.contains(TOKEN) && !shown.contains("Signature="), "{shown}");
}

// A minimal typed listing to drive the pagination helpers.
#[derive(Debug, Clone, Default)]
struct ListThings {
    next_token: Option<String>,
    page: Option<(u32, u32)>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ThingsPage {
    #[serde(default)]
    next_token: String,
    #[serde(default)]
    total_count: u64,
    things: Vec<u32>,
}

impl ApiRequest for ListThings {
    type Response = ThingsPage;
    const PRODUCT: Product = Product::Vpc;
    const ACTION: &'static str = "DescribeThings";
    fn to_params(&self, p: &mut Params) {
        p.opt("NextToken", self.next_token.as_ref());
        if let Some((n, s)) = self.page {
            p.set("PageNumber", n.to_string()).set("PageSize", s.to_string());
        }
    }
}

impl NextTokenPage for ThingsPage {
    type Item = u32;
    fn next_token(&self) -> Option<&str> {
        Some(&self.next_token)
    }
    fn into_items(self) -> Vec<u32> {
        self.things
    }
}

impl NextTokenRequest for ListThings {
    fn set_next_token(&mut self, token: Option<String>) {
        self.next_token = token;
    }
}

impl NumberedPage for ThingsPage {
    type Item = u32;
    fn total_count(&self) -> u64 {
        self.total_count
    }
    fn into_items(self) -> Vec<u32> {
        self.things
    }
}

impl NumberedRequest for ListThings {
    const MAX_PAGE_SIZE: u32 = 2;
    fn set_page(&mut self, number: u32, size: u32) {
        self.page = Some((number, size));
    }
}

#[tokio::test]
async fn next_token_pages_are_followed_to_the_end() {
    let (url, script) = serve(vec![
        ok(r#"{"NextToken":"t1","Things":[1,2]}"#),
        ok(r#"{"NextToken":"t2","Things":[3]}"#),
        ok(r#"{"NextToken":"","Things":[4]}"#),
    ])
    .await;
    let c = client(&url, SignatureVersion::V1);
    let items = c.collect_next_token(ListThings::default()).await.unwrap();
    assert_eq!(items, vec![1, 2, 3, 4]);
    let seen = script.seen.lock().unwrap().clone();
    let tokens: Vec<Option<&String>> = seen.iter().map(|s| s.query.get("NextToken")).collect();
    assert_eq!(tokens, vec![None, Some(&"t1".to_owned()), Some(&"t2".to_owned())]);
}

#[tokio::test]
async fn numbered_pages_stop_at_the_total() {
    let (url, script) = serve(vec![
        ok(r#"{"TotalCount":5,"Things":[1,2]}"#),
        ok(r#"{"TotalCount":5,"Things":[3,4]}"#),
        ok(r#"{"TotalCount":5,"Things":[5]}"#),
        ok(r#"{"TotalCount":5,"Things":[6]}"#),
    ])
    .await;
    let c = client(&url, SignatureVersion::V1);
    let items = c.collect_pages(ListThings::default()).await.unwrap();
    assert_eq!(items, vec![1, 2, 3, 4, 5]);
    let seen = script.seen.lock().unwrap().clone();
    let pages: Vec<&str> = seen.iter().map(|s| s.query["PageNumber"].as_str()).collect();
    assert_eq!(pages, vec!["1", "2", "3"]);
    assert!(seen.iter().all(|s| s.query["PageSize"] == "2"));
}

#[tokio::test]
async fn anonymous_sts_calls_carry_no_signature_and_keep_the_token_out_of_the_url() {
    let body = r#"{"RequestId":"r","AssumedRoleUser":{"Arn":"acs:ram::1:role/x","AssumedRoleId":"1:s"},
        "Credentials":{"AccessKeyId":"STS.id","AccessKeySecret":"sk","SecurityToken":"tok","Expiration":"2030-01-01T00:00:00Z"}}"#;
    let (url, script) = serve(vec![ok(body)]).await;
    // No credentials provider at all: anonymous calls must not need one.
    let c = Client::builder("cn-hangzhou")
        .endpoints(Endpoints::new("cn-hangzhou").with_all(&url))
        .rate_limits(RateLimits::unlimited())
        .build()
        .unwrap();
    let request = aliyun_api::sts::AssumeRoleWithOidc::new(
        "acs:ram::1:role/x",
        "acs:ram::1:oidc-provider/p",
        "jwt-value",
        "session",
    );
    let response = c.call(&request).await.unwrap();
    assert_eq!(response.credentials.access_key_id, "STS.id");
    let seen = script.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.query["Action"], "AssumeRoleWithOIDC");
    assert_eq!(seen.query["Version"], "2015-04-01");
    for absent in ["Signature", "AccessKeyId", "OIDCToken", "RoleArn", "RegionId"] {
        assert!(!seen.query.contains_key(absent), "{absent} must not be in the query");
    }
}
