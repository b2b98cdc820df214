"""Subnets that pods nominate: counted per owner (claims and pods), read from pods of either kind, and followed
by the index through real informers."""

import copy

from eni.api.v1 import VPC_IP_CLAIM
from eni.runtime.cache import DeletedFinalStateUnknown
from eni.runtime.meta import POD
from eni.scheduler import ClusterIndex
from eni.scheduler.nominations import Nominations
from eni.scheduler.podneeds import own_nominations
from eni.scheduler.testing import claim, pod

NOMINATED = "tke.cloud.tencent.com/nominated-eni-subnets"


def test_a_subnet_stays_reserved_while_any_owner_nominates_it():
    nominations = Nominations()
    assert nominations.set("a", ["subnet-1", "subnet-2"]) and nominations.reserved == {"subnet-1", "subnet-2"}
    assert not nominations.set("b", ["subnet-1"])  # already reserved: the union did not change
    assert nominations.set("a", ["subnet-3"]) and nominations.reserved == {"subnet-1", "subnet-3"}
    assert not nominations.set("a", ["subnet-3"])
    assert nominations.set("b", ()) and nominations.reserved == {"subnet-3"}
    assert nominations.nominates("a") and not nominations.nominates("b")
    assert nominations.set("a", []) and nominations.reserved == frozenset() and not nominations.nominates("a")
    assert not nominations.set("never-seen", ())


def test_live_pods_of_either_kind_nominate_their_own_subnets():
    assert own_nominations(pod("db", direct=True, nominated_subnets=["subnet-b", "subnet-a"])) == ("subnet-b",
                                                                                                    "subnet-a")
    assert own_nominations(pod("app", nominated_subnets=["subnet-a"])) == ("subnet-a",)
    # the networks annotation alone makes a pod the extender's
    by_note = pod("note", eni_ip=False, annotations={"tke.cloud.tencent.com/networks": "tke-direct-eni",
                                                      NOMINATED: "subnet-c"})
    assert own_nominations(by_note) == ("subnet-c",)


def test_pods_that_can_hold_nothing_nominate_nothing():
    assert own_nominations(pod("plain", eni_ip=False, annotations={NOMINATED: "subnet-a"})) == ()
    assert own_nominations(pod("none", direct=True)) == ()
    finished = pod("done", direct=True, nominated_subnets=["subnet-a"])
    for phase in ("Succeeded", "Failed"):
        finished["status"] = {"phase": phase}
        assert own_nominations(finished) == ()
    finished["status"] = {"phase": "Running"}
    assert own_nominations(finished) == ("subnet-a",)
    host = pod("host", direct=True, nominated_subnets=["subnet-a"])
    host["spec"]["hostNetwork"] = True
    assert own_nominations(host) == ()
    assert own_nominations(pod("bad", direct=True, annotations={NOMINATED: "subnet-a,,"})) == ()
    assert own_nominations(pod("odd", direct=True, annotations={NOMINATED: 7})) == ()  # type: ignore[dict-item]
    assert own_nominations({"metadata": "junk"}) == () and own_nominations({}) == ()


def test_the_index_reserves_what_pods_and_claims_nominate(cluster):
    index = cluster.index
    db = pod("db-0", direct=True, nominated_subnets=["subnet-b1"])
    cluster.change(POD, db, action="create", until=lambda: index.reserved_subnets == {"subnet-b1"})
    assert "subnet-b1" in index.subnet_usage()
    # a claim nominating the same subnet keeps it reserved after the pod has gone
    nominating = claim("default", "app-0", nominated_subnets=["subnet-b1"])
    cluster.change(VPC_IP_CLAIM, nominating, action="create", until=lambda: index.claim("default", "app-0"))
    cluster.change(POD, db, action="remove", until=lambda: not index._nominations.nominates(("pod", "default",
                                                                                               "db-0")))
    assert index.reserved_subnets == {"subnet-b1"}
    cluster.change(VPC_IP_CLAIM, nominating, action="remove", until=lambda: index.reserved_subnets == frozenset())


def test_a_pod_changing_or_finishing_updates_the_reservation(cluster):
    index = cluster.index
    db = pod("db-0", direct=True, nominated_subnets=["subnet-b1"])
    cluster.change(POD, db, action="create", until=lambda: index.reserved_subnets == {"subnet-b1"})
    moved = copy.deepcopy(db)
    moved["metadata"]["annotations"][NOMINATED] = "subnet-a1"
    cluster.change(POD, moved, until=lambda: index.reserved_subnets == {"subnet-a1"})
    done = copy.deepcopy(moved)
    done["status"] = {"phase": "Succeeded"}
    version = index.version
    cluster.change(POD, done, until=lambda: index.reserved_subnets == frozenset())
    assert index.version > version  # readers that cache by version see the change


def test_pod_events_that_change_nothing_take_no_lock_and_bump_no_version():
    index = ClusterIndex()
    version = index.version
    for i in range(100):
        index.upsert_pod(pod(f"p{i}"))
        index.remove_pod(pod(f"p{i}"))
    assert index.version == version and index.reserved_subnets == frozenset()
    index.upsert_pod(pod("db", direct=True, nominated_subnets=["subnet-x"]))
    assert index.reserved_subnets == {"subnet-x"} and index.version == version + 1
    index.upsert_pod(pod("db", direct=True, nominated_subnets=["subnet-x"]))
    assert index.version == version + 1
    # a deletion seen only through a tombstone still forgets the pod
    tombstone = DeletedFinalStateUnknown(key="default/db", obj=pod("db", direct=True, nominated_subnets=["subnet-x"]))
    index.remove_pod(tombstone.obj)
    assert index.reserved_subnets == frozenset()
    for garbage in ({"metadata": "junk"}, {}, {"metadata": {"annotations": {NOMINATED: ["subnet-x"]}}}):
        index.upsert_pod(garbage)
        index.remove_pod(garbage)
    assert index.reserved_subnets == frozenset()
