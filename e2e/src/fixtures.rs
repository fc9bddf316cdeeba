//! Objects as the rest of a cluster would make them: Nodes registered by a kubelet started with
//! `--cloud-provider=external`, Services, hand-made EndpointSlices, unique namespaces.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use k8s_openapi::api::core::v1::{Namespace, Node, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::error::{Context as _, Result};
use crate::stack::Stack;

/// The taint a kubelet with `--cloud-provider=external` registers its Node with.
pub const UNINITIALIZED_TAINT: &str = "node.cloudprovider.kubernetes.io/uninitialized";
/// The kubelet's annotation carrying `--node-ip`.
pub const PROVIDED_NODE_IP_ANNOTATION: &str = "alpha.kubernetes.io/provided-node-ip";
/// Label value marking hand-made EndpointSlices as not owned by the built-in controller.
pub const SLICE_MANAGER: &str = "e2e-harness";

/// A Node as a kubelet with `--cloud-provider=external` registers it.
#[derive(Debug, Clone)]
pub struct KubeletNode {
    /// Node name (the kubelet's hostname).
    pub name: String,
    /// `spec.providerID`, if the kubelet was given `--provider-id`.
    pub provider_id: Option<String>,
    /// The InternalIP address (the kubelet's `--node-ip`).
    pub internal_ip: String,
    /// `spec.podCIDRs` (normally set by the node IPAM controller, which this stack does not run).
    pub pod_cidrs: Vec<String>,
    /// Set the `alpha.kubernetes.io/provided-node-ip` annotation to the InternalIP, as the kubelet does when
    /// `--node-ip` is given.
    pub provided_node_ip: bool,
    /// Extra labels.
    pub labels: BTreeMap<String, String>,
    /// Mark the node `Ready=True` through `/status` (as a running kubelet would).
    pub ready: bool,
}

impl KubeletNode {
    /// A ready node with the given name and InternalIP, no provider ID, no pod CIDRs.
    pub fn new(name: impl Into<String>, internal_ip: impl Into<String>) -> Self {
        KubeletNode {
            name: name.into(),
            provider_id: None,
            internal_ip: internal_ip.into(),
            pod_cidrs: Vec::new(),
            provided_node_ip: false,
            labels: BTreeMap::new(),
            ready: true,
        }
    }

    /// Sets `spec.providerID`.
    pub fn provider_id(mut self, id: impl Into<String>) -> Self {
        self.provider_id = Some(id.into());
        self
    }

    /// Sets `spec.podCIDRs` (and `spec.podCIDR` to the first).
    pub fn pod_cidrs<I, S>(mut self, cidrs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.pod_cidrs = cidrs.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Adds the `provided-node-ip` annotation.
    pub fn with_provided_node_ip(mut self) -> Self {
        self.provided_node_ip = true;
        self
    }

    /// Leaves the Ready condition unset (a kubelet that never reported).
    pub fn not_ready(mut self) -> Self {
        self.ready = false;
        self
    }

    /// The Node object the kubelet would POST.
    pub fn to_node(&self) -> Node {
        let mut labels: BTreeMap<String, String> = [
            ("kubernetes.io/hostname", self.name.as_str()),
            ("kubernetes.io/os", "linux"),
            ("kubernetes.io/arch", "amd64"),
            ("beta.kubernetes.io/os", "linux"),
            ("beta.kubernetes.io/arch", "amd64"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        labels.extend(self.labels.clone());
        let mut annotations = BTreeMap::new();
        annotations.insert("volumes.kubernetes.io/controller-managed-attach-detach".to_string(), "true".to_string());
        if self.provided_node_ip {
            annotations.insert(PROVIDED_NODE_IP_ANNOTATION.to_string(), self.internal_ip.clone());
        }
        let value = json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.name, "labels": labels, "annotations": annotations},
            "spec": {
                "providerID": self.provider_id,
                "podCIDR": self.pod_cidrs.first(),
                "podCIDRs": if self.pod_cidrs.is_empty() { None } else { Some(&self.pod_cidrs) },
                "taints": [{"key": UNINITIALIZED_TAINT, "value": "true", "effect": "NoSchedule"}],
            },
            "status": self.status_json(false),
        });
        // The JSON above is built from plain strings, so it always has the Node shape.
        serde_json::from_value(value).unwrap_or_default()
    }

    fn status_json(&self, with_conditions: bool) -> serde_json::Value {
        let now = Timestamp::now().to_string();
        let mut status = json!({
            "addresses": [
                {"type": "InternalIP", "address": self.internal_ip},
                {"type": "Hostname", "address": self.name},
            ],
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "allocatable": {"cpu": "4", "memory": "15Gi", "pods": "110", "ephemeral-storage": "90Gi"},
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": "", "systemUUID": "", "bootID": "",
                "kernelVersion": "6.1.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                "containerRuntimeVersion": "containerd://1.7.0",
                "kubeletVersion": crate::bins::kubernetes_version(), "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": "amd64",
            },
        });
        if with_conditions && self.ready {
            let cond = |type_: &str, status: &str, reason: &str, message: &str| {
                json!({"type": type_, "status": status, "reason": reason, "message": message,
                       "lastHeartbeatTime": now, "lastTransitionTime": now})
            };
            status["conditions"] = json!([
                cond(
                    "MemoryPressure",
                    "False",
                    "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available"
                ),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ]);
        }
        status
    }
}

/// Services of type `LoadBalancer` (or others) to create with [`Stack::create_service`].
pub fn load_balancer_service(namespace: &str, name: &str, port: i32, target_port: i32) -> Service {
    Service {
        metadata: ObjectMeta { name: Some(name.into()), namespace: Some(namespace.into()), ..Default::default() },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            selector: Some(BTreeMap::from([("app".to_string(), name.to_string())])),
            ports: Some(vec![ServicePort {
                name: Some("tcp".into()),
                protocol: Some("TCP".into()),
                port,
                target_port: Some(IntOrString::Int(target_port)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A hand-made EndpointSlice for Service `service` with one ready endpoint per `(address, node name)`.
pub fn endpoint_slice(namespace: &str, service: &str, port: i32, endpoints: &[(&str, &str)]) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            name: Some(format!("{service}-e2e")),
            namespace: Some(namespace.into()),
            labels: Some(BTreeMap::from([
                ("kubernetes.io/service-name".to_string(), service.to_string()),
                ("endpointslice.kubernetes.io/managed-by".to_string(), SLICE_MANAGER.to_string()),
            ])),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints: Some(
            endpoints
                .iter()
                .map(|(addr, node)| Endpoint {
                    addresses: vec![addr.to_string()],
                    node_name: Some(node.to_string()),
                    conditions: Some(EndpointConditions {
                        ready: Some(true),
                        serving: Some(true),
                        terminating: Some(false),
                    }),
                    ..Default::default()
                })
                .collect(),
        ),
        ports: Some(vec![EndpointPort {
            name: Some("tcp".into()),
            port: Some(port),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
    }
}

static NAMESPACES: AtomicU32 = AtomicU32::new(0);

impl Stack {
    /// Creates a Node as a kubelet with `--cloud-provider=external` would: the uninitialized taint, InternalIP
    /// and Hostname addresses, `podCIDR(s)`, then `Ready=True` through the `/status` subresource.
    pub async fn create_kubelet_node(
        &self,
        name: &str,
        provider_id: Option<&str>,
        internal_ip: &str,
        pod_cidrs: &[&str],
    ) -> Result<Node> {
        let mut node = KubeletNode::new(name, internal_ip).pod_cidrs(pod_cidrs.iter().copied());
        node.provider_id = provider_id.map(str::to_string);
        self.register_node(&node).await
    }

    /// Registers `node` (see [`KubeletNode`]) and, if it is to be ready, reports its status like a kubelet.
    pub async fn register_node(&self, node: &KubeletNode) -> Result<Node> {
        let nodes: Api<Node> = Api::all(self.admin().await?);
        let created = nodes
            .create(&PostParams { field_manager: Some("kubelet".into()), ..Default::default() }, &node.to_node())
            .await
            .context(format!("creating node {}", node.name))?;
        if !node.ready {
            return Ok(created);
        }
        // The kubelet's status sync: full lists, so a merge patch replaces them.
        let patch = json!({"status": node.status_json(true)});
        nodes
            .patch_status(
                &node.name,
                &PatchParams { field_manager: Some("kubelet".into()), ..Default::default() },
                &Patch::Merge(&patch),
            )
            .await
            .context(format!("reporting the status of node {}", node.name))
    }

    /// Marks a node `Ready=False` (a kubelet that stopped reporting well), keeping its other conditions.
    pub async fn set_node_ready(&self, name: &str, ready: bool) -> Result<Node> {
        let nodes: Api<Node> = Api::all(self.admin().await?);
        let now = Time(Timestamp::now());
        let patch = json!({"status": {"conditions": [{
            "type": "Ready",
            "status": if ready { "True" } else { "False" },
            "reason": if ready { "KubeletReady" } else { "KubeletNotReady" },
            "message": if ready { "kubelet is posting ready status" } else { "set by the e2e harness" },
            "lastHeartbeatTime": now, "lastTransitionTime": now,
        }]}});
        // Strategic merge keys conditions by type, so the other conditions stay.
        nodes
            .patch_status(name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
            .context(format!("setting node {name} Ready={ready}"))
    }

    /// Creates a Service (in its `metadata.namespace`, else `default`).
    pub async fn create_service(&self, service: &Service) -> Result<Service> {
        let ns = service.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let api: Api<Service> = Api::namespaced(self.admin().await?, &ns);
        let name = service.metadata.name.clone().unwrap_or_default();
        api.create(&PostParams::default(), service).await.context(format!("creating service {ns}/{name}"))
    }

    /// Creates an EndpointSlice (in its `metadata.namespace`, else `default`).
    pub async fn create_endpoint_slice(&self, slice: &EndpointSlice) -> Result<EndpointSlice> {
        let ns = slice.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let api: Api<EndpointSlice> = Api::namespaced(self.admin().await?, &ns);
        let name = slice.metadata.name.clone().unwrap_or_default();
        api.create(&PostParams::default(), slice).await.context(format!("creating endpointslice {ns}/{name}"))
    }

    /// Creates a namespace with a unique name starting with `prefix` (tests sharing a stack each take one;
    /// without kube-controller-manager, deleted namespaces never finish terminating, so never reuse names).
    pub async fn create_namespace(&self, prefix: &str) -> Result<String> {
        let n = NAMESPACES.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}-{}-{n}", std::process::id() % 100_000);
        let api: Api<Namespace> = Api::all(self.admin().await?);
        let ns =
            Namespace { metadata: ObjectMeta { name: Some(name.clone()), ..Default::default() }, ..Default::default() };
        api.create(&PostParams::default(), &ns).await.context(format!("creating namespace {name}"))?;
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_node_has_the_external_cloud_provider_shape() {
        let node =
            KubeletNode::new("n1", "10.0.1.5").pod_cidrs(["172.16.0.0/24"]).provider_id("cn-hangzhou.i-1").to_node();
        let spec = node.spec.expect("spec");
        let taints = spec.taints.expect("taints");
        assert_eq!(taints[0].key, UNINITIALIZED_TAINT);
        assert_eq!(taints[0].effect, "NoSchedule");
        assert_eq!(spec.pod_cidrs, Some(vec!["172.16.0.0/24".to_string()]));
        assert_eq!(spec.pod_cidr.as_deref(), Some("172.16.0.0/24"));
        assert_eq!(spec.provider_id.as_deref(), Some("cn-hangzhou.i-1"));
        let addresses = node.status.expect("status").addresses.expect("addresses");
        assert_eq!(addresses[0].type_, "InternalIP");
        assert_eq!(addresses[1].type_, "Hostname");
    }

    #[test]
    fn node_without_cidrs_has_no_pod_cidr_fields() {
        let spec = KubeletNode::new("n1", "10.0.1.5").to_node().spec.expect("spec");
        assert_eq!(spec.pod_cidr, None);
        assert_eq!(spec.pod_cidrs, None);
        assert_eq!(spec.provider_id, None);
    }
}
