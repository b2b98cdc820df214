"""``tke-eni-sim cloud`` as a subprocess, and world files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from eni.cloud.emulator import World, WorldError
from eni.cloud.emulator import world as world_module

SIM = Path(sys.executable).with_name("tke-eni-sim")


def wait_for_file(path: Path, proc: subprocess.Popen, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        if proc.poll() is not None:
            raise AssertionError(f"exited early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError("no endpoint file")


def test_cli_serves_and_exits_zero_on_sigterm(tmp_path, make_cloud):
    world_file = tmp_path / "world.yaml"
    world_file.write_text(textwrap.dedent("""
        region: ap-shanghai
        zones: [ap-shanghai-2]
        vpc: {id: vpc-sh000001, cidr: 172.16.0.0/16}
        subnets:
          - {id: subnet-sh000001, zone: ap-shanghai-2, cidr: 172.16.5.0/24}
        securityGroups: [{id: sg-sh000001}]
        instances:
          - {id: ins-sh000001, type: S5.MEDIUM2, zone: ap-shanghai-2}
    """))
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"actions": {"DescribeAddresses": {"throttle_probability": 1.0}}}))
    endpoint_file = tmp_path / "endpoint"
    proc = subprocess.Popen(
        [str(SIM), "cloud", "--listen", "127.0.0.1:0", "--secret-id", "AKIDCLI", "--secret-key", "cli-key",
         "--world", str(world_file), "--endpoint-file", str(endpoint_file), "--faults", str(faults),
         "--documented-rate-limits"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        endpoint = wait_for_file(endpoint_file, proc)
        from tencentcloud.common import credential
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.vpc.v20170312 import vpc_client

        client = vpc_client.VpcClient(credential.Credential("AKIDCLI", "cli-key"), "ap-shanghai",
                                      ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=endpoint)))
        subnets = client.call_json("DescribeSubnets", {})["Response"]["SubnetSet"]
        assert [(s["SubnetId"], s["AvailableIpAddressCount"]) for s in subnets] == [("subnet-sh000001", 252)]
        limits = client.call_json("DescribeNetworkInterfaceLimit", {"InstanceId": "ins-sh000001"})["Response"]
        assert limits["EniQuantity"] == 4
        with pytest.raises(TencentCloudSDKException) as info:
            client.call_json("DescribeAddresses", {})
        assert info.value.get_code() == "RequestLimitExceeded"
        with urllib.request.urlopen(f"http://{endpoint}/_admin/faults", timeout=10) as resp:
            plan = json.loads(resp.read())
        assert plan["actions"]["ReleaseAddresses"]["throttle_qps"] == 10
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"listening on {endpoint}" in out


def test_cli_refuses_bad_worlds_and_non_loopback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("zones: [a]\nsubnets: [{id: subnet-x0000001, zone: b, cidr: 10.0.1.0/24}]\n")
    result = subprocess.run([str(SIM), "cloud", "--world", str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown zone" in result.stderr
    result = subprocess.run([str(SIM), "cloud", "--listen", "0.0.0.0:0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "loopback" in result.stderr


def test_the_documented_world_example_loads(tmp_path):
    block = world_module.__doc__.split("::\n\n", 1)[1].split("\n\nQuota numbers", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text(textwrap.dedent(block))
    world = World.from_yaml(path)
    assert world.instances[0].instance_id == "ins-node0001"
    assert world.instance_type("S5.CUSTOM").eni_quantity == 4
    assert world.quotas.unattached_eni_ips == 10
    assert [world.route_table_of(s) for s in world.subnets] == ["rtb-emu00001", "rtb-custom01"]


def test_default_world_matches_the_product_table():
    world = World.default()
    assert world.region == "ap-guangzhou" and world.zones == ("ap-guangzhou-3", "ap-guangzhou-4")
    table = {t.name: (t.cpu, t.eni_quantity, t.ip_per_eni) for t in world.instance_types}
    assert table["S5.SMALL1"] == (1, 2, 6)
    assert table["S5.MEDIUM2"] == table["S5.MEDIUM4"] == (2, 4, 10)
    assert table["S5.LARGE8"] == (4, 4, 10)
    assert table["S5.2XLARGE16"] == (8, 6, 20)
    assert table["S5.4XLARGE32"] == (16, 8, 30)
    assert world.quotas.vpc_enis == 1000 and world.quotas.eips == 20


@pytest.mark.parametrize("text, message", [
    ("[1, 2]", "mapping"),
    ("vpc: {id: nope}", "not a valid vpc id"),
    ("vpc: {cidr: 192.168.0.0/16}", "must list its subnets"),
    ("subnets: [{id: subnet-aaaaaaa1, zone: ap-guangzhou-3, cidr: 10.9.0.0/24}]", "inside"),
    ("instances: [{id: ins-aaaaaaa1, type: S9.HUGE, zone: ap-guangzhou-3}]", "unknown type"),
    ("subnets: [{zone: ap-guangzhou-3}]", "malformed"),
    ("{{{", "cannot read"),
])
def test_bad_world_files(tmp_path, text, message):
    path = tmp_path / "w.yaml"
    path.write_text(text)
    with pytest.raises(WorldError, match=message):
        World.from_yaml(path)


def test_help_documents_the_world_format_and_the_default_world():
    result = subprocess.run([str(SIM), "cloud", "--help"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "COLUMNS": "400"})
    assert result.returncode == 0, result.stderr
    default = World.default()
    assert "routeTableId" in result.stdout and "Without --world" in result.stdout
    documented = result.stdout.split("Without --world", 1)[1]
    for word in (default.region, default.vpc_cidr, default.route_table_id,
                 *(s.subnet_id for s in default.subnets), *(s.cidr for s in default.subnets),
                 *(i.instance_id for i in default.instances), *(i.instance_type for i in default.instances)):
        assert word in documented, word
