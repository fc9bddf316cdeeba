//! Lenient deserializers for API responses.
//!
//! The APIs are loose about JSON types: ports and weights come back as numbers in one action and as strings in
//! another, lists are wrapped in an object named after the item (`"LoadBalancers":{"LoadBalancer":[…]}`, an XML
//! heritage) except where they are not (`DescribeLoadBalancerListeners` returns a flat `Listeners` array), and
//! empty values appear as `""`, `{}` or `null`. These helpers accept every such form so that a response never fails
//! to parse over a representation detail.

use std::str::FromStr;

use serde::{Deserialize, Deserializer, de::DeserializeOwned, de::Error as _};
use serde_json::Value;

/// Parses an integer given as a JSON number or a string; `null`, `""` and a missing field give the default.
pub(crate) fn number<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + FromStr + TryFrom<i64> + TryFrom<u64>,
{
    number_from_value(Value::deserialize(d)?).map_err(D::Error::custom)
}

fn number_from_value<T>(v: Value) -> Result<T, String>
where
    T: Default + FromStr + TryFrom<i64> + TryFrom<u64>,
{
    match v {
        Value::Null => Ok(T::default()),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                T::try_from(u).map_err(|_| format!("number {u} out of range"))
            } else if let Some(i) = n.as_i64() {
                T::try_from(i).map_err(|_| format!("number {i} out of range"))
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                        T::try_from(f as i64).map_err(|_| format!("number {f} out of range"))
                    }
                    _ => Err(format!("expected an integer, got {n}")),
                }
            }
        }
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                Ok(T::default())
            } else {
                s.parse().map_err(|_| format!("expected an integer, got {s:?}"))
            }
        }
        other => Err(format!("expected an integer, got {other}")),
    }
}

/// Parses a flag given as a JSON boolean, as `"true"`/`"false"`/`"on"`/`"off"`, or as `0`/`1`; empty gives `false`.
pub(crate) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "false" | "off" | "0" | "no" => Ok(false),
            "true" | "on" | "1" | "yes" => Ok(true),
            other => Err(D::Error::custom(format!("expected a boolean, got {other:?}"))),
        },
        other => Err(D::Error::custom(format!("expected a boolean, got {other}"))),
    }
}

/// Parses text given as a JSON string, number or boolean (`OrderId` is a number in some responses); `null` gives
/// the empty string.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(D::Error::custom(format!("expected a string, got {other}"))),
    }
}

/// Parses an optional closed-set value (an SLB enum): `null` and `""` give `None`, anything else goes through the
/// enum's tolerant `From<String>`, so an unknown value lands in its `Other` variant instead of failing.
pub(crate) fn opt_enum<'de, D, E>(d: D) -> Result<Option<E>, D::Error>
where
    D: Deserializer<'de>,
    E: From<String>,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(E::from(s))),
        Value::Number(n) => Ok(Some(E::from(n.to_string()))),
        Value::Bool(b) => Ok(Some(E::from(b.to_string()))),
        other => Err(D::Error::custom(format!("expected a string, got {other}"))),
    }
}

/// Unwraps the API's list forms into the items: `[…]`, `{"Item":[…]}`, `{"Item":{…}}` (one item),
/// `{}` / `{"Item":null}` / `""` / `null` (empty), or a lone item object.
fn list_items(v: Value) -> Vec<Value> {
    match v {
        Value::Null => Vec::new(),
        Value::String(s) if s.trim().is_empty() => Vec::new(),
        Value::Array(items) => items,
        Value::Object(map) if map.is_empty() => Vec::new(),
        Value::Object(map) if map.len() == 1 => {
            let (_, inner) = map.into_iter().next().unwrap_or((String::new(), Value::Null));
            match inner {
                Value::Array(items) => items,
                Value::Null => Vec::new(),
                Value::String(s) if s.trim().is_empty() => Vec::new(),
                // A single wrapped item object, or a lone scalar item.
                other => vec![other],
            }
        }
        other => vec![other],
    }
}

/// Parses a list of records in any of the API's list forms (see [`list_items`]).
pub(crate) fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    list_items(Value::deserialize(d)?)
        .into_iter()
        .map(|item| serde_json::from_value(item).map_err(D::Error::custom))
        .collect()
}

/// Parses a list of integers (ports), each a number or a string, in any of the API's list forms.
pub(crate) fn number_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Default + FromStr + TryFrom<i64> + TryFrom<u64>,
{
    list_items(Value::deserialize(d)?)
        .into_iter()
        .map(|item| number_from_value(item).map_err(D::Error::custom))
        .collect()
}

/// Parses a list of strings (ACL IDs, subject alternative names) in any of the API's list forms.
pub(crate) fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    list_items(Value::deserialize(d)?)
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(D::Error::custom(format!("expected a string item, got {other}"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Sample {
        #[serde(deserialize_with = "super::number")]
        port: u16,
        #[serde(deserialize_with = "super::number")]
        bandwidth: i32,
        #[serde(deserialize_with = "super::boolean")]
        flag: bool,
        #[serde(deserialize_with = "super::string")]
        order: String,
        #[serde(deserialize_with = "super::number_list")]
        ports: Vec<u16>,
        #[serde(deserialize_with = "super::string_list")]
        names: Vec<String>,
    }

    #[test]
    fn numbers_accept_strings_numbers_and_empties() {
        let s: Sample = serde_json::from_str(r#"{"port":"8080","bandwidth":-1,"flag":"on","order":12345}"#).unwrap();
        assert_eq!((s.port, s.bandwidth, s.flag, s.order.as_str()), (8080, -1, true, "12345"));
        let s: Sample = serde_json::from_str(r#"{"port":"","bandwidth":null,"flag":false,"order":null}"#).unwrap();
        assert_eq!((s.port, s.bandwidth, s.flag, s.order.as_str()), (0, 0, false, ""));
        let s: Sample = serde_json::from_str(r#"{"port":80.0}"#).unwrap();
        assert_eq!(s.port, 80);
        assert!(serde_json::from_str::<Sample>(r#"{"port":70000}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"port":"http"}"#).is_err());
    }

    #[test]
    fn lists_accept_every_wrapping() {
        for (json, want) in [
            (r#"{"ports":{"ListenerPort":[80,"443"]}}"#, vec![80, 443]),
            (r#"{"ports":[22]}"#, vec![22]),
            (r#"{"ports":{"ListenerPort":[]}}"#, vec![]),
            (r#"{"ports":{}}"#, vec![]),
            (r#"{"ports":""}"#, vec![]),
            (r#"{"ports":null}"#, vec![]),
            (r#"{"ports":{"ListenerPort":8080}}"#, vec![8080]),
        ] {
            let s: Sample = serde_json::from_str(json).unwrap();
            assert_eq!(s.ports, want, "{json}");
        }
        let s: Sample =
            serde_json::from_str(r#"{"names":{"SubjectAlternativeName":["a.example","b.example"]}}"#).unwrap();
        assert_eq!(s.names, ["a.example", "b.example"]);
    }
}
