//! The node controller in the `cloud-controller-manager` binary, against a real apiserver and aliyun-fake (issue 5):
//! initialization by provider ID, by IP and with a late provider ID, hybrid nodes left alone, deletion after the
//! instance is deleted, the shutdown taint after the instance is stopped, and batched cloud lookups.
//!
//! Every test uses its own nodes and its own instances (added through the fake's admin API), so they share one
//! stack and one CCM.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use e2e::ccm::{SEED_REGION, SEED_VPC};
use e2e::{CcmOptions, Context as _, KubeletNode, RunningCcm, Stack, StackOptions, UNINITIALIZED_TAINT};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);
const SHUTDOWN_TAINT: &str = "node.cloudprovider.kubernetes.io/shutdown";
/// The lifecycle period the shared CCM runs with (`--node-monitor-period`).
const MONITOR_PERIOD: Duration = Duration::from_secs(1);

const VSW_H: &str = "vsw-bp1fakevswh000000001";
const VSW_I: &str = "vsw-bp1fakevswi000000001";
const NODEPOOL_TAG: &str = "ack.alibabacloud.com/nodepool-id";

struct Shared {
    stack: Stack,
    _ccm: RunningCcm,
}

static SHARED: tokio::sync::OnceCell<Shared> = tokio::sync::OnceCell::const_new();

/// The stack and the CCM (node controller only) every test of this file uses.
async fn shared() -> &'static Stack {
    let shared = SHARED
        .get_or_init(|| async {
            let mut options = StackOptions::new("node");
            options.remove_dir_at_exit = true;
            let stack = Stack::start(options).await.unwrap();
            let ccm = stack
                .start_ccm(&CcmOptions::new("node").args([
                    format!("--node-monitor-period={}s", MONITOR_PERIOD.as_secs()),
                    "--node-status-update-frequency=5m".to_owned(),
                ]))
                .unwrap();
            Shared { stack, _ccm: ccm }
        })
        .await;
    &shared.stack
}

/// An instance added to the fake for one test, with what the fake allocated for it.
#[derive(Debug, Clone)]
struct Instance {
    id: String,
    private_ip: String,
    public_ip: Option<String>,
    eip: Option<String>,
    charge_type: String,
}

impl Instance {
    fn provider_id(&self) -> String {
        format!("{SEED_REGION}.{}", self.id)
    }
}

/// Adds an instance (`seed`: a seed instance of the fake) and reads back its addresses.
async fn add_instance(stack: &Stack, seed: Value) -> Instance {
    let id = stack.add_fake_instance(&seed).await.unwrap();
    let state = stack.fake_state().await.unwrap();
    let i = &state["instances"][&id];
    let eip =
        i["eip_allocation_id"].as_str().map(|alloc| state["eips"][alloc]["ip_address"].as_str().unwrap().to_owned());
    Instance {
        id,
        private_ip: i["private_ip"].as_str().unwrap().to_owned(),
        public_ip: i["public_ip"].as_str().map(str::to_owned),
        eip,
        charge_type: i["instance_charge_type"].as_str().unwrap().to_owned(),
    }
}

async fn nodes(stack: &Stack) -> Api<Node> {
    Api::all(stack.admin().await.unwrap())
}

fn taint_keys(node: &Node) -> Vec<String> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|t| t.iter().map(|t| t.key.clone()).collect())
        .unwrap_or_default()
}

fn labels(node: &Node) -> BTreeMap<String, String> {
    node.metadata.labels.clone().unwrap_or_default()
}

fn provider_id(node: &Node) -> Option<String> {
    node.spec.as_ref().and_then(|s| s.provider_id.clone())
}

fn addresses(node: &Node) -> Vec<(String, String)> {
    node.status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .map(|a| a.iter().map(|a| (a.type_.clone(), a.address.clone())).collect())
        .unwrap_or_default()
}

fn condition(node: &Node, type_: &str) -> Option<(String, Option<String>)> {
    let conditions = node.status.as_ref()?.conditions.as_ref()?;
    conditions.iter().find(|c| c.type_ == type_).map(|c| (c.status.clone(), c.reason.clone()))
}

/// Waits until `name` has lost the uninitialized taint.
async fn wait_initialized(stack: &Stack, name: &str) -> Node {
    let api = nodes(stack).await;
    stack
        .wait_for(&format!("{name} to lose the uninitialized taint"), TIMEOUT, || async {
            let node = api.get(name).await.context(format!("get node {name}"))?;
            Ok((!taint_keys(&node).iter().any(|k| k == UNINITIALIZED_TAINT)).then_some(node))
        })
        .await
        .unwrap()
}

/// The labels issue 5 promises for an instance of `instance_type` in `zone`.
fn assert_cloud_labels(node: &Node, instance: &Instance, instance_type: &str, zone: &str, nodepool: Option<&str>) {
    let labels = labels(node);
    let expected = [
        ("node.kubernetes.io/instance-type", instance_type),
        ("beta.kubernetes.io/instance-type", instance_type),
        ("topology.kubernetes.io/zone", zone),
        ("failure-domain.beta.kubernetes.io/zone", zone),
        ("topology.kubernetes.io/region", SEED_REGION),
        ("failure-domain.beta.kubernetes.io/region", SEED_REGION),
        ("node.alibabacloud.com/instance-charge-type", instance.charge_type.as_str()),
    ];
    for (key, value) in expected {
        assert_eq!(labels.get(key).map(String::as_str), Some(value), "label {key} of {labels:?}");
    }
    assert_eq!(labels.get("node.alibabacloud.com/nodepool-id").map(String::as_str), nodepool, "{labels:?}");
    // The kubelet's labels stay.
    let name = node.metadata.name.as_deref().unwrap();
    assert_eq!(labels.get("kubernetes.io/hostname").map(String::as_str), Some(name));
    assert_eq!(labels.get("kubernetes.io/os").map(String::as_str), Some("linux"));
}

/// Events about node `name` (any reporter), as `(type, reason, note)`.
async fn node_events(stack: &Stack, name: &str) -> Vec<(String, String, String)> {
    let api: Api<Event> = Api::all(stack.admin().await.unwrap());
    let list = api.list(&ListParams::default()).await.unwrap();
    list.items
        .into_iter()
        .filter(|e| {
            e.regarding.as_ref().is_some_and(|r| r.kind.as_deref() == Some("Node") && r.name.as_deref() == Some(name))
        })
        .map(|e| (e.type_.unwrap_or_default(), e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn initializes_nodes_registered_with_a_provider_id() {
    let stack = shared().await;
    let _guard = stack.guard();
    let with_ips = add_instance(
        stack,
        json!({"id": "i-bp1e2einitpid00001", "hostname": "init-pid-1", "vswitch": VSW_I, "type": "ecs.g8i.xlarge",
               "private_ip": "192.168.1.201", "public_ip": true, "eip": true, "tags": {NODEPOOL_TAG: "np-e2e-init"}}),
    )
    .await;
    let plain = add_instance(
        stack,
        json!({"id": "i-bp1e2einitpid00002", "hostname": "init-pid-2", "vswitch": VSW_H, "type": "ecs.c7.large",
               "private_ip": "192.168.0.202"}),
    )
    .await;
    assert!(with_ips.public_ip.is_some() && with_ips.eip.is_some(), "{with_ips:?}");

    // The provider ID as the kubelet's --provider-id gives it, and with the `alicloud://` prefix.
    stack
        .register_node(&KubeletNode::new("init-pid-1", &with_ips.private_ip).provider_id(with_ips.provider_id()))
        .await
        .unwrap();
    stack
        .register_node(
            &KubeletNode::new("init-pid-2", &plain.private_ip)
                .provider_id(format!("alicloud://{}", plain.provider_id())),
        )
        .await
        .unwrap();

    let node = wait_initialized(stack, "init-pid-1").await;
    assert_cloud_labels(&node, &with_ips, "ecs.g8i.xlarge", "cn-hangzhou-i", Some("np-e2e-init"));
    assert_eq!(provider_id(&node), Some(with_ips.provider_id()), "a provider ID that was set stays as it was");
    let addrs = addresses(&node);
    assert_eq!(addrs.first(), Some(&("InternalIP".to_owned(), "192.168.1.201".to_owned())), "node IP first: {addrs:?}");
    let expected: BTreeSet<(String, String)> = [
        ("InternalIP", "192.168.1.201"),
        ("ExternalIP", with_ips.public_ip.as_deref().unwrap()),
        ("ExternalIP", with_ips.eip.as_deref().unwrap()),
        ("Hostname", "init-pid-1"),
    ]
    .into_iter()
    .map(|(t, a)| (t.to_owned(), a.to_owned()))
    .collect();
    assert_eq!(addrs.iter().cloned().collect::<BTreeSet<_>>(), expected, "{addrs:?}");
    assert_eq!(addrs.len(), expected.len(), "no duplicates: {addrs:?}");
    // The kubelet's conditions are not clobbered.
    assert_eq!(condition(&node, "Ready"), Some(("True".to_owned(), Some("KubeletReady".to_owned()))));
    assert_eq!(condition(&node, "MemoryPressure").map(|c| c.0), Some("False".to_owned()));

    let node = wait_initialized(stack, "init-pid-2").await;
    assert_cloud_labels(&node, &plain, "ecs.c7.large", "cn-hangzhou-h", None);
    let addrs: BTreeSet<(String, String)> = addresses(&node).into_iter().collect();
    let expected: BTreeSet<(String, String)> =
        [("InternalIP", "192.168.0.202"), ("Hostname", "init-pid-2")].map(|(t, a)| (t.to_owned(), a.to_owned())).into();
    assert_eq!(addrs, expected, "no public address, no ExternalIP");

    let events = node_events(stack, "init-pid-1").await;
    assert!(events.iter().any(|(t, r, _)| t == "Normal" && r == "Synced"), "{events:?}");
}

#[tokio::test]
async fn initializes_a_node_without_provider_id_by_its_private_ip() {
    let stack = shared().await;
    let _guard = stack.guard();
    let instance = add_instance(
        stack,
        json!({"id": "i-bp1e2ebyip00000001", "hostname": "by-ip-1", "vswitch": VSW_I, "type": "ecs.g7.2xlarge",
               "private_ip": "192.168.1.211", "tags": {NODEPOOL_TAG: "np-e2e-byip"}}),
    )
    .await;
    stack.register_node(&KubeletNode::new("by-ip-1", "192.168.1.211")).await.unwrap();

    let node = wait_initialized(stack, "by-ip-1").await;
    assert_eq!(provider_id(&node).as_deref(), Some("cn-hangzhou.i-bp1e2ebyip00000001"));
    assert_cloud_labels(&node, &instance, "ecs.g7.2xlarge", "cn-hangzhou-i", Some("np-e2e-byip"));
    let addrs: BTreeSet<(String, String)> = addresses(&node).into_iter().collect();
    let expected: BTreeSet<(String, String)> =
        [("InternalIP", "192.168.1.211"), ("Hostname", "by-ip-1")].map(|(t, a)| (t.to_owned(), a.to_owned())).into();
    assert_eq!(addrs, expected);
}

#[tokio::test]
async fn initializes_a_node_within_seconds_of_getting_its_provider_id_late() {
    let stack = shared().await;
    let _guard = stack.guard();
    let instance = add_instance(
        stack,
        json!({"id": "i-bp1e2elate00000001", "hostname": "late-1", "vswitch": VSW_H, "type": "ecs.g7.large",
               "private_ip": "192.168.0.221"}),
    )
    .await;
    // The kubelet reports an address the VPC does not know (so the lookup by IP finds nothing) and no provider ID.
    stack.register_node(&KubeletNode::new("late-1", "10.77.0.21")).await.unwrap();
    // The CCM looked at it and explained why it keeps its taint.
    let note = stack
        .wait_for("an AddNodeFailed warning on late-1", TIMEOUT, || async {
            let events = node_events(stack, "late-1").await;
            Ok(events.into_iter().find(|(t, r, _)| t == "Warning" && r == "AddNodeFailed").map(|e| e.2))
        })
        .await
        .unwrap();
    assert!(note.contains("10.77.0.21") && note.contains(SEED_VPC), "{note}");
    let api = nodes(stack).await;
    let node = api.get("late-1").await.unwrap();
    assert!(taint_keys(&node).iter().any(|k| k == UNINITIALIZED_TAINT), "still tainted: {node:?}");
    assert_eq!(provider_id(&node), None);
    assert!(!labels(&node).contains_key("topology.kubernetes.io/zone"));

    // Let the CCM's retry backoff grow (1 s, 2 s, 4 s, 8 s...), as it would for a node waiting minutes for its
    // provider ID: the next retry is then about 7 s away, so only reacting to the change initializes it sooner.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let patched = Instant::now();
    api.patch(
        "late-1",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"providerID": instance.provider_id()}})),
    )
    .await
    .unwrap();
    let node = wait_initialized(stack, "late-1").await;
    let took = patched.elapsed();
    assert!(took < Duration::from_secs(5), "initialized {took:?} after the provider ID was set");
    assert_cloud_labels(&node, &instance, "ecs.g7.large", "cn-hangzhou-h", None);
    let addrs: BTreeSet<(String, String)> = addresses(&node).into_iter().collect();
    assert!(addrs.contains(&("InternalIP".to_owned(), "192.168.0.221".to_owned())), "{addrs:?}");
}

#[tokio::test]
async fn hybrid_and_excluded_nodes_are_never_modified() {
    let stack = shared().await;
    let _guard = stack.guard();
    // An ECS instance that an excluded node claims: the CCM could initialize it, but must not.
    let excluded_instance = add_instance(
        stack,
        json!({"id": "i-bp1e2ehybrid000001", "hostname": "hybrid-excluded", "vswitch": VSW_H,
               "private_ip": "192.168.0.231"}),
    )
    .await;
    let control_instance = add_instance(
        stack,
        json!({"id": "i-bp1e2ehybrid000002", "hostname": "hybrid-control", "vswitch": VSW_H,
               "private_ip": "192.168.0.232"}),
    )
    .await;
    let hybrid = [
        KubeletNode::new("hybrid-idc", "10.80.0.1").provider_id("ack-hybrid://idc-rack-1.host-1"),
        // No provider ID, and no instance of the VPC has its IP.
        KubeletNode::new("hybrid-no-id", "10.80.0.2"),
        KubeletNode::new("hybrid-vk", "10.80.0.3").provider_id("cn-hangzhou.vk-e2e-1").label("type", "virtual-kubelet"),
        KubeletNode::new("hybrid-excluded", &excluded_instance.private_ip)
            .provider_id(excluded_instance.provider_id())
            .label("service.alibabacloud.com/exclude-node", "true"),
        KubeletNode::new("hybrid-legacy-excluded", "10.80.0.5")
            .provider_id("cn-hangzhou.i-bp1e2enotthere00001")
            .label("service.beta.kubernetes.io/exclude-node", "true"),
    ];
    for node in &hybrid {
        stack.register_node(node).await.unwrap();
    }
    // Not Ready, with no ECS instance behind them: an ECS node would be deleted.
    for name in ["hybrid-idc", "hybrid-vk", "hybrid-legacy-excluded"] {
        stack.set_node_ready(name, false).await.unwrap();
    }
    let api = nodes(stack).await;
    let mut before = BTreeMap::new();
    for node in &hybrid {
        before.insert(node.name.clone(), api.get(&node.name).await.unwrap());
    }

    // A node registered after them is initialized: the CCM has seen them all.
    stack
        .register_node(
            &KubeletNode::new("hybrid-control", &control_instance.private_ip)
                .provider_id(control_instance.provider_id()),
        )
        .await
        .unwrap();
    wait_initialized(stack, "hybrid-control").await;
    // Give the lifecycle check several rounds.
    tokio::time::sleep(MONITOR_PERIOD * 5).await;

    for (name, old) in &before {
        let now = api.get(name).await.unwrap();
        assert_eq!(
            now.metadata.resource_version, old.metadata.resource_version,
            "{name} was modified:\nbefore: {old:?}\nafter: {now:?}"
        );
        assert!(taint_keys(&now).iter().any(|k| k == UNINITIALIZED_TAINT), "{name} keeps its taint");
        assert!(!labels(&now).contains_key("topology.kubernetes.io/region"), "{name}");
    }
}

#[tokio::test]
async fn a_node_is_deleted_only_once_its_instance_is_gone_and_it_is_not_ready() {
    let stack = shared().await;
    let _guard = stack.guard();
    let doomed = add_instance(
        stack,
        json!({"id": "i-bp1e2edelete000001", "hostname": "delete-1", "vswitch": VSW_I, "private_ip": "192.168.1.241"}),
    )
    .await;
    let alive = add_instance(
        stack,
        json!({"id": "i-bp1e2edelete000002", "hostname": "delete-2", "vswitch": VSW_I, "private_ip": "192.168.1.242"}),
    )
    .await;
    stack
        .register_node(&KubeletNode::new("delete-1", &doomed.private_ip).provider_id(doomed.provider_id()))
        .await
        .unwrap();
    stack
        .register_node(&KubeletNode::new("delete-2", &alive.private_ip).provider_id(alive.provider_id()))
        .await
        .unwrap();
    wait_initialized(stack, "delete-1").await;
    wait_initialized(stack, "delete-2").await;

    // A NotReady node whose instance exists stays; a Ready node whose instance is gone stays.
    stack.set_node_ready("delete-2", false).await.unwrap();
    stack.delete_fake_instance(&doomed.id).await.unwrap();
    tokio::time::sleep(MONITOR_PERIOD * 5).await;
    let api = nodes(stack).await;
    let kept = api.get("delete-1").await.unwrap();
    assert_eq!(condition(&kept, "Ready").map(|c| c.0), Some("True".to_owned()));
    let not_ready = api.get("delete-2").await.unwrap();
    assert!(!taint_keys(&not_ready).iter().any(|k| k == SHUTDOWN_TAINT), "its instance runs: {not_ready:?}");

    // Once it is not Ready too, it goes.
    stack.set_node_ready("delete-1", false).await.unwrap();
    let marked = Instant::now();
    stack
        .wait_for("delete-1 to be deleted", TIMEOUT, || async {
            Ok(api.get_opt("delete-1").await.context("get delete-1")?.is_none().then_some(()))
        })
        .await
        .unwrap();
    let took = marked.elapsed();
    assert!(api.get_opt("delete-2").await.unwrap().is_some(), "the node whose instance exists is kept");
    eprintln!("delete-1 deleted {took:?} after it became NotReady");
    let events = node_events(stack, "delete-1").await;
    assert!(events.iter().any(|(t, r, n)| t == "Normal" && r == "DeletedNode" && n.contains(&doomed.id)), "{events:?}");
    // Leave the survivor Ready, so the lifecycle check stops asking about it.
    stack.set_node_ready("delete-2", true).await.unwrap();
}

#[tokio::test]
async fn a_stopped_instance_gets_the_shutdown_taint_until_it_is_ready_again() {
    let stack = shared().await;
    let _guard = stack.guard();
    let instance = add_instance(
        stack,
        json!({"id": "i-bp1e2eshutdown0001", "hostname": "shutdown-1", "vswitch": VSW_H, "private_ip": "192.168.0.251"}),
    )
    .await;
    stack
        .register_node(&KubeletNode::new("shutdown-1", &instance.private_ip).provider_id(instance.provider_id()))
        .await
        .unwrap();
    wait_initialized(stack, "shutdown-1").await;
    let api = nodes(stack).await;
    // Other taints must survive the CCM's taint changes.
    api.patch(
        "shutdown-1",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"spec": {"taints": [{"key": "example.com/dedicated", "value": "e2e", "effect": "NoSchedule"}]}}),
        ),
    )
    .await
    .unwrap();

    stack.stop_fake_instance(&instance.id).await.unwrap();
    // Still Ready (the kubelet has not noticed yet): no taint.
    tokio::time::sleep(MONITOR_PERIOD * 4).await;
    assert!(!taint_keys(&api.get("shutdown-1").await.unwrap()).iter().any(|k| k == SHUTDOWN_TAINT));

    stack.set_node_ready("shutdown-1", false).await.unwrap();
    let node = stack
        .wait_for("shutdown-1 to get the shutdown taint", TIMEOUT, || async {
            let node = api.get("shutdown-1").await.context("get shutdown-1")?;
            Ok(taint_keys(&node).iter().any(|k| k == SHUTDOWN_TAINT).then_some(node))
        })
        .await
        .unwrap();
    let taints = node.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
    let shutdown = taints.iter().find(|t| t.key == SHUTDOWN_TAINT).unwrap();
    assert_eq!(shutdown.effect, "NoSchedule");
    assert!(taints.iter().any(|t| t.key == "example.com/dedicated"), "{taints:?}");
    // A stopped instance's node is not deleted.
    tokio::time::sleep(MONITOR_PERIOD * 3).await;
    assert!(api.get_opt("shutdown-1").await.unwrap().is_some());

    stack.start_fake_instance(&instance.id).await.unwrap();
    stack.set_node_ready("shutdown-1", true).await.unwrap();
    let node = stack
        .wait_for("shutdown-1 to lose the shutdown taint", TIMEOUT, || async {
            let node = api.get("shutdown-1").await.context("get shutdown-1")?;
            Ok((!taint_keys(&node).iter().any(|k| k == SHUTDOWN_TAINT)).then_some(node))
        })
        .await
        .unwrap();
    assert_eq!(taint_keys(&node), vec!["example.com/dedicated".to_owned()]);
}

/// The instance IDs a `DescribeInstances` call of the call log asked for (its `InstanceIds` parameter).
fn requested_ids(call: &Value) -> Vec<String> {
    let raw = call["params"]["InstanceIds"].as_str().unwrap_or_default();
    serde_json::from_str::<Vec<String>>(raw).unwrap_or_default()
}

#[tokio::test]
async fn a_burst_of_nodes_costs_a_few_batched_lookups() {
    let stack = shared().await;
    let _guard = stack.guard();
    const N: usize = 12;
    let mut instances = Vec::new();
    for i in 0..N {
        let seed = json!({"id": format!("i-bp1e2eburst{i:07}"), "hostname": format!("burst-{i}"), "vswitch": VSW_I,
                          "private_ip": format!("192.168.1.{}", 100 + i)});
        instances.push(add_instance(stack, seed).await);
    }
    // All at once, as when a node pool scales out.
    let mut registrations = tokio::task::JoinSet::new();
    for (i, instance) in instances.iter().enumerate() {
        let node = KubeletNode::new(format!("burst-{i}"), &instance.private_ip).provider_id(instance.provider_id());
        registrations.spawn(async move { stack.register_node(&node).await });
    }
    for result in registrations.join_all().await {
        result.unwrap();
    }
    for i in 0..N {
        wait_initialized(stack, &format!("burst-{i}")).await;
    }
    let calls = stack.fake_calls().await.unwrap();
    let ours: BTreeSet<&str> = instances.iter().map(|i| i.id.as_str()).collect();
    let lookups: Vec<Vec<String>> = calls["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "DescribeInstances")
        .map(requested_ids)
        .filter(|ids| ids.iter().any(|id| ours.contains(id.as_str())))
        .collect();
    let widest = lookups.iter().map(Vec::len).max().unwrap_or(0);
    eprintln!("{N} nodes initialized with {} DescribeInstances calls: {lookups:?}", lookups.len());
    assert!(lookups.len() <= N / 3, "{N} nodes cost {} lookups: {lookups:?}", lookups.len());
    assert!(widest >= 3, "lookups are batched: {lookups:?}");
    // Clean up: these nodes are not needed by the other tests.
    let api = nodes(stack).await;
    for i in 0..N {
        api.delete(&format!("burst-{i}"), &DeleteParams::default()).await.unwrap();
    }
}
