//! Typed Server Load Balancer (Classic Load Balancer, CLB) calls, API version `2014-05-15`.
//!
//! One request type per action, named after the action (acronyms as words: `CreateLoadBalancerTcpListener` sends
//! `Action=CreateLoadBalancerTCPListener`), each with its response model. `RegionId` is never set here: the client
//! adds it. Optional values left `None` (or empty strings) are not sent, as the Go SDK the incumbent CCM uses does.
//!
//! * [`load_balancer`]: instances and their attributes.
//! * [`listener`]: TCP/UDP/HTTP/HTTPS listeners.
//! * [`vserver_group`]: vServer groups and their backend servers (at most [`MAX_BACKENDS_PER_CALL`] per call).
//! * [`tags`]: `TagResources` / `UntagResources` / `ListTagResources`.
//! * [`acl`]: network access control lists.
//! * [`certificate`]: server certificates.
//! * [`domain_extension`]: additional certificates of HTTPS listeners (SNI domains).
//!
//! Responses are lenient: every field defaults when missing, numbers may come as strings, lists may come wrapped
//! (`{"LoadBalancer":[…]}`) or flat, and enums keep unknown values in an `Other` variant.

use serde::{Deserialize, Serialize};

use crate::lenient;

/// Declares a closed SLB value set with a tolerant fallback: parsing is ASCII case-insensitive and an unknown
/// value is kept verbatim in `Other`, so a value the server adds later never fails a response.
macro_rules! slb_enum {
    (
        $(#[$meta:meta])*
        $name:ident $(default $default:ident)? {
            $( $(#[$vmeta:meta])* $variant:ident => $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate does not know, kept as the server sent it.
            Other(String),
        }

        impl $name {
            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $value, )+
                    Self::Other(other) => other.as_str(),
                }
            }

            /// Parses an API value (ASCII case-insensitively); unknown values become `Other`.
            pub fn parse(value: &str) -> Self {
                $( if value.eq_ignore_ascii_case($value) { return Self::$variant; } )+
                Self::Other(value.to_owned())
            }
        }

        $(
            impl Default for $name {
                fn default() -> Self {
                    Self::$default
                }
            }
        )?

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, ::std::convert::Infallible> {
                Ok(Self::parse(s))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::parse(value)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::parse(&value)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let value = <String as ::serde::Deserialize>::deserialize(d)?;
                Ok(Self::parse(&value))
            }
        }
    };
}

// The modules come after the macro so that they can use it.
pub mod acl;
pub mod certificate;
pub mod domain_extension;
pub mod listener;
pub mod load_balancer;
pub mod tags;
pub mod vserver_group;

pub use acl::*;
pub use certificate::*;
pub use domain_extension::*;
pub use listener::*;
pub use load_balancer::*;
pub use tags::*;
pub use vserver_group::*;

slb_enum! {
    /// Whether a load balancer faces the internet or only the VPC (`AddressType`).
    AddressType {
        /// `internet`: a public address.
        Internet => "internet",
        /// `intranet`: a private address in a vSwitch.
        Intranet => "intranet",
    }
}

slb_enum! {
    /// IP version of a load balancer or ACL (`AddressIPVersion`).
    AddressIpVersion {
        /// `ipv4`.
        Ipv4 => "ipv4",
        /// `ipv6`.
        Ipv6 => "ipv6",
    }
}

slb_enum! {
    /// Listener protocol (`ListenerProtocol`; lower case on the wire).
    ListenerProtocol {
        /// `tcp`.
        Tcp => "tcp",
        /// `udp`.
        Udp => "udp",
        /// `http`.
        Http => "http",
        /// `https`.
        Https => "https",
    }
}

slb_enum! {
    /// Scheduling algorithm of a listener (`Scheduler`).
    Scheduler {
        /// `wrr`: weighted round robin (the API default).
        Wrr => "wrr",
        /// `rr`: round robin (the incumbent CCM's default).
        Rr => "rr",
        /// `wlc`: weighted least connections (older API versions and some regions).
        Wlc => "wlc",
        /// `sch`: consistent hashing on the source IP (high-performance instances, TCP/UDP).
        Sch => "sch",
        /// `tch`: consistent hashing on the four-tuple (high-performance instances, TCP/UDP).
        Tch => "tch",
        /// `qch`: consistent hashing on the QUIC connection ID (UDP).
        Qch => "qch",
    }
}

slb_enum! {
    /// An `on`/`off` switch (health checks, sticky sessions, delete protection, ACLs, Gzip, `X-Forwarded-*`, …);
    /// `off` by default.
    OnOff default Off {
        /// `on`.
        On => "on",
        /// `off`.
        Off => "off",
    }
}

impl From<bool> for OnOff {
    fn from(on: bool) -> Self {
        if on { OnOff::On } else { OnOff::Off }
    }
}

impl OnOff {
    /// Whether this is `on`.
    pub fn is_on(&self) -> bool {
        matches!(self, OnOff::On)
    }
}

slb_enum! {
    /// How an HTTP/HTTPS listener keeps sessions sticky (`StickySessionType`).
    StickySessionType {
        /// `insert`: the load balancer inserts its own cookie (`CookieTimeout` applies).
        Insert => "insert",
        /// `server`: the load balancer rewrites the backend's cookie (`Cookie` names it).
        Server => "server",
    }
}

slb_enum! {
    /// Kind of a backend server (`Type` in `BackendServers`); `ecs` by default.
    BackendType default Ecs {
        /// `ecs`: an ECS instance (the default).
        Ecs => "ecs",
        /// `eni`: an elastic network interface (with `ServerIp`).
        Eni => "eni",
        /// `eci`: an elastic container instance (with `ServerIp`).
        Eci => "eci",
    }
}

slb_enum! {
    /// Whether a listener's ACL is an allow list or a deny list (`AclType`).
    AclType {
        /// `white`: only listed addresses are forwarded.
        White => "white",
        /// `black`: listed addresses are rejected.
        Black => "black",
    }
}

slb_enum! {
    /// Health check protocol of a TCP listener (`HealthCheckType`).
    HealthCheckType {
        /// `tcp` (the default).
        Tcp => "tcp",
        /// `http`.
        Http => "http",
    }
}

slb_enum! {
    /// HTTP method of HTTP health checks (`HealthCheckMethod`).
    HealthCheckMethod {
        /// `head`.
        Head => "head",
        /// `get`.
        Get => "get",
    }
}

slb_enum! {
    /// How internet traffic is billed (`InternetChargeType`).
    InternetChargeType {
        /// `paybytraffic` (the default).
        PayByTraffic => "paybytraffic",
        /// `paybybandwidth`.
        PayByBandwidth => "paybybandwidth",
    }
}

slb_enum! {
    /// How the instance is billed (`InstanceChargeType`).
    InstanceChargeType {
        /// `PayBySpec`: by specification (the default; `LoadBalancerSpec` applies).
        PayBySpec => "PayBySpec",
        /// `PayByCLCU`: by capacity units (the incumbent CCM's default).
        PayByClcu => "PayByCLCU",
    }
}

slb_enum! {
    /// Payment model of the instance (`PayType`).
    PayType {
        /// `PayOnDemand`: pay-as-you-go.
        PayOnDemand => "PayOnDemand",
        /// `PrePay`: subscription.
        PrePay => "PrePay",
    }
}

slb_enum! {
    /// Whether changes through the console are blocked (`ModificationProtectionStatus`). API calls are never blocked.
    ModificationProtectionStatus {
        /// `NonProtection`.
        NonProtection => "NonProtection",
        /// `ConsoleProtection`.
        ConsoleProtection => "ConsoleProtection",
    }
}

slb_enum! {
    /// State of a load balancer (`LoadBalancerStatus`).
    LoadBalancerStatus {
        /// `inactive`: stopped.
        Inactive => "inactive",
        /// `active`: running.
        Active => "active",
        /// `locked`: locked (overdue payment or expiry).
        Locked => "locked",
    }
}

slb_enum! {
    /// State of a listener (`Status`).
    ListenerStatus {
        /// `running`.
        Running => "running",
        /// `stopped`.
        Stopped => "stopped",
        /// `starting` (transitional; unverified in the docs).
        Starting => "starting",
        /// `configuring` (transitional; unverified in the docs).
        Configuring => "configuring",
        /// `stopping` (transitional; unverified in the docs).
        Stopping => "stopping",
    }
}

slb_enum! {
    /// Network of a load balancer (`NetworkType`).
    NetworkType {
        /// `classic`: the classic network.
        Classic => "classic",
        /// `vpc`: a VPC.
        Vpc => "vpc",
    }
}

/// A tag as SLB responses spell it (`{"TagKey":…,"TagValue":…}`), and as the JSON-valued `Tags` filter of
/// `DescribeLoadBalancers` takes it. (Request parameters `Tag.N.Key`/`Tag.N.Value` take [`crate::Tag`].)
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceTag {
    /// Tag key.
    #[serde(rename = "TagKey", deserialize_with = "lenient::string")]
    pub key: String,
    /// Tag value.
    #[serde(rename = "TagValue", deserialize_with = "lenient::string")]
    pub value: String,
}

impl ResourceTag {
    /// A tag `key=value`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), value: value.into() }
    }
}

impl From<&crate::Tag> for ResourceTag {
    fn from(tag: &crate::Tag) -> Self {
        Self::new(tag.key.clone(), tag.value.clone())
    }
}

impl From<&ResourceTag> for crate::Tag {
    fn from(tag: &ResourceTag) -> Self {
        crate::Tag::new(tag.key.clone(), tag.value.clone())
    }
}

/// The response of the many actions that answer only a request ID (`DeleteLoadBalancer`, `Set*Attribute`,
/// `Create*Listener`, `TagResources`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RequestIdResponse {
    /// Request ID.
    #[serde(deserialize_with = "lenient::string")]
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_parse_tolerantly_and_print_the_api_spelling() {
        assert_eq!(ListenerProtocol::parse("TCP"), ListenerProtocol::Tcp);
        assert_eq!(ListenerProtocol::Https.as_str(), "https");
        assert_eq!(InstanceChargeType::parse("paybyclcu"), InstanceChargeType::PayByClcu);
        assert_eq!(InstanceChargeType::PayByClcu.to_string(), "PayByCLCU");
        assert_eq!(Scheduler::parse("fancy"), Scheduler::Other("fancy".into()));
        assert_eq!(Scheduler::Other("fancy".into()).as_str(), "fancy");
        let parsed: Vec<AddressType> = serde_json::from_str(r#"["internet","intranet","dualstack"]"#).unwrap();
        assert_eq!(parsed, [AddressType::Internet, AddressType::Intranet, AddressType::Other("dualstack".into())]);
        assert_eq!(serde_json::to_string(&BackendType::Eni).unwrap(), r#""eni""#);
        assert_eq!(OnOff::default(), OnOff::Off);
        assert!(OnOff::from(true).is_on());
        assert_eq!(BackendType::default(), BackendType::Ecs);
    }

    #[test]
    fn request_id_only_responses() {
        let r: RequestIdResponse =
            serde_json::from_str(r#"{"RequestId":"365F4154-92F6-4AE4-92F8-7FF34B540710"}"#).unwrap();
        assert_eq!(r.request_id, "365F4154-92F6-4AE4-92F8-7FF34B540710");
        let r: RequestIdResponse = serde_json::from_str("{}").unwrap();
        assert_eq!(r, RequestIdResponse::default());
    }
}
