use crate::support::*;

#[tokio::test]
async fn describe_instances_has_the_documented_shape() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r = c
        .rpc(
            ECS,
            "DescribeInstances",
            &[("RegionId", "cn-hangzhou"), ("AdditionalAttributes.1", "NETWORK_PRIMARY_ENI_IP")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["TotalCount"], 3);
    let list = r.body["Instances"]["Instance"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    let first = &list[0];
    assert_eq!(first["InstanceId"], "i-bp1fakenode000000001");
    assert_eq!(first["Status"], "Running");
    assert_eq!(first["ZoneId"], "cn-hangzhou-h");
    assert_eq!(first["InstanceNetworkType"], "vpc");
    assert_eq!(first["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0], "192.168.0.10");
    assert_eq!(first["VpcAttributes"]["VpcId"], "vpc-bp1fakevpc0000000001");
    let public = first["PublicIpAddress"]["IpAddress"][0].as_str().unwrap();
    assert!(public.starts_with("198.18.") || public.starts_with("198.19."), "{public}");
    let eni = &first["NetworkInterfaces"]["NetworkInterface"][0];
    assert_eq!(eni["Type"], "Primary");
    assert_eq!(eni["Ipv6Sets"]["Ipv6Set"][0]["Ipv6Address"], "2001:db8:100:1::10");
    assert_eq!(eni["PrivateIpSets"]["PrivateIpSet"][0]["Primary"], true);
    assert_eq!(first["Tags"]["Tag"][0]["TagKey"], "kubernetes.io/cluster");
    let third = &list[2];
    assert!(third["EipAddress"]["IpAddress"].as_str().unwrap().starts_with("198.1"));
    assert!(third["EipAddress"]["Bandwidth"].is_i64());
}

#[tokio::test]
async fn describe_instances_filters() {
    let fake = start().await;
    let c = Client::new(&fake);
    let ids = r#"["i-bp1fakenode000000002","i-nope"]"#;
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("InstanceIds", ids)]).await;
    assert_eq!(r.body["TotalCount"], 1);
    let r = c
        .rpc(
            ECS,
            "DescribeInstances",
            &[
                ("RegionId", "cn-hangzhou"),
                ("PrivateIpAddresses", r#"["192.168.1.10"]"#),
                ("VpcId", "vpc-bp1fakevpc0000000001"),
            ],
        )
        .await;
    assert_eq!(r.body["Instances"]["Instance"][0]["InstanceId"], "i-bp1fakenode000000003");
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("ZoneId", "cn-hangzhou-i")]).await;
    assert_eq!(r.body["TotalCount"], 1);
    let r = c
        .rpc(
            ECS,
            "DescribeInstances",
            &[("RegionId", "cn-hangzhou"), ("Tag.1.Key", "kubernetes.io/cluster"), ("Tag.1.Value", "other")],
        )
        .await;
    assert_eq!(r.body["TotalCount"], 0);
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("InstanceIds", "i-1")]).await;
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("Status", "Sleeping")]).await;
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
}

#[tokio::test]
async fn regions_other_than_the_fakes_are_empty_or_unknown() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-beijing")]).await;
    assert_eq!((r.status, r.body["TotalCount"].as_u64()), (200, Some(0)));
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "xx-nowhere-1")]).await;
    assert_eq!((r.status, r.code()), (404, "InvalidRegionId.NotFound"));
    let r = c.rpc(ECS, "DescribeInstances", &[]).await;
    assert_eq!((r.status, r.code()), (400, "MissingParameter"));
}

#[tokio::test]
async fn describe_instances_paginates_both_ways() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r =
        c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("PageSize", "2"), ("PageNumber", "2")]).await;
    assert_eq!(r.body["Instances"]["Instance"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["TotalCount"], 3);
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("PageSize", "101")]).await;
    assert_eq!(r.code(), "InvalidParameter");
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("PageSize", "abc")]).await;
    assert_eq!(r.code(), "InvalidParameter");
    assert!(r.body["Message"].as_str().unwrap().contains("PageSize"));

    // Token style: MaxResults below 10 counts as 10, so all three fit.
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("MaxResults", "1")]).await;
    assert_eq!(r.body["Instances"]["Instance"].as_array().unwrap().len(), 3);
    assert_eq!(r.body["NextToken"], "");
}

#[tokio::test]
async fn network_interfaces_describe_and_modify() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r = c
        .rpc(ECS, "DescribeNetworkInterfaces", &[("RegionId", "cn-hangzhou"), ("InstanceId", "i-bp1fakenode000000001")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let set = &r.body["NetworkInterfaceSets"]["NetworkInterfaceSet"][0];
    assert_eq!(set["Type"], "Primary");
    assert_eq!(set["PrivateIpAddress"], "192.168.0.10");
    assert_eq!(set["Attachment"]["InstanceId"], "i-bp1fakenode000000001");
    let eni = set["NetworkInterfaceId"].as_str().unwrap().to_string();

    let r = c
        .rpc(
            ECS,
            "ModifyNetworkInterfaceAttribute",
            &[("RegionId", "cn-hangzhou"), ("NetworkInterfaceId", &eni), ("NetworkInterfaceName", "renamed")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(fake.state().enis[&eni].network_interface_name, "renamed");
    let r =
        c.rpc(ECS, "DescribeNetworkInterfaces", &[("RegionId", "cn-hangzhou"), ("NetworkInterfaceId.1", &eni)]).await;
    assert_eq!(r.body["NetworkInterfaceSets"]["NetworkInterfaceSet"][0]["NetworkInterfaceName"], "renamed");
    let r = c
        .rpc(ECS, "ModifyNetworkInterfaceAttribute", &[("RegionId", "cn-hangzhou"), ("NetworkInterfaceId", "eni-none")])
        .await;
    assert_eq!((r.status, r.code()), (404, "InvalidEniId.NotFound"));
    let r = c.rpc(ECS, "ModifyNetworkInterfaceAttribute", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!((r.status, r.code()), (400, "MissingParameter"));
}

#[tokio::test]
async fn vpcs_vswitches_and_tables() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r = c.rpc(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")]).await;
    let vpc = &r.body["Vpcs"]["Vpc"][0];
    assert_eq!(vpc["CidrBlock"], "192.168.0.0/16");
    assert_eq!(vpc["VSwitchIds"]["VSwitchId"].as_array().unwrap().len(), 2);
    assert_eq!(vpc["RouterTableIds"]["RouterTableIds"][0], "vtb-bp1fakevtb0000000001");
    assert_eq!((r.body["PageNumber"].as_u64(), r.body["PageSize"].as_u64()), (Some(1), Some(10)));

    let r =
        c.rpc(VPC, "DescribeVpcAttribute", &[("RegionId", "cn-hangzhou"), ("VpcId", "vpc-bp1fakevpc0000000001")]).await;
    assert_eq!(r.body["VRouterId"], vpc["VRouterId"]);
    let r = c.rpc(VPC, "DescribeVpcAttribute", &[("RegionId", "cn-hangzhou"), ("VpcId", "vpc-nope")]).await;
    assert_eq!((r.status, r.code()), (404, "InvalidVpcId.NotFound"));

    let r = c.rpc(VPC, "DescribeVSwitches", &[("VpcId", "vpc-bp1fakevpc0000000001"), ("PageSize", "1")]).await;
    assert_eq!(r.body["TotalCount"], 2);
    let vsw = &r.body["VSwitches"]["VSwitch"][0];
    assert_eq!(vsw["RouteTable"]["RouteTableType"], "System");
    assert_eq!(vsw["AvailableIpAddressCount"], 256 - 4 - 2, "two seeded instances use addresses");
    let r = c.rpc(VPC, "DescribeVSwitches", &[("RegionId", "cn-hangzhou"), ("PageSize", "51")]).await;
    assert_eq!(r.code(), "InvalidParameter");

    let r = c
        .rpc(VPC, "DescribeRouteTableList", &[("RegionId", "cn-hangzhou"), ("VpcId", "vpc-bp1fakevpc0000000001")])
        .await;
    let table = &r.body["RouterTableList"]["RouterTableListType"][0];
    assert_eq!(table["RouteTableType"], "System");
    assert_eq!(table["VSwitchIds"]["VSwitchId"].as_array().unwrap().len(), 2);
    let r = c.rpc(VPC, "DescribeRouteTables", &[("RegionId", "cn-hangzhou"), ("PageSize", "50")]).await;
    let entries = r.body["RouteTables"]["RouteTable"][0]["RouteEntrys"]["RouteEntry"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["DestinationCidrBlock"] == "192.168.1.0/24" && e["Type"] == "System"));
}

#[tokio::test]
async fn eips_are_listed() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r = c.rpc(VPC, "DescribeEipAddresses", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!(r.body["TotalCount"], 2);
    let r = c
        .rpc(
            VPC,
            "DescribeEipAddresses",
            &[("RegionId", "cn-hangzhou"), ("AssociatedInstanceId", "i-bp1fakenode000000003")],
        )
        .await;
    let eip = &r.body["EipAddresses"]["EipAddress"][0];
    assert_eq!(eip["Status"], "InUse");
    assert_eq!(eip["InstanceType"], "EcsInstance");
    assert!(eip["Bandwidth"].is_string());
}
