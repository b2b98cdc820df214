"""The simulated kubelet's own contract: what Register accepts, and how it reports resources."""

import grpc
import pytest

from eni.agent.deviceplugin import API_VERSION, EIP, ENI_IP, HEALTHY, UNHEALTHY
from eni.rpc import deviceplugin_pb2 as pb
from eni.rpc import deviceplugin_pb2_grpc as pb_grpc
from eni.sim.kubelet import FakeDeviceManager, ResourceCounts, UnknownResourceError

WAIT = 10.0


@pytest.fixture
def registration(kubelet):
    with grpc.insecure_channel(f"unix://{kubelet.kubelet_socket}") as channel:
        yield pb_grpc.RegistrationStub(channel)


def register(stub, **fields):
    request = {"version": API_VERSION, "endpoint": "x.sock", "resource_name": "example.com/thing"} | fields
    return stub.Register(pb.RegisterRequest(**request), timeout=5)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"version": "v1alpha"}, "unsupported device plugin API version"),
        ({"version": ""}, "unsupported device plugin API version"),
        ({"version": "v1beta1\x00" + "x" * 5000}, "unsupported device plugin API version"),
        ({"resource_name": "eni-ip"}, "invalid extended resource name"),
        ({"resource_name": "kubernetes.io/eni-ip"}, "invalid extended resource name"),
        ({"endpoint": ""}, "endpoint must be"),
        ({"endpoint": "../../etc/x.sock"}, "endpoint must be"),
        ({"endpoint": "kubelet.sock"}, "endpoint must be"),
    ],
)
def test_unacceptable_registrations_are_refused(kubelet, registration, fields, message):
    with pytest.raises(grpc.RpcError) as raised:
        register(registration, **fields)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in raised.value.details()
    assert len(raised.value.details()) < 500
    assert kubelet.registrations() == []
    assert kubelet.resources() == {}


def test_garbage_bytes_at_register_fail_and_the_kubelet_keeps_serving(kubelet, registration, run_plugin):
    with grpc.insecure_channel(f"unix://{kubelet.kubelet_socket}") as channel:
        raw = channel.unary_unary("/v1beta1.Registration/Register")  # bytes in, bytes out
        with pytest.raises(grpc.RpcError) as raised:
            raw(b"\x0a\xff\xff\xff\xff\x0f garbage", timeout=5)
    assert raised.value.code() != grpc.StatusCode.OK
    assert kubelet.registrations() == []

    run_plugin(capacity=1, healthy=1)
    assert kubelet.wait_until(lambda: kubelet.counts(ENI_IP.name) == ResourceCounts(1, 1), timeout=WAIT)


def test_registration_of_a_plugin_that_does_not_serve_leaves_it_unusable(plugin_dir):
    with FakeDeviceManager(plugin_dir, call_timeout=0.3) as kubelet:
        with grpc.insecure_channel(f"unix://{kubelet.kubelet_socket}") as channel:
            register(pb_grpc.RegistrationStub(channel), endpoint="nobody.sock", resource_name="example.com/ghost")

        connection = kubelet.connection("example.com/ghost")
        assert connection is not None
        assert kubelet.wait_until(lambda: connection.stream_status is not None, timeout=WAIT)
        assert connection.stream_status == grpc.StatusCode.DEADLINE_EXCEEDED
        assert kubelet.counts("example.com/ghost") == ResourceCounts(capacity=0, allocatable=0)


def test_a_new_registration_replaces_the_old_connection(kubelet, run_plugin):
    plugin = run_plugin(EIP, capacity=2, healthy=2)
    assert kubelet.wait_until(lambda: kubelet.counts(EIP.name) == ResourceCounts(2, 2), timeout=WAIT)
    first = kubelet.connection(EIP.name)

    kubelet.restart(wipe_plugin_sockets=False)

    assert kubelet.wait_until(lambda: kubelet.connection(EIP.name) not in (None, first), timeout=WAIT)
    assert kubelet.wait_until(lambda: kubelet.counts(EIP.name) == ResourceCounts(2, 2), timeout=WAIT)
    plugin.server.update(capacity=2, healthy=1)
    assert kubelet.wait_until(lambda: kubelet.devices(EIP.name) == {"eip-0": HEALTHY, "eip-1": UNHEALTHY}, timeout=WAIT)


def test_stopped_kubelet_reports_devices_unusable_and_removes_its_socket(kubelet, run_plugin, changes):
    run_plugin(capacity=3, healthy=2)
    assert kubelet.wait_until(lambda: kubelet.counts(ENI_IP.name) == ResourceCounts(3, 2), timeout=WAIT)

    kubelet.stop()

    assert kubelet.counts(ENI_IP.name) == ResourceCounts(capacity=3, allocatable=0)
    assert changes[-1] == (ENI_IP.name, ResourceCounts(capacity=3, allocatable=0))
    assert not kubelet.kubelet_socket.exists()
    with pytest.raises(UnknownResourceError):
        kubelet.allocate(ENI_IP.name, [["eni-ip-0"]])


def test_restart_before_start_just_starts(plugin_dir):
    manager = FakeDeviceManager(plugin_dir)
    try:
        manager.restart()
        assert manager.kubelet_socket.exists()
    finally:
        manager.stop()


def test_restart_wipes_plugin_sockets_only(kubelet, run_plugin):
    (kubelet.plugin_dir / "notes.txt").write_text("keep me")
    run_plugin(capacity=1, healthy=1)
    assert kubelet.wait_until(lambda: len(kubelet.registrations()) == 1, timeout=WAIT)

    kubelet.restart()

    assert (kubelet.plugin_dir / "notes.txt").read_text() == "keep me"
    assert not any(p.name.endswith(".previous") for p in kubelet.plugin_dir.iterdir())
