//! Lower bounds: the fewest cloud calls each scenario needs at the APIs' batch sizes, and the least time it
//! needs under the fake's per-second limits, its latency, the serialization of writes to one route table and
//! the Pending time of route entries. No implementation can beat them; the report shows every measurement
//! beside its bound.
//!
//! Conventions (`L` = latency of one call, `P` = Pending time, `q(a)` = calls per second allowed for action
//! `a`):
//! * `k` calls of one action need `ceil(k / q(a))` one-second windows, of which the first and the last may be
//!   partial: at least `max(0, ceil(k / q(a)) - 2)` seconds between the first and the last call.
//! * A call takes effect after `L`; calls that depend on an answer (create a load balancer, then its vServer
//!   group, then the listener, then start it) add `L` per step.
//! * A route-table write leaves its entries Pending for `P`, and the table refuses writes until they settle: `w`
//!   writes to one table take at least `(w - 1) * P` between the first and the last, plus `P` until the last
//!   settles. Route tables are independent of each other.
//! * Only what is strictly needed counts: one listing of each route table and of the load balancers (nothing
//!   exists yet, so one page), one `DescribeInstances` per 100 new nodes, writes at full batches; a released
//!   instance leaves its vServer groups by itself (as aliyun-fake and the console do).

use std::collections::BTreeMap;

use serde::Serialize;

use super::limits::RateProfile;
use super::topology::Topology;

/// What the bounds depend on.
#[derive(Debug, Clone)]
pub struct BoundInputs {
    /// Sizes.
    pub topology: Topology,
    /// Route tables the CCM manages.
    pub route_tables: u64,
    /// Latency of every call, seconds.
    pub latency_s: f64,
    /// Pending time of route entries, seconds.
    pub pending_s: f64,
    /// Limits and batch sizes.
    pub limits: RateProfile,
    /// Service ports per Service.
    pub ports_per_service: u64,
}

/// The lower bound of one scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LowerBound {
    /// Calls needed per action.
    pub calls: BTreeMap<String, u64>,
    /// Their sum.
    pub total_calls: u64,
    /// Least time to converge, seconds (none for the steady state).
    pub time_s: Option<f64>,
    /// Least median taint-removal latency of the nodes registered, seconds.
    pub taint_p50_s: Option<f64>,
    /// Least 99th-percentile taint-removal latency, seconds.
    pub taint_p99_s: Option<f64>,
    /// How the bound was computed, one line per term.
    pub explain: Vec<String>,
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b.max(1))
}

/// Seconds between the first and the last of `calls` calls allowed `qps` per one-second window.
pub fn rate_time(calls: u64, qps: u32) -> f64 {
    (ceil_div(calls, u64::from(qps)) as f64 - 2.0).max(0.0)
}

impl LowerBound {
    fn add(&mut self, action: &str, calls: u64) {
        if calls > 0 {
            *self.calls.entry(action.to_owned()).or_default() += calls;
            self.total_calls += calls;
        }
    }
}

impl BoundInputs {
    fn qps(&self, action: &str) -> u32 {
        self.limits.qps(action)
    }

    /// Initializing `n` new nodes: DescribeInstances batches; returns (time of the last, p50, p99).
    fn node_init(&self, lb: &mut LowerBound, n: u64) -> (f64, f64, f64) {
        let per_call = self.limits.batch.describe_instances;
        let calls = ceil_div(n, per_call);
        lb.add("DescribeInstances", calls);
        let q = self.qps("DescribeInstances");
        let at = |frac: f64| {
            let node = ((frac * n as f64).ceil() as u64).max(1);
            self.latency_s + rate_time(ceil_div(node, per_call), q)
        };
        let last = self.latency_s + rate_time(calls, q);
        lb.explain.push(format!(
            "node init: {n} nodes / {per_call} per DescribeInstances = {calls} call(s) at {q}/s: >= {last:.2}s"
        ));
        (last, at(0.5), at(0.99))
    }

    /// `creates` and `deletes` routes in every managed table; returns the time until the last settles.
    fn routes(&self, lb: &mut LowerBound, creates: u64, deletes: u64) -> f64 {
        let per_call = self.limits.batch.route_entries;
        let (c, d) = (ceil_div(creates, per_call), ceil_div(deletes, per_call));
        let tables = self.route_tables.max(1);
        lb.add("DescribeRouteEntryList", tables);
        lb.add("CreateRouteEntries", c * tables);
        lb.add("DeleteRouteEntries", d * tables);
        let writes = c + d;
        if writes == 0 {
            return 0.0;
        }
        let spacing = ((writes - 1) as f64 * self.pending_s)
            .max(rate_time(c * tables, self.qps("CreateRouteEntries")))
            .max(rate_time(d * tables, self.qps("DeleteRouteEntries")));
        let t = 2.0 * self.latency_s + spacing + self.pending_s;
        lb.explain.push(format!(
            "routes: per table 1 listing, then {c} CreateRouteEntries + {d} DeleteRouteEntries ({per_call} entries \
             each; or one CreateRouteEntry/DeleteRouteEntry per route), one at a time as each batch stays Pending \
             {:.1}s: >= 2L + {}xP + P = {t:.2}s",
            self.pending_s,
            writes - 1
        ));
        t
    }

    /// S1: `nodes` nodes registered at once.
    pub fn bring_up(&self) -> LowerBound {
        let mut lb = LowerBound::default();
        let n = self.topology.nodes as u64;
        let (init, p50, p99) = self.node_init(&mut lb, n);
        let routes = self.routes(&mut lb, n, 0);
        lb.time_s = Some(init.max(routes));
        lb.taint_p50_s = Some(p50);
        lb.taint_p99_s = Some(p99);
        lb
    }

    /// S2: `services` LoadBalancer Services created at once.
    pub fn services(&self) -> LowerBound {
        let mut lb = LowerBound::default();
        let m = self.topology.services as u64;
        if m == 0 {
            lb.time_s = Some(0.0);
            return lb;
        }
        let ports = self.ports_per_service;
        let per_call = self.limits.batch.backends_per_call;
        let backends = self.topology.endpoints_per_service as u64;
        let extra_adds = backends.saturating_sub(per_call).div_ceil(per_call);
        lb.add("DescribeLoadBalancers", 1);
        lb.add("CreateLoadBalancer", m);
        lb.add("CreateVServerGroup", m * ports);
        lb.add("AddVServerGroupBackendServers", m * ports * extra_adds);
        lb.add("CreateLoadBalancerTCPListener", m * ports);
        lb.add("StartLoadBalancerListener", m * ports);
        let slowest = lb
            .calls
            .iter()
            .map(|(a, c)| (rate_time(*c, self.qps(a)), a.clone()))
            .fold((0.0, String::new()), |best, cur| if cur.0 > best.0 { cur } else { best });
        let steps = if extra_adds > 0 { 6.0 } else { 5.0 };
        let t = steps * self.latency_s + slowest.0;
        lb.explain.push(format!(
            "per Service: CreateLoadBalancer, then per port ({ports}) CreateVServerGroup with its {backends} \
             backend(s) ({per_call} per call), CreateLoadBalancerTCPListener, StartLoadBalancerListener; one \
             DescribeLoadBalancers page for all"
        ));
        let rate_term = if slowest.0 > 0.0 {
            format!(
                "the slowest action's rate ({} calls of {} at {}/s: {:.1}s)",
                lb.calls.get(&slowest.1).copied().unwrap_or(0),
                slowest.1,
                self.qps(&slowest.1),
                slowest.0
            )
        } else {
            "no rate limit binds".to_owned()
        };
        lb.explain.push(format!("time: {steps} dependent steps x L + {rate_term} = {t:.2}s"));
        lb.time_s = Some(t);
        lb
    }

    /// S3: `churn` nodes removed and as many added.
    pub fn churn(&self, services_ran: bool) -> LowerBound {
        let mut lb = LowerBound::default();
        let c = self.topology.churn as u64;
        let (init, p50, p99) = self.node_init(&mut lb, c);
        let routes = self.routes(&mut lb, c, c);
        let mut clb = 0.0;
        if services_ran {
            let groups = self.topology.services_touched_by_churn().len() as u64 * self.ports_per_service;
            lb.add("AddVServerGroupBackendServers", groups);
            if groups > 0 {
                clb = self.latency_s + rate_time(groups, self.qps("AddVServerGroupBackendServers"));
            }
            lb.explain.push(format!(
                "backends: {groups} vServer group(s) of Services with an endpoint on a removed node; a released \
                 instance leaves its groups by itself (aliyun-fake, like the console), so one \
                 AddVServerGroupBackendServers each for the replacement: >= {clb:.2}s"
            ));
        }
        lb.time_s = Some(init.max(routes).max(clb));
        lb.taint_p50_s = Some(p50);
        lb.taint_p99_s = Some(p99);
        lb
    }

    /// S4: nothing changes, so nothing needs a call.
    pub fn steady(&self) -> LowerBound {
        LowerBound {
            explain: vec!["nothing changes: no call is needed (periodic resyncs are a design choice)".into()],
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(nodes: usize, services: usize) -> BoundInputs {
        BoundInputs {
            topology: Topology::new(nodes, 50.min(nodes / 2), services, 3).expect("topology"),
            route_tables: 1,
            latency_s: 0.05,
            pending_s: 3.0,
            limits: RateProfile::builtin().expect("limits"),
            ports_per_service: 2,
        }
    }

    #[test]
    fn bring_up_of_1000_nodes_is_bound_by_route_table_serialization() {
        let lb = inputs(1000, 200).bring_up();
        assert_eq!(lb.calls["DescribeInstances"], 10);
        assert_eq!(lb.calls["CreateRouteEntries"], 20);
        assert_eq!(lb.calls["DescribeRouteEntryList"], 1);
        assert_eq!(lb.total_calls, 31);
        // 2L + 19 x 3 s + 3 s
        let t = lb.time_s.expect("time");
        assert!((t - 60.1).abs() < 1e-9, "{t}");
        assert!((lb.taint_p50_s.expect("p50") - 0.05).abs() < 1e-9);
    }

    #[test]
    fn services_are_bound_by_create_load_balancer_rate() {
        let lb = inputs(1000, 200).services();
        assert_eq!(lb.calls["CreateLoadBalancer"], 200);
        assert_eq!(lb.calls["CreateVServerGroup"], 400);
        assert!(!lb.calls.contains_key("AddVServerGroupBackendServers"));
        // CreateLoadBalancer 200 at 2/s: 98 s; CreateVServerGroup 400 at 4/s: 98 s.
        let t = lb.time_s.expect("time");
        assert!((t - (5.0 * 0.05 + 98.0)).abs() < 1e-9, "{t}");
    }

    #[test]
    fn churn_needs_a_delete_and_a_create_batch() {
        let lb = inputs(1000, 200).churn(true);
        assert_eq!(lb.calls["CreateRouteEntries"], 1);
        assert_eq!(lb.calls["DeleteRouteEntries"], 1);
        assert_eq!(lb.calls["DescribeInstances"], 1);
        // 30 of the 200 Services have an endpoint on one of the 50 removed nodes: 60 groups at 4/s (13 s) outlast
        // the two route batches (2L + P + P).
        assert_eq!(lb.calls["AddVServerGroupBackendServers"], 60);
        let t = lb.time_s.expect("time");
        assert!((t - 13.05).abs() < 1e-9, "{t}");
        let routes_only = inputs(1000, 200).churn(false).time_s.expect("time");
        assert!((routes_only - (0.1 + 3.0 + 3.0)).abs() < 1e-9, "{routes_only}");
    }

    #[test]
    fn rate_time_ignores_partial_end_windows() {
        assert_eq!(rate_time(1, 5), 0.0);
        assert_eq!(rate_time(10, 5), 0.0);
        assert_eq!(rate_time(11, 5), 1.0);
        assert_eq!(rate_time(200, 2), 98.0);
    }
}
