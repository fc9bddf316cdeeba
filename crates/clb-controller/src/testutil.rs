//! Fixtures shared by the unit tests: the state the Go CCM leaves in the cloud, a mock seeded with it, and a
//! recording [`ServiceWriter`] that plays the API server.

use std::sync::Mutex;

use aliyun_api::slb::{
    AddressType, HealthCheckType, InstanceChargeType, InternetChargeType, ListenerStatus, ModificationProtectionStatus,
    OnOff, Scheduler,
};
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Service, ServiceStatus};

use crate::{
    cloud::{ListenerSettings, ObservedListener, ObservedLoadBalancer},
    mock::MockClbCloud,
    model::DesiredClb,
    naming::FINALIZER,
    observe::{FoundBy, ObservedClb, ObservedVServerGroup},
    service_io::{ServiceEvent, ServiceWriter},
};

/// What the API reports for a TCP listener created with the Go CCM's defaults (scheduler `rr`).
pub(crate) fn api_default_tcp_settings() -> ListenerSettings {
    ListenerSettings {
        scheduler: Some(Scheduler::Rr),
        persistence_timeout: Some(0),
        established_timeout: Some(900),
        health_check_switch: Some(OnOff::On),
        health_check_type: Some(HealthCheckType::Tcp),
        health_check_connect_timeout: Some(5),
        health_check_interval: Some(2),
        healthy_threshold: Some(3),
        unhealthy_threshold: Some(3),
        connection_drain: Some(OnOff::Off),
        proxy_protocol_v2: Some(false),
        ..Default::default()
    }
}

/// The load balancer the Go CCM creates for `desired` (defaults: internet, PayByCLCU, protections on).
pub(crate) fn go_ccm_load_balancer(desired: &DesiredClb) -> ObservedLoadBalancer {
    ObservedLoadBalancer {
        id: "lb-go".into(),
        name: desired.load_balancer.default_name.clone(),
        address: "47.1.1.1".into(),
        address_type: Some(AddressType::Internet),
        master_zone_id: "cn-hangzhou-b".into(),
        slave_zone_id: "cn-hangzhou-c".into(),
        instance_charge_type: Some(InstanceChargeType::PayByClcu),
        internet_charge_type: Some(InternetChargeType::PayByTraffic),
        bandwidth: 5120,
        delete_protection: Some(OnOff::On),
        modification_protection: Some(ModificationProtectionStatus::ConsoleProtection),
        resource_group_id: "rg-default".into(),
        tags: desired.load_balancer.owner_tags.iter().cloned().collect(),
        ..Default::default()
    }
}

/// Everything the Go CCM leaves for `desired`: the load balancer, its running listeners with API defaults, its
/// groups with the same backends.
pub(crate) fn go_ccm_state(desired: &DesiredClb) -> ObservedClb {
    let groups: Vec<ObservedVServerGroup> = desired
        .vserver_groups
        .iter()
        .enumerate()
        .map(|(i, g)| ObservedVServerGroup {
            id: format!("rsp-go{i}"),
            name: g.key.to_string(),
            backends: Some(g.backends.clone()),
        })
        .collect();
    let listeners = desired
        .listeners
        .iter()
        .map(|l| ObservedListener {
            port: l.key.port,
            protocol: l.protocol.clone(),
            status: Some(ListenerStatus::Running),
            description: l.key.to_string(),
            vserver_group_id: groups
                .iter()
                .find(|g| g.name == l.group.to_string())
                .map(|g| g.id.clone())
                .unwrap_or_default(),
            settings: api_default_tcp_settings(),
        })
        .collect();
    ObservedClb {
        load_balancer: go_ccm_load_balancer(desired),
        found_by: FoundBy::Tag,
        listeners: Some(listeners),
        vserver_groups: groups,
        owned_acls: Vec::new(),
        domain_extensions: Default::default(),
    }
}

/// A mock holding `state` (group IDs are the mock's own); returns the mock and the load balancer ID.
pub(crate) fn seeded_mock(state: &ObservedClb) -> (MockClbCloud, String) {
    let mock = MockClbCloud::new();
    let lb = mock.add_load_balancer(state.load_balancer.clone());
    let mut ids = std::collections::BTreeMap::new();
    for g in &state.vserver_groups {
        let id = mock.add_group(&lb, &g.name, g.backends.clone().unwrap_or_default());
        ids.insert(g.id.clone(), id);
    }
    for l in state.listeners.iter().flatten() {
        let mut l = l.clone();
        l.vserver_group_id = ids.get(&l.vserver_group_id).cloned().unwrap_or(l.vserver_group_id);
        mock.add_listener(&lb, l);
    }
    mock.clear_calls();
    (mock, lb)
}

/// One write the reconciler made to Kubernetes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KubeWrite {
    /// With the number of cloud writes made before it.
    AddFinalizer(usize),
    RemoveFinalizers,
    SetIngress(Vec<LoadBalancerIngress>),
    Event(ServiceEvent),
}

/// Records writes; [`RecordingWriter::apply_to`] plays them onto the Service like the API server would.
#[derive(Debug, Default)]
pub(crate) struct RecordingWriter {
    pub writes: Mutex<Vec<KubeWrite>>,
    /// The cloud, to record how many writes preceded the finalizer.
    pub cloud: Option<MockClbCloud>,
}

impl RecordingWriter {
    pub(crate) fn take(&self) -> Vec<KubeWrite> {
        std::mem::take(&mut *self.writes.lock().unwrap())
    }

    pub(crate) fn reasons(writes: &[KubeWrite]) -> Vec<&'static str> {
        writes.iter().filter_map(|w| if let KubeWrite::Event(e) = w { Some(e.reason) } else { None }).collect()
    }

    /// Applies finalizer and status writes to `service`.
    pub(crate) fn apply_to(writes: &[KubeWrite], service: &mut Service) {
        for w in writes {
            match w {
                KubeWrite::AddFinalizer(_) => {
                    service.metadata.finalizers.get_or_insert_default().push(FINALIZER.into())
                }
                KubeWrite::RemoveFinalizers => service.metadata.finalizers = None,
                KubeWrite::SetIngress(ingress) => {
                    service.status = Some(ServiceStatus {
                        load_balancer: Some(LoadBalancerStatus {
                            ingress: Some(ingress.clone()).filter(|i| !i.is_empty()),
                        }),
                        ..Default::default()
                    });
                }
                KubeWrite::Event(_) => {}
            }
        }
    }

    fn push(&self, w: KubeWrite) {
        self.writes.lock().unwrap().push(w);
    }
}

impl ServiceWriter for RecordingWriter {
    async fn add_finalizer(&self, _: &Service) -> Result<(), kube::Error> {
        let before = self.cloud.as_ref().map_or(0, |c| c.write_actions().len());
        self.push(KubeWrite::AddFinalizer(before));
        Ok(())
    }

    async fn remove_finalizers(&self, _: &Service) -> Result<(), kube::Error> {
        self.push(KubeWrite::RemoveFinalizers);
        Ok(())
    }

    async fn set_ingress(&self, _: &Service, ingress: &[LoadBalancerIngress]) -> Result<(), kube::Error> {
        self.push(KubeWrite::SetIngress(ingress.to_vec()));
        Ok(())
    }

    async fn publish(&self, _: &Service, event: ServiceEvent) {
        self.push(KubeWrite::Event(event));
    }
}
