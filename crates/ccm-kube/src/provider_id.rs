//! ECS provider IDs: `<region-id>.<instance-id>`, with the `alicloud://` prefix accepted.

use std::{fmt, str::FromStr};

/// The optional scheme the Go CCM accepts in front of `<region>.<instance>`.
pub const ALICLOUD_SCHEME: &str = "alicloud://";

/// Why a provider ID is not an ECS one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderIdError {
    /// Empty string.
    #[error("provider ID is empty")]
    Empty,
    /// Another cloud's or tool's scheme (`aws://`, `kind://`, `ack-hybrid://`).
    #[error("provider ID `{0}` belongs to another provider (scheme `{1}`)")]
    ForeignScheme(String, String),
    /// Not `<region>.<instance-id>`.
    #[error("provider ID `{0}` is not `<region-id>.<instance-id>` (e.g. `cn-hangzhou.i-bp1abc`)")]
    Malformed(String),
}

/// An ECS instance's provider ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId {
    region: String,
    instance_id: String,
}

impl ProviderId {
    /// The provider ID of `instance_id` in `region`.
    pub fn new(region: impl Into<String>, instance_id: impl Into<String>) -> Self {
        Self { region: region.into(), instance_id: instance_id.into() }
    }

    /// Region ID (`cn-hangzhou`).
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Instance ID (`i-bp1abc`).
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

impl FromStr for ProviderId {
    type Err = ProviderIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ProviderIdError::Empty);
        }
        let rest = match s.strip_prefix(ALICLOUD_SCHEME) {
            Some(rest) => rest,
            None => {
                if let Some((scheme, _)) = s.split_once("://") {
                    return Err(ProviderIdError::ForeignScheme(s.to_owned(), format!("{scheme}://")));
                }
                s
            }
        };
        // Region IDs contain no dot, so the first dot separates them from the instance ID.
        let (region, instance) = rest.split_once('.').ok_or_else(|| ProviderIdError::Malformed(s.to_owned()))?;
        let valid = !region.is_empty()
            && !instance.is_empty()
            && region.chars().all(is_id_char)
            && instance.chars().all(is_id_char);
        if !valid {
            return Err(ProviderIdError::Malformed(s.to_owned()));
        }
        Ok(Self::new(region, instance))
    }
}

/// Formats as `<region>.<instance>` — the form the Go CCM and its provider-ID initor write.
impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.region, self.instance_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_alicloud_prefixed_forms() {
        let plain: ProviderId = "cn-hangzhou.i-bp1abc".parse().unwrap();
        assert_eq!((plain.region(), plain.instance_id()), ("cn-hangzhou", "i-bp1abc"));
        let prefixed: ProviderId = "alicloud://cn-hangzhou.i-bp1abc".parse().unwrap();
        assert_eq!(prefixed, plain);
        assert_eq!(prefixed.to_string(), "cn-hangzhou.i-bp1abc");
    }

    #[test]
    fn rejects_other_providers_and_malformed_ids() {
        assert_eq!("".parse::<ProviderId>(), Err(ProviderIdError::Empty));
        assert!(
            matches!("aws:///us-east-1a/i-0abc".parse::<ProviderId>(), Err(ProviderIdError::ForeignScheme(_, s)) if s == "aws://")
        );
        assert!(matches!("ack-hybrid://idc-node-1".parse::<ProviderId>(), Err(ProviderIdError::ForeignScheme(..))));
        for bad in ["i-bp1abc", "cn-hangzhou.", ".i-abc", "cn hangzhou.i-abc", "alicloud://", "cn-hangzhou.i-a/b"] {
            assert!(matches!(bad.parse::<ProviderId>(), Err(ProviderIdError::Malformed(_))), "{bad}");
        }
    }
}
