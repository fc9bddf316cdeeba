//! Node builders and an in-process apiserver for the unit tests.

pub mod apiserver;

use ccm_kube::names::{ANNOTATION_PROVIDED_NODE_IP, TAINT_SHUTDOWN, TAINT_UNINITIALIZED};
use k8s_openapi::{
    api::core::v1::{Node, NodeAddress, NodeCondition, NodeSpec, NodeStatus, Taint},
    apimachinery::pkg::apis::meta::v1::Time,
    jiff::Timestamp,
};

/// Builds a node the way the kubelet registers one.
pub struct NodeBuilder(Node);

impl NodeBuilder {
    /// A node with a name, UID, resourceVersion and a `kubernetes.io/hostname` label; no provider ID, no taint.
    pub fn new(name: &str) -> Self {
        let mut node = Node::default();
        node.metadata.name = Some(name.to_owned());
        node.metadata.uid = Some(format!("uid-{name}"));
        node.metadata.resource_version = Some("1".to_owned());
        node.metadata.creation_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        node.metadata.labels = Some([("kubernetes.io/hostname".to_owned(), name.to_owned())].into());
        node.spec = Some(NodeSpec::default());
        node.status = Some(NodeStatus::default());
        Self(node)
    }

    fn spec(&mut self) -> &mut NodeSpec {
        self.0.spec.get_or_insert_with(NodeSpec::default)
    }

    fn status(&mut self) -> &mut NodeStatus {
        self.0.status.get_or_insert_with(NodeStatus::default)
    }

    /// Sets `spec.providerID`.
    pub fn provider_id(mut self, id: &str) -> Self {
        self.spec().provider_id = Some(id.to_owned());
        self
    }

    /// Adds a taint.
    pub fn taint(mut self, key: &str, effect: &str) -> Self {
        let taint = Taint { key: key.to_owned(), effect: effect.to_owned(), ..Taint::default() };
        self.spec().taints.get_or_insert_with(Vec::new).push(taint);
        self
    }

    /// Adds the kubelet's uninitialized taint.
    pub fn uninitialized(mut self) -> Self {
        let taint = Taint {
            key: TAINT_UNINITIALIZED.to_owned(),
            value: Some("true".to_owned()),
            effect: "NoSchedule".to_owned(),
            time_added: None,
        };
        self.spec().taints.get_or_insert_with(Vec::new).push(taint);
        self
    }

    /// Adds the shutdown taint.
    pub fn shutdown(self) -> Self {
        self.taint(TAINT_SHUTDOWN, "NoSchedule")
    }

    /// Sets a label.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.0.metadata.labels.get_or_insert_with(Default::default).insert(key.to_owned(), value.to_owned());
        self
    }

    /// Sets an annotation.
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.0.metadata.annotations.get_or_insert_with(Default::default).insert(key.to_owned(), value.to_owned());
        self
    }

    /// Sets the kubelet's `provided-node-ip` annotation.
    pub fn provided_node_ip(self, value: &str) -> Self {
        self.annotation(ANNOTATION_PROVIDED_NODE_IP, value)
    }

    /// Appends an address.
    pub fn address(mut self, type_: &str, address: &str) -> Self {
        let a = NodeAddress { type_: type_.to_owned(), address: address.to_owned() };
        self.status().addresses.get_or_insert_with(Vec::new).push(a);
        self
    }

    /// An InternalIP and the Hostname, as a kubelet reports them.
    pub fn kubelet_addresses(self, ip: &str) -> Self {
        let name = self.0.metadata.name.clone().unwrap_or_default();
        self.address("InternalIP", ip).address("Hostname", &name)
    }

    /// Sets the Ready condition (`True`, `False`, `Unknown`).
    pub fn ready(mut self, status: &str) -> Self {
        let condition = NodeCondition { type_: "Ready".to_owned(), status: status.to_owned(), ..Default::default() };
        self.status().conditions = Some(vec![condition]);
        self
    }

    /// Marks the node as being deleted.
    pub fn deleting(mut self) -> Self {
        self.0.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        self
    }

    /// The node.
    pub fn build(self) -> Node {
        self.0
    }
}
