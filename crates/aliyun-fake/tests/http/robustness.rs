use crate::support::*;

#[tokio::test]
async fn malformed_query_strings_answer_errors() {
    let fake = start().await;
    let c = Client::new(&fake);
    for bad in ["/?Action=%zz&Version=2014-05-26", "/?Action=%E4&Version=2014-05-26", "/?a=1&a=2", "/?=1", "/?%"] {
        let r = c.raw("GET", bad, vec![], None).await;
        assert_eq!((r.status, r.code()), (400, "InvalidParameter"), "{bad}: {}", r.text);
    }
    let r = c.raw("GET", "/", vec![], None).await;
    assert_eq!((r.status, r.code()), (400, "MissingParameter"));
    let r = c.raw("DELETE", "/?Action=DescribeInstances&Version=2014-05-26", vec![], None).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn huge_inputs_are_refused_without_harm() {
    let fake = start().await;
    let c = Client::new(&fake);
    let big = vec![b'a'; 2 * 1024 * 1024];
    let headers = vec![("content-type".to_string(), "application/x-www-form-urlencoded".to_string())];
    let r = c.raw("POST", "/", headers.clone(), Some(big)).await;
    assert_eq!(r.status, 413);
    let many: Vec<String> = (0..1500).map(|i| format!("p{i}=v")).collect();
    let r = c.raw("POST", "/", headers.clone(), Some(many.join("&").into_bytes())).await;
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
    let long_value = format!("Action=DescribeInstances&Version=2014-05-26&X={}", "z".repeat(500_000));
    let r = c.raw("POST", "/", headers.clone(), Some(long_value.into_bytes())).await;
    assert_eq!(r.status, 400);
    let r = c.raw("POST", "/", headers, Some(vec![0xff, 0xfe, 0x00])).await;
    assert_eq!(r.status, 400);
    // Still serving.
    assert_eq!(c.rpc(ECS, "DescribeRegions", &[]).await.status, 200);
}

#[tokio::test]
async fn wrong_types_in_signed_requests_name_the_field() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r = c.rpc(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou"), ("IsDefault", "perhaps")]).await;
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
    assert!(r.body["Message"].as_str().unwrap().contains("IsDefault"));
    let r = c
        .rpc(
            VPC,
            "DescribeRouteEntryList",
            &[("RegionId", "cn-hangzhou"), ("RouteTableId", "vtb-bp1fakevtb0000000001"), ("MaxResult", "-1")],
        )
        .await;
    assert_eq!(r.code(), "InvalidParameter");
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("InstanceIds", "[1,2]")]).await;
    assert_eq!(r.code(), "InvalidParameter");
}

#[tokio::test]
async fn random_garbage_never_breaks_the_server() {
    let fake = start().await;
    let c = Client::new(&fake);
    let alphabet = b"%&=+.AZaz09-_~/?:[]\x7f";
    for round in 0..200u32 {
        let len = (round % 40) as usize;
        let q: String = (0..len)
            .map(|i| alphabet[(round as usize * 7 + i * 13) % alphabet.len()] as char)
            .filter(|ch| !ch.is_control() && *ch != '?')
            .collect();
        let path = format!("/?Action=DescribeInstances&Version=2014-05-26&{}", q.replace(['[', ']', ' '], "%5B"));
        let r = c.raw("GET", &path, vec![], None).await;
        assert!(r.status == 400 || r.status == 404, "{path}: {} {}", r.status, r.text);
    }
    assert_eq!(c.rpc(ECS, "DescribeRegions", &[]).await.status, 200);
}
