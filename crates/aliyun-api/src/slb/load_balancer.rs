//! Load balancer instances: create, find, describe, change attributes, delete.

use serde::Deserialize;

use super::{
    AddressIpVersion, AddressType, BackendType, InstanceChargeType, InternetChargeType, ListenerProtocol,
    LoadBalancerStatus, ModificationProtectionStatus, NetworkType, OnOff, PayType, RequestIdResponse, ResourceTag,
};
use crate::lenient;
use crate::{
    endpoint::Product,
    params::{Params, Tag},
    request::{ApiRequest, NumberedPage, NumberedRequest},
};

/// Creates a Classic Load Balancer instance (`CreateLoadBalancer`).
///
/// Setting `vswitch_id` makes the instance intranet unless `address_type` says otherwise. With a `client_token`
/// the call is idempotent (the server answers a retry with the instance the first call created), so the client may
/// retry it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateLoadBalancer {
    /// `LoadBalancerName`: 1–80 characters; the incumbent CCM uses `a<service UID without dashes>` cut to 32.
    pub load_balancer_name: Option<String>,
    /// `AddressType`: `internet` or `intranet`.
    pub address_type: Option<AddressType>,
    /// `Address`: a specific private address in the vSwitch (intranet only).
    pub address: Option<String>,
    /// `AddressIPVersion`: `ipv4` (default) or `ipv6`.
    pub address_ip_version: Option<AddressIpVersion>,
    /// `VpcId`.
    pub vpc_id: Option<String>,
    /// `VSwitchId`.
    pub vswitch_id: Option<String>,
    /// `MasterZoneId`.
    pub master_zone_id: Option<String>,
    /// `SlaveZoneId`.
    pub slave_zone_id: Option<String>,
    /// `LoadBalancerSpec` (`slb.s1.small` … `slb.s3.large`); ignored for `PayByCLCU`.
    pub load_balancer_spec: Option<String>,
    /// `InstanceChargeType`: `PayBySpec` (default) or `PayByCLCU`.
    pub instance_charge_type: Option<InstanceChargeType>,
    /// `InternetChargeType`: `paybytraffic` (default) or `paybybandwidth`.
    pub internet_charge_type: Option<InternetChargeType>,
    /// `Bandwidth` in Mbit/s (1–5120), for `paybybandwidth`.
    pub bandwidth: Option<u32>,
    /// `PayType`: `PayOnDemand` or `PrePay`.
    pub pay_type: Option<PayType>,
    /// `PricingCycle` (`month`/`year`) for `PrePay`.
    pub pricing_cycle: Option<String>,
    /// `Duration` (months or years) for `PrePay`.
    pub duration: Option<u32>,
    /// `AutoPay` for `PrePay`.
    pub auto_pay: Option<bool>,
    /// `DeleteProtection`: `on` or `off`.
    pub delete_protection: Option<OnOff>,
    /// `ModificationProtectionStatus`.
    pub modification_protection_status: Option<ModificationProtectionStatus>,
    /// `ModificationProtectionReason` (1–80 characters, starting with a letter).
    pub modification_protection_reason: Option<String>,
    /// `ResourceGroupId`.
    pub resource_group_id: Option<String>,
    /// `Tag.N.Key` / `Tag.N.Value`.
    pub tags: Vec<Tag>,
    /// `ClientToken`: makes the call idempotent.
    pub client_token: Option<String>,
}

impl ApiRequest for CreateLoadBalancer {
    type Response = CreateLoadBalancerResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "CreateLoadBalancer";

    fn to_params(&self, p: &mut Params) {
        p.opt_str("LoadBalancerName", self.load_balancer_name.as_deref())
            .opt_str("AddressType", self.address_type.as_ref().map(AddressType::as_str))
            .opt_str("Address", self.address.as_deref())
            .opt_str("AddressIPVersion", self.address_ip_version.as_ref().map(AddressIpVersion::as_str))
            .opt_str("VpcId", self.vpc_id.as_deref())
            .opt_str("VSwitchId", self.vswitch_id.as_deref())
            .opt_str("MasterZoneId", self.master_zone_id.as_deref())
            .opt_str("SlaveZoneId", self.slave_zone_id.as_deref())
            .opt_str("LoadBalancerSpec", self.load_balancer_spec.as_deref())
            .opt_str("InstanceChargeType", self.instance_charge_type.as_ref().map(InstanceChargeType::as_str))
            .opt_str("InternetChargeType", self.internet_charge_type.as_ref().map(InternetChargeType::as_str))
            .opt("Bandwidth", self.bandwidth)
            .opt_str("PayType", self.pay_type.as_ref().map(PayType::as_str))
            .opt_str("PricingCycle", self.pricing_cycle.as_deref())
            .opt("Duration", self.duration)
            .opt("AutoPay", self.auto_pay)
            .opt_str("DeleteProtection", self.delete_protection.as_ref().map(OnOff::as_str))
            .opt_str(
                "ModificationProtectionStatus",
                self.modification_protection_status.as_ref().map(ModificationProtectionStatus::as_str),
            )
            .opt_str("ModificationProtectionReason", self.modification_protection_reason.as_deref())
            .opt_str("ResourceGroupId", self.resource_group_id.as_deref())
            .tags("Tag", &self.tags)
            .opt_str("ClientToken", self.client_token.as_deref());
    }

    fn idempotent(&self) -> bool {
        self.client_token.as_deref().is_some_and(|t| !t.is_empty())
    }
}

/// Response of [`CreateLoadBalancer`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateLoadBalancerResponse {
    /// Request ID.
    pub request_id: String,
    /// ID of the new instance (`lb-…`).
    pub load_balancer_id: String,
    /// Its name.
    pub load_balancer_name: String,
    /// Its service address.
    pub address: String,
    /// `ipv4` or `ipv6`.
    #[serde(rename = "AddressIPVersion", deserialize_with = "lenient::opt_enum")]
    pub address_ip_version: Option<AddressIpVersion>,
    /// `classic` or `vpc`.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub network_type: Option<NetworkType>,
    /// VPC ID (intranet instances).
    pub vpc_id: String,
    /// vSwitch ID (intranet instances).
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: String,
    /// Resource group ID.
    pub resource_group_id: String,
    /// Billing order ID (a number in some responses).
    #[serde(deserialize_with = "lenient::string")]
    pub order_id: String,
}

/// Lists load balancers with filters (`DescribeLoadBalancers`), one page at a time (`PageNumber`/`PageSize`, at
/// most 100 a page); walk every page with [`crate::Client::collect_pages`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeLoadBalancers {
    /// `LoadBalancerId`: up to 10 IDs, sent comma-separated.
    pub load_balancer_ids: Vec<String>,
    /// `LoadBalancerName`.
    pub load_balancer_name: Option<String>,
    /// `LoadBalancerStatus`.
    pub load_balancer_status: Option<LoadBalancerStatus>,
    /// `Address`.
    pub address: Option<String>,
    /// `AddressType`.
    pub address_type: Option<AddressType>,
    /// `AddressIPVersion`.
    pub address_ip_version: Option<AddressIpVersion>,
    /// `NetworkType`.
    pub network_type: Option<NetworkType>,
    /// `VpcId`.
    pub vpc_id: Option<String>,
    /// `VSwitchId`.
    pub vswitch_id: Option<String>,
    /// `MasterZoneId`.
    pub master_zone_id: Option<String>,
    /// `SlaveZoneId`.
    pub slave_zone_id: Option<String>,
    /// `InternetChargeType`.
    pub internet_charge_type: Option<InternetChargeType>,
    /// `PayType`.
    pub pay_type: Option<PayType>,
    /// `ResourceGroupId`.
    pub resource_group_id: Option<String>,
    /// `ServerId`: instances with this backend server.
    pub server_id: Option<String>,
    /// `ServerIntranetAddress`: instances with a backend at this private address.
    pub server_intranet_address: Option<String>,
    /// `Tags`: a JSON array `[{"TagKey":…,"TagValue":…}]` (up to 10), the filter the incumbent CCM uses to find
    /// its load balancers. Sent only when not empty.
    pub tags: Vec<ResourceTag>,
    /// `Tag.N.Key` / `Tag.N.Value`: the newer, flattened tag filter.
    pub tag: Vec<Tag>,
    /// `PageNumber` (1-based).
    pub page_number: Option<u32>,
    /// `PageSize` (1–100; requires `PageNumber`).
    pub page_size: Option<u32>,
}

impl ApiRequest for DescribeLoadBalancers {
    type Response = DescribeLoadBalancersResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "DescribeLoadBalancers";

    fn to_params(&self, p: &mut Params) {
        let ids = self.load_balancer_ids.iter().filter(|id| !id.is_empty()).cloned().collect::<Vec<_>>().join(",");
        p.opt_str("LoadBalancerId", Some(&ids))
            .opt_str("LoadBalancerName", self.load_balancer_name.as_deref())
            .opt_str("LoadBalancerStatus", self.load_balancer_status.as_ref().map(LoadBalancerStatus::as_str))
            .opt_str("Address", self.address.as_deref())
            .opt_str("AddressType", self.address_type.as_ref().map(AddressType::as_str))
            .opt_str("AddressIPVersion", self.address_ip_version.as_ref().map(AddressIpVersion::as_str))
            .opt_str("NetworkType", self.network_type.as_ref().map(NetworkType::as_str))
            .opt_str("VpcId", self.vpc_id.as_deref())
            .opt_str("VSwitchId", self.vswitch_id.as_deref())
            .opt_str("MasterZoneId", self.master_zone_id.as_deref())
            .opt_str("SlaveZoneId", self.slave_zone_id.as_deref())
            .opt_str("InternetChargeType", self.internet_charge_type.as_ref().map(InternetChargeType::as_str))
            .opt_str("PayType", self.pay_type.as_ref().map(PayType::as_str))
            .opt_str("ResourceGroupId", self.resource_group_id.as_deref())
            .opt_str("ServerId", self.server_id.as_deref())
            .opt_str("ServerIntranetAddress", self.server_intranet_address.as_deref())
            .tags("Tag", &self.tag)
            .opt("PageNumber", self.page_number)
            .opt("PageSize", self.page_size);
        if !self.tags.is_empty() {
            p.json("Tags", &self.tags);
        }
    }
}

impl NumberedRequest for DescribeLoadBalancers {
    const MAX_PAGE_SIZE: u32 = 100;

    fn set_page(&mut self, number: u32, size: u32) {
        self.page_number = Some(number);
        self.page_size = Some(size);
    }
}

/// Response of [`DescribeLoadBalancers`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeLoadBalancersResponse {
    /// Request ID.
    pub request_id: String,
    /// Number of matching instances over all pages.
    #[serde(deserialize_with = "lenient::number")]
    pub total_count: u64,
    /// This page's number.
    #[serde(deserialize_with = "lenient::number")]
    pub page_number: u32,
    /// This page's size.
    #[serde(deserialize_with = "lenient::number")]
    pub page_size: u32,
    /// The instances (`LoadBalancers.LoadBalancer[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub load_balancers: Vec<LoadBalancer>,
}

impl NumberedPage for DescribeLoadBalancersResponse {
    type Item = LoadBalancer;

    fn total_count(&self) -> u64 {
        self.total_count
    }

    fn into_items(self) -> Vec<LoadBalancer> {
        self.load_balancers
    }
}

/// One load balancer as `DescribeLoadBalancers` lists it (also the scalar part of
/// [`DescribeLoadBalancerAttributeResponse`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LoadBalancer {
    /// Instance ID.
    pub load_balancer_id: String,
    /// Name.
    pub load_balancer_name: String,
    /// `active`, `inactive` or `locked`.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub load_balancer_status: Option<LoadBalancerStatus>,
    /// Service address.
    pub address: String,
    /// `internet` or `intranet`.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub address_type: Option<AddressType>,
    /// `ipv4` or `ipv6`.
    #[serde(rename = "AddressIPVersion", deserialize_with = "lenient::opt_enum")]
    pub address_ip_version: Option<AddressIpVersion>,
    /// `classic` or `vpc`.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub network_type: Option<NetworkType>,
    /// VPC ID.
    pub vpc_id: String,
    /// vSwitch ID.
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: String,
    /// Region ID.
    pub region_id: String,
    /// Region alias.
    pub region_id_alias: String,
    /// Primary zone.
    pub master_zone_id: String,
    /// Secondary zone.
    pub slave_zone_id: String,
    /// Specification (`slb.s1.small`, …; empty for shared or CLCU instances).
    pub load_balancer_spec: String,
    /// `PayBySpec` or `PayByCLCU`.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub instance_charge_type: Option<InstanceChargeType>,
    /// `paybytraffic` or `paybybandwidth`.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub internet_charge_type: Option<InternetChargeType>,
    /// Display alias of the internet charge type.
    pub internet_charge_type_alias: String,
    /// Maximum bandwidth (Mbit/s) of a pay-by-bandwidth instance.
    #[serde(deserialize_with = "lenient::number")]
    pub bandwidth: i64,
    /// `PayOnDemand` or `PrePay`.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub pay_type: Option<PayType>,
    /// Creation time (`2024-01-01T00:00Z`).
    pub create_time: String,
    /// Creation time in milliseconds since the epoch.
    #[serde(deserialize_with = "lenient::number")]
    pub create_time_stamp: i64,
    /// Deletion protection.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub delete_protection: Option<OnOff>,
    /// Console modification protection.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub modification_protection_status: Option<ModificationProtectionStatus>,
    /// Why modification protection is on.
    pub modification_protection_reason: String,
    /// Resource group ID.
    pub resource_group_id: String,
    /// Business status (`Normal`, `FinancialLocked`, …).
    pub business_status: String,
    /// Tags (`Tags.Tag[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub tags: Vec<ResourceTag>,
}

impl LoadBalancer {
    /// The value of tag `key`, if set.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
}

/// Describes one load balancer in detail (`DescribeLoadBalancerAttribute`): attributes, listener ports and the
/// default server group's backends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeLoadBalancerAttribute {
    /// `LoadBalancerId`.
    pub load_balancer_id: String,
}

impl DescribeLoadBalancerAttribute {
    /// Describes `load_balancer_id`.
    pub fn new(load_balancer_id: impl Into<String>) -> Self {
        Self { load_balancer_id: load_balancer_id.into() }
    }
}

impl ApiRequest for DescribeLoadBalancerAttribute {
    type Response = DescribeLoadBalancerAttributeResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "DescribeLoadBalancerAttribute";

    fn to_params(&self, p: &mut Params) {
        p.set("LoadBalancerId", &self.load_balancer_id);
    }
}

/// Response of [`DescribeLoadBalancerAttribute`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeLoadBalancerAttributeResponse {
    /// Request ID.
    pub request_id: String,
    /// The attributes shared with [`DescribeLoadBalancers`].
    #[serde(flatten)]
    pub load_balancer: LoadBalancer,
    /// Frontend ports of all listeners (`ListenerPorts.ListenerPort[]`).
    #[serde(deserialize_with = "lenient::number_list")]
    pub listener_ports: Vec<u16>,
    /// Listeners by port and protocol (`ListenerPortsAndProtocol.ListenerPortAndProtocol[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub listener_ports_and_protocol: Vec<ListenerPortAndProtocol>,
    /// The legacy, misspelt form (`ListenerPortsAndProtocal.ListenerPortAndProtocal[]`) older instances still return.
    #[serde(deserialize_with = "lenient::list")]
    pub listener_ports_and_protocal: Vec<ListenerPortAndProtocal>,
    /// Backends of the default server group (`BackendServers.BackendServer[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub backend_servers: Vec<LoadBalancerBackendServer>,
    /// Expiry of a subscription instance.
    pub end_time: String,
    /// Expiry in milliseconds since the epoch.
    #[serde(deserialize_with = "lenient::number")]
    pub end_time_stamp: i64,
    /// Scheduled release time, in milliseconds since the epoch.
    #[serde(deserialize_with = "lenient::number")]
    pub auto_release_time: i64,
}

impl DescribeLoadBalancerAttributeResponse {
    /// Every listener as `(port, protocol)`, from `ListenerPortsAndProtocol`, else from the legacy field.
    pub fn listeners(&self) -> Vec<(u16, ListenerProtocol)> {
        if !self.listener_ports_and_protocol.is_empty() {
            self.listener_ports_and_protocol
                .iter()
                .filter_map(|l| Some((l.listener_port, l.listener_protocol.clone()?)))
                .collect()
        } else {
            self.listener_ports_and_protocal
                .iter()
                .filter_map(|l| Some((l.listener_port, l.listener_protocal.clone()?)))
                .collect()
        }
    }
}

/// One listener in [`DescribeLoadBalancerAttributeResponse::listener_ports_and_protocol`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListenerPortAndProtocol {
    /// Frontend port.
    #[serde(deserialize_with = "lenient::number")]
    pub listener_port: u16,
    /// Protocol.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub listener_protocol: Option<ListenerProtocol>,
    /// Whether HTTP is redirected to HTTPS.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub listener_forward: Option<OnOff>,
    /// Redirect target port.
    #[serde(deserialize_with = "lenient::number")]
    pub forward_port: u16,
    /// Listener description.
    pub description: String,
}

/// One listener in the legacy, misspelt `ListenerPortsAndProtocal` list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListenerPortAndProtocal {
    /// Frontend port.
    #[serde(deserialize_with = "lenient::number")]
    pub listener_port: u16,
    /// Protocol (`ListenerProtocal`, sic).
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub listener_protocal: Option<ListenerProtocol>,
}

/// A backend of the default server group, as `DescribeLoadBalancerAttribute` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LoadBalancerBackendServer {
    /// Instance or ENI ID.
    pub server_id: String,
    /// Weight (0–100).
    #[serde(deserialize_with = "lenient::number")]
    pub weight: u32,
    /// `ecs`, `eni` or `eci`.
    #[serde(deserialize_with = "lenient::opt_enum")]
    pub r#type: Option<BackendType>,
    /// Private address (ENI/ECI backends).
    pub server_ip: String,
    /// VPC of the backend.
    pub vpc_id: String,
    /// Description.
    pub description: String,
}

/// Deletes a load balancer (`DeleteLoadBalancer`). Fails while deletion protection is on; turn it off first with
/// [`SetLoadBalancerDeleteProtection`].
///
/// Not retried by the client: a repeat after a lost answer fails with `InvalidLoadBalancerId.NotFound`, which the
/// caller should treat as success.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteLoadBalancer {
    /// `LoadBalancerId`.
    pub load_balancer_id: String,
}

impl DeleteLoadBalancer {
    /// Deletes `load_balancer_id`.
    pub fn new(load_balancer_id: impl Into<String>) -> Self {
        Self { load_balancer_id: load_balancer_id.into() }
    }
}

impl ApiRequest for DeleteLoadBalancer {
    type Response = RequestIdResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "DeleteLoadBalancer";

    fn to_params(&self, p: &mut Params) {
        p.set("LoadBalancerId", &self.load_balancer_id);
    }
}

/// Turns deletion protection on or off (`SetLoadBalancerDeleteProtection`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetLoadBalancerDeleteProtection {
    /// `LoadBalancerId`.
    pub load_balancer_id: String,
    /// `DeleteProtection`: `on` or `off`.
    pub delete_protection: OnOff,
}

impl ApiRequest for SetLoadBalancerDeleteProtection {
    type Response = RequestIdResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "SetLoadBalancerDeleteProtection";

    fn to_params(&self, p: &mut Params) {
        p.set("LoadBalancerId", &self.load_balancer_id).set("DeleteProtection", self.delete_protection.as_str());
    }

    /// Sets a target value: repeating it leaves the same state.
    fn idempotent(&self) -> bool {
        true
    }
}

/// Sets console modification protection (`SetLoadBalancerModificationProtection`). `ConsoleProtection` blocks
/// changes in the console only; API calls still work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetLoadBalancerModificationProtection {
    /// `LoadBalancerId`.
    pub load_balancer_id: String,
    /// `ModificationProtectionStatus` (required; `None` sends nothing and the server rejects the call).
    pub modification_protection_status: Option<ModificationProtectionStatus>,
    /// `ModificationProtectionReason` (only with `ConsoleProtection`; the incumbent sends `managed.by.ack`).
    pub modification_protection_reason: Option<String>,
}

impl ApiRequest for SetLoadBalancerModificationProtection {
    type Response = RequestIdResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "SetLoadBalancerModificationProtection";

    fn to_params(&self, p: &mut Params) {
        p.set("LoadBalancerId", &self.load_balancer_id)
            .opt_str(
                "ModificationProtectionStatus",
                self.modification_protection_status.as_ref().map(ModificationProtectionStatus::as_str),
            )
            .opt_str("ModificationProtectionReason", self.modification_protection_reason.as_deref());
    }

    /// Sets a target value: repeating it leaves the same state.
    fn idempotent(&self) -> bool {
        true
    }
}

/// Renames a load balancer (`SetLoadBalancerName`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetLoadBalancerName {
    /// `LoadBalancerId`.
    pub load_balancer_id: String,
    /// `LoadBalancerName`: 1–80 characters, starting with a letter.
    pub load_balancer_name: String,
}

impl ApiRequest for SetLoadBalancerName {
    type Response = RequestIdResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "SetLoadBalancerName";

    fn to_params(&self, p: &mut Params) {
        p.set("LoadBalancerId", &self.load_balancer_id).set("LoadBalancerName", &self.load_balancer_name);
    }

    /// Sets a target value: repeating it leaves the same state.
    fn idempotent(&self) -> bool {
        true
    }
}

/// Changes the specification of a pay-by-spec instance (`ModifyLoadBalancerInstanceSpec`).
///
/// Not retried by the client: for subscription instances it places a billing order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifyLoadBalancerInstanceSpec {
    /// `LoadBalancerId`.
    pub load_balancer_id: String,
    /// `LoadBalancerSpec` (`slb.s1.small` … `slb.s3.large`).
    pub load_balancer_spec: String,
    /// `AutoPay` (subscription instances).
    pub auto_pay: Option<bool>,
}

impl ApiRequest for ModifyLoadBalancerInstanceSpec {
    type Response = ModifyLoadBalancerSpecResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "ModifyLoadBalancerInstanceSpec";

    fn to_params(&self, p: &mut Params) {
        p.set("LoadBalancerId", &self.load_balancer_id)
            .set("LoadBalancerSpec", &self.load_balancer_spec)
            .opt("AutoPay", self.auto_pay);
    }
}

/// Changes how an internet instance's traffic is billed, or its bandwidth (`ModifyLoadBalancerInternetSpec`).
///
/// Not retried by the client: for subscription instances it places a billing order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifyLoadBalancerInternetSpec {
    /// `LoadBalancerId`.
    pub load_balancer_id: String,
    /// `InternetChargeType`.
    pub internet_charge_type: Option<InternetChargeType>,
    /// `Bandwidth` in Mbit/s (pay-by-bandwidth only).
    pub bandwidth: Option<u32>,
    /// `AutoPay`.
    pub auto_pay: Option<bool>,
}

impl ApiRequest for ModifyLoadBalancerInternetSpec {
    type Response = ModifyLoadBalancerSpecResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "ModifyLoadBalancerInternetSpec";

    fn to_params(&self, p: &mut Params) {
        p.set("LoadBalancerId", &self.load_balancer_id)
            .opt_str("InternetChargeType", self.internet_charge_type.as_ref().map(InternetChargeType::as_str))
            .opt("Bandwidth", self.bandwidth)
            .opt("AutoPay", self.auto_pay);
    }
}

/// Response of [`ModifyLoadBalancerInstanceSpec`] and [`ModifyLoadBalancerInternetSpec`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyLoadBalancerSpecResponse {
    /// Request ID.
    pub request_id: String,
    /// Billing order ID, when one was placed (a number on the wire).
    #[serde(deserialize_with = "lenient::string")]
    pub order_id: String,
}

/// Switches a pay-as-you-go instance from pay-by-spec to pay-by-CLCU (`ModifyLoadBalancerInstanceChargeType`).
/// The switch cannot be undone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifyLoadBalancerInstanceChargeType {
    /// `LoadBalancerId`.
    pub load_balancer_id: String,
    /// `InstanceChargeType` (required; only `PayByCLCU` is accepted).
    pub instance_charge_type: Option<InstanceChargeType>,
    /// `InternetChargeType` (only `paybytraffic` with `PayByCLCU`).
    pub internet_charge_type: Option<InternetChargeType>,
    /// `LoadBalancerSpec` (not needed when switching to CLCU).
    pub load_balancer_spec: Option<String>,
    /// `Bandwidth` (not needed when switching to CLCU).
    pub bandwidth: Option<u32>,
}

impl ApiRequest for ModifyLoadBalancerInstanceChargeType {
    type Response = RequestIdResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "ModifyLoadBalancerInstanceChargeType";

    fn to_params(&self, p: &mut Params) {
        p.set("LoadBalancerId", &self.load_balancer_id)
            .opt_str("InstanceChargeType", self.instance_charge_type.as_ref().map(InstanceChargeType::as_str))
            .opt_str("InternetChargeType", self.internet_charge_type.as_ref().map(InternetChargeType::as_str))
            .opt_str("LoadBalancerSpec", self.load_balancer_spec.as_deref())
            .opt("Bandwidth", self.bandwidth);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<R: ApiRequest>(r: &R) -> Vec<(String, String)> {
        let mut p = Params::new();
        r.to_params(&mut p);
        p.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        v.sort();
        v
    }

    #[test]
    fn create_load_balancer_like_the_incumbent_ccm() {
        let r = CreateLoadBalancer {
            load_balancer_name: Some("a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6".into()),
            address_type: Some(AddressType::Intranet),
            vpc_id: Some("vpc-1".into()),
            vswitch_id: Some("vsw-1".into()),
            instance_charge_type: Some(InstanceChargeType::PayByClcu),
            delete_protection: Some(OnOff::On),
            modification_protection_status: Some(ModificationProtectionStatus::ConsoleProtection),
            modification_protection_reason: Some("managed.by.ack".into()),
            resource_group_id: Some(String::new()),
            tags: vec![Tag::new("kubernetes.do.not.delete", "a1b2"), Tag::new("ack.aliyun.com", "c1")],
            client_token: Some("0f8fad5b-d9cb-469f-a165-70867728950e".into()),
            ..Default::default()
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("AddressType", "intranet"),
                ("ClientToken", "0f8fad5b-d9cb-469f-a165-70867728950e"),
                ("DeleteProtection", "on"),
                ("InstanceChargeType", "PayByCLCU"),
                ("LoadBalancerName", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"),
                ("ModificationProtectionReason", "managed.by.ack"),
                ("ModificationProtectionStatus", "ConsoleProtection"),
                ("Tag.1.Key", "kubernetes.do.not.delete"),
                ("Tag.1.Value", "a1b2"),
                ("Tag.2.Key", "ack.aliyun.com"),
                ("Tag.2.Value", "c1"),
                ("VSwitchId", "vsw-1"),
                ("VpcId", "vpc-1"),
            ])
        );
        assert!(r.idempotent());
        assert!(!CreateLoadBalancer::default().idempotent());
        assert_eq!(CreateLoadBalancer::ACTION, "CreateLoadBalancer");
    }

    #[test]
    fn create_internet_pay_by_bandwidth() {
        let r = CreateLoadBalancer {
            address_type: Some(AddressType::Internet),
            internet_charge_type: Some(InternetChargeType::PayByBandwidth),
            bandwidth: Some(50),
            load_balancer_spec: Some("slb.s1.small".into()),
            address_ip_version: Some(AddressIpVersion::Ipv4),
            ..Default::default()
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("AddressIPVersion", "ipv4"),
                ("AddressType", "internet"),
                ("Bandwidth", "50"),
                ("InternetChargeType", "paybybandwidth"),
                ("LoadBalancerSpec", "slb.s1.small"),
            ])
        );
    }

    #[test]
    fn describe_load_balancers_by_ownership_tag_sends_tags_json() {
        let mut r = DescribeLoadBalancers {
            tags: vec![ResourceTag::new("kubernetes.do.not.delete", "a5e1b7c0d")],
            ..Default::default()
        };
        r.set_page(2, DescribeLoadBalancers::MAX_PAGE_SIZE);
        assert_eq!(
            params(&r),
            pairs(&[
                ("PageNumber", "2"),
                ("PageSize", "100"),
                ("Tags", r#"[{"TagKey":"kubernetes.do.not.delete","TagValue":"a5e1b7c0d"}]"#),
            ])
        );
        assert!(r.idempotent());
    }

    #[test]
    fn describe_load_balancers_by_ids_and_name() {
        let r = DescribeLoadBalancers {
            load_balancer_ids: vec!["lb-a".into(), "lb-b".into()],
            load_balancer_name: Some("a123".into()),
            address_type: Some(AddressType::Internet),
            tag: vec![Tag::new("k", "v")],
            ..Default::default()
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("AddressType", "internet"),
                ("LoadBalancerId", "lb-a,lb-b"),
                ("LoadBalancerName", "a123"),
                ("Tag.1.Key", "k"),
                ("Tag.1.Value", "v"),
            ])
        );
        assert!(params(&DescribeLoadBalancers::default()).is_empty());
    }

    #[test]
    fn attribute_setters() {
        let r = SetLoadBalancerDeleteProtection { load_balancer_id: "lb-1".into(), delete_protection: OnOff::Off };
        assert_eq!(params(&r), pairs(&[("DeleteProtection", "off"), ("LoadBalancerId", "lb-1")]));
        assert!(r.idempotent());

        let r = SetLoadBalancerModificationProtection {
            load_balancer_id: "lb-1".into(),
            modification_protection_status: Some(ModificationProtectionStatus::NonProtection),
            modification_protection_reason: None,
        };
        assert_eq!(params(&r), pairs(&[("LoadBalancerId", "lb-1"), ("ModificationProtectionStatus", "NonProtection")]));

        let r = SetLoadBalancerName { load_balancer_id: "lb-1".into(), load_balancer_name: "web".into() };
        assert_eq!(params(&r), pairs(&[("LoadBalancerId", "lb-1"), ("LoadBalancerName", "web")]));

        let r = ModifyLoadBalancerInstanceSpec {
            load_balancer_id: "lb-1".into(),
            load_balancer_spec: "slb.s2.small".into(),
            auto_pay: Some(false),
        };
        assert_eq!(
            params(&r),
            pairs(&[("AutoPay", "false"), ("LoadBalancerId", "lb-1"), ("LoadBalancerSpec", "slb.s2.small")])
        );
        assert!(!r.idempotent());

        let r = ModifyLoadBalancerInternetSpec {
            load_balancer_id: "lb-1".into(),
            internet_charge_type: Some(InternetChargeType::PayByTraffic),
            bandwidth: Some(10),
            auto_pay: None,
        };
        assert_eq!(
            params(&r),
            pairs(&[("Bandwidth", "10"), ("InternetChargeType", "paybytraffic"), ("LoadBalancerId", "lb-1")])
        );

        let r = ModifyLoadBalancerInstanceChargeType {
            load_balancer_id: "lb-1".into(),
            instance_charge_type: Some(InstanceChargeType::PayByClcu),
            ..Default::default()
        };
        assert_eq!(params(&r), pairs(&[("InstanceChargeType", "PayByCLCU"), ("LoadBalancerId", "lb-1")]));

        let r = DeleteLoadBalancer::new("lb-1");
        assert_eq!(params(&r), pairs(&[("LoadBalancerId", "lb-1")]));
        assert!(!r.idempotent());
        assert!(DescribeLoadBalancerAttribute::new("lb-1").idempotent());
    }

    #[test]
    fn parses_describe_load_balancers() {
        let body = r#"{
            "RequestId": "6F5E2A0B-1F27-4E2E-9C2D-6C1B8F0A3E11",
            "TotalCount": 2, "PageNumber": 1, "PageSize": 100,
            "LoadBalancers": {"LoadBalancer": [
                {"LoadBalancerId": "lb-bp1o94dp5i6ea", "LoadBalancerName": "a3f1", "LoadBalancerStatus": "active",
                 "Address": "47.96.1.2", "AddressType": "internet", "AddressIPVersion": "ipv4", "NetworkType": "vpc",
                 "VpcId": "", "VSwitchId": "", "RegionId": "cn-hangzhou", "RegionIdAlias": "cn-hangzhou",
                 "MasterZoneId": "cn-hangzhou-b", "SlaveZoneId": "cn-hangzhou-c", "LoadBalancerSpec": "",
                 "InstanceChargeType": "PayByCLCU", "InternetChargeType": "4", "Bandwidth": 5120,
                 "PayType": "PayOnDemand", "CreateTime": "2024-03-01T08:00Z", "CreateTimeStamp": 1709280000000,
                 "DeleteProtection": "on", "ModificationProtectionStatus": "ConsoleProtection",
                 "ModificationProtectionReason": "managed.by.ack", "ResourceGroupId": "rg-acfm",
                 "Tags": {"Tag": [{"TagKey": "kubernetes.do.not.delete", "TagValue": "a3f1"},
                                  {"TagKey": "ack.aliyun.com", "TagValue": "c9"}]}},
                {"LoadBalancerId": "lb-2", "AddressType": "intranet", "VSwitchId": "vsw-1", "Bandwidth": "",
                 "Tags": {"Tag": []}}
            ]}
        }"#;
        let r: DescribeLoadBalancersResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.total_count(), 2);
        let lbs = r.into_items();
        assert_eq!(lbs.len(), 2);
        let lb = &lbs[0];
        assert_eq!(lb.load_balancer_id, "lb-bp1o94dp5i6ea");
        assert_eq!(lb.load_balancer_status, Some(LoadBalancerStatus::Active));
        assert_eq!(lb.address_type, Some(AddressType::Internet));
        assert_eq!(lb.instance_charge_type, Some(InstanceChargeType::PayByClcu));
        assert_eq!(lb.internet_charge_type, Some(InternetChargeType::Other("4".into())));
        assert_eq!(lb.bandwidth, 5120);
        assert_eq!(lb.create_time_stamp, 1_709_280_000_000);
        assert_eq!(lb.delete_protection, Some(OnOff::On));
        assert_eq!(lb.tag("ack.aliyun.com"), Some("c9"));
        assert_eq!(lbs[1].vswitch_id, "vsw-1");
        assert_eq!(lbs[1].bandwidth, 0);
        assert!(lbs[1].tags.is_empty());
        assert_eq!(lbs[1].load_balancer_status, None);

        let empty: DescribeLoadBalancersResponse = serde_json::from_str(
            r#"{"RequestId":"x","TotalCount":0,"PageNumber":1,"PageSize":10,"LoadBalancers":{"LoadBalancer":[]}}"#,
        )
        .unwrap();
        assert!(empty.load_balancers.is_empty());
    }

    #[test]
    fn parses_describe_load_balancer_attribute() {
        let body = r#"{
            "RequestId": "E0B4C6D6-1111-4E4A-8E9B-2C2C2C2C2C2C",
            "LoadBalancerId": "lb-1", "LoadBalancerName": "a3f1", "LoadBalancerStatus": "active",
            "Address": "192.168.0.10", "AddressType": "intranet", "NetworkType": "vpc", "VpcId": "vpc-1",
            "VSwitchId": "vsw-1", "DeleteProtection": "off", "EndTimeStamp": 32493801600000,
            "ListenerPorts": {"ListenerPort": [80, 443]},
            "ListenerPortsAndProtocol": {"ListenerPortAndProtocol": [
                {"ListenerPort": 80, "ListenerProtocol": "tcp", "Description": "k8s/80/web/default/c1"},
                {"ListenerPort": 443, "ListenerProtocol": "https", "ListenerForward": "off"}
            ]},
            "ListenerPortsAndProtocal": {"ListenerPortAndProtocal": [
                {"ListenerPort": 80, "ListenerProtocal": "tcp"}, {"ListenerPort": 443, "ListenerProtocal": "https"}
            ]},
            "BackendServers": {"BackendServer": [
                {"ServerId": "i-1", "Weight": 100, "Type": "ecs", "ServerIp": "192.168.0.5", "VpcId": "vpc-1"},
                {"ServerId": "eni-2", "Weight": "50", "Type": "eni", "ServerIp": "192.168.0.6"}
            ]},
            "Tags": {"Tag": [{"TagKey": "k", "TagValue": "v"}]}
        }"#;
        let r: DescribeLoadBalancerAttributeResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.request_id, "E0B4C6D6-1111-4E4A-8E9B-2C2C2C2C2C2C");
        assert_eq!(r.load_balancer.load_balancer_id, "lb-1");
        assert_eq!(r.load_balancer.vswitch_id, "vsw-1");
        assert_eq!(r.load_balancer.tag("k"), Some("v"));
        assert_eq!(r.listener_ports, [80, 443]);
        assert_eq!(r.listeners(), [(80, ListenerProtocol::Tcp), (443, ListenerProtocol::Https)]);
        assert_eq!(r.listener_ports_and_protocol[0].description, "k8s/80/web/default/c1");
        assert_eq!(r.listener_ports_and_protocal.len(), 2);
        assert_eq!(r.backend_servers[1].weight, 50);
        assert_eq!(r.backend_servers[1].r#type, Some(BackendType::Eni));
        assert_eq!(r.end_time_stamp, 32_493_801_600_000);

        // A legacy-only answer with empty lists.
        let r: DescribeLoadBalancerAttributeResponse = serde_json::from_str(
            r#"{"LoadBalancerId":"lb-2","ListenerPorts":{"ListenerPort":[]},
                "ListenerPortsAndProtocol":{"ListenerPortAndProtocol":[]},
                "ListenerPortsAndProtocal":{"ListenerPortAndProtocal":[{"ListenerPort":"53","ListenerProtocal":"udp"}]},
                "BackendServers":{"BackendServer":[]}}"#,
        )
        .unwrap();
        assert_eq!(r.listeners(), [(53, ListenerProtocol::Udp)]);
        assert!(r.backend_servers.is_empty());
    }

    #[test]
    fn parses_create_load_balancer() {
        let r: CreateLoadBalancerResponse = serde_json::from_str(
            r#"{"RequestId":"365F4154","LoadBalancerId":"lb-bp1h66tp5uat8","Address":"42.250.6.36",
                "LoadBalancerName":"a3f1","VpcId":"vpc-1","VSwitchId":"vsw-1","NetworkType":"vpc",
                "AddressIPVersion":"ipv4","ResourceGroupId":"rg-1","OrderId":20230000001}"#,
        )
        .unwrap();
        assert_eq!(r.load_balancer_id, "lb-bp1h66tp5uat8");
        assert_eq!(r.address, "42.250.6.36");
        assert_eq!(r.vswitch_id, "vsw-1");
        assert_eq!(r.order_id, "20230000001");
        assert_eq!(r.network_type, Some(NetworkType::Vpc));
    }
}
