//! The route controller in the `cloud-controller-manager` binary, against a real apiserver and aliyun-fake
//! (issue 6): routes follow nodes (also nodes deleted while the CCM was stopped), two route tables, IPv6 pod
//! CIDRs, the `NetworkUnavailable` condition, and routes that are not the cluster's left alone.
//!
//! Most tests share one stack seeded with `e2e/fixtures/routes.yaml` and one CCM, each with its own nodes and
//! pod CIDRs; the restart test has a stack of its own.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use e2e::cloud_admin::FakeRoute;
use e2e::{CcmOptions, Context as _, KubeletNode, RunningCcm, Stack, StackOptions};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::{DeleteParams, ListParams};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);
const CLUSTER_CIDR: &str = "172.20.0.0/16,fd00:20::/56";
/// Longer than any test: every pass the tests see is triggered by a node change (or is the startup pass).
const PERIOD: &str = "--route-reconciliation-period=10m";
/// The seed's tables: the system table serves vSwitch h, the custom one vSwitch i.
const SYSTEM_TABLE: &str = "vtb-bp1e2esystem00000001";
const CUSTOM_TABLE: &str = "vtb-bp1e2ecustom00000001";
/// The default seed's system table (restart test).
const DEFAULT_SYSTEM_TABLE: &str = "vtb-bp1fakevtb0000000001";

fn seed() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/routes.yaml")
}

struct Shared {
    stack: Stack,
    _ccm: RunningCcm,
}

static SHARED: tokio::sync::OnceCell<Shared> = tokio::sync::OnceCell::const_new();

/// The stack (seeded with `fixtures/routes.yaml`) and the CCM (route controller only) most tests use.
async fn shared() -> &'static Stack {
    let shared = SHARED
        .get_or_init(|| async {
            let mut options = StackOptions::new("route").fake_seed(seed());
            options.remove_dir_at_exit = true;
            let stack = Stack::start(options).await.unwrap();
            let ccm = stack.start_ccm(&CcmOptions::new("route").cluster_cidr(CLUSTER_CIDR).args([PERIOD])).unwrap();
            Shared { stack, _ccm: ccm }
        })
        .await;
    &shared.stack
}

fn provider_id(instance: &str) -> String {
    format!("cn-hangzhou.{instance}")
}

/// The custom route of `table` to `destination`, if any.
async fn route(stack: &Stack, table: &str, destination: &str) -> Option<FakeRoute> {
    stack.fake_routes(table).await.unwrap().into_iter().find(|r| r.destination == destination)
}

/// Waits until `table` has an Available route `destination` -> instance `next_hop`; returns how long it took.
async fn wait_route(stack: &Stack, table: &str, destination: &str, next_hop: &str) -> (FakeRoute, Duration) {
    let started = Instant::now();
    let found = stack
        .wait_for(&format!("route {destination} -> {next_hop} in {table}"), TIMEOUT, || async {
            let routes = stack.fake_routes(table).await?;
            Ok(routes.into_iter().find(|r| r.destination == destination && r.status == "Available"))
        })
        .await
        .unwrap();
    assert_eq!((found.next_hop_type.as_str(), found.next_hop_id.as_str()), ("Instance", next_hop), "{found:?}");
    assert_eq!(found.entry_type, "Custom");
    (found, started.elapsed())
}

/// Waits until `table` has no route `destination`; returns how long it took.
async fn wait_no_route(stack: &Stack, table: &str, destination: &str) -> Duration {
    let started = Instant::now();
    stack
        .wait_for(&format!("route {destination} to leave {table}"), TIMEOUT, || async {
            let routes = stack.fake_routes(table).await?;
            Ok((!routes.iter().any(|r| r.destination == destination)).then_some(()))
        })
        .await
        .unwrap();
    started.elapsed()
}

fn condition(node: &Node, type_: &str) -> Option<(String, Option<String>)> {
    let conditions = node.status.as_ref()?.conditions.as_ref()?;
    conditions.iter().find(|c| c.type_ == type_).map(|c| (c.status.clone(), c.reason.clone()))
}

/// Waits until node `name` has `NetworkUnavailable=False` with reason `RouteCreated`.
async fn wait_route_created_condition(stack: &Stack, name: &str) -> Node {
    let api: Api<Node> = Api::all(stack.admin().await.unwrap());
    stack
        .wait_for(&format!("{name} to get NetworkUnavailable=False/RouteCreated"), TIMEOUT, || async {
            let node = api.get(name).await.context(format!("get node {name}"))?;
            let wanted = Some(("False".to_owned(), Some("RouteCreated".to_owned())));
            Ok((condition(&node, "NetworkUnavailable") == wanted).then_some(node))
        })
        .await
        .unwrap()
}

/// Events about node `name`, as `(type, reason, note)`.
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
async fn routes_appear_for_new_nodes_and_go_away_for_deleted_ones() {
    let stack = shared().await;
    let _guard = stack.guard();
    for (name, instance, ip, cidr) in [
        ("appear-a", "i-bp1e2eroute000000005", "192.168.0.25", "172.20.1.0/24"),
        ("appear-b", "i-bp1e2eroute000000006", "192.168.0.26", "172.20.2.0/24"),
    ] {
        stack
            .register_node(&KubeletNode::new(name, ip).provider_id(provider_id(instance)).pod_cidrs([cidr]))
            .await
            .unwrap();
    }
    wait_route(stack, SYSTEM_TABLE, "172.20.1.0/24", "i-bp1e2eroute000000005").await;
    wait_route(stack, SYSTEM_TABLE, "172.20.2.0/24", "i-bp1e2eroute000000006").await;
    for name in ["appear-a", "appear-b"] {
        let node = wait_route_created_condition(stack, name).await;
        // The condition is patched in; the kubelet's conditions stay.
        assert_eq!(condition(&node, "Ready"), Some(("True".to_owned(), Some("KubeletReady".to_owned()))));
        assert_eq!(condition(&node, "DiskPressure").map(|c| c.0), Some("False".to_owned()));
    }

    // A node joining later gets its route from the node event, not from the (10 minute) periodic pass.
    stack
        .register_node(
            &KubeletNode::new("appear-c", "192.168.0.27")
                .provider_id(provider_id("i-bp1e2eroute000000007"))
                .pod_cidrs(["172.20.3.0/24"]),
        )
        .await
        .unwrap();
    let (_, took) = wait_route(stack, SYSTEM_TABLE, "172.20.3.0/24", "i-bp1e2eroute000000007").await;
    assert!(took < Duration::from_secs(30), "the new node's route took {took:?}");
    wait_route_created_condition(stack, "appear-c").await;

    // A deleted node's route goes; the others stay as they were.
    let kept = route(stack, SYSTEM_TABLE, "172.20.1.0/24").await.unwrap();
    let api: Api<Node> = Api::all(stack.admin().await.unwrap());
    api.delete("appear-b", &DeleteParams::default()).await.unwrap();
    let took = wait_no_route(stack, SYSTEM_TABLE, "172.20.2.0/24").await;
    assert!(took < Duration::from_secs(30), "the deleted node's route took {took:?} to go");
    assert_eq!(route(stack, SYSTEM_TABLE, "172.20.1.0/24").await, Some(kept), "not rewritten");
    assert!(route(stack, SYSTEM_TABLE, "172.20.3.0/24").await.is_some());
}

#[tokio::test]
async fn nodes_on_two_vswitches_get_their_routes_in_both_route_tables() {
    let stack = shared().await;
    let _guard = stack.guard();
    // route-3 is on vSwitch i (custom table), route-2 on vSwitch h (system table).
    stack
        .register_node(
            &KubeletNode::new("tables-i", "192.168.1.23")
                .provider_id(provider_id("i-bp1e2eroute000000003"))
                .pod_cidrs(["172.20.11.0/24"]),
        )
        .await
        .unwrap();
    stack
        .register_node(
            &KubeletNode::new("tables-h", "192.168.0.22")
                .provider_id(provider_id("i-bp1e2eroute000000002"))
                .pod_cidrs(["172.20.12.0/24"]),
        )
        .await
        .unwrap();
    for table in [SYSTEM_TABLE, CUSTOM_TABLE] {
        wait_route(stack, table, "172.20.11.0/24", "i-bp1e2eroute000000003").await;
        wait_route(stack, table, "172.20.12.0/24", "i-bp1e2eroute000000002").await;
    }
    wait_route_created_condition(stack, "tables-i").await;
    wait_route_created_condition(stack, "tables-h").await;
}

#[tokio::test]
async fn ipv6_pod_cidrs_get_ipv6_routes() {
    let stack = shared().await;
    let _guard = stack.guard();
    stack
        .register_node(
            &KubeletNode::new("dual-1", "192.168.0.21")
                .provider_id(provider_id("i-bp1e2eroute000000001"))
                .pod_cidrs(["172.20.21.0/24", "fd00:20:0:21::/64"]),
        )
        .await
        .unwrap();
    wait_route(stack, SYSTEM_TABLE, "172.20.21.0/24", "i-bp1e2eroute000000001").await;
    wait_route(stack, SYSTEM_TABLE, "fd00:20:0:21::/64", "i-bp1e2eroute000000001").await;
    let state = stack.fake_state().await.unwrap();
    let entry = state["route_tables"][SYSTEM_TABLE]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["destination_cidr_block"] == "fd00:20:0:21::/64")
        .cloned()
        .unwrap();
    assert_eq!(entry["ip_version"], "ipv6", "{entry}");
    // Routed only when both families are.
    wait_route_created_condition(stack, "dual-1").await;
}

#[tokio::test]
async fn routes_that_are_not_the_clusters_are_left_alone_and_stale_ones_cleaned() {
    let stack = shared().await;
    let _guard = stack.guard();
    let before_system = stack.fake_routes(SYSTEM_TABLE).await.unwrap();
    let before_custom = stack.fake_routes(CUSTOM_TABLE).await.unwrap();
    let seeded =
        |routes: &[FakeRoute], destination: &str| routes.iter().find(|r| r.destination == destination).cloned();
    let outside = seeded(&before_system, "10.10.0.0/16").expect("the seed's route outside the cluster CIDR");
    let foreign_hop = seeded(&before_system, "172.20.98.0/24").expect("the seed's route to an ENI");
    let outside_custom = seeded(&before_custom, "10.11.0.0/16").expect("the seed's route in the custom table");

    // A node on vSwitch i, so both tables are managed.
    stack
        .register_node(
            &KubeletNode::new("alone-i", "192.168.1.24")
                .provider_id(provider_id("i-bp1e2eroute000000004"))
                .pod_cidrs(["172.20.31.0/24"]),
        )
        .await
        .unwrap();
    wait_route(stack, CUSTOM_TABLE, "172.20.31.0/24", "i-bp1e2eroute000000004").await;
    wait_route(stack, SYSTEM_TABLE, "172.20.31.0/24", "i-bp1e2eroute000000004").await;
    // The controller does delete in these tables: the stale routes inside the cluster CIDRs (to an instance that
    // is no node's) go...
    wait_no_route(stack, SYSTEM_TABLE, "172.20.99.0/24").await;
    wait_no_route(stack, SYSTEM_TABLE, "fd00:20:0:99::/64").await;
    // ... but not the routes outside them, nor a route inside them whose next hop is not an instance.
    assert_eq!(route(stack, SYSTEM_TABLE, "10.10.0.0/16").await, Some(outside));
    assert_eq!(route(stack, SYSTEM_TABLE, "172.20.98.0/24").await, Some(foreign_hop));
    assert_eq!(route(stack, CUSTOM_TABLE, "10.11.0.0/16").await, Some(outside_custom));
}

#[tokio::test]
async fn routes_of_nodes_deleted_while_the_ccm_was_stopped_are_cleaned_at_its_next_start() {
    let stack = Stack::start(StackOptions::new("route-restart").fake_arg("--route-entry-delay-ms=300")).await.unwrap();
    let instances = stack.fake_instances().await.unwrap();
    let (one, two) = (&instances[0], &instances[1]);
    stack
        .register_node(
            &KubeletNode::new("restart-a", &one.private_ip).provider_id(one.provider_id()).pod_cidrs(["172.20.1.0/24"]),
        )
        .await
        .unwrap();
    stack
        .register_node(
            &KubeletNode::new("restart-b", &two.private_ip).provider_id(two.provider_id()).pod_cidrs(["172.20.2.0/24"]),
        )
        .await
        .unwrap();
    let options = CcmOptions::new("route").cluster_cidr("172.20.0.0/16").args([PERIOD]);
    let first = stack.start_ccm(&options).unwrap();
    let (kept, _) = wait_route(&stack, DEFAULT_SYSTEM_TABLE, "172.20.1.0/24", &one.instance_id).await;
    wait_route(&stack, DEFAULT_SYSTEM_TABLE, "172.20.2.0/24", &two.instance_id).await;
    wait_route_created_condition(&stack, "restart-b").await;

    // The CCM goes away; a node is deleted meanwhile. Nobody cleans its route.
    drop(first);
    let api: Api<Node> = Api::all(stack.admin().await.unwrap());
    api.delete("restart-b", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(route(&stack, DEFAULT_SYSTEM_TABLE, "172.20.2.0/24").await.is_some());

    // The next CCM finds the stale route at startup and deletes it, and rewrites nothing else.
    stack.reset_fake_calls().await.unwrap();
    let _second = stack.start_ccm(&options).unwrap();
    wait_no_route(&stack, DEFAULT_SYSTEM_TABLE, "172.20.2.0/24").await;
    assert_eq!(route(&stack, DEFAULT_SYSTEM_TABLE, "172.20.1.0/24").await, Some(kept), "the live node's route stays");
    wait_route_created_condition(&stack, "restart-a").await;
    let calls = stack.fake_calls().await.unwrap();
    let by_action = calls["byAction"].as_object().unwrap();
    let count = |action: &str| by_action.get(action).and_then(serde_json::Value::as_u64).unwrap_or(0);
    assert_eq!(count("CreateRouteEntry") + count("CreateRouteEntries"), 0, "{by_action:?}");
    assert_eq!(count("DeleteRouteEntry") + count("DeleteRouteEntries"), 1, "one deletion: {by_action:?}");
}

#[tokio::test]
async fn a_node_whose_route_cannot_be_created_is_network_unavailable_until_it_can() {
    let stack = Stack::start(StackOptions::new("route-quota").fake_arg("--route-entry-delay-ms=300")).await.unwrap();
    // The route table is full.
    stack.set_fake_behaviour(&json!({"route_entry_quota": 0})).await.unwrap();
    let instance = stack.fake_instances().await.unwrap().remove(0);
    stack
        .register_node(
            &KubeletNode::new("quota-1", &instance.private_ip)
                .provider_id(instance.provider_id())
                .pod_cidrs(["172.20.1.0/24"]),
        )
        .await
        .unwrap();
    let _ccm = stack.start_ccm(&CcmOptions::new("route").cluster_cidr("172.20.0.0/16").args([PERIOD])).unwrap();
    let api: Api<Node> = Api::all(stack.admin().await.unwrap());
    let node = stack
        .wait_for("quota-1 to get NetworkUnavailable=True/NoRouteCreated", TIMEOUT, || async {
            let node = api.get("quota-1").await.context("get quota-1")?;
            let wanted = Some(("True".to_owned(), Some("NoRouteCreated".to_owned())));
            Ok((condition(&node, "NetworkUnavailable") == wanted).then_some(node))
        })
        .await
        .unwrap();
    assert_eq!(condition(&node, "Ready"), Some(("True".to_owned(), Some("KubeletReady".to_owned()))));
    // The operator learns why, in the cloud's words.
    let note = stack
        .wait_for("a CreateRouteFailed warning on quota-1", TIMEOUT, || async {
            let events = node_events(&stack, "quota-1").await;
            Ok(events.into_iter().find(|(t, r, _)| t == "Warning" && r == "CreateRouteFailed").map(|e| e.2))
        })
        .await
        .unwrap();
    assert!(note.contains("QuotaExceeded") && note.contains("172.20.1.0/24"), "{note}");

    // Room again: the controller retries on its own.
    stack.set_fake_behaviour(&json!({"route_entry_quota": 200})).await.unwrap();
    wait_route(&stack, DEFAULT_SYSTEM_TABLE, "172.20.1.0/24", &instance.instance_id).await;
    wait_route_created_condition(&stack, "quota-1").await;
}
