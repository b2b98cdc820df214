"""Choosing shared or exclusive at ADD, the pod lookup over the informer cache with a GET on a miss, and the
direct-eni and eip device counts."""

import pytest

from eni.agent.directpool import parse_direct_pool
from eni.agent.errors import InvalidRequestError, PodUnknownError
from eni.agent.netchoice import PodLookupError, PodObjects, wants_direct_eni
from eni.agent.nodeview import direct_eni_counts, eip_counts
from eni.agent.pool import PodRef

NETWORKS = "tke.cloud.tencent.com/networks"
WEB = PodRef("default", "web", "uid-2")


def pod(uid, annotations=None):
    return {"metadata": {"namespace": "default", "name": "web", "uid": uid, "annotations": annotations}}


def test_the_network_name_wins_and_nothing_is_looked_up():
    def lookup(_, fetch=True):
        raise AssertionError("not asked")
    assert wants_direct_eni("tke-direct-eni", WEB, lookup=lookup, possible=False)
    assert not wants_direct_eni("tke-eni", PodRef(), lookup=lookup, possible=True)
    assert not wants_direct_eni("tke-eni", WEB, lookup=None, possible=True)


def test_a_node_without_exclusive_enis_asks_only_the_cache():
    asked = []

    def lookup(_, fetch=True):
        asked.append(fetch)
        return {NETWORKS: "tke-direct-eni"}
    assert wants_direct_eni("tke-eni", WEB, lookup=lookup, possible=False)  # it waits rather than go shared
    assert asked == [False]


@pytest.mark.parametrize("annotations, expected", [
    ({NETWORKS: "tke-direct-eni"}, True), ({NETWORKS: " tke-direct-eni "}, True), ({NETWORKS: "tke-route-eni"}, False),
    ({}, False), (None, False),
])
def test_the_annotation_decides(annotations, expected):
    assert wants_direct_eni("tke-eni", WEB, lookup=lambda _, fetch=True: annotations, possible=True) is expected


def test_failures_are_retryable_or_invalid_never_a_guess():
    def down(_, fetch=True):
        raise PodLookupError("timed out")
    with pytest.raises(PodUnknownError, match="timed out"):
        wants_direct_eni("tke-eni", WEB, lookup=down, possible=True)
    with pytest.raises(InvalidRequestError, match="default/web"):
        wants_direct_eni("tke-eni", WEB, lookup=lambda _, fetch=True: {NETWORKS: "bridge"}, possible=True)


def test_pod_objects_use_the_cache_and_fetch_on_a_miss_or_a_predecessor():
    cache, fetched = {}, []

    def fetch(namespace, name):
        fetched.append((namespace, name))
        return pod("uid-2", {NETWORKS: "tke-direct-eni"})

    lookup = PodObjects(lambda ns, name: cache.get((ns, name)), fetch)
    cache[("default", "web")] = pod("uid-2", {"a": "b"})
    assert lookup(WEB) == {"a": "b"} and fetched == []
    cache[("default", "web")] = pod("uid-1", {})  # an earlier pod of the same name
    assert lookup(WEB) == {NETWORKS: "tke-direct-eni"} and fetched == [("default", "web")]
    del cache[("default", "web")]
    assert lookup(WEB, fetch=False) is None and len(fetched) == 1
    assert lookup(WEB) == {NETWORKS: "tke-direct-eni"} and len(fetched) == 2
    assert PodObjects(lambda ns, name: None, lambda ns, name: None)(WEB) is None
    assert PodObjects(lambda ns, name: None)(WEB) is None
    assert PodObjects(lambda ns, name: pod("uid-2"))(WEB) == {}


def test_direct_eni_counts_follow_the_spec_and_the_attached_enis():
    pool = parse_direct_pool({"enis": [
        {"eniId": f"eni-d{n}", "mac": f"02:00:00:00:0d:0{n}", "primaryIP": f"10.0.5.{n}", "subnetCIDR": "10.0.5.0/24",
         "gateway": "10.0.5.1", "type": "direct"} for n in (2, 3)]})
    counts = direct_eni_counts({"maxDirectENI": 5}, pool)
    assert (counts.capacity, counts.healthy) == (5, 2)
    counts = direct_eni_counts({"maxDirectENI": 5}, pool, static_ips=True)
    assert (counts.capacity, counts.healthy) == (5, 5)
    counts = direct_eni_counts({}, pool)
    assert (counts.capacity, counts.healthy) == (2, 2)
    counts = direct_eni_counts({"maxDirectENI": 1}, pool)
    assert (counts.capacity, counts.healthy) == (1, 1)


@pytest.mark.parametrize("spec, quota", [({"eipQuota": 9}, 9), ({}, 0), ({"eipQuota": True}, 0), ({"eipQuota": -1}, 0)])
def test_eip_counts_are_the_quota(spec, quota):
    counts = eip_counts(spec)
    assert (counts.capacity, counts.healthy) == (quota, quota)
