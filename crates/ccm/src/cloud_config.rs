//! The Go CCM's cloud-config file (`--cloud-config`): JSON (or YAML) with the settings under `Global`.
//!
//! ```json
//! { "Global": { "accessKeyID": "<base64>", "accessKeySecret": "<base64>", "region": "cn-hangzhou",
//!               "vpcid": "vpc-xxx", "vswitchid": "cn-hangzhou-b:vsw-xxx", "clusterID": "c-xxx",
//!               "routeTableIDs": "vtb-a,vtb-b" } }
//! ```
//!
//! Key names match case-insensitively, as Go's `encoding/json` does. Unknown keys are warnings, never fatal.
//! The AccessKey pair is only validated here (present together, valid base64); the credentials provider of
//! `aliyun-api` reads it when it needs it, so [`CloudConfig`] never holds a secret.

use std::{collections::BTreeMap, fmt, path::Path};

use base64::Engine as _;
use serde_json::{Map, Value};

/// The cluster ID the Go CCM uses when `Global.clusterID` is empty; it appears in listener descriptions and
/// vServer group names, so it must stay the same for load balancers to be adopted.
pub const DEFAULT_CLUSTER_ID: &str = "clusterid";

/// Keys of `Global` this binary knows (the Go CCM's, as written in its struct tags).
const KNOWN_KEYS: &[&str] = &[
    "uid",
    "accessKeyID",
    "accessKeySecret",
    "clusterID",
    "kubernetesClusterTag",
    "region",
    "zoneid",
    "vpcid",
    "vswitchid",
    "resourceGroupID",
    "routeTableIDs",
    "serviceBackendType",
    "disablePublicSLB",
    "serviceMaxConcurrentReconciles",
    "nodeMaxConcurrentReconciles",
    "routeMaxConcurrentReconciles",
    "nodeMonitorPeriod",
    "nodeAddrSyncPeriod",
    "privateZoneId",
    "privateZoneRecordTTL",
    "featureGates",
];

/// Keys the Go CCM reads but this binary does not act on; accepted with a warning saying so.
const UNUSED_KEYS: &[(&str, &str)] = &[
    (
        "uid",
        "the ACK-internal service-token credentials are not supported; the AccessKey or another credentials source is used",
    ),
    ("nodeMonitorPeriod", "unused by the Go CCM too; use --node-monitor-period"),
    ("nodeAddrSyncPeriod", "unused by the Go CCM too; use --node-status-update-frequency"),
    ("privateZoneId", "the PrivateZone controller is not part of this CCM"),
    ("privateZoneRecordTTL", "the PrivateZone controller is not part of this CCM"),
];

/// A vSwitch of `Global.vswitchid`, with its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneVSwitch {
    /// Zone ID (`cn-hangzhou-b`).
    pub zone: String,
    /// vSwitch ID (`vsw-xxx`).
    pub vswitch_id: String,
}

/// A cloud-config that could not be used. Messages name the key and the fix, never a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudConfigError {
    /// The file could not be read.
    #[error(
        "cloud-config {path}: cannot read it: {reason}; check --cloud-config and that the ConfigMap or Secret is mounted"
    )]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// The file is neither JSON nor YAML.
    #[error("cloud-config {path}: not valid JSON ({json}) nor YAML ({yaml})")]
    Syntax {
        /// The file.
        path: String,
        /// The JSON parser's complaint.
        json: String,
        /// The YAML parser's complaint.
        yaml: String,
    },
    /// A key has an unusable value.
    #[error("cloud-config {path}: {key}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// `Global.<key>`.
        key: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// The parsed cloud-config.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CloudConfig {
    /// `Global.clusterID`; empty means [`DEFAULT_CLUSTER_ID`] (see [`CloudConfig::cluster_id`]).
    pub cluster_id: Option<String>,
    /// `Global.kubernetesClusterTag`: the tag key marking the cluster's load balancers (default `ack.aliyun.com`).
    pub kubernetes_cluster_tag: Option<String>,
    /// `Global.region`; read from the metadata server when unset.
    pub region: Option<String>,
    /// `Global.zoneid`.
    pub zone_id: Option<String>,
    /// `Global.vpcid`; read from the metadata server when unset.
    pub vpc_id: Option<String>,
    /// `Global.vswitchid`: `zone:vsw` pairs.
    pub vswitches: Vec<ZoneVSwitch>,
    /// `Global.resourceGroupID`: resource group of new load balancers.
    pub resource_group_id: Option<String>,
    /// `Global.routeTableIDs`: route tables to program; discovered when empty.
    pub route_table_ids: Vec<String>,
    /// `Global.serviceBackendType`: `eni` makes pods (their ENIs) the backends of every Service, unless a Service's
    /// `service.beta.kubernetes.io/backend-type` annotation says otherwise.
    pub service_backend_type: Option<String>,
    /// `Global.disablePublicSLB`: refuse internet-facing load balancers.
    pub disable_public_slb: bool,
    /// `Global.serviceMaxConcurrentReconciles`: Services reconciled in parallel (wins over
    /// `--concurrent-service-syncs`, as in the Go CCM).
    pub service_max_concurrent_reconciles: Option<u32>,
    /// `Global.nodeMaxConcurrentReconciles`.
    pub node_max_concurrent_reconciles: Option<u32>,
    /// `Global.routeMaxConcurrentReconciles`.
    pub route_max_concurrent_reconciles: Option<u32>,
    /// `Global.featureGates`: `Name=bool` pairs (`IPv6DualStack=true,EndpointSlice=true`).
    pub feature_gates: BTreeMap<String, bool>,
    /// Whether `Global.accessKeyID`/`accessKeySecret` are set (their values are never kept here).
    pub has_access_key: bool,
    /// Whether the file was YAML rather than JSON.
    pub is_yaml: bool,
    /// What the operator should know: unknown keys, keys accepted but unused, entries fixed up.
    pub warnings: Vec<String>,
}

impl fmt::Debug for CloudConfig {
    // Written out so that a future secret field cannot slip into logs by `derive`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudConfig")
            .field("cluster_id", &self.cluster_id)
            .field("kubernetes_cluster_tag", &self.kubernetes_cluster_tag)
            .field("region", &self.region)
            .field("zone_id", &self.zone_id)
            .field("vpc_id", &self.vpc_id)
            .field("vswitches", &self.vswitches)
            .field("resource_group_id", &self.resource_group_id)
            .field("route_table_ids", &self.route_table_ids)
            .field("service_backend_type", &self.service_backend_type)
            .field("disable_public_slb", &self.disable_public_slb)
            .field("service_max_concurrent_reconciles", &self.service_max_concurrent_reconciles)
            .field("node_max_concurrent_reconciles", &self.node_max_concurrent_reconciles)
            .field("route_max_concurrent_reconciles", &self.route_max_concurrent_reconciles)
            .field("feature_gates", &self.feature_gates)
            .field("has_access_key", &self.has_access_key)
            .field("is_yaml", &self.is_yaml)
            .finish_non_exhaustive()
    }
}

impl CloudConfig {
    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Self, CloudConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CloudConfigError::Read { path: path.display().to_string(), reason: e.to_string() })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses the text of a cloud-config; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, CloudConfigError> {
        let (root, is_yaml) = match serde_json::from_str::<Value>(text) {
            Ok(v) => (v, false),
            Err(json) => match serde_yaml_ng::from_str::<Value>(text) {
                Ok(v) => (v, true),
                Err(yaml) => {
                    return Err(CloudConfigError::Syntax {
                        path: origin.to_owned(),
                        json: json.to_string(),
                        yaml: yaml.to_string(),
                    });
                }
            },
        };
        let mut parser = Parser { origin, warnings: Vec::new() };
        let mut config = parser.config(&root)?;
        config.is_yaml = is_yaml;
        config.warnings = parser.warnings;
        Ok(config)
    }

    /// The cluster ID, [`DEFAULT_CLUSTER_ID`] when unset (as the Go CCM).
    pub fn cluster_id(&self) -> &str {
        self.cluster_id.as_deref().unwrap_or(DEFAULT_CLUSTER_ID)
    }

    /// The vSwitch of `zone`, if one is configured for it.
    pub fn vswitch_in_zone(&self, zone: &str) -> Option<&str> {
        self.vswitches.iter().find(|v| v.zone == zone).map(|v| v.vswitch_id.as_str())
    }

    /// Whether feature gate `name` is set to true.
    pub fn feature_enabled(&self, name: &str) -> bool {
        self.feature_gates.get(name).copied().unwrap_or(false)
    }
}

struct Parser<'a> {
    origin: &'a str,
    warnings: Vec<String>,
}

/// An object's member by name: exact match first, then ASCII case-insensitive (as Go's `encoding/json`).
fn member<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.get(key).or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

impl Parser<'_> {
    fn err(&self, key: &str, reason: impl Into<String>) -> CloudConfigError {
        CloudConfigError::Key { path: self.origin.to_owned(), key: format!("Global.{key}"), reason: reason.into() }
    }

    fn config(&mut self, root: &Value) -> Result<CloudConfig, CloudConfigError> {
        let Some(root) = root.as_object() else {
            return Err(CloudConfigError::Key {
                path: self.origin.to_owned(),
                key: "(top level)".into(),
                reason: "must be an object: {\"Global\": {...}}".into(),
            });
        };
        for key in root.keys().filter(|k| !k.eq_ignore_ascii_case("Global")) {
            self.warnings.push(format!("unknown top-level key `{key}` ignored; settings belong under `Global`"));
        }
        let empty = Map::new();
        let global = match member(root, "Global") {
            Some(Value::Object(g)) => g,
            Some(Value::Null) | None => {
                self.warnings.push("no `Global` section; every setting takes its default".into());
                &empty
            }
            Some(_) => {
                return Err(CloudConfigError::Key {
                    path: self.origin.to_owned(),
                    key: "Global".into(),
                    reason: "must be an object".into(),
                });
            }
        };
        for key in global.keys() {
            if !KNOWN_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                self.warnings
                    .push(format!("unknown key `Global.{key}` ignored (known keys: {})", KNOWN_KEYS.join(", ")));
            }
        }
        for (key, why) in UNUSED_KEYS {
            if member(global, key).is_some_and(|v| !is_empty(v)) {
                self.warnings.push(format!("`Global.{key}` is accepted but not used: {why}"));
            }
        }

        let mut config = CloudConfig {
            cluster_id: self.string(global, "clusterID")?,
            kubernetes_cluster_tag: self.string(global, "kubernetesClusterTag")?,
            region: self.string(global, "region")?,
            zone_id: self.string(global, "zoneid")?,
            vpc_id: self.string(global, "vpcid")?,
            resource_group_id: self.string(global, "resourceGroupID")?,
            service_backend_type: self.string(global, "serviceBackendType")?,
            disable_public_slb: self.boolean(global, "disablePublicSLB")?.unwrap_or(false),
            service_max_concurrent_reconciles: self.count(global, "serviceMaxConcurrentReconciles")?,
            node_max_concurrent_reconciles: self.count(global, "nodeMaxConcurrentReconciles")?,
            route_max_concurrent_reconciles: self.count(global, "routeMaxConcurrentReconciles")?,
            ..CloudConfig::default()
        };
        if let Some(vpc) = &config.vpc_id
            && !vpc.starts_with("vpc-")
        {
            return Err(self.err("vpcid", format!("`{vpc}` is not a VPC ID; write it as `vpc-...`")));
        }
        // Validated only: present together and decodable. The credentials provider reads them when needed.
        let id = self.access_key_part(global, "accessKeyID")?;
        let secret = self.access_key_part(global, "accessKeySecret")?;
        config.has_access_key = match (id, secret) {
            (true, true) => true,
            (false, false) => false,
            (true, false) => {
                return Err(self
                    .err("accessKeySecret", "missing while accessKeyID is set; set both (base64-encoded) or neither"));
            }
            (false, true) => {
                return Err(self
                    .err("accessKeyID", "missing while accessKeySecret is set; set both (base64-encoded) or neither"));
            }
        };
        if let Some(list) = self.string(global, "vswitchid")? {
            config.vswitches = self.vswitches(&list)?;
        }
        if let Some(list) = self.string(global, "routeTableIDs")? {
            config.route_table_ids = self.route_tables(&list)?;
        }
        if let Some(list) = self.string(global, "featureGates")? {
            config.feature_gates = self.feature_gates(&list)?;
        }
        Ok(config)
    }

    /// A string value; empty strings and `null` are `None`. Numbers are accepted as their text.
    fn string(&self, global: &Map<String, Value>, key: &str) -> Result<Option<String>, CloudConfigError> {
        match member(global, key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.err(key, format!("must be a string, not {}", kind(other)))),
        }
    }

    fn boolean(&self, global: &Map<String, Value>, key: &str) -> Result<Option<bool>, CloudConfigError> {
        match member(global, key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(self.err(key, format!("must be true or false, not `{s}`"))),
            },
            Some(other) => Err(self.err(key, format!("must be true or false, not {}", kind(other)))),
        }
    }

    /// A positive count; 0 means unset, as in the Go CCM.
    fn count(&self, global: &Map<String, Value>, key: &str) -> Result<Option<u32>, CloudConfigError> {
        let number = match member(global, key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            Some(other) => return Err(self.err(key, format!("must be a whole number, not {}", kind(other)))),
        };
        match number {
            Some(0) => Ok(None),
            Some(n) if n > 0 => u32::try_from(n).map(Some).map_err(|_| self.err(key, format!("{n} is too large"))),
            _ => Err(self.err(key, "must be a whole number of at least 1 (0 or absent: the default)")),
        }
    }

    /// Whether one half of the AccessKey is set; errors when it is not valid base64 text.
    fn access_key_part(&self, global: &Map<String, Value>, key: &str) -> Result<bool, CloudConfigError> {
        let value = match member(global, key) {
            None | Some(Value::Null) => return Ok(false),
            Some(Value::String(s)) => s,
            Some(_) => return Err(self.err(key, "must be a string: the base64 of the value")),
        };
        let encoded: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if encoded.is_empty() {
            return Ok(false);
        }
        let how = "the cloud-config holds the AccessKey base64-encoded, as the Go CCM expects: \
                   `printf %s \"$ACCESS_KEY_ID\" | base64 -w0`";
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map_err(|_| self.err(key, format!("is not valid base64; {how}")))?;
        let text = String::from_utf8(bytes).map_err(|_| {
            self.err(key, format!("does not decode to text; is it the plain value rather than its base64? {how}"))
        })?;
        if text.trim().is_empty() || text.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
            return Err(self.err(key, format!("does not decode to an AccessKey; {how}")));
        }
        Ok(true)
    }

    fn vswitches(&mut self, list: &str) -> Result<Vec<ZoneVSwitch>, CloudConfigError> {
        let mut out: Vec<ZoneVSwitch> = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (zone, id) = match entry.split_once(':') {
                Some((zone, id)) => (zone.trim(), id.trim()),
                None => ("", entry),
            };
            let bad = |why: &str| {
                self.err("vswitchid", format!("entry `{entry}` {why}; write `<zone-id>:<vswitch-id>` pairs separated by commas, e.g. `cn-hangzhou-b:vsw-aaa,cn-hangzhou-c:vsw-bbb`"))
            };
            if id.is_empty() || id.contains(':') {
                return Err(bad("is malformed"));
            }
            if !id.starts_with("vsw-") {
                return Err(bad("does not name a vSwitch (`vsw-...`)"));
            }
            if !entry.contains(':') {
                self.warnings.push(format!(
                    "Global.vswitchid entry `{entry}` has no zone and is ignored, as by the Go CCM: intranet load \
                     balancers cannot use it; write `<zone-id>:{entry}`"
                ));
                continue;
            }
            if zone.is_empty() {
                return Err(bad("has an empty zone"));
            }
            let v = ZoneVSwitch { zone: zone.to_owned(), vswitch_id: id.to_owned() };
            if !out.contains(&v) {
                out.push(v);
            }
        }
        Ok(out)
    }

    fn route_tables(&mut self, list: &str) -> Result<Vec<String>, CloudConfigError> {
        let mut out: Vec<String> = Vec::new();
        for id in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if !id.starts_with("vtb-") || id.contains(char::is_whitespace) {
                return Err(self.err(
                    "routeTableIDs",
                    format!("`{id}` is not a route table ID; write IDs separated by commas, e.g. `vtb-aaa,vtb-bbb`"),
                ));
            }
            if !out.iter().any(|o| o == id) {
                out.push(id.to_owned());
            }
        }
        Ok(out)
    }

    fn feature_gates(&mut self, list: &str) -> Result<BTreeMap<String, bool>, CloudConfigError> {
        let mut out = BTreeMap::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let parsed = entry.split_once('=').and_then(|(name, value)| {
                let value = match value.trim().to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return None,
                };
                Some((name.trim(), value)).filter(|(n, _)| !n.is_empty())
            });
            let Some((name, value)) = parsed else {
                return Err(self.err(
                    "featureGates",
                    format!("entry `{entry}` is not `Name=true|false`; e.g. `IPv6DualStack=true,EndpointSlice=true`"),
                ));
            };
            out.insert(name.to_owned(), value);
        }
        Ok(out)
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        _ => false,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AK: &str = "LTAI5tExampleKeyId0001";
    const SK: &str = "ExampleSecret0123456789abcdefXY";

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    /// The ConfigMap data of the seed guide (`cloud-config.conf`), as its script renders it.
    fn seed_config() -> String {
        format!(
            "{{\n    \"Global\": {{\n        \"accessKeyID\": \"{}\",\n        \"accessKeySecret\": \"{}\",\n        \
             \"region\": \"cn-hangzhou\"\n    }}\n}}",
            b64(AK),
            b64(SK)
        )
    }

    fn parse(text: &str) -> Result<CloudConfig, CloudConfigError> {
        CloudConfig::parse(text, "cloud-config.conf")
    }

    #[test]
    fn the_seed_configmap_parses() {
        let c = parse(&seed_config()).unwrap();
        assert!(c.has_access_key);
        assert_eq!(c.region.as_deref(), Some("cn-hangzhou"));
        assert_eq!(c.cluster_id(), DEFAULT_CLUSTER_ID);
        assert!(c.vswitches.is_empty() && c.route_table_ids.is_empty());
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert!(!c.is_yaml);
        let shown = format!("{c:?}");
        assert!(!shown.contains(AK) && !shown.contains(SK) && !shown.contains(&b64(SK)), "{shown}");
    }

    #[test]
    fn every_go_key_is_read() {
        let text = format!(
            r#"{{"Global": {{
                "accessKeyID": "{}", "accessKeySecret": "{}", "uid": "",
                "clusterID": "c-123", "kubernetesClusterTag": "ack.aliyun.com",
                "region": "cn-hangzhou", "zoneid": "cn-hangzhou-b", "vpcid": "vpc-abc",
                "vswitchid": "cn-hangzhou-b:vsw-aaa, cn-hangzhou-c:vsw-bbb",
                "resourceGroupID": "rg-1", "routeTableIDs": "vtb-a,vtb-b,vtb-a",
                "serviceBackendType": "", "disablePublicSLB": true,
                "serviceMaxConcurrentReconciles": 5, "nodeMaxConcurrentReconciles": "2",
                "routeMaxConcurrentReconciles": 0, "nodeMonitorPeriod": 0, "nodeAddrSyncPeriod": 0,
                "privateZoneId": "", "privateZoneRecordTTL": 0,
                "featureGates": "IPv6DualStack=true,EndpointSlice=false"
            }}}}"#,
            b64(AK),
            b64(SK)
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.cluster_id(), "c-123");
        assert_eq!(c.kubernetes_cluster_tag.as_deref(), Some("ack.aliyun.com"));
        assert_eq!(c.zone_id.as_deref(), Some("cn-hangzhou-b"));
        assert_eq!(c.vpc_id.as_deref(), Some("vpc-abc"));
        assert_eq!(
            c.vswitches,
            [
                ZoneVSwitch { zone: "cn-hangzhou-b".into(), vswitch_id: "vsw-aaa".into() },
                ZoneVSwitch { zone: "cn-hangzhou-c".into(), vswitch_id: "vsw-bbb".into() },
            ]
        );
        assert_eq!(c.vswitch_in_zone("cn-hangzhou-c"), Some("vsw-bbb"));
        assert_eq!(c.vswitch_in_zone("cn-hangzhou-z"), None);
        assert_eq!(c.route_table_ids, ["vtb-a", "vtb-b"]);
        assert_eq!(c.resource_group_id.as_deref(), Some("rg-1"));
        assert!(c.disable_public_slb);
        assert_eq!(c.service_max_concurrent_reconciles, Some(5));
        assert_eq!(c.node_max_concurrent_reconciles, Some(2));
        assert_eq!(c.route_max_concurrent_reconciles, None);
        assert!(c.feature_enabled("IPv6DualStack") && !c.feature_enabled("EndpointSlice"));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn keys_match_case_insensitively_and_unknown_keys_warn() {
        let c =
            parse(r#"{"global": {"REGION": "cn-beijing", "VpcId": "vpc-1", "colour": "blue"}, "Extra": 1}"#).unwrap();
        assert_eq!(c.region.as_deref(), Some("cn-beijing"));
        assert_eq!(c.vpc_id.as_deref(), Some("vpc-1"));
        assert!(!c.has_access_key);
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(c.warnings.iter().any(|w| w.contains("`Global.colour`")));
        assert!(c.warnings.iter().any(|w| w.contains("`Extra`")));
    }

    #[test]
    fn unused_go_keys_are_accepted_with_a_warning() {
        let c = parse(r#"{"Global": {"uid": "123", "privateZoneId": "pz-1"}}"#).unwrap();
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(c.warnings[0].contains("Global.uid"));
    }

    #[test]
    fn yaml_is_accepted() {
        let c = parse("Global:\n  region: cn-shanghai\n  vswitchid: cn-shanghai-a:vsw-1\n  disablePublicSLB: true\n")
            .unwrap();
        assert!(c.is_yaml);
        assert_eq!(c.region.as_deref(), Some("cn-shanghai"));
        assert!(c.disable_public_slb);
        assert_eq!(c.vswitches.len(), 1);
    }

    #[test]
    fn plain_vswitch_ids_are_skipped_with_a_warning() {
        let c = parse(r#"{"Global": {"vswitchid": "vsw-plain,cn-hangzhou-b:vsw-1"}}"#).unwrap();
        assert_eq!(c.vswitches, [ZoneVSwitch { zone: "cn-hangzhou-b".into(), vswitch_id: "vsw-1".into() }]);
        assert!(c.warnings[0].contains("`<zone-id>:vsw-plain`"), "{:?}", c.warnings);
    }

    #[test]
    fn errors_name_the_key_and_the_fix() {
        let cases: &[(&str, &str, &str)] = &[
            (r#"{"Global": {"vswitchid": "cn-hangzhou-b:"}}"#, "Global.vswitchid", "<zone-id>:<vswitch-id>"),
            (r#"{"Global": {"vswitchid": ":vsw-1"}}"#, "Global.vswitchid", "empty zone"),
            (r#"{"Global": {"vswitchid": "cn-hangzhou-b:subnet-1"}}"#, "Global.vswitchid", "vsw-"),
            (r#"{"Global": {"routeTableIDs": "vtb-1,rtb-2"}}"#, "Global.routeTableIDs", "`rtb-2`"),
            (r#"{"Global": {"vpcid": "abc"}}"#, "Global.vpcid", "vpc-"),
            (r#"{"Global": {"disablePublicSLB": "yes"}}"#, "Global.disablePublicSLB", "true or false"),
            (
                r#"{"Global": {"serviceMaxConcurrentReconciles": -1}}"#,
                "Global.serviceMaxConcurrentReconciles",
                "at least 1",
            ),
            (r#"{"Global": {"featureGates": "IPv6DualStack"}}"#, "Global.featureGates", "Name=true|false"),
            (r#"{"Global": {"region": ["cn-hangzhou"]}}"#, "Global.region", "must be a string, not a list"),
            (r#"{"Global": []}"#, "Global", "must be an object"),
        ];
        for (text, key, hint) in cases {
            let e = parse(text).unwrap_err();
            let CloudConfigError::Key { key: got, .. } = &e else { panic!("{text}: {e:?}") };
            assert_eq!(got, key, "{text}");
            assert!(e.to_string().contains(hint), "{text}: {e}");
            assert!(e.to_string().starts_with("cloud-config cloud-config.conf: "), "{e}");
        }
        assert!(matches!(parse("{not json: [").unwrap_err(), CloudConfigError::Syntax { .. }));
        let e = CloudConfig::load(Path::new("/nonexistent/cloud-config.conf")).unwrap_err();
        assert!(e.to_string().contains("--cloud-config"), "{e}");
    }

    #[test]
    fn access_key_errors_never_show_the_value() {
        // Plain (not base64) keys: decoding yields bytes that are not text.
        let plain = format!(r#"{{"Global": {{"accessKeyID": "{AK}", "accessKeySecret": "{SK}"}}}}"#);
        let e = parse(&plain).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("Global.accessKeyID") && text.contains("base64"), "{text}");
        assert!(!text.contains(AK) && !text.contains(SK), "{text}");

        let bad = format!(r#"{{"Global": {{"accessKeyID": "{}", "accessKeySecret": "%%%"}}}}"#, b64(AK));
        let text = parse(&bad).unwrap_err().to_string();
        assert!(text.contains("Global.accessKeySecret is not valid base64") || text.contains("not valid base64"));

        let half = format!(r#"{{"Global": {{"accessKeyID": "{}"}}}}"#, b64(AK));
        assert!(parse(&half).unwrap_err().to_string().contains("set both"));

        // `echo` adds a newline before base64: still accepted (the Go CCM strips it too).
        let newline =
            format!(r#"{{"Global": {{"accessKeyID": "{}", "accessKeySecret": "{}"}}}}"#, b64("id\n"), b64(SK));
        assert!(parse(&newline).unwrap().has_access_key);
    }

    #[test]
    fn an_empty_file_section_takes_defaults() {
        let c = parse("{}").unwrap();
        assert_eq!(c.cluster_id(), "clusterid");
        assert_eq!(c.warnings.len(), 1);
    }
}
