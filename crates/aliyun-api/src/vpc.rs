//! Typed VPC (`2016-04-28`) calls: VPCs, vSwitches, route tables and entries (single and batch), EIPs.
//!
//! Responses keep the API's own names, odd ones included: `RouteEntrys.RouteEntry[]`,
//! `RouterTableList.RouterTableListType[]`, `RouterTableIds.RouterTableIds[]`, an EIP's `Descritpion`. VPC tags are
//! `Key`/`Value` (ECS spells them `TagKey`/`TagValue`; both are accepted). Listings page with `PageNumber`/`PageSize`
//! (at most 50 a page), except `DescribeRouteEntryList`, which pages with `NextToken` and a singular `MaxResult`.

use serde::Deserialize;

use crate::{
    ecs::{ResponseTags, flag, list_wrapper, opt_bool, tag_filters},
    endpoint::Product,
    lenient,
    params::{Params, Tag},
    request::{ApiRequest, NextTokenPage, NextTokenRequest, NumberedPage, NumberedRequest},
};

/// The largest `PageSize` of the VPC listings here.
pub const MAX_PAGE_SIZE: u32 = 50;

// ------------------------------------------------------------------------------------------------------------------
// Shared response pieces.
// ------------------------------------------------------------------------------------------------------------------

list_wrapper!(
    /// vSwitch IDs: `{VSwitchId: [...]}`.
    VSwitchIdList { "VSwitchId" => vswitch_id: String }
);

list_wrapper!(
    /// Route table IDs of a VPC: `RouterTableIds: {RouterTableIds: [...]}` (sic).
    RouterTableIdList { "RouterTableIds" => router_table_ids: String }
);

list_wrapper!(
    /// NAT gateway IDs of a VPC: `NatGatewayIds: {NatGatewayIds: [...]}` (sic).
    NatGatewayIdList { "NatGatewayIds" => nat_gateway_ids: String }
);

list_wrapper!(
    /// Secondary IPv4 CIDR blocks: `{SecondaryCidrBlock: [...]}`.
    SecondaryCidrBlockList { "SecondaryCidrBlock" => secondary_cidr_block: String }
);

list_wrapper!(
    /// User CIDR blocks: `{UserCidr: [...]}`.
    UserCidrList { "UserCidr" => user_cidr: String }
);

list_wrapper!(
    /// Gateway IDs of a route table: `GatewayIds: {GatewayIds: [...]}` (sic).
    GatewayIdList { "GatewayIds" => gateway_ids: String }
);

fn page_params(p: &mut Params, number: Option<u32>, size: Option<u32>) {
    p.opt("PageNumber", number).opt("PageSize", size);
}

// ------------------------------------------------------------------------------------------------------------------
// DescribeVpcs
// ------------------------------------------------------------------------------------------------------------------

/// Lists the VPCs of the client's region; page style.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeVpcs {
    /// VPC IDs (`VpcId`, comma-separated, at most 20).
    pub vpc_ids: Vec<String>,
    /// VPC name.
    pub vpc_name: Option<String>,
    /// Only the default VPC (`true`) or only the others (`false`).
    pub is_default: Option<bool>,
    /// Resource group.
    pub resource_group_id: Option<String>,
    /// Tag filters; an empty value filters by key alone.
    pub tags: Vec<Tag>,
    /// Only check the request and permissions.
    pub dry_run: bool,
    /// Page number, from 1.
    pub page_number: Option<u32>,
    /// Page size, at most 50 (the API's default is 10).
    pub page_size: Option<u32>,
}

impl ApiRequest for DescribeVpcs {
    type Response = DescribeVpcsResponse;
    const PRODUCT: Product = Product::Vpc;
    const ACTION: &'static str = "DescribeVpcs";

    fn to_params(&self, p: &mut Params) {
        if !self.vpc_ids.is_empty() {
            p.set("VpcId", self.vpc_ids.join(","));
        }
        p.opt_str("VpcName", self.vpc_name.as_deref()).opt_str("ResourceGroupId", self.resource_group_id.as_deref());
        opt_bool(p, "IsDefault", self.is_default);
        tag_filters(p, "Tag", &self.tags);
        flag(p, "DryRun", self.dry_run);
        page_params(p, self.page_number, self.page_size);
    }
}

impl NumberedRequest for DescribeVpcs {
    const MAX_PAGE_SIZE: u32 = MAX_PAGE_SIZE;

    fn set_page(&mut self, number: u32, size: u32) {
        self.page_number = Some(number);
        self.page_size = Some(size);
    }
}

/// A page of [`DescribeVpcs`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeVpcsResponse {
    /// Request ID.
    pub request_id: String,
    /// Number of matching VPCs.
    #[serde(deserialize_with = "lenient::number")]
    pub total_count: u64,
    /// Page number.
    #[serde(deserialize_with = "lenient::number")]
    pub page_number: u32,
    /// Page size.
    #[serde(deserialize_with = "lenient::number")]
    pub page_size: u32,
    /// The VPCs: `Vpcs.Vpc[]`.
    pub vpcs: VpcList,
}

impl NumberedPage for DescribeVpcsResponse {
    type Item = Vpc;

    fn total_count(&self) -> u64 {
        self.total_count
    }

    fn into_items(self) -> Vec<Vpc> {
        self.vpcs.vpc
    }
}

list_wrapper!(
    /// `Vpcs: {Vpc: [...]}`.
    VpcList { "Vpc" => vpc: Vpc }
);

/// One VPC as `DescribeVpcs` returns it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Vpc {
    /// VPC ID (`vpc-...`).
    pub vpc_id: String,
    /// Name.
    pub vpc_name: String,
    /// Region.
    pub region_id: String,
    /// `Pending` or `Available`.
    pub status: String,
    /// Primary IPv4 CIDR block.
    pub cidr_block: String,
    /// IPv6 CIDR block, when IPv6 is enabled.
    pub ipv6_cidr_block: String,
    /// The VPC's vRouter.
    #[serde(rename = "VRouterId")]
    pub vrouter_id: String,
    /// Whether this is the region's default VPC.
    #[serde(deserialize_with = "lenient::boolean")]
    pub is_default: bool,
    /// Creation time.
    pub creation_time: String,
    /// Description.
    pub description: String,
    /// Resource group.
    pub resource_group_id: String,
    /// Owning account.
    #[serde(deserialize_with = "lenient::number")]
    pub owner_id: u64,
    /// DHCP options set.
    pub dhcp_options_set_id: String,
    /// vSwitches of the VPC.
    #[serde(rename = "VSwitchIds")]
    pub vswitch_ids: VSwitchIdList,
    /// Route tables of the VPC (`RouterTableIds.RouterTableIds[]`).
    pub router_table_ids: RouterTableIdList,
    /// NAT gateways of the VPC (`NatGatewayIds.NatGatewayIds[]`).
    pub nat_gateway_ids: NatGatewayIdList,
    /// Secondary IPv4 CIDR blocks.
    pub secondary_cidr_blocks: SecondaryCidrBlockList,
    /// User CIDR blocks.
    pub user_cidrs: UserCidrList,
    /// Tags (`Key`/`Value`).
    pub tags: ResponseTags,
}

impl Vpc {
    /// The primary CIDR block, then the secondary ones.
    pub fn ipv4_cidr_blocks(&self) -> Vec<&str> {
        ipv4_cidrs(&self.cidr_block, &self.secondary_cidr_blocks)
    }
}

fn ipv4_cidrs<'a>(primary: &'a str, secondary: &'a SecondaryCidrBlockList) -> Vec<&'a str> {
    std::iter::once(primary).chain(secondary.iter().map(String::as_str)).filter(|c| !c.is_empty()).collect()
}

// ------------------------------------------------------------------------------------------------------------------
// DescribeVpcAttribute
// ------------------------------------------------------------------------------------------------------------------

/// Reads one VPC's attributes (its CIDR blocks above all: the CCM skips ENI backends outside them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeVpcAttribute {
    /// The VPC (required).
    pub vpc_id: String,
    /// Only check the request and permissions.
    pub dry_run: bool,
}

impl DescribeVpcAttribute {
    /// A request for `vpc_id`.
    pub fn new(vpc_id: impl Into<String>) -> Self {
        Self { vpc_id: vpc_id.into(), dry_run: false }
    }
}

impl ApiRequest for DescribeVpcAttribute {
    type Response = DescribeVpcAttributeResponse;
    const PRODUCT: Product = Product::Vpc;
    const ACTION: &'static str = "DescribeVpcAttribute";

    fn to_params(&self, p: &mut Params) {
        p.set("VpcId", self.vpc_id.as_str());
        flag(p, "DryRun", self.dry_run);
    }
}

/// Answer of [`DescribeVpcAttribute`]: the VPC's fields at the top level of the body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeVpcAttributeResponse {
    /// Request ID.
    pub request_id: String,
    /// VPC ID.
    pub vpc_id: String,
    /// Name.
    pub vpc_name: String,
    /// Region.
    pub region_id: String,
    /// `Pending` or `Available`.
    pub status: String,
    /// Primary IPv4 CIDR block.
    pub cidr_block: String,
    /// IPv6 CIDR block.
    pub ipv6_cidr_block: String,
    /// The VPC's vRouter.
    #[serde(rename = "VRouterId")]
    pub vrouter_id: String,
    /// Whether this is the default VPC.
    #[serde(deserialize_with = "lenient::boolean")]
    pub is_default: bool,
    /// Whether ClassicLink is enabled.
    #[serde(deserialize_with = "lenient::boolean")]
    pub classic_link_enabled: bool,
    /// Creation time.
    pub creation_time: String,
    /// Description.
    pub description: String,
    /// Resource group.
    pub resource_group_id: String,
    /// Owning account.
    #[serde(deserialize_with = "lenient::number")]
    pub owner_id: u64,
    /// DHCP options set.
    pub dhcp_options_set_id: String,
    /// DHCP options set state.
    pub dhcp_options_set_status: String,
    /// vSwitches of the VPC.
    #[serde(rename = "VSwitchIds")]
    pub vswitch_ids: VSwitchIdList,
    /// Secondary IPv4 CIDR blocks.
    pub secondary_cidr_blocks: SecondaryCidrBlockList,
    /// User CIDR blocks.
    pub user_cidrs: UserCidrList,
    /// IPv6 CIDR blocks (`Ipv6CidrBlocks.Ipv6CidrBlock[]`).
    pub ipv6_cidr_blocks: Ipv6CidrBlockList,
    /// Tags (`Key`/`Value`).
    pub tags: ResponseTags,
}

impl DescribeVpcAttributeResponse {
    /// The primary CIDR block, then the secondary ones.
    pub fn ipv4_cidr_blocks(&self) -> Vec<&str> {
        ipv4_cidrs(&self.cidr_block, &self.secondary_cidr_blocks)
    }

    /// Every IPv6 CIDR block (from `Ipv6CidrBlocks`, or the single `Ipv6CidrBlock`).
    pub fn ipv6_cidr_blocks(&self) -> Vec<&str> {
        let listed: Vec<&str> =
            self.ipv6_cidr_blocks.iter().map(|b| b.ipv6_cidr_block.as_str()).filter(|c| !c.is_empty()).collect();
        if listed.is_empty() && !self.ipv6_cidr_block.is_empty() { vec![self.ipv6_cidr_block.as_str()] } else { listed }
    }
}

/// One IPv6 CIDR block of a VPC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ipv6CidrBlock {
    /// The block.
    pub ipv6_cidr_block: String,
    /// Its carrier (`BGP`, `ChinaMobile`, ...).
    pub ipv6_isp: String,
}

list_wrapper!(
    /// `Ipv6CidrBlocks: {Ipv6CidrBlock: [...]}`.
    Ipv6CidrBlockList { "Ipv6CidrBlock" => ipv6_cidr_block: Ipv6CidrBlock }
);

// ------------------------------------------------------------------------------------------------------------------
// DescribeVSwitches
// ------------------------------------------------------------------------------------------------------------------

/// Lists vSwitches by VPC, zone, ID or route table; page style.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeVSwitches {
    /// VPC of the vSwitches.
    pub vpc_id: Option<String>,
    /// vSwitch ID.
    pub vswitch_id: Option<String>,
    /// vSwitch name.
    pub vswitch_name: Option<String>,
    /// Zone of the vSwitches.
    pub zone_id: Option<String>,
    /// Route table the vSwitches are associated with.
    pub route_table_id: Option<String>,
    /// Only default vSwitches (`true`) or only the others (`false`).
    pub is_default: Option<bool>,
    /// Resource group.
    pub resource_group_id: Option<String>,
    /// Tag filters; an empty value filters by key alone.
    pub tags: Vec<Tag>,
    /// Only check the request and permissions.
    pub dry_run: bool,
    /// Page number, from 1.
    pub page_number: Option<u32>,
    /// Page size, at most 50.
    pub page_size: Option<u32>,
}

impl ApiRequest for DescribeVSwitches {
    type Response = DescribeVSwitchesResponse;
    const PRODUCT: Product = Product::Vpc;
    const ACTION: &'static str = "DescribeVSwitches";

    fn to_params(&self, p: &mut Params) {
        p.opt_str("VpcId", self.vpc_id.as_deref())
            .opt_str("VSwitchId", self.vswitch_id.as_deref())
            .opt_str("VSwitchName", self.vswitch_name.as_deref())
            .opt_str("ZoneId", self.zone_id.as_deref())
            .opt_str("RouteTableId", self.route_table_id.as_deref())
            .opt_str("ResourceGroupId", self.resource_group_id.as_deref());
        opt_bool(p, "IsDefault", self.is_default);
        tag_filters(p, "Tag", &self.tags);
        flag(p, "DryRun", self.dry_run);
        page_params(p, self.page_number, self.page_size);
    }
}

impl NumberedRequest for DescribeVSwitches {
    const MAX_PAGE_SIZE: u32 = MAX_PAGE_SIZE;

    fn set_page(&mut self, number: u32, size: u32) {
        self.page_number = Some(number);
        self.page_size = Some(size);
    }
}

/// A page of [`DescribeVSwitches`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeVSwitchesResponse {
    /// Request ID.
    pub request_id: String,
    /// Number of matching vSwitches.
    #[serde(deserialize_with = "lenient::number")]
    pub total_count: u64,
    /// Page number.
    #[serde(deserialize_with = "lenient::number")]
    pub page_number: u32,
    /// Page size.
    #[serde(deserialize_with = "lenient::number")]
    pub page_size: u32,
    /// The vSwitches: `VSwitches.VSwitch[]`.
    #[serde(rename = "VSwitches")]
    pub vswitches: VSwitchList,
}

impl NumberedPage for DescribeVSwitchesResponse {
    type Item = VSwitch;

    fn total_count(&self) -> u64 {
        self.total_count
    }

    fn into_items(self) -> Vec<VSwitch> {
        self.vswitches.vswitch
    }
}

list_wrapper!(
    /// `VSwitches: {VSwitch: [...]}`.
    VSwitchList { "VSwitch" => vswitch: VSwitch }
);

/// One vSwitch as `DescribeVSwitches` returns it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VSwitch {
    /// vSwitch ID (`vsw-...`).
    #[serde(rename = "VSwitchId")]
    pub vswitch_id: String,
    /// Name.
    #[serde(rename = "VSwitchName")]
    pub vswitch_name: String,
    /// VPC.
    pub vpc_id: String,
    /// Zone.
    pub zone_id: String,
    /// IPv4 CIDR block.
    pub cidr_block: String,
    /// IPv6 CIDR block.
    pub ipv6_cidr_block: String,
    /// `Pending` or `Available`.
    pub status: String,
    /// Free IP addresses left.
    #[serde(deserialize_with = "lenient::number")]
    pub available_ip_address_count: u64,
    /// Whether this is a default vSwitch.
    #[serde(deserialize_with = "lenient::boolean")]
    pub is_default: bool,
    /// Creation time.
    pub creation_time: String,
    /// Description.
    pub description: String,
    /// Network ACL bound to the vSwitch.
    pub network_acl_id: String,
    /// Owning account.
    #[serde(deserialize_with = "lenient::number")]
    pub owner_id: u64,
    /// Resource group.
    pub resource_group_id: String,
    /// `Shared` when shared from another account.
    pub share_type: String,
    /// The route table the vSwitch is associated with.
    pub route_table: VSwitchRouteTable,
    /// Tags (`Key`/`Value`).
    pub tags: ResponseTags,
}

/// `RouteTable` of a vSwitch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VSwitchRouteTable {
    /// Route table ID.
    pub route_table_id: String,
    /// `System` or `Custom`.
    pub route_table_type: String,
}

// ------------------------------------------------------------------------------------------------------------------
// DescribeRouteTableList
// ------------------------------------------------------------------------------------------------------------------

/// Lists route tables by VPC, router, ID, name or type; page style.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeRouteTableList {
    /// VPC of the route tables.
    pub vpc_id: Option<String>,
    /// Router (vRouter or VBR) of the route tables.
    pub router_id: Option<String>,
    /// `VRouter` (the API's default) or `VBR`.
    pub router_type: Option<String>,
    /// Route table ID.
    pub route_table_id: Option<String>,
    /// Route table name.
    pub route_table_name: Option<String>,
    /// `System` or `Custom`.
    pub route_table_type: Option<String>,
    /// Resource group.
    pub resource_group_id: Option<String>,
    /// Tag filters; an empty value filters by key alone.
    pub tags: Vec<Tag>,
    /// Page number, from 1.
    pub page_number: Option<u32>,
    /// Page size, at most 50.
    pub page_size: Option<u32>,
}

impl DescribeRouteTableList {
    /// The route tables of `vpc_id`.
    pub fn of_vpc(vpc_id: impl Into<String>) -> Self {
        Self { vpc_id: Some(vpc_id.into()), ..Self::default() }
    }
}

impl ApiRequest for DescribeRouteTableList {
    type Response = DescribeRouteTableListResponse;
    const PRODUCT: Product = Product::Vpc;
    const ACTION: &'static str = "DescribeRouteTableList";

    fn to_params(&self, p: &mut Params) {
        p.opt_str("VpcId", self.vpc_id.as_deref())
            .opt_str("RouterId", self.router_id.as_deref())
            .opt_str("RouterType", self.router_type.as_deref())
            .opt_str("RouteTableId", self.route_table_id.as_deref())
            .opt_str("RouteTableName", self.route_table_name.as_deref())
            .opt_str("RouteTableType", self.route_table_type.as_deref())
            .opt_str("ResourceGroupId", self.resource_group_id.as_deref());
        tag_filters(p, "Tag", &self.tags);
        page_params(p, self.page_number, self.page_size);
    }
}

impl NumberedRequest for DescribeRouteTableList {
    const MAX_PAGE_SIZE: u32 = MAX_PAGE_SIZE;

    fn set_page(&mut self, number: u32, size: u32) {
        self.page_number = Some(number);
        self.page_size = Some(size);
    }
}

/// A page of [`DescribeRouteTableList`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeRouteTableListResponse {
    /// Request ID.
    pub request_id: String,
    /// Whether the call succeeded.
    #[serde(deserialize_with = "lenient::boolean")]
    pub success: bool,
    /// Status code.
    pub code: String,
    /// Status message.
    pub message: String,
    /// Number of matching route tables.
    #[serde(deserialize_with = "lenient::number")]
    pub total_count: u64,
    /// Page number.
    #[serde(deserialize_with = "lenient::number")]
    pub page_number: u32,
    /// Page size.
    #[serde(deserialize_with = "lenient::number")]
    pub page_size: u32,
    /// The route tables: `RouterTableList.RouterTableListType[]`.
    pub router_table_list: RouterTableList,
}

impl NumberedPage for DescribeRouteTableListResponse {
    type Item = RouteTable;

    fn total_count(&self) -> u64 {
        self.total_count
    }

    fn into_items(self) -> Vec<RouteTable> {
        self.router_table_list.router_table_list_type
    }
}

list_wrapper!(
    /// `RouterTableList: {RouterTableListType: [...]}` (sic).
    RouterTableList { "RouterTableListType" => router_table_list_type: RouteTable }
);

/// One route table as `DescribeRouteTableList` returns it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RouteTable {
    /// Route table ID (`vtb-...`).
    pub route_table_id: String,
    /// Name.
    pub route_table_name: String,
    /// `System` or `Custom`.
    pub route_table_type: String,
    /// Router (vRouter or VBR).
    pub router_id: String,
    /// `VRouter` or `VBR`.
    pub router_type: String,
    /// VPC.
    pub vpc_id: String,
    /// `Pending`, `Available`, `Creating`, `Deleting`.
    pub status: String,
    /// Creation time.
    pub creation_time: String,
    /// Description.
    pub description: String,
    /// Owning account.
    #[serde(deserialize_with = "lenient::number")]
    pub owner_id: u64,
    /// Resource group.
    pub resource_group_id: String,
    /// What the table is bound to: `VSwitch` or `Gateway`.
    pub associate_type: String,
    /// vSwitches associated with the table.
    #[serde(rename = "VSwitchIds")]
    pub vswitch_ids: VSwitchIdList,
    /// Gateways associated with the table (`GatewayIds.GatewayIds[]`).
    pub gateway_ids: GatewayIdList,
    /// Tags (`Key`/`Value`).
    pub tags: ResponseTags,
}

impl RouteTable {
    /// Whether this is the VPC's system route table.
    pub fn is_system(&self) -> bool {
        self.route_table_type.eq_ignore_ascii_case("System")
    }
}

// ------------------------------------------------------------------------------------------------------------------
// DescribeRouteEntryList
// ------------------------------------------------------------------------------------------------------------------

/// Lists the entries of one route table; `NextToken` paging with a singular `MaxResult`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeRouteEntryList {
    /// The route table (required).
    pub route_table_id: String,
    /// One route entry.
    pub route_entry_id: Option<String>,
    /// Route entry name.
    pub route_entry_name: Option<String>,
    /// `Custom`, `System`, `BGP`, `CEN`, `ECR`.
    pub route_entry_type: Option<String>,
    /// Destination CIDR block.
    pub destination_cidr_block: Option<String>,
    /// Several destination CIDR blocks (`DestCidrBlockList.N`).
    pub dest_cidr_block_list: Vec<String>,
    /// `ipv4` or `ipv6`.
    pub ip_version: Option<String>,
    /// Next hop ID (an instance ID for `Instance` next hops).
    pub next_hop_id: Option<String>,
    /// `Instance` (the API's default), `HaVip`, `NetworkInterface`, `NatGateway`, ...
    pub next_hop_type: Option<String>,
    /// Page token from the previous page.
    pub next_token: Option<String>,
    /// Page size (`MaxResult`, singular), 1 to 100.
    pub max_result: Option<u32>,
}

impl DescribeRouteEntryList {
    /// The largest documented `MaxResult`.
    pub const MAX_RESULT: u32 = 100;

    /// The custom routes of `route_table_id` whose next hop is an instance, as the Go CCM lists them, with the
    /// largest page size.
    pub fn custom_instance_routes(route_table_id: impl Into<String>) -> Self {
        Self {
            route_table_id: route_table_id.into(),
            route_entry_type: Some("Custom".into()),
            next_hop_type: Some("Instance".into()),
            max_result: Some(Self::MAX_RESULT),
            ..Self::default()
        }
    }
}

impl ApiRequest for DescribeRouteEntryList {
    type Response = DescribeRouteEntryListResponse;
    const PRODUCT: Product = Product::Vpc;
    const ACTION: &'static str = "DescribeRouteEntryList";

    fn to_params(&self, p: &mut Params) {
        p.set("RouteTableId", self.route_table_id.as_str())
            .opt_str("RouteEntryId", self.route_entry_id.as_deref())
            .opt_str("RouteEntryName", self.route_entry_name.as_deref())
            .opt_str("RouteEntryType", self.route_entry_type.as_deref())
            .opt_str("DestinationCidrBlock", self.destination_cidr_block.as_deref())
            .repeat("DestCidrBlockList", &self.dest_cidr_block_list)
            .opt_str("IpVersion", self.ip_version.as_deref())
            .opt_str("NextHopId", self.next_hop_id.as_deref())
            .opt_str("NextHopType", self.next_hop_type.as_deref())
            .opt_str("NextToken", self.next_token.as_deref())
            .opt("MaxResult", self.max_result);
    }
}

impl NextTokenRequest for DescribeRouteEntryList {
    fn set_next_token(&mut self, token: Option<String>) {
        self.next_token = token;
    }
}

/// A page of [`DescribeRouteEntryList`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeRouteEntryListResponse {
    /// Request ID.
    pub request_id: String,
    /// Token of the next page; empty on the last page.
    pub next_token: String,
    /// The entries: `RouteEntrys.RouteEntry[]` (sic).
    pub route_entrys: RouteEntryList,
}

impl NextTokenPage for DescribeRouteEntryListResponse {
    type Item = RouteEntry;

    fn next_token(&self) -> Option<&str> {
        Some(self.next_token.as_str()).filter(|t| !t.is_empty())
    }

    fn into_items(self) -> Vec<RouteEntry> {
        self.route_entrys.route_entry
    }
}

list_wrapper!(
    /// `RouteEntrys: {RouteEntry: [...]}`.
    RouteEntryList { "RouteEntry" => route_entry: RouteEntry }
);

/// One route entry as `DescribeRouteEntryList` returns it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RouteEntry {
    /// Route entry ID (`rte-...`).
    pub route_entry_id: String,
    /// Name.
    pub route_entry_name: String,
    /// Route table.
    pub route_table_id: String,
    /// Destination CIDR block.
    pub destination_cidr_block: String,
    /// `Custom`, `System`, `BGP`, `CEN`, `ECR` (`Type`).
    #[serde(rename = "Type")]
    pub route_entry_type: String,
    /// `Pending`, `Available`, `Modifying` (and transiently `Creating`/`Deleting`).
    pub status: String,
    /// `ipv4` or `ipv6`.
    pub ip_version: String,
    /// Description.
    pub description: String,
    /// Where the route came from (`Custom`, `System`, `BGP`, ...).
    pub origin: String,
    /// Service type, for routes of cloud services.
    pub service_type: String,
    /// Last modification time.
    pub gmt_modified: String,
    /// The next hops; one for an ordinary route, several for ECMP.
    pub next_hops: NextHopList,
}

impl RouteEntry {
    /// The instance this route sends traffic to, when it has exactly one next hop and that hop is an ECS instance
    /// (the only routes the CCM owns).
    pub fn instance_next_hop(&self) -> Option<&str> {
        match self.next_hops.next_hop.as_slice() {
            [hop] if hop.next_hop_type.eq_ignore_ascii_case("Instance") && !hop.next_hop_id.is_empty() => {
                Some(hop.next_hop_id.as_str())
            }
            _ => None,
        }
    }

    /// Whether this is a custom (user-created) route.
    pub fn is_custom(&self) -> bool {
        self.route_entry_type.eq_ignore_ascii_case("Custom")
    }

    /// Whether the route is `Available` (only such routes can be deleted).
    pub fn is_available(&self) -> bool {
        self.status.eq_ignore_ascii_case("Available")
    }
}

list_wrapper!(
    /// `NextHops: {NextHop: [...]}`.
    NextHopList { "NextHop" => next_hop: NextHop }
);

/// One next hop of a route entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NextHop {
    /// `Instance`, `HaVip`, `NetworkInterface`, `NatGateway`, `RouterInterface`, ...
    pub next_hop_type: String,
    /// Next hop ID.
    pub next_hop_id: String,
    /// Whether the hop is in use (the API sends 1/0).
    #[serde(deserialize_with = "lenient::boolean")]
    pub enabled: bool,
    /// ECMP weight.
    #[serde(deserialize_with = "lenient::number")]
    pub weight: u32,
    /// Region of the next hop.
    pub next_hop_region_id: String,
    /// Details of the next hop resource.
    pub next_hop_related_info: NextHopRelatedInfo,
}

/// `NextHopRelatedInfo` of a next hop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NextHopRelatedInfo {
    /// Instance ID behind the hop.
    pub instance_id: String,
    /// Its type.
    pub instance_type: String,
    /// Its region.
    pub region_id: String,
}

// ------------------------------------------------------------------------------------------------------------------
// CreateRouteEntry / DeleteRouteEntry
// ------------------------------------------------------------------------------------------------------------------

/// One hop of an ECMP route (`NextHopList.N.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NextHopSpec {
    /// Next hop ID.
    pub next_hop_id: String,
    /// Next hop type.
    pub next_hop_type: Option<String>,
    /// ECMP weight (creation only).
    pub weight: Option<u32>,
}

/// Adds one custom route to a route table. Asynchronous: the entry starts `Pending` and becomes `Available`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateRouteEntry {
    /// The route table (required).
    pub route_table_id: String,
    /// Destination CIDR block (required); a bare IP means /32.
    pub destination_cidr_block: String,
    /// `Instance` (the API's default), `HaVip`, `NetworkInterface`, ...
    pub next_hop_type: Option<String>,
    /// Next hop ID (an instance ID for `Instance`).
    pub next_hop_id: Option<String>,
    /// ECMP next hops (`NextHopList.N.NextHopId/NextHopType/Weight`), instead of one next hop.
    pub next_hop_list: Vec<NextHopSpec>,
    /// Route name.
    pub route_entry_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Idempotency token (at most 64 ASCII characters); with it, a repeated request creates nothing new.
    pub client_token: Option<String>,
    /// Only check the request and permissions.
    pub dry_run: bool,
}

impl CreateRouteEntry {
    /// A route for `cidr` in `route_table_id` through ECS instance `instance_id`.
    pub fn to_instance(
        route_table_id: impl Into<String>,
        cidr: impl Into<String>,
        instance_id: impl Into<String>,
    ) -> Self {
        Self {
            route_table_id: route_table_id.into(),
            destination_cidr_block: cidr.into(),
            next_hop_type: Some("Instance".into()),
            next_hop_id: Some(instance_id.into()),
            ..Self::default()
        }
    }
}

fn next_hop_list(p: &mut Params, hops: &[NextHopSpec]) {
    p.repeat_fields("NextHopList", hops, |h| {
        vec![
            ("NextHopId", Some(h.next_hop_id.clone())),
            ("NextHopType", h.next_hop_type.clone().filter(|t| !t.is_empty())),
            ("Weight", h.weight.map(|w| w.to_string())),
        ]
    });
}

impl ApiRequest for CreateRouteEntry {
    type Response = CreateRouteEntryResponse;
    const PRODUCT: Product = Product::Vpc;
    const ACTION: &'static str = "CreateRouteEntry";

    fn to_params(&self, p: &mut Params) {
        p.set("RouteTableId", self.route_table_id.as_str())
            .set("DestinationCidrBlock", self.destination_cidr_block.as_str())
            .opt_str("NextHopType", self.next_hop_type.as_deref())
            .opt_str("NextHopId", self.next_hop_id.as_deref())
            .opt_str("RouteEntryName", self.route_entry_name.as_deref())
            .opt_str("Description", self.description.as_deref())
            .opt_str("ClientToken", self.client_token.as_deref());
        next_hop_list(p, &self.next_hop_list);
        flag(p, "DryRun", self.dry_run);
    }

    /// Safe to repeat only with a `ClientToken`: the server then recognises the repeat. Without one, a retry after
    /// an ambiguous failure would meet `InvalidCIDRBlock.Duplicate` at best; the caller decides what that means.
    fn idempotent(&self) -> bool {
        self.client_token.as_deref().is_some_and(|t| !t.is_empty())
    }
}

/// Answer of [`CreateRouteEntry`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateRouteEntryResponse {
    /// Request ID.
    pub request_id: String,
    /// ID of the new route entry.
    pub route_entry_id: String,
}

/// Deletes one custom route, identified by `RouteEntryId`, or by route table, destination and next hop.
/// Asynchronous (`Deleting`, then gone); only `Available` routes can be deleted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeleteRouteEntry {
    /// Route entry ID.
    pub route_entry_id: Option<String>,
    /// Route table.
    pub route_table_id: Option<String>,
    /// Destination CIDR block.
    pub destination_cidr_block: Option<String>,
    /// Next hop ID.
    pub next_hop_id: Option<String>,
    /// ECMP next hops (`NextHopList.N.NextHopId/NextHopType`).
    pub next_hop_list: Vec<NextHopSpec>,
    /// Only check the request and permissions.
    pub dry_run: bool,
}

impl DeleteRouteEntry {
    /// The route for `cidr` in `route_table_id` through `next_hop_id`, as the Go CCM identifies its routes.
    pub fn by_destination(
        route_table_id: impl Into<String>,
        cidr: impl Into<String>,
        next_hop_id: impl Into<String>,
    ) -> Self {
        Self {
            route_table_id: Some(route_table_id.into()),
            destination_cidr_block: Some(cidr.into()),
            next_hop_id: Some(next_hop_id.into()),
            ..Self::default()
        }
    }

    /// The route entry `route_entry_id`.
    pub fn by_id(route_entry_id: impl Into<String>) -> Self {
        Self { route_entry_id: Some(route_entry_id.into()), ..Self::default() }
    }
}

impl ApiRequest for DeleteRouteEntry {
    type Response = DeleteRouteEntryResponse;
    const PRODUCT: Product = Product::Vpc;
    const ACTION: &'static str = "DeleteRouteEntry";

    fn to_params(&self, p: &mut Params) {
        p.opt_str("RouteEntryId", self.route_entry_id.as_deref())
            .opt_str("RouteTableId", self.route_table_id.as_deref())
            .opt_str("DestinationCidrBlock", self.destination_cidr_block.as_deref())
            .opt_str("NextHopId", self.next_hop_id.as_deref());
        let hops: Vec<NextHopSpec> =
            self.next_hop_list.iter().map(|h| NextHopSpec { weight: None, ..h.clone() }).collect();
        next_hop_list(p, &hops);
        flag(p, "DryRun", self.dry_run);
    }

    /// Deleting is idempotent in effect: a repeat finds the route gone and fails with
    /// `InvalidRouteEntry.NotFound`, which callers treat as success. That holds when the request names exactly one
    /// route: by `RouteEntryId` (IDs are never reused), or by table, destination and next hop (a route recreated
    /// in between with the same three is the same route). A delete by table and destination alone is not retried
    /// automatically: between two attempts someone may have created a route to that destination through another
    /// next hop, which a blind repeat would remove.
    fn idempotent(&self) -> bool {
        let named = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        named(&self.route_entry_id)
            || (named(&self.route_table_id)
                && named(&self.destination_cidr_block)
                && (named(&self.next_hop_id) || !self.next_hop_list.is_empty()))
    }
}

/// Answer of [`DeleteRouteEntry`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteRouteEntryResponse {
    /// Request ID.
    pub request_id: String,
}

// ------------------------------------------------------------------------------------------------------------------
// CreateRouteEntries / DeleteRouteEntries (batch)
// ------------------------------------------------------------------------------------------------------------------

/// Most entries one batch route call accepts (`RouteEntries.N`, N ≤ 50).
pub const MAX_BATCH_ROUTE_ENTRIES: usize = 50;

/// One route to add with [`CreateRouteEntries`] (`RouteEntries.N.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRouteEntry {
    /// Route table (required).
    pub route_table_id: String,
    /// Destination CIDR block (required).
    pub dst_cidr_block: String,
    /// Next hop ID (required).
    pub next_hop: String,
    /// Next hop type (required), e.g. `Instance`.
    pub next_hop_type: String,
    /// Route name.
    pub name: Option<String>,
    /// Description, sent as `RouteEntries.N.Describption` (the API's own spelling).
    pub description: Option<String>,
    /// IP version: 4 or 6 (documented as an integer).
    pub ip_version: Option<u8>,
}

impl NewRouteEntry {
    /// A route for `cidr` in `route_table_id` through ECS instance `instance_id`.
    pub fn to_instance(
        route_table_id: impl Into<String>,
        cidr: impl Into<String>,
        instance_id: impl Into<String>,
    ) -> Self {
        Self {
            route_table_id: route_table_id.into(),
            dst_cidr_block: cidr.into(),
            next_hop: instance_id.into(),
            next_hop_type: "Instance".into(),
            ..Self::default()
        }
    }
}

/// Adds up to 50 custom routes in one call; entries may fail one by one (see
/// [`CreateRouteEntriesResponse::failed_route_entries`]). Asynchronous like [`CreateRouteEntry`], and not to be
/// called concurrently for the same VPC.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateRouteEntries {
    /// The routes; at most [`MAX_BATCH_ROUTE_ENTRIES`] (use [`CreateRouteEntries::batches`] to split).
    pub route_entries: Vec<NewRouteEntry>,
}

impl CreateRouteEntries {
    /// Splits `entries` into requests of at most [`MAX_BATCH_ROUTE_ENTRIES`] routes each.
    pub fn batches(entries: Vec<NewRouteEntry>) -> Vec<Self> {
        entries.chunks(MAX_BATCH_ROUTE_ENTRIES).map(|c| Self { route_entries: c.to_vec() }).collect()
    }
}

impl ApiRequest for CreateRouteEntries {
    type Response = CreateRouteEntriesResponse;
    const PRODUCT: Product = Product::Vpc;
    const ACTION: &'static str = "CreateRouteEntries";

    fn to_params(&self, p: &mut Params) {
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        p.repeat_fields("RouteEntries", &self.route_entries, |e| {
            vec![
                ("RouteTableId", Some(e.route_table_id.clone())),
                ("DstCidrBlock", Some(e.dst_cidr_block.clone())),
                ("NextHop", Some(e.next_hop.clone())),
                ("NextHopType", Some(e.next_hop_type.clone())),
                ("Name", non_empty(&e.name)),
                ("Describption", non_empty(&e.description)),
                ("IpVersion", e.ip_version.map(|v| v.to_string())),
            ]
        });
    }
}

/// Answer of [`CreateRouteEntries`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateRouteEntriesResponse {
    /// Request ID.
    pub request_id: String,
    /// Entries accepted.
    #[serde(deserialize_with = "lenient::number")]
    pub success_count: u32,
    /// Entries refused.
    #[serde(deserialize_with = "lenient::number")]
    pub failed_count: u32,
    /// IDs of the accepted entries (a flat array; a wrapped one is accepted too).
    #[serde(deserialize_with = "lenient::list")]
    pub route_entry_ids: Vec<String>,
    /// The refused entries and why (a flat array; a wrapped one is accepted too).
    #[serde(deserialize_with = "lenient::list")]
    pub failed_route_entries: Vec<FailedRouteEntry>,
}

/// A route a batch call refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FailedRouteEntry {
    /// Destination CIDR block of the entry.
    pub dst_cidr_block: String,
    /// Next hop of the entry.
    pub next_hop: String,
    /// Route entry ID (deletions).
    pub route_entry_id: String,
    /// Why it failed, e.g. `VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE`, `VPC_ROUTER_ENTRY_NOT_EXIST`.
    pub failed_code: String,
    /// Human-readable reason.
    pub failed_message: String,
}

/// One route to remove with [`DeleteRouteEntries`] (`RouteEntries.N.*`): by `RouteEntryId`, or by destination and
/// next hop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteEntryRef {
    /// Route table (required).
    pub route_table_id: String,
    /// Route entry ID.
    pub route_entry_id: Option<String>,
    /// Destination CIDR block.
    pub dst_cidr_block: Option<String>,
    /// Next hop ID.
    pub next_hop: Option<String>,
}

impl RouteEntryRef {
    /// The route for `cidr` in `route_table_id` through `next_hop`.
    pub fn by_destination(
        route_table_id: impl Into<String>,
        cidr: impl Into<String>,
        next_hop: impl Into<String>,
    ) -> Self {
        Self {
            route_table_id: route_table_id.into(),
            route_entry_id: None,
            dst_cidr_block: Some(cidr.into()),
            next_hop: Some(next_hop.into()),
        }
    }
}

/// Deletes up to 50 custom routes in one call; entries may fail one by one (see
/// [`DeleteRouteEntriesResponse::failed_route_entries`]). Not to be called concurrently for the same VPC.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeleteRouteEntries {
    /// The routes; at most [`MAX_BATCH_ROUTE_ENTRIES`] (use [`DeleteRouteEntries::batches`] to split).
    pub route_entries: Vec<RouteEntryRef>,
}

impl DeleteRouteEntries {
    /// Splits `entries` into requests of at most [`MAX_BATCH_ROUTE_ENTRIES`] routes each.
    pub fn batches(entries: Vec<RouteEntryRef>) -> Vec<Self> {
        entries.chunks(MAX_BATCH_ROUTE_ENTRIES).map(|c| Self { route_entries: c.to_vec() }).collect()
    }
}

impl ApiRequest for DeleteRouteEntries {
    type Response = DeleteRouteEntriesResponse;
    const PRODUCT: Product = Product::Vpc;
    const ACTION: &'static str = "DeleteRouteEntries";

    fn to_params(&self, p: &mut Params) {
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        p.repeat_fields("RouteEntries", &self.route_entries, |e| {
            vec![
                ("RouteTableId", Some(e.route_table_id.clone())),
                ("RouteEntryId", non_empty(&e.route_entry_id)),
                ("DstCidrBlock", non_empty(&e.dst_cidr_block)),
                ("NextHop", non_empty(&e.next_hop)),
            ]
        });
    }

    /// Like [`DeleteRouteEntry`]: a repeat reports the already deleted routes as `VPC_ROUTER_ENTRY_NOT_EXIST`
    /// failures, which callers count as done, as long as every entry names exactly one route (by ID, or by
    /// destination and next hop).
    fn idempotent(&self) -> bool {
        let named = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        !self.route_entries.is_empty()
            && self
                .route_entries
                .iter()
                .all(|e| named(&e.route_entry_id) || (named(&e.dst_cidr_block) && named(&e.next_hop)))
    }
}

/// Answer of [`DeleteRouteEntries`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteRouteEntriesResponse {
    /// Request ID.
    pub request_id: String,
    /// Entries deleted.
    #[serde(deserialize_with = "lenient::number")]
    pub success_count: u32,
    /// Entries refused.
    #[serde(deserialize_with = "lenient::number")]
    pub failed_count: u32,
    /// The refused entries and why (a flat array; a wrapped one is accepted too).
    #[serde(deserialize_with = "lenient::list")]
    pub failed_route_entries: Vec<FailedRouteEntry>,
}

// ------------------------------------------------------------------------------------------------------------------
// DescribeEipAddresses
// ------------------------------------------------------------------------------------------------------------------

/// Lists EIPs, e.g. those bound to one CLB (`AssociatedInstanceType=SlbInstance`); page style.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DescribeEipAddresses {
    /// EIP address.
    pub eip_address: Option<String>,
    /// EIP IDs (`AllocationId`, comma-separated, at most 50).
    pub allocation_ids: Vec<String>,
    /// Type of the bound resource: `EcsInstance`, `SlbInstance`, `Nat`, `HaVip`, `NetworkInterface`, ...
    pub associated_instance_type: Option<String>,
    /// ID of the bound resource.
    pub associated_instance_id: Option<String>,
    /// `Associating`, `Unassociating`, `InUse`, `Available`, `Releasing`.
    pub status: Option<String>,
    /// EIP name.
    pub eip_name: Option<String>,
    /// Line type (`BGP`, `BGP_PRO`, ...).
    pub isp: Option<String>,
    /// Resource group.
    pub resource_group_id: Option<String>,
    /// Tag filters; an empty value filters by key alone.
    pub tags: Vec<Tag>,
    /// Only check the request and permissions.
    pub dry_run: bool,
    /// Page number, from 1.
    pub page_number: Option<u32>,
    /// Page size.
    pub page_size: Option<u32>,
}

impl DescribeEipAddresses {
    /// The EIPs bound to resource `instance_id` of type `instance_type` (e.g. `SlbInstance`).
    pub fn associated_with(instance_type: impl Into<String>, instance_id: impl Into<String>) -> Self {
        Self {
            associated_instance_type: Some(instance_type.into()),
            associated_instance_id: Some(instance_id.into()),
            ..Self::default()
        }
    }
}

impl ApiRequest for DescribeEipAddresses {
    type Response = DescribeEipAddressesResponse;
    const PRODUCT: Product = Product::Vpc;
    const ACTION: &'static str = "DescribeEipAddresses";

    fn to_params(&self, p: &mut Params) {
        if !self.allocation_ids.is_empty() {
            p.set("AllocationId", self.allocation_ids.join(","));
        }
        p.opt_str("EipAddress", self.eip_address.as_deref())
            .opt_str("AssociatedInstanceType", self.associated_instance_type.as_deref())
            .opt_str("AssociatedInstanceId", self.associated_instance_id.as_deref())
            .opt_str("Status", self.status.as_deref())
            .opt_str("EipName", self.eip_name.as_deref())
            .opt_str("ISP", self.isp.as_deref())
            .opt_str("ResourceGroupId", self.resource_group_id.as_deref());
        tag_filters(p, "Tag", &self.tags);
        flag(p, "DryRun", self.dry_run);
        page_params(p, self.page_number, self.page_size);
    }
}

impl NumberedRequest for DescribeEipAddresses {
    /// The API takes up to 100 here; 50 keeps one page size for all VPC listings.
    const MAX_PAGE_SIZE: u32 = MAX_PAGE_SIZE;

    fn set_page(&mut self, number: u32, size: u32) {
        self.page_number = Some(number);
        self.page_size = Some(size);
    }
}

/// A page of [`DescribeEipAddresses`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeEipAddressesResponse {
    /// Request ID.
    pub request_id: String,
    /// Number of matching EIPs.
    #[serde(deserialize_with = "lenient::number")]
    pub total_count: u64,
    /// Page number.
    #[serde(deserialize_with = "lenient::number")]
    pub page_number: u32,
    /// Page size.
    #[serde(deserialize_with = "lenient::number")]
    pub page_size: u32,
    /// The EIPs: `EipAddresses.EipAddress[]`.
    pub eip_addresses: EipAddressList,
}

impl NumberedPage for DescribeEipAddressesResponse {
    type Item = EipAddress;

    fn total_count(&self) -> u64 {
        self.total_count
    }

    fn into_items(self) -> Vec<EipAddress> {
        self.eip_addresses.eip_address
    }
}

list_wrapper!(
    /// `EipAddresses: {EipAddress: [...]}`.
    EipAddressList { "EipAddress" => eip_address: EipAddress }
);

list_wrapper!(
    /// `OperationLocks: {LockReason: [...]}` of an EIP.
    EipLockList { "LockReason" => lock_reason: crate::ecs::LockReason }
);

/// One EIP as `DescribeEipAddresses` returns it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EipAddress {
    /// The public address.
    pub ip_address: String,
    /// EIP ID (`eip-...`).
    pub allocation_id: String,
    /// `Associating`, `Unassociating`, `InUse`, `Available`, `Releasing`.
    pub status: String,
    /// Region.
    pub region_id: String,
    /// ID of the bound resource.
    pub instance_id: String,
    /// Type of the bound resource (`EcsInstance`, `SlbInstance`, ...).
    pub instance_type: String,
    /// Region of the bound resource.
    pub instance_region_id: String,
    /// Private IP the EIP maps to (ENI in NAT mode).
    pub private_ip_address: String,
    /// Peak bandwidth in Mbit/s (a string in the API).
    #[serde(deserialize_with = "lenient::string")]
    pub bandwidth: String,
    /// `PayByBandwidth` or `PayByTraffic`.
    pub internet_charge_type: String,
    /// `PostPaid` or `PrePaid`.
    pub charge_type: String,
    /// Name.
    pub name: String,
    /// Description (`Descritpion` in the API, sic; `Description` accepted too).
    #[serde(rename = "Descritpion", alias = "Description")]
    pub description: String,
    /// Allocation time.
    pub allocation_time: String,
    /// Expiry time (subscription).
    pub expired_time: String,
    /// Line type.
    #[serde(rename = "ISP")]
    pub isp: String,
    /// Association mode: `NAT`, `MULTI_BINDED`, `BINDED`.
    pub mode: String,
    /// EIP bandwidth plan it belongs to.
    pub bandwidth_package_id: String,
    /// Resource group.
    pub resource_group_id: String,
    /// Whether deletion protection is on.
    #[serde(deserialize_with = "lenient::boolean")]
    pub deletion_protection: bool,
    /// Locks on the EIP.
    pub operation_locks: EipLockList,
    /// Tags (`Key`/`Value`).
    pub tags: ResponseTags,
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
    fn describe_vpcs_params_and_paging() {
        let mut r = DescribeVpcs {
            vpc_ids: vec!["vpc-a".into(), "vpc-b".into()],
            vpc_name: Some(String::new()),
            is_default: Some(false),
            tags: vec![Tag::new("k", "v")],
            ..Default::default()
        };
        r.set_page(2, DescribeVpcs::MAX_PAGE_SIZE);
        assert_eq!(
            params_of(&r),
            pairs(&[
                ("IsDefault", "false"),
                ("PageNumber", "2"),
                ("PageSize", "50"),
                ("Tag.1.Key", "k"),
                ("Tag.1.Value", "v"),
                ("VpcId", "vpc-a,vpc-b"),
            ])
        );
        assert_eq!(<DescribeVpcs as ApiRequest>::PRODUCT.version(), "2016-04-28");
        assert!(r.idempotent());
    }

    #[test]
    fn describe_vpcs_response() {
        let json = r#"{
          "RequestId": "r", "TotalCount": 1, "PageNumber": 1, "PageSize": 10,
          "Vpcs": {"Vpc": [{
            "VpcId": "vpc-bp1qpo0kug3a20qqe****", "VpcName": "k8s", "RegionId": "cn-hangzhou", "Status": "Available",
            "CidrBlock": "192.168.0.0/16", "Ipv6CidrBlock": "", "VRouterId": "vrt-1", "IsDefault": false,
            "CreationTime": "2018-04-18T15:02:37Z", "Description": "", "ResourceGroupId": "rg-1",
            "OwnerId": 253460731706911258,
            "VSwitchIds": {"VSwitchId": ["vsw-1", "vsw-2"]},
            "RouterTableIds": {"RouterTableIds": ["vtb-1"]},
            "NatGatewayIds": {"NatGatewayIds": []},
            "SecondaryCidrBlocks": {"SecondaryCidrBlock": ["10.0.0.0/8"]},
            "UserCidrs": {"UserCidr": []},
            "Tags": {"Tag": [{"Key": "env", "Value": "prod"}]}
          }]}
        }"#;
        let r: DescribeVpcsResponse = serde_json::from_str(json).unwrap();
        assert_eq!(r.total_count(), 1);
        let vpc = &r.vpcs.vpc[0];
        assert_eq!(vpc.vrouter_id, "vrt-1");
        assert_eq!(vpc.owner_id, 253460731706911258);
        assert_eq!(vpc.vswitch_ids.vswitch_id, vec!["vsw-1", "vsw-2"]);
        assert_eq!(vpc.router_table_ids.router_table_ids, vec!["vtb-1"]);
        assert!(vpc.nat_gateway_ids.is_empty());
        assert_eq!(vpc.ipv4_cidr_blocks(), vec!["192.168.0.0/16", "10.0.0.0/8"]);
        assert_eq!(vpc.tags.get("env"), Some("prod"));
        assert_eq!(r.into_items().len(), 1);
    }

    #[test]
    fn describe_vpc_attribute() {
        let r = DescribeVpcAttribute::new("vpc-1");
        assert_eq!(params_of(&r), pairs(&[("VpcId", "vpc-1")]));
        let json = r#"{
          "RequestId": "r", "VpcId": "vpc-1", "VpcName": "k8s", "RegionId": "cn-hangzhou", "Status": "Available",
          "CidrBlock": "192.168.0.0/16", "Ipv6CidrBlock": "2408:4005:3c8:ff00::/56", "VRouterId": "vrt-1",
          "IsDefault": "false", "ClassicLinkEnabled": false, "OwnerId": "1234",
          "VSwitchIds": {"VSwitchId": ["vsw-1"]},
          "SecondaryCidrBlocks": {"SecondaryCidrBlock": ["172.16.0.0/12"]},
          "UserCidrs": {"UserCidr": ["10.0.0.0/8"]},
          "Ipv6CidrBlocks": {"Ipv6CidrBlock": [{"Ipv6CidrBlock": "2408:4005:3c8:ff00::/56", "Ipv6Isp": "BGP"}]},
          "Tags": {"Tag": []}
        }"#;
        let a: DescribeVpcAttributeResponse = serde_json::from_str(json).unwrap();
        assert_eq!(a.vpc_id, "vpc-1");
        assert_eq!(a.owner_id, 1234);
        assert!(!a.is_default);
        assert_eq!(a.ipv4_cidr_blocks(), vec!["192.168.0.0/16", "172.16.0.0/12"]);
        assert_eq!(a.ipv6_cidr_blocks(), vec!["2408:4005:3c8:ff00::/56"]);
        assert_eq!(a.ipv6_cidr_blocks.ipv6_cidr_block[0].ipv6_isp, "BGP");
        assert_eq!(a.user_cidrs.user_cidr, vec!["10.0.0.0/8"]);
    }

    #[test]
    fn describe_vswitches_params_and_response() {
        let mut r = DescribeVSwitches {
            vpc_id: Some("vpc-1".into()),
            zone_id: Some("cn-hangzhou-h".into()),
            ..Default::default()
        };
        r.set_page(1, 50);
        assert_eq!(
            params_of(&r),
            pairs(&[("PageNumber", "1"), ("PageSize", "50"), ("VpcId", "vpc-1"), ("ZoneId", "cn-hangzhou-h")])
        );
        let json = r#"{
          "RequestId": "r", "TotalCount": "1", "PageNumber": "1", "PageSize": "50",
          "VSwitches": {"VSwitch": [{
            "VSwitchId": "vsw-1", "VSwitchName": "a", "VpcId": "vpc-1", "ZoneId": "cn-hangzhou-h",
            "CidrBlock": "192.168.1.0/24", "Status": "Available", "AvailableIpAddressCount": 251, "IsDefault": false,
            "NetworkAclId": "nacl-1", "ShareType": "",
            "RouteTable": {"RouteTableId": "vtb-1", "RouteTableType": "System"},
            "Tags": {"Tag": [{"Key": "k", "Value": "v"}]}
          }]}
        }"#;
        let page: DescribeVSwitchesResponse = serde_json::from_str(json).unwrap();
        assert_eq!((page.total_count(), page.page_size), (1, 50));
        let vsw = &page.vswitches.vswitch[0];
        assert_eq!(vsw.vswitch_id, "vsw-1");
        assert_eq!(vsw.vswitch_name, "a");
        assert_eq!(vsw.available_ip_address_count, 251);
        assert_eq!(vsw.route_table.route_table_id, "vtb-1");
        assert_eq!(vsw.route_table.route_table_type, "System");
        assert_eq!(vsw.tags.get("k"), Some("v"));
    }

    #[test]
    fn describe_route_table_list_quirky_names() {
        let r = DescribeRouteTableList::of_vpc("vpc-1");
        assert_eq!(params_of(&r), pairs(&[("VpcId", "vpc-1")]));
        let json = r#"{
          "RequestId": "r", "Success": true, "Code": "200", "Message": "successful",
          "TotalCount": 2, "PageNumber": 1, "PageSize": 10,
          "RouterTableList": {"RouterTableListType": [
            {"RouteTableId": "vtb-sys", "RouteTableName": "", "RouteTableType": "System", "RouterId": "vrt-1",
             "RouterType": "VRouter", "VpcId": "vpc-1", "Status": "Available", "OwnerId": 1,
             "AssociateType": "VSwitch",
             "VSwitchIds": {"VSwitchId": ["vsw-1"]}, "GatewayIds": {"GatewayIds": []},
             "Tags": {"Tag": []}},
            {"RouteTableId": "vtb-custom", "RouteTableType": "Custom", "VSwitchIds": {"VSwitchId": []}}
          ]}
        }"#;
        let page: DescribeRouteTableListResponse = serde_json::from_str(json).unwrap();
        assert!(page.success);
        assert_eq!(page.total_count(), 2);
        let tables = page.into_items();
        assert_eq!(tables[0].route_table_id, "vtb-sys");
        assert!(tables[0].is_system());
        assert_eq!(tables[0].vswitch_ids.vswitch_id, vec!["vsw-1"]);
        assert_eq!(tables[0].router_type, "VRouter");
        assert!(!tables[1].is_system());
    }

    #[test]
    fn describe_route_entry_list_uses_singular_max_result_and_next_token() {
        let mut r = DescribeRouteEntryList::custom_instance_routes("vtb-1");
        r.set_next_token(Some("FFmyTO70tTpLG6I3FmYAXGKPd****".into()));
        assert_eq!(
            params_of(&r),
            pairs(&[
                ("MaxResult", "100"),
                ("NextHopType", "Instance"),
                ("NextToken", "FFmyTO70tTpLG6I3FmYAXGKPd****"),
                ("RouteEntryType", "Custom"),
                ("RouteTableId", "vtb-1"),
            ])
        );
        let multi = DescribeRouteEntryList {
            route_table_id: "vtb-1".into(),
            dest_cidr_block_list: vec!["10.0.1.0/24".into(), "10.0.2.0/24".into()],
            ..Default::default()
        };
        assert_eq!(
            params_of(&multi),
            pairs(&[
                ("DestCidrBlockList.1", "10.0.1.0/24"),
                ("DestCidrBlockList.2", "10.0.2.0/24"),
                ("RouteTableId", "vtb-1"),
            ])
        );
    }

    const ROUTE_ENTRIES: &str = r#"{
      "RequestId": "r", "NextToken": "next-1",
      "RouteEntrys": {"RouteEntry": [
        {"RouteEntryId": "rte-1", "RouteEntryName": "", "RouteTableId": "vtb-1",
         "DestinationCidrBlock": "172.20.1.0/24", "Type": "Custom", "Status": "Available", "IpVersion": "ipv4",
         "Description": "", "Origin": "Custom",
         "NextHops": {"NextHop": [{"NextHopType": "Instance", "NextHopId": "i-1", "Enabled": 1, "Weight": 100,
                                   "NextHopRegionId": "cn-hangzhou",
                                   "NextHopRelatedInfo": {"InstanceId": "", "InstanceType": "", "RegionId": ""}}]}},
        {"RouteEntryId": "rte-2", "DestinationCidrBlock": "0.0.0.0/0", "Type": "Custom", "Status": "Pending",
         "NextHops": {"NextHop": [{"NextHopType": "NatGateway", "NextHopId": "ngw-1", "Enabled": 0}]}},
        {"RouteEntryId": "rte-3", "DestinationCidrBlock": "172.20.3.0/24", "Type": "Custom",
         "NextHops": {"NextHop": [{"NextHopType": "Instance", "NextHopId": "i-3", "Enabled": "1", "Weight": "50"},
                                  {"NextHopType": "Instance", "NextHopId": "i-4", "Enabled": true}]}},
        {"RouteEntryId": "rte-sys", "DestinationCidrBlock": "192.168.0.0/24", "Type": "System",
         "NextHops": {"NextHop": []}}
      ]}
    }"#;

    #[test]
    fn describe_route_entry_list_response_quirks() {
        let page: DescribeRouteEntryListResponse = serde_json::from_str(ROUTE_ENTRIES).unwrap();
        assert_eq!(page.next_token(), Some("next-1"));
        let e = &page.route_entrys.route_entry;
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].route_entry_type, "Custom");
        assert_eq!(e[0].ip_version, "ipv4");
        assert_eq!(e[0].instance_next_hop(), Some("i-1"));
        assert!(e[0].is_custom() && e[0].is_available());
        let hop = &e[0].next_hops.next_hop[0];
        assert!(hop.enabled);
        assert_eq!((hop.weight, hop.next_hop_region_id.as_str()), (100, "cn-hangzhou"));
        assert_eq!(e[1].instance_next_hop(), None, "NAT gateway next hop");
        assert!(!e[1].next_hops.next_hop[0].enabled);
        assert_eq!(e[2].instance_next_hop(), None, "ECMP");
        assert!(e[2].next_hops.next_hop[0].enabled && e[2].next_hops.next_hop[1].enabled);
        assert_eq!(e[2].next_hops.next_hop[0].weight, 50);
        assert!(!e[3].is_custom());
        assert_eq!(page.into_items().len(), 4);

        let last: DescribeRouteEntryListResponse =
            serde_json::from_str(r#"{"RequestId":"r","NextToken":"","RouteEntrys":{"RouteEntry":[]}}"#).unwrap();
        assert_eq!(last.next_token(), None);
        assert!(last.into_items().is_empty());
    }

    #[test]
    fn create_route_entry_params_and_idempotence() {
        let mut r = CreateRouteEntry::to_instance("vtb-1", "172.20.1.0/24", "i-1");
        assert_eq!(
            params_of(&r),
            pairs(&[
                ("DestinationCidrBlock", "172.20.1.0/24"),
                ("NextHopId", "i-1"),
                ("NextHopType", "Instance"),
                ("RouteTableId", "vtb-1"),
            ])
        );
        assert!(!r.idempotent(), "no ClientToken: a blind retry could create twice");
        r.client_token = Some(String::new());
        assert!(!r.idempotent());
        r.client_token = Some("02fb3da4-130e-11e9-8e44-001".into());
        assert!(r.idempotent());
        assert_eq!(
            params_of(&r).iter().find(|(k, _)| k == "ClientToken").map(|(_, v)| v.as_str()),
            Some("02fb3da4-130e-11e9-8e44-001")
        );

        let ecmp = CreateRouteEntry {
            route_table_id: "vtb-1".into(),
            destination_cidr_block: "10.0.0.0/8".into(),
            next_hop_type: Some("Ecmp".into()),
            next_hop_list: vec![
                NextHopSpec {
                    next_hop_id: "ri-1".into(),
                    next_hop_type: Some("RouterInterface".into()),
                    weight: Some(100),
                },
                NextHopSpec { next_hop_id: "ri-2".into(), next_hop_type: None, weight: None },
            ],
            dry_run: true,
            ..Default::default()
        };
        assert_eq!(
            params_of(&ecmp),
            pairs(&[
                ("DestinationCidrBlock", "10.0.0.0/8"),
                ("DryRun", "true"),
                ("NextHopList.1.NextHopId", "ri-1"),
                ("NextHopList.1.NextHopType", "RouterInterface"),
                ("NextHopList.1.Weight", "100"),
                ("NextHopList.2.NextHopId", "ri-2"),
                ("NextHopType", "Ecmp"),
                ("RouteTableId", "vtb-1"),
            ])
        );
        let resp: CreateRouteEntryResponse =
            serde_json::from_str(r#"{"RouteEntryId":"rte-bp1mnnr2al0naomnp****","RequestId":"r"}"#).unwrap();
        assert_eq!(resp.route_entry_id, "rte-bp1mnnr2al0naomnp****");
    }

    #[test]
    fn delete_route_entry_params_and_idempotence() {
        let r = DeleteRouteEntry::by_destination("vtb-1", "172.20.1.0/24", "i-1");
        assert_eq!(
            params_of(&r),
            pairs(&[("DestinationCidrBlock", "172.20.1.0/24"), ("NextHopId", "i-1"), ("RouteTableId", "vtb-1")])
        );
        assert!(r.idempotent());
        assert!(DeleteRouteEntry::by_id("rte-1").idempotent());
        assert_eq!(params_of(&DeleteRouteEntry::by_id("rte-1")), pairs(&[("RouteEntryId", "rte-1")]));
        let by_cidr_only = DeleteRouteEntry {
            route_table_id: Some("vtb-1".into()),
            destination_cidr_block: Some("172.20.1.0/24".into()),
            ..Default::default()
        };
        assert!(!by_cidr_only.idempotent());
        let ecmp = DeleteRouteEntry {
            next_hop_list: vec![NextHopSpec {
                next_hop_id: "ri-1".into(),
                next_hop_type: Some("RouterInterface".into()),
                weight: Some(5),
            }],
            ..by_cidr_only
        };
        assert!(ecmp.idempotent());
        let p = params_of(&ecmp);
        assert!(p.contains(&("NextHopList.1.NextHopId".to_string(), "ri-1".to_string())));
        assert!(p.contains(&("NextHopList.1.NextHopType".to_string(), "RouterInterface".to_string())));
        assert!(!p.iter().any(|(k, _)| k.ends_with("Weight")), "DeleteRouteEntry's NextHopList has no Weight");
    }

    #[test]
    fn create_route_entries_flattens_with_the_api_spelling() {
        let mut second = NewRouteEntry::to_instance("vtb-1", "172.20.2.0/24", "i-2");
        second.name = Some("node-2".into());
        second.description = Some("pod cidr of node-2".into());
        second.ip_version = Some(4);
        let r = CreateRouteEntries {
            route_entries: vec![NewRouteEntry::to_instance("vtb-1", "172.20.1.0/24", "i-1"), second],
        };
        assert_eq!(
            params_of(&r),
            pairs(&[
                ("RouteEntries.1.DstCidrBlock", "172.20.1.0/24"),
                ("RouteEntries.1.NextHop", "i-1"),
                ("RouteEntries.1.NextHopType", "Instance"),
                ("RouteEntries.1.RouteTableId", "vtb-1"),
                ("RouteEntries.2.Describption", "pod cidr of node-2"),
                ("RouteEntries.2.DstCidrBlock", "172.20.2.0/24"),
                ("RouteEntries.2.IpVersion", "4"),
                ("RouteEntries.2.Name", "node-2"),
                ("RouteEntries.2.NextHop", "i-2"),
                ("RouteEntries.2.NextHopType", "Instance"),
                ("RouteEntries.2.RouteTableId", "vtb-1"),
            ])
        );
        assert!(!r.idempotent());
    }

    #[test]
    fn batches_hold_at_most_fifty_entries() {
        let entries: Vec<_> =
            (0..120).map(|i| NewRouteEntry::to_instance("vtb-1", format!("10.0.{i}.0/24"), "i-1")).collect();
        let batches = CreateRouteEntries::batches(entries);
        assert_eq!(batches.iter().map(|b| b.route_entries.len()).collect::<Vec<_>>(), vec![50, 50, 20]);
        let mut p = Params::new();
        batches[0].to_params(&mut p);
        assert!(p.contains("RouteEntries.50.DstCidrBlock") && !p.contains("RouteEntries.51.DstCidrBlock"));
        let refs: Vec<_> =
            (0..51).map(|i| RouteEntryRef::by_destination("vtb-1", format!("10.1.{i}.0/24"), "i-1")).collect();
        assert_eq!(DeleteRouteEntries::batches(refs).len(), 2);
        assert!(CreateRouteEntries::batches(Vec::new()).is_empty());
    }

    #[test]
    fn create_route_entries_response_partial_failure() {
        let flat = r#"{
          "RequestId": "r", "SuccessCount": 1, "FailedCount": 1,
          "RouteEntryIds": ["rte-1"],
          "FailedRouteEntries": [{"DstCidrBlock": "172.20.2.0/24", "NextHop": "i-2",
                                  "FailedCode": "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE",
                                  "FailedMessage": "specified CIDR block is already exists"}]
        }"#;
        let r: CreateRouteEntriesResponse = serde_json::from_str(flat).unwrap();
        assert_eq!((r.success_count, r.failed_count), (1, 1));
        assert_eq!(r.route_entry_ids, vec!["rte-1"]);
        assert_eq!(r.failed_route_entries[0].failed_code, "VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE");
        assert_eq!(r.failed_route_entries[0].dst_cidr_block, "172.20.2.0/24");
        assert_eq!(r.failed_route_entries[0].next_hop, "i-2");

        let wrapped = r#"{
          "RequestId": "r", "SuccessCount": "2", "FailedCount": "0",
          "RouteEntryIds": {"RouteEntryIds": ["rte-1", "rte-2"]},
          "FailedRouteEntries": {"FailedRouteEntriesItem": []}
        }"#;
        let r: CreateRouteEntriesResponse = serde_json::from_str(wrapped).unwrap();
        assert_eq!(r.success_count, 2);
        assert_eq!(r.route_entry_ids.len(), 2);
        assert!(r.failed_route_entries.is_empty());
        let bare: CreateRouteEntriesResponse = serde_json::from_str(r#"{"RequestId":"r"}"#).unwrap();
        assert!(bare.route_entry_ids.is_empty() && bare.failed_route_entries.is_empty());
    }

    #[test]
    fn delete_route_entries_params_and_response() {
        let r = DeleteRouteEntries {
            route_entries: vec![
                RouteEntryRef::by_destination("vtb-1", "172.20.1.0/24", "i-1"),
                RouteEntryRef {
                    route_table_id: "vtb-1".into(),
                    route_entry_id: Some("rte-9".into()),
                    ..Default::default()
                },
            ],
        };
        assert_eq!(
            params_of(&r),
            pairs(&[
                ("RouteEntries.1.DstCidrBlock", "172.20.1.0/24"),
                ("RouteEntries.1.NextHop", "i-1"),
                ("RouteEntries.1.RouteTableId", "vtb-1"),
                ("RouteEntries.2.RouteEntryId", "rte-9"),
                ("RouteEntries.2.RouteTableId", "vtb-1"),
            ])
        );
        let json = r#"{"RequestId": "r", "SuccessCount": 1, "FailedCount": 1,
          "FailedRouteEntries": [{"RouteEntryId": "rte-9", "DstCidrBlock": "", "NextHop": "",
                                  "FailedCode": "VPC_ROUTER_ENTRY_NOT_EXIST", "FailedMessage": "not exist"}]}"#;
        let resp: DeleteRouteEntriesResponse = serde_json::from_str(json).unwrap();
        assert_eq!(resp.failed_route_entries[0].route_entry_id, "rte-9");
        assert_eq!(resp.failed_route_entries[0].failed_code, "VPC_ROUTER_ENTRY_NOT_EXIST");
    }

    #[test]
    fn describe_eip_addresses_params_and_response() {
        let mut r = DescribeEipAddresses::associated_with("SlbInstance", "lb-1");
        r.allocation_ids = vec!["eip-a".into(), "eip-b".into()];
        r.set_page(3, DescribeEipAddresses::MAX_PAGE_SIZE);
        assert_eq!(
            params_of(&r),
            pairs(&[
                ("AllocationId", "eip-a,eip-b"),
                ("AssociatedInstanceId", "lb-1"),
                ("AssociatedInstanceType", "SlbInstance"),
                ("PageNumber", "3"),
                ("PageSize", "50"),
            ])
        );
        let json = r#"{
          "RequestId": "r", "TotalCount": 1, "PageNumber": 1, "PageSize": 10,
          "EipAddresses": {"EipAddress": [{
            "IpAddress": "47.75.1.1", "AllocationId": "eip-1", "Status": "InUse", "RegionId": "cn-hangzhou",
            "InstanceId": "lb-1", "InstanceType": "SlbInstance", "InstanceRegionId": "cn-hangzhou",
            "Bandwidth": "5", "InternetChargeType": "PayByTraffic", "ChargeType": "PostPaid", "Name": "ingress",
            "Descritpion": "for the ingress", "AllocationTime": "2019-04-23T01:37:38Z", "ISP": "BGP",
            "Mode": "NAT", "DeletionProtection": false,
            "OperationLocks": {"LockReason": []}, "Tags": {"Tag": [{"Key": "k", "Value": "v"}]}
          }, {"IpAddress": "47.75.1.2", "Bandwidth": 10, "Description": "spelled right"}]}
        }"#;
        let page: DescribeEipAddressesResponse = serde_json::from_str(json).unwrap();
        assert_eq!(page.total_count(), 1);
        let eips = page.into_items();
        assert_eq!(eips[0].ip_address, "47.75.1.1");
        assert_eq!(eips[0].instance_type, "SlbInstance");
        assert_eq!(eips[0].bandwidth, "5");
        assert_eq!(eips[0].description, "for the ingress");
        assert_eq!(eips[0].isp, "BGP");
        assert_eq!(eips[0].tags.get("k"), Some("v"));
        assert_eq!(eips[1].bandwidth, "10", "a number where the API documents a string");
        assert_eq!(eips[1].description, "spelled right");
    }

    #[test]
    fn vpc_tags_accept_both_spellings() {
        let t: ResponseTags =
            serde_json::from_str(r#"{"Tag":[{"Key":"a","Value":"1"},{"TagKey":"b","TagValue":"2"}]}"#).unwrap();
        assert_eq!((t.get("a"), t.get("b"), t.get("c")), (Some("1"), Some("2"), None));
        let tags: Vec<Tag> = t.tag.into_iter().map(Tag::from).collect();
        assert_eq!(tags[1], Tag::new("b", "2"));
    }

    #[test]
    fn writes_are_not_reads() {
        assert!(!DeleteRouteEntries::default().idempotent());
        let mut batch =
            DeleteRouteEntries { route_entries: vec![RouteEntryRef::by_destination("vtb-1", "10.0.0.0/24", "i-1")] };
        assert!(batch.idempotent());
        batch.route_entries.push(RouteEntryRef {
            route_table_id: "vtb-1".into(),
            dst_cidr_block: Some("10.0.1.0/24".into()),
            ..Default::default()
        });
        assert!(!batch.idempotent(), "an entry named by destination alone");
        assert!(DescribeRouteEntryList::default().idempotent());
        assert!(DescribeEipAddresses::default().idempotent());
        assert!(DescribeVpcAttribute::new("vpc-1").idempotent());
    }
}
