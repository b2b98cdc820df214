"""Fixtures: a running emulator per test and the real Tencent SDK clients pointed at it."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client
from tencentcloud.vpc.v20170312 import vpc_client

from eni.cloud.emulator import Emulator, World, sign_headers

SECRET_ID = "AKIDTESTEMULATOR"
SECRET_KEY = "test-secret-key"
VPC_ID = "vpc-emu00001"
SUBNET_GZ3 = "subnet-gz3a0001"
SUBNET_GZ4 = "subnet-gz4a0003"
INS_MEDIUM = "ins-emu00001"  # S5.MEDIUM4, zone -3: 4 ENIs x 10 IPs
INS_2XL = "ins-emu00002"  # S5.2XLARGE16, zone -3: 6 x 20
INS_SMALL = "ins-emu00003"  # S5.SMALL1, zone -4: 2 x 6


class Cloud:
    """The real SDK against one emulator, with small conveniences for tests (reached through fixtures)."""

    VPC_ID = VPC_ID
    SUBNET_GZ3 = SUBNET_GZ3
    SUBNET_GZ4 = SUBNET_GZ4
    INS_MEDIUM = INS_MEDIUM
    INS_2XL = INS_2XL
    INS_SMALL = INS_SMALL

    def __init__(self, emu: Emulator, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY) -> None:
        self.emu = emu
        cred = credential.Credential(secret_id, secret_key)
        profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=emu.endpoint, reqTimeout=10))
        self.vpc = vpc_client.VpcClient(cred, emu.region, profile)
        self.cvm = cvm_client.CvmClient(cred, emu.region, profile)

    def call(self, action: str, params: dict[str, Any] | None = None, *, service: str = "vpc") -> dict[str, Any]:
        client = self.vpc if service == "vpc" else self.cvm
        reply = client.call_json(action, params or {})
        body: dict[str, Any] = reply["Response"]
        return body

    def error(self, action: str, params: dict[str, Any] | None = None, *, service: str = "vpc") -> str:
        """The error code of a call that must fail."""
        with pytest.raises(TencentCloudSDKException) as info:
            self.call(action, params, service=service)
        code: str = info.value.get_code()
        return code

    def wait_vpc_task(self, task_id: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            result = self.call("DescribeVpcTaskResult", {"TaskId": task_id})
            if result["Status"] != "RUNNING" or time.monotonic() > deadline:
                return result
            time.sleep(0.01)

    def wait_eip_task(self, task_id: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            result: str = self.call("DescribeTaskResult", {"TaskId": int(task_id)})["Result"]
            if result != "RUNNING" or time.monotonic() > deadline:
                return result
            time.sleep(0.01)

    def done(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run an asynchronous VPC action and wait for its task to succeed."""
        reply = self.call(action, params)
        result = self.wait_vpc_task(reply["RequestId"])
        assert result["Status"] == "SUCCESS", result
        return reply

    def create_eni(self, subnet: str = SUBNET_GZ3, count: int = 0, **extra: Any) -> dict[str, Any]:
        params = {"VpcId": VPC_ID, "SubnetId": subnet, "NetworkInterfaceName": "test", **extra}
        if count:
            params["SecondaryPrivateIpAddressCount"] = count
        eni: dict[str, Any] = self.done("CreateNetworkInterface", params)["NetworkInterface"]
        return eni

    def eni(self, eni_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.call("DescribeNetworkInterfaces", {"NetworkInterfaceIds": [eni_id]})[
            "NetworkInterfaceSet"][0]
        return found

    def ips(self, eni_id: str) -> list[str]:
        return [p["PrivateIpAddress"] for p in self.eni(eni_id)["PrivateIpAddressSet"]]

    def raw(self, action: str, body: bytes, **kwargs: Any) -> tuple[int, str, dict[str, Any]]:
        return raw_post(self.emu, action, body, **kwargs)

    @staticmethod
    def code_of(reply: dict[str, Any]) -> str:
        return error_code(reply)


def raw_post(
    emu: Emulator, action: str, body: bytes, *, service: str = "vpc", headers: dict[str, str] | None = None,
    sign: bool = True, timestamp: int | None = None, secret_key: str = SECRET_KEY,
) -> tuple[int, str, dict[str, Any]]:
    """POST ``body`` over raw HTTP; returns (status, content type, parsed JSON)."""
    host = emu.endpoint
    hdrs = sign_headers(secret_id=SECRET_ID, secret_key=secret_key, service=service, host=host, action=action,
                        body=body, region=emu.region, timestamp=timestamp) if sign else {}
    hdrs.update(headers or {})
    conn = http.client.HTTPConnection(host, timeout=10)
    try:
        conn.request("POST", "/", body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.getheader("Content-Type", ""), json.loads(data) if data else {}
    finally:
        conn.close()


def error_code(reply: dict[str, Any]) -> str:
    code: str = reply["Response"]["Error"]["Code"]
    return code


@pytest.fixture
def world() -> World:
    return World.default()


@pytest.fixture
def emu(world: World) -> Iterator[Emulator]:
    emulator = Emulator(world=world, secret_id=SECRET_ID, secret_key=SECRET_KEY, task_delay=0.02, seed=7)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def cloud(emu: Emulator) -> Cloud:
    return Cloud(emu)


@pytest.fixture
def make_cloud() -> Iterator[Callable[..., Cloud]]:
    """Start more emulators (own world, delay, hooks); all are stopped at the end of the test."""
    started: list[Emulator] = []

    def make(world: World | None = None, **kwargs: Any) -> Cloud:
        kwargs.setdefault("task_delay", 0.02)
        emulator = Emulator(world=world or World.default(), secret_id=SECRET_ID, secret_key=SECRET_KEY, **kwargs)
        started.append(emulator)
        emulator.start()
        return Cloud(emulator)

    try:
        yield make
    finally:
        for emulator in started:
            emulator.stop()
