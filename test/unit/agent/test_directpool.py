"""Direct-ENI pool maths: parsing ipamd's status, which ENI a pod may get, why none, what may be promised back."""

import pytest

from eni.agent.directpool import choose_direct_eni, direct_wait_reason, parse_direct_pool, releasable_enis
from eni.agent.pool import PodRef, PoolStatusError

WEB = PodRef("default", "web", "uid-1")


def mac(n):
    return f"02:00:00:00:0d:{n:02x}"


def direct(eni_id, n, *, state="Bound", pod=None):
    """An exclusive ENI as ipamd lists it: MAC 02:00:00:00:0d:<n>, primary IP 10.0.5.<n> in 10.0.5.0/24."""
    raw = {"eniId": eni_id, "mac": mac(n), "primaryIP": f"10.0.5.{n}", "subnetCIDR": "10.0.5.0/24",
           "gateway": "10.0.5.1", "type": "direct", "state": state}
    if pod is not None:
        raw["pod"] = pod
    return raw


def test_only_direct_enis_are_parsed_with_their_state_and_pod(status_of):
    status = {"enis": [status_of.eni("eni-r", "02:00:00:00:00:0a", "10.0.1.10", "10.0.1.0/24", "10.0.1.1", []),
                       direct("eni-d1", 7, state="Releasing"),
                       direct("eni-d2", 8, pod={"namespace": "default", "name": "web", "uid": "uid-1"})]}
    pool = parse_direct_pool(status)
    assert [e.eni_id for e in pool.enis] == ["eni-d1", "eni-d2"]
    assert pool.enis[0].releasing and not pool.enis[1].releasing
    assert pool.enis[1].pod == WEB and pool.reserved
    assert str(pool.enis[0].address) == "10.0.5.7/24"


@pytest.mark.parametrize("change, problem", [
    ({"state": "Gone"}, "state must be Bound or Releasing"),
    ({"mac": "nope"}, "invalid MAC"),
    ({"gateway": "10.9.9.9"}, "must be distinct addresses"),
    ({"pod": {"name": "x"}}, "pod must be an object"),
    ({"subnetCIDR": "10.0.5.0/31", "primaryIP": "10.0.5.0", "gateway": "10.0.5.1"}, "too small"),
])
def test_bad_direct_enis_are_refused_with_a_reason(change, problem):
    raw = {**direct("eni-d1", 7), **change}
    with pytest.raises(PoolStatusError, match=problem):
        parse_direct_pool({"enis": [raw]})


def test_missing_fields_and_a_bad_list_are_refused():
    raw = direct("eni-d1", 7)
    del raw["gateway"]
    with pytest.raises(PoolStatusError, match="lacks gateway"):
        parse_direct_pool({"enis": [raw]})
    with pytest.raises(PoolStatusError):
        parse_direct_pool({"enis": "x"})


def test_non_static_gives_the_first_free_bound_eni_present_on_the_node():
    pool = parse_direct_pool({"enis": [direct("eni-d1", 7, state="Releasing"), direct("eni-d2", 8),
                                       direct("eni-d3", 9), direct("eni-d4", 10)]})
    choose = dict(pod=WEB, static=False, unavailable=set())
    assert choose_direct_eni(pool, in_use=set(), present={mac(7), mac(8), mac(9)}, **choose).eni_id == "eni-d2"
    assert choose_direct_eni(pool, in_use={"eni-d2"}, present={mac(7), mac(8), mac(9)}, **choose).eni_id == "eni-d3"
    assert choose_direct_eni(pool, in_use={"eni-d2"}, present={mac(7), mac(8)}, **choose) is None
    assert choose_direct_eni(pool, in_use=set(), present={mac(9)}, pod=WEB, static=False,
                             unavailable={"eni-d3"}) is None


def test_static_gives_only_the_eni_reserved_for_the_pod():
    pool = parse_direct_pool({"enis": [direct("eni-d1", 7, pod={"namespace": "default", "name": "db"}),
                                       direct("eni-d2", 8, pod={"namespace": "default", "name": "web"})]})
    present = {mac(7), mac(8)}
    assert choose_direct_eni(pool, pod=WEB, static=True, in_use=set(), unavailable=set(),
                             present=present).eni_id == "eni-d2"
    assert choose_direct_eni(pool, pod=PodRef("default", "other"), static=True, in_use=set(), unavailable=set(),
                             present=present) is None
    free = parse_direct_pool({"enis": [direct("eni-d3", 9)]})
    assert choose_direct_eni(free, pod=WEB, static=True, in_use=set(), unavailable=set(), present={mac(9)}) is None


def test_wait_reasons_name_what_is_missing():
    pool = parse_direct_pool({"enis": [direct("eni-d2", 8, pod={"namespace": "default", "name": "web"})]})
    args = dict(static=True, unavailable=set())
    assert "not in the node's network namespace yet" in direct_wait_reason(pool, WEB, in_use=set(), present=set(),
                                                                           **args)
    assert "still held by an earlier sandbox" in direct_wait_reason(pool, WEB, in_use={"eni-d2"}, present=set(),
                                                                    **args)
    assert direct_wait_reason(pool, PodRef("default", "db"), in_use=set(), present=set(), **args) == \
        "waiting for ipamd to attach the exclusive ENI of default/db"
    assert "K8S_POD_NAME" in direct_wait_reason(pool, PodRef(), in_use=set(), present=set(), **args)
    shared = parse_direct_pool({"enis": [direct("eni-d1", 7), direct("eni-d2", 8, state="Releasing")]})
    assert direct_wait_reason(shared, WEB, static=False, in_use={"eni-d1"}, unavailable=set(), present=set()) == (
        "no exclusive ENI free yet: 2 attached to this node, 1 in use, 1 being released, "
        "0 not in the node's network namespace yet")


def test_releasable_enis_are_releasing_free_and_home():
    pool = parse_direct_pool({"enis": [direct("eni-d1", 7, state="Releasing"), direct("eni-d2", 8, state="Releasing"),
                                       direct("eni-d3", 9, state="Releasing"), direct("eni-d4", 10)]})
    assert releasable_enis(pool, in_use={"eni-d2"}, present={mac(7), mac(8), mac(10)}) == {"eni-d1"}
