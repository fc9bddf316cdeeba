//! An in-memory [`NodeCloud`]: instances and ENIs in a map, calls counted, errors injected on demand.
//!
//! Clones share state, so a test keeps one handle to steer the cloud while the controller uses another.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    net::{IpAddr, Ipv4Addr},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use aliyun_api::{ApiError, Error as ApiClientError};

use crate::{
    cloud::{EcsInstance, InstanceStatus, MAX_IDS_PER_CALL, NodeCloud},
    error::{Error, Result},
};

/// The calls the mock counts, one per API request an adapter would send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MockCall {
    /// `DescribeInstances` by instance IDs.
    InstancesByIds,
    /// `DescribeInstances` by private IPs in a VPC.
    InstancesByPrivateIps,
    /// `DescribeNetworkInterfaces`.
    DescribeNetworkInterfaces,
    /// `ModifyNetworkInterfaceAttribute`.
    DisableSourceDestCheck,
}

impl MockCall {
    fn action(self) -> &'static str {
        match self {
            MockCall::InstancesByIds | MockCall::InstancesByPrivateIps => "DescribeInstances",
            MockCall::DescribeNetworkInterfaces => "DescribeNetworkInterfaces",
            MockCall::DisableSourceDestCheck => "ModifyNetworkInterfaceAttribute",
        }
    }
}

#[derive(Debug, Default)]
struct State {
    instances: BTreeMap<String, EcsInstance>,
    /// ENIs whose source/destination check is on.
    checked_enis: BTreeSet<String>,
    calls: HashMap<MockCall, u32>,
    largest_call: HashMap<MockCall, usize>,
    /// Remaining injected failures per call; `u32::MAX` fails forever.
    failures: HashMap<MockCall, u32>,
    /// ENIs whose modification always fails.
    stuck_enis: BTreeSet<String>,
    /// How long every call takes.
    latency: Duration,
}

/// The in-memory cloud.
#[derive(Debug, Clone, Default)]
pub struct MockNodeCloud {
    state: Arc<Mutex<State>>,
}

/// A running instance in a VPC, with one private IP and a primary ENI (`eni-<id>`, source/dest check on when
/// added with [`MockNodeCloud::add_instance`]).
pub fn instance(region: &str, instance_id: &str, private_ip: &str) -> EcsInstance {
    EcsInstance {
        instance_id: instance_id.to_owned(),
        region_id: region.to_owned(),
        zone_id: format!("{region}-a"),
        instance_type: "ecs.g7.large".to_owned(),
        status: InstanceStatus::Running,
        charge_type: "PostPaid".to_owned(),
        spot_strategy: "NoSpot".to_owned(),
        vpc_id: "vpc-mock".to_owned(),
        private_ips: private_ip.parse().into_iter().collect(),
        public_ips: Vec::new(),
        eip: None,
        ipv6s: Vec::new(),
        tags: BTreeMap::new(),
        primary_eni_id: Some(format!("eni-{instance_id}")),
    }
}

impl MockNodeCloud {
    /// An empty cloud.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock poisons it; the data is still consistent enough for a test double.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds (or replaces) an instance; its primary ENI starts with the source/destination check on.
    pub fn add_instance(&self, instance: EcsInstance) {
        let mut state = self.state();
        if let Some(eni) = &instance.primary_eni_id {
            state.checked_enis.insert(eni.clone());
        }
        state.instances.insert(instance.instance_id.clone(), instance);
    }

    /// Deletes an instance.
    pub fn remove_instance(&self, instance_id: &str) {
        self.state().instances.remove(instance_id);
    }

    /// Sets an instance's state.
    pub fn set_status(&self, instance_id: &str, status: InstanceStatus) {
        if let Some(i) = self.state().instances.get_mut(instance_id) {
            i.status = status;
        }
    }

    /// Changes an instance in place.
    pub fn update_instance(&self, instance_id: &str, change: impl FnOnce(&mut EcsInstance)) {
        if let Some(i) = self.state().instances.get_mut(instance_id) {
            change(i);
        }
    }

    /// Whether an ENI's source/destination check is on.
    pub fn source_dest_check(&self, eni_id: &str) -> bool {
        self.state().checked_enis.contains(eni_id)
    }

    /// Makes the next `times` calls of `call` fail with a transient API error.
    pub fn fail_next(&self, call: MockCall, times: u32) {
        self.state().failures.insert(call, times);
    }

    /// Makes every call of `call` fail until [`MockNodeCloud::heal`].
    pub fn fail_always(&self, call: MockCall) {
        self.fail_next(call, u32::MAX);
    }

    /// Stops injecting failures into `call`.
    pub fn heal(&self, call: MockCall) {
        self.state().failures.remove(&call);
    }

    /// Makes modifications of one ENI fail.
    pub fn fail_eni(&self, eni_id: &str) {
        self.state().stuck_enis.insert(eni_id.to_owned());
    }

    /// Makes every call take `latency` (a slow cloud keeps batches running while nodes keep changing).
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// Waits the configured latency, without holding the state.
    async fn delay(&self) {
        let latency = self.state().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    /// How many requests of `call` were made.
    pub fn calls(&self, call: MockCall) -> u32 {
        self.state().calls.get(&call).copied().unwrap_or(0)
    }

    /// The most IDs or IPs one request of `call` carried.
    pub fn largest_call(&self, call: MockCall) -> usize {
        self.state().largest_call.get(&call).copied().unwrap_or(0)
    }

    /// Forgets the call counts.
    pub fn reset_calls(&self) {
        let mut state = self.state();
        state.calls.clear();
        state.largest_call.clear();
    }

    /// Counts the requests an adapter would send for `items` arguments, and fails if a failure is injected.
    fn begin(&self, call: MockCall, items: usize) -> Result<MutexGuard<'_, State>> {
        let mut state = self.state();
        let requests = items.div_ceil(MAX_IDS_PER_CALL).max(1) as u32;
        *state.calls.entry(call).or_default() += requests;
        let largest = state.largest_call.entry(call).or_default();
        *largest = (*largest).max(items.min(MAX_IDS_PER_CALL));
        if let Some(left) = state.failures.get_mut(&call).filter(|left| **left > 0) {
            if *left != u32::MAX {
                *left -= 1;
            }
            return Err(injected(call, "ServiceUnavailable", "injected by the mock"));
        }
        Ok(state)
    }
}

fn injected(call: MockCall, code: &str, message: &str) -> Error {
    let source = ApiClientError::Api {
        product: "ecs",
        action: call.action().to_owned(),
        source: Box::new(ApiError {
            status: 503,
            code: code.to_owned(),
            message: message.to_owned(),
            request_id: "mock".to_owned(),
            host_id: String::new(),
            recommend: String::new(),
            retry_after: None,
        }),
    };
    Error::Cloud { call: call.action(), source }
}

impl NodeCloud for MockNodeCloud {
    async fn instances_by_ids(&self, region: &str, ids: &[String]) -> Result<Vec<EcsInstance>> {
        self.delay().await;
        let state = self.begin(MockCall::InstancesByIds, ids.len())?;
        let found = ids.iter().filter_map(|id| state.instances.get(id)).filter(|i| i.region_id == region);
        Ok(found.cloned().collect())
    }

    async fn instances_by_private_ips(&self, region: &str, vpc_id: &str, ips: &[Ipv4Addr]) -> Result<Vec<EcsInstance>> {
        self.delay().await;
        let state = self.begin(MockCall::InstancesByPrivateIps, ips.len())?;
        let wanted: Vec<IpAddr> = ips.iter().copied().map(IpAddr::V4).collect();
        let found = state
            .instances
            .values()
            .filter(|i| i.region_id == region && i.vpc_id == vpc_id)
            .filter(|i| wanted.iter().any(|ip| i.has_private_ip(*ip)));
        Ok(found.cloned().collect())
    }

    async fn source_dest_check_enabled(&self, _region: &str, eni_ids: &[String]) -> Result<Vec<String>> {
        self.delay().await;
        let state = self.begin(MockCall::DescribeNetworkInterfaces, eni_ids.len())?;
        Ok(eni_ids.iter().filter(|id| state.checked_enis.contains(*id)).cloned().collect())
    }

    async fn disable_source_dest_check(&self, _region: &str, eni_id: &str) -> Result<()> {
        self.delay().await;
        let mut state = self.begin(MockCall::DisableSourceDestCheck, 1)?;
        if state.stuck_enis.contains(eni_id) {
            return Err(injected(MockCall::DisableSourceDestCheck, "InvalidOperation.Conflict", "the ENI is busy"));
        }
        state.checked_enis.remove(eni_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_requests_per_hundred_ids_and_injects_failures() {
        let cloud = MockNodeCloud::new();
        cloud.add_instance(instance("cn-hangzhou", "i-1", "10.0.0.1"));
        let ids: Vec<String> = (0..250).map(|n| format!("i-{n}")).collect();
        let found = cloud.instances_by_ids("cn-hangzhou", &ids).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(cloud.calls(MockCall::InstancesByIds), 3);
        assert_eq!(cloud.largest_call(MockCall::InstancesByIds), 100);
        assert!(cloud.instances_by_ids("cn-beijing", &ids[..2]).await.unwrap().is_empty(), "other region");

        cloud.fail_next(MockCall::InstancesByIds, 1);
        assert!(cloud.instances_by_ids("cn-hangzhou", &ids[..1]).await.is_err());
        assert!(cloud.instances_by_ids("cn-hangzhou", &ids[..1]).await.is_ok());
    }

    #[tokio::test]
    async fn ip_lookup_and_source_dest_check() {
        let cloud = MockNodeCloud::new();
        cloud.add_instance(instance("cn-hangzhou", "i-1", "10.0.0.1"));
        let hit = cloud.instances_by_private_ips("cn-hangzhou", "vpc-mock", &["10.0.0.1".parse().unwrap()]).await;
        assert_eq!(hit.unwrap().len(), 1);
        let other_vpc = cloud.instances_by_private_ips("cn-hangzhou", "vpc-x", &["10.0.0.1".parse().unwrap()]).await;
        assert!(other_vpc.unwrap().is_empty());

        let enis = vec!["eni-i-1".to_owned(), "eni-unknown".to_owned()];
        assert_eq!(cloud.source_dest_check_enabled("cn-hangzhou", &enis).await.unwrap(), vec!["eni-i-1"]);
        cloud.disable_source_dest_check("cn-hangzhou", "eni-i-1").await.unwrap();
        assert!(!cloud.source_dest_check("eni-i-1"));
        cloud.fail_eni("eni-i-2");
        assert!(cloud.disable_source_dest_check("cn-hangzhou", "eni-i-2").await.is_err());
    }
}
