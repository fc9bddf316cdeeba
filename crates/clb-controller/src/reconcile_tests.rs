//! The whole pipeline for one Service against the mock cloud and a recording API server.

use std::sync::Arc;

use aliyun_api::slb::{ListenerProtocol, ListenerStatus};
use k8s_openapi::{
    api::core::v1::{LoadBalancerIngress, Node, Service},
    apimachinery::pkg::apis::meta::v1::Time,
};

use super::*;
use crate::{
    cloud::{ObservedListener, ObservedLoadBalancer},
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
    assert_eq!(plan.ops.len(), 5);
    assert!(mock.write_actions().is_empty());
    assert!(r.writer().take().is_empty());
}
