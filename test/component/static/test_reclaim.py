"""Reclaim of retained IPs: expiry on a fake clock, kubectl delete (deferred while the pod runs), and
cascade with the pod's workload through owner references."""

from __future__ import annotations

import time

from eni.api.v1 import ClaimPhase
from eni.api.v1.constants import ANNOTATION_CLAIM_EXPIRED_DURATION, ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY
from eni.controllers.static.claims import ClaimSettings
from eni.runtime.meta import ObjectKey, ResourceKind

NEVER = {ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY: "Never"}
STATEFUL_SET = ResourceKind(group="apps", version="v1", kind="StatefulSet", plural="statefulsets", namespaced=True)
DEPLOYMENT = ResourceKind(group="apps", version="v1", kind="Deployment", plural="deployments", namespaced=True)
REPLICA_SET = ResourceKind(group="apps", version="v1", kind="ReplicaSet", plural="replicasets", namespaced=True)


def _workload(kind: str, name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}}}}


def _ref(obj: dict) -> dict:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True}


def _retained(cluster, name: str, annotations=NEVER, **pod_args) -> str:
    cluster.add_pod(name, "node-1", annotations=annotations, **pod_args)
    cluster.converge()
    ip = cluster.held_ip(name)
    assert ip is not None
    cluster.delete_pod(name)
    cluster.converge()
    assert cluster.claim(name).status.phase is ClaimPhase.RETAINED
    return ip


def test_the_pod_annotation_expires_a_retained_ip(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    ip = _retained(cluster, "db-0", {**NEVER, ANNOTATION_CLAIM_EXPIRED_DURATION: "10m"})
    cluster.clock.step(9 * 60)
    cluster.converge()
    assert ip in cluster.cloud_ips() and cluster.claim("db-0") is not None
    cluster.clock.step(61)
    cluster.converge()
    assert cluster.claim("db-0") is None
    assert ip not in cluster.cloud_ips() and ip not in cluster.vpc_ips()
    assert cluster.events("ClaimExpired")


def test_the_flag_expires_claims_whose_pod_does_not_say(make_cluster):
    from datetime import timedelta

    cluster = make_cluster(claims=ClaimSettings(claim_expired_duration=timedelta(hours=1)))
    cluster.add_node("node-1")
    ip = _retained(cluster, "db-0")
    cluster.clock.step(3601)
    cluster.converge()
    assert cluster.claim("db-0") is None and ip not in cluster.cloud_ips()


def test_without_an_expiry_a_retained_ip_stays_forever(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    ip = _retained(cluster, "db-0")
    cluster.clock.step(365 * 24 * 3600)
    cluster.converge()
    assert cluster.claim("db-0").status.ip == ip and ip in cluster.cloud_ips()


def test_kubectl_delete_is_deferred_while_the_pod_runs_then_gives_the_ip_back(make_cluster, kubectl):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    ip = cluster.held_ip("db-0")
    assert kubectl("get", "vipc", "db-0", "-o", "jsonpath={.status.ip}").stdout == ip
    kubectl("delete", "vipc", "db-0", "--wait=false")
    cluster.converge()
    claim = cluster.claim("db-0")
    assert claim is not None and claim.metadata.deletion_timestamp is not None
    assert cluster.held_ip("db-0") == ip and ip in cluster.cloud_ips()
    (warning,) = {e["involvedObject"]["kind"]: e for e in cluster.events("DeletionDeferred")
                  if e["involvedObject"]["kind"] == "Pod"}.values()
    assert warning["type"] == "Warning" and "stays" in warning["message"]
    cluster.delete_pod("db-0")
    cluster.converge()
    assert cluster.claim("db-0") is None and ip not in cluster.cloud_ips() and ip not in cluster.vpc_ips()
    assert cluster.violations == []


def test_kubectl_delete_of_a_retained_claim_gives_its_ip_back(make_cluster, kubectl):
    cluster = make_cluster()
    cluster.add_node("node-1")
    ip = _retained(cluster, "db-0")
    kubectl("delete", "vipc", "db-0", "--wait=false")
    cluster.converge()
    assert cluster.claim("db-0") is None and ip not in cluster.cloud_ips()


def _wait_gone(cluster, name: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        cluster.step()
        if cluster.claim(name) is None:
            return
        time.sleep(0.1)
    raise AssertionError(f"claim {name} not collected")


def test_cascade_with_the_stateful_set(make_cluster):
    cluster = make_cluster(claims=ClaimSettings(enable_ownerref=True))
    cluster.add_node("node-1")
    sts = cluster.client.create(STATEFUL_SET, _workload("StatefulSet", "db"))
    ip = _retained(cluster, "db-0", owner=_ref(sts))
    claim = cluster.claim("db-0")
    assert [(o.kind, o.name) for o in claim.metadata.owner_references] == [("StatefulSet", "db")]
    cluster.client.delete(STATEFUL_SET, ObjectKey("default", "db"))
    _wait_gone(cluster, "db-0")
    cluster.converge()
    assert ip not in cluster.cloud_ips() and ip not in cluster.vpc_ips()


def test_cascade_with_the_deployment_behind_the_replica_set(make_cluster):
    cluster = make_cluster(claims=ClaimSettings(enable_ownerref=True))
    cluster.add_node("node-1")
    deployment = cluster.client.create(DEPLOYMENT, _workload("Deployment", "web"))
    replica_set = cluster.client.create(REPLICA_SET, {**_workload("ReplicaSet", "web-7f9b"), "metadata": {
        "name": "web-7f9b", "namespace": "default", "ownerReferences": [_ref(deployment)]}})
    ip = _retained(cluster, "web-7f9b-abcde", owner=_ref(replica_set))
    claim = cluster.claim("web-7f9b-abcde")
    assert [(o.kind, o.name) for o in claim.metadata.owner_references] == [("Deployment", "web")]
    cluster.client.delete(DEPLOYMENT, ObjectKey("default", "web"))
    _wait_gone(cluster, "web-7f9b-abcde")
    cluster.converge()
    assert ip not in cluster.cloud_ips()
