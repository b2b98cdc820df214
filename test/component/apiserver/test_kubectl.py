"""The real kubectl (1.32) against the fake API server: apply, get, label, annotate, patch, watch, delete."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
GROUP = "test.tke.cloud.tencent.com"
WIDGET = f"""
apiVersion: {GROUP}/v1
kind: NodeWidget
metadata:
  name: node-1
  labels: {{role: worker}}
spec:
  nodeName: node-1
  maxENIs: 3
"""
POD = """
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: app
    image: nginx
    env: [{name: MODE, value: one}]
"""


@pytest.fixture
def crd_applied(kubectl):
    out = kubectl("apply", "-f", str(FIXTURES))
    assert "customresourcedefinition.apiextensions.k8s.io/nodewidgets.test.tke.cloud.tencent.com created" in out.stdout
    return out


def rows(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()]


def test_get_builtin_kinds_and_namespaces(kubectl):
    names = [r[0] for r in rows(kubectl("get", "namespaces").stdout)[1:]]
    assert {"default", "kube-system"} <= set(names)
    assert kubectl("get", "pods").stderr.strip() == "No resources found in default namespace."


def test_custom_resource_life_with_kubectl(kubectl, crd_applied):
    assert (
        kubectl("apply", "-f", "-", input=WIDGET).stdout.strip()
        == "nodewidget.test.tke.cloud.tencent.com/node-1 created"
    )
    assert kubectl("apply", "-f", "-", input=WIDGET).stdout.strip().endswith("unchanged")
    table = rows(kubectl("get", "nw").stdout)
    assert table[0] == ["NAME", "NODE", "ENIS", "PHASE", "AGE"]
    assert table[1][:3] == ["node-1", "node-1", "3"]
    kubectl("label", "nodewidget", "node-1", "pool=blue")
    kubectl("annotate", "nodewidgets.test.tke.cloud.tencent.com", "node-1", "note=hello")
    kubectl("patch", "nw", "node-1", "--type=merge", "-p", '{"spec":{"maxENIs":5}}')
    kubectl("patch", "nw", "node-1", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Ready"}}')
    got = json.loads(kubectl("get", "nw", "node-1", "-o", "json").stdout)
    assert got["metadata"]["labels"] == {"role": "worker", "pool": "blue"}
    assert got["metadata"]["annotations"]["note"] == "hello"
    assert got["spec"]["maxENIs"] == 5 and got["status"] == {"phase": "Ready"}
    assert got["metadata"]["generation"] == 2
    assert rows(kubectl("get", "nw", "-l", "pool=blue").stdout)[1][3] == "Ready"
    assert kubectl("get", "nw", "-l", "pool=red").stderr.strip() == "No resources found"
    reapplied = kubectl("apply", "-f", "-", input=WIDGET.replace("maxENIs: 3", "maxENIs: 4"))
    assert "configured" in reapplied.stdout
    assert json.loads(kubectl("get", "nw", "node-1", "-o", "json").stdout)["spec"]["maxENIs"] == 4
    invalid = kubectl("apply", "-f", "-", input=WIDGET.replace("maxENIs: 3", "maxENIs: lots"), check=False)
    assert invalid.returncode != 0 and "Invalid" in invalid.stderr
    kubectl("delete", "nw", "node-1")
    assert kubectl("get", "nw").stderr.strip() == "No resources found"


def test_pod_life_with_kubectl(kubectl):
    kubectl("apply", "-f", "-", input=POD)
    kubectl("apply", "-f", "-", input=POD.replace("value: one", "value: two"))
    pod = json.loads(kubectl("get", "pod", "web", "-o", "json").stdout)
    assert pod["spec"]["containers"][0]["env"] == [{"name": "MODE", "value": "two"}]
    header, row = rows(kubectl("get", "pods", "-o", "wide").stdout)[:2]
    assert header[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] and row[:3] == ["web", "0/1", "Pending"]
    kubectl("label", "pod", "web", "tier=front")
    kubectl("annotate", "pod", "web", "owner=team-a")
    kubectl("patch", "pod", "web", "-p", '{"spec":{"containers":[{"name":"side","image":"busybox"}]}}')
    pod = json.loads(kubectl("get", "pod", "web", "-o", "json").stdout)
    assert [c["name"] for c in pod["spec"]["containers"]] == ["app", "side"]
    assert pod["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert kubectl("get", "pods", "-l", "tier in (front,back)", "-o", "name").stdout.strip() == "pod/web"
    assert kubectl("get", "pods", "--field-selector", "status.phase=Pending", "-o", "name").stdout.strip() == "pod/web"
    assert kubectl("get", "pods", "-A", "-o", "name").stdout.strip() == "pod/web"
    kubectl("delete", "pod", "web")
    assert kubectl("get", "pod", "web", check=False).returncode == 1


def test_get_watch_prints_changes(kubectl, kubeconfig, crd_applied, tmp_path):
    kubectl("apply", "-f", "-", input=WIDGET)
    env = {"HOME": str(tmp_path / "kubectl-home"), "KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin"}
    watcher = subprocess.Popen(
        ["kubectl", "get", "nw", "--watch", "--request-timeout=20s"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().split() == ["NAME", "NODE", "ENIS", "PHASE", "AGE"]
        assert watcher.stdout.readline().split()[:3] == ["node-1", "node-1", "3"]
        # kubectl watches from its list's resourceVersion, so this change arrives even before the watch opens
        kubectl("patch", "nw", "node-1", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Ready"}}')
        assert watcher.stdout.readline().split()[:4] == ["node-1", "node-1", "3", "Ready"]
    finally:
        watcher.kill()
        watcher.communicate(timeout=10)


def test_delete_crd_with_kubectl_removes_objects(kubectl, crd_applied):
    kubectl("apply", "-f", "-", input=WIDGET)
    kubectl("delete", "-f", str(FIXTURES / "widget-crd.yaml"))
    assert "nodewidgets" not in kubectl("api-resources").stdout
    kubectl("apply", "-f", str(FIXTURES / "widget-crd.yaml"))
    assert kubectl("get", "nw").stderr.strip() == "No resources found"


def test_kubectl_wait_for_established_and_explain_free_describe(kubectl, crd_applied):
    out = kubectl("wait", "--for=condition=Established", "crd/nodewidgets.test.tke.cloud.tencent.com", "--timeout=10s")
    assert "condition met" in out.stdout
    kubectl("apply", "-f", "-", input=POD)
    described = kubectl("describe", "pod", "web").stdout
    assert "Name:" in described and "web" in described


def test_explain_custom_resource_fields(kubectl, crd_applied):
    explained = kubectl("explain", "nodewidgets.spec").stdout
    assert "KIND:       NodeWidget" in explained
    assert "nodeName\t<string> -required-" in explained and "maxENIs\t<integer>" in explained


def test_kubectl_create_sends_protobuf_for_typed_kinds(kubectl, core):
    kubectl("create", "namespace", "team")
    kubectl("create", "configmap", "settings", "-n", "team", "--from-literal=mode=fast", "--from-literal=size=3")
    kubectl("create", "secret", "generic", "token", "-n", "team", "--from-literal=key=s3cret")
    kubectl("create", "serviceaccount", "robot", "-n", "team")
    assert core.read_namespace("team").status.phase == "Active"
    assert core.read_namespaced_config_map("settings", "team").data == {"mode": "fast", "size": "3"}
    secret = core.read_namespaced_secret("token", "team")
    assert secret.data == {"key": "czNjcmV0"} and secret.type == "Opaque"
    assert core.read_namespaced_service_account("robot", "team").metadata.name == "robot"
    refused = kubectl("create", "deployment", "web", "--image=nginx", check=False)
    assert refused.returncode != 0 and "unknown format" in refused.stderr


NODE_AND_EVENT = """
apiVersion: v1
kind: Node
metadata: {name: node-1, labels: {node-role.kubernetes.io/worker: ""}}
status:
  conditions: [{type: Ready, status: "True"}]
  nodeInfo: {kubeletVersion: v1.32.0}
---
apiVersion: v1
kind: Event
metadata: {name: web.1, namespace: default}
involvedObject: {kind: Pod, name: web, namespace: default}
reason: Scheduled
message: Assigned to node-1
type: Normal
"""


def test_builtin_tables_for_nodes_namespaces_and_events(kubectl):
    kubectl("apply", "-f", "-", input=NODE_AND_EVENT)
    nodes = rows(kubectl("get", "nodes").stdout)
    assert nodes[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [nodes[1][i] for i in (0, 1, 2, 4)] == ["node-1", "Ready", "worker", "v1.32.0"]
    assert rows(kubectl("get", "ns", "default").stdout)[1][:2] == ["default", "Active"]
    events = rows(kubectl("get", "events").stdout)
    assert events[0] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert events[1][1:] == ["Normal", "Scheduled", "pod/web", "Assigned", "to", "node-1"]


def test_get_watch_pods_and_categories(kubectl, kubeconfig, crd_applied, tmp_path):
    kubectl("apply", "-f", "-", input=WIDGET)
    kubectl("apply", "-f", "-", input=POD)
    assert rows(kubectl("get", "tke", "-o", "name").stdout) == [["nodewidget.test.tke.cloud.tencent.com/node-1"]]
    env = {"HOME": str(tmp_path / "kubectl-home"), "KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin"}
    watcher = subprocess.Popen(
        ["kubectl", "get", "pods", "--watch", "--request-timeout=20s"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        assert watcher.stdout.readline().split()[:3] == ["web", "0/1", "Pending"]
        kubectl("patch", "pod", "web", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Running"}}')
        assert watcher.stdout.readline().split()[:3] == ["web", "0/1", "Running"]
    finally:
        watcher.kill()
        watcher.communicate(timeout=10)
