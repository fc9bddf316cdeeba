//! The port: what the node controller needs from the cloud, as a narrow trait over plain data.

use std::{
    collections::BTreeMap,
    fmt,
    future::Future,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

use crate::error::Result;

/// The most IDs or IPs one call may carry (`DescribeInstances` `InstanceIds`/`PrivateIpAddresses`,
/// `DescribeNetworkInterfaces` `NetworkInterfaceId.N`).
pub const MAX_IDS_PER_CALL: usize = 100;

/// The state of an ECS instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceStatus {
    /// Being created.
    Pending,
    /// Booting.
    Starting,
    /// Up.
    Running,
    /// Shutting down.
    Stopping,
    /// Shut down (the node gets the shutdown taint once NotReady).
    Stopped,
    /// A state this crate does not know.
    Other(String),
}

impl InstanceStatus {
    /// Parses the API's `Status` field.
    pub fn parse(status: &str) -> Self {
        match status {
            "Pending" => Self::Pending,
            "Starting" => Self::Starting,
            "Running" => Self::Running,
            "Stopping" => Self::Stopping,
            "Stopped" => Self::Stopped,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The API's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "Pending",
            Self::Starting => "Starting",
            Self::Running => "Running",
            Self::Stopping => "Stopping",
            Self::Stopped => "Stopped",
            Self::Other(other) => other,
        }
    }
}

impl fmt::Display for InstanceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ECS instance, as much of it as a node needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsInstance {
    /// Instance ID (`i-...`).
    pub instance_id: String,
    /// Region (`cn-hangzhou`).
    pub region_id: String,
    /// Zone (`cn-hangzhou-h`).
    pub zone_id: String,
    /// Instance type (`ecs.g7.large`).
    pub instance_type: String,
    /// State.
    pub status: InstanceStatus,
    /// Billing: `PrePaid` or `PostPaid`.
    pub charge_type: String,
    /// Spot policy: `NoSpot`, `SpotWithPriceLimit`, `SpotAsPriceGo`.
    pub spot_strategy: String,
    /// VPC of the instance (empty for classic network).
    pub vpc_id: String,
    /// Private IPv4s (VPC private IPs, then classic inner IPs).
    pub private_ips: Vec<IpAddr>,
    /// Public IPs ECS assigned (not the EIP).
    pub public_ips: Vec<IpAddr>,
    /// The bound EIP.
    pub eip: Option<IpAddr>,
    /// IPv6 addresses of the primary network interface.
    pub ipv6s: Vec<Ipv6Addr>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// The primary network interface (`eni-...`), when the answer lists interfaces.
    pub primary_eni_id: Option<String>,
}

impl EcsInstance {
    /// Whether `ip` is one of the instance's private IPs.
    pub fn has_private_ip(&self, ip: IpAddr) -> bool {
        self.private_ips.contains(&ip)
    }
}

/// The cloud operations the node controller uses. Implemented for `aliyun_api::Client` by
/// [`AliyunNodeCloud`](crate::aliyun::AliyunNodeCloud); an in-memory mock is in `mock` (feature
/// `mock`).
///
/// Every list argument may be longer than [`MAX_IDS_PER_CALL`]; implementations split it. The controller itself
/// passes at most [`MAX_IDS_PER_CALL`] items so that a failure only affects the nodes of one call.
pub trait NodeCloud: Send + Sync + 'static {
    /// The instances of `region` with these IDs. IDs the cloud does not know are absent from the answer: an `Ok`
    /// without an ID is the definitive "this instance does not exist".
    fn instances_by_ids(&self, region: &str, ids: &[String]) -> impl Future<Output = Result<Vec<EcsInstance>>> + Send;

    /// The instances of `vpc_id` in `region` that have one of these private IPv4 addresses.
    fn instances_by_private_ips(
        &self,
        region: &str,
        vpc_id: &str,
        ips: &[Ipv4Addr],
    ) -> impl Future<Output = Result<Vec<EcsInstance>>> + Send;

    /// Of these network interfaces, the ones whose source/destination check is on.
    fn source_dest_check_enabled(
        &self,
        region: &str,
        eni_ids: &[String],
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Turns the source/destination check of a network interface off (needed for pod traffic routed through the
    /// VPC route table, as the Go CCM does unless `--skip-disable-source-dest-check`).
    fn disable_source_dest_check(&self, region: &str, eni_id: &str) -> impl Future<Output = Result<()>> + Send;
}
