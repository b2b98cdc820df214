"""Watch filters: others' changes reconcile a node, ipamd's own writes and kubelet heartbeats do not."""

from __future__ import annotations

from eni.controllers.nec.intents import ANNOTATION_PENDING_ASSIGN
from eni.controllers.predicates import NEC_PREDICATE, NODE_PREDICATE, POD_PREDICATE


def nec(*, annotations=None, spec=None, enis=(), agent=None):
    return {"metadata": {"name": "n", "annotations": annotations or {}}, "spec": spec or {"instanceId": "ins-1"},
            "status": {"enis": list(enis), "agent": agent or {}}}


def test_nec_events():
    base = nec()
    assert NEC_PREDICATE.create(base)  # a restart's initial list finds NECs of vanished nodes
    assert not NEC_PREDICATE.update(base, nec(enis=[{"eniId": "eni-1"}]))
    assert not NEC_PREDICATE.update(base, nec(annotations={ANNOTATION_PENDING_ASSIGN: "{}"}))
    assert NEC_PREDICATE.update(base, nec(annotations={"tke.cloud.tencent.com/route-eni-max-attach": "1"}))
    assert NEC_PREDICATE.update(base, nec(spec={"instanceId": "ins-1", "securityGroupIds": ["sg-1"]}))
    assert NEC_PREDICATE.update(base, nec(agent={"inUseIPs": ["10.0.0.5"]}))
    assert NEC_PREDICATE.delete(base)


def test_node_and_pod_events():
    node = {"metadata": {"name": "n"}, "spec": {"providerID": "qcloud:///z/ins-1"}, "status": {"conditions": []}}
    heartbeat = {**node, "status": {"conditions": [{"type": "Ready"}]}}
    annotated = {**node, "metadata": {"name": "n", "annotations": {"a": "b"}}}
    assert not NODE_PREDICATE.update(node, heartbeat)
    assert NODE_PREDICATE.update(node, annotated)
    pod = {"metadata": {"name": "p"}, "spec": {"nodeName": "n"}, "status": {"phase": "Pending"}}
    assert not POD_PREDICATE.update(pod, {**pod, "metadata": {"name": "p", "labels": {"x": "y"}}})
    assert POD_PREDICATE.update(pod, {**pod, "status": {"phase": "Succeeded"}})
