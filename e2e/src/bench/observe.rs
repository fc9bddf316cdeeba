//! Watching convergence: Nodes and Services through watches (so per-node times are exact to the event), routes
//! and load balancers from aliyun-fake's `/_fake/state`, cloud calls from `/_fake/calls`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{Node, Service};
use kube::Api;
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt as _, watcher::Config};
use serde::Serialize;
use serde_json::Value;

use super::topology::{NodeSpec, ROUTE_TABLE_ID};
use crate::error::{Context as _, Error, Result};
use crate::fixtures::UNINITIALIZED_TAINT;

/// What the watch saw of one Node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// When the watch first delivered it.
    pub first_seen: Instant,
    /// When the watch first delivered it without the uninitialized taint.
    pub untainted_at: Option<Instant>,
    /// When the watch first delivered it with `NetworkUnavailable=False`.
    pub network_ready_at: Option<Instant>,
    /// Carries the uninitialized taint now.
    pub tainted: bool,
    /// `NetworkUnavailable=False` now.
    pub network_ready: bool,
}

/// Nodes by name, kept current by a watch.
#[derive(Debug, Default)]
pub struct NodeBook {
    /// Live nodes.
    pub nodes: HashMap<String, NodeRecord>,
    relisting: Option<HashSet<String>>,
}

impl NodeBook {
    fn apply(&mut self, node: &Node, now: Instant) {
        let Some(name) = node.metadata.name.clone() else { return };
        if let Some(seen) = self.relisting.as_mut() {
            seen.insert(name.clone());
        }
        let tainted = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .is_some_and(|t| t.iter().any(|t| t.key == UNINITIALIZED_TAINT));
        let network_ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "NetworkUnavailable" && c.status == "False"));
        let record = self.nodes.entry(name).or_insert(NodeRecord {
            first_seen: now,
            untainted_at: None,
            network_ready_at: None,
            tainted,
            network_ready,
        });
        record.tainted = tainted;
        record.network_ready = network_ready;
        if !tainted && record.untainted_at.is_none() {
            record.untainted_at = Some(now);
        }
        if network_ready && record.network_ready_at.is_none() {
            record.network_ready_at = Some(now);
        }
    }
}

/// Ingress addresses of the benchmark's Services by name, kept current by a watch.
#[derive(Debug, Default)]
pub struct ServiceBook {
    /// `status.loadBalancer.ingress[].ip` per Service.
    pub ingress: HashMap<String, Vec<String>>,
    relisting: Option<HashSet<String>>,
}

impl ServiceBook {
    fn apply(&mut self, service: &Service) {
        let Some(name) = service.metadata.name.clone() else { return };
        if let Some(seen) = self.relisting.as_mut() {
            seen.insert(name.clone());
        }
        let ips = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .map(|i| i.iter().filter_map(|i| i.ip.clone()).collect())
            .unwrap_or_default();
        self.ingress.insert(name, ips);
    }
}

/// Keeps `book` current from a watch of `api` until the returned task is aborted.
fn spawn_watch<K, B>(
    api: Api<K>,
    book: Arc<Mutex<B>>,
    apply: fn(&mut B, &K, Instant),
    forget: fn(&mut B, &str),
    relist: fn(&mut B, bool),
) -> tokio::task::JoinHandle<()>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    B: Send + 'static,
{
    tokio::spawn(async move {
        let mut events = watcher::watcher(api, Config::default()).default_backoff().boxed();
        while let Some(event) = events.next().await {
            let now = Instant::now();
            let mut b = book.lock().unwrap_or_else(|p| p.into_inner());
            match event {
                Ok(Event::Apply(o)) | Ok(Event::InitApply(o)) => apply(&mut b, &o, now),
                Ok(Event::Delete(o)) => {
                    if let Some(name) = o.meta().name.as_deref() {
                        forget(&mut b, name);
                    }
                }
                Ok(Event::Init) => relist(&mut b, true),
                Ok(Event::InitDone) => relist(&mut b, false),
                Err(_) => {} // the backoff retries; a gap only delays the next observation
            }
        }
    })
}

/// Starts watching every Node.
pub fn watch_nodes(client: kube::Client) -> (Arc<Mutex<NodeBook>>, tokio::task::JoinHandle<()>) {
    let book = Arc::new(Mutex::new(NodeBook::default()));
    let task = spawn_watch(
        Api::<Node>::all(client),
        book.clone(),
        |b: &mut NodeBook, n: &Node, now| b.apply(n, now),
        |b: &mut NodeBook, name| {
            b.nodes.remove(name);
        },
        |b: &mut NodeBook, starting| {
            if starting {
                b.relisting = Some(HashSet::new());
            } else if let Some(seen) = b.relisting.take() {
                b.nodes.retain(|n, _| seen.contains(n));
            }
        },
    );
    (book, task)
}

/// Starts watching the Services of `namespace`.
pub fn watch_services(client: kube::Client, namespace: &str) -> (Arc<Mutex<ServiceBook>>, tokio::task::JoinHandle<()>) {
    let book = Arc::new(Mutex::new(ServiceBook::default()));
    let task = spawn_watch(
        Api::<Service>::namespaced(client, namespace),
        book.clone(),
        |b: &mut ServiceBook, s: &Service, _| b.apply(s),
        |b: &mut ServiceBook, name| {
            b.ingress.remove(name);
        },
        |b: &mut ServiceBook, starting| {
            if starting {
                b.relisting = Some(HashSet::new());
            } else if let Some(seen) = b.relisting.take() {
                b.ingress.retain(|n, _| seen.contains(n));
            }
        },
    );
    (book, task)
}

/// A Service as it should be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceExpect {
    /// Name.
    pub name: String,
    /// `(port, nodePort)` of each Service port (TCP).
    pub ports: Vec<(u16, u16)>,
    /// Instance ids of the nodes with ready endpoints (`externalTrafficPolicy: Local`).
    pub backends: BTreeSet<String>,
}

/// What "converged" means for a scenario.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    /// Nodes that must be initialized, routed and `NetworkUnavailable=False`.
    pub nodes: Vec<NodeSpec>,
    /// Services that must have an ingress address and the right backends.
    pub services: Vec<ServiceExpect>,
}

/// How far the cluster is from converged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Nodes expected.
    pub nodes: usize,
    /// ... without the uninitialized taint.
    pub nodes_untainted: usize,
    /// ... with `NetworkUnavailable=False`.
    pub nodes_network_ready: usize,
    /// Routes expected (one per node and managed table).
    pub routes: usize,
    /// ... present, `Available`, to the right instance.
    pub routes_ready: usize,
    /// Custom routes present that should not be (nodes gone).
    pub routes_stale: usize,
    /// Services expected.
    pub services: usize,
    /// ... with an ingress IP.
    pub services_with_ingress: usize,
    /// ... whose load balancer has every port's listener running with exactly the expected backends.
    pub services_backends_ok: usize,
}

impl Progress {
    /// Everything expected holds.
    pub fn converged(&self) -> bool {
        self.nodes_untainted == self.nodes
            && self.nodes_network_ready == self.nodes
            && self.routes_ready == self.routes
            && self.routes_stale == 0
            && self.services_with_ingress == self.services
            && self.services_backends_ok == self.services
    }

    /// Fractions converged (0..=1) per criterion with a non-zero target, for the plot.
    pub fn fractions(&self) -> Vec<(&'static str, f64)> {
        let frac = |a: usize, b: usize| a as f64 / b.max(1) as f64;
        let mut out = Vec::new();
        if self.nodes > 0 {
            out.push(("nodes untainted", frac(self.nodes_untainted, self.nodes)));
            out.push(("NetworkUnavailable=False", frac(self.nodes_network_ready, self.nodes)));
        }
        if self.routes > 0 {
            // Stale routes count against route progress until they are gone.
            out.push((
                "routes correct",
                frac(self.routes_ready.saturating_sub(self.routes_stale.min(self.routes_ready)), self.routes),
            ));
        }
        if self.services > 0 {
            out.push(("ingress IP set", frac(self.services_with_ingress, self.services)));
            out.push(("backends correct", frac(self.services_backends_ok, self.services)));
        }
        out
    }
}

/// Compares the books and the fake's state with the expectation.
pub fn evaluate(exp: &Expectation, state: &Value, nodes: &NodeBook, services: &ServiceBook) -> Progress {
    let mut p = Progress {
        nodes: exp.nodes.len(),
        routes: exp.nodes.len(),
        services: exp.services.len(),
        ..Default::default()
    };
    for n in &exp.nodes {
        if let Some(r) = nodes.nodes.get(&n.name) {
            p.nodes_untainted += usize::from(!r.tainted);
            p.nodes_network_ready += usize::from(r.network_ready);
        }
    }
    // Routes of the managed table.
    let wanted: HashMap<&str, &str> = exp.nodes.iter().map(|n| (n.pod_cidr.as_str(), n.instance_id.as_str())).collect();
    let entries = state["route_tables"][ROUTE_TABLE_ID]["entries"].as_array().cloned().unwrap_or_default();
    for e in &entries {
        if e["entry_type"].as_str() != Some("Custom") {
            continue;
        }
        let dest = e["destination_cidr_block"].as_str().unwrap_or_default();
        match wanted.get(dest) {
            Some(instance) if e["next_hop_id"].as_str() == Some(instance) => {
                p.routes_ready += usize::from(e["status"].as_str() == Some("Available"));
            }
            _ => p.routes_stale += 1,
        }
    }
    // Load balancers by address; vServer groups by id.
    let slb = &state["slb"];
    let by_address: HashMap<&str, &Value> = slb["load_balancers"]
        .as_object()
        .map(|m| m.values().filter_map(|lb| Some((lb["address"].as_str()?, lb))).collect())
        .unwrap_or_default();
    for s in &exp.services {
        let ips = services.ingress.get(&s.name).cloned().unwrap_or_default();
        if ips.is_empty() {
            continue;
        }
        p.services_with_ingress += 1;
        let ok =
            ips.iter().any(|ip| by_address.get(ip.as_str()).is_some_and(|lb| lb_serves(lb, &slb["vserver_groups"], s)));
        p.services_backends_ok += usize::from(ok);
    }
    p
}

fn lb_serves(lb: &Value, groups: &Value, s: &ServiceExpect) -> bool {
    let listeners = lb["listeners"].as_array().cloned().unwrap_or_default();
    s.ports.iter().all(|(port, node_port)| {
        listeners.iter().any(|l| {
            l["listener_port"].as_u64() == Some(u64::from(*port))
                && l["listener_protocol"].as_str() == Some("tcp")
                && l["status"].as_str() == Some("running")
                && l["vserver_group_id"].as_str().is_some_and(|g| {
                    let backends: BTreeSet<(String, u64)> = groups[g]["backends"]
                        .as_array()
                        .map(|b| {
                            b.iter()
                                .map(|b| {
                                    (
                                        b["server_id"].as_str().unwrap_or_default().to_owned(),
                                        b["port"].as_u64().unwrap_or(0),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let wanted: BTreeSet<(String, u64)> =
                        s.backends.iter().map(|id| (id.clone(), u64::from(*node_port))).collect();
                    backends == wanted
                })
        })
    })
}

/// Calls, throttled answers and other error answers of one action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActionTally {
    /// Calls answered (throttled and failed ones included).
    pub calls: u64,
    /// Answered `Throttling*`.
    pub throttled: u64,
    /// Answered another error.
    pub errors: u64,
}

/// The fake's exact counters (`/_fake/calls` without the log).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallCounts {
    /// Calls in total.
    pub total: u64,
    /// Per action.
    pub by_action: BTreeMap<String, u64>,
    /// Error answers per code.
    pub by_code: BTreeMap<String, u64>,
}

impl CallCounts {
    /// `self - earlier`, per key, dropping zeros.
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        let diff = |now: &BTreeMap<String, u64>, then: &BTreeMap<String, u64>| {
            now.iter()
                .map(|(k, v)| (k.clone(), v.saturating_sub(then.get(k).copied().unwrap_or(0))))
                .filter(|(_, v)| *v > 0)
                .collect()
        };
        CallCounts {
            total: self.total.saturating_sub(earlier.total),
            by_action: diff(&self.by_action, &earlier.by_action),
            by_code: diff(&self.by_code, &earlier.by_code),
        }
    }

    /// Throttled answers (`Throttling`, `Throttling.User`, `Throttling.Api`...).
    pub fn throttled(&self) -> u64 {
        self.by_code.iter().filter(|(c, _)| c.starts_with("Throttling")).map(|(_, v)| v).sum()
    }
}

/// Reads aliyun-fake's admin API.
#[derive(Debug, Clone)]
pub struct FakeAdmin {
    http: reqwest::Client,
    endpoint: String,
}

impl FakeAdmin {
    /// For the fake at `endpoint` (`http://127.0.0.1:PORT`).
    pub fn new(endpoint: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .build()
            .context("building an HTTP client")?;
        Ok(Self { http, endpoint: endpoint.trim_end_matches('/').to_owned() })
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<Value> {
        let resp = req.send().await.context(what.to_owned())?.error_for_status().context(what.to_owned())?;
        let body = resp.bytes().await.context(format!("reading {what}"))?;
        serde_json::from_slice(&body).context(format!("decoding {what}"))
    }

    /// `GET /_fake/<path>`.
    pub async fn get(&self, path: &str) -> Result<Value> {
        let url = format!("{}/_fake/{path}", self.endpoint);
        self.send(self.http.get(&url), &format!("GET {url}")).await
    }

    /// `POST /_fake/instances` with a seed instance.
    pub async fn add_instance(&self, instance: &Value) -> Result<()> {
        let url = format!("{}/_fake/instances", self.endpoint);
        let body = serde_json::to_vec(instance).context("encoding an instance")?;
        let req = self.http.post(&url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
        self.send(req, &format!("POST {url}")).await.map(drop)
    }

    /// `DELETE /_fake/instances/<id>`.
    pub async fn delete_instance(&self, id: &str) -> Result<()> {
        let url = format!("{}/_fake/instances/{id}", self.endpoint);
        self.send(self.http.delete(&url), &format!("DELETE {url}")).await.map(drop)
    }

    /// The whole region.
    pub async fn state(&self) -> Result<Value> {
        self.get("state").await
    }

    /// The call log: exact counters, and the latest records as `(seq, action, code)`.
    pub async fn calls(&self) -> Result<(CallCounts, Vec<(u64, String, Option<String>)>)> {
        let v = self.get("calls").await?;
        let map = |k: &str| -> BTreeMap<String, u64> {
            v[k].as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect())
                .unwrap_or_default()
        };
        let counts =
            CallCounts { total: v["total"].as_u64().unwrap_or(0), by_action: map("byAction"), by_code: map("byCode") };
        let records = v["calls"]
            .as_array()
            .ok_or_else(|| Error::Format { context: "/_fake/calls".into(), message: "no calls[]".into() })?
            .iter()
            .map(|c| {
                (
                    c["seq"].as_u64().unwrap_or(0),
                    c["action"].as_str().unwrap_or_default().to_owned(),
                    c["code"].as_str().map(str::to_owned),
                )
            })
            .collect();
        Ok((counts, records))
    }
}

/// Per-action tallies from the call log's records, which keep only the latest 10,000 calls: polled often enough,
/// every call is seen once; otherwise the tally says it is incomplete.
#[derive(Debug, Default)]
pub struct CallTracker {
    last_seq: u64,
    /// Tallies since [`CallTracker::restart`].
    pub tally: BTreeMap<String, ActionTally>,
    /// Some calls dropped out of the log between two polls.
    pub incomplete: bool,
}

impl CallTracker {
    /// Polls the log and adds the calls not seen yet.
    pub async fn poll(&mut self, fake: &FakeAdmin) -> Result<CallCounts> {
        let (counts, records) = fake.calls().await?;
        if let Some(first) = records.first()
            && first.0 > self.last_seq + 1
            && self.last_seq > 0
        {
            self.incomplete = true;
        }
        let seen = self.last_seq;
        for (seq, action, code) in records.into_iter().filter(|r| r.0 > seen) {
            self.last_seq = seq;
            let t = self.tally.entry(action).or_default();
            t.calls += 1;
            match code {
                Some(c) if c.starts_with("Throttling") => t.throttled += 1,
                Some(_) => t.errors += 1,
                None => {}
            }
        }
        Ok(counts)
    }

    /// Forgets the tallies (the position in the log stays).
    pub fn restart(&mut self) {
        self.tally.clear();
        self.incomplete = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::topology::Topology;
    use serde_json::json;

    fn book_with(names: &[(&str, bool, bool)]) -> NodeBook {
        let now = Instant::now();
        let mut b = NodeBook::default();
        for (name, tainted, ready) in names {
            b.nodes.insert(
                name.to_string(),
                NodeRecord {
                    first_seen: now,
                    untainted_at: None,
                    network_ready_at: None,
                    tainted: *tainted,
                    network_ready: *ready,
                },
            );
        }
        b
    }

    #[test]
    fn evaluates_nodes_routes_and_load_balancers() {
        let t = Topology::new(2, 0, 1, 2).expect("topology");
        let (a, b) = (t.node(0), t.node(1));
        let exp = Expectation {
            nodes: vec![a.clone(), b.clone()],
            services: vec![ServiceExpect {
                name: "s".into(),
                ports: vec![(80, 30080)],
                backends: [a.instance_id.clone()].into(),
            }],
        };
        let state = json!({
            "route_tables": {ROUTE_TABLE_ID: {"entries": [
                {"entry_type": "System", "destination_cidr_block": "10.0.0.0/16", "status": "Available"},
                {"entry_type": "Custom", "destination_cidr_block": a.pod_cidr, "next_hop_id": a.instance_id, "status": "Available"},
                {"entry_type": "Custom", "destination_cidr_block": b.pod_cidr, "next_hop_id": b.instance_id, "status": "Pending"},
                {"entry_type": "Custom", "destination_cidr_block": "172.16.99.0/24", "next_hop_id": "i-gone", "status": "Available"},
            ]}},
            "slb": {
                "load_balancers": {"lb-1": {"address": "198.18.0.1", "listeners": [
                    {"listener_port": 80, "listener_protocol": "tcp", "status": "running", "vserver_group_id": "rsp-1"}]}},
                "vserver_groups": {"rsp-1": {"backends": [{"server_id": a.instance_id, "port": 30080}]}},
            },
        });
        let nodes = book_with(&[(a.name.as_str(), false, true), (b.name.as_str(), true, false)]);
        let mut services = ServiceBook::default();
        services.ingress.insert("s".into(), vec!["198.18.0.1".into()]);
        let p = evaluate(&exp, &state, &nodes, &services);
        assert_eq!(
            p,
            Progress {
                nodes: 2,
                nodes_untainted: 1,
                nodes_network_ready: 1,
                routes: 2,
                routes_ready: 1,
                routes_stale: 1,
                services: 1,
                services_with_ingress: 1,
                services_backends_ok: 1,
            }
        );
        assert!(!p.converged());
    }

    #[test]
    fn wrong_backend_port_is_not_ok() {
        let exp = Expectation {
            nodes: vec![],
            services: vec![ServiceExpect {
                name: "s".into(),
                ports: vec![(80, 30080)],
                backends: ["i-1".to_string()].into(),
            }],
        };
        let state = json!({"slb": {
            "load_balancers": {"lb-1": {"address": "198.18.0.1", "listeners": [
                {"listener_port": 80, "listener_protocol": "tcp", "status": "running", "vserver_group_id": "rsp-1"}]}},
            "vserver_groups": {"rsp-1": {"backends": [{"server_id": "i-1", "port": 30081}]}},
        }});
        let mut services = ServiceBook::default();
        services.ingress.insert("s".into(), vec!["198.18.0.1".into()]);
        let p = evaluate(&exp, &state, &NodeBook::default(), &services);
        assert_eq!((p.services_with_ingress, p.services_backends_ok), (1, 0));
    }

    #[test]
    fn call_count_deltas() {
        let then = CallCounts { total: 5, by_action: [("A".to_string(), 5)].into(), by_code: BTreeMap::new() };
        let now = CallCounts {
            total: 9,
            by_action: [("A".to_string(), 7), ("B".to_string(), 2)].into(),
            by_code: [("Throttling.User".to_string(), 2)].into(),
        };
        let d = now.since(&then);
        assert_eq!(d.total, 4);
        assert_eq!(d.by_action["A"], 2);
        assert_eq!(d.throttled(), 2);
    }
}
