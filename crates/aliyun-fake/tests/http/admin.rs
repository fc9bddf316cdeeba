use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn qps_limit_answers_throttling_with_the_rate_header() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r = c.admin("PUT", "/_fake/faults", Some(json!({"qps": {"DescribeVpcs": 1}}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Two calls within the same second: the second is throttled. Retry the
    // pair if the first call happened to land at the end of a second.
    for _ in 0..5 {
        let first = c.rpc(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")]).await;
        let second = c.rpc(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")]).await;
        if second.status == 200 {
            continue;
        }
        assert_eq!(first.status, 200);
        assert_eq!((second.status, second.code()), (400, "Throttling.User"));
        assert_eq!(second.body["Message"], "Request was denied due to user flow control.");
        let header = second.headers["x-ratelimit-user-api"].to_str().unwrap();
        let fields: Vec<&str> = header.split(',').collect();
        assert_eq!(fields[0], "Limit:1");
        assert_eq!(fields[1], "Remain:0");
        let left: u64 = fields[2].strip_prefix("TimeLeft:").unwrap().parse().unwrap();
        assert!(left <= 1000);
        assert!(fields[3].starts_with("Reset:"));
        let retry_after: u64 = second.headers["x-acs-retry-after"].to_str().unwrap().parse().unwrap();
        assert_eq!(retry_after, left);
        let other = c.rpc(VPC, "DescribeVSwitches", &[("RegionId", "cn-hangzhou")]).await;
        assert_eq!(other.status, 200, "other actions are not limited");
        return;
    }
    panic!("the second call within a second was never throttled");
}

#[tokio::test]
async fn injected_errors_and_latency() {
    let fake = start().await;
    let c = Client::new(&fake);
    let rules = json!({
        "errors": {"DescribeInstances": {"code": "ServiceUnavailable", "status": 503, "remaining": 1}},
        "latency_ms": {"DescribeVpcs": 300}
    });
    assert_eq!(c.admin("POST", "/_fake/faults", Some(rules)).await.status, 200);
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!((r.status, r.code()), (503, "ServiceUnavailable"));
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!(r.status, 200, "the rule fired once");
    let started = Instant::now();
    assert_eq!(c.rpc(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")]).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let faults = c.admin("GET", "/_fake/faults", None).await;
    assert_eq!(faults.body["latency_ms"]["DescribeVpcs"], 300);
    assert_eq!(c.admin("DELETE", "/_fake/faults", None).await.status, 200);
    let bad = c.admin("PUT", "/_fake/faults", Some(json!({"errors": {"X": {"code": "Y", "rate": 2.0}}}))).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn cloud_side_instance_changes_show_in_the_api() {
    let fake = start().await;
    let c = Client::new(&fake);
    let id = "i-bp1fakenode000000002";
    assert_eq!(c.admin("POST", &format!("/_fake/instances/{id}/stop"), None).await.status, 200);
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("Status", "Stopped")]).await;
    assert_eq!(r.body["Instances"]["Instance"][0]["InstanceId"], id);
    assert_eq!(c.admin("POST", &format!("/_fake/instances/{id}/start"), None).await.status, 200);
    assert_eq!(c.admin("DELETE", &format!("/_fake/instances/{id}"), None).await.status, 200);
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!(r.body["TotalCount"], 2);
    assert_eq!(c.admin("DELETE", &format!("/_fake/instances/{id}"), None).await.status, 404);

    let added = c
        .admin(
            "POST",
            "/_fake/instances",
            Some(json!({"id": "i-new", "hostname": "node-4", "vswitch": "vsw-bp1fakevswi000000001"})),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("InstanceIds", r#"["i-new"]"#)]).await;
    assert_eq!(r.body["Instances"]["Instance"][0]["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0], "192.168.1.1");
}

#[tokio::test]
async fn call_log_counts_per_action_and_resets() {
    let fake = start().await;
    let c = Client::new(&fake);
    c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await;
    c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await;
    c.rpc(VPC, "DescribeVpcs", &[]).await;
    let log = c.admin("GET", "/_fake/calls", None).await;
    assert_eq!(log.body["byAction"]["DescribeInstances"], 2);
    assert_eq!(log.body["byCode"]["MissingParameter"], 1);
    assert_eq!(log.body["total"], 3);
    let call = &log.body["calls"][0];
    assert_eq!(call["product"], "Ecs");
    assert_eq!(call["accessKeyId"], AK);
    assert_eq!(call["params"]["RegionId"], "cn-hangzhou");
    assert!(call["params"].get("Signature").is_none());
    assert_eq!(fake.call_count("DescribeInstances"), 2);
    assert_eq!(c.admin("POST", "/_fake/reset-calls", None).await.status, 200);
    assert_eq!(c.admin("GET", "/_fake/calls", None).await.body["total"], 0);
}

#[tokio::test]
async fn admin_help_and_unknown_paths() {
    let fake = start().await;
    let c = Client::new(&fake);
    let help = c.admin("GET", "/_fake/", None).await;
    assert!(help.text.contains("/_fake/calls"));
    assert_eq!(c.admin("GET", "/_fake/nothing", None).await.status, 404);
    let bad = c.admin("POST", "/_fake/clock/advance", Some(json!({"minutes": 1}))).await;
    assert_eq!(bad.status, 400);
}
