"""The direct-eni and eip device plugins against the simulated kubelet, fed from NodeENIConfig-derived counts:
registration under their own resource names and sockets, ListAndWatch following the exclusive ENIs attached and
the EIP quota, Allocate of usable devices only."""

import grpc
import pytest

from eni.agent.deviceplugin import DIRECT_ENI, EIP
from eni.agent.directpool import parse_direct_pool
from eni.agent.nodeview import direct_eni_counts, eip_counts
from eni.sim.kubelet import ResourceCounts

WAIT = 10.0


def counts_become(kubelet, resource, capacity, allocatable):
    return kubelet.wait_until(
        lambda: kubelet.counts(resource) == ResourceCounts(capacity=capacity, allocatable=allocatable), timeout=WAIT)


def pool(attached):
    return parse_direct_pool({"enis": [
        {"eniId": f"eni-d{n}", "mac": f"02:00:00:00:0d:{n:02x}", "primaryIP": f"10.0.5.{10 + n}",
         "subnetCIDR": "10.0.5.0/24", "gateway": "10.0.5.1", "type": "direct"} for n in range(attached)]})


def feed(plugin, counts):
    plugin.server.update(capacity=counts.capacity, healthy=counts.healthy)


def test_direct_eni_devices_follow_the_attached_enis(kubelet, run_plugin):
    spec = {"maxDirectENI": 3}
    first = direct_eni_counts(spec, pool(1))
    plugin = run_plugin(DIRECT_ENI, capacity=first.capacity, healthy=first.healthy)
    assert counts_become(kubelet, DIRECT_ENI.name, capacity=3, allocatable=1)
    assert plugin.server.socket_path == kubelet.plugin_dir / "tke-direct-eni.sock"

    feed(plugin, direct_eni_counts(spec, pool(2)))
    assert counts_become(kubelet, DIRECT_ENI.name, capacity=3, allocatable=2)
    feed(plugin, direct_eni_counts({"maxDirectENI": 1}, pool(2)))  # direct-eni-max-attach lowered
    assert counts_become(kubelet, DIRECT_ENI.name, capacity=1, allocatable=1)
    feed(plugin, direct_eni_counts(spec, pool(0), static_ips=True))  # static: attached after scheduling
    assert counts_become(kubelet, DIRECT_ENI.name, capacity=3, allocatable=3)

    assert len(kubelet.allocate(DIRECT_ENI.name, [["direct-eni-2"]]).container_responses) == 1
    feed(plugin, direct_eni_counts(spec, pool(1)))
    assert counts_become(kubelet, DIRECT_ENI.name, capacity=3, allocatable=1)
    with pytest.raises(grpc.RpcError) as raised:
        kubelet.allocate(DIRECT_ENI.name, [["direct-eni-2"]])
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "not usable now" in raised.value.details()


def test_eip_devices_are_the_quota(kubelet, run_plugin):
    first = eip_counts({"eipQuota": 4})
    plugin = run_plugin(EIP, capacity=first.capacity, healthy=first.healthy)
    assert counts_become(kubelet, EIP.name, capacity=4, allocatable=4)
    feed(plugin, eip_counts({"eipQuota": 2}))
    assert counts_become(kubelet, EIP.name, capacity=2, allocatable=2)
    assert len(kubelet.allocate(EIP.name, [["eip-0"], ["eip-1"]]).container_responses) == 2
