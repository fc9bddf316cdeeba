//! Which route tables the controller manages.
//!
//! 1. `routeTableIDs` from the cloud-config, when set: exactly those.
//! 2. Otherwise every route table of the VPC used by a vSwitch that hosts cluster nodes. A node's vSwitch is found
//!    without any per-node cloud call, by the node's `InternalIP` falling inside a vSwitch CIDR (vSwitch CIDRs of a
//!    VPC never overlap); nodes that match none are looked up with `DescribeInstances` (their instance's
//!    `VpcAttributes.VSwitchId`), which the controller caches per instance. A vSwitch uses the custom table it is
//!    bound to, else the system table.
//! 3. Otherwise (no node located yet) the VPC's system table.
//!
//! Tables that stop hosting nodes are no longer managed; their routes are left as they are.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    net::IpAddr,
};

use crate::cloud::{RouteTable, VSwitch};

/// The VPC's route tables and vSwitches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    /// Route tables of the VPC.
    pub tables: Vec<RouteTable>,
    /// vSwitches of the VPC.
    pub vswitches: Vec<VSwitch>,
}

/// How the managed tables were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableSource {
    /// `routeTableIDs` of the cloud-config.
    Configured,
    /// The tables of the vSwitches hosting nodes.
    NodeVSwitches,
    /// The VPC's system table, for want of located nodes.
    SystemTable,
}

impl fmt::Display for TableSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TableSource::Configured => "routeTableIDs of the cloud-config",
            TableSource::NodeVSwitches => "route tables of the vSwitches hosting nodes",
            TableSource::SystemTable => "the VPC's system route table",
        })
    }
}

/// The managed tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSelection {
    /// Route table IDs, sorted.
    pub table_ids: Vec<String>,
    /// How they were chosen.
    pub source: TableSource,
}

impl Topology {
    /// The vSwitch of each instance whose internal IPs fall inside a vSwitch CIDR.
    pub fn locate_by_ip(&self, internal_ips: &BTreeMap<String, Vec<IpAddr>>) -> BTreeMap<String, String> {
        internal_ips
            .iter()
            .filter_map(|(instance, ips)| {
                let vswitch = ips.iter().find_map(|ip| self.vswitch_of_ip(*ip))?;
                Some((instance.clone(), vswitch.id.clone()))
            })
            .collect()
    }

    fn vswitch_of_ip(&self, ip: IpAddr) -> Option<&VSwitch> {
        self.vswitches.iter().find(|v| match ip {
            IpAddr::V4(ip) => v.ipv4_cidr.is_some_and(|c| c.contains(&ip)),
            IpAddr::V6(ip) => v.ipv6_cidr.is_some_and(|c| c.contains(&ip)),
        })
    }

    /// The route table vSwitch `vswitch_id` uses: its custom table, else the system table.
    pub fn table_of_vswitch(&self, vswitch_id: &str) -> Option<&str> {
        let custom = self.tables.iter().find(|t| !t.system && t.vswitch_ids.iter().any(|v| v == vswitch_id));
        let declared = || {
            let id = self.vswitches.iter().find(|v| v.id == vswitch_id)?.route_table_id.as_deref()?;
            self.tables.iter().find(|t| t.id == id)
        };
        custom.or_else(declared).or_else(|| self.system_table()).map(|t| t.id.as_str())
    }

    /// The VPC's system route table.
    pub fn system_table(&self) -> Option<&RouteTable> {
        self.tables.iter().find(|t| t.system)
    }

    /// The tables to manage, given the vSwitch of each located instance; `None` when the VPC has no table at all.
    pub fn select(&self, node_vswitches: &BTreeMap<String, String>) -> Option<TableSelection> {
        let used: BTreeSet<String> =
            node_vswitches.values().filter_map(|v| self.table_of_vswitch(v)).map(str::to_owned).collect();
        if !used.is_empty() {
            return Some(TableSelection { table_ids: used.into_iter().collect(), source: TableSource::NodeVSwitches });
        }
        let system = self.system_table()?;
        Some(TableSelection { table_ids: vec![system.id.clone()], source: TableSource::SystemTable })
    }
}

/// The configured tables (`routeTableIDs`), deduplicated and sorted.
pub fn configured(route_table_ids: &[String]) -> TableSelection {
    let ids: BTreeSet<String> = route_table_ids.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    TableSelection { table_ids: ids.into_iter().collect(), source: TableSource::Configured }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(id: &str, system: bool, vswitches: &[&str]) -> RouteTable {
        RouteTable { id: id.into(), system, vswitch_ids: vswitches.iter().map(|s| s.to_string()).collect() }
    }

    fn vswitch(id: &str, v4: &str, v6: Option<&str>, table: Option<&str>) -> VSwitch {
        VSwitch {
            id: id.into(),
            ipv4_cidr: v4.parse().ok(),
            ipv6_cidr: v6.and_then(|c| c.parse().ok()),
            route_table_id: table.map(String::from),
        }
    }

    fn topology() -> Topology {
        Topology {
            tables: vec![
                table("vtb-sys", true, &["vsw-a", "vsw-b"]),
                table("vtb-c", false, &["vsw-c"]),
                table("vtb-d", false, &[]),
            ],
            vswitches: vec![
                vswitch("vsw-a", "192.168.0.0/24", Some("2408:4000:1::/64"), None),
                vswitch("vsw-b", "192.168.1.0/24", None, Some("vtb-sys")),
                vswitch("vsw-c", "192.168.2.0/24", None, Some("vtb-c")),
                vswitch("vsw-d", "192.168.3.0/24", None, Some("vtb-d")),
            ],
        }
    }

    fn ips(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<IpAddr>> {
        pairs.iter().map(|(i, ips)| (i.to_string(), ips.iter().map(|ip| ip.parse().unwrap()).collect())).collect()
    }

    #[test]
    fn nodes_are_located_by_internal_ip() {
        let located = topology().locate_by_ip(&ips(&[
            ("i-1", &["192.168.0.7"]),
            ("i-2", &["10.9.9.9", "192.168.2.5"]),
            ("i-3", &["2408:4000:1::9"]),
            ("i-4", &["172.16.0.1"]),
            ("i-5", &[]),
        ]));
        let expected: BTreeMap<String, String> =
            [("i-1", "vsw-a"), ("i-2", "vsw-c"), ("i-3", "vsw-a")].map(|(a, b)| (a.into(), b.into())).into();
        assert_eq!(located, expected);
    }

    #[test]
    fn a_vswitch_uses_its_custom_table_else_the_system_table() {
        let t = topology();
        assert_eq!(t.table_of_vswitch("vsw-a"), Some("vtb-sys"));
        assert_eq!(t.table_of_vswitch("vsw-c"), Some("vtb-c"));
        assert_eq!(t.table_of_vswitch("vsw-d"), Some("vtb-d"), "bound as the vSwitch itself says");
        assert_eq!(t.table_of_vswitch("vsw-unknown"), Some("vtb-sys"));
    }

    #[test]
    fn every_table_hosting_nodes_is_managed() {
        let t = topology();
        let located: BTreeMap<String, String> =
            [("i-1", "vsw-a"), ("i-2", "vsw-c"), ("i-3", "vsw-b")].map(|(a, b)| (a.into(), b.into())).into();
        let selection = t.select(&located).unwrap();
        assert_eq!(selection.table_ids, vec!["vtb-c", "vtb-sys"]);
        assert_eq!(selection.source, TableSource::NodeVSwitches);
    }

    #[test]
    fn without_located_nodes_the_system_table_is_managed() {
        let selection = topology().select(&BTreeMap::new()).unwrap();
        assert_eq!(selection.table_ids, vec!["vtb-sys"]);
        assert_eq!(selection.source, TableSource::SystemTable);
        assert!(Topology::default().select(&BTreeMap::new()).is_none());
    }

    #[test]
    fn configured_tables_win_and_are_cleaned_up() {
        let selection = configured(&[" vtb-b".into(), "vtb-a".into(), "".into(), "vtb-b".into()]);
        assert_eq!(selection.table_ids, vec!["vtb-a", "vtb-b"]);
        assert_eq!(selection.source, TableSource::Configured);
        assert!(selection.source.to_string().contains("routeTableIDs"));
    }
}
