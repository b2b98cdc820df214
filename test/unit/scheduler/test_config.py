"""config/scheduler: the KubeSchedulerConfiguration example reaches the extender's real routes, and the
Deployment's flags are ones the program accepts."""

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from eni.api.v1.constants import RESOURCE_DIRECT_ENI, RESOURCE_ENI_IP
from eni.scheduler import ExtenderServer
from eni.scheduler.testing import pod

CONFIG = Path(__file__).resolve().parents[3] / "config" / "scheduler"


@pytest.fixture
def extender_config():
    config = yaml.safe_load((CONFIG / "kube-scheduler-config.yaml").read_text())
    assert (config["apiVersion"], config["kind"]) == ("kubescheduler.config.k8s.io/v1", "KubeSchedulerConfiguration")
    (extender,) = config["extenders"]
    return extender


def test_the_example_wires_the_managed_resource_and_node_cache(extender_config):
    assert extender_config["managedResources"] == [{"name": RESOURCE_ENI_IP, "ignoredByScheduler": False},
                                                   {"name": RESOURCE_DIRECT_ENI, "ignoredByScheduler": False}]
    assert extender_config["nodeCacheCapable"] is True and extender_config["ignorable"] is False
    assert 1 <= extender_config["weight"] <= 10 and extender_config["httpTimeout"] == "5s"


def test_the_verbs_reach_the_servers_routes(extender_config, extender):
    path = urlsplit(extender_config["urlPrefix"]).path.rstrip("/")
    server = ExtenderServer(extender, prefix=path)
    server.listen()
    try:
        import http.client

        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        for verb in (extender_config["filterVerb"], extender_config["prioritizeVerb"]):
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            connection.request("POST", f"{path}/{verb}", body=json.dumps({"Pod": pod("p"), "NodeNames": ["node-a1"]}))
            assert connection.getresponse().status == 200
            connection.close()
    finally:
        server.close()


def test_the_deployment_flags_parse_and_its_port_matches_the_url(extender_config, monkeypatch):
    from tke_eni_ip_scheduler import main, wiring

    documents = list(yaml.safe_load_all((CONFIG / "deployment.yaml").read_text()))
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    service = next(d for d in documents if d["kind"] == "Service")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    for name in [n for n in os.environ if n.startswith("ENI_")]:
        monkeypatch.delenv(name)
    seen = []
    monkeypatch.setattr(wiring, "start", lambda settings: seen.append(settings) or 0)
    assert main.main(container["args"]) == 0
    settings = seen[-1]
    assert settings.extender.listen.port == service["spec"]["ports"][0]["port"] == urlsplit(
        extender_config["urlPrefix"]).port
    probes = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert settings.serving.health.port == probes["health"] and settings.serving.metrics.port == probes["metrics"]
    kustomization = yaml.safe_load((CONFIG / "kustomization.yaml").read_text())
    assert all((CONFIG / name).is_file() for name in kustomization["resources"])
