//! Tags: parsing and validation shared by the create actions, the tag API
//! (`TagResources`, `UntagResources`, `ListTagResources`) and the legacy
//! instance tag API (`AddTags`, `RemoveTags`, `DescribeTags`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::common::{Page, lb_not_found, token_page};
use super::{SlbState, ok_empty};
use crate::state::{CloudState, Tag};
use crate::wire::{ApiFault, Request};

/// Tags given as `Tag.N.Key` / `Tag.N.Value`, validated.
pub(crate) fn from_params(req: &Request, max: usize) -> Result<Vec<Tag>, ApiFault> {
    let records = req.indexed_records("Tag");
    if records.len() > max {
        return Err(ApiFault::invalid("Tag", &format!("At most {max} tags can be specified.")));
    }
    let mut tags = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let key = record.get("Key").map(String::as_str).unwrap_or("");
        let value = record.get("Value").map(String::as_str).unwrap_or("");
        if key.is_empty() {
            return Err(ApiFault::missing(&format!("Tag.{}.Key", i + 1)));
        }
        check(key, value)?;
        tags.push(Tag { key: key.to_string(), value: value.to_string() });
    }
    Ok(tags)
}

/// Documented tag rules: key 1-64 characters, value up to 128, neither
/// starting with `aliyun` or `acs:` nor containing `http://` / `https://`.
pub(crate) fn check(key: &str, value: &str) -> Result<(), ApiFault> {
    let reserved = |s: &str| {
        let lower = s.to_ascii_lowercase();
        lower.starts_with("aliyun")
            || lower.starts_with("acs:")
            || lower.contains("http://")
            || lower.contains("https://")
    };
    if key.is_empty() || key.chars().count() > 64 || reserved(key) {
        return Err(ApiFault::invalid("Tag.Key", "The tag key is not valid."));
    }
    if value.chars().count() > 128 || reserved(value) {
        return Err(ApiFault::invalid("Tag.Value", "The tag value is not valid."));
    }
    Ok(())
}

/// Sets each tag (overwriting the value of an existing key), keeping at most
/// `max` tags on the resource.
pub(crate) fn merge(existing: &mut Vec<Tag>, new: &[Tag], max: usize) -> Result<(), ApiFault> {
    let mut merged = existing.clone();
    for tag in new {
        match merged.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value = tag.value.clone(),
            None => merged.push(tag.clone()),
        }
    }
    if merged.len() > max {
        // guess: the exact code for exceeding the per-resource tag quota is undocumented.
        return Err(ApiFault::invalid("Tag", &format!("A resource can have at most {max} tags.")));
    }
    *existing = merged;
    Ok(())
}

/// `{"Tag":[{"TagKey","TagValue"}]}`.
pub(crate) fn wrapped(tags: &[Tag]) -> Value {
    json!({ "Tag": flat(tags) })
}

/// `[{"TagKey","TagValue"}]`.
pub(crate) fn flat(tags: &[Tag]) -> Value {
    Value::Array(tags.iter().map(|t| json!({ "TagKey": t.key, "TagValue": t.value })).collect())
}

/// A tag filter: keys with an optional value (`None` matches any value).
pub(crate) type TagFilter = Vec<(String, Option<String>)>;

/// Whether `tags` carries every `(key, value)` of `wanted`; a filter value of
/// `None` matches any value of the key.
pub(crate) fn matches(tags: &[Tag], wanted: &[(String, Option<String>)]) -> bool {
    wanted.iter().all(|(k, v)| tags.iter().any(|t| &t.key == k && v.as_ref().is_none_or(|v| &t.value == v)))
}

/// The `Tag.N.Key/Value` filter of a Describe action.
pub(crate) fn filter_from_params(req: &Request) -> TagFilter {
    req.indexed_records("Tag")
        .into_iter()
        .filter_map(|r| {
            let key = r.get("Key").filter(|k| !k.is_empty())?.clone();
            Some((key, r.get("Value").filter(|v| !v.is_empty()).cloned()))
        })
        .collect()
}

/// The JSON `Tags` parameter `[{"TagKey":"k","TagValue":"v"}]` (DescribeLoadBalancers,
/// AddTags, RemoveTags, DescribeTags).
pub(crate) fn from_json(req: &Request, name: &str) -> Result<Option<TagFilter>, ApiFault> {
    let Some(records) = super::common::json_records(req, name)? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let key =
            record.non_empty("TagKey").ok_or_else(|| ApiFault::invalid(name, "TagKey is required in each element."))?;
        out.push((key, record.text("TagValue")));
    }
    Ok(Some(out))
}

/// The resource types of the tag API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Instance,
    Listener,
    VServerGroup,
    Acl,
    Certificate,
    MasterSlaveServerGroup,
}

impl Kind {
    fn parse(value: &str) -> Result<Self, ApiFault> {
        Ok(match value {
            "instance" => Self::Instance,
            "listener" => Self::Listener,
            "vservergroup" => Self::VServerGroup,
            "acl" => Self::Acl,
            "certificate" => Self::Certificate,
            "masterslaveservergroup" => Self::MasterSlaveServerGroup,
            _ => {
                return Err(ApiFault::invalid(
                    "ResourceType",
                    "Valid values: instance, certificate, acl, listener, vservergroup, masterslaveservergroup.",
                ));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Instance => "instance",
            Self::Listener => "listener",
            Self::VServerGroup => "vservergroup",
            Self::Acl => "acl",
            Self::Certificate => "certificate",
            Self::MasterSlaveServerGroup => "masterslaveservergroup",
        }
    }
}

/// The tags of one resource, or the not-found fault for it.
fn tags_mut<'a>(slb: &'a mut SlbState, kind: Kind, id: &str) -> Result<&'a mut Vec<Tag>, ApiFault> {
    // guess: the not-found code for non-instance resources of the tag API is undocumented.
    let missing = || ApiFault::not_found("InvalidResourceId.NotFound", "The specified resource does not exist.");
    match kind {
        Kind::Instance => slb.load_balancers.get_mut(id).map(|lb| &mut lb.tags).ok_or_else(lb_not_found),
        Kind::Listener => {
            let (lb_id, protocol, port) = split_listener_id(id).ok_or_else(missing)?;
            slb.load_balancers
                .get_mut(lb_id)
                .and_then(|lb| {
                    lb.listeners.iter_mut().find(|l| l.listener_protocol == protocol && l.listener_port == port)
                })
                .map(|l| &mut l.tags)
                .ok_or_else(missing)
        }
        Kind::VServerGroup => slb.vserver_groups.get_mut(id).map(|g| &mut g.tags).ok_or_else(missing),
        Kind::Acl => slb.acls.get_mut(id).map(|a| &mut a.tags).ok_or_else(missing),
        Kind::Certificate => slb.server_certificates.get_mut(id).map(|c| &mut c.tags).ok_or_else(missing),
        Kind::MasterSlaveServerGroup => Err(missing()),
    }
}

/// `lb-xxx_tcp_80` -> (`lb-xxx`, `tcp`, 80).
fn split_listener_id(id: &str) -> Option<(&str, &str, u16)> {
    let mut parts = id.rsplitn(3, '_');
    let port = parts.next()?.parse::<u16>().ok()?;
    let protocol = parts.next()?;
    let lb = parts.next()?;
    Some((lb, protocol, port))
}

/// Every resource of a kind with its tags, in creation order.
fn all_of(slb: &SlbState, kind: Kind) -> Vec<(String, Vec<Tag>)> {
    let mut rows: Vec<(u64, String, Vec<Tag>)> = match kind {
        Kind::Instance => {
            slb.load_balancers.values().map(|lb| (lb.seq, lb.load_balancer_id.clone(), lb.tags.clone())).collect()
        }
        Kind::Listener => {
            slb.load_balancers
                .values()
                .flat_map(|lb| {
                    lb.listeners.iter().enumerate().map(move |(i, l)| {
                        (lb.seq * 1000 + i as u64, l.resource_id(&lb.load_balancer_id), l.tags.clone())
                    })
                })
                .collect()
        }
        Kind::VServerGroup => {
            slb.vserver_groups.values().map(|g| (g.seq, g.vserver_group_id.clone(), g.tags.clone())).collect()
        }
        Kind::Acl => slb.acls.values().map(|a| (a.seq, a.acl_id.clone(), a.tags.clone())).collect(),
        Kind::Certificate => {
            slb.server_certificates.values().map(|c| (c.seq, c.server_certificate_id.clone(), c.tags.clone())).collect()
        }
        Kind::MasterSlaveServerGroup => Vec::new(),
    };
    rows.sort_by_key(|(seq, _, _)| *seq);
    rows.into_iter().map(|(_, id, tags)| (id, tags)).collect()
}

fn resource_ids(req: &Request) -> Result<Vec<String>, ApiFault> {
    let ids = req.indexed("ResourceId");
    if ids.len() > 20 {
        return Err(ApiFault::invalid("ResourceId", "At most 20 resource IDs can be specified."));
    }
    Ok(ids)
}

/// `TagResources`.
pub(crate) fn tag_resources(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let kind = Kind::parse(req.required("ResourceType")?)?;
    let ids = resource_ids(req)?;
    if ids.is_empty() {
        return Err(ApiFault::missing("ResourceId.1"));
    }
    let max = state.slb.limits.tags_per_resource;
    let tags = from_params(req, max)?;
    if tags.is_empty() {
        return Err(ApiFault::missing("Tag.1.Key"));
    }
    // Validate every resource first so that a failing call changes nothing.
    for id in &ids {
        let mut probe = tags_mut(&mut state.slb, kind, id)?.clone();
        merge(&mut probe, &tags, max)?;
    }
    for id in &ids {
        merge(tags_mut(&mut state.slb, kind, id)?, &tags, max)?;
    }
    ok_empty()
}

/// `UntagResources` (`TagKey.N`, or `All=true` for every tag).
pub(crate) fn untag_resources(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let kind = Kind::parse(req.required("ResourceType")?)?;
    let ids = resource_ids(req)?;
    if ids.is_empty() {
        return Err(ApiFault::missing("ResourceId.1"));
    }
    let keys = req.indexed("TagKey");
    let all = req.opt_bool("All")?.unwrap_or(false);
    if keys.len() > 20 {
        return Err(ApiFault::invalid("TagKey", "At most 20 tag keys can be specified."));
    }
    for id in &ids {
        tags_mut(&mut state.slb, kind, id)?;
    }
    for id in &ids {
        let tags = tags_mut(&mut state.slb, kind, id)?;
        if all {
            tags.clear();
        } else {
            tags.retain(|t| !keys.contains(&t.key));
        }
    }
    ok_empty()
}

/// `ListTagResources`: one row per (resource, tag), 50 rows per page (guess
/// at the page size, which the API does not let callers choose).
pub(crate) fn list_tag_resources(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let kind = Kind::parse(req.required("ResourceType")?)?;
    let ids = resource_ids(req)?;
    let filter = filter_from_params(req);
    let mut rows = Vec::new();
    for (id, tags) in all_of(&state.slb, kind) {
        if !ids.is_empty() && !ids.contains(&id) {
            continue;
        }
        if !matches(&tags, &filter) {
            continue;
        }
        for tag in &tags {
            rows.push(json!({
                "ResourceId": id,
                "ResourceType": kind.name(),
                "TagKey": tag.key,
                "TagValue": tag.value,
            }));
        }
    }
    let (page, next) = token_page(req, &rows, 50)?;
    Ok(json!({
        "NextToken": next,
        "TagResources": { "TagResource": page },
    }))
}

/// Legacy `AddTags` (`Tags` JSON on one instance, at most 10 per call).
pub(crate) fn add_tags(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let lb_id = req.required("LoadBalancerId")?.to_string();
    req.required("Tags")?;
    let wanted = from_json(req, "Tags")?.unwrap_or_default();
    if wanted.len() > 10 {
        return Err(ApiFault::invalid("Tags", "At most 10 tags can be specified."));
    }
    let mut tags = Vec::with_capacity(wanted.len());
    for (key, value) in wanted {
        let value = value.unwrap_or_default();
        check(&key, &value)?;
        tags.push(Tag { key, value });
    }
    let max = state.slb.limits.tags_per_resource;
    let lb = state.slb.load_balancers.get_mut(&lb_id).ok_or_else(lb_not_found)?;
    merge(&mut lb.tags, &tags, max)?;
    ok_empty()
}

/// Legacy `RemoveTags` (`Tags` JSON; a key with a value removes only that pair).
pub(crate) fn remove_tags(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let lb_id = req.required("LoadBalancerId")?.to_string();
    req.required("Tags")?;
    let wanted = from_json(req, "Tags")?.unwrap_or_default();
    let lb = state.slb.load_balancers.get_mut(&lb_id).ok_or_else(lb_not_found)?;
    lb.tags.retain(|t| {
        !wanted.iter().any(|(k, v)| &t.key == k && v.as_ref().is_none_or(|v| v.is_empty() || &t.value == v))
    });
    ok_empty()
}

/// Legacy `DescribeTags`: tag sets with the number of instances carrying them.
pub(crate) fn describe_tags(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let page = Page::read(req, "PageNumber", "PageSize", 50, 100)?;
    let filter = from_json(req, "Tags")?.unwrap_or_default();
    let only: Vec<String> = req.get("LoadBalancerId").map(super::common::comma_list).unwrap_or_default();
    if let Some(missing) = only.iter().find(|id| !state.slb.load_balancers.contains_key(*id)) {
        let _ = missing;
        return Err(lb_not_found());
    }
    let distinct_key = req.opt_bool("DistinctKey")?.unwrap_or(false);
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for lb in state.slb.load_balancers.values() {
        if !only.is_empty() && !only.contains(&lb.load_balancer_id) {
            continue;
        }
        for tag in &lb.tags {
            if !filter.is_empty()
                && !filter.iter().any(|(k, v)| &tag.key == k && v.as_ref().is_none_or(|v| &tag.value == v))
            {
                continue;
            }
            let value = if distinct_key { String::new() } else { tag.value.clone() };
            *counts.entry((tag.key.clone(), value)).or_default() += 1;
        }
    }
    let sets: Vec<Value> = counts
        .into_iter()
        .map(|((key, value), n)| json!({ "TagKey": key, "TagValue": value, "InstanceCount": n }))
        .collect();
    Ok(json!({
        "PageNumber": page.number,
        "PageSize": page.size,
        "TotalCount": sets.len(),
        "TagSets": { "TagSet": page.slice(&sets) },
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn tag_resources_and_list_them_back() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        call(
            &mut s,
            "TagResources",
            &[
                ("ResourceType", "instance"),
                ("ResourceId.1", &lb),
                ("Tag.1.Key", "env"),
                ("Tag.1.Value", "prod"),
                ("Tag.2.Key", "team"),
                ("Tag.2.Value", "net"),
            ],
        )
        .unwrap();
        let out = call(&mut s, "ListTagResources", &[("ResourceType", "instance"), ("ResourceId.1", &lb)]).unwrap();
        let rows = out["TagResources"]["TagResource"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["ResourceId"], lb.as_str());
        assert_eq!(rows[0]["ResourceType"], "instance");
        assert_eq!(out["NextToken"], "");

        call(&mut s, "UntagResources", &[("ResourceType", "instance"), ("ResourceId.1", &lb), ("TagKey.1", "env")])
            .unwrap();
        let out = call(&mut s, "ListTagResources", &[("ResourceType", "instance"), ("ResourceId.1", &lb)]).unwrap();
        assert_eq!(out["TagResources"]["TagResource"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn tagging_rules_are_enforced() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        let err = call(
            &mut s,
            "TagResources",
            &[("ResourceType", "instance"), ("ResourceId.1", &lb), ("Tag.1.Key", "acs:x"), ("Tag.1.Value", "v")],
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidParameter");
        let err = call(&mut s, "TagResources", &[("ResourceType", "nope"), ("ResourceId.1", &lb), ("Tag.1.Key", "k")])
            .unwrap_err();
        assert!(err.message.contains("ResourceType"));
        let err = call(
            &mut s,
            "TagResources",
            &[("ResourceType", "instance"), ("ResourceId.1", "lb-missing"), ("Tag.1.Key", "k")],
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidLoadBalancerId.NotFound");
        let mut params =
            vec![("ResourceType".to_string(), "instance".to_string()), ("ResourceId.1".to_string(), lb.clone())];
        for i in 1..=21 {
            params.push((format!("Tag.{i}.Key"), format!("k{i}")));
        }
        let err = call_owned(&mut s, "TagResources", params).unwrap_err();
        assert_eq!(err.code, "InvalidParameter");
    }

    #[test]
    fn listener_tags_use_the_composite_id() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        create_tcp_listener(&mut s, &lb, 80, None);
        let id = format!("{lb}_tcp_80");
        call(
            &mut s,
            "TagResources",
            &[("ResourceType", "listener"), ("ResourceId.1", &id), ("Tag.1.Key", "k"), ("Tag.1.Value", "v")],
        )
        .unwrap();
        let out = call(&mut s, "ListTagResources", &[("ResourceType", "listener"), ("Tag.1.Key", "k")]).unwrap();
        assert_eq!(out["TagResources"]["TagResource"][0]["ResourceId"], id.as_str());
    }

    #[test]
    fn legacy_add_and_describe_tags() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        call(&mut s, "AddTags", &[("LoadBalancerId", &lb), ("Tags", r#"[{"TagKey":"a","TagValue":"1"}]"#)]).unwrap();
        let out = call(&mut s, "DescribeTags", &[("LoadBalancerId", &lb)]).unwrap();
        assert_eq!(out["TagSets"]["TagSet"][0]["TagKey"], "a");
        assert_eq!(out["TagSets"]["TagSet"][0]["InstanceCount"], 1);
        call(&mut s, "RemoveTags", &[("LoadBalancerId", &lb), ("Tags", r#"[{"TagKey":"a"}]"#)]).unwrap();
        let out = call(&mut s, "DescribeTags", &[("LoadBalancerId", &lb)]).unwrap();
        assert_eq!(out["TotalCount"], 0);
    }
}
