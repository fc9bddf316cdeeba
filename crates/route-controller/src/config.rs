//! Configuration, and the startup validation of `--cluster-cidr` (as upstream does it).

use std::time::Duration;

use ipnet::IpNet;

use crate::{
    apply::ApplySettings,
    error::{Error, Result},
};

/// The route controller's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteControllerConfig {
    /// Region of the cluster (cloud-config `Global.region`); ECS nodes of other regions get no routes.
    pub region: String,
    /// The cluster's VPC (cloud-config `Global.vpcid`, or the metadata server's `vpc-id`).
    pub vpc_id: String,
    /// Route tables to program (cloud-config `Global.routeTableIDs`, split on commas); empty: discover them.
    pub route_table_ids: Vec<String>,
    /// `--cluster-cidr`: one CIDR, or an IPv4 and an IPv6 one. Only routes inside them are ever deleted.
    pub cluster_cidrs: Vec<IpNet>,
    /// `--route-reconciliation-period`: full reconcile period (default 5 minutes, as the Go CCM).
    pub reconciliation_period: Duration,
    /// How long node changes are collected before one reconcile pass handles them all (default 1 s).
    pub debounce: Duration,
    /// First retry delay after a pass with failures; doubles up to `reconciliation_period` (default 10 s).
    pub retry_initial: Duration,
    /// How writes wait for busy route tables.
    pub apply: ApplySettings,
}

impl Default for RouteControllerConfig {
    fn default() -> Self {
        Self {
            region: String::new(),
            vpc_id: String::new(),
            route_table_ids: Vec::new(),
            cluster_cidrs: Vec::new(),
            reconciliation_period: Duration::from_secs(300),
            debounce: Duration::from_secs(1),
            retry_initial: Duration::from_secs(10),
            apply: ApplySettings::default(),
        }
    }
}

impl RouteControllerConfig {
    /// Checks everything the controller needs before it starts.
    pub fn validate(&self) -> Result<()> {
        validate_cluster_cidrs(&self.cluster_cidrs)?;
        if self.vpc_id.trim().is_empty() {
            return Err(Error::Config(
                "no VPC ID: set `vpcid` in the cloud-config (or run where the ECS metadata server answers)".into(),
            ));
        }
        if self.reconciliation_period.is_zero() {
            return Err(Error::Config("--route-reconciliation-period must be positive".into()));
        }
        Ok(())
    }
}

/// Splits the cloud-config's `routeTableIDs` (`"vtb-a,vtb-b"`).
pub fn parse_route_table_ids(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Parses `--cluster-cidr` (a comma-separated list) and validates it like upstream does.
pub fn parse_cluster_cidrs(value: &str) -> Result<Vec<IpNet>> {
    let cidrs = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>().map(|n| n.trunc()).map_err(|_| {
                Error::ClusterCidr(format!("`{s}` is not a CIDR; expected e.g. --cluster-cidr=10.244.0.0/16"))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    validate_cluster_cidrs(&cidrs)?;
    Ok(cidrs)
}

/// Upstream's rules: at least one CIDR, at most two, and two only as an IPv4 + IPv6 pair. Also refuses a
/// catch-all `/0`, which would make every instance route of the VPC the controller's to delete.
pub fn validate_cluster_cidrs(cidrs: &[IpNet]) -> Result<()> {
    match cidrs {
        [] => Err(Error::ClusterCidr(
            "it is empty, but routes are configured (--configure-cloud-routes=true); set it to the pod network, \
             e.g. --cluster-cidr=10.244.0.0/16 (dual-stack: --cluster-cidr=10.244.0.0/16,fd00:10:244::/56), or \
             disable the route controller with --configure-cloud-routes=false"
                .into(),
        )),
        [_, _, _, ..] => Err(Error::ClusterCidr(format!(
            "{} CIDRs given, at most two are allowed (one IPv4 and one IPv6)",
            cidrs.len()
        ))),
        [a, b] if a.addr().is_ipv4() == b.addr().is_ipv4() => Err(Error::ClusterCidr(format!(
            "{a} and {b} are of the same IP family; two CIDRs must be one IPv4 and one IPv6 (dual-stack)"
        ))),
        _ => match cidrs.iter().find(|c| c.prefix_len() == 0) {
            Some(c) => Err(Error::ClusterCidr(format!(
                "{c} covers every address; give the pod network itself, e.g. --cluster-cidr=10.244.0.0/16"
            ))),
            None => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_cidrs_are_validated_like_upstream() {
        assert_eq!(parse_cluster_cidrs("10.244.0.0/16").unwrap(), vec!["10.244.0.0/16".parse::<IpNet>().unwrap()]);
        assert_eq!(parse_cluster_cidrs(" 10.244.0.0/16 , fd00:10:244::/56 ").unwrap().len(), 2);
        assert_eq!(parse_cluster_cidrs("10.244.3.4/16").unwrap()[0].to_string(), "10.244.0.0/16");
        let message = |v: &str| parse_cluster_cidrs(v).unwrap_err().to_string();
        assert!(message("").contains("--cluster-cidr") && message("").contains("--configure-cloud-routes=false"));
        assert!(message("10.244.0.0/16,10.245.0.0/16").contains("same IP family"));
        assert!(message("10.244.0.0/16,fd00::/56,10.1.0.0/16").contains("at most two"));
        assert!(message("10.244.0.0").contains("not a CIDR"));
        assert!(message("0.0.0.0/0").contains("covers every address"));
    }

    #[test]
    fn the_config_needs_a_vpc_and_cidrs() {
        let mut config = RouteControllerConfig {
            vpc_id: "vpc-1".into(),
            cluster_cidrs: vec!["10.244.0.0/16".parse().unwrap()],
            ..Default::default()
        };
        assert!(config.validate().is_ok());
        assert_eq!(config.reconciliation_period, Duration::from_secs(300));
        config.vpc_id.clear();
        assert!(config.validate().unwrap_err().to_string().contains("vpcid"));
        config.vpc_id = "vpc-1".into();
        config.cluster_cidrs.clear();
        assert!(matches!(config.validate(), Err(Error::ClusterCidr(_))));
    }

    #[test]
    fn route_table_ids_split_on_commas() {
        assert_eq!(parse_route_table_ids("vtb-a, vtb-b,,"), vec!["vtb-a", "vtb-b"]);
        assert!(parse_route_table_ids("").is_empty());
    }
}
