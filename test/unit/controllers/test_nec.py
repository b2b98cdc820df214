"""NEC helpers: provider ids, limits and warm-target overrides, pending intents."""

from __future__ import annotations

import pytest

from eni.api.v1.constants import (
    ANNOTATION_MAX_IP_PER_ROUTE_ENI,
    ANNOTATION_ROUTE_ENI_IP_MAX_WARM_TARGET,
    ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET,
    ANNOTATION_ROUTE_ENI_MAX_ATTACH,
    WarmTargets,
)
from eni.cloud.types import EniLimits
from eni.controllers.nec.intents import (
    ANNOTATION_INTENT_SEQ,
    PendingAssign,
    PendingEni,
    assign_annotation,
    eni_annotation,
    next_intent,
    pending_assign,
    pending_eni,
)
from eni.controllers.nec.limits import InUse, NodeLimits, cloud_limits, effective_limits, effective_warm_targets
from eni.controllers.nec.providerid import NodeInstance, ProviderIdError, parse_provider_id

QUOTA = cloud_limits(EniLimits(eni_quantity=4, eni_private_ip_quantity=10))


def test_provider_id():
    assert parse_provider_id("qcloud:///ap-guangzhou-3/ins-ab12") == NodeInstance("ap-guangzhou-3", "ins-ab12")
    for bad in ("", "aws:///us-east-1a/i-123", "qcloud:///ap-guangzhou-3/", "qcloud:///zone/ins-1"):
        with pytest.raises(ProviderIdError):
            parse_provider_id(bad)


def test_cloud_quota_minus_the_primaries():
    assert QUOTA == NodeLimits(max_eni=3, max_ip_per_eni=9, eip_quota=39) and QUOTA.ip_cap == 27


def test_the_eip_quota_is_one_per_private_ip_the_instance_can_hold_minus_its_own():
    limits = cloud_limits(EniLimits(eni_quantity=4, eni_private_ip_quantity=10, extend_eni_quantity=2,
                                    extend_eni_private_ip_quantity=5))
    assert (limits.max_direct_eni, limits.eip_quota) == (2, 4 * 10 + 2 * 5 - 1)
    assert cloud_limits(EniLimits(eni_quantity=0, eni_private_ip_quantity=0)).eip_quota == 0


def test_limit_annotations_only_lower_and_never_below_use():
    limits, problems = effective_limits(QUOTA, {ANNOTATION_ROUTE_ENI_MAX_ATTACH: "2",
                                                ANNOTATION_MAX_IP_PER_ROUTE_ENI: "50"}, in_use=InUse(), previous=None)
    assert limits == NodeLimits(2, 9, eip_quota=39) and problems == []
    previous = NodeLimits(2, 7)
    limits, problems = effective_limits(QUOTA, {ANNOTATION_MAX_IP_PER_ROUTE_ENI: "3"},
                                        in_use=InUse(enis=1, ips_on_one_eni=5), previous=previous)
    assert limits.max_ip_per_eni == 7 and "below what is in use" in problems[0]
    limits, problems = effective_limits(QUOTA, {ANNOTATION_ROUTE_ENI_MAX_ATTACH: "two"}, in_use=InUse(),
                                        previous=previous)
    assert limits.max_eni == 2 and len(problems) == 1


def test_warm_target_overrides_both_or_neither():
    defaults = WarmTargets(5, 5)
    good = {ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET: "2", ANNOTATION_ROUTE_ENI_IP_MAX_WARM_TARGET: "9"}
    assert effective_warm_targets(defaults, good, previous=None) == (WarmTargets(2, 9), None)
    half = {ANNOTATION_ROUTE_ENI_IP_MIN_WARM_TARGET: "2"}
    targets, problem = effective_warm_targets(defaults, half, previous=WarmTargets(2, 9))
    assert targets == WarmTargets(2, 9) and problem is not None
    assert effective_warm_targets(defaults, {}, previous=WarmTargets(2, 9)) == (defaults, None)


def test_intents_round_trip_and_never_repeat():
    intent, reserve = next_intent("uid-1", {}, "eni")
    again, _ = next_intent("uid-1", reserve, "eni")
    assert intent == "uid-1/eni/1" and again == "uid-1/eni/2" and reserve == {ANNOTATION_INTENT_SEQ: "1"}
    annotations = {**eni_annotation(PendingEni("i", "subnet-a")), **assign_annotation(PendingAssign("j", "eni-1", 3))}
    assert pending_eni(annotations) == PendingEni("i", "subnet-a")  # type: ignore[arg-type]
    assert pending_assign(annotations) == PendingAssign("j", "eni-1", 3)  # type: ignore[arg-type]
    assert eni_annotation(None) == {next(iter(eni_annotation(None))): None}
    assert pending_eni({"tke.cloud.tencent.com/ipamd-pending-eni": "{not json"}) is None


def test_a_pending_eni_keeps_the_ip_count_it_was_created_with():
    with_ips = eni_annotation(PendingEni("i", "subnet-a", ip_count=9))
    assert pending_eni(with_ips) == PendingEni("i", "subnet-a", 9)  # type: ignore[arg-type]
    key = next(iter(with_ips))
    assert pending_eni({key: '{"intent": "i", "subnetId": "s"}'}) == PendingEni("i", "s", 0)  # older writers
    assert pending_eni({key: '{"intent": "i", "subnetId": "s", "ipCount": "many"}'}) is None
