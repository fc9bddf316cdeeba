//! The run mode: serve health and metrics, win the Lease, then run the enabled controllers over one shared Node
//! watch until SIGTERM/SIGINT (release the Lease, exit 0), leadership is lost (exit non-zero, as upstream), or a
//! controller stops (exit non-zero, so the pod restarts).

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use aliyun_api::metrics::ClientMetrics;
use ccm_kube::node_feed::SharedNodeWatch;
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{family::Family, gauge::Gauge},
    registry::Registry,
};
use tokio::task::JoinSet;

use crate::{
    cloud,
    flags::Settings,
    kube_client,
    leader::{KubeLeaseStore, LeaderElector, LeaderStatus, default_identity},
    serve::{self, Health},
    wiring::{self, Runtime},
};

/// How long a graceful shutdown may take to release the Lease.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LeaseLabels {
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ControllerLabels {
    manager: String,
    name: String,
}

/// The process's own metrics, with upstream's names.
#[derive(Debug, Clone, Default)]
pub struct ProcessMetrics {
    /// `leader_election_master_status{name}`: 1 while this process leads.
    leader: Family<LeaseLabels, Gauge>,
    /// `running_managed_controllers{manager, name}`: 1 per running controller.
    running: Family<ControllerLabels, Gauge>,
}

impl ProcessMetrics {
    /// Registers the metrics.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "leader_election_master_status",
            "1 while this process holds the leader Lease",
            self.leader.clone(),
        );
        registry.register("running_managed_controllers", "Controllers running in this process", self.running.clone());
    }

    fn set_leader(&self, lease: &str, leading: bool) {
        self.leader.get_or_create(&LeaseLabels { name: lease.to_owned() }).set(i64::from(leading));
    }

    fn set_running(&self, controller: &str, running: bool) {
        let labels = ControllerLabels { manager: "cloud-controller-manager".into(), name: controller.to_owned() };
        self.running.get_or_create(&labels).set(i64::from(running));
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the process gracefully");
                let _ = tokio::signal::ctrl_c().await;
                return "SIGINT";
            }
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

/// Runs the controllers until `shutdown` resolves or something fails.
pub async fn run(settings: Settings, shutdown: impl Future<Output = &'static str>) -> anyhow::Result<()> {
    let settings = Arc::new(settings);
    let config = Arc::new(cloud::load_cloud_config(&settings)?);
    let units = wiring::units(&settings.controllers)?;

    let mut registry = Registry::default();
    let client_metrics = ClientMetrics::default();
    client_metrics.register(&mut registry);
    let process_metrics = ProcessMetrics::default();
    process_metrics.register(&mut registry);

    let cloud = cloud::connect(&settings, &config, client_metrics).await?;
    tracing::info!(region = %cloud.region.0, source = %cloud.region.1, "Alibaba Cloud region");
    match &cloud.vpc_id {
        Some((vpc, source)) => tracing::info!(vpc = %vpc, source = %source, "cluster VPC"),
        None => tracing::warn!(reason = cloud.vpc_error.as_deref().unwrap_or(""), "cluster VPC unknown"),
    }
    let clients = kube_client::clients(&settings).await?;
    let instance = std::env::var("POD_NAME").ok().or_else(|| std::env::var("HOSTNAME").ok()).filter(|s| !s.is_empty());
    let rt = Runtime {
        settings: settings.clone(),
        cloud_config: config,
        kube: clients.main.clone(),
        kube_clients: Some(clients.clone()),
        cloud,
        instance,
    };

    let mut prepared = Vec::new();
    for unit in &units {
        prepared.push(wiring::prepare(*unit, &rt, &mut registry)?);
    }

    let status = Arc::new(LeaderStatus::default());
    let health = Health::new(settings.leader_election.as_ref().map(|_| status.clone()));
    let registry = Arc::new(registry);
    if let Some(addr) = settings.health_addr {
        serve::spawn("health", addr, serve::health_router(health.clone())).await?;
    }
    if let Some(addr) = settings.metrics_addr {
        serve::spawn("metrics", addr, serve::metrics_router(registry.clone())).await?;
    }

    tokio::pin!(shutdown);
    let mut elector = settings.leader_election.as_ref().map(|le| {
        let store = KubeLeaseStore::new(clients.election.clone(), &le.namespace, &le.name);
        LeaderElector::new(store, default_identity(), le, status.clone())
    });
    let lease_name = settings.leader_election.as_ref().map(|le| format!("{}/{}", le.namespace, le.name));
    if let (Some(elector), Some(lease)) = (elector.as_mut(), lease_name.as_deref()) {
        tracing::info!(lease, identity = %elector.identity(), "waiting for the leader Lease");
        process_metrics.set_leader(lease, false);
        tokio::select! {
            () = elector.acquire() => process_metrics.set_leader(lease, true),
            signal = &mut shutdown => {
                tracing::info!(signal, "stopping before becoming leader");
                return Ok(());
            }
        }
    } else {
        tracing::info!("leader election disabled (--leader-elect=false): starting the controllers now");
    }

    // One Node watch for every controller; it starts only now, so standbys cost the apiserver nothing.
    let watch = SharedNodeWatch::new();
    let store = watch.store();
    let mut pending: Vec<_> = prepared.into_iter().map(|p| (p, watch.feed())).collect();
    // Its own budget too: a re-list after a watch error never waits behind a controller's writes.
    let watch_client = clients.limited().unwrap_or_else(|_| clients.main.clone());
    let watch_task = tokio::spawn(watch.run(watch_client));
    // The controllers start once the node cache is filled, and this process is its only waiter: kube-runtime's
    // `Store::wait_until_ready` wakes just one of several concurrent waiters (its `DelayedInit` keeps a single
    // waker), which left all but one controller waiting forever. Once the store is ready, every later wait
    // returns at once.
    let ready = store.wait_until_ready();
    tokio::pin!(ready);
    let mut tasks: JoinSet<(&'static str, Result<(), String>)> = JoinSet::new();

    let outcome: anyhow::Result<()> = {
        let renewal = async {
            match elector.as_mut() {
                Some(e) => e.keep_renewing().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(renewal);
        loop {
            tokio::select! {
                signal = &mut shutdown => {
                    tracing::info!(signal, "shutting down");
                    break Ok(());
                }
                lost = &mut renewal => {
                    if let Some(lease) = &lease_name {
                        process_metrics.set_leader(lease, false);
                    }
                    break Err(anyhow::Error::new(lost));
                }
                filled = &mut ready, if !pending.is_empty() => {
                    if filled.is_err() {
                        break Err(anyhow::anyhow!("the node watch stopped before the node cache was filled"));
                    }
                    tracing::info!(nodes = store.state().len(), "node cache filled; starting the controllers");
                    for (p, feed) in pending.drain(..) {
                        let name = p.unit.name();
                        let alive = Arc::new(AtomicBool::new(true));
                        let flag = alive.clone();
                        health.add(name, move || if flag.load(Ordering::SeqCst) { Ok(()) } else { Err("stopped".into()) });
                        let future = p.start(feed);
                        let metrics = process_metrics.clone();
                        metrics.set_running(name, true);
                        tasks.spawn(async move {
                            let result = future.await;
                            alive.store(false, Ordering::SeqCst);
                            metrics.set_running(name, false);
                            (name, result)
                        });
                        tracing::info!(controller = name, "controller started");
                    }
                }
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    break match done {
                        Ok((name, Ok(()))) => Err(anyhow::anyhow!("the {name} controller stopped unexpectedly")),
                        Ok((name, Err(e))) => Err(anyhow::anyhow!("the {name} controller failed: {e}")),
                        Err(e) => Err(anyhow::anyhow!("a controller task panicked: {e}")),
                    };
                }
            }
        }
    };
    tasks.shutdown().await;
    watch_task.abort();
    // After leadership was lost the Lease is not ours to release; otherwise hand it over at once.
    let lost = outcome.as_ref().err().is_some_and(|e| e.is::<crate::leader::LeadershipLost>());
    if let Some(elector) = elector.as_mut().filter(|_| !lost) {
        match tokio::time::timeout(RELEASE_TIMEOUT, elector.release()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not release the leader Lease; it expires by itself"),
            Err(_) => tracing::warn!("releasing the leader Lease timed out; it expires by itself"),
        }
        if let Some(lease) = &lease_name {
            process_metrics.set_leader(lease, false);
        }
    }
    outcome
}
