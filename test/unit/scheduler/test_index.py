"""ClusterIndex: node records and subnet usage follow the objects through real informers."""

import copy
import threading

from eni.api.v1 import NODE_ENI_CONFIG, VPC_ENI, VPC_IP, VPC_IP_CLAIM, VpcENIPhase
from eni.runtime.cache import DeletedFinalStateUnknown, InformerCache
from eni.runtime.meta import NODE, POD
from eni.runtime.testing import FakeListerWatcher
from eni.scheduler import ClusterIndex
from eni.scheduler.testing import DirectEniLayout, EniLayout, claim, kept_eni, nec, node, vip


def test_node_records_come_from_the_node_eni_configs(cluster):
    a1 = cluster.index.nodes["node-a1"]
    assert (a1.zone, a1.configured, a1.subnets, dict(a1.eni_free_slots)) == (
        "ap-guangzhou-3", True, frozenset({"subnet-a1"}), {"subnet-a1": 7})
    assert (a1.eni_count, a1.max_eni, a1.can_attach_eni) == (1, 3, True)
    assert not cluster.index.nodes["node-a2"].can_attach_eni
    x = cluster.index.nodes["node-x"]
    assert not x.configured and x.zone == "ap-guangzhou-4"


def test_subnet_usage_counts_enis_and_ips(cluster):
    usage = cluster.index.subnet_usage()
    # subnet-a1: 2 route ENIs + 3 exclusive ENIs + 1 detached kept ENI + 12 VpcIPs (11 on ENIs, one retained);
    # subnet-a2: 2 ENIs + 11 IPs
    assert (usage["subnet-a1"].used, usage["subnet-a1"].zone, usage["subnet-a1"].cidr) == (18, "ap-guangzhou-3",
                                                                                           "10.0.1.0/24")
    assert usage["subnet-a2"].used == 13 and usage["subnet-b1"].zone == "ap-guangzhou-4"


def test_a_vpc_ip_being_assigned_takes_its_eni_slot_before_the_nec_lists_it(cluster):
    new = vip("10.0.1.99", subnet_id="subnet-a1", eni_id="eni-a1", node_name="node-a1")
    index = cluster.index
    before = index.version
    # the NEC lists 2 IPs on eni-a1 and so do the VpcIPs; a third VpcIP makes 3 used of 9
    cluster.change(VPC_IP, new, action="create", until=lambda: index.nodes["node-a1"].eni_free_slots["subnet-a1"] == 6)
    assert index.version > before
    assert index.subnet_of_ip("10.0.1.99") == "subnet-a1"
    released = copy.deepcopy(new)
    released["status"]["phase"] = "Released"
    cluster.change(VPC_IP, released, until=lambda: index.nodes["node-a1"].eni_free_slots["subnet-a1"] == 7)
    assert index.subnet_of_ip("10.0.1.99") == ""


def test_a_vpc_ip_moving_between_nodes_updates_both(cluster):
    index = cluster.index
    moved = vip("10.0.1.10", subnet_id="subnet-a1", eni_id="eni-a2", node_name="node-a2")
    # eni-a2 is full by its NEC already; eni-a1 keeps 2 IPs by its NEC, so only the VpcIP count moves
    cluster.change(VPC_IP, moved, until=lambda: index.subnet_of_ip("10.0.1.10") == "subnet-a1"
                   and index._eni_vips["eni-a2"] == 10)
    assert index._eni_vips["eni-a1"] == 1
    assert index.nodes["node-a1"].eni_free_slots["subnet-a1"] == 7  # the NEC still lists 2


def test_deleting_a_nec_keeps_the_node_as_not_configured(cluster):
    index = cluster.index
    gone = nec("node-b1", zone="ap-guangzhou-4", subnets=["subnet-b1"])
    cluster.change(NODE_ENI_CONFIG, gone, action="remove", until=lambda: not index.nodes["node-b1"].configured)
    assert index.nodes["node-b1"].zone == "ap-guangzhou-4"  # from the Node label
    cluster.change(NODE, node("node-b1"), action="remove", until=lambda: "node-b1" not in index.nodes)


def test_claims_nominating_subnets_reserve_them_until_deleted(cluster):
    index = cluster.index
    nominating = claim("default", "db-0", nominated_subnets=["subnet-b1", "subnet-a2"])
    cluster.change(VPC_IP_CLAIM, nominating, action="create",
                   until=lambda: index.reserved_subnets == {"subnet-b1", "subnet-a2"})
    assert index.claim("default", "db-0").nominated_subnets == ("subnet-b1", "subnet-a2")
    cluster.change(VPC_IP_CLAIM, nominating, action="remove", until=lambda: index.reserved_subnets == frozenset())
    assert index.claim("default", "db-0") is None


def test_tombstones_and_garbage_never_break_the_index():
    index = ClusterIndex()
    index.upsert_nec(nec("n1", zone="z", subnets=["subnet-a"],
                         enis=[EniLayout("eni-1", "subnet-a", "10.0.0.0/24", ["10.0.0.9"])]))
    garbage = {"metadata": {"name": "n2"}, "spec": {"zone": 7, "subnetIds": "subnet-a", "maxENI": "3"},
               "status": {"enis": [None, {"eniId": 5, "ips": "many"}]}}
    index.upsert_nec(garbage)
    assert index.nodes["n2"].configured and index.nodes["n2"].max_eni == 0
    index.upsert_vip({"metadata": {"name": "10.0.0.9"}, "spec": "nonsense"})
    index.upsert_claim({"metadata": {"namespace": "d", "name": "c"}, "spec": {"nominatedSubnetIds": [1, None]}})
    assert index.reserved_subnets == frozenset()
    index.remove_nec(DeletedFinalStateUnknown(key="n1", obj=nec("n1", zone="z", subnets=[])).obj)
    assert "n1" not in index.nodes
    assert "subnet-a" not in index.subnet_usage()


def test_a_malformed_object_through_the_informer_reads_as_absent(cluster):
    index = cluster.index
    cluster.sources[VPC_IP].create({"metadata": {"name": "10.0.1.200"}, "spec": {"subnetId": ["x"]}})
    later = vip("10.0.1.201", subnet_id="subnet-a1", eni_id="eni-a1", node_name="node-a1")
    cluster.change(VPC_IP, later, action="create", until=lambda: index.subnet_of_ip("10.0.1.201") == "subnet-a1")
    assert index.subnet_of_ip("10.0.1.200") == ""


def test_exclusive_enis_come_from_the_nec_with_the_agents_in_use_list(cluster):
    index = cluster.index
    a1, a2, b1 = index.nodes["node-a1"], index.nodes["node-a2"], index.nodes["node-b1"]
    assert (dict(a1.free_direct_enis), a1.direct_eni_count, a1.max_direct_eni) == ({"subnet-a1": 1}, 1, 2)
    # one held by a pod, one reserved for default/static-0: neither is warm
    assert (dict(a2.free_direct_enis), a2.direct_eni_count, a2.can_attach_direct_eni) == ({}, 2, False)
    assert (b1.direct_eni_count, b1.can_attach_direct_eni) == (0, True)
    assert index.eni_nodes("default", "static-0") == {"node-a2"}
    assert index.eni_nodes("default", "other") == frozenset()
    # the agent takes the warm ENI of node-a1 for a pod, then ipamd starts releasing it
    taken = nec("node-a1", zone="ap-guangzhou-3", subnets=["subnet-a1"], max_direct_eni=2,
                enis=[EniLayout("eni-a1", "subnet-a1", "10.0.1.0/24", ["10.0.1.10", "10.0.1.11"])],
                direct=[DirectEniLayout("eni-da1", "subnet-a1", "10.0.1.0/24", in_use=True)])
    cluster.change(NODE_ENI_CONFIG, taken, until=lambda: not index.nodes["node-a1"].free_direct_enis)
    releasing = nec("node-a1", zone="ap-guangzhou-3", subnets=["subnet-a1"], max_direct_eni=2,
                    enis=[EniLayout("eni-a1", "subnet-a1", "10.0.1.0/24", ["10.0.1.10", "10.0.1.11"])],
                    direct=[DirectEniLayout("eni-da1", "subnet-a1", "10.0.1.0/24", releasing=True),
                            DirectEniLayout("eni-da1b", "subnet-a1", "10.0.1.0/24", pod=("default", "static-0"))])
    cluster.change(NODE_ENI_CONFIG, releasing, until=lambda: index.nodes["node-a1"].direct_eni_count == 2)
    assert not index.nodes["node-a1"].free_direct_enis
    assert index.eni_nodes("default", "static-0") == {"node-a1", "node-a2"}
    cluster.change(NODE_ENI_CONFIG, releasing, action="remove",
                   until=lambda: not index.nodes["node-a1"].configured)
    assert index.eni_nodes("default", "static-0") == {"node-a2"}


def test_kept_enis_follow_their_vpc_enis(cluster):
    index = cluster.index
    assert index.kept_eni("default", "cache-0").subnet_id == "subnet-a1"
    used = index.subnet_usage()["subnet-a1"].used
    # ipamd re-attaches it: attached, its address counts through the node's NEC instead
    attaching = kept_eni("eni-kept", subnet_id="subnet-a1", pod=("default", "cache-0"), node_name="node-a1")
    cluster.change(VPC_ENI, attaching, until=lambda: index.kept_eni("default", "cache-0").node == "node-a1")
    assert index.subnet_usage()["subnet-a1"].used == used - 1
    deleting = kept_eni("eni-kept", subnet_id="subnet-a1", pod=("default", "cache-0"), phase=VpcENIPhase.DELETING)
    cluster.change(VPC_ENI, deleting, until=lambda: index.kept_eni("default", "cache-0") is None)
    # a route ENI's VpcENI, or one kept for nobody, is no kept ENI
    route = kept_eni("eni-r", subnet_id="subnet-a1", pod=("default", "x"))
    route["spec"]["type"] = "route"
    cluster.change(VPC_ENI, route, action="create", until=lambda: index.version > 0)
    assert index.kept_eni("default", "x") is None
    second = kept_eni("eni-b", subnet_id="subnet-b1", pod=("default", "two"))
    first = kept_eni("eni-a", subnet_id="subnet-a1", pod=("default", "two"))
    cluster.change(VPC_ENI, second, action="create", until=lambda: index.kept_eni("default", "two") is not None)
    cluster.change(VPC_ENI, first, action="create",
                   until=lambda: index.kept_eni("default", "two").eni_id == "eni-a")
    cluster.change(VPC_ENI, first, action="remove", until=lambda: index.kept_eni("default", "two").eni_id == "eni-b")


def test_garbage_in_exclusive_eni_fields_reads_as_absent():
    index = ClusterIndex()
    index.upsert_nec({"metadata": {"name": "n"}, "spec": {"maxDirectENI": "2"},
                      "status": {"enis": [{"type": "direct"}, {"type": "direct", "eniId": "eni-1", "pod": "p",
                                                               "state": 5}],
                                 "agent": {"inUseENIs": "eni-1"}}})
    record = index.nodes["n"]
    # attached, so it takes a slot; without a subnet it serves no pod
    assert (record.max_direct_eni, record.direct_eni_count, dict(record.free_direct_enis)) == (0, 1, {})
    index.upsert_veni({"metadata": {"name": "eni-9"}, "spec": {"type": "direct", "ownerPod": "p", "subnetId": 4}})
    index.upsert_veni({"metadata": {"name": "eni-8"}, "spec": []})
    assert index.kept_eni("default", "p") is None
    index.remove_veni({"metadata": {"name": "eni-unknown"}})


def test_without_pods_the_index_never_asks_for_a_pod_informer(wait_until):
    """Pods' nominations matter only under --only-nominated-eni-subnets; without it the cluster's pods are not held."""
    asked = []
    sources = {kind: FakeListerWatcher([]) for kind in (NODE, NODE_ENI_CONFIG, VPC_IP, VPC_IP_CLAIM, VPC_ENI)}

    def source(kind, _selector):
        asked.append(kind)
        return sources[kind]

    cache = InformerCache(source)
    index = ClusterIndex()
    index.watch(cache, pods=False)
    stop = threading.Event()
    thread = threading.Thread(target=cache.start, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(index.has_synced, message="the index did not sync")
        assert POD not in asked and set(asked) == set(sources)
    finally:
        stop.set()
        thread.join(timeout=10)
