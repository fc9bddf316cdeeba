use std::time::Duration;

use k8s_openapi::api::core::v1::{NodeAddress, NodeSpec, NodeStatus};

use super::*;
use crate::{
    cloud::{NextHop, VSwitch},
    mock::MockRouteCloud,
};

fn k8s_node(name: &str, instance: &str, ip: &str, cidrs: &[&str]) -> Arc<Node> {
    let mut n = Node::default();
    n.metadata.name = Some(name.into());
    n.spec = Some(NodeSpec {
        provider_id: Some(format!("cn-hangzhou.{instance}")),
        pod_cidrs: Some(cidrs.iter().map(|c| c.to_string()).collect()),
        ..Default::default()
    });
    n.status = Some(NodeStatus {
        addresses: Some(vec![NodeAddress { type_: "InternalIP".into(), address: ip.into() }]),
        ..Default::default()
    });
    Arc::new(n)
}

fn vswitch(id: &str, cidr: &str) -> VSwitch {
    VSwitch { id: id.into(), ipv4_cidr: cidr.parse().ok(), ipv6_cidr: None, route_table_id: None }
}

/// A VPC with a system table (vsw-a) and a custom table vtb-c bound to vsw-c.
fn vpc() -> Arc<MockRouteCloud> {
    let cloud = MockRouteCloud::new();
    cloud.set_pending_window(Duration::ZERO);
    cloud.add_table("vtb-sys", true, &["vsw-a"]);
    cloud.add_table("vtb-c", false, &["vsw-c"]);
    cloud.add_vswitch(vswitch("vsw-a", "192.168.0.0/24"));
    cloud.add_vswitch(vswitch("vsw-c", "192.168.2.0/24"));
    Arc::new(cloud)
}

fn config(tables: &[&str]) -> RouteControllerConfig {
    RouteControllerConfig {
        region: "cn-hangzhou".into(),
        vpc_id: "vpc-1".into(),
        route_table_ids: tables.iter().map(|t| t.to_string()).collect(),
        cluster_cidrs: vec!["10.244.0.0/16".parse().unwrap(), "fd00:10:244::/56".parse().unwrap()],
        ..Default::default()
    }
}

async fn pass(reconciler: &mut RouteReconciler<MockRouteCloud>, nodes: &[Arc<Node>], full: bool) -> RoutePlan {
    let (plan, _) = reconciler.plan(nodes, full).await.unwrap();
    assert!(reconciler.apply(&plan).await.is_success());
    plan
}

#[tokio::test(start_paused = true)]
async fn configured_tables_need_no_topology() {
    let cloud = vpc();
    let mut reconciler = RouteReconciler::new(Arc::clone(&cloud), config(&["vtb-c"]));
    let nodes = [k8s_node("node-1", "i-1", "192.168.0.5", &["10.244.1.0/24"])];
    let (plan, observation) = reconciler.plan(&nodes, true).await.unwrap();
    assert_eq!(observation.selection.table_ids, vec!["vtb-c"]);
    assert_eq!(plan.creates.len(), 1);
    let calls = cloud.calls();
    assert_eq!((calls.route_tables, calls.vswitches, calls.instance_vswitches, calls.routes), (0, 0, 0, 1));
}

#[tokio::test(start_paused = true)]
async fn every_table_of_a_vswitch_hosting_nodes_gets_every_route() {
    let cloud = vpc();
    let mut reconciler = RouteReconciler::new(Arc::clone(&cloud), config(&[]));
    let nodes = [
        k8s_node("node-1", "i-1", "192.168.0.5", &["10.244.1.0/24", "fd00:10:244:1::/64"]),
        k8s_node("node-2", "i-2", "192.168.2.5", &["10.244.2.0/24"]),
    ];
    let plan = pass(&mut reconciler, &nodes, false).await;
    assert_eq!(plan.creates.len(), 6, "{plan}");
    for table in ["vtb-sys", "vtb-c"] {
        assert_eq!(
            cloud.route_pairs(table),
            vec![
                ("10.244.1.0/24".to_string(), "i-1".to_string()),
                ("10.244.2.0/24".to_string(), "i-2".to_string()),
                ("fd00:10:244:1::/64".to_string(), "i-1".to_string()),
            ]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_quiet_pass_only_lists_routes() {
    let cloud = vpc();
    let mut reconciler = RouteReconciler::new(Arc::clone(&cloud), config(&[]));
    let nodes = [k8s_node("node-1", "i-1", "192.168.2.5", &["10.244.1.0/24"])];
    pass(&mut reconciler, &nodes, false).await;
    cloud.reset_calls();
    let plan = pass(&mut reconciler, &nodes, false).await;
    assert!(plan.is_empty());
    let calls = cloud.calls();
    assert_eq!(calls.total(), 1, "one route listing of the one managed table: {calls:?}");
    cloud.reset_calls();
    pass(&mut reconciler, &nodes, true).await;
    let calls = cloud.calls();
    assert_eq!((calls.route_tables, calls.vswitches, calls.routes, calls.writes()), (1, 1, 1, 0), "full pass");
}

#[tokio::test(start_paused = true)]
async fn nodes_outside_every_vswitch_cidr_are_looked_up_once() {
    let cloud = vpc();
    cloud.set_instance_vswitch("i-9", "vsw-c");
    let mut reconciler = RouteReconciler::new(Arc::clone(&cloud), config(&[]));
    let nodes = [k8s_node("node-9", "i-9", "172.31.0.9", &["10.244.9.0/24"])];
    let (_, observation) = reconciler.plan(&nodes, false).await.unwrap();
    assert_eq!(observation.selection.table_ids, vec!["vtb-c"]);
    assert_eq!(observation.selection.source, TableSource::NodeVSwitches);
    let (_, _) = reconciler.plan(&nodes, false).await.unwrap();
    assert_eq!(cloud.calls().instance_vswitches, 1, "cached");
}

#[tokio::test(start_paused = true)]
async fn without_placed_nodes_the_system_table_is_managed() {
    let cloud = vpc();
    let mut reconciler = RouteReconciler::new(Arc::clone(&cloud), config(&[]));
    let nodes = [k8s_node("node-9", "i-9", "172.31.0.9", &["10.244.9.0/24"])];
    let (plan, observation) = reconciler.plan(&nodes, false).await.unwrap();
    assert_eq!(observation.selection.table_ids, vec!["vtb-sys"]);
    assert_eq!(observation.selection.source, TableSource::SystemTable);
    assert_eq!(plan.creates.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn routes_of_nodes_deleted_while_the_controller_was_down_are_cleaned() {
    let cloud = vpc();
    cloud.add_route("vtb-c", "10.244.7.0/24", NextHop::Instance("i-7".into()));
    cloud.add_route("vtb-c", "10.244.1.0/24", NextHop::Instance("i-1".into()));
    cloud.add_route("vtb-c", "192.168.100.0/24", NextHop::Instance("i-7".into()));
    let mut reconciler = RouteReconciler::new(Arc::clone(&cloud), config(&["vtb-c"]));
    let nodes = [k8s_node("node-1", "i-1", "192.168.2.5", &["10.244.1.0/24"])];
    let plan = pass(&mut reconciler, &nodes, true).await;
    assert_eq!(plan.deletes.len(), 1);
    assert_eq!(
        cloud.route_pairs("vtb-c"),
        vec![("10.244.1.0/24".to_string(), "i-1".to_string()), ("192.168.100.0/24".to_string(), "i-7".to_string()),]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_listing_fails_the_pass_without_writing() {
    let cloud = vpc();
    cloud.fail_listing("vtb-c", true);
    let mut reconciler = RouteReconciler::new(Arc::clone(&cloud), config(&["vtb-c", "vtb-sys"]));
    let nodes = [k8s_node("node-1", "i-1", "192.168.2.5", &["10.244.1.0/24"])];
    assert!(matches!(reconciler.plan(&nodes, false).await, Err(Error::Cloud(_))));
    assert_eq!(cloud.calls().writes(), 0);
}

#[tokio::test(start_paused = true)]
async fn hybrid_and_excluded_nodes_are_skipped_and_their_routes_kept() {
    let cloud = vpc();
    cloud.add_route("vtb-c", "10.244.4.0/24", NextHop::Instance("i-4".into()));
    let mut reconciler = RouteReconciler::new(Arc::clone(&cloud), config(&["vtb-c"]));
    let mut hybrid = (*k8s_node("idc-1", "x", "10.0.0.1", &["10.244.3.0/24"])).clone();
    hybrid.spec.as_mut().unwrap().provider_id = Some("ack-hybrid://idc-1".into());
    let mut excluded = (*k8s_node("node-4", "i-4", "192.168.2.4", &["10.244.4.0/24"])).clone();
    excluded.metadata.labels = Some([("service.alibabacloud.com/exclude-node".to_string(), "true".to_string())].into());
    let plan = pass(&mut reconciler, &[Arc::new(hybrid), Arc::new(excluded)], true).await;
    assert!(plan.is_empty(), "{plan}");
    assert!(plan.nodes.is_empty());
}
