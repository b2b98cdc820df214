"""Node removal releases everything; before its agent reports, a node's pods requesting eni-ip count."""

from __future__ import annotations

import pytest

from eni.api.v1 import NODE_ENI_CONFIG, VPC_ENI, VPC_IP, IPState
from eni.api.v1.constants import RESOURCE_ENI_IP
from eni.runtime.client.errors import NotFoundError
from eni.runtime.meta import NODE, POD, ObjectKey


def pod(name: str, node: str, *, eni_ip: bool = True, phase: str = "Running") -> dict:
    resources = {"requests": {RESOURCE_ENI_IP: "1"}, "limits": {RESOURCE_ENI_IP: "1"}} if eni_ip else {}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "pause", "resources": resources}]},
            "status": {"phase": phase}}


def test_deleting_a_node_detaches_and_deletes_its_enis_and_forgets_its_ips(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_node("node-2")
    cluster.agents["node-1"].want_pods = 10
    cluster.converge()
    enis = [e.eni_id for e in cluster.nec("node-1").status.enis]
    assert len(enis) == 2
    cluster.client.delete(NODE, ObjectKey(namespace="", name="node-1"))
    cluster.reconcile("node-1")
    with pytest.raises(NotFoundError):
        cluster.client.get(NODE_ENI_CONFIG, ObjectKey(namespace="", name="node-1"))
    assert cluster.adapter.describe_enis(eni_ids=enis) == ()
    assert [o for o in cluster.client.list(VPC_ENI) if o["spec"]["nodeName"] == "node-1"] == []
    assert [o for o in cluster.client.list(VPC_IP) if o["spec"]["nodeName"] == "node-1"] == []
    cluster.reconcile("node-1")  # again: nothing left to do, nothing fails
    cluster.assert_consistent("node-2")  # the other node is untouched
    assert len(cluster.nec("node-2").status.ips_in_state(IPState.BOUND)) == 5


def test_before_the_agent_reports_pods_requesting_eni_ip_count(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-2")
    for p in (pod("a", "node-2"), pod("b", "node-2"), pod("c", "node-2"), pod("plain", "node-2", eni_ip=False),
              pod("done", "node-2", phase="Succeeded"), pod("elsewhere", "node-1")):
        cluster.client.create(POD, p)
        cluster.client.patch(POD, ObjectKey(namespace="default", name=p["metadata"]["name"]),
                             {"status": p["status"]}, subresource="status")  # create ignores the status
    for _ in range(3):
        cluster.reconcile("node-2")  # no agent step: it has never reported
    assert cluster.nec("node-2").status.agent.heartbeat_time is None
    assert len(cluster.nec("node-2").status.ips_in_state(IPState.BOUND)) == 8


def test_eni_limit_is_also_an_event_on_the_node(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-3")  # S5.SMALL1: one secondary ENI of 5 IPs
    cluster.agents["node-3"].want_pods = 8
    cluster.converge()
    on_node = [e for e in cluster.events("ENILimit") if e["involvedObject"]["kind"] == "Node"]
    assert on_node and on_node[0]["involvedObject"]["name"] == "node-3"
    assert len(cluster.events("ENILimit")) == 2  # once on the NEC, once on the Node: not at every pass
    assert [c.type for c in cluster.nec("node-3").status.conditions] == ["ENILimitReached"]
    cluster.agents["node-3"].want_pods = 0
    cluster.converge()
    assert cluster.nec("node-3").status.conditions == ()


def test_node_condition_is_set_and_cleared_when_enabled(make_cluster):
    cluster = make_cluster(node_condition=True)
    cluster.add_node("node-3")
    cluster.agents["node-3"].want_pods = 8
    cluster.converge()

    def condition():
        node = cluster.client.get(NODE, ObjectKey(namespace="", name="node-3"))
        found = [c for c in (node.get("status") or {}).get("conditions") or () if c["type"] == "ENILimitReached"]
        return found[0] if found else None

    assert condition()["status"] == "True" and "cap of 5" in condition()["message"]
    cluster.agents["node-3"].want_pods = 0
    cluster.converge()
    assert condition()["status"] == "False"
