"""Fixtures: a short-named plugin folder, the simulated kubelet, and real plugins running on threads."""

import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from eni.agent.deviceplugin import ENI_IP, DevicePluginServer, DevicePluginSettings, ResourceSpec
from eni.sim.kubelet import FakeDeviceManager, ResourceCounts

WAIT = 10.0
"""Generous upper bound for anything asynchronous; passing runs take milliseconds."""


@pytest.fixture
def plugin_dir():
    # Not tmp_path: unix socket paths must stay under ~107 bytes.
    path = Path(tempfile.mkdtemp(prefix="dp-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def changes():
    """Every (resource, counts) the kubelet reported through on_change, in order."""
    return []


@pytest.fixture
def kubelet(plugin_dir, changes):
    def record(resource: str, counts: ResourceCounts) -> None:
        changes.append((resource, counts))

    manager = FakeDeviceManager(plugin_dir, on_change=record, call_timeout=5.0)
    manager.start()
    yield manager
    manager.stop()


@dataclass
class RunningPlugin:
    server: DevicePluginServer
    stop_event: threading.Event
    thread: threading.Thread
    errors: list[BaseException]

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "the plugin did not stop"


@pytest.fixture
def run_plugin(plugin_dir):
    running: list[RunningPlugin] = []

    def run(resource: ResourceSpec = ENI_IP, *, capacity: int = 0, healthy: int = 0) -> RunningPlugin:
        settings = DevicePluginSettings(
            plugin_dir=plugin_dir, poll_interval=0.05, stream_heartbeat=0.5, shutdown_grace=1.0
        )
        server = DevicePluginServer(resource, settings, capacity=capacity, healthy=healthy)
        stop = threading.Event()
        errors: list[BaseException] = []

        def target() -> None:
            try:
                server.start(stop)
            except BaseException as e:  # reported to the test, which decides whether it was expected
                errors.append(e)

        thread = threading.Thread(target=target, name=f"plugin-{resource.device_prefix}", daemon=True)
        handle = RunningPlugin(server=server, stop_event=stop, thread=thread, errors=errors)
        thread.start()
        running.append(handle)
        return handle

    yield run
    for handle in running:
        handle.stop()
