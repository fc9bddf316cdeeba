//! The project's binaries as operators run them, against a real kube-apiserver and aliyun-fake:
//!
//! * two `cloud-controller-manager` replicas under the manifests' RBAC: one leads, the other takes over within
//!   20 s of a crash, the standby never writes to the cloud, and nothing is done twice in the cloud;
//! * `cloud-controller-manager check`: OK per action, and the missing RAM permission when the cloud refuses one;
//! * `cloud-controller-manager plan`: prints the changes and makes no write call;
//! * `provider-id-initor` under its own RBAC (`manifests/provider-id-initor/`), with the fake's metadata server;
//! * every kustomization of `manifests/`, accepted by the apiserver with a server-side dry run;
//! * `cargo xtask demo --once`'s scenario converges.

#![allow(clippy::unwrap_used)] // a test file: failures panic with context

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use e2e::ccm::{SEED_REGION, seed_cloud_config};
use e2e::demo::{DemoOptions, is_read_only_action};
use e2e::fixtures::{endpoint_slice, load_balancer_service};
use e2e::process::{Lifetime, ManagedProcess, ProcessSpec};
use e2e::stack::workspace_root;
use e2e::{CcmOptions, Context as _, Identity, KubeletNode, RunningCcm, Stack, StackOptions, UNINITIALIZED_TAINT};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use serde_json::{Value, json};

/// The pod CIDR the CCMs of these tests run with.
const CLUSTER_CIDR: &str = "172.16.0.0/16";

// ----- helpers -----

/// Writes the Go CCM's cloud-config for the fake's seed into the stack's directory.
fn write_cloud_config(stack: &Stack, name: &str) -> PathBuf {
    let path = stack.dir().join(name);
    std::fs::write(&path, serde_json::to_string_pretty(&seed_cloud_config(&Default::default())).unwrap()).unwrap();
    path
}

/// Waits for a one-shot process to exit; its exit code and its whole output.
async fn exit_of(mut p: ManagedProcess, timeout: Duration) -> (i32, String) {
    let status = p.wait_exit(timeout).await;
    let out = std::fs::read_to_string(p.log_path()).unwrap_or_default();
    let status = status.unwrap_or_else(|| panic!("{} still runs after {timeout:?}:\n{out}", p.name()));
    (status.code().unwrap_or(-1), out)
}

/// `POST /_fake/<path>` of aliyun-fake.
async fn fake_post(stack: &Stack, path: &str, body: &Value) {
    let url = format!("{}/_fake/{path}", stack.fake_endpoint().unwrap());
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(&url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "POST {url}: {}", resp.status());
}

/// The successful write calls of aliyun-fake's call log: `(action, params)`.
async fn successful_writes(stack: &Stack) -> Vec<(String, BTreeMap<String, String>)> {
    let calls = stack.fake_admin_get("calls").await.unwrap();
    calls["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == 200)
        .filter_map(|c| {
            let action = c["action"].as_str()?.to_owned();
            let params = c["params"]
                .as_object()?
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
                .collect();
            (!is_read_only_action(&action)).then_some((action, params))
        })
        .collect()
}

/// A Prometheus sample's value: the line starting with `name{` that contains every `label="value"` given.
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|(k, v)| l.contains(&format!("{k}=\"{v}\""))))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Whether `ccm` reports holding Lease `kube-system/ccm`; `None` while its metrics do not answer.
async fn leads(ccm: &RunningCcm) -> Option<bool> {
    let m = ccm.metrics().await.ok()?;
    sample(&m, "leader_election_master_status", &[("name", "kube-system/ccm")]).map(|v| v == 1.0)
}

/// Write actions `ccm` sent to the cloud (from its own `aliyun_api_requests` metric).
async fn writes_sent(ccm: &RunningCcm) -> BTreeMap<String, f64> {
    let m = ccm.metrics().await.unwrap();
    m.lines()
        .filter(|l| l.starts_with("aliyun_api_requests"))
        .filter_map(|l| {
            let action = l.split("action=\"").nth(1)?.split('"').next()?.to_owned();
            let value: f64 = l.rsplit(' ').next()?.parse().ok()?;
            (!is_read_only_action(&action) && value > 0.0).then_some((action, value))
        })
        .fold(BTreeMap::new(), |mut acc, (a, v)| {
            *acc.entry(a).or_insert(0.0) += v;
            acc
        })
}

async fn lease_holder(stack: &Stack) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(stack.admin().await.unwrap(), "kube-system");
    leases.get_opt("ccm").await.ok().flatten()?.spec?.holder_identity.filter(|h| !h.is_empty())
}

fn initialized(node: &Node) -> bool {
    let tainted = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|t| t.iter().any(|t| t.key == UNINITIALIZED_TAINT));
    !tainted && node.spec.as_ref().and_then(|s| s.provider_id.as_ref()).is_some()
}

/// Waits until `nodes` are initialized, their pod CIDRs have Available routes, and Service `svc` has an ingress
/// IP served by a load balancer whose listener has exactly `backends` as backends.
async fn wait_converged(stack: &Stack, nodes: &[(&str, &str)], svc: &str, backends: &BTreeSet<String>) {
    let api: Api<Node> = Api::all(stack.admin().await.unwrap());
    let services: Api<Service> = Api::namespaced(stack.admin().await.unwrap(), "default");
    stack
        .wait_for(
            "nodes initialized, routes Available, load balancer with all backends",
            Duration::from_secs(60),
            || {
                let (api, services) = (api.clone(), services.clone());
                async move {
                    for (name, _) in nodes {
                        if !initialized(&api.get(name).await.context("get node")?) {
                            return Ok(None);
                        }
                    }
                    let state = stack.fake_state().await?;
                    let routes: BTreeSet<String> = state["route_tables"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .flat_map(|(_, t)| t["entries"].as_array().cloned().unwrap_or_default())
                        .filter(|e| e["entry_type"] == "Custom" && e["status"] == "Available")
                        .filter_map(|e| e["destination_cidr_block"].as_str().map(str::to_owned))
                        .collect();
                    if nodes.iter().any(|(_, cidr)| !routes.contains(*cidr)) {
                        return Ok(None);
                    }
                    let service = services.get(svc).await.context("get service")?;
                    let ingress =
                        service.status.and_then(|s| s.load_balancer).and_then(|l| l.ingress).unwrap_or_default();
                    if ingress.is_empty() {
                        return Ok(None);
                    }
                    let have: BTreeSet<String> = state["slb"]["vserver_groups"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .flat_map(|(_, g)| g["backends"].as_array().cloned().unwrap_or_default())
                        .filter_map(|b| b["server_id"].as_str().map(str::to_owned))
                        .collect();
                    Ok((have == *backends).then_some(()))
                }
            },
        )
        .await
        .unwrap();
}

// ----- leader election -----

#[tokio::test]
async fn two_replicas_elect_one_leader_and_fail_over_without_duplicating_cloud_writes() {
    let stack = Stack::start(StackOptions::new("leader")).await.unwrap();
    let instances = stack.fake_instances().await.unwrap();
    let node = |i: usize| {
        KubeletNode::new(format!("le-{}", i + 1), &instances[i].private_ip)
            .pod_cidrs([format!("172.16.{}.0/24", i + 1)])
    };
    // One node and one LoadBalancer Service exist before any replica runs.
    stack.register_node(&node(0)).await.unwrap();
    stack.create_service(&load_balancer_service("default", "le-web", 80, 8080)).await.unwrap();

    let options = CcmOptions::new("*").cluster_cidr(CLUSTER_CIDR).leader_elect("ccm");
    let a = stack.start_ccm(&options).unwrap();
    let b = stack.start_ccm(&options).unwrap();

    // Exactly one leads, and the Lease names it.
    let leader_is_a = stack
        .wait_for("one of two replicas to lead", Duration::from_secs(60), || async {
            match (leads(&a).await, leads(&b).await) {
                (Some(true), Some(true)) => panic!("both replicas report holding the Lease"),
                (Some(true), Some(false)) => Ok(Some(true)),
                (Some(false), Some(true)) => Ok(Some(false)),
                _ => Ok(None),
            }
        })
        .await
        .unwrap();
    let (mut leader, standby) = if leader_is_a { (a, b) } else { (b, a) };
    let holder = lease_holder(&stack).await.expect("Lease kube-system/ccm has a holder");
    let log = |c: &RunningCcm| std::fs::read_to_string(c.process.log_path()).unwrap_or_default();
    let acquired = |identity: &str| format!("acquired the leader Lease identity={identity}");
    assert!(log(&leader).contains(&acquired(&holder)), "the Lease holder {holder} is not the leading replica");
    assert!(!log(&standby).contains("acquired the leader Lease"), "the standby acquired the Lease:\n{}", log(&standby));

    let first = [("le-1", "172.16.1.0/24")];
    let one: BTreeSet<String> = [instances[0].instance_id.clone()].into();
    wait_converged(&stack, &first, "le-web", &one).await;

    // The standby wrote nothing: its own metrics say so, and the leader's account for every write in the cloud.
    assert_eq!(writes_sent(&standby).await, BTreeMap::new(), "the standby sent write calls");
    let cloud_writes = || async {
        let calls = stack.fake_admin_get("calls").await?;
        let by_action = calls["byAction"].as_object().cloned().unwrap_or_default();
        Ok::<u64, e2e::Error>(
            by_action.iter().filter(|(a, _)| !is_read_only_action(a)).filter_map(|(_, c)| c.as_u64()).sum(),
        )
    };
    // Counted between two reads of the call log that agree, so that a late write cannot make them differ.
    let (by_leader, in_cloud) = stack
        .wait_for("the leader's write calls to account for the cloud's", Duration::from_secs(15), || async {
            let before = cloud_writes().await?;
            let by_leader = writes_sent(&leader).await.values().sum::<f64>() as u64;
            let after = cloud_writes().await?;
            Ok((before == after && by_leader == after).then_some((by_leader, after)))
        })
        .await
        .unwrap();
    assert!(in_cloud > 0 && by_leader == in_cloud, "the leader made no write call: the scenario proves nothing");
    let standby_metrics = standby.metrics().await.unwrap();
    assert!(
        standby_metrics.lines().filter(|l| l.starts_with("running_managed_controllers{")).all(|l| l.ends_with(" 0")),
        "the standby runs controllers:\n{standby_metrics}"
    );

    // The leader crashes; the standby takes over within 20 s.
    leader.process.kill_hard().unwrap();
    let killed = Instant::now();
    stack
        .wait_for("the standby to take over the Lease", Duration::from_secs(40), || async {
            let holder_now = lease_holder(&stack).await;
            let ok = leads(&standby).await == Some(true)
                && holder_now.is_some_and(|h| h != holder && log(&standby).contains(&acquired(&h)));
            Ok(ok.then_some(()))
        })
        .await
        .unwrap();
    let took = killed.elapsed();
    eprintln!("the standby took over {:.1}s after the leader was killed", took.as_secs_f64());
    assert!(took <= Duration::from_secs(20), "the standby took {took:?} to take over");

    // The new leader carries on: more nodes join, and it finishes the job without redoing the old leader's.
    stack.register_node(&node(1)).await.unwrap();
    stack.register_node(&node(2)).await.unwrap();
    let all = [("le-1", "172.16.1.0/24"), ("le-2", "172.16.2.0/24"), ("le-3", "172.16.3.0/24")];
    let backends: BTreeSet<String> = instances.iter().take(3).map(|i| i.instance_id.clone()).collect();
    wait_converged(&stack, &all, "le-web", &backends).await;
    // Let the new leader's periodic and startup work settle before reading the call log.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let writes = successful_writes(&stack).await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (action, params) in &writes {
        // The same write, byte for byte, twice.
        let key = format!("{action} {params:?}");
        *seen.entry(key).or_default() += 1;
        // The same resource created twice, whatever else differs.
        for (k, v) in params {
            if k.ends_with("DstCidrBlock") || k == "DestinationCidrBlock" {
                *seen.entry(format!("route to {v}")).or_default() += 1;
            }
        }
        // Backends go in with the group's creation (the first batch) or with additions; either way once (the
        // Service has one group, so server and port identify a backend).
        if action == "AddVServerGroupBackendServers" || action == "CreateVServerGroup" {
            let sent = params.get("BackendServers").map(String::as_str).unwrap_or("[]");
            for b in serde_json::from_str::<Vec<Value>>(sent).unwrap() {
                *seen.entry(format!("backend {} {}", b["ServerId"], b["Port"])).or_default() += 1;
            }
        }
        if action == "CreateLoadBalancer" {
            *seen.entry("a load balancer".into()).or_default() += 1;
        }
        if action == "CreateVServerGroup" {
            *seen.entry(format!("vserver group {}", params["VServerGroupName"])).or_default() += 1;
        }
        if action.starts_with("CreateLoadBalancer") && action.ends_with("Listener") {
            *seen.entry(format!("listener {}", params["ListenerPort"])).or_default() += 1;
        }
    }
    eprintln!("{} successful cloud writes, none repeated", writes.len());
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "done more than once in the cloud: {twice:#?}\nall writes: {writes:#?}");
    assert!(seen.contains_key("route to 172.16.3.0/24"), "the new leader made no route: {writes:#?}");
    let state = stack.fake_state().await.unwrap();
    assert_eq!(state["slb"]["load_balancers"].as_object().unwrap().len(), 1, "load balancers: {state:#}");
}

// ----- check -----

#[tokio::test]
async fn check_says_ok_per_action_and_names_a_missing_ram_permission() {
    let stack = Stack::start(StackOptions::new("check").without_kubernetes()).await.unwrap();
    let config = write_cloud_config(&stack, "cloud-config.json");
    let args = || {
        vec![
            "check".to_owned(),
            "--cloud-config".to_owned(),
            config.display().to_string(),
            format!("--cluster-cidr={CLUSTER_CIDR}"),
        ]
    };
    let run = stack.run_binary("ccm", "cloud-controller-manager", args(), None).unwrap();
    let (code, out) = exit_of(run, Duration::from_secs(60)).await;
    assert_eq!(code, 0, "check failed:\n{out}");
    for action in [
        "ecs:DescribeInstances",
        "vpc:DescribeRouteTableList",
        "vpc:DescribeRouteEntryList",
        "slb:DescribeLoadBalancers",
    ] {
        assert!(out.lines().any(|l| l.trim_start().starts_with("OK") && l.contains(action)), "{action} not OK:\n{out}");
    }
    assert!(out.contains("result: all"), "{out}");

    // The RAM policy lacks vpc:DescribeRouteTableList.
    let refusal = json!({"code": "Forbidden.RAM", "status": 403,
        "message": "User not authorized to operate on the specified resource, or this API does not support RAM."});
    fake_post(&stack, "faults", &json!({"errors": {"DescribeRouteTableList": refusal}})).await;
    let run = stack.run_binary("ccm", "cloud-controller-manager", args(), None).unwrap();
    let (code, out) = exit_of(run, Duration::from_secs(60)).await;
    assert_ne!(code, 0, "check passed although the cloud refused an action:\n{out}");
    let line = out
        .lines()
        .find(|l| l.contains("vpc:DescribeRouteTableList"))
        .unwrap_or_else(|| panic!("no line for the refused action:\n{out}"));
    assert!(line.trim_start().starts_with("FAIL"), "{line}");
    assert!(line.contains("missing RAM permission `vpc:DescribeRouteTableList`"), "{line}");
    assert!(out.lines().any(|l| l.trim_start().starts_with("OK") && l.contains("ecs:DescribeInstances")), "{out}");
}

// ----- plan -----

#[tokio::test]
async fn plan_prints_what_would_change_and_writes_nothing() {
    let stack = Stack::start(StackOptions::new("plan")).await.unwrap();
    let instance = stack.fake_instances().await.unwrap().remove(0);
    stack.register_node(&KubeletNode::new("plan-1", &instance.private_ip).pod_cidrs(["172.16.1.0/24"])).await.unwrap();
    stack.create_service(&load_balancer_service("default", "plan-web", 80, 8080)).await.unwrap();
    stack
        .create_endpoint_slice(&endpoint_slice("default", "plan-web", 8080, &[("172.16.1.5", "plan-1")]))
        .await
        .unwrap();
    fake_post(&stack, "reset-calls", &json!({})).await;

    let config = write_cloud_config(&stack, "cloud-config.json");
    let args =
        ["plan".to_owned(), format!("--cloud-config={}", config.display()), format!("--cluster-cidr={CLUSTER_CIDR}")];
    let run = stack.run_binary("ccm", "cloud-controller-manager", args, Some(&Identity::Ccm)).unwrap();
    let (code, out) = exit_of(run, Duration::from_secs(60)).await;
    assert_eq!(code, 0, "plan failed:\n{out}");
    for expected in [
        "node controller: 1 change(s)",
        &format!("plan-1: update: set providerID {SEED_REGION}.{}", instance.instance_id),
        "remove taint node.cloudprovider.kubernetes.io/uninitialized",
        "service controller: 1 change(s)",
        "default/plan-web: new load balancer",
        "create load balancer",
        "create listener tcp/80",
    ] {
        assert!(out.contains(expected), "plan lacks `{expected}`:\n{out}");
    }

    // It read the cloud, and wrote nothing there or in Kubernetes.
    let calls = stack.fake_admin_get("calls").await.unwrap();
    let actions: Vec<&String> = calls["byAction"].as_object().unwrap().keys().collect();
    assert!(!actions.is_empty(), "plan read nothing from the cloud");
    let writes: Vec<_> = actions.iter().filter(|a| !is_read_only_action(a)).collect();
    assert!(writes.is_empty(), "plan made write calls: {writes:?}");
    let state = stack.fake_state().await.unwrap();
    assert!(state["slb"]["load_balancers"].as_object().unwrap().is_empty(), "a load balancer appeared");
    let node = Api::<Node>::all(stack.admin().await.unwrap()).get("plan-1").await.unwrap();
    assert!(!initialized(&node) && node.spec.unwrap().provider_id.is_none(), "plan changed the node");
    let svc = Api::<Service>::namespaced(stack.admin().await.unwrap(), "default").get("plan-web").await.unwrap();
    assert!(svc.metadata.finalizers.unwrap_or_default().is_empty(), "plan added a finalizer");
}

// ----- provider-id-initor -----

/// The user name of the initor's ServiceAccount (`manifests/provider-id-initor/*/rbac.yaml`).
const INITOR_USER: &str = "system:serviceaccount:kube-system:provider-id-initor";

/// Runs `provider-id-initor` as its DaemonSet does: `NODE_NAME` from the downward API, the metadata server (here
/// aliyun-fake's), a kubeconfig for `identity`.
async fn run_initor(stack: &Stack, node: &str, identity: &Identity) -> (i32, String) {
    let program = e2e::bins::workspace_binary("provider-id-initor", "provider-id-initor").unwrap();
    let name = format!("provider-id-initor-{node}-{}", identity.label());
    let mut spec = ProcessSpec::new(name, program)
        .env("NODE_NAME", node)
        .env("KUBECONFIG", stack.kubeconfig(identity).unwrap())
        .env("RUST_LOG", "info");
    for (k, v) in stack.fake_env().unwrap() {
        spec = spec.env(k, v);
    }
    let p = ManagedProcess::spawn(&spec, stack.dir(), Lifetime::Supervised).unwrap();
    exit_of(p, Duration::from_secs(120)).await
}

#[tokio::test]
async fn provider_id_initor_sets_the_provider_id_under_its_own_rbac() {
    let rbac = workspace_root().join("manifests/provider-id-initor/daemonset/rbac.yaml");
    let stack = Stack::start(StackOptions::new("initor").user(INITOR_USER).manifests(vec![rbac])).await.unwrap();
    let initor = Identity::User(INITOR_USER.to_owned());
    // The fake's metadata server describes its first instance.
    let instance = stack.fake_instances().await.unwrap().remove(0);
    let expected = format!("{SEED_REGION}.{}", instance.instance_id);
    let nodes: Api<Node> = Api::all(stack.admin().await.unwrap());
    let provider_id = |n: Node| n.spec.and_then(|s| s.provider_id);

    stack.register_node(&KubeletNode::new("initor-1", &instance.private_ip)).await.unwrap();
    let (code, out) = run_initor(&stack, "initor-1", &initor).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("provider ID set to {expected}")), "{out}");
    assert_eq!(provider_id(nodes.get("initor-1").await.unwrap()), Some(expected.clone()));

    // Again: already right, still success.
    let (code, out) = run_initor(&stack, "initor-1", &initor).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("provider ID already {expected}")), "{out}");

    // A node that already has another instance's ID: exit status 3 (docs/quick-start.md), nothing changed.
    let other = format!("{SEED_REGION}.i-someotherinstance");
    stack.register_node(&KubeletNode::new("initor-2", "192.168.0.99").provider_id(&other)).await.unwrap();
    let (code, out) = run_initor(&stack, "initor-2", &initor).await;
    assert_eq!(code, 3, "{out}");
    assert!(out.contains(&format!("already has provider ID `{other}`")) && out.contains(&expected), "{out}");
    assert_eq!(provider_id(nodes.get("initor-2").await.unwrap()), Some(other));

    // Without the RBAC: exit status 5 (the Kubernetes API refused), nothing changed.
    stack.register_node(&KubeletNode::new("initor-3", "192.168.0.98")).await.unwrap();
    let (code, out) = run_initor(&stack, "initor-3", &Identity::Nobody).await;
    assert_eq!(code, 5, "{out}");
    assert!(out.to_lowercase().contains("forbidden"), "{out}");
    assert_eq!(provider_id(nodes.get("initor-3").await.unwrap()), None);
}

// ----- manifests -----

/// OpenKruise's BroadcastJob, reduced to what the apiserver needs to accept one: no schema beyond "an object".
/// The dry run then checks the document's shape, names and namespace, not OpenKruise's own fields.
const BROADCASTJOB_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: broadcastjobs.apps.kruise.io}
spec:
  group: apps.kruise.io
  scope: Namespaced
  names: {kind: BroadcastJob, listKind: BroadcastJobList, plural: broadcastjobs, singular: broadcastjob}
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

/// Every directory under `dir` holding a `kustomization.yaml`.
fn kustomizations(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("kustomization.yaml").is_file() {
        out.push(dir.to_path_buf());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries.into_iter().filter(|p| p.is_dir()) {
        kustomizations(&p, out);
    }
}

fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// Sets `image` of every container (and init container) named by a kustomize `images` entry.
fn set_images(v: &mut Value, images: &[Value]) {
    match v {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if (key == "containers" || key == "initContainers")
                    && let Some(list) = child.as_array_mut()
                {
                    for c in list {
                        let Some(current) = c["image"].as_str().map(str::to_owned) else { continue };
                        let base = current.split(':').next().unwrap_or_default().to_owned();
                        if let Some(img) = images.iter().find(|i| i["name"] == base.as_str()) {
                            let name = img["newName"].as_str().unwrap_or(&base);
                            c["image"] = match img["newTag"].as_str() {
                                Some(tag) => format!("{name}:{tag}").into(),
                                None => name.into(),
                            };
                        }
                    }
                } else {
                    set_images(child, images);
                }
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|c| set_images(c, images)),
        _ => {}
    }
}

/// Renders a kustomization as `kubectl kustomize` would, for the features the project's kustomizations use
/// (`resources`: files and directories, `images`). Any other feature fails the test, so that it is not silently
/// left out of the check.
fn render(dir: &Path) -> Vec<Value> {
    let file = dir.join("kustomization.yaml");
    let k = yaml_documents(&file).remove(0);
    for key in k.as_object().unwrap().keys() {
        assert!(
            ["apiVersion", "kind", "resources", "images"].contains(&key.as_str()),
            "{}: `{key}` is not rendered by this test; teach render() about it",
            file.display()
        );
    }
    let mut objects = Vec::new();
    for r in k["resources"].as_array().unwrap() {
        let path = dir.join(r.as_str().unwrap());
        if path.is_dir() { objects.extend(render(&path)) } else { objects.extend(yaml_documents(&path)) }
    }
    if let Some(images) = k["images"].as_array() {
        objects.iter_mut().for_each(|o| set_images(o, images));
    }
    objects
}

/// `kubectl apply --server-side --dry-run=server --validate=strict` of one object, as admin.
async fn dry_run_apply(client: &kube::Client, value: Value) -> Result<DynamicObject, String> {
    let obj: DynamicObject = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let gvk = GroupVersionKind::try_from(obj.types.as_ref().ok_or("no apiVersion/kind")?).map_err(|e| e.to_string())?;
    let name = obj.metadata.name.clone().ok_or("no metadata.name")?;
    let (resource, caps) = kube::discovery::pinned_kind(client, &gvk).await.map_err(|e| format!("discovery: {e}"))?;
    let api: Api<DynamicObject> = if caps.scope == Scope::Namespaced {
        let ns = obj.metadata.namespace.clone().ok_or("a namespaced object without metadata.namespace")?;
        Api::namespaced_with(client.clone(), &ns, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    };
    let params = PatchParams::apply("e2e-dry-run").force().dry_run().validation_strict();
    api.patch(&name, &params, &Patch::Apply(&obj)).await.map_err(|e| e.to_string())
}

#[tokio::test]
async fn every_kustomization_is_accepted_by_the_apiserver_in_a_server_side_dry_run() {
    let stack = Stack::shared().await.unwrap();
    let _dump = stack.guard();
    let admin = stack.admin().await.unwrap();
    stack.apply_yaml(BROADCASTJOB_CRD).await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    stack
        .wait_for("the BroadcastJob CRD to be established", Duration::from_secs(30), || async {
            let crd = crds.get("broadcastjobs.apps.kruise.io").await.context("get CRD")?;
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            Ok(established.then_some(()))
        })
        .await
        .unwrap();

    let mut dirs = Vec::new();
    kustomizations(&workspace_root().join("manifests"), &mut dirs);
    assert!(dirs.len() >= 8, "kustomizations found: {dirs:?}");
    let mut kinds = BTreeSet::new();
    for dir in &dirs {
        let objects = render(dir);
        assert!(!objects.is_empty(), "{} renders nothing", dir.display());
        for obj in objects {
            let what =
                format!("{} {}", obj["kind"].as_str().unwrap_or("?"), obj["metadata"]["name"].as_str().unwrap_or("?"));
            // Discovery may lag a just-established CRD by a moment.
            let mut attempt = 0;
            let applied = loop {
                attempt += 1;
                match dry_run_apply(&admin, obj.clone()).await {
                    Err(e) if attempt < 20 && e.contains("discovery") => {
                        tokio::time::sleep(Duration::from_millis(500)).await
                    }
                    other => break other,
                }
            };
            let applied = applied.unwrap_or_else(|e| panic!("{}: {what} refused: {e}", dir.display()));
            kinds.insert(applied.types.map(|t| t.kind).unwrap_or_default());
        }
    }
    for kind in
        ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "DaemonSet", "Deployment"]
    {
        assert!(kinds.contains(kind), "no {kind} among the manifests: {kinds:?}");
    }
    for kind in ["ConfigMap", "Secret", "BroadcastJob"] {
        assert!(kinds.contains(kind), "no {kind} among the manifests: {kinds:?}");
    }
    // A dry run persists nothing.
    let daemonsets: Api<DaemonSet> = Api::namespaced(admin, "kube-system");
    assert!(daemonsets.get_opt("cloud-controller-manager").await.unwrap().is_none(), "the dry run created a DaemonSet");
}

#[test]
fn kustomize_images_are_rendered_like_kustomize() {
    let mut ds = json!({"spec": {"template": {"spec": {
        "initContainers": [{"name": "i", "image": "provider-id-initor"}],
        "containers": [{"name": "c", "image": "cloud-controller-manager"}, {"name": "p", "image": "registry.k8s.io/pause:3.10"}]
    }}}});
    let images = vec![
        json!({"name": "cloud-controller-manager", "newName": "r.example/ccm", "newTag": "1.2"}),
        json!({"name": "provider-id-initor", "newName": "r.example/initor"}),
    ];
    set_images(&mut ds, &images);
    let spec = &ds["spec"]["template"]["spec"];
    assert_eq!(spec["containers"][0]["image"], "r.example/ccm:1.2");
    assert_eq!(spec["containers"][1]["image"], "registry.k8s.io/pause:3.10");
    assert_eq!(spec["initContainers"][0]["image"], "r.example/initor");
}

// ----- the demo -----

#[tokio::test]
async fn the_demo_converges_and_narrates_it() {
    let mut out = Vec::new();
    let opts = DemoOptions { once: true, timeout: Duration::from_secs(90), color: false };
    let result = e2e::demo::run(&opts, &mut out, std::future::pending()).await;
    let text = String::from_utf8_lossy(&out);
    let summary = result.unwrap_or_else(|e| panic!("the demo failed: {e:#}\n{text}"));
    for expected in [
        "holds the leader Lease kube-system/ccm",
        "node-1 initialized",
        "node-3 initialized",
        "172.16.2.0/24 -> node-2 Available",
        "listener TCP:80",
        &format!("status.loadBalancer.ingress = {}", summary.ingress_ip),
        "converged",
    ] {
        assert!(text.contains(expected), "the narration lacks `{expected}`:\n{text}");
    }
    assert!(summary.calls.1 > 0 && summary.calls.0 > summary.calls.1, "{summary:?}");
}
