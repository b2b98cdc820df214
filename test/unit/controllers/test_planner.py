""""Fewest ENIs" planning."""

from __future__ import annotations

from eni.controllers.nodepool.planner import (
    Assignment,
    EniSlot,
    SubnetChoice,
    choose_releases,
    choose_subnet,
    plan_assignments,
    removable_enis,
)


def slot(eni_id, bound=(), releasing=(), subnet="subnet-a", primary=None):
    return EniSlot(eni_id=eni_id, subnet_id=subnet, primary_ip=primary or f"p-{eni_id}", bound=tuple(bound),
                   releasing=tuple(releasing))


def test_fills_the_eni_with_most_ips_in_use_first():
    slots = [slot("eni-a", ["1", "2"]), slot("eni-b", ["3", "4", "5"])]
    plan, rest = plan_assignments(slots, 4, max_ips_per_eni=5, used={"1", "2"})
    assert plan == [Assignment("eni-a", 3), Assignment("eni-b", 1)] and rest == 0


def test_releasing_ips_take_room_and_exhausted_subnets_are_skipped():
    slots = [slot("eni-a", ["1"], ["2"], subnet="subnet-x"), slot("eni-b", ["3"])]
    plan, rest = plan_assignments(slots, 10, max_ips_per_eni=3, used=set(), exhausted_subnets={"subnet-x"})
    assert plan == [Assignment("eni-b", 2)] and rest == 8


def test_releases_idle_ips_from_the_eni_with_fewest_in_use():
    slots = [slot("eni-a", ["1", "2", "3"]), slot("eni-b", ["4", "5"])]
    assert choose_releases(slots, 3, used={"1", "4"}) == ["5", "3", "2"]
    assert choose_releases(slots, 9, used={"1", "2", "3", "4", "5"}) == []


def test_new_enis_go_to_the_subnet_with_most_free_ips():
    candidates = [SubnetChoice("subnet-a", 10), SubnetChoice("subnet-b", 50), SubnetChoice("subnet-c", 0)]
    assert choose_subnet(candidates) == "subnet-b"
    assert choose_subnet(candidates, exhausted={"subnet-b"}) == "subnet-a"
    assert choose_subnet(candidates, exhausted={"subnet-a", "subnet-b"}) is None


def test_only_empty_enis_whose_primary_no_pod_uses_are_removable_and_only_when_nothing_is_needed():
    slots = [slot("eni-a"), slot("eni-b", primary="10.0.0.9"), slot("eni-c", releasing=["7"]), slot("eni-d", ["8"])]
    assert removable_enis(slots, used={"10.0.0.9"}, ips_needed=0) == ["eni-a"]
    assert removable_enis(slots, used=set(), ips_needed=1) == []
