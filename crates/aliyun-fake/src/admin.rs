//! The admin API under `/_fake/` (unauthenticated, loopback clients only):
//! state dump, call log, fault injection, cloud-side instance changes,
//! clock and behaviour knobs. `GET /_fake/` lists the endpoints.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::faults::{FaultConfig, Faults};
use crate::seed::{self, SeedInstance};
use crate::server::{Shared, json, plain};
use crate::state::CloudState;

/// What `GET /_fake/` prints.
pub const HELP: &str = "\
aliyun-fake admin API (JSON in and out; loopback clients only)
GET    /_fake/health                     -> ok
GET    /_fake/state                      -> dump of the whole region
GET    /_fake/calls                      -> call log: total, byAction, byCode, calls[]
POST   /_fake/reset-calls                -> forget the call log
GET    /_fake/faults                     -> active fault rules
PUT    /_fake/faults                     <- {qps:{Action:N}, latency_ms:{Action:ms}, errors:{Action:{code,status,message,rate,remaining}}} replaces all rules
POST   /_fake/faults                     <- same shape, merged into the active rules
DELETE /_fake/faults                     -> clear every rule
POST   /_fake/instances                  <- a seed instance ({id, hostname, vswitch, type, status, private_ip, public_ip, eip, ipv6, tags, ram_role}) -> {InstanceId}
POST   /_fake/enis                       <- {vswitch, private_ip, description}: an in-use ENI of no instance (an ECI pod's) -> {NetworkInterfaceId, PrivateIpAddress}
POST   /_fake/instances/{id}/stop        -> status Stopped
POST   /_fake/instances/{id}/start       -> status Running
DELETE /_fake/instances/{id}             -> instance, its ENI and addresses gone (also POST .../delete)
POST   /_fake/clock/advance              <- {seconds: N} moves the fake's clock (Pending routes settle)
PUT    /_fake/behaviour                  <- {route_entry_delay_ms, route_entry_quota}
PUT    /_fake/metadata                   <- {instance_id, token_required}
Action keys in fault rules are API action names (DescribeInstances) or \"*\".
";

/// Answers one admin request.
pub(crate) fn handle(shared: &Shared, method: &Method, path: &str, _query: &str, body: &[u8]) -> Response {
    let segments: Vec<&str> = path.trim_start_matches("/_fake").split('/').filter(|s| !s.is_empty()).collect();
    let result = match (method.clone(), segments.as_slice()) {
        (Method::GET, []) => return plain(StatusCode::OK, HELP),
        (Method::GET, ["health"]) => return plain(StatusCode::OK, "ok\n"),
        (Method::GET, ["state"]) => Ok(state_dump(shared)),
        (Method::GET, ["calls"]) => Ok(serde_json::to_value(&shared.runtime().calls).unwrap_or(Value::Null)),
        (Method::POST, ["reset-calls"]) => {
            shared.runtime().calls.reset();
            Ok(json!({"ok": true}))
        }
        (Method::GET, ["faults"]) => Ok(faults_json(shared)),
        (Method::PUT, ["faults"]) => set_faults(shared, body, false),
        (Method::POST, ["faults"]) => set_faults(shared, body, true),
        (Method::DELETE, ["faults"]) => {
            shared.runtime().faults = Faults::default();
            Ok(faults_json(shared))
        }
        (Method::POST, ["instances"]) => add_instance(shared, body),
        (Method::POST, ["enis"]) => add_eni(shared, body),
        (Method::POST, ["instances", id, "stop"]) => set_status(shared, id, "Stopped"),
        (Method::POST, ["instances", id, "start"]) => set_status(shared, id, "Running"),
        (Method::POST, ["instances", id, "delete"]) | (Method::DELETE, ["instances", id]) => {
            delete_instance(shared, id)
        }
        (Method::POST, ["clock", "advance"]) => advance_clock(shared, body),
        (Method::PUT, ["behaviour"]) => set_behaviour(shared, body),
        (Method::PUT, ["metadata"]) => set_metadata(shared, body),
        _ => Err((StatusCode::NOT_FOUND, format!("no admin endpoint {method} {path}; GET /_fake/ lists them"))),
    };
    match result {
        Ok(value) => json(StatusCode::OK, &value),
        Err((status, message)) => json(status, &json!({ "error": message })),
    }
}

type AdminResult = Result<Value, (StatusCode, String)>;

fn bad_request(message: impl std::fmt::Display) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, message.to_string())
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, (StatusCode, String)> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("body is not the expected JSON: {e}")))
}

fn state_dump(shared: &Shared) -> Value {
    let mut state = shared.state();
    state.settle();
    serde_json::to_value(&*state).unwrap_or(Value::Null)
}

fn faults_json(shared: &Shared) -> Value {
    serde_json::to_value(&shared.runtime().faults.config).unwrap_or(Value::Null)
}

fn set_faults(shared: &Shared, body: &[u8], merge: bool) -> AdminResult {
    let incoming: FaultConfig = parse_body(body)?;
    if let Some((action, rule)) = incoming.errors.iter().find(|(_, r)| !(0.0..=1.0).contains(&r.rate)) {
        return Err(bad_request(format!("error rule for {action}: rate {} is not within 0..=1", rule.rate)));
    }
    if let Some((action, rule)) =
        incoming.errors.iter().find(|(_, r)| StatusCode::from_u16(r.status).is_err() || r.status < 400)
    {
        return Err(bad_request(format!("error rule for {action}: status {} is not an error status", rule.status)));
    }
    {
        let mut runtime = shared.runtime();
        let mut config = if merge { runtime.faults.config.clone() } else { FaultConfig::default() };
        config.qps.extend(incoming.qps);
        config.latency_ms.extend(incoming.latency_ms);
        config.errors.extend(incoming.errors);
        runtime.faults = Faults::new(config);
    }
    Ok(faults_json(shared))
}

fn unknown_instance(id: &str) -> (StatusCode, String) {
    (StatusCode::NOT_FOUND, format!("instance {id} does not exist"))
}

fn add_instance(shared: &Shared, body: &[u8]) -> AdminResult {
    let seed: SeedInstance = parse_body(body)?;
    let mut state = shared.state();
    let id = seed::add_instance(&mut state, &seed).map_err(bad_request)?;
    Ok(json!({ "InstanceId": id }))
}

fn add_eni(shared: &Shared, body: &[u8]) -> AdminResult {
    let seed: seed::SeedEni = parse_body(body)?;
    let mut state = shared.state();
    let (id, ip) = seed::add_eni(&mut state, &seed).map_err(bad_request)?;
    Ok(json!({ "NetworkInterfaceId": id, "PrivateIpAddress": ip }))
}

fn set_status(shared: &Shared, id: &str, status: &str) -> AdminResult {
    let mut state = shared.state();
    let instance = state.instances.get_mut(id).ok_or_else(|| unknown_instance(id))?;
    instance.status = status.to_string();
    Ok(json!({ "InstanceId": id, "Status": status }))
}

/// Removes an instance as a cloud-side deletion would: its primary ENI and
/// private address are released, an associated EIP becomes Available, and
/// routes pointing at it stay (as on the real cloud, until someone deletes them).
pub fn remove_instance(state: &mut CloudState, id: &str) -> bool {
    let Some(instance) = state.instances.remove(id) else {
        return false;
    };
    state.instance_order.retain(|i| i != id);
    state.enis.remove(&instance.primary_eni_id);
    state.release_private_ip(&instance.vswitch_id, &instance.private_ip);
    if let Some(eip) = instance.eip_allocation_id.as_ref().and_then(|a| state.eips.get_mut(a)) {
        eip.status = "Available".into();
        eip.instance_id = None;
        eip.instance_type = None;
    }
    true
}

fn delete_instance(shared: &Shared, id: &str) -> AdminResult {
    let mut state = shared.state();
    if !remove_instance(&mut state, id) {
        return Err(unknown_instance(id));
    }
    Ok(json!({ "InstanceId": id, "Deleted": true }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: f64,
}

fn advance_clock(shared: &Shared, body: &[u8]) -> AdminResult {
    let advance: Advance = parse_body(body)?;
    if !(0.0..=1e9).contains(&advance.seconds) {
        return Err(bad_request("seconds must be between 0 and 1e9"));
    }
    let mut state = shared.state();
    state.advance_clock(Duration::from_secs_f64(advance.seconds));
    Ok(json!({ "now": state.timestamp() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviourChange {
    route_entry_delay_ms: Option<u64>,
    route_entry_quota: Option<usize>,
}

fn set_behaviour(shared: &Shared, body: &[u8]) -> AdminResult {
    let change: BehaviourChange = parse_body(body)?;
    let mut state = shared.state();
    if let Some(ms) = change.route_entry_delay_ms {
        state.behaviour.route_entry_delay = Duration::from_millis(ms);
    }
    if let Some(q) = change.route_entry_quota {
        state.behaviour.route_entry_quota = q;
    }
    Ok(serde_json::to_value(&state.behaviour).unwrap_or(Value::Null))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetadataChange {
    instance_id: Option<String>,
    token_required: Option<bool>,
}

fn set_metadata(shared: &Shared, body: &[u8]) -> AdminResult {
    let change: MetadataChange = parse_body(body)?;
    let state = shared.state();
    if let Some(id) = &change.instance_id
        && !state.instances.contains_key(id)
    {
        return Err(unknown_instance(id));
    }
    let mut runtime = shared.runtime();
    if let Some(id) = change.instance_id {
        runtime.metadata.instance_id = Some(id);
    }
    if let Some(required) = change.token_required {
        runtime.metadata.token_required = required;
    }
    Ok(json!({
        "instance_id": runtime.metadata.instance_id,
        "token_required": runtime.metadata.token_required,
    }))
}
