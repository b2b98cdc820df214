"""Fixtures of the extender's unit tests: a small two-zone cluster fed to a real ClusterIndex through real
informers over in-memory lister-watchers, and the Extender over it.

The cluster (``SCENARIO``):
- zone ap-guangzhou-3: subnet-a1 10.0.1.0/24 and subnet-a2 10.0.2.0/28 (13 usable addresses, all taken);
- zone ap-guangzhou-4: subnet-b1 10.1.1.0/24;
- node-a1: an ENI in subnet-a1 with 2 of 9 IPs used -> fits on its ENI (score 10);
- node-a2: its only allowed ENI, in subnet-a1, is full -> ENILimitExceed;
- node-a3: a full ENI in subnet-a2, room for two more ENIs, but subnet-a2 is exhausted -> InsufficientIPorENI
  for ordinary pods; a pod retaining an IP of subnet-a1 fits through a new ENI (score 5);
- node-a4: 2 IPs in subnet-a2 and subnet-a2 exhausted; allowed subnet-a2 only;
- node-b1: an ENI in subnet-b1 with room -> fits (score 10);
- node-x: a Node without a NodeENIConfig -> unresolvable.
Exclusive ENIs (direct-ENI pods), all in subnet-a1:
- node-a1: a warm exclusive ENI (Bound, held by no pod), 1 of 2 attached -> fits on it (score 10);
- node-a2: 2 of 2 attached, one held by a pod, one reserved for default/static-0 -> ENILimitExceed, except
  for static-0, which it serves (score 10);
- node-a3: 0 of 2 attached, but its only subnet (subnet-a2) is exhausted -> InsufficientIPorENI;
- node-a4: may attach none (maxDirectENI 0) -> unresolvable ENILimitExceed;
- node-b1: 0 of 2 attached, room in subnet-b1 -> fits through a new ENI (score 5);
- a VpcENI eni-kept, detached, kept in subnet-a1 for default/cache-0 -> cache-0 only fits in zone
  ap-guangzhou-3, on a node with room.
No pods are listed at first (a pod matters to the index only while it nominates subnets).
"""

import threading
import time

import pytest

from eni.api.v1 import NODE_ENI_CONFIG, VPC_ENI, VPC_IP, VPC_IP_CLAIM
from eni.runtime.cache import InformerCache
from eni.runtime.meta import NODE, POD
from eni.runtime.testing import FakeListerWatcher
from eni.scheduler import ClusterIndex, ClusterSubnets, Extender
from eni.scheduler.testing import DirectEniLayout, EniLayout, claim, kept_eni, nec, node, vip

ZONE_A, ZONE_B = "ap-guangzhou-3", "ap-guangzhou-4"
A1, A2, B1 = "10.0.1.0/24", "10.0.2.0/28", "10.1.1.0/24"


def ips(cidr_prefix, first, count):
    return [f"{cidr_prefix}.{first + i}" for i in range(count)]


def scenario():
    """(nodes, necs, vips, claims, venis) of the cluster described in the module docstring."""
    a1_ips, a2_ips, b1_ips = ips("10.0.1", 10, 2), ips("10.0.1", 20, 9), ips("10.1.1", 10, 3)
    a3_ips, a4_ips = ips("10.0.2", 4, 9), ips("10.0.2", 13, 2)  # with the two ENIs: all 13 of subnet-a2
    necs = [
        nec("node-a1", zone=ZONE_A, subnets=["subnet-a1"], enis=[EniLayout("eni-a1", "subnet-a1", A1, a1_ips)],
            max_direct_eni=2, direct=[DirectEniLayout("eni-da1", "subnet-a1", A1)]),
        nec("node-a2", zone=ZONE_A, subnets=["subnet-a1"], max_eni=1,
            enis=[EniLayout("eni-a2", "subnet-a1", A1, a2_ips)], max_direct_eni=2,
            direct=[DirectEniLayout("eni-da2", "subnet-a1", A1, in_use=True),
                    DirectEniLayout("eni-da2r", "subnet-a1", A1, pod=("default", "static-0"))]),
        nec("node-a3", zone=ZONE_A, subnets=["subnet-a2"], enis=[EniLayout("eni-a3", "subnet-a2", A2, a3_ips)],
            max_direct_eni=2),
        nec("node-a4", zone=ZONE_A, subnets=["subnet-a2"], max_eni=2,
            enis=[EniLayout("eni-a4", "subnet-a2", A2, a4_ips)]),
        nec("node-b1", zone=ZONE_B, subnets=["subnet-b1"], enis=[EniLayout("eni-b1", "subnet-b1", B1, b1_ips)],
            max_direct_eni=2),
    ]
    nodes = [node(name, zone=zone) for name, zone in (("node-a1", ZONE_A), ("node-a2", ZONE_A), ("node-a3", ZONE_A),
                                                       ("node-a4", ZONE_A), ("node-b1", ZONE_B), ("node-x", ZONE_B))]
    vips = [vip(ip, subnet_id="subnet-a1", eni_id="eni-a1", node_name="node-a1") for ip in a1_ips]
    vips += [vip(ip, subnet_id="subnet-a1", eni_id="eni-a2", node_name="node-a2") for ip in a2_ips]
    vips += [vip(ip, subnet_id="subnet-a2", eni_id="eni-a3", node_name="node-a3") for ip in a3_ips]
    vips += [vip(ip, subnet_id="subnet-a2", eni_id="eni-a4", node_name="node-a4") for ip in a4_ips]
    vips += [vip(ip, subnet_id="subnet-b1", eni_id="eni-b1", node_name="node-b1") for ip in b1_ips]
    vips.append(vip("10.0.1.50", subnet_id="subnet-a1"))  # retained by default/web-0, on no ENI now
    claims = [claim("default", "web-0", ip="10.0.1.50", subnet_id="subnet-a1")]
    venis = [kept_eni("eni-kept", subnet_id="subnet-a1", pod=("default", "cache-0"))]
    return nodes, necs, vips, claims, venis


def eventually(predicate, timeout=5.0, message="condition not reached"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(message)


class Cluster:
    """The scenario behind real informers; ``sources[kind]`` changes objects, ``settle()`` waits for the index."""

    def __init__(self, objects):
        self.sources = {kind: FakeListerWatcher(items) for kind, items in objects.items()}
        self.cache = InformerCache(lambda kind, _selector: self.sources[kind])
        self.index = ClusterIndex()
        self.index.watch(self.cache)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.cache.start, args=(self.stop,), daemon=True)

    def start(self):
        self.thread.start()
        eventually(self.index.has_synced, message="the index did not sync")

    def change(self, kind, obj, *, until, action="modify"):
        getattr(self.sources[kind], action)(obj)
        eventually(until, message=f"the index did not see the {action} of {kind.kind}")

    def close(self):
        self.stop.set()
        self.thread.join(timeout=10)


@pytest.fixture
def cluster():
    nodes, necs, vips, claims, venis = scenario()
    c = Cluster({NODE: nodes, NODE_ENI_CONFIG: necs, VPC_IP: vips, VPC_IP_CLAIM: claims, VPC_ENI: venis, POD: []})
    c.start()
    yield c
    c.close()


@pytest.fixture
def extender(cluster):
    return Extender(cluster.index, ClusterSubnets(cluster.index))


@pytest.fixture
def wait_until():
    """``wait_until(predicate, timeout=5.0, message=...)``: poll (real time) until true, else fail."""
    return eventually
