use crate::support::*;

#[tokio::test]
async fn signed_rpc_get_and_post_are_accepted() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let request_id = r.body["RequestId"].as_str().unwrap();
    assert_eq!(r.headers["x-acs-request-id"], request_id);

    // POST with the API parameters in a form body, signed with POST.
    let mut p = c.rpc_params(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]);
    c.rpc_sign("POST", &mut p);
    let form: Vec<String> = p.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
    let headers = vec![("content-type".to_string(), "application/x-www-form-urlencoded".to_string())];
    let r = c.raw("POST", "/", headers, Some(form.join("&").into_bytes())).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn go_sdk_style_plus_for_space_is_decoded_before_verifying() {
    let fake = start().await;
    let c = Client::new(&fake);
    let mut p = c.rpc_params(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou"), ("VpcName", "a b")]);
    c.rpc_sign("GET", &mut p);
    let query: Vec<String> = p.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v).replace("%20", "+"))).collect();
    let r = c.raw("GET", &format!("/?{}", query.join("&")), vec![], None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn wrong_secret_answers_signature_does_not_match_with_string_to_sign() {
    let fake = start().await;
    let mut c = Client::new(&fake);
    c.secret = "wrong".into();
    let mut p = c.rpc_params(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]);
    c.rpc_sign("GET", &mut p);
    let r = c.send_query("GET", &p).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "SignatureDoesNotMatch");
    let canonical: Vec<String> =
        p.iter().filter(|(k, _)| *k != "Signature").map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
    let expected = format!("GET&%2F&{}", enc(&canonical.join("&")));
    let message = r.body["Message"].as_str().unwrap();
    assert_eq!(
        message,
        format!("Specified signature is not matched with our calculation. server string to sign is:{expected}")
    );
    for key in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
        assert!(r.body[key].is_string(), "error body has {key}: {}", r.text);
    }
    assert_eq!(r.headers["x-acs-request-id"], r.body["RequestId"].as_str().unwrap());
}

#[tokio::test]
async fn unknown_key_is_404_not_found() {
    let fake = start().await;
    let mut c = Client::new(&fake);
    c.ak = "nobody".into();
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!((r.status, r.code()), (404, "InvalidAccessKeyId.NotFound"));
}

#[tokio::test]
async fn extra_access_keys_from_config_work() {
    let fake = start_with(|c| c.extra_access_keys.push(("other".into(), "s3cret".into()))).await;
    let mut c = Client::new(&fake);
    c.ak = "other".into();
    c.secret = "s3cret".into();
    let r = c.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn replayed_nonce_is_rejected() {
    let fake = start().await;
    let c = Client::new(&fake);
    let mut p = c.rpc_params(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]);
    c.rpc_sign("GET", &mut p);
    assert_eq!(c.send_query("GET", &p).await.status, 200);
    let again = c.send_query("GET", &p).await;
    assert_eq!((again.status, again.code()), (400, "SignatureNonceUsed"));
}

#[tokio::test]
async fn stale_or_malformed_timestamps_are_rejected() {
    let fake = start().await;
    let c = Client::new(&fake);
    let mut p =
        c.rpc_params(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("Timestamp", "2020-01-01T00:00:00Z")]);
    c.rpc_sign("GET", &mut p);
    let r = c.send_query("GET", &p).await;
    assert_eq!((r.status, r.code()), (400, "InvalidTimeStamp.Expired"));
    let mut p =
        c.rpc_params(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou"), ("Timestamp", "2020-01-01 00:00:00")]);
    c.rpc_sign("GET", &mut p);
    assert_eq!(c.send_query("GET", &p).await.code(), "InvalidTimeStamp.Format");
}

#[tokio::test]
async fn missing_signature_parameters_are_named() {
    let fake = start().await;
    let c = Client::new(&fake);
    let mut p = c.rpc_params(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]);
    p.remove("SignatureNonce");
    c.rpc_sign("GET", &mut p);
    let r = c.send_query("GET", &p).await;
    assert_eq!((r.status, r.code()), (400, "MissingParameter"));
    assert!(r.body["Message"].as_str().unwrap().contains("SignatureNonce"));
}

#[tokio::test]
async fn unknown_version_and_action() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r = c.rpc("2099-01-01", "DescribeInstances", &[]).await;
    assert_eq!((r.status, r.code()), (400, "InvalidVersion"));
    let r = c.rpc(ECS, "DescribeEverything", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!((r.status, r.code()), (404, "InvalidAction.NotFound"));
    let r = c.v3(VPC, "DescribeEverything", &[]).await;
    assert_eq!((r.status, r.code()), (404, "InvalidAction.NotFound"));
}

#[tokio::test]
async fn v3_signed_calls_are_verified() {
    let fake = start().await;
    let mut c = Client::new(&fake);
    let r = c.v3(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["Vpcs"]["Vpc"].as_array().unwrap().len(), 1);
    c.secret = "wrong".into();
    let r = c.v3(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!((r.status, r.code()), (400, "SignatureDoesNotMatch"));
    assert!(r.body["Message"].as_str().unwrap().contains("server string to sign is:ACS3-HMAC-SHA256\n"));
}

#[tokio::test]
async fn v3_body_must_match_its_hash_and_form_bodies_are_parameters() {
    let fake = start().await;
    let c = Client::new(&fake);
    let body = b"RegionId=cn-hangzhou".to_vec();
    let ct = "application/x-www-form-urlencoded";
    let (path, headers) = c.v3_parts(VPC, "DescribeVpcs", &[], &body, Some(ct));
    let r = c.raw("POST", &path, headers.clone(), Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (path, headers) = c.v3_parts(VPC, "DescribeVpcs", &[], b"RegionId=cn-hangzhou", Some(ct));
    let r = c.raw("POST", &path, headers, Some(b"RegionId=cn-beijing".to_vec())).await;
    assert_eq!(r.code(), "SignatureDoesNotMatch");
}

#[tokio::test]
async fn v3_requires_the_mandatory_signed_headers() {
    let fake = start().await;
    let c = Client::new(&fake);
    let (path, mut headers) = c.v3_parts(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")], b"", None);
    headers.retain(|(k, _)| k != "x-acs-signature-nonce");
    let r = c.raw("POST", &path, headers, None).await;
    assert_eq!((r.status, r.code()), (400, "IncompleteSignature"));
}

#[tokio::test]
async fn rpc_without_format_answers_xml() {
    let fake = start().await;
    let c = Client::new(&fake);
    let mut p = c.rpc_params(ECS, "DescribeRegions", &[]);
    p.remove("Format");
    c.rpc_sign("GET", &mut p);
    let r = c.send_query("GET", &p).await;
    assert_eq!(r.status, 200);
    assert!(r.text.starts_with("<?xml"), "{}", r.text);
    assert!(r.text.contains("<DescribeRegionsResponse>"));
    let mut p = c.rpc_params(ECS, "DescribeRegions", &[("Format", "json")]);
    c.rpc_sign("GET", &mut p);
    assert!(c.send_query("GET", &p).await.body.is_object());
}
