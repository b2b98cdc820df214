"""Errors: bad annotations, the account's EIP quota, throttling, and crashes between steps."""

from __future__ import annotations

import pytest

from eni.api.v1 import EIP_CLAIM, ClaimPhase
from eni.api.v1.constants import ANNOTATION_EIP_ATTRIBUTES, ANNOTATION_EIP_CLAIM_DELETE_POLICY
from eni.cloud.errors import Busy, InvalidRequest, Throttled
from eni.cloud.types import EipState
from eni.runtime.client.errors import ApiError
from eni.runtime.meta import POD, ObjectKey
from eni.runtime.reconcile import Result

WANTS = {ANNOTATION_EIP_ATTRIBUTES: "{}"}


@pytest.mark.parametrize(("value", "named"), [
    ('{"ISP": "ABC"}', "'ABC' is not one of BGP, CMCC, CTCC, CUCC"),
    ('{"Bandwidth": "fast"}', "Bandwidth must be a whole number"),
    ('{"Bandwidth": 0}', "at least 1 Mbps"),
    ("not json", "not valid JSON"),
    ('{"Bandwith": "10"}', "unknown field(s) Bandwith"),
])
def test_bad_attributes_are_an_event_and_nothing_else(world, value, named) -> None:
    world.pod("web", {ANNOTATION_EIP_ATTRIBUTES: value}, ip=world.ips[0])
    assert world.reconcile("web") == Result()
    assert world.claim("web") is None
    assert world.vpc.calls == []
    (event,) = world.events.seen
    assert (event.kind, event.name, event.reason, event.type) == ("Pod", "web", "InvalidEIPAnnotation", "Warning")
    assert named in event.message and ANNOTATION_EIP_ATTRIBUTES in event.message


def test_bad_delete_policy_is_refused_too(world) -> None:
    world.pod("web", {**WANTS, ANNOTATION_EIP_CLAIM_DELETE_POLICY: "Sometimes"}, ip=world.ips[0])
    world.reconcile("web")
    assert world.claim("web") is None and world.vpc.calls == []
    assert "'Sometimes' is not one of Immediate, Never" in world.events.seen[0].message


def test_annotation_broken_later_leaves_the_bound_eip_alone(world) -> None:
    world.pod("web", WANTS, ip=world.ips[0])
    world.reconcile("web")
    pod = world.client.get(POD, ObjectKey("default", "web"))
    pod["metadata"]["annotations"][ANNOTATION_EIP_ATTRIBUTES] = '{"ISP": "XYZ"}'
    world.client.update(POD, pod)
    world.vpc.calls.clear()
    assert world.reconcile("web") == Result()
    assert world.vpc.calls == []
    assert next(iter(world.eips().values())).state is EipState.BIND_ENI
    assert world.events.seen[-1].reason == "InvalidEIPAnnotation"


def test_quota_is_an_event_and_a_slow_retry_not_a_storm(make) -> None:
    world = make(eip_quota=0, quota_retry_interval=300.0)
    world.pod("a", WANTS, ip=world.ips[0])
    world.pod("b", WANTS, ip=world.ips[1])
    assert world.reconcile("a") == Result(requeue_after=300.0)
    claim = world.claim("a")
    assert claim is not None and claim.status.phase is ClaimPhase.PENDING
    assert "AddressQuotaLimitExceeded" in claim.status.message
    warning = world.events.seen[-1]
    assert (warning.kind, warning.name, warning.reason, warning.type) == ("Pod", "a", "EIPQuotaExceeded", "Warning")

    for _ in range(5):  # status writes, pod updates...: every wake-up during the hold-off
        assert 0 < world.reconcile("a").requeue_after <= 300.0
        assert 0 < world.reconcile("b").requeue_after <= 300.0
    assert world.cloud_calls("allocate_eips") == 1
    assert world.metrics.value("allocate", "QuotaExceeded") == 1
    assert world.events.reasons("Pod").count("EIPQuotaExceeded") == 11
    assert {e.name for e in world.events.seen} == {"a", "b"}

    world.clock.step(120.0)
    assert world.reconcile("a") == Result(requeue_after=180.0)
    world.clock.step(180.0)
    world.vpc.eip_quota = 1
    assert world.reconcile("a") == Result()
    assert world.cloud_calls("allocate_eips") == 2
    assert world.claim("a").status.phase is ClaimPhase.BOUND


def test_release_lifts_the_quota_hold_off(make) -> None:
    world = make(eip_quota=1)
    world.pod("a", WANTS, ip=world.ips[0])
    world.reconcile("a")
    world.pod("b", WANTS, ip=world.ips[1])
    assert world.reconcile("b").requeue_after == world.settings.quota_retry_interval
    world.delete_pod("a")
    world.reconcile("a")
    assert world.reconcile("b") == Result()
    assert world.claim("b").status.phase is ClaimPhase.BOUND


@pytest.mark.parametrize("error", [Throttled("RequestLimitExceeded", "slow down"),
                                   Busy("UnsupportedOperation.MutexOperationTaskRunning", "busy")])
def test_retryable_errors_are_raised_for_the_queue_backoff(world, error) -> None:
    def fail(method, arguments):
        if method == "allocate_eips":
            raise error

    world.vpc.interceptor = fail
    world.pod("web", WANTS, ip=world.ips[0])
    with pytest.raises(type(error)):
        world.reconcile("web")
    assert world.events.reasons("Pod") == []
    world.vpc.interceptor = None
    assert world.reconcile("web") == Result()
    assert world.claim("web").status.phase is ClaimPhase.BOUND


def test_invalid_request_is_a_warning_and_a_slow_retry(world) -> None:
    def fail(method, arguments):
        if method == "associate_eip":
            raise InvalidRequest("InvalidParameterValue", "no such thing")

    world.vpc.interceptor = fail
    world.pod("web", WANTS, ip=world.ips[0])
    assert world.reconcile("web") == Result(requeue_after=world.settings.error_retry_interval)
    claim = world.claim("web")
    assert claim.status.phase is ClaimPhase.PENDING and claim.status.eip_id  # the allocation stays recorded
    assert "no such thing" in claim.status.message
    assert world.events.seen[-1].reason == "EIPCloudError"


def test_crash_after_allocation_reuses_the_same_eip(world) -> None:
    calls = []

    def fail(method, arguments):
        calls.append(method)
        if method == "associate_eip":
            raise Throttled("RequestLimitExceeded", "slow down")

    world.vpc.interceptor = fail
    world.pod("web", WANTS, ip=world.ips[0])
    with pytest.raises(Throttled):
        world.reconcile("web")
    world.vpc.interceptor = None
    world.reconcile("web")
    (eip,) = world.eips().values()
    assert eip.private_ip == world.ips[0] and world.claim("web").status.eip_id == eip.id


def _refuse_claim_patches(world, refusing):
    def refuse(verb, kind, key):
        if refusing and verb == "patch" and kind == EIP_CLAIM and world.vpc.calls.count("allocate_eips"):
            raise ApiError(500, "InternalError", "etcd is unavailable")

    world.client.intercept(refuse)


def test_lost_status_write_after_allocation_finds_the_same_eip_again(world) -> None:
    refusing = [True]
    _refuse_claim_patches(world, refusing)
    world.pod("web", WANTS, ip=world.ips[0])
    with pytest.raises(ApiError):
        world.reconcile("web")
    assert len(world.eips()) == 1 and not world.claim("web").status.eip_id
    refusing.clear()
    world.reconcile("web")
    (eip,) = world.eips().values()
    assert world.claim("web").status.eip_id == eip.id and eip.private_ip == world.ips[0]


def test_deleted_claim_releases_an_eip_it_never_recorded(world) -> None:
    refusing = [True]
    _refuse_claim_patches(world, refusing)
    world.pod("web", WANTS, ip=world.ips[0])
    with pytest.raises(ApiError):
        world.reconcile("web")
    refusing.clear()
    world.delete_pod("web")
    world.reconcile("web")
    assert world.claim("web") is None and world.eips() == {}


def test_host_network_pod_gets_a_warning_and_no_eip(world) -> None:
    world.pod("hn", WANTS, ip=world.ips[0], host_network=True)
    assert world.reconcile("hn") == Result()
    assert world.eips() == {} and world.events.reasons("Pod") == ["EIPUnsupportedPod"]
