//! aliyun-fake as the stack runs it: it answers signed calls with the harness's access key, rejects bad
//! signatures, and its state appears in failure dumps.

use aliyun_api::credentials::StaticProvider;
use aliyun_api::{Client, Credentials, Endpoints, Product, RawRequest};
use e2e::stack::{FAKE_ACCESS_KEY_ID, FAKE_ACCESS_KEY_SECRET};
use e2e::{Stack, StackOptions};

/// The fake's default seed region.
const REGION: &str = "cn-hangzhou";

fn client(stack: &Stack, secret: &str) -> Client {
    Client::builder(REGION)
        .credentials(StaticProvider::new(Credentials::access_key(FAKE_ACCESS_KEY_ID, secret)))
        .endpoints(Endpoints::new(REGION).with_all(stack.fake_endpoint().expect("fake endpoint")))
        .build()
        .expect("client")
}

#[tokio::test]
async fn fake_answers_a_signed_call_and_rejects_a_bad_signature() {
    let stack = Stack::start(StackOptions::new("fake").without_kubernetes()).await.expect("stack");

    let ok = client(&stack, FAKE_ACCESS_KEY_SECRET)
        .call_raw(&RawRequest::new(Product::Ecs, "DescribeInstances").param("RegionId", REGION))
        .await
        .expect("signed DescribeInstances");
    let instances = ok.pointer("/Instances/Instance").and_then(|v| v.as_array()).expect("Instances.Instance");
    assert!(!instances.is_empty(), "the default seed has instances: {ok}");

    let err = client(&stack, "not-the-secret")
        .call_raw(&RawRequest::new(Product::Ecs, "DescribeInstances").param("RegionId", REGION))
        .await
        .expect_err("a wrong secret must be rejected");
    let code = err.api().map(|e| e.code.clone()).unwrap_or_default();
    assert_eq!(code, "SignatureDoesNotMatch", "{err}");

    let state = stack.fake_state().await.expect("/_fake/state");
    assert!(state.is_object(), "{state}");
}

#[tokio::test]
async fn run_binary_points_workspace_binaries_at_the_fake() {
    let stack = Stack::start(StackOptions::new("runbin").without_kubernetes()).await.expect("stack");
    // aliyun-call finds the fake only through the environment run_binary sets (endpoints and access key).
    let mut call = stack
        .run_binary("aliyun-api", "aliyun-call", ["--product", "ecs", "DescribeInstances"], None)
        .expect("aliyun-call");
    let status = call.wait_exit(std::time::Duration::from_secs(60)).await.expect("aliyun-call exits");
    let log = std::fs::read_to_string(call.log_path()).expect("log");
    assert!(status.success(), "aliyun-call failed ({status}):\n{log}");
    assert!(log.contains("Instances"), "{log}");
    assert!(stack.dump().await.contains("log of aliyun-call-1"), "binary logs are part of the dump");
}

#[tokio::test]
async fn full_stack_runs_kubernetes_and_the_fake_together_and_dumps_both() {
    let stack = Stack::start(StackOptions::new("full")).await.expect("stack");
    stack.create_kubelet_node("full-node-1", None, "10.0.1.31", &["172.21.0.0/24"]).await.expect("node");
    let env = stack.fake_env().expect("fake env");
    assert!(env.iter().any(|(k, v)| k == "ECS_ENDPOINT" && v.starts_with("127.0.0.1:")));
    let dump = stack.dump().await;
    assert!(dump.contains("full-node-1"), "nodes in the dump");
    assert!(dump.contains("/_fake/state"), "fake state in the dump");
    assert!(dump.contains("log of kube-apiserver"), "logs in the dump");
}
