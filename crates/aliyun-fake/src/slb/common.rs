//! Helpers shared by the SLB handlers: the SLB error answers, parameter
//! parsing with the API's value rules, pagination and lenient JSON reading.

use serde_json::{Map, Value};

use crate::state::CloudState;
use crate::wire::{ApiFault, Request};

/// `InvalidLoadBalancerId.NotFound`.
///
/// The message is the one the Go CCM's e2e suite matches against the real
/// API ("The specified LoadBalancerId does not exist"); the CCM's cleanup path
/// tolerates any message containing "LoadBalancerId does not exist".
/// Status 404 comes from a real SLB capture (terraform-provider issue #218,
/// `Status Code: 404 Code: InvalidLoadBalancerId.NotFound`); the EIP error
/// table lists the same code with 400, so the status is not fully verified.
pub(crate) fn lb_not_found() -> ApiFault {
    ApiFault::not_found("InvalidLoadBalancerId.NotFound", "The specified LoadBalancerId does not exist.")
}

/// A listener that does not exist on the given port (and protocol).
///
/// Terraform's SLB code recognises a missing listener by the message
/// "The specified resource does not exist"; the code is a guess.
pub(crate) fn listener_not_found() -> ApiFault {
    ApiFault::bad_request("InvalidParameter", "The specified resource does not exist.")
}

/// A vServer group id that does not exist (Terraform's
/// `VServerGroupNotFoundMessage` is this message with code `InvalidParameter`).
pub(crate) fn vserver_group_not_found() -> ApiFault {
    ApiFault::bad_request("InvalidParameter", "The specified VServerGroupId does not exist.")
}

/// An ACL that does not exist (`AclNotExist`, Terraform's not-found code for ACLs;
/// message guessed).
pub(crate) fn acl_not_found() -> ApiFault {
    ApiFault::bad_request("AclNotExist", "The specified AclId does not exist.")
}

/// A server certificate that does not exist (`ServerCertificateId.NotFound`,
/// Terraform's not-found code; message guessed).
pub(crate) fn certificate_not_found() -> ApiFault {
    ApiFault::bad_request("ServerCertificateId.NotFound", "The specified ServerCertificateId does not exist.")
}

/// Parses an `on`/`off` switch.
pub(crate) fn on_off(req: &Request, name: &str) -> Result<Option<String>, ApiFault> {
    one_of(req, name, &["on", "off"])
}

/// A parameter restricted to a set of values (compared case-sensitively, as
/// the API does for these enumerations).
pub(crate) fn one_of(req: &Request, name: &str, allowed: &[&str]) -> Result<Option<String>, ApiFault> {
    match req.get(name) {
        None | Some("") => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
        Some(_) => Err(ApiFault::invalid(name, &format!("Valid values: {}.", allowed.join(", ")))),
    }
}

/// An integer parameter that must lie in `min..=max`.
pub(crate) fn int_in(req: &Request, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiFault> {
    match req.opt_i64(name)? {
        None => Ok(None),
        Some(v) if (min..=max).contains(&v) => Ok(Some(v)),
        Some(_) => Err(ApiFault::invalid(name, &format!("It must be an integer from {min} to {max}."))),
    }
}

/// A port parameter (1-65535).
pub(crate) fn port(req: &Request, name: &str) -> Result<Option<u16>, ApiFault> {
    Ok(int_in(req, name, 1, 65535)?.map(|p| p as u16))
}

/// A required port parameter (1-65535).
pub(crate) fn required_port(req: &Request, name: &str) -> Result<u16, ApiFault> {
    req.required(name)?;
    port(req, name)?.ok_or_else(|| ApiFault::missing(name))
}

/// The first present, non-empty value among several spellings of one parameter
/// (the API has lower-case `healthCheckInterval` on some actions).
pub(crate) fn first_of<'a>(req: &'a Request, names: &[&'a str]) -> Option<(&'a str, &'a str)> {
    names.iter().find_map(|n| req.get(n).filter(|v| !v.is_empty()).map(|v| (*n, v)))
}

/// Page selection of the PageNumber/PageSize style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    /// 1-based page number.
    pub number: usize,
    /// Entries per page.
    pub size: usize,
}

impl Page {
    /// Reads `number_param`/`size_param` (1-based page, size 1..=`max`).
    pub(crate) fn read(
        req: &Request,
        number_param: &str,
        size_param: &str,
        default_size: usize,
        max_size: usize,
    ) -> Result<Self, ApiFault> {
        let number = int_in(req, number_param, 1, i64::from(u32::MAX))?.unwrap_or(1) as usize;
        let size = int_in(req, size_param, 1, max_size as i64)?.unwrap_or(default_size as i64) as usize;
        Ok(Self { number, size })
    }

    /// The slice of `items` on this page.
    pub(crate) fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = (self.number - 1).saturating_mul(self.size).min(items.len());
        let end = start.saturating_add(self.size).min(items.len());
        &items[start..end]
    }
}

/// Page selection of the NextToken/MaxResults style: the token is the
/// decimal offset of the next entry, prefixed so that it looks opaque.
pub(crate) fn token_page<'a, T>(
    req: &Request,
    items: &'a [T],
    max_results: usize,
) -> Result<(&'a [T], String), ApiFault> {
    let start = match req.get("NextToken") {
        None | Some("") => 0,
        Some(t) => t
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| ApiFault::invalid("NextToken", "The token is not valid."))?,
    };
    let end = start.saturating_add(max_results).min(items.len());
    let next = if end < items.len() { format!("{TOKEN_PREFIX}{end}") } else { String::new() };
    Ok((&items[start..end], next))
}

const TOKEN_PREFIX: &str = "FFslb";

/// Creation time strings of a new resource: (`2024-01-02T03:04:05Z`, epoch ms).
pub(crate) fn created_now(state: &CloudState) -> (String, i64) {
    let ms =
        state.wall_now().duration_since(std::time::SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    (state.timestamp(), ms)
}

/// A JSON-array parameter whose elements are objects, read leniently:
/// keys compare case-insensitively (the Go CCM sends `serverId`, the docs
/// `ServerId`) and scalar values may be strings or numbers.
pub(crate) fn json_records(req: &Request, name: &str) -> Result<Option<Vec<Record>>, ApiFault> {
    let Some(value) = req.json::<Value>(name)? else {
        return Ok(None);
    };
    let Value::Array(items) = value else {
        return Err(ApiFault::invalid(name, "It must be a JSON array."));
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(map) => Ok(Record(map)),
            _ => Err(ApiFault::invalid(name, "Each element must be a JSON object.")),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// One object of a JSON-array parameter.
#[derive(Debug, Clone)]
pub(crate) struct Record(pub Map<String, Value>);

impl Record {
    /// The value under `key` (case-insensitive) as text; numbers and booleans
    /// are rendered, null is absent.
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        let v = self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)?;
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The value under `key` as text, absent when empty.
    pub(crate) fn non_empty(&self, key: &str) -> Option<String> {
        self.text(key).filter(|s| !s.trim().is_empty())
    }

    /// An integer value in `min..=max`; `param` names the request parameter in errors.
    pub(crate) fn int_in(&self, key: &str, min: i64, max: i64, param: &str) -> Result<Option<i64>, ApiFault> {
        match self.non_empty(key) {
            None => Ok(None),
            Some(s) => match s.trim().parse::<i64>() {
                Ok(v) if (min..=max).contains(&v) => Ok(Some(v)),
                _ => Err(ApiFault::invalid(param, &format!("{key} must be an integer from {min} to {max}."))),
            },
        }
    }
}

/// The region alias the API returns next to `RegionId` (`cn-hangzhou` -> `hangzhou`).
/// Derived by rule, not from a table: a guess for regions outside mainland China.
pub(crate) fn region_alias(region: &str) -> String {
    region.strip_prefix("cn-").unwrap_or(region).to_string()
}

/// The account's default resource group (the API always reports one).
pub(crate) const DEFAULT_RESOURCE_GROUP: &str = "rg-acfmdefault0000001";

/// Splits a comma-separated list, trimming blanks and dropping empty items.
pub(crate) fn comma_list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn req(pairs: &[(&str, &str)]) -> Request {
        Request::new("X", pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>())
    }

    #[test]
    fn pages_clip_to_the_list() {
        let items: Vec<u32> = (1..=25).collect();
        let p =
            Page::read(&req(&[("PageNumber", "3"), ("PageSize", "10")]), "PageNumber", "PageSize", 10, 100).unwrap();
        assert_eq!(p.slice(&items), &[21, 22, 23, 24, 25]);
        let err = Page::read(&req(&[("PageSize", "101")]), "PageNumber", "PageSize", 10, 100).unwrap_err();
        assert_eq!(err.code, "InvalidParameter");
        assert!(err.message.contains("PageSize"));
    }

    #[test]
    fn tokens_walk_the_list_and_reject_garbage() {
        let items: Vec<u32> = (1..=5).collect();
        let (first, next) = token_page(&req(&[]), &items, 2).unwrap();
        assert_eq!(first, &[1, 2]);
        let (second, next2) = token_page(&req(&[("NextToken", &next)]), &items, 2).unwrap();
        assert_eq!(second, &[3, 4]);
        let (third, last) = token_page(&req(&[("NextToken", &next2)]), &items, 2).unwrap();
        assert_eq!(third, &[5]);
        assert_eq!(last, "");
        assert!(token_page(&req(&[("NextToken", "bogus")]), &items, 2).is_err());
    }

    #[test]
    fn records_are_case_insensitive_and_accept_numbers() {
        let r = req(&[("B", r#"[{"serverId":"i-1","Port":"80","weight":100}]"#)]);
        let recs = json_records(&r, "B").unwrap().unwrap();
        assert_eq!(recs[0].text("ServerId").as_deref(), Some("i-1"));
        assert_eq!(recs[0].int_in("Weight", 0, 100, "B").unwrap(), Some(100));
        assert_eq!(recs[0].int_in("port", 1, 65535, "B").unwrap(), Some(80));
        assert!(json_records(&req(&[("B", "{}")]), "B").is_err());
    }
}
