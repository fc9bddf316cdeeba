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
    AddressType, HealthCheckType, InstanceChargeType, InternetChargeType, ModificationProtectionStatus, OnOff,
    Scheduler,
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
        };
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

/// Annotations (and values) the Go CCM honours that this version does not implement yet, and that would change
/// traffic if ignored: a listener protocol override (an HTTPS listener would be replaced by a TCP one), access
/// control (a listener would open to everyone), bound user vServer groups, ENI backends, EIP status, IPv6. A
/// Service using them is refused with a Warning event and left untouched, instead of being half-served.
const UNSUPPORTED: &[(&str, Option<&str>)] = &[
    ("protocol-port", None),
    ("acl-status", Some("on")),
    ("vgroup-port", None),
    ("external-ip-type", Some("eip")),
    ("ip-version", Some("ipv6")),
];
/// Go CCM annotation selecting ENI backends.
pub const BACKEND_TYPE_ANNOTATION: &str = "service.beta.kubernetes.io/backend-type";
/// What the error says is accepted for an unsupported annotation.
const NOT_YET: &str = "nothing yet: this controller version does not support it (the Service is left untouched)";

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

    /// Reports the annotations of [`UNSUPPORTED`] and ENI backends.
    fn refuse_unsupported(&mut self) {
        for (suffix, value) in UNSUPPORTED {
            if let Some((annotation, found)) = self.raw(suffix)
                && value.is_none_or(|v| found.eq_ignore_ascii_case(v))
            {
                self.errors.push(AnnotationError { annotation, value: found, accepted: NOT_YET.to_owned() });
            }
        }
        let eni = self
            .annotations
            .and_then(|a| a.get(BACKEND_TYPE_ANNOTATION))
            .filter(|v| v.trim().eq_ignore_ascii_case("eni"));
        if let Some(value) = eni {
            self.errors.push(AnnotationError {
                annotation: BACKEND_TYPE_ANNOTATION.to_owned(),
                value: value.clone(),
                accepted: format!("ecs; eni is {NOT_YET}"),
            });
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
        let map = annotations(&[("protocol-port", "https:443"), ("acl-status", "on"), ("ip-version", "ipv4")]);
        let errors = ServiceLbConfig::parse(Some(&map)).unwrap_err().0;
        let keys: Vec<&str> = errors.iter().map(|e| e.annotation.trim_start_matches(ANNOTATION_PREFIX)).collect();
        assert_eq!(keys, ["protocol-port", "acl-status"]);
        assert!(errors[0].accepted.contains("does not support"));
        let mut eni = BTreeMap::new();
        eni.insert(BACKEND_TYPE_ANNOTATION.to_owned(), "eni".to_owned());
        assert!(ServiceLbConfig::parse(Some(&eni)).is_err());
        eni.insert(BACKEND_TYPE_ANNOTATION.to_owned(), "ecs".to_owned());
        assert!(ServiceLbConfig::parse(Some(&eni)).is_ok());
        let off = annotations(&[("acl-status", "off")]);
        assert!(ServiceLbConfig::parse(Some(&off)).is_ok());
    }

    #[test]
    fn dns_names() {
        assert!(is_dns_name("a.example.com"));
        assert!(!is_dns_name("-a.example.com"));
        assert!(!is_dns_name("a..b"));
        assert!(is_ipv4("10.0.0.1") && !is_ipv4("fd00::1"));
    }
}
