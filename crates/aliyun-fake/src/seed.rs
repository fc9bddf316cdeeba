//! The seed: a YAML or JSON description of the region the fake starts with
//! (accounts, VPCs, vSwitches, route tables, instances, EIPs, faults), and
//! how it becomes a [`CloudState`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::FakeError;
use crate::faults::FaultConfig;
use crate::net::Cidr4;
use crate::state::{
    AccessKey, CloudState, Eip, Instance, NetworkInterface, RouteEntry, RouteTable, Tag, VSwitch, Vpc,
    initial_free_count,
};

/// The whole seed file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Region id.
    #[serde(default = "default_region")]
    pub region: String,
    /// Main account id (owner of every resource).
    #[serde(default = "default_account")]
    pub account_id: String,
    /// Long-term access keys accepted.
    #[serde(default)]
    pub access_keys: Vec<SeedAccessKey>,
    /// How long new route entries stay `Pending`, in milliseconds (default 2000).
    #[serde(default)]
    pub route_entry_delay_ms: Option<u64>,
    /// Custom route entries per route table (default 200).
    #[serde(default)]
    pub route_entry_quota: Option<usize>,
    /// VPCs with their vSwitches and route tables.
    #[serde(default)]
    pub vpcs: Vec<SeedVpc>,
    /// ECS instances.
    #[serde(default)]
    pub instances: Vec<SeedInstance>,
    /// Unassociated EIPs.
    #[serde(default)]
    pub eips: Vec<SeedEip>,
    /// Faults active from the start.
    #[serde(default)]
    pub faults: FaultConfig,
    /// Classic Load Balancer resources present from the start.
    #[serde(default)]
    pub slb: SeedSlb,
}

/// SLB (CLB) part of the seed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSlb {
    /// Server certificates, as if uploaded.
    #[serde(default)]
    pub certificates: Vec<SeedCertificate>,
}

/// A server certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCertificate {
    /// Fixed id (generated when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Certificate name.
    pub name: String,
    /// Subject common name.
    pub common_name: String,
    /// Subject alternative names.
    #[serde(default)]
    pub subject_alternative_names: Vec<String>,
    /// Expiry in epoch milliseconds (default: one year from start).
    #[serde(default)]
    pub expire_time_stamp_ms: Option<i64>,
}

impl SeedCertificate {
    fn to_slb(&self) -> crate::slb::CertificateSeed {
        let mut seed = crate::slb::CertificateSeed::new(self.name.clone(), self.common_name.clone())
            .with_sans(self.subject_alternative_names.clone());
        if let Some(id) = &self.id {
            seed = seed.with_id(id.clone());
        }
        if let Some(ms) = self.expire_time_stamp_ms {
            seed = seed.expiring_at(ms);
        }
        seed
    }
}

/// An access key pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAccessKey {
    /// AccessKeyId.
    pub id: String,
    /// AccessKeySecret.
    pub secret: String,
}

/// A VPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedVpc {
    /// `vpc-...` (generated when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// IPv4 CIDR block.
    pub cidr: String,
    /// IPv6 CIDR block, if IPv6 is enabled.
    #[serde(default)]
    pub ipv6_cidr: Option<String>,
    /// vSwitches.
    #[serde(default)]
    pub vswitches: Vec<SeedVSwitch>,
    /// Route tables; a system table is added when none is listed.
    #[serde(default)]
    pub route_tables: Vec<SeedRouteTable>,
}

/// A vSwitch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedVSwitch {
    /// `vsw-...` (generated when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Zone id.
    pub zone: String,
    /// IPv4 CIDR block inside the VPC's.
    pub cidr: String,
    /// IPv6 CIDR block.
    #[serde(default)]
    pub ipv6_cidr: Option<String>,
}

/// A route table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRouteTable {
    /// `vtb-...` (generated when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `System` (one per VPC) or `Custom`.
    #[serde(rename = "type", default = "default_table_type")]
    pub table_type: String,
    /// vSwitches bound to this custom table.
    #[serde(default)]
    pub vswitches: Vec<String>,
    /// Custom routes present from the start (status `Available`).
    #[serde(default)]
    pub routes: Vec<SeedRoute>,
}

/// A custom route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRoute {
    /// Destination CIDR block.
    pub destination: String,
    /// Next hop id (an instance id).
    pub next_hop: String,
    /// Next hop type (default `Instance`).
    #[serde(default = "default_next_hop_type")]
    pub next_hop_type: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

/// An ECS instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedInstance {
    /// `i-...` (generated when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Instance name (default: the host name).
    #[serde(default)]
    pub name: Option<String>,
    /// Host name (default: the id).
    #[serde(default)]
    pub hostname: Option<String>,
    /// vSwitch id (default: the first vSwitch).
    #[serde(default)]
    pub vswitch: Option<String>,
    /// Instance type.
    #[serde(rename = "type", default = "default_instance_type")]
    pub instance_type: String,
    /// `Running` (default), `Stopped`, ...
    #[serde(default = "default_status")]
    pub status: String,
    /// Primary private IPv4 (default: next free in the vSwitch).
    #[serde(default)]
    pub private_ip: Option<String>,
    /// Give the instance a public address from the pool.
    #[serde(default)]
    pub public_ip: bool,
    /// Associate a new EIP with the instance.
    #[serde(default)]
    pub eip: bool,
    /// IPv6 addresses of the primary ENI.
    #[serde(default)]
    pub ipv6: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// RAM role served by the metadata server.
    #[serde(default)]
    pub ram_role: Option<String>,
    /// vCPUs.
    #[serde(default = "default_cpu")]
    pub cpu: u32,
    /// Memory in MiB.
    #[serde(default = "default_memory")]
    pub memory: u32,
}

/// An unassociated EIP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedEip {
    /// `eip-...` (generated when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: String,
}

fn default_region() -> String {
    "cn-hangzhou".into()
}
fn default_account() -> String {
    "1234567890123456".into()
}
fn default_table_type() -> String {
    "Custom".into()
}
fn default_next_hop_type() -> String {
    "Instance".into()
}
fn default_instance_type() -> String {
    "ecs.g7.large".into()
}
fn default_status() -> String {
    "Running".into()
}
fn default_cpu() -> u32 {
    2
}
fn default_memory() -> u32 {
    8192
}

/// The default seed as YAML (what `--print-default-seed` prints).
pub const DEFAULT_SEED_YAML: &str = include_str!("../examples/seed.yaml");

impl Seed {
    /// The default region: `cn-hangzhou`, one VPC, two vSwitches in two
    /// zones, one system route table, three running instances, key `fake-ak`.
    pub fn default_seed() -> Self {
        // The checked-in example is the default; it is covered by a test.
        Self::parse(DEFAULT_SEED_YAML).unwrap_or_else(|_| Self::minimal())
    }

    fn minimal() -> Self {
        Self {
            region: default_region(),
            account_id: default_account(),
            access_keys: vec![SeedAccessKey { id: "fake-ak".into(), secret: "fake-secret".into() }],
            route_entry_delay_ms: None,
            route_entry_quota: None,
            vpcs: Vec::new(),
            instances: Vec::new(),
            eips: Vec::new(),
            faults: FaultConfig::default(),
            slb: SeedSlb::default(),
        }
    }

    /// Parses YAML (JSON is valid YAML, so both work).
    pub fn parse(text: &str) -> Result<Self, FakeError> {
        serde_yaml_ng::from_str(text).map_err(|e| FakeError::SeedParse(e.to_string()))
    }

    /// Reads and parses a seed file.
    pub fn load(path: &std::path::Path) -> Result<Self, FakeError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| FakeError::SeedRead { path: path.display().to_string(), source })?;
        Self::parse(&text)
    }

    /// Builds the region this seed describes.
    pub fn build(&self) -> Result<CloudState, FakeError> {
        let mut state = CloudState::empty(&self.region);
        state.account_id = self.account_id.clone();
        if let Some(ms) = self.route_entry_delay_ms {
            state.behaviour.route_entry_delay = Duration::from_millis(ms);
        }
        if let Some(q) = self.route_entry_quota {
            state.behaviour.route_entry_quota = q;
        }
        for key in &self.access_keys {
            add_access_key(&mut state, &key.id, &key.secret);
        }
        let mut routes = Vec::new();
        for vpc in &self.vpcs {
            routes.extend(build_vpc(&mut state, vpc)?);
        }
        for instance in &self.instances {
            add_instance(&mut state, instance)?;
        }
        for (table_id, route) in routes {
            add_seed_route(&mut state, &table_id, &route)?;
        }
        for eip in &self.eips {
            let id = eip.id.clone().unwrap_or_else(|| state.ids.next("eip-bp1"));
            let eip = new_eip(&mut state, id, eip.name.clone());
            state.eips.insert(eip.allocation_id.clone(), eip);
        }
        for cert in &self.slb.certificates {
            state.slb.seed_certificate(&mut state.ids, cert.to_slb());
        }
        let zones: BTreeSet<String> = state.vswitches.values().map(|v| v.zone_id.clone()).collect();
        state.zones = zones.into_iter().collect();
        Ok(state)
    }
}

/// Adds (or replaces) a long-term access key of the main account.
pub fn add_access_key(state: &mut CloudState, id: &str, secret: &str) {
    let key = AccessKey {
        access_key_id: id.to_string(),
        access_key_secret: secret.to_string(),
        account_id: state.account_id.clone(),
    };
    state.access_keys.insert(id.to_string(), key);
}

fn invalid(msg: String) -> FakeError {
    FakeError::SeedInvalid(msg)
}

fn build_vpc(state: &mut CloudState, seed: &SeedVpc) -> Result<Vec<(String, SeedRoute)>, FakeError> {
    let cidr = Cidr4::parse(&seed.cidr).ok_or_else(|| invalid(format!("VPC CIDR {:?} is malformed", seed.cidr)))?;
    let vpc_id = seed.id.clone().unwrap_or_else(|| state.ids.next("vpc-bp1"));
    let vrouter_id = state.ids.next("vrt-bp1");
    let now = state.timestamp();
    state.vpcs.insert(
        vpc_id.clone(),
        Vpc {
            vpc_id: vpc_id.clone(),
            vpc_name: seed.name.clone(),
            cidr_block: cidr.to_string(),
            ipv6_cidr_block: seed.ipv6_cidr.clone().unwrap_or_default(),
            status: "Available".into(),
            vrouter_id: vrouter_id.clone(),
            is_default: false,
            description: String::new(),
            creation_time: now.clone(),
            tags: Vec::new(),
        },
    );
    let mut tables = seed.route_tables.clone();
    if !tables.iter().any(|t| t.table_type == "System") {
        tables.insert(0, system_table_seed());
    }
    let mut table_ids = Vec::new();
    let mut routes = Vec::new();
    for table in &tables {
        let id = add_route_table(state, &vpc_id, &vrouter_id, table)?;
        routes.extend(table.routes.iter().map(|r| (id.clone(), r.clone())));
        table_ids.push(id);
    }
    for vsw in &seed.vswitches {
        add_vswitch(state, &vpc_id, cidr, vsw)?;
    }
    bind_vswitches(state, &vpc_id, &tables, &table_ids)?;
    add_system_routes(state, &vpc_id);
    Ok(routes)
}

fn system_table_seed() -> SeedRouteTable {
    SeedRouteTable {
        id: None,
        name: String::new(),
        table_type: "System".into(),
        vswitches: Vec::new(),
        routes: Vec::new(),
    }
}

fn add_route_table(
    state: &mut CloudState,
    vpc_id: &str,
    vrouter_id: &str,
    seed: &SeedRouteTable,
) -> Result<String, FakeError> {
    if seed.table_type != "System" && seed.table_type != "Custom" {
        return Err(invalid(format!("route table type {:?} is not System or Custom", seed.table_type)));
    }
    let id = seed.id.clone().unwrap_or_else(|| state.ids.next("vtb-bp1"));
    let table = RouteTable {
        route_table_id: id.clone(),
        route_table_name: seed.name.clone(),
        route_table_type: seed.table_type.clone(),
        vpc_id: vpc_id.to_string(),
        router_id: vrouter_id.to_string(),
        vswitch_ids: Vec::new(),
        description: String::new(),
        creation_time: state.timestamp(),
        entries: Vec::new(),
    };
    state.route_tables.insert(id.clone(), table);
    Ok(id)
}

fn add_vswitch(state: &mut CloudState, vpc_id: &str, vpc_cidr: Cidr4, seed: &SeedVSwitch) -> Result<(), FakeError> {
    let cidr = Cidr4::parse(&seed.cidr).ok_or_else(|| invalid(format!("vSwitch CIDR {:?} is malformed", seed.cidr)))?;
    if !vpc_cidr.contains(cidr) {
        return Err(invalid(format!("vSwitch CIDR {cidr} is outside VPC CIDR {vpc_cidr}")));
    }
    if let Some(other) = state
        .vswitches
        .values()
        .filter(|v| v.vpc_id == vpc_id)
        .find(|v| Cidr4::parse(&v.cidr_block).is_some_and(|c| c.overlaps(cidr)))
    {
        return Err(invalid(format!("vSwitch CIDR {cidr} overlaps {}", other.vswitch_id)));
    }
    let id = seed.id.clone().unwrap_or_else(|| state.ids.next("vsw-bp1"));
    let vsw = VSwitch {
        vswitch_id: id.clone(),
        vswitch_name: seed.name.clone(),
        vpc_id: vpc_id.to_string(),
        zone_id: seed.zone.clone(),
        cidr_block: cidr.to_string(),
        ipv6_cidr_block: seed.ipv6_cidr.clone().unwrap_or_default(),
        status: "Available".into(),
        available_ip_address_count: initial_free_count(cidr),
        route_table_id: String::new(),
        is_default: false,
        description: String::new(),
        creation_time: state.timestamp(),
        tags: Vec::new(),
        used_offsets: BTreeSet::new(),
    };
    state.vswitches.insert(id, vsw);
    Ok(())
}

fn bind_vswitches(
    state: &mut CloudState,
    vpc_id: &str,
    tables: &[SeedRouteTable],
    table_ids: &[String],
) -> Result<(), FakeError> {
    let system_id = tables
        .iter()
        .zip(table_ids)
        .find(|(t, _)| t.table_type == "System")
        .map(|(_, id)| id.clone())
        .unwrap_or_default();
    let vswitch_ids: Vec<String> =
        state.vswitches.values().filter(|v| v.vpc_id == vpc_id).map(|v| v.vswitch_id.clone()).collect();
    for id in &vswitch_ids {
        let bound = tables
            .iter()
            .zip(table_ids)
            .find(|(t, _)| t.table_type == "Custom" && t.vswitches.contains(id))
            .map(|(_, tid)| tid.clone());
        let table_id = bound.unwrap_or_else(|| system_id.clone());
        if let Some(v) = state.vswitches.get_mut(id) {
            v.route_table_id = table_id.clone();
        }
        if let Some(t) = state.route_tables.get_mut(&table_id) {
            t.vswitch_ids.push(id.clone());
        }
    }
    for (t, _) in tables.iter().zip(table_ids) {
        if let Some(unknown) = t.vswitches.iter().find(|v| !vswitch_ids.contains(v)) {
            return Err(invalid(format!("route table binds unknown vSwitch {unknown}")));
        }
    }
    Ok(())
}

/// Adds the system routes every table of a VPC carries: one `local` route
/// per vSwitch CIDR and the cloud service range 100.64.0.0/10.
fn add_system_routes(state: &mut CloudState, vpc_id: &str) {
    let mut cidrs: Vec<(String, &str)> = Vec::new();
    for v in state.vswitches.values().filter(|v| v.vpc_id == vpc_id) {
        cidrs.push((v.cidr_block.clone(), "ipv4"));
        if !v.ipv6_cidr_block.is_empty() {
            cidrs.push((v.ipv6_cidr_block.clone(), "ipv6"));
        }
    }
    let now = state.timestamp();
    let table_ids: Vec<String> =
        state.route_tables.values().filter(|t| t.vpc_id == vpc_id).map(|t| t.route_table_id.clone()).collect();
    for table_id in table_ids {
        let mut entries = Vec::new();
        for (cidr, version) in &cidrs {
            entries.push(system_entry(state, cidr, "local", version, &now));
        }
        entries.push(system_entry(state, "100.64.0.0/10", "service", "ipv4", &now));
        if let Some(t) = state.route_tables.get_mut(&table_id) {
            t.entries.extend(entries);
        }
    }
}

fn system_entry(state: &mut CloudState, cidr: &str, hop: &str, version: &str, now: &str) -> RouteEntry {
    RouteEntry {
        route_entry_id: state.ids.next("rte-bp1"),
        route_entry_name: String::new(),
        destination_cidr_block: cidr.to_string(),
        entry_type: "System".into(),
        status: "Available".into(),
        next_hop_type: hop.to_string(),
        next_hop_id: String::new(),
        ip_version: version.to_string(),
        description: String::new(),
        gmt_modified: now.to_string(),
        settles_at: None,
    }
}

fn add_seed_route(state: &mut CloudState, table_id: &str, route: &SeedRoute) -> Result<(), FakeError> {
    let id = state.ids.next("rte-bp1");
    let now = state.timestamp();
    let version = if route.destination.contains(':') { "ipv6" } else { "ipv4" };
    let table =
        state.route_tables.get_mut(table_id).ok_or_else(|| invalid(format!("unknown route table {table_id}")))?;
    table.entries.push(RouteEntry {
        route_entry_id: id,
        route_entry_name: route.name.clone(),
        destination_cidr_block: route.destination.clone(),
        entry_type: "Custom".into(),
        status: "Available".into(),
        next_hop_type: route.next_hop_type.clone(),
        next_hop_id: route.next_hop.clone(),
        ip_version: version.into(),
        description: route.description.clone(),
        gmt_modified: now,
        settles_at: None,
    });
    Ok(())
}

fn new_eip(state: &mut CloudState, id: String, name: String) -> Eip {
    Eip {
        allocation_id: id,
        ip_address: state.allocate_public_ip(),
        name,
        status: "Available".into(),
        instance_id: None,
        instance_type: None,
        bandwidth: "5".into(),
        internet_charge_type: "PayByTraffic".into(),
        allocation_time: state.timestamp(),
    }
}

/// Adds an instance (with its primary ENI, addresses and EIP) to the region.
/// Used by the seed and by the admin API.
pub fn add_instance(state: &mut CloudState, seed: &SeedInstance) -> Result<String, FakeError> {
    let vsw = vswitch_or_first(state, seed.vswitch.as_ref(), "instance")?;
    let vswitch_id = vsw.vswitch_id.clone();
    let id = seed.id.clone().unwrap_or_else(|| state.ids.next("i-bp1"));
    if state.instances.contains_key(&id) {
        return Err(invalid(format!("instance {id} already exists")));
    }
    let private_ip = take_private_ip(state, &vswitch_id, seed.private_ip.as_ref(), &format!("instance {id}"))?;
    let now = state.timestamp();
    let tags: Vec<Tag> = seed.tags.iter().map(|(k, v)| Tag { key: k.clone(), value: v.clone() }).collect();
    let eni = EniPlacement { vsw: &vsw, private_ip: &private_ip, instance_id: Some(&id), ipv6: &seed.ipv6 };
    let eni_id = insert_eni(state, eni, "Primary", "");
    let public_ip = seed.public_ip.then(|| state.allocate_public_ip());
    let eip_allocation_id = if seed.eip {
        let eip_id = state.ids.next("eip-bp1");
        let mut eip = new_eip(state, eip_id.clone(), String::new());
        eip.status = "InUse".into();
        eip.instance_id = Some(id.clone());
        eip.instance_type = Some("EcsInstance".into());
        state.eips.insert(eip_id.clone(), eip);
        Some(eip_id)
    } else {
        None
    };
    let hostname = seed.hostname.clone().unwrap_or_else(|| id.clone());
    let instance = Instance {
        instance_id: id.clone(),
        instance_name: seed.name.clone().unwrap_or_else(|| hostname.clone()),
        host_name: hostname,
        zone_id: vsw.zone_id.clone(),
        instance_type: seed.instance_type.clone(),
        status: seed.status.clone(),
        vpc_id: vsw.vpc_id.clone(),
        vswitch_id,
        private_ip,
        public_ip,
        eip_allocation_id,
        primary_eni_id: eni_id,
        cpu: seed.cpu,
        memory: seed.memory,
        image_id: "aliyun_3_x64_20G_alibase_20240819.vhd".into(),
        os_type: "linux".into(),
        instance_charge_type: "PostPaid".into(),
        ram_role_name: seed.ram_role.clone(),
        creation_time: now,
        tags,
    };
    state.instances.insert(id.clone(), instance);
    state.instance_order.push(id.clone());
    Ok(id)
}

/// A network interface of its own, not an instance's primary one: what an ECI pod (on a virtual-kubelet node)
/// or a Terway secondary ENI looks like to `DescribeNetworkInterfaces`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedEni {
    /// vSwitch id (default: the first vSwitch).
    #[serde(default)]
    pub vswitch: Option<String>,
    /// Primary private IPv4 (default: next free in the vSwitch).
    #[serde(default)]
    pub private_ip: Option<String>,
    /// Description (an ECI's ENI names its container group there).
    #[serde(default)]
    pub description: String,
}

/// Adds a free-standing `Secondary` ENI, in use, attached to no ECS instance. Returns its id and address.
pub fn add_eni(state: &mut CloudState, seed: &SeedEni) -> Result<(String, String), FakeError> {
    let vsw = vswitch_or_first(state, seed.vswitch.as_ref(), "ENI")?;
    let private_ip = take_private_ip(state, &vsw.vswitch_id, seed.private_ip.as_ref(), "ENI")?;
    let eni = EniPlacement { vsw: &vsw, private_ip: &private_ip, instance_id: None, ipv6: &[] };
    let eni_id = insert_eni(state, eni, "Secondary", &seed.description);
    Ok((eni_id, private_ip))
}

/// The vSwitch named, else the region's first; `what` names the resource asking, for errors.
fn vswitch_or_first(state: &CloudState, named: Option<&String>, what: &str) -> Result<VSwitch, FakeError> {
    let vswitch_id = match named {
        Some(v) => v.clone(),
        None => state
            .vswitches
            .keys()
            .next()
            .cloned()
            .ok_or_else(|| invalid(format!("an {what} needs a vSwitch, and there is none")))?,
    };
    state.vswitch(&vswitch_id).cloned().ok_or_else(|| invalid(format!("{what} refers to unknown vSwitch {vswitch_id}")))
}

/// Claims `wanted` in the vSwitch, or the next free address when none is asked for.
fn take_private_ip(
    state: &mut CloudState,
    vswitch_id: &str,
    wanted: Option<&String>,
    what: &str,
) -> Result<String, FakeError> {
    match wanted {
        Some(ip) => {
            state.claim_private_ip(vswitch_id, ip).map_err(|f| invalid(format!("{what}: {}", f.message)))?;
            Ok(ip.clone())
        }
        None => state.allocate_private_ip(vswitch_id).map_err(|f| invalid(format!("{what}: {}", f.message))),
    }
}

/// Where a new ENI sits and what it holds.
struct EniPlacement<'a> {
    vsw: &'a VSwitch,
    private_ip: &'a str,
    instance_id: Option<&'a str>,
    ipv6: &'a [String],
}

/// Inserts an in-use ENI of the given type; returns its id.
fn insert_eni(state: &mut CloudState, at: EniPlacement<'_>, eni_type: &str, description: &str) -> String {
    let eni_id = state.ids.next("eni-bp1");
    let mac = fake_mac(state.ids.next_number());
    let now = state.timestamp();
    state.enis.insert(
        eni_id.clone(),
        NetworkInterface {
            network_interface_id: eni_id.clone(),
            network_interface_name: String::new(),
            eni_type: eni_type.into(),
            status: "InUse".into(),
            vpc_id: at.vsw.vpc_id.clone(),
            vswitch_id: at.vsw.vswitch_id.clone(),
            zone_id: at.vsw.zone_id.clone(),
            instance_id: at.instance_id.map(str::to_owned),
            mac_address: mac,
            private_ip: at.private_ip.to_owned(),
            secondary_private_ips: Vec::new(),
            ipv6_addresses: at.ipv6.to_vec(),
            security_group_ids: vec!["sg-bp1fakesecuritygroup01".into()],
            description: description.into(),
            creation_time: now,
            tags: Vec::new(),
        },
    );
    eni_id
}

/// A MAC address in Alibaba Cloud's `00:16:3e` range.
fn fake_mac(n: u64) -> String {
    let b = n.to_be_bytes();
    format!("00:16:3e:{:02x}:{:02x}:{:02x}", b[5], b[6], b[7])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_seed_matches_the_contract() {
        let seed = Seed::parse(DEFAULT_SEED_YAML).expect("examples/seed.yaml parses");
        assert_eq!(seed, Seed::default_seed());
        let state = seed.build().expect("default seed builds");
        assert_eq!(state.region_id, "cn-hangzhou");
        assert_eq!(state.vpcs.len(), 1);
        assert_eq!(state.vpcs.values().next().unwrap().cidr_block, "192.168.0.0/16");
        assert_eq!(state.vswitches.len(), 2);
        let zones: BTreeSet<&str> = state.vswitches.values().map(|v| v.zone_id.as_str()).collect();
        assert_eq!(zones, BTreeSet::from(["cn-hangzhou-h", "cn-hangzhou-i"]));
        assert_eq!(state.route_tables.len(), 1);
        assert_eq!(state.route_tables.values().next().unwrap().route_table_type, "System");
        assert_eq!(state.instances.len(), 3);
        assert!(state.instances.values().all(|i| i.status == "Running"));
        assert_eq!(state.access_keys["fake-ak"].access_key_secret, "fake-secret");
    }

    #[test]
    fn vswitches_use_the_system_table_unless_bound() {
        let seed = Seed::parse(
            r#"
vpcs:
  - cidr: 10.0.0.0/8
    vswitches:
      - {id: vsw-a, zone: z1, cidr: 10.1.0.0/16}
      - {id: vsw-b, zone: z2, cidr: 10.2.0.0/16}
    route_tables:
      - {id: vtb-custom, type: Custom, vswitches: [vsw-b]}
instances:
  - {id: i-1, vswitch: vsw-a, private_ip: 10.1.0.10}
"#,
        )
        .unwrap();
        let state = seed.build().unwrap();
        assert_eq!(state.vswitches["vsw-b"].route_table_id, "vtb-custom");
        let system = state.system_route_table(state.vswitches["vsw-a"].vpc_id.as_str()).unwrap();
        assert_eq!(state.vswitches["vsw-a"].route_table_id, system.route_table_id);
        assert_eq!(state.instances["i-1"].private_ip, "10.1.0.10");
        assert_eq!(state.vswitches["vsw-a"].available_ip_address_count, 65536 - 4 - 1);
        let custom = &state.route_tables["vtb-custom"];
        assert!(custom.entries.iter().any(|e| e.destination_cidr_block == "10.2.0.0/16"));
    }

    #[test]
    fn slb_certificates_are_seeded() {
        let seed =
            Seed::parse("slb: {certificates: [{id: cert-a, name: demo, common_name: demo.example.com}]}").unwrap();
        let state = seed.build().unwrap();
        let dump = serde_json::to_string(&state.slb).unwrap();
        assert!(dump.contains("cert-a"), "{dump}");
        assert!(dump.contains("demo.example.com"));
    }

    #[test]
    fn invalid_seeds_are_rejected_with_reasons() {
        let outside = "vpcs: [{cidr: 10.0.0.0/16, vswitches: [{zone: z, cidr: 10.9.0.0/24}]}]";
        assert!(matches!(Seed::parse(outside).unwrap().build(), Err(FakeError::SeedInvalid(_))));
        assert!(matches!(Seed::parse("bogus_field: 1"), Err(FakeError::SeedParse(_))));
        let no_vsw = "instances: [{id: i-1}]";
        assert!(Seed::parse(no_vsw).unwrap().build().is_err());
    }
}
