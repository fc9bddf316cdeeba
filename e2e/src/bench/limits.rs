//! The rate-limit profile: calls per minute per action (from `e2e/fixtures/bench-limits.yaml`), the
//! per-second `qps` rules aliyun-fake enforces from it, and the APIs' batch sizes.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Context as _, Result};

/// The built-in profile (`e2e/fixtures/bench-limits.yaml`).
pub const BUILTIN_LIMITS: &str = include_str!("../../fixtures/bench-limits.yaml");

pub use aliyun_fake::actions::{ECS_ACTIONS, SLB_ACTIONS, STS_ACTIONS, VPC_ACTIONS};

/// Read and write quotas of one product, in calls per minute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRates {
    /// `Describe*`, `List*`, `Get*`, `Query*`, `Check*`.
    pub read: f64,
    /// Everything else.
    pub write: f64,
}

/// Batch sizes of the APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSizes {
    /// Instance IDs per `DescribeInstances`.
    pub describe_instances: u64,
    /// Entries per `CreateRouteEntries` / `DeleteRouteEntries`.
    pub route_entries: u64,
    /// Backend servers per vServer group call.
    pub backends_per_call: u64,
    /// Load balancers per `DescribeLoadBalancers` page.
    pub load_balancers_per_page: u64,
}

/// The profile: quotas per minute, per product and per action, and batch sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateProfile {
    /// Per product (`ecs`, `vpc`, `slb`, `sts`).
    pub products: BTreeMap<String, ProductRates>,
    /// Per action, overriding the product's rate.
    #[serde(default)]
    pub actions: BTreeMap<String, f64>,
    /// For actions of no known product.
    pub default_per_minute: f64,
    /// Batch sizes.
    pub batch: BatchSizes,
}

/// The product of a known action (`ecs`, `vpc`, `slb`, `sts`), if any.
pub fn product_of(action: &str) -> Option<&'static str> {
    [("ecs", ECS_ACTIONS), ("vpc", VPC_ACTIONS), ("slb", SLB_ACTIONS), ("sts", STS_ACTIONS)]
        .into_iter()
        .find(|(_, actions)| actions.contains(&action))
        .map(|(product, _)| product)
}

/// Whether an action only reads (the SDKs' and aliyun-api's convention).
pub fn is_read_action(action: &str) -> bool {
    ["Describe", "List", "Get", "Query", "Check"].iter().any(|p| action.starts_with(p))
}

impl RateProfile {
    /// The built-in profile.
    pub fn builtin() -> Result<Self> {
        Self::parse(BUILTIN_LIMITS, "the built-in e2e/fixtures/bench-limits.yaml")
    }

    /// Reads a profile file (YAML or JSON).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).context(format!("reading {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, what: &str) -> Result<Self> {
        let profile: Self = serde_yaml_ng::from_str(text).context(format!("parsing {what}"))?;
        let bad = profile
            .products
            .values()
            .flat_map(|p| [p.read, p.write])
            .chain(profile.actions.values().copied())
            .chain([profile.default_per_minute])
            .any(|v| !(v.is_finite() && v > 0.0));
        let b = &profile.batch;
        if bad || [b.describe_instances, b.route_entries, b.backends_per_call, b.load_balancers_per_page].contains(&0) {
            return Err(crate::Error::Format {
                context: format!("parsing {what}"),
                message: "every rate and batch size must be positive".into(),
            });
        }
        Ok(profile)
    }

    /// Calls per minute allowed for `action`.
    pub fn per_minute(&self, action: &str) -> f64 {
        if let Some(rate) = self.actions.get(action) {
            return *rate;
        }
        match product_of(action).and_then(|p| self.products.get(p)) {
            Some(rates) if is_read_action(action) => rates.read,
            Some(rates) => rates.write,
            None => self.default_per_minute,
        }
    }

    /// Calls per second aliyun-fake allows for `action`: `ceil(per_minute / 60)`, at least 1.
    pub fn qps(&self, action: &str) -> u32 {
        per_second(self.per_minute(action))
    }

    /// The `qps` fault rules for aliyun-fake: every known action, and `*` for the rest.
    pub fn fake_qps_rules(&self) -> BTreeMap<String, u32> {
        let mut rules = BTreeMap::new();
        for action in ECS_ACTIONS.iter().chain(VPC_ACTIONS).chain(SLB_ACTIONS).chain(STS_ACTIONS) {
            rules.insert((*action).to_string(), self.qps(action));
        }
        for action in self.actions.keys() {
            rules.insert(action.clone(), self.qps(action));
        }
        rules.insert("*".into(), per_second(self.default_per_minute));
        rules
    }
}

fn per_second(per_minute: f64) -> u32 {
    // Rates are validated positive and finite; the cast saturates for absurd values.
    ((per_minute / 60.0).ceil() as u32).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profile_follows_the_reference() {
        let p = RateProfile::builtin().expect("builtin");
        assert_eq!(p.qps("DescribeInstances"), 17); // 1000/min
        assert_eq!(p.qps("CreateRouteEntries"), 5); // 300/min
        assert_eq!(p.qps("DescribeRouteEntryList"), 10); // 600/min
        assert_eq!(p.qps("CreateLoadBalancer"), 2); // 100/min
        assert_eq!(p.qps("CreateVServerGroup"), 4); // SLB write 200/min
        assert_eq!(p.qps("DescribeLoadBalancers"), 10);
        assert_eq!(p.qps("SomethingUnknown"), 10);
        assert_eq!(p.batch.describe_instances, 100);
        assert_eq!(p.batch.route_entries, 50);
        let rules = p.fake_qps_rules();
        assert_eq!(rules["*"], 10);
        assert_eq!(rules["ModifyNetworkInterfaceAttribute"], 9); // ECS write 500/min
    }

    #[test]
    fn non_positive_rates_are_rejected() {
        let text = BUILTIN_LIMITS.replace("default_per_minute: 600", "default_per_minute: 0");
        assert!(RateProfile::parse(&text, "test").is_err());
    }
}
