//! Controller configuration: what the binary takes from the cloud-config and its flags.

use std::time::Duration;

use crate::naming::{DEFAULT_CLUSTER_ID, DEFAULT_CLUSTER_TAG_KEY};

/// A vSwitch of the cloud-config's `vswitchid` list, with its zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ZoneVSwitch {
    /// Zone ID (`cn-hangzhou-b`).
    pub zone_id: String,
    /// vSwitch ID (`vsw-xxx`).
    pub vswitch_id: String,
}

/// Why a `vswitchid` entry was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cloud-config vswitchid entry {0:?} is not `zone:vsw-id`; skipped")]
pub struct MalformedVSwitch(pub String);

/// Parses the cloud-config `vswitchid` value: comma-separated `zone:vsw-id` pairs. Malformed entries (a bare
/// `vsw-id`, as the Go CCM also rejects) are returned separately so the caller can warn about them.
pub fn parse_vswitch_list(value: &str) -> (Vec<ZoneVSwitch>, Vec<MalformedVSwitch>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        match entry.split_once(':') {
            Some((zone, vsw)) if !zone.trim().is_empty() && !vsw.trim().is_empty() => {
                good.push(ZoneVSwitch { zone_id: zone.trim().to_owned(), vswitch_id: vsw.trim().to_owned() });
            }
            _ => bad.push(MalformedVSwitch(entry.to_owned())),
        }
    }
    (good, bad)
}

/// Configuration of the CLB service controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClbControllerConfig {
    /// Cluster ID (cloud-config `clusterID`, default `clusterid`): in ownership keys and the cluster tag.
    pub cluster_id: String,
    /// Key of the cluster tag (cloud-config `kubernetesClusterTag`, default `ack.aliyun.com`).
    pub cluster_tag_key: String,
    /// Region ID (cloud-config `region`).
    pub region: String,
    /// VPC of intranet load balancers (cloud-config `vpcid`).
    pub vpc_id: String,
    /// vSwitches for intranet load balancers (cloud-config `vswitchid`), tried in turn when one runs out of
    /// addresses.
    pub vswitches: Vec<ZoneVSwitch>,
    /// Resource group for new load balancers (cloud-config `resourceGroupID`), unless the annotation says another.
    pub resource_group_id: Option<String>,
    /// Refuse internet-facing load balancers (cloud-config `disablePublicSLB`).
    pub disable_public_slb: bool,
    /// Services reconciled at once (`--concurrent-service-syncs`, cloud-config `serviceMaxConcurrentReconciles`).
    pub concurrent_service_syncs: u16,
    /// First retry delay after a failure (doubles per failure).
    pub min_retry_delay: Duration,
    /// Longest retry delay.
    pub max_retry_delay: Duration,
    /// After this long a Service whose inputs did not change is checked against the cloud again (drift repair).
    pub resync_period: Duration,
    /// Name events are reported under (`service-controller`, as the Go CCM).
    pub event_reporter: String,
    /// Instance events are reported from (pod name), if known.
    pub event_instance: Option<String>,
    /// Pods (their ENIs) instead of nodes as backends for every Service (cloud-config `serviceBackendType: eni`);
    /// the `service.beta.kubernetes.io/backend-type` annotation overrides it per Service.
    pub eni_backends: bool,
}

impl Default for ClbControllerConfig {
    fn default() -> Self {
        Self {
            cluster_id: DEFAULT_CLUSTER_ID.to_owned(),
            cluster_tag_key: DEFAULT_CLUSTER_TAG_KEY.to_owned(),
            region: String::new(),
            vpc_id: String::new(),
            vswitches: Vec::new(),
            resource_group_id: None,
            disable_public_slb: false,
            concurrent_service_syncs: 3,
            min_retry_delay: Duration::from_secs(5),
            max_retry_delay: Duration::from_secs(300),
            resync_period: Duration::from_secs(600),
            event_reporter: "service-controller".to_owned(),
            event_instance: None,
            eni_backends: false,
        }
    }
}

impl ClbControllerConfig {
    /// Retry delay after `failures` consecutive failures: `min · 2^(failures-1)`, capped at the maximum.
    pub fn retry_delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(20);
        self.min_retry_delay.saturating_mul(1u32 << exponent).min(self.max_retry_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vswitch_list_takes_zone_pairs_and_reports_bare_ids() {
        let (good, bad) = parse_vswitch_list("cn-hangzhou-b:vsw-1, cn-hangzhou-c:vsw-2,vsw-3,");
        assert_eq!(good.len(), 2);
        assert_eq!(good[1], ZoneVSwitch { zone_id: "cn-hangzhou-c".into(), vswitch_id: "vsw-2".into() });
        assert_eq!(bad, vec![MalformedVSwitch("vsw-3".into())]);
    }

    #[test]
    fn backoff_doubles_from_5s_to_300s() {
        let c = ClbControllerConfig::default();
        let delays: Vec<u64> = (1..=8).map(|n| c.retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(c.retry_delay(1000).as_secs(), 300);
    }
}
