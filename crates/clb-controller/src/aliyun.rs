//! The adapter: [`ClbCloud`] over `aliyun_api::Client` (SLB API 2014-05-15).

use aliyun_api::{
    Client, Tag,
    slb::{
        self, AclEntry, AddAccessControlListEntry, BackendServer, CreateAccessControlList, CreateLoadBalancer,
        CreateLoadBalancerHttpListener, CreateLoadBalancerHttpsListener, CreateLoadBalancerTcpListener,
        CreateLoadBalancerUdpListener, CreateVServerGroup, DeleteAccessControlList, DeleteLoadBalancer,
        DeleteLoadBalancerListener, DeleteVServerGroup, DescribeAccessControlListAttribute, DescribeAccessControlLists,
        DescribeLoadBalancerListeners, DescribeLoadBalancers, DescribeVServerGroupAttribute, DescribeVServerGroups,
        HttpsSettings, InstanceChargeType, InternetChargeType, ListenerAttributes, ListenerProtocol,
        ModificationProtectionStatus, ModifyLoadBalancerInstanceChargeType, ModifyLoadBalancerInstanceSpec,
        ModifyLoadBalancerInternetSpec, OnOff, RemoveAccessControlListEntry, ResourceTag,
        SetLoadBalancerDeleteProtection, SetLoadBalancerHttpListenerAttribute, SetLoadBalancerHttpsListenerAttribute,
        SetLoadBalancerModificationProtection, SetLoadBalancerName, SetLoadBalancerTcpListenerAttribute,
        SetLoadBalancerUdpListenerAttribute, SetVServerGroupAttribute, StartLoadBalancerListener, TagResources,
        UntagResources, XForwardedFor,
    },
};

use crate::{
    cloud::{
        Backend, ClbCloud, CloudError, CloudResult, CreatedLoadBalancer, ListenerChange, ListenerSettings, NewListener,
        NewLoadBalancer, ObservedAcl, ObservedDomainExtension, ObservedListener, ObservedLoadBalancer,
        VServerGroupSummary,
    },
    naming::MODIFICATION_PROTECTION_REASON,
};

/// [`ClbCloud`] over the Alibaba Cloud API client (one region).
#[derive(Debug, Clone)]
pub struct AliyunClb {
    client: Client,
}

impl AliyunClb {
    /// The adapter over `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Every page of a `DescribeLoadBalancers` listing.
    async fn list_load_balancers(&self, request: DescribeLoadBalancers) -> CloudResult<Vec<ObservedLoadBalancer>> {
        let found = self.client.collect_pages(request).await.map_err(cloud_error("DescribeLoadBalancers"))?;
        Ok(found.into_iter().map(observed_load_balancer).collect())
    }
}

/// Converts a client error, keeping the cloud's code and message.
fn cloud_error(operation: &'static str) -> impl Fn(aliyun_api::Error) -> CloudError {
    move |e| {
        let (code, message) = match e.api() {
            Some(api) => (Some(api.code.clone()), format!("{} (RequestId: {})", api.message, api.request_id)),
            None => (None, e.to_string()),
        };
        CloudError { operation, code, message, not_found: e.is_not_found(), source: Some(Box::new(e)) }
    }
}

fn unsupported(operation: &'static str, protocol: &ListenerProtocol) -> CloudError {
    CloudError {
        operation,
        code: None,
        message: format!("{protocol} listeners are not supported yet"),
        not_found: false,
        source: None,
    }
}

fn to_backend(b: &slb::VServerGroupBackendServer) -> Backend {
    Backend {
        server_id: b.server_id.clone(),
        port: b.port,
        weight: b.weight,
        kind: b.backend_type.clone().unwrap_or_default(),
        server_ip: Some(b.server_ip.clone()).filter(|ip| !ip.is_empty()),
        description: b.description.clone(),
    }
}

fn to_server(b: &Backend) -> BackendServer {
    BackendServer {
        server_id: b.server_id.clone(),
        port: b.port,
        weight: Some(b.weight),
        backend_type: b.kind.clone(),
        server_ip: b.server_ip.clone(),
        description: Some(b.description.clone()).filter(|d| !d.is_empty()),
    }
}

fn servers(backends: &[Backend]) -> Vec<BackendServer> {
    backends.iter().map(to_server).collect()
}

/// The managed attributes of a listener as the API reports them.
fn observed_settings(l: &slb::Listener) -> ListenerSettings {
    let nonzero = |n: u32| Some(n).filter(|n| *n > 0);
    let text = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
    let mut s = ListenerSettings {
        scheduler: l.scheduler.clone(),
        acl_status: l.acl_status.clone(),
        acl_id: text(&l.acl_id),
        acl_type: l.acl_type.clone(),
        ..Default::default()
    };
    if let Some(c) = &l.tcp_listener_config {
        s.persistence_timeout = Some(c.persistence_timeout);
        s.established_timeout = nonzero(c.established_timeout);
        s.health_check_switch = c.health_check.clone();
        s.health_check_type = c.health_check_type.clone();
        s.health_check_uri = text(&c.health_check_uri);
        s.health_check_domain = text(&c.health_check_domain);
        s.health_check_http_code = text(&c.health_check_http_code);
        s.health_check_connect_port = Some(c.health_check_connect_port).filter(|p| *p > 0);
        s.health_check_connect_timeout = nonzero(c.health_check_connect_timeout);
        s.health_check_interval = nonzero(c.health_check_interval);
        s.healthy_threshold = nonzero(c.healthy_threshold);
        s.unhealthy_threshold = nonzero(c.unhealthy_threshold);
        s.connection_drain = c.connection_drain.clone();
        s.connection_drain_timeout = nonzero(c.connection_drain_timeout);
        s.proxy_protocol_v2 = Some(c.proxy_protocol_v2_enabled);
    }
    if let Some(c) = &l.http_listener_config {
        s.health_check_switch = c.health_check.clone();
        s.health_check_uri = text(&c.health_check_uri);
        s.health_check_domain = text(&c.health_check_domain);
        s.health_check_http_code = text(&c.health_check_http_code);
        s.health_check_connect_port = Some(c.health_check_connect_port).filter(|p| *p > 0);
        s.health_check_interval = nonzero(c.health_check_interval);
        s.health_check_method = c.health_check_method.clone();
        s.health_check_timeout = nonzero(c.health_check_timeout);
        s.healthy_threshold = nonzero(c.healthy_threshold);
        s.unhealthy_threshold = nonzero(c.unhealthy_threshold);
        s.sticky_session = c.sticky_session.clone();
        s.sticky_session_type = c.sticky_session_type.clone();
        s.cookie = text(&c.cookie);
        s.cookie_timeout = nonzero(c.cookie_timeout);
        s.idle_timeout = nonzero(c.idle_timeout);
        s.request_timeout = nonzero(c.request_timeout);
        s.x_forwarded_for_proto = c.x_forwarded_for.proto.clone();
        s.x_forwarded_for_slb_port = c.x_forwarded_for.slb_port.clone();
        s.x_forwarded_for_client_src_port = c.x_forwarded_for.client_src_port.clone();
        s.forward_port = (c.listener_forward == Some(OnOff::On)).then_some(c.forward_port).filter(|p| *p > 0);
    }
    if let Some(c) = &l.https_listener_config {
        s.health_check_switch = c.health_check.clone();
        s.health_check_uri = text(&c.health_check_uri);
        s.health_check_domain = text(&c.health_check_domain);
        s.health_check_http_code = text(&c.health_check_http_code);
        s.health_check_connect_port = Some(c.health_check_connect_port).filter(|p| *p > 0);
        s.health_check_interval = nonzero(c.health_check_interval);
        s.health_check_method = c.health_check_method.clone();
        s.health_check_timeout = nonzero(c.health_check_timeout);
        s.healthy_threshold = nonzero(c.healthy_threshold);
        s.unhealthy_threshold = nonzero(c.unhealthy_threshold);
        s.sticky_session = c.sticky_session.clone();
        s.sticky_session_type = c.sticky_session_type.clone();
        s.cookie = text(&c.cookie);
        s.cookie_timeout = nonzero(c.cookie_timeout);
        s.idle_timeout = nonzero(c.idle_timeout);
        s.request_timeout = nonzero(c.request_timeout);
        s.x_forwarded_for_proto = c.x_forwarded_for.proto.clone();
        s.x_forwarded_for_slb_port = c.x_forwarded_for.slb_port.clone();
        s.x_forwarded_for_client_src_port = c.x_forwarded_for.client_src_port.clone();
        s.server_certificate_id = text(&c.server_certificate_id);
        s.tls_cipher_policy = text(&c.tls_cipher_policy);
        s.enable_http2 = c.enable_http2.clone();
    }
    if let Some(c) = &l.udp_listener_config {
        s.health_check_switch = c.health_check.clone();
        s.health_check_connect_port = Some(c.health_check_connect_port).filter(|p| *p > 0);
        s.health_check_connect_timeout = nonzero(c.health_check_connect_timeout);
        s.health_check_interval = nonzero(c.health_check_interval);
        s.healthy_threshold = nonzero(c.healthy_threshold);
        s.unhealthy_threshold = nonzero(c.unhealthy_threshold);
        s.connection_drain = c.connection_drain.clone();
        s.connection_drain_timeout = nonzero(c.connection_drain_timeout);
        s.proxy_protocol_v2 = Some(c.proxy_protocol_v2_enabled);
    }
    s
}

fn observed_listener(l: slb::Listener) -> Option<ObservedListener> {
    Some(ObservedListener {
        port: l.listener_port,
        protocol: l.listener_protocol.clone()?,
        status: l.status.clone(),
        settings: observed_settings(&l),
        description: l.description,
        vserver_group_id: l.vserver_group_id,
    })
}

/// A load balancer as `DescribeLoadBalancers` lists it: the listing carries every attribute the controller
/// compares and the tags, so neither `DescribeLoadBalancerAttribute` nor `ListTagResources` is needed.
fn observed_load_balancer(lb: slb::LoadBalancer) -> ObservedLoadBalancer {
    ObservedLoadBalancer {
        id: lb.load_balancer_id,
        name: lb.load_balancer_name,
        address: lb.address,
        address_type: lb.address_type,
        ip_version: lb.address_ip_version,
        vpc_id: lb.vpc_id,
        vswitch_id: lb.vswitch_id,
        master_zone_id: lb.master_zone_id,
        slave_zone_id: lb.slave_zone_id,
        spec: lb.load_balancer_spec,
        instance_charge_type: lb.instance_charge_type,
        internet_charge_type: lb.internet_charge_type,
        bandwidth: lb.bandwidth,
        delete_protection: lb.delete_protection,
        modification_protection: lb.modification_protection_status,
        tags: lb.tags.into_iter().map(|t| (t.key, t.value)).collect(),
        resource_group_id: lb.resource_group_id,
    }
}

/// The listener attributes of `s`, for every protocol and both creation and change: each request sends those its
/// protocol has.
fn attributes(s: &ListenerSettings) -> ListenerAttributes {
    ListenerAttributes {
        scheduler: s.scheduler.clone(),
        health_check: s.health_check_switch.clone(),
        health_check_type: s.health_check_type.clone(),
        health_check_connect_port: s.health_check_connect_port,
        health_check_connect_timeout: s.health_check_connect_timeout,
        health_check_interval: s.health_check_interval,
        healthy_threshold: s.healthy_threshold,
        unhealthy_threshold: s.unhealthy_threshold,
        health_check_domain: s.health_check_domain.clone(),
        health_check_uri: s.health_check_uri.clone(),
        health_check_http_code: s.health_check_http_code.clone(),
        health_check_method: s.health_check_method.clone(),
        health_check_timeout: s.health_check_timeout,
        persistence_timeout: s.persistence_timeout,
        established_timeout: s.established_timeout,
        connection_drain: s.connection_drain.clone(),
        connection_drain_timeout: s.connection_drain_timeout,
        proxy_protocol_v2_enabled: s.proxy_protocol_v2,
        sticky_session: s.sticky_session.clone(),
        sticky_session_type: s.sticky_session_type.clone(),
        cookie: s.cookie.clone(),
        cookie_timeout: s.cookie_timeout,
        idle_timeout: s.idle_timeout,
        request_timeout: s.request_timeout,
        x_forwarded_for: XForwardedFor {
            proto: s.x_forwarded_for_proto.clone(),
            slb_port: s.x_forwarded_for_slb_port.clone(),
            client_src_port: s.x_forwarded_for_client_src_port.clone(),
            ..Default::default()
        },
        acl_status: s.acl_status.clone(),
        acl_id: s.acl_id.clone(),
        acl_type: s.acl_type.clone(),
        ..Default::default()
    }
}

/// The certificate and TLS settings of an HTTPS listener.
fn https_settings(s: &ListenerSettings) -> HttpsSettings {
    HttpsSettings {
        server_certificate_id: s.server_certificate_id.clone(),
        enable_http2: s.enable_http2.clone(),
        tls_cipher_policy: s.tls_cipher_policy.clone(),
        ..Default::default()
    }
}

fn tcp_create(lb: &str, l: &NewListener) -> CreateLoadBalancerTcpListener {
    CreateLoadBalancerTcpListener {
        load_balancer_id: lb.to_owned(),
        listener_port: l.port,
        bandwidth: Some(slb::UNLIMITED_BANDWIDTH),
        vserver_group_id: Some(l.vserver_group_id.clone()),
        attributes: attributes(&l.settings),
        description: Some(l.description.clone()),
        ..Default::default()
    }
}

fn udp_create(lb: &str, l: &NewListener) -> CreateLoadBalancerUdpListener {
    CreateLoadBalancerUdpListener {
        load_balancer_id: lb.to_owned(),
        listener_port: l.port,
        bandwidth: Some(slb::UNLIMITED_BANDWIDTH),
        vserver_group_id: Some(l.vserver_group_id.clone()),
        attributes: attributes(&l.settings),
        description: Some(l.description.clone()),
        ..Default::default()
    }
}

fn http_create(lb: &str, l: &NewListener) -> CreateLoadBalancerHttpListener {
    CreateLoadBalancerHttpListener {
        load_balancer_id: lb.to_owned(),
        listener_port: l.port,
        vserver_group_id: Some(l.vserver_group_id.clone()),
        listener_forward: l.settings.forward_port.map(|_| OnOff::On),
        forward_port: l.settings.forward_port,
        attributes: attributes(&l.settings),
        description: Some(l.description.clone()),
        ..Default::default()
    }
}

fn https_create(lb: &str, l: &NewListener) -> CreateLoadBalancerHttpsListener {
    CreateLoadBalancerHttpsListener {
        load_balancer_id: lb.to_owned(),
        listener_port: l.port,
        bandwidth: Some(slb::UNLIMITED_BANDWIDTH),
        vserver_group_id: Some(l.vserver_group_id.clone()),
        https: https_settings(&l.settings),
        attributes: attributes(&l.settings),
        description: Some(l.description.clone()),
        ..Default::default()
    }
}

/// `VServerGroup=on` with the group when the change moves the listener to another group.
fn group_switch(c: &ListenerChange) -> Option<OnOff> {
    c.vserver_group_id.as_ref().map(|_| OnOff::On)
}

fn tcp_set(lb: &str, c: &ListenerChange) -> SetLoadBalancerTcpListenerAttribute {
    SetLoadBalancerTcpListenerAttribute {
        load_balancer_id: lb.to_owned(),
        listener_port: c.port,
        vserver_group: group_switch(c),
        vserver_group_id: c.vserver_group_id.clone(),
        attributes: attributes(&c.settings),
        description: c.description.clone(),
        ..Default::default()
    }
}

fn udp_set(lb: &str, c: &ListenerChange) -> SetLoadBalancerUdpListenerAttribute {
    SetLoadBalancerUdpListenerAttribute {
        load_balancer_id: lb.to_owned(),
        listener_port: c.port,
        vserver_group: group_switch(c),
        vserver_group_id: c.vserver_group_id.clone(),
        attributes: attributes(&c.settings),
        description: c.description.clone(),
        ..Default::default()
    }
}

fn http_set(lb: &str, c: &ListenerChange) -> SetLoadBalancerHttpListenerAttribute {
    SetLoadBalancerHttpListenerAttribute {
        load_balancer_id: lb.to_owned(),
        listener_port: c.port,
        vserver_group: group_switch(c),
        vserver_group_id: c.vserver_group_id.clone(),
        attributes: attributes(&c.settings),
        description: c.description.clone(),
        ..Default::default()
    }
}

fn https_set(lb: &str, c: &ListenerChange) -> SetLoadBalancerHttpsListenerAttribute {
    SetLoadBalancerHttpsListenerAttribute {
        load_balancer_id: lb.to_owned(),
        listener_port: c.port,
        vserver_group: group_switch(c),
        vserver_group_id: c.vserver_group_id.clone(),
        https: https_settings(&c.settings),
        attributes: attributes(&c.settings),
        description: c.description.clone(),
        ..Default::default()
    }
}

/// A group named `name` with its first backends (`BackendServers`, left out when there are none).
fn group_request(load_balancer_id: &str, name: &str, backends: &[Backend]) -> CreateVServerGroup {
    CreateVServerGroup {
        load_balancer_id: load_balancer_id.to_owned(),
        vserver_group_name: Some(name.to_owned()),
        backend_servers: servers(backends),
        ..Default::default()
    }
}

fn create_request(spec: &NewLoadBalancer) -> CreateLoadBalancer {
    CreateLoadBalancer {
        load_balancer_name: Some(spec.name.clone()),
        address_type: spec.address_type.clone(),
        address_ip_version: spec.address_ip_version.clone(),
        address: spec.address.clone(),
        vpc_id: spec.vpc_id.clone(),
        vswitch_id: spec.vswitch_id.clone(),
        master_zone_id: spec.master_zone_id.clone(),
        slave_zone_id: spec.slave_zone_id.clone(),
        load_balancer_spec: spec.spec.clone(),
        instance_charge_type: spec.instance_charge_type.clone(),
        internet_charge_type: spec.internet_charge_type.clone(),
        bandwidth: spec.bandwidth,
        delete_protection: spec.delete_protection.clone(),
        modification_protection_status: spec.modification_protection.clone(),
        modification_protection_reason: spec.modification_protection_reason.clone(),
        resource_group_id: spec.resource_group_id.clone(),
        tags: spec.tags.clone(),
        client_token: Some(spec.client_token.clone()).filter(|t| !t.is_empty()),
        ..Default::default()
    }
}

impl ClbCloud for AliyunClb {
    async fn find_load_balancers_by_tag(&self, key: &str, value: &str) -> CloudResult<Vec<ObservedLoadBalancer>> {
        let request = DescribeLoadBalancers { tags: vec![ResourceTag::new(key, value)], ..Default::default() };
        self.list_load_balancers(request).await
    }

    async fn find_load_balancers_by_name(&self, name: &str) -> CloudResult<Vec<ObservedLoadBalancer>> {
        let request = DescribeLoadBalancers { load_balancer_name: Some(name.to_owned()), ..Default::default() };
        // The name filter may match by prefix; keep exact matches only.
        Ok(self.list_load_balancers(request).await?.into_iter().filter(|lb| lb.name == name).collect())
    }

    async fn describe_load_balancer(&self, id: &str) -> CloudResult<Option<ObservedLoadBalancer>> {
        if id.is_empty() {
            // An empty ID filter would list every load balancer of the region.
            return Ok(None);
        }
        let request = DescribeLoadBalancers { load_balancer_ids: vec![id.to_owned()], ..Default::default() };
        Ok(self.list_load_balancers(request).await?.into_iter().find(|lb| lb.id == id))
    }

    async fn describe_listeners(&self, load_balancer_id: &str) -> CloudResult<Vec<ObservedListener>> {
        let listeners = self
            .client
            .collect_next_token(DescribeLoadBalancerListeners::of(load_balancer_id))
            .await
            .map_err(cloud_error("DescribeLoadBalancerListeners"))?;
        Ok(listeners.into_iter().filter_map(observed_listener).collect())
    }

    async fn describe_vserver_groups(&self, load_balancer_id: &str) -> CloudResult<Vec<VServerGroupSummary>> {
        let response = self
            .client
            .call(&DescribeVServerGroups::new(load_balancer_id))
            .await
            .map_err(cloud_error("DescribeVServerGroups"))?;
        Ok(response
            .vserver_groups
            .into_iter()
            .map(|g| VServerGroupSummary { id: g.vserver_group_id, name: g.vserver_group_name })
            .collect())
    }

    async fn describe_vserver_group_backends(&self, group_id: &str) -> CloudResult<Vec<Backend>> {
        let response = self
            .client
            .call(&DescribeVServerGroupAttribute::new(group_id))
            .await
            .map_err(cloud_error("DescribeVServerGroupAttribute"))?;
        Ok(response.backend_servers.iter().map(to_backend).collect())
    }

    async fn create_load_balancer(&self, spec: &NewLoadBalancer) -> CloudResult<CreatedLoadBalancer> {
        let response = self.client.call(&create_request(spec)).await.map_err(cloud_error("CreateLoadBalancer"))?;
        Ok(CreatedLoadBalancer { id: response.load_balancer_id, address: response.address })
    }

    async fn set_load_balancer_name(&self, id: &str, name: &str) -> CloudResult<()> {
        let request = SetLoadBalancerName { load_balancer_id: id.to_owned(), load_balancer_name: name.to_owned() };
        self.client.call(&request).await.map(drop).map_err(cloud_error("SetLoadBalancerName"))
    }

    async fn set_delete_protection(&self, id: &str, on: OnOff) -> CloudResult<()> {
        let request = SetLoadBalancerDeleteProtection { load_balancer_id: id.to_owned(), delete_protection: on };
        self.client.call(&request).await.map(drop).map_err(cloud_error("SetLoadBalancerDeleteProtection"))
    }

    async fn set_modification_protection(&self, id: &str, status: ModificationProtectionStatus) -> CloudResult<()> {
        let reason = (status == ModificationProtectionStatus::ConsoleProtection)
            .then(|| MODIFICATION_PROTECTION_REASON.to_owned());
        let request = SetLoadBalancerModificationProtection {
            load_balancer_id: id.to_owned(),
            modification_protection_status: Some(status),
            modification_protection_reason: reason,
        };
        self.client.call(&request).await.map(drop).map_err(cloud_error("SetLoadBalancerModificationProtection"))
    }

    async fn modify_instance_charge_type(
        &self,
        id: &str,
        charge_type: InstanceChargeType,
        spec: Option<&str>,
    ) -> CloudResult<()> {
        let request = ModifyLoadBalancerInstanceChargeType {
            load_balancer_id: id.to_owned(),
            instance_charge_type: Some(charge_type),
            load_balancer_spec: spec.map(str::to_owned),
            ..Default::default()
        };
        self.client.call(&request).await.map(drop).map_err(cloud_error("ModifyLoadBalancerInstanceChargeType"))
    }

    async fn modify_instance_spec(&self, id: &str, spec: &str) -> CloudResult<()> {
        let request = ModifyLoadBalancerInstanceSpec {
            load_balancer_id: id.to_owned(),
            load_balancer_spec: spec.to_owned(),
            auto_pay: None,
        };
        self.client.call(&request).await.map(drop).map_err(cloud_error("ModifyLoadBalancerInstanceSpec"))
    }

    async fn modify_internet_spec(
        &self,
        id: &str,
        charge_type: Option<InternetChargeType>,
        bandwidth: Option<u32>,
    ) -> CloudResult<()> {
        let request = ModifyLoadBalancerInternetSpec {
            load_balancer_id: id.to_owned(),
            internet_charge_type: charge_type,
            bandwidth,
            auto_pay: None,
        };
        self.client.call(&request).await.map(drop).map_err(cloud_error("ModifyLoadBalancerInternetSpec"))
    }

    async fn tag_load_balancer(&self, id: &str, tags: &[Tag]) -> CloudResult<()> {
        let request = TagResources::instance(id, tags.to_vec());
        self.client.call(&request).await.map(drop).map_err(cloud_error("TagResources"))
    }

    async fn untag_load_balancer(&self, id: &str, keys: &[String]) -> CloudResult<()> {
        let request = UntagResources::instance(id, keys.to_vec());
        self.client.call(&request).await.map(drop).map_err(cloud_error("UntagResources"))
    }

    async fn delete_load_balancer(&self, id: &str) -> CloudResult<()> {
        self.client.call(&DeleteLoadBalancer::new(id)).await.map(drop).map_err(cloud_error("DeleteLoadBalancer"))
    }

    async fn create_listener(&self, load_balancer_id: &str, listener: &NewListener) -> CloudResult<()> {
        const OP: &str = "CreateLoadBalancerListener";
        let result = match listener.protocol {
            ListenerProtocol::Tcp => self.client.call(&tcp_create(load_balancer_id, listener)).await,
            ListenerProtocol::Udp => self.client.call(&udp_create(load_balancer_id, listener)).await,
            ListenerProtocol::Http => self.client.call(&http_create(load_balancer_id, listener)).await,
            ListenerProtocol::Https => self.client.call(&https_create(load_balancer_id, listener)).await,
            ref other => return Err(unsupported(OP, other)),
        };
        result.map(drop).map_err(cloud_error(OP))
    }

    async fn set_listener(&self, load_balancer_id: &str, change: &ListenerChange) -> CloudResult<()> {
        const OP: &str = "SetLoadBalancerListenerAttribute";
        let result = match change.protocol {
            ListenerProtocol::Tcp => self.client.call(&tcp_set(load_balancer_id, change)).await,
            ListenerProtocol::Udp => self.client.call(&udp_set(load_balancer_id, change)).await,
            ListenerProtocol::Http => self.client.call(&http_set(load_balancer_id, change)).await,
            ListenerProtocol::Https => self.client.call(&https_set(load_balancer_id, change)).await,
            ref other => return Err(unsupported(OP, other)),
        };
        result.map(drop).map_err(cloud_error(OP))
    }

    async fn start_listener(&self, load_balancer_id: &str, port: u16, protocol: &ListenerProtocol) -> CloudResult<()> {
        let request = StartLoadBalancerListener::new(load_balancer_id, port, protocol.clone());
        self.client.call(&request).await.map(drop).map_err(cloud_error("StartLoadBalancerListener"))
    }

    async fn delete_listener(&self, load_balancer_id: &str, port: u16, protocol: &ListenerProtocol) -> CloudResult<()> {
        let request = DeleteLoadBalancerListener::new(load_balancer_id, port, protocol.clone());
        self.client.call(&request).await.map(drop).map_err(cloud_error("DeleteLoadBalancerListener"))
    }

    async fn create_vserver_group(
        &self,
        load_balancer_id: &str,
        name: &str,
        backends: &[Backend],
    ) -> CloudResult<String> {
        let request = group_request(load_balancer_id, name, backends);
        let response = self.client.call(&request).await.map_err(cloud_error("CreateVServerGroup"))?;
        Ok(response.vserver_group_id)
    }

    async fn delete_vserver_group(&self, group_id: &str) -> CloudResult<()> {
        self.client.call(&DeleteVServerGroup::new(group_id)).await.map(drop).map_err(cloud_error("DeleteVServerGroup"))
    }

    async fn add_backends(&self, group_id: &str, backends: &[Backend]) -> CloudResult<()> {
        let request = slb::AddVServerGroupBackendServers {
            vserver_group_id: group_id.to_owned(),
            backend_servers: servers(backends),
        };
        self.client.call(&request).await.map(drop).map_err(cloud_error("AddVServerGroupBackendServers"))
    }

    async fn remove_backends(&self, group_id: &str, backends: &[Backend]) -> CloudResult<()> {
        let request = slb::RemoveVServerGroupBackendServers {
            vserver_group_id: group_id.to_owned(),
            backend_servers: servers(backends),
        };
        self.client.call(&request).await.map(drop).map_err(cloud_error("RemoveVServerGroupBackendServers"))
    }

    async fn set_backends(&self, group_id: &str, backends: &[Backend]) -> CloudResult<()> {
        let request = SetVServerGroupAttribute {
            vserver_group_id: group_id.to_owned(),
            vserver_group_name: None,
            backend_servers: servers(backends),
        };
        self.client.call(&request).await.map(drop).map_err(cloud_error("SetVServerGroupAttribute"))
    }

    async fn find_enis(&self, vpc_id: &str, ips: &[String]) -> CloudResult<std::collections::BTreeMap<String, String>> {
        use aliyun_api::ecs::DescribeNetworkInterfaces;
        let mut found = std::collections::BTreeMap::new();
        for batch in ips.chunks(DescribeNetworkInterfaces::MAX_FILTER_ITEMS) {
            let request = DescribeNetworkInterfaces {
                vpc_id: Some(vpc_id.to_owned()).filter(|v| !v.is_empty()),
                status: Some("InUse".to_owned()),
                private_ip_addresses: batch.to_vec(),
                ..Default::default()
            };
            let enis =
                self.client.collect_next_token(request).await.map_err(cloud_error("DescribeNetworkInterfaces"))?;
            for eni in &enis {
                for ip in eni.private_ips().into_iter().filter(|ip| batch.iter().any(|b| b == ip)) {
                    found.insert(ip.to_owned(), eni.network_interface_id.clone());
                }
            }
        }
        Ok(found)
    }

    async fn describe_domain_extensions(
        &self,
        load_balancer_id: &str,
        port: u16,
    ) -> CloudResult<Vec<ObservedDomainExtension>> {
        let request = slb::DescribeDomainExtensions::new(load_balancer_id, port);
        let response = self.client.call(&request).await.map_err(cloud_error("DescribeDomainExtensions"))?;
        Ok(response
            .domain_extensions
            .into_iter()
            .map(|d| ObservedDomainExtension {
                id: d.domain_extension_id,
                domain: d.domain,
                certificate_id: d.server_certificate_id,
            })
            .collect())
    }

    async fn create_domain_extension(
        &self,
        load_balancer_id: &str,
        port: u16,
        domain: &str,
        certificate_id: &str,
    ) -> CloudResult<()> {
        let request = slb::CreateDomainExtension {
            load_balancer_id: load_balancer_id.to_owned(),
            listener_port: port,
            domain: domain.to_owned(),
            server_certificate_id: Some(certificate_id.to_owned()),
        };
        self.client.call(&request).await.map(drop).map_err(cloud_error("CreateDomainExtension"))
    }

    async fn set_domain_extension(&self, id: &str, certificate_id: &str) -> CloudResult<()> {
        let request = slb::SetDomainExtensionAttribute {
            domain_extension_id: id.to_owned(),
            server_certificate_id: Some(certificate_id.to_owned()),
        };
        self.client.call(&request).await.map(drop).map_err(cloud_error("SetDomainExtensionAttribute"))
    }

    async fn delete_domain_extension(&self, id: &str) -> CloudResult<()> {
        let request = slb::DeleteDomainExtension { domain_extension_id: id.to_owned() };
        match self.client.call(&request).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(cloud_error("DeleteDomainExtension")(e)),
        }
    }

    async fn describe_load_balancer_eips(&self, load_balancer_id: &str) -> CloudResult<Vec<String>> {
        let request = aliyun_api::vpc::DescribeEipAddresses::associated_with("SlbInstance", load_balancer_id);
        let eips = self.client.collect_pages(request).await.map_err(cloud_error("DescribeEipAddresses"))?;
        Ok(eips.into_iter().filter(|e| e.instance_id == load_balancer_id).map(|e| e.ip_address).collect())
    }

    async fn find_acls(&self, name: &str) -> CloudResult<Vec<ObservedAcl>> {
        let request = DescribeAccessControlLists { acl_name: Some(name.to_owned()), ..Default::default() };
        let found = self.client.collect_pages(request).await.map_err(cloud_error("DescribeAccessControlLists"))?;
        let mut acls = Vec::new();
        // The name filter is fuzzy; keep exact matches only.
        for acl in found.into_iter().filter(|a| a.acl_name == name) {
            let entries = self
                .client
                .collect_pages(DescribeAccessControlListAttribute::new(&acl.acl_id))
                .await
                .map_err(cloud_error("DescribeAccessControlListAttribute"))?;
            acls.push(ObservedAcl {
                id: acl.acl_id,
                name: acl.acl_name,
                entries: entries.into_iter().map(|e| e.acl_entry_ip).collect(),
            });
        }
        Ok(acls)
    }

    async fn create_acl(&self, name: &str, tags: &[Tag]) -> CloudResult<String> {
        let request = CreateAccessControlList { acl_name: name.to_owned(), tags: tags.to_vec(), ..Default::default() };
        let response = self.client.call(&request).await.map_err(cloud_error("CreateAccessControlList"))?;
        Ok(response.acl_id)
    }

    async fn add_acl_entries(&self, acl_id: &str, entries: &[String]) -> CloudResult<()> {
        let entries: Vec<AclEntry> = entries.iter().map(AclEntry::new).collect();
        for request in AddAccessControlListEntry::batched(acl_id, &entries) {
            self.client.call(&request).await.map_err(cloud_error("AddAccessControlListEntry"))?;
        }
        Ok(())
    }

    async fn remove_acl_entries(&self, acl_id: &str, entries: &[String]) -> CloudResult<()> {
        let entries: Vec<AclEntry> = entries.iter().map(AclEntry::new).collect();
        for request in RemoveAccessControlListEntry::batched(acl_id, &entries) {
            self.client.call(&request).await.map_err(cloud_error("RemoveAccessControlListEntry"))?;
        }
        Ok(())
    }

    async fn delete_acl(&self, acl_id: &str) -> CloudResult<()> {
        let request = DeleteAccessControlList { acl_id: acl_id.to_owned() };
        match self.client.call(&request).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(cloud_error("DeleteAccessControlList")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use aliyun_api::{
        ApiRequest as _, Params,
        slb::{AclType, HealthCheckMethod, HealthCheckType, ListenerStatus, Scheduler, StickySessionType},
    };

    use super::*;

    fn params<R: aliyun_api::ApiRequest>(r: &R) -> Vec<(String, String)> {
        let mut p = Params::new();
        r.to_params(&mut p);
        p.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    #[test]
    fn listeners_are_read_with_their_managed_attributes() {
        let json = r#"{"LoadBalancerId":"lb-1","ListenerPort":80,"ListenerProtocol":"tcp","Status":"running",
            "Scheduler":"rr","VServerGroupId":"rsp-1","Description":"k8s/80/web/default/c1",
            "TCPListenerConfig":{"HealthCheck":"on","HealthCheckType":"tcp","HealthCheckConnectPort":0,
            "HealthCheckConnectTimeout":5,"HealthCheckInterval":2,"HealthyThreshold":3,"UnhealthyThreshold":3,
            "PersistenceTimeout":0,"EstablishedTimeout":900,"ConnectionDrain":"off","ProxyProtocolV2Enabled":false}}"#;
        let listener: slb::Listener = serde_json::from_str(json).unwrap();
        let observed = observed_listener(listener).unwrap();
        assert_eq!(observed.status, Some(ListenerStatus::Running));
        assert_eq!(observed.vserver_group_id, "rsp-1");
        let s = &observed.settings;
        assert_eq!(s.scheduler, Some(Scheduler::Rr));
        assert_eq!(s.health_check_type, Some(HealthCheckType::Tcp));
        assert_eq!(s.health_check_connect_port, None, "0 means the backend port");
        assert_eq!((s.persistence_timeout, s.established_timeout), (Some(0), Some(900)));
        assert_eq!(s.proxy_protocol_v2, Some(false));
    }

    #[test]
    fn listener_changes_send_only_what_changes_and_switch_groups_on() {
        let change = ListenerChange {
            port: 80,
            protocol: ListenerProtocol::Tcp,
            vserver_group_id: Some("rsp-2".into()),
            description: None,
            settings: ListenerSettings { scheduler: Some(Scheduler::Wrr), ..Default::default() },
        };
        let mut got = params(&tcp_set("lb-1", &change));
        got.sort();
        let want: Vec<(String, String)> = [
            ("ListenerPort", "80"),
            ("LoadBalancerId", "lb-1"),
            ("Scheduler", "wrr"),
            ("VServerGroup", "on"),
            ("VServerGroupId", "rsp-2"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn creation_carries_the_client_token_and_tags() {
        let spec = NewLoadBalancer {
            name: "a123".into(),
            tags: vec![Tag::new("kubernetes.do.not.delete", "a123")],
            client_token: "tok".into(),
            ..Default::default()
        };
        let request = create_request(&spec);
        assert!(request.idempotent());
        let p = params(&request);
        assert!(p.contains(&("ClientToken".into(), "tok".into())));
        assert!(p.contains(&("Tag.1.Key".into(), "kubernetes.do.not.delete".into())));
    }

    #[test]
    fn backends_keep_their_description() {
        let b = Backend::ecs("i-1", 30080, 100, "k8s/30080/web/default/c1");
        let wire = serde_json::to_value(vec![to_server(&b)]).unwrap();
        assert_eq!(
            wire,
            serde_json::json!([{"ServerId":"i-1","Weight":"100","Type":"ecs","Port":"30080","Description":"k8s/30080/web/default/c1"}])
        );
    }

    #[test]
    fn groups_are_created_with_their_first_backends() {
        let b = Backend::ecs("i-1", 30080, 100, "k8s/30080/web/default/c1");
        let got: std::collections::BTreeMap<String, String> =
            params(&group_request("lb-1", "k8s/30080/web/default/c1", &[b])).into_iter().collect();
        assert_eq!(got["VServerGroupName"], "k8s/30080/web/default/c1");
        assert_eq!(
            got["BackendServers"],
            r#"[{"ServerId":"i-1","Weight":"100","Type":"ecs","Port":"30080","Description":"k8s/30080/web/default/c1"}]"#
        );
        let empty = params(&group_request("lb-1", "g", &[]));
        assert!(!empty.iter().any(|(k, _)| k == "BackendServers"), "{empty:?}");
    }

    #[test]
    fn https_listeners_are_created_with_certificate_defaults_and_acl() {
        let listener = NewListener {
            port: 443,
            protocol: ListenerProtocol::Https,
            vserver_group_id: "rsp-1".into(),
            description: "k8s/443/web/default/c1".into(),
            settings: ListenerSettings {
                server_certificate_id: Some("cert-1".into()),
                enable_http2: Some(OnOff::On),
                x_forwarded_for_proto: Some(OnOff::On),
                acl_status: Some(OnOff::On),
                acl_id: Some("acl-1".into()),
                acl_type: Some(slb::AclType::White),
                ..Default::default()
            },
        };
        let got: std::collections::BTreeMap<String, String> =
            params(&https_create("lb-1", &listener)).into_iter().collect();
        for (k, v) in [
            ("ServerCertificateId", "cert-1"),
            ("EnableHttp2", "on"),
            ("XForwardedFor_proto", "on"),
            ("HealthCheck", "off"),
            ("StickySession", "off"),
            ("AclStatus", "on"),
            ("AclId", "acl-1"),
            ("AclType", "white"),
            ("VServerGroupId", "rsp-1"),
            ("Bandwidth", "-1"),
        ] {
            assert_eq!(got.get(k).map(String::as_str), Some(v), "{k} in {got:?}");
        }
        let redirect = NewListener {
            port: 80,
            protocol: ListenerProtocol::Http,
            settings: ListenerSettings { forward_port: Some(443), ..Default::default() },
            ..listener
        };
        let got: std::collections::BTreeMap<String, String> =
            params(&http_create("lb-1", &redirect)).into_iter().collect();
        assert_eq!(got.get("ListenerForward").map(String::as_str), Some("on"));
        assert_eq!(got.get("ForwardPort").map(String::as_str), Some("443"));
    }

    #[test]
    fn layer_7_listeners_are_read_back() {
        let json = r#"{"LoadBalancerId":"lb-1","ListenerPort":443,"ListenerProtocol":"https","Status":"running",
            "AclStatus":"on","AclId":"acl-1","AclType":"white","Description":"k8s/443/web/default/c1",
            "HTTPSListenerConfig":{"ServerCertificateId":"cert-1","EnableHttp2":"on","HealthCheck":"on",
            "HealthCheckURI":"/ready","StickySession":"on","StickySessionType":"insert","CookieTimeout":1800,
            "IdleTimeout":15,"XForwardedFor_proto":"on"}}"#;
        let listener: slb::Listener = serde_json::from_str(json).unwrap();
        let s = observed_listener(listener).unwrap().settings;
        assert_eq!(s.server_certificate_id.as_deref(), Some("cert-1"));
        assert_eq!(s.enable_http2, Some(OnOff::On));
        assert_eq!(s.health_check_uri.as_deref(), Some("/ready"));
        assert_eq!((s.cookie_timeout, s.idle_timeout), (Some(1800), Some(15)));
        assert_eq!(s.x_forwarded_for_proto, Some(OnOff::On));
        assert_eq!((s.acl_status, s.acl_id.as_deref()), (Some(OnOff::On), Some("acl-1")));
    }
    /// Every managed setting set, to see which reach the wire under which name.
    fn every_setting() -> ListenerSettings {
        ListenerSettings {
            scheduler: Some(Scheduler::Wrr),
            persistence_timeout: Some(10),
            established_timeout: Some(500),
            health_check_switch: Some(OnOff::On),
            health_check_type: Some(HealthCheckType::Http),
            health_check_uri: Some("/ready".into()),
            health_check_domain: Some("example.com".into()),
            health_check_http_code: Some("http_2xx".into()),
            health_check_connect_port: Some(8080),
            health_check_connect_timeout: Some(4),
            health_check_interval: Some(6),
            healthy_threshold: Some(4),
            unhealthy_threshold: Some(5),
            connection_drain: Some(OnOff::On),
            connection_drain_timeout: Some(30),
            proxy_protocol_v2: Some(true),
            acl_status: Some(OnOff::On),
            acl_id: Some("acl-9".into()),
            acl_type: Some(AclType::Black),
            health_check_method: Some(HealthCheckMethod::Get),
            health_check_timeout: Some(7),
            sticky_session: Some(OnOff::On),
            sticky_session_type: Some(StickySessionType::Server),
            cookie: Some("SID".into()),
            cookie_timeout: Some(99),
            x_forwarded_for_proto: Some(OnOff::On),
            x_forwarded_for_slb_port: Some(OnOff::Off),
            x_forwarded_for_client_src_port: Some(OnOff::On),
            idle_timeout: Some(11),
            request_timeout: Some(22),
            server_certificate_id: Some("cert-1".into()),
            tls_cipher_policy: Some("tls_cipher_policy_1_2".into()),
            enable_http2: Some(OnOff::Off),
            forward_port: Some(443),
        }
    }

    /// The parameter names of a request, in wire order.
    fn names<R: aliyun_api::ApiRequest>(r: &R) -> String {
        params(r).into_iter().map(|(k, _)| k).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn one_mapping_sends_each_protocol_its_own_attributes_under_its_names() {
        let new = |protocol| NewListener {
            port: 80,
            protocol,
            vserver_group_id: "rsp-1".into(),
            description: "k8s/80/web/default/c1".into(),
            settings: every_setting(),
        };
        let change = |protocol| ListenerChange {
            port: 80,
            protocol,
            vserver_group_id: Some("rsp-2".into()),
            description: Some("k8s/80/web/default/c1".into()),
            settings: every_setting(),
        };
        let (tcp, udp, http, https) =
            (ListenerProtocol::Tcp, ListenerProtocol::Udp, ListenerProtocol::Http, ListenerProtocol::Https);
        let got = [
            names(&tcp_create("lb-1", &new(tcp.clone()))),
            names(&tcp_set("lb-1", &change(tcp))),
            names(&udp_create("lb-1", &new(udp.clone()))),
            names(&udp_set("lb-1", &change(udp))),
            names(&http_create("lb-1", &new(http.clone()))),
            names(&http_set("lb-1", &change(http))),
            names(&https_create("lb-1", &new(https.clone()))),
            names(&https_set("lb-1", &change(https))),
        ];
        let want = [
            "AclId AclStatus AclType Bandwidth ConnectionDrain ConnectionDrainTimeout Description EstablishedTimeout \
             HealthCheckConnectPort HealthCheckConnectTimeout HealthCheckDomain HealthCheckHttpCode HealthCheckSwitch \
             HealthCheckType HealthCheckURI HealthyThreshold ListenerPort LoadBalancerId PersistenceTimeout \
             ProxyProtocolV2Enabled Scheduler UnhealthyThreshold VServerGroupId healthCheckInterval",
            "AclId AclStatus AclType ConnectionDrain ConnectionDrainTimeout Description EstablishedTimeout \
             HealthCheckConnectPort HealthCheckConnectTimeout HealthCheckDomain HealthCheckHttpCode HealthCheckInterval \
             HealthCheckSwitch HealthCheckType HealthCheckURI HealthyThreshold ListenerPort LoadBalancerId \
             PersistenceTimeout ProxyProtocolV2Enabled Scheduler UnhealthyThreshold VServerGroup VServerGroupId",
            "AclId AclStatus AclType Bandwidth Description HealthCheckConnectPort HealthCheckConnectTimeout \
             HealthCheckSwitch HealthyThreshold ListenerPort LoadBalancerId ProxyProtocolV2Enabled Scheduler \
             UnhealthyThreshold VServerGroupId healthCheckInterval",
            "AclId AclStatus AclType Description HealthCheckConnectPort HealthCheckConnectTimeout HealthCheckInterval \
             HealthCheckSwitch HealthyThreshold ListenerPort LoadBalancerId ProxyProtocolV2Enabled Scheduler \
             UnhealthyThreshold VServerGroup VServerGroupId",
            "AclId AclStatus AclType Cookie CookieTimeout Description ForwardPort HealthCheck HealthCheckConnectPort \
             HealthCheckDomain HealthCheckHttpCode HealthCheckInterval HealthCheckMethod HealthCheckTimeout \
             HealthCheckURI HealthyThreshold IdleTimeout ListenerForward ListenerPort LoadBalancerId RequestTimeout \
             Scheduler StickySession StickySessionType UnhealthyThreshold VServerGroupId XForwardedFor_ClientSrcPort \
             XForwardedFor_SLBPORT XForwardedFor_proto",
            "AclId AclStatus AclType Cookie CookieTimeout Description HealthCheck HealthCheckConnectPort \
             HealthCheckDomain HealthCheckHttpCode HealthCheckInterval HealthCheckMethod HealthCheckTimeout \
             HealthCheckURI HealthyThreshold IdleTimeout ListenerPort LoadBalancerId RequestTimeout Scheduler \
             StickySession StickySessionType UnhealthyThreshold VServerGroup VServerGroupId \
             XForwardedFor_ClientSrcPort XForwardedFor_SLBPORT XForwardedFor_proto",
            "AclId AclStatus AclType Bandwidth Cookie CookieTimeout Description EnableHttp2 HealthCheck \
             HealthCheckConnectPort HealthCheckDomain HealthCheckHttpCode HealthCheckInterval HealthCheckMethod \
             HealthCheckTimeout HealthCheckURI HealthyThreshold IdleTimeout ListenerPort LoadBalancerId \
             RequestTimeout Scheduler ServerCertificateId StickySession StickySessionType TLSCipherPolicy \
             UnhealthyThreshold VServerGroupId XForwardedFor_ClientSrcPort XForwardedFor_SLBPORT XForwardedFor_proto",
            "AclId AclStatus AclType Cookie CookieTimeout Description EnableHttp2 HealthCheck HealthCheckConnectPort \
             HealthCheckDomain HealthCheckHttpCode HealthCheckInterval HealthCheckMethod HealthCheckTimeout \
             HealthCheckURI HealthyThreshold IdleTimeout ListenerPort LoadBalancerId RequestTimeout Scheduler \
             ServerCertificateId StickySession StickySessionType TLSCipherPolicy UnhealthyThreshold VServerGroup \
             VServerGroupId XForwardedFor_ClientSrcPort XForwardedFor_SLBPORT XForwardedFor_proto",
        ];
        for (got, want) in got.iter().zip(want) {
            assert_eq!(got, want);
        }
    }
}
