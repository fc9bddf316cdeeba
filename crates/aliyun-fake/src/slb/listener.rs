//! Listeners of the four protocols: create, set and describe attributes, the
//! listener list, start, stop and delete.
//!
//! Protocol attributes are table-driven: each table row names the response
//! field, the request parameter spellings (the API uses lower-case
//! `healthCheckInterval` on Create TCP/UDP and `HealthCheckInterval` on Set,
//! `HealthCheckSwitch` in requests for the `HealthCheck` response field of
//! TCP/UDP), the documented value range and the default the API reports.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::common::{
    acl_not_found, certificate_not_found, int_in, lb_not_found, listener_not_found, on_off, one_of, required_port,
    token_page, vserver_group_not_found,
};
use super::{Listener, SlbState, ok_empty, tags};
use crate::state::CloudState;
use crate::wire::{ApiFault, Request};

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Integer in a range.
    Int(i64, i64),
    /// -1 (unlimited) or 1-5120 Mbit/s.
    Bandwidth,
    /// 1-65535, or -520 (use the backend port).
    HealthPort,
    /// `on` / `off`.
    OnOff,
    /// One of the listed values.
    Enum(&'static [&'static str]),
    /// Free text.
    Text,
    /// `true` / `false`.
    Bool,
    /// Comma list of `http_2xx`, `http_3xx`, `http_4xx`, `http_5xx`.
    HttpCodes,
}

#[derive(Debug, Clone, Copy)]
enum Default {
    None,
    I(i64),
    S(&'static str),
    B(bool),
}

#[derive(Debug, Clone, Copy)]
struct Attr {
    field: &'static str,
    params: &'static [&'static str],
    kind: Kind,
    default: Default,
    /// Accepted only by the Create action.
    create_only: bool,
}

const fn attr(field: &'static str, kind: Kind, default: Default) -> Attr {
    Attr { field, params: &[], kind, default, create_only: false }
}

const fn aliased(field: &'static str, params: &'static [&'static str], kind: Kind, default: Default) -> Attr {
    Attr { field, params, kind, default, create_only: false }
}

const fn create_only(field: &'static str, kind: Kind, default: Default) -> Attr {
    Attr { field, params: &[], kind, default, create_only: true }
}

const INTERVAL: &[&str] = &["HealthCheckInterval", "healthCheckInterval"];
const SWITCH: &[&str] = &["HealthCheckSwitch", "HealthCheck"];

const TCP: &[Attr] = &[
    attr("Bandwidth", Kind::Bandwidth, Default::I(-1)),
    attr("Scheduler", Kind::Enum(&["wrr", "rr", "wlc", "sch", "tch"]), Default::S("wrr")),
    attr("PersistenceTimeout", Kind::Int(0, 3600), Default::I(0)),
    attr("EstablishedTimeout", Kind::Int(10, 900), Default::I(900)),
    aliased("HealthCheck", SWITCH, Kind::OnOff, Default::S("on")),
    attr("HealthCheckType", Kind::Enum(&["tcp", "http"]), Default::S("tcp")),
    attr("HealthCheckDomain", Kind::Text, Default::None),
    attr("HealthCheckURI", Kind::Text, Default::None),
    attr("HealthCheckHttpCode", Kind::HttpCodes, Default::S("http_2xx")),
    attr("HealthCheckMethod", Kind::Enum(&["head", "get"]), Default::None),
    attr("HealthCheckConnectPort", Kind::HealthPort, Default::None),
    attr("HealthCheckConnectTimeout", Kind::Int(1, 300), Default::I(5)),
    aliased("HealthCheckInterval", INTERVAL, Kind::Int(1, 50), Default::I(2)),
    attr("HealthyThreshold", Kind::Int(2, 10), Default::I(3)),
    attr("UnhealthyThreshold", Kind::Int(2, 10), Default::I(3)),
    attr("ConnectionDrain", Kind::OnOff, Default::S("off")),
    attr("ConnectionDrainTimeout", Kind::Int(10, 900), Default::None),
    attr("ProxyProtocolV2Enabled", Kind::Bool, Default::B(false)),
    attr("SynProxy", Kind::Enum(&["enable", "disable"]), Default::S("disable")),
];

const UDP: &[Attr] = &[
    attr("Bandwidth", Kind::Bandwidth, Default::I(-1)),
    attr("Scheduler", Kind::Enum(&["wrr", "rr", "wlc", "sch", "tch", "qch"]), Default::S("wrr")),
    aliased("HealthCheck", SWITCH, Kind::OnOff, Default::S("on")),
    attr("HealthCheckConnectPort", Kind::HealthPort, Default::None),
    attr("HealthCheckConnectTimeout", Kind::Int(1, 300), Default::I(5)),
    aliased("HealthCheckInterval", INTERVAL, Kind::Int(1, 50), Default::I(2)),
    attr("HealthyThreshold", Kind::Int(2, 10), Default::I(3)),
    attr("UnhealthyThreshold", Kind::Int(2, 10), Default::I(3)),
    aliased("HealthCheckReq", &["healthCheckReq", "HealthCheckReq"], Kind::Text, Default::None),
    aliased("HealthCheckExp", &["healthCheckExp", "HealthCheckExp"], Kind::Text, Default::None),
    attr("ProxyProtocolV2Enabled", Kind::Bool, Default::B(false)),
    attr("ConnectionDrain", Kind::OnOff, Default::S("off")),
    attr("ConnectionDrainTimeout", Kind::Int(10, 900), Default::None),
];

const L7: &[Attr] = &[
    attr("Bandwidth", Kind::Bandwidth, Default::I(-1)),
    attr("Scheduler", Kind::Enum(&["wrr", "rr", "wlc"]), Default::S("wrr")),
    attr("HealthCheck", Kind::OnOff, Default::S("off")),
    attr("HealthCheckDomain", Kind::Text, Default::None),
    attr("HealthCheckURI", Kind::Text, Default::None),
    attr("HealthCheckConnectPort", Kind::HealthPort, Default::None),
    attr("HealthyThreshold", Kind::Int(2, 10), Default::I(3)),
    attr("UnhealthyThreshold", Kind::Int(2, 10), Default::I(3)),
    attr("HealthCheckTimeout", Kind::Int(1, 300), Default::I(5)),
    attr("HealthCheckInterval", Kind::Int(1, 50), Default::I(2)),
    attr("HealthCheckHttpCode", Kind::HttpCodes, Default::S("http_2xx")),
    attr("HealthCheckMethod", Kind::Enum(&["head", "get"]), Default::S("head")),
    attr("StickySession", Kind::OnOff, Default::S("off")),
    attr("StickySessionType", Kind::Enum(&["insert", "server"]), Default::None),
    attr("CookieTimeout", Kind::Int(1, 86400), Default::None),
    attr("Cookie", Kind::Text, Default::None),
    attr("Gzip", Kind::OnOff, Default::S("on")),
    attr("XForwardedFor", Kind::OnOff, Default::S("on")),
    attr("XForwardedFor_SLBIP", Kind::OnOff, Default::S("off")),
    attr("XForwardedFor_SLBID", Kind::OnOff, Default::S("off")),
    attr("XForwardedFor_proto", Kind::OnOff, Default::S("off")),
    attr("XForwardedFor_SLBPORT", Kind::OnOff, Default::S("off")),
    attr("XForwardedFor_ClientSrcPort", Kind::OnOff, Default::S("off")),
    attr("IdleTimeout", Kind::Int(1, 60), Default::I(15)),
    attr("RequestTimeout", Kind::Int(1, 180), Default::I(60)),
];

const HTTP_ONLY: &[Attr] = &[
    create_only("ListenerForward", Kind::OnOff, Default::S("off")),
    create_only("ForwardPort", Kind::Int(1, 65535), Default::None),
];

const HTTPS_ONLY: &[Attr] = &[
    attr("ServerCertificateId", Kind::Text, Default::None),
    attr("CACertificateId", Kind::Text, Default::None),
    attr(
        "TLSCipherPolicy",
        Kind::Enum(&[
            "tls_cipher_policy_1_0",
            "tls_cipher_policy_1_1",
            "tls_cipher_policy_1_2",
            "tls_cipher_policy_1_2_strict",
            "tls_cipher_policy_1_2_strict_with_1_3",
        ]),
        Default::S("tls_cipher_policy_1_0"),
    ),
    attr("EnableHttp2", Kind::OnOff, Default::S("on")),
];

fn table(protocol: &str) -> Vec<Attr> {
    match protocol {
        "tcp" => TCP.to_vec(),
        "udp" => UDP.to_vec(),
        "http" => L7.iter().chain(HTTP_ONLY).copied().collect(),
        _ => L7.iter().chain(HTTPS_ONLY).copied().collect(),
    }
}

/// Attributes reported at the top level of a DescribeLoadBalancerListeners
/// entry; the rest goes into the protocol's `*ListenerConfig`.
const TOP_LEVEL: &[&str] = &["Bandwidth", "Scheduler"];

/// TCP, HTTP and HTTPS share the TCP port space; UDP has its own.
fn same_port_space(a: &str, b: &str) -> bool {
    (a == "udp") == (b == "udp")
}

fn read_attr(req: &Request, a: &Attr) -> Result<Option<Value>, ApiFault> {
    let names: &[&str] = if a.params.is_empty() { std::slice::from_ref(&a.field) } else { a.params };
    let Some((name, raw)) = super::common::first_of(req, names) else {
        return Ok(None);
    };
    let value = match a.kind {
        Kind::Int(min, max) => json!(int_in(req, name, min, max)?),
        Kind::Bandwidth => {
            let v = req.opt_i64(name)?.unwrap_or(0);
            if v != -1 && !(1..=5120).contains(&v) {
                return Err(ApiFault::invalid(name, "Valid values: -1, or 1 to 5120."));
            }
            json!(v)
        }
        Kind::HealthPort => {
            let v = req.opt_i64(name)?.unwrap_or(0);
            if v != -520 && !(1..=65535).contains(&v) {
                return Err(ApiFault::invalid(name, "It must be a port from 1 to 65535."));
            }
            json!(v)
        }
        Kind::OnOff => json!(on_off(req, name)?),
        Kind::Enum(values) => json!(one_of(req, name, values)?),
        Kind::Text => json!(raw),
        Kind::Bool => json!(req.opt_bool(name)?),
        Kind::HttpCodes => {
            let ok = raw.split(',').all(|c| ["http_2xx", "http_3xx", "http_4xx", "http_5xx"].contains(&c.trim()));
            if !ok {
                return Err(ApiFault::invalid(name, "Valid values: http_2xx, http_3xx, http_4xx, http_5xx."));
            }
            json!(raw)
        }
    };
    Ok(Some(value))
}

fn default_value(d: Default) -> Option<Value> {
    match d {
        Default::None => None,
        Default::I(i) => Some(json!(i)),
        Default::S(s) => Some(json!(s)),
        Default::B(b) => Some(json!(b)),
    }
}

/// ACL binding parameters, each when given.
struct AclParams {
    id: Option<String>,
    kind: Option<String>,
    status: Option<String>,
}

fn read_acl(req: &Request) -> Result<AclParams, ApiFault> {
    Ok(AclParams {
        id: req.get("AclId").map(str::to_string),
        kind: one_of(req, "AclType", &["white", "black"])?,
        status: on_off(req, "AclStatus")?,
    })
}

fn check_acl_binding(slb: &SlbState, l: &Listener) -> Result<(), ApiFault> {
    if l.acl_status == "on" {
        if l.acl_id.is_empty() {
            return Err(ApiFault::missing("AclId"));
        }
        if l.acl_type.is_empty() {
            return Err(ApiFault::missing("AclType"));
        }
    }
    if !l.acl_id.is_empty() && !slb.acls.contains_key(&l.acl_id) {
        return Err(acl_not_found());
    }
    Ok(())
}

/// Cross-field rules of the documented parameters.
fn check_dependencies(attrs: &BTreeMap<String, Value>) -> Result<(), ApiFault> {
    let s = |k: &str| attrs.get(k).and_then(Value::as_str);
    if s("StickySession") == Some("on") {
        match s("StickySessionType") {
            None => return Err(ApiFault::missing("StickySessionType")),
            Some("insert") if !attrs.contains_key("CookieTimeout") => {
                return Err(ApiFault::missing("CookieTimeout"));
            }
            Some("server") if s("Cookie").is_none_or(str::is_empty) => {
                return Err(ApiFault::missing("Cookie"));
            }
            _ => {}
        }
    }
    if s("ListenerForward") == Some("on") && !attrs.contains_key("ForwardPort") {
        return Err(ApiFault::missing("ForwardPort"));
    }
    Ok(())
}

/// A vServer group usable by a listener of `lb_id`.
fn check_group(slb: &SlbState, lb_id: &str, group_id: &str) -> Result<(), ApiFault> {
    match slb.vserver_groups.get(group_id) {
        Some(g) if g.load_balancer_id == lb_id => Ok(()),
        // guess: a group of another instance is reported like a missing one.
        _ => Err(vserver_group_not_found()),
    }
}

fn check_certificates(slb: &SlbState, attrs: &BTreeMap<String, Value>) -> Result<(), ApiFault> {
    if let Some(id) = attrs.get("ServerCertificateId").and_then(Value::as_str)
        && !slb.server_certificates.contains_key(id)
    {
        return Err(certificate_not_found());
    }
    if attrs.get("CACertificateId").and_then(Value::as_str).is_some_and(|c| !c.is_empty()) {
        // CA certificates are not emulated, so none exists.
        return Err(ApiFault::bad_request("CACertificateId.NotFound", "The specified CACertificateId does not exist."));
    }
    Ok(())
}

/// `CreateLoadBalancer{TCP,UDP,HTTP,HTTPS}Listener`. New listeners are `stopped`.
pub(crate) fn create(state: &mut CloudState, req: &Request, protocol: &str) -> Result<Value, ApiFault> {
    let lb_id = req.required("LoadBalancerId")?.to_string();
    let port = required_port(req, "ListenerPort")?;
    if protocol != "http" {
        req.required("Bandwidth")?;
    }
    if protocol == "http" || protocol == "https" {
        req.required("HealthCheck")?;
    }
    if protocol == "https" {
        req.required("ServerCertificateId")?;
    }
    let slb = &state.slb;
    let lb = slb.load_balancers.get(&lb_id).ok_or_else(lb_not_found)?;

    let mut attributes = BTreeMap::new();
    for a in table(protocol) {
        if let Some(v) = read_attr(req, &a)?.or_else(|| default_value(a.default)) {
            attributes.insert(a.field.to_string(), v);
        }
    }
    check_dependencies(&attributes)?;
    check_certificates(slb, &attributes)?;
    let backend_server_port = super::common::port(req, "BackendServerPort")?;
    let vserver_group_id = req.get("VServerGroupId").unwrap_or("").to_string();
    let forwarding = attributes.get("ListenerForward").and_then(Value::as_str) == Some("on");
    if vserver_group_id.is_empty() && backend_server_port.is_none() && !forwarding {
        return Err(ApiFault::missing("BackendServerPort"));
    }
    if !vserver_group_id.is_empty() {
        check_group(slb, &lb_id, &vserver_group_id)?;
    }
    let acl = read_acl(req)?;
    let description = req.get("Description").unwrap_or("").to_string();
    if description.chars().count() > 256 {
        return Err(ApiFault::invalid("Description", "The description is too long."));
    }
    let tags = tags::from_params(req, slb.limits.tags_per_resource)?;
    let listener = Listener {
        listener_port: port,
        listener_protocol: protocol.to_string(),
        status: "stopped".into(),
        backend_server_port,
        vserver_group_id,
        master_slave_server_group_id: req.get("MasterSlaveServerGroupId").unwrap_or("").to_string(),
        description,
        acl_id: acl.id.unwrap_or_default(),
        acl_type: acl.kind.unwrap_or_default(),
        acl_status: acl.status.unwrap_or_else(|| "off".into()),
        attributes,
        tags,
    };
    check_acl_binding(slb, &listener)?;
    if let Some(forward) = listener.attributes.get("ForwardPort").and_then(Value::as_i64)
        && listener.attributes.get("ListenerForward").and_then(Value::as_str) == Some("on")
        && !lb.listeners.iter().any(|l| l.listener_protocol == "https" && i64::from(l.listener_port) == forward)
    {
        // guess: the documented rule is that the HTTPS target must exist; the code is not.
        return Err(ApiFault::invalid("ForwardPort", "No HTTPS listener uses the forward port."));
    }
    if lb.listeners.iter().any(|l| l.listener_port == port && same_port_space(&l.listener_protocol, protocol)) {
        // guess: message text; the code is the one Terraform and the CCM handle.
        return Err(ApiFault::bad_request("ListenerAlreadyExists", "The specified listener port is already in use."));
    }
    if lb.listeners.len() >= slb.limits.listeners_per_load_balancer {
        // guess: code and text of the listener quota error are undocumented.
        return Err(ApiFault::bad_request(
            "InstanceListenerNumberOverLimit",
            format!(
                "The number of listeners of the load balancer exceeds the limit of {}.",
                slb.limits.listeners_per_load_balancer
            ),
        ));
    }
    let lb = state.slb.load_balancers.get_mut(&lb_id).ok_or_else(lb_not_found)?;
    lb.listeners.push(listener);
    lb.listeners.sort_by(|a, b| (a.listener_port, &a.listener_protocol).cmp(&(b.listener_port, &b.listener_protocol)));
    ok_empty()
}

fn find<'a>(state: &'a CloudState, req: &Request, protocol: &str) -> Result<(&'a str, &'a Listener), ApiFault> {
    let lb_id = req.required("LoadBalancerId")?;
    let port = required_port(req, "ListenerPort")?;
    let lb = state.slb.load_balancers.get(lb_id).ok_or_else(lb_not_found)?;
    let l = lb
        .listeners
        .iter()
        .find(|l| l.listener_port == port && l.listener_protocol == protocol)
        .ok_or_else(listener_not_found)?;
    Ok((&lb.load_balancer_id, l))
}

/// `SetLoadBalancer{TCP,UDP,HTTP,HTTPS}ListenerAttribute`.
pub(crate) fn set_attribute(state: &mut CloudState, req: &Request, protocol: &str) -> Result<Value, ApiFault> {
    let (lb_id, current) = find(state, req, protocol)?;
    let lb_id = lb_id.to_string();
    let mut updated = current.clone();
    for a in table(protocol).iter().filter(|a| !a.create_only) {
        if let Some(v) = read_attr(req, a)? {
            updated.attributes.insert(a.field.to_string(), v);
        }
    }
    check_dependencies(&updated.attributes)?;
    check_certificates(&state.slb, &updated.attributes)?;
    match on_off(req, "VServerGroup")?.as_deref() {
        Some("off") => updated.vserver_group_id.clear(),
        _ => {
            if let Some(g) = req.get("VServerGroupId").filter(|g| !g.is_empty()) {
                check_group(&state.slb, &lb_id, g)?;
                updated.vserver_group_id = g.to_string();
            }
        }
    }
    match on_off(req, "MasterSlaveServerGroup")?.as_deref() {
        Some("off") => updated.master_slave_server_group_id.clear(),
        _ => {
            if let Some(g) = req.get("MasterSlaveServerGroupId").filter(|g| !g.is_empty()) {
                updated.master_slave_server_group_id = g.to_string();
            }
        }
    }
    let acl = read_acl(req)?;
    if let Some(id) = acl.id {
        updated.acl_id = id;
    }
    if let Some(t) = acl.kind {
        updated.acl_type = t;
    }
    if let Some(s) = acl.status {
        updated.acl_status = s;
    }
    check_acl_binding(&state.slb, &updated)?;
    if let Some(d) = req.get("Description") {
        updated.description = d.to_string();
    }
    let lb = state.slb.load_balancers.get_mut(&lb_id).ok_or_else(lb_not_found)?;
    if let Some(slot) =
        lb.listeners.iter_mut().find(|l| l.listener_port == updated.listener_port && l.listener_protocol == protocol)
    {
        *slot = updated;
    }
    ok_empty()
}

fn acl_fields(l: &Listener, out: &mut Map<String, Value>) {
    out.insert("AclStatus".into(), json!(l.acl_status));
    if !l.acl_id.is_empty() {
        out.insert("AclId".into(), json!(l.acl_id));
    }
    if !l.acl_type.is_empty() {
        out.insert("AclType".into(), json!(l.acl_type));
    }
}

fn acl_ids(l: &Listener) -> Vec<String> {
    if l.acl_id.is_empty() { Vec::new() } else { vec![l.acl_id.clone()] }
}

/// `DescribeLoadBalancer{TCP,UDP,HTTP,HTTPS}ListenerAttribute`: every
/// attribute at the top level.
pub(crate) fn describe_attribute(state: &mut CloudState, req: &Request, protocol: &str) -> Result<Value, ApiFault> {
    let (lb_id, l) = find(state, req, protocol)?;
    let mut out = Map::new();
    out.insert("LoadBalancerId".into(), json!(lb_id));
    out.insert("ListenerPort".into(), json!(l.listener_port));
    out.insert("Status".into(), json!(l.status));
    out.insert("Description".into(), json!(l.description));
    if let Some(p) = l.backend_server_port {
        out.insert("BackendServerPort".into(), json!(p));
    }
    if !l.vserver_group_id.is_empty() {
        out.insert("VServerGroupId".into(), json!(l.vserver_group_id));
    }
    if !l.master_slave_server_group_id.is_empty() {
        out.insert("MasterSlaveServerGroupId".into(), json!(l.master_slave_server_group_id));
    }
    acl_fields(l, &mut out);
    out.insert("AclIds".into(), json!({ "AclId": acl_ids(l) }));
    for (k, v) in &l.attributes {
        out.insert(k.clone(), v.clone());
    }
    out.insert("Tags".into(), tags::wrapped(&l.tags));
    if protocol == "http" || protocol == "https" {
        out.insert("Rules".into(), json!({ "Rule": [] }));
    }
    if protocol == "https" {
        let mut exts: Vec<&super::DomainExtension> = state
            .slb
            .domain_extensions
            .values()
            .filter(|d| d.load_balancer_id == lb_id && d.listener_port == l.listener_port)
            .collect();
        exts.sort_by_key(|d| d.seq);
        let exts: Vec<Value> = exts
            .iter()
            .map(|d| {
                json!({
                    "DomainExtensionId": d.domain_extension_id,
                    "Domain": d.domain,
                    "ServerCertificateId": d.server_certificate_id,
                })
            })
            .collect();
        out.insert("DomainExtensions".into(), json!({ "DomainExtension": exts }));
    }
    Ok(Value::Object(out))
}

fn list_entry(lb_id: &str, l: &Listener) -> Value {
    let mut out = Map::new();
    out.insert("LoadBalancerId".into(), json!(lb_id));
    out.insert("ListenerPort".into(), json!(l.listener_port));
    out.insert("ListenerProtocol".into(), json!(l.listener_protocol));
    out.insert("Status".into(), json!(l.status));
    out.insert("Description".into(), json!(l.description));
    if let Some(p) = l.backend_server_port {
        out.insert("BackendServerPort".into(), json!(p));
    }
    out.insert("VServerGroupId".into(), json!(l.vserver_group_id));
    acl_fields(l, &mut out);
    out.insert("AclIds".into(), json!(acl_ids(l)));
    let mut config = Map::new();
    for (k, v) in &l.attributes {
        if TOP_LEVEL.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        } else if k == "ProxyProtocolV2Enabled" {
            // The list models type this one as a string, the attribute models as a bool.
            let text = v.as_bool().map(|b| b.to_string()).unwrap_or_default();
            config.insert(k.clone(), json!(text));
        } else {
            config.insert(k.clone(), v.clone());
        }
    }
    if !l.master_slave_server_group_id.is_empty() {
        config.insert("MasterSlaveServerGroupId".into(), json!(l.master_slave_server_group_id));
    }
    let config_name = match l.listener_protocol.as_str() {
        "tcp" => "TCPListenerConfig",
        "udp" => "UDPListenerConfig",
        "http" => "HTTPListenerConfig",
        _ => "HTTPSListenerConfig",
    };
    out.insert(config_name.into(), Value::Object(config));
    out.insert("Tags".into(), tags::flat(&l.tags));
    Value::Object(out)
}

/// `DescribeLoadBalancerListeners`: a flat `Listeners` array, NextToken paging
/// (MaxResults 1-100, default 20).
pub(crate) fn describe_many(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let max_results = int_in(req, "MaxResults", 1, 100)?.unwrap_or(20) as usize;
    let ids = req.indexed("LoadBalancerId");
    if ids.len() > 10 {
        return Err(ApiFault::invalid("LoadBalancerId", "At most 10 IDs can be specified."));
    }
    let port = super::common::port(req, "ListenerPort")?;
    let protocol = one_of(req, "ListenerProtocol", &["tcp", "udp", "http", "https"])?;
    let description = req.get("Description").filter(|d| !d.is_empty());
    let tag_filter = tags::filter_from_params(req);
    let mut lbs: Vec<&super::LoadBalancer> =
        state.slb.load_balancers.values().filter(|lb| ids.is_empty() || ids.contains(&lb.load_balancer_id)).collect();
    lbs.sort_by_key(|lb| lb.seq);
    let entries: Vec<Value> = lbs
        .iter()
        .flat_map(|lb| lb.listeners.iter().map(move |l| (lb.load_balancer_id.as_str(), l)))
        .filter(|(_, l)| port.is_none_or(|p| p == l.listener_port))
        .filter(|(_, l)| protocol.as_deref().is_none_or(|p| p == l.listener_protocol))
        .filter(|(_, l)| description.is_none_or(|d| d == l.description))
        .filter(|(_, l)| tags::matches(&l.tags, &tag_filter))
        .map(|(id, l)| list_entry(id, l))
        .collect();
    let (page, next) = token_page(req, &entries, max_results)?;
    Ok(json!({
        "TotalCount": entries.len(),
        "MaxResults": max_results,
        "NextToken": next,
        "Listeners": page,
    }))
}

/// Index of the one listener a Start/Stop/Delete call designates.
fn designate(state: &CloudState, req: &Request) -> Result<(String, usize), ApiFault> {
    let lb_id = req.required("LoadBalancerId")?;
    let port = required_port(req, "ListenerPort")?;
    let protocol = one_of(req, "ListenerProtocol", &["tcp", "udp", "http", "https"])?;
    let lb = state.slb.load_balancers.get(lb_id).ok_or_else(lb_not_found)?;
    let found: Vec<usize> = lb
        .listeners
        .iter()
        .enumerate()
        .filter(|(_, l)| l.listener_port == port && protocol.as_deref().is_none_or(|p| p == l.listener_protocol))
        .map(|(i, _)| i)
        .collect();
    match found.as_slice() {
        [] => Err(listener_not_found()),
        [i] => Ok((lb.load_balancer_id.clone(), *i)),
        // Documented in the StartLoadBalancerListener error table.
        _ => Err(ApiFault::bad_request("TooManyListeners", "More than 1 listener is found, please be more specified.")),
    }
}

/// `StartLoadBalancerListener` / `StopLoadBalancerListener`. Repeating a
/// start or stop succeeds (guess: the reference says start applies to a
/// stopped listener but documents no error for a running one).
pub(crate) fn set_running(state: &mut CloudState, req: &Request, running: bool) -> Result<Value, ApiFault> {
    let (lb_id, index) = designate(state, req)?;
    let lb = state.slb.load_balancers.get_mut(&lb_id).ok_or_else(lb_not_found)?;
    if let Some(l) = lb.listeners.get_mut(index) {
        l.status = if running { "running" } else { "stopped" }.into();
    }
    ok_empty()
}

/// `DeleteLoadBalancerListener` (with the listener's domain extensions).
pub(crate) fn delete(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let (lb_id, index) = designate(state, req)?;
    let lb = state.slb.load_balancers.get_mut(&lb_id).ok_or_else(lb_not_found)?;
    let removed = lb.listeners.remove(index);
    if removed.listener_protocol == "https" {
        state
            .slb
            .domain_extensions
            .retain(|_, d| !(d.load_balancer_id == lb_id && d.listener_port == removed.listener_port));
    }
    ok_empty()
}

#[cfg(test)]
mod tests {
    use super::super::CertificateSeed;
    use super::super::test_support::*;
    use serde_json::Value;

    fn listeners(s: &mut crate::state::CloudState, lb: &str) -> Vec<Value> {
        let out = call(s, "DescribeLoadBalancerListeners", &[("LoadBalancerId.1", lb)]).unwrap();
        out["Listeners"].as_array().unwrap().clone()
    }

    #[test]
    fn tcp_listener_lifecycle() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        call(
            &mut s,
            "CreateLoadBalancerTCPListener",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "80"),
                ("BackendServerPort", "30080"),
                ("Bandwidth", "-1"),
                ("healthCheckInterval", "5"),
                ("PersistenceTimeout", "60"),
                ("Scheduler", "rr"),
                ("Description", "k8s/80/web/default/c1"),
            ],
        )
        .unwrap();
        let ls = listeners(&mut s, &lb);
        assert_eq!(ls.len(), 1);
        let l = &ls[0];
        assert_eq!(l["Status"], "stopped", "new listeners start stopped");
        assert_eq!(l["ListenerProtocol"], "tcp");
        assert_eq!(l["BackendServerPort"], 30080);
        assert_eq!(l["Scheduler"], "rr");
        assert_eq!(l["Bandwidth"], -1);
        assert_eq!(l["Description"], "k8s/80/web/default/c1");
        assert_eq!(l["TCPListenerConfig"]["HealthCheckInterval"], 5);
        assert_eq!(l["TCPListenerConfig"]["PersistenceTimeout"], 60);
        assert_eq!(l["AclStatus"], "off");

        call(&mut s, "StartLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]).unwrap();
        assert_eq!(listeners(&mut s, &lb)[0]["Status"], "running");

        call(
            &mut s,
            "SetLoadBalancerTCPListenerAttribute",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "80"),
                ("HealthCheckInterval", "9"),
                ("EstablishedTimeout", "120"),
            ],
        )
        .unwrap();
        let attr = call(
            &mut s,
            "DescribeLoadBalancerTCPListenerAttribute",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80")],
        )
        .unwrap();
        assert_eq!(attr["HealthCheckInterval"], 9);
        assert_eq!(attr["EstablishedTimeout"], 120);
        assert_eq!(attr["Status"], "running");
        assert_eq!(attr["ProxyProtocolV2Enabled"], false);
        assert!(attr["AclIds"]["AclId"].as_array().unwrap().is_empty());

        call(&mut s, "StopLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]).unwrap();
        assert_eq!(listeners(&mut s, &lb)[0]["Status"], "stopped");
        call(&mut s, "DeleteLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]).unwrap();
        assert!(listeners(&mut s, &lb).is_empty());
        let err =
            call(&mut s, "StartLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]).unwrap_err();
        assert!(err.message.contains("does not exist"));
    }

    #[test]
    fn udp_uses_lower_case_health_check_names() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        call(
            &mut s,
            "CreateLoadBalancerUDPListener",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "53"),
                ("BackendServerPort", "53"),
                ("Bandwidth", "-1"),
                ("healthCheckReq", "hello"),
                ("healthCheckExp", "ok"),
                ("healthCheckInterval", "4"),
                ("HealthCheckSwitch", "off"),
            ],
        )
        .unwrap();
        let l = &listeners(&mut s, &lb)[0];
        let cfg = &l["UDPListenerConfig"];
        assert_eq!(cfg["HealthCheckReq"], "hello");
        assert_eq!(cfg["HealthCheckExp"], "ok");
        assert_eq!(cfg["HealthCheckInterval"], 4);
        assert_eq!(cfg["HealthCheck"], "off");
        assert_eq!(cfg["ProxyProtocolV2Enabled"], "false", "a string in the list model");
        assert!(l.get("TCPListenerConfig").is_none());
        call(
            &mut s,
            "SetLoadBalancerUDPListenerAttribute",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "53"),
                ("healthCheckReq", "again"),
                ("HealthCheckInterval", "6"),
            ],
        )
        .unwrap();
        let attr = call(
            &mut s,
            "DescribeLoadBalancerUDPListenerAttribute",
            &[("LoadBalancerId", &lb), ("ListenerPort", "53")],
        )
        .unwrap();
        assert_eq!(attr["HealthCheckReq"], "again");
        assert_eq!(attr["HealthCheckInterval"], 6);
        assert_eq!(attr["Bandwidth"], -1);
    }

    #[test]
    fn http_defaults_and_sticky_sessions() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        call(
            &mut s,
            "CreateLoadBalancerHTTPListener",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "80"),
                ("BackendServerPort", "8080"),
                ("HealthCheck", "on"),
                ("StickySession", "on"),
                ("StickySessionType", "insert"),
                ("CookieTimeout", "600"),
                ("XForwardedFor_proto", "on"),
            ],
        )
        .unwrap();
        let attr = call(
            &mut s,
            "DescribeLoadBalancerHTTPListenerAttribute",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80")],
        )
        .unwrap();
        assert_eq!(attr["StickySessionType"], "insert");
        assert_eq!(attr["CookieTimeout"], 600);
        assert_eq!(attr["XForwardedFor_proto"], "on");
        assert_eq!(attr["XForwardedFor"], "on");
        assert_eq!(attr["IdleTimeout"], 15);
        assert_eq!(attr["RequestTimeout"], 60);
        assert_eq!(attr["Bandwidth"], -1);
        assert!(attr["Rules"]["Rule"].as_array().unwrap().is_empty());
        let err = call(
            &mut s,
            "SetLoadBalancerHTTPListenerAttribute",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("StickySessionType", "server")],
        )
        .unwrap_err();
        assert!(err.message.contains("Cookie"), "server cookies need a Cookie name");
    }

    #[test]
    fn duplicate_ports_follow_the_port_spaces() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        create_tcp_listener(&mut s, &lb, 80, None);
        let err = call(
            &mut s,
            "CreateLoadBalancerHTTPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("BackendServerPort", "80"), ("HealthCheck", "off")],
        )
        .unwrap_err();
        assert_eq!(err.code, "ListenerAlreadyExists");
        // UDP has its own port space.
        call(
            &mut s,
            "CreateLoadBalancerUDPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("BackendServerPort", "80"), ("Bandwidth", "-1")],
        )
        .unwrap();
        // Now the port is ambiguous without a protocol.
        let err =
            call(&mut s, "StartLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]).unwrap_err();
        assert_eq!(err.code, "TooManyListeners");
        call(
            &mut s,
            "StartLoadBalancerListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("ListenerProtocol", "udp")],
        )
        .unwrap();
    }

    #[test]
    fn fifty_listeners_per_instance() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        for port in 1..=50 {
            create_tcp_listener(&mut s, &lb, port, None);
        }
        let err = call(
            &mut s,
            "CreateLoadBalancerTCPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "51"), ("BackendServerPort", "1"), ("Bandwidth", "-1")],
        )
        .unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.message.contains("50"));
    }

    #[test]
    fn listener_pagination_with_next_token() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        for port in 1..=25 {
            create_tcp_listener(&mut s, &lb, port, None);
        }
        let first =
            call(&mut s, "DescribeLoadBalancerListeners", &[("LoadBalancerId.1", &lb), ("MaxResults", "10")]).unwrap();
        assert_eq!(first["Listeners"].as_array().unwrap().len(), 10);
        assert_eq!(first["TotalCount"], 25);
        let mut token = first["NextToken"].as_str().unwrap().to_string();
        let mut seen = 10;
        while !token.is_empty() {
            let page = call(
                &mut s,
                "DescribeLoadBalancerListeners",
                &[("LoadBalancerId.1", &lb), ("MaxResults", "10"), ("NextToken", &token)],
            )
            .unwrap();
            seen += page["Listeners"].as_array().unwrap().len();
            token = page["NextToken"].as_str().unwrap().to_string();
        }
        assert_eq!(seen, 25);
        let default = call(&mut s, "DescribeLoadBalancerListeners", &[("LoadBalancerId.1", &lb)]).unwrap();
        assert_eq!(default["Listeners"].as_array().unwrap().len(), 20, "default MaxResults is 20");
        let err = call(&mut s, "DescribeLoadBalancerListeners", &[("MaxResults", "101")]).unwrap_err();
        assert!(err.message.contains("MaxResults"));
    }

    #[test]
    fn required_and_invalid_parameters() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        let err = call(&mut s, "CreateLoadBalancerTCPListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")])
            .unwrap_err();
        assert_eq!(err.code, "MissingParameter");
        assert!(err.message.contains("Bandwidth"));
        let err = call(
            &mut s,
            "CreateLoadBalancerTCPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("Bandwidth", "-1")],
        )
        .unwrap_err();
        assert!(err.message.contains("BackendServerPort"), "needs a port or a group");
        let err = call(
            &mut s,
            "CreateLoadBalancerTCPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "70000"), ("Bandwidth", "-1"), ("BackendServerPort", "80")],
        )
        .unwrap_err();
        assert!(err.message.contains("ListenerPort"));
        let err = call(
            &mut s,
            "CreateLoadBalancerTCPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("Bandwidth", "0"), ("BackendServerPort", "80")],
        )
        .unwrap_err();
        assert!(err.message.contains("Bandwidth"));
        let err = call(
            &mut s,
            "CreateLoadBalancerTCPListener",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "80"),
                ("Bandwidth", "-1"),
                ("BackendServerPort", "80"),
                ("healthCheckInterval", "51"),
            ],
        )
        .unwrap_err();
        assert!(err.message.contains("healthCheckInterval"));
        let err = call(
            &mut s,
            "CreateLoadBalancerHTTPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("BackendServerPort", "80")],
        )
        .unwrap_err();
        assert!(err.message.contains("HealthCheck"));
        let err = call(
            &mut s,
            "CreateLoadBalancerHTTPListener",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "80"),
                ("BackendServerPort", "80"),
                ("HealthCheck", "off"),
                ("StickySession", "on"),
            ],
        )
        .unwrap_err();
        assert!(err.message.contains("StickySessionType"));
        let err = call(
            &mut s,
            "CreateLoadBalancerTCPListener",
            &[("LoadBalancerId", "lb-none"), ("ListenerPort", "80"), ("Bandwidth", "-1"), ("BackendServerPort", "80")],
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidLoadBalancerId.NotFound");
        let err = call(
            &mut s,
            "CreateLoadBalancerTCPListener",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("Bandwidth", "-1"), ("VServerGroupId", "rsp-none")],
        )
        .unwrap_err();
        assert!(err.message.contains("VServerGroupId does not exist"));
    }

    #[test]
    fn https_needs_an_existing_certificate_and_hosts_domain_extensions() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        let base = [
            ("LoadBalancerId", lb.as_str()),
            ("ListenerPort", "443"),
            ("BackendServerPort", "80"),
            ("Bandwidth", "-1"),
            ("HealthCheck", "off"),
        ];
        let err = call(&mut s, "CreateLoadBalancerHTTPSListener", &base).unwrap_err();
        assert!(err.message.contains("ServerCertificateId"));
        let mut with_bad = base.to_vec();
        with_bad.push(("ServerCertificateId", "nope"));
        let err = call(&mut s, "CreateLoadBalancerHTTPSListener", &with_bad).unwrap_err();
        assert_eq!(err.code, "ServerCertificateId.NotFound");

        let cert = s.slb.seed_certificate(&mut s.ids, CertificateSeed::new("web", "example.com"));
        let mut ok = base.to_vec();
        ok.push(("ServerCertificateId", cert.as_str()));
        call(&mut s, "CreateLoadBalancerHTTPSListener", &ok).unwrap();
        let ls = listeners(&mut s, &lb);
        assert_eq!(ls[0]["HTTPSListenerConfig"]["ServerCertificateId"], cert.as_str());
        assert_eq!(ls[0]["HTTPSListenerConfig"]["EnableHttp2"], "on");

        let out = call(
            &mut s,
            "CreateDomainExtension",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "443"),
                ("Domain", "*.example.com"),
                ("ServerCertificateId", &cert),
            ],
        )
        .unwrap();
        assert!(out["DomainExtensionId"].as_str().unwrap().starts_with("de-"));
        let attr = call(
            &mut s,
            "DescribeLoadBalancerHTTPSListenerAttribute",
            &[("LoadBalancerId", &lb), ("ListenerPort", "443")],
        )
        .unwrap();
        assert_eq!(attr["DomainExtensions"]["DomainExtension"][0]["Domain"], "*.example.com");
        call(&mut s, "DeleteLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "443")]).unwrap();
        assert!(s.slb.domain_extensions.is_empty());
    }

    #[test]
    fn http_forwarding_needs_the_https_target() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        let err = call(
            &mut s,
            "CreateLoadBalancerHTTPListener",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "80"),
                ("BackendServerPort", "80"),
                ("HealthCheck", "off"),
                ("ListenerForward", "on"),
                ("ForwardPort", "443"),
            ],
        )
        .unwrap_err();
        assert!(err.message.contains("ForwardPort"));

        let cert = s.slb.seed_certificate(&mut s.ids, CertificateSeed::new("web", "example.com"));
        call(
            &mut s,
            "CreateLoadBalancerHTTPSListener",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "443"),
                ("BackendServerPort", "80"),
                ("Bandwidth", "-1"),
                ("HealthCheck", "off"),
                ("ServerCertificateId", &cert),
            ],
        )
        .unwrap();
        // A forwarding listener needs no backend.
        call(
            &mut s,
            "CreateLoadBalancerHTTPListener",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "80"),
                ("HealthCheck", "off"),
                ("ListenerForward", "on"),
                ("ForwardPort", "443"),
            ],
        )
        .unwrap();
        let attr = call(&mut s, "DescribeLoadBalancerAttribute", &[("LoadBalancerId", &lb)]).unwrap();
        let ports = &attr["ListenerPortsAndProtocol"]["ListenerPortAndProtocol"];
        assert_eq!(ports[0]["ListenerPort"], 80);
        assert_eq!(ports[0]["ListenerForward"], "on");
        assert_eq!(ports[0]["ForwardPort"], 443);
        assert_eq!(ports[1]["ListenerProtocol"], "https");
    }

    #[test]
    fn set_switches_vserver_group_and_acl() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        let g = create_group(&mut s, &lb);
        create_tcp_listener(&mut s, &lb, 80, None);
        call(
            &mut s,
            "SetLoadBalancerTCPListenerAttribute",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("VServerGroup", "on"), ("VServerGroupId", &g)],
        )
        .unwrap();
        assert_eq!(listeners(&mut s, &lb)[0]["VServerGroupId"], g.as_str());

        let err = call(
            &mut s,
            "SetLoadBalancerTCPListenerAttribute",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("AclStatus", "on"), ("AclType", "white")],
        )
        .unwrap_err();
        assert!(err.message.contains("AclId"));
        let err = call(
            &mut s,
            "SetLoadBalancerTCPListenerAttribute",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "80"),
                ("AclStatus", "on"),
                ("AclType", "white"),
                ("AclId", "acl-none"),
            ],
        )
        .unwrap_err();
        assert_eq!(err.code, "AclNotExist");
        // The wrong protocol does not find the listener.
        let err = call(
            &mut s,
            "SetLoadBalancerUDPListenerAttribute",
            &[("LoadBalancerId", &lb), ("ListenerPort", "80"), ("Scheduler", "rr")],
        )
        .unwrap_err();
        assert!(err.message.contains("does not exist"));
    }
}
