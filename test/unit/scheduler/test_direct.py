"""The exclusive-ENI rule, on hand-made node records and subnet snapshots (no informers)."""

from eni.scheduler import NodeCapacity, PodNeeds, SubnetInfo, filter_nodes, score_nodes
from eni.scheduler.judge import judge_node

ZONE_A, ZONE_B = "ap-guangzhou-3", "ap-guangzhou-4"
SUBNETS = {
    "subnet-a": SubnetInfo("subnet-a", zone=ZONE_A, free_ips=100),
    "subnet-a2": SubnetInfo("subnet-a2", zone=ZONE_A, free_ips=100),
    "subnet-dry": SubnetInfo("subnet-dry", zone=ZONE_A, free_ips=0),
    "subnet-b": SubnetInfo("subnet-b", zone=ZONE_B, free_ips=100),
}
ANY = PodNeeds(direct=True)


def capacity(name="n", *, zone=ZONE_A, subnets=("subnet-a",), warm=None, attached=0, max_direct=2, route_slots=None):
    return NodeCapacity(name=name, zone=zone, configured=True, subnets=frozenset(subnets),
                        eni_free_slots=route_slots if route_slots is not None else {},
                        free_direct_enis=warm or {}, direct_eni_count=attached, max_direct_eni=max_direct)


def judge(node, needs=ANY, reserved=frozenset()):
    return judge_node(needs, node, subnets=SUBNETS, reserved=reserved)


def test_a_free_warm_exclusive_eni_scores_highest():
    verdict = judge(capacity(warm={"subnet-a": 1}, attached=2, max_direct=2))
    assert verdict.fits and verdict.score == 10


def test_room_to_attach_one_fits_through_a_new_eni():
    verdict = judge(capacity(attached=1, max_direct=2))
    assert verdict.fits and verdict.score == 5


def test_no_free_eni_at_the_limit_fails_with_the_counts():
    verdict = judge(capacity(attached=2, max_direct=2))
    assert not verdict.unresolvable
    assert verdict.failure == ("[ip-scheduler] ENILimitExceed: no free exclusive ENI and the node has 2 of 2 "
                               "exclusive ENIs attached")


def test_a_node_that_may_attach_no_exclusive_eni_is_unresolvable():
    verdict = judge(capacity(max_direct=0))
    assert verdict.unresolvable
    assert verdict.failure == ("[ip-scheduler] ENILimitExceed: the node may attach no exclusive ENI "
                               "(maxDirectENI is 0)")


def test_free_shared_eni_slots_do_not_serve_a_direct_pod():
    verdict = judge(capacity(route_slots={"subnet-a": 9}, attached=2, max_direct=2))
    assert "ENILimitExceed" in verdict.failure


def test_a_new_eni_needs_a_free_address_for_its_primary_ip():
    verdict = judge(capacity(subnets=("subnet-dry",), attached=0))
    assert verdict.failure == ("[ip-scheduler] InsufficientIPorENI: no free exclusive ENI and subnet-dry has no "
                               "free IP for a new one")
    # a warm ENI already holds its address
    assert judge(capacity(subnets=("subnet-dry",), warm={"subnet-dry": 1})).score == 10


def test_a_kept_eni_ties_the_pod_to_its_subnets_zone():
    kept = PodNeeds(direct=True, subnets=frozenset({"subnet-a"}), kept_eni="eni-kept")
    verdict = judge(capacity(name="b", zone=ZONE_B, subnets=("subnet-b",)), kept)
    assert verdict.unresolvable
    assert verdict.failure == ("[ip-scheduler] SubnetMismatch: kept ENI eni-kept is in subnet subnet-a "
                               "(zone ap-guangzhou-3); the node is in zone ap-guangzhou-4")
    # in its zone it is re-attached: room is enough, even on a node whose own subnet is another one
    assert judge(capacity(subnets=("subnet-a2",)), kept).score == 5


def test_a_kept_eni_needs_room_and_ignores_warm_enis_and_exhausted_subnets():
    kept = PodNeeds(direct=True, subnets=frozenset({"subnet-dry"}), kept_eni="eni-kept")
    assert judge(capacity(subnets=("subnet-dry",)), kept).score == 5  # its address is its own already
    full = judge(capacity(subnets=("subnet-dry",), warm={"subnet-dry": 1}, attached=2), kept)
    assert full.failure == ("[ip-scheduler] ENILimitExceed: kept ENI eni-kept cannot be re-attached and the node "
                            "has 2 of 2 exclusive ENIs attached")


def test_nominated_subnets_restrict_zones_and_warm_enis():
    nominated = PodNeeds(direct=True, subnets=frozenset({"subnet-a2"}))
    # a warm ENI of another subnet does not serve; a new one in the nominated subnet of the zone does
    assert judge(capacity(warm={"subnet-a": 1}, attached=2), nominated).failure.startswith(
        "[ip-scheduler] ENILimitExceed: no free exclusive ENI")
    assert judge(capacity(warm={"subnet-a2": 1}, attached=2), nominated).score == 10
    assert judge(capacity(attached=1), nominated).score == 5
    mismatch = judge(capacity(zone=ZONE_B, subnets=("subnet-b",)), nominated)
    assert mismatch.unresolvable and mismatch.failure.startswith(
        "[ip-scheduler] SubnetMismatch: nominated subnets subnet-a2 (zone ap-guangzhou-3)")


def test_reserved_subnets_keep_ordinary_direct_pods_off():
    node = capacity(subnets=("subnet-a",), warm={"subnet-a": 1})
    verdict = judge(node, reserved=frozenset({"subnet-a"}))
    assert verdict.unresolvable
    assert verdict.failure == ("[ip-scheduler] InsufficientIPorENI: all of the node's subnets are reserved for "
                               "pods that nominate them")
    # a pod nominating the subnet is not kept off it
    assert judge(node, PodNeeds(direct=True, subnets=frozenset({"subnet-a"})), frozenset({"subnet-a"})).score == 10


def test_invalid_and_unconfigured():
    assert judge(capacity(), PodNeeds(direct=True, invalid="bad")).failure == (
        "[ip-scheduler] InvalidPodAnnotation: bad")
    assert judge(None).unresolvable and judge(NodeCapacity(name="x")).unresolvable


def test_filter_and_score_pass_nodes_holding_the_pods_reserved_eni_whatever_their_shape():
    nodes = {
        "full-1": capacity("full-1", attached=2),
        "full-2": capacity("full-2", attached=2),
        "room": capacity("room", attached=0),
        "warm": capacity("warm", warm={"subnet-a": 1}, attached=1),
    }
    names = ["full-1", "full-2", "room", "warm", "unknown"]
    needs = PodNeeds(direct=True, holding_nodes=frozenset({"full-2"}))
    outcome = filter_nodes(needs, names, nodes=nodes, subnets=SUBNETS)
    assert outcome.passed == ["full-2", "room", "warm"]
    assert set(outcome.failed) == {"full-1"} and set(outcome.unresolvable) == {"unknown"}
    assert score_nodes(needs, names, nodes=nodes, subnets=SUBNETS) == [
        ("full-1", 0), ("full-2", 10), ("room", 5), ("warm", 10), ("unknown", 0)]
    # without the reservation the two full nodes share one verdict
    plain = filter_nodes(PodNeeds(direct=True), names, nodes=nodes, subnets=SUBNETS)
    assert plain.failed["full-1"] == plain.failed["full-2"]


def test_route_and_direct_shapes_are_independent():
    # same shared-ENI facts, different exclusive ENIs: one route shape, two direct shapes
    a, b = capacity("a", attached=0), capacity("b", attached=2)
    assert a.shape == b.shape and a.direct_shape != b.direct_shape
    # and the other way round: free slots on the route ENIs matter to shared-ENI pods only
    c, d = capacity("c", route_slots={"subnet-a": 1}), capacity("d", route_slots={"subnet-a": 0})
    assert c.direct_shape == d.direct_shape and c.shape != d.shape


def test_with_zones_unknown_an_eni_of_either_kind_places_its_subnet_in_the_nodes_zone():
    unknown = {}  # neither the subnets' nor (below) the nodes' zones are known
    # the route ENI in subnet-r tells that subnet-r is usable by that node only; a direct pod nominating it
    # may go there, and nodes that look alike but for it must not share its verdict
    with_eni = capacity("with-eni", zone="", route_slots={"subnet-r": 0})
    without = capacity("without", zone="", route_slots={})
    nominating = PodNeeds(direct=True, subnets=frozenset({"subnet-r"}))
    for names in (["with-eni", "without"], ["without", "with-eni"]):
        outcome = filter_nodes(nominating, names, nodes={"with-eni": with_eni, "without": without}, subnets=unknown)
        assert outcome.passed == ["with-eni"] and set(outcome.unresolvable) == {"without"}
    # a warm exclusive ENI does the same for a shared-ENI pod
    warm = NodeCapacity(name="warm", configured=True, max_eni=3, free_direct_enis={"subnet-w": 1})
    cold = NodeCapacity(name="cold", configured=True, max_eni=3)
    shared = PodNeeds(subnets=frozenset({"subnet-w"}))
    for names in (["warm", "cold"], ["cold", "warm"]):
        outcome = filter_nodes(shared, names, nodes={"warm": warm, "cold": cold}, subnets=unknown)
        assert outcome.passed == ["warm"] and set(outcome.unresolvable) == {"cold"}
