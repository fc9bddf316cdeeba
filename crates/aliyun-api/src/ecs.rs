//! Typed ECS (`2014-05-26`) calls: instances and elastic network interfaces.
//!
//! Responses follow the API's JSON as it is sent, XML heritage included: a list is an object holding one key with
//! the array (`"Instances": {"Instance": [...]}`), and ECS tags are `TagKey`/`TagValue`. Every field has a default,
//! so fields the server leaves out never fail a parse, and numbers and booleans are read leniently.
//!
//! This module also holds the crate-private helpers the VPC and STS models share: the `lenient` deserializers, the
//! `list_wrapper!` macro and `tag_filters`.

use serde::Deserialize;

use crate::{
    endpoint::Product,
    lenient,
    params::{Params, Tag},
    request::{ApiRequest, NextTokenPage, NextTokenRequest},
};

// ------------------------------------------------------------------------------------------------------------------
// Shared helpers (also used by `vpc` and `sts`).
// ------------------------------------------------------------------------------------------------------------------

/// Tolerant field deserializers for the API's loosely typed JSON.
///
/// The gateway was built around XML, and some numbers come back as strings (`"TotalCount": "3"`), some booleans as
/// integers (`"Enabled": 1`), and an empty list sometimes as `null` or `""`. These functions accept every such
/// spelling and still reject values of a clearly wrong shape (an object where a number belongs).
/// Declares the XML-heritage wrapper of a list: a struct with one field holding the array found under `$key`
/// (`list_wrapper!(InstanceList { "Instance" => instance: Instance })` reads `{"Instance": [...]}`).
macro_rules! list_wrapper {
    ($(#[$meta:meta])* $name:ident { $key:literal => $field:ident : $item:ty }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
        #[serde(default)]
        pub struct $name {
            #[doc = concat!("The items, found under the JSON key `", $key, "`.")]
            #[serde(rename = $key, deserialize_with = "crate::lenient::list")]
            pub $field: Vec<$item>,
        }

        impl $name {
            /// Iterates over the items.
            pub fn iter(&self) -> std::slice::Iter<'_, $item> {
                self.$field.iter()
            }

            /// Number of items.
            pub fn len(&self) -> usize {
                self.$field.len()
            }

            /// Whether there are no items.
            pub fn is_empty(&self) -> bool {
                self.$field.is_empty()
            }
        }

        impl<'a> IntoIterator for &'a $name {
            type Item = &'a $item;
            type IntoIter = std::slice::Iter<'a, $item>;

            fn into_iter(self) -> Self::IntoIter {
                self.$field.iter()
            }
        }
    };
}
pub(crate) use list_wrapper;

/// Flattens tag filters as `Name.N.Key` / `Name.N.Value`, leaving out empty values so that a tag with an empty
/// value filters by key alone (as the Go SDK behaves: it never sends empty parameters).
pub(crate) fn tag_filters(params: &mut Params, name: &str, tags: &[Tag]) {
    params.repeat_fields(name, tags, |t| {
        vec![("Key", Some(t.key.clone())), ("Value", Some(t.value.clone()).filter(|v| !v.is_empty()))]
    });
}

/// Sets `name` to `true`/`false` when `value` is `Some`.
pub(crate) fn opt_bool(params: &mut Params, name: &str, value: Option<bool>) {
    params.opt(name, value);
}

/// Sets `name=true` only when `value` is true (for `DryRun`: the default, false, is never sent).
pub(crate) fn flag(params: &mut Params, name: &str, value: bool) {
    if value {
        params.set(name, "true");
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Shared ECS response pieces.
// ------------------------------------------------------------------------------------------------------------------

/// A resource tag in an ECS or VPC response: ECS spells it `TagKey`/`TagValue`, VPC `Key`/`Value`; both are read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ResponseTag {
    /// Tag key.
    #[serde(rename = "TagKey", alias = "Key")]
    pub key: String,
    /// Tag value.
    #[serde(rename = "TagValue", alias = "Value")]
    pub value: String,
}

impl From<ResponseTag> for Tag {
    fn from(t: ResponseTag) -> Self {
        Tag::new(t.key, t.value)
    }
}

list_wrapper!(
    /// `Tags: {Tag: [...]}` of an ECS or VPC resource.
    ResponseTags { "Tag" => tag: ResponseTag }
);

impl ResponseTags {
    /// The value of tag `key`, if the resource carries it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.tag.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
}

list_wrapper!(
    /// A list of IP addresses: `{IpAddress: [...]}`.
    IpAddressList { "IpAddress" => ip_address: String }
);

list_wrapper!(
    /// Security group IDs: `{SecurityGroupId: [...]}`.
    SecurityGroupIdList { "SecurityGroupId" => security_group_id: String }
);

/// One IPv6 address of a network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ipv6Set {
    /// The IPv6 address.
    pub ipv6_address: String,
}

list_wrapper!(
    /// `Ipv6Sets: {Ipv6Set: [...]}`.
    Ipv6SetList { "Ipv6Set" => ipv6_set: Ipv6Set }
);

/// A public IP address associated with a private IP of a network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AssociatedPublicIp {
    /// The public (EIP) address.
    pub public_ip_address: String,
    /// The EIP's allocation ID.
    pub allocation_id: String,
}

/// One private IP address of a network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PrivateIpSet {
    /// The private IP address.
    pub private_ip_address: String,
    /// Whether this is the interface's primary private IP.
    #[serde(deserialize_with = "lenient::boolean")]
    pub primary: bool,
    /// The EIP associated with this address, if any.
    pub associated_public_ip: AssociatedPublicIp,
}

list_wrapper!(
    /// `PrivateIpSets: {PrivateIpSet: [...]}`.
    PrivateIpSetList { "PrivateIpSet" => private_ip_set: PrivateIpSet }
);

/// Why a resource is locked (`OperationLocks: {LockReason: [{LockReason}]}`), e.g. `financial` (overdue payment).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LockReason {
    /// The lock reason (`financial`, `security`, `Recycling`, ...).
    pub lock_reason: String,
}

list_wrapper!(
    /// `OperationLocks: {LockReason: [...]}`.
    OperationLockList { "LockReason" => lock_reason: LockReason }
);

// ------------------------------------------------------------------------------------------------------------------
// DescribeInstances
// ------------------------------------------------------------------------------------------------------------------

/// Lists ECS instances of the client's region, filtered by IDs, IPs, VPC, tags and state; `NextToken` paging.
///
/// The list filters (`instance_ids`, `private_ip_addresses`, `public_ip_addresses`, `eip_addresses`) are sent as
/// one JSON array each (`InstanceIds=["i-a","i-b"]`), up to 100 entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeInstances {
    /// Instance IDs (`InstanceIds`, JSON array, at most 100).
    pub instance_ids: Vec<String>,
    /// Primary private IPs of VPC instances (`PrivateIpAddresses`, JSON array, at most 100).
    pub private_ip_addresses: Vec<String>,
    /// Public IPs of classic-network or assigned-public-IP instances (`PublicIpAddresses`, JSON array).
    pub public_ip_addresses: Vec<String>,
    /// EIPs bound to instances (`EipAddresses`, JSON array).
    pub eip_addresses: Vec<String>,
    /// VPC the instances are in.
    pub vpc_id: Option<String>,
    /// vSwitch the instances are in.
    pub vswitch_id: Option<String>,
    /// Zone the instances are in.
    pub zone_id: Option<String>,
    /// Instance name; `*` wildcards allowed by the API.
    pub instance_name: Option<String>,
    /// `vpc` or `classic`.
    pub instance_network_type: Option<String>,
    /// Instance state: `Pending`, `Running`, `Starting`, `Stopping`, `Stopped`.
    pub status: Option<String>,
    /// Security group the instances belong to.
    pub security_group_id: Option<String>,
    /// Resource group of the instances.
    pub resource_group_id: Option<String>,
    /// Tag filters (`Tag.N.Key`, `Tag.N.Value`); an empty value filters by key alone.
    pub tags: Vec<Tag>,
    /// Extra attributes to return (`AdditionalAttributes.N`), e.g. `NETWORK_PRIMARY_ENI_IP`.
    pub additional_attributes: Vec<String>,
    /// Only check the request and permissions (`DryRun=true`); the API answers with `DryRunOperation`.
    pub dry_run: bool,
    /// Page token from the previous page.
    pub next_token: Option<String>,
    /// Page size, 1 to 100 (the API raises values under 10 to 10).
    pub max_results: Option<u32>,
}

impl DescribeInstances {
    /// The API's largest `MaxResults`, and the most IDs one `InstanceIds` filter may hold.
    pub const MAX_RESULTS: u32 = 100;

    /// A request for the given instance IDs, with the largest page size.
    pub fn by_ids(ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            instance_ids: ids.into_iter().map(Into::into).collect(),
            max_results: Some(Self::MAX_RESULTS),
            ..Self::default()
        }
    }
}

impl ApiRequest for DescribeInstances {
    type Response = DescribeInstancesResponse;
    const PRODUCT: Product = Product::Ecs;
    const ACTION: &'static str = "DescribeInstances";

    fn to_params(&self, p: &mut Params) {
        for (name, list) in [
            ("InstanceIds", &self.instance_ids),
            ("PrivateIpAddresses", &self.private_ip_addresses),
            ("PublicIpAddresses", &self.public_ip_addresses),
            ("EipAddresses", &self.eip_addresses),
        ] {
            if !list.is_empty() {
                p.json(name, list);
            }
        }
        p.opt_str("VpcId", self.vpc_id.as_deref())
            .opt_str("VSwitchId", self.vswitch_id.as_deref())
            .opt_str("ZoneId", self.zone_id.as_deref())
            .opt_str("InstanceName", self.instance_name.as_deref())
            .opt_str("InstanceNetworkType", self.instance_network_type.as_deref())
            .opt_str("Status", self.status.as_deref())
            .opt_str("SecurityGroupId", self.security_group_id.as_deref())
            .opt_str("ResourceGroupId", self.resource_group_id.as_deref())
            .opt_str("NextToken", self.next_token.as_deref())
            .opt("MaxResults", self.max_results)
            .repeat("AdditionalAttributes", &self.additional_attributes);
        tag_filters(p, "Tag", &self.tags);
        flag(p, "DryRun", self.dry_run);
    }
}

impl NextTokenRequest for DescribeInstances {
    fn set_next_token(&mut self, token: Option<String>) {
        self.next_token = token;
    }
}

/// A page of [`DescribeInstances`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeInstancesResponse {
    /// Request ID.
    pub request_id: String,
    /// Number of matching instances.
    #[serde(deserialize_with = "lenient::number")]
    pub total_count: u64,
    /// Token of the next page; empty on the last page.
    pub next_token: String,
    /// Page number (deprecated `PageNumber` paging).
    #[serde(deserialize_with = "lenient::number")]
    pub page_number: u32,
    /// Page size.
    #[serde(deserialize_with = "lenient::number")]
    pub page_size: u32,
    /// The instances: `Instances.Instance[]`.
    pub instances: InstanceList,
}

impl NextTokenPage for DescribeInstancesResponse {
    type Item = Instance;

    fn next_token(&self) -> Option<&str> {
        Some(self.next_token.as_str()).filter(|t| !t.is_empty())
    }

    fn into_items(self) -> Vec<Instance> {
        self.instances.instance
    }
}

list_wrapper!(
    /// `Instances: {Instance: [...]}`.
    InstanceList { "Instance" => instance: Instance }
);

/// One ECS instance as `DescribeInstances` returns it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Instance {
    /// Instance ID (`i-...`).
    pub instance_id: String,
    /// Instance name.
    pub instance_name: String,
    /// Host name of the guest OS.
    pub host_name: String,
    /// Description.
    pub description: String,
    /// Region (`cn-hangzhou`).
    pub region_id: String,
    /// Zone (`cn-hangzhou-h`).
    pub zone_id: String,
    /// Instance type (`ecs.g7.large`).
    pub instance_type: String,
    /// Instance type family (`ecs.g7`).
    pub instance_type_family: String,
    /// State: `Pending`, `Running`, `Starting`, `Stopping`, `Stopped`.
    pub status: String,
    /// `vpc` or `classic`.
    pub instance_network_type: String,
    /// Billing: `PrePaid` or `PostPaid`.
    pub instance_charge_type: String,
    /// Internet billing: `PayByBandwidth` or `PayByTraffic`.
    pub internet_charge_type: String,
    /// Spot policy: `NoSpot`, `SpotWithPriceLimit`, `SpotAsPriceGo`.
    pub spot_strategy: String,
    /// Whether a stopped instance keeps being billed: `KeepCharging`, `StopCharging`, `Not-applicable`.
    pub stopped_mode: String,
    /// Creation time (`2017-12-10T04:04Z`).
    pub creation_time: String,
    /// Expiry time of subscription instances.
    pub expired_time: String,
    /// vCPU count.
    #[serde(deserialize_with = "lenient::number")]
    pub cpu: u32,
    /// Memory in MiB.
    #[serde(deserialize_with = "lenient::number")]
    pub memory: u64,
    /// Image ID.
    pub image_id: String,
    /// OS type: `linux` or `windows`.
    #[serde(rename = "OSType", alias = "OsType")]
    pub os_type: String,
    /// OS name.
    #[serde(rename = "OSName")]
    pub os_name: String,
    /// Resource group.
    pub resource_group_id: String,
    /// Whether release protection is on.
    #[serde(deserialize_with = "lenient::boolean")]
    pub deletion_protection: bool,
    /// VPC placement and private IPs.
    pub vpc_attributes: VpcAttributes,
    /// Public IPs assigned by ECS (classic network, or a VPC instance with a fixed public IP).
    pub public_ip_address: IpAddressList,
    /// Private IPs of a classic-network instance.
    pub inner_ip_address: IpAddressList,
    /// The EIP bound to the instance, if any.
    pub eip_address: InstanceEipAddress,
    /// Network interfaces (`NetworkInterfaces.NetworkInterface[]`).
    pub network_interfaces: InstanceNetworkInterfaceList,
    /// Security group IDs.
    pub security_group_ids: SecurityGroupIdList,
    /// Tags (`Tags.Tag[]` of `TagKey`/`TagValue`).
    pub tags: ResponseTags,
    /// Locks on the instance (overdue payment, security).
    pub operation_locks: OperationLockList,
}

impl Instance {
    /// The instance's private IPs: the VPC private IPs, then the classic-network inner IPs.
    pub fn private_ips(&self) -> Vec<&str> {
        self.vpc_attributes
            .private_ip_address
            .iter()
            .chain(self.inner_ip_address.iter())
            .map(String::as_str)
            .filter(|ip| !ip.is_empty())
            .collect()
    }

    /// The instance's public IPs: ECS-assigned public IPs, then the bound EIP.
    pub fn public_ips(&self) -> Vec<&str> {
        self.public_ip_address
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(self.eip_address.ip_address.as_str()))
            .filter(|ip| !ip.is_empty())
            .collect()
    }

    /// The primary network interface, when the response lists interfaces.
    pub fn primary_network_interface(&self) -> Option<&InstanceNetworkInterface> {
        self.network_interfaces.iter().find(|n| n.interface_type.eq_ignore_ascii_case("Primary"))
    }

    /// The IPv6 addresses of the primary network interface.
    pub fn primary_ipv6_addresses(&self) -> Vec<&str> {
        self.primary_network_interface()
            .map(|n| n.ipv6_sets.iter().map(|s| s.ipv6_address.as_str()).collect())
            .unwrap_or_default()
    }

    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key)
    }

    /// Whether the instance is `Running`.
    pub fn is_running(&self) -> bool {
        self.status == "Running"
    }
}

/// `VpcAttributes` of an instance.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VpcAttributes {
    /// VPC ID.
    pub vpc_id: String,
    /// vSwitch ID.
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: String,
    /// NAT IP of a classic-link instance.
    pub nat_ip_address: String,
    /// Private IPs (`PrivateIpAddress.IpAddress[]`).
    pub private_ip_address: IpAddressList,
}

/// `EipAddress` of an instance (empty fields when none is bound).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceEipAddress {
    /// The EIP.
    pub ip_address: String,
    /// The EIP's allocation ID.
    pub allocation_id: String,
    /// Bandwidth in Mbit/s.
    #[serde(deserialize_with = "lenient::number")]
    pub bandwidth: u32,
    /// EIP billing: `PayByBandwidth` or `PayByTraffic`.
    pub internet_charge_type: String,
    /// Whether the EIP can be disassociated.
    #[serde(deserialize_with = "lenient::boolean")]
    pub is_support_unassociate: bool,
}

list_wrapper!(
    /// `NetworkInterfaces: {NetworkInterface: [...]}` of an instance.
    InstanceNetworkInterfaceList { "NetworkInterface" => network_interface: InstanceNetworkInterface }
);

/// A network interface as `DescribeInstances` lists it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceNetworkInterface {
    /// ENI ID (`eni-...`).
    pub network_interface_id: String,
    /// `Primary` or `Secondary`.
    #[serde(rename = "Type")]
    pub interface_type: String,
    /// MAC address.
    pub mac_address: String,
    /// Primary private IP.
    pub primary_ip_address: String,
    /// Private IPs.
    pub private_ip_sets: PrivateIpSetList,
    /// IPv6 addresses.
    pub ipv6_sets: Ipv6SetList,
}

// ------------------------------------------------------------------------------------------------------------------
// DescribeNetworkInterfaces
// ------------------------------------------------------------------------------------------------------------------

/// Lists elastic network interfaces (ENIs) by IDs, private IPs, instance, VPC and state; `NextToken` paging.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeNetworkInterfaces {
    /// ENI IDs (`NetworkInterfaceId.N`, at most 100).
    pub network_interface_ids: Vec<String>,
    /// Private IPv4 addresses (`PrivateIpAddress.N`, at most 100).
    pub private_ip_addresses: Vec<String>,
    /// IPv6 addresses (`Ipv6Address.N`).
    pub ipv6_addresses: Vec<String>,
    /// Primary private IP of the ENI.
    pub primary_ip_address: Option<String>,
    /// Instance the ENIs are attached to.
    pub instance_id: Option<String>,
    /// VPC of the ENIs.
    pub vpc_id: Option<String>,
    /// vSwitch of the ENIs.
    pub vswitch_id: Option<String>,
    /// ENI name.
    pub network_interface_name: Option<String>,
    /// Security group the ENIs belong to.
    pub security_group_id: Option<String>,
    /// `Primary` or `Secondary` (`Type`).
    pub interface_type: Option<String>,
    /// `Available`, `Attaching`, `InUse`, `Detaching`, `Deleting`.
    pub status: Option<String>,
    /// Whether to list ENIs managed by other cloud services.
    pub service_managed: Option<bool>,
    /// Resource group.
    pub resource_group_id: Option<String>,
    /// Tag filters; an empty value filters by key alone.
    pub tags: Vec<Tag>,
    /// Page token from the previous page.
    pub next_token: Option<String>,
    /// Page size, 10 to 500.
    pub max_results: Option<u32>,
}

impl DescribeNetworkInterfaces {
    /// The most IDs or IPs one list filter may hold.
    pub const MAX_FILTER_ITEMS: usize = 100;

    /// A request for the given ENI IDs.
    pub fn by_ids(ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { network_interface_ids: ids.into_iter().map(Into::into).collect(), ..Self::default() }
    }
}

impl ApiRequest for DescribeNetworkInterfaces {
    type Response = DescribeNetworkInterfacesResponse;
    const PRODUCT: Product = Product::Ecs;
    const ACTION: &'static str = "DescribeNetworkInterfaces";

    fn to_params(&self, p: &mut Params) {
        p.repeat("NetworkInterfaceId", &self.network_interface_ids)
            .repeat("PrivateIpAddress", &self.private_ip_addresses)
            .repeat("Ipv6Address", &self.ipv6_addresses)
            .opt_str("PrimaryIpAddress", self.primary_ip_address.as_deref())
            .opt_str("InstanceId", self.instance_id.as_deref())
            .opt_str("VpcId", self.vpc_id.as_deref())
            .opt_str("VSwitchId", self.vswitch_id.as_deref())
            .opt_str("NetworkInterfaceName", self.network_interface_name.as_deref())
            .opt_str("SecurityGroupId", self.security_group_id.as_deref())
            .opt_str("Type", self.interface_type.as_deref())
            .opt_str("Status", self.status.as_deref())
            .opt_str("ResourceGroupId", self.resource_group_id.as_deref())
            .opt_str("NextToken", self.next_token.as_deref())
            .opt("MaxResults", self.max_results);
        opt_bool(p, "ServiceManaged", self.service_managed);
        tag_filters(p, "Tag", &self.tags);
    }
}

impl NextTokenRequest for DescribeNetworkInterfaces {
    fn set_next_token(&mut self, token: Option<String>) {
        self.next_token = token;
    }
}

/// A page of [`DescribeNetworkInterfaces`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeNetworkInterfacesResponse {
    /// Request ID.
    pub request_id: String,
    /// Number of matching ENIs.
    #[serde(deserialize_with = "lenient::number")]
    pub total_count: u64,
    /// Token of the next page; empty on the last page.
    pub next_token: String,
    /// Page number (deprecated paging).
    #[serde(deserialize_with = "lenient::number")]
    pub page_number: u32,
    /// Page size.
    #[serde(deserialize_with = "lenient::number")]
    pub page_size: u32,
    /// The ENIs: `NetworkInterfaceSets.NetworkInterfaceSet[]`.
    pub network_interface_sets: NetworkInterfaceSetList,
}

impl NextTokenPage for DescribeNetworkInterfacesResponse {
    type Item = NetworkInterfaceSet;

    fn next_token(&self) -> Option<&str> {
        Some(self.next_token.as_str()).filter(|t| !t.is_empty())
    }

    fn into_items(self) -> Vec<NetworkInterfaceSet> {
        self.network_interface_sets.network_interface_set
    }
}

list_wrapper!(
    /// `NetworkInterfaceSets: {NetworkInterfaceSet: [...]}`.
    NetworkInterfaceSetList { "NetworkInterfaceSet" => network_interface_set: NetworkInterfaceSet }
);

/// One ENI as `DescribeNetworkInterfaces` returns it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkInterfaceSet {
    /// ENI ID (`eni-...`).
    pub network_interface_id: String,
    /// ENI name.
    pub network_interface_name: String,
    /// Description.
    pub description: String,
    /// `Primary` or `Secondary`.
    #[serde(rename = "Type")]
    pub interface_type: String,
    /// `Available`, `Attaching`, `InUse`, `Detaching`, `Deleting`.
    pub status: String,
    /// VPC ID.
    pub vpc_id: String,
    /// vSwitch ID.
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: String,
    /// Zone.
    pub zone_id: String,
    /// Instance the ENI is attached to.
    pub instance_id: String,
    /// MAC address.
    pub mac_address: String,
    /// Primary private IP.
    pub private_ip_address: String,
    /// Creation time.
    pub creation_time: String,
    /// Resource group.
    pub resource_group_id: String,
    /// Whether another cloud service manages the ENI.
    #[serde(deserialize_with = "lenient::boolean")]
    pub service_managed: bool,
    /// Whether source/destination checking is on (must be off for a node that routes pod traffic).
    #[serde(deserialize_with = "lenient::boolean")]
    pub source_dest_check: bool,
    /// Number of queues.
    #[serde(deserialize_with = "lenient::number")]
    pub queue_number: u32,
    /// Security group IDs.
    pub security_group_ids: SecurityGroupIdList,
    /// EIP associated with the primary private IP.
    pub associated_public_ip: AssociatedPublicIp,
    /// Attachment details (trunk/multi-card instances).
    pub attachment: NetworkInterfaceAttachment,
    /// Private IPs.
    pub private_ip_sets: PrivateIpSetList,
    /// IPv6 addresses.
    pub ipv6_sets: Ipv6SetList,
    /// Tags (`TagKey`/`TagValue`).
    pub tags: ResponseTags,
}

impl NetworkInterfaceSet {
    /// Every private IPv4 of the ENI (from `PrivateIpSets`, or the primary IP when the sets are absent).
    pub fn private_ips(&self) -> Vec<&str> {
        let from_sets: Vec<&str> =
            self.private_ip_sets.iter().map(|s| s.private_ip_address.as_str()).filter(|ip| !ip.is_empty()).collect();
        if from_sets.is_empty() && !self.private_ip_address.is_empty() {
            vec![self.private_ip_address.as_str()]
        } else {
            from_sets
        }
    }

    /// The ENI's IPv6 addresses.
    pub fn ipv6_addresses(&self) -> Vec<&str> {
        self.ipv6_sets.iter().map(|s| s.ipv6_address.as_str()).filter(|ip| !ip.is_empty()).collect()
    }

    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key)
    }
}

/// `Attachment` of an ENI.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkInterfaceAttachment {
    /// Instance the ENI is attached to.
    pub instance_id: String,
    /// Device index on the instance.
    #[serde(deserialize_with = "lenient::number")]
    pub device_index: u32,
    /// Trunk ENI ID, for member ENIs.
    pub trunk_network_interface_id: String,
}

// ------------------------------------------------------------------------------------------------------------------
// ModifyNetworkInterfaceAttribute
// ------------------------------------------------------------------------------------------------------------------

/// Changes attributes of an ENI: name, description, security groups, queue count, release behaviour, and the
/// source/destination check (which a node routing pod CIDRs through the VPC route table needs off).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModifyNetworkInterfaceAttribute {
    /// The ENI (required).
    pub network_interface_id: String,
    /// New name.
    pub network_interface_name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// The security groups the ENI should belong to (`SecurityGroupId.N`; replaces the current set).
    pub security_group_ids: Vec<String>,
    /// New queue count.
    pub queue_number: Option<u32>,
    /// Whether the ENI is released with its instance.
    pub delete_on_release: Option<bool>,
    /// Whether source/destination checking is on (`SourceDestCheck`).
    pub source_dest_check: Option<bool>,
}

impl ModifyNetworkInterfaceAttribute {
    /// Turns source/destination checking off for `network_interface_id`, as the Go CCM does for nodes.
    pub fn disable_source_dest_check(network_interface_id: impl Into<String>) -> Self {
        Self { network_interface_id: network_interface_id.into(), source_dest_check: Some(false), ..Self::default() }
    }
}

impl ApiRequest for ModifyNetworkInterfaceAttribute {
    type Response = ModifyNetworkInterfaceAttributeResponse;
    const PRODUCT: Product = Product::Ecs;
    const ACTION: &'static str = "ModifyNetworkInterfaceAttribute";

    fn to_params(&self, p: &mut Params) {
        p.set("NetworkInterfaceId", self.network_interface_id.as_str())
            .opt_str("NetworkInterfaceName", self.network_interface_name.as_deref())
            .opt_str("Description", self.description.as_deref())
            .repeat("SecurityGroupId", &self.security_group_ids)
            .opt("QueueNumber", self.queue_number);
        opt_bool(p, "DeleteOnRelease", self.delete_on_release);
        opt_bool(p, "SourceDestCheck", self.source_dest_check);
    }

    /// Every field sets an absolute value (no toggles, no increments), so applying the same request twice leaves
    /// the ENI as applying it once.
    fn idempotent(&self) -> bool {
        true
    }
}

/// Answer of [`ModifyNetworkInterfaceAttribute`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyNetworkInterfaceAttributeResponse {
    /// Request ID.
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params_of(r: &impl ApiRequest) -> Vec<(String, String)> {
        let mut p = Params::new();
        r.to_params(&mut p);
        p.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        v.sort();
        v
    }

    #[test]
    fn describe_instances_by_ids_as_the_go_ccm_sends_it() {
        let mut r = DescribeInstances::by_ids(["i-a", "i-b"]);
        r.additional_attributes = vec!["NETWORK_PRIMARY_ENI_IP".into()];
        assert_eq!(
            params_of(&r),
            pairs(&[
                ("AdditionalAttributes.1", "NETWORK_PRIMARY_ENI_IP"),
                ("InstanceIds", r#"["i-a","i-b"]"#),
                ("MaxResults", "100"),
            ])
        );
        assert_eq!(<DescribeInstances as ApiRequest>::ACTION, "DescribeInstances");
        assert_eq!(<DescribeInstances as ApiRequest>::PRODUCT.version(), "2014-05-26");
        assert!(r.idempotent());
    }

    #[test]
    fn describe_instances_by_ip_with_tag_key_and_empty_options() {
        let r = DescribeInstances {
            private_ip_addresses: vec!["192.168.0.10".into()],
            vpc_id: Some("vpc-1".into()),
            zone_id: Some(String::new()),
            instance_network_type: Some("vpc".into()),
            tags: vec![Tag::new("ack.aliyun.com", ""), Tag::new("env", "prod")],
            next_token: Some("tok".into()),
            dry_run: true,
            ..Default::default()
        };
        assert_eq!(
            params_of(&r),
            pairs(&[
                ("DryRun", "true"),
                ("InstanceNetworkType", "vpc"),
                ("NextToken", "tok"),
                ("PrivateIpAddresses", r#"["192.168.0.10"]"#),
                ("Tag.1.Key", "ack.aliyun.com"),
                ("Tag.2.Key", "env"),
                ("Tag.2.Value", "prod"),
                ("VpcId", "vpc-1"),
            ])
        );
    }

    #[test]
    fn describe_instances_never_sends_region() {
        let p = params_of(&DescribeInstances::by_ids(["i-a"]));
        assert!(p.iter().all(|(k, _)| k != "RegionId"));
    }

    const INSTANCES: &str = r#"{
      "RequestId": "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E",
      "TotalCount": 2, "PageSize": 100, "PageNumber": 1, "NextToken": "caeba0bbb2be03f84eb48b699f0a4883",
      "Instances": {"Instance": [
        {
          "InstanceId": "i-bp67acfmxazb4ph****", "InstanceName": "node-1", "HostName": "iZbp67acfmxazb4ph****",
          "RegionId": "cn-hangzhou", "ZoneId": "cn-hangzhou-g", "InstanceType": "ecs.g7.large",
          "InstanceTypeFamily": "ecs.g7", "Status": "Running", "InstanceNetworkType": "vpc",
          "InstanceChargeType": "PostPaid", "SpotStrategy": "NoSpot", "StoppedMode": "Not-applicable",
          "CreationTime": "2017-12-10T04:04Z", "Cpu": 2, "Memory": 8192, "OSType": "linux",
          "VpcAttributes": {"VpcId": "vpc-1", "VSwitchId": "vsw-1", "NatIpAddress": "",
                            "PrivateIpAddress": {"IpAddress": ["192.168.0.10"]}},
          "PublicIpAddress": {"IpAddress": []},
          "InnerIpAddress": {"IpAddress": []},
          "EipAddress": {"AllocationId": "eip-1", "IpAddress": "47.1.2.3", "Bandwidth": 5,
                         "InternetChargeType": "PayByTraffic", "IsSupportUnassociate": true},
          "NetworkInterfaces": {"NetworkInterface": [
            {"NetworkInterfaceId": "eni-1", "Type": "Primary", "MacAddress": "00:16:3e:12:**:**",
             "PrimaryIpAddress": "192.168.0.10",
             "PrivateIpSets": {"PrivateIpSet": [{"PrivateIpAddress": "192.168.0.10", "Primary": true}]},
             "Ipv6Sets": {"Ipv6Set": [{"Ipv6Address": "2408:4321:180:1701:94c7:bc38:3bfa:1"}]}}
          ]},
          "SecurityGroupIds": {"SecurityGroupId": ["sg-1"]},
          "Tags": {"Tag": [{"TagKey": "ack.alibabacloud.com/nodepool-id", "TagValue": "np-1"}]},
          "OperationLocks": {"LockReason": []}
        },
        {
          "InstanceId": "i-classic", "Status": "Stopped", "InstanceNetworkType": "classic",
          "Cpu": "4", "Memory": "16384",
          "PublicIpAddress": {"IpAddress": ["121.40.1.1"]},
          "InnerIpAddress": {"IpAddress": ["10.1.1.1"]},
          "EipAddress": {"AllocationId": "", "IpAddress": "", "InternetChargeType": ""},
          "OperationLocks": {"LockReason": [{"LockReason": "financial"}]}
        }
      ]}
    }"#;

    #[test]
    fn describe_instances_response_parses_the_documented_shape() {
        let r: DescribeInstancesResponse = serde_json::from_str(INSTANCES).unwrap();
        assert_eq!(r.total_count, 2);
        assert_eq!(r.page_size, 100);
        assert_eq!(r.next_token(), Some("caeba0bbb2be03f84eb48b699f0a4883"));
        assert_eq!(r.instances.len(), 2);

        let a = &r.instances.instance[0];
        assert_eq!(a.instance_id, "i-bp67acfmxazb4ph****");
        assert_eq!(a.host_name, "iZbp67acfmxazb4ph****");
        assert_eq!(a.zone_id, "cn-hangzhou-g");
        assert_eq!(a.instance_type, "ecs.g7.large");
        assert_eq!(a.os_type, "linux");
        assert_eq!((a.cpu, a.memory), (2, 8192));
        assert_eq!(a.vpc_attributes.vpc_id, "vpc-1");
        assert_eq!(a.vpc_attributes.vswitch_id, "vsw-1");
        assert_eq!(a.private_ips(), vec!["192.168.0.10"]);
        assert_eq!(a.public_ips(), vec!["47.1.2.3"]);
        assert_eq!(a.eip_address.bandwidth, 5);
        assert!(a.eip_address.is_support_unassociate);
        assert_eq!(a.primary_network_interface().map(|n| n.network_interface_id.as_str()), Some("eni-1"));
        assert_eq!(a.primary_ipv6_addresses(), vec!["2408:4321:180:1701:94c7:bc38:3bfa:1"]);
        assert!(a.network_interfaces.network_interface[0].private_ip_sets.private_ip_set[0].primary);
        assert_eq!(a.security_group_ids.security_group_id, vec!["sg-1"]);
        assert_eq!(a.tag("ack.alibabacloud.com/nodepool-id"), Some("np-1"));
        assert!(a.is_running());

        let b = &r.instances.instance[1];
        assert_eq!((b.cpu, b.memory), (4, 16384), "numbers sent as strings");
        assert_eq!(b.private_ips(), vec!["10.1.1.1"]);
        assert_eq!(b.public_ips(), vec!["121.40.1.1"]);
        assert!(b.primary_network_interface().is_none());
        assert_eq!(b.operation_locks.lock_reason[0].lock_reason, "financial");
    }

    #[test]
    fn describe_instances_last_page_and_empty_list() {
        let r: DescribeInstancesResponse =
            serde_json::from_str(r#"{"RequestId":"r","TotalCount":0,"NextToken":"","Instances":{"Instance":[]}}"#)
                .unwrap();
        assert_eq!(r.next_token(), None);
        assert!(r.clone().into_items().is_empty());
        let bare: DescribeInstancesResponse = serde_json::from_str(r#"{"RequestId":"r"}"#).unwrap();
        assert!(bare.instances.is_empty());
        let null_list: DescribeInstancesResponse = serde_json::from_str(r#"{"Instances":{"Instance":null}}"#).unwrap();
        assert!(null_list.instances.is_empty());
    }

    #[test]
    fn describe_instances_paging_trait() {
        let mut r = DescribeInstances::by_ids(["i-a"]);
        r.set_next_token(Some("t2".into()));
        assert_eq!(r.next_token.as_deref(), Some("t2"));
        r.set_next_token(None);
        assert!(!params_of(&r).iter().any(|(k, _)| k == "NextToken"));
        let page: DescribeInstancesResponse = serde_json::from_str(INSTANCES).unwrap();
        let items = page.into_items();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].instance_id, "i-classic");
    }

    #[test]
    fn describe_network_interfaces_params() {
        let r = DescribeNetworkInterfaces {
            private_ip_addresses: vec!["10.0.0.1".into(), "10.0.0.2".into()],
            vpc_id: Some("vpc-1".into()),
            status: Some("InUse".into()),
            max_results: Some(100),
            service_managed: Some(false),
            ..Default::default()
        };
        assert_eq!(
            params_of(&r),
            pairs(&[
                ("MaxResults", "100"),
                ("PrivateIpAddress.1", "10.0.0.1"),
                ("PrivateIpAddress.2", "10.0.0.2"),
                ("ServiceManaged", "false"),
                ("Status", "InUse"),
                ("VpcId", "vpc-1"),
            ])
        );
        let by_ids = DescribeNetworkInterfaces::by_ids(["eni-a", "eni-b"]);
        assert_eq!(params_of(&by_ids), pairs(&[("NetworkInterfaceId.1", "eni-a"), ("NetworkInterfaceId.2", "eni-b")]));
    }

    #[test]
    fn describe_network_interfaces_response() {
        let json = r#"{
          "RequestId": "r", "TotalCount": 1, "PageNumber": 1, "PageSize": 10, "NextToken": "",
          "NetworkInterfaceSets": {"NetworkInterfaceSet": [{
            "NetworkInterfaceId": "eni-bp17pdijfczax1huji****", "NetworkInterfaceName": "my-eni",
            "Type": "Secondary", "Status": "InUse", "VpcId": "vpc-1", "VSwitchId": "vsw-1", "ZoneId": "cn-hangzhou-e",
            "InstanceId": "i-1", "MacAddress": "00:16:3e:12:**:**", "PrivateIpAddress": "172.17.**.**",
            "Description": "d", "CreationTime": "2019-12-25T12:31:31Z", "ServiceManaged": false,
            "SourceDestCheck": true, "QueueNumber": "8",
            "SecurityGroupIds": {"SecurityGroupId": ["sg-1", "sg-2"]},
            "AssociatedPublicIp": {"PublicIpAddress": "116.62.**.**", "AllocationId": "eip-1"},
            "Attachment": {"InstanceId": "i-1", "DeviceIndex": 1},
            "PrivateIpSets": {"PrivateIpSet": [
              {"PrivateIpAddress": "172.17.0.1", "Primary": true, "AssociatedPublicIp": {"PublicIpAddress": ""}},
              {"PrivateIpAddress": "172.17.0.2", "Primary": "false"}
            ]},
            "Ipv6Sets": {"Ipv6Set": []},
            "Tags": {"Tag": [{"TagKey": "k", "TagValue": "v"}]}
          }]}
        }"#;
        let r: DescribeNetworkInterfacesResponse = serde_json::from_str(json).unwrap();
        assert_eq!(r.next_token(), None);
        let eni = &r.network_interface_sets.network_interface_set[0];
        assert_eq!(eni.network_interface_id, "eni-bp17pdijfczax1huji****");
        assert_eq!(eni.interface_type, "Secondary");
        assert_eq!(eni.vswitch_id, "vsw-1");
        assert!(eni.source_dest_check);
        assert!(!eni.service_managed);
        assert_eq!(eni.queue_number, 8);
        assert_eq!(eni.attachment.device_index, 1);
        assert_eq!(eni.associated_public_ip.allocation_id, "eip-1");
        assert_eq!(eni.private_ips(), vec!["172.17.0.1", "172.17.0.2"]);
        assert!(!eni.private_ip_sets.private_ip_set[1].primary);
        assert!(eni.ipv6_addresses().is_empty());
        assert_eq!(eni.security_group_ids.len(), 2);
        assert_eq!(eni.tag("k"), Some("v"));
        let mut req = DescribeNetworkInterfaces::default();
        req.set_next_token(Some("n".into()));
        assert_eq!(req.next_token.as_deref(), Some("n"));
    }

    #[test]
    fn modify_network_interface_attribute_params_and_idempotence() {
        let r = ModifyNetworkInterfaceAttribute::disable_source_dest_check("eni-1");
        assert_eq!(params_of(&r), pairs(&[("NetworkInterfaceId", "eni-1"), ("SourceDestCheck", "false")]));
        assert!(r.idempotent());

        let full = ModifyNetworkInterfaceAttribute {
            network_interface_id: "eni-2".into(),
            network_interface_name: Some("n".into()),
            description: Some(String::new()),
            security_group_ids: vec!["sg-1".into(), "sg-2".into()],
            queue_number: Some(4),
            delete_on_release: Some(true),
            source_dest_check: None,
        };
        assert_eq!(
            params_of(&full),
            pairs(&[
                ("DeleteOnRelease", "true"),
                ("NetworkInterfaceId", "eni-2"),
                ("NetworkInterfaceName", "n"),
                ("QueueNumber", "4"),
                ("SecurityGroupId.1", "sg-1"),
                ("SecurityGroupId.2", "sg-2"),
            ])
        );
        let resp: ModifyNetworkInterfaceAttributeResponse =
            serde_json::from_str(r#"{"RequestId":"F3CD6886-D8D0-4FEE-B93E-1B73239673DE"}"#).unwrap();
        assert_eq!(resp.request_id, "F3CD6886-D8D0-4FEE-B93E-1B73239673DE");
    }

    #[test]
    fn lenient_readers_accept_the_api_spellings_and_reject_nonsense() {
        #[derive(Deserialize, Default, Debug)]
        #[serde(default)]
        struct T {
            #[serde(deserialize_with = "lenient::number")]
            n: u64,
            #[serde(deserialize_with = "lenient::boolean")]
            b: bool,
            #[serde(deserialize_with = "lenient::string")]
            s: String,
            #[serde(deserialize_with = "lenient::list")]
            l: Vec<String>,
        }
        let t: T = serde_json::from_str(r#"{"n":"42","b":1,"s":5,"l":{"Item":["a"]}}"#).unwrap();
        assert_eq!((t.n, t.b, t.s.as_str(), t.l), (42, true, "5", vec!["a".to_string()]));
        let t: T = serde_json::from_str(r#"{"n":"","b":"False","s":null,"l":["x","y"]}"#).unwrap();
        assert_eq!((t.n, t.b, t.s.as_str(), t.l.len()), (0, false, "", 2));
        let t: T = serde_json::from_str(r#"{"n":null,"b":0,"l":null}"#).unwrap();
        assert_eq!((t.n, t.b, t.l.len()), (0, false, 0));
        assert!(serde_json::from_str::<T>(r#"{"n":{"x":1}}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"n":"-3"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"b":"maybe"}"#).is_err());
    }
}
