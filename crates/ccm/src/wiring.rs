//! Wiring of the controller crates: one function per controller to build it (at startup, registering its
//! metrics) and one to plan with it (the `plan` subcommand).
//!
//! Every controller `--controllers` can enable has an arm in [`prepare`] and [`plan`]; a controller that cannot run
//! with the configuration is a startup error naming it, never silently skipped. Adding a controller means adding a
//! [`Unit`] and its two arms.

use std::{future::Future, pin::Pin, sync::Arc};

use ccm_kube::node_feed::NodeFeed;
use k8s_openapi::api::core::v1::Node;
use prometheus_client::registry::Registry;

use crate::{
    cloud::Cloud,
    cloud_config::CloudConfig,
    controllers::{Controller, EnabledControllers},
    flags::Settings,
    kube_client::KubeClients,
};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What runs as one task. The node controller does both node initialization and node lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    /// `node-controller`: [`Controller::Node`] and [`Controller::NodeLifecycle`].
    Node,
    /// `route-controller`: [`Controller::Route`].
    Route,
    /// `clb-controller`: [`Controller::Service`].
    Service,
}

impl Unit {
    /// The name in logs, health checks and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Node => "node",
            Unit::Route => "route",
            Unit::Service => "service",
        }
    }

    /// The crate implementing it.
    pub fn crate_name(self) -> &'static str {
        match self {
            Unit::Node => "node-controller",
            Unit::Route => "route-controller",
            Unit::Service => "clb-controller",
        }
    }
}

/// A controller that cannot be started or planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WiringError {
    /// Only one of node initialization and node lifecycle is enabled.
    #[error(
        "--controllers enables {enabled} but not {disabled}; this CCM's node controller does both, so enable or \
         disable them together (`node`, `-node`)"
    )]
    PartialNode {
        /// The enabled one.
        enabled: &'static str,
        /// The disabled one.
        disabled: &'static str,
    },
    /// The controller cannot work with this configuration.
    #[error("the {name} controller: {reason}")]
    Config {
        /// Controller name.
        name: &'static str,
        /// What is missing and how to fix it.
        reason: String,
    },
    /// Planning failed (the cloud or the cluster could not be read).
    #[error("the {name} controller could not plan: {reason}")]
    Plan {
        /// Controller name.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

/// An error and its sources on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// The units for the enabled controllers, in start order.
pub fn units(enabled: &EnabledControllers) -> Result<Vec<Unit>, WiringError> {
    let mut units = Vec::new();
    match (enabled.is_enabled(Controller::Node), enabled.is_enabled(Controller::NodeLifecycle)) {
        (true, true) => units.push(Unit::Node),
        (false, false) => {}
        (true, false) => {
            return Err(WiringError::PartialNode {
                enabled: Controller::Node.canonical_name(),
                disabled: Controller::NodeLifecycle.canonical_name(),
            });
        }
        (false, true) => {
            return Err(WiringError::PartialNode {
                enabled: Controller::NodeLifecycle.canonical_name(),
                disabled: Controller::Node.canonical_name(),
            });
        }
    }
    if enabled.is_enabled(Controller::Route) {
        units.push(Unit::Route);
    }
    if enabled.is_enabled(Controller::Service) {
        units.push(Unit::Service);
    }
    Ok(units)
}

/// Everything the controllers are built from.
#[derive(Clone)]
pub struct Runtime {
    /// The validated flags.
    pub settings: Arc<Settings>,
    /// The cloud-config.
    pub cloud_config: Arc<CloudConfig>,
    /// The (rate-limited) Kubernetes client.
    pub kube: kube::Client,
    /// Where each controller gets a client with its own rate limit; `None`: they share [`Runtime::kube`].
    pub kube_clients: Option<KubeClients>,
    /// The cloud side.
    pub cloud: Cloud,
    /// This process's name in events (`reportingInstance`): the pod name when known.
    pub instance: Option<String>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("region", &self.region())
            .field("vpc_id", &self.vpc_id())
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A Kubernetes client for one controller: its own rate limit (as upstream's client builder gives each
    /// controller), or the shared client when none can be built.
    pub fn controller_kube(&self) -> kube::Client {
        let Some(clients) = &self.kube_clients else { return self.kube.clone() };
        clients.limited().unwrap_or_else(|error| {
            tracing::warn!(error = %format!("{error:#}"), "sharing the Kubernetes client between controllers");
            self.kube.clone()
        })
    }

    /// The cluster's region.
    pub fn region(&self) -> &str {
        &self.cloud.region.0
    }

    /// The cluster's VPC, when known.
    pub fn vpc_id(&self) -> Option<&str> {
        self.cloud.vpc_id.as_ref().map(|(v, _)| v.as_str())
    }
}

/// A controller built and ready to start.
pub struct Prepared {
    /// Which.
    pub unit: Unit,
    start: Box<dyn FnOnce(NodeFeed) -> BoxFuture<Result<(), String>> + Send>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared").field("unit", &self.unit).finish_non_exhaustive()
    }
}

impl Prepared {
    /// Wraps a start function.
    pub fn new(unit: Unit, start: impl FnOnce(NodeFeed) -> BoxFuture<Result<(), String>> + Send + 'static) -> Self {
        Self { unit, start: Box::new(start) }
    }

    /// The controller's future: it runs until the controller stops (an error, or the node feed ended).
    pub fn start(self, feed: NodeFeed) -> BoxFuture<Result<(), String>> {
        (self.start)(feed)
    }
}

/// Builds `unit` from `rt`, registering its metrics in `registry`. Nothing runs until [`Prepared::start`].
pub fn prepare(unit: Unit, rt: &Runtime, registry: &mut Registry) -> Result<Prepared, WiringError> {
    match unit {
        Unit::Node => Ok(node::prepare(rt, registry)),
        Unit::Route => route::prepare(rt, registry),
        Unit::Service => Ok(service::prepare(rt, registry)),
    }
}

/// What one controller would change now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanReport {
    /// One line per object considered: `name: what would happen`.
    pub lines: Vec<String>,
    /// How many objects would change.
    pub changes: usize,
    /// What the plan does not show.
    pub notes: Vec<String>,
}

/// Plans `unit` against the current state, writing nothing (neither to Kubernetes nor to the cloud).
pub async fn plan(unit: Unit, rt: &Runtime, nodes: &[Arc<Node>]) -> Result<PlanReport, WiringError> {
    match unit {
        Unit::Node => Ok(node::plan(rt, nodes).await),
        Unit::Route => route::plan(rt, nodes).await,
        Unit::Service => service::plan(rt, nodes).await,
    }
}

/// `node-controller`.
mod node {
    use std::{net::Ipv4Addr, sync::Arc};

    use aliyun_api::Error as ApiError;
    use k8s_openapi::api::core::v1::Node;
    use node_controller::{
        AliyunNodeCloud, Context, EcsInstance, NodeCloud, NodeControllerConfig, NodeMetrics, NodePlan,
        batch::plan_batch, plan::is_uninitialized,
    };
    use prometheus_client::registry::Registry;

    use super::{PlanReport, Prepared, Runtime, Unit};

    fn config(rt: &Runtime) -> NodeControllerConfig {
        let s = &rt.settings;
        NodeControllerConfig {
            region: rt.region().to_owned(),
            vpc_id: rt.vpc_id().map(str::to_owned),
            refresh_period: s.node_status_update_frequency,
            lifecycle_period: s.node_monitor_period,
            disable_source_dest_check: !s.skip_disable_source_dest_check,
            ipv6_dual_stack: rt.cloud_config.feature_enabled("IPv6DualStack"),
            event_instance: rt.instance.clone(),
            ..NodeControllerConfig::for_region(rt.region())
        }
    }

    pub(super) fn prepare(rt: &Runtime, registry: &mut Registry) -> Prepared {
        let cloud = AliyunNodeCloud::new(rt.cloud.client.clone());
        let ctx = Context {
            events_client: Some(rt.controller_kube()),
            ..Context::new(rt.controller_kube(), cloud, config(rt))
        };
        let ctx = Arc::new(ctx);
        ctx.metrics.register(registry);
        Prepared::new(Unit::Node, move |feed| {
            Box::pin(async move { node_controller::run(ctx, feed).await.map_err(|e| e.to_string()) })
        })
    }

    /// Forwards the reads of the node controller's cloud port and refuses its one write, so that `plan` can
    /// never change the cloud, whatever the configuration.
    struct ReadOnly(AliyunNodeCloud);

    impl NodeCloud for ReadOnly {
        async fn instances_by_ids(&self, region: &str, ids: &[String]) -> node_controller::Result<Vec<EcsInstance>> {
            self.0.instances_by_ids(region, ids).await
        }

        async fn instances_by_private_ips(
            &self,
            region: &str,
            vpc_id: &str,
            ips: &[Ipv4Addr],
        ) -> node_controller::Result<Vec<EcsInstance>> {
            self.0.instances_by_private_ips(region, vpc_id, ips).await
        }

        async fn source_dest_check_enabled(
            &self,
            region: &str,
            eni_ids: &[String],
        ) -> node_controller::Result<Vec<String>> {
            self.0.source_dest_check_enabled(region, eni_ids).await
        }

        async fn disable_source_dest_check(&self, _region: &str, _eni_id: &str) -> node_controller::Result<()> {
            Err(node_controller::Error::Cloud {
                call: "ModifyNetworkInterfaceAttribute",
                source: ApiError::InvalidRequest("`plan` writes nothing".into()),
            })
        }
    }

    pub(super) async fn plan(rt: &Runtime, nodes: &[Arc<Node>]) -> PlanReport {
        let cloud = ReadOnly(AliyunNodeCloud::new(rt.cloud.client.clone()));
        let mut plan_config = config(rt).plan_config();
        let disables_checks = std::mem::replace(&mut plan_config.disable_source_dest_check, false);
        let planned = plan_batch(&cloud, nodes.to_vec(), &plan_config, &NodeMetrics::default()).await;
        let mut report = PlanReport::default();
        let mut initializes = false;
        for p in &planned {
            if matches!(p.plan, NodePlan::Update(_) | NodePlan::Delete { .. }) {
                report.changes += 1;
                initializes |= matches!(p.plan, NodePlan::Update(_)) && is_uninitialized(&p.node);
            }
            report.lines.push(format!("{}: {}", p.name(), p.plan));
        }
        if disables_checks && initializes {
            report.notes.push(
                "before removing a node's taint, the source/destination check of its primary ENI would also be \
                 turned off where it is on (not shown; --skip-disable-source-dest-check leaves it alone)"
                    .to_owned(),
            );
        }
        report
    }
}

/// `route-controller`.
mod route {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::Node;
    use kube::runtime::events::Reporter;
    use prometheus_client::registry::Registry;
    use route_controller::{
        Context, RouteControllerConfig, RouteMetrics, RouteReconciler, aliyun::AliyunRouteCloud,
        controller::CONTROLLER_NAME, parse_cluster_cidrs,
    };

    use super::{PlanReport, Prepared, Runtime, Unit, WiringError, error_chain};

    fn config(rt: &Runtime) -> Result<RouteControllerConfig, WiringError> {
        let invalid = |reason: String| WiringError::Config { name: Unit::Route.name(), reason };
        let cluster_cidrs =
            parse_cluster_cidrs(&rt.settings.cluster_cidrs.join(",")).map_err(|e| invalid(error_chain(&e)))?;
        let vpc_id = rt.cloud.require_vpc("it").map_err(|e| invalid(format!("{e:#}")))?.to_owned();
        let config = RouteControllerConfig {
            region: rt.region().to_owned(),
            vpc_id,
            route_table_ids: rt.cloud_config.route_table_ids.clone(),
            cluster_cidrs,
            reconciliation_period: rt.settings.route_reconciliation_period,
            ..RouteControllerConfig::default()
        };
        config.validate().map_err(|e| invalid(error_chain(&e)))?;
        Ok(config)
    }

    pub(super) fn prepare(rt: &Runtime, registry: &mut Registry) -> Result<Prepared, WiringError> {
        let metrics = RouteMetrics::default();
        metrics.register(registry);
        let ctx = Context {
            client: rt.controller_kube(),
            cloud: Arc::new(AliyunRouteCloud::new(rt.cloud.client.clone())),
            config: config(rt)?,
            metrics,
            reporter: Some(Reporter { controller: CONTROLLER_NAME.into(), instance: rt.instance.clone() }),
        };
        Ok(Prepared::new(Unit::Route, move |feed| {
            Box::pin(async move { route_controller::run(ctx, feed).await.map_err(|e| error_chain(&e)) })
        }))
    }

    pub(super) async fn plan(rt: &Runtime, nodes: &[Arc<Node>]) -> Result<PlanReport, WiringError> {
        // The reconciler's `plan` observes and plans only; `apply` is never called here.
        let cloud = Arc::new(AliyunRouteCloud::new(rt.cloud.client.clone()));
        let mut reconciler = RouteReconciler::new(cloud, config(rt)?);
        let (plan, observation) = reconciler
            .plan(nodes, true)
            .await
            .map_err(|e| WiringError::Plan { name: Unit::Route.name(), reason: error_chain(&e) })?;
        let mut report = PlanReport {
            changes: plan.creates.len() + plan.deletes.len(),
            notes: vec![format!(
                "route tables: {} ({})",
                observation.selection.table_ids.join(", "),
                observation.selection.source
            )],
            ..PlanReport::default()
        };
        report.lines.extend(plan.deletes.iter().map(|d| format!("delete {}: {}", d.route, d.reason)));
        report.lines.extend(plan.creates.iter().map(|c| format!("create {}: for node {}", c.route, c.node)));
        report.lines.extend(plan.warnings.iter().map(|w| format!("warning: {w}")));
        Ok(report)
    }
}

/// `clb-controller`.
mod service {
    use std::sync::Arc;

    use clb_controller::{
        AliyunClb, ClbContext, ClbControllerConfig, ServiceLbConfig,
        config::ZoneVSwitch,
        metrics::ClbMetrics,
        model::{LABEL_SERVICE_NAME, build_desired, wants_load_balancer},
        naming::{ServiceOwner, default_load_balancer_name},
        observe::{LoadBalancerLookup, ObserveScope, observe},
        plan::plan_ensure,
        service_io::has_our_finalizer,
    };
    use k8s_openapi::api::{
        core::v1::{Node, Service},
        discovery::v1::EndpointSlice,
    };
    use kube::{Api, api::ListParams};
    use prometheus_client::registry::Registry;

    use super::{PlanReport, Prepared, Runtime, Unit, WiringError, error_chain};

    fn config(rt: &Runtime) -> ClbControllerConfig {
        let cc = &rt.cloud_config;
        let defaults = ClbControllerConfig::default();
        let concurrency = cc.service_max_concurrent_reconciles.unwrap_or(rt.settings.concurrent_service_syncs);
        ClbControllerConfig {
            cluster_id: cc.cluster_id().to_owned(),
            cluster_tag_key: cc.kubernetes_cluster_tag.clone().unwrap_or(defaults.cluster_tag_key.clone()),
            region: rt.region().to_owned(),
            vpc_id: rt.vpc_id().unwrap_or_default().to_owned(),
            vswitches: cc
                .vswitches
                .iter()
                .map(|v| ZoneVSwitch { zone_id: v.zone.clone(), vswitch_id: v.vswitch_id.clone() })
                .collect(),
            resource_group_id: cc.resource_group_id.clone(),
            disable_public_slb: cc.disable_public_slb,
            concurrent_service_syncs: u16::try_from(concurrency).unwrap_or(u16::MAX),
            event_instance: rt.instance.clone(),
            eni_backends: cc.service_backend_type.as_deref().is_some_and(|t| t.trim().eq_ignore_ascii_case("eni")),
            ..defaults
        }
    }

    pub(super) fn prepare(rt: &Runtime, registry: &mut Registry) -> Prepared {
        let metrics = ClbMetrics::default();
        metrics.register(registry);
        let ctx = ClbContext {
            client: rt.controller_kube(),
            cloud: AliyunClb::new(rt.cloud.client.clone()),
            config: config(rt),
            metrics,
        };
        Prepared::new(Unit::Service, move |feed| {
            Box::pin(async move {
                clb_controller::run(ctx, feed).await;
                Ok(())
            })
        })
    }

    fn plan_error(reason: String) -> WiringError {
        WiringError::Plan { name: Unit::Service.name(), reason }
    }

    /// Plans every Service with the controller's own pieces: annotations, desired model, observation of the
    /// cloud (reads only), and the pure `plan_ensure`. Nothing is applied and no status or finalizer is written.
    pub(super) async fn plan(rt: &Runtime, nodes: &[Arc<Node>]) -> Result<PlanReport, WiringError> {
        let services = Api::<Service>::all(rt.kube.clone())
            .list(&ListParams::default())
            .await
            .map_err(|e| plan_error(format!("listing Services: {}", error_chain(&e))))?;
        let slices: Vec<Arc<EndpointSlice>> = Api::<EndpointSlice>::all(rt.kube.clone())
            .list(&ListParams::default().labels(LABEL_SERVICE_NAME))
            .await
            .map_err(|e| plan_error(format!("listing EndpointSlices: {}", error_chain(&e))))?
            .items
            .into_iter()
            .map(Arc::new)
            .collect();
        let config = config(rt);
        let cloud = AliyunClb::new(rt.cloud.client.clone());
        let mut report = PlanReport {
            notes: vec!["Service status and finalizers, which follow the cloud changes, are not shown".into()],
            ..PlanReport::default()
        };
        for service in &services.items {
            let namespace = service.metadata.namespace.clone().unwrap_or_default();
            let name = service.metadata.name.clone().unwrap_or_default();
            let id = format!("{namespace}/{name}");
            let deleting = service.metadata.deletion_timestamp.is_some();
            if deleting || !wants_load_balancer(service) {
                if has_our_finalizer(service) {
                    report.changes += 1;
                    report.lines.push(format!("{id}: clean up what it owns in the cloud and remove the finalizer"));
                }
                continue;
            }
            let lb_config = match ServiceLbConfig::parse(service.metadata.annotations.as_ref()) {
                Ok(c) => c,
                Err(e) => {
                    report.lines.push(format!("{id}: invalid annotations, nothing would change: {e}"));
                    continue;
                }
            };
            let own_slices: Vec<Arc<EndpointSlice>> = slices
                .iter()
                .filter(|s| {
                    s.metadata.namespace.as_deref() == Some(namespace.as_str())
                        && s.metadata.labels.as_ref().and_then(|l| l.get(LABEL_SERVICE_NAME)) == Some(&name)
                })
                .cloned()
                .collect();
            let desired = match build_desired(service, &lb_config, nodes, &own_slices, &config) {
                Ok(d) => d,
                Err(e) => {
                    report.lines.push(format!("{id}: cannot plan: {}", error_chain(&e)));
                    continue;
                }
            };
            let lookup = LoadBalancerLookup {
                reuse_id: desired.load_balancer.reuse_id().map(str::to_owned),
                default_name: default_load_balancer_name(service.metadata.uid.as_deref().unwrap_or_default()),
            };
            let owner = ServiceOwner::new(namespace.clone(), name.clone(), config.cluster_id.clone());
            let observed = observe(&cloud, &lookup, &owner, ObserveScope::Full)
                .await
                .map_err(|e| plan_error(format!("{id}: reading the cloud: {}", error_chain(&e))))?;
            match plan_ensure(&desired, observed.as_ref()) {
                Ok(plan) => {
                    if !plan.is_empty() {
                        report.changes += 1;
                    }
                    report.lines.push(format!("{id}: {plan}"));
                }
                Err(e) => report.lines.push(format!("{id}: cannot plan: {}", error_chain(&e))),
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::Controller::*;

    #[test]
    fn node_initialization_and_lifecycle_go_together() {
        assert_eq!(
            units(&EnabledControllers::only([Node, NodeLifecycle, Route, Service])).unwrap(),
            [Unit::Node, Unit::Route, Unit::Service]
        );
        assert_eq!(units(&EnabledControllers::only([Service])).unwrap(), [Unit::Service]);
        let e = units(&EnabledControllers::only([Node])).unwrap_err();
        assert!(e.to_string().contains("enables cloud-node-controller but not cloud-node-lifecycle-controller"), "{e}");
        assert!(units(&EnabledControllers::only([NodeLifecycle])).is_err());
        assert!(units(&EnabledControllers::default()).unwrap().is_empty());
    }
}
