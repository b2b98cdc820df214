"""Real device plugins against the simulated kubelet, over real gRPC on unix sockets."""

import socket

import grpc
import pytest

from eni.agent.deviceplugin import (
    DIRECT_ENI,
    EIP,
    ENI_IP,
    HEALTHY,
    UNHEALTHY,
    InvalidDeviceCountsError,
    RegistrationError,
)
from eni.sim.kubelet import FakeDeviceManager, PluginRegistration, ResourceCounts

R = ENI_IP.name
WAIT = 10.0  # generous bound for asynchronous outcomes; passing runs take milliseconds


def counts_become(kubelet, resource, capacity, allocatable):
    return kubelet.wait_until(
        lambda: kubelet.counts(resource) == ResourceCounts(capacity=capacity, allocatable=allocatable), timeout=WAIT
    )


def test_register_handshake(kubelet, run_plugin):
    plugin = run_plugin(capacity=3, healthy=1)

    assert kubelet.wait_until(lambda: len(kubelet.registrations()) == 1, timeout=WAIT)
    assert kubelet.registrations() == [
        PluginRegistration(
            version="v1beta1",
            endpoint="tke-eni-ip.sock",
            resource_name="tke.cloud.tencent.com/eni-ip",
            pre_start_required=False,
            get_preferred_allocation_available=False,
        )
    ]
    assert plugin.server.socket_path == kubelet.plugin_dir / "tke-eni-ip.sock"
    assert kubelet.wait_until(lambda: plugin.server.registrations == 1, timeout=WAIT)


def test_initial_list_and_counts(kubelet, run_plugin):
    run_plugin(capacity=4, healthy=2)

    assert counts_become(kubelet, R, capacity=4, allocatable=2)
    assert kubelet.devices(R) == {
        "eni-ip-0": HEALTHY,
        "eni-ip-1": HEALTHY,
        "eni-ip-2": UNHEALTHY,
        "eni-ip-3": UNHEALTHY,
    }


def test_list_follows_the_pool_as_it_grows_and_shrinks(kubelet, run_plugin, changes):
    plugin = run_plugin(capacity=10, healthy=0)
    assert counts_become(kubelet, R, capacity=10, allocatable=0)

    for capacity, healthy in [(10, 3), (10, 10), (12, 12), (12, 5), (6, 5), (0, 0)]:
        assert plugin.server.update(capacity=capacity, healthy=healthy) is True
        assert counts_become(kubelet, R, capacity=capacity, allocatable=healthy), (capacity, healthy)

    assert plugin.server.update(capacity=0, healthy=0) is False
    steps = [(10, 0), (10, 3), (10, 10), (12, 12), (12, 5), (6, 5), (0, 0)]
    assert [c for r, c in changes if r == R] == [ResourceCounts(capacity=c, allocatable=h) for c, h in steps]
    assert plugin.server.active_streams == 1


def test_impossible_update_is_refused_and_changes_nothing(kubelet, run_plugin):
    plugin = run_plugin(capacity=5, healthy=2)
    assert counts_become(kubelet, R, capacity=5, allocatable=2)

    with pytest.raises(InvalidDeviceCountsError):
        plugin.server.update(capacity=5, healthy=6)
    plugin.server.update(capacity=5, healthy=3)  # a later valid change still flows

    assert counts_become(kubelet, R, capacity=5, allocatable=3)


def test_allocate_valid_devices(kubelet, run_plugin):
    run_plugin(capacity=4, healthy=3)
    assert counts_become(kubelet, R, capacity=4, allocatable=3)

    response = kubelet.allocate(R, [["eni-ip-0"], ["eni-ip-1", "eni-ip-2"]])

    assert len(response.container_responses) == 2
    assert all(not c.envs and not c.mounts and not c.devices for c in response.container_responses)


@pytest.mark.parametrize(
    ("containers", "message"),
    [
        ([["eni-ip-9"]], "unknown device id 'eni-ip-9'"),
        ([["eni-ip-3"]], "not usable now"),
        ([["eni-ip-0"], ["eni-ip-0x"]], "unknown device id"),
        ([["eni-ip-1", "eni-ip-1"]], "named twice"),
        ([[]], "names no device"),
        ([], "container requests"),
    ],
)
def test_allocate_invalid_devices(kubelet, run_plugin, containers, message):
    run_plugin(capacity=4, healthy=3)
    assert counts_become(kubelet, R, capacity=4, allocatable=3)

    with pytest.raises(grpc.RpcError) as raised:
        kubelet.allocate(R, containers)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in raised.value.details()
    assert len(kubelet.allocate(R, [["eni-ip-0"]]).container_responses) == 1  # still serving


def test_preferred_allocation_over_grpc(kubelet, run_plugin):
    run_plugin(capacity=6, healthy=4)
    assert counts_become(kubelet, R, capacity=6, allocatable=4)

    chosen = kubelet.preferred_allocation(R, available=["eni-ip-3", "eni-ip-5", "eni-ip-1"], size=2)

    assert chosen == ["eni-ip-1", "eni-ip-3"]


def test_kubelet_restart_wiping_the_folder_leads_to_reregistration(kubelet, run_plugin):
    plugin = run_plugin(capacity=8, healthy=6)
    assert counts_become(kubelet, R, capacity=8, allocatable=6)

    kubelet.restart(wipe_plugin_sockets=True)

    assert kubelet.wait_until(lambda: len(kubelet.registrations()) == 2, timeout=WAIT)
    assert counts_become(kubelet, R, capacity=8, allocatable=6)
    assert plugin.server.socket_path.exists()  # served again after the wipe
    assert kubelet.wait_until(lambda: plugin.server.registrations == 2, timeout=WAIT)
    plugin.server.update(capacity=8, healthy=7)  # the new stream carries updates
    assert counts_become(kubelet, R, capacity=8, allocatable=7)
    assert len(kubelet.allocate(R, [["eni-ip-6"]]).container_responses) == 1


def test_kubelet_restart_keeping_plugin_sockets_leads_to_reregistration(kubelet, run_plugin):
    plugin = run_plugin(capacity=2, healthy=2)
    assert counts_become(kubelet, R, capacity=2, allocatable=2)

    kubelet.restart(wipe_plugin_sockets=False)

    assert kubelet.wait_until(lambda: len(kubelet.registrations()) == 2, timeout=WAIT)
    assert counts_become(kubelet, R, capacity=2, allocatable=2)
    assert kubelet.wait_until(lambda: plugin.server.registrations == 2, timeout=WAIT)


def test_stale_streams_end_after_kubelet_restart(kubelet, run_plugin):
    plugin = run_plugin(capacity=2, healthy=1)
    assert counts_become(kubelet, R, capacity=2, allocatable=1)

    for restarts in range(1, 4):
        kubelet.restart(wipe_plugin_sockets=False)
        assert kubelet.wait_until(lambda n=restarts: len(kubelet.registrations()) == 1 + n, timeout=WAIT)

    assert kubelet.wait_until(lambda: plugin.server.active_streams == 1, timeout=WAIT)


def test_plugin_socket_removed_behind_its_back_is_recreated(kubelet, run_plugin):
    plugin = run_plugin(capacity=3, healthy=3)
    assert counts_become(kubelet, R, capacity=3, allocatable=3)

    plugin.server.socket_path.unlink()

    assert kubelet.wait_until(lambda: len(kubelet.registrations()) == 2, timeout=WAIT)
    assert counts_become(kubelet, R, capacity=3, allocatable=3)
    assert plugin.server.socket_path.exists()


def test_plugin_started_before_the_kubelet_registers_once_it_appears(plugin_dir, run_plugin, changes):
    plugin = run_plugin(capacity=2, healthy=1)
    manager = FakeDeviceManager(plugin_dir)
    try:
        assert manager.wait_until(lambda: plugin.server.socket_path.exists(), timeout=WAIT)
        assert plugin.server.registrations == 0
        manager.start()
        assert counts_become(manager, R, capacity=2, allocatable=1)
    finally:
        manager.stop()


def test_plugin_stop_ends_streams_cleanly_and_removes_its_socket(kubelet, run_plugin):
    plugin = run_plugin(capacity=3, healthy=2)
    assert counts_become(kubelet, R, capacity=3, allocatable=2)
    connection = kubelet.connection(R)

    plugin.stop()

    assert kubelet.wait_until(lambda: connection.stream_status is not None, timeout=WAIT)
    assert connection.stream_status == grpc.StatusCode.OK
    assert counts_become(kubelet, R, capacity=3, allocatable=0)  # the kubelet marks the devices unusable
    assert not plugin.server.socket_path.exists()
    assert kubelet.kubelet_socket.exists()
    assert plugin.server.active_streams == 0


def test_three_resources_side_by_side(kubelet, run_plugin):
    run_plugin(ENI_IP, capacity=30, healthy=12)
    run_plugin(DIRECT_ENI, capacity=3, healthy=3)
    run_plugin(EIP, capacity=9, healthy=9)

    assert kubelet.wait_until(
        lambda: kubelet.resources()
        == {
            ENI_IP.name: ResourceCounts(capacity=30, allocatable=12),
            DIRECT_ENI.name: ResourceCounts(capacity=3, allocatable=3),
            EIP.name: ResourceCounts(capacity=9, allocatable=9),
        },
        timeout=WAIT,
    )
    endpoints = sorted(r.endpoint for r in kubelet.registrations())
    assert endpoints == ["tke-direct-eni.sock", "tke-eip.sock", "tke-eni-ip.sock"]


def test_a_regular_file_at_the_socket_path_is_reported_not_deleted(plugin_dir, run_plugin):
    (plugin_dir / ENI_IP.socket_name).write_text("not a socket")

    plugin = run_plugin(capacity=1, healthy=1)
    plugin.thread.join(WAIT)

    assert [type(e).__name__ for e in plugin.errors] == ["SocketPathError"]
    assert (plugin_dir / ENI_IP.socket_name).read_text() == "not a socket"


def test_garbage_on_the_plugin_socket_does_not_hurt(kubelet, run_plugin):
    plugin = run_plugin(capacity=2, healthy=2)
    assert counts_become(kubelet, R, capacity=2, allocatable=2)

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
        raw.settimeout(5)
        raw.connect(str(plugin.server.socket_path))
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 8)
    path = f"unix://{plugin.server.socket_path}"
    with grpc.insecure_channel(path) as channel:
        allocate = channel.unary_unary("/v1beta1.DevicePlugin/Allocate")  # raw bytes in and out
        with pytest.raises(grpc.RpcError) as raised:
            allocate(b"\xff\xff\xff\xff garbage", timeout=5)
    assert raised.value.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT)

    assert len(kubelet.allocate(R, [["eni-ip-1"]]).container_responses) == 1
    plugin.server.update(capacity=2, healthy=1)
    assert counts_become(kubelet, R, capacity=2, allocatable=1)


def test_socket_path_taken_while_running_is_retried_and_never_deleted(kubelet, run_plugin):
    plugin = run_plugin(capacity=2, healthy=2)
    assert counts_become(kubelet, R, capacity=2, allocatable=2)

    plugin.server.socket_path.unlink()
    plugin.server.socket_path.write_text("an operator's file")
    # The plugin notices (its old server stops, so the kubelet's stream ends) but must not delete the file.
    assert counts_become(kubelet, R, capacity=2, allocatable=0)
    assert plugin.server.socket_path.read_text() == "an operator's file"
    assert plugin.thread.is_alive()
    plugin.server.socket_path.unlink()  # the path is free again: the plugin takes it back

    assert kubelet.wait_until(lambda: plugin.server.registrations == 2, timeout=WAIT)
    assert counts_become(kubelet, R, capacity=2, allocatable=2)
    assert plugin.errors == []


def test_readiness_follows_registration(plugin_dir, run_plugin):
    plugin = run_plugin(capacity=1, healthy=1)
    assert plugin.server.need_leader_election() is False
    with pytest.raises(RegistrationError, match="not registered with the kubelet yet"):
        plugin.server.check_registered()

    manager = FakeDeviceManager(plugin_dir)
    manager.start()
    try:
        assert manager.wait_until(lambda: plugin.server.registered, timeout=WAIT)
        plugin.server.check_registered()
    finally:
        manager.stop()
    assert not plugin.server.registered  # the kubelet's socket is gone
    with pytest.raises(RegistrationError):
        plugin.server.check_registered()


def test_a_rejected_registration_is_reported_by_the_readiness_check(plugin_dir, run_plugin):
    # A kubelet that refuses every registration, as a real one does when another plugin holds the resource.
    class Refusing(FakeDeviceManager):
        def _accept(self, request):
            raise ValueError("resource taken")

    with Refusing(plugin_dir) as manager:
        plugin = run_plugin(capacity=1, healthy=1)
        assert manager.wait_until(lambda: _reason(plugin) is not None and "resource taken" in _reason(plugin),
                                  timeout=WAIT)
        assert "INVALID_ARGUMENT" in _reason(plugin)
        assert not plugin.server.registered


def _reason(plugin):
    try:
        plugin.server.check_registered()
    except RegistrationError as e:
        return str(e)
    return None
