"""What the container runtime hands a CNI plugin, as the agent reads it: the CNI_* environment and the network config.

Why in the agent: the plugins forward their environment and stdin untouched (``tke-cni/1`` frames on the JSON
socket, see ``eni.agent.jsonserver``), so that a plugin process parses nothing and starts at the cost of a bare
interpreter. The rules themselves live once, in the plugins' standard-library ``eni.cni.config`` (which the
plugins still apply on their rare slow paths: no agent, options naming another socket); this module runs them
in the agent and hands the verbs plain values, with the CNI spec's error codes, before any agent method runs.

Must never: change state; raise anything but ``CniFailure`` for bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eni.cni import config as plugin_config
from eni.cni.config import COMMANDS, LATEST_VERSION, MAX_STDIN_BYTES, SUPPORTED_VERSIONS
from eni.cni.errors import (
    DECODING_FAILURE,
    INCOMPATIBLE_VERSION,
    INTERNAL,
    INVALID_CONFIG,
    INVALID_ENVIRONMENT,
    IO_FAILURE,
    TRY_AGAIN_LATER,
    UNKNOWN_CONTAINER,
    CniError,
)

__all__ = [
    "COMMANDS",
    "DECODING_FAILURE",
    "INCOMPATIBLE_VERSION",
    "INTERNAL",
    "INVALID_CONFIG",
    "INVALID_ENVIRONMENT",
    "IO_FAILURE",
    "LATEST_VERSION",
    "MAX_STDIN_BYTES",
    "SUPPORTED_VERSIONS",
    "TRY_AGAIN_LATER",
    "UNKNOWN_CONTAINER",
    "CniEnv",
    "CniFailure",
    "NetConf",
    "parse_cni_args",
    "parse_env",
    "parse_netconf",
    "sniff_version",
]

_T = TypeVar("_T")


class CniFailure(Exception):
    """A failure the plugin prints as the CNI error document ``{"cniVersion","code","msg","details"}``."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.details = details

    def document(self, cni_version: str) -> dict[str, Any]:
        return {"cniVersion": cni_version, "code": self.code, "msg": self.msg, "details": self.details}


@dataclass(frozen=True, slots=True)
class CniEnv:
    """The CNI_* environment of one invocation."""

    command: str
    container_id: str = ""
    netns: str = ""
    ifname: str = ""
    pod_namespace: str = ""
    pod_name: str = ""
    pod_uid: str = ""


@dataclass(frozen=True, slots=True)
class NetConf:
    """The parts of the network config the verbs use; ``raw`` is the whole document."""

    cni_version: str
    name: str
    plugin_type: str
    mtu: int = 0
    dns: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)


def parse_env(environ: Mapping[str, str]) -> CniEnv:
    """The CNI_* variables; ``CniFailure`` (code 4) when a required one is missing or malformed."""
    env = _failing_as_cni(lambda: plugin_config.read_env(environ))
    return CniEnv(command=env.command, container_id=env.container_id, netns=env.netns, ifname=env.ifname,
                  pod_namespace=env.pod_namespace, pod_name=env.pod_name, pod_uid=env.pod_uid)


def parse_cni_args(text: str) -> dict[str, str]:
    """``CNI_ARGS`` ("K=V;K=V") as a dict; ``CniFailure`` (code 4) on a malformed pair."""
    return _failing_as_cni(lambda: plugin_config.parse_cni_args(text))


def sniff_version(data: bytes) -> str:
    """The cniVersion to answer in: the config's when it names one, else the latest (never raises)."""
    return plugin_config.parse_version(data)


def parse_netconf(data: bytes, *, section: str | None = None) -> NetConf:
    """The network config; ``section`` names a sub-object ("ipam") holding the plugin's own options.

    The plugin's own options (``agentSocket``, ``timeoutSeconds``) are validated too, so that a bad value is
    refused the same whichever path the plugin took.
    """
    conf = _failing_as_cni(lambda: plugin_config.parse_netconf(data, section=section))
    return NetConf(cni_version=conf.cni_version, name=conf.name, plugin_type=conf.plugin_type, mtu=conf.mtu,
                   dns=conf.dns, raw=conf.raw)


def _failing_as_cni(parse: Callable[[], _T]) -> _T:
    try:
        return parse()
    except CniError as e:
        raise CniFailure(e.code, e.msg, e.details) from None
    except RecursionError:
        raise CniFailure(DECODING_FAILURE, "network configuration is not valid JSON", "nested too deeply") from None
