#![allow(clippy::unwrap_used)]
//! The CLB service controller end to end: `cloud-controller-manager --controllers=service` against a real
//! kube-apiserver and aliyun-fake (issue 7's e2e list).
//!
//! Most scenarios share one stack (nodes for the seed's three ECS instances, one CCM), each in its own namespace
//! with its own Services. Node churn changes the node set every Service sees, so it runs on a stack of its own.

use std::collections::BTreeMap;
use std::time::Duration;

use aliyun_api::credentials::StaticProvider;
use aliyun_api::{Client, Credentials, Endpoints, Product, RawRequest};
use e2e::ccm::{E2E_CLUSTER_ID, SEED_REGION, SEED_VPC, SEED_VSWITCHES};
use e2e::fixtures::{endpoint_slice, load_balancer_service};
use e2e::slb_admin::{FakeLoadBalancer, SlbSnapshot, ipv4_in_cidr};
use e2e::stack::{FAKE_ACCESS_KEY_ID, FAKE_ACCESS_KEY_SECRET};
use e2e::{CcmOptions, Context as _, FakeInstance, KubeletNode, RunningCcm, Stack, StackOptions};
use k8s_openapi::api::core::v1::{Event, Node, Service, ServicePort};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);
/// Tag marking a load balancer the controller created for a Service: `a` + the UID without dashes, 32 characters.
const OWNER_TAG: &str = "kubernetes.do.not.delete";
/// Cluster tag (default `kubernetesClusterTag`), valued with the cloud-config's cluster ID.
const CLUSTER_TAG: &str = "ack.aliyun.com";
/// The Go CCM's Service finalizer.
const FINALIZER: &str = "service.k8s.alibaba/resources";
/// Annotation prefix.
const ANNOTATION: &str = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-";

/// A node for each of the seed's ECS instances, as the tests see them.
#[derive(Debug, Clone)]
struct ClusterNode {
    name: String,
    instance: FakeInstance,
}

/// The stack most scenarios share.
struct Shared {
    stack: Stack,
    nodes: Vec<ClusterNode>,
    _ccm: RunningCcm,
}

static SHARED: tokio::sync::OnceCell<Shared> = tokio::sync::OnceCell::const_new();

/// The shared stack: three Ready, initialized ECS nodes and a CCM running only the service controller.
async fn shared() -> &'static Shared {
    SHARED
        .get_or_init(|| async {
            let mut opts = StackOptions::new("clb");
            opts.remove_dir_at_exit = true;
            let stack = Stack::start(opts).await.unwrap();
            let instances = stack.fake_instances().await.unwrap();
            assert_eq!(instances.len(), 3, "the default seed has three instances");
            let mut nodes = Vec::new();
            for (i, instance) in instances.into_iter().enumerate() {
                nodes.push(register_node(&stack, &format!("clb-node-{i}"), instance).await);
            }
            let ccm = stack.start_ccm(&CcmOptions::new("service")).unwrap();
            Shared { stack, nodes, _ccm: ccm }
        })
        .await
}

/// Registers a Ready node for `instance` (provider ID set) and initializes it as the node controller would
/// (drops the uninitialized taint).
async fn register_node(stack: &Stack, name: &str, instance: FakeInstance) -> ClusterNode {
    stack
        .register_node(&KubeletNode::new(name, &instance.private_ip).provider_id(instance.provider_id()))
        .await
        .unwrap();
    let nodes: Api<Node> = Api::all(stack.admin().await.unwrap());
    nodes.patch(name, &PatchParams::default(), &Patch::Merge(json!({"spec": {"taints": null}}))).await.unwrap();
    ClusterNode { name: name.to_owned(), instance }
}

/// A TCP LoadBalancer Service with annotations (short keys get the annotation prefix).
fn service(ns: &str, name: &str, port: i32, annotations: &[(&str, &str)]) -> Service {
    let mut svc = load_balancer_service(ns, name, port, 8080);
    if !annotations.is_empty() {
        svc.metadata.annotations = Some(
            annotations
                .iter()
                .map(|(k, v)| {
                    let key = if k.contains('/') { (*k).to_owned() } else { format!("{ANNOTATION}{k}") };
                    (key, (*v).to_owned())
                })
                .collect(),
        );
    }
    svc
}

/// The owner tag value of a Service: `a` + its UID without dashes, cut to 32 characters.
fn owner_of(svc: &Service) -> String {
    let uid = svc.metadata.uid.as_deref().unwrap();
    let mut owner: String = std::iter::once('a').chain(uid.chars().filter(|c| *c != '-')).collect();
    owner.truncate(32);
    owner
}

/// `k8s/<port>/<svc>/<ns>/<clusterID>`: listener description and (with the node port) vServer group name.
fn key(port: i32, svc: &Service) -> String {
    format!(
        "k8s/{port}/{}/{}/{E2E_CLUSTER_ID}",
        svc.metadata.name.as_deref().unwrap(),
        svc.metadata.namespace.as_deref().unwrap()
    )
}

fn node_ports(svc: &Service) -> Vec<(i32, String, i32)> {
    svc.spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.port, p.protocol.unwrap_or_default(), p.node_port.unwrap_or_default()))
        .collect()
}

fn ingress_ip(svc: &Service) -> Option<String> {
    svc.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref()?.first()?.ip.clone()
}

fn finalizers(svc: &Service) -> Vec<String> {
    svc.metadata.finalizers.clone().unwrap_or_default()
}

/// Waits until the Service publishes an ingress IP; returns the Service and the IP.
async fn wait_for_ingress(stack: &Stack, ns: &str, name: &str) -> (Service, String) {
    let api: Api<Service> = Api::namespaced(stack.admin().await.unwrap(), ns);
    stack
        .wait_for(&format!("service {ns}/{name} to get an ingress IP"), TIMEOUT, || async {
            let svc = api.get(name).await.context(format!("get service {ns}/{name}"))?;
            Ok(ingress_ip(&svc).map(|ip| (svc, ip)))
        })
        .await
        .unwrap()
}

/// Waits until `probe` finds what it looks for in the fake's SLB state.
async fn wait_slb<T>(stack: &Stack, desc: &str, probe: impl Fn(&SlbSnapshot) -> Option<T>) -> T {
    stack.wait_for(desc, TIMEOUT, || async { Ok(probe(&stack.slb_state().await?)) }).await.unwrap()
}

/// The one load balancer tagged as the Service's own.
fn owned_lb<'a>(slb: &'a SlbSnapshot, svc: &Service) -> Option<&'a FakeLoadBalancer> {
    match slb.tagged(OWNER_TAG, &owner_of(svc)).as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// `(server id, port, weight)` of every backend of a vServer group, sorted.
type BackendSet = Vec<(String, u16, u8)>;

/// `(instance id, node port, weight)` for each node, sorted (what a vServer group's backends must be).
fn backends(nodes: &[(&ClusterNode, u8)], node_port: i32) -> BackendSet {
    let port = u16::try_from(node_port).unwrap();
    let mut set: Vec<_> = nodes.iter().map(|(n, w)| (n.instance.instance_id.clone(), port, *w)).collect();
    set.sort();
    set
}

/// The backends of the vServer group of `lb` bound to listener `port/protocol`, with the group's name.
fn listener_backends(
    slb: &SlbSnapshot,
    lb: &FakeLoadBalancer,
    port: u16,
    protocol: &str,
) -> Option<(String, BackendSet)> {
    let listener = lb.listener(port, protocol)?;
    let group = slb.group(&listener.vserver_group_id)?;
    Some((group.vserver_group_name.clone(), group.backend_set()))
}

fn fake_slb_client(stack: &Stack) -> Client {
    Client::builder(SEED_REGION)
        .credentials(StaticProvider::new(Credentials::access_key(FAKE_ACCESS_KEY_ID, FAKE_ACCESS_KEY_SECRET)))
        .endpoints(Endpoints::new(SEED_REGION).with_all(stack.fake_endpoint().unwrap()))
        .build()
        .unwrap()
}

async fn slb_call(client: &Client, action: &str, params: &[(&str, &str)]) -> serde_json::Value {
    let mut request = RawRequest::new(Product::Slb, action).param("RegionId", SEED_REGION);
    for (k, v) in params {
        request = request.param(*k, *v);
    }
    client.call_raw(&request).await.unwrap_or_else(|e| panic!("{action}: {e}"))
}

/// Whether every Service's first listener forwards to exactly `nodes` (weight 100) on its node port.
fn all_backends_are(slb: &SlbSnapshot, services: &[Service], nodes: &[&ClusterNode]) -> Option<()> {
    let weighted: Vec<_> = nodes.iter().map(|n| (*n, 100)).collect();
    services
        .iter()
        .all(|svc| {
            let (port, _, node_port) = node_ports(svc)[0];
            owned_lb(slb, svc)
                .and_then(|lb| listener_backends(slb, lb, u16::try_from(port).unwrap(), "tcp"))
                .is_some_and(|(_, set)| set == backends(&weighted, node_port))
        })
        .then_some(())
}

/// Waits until the Service has events with every one of `reasons`.
async fn wait_for_events(stack: &Stack, ns: &str, name: &str, reasons: &[&str]) {
    let events: Api<Event> = Api::namespaced(stack.admin().await.unwrap(), ns);
    let params = kube::api::ListParams::default().fields(&format!("involvedObject.name={name}"));
    stack
        .wait_for(&format!("events {reasons:?} of service {ns}/{name}"), TIMEOUT, || async {
            let list = events.list(&params).await.context("list events")?;
            let seen: Vec<String> = list.items.into_iter().filter_map(|e| e.reason).collect();
            Ok(reasons.iter().all(|r| seen.iter().any(|s| s == r)).then_some(()))
        })
        .await
        .unwrap();
}

async fn wait_service_gone(stack: &Stack, ns: &str, name: &str) {
    let api: Api<Service> = Api::namespaced(stack.admin().await.unwrap(), ns);
    stack
        .wait_for(&format!("service {ns}/{name} to be gone (finalizer removed)"), TIMEOUT, || async {
            Ok(api.get_opt(name).await.context(format!("get service {ns}/{name}"))?.is_none().then_some(()))
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn create_publishes_the_address_and_delete_removes_the_load_balancer() {
    let shared = shared().await;
    let stack = &shared.stack;
    let _dump = stack.guard();
    let ns = stack.create_namespace("clb-create").await.unwrap();
    stack.create_service(&service(&ns, "web", 80, &[])).await.unwrap();

    let (svc, ip) = wait_for_ingress(stack, &ns, "web").await;
    assert!(finalizers(&svc).contains(&FINALIZER.to_owned()), "finalizer: {:?}", svc.metadata.finalizers);
    let node_port = node_ports(&svc)[0].2;
    let all: Vec<_> = shared.nodes.iter().map(|n| (n, 100)).collect();
    let expected_backends = backends(&all, node_port);
    let slb = wait_slb(stack, "web's load balancer with listener 80 and three backends", |slb| {
        let lb = owned_lb(slb, &svc)?;
        let (_, set) = listener_backends(slb, lb, 80, "tcp")?;
        (set == expected_backends).then(|| slb.clone())
    })
    .await;
    let lb = owned_lb(&slb, &svc).unwrap();
    assert_eq!(lb.address, ip, "status.loadBalancer.ingress[0].ip is the load balancer's address");
    assert_eq!(lb.address_type, "internet");
    assert_eq!(lb.load_balancer_name, owner_of(&svc), "default name is the owner tag value");
    assert_eq!(lb.tag(CLUSTER_TAG), Some(E2E_CLUSTER_ID));
    assert_eq!(lb.delete_protection, "on");
    assert_eq!(lb.listener_ports(), [("tcp".to_owned(), 80)]);
    let listener = lb.listener(80, "tcp").unwrap();
    assert_eq!(listener.description, format!("k8s/80/web/{ns}/{E2E_CLUSTER_ID}"));
    assert_eq!(listener.status, "running");
    let group = slb.group(&listener.vserver_group_id).unwrap();
    assert_eq!(group.vserver_group_name, key(node_port, &svc));
    assert!(group.backends.iter().all(|b| b.description == group.vserver_group_name && b.server_type == "ecs"));
    wait_for_events(stack, &ns, "web", &["EnsuringLoadBalancer", "EnsuredLoadBalancer"]).await;

    let lb_id = lb.load_balancer_id.clone();
    let api: Api<Service> = Api::namespaced(stack.admin().await.unwrap(), &ns);
    api.delete("web", &DeleteParams::default()).await.unwrap();
    wait_slb(stack, "web's load balancer to be deleted", |slb| {
        (slb.load_balancer(&lb_id).is_none() && slb.groups_of(&lb_id).is_empty()).then_some(())
    })
    .await;
    wait_service_gone(stack, &ns, "web").await;
    wait_for_events(stack, &ns, "web", &["DeletingLoadBalancer", "DeletedLoadBalancer"]).await;
}

#[tokio::test]
async fn changing_the_type_away_from_load_balancer_cleans_up() {
    let shared = shared().await;
    let stack = &shared.stack;
    let _dump = stack.guard();
    let ns = stack.create_namespace("clb-retype").await.unwrap();
    stack.create_service(&service(&ns, "retype", 80, &[])).await.unwrap();
    let (svc, _) = wait_for_ingress(stack, &ns, "retype").await;
    let lb_id =
        wait_slb(stack, "retype's load balancer", |slb| owned_lb(slb, &svc).map(|lb| lb.load_balancer_id.clone()))
            .await;

    let api: Api<Service> = Api::namespaced(stack.admin().await.unwrap(), &ns);
    api.patch("retype", &PatchParams::default(), &Patch::Merge(json!({"spec": {"type": "ClusterIP"}}))).await.unwrap();
    wait_slb(stack, "retype's load balancer to be deleted", |slb| slb.load_balancer(&lb_id).is_none().then_some(()))
        .await;
    let svc = stack
        .wait_for("retype's finalizer and ingress to be removed", TIMEOUT, || async {
            let svc = api.get("retype").await.context("get retype")?;
            Ok((finalizers(&svc).is_empty() && ingress_ip(&svc).is_none()).then_some(svc))
        })
        .await
        .unwrap();
    assert_eq!(svc.spec.and_then(|s| s.type_).as_deref(), Some("ClusterIP"));
}

#[tokio::test]
async fn port_change_replaces_listeners_on_the_same_load_balancer() {
    let shared = shared().await;
    let stack = &shared.stack;
    let _dump = stack.guard();
    let ns = stack.create_namespace("clb-ports").await.unwrap();
    stack.create_service(&service(&ns, "app", 80, &[])).await.unwrap();
    let (svc, ip) = wait_for_ingress(stack, &ns, "app").await;
    let lb_id = wait_slb(stack, "app's listener 80", |slb| {
        let lb = owned_lb(slb, &svc)?;
        lb.listener(80, "tcp").map(|_| lb.load_balancer_id.clone())
    })
    .await;

    // 80/TCP becomes 8080/TCP, and 53/UDP is added.
    let ports = vec![
        ServicePort {
            name: Some("tcp".into()),
            protocol: Some("TCP".into()),
            port: 8080,
            target_port: Some(IntOrString::Int(8080)),
            ..Default::default()
        },
        ServicePort {
            name: Some("dns".into()),
            protocol: Some("UDP".into()),
            port: 53,
            target_port: Some(IntOrString::Int(53)),
            ..Default::default()
        },
    ];
    let api: Api<Service> = Api::namespaced(stack.admin().await.unwrap(), &ns);
    let svc =
        api.patch("app", &PatchParams::default(), &Patch::Merge(json!({"spec": {"ports": ports}}))).await.unwrap();
    let [(8080, _, tcp_node_port), (53, _, udp_node_port)] = node_ports(&svc)[..] else {
        panic!("ports after the change: {:?}", node_ports(&svc));
    };
    let all: Vec<_> = shared.nodes.iter().map(|n| (n, 100)).collect();
    let slb = wait_slb(stack, "app's listeners to be 8080/tcp and 53/udp with backends", |slb| {
        let lb = slb.load_balancer(&lb_id)?;
        let got = lb.listener_ports();
        let wanted = [("tcp".to_owned(), 8080), ("udp".to_owned(), 53)];
        let tcp = listener_backends(slb, lb, 8080, "tcp")?;
        let udp = listener_backends(slb, lb, 53, "udp")?;
        (got == wanted
            && tcp == (key(tcp_node_port, &svc), backends(&all, tcp_node_port))
            && udp == (key(udp_node_port, &svc), backends(&all, udp_node_port))
            && slb.groups_of(&lb_id).len() == 2
            // A listener is created stopped and started by a later call: wait for both to run.
            && lb.listeners.iter().all(|l| l.status == "running"))
        .then(|| slb.clone())
    })
    .await;
    let lb = slb.load_balancer(&lb_id).unwrap();
    assert_eq!(lb.listener(8080, "tcp").unwrap().description, format!("k8s/8080/app/{ns}/{E2E_CLUSTER_ID}"));
    assert_eq!(lb.listener(53, "udp").unwrap().description, format!("k8s/53/app/{ns}/{E2E_CLUSTER_ID}"));
    assert!(lb.listeners.iter().all(|l| l.status == "running"), "{:?}", lb.listeners);
    assert_eq!(slb.tagged(OWNER_TAG, &owner_of(&svc)).len(), 1, "still one load balancer");
    let svc = api.get("app").await.unwrap();
    assert_eq!(ingress_ip(&svc).as_deref(), Some(ip.as_str()), "the address stays");
}

#[tokio::test]
async fn local_policy_weights_backends_by_endpoints_per_node() {
    let shared = shared().await;
    let stack = &shared.stack;
    let _dump = stack.guard();
    let [n0, n1, n2] = &shared.nodes[..] else { panic!("three nodes") };
    let ns = stack.create_namespace("clb-local").await.unwrap();
    let slice = endpoint_slice(
        &ns,
        "local",
        8080,
        &[("10.244.0.1", &n0.name), ("10.244.0.2", &n0.name), ("10.244.0.3", &n0.name), ("10.244.1.1", &n1.name)],
    );
    stack.create_endpoint_slice(&slice).await.unwrap();
    let mut svc = service(&ns, "local", 80, &[]);
    svc.spec.as_mut().unwrap().external_traffic_policy = Some("Local".into());
    stack.create_service(&svc).await.unwrap();

    let (svc, _) = wait_for_ingress(stack, &ns, "local").await;
    let node_port = node_ports(&svc)[0].2;
    let hc_port = svc.spec.as_ref().and_then(|s| s.health_check_node_port).unwrap();
    let expected = backends(&[(n0, 3), (n1, 1)], node_port);
    let slb = wait_slb(stack, "Local backends weighted 3 (node 0) and 1 (node 1)", |slb| {
        let lb = owned_lb(slb, &svc)?;
        let (_, set) = listener_backends(slb, lb, 80, "tcp")?;
        (set == expected).then(|| slb.clone())
    })
    .await;
    let listener = owned_lb(&slb, &svc).unwrap().listener(80, "tcp").unwrap().clone();
    assert_eq!(listener.attribute("HealthCheckType").as_deref(), Some("http"), "{listener:?}");
    assert_eq!(listener.attribute("HealthCheckURI").as_deref(), Some("/healthz"), "{listener:?}");
    assert_eq!(listener.attribute("HealthCheckConnectPort"), Some(hc_port.to_string()), "{listener:?}");

    // The pods move: two ready on node 2, one not ready on node 0.
    let mut endpoints =
        endpoint_slice(&ns, "local", 8080, &[("10.244.2.1", &n2.name), ("10.244.2.2", &n2.name)]).endpoints.unwrap();
    let mut not_ready = endpoint_slice(&ns, "local", 8080, &[("10.244.0.9", &n0.name)]).endpoints.unwrap();
    not_ready[0].conditions.as_mut().unwrap().ready = Some(false);
    endpoints.extend(not_ready);
    let slices: Api<EndpointSlice> = Api::namespaced(stack.admin().await.unwrap(), &ns);
    slices.patch("local-e2e", &PatchParams::default(), &Patch::Merge(json!({"endpoints": endpoints}))).await.unwrap();
    let expected = backends(&[(n2, 2)], node_port);
    wait_slb(stack, "Local backends to follow the endpoints: node 2 with weight 2 only", |slb| {
        let lb = owned_lb(slb, &svc)?;
        let (_, set) = listener_backends(slb, lb, 80, "tcp")?;
        (set == expected).then_some(())
    })
    .await;
}

#[tokio::test]
async fn services_with_a_load_balancer_class_are_left_alone() {
    let shared = shared().await;
    let stack = &shared.stack;
    let _dump = stack.guard();
    let ns = stack.create_namespace("clb-class").await.unwrap();
    let mut classed = service(&ns, "metallb", 80, &[]);
    classed.spec.as_mut().unwrap().load_balancer_class = Some("metallb.io/metallb".into());
    let classed = stack.create_service(&classed).await.unwrap();
    // The Go CCM's opt-out annotation.
    let opted_out = stack
        .create_service(&service(&ns, "opted-out", 80, &[("service.beta.kubernetes.io/class", "other")]))
        .await
        .unwrap();
    // A Service created afterwards gets its load balancer: the controller has seen the others by then.
    stack.create_service(&service(&ns, "control", 80, &[])).await.unwrap();
    wait_for_ingress(stack, &ns, "control").await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let api: Api<Service> = Api::namespaced(stack.admin().await.unwrap(), &ns);
    let slb = stack.slb_state().await.unwrap();
    for created in [&classed, &opted_out] {
        let name = created.metadata.name.as_deref().unwrap();
        let now = api.get(name).await.unwrap();
        assert_eq!(ingress_ip(&now), None, "{name}: no ingress");
        assert!(finalizers(&now).is_empty(), "{name}: no finalizer: {:?}", now.metadata.finalizers);
        let owner = owner_of(created);
        assert!(slb.tagged(OWNER_TAG, &owner).is_empty() && slb.named(&owner).is_empty(), "{name}: no load balancer");
    }
}

#[tokio::test]
async fn reusing_a_load_balancer_by_id_keeps_foreign_listeners() {
    let shared = shared().await;
    let stack = &shared.stack;
    let _dump = stack.guard();
    // A load balancer someone made by hand, with a listener of their own on 9000.
    let cloud = fake_slb_client(stack);
    let created =
        slb_call(&cloud, "CreateLoadBalancer", &[("LoadBalancerName", "e2e-hand-made"), ("AddressType", "internet")])
            .await;
    let lb_id = created["LoadBalancerId"].as_str().unwrap().to_owned();
    let address = created["Address"].as_str().unwrap().to_owned();
    let group =
        slb_call(&cloud, "CreateVServerGroup", &[("LoadBalancerId", &lb_id), ("VServerGroupName", "hand-made")]).await;
    let foreign_group = group["VServerGroupId"].as_str().unwrap().to_owned();
    slb_call(
        &cloud,
        "CreateLoadBalancerTCPListener",
        &[
            ("LoadBalancerId", &lb_id),
            ("ListenerPort", "9000"),
            ("Bandwidth", "-1"),
            ("VServerGroupId", &foreign_group),
            ("Description", "hand-made listener"),
        ],
    )
    .await;
    slb_call(&cloud, "StartLoadBalancerListener", &[("LoadBalancerId", &lb_id), ("ListenerPort", "9000")]).await;

    let ns = stack.create_namespace("clb-reuse").await.unwrap();
    let svc = service(&ns, "reuse", 80, &[("id", &lb_id), ("force-override-listeners", "true")]);
    stack.create_service(&svc).await.unwrap();
    let (svc, ip) = wait_for_ingress(stack, &ns, "reuse").await;
    assert_eq!(ip, address, "the reused load balancer's address is published");
    let node_port = node_ports(&svc)[0].2;
    let all: Vec<_> = shared.nodes.iter().map(|n| (n, 100)).collect();
    let slb = wait_slb(stack, "our listener 80 next to the hand-made one", |slb| {
        let lb = slb.load_balancer(&lb_id)?;
        let ours = listener_backends(slb, lb, 80, "tcp")?;
        (ours == (key(node_port, &svc), backends(&all, node_port))).then(|| slb.clone())
    })
    .await;
    let lb = slb.load_balancer(&lb_id).unwrap();
    assert_eq!(lb.load_balancer_name, "e2e-hand-made", "a reused load balancer keeps its name");
    assert_eq!(lb.listener(80, "tcp").unwrap().description, format!("k8s/80/reuse/{ns}/{E2E_CLUSTER_ID}"));
    let foreign = lb.listener(9000, "tcp").expect("the hand-made listener survives");
    assert_eq!(
        (foreign.description.as_str(), foreign.status.as_str(), foreign.vserver_group_id.as_str()),
        ("hand-made listener", "running", foreign_group.as_str())
    );
    assert!(slb.group(&foreign_group).is_some_and(|g| g.backends.is_empty()), "the hand-made group is untouched");
    assert!(slb.tagged(OWNER_TAG, &owner_of(&svc)).is_empty(), "no load balancer created for a reusing Service");

    // Deleting the Service removes only what it owned.
    let api: Api<Service> = Api::namespaced(stack.admin().await.unwrap(), &ns);
    api.delete("reuse", &DeleteParams::default()).await.unwrap();
    wait_service_gone(stack, &ns, "reuse").await;
    let slb = wait_slb(stack, "our listener 80 and group to be removed", |slb| {
        let lb = slb.load_balancer(&lb_id)?;
        (lb.listener(80, "tcp").is_none() && slb.groups_of(&lb_id).len() == 1).then(|| slb.clone())
    })
    .await;
    let lb = slb.load_balancer(&lb_id).expect("the reused load balancer is not deleted");
    assert_eq!(lb.listener_ports(), [("tcp".to_owned(), 9000)]);
    assert_eq!(lb.listener(9000, "tcp").unwrap().description, "hand-made listener");
    assert_eq!(slb.groups_of(&lb_id)[0].vserver_group_id, foreign_group);
}

#[tokio::test]
async fn intranet_addresses_come_from_the_vswitch() {
    let shared = shared().await;
    let stack = &shared.stack;
    let _dump = stack.guard();
    let seed_vswitches: BTreeMap<&str, &str> =
        SEED_VSWITCHES.split(',').map(|p| p.split_once(':').map(|(z, v)| (v, z)).unwrap()).collect();
    let annotated_vsw = "vsw-bp1fakevswi000000001";
    assert!(seed_vswitches.contains_key(annotated_vsw));
    let ns = stack.create_namespace("clb-intranet").await.unwrap();
    stack
        .create_service(&service(
            &ns,
            "by-annotation",
            80,
            &[("address-type", "intranet"), ("vswitch-id", annotated_vsw)],
        ))
        .await
        .unwrap();
    stack.create_service(&service(&ns, "by-config", 80, &[("address-type", "intranet")])).await.unwrap();

    let (annotated, annotated_ip) = wait_for_ingress(stack, &ns, "by-annotation").await;
    let (configured, configured_ip) = wait_for_ingress(stack, &ns, "by-config").await;
    let slb = stack.slb_state().await.unwrap();

    let lb = owned_lb(&slb, &annotated).unwrap();
    assert_eq!(
        (lb.address_type.as_str(), lb.vswitch_id.as_str(), lb.vpc_id.as_str()),
        ("intranet", annotated_vsw, SEED_VPC)
    );
    assert_eq!(lb.address, annotated_ip);
    // The seed's vSwitch in cn-hangzhou-i is 192.168.1.0/24.
    assert_eq!(slb.vswitch_cidrs[annotated_vsw], "192.168.1.0/24");
    assert!(ipv4_in_cidr(&annotated_ip, "192.168.1.0/24"), "{annotated_ip} is in the annotated vSwitch");

    let lb = owned_lb(&slb, &configured).unwrap();
    assert_eq!(lb.address_type, "intranet");
    assert!(seed_vswitches.contains_key(lb.vswitch_id.as_str()), "{} is a cloud-config vSwitch", lb.vswitch_id);
    assert_eq!(lb.address, configured_ip);
    let cidr = &slb.vswitch_cidrs[&lb.vswitch_id];
    assert!(ipv4_in_cidr(&configured_ip, cidr), "{configured_ip} is in {} ({cidr})", lb.vswitch_id);
}

/// Node churn on a stack of its own: adding and removing nodes changes only vServer group backends. Its four
/// Services exist before the CCM starts, so their first reconciles run concurrently while the caches fill.
#[tokio::test]
async fn node_churn_changes_only_backends() {
    let stack = Stack::start(StackOptions::new("clb-churn")).await.unwrap();
    let instances = stack.fake_instances().await.unwrap();
    let mut nodes = Vec::new();
    for (i, instance) in instances.into_iter().take(2).enumerate() {
        nodes.push(register_node(&stack, &format!("churn-{i}"), instance).await);
    }
    let ns = stack.create_namespace("clb-churn").await.unwrap();
    let names = ["s0", "s1", "s2", "s3"];
    for (i, name) in names.iter().enumerate() {
        stack.create_service(&service(&ns, name, 80 + i32::try_from(i).unwrap(), &[])).await.unwrap();
    }
    let _ccm = stack.start_ccm(&CcmOptions::new("service")).unwrap();

    let mut services = Vec::new();
    for name in names {
        services.push(wait_for_ingress(&stack, &ns, name).await.0);
    }
    wait_slb(&stack, "every Service's backends: churn-0 and churn-1", |slb| {
        all_backends_are(slb, &services, &[&nodes[0], &nodes[1]])
    })
    .await;
    let before = stack.slb_state().await.unwrap();

    // Nothing changes: no cloud calls.
    stack.reset_fake_calls().await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stack.fake_call_log().await.unwrap().slb_counts(), BTreeMap::new(), "an idle controller calls nothing");

    // A node joins, another leaves.
    let third = stack.fake_instances().await.unwrap().remove(2);
    nodes.push(register_node(&stack, "churn-2", third).await);
    wait_slb(&stack, "churn-2 added to every Service", |slb| {
        all_backends_are(slb, &services, &[&nodes[0], &nodes[1], &nodes[2]])
    })
    .await;
    let node_api: Api<Node> = Api::all(stack.admin().await.unwrap());
    node_api.delete("churn-0", &DeleteParams::default()).await.unwrap();
    wait_slb(&stack, "churn-0 removed from every Service", |slb| {
        all_backends_are(slb, &services, &[&nodes[1], &nodes[2]])
    })
    .await;

    let log = stack.fake_call_log().await.unwrap();
    let writes = log.slb_writes();
    assert_eq!(
        writes,
        BTreeMap::from([
            ("AddVServerGroupBackendServers".to_owned(), 4),
            ("RemoveVServerGroupBackendServers".to_owned(), 4)
        ]),
        "one backend addition and one removal per Service, nothing else: {:#?}",
        log.slb().map(|c| (&c.action, &c.params)).collect::<Vec<_>>()
    );
    let reads: Vec<_> = log.slb_counts().into_keys().filter(|a| !writes.contains_key(a)).collect();
    let listener_reads: Vec<_> = reads.iter().filter(|a| a.contains("Listener")).collect();
    assert!(listener_reads.is_empty(), "backend-only work reads no listeners: {reads:?}");
    let after = stack.slb_state().await.unwrap();
    for svc in &services {
        let (b, a) = (owned_lb(&before, svc).unwrap(), owned_lb(&after, svc).unwrap());
        assert_eq!(format!("{:?}", b.listeners), format!("{:?}", a.listeners), "listeners unchanged");
        assert_eq!(
            (&b.load_balancer_name, &b.address, &b.tags, &b.delete_protection),
            (&a.load_balancer_name, &a.address, &a.tags, &a.delete_protection)
        );
    }
}
