//! The ECS instance metadata server (`/latest/meta-data/...`,
//! `PUT /latest/api/token`, RAM role credentials) for one chosen instance.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::net::Cidr4;
use crate::server::{Shared, json, plain};
use crate::state::{CloudState, Instance};

/// Longest token lifetime the token API grants, in seconds.
pub const MAX_TOKEN_TTL: u64 = 21_600;
/// Credentials handed out by the RAM role endpoint live this long.
pub const ROLE_CREDENTIAL_LIFETIME: Duration = Duration::from_secs(6 * 3600);
/// Cached role credentials are renewed when less than this is left.
pub const ROLE_CREDENTIAL_RENEW: Duration = Duration::from_secs(30 * 60);

/// Settings and tokens of the metadata server.
#[derive(Debug, Default)]
pub struct MetadataServer {
    /// The instance described; `None` answers 404 everywhere.
    pub instance_id: Option<String>,
    /// Whether requests need a token (hardened mode).
    pub token_required: bool,
    tokens: HashMap<String, Instant>,
    role_keys: HashMap<String, String>,
}

impl MetadataServer {
    /// A server for `instance_id`.
    pub fn new(instance_id: Option<String>, token_required: bool) -> Self {
        Self { instance_id, token_required, ..Default::default() }
    }
}

/// Answers one metadata request.
pub(crate) fn handle(shared: &Shared, method: &Method, path: &str, headers: &HeaderMap) -> Response {
    let mut state = shared.state();
    let mut runtime = shared.runtime();
    let server = &mut runtime.metadata;
    let now = state.now();
    if path == "/latest/api/token" {
        return issue_token(server, method, headers, now);
    }
    if method != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
    }
    if let Some(refusal) = token_refusal(server, headers, now) {
        return refusal;
    }
    let Some(instance) = server.instance_id.as_ref().and_then(|id| state.instance(id)).cloned() else {
        return not_found();
    };
    let Some(item) = path.strip_prefix("/latest/meta-data") else {
        return match path {
            "/latest/dynamic/instance-identity/document" => identity_document(&state, &instance),
            "/latest" | "/latest/" => plain(StatusCode::OK, "dynamic/\nmeta-data/\n"),
            _ => not_found(),
        };
    };
    let item = item.trim_start_matches('/');
    if let Some(role) = item.strip_prefix("ram/security-credentials/").filter(|r| !r.is_empty()) {
        return role_credentials(&mut state, server, &instance, role);
    }
    match value_of(&state, &instance, item) {
        Some(text) => plain(StatusCode::OK, text),
        None => not_found(),
    }
}

fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "Not Found\n")
}

fn issue_token(server: &mut MetadataServer, method: &Method, headers: &HeaderMap, now: Instant) -> Response {
    if method != Method::PUT {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
    }
    let ttl = headers
        .get("x-aliyun-ecs-metadata-token-ttl-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(ttl) = ttl.filter(|t| (1..=MAX_TOKEN_TTL).contains(t)) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "X-aliyun-ecs-metadata-token-ttl-seconds must be an integer from 1 to 21600\n",
        );
    };
    server.tokens.retain(|_, expiry| *expiry > now);
    let bytes: [u8; 24] = rand::random();
    let token = hex::encode(bytes);
    server.tokens.insert(token.clone(), now + Duration::from_secs(ttl));
    plain(StatusCode::OK, token)
}

/// The refusal for a request without a valid token, if it needs one.
fn token_refusal(server: &MetadataServer, headers: &HeaderMap, now: Instant) -> Option<Response> {
    match headers.get("x-aliyun-ecs-metadata-token") {
        Some(token) => {
            let valid = token.to_str().ok().and_then(|t| server.tokens.get(t)).is_some_and(|expiry| *expiry > now);
            (!valid).then(|| plain(StatusCode::UNAUTHORIZED, "Unauthorized\n"))
        }
        None if server.token_required => Some(plain(StatusCode::FORBIDDEN, "Forbidden\n")),
        None => None,
    }
}

fn role_credentials(state: &mut CloudState, server: &mut MetadataServer, instance: &Instance, role: &str) -> Response {
    if instance.ram_role_name.as_deref() != Some(role) {
        return not_found();
    }
    let now_unix = crate::auth::unix_seconds(state.wall_now());
    let reusable = server
        .role_keys
        .get(role)
        .and_then(|ak| state.sts_credentials.get(ak))
        .filter(|c| c.expires_at_unix > now_unix + ROLE_CREDENTIAL_RENEW.as_secs())
        .cloned();
    let cred = match reusable {
        Some(c) => c,
        None => {
            let arn = format!("acs:ram::{}:role/{role}", state.account_id);
            let c = crate::sts::issue_credentials(state, &arn, ROLE_CREDENTIAL_LIFETIME);
            server.role_keys.insert(role.to_string(), c.access_key_id.clone());
            c
        }
    };
    json(
        StatusCode::OK,
        &json!({
            "AccessKeyId": cred.access_key_id,
            "AccessKeySecret": cred.access_key_secret,
            "Expiration": cred.expiration,
            "SecurityToken": cred.security_token,
            "LastUpdated": state.timestamp(),
            "Code": "Success",
        }),
    )
}

fn identity_document(state: &CloudState, i: &Instance) -> Response {
    let mac = state.eni(&i.primary_eni_id).map(|e| e.mac_address.clone()).unwrap_or_default();
    json(
        StatusCode::OK,
        &json!({
            "zone-id": i.zone_id,
            "serial-number": i.instance_id,
            "instance-id": i.instance_id,
            "region-id": state.region_id,
            "private-ipv4": i.private_ip,
            "owner-account-id": state.account_id,
            "mac": mac,
            "image-id": i.image_id,
            "instance-type": i.instance_type,
        }),
    )
}

const ROOT_LISTING: &str = "dns-conf/\neipv4\nhostname\nimage-id\ninstance/\ninstance-id\nmac\nnetwork/\nnetwork-type\nntp-conf/\nowner-account-id\nprivate-ipv4\npublic-ipv4\nram/\nregion-id\nserial-number\nsource-address\ntags/\nvpc-cidr-block\nvpc-id\nvswitch-cidr-block\nvswitch-id\nzone-id\n";

/// The plain-text value of a metadata item, `None` for 404.
fn value_of(state: &CloudState, i: &Instance, item: &str) -> Option<String> {
    let vpc = state.vpc(&i.vpc_id);
    let vsw = state.vswitch(&i.vswitch_id);
    let eni = state.eni(&i.primary_eni_id);
    let mac = eni.map(|e| e.mac_address.clone()).unwrap_or_default();
    let eip = i.eip_allocation_id.as_ref().and_then(|id| state.eips.get(id)).map(|e| e.ip_address.clone());
    let text = match item.trim_end_matches('/') {
        "" => ROOT_LISTING.to_string(),
        "region-id" => state.region_id.clone(),
        "zone-id" => i.zone_id.clone(),
        "instance-id" => i.instance_id.clone(),
        "instance" => "instance-name\ninstance-type\n".into(),
        "instance/instance-type" => i.instance_type.clone(),
        "instance/instance-name" => i.instance_name.clone(),
        "hostname" => i.host_name.clone(),
        "private-ipv4" => i.private_ip.clone(),
        "public-ipv4" => i.public_ip.clone().or_else(|| eip.clone())?,
        "eipv4" => eip?,
        "mac" => mac,
        "vpc-id" => i.vpc_id.clone(),
        "vpc-cidr-block" => vpc?.cidr_block.clone(),
        "vswitch-id" => i.vswitch_id.clone(),
        "vswitch-cidr-block" => vsw?.cidr_block.clone(),
        "network-type" => "vpc".into(),
        "owner-account-id" => state.account_id.clone(),
        "image-id" => i.image_id.clone(),
        "serial-number" => i.instance_id.clone(),
        "source-address" => "http://mirrors.cloud.aliyuncs.com".into(),
        "dns-conf" => "nameservers\n".into(),
        "dns-conf/nameservers" => "100.100.2.136\n100.100.2.138".into(),
        "ntp-conf" => "ntp-servers\n".into(),
        "ntp-conf/ntp-servers" => "ntp.cloud.aliyuncs.com".into(),
        "ram" => "security-credentials/\n".into(),
        "ram/security-credentials" => i.ram_role_name.clone()?,
        "tags" => "instance/\n".into(),
        "tags/instance" => i.tags.iter().map(|t| format!("{}\n", t.key)).collect(),
        "network" => "interfaces/\n".into(),
        "network/interfaces" => "macs/\n".into(),
        "network/interfaces/macs" => format!("{mac}/\n"),
        other => return nested_value(state, i, other, &mac),
    };
    Some(text)
}

fn nested_value(state: &CloudState, i: &Instance, item: &str, mac: &str) -> Option<String> {
    if let Some(key) = item.strip_prefix("tags/instance/") {
        return i.tags.iter().find(|t| t.key == key).map(|t| t.value.clone());
    }
    let rest = item.strip_prefix("network/interfaces/macs/")?;
    let (which, field) = rest.split_once('/').unwrap_or((rest, ""));
    if which != mac {
        return None;
    }
    let eni = state.eni(&i.primary_eni_id)?;
    let vsw = state.vswitch(&eni.vswitch_id)?;
    let vpc = state.vpc(&eni.vpc_id)?;
    let cidr = Cidr4::parse(&vsw.cidr_block)?;
    let text = match field {
        "" => "gateway\nipv6-gateway\nipv6s\nnetmask\nnetwork-interface-id\nprimary-ip-address\nprivate-ipv4s\nvpc-cidr-block\nvpc-id\nvpc-ipv6-cidr-blocks\nvswitch-cidr-block\nvswitch-id\nvswitch-ipv6-cidr-block\n".into(),
        "network-interface-id" => eni.network_interface_id.clone(),
        "vpc-id" => eni.vpc_id.clone(),
        "vswitch-id" => eni.vswitch_id.clone(),
        "primary-ip-address" => eni.private_ip.clone(),
        "private-ipv4s" => serde_json::to_string(&private_ipv4s(eni)).ok()?,
        "netmask" => Ipv4Addr::from(cidr.mask()).to_string(),
        "gateway" => cidr.address_at(cidr.size().saturating_sub(3) as u32).to_string(),
        "vswitch-cidr-block" => vsw.cidr_block.clone(),
        "vpc-cidr-block" => vpc.cidr_block.clone(),
        "ipv6s" if !eni.ipv6_addresses.is_empty() => serde_json::to_string(&eni.ipv6_addresses).ok()?,
        "vswitch-ipv6-cidr-block" if !vsw.ipv6_cidr_block.is_empty() => vsw.ipv6_cidr_block.clone(),
        "vpc-ipv6-cidr-blocks" if !vpc.ipv6_cidr_block.is_empty() => vpc.ipv6_cidr_block.clone(),
        _ => return None,
    };
    Some(text)
}

fn private_ipv4s(eni: &crate::state::NetworkInterface) -> Vec<String> {
    let mut ips = vec![eni.private_ip.clone()];
    ips.extend(eni.secondary_private_ips.iter().cloned());
    ips
}
