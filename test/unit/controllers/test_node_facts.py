"""What ipamd writes on the Node: the subnets label, its own NoSchedule taint, and the desired-pod-num floor."""

from __future__ import annotations

from typing import Any

import pytest

from eni.api.v1.constants import ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM, LABEL_ROUTE_ENI_SUBNET_IDS, WarmTargets
from eni.controllers.nodepool.desired import desired_floor
from eni.controllers.nodepool.nodefacts import (
    TAINT_EFFECT,
    TAINT_KEY,
    publish_node_facts,
    subnet_label_patch,
    taint_patch,
)
from eni.controllers.nodepool.sizing import PoolChange, PoolFigures, pool_change, window
from eni.runtime.client.errors import ApiError, ConflictError
from eni.runtime.client.interfaces import PatchType

OURS = {"key": TAINT_KEY, "value": "true", "effect": TAINT_EFFECT}
FOREIGN = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
OUR_KEY_OTHER_EFFECT = {"key": TAINT_KEY, "effect": "NoExecute"}


def node(*, labels: dict[str, str] | None = None, taints: list[dict[str, Any]] | None = None,
         annotations: dict[str, str] | None = None, rv: str = "41") -> dict[str, Any]:
    spec: dict[str, Any] = {"providerID": "qcloud:///ap-guangzhou-3/ins-1"}
    if taints is not None:
        spec["taints"] = taints
    return {"metadata": {"name": "node-1", "resourceVersion": rv, "labels": labels or {},
                         "annotations": annotations or {}}, "spec": spec}


class RecordingClient:
    """Records patches; fails the ones whose patch type is listed in ``failing``."""

    def __init__(self, *, failing: tuple[PatchType, ...] = ()) -> None:
        self.patches: list[tuple[str, Any, PatchType]] = []
        self.failing = failing

    def patch(self, kind: Any, key: Any, patch: Any, *, patch_type: PatchType = PatchType.MERGE,
              subresource: str = "") -> dict[str, Any]:
        self.patches.append((key.name, patch, patch_type))
        if patch_type in self.failing:
            raise ConflictError(409, "Conflict", "the object has been modified")
        return node(rv="42")


# ---- label -------------------------------------------------------------------------------------------


def test_label_names_the_enis_subnets_sorted_once_each():
    patch = subnet_label_patch(node(), ["subnet-b", "subnet-a", "subnet-b"])
    assert patch == {"metadata": {"labels": {LABEL_ROUTE_ENI_SUBNET_IDS: "subnet-a_subnet-b"}}}


def test_label_is_not_patched_when_it_already_says_so():
    assert subnet_label_patch(node(labels={LABEL_ROUTE_ENI_SUBNET_IDS: "subnet-a_subnet-b"}),
                              ["subnet-b", "subnet-a"]) is None


def test_label_is_removed_when_the_node_has_no_enis_and_left_alone_when_absent():
    assert subnet_label_patch(node(labels={LABEL_ROUTE_ENI_SUBNET_IDS: "subnet-a"}), []) == \
        {"metadata": {"labels": {LABEL_ROUTE_ENI_SUBNET_IDS: None}}}
    assert subnet_label_patch(node(labels={"other": "x"}), []) is None


# ---- taint -------------------------------------------------------------------------------------------


def test_taint_is_appended_after_foreign_ones_guarded_by_the_resource_version():
    ops = taint_patch(node(taints=[FOREIGN]), tainted=True)
    assert ops == [{"op": "test", "path": "/metadata/resourceVersion", "value": "41"},
                   {"op": "add", "path": "/spec/taints", "value": [FOREIGN, OURS]}]


def test_taint_on_a_node_without_taints_or_spec():
    assert taint_patch(node(), tainted=True)[-1] == {"op": "add", "path": "/spec/taints", "value": [OURS]}
    bare = {"metadata": {"name": "n", "resourceVersion": "3"}}
    assert [op["op"] for op in taint_patch(bare, tainted=True)] == ["test", "add", "add"]


def test_nothing_to_do_when_the_taint_already_matches():
    assert taint_patch(node(taints=[FOREIGN, OURS]), tainted=True) is None
    assert taint_patch(node(taints=[FOREIGN]), tainted=False) is None
    assert taint_patch(node(), tainted=False) is None


def test_removal_takes_only_ipamds_taint():
    ops = taint_patch(node(taints=[FOREIGN, OURS, OUR_KEY_OTHER_EFFECT]), tainted=False)
    assert ops[-1] == {"op": "replace", "path": "/spec/taints", "value": [FOREIGN, OUR_KEY_OTHER_EFFECT]}
    assert taint_patch(node(taints=[OURS]), tainted=False)[-1] == {"op": "remove", "path": "/spec/taints"}


def test_a_same_key_taint_of_another_effect_is_not_taken_for_ipamds():
    ops = taint_patch(node(taints=[OUR_KEY_OTHER_EFFECT]), tainted=True)
    assert ops[-1]["value"] == [OUR_KEY_OTHER_EFFECT, OURS]


# ---- publishing --------------------------------------------------------------------------------------


def test_publish_writes_label_then_taint_against_the_labelled_version():
    client = RecordingClient()
    publish_node_facts(client, node(), subnet_ids=["subnet-a"], tainted=True)  # type: ignore[arg-type]
    (_, label, label_type), (_, taint, taint_type) = client.patches
    assert label_type is PatchType.MERGE and label["metadata"]["labels"][LABEL_ROUTE_ENI_SUBNET_IDS] == "subnet-a"
    assert taint_type is PatchType.JSON and taint[0]["value"] == "42"  # the label patch's answer, not the read


def test_publish_writes_nothing_when_the_node_is_up_to_date():
    client = RecordingClient()
    up_to_date = node(labels={LABEL_ROUTE_ENI_SUBNET_IDS: "subnet-a"}, taints=[OURS])
    publish_node_facts(client, up_to_date, subnet_ids=["subnet-a"], tainted=True)  # type: ignore[arg-type]
    assert client.patches == []


@pytest.mark.parametrize("failing", [(PatchType.MERGE,), (PatchType.JSON,), (PatchType.MERGE, PatchType.JSON)])
def test_publish_never_raises_on_api_errors(failing):
    client = RecordingClient(failing=failing)
    publish_node_facts(client, node(), subnet_ids=["subnet-a"], tainted=True)  # type: ignore[arg-type]
    assert len(client.patches) == 2  # a failed label write does not stop the taint


def test_publish_leaves_the_label_alone_when_the_subnets_do_not_fit_a_label_value():
    client = RecordingClient()
    many = [f"subnet-{i:08d}" for i in range(10)]
    publish_node_facts(client, node(labels={LABEL_ROUTE_ENI_SUBNET_IDS: "subnet-a"}), subnet_ids=many,  # type: ignore[arg-type]
                       tainted=False)
    assert client.patches == []


def test_api_error_is_the_base_the_publisher_catches():
    assert issubclass(ConflictError, ApiError)


# ---- desired-route-eni-pod-num -----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "floor"), [("12", 12), (" 3 ", 3), ("0", 0)])
def test_desired_floor_reads_a_whole_number(value, floor):
    assert desired_floor(node(annotations={ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM: value})) == (floor, None)


@pytest.mark.parametrize("value", ["-1", "ten", "", "1.5"])
def test_an_invalid_desired_floor_is_ignored_and_explained(value):
    floor, problem = desired_floor(node(annotations={ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM: value}))
    assert floor == 0
    assert problem and ANNOTATION_DESIRED_ROUTE_ENI_POD_NUM in problem


def test_no_annotation_no_floor():
    assert desired_floor(node()) == (0, None)


WARM = WarmTargets(min=2, max=4)


def test_the_floor_raises_both_edges_of_the_window_and_stays_under_the_cap():
    assert window(pods=1, warm=WARM, cap=50, floor=10) == (10, 10)
    assert window(pods=9, warm=WARM, cap=50, floor=10) == (11, 13)  # pods + warm already above the floor
    assert window(pods=0, warm=WARM, cap=8, floor=10) == (8, 8)


def test_the_pool_grows_to_the_floor_and_does_not_release_below_it():
    grow = pool_change(PoolFigures(pods=0, bound=2, idle=2, cap=50), warm=WARM, quick_release=False,
                       tick_due=True, floor=10)
    assert grow == PoolChange(assign=8)
    hold = pool_change(PoolFigures(pods=0, bound=10, idle=10, cap=50), warm=WARM, quick_release=True,
                       tick_due=True, floor=10)
    assert hold == PoolChange()
    shrink = pool_change(PoolFigures(pods=0, bound=12, idle=12, cap=50), warm=WARM, quick_release=True,
                         tick_due=True, floor=10)
    assert shrink == PoolChange(release=2)


def test_a_negative_floor_is_refused():
    with pytest.raises(ValueError, match="floor"):
        pool_change(PoolFigures(pods=0, bound=0, idle=0, cap=5), warm=WARM, quick_release=False, tick_due=False,
                    floor=-1)


def test_publish_without_known_subnets_leaves_the_label_and_still_taints():
    client = RecordingClient()
    publish_node_facts(client, node(labels={LABEL_ROUTE_ENI_SUBNET_IDS: "subnet-a"}), subnet_ids=None,  # type: ignore[arg-type]
                       tainted=True)
    assert [patch_type for _, _, patch_type in client.patches] == [PatchType.JSON]


class RecordingRecorder:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def event(self, obj: Any, *, reason: str, message: str, type: str = "Normal", kind: Any = None) -> None:
        self.reasons.append(reason)


def test_a_taint_change_is_told_on_the_node_and_a_failed_one_is_not():
    recorder = RecordingRecorder()
    publish_node_facts(RecordingClient(), node(), subnet_ids=None, tainted=True, recorder=recorder)  # type: ignore[arg-type]
    publish_node_facts(RecordingClient(), node(taints=[OURS]), subnet_ids=None, tainted=False,  # type: ignore[arg-type]
                       recorder=recorder)
    publish_node_facts(RecordingClient(failing=(PatchType.JSON,)), node(), subnet_ids=None, tainted=True,  # type: ignore[arg-type]
                       recorder=recorder)
    assert recorder.reasons == ["NoPodIPs", "PodIPsAvailable"]
