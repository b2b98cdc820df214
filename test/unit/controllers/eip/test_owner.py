"""--enable-ownerref: the claim is owned by the pod's workload (Deployment behind a ReplicaSet, or StatefulSet)."""

from __future__ import annotations

from eni.api.v1.constants import ANNOTATION_EIP_ATTRIBUTES
from eni.controllers.eip.owner import REPLICA_SET, workload_owner
from eni.runtime.meta import ResourceKind

WANTS = {ANNOTATION_EIP_ATTRIBUTES: "{}"}
DEPLOYMENT = ResourceKind(group="apps", version="v1", kind="Deployment", plural="deployments", namespaced=True)


def ref(obj, *, controller=True):
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": controller}


def deployment_and_replica_set(world):
    deployment = world.client.create(DEPLOYMENT, {"metadata": {"name": "web", "namespace": "default"}, "spec": {}})
    replica_set = world.client.create(REPLICA_SET, {"metadata": {
        "name": "web-5d9c", "namespace": "default", "ownerReferences": [ref(deployment)]}, "spec": {}})
    return deployment, replica_set


def test_replica_set_pods_resolve_to_the_deployment(make) -> None:
    world = make(enable_ownerref=True)
    deployment, replica_set = deployment_and_replica_set(world)
    world.pod("web-5d9c-x", WANTS, ip=world.ips[0], owner=ref(replica_set))
    world.reconcile("web-5d9c-x")
    (owner,) = world.claim("web-5d9c-x").metadata.owner_references
    assert (owner.api_version, owner.kind, owner.name, owner.uid) == (
        "apps/v1", "Deployment", "web", deployment["metadata"]["uid"])


def test_stateful_set_pods_name_their_owner_directly(make) -> None:
    world = make(enable_ownerref=True)
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "uid": "uid-sts"}}
    world.pod("db-0", WANTS, ip=world.ips[0], owner=ref(sts))
    world.reconcile("db-0")
    (owner,) = world.claim("db-0").metadata.owner_references
    assert (owner.kind, owner.name, owner.uid) == ("StatefulSet", "db", "uid-sts")


def test_without_the_flag_claims_have_no_owner(world) -> None:
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "uid": "uid-sts"}}
    world.pod("db-0", WANTS, ip=world.ips[0], owner=ref(sts))
    world.reconcile("db-0")
    assert world.claim("db-0").metadata.owner_references == ()


def test_owner_resolution_edges(world) -> None:
    _, replica_set = deployment_and_replica_set(world)
    bare = world.client.create(REPLICA_SET, {"metadata": {"name": "bare", "namespace": "default"}, "spec": {}})
    pod = {"metadata": {"namespace": "default", "ownerReferences": [ref(bare)]}}
    assert workload_owner(pod, world.client).name == "bare"
    gone = {**ref(replica_set), "name": "gone"}
    assert workload_owner({"metadata": {"namespace": "default", "ownerReferences": [gone]}}, world.client) is None
    not_controller = {"metadata": {"namespace": "default", "ownerReferences": [ref(replica_set, controller=False)]}}
    assert workload_owner(not_controller, world.client) is None
    assert workload_owner({"metadata": {}}, world.client) is None
