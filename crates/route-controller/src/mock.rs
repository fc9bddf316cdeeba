//! An in-memory [`RouteCloud`] that behaves like the VPC route API where it matters: new and deleted entries stay
//! in progress for a while and the table refuses writes meanwhile, route quota, invalid next hops, duplicate
//! destinations, injected conflicts and per-entry failures. It counts calls and records how many writes ran at
//! once per table, so tests can assert batching and serialization.
//!
//! Time is `tokio::time`, so tests with a paused clock skip Pending windows instantly.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use ipnet::IpNet;
use tokio::time::Instant;

use crate::cloud::{
    CloudError, CloudRoute, MAX_BATCH, NextHop, RouteCloud, RouteKey, RouteStatus, RouteTable, RouteWrite,
    RouteWriteError, VSwitch, WriteOutcome,
};

/// Calls made to the mock, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MockCalls {
    /// `route_tables` calls.
    pub route_tables: usize,
    /// `vswitches` calls.
    pub vswitches: usize,
    /// `instance_vswitches` calls.
    pub instance_vswitches: usize,
    /// `routes` calls.
    pub routes: usize,
    /// `has_pending` calls.
    pub has_pending: usize,
    /// `has_pending` calls that looked at the whole table (a listing paging through every entry).
    pub has_pending_whole_table: usize,
    /// `create_routes` calls.
    pub create_calls: usize,
    /// `delete_routes` calls.
    pub delete_calls: usize,
    /// Routes passed to `create_routes`, over all calls.
    pub create_entries: usize,
    /// Routes passed to `delete_routes`, over all calls.
    pub delete_entries: usize,
}

impl MockCalls {
    /// Write calls of both kinds.
    pub fn writes(&self) -> usize {
        self.create_calls + self.delete_calls
    }

    /// All calls.
    pub fn total(&self) -> usize {
        self.route_tables + self.vswitches + self.instance_vswitches + self.routes + self.has_pending + self.writes()
    }
}

/// A write the mock received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockWrite {
    /// `create` or `delete`.
    pub op: &'static str,
    /// The routes of the call.
    pub routes: Vec<RouteKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryState {
    Available,
    Creating(Instant),
    Deleting(Instant),
}

#[derive(Debug, Clone)]
struct Entry {
    destination: IpNet,
    next_hop: NextHop,
    entry_id: String,
    state: EntryState,
}

#[derive(Debug, Clone, Default)]
struct Table {
    system: bool,
    vswitch_ids: Vec<String>,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct EntryFault {
    op: &'static str,
    destination: IpNet,
    error: RouteWriteError,
    remaining: Option<usize>,
}

#[derive(Debug)]
struct State {
    tables: BTreeMap<String, Table>,
    vswitches: Vec<VSwitch>,
    instance_vswitches: BTreeMap<String, String>,
    known_instances: Option<BTreeSet<String>>,
    pending_window: Duration,
    write_latency: Duration,
    quota: usize,
    busy_calls: BTreeMap<String, usize>,
    entry_faults: Vec<EntryFault>,
    failing_listings: BTreeSet<String>,
    calls: MockCalls,
    in_flight: BTreeMap<String, usize>,
    in_flight_total: usize,
    max_in_flight_per_table: usize,
    max_in_flight_total: usize,
    contract_violations: Vec<String>,
    writes: Vec<MockWrite>,
    next_id: u64,
}

/// The in-memory route cloud. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct MockRouteCloud {
    state: Mutex<State>,
}

impl Default for MockRouteCloud {
    fn default() -> Self {
        Self::new()
    }
}

impl MockRouteCloud {
    /// An empty cloud: entries stay in progress for 2 s, writes take 50 ms, 200 routes per table.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                tables: BTreeMap::new(),
                vswitches: Vec::new(),
                instance_vswitches: BTreeMap::new(),
                known_instances: None,
                pending_window: Duration::from_secs(2),
                write_latency: Duration::from_millis(50),
                quota: 200,
                busy_calls: BTreeMap::new(),
                entry_faults: Vec::new(),
                failing_listings: BTreeSet::new(),
                calls: MockCalls::default(),
                in_flight: BTreeMap::new(),
                in_flight_total: 0,
                max_in_flight_per_table: 0,
                max_in_flight_total: 0,
                contract_violations: Vec::new(),
                writes: Vec::new(),
                next_id: 1,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a route table with its bound vSwitches.
    pub fn add_table(&self, id: &str, system: bool, vswitch_ids: &[&str]) {
        let table = Table { system, vswitch_ids: vswitch_ids.iter().map(|s| s.to_string()).collect(), entries: vec![] };
        self.lock().tables.insert(id.to_owned(), table);
    }

    /// Adds a vSwitch.
    pub fn add_vswitch(&self, vswitch: VSwitch) {
        self.lock().vswitches.push(vswitch);
    }

    /// Records the vSwitch of an instance (what `DescribeInstances` would say).
    pub fn set_instance_vswitch(&self, instance_id: &str, vswitch_id: &str) {
        self.lock().instance_vswitches.insert(instance_id.to_owned(), vswitch_id.to_owned());
    }

    /// Adds a settled route.
    pub fn add_route(&self, table_id: &str, destination: &str, next_hop: NextHop) {
        let Ok(destination) = destination.parse::<IpNet>() else { return };
        let mut state = self.lock();
        let entry_id = state.new_entry_id();
        if let Some(table) = state.tables.get_mut(table_id) {
            table.entries.push(Entry {
                destination: destination.trunc(),
                next_hop,
                entry_id,
                state: EntryState::Available,
            });
        }
    }

    /// How long new and deleted entries stay in progress (zero: settle at once).
    pub fn set_pending_window(&self, window: Duration) {
        self.lock().pending_window = window;
    }

    /// How long each write call takes.
    pub fn set_write_latency(&self, latency: Duration) {
        self.lock().write_latency = latency;
    }

    /// Custom routes allowed per table.
    pub fn set_quota(&self, quota: usize) {
        self.lock().quota = quota;
    }

    /// The only instances that may be next hops; routes to others fail with an invalid next hop.
    pub fn set_known_instances(&self, instances: &[&str]) {
        self.lock().known_instances = Some(instances.iter().map(|s| s.to_string()).collect());
    }

    /// The next `calls` write calls on `table_id` fail as a whole with `TaskConflict`.
    pub fn fail_next_writes(&self, table_id: &str, calls: usize) {
        self.lock().busy_calls.insert(table_id.to_owned(), calls);
    }

    /// Writes (`"create"` or `"delete"`) of `destination` fail with `error`, `times` times (`None`: always).
    pub fn fail_entry(&self, op: &'static str, destination: &str, error: RouteWriteError, times: Option<usize>) {
        let Ok(destination) = destination.parse::<IpNet>() else { return };
        self.lock().entry_faults.push(EntryFault { op, destination: destination.trunc(), error, remaining: times });
    }

    /// Listing the routes of `table_id` fails (or works again).
    pub fn fail_listing(&self, table_id: &str, failing: bool) {
        let mut state = self.lock();
        if failing {
            state.failing_listings.insert(table_id.to_owned());
        } else {
            state.failing_listings.remove(table_id);
        }
    }

    /// The routes of a table as they are now (in-progress ones included).
    pub fn routes_of(&self, table_id: &str) -> Vec<CloudRoute> {
        let mut state = self.lock();
        state.settle(Instant::now());
        state.listing(table_id).unwrap_or_default()
    }

    /// `(destination, next hop)` of a table's routes, sorted: handy for assertions.
    pub fn route_pairs(&self, table_id: &str) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> =
            self.routes_of(table_id).into_iter().map(|r| (r.destination.to_string(), r.next_hop.to_string())).collect();
        pairs.sort();
        pairs
    }

    /// Calls made so far.
    pub fn calls(&self) -> MockCalls {
        self.lock().calls
    }

    /// Forgets the call counts.
    pub fn reset_calls(&self) {
        let mut state = self.lock();
        state.calls = MockCalls::default();
        state.writes.clear();
    }

    /// Every write call, in order.
    pub fn writes(&self) -> Vec<MockWrite> {
        self.lock().writes.clone()
    }

    /// Most writes ever in flight at once on one table (1 when writes are serialized per table).
    pub fn max_concurrent_writes_per_table(&self) -> usize {
        self.lock().max_in_flight_per_table
    }

    /// Most writes ever in flight at once over all tables.
    pub fn max_concurrent_writes(&self) -> usize {
        self.lock().max_in_flight_total
    }

    /// Breaches of the port's contract seen so far: oversized batches, batches spanning tables, concurrent writes
    /// on one table.
    pub fn contract_violations(&self) -> Vec<String> {
        self.lock().contract_violations.clone()
    }

    async fn write(&self, op: &'static str, routes: &[RouteKey]) -> Vec<RouteWrite> {
        let Some(table_id) = routes.first().map(|r| r.table_id.clone()) else { return Vec::new() };
        let latency = self.begin_write(op, &table_id, routes);
        tokio::time::sleep(latency).await;
        let mut state = self.lock();
        state.settle(Instant::now());
        let results = state.apply_write(op, &table_id, routes);
        state.end_write(&table_id);
        results
    }

    fn begin_write(&self, op: &'static str, table_id: &str, routes: &[RouteKey]) -> Duration {
        let mut state = self.lock();
        if op == "create" {
            state.calls.create_calls += 1;
            state.calls.create_entries += routes.len();
        } else {
            state.calls.delete_calls += 1;
            state.calls.delete_entries += routes.len();
        }
        if routes.len() > MAX_BATCH {
            state.contract_violations.push(format!("{op} of {} routes in one call", routes.len()));
        }
        if routes.iter().any(|r| r.table_id != table_id) {
            state.contract_violations.push(format!("{op} spanning several tables"));
        }
        state.writes.push(MockWrite { op, routes: routes.to_vec() });
        let in_flight = state.in_flight.entry(table_id.to_owned()).or_default();
        *in_flight += 1;
        let now_in_table = *in_flight;
        if now_in_table > 1 {
            state.contract_violations.push(format!("{now_in_table} concurrent writes on {table_id}"));
        }
        state.max_in_flight_per_table = state.max_in_flight_per_table.max(now_in_table);
        state.in_flight_total += 1;
        state.max_in_flight_total = state.max_in_flight_total.max(state.in_flight_total);
        state.write_latency
    }
}

impl State {
    fn new_entry_id(&mut self) -> String {
        self.next_id += 1;
        format!("rte-mock{}", self.next_id)
    }

    fn end_write(&mut self, table_id: &str) {
        if let Some(n) = self.in_flight.get_mut(table_id) {
            *n = n.saturating_sub(1);
        }
        self.in_flight_total = self.in_flight_total.saturating_sub(1);
    }

    /// Completes transitions whose time has come.
    fn settle(&mut self, now: Instant) {
        for table in self.tables.values_mut() {
            table.entries.retain(|e| !matches!(e.state, EntryState::Deleting(t) if t <= now));
            for entry in &mut table.entries {
                if matches!(entry.state, EntryState::Creating(t) if t <= now) {
                    entry.state = EntryState::Available;
                }
            }
        }
    }

    fn listing(&self, table_id: &str) -> Option<Vec<CloudRoute>> {
        let table = self.tables.get(table_id)?;
        Some(
            table
                .entries
                .iter()
                .map(|e| CloudRoute {
                    table_id: table_id.to_owned(),
                    destination: e.destination,
                    next_hop: e.next_hop.clone(),
                    status: if e.state == EntryState::Available {
                        RouteStatus::Available
                    } else {
                        RouteStatus::InProgress
                    },
                    entry_id: e.entry_id.clone(),
                })
                .collect(),
        )
    }

    fn apply_write(&mut self, op: &'static str, table_id: &str, routes: &[RouteKey]) -> Vec<RouteWrite> {
        let whole_call_error = self.whole_call_error(table_id);
        routes
            .iter()
            .map(|route| {
                let result = match &whole_call_error {
                    Some(e) => Err(e.clone()),
                    None => self
                        .entry_fault(op, route)
                        .map_or_else(|| if op == "create" { self.create(route) } else { self.delete(route) }, Err),
                };
                RouteWrite { route: route.clone(), result }
            })
            .collect()
    }

    /// Why the whole call fails: an injected conflict, an unknown table, or entries in progress.
    fn whole_call_error(&mut self, table_id: &str) -> Option<RouteWriteError> {
        if let Some(n) = self.busy_calls.get_mut(table_id).filter(|n| **n > 0) {
            *n -= 1;
            return Some(RouteWriteError::Busy {
                code: "TaskConflict".into(),
                message: "Operation conflict on the route table.".into(),
            });
        }
        let Some(table) = self.tables.get(table_id) else {
            return Some(RouteWriteError::Rejected {
                code: "InvalidRouteTableId.NotFound".into(),
                message: format!("route table {table_id} does not exist"),
            });
        };
        if table.entries.iter().any(|e| e.state != EntryState::Available) {
            return Some(RouteWriteError::Busy {
                code: "IncorrectRouteEntryStatus".into(),
                message: "Some route entry status blocked this operation.".into(),
            });
        }
        None
    }

    fn entry_fault(&mut self, op: &str, route: &RouteKey) -> Option<RouteWriteError> {
        let fault = self
            .entry_faults
            .iter_mut()
            .find(|f| f.op == op && f.destination == route.destination && f.remaining.is_none_or(|n| n > 0))?;
        if let Some(n) = fault.remaining.as_mut() {
            *n -= 1;
        }
        Some(fault.error.clone())
    }

    fn create(&mut self, route: &RouteKey) -> Result<WriteOutcome, RouteWriteError> {
        let now = Instant::now();
        let window = self.pending_window;
        let quota = self.quota;
        let known = self.known_instances.as_ref().is_none_or(|k| k.contains(&route.instance_id));
        let entry_id = self.new_entry_id();
        let table = self.tables.get_mut(&route.table_id).ok_or_else(|| RouteWriteError::Rejected {
            code: "InvalidRouteTableId.NotFound".into(),
            message: "no such table".into(),
        })?;
        if let Some(existing) = table.entries.iter().find(|e| e.destination == route.destination) {
            return match &existing.next_hop {
                NextHop::Instance(i) if *i == route.instance_id => Ok(WriteOutcome::AlreadyDone),
                other => Err(RouteWriteError::DestinationTaken { holder: other.to_string() }),
            };
        }
        if table.entries.len() >= quota {
            return Err(RouteWriteError::QuotaExceeded {
                code: "QuotaExceeded".into(),
                message: format!("Route entry quota ({quota}) exceeded in this route table."),
            });
        }
        if !known {
            return Err(RouteWriteError::InvalidNextHop {
                code: "InvalidNextHopId.NotFound".into(),
                message: format!("Specified next hop {} does not exist.", route.instance_id),
            });
        }
        let state = if window.is_zero() { EntryState::Available } else { EntryState::Creating(now + window) };
        table.entries.push(Entry {
            destination: route.destination,
            next_hop: NextHop::Instance(route.instance_id.clone()),
            entry_id,
            state,
        });
        Ok(WriteOutcome::Applied)
    }

    fn delete(&mut self, route: &RouteKey) -> Result<WriteOutcome, RouteWriteError> {
        let until = Instant::now() + self.pending_window;
        let window_zero = self.pending_window.is_zero();
        let Some(table) = self.tables.get_mut(&route.table_id) else { return Ok(WriteOutcome::AlreadyDone) };
        let found = table.entries.iter().position(|e| {
            e.destination == route.destination && e.next_hop == NextHop::Instance(route.instance_id.clone())
        });
        match found {
            None => Ok(WriteOutcome::AlreadyDone),
            Some(index) if window_zero => {
                table.entries.remove(index);
                Ok(WriteOutcome::Applied)
            }
            Some(index) => {
                table.entries[index].state = EntryState::Deleting(until);
                Ok(WriteOutcome::Applied)
            }
        }
    }
}

impl RouteCloud for MockRouteCloud {
    async fn route_tables(&self, _vpc_id: &str) -> Result<Vec<RouteTable>, CloudError> {
        let mut state = self.lock();
        state.calls.route_tables += 1;
        Ok(state
            .tables
            .iter()
            .map(|(id, t)| RouteTable { id: id.clone(), system: t.system, vswitch_ids: t.vswitch_ids.clone() })
            .collect())
    }

    async fn vswitches(&self, _vpc_id: &str) -> Result<Vec<VSwitch>, CloudError> {
        let mut state = self.lock();
        state.calls.vswitches += 1;
        Ok(state.vswitches.clone())
    }

    async fn instance_vswitches(&self, instance_ids: &[String]) -> Result<BTreeMap<String, String>, CloudError> {
        let mut state = self.lock();
        state.calls.instance_vswitches += 1;
        Ok(instance_ids
            .iter()
            .filter_map(|i| state.instance_vswitches.get(i).map(|v| (i.clone(), v.clone())))
            .collect())
    }

    async fn routes(&self, table_id: &str) -> Result<Vec<CloudRoute>, CloudError> {
        let mut state = self.lock();
        state.calls.routes += 1;
        if state.failing_listings.contains(table_id) {
            return Err(CloudError::new("DescribeRouteEntryList", format!("injected failure listing {table_id}")));
        }
        state.settle(Instant::now());
        state
            .listing(table_id)
            .ok_or_else(|| CloudError::new("DescribeRouteEntryList", format!("route table {table_id} does not exist")))
    }

    async fn has_pending(&self, table_id: &str, among: &[IpNet]) -> Result<bool, CloudError> {
        let mut state = self.lock();
        state.calls.has_pending += 1;
        state.calls.has_pending_whole_table += usize::from(among.is_empty());
        state.settle(Instant::now());
        let looked_at = |e: &&Entry| among.is_empty() || among.contains(&e.destination);
        Ok(state
            .tables
            .get(table_id)
            .is_some_and(|t| t.entries.iter().filter(looked_at).any(|e| e.state != EntryState::Available)))
    }

    async fn create_routes(&self, routes: &[RouteKey]) -> Vec<RouteWrite> {
        self.write("create", routes).await
    }

    async fn delete_routes(&self, routes: &[RouteKey]) -> Vec<RouteWrite> {
        self.write("delete", routes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(destination: &str) -> RouteKey {
        RouteKey::new("vtb-a", destination.parse().unwrap(), "i-1")
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_writes_on_one_table_are_caught() {
        let cloud = MockRouteCloud::new();
        cloud.add_table("vtb-a", false, &[]);
        let (first, second) = ([key("10.0.1.0/24")], [key("10.0.2.0/24")]);
        let (a, b) = tokio::join!(cloud.create_routes(&first), cloud.create_routes(&second));
        assert_eq!(a.len() + b.len(), 2);
        assert_eq!(cloud.max_concurrent_writes_per_table(), 2);
        assert_eq!(cloud.contract_violations(), vec!["2 concurrent writes on vtb-a".to_string()]);
    }

    #[tokio::test(start_paused = true)]
    async fn entries_stay_in_progress_for_the_window() {
        let cloud = MockRouteCloud::new();
        cloud.add_table("vtb-a", false, &[]);
        cloud.set_pending_window(Duration::from_secs(3));
        cloud.create_routes(&[key("10.0.1.0/24")]).await;
        assert!(cloud.has_pending("vtb-a", &[]).await.unwrap());
        let refused = cloud.create_routes(&[key("10.0.2.0/24")]).await;
        assert!(matches!(refused[0].result, Err(RouteWriteError::Busy { .. })));
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(!cloud.has_pending("vtb-a", &[]).await.unwrap());
        cloud.delete_routes(&[key("10.0.1.0/24")]).await;
        assert_eq!(cloud.routes_of("vtb-a")[0].status, RouteStatus::InProgress, "deleting");
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(cloud.routes_of("vtb-a").is_empty());
        assert_eq!(cloud.calls().writes(), 3);
    }
}
