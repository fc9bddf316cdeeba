"""Both signature schemes of the official SDKs authenticate against the fake."""

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkecs.request.v20140526.DescribeInstancesRequest import DescribeInstancesRequest

from conftest import AK, REGION, old_request, tea_config


def test_old_sdk_rpc_signature_is_accepted(old_client):
    body = old_request(old_client, DescribeInstancesRequest())
    assert body["TotalCount"] == 3
    assert body["RequestId"]


def test_old_sdk_wrong_secret_matches_the_sdks_string_to_sign(addr):
    # The SDK compares the server's echoed string to sign with its own; equal
    # strings turn SignatureDoesNotMatch into InvalidAccessKeySecret.
    host, port = addr.rsplit(":", 1)
    client = AcsClient(AK, "not-the-secret", REGION, port=int(port), auto_retry=False)
    client._fake_host = host
    with pytest.raises(ServerException) as err:
        old_request(client, DescribeInstancesRequest())
    assert err.value.get_http_status() == 400
    assert err.value.get_error_code() == "InvalidAccessKeySecret"


def test_old_sdk_unknown_key_is_404(addr):
    host, port = addr.rsplit(":", 1)
    client = AcsClient("nobody", "x", REGION, port=int(port), auto_retry=False)
    client._fake_host = host
    with pytest.raises(ServerException) as err:
        old_request(client, DescribeInstancesRequest())
    assert err.value.get_http_status() == 404
    assert err.value.get_error_code() == "InvalidAccessKeyId.NotFound"


def test_tea_v3_signature_is_accepted(ecs_v3):
    from alibabacloud_ecs20140526 import models

    resp = ecs_v3.describe_instances(models.DescribeInstancesRequest(region_id=REGION))
    assert resp.status_code == 200
    assert resp.body.total_count == 3


def test_tea_v3_wrong_secret_is_signature_does_not_match(addr):
    from alibabacloud_ecs20140526 import models
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi.exceptions import ClientException

    client = Client(tea_config(addr, access_key_secret="not-the-secret"))
    with pytest.raises(ClientException) as err:
        client.describe_instances(models.DescribeInstancesRequest(region_id=REGION))
    assert err.value.code == "SignatureDoesNotMatch"
    assert "server string to sign is:ACS3-HMAC-SHA256" in err.value.message


def test_tea_rpc_signature_v2_is_accepted(addr):
    from alibabacloud_vpc20160428 import models
    from alibabacloud_vpc20160428.client import Client

    client = Client(tea_config(addr, signature_algorithm="v2"))
    resp = client.describe_vpcs(models.DescribeVpcsRequest(region_id=REGION))
    assert resp.body.vpcs.vpc[0].cidr_block == "192.168.0.0/16"


def test_ecs_ram_role_credentials_from_the_metadata_server(addr, admin):
    """The official credentials provider reads the RAM role from the fake's
    metadata paths; a V3 client then signs with the STS token."""
    from alibabacloud_credentials.provider.ecs_ram_role import EcsRamRoleCredentialsProvider
    from alibabacloud_ecs20140526 import models
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi.models import Config

    provider = EcsRamRoleCredentialsProvider(async_update_enabled=False)
    # The provider's metadata host is fixed to 100.100.100.200; aim it at the fake.
    provider._EcsRamRoleCredentialsProvider__metadata_service_host = addr
    creds = provider.get_credentials()
    assert creds.get_access_key_id().startswith("STS.")
    assert creds.get_security_token()
    cfg = Config(
        access_key_id=creds.get_access_key_id(),
        access_key_secret=creds.get_access_key_secret(),
        security_token=creds.get_security_token(),
        region_id=REGION,
        endpoint=addr,
        protocol="http",
    )
    resp = Client(cfg).describe_instances(models.DescribeInstancesRequest(region_id=REGION))
    assert resp.body.total_count == 3
    issued = admin.state()["sts_credentials"]
    assert creds.get_access_key_id() in issued
