//! Well-known taints, labels and annotations.

/// Taint the kubelet sets with `--cloud-provider=external` until a CCM initializes the node.
pub const TAINT_UNINITIALIZED: &str = "node.cloudprovider.kubernetes.io/uninitialized";
/// Taint (NoSchedule) a CCM sets on nodes whose instance is shut down.
pub const TAINT_SHUTDOWN: &str = "node.cloudprovider.kubernetes.io/shutdown";

/// Instance type label.
pub const LABEL_INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
/// Deprecated twin of [`LABEL_INSTANCE_TYPE`].
pub const LABEL_INSTANCE_TYPE_BETA: &str = "beta.kubernetes.io/instance-type";
/// Zone label.
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
/// Deprecated twin of [`LABEL_ZONE`].
pub const LABEL_ZONE_BETA: &str = "failure-domain.beta.kubernetes.io/zone";
/// Region label.
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
/// Deprecated twin of [`LABEL_REGION`].
pub const LABEL_REGION_BETA: &str = "failure-domain.beta.kubernetes.io/region";
/// Alibaba Cloud: `PrePaid` or `PostPaid`.
pub const LABEL_INSTANCE_CHARGE_TYPE: &str = "node.alibabacloud.com/instance-charge-type";
/// Alibaba Cloud: spot strategy of the instance.
pub const LABEL_SPOT_STRATEGY: &str = "node.alibabacloud.com/spot-strategy";
/// Alibaba Cloud: node pool, copied from the ECS tag [`ECS_TAG_NODEPOOL_ID`].
pub const LABEL_NODEPOOL_ID: &str = "node.alibabacloud.com/nodepool-id";
/// ECS tag carrying the node pool ID.
pub const ECS_TAG_NODEPOOL_ID: &str = "ack.alibabacloud.com/nodepool-id";

/// Label excluding a node from the CCM's care (the Go CCM's name).
pub const LABEL_EXCLUDE_NODE: &str = "service.alibabacloud.com/exclude-node";
/// Legacy exclusion label of the Go CCM.
pub const LABEL_EXCLUDE_NODE_LEGACY: &str = "service.beta.kubernetes.io/exclude-node";
/// Label `type=virtual-kubelet` marks virtual-kubelet nodes (ECI), which are not ECS instances.
pub const LABEL_NODE_TYPE: &str = "type";
/// Value of [`LABEL_NODE_TYPE`] on virtual-kubelet nodes.
pub const NODE_TYPE_VIRTUAL_KUBELET: &str = "virtual-kubelet";

/// Annotation the kubelet sets from `--node-ip`: the address(es) the node must keep.
pub const ANNOTATION_PROVIDED_NODE_IP: &str = "alpha.kubernetes.io/provided-node-ip";

/// Provider ID scheme of nodes registered to ACK from outside Alibaba Cloud.
pub const PROVIDER_ID_HYBRID_PREFIX: &str = "ack-hybrid://";
