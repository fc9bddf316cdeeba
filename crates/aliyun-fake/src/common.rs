//! Helpers the ECS and VPC handlers share: region checks, the two
//! pagination styles, tag filters, and JSON list wrappers.

use serde_json::{Value, json};

use crate::state::{CloudState, Tag};
use crate::wire::{ApiFault, Request};

/// Public regions the real API knows; a call for one of them that is not the
/// fake's region sees an empty region rather than an error.
pub const KNOWN_REGIONS: [&str; 28] = [
    "cn-qingdao",
    "cn-beijing",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-nanjing",
    "cn-fuzhou",
    "cn-shenzhen",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-chengdu",
    "cn-hongkong",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ap-south-1",
    "us-east-1",
    "us-west-1",
    "eu-west-1",
    "eu-central-1",
    "me-east-1",
    "me-central-1",
];

/// Checks `RegionId`. `Ok(true)` when it names the fake's region,
/// `Ok(false)` for another real region (the caller answers as if empty),
/// `InvalidRegionId.NotFound` for anything else. `required` makes a
/// missing `RegionId` a `MissingParameter`; otherwise absence means the
/// fake's region.
pub fn region_matches(state: &CloudState, req: &Request, required: bool) -> Result<bool, ApiFault> {
    let region = match req.get("RegionId") {
        Some(r) if !r.is_empty() => r,
        _ if required => return Err(ApiFault::missing("RegionId")),
        _ => return Ok(true),
    };
    if region == state.region_id {
        Ok(true)
    } else if KNOWN_REGIONS.contains(&region) {
        Ok(false)
    } else {
        Err(ApiFault::not_found("InvalidRegionId.NotFound", "The specified RegionId does not exist."))
    }
}

/// A page in `PageNumber`/`PageSize` style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNumbers {
    /// 1-based page number.
    pub number: u32,
    /// Entries per page.
    pub size: u32,
}

impl PageNumbers {
    /// Reads `PageNumber` (default 1) and `PageSize` (default `default`,
    /// 1..=`max`); out-of-range values are `InvalidParameter`.
    pub fn read(req: &Request, max: u32, default: u32) -> Result<Self, ApiFault> {
        let number = req.opt_u32("PageNumber")?.unwrap_or(1);
        if number == 0 {
            return Err(ApiFault::invalid("PageNumber", "It must be 1 or greater."));
        }
        let size = req.opt_u32("PageSize")?.unwrap_or(default);
        if size == 0 || size > max {
            return Err(ApiFault::invalid("PageSize", &format!("It must be between 1 and {max}.")));
        }
        Ok(Self { number, size })
    }

    /// The items of this page.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = (self.number as usize - 1).saturating_mul(self.size as usize);
        let start = start.min(items.len());
        let end = start.saturating_add(self.size as usize).min(items.len());
        &items[start..end]
    }
}

/// A page in `NextToken`/`MaxResults` style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPage {
    /// Offset of the first item.
    pub start: usize,
    /// Entries per page.
    pub size: usize,
}

impl TokenPage {
    /// Reads `NextToken` and the size parameter `size_param` (`MaxResults`
    /// or VPC's `MaxResult`), clamping the size to `min..=max` as the API
    /// documents.
    pub fn read(req: &Request, size_param: &str, min: u32, max: u32, default: u32) -> Result<Self, ApiFault> {
        let size = req.opt_u32(size_param)?.unwrap_or(default).clamp(min, max);
        let start = match req.get("NextToken") {
            None | Some("") => 0,
            Some(token) => decode_token(token)
                .ok_or_else(|| ApiFault::bad_request("InvalidNextToken", "The specified NextToken is invalid."))?,
        };
        Ok(Self { start, size: size as usize })
    }

    /// The items of this page and the token of the next (empty at the end).
    pub fn slice<'a, T>(&self, items: &'a [T]) -> (&'a [T], String) {
        let start = self.start.min(items.len());
        let end = start.saturating_add(self.size).min(items.len());
        let next = if end < items.len() { encode_token(end) } else { String::new() };
        (&items[start..end], next)
    }
}

/// Whether the call asked for token-style paging.
pub fn wants_token_paging(req: &Request, size_param: &str) -> bool {
    req.get("NextToken").is_some_and(|t| !t.is_empty()) || req.get(size_param).is_some()
}

/// Opaque next token for an offset.
fn encode_token(offset: usize) -> String {
    format!("{:032x}", (offset as u128) ^ TOKEN_MASK)
}

const TOKEN_MASK: u128 = 0x6661_6b65_746f_6b65_6e00_0000_0000_0000;

fn decode_token(token: &str) -> Option<usize> {
    if token.len() != 32 {
        return None;
    }
    let raw = u128::from_str_radix(token, 16).ok()? ^ TOKEN_MASK;
    usize::try_from(raw).ok().filter(|n| *n < 1 << 40)
}

/// Tag filters `Tag.N.Key`/`Tag.N.Value` (ECS also accepts lowercase
/// `key`/`value`): a key alone matches any value.
pub fn tag_filters(req: &Request) -> Vec<(String, Option<String>)> {
    req.indexed_records("Tag")
        .into_iter()
        .filter_map(|r| {
            let key = r.get("Key").or_else(|| r.get("key"))?.clone();
            let value = r.get("Value").or_else(|| r.get("value")).cloned();
            Some((key, value))
        })
        .collect()
}

/// Whether `tags` carry every filter.
pub fn matches_tags(tags: &[Tag], filters: &[(String, Option<String>)]) -> bool {
    filters.iter().all(|(k, v)| tags.iter().any(|t| &t.key == k && v.as_ref().is_none_or(|v| &t.value == v)))
}

/// Tags as ECS writes them: `{"Tag":[{"TagKey","TagValue"}]}`.
pub fn ecs_tags(tags: &[Tag]) -> Value {
    let list: Vec<Value> = tags.iter().map(|t| json!({"TagKey": t.key, "TagValue": t.value})).collect();
    json!({ "Tag": list })
}

/// Tags as VPC writes them: `{"Tag":[{"Key","Value"}]}`.
pub fn vpc_tags(tags: &[Tag]) -> Value {
    let list: Vec<Value> = tags.iter().map(|t| json!({"Key": t.key, "Value": t.value})).collect();
    json!({ "Tag": list })
}

/// Splits a comma-separated id list, dropping blanks.
pub fn comma_list(value: Option<&str>) -> Vec<String> {
    value.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// `DryRun=true` answers `DryRunOperation` after validation, as the API does.
pub fn dry_run(req: &Request) -> Result<(), ApiFault> {
    if req.opt_bool("DryRun")? == Some(true) {
        return Err(ApiFault::bad_request(
            "DryRunOperation",
            "Request validation has been passed with DryRun flag set.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn req(pairs: &[(&str, &str)]) -> Request {
        let p: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Request::new("X", p)
    }

    #[test]
    fn page_numbers_default_and_bounds() {
        let p = PageNumbers::read(&req(&[]), 50, 10).unwrap();
        assert_eq!(p, PageNumbers { number: 1, size: 10 });
        assert!(PageNumbers::read(&req(&[("PageSize", "51")]), 50, 10).is_err());
        assert!(PageNumbers::read(&req(&[("PageNumber", "0")]), 50, 10).is_err());
        let items: Vec<u32> = (0..25).collect();
        let p = PageNumbers::read(&req(&[("PageNumber", "3")]), 50, 10).unwrap();
        assert_eq!(p.slice(&items), &[20, 21, 22, 23, 24]);
        let p = PageNumbers::read(&req(&[("PageNumber", "9")]), 50, 10).unwrap();
        assert!(p.slice(&items).is_empty());
    }

    #[test]
    fn token_pages_walk_to_the_end() {
        let items: Vec<u32> = (0..25).collect();
        let first = TokenPage::read(&req(&[("MaxResults", "10")]), "MaxResults", 10, 100, 10).unwrap();
        let (page, next) = first.slice(&items);
        assert_eq!(page.len(), 10);
        assert_eq!(next.len(), 32);
        let second = TokenPage::read(&req(&[("NextToken", next.as_str())]), "MaxResults", 10, 100, 10).unwrap();
        assert_eq!(second.slice(&items).0[0], 10);
        let clamped = TokenPage::read(&req(&[("MaxResults", "3")]), "MaxResults", 10, 100, 10).unwrap();
        assert_eq!(clamped.size, 10, "<10 counts as 10");
        let bad = TokenPage::read(&req(&[("NextToken", "zz")]), "MaxResults", 10, 100, 10);
        assert_eq!(bad.unwrap_err().code, "InvalidNextToken");
    }

    #[test]
    fn tag_filter_matching() {
        let tags = vec![Tag { key: "a".into(), value: "1".into() }];
        let r = req(&[("Tag.1.Key", "a")]);
        assert!(matches_tags(&tags, &tag_filters(&r)));
        let r = req(&[("Tag.1.Key", "a"), ("Tag.1.Value", "2")]);
        assert!(!matches_tags(&tags, &tag_filters(&r)));
        let r = req(&[("Tag.1.key", "a"), ("Tag.1.value", "1")]);
        assert!(matches_tags(&tags, &tag_filters(&r)));
    }
}
