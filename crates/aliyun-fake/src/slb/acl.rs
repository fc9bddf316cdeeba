//! Access control lists: create, entries, describe, rename and delete.
//!
//! `AclEntrys` is a JSON array string `[{"entry":"10.0.0.0/24","comment":"x"}]`
//! (documented with lower-case keys; read case-insensitively).

use std::net::Ipv6Addr;

use serde_json::{Value, json};

use super::common::{DEFAULT_RESOURCE_GROUP, Page, acl_not_found, created_now, json_records, one_of};
use super::{AccessControlList, AclEntry, ok_empty, tags};
use crate::net::Cidr4;
use crate::state::CloudState;
use crate::wire::{ApiFault, Request};

fn acl<'a>(state: &'a CloudState, req: &Request) -> Result<&'a AccessControlList, ApiFault> {
    let id = req.required("AclId")?;
    state.slb.acls.get(id).ok_or_else(acl_not_found)
}

/// Whether `entry` is a CIDR block of the ACL's IP version.
fn valid_entry(entry: &str, version: &str) -> bool {
    if version == "ipv6" {
        let (addr, prefix) = entry.split_once('/').unwrap_or((entry, "128"));
        addr.parse::<Ipv6Addr>().is_ok() && prefix.parse::<u8>().is_ok_and(|p| p <= 128)
    } else {
        Cidr4::parse(entry).is_some()
    }
}

fn read_entries(req: &Request, version: &str, limit: usize) -> Result<Vec<AclEntry>, ApiFault> {
    req.required("AclEntrys")?;
    let records = json_records(req, "AclEntrys")?.unwrap_or_default();
    if records.is_empty() {
        // The code Terraform knows for an empty entry list; message guessed.
        return Err(ApiFault::bad_request("AclEntryEmpty", "The AclEntrys parameter is empty."));
    }
    if records.len() > limit {
        return Err(ApiFault::invalid("AclEntrys", &format!("At most {limit} entries can be specified in each call.")));
    }
    records
        .iter()
        .map(|r| {
            let entry = r
                .non_empty("entry")
                .ok_or_else(|| ApiFault::invalid("AclEntrys", "entry is required in each element."))?;
            if !valid_entry(entry.trim(), version) {
                return Err(ApiFault::invalid("AclEntrys", &format!("{entry} is not a valid CIDR block.")));
            }
            Ok(AclEntry { entry: entry.trim().to_string(), comment: r.text("comment").unwrap_or_default() })
        })
        .collect()
}

/// `CreateAccessControlList`.
pub(crate) fn create(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let name = req.required("AclName")?.to_string();
    let version = one_of(req, "AddressIPVersion", &["ipv4", "ipv6"])?.unwrap_or_else(|| "ipv4".into());
    let tags = tags::from_params(req, state.slb.limits.tags_per_resource)?;
    if state.slb.acls.values().any(|a| a.acl_name == name) {
        // The code Terraform knows for a taken name; message guessed.
        return Err(ApiFault::bad_request("AclNameExist", "The specified AclName already exists."));
    }
    if state.slb.acls.len() >= state.slb.limits.acls_per_region {
        // The code Terraform knows for the ACL quota; message guessed.
        return Err(ApiFault::bad_request("AclNumberOverLimit", "The number of ACLs exceeds the limit."));
    }
    let id = state.ids.next("acl-");
    let (create_time, _) = created_now(state);
    let seq = state.slb.next_seq();
    state.slb.acls.insert(
        id.clone(),
        AccessControlList {
            acl_id: id.clone(),
            acl_name: name,
            address_ip_version: version,
            resource_group_id: req
                .get("ResourceGroupId")
                .filter(|r| !r.is_empty())
                .unwrap_or(DEFAULT_RESOURCE_GROUP)
                .to_string(),
            create_time,
            entries: Vec::new(),
            tags,
            seq,
        },
    );
    Ok(json!({ "AclId": id }))
}

/// Listeners bound to an ACL: (instance, port, protocol, acl type).
fn related_listeners(state: &CloudState, acl_id: &str) -> Vec<(String, u16, String, String)> {
    let mut lbs: Vec<&super::LoadBalancer> = state.slb.load_balancers.values().collect();
    lbs.sort_by_key(|lb| lb.seq);
    lbs.iter()
        .flat_map(|lb| {
            lb.listeners.iter().filter(|l| l.acl_id == acl_id).map(|l| {
                (lb.load_balancer_id.clone(), l.listener_port, l.listener_protocol.clone(), l.acl_type.clone())
            })
        })
        .collect()
}

/// `DeleteAccessControlList`: refused with `AclInUsed` while a listener is bound.
pub(crate) fn delete(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let id = acl(state, req)?.acl_id.clone();
    if !related_listeners(state, &id).is_empty() {
        // The code Terraform retries on; message guessed.
        return Err(ApiFault::bad_request("AclInUsed", "The specified ACL is in use by a listener."));
    }
    state.slb.acls.remove(&id);
    ok_empty()
}

/// `SetAccessControlListAttribute` (rename).
pub(crate) fn set_attribute(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let id = acl(state, req)?.acl_id.clone();
    let name = req.required("AclName")?.to_string();
    if state.slb.acls.values().any(|a| a.acl_name == name && a.acl_id != id) {
        return Err(ApiFault::bad_request("AclNameExist", "The specified AclName already exists."));
    }
    if let Some(a) = state.slb.acls.get_mut(&id) {
        a.acl_name = name;
    }
    ok_empty()
}

/// `AddAccessControlListEntry`: entries already present are not added again
/// (documented).
pub(crate) fn add_entries(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let a = acl(state, req)?;
    let entries = read_entries(req, &a.address_ip_version, state.slb.limits.acl_entries_per_call)?;
    let mut merged = a.entries.clone();
    for e in entries {
        if !merged.iter().any(|m| m.entry == e.entry) {
            merged.push(e);
        }
    }
    let max = state.slb.limits.acl_entries_per_acl;
    if merged.len() > max {
        // guess: code and text of the per-ACL entry quota error are undocumented.
        return Err(ApiFault::bad_request(
            "AclEntryNumberOverLimit",
            format!("An ACL can have at most {max} entries."),
        ));
    }
    let id = a.acl_id.clone();
    if let Some(a) = state.slb.acls.get_mut(&id) {
        a.entries = merged;
    }
    ok_empty()
}

/// `RemoveAccessControlListEntry`. Entries not in the ACL are ignored (guess).
pub(crate) fn remove_entries(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let a = acl(state, req)?;
    let gone = read_entries(req, &a.address_ip_version, state.slb.limits.acl_entries_per_call)?;
    let id = a.acl_id.clone();
    if let Some(a) = state.slb.acls.get_mut(&id) {
        a.entries.retain(|e| !gone.iter().any(|g| g.entry == e.entry));
    }
    ok_empty()
}

/// `DescribeAccessControlListAttribute` (entries paged by `Page`/`PageSize`,
/// optionally filtered by `AclEntryComment`).
pub(crate) fn describe_attribute(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let a = acl(state, req)?;
    // guess: default page size of the entry list.
    let page = Page::read(req, "Page", "PageSize", 50, 100)?;
    let comment = req.get("AclEntryComment").filter(|c| !c.is_empty());
    let entries: Vec<Value> = a
        .entries
        .iter()
        .filter(|e| comment.is_none_or(|c| c == e.comment))
        .map(|e| json!({ "AclEntryIP": e.entry, "AclEntryComment": e.comment }))
        .collect();
    let related: Vec<Value> = related_listeners(state, &a.acl_id)
        .into_iter()
        .map(|(lb, port, protocol, acl_type)| {
            json!({ "LoadBalancerId": lb, "ListenerPort": port, "Protocol": protocol, "AclType": acl_type })
        })
        .collect();
    Ok(json!({
        "AclId": a.acl_id,
        "AclName": a.acl_name,
        "AddressIPVersion": a.address_ip_version,
        "ResourceGroupId": a.resource_group_id,
        "CreateTime": a.create_time,
        "TotalAclEntry": entries.len(),
        "AclEntrys": { "AclEntry": page.slice(&entries) },
        "RelatedListeners": { "RelatedListener": related },
        "Tags": tags::wrapped(&a.tags),
    }))
}

/// `DescribeAccessControlLists`.
pub(crate) fn describe_many(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    // guess: default page size.
    let page = Page::read(req, "PageNumber", "PageSize", 50, 100)?;
    let name = req.get("AclName").filter(|n| !n.is_empty());
    let version = one_of(req, "AddressIPVersion", &["ipv4", "ipv6"])?;
    let group = req.get("ResourceGroupId").filter(|g| !g.is_empty());
    let tag_filter = tags::filter_from_params(req);
    let mut acls: Vec<&AccessControlList> = state
        .slb
        .acls
        .values()
        // guess: the name filter is a substring match ("fuzzy query").
        .filter(|a| name.is_none_or(|n| a.acl_name.contains(n)))
        .filter(|a| version.as_deref().is_none_or(|v| v == a.address_ip_version))
        .filter(|a| group.is_none_or(|g| g == a.resource_group_id))
        .filter(|a| tags::matches(&a.tags, &tag_filter))
        .collect();
    acls.sort_by_key(|a| a.seq);
    let items: Vec<Value> = page
        .slice(&acls)
        .iter()
        .map(|a| {
            json!({
                "AclId": a.acl_id,
                "AclName": a.acl_name,
                "AddressIPVersion": a.address_ip_version,
                "ResourceGroupId": a.resource_group_id,
                "CreateTime": a.create_time,
                "Tags": tags::wrapped(&a.tags),
            })
        })
        .collect();
    Ok(json!({
        "TotalCount": acls.len(),
        "PageNumber": page.number,
        "PageSize": page.size,
        "Count": items.len(),
        "Acls": { "Acl": items },
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    fn new_acl(s: &mut crate::state::CloudState, name: &str) -> String {
        let out = call(s, "CreateAccessControlList", &[("AclName", name)]).unwrap();
        out["AclId"].as_str().unwrap().to_string()
    }

    #[test]
    fn entries_are_added_deduplicated_and_removed() {
        let mut s = cloud();
        let acl = new_acl(&mut s, "office");
        assert!(acl.starts_with("acl-"));
        call(
            &mut s,
            "AddAccessControlListEntry",
            &[
                ("AclId", &acl),
                ("AclEntrys", r#"[{"entry":"10.0.0.0/24","comment":"a"},{"entry":"192.168.0.0/16","comment":"b"}]"#),
            ],
        )
        .unwrap();
        call(
            &mut s,
            "AddAccessControlListEntry",
            &[("AclId", &acl), ("AclEntrys", r#"[{"entry":"10.0.0.0/24","comment":"dup"}]"#)],
        )
        .unwrap();
        let attr = call(&mut s, "DescribeAccessControlListAttribute", &[("AclId", &acl)]).unwrap();
        assert_eq!(attr["TotalAclEntry"], 2);
        assert_eq!(attr["AclEntrys"]["AclEntry"][0]["AclEntryIP"], "10.0.0.0/24");
        assert_eq!(attr["AclEntrys"]["AclEntry"][0]["AclEntryComment"], "a");
        assert_eq!(attr["AddressIPVersion"], "ipv4");

        call(&mut s, "RemoveAccessControlListEntry", &[("AclId", &acl), ("AclEntrys", r#"[{"entry":"10.0.0.0/24"}]"#)])
            .unwrap();
        let attr = call(&mut s, "DescribeAccessControlListAttribute", &[("AclId", &acl)]).unwrap();
        assert_eq!(attr["TotalAclEntry"], 1);

        let err =
            call(&mut s, "AddAccessControlListEntry", &[("AclId", &acl), ("AclEntrys", r#"[{"entry":"10.0.0.1/8"}]"#)])
                .unwrap_err();
        assert!(err.message.contains("AclEntrys"));
        let err = call(&mut s, "AddAccessControlListEntry", &[("AclId", &acl), ("AclEntrys", "[]")]).unwrap_err();
        assert_eq!(err.code, "AclEntryEmpty");
        let many: Vec<String> = (0..51).map(|i| format!(r#"{{"entry":"10.1.{i}.0/24"}}"#)).collect();
        let err = call(
            &mut s,
            "AddAccessControlListEntry",
            &[("AclId", &acl), ("AclEntrys", &format!("[{}]", many.join(",")))],
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidParameter");
    }

    #[test]
    fn acl_bound_to_a_listener_cannot_be_deleted() {
        let mut s = cloud();
        let acl = new_acl(&mut s, "blocked");
        let lb = create_intranet_lb(&mut s);
        call(
            &mut s,
            "CreateLoadBalancerTCPListener",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "80"),
                ("BackendServerPort", "80"),
                ("Bandwidth", "-1"),
                ("AclStatus", "on"),
                ("AclType", "black"),
                ("AclId", &acl),
            ],
        )
        .unwrap();
        let attr = call(&mut s, "DescribeAccessControlListAttribute", &[("AclId", &acl)]).unwrap();
        let rel = &attr["RelatedListeners"]["RelatedListener"][0];
        assert_eq!(rel["LoadBalancerId"], lb.as_str());
        assert_eq!(rel["ListenerPort"], 80);
        assert_eq!(rel["AclType"], "black");
        let listed = call(&mut s, "DescribeLoadBalancerListeners", &[("LoadBalancerId.1", &lb)]).unwrap();
        assert_eq!(listed["Listeners"][0]["AclId"], acl.as_str());
        assert_eq!(listed["Listeners"][0]["AclIds"][0], acl.as_str());
        assert_eq!(listed["Listeners"][0]["AclStatus"], "on");

        let err = call(&mut s, "DeleteAccessControlList", &[("AclId", &acl)]).unwrap_err();
        assert_eq!(err.code, "AclInUsed");
        call(&mut s, "DeleteLoadBalancerListener", &[("LoadBalancerId", &lb), ("ListenerPort", "80")]).unwrap();
        call(&mut s, "DeleteAccessControlList", &[("AclId", &acl)]).unwrap();
        let err = call(&mut s, "DescribeAccessControlListAttribute", &[("AclId", &acl)]).unwrap_err();
        assert_eq!(err.code, "AclNotExist");
    }

    #[test]
    fn list_rename_and_names_are_unique() {
        let mut s = cloud();
        let a = new_acl(&mut s, "alpha");
        new_acl(&mut s, "beta");
        let err = call(&mut s, "CreateAccessControlList", &[("AclName", "alpha")]).unwrap_err();
        assert_eq!(err.code, "AclNameExist");
        call(&mut s, "SetAccessControlListAttribute", &[("AclId", &a), ("AclName", "gamma")]).unwrap();
        let out = call(&mut s, "DescribeAccessControlLists", &[]).unwrap();
        assert_eq!(out["TotalCount"], 2);
        assert_eq!(out["Acls"]["Acl"][0]["AclName"], "gamma");
        let out = call(&mut s, "DescribeAccessControlLists", &[("AclName", "bet")]).unwrap();
        assert_eq!(out["TotalCount"], 1);
    }
}
