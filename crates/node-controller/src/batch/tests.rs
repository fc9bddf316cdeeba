//! Batches against the mock cloud: call counts, failure isolation, the source/destination check.

use super::*;
use crate::{
    cloud::InstanceStatus,
    mock::{MockCall, MockNodeCloud, instance},
    plan::{NodeUpdate, ShutdownTaint, SkipReason},
    test_support::NodeBuilder,
};

const REGION: &str = "cn-hangzhou";

fn config(source_dest: bool) -> PlanConfig {
    PlanConfig {
        region: REGION.into(),
        vpc_id: Some("vpc-mock".into()),
        disable_source_dest_check: source_dest,
        ipv6_dual_stack: false,
    }
}

fn ip_of(n: usize) -> String {
    format!("10.0.{}.{}", n / 250, n % 250 + 1)
}

/// A cloud with `count` instances `i-0`... and their IPs.
fn cloud_with(count: usize) -> MockNodeCloud {
    let cloud = MockNodeCloud::new();
    for n in 0..count {
        cloud.add_instance(instance(REGION, &format!("i-{n}"), &ip_of(n)));
    }
    cloud
}

fn joining_by_id(n: usize) -> Arc<Node> {
    let node = NodeBuilder::new(&format!("node-{n}"))
        .provider_id(&format!("{REGION}.i-{n}"))
        .uninitialized()
        .kubelet_addresses(&ip_of(n));
    Arc::new(node.build())
}

fn joining_by_ip(n: usize) -> Arc<Node> {
    Arc::new(NodeBuilder::new(&format!("node-{n}")).uninitialized().kubelet_addresses(&ip_of(n)).build())
}

fn update_of(p: &PlannedNode) -> &NodeUpdate {
    match &p.plan {
        NodePlan::Update(u) => u,
        other => panic!("{}: expected an update, got {other}", p.name()),
    }
}

async fn plan(cloud: &MockNodeCloud, nodes: Vec<Arc<Node>>, source_dest: bool) -> Vec<PlannedNode> {
    plan_batch(cloud, nodes, &config(source_dest), &NodeMetrics::default()).await
}

#[tokio::test]
async fn a_thousand_joining_nodes_cost_ten_describe_instances() {
    let cloud = cloud_with(1000);
    let planned = plan(&cloud, (0..1000).map(joining_by_id).collect(), false).await;
    assert_eq!(cloud.calls(MockCall::InstancesByIds), 10);
    assert!(cloud.largest_call(MockCall::InstancesByIds) <= 100);
    assert!(planned.iter().all(|p| update_of(p).remove_uninitialized_taint));
}

#[tokio::test]
async fn a_thousand_nodes_found_by_ip_cost_ten_calls() {
    let cloud = cloud_with(1000);
    let planned = plan(&cloud, (0..1000).map(joining_by_ip).collect(), false).await;
    assert_eq!(cloud.calls(MockCall::InstancesByPrivateIps), 10);
    assert_eq!(cloud.calls(MockCall::InstancesByIds), 0);
    for (n, p) in planned.iter().enumerate() {
        let u = update_of(p);
        assert_eq!(u.provider_id.as_deref(), Some(format!("{REGION}.i-{n}").as_str()));
        assert!(u.remove_uninitialized_taint);
    }
}

#[tokio::test]
async fn source_dest_check_is_batched_and_done_before_untaint() {
    let cloud = cloud_with(250);
    cloud.fail_eni("eni-i-7");
    let planned = plan(&cloud, (0..250).map(joining_by_id).collect(), true).await;
    assert_eq!(cloud.calls(MockCall::DescribeNetworkInterfaces), 3);
    assert_eq!(cloud.calls(MockCall::DisableSourceDestCheck), 250);
    for (n, p) in planned.iter().enumerate() {
        let u = update_of(p);
        assert_eq!(u.source_dest_check_eni, None, "resolved within the batch");
        if n == 7 {
            assert!(!u.remove_uninitialized_taint, "a failure keeps the taint");
            assert!(u.warning.as_ref().unwrap().message.contains("eni-i-7"));
            assert!(cloud.source_dest_check("eni-i-7"));
        } else {
            assert!(u.remove_uninitialized_taint);
            assert!(!cloud.source_dest_check(&format!("eni-i-{n}")));
        }
    }
    cloud.reset_calls();
    let again = plan(&cloud, (0..3).map(joining_by_id).collect(), true).await;
    assert_eq!(cloud.calls(MockCall::DisableSourceDestCheck), 0, "already off: describe only");
    assert!(again.iter().all(|p| update_of(p).remove_uninitialized_taint));
}

#[tokio::test]
async fn a_failed_eni_describe_keeps_every_taint_of_its_chunk() {
    let cloud = cloud_with(3);
    cloud.fail_next(MockCall::DescribeNetworkInterfaces, 1);
    let planned = plan(&cloud, (0..3).map(joining_by_id).collect(), true).await;
    assert!(planned.iter().all(|p| !update_of(p).remove_uninitialized_taint && update_of(p).warning.is_some()));
}

#[tokio::test]
async fn a_cloud_error_affects_only_its_chunk_and_never_deletes() {
    let cloud = cloud_with(150);
    cloud.fail_next(MockCall::InstancesByIds, 1);
    let not_ready_gone: Vec<Arc<Node>> = (0..150)
        .map(|n| {
            Arc::new(
                NodeBuilder::new(&format!("node-{n}")).provider_id(&format!("{REGION}.i-{n}")).ready("False").build(),
            )
        })
        .collect();
    for n in 0..150 {
        cloud.remove_instance(&format!("i-{n}"));
    }
    let planned = plan(&cloud, not_ready_gone, false).await;
    let retries = planned.iter().filter(|p| matches!(p.plan, NodePlan::Retry { .. })).count();
    let deletes = planned.iter().filter(|p| matches!(p.plan, NodePlan::Delete { .. })).count();
    assert_eq!(retries + deletes, 150);
    assert!(retries == 100 || retries == 50, "one chunk failed: {retries}");
}

#[tokio::test]
async fn a_cloud_error_keeps_tainted_nodes_tainted() {
    let cloud = cloud_with(2);
    cloud.fail_always(MockCall::InstancesByIds);
    cloud.fail_always(MockCall::InstancesByPrivateIps);
    let planned = plan(&cloud, vec![joining_by_id(0), joining_by_ip(1)], true).await;
    assert!(planned.iter().all(|p| matches!(p.plan, NodePlan::Retry { .. })));
    assert_eq!(cloud.calls(MockCall::DescribeNetworkInterfaces), 0);
}

#[tokio::test]
async fn an_ambiguous_or_missing_ip_match_leaves_the_taint_with_a_warning() {
    let cloud = cloud_with(1);
    cloud.add_instance(instance(REGION, "i-twin", &ip_of(0)));
    let planned = plan(&cloud, vec![joining_by_ip(0), joining_by_ip(5)], false).await;
    for p in &planned {
        let NodePlan::Warn(w) = &p.plan else { panic!("{}", p.plan) };
        assert_eq!(w.reason, crate::events::ADD_NODE_FAILED);
    }
    let NodePlan::Warn(w) = &planned[0].plan else { unreachable!() };
    assert!(w.message.contains("i-0") && w.message.contains("i-twin"), "{}", w.message);
}

#[tokio::test]
async fn lifecycle_delete_shutdown_and_keep() {
    let cloud = cloud_with(3);
    cloud.remove_instance("i-0");
    cloud.remove_instance("i-1");
    cloud.set_status("i-2", InstanceStatus::Stopped);
    let node = |n: usize, ready: &str| {
        let b =
            NodeBuilder::new(&format!("node-{n}")).provider_id(&format!("{REGION}.i-{n}")).kubelet_addresses(&ip_of(n));
        Arc::new(b.ready(ready).build())
    };
    let planned = plan(&cloud, vec![node(0, "Unknown"), node(1, "True"), node(2, "False")], false).await;
    assert_eq!(planned[0].plan, NodePlan::Delete { instance_id: "i-0".into() });
    assert_eq!(planned[1].plan, NodePlan::Skip { reason: SkipReason::ReadyWithoutInstance });
    assert_eq!(update_of(&planned[2]).shutdown_taint, Some(ShutdownTaint::Add));
    assert_eq!(cloud.calls(MockCall::InstancesByIds), 1, "one request for the three");
}

#[tokio::test]
async fn hybrid_and_excluded_nodes_cost_no_call_and_are_skipped() {
    let cloud = cloud_with(1);
    let nodes = vec![
        Arc::new(NodeBuilder::new("idc").provider_id("ack-hybrid://idc").uninitialized().ready("False").build()),
        Arc::new(NodeBuilder::new("vk").label("type", "virtual-kubelet").uninitialized().build()),
        Arc::new(NodeBuilder::new("plain").kubelet_addresses(&ip_of(0)).ready("False").build()),
    ];
    let planned = plan(&cloud, nodes, true).await;
    assert!(planned.iter().all(|p| matches!(p.plan, NodePlan::Skip { .. })));
    for call in [MockCall::InstancesByIds, MockCall::InstancesByPrivateIps, MockCall::DescribeNetworkInterfaces] {
        assert_eq!(cloud.calls(call), 0);
    }
}

#[tokio::test]
async fn late_provider_id_initializes_on_the_next_batch() {
    let cloud = cloud_with(1);
    let no_cfg_vpc = PlanConfig { vpc_id: None, ..config(false) };
    let registered = Arc::new(NodeBuilder::new("node-0").uninitialized().kubelet_addresses(&ip_of(0)).build());
    let first = plan_batch(&cloud, vec![registered], &no_cfg_vpc, &NodeMetrics::default()).await;
    assert!(matches!(first[0].plan, NodePlan::Warn(_)), "no VPC to search: tainted, with a warning");
    let with_id = joining_by_id(0);
    let second = plan_batch(&cloud, vec![with_id], &no_cfg_vpc, &NodeMetrics::default()).await;
    assert!(update_of(&second[0]).remove_uninitialized_taint);
}

#[tokio::test]
async fn nodes_of_several_regions_are_asked_per_region() {
    let cloud = cloud_with(1);
    cloud.add_instance(instance("cn-beijing", "i-bj", "10.9.0.1"));
    let bj = Arc::new(NodeBuilder::new("bj").provider_id("cn-beijing.i-bj").uninitialized().build());
    let planned = plan(&cloud, vec![joining_by_id(0), bj], false).await;
    assert_eq!(cloud.calls(MockCall::InstancesByIds), 2);
    assert!(planned.iter().all(|p| update_of(p).remove_uninitialized_taint));
    assert_eq!(update_of(&planned[1]).labels[ccm_kube::names::LABEL_REGION], "cn-beijing");
}

#[tokio::test]
async fn metrics_count_cloud_calls() {
    let cloud = cloud_with(150);
    let metrics = NodeMetrics::default();
    plan_batch(&cloud, (0..150).map(joining_by_id).collect(), &config(true), &metrics).await;
    let calls = |call| metrics.cloud_calls.get_or_create(&crate::metrics::CallLabels { call }).get();
    assert_eq!(calls("describe_instances_by_ids"), 2);
    assert_eq!(calls("describe_network_interfaces"), 2);
    assert_eq!(calls("disable_source_dest_check"), 150);
}
