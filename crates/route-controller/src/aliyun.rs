//! The adapter: [`RouteCloud`] over [`aliyun_api::Client`] (VPC `2016-04-28` and ECS `DescribeInstances`).
//!
//! * One route: `CreateRouteEntry` / `DeleteRouteEntry`. Several: `CreateRouteEntries` / `DeleteRouteEntries`,
//!   at most 50 a call, with per-entry failures read from `FailedRouteEntries`.
//! * Error codes, from single calls and batch entries alike, become typed outcomes: a duplicate destination is
//!   `AlreadyDone` when the existing route points to the same instance (checked by listing) and
//!   `DestinationTaken` otherwise; a missing route on delete is `AlreadyDone`; status and task conflicts are
//!   `Busy` (retried once the table settles); quota and next-hop errors keep the cloud's message.

use std::collections::BTreeMap;

use aliyun_api::{
    Client,
    ecs::DescribeInstances,
    vpc::{
        self, CreateRouteEntries, CreateRouteEntry, DeleteRouteEntries, DeleteRouteEntry, DescribeRouteEntryList,
        DescribeRouteTableList, DescribeVSwitches, NewRouteEntry, RouteEntryRef,
    },
};
use ipnet::IpNet;
use tracing::{debug, warn};

use crate::cloud::{
    CloudError, CloudRoute, MAX_BATCH, NextHop, RouteCloud, RouteKey, RouteStatus, RouteTable, RouteWrite,
    RouteWriteError, VSwitch, WriteOutcome,
};

/// [`RouteCloud`] for Alibaba Cloud.
#[derive(Debug, Clone)]
pub struct AliyunRouteCloud {
    client: Client,
}

impl AliyunRouteCloud {
    /// An adapter calling through `client` (whose region is the cluster's).
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// What a write's error code means for one route.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CodeMeaning {
    /// The destination is taken: ours or not, to be checked.
    Duplicate,
    /// The route is already gone.
    NotFound,
    /// A typed error.
    Error(RouteWriteError),
}

/// Codes meaning "the table (or VPC) is busy with another change; try again once it settles".
const BUSY_CODES: [&str; 12] = [
    "IncorrectRouteEntryStatus",
    "TaskConflict",
    "OperationConflict",
    "IncorrectVpcStatus",
    "IncorrectVSwitchStatus",
    "IncorrectStatus.RouteTableStatus",
    "IncorrectStatus.RouteEntryStatus",
    "OperationFailed.DistibuteLock",
    "OperationFailed.DistributeLock",
    "LastTokenProcessing",
    "OperationDenied.OtherSubnetProcessing",
    "VPC_ROUTE_ENTRY_STATUS_ERROR",
];

/// Reads an error code of `CreateRouteEntry`/`DeleteRouteEntry` or of one `FailedRouteEntries` item.
fn classify_code(code: &str, message: &str) -> CodeMeaning {
    let upper = code.to_ascii_uppercase();
    let error = |make: fn(String, String) -> RouteWriteError| CodeMeaning::Error(make(code.into(), message.into()));
    if upper.contains("NEXTHOP") || upper.contains("NEXT_HOP") || upper == "INVALIDINSTANCEID.NOTFOUND" {
        return error(|code, message| RouteWriteError::InvalidNextHop { code, message });
    }
    if upper == "INCORRECTINSTANCESTATUS" || upper.contains("INSTANCE_STATUS") {
        return error(|code, message| RouteWriteError::InvalidNextHop { code, message });
    }
    if upper.contains("QUOTA") {
        return error(|code, message| RouteWriteError::QuotaExceeded { code, message });
    }
    if upper.contains("DUPLICATE") {
        return CodeMeaning::Duplicate;
    }
    if upper == "INVALIDROUTEENTRY.NOTFOUND" || upper.contains("ENTRY_NOT_EXIST") || upper.contains("ENTRY.NOTEXIST") {
        return CodeMeaning::NotFound;
    }
    if BUSY_CODES.iter().any(|c| c.eq_ignore_ascii_case(code)) || upper.starts_with("THROTTLING") {
        return error(|code, message| RouteWriteError::Busy { code, message });
    }
    error(|code, message| RouteWriteError::Rejected { code, message })
}

/// The meaning of a failed call, for every route it carried.
fn classify_call_error(error: &aliyun_api::Error) -> CodeMeaning {
    match error.api() {
        Some(api) if !api.is_transient() || api.is_throttling() => classify_code(&api.code, &api.message),
        _ => CodeMeaning::Error(RouteWriteError::Unavailable { message: error.to_string() }),
    }
}

fn cloud_error(action: &str, error: aliyun_api::Error) -> CloudError {
    CloudError { action: action.to_owned(), code: error.code().map(str::to_owned), message: error.to_string() }
}

/// A route entry as the port models it; `None` for destinations that are not CIDRs (prefix lists).
fn to_cloud_route(table_id: &str, entry: vpc::RouteEntry) -> Option<CloudRoute> {
    let destination = entry.destination_cidr_block.parse::<IpNet>().ok()?.trunc();
    let next_hop = match entry.instance_next_hop() {
        Some(instance) => NextHop::Instance(instance.to_owned()),
        None => match entry.next_hops.next_hop.as_slice() {
            [hop] => NextHop::Other { kind: hop.next_hop_type.clone(), id: hop.next_hop_id.clone() },
            [] => NextHop::Other { kind: entry.route_entry_type.clone(), id: String::new() },
            _ => NextHop::Other { kind: "Ecmp".into(), id: String::new() },
        },
    };
    Some(CloudRoute {
        table_id: table_id.to_owned(),
        destination,
        next_hop,
        status: RouteStatus::from_cloud(&entry.status),
        entry_id: entry.route_entry_id,
    })
}

fn same_destination(text: &str, destination: IpNet) -> bool {
    text.parse::<IpNet>().is_ok_and(|d| d.trunc() == destination)
        || text.parse::<std::net::IpAddr>().is_ok_and(|ip| IpNet::from(ip) == destination)
}

impl AliyunRouteCloud {
    async fn list_entries(&self, request: DescribeRouteEntryList) -> Result<Vec<vpc::RouteEntry>, CloudError> {
        self.client.collect_next_token(request).await.map_err(|e| cloud_error("DescribeRouteEntryList", e))
    }

    async fn create_one(&self, route: &RouteKey) -> Vec<RouteWrite> {
        let request = CreateRouteEntry::to_instance(&route.table_id, route.destination.to_string(), &route.instance_id);
        let meaning = match self.client.call(&request).await {
            Ok(_) => None,
            Err(e) => Some(classify_call_error(&e)),
        };
        self.resolve_creates(vec![(route.clone(), meaning)]).await
    }

    async fn create_batch(&self, routes: &[RouteKey]) -> Vec<RouteWrite> {
        let entries: Vec<NewRouteEntry> = routes
            .iter()
            .map(|r| NewRouteEntry::to_instance(&r.table_id, r.destination.to_string(), &r.instance_id))
            .collect();
        let meanings: Vec<(RouteKey, Option<CodeMeaning>)> =
            match self.client.call(&CreateRouteEntries { route_entries: entries }).await {
                Ok(response) => routes
                    .iter()
                    .map(|route| {
                        let failed = response.failed_route_entries.iter().find(|f| {
                            same_destination(&f.dst_cidr_block, route.destination)
                                && (f.next_hop.is_empty() || f.next_hop == route.instance_id)
                        });
                        (route.clone(), failed.map(|f| classify_code(&f.failed_code, &f.failed_message)))
                    })
                    .collect(),
                Err(e) => {
                    let meaning = classify_call_error(&e);
                    routes.iter().map(|r| (r.clone(), Some(meaning.clone()))).collect()
                }
            };
        self.resolve_creates(meanings).await
    }

    /// Turns create meanings into results; duplicates are checked against the table's routes.
    async fn resolve_creates(&self, meanings: Vec<(RouteKey, Option<CodeMeaning>)>) -> Vec<RouteWrite> {
        let duplicate_tables: Vec<String> = meanings
            .iter()
            .filter(|(_, m)| *m == Some(CodeMeaning::Duplicate))
            .map(|(r, _)| r.table_id.clone())
            .collect();
        let mut existing: BTreeMap<String, Result<Vec<CloudRoute>, String>> = BTreeMap::new();
        for table in duplicate_tables {
            if let std::collections::btree_map::Entry::Vacant(slot) = existing.entry(table) {
                let listed = self.routes(slot.key()).await.map_err(|e| e.to_string());
                slot.insert(listed);
            }
        }
        meanings
            .into_iter()
            .map(|(route, meaning)| {
                let result = match meaning {
                    None => Ok(WriteOutcome::Applied),
                    Some(CodeMeaning::Duplicate) => duplicate_outcome(&route, existing.get(&route.table_id)),
                    Some(CodeMeaning::NotFound) => Err(RouteWriteError::Rejected {
                        code: "NotFound".into(),
                        message: "the route table or next hop was not found".into(),
                    }),
                    Some(CodeMeaning::Error(e)) => Err(e),
                };
                RouteWrite { route, result }
            })
            .collect()
    }

    async fn delete_one(&self, route: &RouteKey) -> Vec<RouteWrite> {
        let request =
            DeleteRouteEntry::by_destination(&route.table_id, route.destination.to_string(), &route.instance_id);
        let result = match self.client.call(&request).await {
            Ok(_) => Ok(WriteOutcome::Applied),
            Err(e) => delete_outcome(classify_call_error(&e)),
        };
        vec![RouteWrite { route: route.clone(), result }]
    }

    async fn delete_batch(&self, routes: &[RouteKey]) -> Vec<RouteWrite> {
        let entries: Vec<RouteEntryRef> = routes
            .iter()
            .map(|r| RouteEntryRef::by_destination(&r.table_id, r.destination.to_string(), &r.instance_id))
            .collect();
        match self.client.call(&DeleteRouteEntries { route_entries: entries }).await {
            Ok(response) => routes
                .iter()
                .map(|route| {
                    let failed = response.failed_route_entries.iter().find(|f| {
                        same_destination(&f.dst_cidr_block, route.destination)
                            && (f.next_hop.is_empty() || f.next_hop == route.instance_id)
                    });
                    let result = match failed {
                        None => Ok(WriteOutcome::Applied),
                        Some(f) => delete_outcome(classify_code(&f.failed_code, &f.failed_message)),
                    };
                    RouteWrite { route: route.clone(), result }
                })
                .collect(),
            Err(e) => {
                let result = delete_outcome(classify_call_error(&e));
                routes.iter().map(|r| RouteWrite { route: r.clone(), result: result.clone() }).collect()
            }
        }
    }
}

fn delete_outcome(meaning: CodeMeaning) -> Result<WriteOutcome, RouteWriteError> {
    match meaning {
        CodeMeaning::NotFound => Ok(WriteOutcome::AlreadyDone),
        CodeMeaning::Duplicate => {
            Err(RouteWriteError::Rejected { code: "Duplicate".into(), message: "unexpected on delete".into() })
        }
        CodeMeaning::Error(e) => Err(e),
    }
}

/// A duplicate destination is fine when the route there points to our instance.
fn duplicate_outcome(
    route: &RouteKey,
    listed: Option<&Result<Vec<CloudRoute>, String>>,
) -> Result<WriteOutcome, RouteWriteError> {
    let routes = match listed {
        Some(Ok(routes)) => routes,
        Some(Err(e)) => return Err(RouteWriteError::Unavailable { message: format!("checking a duplicate: {e}") }),
        None => return Err(RouteWriteError::DestinationTaken { holder: "unknown".into() }),
    };
    match routes.iter().find(|r| r.destination == route.destination) {
        Some(r) if r.next_hop_instance() == Some(route.instance_id.as_str()) => Ok(WriteOutcome::AlreadyDone),
        Some(r) => Err(RouteWriteError::DestinationTaken { holder: r.next_hop.to_string() }),
        None => Err(RouteWriteError::DestinationTaken { holder: "a route the CCM cannot list".into() }),
    }
}

impl RouteCloud for AliyunRouteCloud {
    async fn route_tables(&self, vpc_id: &str) -> Result<Vec<RouteTable>, CloudError> {
        let tables = self
            .client
            .collect_pages(DescribeRouteTableList::of_vpc(vpc_id))
            .await
            .map_err(|e| cloud_error("DescribeRouteTableList", e))?;
        Ok(tables
            .into_iter()
            .filter(|t| t.router_type.is_empty() || t.router_type.eq_ignore_ascii_case("VRouter"))
            .map(|t| RouteTable { system: t.is_system(), vswitch_ids: t.vswitch_ids.vswitch_id, id: t.route_table_id })
            .collect())
    }

    async fn vswitches(&self, vpc_id: &str) -> Result<Vec<VSwitch>, CloudError> {
        let request = DescribeVSwitches { vpc_id: Some(vpc_id.to_owned()), ..Default::default() };
        let vswitches = self.client.collect_pages(request).await.map_err(|e| cloud_error("DescribeVSwitches", e))?;
        Ok(vswitches
            .into_iter()
            .map(|v| VSwitch {
                ipv4_cidr: v.cidr_block.parse().ok(),
                ipv6_cidr: v.ipv6_cidr_block.parse().ok(),
                route_table_id: Some(v.route_table.route_table_id).filter(|t| !t.is_empty()),
                id: v.vswitch_id,
            })
            .collect())
    }

    async fn instance_vswitches(&self, instance_ids: &[String]) -> Result<BTreeMap<String, String>, CloudError> {
        let mut found = BTreeMap::new();
        for chunk in instance_ids.chunks(DescribeInstances::MAX_RESULTS as usize) {
            let instances = self
                .client
                .collect_next_token(DescribeInstances::by_ids(chunk.iter().cloned()))
                .await
                .map_err(|e| cloud_error("DescribeInstances", e))?;
            for i in instances.into_iter().filter(|i| !i.vpc_attributes.vswitch_id.is_empty()) {
                found.insert(i.instance_id, i.vpc_attributes.vswitch_id);
            }
        }
        Ok(found)
    }

    async fn routes(&self, table_id: &str) -> Result<Vec<CloudRoute>, CloudError> {
        let request = DescribeRouteEntryList {
            route_table_id: table_id.to_owned(),
            route_entry_type: Some("Custom".into()),
            max_result: Some(DescribeRouteEntryList::MAX_RESULT),
            ..Default::default()
        };
        let entries = self.list_entries(request).await?;
        let total = entries.len();
        let routes: Vec<CloudRoute> =
            entries.into_iter().filter(|e| e.is_custom()).filter_map(|e| to_cloud_route(table_id, e)).collect();
        debug!(table = table_id, total, usable = routes.len(), "listed custom routes");
        Ok(routes)
    }

    async fn has_pending(&self, table_id: &str, among: &[IpNet]) -> Result<bool, CloudError> {
        let request = DescribeRouteEntryList {
            route_table_id: table_id.to_owned(),
            // At most MAX_BATCH destinations: one page of MAX_RESULT, whatever the size of the table.
            dest_cidr_block_list: among.iter().map(ToString::to_string).collect(),
            max_result: Some(DescribeRouteEntryList::MAX_RESULT),
            ..Default::default()
        };
        let entries = self.list_entries(request).await?;
        Ok(entries.iter().any(|e| RouteStatus::from_cloud(&e.status) == RouteStatus::InProgress))
    }

    async fn create_routes(&self, routes: &[RouteKey]) -> Vec<RouteWrite> {
        match routes {
            [] => Vec::new(),
            [route] => self.create_one(route).await,
            _ => {
                let mut out = Vec::with_capacity(routes.len());
                for batch in routes.chunks(MAX_BATCH) {
                    out.extend(self.create_batch(batch).await);
                }
                out
            }
        }
    }

    async fn delete_routes(&self, routes: &[RouteKey]) -> Vec<RouteWrite> {
        match routes {
            [] => Vec::new(),
            [route] => self.delete_one(route).await,
            _ => {
                let mut out = Vec::with_capacity(routes.len());
                for batch in routes.chunks(MAX_BATCH) {
                    let results = self.delete_batch(batch).await;
                    if results.iter().any(|r| r.result.is_err()) {
                        warn!(table = %batch[0].table_id, "some route deletions failed");
                    }
                    out.extend(results);
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(meaning: &CodeMeaning) -> &'static str {
        match meaning {
            CodeMeaning::Duplicate => "duplicate",
            CodeMeaning::NotFound => "not_found",
            CodeMeaning::Error(e) => e.kind(),
        }
    }

    #[test]
    fn error_codes_of_single_calls_and_batches_are_typed() {
        let cases = [
            ("InvalidCIDRBlock.Duplicate", "duplicate"),
            ("InvalidCidrBlock.Duplicate", "duplicate"),
            ("VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE", "duplicate"),
            ("InvalidRouteEntry.NotFound", "not_found"),
            ("VPC_ROUTER_ENTRY_NOT_EXIST", "not_found"),
            ("IncorrectRouteEntryStatus", "busy"),
            ("TaskConflict", "busy"),
            ("OperationConflict", "busy"),
            ("VPC_ROUTE_ENTRY_STATUS_ERROR", "busy"),
            ("Throttling.User", "busy"),
            ("QuotaExceeded", "quota"),
            ("QuotaExceeded.RouteEntryNum", "quota"),
            ("VPC_ROUTE_ENTRY_QUOTA_EXCEEDED", "quota"),
            ("OperationFailed.InvalidNexthop", "next_hop"),
            ("InvalidNextHop.NotFound", "next_hop"),
            ("InvalidNextHopId.NotFound", "next_hop"),
            ("IllegalParam.NextHopId", "next_hop"),
            ("InvalidInstanceId.NotFound", "next_hop"),
            ("IncorrectInstanceStatus", "next_hop"),
            ("InvalidCidrBlock", "rejected"),
            ("Forbidden.RAM", "rejected"),
        ];
        for (code, expected) in cases {
            assert_eq!(kind(&classify_code(code, "msg")), expected, "{code}");
        }
        let CodeMeaning::Error(RouteWriteError::QuotaExceeded { message, .. }) =
            classify_code("QuotaExceeded", "Route entry quota exceeded in this route table.")
        else {
            panic!("quota");
        };
        assert_eq!(message, "Route entry quota exceeded in this route table.", "the cloud's message is kept");
    }

    fn listed(routes: &[(&str, NextHop)]) -> Result<Vec<CloudRoute>, String> {
        Ok(routes
            .iter()
            .map(|(d, hop)| CloudRoute {
                table_id: "vtb-1".into(),
                destination: d.parse().unwrap(),
                next_hop: hop.clone(),
                status: RouteStatus::Available,
                entry_id: String::new(),
            })
            .collect())
    }

    #[test]
    fn duplicates_are_ours_only_with_the_same_instance() {
        let route = RouteKey::new("vtb-1", "10.244.1.0/24".parse().unwrap(), "i-1");
        let ours = listed(&[("10.244.1.0/24", NextHop::Instance("i-1".into()))]);
        assert_eq!(duplicate_outcome(&route, Some(&ours)), Ok(WriteOutcome::AlreadyDone));
        let theirs = listed(&[("10.244.1.0/24", NextHop::Other { kind: "HaVip".into(), id: "havip-1".into() })]);
        assert_eq!(
            duplicate_outcome(&route, Some(&theirs)),
            Err(RouteWriteError::DestinationTaken { holder: "HaVip havip-1".into() })
        );
        let other_instance = listed(&[("10.244.1.0/24", NextHop::Instance("i-2".into()))]);
        assert!(matches!(
            duplicate_outcome(&route, Some(&other_instance)),
            Err(RouteWriteError::DestinationTaken { .. })
        ));
        assert!(matches!(duplicate_outcome(&route, Some(&listed(&[]))), Err(RouteWriteError::DestinationTaken { .. })));
        assert!(matches!(
            duplicate_outcome(&route, Some(&Err("boom".into()))),
            Err(RouteWriteError::Unavailable { .. })
        ));
    }

    #[test]
    fn deletes_of_missing_routes_are_done() {
        assert_eq!(delete_outcome(classify_code("InvalidRouteEntry.NotFound", "")), Ok(WriteOutcome::AlreadyDone));
        assert!(matches!(delete_outcome(classify_code("TaskConflict", "")), Err(RouteWriteError::Busy { .. })));
    }

    #[test]
    fn route_entries_become_cloud_routes() {
        let entries: vpc::DescribeRouteEntryListResponse = serde_json::from_str(
            r#"{"RequestId":"r","NextToken":"","RouteEntrys":{"RouteEntry":[
              {"RouteEntryId":"rte-1","DestinationCidrBlock":"10.244.1.0/24","Type":"Custom","Status":"Pending",
               "NextHops":{"NextHop":[{"NextHopType":"Instance","NextHopId":"i-1"}]}},
              {"RouteEntryId":"rte-2","DestinationCidrBlock":"10.244.2.0/24","Type":"Custom","Status":"Available",
               "NextHops":{"NextHop":[{"NextHopType":"NatGateway","NextHopId":"ngw-1"}]}},
              {"RouteEntryId":"rte-3","DestinationCidrBlock":"10.244.3.0/24","Type":"Custom","Status":"Available",
               "NextHops":{"NextHop":[{"NextHopType":"Instance","NextHopId":"i-3"},{"NextHopType":"Instance","NextHopId":"i-4"}]}},
              {"RouteEntryId":"rte-4","DestinationCidrBlock":"pl-abc","Type":"Custom","Status":"Available",
               "NextHops":{"NextHop":[{"NextHopType":"Instance","NextHopId":"i-5"}]}},
              {"RouteEntryId":"rte-5","DestinationCidrBlock":"fd00:10::/64","Type":"Custom","Status":"Available",
               "NextHops":{"NextHop":[{"NextHopType":"Instance","NextHopId":"i-6"}]}}
            ]}}"#,
        )
        .unwrap();
        let routes: Vec<CloudRoute> =
            entries.route_entrys.route_entry.into_iter().filter_map(|e| to_cloud_route("vtb-1", e)).collect();
        assert_eq!(routes.len(), 4, "prefix-list destinations are skipped");
        assert_eq!(routes[0].next_hop, NextHop::Instance("i-1".into()));
        assert_eq!(routes[0].status, RouteStatus::InProgress);
        assert_eq!(routes[1].next_hop, NextHop::Other { kind: "NatGateway".into(), id: "ngw-1".into() });
        assert_eq!(routes[2].next_hop, NextHop::Other { kind: "Ecmp".into(), id: String::new() });
        assert_eq!(routes[3].destination.to_string(), "fd00:10::/64");
        assert_eq!(routes[0].entry_id, "rte-1");
    }

    #[test]
    fn failed_entries_match_by_normalized_destination() {
        let d: IpNet = "10.244.1.0/24".parse().unwrap();
        assert!(same_destination("10.244.1.0/24", d));
        assert!(same_destination("10.244.1.7/24", d));
        assert!(!same_destination("10.244.2.0/24", d));
        assert!(same_destination("10.0.0.1", "10.0.0.1/32".parse().unwrap()));
    }
}
