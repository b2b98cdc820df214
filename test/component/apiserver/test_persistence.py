"""State persistence and the ``tke-eni-sim apiserver`` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import kubernetes.client as k8s
import pytest
import yaml

from eni.runtime.testing.apiserver import FakeApiServer

GROUP = "test.tke.cloud.tencent.com"
FIXTURES = Path(__file__).parent / "fixtures"


def test_state_round_trip(tmp_path, pod_body, widget_body):
    state = tmp_path / "state.json"
    crd = yaml.safe_load((FIXTURES / "widget-crd.yaml").read_text())
    first = FakeApiServer(persist_path=str(state))
    first.start()
    client = first.api_client()
    k8s.ApiextensionsV1Api(client).create_custom_resource_definition(crd)
    k8s.CustomObjectsApi(client).create_cluster_custom_object(GROUP, "v1", "nodewidgets", widget_body("w"))
    pod = k8s.CoreV1Api(client).create_namespaced_pod("default", pod_body("p"))
    rv = k8s.CoreV1Api(client).list_namespaced_pod("default").metadata.resource_version
    client.close()
    first.stop()
    saved = json.loads(state.read_text())
    assert saved["resourceVersion"] == int(rv)

    second = FakeApiServer(persist_path=str(state))
    second.start()
    try:
        client = second.api_client()
        core = k8s.CoreV1Api(client)
        again = core.read_namespaced_pod("p", "default")
        assert again.metadata.uid == pod.metadata.uid
        assert again.metadata.resource_version == pod.metadata.resource_version
        widget = k8s.CustomObjectsApi(client).get_cluster_custom_object(GROUP, "v1", "nodewidgets", "w")
        assert widget["spec"]["nodeName"] == "node-1"
        created = core.create_namespaced_config_map("default", {"metadata": {"name": "after"}})
        assert int(created.metadata.resource_version) == int(rv) + 1
        assert sorted(n.metadata.name for n in core.list_namespace().items).count("default") == 1
        client.close()
    finally:
        second.stop()


def test_corrupt_state_file_refuses_to_start(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{garbage")
    with pytest.raises(ValueError, match="cannot load"):
        FakeApiServer(persist_path=str(state)).start()


def test_periodic_persistence_writes_atomically(tmp_path, eventually):
    state = tmp_path / "state.json"
    server = FakeApiServer(persist_path=str(state), persist_interval=0.1)
    server.start()
    try:
        client = server.api_client()
        k8s.CoreV1Api(client).create_namespaced_config_map("default", {"metadata": {"name": "c"}})
        client.close()

        def saved_names() -> list[str]:
            if not state.exists():
                return []
            return [o["metadata"]["name"] for o in json.loads(state.read_text())["objects"]]

        eventually(lambda: "c" in saved_names())
        assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    finally:
        server.stop()


def test_refuses_non_loopback_addresses():
    with pytest.raises(ValueError, match="loopback"):
        FakeApiServer().start(host="0.0.0.0")


def test_cli_serves_until_sigterm_and_persists(tmp_path, eventually):
    kubeconfig = tmp_path / "kubeconfig"
    state = tmp_path / "state.json"
    program = os.path.join(os.path.dirname(sys.executable), "tke-eni-sim")
    proc = subprocess.Popen(
        [program, "apiserver", "--listen", "127.0.0.1:0", "--kubeconfig", str(kubeconfig), "--state-file", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in banner, proc.stderr.read() if proc.poll() is not None else banner
        config = json.loads(kubeconfig.read_text())
        server_url = config["clusters"][0]["cluster"]["server"]
        configuration = k8s.Configuration()
        configuration.host = server_url
        with k8s.ApiClient(configuration) as client:
            k8s.CoreV1Api(client).create_namespaced_config_map("default", {"metadata": {"name": "kept"}})
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    names = [o["metadata"]["name"] for o in json.loads(state.read_text())["objects"]]
    assert "kept" in names


def test_cli_rejects_a_bad_listen_address(tmp_path):
    program = os.path.join(os.path.dirname(sys.executable), "tke-eni-sim")
    started = time.monotonic()
    result = subprocess.run(
        [program, "apiserver", "--listen", "nonsense", "--kubeconfig", str(tmp_path / "k")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "HOST:PORT" in result.stderr
    assert time.monotonic() - started < 30
