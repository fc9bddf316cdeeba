//! The executor: runs a [`ClbPlan`] against a [`ClbCloud`], one operation after the other.
//!
//! Operations run in plan order (the plan orders them so that every step finds what it needs). Creation tries
//! the next vSwitch when one has no address left; adds that hit the backend quota are retried after the plan's
//! removals; deletions of things already gone succeed.

use std::collections::BTreeMap;

use tracing::{info, warn};

use crate::{
    cloud::{
        Backend, CODE_ACL_IN_USE, CODE_BACKEND_OVER_LIMIT, CODE_VSWITCH_NO_IP, ClbCloud, CloudError,
        CreatedLoadBalancer, ListenerChange, ListenerSettings, NEW_ACL, NewListener,
    },
    metrics::ClbMetrics,
    model::OwnedAclSpec,
    naming::VServerGroupKey,
    plan::{ClbOp, ClbPlan, GroupRef, LoadBalancerCreation},
};

/// What running a plan produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// The load balancer (created or existing).
    pub load_balancer_id: Option<String>,
    /// Its address, when the plan created it.
    pub created_address: Option<String>,
    /// The vServer groups the plan created, by key.
    pub created_groups: BTreeMap<VServerGroupKey, String>,
    /// Operations run.
    pub applied: usize,
}

/// Why a plan stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// An operation failed; the ones before it were applied.
    #[error("{operation}: {source}")]
    Operation {
        /// The operation, printed.
        operation: String,
        /// The cloud's error.
        #[source]
        source: CloudError,
    },
    /// The plan refers to a load balancer or group that neither exists nor was created by it.
    #[error("invalid plan: {0}")]
    InvalidPlan(String),
}

impl ApplyError {
    /// The cloud error, if the cloud refused.
    pub fn cloud(&self) -> Option<&CloudError> {
        match self {
            ApplyError::Operation { source, .. } => Some(source),
            ApplyError::InvalidPlan(_) => None,
        }
    }
}

/// Runs plans against one cloud.
pub struct Executor<'a, C> {
    cloud: &'a C,
    metrics: Option<&'a ClbMetrics>,
}

/// State while one plan runs.
#[derive(Default)]
struct Run {
    load_balancer_id: Option<String>,
    created_address: Option<String>,
    created_groups: BTreeMap<VServerGroupKey, String>,
    deferred_adds: Vec<ClbOp>,
    applied: usize,
    acl_id: Option<String>,
}

impl Run {
    fn load_balancer(&self) -> Result<String, ApplyError> {
        self.load_balancer_id.clone().ok_or_else(|| ApplyError::InvalidPlan("no load balancer to operate on".into()))
    }

    fn group(&self, group: &GroupRef) -> Result<String, ApplyError> {
        match group {
            GroupRef::Existing { id, .. } => Ok(id.clone()),
            GroupRef::New(key) => self
                .created_groups
                .get(key)
                .cloned()
                .ok_or_else(|| ApplyError::InvalidPlan(format!("group {key} is used before it is created"))),
        }
    }

    /// `settings` with [`NEW_ACL`] replaced by the access control list the plan ensured.
    fn settings(&self, settings: &ListenerSettings) -> Result<ListenerSettings, ApplyError> {
        let mut settings = settings.clone();
        if settings.acl_id.as_deref() == Some(NEW_ACL) {
            let id = self.acl_id.clone();
            settings.acl_id = Some(
                id.ok_or_else(|| ApplyError::InvalidPlan("access control list used before it is ensured".into()))?,
            );
        }
        Ok(settings)
    }
}

impl<'a, C: ClbCloud> Executor<'a, C> {
    /// An executor over `cloud`.
    pub fn new(cloud: &'a C) -> Self {
        Self { cloud, metrics: None }
    }

    /// Counts every operation in `metrics`.
    pub fn with_metrics(mut self, metrics: &'a ClbMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Runs `plan`; `client_token` makes load balancer creation idempotent across retries.
    pub async fn apply(&self, plan: &ClbPlan, client_token: &str) -> Result<ApplyOutcome, ApplyError> {
        let mut run = Run { load_balancer_id: plan.load_balancer_id.clone(), ..Run::default() };
        for op in &plan.ops {
            match self.run_op(&mut run, op, client_token).await {
                Err(ApplyError::Operation { source, .. }) if deferrable(op, &source) => {
                    warn!(%op, error = %source, "backend quota reached; retrying after removals");
                    run.deferred_adds.push(op.clone());
                }
                other => other?,
            }
        }
        for op in std::mem::take(&mut run.deferred_adds) {
            self.run_op(&mut run, &op, client_token).await?;
        }
        Ok(ApplyOutcome {
            load_balancer_id: run.load_balancer_id,
            created_address: run.created_address,
            created_groups: run.created_groups,
            applied: run.applied,
        })
    }

    async fn run_op(&self, run: &mut Run, op: &ClbOp, client_token: &str) -> Result<(), ApplyError> {
        let result = self.call(run, op, client_token).await;
        if let Some(metrics) = self.metrics {
            metrics.operation(op.action(), !matches!(result, Err(ApplyError::Operation { .. })));
        }
        if result.is_ok() {
            run.applied += 1;
            info!(%op, "applied");
        }
        result
    }

    async fn call(&self, run: &mut Run, op: &ClbOp, client_token: &str) -> Result<(), ApplyError> {
        let failed = |source: CloudError| ApplyError::Operation { operation: op.to_string(), source };
        let cloud = self.cloud;
        if let ClbOp::CreateLoadBalancer(creation) = op {
            let created = self.create_load_balancer(creation, client_token).await.map_err(failed)?;
            run.load_balancer_id = Some(created.id);
            run.created_address = Some(created.address);
            return Ok(());
        }
        match op {
            ClbOp::EnsureAcl(acl) => {
                run.acl_id = Some(self.ensure_acl(acl).await.map_err(failed)?);
                return Ok(());
            }
            ClbOp::AddAclEntries { id, entries } => return cloud.add_acl_entries(id, entries).await.map_err(failed),
            ClbOp::RemoveAclEntries { id, entries } => {
                return cloud.remove_acl_entries(id, entries).await.map_err(failed);
            }
            ClbOp::DeleteAcl(id) => {
                return match cloud.delete_acl(id).await {
                    Err(e) if e.has_code(CODE_ACL_IN_USE) => {
                        warn!(acl = %id, "access control list still referenced; kept");
                        Ok(())
                    }
                    other => other.map_err(failed),
                };
            }
            _ => {}
        }
        let lb = run.load_balancer()?;
        let result = match op {
            ClbOp::CreateLoadBalancer(_) => Ok(()),
            ClbOp::AddTags(tags) => cloud.tag_load_balancer(&lb, tags).await,
            ClbOp::RemoveTags(keys) => cloud.untag_load_balancer(&lb, keys).await,
            ClbOp::SetName(name) => cloud.set_load_balancer_name(&lb, name).await,
            ClbOp::SetDeleteProtection(on) => cloud.set_delete_protection(&lb, on.clone()).await,
            ClbOp::SetModificationProtection(s) => cloud.set_modification_protection(&lb, s.clone()).await,
            ClbOp::ModifyInstanceChargeType { charge_type, spec } => {
                cloud.modify_instance_charge_type(&lb, charge_type.clone(), spec.as_deref()).await
            }
            ClbOp::ModifyInstanceSpec(spec) => cloud.modify_instance_spec(&lb, spec).await,
            ClbOp::ModifyInternetSpec { charge_type, bandwidth } => {
                cloud.modify_internet_spec(&lb, charge_type.clone(), *bandwidth).await
            }
            ClbOp::CreateVServerGroup { key, backends } => {
                let id = self.create_group(run, &lb, key, backends).await.map_err(failed)?;
                run.created_groups.insert(key.clone(), id);
                Ok(())
            }
            ClbOp::AddBackends { group, backends } => cloud.add_backends(&run.group(group)?, backends).await,
            ClbOp::SetBackends { group, backends } => cloud.set_backends(&run.group(group)?, backends).await,
            ClbOp::RemoveBackends { group, backends } => {
                cloud.remove_backends(&run.group(group)?, backends).await.or_else(gone)
            }
            ClbOp::DeleteListener { port, protocol } => cloud.delete_listener(&lb, *port, protocol).await.or_else(gone),
            ClbOp::CreateListener(c) => {
                let listener = NewListener {
                    port: c.port,
                    protocol: c.protocol.clone(),
                    vserver_group_id: run.group(&c.group)?,
                    description: c.description.clone(),
                    settings: run.settings(&c.settings)?,
                };
                cloud.create_listener(&lb, &listener).await
            }
            ClbOp::SetListener(u) => {
                let change = ListenerChange {
                    port: u.port,
                    protocol: u.protocol.clone(),
                    vserver_group_id: u.group.as_ref().map(|g| run.group(g)).transpose()?,
                    description: u.description.clone(),
                    settings: run.settings(&u.settings)?,
                };
                cloud.set_listener(&lb, &change).await
            }
            ClbOp::StartListener { port, protocol } => cloud.start_listener(&lb, *port, protocol).await,
            ClbOp::DeleteVServerGroup { id, .. } => cloud.delete_vserver_group(id).await.or_else(gone),
            ClbOp::DeleteLoadBalancer => cloud.delete_load_balancer(&lb).await.or_else(gone),
            ClbOp::CreateDomainExtension { port, domain, certificate_id } => {
                cloud.create_domain_extension(&lb, *port, domain, certificate_id).await
            }
            ClbOp::SetDomainExtension { id, certificate_id, .. } => {
                cloud.set_domain_extension(id, certificate_id).await
            }
            ClbOp::DeleteDomainExtension { id, .. } => cloud.delete_domain_extension(id).await,
            ClbOp::EnsureAcl(_)
            | ClbOp::AddAclEntries { .. }
            | ClbOp::RemoveAclEntries { .. }
            | ClbOp::DeleteAcl(_) => Ok(()),
        };
        result.map_err(failed)
    }

    /// Creates a group with its first backends; when they would exceed the backend quota, creates it empty and
    /// defers them (like a refused add) until the plan's removals have run.
    async fn create_group(
        &self,
        run: &mut Run,
        load_balancer_id: &str,
        key: &VServerGroupKey,
        backends: &[Backend],
    ) -> Result<String, CloudError> {
        let name = key.to_string();
        match self.cloud.create_vserver_group(load_balancer_id, &name, backends).await {
            Err(e) if e.has_code(CODE_BACKEND_OVER_LIMIT) && !backends.is_empty() => {
                warn!(group = %name, error = %e, "backend quota reached; creating the group empty, adding after removals");
                let id = self.cloud.create_vserver_group(load_balancer_id, &name, &[]).await?;
                let group = GroupRef::New(key.clone());
                run.deferred_adds.push(ClbOp::AddBackends { group, backends: backends.to_vec() });
                Ok(id)
            }
            other => other,
        }
    }

    /// Finds the Service's access control list by name (or creates it) and makes its entries the wanted ones.
    async fn ensure_acl(&self, acl: &OwnedAclSpec) -> Result<String, CloudError> {
        let found = self.cloud.find_acls(&acl.name).await?.into_iter().next();
        let (id, have) = match found {
            Some(found) => (found.id, found.entries),
            None => {
                let tags: Vec<aliyun_api::Tag> =
                    acl.tags.iter().map(|(k, v)| aliyun_api::Tag::new(k.clone(), v.clone())).collect();
                (self.cloud.create_acl(&acl.name, &tags).await?, Default::default())
            }
        };
        let add: Vec<String> = acl.entries.iter().filter(|e| !have.contains(*e)).cloned().collect();
        if !add.is_empty() {
            self.cloud.add_acl_entries(&id, &add).await?;
        }
        let remove: Vec<String> = have.iter().filter(|e| !acl.entries.contains(*e)).cloned().collect();
        if !remove.is_empty() {
            self.cloud.remove_acl_entries(&id, &remove).await?;
        }
        Ok(id)
    }

    /// Creates the load balancer, moving to the next vSwitch while the cloud says one has no address left. Each
    /// vSwitch gets its own client token (a token is bound to the parameters it was first used with).
    async fn create_load_balancer(
        &self,
        creation: &LoadBalancerCreation,
        client_token: &str,
    ) -> Result<CreatedLoadBalancer, CloudError> {
        let mut request = creation.request.clone();
        if creation.vswitches.is_empty() {
            request.client_token = client_token.to_owned();
            return self.cloud.create_load_balancer(&request).await;
        }
        let mut last = None;
        for (i, vswitch) in creation.vswitches.iter().enumerate() {
            request.vswitch_id = Some(vswitch.clone());
            request.client_token = if i == 0 { client_token.to_owned() } else { format!("{client_token}-{i}") };
            match self.cloud.create_load_balancer(&request).await {
                Err(e) if e.has_code(CODE_VSWITCH_NO_IP) => {
                    warn!(vswitch = %vswitch, error = %e, "vSwitch has no free address; trying the next one");
                    last = Some(e);
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| CloudError::api("CreateLoadBalancer", CODE_VSWITCH_NO_IP, "no vSwitch to try")))
    }
}

/// Deleting what is already gone is success.
fn gone(e: CloudError) -> Result<(), CloudError> {
    if e.not_found { Ok(()) } else { Err(e) }
}

/// An add that hit the backend quota may succeed once the plan's removals ran.
fn deferrable(op: &ClbOp, e: &CloudError) -> bool {
    matches!(op, ClbOp::AddBackends { .. }) && e.has_code(CODE_BACKEND_OVER_LIMIT)
}

#[cfg(test)]
mod tests {
    use aliyun_api::slb::{ListenerStatus, OnOff};

    use super::*;
    use crate::{
        mock::MockClbCloud,
        model::tests::{annotate, desired, nodes, service},
        naming::ServiceOwner,
        observe::{FoundBy, LoadBalancerLookup, NameFallback, ObserveScope, find_load_balancer_with, observe},
        plan::{CleanupMode, plan_cleanup, plan_ensure},
        testutil::{go_ccm_state, seeded_mock},
    };

    /// The plan that brings what the mock holds to `desired`, from a full read.
    async fn plan_against(mock: &MockClbCloud, desired: &crate::model::DesiredClb) -> ClbPlan {
        let lookup = LoadBalancerLookup { reuse_id: None, default_name: desired.load_balancer.default_name.clone() };
        let observed = observe(mock, &lookup, &desired.owner, ObserveScope::Full).await.unwrap();
        plan_ensure(desired, observed.as_ref()).unwrap()
    }

    #[tokio::test]
    async fn creates_everything_from_scratch() {
        let mock = MockClbCloud::new();
        let d = desired(&service(), &nodes(&["a", "b"]));
        let plan = plan_ensure(&d, None).unwrap();
        let outcome = Executor::new(&mock).apply(&plan, "token-1").await.unwrap();
        assert_eq!(outcome.applied, 4);
        assert_eq!(
            mock.write_actions(),
            ["CreateLoadBalancer", "CreateVServerGroup", "CreateLoadBalancerListener", "StartLoadBalancerListener"]
        );
        let id = outcome.load_balancer_id.unwrap();
        let lb = mock.load_balancer(&id).unwrap();
        assert_eq!(outcome.created_address.as_deref(), Some(lb.attributes.address.as_str()));
        assert_eq!(lb.attributes.tags.get("kubernetes.do.not.delete"), Some(&d.load_balancer.default_name));
        assert_eq!(lb.attributes.delete_protection, Some(OnOff::On));
        let (group_id, group) = mock.groups_of(&id).into_iter().next().unwrap();
        assert_eq!(group.name, "k8s/30080/web/default/c1");
        assert_eq!(group.backends.len(), 2);
        let listener = &lb.listeners[0];
        assert_eq!(
            (listener.vserver_group_id.as_str(), listener.status.clone()),
            (group_id.as_str(), Some(ListenerStatus::Running))
        );
        assert_eq!(listener.description, "k8s/80/web/default/c1");
    }

    #[tokio::test]
    async fn a_new_service_costs_one_listing_and_no_backend_add() {
        let mock = MockClbCloud::new();
        let d = desired(&service(), &nodes(&["a", "b", "c"]));
        let lookup = LoadBalancerLookup { reuse_id: None, default_name: d.load_balancer.default_name.clone() };
        let found = find_load_balancer_with(&mock, &lookup, NameFallback::Skip).await.unwrap();
        assert!(found.is_none());
        let plan = plan_ensure(&d, None).unwrap();
        Executor::new(&mock).apply(&plan, "t").await.unwrap();
        let actions: Vec<&str> = mock.calls().iter().map(|c| c.action).collect();
        assert_eq!(
            actions,
            [
                "DescribeLoadBalancers",
                "CreateLoadBalancer",
                "CreateVServerGroup",
                "CreateLoadBalancerListener",
                "StartLoadBalancerListener"
            ]
        );
        let lb = mock.load_balancer_ids().remove(0);
        let group = mock.groups_of(&lb).into_values().next().unwrap();
        assert_eq!(group.backends, d.vserver_groups[0].backends);

        // The next look-up finds it by its tag in one listing, attributes and tags included.
        mock.clear_calls();
        let (found, by) = find_load_balancer_with(&mock, &lookup, NameFallback::Skip).await.unwrap().unwrap();
        assert_eq!((found.id.as_str(), by), (lb.as_str(), FoundBy::Tag));
        assert_eq!(found.delete_protection, Some(OnOff::On));
        assert_eq!(found.tags.get("kubernetes.do.not.delete"), Some(&d.load_balancer.default_name));
        assert_eq!(mock.calls().iter().map(|c| c.action).collect::<Vec<_>>(), ["DescribeLoadBalancers"]);
    }

    #[tokio::test]
    async fn a_new_group_over_the_backend_quota_is_created_empty_and_filled_after_removals() {
        let before = desired(&service(), &nodes(&["a"]));
        let (mock, lb) = seeded_mock(&go_ccm_state(&before));
        let mut s = service();
        s.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].node_port = Some(30081);
        let after = desired(&s, &nodes(&["a"]));
        let plan = plan_against(&mock, &after).await;
        mock.clear_calls();
        mock.fail_next("CreateVServerGroup", "InstanceBackendServerNumberOverLimit", "quota");
        Executor::new(&mock).apply(&plan, "t").await.unwrap();
        assert_eq!(
            mock.write_actions(),
            [
                "CreateVServerGroup",
                "CreateVServerGroup",
                "SetLoadBalancerListenerAttribute",
                "DeleteVServerGroup",
                "AddVServerGroupBackendServers"
            ]
        );
        let groups = mock.groups_of(&lb);
        let group = groups.values().find(|g| g.name == "k8s/30081/web/default/c1").unwrap();
        assert_eq!(group.backends, after.vserver_groups[0].backends);
        assert_eq!(groups.len(), 1, "the old group is gone: {groups:?}");
    }

    #[tokio::test]
    async fn a_retried_creation_reuses_the_client_token() {
        let mock = MockClbCloud::new();
        let d = desired(&service(), &nodes(&["a"]));
        let plan = plan_ensure(&d, None).unwrap();
        let first = Executor::new(&mock).apply(&ClbPlan { ops: plan.ops[..1].to_vec(), ..plan.clone() }, "t").await;
        let second = Executor::new(&mock).apply(&ClbPlan { ops: plan.ops[..1].to_vec(), ..plan }, "t").await;
        assert_eq!(first.unwrap().load_balancer_id, second.unwrap().load_balancer_id);
        assert_eq!(mock.load_balancer_ids().len(), 1);
    }

    #[tokio::test]
    async fn a_vswitch_without_addresses_moves_creation_to_the_next() {
        let mock = MockClbCloud::new();
        let d = desired(&annotate(service(), "address-type", "intranet"), &nodes(&["a"]));
        let plan = plan_ensure(&d, None).unwrap();
        let ClbOp::CreateLoadBalancer(c) = &plan.ops[0] else { panic!() };
        let (first, second) = (c.vswitches[0].clone(), c.vswitches[1].clone());
        mock.exhaust_vswitch(&first);
        let outcome = Executor::new(&mock).apply(&plan, "tok").await.unwrap();
        let creates: Vec<String> =
            mock.calls().into_iter().filter(|c| c.action == "CreateLoadBalancer").map(|c| c.detail).collect();
        assert_eq!(creates.len(), 2);
        assert!(creates[0].contains(&first) && creates[0].ends_with("token=tok"), "{creates:?}");
        assert!(creates[1].contains(&second) && creates[1].ends_with("token=tok-1"), "{creates:?}");
        let lb = mock.load_balancer(&outcome.load_balancer_id.unwrap()).unwrap();
        assert_eq!(lb.attributes.vswitch_id, second);
        assert!(lb.attributes.address.starts_with("192.168."));
    }

    #[tokio::test]
    async fn the_last_vswitch_failing_reports_the_cloud_error() {
        let mock = MockClbCloud::new();
        let d = desired(&annotate(annotate(service(), "address-type", "intranet"), "vswitch-id", "vsw-x"), &[]);
        mock.exhaust_vswitch("vsw-x");
        let err = Executor::new(&mock).apply(&plan_ensure(&d, None).unwrap(), "t").await.unwrap_err();
        assert!(err.to_string().contains("VSwitchAvailableIpNotExist"), "{err}");
    }

    #[tokio::test]
    async fn adds_over_the_backend_quota_are_retried_after_removals() {
        let before = desired(&service(), &nodes(&["a", "b"]));
        let (mock, lb) = seeded_mock(&go_ccm_state(&before));
        let after = desired(&service(), &nodes(&["a", "c"]));
        let plan = plan_against(&mock, &after).await;
        mock.clear_calls();
        mock.fail_next("AddVServerGroupBackendServers", "InstanceBackendServerNumberOverLimit", "quota");
        Executor::new(&mock).apply(&plan, "t").await.unwrap();
        assert_eq!(
            mock.write_actions(),
            ["AddVServerGroupBackendServers", "RemoveVServerGroupBackendServers", "AddVServerGroupBackendServers"]
        );
        let group = mock.groups_of(&lb).into_values().next().unwrap();
        let ids: Vec<&str> = group.backends.iter().map(|b| b.server_id.as_str()).collect();
        assert_eq!(ids, ["i-a", "i-c"]);
    }

    #[tokio::test]
    async fn deleting_turns_protection_off_first() {
        let d = desired(&service(), &nodes(&["a"]));
        let state = go_ccm_state(&d);
        let (mock, lb) = seeded_mock(&state);
        let owner = ServiceOwner::new("default", "web", "c1");
        let mut observed = state.clone();
        observed.load_balancer.id = lb.clone();
        let plan = plan_cleanup(&owner, &observed, CleanupMode::Delete, &[]);
        Executor::new(&mock).apply(&plan, "").await.unwrap();
        assert_eq!(mock.write_actions(), ["SetLoadBalancerDeleteProtection", "DeleteLoadBalancer"]);
        assert!(mock.load_balancer(&lb).is_none());
        // Deleting what is already gone is fine.
        let again = ClbPlan { load_balancer_id: Some(lb), ops: vec![ClbOp::DeleteLoadBalancer] };
        Executor::new(&mock).apply(&again, "").await.unwrap();
    }
}
