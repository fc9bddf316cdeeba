//! A node's `status.addresses` from its instance: pure functions.
//!
//! The list is `InternalIP` (private IPv4s, then the primary ENI's IPv6s when wanted), `ExternalIP` (ECS public
//! IPs, then the EIP), then the kubelet's `Hostname` (the cloud gives none). With the kubelet's
//! `alpha.kubernetes.io/provided-node-ip` annotation, upstream's rule applies: each provided IP must be among the
//! cloud's addresses; the matching addresses come first, and the other addresses of the same type are dropped.

use std::net::IpAddr;

use ccm_kube::names::ANNOTATION_PROVIDED_NODE_IP;
use k8s_openapi::api::core::v1::{Node, NodeAddress};

/// `InternalIP`.
pub const INTERNAL_IP: &str = "InternalIP";
/// `ExternalIP`.
pub const EXTERNAL_IP: &str = "ExternalIP";
/// `Hostname`.
pub const HOSTNAME: &str = "Hostname";

use crate::cloud::EcsInstance;

/// Why the node's addresses cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The annotation is not one IP or a dual-stack pair.
    #[error("annotation {ANNOTATION_PROVIDED_NODE_IP}={0:?} is not an IP or an IPv4,IPv6 pair")]
    InvalidProvidedNodeIp(String),
    /// A provided IP is not one of the instance's addresses.
    #[error(
        "the kubelet's node IP {ip} (annotation {ANNOTATION_PROVIDED_NODE_IP}) is not an address of instance {instance_id}"
    )]
    ProvidedNodeIpNotFound {
        /// The IP the kubelet asked for.
        ip: IpAddr,
        /// The instance.
        instance_id: String,
    },
}

/// The IPs of the kubelet's `provided-node-ip` annotation: `None` without it (or with an unspecified address,
/// which means "any").
pub fn provided_node_ips(node: &Node) -> Result<Option<Vec<IpAddr>>, AddressError> {
    let annotations = node.metadata.annotations.as_ref();
    let Some(value) = annotations.and_then(|a| a.get(ANNOTATION_PROVIDED_NODE_IP)) else { return Ok(None) };
    let invalid = || AddressError::InvalidProvidedNodeIp(value.clone());
    if value.trim().is_empty() {
        return Ok(None);
    }
    let ips: Vec<IpAddr> =
        value.split(',').map(|s| s.trim().parse().map_err(|_| invalid())).collect::<Result<_, _>>()?;
    match ips.as_slice() {
        [ip] if ip.is_unspecified() => Ok(None),
        [_] => Ok(Some(ips)),
        [a, b] if a.is_ipv4() != b.is_ipv4() && !a.is_unspecified() && !b.is_unspecified() => Ok(Some(ips)),
        _ => Err(invalid()),
    }
}

fn address(type_: &str, ip: impl ToString) -> NodeAddress {
    NodeAddress { type_: type_.to_owned(), address: ip.to_string() }
}

/// The addresses the cloud knows for an instance.
pub fn cloud_addresses(instance: &EcsInstance, include_ipv6: bool) -> Vec<NodeAddress> {
    let internal = instance.private_ips.iter().map(|ip| address(INTERNAL_IP, ip));
    let ipv6 = instance.ipv6s.iter().filter(|_| include_ipv6).map(|ip| address(INTERNAL_IP, ip));
    let external = instance.public_ips.iter().chain(instance.eip.iter()).map(|ip| address(EXTERNAL_IP, ip));
    let mut list: Vec<NodeAddress> = Vec::new();
    for a in internal.chain(ipv6).chain(external) {
        if !list.contains(&a) {
            list.push(a);
        }
    }
    list
}

/// The node's current addresses of one type.
fn node_addresses_of_type<'a>(node: &'a Node, type_: &'a str) -> impl Iterator<Item = &'a NodeAddress> + 'a {
    let addresses = node.status.as_ref().and_then(|s| s.addresses.as_deref()).unwrap_or_default();
    addresses.iter().filter(move |a| a.type_ == type_)
}

/// The node's current `status.addresses`.
pub fn current_addresses(node: &Node) -> &[NodeAddress] {
    node.status.as_ref().and_then(|s| s.addresses.as_deref()).unwrap_or_default()
}

/// Upstream's `GetNodeAddressesFromNodeIP`: for each provided IP, the cloud addresses equal to it first (and it
/// must have one); then every address of a type no provided IP matched.
fn prefer_provided(
    list: Vec<NodeAddress>,
    provided: &[IpAddr],
    instance_id: &str,
) -> Result<Vec<NodeAddress>, AddressError> {
    let equals = |a: &NodeAddress, ip: &IpAddr| a.address.parse::<IpAddr>().is_ok_and(|parsed| parsed == *ip);
    let mut enforced: Vec<NodeAddress> = Vec::new();
    let mut matched_types: Vec<String> = Vec::new();
    for ip in provided {
        let matches: Vec<&NodeAddress> = list.iter().filter(|a| equals(a, ip)).collect();
        if matches.is_empty() {
            return Err(AddressError::ProvidedNodeIpNotFound { ip: *ip, instance_id: instance_id.to_owned() });
        }
        for a in matches {
            matched_types.push(a.type_.clone());
            enforced.push(a.clone());
        }
    }
    enforced.extend(list.into_iter().filter(|a| !matched_types.contains(&a.type_)));
    Ok(enforced)
}

/// The whole `status.addresses` list the node should have. An empty list means the cloud knows no address (then
/// the node's list is left as it is, as upstream does).
pub fn desired_addresses(
    node: &Node,
    instance: &EcsInstance,
    ipv6_dual_stack: bool,
) -> Result<Vec<NodeAddress>, AddressError> {
    let provided = provided_node_ips(node)?;
    let wants_ipv6 = ipv6_dual_stack || provided.iter().flatten().any(IpAddr::is_ipv6);
    let mut list = cloud_addresses(instance, wants_ipv6);
    if list.is_empty() {
        return match provided.as_ref().and_then(|p| p.first()) {
            Some(ip) => {
                Err(AddressError::ProvidedNodeIpNotFound { ip: *ip, instance_id: instance.instance_id.clone() })
            }
            None => Ok(list),
        };
    }
    list.extend(node_addresses_of_type(node, HOSTNAME).cloned());
    match provided {
        Some(provided) => prefer_provided(list, &provided, &instance.instance_id),
        None => Ok(list),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::instance;
    use k8s_openapi::api::core::v1::NodeStatus;

    fn node(provided: Option<&str>, addresses: &[(&str, &str)]) -> Node {
        let mut n = Node::default();
        if let Some(p) = provided {
            n.metadata.annotations = Some([(ANNOTATION_PROVIDED_NODE_IP.to_owned(), p.to_owned())].into());
        }
        n.status = Some(NodeStatus {
            addresses: Some(addresses.iter().map(|(t, a)| address(t, a)).collect()),
            ..Default::default()
        });
        n
    }

    fn dual_stack_instance() -> EcsInstance {
        let mut i = instance("cn-hangzhou", "i-1", "192.168.0.10");
        i.private_ips.push("192.168.0.11".parse().unwrap());
        i.ipv6s = vec!["2408::10".parse().unwrap()];
        i.public_ips = vec!["121.40.1.1".parse().unwrap()];
        i.eip = Some("47.1.2.3".parse().unwrap());
        i
    }

    fn pairs(list: &[NodeAddress]) -> Vec<(String, String)> {
        list.iter().map(|a| (a.type_.clone(), a.address.clone())).collect()
    }

    fn expect(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(t, a)| (t.to_string(), a.to_string())).collect()
    }

    #[test]
    fn cloud_addresses_in_order_with_the_kubelet_hostname_kept() {
        let n = node(None, &[(INTERNAL_IP, "192.168.0.10"), (HOSTNAME, "node-a")]);
        let got = desired_addresses(&n, &dual_stack_instance(), false).unwrap();
        assert_eq!(
            pairs(&got),
            expect(&[
                (INTERNAL_IP, "192.168.0.10"),
                (INTERNAL_IP, "192.168.0.11"),
                (EXTERNAL_IP, "121.40.1.1"),
                (EXTERNAL_IP, "47.1.2.3"),
                (HOSTNAME, "node-a"),
            ])
        );
    }

    #[test]
    fn ipv6_of_the_primary_eni_with_the_feature_on() {
        let got = desired_addresses(&node(None, &[]), &dual_stack_instance(), true).unwrap();
        assert!(pairs(&got).contains(&(INTERNAL_IP.to_owned(), "2408::10".to_owned())));
        assert_eq!(got[2].address, "2408::10", "after the IPv4 InternalIPs, before ExternalIPs");
    }

    #[test]
    fn provided_node_ip_goes_first_and_is_the_only_internal_ip() {
        let n = node(Some("192.168.0.11"), &[(HOSTNAME, "node-a")]);
        let got = desired_addresses(&n, &dual_stack_instance(), true).unwrap();
        assert_eq!(
            pairs(&got),
            expect(&[
                (INTERNAL_IP, "192.168.0.11"),
                (EXTERNAL_IP, "121.40.1.1"),
                (EXTERNAL_IP, "47.1.2.3"),
                (HOSTNAME, "node-a"),
            ])
        );
    }

    #[test]
    fn dual_stack_provided_node_ip_keeps_one_of_each_family_even_without_the_feature() {
        let n = node(Some("192.168.0.10, 2408::10"), &[]);
        let got = desired_addresses(&n, &dual_stack_instance(), false).unwrap();
        assert_eq!(
            pairs(&got),
            expect(&[
                (INTERNAL_IP, "192.168.0.10"),
                (INTERNAL_IP, "2408::10"),
                (EXTERNAL_IP, "121.40.1.1"),
                (EXTERNAL_IP, "47.1.2.3"),
            ])
        );
    }

    #[test]
    fn provided_external_ip_enforces_the_external_type_only() {
        let got = desired_addresses(&node(Some("47.1.2.3"), &[]), &dual_stack_instance(), false).unwrap();
        assert_eq!(
            pairs(&got),
            expect(&[(EXTERNAL_IP, "47.1.2.3"), (INTERNAL_IP, "192.168.0.10"), (INTERNAL_IP, "192.168.0.11")])
        );
    }

    #[test]
    fn provided_node_ip_not_matching_is_an_error() {
        let err = desired_addresses(&node(Some("10.9.9.9"), &[]), &dual_stack_instance(), false).unwrap_err();
        assert!(matches!(err, AddressError::ProvidedNodeIpNotFound { ip, .. } if ip.to_string() == "10.9.9.9"));
        let v6_missing = desired_addresses(&node(Some("192.168.0.10,2408::99"), &[]), &dual_stack_instance(), true);
        assert!(v6_missing.is_err());
        let mut bare = dual_stack_instance();
        bare.private_ips.clear();
        bare.public_ips.clear();
        bare.eip = None;
        bare.ipv6s.clear();
        assert!(desired_addresses(&node(Some("10.9.9.9"), &[]), &bare, false).is_err());
        assert_eq!(desired_addresses(&node(None, &[(HOSTNAME, "a")]), &bare, false).unwrap(), vec![]);
    }

    #[test]
    fn provided_node_ip_parsing() {
        let ips = |v: &str| provided_node_ips(&node(Some(v), &[]));
        assert_eq!(ips("10.0.0.1").unwrap().unwrap().len(), 1);
        assert_eq!(ips("10.0.0.1,fd00::1").unwrap().unwrap().len(), 2);
        assert_eq!(ips("0.0.0.0").unwrap(), None, "unspecified means any");
        assert_eq!(ips("").unwrap(), None);
        for bad in ["nonsense", "10.0.0.1,10.0.0.2", "10.0.0.1,fd00::1,fd00::2", "0.0.0.0,::1"] {
            assert!(ips(bad).is_err(), "{bad}");
        }
        assert_eq!(provided_node_ips(&Node::default()).unwrap(), None);
    }
}
