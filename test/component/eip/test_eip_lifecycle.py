"""Pod EIPs end to end: real Manager and informers over the fake API server, real adapter over the emulator."""

from __future__ import annotations

import time

from eni.api.v1 import EIP_CLAIM, ClaimPhase, EIPClaim, Isp
from eni.api.v1.constants import (
    ANNOTATION_CLAIM_EXPIRED_DURATION,
    ANNOTATION_EIP_ATTRIBUTES,
    ANNOTATION_EIP_CLAIM_DELETE_POLICY,
    ANNOTATION_EIP_ID_LIST,
    ANNOTATION_EIP_PUBLIC_IP,
)
from eni.cloud.types import EipState
from eni.controllers.eip.binding import intent_for
from eni.runtime.meta import POD, ObjectKey

WANTS = {ANNOTATION_EIP_ATTRIBUTES: '{"Bandwidth": "10", "ISP": "CMCC"}'}
KEEP = {ANNOTATION_EIP_ATTRIBUTES: "{}", ANNOTATION_EIP_CLAIM_DELETE_POLICY: "Never"}


def test_allocate_associate_and_publish(eip_cluster) -> None:
    cluster = eip_cluster()
    cluster.pod("web", WANTS, ip=cluster.ips[0])
    claim = cluster.bound_claim("web")
    (eip,) = cluster.eips().values()
    assert (eip.state, eip.eni_id, eip.private_ip) == (EipState.BIND_ENI, cluster.eni_id, cluster.ips[0])
    assert (eip.bandwidth, eip.isp) == (10, "CMCC") and (claim.spec.bandwidth, claim.spec.isp) == (10, Isp.CMCC)
    assert eip.tags["tke-clusterId"] == "cls-eiptest" and eip.tags["tke-createdBy"] == "tke-eni-ipamd"
    assert eip.tags["tke-eipClaimUID"] == claim.metadata.uid
    assert (claim.status.eip_id, claim.status.public_ip, claim.status.private_ip, claim.status.eni_id) == (
        eip.id, eip.public_ip, cluster.ips[0], cluster.eni_id)
    cluster.wait_for(lambda: cluster.pod_annotations("web").get(ANNOTATION_EIP_PUBLIC_IP) == eip.public_ip)
    cluster.wait_for(lambda: cluster.events("EIPAssociated"))
    assert cluster.emulator.calls.count("AllocateAddresses") == 1
    assert cluster.emulator.calls.count("AssociateAddress") == 1
    assert cluster.parts.metrics.value("allocate") == 1 and cluster.parts.metrics.value("associate") == 1


def test_pod_without_ip_on_an_eni_waits_then_binds(eip_cluster) -> None:
    cluster = eip_cluster()
    cluster.pod("late", WANTS, ip=None)
    cluster.wait_for(lambda: cluster.claim("late"))
    time.sleep(0.3)
    assert cluster.claim("late").status.phase is ClaimPhase.PENDING and cluster.eips() == {}
    cluster.client.patch(*_pod("late"), {"status": {"podIP": cluster.ips[1]}}, subresource="status")
    assert cluster.bound_claim("late").status.private_ip == cluster.ips[1]


def test_immediate_releases_with_the_pod(eip_cluster) -> None:
    cluster = eip_cluster()
    cluster.pod("web", WANTS, ip=cluster.ips[0])
    cluster.bound_claim("web")
    cluster.delete_pod("web")
    cluster.wait_for(lambda: cluster.claim("web") is None and not cluster.eips(), message="claim and EIP gone")
    assert cluster.emulator.snapshot()["addresses"] == []
    assert cluster.emulator.calls.count("ReleaseAddresses") == 1


def test_never_keeps_the_eip_and_rebinds_the_next_pod(eip_cluster) -> None:
    cluster = eip_cluster()
    cluster.pod("db-0", KEEP, ip=cluster.ips[0])
    first = cluster.bound_claim("db-0")
    cluster.delete_pod("db-0")
    retained = cluster.wait_for(lambda: (c := cluster.claim("db-0")) and c.status.phase is ClaimPhase.RETAINED and c)
    assert retained.status.eip_id == first.status.eip_id
    assert cluster.eips()[first.status.eip_id].state is EipState.UNBIND

    cluster.pod("db-0", KEEP, ip=cluster.ips[2])
    cluster.wait_for(lambda: (c := cluster.claim("db-0")) and c.status.private_ip == cluster.ips[2]
                     and c.status.phase is ClaimPhase.BOUND)
    eip = cluster.eips()[first.status.eip_id]
    assert (eip.state, eip.private_ip) == (EipState.BIND_ENI, cluster.ips[2])
    assert len(cluster.eips()) == 1 and cluster.emulator.calls.count("AllocateAddresses") == 1
    cluster.wait_for(lambda: cluster.pod_annotations("db-0").get(ANNOTATION_EIP_PUBLIC_IP) == eip.public_ip)


def test_retained_eip_expires(eip_cluster) -> None:
    cluster = eip_cluster()
    cluster.pod("db-0", {**KEEP, ANNOTATION_CLAIM_EXPIRED_DURATION: "5m"}, ip=cluster.ips[0])
    cluster.bound_claim("db-0")
    cluster.delete_pod("db-0")
    cluster.wait_for(lambda: (c := cluster.claim("db-0")) and c.status.phase is ClaimPhase.RETAINED, step=0)
    time.sleep(0.3)  # the expiry requeue is registered on the fake clock
    cluster.clock.step(200.0)
    time.sleep(0.3)
    assert cluster.claim("db-0") is not None and len(cluster.eips()) == 1
    cluster.wait_for(lambda: cluster.claim("db-0") is None and not cluster.eips(), step=30.0,
                     message="expired claim and EIP gone")
    assert cluster.events("EIPClaimExpired")


def test_eip_id_list_binds_the_users_eip_and_never_releases_it(eip_cluster) -> None:
    cluster = eip_cluster()
    (mine,) = cluster.adapter.allocate_eips(intent="user bought this", tags={"team": "web"})
    cluster.pod("web", {ANNOTATION_EIP_ID_LIST: mine.id}, ip=cluster.ips[0])
    assert cluster.bound_claim("web").status.eip_id == mine.id
    assert cluster.eips()[mine.id].private_ip == cluster.ips[0]
    cluster.delete_pod("web")
    cluster.wait_for(lambda: cluster.claim("web") is None)
    assert cluster.eips()[mine.id].state is EipState.UNBIND
    assert cluster.emulator.calls.count("ReleaseAddresses") == 0
    assert cluster.emulator.calls.count("AllocateAddresses") == 1  # the user's own


def _pod(name):
    return POD, ObjectKey("default", name)


def test_allocation_of_a_crashed_process_is_found_again(eip_cluster) -> None:
    """An earlier ipamd allocated for this claim and died before recording it: the ClientToken finds that EIP."""
    cluster = eip_cluster()
    made = cluster.client.create(EIP_CLAIM, {"apiVersion": "networking.tke.cloud.tencent.com/v1", "kind": "EIPClaim",
                                             "metadata": {"name": "web", "namespace": "default"}, "spec": {}})
    claim = EIPClaim.from_dict(made)
    tags = cluster.settings.cloud_tags(claim_uid=claim.metadata.uid, claim_key="default/web")
    (earlier,) = cluster.new_adapter().allocate_eips(intent=intent_for(claim), tags=tags)
    cluster.pod("web", WANTS, ip=cluster.ips[0])
    assert cluster.bound_claim("web").status.eip_id == earlier.id
    assert list(cluster.eips()) == [earlier.id]
    cluster.delete_pod("web")
    cluster.wait_for(lambda: cluster.claim("web") is None and not cluster.eips())
