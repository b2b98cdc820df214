"""Judging each node shape once must give every node the verdict it would get alone: checked on many random
clusters and pods (a fixed seed, so every run checks the same ones)."""

import random

import pytest

from eni.scheduler import NodeCapacity, PodNeeds, SubnetInfo, filter_nodes, score_nodes
from eni.scheduler.judge import judge_node

SUBNET_IDS = ["subnet-a", "subnet-b", "subnet-c", "subnet-d"]
ZONES = ["", "zone-1", "zone-2"]


def random_subnets(rng):
    return {s: SubnetInfo(s, zone=rng.choice(ZONES), free_ips=rng.choice([None, 0, 1, 2, 50])) for s in SUBNET_IDS
            if rng.random() < 0.8}


def some(rng, items):
    return [item for item in items if rng.random() < 0.4]


def random_node(rng, name):
    return NodeCapacity(
        name=name, zone=rng.choice(ZONES), configured=rng.random() < 0.9, subnets=frozenset(some(rng, SUBNET_IDS)),
        eni_free_slots={s: rng.choice([0, 1, 3]) for s in some(rng, SUBNET_IDS)}, eni_count=rng.randint(0, 2),
        max_eni=rng.choice([0, 2, 3]), free_direct_enis={s: 1 for s in some(rng, SUBNET_IDS)},
        direct_eni_count=rng.randint(0, 2), max_direct_eni=rng.choice([0, 2]))


def random_needs(rng, names):
    direct = rng.random() < 0.5
    subnets = frozenset(some(rng, SUBNET_IDS)) or None if rng.random() < 0.6 else None
    return PodNeeds(subnets=subnets, direct=direct,
                    retained_ip="10.0.0.9" if subnets and not direct and rng.random() < 0.3 else "",
                    kept_eni="eni-k" if subnets and direct and rng.random() < 0.3 else "",
                    holding_nodes=frozenset(some(rng, names)) if rng.random() < 0.2 else frozenset())


@pytest.mark.parametrize("seed", range(100))
def test_shared_judgements_equal_judging_every_node_alone(seed):
    rng = random.Random(seed)
    names = [f"n{i}" for i in range(30)]
    nodes = {name: random_node(rng, name) for name in names if rng.random() < 0.95}
    for _ in range(20):
        subnets, needs = random_subnets(rng), random_needs(rng, names)
        reserved = frozenset(some(rng, SUBNET_IDS))
        order = rng.sample(names, len(names))
        outcome = filter_nodes(needs, order, nodes=nodes, subnets=subnets, reserved=reserved)
        scores = dict(score_nodes(needs, order, nodes=nodes, subnets=subnets, reserved=reserved))
        for name in order:
            alone = judge_node(needs, nodes.get(name), subnets=subnets, reserved=reserved)
            if name in needs.holding_nodes and name in nodes and nodes[name].configured and not needs.invalid:
                assert name in outcome.passed and scores[name] == 10
                continue
            assert (name in outcome.passed) == alone.fits, (name, needs)
            assert outcome.failed.get(name, "") == ("" if alone.unresolvable else alone.failure), (name, needs)
            assert outcome.unresolvable.get(name, "") == (alone.failure if alone.unresolvable else ""), (name, needs)
            assert scores[name] == alone.score, (name, needs)
