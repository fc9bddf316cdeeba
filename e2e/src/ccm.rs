//! Running the `cloud-controller-manager` binary in a stack, the way an operator deploys it: a cloud-config
//! file in the Go CCM's format, the manifests' RBAC (identity [`Identity::Ccm`]), endpoints pointing at
//! aliyun-fake.

use std::{net::SocketAddr, path::PathBuf};

use base64::Engine as _;

use crate::{
    error::{Context as _, Error, Result},
    process::ManagedProcess,
    stack::{FAKE_ACCESS_KEY_ID, FAKE_ACCESS_KEY_SECRET, Identity, Stack, free_port},
};

/// Region of the fake's default seed.
pub const SEED_REGION: &str = "cn-hangzhou";
/// VPC of the fake's default seed.
pub const SEED_VPC: &str = "vpc-bp1fakevpc0000000001";
/// vSwitches of the fake's default seed, as `zone:vsw` pairs for `Global.vswitchid`.
pub const SEED_VSWITCHES: &str = "cn-hangzhou-h:vsw-bp1fakevswh000000001,cn-hangzhou-i:vsw-bp1fakevswi000000001";
/// Cluster ID written to the cloud-config by default.
pub const E2E_CLUSTER_ID: &str = "c-e2e";

/// How to run one CCM process.
#[derive(Debug, Clone)]
pub struct CcmOptions {
    /// `--controllers` value.
    pub controllers: String,
    /// `--cluster-cidr`, when routes are configured.
    pub cluster_cidr: Option<String>,
    /// Whether to leader-elect (default false, so tests sharing a control plane do not contend).
    pub leader_elect: bool,
    /// Lease name when leader-electing (default `ccm`).
    pub lease_name: String,
    /// Extra `Global` keys of the cloud-config (e.g. `routeTableIDs`), merged over the defaults.
    pub cloud_config_extra: serde_json::Map<String, serde_json::Value>,
    /// Extra command-line arguments.
    pub args: Vec<String>,
}

impl CcmOptions {
    /// A CCM running `controllers` (`node`, `route`, `service`, `*`...).
    pub fn new(controllers: impl Into<String>) -> Self {
        Self {
            controllers: controllers.into(),
            cluster_cidr: None,
            leader_elect: false,
            lease_name: "ccm".to_owned(),
            cloud_config_extra: serde_json::Map::new(),
            args: Vec::new(),
        }
    }

    /// Sets `--cluster-cidr` (and so enables route configuration).
    pub fn cluster_cidr(mut self, cidr: impl Into<String>) -> Self {
        self.cluster_cidr = Some(cidr.into());
        self
    }

    /// Leader-elects on Lease `kube-system/<name>`.
    pub fn leader_elect(mut self, lease_name: impl Into<String>) -> Self {
        self.leader_elect = true;
        self.lease_name = lease_name.into();
        self
    }

    /// Adds a `Global` key to the cloud-config.
    pub fn cloud_config(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.cloud_config_extra.insert(key.to_owned(), value.into());
        self
    }

    /// Adds command-line arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }
}

/// A running CCM: the process, and where it serves health and metrics.
pub struct RunningCcm {
    /// The process (dropping it stops the CCM).
    pub process: ManagedProcess,
    /// `/healthz` address.
    pub health_addr: SocketAddr,
    /// `/metrics` address.
    pub metrics_addr: SocketAddr,
    /// The cloud-config file it reads.
    pub cloud_config: PathBuf,
}

impl RunningCcm {
    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> Result<String> {
        let url = format!("http://{}/metrics", self.metrics_addr);
        reqwest::get(&url).await.context(format!("GET {url}"))?.text().await.context(format!("reading {url}"))
    }

    /// The HTTP status of `GET /healthz`, or `None` when nothing answers.
    pub async fn healthz(&self) -> Option<u16> {
        let url = format!("http://{}/healthz", self.health_addr);
        reqwest::get(&url).await.ok().map(|r| r.status().as_u16())
    }
}

/// The Go CCM's cloud-config JSON for the fake's default seed, with `extra` merged into `Global`.
pub fn seed_cloud_config(extra: &serde_json::Map<String, serde_json::Value>) -> serde_json::Value {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut global = serde_json::json!({
        "accessKeyID": b64(FAKE_ACCESS_KEY_ID),
        "accessKeySecret": b64(FAKE_ACCESS_KEY_SECRET),
        "region": SEED_REGION,
        "vpcid": SEED_VPC,
        "vswitchid": SEED_VSWITCHES,
        "clusterID": E2E_CLUSTER_ID,
    });
    if let Some(map) = global.as_object_mut() {
        map.extend(extra.clone());
    }
    serde_json::json!({ "Global": global })
}

impl Stack {
    /// Starts `cloud-controller-manager` as the CCM ServiceAccount with a cloud-config for the fake's default
    /// seed, on free loopback ports for health and metrics.
    pub fn start_ccm(&self, options: &CcmOptions) -> Result<RunningCcm> {
        let health_addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let metrics_addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let cloud_config = self.dir().join(format!("cloud-config-{}-{}.json", health_addr.port(), metrics_addr.port()));
        let text = serde_json::to_string_pretty(&seed_cloud_config(&options.cloud_config_extra))
            .map_err(|e| Error::Format { context: "cloud-config".into(), message: e.to_string() })?;
        std::fs::write(&cloud_config, text).context(format!("writing {}", cloud_config.display()))?;
        let mut args = vec![
            format!("--cloud-config={}", cloud_config.display()),
            format!("--controllers={}", options.controllers),
            format!("--health-probe-bind-addr={health_addr}"),
            format!("--metrics-bind-addr={metrics_addr}"),
            format!("--leader-elect={}", options.leader_elect),
            format!("--leader-elect-resource-name={}", options.lease_name),
        ];
        match &options.cluster_cidr {
            Some(cidr) => args.push(format!("--cluster-cidr={cidr}")),
            None => args.push("--configure-cloud-routes=false".to_owned()),
        }
        args.extend(options.args.iter().cloned());
        let process = self.run_binary("ccm", "cloud-controller-manager", args, Some(&Identity::Ccm))?;
        Ok(RunningCcm { process, health_addr, metrics_addr, cloud_config })
    }
}

/// An ECS instance of the fake, as the tests need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeInstance {
    /// Instance ID.
    pub instance_id: String,
    /// Primary private IPv4 address.
    pub private_ip: String,
    /// Instance type.
    pub instance_type: String,
    /// Zone.
    pub zone_id: String,
    /// vSwitch.
    pub vswitch_id: String,
    /// `Running`, `Stopped`...
    pub status: String,
}

impl FakeInstance {
    /// The provider ID a kubelet would carry for it.
    pub fn provider_id(&self) -> String {
        format!("{SEED_REGION}.{}", self.instance_id)
    }
}

impl Stack {
    /// The fake's instances in creation order (from `/_fake/state`).
    pub async fn fake_instances(&self) -> Result<Vec<FakeInstance>> {
        let state = self.fake_state().await?;
        let order: Vec<String> = state["instance_order"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
        let instances = order
            .iter()
            .filter_map(|id| state["instances"].get(id))
            .map(|i| FakeInstance {
                instance_id: text(i, "instance_id"),
                private_ip: text(i, "private_ip"),
                instance_type: text(i, "instance_type"),
                zone_id: text(i, "zone_id"),
                vswitch_id: text(i, "vswitch_id"),
                status: text(i, "status"),
            })
            .collect::<Vec<_>>();
        if instances.is_empty() {
            return Err(Error::Format { context: "/_fake/state".into(), message: "no instances".into() });
        }
        Ok(instances)
    }
}
