//! The HTTP listener: OpenAPI calls (dispatched by API version), the
//! metadata server paths and the admin API on one loopback port.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::auth::{self, Caller, NonceCache};
use crate::error::FakeError;
use crate::faults::{CallLog, CallRecord, FaultConfig, Faults, RateHeader};
use crate::form::{self, FormError};
use crate::metadata::MetadataServer;
use crate::seed::{self, Seed};
use crate::state::CloudState;
use crate::wire::{ApiFault, Request, request_id};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The products the fake serves, identified by API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// ECS `2014-05-26`.
    Ecs,
    /// VPC `2016-04-28`.
    Vpc,
    /// SLB (CLB) `2014-05-15`.
    Slb,
    /// STS `2015-04-01`.
    Sts,
}

impl Product {
    /// The product serving an API version.
    pub fn from_version(version: &str) -> Option<Self> {
        match version {
            "2014-05-26" => Some(Self::Ecs),
            "2016-04-28" => Some(Self::Vpc),
            "2014-05-15" => Some(Self::Slb),
            "2015-04-01" => Some(Self::Sts),
            _ => None,
        }
    }

    /// Product code as used in `Recommend` links and the call log.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ecs => "Ecs",
            Self::Vpc => "Vpc",
            Self::Slb => "Slb",
            Self::Sts => "Sts",
        }
    }

    fn host(self, region: &str) -> String {
        match self {
            Self::Sts => "sts.aliyuncs.com".to_string(),
            _ => format!("{}.{region}.aliyuncs.com", self.code().to_ascii_lowercase()),
        }
    }
}

/// How the fake starts.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The region to start with.
    pub seed: Seed,
    /// Listen address; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Extra access keys `(id, secret)` on top of the seed's.
    pub extra_access_keys: Vec<(String, String)>,
    /// Instance the metadata server describes (default: the first instance).
    pub metadata_instance: Option<String>,
    /// Whether metadata requests need a token (`PUT /latest/api/token`).
    pub metadata_token_required: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            seed: Seed::default_seed(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            extra_access_keys: Vec::new(),
            metadata_instance: None,
            metadata_token_required: false,
        }
    }
}

/// Live, non-resource state of the server.
#[derive(Debug, Default)]
pub(crate) struct Runtime {
    pub nonces: NonceCache,
    pub faults: Faults,
    pub calls: CallLog,
    pub metadata: MetadataServer,
}

/// Everything the request handlers share. Lock order: `state`, then `runtime`.
#[derive(Debug)]
pub(crate) struct Shared {
    pub state: Mutex<CloudState>,
    pub runtime: Mutex<Runtime>,
}

impl Shared {
    pub fn state(&self) -> MutexGuard<'_, CloudState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn runtime(&self) -> MutexGuard<'_, Runtime> {
        self.runtime.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Entry point to run the fake in-process.
#[derive(Debug)]
pub struct FakeCloud;

impl FakeCloud {
    /// Builds the region and starts serving on the current Tokio runtime.
    pub async fn start(config: FakeConfig) -> Result<FakeHandle, FakeError> {
        let shared = Arc::new(build_shared(&config)?);
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| FakeError::Bind { addr: config.listen.to_string(), source })?;
        let addr =
            listener.local_addr().map_err(|source| FakeError::Bind { addr: config.listen.to_string(), source })?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new()
            .fallback(entry)
            .with_state(shared.clone())
            .into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = stop_rx.await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
                tracing::error!(error = %e, "aliyun-fake listener failed");
            }
        });
        Ok(FakeHandle { addr, shared, stop: Some(stop_tx), task: Some(task) })
    }

    /// Starts the fake on its own thread and runtime, for synchronous callers.
    /// Stop it with [`FakeHandle::shutdown_blocking`] (or by dropping the handle).
    pub fn start_in_background(config: FakeConfig) -> Result<BackgroundFake, FakeError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(FakeError::Runtime)?;
        let handle = runtime.block_on(Self::start(config))?;
        Ok(BackgroundFake { handle: Some(handle), runtime: Some(runtime) })
    }
}

fn build_shared(config: &FakeConfig) -> Result<Shared, FakeError> {
    let mut state = config.seed.build()?;
    for (id, secret) in &config.extra_access_keys {
        seed::add_access_key(&mut state, id, secret);
    }
    let metadata_instance = match &config.metadata_instance {
        Some(id) if !state.instances.contains_key(id) => {
            return Err(FakeError::UnknownMetadataInstance(id.clone()));
        }
        Some(id) => Some(id.clone()),
        None => state.instance_order.first().cloned(),
    };
    let runtime = Runtime {
        faults: Faults::new(config.seed.faults.clone()),
        metadata: MetadataServer::new(metadata_instance, config.metadata_token_required),
        ..Default::default()
    };
    Ok(Shared { state: Mutex::new(state), runtime: Mutex::new(runtime) })
}

/// A running fake: its address, its state, and the switch to stop it.
#[derive(Debug)]
pub struct FakeHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FakeHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the endpoint for every product and the metadata server.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT`, the form SDK endpoint settings want.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Locks the emulated region for reading or changing it directly.
    /// Do not hold the guard across an `.await`.
    pub fn state(&self) -> MutexGuard<'_, CloudState> {
        let mut state = self.shared.state();
        state.settle();
        state
    }

    /// Replaces the active fault rules.
    pub fn set_faults(&self, faults: FaultConfig) {
        self.shared.runtime().faults = Faults::new(faults);
    }

    /// Calls answered for `action` since start or the last reset.
    pub fn call_count(&self, action: &str) -> u64 {
        self.shared.runtime().calls.by_action.get(action).copied().unwrap_or(0)
    }

    /// The call log as served by `GET /_fake/calls`.
    pub fn calls_json(&self) -> Value {
        serde_json::to_value(&self.shared.runtime().calls).unwrap_or(Value::Null)
    }

    /// Forgets the call log.
    pub fn reset_calls(&self) {
        self.shared.runtime().calls.reset();
    }

    /// Stops serving and waits for the listener to close.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A fake running on its own runtime (see [`FakeCloud::start_in_background`]).
#[derive(Debug)]
pub struct BackgroundFake {
    handle: Option<FakeHandle>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BackgroundFake {
    /// The running fake.
    pub fn handle(&self) -> &FakeHandle {
        self.handle.as_ref().expect("the handle is present until shutdown")
    }

    /// Stops the fake and its runtime.
    pub fn shutdown_blocking(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let (Some(handle), Some(runtime)) = (self.handle.take(), self.runtime.take()) {
            runtime.block_on(handle.shutdown());
            runtime.shutdown_background();
        }
    }
}

impl Drop for BackgroundFake {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn entry(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => return body_too_large(),
    };
    if path.starts_with("/_fake/") || path == "/_fake" {
        if !peer.ip().is_loopback() {
            return plain(StatusCode::FORBIDDEN, "the admin API answers loopback clients only\n");
        }
        return crate::admin::handle(&shared, &parts.method, &path, &query, &body);
    }
    if path.starts_with("/latest/") || path == "/latest" {
        return crate::metadata::handle(&shared, &parts.method, &path, &parts.headers);
    }
    let call = HttpCall {
        method: parts.method.as_str().to_string(),
        path,
        query,
        headers: lowercase_headers(&parts.headers),
        body: body.to_vec(),
    };
    api(&shared, call).await
}

fn body_too_large() -> Response {
    let fault =
        ApiFault::new(413, "RequestEntityTooLarge", format!("The request body is larger than {MAX_BODY_BYTES} bytes."));
    error_response(&fault, &request_id(), "aliyun-fake", None, ResponseFormat::Json)
}

/// A response with a plain-text body.
pub(crate) fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    let mut resp = Response::new(Body::from(text.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert("content-type", HeaderValue::from_static("text/plain; charset=utf-8"));
    resp
}

/// A response with a JSON body.
pub(crate) fn json(status: StatusCode, value: &Value) -> Response {
    let mut resp = Response::new(Body::from(value.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert("content-type", HeaderValue::from_static("application/json;charset=utf-8"));
    resp
}

fn lowercase_headers(headers: &HeaderMap) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        out.entry(name.as_str().to_ascii_lowercase()).or_default().push(value);
    }
    out
}

/// One HTTP request to the API surface, before interpretation.
#[derive(Debug, Clone)]
pub(crate) struct HttpCall {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: BTreeMap<String, Vec<String>>,
    pub body: Vec<u8>,
}

impl HttpCall {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.first()).map(String::as_str)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Rpc,
    V3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseFormat {
    Json,
    Xml,
}

/// A call after decoding: who it is for and with which parameters.
#[derive(Debug)]
struct ApiCall {
    style: Style,
    query: BTreeMap<String, String>,
    params: BTreeMap<String, String>,
    product: Product,
    action: String,
    format: ResponseFormat,
}

/// Everything known about a call by the time it is answered.
#[derive(Debug)]
struct Answer {
    product: String,
    action: String,
    access_key_id: String,
    params: BTreeMap<String, String>,
    result: Result<Value, ApiFault>,
    rate: Option<RateHeader>,
    host: String,
    format: ResponseFormat,
}

async fn api(shared: &Shared, http: HttpCall) -> Response {
    let request_id = request_id();
    let region = shared.state().region_id.clone();
    let call = match decode_call(&http) {
        Ok(call) => call,
        Err((fault, action)) => {
            let host = http.header("host").unwrap_or("aliyun-fake").to_string();
            let answer = Answer {
                product: String::new(),
                action,
                access_key_id: String::new(),
                params: BTreeMap::new(),
                result: Err(fault),
                rate: None,
                host,
                format: ResponseFormat::Json,
            };
            return finish(shared, answer, &request_id);
        }
    };
    let latency = shared.runtime().faults.latency(&call.action);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let answer = process(shared, &http, call, &region);
    finish(shared, answer, &request_id)
}

fn process(shared: &Shared, http: &HttpCall, call: ApiCall, region: &str) -> Answer {
    let mut state = shared.state();
    state.settle();
    let mut runtime = shared.runtime();
    let mut answer = Answer {
        product: call.product.code().to_string(),
        action: call.action.clone(),
        access_key_id: String::new(),
        params: loggable_params(&call.params),
        result: Ok(Value::Null),
        rate: None,
        host: call.product.host(region),
        format: call.format,
    };
    let caller = match authenticate(&state, &mut runtime.nonces, http, &call) {
        Ok(caller) => caller,
        Err(fault) => {
            answer.result = Err(fault);
            return answer;
        }
    };
    answer.access_key_id = caller.as_ref().map(|c| c.access_key_id.clone()).unwrap_or_default();
    let now = state.wall_now();
    // The headers go on throttled answers only: the Tea SDKs turn any error
    // carrying one into a ThrottlingException.
    if let Some(rate) = runtime.faults.throttle(&call.action, now)
        && rate.throttled
    {
        answer.rate = Some(rate);
        answer.result = Err(ApiFault::throttled());
        return answer;
    }
    if let Some(fault) = runtime.faults.injected_error(&call.action) {
        answer.result = Err(fault);
        return answer;
    }
    drop(runtime);
    let req = Request::new(call.action.clone(), call.params);
    answer.result = route(&mut state, call.product, &req, caller.as_ref());
    answer
}

fn route(state: &mut CloudState, product: Product, req: &Request, caller: Option<&Caller>) -> Result<Value, ApiFault> {
    let action = req.action();
    let handled = match product {
        Product::Ecs => crate::ecs::handle(state, action, req),
        Product::Vpc => crate::vpc::handle(state, action, req),
        Product::Slb => crate::slb::handle(state, action, req),
        Product::Sts => crate::sts::handle(state, action, req, caller),
    };
    handled.unwrap_or_else(|| Err(action_not_found()))
}

fn action_not_found() -> ApiFault {
    ApiFault::not_found("InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
}

fn authenticate(
    state: &CloudState,
    nonces: &mut NonceCache,
    http: &HttpCall,
    call: &ApiCall,
) -> Result<Option<Caller>, ApiFault> {
    if crate::sts::is_anonymous(call.product, &call.action) {
        return Ok(None);
    }
    let caller = match call.style {
        Style::Rpc => auth::verify_rpc(state, nonces, &http.method, &call.params)?,
        Style::V3 => {
            let req = auth::V3Request {
                method: &http.method,
                path: &http.path,
                query: &call.query,
                headers: &http.headers,
                body: &http.body,
            };
            auth::verify_v3(state, nonces, &req)?
        }
    };
    Ok(Some(caller))
}

/// Parameters worth logging: everything but the signature machinery.
fn loggable_params(params: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    const HIDDEN: [&str; 8] = [
        "Signature",
        "SignatureNonce",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureType",
        "SecurityToken",
        "Timestamp",
        "AccessKeyId",
    ];
    params.iter().filter(|(k, _)| !HIDDEN.contains(&k.as_str())).map(|(k, v)| (k.clone(), truncate(v, 512))).collect()
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Decodes query and form, works out the signing style, product and action.
/// On failure returns the fault and whatever action name was found.
fn decode_call(http: &HttpCall) -> Result<ApiCall, (ApiFault, String)> {
    if http.method != Method::GET.as_str() && http.method != Method::POST.as_str() {
        return Err((action_not_found(), String::new()));
    }
    let malformed = |e: FormError| ApiFault::bad_request("InvalidParameter", format!("The request is malformed: {e}."));
    let mut query = BTreeMap::new();
    form::decode_into(&http.query, &mut query).map_err(|e| (malformed(e), String::new()))?;
    let mut params = query.clone();
    if is_form(http) {
        let text = std::str::from_utf8(&http.body).map_err(|_| {
            (ApiFault::bad_request("InvalidParameter", "The form body is not valid UTF-8."), String::new())
        })?;
        form::decode_into(text, &mut params).map_err(|e| (malformed(e), String::new()))?;
    }
    let is_v3 = http.header("authorization").is_some_and(|a| a.starts_with("ACS3-"))
        || (!params.contains_key("Signature") && http.header("x-acs-action").is_some());
    let (style, action, version) = if is_v3 {
        let action = http.header("x-acs-action").unwrap_or_default().to_string();
        let version = http.header("x-acs-version").unwrap_or_default().to_string();
        (Style::V3, action, version)
    } else {
        let action = params.get("Action").cloned().unwrap_or_default();
        let version = params.get("Version").cloned().unwrap_or_default();
        (Style::Rpc, action, version)
    };
    if version.is_empty() {
        return Err((ApiFault::missing("Version"), action));
    }
    let product = Product::from_version(&version).ok_or_else(|| {
        (ApiFault::bad_request("InvalidVersion", "Specified parameter Version is not valid."), action.clone())
    })?;
    if action.is_empty() {
        return Err((ApiFault::missing("Action"), action));
    }
    let format = match (style, params.get("Format").map(String::as_str)) {
        (Style::Rpc, None) => ResponseFormat::Xml,
        (Style::Rpc, Some(f)) if f.eq_ignore_ascii_case("xml") => ResponseFormat::Xml,
        _ => ResponseFormat::Json,
    };
    Ok(ApiCall { style, query, params, product, action, format })
}

fn is_form(http: &HttpCall) -> bool {
    !http.body.is_empty()
        && http
            .header("content-type")
            .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

fn finish(shared: &Shared, answer: Answer, request_id: &str) -> Response {
    let (status, code) = match &answer.result {
        Ok(_) => (200, None),
        Err(f) => (f.status, Some(f.code.clone())),
    };
    let at = shared.state().timestamp();
    shared.runtime().calls.record(CallRecord {
        seq: 0,
        at,
        product: answer.product.clone(),
        action: answer.action.clone(),
        access_key_id: answer.access_key_id.clone(),
        status,
        code,
        params: answer.params.clone(),
    });
    let product = (!answer.product.is_empty()).then_some(answer.product.as_str());
    let mut resp = match answer.result {
        Ok(body) => success_response(body, request_id, &answer.action, answer.format),
        Err(fault) => error_response(&fault, request_id, &answer.host, product, answer.format),
    };
    if let Some(rate) = answer.rate {
        // Older SDKs parse TimeLeft out of x-ratelimit-user-api; current Tea
        // cores (alibabacloud-tea-openapi 0.4) read x-acs-retry-after (ms).
        if let Ok(v) = HeaderValue::from_str(&rate.value) {
            resp.headers_mut().insert("x-ratelimit-user-api", v);
        }
        resp.headers_mut().insert("x-acs-retry-after", HeaderValue::from(rate.time_left_ms));
    }
    resp
}

fn success_response(body: Value, request_id: &str, action: &str, format: ResponseFormat) -> Response {
    let mut object = match body {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    object.insert("RequestId".into(), Value::String(request_id.to_string()));
    let value = Value::Object(object);
    let mut resp = match format {
        ResponseFormat::Json => json(StatusCode::OK, &value),
        ResponseFormat::Xml => xml(StatusCode::OK, &format!("{action}Response"), &value),
    };
    set_request_id(&mut resp, request_id);
    resp
}

fn error_response(
    fault: &ApiFault,
    request_id: &str,
    host: &str,
    product: Option<&str>,
    format: ResponseFormat,
) -> Response {
    let recommend = match product {
        Some(p) => format!("https://api.aliyun.com/troubleshoot?q={}&product={p}&requestId={request_id}", fault.code),
        None => format!("https://api.aliyun.com/troubleshoot?q={}&requestId={request_id}", fault.code),
    };
    let value = serde_json::json!({
        "RequestId": request_id,
        "HostId": host,
        "Code": fault.code,
        "Message": fault.message,
        "Recommend": recommend,
    });
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match format {
        ResponseFormat::Json => json(status, &value),
        ResponseFormat::Xml => xml(status, "Error", &value),
    };
    set_request_id(&mut resp, request_id);
    resp
}

fn set_request_id(resp: &mut Response, request_id: &str) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-acs-request-id", v);
    }
}

fn xml(status: StatusCode, root: &str, value: &Value) -> Response {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    write_xml_element(&mut out, root, value);
    let mut resp = Response::new(Body::from(out));
    *resp.status_mut() = status;
    resp.headers_mut().insert("content-type", HeaderValue::from_static("text/xml;charset=utf-8"));
    resp
}

/// Writes `value` as the XML the gateway produces: objects become child
/// elements, arrays repeat their parent element name.
fn write_xml_element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                write_xml_element(out, name, item);
            }
        }
        Value::Object(map) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in map {
                write_xml_element(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", xml_escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_rendering_repeats_array_elements() {
        let mut out = String::new();
        let v = serde_json::json!({"Instances": {"Instance": [{"InstanceId": "i-1"}, {"InstanceId": "i-<2>"}]}, "TotalCount": 2});
        write_xml_element(&mut out, "DescribeInstancesResponse", &v);
        assert_eq!(
            out,
            "<DescribeInstancesResponse><Instances><Instance><InstanceId>i-1</InstanceId></Instance><Instance><InstanceId>i-&lt;2&gt;</InstanceId></Instance></Instances><TotalCount>2</TotalCount></DescribeInstancesResponse>"
        );
    }

    fn call(query: String, body: Vec<u8>, form: bool) -> HttpCall {
        let mut headers = BTreeMap::new();
        if form {
            headers.insert("content-type".to_string(), vec!["application/x-www-form-urlencoded".to_string()]);
        }
        HttpCall { method: "POST".into(), path: "/".into(), query, headers, body }
    }

    proptest::proptest! {
        /// The request parser answers every input with a call or a fault.
        #[test]
        fn decoding_never_panics(query in ".{0,200}", body in proptest::collection::vec(proptest::num::u8::ANY, 0..200), form: bool) {
            let _ = decode_call(&call(query, body, form));
        }

        /// Parameter-shaped garbage with escapes and separators, too.
        #[test]
        fn decoding_query_like_input_never_panics(query in "[A-Za-z0-9%&=+.~_-]{0,120}") {
            let _ = decode_call(&call(query.clone(), query.into_bytes(), true));
        }
    }

    #[test]
    fn versions_map_to_products() {
        assert_eq!(Product::from_version("2014-05-26"), Some(Product::Ecs));
        assert_eq!(Product::from_version("2016-04-28"), Some(Product::Vpc));
        assert_eq!(Product::from_version("2014-05-15"), Some(Product::Slb));
        assert_eq!(Product::from_version("2015-04-01"), Some(Product::Sts));
        assert_eq!(Product::from_version("2020-01-01"), None);
    }
}
