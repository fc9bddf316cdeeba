//! The client against `aliyun-fake`, whose signature verifier is an independent implementation: both
//! signature schemes and methods, typed models on real-shaped answers, pagination, throttling with retries,
//! and temporary credentials from the metadata server.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::BTreeMap;

use aliyun_api::{
    Client, Credentials, Endpoints, RawRequest, SignatureVersion, Tag,
    client::HttpMethod,
    credentials::{EcsRamRoleProvider, StaticProvider},
    ecs::DescribeInstances,
    ratelimit::RateLimits,
    retry::RetryPolicy,
    slb::{
        AddressType, BackendServer, CreateLoadBalancer, CreateVServerGroup, DescribeLoadBalancerAttribute,
        DescribeLoadBalancers, DescribeVServerGroupAttribute, OnOff,
    },
    vpc::{CreateRouteEntry, DescribeRouteEntryList, DescribeRouteTableList},
};
use aliyun_fake::{FakeCloud, FakeConfig, FakeHandle, faults::FaultConfig};

const REGION: &str = "cn-hangzhou";

async fn fake() -> FakeHandle {
    FakeCloud::start(FakeConfig::default()).await.unwrap()
}

fn client(fake: &FakeHandle, signature: SignatureVersion, method: HttpMethod) -> Client {
    Client::builder(REGION)
        .endpoints(Endpoints::new(REGION).with_all(fake.endpoint()))
        .credentials(StaticProvider::new(Credentials::access_key("fake-ak", "fake-secret")))
        .signature(signature)
        .method(method)
        .rate_limits(RateLimits::unlimited())
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_signing_mode_is_accepted_and_typed_models_parse() {
    let fake = fake().await;
    for (signature, method) in [
        (SignatureVersion::V1, HttpMethod::Post),
        (SignatureVersion::V1, HttpMethod::Get),
        (SignatureVersion::V3, HttpMethod::Post),
    ] {
        let c = client(&fake, signature, method);
        let instances = c.collect_next_token(DescribeInstances::default()).await.unwrap();
        assert_eq!(instances.len(), 3, "{signature:?} {method:?}: the default seed has three instances");
        assert!(instances.iter().all(|i| i.instance_id.starts_with("i-") && !i.private_ips().is_empty()));
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn unicode_and_reserved_characters_sign_identically_on_both_sides() {
    let fake = fake().await;
    for signature in [SignatureVersion::V1, SignatureVersion::V3] {
        let c = client(&fake, signature, HttpMethod::Post);
        let raw = RawRequest::new(aliyun_api::Product::Vpc, "DescribeVpcs").param("VpcName", "名字 a+b=c&d*e~f'(g)");
        let answer = c.call_raw(&raw).await.unwrap();
        assert!(answer["RequestId"].is_string(), "{signature:?}: {answer}");
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_the_servers_string_to_sign() {
    let fake = fake().await;
    let c = Client::builder(REGION)
        .endpoints(Endpoints::new(REGION).with_all(fake.endpoint()))
        .credentials(StaticProvider::new(Credentials::access_key("fake-ak", "not-the-secret")))
        .build()
        .unwrap();
    let err = c.call(&DescribeInstances::default()).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.code, "SignatureDoesNotMatch");
    assert!(api.message.contains("server string to sign is:POST&%2F&"), "{}", api.message);
    assert!(!api.request_id.is_empty());
    fake.shutdown().await;
}

#[tokio::test]
async fn routes_written_are_listed_back() {
    let fake = fake().await;
    let c = client(&fake, SignatureVersion::V1, HttpMethod::Post);
    let tables = c.collect_pages(DescribeRouteTableList::default()).await.unwrap();
    let table = &tables[0].route_table_id;
    let instance = c.collect_next_token(DescribeInstances::default()).await.unwrap()[0].instance_id.clone();
    let created =
        c.call(&CreateRouteEntry::to_instance(table.clone(), "172.20.1.0/24", instance.clone())).await.unwrap();
    assert!(created.route_entry_id.starts_with("rte-"), "{created:?}");
    let routes = c.collect_next_token(DescribeRouteEntryList::custom_instance_routes(table.clone())).await.unwrap();
    let route = routes.iter().find(|r| r.destination_cidr_block == "172.20.1.0/24").unwrap();
    assert_eq!(route.instance_next_hop(), Some(instance.as_str()));
    fake.shutdown().await;
}

#[tokio::test]
async fn an_intranet_load_balancer_gets_an_address_of_its_vswitch() {
    let fake = fake().await;
    let c = client(&fake, SignatureVersion::V3, HttpMethod::Post);
    let instance = c.collect_next_token(DescribeInstances::default()).await.unwrap().remove(0);
    let vswitch = instance.vpc_attributes.vswitch_id.clone();
    let created = c
        .call(&CreateLoadBalancer {
            load_balancer_name: Some("svc-a".into()),
            address_type: Some(AddressType::Intranet),
            vswitch_id: Some(vswitch.clone()),
            client_token: Some("token-1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(created.address.starts_with("192.168."), "{created:?}");
    let attribute =
        c.call(&DescribeLoadBalancerAttribute { load_balancer_id: created.load_balancer_id.clone() }).await.unwrap();
    assert_eq!(attribute.load_balancer.vswitch_id, vswitch);
    assert_eq!(attribute.load_balancer.address, created.address);
    fake.shutdown().await;
}

/// What the CLB controller relies on to find a load balancer in one call and fill a new group in one call: the
/// listing carries the attributes and tags, and `CreateVServerGroup` takes its first backends.
#[tokio::test]
async fn listings_carry_tags_and_groups_are_created_with_their_backends() {
    let fake = fake().await;
    let c = client(&fake, SignatureVersion::V1, HttpMethod::Get);
    let instance = c.collect_next_token(DescribeInstances::default()).await.unwrap().remove(0);
    let created = c
        .call(&CreateLoadBalancer {
            load_balancer_name: Some("svc-b".into()),
            address_type: Some(AddressType::Intranet),
            vswitch_id: Some(instance.vpc_attributes.vswitch_id.clone()),
            delete_protection: Some(OnOff::On),
            tags: vec![Tag::new("kubernetes.do.not.delete", "svc-b")],
            ..Default::default()
        })
        .await
        .unwrap();
    let by_id =
        DescribeLoadBalancers { load_balancer_ids: vec![created.load_balancer_id.clone()], ..Default::default() };
    let listed = c.collect_pages(by_id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].delete_protection, Some(OnOff::On));
    assert_eq!(listed[0].tag("kubernetes.do.not.delete"), Some("svc-b"));

    let backend = BackendServer::ecs(&instance.instance_id, 30080, 100).with_description("k8s/30080/web/default/c1");
    let group = c
        .call(&CreateVServerGroup {
            load_balancer_id: created.load_balancer_id.clone(),
            vserver_group_name: Some("k8s/30080/web/default/c1".into()),
            backend_servers: vec![backend],
            ..Default::default()
        })
        .await
        .unwrap();
    let members = c.call(&DescribeVServerGroupAttribute::new(&group.vserver_group_id)).await.unwrap().backend_servers;
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].server_id.as_str(), members[0].port), (instance.instance_id.as_str(), 30080));
    assert_eq!(members[0].description, "k8s/30080/web/default/c1");
    fake.shutdown().await;
}

#[tokio::test]
async fn throttled_reads_are_retried_until_they_pass() {
    let fake = fake().await;
    fake.set_faults(FaultConfig { qps: BTreeMap::from([("DescribeVpcs".to_owned(), 1)]), ..Default::default() });
    let c = Client::builder(REGION)
        .endpoints(Endpoints::new(REGION).with_all(fake.endpoint()))
        .credentials(StaticProvider::new(Credentials::access_key("fake-ak", "fake-secret")))
        .rate_limits(RateLimits::unlimited())
        .retry(RetryPolicy { max_attempts: 10, ..RetryPolicy::default() })
        .build()
        .unwrap();
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.call_raw(&RawRequest::new(aliyun_api::Product::Vpc, "DescribeVpcs")).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert!(fake.call_count("DescribeVpcs") > 3, "some calls must have been throttled and retried");
    fake.shutdown().await;
}

#[tokio::test]
async fn temporary_credentials_from_the_metadata_server_sign_calls() {
    let fake = fake().await;
    let provider = EcsRamRoleProvider::new().with_endpoint(fake.endpoint());
    let c = Client::builder(REGION)
        .endpoints(Endpoints::new(REGION).with_all(fake.endpoint()))
        .credentials(provider)
        .rate_limits(RateLimits::unlimited())
        .build()
        .unwrap();
    let instances = c.call(&DescribeInstances::default()).await.unwrap();
    assert_eq!(instances.total_count, 3);
    fake.shutdown().await;
}
