"""The scheduler stand-in speaks kube-scheduler's extender protocol to the real tke-eni-ip-scheduler program."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from eni.api.v1 import ALL_KINDS
from eni.api.v1.constants import GROUP, VERSION
from eni.api.v1.crdgen import custom_resource_definition
from eni.sim.scheduler import ExtenderConfig, SimScheduler

EXTENDER = str(Path(sys.executable).parent / "tke-eni-ip-scheduler")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def extender_url(kube, kubeconfig, tmp_path):
    from kubernetes.client import ApiextensionsV1Api

    ext = ApiextensionsV1Api(kube.client)
    for kind in ALL_KINDS:
        ext.create_custom_resource_definition(custom_resource_definition(kind), _preload_content=False)
    port, health = _port(), _port()
    with open(tmp_path / "extender.log", "wb") as log:
        proc = subprocess.Popen([EXTENDER, "--listen", f"127.0.0.1:{port}", "--kubeconfig", str(kubeconfig),
                                 "--metrics-bind-address", "0", "--health-probe-bind-address", f"127.0.0.1:{health}",
                                 "--log-format", "text"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health}/readyz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the extender did not become ready:\n" + (tmp_path / "extender.log").read_text())
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def _nec(kube, node, *, ips):
    from kubernetes.client import CustomObjectsApi

    custom = CustomObjectsApi(kube.client)
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "NodeENIConfig", "metadata": {"name": node},
            "spec": {"instanceId": "ins-" + node[-1] * 8, "zone": "ap-guangzhou-3", "subnetIds": ["subnet-gz3a0001"],
                     "maxENI": 3, "maxIPPerENI": 9}}
    custom.create_cluster_custom_object(GROUP, VERSION, "nodeeniconfigs", body)
    status = {"enis": [{"eniId": "eni-" + node[-1] * 8, "mac": "20:90:6f:00:00:0" + node[-1], "primaryIP": "10.0.1.9",
                        "subnetId": "subnet-gz3a0001", "subnetCIDR": "10.0.1.0/24", "gateway": "10.0.1.1",
                        "type": "route", "ips": [{"ip": f"10.0.1.{20 + i}", "state": "Bound"} for i in range(ips)]}]}
    custom.patch_cluster_custom_object_status(GROUP, VERSION, "nodeeniconfigs", node, {"status": status})


def _ready(extender_url, kube, nodes):
    """Wait until the extender's informers know ``nodes`` (its filter reasons stop saying "no NodeENIConfig")."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        decision = SimScheduler(kube, extender=ExtenderConfig(url_prefix=extender_url)).decide(
            {"metadata": {"name": "probe", "namespace": "default"},
             "spec": {"containers": [{"name": "a", "resources": {"requests": {"tke.cloud.tencent.com/eni-ip": "1"}}}]}},
            [kube.get_node(n) for n in nodes], {})
        if not any("no NodeENIConfig" in r for r in decision.failed.values()):
            return
        time.sleep(0.2)


def test_eni_ip_pods_are_filtered_by_the_real_extender(kube, add_node, make_pod, extender_url):
    add_node("node-a")
    add_node("node-b")
    _nec(kube, "node-b", ips=3)
    _ready(extender_url, kube, ["node-b"])
    make_pod("web-0")
    (key, decision), = SimScheduler(kube, extender=ExtenderConfig(url_prefix=extender_url)).schedule_once()

    assert decision.used_extender and decision.node == "node-b"
    assert decision.failed["node-a"].startswith("[ip-scheduler]")
    pod = kube.core.read_namespaced_pod("web-0", "default", _preload_content=False).json()
    assert pod["spec"]["nodeName"] == "node-b"


def test_a_pod_the_extender_rejects_everywhere_stays_pending_with_its_reasons(kube, add_node, make_pod, extender_url):
    add_node("node-a")
    make_pod("web-1")
    SimScheduler(kube, extender=ExtenderConfig(url_prefix=extender_url)).schedule_once()
    events = kube.core.list_namespaced_event("default", _preload_content=False).json()["items"]
    (event,) = [e for e in events if e["involvedObject"]["name"] == "web-1"]
    assert event["reason"] == "FailedScheduling" and "[ip-scheduler]" in event["message"]
