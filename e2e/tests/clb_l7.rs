#![allow(clippy::unwrap_used)]
//! The CLB service controller end to end, issue 8: access control through source ranges (and, later, layer 7).
//! `cloud-controller-manager --controllers=service` against a real kube-apiserver and aliyun-fake.

use std::time::Duration;

use e2e::ccm::E2E_CLUSTER_ID;
use e2e::fixtures::load_balancer_service;
use e2e::slb_admin::{AclSnapshot, SlbSnapshot};
use e2e::{CcmOptions, Context as _, KubeletNode, RunningCcm, Stack, StackOptions};
use k8s_openapi::api::core::v1::{Node, Service};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(60);
/// Owner tag of everything the controller creates for a Service.
const OWNER_TAG: &str = "kubernetes.do.not.delete";

struct Shared {
    stack: Stack,
    _ccm: RunningCcm,
}

static SHARED: tokio::sync::OnceCell<Shared> = tokio::sync::OnceCell::const_new();

/// A stack with the seed's ECS instances as Ready, initialized nodes and a CCM running the service controller.
async fn shared() -> &'static Shared {
    SHARED
        .get_or_init(|| async {
            let mut opts = StackOptions::new("clb-l7");
            opts.remove_dir_at_exit = true;
            let stack = Stack::start(opts).await.unwrap();
            let instances = stack.fake_instances().await.unwrap();
            let nodes: Api<Node> = Api::all(stack.admin().await.unwrap());
            for (i, instance) in instances.into_iter().enumerate() {
                let name = format!("l7-node-{i}");
                stack
                    .register_node(&KubeletNode::new(&name, &instance.private_ip).provider_id(instance.provider_id()))
                    .await
                    .unwrap();
                let untaint = Patch::Merge(json!({"spec": {"taints": null}}));
                nodes.patch(&name, &PatchParams::default(), &untaint).await.unwrap();
            }
            let ccm = stack.start_ccm(&CcmOptions::new("service")).unwrap();
            Shared { stack, _ccm: ccm }
        })
        .await
}

fn owner_of(svc: &Service) -> String {
    let uid = svc.metadata.uid.as_deref().unwrap();
    let mut owner: String = std::iter::once('a').chain(uid.chars().filter(|c| *c != '-')).collect();
    owner.truncate(32);
    owner
}

/// Waits until `probe` finds what it looks for in the fake's SLB and ACL state.
async fn wait_state<T>(stack: &Stack, desc: &str, probe: impl Fn(&SlbSnapshot, &AclSnapshot) -> Option<T>) -> T {
    stack
        .wait_for(desc, TIMEOUT, || async { Ok(probe(&stack.slb_state().await?, &stack.acl_state().await?)) })
        .await
        .unwrap()
}

async fn wait_for_service(stack: &Stack, ns: &str, name: &str) -> Service {
    let api: Api<Service> = Api::namespaced(stack.admin().await.unwrap(), ns);
    stack
        .wait_for(&format!("service {ns}/{name} to get an ingress IP"), TIMEOUT, || async {
            let svc = api.get(name).await.context(format!("get service {ns}/{name}"))?;
            let has_ip = svc
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .is_some_and(|i| !i.is_empty());
            Ok(has_ip.then_some(svc))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn source_ranges_become_an_owned_whitelist_added_changed_and_removed() {
    let shared = shared().await;
    let stack = &shared.stack;
    let _dump = stack.guard();
    let ns = stack.create_namespace("clb-ranges").await.unwrap();
    let mut svc = load_balancer_service(&ns, "ranged", 80, 8080);
    svc.spec.as_mut().unwrap().load_balancer_source_ranges = Some(vec!["10.0.0.0/8".into(), "192.168.1.7/32".into()]);
    stack.create_service(&svc).await.unwrap();
    let svc = wait_for_service(stack, &ns, "ranged").await;
    let owner = owner_of(&svc);
    let acl_name = format!("k8s/ranged/{ns}/{E2E_CLUSTER_ID}");

    // Created: one ACL, named and tagged as the Service's, with the ranges, bound as a whitelist.
    let (lb_id, acl_id) = wait_state(stack, "an owned whitelist on listener 80", |slb, acls| {
        let lbs = slb.tagged(OWNER_TAG, &owner);
        let named = acls.named(&acl_name);
        let ([lb], [acl]) = (lbs.as_slice(), named.as_slice()) else { return None };
        let binding = acls.listener(&lb.load_balancer_id, 80, "tcp")?;
        (binding.acl_status == "on" && binding.acl_id == acl.acl_id)
            .then(|| (lb.load_balancer_id.clone(), acl.acl_id.clone()))
    })
    .await;
    let acls = stack.acl_state().await.unwrap();
    let acl = &acls.acls[&acl_id];
    assert_eq!(acl.entry_set(), ["10.0.0.0/8", "192.168.1.7/32"]);
    assert_eq!(acl.tag(OWNER_TAG), Some(owner.as_str()));
    assert_eq!(acls.listener(&lb_id, 80, "tcp").unwrap().acl_type, "white");

    // Changed: entries added and removed on the same list.
    let api: Api<Service> = Api::namespaced(stack.admin().await.unwrap(), &ns);
    let ranges = Patch::Merge(json!({"spec": {"loadBalancerSourceRanges": ["172.16.0.0/12", "10.0.0.0/8"]}}));
    api.patch("ranged", &PatchParams::default(), &ranges).await.unwrap();
    wait_state(stack, "the ACL entries to follow the new ranges", |_, acls| {
        let acl = acls.acls.get(&acl_id)?;
        (acl.entry_set() == ["10.0.0.0/8", "172.16.0.0/12"]).then_some(())
    })
    .await;
    assert_eq!(stack.acl_state().await.unwrap().named(&acl_name).len(), 1, "the same list, not a new one");

    // Removed: access control off on the listener; the load balancer stays.
    let none = Patch::Merge(json!({"spec": {"loadBalancerSourceRanges": null}}));
    api.patch("ranged", &PatchParams::default(), &none).await.unwrap();
    wait_state(stack, "access control to be switched off on listener 80", |slb, acls| {
        slb.load_balancer(&lb_id)?;
        (acls.listener(&lb_id, 80, "tcp")?.acl_status == "off").then_some(())
    })
    .await;

    // Deleted: load balancer and ACL go.
    api.delete("ranged", &DeleteParams::default()).await.unwrap();
    wait_state(stack, "the load balancer and the ACL to be deleted", |slb, acls| {
        (slb.load_balancer(&lb_id).is_none() && acls.named(&acl_name).is_empty()).then_some(())
    })
    .await;
}

/// An SLB call to the fake as a user would make it.
async fn slb_call(stack: &Stack, action: &str, params: &[(&str, &str)]) -> serde_json::Value {
    use aliyun_api::credentials::StaticProvider;
    use aliyun_api::{Client, Credentials, Endpoints, Product, RawRequest};
    use e2e::ccm::SEED_REGION;
    use e2e::stack::{FAKE_ACCESS_KEY_ID, FAKE_ACCESS_KEY_SECRET};
    let client = Client::builder(SEED_REGION)
        .credentials(StaticProvider::new(Credentials::access_key(FAKE_ACCESS_KEY_ID, FAKE_ACCESS_KEY_SECRET)))
        .endpoints(Endpoints::new(SEED_REGION).with_all(stack.fake_endpoint().unwrap()))
        .build()
        .unwrap();
    let mut request = RawRequest::new(Product::Slb, action).param("RegionId", SEED_REGION);
    for (k, v) in params {
        request = request.param(*k, *v);
    }
    client.call_raw(&request).await.unwrap_or_else(|e| panic!("{action}: {e}"))
}

/// Uploads a fresh self-signed certificate for `host` to the fake; returns its ID.
async fn upload_certificate(stack: &Stack, host: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![host.to_owned()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, host);
    let cert = params.self_signed(&key).unwrap();
    let (pem, key) = (cert.pem(), key.serialize_pem());
    let params = [("ServerCertificateName", host), ("ServerCertificate", &pem), ("PrivateKey", &key)];
    let response = slb_call(stack, "UploadServerCertificate", &params).await;
    response["ServerCertificateId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn https_with_a_certificate_and_http_redirected_to_it() {
    let shared = shared().await;
    let stack = &shared.stack;
    let _dump = stack.guard();
    let ns = stack.create_namespace("clb-https").await.unwrap();
    let cert = upload_certificate(stack, "web.example.com").await;
    let api_cert = upload_certificate(stack, "api.example.com").await;
    let mut svc = load_balancer_service(&ns, "secure", 80, 8080);
    let spec = svc.spec.as_mut().unwrap();
    let ports = spec.ports.as_mut().unwrap();
    ports[0].name = Some("http".into());
    let mut https = ports[0].clone();
    https.name = Some("https".into());
    https.port = 443;
    ports.push(https);
    let prefix = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-";
    svc.metadata.annotations = Some(
        [
            ("protocol-port", "http:80,https:443"),
            ("cert-id", cert.as_str()),
            ("forward-port", "80:443"),
            ("sticky-session", "on"),
            ("sticky-session-type", "insert"),
            ("cookie-timeout", "1800"),
            ("health-check-flag", "on"),
            ("health-check-uri", "/ready"),
            ("domain-extensions", &format!("api.example.com:{api_cert}")),
        ]
        .into_iter()
        .map(|(k, v)| (format!("{prefix}{k}"), v.to_owned()))
        .collect(),
    );
    stack.create_service(&svc).await.unwrap();
    let svc = wait_for_service(stack, &ns, "secure").await;
    let owner = owner_of(&svc);

    let lb_id = wait_state(stack, "an HTTPS listener on 443 and an HTTP listener on 80 redirecting to it", |slb, _| {
        let lbs = slb.tagged(OWNER_TAG, &owner);
        let [lb] = lbs.as_slice() else { return None };
        let https = lb.listener(443, "https")?;
        let http = lb.listener(80, "http")?;
        (https.status == "running" && http.status == "running").then(|| lb.load_balancer_id.clone())
    })
    .await;
    let slb = stack.slb_state().await.unwrap();
    let lb = slb.load_balancer(&lb_id).unwrap();
    let https = lb.listener(443, "https").unwrap();
    assert_eq!(https.attribute("ServerCertificateId").as_deref(), Some(cert.as_str()));
    assert_eq!(https.attribute("StickySession").as_deref(), Some("on"));
    assert_eq!(https.attribute("StickySessionType").as_deref(), Some("insert"));
    assert_eq!(https.attribute("CookieTimeout").as_deref(), Some("1800"));
    assert_eq!(https.attribute("HealthCheck").as_deref(), Some("on"));
    assert_eq!(https.attribute("HealthCheckURI").as_deref(), Some("/ready"));
    assert_eq!(https.description, format!("k8s/443/secure/{ns}/{E2E_CLUSTER_ID}"));
    let http = lb.listener(80, "http").unwrap();
    assert_eq!(http.attribute("ListenerForward").as_deref(), Some("on"));
    assert_eq!(http.attribute("ForwardPort").as_deref(), Some("443"));
    assert_eq!(lb.listener_ports(), [("http".to_owned(), 80), ("https".to_owned(), 443)]);
    let extensions =
        slb_call(stack, "DescribeDomainExtensions", &[("LoadBalancerId", &lb_id), ("ListenerPort", "443")]).await;
    let extensions = extensions["DomainExtensions"]["DomainExtension"].as_array().cloned().unwrap_or_default();
    assert_eq!(extensions.len(), 1, "{extensions:?}");
    assert_eq!(extensions[0]["Domain"], "api.example.com");
    assert_eq!(extensions[0]["ServerCertificateId"].as_str(), Some(api_cert.as_str()));

    // A new certificate is set on the same listener.
    let renewed = upload_certificate(stack, "web.example.com").await;
    let api: Api<Service> = Api::namespaced(stack.admin().await.unwrap(), &ns);
    let patch = Patch::Merge(json!({"metadata": {"annotations": {format!("{prefix}cert-id"): renewed}}}));
    api.patch("secure", &PatchParams::default(), &patch).await.unwrap();
    wait_state(stack, "the HTTPS listener to serve the renewed certificate", |slb, _| {
        let l = slb.load_balancer(&lb_id)?.listener(443, "https")?;
        (l.attribute("ServerCertificateId").as_deref() == Some(renewed.as_str())).then_some(())
    })
    .await;

    api.delete("secure", &DeleteParams::default()).await.unwrap();
    wait_state(stack, "the load balancer to be deleted", |slb, _| slb.load_balancer(&lb_id).is_none().then_some(()))
        .await;
}

#[tokio::test]
async fn vgroup_port_puts_weighted_backends_into_a_user_group_of_a_reused_load_balancer() {
    let shared = shared().await;
    let stack = &shared.stack;
    let _dump = stack.guard();
    // A hand-made load balancer with a group holding a backend of its own.
    let created =
        slb_call(stack, "CreateLoadBalancer", &[("LoadBalancerName", "e2e-vgroup"), ("AddressType", "internet")]).await;
    let lb_id = created["LoadBalancerId"].as_str().unwrap().to_owned();
    let group =
        slb_call(stack, "CreateVServerGroup", &[("LoadBalancerId", &lb_id), ("VServerGroupName", "web pool")]).await;
    let group_id = group["VServerGroupId"].as_str().unwrap().to_owned();
    let instances = stack.fake_instances().await.unwrap();
    let foreign = format!(
        r#"[{{"ServerId":"{}","Port":"9090","Weight":"42","Type":"ecs","Description":"hand-made"}}]"#,
        instances[0].instance_id
    );
    slb_call(stack, "AddVServerGroupBackendServers", &[("VServerGroupId", &group_id), ("BackendServers", &foreign)])
        .await;

    let ns = stack.create_namespace("clb-vgroup").await.unwrap();
    let mut svc = load_balancer_service(&ns, "pooled", 80, 8080);
    let prefix = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-";
    svc.metadata.annotations = Some(
        [("id", lb_id.as_str()), ("vgroup-port", &format!("{group_id}:80")), ("weight", "60")]
            .into_iter()
            .map(|(k, v)| (format!("{prefix}{k}"), v.to_owned()))
            .collect(),
    );
    stack.create_service(&svc).await.unwrap();
    let api: Api<Service> = Api::namespaced(stack.admin().await.unwrap(), &ns);
    let node_port = stack
        .wait_for("pooled's node port", TIMEOUT, || async {
            let svc = api.get("pooled").await.context("get pooled")?;
            Ok(svc.spec.and_then(|s| s.ports).and_then(|p| p[0].node_port))
        })
        .await
        .unwrap();
    let backends = wait_state(stack, "the Service's three backends in the user's group", |slb, _| {
        let set = slb.group(&group_id)?.backend_set();
        (set.len() == 4).then_some(set)
    })
    .await;
    let port = u16::try_from(node_port).unwrap();
    let mut expected: Vec<(String, u16, u8)> = instances.iter().map(|i| (i.instance_id.clone(), port, 20)).collect();
    expected.push((instances[0].instance_id.clone(), 9090, 42));
    expected.sort();
    assert_eq!(backends, expected, "60 over three nodes; the hand-made backend untouched");
    let slb = stack.slb_state().await.unwrap();
    assert_eq!(slb.groups_of(&lb_id).len(), 1, "no group of the controller's own");
    assert!(slb.load_balancer(&lb_id).unwrap().listeners.is_empty(), "listeners of a reused load balancer untouched");

    // Deleting the Service removes its backends only; group and load balancer stay.
    api.delete("pooled", &DeleteParams::default()).await.unwrap();
    wait_state(stack, "only the hand-made backend left", |slb, _| {
        let set = slb.group(&group_id)?.backend_set();
        (set == [(instances[0].instance_id.clone(), 9090, 42)]).then_some(())
    })
    .await;
    assert!(stack.slb_state().await.unwrap().load_balancer(&lb_id).is_some());
}

#[tokio::test]
async fn eni_backends_are_the_enis_holding_the_pod_addresses() {
    let shared = shared().await;
    let stack = &shared.stack;
    let _dump = stack.guard();
    let ns = stack.create_namespace("clb-eni").await.unwrap();
    // Host-network pods: their addresses are the instances' primary ENI addresses; one address no ENI holds.
    let instances = stack.fake_instances().await.unwrap();
    let mut endpoints: Vec<(&str, &str)> = instances.iter().map(|i| (i.private_ip.as_str(), "l7-node-0")).collect();
    endpoints.push(("192.168.250.250", "l7-node-0"));
    stack.create_endpoint_slice(&e2e::fixtures::endpoint_slice(&ns, "pods", 8080, &endpoints)).await.unwrap();
    let mut svc = load_balancer_service(&ns, "pods", 80, 8080);
    svc.metadata.annotations = Some([("service.beta.kubernetes.io/backend-type".to_owned(), "eni".to_owned())].into());
    stack.create_service(&svc).await.unwrap();
    let svc = wait_for_service(stack, &ns, "pods").await;
    let owner = owner_of(&svc);

    let group = wait_state(stack, "a vServer group of ENI backends on the target port", |slb, _| {
        let lbs = slb.tagged(OWNER_TAG, &owner);
        let [lb] = lbs.as_slice() else { return None };
        let group = slb.group(&lb.listener(80, "tcp")?.vserver_group_id)?;
        (group.backends.len() == instances.len()).then(|| group.clone())
    })
    .await;
    assert_eq!(group.vserver_group_name, format!("k8s/8080/pods/{ns}/{E2E_CLUSTER_ID}"));
    let state = stack.fake_state().await.unwrap();
    let eni_of = |ip: &str| -> String {
        state["enis"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
            .find(|e| e.to_string().contains(&format!("\"{ip}\"")))
            .and_then(|e| e["network_interface_id"].as_str().or_else(|| e["eni_id"].as_str()))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    for instance in &instances {
        let backend = group.backends.iter().find(|b| b.server_id == eni_of(&instance.private_ip));
        let backend =
            backend.unwrap_or_else(|| panic!("no backend for {} in {:?}", instance.private_ip, group.backends));
        assert_eq!((backend.server_type.as_str(), backend.port), ("eni", 8080));
    }
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(stack.admin().await.unwrap(), &ns);
    let params = kube::api::ListParams::default().fields("involvedObject.name=pods");
    stack
        .wait_for("an InvalidBackends event naming the address no ENI holds", TIMEOUT, || async {
            let list = events.list(&params).await.context("list events")?;
            Ok(list
                .items
                .iter()
                .any(|e| {
                    e.reason.as_deref() == Some("InvalidBackends")
                        && e.message.as_deref().is_some_and(|m| m.contains("192.168.250.250"))
                })
                .then_some(()))
        })
        .await
        .unwrap();
}

/// Pods on a virtual-kubelet node (ECI) have no node to be reached through: with `externalTrafficPolicy:
/// Cluster` they join the node backends as ENI backends on the target port, and leave when the pod goes.
#[tokio::test]
async fn pods_on_virtual_kubelet_nodes_are_eni_backends_beside_the_nodes() {
    let shared = shared().await;
    let stack = &shared.stack;
    let _dump = stack.guard();
    let ns = stack.create_namespace("clb-vk").await.unwrap();
    let instances = stack.fake_instances().await.unwrap();
    // An ECI pod: its own ENI in the VPC, on a virtual-kubelet node (no provider ID, not an ECS instance).
    let (eci_eni, eci_ip) = stack.add_fake_eni("eci-vk-web-0").await.unwrap();
    let vk = KubeletNode::new("l7-virtual-kubelet", "169.254.0.10").label("type", "virtual-kubelet");
    stack.register_node(&vk).await.unwrap();
    let slice = e2e::fixtures::endpoint_slice(&ns, "mixed", 8080, &[("172.20.0.5", "l7-node-0"), (&eci_ip, &vk.name)]);
    stack.create_endpoint_slice(&slice).await.unwrap();
    stack.create_service(&load_balancer_service(&ns, "mixed", 80, 8080)).await.unwrap();
    let svc = wait_for_service(stack, &ns, "mixed").await;
    let owner = owner_of(&svc);
    let node_port = svc.spec.as_ref().unwrap().ports.as_ref().unwrap()[0].node_port.unwrap();
    let backends_now = |want: usize| {
        let owner = owner.clone();
        move |slb: &SlbSnapshot, _: &AclSnapshot| {
            let lbs = slb.tagged(OWNER_TAG, &owner);
            let [lb] = lbs.as_slice() else { return None };
            let group = slb.group(&lb.listener(80, "tcp")?.vserver_group_id)?;
            (group.backends.len() == want).then(|| group.clone())
        }
    };
    let group = wait_state(stack, "every node plus the ECI pod as backends", backends_now(instances.len() + 1)).await;
    assert_eq!(group.vserver_group_name, format!("k8s/{node_port}/mixed/{ns}/{E2E_CLUSTER_ID}"));
    let mut kinds: Vec<(String, String, u16)> =
        group.backends.iter().map(|b| (b.server_type.clone(), b.server_id.clone(), b.port)).collect();
    kinds.sort();
    let mut expected: Vec<(String, String, u16)> =
        instances.iter().map(|i| ("ecs".to_owned(), i.instance_id.clone(), node_port as u16)).collect();
    expected.push(("eni".to_owned(), eci_eni.clone(), 8080));
    expected.sort();
    assert_eq!(kinds, expected, "nodes on the node port, the ECI pod's ENI on the target port");

    // The ECI pod goes away: its ENI backend leaves, the nodes stay.
    let slices: Api<k8s_openapi::api::discovery::v1::EndpointSlice> =
        Api::namespaced(stack.admin().await.unwrap(), &ns);
    let only_node_pod = json!({"endpoints": [{"addresses": ["172.20.0.5"], "nodeName": "l7-node-0",
        "conditions": {"ready": true, "serving": true, "terminating": false}}]});
    slices.patch("mixed-e2e", &PatchParams::default(), &Patch::Merge(only_node_pod)).await.unwrap();
    let group = wait_state(stack, "the ECI pod's backend removed", backends_now(instances.len())).await;
    assert!(group.backends.iter().all(|b| b.server_type == "ecs"), "{:?}", group.backends);
}
