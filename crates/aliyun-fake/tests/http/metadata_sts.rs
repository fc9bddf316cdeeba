use base64::Engine as _;
use serde_json::json;

use crate::support::*;

fn jwt() -> String {
    let e = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2lnbmF0dXJl",
        e(json!({"alg": "RS256"})),
        e(json!({"sub": "system:serviceaccount:kube-system:ccm", "aud": "sts.aliyuncs.com"}))
    )
}

#[tokio::test]
async fn metadata_items_of_the_first_instance() {
    let fake = start().await;
    let c = Client::new(&fake);
    let get = |p: &str| {
        let p = p.to_string();
        let c = &c;
        async move { c.raw("GET", &p, vec![], None).await }
    };
    assert_eq!(get("/latest/meta-data/instance-id").await.text, "i-bp1fakenode000000001");
    assert_eq!(get("/latest/meta-data/region-id").await.text, "cn-hangzhou");
    assert_eq!(get("/latest/meta-data/zone-id").await.text, "cn-hangzhou-h");
    assert_eq!(get("/latest/meta-data/private-ipv4").await.text, "192.168.0.10");
    assert_eq!(get("/latest/meta-data/vpc-cidr-block").await.text, "192.168.0.0/16");
    assert_eq!(get("/latest/meta-data/vswitch-id").await.text, "vsw-bp1fakevswh000000001");
    assert_eq!(get("/latest/meta-data/owner-account-id").await.text, "1234567890123456");
    assert_eq!(get("/latest/meta-data/eipv4").await.status, 404, "node-1 has no EIP");
    let mac = get("/latest/meta-data/mac").await.text;
    assert!(mac.starts_with("00:16:3e:"));
    let eni = get(&format!("/latest/meta-data/network/interfaces/macs/{mac}/network-interface-id")).await;
    assert!(eni.text.starts_with("eni-"));
    assert_eq!(get("/latest/meta-data/nothing").await.status, 404);
}

#[tokio::test]
async fn metadata_tokens_when_required() {
    let fake = start_with(|c| {
        c.metadata_token_required = true;
        c.metadata_instance = Some("i-bp1fakenode000000003".into());
    })
    .await;
    let c = Client::new(&fake);
    assert_eq!(c.raw("GET", "/latest/meta-data/instance-id", vec![], None).await.status, 403);
    let bad_ttl = vec![("x-aliyun-ecs-metadata-token-ttl-seconds".to_string(), "0".to_string())];
    assert_eq!(c.raw("PUT", "/latest/api/token", bad_ttl, None).await.status, 400);
    let ttl = vec![("x-aliyun-ecs-metadata-token-ttl-seconds".to_string(), "21600".to_string())];
    let token = c.raw("PUT", "/latest/api/token", ttl, None).await.text;
    let with = vec![("x-aliyun-ecs-metadata-token".to_string(), token)];
    let r = c.raw("GET", "/latest/meta-data/instance-id", with.clone(), None).await;
    assert_eq!(r.text, "i-bp1fakenode000000003");
    assert!(c.raw("GET", "/latest/meta-data/eipv4", with, None).await.text.starts_with("198.1"));
    let wrong = vec![("x-aliyun-ecs-metadata-token".to_string(), "nope".to_string())];
    assert_eq!(c.raw("GET", "/latest/meta-data/instance-id", wrong, None).await.status, 401);
}

#[tokio::test]
async fn ram_role_credentials_sign_calls_with_their_token() {
    let fake = start().await;
    let c = Client::new(&fake);
    let role = c.raw("GET", "/latest/meta-data/ram/security-credentials/", vec![], None).await.text;
    assert_eq!(role, "aliyun-fake-node-role");
    let creds = c.raw("GET", &format!("/latest/meta-data/ram/security-credentials/{role}"), vec![], None).await;
    assert_eq!(creds.body["Code"], "Success");
    let again = c.raw("GET", &format!("/latest/meta-data/ram/security-credentials/{role}"), vec![], None).await;
    assert_eq!(again.body["AccessKeyId"], creds.body["AccessKeyId"], "cached until near expiry");
    assert_eq!(c.raw("GET", "/latest/meta-data/ram/security-credentials/other", vec![], None).await.status, 404);

    let mut sts = Client::new(&fake);
    sts.ak = creds.body["AccessKeyId"].as_str().unwrap().into();
    sts.secret = creds.body["AccessKeySecret"].as_str().unwrap().into();
    sts.token = Some(creds.body["SecurityToken"].as_str().unwrap().into());
    assert_eq!(sts.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await.status, 200);
    assert_eq!(sts.v3(VPC, "DescribeVpcs", &[("RegionId", "cn-hangzhou")]).await.status, 200);
    let who = sts.rpc(STS, "GetCallerIdentity", &[]).await;
    assert_eq!(who.body["IdentityType"], "AssumedRoleUser");

    sts.token = Some("forged".into());
    let r = sts.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!(r.code(), "InvalidSecurityToken.MismatchWithAccessKey");
    sts.token = None;
    let r = sts.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!(r.code(), "MissingSecurityToken");

    // Expired after the fake's clock moves past the 6-hour lifetime; the
    // signature timestamp window still follows the real clock.
    c.admin("POST", "/_fake/clock/advance", Some(json!({"seconds": 7 * 3600}))).await;
    sts.token = Some(creds.body["SecurityToken"].as_str().unwrap().into());
    let r = sts.rpc(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await;
    assert_eq!(r.code(), "InvalidSecurityToken.Expired");
}

#[tokio::test]
async fn assume_role_with_oidc_is_anonymous_and_validated() {
    let fake = start().await;
    let c = Client::new(&fake);
    let query = |extra: &[(&str, &str)]| {
        let mut p = vec![("Action", "AssumeRoleWithOIDC"), ("Version", STS), ("Format", "JSON"), ("Timestamp", "x")];
        p.extend_from_slice(extra);
        let q: Vec<String> = p.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        format!("/?{}", q.join("&"))
    };
    let token = jwt();
    let form = format!(
        "RoleArn={}&OIDCProviderArn={}&OIDCToken={}&RoleSessionName=ccm",
        enc("acs:ram::1234567890123456:role/ccm"),
        enc("acs:ram::1234567890123456:oidc-provider/ack-rrsa"),
        enc(&token)
    );
    let headers = vec![("content-type".to_string(), "application/x-www-form-urlencoded".to_string())];
    let r = c.raw("POST", &query(&[]), headers.clone(), Some(form.into_bytes())).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let cred = &r.body["Credentials"];
    assert!(cred["AccessKeyId"].as_str().unwrap().starts_with("STS."));
    assert!(r.body["AssumedRoleUser"]["Arn"].as_str().unwrap().ends_with("role/ccm/ccm"));

    let mut sts = Client::new(&fake);
    sts.ak = cred["AccessKeyId"].as_str().unwrap().into();
    sts.secret = cred["AccessKeySecret"].as_str().unwrap().into();
    sts.token = Some(cred["SecurityToken"].as_str().unwrap().into());
    assert_eq!(sts.v3(ECS, "DescribeInstances", &[("RegionId", "cn-hangzhou")]).await.status, 200);

    let missing =
        c.raw("POST", &query(&[("OIDCToken", &token), ("RoleArn", "acs:ram::1:role/ccm")]), vec![], None).await;
    assert_eq!((missing.status, missing.code()), (400, "MissingParameter"));
    assert!(missing.body["Message"].as_str().unwrap().contains("OIDCProviderArn"));
    let bad = c
        .raw(
            "POST",
            &query(&[
                ("OIDCToken", "not-a-jwt"),
                ("RoleArn", "acs:ram::1:role/ccm"),
                ("OIDCProviderArn", "acs:ram::1:oidc-provider/p"),
            ]),
            vec![],
            None,
        )
        .await;
    assert_eq!(bad.code(), "InvalidParameter.OIDCToken");
}

#[tokio::test]
async fn assume_role_needs_a_signature_and_issues_credentials() {
    let fake = start().await;
    let c = Client::new(&fake);
    let r = c
        .rpc(STS, "AssumeRole", &[("RoleArn", "acs:ram::1234567890123456:role/ccm"), ("RoleSessionName", "test")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["Credentials"]["SecurityToken"].is_string());
    let r = c.rpc(STS, "AssumeRole", &[("RoleArn", "bogus"), ("RoleSessionName", "test")]).await;
    assert_eq!(r.code(), "InvalidParameter.RoleArn");
    let r = c
        .rpc(
            STS,
            "AssumeRole",
            &[("RoleArn", "acs:ram::1:role/ccm"), ("RoleSessionName", "test"), ("DurationSeconds", "60")],
        )
        .await;
    assert_eq!(r.code(), "InvalidParameter.DurationSeconds");
}
