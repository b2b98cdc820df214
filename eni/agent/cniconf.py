"""What the container runtime hands a CNI plugin, as the agent reads it: the CNI_* environment and the network config.

Why in the agent: the plugins forward their environment and stdin untouched (``tke-cni/1`` frames on the JSON
socket, see ``eni.agent.jsonserver``), so that a plugin process parses nothing and starts at the cost of a bare
interpreter. Every rule about bad input is decided here, with the CNI spec's error codes, before any agent
method runs. The rules are those of ``eni.cni.config``, which the plugins still apply on their rare slow
paths (no agent, options naming another socket); a unit test holds both to the same table.

Must never: change state; raise anything but ``CniFailure`` for bad input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "COMMANDS",
    "LATEST_VERSION",
    "MAX_STDIN_BYTES",
    "SUPPORTED_VERSIONS",
    "CniEnv",
    "CniFailure",
    "NetConf",
    "parse_cni_args",
    "parse_env",
    "parse_netconf",
    "sniff_version",
]

SUPPORTED_VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0")
LATEST_VERSION = "1.0.0"
COMMANDS = ("ADD", "DEL", "CHECK", "VERSION")
MAX_STDIN_BYTES = 1 << 20

# The CNI spec's well-known error codes (spec 1.0.0, "Error" section).
INCOMPATIBLE_VERSION = 1
UNKNOWN_CONTAINER = 3
INVALID_ENVIRONMENT = 4
IO_FAILURE = 5
DECODING_FAILURE = 6
INVALID_CONFIG = 7
TRY_AGAIN_LATER = 11
INTERNAL = 999


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
    command = environ.get("CNI_COMMAND", "")
    if not command:
        raise CniFailure(INVALID_ENVIRONMENT, "CNI_COMMAND is not set")
    if command not in COMMANDS:
        raise CniFailure(INVALID_ENVIRONMENT, "unknown CNI_COMMAND: " + command)
    if command == "VERSION":
        return CniEnv(command)
    missing = [v for v in ("CNI_CONTAINERID", "CNI_IFNAME") if not environ.get(v)]
    if command in ("ADD", "CHECK") and not environ.get("CNI_NETNS"):
        missing.append("CNI_NETNS")
    if missing:
        raise CniFailure(INVALID_ENVIRONMENT, "required environment variables missing: " + ", ".join(missing))
    args = parse_cni_args(environ.get("CNI_ARGS", ""))
    return CniEnv(
        command=command,
        container_id=environ["CNI_CONTAINERID"],
        netns=environ.get("CNI_NETNS", ""),
        ifname=environ["CNI_IFNAME"],
        pod_namespace=args.get("K8S_POD_NAMESPACE", ""),
        pod_name=args.get("K8S_POD_NAME", ""),
        pod_uid=args.get("K8S_POD_UID", ""),
    )


def parse_cni_args(text: str) -> dict[str, str]:
    """``CNI_ARGS`` ("K=V;K=V") as a dict.

    >>> parse_cni_args("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0")["K8S_POD_NAME"]
    'web-0'
    """
    args: dict[str, str] = {}
    for pair in text.split(";"):
        if not pair:
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CniFailure(INVALID_ENVIRONMENT, "CNI_ARGS: invalid pair " + repr(pair))
        args[key] = value
    return args


def sniff_version(data: bytes) -> str:
    """The cniVersion to answer in: the config's when it names one, else the latest (never raises)."""
    try:
        doc = _loads(data) if data.strip() else {}
    except (ValueError, RecursionError):
        return LATEST_VERSION
    version = doc.get("cniVersion") if isinstance(doc, dict) else None
    return version if isinstance(version, str) and version else LATEST_VERSION


def parse_netconf(data: bytes, *, section: str | None = None) -> NetConf:
    """The network config; ``section`` names a sub-object ("ipam") holding the plugin's own options."""
    if len(data) > MAX_STDIN_BYTES:
        raise CniFailure(DECODING_FAILURE, f"network configuration is larger than {MAX_STDIN_BYTES} bytes")
    try:
        doc = _loads(data)
    except (ValueError, RecursionError) as e:
        raise CniFailure(DECODING_FAILURE, "network configuration is not valid JSON", str(e)) from None
    if not isinstance(doc, dict):
        raise CniFailure(DECODING_FAILURE, "network configuration must be a JSON object")
    version = doc.get("cniVersion")
    if not isinstance(version, str) or not version:
        raise CniFailure(INVALID_CONFIG, "cniVersion is missing")
    if version not in SUPPORTED_VERSIONS:
        raise CniFailure(INCOMPATIBLE_VERSION, "incompatible CNI version " + version,
                         "supported: " + ", ".join(SUPPORTED_VERSIONS))
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise CniFailure(INVALID_CONFIG, "name is missing")
    options = doc if section is None else doc.get(section)
    if not isinstance(options, dict):
        raise CniFailure(INVALID_CONFIG, f"{section} must be an object")
    plugin_type = options.get("type")
    if not isinstance(plugin_type, str) or not plugin_type:
        raise CniFailure(INVALID_CONFIG, "type is missing")
    # NB: agentSocket and timeoutSeconds are the plugin's own (where and how long to wait); checked here too, so
    # that a bad value is refused the same whichever path the plugin took.
    _str_option(options, "agentSocket")
    _number_option(options, "timeoutSeconds", 0.1, 300.0)
    mtu = _number_option(options, "mtu", 0, 65535)
    return NetConf(cni_version=version, name=name, plugin_type=plugin_type, mtu=int(mtu or 0),
                   dns=_dns(doc.get("dns") if section is None else options.get("dns")), raw=doc)


def _loads(data: bytes) -> Any:
    """Strict JSON: UTF-8 only (``json.loads`` would guess UTF-16/32 from bytes), no NaN or Infinity."""
    return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError("invalid JSON constant " + name)


def _str_option(options: Mapping[str, Any], key: str) -> None:
    if key in options and (not isinstance(options[key], str) or not options[key]):
        raise CniFailure(INVALID_CONFIG, key + " must be a non-empty string")


def _number_option(options: Mapping[str, Any], key: str, low: float, high: float) -> float | None:
    if key not in options:
        return None
    value = options[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise CniFailure(INVALID_CONFIG, f"{key} must be a number in {low}..{high}")
    return float(value)


def _dns(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CniFailure(INVALID_CONFIG, "dns must be an object")
    return {k: value[k] for k in ("nameservers", "domain", "search", "options") if value.get(k)}
