//! The control plane itself: it comes up with RBAC on, identities behave as configured, kubelet-style Nodes
//! look like a real kubelet's, manifests apply, and stopping a stack leaves no process behind.

use std::time::Duration;

use e2e::fixtures::{endpoint_slice, load_balancer_service};
use e2e::{Identity, KubeletNode, Stack, StackOptions, UNINITIALIZED_TAINT};
use k8s_openapi::api::core::v1::{Namespace, Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};

fn is_forbidden(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 403)
}

#[tokio::test]
async fn control_plane_serves_the_expected_version_and_namespaces() {
    let stack = Stack::shared().await.expect("shared stack");
    let _dump = stack.guard();
    let client = stack.admin().await.expect("admin client");
    let version = client.apiserver_version().await.expect("/version");
    assert_eq!(version.git_version, e2e::bins::kubernetes_version());
    let namespaces: Api<Namespace> = Api::all(client);
    for ns in ["default", "kube-system"] {
        namespaces.get(ns).await.unwrap_or_else(|e| panic!("namespace {ns}: {e}"));
    }
    for who in [Identity::Admin, Identity::Ccm, Identity::Nobody] {
        let path = stack.kubeconfig(&who).expect("kubeconfig");
        assert!(path.is_file(), "{} missing", path.display());
    }
}

#[tokio::test]
async fn kubelet_node_is_readable_with_taint_addresses_cidrs_and_ready_status() {
    let stack = Stack::shared().await.expect("shared stack");
    let _dump = stack.guard();
    let created = stack
        .create_kubelet_node("cp-node-a", Some("cn-hangzhou.i-e2e0001"), "10.0.1.11", &["172.20.1.0/24"])
        .await
        .expect("node");
    assert_eq!(created.metadata.name.as_deref(), Some("cp-node-a"));

    let nodes: Api<Node> = Api::all(stack.admin().await.expect("client"));
    let node = nodes.get("cp-node-a").await.expect("read back");
    let spec = node.spec.expect("spec");
    let taints = spec.taints.unwrap_or_default();
    assert!(
        taints
            .iter()
            .any(|t| t.key == UNINITIALIZED_TAINT && t.value.as_deref() == Some("true") && t.effect == "NoSchedule"),
        "taints: {taints:?}"
    );
    assert_eq!(spec.provider_id.as_deref(), Some("cn-hangzhou.i-e2e0001"));
    assert_eq!(spec.pod_cidr.as_deref(), Some("172.20.1.0/24"));
    assert_eq!(spec.pod_cidrs, Some(vec!["172.20.1.0/24".to_string()]));

    let status = node.status.expect("status");
    let addresses: Vec<(String, String)> =
        status.addresses.unwrap_or_default().into_iter().map(|a| (a.type_, a.address)).collect();
    assert_eq!(
        addresses,
        vec![("InternalIP".to_string(), "10.0.1.11".to_string()), ("Hostname".to_string(), "cp-node-a".to_string())]
    );
    let conditions = status.conditions.unwrap_or_default();
    let ready = conditions.iter().find(|c| c.type_ == "Ready").expect("Ready condition");
    assert_eq!(ready.status, "True");

    // A kubelet that never reported has no Ready condition; flipping Ready keeps the other conditions.
    stack.register_node(&KubeletNode::new("cp-node-b", "10.0.1.12").not_ready()).await.expect("node b");
    let b = nodes.get("cp-node-b").await.expect("read b");
    assert!(b.status.and_then(|s| s.conditions).unwrap_or_default().is_empty());
    let a = stack.set_node_ready("cp-node-a", false).await.expect("not ready");
    let conditions = a.status.and_then(|s| s.conditions).unwrap_or_default();
    assert_eq!(conditions.len(), 4, "{conditions:?}");
    assert!(conditions.iter().any(|c| c.type_ == "Ready" && c.status == "False"));
}

#[tokio::test]
async fn rbac_is_enforced_for_users_without_bindings() {
    let stack = Stack::shared().await.expect("shared stack");
    let _dump = stack.guard();
    let nobody: Api<Node> = Api::all(stack.client(&Identity::Nobody).await.expect("client"));
    let err = nobody.list(&ListParams::default()).await.expect_err("nobody must not list nodes");
    assert!(is_forbidden(&err), "expected 403, got {err}");

    let admin: Api<Node> = Api::all(stack.admin().await.expect("client"));
    admin.list(&ListParams::default()).await.expect("admin lists nodes");
}

#[tokio::test]
async fn applied_manifests_grant_rbac_to_users_and_to_the_ccm_service_account() {
    let stack = Stack::shared().await.expect("shared stack");
    let _dump = stack.guard();
    let viewer = Identity::User("e2e-viewer".into());
    let viewer_nodes: Api<Node> = Api::all(stack.client(&viewer).await.expect("client"));
    assert!(is_forbidden(&viewer_nodes.list(&ListParams::default()).await.expect_err("no RBAC yet")));

    // Multi-document YAML, cluster-scoped and namespaced objects, a ServiceAccount subject: the shape of the
    // project's manifests/rbac.
    let applied = stack
        .apply_yaml(
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-node-viewer}
rules:
- apiGroups: [""]
  resources: [nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-node-viewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-node-viewer}
subjects:
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: e2e-viewer}
- {kind: ServiceAccount, name: cloud-controller-manager, namespace: kube-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: e2e-manifest-test, namespace: kube-system}
data: {applied: "yes"}
"#,
        )
        .await
        .expect("apply");
    assert_eq!(applied.len(), 3);

    // Applying again is a no-op, not an error (server-side apply).
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("again.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: cloud-controller-manager, namespace: kube-system}\n",
    )
    .expect("write");
    stack.apply_manifest(&file).await.expect("re-apply");

    // RBAC takes effect through the authorizer's informers: allow a moment.
    e2e::wait_for("RBAC for e2e-viewer and the CCM", Duration::from_secs(30), || {
        let viewer_nodes = viewer_nodes.clone();
        async move {
            let viewer_ok = viewer_nodes.list(&ListParams::default()).await.is_ok();
            let ccm: Api<Node> = Api::all(stack.client(&Identity::Ccm).await?);
            let ccm_ok = ccm.list(&ListParams::default()).await.is_ok();
            Ok((viewer_ok && ccm_ok).then_some(()))
        }
    })
    .await
    .expect("bindings apply");
    // The binding is read-only.
    let err = viewer_nodes.delete("cp-node-none", &Default::default()).await.expect_err("no delete permission");
    assert!(is_forbidden(&err), "expected 403, got {err}");
}

#[tokio::test]
async fn the_projects_rbac_manifests_are_applied_for_the_ccm_identity() {
    let rbac = e2e::stack::workspace_root().join("manifests/rbac");
    if !rbac.is_dir() {
        eprintln!("{} does not exist yet; nothing to check", rbac.display());
        return;
    }
    let stack = Stack::shared().await.expect("shared stack");
    let _dump = stack.guard();
    // Every controller of the CCM watches Nodes, so any correct RBAC lets the CCM list them; the same request
    // is forbidden without a binding (see rbac_is_enforced_for_users_without_bindings).
    let ccm: Api<Node> = Api::all(stack.client(&Identity::Ccm).await.expect("client"));
    ccm.list(&ListParams::default()).await.expect("the CCM lists nodes under manifests/rbac");
}

#[tokio::test]
async fn services_and_hand_made_endpoint_slices_are_accepted() {
    let stack = Stack::shared().await.expect("shared stack");
    let _dump = stack.guard();
    let ns = stack.create_namespace("svc").await.expect("namespace");
    let svc = stack.create_service(&load_balancer_service(&ns, "web", 80, 8080)).await.expect("service");
    let spec = svc.spec.expect("spec");
    assert_eq!(spec.type_.as_deref(), Some("LoadBalancer"));
    assert!(spec.cluster_ip.is_some_and(|ip| ip.starts_with("10.0.")), "the apiserver allocates a ClusterIP");
    let node_port = spec.ports.unwrap_or_default()[0].node_port;
    assert!(node_port.is_some_and(|p| (30000..=32767).contains(&p)), "and a NodePort: {node_port:?}");

    stack
        .create_endpoint_slice(&endpoint_slice(
            &ns,
            "web",
            8080,
            &[("10.0.1.21", "cp-node-a"), ("10.0.1.22", "cp-node-b")],
        ))
        .await
        .expect("endpointslice");
    let slices: Api<EndpointSlice> = Api::namespaced(stack.admin().await.expect("client"), &ns);
    let listed = slices.list(&ListParams::default().labels("kubernetes.io/service-name=web")).await.expect("list");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].endpoints.as_ref().map(Vec::len), Some(2));
    let services: Api<Service> = Api::namespaced(stack.admin().await.expect("client"), &ns);
    assert!(services.get_opt("web").await.expect("get").is_some());
}

#[tokio::test]
async fn a_stack_stops_every_process_it_started() {
    let stack = Stack::start(StackOptions::new("stop").without_fake()).await.expect("stack");
    let dir = stack.dir().to_path_buf();
    let pids: Vec<u32> = ["etcd", "kube-apiserver"]
        .iter()
        .map(|name| e2e::process::read_pid(&dir.join(format!("{name}.pid"))).expect("pid file"))
        .collect();
    assert!(pids.iter().all(|p| e2e::process::pid_alive(*p)));
    drop(stack);
    for pid in pids {
        assert!(!e2e::process::pid_alive(pid), "process {pid} survived the stack");
    }
    assert!(!dir.exists(), "{} was not removed", dir.display());
}
