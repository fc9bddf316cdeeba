//! The whole pipeline for one Service against the mock cloud and a recording API server.

use std::sync::Arc;

use aliyun_api::slb::{ListenerProtocol, ListenerStatus, OnOff};
use k8s_openapi::{
    api::core::v1::{LoadBalancerIngress, Node, Service},
    apimachinery::pkg::apis::meta::v1::Time,
};

use super::*;
use crate::{
    cloud::{Backend, ObservedListener, ObservedLoadBalancer},
    mock::MockClbCloud,
    model::tests::{UID, annotate, config, desired, nodes, service},
    naming::{FINALIZER, UPSTREAM_FINALIZER},
    testutil::{KubeWrite, RecordingWriter, api_default_tcp_settings, go_ccm_state, seeded_mock},
};

type TestReconciler = Reconciler<MockClbCloud, RecordingWriter>;

fn reconciler(mock: &MockClbCloud) -> TestReconciler {
    let writer = RecordingWriter { writes: Default::default(), cloud: Some(mock.clone()) };
    Reconciler::new(mock.clone(), writer, config(), ClbMetrics::default())
}

/// Reconciles and plays the Kubernetes writes back onto the Service.
async fn sync(r: &TestReconciler, svc: &mut Service, nodes: &[Arc<Node>]) -> (Result<Outcome, Error>, Vec<KubeWrite>) {
    let result = r.reconcile(svc, nodes, &[]).await;
    let writes = r.writer().take();
    RecordingWriter::apply_to(&writes, svc);
    (result, writes)
}

fn ip_of(svc: &Service) -> Option<String> {
    current_ingress(svc).first().and_then(|i| i.ip.clone())
}

fn deleting(mut svc: Service) -> Service {
    svc.metadata.deletion_timestamp = Some(Time(Default::default()));
    svc
}

#[tokio::test]
async fn creates_a_load_balancer_adding_the_finalizer_before_any_cloud_write() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    let (result, writes) = sync(&r, &mut svc, &nodes(&["a", "b"])).await;
    assert!(matches!(result.unwrap(), Outcome::Changed { .. }));
    assert_eq!(writes[0], KubeWrite::AddFinalizer(0), "finalizer first: {writes:?}");
    assert_eq!(RecordingWriter::reasons(&writes), ["EnsuringLoadBalancer", "EnsuredLoadBalancer"]);
    let lb = mock.load_balancer(&mock.load_balancer_ids()[0]).unwrap();
    assert_eq!(ip_of(&svc), Some(lb.attributes.address.clone()));
    assert!(has_finalizer(&svc));
    let KubeWrite::Event(ensured) = writes.last().unwrap() else { panic!() };
    assert_eq!(ensured.note, format!("Ensured load balancer [{}]", lb.attributes.id));
}

#[tokio::test]
async fn unchanged_inputs_cost_no_cloud_call() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    let all = nodes(&["a"]);
    sync(&r, &mut svc, &all).await.0.unwrap();
    mock.clear_calls();
    let (result, writes) = sync(&r, &mut svc, &all).await;
    assert_eq!(result.unwrap(), Outcome::Cached);
    assert!(mock.calls().is_empty() && writes.is_empty());
}

#[tokio::test]
async fn node_churn_reads_and_writes_only_backends() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    sync(&r, &mut svc, &nodes(&["a", "b"])).await.0.unwrap();
    mock.clear_calls();
    let (result, writes) = sync(&r, &mut svc, &nodes(&["a", "c", "d"])).await;
    assert!(matches!(result.unwrap(), Outcome::Changed { plan } if plan.only_backends()));
    assert_eq!(mock.write_actions(), ["AddVServerGroupBackendServers", "RemoveVServerGroupBackendServers"]);
    let reads: Vec<&str> = mock.calls().iter().filter(|c| !c.is_write()).map(|c| c.action).collect();
    assert!(!reads.contains(&"DescribeLoadBalancerListeners"), "{reads:?}");
    assert_eq!(RecordingWriter::reasons(&writes), ["UpdatedLoadBalancer"]);
}

fn actions(mock: &MockClbCloud) -> Vec<&'static str> {
    mock.calls().iter().map(|c| c.action).collect()
}

/// A Service with two ports: two vServer groups.
fn two_port_service() -> Service {
    let mut svc = service();
    let ports = svc.spec.as_mut().unwrap().ports.as_mut().unwrap();
    let mut second = ports[0].clone();
    (second.port, second.node_port, second.name) = (443, Some(30443), Some("https".into()));
    ports[0].name = Some("http".into());
    ports.push(second);
    svc
}

fn backend_servers(mock: &MockClbCloud, lb: &str) -> Vec<Vec<String>> {
    mock.groups_of(lb)
        .values()
        .map(|g| {
            let mut ids: Vec<String> = g.backends.iter().map(|b| b.server_id.clone()).collect();
            ids.sort();
            ids
        })
        .collect()
}

#[tokio::test]
async fn node_churn_on_a_known_service_reads_only_its_groups_by_their_ids() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = two_port_service();
    sync(&r, &mut svc, &nodes(&["a", "b"])).await.0.unwrap();
    let lb = mock.load_balancer_ids()[0].clone();
    let groups: Vec<String> = mock.groups_of(&lb).into_keys().collect();
    assert_eq!(groups.len(), 2);
    mock.clear_calls();
    let (result, _) = sync(&r, &mut svc, &nodes(&["a", "c"])).await;
    assert!(matches!(result.unwrap(), Outcome::Changed { plan } if plan.only_backends()));
    let reads: Vec<String> =
        mock.calls().iter().filter(|c| !c.is_write()).map(|c| format!("{} {}", c.action, c.detail)).collect();
    let mut expected: Vec<String> = groups.iter().map(|g| format!("DescribeVServerGroupAttribute {g}")).collect();
    let mut sorted = reads.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "no look-up, no listing, no listener: {:?}", mock.calls());
    assert_eq!(mock.write_actions().len(), 4, "an add and a remove per group: {:?}", mock.calls());
    assert_eq!(backend_servers(&mock, &lb), [["i-a", "i-c"], ["i-a", "i-c"]]);

    // The memory follows the writes: the next churn again reads just the groups.
    mock.clear_calls();
    sync(&r, &mut svc, &nodes(&["a", "c", "d"])).await.0.unwrap();
    assert_eq!(
        actions(&mock),
        [
            "DescribeVServerGroupAttribute",
            "DescribeVServerGroupAttribute",
            "AddVServerGroupBackendServers",
            "AddVServerGroupBackendServers"
        ]
    );
    // After a failure everything is read again.
    mock.fail_next("RemoveVServerGroupBackendServers", "SystemBusy", "busy");
    sync(&r, &mut svc, &nodes(&["a", "c"])).await.0.unwrap_err();
    mock.clear_calls();
    sync(&r, &mut svc, &nodes(&["a", "c"])).await.0.unwrap();
    assert!(actions(&mock).contains(&"DescribeLoadBalancers"), "{:?}", mock.calls());
    assert_eq!(backend_servers(&mock, &lb), [["i-a", "i-c"], ["i-a", "i-c"]]);
}

#[tokio::test]
async fn a_group_deleted_behind_our_back_is_looked_up_again_and_recreated() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    sync(&r, &mut svc, &nodes(&["a", "b"])).await.0.unwrap();
    let lb = mock.load_balancer_ids()[0].clone();
    let gone = mock.groups_of(&lb).into_keys().next().unwrap();
    mock.delete_listener(&lb, 80, &ListenerProtocol::Tcp).await.unwrap();
    mock.delete_vserver_group(&gone).await.unwrap();
    mock.clear_calls();
    sync(&r, &mut svc, &nodes(&["a", "c"])).await.0.unwrap();
    assert_eq!(
        actions(&mock),
        [
            "DescribeVServerGroupAttribute",
            "DescribeLoadBalancers",
            "DescribeLoadBalancerListeners",
            "DescribeVServerGroups",
            "CreateVServerGroup",
            "CreateLoadBalancerListener",
            "StartLoadBalancerListener"
        ]
    );
    assert_eq!(mock.calls()[0].detail, gone);
    let groups = mock.groups_of(&lb);
    assert_eq!(backend_servers(&mock, &lb), [["i-a", "i-c"]]);
    let recreated = groups.keys().next().unwrap().clone();
    assert_ne!(recreated, gone);
    assert_eq!(mock.load_balancer(&lb).unwrap().listeners[0].vserver_group_id, recreated);

    // The new group is remembered.
    mock.clear_calls();
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    assert_eq!(actions(&mock), ["DescribeVServerGroupAttribute", "RemoveVServerGroupBackendServers"]);
    assert_eq!(mock.calls()[0].detail, recreated);
}

#[tokio::test]
async fn a_load_balancer_deleted_behind_our_back_is_looked_up_again_and_reported() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    sync(&r, &mut svc, &nodes(&["a", "b"])).await.0.unwrap();
    let old = mock.load_balancer_ids()[0].clone();
    mock.set_delete_protection(&old, OnOff::Off).await.unwrap();
    mock.delete_load_balancer(&old).await.unwrap();
    mock.clear_calls();
    let error = sync(&r, &mut svc, &nodes(&["a", "c"])).await.0.unwrap_err();
    // The published address is never silently replaced by a new load balancer's.
    assert!(matches!(error, Error::Plan(crate::plan::PlanError::LoadBalancerMissing(_))), "{error}");
    assert_eq!(actions(&mock), ["DescribeVServerGroupAttribute", "DescribeLoadBalancers", "DescribeLoadBalancers"]);
    assert!(mock.write_actions().is_empty());
}

#[tokio::test]
async fn adopting_the_go_ccm_load_balancer_changes_nothing() {
    let all = nodes(&["a", "b"]);
    let state = go_ccm_state(&desired(&service(), &all));
    let (mock, _) = seeded_mock(&state);
    let r = reconciler(&mock);
    let mut svc = service();
    svc.metadata.finalizers = Some(vec![FINALIZER.into()]);
    RecordingWriter::apply_to(
        &[KubeWrite::SetIngress(vec![LoadBalancerIngress { ip: Some("47.1.1.1".into()), ..Default::default() }])],
        &mut svc,
    );
    let (result, writes) = sync(&r, &mut svc, &all).await;
    assert_eq!(result.unwrap(), Outcome::Unchanged);
    assert!(mock.write_actions().is_empty(), "{:?}", mock.calls());
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test]
async fn a_port_change_replaces_the_listener_only() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    let all = nodes(&["a"]);
    sync(&r, &mut svc, &all).await.0.unwrap();
    mock.clear_calls();
    svc.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].port = 8080;
    sync(&r, &mut svc, &all).await.0.unwrap();
    assert_eq!(
        mock.write_actions(),
        ["DeleteLoadBalancerListener", "CreateLoadBalancerListener", "StartLoadBalancerListener"]
    );
    let lb = mock.load_balancer(&mock.load_balancer_ids()[0]).unwrap();
    assert_eq!(lb.listeners.len(), 1);
    assert_eq!((lb.listeners[0].port, lb.listeners[0].status.clone()), (8080, Some(ListenerStatus::Running)));
}

#[tokio::test]
async fn deletion_deletes_the_load_balancer_and_releases_the_service() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    mock.clear_calls();
    let mut svc = deleting(svc);
    let (result, writes) = sync(&r, &mut svc, &nodes(&["a"])).await;
    assert_eq!(result.unwrap(), Outcome::Cleaned);
    assert_eq!(mock.write_actions(), ["SetLoadBalancerDeleteProtection", "DeleteLoadBalancer"]);
    assert!(mock.load_balancer_ids().is_empty());
    assert_eq!(RecordingWriter::reasons(&writes), ["DeletingLoadBalancer", "DeletedLoadBalancer"]);
    assert!(writes.contains(&KubeWrite::SetIngress(Vec::new())));
    assert!(writes.contains(&KubeWrite::RemoveFinalizers));
    assert!(!has_our_finalizer(&svc));
}

#[tokio::test]
async fn leaving_type_load_balancer_cleans_up_and_so_does_the_upstream_finalizer() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    svc.spec.as_mut().unwrap().type_ = Some("ClusterIP".into());
    assert_eq!(sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap(), Outcome::Cleaned);
    assert!(mock.load_balancer_ids().is_empty());
    let mut other = deleting(service());
    other.metadata.finalizers = Some(vec![UPSTREAM_FINALIZER.into()]);
    let (result, writes) = sync(&r, &mut other, &[]).await;
    assert_eq!(result.unwrap(), Outcome::Cleaned);
    assert!(writes.contains(&KubeWrite::RemoveFinalizers));
    let mut ignored = service();
    ignored.spec.as_mut().unwrap().load_balancer_class = Some("metallb".into());
    assert_eq!(sync(&r, &mut ignored, &[]).await.0.unwrap(), Outcome::Ignored);
}

fn user_load_balancer(mock: &MockClbCloud) -> String {
    let lb = mock.add_load_balancer(ObservedLoadBalancer {
        id: "lb-user".into(),
        name: "shared".into(),
        address: "47.2.2.2".into(),
        tags: [("team".to_string(), "infra".to_string())].into(),
        ..Default::default()
    });
    let group = mock.add_group(&lb, "user group", Vec::new());
    mock.add_listener(
        &lb,
        ObservedListener {
            port: 443,
            protocol: ListenerProtocol::Tcp,
            status: Some(ListenerStatus::Running),
            description: "user listener".into(),
            vserver_group_id: group,
            settings: api_default_tcp_settings(),
        },
    );
    mock.clear_calls();
    lb
}

#[tokio::test]
async fn reuse_by_id_keeps_foreign_listeners_and_never_deletes_the_load_balancer() {
    let mock = MockClbCloud::new();
    let lb = user_load_balancer(&mock);
    let r = reconciler(&mock);
    let mut svc = annotate(annotate(service(), "id", &lb), "force-override-listeners", "true");
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    let state = mock.load_balancer(&lb).unwrap();
    let ports: Vec<u16> = state.listeners.iter().map(|l| l.port).collect();
    assert_eq!(ports, [443, 80]);
    assert_eq!(state.attributes.tags.get("kubernetes.reused.by.user").map(String::as_str), Some("true"));
    assert_eq!(ip_of(&svc).as_deref(), Some("47.2.2.2"));
    let mut svc = deleting(svc);
    assert_eq!(sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap(), Outcome::Cleaned);
    let state = mock.load_balancer(&lb).expect("a reused load balancer is never deleted");
    let ports: Vec<u16> = state.listeners.iter().map(|l| l.port).collect();
    assert_eq!(ports, [443]);
    let groups: Vec<String> = mock.groups_of(&lb).into_values().map(|g| g.name).collect();
    assert_eq!(groups, ["user group"]);
}

#[tokio::test]
async fn reuse_without_override_manages_backends_but_not_listeners() {
    let mock = MockClbCloud::new();
    let lb = user_load_balancer(&mock);
    let r = reconciler(&mock);
    let mut svc = annotate(service(), "id", &lb);
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    assert_eq!(mock.load_balancer(&lb).unwrap().listeners.len(), 1);
    assert_eq!(mock.groups_of(&lb).len(), 2);
}

#[tokio::test]
async fn preserve_on_delete_keeps_the_load_balancer_without_our_tags() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = annotate(service(), "preserve-lb-on-delete", "true");
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    let mut svc = deleting(svc);
    let (result, writes) = sync(&r, &mut svc, &[]).await;
    assert_eq!(result.unwrap(), Outcome::Cleaned);
    let lb = mock.load_balancer(&mock.load_balancer_ids()[0]).unwrap();
    assert!(lb.attributes.tags.is_empty(), "{:?}", lb.attributes.tags);
    assert_eq!(lb.listeners.len(), 1);
    assert!(RecordingWriter::reasons(&writes).contains(&"PreservedOnDelete"));
}

#[tokio::test]
async fn invalid_annotations_warn_and_change_nothing() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = annotate(service(), "bandwidth", "lots");
    let (result, writes) = sync(&r, &mut svc, &nodes(&["a"])).await;
    assert_eq!(result.unwrap(), Outcome::Invalid);
    assert!(mock.calls().is_empty());
    let [KubeWrite::Event(event)] = writes.as_slice() else { panic!("{writes:?}") };
    assert!(event.warning && event.reason == "SyncLoadBalancerFailed");
    assert!(
        event.note.contains("alibaba-cloud-loadbalancer-bandwidth") && event.note.contains("1 to 5120"),
        "{}",
        event.note
    );
}

#[tokio::test]
async fn cloud_failures_are_reported_with_the_cloud_message_and_retried_from_scratch() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    mock.fail_next("CreateLoadBalancer", "OrderFailed", "Your account is in arrears");
    let (result, writes) = sync(&r, &mut svc, &nodes(&["a"])).await;
    assert!(result.is_err());
    let KubeWrite::Event(event) = writes.last().unwrap() else { panic!() };
    assert_eq!(event.reason, "SyncLoadBalancerFailed");
    assert!(event.note.contains("OrderFailed: Your account is in arrears"), "{}", event.note);
    let (result, _) = sync(&r, &mut svc, &nodes(&["a"])).await;
    assert!(matches!(result.unwrap(), Outcome::Changed { .. }));
    assert_eq!(mock.load_balancer_ids().len(), 1);
}

#[tokio::test]
async fn no_eligible_node_is_reported() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    let (_, writes) = sync(&r, &mut svc, &[]).await;
    assert!(RecordingWriter::reasons(&writes).contains(&"UnAvailableLoadBalancer"));
}

#[tokio::test]
async fn hostname_annotation_is_published_instead_of_the_address() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = annotate(service(), "hostname", "web.example.com");
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    let ingress = current_ingress(&svc);
    assert_eq!(ingress[0].hostname.as_deref(), Some("web.example.com"));
    assert_eq!(ingress[0].ip, None);
    assert_eq!(svc.metadata.uid.as_deref(), Some(UID));
}

#[tokio::test]
async fn dry_run_reads_but_never_writes() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let plan = r.dry_run(&service(), &nodes(&["a"]), &[]).await.unwrap();
    assert_eq!(plan.ops.len(), 4);
    assert!(mock.write_actions().is_empty());
    assert!(r.writer().take().is_empty());
}

#[tokio::test]
async fn unknown_annotations_are_reported_and_the_service_still_served() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = annotate(annotate(service(), "sticky-sesion", "on"), "zone-maps", "cn-a:vsw-1");
    let (result, writes) = sync(&r, &mut svc, &nodes(&["a"])).await;
    assert!(matches!(result.unwrap(), Outcome::Changed { .. }));
    let warnings: Vec<&ServiceEvent> = writes
        .iter()
        .filter_map(|w| match w {
            KubeWrite::Event(e) if e.reason == "IgnoredAnnotation" => Some(e),
            _ => None,
        })
        .collect();
    let [event] = warnings.as_slice() else { panic!("{writes:?}") };
    assert!(event.warning);
    assert!(event.note.contains("alibaba-cloud-loadbalancer-sticky-sesion (unknown annotation)"), "{}", event.note);
    assert!(event.note.contains("alibaba-cloud-loadbalancer-zone-maps (applies to NLB only)"), "{}", event.note);
    assert_eq!(mock.load_balancer_ids().len(), 1);
}

fn with_source_ranges(mut s: Service, ranges: &[&str]) -> Service {
    s.spec.as_mut().unwrap().load_balancer_source_ranges = Some(ranges.iter().map(|r| r.to_string()).collect());
    s
}

fn listener_acl(mock: &MockClbCloud) -> (Option<OnOff>, Option<String>, Option<aliyun_api::slb::AclType>) {
    let id = mock.load_balancer_ids()[0].clone();
    let l = mock.load_balancer(&id).unwrap().listeners[0].settings.clone();
    (l.acl_status, l.acl_id, l.acl_type)
}

#[tokio::test]
async fn source_ranges_are_an_owned_whitelist_kept_in_sync_and_deleted_with_the_service() {
    use aliyun_api::slb::AclType;
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    // Created with the load balancer: the ACL exists before the listener is bound to it.
    let mut svc = with_source_ranges(service(), &["10.0.0.0/8"]);
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    let acls = mock.acls();
    let (acl_id, acl) = acls.iter().next().expect("one ACL");
    assert_eq!(acls.len(), 1);
    assert_eq!(acl.name, "k8s/web/default/c1");
    assert_eq!(acl.entries.iter().collect::<Vec<_>>(), ["10.0.0.0/8"]);
    assert!(acl.tags.iter().any(|t| t.key == "kubernetes.do.not.delete"));
    assert_eq!(listener_acl(&mock), (Some(OnOff::On), Some(acl_id.clone()), Some(AclType::White)));
    let writes = mock.write_actions();
    let acl_at = writes.iter().position(|a| *a == "CreateAccessControlList").unwrap();
    let listener_at = writes.iter().position(|a| *a == "CreateLoadBalancerListener").unwrap();
    assert!(acl_at < listener_at, "{writes:?}");

    // Ranges change: entries added and removed, the same ACL, nothing else.
    mock.clear_calls();
    let mut svc = with_source_ranges(svc, &["192.168.0.0/16", "172.16.0.0/12"]);
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    assert_eq!(mock.write_actions(), ["AddAccessControlListEntry", "RemoveAccessControlListEntry"]);
    let acl = &mock.acls()[acl_id];
    assert_eq!(acl.entries.iter().collect::<Vec<_>>(), ["172.16.0.0/12", "192.168.0.0/16"]);

    // Steady state: nothing to write.
    mock.clear_calls();
    r.forget(&svc);
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    assert!(mock.write_actions().is_empty(), "{:?}", mock.calls());

    // Ranges removed: access control off on the listener; the list is still referenced, so it is kept.
    mock.clear_calls();
    let mut svc = with_source_ranges(svc, &[]);
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    assert_eq!(mock.write_actions(), ["SetLoadBalancerListenerAttribute"]);
    assert_eq!(listener_acl(&mock).0, Some(OnOff::Off));

    // Added again: the existing list is reused and switched back on.
    mock.clear_calls();
    let mut svc = with_source_ranges(svc, &["10.1.0.0/16"]);
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    assert_eq!(mock.acls().len(), 1);
    assert_eq!(listener_acl(&mock), (Some(OnOff::On), Some(acl_id.clone()), Some(AclType::White)));

    // Service deleted: load balancer, then the ACL.
    mock.clear_calls();
    let mut svc = deleting(svc);
    assert_eq!(sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap(), Outcome::Cleaned);
    assert_eq!(
        mock.write_actions(),
        ["SetLoadBalancerDeleteProtection", "DeleteLoadBalancer", "DeleteAccessControlList"]
    );
    assert!(mock.acls().is_empty());
}

#[tokio::test]
async fn an_unreferenced_owned_acl_is_deleted_and_a_user_acl_is_bound() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc =
        annotate(annotate(annotate(service(), "acl-status", "on"), "acl-id", "acl-user"), "acl-type", "black");
    let user = mock.add_acl("mine", &["1.2.3.4/32"]);
    assert_eq!(user, "acl-mock1");
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    let (status, id, kind) = listener_acl(&mock);
    assert_eq!(
        (status, id.as_deref(), kind),
        (Some(OnOff::On), Some("acl-user"), Some(aliyun_api::slb::AclType::Black))
    );
    assert_eq!(mock.acls().len(), 1, "a user ACL is never created or deleted");
    let mut svc = deleting(svc);
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    assert_eq!(mock.acls().len(), 1, "the user ACL survives the Service");
}

#[tokio::test]
async fn vgroup_port_puts_weighted_backends_into_the_user_group_and_leaves_its_other_backends() {
    let mock = MockClbCloud::new();
    let lb = user_load_balancer(&mock);
    let user_backend = Backend::ecs("i-user", 8080, 77, "hand-made");
    let group = mock.add_group(&lb, "user web", vec![user_backend.clone()]);
    let r = reconciler(&mock);
    let base =
        annotate(annotate(annotate(service(), "id", &lb), "vgroup-port", &format!("{group}:80")), "weight", "60");
    let mut svc = base.clone();
    sync(&r, &mut svc, &nodes(&["a", "b"])).await.0.unwrap();
    let groups = mock.groups_of(&lb);
    assert_eq!(groups.len(), 2, "no group of our own is created: {groups:?}");
    let mut backends = groups[&group].backends.clone();
    backends.sort_by(|x, y| x.server_id.cmp(&y.server_id));
    let ours = "k8s/30080/web/default/c1";
    assert_eq!(
        backends,
        [Backend::ecs("i-a", 30080, 30, ours), Backend::ecs("i-b", 30080, 30, ours), user_backend.clone()],
        "60 split over two nodes; the user's backend untouched"
    );
    assert_eq!(mock.load_balancer(&lb).unwrap().listeners.len(), 1, "listeners are not managed without override");

    // ignore-weight-update: a new total changes no existing weight, but new nodes still join.
    let mut svc = annotate(annotate(base, "weight", "90"), "ignore-weight-update", "on");
    mock.clear_calls();
    sync(&r, &mut svc, &nodes(&["a", "b", "c"])).await.0.unwrap();
    assert_eq!(mock.write_actions(), ["AddVServerGroupBackendServers"], "{:?}", mock.calls());
    let backends = mock.groups_of(&lb)[&group].backends.clone();
    let weight_of = |id: &str| backends.iter().find(|b| b.server_id == id).unwrap().weight;
    assert_eq!((weight_of("i-a"), weight_of("i-c")), (30, 30));

    // Node churn reads the user's group by its ID alone and still leaves the user's backend alone.
    mock.clear_calls();
    sync(&r, &mut svc, &nodes(&["a", "c"])).await.0.unwrap();
    assert_eq!(actions(&mock), ["DescribeVServerGroupAttribute", "RemoveVServerGroupBackendServers"]);
    assert_eq!(mock.calls()[0].detail, group);
    assert!(mock.groups_of(&lb)[&group].backends.contains(&user_backend));
    assert_eq!(mock.groups_of(&lb)[&group].backends.len(), 3);

    // Deleting the Service takes its backends out of the user's group and keeps the group.
    let mut svc = deleting(svc);
    sync(&r, &mut svc, &[]).await.0.unwrap();
    assert_eq!(mock.groups_of(&lb)[&group].backends, [user_backend]);
}

#[tokio::test]
async fn vgroup_port_refuses_missing_and_kubernetes_groups() {
    let mock = MockClbCloud::new();
    let lb = user_load_balancer(&mock);
    let owned = mock.add_group(&lb, "k8s/30080/other/default/c1", Vec::new());
    let r = reconciler(&mock);
    let mut svc = annotate(annotate(service(), "id", &lb), "vgroup-port", "rsp-missing:80");
    let error = sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap_err();
    assert!(error.to_string().contains("rsp-missing"), "{error}");
    let mut svc = annotate(annotate(service(), "id", &lb), "vgroup-port", &format!("{owned}:80"));
    let error = sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap_err();
    assert!(error.to_string().contains("created by Kubernetes"), "{error}");
    assert!(mock.write_actions().iter().all(|a| *a == "TagResources"), "{:?}", mock.write_actions());
}

#[tokio::test]
async fn external_ip_type_eip_publishes_the_bound_elastic_ips() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = annotate(service(), "external-ip-type", "eip");
    let (result, _) = sync(&r, &mut svc, &nodes(&["a"])).await;
    let error = result.unwrap_err();
    assert!(error.to_string().contains("no elastic IP is bound"), "{error}");
    assert_eq!(ip_of(&svc), None, "the load balancer address is not published instead");
    let lb = mock.load_balancer_ids()[0].clone();
    mock.bind_eip(&lb, "198.18.0.9");
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    assert_eq!(ip_of(&svc).as_deref(), Some("198.18.0.9"));
    assert_eq!(mock.load_balancer_ids().len(), 1);
}

#[tokio::test]
async fn eni_backends_resolve_pod_addresses_in_batches_and_skip_unknown_ones() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    svc.metadata.annotations = Some([(annotations::BACKEND_TYPE_ANNOTATION.to_owned(), "eni".to_owned())].into());
    svc.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].target_port =
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(8080));
    // 150 ready pods, all but one held by ENIs.
    let ips: Vec<String> = (0..150).map(|i| format!("10.1.{}.{}", i / 100, i % 100 + 1)).collect();
    for (i, ip) in ips.iter().enumerate().skip(1) {
        mock.add_eni_address(&format!("eni-{i:03}"), ip);
    }
    let pods: Vec<(&str, bool)> = ips.iter().map(|ip| (ip.as_str(), true)).collect();
    let slices = [crate::model::tests::pod_slice(&pods)];
    let result = r.reconcile(&svc, &nodes(&["a"]), &slices).await;
    let writes = r.writer().take();
    RecordingWriter::apply_to(&writes, &mut svc);
    assert!(matches!(result.unwrap(), Outcome::Changed { .. }));
    let lookups = mock.calls().iter().filter(|c| c.action == "DescribeNetworkInterfaces").count();
    assert_eq!(lookups, 2, "150 addresses in batches of at most 100");
    let lb = mock.load_balancer_ids()[0].clone();
    let groups = mock.groups_of(&lb);
    let group = groups.values().next().unwrap();
    assert_eq!(group.name, "k8s/8080/web/default/c1");
    assert_eq!(group.backends.len(), 149);
    assert!(group.backends.iter().all(|b| b.server_id.starts_with("eni-") && b.port == 8080));
    assert!(group.backends.iter().all(|b| b.kind == aliyun_api::slb::BackendType::Eni && b.server_ip.is_some()));
    let skipped: Vec<&ServiceEvent> = writes
        .iter()
        .filter_map(|w| match w {
            KubeWrite::Event(e) if e.reason == "InvalidBackends" => Some(e),
            _ => None,
        })
        .collect();
    let [event] = skipped.as_slice() else { panic!("{writes:?}") };
    assert!(event.note.contains(&ips[0]) && event.warning, "{}", event.note);
}

#[tokio::test]
async fn domain_extensions_follow_the_annotation_on_https_listeners() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let https = |exts: &str| {
        let s = annotate(annotate(service(), "protocol-port", "https:80"), "cert-id", "cert-main");
        annotate(s, "domain-extensions", exts)
    };
    let mut svc = https("a.example.com:cert-a,b.example.com:cert-b");
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    let lb = mock.load_balancer_ids()[0].clone();
    let got = mock.domain_extensions(&lb, 80);
    assert_eq!(got.len(), 2);
    assert_eq!(got["a.example.com"], "cert-a");
    let writes = mock.write_actions();
    let listener_at = writes.iter().position(|a| *a == "CreateLoadBalancerListener").unwrap();
    let extension_at = writes.iter().position(|a| *a == "CreateDomainExtension").unwrap();
    assert!(listener_at < extension_at, "{writes:?}");

    mock.clear_calls();
    let mut svc = https("a.example.com:cert-a2,c.example.com:cert-c");
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    let mut writes = mock.write_actions();
    writes.sort_unstable();
    assert_eq!(writes, ["CreateDomainExtension", "DeleteDomainExtension", "SetDomainExtensionAttribute"]);
    let got = mock.domain_extensions(&lb, 80);
    assert_eq!(got.keys().collect::<Vec<_>>(), ["a.example.com", "c.example.com"]);
    assert_eq!(got["a.example.com"], "cert-a2");

    mock.clear_calls();
    r.forget(&svc);
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    assert!(mock.write_actions().is_empty(), "{:?}", mock.calls());
}

#[tokio::test]
async fn pods_on_virtual_kubelet_nodes_join_node_backends_and_unchanged_pods_cost_no_eni_lookup() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    svc.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].target_port =
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(8080));
    let mut all = nodes(&["a"]);
    let mut vk = Node::default();
    vk.metadata.name = Some("vk".into());
    vk.metadata.labels = Some([("type".to_owned(), "virtual-kubelet".to_owned())].into());
    all.push(Arc::new(vk));
    mock.add_eni_address("eni-eci1", "10.1.0.7");
    let mut slice = (*crate::model::tests::pod_slice(&[("10.1.0.7", true)])).clone();
    slice.endpoints.as_mut().unwrap()[0].node_name = Some("vk".into());
    let slices = [Arc::new(slice)];
    let result = r.reconcile(&svc, &all, &slices).await;
    RecordingWriter::apply_to(&r.writer().take(), &mut svc);
    assert!(matches!(result.unwrap(), Outcome::Changed { .. }));
    let lb = mock.load_balancer_ids()[0].clone();
    let groups = mock.groups_of(&lb);
    let group = groups.values().next().unwrap();
    assert_eq!(group.name, "k8s/30080/web/default/c1");
    let mut backends: Vec<(String, u16, String)> =
        group.backends.iter().map(|b| (b.server_id.clone(), b.port, format!("{:?}", b.kind))).collect();
    backends.sort();
    assert_eq!(
        backends,
        [("eni-eci1".to_string(), 8080, "Eni".to_string()), ("i-a".to_string(), 30080, "Ecs".to_string())]
    );
    // The same inputs again: answered from memory, without even the ENI look-up.
    mock.clear_calls();
    let again = r.reconcile(&svc, &all, &slices).await.unwrap();
    assert_eq!(again, Outcome::Cached);
    assert!(mock.calls().is_empty(), "{:?}", mock.calls());
}

#[tokio::test]
async fn a_new_service_is_looked_up_once_and_its_groups_created_with_their_backends() {
    let mock = MockClbCloud::new();
    let r = reconciler(&mock);
    let mut svc = service();
    sync(&r, &mut svc, &nodes(&["a", "b"])).await.0.unwrap();
    let actions: Vec<&str> = mock.calls().iter().map(|c| c.action).collect();
    assert_eq!(
        actions,
        [
            "DescribeLoadBalancers",
            "CreateLoadBalancer",
            "CreateVServerGroup",
            "CreateLoadBalancerListener",
            "StartLoadBalancerListener"
        ]
    );
    // A full sync later finds it by its tag, in one listing.
    mock.clear_calls();
    r.forget(&svc);
    sync(&r, &mut svc, &nodes(&["a", "b"])).await.0.unwrap();
    let lookups = mock.calls().iter().filter(|c| c.action == "DescribeLoadBalancers").count();
    assert_eq!(lookups, 1, "found by its tag: {:?}", mock.calls());
}

#[tokio::test]
async fn constant_churn_still_gets_a_full_check_every_resync_period() {
    let mock = MockClbCloud::new();
    let resync = std::time::Duration::from_millis(300);
    let writer = RecordingWriter { writes: Default::default(), cloud: Some(mock.clone()) };
    let r = Reconciler::new(
        mock.clone(),
        writer,
        ClbControllerConfig { resync_period: resync, ..config() },
        ClbMetrics::default(),
    );
    let mut svc = service();
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    // Backend churn more often than the resync period: each sync alone is "recent".
    tokio::time::sleep(resync / 2).await;
    mock.clear_calls();
    sync(&r, &mut svc, &nodes(&["a", "b"])).await.0.unwrap();
    assert!(!actions(&mock).contains(&"DescribeLoadBalancers"), "backends only: {:?}", mock.calls());
    tokio::time::sleep(resync / 2 + resync / 6).await;
    mock.clear_calls();
    sync(&r, &mut svc, &nodes(&["a"])).await.0.unwrap();
    assert!(
        actions(&mock).contains(&"DescribeLoadBalancerListeners"),
        "a resync period after the last full check, listeners are read again: {:?}",
        mock.calls()
    );
}
