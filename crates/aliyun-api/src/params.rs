//! Request parameters as the API sees them: flat `Name=Value` pairs, with lists flattened to indexed keys.

use std::collections::BTreeMap;

use serde::Serialize;

/// The flat, name-sorted parameters of one API call (operation parameters only; the client adds the
/// common ones such as `Action`, `Version` and the signature).
///
/// Names sort in byte order, which is also the order both signature schemes canonicalize in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// An empty parameter set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name=value`, replacing an earlier value. An empty value is sent as `name=`.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.0.insert(name.into(), value.into());
        self
    }

    /// Sets `name` when `value` is `Some`.
    pub fn opt<V: ToString>(&mut self, name: &str, value: Option<V>) -> &mut Self {
        if let Some(v) = value {
            self.0.insert(name.to_owned(), v.to_string());
        }
        self
    }

    /// Sets `name` when `value` is `Some` and not empty (the old Go SDK never sends empty optional values).
    pub fn opt_str(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.0.insert(name.to_owned(), v.to_owned());
        }
        self
    }

    /// Flattens a list of scalars as `Name.1=a&Name.2=b`.
    pub fn repeat<V: ToString>(&mut self, name: &str, values: impl IntoIterator<Item = V>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            self.0.insert(format!("{name}.{}", i + 1), v.to_string());
        }
        self
    }

    /// Flattens a list of records as `Name.1.Field=value`: `fields` yields `(field, value)` pairs for one item;
    /// `None` values are skipped.
    pub fn repeat_fields<T>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = T>,
        fields: impl Fn(&T) -> Vec<(&'static str, Option<String>)>,
    ) -> &mut Self {
        for (i, item) in items.into_iter().enumerate() {
            for (field, value) in fields(&item) {
                if let Some(value) = value {
                    self.0.insert(format!("{name}.{}.{field}", i + 1), value);
                }
            }
        }
        self
    }

    /// Sets `name` to the JSON text of `value` (e.g. ECS `InstanceIds=["i-1","i-2"]`, SLB `BackendServers`).
    pub fn json<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> &mut Self {
        // Serializing plain data (strings, numbers, derived structs) to a String cannot fail.
        let text = serde_json::to_string(value).unwrap_or_default();
        self.0.insert(name.to_owned(), text);
        self
    }

    /// Looks a parameter up.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Whether `name` is set.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Removes a parameter, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    /// The parameters in byte order of their names.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Merges `other` in, its values winning.
    pub fn extend(&mut self, other: Params) {
        self.0.extend(other.0);
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// A resource tag as most request parameters take it (`Tag.N.Key`, `Tag.N.Value`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct Tag {
    /// Tag key.
    #[serde(rename = "Key")]
    pub key: String,
    /// Tag value.
    #[serde(rename = "Value")]
    pub value: String,
}

impl Tag {
    /// A tag `key=value`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), value: value.into() }
    }
}

impl Params {
    /// Flattens tags as `Name.N.Key` / `Name.N.Value`.
    pub fn tags(&mut self, name: &str, tags: &[Tag]) -> &mut Self {
        self.repeat_fields(name, tags, |t| vec![("Key", Some(t.key.clone())), ("Value", Some(t.value.clone()))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_flatten_to_one_based_indexed_keys() {
        let mut p = Params::new();
        p.repeat("LoadBalancerId", ["lb-a", "lb-b"]);
        p.tags("Tag", &[Tag::new("k", "v")]);
        let got: Vec<_> = p.iter().collect();
        assert_eq!(
            got,
            vec![("LoadBalancerId.1", "lb-a"), ("LoadBalancerId.2", "lb-b"), ("Tag.1.Key", "k"), ("Tag.1.Value", "v"),]
        );
    }

    #[test]
    fn json_lists_are_one_value() {
        let mut p = Params::new();
        p.json("InstanceIds", &["i-1", "i-2"]);
        assert_eq!(p.get("InstanceIds"), Some(r#"["i-1","i-2"]"#));
    }

    #[test]
    fn empty_optional_strings_are_not_sent() {
        let mut p = Params::new();
        p.opt_str("VpcId", Some("")).opt_str("ZoneId", None).opt_str("VSwitchId", Some("vsw-1"));
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![("VSwitchId", "vsw-1")]);
    }
}
