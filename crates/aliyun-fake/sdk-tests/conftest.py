"""Fixtures for the aliyun-fake compatibility suite.

run.sh starts the fake and exports ALIYUN_FAKE_ADDR (host:port). Every client
here points at that address over plain HTTP.
"""

import json
import os
import urllib.request

import pytest

AK = "fake-ak"
SECRET = "fake-secret"
REGION = "cn-hangzhou"
VPC_ID = "vpc-bp1fakevpc0000000001"
TABLE_ID = "vtb-bp1fakevtb0000000001"
NODES = ["i-bp1fakenode000000001", "i-bp1fakenode000000002", "i-bp1fakenode000000003"]


@pytest.fixture(scope="session")
def addr():
    value = os.environ.get("ALIYUN_FAKE_ADDR")
    if not value:
        pytest.fail("ALIYUN_FAKE_ADDR is not set; run the suite through run.sh")
    return value


class Admin:
    """The fake's /_fake/ admin API."""

    def __init__(self, addr):
        self.base = "http://%s/_fake" % addr

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def state(self):
        return self.call("GET", "/state")

    def calls(self):
        return self.call("GET", "/calls")

    def set_faults(self, rules):
        return self.call("PUT", "/faults", rules)

    def clear_faults(self):
        return self.call("DELETE", "/faults")


@pytest.fixture(scope="session")
def admin(addr):
    return Admin(addr)


@pytest.fixture
def no_faults(admin):
    admin.clear_faults()
    yield
    admin.clear_faults()


@pytest.fixture(scope="session")
def old_client(addr):
    """aliyun-python-sdk-core client (RPC, HMAC-SHA1); requests call old_request()."""
    from aliyunsdkcore.client import AcsClient

    host, port = addr.rsplit(":", 1)
    client = AcsClient(AK, SECRET, REGION, port=int(port), auto_retry=False)
    client._fake_host = host
    return client


def old_request(client, request):
    """Points an old-SDK request at the fake and returns the parsed JSON."""
    request.set_endpoint(client._fake_host)
    request.set_protocol_type("http")
    request.set_accept_format("json")
    return json.loads(client.do_action_with_exception(request))


def tea_config(addr, **extra):
    from alibabacloud_tea_openapi.models import Config

    values = dict(
        access_key_id=AK,
        access_key_secret=SECRET,
        region_id=REGION,
        endpoint=addr,
        protocol="http",
    )
    values.update(extra)
    return Config(**values)


@pytest.fixture(scope="session")
def ecs_v3(addr):
    from alibabacloud_ecs20140526.client import Client

    return Client(tea_config(addr))


@pytest.fixture(scope="session")
def vpc_v3(addr):
    from alibabacloud_vpc20160428.client import Client

    return Client(tea_config(addr))
