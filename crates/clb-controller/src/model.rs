//! The desired state of one Service's load balancer, built by a pure function from the Service, its parsed
//! annotations, the nodes, its EndpointSlices and the controller configuration.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
};

use aliyun_api::{
    Tag,
    slb::{
        AclType, AddressType, HealthCheckType, InstanceChargeType, InternetChargeType, ListenerProtocol,
        ModificationProtectionStatus, OnOff,
    },
};
use k8s_openapi::{
    api::{core::v1::Service, discovery::v1::EndpointSlice},
    apimachinery::pkg::util::intstr::IntOrString,
};

use ccm_kube::{Exclusion, NodeClass, node::classify};

use crate::{
    annotations::{self, CLASS_ANNOTATION, ServiceLbConfig},
    cloud::{Backend, ListenerSettings, NEW_ACL},
    config::ClbControllerConfig,
    eligibility::{NodeFilter, eligible},
    naming::{ListenerKey, ServiceOwner, TAG_OWNER, VServerGroupKey, default_load_balancer_name},
};

/// Label of an EndpointSlice naming its Service.
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// Path kube-proxy answers health checks on (`healthCheckNodePort`).
pub const LOCAL_HEALTH_CHECK_PATH: &str = "/healthz";
/// Weight of a backend when nothing else says.
pub const DEFAULT_BACKEND_WEIGHT: u32 = 100;

/// Why no desired model could be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The Service has no UID yet.
    #[error("the Service has no UID")]
    MissingUid,
    /// A port's protocol is neither TCP nor UDP.
    #[error("port {port}: protocol {protocol} is not supported by Classic Load Balancers (TCP and UDP are)")]
    UnsupportedProtocol {
        /// Service port.
        port: i32,
        /// Its protocol.
        protocol: String,
    },
    /// A port has no node port (`allocateLoadBalancerNodePorts: false`).
    #[error("port {0} has no node port; ECS backends need one (set allocateLoadBalancerNodePorts to true)")]
    MissingNodePort(i32),
    /// A port number is out of range.
    #[error("port {0} is out of range")]
    InvalidPort(i32),
    /// An HTTPS listener without a certificate.
    #[error("port {0}: HTTPS listeners need a server certificate (annotation cert-id)")]
    MissingCertificate(u16),
    /// `protocol-port` asks for a protocol the Service port's transport cannot carry.
    #[error("port {port}: protocol-port asks for {wanted} but the Service port is {protocol}")]
    ProtocolMismatch {
        /// Service port.
        port: u16,
        /// Asked for.
        wanted: String,
        /// The Service port's protocol.
        protocol: String,
    },
    /// `forward-port` names ports that are not an HTTP and an HTTPS listener of the Service.
    #[error("forward-port {from}:{to}: port {from} must be an HTTP listener and port {to} an HTTPS listener")]
    InvalidForward {
        /// HTTP port.
        from: u16,
        /// HTTPS port.
        to: u16,
    },
    /// `spec.loadBalancerSourceRanges` has an entry that is no CIDR block.
    #[error("spec.loadBalancerSourceRanges: {0:?} is not a list of CIDR blocks")]
    InvalidSourceRanges(Vec<String>),
    /// Source ranges and a user-provided ACL both ask to control access.
    #[error("loadBalancerSourceRanges and acl-status: on both control access to the listeners; use one of them")]
    AclConflict,
    /// Source ranges on a reused load balancer whose listeners are not managed.
    #[error(
        "loadBalancerSourceRanges needs the listeners to be managed: set force-override-listeners: \"true\" on a reused load balancer"
    )]
    SourceRangesWithoutListeners,
    /// Internet load balancers are disabled by the cloud-config.
    #[error("internet-facing load balancers are disabled (cloud-config disablePublicSLB); use address-type intranet")]
    PublicLoadBalancerDisabled,
}

/// The load balancer instance wanted. Optional fields are compared only when set (an annotation asked).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoadBalancerSpec {
    /// Owned or reused.
    pub provisioning: Provisioning,
    /// `"a"` + UID without dashes (32 characters): default name and owner tag value.
    pub default_name: String,
    /// Name asked for.
    pub name: Option<String>,
    /// Address type asked for (created as `internet` when unset).
    pub address_type: Option<AddressType>,
    /// IP version asked for (`ip-version`; the API's `ipv4` when unset).
    pub ip_version: Option<aliyun_api::slb::AddressIpVersion>,
    /// Fixed intranet address.
    pub address: Option<String>,
    /// Primary zone.
    pub master_zone_id: Option<String>,
    /// Secondary zone.
    pub slave_zone_id: Option<String>,
    /// Resource group asked for by annotation.
    pub resource_group_id: Option<String>,
    /// Spec.
    pub spec: Option<String>,
    /// Instance billing.
    pub instance_charge_type: Option<InstanceChargeType>,
    /// Internet billing.
    pub internet_charge_type: Option<InternetChargeType>,
    /// Bandwidth.
    pub bandwidth: Option<u32>,
    /// Delete protection.
    pub delete_protection: Option<OnOff>,
    /// Console modification protection.
    pub modification_protection: Option<ModificationProtectionStatus>,
    /// Extra tags.
    pub additional_tags: BTreeMap<String, String>,
    /// `force-override-listeners: "true"`: listeners someone else created on the Service's ports are taken over
    /// instead of being reported as conflicts.
    pub take_over_listeners: bool,
    /// Ownership tags of a created load balancer: owner and cluster.
    pub owner_tags: Vec<(String, String)>,
    /// Where a new intranet load balancer goes.
    pub placement: Placement,
}

/// How a Service's load balancer is obtained.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Provisioning {
    /// Created and owned by the controller (found again by its tag or name).
    Owned,
    /// An existing load balancer named by the `id` annotation; only what the Service owns on it is touched.
    Reused {
        /// `lb-…`.
        id: String,
        /// `force-override-listeners: "true"`: listeners are managed too.
        manage_listeners: bool,
    },
}

impl LoadBalancerSpec {
    /// The reused load balancer ID, if any.
    pub fn reuse_id(&self) -> Option<&str> {
        match &self.provisioning {
            Provisioning::Reused { id, .. } => Some(id),
            Provisioning::Owned => None,
        }
    }

    /// Whether listeners are managed on this load balancer.
    pub fn manages_listeners(&self) -> bool {
        match &self.provisioning {
            Provisioning::Reused { manage_listeners, .. } => *manage_listeners,
            Provisioning::Owned => true,
        }
    }

    /// The owner tag value (`kubernetes.do.not.delete=<default name>`).
    pub fn owner_tag(&self) -> (&str, &str) {
        (TAG_OWNER, &self.default_name)
    }
}

/// Where a new load balancer is placed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Placement {
    /// VPC (intranet).
    pub vpc_id: Option<String>,
    /// vSwitches to try in order (intranet); empty for internet load balancers.
    pub vswitches: Vec<String>,
    /// Whether the vSwitch came from the annotation (then no other is tried).
    pub vswitch_from_annotation: bool,
    /// Resource group for creation (annotation, else cloud-config).
    pub resource_group_id: Option<String>,
}

/// One listener wanted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListenerSpec {
    /// Port and owner; printed, it is the description.
    pub key: ListenerKey,
    /// Protocol.
    pub protocol: ListenerProtocol,
    /// The vServer group it forwards to.
    pub group: VServerGroupKey,
    /// Attributes asked for.
    pub settings: ListenerSettings,
    /// HTTPS: extra certificates by domain (`domain-extensions`); empty for other protocols.
    pub domain_extensions: BTreeMap<String, String>,
    /// When the listener still checks kube-proxy's `/healthz` on another port (left over from
    /// `externalTrafficPolicy: Local`) and nothing asks for that any more: switch back to a TCP check on this port
    /// (the node port), since the health check node port goes away with the Local policy.
    pub reset_health_check: Option<u16>,
}

/// One vServer group wanted, with its backends (sorted by server and port).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VServerGroupSpec {
    /// Name (ownership key); also the description of the Service's backends.
    pub key: VServerGroupKey,
    /// Backends.
    pub backends: Vec<Backend>,
    /// `vgroup-port`: an existing group (of a reused load balancer) the backends go into instead of an own one.
    pub existing_id: Option<String>,
    /// `ignore-weight-update: on`: weights of backends already in the group are left alone.
    pub ignore_weight_update: bool,
}

/// Everything wanted for one Service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DesiredClb {
    /// The owning Service.
    pub owner: ServiceOwner,
    /// The instance.
    pub load_balancer: LoadBalancerSpec,
    /// Listeners (empty when a reused load balancer's listeners are not managed).
    pub listeners: Vec<ListenerSpec>,
    /// vServer groups, one per distinct node port.
    pub vserver_groups: Vec<VServerGroupSpec>,
    /// Hostname to publish instead of the address.
    pub hostname: Option<String>,
    /// `external-ip-type: eip`: publish the elastic IPs bound to the load balancer instead of its address.
    pub eip_ingress: bool,
    /// Addresses the Service status already publishes (never silently replaced by a new load balancer).
    pub published_addresses: Vec<String>,
    /// The access control list the controller owns for the Service's source ranges, bound as a whitelist to
    /// every listener (`None`: no source ranges; an owned list left over is unbound and deleted).
    pub owned_acl: Option<OwnedAclSpec>,
}

/// The access control list a Service's source ranges become.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnedAclSpec {
    /// `k8s/<service>/<namespace>/<cluster-id>`.
    pub name: String,
    /// CIDR blocks, sorted.
    pub entries: Vec<String>,
    /// Tags of a new list (owner and cluster, like the load balancer's).
    pub tags: Vec<(String, String)>,
}

impl DesiredClb {
    /// A fingerprint of the whole desired cloud state (changes when anything, backends included, changes; the
    /// published addresses are an input, not part of it).
    pub fn fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        (&self.owner, &self.load_balancer, &self.listeners, &self.vserver_groups, &self.hostname, &self.owned_acl)
            .hash(&mut h);
        self.eip_ingress.hash(&mut h);
        h.finish()
    }

    /// A fingerprint of everything but the backends: when it is unchanged, only backends need work.
    pub fn shape_fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        (&self.owner, &self.load_balancer, &self.listeners, &self.hostname, &self.owned_acl, self.eip_ingress)
            .hash(&mut h);
        self.vserver_groups.iter().map(|g| &g.key).collect::<Vec<_>>().hash(&mut h);
        h.finish()
    }

    /// Whether some vServer group has no backend at all.
    pub fn has_empty_group(&self) -> bool {
        self.vserver_groups.iter().any(|g| g.backends.is_empty())
    }
}

impl fmt::Display for DesiredClb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "load balancer for {}", self.owner)?;
        for l in &self.listeners {
            writeln!(f, "  listener {}/{} -> {} ({})", l.protocol, l.key.port, l.group, l.settings)?;
        }
        for g in &self.vserver_groups {
            writeln!(f, "  vserver group {} with {} backend(s)", g.key, g.backends.len())?;
        }
        Ok(())
    }
}

/// Whether the controller handles this Service: `type: LoadBalancer`, no `loadBalancerClass`, and none of the Go
/// CCM's opt-out annotations (`service.beta.kubernetes.io/class`, `…-loadbalancer-tunnel-type`).
pub fn wants_load_balancer(service: &Service) -> bool {
    let Some(spec) = service.spec.as_ref() else { return false };
    let annotations = service.metadata.annotations.as_ref();
    spec.type_.as_deref() == Some("LoadBalancer")
        && spec.load_balancer_class.is_none()
        && !annotations.is_some_and(|a| a.contains_key(CLASS_ANNOTATION))
        && annotations::lookup(annotations, annotations::keys::TUNNEL_TYPE).is_none()
}

/// Builds the desired model of `service`.
pub fn build_desired(
    service: &Service,
    lb_config: &ServiceLbConfig,
    nodes: &[Arc<k8s_openapi::api::core::v1::Node>],
    endpoint_slices: &[Arc<EndpointSlice>],
    config: &ClbControllerConfig,
) -> Result<DesiredClb, ModelError> {
    let uid = service.metadata.uid.as_deref().filter(|u| !u.is_empty()).ok_or(ModelError::MissingUid)?;
    let owner = ServiceOwner::new(
        service.metadata.namespace.clone().unwrap_or_default(),
        service.metadata.name.clone().unwrap_or_default(),
        config.cluster_id.clone(),
    );
    let load_balancer = load_balancer_spec(uid, lb_config, config)?;
    let owned_acl = owned_acl(service, lb_config, &owner, &load_balancer)?;
    let eni = lb_config.eni_backends.unwrap_or(config.eni_backends);
    let ports = service_ports(service, lb_config, eni)?;
    check_forwards(&ports, lb_config)?;
    let weights = if eni { BTreeMap::new() } else { backend_weights(service, lb_config, nodes, endpoint_slices) };
    // Pods on virtual-kubelet nodes (ECI) have no node to be reached through: they join node backends as ENIs.
    let virtual_nodes = if eni { BTreeSet::new() } else { virtual_kubelet_nodes(nodes) };
    let on_virtual_node = |node: Option<&str>| node.is_some_and(|n| virtual_nodes.contains(n));
    let has_virtual_pods = !virtual_nodes.is_empty()
        && ready_endpoints_per_node(service, endpoint_slices).keys().any(|n| on_virtual_node(Some(n)));
    // kube-proxy's /healthz on the health check node port does not exist on an ECI pod: with such pods among the
    // backends the listener keeps its port check, which works for both kinds.
    let local_hc_port = if eni || has_virtual_pods { None } else { local_health_check_port(service) };
    let mut groups: BTreeMap<VServerGroupKey, VServerGroupSpec> = BTreeMap::new();
    let mut listeners = Vec::new();
    for port in &ports {
        let key = owner.group_key(if eni { port.target.clone() } else { port.node_port.to_string() });
        let existing_id = lb_config.vgroup_ports.get(&port.port).cloned();
        let backends = if eni {
            let weight = lb_config.default_weight.unwrap_or(DEFAULT_BACKEND_WEIGHT);
            let pods = pod_endpoints(service, endpoint_slices, port.name.as_deref(), |_| true);
            let n = u32::try_from(pods.len()).unwrap_or(u32::MAX).max(1);
            let weight = match (&existing_id, lb_config.weight) {
                (Some(_), Some(0)) => 0,
                (Some(_), Some(total)) => (total / n).max(1),
                _ => weight,
            };
            pods.into_iter().map(|(ip, target)| Backend::eni_pod(ip, target, weight, key.to_string())).collect()
        } else {
            let virtual_pods = if has_virtual_pods {
                pod_endpoints(service, endpoint_slices, port.name.as_deref(), on_virtual_node)
            } else {
                Vec::new()
            };
            node_and_virtual_pod_backends(
                service,
                lb_config,
                &weights,
                virtual_pods,
                port.node_port,
                &existing_id,
                &key,
            )
        };
        groups.entry(key.clone()).or_insert_with(|| VServerGroupSpec {
            backends,
            key: key.clone(),
            existing_id,
            ignore_weight_update: lb_config.ignore_weight_update,
        });
        if load_balancer.manages_listeners() {
            let mut settings = listener_settings(&port.protocol, lb_config, local_hc_port);
            if port.protocol == ListenerProtocol::Http {
                settings.forward_port = lb_config.forward_ports.get(&port.port).copied();
            }
            if owned_acl.is_some() {
                settings.acl_status = Some(OnOff::On);
                settings.acl_type = Some(AclType::White);
                settings.acl_id = Some(NEW_ACL.to_owned());
            }
            let unconfigured = settings.health_check_type.is_none()
                && settings.health_check_uri.is_none()
                && settings.health_check_connect_port.is_none();
            listeners.push(ListenerSpec {
                key: owner.listener_key(port.port),
                domain_extensions: if port.protocol == ListenerProtocol::Https {
                    lb_config.l7.domain_extensions.clone()
                } else {
                    BTreeMap::new()
                },
                reset_health_check: (port.protocol == ListenerProtocol::Tcp && unconfigured && !eni)
                    .then_some(port.node_port),
                settings,
                protocol: port.protocol.clone(),
                group: key,
            });
        }
    }
    Ok(DesiredClb {
        owner,
        load_balancer,
        listeners,
        vserver_groups: groups.into_values().collect(),
        hostname: lb_config.hostname.clone(),
        eip_ingress: lb_config.eip_ingress,
        published_addresses: published_addresses(service),
        owned_acl,
    })
}

/// The owned access control list for `spec.loadBalancerSourceRanges` (else the upstream annotation).
fn owned_acl(
    service: &Service,
    lb: &ServiceLbConfig,
    owner: &ServiceOwner,
    load_balancer: &LoadBalancerSpec,
) -> Result<Option<OwnedAclSpec>, ModelError> {
    let spec_ranges = service.spec.as_ref().and_then(|s| s.load_balancer_source_ranges.clone()).unwrap_or_default();
    let entries = if spec_ranges.iter().any(|r| !r.trim().is_empty()) {
        annotations::parse_source_ranges(spec_ranges.iter().map(String::as_str))
            .ok_or(ModelError::InvalidSourceRanges(spec_ranges))?
    } else {
        lb.source_ranges.clone()
    };
    if entries.is_empty() {
        return Ok(None);
    }
    if lb.acl_status.as_ref().is_some_and(OnOff::is_on) {
        return Err(ModelError::AclConflict);
    }
    if !load_balancer.manages_listeners() {
        return Err(ModelError::SourceRangesWithoutListeners);
    }
    Ok(Some(OwnedAclSpec { name: owner.acl_name(), entries, tags: load_balancer.owner_tags.clone() }))
}

/// The Go CCM's "pod percent" split of a total `weight` (0–100) over the backends: Cluster policy `weight/n`
/// each, Local policy `weight × pods on the node / pods`; at least 1 unless the total is 0.
fn spread_weight(total: u32, weights: &BTreeMap<String, u32>, local: bool) -> BTreeMap<String, u32> {
    let n = u32::try_from(weights.len()).unwrap_or(u32::MAX).max(1);
    let pods: u32 = weights.values().sum::<u32>().max(1);
    weights
        .iter()
        .map(|(id, pods_here)| {
            let w = match (total, local) {
                (0, _) => 0,
                (_, false) => (total / n).max(1),
                (_, true) => (total * pods_here / pods).max(1),
            };
            (id.clone(), w)
        })
        .collect()
}

/// The backends of a node-backed group: every node backend on the node port, and the ready pods on
/// virtual-kubelet nodes as ENI backends on their target port (the Go CCM's behaviour in both traffic policies).
/// Weights: nodes as computed; a virtual pod counts as one pod (Local) or one backend at the default weight
/// (Cluster); with `vgroup-port` and `weight` the total is spread over both kinds.
fn node_and_virtual_pod_backends(
    service: &Service,
    lb: &ServiceLbConfig,
    node_weights: &BTreeMap<String, u32>,
    virtual_pods: Vec<(String, u16)>,
    node_port: u16,
    existing_id: &Option<String>,
    key: &VServerGroupKey,
) -> Vec<Backend> {
    let local = is_local(service);
    let pod_weight = if local { 1 } else { lb.default_weight.unwrap_or(DEFAULT_BACKEND_WEIGHT) };
    let mut weights = node_weights.clone();
    weights.extend(virtual_pods.iter().map(|(ip, _)| (ip.clone(), pod_weight)));
    if let (Some(_), Some(total)) = (existing_id, lb.weight) {
        weights = spread_weight(total, &weights, local);
    }
    let mut backends: Vec<Backend> =
        node_weights.keys().map(|id| Backend::ecs(id.clone(), node_port, weights[id], key.to_string())).collect();
    backends.extend(
        virtual_pods
            .into_iter()
            .map(|(ip, target)| Backend::eni_pod(ip.clone(), target, weights[&ip], key.to_string())),
    );
    backends
}

/// Names of the virtual-kubelet nodes (ECI): not ECS instances, but their pods can be ENI backends.
fn virtual_kubelet_nodes(nodes: &[Arc<k8s_openapi::api::core::v1::Node>]) -> BTreeSet<String> {
    nodes
        .iter()
        .filter(|n| matches!(classify(n), NodeClass::Excluded(Exclusion::VirtualKubelet)))
        .filter_map(|n| n.metadata.name.clone())
        .collect()
}

/// One Service port, checked.
struct PortSpec {
    port: u16,
    /// 0 with ENI backends (not needed).
    node_port: u16,
    /// The target port as written (number or name): the group key of ENI backends.
    target: String,
    /// The port's name (matches the EndpointSlice port).
    name: Option<String>,
    protocol: ListenerProtocol,
}

fn service_ports(service: &Service, lb: &ServiceLbConfig, eni: bool) -> Result<Vec<PortSpec>, ModelError> {
    let ports = service.spec.as_ref().and_then(|s| s.ports.as_ref()).map(Vec::as_slice).unwrap_or_default();
    ports
        .iter()
        .map(|p| {
            let transport = match p.protocol.as_deref().unwrap_or("TCP") {
                "TCP" => ListenerProtocol::Tcp,
                "UDP" => ListenerProtocol::Udp,
                other => return Err(ModelError::UnsupportedProtocol { port: p.port, protocol: other.to_owned() }),
            };
            let port = u16::try_from(p.port).map_err(|_| ModelError::InvalidPort(p.port))?;
            let protocol = match lb.protocol_ports.get(&port) {
                None => transport,
                Some(wanted) if transport == ListenerProtocol::Udp && *wanted != ListenerProtocol::Udp => {
                    return Err(ModelError::ProtocolMismatch {
                        port,
                        wanted: wanted.to_string(),
                        protocol: transport.to_string(),
                    });
                }
                Some(wanted) if transport == ListenerProtocol::Tcp && *wanted == ListenerProtocol::Udp => {
                    return Err(ModelError::ProtocolMismatch {
                        port,
                        wanted: wanted.to_string(),
                        protocol: transport.to_string(),
                    });
                }
                Some(wanted) => wanted.clone(),
            };
            if protocol == ListenerProtocol::Https && lb.l7.cert_id.is_none() {
                return Err(ModelError::MissingCertificate(port));
            }
            let node_port = match p.node_port.filter(|n| *n > 0) {
                Some(n) => u16::try_from(n).map_err(|_| ModelError::InvalidPort(n))?,
                None if eni => 0,
                None => return Err(ModelError::MissingNodePort(p.port)),
            };
            let target = match &p.target_port {
                Some(IntOrString::Int(n)) => n.to_string(),
                Some(IntOrString::String(name)) => name.clone(),
                None => p.port.to_string(),
            };
            Ok(PortSpec { port, node_port, target, name: p.name.clone().filter(|n| !n.is_empty()), protocol })
        })
        .collect()
}

/// Every `forward-port` pair must go from an HTTP listener of the Service to an HTTPS one.
fn check_forwards(ports: &[PortSpec], lb: &ServiceLbConfig) -> Result<(), ModelError> {
    let protocol_of = |port: u16| ports.iter().find(|p| p.port == port).map(|p| &p.protocol);
    for (from, to) in &lb.forward_ports {
        if protocol_of(*from) != Some(&ListenerProtocol::Http) || protocol_of(*to) != Some(&ListenerProtocol::Https) {
            return Err(ModelError::InvalidForward { from: *from, to: *to });
        }
    }
    Ok(())
}

fn load_balancer_spec(
    uid: &str,
    lb: &ServiceLbConfig,
    config: &ClbControllerConfig,
) -> Result<LoadBalancerSpec, ModelError> {
    let default_name = default_load_balancer_name(uid);
    let provisioning = match &lb.load_balancer_id {
        Some(id) => Provisioning::Reused { id: id.clone(), manage_listeners: lb.force_override_listeners },
        None => Provisioning::Owned,
    };
    let intranet = lb.address_type_or_default() == AddressType::Intranet;
    if !intranet && config.disable_public_slb && provisioning == Provisioning::Owned {
        return Err(ModelError::PublicLoadBalancerDisabled);
    }
    let placement = Placement {
        vpc_id: intranet.then(|| config.vpc_id.clone()).filter(|v| !v.is_empty()),
        vswitches: if intranet { vswitch_candidates(uid, lb, config) } else { Vec::new() },
        vswitch_from_annotation: lb.vswitch_id.is_some(),
        resource_group_id: lb.resource_group_id.clone().or_else(|| config.resource_group_id.clone()),
    };
    Ok(LoadBalancerSpec {
        provisioning,
        owner_tags: vec![
            (TAG_OWNER.to_owned(), default_name.clone()),
            (config.cluster_tag_key.clone(), config.cluster_id.clone()),
        ],
        default_name,
        take_over_listeners: lb.force_override_listeners,
        name: lb.name.clone(),
        address_type: lb.address_type.clone(),
        ip_version: lb.ip_version.clone(),
        address: lb.address.clone(),
        master_zone_id: lb.master_zone_id.clone(),
        slave_zone_id: lb.slave_zone_id.clone(),
        resource_group_id: lb.resource_group_id.clone(),
        spec: lb.spec.clone(),
        instance_charge_type: lb.instance_charge_type.clone(),
        internet_charge_type: lb.internet_charge_type.clone(),
        bandwidth: lb.bandwidth,
        delete_protection: lb.delete_protection.clone(),
        modification_protection: lb.modification_protection.clone(),
        additional_tags: lb.additional_tags.clone(),
        placement,
    })
}

/// The vSwitches a new intranet load balancer may use: the annotation's, else the cloud-config's (those in the
/// master zone first when one is asked for), starting at a position derived from the UID so that Services
/// spread over the vSwitches like the Go CCM's random pick, but deterministically.
fn vswitch_candidates(uid: &str, lb: &ServiceLbConfig, config: &ClbControllerConfig) -> Vec<String> {
    if let Some(vsw) = &lb.vswitch_id {
        return vec![vsw.clone()];
    }
    let mut all: Vec<String> = config.vswitches.iter().map(|v| v.vswitch_id.clone()).collect();
    if all.is_empty() {
        return all;
    }
    let mut h = DefaultHasher::new();
    uid.hash(&mut h);
    let start = usize::try_from(h.finish() % all.len() as u64).unwrap_or(0);
    all.rotate_left(start);
    if let Some(zone) = &lb.master_zone_id {
        let in_zone: BTreeSet<&str> =
            config.vswitches.iter().filter(|v| &v.zone_id == zone).map(|v| v.vswitch_id.as_str()).collect();
        all.sort_by_key(|v| !in_zone.contains(v.as_str()));
    }
    all
}

/// The listener attributes asked for, for one protocol.
fn listener_settings(
    protocol: &ListenerProtocol,
    lb: &ServiceLbConfig,
    local_hc_port: Option<u16>,
) -> ListenerSettings {
    let hc = &lb.health_check;
    let mut s = ListenerSettings {
        scheduler: lb.scheduler.clone(),
        health_check_switch: hc.switch.clone(),
        health_check_connect_port: hc.connect_port,
        health_check_connect_timeout: hc.connect_timeout,
        health_check_interval: hc.interval,
        healthy_threshold: hc.healthy_threshold,
        unhealthy_threshold: hc.unhealthy_threshold,
        proxy_protocol_v2: lb.proxy_protocol,
        acl_status: lb.acl_status.clone(),
        acl_id: lb.acl_id.clone(),
        acl_type: lb.acl_type.clone(),
        ..Default::default()
    };
    if matches!(protocol, ListenerProtocol::Http | ListenerProtocol::Https) {
        let l7 = &lb.l7;
        s.proxy_protocol_v2 = None;
        s.health_check_connect_timeout = None;
        s.health_check_switch = l7.health_check_flag.clone();
        s.health_check_uri = hc.uri.clone();
        s.health_check_domain = hc.domain.clone();
        s.health_check_http_code = hc.http_code.clone();
        s.health_check_method = l7.health_check_method.clone();
        s.health_check_timeout = l7.health_check_timeout;
        s.sticky_session = l7.sticky_session.clone();
        s.sticky_session_type = l7.sticky_session_type.clone();
        s.cookie = l7.cookie.clone();
        s.cookie_timeout = l7.cookie_timeout;
        s.x_forwarded_for_proto = l7.xff_proto.clone();
        s.x_forwarded_for_slb_port = l7.xff_slb_port.clone();
        s.x_forwarded_for_client_src_port = l7.xff_client_src_port.clone();
        s.idle_timeout = l7.idle_timeout;
        s.request_timeout = l7.request_timeout;
        if *protocol == ListenerProtocol::Https {
            s.server_certificate_id = l7.cert_id.clone();
            s.tls_cipher_policy = l7.tls_cipher_policy.clone();
            s.enable_http2 = l7.http2.clone();
        }
    }
    if *protocol == ListenerProtocol::Tcp {
        s.persistence_timeout = lb.persistence_timeout;
        s.established_timeout = lb.established_timeout;
        s.health_check_type = hc.check_type.clone();
        s.health_check_uri = hc.uri.clone();
        s.health_check_domain = hc.domain.clone();
        s.health_check_http_code = hc.http_code.clone();
        s.connection_drain = lb.connection_drain.clone();
        s.connection_drain_timeout = lb.connection_drain_timeout;
        apply_local_health_check(&mut s, local_hc_port);
    }
    s
}

/// `externalTrafficPolicy: Local`: check kube-proxy's `/healthz` on the health check node port, unless the
/// annotations configure the health check themselves or switch it off.
fn apply_local_health_check(s: &mut ListenerSettings, local_hc_port: Option<u16>) {
    let Some(port) = local_hc_port else { return };
    let user_configured =
        s.health_check_type.is_some() || s.health_check_uri.is_some() || s.health_check_connect_port.is_some();
    if user_configured || s.health_check_switch == Some(OnOff::Off) {
        return;
    }
    s.health_check_type = Some(HealthCheckType::Http);
    s.health_check_uri = Some(LOCAL_HEALTH_CHECK_PATH.to_owned());
    s.health_check_connect_port = Some(port);
}

fn is_local(service: &Service) -> bool {
    service.spec.as_ref().and_then(|s| s.external_traffic_policy.as_deref()) == Some("Local")
}

fn local_health_check_port(service: &Service) -> Option<u16> {
    if !is_local(service) {
        return None;
    }
    let port = service.spec.as_ref()?.health_check_node_port?;
    u16::try_from(port).ok().filter(|p| *p > 0)
}

/// Backend instance IDs and weights: every eligible node (Cluster), or eligible nodes with ready local endpoints
/// weighted by their count (Local).
fn backend_weights(
    service: &Service,
    lb: &ServiceLbConfig,
    nodes: &[Arc<k8s_openapi::api::core::v1::Node>],
    slices: &[Arc<EndpointSlice>],
) -> BTreeMap<String, u32> {
    let filter =
        NodeFilter { required_labels: Some(&lb.backend_labels), drop_unschedulable: lb.remove_unscheduled_backend };
    let eligible_nodes = nodes.iter().filter_map(|n| {
        let id = eligible(n, &filter).ok()?;
        Some((n.metadata.name.clone().unwrap_or_default(), id.instance_id().to_owned()))
    });
    if !is_local(service) {
        let weight = lb.default_weight.unwrap_or(DEFAULT_BACKEND_WEIGHT);
        return eligible_nodes.map(|(_, id)| (id, weight)).collect();
    }
    let per_node = ready_endpoints_per_node(service, slices);
    let mut weights = BTreeMap::new();
    for (name, id) in eligible_nodes {
        if let Some(count) = per_node.get(&name) {
            let w = weights.entry(id).or_insert(0u32);
            *w = (*w + count).min(DEFAULT_BACKEND_WEIGHT);
        }
    }
    weights
}

/// The ready, non-terminating pod addresses of the Service with their port for the Service port named `name`
/// (from the EndpointSlice port of that name), of the endpoints whose node passes `on_node`, each address once,
/// sorted.
fn pod_endpoints(
    service: &Service,
    slices: &[Arc<EndpointSlice>],
    name: Option<&str>,
    on_node: impl Fn(Option<&str>) -> bool,
) -> Vec<(String, u16)> {
    let svc_name = service.metadata.name.as_deref();
    let namespace = service.metadata.namespace.as_deref();
    let own: Vec<&EndpointSlice> = slices
        .iter()
        .map(Arc::as_ref)
        .filter(|s| s.metadata.namespace.as_deref() == namespace)
        .filter(|s| s.metadata.labels.as_ref().and_then(|l| l.get(LABEL_SERVICE_NAME)).map(String::as_str) == svc_name)
        .collect();
    let family = if own.iter().any(|s| s.address_type == "IPv4") { "IPv4" } else { "IPv6" };
    let mut out = BTreeSet::new();
    for slice in own.iter().filter(|s| s.address_type == family) {
        let port = slice
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref().filter(|n| !n.is_empty()) == name)
            .and_then(|p| p.port)
            .and_then(|p| u16::try_from(p).ok());
        let Some(port) = port else { continue };
        for endpoint in slice.endpoints.iter().flatten() {
            let conditions = endpoint.conditions.as_ref();
            let ready = conditions.and_then(|c| c.ready).unwrap_or(false);
            let terminating = conditions.and_then(|c| c.terminating).unwrap_or(false);
            let wanted = on_node(endpoint.node_name.as_deref());
            if let (true, false, true, Some(address)) = (ready, terminating, wanted, endpoint.addresses.first()) {
                out.insert((address.clone(), port));
            }
        }
    }
    out.into_iter().collect()
}

/// Ready, non-terminating endpoints of the Service per node name, each address counted once. IPv4 slices are
/// used when there are any (dual-stack Services have a slice per family), else IPv6.
pub fn ready_endpoints_per_node(service: &Service, slices: &[Arc<EndpointSlice>]) -> BTreeMap<String, u32> {
    let name = service.metadata.name.as_deref();
    let namespace = service.metadata.namespace.as_deref();
    let own: Vec<&EndpointSlice> = slices
        .iter()
        .map(Arc::as_ref)
        .filter(|s| s.metadata.namespace.as_deref() == namespace)
        .filter(|s| s.metadata.labels.as_ref().and_then(|l| l.get(LABEL_SERVICE_NAME)).map(String::as_str) == name)
        .collect();
    let family = if own.iter().any(|s| s.address_type == "IPv4") { "IPv4" } else { "IPv6" };
    let mut seen = BTreeSet::new();
    let mut counts = BTreeMap::new();
    for endpoint in own.iter().filter(|s| s.address_type == family).flat_map(|s| s.endpoints.iter().flatten()) {
        let conditions = endpoint.conditions.as_ref();
        let ready = conditions.and_then(|c| c.ready).unwrap_or(false);
        let terminating = conditions.and_then(|c| c.terminating).unwrap_or(false);
        let (Some(node), Some(address)) = (endpoint.node_name.as_ref(), endpoint.addresses.first()) else { continue };
        if ready && !terminating && seen.insert(address.clone()) {
            *counts.entry(node.clone()).or_insert(0) += 1;
        }
    }
    counts
}

fn published_addresses(service: &Service) -> Vec<String> {
    service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|ingress| ingress.iter().filter_map(|i| i.ip.clone()).collect())
        .unwrap_or_default()
}

impl LoadBalancerSpec {
    /// The tags a new load balancer is created with: ownership tags, then additional ones.
    pub fn creation_tags(&self) -> Vec<Tag> {
        self.owner_tags
            .iter()
            .map(|(k, v)| Tag::new(k.clone(), v.clone()))
            .chain(self.additional_tags.iter().map(|(k, v)| Tag::new(k.clone(), v.clone())))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::eligibility::tests::{ready_node, with_label};
    use k8s_openapi::api::{
        core::v1::{Node, ServicePort, ServiceSpec},
        discovery::v1::{Endpoint, EndpointConditions},
    };

    pub(crate) const UID: &str = "5e1b7c0d-4f2a-4b8e-9a31-0c2d3e4f5a6b";

    pub(crate) fn config() -> ClbControllerConfig {
        ClbControllerConfig {
            cluster_id: "c1".into(),
            region: "cn-hangzhou".into(),
            vpc_id: "vpc-1".into(),
            vswitches: crate::config::parse_vswitch_list("cn-hangzhou-b:vsw-b,cn-hangzhou-c:vsw-c").0,
            ..Default::default()
        }
    }

    /// Service `default/web` of type LoadBalancer with TCP port 80 → node port 30080.
    pub(crate) fn service() -> Service {
        let mut s = Service::default();
        s.metadata.name = Some("web".into());
        s.metadata.namespace = Some("default".into());
        s.metadata.uid = Some(UID.into());
        s.spec = Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            ports: Some(vec![ServicePort {
                port: 80,
                node_port: Some(30080),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        });
        s
    }

    pub(crate) fn annotate(mut s: Service, key: &str, value: &str) -> Service {
        s.metadata
            .annotations
            .get_or_insert_default()
            .insert(format!("{}{key}", annotations::ANNOTATION_PREFIX), value.into());
        s
    }

    pub(crate) fn nodes(names: &[&str]) -> Vec<Arc<Node>> {
        names.iter().map(|n| Arc::new(ready_node(n))).collect()
    }

    fn slice(service: &str, endpoints: &[(&str, &str, bool)]) -> Arc<EndpointSlice> {
        let mut s = EndpointSlice { address_type: "IPv4".into(), ..Default::default() };
        s.metadata.namespace = Some("default".into());
        s.metadata.labels = Some([(LABEL_SERVICE_NAME.to_string(), service.to_string())].into());
        s.endpoints = Some(
            endpoints
                .iter()
                .map(|(ip, node, ready)| Endpoint {
                    addresses: vec![ip.to_string()],
                    node_name: Some(node.to_string()),
                    conditions: Some(EndpointConditions { ready: Some(*ready), ..Default::default() }),
                    ..Default::default()
                })
                .collect(),
        );
        Arc::new(s)
    }

    pub(crate) fn desired(service: &Service, nodes: &[Arc<Node>]) -> DesiredClb {
        let lb = ServiceLbConfig::parse(service.metadata.annotations.as_ref()).unwrap();
        build_desired(service, &lb, nodes, &[], &config()).unwrap()
    }

    fn with_source_ranges(mut s: Service, ranges: &[&str]) -> Service {
        s.spec.as_mut().unwrap().load_balancer_source_ranges = Some(ranges.iter().map(|r| r.to_string()).collect());
        s
    }

    #[test]
    fn source_ranges_become_an_owned_whitelist_on_every_listener() {
        let d = desired(&with_source_ranges(service(), &["10.0.0.0/8", "192.168.1.1"]), &nodes(&["a"]));
        let acl = d.owned_acl.as_ref().expect("an owned ACL");
        assert_eq!(acl.name, "k8s/web/default/c1");
        assert_eq!(acl.entries, ["10.0.0.0/8", "192.168.1.1/32"]);
        assert!(acl.tags.contains(&("kubernetes.do.not.delete".to_owned(), d.load_balancer.default_name.clone())));
        let s = &d.listeners[0].settings;
        assert_eq!(s.acl_status, Some(OnOff::On));
        assert_eq!(s.acl_type, Some(AclType::White));
        assert_eq!(s.acl_id.as_deref(), Some(NEW_ACL));
        // The annotation is the fallback; the field wins.
        let mut annotated = service();
        annotated.metadata.annotations =
            Some([(annotations::SOURCE_RANGES_ANNOTATION.to_owned(), "172.16.0.0/12".to_owned())].into());
        assert_eq!(desired(&annotated, &nodes(&["a"])).owned_acl.unwrap().entries, ["172.16.0.0/12"]);
        let both = with_source_ranges(annotated, &["10.0.0.0/8"]);
        assert_eq!(desired(&both, &nodes(&["a"])).owned_acl.unwrap().entries, ["10.0.0.0/8"]);
        // No ranges: no ACL, listeners untouched.
        let plain = desired(&service(), &nodes(&["a"]));
        assert!(plain.owned_acl.is_none() && plain.listeners[0].settings.acl_status.is_none());
    }

    #[test]
    fn source_ranges_conflicts_are_model_errors() {
        let build = |s: &Service| {
            let lb = ServiceLbConfig::parse(s.metadata.annotations.as_ref()).unwrap();
            build_desired(s, &lb, &nodes(&["a"]), &[], &config())
        };
        let bad = with_source_ranges(service(), &["10.0.0.0/99"]);
        assert!(matches!(build(&bad), Err(ModelError::InvalidSourceRanges(_))));
        let user_acl = annotate(
            annotate(annotate(with_source_ranges(service(), &["10.0.0.0/8"]), "acl-status", "on"), "acl-id", "acl-u"),
            "acl-type",
            "white",
        );
        assert_eq!(build(&user_acl), Err(ModelError::AclConflict));
        let reused = annotate(with_source_ranges(service(), &["10.0.0.0/8"]), "id", "lb-user");
        assert_eq!(build(&reused), Err(ModelError::SourceRangesWithoutListeners));
    }

    #[test]
    fn a_user_acl_is_passed_to_the_listeners() {
        let s = annotate(annotate(annotate(service(), "acl-status", "on"), "acl-id", "acl-u"), "acl-type", "black");
        let d = desired(&s, &nodes(&["a"]));
        let l = &d.listeners[0].settings;
        assert_eq!(
            (l.acl_status.clone(), l.acl_id.as_deref(), l.acl_type.clone()),
            (Some(OnOff::On), Some("acl-u"), Some(AclType::Black))
        );
        assert!(d.owned_acl.is_none());
    }

    fn two_ports() -> Service {
        let mut s = service();
        s.spec.as_mut().unwrap().ports = Some(vec![
            ServicePort {
                name: Some("http".into()),
                port: 80,
                node_port: Some(30080),
                protocol: Some("TCP".into()),
                ..Default::default()
            },
            ServicePort {
                name: Some("https".into()),
                port: 443,
                node_port: Some(30443),
                protocol: Some("TCP".into()),
                ..Default::default()
            },
        ]);
        s
    }

    #[test]
    fn protocol_port_makes_http_and_https_listeners_with_layer_7_settings() {
        let mut s = annotate(two_ports(), "protocol-port", "http:80,https:443");
        for (k, v) in [
            ("cert-id", "cert-1"),
            ("forward-port", "80:443"),
            ("sticky-session", "on"),
            ("sticky-session-type", "server"),
            ("cookie", "session"),
            ("health-check-flag", "on"),
            ("health-check-uri", "/healthz"),
            ("health-check-timeout", "4"),
            ("tls-cipher-policy", "tls_cipher_policy_1_2"),
            ("http2-enabled", "on"),
            ("idle-timeout", "20"),
            ("proxy-protocol", "on"),
            ("persistence-timeout", "10"),
        ] {
            s = annotate(s, k, v);
        }
        let d = desired(&s, &nodes(&["a"]));
        let [http, https] = d.listeners.as_slice() else { panic!("{d}") };
        assert_eq!((&http.protocol, &https.protocol), (&ListenerProtocol::Http, &ListenerProtocol::Https));
        assert_eq!(http.settings.forward_port, Some(443));
        assert_eq!(https.settings.forward_port, None);
        for l in [http, https] {
            assert_eq!(l.settings.sticky_session, Some(OnOff::On));
            assert_eq!(l.settings.cookie.as_deref(), Some("session"));
            assert_eq!(l.settings.health_check_switch, Some(OnOff::On), "health-check-flag drives L7 checks");
            assert_eq!(l.settings.health_check_uri.as_deref(), Some("/healthz"));
            assert_eq!(l.settings.health_check_timeout, Some(4));
            assert_eq!(l.settings.idle_timeout, Some(20));
            assert_eq!(l.settings.proxy_protocol_v2, None, "TCP/UDP only");
            assert_eq!(l.settings.persistence_timeout, None, "TCP only");
            assert_eq!(l.reset_health_check, None);
        }
        assert_eq!(http.settings.server_certificate_id, None);
        assert_eq!(https.settings.server_certificate_id.as_deref(), Some("cert-1"));
        assert_eq!(https.settings.tls_cipher_policy.as_deref(), Some("tls_cipher_policy_1_2"));
        assert_eq!(https.settings.enable_http2, Some(OnOff::On));
    }

    #[test]
    fn layer_7_mistakes_are_model_errors() {
        let build = |s: &Service| {
            let lb = ServiceLbConfig::parse(s.metadata.annotations.as_ref()).unwrap();
            build_desired(s, &lb, &nodes(&["a"]), &[], &config())
        };
        let no_cert = annotate(two_ports(), "protocol-port", "https:443");
        assert_eq!(build(&no_cert), Err(ModelError::MissingCertificate(443)));
        let bad_forward = annotate(
            annotate(annotate(two_ports(), "protocol-port", "http:80"), "forward-port", "80:443"),
            "cert-id",
            "c",
        );
        assert_eq!(build(&bad_forward), Err(ModelError::InvalidForward { from: 80, to: 443 }));
        let mut udp = service();
        udp.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].protocol = Some("UDP".into());
        let udp = annotate(udp, "protocol-port", "http:80");
        assert!(matches!(build(&udp), Err(ModelError::ProtocolMismatch { port: 80, .. })));
    }

    /// An EndpointSlice of `default/web` with pod addresses on port 8080 (unnamed port).
    pub(crate) fn pod_slice(pods: &[(&str, bool)]) -> Arc<EndpointSlice> {
        let mut s = EndpointSlice { address_type: "IPv4".into(), ..Default::default() };
        s.metadata.namespace = Some("default".into());
        s.metadata.labels = Some([(LABEL_SERVICE_NAME.to_string(), "web".to_string())].into());
        s.ports = Some(vec![k8s_openapi::api::discovery::v1::EndpointPort { port: Some(8080), ..Default::default() }]);
        s.endpoints = Some(
            pods.iter()
                .map(|(ip, ready)| Endpoint {
                    addresses: vec![ip.to_string()],
                    conditions: Some(EndpointConditions { ready: Some(*ready), ..Default::default() }),
                    ..Default::default()
                })
                .collect(),
        );
        Arc::new(s)
    }

    #[test]
    fn eni_backends_are_ready_pods_on_the_target_port() {
        let mut s = annotate(service(), "default-weight", "50");
        s.metadata.annotations.as_mut().unwrap().insert(annotations::BACKEND_TYPE_ANNOTATION.into(), "eni".into());
        let port = &mut s.spec.as_mut().unwrap().ports.as_mut().unwrap()[0];
        port.target_port = Some(IntOrString::Int(8080));
        port.node_port = None;
        let lb = ServiceLbConfig::parse(s.metadata.annotations.as_ref()).unwrap();
        let slices = [pod_slice(&[("10.1.0.5", true), ("10.1.0.6", false), ("10.1.0.4", true)])];
        let d = build_desired(&s, &lb, &nodes(&["a"]), &slices, &config()).unwrap();
        let g = &d.vserver_groups[0];
        assert_eq!(g.key.to_string(), "k8s/8080/web/default/c1", "ENI groups are keyed by the target port");
        let backends: Vec<(&str, u16, u32, bool)> =
            g.backends.iter().map(|b| (b.server_id.as_str(), b.port, b.weight, b.is_unresolved_pod())).collect();
        assert_eq!(backends, [("10.1.0.4", 8080, 50, true), ("10.1.0.5", 8080, 50, true)], "ready pods only");
        assert_eq!(d.listeners[0].group, g.key);
        assert_eq!(d.listeners[0].reset_health_check, None);
        // The cloud-config default applies when the annotation does not say.
        let mut plain = service();
        plain.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].target_port = Some(IntOrString::Int(8080));
        let eni_config = ClbControllerConfig { eni_backends: true, ..config() };
        let lb = ServiceLbConfig::parse(None).unwrap();
        let d = build_desired(&plain, &lb, &nodes(&["a"]), &slices, &eni_config).unwrap();
        assert!(d.vserver_groups[0].backends.iter().all(Backend::is_unresolved_pod));
    }

    #[test]
    fn cluster_policy_uses_every_eligible_node_at_weight_100() {
        let mut all = nodes(&["a", "b"]);
        all.push(Arc::new(with_label(ready_node("cp"), "node-role.kubernetes.io/control-plane", "")));
        let d = desired(&service(), &all);
        assert_eq!(d.listeners.len(), 1);
        let l = &d.listeners[0];
        assert_eq!(l.key.to_string(), "k8s/80/web/default/c1");
        assert_eq!(l.group.to_string(), "k8s/30080/web/default/c1");
        assert!(l.settings.is_empty(), "no annotation asks for anything");
        let g = &d.vserver_groups[0];
        assert_eq!(
            g.backends,
            vec![
                Backend::ecs("i-a", 30080, 100, "k8s/30080/web/default/c1"),
                Backend::ecs("i-b", 30080, 100, "k8s/30080/web/default/c1"),
            ]
        );
        assert_eq!(d.load_balancer.default_name, "a5e1b7c0d4f2a4b8e9a310c2d3e4f5a6");
        assert_eq!(
            d.load_balancer.owner_tags,
            vec![
                ("kubernetes.do.not.delete".to_string(), "a5e1b7c0d4f2a4b8e9a310c2d3e4f5a6".to_string()),
                ("ack.aliyun.com".to_string(), "c1".to_string())
            ]
        );
    }

    #[test]
    fn default_weight_annotation_sets_cluster_weights() {
        let s = annotate(service(), "default-weight", "30");
        let d = desired(&s, &nodes(&["a"]));
        assert_eq!(d.vserver_groups[0].backends[0].weight, 30);
    }

    #[test]
    fn local_policy_weights_nodes_by_ready_local_endpoints_and_checks_healthz() {
        let mut s = service();
        let spec = s.spec.as_mut().unwrap();
        spec.external_traffic_policy = Some("Local".into());
        spec.health_check_node_port = Some(32000);
        let slices = vec![
            slice("web", &[("10.0.0.1", "a", true), ("10.0.0.2", "a", true), ("10.0.0.3", "b", false)]),
            slice("web", &[("10.0.0.1", "a", true), ("10.0.0.4", "c", true)]),
            slice("other", &[("10.0.0.9", "b", true)]),
        ];
        let lb = ServiceLbConfig::default();
        let d = build_desired(&s, &lb, &nodes(&["a", "b", "c"]), &slices, &config()).unwrap();
        let weights: Vec<(String, u32)> =
            d.vserver_groups[0].backends.iter().map(|b| (b.server_id.clone(), b.weight)).collect();
        assert_eq!(weights, vec![("i-a".to_string(), 2), ("i-c".to_string(), 1)]);
        let settings = &d.listeners[0].settings;
        assert_eq!(settings.health_check_type, Some(HealthCheckType::Http));
        assert_eq!(settings.health_check_uri.as_deref(), Some("/healthz"));
        assert_eq!(settings.health_check_connect_port, Some(32000));
    }

    /// Pods of `web` on port 8080: (address, node, ready).
    fn placed_pods(pods: &[(&str, &str, bool)]) -> Arc<EndpointSlice> {
        let mut s = (*slice("web", pods)).clone();
        s.ports = Some(vec![k8s_openapi::api::discovery::v1::EndpointPort { port: Some(8080), ..Default::default() }]);
        Arc::new(s)
    }

    fn virtual_kubelet(name: &str) -> Arc<Node> {
        let mut n = Node::default();
        n.metadata.name = Some(name.into());
        n.metadata.labels = Some([("type".to_owned(), "virtual-kubelet".to_owned())].into());
        Arc::new(n)
    }

    fn summary(g: &VServerGroupSpec) -> Vec<(String, u16, u32, bool)> {
        g.backends.iter().map(|b| (b.server_id.clone(), b.port, b.weight, b.is_unresolved_pod())).collect()
    }

    #[test]
    fn cluster_policy_adds_pods_on_virtual_kubelet_nodes_as_eni_backends() {
        let mut all = nodes(&["a", "b"]);
        all.push(virtual_kubelet("vk"));
        let slices = [placed_pods(&[
            ("10.0.0.1", "a", true),
            ("192.168.0.50", "vk", true),
            ("192.168.0.51", "vk", false),
            ("192.168.0.52", "vk", true),
        ])];
        let lb = ServiceLbConfig::parse(None).unwrap();
        let d = build_desired(&service(), &lb, &all, &slices, &config()).unwrap();
        let g = &d.vserver_groups[0];
        assert_eq!(g.key.to_string(), "k8s/30080/web/default/c1", "still the node-port group");
        assert_eq!(
            summary(g),
            [
                ("i-a".to_string(), 30080, 100, false),
                ("i-b".to_string(), 30080, 100, false),
                ("192.168.0.50".to_string(), 8080, 100, true),
                ("192.168.0.52".to_string(), 8080, 100, true),
            ],
            "every node on the node port, ready virtual pods on the target port; pods on nodes stay behind nodes"
        );
        // Without virtual-kubelet nodes the same endpoints change nothing.
        let d = build_desired(&service(), &lb, &nodes(&["a", "b"]), &slices, &config()).unwrap();
        assert!(d.vserver_groups[0].backends.iter().all(|b| !b.is_unresolved_pod()));
    }

    #[test]
    fn virtual_pods_share_the_weight_of_a_reused_group() {
        let mut s = annotate(annotate(service(), "vgroup-port", "rsp-1:80"), "weight", "90");
        s = annotate(s, "id", "lb-user");
        let mut all = nodes(&["a", "b"]);
        all.push(virtual_kubelet("vk"));
        let slices = [placed_pods(&[("192.168.0.50", "vk", true)])];
        let lb = ServiceLbConfig::parse(s.metadata.annotations.as_ref()).unwrap();
        let d = build_desired(&s, &lb, &all, &slices, &config()).unwrap();
        let weights: Vec<u32> = d.vserver_groups[0].backends.iter().map(|b| b.weight).collect();
        assert_eq!(weights, [30, 30, 30], "90 spread over two nodes and one pod");
    }

    #[test]
    fn local_policy_counts_a_virtual_pod_as_one_pod_and_keeps_a_port_check() {
        let mut s = service();
        let spec = s.spec.as_mut().unwrap();
        spec.external_traffic_policy = Some("Local".into());
        spec.health_check_node_port = Some(32000);
        let mut all = nodes(&["a", "b"]);
        all.push(virtual_kubelet("vk"));
        let slices = [placed_pods(&[("10.0.0.1", "a", true), ("10.0.0.2", "a", true), ("192.168.0.50", "vk", true)])];
        let d = build_desired(&s, &ServiceLbConfig::default(), &all, &slices, &config()).unwrap();
        assert_eq!(
            summary(&d.vserver_groups[0]),
            [("i-a".to_string(), 30080, 2, false), ("192.168.0.50".to_string(), 8080, 1, true)]
        );
        let settings = &d.listeners[0].settings;
        assert_eq!(settings.health_check_connect_port, None, "an ECI pod has no kube-proxy /healthz");
        assert_eq!(settings.health_check_uri, None);
    }

    #[test]
    fn local_policy_skips_ineligible_nodes_and_keeps_user_health_checks() {
        let mut s = annotate(service(), "health-check-type", "tcp");
        let spec = s.spec.as_mut().unwrap();
        spec.external_traffic_policy = Some("Local".into());
        spec.health_check_node_port = Some(32000);
        let mut b = ready_node("b");
        b.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].status = "False".into();
        let all = vec![Arc::new(ready_node("a")), Arc::new(b)];
        let slices = vec![slice("web", &[("10.0.0.1", "a", true), ("10.0.0.2", "b", true)])];
        let lb = ServiceLbConfig::parse(s.metadata.annotations.as_ref()).unwrap();
        let d = build_desired(&s, &lb, &all, &slices, &config()).unwrap();
        assert_eq!(d.vserver_groups[0].backends.len(), 1);
        assert_eq!(d.listeners[0].settings.health_check_type, Some(HealthCheckType::Tcp));
        assert_eq!(d.listeners[0].settings.health_check_uri, None);
    }

    #[test]
    fn backend_label_and_unschedulable_filters() {
        let s = annotate(annotate(service(), "backend-label", "pool=web"), "remove-unscheduled-backend", "on");
        let mut cordoned = with_label(ready_node("c"), "pool", "web");
        cordoned.spec.as_mut().unwrap().unschedulable = Some(true);
        let all =
            vec![Arc::new(with_label(ready_node("a"), "pool", "web")), Arc::new(ready_node("b")), Arc::new(cordoned)];
        let d = desired(&s, &all);
        let ids: Vec<&str> = d.vserver_groups[0].backends.iter().map(|b| b.server_id.as_str()).collect();
        assert_eq!(ids, ["i-a"]);
    }

    #[test]
    fn udp_ports_get_udp_listeners_and_tcp_only_settings_are_dropped() {
        let mut s = annotate(annotate(service(), "persistence-timeout", "10"), "scheduler", "wrr");
        s.spec.as_mut().unwrap().ports.as_mut().unwrap().push(ServicePort {
            port: 53,
            node_port: Some(30053),
            protocol: Some("UDP".into()),
            ..Default::default()
        });
        let d = desired(&s, &nodes(&["a"]));
        assert_eq!(d.listeners.len(), 2);
        let udp = d.listeners.iter().find(|l| l.protocol == ListenerProtocol::Udp).unwrap();
        assert_eq!(udp.settings.persistence_timeout, None);
        assert!(udp.settings.scheduler.is_some());
        assert_eq!(d.vserver_groups.len(), 2);
    }

    #[test]
    fn unsupported_ports_are_model_errors() {
        let mut s = service();
        s.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].protocol = Some("SCTP".into());
        let lb = ServiceLbConfig::default();
        assert!(matches!(build_desired(&s, &lb, &[], &[], &config()), Err(ModelError::UnsupportedProtocol { .. })));
        let mut s = service();
        s.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].node_port = None;
        assert_eq!(build_desired(&s, &lb, &[], &[], &config()), Err(ModelError::MissingNodePort(80)));
    }

    #[test]
    fn reused_load_balancers_without_override_get_no_listeners() {
        let s = annotate(service(), "id", "lb-user");
        let d = desired(&s, &nodes(&["a"]));
        assert!(d.listeners.is_empty());
        assert_eq!(d.vserver_groups.len(), 1);
        assert_eq!(d.load_balancer.reuse_id(), Some("lb-user"));
        let s = annotate(s, "force-override-listeners", "true");
        assert_eq!(desired(&s, &nodes(&["a"])).listeners.len(), 1);
    }

    #[test]
    fn intranet_placement_uses_the_annotation_or_the_config_vswitches() {
        let s = annotate(service(), "address-type", "intranet");
        let d = desired(&s, &[]);
        let mut got = d.load_balancer.placement.vswitches.clone();
        got.sort();
        assert_eq!(got, ["vsw-b", "vsw-c"]);
        assert_eq!(d.load_balancer.placement.vpc_id.as_deref(), Some("vpc-1"));
        let zoned = annotate(s.clone(), "master-zoneid", "cn-hangzhou-c");
        assert_eq!(desired(&zoned, &[]).load_balancer.placement.vswitches[0], "vsw-c");
        let pinned = annotate(s, "vswitch-id", "vsw-x");
        assert_eq!(desired(&pinned, &[]).load_balancer.placement.vswitches, ["vsw-x"]);
        assert!(desired(&service(), &[]).load_balancer.placement.vswitches.is_empty());
    }

    #[test]
    fn which_services_are_ours() {
        assert!(wants_load_balancer(&service()));
        let mut classed = service();
        classed.spec.as_mut().unwrap().load_balancer_class = Some("metallb.io/metallb".into());
        assert!(!wants_load_balancer(&classed));
        let mut opted_out = service();
        opted_out.metadata.annotations = Some([(CLASS_ANNOTATION.to_string(), "x".to_string())].into());
        assert!(!wants_load_balancer(&opted_out));
        assert!(!wants_load_balancer(&annotate(service(), "tunnel-type", "x")));
        let mut node_port = service();
        node_port.spec.as_mut().unwrap().type_ = Some("NodePort".into());
        assert!(!wants_load_balancer(&node_port));
    }

    #[test]
    fn fingerprints_separate_backends_from_shape() {
        let a = desired(&service(), &nodes(&["a"]));
        let b = desired(&service(), &nodes(&["a", "b"]));
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.shape_fingerprint(), b.shape_fingerprint());
        let c = desired(&annotate(service(), "scheduler", "wrr"), &nodes(&["a"]));
        assert_ne!(a.shape_fingerprint(), c.shape_fingerprint());
    }
}
