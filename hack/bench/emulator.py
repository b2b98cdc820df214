"""Throughput of the Tencent Cloud emulator: calls/s for a cheap describe and for assign+unassign,
through the real SDK and through raw HTTP (keep-alive, signed by hand).

The emulator runs as ``tke-eni-sim cloud`` in its own process pinned to one core; the client runs
here, pinned to another core when there is one. Run:

    .venv/bin/python hack/bench/emulator.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vpc.v20170312 import vpc_client

from eni.cloud.emulator import sign_headers

SECRET_ID, SECRET_KEY, REGION = "AKIDBENCH", "bench-secret", "ap-guangzhou"


def start_emulator(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    endpoint_file = workdir / "endpoint"
    cores = sorted(os.sched_getaffinity(0))

    def pin() -> None:
        os.sched_setaffinity(0, {cores[0]})

    sim = Path(sys.executable).with_name("tke-eni-sim")
    proc = subprocess.Popen(
        [str(sim), "cloud", "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY, "--task-delay", "0",
         "--endpoint-file", str(endpoint_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=pin,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if endpoint_file.exists() and endpoint_file.read_text().strip():
            if len(cores) > 1:
                os.sched_setaffinity(0, {cores[1]})
            return proc, endpoint_file.read_text().strip()
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the emulator did not start")


def rate(seconds: float, one_call: Callable[[], int]) -> float:
    """Calls per second of ``one_call`` (which returns how many API calls it made)."""
    for _ in range(50):  # warm up: connections, caches
        one_call()
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        calls += one_call()
    return calls / elapsed


class Raw:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.conn = http.client.HTTPConnection(endpoint, timeout=10)

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        headers = sign_headers(secret_id=SECRET_ID, secret_key=SECRET_KEY, service="vpc", host=self.endpoint,
                               action=action, body=body, region=REGION)
        self.conn.request("POST", "/", body=body, headers=headers)
        reply: dict[str, Any] = json.loads(self.conn.getresponse().read())["Response"]
        if "Error" in reply:
            raise RuntimeError(reply["Error"])
        return reply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, endpoint = start_emulator(Path(tmp))
        try:
            sdk = vpc_client.VpcClient(credential.Credential(SECRET_ID, SECRET_KEY), REGION,
                                       ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=endpoint)))
            raw = Raw(endpoint)
            eni = raw.call("CreateNetworkInterface", {"VpcId": "vpc-emu00001", "SubnetId": "subnet-gz3a0001",
                                                      "NetworkInterfaceName": "bench"})["NetworkInterface"]
            eni_id = eni["NetworkInterfaceId"]

            def assign_unassign(call: Callable[[str, dict[str, Any]], dict[str, Any]]) -> int:
                ips = call("AssignPrivateIpAddresses", {"NetworkInterfaceId": eni_id,
                                                        "SecondaryPrivateIpAddressCount": 1})["PrivateIpAddressSet"]
                call("UnassignPrivateIpAddresses", {"NetworkInterfaceId": eni_id, "PrivateIpAddresses": [
                    {"PrivateIpAddress": ips[0]["PrivateIpAddress"]}]})
                return 2

            def sdk_call(action: str, params: dict[str, Any]) -> dict[str, Any]:
                reply: dict[str, Any] = sdk.call_json(action, params)["Response"]
                return reply

            def describe(call: Callable[[str, dict[str, Any]], dict[str, Any]]) -> int:
                call("DescribeSubnets", {})
                return 1

            results = {
                "DescribeSubnets via SDK": rate(args.seconds, lambda: describe(sdk_call)),
                "DescribeSubnets via raw HTTP": rate(args.seconds, lambda: describe(raw.call)),
                "Assign+Unassign via SDK": rate(args.seconds, lambda: assign_unassign(sdk_call)),
                "Assign+Unassign via raw HTTP": rate(args.seconds, lambda: assign_unassign(raw.call)),
            }
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"emulator pinned to one core (machine cores: {os.cpu_count()}), "
          f"one client thread, {args.seconds:g} s each")
    for name, value in results.items():
        print(f"  {name:32s} {value:8.0f} calls/s")


if __name__ == "__main__":
    main()
