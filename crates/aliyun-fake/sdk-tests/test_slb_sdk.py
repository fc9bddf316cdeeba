"""SLB (CLB 2014-05-15) through the official Python SDKs.

The old RPC SDK (aliyun-python-sdk-slb) drives the flow the Go CCM uses
(create, tag lookup, vServer group backends in the CCM's JSON, listeners,
delete protection, delete); the typed Tea client (alibabacloud_slb20140515)
checks that every response parses into its model. Mutations are checked in
the fake's state dump (/_fake/state).

All tests share one fake, so each one works on its own resources, tagged or
named with a fresh suffix, and leaves nothing behind.
"""

import datetime
import json
import uuid

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkslb.request.v20140515.AddAccessControlListEntryRequest import AddAccessControlListEntryRequest
from aliyunsdkslb.request.v20140515.AddVServerGroupBackendServersRequest import AddVServerGroupBackendServersRequest
from aliyunsdkslb.request.v20140515.CreateAccessControlListRequest import CreateAccessControlListRequest
from aliyunsdkslb.request.v20140515.CreateLoadBalancerRequest import CreateLoadBalancerRequest
from aliyunsdkslb.request.v20140515.CreateLoadBalancerTCPListenerRequest import CreateLoadBalancerTCPListenerRequest
from aliyunsdkslb.request.v20140515.CreateVServerGroupRequest import CreateVServerGroupRequest
from aliyunsdkslb.request.v20140515.DeleteAccessControlListRequest import DeleteAccessControlListRequest
from aliyunsdkslb.request.v20140515.DeleteLoadBalancerListenerRequest import DeleteLoadBalancerListenerRequest
from aliyunsdkslb.request.v20140515.DeleteLoadBalancerRequest import DeleteLoadBalancerRequest
from aliyunsdkslb.request.v20140515.DescribeAccessControlListAttributeRequest import (
    DescribeAccessControlListAttributeRequest,
)
from aliyunsdkslb.request.v20140515.DescribeLoadBalancerAttributeRequest import DescribeLoadBalancerAttributeRequest
from aliyunsdkslb.request.v20140515.DescribeLoadBalancerListenersRequest import DescribeLoadBalancerListenersRequest
from aliyunsdkslb.request.v20140515.DescribeLoadBalancersRequest import DescribeLoadBalancersRequest
from aliyunsdkslb.request.v20140515.DescribeVServerGroupAttributeRequest import DescribeVServerGroupAttributeRequest
from aliyunsdkslb.request.v20140515.RemoveVServerGroupBackendServersRequest import (
    RemoveVServerGroupBackendServersRequest,
)
from aliyunsdkslb.request.v20140515.SetLoadBalancerDeleteProtectionRequest import (
    SetLoadBalancerDeleteProtectionRequest,
)
from aliyunsdkslb.request.v20140515.SetLoadBalancerTCPListenerAttributeRequest import (
    SetLoadBalancerTCPListenerAttributeRequest,
)
from aliyunsdkslb.request.v20140515.StartLoadBalancerListenerRequest import StartLoadBalancerListenerRequest

from conftest import NODES, REGION, VPC_ID, old_request, tea_config

VSW_H = "vsw-bp1fakevswh000000001"
VSW_H_PREFIX = "192.168.0."

# A self-signed P-256 certificate for fake.example (SAN fake.example and
# *.fake.example), valid until 2126-10-30T07:54:47Z, made with openssl for
# these tests.
CERT_PEM = """-----BEGIN CERTIFICATE-----
MIIBrjCCAVSgAwIBAgIUG3naR4S7lz/unCk+gowETLTpzc4wCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMZmFrZS5leGFtcGxlMCAXDTI2MTEyMzA3NTQ0N1oYDzIxMjYx
MDMwMDc1NDQ3WjAXMRUwEwYDVQQDDAxmYWtlLmV4YW1wbGUwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASeFUGMt8+31nnH8K/D70jBK05ORKgQsiaoRxsdDHcrwyyn
oDbHZwjzVDc8/IFrWod6/ILZQT93HGyj6TRLeV2Ao3wwejAdBgNVHQ4EFgQUDIYS
XdexByqRmKZGc1wq4XD9T3EwHwYDVR0jBBgwFoAUDIYSXdexByqRmKZGc1wq4XD9
T3EwDwYDVR0TAQH/BAUwAwEB/zAnBgNVHREEIDAeggxmYWtlLmV4YW1wbGWCDiou
ZmFrZS5leGFtcGxlMAoGCCqGSM49BAMCA0gAMEUCIHf2FqdTEZR0SqV7W19XoSbo
Abtf2TV97dTHD7CRGHNEAiEA7OcGgZOW/xEZnEpJGhYXcZ6pKltoK09AHVWjLSSZ
cI0=
-----END CERTIFICATE-----
"""
KEY_PEM = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXqiRnJ/txOdbi2TE
o2bcEOnVbBoR20S8NlwsqtUcTgqhRANCAASeFUGMt8+31nnH8K/D70jBK05ORKgQ
siaoRxsdDHcrwyynoDbHZwjzVDc8/IFrWod6/ILZQT93HGyj6TRLeV2A
-----END PRIVATE KEY-----
"""
CERT_SHA1 = "26:db:a7:50:8d:72:78:fc:76:55:a3:90:e0:e8:e6:67:d9:2a:d9:ab"
CERT_NOT_AFTER = datetime.datetime(2126, 10, 30, 7, 54, 47, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="session")
def slb_v3(addr):
    from alibabacloud_slb20140515.client import Client

    return Client(tea_config(addr))


def suffix():
    return uuid.uuid4().hex[:10]


def slb_state(admin):
    return admin.state()["slb"]


def tea_error(call):
    """Runs a Tea call that must fail; returns (code, HTTP status, message)."""
    with pytest.raises(Exception) as info:
        call()
    err = info.value
    return getattr(err, "code", None), getattr(err, "statusCode", None), getattr(err, "message", "")


def old_error(client, request):
    with pytest.raises(ServerException) as info:
        old_request(client, request)
    return info.value.get_error_code(), info.value.get_http_status()


def old_delete_lb(client, lb_id):
    req = SetLoadBalancerDeleteProtectionRequest()
    req.set_LoadBalancerId(lb_id)
    req.set_DeleteProtection("off")
    old_request(client, req)
    req = DeleteLoadBalancerRequest()
    req.set_LoadBalancerId(lb_id)
    old_request(client, req)


def test_ccm_flow_with_the_old_sdk(old_client, admin):
    """The calls and parameter spellings of the Go CCM's CLB service controller."""
    name = "a" + suffix()
    token = str(uuid.uuid4())
    req = CreateLoadBalancerRequest()
    req.set_AddressType("intranet")
    req.set_VpcId(VPC_ID)
    req.set_VSwitchId(VSW_H)
    req.set_LoadBalancerName(name)
    req.set_InstanceChargeType("PayByCLCU")
    req.set_DeleteProtection("on")
    req.set_ModificationProtectionStatus("ConsoleProtection")
    req.set_ModificationProtectionReason("managed.by.ack")
    req.set_ClientToken(token)
    req.set_Tags([{"Key": "kubernetes.do.not.delete", "Value": name}, {"Key": "ack.aliyun.com", "Value": "c1"}])
    created = old_request(old_client, req)
    lb_id = created["LoadBalancerId"]
    assert lb_id.startswith("lb-")
    assert created["Address"].startswith(VSW_H_PREFIX)
    assert created["VpcId"] == VPC_ID and created["NetworkType"] == "vpc"
    # A retry with the same ClientToken returns the same instance.
    assert old_request(old_client, req)["LoadBalancerId"] == lb_id

    # Found by tag the way the CCM looks it up.
    req = DescribeLoadBalancersRequest()
    req.set_Tags(json.dumps([{"TagKey": "kubernetes.do.not.delete", "TagValue": name}]))
    found = old_request(old_client, req)
    assert [lb["LoadBalancerId"] for lb in found["LoadBalancers"]["LoadBalancer"]] == [lb_id]
    req = DescribeLoadBalancerAttributeRequest()
    req.set_LoadBalancerId(lb_id)
    attr = old_request(old_client, req)
    assert attr["DeleteProtection"] == "on"
    assert attr["ModificationProtectionStatus"] == "ConsoleProtection"
    assert attr["InstanceChargeType"] == "PayByCLCU"

    # vServer group, created empty, then backends in the CCM's JSON.
    group_name = "k8s/30080/web/default/c1"
    req = CreateVServerGroupRequest()
    req.set_LoadBalancerId(lb_id)
    req.set_VServerGroupName(group_name)
    group_id = old_request(old_client, req)["VServerGroupId"]
    backends = [
        {"serverId": n, "serverIp": "", "weight": 100, "port": 30080, "type": "ecs", "description": group_name}
        for n in NODES
    ]
    req = AddVServerGroupBackendServersRequest()
    req.set_VServerGroupId(group_id)
    req.set_BackendServers(json.dumps(backends))
    old_request(old_client, req)
    req = RemoveVServerGroupBackendServersRequest()
    req.set_VServerGroupId(group_id)
    req.set_BackendServers(json.dumps(backends[2:]))
    old_request(old_client, req)
    req = DescribeVServerGroupAttributeRequest()
    req.set_VServerGroupId(group_id)
    members = old_request(old_client, req)["BackendServers"]["BackendServer"]
    assert sorted(m["ServerId"] for m in members) == NODES[:2]
    assert all(m["Port"] == 30080 and m["Weight"] == 100 for m in members)

    # TCP listener (lower-case healthCheckInterval on create), started.
    req = CreateLoadBalancerTCPListenerRequest()
    req.set_LoadBalancerId(lb_id)
    req.set_ListenerPort(80)
    req.set_Bandwidth(-1)
    req.set_VServerGroupId(group_id)
    req.set_Scheduler("rr")
    req.set_healthCheckInterval(3)
    req.set_Description("k8s/80/web/default/c1")
    old_request(old_client, req)
    req = StartLoadBalancerListenerRequest()
    req.set_LoadBalancerId(lb_id)
    req.set_ListenerPort(80)
    old_request(old_client, req)
    req = SetLoadBalancerTCPListenerAttributeRequest()
    req.set_LoadBalancerId(lb_id)
    req.set_ListenerPort(80)
    req.set_VServerGroup("on")
    req.set_VServerGroupId(group_id)
    req.set_HealthCheckInterval(7)
    old_request(old_client, req)
    req = DescribeLoadBalancerListenersRequest()
    req.set_LoadBalancerIds([lb_id])
    req.set_MaxResults(50)
    listed = old_request(old_client, req)
    assert isinstance(listed["Listeners"], list), "DescribeLoadBalancerListeners returns a flat array"
    (listener,) = listed["Listeners"]
    assert listener["Status"] == "running"
    assert listener["VServerGroupId"] == group_id
    assert listener["TCPListenerConfig"]["HealthCheckInterval"] == 7
    assert listed["NextToken"] == ""

    # The mutations show in the fake's state.
    lb_state = slb_state(admin)["load_balancers"][lb_id]
    assert lb_state["listeners"][0]["status"] == "running"
    assert [t["key"] for t in lb_state["tags"]] == ["kubernetes.do.not.delete", "ack.aliyun.com"]

    # Deletion protection first refuses, then the CCM turns it off and deletes.
    req = DeleteLoadBalancerRequest()
    req.set_LoadBalancerId(lb_id)
    assert old_error(old_client, req) == ("OperationDenied.DeleteProtectionIsOn", 400)
    old_delete_lb(old_client, lb_id)
    state = slb_state(admin)
    assert lb_id not in state["load_balancers"]
    assert group_id not in state["vserver_groups"]
    req = DescribeLoadBalancerAttributeRequest()
    req.set_LoadBalancerId(lb_id)
    code, _ = old_error(old_client, req)
    assert code == "InvalidLoadBalancerId.NotFound"


def test_typed_models_of_every_describe(slb_v3, admin):
    from alibabacloud_slb20140515 import models as m

    tag = suffix()
    lb = slb_v3.create_load_balancer(
        m.CreateLoadBalancerRequest(
            region_id=REGION,
            address_type="intranet",
            v_switch_id=VSW_H,
            load_balancer_spec="slb.s1.small",
            load_balancer_name="typed-" + tag,
            tag=[m.CreateLoadBalancerRequestTag(key="suite", value=tag)],
        )
    ).body
    lb_id = lb.load_balancer_id
    assert lb.address.startswith(VSW_H_PREFIX)
    try:
        cert = slb_v3.upload_server_certificate(
            m.UploadServerCertificateRequest(
                region_id=REGION,
                server_certificate=CERT_PEM,
                private_key=KEY_PEM,
                server_certificate_name="typed-" + tag,
            )
        ).body
        assert cert.common_name == "fake.example"
        assert cert.fingerprint == CERT_SHA1
        assert cert.expire_time_stamp == int(CERT_NOT_AFTER.timestamp() * 1000)
        assert cert.subject_alternative_names.subject_alternative_name == ["fake.example", "*.fake.example"]
        certs = slb_v3.describe_server_certificates(
            m.DescribeServerCertificatesRequest(region_id=REGION, server_certificate_id=cert.server_certificate_id)
        ).body
        assert certs.server_certificates.server_certificate[0].expire_time == "2126-10-30T07:54:47Z"

        group = slb_v3.create_vserver_group(
            m.CreateVServerGroupRequest(
                region_id=REGION,
                load_balancer_id=lb_id,
                vserver_group_name="typed",
                backend_servers=json.dumps([{"ServerId": NODES[0], "Port": "8080", "Weight": "30"}]),
            )
        ).body
        assert group.backend_servers.backend_server[0].weight == 30

        slb_v3.create_load_balancer_udplistener(
            m.CreateLoadBalancerUDPListenerRequest(
                region_id=REGION, load_balancer_id=lb_id, listener_port=53, bandwidth=-1,
                vserver_group_id=group.vserver_group_id, health_check_req="ping", health_check_exp="pong",
            )
        )
        slb_v3.create_load_balancer_httpslistener(
            m.CreateLoadBalancerHTTPSListenerRequest(
                region_id=REGION, load_balancer_id=lb_id, listener_port=443, bandwidth=-1, health_check="on",
                health_check_uri="/healthz", backend_server_port=8443,
                server_certificate_id=cert.server_certificate_id,
            )
        )
        slb_v3.create_load_balancer_httplistener(
            m.CreateLoadBalancerHTTPListenerRequest(
                region_id=REGION, load_balancer_id=lb_id, listener_port=80, health_check="off",
                listener_forward="on", forward_port=443,
            )
        )
        ext = slb_v3.create_domain_extension(
            m.CreateDomainExtensionRequest(
                region_id=REGION, load_balancer_id=lb_id, listener_port=443, domain="www.fake.example",
                server_certificate_id=cert.server_certificate_id,
            )
        ).body
        assert ext.listener_port == 443

        body = slb_v3.describe_load_balancers(
            m.DescribeLoadBalancersRequest(region_id=REGION, tags=json.dumps([{"TagKey": "suite", "TagValue": tag}]))
        ).body
        assert body.total_count == 1
        only = body.load_balancers.load_balancer[0]
        assert only.load_balancer_id == lb_id
        assert only.tags.tag[0].tag_value == tag
        assert only.create_time_stamp > 0

        attr = slb_v3.describe_load_balancer_attribute(
            m.DescribeLoadBalancerAttributeRequest(region_id=REGION, load_balancer_id=lb_id)
        ).body
        assert attr.listener_ports.listener_port == [53, 80, 443]
        pairs = [(p.listener_port, p.listener_protocol) for p in attr.listener_ports_and_protocol.listener_port_and_protocol]
        assert pairs == [(53, "udp"), (80, "http"), (443, "https")]
        assert attr.listener_ports_and_protocol.listener_port_and_protocol[1].forward_port == 443
        assert attr.v_switch_id == VSW_H and attr.vpc_id == VPC_ID

        listeners = slb_v3.describe_load_balancer_listeners(
            m.DescribeLoadBalancerListenersRequest(region_id=REGION, load_balancer_id=[lb_id])
        ).body.listeners
        by_port = {l.listener_port: l for l in listeners}
        assert by_port[53].udplistener_config.health_check_req == "ping"
        assert by_port[443].httpslistener_config.server_certificate_id == cert.server_certificate_id
        assert by_port[80].httplistener_config.listener_forward == "on"
        assert all(l.status == "stopped" for l in listeners)

        udp = slb_v3.describe_load_balancer_udplistener_attribute(
            m.DescribeLoadBalancerUDPListenerAttributeRequest(region_id=REGION, load_balancer_id=lb_id, listener_port=53)
        ).body
        assert udp.health_check_exp == "pong" and udp.vserver_group_id == group.vserver_group_id
        https = slb_v3.describe_load_balancer_httpslistener_attribute(
            m.DescribeLoadBalancerHTTPSListenerAttributeRequest(region_id=REGION, load_balancer_id=lb_id, listener_port=443)
        ).body
        assert https.health_check_uri == "/healthz"
        assert https.domain_extensions.domain_extension[0].domain == "www.fake.example"
        http = slb_v3.describe_load_balancer_httplistener_attribute(
            m.DescribeLoadBalancerHTTPListenerAttributeRequest(region_id=REGION, load_balancer_id=lb_id, listener_port=80)
        ).body
        assert http.forward_port == 443

        groups = slb_v3.describe_vserver_groups(
            m.DescribeVServerGroupsRequest(region_id=REGION, load_balancer_id=lb_id, include_listener=True)
        ).body.vserver_groups.vserver_group
        assert groups[0].server_count == 1
        assert groups[0].associated_objects.listeners.listener[0].port == 53
        exts = slb_v3.describe_domain_extensions(
            m.DescribeDomainExtensionsRequest(region_id=REGION, load_balancer_id=lb_id, listener_port=443)
        ).body
        assert exts.domain_extensions.domain_extension[0].domain_extension_id == ext.domain_extension_id
        tags = slb_v3.list_tag_resources(
            m.ListTagResourcesRequest(region_id=REGION, resource_type="instance", resource_id=[lb_id])
        ).body.tag_resources.tag_resource
        assert [(t.tag_key, t.tag_value) for t in tags] == [("suite", tag)]

        slb_v3.delete_domain_extension(m.DeleteDomainExtensionRequest(region_id=REGION, domain_extension_id=ext.domain_extension_id))
        for port in (80, 443, 53):
            slb_v3.delete_load_balancer_listener(
                m.DeleteLoadBalancerListenerRequest(region_id=REGION, load_balancer_id=lb_id, listener_port=port)
            )
        slb_v3.delete_server_certificate(
            m.DeleteServerCertificateRequest(region_id=REGION, server_certificate_id=cert.server_certificate_id)
        )
        assert cert.server_certificate_id not in slb_state(admin)["server_certificates"]
    finally:
        slb_v3.delete_load_balancer(m.DeleteLoadBalancerRequest(region_id=REGION, load_balancer_id=lb_id))


def test_errors_match_the_real_api(slb_v3):
    from alibabacloud_slb20140515 import models as m

    code, status, message = tea_error(
        lambda: slb_v3.describe_load_balancer_attribute(
            m.DescribeLoadBalancerAttributeRequest(region_id=REGION, load_balancer_id="lb-doesnotexist")
        )
    )
    assert code == "InvalidLoadBalancerId.NotFound"
    assert status == 404
    assert "LoadBalancerId does not exist" in message

    lb_id = slb_v3.create_load_balancer(
        m.CreateLoadBalancerRequest(region_id=REGION, address_type="intranet", v_switch_id=VSW_H)
    ).body.load_balancer_id
    try:
        code, status, message = tea_error(
            lambda: slb_v3.create_load_balancer_tcplistener(
                m.CreateLoadBalancerTCPListenerRequest(region_id=REGION, load_balancer_id=lb_id, listener_port=80, backend_server_port=80)
            )
        )
        assert (code, status) == ("MissingParameter", 400)
        assert "Bandwidth" in message
        group_id = slb_v3.create_vserver_group(
            m.CreateVServerGroupRequest(region_id=REGION, load_balancer_id=lb_id, vserver_group_name="g")
        ).body.vserver_group_id
        slb_v3.create_load_balancer_tcplistener(
            m.CreateLoadBalancerTCPListenerRequest(
                region_id=REGION, load_balancer_id=lb_id, listener_port=80, bandwidth=-1, vserver_group_id=group_id
            )
        )
        code, _, _ = tea_error(
            lambda: slb_v3.create_load_balancer_httplistener(
                m.CreateLoadBalancerHTTPListenerRequest(
                    region_id=REGION, load_balancer_id=lb_id, listener_port=80, backend_server_port=80, health_check="off"
                )
            )
        )
        assert code == "ListenerAlreadyExists"
        code, _, _ = tea_error(
            lambda: slb_v3.delete_vserver_group(m.DeleteVServerGroupRequest(region_id=REGION, vserver_group_id=group_id))
        )
        assert code == "RspoolVipExist"
        code, _, message = tea_error(
            lambda: slb_v3.add_vserver_group_backend_servers(
                m.AddVServerGroupBackendServersRequest(
                    region_id=REGION,
                    vserver_group_id=group_id,
                    backend_servers=json.dumps([{"ServerId": "i-doesnotexist", "Port": 80}]),
                )
            )
        )
        assert code == "InvalidServerId.NotExist"
        code, _, message = tea_error(
            lambda: slb_v3.add_vserver_group_backend_servers(
                m.AddVServerGroupBackendServersRequest(
                    region_id=REGION,
                    vserver_group_id=group_id,
                    backend_servers=json.dumps([{"ServerId": NODES[0], "Port": 80, "Weight": 101}]),
                )
            )
        )
        assert code == "InvalidParameter" and "BackendServers" in message
        code, _, message = tea_error(
            lambda: slb_v3.describe_vserver_group_attribute(
                m.DescribeVServerGroupAttributeRequest(region_id=REGION, vserver_group_id="rsp-doesnotexist")
            )
        )
        assert code == "InvalidParameter" and "VServerGroupId does not exist" in message
    finally:
        slb_v3.delete_load_balancer(m.DeleteLoadBalancerRequest(region_id=REGION, load_balancer_id=lb_id))


def test_backend_batches_and_pagination(slb_v3):
    from alibabacloud_slb20140515 import models as m

    tag = suffix()
    ids = []
    try:
        for _ in range(3):
            ids.append(
                slb_v3.create_load_balancer(
                    m.CreateLoadBalancerRequest(
                        region_id=REGION,
                        address_type="internet",
                        tag=[m.CreateLoadBalancerRequestTag(key="page", value=tag)],
                    )
                ).body.load_balancer_id
            )
        tags = json.dumps([{"TagKey": "page", "TagValue": tag}])
        first = slb_v3.describe_load_balancers(
            m.DescribeLoadBalancersRequest(region_id=REGION, tags=tags, page_number=1, page_size=2)
        ).body
        second = slb_v3.describe_load_balancers(
            m.DescribeLoadBalancersRequest(region_id=REGION, tags=tags, page_number=2, page_size=2)
        ).body
        assert first.total_count == 3 and first.page_size == 2
        got = [lb.load_balancer_id for lb in first.load_balancers.load_balancer + second.load_balancers.load_balancer]
        assert got == ids

        lb_id = ids[0]
        group_id = slb_v3.create_vserver_group(
            m.CreateVServerGroupRequest(region_id=REGION, load_balancer_id=lb_id, vserver_group_name="batch")
        ).body.vserver_group_id
        # The Go CCM sends up to 40 backends per call; the fake accepts that many.
        batch = [{"ServerId": NODES[i % 3], "Port": 30000 + i} for i in range(40)]
        slb_v3.add_vserver_group_backend_servers(
            m.AddVServerGroupBackendServersRequest(region_id=REGION, vserver_group_id=group_id, backend_servers=json.dumps(batch))
        )
        too_many = [{"ServerId": NODES[0], "Port": 31000 + i} for i in range(41)]
        code, _, _ = tea_error(
            lambda: slb_v3.add_vserver_group_backend_servers(
                m.AddVServerGroupBackendServersRequest(
                    region_id=REGION, vserver_group_id=group_id, backend_servers=json.dumps(too_many)
                )
            )
        )
        assert code == "InvalidParameter"
        body = slb_v3.describe_vserver_group_attribute(
            m.DescribeVServerGroupAttributeRequest(region_id=REGION, vserver_group_id=group_id)
        ).body
        assert len(body.backend_servers.backend_server) == 40

        for port in range(1, 6):
            slb_v3.create_load_balancer_tcplistener(
                m.CreateLoadBalancerTCPListenerRequest(
                    region_id=REGION, load_balancer_id=lb_id, listener_port=port, bandwidth=-1, backend_server_port=port
                )
            )
        seen, token = [], None
        while True:
            page = slb_v3.describe_load_balancer_listeners(
                m.DescribeLoadBalancerListenersRequest(
                    region_id=REGION, load_balancer_id=[lb_id], max_results=2, next_token=token
                )
            ).body
            seen += [l.listener_port for l in page.listeners]
            assert page.max_results == 2
            if not page.next_token:
                break
            token = page.next_token
        assert seen == [1, 2, 3, 4, 5]
    finally:
        for lb_id in ids:
            slb_v3.delete_load_balancer(m.DeleteLoadBalancerRequest(region_id=REGION, load_balancer_id=lb_id))


def test_access_control_lists(old_client, slb_v3, admin):
    from alibabacloud_slb20140515 import models as m

    name = "acl-" + suffix()
    req = CreateAccessControlListRequest()
    req.set_AclName(name)
    acl_id = old_request(old_client, req)["AclId"]
    req = AddAccessControlListEntryRequest()
    req.set_AclId(acl_id)
    req.set_AclEntrys(json.dumps([{"entry": "10.0.0.0/24", "comment": "office"}, {"entry": "172.16.0.0/12"}]))
    old_request(old_client, req)
    req = DescribeAccessControlListAttributeRequest()
    req.set_AclId(acl_id)
    attr = old_request(old_client, req)
    assert [e["AclEntryIP"] for e in attr["AclEntrys"]["AclEntry"]] == ["10.0.0.0/24", "172.16.0.0/12"]
    assert attr["AclEntrys"]["AclEntry"][0]["AclEntryComment"] == "office"

    lb_id = slb_v3.create_load_balancer(
        m.CreateLoadBalancerRequest(region_id=REGION, address_type="intranet", v_switch_id=VSW_H)
    ).body.load_balancer_id
    try:
        req = CreateLoadBalancerTCPListenerRequest()
        req.set_LoadBalancerId(lb_id)
        req.set_ListenerPort(22)
        req.set_Bandwidth(-1)
        req.set_BackendServerPort(22)
        req.set_AclStatus("on")
        req.set_AclType("white")
        req.set_AclId(acl_id)
        old_request(old_client, req)
        typed = slb_v3.describe_access_control_list_attribute(
            m.DescribeAccessControlListAttributeRequest(region_id=REGION, acl_id=acl_id)
        ).body
        assert typed.acl_name == name
        assert typed.related_listeners.related_listener[0].load_balancer_id == lb_id
        assert typed.related_listeners.related_listener[0].acl_type == "white"
        listed = slb_v3.describe_access_control_lists(
            m.DescribeAccessControlListsRequest(region_id=REGION, acl_name=name)
        ).body
        assert listed.acls.acl[0].acl_id == acl_id
        tcp = slb_v3.describe_load_balancer_tcplistener_attribute(
            m.DescribeLoadBalancerTCPListenerAttributeRequest(region_id=REGION, load_balancer_id=lb_id, listener_port=22)
        ).body
        assert tcp.acl_status == "on" and tcp.acl_ids.acl_id == [acl_id]

        req = DeleteAccessControlListRequest()
        req.set_AclId(acl_id)
        assert old_error(old_client, req)[0] == "AclInUsed"
        req = DeleteLoadBalancerListenerRequest()
        req.set_LoadBalancerId(lb_id)
        req.set_ListenerPort(22)
        old_request(old_client, req)
        req = DeleteAccessControlListRequest()
        req.set_AclId(acl_id)
        old_request(old_client, req)
        assert acl_id not in slb_state(admin)["acls"]
    finally:
        slb_v3.delete_load_balancer(m.DeleteLoadBalancerRequest(region_id=REGION, load_balancer_id=lb_id))
