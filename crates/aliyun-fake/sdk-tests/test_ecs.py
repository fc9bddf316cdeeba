"""ECS 2014-05-26 through the old SDK and the typed Tea client."""

import json

from aliyunsdkecs.request.v20140526.DescribeInstancesRequest import DescribeInstancesRequest
from aliyunsdkecs.request.v20140526.DescribeNetworkInterfacesRequest import (
    DescribeNetworkInterfacesRequest,
)
from aliyunsdkecs.request.v20140526.ModifyNetworkInterfaceAttributeRequest import (
    ModifyNetworkInterfaceAttributeRequest,
)

from conftest import NODES, REGION, VPC_ID, old_request


def test_describe_instances_typed_model(ecs_v3):
    from alibabacloud_ecs20140526 import models

    req = models.DescribeInstancesRequest(
        region_id=REGION,
        vpc_id=VPC_ID,
        additional_attributes=["NETWORK_PRIMARY_ENI_IP"],
    )
    body = ecs_v3.describe_instances(req).body
    assert [i.instance_id for i in body.instances.instance][:3] == NODES
    first = body.instances.instance[0]
    assert first.status == "Running"
    assert first.zone_id == "cn-hangzhou-h"
    assert first.vpc_attributes.private_ip_address.ip_address == ["192.168.0.10"]
    assert first.public_ip_address.ip_address[0].startswith("198.1")
    eni = first.network_interfaces.network_interface[0]
    assert eni.type == "Primary"
    assert eni.ipv_6sets.ipv_6set[0].ipv_6address == "2001:db8:100:1::10"
    assert first.tags.tag[0].tag_key == "kubernetes.io/cluster"
    third = [i for i in body.instances.instance if i.instance_id == NODES[2]][0]
    assert third.eip_address.ip_address.startswith("198.1")
    assert isinstance(third.eip_address.bandwidth, int)


def test_describe_instances_next_token_pages(ecs_v3):
    from alibabacloud_ecs20140526 import models

    ids = json.dumps(NODES)
    req = models.DescribeInstancesRequest(region_id=REGION, instance_ids=ids, max_results=10)
    body = ecs_v3.describe_instances(req).body
    assert len(body.instances.instance) == 3
    assert body.next_token == ""


def test_describe_instances_old_sdk_filters(old_client):
    req = DescribeInstancesRequest()
    req.set_PrivateIpAddresses(json.dumps(["192.168.1.10"]))
    req.set_VpcId(VPC_ID)
    body = old_request(old_client, req)
    assert [i["InstanceId"] for i in body["Instances"]["Instance"]] == [NODES[2]]
    req = DescribeInstancesRequest()
    req.set_Tags([{"Key": "kubernetes.io/cluster", "Value": "fake"}])
    req.set_PageSize(2)
    body = old_request(old_client, req)
    assert body["TotalCount"] >= 3
    assert len(body["Instances"]["Instance"]) == 2


def test_network_interfaces_modify_shows_in_state(old_client, ecs_v3, admin):
    from alibabacloud_ecs20140526 import models

    req = DescribeNetworkInterfacesRequest()
    req.set_InstanceId(NODES[1])
    body = old_request(old_client, req)
    eni_id = body["NetworkInterfaceSets"]["NetworkInterfaceSet"][0]["NetworkInterfaceId"]

    modify = ModifyNetworkInterfaceAttributeRequest()
    modify.set_NetworkInterfaceId(eni_id)
    modify.set_NetworkInterfaceName("sdk-renamed")
    old_request(old_client, modify)
    assert admin.state()["enis"][eni_id]["network_interface_name"] == "sdk-renamed"

    typed = ecs_v3.describe_network_interfaces(
        models.DescribeNetworkInterfacesRequest(region_id=REGION, network_interface_id=[eni_id])
    ).body
    got = typed.network_interface_sets.network_interface_set[0]
    assert got.network_interface_name == "sdk-renamed"
    assert got.private_ip_address == "192.168.0.11"
    assert got.attachment.instance_id == NODES[1]


def test_regions_and_zones(ecs_v3):
    from alibabacloud_ecs20140526 import models

    regions = ecs_v3.describe_regions(models.DescribeRegionsRequest()).body
    assert REGION in [r.region_id for r in regions.regions.region]
    zones = ecs_v3.describe_zones(models.DescribeZonesRequest(region_id=REGION)).body
    assert [z.zone_id for z in zones.zones.zone] == ["cn-hangzhou-h", "cn-hangzhou-i"]


def test_stopped_instance_is_reported(ecs_v3, admin):
    from alibabacloud_ecs20140526 import models

    admin.call("POST", "/instances/%s/stop" % NODES[1])
    try:
        req = models.DescribeInstancesRequest(region_id=REGION, status="Stopped")
        body = ecs_v3.describe_instances(req).body
        assert [i.instance_id for i in body.instances.instance] == [NODES[1]]
    finally:
        admin.call("POST", "/instances/%s/start" % NODES[1])
