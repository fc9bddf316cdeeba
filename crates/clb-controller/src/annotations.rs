//! The Service annotations this controller understands, parsed into a typed [`ServiceLbConfig`].
//!
//! Every key is looked up under [`ANNOTATION_PREFIX`] first and under the legacy [`LEGACY_ANNOTATION_PREFIX`]
//! second, as the Go CCM does. An empty value counts as absent. An invalid value is reported as an
//! [`AnnotationError`] naming the annotation and the accepted values; the caller turns that into a Warning event
//! and makes no cloud change.

use std::{
    collections::BTreeMap,
    fmt,
    net::{IpAddr, Ipv4Addr},
};

use aliyun_api::slb::{
    AclType, AddressType, HealthCheckMethod, HealthCheckType, InstanceChargeType, InternetChargeType, ListenerProtocol,
    ModificationProtectionStatus, OnOff, Scheduler, StickySessionType,
};

/// Prefix of every load balancer annotation.
pub const ANNOTATION_PREFIX: &str = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-";
/// Legacy prefix, accepted for every key when the current one is absent.
pub const LEGACY_ANNOTATION_PREFIX: &str = "service.beta.kubernetes.io/alicloud-loadbalancer-";
/// Any value opts the Service out of this controller (the Go CCM's `service.beta.kubernetes.io/class`).
pub const CLASS_ANNOTATION: &str = "service.beta.kubernetes.io/class";

/// Annotation key suffixes (append to [`ANNOTATION_PREFIX`]).
pub mod keys {
    /// `internet` or `intranet`.
    pub const ADDRESS_TYPE: &str = "address-type";
    /// Reuse an existing load balancer by ID.
    pub const ID: &str = "id";
    /// `true`: manage listeners of a reused load balancer.
    pub const FORCE_OVERRIDE_LISTENERS: &str = "force-override-listeners";
    /// Load balancer name.
    pub const NAME: &str = "name";
    /// Instance spec (`slb.s1.small`…), used with `PayBySpec`.
    pub const SPEC: &str = "spec";
    /// `PayBySpec` or `PayByCLCU`.
    pub const INSTANCE_CHARGE_TYPE: &str = "instance-charge-type";
    /// Internet charge type: `paybytraffic` or `paybybandwidth`.
    pub const CHARGE_TYPE: &str = "charge-type";
    /// Bandwidth in Mbit/s (with `paybybandwidth`).
    pub const BANDWIDTH: &str = "bandwidth";
    /// vSwitch of an intranet load balancer.
    pub const VSWITCH_ID: &str = "vswitch-id";
    /// Fixed intranet address.
    pub const IP: &str = "ip";
    /// Primary zone.
    pub const MASTER_ZONE_ID: &str = "master-zoneid";
    /// Secondary zone.
    pub const SLAVE_ZONE_ID: &str = "slave-zoneid";
    /// Resource group.
    pub const RESOURCE_GROUP_ID: &str = "resource-group-id";
    /// Extra tags `k1=v1,k2=v2,k3`.
    pub const ADDITIONAL_RESOURCE_TAGS: &str = "additional-resource-tags";
    /// `on` or `off`.
    pub const DELETE_PROTECTION: &str = "delete-protection";
    /// `ConsoleProtection` or `NonProtection`.
    pub const MODIFICATION_PROTECTION: &str = "modification-protection";
    /// Presence keeps the load balancer when the Service goes.
    pub const PRESERVE_LB_ON_DELETE: &str = "preserve-lb-on-delete";
    /// Listener scheduling algorithm.
    pub const SCHEDULER: &str = "scheduler";
    /// Node label filter `k1=v1,k2=v2`.
    pub const BACKEND_LABEL: &str = "backend-label";
    /// `on`: unschedulable nodes are no backends.
    pub const REMOVE_UNSCHEDULED_BACKEND: &str = "remove-unscheduled-backend";
    /// Weight of each backend (Cluster policy), 0–100.
    pub const DEFAULT_WEIGHT: &str = "default-weight";
    /// Hostname to publish in the Service status instead of the IP.
    pub const HOSTNAME: &str = "hostname";
    /// TCP/UDP health check `on`/`off`.
    pub const HEALTH_CHECK_SWITCH: &str = "health-check-switch";
    /// TCP health check protocol `tcp`/`http`.
    pub const HEALTH_CHECK_TYPE: &str = "health-check-type";
    /// HTTP health check path.
    pub const HEALTH_CHECK_URI: &str = "health-check-uri";
    /// Health check port (`-520`: the backend port).
    pub const HEALTH_CHECK_CONNECT_PORT: &str = "health-check-connect-port";
    /// Healthy threshold 2–10.
    pub const HEALTHY_THRESHOLD: &str = "healthy-threshold";
    /// Unhealthy threshold 2–10.
    pub const UNHEALTHY_THRESHOLD: &str = "unhealthy-threshold";
    /// Health check interval 1–50 s.
    pub const HEALTH_CHECK_INTERVAL: &str = "health-check-interval";
    /// Health check timeout 1–300 s.
    pub const HEALTH_CHECK_CONNECT_TIMEOUT: &str = "health-check-connect-timeout";
    /// HTTP health check domain.
    pub const HEALTH_CHECK_DOMAIN: &str = "health-check-domain";
    /// HTTP health check success codes.
    pub const HEALTH_CHECK_HTTP_CODE: &str = "health-check-httpcode";
    /// TCP session persistence 0–3600 s.
    pub const PERSISTENCE_TIMEOUT: &str = "persistence-timeout";
    /// TCP idle connection timeout 10–900 s.
    pub const ESTABLISHED_TIMEOUT: &str = "established-timeout";
    /// Connection draining `on`/`off`.
    pub const CONNECTION_DRAIN: &str = "connection-drain";
    /// Connection draining timeout 10–900 s.
    pub const CONNECTION_DRAIN_TIMEOUT: &str = "connection-drain-timeout";
    /// Proxy Protocol v2 `on`/`off`.
    pub const PROXY_PROTOCOL: &str = "proxy-protocol";
    /// Access control `on`/`off` with a user-provided ACL.
    pub const ACL_STATUS: &str = "acl-status";
    /// The user-provided ACL.
    pub const ACL_ID: &str = "acl-id";
    /// `white` or `black`.
    pub const ACL_TYPE: &str = "acl-type";
    /// Listener protocol overrides `https:443,http:80`.
    pub const PROTOCOL_PORT: &str = "protocol-port";
    /// Server certificate of HTTPS listeners.
    pub const CERT_ID: &str = "cert-id";
    /// TLS policy of HTTPS listeners.
    pub const TLS_CIPHER_POLICY: &str = "tls-cipher-policy";
    /// HTTP/2 on HTTPS listeners.
    pub const HTTP2_ENABLED: &str = "http2-enabled";
    /// HTTP to HTTPS redirects `80:443`.
    pub const FORWARD_PORT: &str = "forward-port";
    /// L7 idle timeout.
    pub const IDLE_TIMEOUT: &str = "idle-timeout";
    /// L7 request timeout.
    pub const REQUEST_TIMEOUT: &str = "request-timeout";
    /// L7 session persistence.
    pub const STICKY_SESSION: &str = "sticky-session";
    /// `insert` or `server`.
    pub const STICKY_SESSION_TYPE: &str = "sticky-session-type";
    /// Backend cookie name.
    pub const COOKIE: &str = "cookie";
    /// Inserted cookie lifetime.
    pub const COOKIE_TIMEOUT: &str = "cookie-timeout";
    /// `X-Forwarded-Proto`.
    pub const XFF_PROTO: &str = "xforwardedfor-proto";
    /// `X-Forwarded-Port`.
    pub const XFF_SLB_PORT: &str = "xforwardedfor-slbport";
    /// `X-Forwarded-Client-srcport`.
    pub const XFF_CLIENT_SRC_PORT: &str = "xforwardedfor-clientsrcport";
    /// L7 health check on/off.
    pub const HEALTH_CHECK_FLAG: &str = "health-check-flag";
    /// L7 health check timeout.
    pub const HEALTH_CHECK_TIMEOUT: &str = "health-check-timeout";
    /// L7 health check method.
    pub const HEALTH_CHECK_METHOD: &str = "health-check-method";
    /// Existing vServer groups of a reused load balancer per port: `rsp-a:80,rsp-b:443`.
    pub const VGROUP_PORT: &str = "vgroup-port";
    /// Total weight 0–100 of the Service's backends in `vgroup-port` groups.
    pub const WEIGHT: &str = "weight";
    /// `on`: weights of existing backends are not updated.
    pub const IGNORE_WEIGHT_UPDATE: &str = "ignore-weight-update";
    /// `ipv4` or `ipv6`; immutable.
    pub const IP_VERSION: &str = "ip-version";
    /// `eip`: publish the elastic IPs bound to the load balancer.
    pub const EXTERNAL_IP_TYPE: &str = "external-ip-type";
    /// Extra certificates per domain on HTTPS listeners `a.com:cert1,b.com:cert2`.
    pub const DOMAIN_EXTENSIONS: &str = "domain-extensions";
    /// Presence opts the Service out (another tunnel implementation handles it).
    pub const TUNNEL_TYPE: &str = "tunnel-type";
}

/// One annotation whose value is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationError {
    /// Full annotation key as found on the Service.
    pub annotation: String,
    /// The rejected value.
    pub value: String,
    /// What would have been accepted.
    pub accepted: String,
}

impl fmt::Display for AnnotationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "annotation {} has invalid value {:?}; accepted: {}", self.annotation, self.value, self.accepted)
    }
}

/// Every invalid annotation of a Service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AnnotationErrors(pub Vec<AnnotationError>);

impl fmt::Display for AnnotationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Listener health check settings asked for by annotations (`None`: not asked, the cloud's value stands).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HealthCheckAnnotations {
    /// `health-check-switch`.
    pub switch: Option<OnOff>,
    /// `health-check-type` (TCP listeners).
    pub check_type: Option<HealthCheckType>,
    /// `health-check-uri` (TCP listeners with HTTP checks).
    pub uri: Option<String>,
    /// `health-check-connect-port`; `-520` (the backend port, the API's default) reads as `None`.
    pub connect_port: Option<u16>,
    /// `healthy-threshold`.
    pub healthy_threshold: Option<u32>,
    /// `unhealthy-threshold`.
    pub unhealthy_threshold: Option<u32>,
    /// `health-check-interval`.
    pub interval: Option<u32>,
    /// `health-check-connect-timeout`.
    pub connect_timeout: Option<u32>,
    /// `health-check-domain` (TCP listeners with HTTP checks).
    pub domain: Option<String>,
    /// `health-check-httpcode` (TCP listeners with HTTP checks).
    pub http_code: Option<String>,
}

/// Everything the annotations of one Service ask for. `None` means "not set": defaults apply on creation and the
/// cloud's value is left alone afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ServiceLbConfig {
    /// `address-type` (default `internet`).
    pub address_type: Option<AddressType>,
    /// `id`: reuse this existing load balancer.
    pub load_balancer_id: Option<String>,
    /// `force-override-listeners: "true"`.
    pub force_override_listeners: bool,
    /// `name`.
    pub name: Option<String>,
    /// `spec`.
    pub spec: Option<String>,
    /// `instance-charge-type`.
    pub instance_charge_type: Option<InstanceChargeType>,
    /// `charge-type`.
    pub internet_charge_type: Option<InternetChargeType>,
    /// `bandwidth`.
    pub bandwidth: Option<u32>,
    /// `vswitch-id`.
    pub vswitch_id: Option<String>,
    /// `ip`.
    pub address: Option<String>,
    /// `master-zoneid`.
    pub master_zone_id: Option<String>,
    /// `slave-zoneid`.
    pub slave_zone_id: Option<String>,
    /// `resource-group-id`.
    pub resource_group_id: Option<String>,
    /// `additional-resource-tags`, in key order.
    pub additional_tags: BTreeMap<String, String>,
    /// `delete-protection`.
    pub delete_protection: Option<OnOff>,
    /// `modification-protection`.
    pub modification_protection: Option<ModificationProtectionStatus>,
    /// `preserve-lb-on-delete` present (any value, as in the Go CCM).
    pub preserve_on_delete: bool,
    /// `scheduler`.
    pub scheduler: Option<Scheduler>,
    /// `backend-label`: every pair must match a node label.
    pub backend_labels: BTreeMap<String, String>,
    /// `remove-unscheduled-backend: on`.
    pub remove_unscheduled_backend: bool,
    /// `default-weight`.
    pub default_weight: Option<u32>,
    /// `hostname`.
    pub hostname: Option<String>,
    /// The TCP/UDP health check family.
    pub health_check: HealthCheckAnnotations,
    /// `persistence-timeout`.
    pub persistence_timeout: Option<u32>,
    /// `established-timeout`.
    pub established_timeout: Option<u32>,
    /// `connection-drain`.
    pub connection_drain: Option<OnOff>,
    /// `connection-drain-timeout`.
    pub connection_drain_timeout: Option<u32>,
    /// `proxy-protocol`.
    pub proxy_protocol: Option<bool>,
    /// `acl-status`.
    pub acl_status: Option<OnOff>,
    /// `acl-id`.
    pub acl_id: Option<String>,
    /// `acl-type`.
    pub acl_type: Option<AclType>,
    /// `service.beta.kubernetes.io/load-balancer-source-ranges` (CIDRs; `spec.loadBalancerSourceRanges` wins).
    pub source_ranges: Vec<String>,
    /// `protocol-port`: listener protocol by Service port.
    pub protocol_ports: BTreeMap<u16, ListenerProtocol>,
    /// `forward-port`: HTTP listener port → HTTPS listener port.
    pub forward_ports: BTreeMap<u16, u16>,
    /// Layer-7 listener settings.
    pub l7: L7Annotations,
    /// `vgroup-port`: existing vServer group by Service port.
    pub vgroup_ports: BTreeMap<u16, String>,
    /// `weight`.
    pub weight: Option<u32>,
    /// `ignore-weight-update: on`.
    pub ignore_weight_update: bool,
    /// `external-ip-type: eip`.
    pub eip_ingress: bool,
    /// `ip-version`.
    pub ip_version: Option<aliyun_api::slb::AddressIpVersion>,
    /// `service.beta.kubernetes.io/backend-type`: `Some(true)` for `eni`, `Some(false)` for `ecs`.
    pub eni_backends: Option<bool>,
}

/// HTTP/HTTPS listener settings asked for by annotations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct L7Annotations {
    /// `cert-id`.
    pub cert_id: Option<String>,
    /// `tls-cipher-policy`.
    pub tls_cipher_policy: Option<String>,
    /// `http2-enabled`.
    pub http2: Option<OnOff>,
    /// `idle-timeout`.
    pub idle_timeout: Option<u32>,
    /// `request-timeout`.
    pub request_timeout: Option<u32>,
    /// `sticky-session`.
    pub sticky_session: Option<OnOff>,
    /// `sticky-session-type`.
    pub sticky_session_type: Option<StickySessionType>,
    /// `cookie`.
    pub cookie: Option<String>,
    /// `cookie-timeout`.
    pub cookie_timeout: Option<u32>,
    /// `xforwardedfor-proto`.
    pub xff_proto: Option<OnOff>,
    /// `xforwardedfor-slbport`.
    pub xff_slb_port: Option<OnOff>,
    /// `xforwardedfor-clientsrcport`.
    pub xff_client_src_port: Option<OnOff>,
    /// `health-check-flag`.
    pub health_check_flag: Option<OnOff>,
    /// `health-check-timeout`.
    pub health_check_timeout: Option<u32>,
    /// `health-check-method`.
    pub health_check_method: Option<HealthCheckMethod>,
    /// `domain-extensions`: domain → certificate, on HTTPS listeners.
    pub domain_extensions: BTreeMap<String, String>,
}

impl ServiceLbConfig {
    /// Parses the annotations of a Service; every invalid one is reported.
    pub fn parse(annotations: Option<&BTreeMap<String, String>>) -> Result<Self, AnnotationErrors> {
        let mut p = Parser { annotations, errors: Vec::new() };
        let config = Self {
            address_type: p.address_type(),
            load_balancer_id: p.text(keys::ID),
            force_override_listeners: p.true_false(keys::FORCE_OVERRIDE_LISTENERS).unwrap_or(false),
            name: p.text(keys::NAME),
            spec: p.text(keys::SPEC),
            instance_charge_type: p.known(keys::INSTANCE_CHARGE_TYPE, "PayBySpec, PayByCLCU", |v| {
                Some(InstanceChargeType::parse(v)).filter(|t| !matches!(t, InstanceChargeType::Other(_)))
            }),
            internet_charge_type: p.known(keys::CHARGE_TYPE, "paybytraffic, paybybandwidth", |v| {
                Some(InternetChargeType::parse(v)).filter(|t| !matches!(t, InternetChargeType::Other(_)))
            }),
            bandwidth: p.int_in(keys::BANDWIDTH, 1, 5120),
            vswitch_id: p.text(keys::VSWITCH_ID),
            address: p.known(keys::IP, "an IPv4 address", |v| v.parse::<Ipv4Addr>().ok().map(|ip| ip.to_string())),
            master_zone_id: p.text(keys::MASTER_ZONE_ID),
            slave_zone_id: p.text(keys::SLAVE_ZONE_ID),
            resource_group_id: p.text(keys::RESOURCE_GROUP_ID),
            additional_tags: p.pairs(keys::ADDITIONAL_RESOURCE_TAGS, false),
            delete_protection: p.on_off(keys::DELETE_PROTECTION),
            modification_protection: p.known(keys::MODIFICATION_PROTECTION, "ConsoleProtection, NonProtection", |v| {
                Some(ModificationProtectionStatus::parse(v))
                    .filter(|s| !matches!(s, ModificationProtectionStatus::Other(_)))
            }),
            preserve_on_delete: p.present(keys::PRESERVE_LB_ON_DELETE),
            scheduler: p.known(keys::SCHEDULER, "rr, wrr, wlc, sch, tch, qch", |v| {
                Some(Scheduler::parse(v)).filter(|s| !matches!(s, Scheduler::Other(_)))
            }),
            backend_labels: p.pairs(keys::BACKEND_LABEL, true),
            remove_unscheduled_backend: p.on_off(keys::REMOVE_UNSCHEDULED_BACKEND).is_some_and(|v| v.is_on()),
            default_weight: p.int_in(keys::DEFAULT_WEIGHT, 0, 100),
            hostname: p.known(keys::HOSTNAME, "a DNS name", |v| is_dns_name(v).then(|| v.to_owned())),
            health_check: p.health_check(),
            persistence_timeout: p.int_in(keys::PERSISTENCE_TIMEOUT, 0, 3600),
            established_timeout: p.int_in(keys::ESTABLISHED_TIMEOUT, 10, 900),
            connection_drain: p.on_off(keys::CONNECTION_DRAIN),
            connection_drain_timeout: p.int_in(keys::CONNECTION_DRAIN_TIMEOUT, 10, 900),
            proxy_protocol: p.on_off(keys::PROXY_PROTOCOL).map(|v| v.is_on()),
            acl_status: p.on_off(keys::ACL_STATUS),
            acl_id: p.known(keys::ACL_ID, "one ACL ID (acl-…)", |v| {
                (v.starts_with("acl-") && !v.contains(',')).then(|| v.to_owned())
            }),
            acl_type: p.known(keys::ACL_TYPE, "white, black", |v| {
                Some(AclType::parse(v)).filter(|t| !matches!(t, AclType::Other(_)))
            }),
            source_ranges: p.source_ranges(),
            protocol_ports: p
                .known(
                    keys::PROTOCOL_PORT,
                    "comma-separated protocol:port with protocol tcp, udp, http or https",
                    |v| {
                        parse_port_list(v, |proto| {
                            Some(ListenerProtocol::parse(&proto.to_ascii_lowercase()))
                                .filter(|p| !matches!(p, ListenerProtocol::Other(_)))
                        })
                        .map(|pairs| pairs.into_iter().map(|(proto, port)| (port, proto)).collect())
                    },
                )
                .unwrap_or_default(),
            forward_ports: p
                .known(keys::FORWARD_PORT, "comma-separated httpPort:httpsPort", |v| {
                    parse_port_list(v, |from| from.parse::<u16>().ok().filter(|p| *p > 0))
                        .map(|pairs| pairs.into_iter().collect())
                })
                .unwrap_or_default(),
            l7: p.l7(),
            vgroup_ports: p
                .known(keys::VGROUP_PORT, "comma-separated rsp-id:port", |v| {
                    parse_port_list(v, |id| id.starts_with("rsp-").then(|| id.to_owned()))
                        .map(|pairs| pairs.into_iter().map(|(id, port)| (port, id)).collect())
                })
                .unwrap_or_default(),
            weight: p.int_in(keys::WEIGHT, 0, 100),
            ignore_weight_update: p.on_off(keys::IGNORE_WEIGHT_UPDATE).is_some_and(|v| v.is_on()),
            ip_version: p.known(keys::IP_VERSION, "ipv4, ipv6", |v| {
                Some(aliyun_api::slb::AddressIpVersion::parse(&v.to_ascii_lowercase()))
                    .filter(|t| !matches!(t, aliyun_api::slb::AddressIpVersion::Other(_)))
            }),
            eni_backends: p.backend_type(),
            eip_ingress: p
                .known(keys::EXTERNAL_IP_TYPE, "eip", |v| v.eq_ignore_ascii_case("eip").then_some(true))
                .unwrap_or(false),
        };
        if !config.vgroup_ports.is_empty() && config.load_balancer_id.is_none() {
            p.errors.push(AnnotationError {
                annotation: format!("{ANNOTATION_PREFIX}{}", keys::VGROUP_PORT),
                value: lookup(annotations, keys::VGROUP_PORT).map(|(_, v)| v.to_owned()).unwrap_or_default(),
                accepted: format!("vServer groups of a reused load balancer (set {})", keys::ID),
            });
        }
        if config.acl_status.as_ref().is_some_and(OnOff::is_on)
            && (config.acl_id.is_none() || config.acl_type.is_none())
        {
            p.errors.push(AnnotationError {
                annotation: format!("{ANNOTATION_PREFIX}{}", keys::ACL_STATUS),
                value: "on".to_owned(),
                accepted: format!("on together with {} and {}", keys::ACL_ID, keys::ACL_TYPE),
            });
        }
        p.refuse_unsupported();
        if p.errors.is_empty() { Ok(config) } else { Err(AnnotationErrors(p.errors)) }
    }

    /// The address type asked for, `internet` when not set.
    pub fn address_type_or_default(&self) -> AddressType {
        self.address_type.clone().unwrap_or(AddressType::Internet)
    }

    /// Whether a reused load balancer's listeners are managed (`force-override-listeners: "true"`).
    pub fn manages_listeners(&self) -> bool {
        self.load_balancer_id.is_none() || self.force_override_listeners
    }
}

/// How this controller treats one annotation of the Go CCM's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Honoured.
    Supported,
    /// Not implemented yet and traffic-relevant: any non-empty value refuses the Service with a Warning event
    /// (the load balancer is left untouched instead of being half-served).
    Refused,
    /// Honoured, except this value (case-insensitive), which refuses the Service like [`Support::Refused`].
    RefusedValue(&'static str),
    /// Meaningful to the Go CCM's NLB controller (or behind a feature gate) only; ignored with a Warning event.
    NotApplicable,
}

/// Every `…-loadbalancer-<suffix>` annotation of the Go CCM's table, with how it is treated here.
/// `docs/annotations.md` lists the same rows; a test keeps the two in step. A prefixed annotation not listed here
/// is unknown and reported with a Warning event.
pub const CATALOG: &[(&str, Support)] = &[
    ("address-type", Support::Supported),
    ("id", Support::Supported),
    ("name", Support::Supported),
    ("resource-group-id", Support::Supported),
    ("additional-resource-tags", Support::Supported),
    ("delete-protection", Support::Supported),
    ("modification-protection", Support::Supported),
    ("preserve-lb-on-delete", Support::Supported),
    ("spec", Support::Supported),
    ("instance-charge-type", Support::Supported),
    ("charge-type", Support::Supported),
    ("bandwidth", Support::Supported),
    ("master-zoneid", Support::Supported),
    ("slave-zoneid", Support::Supported),
    ("network-type", Support::RefusedValue("classic")),
    ("vswitch-id", Support::Supported),
    ("ip", Support::Supported),
    ("ip-version", Support::Supported),
    ("external-ip-type", Support::Supported),
    ("hostname", Support::Supported),
    ("force-override-listeners", Support::Supported),
    ("protocol-port", Support::Supported),
    ("cert-id", Support::Supported),
    ("domain-extensions", Support::Supported),
    ("tls-cipher-policy", Support::Supported),
    ("http2-enabled", Support::Supported),
    ("forward-port", Support::Supported),
    ("scheduler", Support::Supported),
    ("persistence-timeout", Support::Supported),
    ("established-timeout", Support::Supported),
    ("idle-timeout", Support::Supported),
    ("request-timeout", Support::Supported),
    ("connection-drain", Support::Supported),
    ("connection-drain-timeout", Support::Supported),
    ("proxy-protocol", Support::Supported),
    ("acl-status", Support::Supported),
    ("acl-id", Support::Supported),
    ("acl-type", Support::Supported),
    ("sticky-session", Support::Supported),
    ("sticky-session-type", Support::Supported),
    ("cookie-timeout", Support::Supported),
    ("cookie", Support::Supported),
    ("xforwardedfor-proto", Support::Supported),
    ("xforwardedfor-slbport", Support::Supported),
    ("xforwardedfor-clientsrcport", Support::Supported),
    ("health-check-switch", Support::Supported),
    ("health-check-flag", Support::Supported),
    ("health-check-type", Support::Supported),
    ("health-check-uri", Support::Supported),
    ("health-check-connect-port", Support::Supported),
    ("healthy-threshold", Support::Supported),
    ("unhealthy-threshold", Support::Supported),
    ("health-check-interval", Support::Supported),
    ("health-check-connect-timeout", Support::Supported),
    ("health-check-timeout", Support::Supported),
    ("health-check-domain", Support::Supported),
    ("health-check-httpcode", Support::Supported),
    ("health-check-method", Support::Supported),
    ("backend-label", Support::Supported),
    ("backend-ip-version", Support::RefusedValue("ipv6")),
    ("remove-unscheduled-backend", Support::Supported),
    ("vgroup-port", Support::Supported),
    ("weight", Support::Supported),
    ("default-weight", Support::Supported),
    ("ignore-weight-update", Support::Supported),
    ("tunnel-type", Support::Supported),
    ("type", Support::NotApplicable),
    ("zone-maps", Support::NotApplicable),
    ("security-group-ids", Support::NotApplicable),
    ("bandwidth-package-id", Support::NotApplicable),
    ("ipv6-address-type", Support::NotApplicable),
    ("cross-zone-enabled", Support::NotApplicable),
    ("cacert-id", Support::NotApplicable),
    ("cacert", Support::NotApplicable),
    ("cps", Support::NotApplicable),
    ("preserve-client-ip", Support::NotApplicable),
    ("server-group-type", Support::NotApplicable),
    ("ppv2-pvl-ep-id-enabled", Support::NotApplicable),
    ("ppv2-pvl-eps-id-enabled", Support::NotApplicable),
    ("ppv2-pvl-vpc-id-enabled", Support::NotApplicable),
    ("alpn", Support::NotApplicable),
    ("alpn-policy", Support::NotApplicable),
    ("listener-port-range", Support::NotApplicable),
    ("additional-cert-ids", Support::NotApplicable),
];

/// Annotations outside the `…-loadbalancer-` prefix (full keys), with how they are treated here.
pub const OTHER_CATALOG: &[(&str, Support)] = &[
    (CLASS_ANNOTATION, Support::Supported),
    (BACKEND_TYPE_ANNOTATION, Support::Supported),
    (SOURCE_RANGES_ANNOTATION, Support::Supported),
];

/// Upstream annotation equivalent to `spec.loadBalancerSourceRanges` (comma-separated CIDRs).
pub const SOURCE_RANGES_ANNOTATION: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

/// How `suffix` (after either prefix) is treated; `None`: unknown.
pub fn support_of(suffix: &str) -> Option<Support> {
    CATALOG.iter().find(|(s, _)| *s == suffix).map(|(_, support)| *support)
}

/// Prefixed annotations of a Service that have no effect here: unknown ones and NLB-only ones, each with the
/// reason, sorted by key. The caller reports them with a Warning event (they are never silently ignored).
pub fn ignored_annotations(annotations: Option<&BTreeMap<String, String>>) -> Vec<(String, &'static str)> {
    let Some(annotations) = annotations else { return Vec::new() };
    annotations
        .keys()
        .filter_map(|key| {
            let suffix = key.strip_prefix(ANNOTATION_PREFIX).or_else(|| key.strip_prefix(LEGACY_ANNOTATION_PREFIX))?;
            match support_of(suffix) {
                None => Some((key.clone(), "unknown annotation")),
                Some(Support::NotApplicable) => Some((key.clone(), "applies to NLB only")),
                Some(_) => None,
            }
        })
        .collect()
}

/// Go CCM annotation selecting ENI backends.
pub const BACKEND_TYPE_ANNOTATION: &str = "service.beta.kubernetes.io/backend-type";
/// What the error says is accepted for a refused annotation or value.
fn not_yet(support: &Support) -> String {
    const NOT_YET: &str = "this controller version does not support it (the Service is left untouched)";
    match support {
        Support::RefusedValue(v) => format!("any value but {v}: {NOT_YET}"),
        _ => format!("nothing yet: {NOT_YET}"),
    }
}

/// Looks up `suffix` under both prefixes (current first); returns the full key found and its value.
pub fn lookup<'a>(annotations: Option<&'a BTreeMap<String, String>>, suffix: &str) -> Option<(String, &'a str)> {
    let annotations = annotations?;
    [ANNOTATION_PREFIX, LEGACY_ANNOTATION_PREFIX].iter().find_map(|prefix| {
        let key = format!("{prefix}{suffix}");
        annotations.get(&key).map(|v| (key, v.as_str()))
    })
}

/// Whether `s` looks like a DNS name (letters, digits, `-`, `.`; labels of 1–63 characters).
fn is_dns_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Collects values and errors over one Service's annotations.
struct Parser<'a> {
    annotations: Option<&'a BTreeMap<String, String>>,
    errors: Vec<AnnotationError>,
}

impl Parser<'_> {
    /// The non-empty value of `suffix`, with its full key.
    fn raw(&self, suffix: &str) -> Option<(String, String)> {
        lookup(self.annotations, suffix)
            .map(|(key, value)| (key, value.trim().to_owned()))
            .filter(|(_, value)| !value.is_empty())
    }

    fn present(&self, suffix: &str) -> bool {
        lookup(self.annotations, suffix).is_some()
    }

    fn text(&self, suffix: &str) -> Option<String> {
        self.raw(suffix).map(|(_, v)| v)
    }

    /// Parses with `parse`; `None` from it is an error listing `accepted`.
    fn known<T>(&mut self, suffix: &str, accepted: &str, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        let (annotation, value) = self.raw(suffix)?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.errors.push(AnnotationError { annotation, value, accepted: accepted.to_owned() });
        }
        parsed
    }

    fn int_in(&mut self, suffix: &str, min: u32, max: u32) -> Option<u32> {
        let accepted = format!("an integer from {min} to {max}");
        self.known(suffix, &accepted, |v| v.parse::<u32>().ok().filter(|n| (min..=max).contains(n)))
    }

    fn on_off(&mut self, suffix: &str) -> Option<OnOff> {
        self.known(suffix, "on, off", |v| Some(OnOff::parse(v)).filter(|o| !matches!(o, OnOff::Other(_))))
    }

    fn true_false(&mut self, suffix: &str) -> Option<bool> {
        self.known(suffix, "true, false", |v| match v.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
    }

    fn address_type(&mut self) -> Option<AddressType> {
        self.known(keys::ADDRESS_TYPE, "internet, intranet", |v| {
            Some(AddressType::parse(v)).filter(|t| !matches!(t, AddressType::Other(_)))
        })
    }

    /// `k1=v1,k2=v2`; with `require_value` false a bare `k3` means an empty value.
    fn pairs(&mut self, suffix: &str, require_value: bool) -> BTreeMap<String, String> {
        let accepted =
            if require_value { "comma-separated key=value pairs" } else { "comma-separated key=value or key" };
        self.known(suffix, accepted, |v| parse_pairs(v, require_value)).unwrap_or_default()
    }

    /// Reports the annotations (and values) of [`CATALOG`] and [`OTHER_CATALOG`] that are refused.
    fn refuse_unsupported(&mut self) {
        let refused = |support: &Support, found: &str| match support {
            Support::Refused => true,
            Support::RefusedValue(v) => found.eq_ignore_ascii_case(v),
            Support::Supported | Support::NotApplicable => false,
        };
        for (suffix, support) in CATALOG {
            if let Some((annotation, found)) = self.raw(suffix)
                && refused(support, &found)
            {
                self.errors.push(AnnotationError { annotation, value: found, accepted: not_yet(support) });
            }
        }
        for (key, support) in OTHER_CATALOG {
            let found = self.annotations.and_then(|a| a.get(*key)).map(|v| v.trim()).filter(|v| !v.is_empty());
            if let Some(found) = found
                && refused(support, found)
            {
                self.errors.push(AnnotationError {
                    annotation: (*key).to_owned(),
                    value: found.to_owned(),
                    accepted: not_yet(support),
                });
            }
        }
    }

    fn backend_type(&mut self) -> Option<bool> {
        let value = self.annotations.and_then(|a| a.get(BACKEND_TYPE_ANNOTATION))?.trim().to_owned();
        match value.to_ascii_lowercase().as_str() {
            "" => None,
            "eni" => Some(true),
            "ecs" => Some(false),
            _ => {
                self.errors.push(AnnotationError {
                    annotation: BACKEND_TYPE_ANNOTATION.to_owned(),
                    value,
                    accepted: "eni, ecs".to_owned(),
                });
                None
            }
        }
    }

    fn l7(&mut self) -> L7Annotations {
        L7Annotations {
            cert_id: self.text(keys::CERT_ID),
            tls_cipher_policy: self.known(
                keys::TLS_CIPHER_POLICY,
                "tls_cipher_policy_1_0, tls_cipher_policy_1_1, tls_cipher_policy_1_2, tls_cipher_policy_1_2_strict, \
                 tls_cipher_policy_1_2_strict_with_1_3",
                |v| v.starts_with("tls_cipher_policy_").then(|| v.to_owned()),
            ),
            http2: self.on_off(keys::HTTP2_ENABLED),
            idle_timeout: self.int_in(keys::IDLE_TIMEOUT, 1, 60),
            request_timeout: self.int_in(keys::REQUEST_TIMEOUT, 1, 180),
            sticky_session: self.on_off(keys::STICKY_SESSION),
            sticky_session_type: self.known(keys::STICKY_SESSION_TYPE, "insert, server", |v| {
                Some(StickySessionType::parse(v)).filter(|t| !matches!(t, StickySessionType::Other(_)))
            }),
            cookie: self.text(keys::COOKIE),
            cookie_timeout: self.int_in(keys::COOKIE_TIMEOUT, 1, 86400),
            xff_proto: self.on_off(keys::XFF_PROTO),
            xff_slb_port: self.on_off(keys::XFF_SLB_PORT),
            xff_client_src_port: self.on_off(keys::XFF_CLIENT_SRC_PORT),
            health_check_flag: self.on_off(keys::HEALTH_CHECK_FLAG),
            health_check_timeout: self.int_in(keys::HEALTH_CHECK_TIMEOUT, 1, 300),
            health_check_method: self.known(keys::HEALTH_CHECK_METHOD, "head, get", |v| {
                Some(HealthCheckMethod::parse(v)).filter(|m| !matches!(m, HealthCheckMethod::Other(_)))
            }),
            domain_extensions: self
                .known(keys::DOMAIN_EXTENSIONS, "comma-separated domain:certificateId", |v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|i| !i.is_empty())
                        .map(|item| {
                            let (domain, cert) = item.split_once(':')?;
                            let (domain, cert) = (domain.trim(), cert.trim());
                            let domain_ok = is_dns_name(domain.trim_start_matches("*."));
                            (domain_ok && !cert.is_empty()).then(|| (domain.to_owned(), cert.to_owned()))
                        })
                        .collect::<Option<BTreeMap<_, _>>>()
                })
                .unwrap_or_default(),
        }
    }

    /// The upstream source ranges annotation: comma-separated CIDRs (or addresses).
    fn source_ranges(&mut self) -> Vec<String> {
        let Some(value) = self.annotations.and_then(|a| a.get(SOURCE_RANGES_ANNOTATION)) else { return Vec::new() };
        match parse_source_ranges(value.split(',')) {
            Some(ranges) => ranges,
            None => {
                self.errors.push(AnnotationError {
                    annotation: SOURCE_RANGES_ANNOTATION.to_owned(),
                    value: value.clone(),
                    accepted: "comma-separated CIDR blocks (10.0.0.0/8,192.168.1.10/32)".to_owned(),
                });
                Vec::new()
            }
        }
    }

    fn health_check(&mut self) -> HealthCheckAnnotations {
        HealthCheckAnnotations {
            switch: self.on_off(keys::HEALTH_CHECK_SWITCH),
            check_type: self.known(keys::HEALTH_CHECK_TYPE, "tcp, http", |v| {
                Some(HealthCheckType::parse(v)).filter(|t| !matches!(t, HealthCheckType::Other(_)))
            }),
            uri: self.known(keys::HEALTH_CHECK_URI, "a path starting with /", |v| {
                (v.starts_with('/') && v.len() <= 80).then(|| v.to_owned())
            }),
            connect_port: self
                .known(keys::HEALTH_CHECK_CONNECT_PORT, "a port from 1 to 65535, or -520 (the backend port)", |v| {
                    match v.parse::<i32>() {
                        Ok(-520) => Some(None),
                        Ok(n) => u16::try_from(n).ok().filter(|p| *p > 0).map(Some),
                        Err(_) => None,
                    }
                })
                .flatten(),
            healthy_threshold: self.int_in(keys::HEALTHY_THRESHOLD, 2, 10),
            unhealthy_threshold: self.int_in(keys::UNHEALTHY_THRESHOLD, 2, 10),
            interval: self.int_in(keys::HEALTH_CHECK_INTERVAL, 1, 50),
            connect_timeout: self.int_in(keys::HEALTH_CHECK_CONNECT_TIMEOUT, 1, 300),
            domain: self.known(keys::HEALTH_CHECK_DOMAIN, "a domain name or $_ip", |v| {
                (v == "$_ip" || is_dns_name(v)).then(|| v.to_owned())
            }),
            http_code: self.known(
                keys::HEALTH_CHECK_HTTP_CODE,
                "comma-separated http_2xx, http_3xx, http_4xx, http_5xx",
                |v| {
                    v.split(',')
                        .all(|c| matches!(c.trim(), "http_2xx" | "http_3xx" | "http_4xx" | "http_5xx"))
                        .then(|| v.split(',').map(str::trim).collect::<Vec<_>>().join(","))
                },
            ),
        }
    }
}

/// Checks CIDR blocks (a bare address counts as a host route); `None` if one is invalid. Empty items are skipped;
/// the result is trimmed, sorted and deduplicated.
pub fn parse_source_ranges<'a>(items: impl IntoIterator<Item = &'a str>) -> Option<Vec<String>> {
    let mut out = std::collections::BTreeSet::new();
    for item in items.into_iter().map(str::trim).filter(|i| !i.is_empty()) {
        let (address, prefix) = item.split_once('/').unwrap_or((item, ""));
        let ip: IpAddr = address.parse().ok()?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() { max } else { prefix.parse::<u8>().ok().filter(|p| *p <= max)? };
        out.insert(format!("{ip}/{prefix}"));
    }
    Some(out.into_iter().collect())
}

/// `a:port,b:port` with `left` parsing each `a`; `None` if an item is malformed.
fn parse_port_list<T>(value: &str, left: impl Fn(&str) -> Option<T>) -> Option<Vec<(T, u16)>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|item| {
            let (a, port) = item.split_once(':')?;
            Some((left(a.trim())?, port.trim().parse::<u16>().ok().filter(|p| *p > 0)?))
        })
        .collect()
}

fn parse_pairs(value: &str, require_value: bool) -> Option<BTreeMap<String, String>> {
    let mut pairs = BTreeMap::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None if !require_value => (item, ""),
            None => return None,
        };
        if key.is_empty() || value.contains('=') {
            return None;
        }
        pairs.insert(key.to_owned(), value.to_owned());
    }
    Some(pairs)
}

/// Whether an address is a valid fixed intranet address (kept for callers validating `ip` themselves).
pub fn is_ipv4(value: &str) -> bool {
    matches!(value.parse::<IpAddr>(), Ok(IpAddr::V4(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (format!("{ANNOTATION_PREFIX}{k}"), v.to_string())).collect()
    }

    #[test]
    fn no_annotations_give_defaults() {
        let config = ServiceLbConfig::parse(None).unwrap();
        assert_eq!(config, ServiceLbConfig::default());
        assert_eq!(config.address_type_or_default(), AddressType::Internet);
        assert!(config.manages_listeners());
    }

    #[test]
    fn valid_values_are_typed() {
        let map = annotations(&[
            ("address-type", "intranet"),
            ("id", "lb-123"),
            ("force-override-listeners", "true"),
            ("spec", "slb.s2.small"),
            ("instance-charge-type", "PayBySpec"),
            ("charge-type", "paybybandwidth"),
            ("bandwidth", "50"),
            ("vswitch-id", "vsw-1"),
            ("ip", "192.168.0.10"),
            ("additional-resource-tags", "team=web, env=prod,flag"),
            ("delete-protection", "off"),
            ("modification-protection", "NonProtection"),
            ("preserve-lb-on-delete", ""),
            ("scheduler", "wrr"),
            ("backend-label", "pool=a,zone=b"),
            ("remove-unscheduled-backend", "on"),
            ("default-weight", "0"),
            ("hostname", "web.example.com"),
            ("health-check-switch", "on"),
            ("health-check-type", "http"),
            ("health-check-uri", "/ready"),
            ("health-check-connect-port", "-520"),
            ("healthy-threshold", "4"),
            ("health-check-interval", "5"),
            ("health-check-httpcode", "http_2xx, http_3xx"),
            ("persistence-timeout", "0"),
            ("established-timeout", "900"),
            ("connection-drain", "on"),
            ("connection-drain-timeout", "30"),
            ("proxy-protocol", "on"),
        ]);
        let c = ServiceLbConfig::parse(Some(&map)).unwrap();
        assert_eq!(c.address_type, Some(AddressType::Intranet));
        assert_eq!(c.load_balancer_id.as_deref(), Some("lb-123"));
        assert!(c.force_override_listeners && c.manages_listeners());
        assert_eq!(c.instance_charge_type, Some(InstanceChargeType::PayBySpec));
        assert_eq!(c.internet_charge_type, Some(InternetChargeType::PayByBandwidth));
        assert_eq!(c.bandwidth, Some(50));
        assert_eq!(c.address.as_deref(), Some("192.168.0.10"));
        assert_eq!(c.additional_tags.get("team").map(String::as_str), Some("web"));
        assert_eq!(c.additional_tags.get("flag").map(String::as_str), Some(""));
        assert_eq!(c.delete_protection, Some(OnOff::Off));
        assert_eq!(c.modification_protection, Some(ModificationProtectionStatus::NonProtection));
        assert!(c.preserve_on_delete, "presence alone preserves, as in the Go CCM");
        assert_eq!(c.scheduler, Some(Scheduler::Wrr));
        assert_eq!(c.backend_labels.len(), 2);
        assert!(c.remove_unscheduled_backend);
        assert_eq!(c.default_weight, Some(0));
        assert_eq!(c.hostname.as_deref(), Some("web.example.com"));
        assert_eq!(c.health_check.switch, Some(OnOff::On));
        assert_eq!(c.health_check.check_type, Some(HealthCheckType::Http));
        assert_eq!(c.health_check.connect_port, None);
        assert_eq!(c.health_check.http_code.as_deref(), Some("http_2xx,http_3xx"));
        assert_eq!(c.established_timeout, Some(900));
        assert_eq!(c.proxy_protocol, Some(true));
    }

    #[test]
    fn invalid_values_name_the_annotation_and_the_accepted_values() {
        let map = annotations(&[
            ("address-type", "public"),
            ("bandwidth", "0"),
            ("scheduler", "random"),
            ("backend-label", "pool"),
            ("health-check-connect-port", "70000"),
            ("force-override-listeners", "yes"),
            ("name", ""),
        ]);
        let errors = ServiceLbConfig::parse(Some(&map)).unwrap_err().0;
        let by_key: BTreeMap<_, _> =
            errors.iter().map(|e| (e.annotation.trim_start_matches(ANNOTATION_PREFIX), e)).collect();
        assert_eq!(by_key.len(), 6, "{errors:?}");
        assert_eq!(by_key["address-type"].accepted, "internet, intranet");
        assert_eq!(by_key["address-type"].value, "public");
        assert_eq!(by_key["bandwidth"].accepted, "an integer from 1 to 5120");
        assert!(by_key["scheduler"].accepted.contains("wrr"));
        assert!(by_key.contains_key("backend-label"));
        assert!(by_key.contains_key("health-check-connect-port"));
        assert_eq!(by_key["force-override-listeners"].accepted, "true, false");
        let message = AnnotationErrors(errors.clone()).to_string();
        assert!(message.contains("service.beta.kubernetes.io/alibaba-cloud-loadbalancer-bandwidth"), "{message}");
        assert!(message.contains("accepted: an integer from 1 to 5120"), "{message}");
    }

    #[test]
    fn legacy_prefix_is_accepted_and_the_current_one_wins() {
        let mut map = BTreeMap::new();
        map.insert(format!("{LEGACY_ANNOTATION_PREFIX}address-type"), "intranet".to_owned());
        map.insert(format!("{LEGACY_ANNOTATION_PREFIX}bandwidth"), "10".to_owned());
        map.insert(format!("{ANNOTATION_PREFIX}bandwidth"), "20".to_owned());
        let c = ServiceLbConfig::parse(Some(&map)).unwrap();
        assert_eq!(c.address_type, Some(AddressType::Intranet));
        assert_eq!(c.bandwidth, Some(20));
        map.insert(format!("{LEGACY_ANNOTATION_PREFIX}scheduler"), "bogus".to_owned());
        let errors = ServiceLbConfig::parse(Some(&map)).unwrap_err().0;
        assert_eq!(errors[0].annotation, format!("{LEGACY_ANNOTATION_PREFIX}scheduler"));
    }

    #[test]
    fn reused_load_balancer_listeners_need_force_override() {
        let map = annotations(&[("id", "lb-1")]);
        assert!(!ServiceLbConfig::parse(Some(&map)).unwrap().manages_listeners());
    }

    #[test]
    fn features_of_the_next_release_are_refused_not_ignored() {
        let map = annotations(&[("backend-ip-version", "ipv6"), ("network-type", "classic"), ("ip-version", "ipv4")]);
        let errors = ServiceLbConfig::parse(Some(&map)).unwrap_err().0;
        let keys: Vec<&str> = errors.iter().map(|e| e.annotation.trim_start_matches(ANNOTATION_PREFIX)).collect();
        assert_eq!(keys, ["network-type", "backend-ip-version"]);
        assert!(errors[0].accepted.contains("does not support"));
        let mut eni = BTreeMap::new();
        eni.insert(BACKEND_TYPE_ANNOTATION.to_owned(), "eni".to_owned());
        assert_eq!(ServiceLbConfig::parse(Some(&eni)).unwrap().eni_backends, Some(true));
        eni.insert(BACKEND_TYPE_ANNOTATION.to_owned(), "ecs".to_owned());
        assert_eq!(ServiceLbConfig::parse(Some(&eni)).unwrap().eni_backends, Some(false));
        eni.insert(BACKEND_TYPE_ANNOTATION.to_owned(), "eci".to_owned());
        assert!(ServiceLbConfig::parse(Some(&eni)).is_err());
        let off = annotations(&[("acl-status", "off")]);
        assert!(ServiceLbConfig::parse(Some(&off)).is_ok());
    }

    /// The rows `| `key` | status | … |` of every table in `docs/annotations.md`.
    fn documented() -> Vec<(String, String)> {
        include_str!("../../../docs/annotations.md")
            .lines()
            .filter_map(|line| {
                let mut cells = line.strip_prefix("| `")?.split('|');
                let key = cells.next()?.trim().strip_suffix('`')?.to_owned();
                Some((key, cells.next()?.trim().to_owned()))
            })
            .collect()
    }

    fn status_text(support: Support) -> String {
        match support {
            Support::Supported => "supported".to_owned(),
            Support::Refused => "refused".to_owned(),
            Support::RefusedValue(v) => format!("partial: `{v}` refused"),
            Support::NotApplicable => "not applicable".to_owned(),
        }
    }

    #[test]
    fn the_annotation_doc_matches_the_code() {
        let doc = documented();
        let code: Vec<(String, String)> = CATALOG
            .iter()
            .chain(OTHER_CATALOG)
            .map(|(key, support)| ((*key).to_owned(), status_text(*support)))
            .collect();
        let doc_map: BTreeMap<_, _> = doc.iter().cloned().collect();
        assert_eq!(doc_map.len(), doc.len(), "a key is documented twice");
        let code_map: BTreeMap<_, _> = code.iter().cloned().collect();
        assert_eq!(code_map.len(), code.len(), "a key is catalogued twice");
        for (key, status) in &code_map {
            assert_eq!(doc_map.get(key), Some(status), "docs/annotations.md row for `{key}`");
        }
        for key in doc_map.keys() {
            assert!(code_map.contains_key(key), "docs/annotations.md documents `{key}`, unknown to the code");
        }
        // Every key the parser reads is catalogued as honoured.
        for suffix in [keys::ADDRESS_TYPE, keys::ID, keys::SCHEDULER, keys::HEALTH_CHECK_HTTP_CODE, keys::TUNNEL_TYPE] {
            assert!(matches!(support_of(suffix), Some(Support::Supported | Support::RefusedValue(_))), "{suffix}");
        }
    }

    #[test]
    fn unknown_and_nlb_only_annotations_are_reported() {
        let mut map = annotations(&[("scheduler", "wrr"), ("zone-maps", "cn-a:vsw-1"), ("health-check-flagg", "on")]);
        map.insert(format!("{LEGACY_ANNOTATION_PREFIX}made-up"), "x".to_owned());
        map.insert("service.beta.kubernetes.io/other".to_owned(), "x".to_owned());
        let ignored = ignored_annotations(Some(&map));
        let keys: Vec<(&str, &str)> = ignored.iter().map(|(k, why)| (k.as_str(), *why)).collect();
        assert_eq!(
            keys,
            [
                ("service.beta.kubernetes.io/alibaba-cloud-loadbalancer-health-check-flagg", "unknown annotation"),
                ("service.beta.kubernetes.io/alibaba-cloud-loadbalancer-zone-maps", "applies to NLB only"),
                ("service.beta.kubernetes.io/alicloud-loadbalancer-made-up", "unknown annotation"),
            ]
        );
        // Reported, not refused: the Service is still served.
        assert!(ServiceLbConfig::parse(Some(&map)).is_ok());
        assert!(ignored_annotations(None).is_empty());
    }

    #[test]
    fn refused_values_only_refuse_that_value() {
        let ok = annotations(&[("ip-version", "ipv4"), ("network-type", "vpc"), ("external-ip-type", "eip")]);
        assert!(ServiceLbConfig::parse(Some(&ok)).is_ok());
        let refused = annotations(&[("network-type", "classic"), ("backend-ip-version", "IPv6")]);
        let errors = ServiceLbConfig::parse(Some(&refused)).unwrap_err().0;
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.accepted.starts_with("any value but ipv6")));
    }

    #[test]
    fn ip_version() {
        let v6 = annotations(&[("ip-version", "IPv6")]);
        assert_eq!(
            ServiceLbConfig::parse(Some(&v6)).unwrap().ip_version,
            Some(aliyun_api::slb::AddressIpVersion::Ipv6)
        );
        let bad = annotations(&[("ip-version", "dualstack")]);
        assert!(ServiceLbConfig::parse(Some(&bad)).is_err());
    }

    #[test]
    fn access_control_annotations() {
        let map = annotations(&[("acl-status", "on"), ("acl-id", "acl-user"), ("acl-type", "black")]);
        let c = ServiceLbConfig::parse(Some(&map)).unwrap();
        assert_eq!(
            (c.acl_status, c.acl_id.as_deref(), c.acl_type),
            (Some(OnOff::On), Some("acl-user"), Some(AclType::Black))
        );
        let incomplete = annotations(&[("acl-status", "on"), ("acl-id", "acl-user")]);
        let errors = ServiceLbConfig::parse(Some(&incomplete)).unwrap_err().0;
        assert!(errors[0].accepted.contains("acl-type"), "{errors:?}");
        let bad = annotations(&[("acl-type", "grey"), ("acl-id", "rsp-1")]);
        assert_eq!(ServiceLbConfig::parse(Some(&bad)).unwrap_err().0.len(), 2);
    }

    #[test]
    fn source_ranges_annotation_is_checked_and_normalised() {
        let mut map = BTreeMap::new();
        map.insert(SOURCE_RANGES_ANNOTATION.to_owned(), "192.168.0.0/16, 10.0.0.1,,fd00::/8".to_owned());
        let c = ServiceLbConfig::parse(Some(&map)).unwrap();
        assert_eq!(c.source_ranges, ["10.0.0.1/32", "192.168.0.0/16", "fd00::/8"]);
        map.insert(SOURCE_RANGES_ANNOTATION.to_owned(), "10.0.0.0/33".to_owned());
        let errors = ServiceLbConfig::parse(Some(&map)).unwrap_err().0;
        assert_eq!(errors[0].annotation, SOURCE_RANGES_ANNOTATION);
        assert_eq!(parse_source_ranges(["300.1.1.1/8"]), None);
        assert_eq!(parse_source_ranges(["10.0.0.0/8", "10.0.0.0/8"]), Some(vec!["10.0.0.0/8".to_owned()]));
    }

    #[test]
    fn layer_7_annotations() {
        let map = annotations(&[
            ("protocol-port", "https:443, HTTP:80"),
            ("forward-port", "80:443"),
            ("cert-id", "1231579085529123_166f8204689_1789133522_-1391055845"),
            ("tls-cipher-policy", "tls_cipher_policy_1_2"),
            ("http2-enabled", "off"),
            ("idle-timeout", "30"),
            ("request-timeout", "90"),
            ("sticky-session", "on"),
            ("sticky-session-type", "insert"),
            ("cookie-timeout", "1800"),
            ("xforwardedfor-proto", "on"),
            ("xforwardedfor-slbport", "on"),
            ("xforwardedfor-clientsrcport", "off"),
            ("health-check-flag", "on"),
            ("health-check-timeout", "8"),
            ("health-check-method", "get"),
            ("domain-extensions", "a.example.com:cert-a, *.b.example.com:cert-b"),
        ]);
        let c = ServiceLbConfig::parse(Some(&map)).unwrap();
        assert_eq!(c.l7.domain_extensions.get("a.example.com").map(String::as_str), Some("cert-a"));
        assert_eq!(c.l7.domain_extensions.get("*.b.example.com").map(String::as_str), Some("cert-b"));
        assert_eq!(c.protocol_ports.get(&443), Some(&ListenerProtocol::Https));
        assert_eq!(c.protocol_ports.get(&80), Some(&ListenerProtocol::Http));
        assert_eq!(c.forward_ports.get(&80), Some(&443));
        let l7 = &c.l7;
        assert_eq!(l7.cert_id.as_deref(), Some("1231579085529123_166f8204689_1789133522_-1391055845"));
        assert_eq!(l7.sticky_session_type, Some(StickySessionType::Insert));
        assert_eq!((l7.idle_timeout, l7.request_timeout, l7.cookie_timeout), (Some(30), Some(90), Some(1800)));
        assert_eq!(l7.health_check_method, Some(HealthCheckMethod::Get));
        assert_eq!(l7.xff_client_src_port, Some(OnOff::Off));
        let bad = annotations(&[
            ("protocol-port", "quic:443"),
            ("forward-port", "80"),
            ("idle-timeout", "61"),
            ("sticky-session-type", "magic"),
            ("tls-cipher-policy", "weak"),
            ("domain-extensions", "a.example.com"),
        ]);
        let errors = ServiceLbConfig::parse(Some(&bad)).unwrap_err().0;
        assert_eq!(errors.len(), 6, "{errors:?}");
    }

    #[test]
    fn vgroup_port_and_weights() {
        let map = annotations(&[
            ("id", "lb-user"),
            ("vgroup-port", "rsp-a:80, rsp-b:443"),
            ("weight", "60"),
            ("ignore-weight-update", "on"),
        ]);
        let c = ServiceLbConfig::parse(Some(&map)).unwrap();
        assert_eq!(c.vgroup_ports.get(&80).map(String::as_str), Some("rsp-a"));
        assert_eq!(c.vgroup_ports.get(&443).map(String::as_str), Some("rsp-b"));
        assert_eq!((c.weight, c.ignore_weight_update), (Some(60), true));
        let not_reused = annotations(&[("vgroup-port", "rsp-a:80")]);
        let errors = ServiceLbConfig::parse(Some(&not_reused)).unwrap_err().0;
        assert!(errors[0].accepted.contains("reused"), "{errors:?}");
        let bad = annotations(&[("id", "lb-user"), ("vgroup-port", "grp:80"), ("weight", "101")]);
        assert_eq!(ServiceLbConfig::parse(Some(&bad)).unwrap_err().0.len(), 2);
    }

    #[test]
    fn dns_names() {
        assert!(is_dns_name("a.example.com"));
        assert!(!is_dns_name("-a.example.com"));
        assert!(!is_dns_name("a..b"));
        assert!(is_ipv4("10.0.0.1") && !is_ipv4("fd00::1"));
    }
}
