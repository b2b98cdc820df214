"""The leaked-resource GC in static-IP mode: a secondary IP assigned in the cloud on one of ipamd's ENIs
that no VpcIP records (an assign whose outcome was lost) is unassigned once it stayed so for the grace
period; claimed IPs are never touched, and a pending assign intent on the node holds collection off
until the next pass has recorded the IPs it replays."""

from __future__ import annotations

from eni.cloud.errors import Throttled
from eni.cloud.types import EniId
from eni.controllers.nec.intents import ANNOTATION_PENDING_ASSIGN

GRACE = 60.0


def test_an_unrecorded_ip_on_a_static_nodes_eni_is_unassigned_after_the_grace_period(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    for name in ("a", "b"):
        cluster.add_pod(name, "node-1")
    cluster.converge()
    claimed = {cluster.held_ip("a"), cluster.held_ip("b")}
    assert claimed == cluster.cloud_ips() and None not in claimed
    (eni,) = cluster.nodes_nec("node-1").status.enis
    lost = {ip.address for ip in cluster.nodes._vpc.assign_private_ips(EniId(eni.eni_id), intent="lost/1", count=2)}
    gc = cluster.collector(grace=GRACE)
    first = gc.collect_once()
    assert first.unassigned_ips == ()  # only noted: it may be an assign whose record is on its way
    cluster.clock.step(GRACE + 1)
    second = gc.collect_once()
    assert set(second.unassigned_ips) == lost
    assert cluster.cloud_ips() == claimed == set(cluster.vpc_ips())
    cluster.converge()
    assert {cluster.held_ip("a"), cluster.held_ip("b")} == claimed
    assert cluster.violations == []


def test_a_pending_assign_intent_holds_the_gc_off_until_the_next_pass_records_its_ips(make_cluster):
    cluster = make_cluster()
    cluster.add_node("node-1")
    cluster.passes(2)
    cluster.lose_replies("assign_private_ips", Throttled("RequestLimitExceeded", "lost"), times=1)
    cluster.add_pod("a", "node-1")
    errors = cluster.passes(1)
    assert errors and ANNOTATION_PENDING_ASSIGN in (cluster.nodes_nec("node-1").metadata.annotations or {})
    unrecorded = cluster.cloud_ips() - set(cluster.vpc_ips())
    assert len(unrecorded) == 1  # assigned in the cloud, its reply lost
    gc = cluster.collector(grace=GRACE)
    gc.collect_once()
    cluster.clock.step(GRACE + 1)
    assert gc.collect_once().unassigned_ips == ()  # the intent says a replay will record it
    cluster.passes(1)
    assert unrecorded <= set(cluster.vpc_ips())  # the replay found and recorded it
    cluster.passes(4)
    assert cluster.cloud_ips() == set(cluster.vpc_ips())  # no claim took it: released through the handshake
    assert cluster.held_ip("a")
    assert cluster.violations == []
