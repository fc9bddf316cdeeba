//! VPC `2016-04-28`: VPCs, vSwitches, route tables and entries, EIPs.

use std::collections::BTreeSet;
use std::net::Ipv6Addr;

use serde_json::{Value, json};

use crate::common::{
    KNOWN_REGIONS, PageNumbers, TokenPage, comma_list, dry_run, matches_tags, region_matches, tag_filters, vpc_tags,
};
use crate::net::Cidr4;
use crate::state::{CloudState, Eip, RouteEntry, RouteTable, VSwitch, Vpc};
use crate::wire::{ApiFault, Request};

/// Most entries in one CreateRouteEntries/DeleteRouteEntries call.
pub const MAX_BATCH: usize = 50;

/// Handles one VPC action; `None` when the action is not emulated.
pub fn handle(state: &mut CloudState, action: &str, req: &Request) -> Option<Result<Value, ApiFault>> {
    let result = match action {
        "DescribeVpcs" => describe_vpcs(state, req),
        "DescribeVpcAttribute" => describe_vpc_attribute(state, req),
        "DescribeVSwitches" => describe_vswitches(state, req),
        "DescribeVSwitchAttributes" => describe_vswitch_attributes(state, req),
        "DescribeRouteTableList" => describe_route_table_list(state, req),
        "DescribeRouteTables" => describe_route_tables(state, req),
        "DescribeRouteEntryList" => describe_route_entry_list(state, req),
        "CreateRouteEntry" => create_route_entry(state, req),
        "DeleteRouteEntry" => delete_route_entry(state, req),
        "CreateRouteEntries" => create_route_entries(state, req),
        "DeleteRouteEntries" => delete_route_entries(state, req),
        "DescribeEipAddresses" => describe_eip_addresses(state, req),
        "DescribeRegions" => Ok(describe_regions(state)),
        "DescribeZones" => describe_zones(state, req),
        _ => return None,
    };
    Some(result)
}

fn vpc_not_found() -> ApiFault {
    ApiFault::not_found("InvalidVpcId.NotFound", "Specified VPC does not exist.")
}

fn table_not_found() -> ApiFault {
    ApiFault::not_found("InvalidRouteTableId.NotFound", "The specified route table does not exist.")
}

fn vpc_json(state: &CloudState, v: &Vpc) -> Value {
    let vswitches: Vec<&String> =
        state.vswitches.values().filter(|s| s.vpc_id == v.vpc_id).map(|s| &s.vswitch_id).collect();
    let tables: Vec<&String> =
        state.route_tables.values().filter(|t| t.vpc_id == v.vpc_id).map(|t| &t.route_table_id).collect();
    json!({
        "VpcId": v.vpc_id,
        "VpcName": v.vpc_name,
        "RegionId": state.region_id,
        "Status": v.status,
        "CidrBlock": v.cidr_block,
        "Ipv6CidrBlock": v.ipv6_cidr_block,
        "VRouterId": v.vrouter_id,
        "IsDefault": v.is_default,
        "CreationTime": v.creation_time,
        "Description": v.description,
        "ResourceGroupId": "rg-acfmfakedefault",
        "OwnerId": owner_id(state),
        "CenStatus": "Detached",
        "DhcpOptionsSetId": "",
        "DhcpOptionsSetStatus": "",
        "VSwitchIds": { "VSwitchId": vswitches },
        "RouterTableIds": { "RouterTableIds": tables },
        "NatGatewayIds": { "NatGatewayIds": [] },
        "SecondaryCidrBlocks": { "SecondaryCidrBlock": [] },
        "UserCidrs": { "UserCidr": [] },
        "Ipv6CidrBlocks": { "Ipv6CidrBlock": ipv6_blocks(&v.ipv6_cidr_block) },
        "Tags": vpc_tags(&v.tags),
    })
}

fn owner_id(state: &CloudState) -> Value {
    state.account_id.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(0))
}

fn ipv6_blocks(block: &str) -> Vec<Value> {
    if block.is_empty() {
        return Vec::new();
    }
    vec![json!({"Ipv6CidrBlock": block, "Ipv6Isp": "BGP"})]
}

fn describe_vpcs(state: &CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, true)?;
    let ids = comma_list(req.get("VpcId"));
    if ids.len() > 20 {
        return Err(ApiFault::invalid("VpcId", "At most 20 VPC IDs can be specified."));
    }
    let is_default = req.opt_bool("IsDefault")?;
    let paging = PageNumbers::read(req, 50, 10)?;
    let tags = tag_filters(req);
    let selected: Vec<&Vpc> = state
        .vpcs
        .values()
        .filter(|_| in_region)
        .filter(|v| ids.is_empty() || ids.contains(&v.vpc_id))
        .filter(|v| req.get("VpcName").is_none_or(|n| n.is_empty() || n == v.vpc_name))
        .filter(|v| is_default.is_none_or(|d| d == v.is_default))
        .filter(|v| matches_tags(&v.tags, &tags))
        .collect();
    let list: Vec<Value> = paging.slice(&selected).iter().map(|v| vpc_json(state, v)).collect();
    Ok(json!({
        "TotalCount": selected.len(),
        "PageNumber": paging.number,
        "PageSize": paging.size,
        "Vpcs": { "Vpc": list },
    }))
}

fn describe_vpc_attribute(state: &CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, true)?;
    let id = req.required("VpcId")?;
    let vpc = state.vpc(id).filter(|_| in_region).ok_or_else(vpc_not_found)?;
    let mut body = vpc_json(state, vpc);
    let vswitch_count = state.vswitches.values().filter(|s| s.vpc_id == vpc.vpc_id).count();
    let instance_count = state.instances.values().filter(|i| i.vpc_id == vpc.vpc_id).count();
    if let Value::Object(map) = &mut body {
        map.remove("RouterTableIds");
        map.remove("NatGatewayIds");
        map.insert("ClassicLinkEnabled".into(), Value::Bool(false));
        map.insert("EnabledIpv6".into(), Value::Bool(!vpc.ipv6_cidr_block.is_empty()));
        map.insert("SupportIpv4Gateway".into(), Value::Bool(false));
        map.insert("AssociatedCens".into(), json!({ "AssociatedCen": [] }));
        map.insert(
            "CloudResources".into(),
            json!({ "CloudResourceSetType": [
                {"ResourceType": "VSwitch", "ResourceCount": vswitch_count},
                {"ResourceType": "Ecs", "ResourceCount": instance_count},
            ] }),
        );
    }
    Ok(body)
}

fn vswitch_json(state: &CloudState, v: &VSwitch) -> Value {
    let table_type = state.route_tables.get(&v.route_table_id).map(|t| t.route_table_type.clone()).unwrap_or_default();
    json!({
        "VSwitchId": v.vswitch_id,
        "VSwitchName": v.vswitch_name,
        "VpcId": v.vpc_id,
        "ZoneId": v.zone_id,
        "CidrBlock": v.cidr_block,
        "Ipv6CidrBlock": v.ipv6_cidr_block,
        "Status": v.status,
        "AvailableIpAddressCount": v.available_ip_address_count,
        "IsDefault": v.is_default,
        "CreationTime": v.creation_time,
        "Description": v.description,
        "NetworkAclId": "",
        "OwnerId": owner_id(state),
        "ResourceGroupId": "rg-acfmfakedefault",
        "ShareType": "",
        "EnabledIpv6": !v.ipv6_cidr_block.is_empty(),
        "RouteTable": { "RouteTableId": v.route_table_id, "RouteTableType": table_type },
        "Tags": vpc_tags(&v.tags),
    })
}

fn describe_vswitches(state: &CloudState, req: &Request) -> Result<Value, ApiFault> {
    let vpc_filter = req.get("VpcId").filter(|v| !v.is_empty());
    let in_region = region_matches(state, req, vpc_filter.is_none())?;
    let ids = comma_list(req.get("VSwitchId"));
    let is_default = req.opt_bool("IsDefault")?;
    let paging = PageNumbers::read(req, 50, 10)?;
    let tags = tag_filters(req);
    let eq = |name: &str, actual: &str| req.get(name).is_none_or(|w| w.is_empty() || w == actual);
    let selected: Vec<&VSwitch> = state
        .vswitches
        .values()
        .filter(|_| in_region)
        .filter(|v| ids.is_empty() || ids.contains(&v.vswitch_id))
        .filter(|v| eq("VpcId", &v.vpc_id) && eq("ZoneId", &v.zone_id))
        .filter(|v| eq("RouteTableId", &v.route_table_id) && eq("VSwitchName", &v.vswitch_name))
        .filter(|v| is_default.is_none_or(|d| d == v.is_default))
        .filter(|v| matches_tags(&v.tags, &tags))
        .collect();
    let list: Vec<Value> = paging.slice(&selected).iter().map(|v| vswitch_json(state, v)).collect();
    Ok(json!({
        "TotalCount": selected.len(),
        "PageNumber": paging.number,
        "PageSize": paging.size,
        "VSwitches": { "VSwitch": list },
    }))
}

fn describe_vswitch_attributes(state: &CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, true)?;
    let id = req.required("VSwitchId")?;
    let vsw = state
        .vswitch(id)
        .filter(|_| in_region)
        .ok_or_else(|| ApiFault::not_found("InvalidVSwitchId.NotFound", "Specified VSwitch does not exist."))?;
    Ok(vswitch_json(state, vsw))
}

fn table_json(state: &CloudState, t: &RouteTable) -> Value {
    json!({
        "RouteTableId": t.route_table_id,
        "RouteTableName": t.route_table_name,
        "RouteTableType": t.route_table_type,
        "RouterId": t.router_id,
        "RouterType": "VRouter",
        "VpcId": t.vpc_id,
        "Status": "Available",
        "CreationTime": t.creation_time,
        "Description": t.description,
        "OwnerId": owner_id(state),
        "ResourceGroupId": "rg-acfmfakedefault",
        "AssociateType": "VSwitch",
        "VSwitchIds": { "VSwitchId": t.vswitch_ids },
        "GatewayIds": { "GatewayIds": [] },
        "Tags": vpc_tags(&[]),
    })
}

fn describe_route_table_list(state: &CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, true)?;
    let paging = PageNumbers::read(req, 50, 10)?;
    if let Some(kind) = req.get("RouterType").filter(|k| !k.is_empty())
        && kind != "VRouter"
        && kind != "VBR"
    {
        return Err(ApiFault::invalid("RouterType", "It must be VRouter or VBR."));
    }
    let vbr = req.get("RouterType") == Some("VBR");
    let eq = |name: &str, actual: &str| req.get(name).is_none_or(|w| w.is_empty() || w == actual);
    let selected: Vec<&RouteTable> = state
        .route_tables
        .values()
        .filter(|_| in_region && !vbr)
        .filter(|t| eq("VpcId", &t.vpc_id) && eq("RouteTableId", &t.route_table_id))
        .filter(|t| eq("RouteTableType", &t.route_table_type) && eq("RouterId", &t.router_id))
        .filter(|t| eq("RouteTableName", &t.route_table_name))
        .collect();
    let list: Vec<Value> = paging.slice(&selected).iter().map(|t| table_json(state, t)).collect();
    Ok(json!({
        "Success": true,
        "Code": "200",
        "Message": "successful",
        "TotalCount": selected.len(),
        "PageNumber": paging.number,
        "PageSize": paging.size,
        "RouterTableList": { "RouterTableListType": list },
    }))
}

/// DescribeRouteTables pages over route entries, grouping each page's
/// entries under their tables.
fn describe_route_tables(state: &CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, true)?;
    let paging = PageNumbers::read(req, 50, 10)?;
    let eq = |name: &str, actual: &str| req.get(name).is_none_or(|w| w.is_empty() || w == actual);
    let tables: Vec<&RouteTable> = state
        .route_tables
        .values()
        .filter(|_| in_region)
        .filter(|t| eq("RouteTableId", &t.route_table_id) && eq("VRouterId", &t.router_id))
        .filter(|t| eq("RouterId", &t.router_id) && eq("RouteTableName", &t.route_table_name))
        .filter(|t| eq("Type", &t.route_table_type))
        .collect();
    let pairs: Vec<(&RouteTable, &RouteEntry)> =
        tables.iter().flat_map(|t| t.entries.iter().map(move |e| (*t, e))).collect();
    let mut grouped: Vec<(&RouteTable, Vec<Value>)> = Vec::new();
    for (table, entry) in paging.slice(&pairs) {
        let item = json!({
            "RouteTableId": table.route_table_id,
            "DestinationCidrBlock": entry.destination_cidr_block,
            "Type": entry.entry_type,
            "Status": entry.status,
            "InstanceId": entry.next_hop_id,
            "NextHopType": entry.next_hop_type,
            "RouteEntryId": entry.route_entry_id,
            "RouteEntryName": entry.route_entry_name,
            "Description": entry.description,
            "IpVersion": entry.ip_version,
            "NextHops": { "NextHop": [] },
        });
        match grouped.last_mut() {
            Some((t, items)) if t.route_table_id == table.route_table_id => items.push(item),
            _ => grouped.push((table, vec![item])),
        }
    }
    let list: Vec<Value> = grouped
        .into_iter()
        .map(|(t, items)| {
            json!({
                "VRouterId": t.router_id,
                "RouteTableId": t.route_table_id,
                "RouteTableType": t.route_table_type,
                "RouteTableName": t.route_table_name,
                "CreationTime": t.creation_time,
                "Description": t.description,
                "ResourceGroupId": "rg-acfmfakedefault",
                "VSwitchIds": { "VSwitchId": t.vswitch_ids },
                "RouteEntrys": { "RouteEntry": items },
            })
        })
        .collect();
    Ok(json!({
        "TotalCount": pairs.len(),
        "PageNumber": paging.number,
        "PageSize": paging.size,
        "RouteTables": { "RouteTable": list },
    }))
}

fn entry_json(state: &CloudState, table_id: &str, e: &RouteEntry) -> Value {
    let hops: Vec<Value> = if e.entry_type == "System" {
        Vec::new()
    } else {
        let instance_type = state.instance(&e.next_hop_id).map(|i| i.instance_type.clone()).unwrap_or_default();
        vec![json!({
            "NextHopType": e.next_hop_type,
            "NextHopId": e.next_hop_id,
            "Enabled": 1,
            "Weight": 0,
            "NextHopRegionId": state.region_id,
            "NextHopRelatedInfo": {
                "InstanceId": "",
                "InstanceType": if e.next_hop_type == "Instance" { instance_type } else { String::new() },
                "RegionId": "",
            },
        })]
    };
    json!({
        "RouteEntryId": e.route_entry_id,
        "RouteEntryName": e.route_entry_name,
        "RouteTableId": table_id,
        "DestinationCidrBlock": e.destination_cidr_block,
        "Type": e.entry_type,
        "Status": e.status,
        "IpVersion": e.ip_version,
        "Description": e.description,
        "Origin": "",
        "ServiceType": "",
        "GmtModified": e.gmt_modified,
        "NextHops": { "NextHop": hops },
    })
}

fn describe_route_entry_list(state: &CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, true)?;
    let table_id = req.required("RouteTableId")?;
    let paging = TokenPage::read(req, "MaxResult", 1, 100, 10)?;
    let table = state.route_tables.get(table_id).filter(|_| in_region).ok_or_else(table_not_found)?;
    let destination = req.get("DestinationCidrBlock").filter(|d| !d.is_empty()).map(normalize_destination);
    let destinations: Vec<String> = req.indexed("DestCidrBlockList").iter().map(|d| normalize_destination(d)).collect();
    let eq = |name: &str, actual: &str| req.get(name).is_none_or(|w| w.is_empty() || w == actual);
    let selected: Vec<&RouteEntry> = table
        .entries
        .iter()
        .filter(|e| eq("RouteEntryId", &e.route_entry_id) && eq("RouteEntryType", &e.entry_type))
        .filter(|e| eq("NextHopId", &e.next_hop_id) && eq("NextHopType", &e.next_hop_type))
        .filter(|e| eq("IpVersion", &e.ip_version) && eq("RouteEntryName", &e.route_entry_name))
        .filter(|e| destination.as_ref().is_none_or(|d| *d == e.destination_cidr_block))
        .filter(|e| destinations.is_empty() || destinations.contains(&e.destination_cidr_block))
        .collect();
    let (page, next) = paging.slice(&selected);
    let list: Vec<Value> = page.iter().map(|e| entry_json(state, table_id, e)).collect();
    Ok(json!({
        "NextToken": next,
        "RouteEntrys": { "RouteEntry": list },
    }))
}

/// A bare IPv4 address is a /32, as the API documents.
fn normalize_destination(text: &str) -> String {
    match Cidr4::parse(text) {
        Some(c) => c.to_string(),
        None => text.to_string(),
    }
}

/// A validated route destination.
#[derive(Debug, Clone)]
struct Destination {
    text: String,
    ip_version: &'static str,
    v4: Option<Cidr4>,
}

fn parse_destination(text: &str) -> Result<Destination, ApiFault> {
    let malformed = || ApiFault::bad_request("InvalidCidrBlock.Malformed", "Specified CIDR block is not valid.");
    if text.contains(':') {
        let (addr, prefix) = text.split_once('/').unwrap_or((text, "128"));
        let addr: Ipv6Addr = addr.parse().map_err(|_| malformed())?;
        let prefix: u8 = prefix.parse().map_err(|_| malformed())?;
        if prefix > 128 {
            return Err(malformed());
        }
        return Ok(Destination { text: format!("{addr}/{prefix}"), ip_version: "ipv6", v4: None });
    }
    let cidr = Cidr4::parse(text).ok_or_else(malformed)?;
    Ok(Destination { text: cidr.to_string(), ip_version: "ipv4", v4: Some(cidr) })
}

/// One route to create, from CreateRouteEntry or one CreateRouteEntries item.
#[derive(Debug, Clone)]
struct NewRoute {
    table_id: String,
    destination: String,
    next_hop_type: String,
    next_hop_id: String,
    name: String,
    description: String,
}

fn check_destination(state: &CloudState, table: &RouteTable, dest: &Destination) -> Result<(), ApiFault> {
    let Some(cidr) = dest.v4 else {
        return Ok(());
    };
    let overlaps_vswitch = state
        .vswitches
        .values()
        .filter(|v| v.vpc_id == table.vpc_id)
        .filter_map(|v| Cidr4::parse(&v.cidr_block))
        .any(|v| v.contains(cidr));
    let service = Cidr4::parse("100.64.0.0/10").is_some_and(|s| s.overlaps(cidr));
    if overlaps_vswitch || service {
        return Err(ApiFault::bad_request(
            "InvalidCidrBlock",
            "The destination CIDR block is equal to or contained in a vSwitch CIDR block or the reserved range 100.64.0.0/10.",
        ));
    }
    Ok(())
}

fn check_next_hop(state: &CloudState, table: &RouteTable, kind: &str, id: &str) -> Result<(), ApiFault> {
    if id.is_empty() {
        return Err(ApiFault::missing("NextHopId"));
    }
    let vpc_of_hop = match kind {
        "Instance" => state.instance(id).map(|i| i.vpc_id.clone()),
        "NetworkInterface" => state.eni(id).map(|e| e.vpc_id.clone()),
        _ => {
            return Err(ApiFault::bad_request(
                "InvalidNextHop.NotFound",
                format!("Next hop type {kind} is not emulated; use Instance or NetworkInterface."),
            ));
        }
    };
    match vpc_of_hop {
        None => Err(ApiFault::not_found("InvalidNextHopId.NotFound", "Specified next hop does not exist.")),
        Some(vpc) if vpc != table.vpc_id => {
            Err(ApiFault::bad_request("IllegalParam.NextHopId", "Instance not exists or not vpc vm."))
        }
        Some(_) => Ok(()),
    }
}

fn table_is_busy(table: &RouteTable) -> bool {
    table.entries.iter().any(|e| matches!(e.status.as_str(), "Pending" | "Modifying" | "Deleting"))
}

fn busy_fault() -> ApiFault {
    ApiFault::bad_request("IncorrectRouteEntryStatus", "Some route entry status blocked this operation.")
}

/// Validates and adds one custom route (status `Pending`). `check_busy`
/// is false for the later items of a batch, which may share a table.
fn add_route(state: &mut CloudState, route: &NewRoute, check_busy: bool) -> Result<String, ApiFault> {
    let table = state.route_tables.get(&route.table_id).ok_or_else(table_not_found)?;
    let dest = parse_destination(&route.destination)?;
    check_destination(state, table, &dest)?;
    if table.entries.iter().any(|e| e.destination_cidr_block == dest.text) {
        return Err(ApiFault::bad_request("InvalidCIDRBlock.Duplicate", "Specified CIDR block is already exists."));
    }
    if check_busy && table_is_busy(table) {
        return Err(busy_fault());
    }
    let custom = table.entries.iter().filter(|e| e.entry_type == "Custom").count();
    if custom >= state.behaviour.route_entry_quota {
        return Err(ApiFault::bad_request("QuotaExceeded", "Route entry quota exceeded in this route table."));
    }
    check_next_hop(state, table, &route.next_hop_type, &route.next_hop_id)?;
    let id = state.ids.next("rte-bp1");
    let entry = RouteEntry {
        route_entry_id: id.clone(),
        route_entry_name: route.name.clone(),
        destination_cidr_block: dest.text,
        entry_type: "Custom".into(),
        status: "Pending".into(),
        next_hop_type: route.next_hop_type.clone(),
        next_hop_id: route.next_hop_id.clone(),
        ip_version: dest.ip_version.into(),
        description: route.description.clone(),
        gmt_modified: state.timestamp(),
        settles_at: Some(state.now() + state.behaviour.route_entry_delay),
    };
    if let Some(table) = state.route_tables.get_mut(&route.table_id) {
        table.entries.push(entry);
    }
    state.settle();
    Ok(id)
}

fn create_route_entry(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, false)?;
    let table_id = req.required("RouteTableId")?;
    let destination = req.required("DestinationCidrBlock")?;
    if !in_region {
        return Err(table_not_found());
    }
    if !req.indexed_records("NextHopList").is_empty() {
        return Err(ApiFault::bad_request("InvalidNextHop.NotFound", "ECMP routes (NextHopList) are not emulated."));
    }
    let route = NewRoute {
        table_id: table_id.to_string(),
        destination: destination.to_string(),
        next_hop_type: req.get("NextHopType").filter(|t| !t.is_empty()).unwrap_or("Instance").to_string(),
        next_hop_id: req.get("NextHopId").unwrap_or_default().to_string(),
        name: req.get("RouteEntryName").unwrap_or_default().to_string(),
        description: req.get("Description").unwrap_or_default().to_string(),
    };
    if req.opt_bool("DryRun")? == Some(true) {
        validate_only(state, &route)?;
        dry_run(req)?;
    }
    let id = add_route(state, &route, true)?;
    Ok(json!({ "RouteEntryId": id }))
}

/// Runs the create checks without creating (for DryRun).
fn validate_only(state: &CloudState, route: &NewRoute) -> Result<(), ApiFault> {
    let table = state.route_tables.get(&route.table_id).ok_or_else(table_not_found)?;
    let dest = parse_destination(&route.destination)?;
    check_destination(state, table, &dest)?;
    check_next_hop(state, table, &route.next_hop_type, &route.next_hop_id)
}

/// Where an entry to delete is: table id and index.
fn locate_entry(
    state: &CloudState,
    entry_id: Option<&str>,
    table_id: Option<&str>,
    destination: Option<&str>,
    next_hop: Option<&str>,
) -> Result<(String, usize), ApiFault> {
    let not_found = || ApiFault::bad_request("InvalidRouteEntry.NotFound", "Route entry not exists.");
    if let Some(table_id) = table_id {
        let table = state.route_tables.get(table_id).ok_or_else(table_not_found)?;
        let dest = destination.map(normalize_destination);
        let index = table
            .entries
            .iter()
            .position(|e| {
                entry_id.is_none_or(|id| id == e.route_entry_id)
                    && dest.as_ref().is_none_or(|d| *d == e.destination_cidr_block)
                    && next_hop.is_none_or(|h| h == e.next_hop_id)
            })
            .ok_or_else(not_found)?;
        return Ok((table_id.to_string(), index));
    }
    let entry_id = entry_id.ok_or_else(|| ApiFault::missing("RouteEntryId"))?;
    state
        .route_tables
        .values()
        .find_map(|t| {
            t.entries.iter().position(|e| e.route_entry_id == entry_id).map(|i| (t.route_table_id.clone(), i))
        })
        .ok_or_else(not_found)
}

/// Starts deleting one entry (status `Deleting`, gone after the delay).
fn remove_route(state: &mut CloudState, table_id: &str, index: usize, check_busy: bool) -> Result<(), ApiFault> {
    let settles_at = state.now() + state.behaviour.route_entry_delay;
    let now = state.timestamp();
    let table = state.route_tables.get_mut(table_id).ok_or_else(table_not_found)?;
    let entry = table
        .entries
        .get(index)
        .ok_or_else(|| ApiFault::bad_request("InvalidRouteEntry.NotFound", "Route entry not exists."))?;
    if entry.entry_type == "System" {
        return Err(ApiFault::bad_request("OperationDenied", "A system route entry cannot be deleted."));
    }
    if check_busy && table_is_busy(table) {
        return Err(busy_fault());
    }
    if let Some(entry) = table.entries.get_mut(index) {
        entry.status = "Deleting".into();
        entry.settles_at = Some(settles_at);
        entry.gmt_modified = now;
    }
    state.settle();
    Ok(())
}

fn delete_route_entry(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, false)?;
    let entry_id = req.get("RouteEntryId").filter(|v| !v.is_empty());
    let table_id = req.get("RouteTableId").filter(|v| !v.is_empty());
    let destination = req.get("DestinationCidrBlock").filter(|v| !v.is_empty());
    let next_hop = req.get("NextHopId").filter(|v| !v.is_empty());
    if entry_id.is_none() && (table_id.is_none() || destination.is_none()) {
        return Err(ApiFault::missing(if table_id.is_none() { "RouteEntryId" } else { "DestinationCidrBlock" }));
    }
    if !in_region {
        return Err(table_not_found());
    }
    let (table, index) = locate_entry(state, entry_id, table_id, destination, next_hop)?;
    dry_run(req)?;
    remove_route(state, &table, index, true)?;
    Ok(json!({}))
}

fn batch_items(req: &Request) -> Result<Vec<std::collections::BTreeMap<String, String>>, ApiFault> {
    let items = req.indexed_records("RouteEntries");
    if items.is_empty() {
        return Err(ApiFault::missing("RouteEntries.1.RouteTableId"));
    }
    if items.len() > MAX_BATCH {
        return Err(ApiFault::invalid(
            "RouteEntries",
            &format!("At most {MAX_BATCH} route entries can be specified in one call."),
        ));
    }
    Ok(items)
}

fn create_route_entries(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    region_matches(state, req, true)?;
    let items = batch_items(req)?;
    let busy_before: BTreeSet<String> =
        state.route_tables.values().filter(|t| table_is_busy(t)).map(|t| t.route_table_id.clone()).collect();
    let mut ids = Vec::new();
    let mut failed = Vec::new();
    for item in &items {
        let field = |k: &str| item.get(k).cloned().unwrap_or_default();
        let route = NewRoute {
            table_id: field("RouteTableId"),
            destination: field("DstCidrBlock"),
            next_hop_type: item
                .get("NextHopType")
                .filter(|t| !t.is_empty())
                .cloned()
                .unwrap_or_else(|| "Instance".into()),
            next_hop_id: field("NextHop"),
            name: field("Name"),
            description: field("Description"),
        };
        let result = if route.table_id.is_empty() {
            Err(ApiFault::missing("RouteTableId"))
        } else if route.destination.is_empty() {
            Err(ApiFault::missing("DstCidrBlock"))
        } else if busy_before.contains(&route.table_id) {
            Err(busy_fault())
        } else {
            add_route(state, &route, false)
        };
        match result {
            Ok(id) => ids.push(id),
            Err(f) => failed.push(json!({
                "DstCidrBlock": route.destination,
                "NextHop": route.next_hop_id,
                "FailedCode": f.code,
                "FailedMessage": f.message,
            })),
        }
    }
    Ok(json!({
        "SuccessCount": ids.len(),
        "FailedCount": failed.len(),
        "RouteEntryIds": ids,
        "FailedRouteEntries": failed,
    }))
}

fn delete_route_entries(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    region_matches(state, req, true)?;
    let items = batch_items(req)?;
    let busy_before: BTreeSet<String> =
        state.route_tables.values().filter(|t| table_is_busy(t)).map(|t| t.route_table_id.clone()).collect();
    let mut ok = 0usize;
    let mut failed = Vec::new();
    for item in &items {
        let get = |k: &str| item.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let result = match get("RouteTableId") {
            None => Err(ApiFault::missing("RouteTableId")),
            Some(t) if busy_before.contains(t) => Err(busy_fault()),
            Some(t) if get("RouteEntryId").is_none() && get("DstCidrBlock").is_none() => {
                let _ = t;
                Err(ApiFault::missing("DstCidrBlock"))
            }
            Some(t) => locate_entry(state, get("RouteEntryId"), Some(t), get("DstCidrBlock"), get("NextHop"))
                .and_then(|(table, index)| remove_route(state, &table, index, false)),
        };
        match result {
            Ok(()) => ok += 1,
            Err(f) => failed.push(json!({
                "DstCidrBlock": get("DstCidrBlock").unwrap_or_default(),
                "NextHop": get("NextHop").unwrap_or_default(),
                "RouteEntryId": get("RouteEntryId").unwrap_or_default(),
                "FailedCode": f.code,
                "FailedMessage": f.message,
            })),
        }
    }
    Ok(json!({
        "SuccessCount": ok,
        "FailedCount": failed.len(),
        "FailedRouteEntries": failed,
    }))
}

fn eip_json(state: &CloudState, e: &Eip) -> Value {
    json!({
        "AllocationId": e.allocation_id,
        "IpAddress": e.ip_address,
        "Name": e.name,
        "Description": "",
        "RegionId": state.region_id,
        "Status": e.status,
        "InstanceId": e.instance_id.clone().unwrap_or_default(),
        "InstanceType": e.instance_type.clone().unwrap_or_default(),
        "InstanceRegionId": if e.instance_id.is_some() { state.region_id.clone() } else { String::new() },
        "PrivateIpAddress": "",
        "Bandwidth": e.bandwidth,
        "InternetChargeType": e.internet_charge_type,
        "ChargeType": "PostPaid",
        "AllocationTime": e.allocation_time,
        "ExpiredTime": "",
        "Mode": "NAT",
        "ISP": "BGP",
        "Netmode": "public",
        "ResourceGroupId": "rg-acfmfakedefault",
        "DeletionProtection": false,
        "OperationLocks": { "LockReason": [] },
        "Tags": vpc_tags(&[]),
    })
}

fn describe_eip_addresses(state: &CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, true)?;
    let paging = PageNumbers::read(req, 100, 10)?;
    let ids = comma_list(req.get("AllocationId"));
    if ids.len() > 50 {
        return Err(ApiFault::invalid("AllocationId", "At most 50 EIP IDs can be specified."));
    }
    let addresses = comma_list(req.get("EipAddress"));
    let eq = |name: &str, actual: &str| req.get(name).is_none_or(|w| w.is_empty() || w == actual);
    let selected: Vec<&Eip> = state
        .eips
        .values()
        .filter(|_| in_region)
        .filter(|e| ids.is_empty() || ids.contains(&e.allocation_id))
        .filter(|e| addresses.is_empty() || addresses.contains(&e.ip_address))
        .filter(|e| eq("Status", &e.status))
        .filter(|e| eq("AssociatedInstanceId", e.instance_id.as_deref().unwrap_or("")))
        .filter(|e| eq("AssociatedInstanceType", e.instance_type.as_deref().unwrap_or("")))
        .collect();
    let list: Vec<Value> = paging.slice(&selected).iter().map(|e| eip_json(state, e)).collect();
    Ok(json!({
        "TotalCount": selected.len(),
        "PageNumber": paging.number,
        "PageSize": paging.size,
        "EipAddresses": { "EipAddress": list },
    }))
}

fn describe_regions(state: &CloudState) -> Value {
    let mut regions: Vec<&str> = KNOWN_REGIONS.to_vec();
    if !regions.contains(&state.region_id.as_str()) {
        regions.push(&state.region_id);
    }
    let list: Vec<Value> = regions
        .iter()
        .map(|r| json!({"RegionId": r, "LocalName": r, "RegionEndpoint": format!("vpc.{r}.aliyuncs.com")}))
        .collect();
    json!({ "Regions": { "Region": list } })
}

fn describe_zones(state: &CloudState, req: &Request) -> Result<Value, ApiFault> {
    let in_region = region_matches(state, req, true)?;
    let zones: Vec<Value> = state
        .zones
        .iter()
        .filter(|_| in_region)
        .map(|z| json!({"ZoneId": z, "LocalName": z, "ZoneType": "AvailabilityZone"}))
        .collect();
    Ok(json!({ "Zones": { "Zone": zones } }))
}
