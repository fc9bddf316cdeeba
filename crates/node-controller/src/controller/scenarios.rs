//! The whole loop against the mock cloud and an in-process apiserver: the scenarios end to end.

use std::time::Duration;

use ccm_kube::names::{LABEL_ZONE, TAINT_SHUTDOWN, TAINT_UNINITIALIZED};
use tokio::task::JoinHandle;

use super::*;
use crate::{
    cloud::InstanceStatus,
    mock::{MockCall, MockNodeCloud, instance},
    test_support::{NodeBuilder, apiserver::FakeApiServer},
};

const REGION: &str = "cn-hangzhou";

struct Harness {
    api: FakeApiServer,
    cloud: MockNodeCloud,
    ctx: Arc<Context<MockNodeCloud>>,
    task: JoinHandle<Result<()>>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn config() -> NodeControllerConfig {
    NodeControllerConfig {
        vpc_id: Some("vpc-mock".into()),
        coalesce_window: Duration::from_millis(20),
        lifecycle_period: Duration::from_millis(50),
        refresh_period: Duration::from_secs(3600),
        retry_base_delay: Duration::from_millis(50),
        retry_max_delay: Duration::from_millis(500),
        ..NodeControllerConfig::for_region(REGION)
    }
}

fn start(nodes: Vec<Node>, cloud: MockNodeCloud, config: NodeControllerConfig) -> Harness {
    start_with(nodes, cloud, config, |_| {})
}

/// Starts with `prepare` run on the apiserver before the controller starts.
fn start_with(
    nodes: Vec<Node>,
    cloud: MockNodeCloud,
    config: NodeControllerConfig,
    prepare: impl FnOnce(&FakeApiServer),
) -> Harness {
    let (api, client, feed) = FakeApiServer::start(nodes);
    prepare(&api);
    let ctx = Arc::new(Context::new(client, cloud.clone(), config));
    let task = tokio::spawn(run(ctx.clone(), feed));
    Harness { api, cloud, ctx, task }
}

async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

fn tainted(h: &Harness, name: &str) -> bool {
    h.api.node(name).is_some_and(|n| ccm_kube::node::has_taint(&n, TAINT_UNINITIALIZED))
}

fn has(h: &Harness, name: &str, taint: &str) -> bool {
    h.api.node(name).is_some_and(|n| ccm_kube::node::has_taint(&n, taint))
}

fn event(h: &Harness, type_: &str, reason: &str, node: &str) -> bool {
    h.api.events().iter().any(|(t, r, n)| t == type_ && r == reason && n == node)
}

fn cloud_with(ids: &[(&str, &str)]) -> MockNodeCloud {
    let cloud = MockNodeCloud::new();
    for (id, ip) in ids {
        cloud.add_instance(instance(REGION, id, ip));
    }
    cloud
}

#[tokio::test]
async fn initializes_by_provider_id_with_labels_addresses_and_an_event() {
    let node =
        NodeBuilder::new("n1").provider_id("cn-hangzhou.i-1").uninitialized().taint("keep", "NoSchedule").ready("True");
    let h = start(vec![node.kubelet_addresses("10.0.0.1").build()], cloud_with(&[("i-1", "10.0.0.1")]), config());
    eventually("the taint is removed", || !tainted(&h, "n1")).await;
    let n = h.api.node("n1").unwrap();
    assert!(ccm_kube::node::has_taint(&n, "keep"), "other taints kept");
    assert_eq!(n.metadata.labels.as_ref().unwrap()[LABEL_ZONE], "cn-hangzhou-a");
    assert!(!h.cloud.source_dest_check("eni-i-1"), "turned off first");
    eventually("Synced is published", || event(&h, "Normal", "Synced", "n1")).await;
    assert_eq!(h.cloud.calls(MockCall::InstancesByIds), 1);
    assert_eq!(h.ctx.metrics.nodes_initialized.get(), 1);
}

#[tokio::test]
async fn initializes_by_private_ip_and_sets_the_provider_id() {
    let node = NodeBuilder::new("n1").uninitialized().kubelet_addresses("10.0.0.1").build();
    let h = start(vec![node], cloud_with(&[("i-1", "10.0.0.1")]), config());
    eventually("the taint is removed", || !tainted(&h, "n1")).await;
    let id = h.api.node("n1").unwrap().spec.unwrap().provider_id;
    assert_eq!(id.as_deref(), Some("cn-hangzhou.i-1"));
}

#[tokio::test]
async fn a_late_provider_id_initializes_within_a_second() {
    let slow_retries = NodeControllerConfig { vpc_id: None, retry_base_delay: Duration::from_secs(60), ..config() };
    let node = NodeBuilder::new("n1").uninitialized().kubelet_addresses("10.0.0.1").build();
    let h = start(vec![node], cloud_with(&[("i-1", "10.0.0.1")]), slow_retries);
    eventually("a warning explains the wait", || event(&h, "Warning", "AddNodeFailed", "n1")).await;
    assert!(tainted(&h, "n1"));
    let set_at = Instant::now();
    h.api.modify("n1", |n| n.spec.as_mut().unwrap().provider_id = Some("cn-hangzhou.i-1".into()));
    eventually("the taint is removed", || !tainted(&h, "n1")).await;
    assert!(set_at.elapsed() < Duration::from_secs(1), "not after the 60 s retry: {:?}", set_at.elapsed());
}

#[tokio::test]
async fn hybrid_and_virtual_nodes_are_never_written() {
    let nodes = vec![
        NodeBuilder::new("idc").provider_id("ack-hybrid://idc-1").uninitialized().ready("False").build(),
        NodeBuilder::new("vk").label("type", "virtual-kubelet").uninitialized().ready("Unknown").build(),
        NodeBuilder::new("plain").kubelet_addresses("10.9.9.9").ready("False").build(),
        NodeBuilder::new("ecs").provider_id("cn-hangzhou.i-1").uninitialized().build(),
    ];
    let h = start(nodes, cloud_with(&[("i-1", "10.0.0.1")]), config());
    eventually("the ECS node is initialized", || !tainted(&h, "ecs")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for name in ["idc", "vk", "plain"] {
        assert_eq!(h.api.writes(name), 0, "{name} written");
        assert!(!h.api.events().iter().any(|(_, _, n)| n == name), "{name} got an event");
    }
    assert_eq!(h.cloud.calls(MockCall::InstancesByPrivateIps), 0, "an untainted node without ID is not looked up");
}

#[tokio::test]
async fn a_not_ready_node_is_deleted_after_its_instance_and_a_ready_one_is_kept() {
    let node = |name: &str, id: &str, ready: &str| {
        NodeBuilder::new(name).provider_id(&format!("cn-hangzhou.{id}")).kubelet_addresses("10.0.0.1").ready(ready)
    };
    let nodes = vec![node("gone", "i-1", "True").build(), node("ready", "i-2", "True").build()];
    let h = start(nodes, cloud_with(&[("i-1", "10.0.0.1"), ("i-2", "10.0.0.2")]), config());
    tokio::time::sleep(Duration::from_millis(100)).await;
    h.cloud.remove_instance("i-1");
    h.cloud.remove_instance("i-2");
    h.api.modify("gone", |n| *n = node("gone", "i-1", "Unknown").build());
    eventually("the node is deleted", || h.api.node("gone").is_none()).await;
    eventually("DeletedNode is published", || event(&h, "Normal", "DeletedNode", "gone")).await;
    assert!(event(&h, "Normal", "DeletingNode", "gone"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(h.api.node("ready").is_some(), "a Ready node is never deleted");
    assert_eq!(h.ctx.metrics.nodes_deleted.get(), 1);
}

#[tokio::test]
async fn a_cloud_error_never_deletes() {
    let node = NodeBuilder::new("n1").provider_id("cn-hangzhou.i-1").ready("False").build();
    let cloud = MockNodeCloud::new();
    cloud.fail_always(MockCall::InstancesByIds);
    let h = start(vec![node], cloud, config());
    eventually("the lifecycle check ran a few times", || h.cloud.calls(MockCall::InstancesByIds) >= 3).await;
    assert!(h.api.node("n1").is_some());
    h.cloud.heal(MockCall::InstancesByIds);
    eventually("deleted once the cloud answers", || h.api.node("n1").is_none()).await;
}

#[tokio::test]
async fn a_stopped_instance_taints_its_node_until_it_is_ready_again() {
    let node = |ready: &str| {
        NodeBuilder::new("n1").provider_id("cn-hangzhou.i-1").kubelet_addresses("10.0.0.1").ready(ready).build()
    };
    let h = start(vec![node("True")], cloud_with(&[("i-1", "10.0.0.1")]), config());
    h.cloud.set_status("i-1", InstanceStatus::Stopped);
    h.api.modify("n1", |n| n.status = node("False").status);
    eventually("the shutdown taint is added", || has(&h, "n1", TAINT_SHUTDOWN)).await;
    h.cloud.set_status("i-1", InstanceStatus::Running);
    h.api.modify("n1", |n| n.status = node("True").status);
    eventually("the shutdown taint is removed", || !has(&h, "n1", TAINT_SHUTDOWN)).await;
}

#[tokio::test]
async fn a_thousand_joining_nodes_cost_ten_describe_instances() {
    let ids: Vec<(String, String)> =
        (0..1000).map(|n| (format!("i-{n}"), format!("10.0.{}.{}", n / 250, n % 250 + 1))).collect();
    let cloud = MockNodeCloud::new();
    for (id, ip) in &ids {
        cloud.add_instance(instance(REGION, id, ip));
    }
    let burst = NodeControllerConfig { coalesce_window: Duration::from_millis(300), ..config() };
    let h = start(vec![], cloud, burst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    for (n, (id, ip)) in ids.iter().enumerate() {
        let node = NodeBuilder::new(&format!("node-{n}")).provider_id(&format!("{REGION}.{id}")).uninitialized();
        h.api.put(node.kubelet_addresses(ip).ready("True").build());
    }
    eventually("every node is initialized", || (0..1000).all(|n| !tainted(&h, &format!("node-{n}")))).await;
    assert_eq!(h.cloud.calls(MockCall::InstancesByIds), 10);
    assert_eq!(h.cloud.calls(MockCall::DescribeNetworkInterfaces), 10);
    assert_eq!(h.ctx.metrics.nodes_initialized.get(), 1000);
}

#[tokio::test]
async fn a_conflicting_write_is_read_again_and_retried() {
    let node = NodeBuilder::new("n1").provider_id("cn-hangzhou.i-1").uninitialized().ready("True").build();
    let cloud = cloud_with(&[("i-1", "10.0.0.1")]);
    let h = start_with(vec![node], cloud, config(), |api| api.reject_next_patches(2));
    eventually("the taint is removed", || !tainted(&h, "n1")).await;
    assert_eq!(h.cloud.calls(MockCall::InstancesByIds), 1, "conflicts re-read the node, not the cloud");
}

#[tokio::test]
async fn a_cloud_outage_keeps_the_taint_then_recovers() {
    let node = NodeBuilder::new("n1").provider_id("cn-hangzhou.i-1").uninitialized().build();
    let cloud = cloud_with(&[("i-1", "10.0.0.1")]);
    cloud.fail_next(MockCall::InstancesByIds, 3);
    let h = start(vec![node], cloud, config());
    eventually("a warning is published", || event(&h, "Warning", "AddNodeFailed", "n1")).await;
    assert!(tainted(&h, "n1"));
    eventually("initialized after the outage", || !tainted(&h, "n1")).await;
}

#[tokio::test]
async fn an_ambiguous_ip_match_and_a_stuck_eni_keep_the_taint() {
    let nodes = vec![
        NodeBuilder::new("twin").uninitialized().kubelet_addresses("10.0.0.1").build(),
        NodeBuilder::new("stuck").provider_id("cn-hangzhou.i-3").uninitialized().build(),
    ];
    let cloud = cloud_with(&[("i-1", "10.0.0.1"), ("i-2", "10.0.0.1"), ("i-3", "10.0.0.3")]);
    cloud.fail_eni("eni-i-3");
    let h = start(nodes, cloud, config());
    eventually("twin is warned", || event(&h, "Warning", "AddNodeFailed", "twin")).await;
    eventually("stuck is warned", || event(&h, "Warning", "AddNodeFailed", "stuck")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(tainted(&h, "twin") && tainted(&h, "stuck"));
    assert_eq!(h.api.node("twin").unwrap().spec.unwrap().provider_id, None);
}

#[tokio::test]
async fn the_loop_sleeps_while_a_batch_runs_and_more_nodes_wait() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // A slow cloud keeps the first batch running while more nodes join; their window passes meanwhile. The loop
    // must wait for the batch to end, not spin on the passed deadline (it did: 10 s of CPU for 100 nodes).
    let ids: Vec<(String, String)> = (1..=5).map(|n| (format!("i-{n}"), format!("10.0.0.{n}"))).collect();
    let cloud = MockNodeCloud::new();
    for (id, ip) in &ids {
        cloud.add_instance(instance(REGION, id, ip));
    }
    cloud.set_latency(Duration::from_millis(200));
    let joining = |n: usize| {
        let (id, ip) = &ids[n - 1];
        let node = NodeBuilder::new(&format!("node-{n}")).provider_id(&format!("{REGION}.{id}")).uninitialized();
        node.kubelet_addresses(ip).ready("True").build()
    };
    let (api, client, feed) = FakeApiServer::start(vec![joining(1)]);
    let quiet = NodeControllerConfig { lifecycle_period: Duration::from_secs(3600), ..config() };
    let ctx = Arc::new(Context::new(client, cloud.clone(), quiet));
    let NodeFeed { store, changes } = feed;
    store.wait_until_ready().await.unwrap();
    // Every wake-up of the loop polls the change stream once: count them.
    let polls = Arc::new(AtomicUsize::new(0));
    let mut changes = Box::pin(changes);
    let counter = polls.clone();
    let counted = stream::poll_fn(move |cx| {
        counter.fetch_add(1, Ordering::Relaxed);
        changes.poll_next_unpin(cx)
    });
    let task = tokio::spawn(run_loop(ctx, store, counted));
    let h_tainted = |n: usize| api.node(&format!("node-{n}")).is_some_and(|n| has_taint(&n, TAINT_UNINITIALIZED));
    eventually("the first batch is at the cloud", || cloud.calls(MockCall::InstancesByIds) == 1).await;
    for n in 2..=5 {
        api.put(joining(n));
    }
    eventually("every node is initialized", || (1..=5).all(|n| !h_tainted(n))).await;
    task.abort();
    assert_eq!(cloud.calls(MockCall::InstancesByIds), 2, "two batches: the first node, then the four others");
    let polls = polls.load(Ordering::Relaxed);
    assert!(polls < 200, "the loop woke {polls} times for 5 nodes and a few dozen changes");
}
