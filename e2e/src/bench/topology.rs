//! The benchmark's cluster, deterministic from its sizes: the VPC and vSwitches, one ECS instance and one Node
//! per index (name, address, pod CIDR), which nodes churn, and where each Service's endpoints run.

use std::net::Ipv4Addr;

use crate::error::{Error, Result};

/// Region of the benchmark's cloud.
pub const REGION: &str = "cn-hangzhou";
/// Account id of the seed.
pub const ACCOUNT_ID: &str = "1234567890123456";
/// The VPC.
pub const VPC_ID: &str = "vpc-bp1benchvpc00000001";
/// The VPC's CIDR: a /16, room for 16 /20 vSwitches.
pub const VPC_CIDR: &str = "10.0.0.0/16";
/// The VPC's (system) route table, the one route table the CCM manages (`routeTableIDs`).
pub const ROUTE_TABLE_ID: &str = "vtb-bp1benchvtb00000001";
/// The pod network: /24 per node, so at most [`MAX_NODES`] nodes.
pub const CLUSTER_CIDR: &str = "172.16.0.0/12";
/// `Global.clusterID` of the cloud-config.
pub const CLUSTER_ID: &str = "c-bench";
/// Zones, one vSwitch (a /20) each.
pub const ZONES: [&str; 4] = ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j", "cn-hangzhou-k"];
/// Most nodes ever present (initial plus churn): the /24s of [`CLUSTER_CIDR`].
pub const MAX_NODES: usize = 4096;
/// Namespace prefix of the benchmark's Services.
pub const NAMESPACE_PREFIX: &str = "bench";
/// Instance type of every instance.
pub const INSTANCE_TYPE: &str = "ecs.g7.large";

/// One node and its instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// Index (0.. initial, then churn additions).
    pub index: usize,
    /// Node name, also the instance's host name.
    pub name: String,
    /// ECS instance id.
    pub instance_id: String,
    /// Primary private address (the node's InternalIP).
    pub private_ip: String,
    /// `spec.podCIDR`.
    pub pod_cidr: String,
    /// vSwitch.
    pub vswitch_id: String,
    /// Zone.
    pub zone: &'static str,
}

impl NodeSpec {
    /// `spec.providerID` as a kubelet with `--provider-id` sets it.
    pub fn provider_id(&self) -> String {
        format!("{REGION}.{}", self.instance_id)
    }

    /// The address of pod `n` on this node (inside its pod CIDR).
    pub fn pod_ip(&self, n: usize) -> String {
        let base = u32::from(pod_network(self.index));
        Ipv4Addr::from(base + 10 + (n as u32 % 200)).to_string()
    }
}

/// A vSwitch of the VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VSwitchSpec {
    /// Id.
    pub id: String,
    /// Zone.
    pub zone: &'static str,
    /// CIDR (a /20 of the VPC).
    pub cidr: String,
}

/// Sizes of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    /// Nodes registered in S1.
    pub nodes: usize,
    /// Nodes removed and added in S3.
    pub churn: usize,
    /// LoadBalancer Services created in S2.
    pub services: usize,
    /// Ready endpoints per Service, each on its own node.
    pub endpoints_per_service: usize,
}

fn pod_network(index: usize) -> Ipv4Addr {
    // 172.16.0.0 + index * 256; index < MAX_NODES keeps it inside 172.16.0.0/12.
    Ipv4Addr::from(u32::from(Ipv4Addr::new(172, 16, 0, 0)) + (index as u32) * 256)
}

impl Topology {
    /// Checks the sizes fit the address plan.
    pub fn new(nodes: usize, churn: usize, services: usize, endpoints_per_service: usize) -> Result<Self> {
        if nodes == 0 {
            return Err(Error::Other("--nodes must be at least 1".into()));
        }
        if nodes + churn > MAX_NODES {
            return Err(Error::Other(format!(
                "{nodes} nodes plus {churn} churn exceed the {MAX_NODES} /24 pod CIDRs of {CLUSTER_CIDR}"
            )));
        }
        if churn > nodes {
            return Err(Error::Other(format!("--churn {churn} is more than --nodes {nodes}")));
        }
        if endpoints_per_service > nodes {
            return Err(Error::Other(format!(
                "--endpoints-per-service {endpoints_per_service} is more than --nodes {nodes}"
            )));
        }
        Ok(Self { nodes, churn, services, endpoints_per_service })
    }

    /// The vSwitches, one per zone.
    pub fn vswitches() -> Vec<VSwitchSpec> {
        ZONES
            .iter()
            .enumerate()
            .map(|(j, zone)| VSwitchSpec {
                id: format!("vsw-bp1benchvsw0000000{j}"),
                zone,
                cidr: format!("10.0.{}.0/20", j * 16),
            })
            .collect()
    }

    /// `Global.vswitchid`: `zone:vsw` pairs.
    pub fn vswitch_config() -> String {
        Self::vswitches().iter().map(|v| format!("{}:{}", v.zone, v.id)).collect::<Vec<_>>().join(",")
    }

    /// Node (and instance) `index`.
    pub fn node(&self, index: usize) -> NodeSpec {
        let zones = ZONES.len();
        let (j, q) = (index % zones, index / zones);
        let base = u32::from(Ipv4Addr::new(10, 0, (j * 16) as u8, 0));
        NodeSpec {
            index,
            name: format!("bench-node-{index:05}"),
            instance_id: format!("i-bp1bench{index:010}"),
            private_ip: Ipv4Addr::from(base + 10 + q as u32).to_string(),
            pod_cidr: format!("{}/24", pod_network(index)),
            vswitch_id: format!("vsw-bp1benchvsw0000000{j}"),
            zone: ZONES[j],
        }
    }

    /// Indices of the nodes registered in S1.
    pub fn initial(&self) -> Vec<usize> {
        (0..self.nodes).collect()
    }

    /// Indices of the nodes S3 removes: spread evenly over the initial ones.
    pub fn removed(&self) -> Vec<usize> {
        (0..self.churn).map(|r| r * self.nodes / self.churn.max(1)).collect()
    }

    /// Indices of the nodes S3 adds.
    pub fn added(&self) -> Vec<usize> {
        (self.nodes..self.nodes + self.churn).collect()
    }

    /// Indices of the nodes present after S3.
    pub fn after_churn(&self) -> Vec<usize> {
        let removed = self.removed();
        (0..self.nodes).filter(|i| !removed.contains(i)).chain(self.added()).collect()
    }

    /// Name of Service `i`.
    pub fn service_name(i: usize) -> String {
        format!("bench-svc-{i:04}")
    }

    /// Nodes running Service `i`'s endpoints in S2: `endpoints_per_service` consecutive nodes.
    pub fn endpoints(&self, i: usize) -> Vec<usize> {
        (0..self.endpoints_per_service).map(|j| (i * self.endpoints_per_service + j) % self.nodes).collect()
    }

    /// Nodes running Service `i`'s endpoints after S3: each endpoint of a removed node moved to the node added
    /// in its place.
    pub fn endpoints_after_churn(&self, i: usize) -> Vec<usize> {
        let removed = self.removed();
        let added = self.added();
        self.endpoints(i)
            .into_iter()
            .map(|n| removed.iter().position(|r| *r == n).map(|p| added[p]).unwrap_or(n))
            .collect()
    }

    /// Services with an endpoint on a removed node (their backends change in S3).
    pub fn services_touched_by_churn(&self) -> Vec<usize> {
        let removed = self.removed();
        (0..self.services).filter(|i| self.endpoints(*i).iter().any(|n| removed.contains(n))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_get_distinct_addresses_in_their_vswitch_and_distinct_pod_cidrs() {
        let t = Topology::new(1000, 50, 200, 3).expect("topology");
        let a = t.node(0);
        assert_eq!(a.private_ip, "10.0.0.10");
        assert_eq!(a.pod_cidr, "172.16.0.0/24");
        assert_eq!(a.vswitch_id, Topology::vswitches()[0].id);
        let b = t.node(5);
        assert_eq!(b.private_ip, "10.0.16.11");
        assert_eq!(b.zone, "cn-hangzhou-i");
        assert_eq!(t.node(4095).pod_cidr, "172.31.255.0/24");
        let ips: std::collections::BTreeSet<_> = (0..1050).map(|i| t.node(i).private_ip).collect();
        assert_eq!(ips.len(), 1050);
        assert_eq!(t.node(3).pod_ip(1), "172.16.3.11");
    }

    #[test]
    fn churn_replaces_spread_nodes_and_moves_their_endpoints() {
        let t = Topology::new(100, 50, 20, 3).expect("topology");
        let removed = t.removed();
        assert_eq!(removed.len(), 50);
        assert_eq!(&removed[..3], &[0, 2, 4]);
        assert_eq!(t.added(), (100..150).collect::<Vec<_>>());
        assert_eq!(t.after_churn().len(), 100);
        assert_eq!(t.endpoints(0), vec![0, 1, 2]);
        assert_eq!(t.endpoints_after_churn(0), vec![100, 1, 101]);
        assert!(t.services_touched_by_churn().contains(&0));
    }

    #[test]
    fn sizes_are_checked() {
        assert!(Topology::new(4090, 50, 1, 1).is_err());
        assert!(Topology::new(10, 11, 1, 1).is_err());
        assert!(Topology::new(0, 0, 0, 0).is_err());
    }
}
