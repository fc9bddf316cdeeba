//! The aliyun-fake seed of the benchmark: one /16 VPC with a /20 vSwitch per zone, its route table with the
//! custom-route quota raised to fit every node, one running instance per initial node, and the rate limits,
//! latency and Pending time the scenarios run under.

use serde_json::{Value, json};

use super::limits::RateProfile;
use super::topology::{ACCOUNT_ID, INSTANCE_TYPE, NodeSpec, REGION, ROUTE_TABLE_ID, Topology, VPC_CIDR, VPC_ID};

/// How the fake behaves during the benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeBehaviour {
    /// Added latency of every API call, in milliseconds.
    pub latency_ms: u64,
    /// How long new route entries stay `Pending` (and deleted ones `Deleting`), in milliseconds.
    pub route_pending_ms: u64,
    /// Per-second limits per action.
    pub limits: RateProfile,
}

/// Custom routes allowed in the route table: every node that may exist at once, with room to spare.
pub fn route_quota(topology: &Topology) -> usize {
    topology.nodes + topology.churn + 100
}

/// The instance of `node`, in the seed's (and `POST /_fake/instances`') shape.
pub fn instance(node: &NodeSpec) -> Value {
    json!({
        "id": node.instance_id,
        "hostname": node.name,
        "vswitch": node.vswitch_id,
        "type": INSTANCE_TYPE,
        "status": "Running",
        "private_ip": node.private_ip,
        "tags": {"bench": "true"},
    })
}

/// The whole seed (JSON, which the fake reads as YAML).
pub fn seed(topology: &Topology, behaviour: &FakeBehaviour) -> Value {
    let vswitches: Vec<Value> = Topology::vswitches()
        .iter()
        .map(|v| json!({"id": v.id, "name": format!("bench-{}", v.zone), "zone": v.zone, "cidr": v.cidr}))
        .collect();
    let instances: Vec<Value> = topology.initial().into_iter().map(|i| instance(&topology.node(i))).collect();
    json!({
        "region": REGION,
        "account_id": ACCOUNT_ID,
        "route_entry_delay_ms": behaviour.route_pending_ms,
        "route_entry_quota": route_quota(topology),
        "vpcs": [{
            "id": VPC_ID,
            "name": "bench",
            "cidr": VPC_CIDR,
            "vswitches": vswitches,
            "route_tables": [{"id": ROUTE_TABLE_ID, "name": "system", "type": "System", "routes": []}],
        }],
        "instances": instances,
        "eips": [],
        "faults": {
            "qps": behaviour.limits.fake_qps_rules(),
            "latency_ms": {"*": behaviour.latency_ms},
            "errors": {},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_has_every_initial_instance_and_the_limits() {
        let t = Topology::new(10, 5, 2, 1).expect("topology");
        let b =
            FakeBehaviour { latency_ms: 50, route_pending_ms: 3000, limits: RateProfile::builtin().expect("limits") };
        let s = seed(&t, &b);
        assert_eq!(s["instances"].as_array().map(Vec::len), Some(10));
        assert_eq!(s["route_entry_quota"], 115);
        assert_eq!(s["faults"]["qps"]["CreateRouteEntries"], 5);
        assert_eq!(s["faults"]["latency_ms"]["*"], 50);
        assert_eq!(s["vpcs"][0]["vswitches"].as_array().map(Vec::len), Some(4));
    }
}
