"""Pure parts of the exclusive-ENI controllers: which pods want one, what the VpcENI of a kept ENI carries,
how the NEC status entries are rendered, and the exclusive-ENI create intent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eni.api.v1 import (
    EniType,
    IPState,
    NodeENI,
    NodeENIConfig,
    NodeENIConfigSpec,
    NodeENIConfigStatus,
    ObjectMeta,
    ObjectReference,
    OwnerReference,
    PodRef,
    VpcENI,
    VpcENISpec,
)
from eni.api.v1.constants import (
    ANNOTATION_CLAIM_EXPIRED_DURATION,
    ANNOTATION_NETWORKS,
    ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY,
)
from eni.cloud.types import Eni as CloudEni
from eni.cloud.types import EniAttachment, EniId, EniState, InstanceId, Subnet, SubnetId, VpcId
from eni.controllers.directeni.keep import (
    ANNOTATION_KEPT_SINCE,
    ANNOTATION_OWNER_WORKLOAD,
    annotation_changes,
    being_kept,
    expiry,
    keeps,
    kept_since,
    owner_workload,
    record_annotations,
)
from eni.controllers.directeni.model import DirectEni, direct_eni, free_enis, published_direct, render_direct
from eni.controllers.directeni.pods import wants_direct_eni
from eni.controllers.nec.intents import PendingEni, eni_annotation, pending_eni

OWNER = OwnerReference(api_version="apps/v1", kind="StatefulSet", name="db", uid="u-1")


def record(annotations: dict[str, str] | None = None, *, owner: bool = True, deleting: bool = False) -> VpcENI:
    return VpcENI(metadata=ObjectMeta(name="eni-a", annotations=annotations or {},
                                      deletion_timestamp=datetime(2026, 1, 1, tzinfo=UTC) if deleting else None),
                  spec=VpcENISpec(subnet_id="subnet-a", type=EniType.DIRECT,
                                  owner_pod=ObjectReference(namespace="ns", name="db-0") if owner else None))


def cloud_eni(eni_id: str, index: int = 1) -> CloudEni:
    return CloudEni(id=EniId(eni_id), mac="20:90:6f:00:00:01", primary_ip="10.0.1.9", private_ips=(),
                    subnet_id=SubnetId("subnet-a"), vpc_id=VpcId("vpc-a"), security_group_ids=(),
                    attachment=EniAttachment(InstanceId("ins-a"), index), state=EniState.AVAILABLE)


@pytest.mark.parametrize(("annotations", "host", "wanted"), [
    ({ANNOTATION_NETWORKS: "tke-direct-eni"}, False, True),
    ({ANNOTATION_NETWORKS: " tke-direct-eni "}, False, True),
    ({ANNOTATION_NETWORKS: "tke-direct-eni"}, True, False),
    ({ANNOTATION_NETWORKS: "tke-route-eni"}, False, False),
    ({}, False, False),
])
def test_which_pods_want_an_exclusive_eni(annotations: dict[str, str], host: bool, wanted: bool) -> None:
    pod = {"metadata": {"annotations": annotations}, "spec": {"hostNetwork": host}}
    assert wants_direct_eni(pod) is wanted


def test_only_a_never_pods_eni_is_kept_and_not_once_deleted() -> None:
    never = {ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY: "Never"}
    assert keeps(record(never))
    assert not keeps(record())  # Immediate by default
    assert not keeps(record(never, owner=False))  # a pool ENI belongs to no pod
    assert not keeps(record(never, deleting=True))
    assert not keeps(record({ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY: "Sometimes"}))


def test_expiry_prefers_the_pods_annotation_and_ignores_a_bad_one() -> None:
    assert expiry(record({ANNOTATION_CLAIM_EXPIRED_DURATION: "10m"}), timedelta(hours=1)) == timedelta(minutes=10)
    assert expiry(record(), timedelta(hours=1)) == timedelta(hours=1)
    assert expiry(record(), None) is None
    assert expiry(record({ANNOTATION_CLAIM_EXPIRED_DURATION: "1m"}), None) is None  # below the 5m minimum


def test_the_workload_and_kept_since_round_trip_through_the_annotations() -> None:
    wanted = record_annotations({ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY: "Never", "other": "x"}, OWNER)
    assert wanted[ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY] == "Never"
    assert wanted[ANNOTATION_CLAIM_EXPIRED_DURATION] is None
    assert "other" not in wanted
    carried = record({k: v for k, v in wanted.items() if v is not None}
                     | {ANNOTATION_KEPT_SINCE: "2026-03-01T10:00:00Z"})
    assert owner_workload(carried) == OWNER
    assert being_kept(carried) and kept_since(carried) == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert annotation_changes(carried, wanted) == {}
    assert annotation_changes(carried, record_annotations({}, None)) == {
        ANNOTATION_VPC_IP_CLAIM_DELETE_POLICY: None, ANNOTATION_OWNER_WORKLOAD: None}
    assert owner_workload(record({ANNOTATION_OWNER_WORKLOAD: "{not json"})) is None
    assert not being_kept(record()) and kept_since(record({ANNOTATION_KEPT_SINCE: "yesterday"})) is None


def test_status_entries_carry_type_state_pod_and_the_subnets_gateway() -> None:
    subnet = Subnet(SubnetId("subnet-a"), "10.0.1.0/24", "ap-guangzhou-3", 200, VpcId("vpc-a"),
                    route_table_id="rtb-a")
    pod = PodRef(namespace="ns", name="db-0", uid="u")
    entries = render_direct([DirectEni(eni=cloud_eni("eni-a", 2), state=IPState.RELEASING, pod=pod)],
                            {"subnet-a": subnet})
    assert entries == (NodeENI(eni_id="eni-a", mac="20:90:6f:00:00:01", primary_ip="10.0.1.9", subnet_id="subnet-a",
                               subnet_cidr="10.0.1.0/24", gateway="10.0.1.1", route_table_id="rtb-a",
                               type=EniType.DIRECT, device_index=2, state=IPState.RELEASING, pod=pod),)


def test_the_published_state_is_carried_over_and_free_means_bound_and_not_held() -> None:
    nec = NodeENIConfig(metadata=ObjectMeta(name="n"), spec=NodeENIConfigSpec(instance_id="ins-a"),
                        status=NodeENIConfigStatus(enis=(
                            NodeENI(eni_id="eni-b", type=EniType.DIRECT, state=IPState.RELEASING),
                            NodeENI(eni_id="eni-r"))))
    published = published_direct(nec)
    assert set(published) == {"eni-b"}
    models = [direct_eni(cloud_eni(i), record(), published) for i in ("eni-a", "eni-b", "eni-c", "eni-d")]
    assert [m.state for m in models] == [IPState.BOUND, IPState.RELEASING, IPState.BOUND, IPState.BOUND]
    assert [m.eni_id for m in free_enis(models, in_use=["eni-c"])] == ["eni-a", "eni-d"]


def test_the_exclusive_eni_intent_survives_a_restart() -> None:
    pending = PendingEni("uid/eni/3", "subnet-a", direct=True, owner="ns/db-0")
    assert pending_eni(eni_annotation(pending)) == pending
    assert pending_eni(eni_annotation(PendingEni("i", "subnet-a"))) == PendingEni("i", "subnet-a")


def test_direct_eni_max_attach_lowers_the_quota_but_never_below_what_pods_hold() -> None:
    from eni.api.v1.constants import ANNOTATION_DIRECT_ENI_MAX_ATTACH
    from eni.controllers.nec.limits import InUse, NodeLimits, effective_limits

    quota = NodeLimits(max_eni=3, max_ip_per_eni=9, max_direct_eni=6)
    lowered, problems = effective_limits(quota, {ANNOTATION_DIRECT_ENI_MAX_ATTACH: "2"}, in_use=InUse(direct_enis=2),
                                         previous=None)
    assert lowered.max_direct_eni == 2 and problems == []
    kept, problems = effective_limits(quota, {ANNOTATION_DIRECT_ENI_MAX_ATTACH: "1"}, in_use=InUse(direct_enis=2),
                                      previous=lowered)
    assert kept.max_direct_eni == 2 and "below what is in use (2)" in problems[0]
    raised, _ = effective_limits(quota, {ANNOTATION_DIRECT_ENI_MAX_ATTACH: "9"}, in_use=InUse(), previous=None)
    assert raised.max_direct_eni == 6  # only ever lowers the cloud's quota
