//! CLB instances: create, describe (list and attribute), the Set*/Modify*
//! actions and delete.

use serde_json::{Map, Value, json};

use super::common::{
    DEFAULT_RESOURCE_GROUP, Page, comma_list, created_now, int_in, lb_not_found, on_off, one_of, region_alias,
};
use super::{LoadBalancer, ok_empty, tags};
use crate::state::CloudState;
use crate::wire::{ApiFault, Request};

/// Specifications accepted by `LoadBalancerSpec` (the documented list plus
/// the larger `slb.s3.*` sizes).
const SPECS: &[&str] = &[
    "slb.s1.small",
    "slb.s2.small",
    "slb.s2.medium",
    "slb.s3.small",
    "slb.s3.medium",
    "slb.s3.large",
    "slb.s3.xlarge",
    "slb.s3.xxlarge",
];

/// Far-future expiry the API reports for pay-as-you-go instances
/// (`EndTime`; guess from observed console values).
const PAY_ON_DEMAND_END_TIME: &str = "2999-09-08T16:00:00Z";
const PAY_ON_DEMAND_END_TIME_STAMP: i64 = 32_493_801_600_000;

fn internet_charge_type(req: &Request) -> Result<Option<String>, ApiFault> {
    match req.get("InternetChargeType") {
        None | Some("") => Ok(None),
        Some(v) => {
            let lower = v.to_ascii_lowercase();
            if lower == "paybytraffic" || lower == "paybybandwidth" {
                Ok(Some(lower))
            } else {
                Err(ApiFault::invalid("InternetChargeType", "Valid values: paybytraffic, paybybandwidth."))
            }
        }
    }
}

fn bandwidth(req: &Request) -> Result<Option<i64>, ApiFault> {
    int_in(req, "Bandwidth", 1, 5120)
}

/// The instance a request names, or `InvalidLoadBalancerId.NotFound`.
pub(crate) fn get<'a>(state: &'a CloudState, req: &Request) -> Result<&'a LoadBalancer, ApiFault> {
    let id = req.required("LoadBalancerId")?;
    state.slb.load_balancers.get(id).ok_or_else(lb_not_found)
}

fn get_mut<'a>(state: &'a mut CloudState, req: &Request) -> Result<&'a mut LoadBalancer, ApiFault> {
    let id = req.required("LoadBalancerId")?;
    state.slb.load_balancers.get_mut(id).ok_or_else(lb_not_found)
}

/// `CreateLoadBalancer`.
pub(crate) fn create(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let client_token = req.get("ClientToken").filter(|t| !t.is_empty()).map(str::to_string);
    if let Some(token) = &client_token
        && let Some(lb) = state.slb.client_tokens.get(token).and_then(|id| state.slb.load_balancers.get(id))
    {
        // Idempotent retry: the instance created with this token.
        return Ok(create_response(lb));
    }

    let vswitch_id = req.get("VSwitchId").filter(|v| !v.is_empty()).map(str::to_string);
    let address_type = one_of(req, "AddressType", &["internet", "intranet"])?
        .unwrap_or_else(|| if vswitch_id.is_some() { "intranet" } else { "internet" }.to_string());
    let ip_version = one_of(req, "AddressIPVersion", &["ipv4", "ipv6"])?.unwrap_or_else(|| "ipv4".into());
    let spec = one_of(req, "LoadBalancerSpec", SPECS)?;
    let charge_type =
        one_of(req, "InstanceChargeType", &["PayBySpec", "PayByCLCU"])?.unwrap_or_else(|| "PayBySpec".into());
    let internet_charge = internet_charge_type(req)?.unwrap_or_else(|| "paybytraffic".into());
    let bandwidth = bandwidth(req)?;
    let pay_type = one_of(req, "PayType", &["PayOnDemand", "PrePay"])?.unwrap_or_else(|| "PayOnDemand".into());
    let delete_protection = on_off(req, "DeleteProtection")?.unwrap_or_else(|| "off".into());
    let (mod_status, mod_reason) = modification_protection(req, false)?;
    let tags = tags::from_params(req, state.slb.limits.tags_per_resource)?;
    let name = req.get("LoadBalancerName").filter(|n| !n.is_empty()).map(str::to_string);
    if let Some(n) = &name
        && n.chars().count() > 80
    {
        return Err(ApiFault::invalid("LoadBalancerName", "The name must be 1 to 80 characters long."));
    }
    if internet_charge == "paybybandwidth" && address_type == "internet" && bandwidth.is_none() {
        return Err(ApiFault::missing("Bandwidth"));
    }
    if ip_version == "ipv6" && address_type == "intranet" {
        return Err(ApiFault::invalid("AddressIPVersion", "IPv6 is supported only for internet-facing instances."));
    }
    if let Some(max) = state.slb.limits.load_balancers
        && state.slb.load_balancers.len() >= max
    {
        // guess: code and text of the instance quota error are undocumented.
        return Err(ApiFault::bad_request(
            "QuotaExceeded.LoadBalancer",
            "The number of load balancers exceeds the quota.",
        ));
    }

    // Network placement.
    let mut vpc_id = String::new();
    let mut zone_of_vswitch = None;
    if let Some(vsw_id) = &vswitch_id {
        let vsw = state.vswitch(vsw_id).ok_or_else(|| {
            ApiFault::not_found("InvalidVSwitchId.NotFound", "The specified VSwitchId does not exist.")
        })?;
        if let Some(given) = req.get("VpcId").filter(|v| !v.is_empty())
            && given != vsw.vpc_id
        {
            return Err(ApiFault::invalid("VpcId", "The vSwitch does not belong to the specified VPC."));
        }
        vpc_id = vsw.vpc_id.clone();
        zone_of_vswitch = Some(vsw.zone_id.clone());
    } else if address_type == "intranet" {
        // guess: classic-network intranet instances are no longer sold, so a
        // VPC vSwitch is required for intranet instances.
        return Err(ApiFault::missing("VSwitchId"));
    }
    let master_zone = req
        .get("MasterZoneId")
        .filter(|z| !z.is_empty())
        .map(str::to_string)
        .or(zone_of_vswitch)
        .or_else(|| state.zones.first().cloned())
        .unwrap_or_default();
    let slave_zone = req
        .get("SlaveZoneId")
        .filter(|z| !z.is_empty())
        .map(str::to_string)
        .or_else(|| state.zones.iter().find(|z| **z != master_zone).cloned())
        .unwrap_or_default();

    // Address.
    let address = if address_type == "intranet" {
        let vsw_id = vswitch_id.clone().unwrap_or_default();
        match req.get("Address").filter(|a| !a.is_empty()) {
            Some(addr) => {
                state.claim_private_ip(&vsw_id, addr).map_err(|e| {
                    if e.code == "InvalidIPAddress.AlreadyUsed" {
                        // guess: the SLB code for a taken address is undocumented.
                        ApiFault::bad_request("InvalidParameter.Address", "The specified address is already in use.")
                    } else {
                        ApiFault::invalid("Address", "The address is not an available address of the vSwitch.")
                    }
                })?;
                addr.to_string()
            }
            None => state.allocate_private_ip(&vsw_id).map_err(|e| {
                if e.code == "QuotaExceeded.PrivateIpAddress" {
                    // The Go CCM matches this code to try another vSwitch.
                    ApiFault::bad_request("VSwitchAvailableIpNotExist", "The specified VSwitch has no available ip.")
                } else {
                    e
                }
            })?,
        }
    } else if ip_version == "ipv6" {
        let n = state.ids.next_number() & 0xffff;
        format!("2001:db8:5b::{n:x}")
    } else {
        state.allocate_public_ip()
    };

    let id = state.ids.next("lb-");
    let (create_time, create_time_stamp) = created_now(state);
    let seq = state.slb.next_seq();
    let lb = LoadBalancer {
        load_balancer_id: id.clone(),
        load_balancer_name: name.unwrap_or_else(|| "auto_named_slb".into()),
        load_balancer_status: "active".into(),
        address,
        address_type: address_type.clone(),
        address_ip_version: ip_version,
        network_type: if vpc_id.is_empty() { "classic" } else { "vpc" }.into(),
        vpc_id,
        vswitch_id: vswitch_id.unwrap_or_default(),
        master_zone_id: master_zone,
        slave_zone_id: slave_zone,
        load_balancer_spec: if charge_type == "PayByCLCU" { String::new() } else { spec.unwrap_or_default() },
        instance_charge_type: charge_type,
        internet_charge_type: internet_charge,
        bandwidth: bandwidth.unwrap_or(5120),
        pay_type,
        resource_group_id: req
            .get("ResourceGroupId")
            .filter(|r| !r.is_empty())
            .unwrap_or(DEFAULT_RESOURCE_GROUP)
            .to_string(),
        delete_protection,
        modification_protection_status: mod_status,
        modification_protection_reason: mod_reason,
        create_time,
        create_time_stamp,
        tags,
        listeners: Vec::new(),
        seq,
    };
    let response = create_response(&lb);
    if let Some(token) = client_token {
        state.slb.client_tokens.insert(token, id.clone());
    }
    state.slb.load_balancers.insert(id, lb);
    Ok(response)
}

fn create_response(lb: &LoadBalancer) -> Value {
    let mut out = json!({
        "LoadBalancerId": lb.load_balancer_id,
        "LoadBalancerName": lb.load_balancer_name,
        "Address": lb.address,
        "AddressIPVersion": lb.address_ip_version,
        "NetworkType": lb.network_type,
        "VpcId": lb.vpc_id,
        "VSwitchId": lb.vswitch_id,
        "ResourceGroupId": lb.resource_group_id,
    });
    if lb.pay_type == "PrePay"
        && let Some(map) = out.as_object_mut()
    {
        map.insert("OrderId".into(), json!(lb.seq + 20_000_000_000));
    }
    out
}

/// `ModificationProtectionStatus` / `ModificationProtectionReason`.
fn modification_protection(req: &Request, required: bool) -> Result<(String, String), ApiFault> {
    let status = one_of(req, "ModificationProtectionStatus", &["NonProtection", "ConsoleProtection"])?;
    let status = match status {
        Some(s) => s,
        None if required => return Err(ApiFault::missing("ModificationProtectionStatus")),
        None => "NonProtection".into(),
    };
    let reason = req.get("ModificationProtectionReason").unwrap_or("").to_string();
    if status == "ConsoleProtection" && !reason.is_empty() {
        let starts_ok = reason.chars().next().is_some_and(|c| c.is_alphabetic());
        if !starts_ok || reason.chars().count() > 80 {
            return Err(ApiFault::invalid(
                "ModificationProtectionReason",
                "The reason must be 1 to 80 characters long and start with a letter.",
            ));
        }
    }
    // NonProtection clears the reason.
    let reason = if status == "NonProtection" { String::new() } else { reason };
    Ok((status, reason))
}

/// Fields shared by the list entries of DescribeLoadBalancers and the
/// DescribeLoadBalancerAttribute answer.
fn common_fields(lb: &LoadBalancer, region: &str) -> Map<String, Value> {
    let v = json!({
        "LoadBalancerId": lb.load_balancer_id,
        "LoadBalancerName": lb.load_balancer_name,
        "LoadBalancerStatus": lb.load_balancer_status,
        "Address": lb.address,
        "AddressType": lb.address_type,
        "AddressIPVersion": lb.address_ip_version,
        "NetworkType": lb.network_type,
        "VpcId": lb.vpc_id,
        "VSwitchId": lb.vswitch_id,
        "RegionId": region,
        "RegionIdAlias": region_alias(region),
        "MasterZoneId": lb.master_zone_id,
        "SlaveZoneId": lb.slave_zone_id,
        "LoadBalancerSpec": lb.load_balancer_spec,
        "InstanceChargeType": lb.instance_charge_type,
        "InternetChargeType": lb.internet_charge_type,
        "Bandwidth": lb.bandwidth,
        "PayType": lb.pay_type,
        "CreateTime": lb.create_time,
        "CreateTimeStamp": lb.create_time_stamp,
        "DeleteProtection": lb.delete_protection,
        "ModificationProtectionStatus": lb.modification_protection_status,
        "ModificationProtectionReason": lb.modification_protection_reason,
        "ResourceGroupId": lb.resource_group_id,
        "Tags": tags::wrapped(&lb.tags),
    });
    match v {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Whether the instance has a backend matching `pred` in one of its vServer groups.
fn has_backend(state: &CloudState, lb_id: &str, pred: impl Fn(&super::Backend) -> bool) -> bool {
    state.slb.vserver_groups.values().filter(|g| g.load_balancer_id == lb_id).any(|g| g.backends.iter().any(&pred))
}

/// `DescribeLoadBalancers`.
pub(crate) fn describe_many(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    // guess: the documented default page size is not stated in the reference; 10 is assumed.
    let page = Page::read(req, "PageNumber", "PageSize", 10, 100)?;
    let ids = req.get("LoadBalancerId").map(comma_list).unwrap_or_default();
    if ids.len() > 10 {
        return Err(ApiFault::invalid("LoadBalancerId", "At most 10 IDs can be specified."));
    }
    let mut tag_filter = tags::from_json(req, "Tags")?.unwrap_or_default();
    if tag_filter.len() > 10 {
        return Err(ApiFault::invalid("Tags", "At most 10 tags can be specified."));
    }
    tag_filter.extend(tags::filter_from_params(req));
    let exact = |param: &str| req.get(param).filter(|v| !v.is_empty());
    let charge = internet_charge_type(req)?;
    let status = one_of(req, "LoadBalancerStatus", &["inactive", "active", "locked"])?;
    let address_type = one_of(req, "AddressType", &["internet", "intranet"])?;
    // The reference spells the value `Classic`; both spellings are accepted.
    let network_type = one_of(req, "NetworkType", &["vpc", "classic", "Classic"])?.map(|n| n.to_ascii_lowercase());
    // Names and backend addresses are comma-separated lists (up to 10 names).
    let names = req.get("LoadBalancerName").map(comma_list).unwrap_or_default();
    if names.len() > 10 {
        return Err(ApiFault::invalid("LoadBalancerName", "At most 10 names can be specified."));
    }
    let server_ips = req.get("ServerIntranetAddress").map(comma_list).unwrap_or_default();

    let mut matched: Vec<&LoadBalancer> = state
        .slb
        .load_balancers
        .values()
        .filter(|lb| ids.is_empty() || ids.contains(&lb.load_balancer_id))
        .filter(|lb| names.is_empty() || names.contains(&lb.load_balancer_name))
        .filter(|lb| exact("Address").is_none_or(|a| a == lb.address))
        .filter(|lb| exact("AddressIPVersion").is_none_or(|a| a == lb.address_ip_version))
        .filter(|lb| address_type.as_deref().is_none_or(|a| a == lb.address_type))
        .filter(|lb| network_type.as_deref().is_none_or(|n| n == lb.network_type))
        .filter(|lb| exact("VpcId").is_none_or(|v| v == lb.vpc_id))
        .filter(|lb| exact("VSwitchId").is_none_or(|v| v == lb.vswitch_id))
        .filter(|lb| exact("MasterZoneId").is_none_or(|z| z == lb.master_zone_id))
        .filter(|lb| exact("SlaveZoneId").is_none_or(|z| z == lb.slave_zone_id))
        .filter(|lb| exact("PayType").is_none_or(|p| p == lb.pay_type))
        .filter(|lb| exact("ResourceGroupId").is_none_or(|r| r == lb.resource_group_id))
        .filter(|lb| charge.as_deref().is_none_or(|c| c == lb.internet_charge_type))
        .filter(|lb| status.as_deref().is_none_or(|s| s == lb.load_balancer_status))
        .filter(|lb| tags::matches(&lb.tags, &tag_filter))
        .filter(|lb| exact("ServerId").is_none_or(|id| has_backend(state, &lb.load_balancer_id, |b| b.server_id == id)))
        .filter(|lb| {
            server_ips.is_empty()
                || has_backend(state, &lb.load_balancer_id, |b| {
                    server_ips.iter().any(|ip| {
                        b.server_ip == *ip || state.instance(&b.server_id).is_some_and(|i| i.private_ip == *ip)
                    })
                })
        })
        .collect();
    matched.sort_by_key(|lb| lb.seq);
    let region = state.region_id.clone();
    let items: Vec<Value> = page
        .slice(&matched)
        .iter()
        .map(|lb| {
            let mut m = common_fields(lb, &region);
            m.insert("InternetChargeTypeAlias".into(), json!(lb.internet_charge_type));
            m.insert("BusinessStatus".into(), json!("Normal"));
            Value::Object(m)
        })
        .collect();
    Ok(json!({
        "TotalCount": matched.len(),
        "PageNumber": page.number,
        "PageSize": page.size,
        "LoadBalancers": { "LoadBalancer": items },
    }))
}

/// `DescribeLoadBalancerAttribute`.
pub(crate) fn describe_attribute(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let lb = get(state, req)?;
    let mut m = common_fields(lb, &state.region_id);
    let ports: Vec<u16> = lb.listeners.iter().map(|l| l.listener_port).collect();
    let with_protocol: Vec<Value> = lb
        .listeners
        .iter()
        .map(|l| {
            let mut entry = json!({
                "ListenerPort": l.listener_port,
                "ListenerProtocol": l.listener_protocol,
                "Description": l.description,
            });
            if l.attributes.get("ListenerForward").and_then(Value::as_str) == Some("on")
                && let Some(obj) = entry.as_object_mut()
            {
                obj.insert("ListenerForward".into(), json!("on"));
                if let Some(p) = l.attributes.get("ForwardPort") {
                    obj.insert("ForwardPort".into(), p.clone());
                }
            }
            entry
        })
        .collect();
    let legacy: Vec<Value> = lb
        .listeners
        .iter()
        .map(|l| json!({ "ListenerPort": l.listener_port, "ListenerProtocal": l.listener_protocol }))
        .collect();
    m.insert("ListenerPorts".into(), json!({ "ListenerPort": ports }));
    m.insert("ListenerPortsAndProtocol".into(), json!({ "ListenerPortAndProtocol": with_protocol }));
    m.insert("ListenerPortsAndProtocal".into(), json!({ "ListenerPortAndProtocal": legacy }));
    // The default server group (AddBackendServers) is not emulated: always empty.
    m.insert("BackendServers".into(), json!({ "BackendServer": [] }));
    m.insert("EndTime".into(), json!(PAY_ON_DEMAND_END_TIME));
    m.insert("EndTimeStamp".into(), json!(PAY_ON_DEMAND_END_TIME_STAMP));
    Ok(Value::Object(m))
}

/// `SetLoadBalancerName`.
pub(crate) fn set_name(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let name = req.required("LoadBalancerName")?.to_string();
    if name.chars().count() > 80 {
        return Err(ApiFault::invalid("LoadBalancerName", "The name must be 1 to 80 characters long."));
    }
    get_mut(state, req)?.load_balancer_name = name;
    ok_empty()
}

/// `SetLoadBalancerStatus` (`active` | `inactive`).
pub(crate) fn set_status(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    req.required("LoadBalancerStatus")?;
    let status = one_of(req, "LoadBalancerStatus", &["active", "inactive"])?.unwrap_or_default();
    get_mut(state, req)?.load_balancer_status = status;
    ok_empty()
}

/// `SetLoadBalancerDeleteProtection`.
pub(crate) fn set_delete_protection(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    req.required("DeleteProtection")?;
    let value = on_off(req, "DeleteProtection")?.unwrap_or_default();
    get_mut(state, req)?.delete_protection = value;
    ok_empty()
}

/// `SetLoadBalancerModificationProtection`. `ConsoleProtection` only guards the
/// console; API calls keep working (documented), so nothing else checks it.
pub(crate) fn set_modification_protection(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let (status, reason) = modification_protection(req, true)?;
    let lb = get_mut(state, req)?;
    lb.modification_protection_status = status;
    lb.modification_protection_reason = reason;
    ok_empty()
}

/// `ModifyLoadBalancerInstanceSpec`.
pub(crate) fn modify_instance_spec(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    req.required("LoadBalancerSpec")?;
    let spec = one_of(req, "LoadBalancerSpec", SPECS)?.unwrap_or_default();
    let lb = get_mut(state, req)?;
    lb.load_balancer_spec = spec;
    Ok(order_response(lb))
}

/// `ModifyLoadBalancerInternetSpec` (charge type and bandwidth).
pub(crate) fn modify_internet_spec(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let charge = internet_charge_type(req)?;
    let bandwidth = bandwidth(req)?;
    let lb = get_mut(state, req)?;
    let new_charge = charge.unwrap_or_else(|| lb.internet_charge_type.clone());
    if new_charge == "paybybandwidth" && bandwidth.is_none() && lb.internet_charge_type != "paybybandwidth" {
        return Err(ApiFault::missing("Bandwidth"));
    }
    lb.internet_charge_type = new_charge;
    if let Some(b) = bandwidth {
        lb.bandwidth = b;
    }
    Ok(order_response(lb))
}

/// `ModifyLoadBalancerInstanceChargeType` (PayBySpec <-> PayByCLCU).
pub(crate) fn modify_instance_charge_type(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    req.required("InstanceChargeType")?;
    let charge_type = one_of(req, "InstanceChargeType", &["PayBySpec", "PayByCLCU"])?.unwrap_or_default();
    let spec = one_of(req, "LoadBalancerSpec", SPECS)?;
    let internet = internet_charge_type(req)?;
    let bandwidth = bandwidth(req)?;
    if charge_type == "PayBySpec" && spec.is_none() {
        return Err(ApiFault::missing("LoadBalancerSpec"));
    }
    let lb = get_mut(state, req)?;
    lb.load_balancer_spec = if charge_type == "PayByCLCU" { String::new() } else { spec.unwrap_or_default() };
    lb.instance_charge_type = charge_type;
    if let Some(i) = internet {
        lb.internet_charge_type = i;
    }
    if let Some(b) = bandwidth {
        lb.bandwidth = b;
    }
    Ok(order_response(lb))
}

fn order_response(lb: &LoadBalancer) -> Value {
    if lb.pay_type == "PrePay" { json!({ "OrderId": lb.seq + 20_000_000_000 }) } else { json!({}) }
}

/// `DeleteLoadBalancer`: refused while deletion protection is on; otherwise
/// removes the instance with its listeners, vServer groups, domain extensions
/// and tags, and returns its private address to the vSwitch.
pub(crate) fn delete(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let lb = get(state, req)?;
    if lb.delete_protection == "on" {
        // Documented in the DeleteLoadBalancer reference.
        return Err(ApiFault::bad_request(
            "OperationDenied.DeleteProtectionIsOn",
            "The loadbalancer can't be deleted due to DeleteProtection is enabled.",
        ));
    }
    let id = lb.load_balancer_id.clone();
    let Some(lb) = state.slb.load_balancers.remove(&id) else {
        return Err(lb_not_found());
    };
    if lb.address_type == "intranet" && !lb.vswitch_id.is_empty() {
        state.release_private_ip(&lb.vswitch_id, &lb.address);
    }
    state.slb.vserver_groups.retain(|_, g| g.load_balancer_id != id);
    state.slb.domain_extensions.retain(|_, d| d.load_balancer_id != id);
    state.slb.client_tokens.retain(|_, lb_id| *lb_id != id);
    ok_empty()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::net::Cidr4;

    #[test]
    fn intranet_address_comes_from_the_vswitch_cidr() {
        let mut s = cloud();
        let free_before = s.vswitch(VSW_A).unwrap().available_ip_address_count;
        let out = call(
            &mut s,
            "CreateLoadBalancer",
            &[("AddressType", "intranet"), ("VSwitchId", VSW_A), ("LoadBalancerName", "web")],
        )
        .unwrap();
        let addr = out["Address"].as_str().unwrap();
        let cidr = Cidr4::parse(VSW_A_CIDR).unwrap();
        assert!(cidr.contains(Cidr4::parse(addr).unwrap()), "{addr} not in {VSW_A_CIDR}");
        assert_eq!(out["VpcId"], VPC);
        assert_eq!(out["VSwitchId"], VSW_A);
        assert_eq!(out["NetworkType"], "vpc");
        assert_eq!(out["AddressIPVersion"], "ipv4");
        assert!(out["LoadBalancerId"].as_str().unwrap().starts_with("lb-"));
        assert_eq!(s.vswitch(VSW_A).unwrap().available_ip_address_count, free_before - 1);

        // Deleting returns the address to the pool.
        let id = out["LoadBalancerId"].as_str().unwrap().to_string();
        call(&mut s, "DeleteLoadBalancer", &[("LoadBalancerId", &id)]).unwrap();
        assert_eq!(s.vswitch(VSW_A).unwrap().available_ip_address_count, free_before);
    }

    #[test]
    fn a_requested_address_is_used_and_cannot_be_taken_twice() {
        let mut s = cloud();
        let out = call(
            &mut s,
            "CreateLoadBalancer",
            &[("AddressType", "intranet"), ("VSwitchId", VSW_A), ("Address", "192.168.0.99")],
        )
        .unwrap();
        assert_eq!(out["Address"], "192.168.0.99");
        let err = call(
            &mut s,
            "CreateLoadBalancer",
            &[("AddressType", "intranet"), ("VSwitchId", VSW_A), ("Address", "192.168.0.99")],
        )
        .unwrap_err();
        assert_eq!(err.status, 400);
        let err = call(
            &mut s,
            "CreateLoadBalancer",
            &[("AddressType", "intranet"), ("VSwitchId", VSW_A), ("Address", "10.9.9.9")],
        )
        .unwrap_err();
        assert!(err.message.contains("Address"));
    }

    #[test]
    fn internet_instances_get_a_public_address() {
        let mut s = cloud();
        let out = call(&mut s, "CreateLoadBalancer", &[("AddressType", "internet")]).unwrap();
        let addr = out["Address"].as_str().unwrap();
        assert!(Cidr4::parse(crate::state::PUBLIC_POOL).unwrap().contains(Cidr4::parse(addr).unwrap()));
        assert_eq!(out["NetworkType"], "classic");
    }

    #[test]
    fn full_vswitch_answers_vswitch_available_ip_not_exist() {
        let mut s = cloud();
        // A /29 has four usable addresses.
        s.vswitches.get_mut(VSW_B).unwrap().cidr_block = "192.168.1.0/29".into();
        s.vswitches.get_mut(VSW_B).unwrap().used_offsets.clear();
        for _ in 0..4 {
            call(&mut s, "CreateLoadBalancer", &[("VSwitchId", VSW_B)]).unwrap();
        }
        let err = call(&mut s, "CreateLoadBalancer", &[("VSwitchId", VSW_B)]).unwrap_err();
        assert_eq!(err.code, "VSwitchAvailableIpNotExist");
    }

    #[test]
    fn client_token_makes_create_idempotent() {
        let mut s = cloud();
        let p = [("VSwitchId", VSW_A), ("ClientToken", "tok-1")];
        let a = call(&mut s, "CreateLoadBalancer", &p).unwrap();
        let b = call(&mut s, "CreateLoadBalancer", &p).unwrap();
        assert_eq!(a["LoadBalancerId"], b["LoadBalancerId"]);
        assert_eq!(s.slb.load_balancers.len(), 1);
    }

    #[test]
    fn invalid_parameters_are_named() {
        let mut s = cloud();
        for (name, value) in [
            ("LoadBalancerSpec", "slb.s9.huge"),
            ("AddressType", "public"),
            ("InstanceChargeType", "Free"),
            ("DeleteProtection", "maybe"),
            ("AddressIPVersion", "ipv5"),
        ] {
            let err = call(&mut s, "CreateLoadBalancer", &[("VSwitchId", VSW_A), (name, value)]).unwrap_err();
            assert_eq!(err.code, "InvalidParameter", "{name}");
            assert!(err.message.contains(name), "{}", err.message);
        }
        let err = call(&mut s, "CreateLoadBalancer", &[("VSwitchId", "vsw-none")]).unwrap_err();
        assert_eq!(err.code, "InvalidVSwitchId.NotFound");
        let err = call(&mut s, "CreateLoadBalancer", &[("AddressType", "intranet")]).unwrap_err();
        assert_eq!(err.code, "MissingParameter");
    }

    #[test]
    fn delete_protection_blocks_delete_until_turned_off() {
        let mut s = cloud();
        let out = call(&mut s, "CreateLoadBalancer", &[("VSwitchId", VSW_A), ("DeleteProtection", "on")]).unwrap();
        let id = out["LoadBalancerId"].as_str().unwrap().to_string();
        let err = call(&mut s, "DeleteLoadBalancer", &[("LoadBalancerId", &id)]).unwrap_err();
        assert_eq!(err.code, "OperationDenied.DeleteProtectionIsOn");
        assert_eq!(err.status, 400);
        call(&mut s, "SetLoadBalancerDeleteProtection", &[("LoadBalancerId", &id), ("DeleteProtection", "off")])
            .unwrap();
        call(&mut s, "DeleteLoadBalancer", &[("LoadBalancerId", &id)]).unwrap();
        let err = call(&mut s, "DescribeLoadBalancerAttribute", &[("LoadBalancerId", &id)]).unwrap_err();
        assert_eq!(err.code, "InvalidLoadBalancerId.NotFound");
        assert!(err.message.contains("LoadBalancerId does not exist"));
    }

    #[test]
    fn delete_removes_listeners_and_groups() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        let g = create_group(&mut s, &lb);
        create_tcp_listener(&mut s, &lb, 80, Some(&g));
        call(&mut s, "DeleteLoadBalancer", &[("LoadBalancerId", &lb)]).unwrap();
        assert!(s.slb.vserver_groups.is_empty());
        let err = call(&mut s, "DescribeVServerGroupAttribute", &[("VServerGroupId", &g)]).unwrap_err();
        assert!(err.message.contains("VServerGroupId does not exist"));
    }

    #[test]
    fn attribute_shows_protection_listeners_and_tags() {
        let mut s = cloud();
        let out = call(
            &mut s,
            "CreateLoadBalancer",
            &[
                ("VSwitchId", VSW_A),
                ("ModificationProtectionStatus", "ConsoleProtection"),
                ("ModificationProtectionReason", "managed.by.ack"),
                ("Tag.1.Key", "kubernetes.do.not.delete"),
                ("Tag.1.Value", "a123"),
            ],
        )
        .unwrap();
        let id = out["LoadBalancerId"].as_str().unwrap().to_string();
        create_tcp_listener(&mut s, &id, 443, None);
        let attr = call(&mut s, "DescribeLoadBalancerAttribute", &[("LoadBalancerId", &id)]).unwrap();
        assert_eq!(attr["ModificationProtectionStatus"], "ConsoleProtection");
        assert_eq!(attr["ModificationProtectionReason"], "managed.by.ack");
        assert_eq!(attr["DeleteProtection"], "off");
        assert_eq!(attr["LoadBalancerStatus"], "active");
        assert_eq!(attr["ListenerPorts"]["ListenerPort"][0], 443);
        assert_eq!(attr["ListenerPortsAndProtocol"]["ListenerPortAndProtocol"][0]["ListenerProtocol"], "tcp");
        assert_eq!(attr["ListenerPortsAndProtocal"]["ListenerPortAndProtocal"][0]["ListenerProtocal"], "tcp");
        assert_eq!(attr["Tags"]["Tag"][0]["TagKey"], "kubernetes.do.not.delete");
        assert_eq!(attr["MasterZoneId"], "cn-hangzhou-h");
        assert_eq!(attr["RegionId"], "cn-hangzhou");
        assert!(attr["CreateTime"].as_str().unwrap().ends_with('Z'));

        call(
            &mut s,
            "SetLoadBalancerModificationProtection",
            &[("LoadBalancerId", &id), ("ModificationProtectionStatus", "NonProtection")],
        )
        .unwrap();
        let attr = call(&mut s, "DescribeLoadBalancerAttribute", &[("LoadBalancerId", &id)]).unwrap();
        assert_eq!(attr["ModificationProtectionReason"], "");
    }

    #[test]
    fn describe_filters_by_tags_json_and_pages() {
        let mut s = cloud();
        let mut tagged = Vec::new();
        for i in 0..12 {
            let value = if i % 2 == 0 { "even" } else { "odd" };
            let out = call(
                &mut s,
                "CreateLoadBalancer",
                &[("VSwitchId", VSW_A), ("Tag.1.Key", "parity"), ("Tag.1.Value", value)],
            )
            .unwrap();
            if i % 2 == 0 {
                tagged.push(out["LoadBalancerId"].as_str().unwrap().to_string());
            }
        }
        let out =
            call(&mut s, "DescribeLoadBalancers", &[("Tags", r#"[{"TagKey":"parity","TagValue":"even"}]"#)]).unwrap();
        assert_eq!(out["TotalCount"], 6);
        let got: Vec<&str> = out["LoadBalancers"]["LoadBalancer"]
            .as_array()
            .unwrap()
            .iter()
            .map(|lb| lb["LoadBalancerId"].as_str().unwrap())
            .collect();
        assert_eq!(got, tagged.iter().map(String::as_str).collect::<Vec<_>>());

        // 12 in total: default page of 10, then 2.
        let p1 = call(&mut s, "DescribeLoadBalancers", &[]).unwrap();
        assert_eq!(p1["TotalCount"], 12);
        assert_eq!(p1["LoadBalancers"]["LoadBalancer"].as_array().unwrap().len(), 10);
        let p2 = call(&mut s, "DescribeLoadBalancers", &[("PageNumber", "2")]).unwrap();
        assert_eq!(p2["LoadBalancers"]["LoadBalancer"].as_array().unwrap().len(), 2);
        assert_eq!(p2["PageNumber"], 2);
        let err = call(&mut s, "DescribeLoadBalancers", &[("PageSize", "0")]).unwrap_err();
        assert!(err.message.contains("PageSize"));

        // Comma-separated ids.
        let ids = format!("{},{}", tagged[0], tagged[1]);
        let out = call(&mut s, "DescribeLoadBalancers", &[("LoadBalancerId", &ids)]).unwrap();
        assert_eq!(out["TotalCount"], 2);
        let out = call(&mut s, "DescribeLoadBalancers", &[("LoadBalancerName", "no-such")]).unwrap();
        assert_eq!(out["TotalCount"], 0);
        assert_eq!(out["LoadBalancers"]["LoadBalancer"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn describe_filters_by_network_fields() {
        let mut s = cloud();
        let intranet = create_intranet_lb(&mut s);
        let out = call(&mut s, "CreateLoadBalancer", &[("AddressType", "internet")]).unwrap();
        let internet = out["LoadBalancerId"].as_str().unwrap().to_string();
        call(&mut s, "SetLoadBalancerStatus", &[("LoadBalancerId", &internet), ("LoadBalancerStatus", "inactive")])
            .unwrap();
        let ids = |out: serde_json::Value| -> Vec<String> {
            out["LoadBalancers"]["LoadBalancer"]
                .as_array()
                .unwrap()
                .iter()
                .map(|lb| lb["LoadBalancerId"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            ids(call(&mut s, "DescribeLoadBalancers", &[("AddressType", "intranet")]).unwrap()),
            vec![intranet.clone()]
        );
        assert_eq!(ids(call(&mut s, "DescribeLoadBalancers", &[("VpcId", VPC)]).unwrap()), vec![intranet.clone()]);
        assert_eq!(
            ids(call(&mut s, "DescribeLoadBalancers", &[("NetworkType", "Classic")]).unwrap()),
            vec![internet.clone()]
        );
        assert_eq!(
            ids(call(&mut s, "DescribeLoadBalancers", &[("LoadBalancerStatus", "inactive")]).unwrap()),
            vec![internet]
        );
        let addr = s.slb.load_balancers[&intranet].address.clone();
        assert_eq!(ids(call(&mut s, "DescribeLoadBalancers", &[("Address", &addr)]).unwrap()), vec![intranet.clone()]);
        let names = format!("{},no-such-name", s.slb.load_balancers[&intranet].load_balancer_name);
        assert_eq!(ids(call(&mut s, "DescribeLoadBalancers", &[("LoadBalancerName", &names)]).unwrap()).len(), 2);
        let err = call(&mut s, "DescribeLoadBalancers", &[("AddressType", "public")]).unwrap_err();
        assert!(err.message.contains("AddressType"));
    }

    #[test]
    fn instance_charge_type_switches_between_spec_and_clcu() {
        let mut s = cloud();
        let out = call(
            &mut s,
            "CreateLoadBalancer",
            &[("VSwitchId", VSW_A), ("InstanceChargeType", "PayByCLCU"), ("LoadBalancerSpec", "slb.s2.small")],
        )
        .unwrap();
        let id = out["LoadBalancerId"].as_str().unwrap().to_string();
        assert_eq!(s.slb.load_balancers[&id].load_balancer_spec, "", "the spec is ignored for PayByCLCU");
        let err = call(
            &mut s,
            "ModifyLoadBalancerInstanceChargeType",
            &[("LoadBalancerId", &id), ("InstanceChargeType", "PayBySpec")],
        )
        .unwrap_err();
        assert!(err.message.contains("LoadBalancerSpec"));
        call(
            &mut s,
            "ModifyLoadBalancerInstanceChargeType",
            &[("LoadBalancerId", &id), ("InstanceChargeType", "PayBySpec"), ("LoadBalancerSpec", "slb.s3.small")],
        )
        .unwrap();
        let attr = call(&mut s, "DescribeLoadBalancerAttribute", &[("LoadBalancerId", &id)]).unwrap();
        assert_eq!(attr["InstanceChargeType"], "PayBySpec");
        assert_eq!(attr["LoadBalancerSpec"], "slb.s3.small");
    }

    #[test]
    fn modify_spec_and_internet_spec() {
        let mut s = cloud();
        let out = call(&mut s, "CreateLoadBalancer", &[("AddressType", "internet")]).unwrap();
        let id = out["LoadBalancerId"].as_str().unwrap().to_string();
        call(
            &mut s,
            "ModifyLoadBalancerInstanceSpec",
            &[("LoadBalancerId", &id), ("LoadBalancerSpec", "slb.s2.small")],
        )
        .unwrap();
        call(
            &mut s,
            "ModifyLoadBalancerInternetSpec",
            &[("LoadBalancerId", &id), ("InternetChargeType", "paybybandwidth"), ("Bandwidth", "20")],
        )
        .unwrap();
        call(&mut s, "SetLoadBalancerName", &[("LoadBalancerId", &id), ("LoadBalancerName", "renamed")]).unwrap();
        call(&mut s, "SetLoadBalancerStatus", &[("LoadBalancerId", &id), ("LoadBalancerStatus", "inactive")]).unwrap();
        let lb = &s.slb.load_balancers[&id];
        assert_eq!(lb.load_balancer_spec, "slb.s2.small");
        assert_eq!(lb.internet_charge_type, "paybybandwidth");
        assert_eq!(lb.bandwidth, 20);
        assert_eq!(lb.load_balancer_name, "renamed");
        assert_eq!(lb.load_balancer_status, "inactive");
        let err = call(&mut s, "ModifyLoadBalancerInternetSpec", &[("LoadBalancerId", &id), ("Bandwidth", "6000")])
            .unwrap_err();
        assert!(err.message.contains("Bandwidth"));
    }
}
