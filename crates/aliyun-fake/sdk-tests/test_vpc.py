"""VPC 2016-04-28 through the old SDK and the typed Tea client, including
route-table writes that must show in /_fake/state."""

import time

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkvpc.request.v20160428.CreateRouteEntryRequest import CreateRouteEntryRequest
from aliyunsdkvpc.request.v20160428.DeleteRouteEntryRequest import DeleteRouteEntryRequest
from aliyunsdkvpc.request.v20160428.DescribeRouteEntryListRequest import (
    DescribeRouteEntryListRequest,
)

from conftest import NODES, REGION, TABLE_ID, VPC_ID, old_request


def state_entries(admin):
    return admin.state()["route_tables"][TABLE_ID]["entries"]


def wait_table_idle(admin, timeout=10.0):
    """Waits until no entry of the table is Pending/Deleting (the run uses a short delay)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(e["status"] == "Available" for e in state_entries(admin)):
            return
        time.sleep(0.1)
    pytest.fail("route table never settled")


def test_vpcs_vswitches_and_tables_typed(vpc_v3):
    from alibabacloud_vpc20160428 import models

    vpcs = vpc_v3.describe_vpcs(models.DescribeVpcsRequest(region_id=REGION)).body
    vpc = vpcs.vpcs.vpc[0]
    assert vpc.vpc_id == VPC_ID
    assert sorted(vpc.v_switch_ids.v_switch_id) == ["vsw-bp1fakevswh000000001", "vsw-bp1fakevswi000000001"]
    attr = vpc_v3.describe_vpc_attribute(models.DescribeVpcAttributeRequest(region_id=REGION, vpc_id=VPC_ID)).body
    assert attr.cidr_block == "192.168.0.0/16"

    vsws = vpc_v3.describe_vswitches(models.DescribeVSwitchesRequest(vpc_id=VPC_ID, page_size=50)).body
    assert vsws.total_count == 2
    assert {v.zone_id for v in vsws.v_switches.v_switch} == {"cn-hangzhou-h", "cn-hangzhou-i"}
    assert all(v.available_ip_address_count > 0 for v in vsws.v_switches.v_switch)
    assert vsws.v_switches.v_switch[0].route_table.route_table_type == "System"

    tables = vpc_v3.describe_route_table_list(
        models.DescribeRouteTableListRequest(region_id=REGION, vpc_id=VPC_ID)
    ).body
    table = tables.router_table_list.router_table_list_type[0]
    assert table.route_table_id == TABLE_ID
    assert table.route_table_type == "System"


def test_route_entry_lifecycle_old_sdk(old_client, admin):
    wait_table_idle(admin)
    create = CreateRouteEntryRequest()
    create.set_RouteTableId(TABLE_ID)
    create.set_DestinationCidrBlock("172.30.1.0/24")
    create.set_NextHopType("Instance")
    create.set_NextHopId(NODES[0])
    created = old_request(old_client, create)
    assert created["RouteEntryId"].startswith("rte-")
    mine = [e for e in state_entries(admin) if e["destination_cidr_block"] == "172.30.1.0/24"]
    assert mine and mine[0]["next_hop_id"] == NODES[0]

    # While it is Pending, another write to the table conflicts.
    again = CreateRouteEntryRequest()
    again.set_RouteTableId(TABLE_ID)
    again.set_DestinationCidrBlock("172.30.2.0/24")
    again.set_NextHopId(NODES[1])
    if mine[0]["status"] == "Pending":
        with pytest.raises(ServerException) as err:
            old_request(old_client, again)
        assert err.value.get_error_code() == "IncorrectRouteEntryStatus"
    wait_table_idle(admin)

    dup = CreateRouteEntryRequest()
    dup.set_RouteTableId(TABLE_ID)
    dup.set_DestinationCidrBlock("172.30.1.0/24")
    dup.set_NextHopId(NODES[1])
    with pytest.raises(ServerException) as err:
        old_request(old_client, dup)
    assert err.value.get_error_code() == "InvalidCIDRBlock.Duplicate"

    listing = DescribeRouteEntryListRequest()
    listing.set_RouteTableId(TABLE_ID)
    listing.set_RouteEntryType("Custom")
    listing.set_MaxResult(100)
    body = old_request(old_client, listing)
    listed = [e for e in body["RouteEntrys"]["RouteEntry"] if e["DestinationCidrBlock"] == "172.30.1.0/24"]
    assert listed[0]["Status"] == "Available"

    delete = DeleteRouteEntryRequest()
    delete.set_RouteTableId(TABLE_ID)
    delete.set_DestinationCidrBlock("172.30.1.0/24")
    delete.set_NextHopId(NODES[0])
    old_request(old_client, delete)
    wait_table_idle(admin)
    assert not [e for e in state_entries(admin) if e["destination_cidr_block"] == "172.30.1.0/24"]

    with pytest.raises(ServerException) as err:
        old_request(old_client, delete)
    assert err.value.get_error_code() == "InvalidRouteEntry.NotFound"


def test_route_entries_batch_typed(vpc_v3, admin):
    from alibabacloud_vpc20160428 import models

    wait_table_idle(admin)
    entries = [
        models.CreateRouteEntriesRequestRouteEntries(
            route_table_id=TABLE_ID, dst_cidr_block="172.31.%d.0/24" % i, next_hop=NODES[i], next_hop_type="Instance"
        )
        for i in range(3)
    ]
    created = vpc_v3.create_route_entries(models.CreateRouteEntriesRequest(region_id=REGION, route_entries=entries)).body
    assert created.success_count == 3
    assert created.failed_count == 0
    assert len(created.route_entry_ids) == 3
    wait_table_idle(admin)

    pages = []
    token = None
    while True:
        req = models.DescribeRouteEntryListRequest(
            region_id=REGION, route_table_id=TABLE_ID, route_entry_type="Custom", max_result=2, next_token=token
        )
        body = vpc_v3.describe_route_entry_list(req).body
        pages.extend(body.route_entrys.route_entry)
        token = body.next_token
        if not token:
            break
    ours = [e for e in pages if e.destination_cidr_block.startswith("172.31.")]
    assert len(ours) == 3
    assert ours[0].next_hops.next_hop[0].next_hop_type == "Instance"
    assert ours[0].next_hops.next_hop[0].next_hop_id == NODES[0]

    deletes = [
        models.DeleteRouteEntriesRequestRouteEntries(route_table_id=TABLE_ID, dst_cidr_block="172.31.%d.0/24" % i, next_hop=NODES[i])
        for i in range(3)
    ]
    deleted = vpc_v3.delete_route_entries(models.DeleteRouteEntriesRequest(region_id=REGION, route_entries=deletes)).body
    assert deleted.success_count == 3
    wait_table_idle(admin)
    assert not [e for e in state_entries(admin) if e["destination_cidr_block"].startswith("172.31.")]


def test_eips_typed(vpc_v3):
    from alibabacloud_vpc20160428 import models

    body = vpc_v3.describe_eip_addresses(models.DescribeEipAddressesRequest(region_id=REGION)).body
    assert body.total_count == 2
    in_use = [e for e in body.eip_addresses.eip_address if e.status == "InUse"]
    assert in_use[0].instance_id == NODES[2]


def test_throttling_is_a_throttling_exception(vpc_v3, admin, no_faults):
    from alibabacloud_tea_openapi.exceptions import ThrottlingException
    from alibabacloud_vpc20160428 import models

    admin.set_faults({"qps": {"DescribeVpcs": 1}})
    with pytest.raises(ThrottlingException) as err:
        for _ in range(5):
            vpc_v3.describe_vpcs(models.DescribeVpcsRequest(region_id=REGION))
    assert err.value.code == "Throttling.User"
    assert 0 < err.value.retry_after <= 1000
    assert admin.calls()["byCode"]["Throttling.User"] >= 1


def test_injected_error_reaches_the_sdk(vpc_v3, admin, no_faults):
    from alibabacloud_tea_openapi.exceptions import ServerException as TeaServerException
    from alibabacloud_vpc20160428 import models

    admin.set_faults({"errors": {"DescribeVSwitches": {"code": "ServiceUnavailable", "status": 503, "remaining": 1}}})
    with pytest.raises(TeaServerException) as err:
        vpc_v3.describe_vswitches(models.DescribeVSwitchesRequest(region_id=REGION))
    assert err.value.code == "ServiceUnavailable"
    assert vpc_v3.describe_vswitches(models.DescribeVSwitchesRequest(region_id=REGION)).body.total_count == 2
