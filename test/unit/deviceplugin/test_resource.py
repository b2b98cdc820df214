"""Resource names, socket names and device prefixes, and the plugin settings."""

from pathlib import Path

import pytest

from eni.agent.deviceplugin import (
    DIRECT_ENI,
    EIP,
    ENI_IP,
    STANDARD_RESOURCES,
    DevicePluginSettings,
    ResourceSpec,
    is_extended_resource_name,
)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("tke.cloud.tencent.com/eni-ip", True),
        ("example.com/foo_bar.baz", True),
        ("nvidia.com/gpu", True),
        ("eni-ip", False),
        ("kubernetes.io/eni-ip", False),
        ("node.kubernetes.io/eni-ip", False),
        ("Example.com/foo", False),
        ("example.com/", False),
        ("/foo", False),
        ("example.com/-foo", False),
        ("example.com/a/b", False),
        ("example.com/" + "x" * 64, False),
        ("example..com/foo", False),
    ],
)
def test_extended_resource_names(name, valid):
    assert is_extended_resource_name(name) is valid


def test_standard_resources_are_distinct():
    assert STANDARD_RESOURCES == (ENI_IP, DIRECT_ENI, EIP)
    assert ENI_IP.name == "tke.cloud.tencent.com/eni-ip"
    assert DIRECT_ENI.name == "tke.cloud.tencent.com/direct-eni"
    assert EIP.name == "tke.cloud.tencent.com/eip"
    for attribute in ("name", "socket_name", "device_prefix"):
        assert len({getattr(r, attribute) for r in STANDARD_RESOURCES}) == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "eni-ip"},
        {"socket_name": "../kubelet.sock"},
        {"socket_name": "plugin"},
        {"device_prefix": "ENI"},
        {"device_prefix": "x" * 41},
        {"device_prefix": ""},
    ],
)
def test_bad_resource_specs_are_rejected(kwargs):
    fields = {"name": "example.com/thing", "socket_name": "thing.sock", "device_prefix": "thing"} | kwargs
    with pytest.raises(ValueError):
        ResourceSpec(**fields)


def test_settings_defaults_follow_the_kubelet():
    settings = DevicePluginSettings()

    assert settings.kubelet_socket == Path("/var/lib/kubelet/device-plugins/kubelet.sock")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"poll_interval": 0},
        {"register_timeout": -1},
        {"stream_heartbeat": 0.0},
        {"shutdown_grace": 0},
        {"max_workers": 1},
        {"kubelet_socket_name": "a/kubelet.sock"},
        {"kubelet_socket_name": ""},
    ],
)
def test_bad_settings_are_rejected(kwargs):
    with pytest.raises(ValueError):
        DevicePluginSettings(**kwargs)
