"""eip-id-list: bind the user's existing EIPs; never allocate, never release them."""

from __future__ import annotations

import pytest

from eni.api.v1 import EIP_CLAIM, ClaimPhase
from eni.api.v1.constants import (
    ANNOTATION_EIP_CLAIM_DELETE_POLICY,
    ANNOTATION_EIP_ID_LIST,
    ANNOTATION_EIP_PUBLIC_IP,
)
from eni.cloud.types import EipState, EniId
from eni.controllers.eip.binding import EipTakenError
from eni.runtime.meta import ObjectKey
from eni.runtime.reconcile import Result


def user_eips(world, count):
    eips = world.vpc.allocate_eips(intent="the user's own", count=count, tags={"owner": "user"})
    world.vpc.calls.clear()
    return [e.id for e in eips]


def test_listed_eip_is_bound_and_kept_when_the_pod_goes(world) -> None:
    (mine,) = user_eips(world, 1)
    world.pod("web", {ANNOTATION_EIP_ID_LIST: mine}, ip=world.ips[0])
    assert world.reconcile("web") == Result()
    claim = world.claim("web")
    assert (claim.status.phase, claim.status.eip_id) == (ClaimPhase.BOUND, mine)
    assert world.eips()[mine].private_ip == world.ips[0]
    assert world.pod_annotations("web")[ANNOTATION_EIP_PUBLIC_IP] == world.eips()[mine].public_ip
    assert world.cloud_calls("allocate_eips") == 0

    world.delete_pod("web")  # policy Immediate: the claim goes, the user's EIP stays (unbound)
    world.reconcile("web")
    assert world.claim("web") is None
    assert world.eips()[mine].state is EipState.UNBIND
    assert world.cloud_calls("release_eips") == 0


def test_missing_eip_is_an_event_and_nothing_is_bound(world) -> None:
    (mine,) = user_eips(world, 1)
    world.pod("web", {ANNOTATION_EIP_ID_LIST: f"{mine},eip-00009999"}, ip=world.ips[0])
    assert world.reconcile("web") == Result(requeue_after=world.settings.error_retry_interval)
    assert world.eips()[mine].state is EipState.UNBIND
    event = world.events.seen[-1]
    assert (event.reason, event.type) == ("EIPUnavailable", "Warning") and "eip-00009999" in event.message
    assert world.claim("web").status.phase is ClaimPhase.PENDING


def test_malformed_list_is_refused(world) -> None:
    world.pod("web", {ANNOTATION_EIP_ID_LIST: "eip-1,not-an-eip"}, ip=world.ips[0])
    world.reconcile("web")
    assert world.claim("web") is None and world.vpc.calls == []
    assert "'not-an-eip' is not an EIP id" in world.events.seen[-1].message


def test_pods_sharing_a_list_take_the_free_eips_in_order(world) -> None:
    first, second = user_eips(world, 2)
    listed = {ANNOTATION_EIP_ID_LIST: f"{first},{second}"}
    world.pod("db-0", listed, ip=world.ips[0])
    world.pod("db-1", listed, ip=world.ips[1])
    world.reconcile("db-0")
    world.reconcile("db-1")
    assert world.claim("db-0").status.eip_id == first and world.claim("db-1").status.eip_id == second
    world.pod("db-2", listed, ip=world.ips[2])
    world.reconcile("db-2")
    assert world.events.seen[-1].reason == "EIPUnavailable"
    assert "none of the EIPs in eip-id-list is free" in world.events.seen[-1].message


def test_eip_bound_by_someone_else_is_skipped(world) -> None:
    taken, free = user_eips(world, 2)
    world.vpc.associate_eip(taken, eni_id=EniId(world.eni_id), private_ip=world.ips[3])
    world.pod("web", {ANNOTATION_EIP_ID_LIST: f"{taken},{free}"}, ip=world.ips[0])
    world.reconcile("web")
    assert world.claim("web").status.eip_id == free
    assert world.eips()[taken].private_ip == world.ips[3]  # untouched


def test_kept_listed_eip_follows_the_next_pod(world) -> None:
    (mine,) = user_eips(world, 1)
    notes = {ANNOTATION_EIP_ID_LIST: mine, ANNOTATION_EIP_CLAIM_DELETE_POLICY: "Never"}
    world.pod("db-0", notes, ip=world.ips[0])
    world.reconcile("db-0")
    world.delete_pod("db-0")
    world.reconcile("db-0")
    assert world.claim("db-0").status.phase is ClaimPhase.RETAINED
    world.pod("db-0", notes, ip=world.ips[1])
    world.reconcile("db-0")
    assert world.eips()[mine].private_ip == world.ips[1]
    world.client.delete(*_claim("db-0"))
    world.delete_pod("db-0")
    world.reconcile("db-0")
    assert world.claim("db-0") is None and world.eips()[mine].state is EipState.UNBIND


def _claim(name):
    return EIP_CLAIM, ObjectKey("default", name)


def test_listed_eip_taken_between_look_and_associate_is_chosen_again(world) -> None:
    first, second = user_eips(world, 2)

    def race(method, arguments):
        if method == "associate_eip" and arguments["eip_id"] == first:
            world.vpc.interceptor = None
            world.vpc.associate_eip(first, eni_id=EniId(world.eni_id), private_ip=world.ips[3])  # someone else

    world.vpc.interceptor = race
    world.pod("web", {ANNOTATION_EIP_ID_LIST: f"{first},{second}"}, ip=world.ips[0])
    with pytest.raises(EipTakenError):
        world.reconcile("web")
    world.reconcile("web")
    assert world.claim("web").status.eip_id == second
    assert world.eips()[first].private_ip == world.ips[3]
