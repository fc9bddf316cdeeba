//! The binary comes up under the manifests' RBAC, serves health and metrics, and initializes a node.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use e2e::{CcmOptions, Context as _, KubeletNode, Stack, StackOptions};
use k8s_openapi::api::core::v1::Node;
use kube::Api;

#[tokio::test]
async fn ccm_initializes_a_node_registered_with_a_provider_id() {
    let stack = Stack::start(StackOptions::new("ccm-smoke")).await.unwrap();
    let instance = stack.fake_instances().await.unwrap().remove(0);
    stack
        .register_node(&KubeletNode::new("smoke-1", &instance.private_ip).provider_id(instance.provider_id()))
        .await
        .unwrap();
    let ccm = stack.start_ccm(&CcmOptions::new("node")).unwrap();
    let nodes: Api<Node> = Api::all(stack.admin().await.unwrap());
    let node = stack
        .wait_for("smoke-1 initialized", Duration::from_secs(60), || async {
            let n = nodes.get("smoke-1").await.context("get smoke-1")?;
            let tainted = n
                .spec
                .as_ref()
                .and_then(|s| s.taints.as_ref())
                .is_some_and(|t| t.iter().any(|t| t.key == "node.cloudprovider.kubernetes.io/uninitialized"));
            Ok((!tainted).then_some(n))
        })
        .await
        .unwrap();
    let labels = node.metadata.labels.unwrap();
    assert_eq!(labels["topology.kubernetes.io/region"], "cn-hangzhou");
    assert_eq!(labels["node.kubernetes.io/instance-type"], instance.instance_type);
    assert_eq!(ccm.healthz().await, Some(200));
    assert!(ccm.metrics().await.unwrap().contains("aliyun_api_requests"));
}
