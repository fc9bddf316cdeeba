use crate::support::*;

const TABLE: &str = "vtb-bp1fakevtb0000000001";
const NODE1: &str = "i-bp1fakenode000000001";
const NODE2: &str = "i-bp1fakenode000000002";

async fn create(c: &Client, dest: &str, hop: &str) -> Reply {
    c.rpc(
        VPC,
        "CreateRouteEntry",
        &[
            ("RegionId", "cn-hangzhou"),
            ("RouteTableId", TABLE),
            ("DestinationCidrBlock", dest),
            ("NextHopId", hop),
            ("NextHopType", "Instance"),
        ],
    )
    .await
}

async fn entries(c: &Client) -> Vec<serde_json::Value> {
    let r = c
        .rpc(
            VPC,
            "DescribeRouteEntryList",
            &[("RegionId", "cn-hangzhou"), ("RouteTableId", TABLE), ("RouteEntryType", "Custom"), ("MaxResult", "100")],
        )
        .await;
    r.body["RouteEntrys"]["RouteEntry"].as_array().unwrap().clone()
}

async fn settle(c: &Client) {
    let r = c.admin("POST", "/_fake/clock/advance", Some(serde_json::json!({"seconds": 120}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn create_is_pending_then_available_and_blocks_the_table_meanwhile() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r = create(&c, "172.20.1.0/24", NODE1).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.body["RouteEntryId"].as_str().unwrap().to_string();
    assert!(id.starts_with("rte-"));
    let listed = entries(&c).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["Status"], "Pending");
    assert_eq!(listed[0]["NextHops"]["NextHop"][0]["NextHopId"], NODE1);

    let blocked = create(&c, "172.20.2.0/24", NODE2).await;
    assert_eq!((blocked.status, blocked.code()), (400, "IncorrectRouteEntryStatus"));
    let dup = create(&c, "172.20.1.0/24", NODE2).await;
    assert_eq!((dup.status, dup.code()), (400, "InvalidCIDRBlock.Duplicate"));

    settle(&c).await;
    assert_eq!(entries(&c).await[0]["Status"], "Available");
    assert_eq!(create(&c, "172.20.2.0/24", NODE2).await.status, 200);
    let state = c.admin("GET", "/_fake/state", None).await;
    let dumped = state.body["route_tables"][TABLE]["entries"].as_array().unwrap();
    assert!(dumped.iter().any(|e| e["destination_cidr_block"] == "172.20.2.0/24"));
}

#[tokio::test]
async fn delete_by_destination_and_not_found() {
    let fake = start().await;
    let c = Client::new(&fake);
    assert_eq!(create(&c, "172.20.1.0/24", NODE1).await.status, 200);
    let early = c
        .rpc(
            VPC,
            "DeleteRouteEntry",
            &[("RegionId", "cn-hangzhou"), ("RouteTableId", TABLE), ("DestinationCidrBlock", "172.20.1.0/24")],
        )
        .await;
    assert_eq!(early.code(), "IncorrectRouteEntryStatus", "only Available entries can be deleted");
    settle(&c).await;
    let r = c
        .rpc(
            VPC,
            "DeleteRouteEntry",
            &[
                ("RegionId", "cn-hangzhou"),
                ("RouteTableId", TABLE),
                ("DestinationCidrBlock", "172.20.1.0/24"),
                ("NextHopId", NODE1),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(entries(&c).await[0]["Status"], "Deleting");
    settle(&c).await;
    assert!(entries(&c).await.is_empty());
    let r = c
        .rpc(
            VPC,
            "DeleteRouteEntry",
            &[("RegionId", "cn-hangzhou"), ("RouteTableId", TABLE), ("DestinationCidrBlock", "172.20.1.0/24")],
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "InvalidRouteEntry.NotFound"));
    let r = c
        .rpc(
            VPC,
            "DeleteRouteEntry",
            &[("RegionId", "cn-hangzhou"), ("RouteTableId", "vtb-nope"), ("DestinationCidrBlock", "172.20.1.0/24")],
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "InvalidRouteTableId.NotFound"));
}

#[tokio::test]
async fn create_validates_destination_next_hop_and_quota() {
    let fake = start_with(|c| {
        c.seed.route_entry_delay_ms = Some(0);
        c.seed.route_entry_quota = Some(2);
    })
    .await;
    let c = Client::new(&fake);
    assert_eq!(create(&c, "192.168.0.0/25", NODE1).await.code(), "InvalidCidrBlock");
    assert_eq!(create(&c, "100.64.1.0/24", NODE1).await.code(), "InvalidCidrBlock");
    assert_eq!(create(&c, "300.1.0.0/24", NODE1).await.code(), "InvalidCidrBlock.Malformed");
    let r = create(&c, "172.20.9.0/24", "i-nope").await;
    assert_eq!((r.status, r.code()), (404, "InvalidNextHopId.NotFound"));
    let r = c
        .rpc(
            VPC,
            "CreateRouteEntry",
            &[("RegionId", "cn-hangzhou"), ("RouteTableId", TABLE), ("DestinationCidrBlock", "172.20.9.0/24")],
        )
        .await;
    assert_eq!(r.code(), "MissingParameter");
    let r = c
        .rpc(
            VPC,
            "CreateRouteEntry",
            &[
                ("RegionId", "cn-hangzhou"),
                ("RouteTableId", "vtb-nope"),
                ("DestinationCidrBlock", "172.20.9.0/24"),
                ("NextHopId", NODE1),
            ],
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "InvalidRouteTableId.NotFound"));

    assert_eq!(create(&c, "172.20.1.0/24", NODE1).await.status, 200);
    assert_eq!(create(&c, "172.20.2.5", NODE1).await.status, 200, "a bare IP is a /32");
    assert!(entries(&c).await.iter().any(|e| e["DestinationCidrBlock"] == "172.20.2.5/32"));
    let r = create(&c, "172.20.3.0/24", NODE2).await;
    assert_eq!((r.status, r.code()), (400, "QuotaExceeded"));
    let r = create(&c, "fd00:20::/64", NODE2).await;
    assert_eq!(r.code(), "QuotaExceeded");
}

#[tokio::test]
async fn next_hop_must_be_in_the_tables_vpc() {
    let seed = aliyun_fake::Seed::parse(
        r#"
access_keys: [{id: fake-ak, secret: fake-secret}]
route_entry_delay_ms: 0
vpcs:
  - {id: vpc-a, cidr: 10.0.0.0/16, vswitches: [{id: vsw-a, zone: cn-hangzhou-h, cidr: 10.0.0.0/24}], route_tables: [{id: vtb-a, type: System}]}
  - {id: vpc-b, cidr: 10.1.0.0/16, vswitches: [{id: vsw-b, zone: cn-hangzhou-h, cidr: 10.1.0.0/24}]}
instances:
  - {id: i-a, vswitch: vsw-a}
  - {id: i-b, vswitch: vsw-b}
"#,
    )
    .unwrap();
    let fake = start_with(|c| c.seed = seed).await;
    let c = Client::new(&fake);
    let r = c
        .rpc(
            VPC,
            "CreateRouteEntry",
            &[
                ("RegionId", "cn-hangzhou"),
                ("RouteTableId", "vtb-a"),
                ("DestinationCidrBlock", "172.16.0.0/24"),
                ("NextHopId", "i-b"),
            ],
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "IllegalParam.NextHopId"));
    let r = c
        .rpc(
            VPC,
            "CreateRouteEntry",
            &[
                ("RegionId", "cn-hangzhou"),
                ("RouteTableId", "vtb-a"),
                ("DestinationCidrBlock", "172.16.0.0/24"),
                ("NextHopId", "i-a"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn batch_create_and_delete_report_each_item() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r = c
        .rpc(
            VPC,
            "CreateRouteEntries",
            &[
                ("RegionId", "cn-hangzhou"),
                ("RouteEntries.1.RouteTableId", TABLE),
                ("RouteEntries.1.DstCidrBlock", "172.20.1.0/24"),
                ("RouteEntries.1.NextHop", NODE1),
                ("RouteEntries.1.NextHopType", "Instance"),
                ("RouteEntries.2.RouteTableId", TABLE),
                ("RouteEntries.2.DstCidrBlock", "172.20.2.0/24"),
                ("RouteEntries.2.NextHop", NODE2),
                ("RouteEntries.2.NextHopType", "Instance"),
                ("RouteEntries.3.RouteTableId", TABLE),
                ("RouteEntries.3.DstCidrBlock", "172.20.1.0/24"),
                ("RouteEntries.3.NextHop", NODE2),
                ("RouteEntries.3.NextHopType", "Instance"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["SuccessCount"], 2);
    assert_eq!(r.body["FailedCount"], 1);
    assert_eq!(r.body["RouteEntryIds"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["FailedRouteEntries"][0]["FailedCode"], "InvalidCIDRBlock.Duplicate");
    settle(&c).await;
    let r = c
        .rpc(
            VPC,
            "DeleteRouteEntries",
            &[
                ("RegionId", "cn-hangzhou"),
                ("RouteEntries.1.RouteTableId", TABLE),
                ("RouteEntries.1.DstCidrBlock", "172.20.1.0/24"),
                ("RouteEntries.1.NextHop", NODE1),
                ("RouteEntries.2.RouteTableId", TABLE),
                ("RouteEntries.2.DstCidrBlock", "172.20.9.0/24"),
            ],
        )
        .await;
    assert_eq!((r.body["SuccessCount"].as_u64(), r.body["FailedCount"].as_u64()), (Some(1), Some(1)));
    assert_eq!(r.body["FailedRouteEntries"][0]["FailedCode"], "InvalidRouteEntry.NotFound");

    let mut many = vec![("RegionId".to_string(), "cn-hangzhou".to_string())];
    for i in 1..=51 {
        many.push((format!("RouteEntries.{i}.RouteTableId"), TABLE.to_string()));
        many.push((format!("RouteEntries.{i}.DstCidrBlock"), format!("172.21.{i}.0/24")));
        many.push((format!("RouteEntries.{i}.NextHop"), NODE1.to_string()));
    }
    let refs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = c.rpc(VPC, "CreateRouteEntries", &refs).await;
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"), "at most 50 per call");
}

#[tokio::test]
async fn route_entry_list_pages_with_next_token() {
    let fake = start_with(|c| c.seed.route_entry_delay_ms = Some(0)).await;
    let c = Client::new(&fake);
    for i in 0..5 {
        assert_eq!(create(&c, &format!("172.20.{i}.0/24"), NODE1).await.status, 200);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let mut params = vec![
            ("RegionId", "cn-hangzhou"),
            ("RouteTableId", TABLE),
            ("RouteEntryType", "Custom"),
            ("MaxResult", "2"),
        ];
        if !token.is_empty() {
            params.push(("NextToken", token.as_str()));
        }
        let r = c.rpc(VPC, "DescribeRouteEntryList", &params).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.body["RouteEntrys"]["RouteEntry"].as_array().unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|e| e["DestinationCidrBlock"].as_str().unwrap().to_string()));
        token = r.body["NextToken"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    let r = c
        .rpc(
            VPC,
            "DescribeRouteEntryList",
            &[("RegionId", "cn-hangzhou"), ("RouteTableId", TABLE), ("NextToken", "garbage")],
        )
        .await;
    assert_eq!(r.status, 400);
}
