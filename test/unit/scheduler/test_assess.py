"""The judgement rule, on hand-made node records and subnet snapshots (no informers)."""

import pytest

from eni.scheduler import NodeCapacity, PodNeeds, SubnetInfo, filter_nodes, score_nodes
from eni.scheduler.judge import judge_node
from eni.scheduler.model import ANY_SUBNET
from eni.scheduler.verdict import SCORE_EXISTING_ENI, SCORE_NEW_ENI

ZONE_A, ZONE_B = "ap-guangzhou-3", "ap-guangzhou-4"
SUBNETS = {
    "subnet-a": SubnetInfo("subnet-a", zone=ZONE_A, free_ips=100),
    "subnet-low": SubnetInfo("subnet-low", zone=ZONE_A, free_ips=1),
    "subnet-dry": SubnetInfo("subnet-dry", zone=ZONE_A, free_ips=0),
    "subnet-b": SubnetInfo("subnet-b", zone=ZONE_B, free_ips=100),
}


def capacity(name="n", *, zone=ZONE_A, subnets=("subnet-a",), slots=None, enis=1, max_eni=3):
    return NodeCapacity(name=name, zone=zone, configured=True, subnets=frozenset(subnets),
                        eni_free_slots=slots if slots is not None else {"subnet-a": 4}, eni_count=enis,
                        max_eni=max_eni)


def judge(node, needs=ANY_SUBNET, reserved=frozenset()):
    return judge_node(needs, node, subnets=SUBNETS, reserved=reserved)


def test_a_free_slot_on_an_attached_eni_scores_highest():
    verdict = judge(capacity())
    assert verdict.fits and verdict.score == SCORE_EXISTING_ENI == 10


def test_full_enis_with_room_for_another_fit_through_a_new_eni():
    verdict = judge(capacity(slots={"subnet-a": 0}, enis=2, max_eni=3))
    assert verdict.fits and verdict.score == SCORE_NEW_ENI == 5


def test_full_enis_at_the_node_limit_fail_with_eni_limit_exceed():
    verdict = judge(capacity(slots={"subnet-a": 0}, enis=3, max_eni=3))
    assert not verdict.fits and not verdict.unresolvable and verdict.score == 0
    assert verdict.failure == ("[ip-scheduler] ENILimitExceed: no ENI in subnet-a has a free IP slot and the "
                               "node has 3 of 3 ENIs attached")


def test_an_exhausted_subnet_fails_with_insufficient_ip_even_with_free_slots():
    verdict = judge(capacity(subnets=("subnet-dry",), slots={"subnet-dry": 5}))
    assert verdict.failure == "[ip-scheduler] InsufficientIPorENI: subnet-dry has no free IP"
    assert not verdict.unresolvable


def test_a_new_eni_needs_two_free_addresses():
    node = capacity(subnets=("subnet-low",), slots={"subnet-low": 0}, enis=1)
    assert judge(node).failure == ("[ip-scheduler] InsufficientIPorENI: subnet-low cannot hold a new ENI's "
                                   "primary IP and the pod's IP")
    # ...while one address is enough on an ENI that has a free slot
    assert judge(capacity(subnets=("subnet-low",), slots={"subnet-low": 1})).score == 10


def test_unknown_free_count_never_counts_as_exhausted():
    node = capacity(subnets=("subnet-unknown",), slots={"subnet-unknown": 1})
    assert judge(node).score == 10


def test_a_node_without_config_is_unresolvable():
    assert judge(None).unresolvable
    bare = NodeCapacity(name="n", zone=ZONE_A)
    verdict = judge(bare)
    assert verdict.unresolvable and "has no NodeENIConfig" in verdict.failure


def test_retained_ip_in_another_zone_is_an_unresolvable_subnet_mismatch():
    needs = PodNeeds(subnets=frozenset({"subnet-b"}), retained_ip="10.1.0.9")
    verdict = judge(capacity(), needs)
    assert verdict.unresolvable
    assert verdict.failure == ("[ip-scheduler] SubnetMismatch: retained IP 10.1.0.9 is in subnet subnet-b "
                               f"(zone {ZONE_B}); the node is in zone {ZONE_A}")


def test_retained_ip_needs_a_slot_but_no_new_address():
    needs = PodNeeds(subnets=frozenset({"subnet-dry"}), retained_ip="10.0.9.9")
    assert judge(capacity(subnets=(), slots={"subnet-dry": 1}), needs).score == 10
    # a new ENI for it still needs the ENI's own primary address
    assert judge(capacity(subnets=(), slots={"subnet-dry": 0}), needs).failure.startswith(
        "[ip-scheduler] InsufficientIPorENI: subnet-dry")
    assert judge(capacity(subnets=(), slots={"subnet-low": 0}), PodNeeds(subnets=frozenset({"subnet-low"}),
                                                                         retained_ip="10.0.8.8")).score == 5


def test_retained_ip_at_the_eni_limit_fails_with_eni_limit_exceed():
    needs = PodNeeds(subnets=frozenset({"subnet-dry"}), retained_ip="10.0.9.9")
    verdict = judge(capacity(slots={"subnet-dry": 0}, enis=3, max_eni=3), needs)
    assert verdict.failure.startswith("[ip-scheduler] ENILimitExceed:")


def test_nominated_subnets_may_be_any_subnet_of_the_nodes_zone():
    needs = PodNeeds(subnets=frozenset({"subnet-low", "subnet-b"}))
    node = capacity(subnets=("subnet-a",), slots={"subnet-a": 3})  # its own subnets are not nominated
    assert judge(node, needs).failure.startswith("[ip-scheduler] InsufficientIPorENI: subnet-low")
    assert judge(capacity(subnets=("subnet-a",), slots={"subnet-low": 2}), needs).score == 10
    node_b = capacity(zone=ZONE_B, subnets=("subnet-b",), slots={})
    assert judge(node_b, needs).score == 5


def test_nominated_subnets_of_other_zones_are_unresolvable():
    verdict = judge(capacity(), PodNeeds(subnets=frozenset({"subnet-b"})))
    assert verdict.unresolvable and verdict.failure.startswith("[ip-scheduler] SubnetMismatch: nominated subnets")


def test_subnets_of_unknown_zone_are_only_usable_where_the_node_uses_them():
    needs = PodNeeds(subnets=frozenset({"subnet-mystery"}))
    assert judge(capacity(), needs).unresolvable
    assert judge(capacity(subnets=("subnet-mystery",), slots={}), needs).score == 5


def test_reserved_subnets_are_kept_from_ordinary_pods():
    node = capacity(subnets=("subnet-a",), slots={"subnet-a": 2})
    verdict = judge(node, reserved=frozenset({"subnet-a"}))
    assert verdict.unresolvable and "reserved for pods that nominate them" in verdict.failure
    mixed = capacity(subnets=("subnet-a", "subnet-low"), slots={"subnet-a": 2, "subnet-low": 0}, enis=2)
    assert judge(mixed, reserved=frozenset({"subnet-a"})).failure.startswith(
        "[ip-scheduler] InsufficientIPorENI: subnet-low")


def test_a_node_that_may_attach_no_route_eni_is_unresolvable_so_nothing_is_preempted_for_it():
    verdict = judge(capacity(slots={}, enis=0, max_eni=0))
    assert verdict.unresolvable
    assert verdict.failure == "[ip-scheduler] ENILimitExceed: the node may attach no ENI (maxENI is 0)"
    # a node at a limit it has reached may fit once a pod goes: resolvable
    assert not judge(capacity(slots={"subnet-a": 0}, enis=1, max_eni=1)).unresolvable


def test_a_node_without_subnets_and_one_whose_subnets_are_all_reserved_say_which():
    bare = NodeCapacity(name="bare", configured=True, max_eni=3, free_direct_enis={"subnet-a": 1})
    assert judge(bare).failure == "[ip-scheduler] InsufficientIPorENI: the node has no subnet for ENIs"
    # the node's warm exclusive ENI is no subnet for a shared-ENI pod, so no reservation is to blame
    assert judge(bare, reserved=frozenset({"subnet-a"})).failure.endswith("the node has no subnet for ENIs")
    only_eni = NodeCapacity(name="only-eni", configured=True, max_eni=3, eni_count=1,
                            eni_free_slots={"subnet-a": 2})
    assert judge(only_eni, reserved=frozenset({"subnet-a"})).failure.endswith(
        "all of the node's subnets are reserved for pods that nominate them")


def test_invalid_needs_fail_every_node_unresolvably():
    verdict = judge(capacity(), PodNeeds(invalid="bad annotation"))
    assert verdict.unresolvable and verdict.failure == "[ip-scheduler] InvalidPodAnnotation: bad annotation"


@pytest.mark.parametrize("shuffle", [False, True])
def test_filter_splits_by_verdict_and_keeps_request_order(shuffle):
    nodes = {
        "fits": capacity("fits"),
        "new-eni": capacity("new-eni", slots={"subnet-a": 0}, enis=1),
        "limit": capacity("limit", slots={"subnet-a": 0}, enis=3),
        "twin-limit": capacity("twin-limit", slots={"subnet-a": 0}, enis=3),
        "zone-b": capacity("zone-b", zone=ZONE_B, subnets=("subnet-b",), slots={"subnet-b": 1}),
    }
    names = ["zone-b", "limit", "fits", "ghost", "new-eni", "twin-limit", "fits"]
    if shuffle:
        names.reverse()
    needs = PodNeeds(subnets=frozenset({"subnet-a"}))
    outcome = filter_nodes(needs, names, nodes=nodes, subnets=SUBNETS)
    expected_passed = [n for n in dict.fromkeys(names) if n in ("fits", "new-eni")]
    assert outcome.passed == expected_passed
    assert sorted(outcome.failed) == ["limit", "twin-limit"]
    assert outcome.failed["limit"] == outcome.failed["twin-limit"]
    assert sorted(outcome.unresolvable) == ["ghost", "zone-b"]
    assert "SubnetMismatch" in outcome.unresolvable["zone-b"] and "NodeENIConfig" in outcome.unresolvable["ghost"]
    scores = dict(score_nodes(needs, names, nodes=nodes, subnets=SUBNETS))
    assert scores == {"zone-b": 0, "limit": 0, "fits": 10, "ghost": 0, "new-eni": 5, "twin-limit": 0}


def test_nodes_of_one_shape_share_a_shape_id_and_others_do_not():
    assert capacity("a").shape == capacity("b").shape
    assert capacity("a").shape != capacity("a", slots={"subnet-a": 0}).shape
    assert capacity("a", slots={"subnet-a": 3}).shape == capacity("b", slots={"subnet-a": 1}).shape
    assert capacity("a", enis=1).shape != capacity("a", enis=2).shape
