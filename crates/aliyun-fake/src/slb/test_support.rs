//! Fixtures for the SLB unit tests: a small region (one VPC, two vSwitches,
//! three running instances, one ENI, a second VPC with one instance) and
//! shortcuts to call actions.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::net::Cidr4;
use crate::state::{CloudState, Instance, NetworkInterface, VSwitch, Vpc, initial_free_count};
use crate::wire::{ApiFault, Request};

pub(crate) const VPC: &str = "vpc-main";
pub(crate) const VSW_A: &str = "vsw-a";
pub(crate) const VSW_B: &str = "vsw-b";
pub(crate) const VSW_A_CIDR: &str = "192.168.0.0/24";
pub(crate) const OTHER_VPC: &str = "vpc-other";
pub(crate) const ENI: &str = "eni-pod1";
pub(crate) const ENI_IP: &str = "192.168.0.50";
pub(crate) const ENI_IP2: &str = "192.168.0.51";

fn vpc(id: &str, cidr: &str) -> Vpc {
    Vpc {
        vpc_id: id.into(),
        vpc_name: id.into(),
        cidr_block: cidr.into(),
        ipv6_cidr_block: String::new(),
        status: "Available".into(),
        vrouter_id: format!("vrt-{id}"),
        is_default: false,
        description: String::new(),
        creation_time: "2024-01-01T00:00:00Z".into(),
        tags: vec![],
    }
}

fn vswitch(id: &str, vpc_id: &str, zone: &str, cidr: &str) -> VSwitch {
    VSwitch {
        vswitch_id: id.into(),
        vswitch_name: id.into(),
        vpc_id: vpc_id.into(),
        zone_id: zone.into(),
        cidr_block: cidr.into(),
        ipv6_cidr_block: String::new(),
        status: "Available".into(),
        available_ip_address_count: Cidr4::parse(cidr).map(initial_free_count).unwrap_or(0),
        route_table_id: String::new(),
        is_default: false,
        description: String::new(),
        creation_time: "2024-01-01T00:00:00Z".into(),
        tags: vec![],
        used_offsets: BTreeSet::new(),
    }
}

fn instance(id: &str, vpc_id: &str, vsw: &str, zone: &str, ip: &str) -> Instance {
    Instance {
        instance_id: id.into(),
        instance_name: id.into(),
        host_name: id.into(),
        zone_id: zone.into(),
        instance_type: "ecs.g7.large".into(),
        status: "Running".into(),
        vpc_id: vpc_id.into(),
        vswitch_id: vsw.into(),
        private_ip: ip.into(),
        public_ip: None,
        eip_allocation_id: None,
        primary_eni_id: format!("eni-of-{id}"),
        cpu: 2,
        memory: 8192,
        image_id: "img".into(),
        os_type: "linux".into(),
        instance_charge_type: "PostPaid".into(),
        ram_role_name: None,
        creation_time: "2024-01-01T00:00:00Z".into(),
        tags: vec![],
    }
}

/// A region with VPC `vpc-main` (vSwitches `vsw-a` 192.168.0.0/24 in zone h,
/// `vsw-b` 192.168.1.0/24 in zone i), instances `i-1`..`i-3` in it, ENI
/// `eni-pod1`, and instance `i-far` in another VPC.
pub(crate) fn cloud() -> CloudState {
    let mut s = CloudState::empty("cn-hangzhou");
    s.zones = vec!["cn-hangzhou-h".into(), "cn-hangzhou-i".into()];
    s.vpcs.insert(VPC.into(), vpc(VPC, "192.168.0.0/16"));
    s.vpcs.insert(OTHER_VPC.into(), vpc(OTHER_VPC, "10.0.0.0/8"));
    s.vswitches.insert(VSW_A.into(), vswitch(VSW_A, VPC, "cn-hangzhou-h", VSW_A_CIDR));
    s.vswitches.insert(VSW_B.into(), vswitch(VSW_B, VPC, "cn-hangzhou-i", "192.168.1.0/24"));
    s.vswitches.insert("vsw-far".into(), vswitch("vsw-far", OTHER_VPC, "cn-hangzhou-h", "10.0.0.0/24"));
    for (i, ip) in [(1, "192.168.0.11"), (2, "192.168.0.12"), (3, "192.168.1.13")] {
        let vsw = if i == 3 { VSW_B } else { VSW_A };
        let zone = if i == 3 { "cn-hangzhou-i" } else { "cn-hangzhou-h" };
        let id = format!("i-{i}");
        s.claim_private_ip(vsw, ip).expect("seed ip");
        s.instances.insert(id.clone(), instance(&id, VPC, vsw, zone, ip));
        s.instance_order.push(id);
    }
    s.instances.insert("i-far".into(), instance("i-far", OTHER_VPC, "vsw-far", "cn-hangzhou-h", "10.0.0.5"));
    s.instance_order.push("i-far".into());
    s.enis.insert(
        ENI.into(),
        NetworkInterface {
            network_interface_id: ENI.into(),
            network_interface_name: String::new(),
            eni_type: "Secondary".into(),
            status: "InUse".into(),
            vpc_id: VPC.into(),
            vswitch_id: VSW_A.into(),
            zone_id: "cn-hangzhou-h".into(),
            instance_id: Some("i-1".into()),
            mac_address: "00:16:3e:00:00:01".into(),
            private_ip: ENI_IP.into(),
            secondary_private_ips: vec![ENI_IP2.into()],
            ipv6_addresses: vec![],
            security_group_ids: vec![],
            description: String::new(),
            creation_time: "2024-01-01T00:00:00Z".into(),
            tags: vec![],
        },
    );
    s
}

/// Calls an SLB action with literal parameters.
pub(crate) fn call(state: &mut CloudState, action: &str, params: &[(&str, &str)]) -> Result<Value, ApiFault> {
    call_owned(state, action, params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

/// Calls an SLB action with owned parameters.
pub(crate) fn call_owned(
    state: &mut CloudState,
    action: &str,
    params: Vec<(String, String)>,
) -> Result<Value, ApiFault> {
    let map: BTreeMap<String, String> = params.into_iter().collect();
    let req = Request::new(action, map);
    super::handle(state, action, &req).unwrap_or_else(|| panic!("{action} is not an SLB action"))
}

/// Creates an intranet CLB in `vsw-a` and returns its id.
pub(crate) fn create_intranet_lb(state: &mut CloudState) -> String {
    let out = call(
        state,
        "CreateLoadBalancer",
        &[
            ("RegionId", "cn-hangzhou"),
            ("AddressType", "intranet"),
            ("VSwitchId", VSW_A),
            ("LoadBalancerSpec", "slb.s1.small"),
        ],
    )
    .expect("create intranet lb");
    out["LoadBalancerId"].as_str().expect("id").to_string()
}

/// Creates a TCP listener (optionally on a vServer group).
pub(crate) fn create_tcp_listener(state: &mut CloudState, lb: &str, port: u16, group: Option<&str>) {
    let port = port.to_string();
    let mut params = vec![("LoadBalancerId", lb), ("ListenerPort", port.as_str()), ("Bandwidth", "-1")];
    match group {
        Some(g) => params.push(("VServerGroupId", g)),
        None => params.push(("BackendServerPort", "8080")),
    }
    call(state, "CreateLoadBalancerTCPListener", &params).expect("create tcp listener");
}

/// Creates an empty vServer group and returns its id.
pub(crate) fn create_group(state: &mut CloudState, lb: &str) -> String {
    let out =
        call(state, "CreateVServerGroup", &[("LoadBalancerId", lb), ("VServerGroupName", "g")]).expect("create group");
    out["VServerGroupId"].as_str().expect("id").to_string()
}
