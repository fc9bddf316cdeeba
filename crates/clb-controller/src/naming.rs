//! Cloud-side names and tags that mark what a Service owns, exactly as the Go CCM writes them, so that load
//! balancers, listeners, vServer groups and backends it created are recognised and adopted unchanged.

use std::{fmt, str::FromStr};

/// Finalizer this controller adds to every Service it provisions a load balancer for (the Go CCM's).
pub const FINALIZER: &str = "service.k8s.alibaba/resources";
/// The upstream service controller's finalizer; a Service carrying it is cleaned up by us too.
pub const UPSTREAM_FINALIZER: &str = "service.kubernetes.io/load-balancer-cleanup";

/// Tag on load balancers the controller created: value is [`default_load_balancer_name`] of the Service.
pub const TAG_OWNER: &str = "kubernetes.do.not.delete";
/// Tag the Go CCM puts on load balancers a Service reuses through the `id` annotation.
pub const TAG_REUSED: &str = "kubernetes.reused.by.user";
/// Default cluster tag key (cloud-config `kubernetesClusterTag`); its value is the cluster ID.
pub const DEFAULT_CLUSTER_TAG_KEY: &str = "ack.aliyun.com";
/// Cluster ID the Go CCM uses when the cloud-config has none.
pub const DEFAULT_CLUSTER_ID: &str = "clusterid";
/// Reason recorded with console modification protection on load balancers the controller creates.
pub const MODIFICATION_PROTECTION_REASON: &str = "managed.by.ack";

/// First segment of every ownership key.
const KEY_PREFIX: &str = "k8s";

/// The Go CCM's default load balancer name for a Service: `"a"` + the UID without dashes, cut to 32 characters.
/// It is also the value of the [`TAG_OWNER`] tag.
pub fn default_load_balancer_name(uid: &str) -> String {
    let mut name: String = std::iter::once('a').chain(uid.chars().filter(|c| *c != '-')).collect();
    name.truncate(32);
    name
}

/// The Service (in one cluster) that owns cloud resources: the part common to every ownership key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceOwner {
    /// Service namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// Cluster ID from the cloud-config.
    pub cluster_id: String,
}

impl ServiceOwner {
    /// The owner `namespace/name` in `cluster_id`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>, cluster_id: impl Into<String>) -> Self {
        Self { namespace: namespace.into(), name: name.into(), cluster_id: cluster_id.into() }
    }

    /// Whether a listener description is this Service's ownership key.
    pub fn owns_listener(&self, description: &str) -> bool {
        description.parse::<ListenerKey>().is_ok_and(|key| key.owner == *self)
    }

    /// Whether a vServer group name or backend description is one of this Service's ownership keys.
    pub fn owns_group_key(&self, name_or_description: &str) -> bool {
        name_or_description.parse::<VServerGroupKey>().is_ok_and(|key| key.owner == *self)
    }

    /// The listener key of `port`.
    pub fn listener_key(&self, port: u16) -> ListenerKey {
        ListenerKey { port, owner: self.clone() }
    }

    /// Name of the access control list the controller owns for the Service's source ranges:
    /// `k8s/<service>/<namespace>/<cluster-id>`.
    pub fn acl_name(&self) -> String {
        format!("{KEY_PREFIX}/{}/{}/{}", self.name, self.namespace, self.cluster_id)
    }

    /// The vServer group key of `port` (the node port for ECS backends).
    pub fn group_key(&self, port: impl Into<String>) -> VServerGroupKey {
        VServerGroupKey { port: port.into(), owner: self.clone() }
    }
}

impl fmt::Display for ServiceOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} (cluster {})", self.namespace, self.name, self.cluster_id)
    }
}

/// Why a description is not an ownership key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ownership key `k8s/<port>/<service>/<namespace>/<cluster-id>`")]
pub struct KeyFormatError(pub String);

/// Splits `k8s/<port>/<service>/<namespace>/<cluster>` into the port part and the owner.
fn split_key(key: &str) -> Result<(&str, ServiceOwner), KeyFormatError> {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.as_slice() {
        [KEY_PREFIX, port, name, namespace, cluster] => Ok((*port, ServiceOwner::new(*namespace, *name, *cluster))),
        _ => Err(KeyFormatError(key.to_owned())),
    }
}

/// Listener description marking ownership: `k8s/<port>/<service>/<namespace>/<cluster-id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerKey {
    /// Listener (Service) port.
    pub port: u16,
    /// Owning Service.
    pub owner: ServiceOwner,
}

impl fmt::Display for ListenerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.owner;
        write!(f, "{KEY_PREFIX}/{}/{}/{}/{}", self.port, o.name, o.namespace, o.cluster_id)
    }
}

impl FromStr for ListenerKey {
    type Err = KeyFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (port, owner) = split_key(s)?;
        let port = port.parse().map_err(|_| KeyFormatError(s.to_owned()))?;
        Ok(Self { port, owner })
    }
}

/// vServer group name and backend description marking ownership: `k8s/<nodePort>/<service>/<namespace>/<cluster-id>`.
///
/// The port part is a string because the Go CCM writes the target port there for ENI backends, which may be named.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VServerGroupKey {
    /// Node port (ECS backends) or target port (ENI backends).
    pub port: String,
    /// Owning Service.
    pub owner: ServiceOwner,
}

impl fmt::Display for VServerGroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.owner;
        write!(f, "{KEY_PREFIX}/{}/{}/{}/{}", self.port, o.name, o.namespace, o.cluster_id)
    }
}

impl FromStr for VServerGroupKey {
    type Err = KeyFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (port, owner) = split_key(s)?;
        if port.is_empty() {
            return Err(KeyFormatError(s.to_owned()));
        }
        Ok(Self { port: port.to_owned(), owner })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_name_is_a_plus_uid_without_dashes_cut_to_32() {
        let uid = "5e1b7c0d-4f2a-4b8e-9a31-0c2d3e4f5a6b";
        let name = default_load_balancer_name(uid);
        assert_eq!(name, "a5e1b7c0d4f2a4b8e9a310c2d3e4f5a6");
        assert_eq!(name.len(), 32);
        assert_eq!(default_load_balancer_name("abc"), "aabc");
    }

    #[test]
    fn keys_print_and_parse_like_the_go_ccm() {
        let owner = ServiceOwner::new("default", "web", "c-123");
        let listener = owner.listener_key(80);
        assert_eq!(listener.to_string(), "k8s/80/web/default/c-123");
        assert_eq!("k8s/80/web/default/c-123".parse::<ListenerKey>(), Ok(listener));
        let group = owner.group_key("30080");
        assert_eq!(group.to_string(), "k8s/30080/web/default/c-123");
        assert_eq!(group.to_string().parse::<VServerGroupKey>(), Ok(group));
        assert!(owner.owns_listener("k8s/443/web/default/c-123"));
        assert!(!owner.owns_listener("k8s/443/web/other/c-123"));
        assert!(!owner.owns_listener("k8s/443/web/default/c-999"));
        assert!(!owner.owns_listener("tcp_443"));
        assert!(!owner.owns_listener("k8s/http/web/default/c-123"));
        assert!(owner.owns_group_key("k8s/30080/web/default/c-123"));
        assert!(!owner.owns_group_key("my backend"));
        assert!("k8s/80/a/b/c/d".parse::<ListenerKey>().is_err());
    }
}
