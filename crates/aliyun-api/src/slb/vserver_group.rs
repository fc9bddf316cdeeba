//! vServer groups and their backend servers.
//!
//! Backends travel as one JSON-valued parameter, `BackendServers=[{"ServerId":…,"Weight":…,"Type":…,"Port":…}]`,
//! with at most [`MAX_BACKENDS_PER_CALL`] entries per call; [`backend_batches`] and the `batched` constructors split
//! longer lists.

use serde::{Deserialize, Serialize, Serializer};

use super::{BackendType, ListenerProtocol, RequestIdResponse, ResourceTag};
use crate::lenient;
use crate::{
    endpoint::Product,
    params::{Params, Tag},
    request::ApiRequest,
};

/// Most backend servers one `CreateVServerGroup`, `AddVServerGroupBackendServers`,
/// `RemoveVServerGroupBackendServers`, `SetVServerGroupAttribute` or `ModifyVServerGroupBackendServers` call may
/// carry. The AddVServerGroupBackendServers / CreateVServerGroup API docs: "You can add at most 20 backend servers
/// in each call" (the incumbent CCM's `--sg-batch-size` defaults to 40, above the documented limit).
pub const MAX_BACKENDS_PER_CALL: usize = 20;

/// Splits `backends` into consecutive batches of at most [`MAX_BACKENDS_PER_CALL`], in order; none for an empty list.
pub fn backend_batches(backends: &[BackendServer]) -> std::slice::Chunks<'_, BackendServer> {
    backends.chunks(MAX_BACKENDS_PER_CALL)
}

/// One backend server as the `BackendServers` JSON parameters take it.
///
/// Serializes as `{"ServerId":"i-1","Weight":"100","Type":"ecs","Port":"80","Description":"…","ServerIp":"…"}`:
/// `Weight` and `Port` are JSON strings as in the API reference's request examples (the reference types them
/// `Integer`, and the incumbent CCM sends numbers, so the service evidently accepts both). `Weight` (default 100),
/// `Description` and `ServerIp` are left out when unset or empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct BackendServer {
    /// `ServerId`: the ECS instance ID (`i-…`), or the ENI ID (`eni-…`) / ECI ID for those types.
    pub server_id: String,
    /// `Port`: the backend port (1–65535): the node port, or the pod's target port for ENI backends.
    pub port: u16,
    /// `Weight` (0–100; 0 sends no traffic). `None` leaves the server's default (100).
    pub weight: Option<u32>,
    /// `Type`: `ecs`, `eni` or `eci`. Always sent.
    pub backend_type: BackendType,
    /// `ServerIp`: the private address, for ENI/ECI backends.
    pub server_ip: Option<String>,
    /// `Description` (1–80 characters); the incumbent CCM marks its backends `k8s/<nodePort>/<svc>/<ns>/<cluster>`.
    pub description: Option<String>,
}

impl BackendServer {
    /// An ECS instance backend.
    pub fn ecs(instance_id: impl Into<String>, port: u16, weight: u32) -> Self {
        Self {
            server_id: instance_id.into(),
            port,
            weight: Some(weight),
            backend_type: BackendType::Ecs,
            ..Self::default()
        }
    }

    /// An ENI backend: the ENI ID and the private address behind it (a pod IP in ENI mode).
    pub fn eni(eni_id: impl Into<String>, ip: impl Into<String>, port: u16, weight: u32) -> Self {
        Self {
            server_id: eni_id.into(),
            port,
            weight: Some(weight),
            backend_type: BackendType::Eni,
            server_ip: Some(ip.into()),
            description: None,
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// The wire form of [`BackendServer`]: keys exactly as the API spells them, in the order of the docs' examples.
#[derive(Serialize)]
struct BackendServerWire<'a> {
    #[serde(rename = "ServerId")]
    server_id: &'a str,
    #[serde(rename = "Weight", skip_serializing_if = "Option::is_none")]
    weight: Option<String>,
    #[serde(rename = "Type")]
    backend_type: &'a str,
    #[serde(rename = "Port")]
    port: String,
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(rename = "ServerIp", skip_serializing_if = "Option::is_none")]
    server_ip: Option<&'a str>,
}

impl Serialize for BackendServer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        BackendServerWire {
            server_id: &self.server_id,
            weight: self.weight.map(|w| w.to_string()),
            backend_type: self.backend_type.as_str(),
            port: self.port.to_string(),
            description: self.description.as_deref().filter(|d| !d.is_empty()),
            server_ip: self.server_ip.as_deref().filter(|ip| !ip.is_empty()),
        }
        .serialize(s)
    }
}

/// A backend server as vServer group responses list it (`BackendServers.BackendServer[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VServerGroupBackendServer {
    /// Instance, ENI or ECI ID.
    pub server_id: String,
    /// Backend port (a number or a string on the wire).
    #[serde(deserialize_with = "lenient::number")]
    pub port: u16,
    /// Weight (a number or a string on the wire).
    #[serde(deserialize_with = "lenient::number")]
    pub weight: u32,
    /// `ecs`, `eni` or `eci` (`None` when absent: ECS on older answers).
    #[serde(rename = "Type", deserialize_with = "lenient::opt_enum")]
    pub backend_type: Option<BackendType>,
    /// Private address (ENI/ECI backends).
    pub server_ip: String,
    /// Description.
    pub description: String,
    /// VPC of the backend.
    pub vpc_id: String,
    /// Whether the PROXY protocol v2 is passed to this backend.
    #[serde(deserialize_with = "lenient::boolean")]
    pub proxy_protocol_v2_enabled: bool,
}

impl From<&VServerGroupBackendServer> for BackendServer {
    fn from(b: &VServerGroupBackendServer) -> Self {
        BackendServer {
            server_id: b.server_id.clone(),
            port: b.port,
            weight: Some(b.weight),
            backend_type: b.backend_type.clone().unwrap_or_default(),
            server_ip: Some(b.server_ip.clone()).filter(|ip| !ip.is_empty()),
            description: Some(b.description.clone()).filter(|d| !d.is_empty()),
        }
    }
}

/// Response of the actions that answer with a vServer group's backends: [`CreateVServerGroup`],
/// [`AddVServerGroupBackendServers`], [`RemoveVServerGroupBackendServers`], [`SetVServerGroupAttribute`] and
/// [`ModifyVServerGroupBackendServers`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VServerGroupBackendsResponse {
    /// Request ID.
    pub request_id: String,
    /// vServer group ID (`rsp-…`).
    #[serde(rename = "VServerGroupId")]
    pub vserver_group_id: String,
    /// Group name (returned by `SetVServerGroupAttribute`).
    #[serde(rename = "VServerGroupName")]
    pub vserver_group_name: String,
    /// The group's backends after the call.
    #[serde(deserialize_with = "lenient::list")]
    pub backend_servers: Vec<VServerGroupBackendServer>,
}

/// Sets `BackendServers` (or another name) to the JSON list, if it is not empty.
fn backends_param(p: &mut Params, name: &str, backends: &[BackendServer]) {
    if !backends.is_empty() {
        p.json(name, backends);
    }
}

/// Creates a vServer group (`CreateVServerGroup`). The incumbent CCM creates groups empty and adds backends in
/// batches afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateVServerGroup {
    /// `LoadBalancerId`.
    pub load_balancer_id: String,
    /// `VServerGroupName`; the incumbent CCM uses `k8s/<nodePort>/<svc>/<ns>/<clusterID>`.
    pub vserver_group_name: Option<String>,
    /// `BackendServers` (at most [`MAX_BACKENDS_PER_CALL`]); not sent when empty.
    pub backend_servers: Vec<BackendServer>,
    /// `Tag.N.Key` / `Tag.N.Value`.
    pub tags: Vec<Tag>,
}

impl ApiRequest for CreateVServerGroup {
    type Response = VServerGroupBackendsResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "CreateVServerGroup";

    fn to_params(&self, p: &mut Params) {
        p.set("LoadBalancerId", &self.load_balancer_id)
            .opt_str("VServerGroupName", self.vserver_group_name.as_deref())
            .tags("Tag", &self.tags);
        backends_param(p, "BackendServers", &self.backend_servers);
    }
}

/// Deletes a vServer group (`DeleteVServerGroup`); fails with `RspoolVipExist` while a listener uses it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteVServerGroup {
    /// `VServerGroupId`.
    pub vserver_group_id: String,
}

impl DeleteVServerGroup {
    /// Deletes `vserver_group_id`.
    pub fn new(vserver_group_id: impl Into<String>) -> Self {
        Self { vserver_group_id: vserver_group_id.into() }
    }
}

impl ApiRequest for DeleteVServerGroup {
    type Response = RequestIdResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "DeleteVServerGroup";

    fn to_params(&self, p: &mut Params) {
        p.set("VServerGroupId", &self.vserver_group_id);
    }
}

/// Lists the vServer groups of a load balancer (`DescribeVServerGroups`; not paginated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeVServerGroups {
    /// `LoadBalancerId`.
    pub load_balancer_id: String,
    /// `Description`: filter by group name.
    pub description: Option<String>,
    /// `IncludeListener`: also return the listeners using each group.
    pub include_listener: Option<bool>,
    /// `IncludeRule`: also return the forwarding rules using each group.
    pub include_rule: Option<bool>,
    /// `Tag.N.Key` / `Tag.N.Value` filter.
    pub tags: Vec<Tag>,
}

impl DescribeVServerGroups {
    /// Lists the groups of `load_balancer_id`.
    pub fn new(load_balancer_id: impl Into<String>) -> Self {
        Self { load_balancer_id: load_balancer_id.into(), ..Self::default() }
    }
}

impl ApiRequest for DescribeVServerGroups {
    type Response = DescribeVServerGroupsResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "DescribeVServerGroups";

    fn to_params(&self, p: &mut Params) {
        p.set("LoadBalancerId", &self.load_balancer_id)
            .opt_str("Description", self.description.as_deref())
            .opt("IncludeListener", self.include_listener)
            .opt("IncludeRule", self.include_rule)
            .tags("Tag", &self.tags);
    }
}

/// Response of [`DescribeVServerGroups`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeVServerGroupsResponse {
    /// Request ID.
    pub request_id: String,
    /// The groups (`VServerGroups.VServerGroup[]`).
    #[serde(rename = "VServerGroups", deserialize_with = "lenient::list")]
    pub vserver_groups: Vec<VServerGroup>,
}

/// One vServer group as [`DescribeVServerGroups`] lists it (without backends).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VServerGroup {
    /// Group ID.
    #[serde(rename = "VServerGroupId")]
    pub vserver_group_id: String,
    /// Group name.
    #[serde(rename = "VServerGroupName")]
    pub vserver_group_name: String,
    /// Number of backends.
    #[serde(deserialize_with = "lenient::number")]
    pub server_count: u32,
    /// Creation time.
    pub create_time: String,
    /// Listeners and rules using the group (with `IncludeListener` / `IncludeRule`).
    pub associated_objects: AssociatedObjects,
    /// Tags.
    #[serde(deserialize_with = "lenient::list")]
    pub tags: Vec<ResourceTag>,
}

/// What uses a vServer group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AssociatedObjects {
    /// Listeners (`Listeners.Listener[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub listeners: Vec<AssociatedListener>,
    /// Forwarding rules (`Rules.Rule[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub rules: Vec<AssociatedRule>,
}

/// A listener that uses a vServer group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AssociatedListener {
    /// Listener protocol.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub protocol: Option<ListenerProtocol>,
    /// Listener port.
    #[serde(deserialize_with = "lenient::number")]
    pub port: u16,
}

/// A forwarding rule that uses a vServer group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AssociatedRule {
    /// Rule ID.
    pub rule_id: String,
    /// Rule name.
    pub rule_name: String,
    /// Domain the rule matches.
    pub domain: String,
    /// URL path the rule matches.
    pub url: String,
}

/// Describes one vServer group with its backends (`DescribeVServerGroupAttribute`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeVServerGroupAttribute {
    /// `VServerGroupId`.
    pub vserver_group_id: String,
}

impl DescribeVServerGroupAttribute {
    /// Describes `vserver_group_id`.
    pub fn new(vserver_group_id: impl Into<String>) -> Self {
        Self { vserver_group_id: vserver_group_id.into() }
    }
}

impl ApiRequest for DescribeVServerGroupAttribute {
    type Response = DescribeVServerGroupAttributeResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "DescribeVServerGroupAttribute";

    fn to_params(&self, p: &mut Params) {
        p.set("VServerGroupId", &self.vserver_group_id);
    }
}

/// Response of [`DescribeVServerGroupAttribute`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeVServerGroupAttributeResponse {
    /// Request ID.
    pub request_id: String,
    /// Group ID.
    #[serde(rename = "VServerGroupId")]
    pub vserver_group_id: String,
    /// Group name.
    #[serde(rename = "VServerGroupName")]
    pub vserver_group_name: String,
    /// Load balancer the group belongs to.
    pub load_balancer_id: String,
    /// Creation time.
    pub create_time: String,
    /// Backends (`BackendServers.BackendServer[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub backend_servers: Vec<VServerGroupBackendServer>,
    /// Tags (`Tags.Tag[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub tags: Vec<ResourceTag>,
}

/// Adds backend servers to a vServer group (`AddVServerGroupBackendServers`), at most [`MAX_BACKENDS_PER_CALL`]
/// per call; see [`AddVServerGroupBackendServers::batched`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddVServerGroupBackendServers {
    /// `VServerGroupId`.
    pub vserver_group_id: String,
    /// `BackendServers`.
    pub backend_servers: Vec<BackendServer>,
}

impl AddVServerGroupBackendServers {
    /// One request per batch of at most [`MAX_BACKENDS_PER_CALL`] backends.
    pub fn batched(vserver_group_id: &str, backends: &[BackendServer]) -> Vec<Self> {
        backend_batches(backends)
            .map(|batch| Self { vserver_group_id: vserver_group_id.to_owned(), backend_servers: batch.to_vec() })
            .collect()
    }
}

impl ApiRequest for AddVServerGroupBackendServers {
    type Response = VServerGroupBackendsResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "AddVServerGroupBackendServers";

    fn to_params(&self, p: &mut Params) {
        p.set("VServerGroupId", &self.vserver_group_id).json("BackendServers", &self.backend_servers);
    }
}

/// Removes backend servers from a vServer group (`RemoveVServerGroupBackendServers`), matched by server ID, port
/// and type; at most [`MAX_BACKENDS_PER_CALL`] per call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoveVServerGroupBackendServers {
    /// `VServerGroupId`.
    pub vserver_group_id: String,
    /// `BackendServers`.
    pub backend_servers: Vec<BackendServer>,
}

impl RemoveVServerGroupBackendServers {
    /// One request per batch of at most [`MAX_BACKENDS_PER_CALL`] backends.
    pub fn batched(vserver_group_id: &str, backends: &[BackendServer]) -> Vec<Self> {
        backend_batches(backends)
            .map(|batch| Self { vserver_group_id: vserver_group_id.to_owned(), backend_servers: batch.to_vec() })
            .collect()
    }
}

impl ApiRequest for RemoveVServerGroupBackendServers {
    type Response = VServerGroupBackendsResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "RemoveVServerGroupBackendServers";

    fn to_params(&self, p: &mut Params) {
        p.set("VServerGroupId", &self.vserver_group_id).json("BackendServers", &self.backend_servers);
    }
}

/// Renames a vServer group and/or changes the weight and description of existing members
/// (`SetVServerGroupAttribute`); it does not add or remove members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetVServerGroupAttribute {
    /// `VServerGroupId`.
    pub vserver_group_id: String,
    /// `VServerGroupName`.
    pub vserver_group_name: Option<String>,
    /// `BackendServers`: existing members with their new weight/description; not sent when empty.
    pub backend_servers: Vec<BackendServer>,
}

impl SetVServerGroupAttribute {
    /// One request per batch of at most [`MAX_BACKENDS_PER_CALL`] backends (without a new name).
    pub fn batched(vserver_group_id: &str, backends: &[BackendServer]) -> Vec<Self> {
        backend_batches(backends)
            .map(|batch| Self {
                vserver_group_id: vserver_group_id.to_owned(),
                vserver_group_name: None,
                backend_servers: batch.to_vec(),
            })
            .collect()
    }
}

impl ApiRequest for SetVServerGroupAttribute {
    type Response = VServerGroupBackendsResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "SetVServerGroupAttribute";

    fn to_params(&self, p: &mut Params) {
        p.set("VServerGroupId", &self.vserver_group_id).opt_str("VServerGroupName", self.vserver_group_name.as_deref());
        backends_param(p, "BackendServers", &self.backend_servers);
    }

    /// Sets target weights and names: repeating the call leaves the same state.
    fn idempotent(&self) -> bool {
        true
    }
}

/// Replaces members of a vServer group by others in one call (`ModifyVServerGroupBackendServers`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifyVServerGroupBackendServers {
    /// `VServerGroupId`.
    pub vserver_group_id: String,
    /// `OldBackendServers`: the members to replace.
    pub old_backend_servers: Vec<BackendServer>,
    /// `NewBackendServers`: their replacements.
    pub new_backend_servers: Vec<BackendServer>,
}

impl ApiRequest for ModifyVServerGroupBackendServers {
    type Response = VServerGroupBackendsResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "ModifyVServerGroupBackendServers";

    fn to_params(&self, p: &mut Params) {
        p.set("VServerGroupId", &self.vserver_group_id);
        backends_param(p, "OldBackendServers", &self.old_backend_servers);
        backends_param(p, "NewBackendServers", &self.new_backend_servers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<R: ApiRequest>(r: &R) -> Vec<(String, String)> {
        let mut p = Params::new();
        r.to_params(&mut p);
        p.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        v.sort();
        v
    }

    #[test]
    fn add_backends_sends_the_documented_json() {
        let r = AddVServerGroupBackendServers {
            vserver_group_id: "rsp-cige6j5e7p".into(),
            backend_servers: vec![
                BackendServer::ecs("i-1", 30080, 100).with_description("k8s/30080/web/default/c1"),
                BackendServer::eni("eni-2", "192.168.0.6", 8080, 50),
            ],
        };
        assert_eq!(
            params(&r),
            pairs(&[
                (
                    "BackendServers",
                    r#"[{"ServerId":"i-1","Weight":"100","Type":"ecs","Port":"30080","Description":"k8s/30080/web/default/c1"},{"ServerId":"eni-2","Weight":"50","Type":"eni","Port":"8080","ServerIp":"192.168.0.6"}]"#
                ),
                ("VServerGroupId", "rsp-cige6j5e7p"),
            ])
        );
        assert!(!r.idempotent());
    }

    #[test]
    fn remove_without_weight_and_empty_strings_left_out() {
        let b = BackendServer {
            server_id: "i-1".into(),
            port: 80,
            weight: None,
            backend_type: BackendType::Ecs,
            server_ip: Some(String::new()),
            description: Some(String::new()),
        };
        let r = RemoveVServerGroupBackendServers { vserver_group_id: "rsp-1".into(), backend_servers: vec![b] };
        assert_eq!(
            params(&r),
            pairs(&[
                ("BackendServers", r#"[{"ServerId":"i-1","Type":"ecs","Port":"80"}]"#),
                ("VServerGroupId", "rsp-1")
            ])
        );
    }

    #[test]
    fn create_group_empty_like_the_incumbent() {
        let r = CreateVServerGroup {
            load_balancer_id: "lb-1".into(),
            vserver_group_name: Some("k8s/30080/web/default/c1".into()),
            ..Default::default()
        };
        assert_eq!(params(&r), pairs(&[("LoadBalancerId", "lb-1"), ("VServerGroupName", "k8s/30080/web/default/c1")]));
    }

    #[test]
    fn set_attribute_and_modify() {
        let r = SetVServerGroupAttribute {
            vserver_group_id: "rsp-1".into(),
            vserver_group_name: None,
            backend_servers: vec![BackendServer::ecs("i-1", 80, 0)],
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("BackendServers", r#"[{"ServerId":"i-1","Weight":"0","Type":"ecs","Port":"80"}]"#),
                ("VServerGroupId", "rsp-1"),
            ])
        );
        assert!(r.idempotent());

        let r = ModifyVServerGroupBackendServers {
            vserver_group_id: "rsp-1".into(),
            old_backend_servers: vec![BackendServer::ecs("i-1", 80, 100)],
            new_backend_servers: vec![BackendServer::ecs("i-1", 81, 100)],
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("NewBackendServers", r#"[{"ServerId":"i-1","Weight":"100","Type":"ecs","Port":"81"}]"#),
                ("OldBackendServers", r#"[{"ServerId":"i-1","Weight":"100","Type":"ecs","Port":"80"}]"#),
                ("VServerGroupId", "rsp-1"),
            ])
        );
        assert!(!r.idempotent());

        let r = DescribeVServerGroups { include_listener: Some(true), ..DescribeVServerGroups::new("lb-1") };
        assert_eq!(params(&r), pairs(&[("IncludeListener", "true"), ("LoadBalancerId", "lb-1")]));
        assert!(r.idempotent());
        assert_eq!(params(&DeleteVServerGroup::new("rsp-1")), pairs(&[("VServerGroupId", "rsp-1")]));
        assert_eq!(params(&DescribeVServerGroupAttribute::new("rsp-1")), pairs(&[("VServerGroupId", "rsp-1")]));
    }

    #[test]
    fn batches_of_twenty() {
        let backends: Vec<_> = (0..45).map(|i| BackendServer::ecs(format!("i-{i}"), 30080, 100)).collect();
        let sizes: Vec<_> = backend_batches(&backends).map(<[_]>::len).collect();
        assert_eq!(sizes, [20, 20, 5]);
        let adds = AddVServerGroupBackendServers::batched("rsp-1", &backends);
        assert_eq!(adds.len(), 3);
        assert_eq!(adds[2].backend_servers[0].server_id, "i-40");
        assert!(adds.iter().all(|a| a.vserver_group_id == "rsp-1"));
        let flat: Vec<_> = adds.iter().flat_map(|a| a.backend_servers.iter().cloned()).collect();
        assert_eq!(flat, backends);
        assert_eq!(RemoveVServerGroupBackendServers::batched("rsp-1", &backends[..20]).len(), 1);
        assert_eq!(SetVServerGroupAttribute::batched("rsp-1", &backends[..21]).len(), 2);
        assert!(AddVServerGroupBackendServers::batched("rsp-1", &[]).is_empty());
    }

    #[test]
    fn parses_describe_vserver_groups() {
        let body = r#"{"RequestId":"394D5A0E","VServerGroups":{"VServerGroup":[
            {"VServerGroupId":"rsp-1","VServerGroupName":"k8s/30080/web/default/c1","ServerCount":2,
             "CreateTime":"2024-03-01T08:00:00Z",
             "AssociatedObjects":{"Listeners":{"Listener":[{"Protocol":"tcp","Port":80}]},"Rules":{"Rule":[]}}},
            {"VServerGroupId":"rsp-2","VServerGroupName":"user","AssociatedObjects":{}}
        ]}}"#;
        let r: DescribeVServerGroupsResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.vserver_groups.len(), 2);
        let g = &r.vserver_groups[0];
        assert_eq!(g.vserver_group_id, "rsp-1");
        assert_eq!(g.server_count, 2);
        assert_eq!(
            g.associated_objects.listeners,
            [AssociatedListener { protocol: Some(ListenerProtocol::Tcp), port: 80 }]
        );
        assert!(r.vserver_groups[1].associated_objects.listeners.is_empty());

        let empty: DescribeVServerGroupsResponse =
            serde_json::from_str(r#"{"RequestId":"x","VServerGroups":{"VServerGroup":[]}}"#).unwrap();
        assert!(empty.vserver_groups.is_empty());
    }

    #[test]
    fn parses_describe_vserver_group_attribute_and_add_answer() {
        let body = r#"{"RequestId":"9DEC9C28","VServerGroupId":"rsp-1","VServerGroupName":"k8s/30080/web/default/c1",
            "LoadBalancerId":"lb-1",
            "BackendServers":{"BackendServer":[
                {"ServerId":"i-1","Port":30080,"Weight":100,"Type":"ecs","Description":"k8s/30080/web/default/c1","VpcId":"vpc-1"},
                {"ServerId":"eni-2","Port":"8080","Weight":"50","Type":"eni","ServerIp":"192.168.0.6","ProxyProtocolV2Enabled":false}
            ]}}"#;
        let r: DescribeVServerGroupAttributeResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.load_balancer_id, "lb-1");
        assert_eq!(r.backend_servers.len(), 2);
        assert_eq!((r.backend_servers[1].port, r.backend_servers[1].weight), (8080, 50));
        let back: BackendServer = (&r.backend_servers[1]).into();
        assert_eq!(back, BackendServer::eni("eni-2", "192.168.0.6", 8080, 50));
        let back: BackendServer = (&r.backend_servers[0]).into();
        assert_eq!(back, BackendServer::ecs("i-1", 30080, 100).with_description("k8s/30080/web/default/c1"));

        // The AddVServerGroupBackendServers doc sample.
        let r: VServerGroupBackendsResponse = serde_json::from_str(
            r#"{"VServerGroupId":"rsp-cige6j5e7p","RequestId":"9DEC9C28-AB05-4DDF-9A78-6B08EC9CE18C",
                "BackendServers":{"BackendServer":[{"Type":"eni","Weight":100,"Description":"Backend server group description",
                "Port":70,"ServerId":"eni-hhshhs****"}]}}"#,
        )
        .unwrap();
        assert_eq!(r.vserver_group_id, "rsp-cige6j5e7p");
        assert_eq!(r.backend_servers[0].backend_type, Some(BackendType::Eni));
        assert_eq!(r.backend_servers[0].port, 70);

        let empty: DescribeVServerGroupAttributeResponse =
            serde_json::from_str(r#"{"VServerGroupId":"rsp-1","BackendServers":{"BackendServer":[]}}"#).unwrap();
        assert!(empty.backend_servers.is_empty());
    }
}
