"""Reclaim by kubectl delete and by cascade; quota and bad-attribute errors as Events without cloud storms."""

from __future__ import annotations

import time

from eni.api.v1 import ClaimPhase
from eni.api.v1.constants import (
    ANNOTATION_CLAIM_EXPIRED_DURATION,
    ANNOTATION_EIP_ATTRIBUTES,
    ANNOTATION_EIP_CLAIM_DELETE_POLICY,
)
from eni.cloud.types import EipState
from eni.runtime.meta import EVENT, POD, ObjectKey, ResourceKind

KEEP = {ANNOTATION_EIP_ATTRIBUTES: "{}", ANNOTATION_EIP_CLAIM_DELETE_POLICY: "Never"}
DEPLOYMENT = ResourceKind(group="apps", version="v1", kind="Deployment", plural="deployments", namespaced=True)
REPLICA_SET = ResourceKind(group="apps", version="v1", kind="ReplicaSet", plural="replicasets", namespaced=True)
STATEFUL_SET = ResourceKind(group="apps", version="v1", kind="StatefulSet", plural="statefulsets", namespaced=True)


def test_kubectl_delete_waits_for_the_pod_then_releases(eip_cluster, kubectl) -> None:
    cluster = eip_cluster()
    cluster.pod("db-0", KEEP, ip=cluster.ips[0])
    claim = cluster.bound_claim("db-0")
    shown = kubectl("get", "eipc", "db-0", "-o", "jsonpath={.status.publicIP}").stdout
    assert shown == claim.status.public_ip

    kubectl("delete", "eipc", "db-0", "--wait=false")
    cluster.wait_for(lambda: cluster.events("EIPClaimDeletionDeferred"), message="deferral Event")
    time.sleep(0.3)
    kept = cluster.claim("db-0")
    assert kept is not None and kept.metadata.deletion_timestamp is not None
    assert cluster.eips()[claim.status.eip_id].state is EipState.BIND_ENI

    cluster.delete_pod("db-0")
    cluster.wait_for(lambda: cluster.claim("db-0") is None and not cluster.eips(), message="claim and EIP gone")
    assert cluster.emulator.snapshot()["addresses"] == []


def test_kubectl_delete_of_a_retained_claim_releases_its_eip(eip_cluster, kubectl) -> None:
    cluster = eip_cluster()
    cluster.pod("db-0", KEEP, ip=cluster.ips[0])
    cluster.bound_claim("db-0")
    cluster.delete_pod("db-0")
    cluster.wait_for(lambda: (c := cluster.claim("db-0")) and c.status.phase is ClaimPhase.RETAINED)
    assert "deleted" in kubectl("delete", "eipc", "db-0", "--wait=false").stdout
    cluster.wait_for(lambda: cluster.claim("db-0") is None and not cluster.eips(), message="claim and EIP gone")


def test_cascade_with_the_deployment(eip_cluster) -> None:
    cluster = eip_cluster(enable_ownerref=True)
    deployment = cluster.client.create(DEPLOYMENT, _workload("Deployment", "web"))
    replica_set = cluster.client.create(REPLICA_SET, {**_workload("ReplicaSet", "web-7f9b"), "metadata": {
        "name": "web-7f9b", "namespace": "default", "ownerReferences": [_ref(deployment)]}})
    cluster.pod("web-7f9b-abcde", KEEP, ip=cluster.ips[0], owner=_ref(replica_set))
    claim = cluster.bound_claim("web-7f9b-abcde")
    assert [(o.kind, o.name) for o in claim.metadata.owner_references] == [("Deployment", "web")]

    cluster.client.delete(DEPLOYMENT, ObjectKey("default", "web"))  # the GC takes the ReplicaSet, pods and claim
    cluster.wait_for(lambda: cluster.claim("web-7f9b-abcde") is None and not cluster.eips(), timeout=30,
                     message="claim collected with the Deployment and its EIP released")


def test_cascade_with_the_stateful_set_after_the_pod_is_gone(eip_cluster) -> None:
    cluster = eip_cluster(enable_ownerref=True)
    sts = cluster.client.create(STATEFUL_SET, _workload("StatefulSet", "db"))
    cluster.pod("db-0", KEEP, ip=cluster.ips[0], owner=_ref(sts))
    cluster.bound_claim("db-0")
    cluster.delete_pod("db-0")
    cluster.wait_for(lambda: (c := cluster.claim("db-0")) and c.status.phase is ClaimPhase.RETAINED)
    assert len(cluster.eips()) == 1
    cluster.client.delete(STATEFUL_SET, ObjectKey("default", "db"))
    cluster.wait_for(lambda: cluster.claim("db-0") is None and not cluster.eips(), timeout=30)


def test_account_quota_is_an_event_not_a_storm(eip_cluster) -> None:
    cluster = eip_cluster()
    cluster.adapter.allocate_eips(intent="someone else's twenty", count=20)
    cluster.emulator.calls.clear()
    cluster.pod("a", {ANNOTATION_EIP_ATTRIBUTES: "{}"}, ip=cluster.ips[0])
    cluster.pod("b", {ANNOTATION_EIP_ATTRIBUTES: "{}"}, ip=cluster.ips[1])
    warnings = cluster.wait_for(lambda: {e["involvedObject"]["name"] for e in cluster.events("EIPQuotaExceeded")}
                                == {"a", "b"}, message="a quota Event on each pod")
    assert warnings
    attempts = cluster.emulator.calls.count("AllocateAddresses")
    assert 1 <= attempts <= 2  # the two workers may both try before the first refusal comes back
    for n in range(10):  # wake the claims again and again (an eip-* annotation changes), while time passes
        for name in ("a", "b"):
            poke = {"metadata": {"annotations": {ANNOTATION_CLAIM_EXPIRED_DURATION: f"{n + 1}h"}}}
            cluster.client.patch(POD, ObjectKey("default", name), poke)
        cluster.clock.step(5.0)
        time.sleep(0.05)
    time.sleep(0.5)
    assert cluster.emulator.calls.count("AllocateAddresses") == attempts  # held off: not one more call
    assert cluster.parts.metrics.value("allocate", "QuotaExceeded") == attempts
    found = [e for e in cluster.events("EIPQuotaExceeded") if e["involvedObject"]["name"] == "a"]
    (event,) = found
    assert event["type"] == "Warning" and "quota" in event["message"] and event["count"] > 1
    claim = cluster.claim("a")
    assert claim.spec.expired_duration is not None and claim.spec.expired_duration.total_seconds() == 36000
    assert claim.status.phase is ClaimPhase.PENDING and "AddressQuotaLimitExceeded" in claim.status.message


def test_bad_attributes_are_an_event_and_no_cloud_call(eip_cluster) -> None:
    cluster = eip_cluster()
    cluster.pod("bad-isp", {ANNOTATION_EIP_ATTRIBUTES: '{"ISP": "ACME"}'}, ip=cluster.ips[0])
    cluster.pod("bad-bw", {ANNOTATION_EIP_ATTRIBUTES: '{"Bandwidth": "lots"}'}, ip=cluster.ips[1])
    events = cluster.wait_for(lambda: len(found := cluster.events("InvalidEIPAnnotation")) == 2 and found)
    messages = {e["involvedObject"]["name"]: e["message"] for e in events}
    assert "'ACME' is not one of BGP, CMCC, CTCC, CUCC" in messages["bad-isp"]
    assert "Bandwidth must be a whole number" in messages["bad-bw"]
    assert all(e["type"] == "Warning" for e in events)
    time.sleep(0.3)
    assert cluster.claim("bad-isp") is None and cluster.claim("bad-bw") is None
    assert len(cluster.emulator.calls) == 0


def _workload(kind: str, name: str) -> dict:
    selector = {"matchLabels": {"app": name}}
    template = {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "pause"}]}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": selector, "template": template}}


def _ref(obj: dict) -> dict:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True}


def test_throttling_backs_off_without_warnings_then_binds(eip_cluster) -> None:
    cluster = eip_cluster()
    cluster.emulator.faults.throttle("AllocateAddresses", probability=1.0)
    cluster.pod("web", {ANNOTATION_EIP_ATTRIBUTES: "{}"}, ip=cluster.ips[0])
    metrics = cluster.parts.metrics
    cluster.wait_for(lambda: metrics.value("allocate", "Throttled") >= 2, step=0.05, message="retried")
    time.sleep(0.3)
    paused = cluster.emulator.calls.count("AllocateAddresses")
    time.sleep(0.5)  # no fake time passes: the queue's backoff holds the next attempt back
    assert cluster.emulator.calls.count("AllocateAddresses") == paused
    cluster.emulator.faults.clear()
    assert cluster.bound_claim("web").status.eip_id
    assert len(cluster.eips()) == 1
    assert not [e for e in cluster.client.list(EVENT, namespace="default") if e.get("type") == "Warning"]
