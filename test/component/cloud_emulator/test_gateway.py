"""Signatures, headers and bad input over raw HTTP and the real SDK: error replies, never a crash."""

from __future__ import annotations

import http.client
import json
import socket
import time

from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vpc.v20170312 import vpc_client

from eni.cloud.emulator import sign_headers


def sdk_code(emu, secret_id, secret_key):
    client = vpc_client.VpcClient(credential.Credential(secret_id, secret_key), emu.region,
                                  ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=emu.endpoint)))
    try:
        client.call_json("DescribeSubnets", {})
    except Exception as e:  # the SDK's exception carries the code
        return e.get_code()
    return "ok"


def test_signature_checks(emu, cloud):
    assert sdk_code(emu, "AKIDTESTEMULATOR", "test-secret-key") == "ok"
    assert sdk_code(emu, "AKIDTESTEMULATOR", "wrong-key") == "AuthFailure.SignatureFailure"
    assert sdk_code(emu, "AKIDSOMEONEELSE", "test-secret-key") == "AuthFailure.SecretIdNotFound"
    status, ctype, reply = cloud.raw("DescribeSubnets", b"{}", timestamp=int(time.time()) - 3600)
    assert (status, ctype, cloud.code_of(reply)) == (200, "application/json", "AuthFailure.SignatureExpire")
    status, _, reply = cloud.raw("DescribeSubnets", b"{}")
    assert status == 200 and reply["Response"]["TotalCount"] == 4
    # the body is covered by the signature
    headers = sign_headers(secret_id="AKIDTESTEMULATOR", secret_key="test-secret-key", service="vpc",
                           host=emu.endpoint, action="DescribeSubnets", body=b"{}", region=emu.region)
    _, _, reply = cloud.raw("DescribeSubnets", b'{"Limit": 1}', sign=False, headers=headers)
    assert cloud.code_of(reply) == "AuthFailure.SignatureFailure"
    _, _, reply = cloud.raw("DescribeSubnets", b"{}", sign=False, headers={"Content-Type": "application/json",
                            "X-TC-Action": "DescribeSubnets", "X-TC-Version": "2017-03-12", "X-TC-Region": emu.region,
                            "X-TC-Timestamp": str(int(time.time())), "Authorization": "Basic abc"})
    assert cloud.code_of(reply) == "AuthFailure.InvalidAuthorization"


def test_service_comes_from_the_credential_scope(cloud):
    _, _, reply = cloud.raw("DescribeInstances", b"{}", service="vpc")
    assert cloud.code_of(reply) == "InvalidAction"
    _, _, reply = cloud.raw("DescribeInstances", b"{}", service="cvm")
    assert reply["Response"]["TotalCount"] == 3
    _, _, reply = cloud.raw("DescribeSubnets", b"{}", service="cvm")
    assert cloud.code_of(reply) == "InvalidAction"


def test_header_errors(cloud):
    assert cloud.code_of(cloud.raw("DescribeSubnets", b"{}", headers={"X-TC-Version": "2020-01-01"})[2]) == (
        "NoSuchVersion")
    assert cloud.code_of(cloud.raw("DescribeSubnets", b"{}", headers={"X-TC-Region": "ap-beijing"})[2]) == (
        "UnsupportedRegion")
    assert cloud.code_of(cloud.raw("NoSuchAction", b"{}")[2]) == "InvalidAction"


def test_bad_bodies_get_error_replies(emu, cloud):
    cases = {
        b"not json": "InvalidParameter",
        b"[1, 2]": "InvalidParameter",
        b"\xff\xfe": "InvalidParameter",
        b"[" * 100_000: "InvalidParameter",
        b'{"Bogus": 1}': "UnknownParameter",
        b'{"NetworkInterfaceIds": "eni-abcdefgh"}': "InvalidParameter",
        b'{"Filters": [{"Name": "vpc-id", "Values": "x"}]}': "InvalidParameter",
        b'{"Filters": [1]}': "InvalidParameter",
        b'{"Limit": true}': "InvalidParameter",
        b'{"Limit": -1}': "InvalidParameterValue.Range",
    }
    for body, code in cases.items():
        status, ctype, reply = cloud.raw("DescribeNetworkInterfaces", body)
        assert (status, ctype, cloud.code_of(reply)) == (200, "application/json", code), body[:40]
    status, _, reply = cloud.raw("AssignPrivateIpAddresses", b'{"NetworkInterfaceId": 5}')
    assert cloud.code_of(reply) == "InvalidParameter"
    status, _, reply = cloud.raw("AssignPrivateIpAddresses", json.dumps({
        "NetworkInterfaceId": "eni-abcdefgh", "PrivateIpAddresses": [{"PrivateIpAddress": "not-an-ip"}]}).encode())
    assert cloud.code_of(reply) == "ResourceNotFound"
    assert cloud.call("DescribeSubnets")["TotalCount"] == 4  # still serving


def test_huge_and_broken_requests_do_not_hurt_the_server(emu, cloud):
    status, _, reply = cloud.raw("DescribeSubnets", b"{" + b" " * (2 << 20) + b"}")
    assert status == 200 and cloud.code_of(reply) == "InvalidParameter"
    host, port = emu.endpoint.split(":")
    for garbage in (b"\x00\x01\x02garbage\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                    b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{"):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(garbage)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(5)
            try:
                sock.recv(65536)
            except OSError:
                pass
    conn = http.client.HTTPConnection(emu.endpoint, timeout=5)
    conn.request("GET", "/?Action=DescribeSubnets")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type") == "application/json"
    assert json.loads(resp.read())["Response"]["Error"]["Code"] == "UnsupportedProtocol"
    conn.close()
    assert cloud.call("DescribeSubnets")["TotalCount"] == 4


def test_bugs_become_internal_errors(emu, cloud, monkeypatch):
    import eni.cloud.emulator.gateway as gateway

    spec = gateway.ACTIONS[("vpc", "DescribeSubnets")]

    def broken(state, params, ctx):
        raise KeyError("boom")

    monkeypatch.setitem(gateway.ACTIONS, ("vpc", "DescribeSubnets"), type(spec)(
        spec.name, spec.service, spec.params, broken))
    assert cloud.error("DescribeSubnets") == "InternalError"
    assert emu.calls.count("DescribeSubnets", outcome="InternalError") == 1


def test_the_sdk_in_get_mode_works_too(emu, cloud):
    client = vpc_client.VpcClient(
        credential.Credential("AKIDTESTEMULATOR", "test-secret-key"), emu.region,
        ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=emu.endpoint, reqMethod="GET")))
    created = client.call_json("CreateNetworkInterface", {
        "VpcId": cloud.VPC_ID, "SubnetId": cloud.SUBNET_GZ3, "NetworkInterfaceName": "via-get",
        "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.77", "Primary": True}], "SecondaryPrivateIpAddressCount": 1,
        "Tags": [{"Key": "mode", "Value": "get"}]})["Response"]["NetworkInterface"]
    assert [p["PrivateIpAddress"] for p in created["PrivateIpAddressSet"]][0] == "10.0.1.77"
    found = client.call_json("DescribeNetworkInterfaces", {
        "Filters": [{"Name": "tag:mode", "Values": ["get"]}], "Limit": 5})["Response"]
    assert [e["NetworkInterfaceId"] for e in found["NetworkInterfaceSet"]] == [created["NetworkInterfaceId"]]
    try:
        client.call_json("DescribeNetworkInterfaces", {"Limit": "many"})
    except Exception as e:
        assert e.get_code() == "InvalidParameter"
    else:
        raise AssertionError("a non-integer Limit was accepted")


def test_flattened_query_parsing():
    from eni.cloud.emulator.actions_eni import ACTIONS
    from eni.cloud.emulator.errors import ApiError
    from eni.cloud.emulator.formparams import parse_query

    spec = {s.name: s for s in ACTIONS}["CreateNetworkInterface"].params
    parsed = parse_query("VpcId=vpc-1&PrivateIpAddresses.0.PrivateIpAddress=10.0.1.5&PrivateIpAddresses.0.Primary="
                         "True&SecondaryPrivateIpAddressCount=2&Tags.0.Key=a&Tags.0.Value=b&SecurityGroupIds.0=sg-1",
                         spec)
    assert parsed == {"VpcId": "vpc-1", "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.5", "Primary": True}],
                      "SecondaryPrivateIpAddressCount": 2, "Tags": [{"Key": "a", "Value": "b"}],
                      "SecurityGroupIds": ["sg-1"]}
    for bad in ("SecurityGroupIds.1=sg-1", "VpcId=a&VpcId=b", "VpcId=a&VpcId.x=b", "IsRdma=maybe",
                "SecondaryPrivateIpAddressCount=two", "%%%"):
        try:
            parse_query(bad, spec)
        except ApiError as e:
            assert e.code == "InvalidParameter", bad
        else:
            raise AssertionError(f"{bad!r} was accepted")


WRONG_VALUES = (None, True, 0, -1, 2**70, 1.5, 1e308, "", "x" * 300, "eni-abcdefgh", "10.0.1.5", [], [1], ["a"],
                [None], [{}], {}, {"a": 1}, [{"PrivateIpAddress": 5}], [{"Name": 1, "Values": [2]}])


def test_every_parameter_of_every_action_with_wrong_values_gets_an_error_reply_not_a_crash(emu, cloud):
    import random

    import eni.cloud.emulator.gateway as gateway

    rng = random.Random(3)
    failures = []
    for (service, action), spec in sorted(gateway.ACTIONS.items()):
        names = sorted(spec.params)
        bodies = [{name: value} for name in names for value in WRONG_VALUES]
        bodies += [{n: rng.choice(WRONG_VALUES) for n in rng.sample(names, k=min(len(names), rng.randint(1, 4)))}
                   for _ in range(20)]
        for body in bodies:
            status, ctype, reply = cloud.raw(action, json.dumps(body).encode(), service=service)
            code = reply["Response"].get("Error", {}).get("Code")
            if (status, ctype) != (200, "application/json") or code == "InternalError":
                failures.append((action, body, status, code))
    assert failures == []
    assert cloud.call("DescribeSubnets")["TotalCount"] == 4
