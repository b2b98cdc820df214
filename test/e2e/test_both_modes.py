"""The local cluster in both modes (warm pools, static IPs): connectivity, scale, crashes, throttling, and a
check that fails when the cloud holds an IP the CRDs do not know."""

from __future__ import annotations

import re
import time

import pytest

from eni.sim.procs import find, is_ours, kill, restart

# One cluster per module: keep a module's tests on one xdist worker (with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("e2e-both-modes")


@pytest.fixture
def cluster(cluster_of_each_mode):
    return cluster_of_each_mode


def _spread(pods):
    by_node = {}
    for pod in pods.values():
        by_node.setdefault(pod["spec"]["nodeName"], pod)
    return by_node


def test_pods_across_nodes_reach_each_other_and_the_nodes(cluster):
    names = [f"net-{i}" for i in range(6)]
    for name in names:
        cluster.create(name, labels={"app": "net"})
    pods = cluster.running(names)
    by_node = _spread(pods)
    assert len(by_node) >= 2, "the scheduler should spread pods over the nodes"
    first, *others = by_node.values()
    for other in others:
        assert cluster.ping(first, other["status"]["podIP"]), f"pod -> pod on {other['spec']['nodeName']}"
        assert cluster.ping(other, first["status"]["podIP"])
    for node in cluster.nodes:
        assert cluster.ping(first, node["primary_ip"]), f"pod -> node {node['name']}"
    exec_ping = cluster.sim("exec", names[0], "--", "ping", "-c", "1", pods[names[1]]["status"]["podIP"])
    assert exec_ping.returncode == 0, exec_ping.stdout + exec_ping.stderr
    cni_check = cluster.sim("cni-check", names[0])
    assert cni_check.returncode == 0, cni_check.stdout + cni_check.stderr
    result = cluster.check()
    assert result.returncode == 0, result.stdout
    for name in names:
        cluster.delete(name)
    cluster.gone(names)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_scale_0_to_40_to_0_keeps_the_ledger_clean(cluster):
    names = [f"scale-{i}" for i in range(40)]
    for name in names:
        cluster.create(name, labels={"app": "scale"})
    pods = cluster.running(names, timeout=120)
    assert len({p["status"]["podIP"] for p in pods.values()}) == 40
    result = cluster.check()
    assert result.returncode == 0, result.stdout
    for name in names:
        cluster.delete(name)
    cluster.gone(names)
    result = cluster.check()
    assert result.returncode == 0, result.stdout


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_killed_agent_restarts_and_its_pods_keep_working(cluster):
    names = [f"agent-{i}" for i in range(3)]
    for name in names:
        cluster.create(name, labels={"app": "agent"})
    pods = cluster.running(names)
    victim_node = pods[names[0]]["spec"]["nodeName"]
    peer = next(n for n in cluster.nodes if n["name"] != victim_node)
    assert kill(cluster.state, f"agent-{victim_node}")
    assert cluster.ping(pods[names[0]], peer["primary_ip"]), "pods keep their network while the agent is down"
    restart(cluster.state, f"agent-{victim_node}")
    cluster.create("agent-after", labels={"app": "agent"}, node_selector={"kubernetes.io/hostname": victim_node})
    after = cluster.running(["agent-after"], timeout=60)["agent-after"]
    assert after["status"]["podIP"] not in {p["status"]["podIP"] for p in pods.values()}
    assert cluster.ping(pods[names[0]], after["status"]["podIP"])
    for name in [*names, "agent-after"]:
        cluster.delete(name)
    cluster.gone([*names, "agent-after"])


def _lease_holder(cluster):
    from kubernetes.client import CoordinationV1Api

    lease = CoordinationV1Api(cluster.api.client).read_namespaced_lease(
        "tke-eni-ipamd", "kube-system", _preload_content=False, _request_timeout=10).json()
    return (lease.get("spec") or {}).get("holderIdentity")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_other_ipamd_takes_over_when_the_leader_is_killed(cluster):
    leader = _lease_holder(cluster)
    assert leader in ("ipamd-0", "ipamd-1")
    assert kill(cluster.state, leader)
    deadline = time.monotonic() + 30
    while _lease_holder(cluster) == leader and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _lease_holder(cluster) not in (leader, None)
    # The new leader keeps serving: pods still get IPs.
    names = [f"failover-{i}" for i in range(6)]
    for name in names:
        cluster.create(name, labels={"app": "failover"})
    cluster.running(names, timeout=90)
    restart(cluster.state, leader)
    assert is_ours(find(cluster.state, leader), cluster.state)
    for name in names:
        cluster.delete(name)
    cluster.gone(names)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_cluster_converges_while_the_cloud_throttles_30_percent_of_calls(cluster):
    cluster.faults({"actions": {"*": {"throttle_probability": 0.3}}})
    try:
        names = [f"throttled-{i}" for i in range(12)]
        for name in names:
            cluster.create(name, labels={"app": "throttled"})
        cluster.running(names, timeout=120)
        result = cluster.check()
        assert result.returncode == 0, result.stdout + _ipamd_lines_naming(cluster, _leaked(result.stdout))
    finally:
        cluster.faults(None)
    for name in names:
        cluster.delete(name)
    cluster.gone(names)


def _leaked(check_output):
    return re.findall(r"^leak\s+(\S+)", check_output, re.MULTILINE)


def _ipamd_lines_naming(cluster, addresses, limit=60):
    """What the ipamd replicas logged about ``addresses`` (to tell which path left them unrecorded)."""
    if not addresses:
        return ""
    found = []
    for log in sorted(cluster.state.logs.glob("ipamd-*.log")):
        found += [f"{log.name}: {line}" for line in log.read_text(errors="replace").splitlines()
                  if any(a in line for a in addresses)]
    return "\nipamd lines naming " + ", ".join(addresses) + ":\n" + "\n".join(found[-limit:] or ["(none)"])


def _vpc_client(cluster):
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.vpc.v20170312 import vpc_client

    cloud = cluster.summary["cloud"]
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=cloud["endpoint"], reqTimeout=10))
    return vpc_client.VpcClient(credential.Credential(cloud["secret_id"], cloud["secret_key"]), cloud["region"],
                                profile)


def _call(client, action, params):
    import json

    from tencentcloud.vpc.v20170312 import models

    request = getattr(models, action + "Request")()
    request.from_json_string(json.dumps(params))
    return getattr(client, action)(request)


def test_check_fails_on_an_eni_the_crds_do_not_know_and_passes_once_it_is_gone(cluster):
    from eni.sim.statedir import read_json

    cloud = read_json(cluster.state.path / "cloud.json")
    client = _vpc_client(cluster)
    made = _call(client, "CreateNetworkInterface", {
        "VpcId": cloud["vpc_id"], "SubnetId": cloud["subnets"][0]["id"], "NetworkInterfaceName": "made-by-hand",
    }).NetworkInterface.NetworkInterfaceId
    try:
        leaked = cluster.sim("check")
        assert leaked.returncode == 1, leaked.stdout
        assert "leak" in leaked.stdout and made in leaked.stdout
    finally:
        _call(client, "DeleteNetworkInterface", {"NetworkInterfaceId": made})
    result = cluster.check()
    assert result.returncode == 0, result.stdout


KUBECTL_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: by-kubectl, namespace: default}
spec:
  terminationGracePeriodSeconds: 0
  containers:
    - name: app
      image: registry.local/app:1
      resources:
        requests: {tke.cloud.tencent.com/eni-ip: "1"}
        limits: {tke.cloud.tencent.com/eni-ip: "1"}
"""


def test_kubectl_applies_shows_and_deletes_a_pod_and_lists_the_crds(cluster, tmp_path):
    import subprocess

    def kubectl(*args):
        result = subprocess.run(["kubectl", "--kubeconfig", cluster.summary["kubeconfig"], "--request-timeout=20s",
                                 *args], capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    manifest = tmp_path / "pod.yaml"
    manifest.write_text(KUBECTL_POD)
    kubectl("apply", "-f", str(manifest))
    pod = cluster.running(["by-kubectl"])["by-kubectl"]
    ip, node = pod["status"]["podIP"], pod["spec"]["nodeName"]
    row = next(line for line in kubectl("get", "pods", "-o", "wide").splitlines() if line.startswith("by-kubectl"))
    assert "Running" in row and ip in row.split() and node in row.split()
    assert node in kubectl("get", "nec", "-o", "name")
    assert ip in kubectl("get", "vip", "-o", "name")
    claims = kubectl("get", "vipc", "-o", "name")
    assert ("by-kubectl" in claims) == (cluster.summary["mode"] == "static")
    kubectl("delete", "pod", "by-kubectl", "--wait=false")
    cluster.gone(["by-kubectl"])
    result = cluster.check()
    assert result.returncode == 0, result.stdout
