"""Static-IP mode: an exclusive ENI per direct-ENI pod, created once the pod is on a node, kept (detached) or
deleted by the pod's delete policy, attached again for the next pod of that name, reclaimed by expiry, by
kubectl delete veni and by cascade with the workload."""

from __future__ import annotations

from datetime import timedelta

from eni.api.v1 import VPC_ENI, VPC_IP_CLAIM, IPState, VpcENIPhase
from eni.api.v1.constants import (
    ANNOTATION_CLAIM_EXPIRED_DURATION,
    ANNOTATION_NOMINATED_ENI_SUBNETS,
    ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY,
)
from eni.controllers.static.claims import ClaimSettings, VpcIPClaimReconciler
from eni.controllers.static.config import StaticConfig
from eni.runtime.meta import NODE, ObjectKey, ResourceKind
from eni.runtime.reconcile import Request

NEVER = {ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY: "Never"}
STATEFUL_SET = ResourceKind(group="apps", version="v1", kind="StatefulSet", plural="statefulsets", namespaced=True)


def static_cluster(make_cluster, **kwargs):
    return make_cluster(static=StaticConfig(**kwargs.pop("static", {})), **kwargs)


def kept(cluster, name: str, annotations=NEVER, node: str = "node-1", **pod_args) -> str:
    """A pod that got its ENI and went away; returns the id of the ENI kept for it."""
    cluster.add_pod(name, node, annotations=annotations, **pod_args)
    cluster.converge()
    eni_id = cluster.held_by(name)
    assert eni_id is not None
    cluster.delete_pod(name)
    cluster.converge()
    return eni_id


def test_a_pod_gets_its_own_eni_published_for_it(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    cluster.converge()
    assert cluster.direct("node-1") == []  # no warm pool in static mode
    pod = cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    eni_id = cluster.held_by("db-0")
    assert eni_id is not None and cluster.cloud_direct("node-1") == [eni_id]
    entry = cluster.direct("node-1")[0]
    assert (entry.pod.namespace, entry.pod.name, entry.pod.uid) == ("default", "db-0", pod["metadata"]["uid"])
    record = cluster.veni(eni_id)
    assert record.spec.owner_pod.name == "db-0" and record.spec.owner_pod.uid == pod["metadata"]["uid"]
    assert record.metadata.annotations[ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY] == "Never"
    assert not cluster.violations


def test_the_claim_controller_gives_a_direct_eni_pod_no_static_ip(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1")
    claims = VpcIPClaimReconciler(client=cluster.client, reader=cluster.client, recorder=cluster.recorder,
                                  settings=ClaimSettings(), clock=cluster.clock)
    claims.reconcile(Request(namespace="default", name="db-0"))
    cluster.converge()
    assert cluster.client.list(VPC_IP_CLAIM, namespace="default") == []
    assert all(e.ips == () for e in cluster.nec("node-1").status.enis)


def test_an_immediate_pods_eni_is_deleted_after_the_agent_gives_it_back(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    cluster.add_pod("web", "node-1")
    cluster.converge()
    eni_id = cluster.held_by("web")
    cluster.delete_pod("web")
    cluster.nodes.reconcile(Request(namespace="", name="node-1"))  # ipamd first: the agent still holds it
    assert cluster.direct("node-1")[0].state is IPState.BOUND and cluster.cloud_eni(eni_id)["Attachment"]
    cluster.converge()
    assert cluster.cloud_eni(eni_id) is None and cluster.veni(eni_id) is None
    assert cluster.direct("node-1") == []


def test_a_never_pods_eni_is_kept_detached_with_its_owner(make_cluster, kubectl, apiserver):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    eni_id = kept(cluster, "db-0")
    record = cluster.veni(eni_id)
    assert record.spec.node_name == "" and record.status.phase is VpcENIPhase.DETACHED
    assert (record.spec.owner_pod.namespace, record.spec.owner_pod.name) == ("default", "db-0")
    assert cluster.cloud_eni(eni_id) is not None and not cluster.cloud_eni(eni_id).get("Attachment")
    assert cluster.direct("node-1") == []
    kept_events = cluster.events("ENIKept")
    assert {e["involvedObject"]["kind"] for e in kept_events} == {"NodeENIConfig", "VpcENI"}
    shown = kubectl("get", "veni", eni_id, "-o", "jsonpath={.spec.ownerPod.name} {.status.phase}").stdout
    assert shown == "db-0 Detached"


def test_the_next_pod_of_that_name_gets_the_kept_eni_on_another_node(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    cluster.add_node("node-2")
    eni_id = kept(cluster, "db-0")
    pod = cluster.add_pod("db-0", "node-2", annotations=NEVER)
    cluster.converge()
    assert cluster.held_by("db-0") == eni_id and cluster.cloud_direct("node-2") == [eni_id]
    record = cluster.veni(eni_id)
    assert record.spec.node_name == "node-2" and record.spec.owner_pod.uid == pod["metadata"]["uid"]
    assert record.status.phase is VpcENIPhase.ATTACHED
    assert any(e["involvedObject"]["name"] == eni_id for e in cluster.events("ENIReattached"))
    assert not cluster.violations


def test_a_pod_recreated_on_the_same_node_gets_the_same_eni_back(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    eni_id = cluster.held_by("db-0")
    cluster.delete_pod("db-0")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    assert cluster.held_by("db-0") == eni_id
    assert not cluster.violations


def test_a_kept_eni_is_not_moved_to_another_zone(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    cluster.add_node("node-3")
    eni_id = kept(cluster, "db-0")
    cluster.add_pod("db-0", "node-3", annotations=NEVER)
    cluster.converge()
    assert cluster.held_by("db-0") is None and cluster.cloud_direct("node-3") == []
    warnings = cluster.events("ZoneMismatch")
    assert warnings and eni_id in warnings[0]["message"] and "ap-guangzhou-4" in warnings[0]["message"]
    assert warnings[0]["involvedObject"]["name"] == "db-0" and warnings[0]["type"] == "Warning"
    assert cluster.veni(eni_id).spec.node_name == ""


def test_the_pod_annotation_expires_a_kept_eni(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    eni_id = kept(cluster, "db-0", {**NEVER, ANNOTATION_CLAIM_EXPIRED_DURATION: "10m"})
    assert 599 <= cluster.reclaimer.reconcile(Request(namespace="", name=eni_id)).requeue_after <= 600
    cluster.clock.step(9 * 60)
    assert cluster.reclaim() == [] and cluster.cloud_eni(eni_id) is not None
    cluster.clock.step(61)
    assert [r.eni_id for r in cluster.reclaim()] == [eni_id]
    assert cluster.cloud_eni(eni_id) is None and cluster.veni(eni_id) is None
    assert cluster.events("ENIReclaimed")


def test_the_flag_expires_kept_enis_whose_pod_does_not_say(make_cluster):
    cluster = static_cluster(make_cluster, claims=ClaimSettings(claim_expired_duration=timedelta(hours=1)))
    cluster.add_node("node-1")
    eni_id = kept(cluster, "db-0")
    cluster.clock.step(3599)
    assert cluster.reclaim() == []
    cluster.clock.step(2)
    assert [r.eni_id for r in cluster.reclaim()] == [eni_id]


def test_without_expiry_a_kept_eni_stays(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    eni_id = kept(cluster, "db-0")
    cluster.clock.step(30 * 24 * 3600)
    assert cluster.reclaim() == [] and cluster.veni(eni_id) is not None


def test_kubectl_delete_veni_reclaims_a_kept_eni(make_cluster, kubectl):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    eni_id = kept(cluster, "db-0")
    kubectl("delete", "veni", eni_id, "--wait=false")
    assert cluster.veni(eni_id).metadata.deletion_timestamp is not None  # the finalizer holds it
    assert [r.eni_id for r in cluster.reclaim()] == [eni_id]
    assert cluster.cloud_eni(eni_id) is None and cluster.veni(eni_id) is None


def test_deleting_the_veni_of_a_pods_eni_waits_for_the_pod(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    eni_id = cluster.held_by("db-0")
    cluster.client.delete(VPC_ENI, ObjectKey("", eni_id))
    cluster.converge()
    assert cluster.held_by("db-0") == eni_id and cluster.events("DeletionDeferred")
    cluster.delete_pod("db-0")
    cluster.converge()
    assert cluster.cloud_eni(eni_id) is None and cluster.veni(eni_id) is None  # deleted, not kept


def test_cascade_with_the_stateful_set(make_cluster):
    cluster = static_cluster(make_cluster, claims=ClaimSettings(enable_ownerref=True))
    cluster.add_node("node-1")
    sts = cluster.client.create(STATEFUL_SET, {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "db"}}, "template": {"metadata": {"labels": {"app": "db"}}}}})
    owner = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": sts["metadata"]["uid"],
             "controller": True}
    eni_id = kept(cluster, "db-0", owner=owner)
    assert cluster.reclaim() == []
    assert cluster.reclaimer.reconcile(Request(namespace="", name=eni_id)).requeue_after == 60.0  # looked at again
    cluster.client.delete(STATEFUL_SET, ObjectKey("default", "db"))
    reclaimed = cluster.reclaim()
    assert [r.eni_id for r in reclaimed] == [eni_id] and "StatefulSet" in reclaimed[0].reason
    assert cluster.cloud_eni(eni_id) is None


def test_nominated_subnets_decide_where_the_eni_goes(make_cluster):
    cluster = static_cluster(make_cluster, static={"only_nominated_subnets": True})
    cluster.add_node("node-1")
    cluster.add_pod("picky", "node-1", annotations={ANNOTATION_NOMINATED_ENI_SUBNETS: "subnet-gz3a0001"})
    cluster.add_pod("other", "node-1")
    cluster.converge()
    subnets = {e.pod.name: e.subnet_id for e in cluster.direct("node-1")}
    assert subnets == {"picky": "subnet-gz3a0001", "other": "subnet-gz3b0002"}


def test_a_nomination_outside_the_zone_is_refused_with_a_warning(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    cluster.add_pod("far", "node-1", annotations={ANNOTATION_NOMINATED_ENI_SUBNETS: "subnet-gz4a0003"})
    cluster.converge()
    assert cluster.direct("node-1") == [] and cluster.events("NoUsableSubnet")


def test_pods_beyond_max_direct_eni_get_an_eni_limit_warning(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")  # 4 exclusive ENIs
    for i in range(5):
        cluster.add_pod(f"p{i}", "node-1")
    cluster.converge()
    assert len(cluster.direct("node-1")) == 4
    served = {e.pod.name for e in cluster.direct("node-1")}
    unserved = ({f"p{i}" for i in range(5)} - served).pop()
    assert any(e["involvedObject"]["name"] == unserved for e in cluster.events("ENILimit"))
    conditions = {c.type for c in cluster.nec("node-1").status.conditions}
    assert "ENILimitReached" in conditions


def test_node_removal_keeps_the_enis_of_never_pods_and_deletes_the_rest(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.add_pod("web", "node-1")
    cluster.converge()
    keep, drop = cluster.held_by("db-0"), cluster.held_by("web")
    cluster.client.delete(NODE, ObjectKey("", "node-1"))
    cluster.nodes.reconcile(Request(namespace="", name="node-1"))
    assert cluster.cloud_eni(drop) is None and cluster.veni(drop) is None
    record = cluster.veni(keep)
    assert record.spec.node_name == "" and record.spec.owner_pod.name == "db-0"
    assert not cluster.cloud_eni(keep).get("Attachment")


def test_an_interrupted_keep_is_finished_not_deleted(make_cluster):
    from eni.api.v1.constants import LABEL_NODE_NAME
    from eni.controllers.directeni.keep import ANNOTATION_KEPT_SINCE

    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.converge()
    eni_id = cluster.held_by("db-0")
    # A crash right after the keep started: marked, phase Detaching, still labelled with its node.
    cluster.client.patch(VPC_ENI, ObjectKey("", eni_id), {"metadata": {"annotations": {
        ANNOTATION_KEPT_SINCE: "2026-01-01T00:00:00Z"}}})
    cluster.client.patch(VPC_ENI, ObjectKey("", eni_id), {"status": {"phase": "Detaching"}}, subresource="status")
    cluster.delete_pod("db-0")
    cluster.agents["node-1"].holding.clear()
    cluster.restart()
    cluster.converge()
    record = cluster.veni(eni_id)
    assert record is not None and record.spec.node_name == "" and LABEL_NODE_NAME not in record.metadata.labels
    assert cluster.cloud_eni(eni_id) is not None and not cluster.cloud_eni(eni_id).get("Attachment")


def test_a_create_interrupted_by_a_crash_is_finished_with_the_same_eni(make_cluster):
    import json

    from eni.api.v1 import NODE_ENI_CONFIG
    from eni.controllers.eni.lifecycle import NODE_TAG
    from eni.controllers.nec.intents import ANNOTATION_PENDING_ENI

    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    cluster.converge()
    intent = f"{cluster.nec('node-1').metadata.uid}/eni/7"
    # The previous leader recorded the intent and the cloud made the ENI; then it died before recording it.
    cluster.client.patch(NODE_ENI_CONFIG, ObjectKey("", "node-1"), {"metadata": {"annotations": {
        ANNOTATION_PENDING_ENI: json.dumps({"intent": intent, "subnetId": "subnet-gz3a0001", "type": "direct",
                                            "owner": "default/db-0"})}}})
    made = cluster.vpc.create_eni(intent=intent, subnet_id="subnet-gz3a0001", name="node-1-direct-eni",  # type: ignore[arg-type]
                                  tags={NODE_TAG: "node-1"})
    cluster.add_pod("db-0", "node-1", annotations=NEVER)
    cluster.restart()
    cluster.converge()
    assert cluster.held_by("db-0") == made.id and cluster.cloud_direct("node-1") == [made.id]
    record = cluster.veni(made.id)
    assert record.spec.owner_pod.name == "db-0" and record.spec.owner_pod.uid
    assert record.metadata.annotations[ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY] == "Never"
    assert ANNOTATION_PENDING_ENI not in cluster.nec("node-1").metadata.annotations
    assert not cluster.violations


def test_a_kept_eni_does_not_expire_while_the_next_pod_of_its_name_waits_for_it(make_cluster):
    cluster = static_cluster(make_cluster)
    cluster.add_node("node-1")
    cluster.add_node("node-3")
    eni_id = kept(cluster, "db-0", {**NEVER, ANNOTATION_CLAIM_EXPIRED_DURATION: "10m"})
    cluster.add_pod("db-0", "node-3", annotations=NEVER)  # the wrong zone: it waits, with a warning
    cluster.converge()
    cluster.clock.step(11 * 60)
    assert cluster.reclaim() == [] and cluster.veni(eni_id) is not None
    cluster.delete_pod("db-0")
    assert [r.eni_id for r in cluster.reclaim()] == [eni_id]


def test_a_pods_eni_gets_the_nodes_security_groups(make_cluster):
    cluster = static_cluster(make_cluster, security_groups_enabled=True,
                             security_group_ids=("sg-emu00002", "sg-emu00001"))
    cluster.add_node("node-1")
    cluster.add_pod("db-0", "node-1")
    cluster.converge()
    eni_id = cluster.held_by("db-0")
    assert cluster.cloud_eni(eni_id)["GroupSet"] == ["sg-emu00002", "sg-emu00001"]
