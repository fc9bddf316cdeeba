//! The executor: runs a [`RoutePlan`] against a [`RouteCloud`].
//!
//! * Writes to one route table are serialized (the API refuses concurrent writes on a table): one async mutex per
//!   table, shared by every caller of the same [`RouteExecutor`]. Different tables proceed in parallel.
//! * In each table, deletes run before creates (a conflicting route must go before its replacement is created),
//!   in batches of at most [`MAX_BATCH`].
//! * Before each write the table must have no entry in progress: the executor asks the cloud and waits with a
//!   bounded backoff. Entries refused because the table was busy are retried after waiting, up to a limit; every
//!   other per-entry failure is reported as it is.
//! * Asking is frugal: not before the first write when the pass's own listing showed the table settled; after a
//!   write, one listing filtered to the destinations just written (one page, whatever the table's size) per poll
//!   round; the whole table only after the cloud said it was busy with entries that are not ours.
//! * Creates whose destination was held by a route that could not be deleted are not attempted.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use ipnet::IpNet;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::{
    cloud::{MAX_BATCH, RouteCloud, RouteKey, RouteWrite, RouteWriteError, WriteOutcome},
    plan::{RouteCreate, RouteDelete, RoutePlan},
};

/// How the executor waits for busy tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplySettings {
    /// First wait after a write before asking whether the table settled.
    pub poll_initial: Duration,
    /// Longest wait between two polls (the wait doubles up to this).
    pub poll_max: Duration,
    /// Longest total wait for one table to settle before giving up on the pending writes.
    pub settle_timeout: Duration,
    /// How many times entries refused because the table was busy are retried.
    pub busy_retries: u32,
}

impl Default for ApplySettings {
    /// Polls after 2 s, then 4, 8, 10, 10... s; gives up after 2 minutes (as Terraform's provider does); 5 retries.
    fn default() -> Self {
        Self {
            poll_initial: Duration::from_secs(2),
            poll_max: Duration::from_secs(10),
            settle_timeout: Duration::from_secs(120),
            busy_retries: 5,
        }
    }
}

/// The result of one planned delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteResult {
    /// The planned delete.
    pub delete: RouteDelete,
    /// What happened.
    pub result: Result<WriteOutcome, RouteWriteError>,
}

/// The result of one planned create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateResult {
    /// The planned create.
    pub create: RouteCreate,
    /// What happened.
    pub result: Result<WriteOutcome, RouteWriteError>,
}

/// What applying a plan did, entry by entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Every planned delete, with its result.
    pub deletes: Vec<DeleteResult>,
    /// Every planned create, with its result.
    pub creates: Vec<CreateResult>,
}

/// Whether a node has all its routes, after a plan was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRouteResult {
    /// Node name.
    pub node: String,
    /// Routes created for it in this pass (not those that already existed).
    pub created: Vec<RouteKey>,
    /// Its routes that could not be created, and why.
    pub failed: Vec<(RouteKey, RouteWriteError)>,
    /// Whether every route it needs exists.
    pub all_routes_present: bool,
}

impl ApplyReport {
    /// The results of creates and deletes that failed.
    pub fn failures(&self) -> impl Iterator<Item = (&RouteKey, &RouteWriteError)> {
        let deletes = self.deletes.iter().filter_map(|d| d.result.as_ref().err().map(|e| (&d.delete.route, e)));
        let creates = self.creates.iter().filter_map(|c| c.result.as_ref().err().map(|e| (&c.create.route, e)));
        deletes.chain(creates)
    }

    /// Whether everything succeeded.
    pub fn is_success(&self) -> bool {
        self.failures().next().is_none()
    }

    /// Per node of the plan: created routes, failures, and whether all its routes now exist.
    pub fn node_results(&self, plan: &RoutePlan) -> Vec<NodeRouteResult> {
        plan.nodes
            .iter()
            .map(|state| {
                let mine = self.creates.iter().filter(|c| c.create.node == state.node);
                let created = mine
                    .clone()
                    .filter(|c| c.result == Ok(WriteOutcome::Applied))
                    .map(|c| c.create.route.clone())
                    .collect();
                let failed: Vec<(RouteKey, RouteWriteError)> =
                    mine.filter_map(|c| c.result.as_ref().err().map(|e| (c.create.route.clone(), e.clone()))).collect();
                let all_routes_present = !state.blocked && failed.is_empty();
                NodeRouteResult { node: state.node.clone(), created, failed, all_routes_present }
            })
            .collect()
    }
}

/// One async mutex per route table.
#[derive(Debug, Clone, Default)]
pub struct TableLocks {
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl TableLocks {
    /// Holds `table_id` until the guard is dropped.
    pub async fn lock(&self, table_id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(locks.entry(table_id.to_owned()).or_default())
        };
        lock.lock_owned().await
    }
}

/// Runs plans against the cloud. Clones share the per-table locks.
#[derive(Debug)]
pub struct RouteExecutor<C> {
    cloud: Arc<C>,
    locks: TableLocks,
    settings: ApplySettings,
}

impl<C> Clone for RouteExecutor<C> {
    fn clone(&self) -> Self {
        Self { cloud: Arc::clone(&self.cloud), locks: self.locks.clone(), settings: self.settings.clone() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Delete,
}

impl<C: RouteCloud> RouteExecutor<C> {
    /// An executor writing through `cloud`.
    pub fn new(cloud: Arc<C>, settings: ApplySettings) -> Self {
        Self { cloud, locks: TableLocks::default(), settings }
    }

    /// Applies `plan`: every table in parallel, each table's writes in order under its lock.
    pub async fn apply(&self, plan: &RoutePlan) -> ApplyReport {
        let tables: BTreeSet<&str> = plan
            .deletes
            .iter()
            .map(|d| d.route.table_id.as_str())
            .chain(plan.creates.iter().map(|c| c.route.table_id.as_str()))
            .collect();
        let runs = tables.into_iter().map(|table| {
            let deletes: Vec<&RouteDelete> = plan.deletes.iter().filter(|d| d.route.table_id == table).collect();
            let creates: Vec<&RouteCreate> = plan.creates.iter().filter(|c| c.route.table_id == table).collect();
            self.apply_table(table, &plan.settled_tables, deletes, creates)
        });
        let mut report = ApplyReport::default();
        for table_report in futures::future::join_all(runs).await {
            report.deletes.extend(table_report.deletes);
            report.creates.extend(table_report.creates);
        }
        report
    }

    async fn apply_table(
        &self,
        table: &str,
        settled: &BTreeSet<String>,
        deletes: Vec<&RouteDelete>,
        creates: Vec<&RouteCreate>,
    ) -> ApplyReport {
        let _guard = self.locks.lock(table).await;
        let mut gate = WriteGate {
            cloud: self.cloud.as_ref(),
            settings: &self.settings,
            table,
            wrote: false,
            settled: settled.contains(table),
            written: Vec::new(),
        };
        let delete_keys: Vec<RouteKey> = deletes.iter().map(|d| d.route.clone()).collect();
        let mut deleted = self.write_all(&mut gate, Op::Delete, delete_keys).await;
        let failed_destinations: BTreeMap<_, String> = deleted
            .iter()
            .filter_map(|(key, result)| result.as_ref().err().map(|e| (key.destination, e.to_string())))
            .collect();
        let (blocked, runnable): (Vec<&RouteCreate>, Vec<&RouteCreate>) =
            creates.iter().partition(|c| failed_destinations.contains_key(&c.route.destination));
        let create_keys: Vec<RouteKey> = runnable.iter().map(|c| c.route.clone()).collect();
        let mut created = self.write_all(&mut gate, Op::Create, create_keys).await;
        for c in blocked {
            let reason = failed_destinations.get(&c.route.destination).cloned().unwrap_or_default();
            created.insert(c.route.clone(), Err(RouteWriteError::BlockedByFailedDelete { reason }));
        }
        ApplyReport {
            deletes: deletes
                .into_iter()
                .map(|d| DeleteResult { delete: d.clone(), result: take_result(&mut deleted, &d.route) })
                .collect(),
            creates: creates
                .into_iter()
                .map(|c| CreateResult { create: c.clone(), result: take_result(&mut created, &c.route) })
                .collect(),
        }
    }

    /// Writes `keys` in batches, waiting for the table to settle before each call and retrying busy entries.
    async fn write_all(
        &self,
        gate: &mut WriteGate<'_, C>,
        op: Op,
        keys: Vec<RouteKey>,
    ) -> BTreeMap<RouteKey, Result<WriteOutcome, RouteWriteError>> {
        let mut results = BTreeMap::new();
        let mut todo = keys;
        let mut round = 0;
        while !todo.is_empty() {
            let mut busy = Vec::new();
            for batch in todo.chunks(MAX_BATCH) {
                for write in self.write_batch(gate, op, batch).await {
                    match write.result {
                        Err(RouteWriteError::Busy { .. }) if round < self.settings.busy_retries => {
                            busy.push(write.route);
                        }
                        result => {
                            results.insert(write.route, result);
                        }
                    }
                }
            }
            if !busy.is_empty() {
                debug!(table = gate.table, entries = busy.len(), round, "route table busy; retrying after it settles");
            }
            todo = busy;
            round += 1;
        }
        results
    }

    async fn write_batch(&self, gate: &mut WriteGate<'_, C>, op: Op, batch: &[RouteKey]) -> Vec<RouteWrite> {
        if let Err(error) = gate.wait_until_settled().await {
            return batch.iter().map(|route| RouteWrite { route: route.clone(), result: Err(error.clone()) }).collect();
        }
        let writes = match op {
            Op::Create => self.cloud.create_routes(batch).await,
            Op::Delete => self.cloud.delete_routes(batch).await,
        };
        let writes = complete(batch, writes);
        gate.wrote(&writes);
        writes
    }
}

/// Makes sure every route of the batch has exactly one result (a cloud adapter that lost one reports it failed).
fn complete(batch: &[RouteKey], writes: Vec<RouteWrite>) -> Vec<RouteWrite> {
    let mut by_route: BTreeMap<RouteKey, Result<WriteOutcome, RouteWriteError>> =
        writes.into_iter().map(|w| (w.route, w.result)).collect();
    batch
        .iter()
        .map(|route| {
            let result = by_route.remove(route).unwrap_or_else(|| {
                Err(RouteWriteError::Unavailable { message: "the cloud returned no result for this route".into() })
            });
            RouteWrite { route: route.clone(), result }
        })
        .collect()
}

fn take_result(
    results: &mut BTreeMap<RouteKey, Result<WriteOutcome, RouteWriteError>>,
    route: &RouteKey,
) -> Result<WriteOutcome, RouteWriteError> {
    results
        .remove(route)
        .unwrap_or_else(|| Err(RouteWriteError::Unavailable { message: "route was not written".into() }))
}

/// Lets a write through once the table has no entry in progress.
struct WriteGate<'a, C> {
    cloud: &'a C,
    settings: &'a ApplySettings,
    table: &'a str,
    /// Whether this pass wrote to the table already (its entries are then surely in progress for a while).
    wrote: bool,
    /// Whether the table is known to have no entry in progress (from the pass's listing, until the first write).
    settled: bool,
    /// The destinations the last write changed, which are what keeps the table busy; empty: look at every entry.
    written: Vec<IpNet>,
}

impl<C: RouteCloud> WriteGate<'_, C> {
    /// Notes a write: its entries are in progress now. When the cloud refused some because the table was busy
    /// with other entries, the next look is at the whole table.
    fn wrote(&mut self, writes: &[RouteWrite]) {
        self.wrote = true;
        self.settled = false;
        let busy = writes.iter().any(|w| matches!(w.result, Err(RouteWriteError::Busy { .. })));
        self.written = if busy { Vec::new() } else { writes.iter().map(|w| w.route.destination).collect() };
    }

    async fn wait_until_settled(&mut self) -> Result<(), RouteWriteError> {
        if self.settled {
            return Ok(());
        }
        let started = Instant::now();
        let mut delay = self.settings.poll_initial;
        if self.wrote {
            tokio::time::sleep(delay).await;
        }
        loop {
            match self.cloud.has_pending(self.table, &self.written).await {
                Ok(false) => return Ok(()),
                Ok(true) => {}
                Err(error) => {
                    warn!(table = self.table, %error, "cannot tell whether the route table settled");
                    return Err(RouteWriteError::Unavailable { message: error.to_string() });
                }
            }
            if started.elapsed() + delay > self.settings.settle_timeout {
                return Err(RouteWriteError::PendingTimeout { waited_secs: started.elapsed().as_secs() });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.settings.poll_max);
        }
    }
}

#[cfg(test)]
mod tests;
