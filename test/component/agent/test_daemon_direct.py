"""The wired tke-eni-agent with exclusive ENIs, against the fake API server, the simulated kubelet and FakeNetwork
(node kernel and exclusive-ENI moves): the direct-eni and eip device plugins follow the NEC; a pod annotated
tke-direct-eni gets a whole ENI through the installed plugin; status.agent reports inUseENIs and, in the release
handshake, releasedENIs; a pod the API server cannot be asked about gets "try again later"."""

import json
import os
import subprocess
import threading
import time
from datetime import timedelta

import pytest

from eni.agent.deviceplugin import DIRECT_ENI, EIP, ENI_IP
from eni.api.v1 import NODE_ENI_CONFIG, EniIP, EniType, IPState, NodeENI, NodeENIConfig, crdgen, ipamd_status_patch
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
SHARED_MAC = "02:00:00:00:00:0a"
DIRECT = {"eni-d1": "02:00:00:00:0d:07", "eni-d2": "02:00:00:00:0d:08"}
WAIT = 15.0


def wait_for(predicate, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def nec_status(direct_ids, *, releasing=()):
    shared = NodeENI(eni_id="eni-a", mac=SHARED_MAC, primary_ip="10.0.1.10", subnet_id="subnet-a",
                     subnet_cidr="10.0.1.0/24", gateway="10.0.1.1", ips=(EniIP(ip="10.0.1.20"),))
    direct = [NodeENI(eni_id=eni_id, mac=DIRECT[eni_id], primary_ip=f"10.0.5.{7 + i}", subnet_id="subnet-d",
                      subnet_cidr="10.0.5.0/24", gateway="10.0.5.1", type=EniType.DIRECT,
                      state=IPState.RELEASING if eni_id in releasing else IPState.BOUND)
              for i, eni_id in enumerate(direct_ids)]
    return ipamd_status_patch(enis=[shared, *direct], conditions=[])


class World:
    def __init__(self, root, server, client, net, kubelet):
        self.root, self.server, self.client, self.net, self.kubelet = root, server, client, net, kubelet
        self.stop = threading.Event()
        self.thread = self.manager = self.daemon = None

    def settings(self):
        return AgentSettings(
            node=NodeSettings(node_name=NODE, netns="", sync_interval=timedelta(seconds=0.3)),
            kube=KubeClientSettings(kubeconfig=self.root / "kubeconfig", qps=50, burst=100),
            cni=CniSettings(bin_dir=self.root / "bin", conf_dir=self.root / "net.d",
                            plugin_interpreter="/usr/bin/env -S python3 -IS", port_mapping=False),
            api=ApiSettings(grpc_socket=self.root / "run" / "a.sock", json_socket=self.root / "run" / "j.sock"),
            ipam=IpamSettings(state_dir=self.root / "state", ip_cooldown=timedelta(seconds=30),
                              gc_interval=timedelta(seconds=0.3), gc_grace=timedelta(seconds=60),
                              quick_release=False),
            device_plugin=DevicePluginSettings(plugin_dir=self.root / "dp"),
            serving=ServingSettings(metrics=BindAddress("127.0.0.1", 0), health=BindAddress("127.0.0.1", 0)),
            logging=LoggingSettings(level="info", format="text"),
        )

    def start(self):
        self.manager, self.daemon = wiring.build(self.settings(), self.net, self.net)
        self.daemon.start_servers()
        self.thread = threading.Thread(target=lambda: self.manager.start(self.stop), name="agent-under-test")
        self.thread.start()

    def shutdown(self):
        self.stop.set()
        if self.thread is not None:
            self.thread.join(WAIT)
            self.daemon.close(grace=0.5)

    def agent_status(self):
        return (self.client.get(NODE_ENI_CONFIG, ObjectKey("", NODE)).get("status") or {}).get("agent") or {}

    def set_status(self, direct_ids, *, releasing=()):
        self.client.patch(NODE_ENI_CONFIG, ObjectKey("", NODE), nec_status(direct_ids, releasing=releasing),
                          subresource="status")

    def pod(self, name, *, direct):
        annotations = {"tke.cloud.tencent.com/networks": "tke-direct-eni"} if direct else {}
        return self.client.create(POD, {"metadata": {"name": name, "namespace": "default", "annotations": annotations},
                                        "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "i"}]}})

    def cni(self, command, container, *, pod):
        netns = f"/var/run/netns/{container}"
        if command == "ADD" and netns not in self.net.namespaces:
            self.net.add_namespace(netns)
        env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container, "CNI_IFNAME": "eth0", "CNI_NETNS": netns,
               "CNI_PATH": str(self.root / "bin"), "PATH": os.environ.get("PATH", ""),
               "CNI_ARGS": f"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME={pod}"}
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
    client.create(NODE_ENI_CONFIG, {"metadata": {"name": NODE}, "spec": {
        "instanceId": "ins-1", "maxENI": 2, "maxIPPerENI": 5, "maxDirectENI": 3, "eipQuota": 4}})
    net = FakeNetwork()
    net.add_eni(SHARED_MAC, ifname="eth1")
    for n, mac in enumerate(DIRECT.values()):
        net.add_eni(mac, ifname=f"eth{7 + n}")
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


def test_device_plugins_annotation_choice_and_the_eni_handshake(world):
    world.set_status(["eni-d1"])
    world.pod("db", direct=True)
    world.start()

    wait_for(lambda: world.kubelet.counts(DIRECT_ENI.name).allocatable == 1, "direct-eni: 1 attached")
    assert world.kubelet.counts(DIRECT_ENI.name).capacity == 3  # maxDirectENI
    wait_for(lambda: world.kubelet.counts(EIP.name).allocatable == 4, "eip: the quota")
    assert world.kubelet.counts(EIP.name).capacity == 4
    assert world.kubelet.counts(ENI_IP.name).capacity == 10
    world.set_status(["eni-d1", "eni-d2"])
    wait_for(lambda: world.kubelet.counts(DIRECT_ENI.name).allocatable == 2, "direct-eni after the pool grew")

    code, result = world.cni("ADD", "c-db", pod="db")  # the conflist says tke-eni: the annotation decides
    assert code == 0, result
    assert result["ips"][0]["address"] == "10.0.5.7/24" and result["interfaces"][0]["mac"] == DIRECT["eni-d1"]
    assert world.net.namespaces["/var/run/netns/c-db"].links["eth0"].mac == DIRECT["eni-d1"]
    wait_for(lambda: world.agent_status().get("inUseENIs") == ["eni-d1"], "status.agent.inUseENIs")

    world.pod("late", direct=True)  # created after the agent started: cache or one GET, never a shared IP
    code, result = world.cni("ADD", "c-late", pod="late")
    assert code == 0 and result["interfaces"][0]["mac"] == DIRECT["eni-d2"], result
    code, result = world.cni("ADD", "c-plain", pod="not-in-the-api")
    assert code == 0 and result["ips"][0]["address"] == "10.0.1.20/32", result

    world.set_status(["eni-d1", "eni-d2"], releasing=("eni-d1", "eni-d2"))
    wait_for(lambda: world.daemon.direct.pool().enis[0].releasing, "Releasing seen")
    assert world.agent_status().get("releasedENIs") == []  # both held by pods
    assert world.cni("DEL", "c-db", pod="db") == (0, None)
    wait_for(lambda: world.agent_status().get("releasedENIs") == ["eni-d1"], "status.agent.releasedENIs")
    assert world.agent_status()["inUseENIs"] == ["eni-d2"]
    assert world.net.node.links["eth7"].mac == DIRECT["eni-d1"]  # home under its own name


def test_an_unreachable_api_server_means_try_again_later_for_an_uncached_pod(world):
    world.set_status(["eni-d1"])
    world.start()
    wait_for(lambda: world.daemon.direct.pool().enis, "the direct pool")
    world.server.stop()
    code, error = world.cni("ADD", "c-x", pod="unknown")
    assert code == 1 and error["code"] == 11 and "exclusive ENI" in error["msg"], error
    assert world.daemon.ledger.allocations() == [] and world.daemon.direct.ledger.allocations() == []
