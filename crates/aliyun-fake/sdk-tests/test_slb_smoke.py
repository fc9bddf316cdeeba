"""SLB (CLB 2014-05-15) slot: the SLB emulation's SDK tests live in
test_slb_*.py files next to this one. This smoke test only checks that the
typed Tea client and the old SDK reach the SLB emulation through the fake's
dispatcher."""

from aliyunsdkslb.request.v20140515.DescribeLoadBalancersRequest import DescribeLoadBalancersRequest

from conftest import REGION, old_request, tea_config


def test_describe_load_balancers_dispatches(addr, old_client):
    from alibabacloud_slb20140515 import models
    from alibabacloud_slb20140515.client import Client

    body = Client(tea_config(addr)).describe_load_balancers(models.DescribeLoadBalancersRequest(region_id=REGION)).body
    assert body.request_id
    assert body.total_count is not None
    old = old_request(old_client, DescribeLoadBalancersRequest())
    assert "LoadBalancers" in old
