"""The wired tke-eni-agent (cmd/agent wiring: Manager, informers, node loop, servers, device plugin) against the
fake API server, the simulated kubelet and FakeNetwork standing in for the node's kernel. The test writes the
NodeENIConfig status as ipamd would and runs the installed plugin exactly as a runtime does."""

import errno
import json
import os
import subprocess
import threading
import time
import urllib.request
from datetime import timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from eni.agent.deviceplugin import ENI_IP
from eni.api.v1 import NODE_ENI_CONFIG, EniIP, IPState, NodeENI, NodeENIConfig, PodRef, crdgen, ipamd_status_patch
from eni.netlink.errors import NetlinkError
from eni.netlink.fake import FakeNetwork
from eni.runtime.client.kube import KubeClient
from eni.runtime.meta import CUSTOM_RESOURCE_DEFINITION, POD, ObjectKey
from eni.runtime.testing.apiserver import FakeApiServer
from eni.sim.kubelet import FakeDeviceManager
from tke_eni_agent import wiring
from tke_eni_agent.settings import (
    AgentSettings,
    ApiSettings,
    BindAddress,
    CniSettings,
    DevicePluginSettings,
    IpamSettings,
    KubeClientSettings,
    LoggingSettings,
    NodeSettings,
    ServingSettings,
)

NODE = "node-1"
ENI_MAC = "02:00:00:00:00:0a"
WAIT = 15.0


def wait_for(predicate, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def nec_status(ips, *, releasing=(), reserved=None):
    reserved = reserved or {}
    eni = NodeENI(eni_id="eni-a", mac=ENI_MAC, primary_ip="10.0.1.10", subnet_id="subnet-a",
                  subnet_cidr="10.0.1.0/24", gateway="10.0.1.1", route_table_id="rtb-1",
                  ips=tuple(EniIP(ip=ip, state=IPState.RELEASING if ip in releasing else IPState.BOUND,
                                  pod=reserved.get(ip))
                            for ip in ips))
    return ipamd_status_patch(enis=[eni], conditions=[])


class World:
    def __init__(self, root, server, client, net, kubelet):
        self.root, self.server, self.client, self.net, self.kubelet = root, server, client, net, kubelet
        self.stop = threading.Event()
        self.exit_code = None
        self.thread = None
        self.manager = self.daemon = None
        self.gc_grace = 60.0
        self.sync_interval = 0.3
        self.static_ips = False

    def settings(self):
        return AgentSettings(
            node=NodeSettings(node_name=NODE, netns="", sync_interval=timedelta(seconds=self.sync_interval)),
            kube=KubeClientSettings(kubeconfig=self.root / "kubeconfig", qps=50, burst=100),
            cni=CniSettings(bin_dir=self.root / "bin", conf_dir=self.root / "net.d",
                            plugin_interpreter="/usr/bin/env -S python3 -IS", port_mapping=False),
            api=ApiSettings(grpc_socket=self.root / "run" / "a.sock", json_socket=self.root / "run" / "j.sock"),
            ipam=IpamSettings(state_dir=self.root / "state", ip_cooldown=timedelta(seconds=30),
                              gc_interval=timedelta(seconds=0.3), gc_grace=timedelta(seconds=self.gc_grace),
                              quick_release=False, static_ips=self.static_ips),
            device_plugin=DevicePluginSettings(plugin_dir=self.root / "dp"),
            serving=ServingSettings(metrics=BindAddress("127.0.0.1", 0), health=BindAddress("127.0.0.1", 0)),
            logging=LoggingSettings(level="info", format="text"),
        )

    def start(self):
        self.manager, self.daemon = wiring.build(self.settings(), self.net)
        self.daemon.start_servers()

        def run():
            try:
                self.exit_code = self.manager.start(self.stop)
            finally:
                self.daemon.close(grace=0.5)

        self.thread = threading.Thread(target=run, name="agent-under-test")
        self.thread.start()

    def shutdown(self):
        self.stop.set()
        if self.thread is not None:
            self.thread.join(WAIT)
            assert not self.thread.is_alive()

    def nec(self):
        return self.client.get(NODE_ENI_CONFIG, ObjectKey("", NODE))

    def agent_status(self):
        return (self.nec().get("status") or {}).get("agent") or {}

    def set_status(self, ips, *, releasing=(), reserved=None):
        self.client.patch(NODE_ENI_CONFIG, ObjectKey("", NODE),
                          nec_status(ips, releasing=releasing, reserved=reserved), subresource="status")

    def http(self, path):
        try:
            host, port = self.manager.health.address
        except RuntimeError:
            return 0, "not serving yet"
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def cni(self, command, container, *, pod="", uid=""):
        netns = f"/var/run/netns/{container}"
        if command == "ADD" and netns not in self.net.namespaces:
            self.net.add_namespace(netns)
        env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container, "CNI_IFNAME": "eth0", "CNI_NETNS": netns,
               "CNI_PATH": str(self.root / "bin"), "PATH": os.environ.get("PATH", ""),
               "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={pod or container};"
                           f"K8S_POD_UID={uid}"}
        conf = json.loads((self.root / "net.d" / "10-tke-eni.conflist").read_text())
        net = {"cniVersion": conf["cniVersion"], "name": conf["name"], **conf["plugins"][0]}
        proc = subprocess.run([str(self.root / "bin" / "tke-route-eni")], input=json.dumps(net).encode(), env=env,
                              capture_output=True, timeout=30)
        out = proc.stdout.decode().strip()
        return proc.returncode, (json.loads(out) if out else None)


@pytest.fixture
def world(short_dir):
    server = FakeApiServer()
    server.start()
    server.write_kubeconfig(str(short_dir / "kubeconfig"))
    client = KubeClient.from_api_client(server.api_client())
    client.create(CUSTOM_RESOURCE_DEFINITION, crdgen.custom_resource_definition(NodeENIConfig))
    wait_for(lambda: _listable(client), "the NodeENIConfig CRD")
    client.create(NODE_ENI_CONFIG, {"metadata": {"name": NODE}, "spec": {"instanceId": "ins-1", "maxENI": 2,
                                                                         "maxIPPerENI": 5}})
    net = FakeNetwork()
    net.add_eni(ENI_MAC)
    kubelet = FakeDeviceManager(short_dir / "dp", call_timeout=5.0)
    kubelet.start()
    w = World(short_dir, server, client, net, kubelet)
    try:
        yield w
    finally:
        w.shutdown()
        kubelet.stop()
        server.stop()


def _listable(client):
    try:
        client.list(NODE_ENI_CONFIG)
        return True
    except Exception:
        return False


IPS = [f"10.0.1.{20 + i}" for i in range(4)]


def test_not_ready_until_the_nec_pool_is_applied(world):
    """Installed plugins are not enough: until a node loop step applied the NEC's ENIs and IPs, an ADD (even the
    retry of a pod the ledger holds) cannot work, so /readyz fails and says why."""
    world.set_status(IPS)
    for _ in range(3):  # the first steps fail to apply the ENIs; the plugins are installed all the same
        world.net.fail_next("sync_enis", NetlinkError("ip link set eni up", errno.EIO))
    world.start()
    wait_for(lambda: (world.root / "bin" / "tke-route-eni").exists(), "the plugins installed")
    code, body = world.http("/readyz")
    assert code != 200 and "not applied yet" in body, body
    wait_for(lambda: world.http("/readyz")[0] == 200, "ready once a step applied the pool")
    code, result = world.cni("ADD", "c-ready")
    assert code == 0, result


def test_the_wired_agent_serves_pods_from_the_nec_pool_and_reports_back(world):
    world.start()
    assert wait_for(lambda: world.http("/healthz")[0] == 200, "healthz")
    wait_for(lambda: world.http("/readyz")[0] == 200, "ready: NEC known and plugins installed")
    plugin = (world.root / "bin" / "tke-route-eni").read_bytes()
    assert not plugin.startswith(b"#!/usr/bin/env")  # the installer resolved the interpreter: one exec less
    code, error = world.cni("ADD", "c-early")
    assert code == 1 and error["code"] == 11 and "no IP free yet" in error["msg"]

    world.set_status(IPS)
    wait_for(lambda: world.kubelet.counts(ENI_IP.name).allocatable == 4, "eni-ip devices: 4 bound")
    assert world.kubelet.counts(ENI_IP.name).capacity == 10  # maxENI x maxIPPerENI
    code, result = world.cni("ADD", "c-web", uid="uid-web")
    assert code == 0, result
    ip = result["ips"][0]["address"].split("/")[0]
    wait_for(lambda: world.agent_status().get("inUseIPs") == [ip], "status.agent.inUseIPs")
    assert world.agent_status()["heartbeatTime"]

    # The handshake: ipamd wants the in-use IP and a free one back; only the free one is promised.
    free = next(i for i in IPS if i != ip)
    world.set_status(IPS, releasing=(ip, free))
    wait_for(lambda: world.agent_status().get("releasedIPs") == [free], "status.agent.releasedIPs")
    assert world.agent_status()["inUseIPs"] == [ip]
    assert world.kubelet.counts(ENI_IP.name).allocatable == 2

    # Pool growth reaches the kubelet through ListAndWatch.
    world.set_status([*IPS, "10.0.1.40", "10.0.1.41"], releasing=(ip, free))
    wait_for(lambda: world.kubelet.counts(ENI_IP.name).allocatable == 4, "eni-ip devices after growth")

    code, _ = world.cni("DEL", "c-web")
    assert code == 0
    wait_for(lambda: world.agent_status().get("inUseIPs") == [], "status.agent after DEL")
    status, metrics = world.http("/metrics")
    assert status == 200
    assert 'tke_eni_agent_request_duration_seconds_count{method="Add"} 2.0' in metrics
    assert 'tke_eni_agent_request_errors_total{method="Add",reason="POOL_EXHAUSTED"} 1.0' in metrics
    assert "tke_eni_agent_pool_ips 4.0" in metrics


def test_gc_frees_the_ip_of_a_pod_deleted_behind_the_agents_back(world):
    world.set_status(IPS)
    pods = {}
    for name in ("kept", "gone"):
        pods[name] = world.client.create(POD, {"metadata": {"name": name, "namespace": "default"},
                                               "spec": {"nodeName": NODE, "containers": [{"name": "c",
                                                                                          "image": "i"}]}})
    world.client.create(POD, {"metadata": {"name": "elsewhere", "namespace": "default"},
                              "spec": {"nodeName": "node-2", "containers": [{"name": "c", "image": "i"}]}})
    world.gc_grace = 1.0
    world.start()
    wait_for(lambda: world.http("/readyz")[0] == 200, "ready")
    wait_for(lambda: world.daemon.service.pool().enis, "the pool")
    ips = {}
    for name in ("kept", "gone"):
        code, result = world.cni("ADD", f"c-{name}", pod=name, uid=pods[name]["metadata"]["uid"])
        assert code == 0, result
        ips[name] = result["ips"][0]["address"].split("/")[0]
    # A sandbox left behind by a pod whose namesake now runs on node-2 (a StatefulSet pod that moved): only the
    # spec.nodeName view of this node's pods shows that nothing here owns it any more.
    code, result = world.cni("ADD", "c-moved", pod="elsewhere")
    assert code == 0, result
    ips["moved"] = result["ips"][0]["address"].split("/")[0]
    wait_for(lambda: len(world.agent_status().get("inUseIPs") or []) == 3, "three IPs in use")

    world.client.delete(POD, ObjectKey("default", "gone"))
    wait_for(lambda: not {ips["gone"], ips["moved"]} & set(world.agent_status().get("inUseIPs") or [ips["gone"]]),
             "GC released the IPs of the deleted pod and of the pod on another node")
    in_use = set(world.agent_status()["inUseIPs"])
    assert in_use == {ips["kept"]}
    names = {a.pod.name for a in world.daemon.ledger.allocations()}
    assert names == {"kept"}


def test_sigterm_style_stop_keeps_pods_and_a_restart_picks_the_ledger_up(world):
    world.set_status(IPS)
    world.start()
    wait_for(lambda: world.http("/readyz")[0] == 200, "ready")
    wait_for(lambda: world.daemon.service.pool().enis, "the pool")
    code, result = world.cni("ADD", "c-a")
    assert code == 0
    host = result["interfaces"][0]["name"]
    world.shutdown()
    assert world.exit_code == 0
    assert host in world.net.node.links  # stopping the agent leaves pods' networking alone
    assert not Path(world.settings().api.json_socket).exists()

    world.stop = threading.Event()
    world.start()
    wait_for(lambda: world.daemon.service.pool().enis, "the pool after restart")
    code, again = world.cni("ADD", "c-a")
    assert code == 0 and again["ips"] == result["ips"]


def test_in_static_mode_a_pod_gets_only_the_ip_ipamd_reserved_for_it_and_in_use_ips_are_reported_at_once(world):
    world.static_ips = True
    world.sync_interval = 60.0  # reports must not wait for the resync
    world.start()
    wait_for(lambda: world.http("/readyz")[0] == 200, "ready")
    # Nothing bound yet, but every bindable IP is allocatable: ipamd binds a pod's IP once it is scheduled.
    wait_for(lambda: world.kubelet.counts(ENI_IP.name).allocatable == 10, "eni-ip devices: 10 allocatable")
    code, error = world.cni("ADD", "c-db0", pod="db-0", uid="uid-db0")
    assert code == 1 and error["code"] == 11
    assert "waiting for ipamd to assign the static IP of default/db-0" in error["msg"]

    db1 = PodRef(namespace="default", name="db-1", uid="uid-db1")
    world.set_status(["10.0.1.20"], reserved={"10.0.1.20": db1})
    wait_for(lambda: world.daemon.service.pool().static, "the static pool")
    code, error = world.cni("ADD", "c-db0", pod="db-0", uid="uid-db0")
    assert code == 1 and error["code"] == 11, error  # db-1's IP is never db-0's
    assert error["msg"].endswith("waiting for ipamd to assign the static IP of default/db-0")

    # The runtime's ADD waits (a few seconds at most) and gets the IP as soon as ipamd lists it.
    db0 = PodRef(namespace="default", name="db-0", uid="uid-db0")
    answers = []
    adding = threading.Thread(target=lambda: answers.append(world.cni("ADD", "c-db0", pod="db-0", uid="uid-db0")))
    adding.start()
    time.sleep(0.5)
    started = time.monotonic()
    world.set_status(["10.0.1.20", "10.0.1.21"], reserved={"10.0.1.20": db1, "10.0.1.21": db0})
    adding.join(WAIT)
    code, result = answers[0]
    assert code == 0, result
    assert result["ips"][0]["address"] == "10.0.1.21/32"
    wait_for(lambda: world.agent_status().get("inUseIPs") == ["10.0.1.21"], "status.agent.inUseIPs")
    assert time.monotonic() - started < 30  # well before the 60 s resync

    # Deleted and re-created under the same name (retained, uid cleared then rebound): the same IP at once.
    code, _ = world.cni("DEL", "c-db0")
    assert code == 0
    wait_for(lambda: world.agent_status().get("inUseIPs") == [], "status.agent after DEL")
    retained = PodRef(namespace="default", name="db-0")
    world.set_status(["10.0.1.20", "10.0.1.21"], reserved={"10.0.1.20": db1, "10.0.1.21": retained})
    wait_for(lambda: world.daemon.service.pool().reserved_for(IPv4Address("10.0.1.21")) is not None
             and not world.daemon.service.pool().reserved_for(IPv4Address("10.0.1.21")).uid, "retained")
    code, again = world.cni("ADD", "c-db0-new", pod="db-0", uid="uid-db0-new")
    assert code == 0, again
    assert again["ips"][0]["address"] == "10.0.1.21/32"  # inside the 30 s cooldown: it is its own IP
    code, error = world.cni("ADD", "c-web", pod="web", uid="uid-web")
    assert code == 1 and error["code"] == 11 and "default/web" in error["msg"]


def test_device_counts_follow_the_spec_while_reports_follow_each_add(world):
    world.start()
    world.set_status(IPS)
    wait_for(lambda: world.kubelet.counts(ENI_IP.name).capacity == 10, "eni-ip capacity from maxENI x maxIPPerENI")
    added = []
    for n in range(3):
        code, result = world.cni("ADD", f"c-{n}", uid=f"uid-{n}")
        assert code == 0, result
        added.append(result["ips"][0]["address"].split("/")[0])
        wait_for(lambda: world.agent_status().get("inUseIPs") == sorted(added, key=lambda s: int(s.split(".")[-1])),
                 f"status.agent.inUseIPs with {n + 1} pods")
    assert world.kubelet.counts(ENI_IP.name).allocatable == 4
    world.client.patch(NODE_ENI_CONFIG, ObjectKey("", NODE), {"spec": {"maxIPPerENI": 8}})
    wait_for(lambda: world.kubelet.counts(ENI_IP.name).capacity == 16, "eni-ip capacity after the spec changed")
