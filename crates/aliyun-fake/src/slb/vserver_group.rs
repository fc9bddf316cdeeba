//! vServer groups and their backend servers.
//!
//! Backend lists arrive as a JSON array string (`BackendServers`,
//! `OldBackendServers`, `NewBackendServers`). Keys are read
//! case-insensitively because the Go CCM sends `serverId`/`port`/`weight`
//! (its struct's JSON tags) while the docs show `ServerId`/`Port`/`Weight`,
//! and numbers may come as strings (docs) or numbers (CCM).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::common::{Record, created_now, json_records, lb_not_found, vserver_group_not_found};
use super::{Backend, LoadBalancer, VServerGroup, tags};
use crate::state::CloudState;
use crate::wire::{ApiFault, Request};

/// What a backend list is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Adding members: servers must exist, ports are required.
    Add,
    /// Designating existing members: only the identifying fields matter.
    Match,
}

fn invalid_servers(param: &str, detail: &str) -> ApiFault {
    ApiFault::invalid(param, detail)
}

/// Reads and validates a backend list parameter.
fn read_backends(
    state: &CloudState,
    lb: &LoadBalancer,
    req: &Request,
    param: &str,
    usage: Use,
) -> Result<Vec<Backend>, ApiFault> {
    let records = json_records(req, param)?.unwrap_or_default();
    let max = state.slb.limits.backends_per_call;
    if records.len() > max {
        // guess: the code for an over-long list is undocumented; the limit is
        // explained at SlbLimits::backends_per_call.
        return Err(invalid_servers(param, &format!("At most {max} backend servers can be specified in each call.")));
    }
    records.iter().map(|r| read_backend(state, lb, r, param, usage)).collect()
}

fn read_backend(
    state: &CloudState,
    lb: &LoadBalancer,
    r: &Record,
    param: &str,
    usage: Use,
) -> Result<Backend, ApiFault> {
    let server_id = r
        .non_empty("ServerId")
        .ok_or_else(|| invalid_servers(param, "ServerId is required for each backend server."))?;
    let server_type = r.non_empty("Type").unwrap_or_else(|| "ecs".into()).to_ascii_lowercase();
    if !["ecs", "eni", "eci"].contains(&server_type.as_str()) {
        return Err(invalid_servers(param, "Type must be ecs, eni or eci."));
    }
    let port = r.int_in("Port", 1, 65535, param)?;
    let port = match (port, usage) {
        (Some(p), _) => p as u16,
        (None, Use::Match) => 0,
        (None, Use::Add) => {
            return Err(invalid_servers(param, "Port is required for each backend server."));
        }
    };
    let weight = r.int_in("Weight", 0, 100, param)?.unwrap_or(100) as u8;
    let description = r.text("Description").unwrap_or_default();
    let mut server_ip = r.non_empty("ServerIp").unwrap_or_default();
    let mut vpc_id = lb.vpc_id.clone();
    if usage == Use::Add {
        // guess: message of InvalidServerId.NotExist.
        let missing = || {
            ApiFault::bad_request(
                "InvalidServerId.NotExist",
                format!("The specified ServerId {server_id} does not exist."),
            )
        };
        match server_type.as_str() {
            "ecs" => {
                let inst = state.instance(&server_id).ok_or_else(missing)?;
                vpc_id = inst.vpc_id.clone();
                // The docs require running servers; the fake does not refuse
                // stopped ones (guess at leniency: the error code is undocumented).
            }
            "eni" => {
                let eni = state.eni(&server_id).ok_or_else(missing)?;
                vpc_id = eni.vpc_id.clone();
                if server_ip.is_empty() {
                    server_ip = eni.private_ip.clone();
                } else if server_ip != eni.private_ip && !eni.secondary_private_ips.contains(&server_ip) {
                    return Err(invalid_servers(param, "ServerIp is not an address of the ENI."));
                }
            }
            _ => {
                if server_ip.is_empty() {
                    return Err(invalid_servers(param, "ServerIp is required for eci backend servers."));
                }
            }
        }
        if !lb.vpc_id.is_empty() && vpc_id != lb.vpc_id {
            // guess: the code for a server outside the instance's VPC is undocumented.
            return Err(invalid_servers(
                param,
                &format!("The backend server {server_id} is not in the VPC of the load balancer."),
            ));
        }
    }
    Ok(Backend { server_id, server_ip, port, weight, server_type, description, vpc_id })
}

/// Whether `member` is the one `wanted` designates (server, port when given,
/// address when given).
fn designates(wanted: &Backend, member: &Backend) -> bool {
    wanted.server_id == member.server_id
        && (wanted.port == 0 || wanted.port == member.port)
        && (wanted.server_ip.is_empty() || wanted.server_ip == member.server_ip)
}

fn same_member(a: &Backend, b: &Backend) -> bool {
    a.server_id == b.server_id && a.port == b.port && a.server_ip == b.server_ip
}

/// Enforces the per-instance quota of distinct backend servers, counting
/// `groups` as they would be after the change.
fn check_instance_quota<'a>(
    state: &CloudState,
    lb_id: &str,
    changed_group: &str,
    changed_backends: impl Iterator<Item = &'a Backend>,
) -> Result<(), ApiFault> {
    let mut servers: BTreeSet<(String, String)> = BTreeSet::new();
    for g in state.slb.vserver_groups.values() {
        if g.load_balancer_id == lb_id && g.vserver_group_id != changed_group {
            servers.extend(g.backends.iter().map(|b| (b.server_id.clone(), b.server_ip.clone())));
        }
    }
    servers.extend(changed_backends.map(|b| (b.server_id.clone(), b.server_ip.clone())));
    let max = state.slb.limits.backends_per_load_balancer;
    if servers.len() > max {
        // The Go CCM matches this code (and retries after deletions); message guessed.
        return Err(ApiFault::bad_request(
            "InstanceBackendServerNumberOverLimit",
            format!("The number of backend servers of the load balancer exceeds the limit of {max}."),
        ));
    }
    Ok(())
}

fn backend_json(b: &Backend) -> Value {
    let mut v = json!({
        "ServerId": b.server_id,
        "Port": b.port,
        "Weight": b.weight,
        "Type": b.server_type,
        "Description": b.description,
    });
    if !b.server_ip.is_empty()
        && let Some(m) = v.as_object_mut()
    {
        m.insert("ServerIp".into(), json!(b.server_ip));
    }
    v
}

fn backends_json(backends: &[Backend]) -> Value {
    json!({ "BackendServer": backends.iter().map(backend_json).collect::<Vec<_>>() })
}

fn group<'a>(state: &'a CloudState, req: &Request) -> Result<&'a VServerGroup, ApiFault> {
    let id = req.required("VServerGroupId")?;
    state.slb.vserver_groups.get(id).ok_or_else(vserver_group_not_found)
}

fn lb_of<'a>(state: &'a CloudState, g: &VServerGroup) -> Result<&'a LoadBalancer, ApiFault> {
    state.slb.load_balancers.get(&g.load_balancer_id).ok_or_else(lb_not_found)
}

/// Adds `new` to `existing`, skipping members already present (guess: the
/// API's answer to re-adding a member is undocumented; treated as a no-op).
fn add_members(existing: &mut Vec<Backend>, new: Vec<Backend>) {
    for b in new {
        if !existing.iter().any(|m| same_member(m, &b)) {
            existing.push(b);
        }
    }
}

/// `CreateVServerGroup` (optionally with initial `BackendServers`).
pub(crate) fn create(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let lb_id = req.required("LoadBalancerId")?.to_string();
    let lb = state.slb.load_balancers.get(&lb_id).ok_or_else(lb_not_found)?;
    let name = req.get("VServerGroupName").unwrap_or("").to_string();
    let initial = read_backends(state, lb, req, "BackendServers", Use::Add)?;
    let mut backends = Vec::new();
    add_members(&mut backends, initial);
    check_instance_quota(state, &lb_id, "", backends.iter())?;
    let tags = tags::from_params(req, state.slb.limits.tags_per_resource)?;
    let id = state.ids.next("rsp-");
    let (create_time, _) = created_now(state);
    let seq = state.slb.next_seq();
    let response = json!({ "VServerGroupId": id, "BackendServers": backends_json(&backends) });
    state.slb.vserver_groups.insert(
        id.clone(),
        VServerGroup {
            vserver_group_id: id,
            vserver_group_name: name,
            load_balancer_id: lb_id,
            create_time,
            backends,
            tags,
            seq,
        },
    );
    Ok(response)
}

/// `DeleteVServerGroup`: refused with `RspoolVipExist` while a listener uses it.
pub(crate) fn delete(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let g = group(state, req)?;
    let in_use = state
        .slb
        .load_balancers
        .get(&g.load_balancer_id)
        .is_some_and(|lb| lb.listeners.iter().any(|l| l.vserver_group_id == g.vserver_group_id));
    if in_use {
        // The code Terraform retries on; message guessed.
        return Err(ApiFault::bad_request("RspoolVipExist", "The specified VServerGroup is still used by a listener."));
    }
    let id = g.vserver_group_id.clone();
    state.slb.vserver_groups.remove(&id);
    super::ok_empty()
}

/// `DescribeVServerGroups` (listeners using each group with `IncludeListener`).
pub(crate) fn describe_many(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let lb_id = req.required("LoadBalancerId")?;
    let lb = state.slb.load_balancers.get(lb_id).ok_or_else(lb_not_found)?;
    let include_listener = req.opt_bool("IncludeListener")?.unwrap_or(false);
    let include_rule = req.opt_bool("IncludeRule")?.unwrap_or(false);
    let name_filter = req.get("Description").filter(|d| !d.is_empty());
    let tag_filter = tags::filter_from_params(req);
    let mut groups: Vec<&VServerGroup> = state
        .slb
        .vserver_groups
        .values()
        .filter(|g| g.load_balancer_id == lb.load_balancer_id)
        .filter(|g| name_filter.is_none_or(|n| n == g.vserver_group_name))
        .filter(|g| tags::matches(&g.tags, &tag_filter))
        .collect();
    groups.sort_by_key(|g| g.seq);
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            let mut v = json!({
                "VServerGroupId": g.vserver_group_id,
                "VServerGroupName": g.vserver_group_name,
                "ServerCount": g.backends.len(),
                "CreateTime": g.create_time,
                "Tags": tags::wrapped(&g.tags),
            });
            if (include_listener || include_rule)
                && let Some(m) = v.as_object_mut()
            {
                let mut assoc = serde_json::Map::new();
                if include_listener {
                    let listeners: Vec<Value> = lb
                        .listeners
                        .iter()
                        .filter(|l| l.vserver_group_id == g.vserver_group_id)
                        .map(|l| json!({ "Protocol": l.listener_protocol, "Port": l.listener_port }))
                        .collect();
                    assoc.insert("Listeners".into(), json!({ "Listener": listeners }));
                }
                if include_rule {
                    // Forwarding rules are not emulated.
                    assoc.insert("Rules".into(), json!({ "Rule": [] }));
                }
                m.insert("AssociatedObjects".into(), Value::Object(assoc));
            }
            v
        })
        .collect();
    Ok(json!({ "VServerGroups": { "VServerGroup": items } }))
}

/// `DescribeVServerGroupAttribute`.
pub(crate) fn describe_attribute(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let g = group(state, req)?;
    Ok(json!({
        "VServerGroupId": g.vserver_group_id,
        "VServerGroupName": g.vserver_group_name,
        "LoadBalancerId": g.load_balancer_id,
        "CreateTime": g.create_time,
        "BackendServers": backends_json(&g.backends),
        "Tags": tags::wrapped(&g.tags),
    }))
}

/// Replaces a group's members after validation, answering with the group's
/// id and full member list (guess: the docs show `BackendServers` in the
/// answer without saying whether it is the whole group or the changed part).
fn commit(
    state: &mut CloudState,
    group_id: &str,
    lb_id: &str,
    backends: Vec<Backend>,
    name: Option<String>,
) -> Result<Value, ApiFault> {
    check_instance_quota(state, lb_id, group_id, backends.iter())?;
    let g = state.slb.vserver_groups.get_mut(group_id).ok_or_else(vserver_group_not_found)?;
    g.backends = backends;
    let mut out = json!({ "VServerGroupId": g.vserver_group_id, "BackendServers": backends_json(&g.backends) });
    if let Some(n) = name {
        g.vserver_group_name = n;
        if let Some(m) = out.as_object_mut() {
            m.insert("VServerGroupName".into(), json!(g.vserver_group_name));
        }
    }
    Ok(out)
}

/// `AddVServerGroupBackendServers`.
pub(crate) fn add_backends(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    req.required("BackendServers")?;
    let g = group(state, req)?;
    let lb = lb_of(state, g)?;
    let new = read_backends(state, lb, req, "BackendServers", Use::Add)?;
    let mut backends = g.backends.clone();
    add_members(&mut backends, new);
    let (gid, lb_id) = (g.vserver_group_id.clone(), g.load_balancer_id.clone());
    commit(state, &gid, &lb_id, backends, None)
}

/// `RemoveVServerGroupBackendServers`. Entries that match no member are
/// ignored (guess: the API's answer to them is undocumented).
pub(crate) fn remove_backends(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    req.required("BackendServers")?;
    let g = group(state, req)?;
    let lb = lb_of(state, g)?;
    let gone = read_backends(state, lb, req, "BackendServers", Use::Match)?;
    let mut backends = g.backends.clone();
    backends.retain(|m| !gone.iter().any(|w| designates(w, m)));
    let (gid, lb_id) = (g.vserver_group_id.clone(), g.load_balancer_id.clone());
    commit(state, &gid, &lb_id, backends, None)
}

/// `SetVServerGroupAttribute`: renames the group and/or changes the weight
/// and description of existing members.
pub(crate) fn set_attribute(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let g = group(state, req)?;
    let lb = lb_of(state, g)?;
    let changes = read_backends(state, lb, req, "BackendServers", Use::Match)?;
    let records = json_records(req, "BackendServers")?.unwrap_or_default();
    let mut backends = g.backends.clone();
    for (wanted, record) in changes.iter().zip(&records) {
        for m in backends.iter_mut().filter(|m| designates(wanted, m)) {
            if record.non_empty("Weight").is_some() {
                m.weight = wanted.weight;
            }
            if record.text("Description").is_some() {
                m.description = wanted.description.clone();
            }
        }
    }
    let name = req.get("VServerGroupName").map(str::to_string);
    let (gid, lb_id) = (g.vserver_group_id.clone(), g.load_balancer_id.clone());
    let mut out = commit(state, &gid, &lb_id, backends, name)?;
    if let Some(m) = out.as_object_mut()
        && !m.contains_key("VServerGroupName")
        && let Some(g) = state.slb.vserver_groups.get(&gid)
    {
        m.insert("VServerGroupName".into(), json!(g.vserver_group_name));
    }
    Ok(out)
}

/// `ModifyVServerGroupBackendServers`: replaces the `OldBackendServers`
/// members with `NewBackendServers`.
pub(crate) fn modify_backends(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let g = group(state, req)?;
    let lb = lb_of(state, g)?;
    let old = read_backends(state, lb, req, "OldBackendServers", Use::Match)?;
    let new = read_backends(state, lb, req, "NewBackendServers", Use::Add)?;
    let mut backends = g.backends.clone();
    backends.retain(|m| !old.iter().any(|w| designates(w, m)));
    add_members(&mut backends, new);
    let (gid, lb_id) = (g.vserver_group_id.clone(), g.load_balancer_id.clone());
    commit(state, &gid, &lb_id, backends, None)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use serde_json::Value;

    fn members(s: &mut crate::state::CloudState, g: &str) -> Vec<Value> {
        let out = call(s, "DescribeVServerGroupAttribute", &[("VServerGroupId", g)]).unwrap();
        out["BackendServers"]["BackendServer"].as_array().unwrap().clone()
    }

    #[test]
    fn add_and_remove_backends_like_the_ccm() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        let g = create_group(&mut s, &lb);
        // The Go CCM's JSON: lower-case keys, numeric values.
        let batch = r#"[{"serverId":"i-1","serverIp":"","weight":100,"port":30080,"type":"ecs","description":"k8s/30080/web/default/c1"},
                        {"serverId":"i-2","serverIp":"","weight":50,"port":30080,"type":"ecs","description":"k8s/30080/web/default/c1"}]"#;
        let out = call(&mut s, "AddVServerGroupBackendServers", &[("VServerGroupId", &g), ("BackendServers", batch)])
            .unwrap();
        assert_eq!(out["VServerGroupId"], g.as_str());
        assert_eq!(out["BackendServers"]["BackendServer"].as_array().unwrap().len(), 2);
        let m = members(&mut s, &g);
        assert_eq!(m.len(), 2);
        assert_eq!(m[1]["ServerId"], "i-2");
        assert_eq!(m[1]["Weight"], 50);
        assert_eq!(m[1]["Port"], 30080);
        assert_eq!(m[1]["Type"], "ecs");
        assert_eq!(m[1]["Description"], "k8s/30080/web/default/c1");

        // The documented format: capitalised keys, string values.
        call(
            &mut s,
            "AddVServerGroupBackendServers",
            &[
                ("VServerGroupId", &g),
                (
                    "BackendServers",
                    r#"[{"ServerId":"eni-pod1","Weight":"100","Type":"eni","ServerIp":"192.168.0.51","Port":"8080"}]"#,
                ),
            ],
        )
        .unwrap();
        let m = members(&mut s, &g);
        assert_eq!(m.len(), 3);
        assert_eq!(m[2]["ServerIp"], ENI_IP2);

        call(
            &mut s,
            "RemoveVServerGroupBackendServers",
            &[("VServerGroupId", &g), ("BackendServers", r#"[{"ServerId":"i-1","Port":"30080"}]"#)],
        )
        .unwrap();
        let m = members(&mut s, &g);
        assert_eq!(m.len(), 2);
        assert!(m.iter().all(|b| b["ServerId"] != "i-1"));

        let groups = call(&mut s, "DescribeVServerGroups", &[("LoadBalancerId", &lb)]).unwrap();
        assert_eq!(groups["VServerGroups"]["VServerGroup"][0]["ServerCount"], 2);
        // DescribeLoadBalancers by backend server.
        let by_server = call(&mut s, "DescribeLoadBalancers", &[("ServerId", "i-2")]).unwrap();
        assert_eq!(by_server["TotalCount"], 1);
    }

    #[test]
    fn backend_validation() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        let g = create_group(&mut s, &lb);
        let add = |s: &mut crate::state::CloudState, json: &str| {
            call(s, "AddVServerGroupBackendServers", &[("VServerGroupId", &g), ("BackendServers", json)])
        };
        let err = add(&mut s, r#"[{"ServerId":"i-nope","Port":80}]"#).unwrap_err();
        assert_eq!(err.code, "InvalidServerId.NotExist");
        let err = add(&mut s, r#"[{"ServerId":"i-far","Port":80}]"#).unwrap_err();
        assert!(err.message.contains("VPC"), "{}", err.message);
        let err = add(&mut s, r#"[{"ServerId":"i-1","Port":80,"Weight":101}]"#).unwrap_err();
        assert!(err.message.contains("Weight"));
        let err = add(&mut s, r#"[{"ServerId":"i-1"}]"#).unwrap_err();
        assert!(err.message.contains("Port"));
        let err = add(&mut s, r#"[{"ServerId":"eni-pod1","Type":"eni","ServerIp":"1.2.3.4","Port":80}]"#).unwrap_err();
        assert!(err.message.contains("ServerIp"));
        let err = add(&mut s, "not json").unwrap_err();
        assert_eq!(err.code, "InvalidParameter");
        let err = call(&mut s, "AddVServerGroupBackendServers", &[("VServerGroupId", &g)]).unwrap_err();
        assert_eq!(err.code, "MissingParameter");
        let err =
            call(&mut s, "AddVServerGroupBackendServers", &[("VServerGroupId", "rsp-none"), ("BackendServers", "[]")])
                .unwrap_err();
        assert_eq!(err.message, "The specified VServerGroupId does not exist.");
    }

    fn many_backends(n: usize, offset: usize) -> String {
        let items: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"ServerId":"eni-pod1","Type":"eni","ServerIp":"192.168.0.50","Port":{}}}"#,
                    1000 + offset + i
                )
            })
            .collect();
        format!("[{}]", items.join(","))
    }

    #[test]
    fn per_call_limit_accepts_the_ccm_batch_of_forty() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        let g = create_group(&mut s, &lb);
        call(
            &mut s,
            "AddVServerGroupBackendServers",
            &[("VServerGroupId", &g), ("BackendServers", &many_backends(40, 0))],
        )
        .unwrap();
        let err = call(
            &mut s,
            "AddVServerGroupBackendServers",
            &[("VServerGroupId", &g), ("BackendServers", &many_backends(41, 100))],
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidParameter");
        assert!(err.message.contains("BackendServers"));
        // The documented 20 can be enforced.
        s.slb.limits.backends_per_call = 20;
        assert!(
            call(
                &mut s,
                "AddVServerGroupBackendServers",
                &[("VServerGroupId", &g), ("BackendServers", &many_backends(21, 200))]
            )
            .is_err()
        );
    }

    #[test]
    fn per_instance_backend_quota() {
        let mut s = cloud();
        s.slb.limits.backends_per_load_balancer = 2;
        let lb = create_intranet_lb(&mut s);
        let g1 = create_group(&mut s, &lb);
        let g2 = create_group(&mut s, &lb);
        call(
            &mut s,
            "AddVServerGroupBackendServers",
            &[
                ("VServerGroupId", &g1),
                ("BackendServers", r#"[{"ServerId":"i-1","Port":80},{"ServerId":"i-2","Port":80}]"#),
            ],
        )
        .unwrap();
        // The same servers in another group do not count twice.
        call(
            &mut s,
            "AddVServerGroupBackendServers",
            &[("VServerGroupId", &g2), ("BackendServers", r#"[{"ServerId":"i-1","Port":81}]"#)],
        )
        .unwrap();
        let err = call(
            &mut s,
            "AddVServerGroupBackendServers",
            &[("VServerGroupId", &g2), ("BackendServers", r#"[{"ServerId":"i-3","Port":81}]"#)],
        )
        .unwrap_err();
        assert_eq!(err.code, "InstanceBackendServerNumberOverLimit");
    }

    #[test]
    fn creation_validates_its_backends_like_an_add_and_creates_nothing_when_refused() {
        let mut s = cloud();
        s.slb.limits.backends_per_load_balancer = 2;
        let lb = create_intranet_lb(&mut s);
        let create = |s: &mut crate::state::CloudState, json: &str| {
            call(
                s,
                "CreateVServerGroup",
                &[("LoadBalancerId", &lb), ("VServerGroupName", "g"), ("BackendServers", json)],
            )
        };
        let err = create(&mut s, r#"[{"ServerId":"i-nope","Port":80}]"#).unwrap_err();
        assert_eq!(err.code, "InvalidServerId.NotExist");
        let err = create(&mut s, r#"[{"ServerId":"i-1"}]"#).unwrap_err();
        assert!(err.message.contains("Port"), "{}", err.message);
        let err = create(&mut s, &many_backends(41, 0)).unwrap_err();
        assert!(err.message.contains("BackendServers"), "{}", err.message);
        let three = r#"[{"ServerId":"i-1","Port":80},{"ServerId":"i-2","Port":80},{"ServerId":"i-3","Port":80}]"#;
        let err = create(&mut s, three).unwrap_err();
        assert_eq!(err.code, "InstanceBackendServerNumberOverLimit");
        let listed = call(&mut s, "DescribeVServerGroups", &[("LoadBalancerId", &lb)]).unwrap();
        assert!(listed["VServerGroups"]["VServerGroup"].as_array().unwrap().is_empty(), "{listed}");
        let out = create(&mut s, r#"[{"ServerId":"i-1","Port":80},{"ServerId":"i-2","Port":80}]"#).unwrap();
        let g = out["VServerGroupId"].as_str().unwrap().to_string();
        assert_eq!(members(&mut s, &g).len(), 2);
    }

    #[test]
    fn set_modify_and_delete_groups() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        let out = call(
            &mut s,
            "CreateVServerGroup",
            &[
                ("LoadBalancerId", &lb),
                ("VServerGroupName", "web"),
                ("BackendServers", r#"[{"ServerId":"i-1","Port":"80","Weight":"10"}]"#),
            ],
        )
        .unwrap();
        let g = out["VServerGroupId"].as_str().unwrap().to_string();
        assert!(g.starts_with("rsp-"));
        assert_eq!(out["BackendServers"]["BackendServer"][0]["Weight"], 10);

        call(
            &mut s,
            "SetVServerGroupAttribute",
            &[
                ("VServerGroupId", &g),
                ("VServerGroupName", "web2"),
                ("BackendServers", r#"[{"ServerId":"i-1","Port":"80","Weight":"70"}]"#),
            ],
        )
        .unwrap();
        let attr = call(&mut s, "DescribeVServerGroupAttribute", &[("VServerGroupId", &g)]).unwrap();
        assert_eq!(attr["VServerGroupName"], "web2");
        assert_eq!(attr["LoadBalancerId"], lb.as_str());
        assert_eq!(attr["BackendServers"]["BackendServer"][0]["Weight"], 70);

        call(
            &mut s,
            "ModifyVServerGroupBackendServers",
            &[
                ("VServerGroupId", &g),
                ("OldBackendServers", r#"[{"ServerId":"i-1","Port":"80"}]"#),
                ("NewBackendServers", r#"[{"ServerId":"i-2","Port":"90"}]"#),
            ],
        )
        .unwrap();
        let m = members(&mut s, &g);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0]["ServerId"], "i-2");
        assert_eq!(m[0]["Port"], 90);

        create_tcp_listener(&mut s, &lb, 80, Some(&g));
        let listed =
            call(&mut s, "DescribeVServerGroups", &[("LoadBalancerId", &lb), ("IncludeListener", "true")]).unwrap();
        let assoc = &listed["VServerGroups"]["VServerGroup"][0]["AssociatedObjects"]["Listeners"]["Listener"][0];
        assert_eq!(assoc["Protocol"], "tcp");
        assert_eq!(assoc["Port"], 80);
        let err = call(&mut s, "DeleteVServerGroup", &[("VServerGroupId", &g)]).unwrap_err();
        assert_eq!(err.code, "RspoolVipExist");
        call(&mut s, "DeleteLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]).unwrap();
        call(&mut s, "DeleteVServerGroup", &[("VServerGroupId", &g)]).unwrap();
        let listed = call(&mut s, "DescribeVServerGroups", &[("LoadBalancerId", &lb)]).unwrap();
        assert!(listed["VServerGroups"]["VServerGroup"].as_array().unwrap().is_empty());
    }
}
