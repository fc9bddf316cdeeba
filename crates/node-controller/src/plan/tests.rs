//! Every rule of the plan, one test each.

use super::*;
use crate::{addresses::HOSTNAME, mock::instance, test_support::NodeBuilder};
use ccm_kube::names::{ANNOTATION_PROVIDED_NODE_IP, LABEL_EXCLUDE_NODE};

const REGION: &str = "cn-hangzhou";

fn config() -> PlanConfig {
    PlanConfig {
        region: REGION.into(),
        vpc_id: Some("vpc-mock".into()),
        disable_source_dest_check: false,
        ipv6_dual_stack: false,
    }
}

fn ecs_node(name: &str, instance_id: &str) -> NodeBuilder {
    NodeBuilder::new(name).provider_id(&format!("{REGION}.{instance_id}"))
}

fn found(i: EcsInstance) -> CloudView {
    CloudView::found(i)
}

fn found_checked(i: EcsInstance, check: SourceDestCheck) -> CloudView {
    CloudView::Found { instance: Box::new(i), source_dest_check: check }
}

fn vm() -> EcsInstance {
    let mut i = instance(REGION, "i-1", "10.0.0.1");
    i.zone_id = "cn-hangzhou-h".into();
    i.tags.insert(ECS_TAG_NODEPOOL_ID.into(), "np-1".into());
    i
}

fn update(plan: NodePlan) -> NodeUpdate {
    match plan {
        NodePlan::Update(u) => u,
        other => panic!("expected an update, got {other:?}"),
    }
}

fn warning(plan: &NodePlan) -> &Warning {
    match plan {
        NodePlan::Warn(w) => w,
        other => panic!("expected a warning, got {other:?}"),
    }
}

fn skip_reason(plan: &NodePlan) -> &SkipReason {
    match plan {
        NodePlan::Skip { reason } => reason,
        other => panic!("expected a skip, got {other:?}"),
    }
}

/// Every view a lookup can produce, to show that a rule holds whatever the cloud says.
fn every_view() -> Vec<CloudView> {
    let mut stopped = vm();
    stopped.status = InstanceStatus::Stopped;
    vec![
        CloudView::NotAsked,
        found(vm()),
        found(stopped),
        CloudView::Absent,
        CloudView::NoIpMatch { ips: vec![] },
        CloudView::AmbiguousIpMatch { ips: vec![], instance_ids: vec!["i-1".into(), "i-2".into()] },
        CloudView::Failed { error: "boom".into() },
    ]
}

// ------------------------------------------------------------------------------------------------------------------
// Hybrid, virtual, excluded
// ------------------------------------------------------------------------------------------------------------------

#[test]
fn hybrid_virtual_excluded_lingjun_and_deleting_nodes_are_never_touched() {
    let untouchable = [
        NodeBuilder::new("idc").provider_id("ack-hybrid://idc-1").uninitialized().ready("False").build(),
        NodeBuilder::new("vk").label("type", "virtual-kubelet").uninitialized().ready("False").build(),
        ecs_node("ex", "i-1").label(LABEL_EXCLUDE_NODE, "true").uninitialized().ready("False").build(),
        ecs_node("lj", "i-1").label(LABEL_LINGJUN_WORKER, "true").ready("Unknown").build(),
        ecs_node("del", "i-1").uninitialized().ready("False").deleting().build(),
        NodeBuilder::new("aws").provider_id("aws:///us-east-1a/i-0abc").ready("False").build(),
    ];
    for node in &untouchable {
        assert_eq!(lookup_for(node, &config()), Lookup::Nothing, "{:?}", node.metadata.name);
        for view in every_view() {
            let plan = plan_node(node, &view, &config());
            assert!(matches!(plan, NodePlan::Skip { .. }), "{:?} with {view:?}: {plan}", node.metadata.name);
        }
    }
}

#[test]
fn a_node_without_provider_id_nor_taint_is_not_managed() {
    let node = NodeBuilder::new("idc").kubelet_addresses("10.0.0.1").ready("False").build();
    assert_eq!(lookup_for(&node, &config()), Lookup::Nothing);
    for view in every_view() {
        assert_eq!(skip_reason(&plan_node(&node, &view, &config())), &SkipReason::NotInitializing);
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Initialization by provider ID
// ------------------------------------------------------------------------------------------------------------------

#[test]
fn initializes_a_node_by_provider_id() {
    let node = ecs_node("n1", "i-1").uninitialized().kubelet_addresses("10.0.0.1").build();
    assert_eq!(lookup_for(&node, &config()), Lookup::ById(ProviderId::new(REGION, "i-1")));
    let u = update(plan_node(&node, &found(vm()), &config()));
    assert!(u.remove_uninitialized_taint);
    assert_eq!(u.provider_id, None, "a set provider ID is never rewritten");
    let label = |k: &str| u.labels.get(k).map(String::as_str);
    assert_eq!(label(LABEL_INSTANCE_TYPE), Some("ecs.g7.large"));
    assert_eq!(label(LABEL_INSTANCE_TYPE_BETA), Some("ecs.g7.large"));
    assert_eq!(label(LABEL_ZONE), Some("cn-hangzhou-h"));
    assert_eq!(label(LABEL_ZONE_BETA), Some("cn-hangzhou-h"));
    assert_eq!(label(LABEL_REGION), Some(REGION));
    assert_eq!(label(LABEL_REGION_BETA), Some(REGION));
    assert_eq!(label(LABEL_INSTANCE_CHARGE_TYPE), Some("PostPaid"));
    assert_eq!(label(LABEL_SPOT_STRATEGY), Some("NoSpot"));
    assert_eq!(label(LABEL_NODEPOOL_ID), Some("np-1"));
    assert!(!u.labels.contains_key("kubernetes.io/hostname"), "other labels untouched");
    assert_eq!(u.addresses, None, "the kubelet's list already matches");
    assert_eq!(u.shutdown_taint, None);
    assert!(u.warning.is_none());
}

#[test]
fn the_address_list_is_replaced_whole_with_the_hostname_kept() {
    let node = ecs_node("n1", "i-1").uninitialized().address(HOSTNAME, "n1").address("InternalIP", "10.9.9.9").build();
    let mut i = vm();
    i.eip = Some("47.1.2.3".parse().unwrap());
    let u = update(plan_node(&node, &found(i), &config()));
    let list: Vec<(&str, &str)> =
        u.addresses.as_ref().unwrap().iter().map(|a| (a.type_.as_str(), a.address.as_str())).collect();
    assert_eq!(list, vec![("InternalIP", "10.0.0.1"), ("ExternalIP", "47.1.2.3"), (HOSTNAME, "n1")]);
}

#[test]
fn provided_node_ip_not_matching_keeps_the_taint_with_a_warning() {
    let node = ecs_node("n1", "i-1").uninitialized().provided_node_ip("10.9.9.9").build();
    let plan = plan_node(&node, &found(vm()), &config());
    let w = warning(&plan);
    assert_eq!(w.reason, ADD_NODE_FAILED);
    assert!(w.message.contains("10.9.9.9") && w.message.contains(ANNOTATION_PROVIDED_NODE_IP), "{}", w.message);
}

#[test]
fn provided_node_ip_matching_and_absent() {
    let mut i = vm();
    i.private_ips.push("10.0.0.2".parse().unwrap());
    let pinned = ecs_node("n1", "i-1").uninitialized().provided_node_ip("10.0.0.2").build();
    let u = update(plan_node(&pinned, &found(i.clone()), &config()));
    let addresses = u.addresses.unwrap();
    assert_eq!(addresses.len(), 1);
    assert_eq!(addresses[0].address, "10.0.0.2");
    let free = ecs_node("n1", "i-1").uninitialized().build();
    assert_eq!(update(plan_node(&free, &found(i), &config())).addresses.unwrap().len(), 2);
}

#[test]
fn dual_stack_provided_node_ip() {
    let mut i = vm();
    i.ipv6s = vec!["2408::1".parse().unwrap(), "2408::2".parse().unwrap()];
    let node = ecs_node("n1", "i-1").uninitialized().provided_node_ip("10.0.0.1,2408::2").build();
    let u = update(plan_node(&node, &found(i.clone()), &config()));
    let list: Vec<&str> = u.addresses.as_ref().unwrap().iter().map(|a| a.address.as_str()).collect();
    assert_eq!(list, vec!["10.0.0.1", "2408::2"]);
    assert!(u.remove_uninitialized_taint);

    let v4_only = ecs_node("n2", "i-1").uninitialized().build();
    let dual = PlanConfig { ipv6_dual_stack: true, ..config() };
    let list = update(plan_node(&v4_only, &found(i), &dual)).addresses.unwrap();
    assert_eq!(list.iter().filter(|a| a.type_ == "InternalIP").count(), 3, "IPv6s of the primary ENI with the gate");
}

#[test]
fn a_cloud_error_never_untaints_nor_deletes() {
    let failed = CloudView::Failed { error: "Throttling".into() };
    for ready in ["True", "False", "Unknown"] {
        let node = ecs_node("n1", "i-1").uninitialized().ready(ready).build();
        assert!(matches!(plan_node(&node, &failed, &config()), NodePlan::Retry { .. }));
        let node = ecs_node("n1", "i-1").ready(ready).build();
        assert!(matches!(plan_node(&node, &failed, &config()), NodePlan::Retry { .. }));
    }
}

#[test]
fn a_changed_provider_id_during_the_lookup_means_look_again() {
    let node = ecs_node("n1", "i-2").uninitialized().build();
    assert!(matches!(plan_node(&node, &found(vm()), &config()), NodePlan::Retry { .. }));
    let got_id_meanwhile = ecs_node("n1", "i-1").uninitialized().build();
    let view = CloudView::NoIpMatch { ips: vec!["10.0.0.1".parse().unwrap()] };
    assert!(matches!(plan_node(&got_id_meanwhile, &view, &config()), NodePlan::Retry { .. }));
}

// ------------------------------------------------------------------------------------------------------------------
// Source/destination check
// ------------------------------------------------------------------------------------------------------------------

#[test]
fn source_dest_check_is_turned_off_before_the_taint_goes() {
    let cfg = PlanConfig { disable_source_dest_check: true, ..config() };
    let node = ecs_node("n1", "i-1").uninitialized().build();

    let first = update(plan_node(&node, &found(vm()), &cfg));
    assert_eq!(first.source_dest_check_eni.as_deref(), Some("eni-i-1"));
    assert!(!first.remove_uninitialized_taint, "not before the check is off");

    let done = update(plan_node(&node, &found_checked(vm(), SourceDestCheck::Disabled), &cfg));
    assert!(done.remove_uninitialized_taint);
    assert_eq!(done.source_dest_check_eni, None);

    let failed = update(plan_node(&node, &found_checked(vm(), SourceDestCheck::Failed("busy".into())), &cfg));
    assert!(!failed.remove_uninitialized_taint, "a failure keeps the taint");
    assert!(!failed.labels.is_empty(), "labels still set");
    let w = failed.warning.unwrap();
    assert_eq!(w.reason, ADD_NODE_FAILED);
    assert!(w.message.contains("eni-i-1") && w.message.contains("busy"));

    let mut classic = vm();
    classic.primary_eni_id = None;
    assert!(update(plan_node(&node, &found(classic), &cfg)).remove_uninitialized_taint, "no ENI listed: nothing to do");
    assert!(update(plan_node(&node, &found(vm()), &config())).remove_uninitialized_taint, "skipped by flag");
}

#[test]
fn initialized_nodes_do_not_need_the_source_dest_check() {
    let cfg = PlanConfig { disable_source_dest_check: true, ..config() };
    let node = ecs_node("n1", "i-1").kubelet_addresses("10.0.0.1").build();
    let plan = plan_node(&node, &found(vm()), &cfg);
    assert!(matches!(plan, NodePlan::Update(ref u) if u.source_dest_check_eni.is_none()), "{plan}");
}

// ------------------------------------------------------------------------------------------------------------------
// Initialization by IP
// ------------------------------------------------------------------------------------------------------------------

#[test]
fn a_node_without_provider_id_is_found_by_its_private_ip() {
    let node = NodeBuilder::new("n1").uninitialized().kubelet_addresses("10.0.0.1").build();
    assert_eq!(lookup_for(&node, &config()), Lookup::ByPrivateIps(vec!["10.0.0.1".parse().unwrap()]));
    let u = update(plan_node(&node, &found(vm()), &config()));
    assert_eq!(u.provider_id.as_deref(), Some("cn-hangzhou.i-1"));
    assert!(u.remove_uninitialized_taint);
    assert!(u.labels.contains_key(LABEL_ZONE));
}

#[test]
fn no_or_several_ip_matches_leave_the_taint_with_a_warning() {
    let node = NodeBuilder::new("n1").uninitialized().kubelet_addresses("10.0.0.1").build();
    let none = plan_node(&node, &CloudView::NoIpMatch { ips: vec!["10.0.0.1".parse().unwrap()] }, &config());
    assert_eq!(warning(&none).reason, ADD_NODE_FAILED);
    assert!(warning(&none).message.contains("10.0.0.1") && warning(&none).message.contains("vpc-mock"));
    let many = CloudView::AmbiguousIpMatch {
        ips: vec!["10.0.0.1".parse().unwrap()],
        instance_ids: vec!["i-1".into(), "i-2".into()],
    };
    let plan = plan_node(&node, &many, &config());
    assert!(warning(&plan).message.contains("i-1, i-2"));
    let failed = plan_node(&node, &CloudView::Failed { error: "x".into() }, &config());
    assert!(matches!(failed, NodePlan::Retry { .. }));
}

#[test]
fn ip_lookup_needs_a_vpc_and_an_ipv4() {
    let no_vpc = PlanConfig { vpc_id: None, ..config() };
    let node = NodeBuilder::new("n1").uninitialized().kubelet_addresses("10.0.0.1").build();
    assert_eq!(lookup_for(&node, &no_vpc), Lookup::Nothing);
    assert!(warning(&plan_node(&node, &CloudView::NotAsked, &no_vpc)).message.contains("Global.vpcid"));

    let waiting = NodeBuilder::new("n1").uninitialized().build();
    assert_eq!(lookup_for(&waiting, &config()), Lookup::Nothing);
    assert_eq!(skip_reason(&plan_node(&waiting, &CloudView::NotAsked, &config())), &SkipReason::AwaitingInternalIp);

    let v6_only = NodeBuilder::new("n1").uninitialized().address("InternalIP", "fd00::1").build();
    assert_eq!(lookup_for(&v6_only, &config()), Lookup::Nothing);
    assert_eq!(warning(&plan_node(&v6_only, &CloudView::NotAsked, &config())).reason, ADD_NODE_FAILED);
}

#[test]
fn the_provided_node_ip_is_also_looked_up() {
    let node = NodeBuilder::new("n1").uninitialized().provided_node_ip("10.0.0.7").build();
    assert_eq!(lookup_for(&node, &config()), Lookup::ByPrivateIps(vec!["10.0.0.7".parse().unwrap()]));
}

#[test]
fn ip_matching_is_exactly_one_instance_for_exactly_one_node() {
    let a = instance(REGION, "i-a", "10.0.0.1");
    let b = instance(REGION, "i-b", "10.0.0.2");
    let mut b2 = instance(REGION, "i-b2", "10.0.0.2");
    let mut elsewhere = instance(REGION, "i-x", "10.0.0.3");
    elsewhere.vpc_id = "vpc-other".into();
    b2.private_ips.push("10.0.0.4".parse().unwrap());
    let ip = |s: &str| -> Ipv4Addr { s.parse().unwrap() };
    let wanted = vec![
        ("one".to_owned(), vec![ip("10.0.0.1")]),
        ("two".to_owned(), vec![ip("10.0.0.2")]),
        ("none".to_owned(), vec![ip("10.0.0.3")]),
        ("shared-a".to_owned(), vec![ip("10.0.0.4")]),
        ("shared-b".to_owned(), vec![ip("10.0.0.4")]),
    ];
    let got = match_by_private_ip(&wanted, &[a, b, b2, elsewhere], "vpc-mock");
    assert!(matches!(&got["one"], CloudView::Found { instance, .. } if instance.instance_id == "i-a"));
    assert!(
        matches!(&got["two"], CloudView::AmbiguousIpMatch { instance_ids, .. } if instance_ids == &["i-b", "i-b2"])
    );
    assert!(matches!(&got["none"], CloudView::NoIpMatch { .. }), "instances of other VPCs do not count");
    assert!(matches!(&got["shared-a"], CloudView::AmbiguousIpMatch { .. }), "one instance claimed by two nodes");
    assert!(matches!(&got["shared-b"], CloudView::AmbiguousIpMatch { .. }));
}

// ------------------------------------------------------------------------------------------------------------------
// Refresh
// ------------------------------------------------------------------------------------------------------------------

#[test]
fn refresh_sets_only_labels_that_differ_and_nothing_when_up_to_date() {
    let node = ecs_node("n1", "i-1").kubelet_addresses("10.0.0.1").ready("True").build();
    let first = update(plan_node(&node, &found(vm()), &config()));
    assert!(!first.remove_uninitialized_taint);
    let mut labelled =
        NodeBuilder::new("n1").provider_id("cn-hangzhou.i-1").kubelet_addresses("10.0.0.1").ready("True");
    for (k, v) in &first.labels {
        labelled = labelled.label(k, v);
    }
    let labelled = labelled.label(LABEL_ZONE, "stale").build();
    let second = update(plan_node(&labelled, &found(vm()), &config()));
    assert_eq!(second.labels.len(), 1);
    assert_eq!(second.labels[LABEL_ZONE], "cn-hangzhou-h");

    let mut up_to_date = labelled.clone();
    up_to_date.metadata.labels.as_mut().unwrap().insert(LABEL_ZONE.into(), "cn-hangzhou-h".into());
    assert_eq!(skip_reason(&plan_node(&up_to_date, &found(vm()), &config())), &SkipReason::UpToDate);
}

#[test]
fn refresh_replaces_changed_addresses_and_warns_on_a_bad_provided_ip() {
    let node = ecs_node("n1", "i-1").kubelet_addresses("10.0.0.1").build();
    let mut moved = vm();
    moved.eip = Some("47.0.0.9".parse().unwrap());
    let u = update(plan_node(&node, &found(moved), &config()));
    assert_eq!(u.addresses.unwrap().len(), 3);

    let pinned = ecs_node("n1", "i-1").kubelet_addresses("10.0.0.1").provided_node_ip("10.9.9.9").build();
    let u = update(plan_node(&pinned, &found(vm()), &config()));
    assert!(u.addresses.is_none(), "addresses kept, not re-tainted");
    assert_eq!(u.warning.unwrap().reason, SYNC_NODE_FAILED);
}

#[test]
fn an_unset_tag_or_charge_type_never_removes_a_label() {
    let mut bare = vm();
    bare.tags.clear();
    bare.charge_type.clear();
    let labels = desired_labels(&bare, REGION);
    assert!(!labels.contains_key(LABEL_NODEPOOL_ID));
    assert!(!labels.contains_key(LABEL_INSTANCE_CHARGE_TYPE));
    bare.region_id.clear();
    assert_eq!(desired_labels(&bare, "cn-beijing")[LABEL_REGION], "cn-beijing", "region falls back to config");
}

// ------------------------------------------------------------------------------------------------------------------
// Lifecycle
// ------------------------------------------------------------------------------------------------------------------

#[test]
fn a_not_ready_node_whose_instance_is_gone_is_deleted() {
    for status in ["False", "Unknown"] {
        let node = ecs_node("n1", "i-1").ready(status).build();
        assert_eq!(plan_node(&node, &CloudView::Absent, &config()), NodePlan::Delete { instance_id: "i-1".into() });
    }
    let no_condition = ecs_node("n1", "i-1").build();
    assert!(matches!(plan_node(&no_condition, &CloudView::Absent, &config()), NodePlan::Delete { .. }));
}

#[test]
fn a_never_initialized_node_is_deleted_only_once_its_kubelet_is_gone() {
    let reporting = ecs_node("n1", "i-typo").uninitialized().ready("False").build();
    let plan = plan_node(&reporting, &CloudView::Absent, &config());
    assert!(warning(&plan).message.contains("i-typo"), "{plan}");
    let silent = ecs_node("n1", "i-typo").uninitialized().ready("Unknown").build();
    assert!(matches!(plan_node(&silent, &CloudView::Absent, &config()), NodePlan::Delete { .. }));
}

#[test]
fn a_ready_node_is_never_deleted() {
    let node = ecs_node("n1", "i-1").ready("True").build();
    assert_eq!(skip_reason(&plan_node(&node, &CloudView::Absent, &config())), &SkipReason::ReadyWithoutInstance);
    let tainted = ecs_node("n1", "i-1").ready("True").uninitialized().build();
    assert!(matches!(plan_node(&tainted, &CloudView::Absent, &config()), NodePlan::Skip { .. }));
}

#[test]
fn a_stopped_instance_taints_its_not_ready_node_and_ready_removes_it() {
    let mut stopped = vm();
    stopped.status = InstanceStatus::Stopped;
    let not_ready = ecs_node("n1", "i-1").kubelet_addresses("10.0.0.1").ready("False").build();
    let u = update(plan_node(&not_ready, &found(stopped.clone()), &config()));
    assert_eq!(u.shutdown_taint, Some(ShutdownTaint::Add));

    let already = ecs_node("n1", "i-1").kubelet_addresses("10.0.0.1").ready("False").shutdown().build();
    let plan = plan_node(&already, &found(stopped.clone()), &config());
    assert!(matches!(plan, NodePlan::Update(ref u) if u.shutdown_taint.is_none()), "{plan}");

    let still_ready = ecs_node("n1", "i-1").kubelet_addresses("10.0.0.1").ready("True").build();
    let plan = plan_node(&still_ready, &found(stopped), &config());
    assert!(matches!(plan, NodePlan::Update(ref u) if u.shutdown_taint.is_none()), "Ready: not yet: {plan}");

    let back = ecs_node("n1", "i-1").kubelet_addresses("10.0.0.1").ready("True").shutdown().build();
    for view in [found(vm()), CloudView::Absent, CloudView::Failed { error: "x".into() }, CloudView::NotAsked] {
        let u = update(plan_node(&back, &view, &config()));
        assert_eq!(u.shutdown_taint, Some(ShutdownTaint::Remove), "Ready removes it whatever the cloud says");
    }
}

#[test]
fn running_not_ready_nodes_are_left_alone() {
    let node = ecs_node("n1", "i-1").kubelet_addresses("10.0.0.1").ready("False").build();
    let plan = plan_node(&node, &found(vm()), &config());
    assert!(matches!(plan, NodePlan::Update(ref u) if u.shutdown_taint.is_none()), "{plan}");
}

#[test]
fn plans_print_readably() {
    let node = NodeBuilder::new("n1").uninitialized().kubelet_addresses("10.0.0.1").build();
    let text = plan_node(&node, &found(vm()), &config()).to_string();
    assert!(text.starts_with("update: set providerID cn-hangzhou.i-1; set labels "), "{text}");
    assert!(text.ends_with("remove taint node.cloudprovider.kubernetes.io/uninitialized"), "{text}");
    assert_eq!(NodePlan::Delete { instance_id: "i-1".into() }.to_string(), "delete: instance i-1 does not exist");
    assert_eq!(NodePlan::Skip { reason: SkipReason::UpToDate }.to_string(), "skip: up to date");
}
