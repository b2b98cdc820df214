"""Pool maths over NodeENIConfig status: parsing, the fewest-ENIs choice, releasable IPs."""

from ipaddress import IPv4Address as A

import pytest

from eni.agent.pool import IpState, PoolStatusError, choose_ip, parse_pool, releasable_ips


def eni_status(eni_id, mac, primary, subnet, gateway, ips, *, kind="route"):
    return {"eniId": eni_id, "mac": mac, "primaryIP": primary, "subnetCIDR": subnet, "gateway": gateway,
            "type": kind, "ips": [{"ip": ip, "state": state} for ip, state in ips]}


def test_parse_reads_every_field(status_of):
    pool = parse_pool(status_of.two_enis())
    a = pool.enis[0]
    assert (a.eni_id, a.mac, str(a.primary_ip), str(a.subnet), str(a.gateway)) == (
        "eni-a", "02:00:00:00:00:0a", "10.0.1.10", "10.0.1.0/24", "10.0.1.1")
    assert a.ips[A("10.0.1.20")] is IpState.BOUND
    assert pool.eni_of(A("10.0.2.21")).eni_id == "eni-b"
    assert pool.state_of(A("10.9.9.9")) is None


@pytest.mark.parametrize("status", [None, {}, {"enis": []}, {"enis": None}])
def test_empty_status_is_an_empty_pool(status):
    assert parse_pool(status).enis == ()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s.update(enis="x"), "must be a list"),
        (lambda s: s["enis"].append(7), "must be an object"),
        (lambda s: s["enis"][0].pop("mac"), "lacks mac"),
        (lambda s: s["enis"][0].update(mac="02:00:00:00:00"), "invalid MAC"),
        (lambda s: s["enis"][0].update(primaryIP="10.0.1.300"), "enis\\[0\\]"),
        (lambda s: s["enis"][0].update(subnetCIDR="10.0.1.0/33"), "enis\\[0\\]"),
        (lambda s: s["enis"][0]["ips"].append({"ip": "10.0.9.9", "state": "Bound"}), "outside subnet"),
        (lambda s: s["enis"][0]["ips"].append({"ip": "10.0.1.99", "state": "Weird"}), "enis\\[0\\]"),
        (lambda s: s["enis"][1]["ips"].append({"state": "Bound"}), "with an ip"),
    ],
)
def test_bad_status_is_a_clear_error(mutate, message, status_of):
    status = status_of.two_enis()
    mutate(status)
    with pytest.raises(PoolStatusError, match=message):
        parse_pool(status)


def _pool(a_ips, b_ips, *, b_kind="route"):
    return parse_pool({"enis": [
        eni_status("eni-a", "02:00:00:00:00:0a", "10.0.1.10", "10.0.1.0/24", "10.0.1.1", a_ips),
        eni_status("eni-b", "02:00:00:00:00:0b", "10.0.2.10", "10.0.2.0/24", "10.0.2.1", b_ips, kind=b_kind),
    ]})


B = "Bound"
R = "Releasing"


@pytest.mark.parametrize(
    "a_ips, b_ips, in_use, unavailable, expected",
    [
        # nothing in use: the first ENI, lowest IP
        ([("10.0.1.21", B), ("10.0.1.20", B)], [("10.0.2.20", B)], [], [], "10.0.1.20"),
        # the ENI with more IPs in use wins even when listed second
        ([("10.0.1.20", B)], [("10.0.2.20", B), ("10.0.2.21", B)], ["10.0.2.20"], [], "10.0.2.21"),
        # full ENI is skipped
        ([("10.0.1.20", B)], [("10.0.2.20", B)], ["10.0.2.20"], [], "10.0.1.20"),
        # Releasing is never chosen
        ([("10.0.1.20", R)], [("10.0.2.20", B)], [], [], "10.0.2.20"),
        # unavailable (cooling/promised) is skipped
        ([("10.0.1.20", B), ("10.0.1.21", B)], [], [], ["10.0.1.20"], "10.0.1.21"),
        # the primary IP is never a pod IP even if listed
        ([("10.0.1.10", B)], [("10.0.2.20", B)], [], [], "10.0.2.20"),
        # nothing free
        ([("10.0.1.20", R)], [("10.0.2.20", B)], ["10.0.2.20"], [], None),
        # lowest by number, not by text
        ([("10.0.1.100", B), ("10.0.1.99", B)], [], [], [], "10.0.1.99"),
        # an in-use Releasing IP still counts towards its ENI being the fuller one
        ([("10.0.1.20", B)], [("10.0.2.20", R), ("10.0.2.21", B)], ["10.0.2.20"], [], "10.0.2.21"),
    ],
)
def test_choose_ip(a_ips, b_ips, in_use, unavailable, expected):
    pool = _pool(a_ips, b_ips)
    chosen = choose_ip(pool, in_use={A(i) for i in in_use}, unavailable={A(i) for i in unavailable})
    assert (None if chosen is None else str(chosen[1])) == expected
    if chosen is not None:
        assert chosen[1] in chosen[0].ips


def test_cooling_ips_are_skipped():
    pool = _pool([("10.0.1.20", B), ("10.0.1.21", B)], [])
    chosen = choose_ip(pool, in_use=set(), unavailable=set(), cooling={A("10.0.1.20")})
    assert chosen is not None and str(chosen[1]) == "10.0.1.21"


def test_pool_eni_keeps_its_candidates_lowest_first_without_primary_or_releasing():
    eni = _pool([("10.0.1.30", B), ("10.0.1.10", B), ("10.0.1.21", R), ("10.0.1.9", B)], []).enis[0]
    assert [str(ip) for _, ip in eni.candidates] == ["10.0.1.9", "10.0.1.30"]
    assert all(n == int(ip) for n, ip in eni.candidates)
    assert eni.ip_ints == {int(ip) for ip in eni.ips}
    assert eni == _pool([("10.0.1.30", B), ("10.0.1.10", B), ("10.0.1.21", R), ("10.0.1.9", B)], []).enis[0]


def test_direct_enis_are_never_shared():
    pool = _pool([], [("10.0.2.20", B)], b_kind="direct")
    assert choose_ip(pool, in_use=set(), unavailable=set()) is None


def test_releasable_ips_are_free_releasing_ips_not_held():
    pool = _pool([("10.0.1.20", R), ("10.0.1.21", R), ("10.0.1.22", R), ("10.0.1.23", B)], [])
    got = releasable_ips(pool, in_use={A("10.0.1.20")}, held=[A("10.0.1.21")])
    assert got == {A("10.0.1.22")}
