//! The port: the narrow slice of the cloud the route controller needs, as plain data.
//!
//! [`RouteCloud`] is implemented for Alibaba Cloud by [`crate::aliyun::AliyunRouteCloud`] and, for tests, by
//! `MockRouteCloud` (feature `mock`). Writes report one result per route, so that a batch that fails for some
//! entries and succeeds for others is handled entry by entry.

use std::{collections::BTreeMap, fmt, future::Future};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Most routes one write call may carry (the batch APIs take at most 50 entries).
pub const MAX_BATCH: usize = 50;

/// A route table of the VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    /// Route table ID (`vtb-...`).
    pub id: String,
    /// Whether this is the VPC's system route table (used by every vSwitch not bound to a custom table).
    pub system: bool,
    /// vSwitches bound to the table, as the cloud lists them.
    pub vswitch_ids: Vec<String>,
}

/// A vSwitch of the VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VSwitch {
    /// vSwitch ID (`vsw-...`).
    pub id: String,
    /// IPv4 CIDR block.
    pub ipv4_cidr: Option<Ipv4Net>,
    /// IPv6 CIDR block, when IPv6 is enabled on the vSwitch.
    pub ipv6_cidr: Option<Ipv6Net>,
    /// The route table the vSwitch uses, when the cloud says.
    pub route_table_id: Option<String>,
}

/// Where a cloud route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NextHop {
    /// One ECS instance: the only kind of route the controller creates or deletes.
    Instance(String),
    /// Anything else (NAT gateway, HaVip, ENI, ECMP, ...): never touched.
    Other {
        /// The cloud's next hop type (`NatGateway`, `HaVip`, `Ecmp`, ...).
        kind: String,
        /// The next hop's ID, empty for ECMP.
        id: String,
    },
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NextHop::Instance(id) => f.write_str(id),
            NextHop::Other { kind, id } if id.is_empty() => write!(f, "{kind}"),
            NextHop::Other { kind, id } => write!(f, "{kind} {id}"),
        }
    }
}

/// Whether a route is settled or still being written by the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteStatus {
    /// `Available`.
    Available,
    /// `Pending`, `Creating`, `Modifying` or `Deleting`: the table refuses writes until it settles.
    InProgress,
    /// A status the controller does not know.
    Unknown,
}

impl RouteStatus {
    /// Maps the cloud's status text.
    pub fn from_cloud(status: &str) -> Self {
        const IN_PROGRESS: [&str; 4] = ["Pending", "Creating", "Modifying", "Deleting"];
        if status.eq_ignore_ascii_case("Available") {
            RouteStatus::Available
        } else if IN_PROGRESS.iter().any(|s| status.eq_ignore_ascii_case(s)) {
            RouteStatus::InProgress
        } else {
            RouteStatus::Unknown
        }
    }
}

/// A custom route as the cloud lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CloudRoute {
    /// Route table holding the route.
    pub table_id: String,
    /// Destination CIDR block (normalized: host bits cleared).
    pub destination: IpNet,
    /// Where it sends traffic.
    pub next_hop: NextHop,
    /// Settled or in progress.
    pub status: RouteStatus,
    /// Route entry ID (`rte-...`), empty when unknown.
    pub entry_id: String,
}

impl CloudRoute {
    /// The instance this route points to, when its next hop is one ECS instance.
    pub fn next_hop_instance(&self) -> Option<&str> {
        match &self.next_hop {
            NextHop::Instance(id) => Some(id),
            NextHop::Other { .. } => None,
        }
    }

    /// The route as a [`RouteKey`], when its next hop is an instance.
    pub fn key(&self) -> Option<RouteKey> {
        self.next_hop_instance().map(|i| RouteKey::new(&self.table_id, self.destination, i))
    }
}

/// One instance route: table, destination, next hop instance. What the controller creates and deletes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKey {
    /// Route table.
    pub table_id: String,
    /// Destination CIDR block (normalized).
    pub destination: IpNet,
    /// Next hop ECS instance.
    pub instance_id: String,
}

impl RouteKey {
    /// The route to `destination` through `instance_id` in `table_id`.
    pub fn new(table_id: impl Into<String>, destination: IpNet, instance_id: impl Into<String>) -> Self {
        Self { table_id: table_id.into(), destination: destination.trunc(), instance_id: instance_id.into() }
    }
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.table_id, self.destination, self.instance_id)
    }
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The cloud accepted the write.
    Applied,
    /// Nothing to do: the route already existed (pointing to the same instance) or was already gone.
    AlreadyDone,
}

/// Why the cloud refused to write one route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteWriteError {
    /// The table is busy: entries are still Pending, or another task holds it. Retry once it settles.
    #[error("route table busy ({code}): {message}")]
    Busy {
        /// The cloud's error code.
        code: String,
        /// The cloud's message.
        message: String,
    },
    /// The table's route entry quota is exhausted.
    #[error("route entry quota exceeded ({code}): {message}")]
    QuotaExceeded {
        /// The cloud's error code.
        code: String,
        /// The cloud's message.
        message: String,
    },
    /// The instance cannot be the next hop (gone, stopped, in another VPC, ...).
    #[error("invalid next hop ({code}): {message}")]
    InvalidNextHop {
        /// The cloud's error code.
        code: String,
        /// The cloud's message.
        message: String,
    },
    /// Another route already holds the destination, through another next hop.
    #[error("destination already routed through {holder}")]
    DestinationTaken {
        /// The other route's next hop, as far as the cloud tells (`unknown` when it does not).
        holder: String,
    },
    /// The cloud refused the write for another reason.
    #[error("refused ({code}): {message}")]
    Rejected {
        /// The cloud's error code.
        code: String,
        /// The cloud's message.
        message: String,
    },
    /// The call failed without a verdict on this route (transport, throttling after retries, server errors).
    #[error("call failed: {message}")]
    Unavailable {
        /// What went wrong.
        message: String,
    },
    /// Not attempted: deleting the conflicting route that holds the destination failed first.
    #[error("not attempted: the conflicting route could not be deleted: {reason}")]
    BlockedByFailedDelete {
        /// Why that delete failed.
        reason: String,
    },
    /// The table stayed busy longer than the controller waits.
    #[error("route table still had entries in progress after {waited_secs}s")]
    PendingTimeout {
        /// Seconds waited.
        waited_secs: u64,
    },
}

impl RouteWriteError {
    /// A short, stable label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            RouteWriteError::Busy { .. } => "busy",
            RouteWriteError::QuotaExceeded { .. } => "quota",
            RouteWriteError::InvalidNextHop { .. } => "next_hop",
            RouteWriteError::DestinationTaken { .. } => "destination_taken",
            RouteWriteError::Rejected { .. } => "rejected",
            RouteWriteError::Unavailable { .. } => "unavailable",
            RouteWriteError::BlockedByFailedDelete { .. } => "blocked",
            RouteWriteError::PendingTimeout { .. } => "pending_timeout",
        }
    }
}

/// The result of writing one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteWrite {
    /// The route.
    pub route: RouteKey,
    /// What happened.
    pub result: Result<WriteOutcome, RouteWriteError>,
}

/// A read (or a whole call) failed.
#[derive(Debug, thiserror::Error)]
#[error("{action}: {message}")]
pub struct CloudError {
    /// The API action.
    pub action: String,
    /// The cloud's error code, when it answered with one.
    pub code: Option<String>,
    /// What went wrong.
    pub message: String,
}

impl CloudError {
    /// An error of `action` without a cloud error code.
    pub fn new(action: impl Into<String>, message: impl Into<String>) -> Self {
        Self { action: action.into(), code: None, message: message.into() }
    }
}

/// The cloud operations of the route controller. Futures are `Send`, so the controller can run on any runtime
/// thread.
pub trait RouteCloud: Send + Sync {
    /// The route tables of `vpc_id`, with their bound vSwitches.
    fn route_tables(&self, vpc_id: &str) -> impl Future<Output = Result<Vec<RouteTable>, CloudError>> + Send;

    /// The vSwitches of `vpc_id`, with their CIDR blocks.
    fn vswitches(&self, vpc_id: &str) -> impl Future<Output = Result<Vec<VSwitch>, CloudError>> + Send;

    /// The vSwitch of each of `instance_ids` (instances the cloud does not know are left out).
    fn instance_vswitches(
        &self,
        instance_ids: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, String>, CloudError>> + Send;

    /// The custom routes of `table_id` (every next hop kind, so that foreign routes are seen and left alone).
    fn routes(&self, table_id: &str) -> impl Future<Output = Result<Vec<CloudRoute>, CloudError>> + Send;

    /// Whether `table_id` has entries in progress (Pending, Deleting, ...), during which it refuses writes. With
    /// `among` (at most [`MAX_BATCH`] destinations: the ones just written) only those entries are looked at, which
    /// takes one small listing instead of paging through the whole table; empty: every entry.
    fn has_pending(&self, table_id: &str, among: &[IpNet]) -> impl Future<Output = Result<bool, CloudError>> + Send;

    /// Creates instance routes: one result per route, in order. Callers pass at most [`MAX_BATCH`] routes of one
    /// table per call; an existing route to the same instance is [`WriteOutcome::AlreadyDone`].
    fn create_routes(&self, routes: &[RouteKey]) -> impl Future<Output = Vec<RouteWrite>> + Send;

    /// Deletes instance routes: one result per route, in order; a route already gone is
    /// [`WriteOutcome::AlreadyDone`]. Same batching contract as [`RouteCloud::create_routes`].
    fn delete_routes(&self, routes: &[RouteKey]) -> impl Future<Output = Vec<RouteWrite>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_from_cloud_text() {
        assert_eq!(RouteStatus::from_cloud("Available"), RouteStatus::Available);
        for s in ["Pending", "creating", "Modifying", "DELETING"] {
            assert_eq!(RouteStatus::from_cloud(s), RouteStatus::InProgress, "{s}");
        }
        assert_eq!(RouteStatus::from_cloud("Weird"), RouteStatus::Unknown);
    }

    #[test]
    fn route_keys_normalize_and_print() {
        let key = RouteKey::new("vtb-1", "10.244.1.7/24".parse().unwrap(), "i-1");
        assert_eq!(key.destination.to_string(), "10.244.1.0/24");
        assert_eq!(key.to_string(), "vtb-1 10.244.1.0/24 -> i-1");
        let route = CloudRoute {
            table_id: "vtb-1".into(),
            destination: "10.0.0.0/8".parse().unwrap(),
            next_hop: NextHop::Other { kind: "NatGateway".into(), id: "ngw-1".into() },
            status: RouteStatus::Available,
            entry_id: String::new(),
        };
        assert_eq!(route.key(), None);
        assert_eq!(route.next_hop.to_string(), "NatGateway ngw-1");
    }
}
