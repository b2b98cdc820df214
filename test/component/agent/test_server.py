"""The agent API over real grpc and the JSON socket, in-process over unix sockets; garbage never hurts it."""

import json
import os
import socket
import stat
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from eni.cni import client
from eni.rpc import agent_pb2 as pb
from eni.rpc import agent_pb2_grpc as pbg


def key(cid="c1"):
    return pb.AttachmentKey(network_name="tke-eni", container_id=cid, ifname="eth0")


@pytest.fixture
def channel(agent):
    with grpc.insecure_channel(f"unix:{agent.settings.grpc_socket}") as ch:
        yield ch


def json_call(agent, payload: bytes, *, read=True):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(agent.settings.json_socket))
        s.sendall(payload)
        if not read:
            return None
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return json.loads(data) if data else None


def call(agent, method, request):
    return json_call(agent, json.dumps({"method": f"/tke.eni.agent.v1.{method}", "request": request}).encode()
                     + b"\n")


def test_sockets_are_private(agent):
    for path in (agent.settings.grpc_socket, agent.settings.json_socket):
        mode = os.stat(path).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_grpc_pod_network_round_trip(agent, channel):
    pods = pbg.PodNetworkStub(channel)
    request = pb.PodNetworkRequest(key=key(), pod=pb.PodRef(namespace="default", name="web"), netns="/var/run/netns/x")
    added = pods.Add(request, timeout=5)
    assert added.ip.address == "10.0.1.20/32" and added.container.sandbox == "/var/run/netns/x"
    assert pods.Add(request, timeout=5).allocation.ip == "10.0.1.20"
    pods.Check(request, timeout=5)
    listed = pbg.IntrospectionStub(channel).ListAllocations(pb.ListAllocationsRequest(), timeout=5)
    assert [(a.ip, a.pod.name) for a in listed.allocations] == [("10.0.1.20", "web")]
    pool = pbg.IntrospectionStub(channel).GetPool(pb.GetPoolRequest(), timeout=5)
    assert (pool.in_use, pool.free) == (1, 3) and pool.enis[0].ips[0].state == "InUse"
    assert pods.Del(request, timeout=5).released_ip == "10.0.1.20"
    assert pods.Del(request, timeout=5).released_ip == ""


def test_grpc_domain_errors_map_to_status_codes_with_the_cni_code(agent, channel):
    ipam = pbg.IpamStub(channel)
    for i in range(4):
        ipam.Allocate(pb.AllocateRequest(key=key(f"c{i}")), timeout=5)
    with pytest.raises(grpc.RpcError) as err:
        ipam.Allocate(pb.AllocateRequest(key=key("c9")), timeout=5)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "no IP free yet" in err.value.details()
    assert dict(err.value.trailing_metadata()) == {"tke-eni-reason": "POOL_EXHAUSTED", "tke-eni-cni-code": "11"}
    with pytest.raises(grpc.RpcError) as err:
        ipam.Allocate(pb.AllocateRequest(key=pb.AttachmentKey(container_id="x")), timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        pbg.PodNetworkStub(channel).Check(pb.PodNetworkRequest(key=key("zz"), netns="/x"), timeout=5)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_json_socket_serves_the_same_methods(agent):
    reply = call(agent, "Ipam/Allocate", {"key": {"networkName": "n", "containerId": "c1", "ifname": "eth0"}})
    assert reply["reply"]["ip"]["address"] == "10.0.1.20/24"
    assert reply["reply"]["allocation"]["key"]["containerId"] == "c1"
    listed = call(agent, "Introspection/ListAllocations", {})
    assert [a["ip"] for a in listed["reply"]["allocations"]] == ["10.0.1.20"]
    error = call(agent, "PodNetwork/Check", {"key": {"networkName": "n", "containerId": "zz", "ifname": "eth0"},
                                             "netns": "/x"})
    assert error["error"]["reason"] == "UNKNOWN_CONTAINER" and error["error"]["cniCode"] == 3


GARBAGE = [
    b"\x00\xff\xfe garbage\n",
    b"not json at all\n",
    b"[1,2,3]\n",
    b'{"method": "/tke.eni.agent.v1.Ipam/Nope", "request": {}}\n',
    b'{"method": "/tke.eni.agent.v1.Ipam/Allocate", "request": {"key": {"bogusField": 1}}}\n',
    b'{"method": "/tke.eni.agent.v1.Ipam/Allocate", "request": [1]}\n',
    b'{"method": "/tke.eni.agent.v1.Ipam/Allocate", "request": {"key": "str"}}\n',
    b"[" * 30000 + b"\n",
    b'{"method": "/tke.eni.agent.v1.Ipam/Allocate", "request": {"key": ' + b'{"a":' * 5000 + b"\n",
    b"\xc3\x28\n",
]


@pytest.mark.parametrize("payload", GARBAGE)
def test_json_garbage_gets_an_error_reply_and_changes_nothing(agent, payload):
    reply = json_call(agent, payload)
    assert reply["error"]["reason"] == "INVALID_REQUEST" and reply["error"]["cniCode"] == 4
    assert agent.ledger.allocations() == [] and agent.checkpoint.load() is None


def test_oversized_and_silent_clients_are_cut_off_and_the_server_lives_on(agent):
    reply = json_call(agent, b"{" + b" " * (agent.settings.max_request_bytes + 10))
    assert "longer than" in reply["error"]["message"]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.settimeout(5)
        silent.connect(str(agent.settings.json_socket))
        assert silent.recv(10) == b""  # closed after connection_timeout without a request
    assert json_call(agent, b"", read=True) is None  # EOF without a line: closed, no reply
    assert "reply" in call(agent, "Introspection/GetPool", {})


def test_grpc_socket_survives_garbage(agent, channel):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(agent.settings.grpc_socket))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + os.urandom(512))
        try:
            s.recv(1024)
        except OSError:
            pass
    reply = pbg.IntrospectionStub(channel).GetPool(pb.GetPoolRequest(), timeout=5)
    assert reply.free == 4


def test_stop_removes_the_sockets(agent):
    agent.servers.stop(grace=0.1)
    assert not agent.settings.grpc_socket.exists() and not agent.settings.json_socket.exists()


def test_a_burst_larger_than_the_worker_pool_is_queued_not_refused(agent_factory):
    agent = agent_factory(workers=2)
    request = {"key": {"networkName": "n", "containerId": "c", "ifname": "eth0"}}

    def one(i):
        body = dict(request, key=dict(request["key"], containerId=f"c{i % 4}"))
        return client.call(str(agent.settings.json_socket), "Ipam/Allocate", body, timeout=30)

    with ThreadPoolExecutor(40) as pool:
        replies = list(pool.map(one, range(40)))
    assert {r["allocation"]["ip"] for r in replies} == {"10.0.1.20", "10.0.1.21", "10.0.1.22", "10.0.1.23"}
    assert len(agent.ledger.allocations()) == 4
