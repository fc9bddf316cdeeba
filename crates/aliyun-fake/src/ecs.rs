//! ECS `2014-05-26`: instances, ENIs, regions and zones.

use serde_json::{Value, json};

use crate::common::{
    KNOWN_REGIONS, PageNumbers, TokenPage, ecs_tags, matches_tags, region_matches, tag_filters, wants_token_paging,
};
use crate::state::{CloudState, Instance, NetworkInterface};
use crate::wire::{ApiFault, Request};

/// Handles one ECS action; `None` when the action is not emulated.
pub fn handle(state: &mut CloudState, action: &str, req: &Request) -> Option<Result<Value, ApiFault>> {
    let result = match action {
        "DescribeInstances" => describe_instances(state, req),
        "DescribeNetworkInterfaces" => describe_network_interfaces(state, req),
        "ModifyNetworkInterfaceAttribute" => modify_network_interface_attribute(state, req),
        "DescribeRegions" => Ok(describe_regions(state)),
        "DescribeZones" => describe_zones(state, req),
        _ => return None,
    };
    Some(result)
}

const INSTANCE_STATUSES: [&str; 5] = ["Pending", "Running", "Starting", "Stopping", "Stopped"];

fn json_string_list(req: &Request, name: &str) -> Result<Vec<String>, ApiFault> {
    let list: Vec<String> = req.json(name)?.unwrap_or_default();
    if list.len() > 100 {
        return Err(ApiFault::invalid(name, "It can hold at most 100 entries."));
    }
    Ok(list)
}

/// The filters of DescribeInstances.
struct InstanceFilter {
    ids: Vec<String>,
    private_ips: Vec<String>,
    public_ips: Vec<String>,
    eips: Vec<String>,
    tags: Vec<(String, Option<String>)>,
    fields: Vec<(&'static str, String)>,
}

impl InstanceFilter {
    fn read(req: &Request) -> Result<Self, ApiFault> {
        if let Some(status) = req.get("Status").filter(|s| !s.is_empty())
            && !INSTANCE_STATUSES.contains(&status)
        {
            return Err(ApiFault::invalid("Status", "It must be Pending, Running, Starting, Stopping or Stopped."));
        }
        let mut fields = Vec::new();
        for name in [
            "VpcId",
            "VSwitchId",
            "ZoneId",
            "Status",
            "InstanceType",
            "InstanceTypeFamily",
            "InstanceName",
            "InstanceChargeType",
            "InstanceNetworkType",
            "ImageId",
        ] {
            if let Some(v) = req.get(name).filter(|v| !v.is_empty()) {
                fields.push((name, v.to_string()));
            }
        }
        Ok(Self {
            ids: json_string_list(req, "InstanceIds")?,
            private_ips: json_string_list(req, "PrivateIpAddresses")?,
            public_ips: json_string_list(req, "PublicIpAddresses")?,
            eips: json_string_list(req, "EipAddresses")?,
            tags: tag_filters(req),
            fields,
        })
    }

    fn matches(&self, state: &CloudState, i: &Instance) -> bool {
        let eip = eip_address(state, i);
        (self.ids.is_empty() || self.ids.contains(&i.instance_id))
            && (self.private_ips.is_empty() || self.private_ips.contains(&i.private_ip))
            && (self.public_ips.is_empty() || i.public_ip.as_ref().is_some_and(|p| self.public_ips.contains(p)))
            && (self.eips.is_empty() || eip.as_ref().is_some_and(|e| self.eips.contains(e)))
            && matches_tags(&i.tags, &self.tags)
            && self.fields.iter().all(|(name, v)| field_of(i, name) == *v)
    }
}

fn field_of(i: &Instance, name: &str) -> String {
    match name {
        "VpcId" => i.vpc_id.clone(),
        "VSwitchId" => i.vswitch_id.clone(),
        "ZoneId" => i.zone_id.clone(),
        "Status" => i.status.clone(),
        "InstanceType" => i.instance_type.clone(),
        "InstanceTypeFamily" => type_family(&i.instance_type),
        "InstanceName" => i.instance_name.clone(),
        "InstanceChargeType" => i.instance_charge_type.clone(),
        "InstanceNetworkType" => "vpc".to_string(),
        "ImageId" => i.image_id.clone(),
        _ => String::new(),
    }
}

/// `ecs.g7.large` -> `ecs.g7`.
fn type_family(instance_type: &str) -> String {
    let mut parts = instance_type.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}"),
        _ => instance_type.to_string(),
    }
}

fn eip_address(state: &CloudState, i: &Instance) -> Option<String> {
    let id = i.eip_allocation_id.as_ref()?;
    state.eips.get(id).map(|e| e.ip_address.clone())
}

fn describe_instances(state: &CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, true)?;
    let filter = InstanceFilter::read(req)?;
    let selected: Vec<&Instance> =
        if in_region { state.instances_in_order().filter(|i| filter.matches(state, i)).collect() } else { Vec::new() };
    let total = selected.len();
    let (page, next_token, number, size) = if wants_token_paging(req, "MaxResults") {
        let paging = TokenPage::read(req, "MaxResults", 10, 100, 10)?;
        let (page, next) = paging.slice(&selected);
        (page, next, 1, paging.size as u32)
    } else {
        let paging = PageNumbers::read(req, 100, 10)?;
        (paging.slice(&selected), String::new(), paging.number, paging.size)
    };
    let instances: Vec<Value> = page.iter().map(|i| instance_json(state, i)).collect();
    Ok(json!({
        "TotalCount": total,
        "PageNumber": number,
        "PageSize": size,
        "NextToken": next_token,
        "Instances": { "Instance": instances },
    }))
}

fn instance_json(state: &CloudState, i: &Instance) -> Value {
    let eni = state.eni(&i.primary_eni_id);
    let eip = i.eip_allocation_id.as_ref().and_then(|id| state.eips.get(id));
    let eip_json = match eip {
        Some(e) => json!({
            "AllocationId": e.allocation_id,
            "IpAddress": e.ip_address,
            "Bandwidth": e.bandwidth.parse::<i64>().unwrap_or(0),
            "InternetChargeType": e.internet_charge_type,
            "IsSupportUnassociate": true,
        }),
        None => {
            json!({"AllocationId": "", "IpAddress": "", "Bandwidth": 0, "InternetChargeType": "", "IsSupportUnassociate": false})
        }
    };
    let public_ips: Vec<&String> = i.public_ip.iter().collect();
    let security_groups = eni.map(|e| e.security_group_ids.clone()).unwrap_or_default();
    let interfaces: Vec<Value> = eni.iter().map(|e| instance_eni_json(e)).collect();
    let stopped = i.status == "Stopped";
    let mut base = json!({
        "InstanceId": i.instance_id,
        "InstanceName": i.instance_name,
        "HostName": i.host_name,
        "Description": "",
        "RegionId": state.region_id,
        "ZoneId": i.zone_id,
        "InstanceType": i.instance_type,
        "InstanceTypeFamily": type_family(&i.instance_type),
        "Status": i.status,
        "InstanceNetworkType": "vpc",
        "InstanceChargeType": i.instance_charge_type,
        "InternetChargeType": "PayByTraffic",
        "InternetMaxBandwidthIn": if i.public_ip.is_some() { 100 } else { 0 },
        "InternetMaxBandwidthOut": if i.public_ip.is_some() { 5 } else { 0 },
        "SpotStrategy": "NoSpot",
        "SpotPriceLimit": 0.0,
        "SpotDuration": 0,
        "CreationTime": short_time(&i.creation_time),
        "StartTime": short_time(&i.creation_time),
        "ExpiredTime": "2099-12-31T15:59Z",
        "AutoReleaseTime": "",
        "Cpu": i.cpu,
        "Memory": i.memory,
        "GPUAmount": 0,
        "GPUSpec": "",
        "ImageId": i.image_id,
        "OSType": i.os_type,
        "OSName": "Alibaba Cloud Linux  3.2104 LTS 64位",
        "OSNameEn": "Alibaba Cloud Linux  3.2104 LTS 64 bit",
        "SerialNumber": serial_number(&i.instance_id),
    });
    let flags = json!({
        "IoOptimized": true,
        "DeviceAvailable": true,
        "DeletionProtection": false,
        "Recyclable": false,
        "StoppedMode": if stopped { "KeepCharging" } else { "Not-applicable" },
        "KeyPairName": "",
        "ResourceGroupId": "",
        "DeploymentSetId": "",
        "HpcClusterId": "",
        "ClusterId": "",
        "VlanId": "",
        "CreditSpecification": "",
        "LocalStorageAmount": 0,
        "LocalStorageCapacity": 0,
    });
    let network = json!({
        "VpcAttributes": {
            "VpcId": i.vpc_id,
            "VSwitchId": i.vswitch_id,
            "NatIpAddress": "",
            "PrivateIpAddress": { "IpAddress": [i.private_ip] },
        },
        "PublicIpAddress": { "IpAddress": public_ips },
        "InnerIpAddress": { "IpAddress": [] },
        "RdmaIpAddress": { "IpAddress": [] },
        "EipAddress": eip_json,
        "NetworkInterfaces": { "NetworkInterface": interfaces },
        "SecurityGroupIds": { "SecurityGroupId": security_groups },
        "Tags": ecs_tags(&i.tags),
        "OperationLocks": { "LockReason": [] },
        "MetadataOptions": { "HttpEndpoint": "enabled", "HttpTokens": "optional", "HttpPutResponseHopLimit": 1 },
        "CpuOptions": { "CoreCount": (i.cpu / 2).max(1), "ThreadsPerCore": if i.cpu > 1 { 2 } else { 1 }, "Numa": "" },
        "DedicatedHostAttribute": { "DedicatedHostId": "", "DedicatedHostName": "", "DedicatedHostClusterId": "" },
        "DedicatedInstanceAttribute": { "Tenancy": "", "Affinity": "" },
        "EcsCapacityReservationAttr": { "CapacityReservationId": "", "CapacityReservationPreference": "" },
        "HibernationOptions": { "Configured": false },
    });
    for part in [flags, network] {
        if let (Value::Object(b), Value::Object(n)) = (&mut base, part) {
            b.extend(n);
        }
    }
    base
}

/// ECS instance times are `yyyy-MM-ddTHH:mmZ` (no seconds).
fn short_time(rfc3339: &str) -> String {
    match rfc3339.get(..16) {
        Some(prefix) if rfc3339.len() == 20 => format!("{prefix}Z"),
        _ => rfc3339.to_string(),
    }
}

fn serial_number(instance_id: &str) -> String {
    let digest = crate::auth::sha256_hex(instance_id.as_bytes());
    format!("{}-{}-{}-{}-{}", &digest[0..8], &digest[8..12], &digest[12..16], &digest[16..20], &digest[20..32])
}

fn private_ip_sets(e: &NetworkInterface) -> Value {
    let mut sets = vec![json!({"PrivateIpAddress": e.private_ip, "Primary": true})];
    sets.extend(e.secondary_private_ips.iter().map(|ip| json!({"PrivateIpAddress": ip, "Primary": false})));
    json!({ "PrivateIpSet": sets })
}

fn ipv6_sets(e: &NetworkInterface) -> Value {
    let sets: Vec<Value> = e.ipv6_addresses.iter().map(|ip| json!({"Ipv6Address": ip})).collect();
    json!({ "Ipv6Set": sets })
}

fn instance_eni_json(e: &NetworkInterface) -> Value {
    json!({
        "NetworkInterfaceId": e.network_interface_id,
        "Type": e.eni_type,
        "MacAddress": e.mac_address,
        "PrimaryIpAddress": e.private_ip,
        "PrivateIpSets": private_ip_sets(e),
        "Ipv6Sets": ipv6_sets(e),
        "Ipv4PrefixSets": { "Ipv4PrefixSet": [] },
        "Ipv6PrefixSets": { "Ipv6PrefixSet": [] },
    })
}

fn eni_matches(req: &Request, ids: &[String], private_ips: &[String], ipv6: &[String], e: &NetworkInterface) -> bool {
    let wanted = |name: &str| req.get(name).filter(|v| !v.is_empty());
    let eq = |name: &str, actual: &str| wanted(name).is_none_or(|want| want == actual);
    eq("InstanceId", e.instance_id.as_deref().unwrap_or(""))
        && eq("VpcId", &e.vpc_id)
        && eq("VSwitchId", &e.vswitch_id)
        && eq("PrimaryIpAddress", &e.private_ip)
        && eq("Type", &e.eni_type)
        && eq("Status", &e.status)
        && eq("NetworkInterfaceName", &e.network_interface_name)
        && wanted("SecurityGroupId").is_none_or(|g| e.security_group_ids.iter().any(|s| s == g))
        && (ids.is_empty() || ids.contains(&e.network_interface_id))
        && (private_ips.is_empty()
            || private_ips.iter().any(|ip| *ip == e.private_ip || e.secondary_private_ips.contains(ip)))
        && (ipv6.is_empty() || ipv6.iter().any(|ip| e.ipv6_addresses.contains(ip)))
        && matches_tags(&e.tags, &tag_filters(req))
}

fn describe_network_interfaces(state: &CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, true)?;
    let ids = req.indexed("NetworkInterfaceId");
    let private_ips = req.indexed("PrivateIpAddress");
    let ipv6 = req.indexed("Ipv6Address");
    for (name, list) in [("NetworkInterfaceId", &ids), ("PrivateIpAddress", &private_ips), ("Ipv6Address", &ipv6)] {
        if list.len() > 100 {
            return Err(ApiFault::invalid(name, "It can hold at most 100 entries."));
        }
    }
    let selected: Vec<&NetworkInterface> = if in_region {
        state.enis.values().filter(|e| eni_matches(req, &ids, &private_ips, &ipv6, e)).collect()
    } else {
        Vec::new()
    };
    let total = selected.len();
    let (page, next_token, number, size) = if wants_token_paging(req, "MaxResults") {
        let paging = TokenPage::read(req, "MaxResults", 10, 500, 10)?;
        let (page, next) = paging.slice(&selected);
        (page, next, 1, paging.size as u32)
    } else {
        let paging = PageNumbers::read(req, 1000, 10)?;
        (paging.slice(&selected), String::new(), paging.number, paging.size)
    };
    let sets: Vec<Value> = page.iter().map(|e| eni_set_json(state, e)).collect();
    Ok(json!({
        "TotalCount": total,
        "PageNumber": number,
        "PageSize": size,
        "NextToken": next_token,
        "NetworkInterfaceSets": { "NetworkInterfaceSet": sets },
    }))
}

fn eni_set_json(state: &CloudState, e: &NetworkInterface) -> Value {
    let instance = e.instance_id.as_ref().and_then(|id| state.instance(id));
    let public = instance.and_then(|i| {
        eip_address(state, i)
            .map(|ip| (ip, i.eip_allocation_id.clone().unwrap_or_default()))
            .or_else(|| i.public_ip.clone().map(|ip| (ip, String::new())))
    });
    let associated = match &public {
        Some((ip, alloc)) => json!({"PublicIpAddress": ip, "AllocationId": alloc}),
        None => json!({"PublicIpAddress": "", "AllocationId": ""}),
    };
    json!({
        "NetworkInterfaceId": e.network_interface_id,
        "NetworkInterfaceName": e.network_interface_name,
        "Type": e.eni_type,
        "Status": e.status,
        "VpcId": e.vpc_id,
        "VSwitchId": e.vswitch_id,
        "ZoneId": e.zone_id,
        "InstanceId": e.instance_id.clone().unwrap_or_default(),
        "MacAddress": e.mac_address,
        "PrivateIpAddress": e.private_ip,
        "Description": e.description,
        "CreationTime": e.creation_time,
        "ServiceManaged": false,
        "ResourceGroupId": "",
        "OwnerId": state.account_id,
        "QueueNumber": 0,
        "SecurityGroupIds": { "SecurityGroupId": e.security_group_ids },
        "AssociatedPublicIp": associated,
        "Attachment": {
            "InstanceId": e.instance_id.clone().unwrap_or_default(),
            "DeviceIndex": if e.eni_type == "Primary" { 0 } else { 1 },
            "TrunkNetworkInterfaceId": "",
        },
        "PrivateIpSets": private_ip_sets(e),
        "Ipv6Sets": ipv6_sets(e),
        "Ipv4PrefixSets": { "Ipv4PrefixSet": [] },
        "Ipv6PrefixSets": { "Ipv6PrefixSet": [] },
        "Tags": ecs_tags(&e.tags),
    })
}

fn modify_network_interface_attribute(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, true)?;
    let id = req.required("NetworkInterfaceId")?;
    let groups = req.indexed("SecurityGroupId");
    if groups.len() > 5 {
        return Err(ApiFault::invalid("SecurityGroupId", "An ENI can join at most 5 security groups."));
    }
    if let Some(name) = req.get("NetworkInterfaceName")
        && name.len() > 128
    {
        return Err(ApiFault::invalid("NetworkInterfaceName", "It is longer than 128 characters."));
    }
    let eni = state
        .enis
        .get_mut(id)
        .filter(|_| in_region)
        .ok_or_else(|| ApiFault::not_found("InvalidEniId.NotFound", "The specified ENI does not exist."))?;
    if let Some(name) = req.get("NetworkInterfaceName") {
        eni.network_interface_name = name.to_string();
    }
    if let Some(description) = req.get("Description") {
        eni.description = description.to_string();
    }
    if !groups.is_empty() {
        eni.security_group_ids = groups;
    }
    Ok(json!({}))
}

fn describe_regions(state: &CloudState) -> Value {
    let mut regions: Vec<&str> = KNOWN_REGIONS.to_vec();
    if !regions.contains(&state.region_id.as_str()) {
        regions.push(&state.region_id);
    }
    let list: Vec<Value> = regions
        .iter()
        .map(|r| {
            json!({
                "RegionId": r,
                "LocalName": r,
                "RegionEndpoint": format!("ecs.{r}.aliyuncs.com"),
                "Status": "available",
            })
        })
        .collect();
    json!({ "Regions": { "Region": list } })
}

fn describe_zones(state: &CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, true)?;
    let zones: Vec<Value> =
        if in_region { state.zones.iter().map(|z| zone_json(state, z)).collect() } else { Vec::new() };
    Ok(json!({ "Zones": { "Zone": zones } }))
}

fn zone_json(state: &CloudState, zone: &str) -> Value {
    let mut types: Vec<String> = state.instances.values().map(|i| i.instance_type.clone()).collect();
    types.sort();
    types.dedup();
    json!({
        "ZoneId": zone,
        "LocalName": zone,
        "ZoneType": "AvailabilityZone",
        "AvailableResourceCreation": { "ResourceTypes": ["VSwitch", "IoOptimized", "Instance", "Disk"] },
        "AvailableInstanceTypes": { "InstanceTypes": types },
        "AvailableDiskCategories": { "DiskCategories": ["cloud_essd"] },
        "AvailableVolumeCategories": { "VolumeCategories": [] },
        "AvailableDedicatedHostTypes": { "DedicatedHostType": [] },
        "AvailableResources": { "ResourcesInfo": [] },
        "DedicatedHostGenerations": { "DedicatedHostGeneration": [] },
    })
}
