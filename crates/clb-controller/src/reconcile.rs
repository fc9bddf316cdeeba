//! One Service, start to end: validate → model → observe → plan → apply → status, with the finalizer added before
//! any cloud call, cleanup on deletion or when the Service stops wanting a load balancer, and events throughout.
//!
//! The reconciler remembers, per Service, what it last made true. When the desired model is unchanged (and the
//! resync period has not passed) it makes no cloud call at all; when only backends changed (node or endpoint
//! churn) it reads and writes only vServer group backends, never listeners or load balancer attributes: it
//! remembers the IDs of the load balancer and of the Service's vServer groups, so such a sync reads just those
//! groups (one `DescribeVServerGroupAttribute` each, no look-up, no listing), and looks everything up again only
//! when a remembered group is gone.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Instant,
};

use k8s_openapi::api::{
    core::v1::{LoadBalancerIngress, Node, Service},
    discovery::v1::EndpointSlice,
};
use rand::Rng as _;
use tracing::{debug, info};

use crate::{
    annotations::{self, ServiceLbConfig, keys},
    apply::{ApplyOutcome, Executor},
    cloud::{ClbCloud, ObservedLoadBalancer},
    config::ClbControllerConfig,
    error::Error,
    metrics::ClbMetrics,
    model::{DesiredClb, build_desired, wants_load_balancer},
    naming::{ServiceOwner, TAG_OWNER, VServerGroupKey, default_load_balancer_name},
    observe::{
        FoundBy, LoadBalancerLookup, NameFallback, ObserveError, ObserveScope, ObservedClb, ObservedVServerGroup,
        find_load_balancer, find_load_balancer_with, observe_found,
    },
    plan::{ClbOp, ClbPlan, CleanupMode, plan_cleanup, plan_ensure},
    service_io::{
        ServiceEvent, ServiceWriter, current_ingress, has_finalizer, has_our_finalizer, ingress_identity, reasons,
    },
};

/// What a reconcile did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not a Service for this controller, nothing to clean.
    Ignored,
    /// Invalid annotations: reported, nothing changed.
    Invalid,
    /// Unchanged inputs: answered from memory, no cloud call.
    Cached,
    /// Checked against the cloud; nothing to change.
    Unchanged,
    /// Changes applied.
    Changed {
        /// The plan that ran.
        plan: ClbPlan,
    },
    /// Cleaned up and finalizer removed.
    Cleaned,
}

/// What was last made true for a Service.
#[derive(Debug, Clone)]
struct Synced {
    /// Fingerprint of the desired model before pod addresses were resolved to ENIs: unchanged inputs answer from
    /// memory without even the ENI look-up.
    inputs: u64,
    shape: u64,
    ingress: Vec<(Option<String>, Option<String>)>,
    at: Instant,
    /// When listeners and load balancer attributes were last read: backend-only syncs do not renew it, so a
    /// Service whose backends churn all the time still gets its full check every resync period.
    full_at: Instant,
    /// What the sync found or created in the cloud (`None` if it could not tell every group's ID).
    cloud: Option<KnownCloud>,
}

/// The cloud side of a Service as its last sync left it: enough to plan backend-only work without looking the
/// load balancer up or listing its groups.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KnownCloud {
    load_balancer_id: String,
    address: String,
    found_by: FoundBy,
    /// The Service's vServer groups (its own and `vgroup-port` ones), by key.
    groups: BTreeMap<VServerGroupKey, KnownGroup>,
}

/// One vServer group as the last sync left it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KnownGroup {
    id: String,
    name: String,
}

/// What remembering the cloud side gives a backend-only sync.
enum Known {
    /// Nothing (usable) remembered: look up and read as usual.
    Unknown,
    /// A remembered group is gone (deleted, or with its load balancer): read everything again.
    Gone,
    /// The Service's groups, read by their remembered IDs: the backend-only observation.
    Read(Box<ObservedClb>),
}

/// Reconciles Services against a cloud, writing to Kubernetes through a [`ServiceWriter`].
pub struct Reconciler<C, W> {
    cloud: C,
    writer: W,
    config: ClbControllerConfig,
    metrics: ClbMetrics,
    synced: Mutex<HashMap<String, Synced>>,
    tokens: Mutex<HashMap<String, String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<C: ClbCloud, W: ServiceWriter> Reconciler<C, W> {
    /// A reconciler over `cloud`, writing through `writer`.
    pub fn new(cloud: C, writer: W, config: ClbControllerConfig, metrics: ClbMetrics) -> Self {
        Self { cloud, writer, config, metrics, synced: Mutex::new(HashMap::new()), tokens: Mutex::new(HashMap::new()) }
    }

    /// The cloud.
    pub fn cloud(&self) -> &C {
        &self.cloud
    }

    /// The writer.
    pub fn writer(&self) -> &W {
        &self.writer
    }

    /// The configuration.
    pub fn config(&self) -> &ClbControllerConfig {
        &self.config
    }

    /// Reconciles one Service with the current nodes and EndpointSlices. Failures are reported as a
    /// `SyncLoadBalancerFailed` event and returned (the caller retries with backoff).
    pub async fn reconcile(
        &self,
        service: &Service,
        nodes: &[Arc<Node>],
        slices: &[Arc<EndpointSlice>],
    ) -> Result<Outcome, Error> {
        let started = Instant::now();
        let result = self.dispatch(service, nodes, slices).await;
        self.metrics.reconcile_duration.observe(started.elapsed().as_secs_f64());
        match &result {
            Ok(outcome) => self.metrics.reconciled(outcome_label(outcome)),
            Err(error) => {
                self.metrics.reconciled("error");
                self.forget(service);
                self.writer.publish(service, ServiceEvent::warning(reasons::SYNC_FAILED, error.to_string())).await;
            }
        }
        result
    }

    /// What a reconcile would change for a Service that wants a load balancer, without changing anything
    /// (for the binary's `plan` subcommand): reads the cloud, returns the plan.
    pub async fn dry_run(
        &self,
        service: &Service,
        nodes: &[Arc<Node>],
        slices: &[Arc<EndpointSlice>],
    ) -> Result<ClbPlan, Error> {
        let lb_config = ServiceLbConfig::parse(service.metadata.annotations.as_ref())?;
        let mut desired = build_desired(service, &lb_config, nodes, slices, &self.config)?;
        self.resolve_pod_backends(&mut desired).await?;
        let observed = self.observe_for_ensure(&desired, false, name_fallback(service)).await?;
        Ok(plan_ensure(&desired, observed.as_ref())?)
    }

    async fn dispatch(
        &self,
        service: &Service,
        nodes: &[Arc<Node>],
        slices: &[Arc<EndpointSlice>],
    ) -> Result<Outcome, Error> {
        let deleting = service.metadata.deletion_timestamp.is_some();
        if deleting || !wants_load_balancer(service) {
            return if has_our_finalizer(service) { self.cleanup(service).await } else { Ok(Outcome::Ignored) };
        }
        let ignored = annotations::ignored_annotations(service.metadata.annotations.as_ref());
        if !ignored.is_empty() {
            let list: Vec<String> = ignored.iter().map(|(key, why)| format!("{key} ({why})")).collect();
            let note = format!("ignoring annotation(s) with no effect on a Classic Load Balancer: {}", list.join(", "));
            self.writer.publish(service, ServiceEvent::warning(reasons::IGNORED_ANNOTATION, note)).await;
        }
        let lb_config = match ServiceLbConfig::parse(service.metadata.annotations.as_ref()) {
            Ok(c) => c,
            Err(errors) => {
                let note = Error::Annotations(errors).to_string();
                self.writer.publish(service, ServiceEvent::warning(reasons::SYNC_FAILED, note)).await;
                return Ok(Outcome::Invalid);
            }
        };
        let mut desired = build_desired(service, &lb_config, nodes, slices, &self.config)?;
        let inputs = desired.fingerprint();
        if self.unchanged_since_last_sync(service, inputs) {
            debug!(service = %desired.owner, "inputs unchanged; no cloud call");
            return Ok(Outcome::Cached);
        }
        let skipped = self.resolve_pod_backends(&mut desired).await?;
        if !skipped.is_empty() {
            let note = format!(
                "pod address(es) {} are held by no ENI in VPC {}; left out of the backends",
                skipped.join(", "),
                self.config.vpc_id
            );
            self.writer.publish(service, ServiceEvent::warning(reasons::INVALID_BACKENDS, note)).await;
        }
        self.ensure(service, &desired, inputs).await
    }

    /// Whether the last sync of the Service (within the resync period) was made from the same inputs, the
    /// Service still shows what it published then, and it carries the finalizer.
    fn unchanged_since_last_sync(&self, service: &Service, inputs: u64) -> bool {
        let uid = service.metadata.uid.as_deref().unwrap_or_default();
        let memory = lock(&self.synced).get(uid).cloned();
        memory.is_some_and(|m| {
            m.at.elapsed() < self.config.resync_period
                && m.inputs == inputs
                && m.ingress == ingress_identity(&current_ingress(service))
                && has_finalizer(service)
        })
    }

    /// Replaces the pod addresses of ENI backends with their ENIs (one batched lookup); returns the addresses no
    /// ENI holds, whose backends are dropped.
    async fn resolve_pod_backends(&self, desired: &mut DesiredClb) -> Result<Vec<String>, Error> {
        let ips: std::collections::BTreeSet<String> = desired
            .vserver_groups
            .iter()
            .flat_map(|g| g.backends.iter())
            .filter(|b| b.is_unresolved_pod())
            .map(|b| b.server_id.clone())
            .collect();
        if ips.is_empty() {
            return Ok(Vec::new());
        }
        let ips: Vec<String> = ips.into_iter().collect();
        let enis = self.cloud.find_enis(&self.config.vpc_id, &ips).await.map_err(ObserveError::from)?;
        for group in &mut desired.vserver_groups {
            group.backends.retain(|b| !b.is_unresolved_pod() || enis.contains_key(&b.server_id));
            for b in group.backends.iter_mut().filter(|b| b.is_unresolved_pod()) {
                b.server_id = enis[&b.server_id].clone();
            }
            group.backends.sort_by(|a, b| a.identity().cmp(&b.identity()));
        }
        Ok(ips.into_iter().filter(|ip| !enis.contains_key(ip)).collect())
    }

    async fn ensure(&self, service: &Service, desired: &DesiredClb, inputs: u64) -> Result<Outcome, Error> {
        let uid = service.metadata.uid.clone().unwrap_or_default();
        let wanted_ingress = |address: &str| ingress_for(desired, address);
        let memory = lock(&self.synced).get(&uid).cloned();
        let fresh = memory.as_ref().filter(|m| m.full_at.elapsed() < self.config.resync_period);
        // Decided before the finalizer is added: it is one of the signs that the Service had a load balancer.
        let fallback = name_fallback(service);
        if !has_finalizer(service) {
            self.writer
                .add_finalizer(service)
                .await
                .map_err(|source| Error::Kube { action: "adding finalizer", source })?;
        }
        let same_shape = fresh.filter(|m| m.shape == desired.shape_fingerprint());
        let backends_only = same_shape.is_some();
        let known = same_shape.and_then(|m| m.cloud.as_ref());
        let observed = match self.observe_known(desired, known).await? {
            Known::Read(observed) => Some(*observed),
            Known::Gone => self.observe_for_ensure(desired, false, fallback).await?,
            Known::Unknown => self.observe_for_ensure(desired, backends_only, fallback).await?,
        };
        let plan = plan_ensure(desired, observed.as_ref())?;
        if desired.has_empty_group() {
            let note = "There are no available nodes for LoadBalancer";
            self.writer.publish(service, ServiceEvent::warning(reasons::UNAVAILABLE, note)).await;
        }
        let applied = self.apply(service, &plan).await?;
        let lb_id = applied.load_balancer_id.clone().unwrap_or_default();
        let address = applied
            .created_address
            .clone()
            .or_else(|| observed.as_ref().map(|o| o.load_balancer.address.clone()))
            .unwrap_or_default();
        let ingress = if desired.eip_ingress && desired.hostname.is_none() {
            let eips = self.cloud.describe_load_balancer_eips(&lb_id).await.map_err(ObserveError::from)?;
            if eips.is_empty() {
                return Err(Error::NoEip(lb_id));
            }
            eips.into_iter().map(|ip| LoadBalancerIngress { ip: Some(ip), ..Default::default() }).collect()
        } else {
            wanted_ingress(&address)
        };
        if ingress_identity(&ingress) != ingress_identity(&current_ingress(service)) {
            self.writer
                .set_ingress(service, &ingress)
                .await
                .map_err(|source| Error::Kube { action: "updating status", source })?;
        }
        let cloud = known_cloud(desired, observed.as_ref(), &applied, &address);
        let full_at = if backends_only { memory.map(|m| m.full_at) } else { None };
        self.remember(&uid, inputs, desired, &ingress, cloud, full_at);
        if plan.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        let event = if plan.only_backends() {
            ServiceEvent::normal(reasons::UPDATED, "Updated load balancer with new hosts")
        } else {
            ServiceEvent::normal(reasons::ENSURED, format!("Ensured load balancer [{lb_id}]"))
        };
        self.writer.publish(service, event).await;
        Ok(Outcome::Changed { plan })
    }

    /// For a backend-only sync with the cloud side remembered: reads the backends of the Service's groups by
    /// their IDs (one call each, no look-up, no listing).
    async fn observe_known(&self, desired: &DesiredClb, known: Option<&KnownCloud>) -> Result<Known, Error> {
        let Some(known) = known else { return Ok(Known::Unknown) };
        let mut groups = Vec::new();
        for group in &desired.vserver_groups {
            let Some(have) = known.groups.get(&group.key) else { return Ok(Known::Unknown) };
            if group.existing_id.as_ref().is_some_and(|id| *id != have.id) {
                return Ok(Known::Unknown);
            }
            let backends = match self.cloud.describe_vserver_group_backends(&have.id).await {
                Ok(backends) => backends,
                Err(e) if e.is_missing_vserver_group() => {
                    info!(service = %desired.owner, group = %have.id, error = %e, "vServer group gone; reading everything");
                    return Ok(Known::Gone);
                }
                Err(e) => return Err(ObserveError::from(e).into()),
            };
            groups.push(ObservedVServerGroup {
                id: have.id.clone(),
                name: have.name.clone(),
                backends: Some(backends),
            });
        }
        let load_balancer = ObservedLoadBalancer {
            id: known.load_balancer_id.clone(),
            address: known.address.clone(),
            ..ObservedLoadBalancer::default()
        };
        Ok(Known::Read(Box::new(ObservedClb {
            load_balancer,
            found_by: known.found_by,
            listeners: None,
            vserver_groups: groups,
            owned_acls: Vec::new(),
            domain_extensions: Default::default(),
        })))
    }

    /// Observes for an ensure: backends only when the rest is known to be right, else everything the Service
    /// owns (also when a backend-only look finds a group missing). The load balancer is looked up once.
    async fn observe_for_ensure(
        &self,
        desired: &DesiredClb,
        backends_only: bool,
        fallback: NameFallback,
    ) -> Result<Option<ObservedClb>, Error> {
        let lookup = LoadBalancerLookup {
            reuse_id: desired.load_balancer.reuse_id().map(str::to_owned),
            default_name: desired.load_balancer.default_name.clone(),
        };
        let Some((found, by)) = find_load_balancer_with(&self.cloud, &lookup, fallback).await? else {
            return Ok(None);
        };
        let extra: Vec<String> = desired.vserver_groups.iter().filter_map(|g| g.existing_id.clone()).collect();
        let owner = &desired.owner;
        if backends_only {
            let observed =
                observe_found(&self.cloud, found.clone(), by, owner, ObserveScope::BackendsOnly, &extra).await?;
            let complete = desired.vserver_groups.iter().all(|g| match &g.existing_id {
                Some(id) => observed.vserver_groups.iter().any(|have| have.id == *id),
                None => observed.group_named(&g.key.to_string()).is_some(),
            });
            if complete {
                return Ok(Some(observed));
            }
        }
        Ok(Some(observe_found(&self.cloud, found, by, owner, ObserveScope::Full, &extra).await?))
    }

    /// Runs a plan, announcing it first unless it only touches backends.
    async fn apply(&self, service: &Service, plan: &ClbPlan) -> Result<ApplyOutcome, Error> {
        if plan.is_empty() {
            return Ok(ApplyOutcome { load_balancer_id: plan.load_balancer_id.clone(), ..ApplyOutcome::default() });
        }
        info!(service = ?service.metadata.name, %plan, "applying");
        if !plan.only_backends() {
            self.writer.publish(service, ServiceEvent::normal(reasons::ENSURING, "Ensuring load balancer")).await;
        }
        let uid = service.metadata.uid.clone().unwrap_or_default();
        let token = self.client_token(&uid);
        let outcome = Executor::new(&self.cloud).with_metrics(&self.metrics).apply(plan, &token).await?;
        if outcome.created_address.is_some() {
            lock(&self.tokens).remove(&uid);
        }
        Ok(outcome)
    }

    /// Removes what the Service owns in the cloud, clears its status and removes the finalizers.
    async fn cleanup(&self, service: &Service) -> Result<Outcome, Error> {
        self.writer.publish(service, ServiceEvent::normal(reasons::DELETING, "Deleting load balancer")).await;
        let annotations = service.metadata.annotations.as_ref();
        let uid = service.metadata.uid.clone().unwrap_or_default();
        let lookup = LoadBalancerLookup {
            reuse_id: annotations::lookup(annotations, keys::ID)
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            default_name: default_load_balancer_name(&uid),
        };
        let preserve = annotations::lookup(annotations, keys::PRESERVE_LB_ON_DELETE).is_some();
        let owner = ServiceOwner::new(
            service.metadata.namespace.clone().unwrap_or_default(),
            service.metadata.name.clone().unwrap_or_default(),
            self.config.cluster_id.clone(),
        );
        if !uid.is_empty()
            && let Some((found, by)) = find_load_balancer(&self.cloud, &lookup).await?
        {
            let observed = observe_found(&self.cloud, found, by, &owner, ObserveScope::Instance, &[]).await?;
            let mode = cleanup_mode(&lookup, preserve, &observed);
            let observed = match mode {
                CleanupMode::Release => {
                    let found = observed.load_balancer;
                    observe_found(&self.cloud, found, by, &owner, ObserveScope::Everything, &[]).await?
                }
                _ => observed,
            };
            let owner_tags = vec![TAG_OWNER.to_owned(), self.config.cluster_tag_key.clone()];
            let plan = plan_cleanup(&owner, &observed, mode, &owner_tags);
            self.apply_cleanup(service, &plan).await?;
            if mode == CleanupMode::Preserve {
                let note = format!("Load balancer {} preserved (preserve-lb-on-delete)", observed.load_balancer.id);
                self.writer.publish(service, ServiceEvent::warning(reasons::PRESERVED, note)).await;
            }
        }
        if !uid.is_empty() && !preserve {
            self.delete_owned_acls(&owner).await?;
        }
        if !current_ingress(service).is_empty() {
            self.writer
                .set_ingress(service, &[])
                .await
                .map_err(|source| Error::Kube { action: "clearing status", source })?;
        }
        self.writer
            .remove_finalizers(service)
            .await
            .map_err(|source| Error::Kube { action: "removing finalizer", source })?;
        self.forget(service);
        lock(&self.tokens).remove(&uid);
        self.writer.publish(service, ServiceEvent::normal(reasons::DELETED, "Deleted load balancer")).await;
        Ok(Outcome::Cleaned)
    }

    /// Deletes the access control lists the controller made for the Service's source ranges (after its listeners
    /// or load balancer are gone; the cloud refuses to delete a list in use).
    async fn delete_owned_acls(&self, owner: &ServiceOwner) -> Result<(), Error> {
        let acls = self.cloud.find_acls(&owner.acl_name()).await.map_err(ObserveError::from)?;
        let plan = ClbPlan { load_balancer_id: None, ops: acls.into_iter().map(|a| ClbOp::DeleteAcl(a.id)).collect() };
        if !plan.is_empty() {
            info!(service = %owner, %plan, "deleting access control lists");
            Executor::new(&self.cloud).with_metrics(&self.metrics).apply(&plan, "").await?;
        }
        Ok(())
    }

    async fn apply_cleanup(&self, service: &Service, plan: &ClbPlan) -> Result<(), Error> {
        if plan.is_empty() {
            return Ok(());
        }
        info!(service = ?service.metadata.name, %plan, "cleaning up");
        Executor::new(&self.cloud).with_metrics(&self.metrics).apply(plan, "").await?;
        Ok(())
    }

    fn remember(
        &self,
        uid: &str,
        inputs: u64,
        desired: &DesiredClb,
        ingress: &[LoadBalancerIngress],
        cloud: Option<KnownCloud>,
        full_at: Option<Instant>,
    ) {
        let now = Instant::now();
        let synced = Synced {
            inputs,
            shape: desired.shape_fingerprint(),
            ingress: ingress_identity(ingress),
            at: now,
            full_at: full_at.unwrap_or(now),
            cloud,
        };
        lock(&self.synced).insert(uid.to_owned(), synced);
    }

    /// Forgets what was made true for a Service (after failures, the next reconcile reads everything again).
    pub fn forget(&self, service: &Service) {
        if let Some(uid) = &service.metadata.uid {
            lock(&self.synced).remove(uid);
        }
    }

    /// The client token for creating the Service's load balancer, kept until a creation succeeds so that
    /// retries never create a second one.
    fn client_token(&self, uid: &str) -> String {
        lock(&self.tokens)
            .entry(uid.to_owned())
            .or_insert_with(|| {
                let nonce: u64 = rand::rng().random();
                let short_uid: String = uid.chars().filter(|c| *c != '-').take(32).collect();
                format!("{short_uid}-{nonce:016x}")
            })
            .clone()
    }
}

/// The cloud side a sync left: the load balancer, and each desired group's ID from what was observed or what the
/// plan created. `None` if some group's ID is unknown.
fn known_cloud(
    desired: &DesiredClb,
    observed: Option<&ObservedClb>,
    applied: &ApplyOutcome,
    address: &str,
) -> Option<KnownCloud> {
    let load_balancer_id = applied.load_balancer_id.clone().filter(|id| !id.is_empty())?;
    let observed_groups = observed.map(|o| o.vserver_groups.as_slice()).unwrap_or_default();
    let mut groups = BTreeMap::new();
    for group in &desired.vserver_groups {
        let seen = match &group.existing_id {
            Some(id) => observed_groups.iter().find(|g| g.id == *id),
            None => observed_groups.iter().find(|g| g.name == group.key.to_string()),
        };
        let known = match (seen, applied.created_groups.get(&group.key)) {
            (Some(g), _) => KnownGroup { id: g.id.clone(), name: g.name.clone() },
            (None, Some(id)) => KnownGroup { id: id.clone(), name: group.key.to_string() },
            (None, None) => return None,
        };
        groups.insert(group.key.clone(), known);
    }
    let found_by = observed
        .map_or(if desired.load_balancer.reuse_id().is_some() { FoundBy::Id } else { FoundBy::Tag }, |o| o.found_by);
    Some(KnownCloud { load_balancer_id, address: address.to_owned(), found_by, groups })
}

/// Whether the look-up may fall back to the default name: only for a Service that may have had a load balancer
/// before the owner tag existed (it carries the finalizer or publishes an ingress). A new Service's load balancer
/// can only have been created, tagged, by a controller, so one listing by tag settles it.
fn name_fallback(service: &Service) -> NameFallback {
    if has_finalizer(service) || !current_ingress(service).is_empty() { NameFallback::Try } else { NameFallback::Skip }
}

/// The ingress to publish: the hostname annotation, else the address.
fn ingress_for(desired: &DesiredClb, address: &str) -> Vec<LoadBalancerIngress> {
    match (&desired.hostname, address) {
        (Some(hostname), _) => vec![LoadBalancerIngress { hostname: Some(hostname.clone()), ..Default::default() }],
        (None, "") => Vec::new(),
        (None, ip) => vec![LoadBalancerIngress { ip: Some(ip.to_owned()), ..Default::default() }],
    }
}

/// Delete only what the controller provably created; preserve on request; otherwise release what is ours.
fn cleanup_mode(lookup: &LoadBalancerLookup, preserve: bool, observed: &ObservedClb) -> CleanupMode {
    if lookup.reuse_id.is_some() || !observed.is_owned_by(&lookup.default_name) {
        CleanupMode::Release
    } else if preserve {
        CleanupMode::Preserve
    } else {
        CleanupMode::Delete
    }
}

fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Ignored => "ignored",
        Outcome::Invalid => "invalid",
        Outcome::Cached => "cached",
        Outcome::Unchanged => "unchanged",
        Outcome::Changed { .. } => "changed",
        Outcome::Cleaned => "cleaned",
    }
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
