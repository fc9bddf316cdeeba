//! Running the scenarios against each CCM: a fresh stack (kube-apiserver, etcd, aliyun-fake with the benchmark
//! seed) per CCM, the scenarios in order, measurements around each.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::bound::{BoundInputs, LowerBound};
use super::ccm_cmd::{self, CcmCommand, StartedCcm};
use super::limits::RateProfile;
use super::metrics::counter_by_action;
use super::observe::{
    ActionTally, CallCounts, CallTracker, Expectation, FakeAdmin, NodeBook, Progress, ServiceBook, ServiceExpect,
    evaluate, watch_nodes, watch_services,
};
use super::procstat::{self, ProcSample};
use super::report::{
    BenchConfig, BenchReport, CcmRun, LatencyStats, ScenarioId, ScenarioReport, ScenarioResult, SeriesPoint,
};
use super::seed::{self, FakeBehaviour};
use super::topology::{NAMESPACE_PREFIX, Topology};
use crate::error::{Context as _, Error, Result};
use crate::fixtures::{KubeletNode, SLICE_MANAGER};
use crate::stack::{Stack, StackOptions};
use crate::wait::error_chain;

/// Service ports of every benchmark Service: (name, port, target port).
pub const SERVICE_PORTS: [(&str, u16, u16); 2] = [("http", 80, 8080), ("https", 443, 8443)];

/// Everything the benchmark needs to know.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Sizes.
    pub topology: Topology,
    /// Latency of every cloud call, ms.
    pub latency_ms: u64,
    /// Pending time of route entries, ms.
    pub route_pending_ms: u64,
    /// Idle time of S4.
    pub steady: Duration,
    /// Scenarios to report (prerequisites run anyway: S2-S4 need S1's nodes).
    pub scenarios: BTreeSet<ScenarioId>,
    /// The CCMs to compare.
    pub ccms: Vec<CcmCommand>,
    /// Where the report goes.
    pub out: PathBuf,
    /// Rate limits and batch sizes.
    pub limits: RateProfile,
    /// Convergence poll interval.
    pub poll: Duration,
    /// Wait after convergence before counting calls (late calls belong to the scenario).
    pub settle: Duration,
    /// Per-scenario timeout; default: the larger of 5 minutes and 10x the lower bound plus a minute.
    pub timeout: Option<Duration>,
    /// Kubernetes requests in flight while the harness creates objects.
    pub concurrency: usize,
    /// Write aliyun-fake's `/_fake/state` after each scenario to `state-<ccm>-<scenario>.json` (for
    /// investigating a result).
    pub dump_state: bool,
}

impl BenchOptions {
    fn bound_inputs(&self) -> BoundInputs {
        BoundInputs {
            topology: self.topology,
            route_tables: 1,
            latency_s: self.latency_ms as f64 / 1000.0,
            pending_s: self.route_pending_ms as f64 / 1000.0,
            limits: self.limits.clone(),
            ports_per_service: SERVICE_PORTS.len() as u64,
        }
    }

    fn timeout_for(&self, bound: &LowerBound) -> Duration {
        self.timeout.unwrap_or_else(|| {
            let t = bound.time_s.unwrap_or(0.0) * 10.0 + 60.0;
            Duration::from_secs_f64(t.max(300.0))
        })
    }

    fn title(&self, id: ScenarioId) -> String {
        let t = &self.topology;
        match id {
            ScenarioId::S1 => {
                format!("bring-up: {} nodes registered at once (uninitialized taint, pod CIDRs)", t.nodes)
            }
            ScenarioId::S2 => format!(
                "services: {} LoadBalancer Services ({} ports, {} endpoints each) created at once",
                t.services,
                SERVICE_PORTS.len(),
                t.endpoints_per_service
            ),
            ScenarioId::S3 => format!("churn: {} nodes removed and {} added at once", t.churn, t.churn),
            ScenarioId::S4 => format!("steady state: idle for {:.1} min", self.steady.as_secs_f64() / 60.0),
        }
    }

    /// Which scenarios run: the selected ones and what they need.
    pub fn to_run(&self) -> Vec<ScenarioId> {
        let mut run = self.scenarios.clone();
        if run.iter().any(|s| *s != ScenarioId::S1) {
            run.insert(ScenarioId::S1);
        }
        run.into_iter().collect()
    }
}

/// Runs every CCM through the scenarios; writes nothing (see [`super::write_outputs`]).
pub async fn run(opts: &BenchOptions) -> Result<BenchReport> {
    std::fs::create_dir_all(&opts.out).context(format!("creating {}", opts.out.display()))?;
    let behaviour = FakeBehaviour {
        latency_ms: opts.latency_ms,
        route_pending_ms: opts.route_pending_ms,
        limits: opts.limits.clone(),
    };
    let seed_path = opts.out.join("seed.json");
    let seed_text = serde_json::to_string(&seed::seed(&opts.topology, &behaviour)).context("rendering the seed")?;
    std::fs::write(&seed_path, seed_text).context(format!("writing {}", seed_path.display()))?;
    let bounds = opts.bound_inputs();
    let scenarios = opts.to_run();
    let lower = |id: ScenarioId| match id {
        ScenarioId::S1 => bounds.bring_up(),
        ScenarioId::S2 => bounds.services(),
        ScenarioId::S3 => bounds.churn(scenarios.contains(&ScenarioId::S2)),
        ScenarioId::S4 => bounds.steady(),
    };
    let mut reports: Vec<ScenarioReport> = scenarios
        .iter()
        .map(|id| ScenarioReport { id: *id, title: opts.title(*id), lower_bound: lower(*id), results: Vec::new() })
        .collect();
    let mut ccms = Vec::new();
    for (index, ccm) in opts.ccms.iter().enumerate() {
        eprintln!("== e2e-bench: CCM {} `{}`: {}", index + 1, ccm.name, ccm.template);
        let mut results = BTreeMap::new();
        let mut info = CcmRun { name: ccm.name.clone(), template: ccm.template.clone(), ..Default::default() };
        if let Err(e) = run_ccm(opts, &reports, index, ccm, &seed_path, &mut info, &mut results).await {
            eprintln!("== e2e-bench: CCM {} stopped early: {}", ccm.name, error_chain(&e));
            info.error = Some(error_chain(&e));
        }
        for r in &mut reports {
            r.results.push(results.remove(&r.id));
        }
        ccms.push(info);
    }
    Ok(BenchReport {
        generated_at: Timestamp::now().to_string(),
        config: BenchConfig {
            nodes: opts.topology.nodes,
            services: opts.topology.services,
            ports_per_service: SERVICE_PORTS.len(),
            endpoints_per_service: opts.topology.endpoints_per_service,
            churn: opts.topology.churn,
            latency_ms: opts.latency_ms,
            route_pending_ms: opts.route_pending_ms,
            steady_minutes: opts.steady.as_secs_f64() / 60.0,
            poll_ms: opts.poll.as_millis() as u64,
            settle_s: opts.settle.as_secs_f64(),
            route_tables: 1,
            cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        },
        qps: opts.limits.fake_qps_rules(),
        ccms,
        scenarios: reports,
    })
}

async fn run_ccm(
    opts: &BenchOptions,
    scenarios: &[ScenarioReport],
    index: usize,
    ccm: &CcmCommand,
    seed_path: &std::path::Path,
    info: &mut CcmRun,
    results: &mut BTreeMap<ScenarioId, ScenarioResult>,
) -> Result<()> {
    let stack = Stack::start(StackOptions::new(format!("bench-{}", index + 1)).fake_seed(seed_path)).await?;
    let fake = FakeAdmin::new(stack.fake_endpoint()?)?;
    let client = stack.admin().await?;
    let ns = stack.create_namespace(NAMESPACE_PREFIX).await?;
    let (nodes, node_watch) = watch_nodes(client.clone());
    let (services, service_watch) = watch_services(client.clone(), &ns);
    let mut started = ccm_cmd::start(&stack, ccm, index + 1)?;
    info.command = Some(started.command.clone());
    let outcome = async {
        let pid = started.wait_ready(Duration::from_secs(120)).await?;
        // Let it sync its informers and make its start-up calls.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut tracker = CallTracker::default();
        let startup = tracker.poll(&fake).await?;
        info.startup_calls = startup.by_action.clone();
        let mut ctx = Ctx {
            opts,
            client: client.clone(),
            fake: fake.clone(),
            ccm: &mut started,
            pid,
            tracker,
            nodes: nodes.clone(),
            services: services.clone(),
            ns: ns.clone(),
            node_ports: BTreeMap::new(),
            churned: false,
        };
        for s in scenarios {
            eprintln!("== e2e-bench: {} {} ({})", s.id.code(), s.title, ccm.name);
            let timeout = opts.timeout_for(&s.lower_bound);
            let result = match s.id {
                ScenarioId::S1 => ctx.bring_up(timeout).await?,
                ScenarioId::S2 => ctx.services(timeout).await?,
                ScenarioId::S3 => ctx.churn(timeout).await?,
                ScenarioId::S4 => ctx.steady().await?,
            };
            eprintln!(
                "== e2e-bench: {} {} in {} with {} calls ({} throttled)",
                s.id.code(),
                if result.converged { "converged" } else { "did NOT converge" },
                result.time_to_converge_s.map(|t| format!("{t:.1}s")).unwrap_or_else(|| "—".into()),
                result.total_calls,
                result.throttled
            );
            results.insert(s.id, result);
            if opts.dump_state {
                let path = opts.out.join(format!("state-{}-{}.json", index + 1, s.id.code()));
                let state = serde_json::to_string_pretty(&fake.state().await?).context("rendering the state")?;
                std::fs::write(&path, state).context(format!("writing {}", path.display()))?;
            }
        }
        Ok::<(), Error>(())
    }
    .await;
    let exit = started.process.stop(Duration::from_secs(10));
    info.exit = exit.map(|s| s.to_string());
    node_watch.abort();
    service_watch.abort();
    let log_copy = opts.out.join(format!("ccm-{}.log", index + 1));
    if std::fs::copy(started.process.log_path(), &log_copy).is_ok() {
        info.log = Some(log_copy);
    }
    if outcome.is_err() {
        eprintln!("----- last lines of the CCM's log -----\n{}", started.process.log_tail(30));
    }
    drop(stack);
    outcome
}

/// `(port, nodePort)` of each Service port, per Service.
type NodePorts = BTreeMap<String, Vec<(u16, u16)>>;

/// Measurements at the start of a scenario.
struct Begin {
    at: Instant,
    counts: CallCounts,
    proc: Option<ProcSample>,
    retries: Option<f64>,
}

struct Ctx<'a> {
    opts: &'a BenchOptions,
    client: kube::Client,
    fake: FakeAdmin,
    ccm: &'a mut StartedCcm,
    pid: u32,
    tracker: CallTracker,
    nodes: Arc<Mutex<NodeBook>>,
    services: Arc<Mutex<ServiceBook>>,
    ns: String,
    /// `(port, nodePort)` per Service, once S2 created them.
    node_ports: NodePorts,
    /// S3 ran: the node set and the endpoints are the churned ones.
    churned: bool,
}

/// The conditions a running kubelet reports.
fn kubelet_conditions() -> Vec<NodeCondition> {
    let now = Time(Timestamp::now());
    [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID"),
        ("Ready", "True", "KubeletReady"),
    ]
    .into_iter()
    .map(|(type_, status, reason)| NodeCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some("reported by the e2e-bench harness".into()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    })
    .collect()
}

fn service_object(namespace: &str, name: &str) -> Service {
    Service {
        metadata: ObjectMeta { name: Some(name.into()), namespace: Some(namespace.into()), ..Default::default() },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            external_traffic_policy: Some("Local".into()),
            selector: Some([("app".to_string(), name.to_string())].into()),
            ports: Some(
                SERVICE_PORTS
                    .iter()
                    .map(|(n, port, target)| ServicePort {
                        name: Some((*n).into()),
                        protocol: Some("TCP".into()),
                        port: i32::from(*port),
                        target_port: Some(IntOrString::Int(i32::from(*target))),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn slice_endpoints(topology: &Topology, nodes: &[usize]) -> Vec<Endpoint> {
    nodes
        .iter()
        .enumerate()
        .map(|(k, n)| {
            let node = topology.node(*n);
            Endpoint {
                addresses: vec![node.pod_ip(k)],
                node_name: Some(node.name.clone()),
                conditions: Some(EndpointConditions {
                    ready: Some(true),
                    serving: Some(true),
                    terminating: Some(false),
                }),
                ..Default::default()
            }
        })
        .collect()
}

fn slice_object(namespace: &str, service: &str, endpoints: Vec<Endpoint>) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            name: Some(format!("{service}-bench")),
            namespace: Some(namespace.into()),
            labels: Some(
                [
                    ("kubernetes.io/service-name".to_string(), service.to_string()),
                    ("endpointslice.kubernetes.io/managed-by".to_string(), SLICE_MANAGER.to_string()),
                ]
                .into(),
            ),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints: Some(endpoints),
        ports: Some(
            SERVICE_PORTS
                .iter()
                .map(|(n, _, target)| EndpointPort {
                    name: Some((*n).into()),
                    port: Some(i32::from(*target)),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                })
                .collect(),
        ),
    }
}

/// Runs `jobs` with at most `limit` in flight; the first error wins.
async fn bounded<F>(jobs: Vec<F>, limit: usize) -> Result<()>
where
    F: std::future::Future<Output = Result<()>>,
{
    let results: Vec<Result<()>> = futures::stream::iter(jobs).buffer_unordered(limit.max(1)).collect().await;
    results.into_iter().collect()
}

impl Ctx<'_> {
    fn topology(&self) -> &Topology {
        &self.opts.topology
    }

    async fn retries(&self) -> Option<f64> {
        let text = self.ccm.metrics().await?;
        counter_by_action(&text, "aliyun_api_retries").map(|m| m.values().sum())
    }

    async fn begin(&mut self) -> Result<Begin> {
        let counts = self.tracker.poll(&self.fake).await?;
        self.tracker.restart();
        Ok(Begin { at: Instant::now(), counts, proc: procstat::sample(self.pid).ok(), retries: self.retries().await })
    }

    fn progress(&self, exp: &Expectation, state: &serde_json::Value) -> Progress {
        let nodes = self.nodes.lock().unwrap_or_else(|p| p.into_inner());
        let services = self.services.lock().unwrap_or_else(|p| p.into_inner());
        evaluate(exp, state, &nodes, &services)
    }

    /// Polls until `exp` holds or `timeout` passes; returns when it first held, the series and the last
    /// observation.
    async fn converge(
        &mut self,
        begin: &Begin,
        exp: &Expectation,
        timeout: Duration,
        notes: &mut Vec<String>,
    ) -> Result<(Option<f64>, Vec<SeriesPoint>, Progress)> {
        let mut series = Vec::new();
        let mut last_calls_poll = Instant::now();
        let mut fetching = Duration::ZERO;
        loop {
            self.ccm.process.check_running()?;
            let fetch = Instant::now();
            let state = self.fake.state().await?;
            fetching += fetch.elapsed();
            let progress = self.progress(exp, &state);
            let t = begin.at.elapsed().as_secs_f64();
            series.push(SeriesPoint { t_s: t, progress: progress.clone() });
            let done = progress.converged();
            if done || begin.at.elapsed() >= timeout {
                notes.push(format!(
                    "observed {} times; reading /_fake/state took {:.0} ms on average",
                    series.len(),
                    fetching.as_secs_f64() * 1000.0 / series.len() as f64
                ));
                if !done {
                    notes.push(format!("timed out after {:.0}s", timeout.as_secs_f64()));
                }
                return Ok((done.then_some(t), series, progress));
            }
            if last_calls_poll.elapsed() >= Duration::from_secs(5) {
                self.tracker.poll(&self.fake).await?;
                last_calls_poll = Instant::now();
            }
            tokio::time::sleep(self.opts.poll).await;
        }
    }

    /// Measurements at the end of a scenario.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &mut self,
        begin: Begin,
        converged_at: Option<f64>,
        converged: bool,
        setup_s: f64,
        series: Vec<SeriesPoint>,
        final_progress: Progress,
        taint_nodes: &[String],
        mut notes: Vec<String>,
    ) -> Result<ScenarioResult> {
        if converged_at.is_some() {
            tokio::time::sleep(self.opts.settle).await;
        }
        let counts = self.tracker.poll(&self.fake).await?.since(&begin.counts);
        let measured_s = begin.at.elapsed().as_secs_f64();
        let proc = procstat::sample(self.pid).ok();
        let retries_end = self.retries().await;
        let throttled = counts.throttled();
        let (retries, retries_source) = match (begin.retries, retries_end) {
            (Some(a), Some(b)) => (Some(b - a), "ccm /metrics aliyun_api_retries".to_owned()),
            _ => (
                Some(throttled as f64),
                "aliyun-fake: throttled answers (no aliyun_api_retries in /metrics)".to_owned(),
            ),
        };
        let calls: BTreeMap<String, ActionTally> = counts
            .by_action
            .iter()
            .map(|(action, n)| {
                let seen = self.tracker.tally.get(action).cloned().unwrap_or_default();
                (action.clone(), ActionTally { calls: *n, throttled: seen.throttled, errors: seen.errors })
            })
            .collect();
        if self.tracker.incomplete {
            notes.push("more calls than the fake's log keeps between two polls: per-action throttled/failed counts are partial".into());
        }
        let taint_latency = {
            let book = self.nodes.lock().unwrap_or_else(|p| p.into_inner());
            let mut samples = Vec::new();
            let mut missing = 0;
            for name in taint_nodes {
                match book.nodes.get(name).and_then(|r| r.untainted_at.map(|u| u.duration_since(r.first_seen))) {
                    Some(d) => samples.push(d.as_secs_f64()),
                    None => missing += 1,
                }
            }
            LatencyStats::from_samples(samples, missing)
        };
        let mib = |kib: u64| kib as f64 / 1024.0;
        Ok(ScenarioResult {
            converged,
            time_to_converge_s: converged_at,
            setup_s,
            measured_s,
            taint_latency,
            total_calls: counts.total,
            throttled,
            errors_by_code: counts
                .by_code
                .iter()
                .filter(|(c, _)| !c.starts_with("Throttling"))
                .map(|(c, n)| (c.clone(), *n))
                .collect(),
            per_action_detail_complete: !self.tracker.incomplete,
            calls,
            retries,
            retries_source,
            cpu_seconds: match (begin.proc, proc) {
                (Some(a), Some(b)) => Some(b.cpu_seconds - a.cpu_seconds),
                _ => None,
            },
            peak_rss_mib: proc.map(|p| mib(p.peak_rss_kib)),
            rss_mib: proc.map(|p| mib(p.rss_kib)),
            final_progress,
            series,
            notes,
        })
    }

    async fn register_nodes(&self, indices: &[usize]) -> Result<()> {
        let api: Api<Node> = Api::all(self.client.clone());
        let jobs = indices.iter().map(|i| {
            let spec = self.topology().node(*i);
            let api = api.clone();
            async move {
                let mut node = KubeletNode::new(&spec.name, &spec.private_ip)
                    .provider_id(spec.provider_id())
                    .pod_cidrs([spec.pod_cidr.clone()])
                    .to_node();
                let conditions = kubelet_conditions();
                if let Some(status) = node.status.as_mut() {
                    status.conditions = Some(conditions.clone());
                }
                let params = PostParams { field_manager: Some("kubelet".into()), ..Default::default() };
                let created = api.create(&params, &node).await.context(format!("creating node {}", spec.name))?;
                let reported = created
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready"));
                if !reported {
                    let patch = json!({"status": {"conditions": conditions}});
                    let params = PatchParams { field_manager: Some("kubelet".into()), ..Default::default() };
                    api.patch_status(&spec.name, &params, &Patch::Merge(&patch))
                        .await
                        .context(format!("reporting the status of node {}", spec.name))?;
                }
                Ok(())
            }
        });
        bounded(jobs.collect(), self.opts.concurrency).await
    }

    fn node_expectation(&self, indices: &[usize]) -> Vec<super::topology::NodeSpec> {
        indices.iter().map(|i| self.topology().node(*i)).collect()
    }

    fn service_expectation(&self, after_churn: bool) -> Vec<ServiceExpect> {
        let t = self.topology();
        self.node_ports
            .iter()
            .map(|(name, ports)| {
                let i: usize = name.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
                let nodes = if after_churn { t.endpoints_after_churn(i) } else { t.endpoints(i) };
                ServiceExpect {
                    name: name.clone(),
                    ports: ports.clone(),
                    backends: nodes.into_iter().map(|n| t.node(n).instance_id).collect(),
                }
            })
            .collect()
    }

    /// S1: every initial node registered at once.
    async fn bring_up(&mut self, timeout: Duration) -> Result<ScenarioResult> {
        let begin = self.begin().await?;
        let indices = self.topology().initial();
        self.register_nodes(&indices).await?;
        let setup_s = begin.at.elapsed().as_secs_f64();
        let exp = self.cluster_expectation();
        let mut notes = Vec::new();
        let (at, series, last) = self.converge(&begin, &exp, timeout, &mut notes).await?;
        let names: Vec<String> = exp.nodes.iter().map(|n| n.name.clone()).collect();
        self.finish(begin, at, at.is_some(), setup_s, series, last, &names, notes).await
    }

    /// S2: every Service (and its EndpointSlice) created at once.
    async fn services(&mut self, timeout: Duration) -> Result<ScenarioResult> {
        let begin = self.begin().await?;
        let t = *self.topology();
        let slices: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &self.ns);
        let jobs = (0..t.services).map(|i| {
            let slices = slices.clone();
            let name = Topology::service_name(i);
            let slice = slice_object(&self.ns, &name, slice_endpoints(&t, &t.endpoints(i)));
            async move {
                slices.create(&PostParams::default(), &slice).await.context(format!("creating the slice of {name}"))?;
                Ok(())
            }
        });
        bounded(jobs.collect(), self.opts.concurrency).await?;
        let api: Api<Service> = Api::namespaced(self.client.clone(), &self.ns);
        let ports: Arc<Mutex<NodePorts>> = Arc::default();
        let jobs = (0..t.services).map(|i| {
            let api = api.clone();
            let ports = ports.clone();
            let name = Topology::service_name(i);
            let object = service_object(&self.ns, &name);
            async move {
                let created =
                    api.create(&PostParams::default(), &object).await.context(format!("creating service {name}"))?;
                let mut pairs = Vec::new();
                for p in created.spec.and_then(|s| s.ports).unwrap_or_default() {
                    let node_port = p
                        .node_port
                        .and_then(|n| u16::try_from(n).ok())
                        .ok_or_else(|| Error::Other(format!("service {name} port {} got no nodePort", p.port)))?;
                    pairs.push((u16::try_from(p.port).unwrap_or(0), node_port));
                }
                ports.lock().unwrap_or_else(|p| p.into_inner()).insert(name, pairs);
                Ok(())
            }
        });
        bounded(jobs.collect(), self.opts.concurrency).await?;
        self.node_ports = std::mem::take(&mut *ports.lock().unwrap_or_else(|p| p.into_inner()));
        let setup_s = begin.at.elapsed().as_secs_f64();
        let exp = self.cluster_expectation();
        let mut notes = Vec::new();
        let (at, series, last) = self.converge(&begin, &exp, timeout, &mut notes).await?;
        self.finish(begin, at, at.is_some(), setup_s, series, last, &[], notes).await
    }

    /// S3: nodes removed (instance and Node deleted, as a scale-down does) and added; endpoints on removed nodes
    /// move to the added ones.
    async fn churn(&mut self, timeout: Duration) -> Result<ScenarioResult> {
        let begin = self.begin().await?;
        let t = *self.topology();
        let (removed, added) = (t.removed(), t.added());
        for i in &removed {
            self.fake.delete_instance(&t.node(*i).instance_id).await?;
        }
        for i in &added {
            self.fake.add_instance(&seed::instance(&t.node(*i))).await?;
        }
        let nodes: Api<Node> = Api::all(self.client.clone());
        let deletes = removed.iter().map(|i| {
            let nodes = nodes.clone();
            let name = t.node(*i).name;
            async move {
                nodes.delete(&name, &DeleteParams::default()).await.context(format!("deleting node {name}"))?;
                Ok(())
            }
        });
        let slices: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &self.ns);
        let touched: Vec<usize> = if self.node_ports.is_empty() { Vec::new() } else { t.services_touched_by_churn() };
        let moves = touched.iter().map(|i| {
            let slices = slices.clone();
            let name = Topology::service_name(*i);
            let patch = json!({"endpoints": slice_endpoints(&t, &t.endpoints_after_churn(*i))});
            async move {
                slices
                    .patch(&format!("{name}-bench"), &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .context(format!("moving the endpoints of {name}"))?;
                Ok(())
            }
        });
        let (a, b, c) = tokio::join!(
            bounded(deletes.collect(), self.opts.concurrency),
            self.register_nodes(&added),
            bounded(moves.collect(), self.opts.concurrency),
        );
        a?;
        b?;
        c?;
        self.churned = true;
        let setup_s = begin.at.elapsed().as_secs_f64();
        let exp = self.cluster_expectation();
        let mut notes = vec![format!("{} Service(s) had endpoints moved off removed nodes", touched.len())];
        let (at, series, last) = self.converge(&begin, &exp, timeout, &mut notes).await?;
        let names: Vec<String> = added.iter().map(|i| t.node(*i).name).collect();
        self.finish(begin, at, at.is_some(), setup_s, series, last, &names, notes).await
    }

    /// S4: nothing happens for the steady period; the cluster must stay converged.
    async fn steady(&mut self) -> Result<ScenarioResult> {
        let begin = self.begin().await?;
        let exp = self.cluster_expectation();
        let mut series = Vec::new();
        let mut notes = Vec::new();
        let step = Duration::from_secs(10).min(self.opts.steady.max(Duration::from_secs(1)));
        let mut held = true;
        let last = loop {
            self.ccm.process.check_running()?;
            let state = self.fake.state().await?;
            let progress = self.progress(&exp, &state);
            held &= progress.converged();
            series.push(SeriesPoint { t_s: begin.at.elapsed().as_secs_f64(), progress: progress.clone() });
            self.tracker.poll(&self.fake).await?;
            if begin.at.elapsed() >= self.opts.steady {
                break progress;
            }
            tokio::time::sleep(step.min(self.opts.steady.saturating_sub(begin.at.elapsed()))).await;
        };
        if !held {
            notes.push("the cluster was not converged at some observation of the idle period".into());
        }
        self.finish(begin, None, held, 0.0, series, last, &[], notes).await
    }

    /// The whole cluster as it should be now: every present node initialized and routed, every Service created
    /// so far served by the right backends.
    fn cluster_expectation(&self) -> Expectation {
        let t = self.topology();
        let nodes = if self.churned { t.after_churn() } else { t.initial() };
        Expectation { nodes: self.node_expectation(&nodes), services: self.service_expectation(self.churned) }
    }
}
