//! Wire-level building blocks shared by every emulated product: the API fault
//! (an error as the gateway returns it), the decoded request, and id generators.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

/// An error answer as the real API returns it: HTTP status, `Code` and `Message`.
///
/// The dispatcher turns it into the JSON body
/// `{"RequestId","HostId","Code","Message","Recommend"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiFault {
    /// HTTP status code of the answer.
    pub status: u16,
    /// Alibaba Cloud error code, such as `InvalidParameter`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

impl ApiFault {
    /// A fault with any status, code and message.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, code: code.into(), message: message.into() }
    }

    /// 400 `MissingParameter` for a required parameter that is absent.
    pub fn missing(name: &str) -> Self {
        Self::new(
            400,
            "MissingParameter",
            format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
        )
    }

    /// 400 `InvalidParameter` naming the parameter and what is wrong with it.
    pub fn invalid(name: &str, detail: &str) -> Self {
        Self::new(400, "InvalidParameter", format!("The specified parameter \"{name}\" is not valid. {detail}"))
    }

    /// 404 with a specific code (`InvalidRouteEntry.NotFound`, ...).
    pub fn not_found(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }

    /// 400 with a specific code.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// 400 `Throttling.User`, the answer to a call over its flow-control limit.
    pub fn throttled() -> Self {
        Self::new(400, "Throttling.User", "Request was denied due to user flow control.")
    }
}

/// The decoded parameters of one API call: query and form parameters merged,
/// plus the action name.
#[derive(Debug, Clone, Default)]
pub struct Request {
    action: String,
    params: BTreeMap<String, String>,
}

impl Request {
    /// A request for `action` with already decoded parameters.
    pub fn new(action: impl Into<String>, params: BTreeMap<String, String>) -> Self {
        Self { action: action.into(), params }
    }

    /// The API action, such as `DescribeInstances`.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// All parameters, sorted by name.
    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.params
    }

    /// The value of a parameter, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The value of a parameter that must be present and non-empty.
    pub fn required(&self, name: &str) -> Result<&str, ApiFault> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiFault::missing(name)),
        }
    }

    /// A non-negative integer parameter.
    pub fn opt_u32(&self, name: &str) -> Result<Option<u32>, ApiFault> {
        self.parse_with(name, |v| v.trim().parse::<u32>().ok(), "It must be a non-negative integer.")
    }

    /// A signed 64-bit integer parameter.
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, ApiFault> {
        self.parse_with(name, |v| v.trim().parse::<i64>().ok(), "It must be an integer.")
    }

    /// A boolean parameter (`true`/`false`, any case).
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, ApiFault> {
        self.parse_with(
            name,
            |v| match v.trim().to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            "It must be true or false.",
        )
    }

    fn parse_with<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        expectation: &str,
    ) -> Result<Option<T>, ApiFault> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => parse(v).map(Some).ok_or_else(|| ApiFault::invalid(name, expectation)),
        }
    }

    /// The values of a repeated list parameter `Prefix.1`, `Prefix.2`, ...
    /// in index order (gaps are skipped).
    pub fn indexed(&self, prefix: &str) -> Vec<String> {
        let mut found: Vec<(u32, String)> = self
            .params
            .iter()
            .filter_map(|(k, v)| {
                let index = k.strip_prefix(prefix)?.strip_prefix('.')?;
                Some((index.parse::<u32>().ok()?, v.clone()))
            })
            .collect();
        found.sort_by_key(|(i, _)| *i);
        found.into_iter().map(|(_, v)| v).collect()
    }

    /// The records of a repeated structured parameter `Prefix.N.Field`,
    /// one map of `Field -> value` per index, in index order.
    pub fn indexed_records(&self, prefix: &str) -> Vec<BTreeMap<String, String>> {
        let mut records: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (k, v) in &self.params {
            let Some(rest) = k.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(index) = index.parse::<u32>() else {
                continue;
            };
            records.entry(index).or_default().insert(field.to_string(), v.clone());
        }
        records.into_values().collect()
    }

    /// A JSON-valued parameter (`BackendServers`, `Tags`, `InstanceIds`, ...).
    /// A value that does not parse as `T` is `InvalidParameter`.
    pub fn json<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ApiFault> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => serde_json::from_str(v)
                .map(Some)
                .map_err(|e| ApiFault::invalid(name, &format!("It must be valid JSON: {e}."))),
        }
    }
}

const ID_ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Generator of resource ids: `prefix` followed by 20 lowercase alphanumerics.
///
/// Ids are reproducible for a given seed, so a seeded fake hands out the same
/// ids run after run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ids {
    seed: u64,
    issued: u64,
}

impl Default for Ids {
    fn default() -> Self {
        Self::with_seed(0x5eed_a11b_aba0_c10d)
    }
}

impl Ids {
    /// A generator starting from `seed`.
    pub fn with_seed(seed: u64) -> Self {
        Self { seed, issued: 0 }
    }

    /// The next id with this prefix, such as `lb-bp1x2...` or `i-bp...`.
    pub fn next(&mut self, prefix: &str) -> String {
        self.issued += 1;
        let mut word = splitmix(self.seed ^ self.issued.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut id = String::with_capacity(prefix.len() + 20);
        id.push_str(prefix);
        for i in 0..20 {
            if i == 10 {
                word = splitmix(word);
            }
            id.push(char::from(ID_ALPHABET[(word % 36) as usize]));
            word /= 36;
        }
        id
    }

    /// A fresh pseudo-random number from the same sequence (for MAC addresses and the like).
    pub fn next_number(&mut self) -> u64 {
        self.issued += 1;
        splitmix(self.seed ^ self.issued)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A fresh request id in the real API's format: an uppercase UUID.
pub fn request_id() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex = hex::encode_upper(bytes);
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(pairs: &[(&str, &str)]) -> Request {
        Request::new("X", pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn indexed_lists_are_ordered_numerically() {
        let r = req(&[("A.10", "ten"), ("A.2", "two"), ("A.1", "one"), ("AB.1", "no")]);
        assert_eq!(r.indexed("A"), vec!["one", "two", "ten"]);
    }

    #[test]
    fn indexed_records_group_fields() {
        let r = req(&[("Tag.1.Key", "k1"), ("Tag.1.Value", "v1"), ("Tag.2.Key", "k2")]);
        let recs = r.indexed_records("Tag");
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0]["Key"], "k1");
        assert_eq!(recs[0]["Value"], "v1");
        assert_eq!(recs[1]["Key"], "k2");
    }

    #[test]
    fn typed_getters_reject_wrong_types() {
        let r = req(&[("PageSize", "ten"), ("Force", "yes"), ("N", "-3")]);
        assert_eq!(r.opt_u32("PageSize").unwrap_err().code, "InvalidParameter");
        assert!(r.opt_u32("PageSize").unwrap_err().message.contains("PageSize"));
        assert_eq!(r.opt_bool("Force").unwrap_err().code, "InvalidParameter");
        assert_eq!(r.opt_i64("N").unwrap(), Some(-3));
        assert_eq!(r.opt_u32("Absent").unwrap(), None);
    }

    #[test]
    fn required_rejects_missing_and_empty() {
        let r = req(&[("Empty", "")]);
        assert_eq!(r.required("Empty").unwrap_err().code, "MissingParameter");
        assert_eq!(r.required("Nope").unwrap_err().status, 400);
    }

    #[test]
    fn json_params_parse_or_fail_as_invalid() {
        let r = req(&[("Ids", r#"["a","b"]"#), ("Bad", "[")]);
        let ids: Vec<String> = r.json("Ids").unwrap().unwrap();
        assert_eq!(ids, vec!["a", "b"]);
        assert_eq!(r.json::<Vec<String>>("Bad").unwrap_err().code, "InvalidParameter");
    }

    #[test]
    fn ids_have_prefix_and_twenty_lowercase_alphanumerics() {
        let mut ids = Ids::default();
        let a = ids.next("lb-");
        let b = ids.next("lb-");
        assert_ne!(a, b);
        let tail = a.strip_prefix("lb-").unwrap();
        assert_eq!(tail.len(), 20);
        assert!(tail.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert_eq!(Ids::default().next("lb-"), a, "same seed, same ids");
    }

    #[test]
    fn request_ids_look_like_uppercase_uuids() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert!(!id.bytes().any(|c| c.is_ascii_lowercase()));
    }
}
