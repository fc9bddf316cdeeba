//! aliyun-fake's Classic Load Balancer side as tests look at it: load balancers with their listeners, vServer
//! groups with their backends and vSwitch CIDRs from `GET /_fake/state`, and the call log of `GET /_fake/calls`.
//!
//! ```ignore
//! let slb = stack.slb_state().await?;
//! let lb = slb.tagged("kubernetes.do.not.delete", &owner)[0];
//! let group = slb.group(&lb.listener(80, "tcp").unwrap().vserver_group_id).unwrap();
//! stack.reset_fake_calls().await?;
//! // ... change something ...
//! let writes = stack.fake_call_log().await?.slb_writes();
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::error::{Error, Result};
use crate::stack::Stack;

/// A tag of a fake resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FakeTag {
    /// Key.
    pub key: String,
    /// Value.
    #[serde(default)]
    pub value: String,
}

/// A CLB instance of the fake (field names as in `/_fake/state`).
#[derive(Debug, Clone, Deserialize)]
pub struct FakeLoadBalancer {
    /// `lb-...`.
    pub load_balancer_id: String,
    /// Name.
    pub load_balancer_name: String,
    /// `active`, `inactive`, `locked`.
    pub load_balancer_status: String,
    /// Service address.
    pub address: String,
    /// `internet` or `intranet`.
    pub address_type: String,
    /// VPC (intranet).
    #[serde(default)]
    pub vpc_id: String,
    /// vSwitch (intranet).
    #[serde(default)]
    pub vswitch_id: String,
    /// `on` or `off`.
    #[serde(default)]
    pub delete_protection: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<FakeTag>,
    /// Listeners.
    #[serde(default)]
    pub listeners: Vec<FakeListener>,
}

impl FakeLoadBalancer {
    /// The value of tag `key`, if set.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }

    /// The listener on `port` with `protocol` (`tcp`, `udp`, ...).
    pub fn listener(&self, port: u16, protocol: &str) -> Option<&FakeListener> {
        self.listeners.iter().find(|l| l.listener_port == port && l.listener_protocol == protocol)
    }

    /// `(protocol, port)` of every listener, sorted.
    pub fn listener_ports(&self) -> Vec<(String, u16)> {
        let mut ports: Vec<_> = self.listeners.iter().map(|l| (l.listener_protocol.clone(), l.listener_port)).collect();
        ports.sort();
        ports
    }
}

/// A listener of a fake CLB instance.
#[derive(Debug, Clone, Deserialize)]
pub struct FakeListener {
    /// Frontend port.
    pub listener_port: u16,
    /// `tcp`, `udp`, `http`, `https`.
    pub listener_protocol: String,
    /// `running` or `stopped`.
    pub status: String,
    /// Bound vServer group, empty when none.
    #[serde(default)]
    pub vserver_group_id: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Every other attribute under its API response name (`HealthCheckType`, `HealthCheckURI`, ...).
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

impl FakeListener {
    /// Attribute `name` as text (numbers are printed), if set.
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.attributes.get(name).and_then(|v| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        })
    }
}

/// A vServer group of the fake.
#[derive(Debug, Clone, Deserialize)]
pub struct FakeVServerGroup {
    /// `rsp-...`.
    pub vserver_group_id: String,
    /// Name.
    pub vserver_group_name: String,
    /// Owning CLB instance.
    pub load_balancer_id: String,
    /// Backends in insertion order.
    #[serde(default)]
    pub backends: Vec<FakeBackend>,
}

impl FakeVServerGroup {
    /// `(server id, port, weight)` of every backend, sorted.
    pub fn backend_set(&self) -> Vec<(String, u16, u8)> {
        let mut set: Vec<_> = self.backends.iter().map(|b| (b.server_id.clone(), b.port, b.weight)).collect();
        set.sort();
        set
    }
}

/// A backend server of a fake vServer group.
#[derive(Debug, Clone, Deserialize)]
pub struct FakeBackend {
    /// Instance (or ENI) id.
    pub server_id: String,
    /// Backend port.
    pub port: u16,
    /// Weight.
    pub weight: u8,
    /// `ecs`, `eni`, `eci`.
    #[serde(default)]
    pub server_type: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize)]
struct RawVSwitch {
    cidr_block: String,
}

#[derive(Debug, Default, Deserialize)]
struct RawSlb {
    #[serde(default)]
    load_balancers: BTreeMap<String, FakeLoadBalancer>,
    #[serde(default)]
    vserver_groups: BTreeMap<String, FakeVServerGroup>,
}

/// The SLB part of one `/_fake/state` snapshot, plus the vSwitch CIDRs.
#[derive(Debug, Clone, Default)]
pub struct SlbSnapshot {
    /// CLB instances by id.
    pub load_balancers: BTreeMap<String, FakeLoadBalancer>,
    /// vServer groups by id.
    pub vserver_groups: BTreeMap<String, FakeVServerGroup>,
    /// IPv4 CIDR of every vSwitch, by id.
    pub vswitch_cidrs: BTreeMap<String, String>,
}

impl SlbSnapshot {
    /// Reads a snapshot from the JSON of `/_fake/state`.
    pub fn from_state(state: &serde_json::Value) -> Result<Self> {
        let format = |what: &str, e: serde_json::Error| Error::Format {
            context: format!("/_fake/state {what}"),
            message: e.to_string(),
        };
        let slb: RawSlb = match state.get("slb") {
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| format("slb", e))?,
            None => RawSlb::default(),
        };
        let vswitches: BTreeMap<String, RawVSwitch> = match state.get("vswitches") {
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| format("vswitches", e))?,
            None => BTreeMap::new(),
        };
        Ok(SlbSnapshot {
            load_balancers: slb.load_balancers,
            vserver_groups: slb.vserver_groups,
            vswitch_cidrs: vswitches.into_iter().map(|(id, v)| (id, v.cidr_block)).collect(),
        })
    }

    /// The load balancer `id`.
    pub fn load_balancer(&self, id: &str) -> Option<&FakeLoadBalancer> {
        self.load_balancers.get(id)
    }

    /// Load balancers carrying tag `key=value`.
    pub fn tagged(&self, key: &str, value: &str) -> Vec<&FakeLoadBalancer> {
        self.load_balancers.values().filter(|lb| lb.tag(key) == Some(value)).collect()
    }

    /// Load balancers named `name`.
    pub fn named(&self, name: &str) -> Vec<&FakeLoadBalancer> {
        self.load_balancers.values().filter(|lb| lb.load_balancer_name == name).collect()
    }

    /// The vServer group `id`.
    pub fn group(&self, id: &str) -> Option<&FakeVServerGroup> {
        self.vserver_groups.get(id)
    }

    /// The vServer groups of load balancer `load_balancer_id`.
    pub fn groups_of(&self, load_balancer_id: &str) -> Vec<&FakeVServerGroup> {
        self.vserver_groups.values().filter(|g| g.load_balancer_id == load_balancer_id).collect()
    }

    /// The vServer group of `load_balancer_id` named `name`.
    pub fn group_named(&self, load_balancer_id: &str, name: &str) -> Option<&FakeVServerGroup> {
        self.groups_of(load_balancer_id).into_iter().find(|g| g.vserver_group_name == name)
    }
}

/// One logged API call (`calls[]` of `/_fake/calls`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FakeCall {
    /// Sequence number since the fake started.
    pub seq: u64,
    /// `Ecs`, `Vpc`, `Slb`, `Sts`.
    pub product: String,
    /// Action name.
    pub action: String,
    /// HTTP status answered.
    pub status: u16,
    /// Error code answered, if any.
    #[serde(default)]
    pub code: Option<String>,
    /// Request parameters (without signature parameters).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// The call log of `/_fake/calls` since the last reset.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FakeCallLog {
    /// Calls since the last reset.
    pub total: u64,
    /// Calls per action since the last reset.
    #[serde(default)]
    pub by_action: BTreeMap<String, u64>,
    /// The latest calls, oldest first.
    #[serde(default)]
    pub calls: Vec<FakeCall>,
}

/// Whether an SLB action only reads.
pub fn is_read_action(action: &str) -> bool {
    action.starts_with("Describe") || action.starts_with("List")
}

impl FakeCallLog {
    /// The SLB calls.
    pub fn slb(&self) -> impl Iterator<Item = &FakeCall> {
        self.calls.iter().filter(|c| c.product == "Slb")
    }

    /// How many SLB calls of each action (reads and writes).
    pub fn slb_counts(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for c in self.slb() {
            *counts.entry(c.action.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// How many SLB calls of each action that changes something.
    pub fn slb_writes(&self) -> BTreeMap<String, u64> {
        self.slb_counts().into_iter().filter(|(a, _)| !is_read_action(a)).collect()
    }
}

/// Whether `ip` is an IPv4 address inside `cidr` (`a.b.c.d/n`).
pub fn ipv4_in_cidr(ip: &str, cidr: &str) -> bool {
    let Some((net, len)) = cidr.split_once('/') else { return false };
    let (Ok(ip), Ok(net), Ok(len)) = (ip.parse::<Ipv4Addr>(), net.parse::<Ipv4Addr>(), len.parse::<u32>()) else {
        return false;
    };
    if len > 32 {
        return false;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(ip) & mask == u32::from(net) & mask
}

impl Stack {
    /// The fake's CLB resources and vSwitch CIDRs now.
    pub async fn slb_state(&self) -> Result<SlbSnapshot> {
        SlbSnapshot::from_state(&self.fake_state().await?)
    }

    /// The fake's call log since the last reset (`Stack::reset_fake_calls`), typed.
    pub async fn fake_call_log(&self) -> Result<FakeCallLog> {
        let value = self.fake_admin_get("calls").await?;
        serde_json::from_value(value)
            .map_err(|e| Error::Format { context: "/_fake/calls".into(), message: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_membership() {
        assert!(ipv4_in_cidr("192.168.1.7", "192.168.1.0/24"));
        assert!(!ipv4_in_cidr("192.168.0.7", "192.168.1.0/24"));
        assert!(ipv4_in_cidr("10.1.2.3", "0.0.0.0/0"));
        assert!(!ipv4_in_cidr("not-an-ip", "192.168.1.0/24"));
        assert!(!ipv4_in_cidr("192.168.1.7", "192.168.1.0"));
    }

    #[test]
    fn snapshot_reads_the_state_dump_shape() {
        let state = serde_json::json!({
            "vswitches": {"vsw-1": {"vswitch_id": "vsw-1", "cidr_block": "192.168.1.0/24"}},
            "slb": {
                "load_balancers": {"lb-1": {
                    "load_balancer_id": "lb-1", "load_balancer_name": "a1", "load_balancer_status": "active",
                    "address": "198.18.0.1", "address_type": "internet", "delete_protection": "on",
                    "tags": [{"key": "k", "value": "v"}],
                    "listeners": [{"listener_port": 80, "listener_protocol": "tcp", "status": "running",
                                   "vserver_group_id": "rsp-1", "description": "d",
                                   "attributes": {"HealthCheckConnectPort": 31000}}]
                }},
                "vserver_groups": {"rsp-1": {"vserver_group_id": "rsp-1", "vserver_group_name": "g",
                    "load_balancer_id": "lb-1",
                    "backends": [{"server_id": "i-2", "port": 30080, "weight": 100, "server_type": "ecs",
                                  "description": "g"},
                                 {"server_id": "i-1", "port": 30080, "weight": 3}]}}
            }
        });
        let slb = SlbSnapshot::from_state(&state).unwrap_or_default();
        let lb = slb.tagged("k", "v")[0];
        assert_eq!(lb.load_balancer_id, "lb-1");
        let listener = lb.listener(80, "tcp").map(|l| l.attribute("HealthCheckConnectPort"));
        assert_eq!(listener, Some(Some("31000".to_string())));
        let group = slb.group_named("lb-1", "g").map(FakeVServerGroup::backend_set).unwrap_or_default();
        assert_eq!(group, vec![("i-1".to_string(), 30080, 3), ("i-2".to_string(), 30080, 100)]);
        assert_eq!(slb.vswitch_cidrs["vsw-1"], "192.168.1.0/24");
    }

    #[test]
    fn call_log_separates_slb_writes() {
        let log: FakeCallLog = serde_json::from_value(serde_json::json!({
            "total": 3, "byAction": {}, "byCode": {},
            "calls": [
                {"seq": 1, "at": "", "product": "Slb", "action": "DescribeVServerGroups", "accessKeyId": "",
                 "status": 200, "code": null, "params": {}},
                {"seq": 2, "at": "", "product": "Slb", "action": "AddVServerGroupBackendServers",
                 "accessKeyId": "", "status": 200, "code": null, "params": {"VServerGroupId": "rsp-1"}},
                {"seq": 3, "at": "", "product": "Ecs", "action": "DescribeInstances", "accessKeyId": "",
                 "status": 200, "code": null, "params": {}}
            ]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(log.slb_writes(), BTreeMap::from([("AddVServerGroupBackendServers".to_string(), 1)]));
        assert_eq!(log.slb_counts().len(), 2);
    }
}

/// An access control list of the fake (field names as in `/_fake/state`).
#[derive(Debug, Clone, Deserialize)]
pub struct FakeAcl {
    /// `acl-...`.
    pub acl_id: String,
    /// Name.
    pub acl_name: String,
    /// Entries in insertion order.
    #[serde(default)]
    pub entries: Vec<FakeAclEntry>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<FakeTag>,
}

impl FakeAcl {
    /// The entries (CIDR blocks), sorted.
    pub fn entry_set(&self) -> Vec<String> {
        let mut entries: Vec<String> = self.entries.iter().map(|e| e.entry.clone()).collect();
        entries.sort();
        entries
    }

    /// The value of tag `key`, if set.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
}

/// One entry of a fake ACL.
#[derive(Debug, Clone, Deserialize)]
pub struct FakeAclEntry {
    /// CIDR block.
    pub entry: String,
}

/// The access control binding of a fake listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct FakeListenerAcl {
    /// Bound ACL, empty when none.
    #[serde(default)]
    pub acl_id: String,
    /// `white` / `black`, empty when unset.
    #[serde(default)]
    pub acl_type: String,
    /// `on` / `off`.
    #[serde(default)]
    pub acl_status: String,
}

/// The fake's ACLs and the ACL binding of every listener.
#[derive(Debug, Clone, Default)]
pub struct AclSnapshot {
    /// ACLs by id.
    pub acls: BTreeMap<String, FakeAcl>,
    /// `(load balancer id, port, protocol)` → binding.
    pub listeners: BTreeMap<(String, u16, String), FakeListenerAcl>,
}

impl AclSnapshot {
    /// Reads the ACL part of a `/_fake/state` snapshot.
    pub fn from_state(state: &serde_json::Value) -> Result<Self> {
        let format = |what: &str, e: serde_json::Error| Error::Format {
            context: format!("/_fake/state {what}"),
            message: e.to_string(),
        };
        let slb = state.get("slb").cloned().unwrap_or_default();
        let acls: BTreeMap<String, FakeAcl> = match slb.get("acls") {
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| format("slb.acls", e))?,
            None => BTreeMap::new(),
        };
        let mut listeners = BTreeMap::new();
        for (lb_id, lb) in slb.get("load_balancers").and_then(|v| v.as_object()).into_iter().flatten() {
            for l in lb.get("listeners").and_then(|v| v.as_array()).into_iter().flatten() {
                let port = l.get("listener_port").and_then(serde_json::Value::as_u64).unwrap_or_default();
                let protocol = l.get("listener_protocol").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                let binding: FakeListenerAcl =
                    serde_json::from_value(l.clone()).map_err(|e| format("slb listener", e))?;
                listeners.insert((lb_id.clone(), u16::try_from(port).unwrap_or_default(), protocol), binding);
            }
        }
        Ok(AclSnapshot { acls, listeners })
    }

    /// ACLs named `name`.
    pub fn named(&self, name: &str) -> Vec<&FakeAcl> {
        self.acls.values().filter(|a| a.acl_name == name).collect()
    }

    /// The binding of listener `port/protocol` of `load_balancer_id`.
    pub fn listener(&self, load_balancer_id: &str, port: u16, protocol: &str) -> Option<&FakeListenerAcl> {
        self.listeners.get(&(load_balancer_id.to_owned(), port, protocol.to_owned()))
    }
}

impl Stack {
    /// The fake's ACLs and listener ACL bindings now.
    pub async fn acl_state(&self) -> Result<AclSnapshot> {
        AclSnapshot::from_state(&self.fake_state().await?)
    }
}
