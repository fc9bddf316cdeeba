//! Classic Load Balancer (SLB API `2014-05-15`) emulation.
//!
//! The state lives in [`SlbState`] inside [`crate::state::CloudState`]; every
//! action is answered by [`handle`], which returns the response object
//! without `RequestId` (the dispatcher adds it) or the [`ApiFault`] the real
//! API would return.
//!
//! Response shapes follow the official SDK models (`alibabacloud_slb20140515`
//! and the Go SDK structs): lists are wrapped the XML way
//! (`"LoadBalancers":{"LoadBalancer":[...]}`) except where the API returns a
//! flat array (`DescribeLoadBalancerListeners`'s `Listeners`).
//!
//! Where the documentation leaves a behaviour or an error text open, the
//! choice is marked "guess" in a comment next to it.

mod acl;
mod certificate;
mod common;
mod domain_extension;
mod listener;
mod load_balancer;
mod tags;
mod vserver_group;

#[cfg(test)]
pub(crate) mod test_support;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::state::{CloudState, Tag};
use crate::wire::{ApiFault, Request};

pub use certificate::CertificateSeed;

/// Limits the emulation enforces. The defaults are the documented quotas;
/// tests and benchmarks may raise them.
#[derive(Debug, Clone, Serialize)]
pub struct SlbLimits {
    /// Listeners per CLB instance (CLB quota `slb_quota_listeners_num`, 50).
    pub listeners_per_load_balancer: usize,
    /// Distinct backend servers per CLB instance across its vServer groups
    /// (CLB quota, 200).
    pub backends_per_load_balancer: usize,
    /// Backend servers per Add/Remove/Set/Modify/CreateVServerGroup call.
    ///
    /// The API reference says "at most 20 backend servers in each call", but
    /// the Go CCM sends batches of 40 (`--sg-batch-size`, formerly
    /// `MaxBackendNum = 39`) against the real API in production, so the real
    /// limit is evidently at least 40. The fake accepts 40 by default so that
    /// the CCM works unchanged; set 20 to hold clients to the documented limit.
    pub backends_per_call: usize,
    /// ACL entries per Add/RemoveAccessControlListEntry call (documented: 50).
    pub acl_entries_per_call: usize,
    /// Entries per ACL (CLB quota, 300).
    pub acl_entries_per_acl: usize,
    /// ACLs per region (CLB quota, 50; guess at the default).
    pub acls_per_region: usize,
    /// Tags per resource (documented: 20).
    pub tags_per_resource: usize,
    /// CLB instances per account, when limited (the real quota is 30 and
    /// adjustable; unlimited by default so that benchmarks can scale).
    pub load_balancers: Option<usize>,
}

impl Default for SlbLimits {
    fn default() -> Self {
        Self {
            listeners_per_load_balancer: 50,
            backends_per_load_balancer: 200,
            backends_per_call: 40,
            acl_entries_per_call: 50,
            acl_entries_per_acl: 300,
            acls_per_region: 50,
            tags_per_resource: 20,
            load_balancers: None,
        }
    }
}

/// State of every CLB resource in the region.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SlbState {
    /// CLB instances by id (each holds its listeners).
    pub load_balancers: BTreeMap<String, LoadBalancer>,
    /// vServer groups by id.
    pub vserver_groups: BTreeMap<String, VServerGroup>,
    /// Access control lists by id.
    pub acls: BTreeMap<String, AccessControlList>,
    /// Server certificates by id.
    pub server_certificates: BTreeMap<String, ServerCertificate>,
    /// Domain extensions of HTTPS listeners by id.
    pub domain_extensions: BTreeMap<String, DomainExtension>,
    /// `ClientToken` of each CreateLoadBalancer call -> the instance it created.
    pub client_tokens: BTreeMap<String, String>,
    /// Enforced limits.
    pub limits: SlbLimits,
    /// Creation counter; resources are listed in creation order.
    pub next_seq: u64,
}

impl SlbState {
    /// Adds a server certificate as if it had been uploaded, and returns its id.
    /// This is the seed hook for tests and for the seed file.
    pub fn seed_certificate(&mut self, ids: &mut crate::wire::Ids, seed: CertificateSeed) -> String {
        certificate::seed(self, ids, seed)
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

/// A CLB instance.
#[derive(Debug, Clone, Serialize)]
pub struct LoadBalancer {
    /// `lb-...`.
    pub load_balancer_id: String,
    /// Name.
    pub load_balancer_name: String,
    /// `active`, `inactive` or `locked`.
    pub load_balancer_status: String,
    /// Service address (private for intranet, public for internet).
    pub address: String,
    /// `internet` or `intranet`.
    pub address_type: String,
    /// `ipv4` or `ipv6`.
    pub address_ip_version: String,
    /// `vpc` or `classic`.
    pub network_type: String,
    /// VPC id (empty for classic network).
    pub vpc_id: String,
    /// vSwitch id (empty for classic network).
    pub vswitch_id: String,
    /// Primary zone.
    pub master_zone_id: String,
    /// Secondary zone.
    pub slave_zone_id: String,
    /// Specification (`slb.s1.small`, ...), empty for shared or pay-by-CLCU instances.
    pub load_balancer_spec: String,
    /// `PayBySpec` or `PayByCLCU`.
    pub instance_charge_type: String,
    /// `paybytraffic` or `paybybandwidth`.
    pub internet_charge_type: String,
    /// Maximum bandwidth (Mbit/s) of a pay-by-bandwidth instance.
    pub bandwidth: i64,
    /// `PayOnDemand` or `PrePay`.
    pub pay_type: String,
    /// Resource group.
    pub resource_group_id: String,
    /// `on` or `off`.
    pub delete_protection: String,
    /// `NonProtection` or `ConsoleProtection`.
    pub modification_protection_status: String,
    /// Reason given with `ConsoleProtection`.
    pub modification_protection_reason: String,
    /// Creation time, `yyyy-MM-ddTHH:mm:ssZ`.
    pub create_time: String,
    /// Creation time, epoch milliseconds.
    pub create_time_stamp: i64,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Listeners, ordered by port then protocol.
    pub listeners: Vec<Listener>,
    /// Creation order.
    pub seq: u64,
}

/// A listener of a CLB instance.
#[derive(Debug, Clone, Serialize)]
pub struct Listener {
    /// Frontend port.
    pub listener_port: u16,
    /// `tcp`, `udp`, `http` or `https`.
    pub listener_protocol: String,
    /// `running` or `stopped`.
    pub status: String,
    /// Backend port when no vServer group is used.
    pub backend_server_port: Option<u16>,
    /// Bound vServer group, empty when none.
    pub vserver_group_id: String,
    /// Bound primary/secondary server group, empty when none (not emulated further).
    pub master_slave_server_group_id: String,
    /// Description (the Go CCM stores its ownership key here).
    pub description: String,
    /// Bound ACL, empty when none.
    pub acl_id: String,
    /// `white` or `black`, empty when unset.
    pub acl_type: String,
    /// `on` or `off`.
    pub acl_status: String,
    /// Every other attribute under its response name (`Bandwidth`,
    /// `HealthCheck`, `PersistenceTimeout`, ...).
    pub attributes: BTreeMap<String, Value>,
    /// Tags.
    pub tags: Vec<Tag>,
}

impl Listener {
    /// The id used by the tag API: `<LoadBalancerId>_<protocol>_<port>`.
    pub fn resource_id(&self, load_balancer_id: &str) -> String {
        format!("{load_balancer_id}_{}_{}", self.listener_protocol, self.listener_port)
    }
}

/// A vServer group.
#[derive(Debug, Clone, Serialize)]
pub struct VServerGroup {
    /// `rsp-...`.
    pub vserver_group_id: String,
    /// Name (the Go CCM stores its ownership key here).
    pub vserver_group_name: String,
    /// Owning CLB instance.
    pub load_balancer_id: String,
    /// Creation time.
    pub create_time: String,
    /// Backend servers in insertion order.
    pub backends: Vec<Backend>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Creation order.
    pub seq: u64,
}

/// A backend server of a vServer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backend {
    /// ECS instance, ENI or ECI id.
    pub server_id: String,
    /// Address (ENI/ECI backends; the instance's primary address for ECS).
    pub server_ip: String,
    /// Backend port.
    pub port: u16,
    /// Weight 0-100.
    pub weight: u8,
    /// `ecs`, `eni` or `eci`.
    pub server_type: String,
    /// Description (the Go CCM stores its ownership key here).
    pub description: String,
    /// VPC of the server.
    pub vpc_id: String,
}

/// An access control list.
#[derive(Debug, Clone, Serialize)]
pub struct AccessControlList {
    /// `acl-...`.
    pub acl_id: String,
    /// Name.
    pub acl_name: String,
    /// `ipv4` or `ipv6`.
    pub address_ip_version: String,
    /// Resource group.
    pub resource_group_id: String,
    /// Creation time.
    pub create_time: String,
    /// Entries in insertion order.
    pub entries: Vec<AclEntry>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Creation order.
    pub seq: u64,
}

/// One entry of an ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AclEntry {
    /// CIDR block.
    pub entry: String,
    /// Comment.
    pub comment: String,
}

/// A server certificate.
#[derive(Debug, Clone, Serialize)]
pub struct ServerCertificate {
    /// Id.
    pub server_certificate_id: String,
    /// Name.
    pub server_certificate_name: String,
    /// SHA-1 fingerprint, colon-separated lower-case hex.
    pub fingerprint: String,
    /// Subject common name.
    pub common_name: String,
    /// Subject alternative names.
    pub subject_alternative_names: Vec<String>,
    /// Upload time.
    pub create_time: String,
    /// Upload time, epoch milliseconds.
    pub create_time_stamp: i64,
    /// Expiry time.
    pub expire_time: String,
    /// Expiry time, epoch milliseconds.
    pub expire_time_stamp: i64,
    /// Resource group.
    pub resource_group_id: String,
    /// Whether it comes from Alibaba Cloud Certificate Management.
    pub is_ali_cloud_certificate: bool,
    /// Certificate Management id, when it does.
    pub ali_cloud_certificate_id: String,
    /// Certificate Management name, when it does.
    pub ali_cloud_certificate_name: String,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Creation order.
    pub seq: u64,
}

/// A domain extension (extra certificate by SNI domain) of an HTTPS listener.
#[derive(Debug, Clone, Serialize)]
pub struct DomainExtension {
    /// `de-...`.
    pub domain_extension_id: String,
    /// Owning CLB instance.
    pub load_balancer_id: String,
    /// Port of the HTTPS listener.
    pub listener_port: u16,
    /// Domain name.
    pub domain: String,
    /// Certificate served for the domain.
    pub server_certificate_id: String,
    /// Creation order.
    pub seq: u64,
}

/// Handles one SLB action; `None` when the action is not an SLB action.
///
/// The returned object lacks `RequestId`, which the dispatcher adds.
pub fn handle(state: &mut CloudState, action: &str, req: &Request) -> Option<Result<Value, ApiFault>> {
    use load_balancer as lb;
    forget_released_servers(state);
    let result = match action {
        "CreateLoadBalancer" => lb::create(state, req),
        "DescribeLoadBalancers" => lb::describe_many(state, req),
        "DescribeLoadBalancerAttribute" => lb::describe_attribute(state, req),
        "SetLoadBalancerName" => lb::set_name(state, req),
        "SetLoadBalancerStatus" => lb::set_status(state, req),
        "SetLoadBalancerDeleteProtection" => lb::set_delete_protection(state, req),
        "SetLoadBalancerModificationProtection" => lb::set_modification_protection(state, req),
        "ModifyLoadBalancerInstanceSpec" => lb::modify_instance_spec(state, req),
        "ModifyLoadBalancerInternetSpec" => lb::modify_internet_spec(state, req),
        "ModifyLoadBalancerInstanceChargeType" => lb::modify_instance_charge_type(state, req),
        "DeleteLoadBalancer" => lb::delete(state, req),

        "CreateLoadBalancerTCPListener" => listener::create(state, req, "tcp"),
        "CreateLoadBalancerUDPListener" => listener::create(state, req, "udp"),
        "CreateLoadBalancerHTTPListener" => listener::create(state, req, "http"),
        "CreateLoadBalancerHTTPSListener" => listener::create(state, req, "https"),
        "SetLoadBalancerTCPListenerAttribute" => listener::set_attribute(state, req, "tcp"),
        "SetLoadBalancerUDPListenerAttribute" => listener::set_attribute(state, req, "udp"),
        "SetLoadBalancerHTTPListenerAttribute" => listener::set_attribute(state, req, "http"),
        "SetLoadBalancerHTTPSListenerAttribute" => listener::set_attribute(state, req, "https"),
        "DescribeLoadBalancerTCPListenerAttribute" => listener::describe_attribute(state, req, "tcp"),
        "DescribeLoadBalancerUDPListenerAttribute" => listener::describe_attribute(state, req, "udp"),
        "DescribeLoadBalancerHTTPListenerAttribute" => listener::describe_attribute(state, req, "http"),
        "DescribeLoadBalancerHTTPSListenerAttribute" => listener::describe_attribute(state, req, "https"),
        "DescribeLoadBalancerListeners" => listener::describe_many(state, req),
        "StartLoadBalancerListener" => listener::set_running(state, req, true),
        "StopLoadBalancerListener" => listener::set_running(state, req, false),
        "DeleteLoadBalancerListener" => listener::delete(state, req),

        "CreateVServerGroup" => vserver_group::create(state, req),
        "DeleteVServerGroup" => vserver_group::delete(state, req),
        "DescribeVServerGroups" => vserver_group::describe_many(state, req),
        "DescribeVServerGroupAttribute" => vserver_group::describe_attribute(state, req),
        "SetVServerGroupAttribute" => vserver_group::set_attribute(state, req),
        "AddVServerGroupBackendServers" => vserver_group::add_backends(state, req),
        "RemoveVServerGroupBackendServers" => vserver_group::remove_backends(state, req),
        "ModifyVServerGroupBackendServers" => vserver_group::modify_backends(state, req),

        "TagResources" => tags::tag_resources(state, req),
        "UntagResources" => tags::untag_resources(state, req),
        "ListTagResources" => tags::list_tag_resources(state, req),
        "AddTags" => tags::add_tags(state, req),
        "RemoveTags" => tags::remove_tags(state, req),
        "DescribeTags" => tags::describe_tags(state, req),

        "CreateAccessControlList" => acl::create(state, req),
        "DeleteAccessControlList" => acl::delete(state, req),
        "SetAccessControlListAttribute" => acl::set_attribute(state, req),
        "AddAccessControlListEntry" => acl::add_entries(state, req),
        "RemoveAccessControlListEntry" => acl::remove_entries(state, req),
        "DescribeAccessControlListAttribute" => acl::describe_attribute(state, req),
        "DescribeAccessControlLists" => acl::describe_many(state, req),

        "UploadServerCertificate" => certificate::upload(state, req),
        "DescribeServerCertificates" => certificate::describe_many(state, req),
        "SetServerCertificateName" => certificate::set_name(state, req),
        "DeleteServerCertificate" => certificate::delete(state, req),

        "CreateDomainExtension" => domain_extension::create(state, req),
        "DescribeDomainExtensions" => domain_extension::describe_many(state, req),
        "DescribeDomainExtensionAttribute" => domain_extension::describe_attribute(state, req),
        "SetDomainExtensionAttribute" => domain_extension::set_attribute(state, req),
        "DeleteDomainExtension" => domain_extension::delete(state, req),
        _ => return None,
    };
    Some(result)
}

/// Drops backends whose ECS instance or ENI no longer exists: a released
/// server leaves its vServer groups (assumed from the console's behaviour;
/// the fake's admin API can delete instances behind the SLB's back).
fn forget_released_servers(state: &mut CloudState) {
    let CloudState { slb, instances, enis, .. } = state;
    for group in slb.vserver_groups.values_mut() {
        group.backends.retain(|b| match b.server_type.as_str() {
            "ecs" => instances.contains_key(&b.server_id),
            "eni" => enis.contains_key(&b.server_id),
            _ => true,
        });
    }
}

/// The empty success answer (`{}`; the dispatcher adds `RequestId`).
pub(crate) fn ok_empty() -> Result<Value, ApiFault> {
    Ok(Value::Object(serde_json::Map::new()))
}

#[cfg(test)]
mod tests {
    use super::test_support::*;

    use crate::actions::SLB_ACTIONS as ACTIONS;

    #[test]
    fn released_instances_leave_their_groups() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        let g = create_group(&mut s, &lb);
        call(
            &mut s,
            "AddVServerGroupBackendServers",
            &[
                ("VServerGroupId", &g),
                ("BackendServers", r#"[{"ServerId":"i-1","Port":80},{"ServerId":"i-2","Port":80}]"#),
            ],
        )
        .unwrap();
        s.instances.remove("i-1");
        let out = call(&mut s, "DescribeVServerGroupAttribute", &[("VServerGroupId", &g)]).unwrap();
        let members = out["BackendServers"]["BackendServer"].as_array().unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0]["ServerId"], "i-2");
    }

    #[test]
    fn unknown_actions_are_not_slb_actions() {
        let mut s = cloud();
        let req = crate::wire::Request::new("DescribeInstances", Default::default());
        assert!(super::handle(&mut s, "DescribeInstances", &req).is_none());
    }

    #[test]
    fn garbage_parameters_answer_errors_never_panics() {
        let names = [
            "LoadBalancerId",
            "ListenerPort",
            "VServerGroupId",
            "BackendServers",
            "OldBackendServers",
            "NewBackendServers",
            "AclId",
            "AclEntrys",
            "Tags",
            "Tag.1.Key",
            "ResourceId.1",
            "ResourceType",
            "PageNumber",
            "PageSize",
            "MaxResults",
            "NextToken",
            "Bandwidth",
            "VSwitchId",
            "Address",
            "ServerCertificate",
            "PrivateKey",
            "ServerCertificateId",
            "DomainExtensionId",
            "ListenerProtocol",
            "healthCheckInterval",
            "HealthCheck",
        ];
        let values = [
            "",
            "-1",
            "99999999999999999999",
            "[",
            "[{}]",
            "[1,2]",
            r#"[{"ServerId":null,"Port":[],"Weight":{}}]"#,
            "{\"a\":1}",
            "lb-\u{0}\u{7f}é",
            "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----",
        ];
        for action in ACTIONS {
            for value in values {
                let mut s = cloud();
                let lb = create_intranet_lb(&mut s);
                let params: Vec<(String, String)> = names
                    .iter()
                    .map(|n| {
                        let v = if *n == "LoadBalancerId" && value.is_empty() { lb.clone() } else { value.to_string() };
                        (n.to_string(), v)
                    })
                    .collect();
                // Any answer is fine; reaching here without a panic is the point.
                let _ = call_owned(&mut s, action, params);
            }
        }
    }
}
