"""Exclusive ENIs over the agent's real sockets (grpc and the JSON mapping), with FakeNetwork as the kernel:
Add/Check/Del of a tke-direct-eni attachment, the same ENI to a retried Add from either edge, introspection
(ListAllocations, GetPool's Direct* states) and ``tke-eni-agent ipam``'s KIND column."""

import grpc
import pytest

from eni.agent.checkpoint import JsonFileCheckpointer
from eni.agent.directledger import DirectLedger
from eni.agent.directpool import parse_direct_pool
from eni.agent.directservice import DirectEniService
from eni.agent.ledger import Ledger
from eni.agent.podnet import FakePodNetworker
from eni.agent.pool import parse_pool
from eni.agent.server import AgentServers, ServerSettings
from eni.agent.service import AgentService
from eni.cni import client
from eni.netlink.fake import FakeNetwork
from eni.rpc import agent_pb2 as pb
from eni.rpc import agent_pb2_grpc as pbg
from tke_eni_agent import main as agent_cli

SHARED = {"eniId": "eni-a", "mac": "02:00:00:00:00:0a", "primaryIP": "10.0.1.10", "subnetCIDR": "10.0.1.0/24",
          "gateway": "10.0.1.1", "type": "route", "ips": [{"ip": "10.0.1.20", "state": "Bound"}]}


def direct(eni_id, n, state="Bound"):
    return {"eniId": eni_id, "mac": f"02:00:00:00:0d:{n:02x}", "primaryIP": f"10.0.5.{n}",
            "subnetCIDR": "10.0.5.0/24", "gateway": "10.0.5.1", "type": "direct", "state": state}


@pytest.fixture
def node(short_dir):
    net = FakeNetwork()
    for n in (7, 8, 9):
        net.add_eni(f"02:00:00:00:0d:{n:02x}", ifname=f"eth{n}")
    direct_service = DirectEniService(DirectLedger(JsonFileCheckpointer.at(short_dir / "state" / "d.json")), net)
    service = AgentService(Ledger(JsonFileCheckpointer.at(short_dir / "state" / "l.json")), FakePodNetworker(),
                           direct=direct_service)
    status = {"enis": [SHARED, direct("eni-d1", 7), direct("eni-d2", 8), direct("eni-d3", 9, "Releasing")]}
    service.update_pool(parse_pool(status), {"02:00:00:00:00:0a": 2003})
    direct_service.refresh(parse_direct_pool(status), capacity=3)
    settings = ServerSettings(grpc_socket=short_dir / "run" / "a.sock", json_socket=short_dir / "run" / "j.sock",
                              connection_timeout=2.0)
    servers = AgentServers(service, settings)
    servers.start()
    try:
        yield net, service, settings
    finally:
        servers.stop(grace=0.5)


def test_grpc_and_json_serve_the_same_exclusive_eni(node):
    net, service, settings = node
    net.add_namespace("/var/run/netns/p1")
    request = pb.PodNetworkRequest(key=pb.AttachmentKey(network_name="tke-direct-eni", container_id="c1",
                                                        ifname="eth0"),
                                   pod=pb.PodRef(namespace="default", name="db"), netns="/var/run/netns/p1")
    with grpc.insecure_channel(f"unix:{settings.grpc_socket}") as channel:
        pods = pbg.PodNetworkStub(channel)
        added = pods.Add(request, timeout=5)
        assert added.ip.address == "10.0.5.7/24" and added.ip.gateway == "10.0.5.1"
        assert added.container.mac == "02:00:00:00:0d:07" and added.container.sandbox == "/var/run/netns/p1"
        assert added.allocation.eni_id == "eni-d1" and added.host.name == ""
        pods.Check(request, timeout=5)
    again = client.call(str(settings.json_socket), "PodNetwork/Add", {
        "key": {"networkName": "tke-direct-eni", "containerId": "c1", "ifname": "eth0"},
        "pod": {"namespace": "default", "name": "db"}, "netns": "/var/run/netns/p1"}, timeout=5)
    assert again["allocation"]["eniId"] == "eni-d1" and again["ip"]["address"] == "10.0.5.7/24"

    listed = client.call(str(settings.json_socket), "Introspection/ListAllocations", {}, timeout=5)
    assert [(a["eniId"], a["ip"], a["kind"]) for a in listed["allocations"]] == [("eni-d1", "10.0.5.7", "direct")]
    pool = client.call(str(settings.json_socket), "Introspection/GetPool", {}, timeout=5)
    states = {e["eniId"]: [ip["state"] for ip in e.get("ips", [])] for e in pool["enis"]}
    assert states == {"eni-a": ["Bound"], "eni-d1": ["DirectInUse"], "eni-d2": ["DirectFree"],
                      "eni-d3": ["DirectReleasing"]}

    with grpc.insecure_channel(f"unix:{settings.grpc_socket}") as channel:
        pods = pbg.PodNetworkStub(channel)
        assert pods.Del(request, timeout=5).released_ip == "10.0.5.7"
        assert pods.Del(request, timeout=5).released_ip == ""
        with pytest.raises(grpc.RpcError) as caught:
            pods.Check(request, timeout=5)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert net.node.links["eth7"].mac == "02:00:00:00:0d:07"


def test_a_waiting_pod_gets_resource_exhausted_with_the_reason(node):
    net, service, settings = node
    for n in (1, 2, 3):
        net.add_namespace(f"/var/run/netns/p{n}")
    with grpc.insecure_channel(f"unix:{settings.grpc_socket}") as channel:
        pods = pbg.PodNetworkStub(channel)
        for n in (1, 2):
            pods.Add(pb.PodNetworkRequest(key=pb.AttachmentKey(network_name="tke-direct-eni", container_id=f"c{n}",
                                                               ifname="eth0"), netns=f"/var/run/netns/p{n}"), timeout=5)
        with pytest.raises(grpc.RpcError) as caught:
            pods.Add(pb.PodNetworkRequest(key=pb.AttachmentKey(network_name="tke-direct-eni", container_id="c3",
                                                               ifname="eth0"), netns="/var/run/netns/p3"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "no exclusive ENI free yet: 3 attached to this node, 2 in use, 1 being released" in caught.value.details()


def test_ipam_shows_the_kind_of_each_allocation(node, capsys):
    net, service, settings = node
    net.add_namespace("/var/run/netns/p1")
    client.call(str(settings.json_socket), "PodNetwork/Add", {
        "key": {"networkName": "tke-direct-eni", "containerId": "c0ffee0000000001", "ifname": "eth0"},
        "pod": {"namespace": "default", "name": "db"}, "netns": "/var/run/netns/p1"}, timeout=5)
    client.call(str(settings.json_socket), "Ipam/Allocate", {
        "key": {"networkName": "tke-eni", "containerId": "c0ffee0000000002", "ifname": "eth0"},
        "pod": {"namespace": "default", "name": "web"}}, timeout=5)
    assert agent_cli.main(["ipam", "--json-socket", str(settings.json_socket)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["POD", "CONTAINER", "KIND", "IP", "ENI", "AGE"]
    rows = sorted(line.split()[:5] for line in lines[1:])
    assert rows == [["default/db", "c0ffee000000", "direct", "10.0.5.7", "eni-d1"],
                    ["default/web", "c0ffee000000", "shared", "10.0.1.20", "eni-a"]]
    assert agent_cli.main(["ipam", "-o", "json", "--json-socket", str(settings.json_socket)]) == 0
    assert '"kind": "direct"' in capsys.readouterr().out
