//! `cargo xtask demo`: the whole system on one machine, narrated.
//!
//! Brings up a [`Stack`] (etcd, kube-apiserver, aliyun-fake with its default seed), starts
//! `cloud-controller-manager` with every controller the way operators deploy it (its ServiceAccount under
//! `manifests/rbac`, leader election on Lease `kube-system/ccm`), registers the seed's three ECS instances as
//! Nodes the way kubelets with `--cloud-provider=external` do, creates a `LoadBalancer` Service with an
//! EndpointSlice, and tells what happens as it happens: it watches Nodes, the Service and warning Events in
//! Kubernetes and polls aliyun-fake's state for routes, load balancers, listeners and backends.
//!
//! [`run`] returns once everything converged with [`DemoOptions::once`], and otherwise keeps narrating until
//! Ctrl-C. Everything it started stops when it returns.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::future::Future;
use std::io::{IsTerminal as _, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use futures::StreamExt as _;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Node, Service};
use kube::Api;
use kube::runtime::{WatchStreamExt as _, watcher};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::ccm::{CcmOptions, RunningCcm, SEED_REGION};
use crate::fixtures::{KubeletNode, UNINITIALIZED_TAINT, endpoint_slice, load_balancer_service};
use crate::stack::{Stack, StackOptions};

/// The pod CIDR of the demo cluster; node `i` (1-based) gets `172.16.i.0/24`.
pub const CLUSTER_CIDR: &str = "172.16.0.0/16";
/// Namespace and name of the demo's Service.
pub const SERVICE: (&str, &str) = ("default", "web");
/// The Service's port.
pub const SERVICE_PORT: i32 = 80;
/// How many of the nodes (the first ones) host the Service's pods.
pub const NODES_WITH_PODS: usize = 2;
/// How often aliyun-fake and the Lease are polled.
const POLL: Duration = Duration::from_millis(250);

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Return once everything converged instead of narrating until Ctrl-C.
    pub once: bool,
    /// How long convergence may take, from the CCM's start.
    pub timeout: Duration,
    /// ANSI colours for the tags.
    pub color: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { once: false, timeout: Duration::from_secs(120), color: false }
    }
}

impl DemoOptions {
    /// Colours when stdout is a terminal and `NO_COLOR` is unset.
    pub fn color_if_terminal(mut self) -> Self {
        self.color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        self
    }
}

/// What the demo reached.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    /// From the CCM's start to convergence.
    pub converged_after: Duration,
    /// The Service's ingress IP.
    pub ingress_ip: String,
    /// The load balancer's ID.
    pub load_balancer_id: String,
    /// Cloud API calls in all, and how many were writes.
    pub calls: (u64, u64),
}

/// Whether an Alibaba Cloud API action only reads (`Describe*`, `List*`, ...). Everything else is a write.
pub fn is_read_only_action(action: &str) -> bool {
    ["Describe", "List", "Get", "Query", "Check"].iter().any(|p| action.starts_with(p))
}

/// Short, timestamped lines: `  12.3s  tag      text`.
struct Narrator<'w, W: Write> {
    started: Instant,
    out: &'w mut W,
    color: bool,
}

impl<W: Write> Narrator<'_, W> {
    fn say(&mut self, tag: &str, text: impl AsRef<str>) {
        let secs = self.started.elapsed().as_secs_f64();
        let code = match tag {
            "node" => "32",
            "route" => "36",
            "clb" => "35",
            "service" => "33",
            "why" => "31",
            "done" => "1;32",
            "stack" | "ccm" => "34",
            _ => "1",
        };
        let tag = if self.color { format!("\x1b[{code}m{tag:<8}\x1b[0m") } else { format!("{tag:<8}") };
        let _ = writeln!(self.out, "{secs:>6.1}s  {tag} {}", text.as_ref());
        let _ = self.out.flush();
    }

    fn plain(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", text.as_ref());
        let _ = self.out.flush();
    }
}

/// An ECS instance of the seed.
#[derive(Debug, Clone)]
struct Instance {
    id: String,
    host: String,
    ip: String,
}

/// What the demo expects of one node once the CCM did its work.
#[derive(Debug, Clone)]
struct Expected {
    instance_id: String,
    pod_cidr: String,
}

/// The parts of a Node the narration talks about.
#[derive(Debug, Clone, Default, PartialEq)]
struct NodeView {
    provider_id: Option<String>,
    instance_type: Option<String>,
    zone: Option<String>,
    addresses: Vec<(String, String)>,
    tainted: bool,
    network: Option<(String, String)>,
}

impl NodeView {
    fn of(node: &Node) -> Self {
        let labels = node.metadata.labels.clone().unwrap_or_default();
        let spec = node.spec.clone().unwrap_or_default();
        let status = node.status.clone().unwrap_or_default();
        NodeView {
            provider_id: spec.provider_id.filter(|p| !p.is_empty()),
            instance_type: labels.get("node.kubernetes.io/instance-type").cloned(),
            zone: labels.get("topology.kubernetes.io/zone").cloned(),
            addresses: status.addresses.unwrap_or_default().into_iter().map(|a| (a.type_, a.address)).collect(),
            tainted: spec.taints.unwrap_or_default().iter().any(|t| t.key == UNINITIALIZED_TAINT),
            network: status
                .conditions
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.type_ == "NetworkUnavailable")
                .map(|c| (c.status, c.reason.unwrap_or_default())),
        }
    }
}

/// The parts of the Service the narration talks about.
#[derive(Debug, Clone, Default, PartialEq)]
struct ServiceView {
    finalizers: Vec<String>,
    ingress: Vec<String>,
}

impl ServiceView {
    fn of(service: &Service) -> Self {
        ServiceView {
            finalizers: service.metadata.finalizers.clone().unwrap_or_default(),
            ingress: service
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.clone())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| i.ip.or(i.hostname))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Listener {
    status: String,
    vserver_group: String,
}

#[derive(Debug, Clone, PartialEq)]
struct LoadBalancer {
    name: String,
    address: String,
    address_type: String,
    charge: String,
    tags: Vec<String>,
    listeners: BTreeMap<(String, u64), Listener>,
}

#[derive(Debug, Clone, PartialEq)]
struct VServerGroup {
    name: String,
    load_balancer: String,
    backends: BTreeSet<(String, u64, u64)>,
}

/// The parts of aliyun-fake's state the narration talks about.
#[derive(Debug, Clone, Default, PartialEq)]
struct CloudView {
    /// `(table, destination) -> (next hop, status)`, custom entries only.
    routes: BTreeMap<(String, String), (String, String)>,
    load_balancers: BTreeMap<String, LoadBalancer>,
    vserver_groups: BTreeMap<String, VServerGroup>,
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

impl CloudView {
    fn of(state: &Value) -> Self {
        let mut view = CloudView::default();
        for (table, t) in state["route_tables"].as_object().into_iter().flatten() {
            for e in t["entries"].as_array().into_iter().flatten() {
                if e["entry_type"] == "Custom" {
                    view.routes.insert(
                        (table.clone(), text(e, "destination_cidr_block")),
                        (text(e, "next_hop_id"), text(e, "status")),
                    );
                }
            }
        }
        for (id, lb) in state["slb"]["load_balancers"].as_object().into_iter().flatten() {
            let listeners = lb["listeners"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| {
                    let key = (text(l, "listener_protocol"), l["listener_port"].as_u64().unwrap_or_default());
                    (key, Listener { status: text(l, "status"), vserver_group: text(l, "vserver_group_id") })
                })
                .collect();
            let tags = lb["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| format!("{}={}", text(t, "key"), text(t, "value")))
                .collect();
            view.load_balancers.insert(
                id.clone(),
                LoadBalancer {
                    name: text(lb, "load_balancer_name"),
                    address: text(lb, "address"),
                    address_type: text(lb, "address_type"),
                    charge: text(lb, "instance_charge_type"),
                    tags,
                    listeners,
                },
            );
        }
        for (id, g) in state["slb"]["vserver_groups"].as_object().into_iter().flatten() {
            let backends = g["backends"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| {
                    (text(b, "server_id"), b["port"].as_u64().unwrap_or_default(), b["weight"].as_u64().unwrap_or(0))
                })
                .collect();
            view.vserver_groups.insert(
                id.clone(),
                VServerGroup {
                    name: text(g, "vserver_group_name"),
                    load_balancer: text(g, "load_balancer_id"),
                    backends,
                },
            );
        }
        view
    }
}

/// What the scripted "rest of the cluster" (kubelets, a user) is about to do; told before it is done, so that
/// the narration keeps cause before effect.
enum Script {
    Node { name: String, ip: String, pod_cidr: String },
    Service { pod_nodes: Vec<String> },
}

/// Everything observed so far, and what was already told.
#[derive(Default)]
struct World {
    instances: Vec<Instance>,
    expected: BTreeMap<String, Expected>,
    nodes_latest: BTreeMap<String, NodeView>,
    nodes_told: BTreeMap<String, NodeView>,
    service_uid: Option<String>,
    service_latest: Option<ServiceView>,
    service_told: Option<ServiceView>,
    expected_backends: BTreeSet<String>,
    cloud: CloudView,
    leader: Option<String>,
    warnings_seen: HashSet<String>,
    script_done: bool,
}

impl World {
    fn host_of(&self, instance_id: &str) -> String {
        self.instances.iter().find(|i| i.id == instance_id).map(|i| i.host.clone()).unwrap_or_else(|| "?".into())
    }

    fn instance_label(&self, instance_id: &str) -> String {
        format!("{} ({instance_id})", self.host_of(instance_id))
    }

    fn service_name(&self) -> String {
        format!("{}/{}", SERVICE.0, SERVICE.1)
    }

    /// Whether load balancer `name` is the demo Service's (the CCM names it `a` + the Service UID).
    fn is_service_lb(&self, name: &str) -> bool {
        self.service_uid.as_ref().is_some_and(|uid| {
            let id: String = uid.chars().filter(|c| *c != '-').collect();
            name.len() > 1 && id.starts_with(&name[1..])
        })
    }

    /// Lines for what changed on the nodes since they were last told.
    fn node_news(&mut self) -> Vec<(&'static str, String)> {
        let mut lines = Vec::new();
        for (name, told) in self.nodes_told.iter_mut() {
            let Some(now) = self.nodes_latest.get(name) else { continue };
            if now == told {
                continue;
            }
            if now.provider_id != told.provider_id
                && let Some(id) = &now.provider_id
            {
                let ip = now.addresses.iter().find(|(t, _)| t == "InternalIP").map(|(_, a)| a.as_str()).unwrap_or("?");
                lines.push((
                    "node",
                    format!(
                        "{name} is ECS instance {} (found by its private IP {ip} in the VPC): providerID {id}",
                        id.rsplit('.').next().unwrap_or(id)
                    ),
                ));
            }
            if (now.instance_type.is_some() && now.instance_type != told.instance_type)
                || (now.zone.is_some() && now.zone != told.zone)
            {
                lines.push((
                    "node",
                    format!(
                        "{name} labelled: instance type {}, region {SEED_REGION}, zone {} (schedulers and load \
                         balancers use them)",
                        now.instance_type.as_deref().unwrap_or("?"),
                        now.zone.as_deref().unwrap_or("?")
                    ),
                ));
            }
            if now.addresses != told.addresses {
                let list: Vec<String> = now.addresses.iter().map(|(t, a)| format!("{t} {a}")).collect();
                lines.push(("node", format!("{name} addresses from the cloud: {}", list.join(", "))));
            }
            if told.tainted && !now.tainted {
                lines.push((
                    "node",
                    format!("{name} initialized: the uninitialized taint is gone, pods can be scheduled there"),
                ));
            }
            if now.network != told.network
                && let Some((status, reason)) = &now.network
            {
                let why = if status == "False" {
                    "the route controller created the VPC route of its pod CIDR"
                } else {
                    "no VPC route for its pod CIDR yet"
                };
                lines.push(("node", format!("{name} NetworkUnavailable={status} ({reason}): {why}")));
            }
            *told = now.clone();
        }
        lines
    }

    /// Lines for what changed on the Service since it was last told.
    fn service_news(&mut self) -> Vec<(&'static str, String)> {
        let (Some(now), Some(told)) = (self.service_latest.clone(), self.service_told.as_mut()) else {
            return Vec::new();
        };
        let name = format!("{}/{}", SERVICE.0, SERVICE.1);
        let mut lines = Vec::new();
        for f in now.finalizers.iter().filter(|f| !told.finalizers.contains(f)) {
            lines.push((
                "service",
                format!("{name} got finalizer {f}: deleting the Service will delete its load balancer first"),
            ));
        }
        if now.ingress != told.ingress {
            if now.ingress.is_empty() {
                lines.push(("service", format!("{name} lost its ingress address")));
            } else {
                let ips = now.ingress.join(", ");
                lines.push((
                    "service",
                    format!("{name} status.loadBalancer.ingress = {ips}: clients reach it at {ips}:{SERVICE_PORT}"),
                ));
            }
        }
        *told = now;
        lines
    }

    /// Lines for what changed in the cloud between `self.cloud` and `next`; then `next` becomes current.
    fn cloud_news(&mut self, next: CloudView) -> Vec<(&'static str, String)> {
        let mut lines = Vec::new();
        let prev = std::mem::take(&mut self.cloud);
        for ((table, dst), (hop, status)) in &next.routes {
            let node = self.instance_label(hop);
            match prev.routes.get(&(table.clone(), dst.clone())) {
                None if status == "Available" => {
                    lines.push(("route", format!("{dst} -> {node} in {table}: Available")));
                }
                None => lines.push((
                    "route",
                    format!("{dst} -> {node} created in {table}: {status} (the VPC programs it in a moment)"),
                )),
                Some((_, old)) if old != status && status == "Available" => lines.push((
                    "route",
                    format!("{dst} -> {} Available: pods on it are reachable from the whole VPC", self.host_of(hop)),
                )),
                Some((_, old)) if old != status => lines.push(("route", format!("{dst} -> {node}: {status}"))),
                _ => {}
            }
        }
        for ((table, dst), (hop, _)) in &prev.routes {
            if !next.routes.contains_key(&(table.clone(), dst.clone())) {
                lines.push(("route", format!("{dst} -> {} removed from {table}", self.instance_label(hop))));
            }
        }
        for (id, lb) in &next.load_balancers {
            let Some(old) = prev.load_balancers.get(id) else {
                let owner =
                    if self.is_service_lb(&lb.name) { format!(" for {}", self.service_name()) } else { "".into() };
                lines.push((
                    "clb",
                    format!(
                        "load balancer {id} created{owner}: {}, {}, address {}, tags {}",
                        lb.address_type,
                        lb.charge,
                        lb.address,
                        lb.tags.join(" ")
                    ),
                ));
                for ((proto, port), l) in &lb.listeners {
                    lines.push(("clb", self.listener_line(id, proto, *port, l, &next)));
                }
                continue;
            };
            for ((proto, port), l) in &lb.listeners {
                if old.listeners.get(&(proto.clone(), *port)) != Some(l) {
                    lines.push(("clb", self.listener_line(id, proto, *port, l, &next)));
                }
            }
            for (proto, port) in old.listeners.keys() {
                if !lb.listeners.contains_key(&(proto.clone(), *port)) {
                    lines.push(("clb", format!("listener {}:{port} on {id} deleted", proto.to_uppercase())));
                }
            }
        }
        for id in prev.load_balancers.keys() {
            if !next.load_balancers.contains_key(id) {
                lines.push(("clb", format!("load balancer {id} deleted")));
            }
        }
        for (id, g) in &next.vserver_groups {
            let old = prev.vserver_groups.get(id);
            if old.is_none() {
                lines.push((
                    "clb",
                    format!("vServer group {} ({id}) created on {}: the backends are nodes", g.name, g.load_balancer),
                ));
            }
            let before = old.map(|o| o.backends.clone()).unwrap_or_default();
            for (server, port, weight) in g.backends.difference(&before) {
                lines.push((
                    "clb",
                    format!("backend {}:{port} weight {weight} added to {}", self.instance_label(server), g.name),
                ));
            }
            for (server, port, _) in before.difference(&g.backends) {
                lines.push(("clb", format!("backend {}:{port} removed from {}", self.instance_label(server), g.name)));
            }
        }
        self.cloud = next;
        lines
    }

    fn listener_line(&self, lb: &str, proto: &str, port: u64, l: &Listener, cloud: &CloudView) -> String {
        let group = cloud.vserver_groups.get(&l.vserver_group).map(|g| g.name.as_str()).unwrap_or(&l.vserver_group);
        format!("listener {}:{port} on {lb} -> vServer group {group}: {}", proto.to_uppercase(), l.status)
    }

    /// What has not converged yet (empty: everything did).
    fn pending(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.leader.is_none() {
            out.push("the CCM to acquire the Lease kube-system/ccm".to_owned());
        }
        if !self.script_done {
            out.push("the nodes and the Service to be created".to_owned());
        }
        for (name, exp) in &self.expected {
            let view = self.nodes_latest.get(name).cloned().unwrap_or_default();
            let want_id = format!("{SEED_REGION}.{}", exp.instance_id);
            if view.provider_id.as_deref() != Some(want_id.as_str()) {
                out.push(format!("{name}: providerID {want_id} (has {:?})", view.provider_id));
            }
            if view.tainted {
                out.push(format!("{name}: the uninitialized taint to go"));
            }
            if view.zone.is_none() || view.instance_type.is_none() {
                out.push(format!("{name}: zone and instance-type labels"));
            }
            if view.network.as_ref().map(|(s, _)| s.as_str()) != Some("False") {
                out.push(format!("{name}: NetworkUnavailable=False (has {:?})", view.network));
            }
            let route = self.cloud.routes.iter().find(|((_, dst), _)| *dst == exp.pod_cidr);
            match route {
                Some((_, (hop, status))) if *hop == exp.instance_id && status == "Available" => {}
                other => out.push(format!(
                    "route {} -> {} Available (has {:?})",
                    exp.pod_cidr,
                    exp.instance_id,
                    other.map(|(_, v)| v)
                )),
            }
        }
        if self.script_done {
            match self.service_latest.as_ref().and_then(|s| s.ingress.first()) {
                None => out.push(format!("{}: an ingress IP", self.service_name())),
                Some(ip) => match self.service_load_balancer() {
                    None => out.push(format!("a load balancer for {}", self.service_name())),
                    Some((id, lb)) => {
                        if lb.address != *ip {
                            out.push(format!("{id}: address {} to match the ingress {ip}", lb.address));
                        }
                        match lb.listeners.get(&("tcp".to_owned(), SERVICE_PORT as u64)) {
                            Some(l) if l.status == "running" => {
                                let backends: BTreeSet<String> = self
                                    .cloud
                                    .vserver_groups
                                    .get(&l.vserver_group)
                                    .map(|g| g.backends.iter().map(|(s, _, _)| s.clone()).collect())
                                    .unwrap_or_default();
                                if backends != self.expected_backends {
                                    out.push(format!(
                                        "{id}: backends {:?} (has {:?})",
                                        self.expected_backends, backends
                                    ));
                                }
                            }
                            other => out.push(format!(
                                "{id}: a running TCP:{SERVICE_PORT} listener (has {:?})",
                                other.map(|l| &l.status)
                            )),
                        }
                    }
                },
            }
        }
        out
    }

    fn service_load_balancer(&self) -> Option<(&String, &LoadBalancer)> {
        self.cloud.load_balancers.iter().find(|(_, lb)| self.is_service_lb(&lb.name))
    }
}

/// The seed's instances in creation order.
async fn seed_instances(stack: &Stack) -> Result<Vec<Instance>> {
    let state = stack.fake_state().await?;
    let order = state["instance_order"].as_array().cloned().unwrap_or_default();
    let instances: Vec<Instance> = order
        .iter()
        .filter_map(|id| id.as_str())
        .filter_map(|id| state["instances"].get(id))
        .filter(|i| i["status"] == "Running")
        .map(|i| Instance { id: text(i, "instance_id"), host: text(i, "host_name"), ip: text(i, "private_ip") })
        .collect();
    if instances.is_empty() {
        bail!("aliyun-fake's seed has no running instance");
    }
    Ok(instances)
}

/// The kubelets register the nodes, then a user creates the Service and (standing in for the EndpointSlice
/// controller) its EndpointSlice.
async fn script(stack: &Stack, instances: Vec<Instance>, tx: mpsc::UnboundedSender<Script>) -> Result<()> {
    for (i, inst) in instances.iter().enumerate() {
        let pod_cidr = format!("172.16.{}.0/24", i + 1);
        let _ = tx.send(Script::Node { name: inst.host.clone(), ip: inst.ip.clone(), pod_cidr: pod_cidr.clone() });
        stack.register_node(&KubeletNode::new(&inst.host, &inst.ip).pod_cidrs([pod_cidr.as_str()])).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (ns, name) = SERVICE;
    let pods: Vec<(String, String)> = instances
        .iter()
        .take(NODES_WITH_PODS)
        .enumerate()
        .map(|(i, inst)| (format!("172.16.{}.10", i + 1), inst.host.clone()))
        .collect();
    let _ = tx.send(Script::Service { pod_nodes: pods.iter().map(|(_, n)| n.clone()).collect() });
    // The EndpointSlice first: a real cluster's EndpointSlice controller fills it within milliseconds of the
    // Service, faster than this script could.
    let refs: Vec<(&str, &str)> = pods.iter().map(|(a, n)| (a.as_str(), n.as_str())).collect();
    stack.create_endpoint_slice(&endpoint_slice(ns, name, 8080, &refs)).await?;
    let mut service = load_balancer_service(ns, name, SERVICE_PORT, 8080);
    if let Some(spec) = service.spec.as_mut() {
        spec.external_traffic_policy = Some("Local".into());
    }
    stack.create_service(&service).await?;
    Ok(())
}

/// Runs the demo, narrating to `out`. With [`DemoOptions::once`] it returns after convergence; otherwise when
/// `stop` resolves (Ctrl-C). An error says what did not converge (with the end of the CCM's log) or what failed.
pub async fn run<W: Write>(opts: &DemoOptions, out: &mut W, stop: impl Future<Output = ()>) -> Result<DemoSummary> {
    let dir = tempfile::Builder::new().prefix("aliyun-ccm-demo-").tempdir().context("creating a directory")?.keep();
    let result = run_in(opts, out, dir.clone(), stop).await;
    match &result {
        Ok(_) => {
            let _ = std::fs::remove_dir_all(&dir);
        }
        Err(_) => {
            let _ = writeln!(out, "logs and state kept in {}", dir.display());
        }
    }
    result
}

async fn run_in<W: Write>(
    opts: &DemoOptions,
    out: &mut W,
    dir: PathBuf,
    stop: impl Future<Output = ()>,
) -> Result<DemoSummary> {
    let mut n = Narrator { started: Instant::now(), out, color: opts.color };
    n.plain(
        "aliyun-ccm demo: a real kube-apiserver and etcd, aliyun-fake standing in for Alibaba Cloud, and \
         cloud-controller-manager, all on this machine",
    );
    n.say(
        "stack",
        "starting etcd, kube-apiserver (RBAC on) and aliyun-fake: Alibaba Cloud region cn-hangzhou with one VPC \
         and three ECS instances",
    );
    let stack = Stack::start(StackOptions::new("demo").in_dir(&dir)).await.context("starting the stack")?;
    n.say("stack", format!("up: kube-apiserver {}, aliyun-fake {}", stack.apiserver_url()?, stack.fake_endpoint()?));
    let instances = seed_instances(&stack).await?;
    let admin = stack.admin().await?;

    let options = CcmOptions::new("*").cluster_cidr(CLUSTER_CIDR).leader_elect("ccm");
    let mut ccm = stack.start_ccm(&options)?;
    let ccm_started = Instant::now();
    n.say(
        "ccm",
        format!(
            "starting cloud-controller-manager --controllers=* --cluster-cidr={CLUSTER_CIDR} --leader-elect as \
             ServiceAccount kube-system/cloud-controller-manager (RBAC of manifests/rbac), log {}",
            ccm.process.log_path().display()
        ),
    );

    let mut nodes = watcher(Api::<Node>::all(admin.clone()), watcher::Config::default()).default_backoff().boxed();
    let mut services = watcher(
        Api::<Service>::namespaced(admin.clone(), SERVICE.0),
        watcher::Config::default().fields(&format!("metadata.name={}", SERVICE.1)),
    )
    .default_backoff()
    .boxed();
    let mut warnings = watcher(Api::<KubeEvent>::all(admin.clone()), watcher::Config::default().fields("type=Warning"))
        .default_backoff()
        .boxed();
    let leases: Api<Lease> = Api::namespaced(admin.clone(), "kube-system");

    let (tx, mut rx) = mpsc::unbounded_channel();
    let script = script(&stack, instances.clone(), tx);
    tokio::pin!(script);
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let mut world = World { instances: instances.clone(), ..World::default() };
    let mut summary: Option<DemoSummary> = None;
    loop {
        let mut lines: Vec<(&'static str, String)> = Vec::new();
        tokio::select! {
            Some(event) = nodes.next() => {
                if let Ok(watcher::Event::Apply(node) | watcher::Event::InitApply(node)) = event {
                    let name = node.metadata.name.clone().unwrap_or_default();
                    world.nodes_latest.insert(name, NodeView::of(&node));
                } else if let Ok(watcher::Event::Delete(node)) = event {
                    let name = node.metadata.name.clone().unwrap_or_default();
                    if world.nodes_told.remove(&name).is_some() {
                        lines.push(("node", format!("{name} deleted")));
                    }
                    world.nodes_latest.remove(&name);
                }
                // The CCM changes the cloud before it reports in Kubernetes: tell the cloud side first.
                if let Ok(state) = stack.fake_state().await {
                    lines.extend(world.cloud_news(CloudView::of(&state)));
                }
                lines.extend(world.node_news());
            }
            Some(event) = services.next() => {
                if let Ok(watcher::Event::Apply(s) | watcher::Event::InitApply(s)) = event {
                    world.service_uid = s.metadata.uid.clone();
                    world.service_latest = Some(ServiceView::of(&s));
                }
                if let Ok(state) = stack.fake_state().await {
                    lines.extend(world.cloud_news(CloudView::of(&state)));
                }
                lines.extend(world.service_news());
            }
            Some(event) = warnings.next() => {
                if let Ok(watcher::Event::Apply(e) | watcher::Event::InitApply(e)) = event {
                    let uid = e.metadata.uid.clone().unwrap_or_default();
                    if world.warnings_seen.insert(uid) {
                        let obj = &e.involved_object;
                        let what = match &obj.namespace {
                            Some(ns) if !ns.is_empty() => format!("{}/{}", ns, obj.name.clone().unwrap_or_default()),
                            _ => obj.name.clone().unwrap_or_default(),
                        };
                        lines.push(("why", format!(
                            "warning on {} {what}: {}: {}",
                            obj.kind.clone().unwrap_or_default(),
                            e.reason.unwrap_or_default(),
                            e.message.unwrap_or_default()
                        )));
                    }
                }
            }
            Some(msg) = rx.recv() => match msg {
                Script::Node { name, ip, pod_cidr } => {
                    lines.push(("kubelet", format!(
                        "{name} registers (InternalIP {ip}, pod CIDR {pod_cidr}, no provider ID) with the \
                         uninitialized taint: no pods until the CCM has matched it to its instance"
                    )));
                    let instance = instances.iter().find(|i| i.host == name).map(|i| i.id.clone()).unwrap_or_default();
                    world.expected.insert(name.clone(), Expected { instance_id: instance, pod_cidr });
                    // As registered: the kubelet's addresses and the taint, nothing from the cloud yet.
                    let view = NodeView {
                        addresses: vec![("InternalIP".into(), ip), ("Hostname".into(), name.clone())],
                        tainted: true,
                        ..NodeView::default()
                    };
                    world.nodes_told.insert(name, view);
                    lines.extend(world.node_news());
                }
                Script::Service { pod_nodes } => {
                    world.service_told = Some(ServiceView::default());
                    world.expected_backends = instances
                        .iter()
                        .filter(|i| pod_nodes.contains(&i.host))
                        .map(|i| i.id.clone())
                        .collect();
                    lines.push(("you", format!(
                        "create Service {} (type LoadBalancer, port {SERVICE_PORT} -> 8080, externalTrafficPolicy \
                         Local) with pods on {}: only those nodes become backends",
                        world.service_name(),
                        pod_nodes.join(" and ")
                    )));
                    lines.extend(world.service_news());
                }
            },
            done = &mut script, if !world.script_done => {
                done.context("creating the nodes and the Service")?;
                world.script_done = true;
            }
            _ = tick.tick() => {
                if let Err(e) = ccm.process.check_running() {
                    bail!("the cloud-controller-manager stopped: {e}");
                }
                if let Ok(state) = stack.fake_state().await {
                    lines.extend(world.cloud_news(CloudView::of(&state)));
                }
                if let Ok(Some(lease)) = leases.get_opt("ccm").await {
                    let holder = lease.spec.and_then(|s| s.holder_identity).filter(|h| !h.is_empty());
                    if holder.is_some() && holder != world.leader {
                        lines.push(("ccm", format!(
                            "holds the leader Lease kube-system/ccm ({}): its node, route and service \
                             controllers start; a second replica would wait",
                            holder.clone().unwrap_or_default()
                        )));
                        world.leader = holder;
                    }
                }
                if summary.is_none() && ccm_started.elapsed() > opts.timeout {
                    let pending = world.pending();
                    return Err(anyhow!(
                        "the demo did not converge within {}s; still waiting for:\n  - {}\n--- end of the \
                         cloud-controller-manager log ---\n{}",
                        opts.timeout.as_secs(),
                        pending.join("\n  - "),
                        ccm.process.log_tail(30)
                    ));
                }
            }
            () = &mut stop => {
                n.say("done", "stopping the CCM, kube-apiserver, etcd and aliyun-fake");
                break;
            }
        }
        for (tag, line) in lines {
            n.say(tag, line);
        }
        if summary.is_none() && world.script_done && world.pending().is_empty() {
            let s = converged(&stack, &world, ccm_started.elapsed()).await?;
            n.say(
                "done",
                format!(
                    "converged {:.1}s after the CCM started: {} nodes initialized, {} routes, load balancer {} at \
                     {}:{SERVICE_PORT} with {} backends; {} cloud API calls, {} of them writes",
                    s.converged_after.as_secs_f64(),
                    world.expected.len(),
                    world.expected.len(),
                    s.load_balancer_id,
                    s.ingress_ip,
                    world.expected_backends.len(),
                    s.calls.0,
                    s.calls.1
                ),
            );
            if opts.once {
                n.say("done", "--once: stopping the CCM, kube-apiserver, etcd and aliyun-fake");
                summary = Some(s);
                break;
            }
            explain_how_to_poke(&mut n, &stack, &ccm);
            summary = Some(s);
        }
    }
    drop((nodes, services, warnings, leases, admin));
    // Watches open on the apiserver slow its shutdown down: close them first.
    ccm.process.stop(Duration::from_secs(10));
    stack.stop();
    summary.ok_or_else(|| anyhow!("interrupted before the demo converged"))
}

async fn converged(stack: &Stack, world: &World, after: Duration) -> Result<DemoSummary> {
    let calls = stack.fake_admin_get("calls").await?;
    let by_action = calls["byAction"].as_object().cloned().unwrap_or_default();
    let total: u64 = by_action.values().filter_map(Value::as_u64).sum();
    let writes: u64 = by_action.iter().filter(|(a, _)| !is_read_only_action(a)).filter_map(|(_, c)| c.as_u64()).sum();
    let (id, lb) = world.service_load_balancer().ok_or_else(|| anyhow!("no load balancer"))?;
    Ok(DemoSummary {
        converged_after: after,
        ingress_ip: lb.address.clone(),
        load_balancer_id: id.clone(),
        calls: (total, writes),
    })
}

fn explain_how_to_poke<W: Write>(n: &mut Narrator<'_, W>, stack: &Stack, ccm: &RunningCcm) {
    let kubeconfig = stack.kubeconfig(&crate::Identity::Admin).map(|p| p.display().to_string()).unwrap_or_default();
    let fake = stack.fake_endpoint().unwrap_or_default();
    n.plain("");
    n.plain("Everything keeps running; poke at it from another terminal:");
    n.plain(format!("  export KUBECONFIG={kubeconfig}"));
    n.plain("  kubectl get nodes -L topology.kubernetes.io/zone,node.kubernetes.io/instance-type");
    n.plain("  kubectl get svc web; kubectl delete svc web    # the load balancer goes with it");
    n.plain(format!("  curl -s {fake}/_fake/state | jq .slb.load_balancers"));
    n.plain(format!("  curl -s -XPOST {fake}/_fake/instances/{}/stop", "i-bp1fakenode000000003"));
    n.plain(format!("  curl -s http://{}/metrics | grep aliyun_api_requests", ccm.metrics_addr));
    n.plain(format!("  tail -f {}", ccm.process.log_path().display()));
    n.plain("Changes are narrated below. Ctrl-C stops everything and cleans up.");
    n.plain("");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_actions_are_told_from_writes() {
        for a in ["DescribeInstances", "ListTagResources", "DescribeRouteEntryList"] {
            assert!(is_read_only_action(a), "{a}");
        }
        for a in
            ["CreateRouteEntries", "AddVServerGroupBackendServers", "ModifyNetworkInterfaceAttribute", "TagResources"]
        {
            assert!(!is_read_only_action(a), "{a}");
        }
    }

    #[test]
    fn cloud_changes_are_narrated_once() {
        let state = serde_json::json!({
            "route_tables": {"vtb-1": {"entries": [
                {"entry_type": "System", "destination_cidr_block": "192.168.0.0/24", "next_hop_id": "", "status": "Available"},
                {"entry_type": "Custom", "destination_cidr_block": "172.16.1.0/24", "next_hop_id": "i-1", "status": "Pending"},
            ]}},
            "slb": {"load_balancers": {}, "vserver_groups": {}},
        });
        let mut world = World {
            instances: vec![Instance { id: "i-1".into(), host: "node-1".into(), ip: "192.168.0.10".into() }],
            ..World::default()
        };
        let lines = world.cloud_news(CloudView::of(&state));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].1.contains("172.16.1.0/24 -> node-1 (i-1) created in vtb-1: Pending"), "{lines:?}");
        assert!(world.cloud_news(CloudView::of(&state)).is_empty());
        let mut settled = state.clone();
        settled["route_tables"]["vtb-1"]["entries"][1]["status"] = "Available".into();
        let lines = world.cloud_news(CloudView::of(&settled));
        assert!(lines[0].1.contains("Available"), "{lines:?}");
    }
}
