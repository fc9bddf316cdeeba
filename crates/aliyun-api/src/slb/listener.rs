//! Listeners: create, change, describe, start, stop and delete TCP, UDP, HTTP and HTTPS listeners.
//!
//! Parameter names differ between actions in ways that matter on the wire (names sort in byte order for the
//! signature, `Z` < `a`): `Create*TCP/UDPListener` take a lower-case **`healthCheckInterval`** (and UDP
//! `healthCheckReq` / `healthCheckExp`), while `Set*ListenerAttribute` and the HTTP/HTTPS actions take a capitalised
//! `HealthCheckInterval`; TCP/UDP switch health checks with `HealthCheckSwitch`, HTTP/HTTPS with `HealthCheck`.

use serde::Deserialize;

use super::{
    AclType, DomainExtension, HealthCheckMethod, HealthCheckType, ListenerProtocol, ListenerStatus, OnOff,
    RequestIdResponse, ResourceTag, Scheduler, StickySessionType,
};
use crate::lenient;
use crate::{
    endpoint::Product,
    params::{Params, Tag},
    request::{ApiRequest, NextTokenPage, NextTokenRequest},
};

/// The bandwidth sent when a listener action requires `Bandwidth` and none is given: `-1`, unlimited (valid for
/// pay-by-traffic instances, and what the incumbent CCM sends).
pub const UNLIMITED_BANDWIDTH: i32 = -1;

/// Sets an `on`/`off` parameter when given.
fn on_off(p: &mut Params, name: &str, value: Option<&OnOff>) {
    p.opt_str(name, value.map(OnOff::as_str));
}

/// The `X-Forwarded-*` header switches of HTTP and HTTPS listeners, in requests and responses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct XForwardedFor {
    /// `XForwardedFor`: add `X-Forwarded-For` with the client address (on by default).
    #[serde(rename = "XForwardedFor", deserialize_with = "lenient::opt_enum")]
    pub enabled: Option<OnOff>,
    /// `XForwardedFor_ClientSrcPort`: add the client's source port.
    #[serde(rename = "XForwardedFor_ClientSrcPort", deserialize_with = "lenient::opt_enum")]
    pub client_src_port: Option<OnOff>,
    /// `XForwardedFor_SLBID`: add `SLB-ID` with the instance ID.
    #[serde(rename = "XForwardedFor_SLBID", deserialize_with = "lenient::opt_enum")]
    pub slb_id: Option<OnOff>,
    /// `XForwardedFor_SLBIP`: add `SLB-IP` with the address the client asked for.
    #[serde(rename = "XForwardedFor_SLBIP", deserialize_with = "lenient::opt_enum")]
    pub slb_ip: Option<OnOff>,
    /// `XForwardedFor_SLBPORT`: add the listener port.
    #[serde(rename = "XForwardedFor_SLBPORT", deserialize_with = "lenient::opt_enum")]
    pub slb_port: Option<OnOff>,
    /// `XForwardedFor_proto`: add `X-Forwarded-Proto` with the listener protocol.
    #[serde(rename = "XForwardedFor_proto", deserialize_with = "lenient::opt_enum")]
    pub proto: Option<OnOff>,
}

impl XForwardedFor {
    fn to_params(&self, p: &mut Params) {
        on_off(p, "XForwardedFor", self.enabled.as_ref());
        on_off(p, "XForwardedFor_ClientSrcPort", self.client_src_port.as_ref());
        on_off(p, "XForwardedFor_SLBID", self.slb_id.as_ref());
        on_off(p, "XForwardedFor_SLBIP", self.slb_ip.as_ref());
        on_off(p, "XForwardedFor_SLBPORT", self.slb_port.as_ref());
        on_off(p, "XForwardedFor_proto", self.proto.as_ref());
    }
}

/// The listener a request is for, which decides the names and the subset of [`ListenerAttributes`] it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tcp,
    Udp,
    Http,
    Https,
}

impl Kind {
    fn layer4(self) -> bool {
        matches!(self, Kind::Tcp | Kind::Udp)
    }
}

/// Whether a request creates the listener or changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    Set,
}

/// The scheduling, health-check, session, timeout and access-control attributes shared by the create and set
/// actions of every listener protocol: one value serves all eight. Each action sends the fields its protocol has,
/// under the names it takes (see the module docs), and never the others: `health_check_req` on a TCP listener,
/// say, is not sent. `None` sends nothing, except where creation requires a value (below).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerAttributes {
    /// `Scheduler`.
    pub scheduler: Option<Scheduler>,
    /// `HealthCheckSwitch` (TCP, UDP) or `HealthCheck` (HTTP, HTTPS: required at creation, `off` when `None` as
    /// the incumbent CCM does).
    pub health_check: Option<OnOff>,
    /// `HealthCheckType`, `tcp` or `http` (TCP).
    pub health_check_type: Option<HealthCheckType>,
    /// `HealthCheckConnectPort`.
    pub health_check_connect_port: Option<u16>,
    /// `HealthCheckConnectTimeout` (1–300 s; TCP, UDP).
    pub health_check_connect_timeout: Option<u32>,
    /// `healthCheckInterval` when creating a TCP or UDP listener, `HealthCheckInterval` otherwise (1–50 s).
    pub health_check_interval: Option<u32>,
    /// `HealthyThreshold` (2–10).
    pub healthy_threshold: Option<u32>,
    /// `UnhealthyThreshold` (2–10).
    pub unhealthy_threshold: Option<u32>,
    /// `HealthCheckDomain` (HTTP checks: TCP, HTTP, HTTPS).
    pub health_check_domain: Option<String>,
    /// `HealthCheckURI` (HTTP checks: TCP, HTTP, HTTPS).
    pub health_check_uri: Option<String>,
    /// `HealthCheckHttpCode`, `http_2xx,http_3xx,…` (HTTP checks: TCP, HTTP, HTTPS).
    pub health_check_http_code: Option<String>,
    /// `HealthCheckMethod` (HTTP, HTTPS).
    pub health_check_method: Option<HealthCheckMethod>,
    /// `HealthCheckTimeout` (1–300 s; HTTP, HTTPS).
    pub health_check_timeout: Option<u32>,
    /// `healthCheckReq`: the probe payload (lower-case in both UDP actions).
    pub health_check_req: Option<String>,
    /// `healthCheckExp`: the expected answer (lower-case in both UDP actions).
    pub health_check_exp: Option<String>,
    /// `PersistenceTimeout` (0–3600 s; 0 turns session persistence off; TCP).
    pub persistence_timeout: Option<u32>,
    /// `EstablishedTimeout` (10–900 s; TCP).
    pub established_timeout: Option<u32>,
    /// `ConnectionDrain` (TCP).
    pub connection_drain: Option<OnOff>,
    /// `ConnectionDrainTimeout` (10–900 s; TCP).
    pub connection_drain_timeout: Option<u32>,
    /// `ProxyProtocolV2Enabled` (TCP, UDP).
    pub proxy_protocol_v2_enabled: Option<bool>,
    /// `StickySession` (HTTP, HTTPS: required at creation, `off` when `None` as the incumbent CCM does).
    pub sticky_session: Option<OnOff>,
    /// `StickySessionType` (required when sticky sessions are on; HTTP, HTTPS).
    pub sticky_session_type: Option<StickySessionType>,
    /// `Cookie` (with `server`; HTTP, HTTPS).
    pub cookie: Option<String>,
    /// `CookieTimeout` (with `insert`; 1–86400 s; HTTP, HTTPS).
    pub cookie_timeout: Option<u32>,
    /// `Gzip` (HTTP, HTTPS).
    pub gzip: Option<OnOff>,
    /// `IdleTimeout` (1–60 s; HTTP, HTTPS).
    pub idle_timeout: Option<u32>,
    /// `RequestTimeout` (1–180 s; HTTP, HTTPS).
    pub request_timeout: Option<u32>,
    /// `XForwardedFor*` (HTTP, HTTPS).
    pub x_forwarded_for: XForwardedFor,
    /// `AclStatus`.
    pub acl_status: Option<OnOff>,
    /// `AclId`.
    pub acl_id: Option<String>,
    /// `AclType`.
    pub acl_type: Option<AclType>,
}

impl ListenerAttributes {
    fn to_params(&self, p: &mut Params, kind: Kind, action: Action) {
        p.opt_str("Scheduler", self.scheduler.as_ref().map(Scheduler::as_str));
        let interval =
            if kind.layer4() && action == Action::Create { "healthCheckInterval" } else { "HealthCheckInterval" };
        p.opt(interval, self.health_check_interval)
            .opt("HealthCheckConnectPort", self.health_check_connect_port)
            .opt("HealthyThreshold", self.healthy_threshold)
            .opt("UnhealthyThreshold", self.unhealthy_threshold);
        if kind != Kind::Udp {
            p.opt_str("HealthCheckDomain", self.health_check_domain.as_deref())
                .opt_str("HealthCheckURI", self.health_check_uri.as_deref())
                .opt_str("HealthCheckHttpCode", self.health_check_http_code.as_deref());
        }
        match kind {
            Kind::Tcp | Kind::Udp => self.layer4_params(p, kind),
            Kind::Http | Kind::Https => self.layer7_params(p, action),
        }
        on_off(p, "AclStatus", self.acl_status.as_ref());
        p.opt_str("AclId", self.acl_id.as_deref()).opt_str("AclType", self.acl_type.as_ref().map(AclType::as_str));
    }

    fn layer4_params(&self, p: &mut Params, kind: Kind) {
        on_off(p, "HealthCheckSwitch", self.health_check.as_ref());
        p.opt("HealthCheckConnectTimeout", self.health_check_connect_timeout)
            .opt("ProxyProtocolV2Enabled", self.proxy_protocol_v2_enabled);
        if kind == Kind::Tcp {
            p.opt_str("HealthCheckType", self.health_check_type.as_ref().map(HealthCheckType::as_str))
                .opt("PersistenceTimeout", self.persistence_timeout)
                .opt("EstablishedTimeout", self.established_timeout)
                .opt("ConnectionDrainTimeout", self.connection_drain_timeout);
            on_off(p, "ConnectionDrain", self.connection_drain.as_ref());
        } else {
            p.opt_str("healthCheckReq", self.health_check_req.as_deref())
                .opt_str("healthCheckExp", self.health_check_exp.as_deref());
        }
    }

    fn layer7_params(&self, p: &mut Params, action: Action) {
        if action == Action::Create {
            // Required at creation.
            p.set("HealthCheck", self.health_check.clone().unwrap_or_default().as_str())
                .set("StickySession", self.sticky_session.clone().unwrap_or_default().as_str());
        } else {
            on_off(p, "HealthCheck", self.health_check.as_ref());
            on_off(p, "StickySession", self.sticky_session.as_ref());
        }
        p.opt_str("HealthCheckMethod", self.health_check_method.as_ref().map(HealthCheckMethod::as_str))
            .opt("HealthCheckTimeout", self.health_check_timeout)
            .opt_str("StickySessionType", self.sticky_session_type.as_ref().map(StickySessionType::as_str))
            .opt_str("Cookie", self.cookie.as_deref())
            .opt("CookieTimeout", self.cookie_timeout)
            .opt_str("Gzip", self.gzip.as_ref().map(OnOff::as_str))
            .opt("IdleTimeout", self.idle_timeout)
            .opt("RequestTimeout", self.request_timeout);
        self.x_forwarded_for.to_params(p);
    }
}

/// The certificate and TLS parameters of HTTPS listeners (create and set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpsSettings {
    /// `ServerCertificateId` (the incumbent's `cert-id` annotation).
    pub server_certificate_id: Option<String>,
    /// `CACertificateId`: mutual TLS.
    pub ca_certificate_id: Option<String>,
    /// `EnableHttp2`.
    pub enable_http2: Option<OnOff>,
    /// `TLSCipherPolicy` (`tls_cipher_policy_1_0` … `tls_cipher_policy_1_2_strict_with_1_3`).
    pub tls_cipher_policy: Option<String>,
}

impl HttpsSettings {
    fn to_params(&self, p: &mut Params) {
        p.opt_str("ServerCertificateId", self.server_certificate_id.as_deref())
            .opt_str("CACertificateId", self.ca_certificate_id.as_deref())
            .opt_str("TLSCipherPolicy", self.tls_cipher_policy.as_deref());
        on_off(p, "EnableHttp2", self.enable_http2.as_ref());
    }
}

/// Declares a listener creation request: the fields every protocol's creation has, those of `$extra`, and
/// [`ListenerAttributes`]. Listeners are created stopped: start them with [`StartLoadBalancerListener`].
macro_rules! create_listener {
    (
        $(#[$meta:meta])* $name:ident, $action:literal, $kind:expr, bandwidth required: $required:literal,
        { $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)? },
        |$this:ident, $p:ident| $extra:block
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            /// `LoadBalancerId`.
            pub load_balancer_id: String,
            /// `ListenerPort`: the frontend port.
            pub listener_port: u16,
            /// `Bandwidth`: Mbit/s, or -1 for unlimited (required for all but HTTP: `None` then sends
            /// [`UNLIMITED_BANDWIDTH`]).
            pub bandwidth: Option<i32>,
            /// `BackendServerPort`: required unless `vserver_group_id` is set.
            pub backend_server_port: Option<u16>,
            /// `VServerGroupId`.
            pub vserver_group_id: Option<String>,
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Scheduling, health checks, sessions, timeouts, access control.
            pub attributes: ListenerAttributes,
            /// `Description`; the incumbent CCM marks its listeners `k8s/<port>/<svc>/<ns>/<clusterID>`.
            pub description: Option<String>,
            /// `Tag.N.Key` / `Tag.N.Value`.
            pub tags: Vec<Tag>,
        }

        impl ApiRequest for $name {
            type Response = RequestIdResponse;
            const PRODUCT: Product = Product::Slb;
            const ACTION: &'static str = $action;

            fn to_params(&self, p: &mut Params) {
                p.set("LoadBalancerId", &self.load_balancer_id).set("ListenerPort", self.listener_port.to_string());
                if $required {
                    p.set("Bandwidth", self.bandwidth.unwrap_or(UNLIMITED_BANDWIDTH).to_string());
                } else {
                    p.opt("Bandwidth", self.bandwidth);
                }
                p.opt("BackendServerPort", self.backend_server_port)
                    .opt_str("VServerGroupId", self.vserver_group_id.as_deref())
                    .opt_str("Description", self.description.as_deref())
                    .tags("Tag", &self.tags);
                self.attributes.to_params(p, $kind, Action::Create);
                let ($this, $p) = (self, p);
                $extra
            }
        }
    };
}

/// Declares a listener change request: the fields every protocol's change has, those of `$extra`, and
/// [`ListenerAttributes`]. Only the given values change; repeating the call leaves the same configuration.
macro_rules! set_listener {
    (
        $(#[$meta:meta])* $name:ident, $action:literal, $kind:expr,
        { $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)? },
        |$this:ident, $p:ident| $extra:block
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            /// `LoadBalancerId`.
            pub load_balancer_id: String,
            /// `ListenerPort`.
            pub listener_port: u16,
            /// `Bandwidth`.
            pub bandwidth: Option<i32>,
            /// `VServerGroup`: `on` to forward to `vserver_group_id` (the incumbent CCM always sends `on` with an
            /// ID).
            pub vserver_group: Option<OnOff>,
            /// `VServerGroupId`.
            pub vserver_group_id: Option<String>,
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Scheduling, health checks, sessions, timeouts, access control.
            pub attributes: ListenerAttributes,
            /// `Description`.
            pub description: Option<String>,
        }

        impl ApiRequest for $name {
            type Response = RequestIdResponse;
            const PRODUCT: Product = Product::Slb;
            const ACTION: &'static str = $action;

            fn to_params(&self, p: &mut Params) {
                p.set("LoadBalancerId", &self.load_balancer_id)
                    .set("ListenerPort", self.listener_port.to_string())
                    .opt("Bandwidth", self.bandwidth)
                    .opt_str("VServerGroup", self.vserver_group.as_ref().map(OnOff::as_str))
                    .opt_str("VServerGroupId", self.vserver_group_id.as_deref())
                    .opt_str("Description", self.description.as_deref());
                self.attributes.to_params(p, $kind, Action::Set);
                let ($this, $p) = (self, p);
                $extra
            }

            /// Sets target values: repeating the call leaves the same configuration.
            fn idempotent(&self) -> bool {
                true
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------------------------
// TCP

create_listener! {
    /// Creates a TCP listener (`CreateLoadBalancerTCPListener`).
    CreateLoadBalancerTcpListener, "CreateLoadBalancerTCPListener", Kind::Tcp, bandwidth required: true,
    {
        /// `MasterSlaveServerGroupId`.
        master_slave_server_group_id: Option<String>,
    },
    |r, p| { p.opt_str("MasterSlaveServerGroupId", r.master_slave_server_group_id.as_deref()); }
}

set_listener! {
    /// Changes a TCP listener (`SetLoadBalancerTCPListenerAttribute`).
    SetLoadBalancerTcpListenerAttribute, "SetLoadBalancerTCPListenerAttribute", Kind::Tcp,
    {
        /// `MasterSlaveServerGroup`.
        master_slave_server_group: Option<OnOff>,
        /// `MasterSlaveServerGroupId`.
        master_slave_server_group_id: Option<String>,
        /// `SynProxy` (`enable`/`disable`).
        syn_proxy: Option<String>,
    },
    |r, p| {
        on_off(p, "MasterSlaveServerGroup", r.master_slave_server_group.as_ref());
        p.opt_str("MasterSlaveServerGroupId", r.master_slave_server_group_id.as_deref())
            .opt_str("SynProxy", r.syn_proxy.as_deref());
    }
}

// ---------------------------------------------------------------------------------------------------------------
// UDP

create_listener! {
    /// Creates a UDP listener (`CreateLoadBalancerUDPListener`).
    CreateLoadBalancerUdpListener, "CreateLoadBalancerUDPListener", Kind::Udp, bandwidth required: true,
    {
        /// `MasterSlaveServerGroupId`.
        master_slave_server_group_id: Option<String>,
    },
    |r, p| { p.opt_str("MasterSlaveServerGroupId", r.master_slave_server_group_id.as_deref()); }
}

set_listener! {
    /// Changes a UDP listener (`SetLoadBalancerUDPListenerAttribute`).
    SetLoadBalancerUdpListenerAttribute, "SetLoadBalancerUDPListenerAttribute", Kind::Udp,
    {
        /// `MasterSlaveServerGroup`.
        master_slave_server_group: Option<OnOff>,
        /// `MasterSlaveServerGroupId`.
        master_slave_server_group_id: Option<String>,
    },
    |r, p| {
        on_off(p, "MasterSlaveServerGroup", r.master_slave_server_group.as_ref());
        p.opt_str("MasterSlaveServerGroupId", r.master_slave_server_group_id.as_deref());
    }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP and HTTPS

create_listener! {
    /// Creates an HTTP listener (`CreateLoadBalancerHTTPListener`).
    CreateLoadBalancerHttpListener, "CreateLoadBalancerHTTPListener", Kind::Http, bandwidth required: false,
    {
        /// `ListenerForward`: `on` to redirect to HTTPS on `forward_port` (fixed at creation).
        listener_forward: Option<OnOff>,
        /// `ForwardPort`.
        forward_port: Option<u16>,
    },
    |r, p| {
        on_off(p, "ListenerForward", r.listener_forward.as_ref());
        p.opt("ForwardPort", r.forward_port);
    }
}

create_listener! {
    /// Creates an HTTPS listener (`CreateLoadBalancerHTTPSListener`).
    CreateLoadBalancerHttpsListener, "CreateLoadBalancerHTTPSListener", Kind::Https, bandwidth required: true,
    {
        /// Certificates and TLS.
        https: HttpsSettings,
    },
    |r, p| { r.https.to_params(p); }
}

set_listener! {
    /// Changes an HTTP listener (`SetLoadBalancerHTTPListenerAttribute`). Forwarding (`ListenerForward`) cannot
    /// be changed here: the listener must be recreated.
    SetLoadBalancerHttpListenerAttribute, "SetLoadBalancerHTTPListenerAttribute", Kind::Http, {}, |_r, _p| {}
}

set_listener! {
    /// Changes an HTTPS listener (`SetLoadBalancerHTTPSListenerAttribute`), including its certificates.
    SetLoadBalancerHttpsListenerAttribute, "SetLoadBalancerHTTPSListenerAttribute", Kind::Https,
    {
        /// Certificates and TLS.
        https: HttpsSettings,
    },
    |r, p| { r.https.to_params(p); }
}

// ---------------------------------------------------------------------------------------------------------------
// Describe one listener, start, stop, delete

/// Declares a `Describe*ListenerAttribute` request: one listener by load balancer and port (a read).
macro_rules! describe_listener {
    ($(#[$meta:meta])* $name:ident, $action:literal, $response:ty) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            /// `LoadBalancerId`.
            pub load_balancer_id: String,
            /// `ListenerPort`.
            pub listener_port: u16,
        }

        impl $name {
            /// Describes the listener on `listener_port` of `load_balancer_id`.
            pub fn new(load_balancer_id: impl Into<String>, listener_port: u16) -> Self {
                Self { load_balancer_id: load_balancer_id.into(), listener_port }
            }
        }

        impl ApiRequest for $name {
            type Response = $response;
            const PRODUCT: Product = Product::Slb;
            const ACTION: &'static str = $action;

            fn to_params(&self, p: &mut Params) {
                p.set("LoadBalancerId", &self.load_balancer_id).set("ListenerPort", self.listener_port.to_string());
            }
        }
    };
}

/// Declares a request addressed to one listener by load balancer, port and optional protocol.
macro_rules! listener_request_with_protocol {
    (
        $(#[$meta:meta])*
        $name:ident, $action:literal, idempotent: $idempotent:expr, $idempotent_why:literal
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            /// `LoadBalancerId`.
            pub load_balancer_id: String,
            /// `ListenerPort`.
            pub listener_port: u16,
            /// `ListenerProtocol`: needed when the port has listeners of several protocols.
            pub listener_protocol: Option<ListenerProtocol>,
        }

        impl $name {
            /// Addresses the listener on `listener_port` of `load_balancer_id` with `protocol`.
            pub fn new(load_balancer_id: impl Into<String>, listener_port: u16, protocol: ListenerProtocol) -> Self {
                Self { load_balancer_id: load_balancer_id.into(), listener_port, listener_protocol: Some(protocol) }
            }
        }

        impl ApiRequest for $name {
            type Response = RequestIdResponse;
            const PRODUCT: Product = Product::Slb;
            const ACTION: &'static str = $action;

            fn to_params(&self, p: &mut Params) {
                p.set("LoadBalancerId", &self.load_balancer_id)
                    .set("ListenerPort", self.listener_port.to_string())
                    .opt_str("ListenerProtocol", self.listener_protocol.as_ref().map(ListenerProtocol::as_str));
            }

            #[doc = $idempotent_why]
            fn idempotent(&self) -> bool {
                $idempotent
            }
        }
    };
}

listener_request_with_protocol! {
    /// Starts a listener (`StartLoadBalancerListener`); new listeners are stopped until started.
    StartLoadBalancerListener, "StartLoadBalancerListener", idempotent: true,
    "Asks for a target state: repeating it leaves the listener running (unverified whether the server answers a repeat with an error)."
}

listener_request_with_protocol! {
    /// Stops a listener (`StopLoadBalancerListener`).
    StopLoadBalancerListener, "StopLoadBalancerListener", idempotent: true,
    "Asks for a target state: repeating it leaves the listener stopped (unverified whether the server answers a repeat with an error)."
}

listener_request_with_protocol! {
    /// Deletes a listener (`DeleteLoadBalancerListener`).
    DeleteLoadBalancerListener, "DeleteLoadBalancerListener", idempotent: false,
    "Not retried: a repeat after a lost answer fails because the listener is gone."
}

describe_listener! {
    /// Describes a TCP listener (`DescribeLoadBalancerTCPListenerAttribute`).
    DescribeLoadBalancerTcpListenerAttribute, "DescribeLoadBalancerTCPListenerAttribute",
    DescribeLoadBalancerTcpListenerAttributeResponse
}

describe_listener! {
    /// Describes a UDP listener (`DescribeLoadBalancerUDPListenerAttribute`).
    DescribeLoadBalancerUdpListenerAttribute, "DescribeLoadBalancerUDPListenerAttribute",
    DescribeLoadBalancerUdpListenerAttributeResponse
}

describe_listener! {
    /// Describes an HTTP listener (`DescribeLoadBalancerHTTPListenerAttribute`).
    DescribeLoadBalancerHttpListenerAttribute, "DescribeLoadBalancerHTTPListenerAttribute",
    DescribeLoadBalancerHttpListenerAttributeResponse
}

describe_listener! {
    /// Describes an HTTPS listener (`DescribeLoadBalancerHTTPSListenerAttribute`).
    DescribeLoadBalancerHttpsListenerAttribute, "DescribeLoadBalancerHTTPSListenerAttribute",
    DescribeLoadBalancerHttpsListenerAttributeResponse
}

/// Response of [`DescribeLoadBalancerTcpListenerAttribute`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeLoadBalancerTcpListenerAttributeResponse {
    /// Request ID.
    pub request_id: String,
    /// Port, status, scheduler, server group, ACL, description.
    #[serde(flatten)]
    pub listener: Listener,
    /// TCP settings.
    #[serde(flatten)]
    pub config: TcpListenerConfig,
    /// `SynProxy`.
    pub syn_proxy: String,
    /// `MaxConnection`.
    #[serde(deserialize_with = "lenient::number")]
    pub max_connection: u32,
}

/// Response of [`DescribeLoadBalancerUdpListenerAttribute`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeLoadBalancerUdpListenerAttributeResponse {
    /// Request ID.
    pub request_id: String,
    /// Port, status, scheduler, server group, ACL, description.
    #[serde(flatten)]
    pub listener: Listener,
    /// UDP settings.
    #[serde(flatten)]
    pub config: UdpListenerConfig,
}

/// Response of [`DescribeLoadBalancerHttpListenerAttribute`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeLoadBalancerHttpListenerAttributeResponse {
    /// Request ID.
    pub request_id: String,
    /// Port, status, scheduler, server group, ACL, description.
    #[serde(flatten)]
    pub listener: Listener,
    /// HTTP settings.
    #[serde(flatten)]
    pub config: HttpListenerConfig,
}

/// Response of [`DescribeLoadBalancerHttpsListenerAttribute`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeLoadBalancerHttpsListenerAttributeResponse {
    /// Request ID.
    pub request_id: String,
    /// Port, status, scheduler, server group, ACL, description.
    #[serde(flatten)]
    pub listener: Listener,
    /// HTTPS settings.
    #[serde(flatten)]
    pub config: HttpsListenerConfig,
    /// Additional certificates (`DomainExtensions.DomainExtension[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub domain_extensions: Vec<DomainExtension>,
}

// ---------------------------------------------------------------------------------------------------------------
// DescribeLoadBalancerListeners

/// Lists listeners of one or more load balancers (`DescribeLoadBalancerListeners`), a page at a time with
/// `NextToken`; walk every page with [`crate::Client::collect_next_token`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeLoadBalancerListeners {
    /// `LoadBalancerId.N` (up to 10).
    pub load_balancer_ids: Vec<String>,
    /// `ListenerPort` filter.
    pub listener_port: Option<u16>,
    /// `ListenerProtocol` filter.
    pub listener_protocol: Option<ListenerProtocol>,
    /// `Description` filter.
    pub description: Option<String>,
    /// `Tag.N.Key` / `Tag.N.Value` filter.
    pub tags: Vec<Tag>,
    /// `MaxResults` (1–100, default 20; the incumbent CCM asks for 50).
    pub max_results: Option<u32>,
    /// `NextToken` from the previous page.
    pub next_token: Option<String>,
}

impl DescribeLoadBalancerListeners {
    /// Lists the listeners of `load_balancer_id`, 100 a page.
    pub fn of(load_balancer_id: impl Into<String>) -> Self {
        Self { load_balancer_ids: vec![load_balancer_id.into()], max_results: Some(100), ..Self::default() }
    }
}

impl ApiRequest for DescribeLoadBalancerListeners {
    type Response = DescribeLoadBalancerListenersResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "DescribeLoadBalancerListeners";

    fn to_params(&self, p: &mut Params) {
        p.repeat("LoadBalancerId", self.load_balancer_ids.iter().filter(|id| !id.is_empty()))
            .opt("ListenerPort", self.listener_port)
            .opt_str("ListenerProtocol", self.listener_protocol.as_ref().map(ListenerProtocol::as_str))
            .opt_str("Description", self.description.as_deref())
            .tags("Tag", &self.tags)
            .opt("MaxResults", self.max_results)
            .opt_str("NextToken", self.next_token.as_deref());
    }
}

impl NextTokenRequest for DescribeLoadBalancerListeners {
    fn set_next_token(&mut self, token: Option<String>) {
        self.next_token = token;
    }
}

/// Response of [`DescribeLoadBalancerListeners`]. `Listeners` is a flat JSON array on this action (a wrapped
/// `{"Listener":[…]}` is accepted as well).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeLoadBalancerListenersResponse {
    /// Request ID.
    pub request_id: String,
    /// Number of listeners over all pages.
    #[serde(deserialize_with = "lenient::number")]
    pub total_count: u64,
    /// Page size used.
    #[serde(deserialize_with = "lenient::number")]
    pub max_results: u32,
    /// Token of the next page; empty on the last.
    #[serde(deserialize_with = "lenient::string")]
    pub next_token: String,
    /// The listeners.
    #[serde(deserialize_with = "lenient::list")]
    pub listeners: Vec<Listener>,
}

impl NextTokenPage for DescribeLoadBalancerListenersResponse {
    type Item = Listener;

    fn next_token(&self) -> Option<&str> {
        Some(self.next_token.as_str()).filter(|t| !t.is_empty())
    }

    fn into_items(self) -> Vec<Listener> {
        self.listeners
    }
}

/// One listener as `DescribeLoadBalancerListeners` lists it (also the common part of the
/// `Describe*ListenerAttribute` responses, where `load_balancer_id`, `listener_protocol` and the per-protocol
/// configs are empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Listener {
    /// Load balancer ID.
    pub load_balancer_id: String,
    /// Frontend port.
    #[serde(deserialize_with = "lenient::number")]
    pub listener_port: u16,
    /// Protocol.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub listener_protocol: Option<ListenerProtocol>,
    /// Backend port (0 when a vServer group is used).
    #[serde(deserialize_with = "lenient::number")]
    pub backend_server_port: u16,
    /// `running`, `stopped`, ….
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub status: Option<ListenerStatus>,
    /// Bandwidth limit (-1: unlimited).
    #[serde(deserialize_with = "lenient::number")]
    pub bandwidth: i32,
    /// Scheduler.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub scheduler: Option<Scheduler>,
    /// vServer group the listener forwards to.
    #[serde(rename = "VServerGroupId")]
    pub vserver_group_id: String,
    /// Description (the incumbent's ownership key `k8s/<port>/<svc>/<ns>/<clusterID>`).
    pub description: String,
    /// Whether access control is on.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub acl_status: Option<OnOff>,
    /// `white` or `black`.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub acl_type: Option<AclType>,
    /// ACL ID.
    pub acl_id: String,
    /// ACL IDs (a listener may have several).
    #[serde(deserialize_with = "lenient::string_list")]
    pub acl_ids: Vec<String>,
    /// Tags.
    #[serde(deserialize_with = "lenient::list")]
    pub tags: Vec<ResourceTag>,
    /// TCP settings (`TCPListenerConfig`, TCP listeners only).
    #[serde(rename = "TCPListenerConfig")]
    pub tcp_listener_config: Option<TcpListenerConfig>,
    /// UDP settings (`UDPListenerConfig`).
    #[serde(rename = "UDPListenerConfig")]
    pub udp_listener_config: Option<UdpListenerConfig>,
    /// HTTP settings (`HTTPListenerConfig`).
    #[serde(rename = "HTTPListenerConfig")]
    pub http_listener_config: Option<HttpListenerConfig>,
    /// HTTPS settings (`HTTPSListenerConfig`).
    #[serde(rename = "HTTPSListenerConfig")]
    pub https_listener_config: Option<HttpsListenerConfig>,
}

/// Settings of a TCP listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TcpListenerConfig {
    /// Whether health checks are on (`HealthCheck`).
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub health_check: Option<OnOff>,
    /// `tcp` or `http`.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub health_check_type: Option<HealthCheckType>,
    /// Health check port.
    #[serde(deserialize_with = "lenient::number")]
    pub health_check_connect_port: u16,
    /// Health check timeout (s).
    #[serde(deserialize_with = "lenient::number")]
    pub health_check_connect_timeout: u32,
    /// Health check interval (s).
    #[serde(deserialize_with = "lenient::number")]
    pub health_check_interval: u32,
    /// Healthy threshold.
    #[serde(deserialize_with = "lenient::number")]
    pub healthy_threshold: u32,
    /// Unhealthy threshold.
    #[serde(deserialize_with = "lenient::number")]
    pub unhealthy_threshold: u32,
    /// HTTP health check domain.
    pub health_check_domain: String,
    /// HTTP health check path.
    #[serde(rename = "HealthCheckURI")]
    pub health_check_uri: String,
    /// HTTP health check success codes.
    pub health_check_http_code: String,
    /// HTTP health check method.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub health_check_method: Option<HealthCheckMethod>,
    /// Session persistence timeout (s; 0: off).
    #[serde(deserialize_with = "lenient::number")]
    pub persistence_timeout: u32,
    /// Connection idle timeout (s).
    #[serde(deserialize_with = "lenient::number")]
    pub established_timeout: u32,
    /// Connection draining.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub connection_drain: Option<OnOff>,
    /// Connection draining timeout (s).
    #[serde(deserialize_with = "lenient::number")]
    pub connection_drain_timeout: u32,
    /// Primary/secondary server group.
    pub master_slave_server_group_id: String,
    /// PROXY protocol v2.
    #[serde(deserialize_with = "lenient::boolean")]
    pub proxy_protocol_v2_enabled: bool,
}

/// Settings of a UDP listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UdpListenerConfig {
    /// Whether health checks are on.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub health_check: Option<OnOff>,
    /// Health check port.
    #[serde(deserialize_with = "lenient::number")]
    pub health_check_connect_port: u16,
    /// Health check timeout (s).
    #[serde(deserialize_with = "lenient::number")]
    pub health_check_connect_timeout: u32,
    /// Health check interval (s).
    #[serde(deserialize_with = "lenient::number")]
    pub health_check_interval: u32,
    /// Healthy threshold.
    #[serde(deserialize_with = "lenient::number")]
    pub healthy_threshold: u32,
    /// Unhealthy threshold.
    #[serde(deserialize_with = "lenient::number")]
    pub unhealthy_threshold: u32,
    /// Health check request payload (capitalised in responses).
    pub health_check_req: String,
    /// Expected health check answer (capitalised in responses).
    pub health_check_exp: String,
    /// Connection draining.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub connection_drain: Option<OnOff>,
    /// Connection draining timeout (s).
    #[serde(deserialize_with = "lenient::number")]
    pub connection_drain_timeout: u32,
    /// Primary/secondary server group.
    pub master_slave_server_group_id: String,
    /// PROXY protocol v2.
    #[serde(deserialize_with = "lenient::boolean")]
    pub proxy_protocol_v2_enabled: bool,
}

/// Settings of an HTTP listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HttpListenerConfig {
    /// Whether health checks are on.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub health_check: Option<OnOff>,
    /// Health check protocol.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub health_check_type: Option<HealthCheckType>,
    /// Health check port.
    #[serde(deserialize_with = "lenient::number")]
    pub health_check_connect_port: u16,
    /// Health check domain.
    pub health_check_domain: String,
    /// Health check path.
    #[serde(rename = "HealthCheckURI")]
    pub health_check_uri: String,
    /// Health check success codes.
    pub health_check_http_code: String,
    /// Health check HTTP version.
    pub health_check_http_version: String,
    /// Health check interval (s).
    #[serde(deserialize_with = "lenient::number")]
    pub health_check_interval: u32,
    /// Health check method.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub health_check_method: Option<HealthCheckMethod>,
    /// Health check timeout (s).
    #[serde(deserialize_with = "lenient::number")]
    pub health_check_timeout: u32,
    /// Healthy threshold.
    #[serde(deserialize_with = "lenient::number")]
    pub healthy_threshold: u32,
    /// Unhealthy threshold.
    #[serde(deserialize_with = "lenient::number")]
    pub unhealthy_threshold: u32,
    /// Sticky sessions.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub sticky_session: Option<OnOff>,
    /// Sticky session kind.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub sticky_session_type: Option<StickySessionType>,
    /// Server cookie name.
    pub cookie: String,
    /// Inserted cookie lifetime (s).
    #[serde(deserialize_with = "lenient::number")]
    pub cookie_timeout: u32,
    /// Gzip.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub gzip: Option<OnOff>,
    /// Idle timeout (s).
    #[serde(deserialize_with = "lenient::number")]
    pub idle_timeout: u32,
    /// Request timeout (s).
    #[serde(deserialize_with = "lenient::number")]
    pub request_timeout: u32,
    /// HTTP-to-HTTPS redirect.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub listener_forward: Option<OnOff>,
    /// Redirect target port.
    #[serde(deserialize_with = "lenient::number")]
    pub forward_port: u16,
    /// `X-Forwarded-*` headers.
    #[serde(flatten)]
    pub x_forwarded_for: XForwardedFor,
}

/// Settings of an HTTPS listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HttpsListenerConfig {
    /// Server certificate.
    pub server_certificate_id: String,
    /// CA certificate (mutual TLS).
    #[serde(rename = "CACertificateId")]
    pub ca_certificate_id: String,
    /// HTTP/2.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub enable_http2: Option<OnOff>,
    /// TLS policy.
    #[serde(rename = "TLSCipherPolicy")]
    pub tls_cipher_policy: String,
    /// Whether health checks are on.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub health_check: Option<OnOff>,
    /// Health check protocol.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub health_check_type: Option<HealthCheckType>,
    /// Health check port.
    #[serde(deserialize_with = "lenient::number")]
    pub health_check_connect_port: u16,
    /// Health check domain.
    pub health_check_domain: String,
    /// Health check path.
    #[serde(rename = "HealthCheckURI")]
    pub health_check_uri: String,
    /// Health check success codes.
    pub health_check_http_code: String,
    /// Health check HTTP version.
    pub health_check_http_version: String,
    /// Health check interval (s).
    #[serde(deserialize_with = "lenient::number")]
    pub health_check_interval: u32,
    /// Health check method.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub health_check_method: Option<HealthCheckMethod>,
    /// Health check timeout (s).
    #[serde(deserialize_with = "lenient::number")]
    pub health_check_timeout: u32,
    /// Healthy threshold.
    #[serde(deserialize_with = "lenient::number")]
    pub healthy_threshold: u32,
    /// Unhealthy threshold.
    #[serde(deserialize_with = "lenient::number")]
    pub unhealthy_threshold: u32,
    /// Sticky sessions.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub sticky_session: Option<OnOff>,
    /// Sticky session kind.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub sticky_session_type: Option<StickySessionType>,
    /// Server cookie name.
    pub cookie: String,
    /// Inserted cookie lifetime (s).
    #[serde(deserialize_with = "lenient::number")]
    pub cookie_timeout: u32,
    /// Gzip.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub gzip: Option<OnOff>,
    /// Idle timeout (s).
    #[serde(deserialize_with = "lenient::number")]
    pub idle_timeout: u32,
    /// Request timeout (s).
    #[serde(deserialize_with = "lenient::number")]
    pub request_timeout: u32,
    /// `X-Forwarded-*` headers.
    #[serde(flatten)]
    pub x_forwarded_for: XForwardedFor,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<R: ApiRequest>(r: &R) -> Vec<(String, String)> {
        let mut p = Params::new();
        r.to_params(&mut p);
        p.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        v.sort();
        v
    }

    #[test]
    fn create_tcp_listener_uses_lower_case_health_check_interval() {
        let r = CreateLoadBalancerTcpListener {
            load_balancer_id: "lb-1".into(),
            listener_port: 80,
            vserver_group_id: Some("rsp-1".into()),
            attributes: ListenerAttributes {
                scheduler: Some(Scheduler::Rr),
                health_check: Some(OnOff::On),
                health_check_type: Some(HealthCheckType::Tcp),
                health_check_interval: Some(5),
                health_check_connect_timeout: Some(3),
                healthy_threshold: Some(3),
                unhealthy_threshold: Some(2),
                persistence_timeout: Some(0),
                proxy_protocol_v2_enabled: Some(true),
                acl_status: Some(OnOff::On),
                acl_id: Some("acl-1".into()),
                acl_type: Some(AclType::White),
                ..Default::default()
            },
            description: Some("k8s/80/web/default/c1".into()),
            ..Default::default()
        };
        let got = params(&r);
        assert_eq!(
            got,
            pairs(&[
                ("AclId", "acl-1"),
                ("AclStatus", "on"),
                ("AclType", "white"),
                ("Bandwidth", "-1"),
                ("Description", "k8s/80/web/default/c1"),
                ("HealthCheckConnectTimeout", "3"),
                ("HealthCheckSwitch", "on"),
                ("HealthCheckType", "tcp"),
                ("HealthyThreshold", "3"),
                ("ListenerPort", "80"),
                ("LoadBalancerId", "lb-1"),
                ("PersistenceTimeout", "0"),
                ("ProxyProtocolV2Enabled", "true"),
                ("Scheduler", "rr"),
                ("UnhealthyThreshold", "2"),
                ("VServerGroupId", "rsp-1"),
                ("healthCheckInterval", "5"),
            ])
        );
        // Byte order puts the lower-case name last, after every capitalised one.
        assert_eq!(got.last().map(|(k, _)| k.as_str()), Some("healthCheckInterval"));
        assert_eq!(CreateLoadBalancerTcpListener::ACTION, "CreateLoadBalancerTCPListener");
        assert!(!r.idempotent());
    }

    #[test]
    fn set_tcp_listener_uses_capitalised_health_check_interval() {
        let r = SetLoadBalancerTcpListenerAttribute {
            load_balancer_id: "lb-1".into(),
            listener_port: 80,
            vserver_group: Some(OnOff::On),
            vserver_group_id: Some("rsp-1".into()),
            attributes: ListenerAttributes { health_check_interval: Some(5), ..Default::default() },
            bandwidth: Some(-1),
            ..Default::default()
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("Bandwidth", "-1"),
                ("HealthCheckInterval", "5"),
                ("ListenerPort", "80"),
                ("LoadBalancerId", "lb-1"),
                ("VServerGroup", "on"),
                ("VServerGroupId", "rsp-1"),
            ])
        );
        assert!(r.idempotent());
    }

    #[test]
    fn udp_listener_lower_case_names() {
        let r = CreateLoadBalancerUdpListener {
            load_balancer_id: "lb-1".into(),
            listener_port: 53,
            bandwidth: Some(10),
            backend_server_port: Some(30053),
            attributes: ListenerAttributes {
                health_check_interval: Some(2),
                health_check_req: Some("ping".into()),
                health_check_exp: Some("pong".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("BackendServerPort", "30053"),
                ("Bandwidth", "10"),
                ("ListenerPort", "53"),
                ("LoadBalancerId", "lb-1"),
                ("healthCheckExp", "pong"),
                ("healthCheckInterval", "2"),
                ("healthCheckReq", "ping"),
            ])
        );
        let r = SetLoadBalancerUdpListenerAttribute {
            load_balancer_id: "lb-1".into(),
            listener_port: 53,
            attributes: ListenerAttributes {
                health_check_interval: Some(2),
                health_check_req: Some("ping".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("HealthCheckInterval", "2"),
                ("ListenerPort", "53"),
                ("LoadBalancerId", "lb-1"),
                ("healthCheckReq", "ping"),
            ])
        );
    }

    #[test]
    fn create_http_listener_defaults_and_forwarding() {
        let r = CreateLoadBalancerHttpListener {
            load_balancer_id: "lb-1".into(),
            listener_port: 80,
            listener_forward: Some(OnOff::On),
            forward_port: Some(443),
            attributes: ListenerAttributes {
                x_forwarded_for: XForwardedFor {
                    enabled: Some(OnOff::On),
                    proto: Some(OnOff::On),
                    slb_port: Some(OnOff::Off),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("ForwardPort", "443"),
                ("HealthCheck", "off"),
                ("ListenerForward", "on"),
                ("ListenerPort", "80"),
                ("LoadBalancerId", "lb-1"),
                ("StickySession", "off"),
                ("XForwardedFor", "on"),
                ("XForwardedFor_SLBPORT", "off"),
                ("XForwardedFor_proto", "on"),
            ])
        );
    }

    #[test]
    fn create_https_listener() {
        let r = CreateLoadBalancerHttpsListener {
            load_balancer_id: "lb-1".into(),
            listener_port: 443,
            vserver_group_id: Some("rsp-1".into()),
            https: HttpsSettings {
                server_certificate_id: Some("1231579085529123_166f8204689_1714763408_709981xxx".into()),
                enable_http2: Some(OnOff::On),
                tls_cipher_policy: Some("tls_cipher_policy_1_2".into()),
                ..Default::default()
            },
            attributes: ListenerAttributes {
                health_check: Some(OnOff::On),
                health_check_uri: Some("/healthz".into()),
                health_check_method: Some(HealthCheckMethod::Get),
                health_check_interval: Some(5),
                health_check_timeout: Some(3),
                sticky_session: Some(OnOff::On),
                sticky_session_type: Some(StickySessionType::Insert),
                cookie_timeout: Some(1800),
                idle_timeout: Some(15),
                request_timeout: Some(60),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("Bandwidth", "-1"),
                ("CookieTimeout", "1800"),
                ("EnableHttp2", "on"),
                ("HealthCheck", "on"),
                ("HealthCheckInterval", "5"),
                ("HealthCheckMethod", "get"),
                ("HealthCheckTimeout", "3"),
                ("HealthCheckURI", "/healthz"),
                ("IdleTimeout", "15"),
                ("ListenerPort", "443"),
                ("LoadBalancerId", "lb-1"),
                ("RequestTimeout", "60"),
                ("ServerCertificateId", "1231579085529123_166f8204689_1714763408_709981xxx"),
                ("StickySession", "on"),
                ("StickySessionType", "insert"),
                ("TLSCipherPolicy", "tls_cipher_policy_1_2"),
                ("VServerGroupId", "rsp-1"),
            ])
        );
    }

    #[test]
    fn set_http_and_https_send_only_what_is_given() {
        let r = SetLoadBalancerHttpListenerAttribute {
            load_balancer_id: "lb-1".into(),
            listener_port: 80,
            attributes: ListenerAttributes {
                sticky_session: Some(OnOff::On),
                sticky_session_type: Some(StickySessionType::Server),
                cookie: Some("SESSION".into()),
                ..Default::default()
            },
            description: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("Cookie", "SESSION"),
                ("ListenerPort", "80"),
                ("LoadBalancerId", "lb-1"),
                ("StickySession", "on"),
                ("StickySessionType", "server"),
            ])
        );
        let r = SetLoadBalancerHttpsListenerAttribute {
            load_balancer_id: "lb-1".into(),
            listener_port: 443,
            https: HttpsSettings {
                server_certificate_id: Some("cert-2".into()),
                ca_certificate_id: Some("ca-1".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("CACertificateId", "ca-1"),
                ("ListenerPort", "443"),
                ("LoadBalancerId", "lb-1"),
                ("ServerCertificateId", "cert-2"),
            ])
        );
        assert_eq!(SetLoadBalancerHttpsListenerAttribute::ACTION, "SetLoadBalancerHTTPSListenerAttribute");
    }

    #[test]
    fn attributes_a_protocol_lacks_are_not_sent() {
        let attributes = ListenerAttributes {
            health_check_req: Some("ping".into()),
            health_check_domain: Some("example.com".into()),
            persistence_timeout: Some(10),
            sticky_session: Some(OnOff::On),
            ..Default::default()
        };
        let tcp = SetLoadBalancerTcpListenerAttribute { attributes: attributes.clone(), ..Default::default() };
        let udp = SetLoadBalancerUdpListenerAttribute { attributes: attributes.clone(), ..Default::default() };
        let http = SetLoadBalancerHttpListenerAttribute { attributes, ..Default::default() };
        let names = |p: Vec<(String, String)>| p.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        let common = ["ListenerPort", "LoadBalancerId"];
        assert_eq!(names(params(&tcp)), [&["HealthCheckDomain"][..], &common, &["PersistenceTimeout"]].concat());
        assert_eq!(names(params(&udp)), [&common[..], &["healthCheckReq"]].concat());
        assert_eq!(names(params(&http)), [&["HealthCheckDomain"][..], &common, &["StickySession"]].concat());
    }

    #[test]
    fn start_stop_delete_and_describe_one() {
        let r = StartLoadBalancerListener::new("lb-1", 80, ListenerProtocol::Tcp);
        assert_eq!(
            params(&r),
            pairs(&[("ListenerPort", "80"), ("ListenerProtocol", "tcp"), ("LoadBalancerId", "lb-1")])
        );
        assert!(r.idempotent());
        let r =
            StopLoadBalancerListener { load_balancer_id: "lb-1".into(), listener_port: 80, listener_protocol: None };
        assert_eq!(params(&r), pairs(&[("ListenerPort", "80"), ("LoadBalancerId", "lb-1")]));
        let r = DeleteLoadBalancerListener::new("lb-1", 443, ListenerProtocol::Https);
        assert_eq!(
            params(&r),
            pairs(&[("ListenerPort", "443"), ("ListenerProtocol", "https"), ("LoadBalancerId", "lb-1")])
        );
        assert!(!r.idempotent());
        let r = DescribeLoadBalancerUdpListenerAttribute::new("lb-1", 53);
        assert_eq!(params(&r), pairs(&[("ListenerPort", "53"), ("LoadBalancerId", "lb-1")]));
        assert!(r.idempotent());
        assert_eq!(DescribeLoadBalancerHttpsListenerAttribute::ACTION, "DescribeLoadBalancerHTTPSListenerAttribute");
    }

    #[test]
    fn describe_listeners_pages_by_token() {
        let mut r = DescribeLoadBalancerListeners::of("lb-1");
        r.load_balancer_ids.push("lb-2".into());
        r.listener_protocol = Some(ListenerProtocol::Tcp);
        r.set_next_token(Some("tok-2".into()));
        assert_eq!(
            params(&r),
            pairs(&[
                ("ListenerProtocol", "tcp"),
                ("LoadBalancerId.1", "lb-1"),
                ("LoadBalancerId.2", "lb-2"),
                ("MaxResults", "100"),
                ("NextToken", "tok-2"),
            ])
        );
        r.set_next_token(None);
        assert!(!params(&r).iter().any(|(k, _)| k == "NextToken"));
    }

    #[test]
    fn parses_describe_listeners_flat_array() {
        let body = r#"{
            "RequestId": "CEF72CEB-54B6-4AE8-B225-F876FF7BA984", "TotalCount": 3, "MaxResults": "20", "NextToken": "tok-2",
            "Listeners": [
                {"LoadBalancerId": "lb-1", "ListenerPort": 80, "ListenerProtocol": "tcp", "BackendServerPort": 0,
                 "Status": "running", "Bandwidth": -1, "Scheduler": "rr", "VServerGroupId": "rsp-1",
                 "Description": "k8s/80/web/default/c1", "AclStatus": "off",
                 "TCPListenerConfig": {"HealthCheck": "on", "HealthCheckType": "tcp", "HealthCheckConnectPort": 0,
                    "HealthCheckConnectTimeout": 5, "HealthCheckInterval": 2, "HealthyThreshold": 3,
                    "UnhealthyThreshold": 3, "PersistenceTimeout": 0, "EstablishedTimeout": 900,
                    "ConnectionDrain": "off", "ProxyProtocolV2Enabled": false},
                 "Tags": [{"TagKey": "k", "TagValue": "v"}]},
                {"LoadBalancerId": "lb-1", "ListenerPort": "53", "ListenerProtocol": "udp", "Status": "stopped",
                 "UDPListenerConfig": {"HealthCheck": "on", "HealthCheckReq": "ping", "HealthCheckExp": "pong"}},
                {"LoadBalancerId": "lb-1", "ListenerPort": 443, "ListenerProtocol": "https", "Status": "starting",
                 "AclIds": ["acl-1", "acl-2"],
                 "HTTPSListenerConfig": {"ServerCertificateId": "cert-1", "CACertificateId": "", "EnableHttp2": "on",
                    "TLSCipherPolicy": "tls_cipher_policy_1_0", "HealthCheck": "off", "StickySession": "off",
                    "XForwardedFor": "on", "XForwardedFor_proto": "off", "IdleTimeout": 15, "RequestTimeout": 60}}
            ]
        }"#;
        let r: DescribeLoadBalancerListenersResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.next_token(), Some("tok-2"));
        assert_eq!((r.total_count, r.max_results), (3, 20));
        let ls = r.into_items();
        assert_eq!(ls.len(), 3);
        assert_eq!(ls[0].status, Some(ListenerStatus::Running));
        assert_eq!(ls[0].bandwidth, -1);
        assert_eq!(ls[0].vserver_group_id, "rsp-1");
        let tcp = ls[0].tcp_listener_config.as_ref().unwrap();
        assert_eq!((tcp.health_check_interval, tcp.established_timeout), (2, 900));
        assert_eq!(tcp.health_check, Some(OnOff::On));
        assert_eq!(ls[0].tags, [ResourceTag::new("k", "v")]);
        assert_eq!(ls[1].listener_port, 53);
        assert_eq!(ls[1].status, Some(ListenerStatus::Stopped));
        assert_eq!(ls[1].udp_listener_config.as_ref().unwrap().health_check_req, "ping");
        assert!(ls[1].tcp_listener_config.is_none());
        let https = ls[2].https_listener_config.as_ref().unwrap();
        assert_eq!(https.server_certificate_id, "cert-1");
        assert_eq!(https.tls_cipher_policy, "tls_cipher_policy_1_0");
        assert_eq!(https.x_forwarded_for.enabled, Some(OnOff::On));
        assert_eq!(https.x_forwarded_for.proto, Some(OnOff::Off));
        assert_eq!(https.x_forwarded_for.slb_id, None);
        assert_eq!(ls[2].acl_ids, ["acl-1", "acl-2"]);

        let last: DescribeLoadBalancerListenersResponse =
            serde_json::from_str(r#"{"RequestId":"x","TotalCount":0,"MaxResults":20,"Listeners":[]}"#).unwrap();
        assert_eq!(last.next_token(), None);
        assert!(last.listeners.is_empty());
        // The docs: "Listeners is not returned if no listener is created".
        let none: DescribeLoadBalancerListenersResponse = serde_json::from_str(r#"{"RequestId":"x"}"#).unwrap();
        assert!(none.listeners.is_empty());
    }

    #[test]
    fn parses_listener_attribute_responses() {
        let tcp: DescribeLoadBalancerTcpListenerAttributeResponse = serde_json::from_str(
            r#"{"RequestId":"r1","ListenerPort":80,"BackendServerPort":30080,"Status":"running","Bandwidth":-1,
                "Scheduler":"wrr","SynProxy":"disable","PersistenceTimeout":0,"EstablishedTimeout":900,
                "HealthCheck":"on","HealthyThreshold":3,"UnhealthyThreshold":3,"HealthCheckConnectTimeout":5,
                "HealthCheckConnectPort":30080,"HealthCheckInterval":2,"HealthCheckType":"tcp","MaxConnection":0,
                "VServerGroupId":"rsp-1","AclStatus":"off","Description":"k8s/80/web/default/c1",
                "ConnectionDrain":"off","ConnectionDrainTimeout":0,"AclIds":{"AclId":[]}}"#,
        )
        .unwrap();
        assert_eq!(tcp.request_id, "r1");
        assert_eq!(tcp.listener.listener_port, 80);
        assert_eq!(tcp.listener.backend_server_port, 30080);
        assert_eq!(tcp.listener.scheduler, Some(Scheduler::Wrr));
        assert_eq!(tcp.listener.description, "k8s/80/web/default/c1");
        assert_eq!(tcp.config.health_check_connect_port, 30080);
        assert_eq!(tcp.config.established_timeout, 900);
        assert_eq!(tcp.syn_proxy, "disable");

        let udp: DescribeLoadBalancerUdpListenerAttributeResponse = serde_json::from_str(
            r#"{"RequestId":"r2","ListenerPort":53,"Status":"stopped","HealthCheck":"on",
                "HealthCheckReq":"ping","HealthCheckExp":"pong","ProxyProtocolV2Enabled":"true"}"#,
        )
        .unwrap();
        assert_eq!(udp.config.health_check_exp, "pong");
        assert!(udp.config.proxy_protocol_v2_enabled);

        let http: DescribeLoadBalancerHttpListenerAttributeResponse = serde_json::from_str(
            r#"{"RequestId":"r3","ListenerPort":80,"Status":"running","HealthCheck":"off","StickySession":"on",
                "StickySessionType":"insert","CookieTimeout":"500","XForwardedFor":"on","XForwardedFor_SLBIP":"on",
                "ListenerForward":"on","ForwardPort":443,"Gzip":"on"}"#,
        )
        .unwrap();
        assert_eq!(http.config.sticky_session_type, Some(StickySessionType::Insert));
        assert_eq!(http.config.cookie_timeout, 500);
        assert_eq!(http.config.forward_port, 443);
        assert_eq!(http.config.x_forwarded_for.slb_ip, Some(OnOff::On));

        let https: DescribeLoadBalancerHttpsListenerAttributeResponse = serde_json::from_str(
            r#"{"RequestId":"r4","ListenerPort":443,"Status":"running","ServerCertificateId":"cert-1",
                "CACertificateId":"ca-1","TLSCipherPolicy":"tls_cipher_policy_1_2","EnableHttp2":"on",
                "HealthCheck":"on","HealthCheckURI":"/healthz","HealthCheckMethod":"head",
                "DomainExtensions":{"DomainExtension":[{"DomainExtensionId":"de-1","Domain":"a.example.com",
                "ServerCertificateId":"cert-2"}]}}"#,
        )
        .unwrap();
        assert_eq!(https.config.ca_certificate_id, "ca-1");
        assert_eq!(https.config.health_check_uri, "/healthz");
        assert_eq!(https.domain_extensions.len(), 1);
        assert_eq!(https.domain_extensions[0].domain, "a.example.com");
    }
}
