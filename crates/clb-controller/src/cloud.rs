//! The port: the narrow set of CLB operations this controller needs ([`ClbCloud`]), and the cloud-side types
//! they take and return. [`crate::aliyun::AliyunClb`] implements it over `aliyun_api::Client`;
//! `MockClbCloud` (feature `mock`) implements it in memory.

use std::{collections::BTreeMap, fmt, future::Future};

use aliyun_api::{
    Tag,
    slb::{
        AclType, AddressType, BackendType, HealthCheckMethod, HealthCheckType, InstanceChargeType, InternetChargeType,
        ListenerProtocol, ListenerStatus, ModificationProtectionStatus, OnOff, Scheduler, StickySessionType,
    },
};

/// Error code the API answers when a vSwitch has no free address left.
pub const CODE_VSWITCH_NO_IP: &str = "VSwitchAvailableIpNotExist";
/// Error code the API answers when a load balancer would exceed its backend quota.
pub const CODE_BACKEND_OVER_LIMIT: &str = "InstanceBackendServerNumberOverLimit";

/// A failed cloud operation, with the cloud's code and message when it answered.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct CloudError {
    /// The operation (API action name).
    pub operation: &'static str,
    /// The cloud's error code, if it answered with one.
    pub code: Option<String>,
    /// The cloud's message (or the transport failure).
    pub message: String,
    /// Whether the target does not exist.
    pub not_found: bool,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl CloudError {
    /// An error answered by the cloud with `code` and `message`.
    pub fn api(operation: &'static str, code: impl Into<String>, message: impl Into<String>) -> Self {
        let code = code.into();
        let not_found = code.ends_with(".NotFound") || code.ends_with(".NotExist");
        Self { operation, code: Some(code), message: message.into(), not_found, source: None }
    }

    /// Whether the cloud answered `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// Whether the error says that a vServer group (or the load balancer holding it) does not exist: a not-found
    /// code, or the API's `InvalidParameter` with [`MESSAGE_VSERVER_GROUP_NOT_FOUND`].
    pub fn is_missing_vserver_group(&self) -> bool {
        self.not_found || (self.has_code("InvalidParameter") && self.message.contains(MESSAGE_VSERVER_GROUP_NOT_FOUND))
    }
}

/// What the API says (with code `InvalidParameter`, not a not-found code) about a vServer group that does not
/// exist, for instance after its load balancer was deleted.
pub const MESSAGE_VSERVER_GROUP_NOT_FOUND: &str = "VServerGroupId does not exist";

/// Result of a cloud operation.
pub type CloudResult<T> = Result<T, CloudError>;

/// A load balancer's attributes and tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedLoadBalancer {
    /// `lb-…`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Service address (public or private IP).
    pub address: String,
    /// `internet` or `intranet`.
    pub address_type: Option<AddressType>,
    /// `ipv4` or `ipv6`.
    pub ip_version: Option<aliyun_api::slb::AddressIpVersion>,
    /// VPC (intranet).
    pub vpc_id: String,
    /// vSwitch (intranet).
    pub vswitch_id: String,
    /// Primary zone.
    pub master_zone_id: String,
    /// Secondary zone.
    pub slave_zone_id: String,
    /// Spec (`slb.s1.small`), empty for pay-by-CLCU.
    pub spec: String,
    /// Instance billing.
    pub instance_charge_type: Option<InstanceChargeType>,
    /// Internet billing.
    pub internet_charge_type: Option<InternetChargeType>,
    /// Bandwidth (Mbit/s), meaningful with pay-by-bandwidth.
    pub bandwidth: i64,
    /// Delete protection.
    pub delete_protection: Option<OnOff>,
    /// Console modification protection.
    pub modification_protection: Option<ModificationProtectionStatus>,
    /// Resource group.
    pub resource_group_id: String,
    /// Tags by key.
    pub tags: BTreeMap<String, String>,
}

/// A backend server of a vServer group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Backend {
    /// Instance (`i-…`) or ENI (`eni-…`) ID.
    pub server_id: String,
    /// Port on the server (the node port for ECS backends).
    pub port: u16,
    /// Weight 0–100.
    pub weight: u32,
    /// `ecs`, `eni` or `eci`.
    pub kind: BackendType,
    /// Server IP (ENI backends).
    pub server_ip: Option<String>,
    /// Description: the owning vServer group key for backends this controller manages.
    pub description: String,
}

impl Backend {
    /// An ECS backend.
    pub fn ecs(instance_id: impl Into<String>, port: u16, weight: u32, description: impl Into<String>) -> Self {
        Self {
            server_id: instance_id.into(),
            port,
            weight,
            kind: BackendType::Ecs,
            server_ip: None,
            description: description.into(),
        }
    }

    /// An ENI backend for a pod, not resolved yet: the server ID is the pod IP until the controller finds the
    /// pod's ENI ([`Backend::is_unresolved_pod`]).
    pub fn eni_pod(pod_ip: impl Into<String>, port: u16, weight: u32, description: impl Into<String>) -> Self {
        let ip = pod_ip.into();
        Self {
            server_id: ip.clone(),
            port,
            weight,
            kind: BackendType::Eni,
            server_ip: Some(ip),
            description: description.into(),
        }
    }

    /// Whether this is a pod backend whose ENI is not known yet.
    pub fn is_unresolved_pod(&self) -> bool {
        self.kind == BackendType::Eni && self.server_ip.as_deref() == Some(self.server_id.as_str())
    }

    /// What identifies a backend within a group: server and port.
    pub fn identity(&self) -> (&str, u16) {
        (&self.server_id, self.port)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} weight {}", self.server_id, self.port, self.weight)
    }
}

macro_rules! listener_settings {
    ($( $(#[$meta:meta])* $field:ident : $ty:ty => $label:literal, )+) => {
        /// The TCP/UDP listener attributes this controller manages. In a desired model `None` means "not asked
        /// for" (the cloud's value stands); in an observed one, "not reported".
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
        pub struct ListenerSettings {
            $( $(#[$meta])* pub $field: Option<$ty>, )+
        }

        impl ListenerSettings {
            /// The settings asked for in `self` that `observed` does not already have.
            pub fn differences_from(&self, observed: &ListenerSettings) -> ListenerSettings {
                ListenerSettings {
                    $( $field: self.$field.clone().filter(|want| observed.$field.as_ref() != Some(want)), )+
                }
            }

            /// Sets every field that `changes` sets.
            pub fn merge_from(&mut self, changes: &ListenerSettings) {
                $( if changes.$field.is_some() { self.$field = changes.$field.clone(); } )+
            }

            /// Whether nothing is set.
            pub fn is_empty(&self) -> bool {
                $( self.$field.is_none() )&&+
            }
        }

        impl fmt::Display for ListenerSettings {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut first = true;
                $(
                    if let Some(value) = &self.$field {
                        if !first {
                            f.write_str(", ")?;
                        }
                        first = false;
                        write!(f, "{}={}", $label, DisplayValue(value))?;
                    }
                )+
                if first {
                    f.write_str("defaults")?;
                }
                Ok(())
            }
        }
    };
}

listener_settings! {
    /// Scheduling algorithm.
    scheduler: Scheduler => "scheduler",
    /// TCP session persistence (s).
    persistence_timeout: u32 => "persistence-timeout",
    /// TCP idle connection timeout (s).
    established_timeout: u32 => "established-timeout",
    /// Health check on/off.
    health_check_switch: OnOff => "health-check",
    /// TCP health check protocol.
    health_check_type: HealthCheckType => "health-check-type",
    /// HTTP health check path.
    health_check_uri: String => "health-check-uri",
    /// HTTP health check domain.
    health_check_domain: String => "health-check-domain",
    /// HTTP health check success codes.
    health_check_http_code: String => "health-check-httpcode",
    /// Health check port (`None`: the backend port).
    health_check_connect_port: u16 => "health-check-port",
    /// Health check timeout (s).
    health_check_connect_timeout: u32 => "health-check-timeout",
    /// Health check interval (s).
    health_check_interval: u32 => "health-check-interval",
    /// Healthy threshold.
    healthy_threshold: u32 => "healthy-threshold",
    /// Unhealthy threshold.
    unhealthy_threshold: u32 => "unhealthy-threshold",
    /// Connection draining.
    connection_drain: OnOff => "connection-drain",
    /// Connection draining timeout (s).
    connection_drain_timeout: u32 => "connection-drain-timeout",
    /// Proxy Protocol v2.
    proxy_protocol_v2: bool => "proxy-protocol",
    /// Access control on/off.
    acl_status: OnOff => "acl",
    /// Access control list bound (an owned one not created yet: [`NEW_ACL`]).
    acl_id: String => "acl-id",
    /// Whitelist or blacklist.
    acl_type: AclType => "acl-type",
    /// HTTP health check method (HTTP/HTTPS).
    health_check_method: HealthCheckMethod => "health-check-method",
    /// HTTP health check timeout (s, HTTP/HTTPS).
    health_check_timeout: u32 => "health-check-http-timeout",
    /// Session persistence (HTTP/HTTPS).
    sticky_session: OnOff => "sticky-session",
    /// `insert` or `server`.
    sticky_session_type: StickySessionType => "sticky-session-type",
    /// Backend cookie name (`server`).
    cookie: String => "cookie",
    /// Inserted cookie lifetime (s, `insert`).
    cookie_timeout: u32 => "cookie-timeout",
    /// `X-Forwarded-Proto`.
    x_forwarded_for_proto: OnOff => "xforwardedfor-proto",
    /// `X-Forwarded-Port`.
    x_forwarded_for_slb_port: OnOff => "xforwardedfor-slbport",
    /// `X-Forwarded-Client-srcport`.
    x_forwarded_for_client_src_port: OnOff => "xforwardedfor-clientsrcport",
    /// Idle connection timeout (s, HTTP/HTTPS).
    idle_timeout: u32 => "idle-timeout",
    /// Request timeout (s, HTTP/HTTPS).
    request_timeout: u32 => "request-timeout",
    /// Server certificate (HTTPS).
    server_certificate_id: String => "cert-id",
    /// TLS policy (HTTPS).
    tls_cipher_policy: String => "tls-cipher-policy",
    /// HTTP/2 (HTTPS).
    enable_http2: OnOff => "http2",
    /// Redirect to this HTTPS listener port (HTTP; fixed at creation: a change recreates the listener).
    forward_port: u16 => "forward-port",
}

/// Stand-in ACL ID in listener settings for the Service's own access control list, created by an earlier
/// operation of the same plan; the executor replaces it with the real ID.
pub const NEW_ACL: &str = "(new access control list)";

/// An additional certificate of an HTTPS listener for one domain (SNI), as the cloud reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedDomainExtension {
    /// `de-…`.
    pub id: String,
    /// Domain.
    pub domain: String,
    /// Server certificate.
    pub certificate_id: String,
}

/// An access control list as the cloud reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedAcl {
    /// `acl-…`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its entries (CIDRs).
    pub entries: std::collections::BTreeSet<String>,
}

/// Formats any settings value with `Display`.
struct DisplayValue<'a, T>(&'a T);

impl<T: fmt::Display> fmt::Display for DisplayValue<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A listener as the cloud reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedListener {
    /// Frontend port.
    pub port: u16,
    /// Protocol.
    pub protocol: ListenerProtocol,
    /// `running`, `stopped`, …
    pub status: Option<ListenerStatus>,
    /// Description (the ownership key for listeners this controller manages).
    pub description: String,
    /// Bound vServer group, empty if none.
    pub vserver_group_id: String,
    /// Managed attributes.
    pub settings: ListenerSettings,
}

/// A vServer group as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VServerGroupSummary {
    /// `rsp-…`.
    pub id: String,
    /// Name (the ownership key for groups this controller manages).
    pub name: String,
}

/// What to create a load balancer with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLoadBalancer {
    /// Name.
    pub name: String,
    /// `internet` or `intranet`.
    pub address_type: Option<AddressType>,
    /// `ipv4` (API default) or `ipv6`.
    pub address_ip_version: Option<aliyun_api::slb::AddressIpVersion>,
    /// Fixed intranet address.
    pub address: Option<String>,
    /// VPC (intranet).
    pub vpc_id: Option<String>,
    /// vSwitch (intranet).
    pub vswitch_id: Option<String>,
    /// Primary zone.
    pub master_zone_id: Option<String>,
    /// Secondary zone.
    pub slave_zone_id: Option<String>,
    /// Spec (pay-by-spec only).
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
    /// Reason recorded with modification protection.
    pub modification_protection_reason: Option<String>,
    /// Resource group.
    pub resource_group_id: Option<String>,
    /// Tags set at creation.
    pub tags: Vec<Tag>,
    /// Idempotency token: a retry with the same token never creates a second load balancer.
    pub client_token: String,
}

/// The created load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedLoadBalancer {
    /// `lb-…`.
    pub id: String,
    /// Its address.
    pub address: String,
}

/// What to create a listener with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewListener {
    /// Frontend port.
    pub port: u16,
    /// Protocol.
    pub protocol: ListenerProtocol,
    /// vServer group to forward to.
    pub vserver_group_id: String,
    /// Description (ownership key).
    pub description: String,
    /// Attributes; the scheduler is always set on creation.
    pub settings: ListenerSettings,
}

/// Changes to an existing listener: only the set fields are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerChange {
    /// Frontend port.
    pub port: u16,
    /// Protocol.
    pub protocol: ListenerProtocol,
    /// New vServer group.
    pub vserver_group_id: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New attribute values.
    pub settings: ListenerSettings,
}

/// The CLB operations the service controller needs. Every method is one API call (listings may page).
pub trait ClbCloud: Send + Sync + 'static {
    /// Load balancers carrying tag `key=value`, with their attributes and tags: the listing
    /// (`DescribeLoadBalancers`) carries them all, so finding a load balancer takes no second call.
    fn find_load_balancers_by_tag(
        &self,
        key: &str,
        value: &str,
    ) -> impl Future<Output = CloudResult<Vec<ObservedLoadBalancer>>> + Send;

    /// Load balancers named `name`, with their attributes and tags (as [`ClbCloud::find_load_balancers_by_tag`]).
    fn find_load_balancers_by_name(
        &self,
        name: &str,
    ) -> impl Future<Output = CloudResult<Vec<ObservedLoadBalancer>>> + Send;

    /// Attributes and tags of a load balancer (one listing filtered by ID); `None` if it does not exist.
    fn describe_load_balancer(
        &self,
        id: &str,
    ) -> impl Future<Output = CloudResult<Option<ObservedLoadBalancer>>> + Send;

    /// Every listener of a load balancer.
    fn describe_listeners(
        &self,
        load_balancer_id: &str,
    ) -> impl Future<Output = CloudResult<Vec<ObservedListener>>> + Send;

    /// Every vServer group of a load balancer (without backends).
    fn describe_vserver_groups(
        &self,
        load_balancer_id: &str,
    ) -> impl Future<Output = CloudResult<Vec<VServerGroupSummary>>> + Send;

    /// The backends of one vServer group.
    fn describe_vserver_group_backends(&self, group_id: &str)
    -> impl Future<Output = CloudResult<Vec<Backend>>> + Send;

    /// Creates a load balancer (idempotent through the client token).
    fn create_load_balancer(
        &self,
        spec: &NewLoadBalancer,
    ) -> impl Future<Output = CloudResult<CreatedLoadBalancer>> + Send;

    /// Renames a load balancer.
    fn set_load_balancer_name(&self, id: &str, name: &str) -> impl Future<Output = CloudResult<()>> + Send;

    /// Turns delete protection on or off.
    fn set_delete_protection(&self, id: &str, on: OnOff) -> impl Future<Output = CloudResult<()>> + Send;

    /// Sets console modification protection.
    fn set_modification_protection(
        &self,
        id: &str,
        status: ModificationProtectionStatus,
    ) -> impl Future<Output = CloudResult<()>> + Send;

    /// Changes instance billing (and the spec, for pay-by-spec).
    fn modify_instance_charge_type(
        &self,
        id: &str,
        charge_type: InstanceChargeType,
        spec: Option<&str>,
    ) -> impl Future<Output = CloudResult<()>> + Send;

    /// Changes the spec of a pay-by-spec instance.
    fn modify_instance_spec(&self, id: &str, spec: &str) -> impl Future<Output = CloudResult<()>> + Send;

    /// Changes internet billing and bandwidth.
    fn modify_internet_spec(
        &self,
        id: &str,
        charge_type: Option<InternetChargeType>,
        bandwidth: Option<u32>,
    ) -> impl Future<Output = CloudResult<()>> + Send;

    /// Adds or overwrites tags.
    fn tag_load_balancer(&self, id: &str, tags: &[Tag]) -> impl Future<Output = CloudResult<()>> + Send;

    /// Removes tags by key.
    fn untag_load_balancer(&self, id: &str, keys: &[String]) -> impl Future<Output = CloudResult<()>> + Send;

    /// Deletes a load balancer (delete protection must be off).
    fn delete_load_balancer(&self, id: &str) -> impl Future<Output = CloudResult<()>> + Send;

    /// Creates a listener (stopped).
    fn create_listener(
        &self,
        load_balancer_id: &str,
        listener: &NewListener,
    ) -> impl Future<Output = CloudResult<()>> + Send;

    /// Changes a listener.
    fn set_listener(
        &self,
        load_balancer_id: &str,
        change: &ListenerChange,
    ) -> impl Future<Output = CloudResult<()>> + Send;

    /// Starts a listener.
    fn start_listener(
        &self,
        load_balancer_id: &str,
        port: u16,
        protocol: &ListenerProtocol,
    ) -> impl Future<Output = CloudResult<()>> + Send;

    /// Deletes a listener.
    fn delete_listener(
        &self,
        load_balancer_id: &str,
        port: u16,
        protocol: &ListenerProtocol,
    ) -> impl Future<Output = CloudResult<()>> + Send;

    /// Creates a vServer group with its first backends (at most [`aliyun_api::slb::MAX_BACKENDS_PER_CALL`],
    /// possibly none: the call takes them like an add, saving one); returns its ID.
    fn create_vserver_group(
        &self,
        load_balancer_id: &str,
        name: &str,
        backends: &[Backend],
    ) -> impl Future<Output = CloudResult<String>> + Send;

    /// Deletes a vServer group (no listener may use it).
    fn delete_vserver_group(&self, group_id: &str) -> impl Future<Output = CloudResult<()>> + Send;

    /// Adds backends (at most [`aliyun_api::slb::MAX_BACKENDS_PER_CALL`]).
    fn add_backends(&self, group_id: &str, backends: &[Backend]) -> impl Future<Output = CloudResult<()>> + Send;

    /// Removes backends (at most [`aliyun_api::slb::MAX_BACKENDS_PER_CALL`]).
    fn remove_backends(&self, group_id: &str, backends: &[Backend]) -> impl Future<Output = CloudResult<()>> + Send;

    /// Changes weights and descriptions of existing backends (at most [`aliyun_api::slb::MAX_BACKENDS_PER_CALL`]).
    fn set_backends(&self, group_id: &str, backends: &[Backend]) -> impl Future<Output = CloudResult<()>> + Send;

    /// The ENIs (in use, in `vpc_id`) holding `ips` as private addresses: address → `eni-…`; addresses no ENI
    /// holds are missing from the answer. Batched by [`aliyun_api::ecs::DescribeNetworkInterfaces::MAX_FILTER_ITEMS`].
    fn find_enis(
        &self,
        vpc_id: &str,
        ips: &[String],
    ) -> impl Future<Output = CloudResult<BTreeMap<String, String>>> + Send;

    /// The domain extensions of an HTTPS listener.
    fn describe_domain_extensions(
        &self,
        load_balancer_id: &str,
        port: u16,
    ) -> impl Future<Output = CloudResult<Vec<ObservedDomainExtension>>> + Send;

    /// Adds a domain extension to an HTTPS listener.
    fn create_domain_extension(
        &self,
        load_balancer_id: &str,
        port: u16,
        domain: &str,
        certificate_id: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;

    /// Changes the certificate of a domain extension.
    fn set_domain_extension(&self, id: &str, certificate_id: &str) -> impl Future<Output = CloudResult<()>> + Send;

    /// Deletes a domain extension.
    fn delete_domain_extension(&self, id: &str) -> impl Future<Output = CloudResult<()>> + Send;

    /// Addresses of the elastic IPs bound to a load balancer (`vpc:DescribeEipAddresses`,
    /// `AssociatedInstanceType=SlbInstance`).
    fn describe_load_balancer_eips(
        &self,
        load_balancer_id: &str,
    ) -> impl Future<Output = CloudResult<Vec<String>>> + Send;

    /// The access control lists named `name`, with their entries.
    fn find_acls(&self, name: &str) -> impl Future<Output = CloudResult<Vec<ObservedAcl>>> + Send;

    /// Creates an empty access control list with tags; returns its ID.
    fn create_acl(&self, name: &str, tags: &[Tag]) -> impl Future<Output = CloudResult<String>> + Send;

    /// Adds entries (CIDRs) to an access control list.
    fn add_acl_entries(&self, acl_id: &str, entries: &[String]) -> impl Future<Output = CloudResult<()>> + Send;

    /// Removes entries (CIDRs) from an access control list.
    fn remove_acl_entries(&self, acl_id: &str, entries: &[String]) -> impl Future<Output = CloudResult<()>> + Send;

    /// Deletes an access control list (refused with [`CODE_ACL_IN_USE`] while a listener references it).
    fn delete_acl(&self, acl_id: &str) -> impl Future<Output = CloudResult<()>> + Send;
}

/// Error code the API answers when an access control list to delete is still referenced by a listener.
pub const CODE_ACL_IN_USE: &str = "AclInUsed";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_differences_keep_only_what_is_asked_and_different() {
        let desired = ListenerSettings {
            scheduler: Some(Scheduler::Wrr),
            persistence_timeout: Some(0),
            health_check_interval: Some(5),
            ..Default::default()
        };
        let observed = ListenerSettings {
            scheduler: Some(Scheduler::Wrr),
            persistence_timeout: Some(10),
            established_timeout: Some(900),
            ..Default::default()
        };
        let diff = desired.differences_from(&observed);
        assert_eq!(
            diff,
            ListenerSettings { persistence_timeout: Some(0), health_check_interval: Some(5), ..Default::default() }
        );
        assert_eq!(diff.to_string(), "persistence-timeout=0, health-check-interval=5");
        assert!(desired.differences_from(&desired).is_empty());
        assert_eq!(ListenerSettings::default().to_string(), "defaults");
    }

    #[test]
    fn cloud_errors_show_code_and_message() {
        let e = CloudError::api("CreateLoadBalancer", CODE_VSWITCH_NO_IP, "no ip left");
        assert_eq!(e.to_string(), "CreateLoadBalancer failed: VSwitchAvailableIpNotExist: no ip left");
        assert!(e.has_code(CODE_VSWITCH_NO_IP) && !e.not_found);
        assert!(CloudError::api("X", "InvalidLoadBalancerId.NotFound", "gone").not_found);
        let missing = CloudError::api("X", "InvalidParameter", "The specified VServerGroupId does not exist.");
        assert!(missing.is_missing_vserver_group() && !missing.not_found);
        assert!(!CloudError::api("X", "InvalidParameter", "bad port").is_missing_vserver_group());
        assert!(CloudError::api("X", "InvalidLoadBalancerId.NotFound", "gone").is_missing_vserver_group());
    }
}
