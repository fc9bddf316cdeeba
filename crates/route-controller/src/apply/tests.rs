use std::collections::BTreeSet;

use ipnet::IpNet;

use super::*;
use crate::{
    cloud::NextHop,
    mock::MockRouteCloud,
    plan::{DeleteReason, NodeRouteState, ObservedTable, PlanInput, RouteNode},
};

fn key(table: &str, destination: &str, instance: &str) -> RouteKey {
    RouteKey::new(table, destination.parse().unwrap(), instance)
}

fn create(table: &str, destination: &str, instance: &str, node: &str) -> RouteCreate {
    RouteCreate { route: key(table, destination, instance), node: node.into() }
}

fn delete(table: &str, destination: &str, instance: &str) -> RouteDelete {
    RouteDelete {
        route: key(table, destination, instance),
        entry_id: String::new(),
        reason: DeleteReason::UnknownInstance,
    }
}

fn node_state(node: &str, wanted: &[RouteKey]) -> NodeRouteState {
    NodeRouteState { node: node.into(), wanted: wanted.to_vec(), blocked: false }
}

fn cloud_with(tables: &[&str]) -> Arc<MockRouteCloud> {
    let cloud = MockRouteCloud::new();
    for t in tables {
        cloud.add_table(t, false, &[]);
    }
    Arc::new(cloud)
}

fn executor(cloud: &Arc<MockRouteCloud>) -> RouteExecutor<MockRouteCloud> {
    RouteExecutor::new(Arc::clone(cloud), ApplySettings::default())
}

fn many_creates(table: &str, count: usize) -> Vec<RouteCreate> {
    (0..count).map(|i| create(table, &format!("10.{}.{}.0/24", 100 + i / 200, i % 200), "i-1", "node-1")).collect()
}

/// Plans against what the mock holds now, the way the controller does.
async fn plan_from(cloud: &MockRouteCloud, nodes: &[RouteNode], tables: &[&str], cluster: &str) -> RoutePlan {
    let mut observed = Vec::new();
    for t in tables {
        observed.push(ObservedTable { id: t.to_string(), routes: cloud.routes(t).await.unwrap() });
    }
    let cluster: Vec<IpNet> = vec![cluster.parse().unwrap()];
    RoutePlan::compute(&PlanInput {
        nodes,
        untouchable_instances: &BTreeSet::new(),
        tables: &observed,
        cluster_cidrs: &cluster,
    })
}

fn node(name: &str, instance: &str, cidrs: &[&str]) -> RouteNode {
    RouteNode {
        name: name.into(),
        instance_id: instance.into(),
        pod_cidrs: cidrs.iter().map(|c| c.parse().unwrap()).collect(),
    }
}

#[tokio::test(start_paused = true)]
async fn deletes_run_before_creates_and_pending_is_waited_out() {
    let cloud = cloud_with(&["vtb-a"]);
    cloud.add_route("vtb-a", "10.244.1.0/24", NextHop::Instance("i-old".into()));
    cloud.add_route("vtb-a", "10.244.9.0/24", NextHop::Instance("i-gone".into()));
    cloud.set_pending_window(Duration::from_secs(5));
    let nodes = [node("node-1", "i-1", &["10.244.1.0/24"])];
    let plan = plan_from(&cloud, &nodes, &["vtb-a"], "10.244.0.0/16").await;
    assert_eq!((plan.deletes.len(), plan.creates.len()), (2, 1), "{plan}");

    let started = Instant::now();
    let report = executor(&cloud).apply(&plan).await;
    assert!(report.is_success(), "{report:?}");
    assert!(started.elapsed() >= Duration::from_secs(5), "the create waited for the deletes to settle");
    let writes = cloud.writes();
    assert_eq!(writes.iter().map(|w| (w.op, w.routes.len())).collect::<Vec<_>>(), vec![("delete", 2), ("create", 1)]);
    assert_eq!(cloud.calls().writes(), 2, "no write was wasted on a busy table");

    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(cloud.route_pairs("vtb-a"), vec![("10.244.1.0/24".to_string(), "i-1".to_string())]);
    let results = report.node_results(&plan);
    assert_eq!(results.len(), 1);
    assert!(results[0].all_routes_present);
    assert_eq!(results[0].created, vec![key("vtb-a", "10.244.1.0/24", "i-1")]);
}

#[tokio::test(start_paused = true)]
async fn settling_is_watched_with_filtered_listings_and_not_before_the_first_write_of_a_settled_table() {
    let cloud = cloud_with(&["vtb-a"]);
    cloud.set_pending_window(Duration::from_secs(3));
    let nodes: Vec<RouteNode> =
        (0..120).map(|i| node(&format!("node-{i}"), &format!("i-{i}"), &[&format!("10.244.{i}.0/24")])).collect();
    let plan = plan_from(&cloud, &nodes, &["vtb-a"], "10.244.0.0/16").await;
    assert!(plan.settled_tables.contains("vtb-a"), "the listing showed nothing in progress");
    let report = executor(&cloud).apply(&plan).await;
    assert!(report.is_success(), "{report:?}");
    assert!(cloud.contract_violations().is_empty(), "{:?}", cloud.contract_violations());
    let calls = cloud.calls();
    assert_eq!(calls.create_calls, 3);
    assert_eq!(calls.has_pending_whole_table, 0, "only the entries just written are looked at");
    // 2 s after a batch it is still pending (3 s), 2 s later it has settled: two looks per later batch.
    assert_eq!(calls.has_pending, 4, "no look before the first batch");
}

#[tokio::test(start_paused = true)]
async fn a_table_busy_before_the_pass_is_waited_for_first() {
    let cloud = cloud_with(&["vtb-a"]);
    cloud.set_pending_window(Duration::from_secs(7));
    let first = RoutePlan { creates: vec![create("vtb-a", "10.244.1.0/24", "i-1", "node-1")], ..Default::default() };
    assert!(executor(&cloud).apply(&first).await.is_success());
    let second = RoutePlan { creates: vec![create("vtb-a", "10.244.2.0/24", "i-2", "node-2")], ..Default::default() };
    let report = executor(&cloud).apply(&second).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(cloud.calls().create_calls, 2);
    assert!(cloud.calls().has_pending >= 3, "it polled until the first entry settled");
}

#[tokio::test(start_paused = true)]
async fn conflicts_are_retried_after_waiting() {
    let cloud = cloud_with(&["vtb-a"]);
    cloud.fail_next_writes("vtb-a", 2);
    let plan = RoutePlan {
        creates: vec![
            create("vtb-a", "10.244.1.0/24", "i-1", "node-1"),
            create("vtb-a", "10.244.2.0/24", "i-2", "node-2"),
        ],
        ..Default::default()
    };
    let report = executor(&cloud).apply(&plan).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(cloud.calls().create_calls, 3);
    assert!(report.creates.iter().all(|c| c.result == Ok(WriteOutcome::Applied)));
}

#[tokio::test(start_paused = true)]
async fn a_conflict_that_never_clears_is_reported_after_the_retries() {
    let cloud = cloud_with(&["vtb-a"]);
    cloud.fail_next_writes("vtb-a", 100);
    let plan = RoutePlan { creates: vec![create("vtb-a", "10.244.1.0/24", "i-1", "node-1")], ..Default::default() };
    let report = executor(&cloud).apply(&plan).await;
    assert!(matches!(report.creates[0].result, Err(RouteWriteError::Busy { ref code, .. }) if code == "TaskConflict"));
    assert_eq!(cloud.calls().create_calls, 1 + ApplySettings::default().busy_retries as usize);
}

#[tokio::test(start_paused = true)]
async fn quota_exhaustion_fails_only_the_entries_beyond_it() {
    let cloud = cloud_with(&["vtb-a"]);
    cloud.set_quota(1);
    let plan = RoutePlan {
        creates: vec![
            create("vtb-a", "10.244.1.0/24", "i-1", "node-1"),
            create("vtb-a", "10.244.2.0/24", "i-2", "node-2"),
        ],
        nodes: vec![
            node_state("node-1", &[key("vtb-a", "10.244.1.0/24", "i-1")]),
            node_state("node-2", &[key("vtb-a", "10.244.2.0/24", "i-2")]),
        ],
        ..Default::default()
    };
    let report = executor(&cloud).apply(&plan).await;
    assert_eq!(report.creates[0].result, Ok(WriteOutcome::Applied));
    let Err(RouteWriteError::QuotaExceeded { message, .. }) = &report.creates[1].result else {
        panic!("{:?}", report.creates[1]);
    };
    assert!(message.contains("quota"), "the cloud's message is kept: {message}");
    assert_eq!(cloud.calls().create_calls, 1, "quota is not retried");
    let results = report.node_results(&plan);
    assert!(results[0].all_routes_present);
    assert!(!results[1].all_routes_present);
    assert_eq!(results[1].failed.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn invalid_next_hops_are_reported_per_entry() {
    let cloud = cloud_with(&["vtb-a"]);
    cloud.set_known_instances(&["i-1"]);
    let plan = RoutePlan {
        creates: vec![
            create("vtb-a", "10.244.1.0/24", "i-1", "node-1"),
            create("vtb-a", "10.244.2.0/24", "i-bad", "node-2"),
        ],
        ..Default::default()
    };
    let report = executor(&cloud).apply(&plan).await;
    assert_eq!(report.creates[0].result, Ok(WriteOutcome::Applied));
    assert!(matches!(report.creates[1].result, Err(RouteWriteError::InvalidNextHop { .. })));
}

#[tokio::test(start_paused = true)]
async fn a_partial_batch_failure_retries_only_the_failed_entries() {
    let cloud = cloud_with(&["vtb-a"]);
    let busy = RouteWriteError::Busy { code: "VPC_ROUTE_ENTRY_STATUS_ERROR".into(), message: "busy".into() };
    cloud.fail_entry("create", "10.244.2.0/24", busy, Some(1));
    let refused = RouteWriteError::Rejected { code: "InvalidCidrBlock".into(), message: "overlaps a vSwitch".into() };
    cloud.fail_entry("create", "10.244.3.0/24", refused.clone(), None);
    let plan = RoutePlan {
        creates: vec![
            create("vtb-a", "10.244.1.0/24", "i-1", "node-1"),
            create("vtb-a", "10.244.2.0/24", "i-2", "node-2"),
            create("vtb-a", "10.244.3.0/24", "i-3", "node-3"),
        ],
        ..Default::default()
    };
    let report = executor(&cloud).apply(&plan).await;
    let results: Vec<_> = report.creates.iter().map(|c| c.result.clone()).collect();
    assert_eq!(results, vec![Ok(WriteOutcome::Applied), Ok(WriteOutcome::Applied), Err(refused)]);
    let writes = cloud.writes();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[1].routes, vec![key("vtb-a", "10.244.2.0/24", "i-2")], "only the busy entry is retried");
    assert_eq!(report.failures().count(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_conflict_delete_blocks_the_replacement() {
    let cloud = cloud_with(&["vtb-a"]);
    cloud.add_route("vtb-a", "10.244.1.0/24", NextHop::Instance("i-old".into()));
    let refused = RouteWriteError::Rejected { code: "Forbidden".into(), message: "no permission".into() };
    cloud.fail_entry("delete", "10.244.1.0/24", refused, None);
    let nodes = [node("node-1", "i-1", &["10.244.1.0/24"])];
    let plan = plan_from(&cloud, &nodes, &["vtb-a"], "10.244.0.0/16").await;
    let report = executor(&cloud).apply(&plan).await;
    assert!(matches!(report.deletes[0].result, Err(RouteWriteError::Rejected { .. })));
    assert!(
        matches!(report.creates[0].result, Err(RouteWriteError::BlockedByFailedDelete { ref reason }) if reason.contains("no permission"))
    );
    assert_eq!(cloud.calls().create_calls, 0);
    assert!(!report.node_results(&plan)[0].all_routes_present);
}

#[tokio::test(start_paused = true)]
async fn large_plans_are_batched_by_fifty_with_a_settle_between_batches() {
    let cloud = cloud_with(&["vtb-a"]);
    let plan = RoutePlan { creates: many_creates("vtb-a", 120), ..Default::default() };
    let report = executor(&cloud).apply(&plan).await;
    assert!(report.is_success());
    let sizes: Vec<usize> = cloud.writes().iter().map(|w| w.routes.len()).collect();
    assert_eq!(sizes, vec![50, 50, 20]);
    assert!(cloud.contract_violations().is_empty());
    assert_eq!(cloud.routes_of("vtb-a").len(), 120);
}

#[tokio::test(start_paused = true)]
async fn tables_proceed_in_parallel_but_one_table_never_sees_concurrent_writes() {
    let cloud = cloud_with(&["vtb-a", "vtb-b"]);
    cloud.set_write_latency(Duration::from_secs(1));
    let mut creates = many_creates("vtb-a", 120);
    creates.extend(many_creates("vtb-b", 120));
    let plan = RoutePlan { creates, ..Default::default() };
    let started = Instant::now();
    let exec = executor(&cloud);
    // Two passes at once (say a periodic and an event-driven one) through clones of the executor.
    let other = exec.clone();
    let again = RoutePlan { creates: many_creates("vtb-a", 10), ..Default::default() };
    let (report, second) = tokio::join!(exec.apply(&plan), other.apply(&again));
    assert!(report.is_success() && second.is_success());
    assert_eq!(cloud.max_concurrent_writes_per_table(), 1);
    assert!(cloud.contract_violations().is_empty(), "{:?}", cloud.contract_violations());
    assert_eq!(cloud.max_concurrent_writes(), 2, "the two tables were written at the same time");
    let one_table_alone = Duration::from_secs(3 + 2 * 2);
    assert!(started.elapsed() < one_table_alone * 2, "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_table_that_never_settles_times_out() {
    let cloud = cloud_with(&["vtb-a"]);
    cloud.set_pending_window(Duration::from_secs(3600));
    let first = RoutePlan { creates: vec![create("vtb-a", "10.244.1.0/24", "i-1", "node-1")], ..Default::default() };
    assert!(executor(&cloud).apply(&first).await.is_success());
    let second = RoutePlan { creates: vec![create("vtb-a", "10.244.2.0/24", "i-2", "node-2")], ..Default::default() };
    let started = Instant::now();
    let report = executor(&cloud).apply(&second).await;
    assert!(matches!(report.creates[0].result, Err(RouteWriteError::PendingTimeout { .. })), "{report:?}");
    assert!(started.elapsed() <= ApplySettings::default().settle_timeout);
    assert_eq!(cloud.calls().create_calls, 1, "no write into a busy table");
}

#[tokio::test(start_paused = true)]
async fn existing_and_missing_routes_count_as_done() {
    let cloud = cloud_with(&["vtb-a"]);
    cloud.set_pending_window(Duration::ZERO);
    cloud.add_route("vtb-a", "10.244.1.0/24", NextHop::Instance("i-1".into()));
    let plan = RoutePlan {
        creates: vec![create("vtb-a", "10.244.1.0/24", "i-1", "node-1")],
        deletes: vec![delete("vtb-a", "10.244.9.0/24", "i-gone")],
        ..Default::default()
    };
    let report = executor(&cloud).apply(&plan).await;
    assert_eq!(report.creates[0].result, Ok(WriteOutcome::AlreadyDone));
    assert_eq!(report.deletes[0].result, Ok(WriteOutcome::AlreadyDone));
}

#[tokio::test(start_paused = true)]
async fn a_destination_taken_by_another_next_hop_is_reported() {
    let cloud = cloud_with(&["vtb-a"]);
    cloud.add_route("vtb-a", "10.244.1.0/24", NextHop::Other { kind: "HaVip".into(), id: "havip-1".into() });
    let plan = RoutePlan { creates: vec![create("vtb-a", "10.244.1.0/24", "i-1", "node-1")], ..Default::default() };
    let report = executor(&cloud).apply(&plan).await;
    assert_eq!(report.creates[0].result, Err(RouteWriteError::DestinationTaken { holder: "HaVip havip-1".into() }));
}

#[tokio::test(start_paused = true)]
async fn blocked_nodes_never_count_as_routed() {
    let plan = RoutePlan {
        nodes: vec![NodeRouteState { node: "node-1".into(), wanted: vec![], blocked: true }],
        ..Default::default()
    };
    let report = executor(&cloud_with(&["vtb-a"])).apply(&plan).await;
    assert!(!report.node_results(&plan)[0].all_routes_present);
    assert!(report.is_success());
}
