"""Exclusive ENIs through AgentService: the kind is chosen at ADD, the ENI moves into the pod and back, CHECK
compares, DEL is idempotent, the ledger never gives one ENI twice, Releasing ENIs stay home, recovery and GC."""

import datetime
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from eni.agent.checkpoint import JsonFileCheckpointer
from eni.agent.directledger import DirectLedger
from eni.agent.directpool import parse_direct_pool
from eni.agent.directservice import DirectEniService
from eni.agent.errors import (
    CheckFailedError,
    DirectEniPendingError,
    InvalidRequestError,
    NetworkSetupError,
    PodUnknownError,
    PoolExhaustedError,
)
from eni.agent.gc import IpGarbageCollector
from eni.agent.handlers import error_info
from eni.agent.ledger import AttachmentKey, Ledger
from eni.agent.netchoice import PodLookupError
from eni.agent.nodesync import NodeSync
from eni.agent.podnet import FakePodNetworker
from eni.agent.pool import PodRef, parse_pool
from eni.agent.service import AgentService, PodRequest, ServiceSettings
from eni.netlink.errors import NetlinkError
from eni.netlink.fake import MAIN_TABLE, FakeNetwork, FakeRoute
from eni.netlink.types import DirectEniSpec

NETWORKS = "tke.cloud.tencent.com/networks"
WEB = PodRef("default", "web", "uid-1")


def mac(n):
    return f"02:00:00:00:0d:{n:02x}"


def direct(eni_id, n, *, state="Bound", pod=None):
    raw = {"eniId": eni_id, "mac": mac(n), "primaryIP": f"10.0.5.{n}", "subnetCIDR": "10.0.5.0/24",
           "gateway": "10.0.5.1", "type": "direct", "state": state}
    if pod is not None:
        raw["pod"] = pod
    return raw


class Node:
    def __init__(self, tmp_path, status_of, clock, *, static=False, capacity=3, wait=0.0):
        self.net = FakeNetwork()
        self.net.add_eni("02:00:00:00:00:0a", ifname="eth1")
        for n in (7, 8, 9):
            self.net.add_eni(mac(n), ifname=f"eth{n}")
        self.annotations = {}
        self.lookups = 0  # fetches (GETs)
        self.asked = 0  # any look at the pod, cached or fetched
        self.lookup_error = None
        self.direct = DirectEniService(DirectLedger(JsonFileCheckpointer.at(tmp_path / "direct.json"), clock=clock),
                                       self.net, static=static)
        self.service = AgentService(Ledger(JsonFileCheckpointer.at(tmp_path / "ledger.json"), clock=clock),
                                    FakePodNetworker(), direct=self.direct, pod_lookup=self.lookup,
                                    settings=ServiceSettings(static_ip_wait=wait))
        self.shared = status_of.eni("eni-a", "02:00:00:00:00:0a", "10.0.1.10", "10.0.1.0/24", "10.0.1.1",
                                    [("10.0.1.20", "Bound"), ("10.0.1.21", "Bound")])
        self.capacity = capacity
        self.sync = NodeSync(self.service, self.net, spec=lambda: {"maxDirectENI": self.capacity},
                             now=lambda: datetime.datetime(2026, 11, 28, 7, tzinfo=datetime.timezone.utc))

    def lookup(self, pod, *, fetch=True):
        """The informer cache is ``annotations``; a fetch (the GET) may fail with ``lookup_error``."""
        self.asked += 1
        found = self.annotations.get((pod.namespace, pod.name))
        if found is not None or not fetch:
            return found
        self.lookups += 1
        if self.lookup_error is not None:
            raise self.lookup_error
        return None

    def publish(self, *direct_enis):
        status = {"enis": [self.shared, *direct_enis]}
        self.service.update_pool(parse_pool(status), {"02:00:00:00:00:0a": 2003})
        self.direct.refresh(parse_direct_pool(status), capacity=self.capacity)
        return status

    def pod_ns(self, name):
        self.net.add_namespace(f"/run/netns/{name}")
        return f"/run/netns/{name}"

    def request(self, container, *, network="tke-eni", pod=WEB, netns=None):
        return PodRequest(key=AttachmentKey(network, container, "eth0"), pod=pod,
                          netns=netns if netns is not None else self.pod_ns(container))


@pytest.fixture
def node(tmp_path, status_of, clock):
    return Node(tmp_path, status_of, clock)


def test_the_direct_network_name_moves_a_whole_eni_into_the_pod_and_del_brings_it_back(node):
    node.publish(direct("eni-d1", 7), direct("eni-d2", 8))
    request = node.request("c1", network="tke-direct-eni")

    result = node.service.add(request)

    assert result.allocation.eni_id == "eni-d1" and result.address == IPv4Interface("10.0.5.7/24")
    assert result.gateway == IPv4Address("10.0.5.1") and result.interfaces.container_mac == mac(7)
    assert result.interfaces.host_ifname == ""
    pod = node.net.namespaces[request.netns]
    assert pod.links["eth0"].mac == mac(7) and pod.links["eth0"].up
    assert "eth7" not in node.net.node.links and node.asked == 0
    assert node.service.add(request).allocation == result.allocation  # the runtime's retry: the same ENI
    assert node.service.check(request).eni_id == "eni-d1"

    assert node.service.delete(request).eni_id == "eni-d1"
    back = node.net.node.links["eth7"]
    assert back.mac == mac(7) and not back.up and not back.addresses and "eth0" not in pod.links
    assert node.service.delete(request) is None  # DEL twice
    assert node.direct.ledger.allocations() == []


def test_check_fails_after_the_pods_route_is_removed(node):
    node.publish(direct("eni-d1", 7))
    request = node.request("c1", network="tke-direct-eni")
    node.service.add(request)
    pod = node.net.namespaces[request.netns]
    pod.routes.discard(FakeRoute(MAIN_TABLE, IPv4Network("0.0.0.0/0"), "eth0", IPv4Address("10.0.5.1")))
    with pytest.raises(CheckFailedError, match="default route via 10.0.5.1 dev eth0 missing"):
        node.service.check(request)


def test_the_pod_annotation_decides_when_the_network_name_does_not(node):
    node.publish(direct("eni-d1", 7))
    node.annotations[("default", "web")] = {NETWORKS: "tke-direct-eni"}
    assert node.service.add(node.request("c1")).allocation.eni_id == "eni-d1"
    other = PodRef("default", "plain")
    node.annotations[("default", "plain")] = {NETWORKS: "tke-route-eni"}
    assert str(node.service.add(node.request("c2", pod=other)).allocation.ip) == "10.0.1.20"
    assert str(node.service.add(node.request("c3", pod=PodRef("default", "unknown"))).allocation.ip) == "10.0.1.21"
    # DEL and CHECK follow the ledger that knows the key, without asking for the pod again
    asked = node.asked
    node.service.delete(node.request("c1", netns="/run/netns/c1"))
    node.service.delete(node.request("c2", pod=other, netns="/run/netns/c2"))
    assert node.asked == asked and node.direct.ledger.allocations() == [] and node.service.ledger.allocations()


def test_an_unreachable_api_server_means_try_again_later_and_a_bad_annotation_is_refused(node):
    node.publish(direct("eni-d1", 7))
    node.lookup_error = PodLookupError("connection refused")
    with pytest.raises(PodUnknownError) as caught:
        node.service.add(node.request("c1"))
    assert error_info(caught.value).cni_code == 11 and "connection refused" in str(caught.value)
    node.lookup_error = None
    node.annotations[("default", "web")] = {NETWORKS: "tke-fancy"}
    with pytest.raises(InvalidRequestError, match="networks"):
        node.service.add(node.request("c2"))
    assert node.direct.ledger.allocations() == [] and node.service.ledger.allocations() == []


def test_a_node_without_exclusive_enis_never_fetches_the_pod(tmp_path, status_of, clock):
    node = Node(tmp_path, status_of, clock, capacity=0)
    node.publish()
    node.lookup_error = PodLookupError("must not be asked")
    assert str(node.service.add(node.request("c1")).allocation.ip) == "10.0.1.20"
    assert node.lookups == 0
    node.annotations[("default", "cached")] = {NETWORKS: "tke-direct-eni"}  # never a shared IP for it
    with pytest.raises(PoolExhaustedError, match="no exclusive ENI free yet: 0 attached"):
        node.service.add(node.request("c2", pod=PodRef("default", "cached")))


def test_releasing_and_busy_enis_are_not_handed_out_and_the_reason_says_why(node):
    node.publish(direct("eni-d1", 7, state="Releasing"), direct("eni-d2", 8))
    assert node.service.add(node.request("c1", network="tke-direct-eni")).allocation.eni_id == "eni-d2"
    with pytest.raises(PoolExhaustedError) as caught:
        node.service.add(node.request("c2", network="tke-direct-eni"))
    assert error_info(caught.value).cni_code == 11
    assert str(caught.value) == ("no exclusive ENI free yet: 2 attached to this node, 1 in use, 1 being released, "
                                 "0 not in the node's network namespace yet")


def test_the_report_lists_enis_in_use_and_promises_only_free_releasing_ones_at_home(node):
    node.publish(direct("eni-d1", 7), direct("eni-d2", 8))
    node.service.add(node.request("c1", network="tke-direct-eni"))
    node.service.add(node.request("c2", network="tke-direct-eni"))
    releasing = [direct("eni-d1", 7, state="Releasing"), direct("eni-d2", 8, state="Releasing")]
    status = {"enis": [node.shared, *releasing]}
    report = node.sync.sync(status)
    assert report.in_use_enis == ("eni-d1", "eni-d2") and report.released_enis == ()
    node.service.delete(node.request("c1", network="tke-direct-eni", netns="/run/netns/c1"))
    report = node.sync.sync(status)
    assert report.in_use_enis == ("eni-d2",) and report.released_enis == ("eni-d1",)
    assert report.to_json()["releasedENIs"] == ["eni-d1"]
    # promised: never handed out again, even if a pod asks right away
    with pytest.raises(PoolExhaustedError):
        node.service.add(node.request("c3", network="tke-direct-eni"))


def test_direct_enis_get_no_route_table_rules_or_sysctls(node):
    node.sync.sync({"enis": [node.shared, direct("eni-d1", 7)]})
    tables = {r.table for r in node.net.node.rules}
    assert tables == {node.net.node.links["eth1"].index + 2000}
    assert not node.net.node.links["eth7"].addresses and not node.net.node.links["eth7"].up
    assert {r.oif for r in node.net.node.routes} == {"eth1"}
    assert node.net.node.sysctls["conf/eth7/rp_filter"] == "1"


def test_static_mode_gives_only_the_reserved_eni_and_waits_for_it(tmp_path, status_of, clock):
    node = Node(tmp_path, status_of, clock, static=True)
    node.publish(direct("eni-d1", 7, pod={"namespace": "default", "name": "db"}))
    with pytest.raises(DirectEniPendingError, match="waiting for ipamd to attach the exclusive ENI of default/web"):
        node.service.add(node.request("c1", network="tke-direct-eni"))
    node.publish(direct("eni-d1", 7, pod={"namespace": "default", "name": "db"}),
                 direct("eni-d2", 8, pod={"namespace": "default", "name": "web", "uid": "uid-1"}))
    assert node.service.add(node.request("c2", network="tke-direct-eni")).allocation.eni_id == "eni-d2"


def test_in_static_mode_an_add_waits_for_the_nec_to_list_the_pods_eni(tmp_path, status_of, clock):
    import threading

    node = Node(tmp_path, status_of, clock, static=True, wait=5.0)
    node.sync.sync({"enis": [node.shared]})
    answers = []
    adding = threading.Thread(target=lambda: answers.append(node.service.add(node.request("c1",
                                                                                         network="tke-direct-eni"))))
    adding.start()
    adding.join(0.3)
    assert adding.is_alive()  # waiting for ipamd, not failed
    node.sync.sync({"enis": [node.shared, direct("eni-d1", 7, pod={"namespace": "default", "name": "web"})]})
    adding.join(10)
    assert answers and answers[0].allocation.eni_id == "eni-d1"


def test_a_broken_exclusive_eni_view_does_not_keep_shared_pods_from_their_ips(node):
    node.net.fail_next("node_links", NetlinkError("ip link show", 5))
    node.sync.sync({"enis": [node.shared, direct("eni-d1", 7)]})
    assert str(node.service.add(node.request("c1")).allocation.ip) == "10.0.1.20"


def test_a_failed_move_frees_the_record_and_leaves_the_eni_home(node):
    node.publish(direct("eni-d1", 7))
    node.net.fail_next("attach_direct", NetlinkError("ip link set", 16))
    with pytest.raises(NetworkSetupError, match="moving exclusive ENI eni-d1 into the pod failed"):
        node.service.add(node.request("c1", network="tke-direct-eni"))
    assert node.direct.ledger.allocations() == [] and "eth7" in node.net.node.links
    assert node.service.add(node.request("c2", network="tke-direct-eni")).allocation.eni_id == "eni-d1"


def test_a_stale_view_of_the_node_means_try_again_and_the_next_eni_is_tried(node):
    node.publish(direct("eni-d1", 7), direct("eni-d2", 8))
    node.net.node.delete_link("eth7")  # gone since the last look at the node's links
    with pytest.raises(PoolExhaustedError, match="eni-d1 is not in the node's network namespace") as caught:
        node.service.add(node.request("c1", network="tke-direct-eni"))
    assert error_info(caught.value).cni_code == 11 and node.direct.ledger.allocations() == []
    assert node.service.add(node.request("c2", network="tke-direct-eni")).allocation.eni_id == "eni-d2"


def test_a_failed_move_back_keeps_the_record_so_the_eni_is_not_given_twice(node):
    node.publish(direct("eni-d1", 7))
    request = node.request("c1", network="tke-direct-eni")
    node.service.add(request)
    node.net.fail_next("detach_direct", NetlinkError("ip link set netns", 16))
    with pytest.raises(NetworkSetupError):
        node.service.delete(request)
    assert node.direct.ledger.in_use() == {"eni-d1"}
    assert node.service.delete(request).eni_id == "eni-d1"


def test_del_after_the_namespace_is_gone_frees_the_record_and_the_eni_waits_to_be_home(node):
    node.publish(direct("eni-d1", 7))
    request = node.request("c1", network="tke-direct-eni")
    node.service.add(request)
    node.net.delete_namespace(request.netns)  # the fake's links die with it; a real NIC would come home later
    assert node.service.delete(PodRequest(key=request.key)).eni_id == "eni-d1"
    with pytest.raises(PoolExhaustedError, match="1 not in the node's network namespace yet"):
        node.service.add(node.request("c2", network="tke-direct-eni"))


def test_recovery_brings_back_a_free_eni_found_in_another_namespace(node):
    node.publish(direct("eni-d1", 7), direct("eni-d2", 8))
    stray = node.pod_ns("stray")
    node.net.attach_direct(DirectEniSpec(mac=mac(7), netns_path=stray, ifname="eth0",
                                         address=IPv4Interface("10.0.5.7/24"), gateway=IPv4Address("10.0.5.1")))
    held = node.request("c1", network="tke-direct-eni")
    node.publish(direct("eni-d1", 7), direct("eni-d2", 8))
    assert node.service.add(held).allocation.eni_id == "eni-d2"
    assert node.direct.recover() == 1
    assert node.net.node.links["eni-d1"].mac == mac(7)
    assert node.net.namespaces[held.netns].links["eth0"].mac == mac(8)  # the held one stays with its pod
    assert node.direct.recover() == 0


def test_gc_collects_a_direct_allocation_whose_pod_is_gone(node, clock):
    node.publish(direct("eni-d1", 7))
    request = node.request("c1", network="tke-direct-eni")
    node.service.add(request)
    live = [WEB]
    gc = IpGarbageCollector(node.service, node.net, lambda: live, grace=60, clock=clock)
    clock.step(120)
    assert gc.collect().released == ()
    live.clear()
    result = gc.collect()
    assert [a.eni_id for a in result.released] == ["eni-d1"] and "eth7" in node.net.node.links
