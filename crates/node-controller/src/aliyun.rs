//! The adapter: [`NodeCloud`] over `aliyun_api::Client`, with the calls the Go CCM makes.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Duration,
};

use aliyun_api::{
    Client,
    ecs::{DescribeInstances, DescribeNetworkInterfaces, Instance, ModifyNetworkInterfaceAttribute},
};

use crate::{
    cloud::{EcsInstance, InstanceStatus, MAX_IDS_PER_CALL, NodeCloud},
    error::{Error, Result},
};

/// Asks `DescribeInstances` for the primary ENI's addresses (its IPv6s among them), as the Go CCM does.
const PRIMARY_ENI_ATTRIBUTE: &str = "NETWORK_PRIMARY_ENI_IP";
/// The error ECS answers while another change of the same ENI is in progress.
const ENI_CONFLICT: &str = "InvalidOperation.Conflict";
/// Attempts of `ModifyNetworkInterfaceAttribute` while the ENI is busy.
const ENI_CONFLICT_ATTEMPTS: u32 = 3;
/// Pause between those attempts.
const ENI_CONFLICT_PAUSE: Duration = Duration::from_secs(1);

/// [`NodeCloud`] for Alibaba Cloud: one `aliyun_api::Client` per region the cluster's nodes live in.
#[derive(Debug, Clone)]
pub struct AliyunNodeCloud {
    clients: HashMap<String, Client>,
}

impl AliyunNodeCloud {
    /// An adapter calling `client`'s region.
    pub fn new(client: Client) -> Self {
        Self { clients: HashMap::new() }.with_region_client(client)
    }

    /// Adds a client for another region (nodes whose provider ID names a region without a client are never
    /// changed: lookups for them fail).
    pub fn with_region_client(mut self, client: Client) -> Self {
        self.clients.insert(client.region().to_owned(), client);
        self
    }

    fn client(&self, region: &str) -> Result<&Client> {
        self.clients.get(region).ok_or_else(|| Error::NoClientForRegion(region.to_owned()))
    }

    async fn describe_instances(&self, region: &str, request: DescribeInstances) -> Result<Vec<EcsInstance>> {
        let client = self.client(region)?;
        let instances = client
            .collect_next_token(request)
            .await
            .map_err(|source| Error::Cloud { call: "DescribeInstances", source })?;
        Ok(instances.iter().map(to_ecs_instance).collect())
    }
}

fn describe_request() -> DescribeInstances {
    DescribeInstances {
        max_results: Some(DescribeInstances::MAX_RESULTS),
        additional_attributes: vec![PRIMARY_ENI_ATTRIBUTE.to_owned()],
        ..DescribeInstances::default()
    }
}

impl NodeCloud for AliyunNodeCloud {
    async fn instances_by_ids(&self, region: &str, ids: &[String]) -> Result<Vec<EcsInstance>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_IDS_PER_CALL) {
            let request = DescribeInstances { instance_ids: chunk.to_vec(), ..describe_request() };
            found.extend(self.describe_instances(region, request).await?);
        }
        Ok(found)
    }

    async fn instances_by_private_ips(&self, region: &str, vpc_id: &str, ips: &[Ipv4Addr]) -> Result<Vec<EcsInstance>> {
        let mut found = Vec::new();
        for chunk in ips.chunks(MAX_IDS_PER_CALL) {
            let request = DescribeInstances {
                private_ip_addresses: chunk.iter().map(ToString::to_string).collect(),
                vpc_id: Some(vpc_id.to_owned()),
                ..describe_request()
            };
            found.extend(self.describe_instances(region, request).await?);
        }
        Ok(found)
    }

    async fn source_dest_check_enabled(&self, region: &str, eni_ids: &[String]) -> Result<Vec<String>> {
        let client = self.client(region)?;
        let mut enabled = Vec::new();
        for chunk in eni_ids.chunks(MAX_IDS_PER_CALL) {
            let request = DescribeNetworkInterfaces {
                max_results: Some(MAX_IDS_PER_CALL as u32),
                ..DescribeNetworkInterfaces::by_ids(chunk)
            };
            let enis = client
                .collect_next_token(request)
                .await
                .map_err(|source| Error::Cloud { call: "DescribeNetworkInterfaces", source })?;
            enabled.extend(enis.into_iter().filter(|e| e.source_dest_check).map(|e| e.network_interface_id));
        }
        Ok(enabled)
    }

    async fn disable_source_dest_check(&self, region: &str, eni_id: &str) -> Result<()> {
        let client = self.client(region)?;
        let request = ModifyNetworkInterfaceAttribute::disable_source_dest_check(eni_id);
        let mut attempt = 1;
        loop {
            match client.call(&request).await {
                Ok(_) => return Ok(()),
                Err(e) if e.code() == Some(ENI_CONFLICT) && attempt < ENI_CONFLICT_ATTEMPTS => {
                    attempt += 1;
                    tokio::time::sleep(ENI_CONFLICT_PAUSE).await;
                }
                Err(source) => return Err(Error::Cloud { call: "ModifyNetworkInterfaceAttribute", source }),
            }
        }
    }
}

/// Parses the addresses the API sends as text; an unparsable one is left out (and logged).
fn parse_ips<'a, T: std::str::FromStr>(instance_id: &str, texts: impl IntoIterator<Item = &'a str>) -> Vec<T> {
    texts
        .into_iter()
        .filter(|t| !t.is_empty())
        .filter_map(|t| match t.parse() {
            Ok(ip) => Some(ip),
            Err(_) => {
                tracing::warn!(instance_id, address = t, "ignoring an address the API sent that is not an IP");
                None
            }
        })
        .collect()
}

/// The plain model of an API instance.
pub fn to_ecs_instance(instance: &Instance) -> EcsInstance {
    let id = instance.instance_id.as_str();
    let eip = parse_ips::<IpAddr>(id, [instance.eip_address.ip_address.as_str()]).into_iter().next();
    EcsInstance {
        instance_id: instance.instance_id.clone(),
        region_id: instance.region_id.clone(),
        zone_id: instance.zone_id.clone(),
        instance_type: instance.instance_type.clone(),
        status: InstanceStatus::parse(&instance.status),
        charge_type: instance.instance_charge_type.clone(),
        spot_strategy: instance.spot_strategy.clone(),
        vpc_id: instance.vpc_attributes.vpc_id.clone(),
        private_ips: parse_ips(id, instance.private_ips()),
        public_ips: parse_ips(id, instance.public_ip_address.iter().map(String::as_str)),
        eip,
        ipv6s: parse_ips::<Ipv6Addr>(id, instance.primary_ipv6_addresses()),
        tags: instance.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
        primary_eni_id: instance.primary_network_interface().map(|n| n.network_interface_id.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_an_api_instance() {
        let json = r#"{
          "InstanceId": "i-1", "RegionId": "cn-hangzhou", "ZoneId": "cn-hangzhou-g", "InstanceType": "ecs.g7.large",
          "Status": "Stopped", "InstanceChargeType": "PostPaid", "SpotStrategy": "NoSpot",
          "VpcAttributes": {"VpcId": "vpc-1", "PrivateIpAddress": {"IpAddress": ["192.168.0.10"]}},
          "PublicIpAddress": {"IpAddress": ["121.40.1.1", "not-an-ip"]},
          "EipAddress": {"IpAddress": "47.1.2.3"},
          "NetworkInterfaces": {"NetworkInterface": [
            {"NetworkInterfaceId": "eni-1", "Type": "Primary",
             "Ipv6Sets": {"Ipv6Set": [{"Ipv6Address": "2408:4321:180:1701::1"}]}}]},
          "Tags": {"Tag": [{"TagKey": "ack.alibabacloud.com/nodepool-id", "TagValue": "np-1"}]}
        }"#;
        let api: Instance = serde_json::from_str(json).unwrap();
        let i = to_ecs_instance(&api);
        assert_eq!(i.instance_id, "i-1");
        assert_eq!(i.status, InstanceStatus::Stopped);
        assert_eq!(i.private_ips, vec!["192.168.0.10".parse::<IpAddr>().unwrap()]);
        assert_eq!(i.public_ips, vec!["121.40.1.1".parse::<IpAddr>().unwrap()], "junk dropped");
        assert_eq!(i.eip, Some("47.1.2.3".parse().unwrap()));
        assert_eq!(i.ipv6s, vec!["2408:4321:180:1701::1".parse::<Ipv6Addr>().unwrap()]);
        assert_eq!(i.primary_eni_id.as_deref(), Some("eni-1"));
        assert_eq!(i.tags.get("ack.alibabacloud.com/nodepool-id").map(String::as_str), Some("np-1"));
        assert_eq!((i.charge_type.as_str(), i.spot_strategy.as_str()), ("PostPaid", "NoSpot"));
    }

    #[test]
    fn requests_carry_the_primary_eni_attribute_and_page_size() {
        let r = describe_request();
        assert_eq!(r.additional_attributes, vec![PRIMARY_ENI_ATTRIBUTE]);
        assert_eq!(r.max_results, Some(100));
    }

    #[tokio::test]
    async fn unknown_region_is_an_error_not_an_empty_answer() {
        let client = Client::builder("cn-hangzhou").build().unwrap();
        let cloud = AliyunNodeCloud::new(client);
        let err = cloud.instances_by_ids("cn-beijing", &["i-1".to_owned()]).await.unwrap_err();
        assert!(matches!(err, Error::NoClientForRegion(r) if r == "cn-beijing"));
    }
}
