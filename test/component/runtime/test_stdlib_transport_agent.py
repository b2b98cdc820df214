"""The wired tke-eni-agent talks to the API server without ever importing the official client, reads YAML
kubeconfigs, and points operators with credential plugins at the official-client fallback.

A fresh interpreter builds the agent exactly as cmd/agent's wiring does (FakeNetwork stands in for the node's
kernel; the real netlink adapter is imported as ``start`` imports it), runs its manager against the fake API
server until the informers have synced, and reports which heavy packages it loaded.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import yaml

from eni.api.v1 import NODE_ENI_CONFIG, NodeENIConfig, crdgen
from eni.runtime.client import KubeClient, KubeTransport
from eni.runtime.client.stdlib import StdlibConnector
from eni.runtime.kubeconfig import KubeConfigError, kubeconfig_from_mapping
from eni.runtime.meta import CUSTOM_RESOURCE_DEFINITION, NAMESPACE
from tke_eni_agent import wiring
from tke_eni_agent.settings import KubeClientSettings

AGENT = textwrap.dedent("""
    import json, os, sys, threading
    from datetime import timedelta
    from pathlib import Path

    import eni.netlink.pyroute  # what wiring.start opens the node's namespace with
    from eni.netlink.fake import FakeNetwork
    from tke_eni_agent import wiring
    from tke_eni_agent.settings import (AgentSettings, ApiSettings, BindAddress, CniSettings, DevicePluginSettings,
        IpamSettings, KubeClientSettings, LoggingSettings, NodeSettings, ServingSettings)

    root = Path(sys.argv[1])
    settings = AgentSettings(
        node=NodeSettings(node_name="node-1", netns="", sync_interval=timedelta(seconds=1)),
        kube=KubeClientSettings(kubeconfig=root / "kubeconfig", qps=50, burst=100,
                                client=os.environ.get("ENI_KUBE_CLIENT") or "stdlib"),
        cni=CniSettings(bin_dir=root / "bin", conf_dir=root / "net.d", plugin_interpreter="/usr/bin/python3 -IS",
                        port_mapping=False),
        api=ApiSettings(grpc_socket=root / "a.sock", json_socket=root / "j.sock"),
        ipam=IpamSettings(state_dir=root / "state", ip_cooldown=timedelta(seconds=30),
                          gc_interval=timedelta(seconds=60), gc_grace=timedelta(seconds=60), quick_release=False),
        device_plugin=DevicePluginSettings(plugin_dir=root / "dp"),
        serving=ServingSettings(metrics=None, health=BindAddress("127.0.0.1", 0)),
        logging=LoggingSettings(level="error", format="text"),
    )
    manager, daemon = wiring.build(settings, FakeNetwork())
    daemon.start_servers()
    stop = threading.Event()
    runner = threading.Thread(target=manager.start, args=(stop,))
    runner.start()
    synced = manager.cache.wait_for_sync(30, stop)
    loaded = sorted({name.split(".")[0] for name in sys.modules})
    stop.set()
    runner.join(30)
    daemon.close(grace=0.5)
    print(json.dumps({"synced": synced, "stopped": not runner.is_alive(), "loaded": loaded}))
""")

# The official client and what it pulls in.
HEAVY = {"kubernetes", "urllib3", "pydantic", "requests", "oauthlib", "websocket"}


@pytest.fixture
def short_dir():
    path = Path(tempfile.mkdtemp(prefix="eniagent", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_agent(apiserver, root, *, kube_client=""):
    transport = KubeTransport(connector=StdlibConnector(kubeconfig_from_mapping(apiserver.kubeconfig())))
    try:
        client = KubeClient(transport)
        client.create(CUSTOM_RESOURCE_DEFINITION, crdgen.custom_resource_definition(NodeENIConfig))
        client.create(NODE_ENI_CONFIG, {"metadata": {"name": "node-1"}, "spec": {"instanceId": "ins-1"}})
    finally:
        transport.close()
    apiserver.write_kubeconfig(str(root / "kubeconfig"))
    env = {k: v for k, v in os.environ.items() if k != "ENI_KUBE_CLIENT"}
    if kube_client:
        env["ENI_KUBE_CLIENT"] = kube_client
    proc = subprocess.run([sys.executable, "-c", AGENT, str(root)], capture_output=True, timeout=90, env=env)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    report = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert report["synced"] and report["stopped"], report
    assert "eni" in report["loaded"] and "grpc" in report["loaded"], "the report lists what was loaded"
    return set(report["loaded"])


def test_the_running_agent_never_imports_the_official_client(apiserver, short_dir):
    heavy = HEAVY & run_agent(apiserver, short_dir)
    assert not heavy, f"the agent imported {sorted(heavy)}"


def test_the_official_client_remains_a_fallback(apiserver, short_dir):
    assert "kubernetes" in run_agent(apiserver, short_dir, kube_client="official")


def agent_kube_settings(kubeconfig):
    class Settings:  # wiring.kube_transport reads only settings.kube
        kube = KubeClientSettings(kubeconfig=kubeconfig, qps=5, burst=10)

    return Settings()


def test_the_agent_reads_yaml_kubeconfigs_and_points_credential_plugins_at_the_fallback(apiserver, tmp_path,
                                                                                         monkeypatch):
    monkeypatch.delenv("ENI_KUBE_CLIENT", raising=False)
    document = apiserver.kubeconfig()
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(document))
    transport = wiring.kube_transport(agent_kube_settings(tmp_path / "config.yaml"))
    try:
        assert isinstance(transport.connector, StdlibConnector)
        assert any(ns["metadata"]["name"] == "default" for ns in KubeClient(transport).list(NAMESPACE))
    finally:
        transport.close()
    document["users"][0]["user"] = {"exec": {"command": "cloud-login", "apiVersion": "client.authentication.k8s.io/v1"}}
    (tmp_path / "exec.yaml").write_text(yaml.safe_dump(document))
    with pytest.raises(KubeConfigError, match="ENI_KUBE_CLIENT=official"):
        wiring.kube_transport(agent_kube_settings(tmp_path / "exec.yaml"))
