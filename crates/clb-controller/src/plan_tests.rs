//! Tests of the pure diff.

use aliyun_api::slb::{
    AddressType, InstanceChargeType, ListenerProtocol, ListenerStatus, ModificationProtectionStatus, OnOff, Scheduler,
};
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, ServiceStatus};

use super::*;
use crate::{
    cloud::{Backend, ObservedListener},
    model::tests::{annotate, desired, nodes, service},
    naming::{ServiceOwner, TAG_REUSED},
    observe::ObservedVServerGroup,
    testutil::{api_default_tcp_settings, go_ccm_state},
};

fn actions(plan: &ClbPlan) -> Vec<&'static str> {
    plan.ops.iter().map(ClbOp::action).collect()
}

#[test]
fn from_scratch_creates_load_balancer_group_backends_and_listener_with_go_defaults() {
    let d = desired(&service(), &nodes(&["a", "b"]));
    let plan = plan_ensure(&d, None).unwrap();
    assert_eq!(
        actions(&plan),
        ["CreateLoadBalancer", "CreateVServerGroup", "CreateLoadBalancerListener", "StartLoadBalancerListener"]
    );
    let ClbOp::CreateVServerGroup { key, backends } = &plan.ops[1] else { panic!() };
    assert_eq!(key.to_string(), "k8s/30080/web/default/c1");
    assert_eq!(backends, &d.vserver_groups[0].backends, "the backends travel in the creation");
    let ClbOp::CreateLoadBalancer(c) = &plan.ops[0] else { panic!() };
    let r = &c.request;
    assert_eq!(r.name, "a5e1b7c0d4f2a4b8e9a310c2d3e4f5a6");
    assert_eq!(r.address_type, Some(AddressType::Internet));
    assert_eq!(r.instance_charge_type, Some(InstanceChargeType::PayByClcu));
    assert_eq!(r.spec, None, "spec only for PayBySpec");
    assert_eq!(r.delete_protection, Some(OnOff::On));
    assert_eq!(r.modification_protection, Some(ModificationProtectionStatus::ConsoleProtection));
    assert_eq!(r.modification_protection_reason.as_deref(), Some("managed.by.ack"));
    let tags: Vec<(&str, &str)> = r.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
    assert_eq!(tags, [("kubernetes.do.not.delete", "a5e1b7c0d4f2a4b8e9a310c2d3e4f5a6"), ("ack.aliyun.com", "c1")]);
    let ClbOp::CreateListener(l) = &plan.ops[2] else { panic!() };
    assert_eq!(l.description, "k8s/80/web/default/c1");
    assert_eq!(l.settings.scheduler, Some(Scheduler::Rr));
    assert_eq!(l.group, GroupRef::New(d.vserver_groups[0].key.clone()));
    let text = plan.to_string();
    assert!(text.starts_with("new load balancer: 4 operation(s)"), "{text}");
    assert!(text.contains("create vserver group k8s/30080/web/default/c1 with i-a:30080 weight 100"), "{text}");
    assert!(text.contains("create listener tcp/80 -> new group k8s/30080/web/default/c1"), "{text}");
}

#[test]
fn adopting_what_the_go_ccm_created_plans_nothing() {
    let d = desired(&service(), &nodes(&["a", "b"]));
    let observed = go_ccm_state(&d);
    let plan = plan_ensure(&d, Some(&observed)).unwrap();
    assert!(plan.is_empty(), "{plan}");
    assert_eq!(plan.to_string(), "lb-go: no changes");
    let mut backends_only = observed.clone();
    backends_only.listeners = None;
    assert!(plan_ensure(&d, Some(&backends_only)).unwrap().is_empty());
}

#[test]
fn adopting_a_load_balancer_found_by_name_adds_only_the_missing_tags() {
    let d = desired(&service(), &nodes(&["a"]));
    let mut observed = go_ccm_state(&d);
    observed.load_balancer.tags.clear();
    let plan = plan_ensure(&d, Some(&observed)).unwrap();
    assert_eq!(actions(&plan), ["TagResources"]);
}

#[test]
fn node_churn_changes_only_backends() {
    let before = desired(&service(), &nodes(&["a", "b"]));
    let observed = go_ccm_state(&before);
    let after = desired(&service(), &nodes(&["a", "c"]));
    let plan = plan_ensure(&after, Some(&observed)).unwrap();
    assert_eq!(actions(&plan), ["AddVServerGroupBackendServers", "RemoveVServerGroupBackendServers"]);
    assert!(plan.only_backends());
    let ClbOp::AddBackends { backends, group } = &plan.ops[0] else { panic!() };
    assert_eq!(backends[0].server_id, "i-c");
    assert_eq!(*group, GroupRef::Existing { id: "rsp-go0".into(), name: "k8s/30080/web/default/c1".into() });
}

#[test]
fn weight_changes_are_updates_and_large_changes_are_batched() {
    let names: Vec<String> = (0..45).map(|i| format!("n{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let d = desired(&service(), &nodes(&refs));
    let mut observed = go_ccm_state(&d);
    observed.vserver_groups[0].backends = Some(Vec::new());
    let plan = plan_ensure(&d, Some(&observed)).unwrap();
    let sizes: Vec<usize> = plan
        .ops
        .iter()
        .map(|op| if let ClbOp::AddBackends { backends, .. } = op { backends.len() } else { 0 })
        .collect();
    assert_eq!(sizes, [20, 20, 5]);
    let weighted = desired(&annotate(service(), "default-weight", "50"), &nodes(&["n0"]));
    let observed = go_ccm_state(&desired(&service(), &nodes(&["n0"])));
    let plan = plan_ensure(&weighted, Some(&observed)).unwrap();
    assert_eq!(actions(&plan), ["SetVServerGroupAttribute"]);
}

#[test]
fn backends_someone_else_added_are_left_alone() {
    let d = desired(&service(), &nodes(&["a"]));
    let mut observed = go_ccm_state(&d);
    let backends = observed.vserver_groups[0].backends.as_mut().unwrap();
    backends.push(Backend::ecs("i-user", 8080, 100, "added by hand"));
    backends.push(Backend::ecs("i-other", 30080, 100, "k8s/30080/api/default/c1"));
    assert!(plan_ensure(&d, Some(&observed)).unwrap().is_empty());
    // A foreign backend that is also wanted is neither re-added nor taken over.
    let mut observed = go_ccm_state(&d);
    observed.vserver_groups[0].backends = Some(vec![Backend::ecs("i-a", 30080, 10, "by hand")]);
    assert!(plan_ensure(&d, Some(&observed)).unwrap().is_empty());
}

#[test]
fn port_change_replaces_only_the_listener() {
    let before = desired(&service(), &nodes(&["a"]));
    let observed = go_ccm_state(&before);
    let mut s = service();
    s.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].port = 8080;
    let after = desired(&s, &nodes(&["a"]));
    let plan = plan_ensure(&after, Some(&observed)).unwrap();
    assert_eq!(
        actions(&plan),
        ["DeleteLoadBalancerListener", "CreateLoadBalancerListener", "StartLoadBalancerListener"]
    );
    let ClbOp::CreateListener(l) = &plan.ops[1] else { panic!() };
    assert_eq!(l.port, 8080);
    assert!(matches!(&l.group, GroupRef::Existing { id, .. } if id == "rsp-go0"));
}

#[test]
fn node_port_change_moves_the_listener_to_a_new_group_and_drops_the_old_one() {
    let before = desired(&service(), &nodes(&["a"]));
    let observed = go_ccm_state(&before);
    let mut s = service();
    s.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].node_port = Some(30081);
    let after = desired(&s, &nodes(&["a"]));
    let plan = plan_ensure(&after, Some(&observed)).unwrap();
    assert_eq!(actions(&plan), ["CreateVServerGroup", "SetLoadBalancerListenerAttribute", "DeleteVServerGroup"]);
}

#[test]
fn a_new_group_carries_one_batch_of_backends_and_adds_the_rest() {
    let names: Vec<String> = (0..45).map(|i| format!("n{i:02}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let d = desired(&service(), &nodes(&names));
    let plan = plan_ensure(&d, None).unwrap();
    let sizes: Vec<(&str, usize)> = plan
        .ops
        .iter()
        .filter_map(|op| match op {
            ClbOp::CreateVServerGroup { backends, .. } => Some(("create", backends.len())),
            ClbOp::AddBackends { group, backends } => {
                assert_eq!(group, &GroupRef::New(d.vserver_groups[0].key.clone()));
                Some(("add", backends.len()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(sizes, [("create", 20), ("add", 20), ("add", 5)], "{plan}");
    let planned: Vec<&Backend> = plan
        .ops
        .iter()
        .flat_map(|op| match op {
            ClbOp::CreateVServerGroup { backends, .. } | ClbOp::AddBackends { backends, .. } => backends.iter(),
            _ => [].iter(),
        })
        .collect();
    assert_eq!(planned, d.vserver_groups[0].backends.iter().collect::<Vec<_>>(), "each backend once, in order");
}

#[test]
fn a_group_without_backends_is_created_empty() {
    let d = desired(&service(), &[]);
    let plan = plan_ensure(&d, None).unwrap();
    assert!(matches!(&plan.ops[1], ClbOp::CreateVServerGroup { backends, .. } if backends.is_empty()), "{plan}");
    assert!(!plan.ops.iter().any(|op| matches!(op, ClbOp::AddBackends { .. })), "{plan}");
    assert!(plan.to_string().contains("create vserver group k8s/30080/web/default/c1\n"), "{plan}");
}

#[test]
fn listener_attributes_change_only_where_annotations_ask() {
    let d = desired(&annotate(annotate(service(), "scheduler", "wrr"), "established-timeout", "900"), &nodes(&["a"]));
    let observed = go_ccm_state(&desired(&service(), &nodes(&["a"])));
    let plan = plan_ensure(&d, Some(&observed)).unwrap();
    assert_eq!(actions(&plan), ["SetLoadBalancerListenerAttribute"]);
    let ClbOp::SetListener(u) = &plan.ops[0] else { panic!() };
    assert_eq!(u.settings, ListenerSettings { scheduler: Some(Scheduler::Wrr), ..Default::default() });
    assert_eq!((u.group.clone(), u.description.clone()), (None, None));
}

#[test]
fn leaving_the_local_policy_switches_the_health_check_back_to_tcp() {
    let mut local = service();
    let spec = local.spec.as_mut().unwrap();
    spec.external_traffic_policy = Some("Local".into());
    spec.health_check_node_port = Some(32000);
    let local_desired = desired(&local, &nodes(&["a"]));
    let mut observed = go_ccm_state(&local_desired);
    observed.listeners.as_mut().unwrap()[0].settings.merge_from(&local_desired.listeners[0].settings);
    assert!(plan_ensure(&local_desired, Some(&observed)).unwrap().is_empty());
    let cluster = desired(&service(), &nodes(&["a"]));
    let plan = plan_ensure(&cluster, Some(&observed)).unwrap();
    assert_eq!(actions(&plan), ["AddVServerGroupBackendServers", "SetLoadBalancerListenerAttribute"], "{plan}");
    let ClbOp::SetListener(u) = &plan.ops[1] else { panic!("{plan}") };
    assert_eq!(u.settings.health_check_type, Some(aliyun_api::slb::HealthCheckType::Tcp));
    assert_eq!(u.settings.health_check_connect_port, Some(30080));
}

#[test]
fn stopped_listeners_are_restarted() {
    let d = desired(&service(), &nodes(&["a"]));
    let mut observed = go_ccm_state(&d);
    observed.listeners.as_mut().unwrap()[0].status = Some(ListenerStatus::Stopped);
    assert_eq!(actions(&plan_ensure(&d, Some(&observed)).unwrap()), ["StartLoadBalancerListener"]);
}

fn foreign_listener(port: u16, protocol: ListenerProtocol) -> ObservedListener {
    ObservedListener {
        port,
        protocol,
        status: Some(ListenerStatus::Running),
        description: "made by hand".into(),
        vserver_group_id: "rsp-user".into(),
        settings: api_default_tcp_settings(),
    }
}

#[test]
fn foreign_listeners_are_never_taken_over_unless_forced() {
    let d = desired(&service(), &nodes(&["a"]));
    let mut observed = go_ccm_state(&d);
    observed.listeners =
        Some(vec![foreign_listener(80, ListenerProtocol::Tcp), foreign_listener(443, ListenerProtocol::Tcp)]);
    let err = plan_ensure(&d, Some(&observed)).unwrap_err();
    assert!(matches!(err, PlanError::ListenerConflict { port: 80, .. }), "{err}");
    assert!(err.to_string().contains("force-override-listeners"));
    let forced = desired(&annotate(service(), "force-override-listeners", "true"), &nodes(&["a"]));
    let plan = plan_ensure(&forced, Some(&observed)).unwrap();
    assert_eq!(actions(&plan), ["SetLoadBalancerListenerAttribute"], "443 is left alone: {plan}");
    let ClbOp::SetListener(u) = &plan.ops[0] else { panic!() };
    assert_eq!(u.description.as_deref(), Some("k8s/80/web/default/c1"));
    assert!(u.group.is_some());
}

#[test]
fn a_foreign_listener_on_the_same_transport_conflicts_but_not_across_tcp_and_udp() {
    let d = desired(&service(), &nodes(&["a"]));
    let mut observed = go_ccm_state(&d);
    observed.listeners = Some(vec![foreign_listener(80, ListenerProtocol::Http)]);
    assert!(matches!(plan_ensure(&d, Some(&observed)), Err(PlanError::ListenerConflict { .. })));
    observed.listeners = Some(vec![foreign_listener(80, ListenerProtocol::Udp)]);
    let plan = plan_ensure(&d, Some(&observed)).unwrap();
    assert_eq!(actions(&plan), ["CreateLoadBalancerListener", "StartLoadBalancerListener"]);
}

#[test]
fn load_balancer_attributes_follow_annotations_and_immutables_are_refused() {
    let s = annotate(
        annotate(annotate(service(), "delete-protection", "off"), "name", "web-lb"),
        "additional-resource-tags",
        "team=a",
    );
    let d = desired(&s, &nodes(&["a"]));
    let observed = go_ccm_state(&desired(&service(), &nodes(&["a"])));
    let plan = plan_ensure(&d, Some(&observed)).unwrap();
    assert_eq!(actions(&plan), ["SetLoadBalancerDeleteProtection", "SetLoadBalancerName", "TagResources"]);
    let bw = annotate(annotate(service(), "charge-type", "paybybandwidth"), "bandwidth", "20");
    let plan = plan_ensure(&desired(&bw, &nodes(&["a"])), Some(&observed)).unwrap();
    assert_eq!(
        plan.ops,
        [ClbOp::ModifyInternetSpec {
            charge_type: Some(aliyun_api::slb::InternetChargeType::PayByBandwidth),
            bandwidth: Some(20)
        }]
    );
    let intranet = desired(&annotate(service(), "address-type", "intranet"), &nodes(&["a"]));
    let err = plan_ensure(&intranet, Some(&observed)).unwrap_err();
    assert!(matches!(err, PlanError::Immutable { attribute: "address type", .. }), "{err}");
}

#[test]
fn reused_load_balancers_keep_foreign_listeners_and_are_marked() {
    let d = desired(&annotate(service(), "id", "lb-user"), &nodes(&["a"]));
    let mut observed = go_ccm_state(&d);
    observed.load_balancer.id = "lb-user".into();
    observed.load_balancer.tags = [("team".to_string(), "x".to_string())].into();
    observed.listeners = Some(vec![foreign_listener(80, ListenerProtocol::Tcp)]);
    let plan = plan_ensure(&d, Some(&observed)).unwrap();
    assert_eq!(plan.ops, [ClbOp::AddTags(vec![aliyun_api::Tag::new(TAG_REUSED, "true")])]);
    observed.load_balancer.tags.insert("kubernetes.do.not.delete".into(), "aother".into());
    assert!(matches!(plan_ensure(&d, Some(&observed)), Err(PlanError::NotReusable { .. })));
}

#[test]
fn a_vanished_load_balancer_is_not_silently_replaced() {
    let mut s = service();
    s.status = Some(ServiceStatus {
        load_balancer: Some(LoadBalancerStatus {
            ingress: Some(vec![LoadBalancerIngress { ip: Some("47.1.1.1".into()), ..Default::default() }]),
        }),
        ..Default::default()
    });
    let d = desired(&s, &nodes(&["a"]));
    assert_eq!(plan_ensure(&d, None), Err(PlanError::LoadBalancerMissing("47.1.1.1".into())));
    let reused = desired(&annotate(service(), "id", "lb-gone"), &nodes(&["a"]));
    assert_eq!(plan_ensure(&reused, None), Err(PlanError::ReusedNotFound("lb-gone".into())));
}

#[test]
fn intranet_creation_needs_a_vswitch() {
    let mut d = desired(&annotate(service(), "address-type", "intranet"), &nodes(&["a"]));
    let plan = plan_ensure(&d, None).unwrap();
    let ClbOp::CreateLoadBalancer(c) = &plan.ops[0] else { panic!() };
    assert_eq!(c.vswitches.len(), 2);
    assert_eq!(c.request.vpc_id.as_deref(), Some("vpc-1"));
    d.load_balancer.placement.vswitches.clear();
    assert_eq!(plan_ensure(&d, None), Err(PlanError::NoVSwitch));
}

#[test]
fn cleanup_deletes_owned_preserves_on_request_and_releases_reused() {
    let d = desired(&service(), &nodes(&["a"]));
    let observed = go_ccm_state(&d);
    let owner = ServiceOwner::new("default", "web", "c1");
    let tag_keys = ["kubernetes.do.not.delete".to_string(), "ack.aliyun.com".to_string()];
    let delete = plan_cleanup(&owner, &observed, CleanupMode::Delete, &tag_keys);
    assert_eq!(delete.ops, [ClbOp::SetDeleteProtection(OnOff::Off), ClbOp::DeleteLoadBalancer]);
    let keep = plan_cleanup(&owner, &observed, CleanupMode::Preserve, &tag_keys);
    assert_eq!(
        keep.ops,
        [
            ClbOp::SetDeleteProtection(OnOff::Off),
            ClbOp::SetModificationProtection(ModificationProtectionStatus::NonProtection),
            ClbOp::RemoveTags(tag_keys.to_vec()),
        ]
    );
    let mut reused = observed.clone();
    reused.listeners.as_mut().unwrap().push(foreign_listener(443, ListenerProtocol::Tcp));
    reused.vserver_groups.push(ObservedVServerGroup {
        id: "rsp-user".into(),
        name: "user group".into(),
        backends: Some(vec![
            Backend::ecs("i-a", 30080, 100, "k8s/30080/web/default/c1"),
            Backend::ecs("i-u", 80, 100, ""),
        ]),
    });
    let release = plan_cleanup(&owner, &reused, CleanupMode::Release, &tag_keys);
    assert_eq!(
        actions(&release),
        ["DeleteLoadBalancerListener", "RemoveVServerGroupBackendServers", "DeleteVServerGroup"],
        "{release}"
    );
    assert!(matches!(&release.ops[0], ClbOp::DeleteListener { port: 80, .. }));
}

fn owned_acl(id: &str, entries: &[&str]) -> crate::cloud::ObservedAcl {
    crate::cloud::ObservedAcl {
        id: id.to_owned(),
        name: "k8s/web/default/c1".to_owned(),
        entries: entries.iter().map(|e| e.to_string()).collect(),
    }
}

fn ranged(ranges: &[&str]) -> k8s_openapi::api::core::v1::Service {
    let mut s = service();
    s.spec.as_mut().unwrap().load_balancer_source_ranges = Some(ranges.iter().map(|r| r.to_string()).collect());
    s
}

#[test]
fn source_ranges_on_an_existing_load_balancer_ensure_the_acl_before_binding_it() {
    let plain = desired(&service(), &nodes(&["a"]));
    let observed = go_ccm_state(&plain);
    let d = desired(&ranged(&["10.0.0.0/8"]), &nodes(&["a"]));
    let plan = plan_ensure(&d, Some(&observed)).unwrap();
    assert_eq!(actions(&plan), ["CreateAccessControlList", "SetLoadBalancerListenerAttribute"]);
    let ClbOp::SetListener(u) = &plan.ops[1] else { panic!() };
    assert_eq!(u.settings.acl_id.as_deref(), Some(crate::cloud::NEW_ACL));
    assert!(plan.to_string().contains("ensure access control list k8s/web/default/c1 with 10.0.0.0/8"), "{plan}");
}

#[test]
fn an_existing_owned_acl_is_diffed_by_entry_and_resolved_by_id() {
    let d = desired(&ranged(&["10.0.0.0/8", "192.168.0.0/16"]), &nodes(&["a"]));
    let mut observed = go_ccm_state(&d);
    let listeners = observed.listeners.as_mut().unwrap();
    listeners[0].settings.acl_status = Some(OnOff::On);
    listeners[0].settings.acl_type = Some(aliyun_api::slb::AclType::White);
    listeners[0].settings.acl_id = Some("acl-1".into());
    observed.owned_acls = vec![owned_acl("acl-1", &["10.0.0.0/8", "172.16.0.0/12"])];
    let plan = plan_ensure(&d, Some(&observed)).unwrap();
    assert_eq!(
        plan.ops,
        [
            ClbOp::AddAclEntries { id: "acl-1".into(), entries: vec!["192.168.0.0/16".into()] },
            ClbOp::RemoveAclEntries { id: "acl-1".into(), entries: vec!["172.16.0.0/12".into()] },
        ],
        "{plan}"
    );
    // Removing the ranges switches access control off; the list is kept while a listener references it.
    let plain = desired(&service(), &nodes(&["a"]));
    let plan = plan_ensure(&plain, Some(&observed)).unwrap();
    assert_eq!(actions(&plan), ["SetLoadBalancerListenerAttribute"]);
    let ClbOp::SetListener(u) = &plan.ops[0] else { panic!() };
    assert_eq!(u.settings.acl_status, Some(OnOff::Off));
    // Once nothing references it, it is deleted, last.
    let mut released = observed.clone();
    released.listeners.as_mut().unwrap()[0].settings = Default::default();
    let plan = plan_ensure(&plain, Some(&released)).unwrap();
    assert_eq!(plan.ops.last(), Some(&ClbOp::DeleteAcl("acl-1".into())), "{plan}");
}

fn l7_service() -> k8s_openapi::api::core::v1::Service {
    let mut s = service();
    s.spec.as_mut().unwrap().ports = Some(vec![
        k8s_openapi::api::core::v1::ServicePort {
            name: Some("http".into()),
            port: 80,
            node_port: Some(30080),
            protocol: Some("TCP".into()),
            ..Default::default()
        },
        k8s_openapi::api::core::v1::ServicePort {
            name: Some("https".into()),
            port: 443,
            node_port: Some(30443),
            protocol: Some("TCP".into()),
            ..Default::default()
        },
    ]);
    annotate(annotate(s, "protocol-port", "http:80,https:443"), "cert-id", "cert-1")
}

#[test]
fn layer_7_listeners_get_go_defaults_and_redirects_come_after_their_target() {
    let d = desired(&annotate(l7_service(), "forward-port", "80:443"), &nodes(&["a"]));
    let plan = plan_ensure(&d, None).unwrap();
    let creations: Vec<&ListenerCreation> = plan
        .ops
        .iter()
        .filter_map(|op| match op {
            ClbOp::CreateListener(c) => Some(c.as_ref()),
            _ => None,
        })
        .collect();
    let ports: Vec<(u16, &ListenerProtocol)> = creations.iter().map(|c| (c.port, &c.protocol)).collect();
    assert_eq!(ports, [(443, &ListenerProtocol::Https), (80, &ListenerProtocol::Http)], "{plan}");
    for c in &creations {
        assert_eq!(c.settings.health_check_switch, Some(OnOff::Off), "L7 health check off unless asked");
        assert_eq!(c.settings.sticky_session, Some(OnOff::Off));
    }
    assert_eq!(creations[1].settings.forward_port, Some(443));
    assert_eq!(creations[0].settings.server_certificate_id.as_deref(), Some("cert-1"));
}

#[test]
fn a_changed_redirect_recreates_the_http_listener_and_a_new_certificate_is_an_update() {
    let d = desired(&l7_service(), &nodes(&["a"]));
    let mut observed = go_ccm_state(&d);
    for l in observed.listeners.as_mut().unwrap() {
        l.settings = Default::default();
        if l.protocol == ListenerProtocol::Https {
            l.settings.server_certificate_id = Some("cert-1".into());
        }
    }
    assert!(plan_ensure(&d, Some(&observed)).unwrap().is_empty());
    let redirected = desired(&annotate(l7_service(), "forward-port", "80:443"), &nodes(&["a"]));
    let plan = plan_ensure(&redirected, Some(&observed)).unwrap();
    assert_eq!(
        actions(&plan),
        ["DeleteLoadBalancerListener", "CreateLoadBalancerListener", "StartLoadBalancerListener"],
        "{plan}"
    );
    let recert = desired(&annotate(l7_service(), "cert-id", "cert-2"), &nodes(&["a"]));
    let plan = plan_ensure(&recert, Some(&observed)).unwrap();
    let [ClbOp::SetListener(u)] = plan.ops.as_slice() else { panic!("{plan}") };
    assert_eq!((u.port, u.settings.server_certificate_id.as_deref()), (443, Some("cert-2")));
}

#[test]
fn ip_version_is_set_at_creation_and_immutable() {
    let d = desired(&annotate(service(), "ip-version", "ipv6"), &nodes(&["a"]));
    let plan = plan_ensure(&d, None).unwrap();
    let ClbOp::CreateLoadBalancer(c) = &plan.ops[0] else { panic!() };
    assert_eq!(c.request.address_ip_version, Some(aliyun_api::slb::AddressIpVersion::Ipv6));
    let mut observed = go_ccm_state(&d);
    observed.load_balancer.ip_version = Some(aliyun_api::slb::AddressIpVersion::Ipv4);
    let error = plan_ensure(&d, Some(&observed)).unwrap_err();
    assert!(matches!(error, PlanError::Immutable { attribute: "IP version", .. }), "{error}");
}
