use super::*;
use crate::cloud::RouteStatus;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn node(name: &str, instance: &str, cidrs: &[&str]) -> RouteNode {
    RouteNode { name: name.into(), instance_id: instance.into(), pod_cidrs: cidrs.iter().map(|c| net(c)).collect() }
}

fn route(table: &str, destination: &str, instance: &str) -> CloudRoute {
    CloudRoute {
        table_id: table.into(),
        destination: net(destination),
        next_hop: NextHop::Instance(instance.into()),
        status: RouteStatus::Available,
        entry_id: format!("rte-{instance}-{destination}"),
    }
}

fn foreign(table: &str, destination: &str, kind: &str, id: &str) -> CloudRoute {
    CloudRoute { next_hop: NextHop::Other { kind: kind.into(), id: id.into() }, ..route(table, destination, "x") }
}

fn table(id: &str, routes: Vec<CloudRoute>) -> ObservedTable {
    ObservedTable { id: id.into(), routes }
}

struct Case {
    nodes: Vec<RouteNode>,
    tables: Vec<ObservedTable>,
    cluster: Vec<IpNet>,
    untouchable: BTreeSet<String>,
}

impl Case {
    fn new(nodes: Vec<RouteNode>, tables: Vec<ObservedTable>, cluster: &[&str]) -> Self {
        Self { nodes, tables, cluster: cluster.iter().map(|c| net(c)).collect(), untouchable: BTreeSet::new() }
    }

    fn untouchable(mut self, instance: &str) -> Self {
        self.untouchable.insert(instance.into());
        self
    }

    fn plan(&self) -> RoutePlan {
        RoutePlan::compute(&PlanInput {
            nodes: &self.nodes,
            untouchable_instances: &self.untouchable,
            tables: &self.tables,
            cluster_cidrs: &self.cluster,
        })
    }
}

fn creates(plan: &RoutePlan) -> Vec<String> {
    plan.creates.iter().map(|c| format!("{} ({})", c.route, c.node)).collect()
}

fn deletes(plan: &RoutePlan) -> Vec<String> {
    plan.deletes.iter().map(|d| format!("{} [{}]", d.route, d.reason.label())).collect()
}

const V4: &str = "10.244.0.0/16";
const V6: &str = "fd00:10:244::/56";

#[test]
fn one_route_per_pod_cidr_per_table_dual_stack() {
    let case = Case::new(
        vec![
            node("node-1", "i-1", &["10.244.1.0/24", "fd00:10:244:1::/64"]),
            node("node-2", "i-2", &["10.244.2.0/24"]),
        ],
        vec![table("vtb-a", vec![]), table("vtb-b", vec![])],
        &[V4, V6],
    );
    let plan = case.plan();
    assert_eq!(
        creates(&plan),
        vec![
            "vtb-a 10.244.1.0/24 -> i-1 (node-1)",
            "vtb-a 10.244.2.0/24 -> i-2 (node-2)",
            "vtb-a fd00:10:244:1::/64 -> i-1 (node-1)",
            "vtb-b 10.244.1.0/24 -> i-1 (node-1)",
            "vtb-b 10.244.2.0/24 -> i-2 (node-2)",
            "vtb-b fd00:10:244:1::/64 -> i-1 (node-1)",
        ]
    );
    assert!(plan.deletes.is_empty() && plan.warnings.is_empty());
    let n1 = plan.node("node-1").unwrap();
    assert_eq!(n1.wanted.len(), 4);
    assert!(!n1.blocked);
    assert_eq!(plan.node("node-2").unwrap().wanted.len(), 2);
}

#[test]
fn existing_routes_are_kept_and_the_plan_is_empty() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.0/24", "fd00:10:244:1::/64"])],
        vec![table("vtb-a", vec![route("vtb-a", "10.244.1.0/24", "i-1"), route("vtb-a", "fd00:10:244:1::/64", "i-1")])],
        &[V4, V6],
    );
    let plan = case.plan();
    assert!(plan.is_empty(), "{plan}");
    assert!(plan.warnings.is_empty());
    assert_eq!(plan.node("node-1").unwrap().wanted.len(), 2);
}

#[test]
fn routes_in_progress_count_as_present() {
    let mut pending = route("vtb-a", "10.244.1.0/24", "i-1");
    pending.status = RouteStatus::InProgress;
    let case = Case::new(vec![node("node-1", "i-1", &["10.244.1.0/24"])], vec![table("vtb-a", vec![pending])], &[V4]);
    assert!(case.plan().is_empty());
}

#[test]
fn routes_of_vanished_nodes_are_deleted_in_every_table() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.0/24"])],
        vec![
            table("vtb-a", vec![route("vtb-a", "10.244.1.0/24", "i-1"), route("vtb-a", "10.244.9.0/24", "i-gone")]),
            table("vtb-b", vec![route("vtb-b", "10.244.9.0/24", "i-gone")]),
        ],
        &[V4],
    );
    let plan = case.plan();
    assert_eq!(
        deletes(&plan),
        vec!["vtb-a 10.244.9.0/24 -> i-gone [unknown_instance]", "vtb-b 10.244.9.0/24 -> i-gone [unknown_instance]"]
    );
    assert_eq!(creates(&plan), vec!["vtb-b 10.244.1.0/24 -> i-1 (node-1)"]);
    assert_eq!(plan.deletes[0].entry_id, "rte-i-gone-10.244.9.0/24");
}

#[test]
fn with_no_node_left_every_route_inside_the_cluster_cidr_goes() {
    let case = Case::new(
        vec![],
        vec![table(
            "vtb-a",
            vec![
                route("vtb-a", "10.244.1.0/24", "i-1"),
                route("vtb-a", "fd00:10:244:1::/64", "i-1"),
                route("vtb-a", "192.168.50.0/24", "i-1"),
            ],
        )],
        &[V4, V6],
    );
    let plan = case.plan();
    assert_eq!(
        deletes(&plan),
        vec!["vtb-a 10.244.1.0/24 -> i-1 [unknown_instance]", "vtb-a fd00:10:244:1::/64 -> i-1 [unknown_instance]"]
    );
    assert!(plan.nodes.is_empty());
}

#[test]
fn ipv6_routes_are_cleaned_only_inside_the_ipv6_cluster_cidr() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.0/24", "fd00:10:244:1::/64"])],
        vec![table(
            "vtb-a",
            vec![
                route("vtb-a", "10.244.1.0/24", "i-1"),
                route("vtb-a", "fd00:10:244:1::/64", "i-1"),
                route("vtb-a", "fd00:10:244:7::/64", "i-gone"),
                route("vtb-a", "fd00:99::/64", "i-gone"),
            ],
        )],
        &[V4, V6],
    );
    assert_eq!(deletes(&case.plan()), vec!["vtb-a fd00:10:244:7::/64 -> i-gone [unknown_instance]"]);
}

#[test]
fn an_ipv4_only_cluster_cidr_never_deletes_ipv6_routes() {
    let case = Case::new(vec![], vec![table("vtb-a", vec![route("vtb-a", "fd00:10:244:7::/64", "i-gone")])], &[V4]);
    assert!(case.plan().is_empty());
}

#[test]
fn routes_outside_the_cluster_cidr_are_never_touched() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.0/24"])],
        vec![table(
            "vtb-a",
            vec![
                route("vtb-a", "10.244.1.0/24", "i-1"),
                route("vtb-a", "192.168.100.0/24", "i-gone"),
                route("vtb-a", "10.0.0.0/8", "i-gone"),
                route("vtb-a", "10.244.0.0/15", "i-1"),
                route("vtb-a", "172.16.5.0/24", "i-1"),
            ],
        )],
        &[V4],
    );
    let plan = case.plan();
    assert!(plan.is_empty(), "{plan}");
}

#[test]
fn a_route_equal_to_the_cluster_cidr_counts_as_inside() {
    let case = Case::new(vec![], vec![table("vtb-a", vec![route("vtb-a", V4, "i-gone")])], &[V4]);
    assert_eq!(deletes(&case.plan()), vec!["vtb-a 10.244.0.0/16 -> i-gone [unknown_instance]"]);
}

#[test]
fn default_routes_are_never_touched() {
    let case = Case::new(
        vec![],
        vec![table(
            "vtb-a",
            vec![
                route("vtb-a", "0.0.0.0/0", "i-gone"),
                foreign("vtb-a", "0.0.0.0/0", "NatGateway", "ngw-1"),
                route("vtb-a", "::/0", "i-gone"),
            ],
        )],
        // Even a (rejected at startup) catch-all cluster CIDR does not make a default route ours.
        &["0.0.0.0/0", "::/0"],
    );
    assert!(case.plan().is_empty());
}

#[test]
fn routes_with_other_next_hops_are_never_touched() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.0/24"])],
        vec![table(
            "vtb-a",
            vec![
                route("vtb-a", "10.244.1.0/24", "i-1"),
                foreign("vtb-a", "10.244.50.0/24", "HaVip", "havip-1"),
                foreign("vtb-a", "10.244.51.0/24", "Ecmp", ""),
                foreign("vtb-a", "10.244.52.0/24", "NetworkInterface", "eni-1"),
            ],
        )],
        &[V4],
    );
    let plan = case.plan();
    assert!(plan.is_empty() && plan.warnings.is_empty(), "{plan}");
}

#[test]
fn a_foreign_route_on_a_node_destination_blocks_the_node() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.0/24"]), node("node-2", "i-2", &["10.244.2.0/24"])],
        vec![table("vtb-a", vec![foreign("vtb-a", "10.244.1.0/24", "NatGateway", "ngw-1")])],
        &[V4],
    );
    let plan = case.plan();
    assert_eq!(creates(&plan), vec!["vtb-a 10.244.2.0/24 -> i-2 (node-2)"]);
    assert!(plan.deletes.is_empty());
    assert_eq!(
        plan.warnings,
        vec![PlanWarning::DestinationHeld {
            node: "node-1".into(),
            table_id: "vtb-a".into(),
            destination: net("10.244.1.0/24"),
            holder: NextHop::Other { kind: "NatGateway".into(), id: "ngw-1".into() },
            reason: HoldReason::ForeignNextHop,
        }]
    );
    assert!(plan.node("node-1").unwrap().blocked);
    assert!(!plan.node("node-2").unwrap().blocked);
    assert!(plan.warnings[0].to_string().contains("NatGateway ngw-1"));
}

#[test]
fn a_route_holding_a_node_destination_through_another_instance_is_replaced() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.0/24"])],
        vec![table("vtb-a", vec![route("vtb-a", "10.244.1.0/24", "i-old")])],
        &[V4],
    );
    let plan = case.plan();
    assert_eq!(deletes(&plan), vec!["vtb-a 10.244.1.0/24 -> i-old [same_destination]"]);
    assert_eq!(plan.deletes[0].reason.node(), Some("node-1"));
    assert_eq!(creates(&plan), vec!["vtb-a 10.244.1.0/24 -> i-1 (node-1)"]);
}

#[test]
fn a_cidr_moved_between_current_nodes_is_replaced() {
    // node-2 used to own 10.244.1.0/24; now node-1 does and node-2 has a new CIDR.
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.0/24"]), node("node-2", "i-2", &["10.244.2.0/24"])],
        vec![table("vtb-a", vec![route("vtb-a", "10.244.1.0/24", "i-2")])],
        &[V4],
    );
    let plan = case.plan();
    assert_eq!(deletes(&plan), vec!["vtb-a 10.244.1.0/24 -> i-2 [same_destination]"]);
    assert_eq!(creates(&plan), vec!["vtb-a 10.244.1.0/24 -> i-1 (node-1)", "vtb-a 10.244.2.0/24 -> i-2 (node-2)"]);
}

#[test]
fn routes_strictly_inside_a_node_cidr_through_another_instance_are_deleted() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.0/24"])],
        vec![table(
            "vtb-a",
            vec![
                route("vtb-a", "10.244.1.0/24", "i-1"),
                route("vtb-a", "10.244.1.128/25", "i-other"),
                route("vtb-a", "10.244.1.7/32", "i-2"),
            ],
        )],
        &[V4],
    );
    let plan = case.plan();
    assert_eq!(
        deletes(&plan),
        vec!["vtb-a 10.244.1.7/32 -> i-2 [inside_node_cidr]", "vtb-a 10.244.1.128/25 -> i-other [inside_node_cidr]"]
    );
    assert_eq!(
        plan.deletes[0].reason,
        DeleteReason::InsideNodeCidr { node: "node-1".into(), pod_cidr: net("10.244.1.0/24") }
    );
    assert!(plan.creates.is_empty());
}

#[test]
fn a_stale_cidr_of_a_current_node_is_replaced() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.5.0/24"])],
        vec![table("vtb-a", vec![route("vtb-a", "10.244.1.0/24", "i-1")])],
        &[V4],
    );
    let plan = case.plan();
    assert_eq!(deletes(&plan), vec!["vtb-a 10.244.1.0/24 -> i-1 [stale_cidr]"]);
    assert_eq!(creates(&plan), vec!["vtb-a 10.244.5.0/24 -> i-1 (node-1)"]);
}

#[test]
fn a_node_without_pod_cidrs_gets_nothing_and_loses_its_old_routes() {
    let case = Case::new(
        vec![node("node-1", "i-1", &[])],
        vec![table("vtb-a", vec![route("vtb-a", "10.244.1.0/24", "i-1")])],
        &[V4],
    );
    let plan = case.plan();
    assert_eq!(deletes(&plan), vec!["vtb-a 10.244.1.0/24 -> i-1 [stale_cidr]"]);
    assert!(plan.creates.is_empty());
    assert!(plan.node("node-1").is_none(), "no condition for a node without pod CIDRs");
}

#[test]
fn routes_of_untouchable_instances_are_left_alone() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.0/24"])],
        vec![table(
            "vtb-a",
            vec![route("vtb-a", "10.244.7.0/24", "i-excluded"), route("vtb-a", "10.244.1.0/24", "i-excluded")],
        )],
        &[V4],
    )
    .untouchable("i-excluded");
    let plan = case.plan();
    assert!(plan.deletes.is_empty() && plan.creates.is_empty(), "{plan}");
    assert!(matches!(
        plan.warnings.as_slice(),
        [PlanWarning::DestinationHeld { reason: HoldReason::UntouchableInstance, .. }]
    ));
    assert!(plan.node("node-1").unwrap().blocked);
}

#[test]
fn a_node_cidr_outside_the_cluster_cidr_held_by_another_instance_blocks_the_node() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["192.168.7.0/24"])],
        vec![table("vtb-a", vec![route("vtb-a", "192.168.7.0/24", "i-other")])],
        &[V4],
    );
    let plan = case.plan();
    assert!(plan.is_empty());
    assert!(
        plan.warnings
            .iter()
            .any(|w| matches!(w, PlanWarning::DestinationHeld { reason: HoldReason::OutsideClusterCidr, .. }))
    );
    assert!(plan.warnings.iter().any(|w| matches!(w, PlanWarning::PodCidrOutsideClusterCidr { .. })));
    assert!(plan.node("node-1").unwrap().blocked);
}

#[test]
fn a_pod_cidr_outside_the_cluster_cidr_is_routed_with_a_warning() {
    let case = Case::new(vec![node("node-1", "i-1", &["192.168.7.0/24"])], vec![table("vtb-a", vec![])], &[V4]);
    let plan = case.plan();
    assert_eq!(creates(&plan), vec!["vtb-a 192.168.7.0/24 -> i-1 (node-1)"]);
    assert_eq!(
        plan.warnings,
        vec![PlanWarning::PodCidrOutsideClusterCidr { node: "node-1".into(), pod_cidr: net("192.168.7.0/24") }]
    );
    assert!(!plan.node("node-1").unwrap().blocked, "a warning, not a blocker");
}

#[test]
fn a_foreign_route_inside_a_pod_cidr_is_reported_not_deleted() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.0/24"])],
        vec![table(
            "vtb-a",
            vec![route("vtb-a", "10.244.1.0/24", "i-1"), foreign("vtb-a", "10.244.1.64/26", "HaVip", "havip-1")],
        )],
        &[V4],
    );
    let plan = case.plan();
    assert!(plan.is_empty());
    assert!(matches!(plan.warnings.as_slice(), [PlanWarning::ForeignRouteInsidePodCidr { .. }]));
    assert!(!plan.node("node-1").unwrap().blocked);
}

#[test]
fn duplicate_pod_cidrs_go_to_the_first_node_by_name() {
    let case = Case::new(
        vec![node("node-b", "i-b", &["10.244.1.0/24"]), node("node-a", "i-a", &["10.244.1.0/24"])],
        vec![table("vtb-a", vec![])],
        &[V4],
    );
    let plan = case.plan();
    assert_eq!(creates(&plan), vec!["vtb-a 10.244.1.0/24 -> i-a (node-a)"]);
    assert_eq!(
        plan.warnings,
        vec![PlanWarning::DuplicatePodCidr {
            node: "node-b".into(),
            pod_cidr: net("10.244.1.0/24"),
            owner: "node-a".into()
        }]
    );
    assert!(plan.node("node-b").unwrap().blocked);
    assert!(plan.node("node-b").unwrap().wanted.is_empty());
    assert!(!plan.node("node-a").unwrap().blocked);
}

#[test]
fn duplicate_pod_cidrs_keep_the_node_already_routed() {
    let case = Case::new(
        vec![node("node-a", "i-a", &["10.244.1.0/24"]), node("node-b", "i-b", &["10.244.1.0/24"])],
        vec![table("vtb-a", vec![route("vtb-a", "10.244.1.0/24", "i-b")]), table("vtb-b", vec![])],
        &[V4],
    );
    let plan = case.plan();
    assert!(plan.deletes.is_empty(), "the working route stays: {plan}");
    assert_eq!(creates(&plan), vec!["vtb-b 10.244.1.0/24 -> i-b (node-b)"]);
    assert!(plan.node("node-a").unwrap().blocked);
}

#[test]
fn overlapping_node_cidrs_do_not_fight() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.0.0/20"]), node("node-2", "i-2", &["10.244.1.0/24"])],
        vec![table("vtb-a", vec![route("vtb-a", "10.244.0.0/20", "i-1"), route("vtb-a", "10.244.1.0/24", "i-2")])],
        &[V4],
    );
    assert!(case.plan().is_empty());
}

#[test]
fn non_canonical_cidrs_are_normalized() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.9/24", "10.244.1.0/24"])],
        vec![table("vtb-a", vec![route("vtb-a", "10.244.1.0/24", "i-1")])],
        &["10.244.3.3/16"],
    );
    let plan = case.plan();
    assert!(plan.is_empty() && plan.warnings.is_empty(), "{plan}");
    assert_eq!(plan.node("node-1").unwrap().wanted.len(), 1);
}

#[test]
fn several_cluster_cidrs_each_delimit_what_may_be_deleted() {
    let case = Case::new(
        vec![],
        vec![table(
            "vtb-a",
            vec![
                route("vtb-a", "10.244.9.0/24", "i-gone"),
                route("vtb-a", "10.96.9.0/24", "i-gone"),
                route("vtb-a", "10.97.9.0/24", "i-gone"),
            ],
        )],
        &["10.244.0.0/16", "10.96.0.0/16"],
    );
    assert_eq!(deletes(&case.plan()).len(), 2);
}

#[test]
fn no_tables_no_work() {
    let case = Case::new(vec![node("node-1", "i-1", &["10.244.1.0/24"])], vec![], &[V4]);
    let plan = case.plan();
    assert!(plan.is_empty());
    assert!(plan.node("node-1").unwrap().wanted.is_empty());
}

#[test]
fn the_plan_does_not_depend_on_input_order() {
    let nodes = vec![
        node("node-1", "i-1", &["10.244.1.0/24", "fd00:10:244:1::/64"]),
        node("node-2", "i-2", &["10.244.2.0/24"]),
        node("node-3", "i-3", &["10.244.2.0/24"]),
    ];
    let tables = vec![
        table("vtb-b", vec![route("vtb-b", "10.244.9.0/24", "i-9"), route("vtb-b", "10.244.1.0/24", "i-7")]),
        table("vtb-a", vec![route("vtb-a", "10.244.8.0/24", "i-8"), route("vtb-a", "10.244.1.0/25", "i-2")]),
    ];
    let forward = Case::new(nodes.clone(), tables.clone(), &[V4, V6]).plan();
    let mut reversed_nodes = nodes;
    reversed_nodes.reverse();
    let mut reversed_tables: Vec<ObservedTable> = tables
        .into_iter()
        .rev()
        .map(|mut t| {
            t.routes.reverse();
            t
        })
        .collect();
    reversed_tables.reverse();
    let backward = Case::new(reversed_nodes, reversed_tables, &[V6, V4]).plan();
    assert_eq!(forward, backward);
}

#[test]
fn plans_print_readably() {
    let case = Case::new(
        vec![node("node-1", "i-1", &["10.244.1.0/24"])],
        vec![table("vtb-a", vec![route("vtb-a", "10.244.9.0/24", "i-gone")])],
        &[V4],
    );
    let text = case.plan().to_string();
    assert_eq!(
        text,
        "route plan: 1 to delete, 1 to create, 0 warning(s), 1 node(s)\n\
         \x20 delete vtb-a 10.244.9.0/24 -> i-gone  (instance of no current node)\n\
         \x20 create vtb-a 10.244.1.0/24 -> i-1  (node node-1)\n"
    );
}
