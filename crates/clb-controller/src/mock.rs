//! An in-memory [`ClbCloud`] for tests: load balancers, listeners, vServer groups and backends kept in maps,
//! every call recorded in a call log, failures injectable.

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
};

use aliyun_api::{
    Tag,
    slb::{
        AddressType, InstanceChargeType, InternetChargeType, ListenerProtocol, ListenerStatus, MAX_BACKENDS_PER_CALL,
        ModificationProtectionStatus, OnOff,
    },
};

use crate::cloud::{
    Backend, CODE_ACL_IN_USE, CODE_VSWITCH_NO_IP, ClbCloud, CloudError, CloudResult, CreatedLoadBalancer,
    ListenerChange, NewListener, NewLoadBalancer, ObservedAcl, ObservedDomainExtension, ObservedListener,
    ObservedLoadBalancer, VServerGroupSummary,
};

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockCall {
    /// API action name (`CreateLoadBalancer`, `AddVServerGroupBackendServers`, …).
    pub action: &'static str,
    /// What it targeted and with what, in short.
    pub detail: String,
}

impl MockCall {
    /// Whether the call changes something (not a `Describe*`/`List*`).
    pub fn is_write(&self) -> bool {
        !self.action.starts_with("Describe") && !self.action.starts_with("List")
    }
}

/// A vServer group in the mock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockGroup {
    /// Its load balancer.
    pub load_balancer_id: String,
    /// Name.
    pub name: String,
    /// Backends.
    pub backends: Vec<Backend>,
}

/// A load balancer in the mock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockLoadBalancer {
    /// Attributes and tags.
    pub attributes: ObservedLoadBalancer,
    /// Listeners.
    pub listeners: Vec<ObservedListener>,
}

#[derive(Debug, Default)]
struct State {
    load_balancers: BTreeMap<String, MockLoadBalancer>,
    groups: BTreeMap<String, MockGroup>,
    calls: Vec<MockCall>,
    next_id: u64,
    failures: VecDeque<(&'static str, String, String)>,
    exhausted_vswitches: BTreeSet<String>,
    tokens: BTreeMap<String, String>,
    acls: BTreeMap<String, MockAcl>,
    eips: BTreeMap<String, Vec<String>>,
    enis: BTreeMap<String, String>,
    /// Domain extensions: id → (load balancer, port, domain, certificate).
    domain_extensions: BTreeMap<String, (String, u16, String, String)>,
}

/// An access control list in the mock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockAcl {
    /// Name.
    pub name: String,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Entries.
    pub entries: BTreeSet<String>,
}

impl State {
    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn lb(&mut self, op: &'static str, id: &str) -> CloudResult<&mut MockLoadBalancer> {
        self.load_balancers
            .get_mut(id)
            .ok_or_else(|| CloudError::api(op, "InvalidLoadBalancerId.NotFound", format!("{id} does not exist")))
    }

    fn group(&mut self, op: &'static str, id: &str) -> CloudResult<&mut MockGroup> {
        self.groups.get_mut(id).ok_or_else(|| {
            CloudError::api(op, "InvalidParameter.VServerGroupId.NotFound", format!("{id} does not exist"))
        })
    }
}

/// The in-memory cloud. Clones share the same state, so a test can keep one to inspect what another did.
#[derive(Debug, Default, Clone)]
pub struct MockClbCloud {
    state: Arc<Mutex<State>>,
}

fn check_batch(op: &'static str, backends: &[Backend]) -> CloudResult<()> {
    if backends.len() > MAX_BACKENDS_PER_CALL || backends.is_empty() {
        return Err(CloudError::api(op, "InvalidParameter", format!("{} backends in one call", backends.len())));
    }
    Ok(())
}

impl MockClbCloud {
    /// An empty cloud.
    pub fn new() -> Self {
        Self::default()
    }

    /// The domain extensions of listener `port`: domain → certificate.
    pub fn domain_extensions(&self, load_balancer_id: &str, port: u16) -> BTreeMap<String, String> {
        self.state()
            .domain_extensions
            .values()
            .filter(|(lb, p, _, _)| lb == load_balancer_id && *p == port)
            .map(|(_, _, d, c)| (d.clone(), c.clone()))
            .collect()
    }

    /// Gives pod address `ip` to ENI `eni_id` (in the VPC).
    pub fn add_eni_address(&self, eni_id: &str, ip: &str) {
        self.state().enis.insert(ip.to_owned(), eni_id.to_owned());
    }

    /// Binds an elastic IP address to a load balancer.
    pub fn bind_eip(&self, load_balancer_id: &str, address: &str) {
        self.state().eips.entry(load_balancer_id.to_owned()).or_default().push(address.to_owned());
    }

    /// Every access control list, by ID.
    pub fn acls(&self) -> BTreeMap<String, MockAcl> {
        self.state().acls.clone()
    }

    /// Adds an access control list; returns its ID.
    pub fn add_acl(&self, name: &str, entries: &[&str]) -> String {
        let mut state = self.state();
        let id = format!("acl-mock{}", state.next());
        let acl = MockAcl {
            name: name.to_owned(),
            tags: Vec::new(),
            entries: entries.iter().map(|e| (*e).to_owned()).collect(),
        };
        state.acls.insert(id.clone(), acl);
        id
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a call and returns the injected failure for it, if any.
    fn record(&self, action: &'static str, detail: String) -> CloudResult<MutexGuard<'_, State>> {
        let mut state = self.state();
        state.calls.push(MockCall { action, detail });
        if let Some(pos) = state.failures.iter().position(|(a, _, _)| *a == action)
            && let Some((_, code, message)) = state.failures.remove(pos)
        {
            return Err(CloudError::api(action, code, message));
        }
        Ok(state)
    }

    /// Adds a load balancer as it is (an empty ID gets a generated one); returns its ID.
    pub fn add_load_balancer(&self, mut attributes: ObservedLoadBalancer) -> String {
        let mut state = self.state();
        if attributes.id.is_empty() {
            attributes.id = format!("lb-mock{}", state.next());
        }
        let id = attributes.id.clone();
        state.load_balancers.insert(id.clone(), MockLoadBalancer { attributes, listeners: Vec::new() });
        id
    }

    /// Adds a listener to a load balancer.
    pub fn add_listener(&self, load_balancer_id: &str, listener: ObservedListener) {
        if let Some(lb) = self.state().load_balancers.get_mut(load_balancer_id) {
            lb.listeners.push(listener);
        }
    }

    /// Adds a vServer group with backends; returns its ID.
    pub fn add_group(&self, load_balancer_id: &str, name: &str, backends: Vec<Backend>) -> String {
        let mut state = self.state();
        let id = format!("rsp-mock{}", state.next());
        state.groups.insert(
            id.clone(),
            MockGroup { load_balancer_id: load_balancer_id.to_owned(), name: name.to_owned(), backends },
        );
        id
    }

    /// Makes the next call of `action` fail with `code` and `message`.
    pub fn fail_next(&self, action: &'static str, code: &str, message: &str) {
        self.state().failures.push_back((action, code.to_owned(), message.to_owned()));
    }

    /// Makes `CreateLoadBalancer` in `vswitch_id` fail with `VSwitchAvailableIpNotExist`.
    pub fn exhaust_vswitch(&self, vswitch_id: &str) {
        self.state().exhausted_vswitches.insert(vswitch_id.to_owned());
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<MockCall> {
        self.state().calls.clone()
    }

    /// The actions of the writes so far, in order.
    pub fn write_actions(&self) -> Vec<&'static str> {
        self.state().calls.iter().filter(|c| c.is_write()).map(|c| c.action).collect()
    }

    /// Forgets the calls so far.
    pub fn clear_calls(&self) {
        self.state().calls.clear();
    }

    /// A load balancer.
    pub fn load_balancer(&self, id: &str) -> Option<MockLoadBalancer> {
        self.state().load_balancers.get(id).cloned()
    }

    /// IDs of every load balancer.
    pub fn load_balancer_ids(&self) -> Vec<String> {
        self.state().load_balancers.keys().cloned().collect()
    }

    /// The groups of a load balancer by ID.
    pub fn groups_of(&self, load_balancer_id: &str) -> BTreeMap<String, MockGroup> {
        let state = self.state();
        state
            .groups
            .iter()
            .filter(|(_, g)| g.load_balancer_id == load_balancer_id)
            .map(|(k, g)| (k.clone(), g.clone()))
            .collect()
    }
}

impl ClbCloud for MockClbCloud {
    async fn find_load_balancers_by_tag(&self, key: &str, value: &str) -> CloudResult<Vec<ObservedLoadBalancer>> {
        let state = self.record("DescribeLoadBalancers", format!("tag {key}={value}"))?;
        Ok(state
            .load_balancers
            .values()
            .filter(|lb| lb.attributes.tags.get(key).map(String::as_str) == Some(value))
            .map(|lb| lb.attributes.clone())
            .collect())
    }

    async fn find_load_balancers_by_name(&self, name: &str) -> CloudResult<Vec<ObservedLoadBalancer>> {
        let state = self.record("DescribeLoadBalancers", format!("name {name}"))?;
        Ok(state
            .load_balancers
            .values()
            .filter(|lb| lb.attributes.name == name)
            .map(|lb| lb.attributes.clone())
            .collect())
    }

    async fn describe_load_balancer(&self, id: &str) -> CloudResult<Option<ObservedLoadBalancer>> {
        let state = self.record("DescribeLoadBalancers", format!("id {id}"))?;
        Ok(state.load_balancers.get(id).map(|lb| lb.attributes.clone()))
    }

    async fn describe_listeners(&self, load_balancer_id: &str) -> CloudResult<Vec<ObservedListener>> {
        let mut state = self.record("DescribeLoadBalancerListeners", load_balancer_id.to_owned())?;
        Ok(state.lb("DescribeLoadBalancerListeners", load_balancer_id)?.listeners.clone())
    }

    async fn describe_vserver_groups(&self, load_balancer_id: &str) -> CloudResult<Vec<VServerGroupSummary>> {
        let state = self.record("DescribeVServerGroups", load_balancer_id.to_owned())?;
        Ok(state
            .groups
            .iter()
            .filter(|(_, g)| g.load_balancer_id == load_balancer_id)
            .map(|(id, g)| VServerGroupSummary { id: id.clone(), name: g.name.clone() })
            .collect())
    }

    async fn describe_vserver_group_backends(&self, group_id: &str) -> CloudResult<Vec<Backend>> {
        const OP: &str = "DescribeVServerGroupAttribute";
        let state = self.record(OP, group_id.to_owned())?;
        // The API's answer for a group that does not exist (or went with its load balancer).
        let missing = || CloudError::api(OP, "InvalidParameter", "The specified VServerGroupId does not exist.");
        Ok(state.groups.get(group_id).ok_or_else(missing)?.backends.clone())
    }

    async fn create_load_balancer(&self, spec: &NewLoadBalancer) -> CloudResult<CreatedLoadBalancer> {
        const OP: &str = "CreateLoadBalancer";
        let detail = format!("{} vswitch={:?} token={}", spec.name, spec.vswitch_id, spec.client_token);
        let mut state = self.record(OP, detail)?;
        if let Some(id) = state.tokens.get(&spec.client_token).cloned()
            && let Some(lb) = state.load_balancers.get(&id)
        {
            return Ok(CreatedLoadBalancer { id, address: lb.attributes.address.clone() });
        }
        let intranet = spec.address_type == Some(AddressType::Intranet);
        if let Some(vsw) = &spec.vswitch_id
            && state.exhausted_vswitches.contains(vsw)
        {
            return Err(CloudError::api(OP, CODE_VSWITCH_NO_IP, format!("vSwitch {vsw} has no available IP")));
        }
        if intranet && spec.vswitch_id.is_none() {
            return Err(CloudError::api(OP, "MissingParameter", "VSwitchId is required for intranet"));
        }
        let n = state.next();
        let id = format!("lb-mock{n}");
        let address = match &spec.address {
            Some(a) => a.clone(),
            None if intranet => format!("192.168.0.{n}"),
            None => format!("47.100.0.{n}"),
        };
        let attributes = ObservedLoadBalancer {
            id: id.clone(),
            name: spec.name.clone(),
            address: address.clone(),
            address_type: Some(spec.address_type.clone().unwrap_or(AddressType::Internet)),
            ip_version: Some(spec.address_ip_version.clone().unwrap_or(aliyun_api::slb::AddressIpVersion::Ipv4)),
            vpc_id: spec.vpc_id.clone().unwrap_or_default(),
            vswitch_id: spec.vswitch_id.clone().unwrap_or_default(),
            master_zone_id: spec.master_zone_id.clone().unwrap_or_else(|| "cn-hangzhou-b".to_owned()),
            slave_zone_id: spec.slave_zone_id.clone().unwrap_or_else(|| "cn-hangzhou-c".to_owned()),
            spec: spec.spec.clone().unwrap_or_default(),
            instance_charge_type: Some(spec.instance_charge_type.clone().unwrap_or(InstanceChargeType::PayBySpec)),
            internet_charge_type: Some(spec.internet_charge_type.clone().unwrap_or(InternetChargeType::PayByTraffic)),
            bandwidth: spec.bandwidth.map_or(5120, i64::from),
            delete_protection: Some(spec.delete_protection.clone().unwrap_or(OnOff::Off)),
            modification_protection: Some(
                spec.modification_protection.clone().unwrap_or(ModificationProtectionStatus::NonProtection),
            ),
            resource_group_id: spec.resource_group_id.clone().unwrap_or_else(|| "rg-default".to_owned()),
            tags: spec.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
        };
        state.load_balancers.insert(id.clone(), MockLoadBalancer { attributes, listeners: Vec::new() });
        state.tokens.insert(spec.client_token.clone(), id.clone());
        Ok(CreatedLoadBalancer { id, address })
    }

    async fn set_load_balancer_name(&self, id: &str, name: &str) -> CloudResult<()> {
        let mut state = self.record("SetLoadBalancerName", format!("{id} {name}"))?;
        state.lb("SetLoadBalancerName", id)?.attributes.name = name.to_owned();
        Ok(())
    }

    async fn set_delete_protection(&self, id: &str, on: OnOff) -> CloudResult<()> {
        let mut state = self.record("SetLoadBalancerDeleteProtection", format!("{id} {on}"))?;
        state.lb("SetLoadBalancerDeleteProtection", id)?.attributes.delete_protection = Some(on);
        Ok(())
    }

    async fn set_modification_protection(&self, id: &str, status: ModificationProtectionStatus) -> CloudResult<()> {
        let mut state = self.record("SetLoadBalancerModificationProtection", format!("{id} {status}"))?;
        state.lb("SetLoadBalancerModificationProtection", id)?.attributes.modification_protection = Some(status);
        Ok(())
    }

    async fn modify_instance_charge_type(
        &self,
        id: &str,
        charge_type: InstanceChargeType,
        spec: Option<&str>,
    ) -> CloudResult<()> {
        let mut state = self.record("ModifyLoadBalancerInstanceChargeType", format!("{id} {charge_type} {spec:?}"))?;
        let lb = state.lb("ModifyLoadBalancerInstanceChargeType", id)?;
        lb.attributes.instance_charge_type = Some(charge_type);
        lb.attributes.spec = spec.unwrap_or_default().to_owned();
        Ok(())
    }

    async fn modify_instance_spec(&self, id: &str, spec: &str) -> CloudResult<()> {
        let mut state = self.record("ModifyLoadBalancerInstanceSpec", format!("{id} {spec}"))?;
        state.lb("ModifyLoadBalancerInstanceSpec", id)?.attributes.spec = spec.to_owned();
        Ok(())
    }

    async fn modify_internet_spec(
        &self,
        id: &str,
        charge_type: Option<InternetChargeType>,
        bandwidth: Option<u32>,
    ) -> CloudResult<()> {
        let mut state = self.record("ModifyLoadBalancerInternetSpec", format!("{id} {charge_type:?} {bandwidth:?}"))?;
        let lb = state.lb("ModifyLoadBalancerInternetSpec", id)?;
        if let Some(c) = charge_type {
            lb.attributes.internet_charge_type = Some(c);
        }
        if let Some(b) = bandwidth {
            lb.attributes.bandwidth = i64::from(b);
        }
        Ok(())
    }

    async fn tag_load_balancer(&self, id: &str, tags: &[Tag]) -> CloudResult<()> {
        let detail = tags.iter().map(|t| format!("{}={}", t.key, t.value)).collect::<Vec<_>>().join(",");
        let mut state = self.record("TagResources", format!("{id} {detail}"))?;
        let lb = state.lb("TagResources", id)?;
        lb.attributes.tags.extend(tags.iter().map(|t| (t.key.clone(), t.value.clone())));
        Ok(())
    }

    async fn untag_load_balancer(&self, id: &str, keys: &[String]) -> CloudResult<()> {
        let mut state = self.record("UntagResources", format!("{id} {}", keys.join(",")))?;
        let lb = state.lb("UntagResources", id)?;
        lb.attributes.tags.retain(|k, _| !keys.contains(k));
        Ok(())
    }

    async fn delete_load_balancer(&self, id: &str) -> CloudResult<()> {
        const OP: &str = "DeleteLoadBalancer";
        let mut state = self.record(OP, id.to_owned())?;
        if state.lb(OP, id)?.attributes.delete_protection == Some(OnOff::On) {
            return Err(CloudError::api(OP, "OperationDenied.DeleteProtection", "delete protection is on"));
        }
        state.load_balancers.remove(id);
        state.groups.retain(|_, g| g.load_balancer_id != id);
        state.domain_extensions.retain(|_, (lb, _, _, _)| lb != id);
        Ok(())
    }

    async fn create_listener(&self, load_balancer_id: &str, listener: &NewListener) -> CloudResult<()> {
        const OP: &str = "CreateLoadBalancerListener";
        let detail =
            format!("{load_balancer_id} {}/{} {}", listener.protocol, listener.port, listener.vserver_group_id);
        let mut state = self.record(OP, detail)?;
        if !state.groups.contains_key(&listener.vserver_group_id) {
            return Err(CloudError::api(OP, "InvalidParameter", "The specified VServerGroupId does not exist"));
        }
        let lb = state.lb(OP, load_balancer_id)?;
        if lb.listeners.iter().any(|l| l.port == listener.port && l.protocol == listener.protocol) {
            return Err(CloudError::api(OP, "ListenerAlreadyExists", "The listener already exists"));
        }
        lb.listeners.push(ObservedListener {
            port: listener.port,
            protocol: listener.protocol.clone(),
            status: Some(ListenerStatus::Stopped),
            description: listener.description.clone(),
            vserver_group_id: listener.vserver_group_id.clone(),
            settings: listener.settings.clone(),
        });
        Ok(())
    }

    async fn set_listener(&self, load_balancer_id: &str, change: &ListenerChange) -> CloudResult<()> {
        const OP: &str = "SetLoadBalancerListenerAttribute";
        let detail = format!("{load_balancer_id} {}/{} {}", change.protocol, change.port, change.settings);
        let mut state = self.record(OP, detail)?;
        let lb = state.lb(OP, load_balancer_id)?;
        let listener = lb
            .listeners
            .iter_mut()
            .find(|l| l.port == change.port && l.protocol == change.protocol)
            .ok_or_else(|| CloudError::api(OP, "InvalidParameter.ListenerNotExist", "listener not found"))?;
        if let Some(g) = &change.vserver_group_id {
            listener.vserver_group_id = g.clone();
        }
        if let Some(d) = &change.description {
            listener.description = d.clone();
        }
        listener.settings.merge_from(&change.settings);
        Ok(())
    }

    async fn start_listener(&self, load_balancer_id: &str, port: u16, protocol: &ListenerProtocol) -> CloudResult<()> {
        const OP: &str = "StartLoadBalancerListener";
        let mut state = self.record(OP, format!("{load_balancer_id} {protocol}/{port}"))?;
        let lb = state.lb(OP, load_balancer_id)?;
        let listener = lb
            .listeners
            .iter_mut()
            .find(|l| l.port == port && l.protocol == *protocol)
            .ok_or_else(|| CloudError::api(OP, "InvalidParameter.ListenerNotExist", "listener not found"))?;
        listener.status = Some(ListenerStatus::Running);
        Ok(())
    }

    async fn delete_listener(&self, load_balancer_id: &str, port: u16, protocol: &ListenerProtocol) -> CloudResult<()> {
        const OP: &str = "DeleteLoadBalancerListener";
        let mut state = self.record(OP, format!("{load_balancer_id} {protocol}/{port}"))?;
        let lb = state.lb(OP, load_balancer_id)?;
        let before = lb.listeners.len();
        lb.listeners.retain(|l| !(l.port == port && l.protocol == *protocol));
        if lb.listeners.len() == before {
            return Err(CloudError::api(OP, "Listener.NotExist", "listener not found"));
        }
        if *protocol == ListenerProtocol::Https {
            state.domain_extensions.retain(|_, (lb, p, _, _)| !(lb == load_balancer_id && *p == port));
        }
        Ok(())
    }

    async fn create_vserver_group(
        &self,
        load_balancer_id: &str,
        name: &str,
        backends: &[Backend],
    ) -> CloudResult<String> {
        const OP: &str = "CreateVServerGroup";
        let mut state = self.record(OP, format!("{load_balancer_id} {name} [{}]", list(backends)))?;
        state.lb(OP, load_balancer_id)?;
        // Like an add, except that no backend at all is fine.
        if !backends.is_empty() {
            check_batch(OP, backends)?;
        }
        let mut members: Vec<Backend> = Vec::new();
        for b in backends {
            if !members.iter().any(|have| have.identity() == b.identity()) {
                members.push(b.clone());
            }
        }
        let id = format!("rsp-mock{}", state.next());
        state.groups.insert(
            id.clone(),
            MockGroup { load_balancer_id: load_balancer_id.to_owned(), name: name.to_owned(), backends: members },
        );
        Ok(id)
    }

    async fn delete_vserver_group(&self, group_id: &str) -> CloudResult<()> {
        const OP: &str = "DeleteVServerGroup";
        let mut state = self.record(OP, group_id.to_owned())?;
        let lb_id = state.group(OP, group_id)?.load_balancer_id.clone();
        let in_use = state
            .load_balancers
            .get(&lb_id)
            .is_some_and(|lb| lb.listeners.iter().any(|l| l.vserver_group_id == group_id));
        if in_use {
            return Err(CloudError::api(OP, "RspoolVipExist", "the vserver group is used by a listener"));
        }
        state.groups.remove(group_id);
        Ok(())
    }

    async fn add_backends(&self, group_id: &str, backends: &[Backend]) -> CloudResult<()> {
        const OP: &str = "AddVServerGroupBackendServers";
        let mut state = self.record(OP, format!("{group_id} {}", list(backends)))?;
        check_batch(OP, backends)?;
        let group = state.group(OP, group_id)?;
        for b in backends {
            if !group.backends.iter().any(|have| have.identity() == b.identity()) {
                group.backends.push(b.clone());
            }
        }
        Ok(())
    }

    async fn remove_backends(&self, group_id: &str, backends: &[Backend]) -> CloudResult<()> {
        const OP: &str = "RemoveVServerGroupBackendServers";
        let mut state = self.record(OP, format!("{group_id} {}", list(backends)))?;
        check_batch(OP, backends)?;
        let group = state.group(OP, group_id)?;
        group.backends.retain(|have| !backends.iter().any(|b| b.identity() == have.identity()));
        Ok(())
    }

    async fn set_backends(&self, group_id: &str, backends: &[Backend]) -> CloudResult<()> {
        const OP: &str = "SetVServerGroupAttribute";
        let mut state = self.record(OP, format!("{group_id} {}", list(backends)))?;
        check_batch(OP, backends)?;
        let group = state.group(OP, group_id)?;
        for b in backends {
            if let Some(have) = group.backends.iter_mut().find(|have| have.identity() == b.identity()) {
                have.weight = b.weight;
                have.description = b.description.clone();
            }
        }
        Ok(())
    }

    async fn find_enis(&self, vpc_id: &str, ips: &[String]) -> CloudResult<BTreeMap<String, String>> {
        const OP: &str = "DescribeNetworkInterfaces";
        let mut found = BTreeMap::new();
        for batch in ips.chunks(aliyun_api::ecs::DescribeNetworkInterfaces::MAX_FILTER_ITEMS) {
            let state = self.record(OP, format!("{vpc_id} {} address(es)", batch.len()))?;
            found.extend(batch.iter().filter_map(|ip| state.enis.get(ip).map(|eni| (ip.clone(), eni.clone()))));
        }
        Ok(found)
    }

    async fn describe_domain_extensions(
        &self,
        load_balancer_id: &str,
        port: u16,
    ) -> CloudResult<Vec<ObservedDomainExtension>> {
        let state = self.record("DescribeDomainExtensions", format!("{load_balancer_id} {port}"))?;
        Ok(state
            .domain_extensions
            .iter()
            .filter(|(_, (lb, p, _, _))| lb == load_balancer_id && *p == port)
            .map(|(id, (_, _, d, c))| ObservedDomainExtension {
                id: id.clone(),
                domain: d.clone(),
                certificate_id: c.clone(),
            })
            .collect())
    }

    async fn create_domain_extension(
        &self,
        load_balancer_id: &str,
        port: u16,
        domain: &str,
        certificate_id: &str,
    ) -> CloudResult<()> {
        const OP: &str = "CreateDomainExtension";
        let mut state = self.record(OP, format!("{load_balancer_id} {port} {domain} {certificate_id}"))?;
        let lb = state.lb(OP, load_balancer_id)?;
        if !lb.listeners.iter().any(|l| l.port == port && l.protocol == ListenerProtocol::Https) {
            return Err(CloudError::api(OP, "InvalidParameter.ListenerNotExist", "no HTTPS listener on the port"));
        }
        let id = format!("de-mock{}", state.next());
        state
            .domain_extensions
            .insert(id, (load_balancer_id.to_owned(), port, domain.to_owned(), certificate_id.to_owned()));
        Ok(())
    }

    async fn set_domain_extension(&self, id: &str, certificate_id: &str) -> CloudResult<()> {
        const OP: &str = "SetDomainExtensionAttribute";
        let mut state = self.record(OP, format!("{id} {certificate_id}"))?;
        let de =
            state.domain_extensions.get_mut(id).ok_or_else(|| CloudError::api(OP, "DomainExtensionNotExist", id))?;
        de.3 = certificate_id.to_owned();
        Ok(())
    }

    async fn delete_domain_extension(&self, id: &str) -> CloudResult<()> {
        let mut state = self.record("DeleteDomainExtension", id.to_owned())?;
        state.domain_extensions.remove(id);
        Ok(())
    }

    async fn describe_load_balancer_eips(&self, load_balancer_id: &str) -> CloudResult<Vec<String>> {
        let state = self.record("DescribeEipAddresses", load_balancer_id.to_owned())?;
        Ok(state.eips.get(load_balancer_id).cloned().unwrap_or_default())
    }

    async fn find_acls(&self, name: &str) -> CloudResult<Vec<ObservedAcl>> {
        let state = self.record("DescribeAccessControlLists", name.to_owned())?;
        Ok(state
            .acls
            .iter()
            .filter(|(_, a)| a.name == name)
            .map(|(id, a)| ObservedAcl { id: id.clone(), name: a.name.clone(), entries: a.entries.clone() })
            .collect())
    }

    async fn create_acl(&self, name: &str, tags: &[Tag]) -> CloudResult<String> {
        let mut state = self.record("CreateAccessControlList", name.to_owned())?;
        let id = format!("acl-mock{}", state.next());
        state.acls.insert(id.clone(), MockAcl { name: name.to_owned(), tags: tags.to_vec(), entries: BTreeSet::new() });
        Ok(id)
    }

    async fn add_acl_entries(&self, acl_id: &str, entries: &[String]) -> CloudResult<()> {
        const OP: &str = "AddAccessControlListEntry";
        let mut state = self.record(OP, format!("{acl_id} {}", entries.join(",")))?;
        let acl = state.acls.get_mut(acl_id).ok_or_else(|| CloudError::api(OP, "AclNotExist", "no such ACL"))?;
        for e in entries {
            if !acl.entries.insert(e.clone()) {
                return Err(CloudError::api(OP, "AclEntryExist", format!("{e} is already listed")));
            }
        }
        Ok(())
    }

    async fn remove_acl_entries(&self, acl_id: &str, entries: &[String]) -> CloudResult<()> {
        const OP: &str = "RemoveAccessControlListEntry";
        let mut state = self.record(OP, format!("{acl_id} {}", entries.join(",")))?;
        let acl = state.acls.get_mut(acl_id).ok_or_else(|| CloudError::api(OP, "AclNotExist", "no such ACL"))?;
        for e in entries {
            acl.entries.remove(e);
        }
        Ok(())
    }

    async fn delete_acl(&self, acl_id: &str) -> CloudResult<()> {
        const OP: &str = "DeleteAccessControlList";
        let mut state = self.record(OP, acl_id.to_owned())?;
        let used = state
            .load_balancers
            .values()
            .any(|lb| lb.listeners.iter().any(|l| l.settings.acl_id.as_deref() == Some(acl_id)));
        if used {
            return Err(CloudError::api(OP, CODE_ACL_IN_USE, "The specified ACL is in use by a listener."));
        }
        state.acls.remove(acl_id);
        Ok(())
    }
}

fn list(backends: &[Backend]) -> String {
    backends.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
