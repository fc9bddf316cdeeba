//! The emulated cloud: every resource of the region, its clock, and the
//! helpers product handlers share (address allocation, lookups).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::net::Cidr4;
use crate::wire::{ApiFault, Ids};

/// A key/value tag on a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Tag {
    /// Tag key.
    pub key: String,
    /// Tag value (may be empty).
    #[serde(default)]
    pub value: String,
}

/// An access key pair the fake accepts, belonging to an account.
#[derive(Debug, Clone, Serialize)]
pub struct AccessKey {
    /// AccessKeyId.
    pub access_key_id: String,
    /// AccessKeySecret (the fake is a test tool; the dump shows it).
    pub access_key_secret: String,
    /// Owning account id.
    pub account_id: String,
}

/// Temporary credentials issued by the fake STS or the metadata RAM role.
#[derive(Debug, Clone, Serialize)]
pub struct StsCredential {
    /// Temporary AccessKeyId (`STS.` prefix).
    pub access_key_id: String,
    /// Temporary AccessKeySecret.
    pub access_key_secret: String,
    /// SecurityToken that must accompany the key.
    pub security_token: String,
    /// Expiry in RFC 3339 (`Z`).
    pub expiration: String,
    /// Expiry on the fake's clock, seconds since the Unix epoch.
    pub expires_at_unix: u64,
    /// The role these credentials act as.
    pub role_arn: String,
    /// Account the role belongs to.
    pub account_id: String,
}

/// A VPC.
#[derive(Debug, Clone, Serialize)]
pub struct Vpc {
    /// `vpc-...`.
    pub vpc_id: String,
    /// Name.
    pub vpc_name: String,
    /// IPv4 CIDR block.
    pub cidr_block: String,
    /// IPv6 CIDR block, empty when IPv6 is not enabled.
    pub ipv6_cidr_block: String,
    /// `Available`.
    pub status: String,
    /// `vrt-...`, the router holding the route tables.
    pub vrouter_id: String,
    /// Whether this is the region's default VPC.
    pub is_default: bool,
    /// Description.
    pub description: String,
    /// Creation time, RFC 3339.
    pub creation_time: String,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// A vSwitch: a subnet of a VPC in one zone.
#[derive(Debug, Clone, Serialize)]
pub struct VSwitch {
    /// `vsw-...`.
    pub vswitch_id: String,
    /// Name.
    pub vswitch_name: String,
    /// Owning VPC.
    pub vpc_id: String,
    /// Zone, such as `cn-hangzhou-h`.
    pub zone_id: String,
    /// IPv4 CIDR block.
    pub cidr_block: String,
    /// IPv6 CIDR block, empty when IPv6 is not enabled.
    pub ipv6_cidr_block: String,
    /// `Available`.
    pub status: String,
    /// Free private addresses left.
    pub available_ip_address_count: u64,
    /// Route table the vSwitch is bound to.
    pub route_table_id: String,
    /// Whether this is a default vSwitch.
    pub is_default: bool,
    /// Description.
    pub description: String,
    /// Creation time, RFC 3339.
    pub creation_time: String,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Offsets (from the network address) of addresses in use.
    #[serde(skip)]
    pub used_offsets: BTreeSet<u32>,
}

/// A route table of a VPC router.
#[derive(Debug, Clone, Serialize)]
pub struct RouteTable {
    /// `vtb-...`.
    pub route_table_id: String,
    /// Name.
    pub route_table_name: String,
    /// `System` or `Custom`.
    pub route_table_type: String,
    /// VPC the table belongs to.
    pub vpc_id: String,
    /// Router (`vrt-...`) holding the table.
    pub router_id: String,
    /// vSwitches bound to a custom table (the system table serves the rest).
    pub vswitch_ids: Vec<String>,
    /// Description.
    pub description: String,
    /// Creation time, RFC 3339.
    pub creation_time: String,
    /// Route entries, in creation order.
    pub entries: Vec<RouteEntry>,
}

/// One route of a route table.
#[derive(Debug, Clone, Serialize)]
pub struct RouteEntry {
    /// `rte-...`.
    pub route_entry_id: String,
    /// Name.
    pub route_entry_name: String,
    /// Destination CIDR block (IPv4 or IPv6).
    pub destination_cidr_block: String,
    /// `System` or `Custom`.
    pub entry_type: String,
    /// `Pending`, `Available`, `Modifying` or `Deleting`.
    pub status: String,
    /// `Instance`, `NetworkInterface`, `local`, ...
    pub next_hop_type: String,
    /// Next hop id (an instance id for CCM routes), empty for system routes.
    pub next_hop_id: String,
    /// `ipv4` or `ipv6`.
    pub ip_version: String,
    /// Description.
    pub description: String,
    /// Last modification, RFC 3339.
    pub gmt_modified: String,
    /// When a transient status (Pending, Modifying, Deleting) ends.
    #[serde(skip)]
    pub settles_at: Option<Instant>,
}

/// An ECS instance.
#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    /// `i-...`.
    pub instance_id: String,
    /// Name.
    pub instance_name: String,
    /// Host name.
    pub host_name: String,
    /// Zone.
    pub zone_id: String,
    /// Instance type, such as `ecs.g7.large`.
    pub instance_type: String,
    /// `Pending`, `Running`, `Starting`, `Stopping` or `Stopped`.
    pub status: String,
    /// VPC.
    pub vpc_id: String,
    /// vSwitch of the primary ENI.
    pub vswitch_id: String,
    /// Primary private IPv4 address.
    pub private_ip: String,
    /// Public IPv4 address assigned with the instance, if any.
    pub public_ip: Option<String>,
    /// Allocation id of an associated EIP, if any.
    pub eip_allocation_id: Option<String>,
    /// Primary ENI id.
    pub primary_eni_id: String,
    /// vCPUs.
    pub cpu: u32,
    /// Memory in MiB.
    pub memory: u32,
    /// Image id.
    pub image_id: String,
    /// `linux` or `windows`.
    pub os_type: String,
    /// `PostPaid` or `PrePaid`.
    pub instance_charge_type: String,
    /// RAM role attached to the instance (served by the metadata server).
    pub ram_role_name: Option<String>,
    /// Creation time, RFC 3339.
    pub creation_time: String,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// An elastic network interface.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkInterface {
    /// `eni-...`.
    pub network_interface_id: String,
    /// Name.
    pub network_interface_name: String,
    /// `Primary` or `Secondary`.
    pub eni_type: String,
    /// `Available`, `InUse`, ...
    pub status: String,
    /// VPC.
    pub vpc_id: String,
    /// vSwitch.
    pub vswitch_id: String,
    /// Zone.
    pub zone_id: String,
    /// Attached instance, if any.
    pub instance_id: Option<String>,
    /// MAC address.
    pub mac_address: String,
    /// Primary private IPv4 address.
    pub private_ip: String,
    /// Secondary private IPv4 addresses.
    pub secondary_private_ips: Vec<String>,
    /// IPv6 addresses.
    pub ipv6_addresses: Vec<String>,
    /// Security groups.
    pub security_group_ids: Vec<String>,
    /// Description.
    pub description: String,
    /// Creation time, RFC 3339.
    pub creation_time: String,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// An elastic IP address.
#[derive(Debug, Clone, Serialize)]
pub struct Eip {
    /// `eip-...`.
    pub allocation_id: String,
    /// Public address.
    pub ip_address: String,
    /// Name.
    pub name: String,
    /// `Available` or `InUse`.
    pub status: String,
    /// Bound resource id, if any.
    pub instance_id: Option<String>,
    /// Bound resource type (`EcsInstance`, `SlbInstance`, `NetworkInterface`).
    pub instance_type: Option<String>,
    /// Bandwidth in Mbit/s.
    pub bandwidth: String,
    /// `PayByTraffic` or `PayByBandwidth`.
    pub internet_charge_type: String,
    /// Allocation time, RFC 3339.
    pub allocation_time: String,
}

/// Tunable behaviour of the emulation.
#[derive(Debug, Clone, Serialize)]
pub struct Behaviour {
    /// How long a new route entry stays `Pending` (and a deleted one `Deleting`).
    pub route_entry_delay: Duration,
    /// Custom route entries allowed per route table.
    pub route_entry_quota: usize,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self { route_entry_delay: Duration::from_secs(2), route_entry_quota: 200 }
    }
}

/// The whole emulated region.
#[derive(Debug, Serialize)]
pub struct CloudState {
    /// Region id, such as `cn-hangzhou`.
    pub region_id: String,
    /// Zones of the region.
    pub zones: Vec<String>,
    /// Main account id (owner id of resources).
    pub account_id: String,
    /// Long-term access keys by AccessKeyId.
    pub access_keys: BTreeMap<String, AccessKey>,
    /// STS credentials issued so far, by temporary AccessKeyId.
    pub sts_credentials: BTreeMap<String, StsCredential>,
    /// VPCs by id.
    pub vpcs: BTreeMap<String, Vpc>,
    /// vSwitches by id.
    pub vswitches: BTreeMap<String, VSwitch>,
    /// Route tables by id.
    pub route_tables: BTreeMap<String, RouteTable>,
    /// Instances by id (insertion order is kept by id order of creation in `instance_order`).
    pub instances: BTreeMap<String, Instance>,
    /// Instance ids in creation order (the API lists them in this order).
    pub instance_order: Vec<String>,
    /// ENIs by id.
    pub enis: BTreeMap<String, NetworkInterface>,
    /// EIPs by allocation id.
    pub eips: BTreeMap<String, Eip>,
    /// Classic Load Balancer state, owned by the SLB emulation.
    pub slb: crate::slb::SlbState,
    /// Id generator.
    pub ids: Ids,
    /// Emulation knobs.
    pub behaviour: Behaviour,
    /// Next address handed out by the public pool (offset in 198.18.0.0/15).
    public_pool_next: u32,
    /// How far the fake's clock runs ahead of the real one.
    clock_offset: Duration,
}

/// The public address pool: the 198.18.0.0/15 benchmarking range, never routable.
pub const PUBLIC_POOL: &str = "198.18.0.0/15";

impl CloudState {
    /// An empty region with no keys and no resources.
    pub fn empty(region_id: &str) -> Self {
        Self {
            region_id: region_id.to_string(),
            zones: Vec::new(),
            account_id: "1234567890123456".to_string(),
            access_keys: BTreeMap::new(),
            sts_credentials: BTreeMap::new(),
            vpcs: BTreeMap::new(),
            vswitches: BTreeMap::new(),
            route_tables: BTreeMap::new(),
            instances: BTreeMap::new(),
            instance_order: Vec::new(),
            enis: BTreeMap::new(),
            eips: BTreeMap::new(),
            slb: Default::default(),
            ids: Ids::default(),
            behaviour: Behaviour::default(),
            public_pool_next: 1,
            clock_offset: Duration::ZERO,
        }
    }

    /// The fake's monotonic clock (real time plus any [`CloudState::advance_clock`]).
    pub fn now(&self) -> Instant {
        Instant::now() + self.clock_offset
    }

    /// The fake's wall clock.
    pub fn wall_now(&self) -> SystemTime {
        SystemTime::now() + self.clock_offset
    }

    /// The fake's wall clock formatted as the API does: `2024-01-02T03:04:05Z`.
    pub fn timestamp(&self) -> String {
        format_rfc3339(self.wall_now())
    }

    /// Moves the fake's clock forward (tests use it to skip Pending periods).
    pub fn advance_clock(&mut self, by: Duration) {
        self.clock_offset += by;
        self.settle();
    }

    /// Completes transient states whose time has come: Pending and Modifying
    /// route entries become Available, Deleting ones disappear.
    pub fn settle(&mut self) {
        let now = self.now();
        for table in self.route_tables.values_mut() {
            table.entries.retain(|e| !(e.status == "Deleting" && e.settles_at <= Some(now)));
            for entry in &mut table.entries {
                if entry.settles_at.is_some_and(|t| t <= now) {
                    entry.status = "Available".to_string();
                    entry.settles_at = None;
                }
            }
        }
    }

    /// A vSwitch by id.
    pub fn vswitch(&self, id: &str) -> Option<&VSwitch> {
        self.vswitches.get(id)
    }

    /// A VPC by id.
    pub fn vpc(&self, id: &str) -> Option<&Vpc> {
        self.vpcs.get(id)
    }

    /// An instance by id.
    pub fn instance(&self, id: &str) -> Option<&Instance> {
        self.instances.get(id)
    }

    /// An ENI by id.
    pub fn eni(&self, id: &str) -> Option<&NetworkInterface> {
        self.enis.get(id)
    }

    /// Instances in creation order.
    pub fn instances_in_order(&self) -> impl Iterator<Item = &Instance> {
        self.instance_order.iter().filter_map(|id| self.instances.get(id))
    }

    /// Takes the next free private address of a vSwitch (skipping the
    /// reserved first address and last three), decrementing its free count.
    pub fn allocate_private_ip(&mut self, vswitch_id: &str) -> Result<String, ApiFault> {
        let vsw = self
            .vswitches
            .get_mut(vswitch_id)
            .ok_or_else(|| ApiFault::not_found("InvalidVSwitchId.NotFound", "Specified VSwitch does not exist."))?;
        let cidr = parse_vswitch_cidr(vsw)?;
        let last_usable = usable_limit(cidr);
        let offset = (1..last_usable).find(|o| !vsw.used_offsets.contains(o)).ok_or_else(|| {
            ApiFault::bad_request(
                "QuotaExceeded.PrivateIpAddress",
                "The available private IP addresses of the specified vSwitch are insufficient.",
            )
        })?;
        vsw.used_offsets.insert(offset);
        vsw.available_ip_address_count = vsw.available_ip_address_count.saturating_sub(1);
        Ok(cidr.address_at(offset).to_string())
    }

    /// Marks a specific address of a vSwitch as used (seeded instances).
    pub fn claim_private_ip(&mut self, vswitch_id: &str, ip: &str) -> Result<(), ApiFault> {
        let vsw = self
            .vswitches
            .get_mut(vswitch_id)
            .ok_or_else(|| ApiFault::not_found("InvalidVSwitchId.NotFound", "Specified VSwitch does not exist."))?;
        let cidr = parse_vswitch_cidr(vsw)?;
        let offset =
            ip.parse::<Ipv4Addr>().ok().and_then(|a| cidr.offset_of(a)).ok_or_else(|| {
                ApiFault::invalid("PrivateIpAddress", "The address is not in the vSwitch CIDR block.")
            })?;
        if offset == 0 || offset >= usable_limit(cidr) {
            return Err(ApiFault::invalid("PrivateIpAddress", "The address is reserved."));
        }
        if !vsw.used_offsets.insert(offset) {
            return Err(ApiFault::bad_request(
                "InvalidIPAddress.AlreadyUsed",
                "The specified IP address is already in use.",
            ));
        }
        vsw.available_ip_address_count = vsw.available_ip_address_count.saturating_sub(1);
        Ok(())
    }

    /// Returns an address to its vSwitch's pool. Unknown vSwitches or
    /// addresses not in use are ignored.
    pub fn release_private_ip(&mut self, vswitch_id: &str, ip: &str) {
        let Some(vsw) = self.vswitches.get_mut(vswitch_id) else {
            return;
        };
        let Ok(cidr) = parse_vswitch_cidr(vsw) else {
            return;
        };
        let Some(offset) = ip.parse::<Ipv4Addr>().ok().and_then(|a| cidr.offset_of(a)) else {
            return;
        };
        if vsw.used_offsets.remove(&offset) {
            vsw.available_ip_address_count += 1;
        }
    }

    /// Hands out the next address of the public pool ([`PUBLIC_POOL`]).
    pub fn allocate_public_ip(&mut self) -> String {
        let pool = Cidr4 { base: u32::from(Ipv4Addr::new(198, 18, 0, 0)), prefix: 15 };
        loop {
            let offset = self.public_pool_next;
            self.public_pool_next = (self.public_pool_next + 1) % (pool.size() as u32);
            let ip = pool.address_at(offset);
            let last = ip.octets()[3];
            if last != 0 && last != 255 {
                return ip.to_string();
            }
        }
    }

    /// The route table a vSwitch uses (its bound custom table, else the
    /// VPC's system table).
    pub fn route_table_of_vswitch(&self, vswitch_id: &str) -> Option<&RouteTable> {
        let vsw = self.vswitches.get(vswitch_id)?;
        self.route_tables.get(&vsw.route_table_id)
    }

    /// The system route table of a VPC.
    pub fn system_route_table(&self, vpc_id: &str) -> Option<&RouteTable> {
        self.route_tables.values().find(|t| t.vpc_id == vpc_id && t.route_table_type == "System")
    }
}

fn parse_vswitch_cidr(vsw: &VSwitch) -> Result<Cidr4, ApiFault> {
    Cidr4::parse(&vsw.cidr_block).ok_or_else(|| ApiFault::new(500, "InternalError", "vSwitch CIDR block is malformed."))
}

/// First offset past the usable range: the last three addresses are reserved.
fn usable_limit(cidr: Cidr4) -> u32 {
    cidr.size().saturating_sub(3).min(u64::from(u32::MAX)) as u32
}

/// Free addresses of a fresh vSwitch: the block less the first and last three.
pub fn initial_free_count(cidr: Cidr4) -> u64 {
    cidr.size().saturating_sub(4)
}

/// Formats a wall-clock time as `yyyy-MM-ddTHH:mm:ssZ`.
pub fn format_rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let dt = time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with_vswitch(cidr: &str) -> CloudState {
        let mut s = CloudState::empty("cn-hangzhou");
        let c = Cidr4::parse(cidr).unwrap();
        s.vswitches.insert(
            "vsw-1".into(),
            VSwitch {
                vswitch_id: "vsw-1".into(),
                vswitch_name: String::new(),
                vpc_id: "vpc-1".into(),
                zone_id: "cn-hangzhou-h".into(),
                cidr_block: cidr.into(),
                ipv6_cidr_block: String::new(),
                status: "Available".into(),
                available_ip_address_count: initial_free_count(c),
                route_table_id: String::new(),
                is_default: false,
                description: String::new(),
                creation_time: String::new(),
                tags: vec![],
                used_offsets: BTreeSet::new(),
            },
        );
        s
    }

    #[test]
    fn private_ips_come_from_the_cidr_and_count_down() {
        let mut s = state_with_vswitch("192.168.1.0/29");
        assert_eq!(s.vswitch("vsw-1").unwrap().available_ip_address_count, 4);
        let a = s.allocate_private_ip("vsw-1").unwrap();
        assert_eq!(a, "192.168.1.1");
        assert_eq!(s.vswitch("vsw-1").unwrap().available_ip_address_count, 3);
        for _ in 0..3 {
            s.allocate_private_ip("vsw-1").unwrap();
        }
        assert!(s.allocate_private_ip("vsw-1").is_err(), "pool of a /29 is 4");
        s.release_private_ip("vsw-1", &a);
        assert_eq!(s.vswitch("vsw-1").unwrap().available_ip_address_count, 1);
        assert_eq!(s.allocate_private_ip("vsw-1").unwrap(), a);
    }

    #[test]
    fn unknown_vswitch_is_not_found() {
        let mut s = CloudState::empty("cn-hangzhou");
        assert_eq!(s.allocate_private_ip("vsw-x").unwrap_err().status, 404);
    }

    #[test]
    fn public_ips_are_in_the_benchmark_range() {
        let mut s = CloudState::empty("cn-hangzhou");
        let pool = Cidr4::parse(PUBLIC_POOL).unwrap();
        let a = s.allocate_public_ip();
        let b = s.allocate_public_ip();
        assert_ne!(a, b);
        assert!(pool.contains(Cidr4::parse(&a).unwrap()));
    }

    #[test]
    fn rfc3339_formatting() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(format_rfc3339(t), "2023-11-14T22:13:20Z");
    }
}
