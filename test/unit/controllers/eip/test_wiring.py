"""Settings validation, the watch predicates and mappings, the metrics, and podview's parsing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eni.api.v1 import EniIP, EniType, NodeENI, NodeENIConfig, NodeENIConfigSpec, NodeENIConfigStatus, ObjectMeta
from eni.api.v1.constants import ANNOTATION_EIP_ATTRIBUTES, ANNOTATION_EIP_PUBLIC_IP
from eni.controllers.eip import EipMetrics, EipSettings
from eni.controllers.eip.controller import CLAIM_PREDICATE, NEC_PREDICATE, POD_PREDICATE, claim_of_pod, pods_on_node
from eni.controllers.eip.podview import eni_holding
from eni.runtime.meta import POD
from eni.runtime.reconcile import Request
from eni.runtime.testing import FakeClient


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"cluster_id": ""}, "cluster_id"),
    ({"claim_expired_duration": timedelta(minutes=4)}, "at least 0:05:00"),
    ({"quota_retry_interval": 0}, "quota_retry_interval"),
    ({"workers": 0}, "workers"),
])
def test_bad_settings_are_refused(overrides, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        EipSettings(**{"cluster_id": "cls-1", **overrides})


def pod(*, annotations=None, ip="", node="node-1", phase="Running", uid="u1"):
    return {"metadata": {"name": "p", "namespace": "ns", "uid": uid, "annotations": annotations or {}},
            "spec": {"nodeName": node}, "status": {"phase": phase, **({"podIP": ip} if ip else {})}}


WANTS = {ANNOTATION_EIP_ATTRIBUTES: "{}"}


def test_pod_predicate_passes_only_what_matters() -> None:
    base = pod(annotations=WANTS)
    assert POD_PREDICATE.create(base) and not POD_PREDICATE.create(pod())
    assert POD_PREDICATE.update(base, pod(annotations=WANTS, ip="10.0.0.9"))
    assert POD_PREDICATE.update(base, pod(annotations=WANTS, phase="Succeeded"))
    assert POD_PREDICATE.update(base, pod())  # the pod stopped asking for an EIP
    assert not POD_PREDICATE.update(base, pod(annotations={**WANTS, ANNOTATION_EIP_PUBLIC_IP: "1.2.3.4"}))
    assert not POD_PREDICATE.update(pod(), pod(ip="10.0.0.9"))
    assert POD_PREDICATE.delete(base) and not POD_PREDICATE.delete(pod())
    assert list(claim_of_pod(base)) == [Request("ns", "p")] and list(claim_of_pod(pod())) == []


def test_claim_predicate_ignores_status_writes() -> None:
    claim = {"metadata": {"name": "p"}, "spec": {"podUID": "a"}, "status": {"phase": "Pending"}}
    assert not CLAIM_PREDICATE.update(claim, {**claim, "status": {"phase": "Bound"}})
    assert CLAIM_PREDICATE.update(claim, {**claim, "spec": {}})
    assert CLAIM_PREDICATE.update(claim, {**claim, "metadata": {"name": "p", "deletionTimestamp": "now"}})


def test_nec_changes_wake_the_pods_of_its_node() -> None:
    client = FakeClient()
    for name, node, ip, notes in [("a", "node-1", "10.0.0.1", WANTS), ("b", "node-1", "", WANTS),
                                  ("c", "node-2", "10.0.0.3", WANTS), ("d", "node-1", "10.0.0.4", {})]:
        created = client.create(POD, {"metadata": {"name": name, "namespace": "ns", "annotations": notes},
                                      "spec": {"nodeName": node}})
        created["status"] = {"podIP": ip} if ip else {}
        client.update_status(POD, created)
    nec = {"metadata": {"name": "node-1"}, "status": {"enis": [{"eniId": "eni-1"}]}}
    assert pods_on_node(client)(nec) == [Request("ns", "a")]
    assert NEC_PREDICATE.update({"metadata": {}}, nec) and not NEC_PREDICATE.update(nec, nec)
    assert not NEC_PREDICATE.delete(nec)


def test_pod_ip_is_found_on_shared_and_direct_enis() -> None:
    nec = NodeENIConfig(metadata=ObjectMeta(name="n"), spec=NodeENIConfigSpec(instance_id="ins-1"),
                        status=NodeENIConfigStatus(enis=(
                            NodeENI(eni_id="eni-shared", primary_ip="10.0.0.2", ips=(EniIP(ip="10.0.0.3"),)),
                            NodeENI(eni_id="eni-direct", primary_ip="10.0.0.9", type=EniType.DIRECT))))
    assert eni_holding(nec, "10.0.0.3") == "eni-shared"
    assert eni_holding(nec, "10.0.0.9") == "eni-direct"
    assert eni_holding(nec, "10.0.0.2") is None  # a shared ENI's primary IP is the node's, not a pod's


def test_metrics_start_at_zero_and_count_outcomes() -> None:
    metrics = EipMetrics()
    assert metrics.value("release") == 0
    assert metrics.registry.get_sample_value("tke_eni_eip_operations_total",
                                             {"operation": "release", "outcome": "success"}) == 0
    with pytest.raises(KeyError):
        metrics.count("release", lambda: {}["x"])
    assert metrics.value("release", "KeyError") == 1
    assert metrics.count("release", lambda: 7) == 7 and metrics.value("release") == 1
