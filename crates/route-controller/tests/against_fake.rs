//! The Alibaba Cloud adapter and a whole reconcile pass against `aliyun-fake`: real request shapes, batch
//! answers, error codes, Pending entries and route-table discovery.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::{sync::Arc, time::Duration};

use aliyun_api::{Client, Credentials, Endpoints, credentials::StaticProvider, ratelimit::RateLimits};
use aliyun_fake::{FakeCloud, FakeConfig, FakeHandle, Seed};
use k8s_openapi::api::core::v1::{Node, NodeAddress, NodeSpec, NodeStatus};
use route_controller::{
    ApplySettings, RouteCloud, RouteControllerConfig, RouteKey, RouteReconciler,
    aliyun::AliyunRouteCloud,
    cloud::{NextHop, RouteWriteError, WriteOutcome},
    tables::TableSource,
};

const REGION: &str = "cn-hangzhou";

const SEED: &str = r#"
region: cn-hangzhou
access_keys: [{id: fake-ak, secret: fake-secret}]
route_entry_delay_ms: 300
route_entry_quota: QUOTA
vpcs:
  - id: vpc-k8s
    cidr: 192.168.0.0/16
    ipv6_cidr: 2001:db8:100::/56
    vswitches:
      - {id: vsw-a, zone: cn-hangzhou-h, cidr: 192.168.0.0/24, ipv6_cidr: "2001:db8:100:1::/64"}
      - {id: vsw-b, zone: cn-hangzhou-i, cidr: 192.168.1.0/24}
      - {id: vsw-idle, zone: cn-hangzhou-i, cidr: 192.168.9.0/24}
    route_tables:
      - {id: vtb-sys, type: System}
      - id: vtb-b
        type: Custom
        vswitches: [vsw-b]
        routes:
          - {destination: 10.244.9.0/24, next_hop: i-3}
          - {destination: 172.30.0.0/16, next_hop: i-3}
          - {destination: 10.244.8.0/24, next_hop: ngw-x, next_hop_type: NatGateway}
      - {id: vtb-idle, type: Custom, vswitches: [vsw-idle]}
instances:
  - {id: i-1, vswitch: vsw-a, private_ip: 192.168.0.11}
  - {id: i-2, vswitch: vsw-b, private_ip: 192.168.1.12}
  - {id: i-3, vswitch: vsw-b, private_ip: 192.168.1.13}
"#;

async fn fake(quota: usize) -> FakeHandle {
    let seed = Seed::parse(&SEED.replace("QUOTA", &quota.to_string())).unwrap();
    FakeCloud::start(FakeConfig { seed, ..FakeConfig::default() }).await.unwrap()
}

fn cloud(fake: &FakeHandle) -> Arc<AliyunRouteCloud> {
    let client = Client::builder(REGION)
        .endpoints(Endpoints::new(REGION).with_all(fake.endpoint()))
        .credentials(StaticProvider::new(Credentials::access_key("fake-ak", "fake-secret")))
        .rate_limits(RateLimits::unlimited())
        .build()
        .unwrap();
    Arc::new(AliyunRouteCloud::new(client))
}

fn node(name: &str, instance: &str, ip: &str, cidrs: &[&str]) -> Arc<Node> {
    let mut n = Node::default();
    n.metadata.name = Some(name.into());
    n.spec = Some(NodeSpec {
        provider_id: Some(format!("{REGION}.{instance}")),
        pod_cidrs: Some(cidrs.iter().map(|c| c.to_string()).collect()),
        ..Default::default()
    });
    n.status = Some(NodeStatus {
        addresses: Some(vec![NodeAddress { type_: "InternalIP".into(), address: ip.into() }]),
        ..Default::default()
    });
    Arc::new(n)
}

fn config() -> RouteControllerConfig {
    RouteControllerConfig {
        region: REGION.into(),
        vpc_id: "vpc-k8s".into(),
        cluster_cidrs: vec!["10.244.0.0/16".parse().unwrap(), "fd00:10:244::/56".parse().unwrap()],
        apply: ApplySettings {
            poll_initial: Duration::from_millis(100),
            poll_max: Duration::from_millis(300),
            settle_timeout: Duration::from_secs(10),
            busy_retries: 5,
        },
        ..Default::default()
    }
}

async fn pairs(cloud: &AliyunRouteCloud, table: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = cloud
        .routes(table)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.destination.to_string(), r.next_hop.to_string()))
        .collect();
    pairs.sort();
    pairs
}

fn pair(destination: &str, hop: &str) -> (String, String) {
    (destination.to_string(), hop.to_string())
}

#[tokio::test]
async fn a_pass_programs_every_table_hosting_nodes_and_cleans_stale_routes() {
    let fake = fake(200).await;
    let cloud = cloud(&fake);
    let mut reconciler = RouteReconciler::new(Arc::clone(&cloud), config());
    let nodes = [
        node("node-1", "i-1", "192.168.0.11", &["10.244.1.0/24", "fd00:10:244:1::/64"]),
        node("node-2", "i-2", "192.168.1.12", &["10.244.2.0/24"]),
    ];
    let (plan, observation) = reconciler.plan(&nodes, true).await.unwrap();
    assert_eq!(observation.selection.table_ids, vec!["vtb-b", "vtb-sys"], "vtb-idle hosts no node");
    assert_eq!(observation.selection.source, TableSource::NodeVSwitches);
    assert_eq!((plan.deletes.len(), plan.creates.len()), (1, 6), "{plan}");
    let report = reconciler.apply(&plan).await;
    assert!(report.is_success(), "{report:?}");
    assert!(report.node_results(&plan).iter().all(|r| r.all_routes_present));

    let expected_sys =
        vec![pair("10.244.1.0/24", "i-1"), pair("10.244.2.0/24", "i-2"), pair("fd00:10:244:1::/64", "i-1")];
    assert_eq!(pairs(&cloud, "vtb-sys").await, expected_sys);
    let mut expected_b = expected_sys.clone();
    expected_b.extend([pair("10.244.8.0/24", "NatGateway ngw-x"), pair("172.30.0.0/16", "i-3")]);
    expected_b.sort();
    assert_eq!(pairs(&cloud, "vtb-b").await, expected_b, "the stale route went, foreign ones stayed");
    assert!(pairs(&cloud, "vtb-idle").await.is_empty());
    assert_eq!(fake.call_count("CreateRouteEntries"), 2, "one batch per table");
    assert_eq!(fake.call_count("DeleteRouteEntry"), 1, "a single delete needs no batch");
    assert_eq!(fake.call_count("DescribeInstances"), 0, "nodes were placed by their IPs");

    tokio::time::sleep(Duration::from_millis(400)).await;
    fake.reset_calls();
    let (again, _) = reconciler.plan(&nodes, false).await.unwrap();
    assert!(again.is_empty(), "{again}");
    assert_eq!(fake.call_count("DescribeRouteEntryList"), 2, "a quiet pass lists the two tables, nothing else");
    assert_eq!(fake.call_count("DescribeRouteTableList") + fake.call_count("DescribeVSwitches"), 0);
    fake.shutdown().await;
}

fn key(table: &str, destination: &str, instance: &str) -> RouteKey {
    RouteKey::new(table, destination.parse().unwrap(), instance)
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(400)).await;
}

#[tokio::test]
async fn duplicates_are_checked_for_ownership() {
    let fake = fake(200).await;
    let cloud = cloud(&fake);
    let created = cloud.create_routes(&[key("vtb-sys", "10.244.1.0/24", "i-1")]).await;
    assert_eq!(created[0].result, Ok(WriteOutcome::Applied));
    settle().await;
    let again =
        cloud.create_routes(&[key("vtb-sys", "10.244.1.0/24", "i-1"), key("vtb-sys", "10.244.2.0/24", "i-2")]).await;
    assert_eq!(again[0].result, Ok(WriteOutcome::AlreadyDone), "ours already");
    assert_eq!(again[1].result, Ok(WriteOutcome::Applied));
    settle().await;
    let theirs = cloud.create_routes(&[key("vtb-sys", "10.244.1.0/24", "i-2")]).await;
    assert_eq!(theirs[0].result, Err(RouteWriteError::DestinationTaken { holder: "i-1".into() }));
    let nat = cloud.create_routes(&[key("vtb-b", "10.244.8.0/24", "i-2")]).await;
    assert_eq!(nat[0].result, Err(RouteWriteError::DestinationTaken { holder: "NatGateway ngw-x".into() }));
    fake.shutdown().await;
}

#[tokio::test]
async fn busy_tables_quota_next_hops_and_missing_routes_are_typed() {
    let fake = fake(5).await;
    let cloud = cloud(&fake);
    let first = cloud.create_routes(&[key("vtb-b", "10.244.1.0/24", "i-1")]).await;
    assert_eq!(first[0].result, Ok(WriteOutcome::Applied));
    let busy = cloud.create_routes(&[key("vtb-b", "10.244.2.0/24", "i-2")]).await;
    assert!(matches!(&busy[0].result, Err(RouteWriteError::Busy { code, .. }) if code == "IncorrectRouteEntryStatus"));
    assert!(cloud.has_pending("vtb-b", &[]).await.unwrap());
    let pending: ipnet::IpNet = "10.244.1.0/24".parse().unwrap();
    let other: ipnet::IpNet = "10.244.9.0/24".parse().unwrap();
    assert!(cloud.has_pending("vtb-b", &[pending, other]).await.unwrap(), "filtered to the entries just written");
    assert!(!cloud.has_pending("vtb-b", &[other]).await.unwrap(), "only the entries asked about");
    settle().await;
    assert!(!cloud.has_pending("vtb-b", &[]).await.unwrap());

    let batch =
        cloud.create_routes(&[key("vtb-sys", "10.244.2.0/24", "i-2"), key("vtb-sys", "10.244.3.0/24", "i-404")]).await;
    assert_eq!(batch[0].result, Ok(WriteOutcome::Applied));
    assert!(matches!(&batch[1].result, Err(RouteWriteError::InvalidNextHop { .. })), "{:?}", batch[1]);

    // vtb-b holds three seeded routes and 10.244.1.0/24: one more fits its quota of five.
    let last = cloud.create_routes(&[key("vtb-b", "10.244.4.0/24", "i-2")]).await;
    assert_eq!(last[0].result, Ok(WriteOutcome::Applied));
    settle().await;
    let full = cloud.create_routes(&[key("vtb-b", "10.244.5.0/24", "i-2")]).await;
    let Err(RouteWriteError::QuotaExceeded { message, .. }) = &full[0].result else { panic!("{full:?}") };
    assert!(!message.is_empty(), "the cloud's message is kept");

    let gone =
        cloud.delete_routes(&[key("vtb-b", "10.244.77.0/24", "i-1"), key("vtb-b", "10.244.1.0/24", "i-1")]).await;
    assert_eq!(gone[0].result, Ok(WriteOutcome::AlreadyDone));
    assert_eq!(gone[1].result, Ok(WriteOutcome::Applied));
    settle().await;
    let single = cloud.delete_routes(&[key("vtb-b", "10.244.1.0/24", "i-1")]).await;
    assert_eq!(single[0].result, Ok(WriteOutcome::AlreadyDone));
    let listed = cloud.routes("vtb-b").await.unwrap();
    assert!(listed.iter().any(|r| r.next_hop == NextHop::Other { kind: "NatGateway".into(), id: "ngw-x".into() }));
    fake.shutdown().await;
}

#[tokio::test]
async fn topology_and_instances_come_back_as_plain_data() {
    let fake = fake(200).await;
    let cloud = cloud(&fake);
    let tables = cloud.route_tables("vpc-k8s").await.unwrap();
    let system = tables.iter().find(|t| t.system).unwrap();
    assert_eq!(system.id, "vtb-sys");
    assert_eq!(tables.iter().find(|t| t.id == "vtb-b").unwrap().vswitch_ids, vec!["vsw-b"]);
    let vswitches = cloud.vswitches("vpc-k8s").await.unwrap();
    let a = vswitches.iter().find(|v| v.id == "vsw-a").unwrap();
    assert_eq!(a.ipv4_cidr.unwrap().to_string(), "192.168.0.0/24");
    assert_eq!(a.ipv6_cidr.unwrap().to_string(), "2001:db8:100:1::/64");
    let placed = cloud.instance_vswitches(&["i-2".into(), "i-404".into()]).await.unwrap();
    assert_eq!(placed.into_iter().collect::<Vec<_>>(), vec![("i-2".to_string(), "vsw-b".to_string())]);
    fake.shutdown().await;
}
