"""The life of a pod's EIPClaim against FakeClient and FakeVpc: bind, keep, re-bind, expire, delete."""

from __future__ import annotations

from datetime import timedelta

from eni.api.v1 import EIP_CLAIM, ClaimPhase, DeletePolicy, Isp
from eni.api.v1.constants import (
    ANNOTATION_CLAIM_EXPIRED_DURATION,
    ANNOTATION_EIP_ATTRIBUTES,
    ANNOTATION_EIP_CLAIM_DELETE_POLICY,
    ANNOTATION_EIP_PUBLIC_IP,
    FINALIZER_EIP_CLAIM,
)
from eni.cloud.types import EipState
from eni.controllers.eip import EipClaimReconciler
from eni.runtime.meta import POD, ObjectKey
from eni.runtime.reconcile import Reconciler, Result

WANTS = {ANNOTATION_EIP_ATTRIBUTES: '{"Bandwidth": "20", "ISP": "CTCC"}'}
KEEP = {ANNOTATION_EIP_ATTRIBUTES: "{}", ANNOTATION_EIP_CLAIM_DELETE_POLICY: "Never"}


def test_reconciler_conforms_to_the_protocol(world) -> None:
    _: Reconciler = world.reconciler
    assert isinstance(world.reconciler, EipClaimReconciler)


def test_pod_gets_an_allocated_associated_and_published_eip(world) -> None:
    world.pod("web", WANTS, ip=world.ips[0])
    assert world.reconcile("web") == Result()

    claim = world.claim("web")
    assert claim is not None and claim.metadata.finalizers == (FINALIZER_EIP_CLAIM,)
    assert (claim.spec.bandwidth, claim.spec.isp, claim.spec.delete_policy) == (20, Isp.CTCC, DeletePolicy.IMMEDIATE)
    (eip,) = world.eips().values()
    assert (eip.state, eip.eni_id, eip.private_ip) == (EipState.BIND_ENI, world.eni_id, world.ips[0])
    assert (eip.bandwidth, eip.isp) == (20, "CTCC")
    assert eip.tags["tke-clusterId"] == "cls-unit" and eip.tags["tke-createdBy"] == "tke-eni-ipamd"
    assert eip.tags["tke-eipClaimUID"] == claim.metadata.uid and eip.tags["tke-eipClaim"] == "default/web"
    status = claim.status
    assert (status.phase, status.eip_id, status.public_ip) == (ClaimPhase.BOUND, eip.id, eip.public_ip)
    assert (status.private_ip, status.eni_id) == (world.ips[0], world.eni_id)
    assert world.pod_annotations("web")[ANNOTATION_EIP_PUBLIC_IP] == eip.public_ip
    assert world.events.reasons("Pod") == ["EIPAllocated", "EIPAssociated"]
    assert world.metrics.value("allocate") == 1 and world.metrics.value("associate") == 1


def test_bound_claim_is_not_rechecked_in_the_cloud(world) -> None:
    world.pod("web", WANTS, ip=world.ips[0])
    world.reconcile("web")
    world.vpc.calls.clear()
    writes_before = len([a for a in world.client.actions if a[0] != "get"])
    assert world.reconcile("web") == Result()
    assert world.vpc.calls == []
    assert len([a for a in world.client.actions if a[0] != "get"]) == writes_before


def test_claim_waits_for_the_pod_ip_and_for_the_ip_on_an_eni(world) -> None:
    world.pod("web", WANTS)
    assert world.reconcile("web") == Result()
    claim = world.claim("web")
    assert claim is not None and claim.status.phase is ClaimPhase.PENDING and "pod's IP" in claim.status.message

    pod = world.client.get(*_pod_key("web"))
    pod["status"]["podIP"] = "10.0.1.200"  # not (yet) on any ENI of the node
    world.client.update_status(POD, pod)
    assert world.reconcile("web") == Result(requeue_after=world.settings.ip_wait_interval)
    claim = world.claim("web")
    assert claim is not None and "10.0.1.200" in claim.status.message
    assert world.vpc.calls == [] and world.eips() == {}


def test_immediate_policy_releases_the_eip_with_the_pod(world) -> None:
    world.pod("web", WANTS, ip=world.ips[0])
    world.reconcile("web")
    world.delete_pod("web")
    assert world.reconcile("web") == Result()
    assert world.claim("web") is None
    assert world.eips() == {}
    assert world.metrics.value("disassociate") == 1 and world.metrics.value("release") == 1
    assert "EIPReleased" in world.events.reasons("EIPClaim")


def test_never_policy_keeps_the_eip_and_rebinds_it_to_the_next_pod(world) -> None:
    world.pod("db-0", KEEP, ip=world.ips[0])
    world.reconcile("db-0")
    (eip_id,) = world.eips()
    world.delete_pod("db-0")
    assert world.reconcile("db-0") == Result()  # no expiry anywhere: kept forever

    claim = world.claim("db-0")
    assert claim is not None and claim.status.phase is ClaimPhase.RETAINED
    assert claim.status.eip_id == eip_id and claim.spec.pod_uid == "" and claim.status.private_ip == ""
    assert claim.status.released_time == world.clock.now()
    assert world.eips()[eip_id].state is EipState.UNBIND

    new_pod = world.pod("db-0", KEEP, ip=world.ips[2])
    world.reconcile("db-0")
    claim = world.claim("db-0")
    assert claim is not None and claim.spec.pod_uid == new_pod["metadata"]["uid"]
    assert (claim.status.phase, claim.status.eip_id, claim.status.private_ip) == (
        ClaimPhase.BOUND, eip_id, world.ips[2])
    assert claim.status.released_time is None
    eip = world.eips()[eip_id]
    assert (eip.state, eip.private_ip) == (EipState.BIND_ENI, world.ips[2])
    assert world.metrics.value("allocate") == 1
    assert world.pod_annotations("db-0")[ANNOTATION_EIP_PUBLIC_IP] == eip.public_ip


def test_replaced_pod_under_immediate_gets_a_fresh_eip(world) -> None:
    world.pod("web", WANTS, ip=world.ips[0])
    world.reconcile("web")
    (old_eip,) = world.eips()
    world.delete_pod("web")
    world.pod("web", WANTS, ip=world.ips[1])  # re-created before ipamd saw the deletion
    world.reconcile("web")  # the old claim goes with its EIP
    assert world.eips() == {} and world.claim("web") is None
    world.reconcile("web")
    (new_eip,) = world.eips().values()
    assert new_eip.id != old_eip and new_eip.private_ip == world.ips[1]


def test_retained_claim_expires_after_the_annotated_duration(world) -> None:
    world.pod("db-0", {**KEEP, ANNOTATION_CLAIM_EXPIRED_DURATION: "10m"}, ip=world.ips[0])
    world.reconcile("db-0")
    world.delete_pod("db-0")
    assert world.reconcile("db-0") == Result(requeue_after=600.0)
    world.clock.step(599.0)
    assert world.reconcile("db-0") == Result(requeue_after=1.0)
    assert world.eips() and world.claim("db-0") is not None
    world.clock.step(1.0)
    assert world.reconcile("db-0") == Result()
    assert world.claim("db-0") is None and world.eips() == {}
    assert "EIPClaimExpired" in world.events.reasons("EIPClaim")


def test_controller_default_expiry_applies_when_the_pod_sets_none(make) -> None:
    world = make(claim_expired_duration=timedelta(minutes=5))
    world.pod("db-0", KEEP, ip=world.ips[0])
    world.reconcile("db-0")
    world.delete_pod("db-0")
    assert world.reconcile("db-0") == Result(requeue_after=300.0)
    world.clock.step(300.0)
    world.reconcile("db-0")
    assert world.claim("db-0") is None and world.eips() == {}


def test_manual_delete_is_deferred_while_the_pod_runs(world) -> None:
    world.pod("db-0", KEEP, ip=world.ips[0])
    world.reconcile("db-0")
    world.client.delete(*_claim_key("db-0"))
    world.reconcile("db-0")
    claim = world.claim("db-0")
    assert claim is not None and claim.metadata.deletion_timestamp is not None
    assert claim.status.phase is ClaimPhase.BOUND
    (eip,) = world.eips().values()
    assert eip.state is EipState.BIND_ENI
    assert "EIPClaimDeletionDeferred" in world.events.reasons("EIPClaim")
    assert "EIPClaimDeletionDeferred" in world.events.reasons("Pod")

    world.delete_pod("db-0")
    world.reconcile("db-0")
    assert world.claim("db-0") is None and world.eips() == {}


def test_manual_delete_of_a_retained_claim_releases_its_eip(world) -> None:
    world.pod("db-0", KEEP, ip=world.ips[0])
    world.reconcile("db-0")
    world.delete_pod("db-0")
    world.reconcile("db-0")
    world.client.delete(*_claim_key("db-0"))
    world.reconcile("db-0")
    assert world.claim("db-0") is None and world.eips() == {}


def test_deleted_claim_of_a_live_pod_is_not_recreated_after_the_pod_goes(world) -> None:
    world.pod("web", WANTS, ip=world.ips[0])
    world.reconcile("web")
    world.client.delete(*_claim_key("web"))
    world.delete_pod("web")
    world.reconcile("web")
    world.reconcile("web")
    assert world.claim("web") is None and world.eips() == {}


def test_pod_that_finished_gives_its_eip_back(world) -> None:
    pod = world.pod("job", WANTS, ip=world.ips[0])
    world.reconcile("job")
    pod = world.client.get(*_pod_key("job"))
    pod["status"]["phase"] = "Succeeded"
    world.client.update_status(POD, pod)
    world.reconcile("job")
    assert world.claim("job") is None and world.eips() == {}


def _pod_key(name: str):
    return POD, ObjectKey("default", name)


def _claim_key(name: str):
    return EIP_CLAIM, ObjectKey("default", name)


def test_pod_that_stops_asking_loses_its_eip_and_its_annotation(world) -> None:
    world.pod("web", {ANNOTATION_EIP_ATTRIBUTES: "{}"}, ip=world.ips[0])
    world.reconcile("web")
    pod = world.client.get(*_pod_key("web"))
    del pod["metadata"]["annotations"][ANNOTATION_EIP_ATTRIBUTES]
    world.client.update(POD, pod)
    world.reconcile("web")
    assert world.claim("web") is None and world.eips() == {}
    assert ANNOTATION_EIP_PUBLIC_IP not in world.pod_annotations("web")


def test_claim_made_by_hand_gets_the_finalizer_before_any_eip(world) -> None:
    world.client.create(EIP_CLAIM, {"metadata": {"name": "web", "namespace": "default"}, "spec": {}})
    world.pod("web", WANTS, ip=world.ips[0])
    world.reconcile("web")
    claim = world.claim("web")
    assert claim.metadata.finalizers == (FINALIZER_EIP_CLAIM,) and claim.status.phase is ClaimPhase.BOUND
    world.client.delete(*_claim_key("web"))
    world.delete_pod("web")
    world.reconcile("web")
    assert world.claim("web") is None and world.eips() == {}


def test_claim_deleted_before_its_eip_came_gets_none(world) -> None:
    world.pod("web", WANTS)  # no IP yet: the claim is Pending
    world.reconcile("web")
    world.client.delete(*_claim_key("web"))
    pod = world.client.get(*_pod_key("web"))
    pod["status"]["podIP"] = world.ips[0]
    world.client.update_status(POD, pod)
    world.reconcile("web")
    assert world.vpc.calls == [] and world.eips() == {}
    assert "EIPClaimDeletionDeferred" in world.events.reasons("Pod")
