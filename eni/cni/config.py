"""Parsing and validation of what the runtime hands a CNI plugin: the environment and the network config.

Why here and pure: every rule about bad input (missing env vars, malformed JSON, unsupported versions,
oversized stdin) is decided before the agent is contacted, and is tested with tables.
Must never: import anything outside the standard library, or use syntax newer than Python 3.8.
"""

from __future__ import annotations

from . import jsonio
from .errors import (
    DECODING_FAILURE,
    INCOMPATIBLE_VERSION,
    INVALID_CONFIG,
    INVALID_ENVIRONMENT,
    CniError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # NB: typing costs milliseconds of every plugin start; annotations are strings here
    from typing import Any, Dict, Mapping, Optional

SUPPORTED_VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0")
LATEST_VERSION = "1.0.0"
COMMANDS = ("ADD", "DEL", "CHECK", "VERSION")
MAX_STDIN_BYTES = 1 << 20
DEFAULT_AGENT_SOCKET = "/run/tke-eni/agent.json.sock"
DEFAULT_TIMEOUT = 10.0


class CniEnv:
    """The CNI_* environment of one invocation."""

    __slots__ = ("command", "container_id", "netns", "ifname", "pod_namespace", "pod_name", "pod_uid")

    def __init__(self, command: str, container_id: str = "", netns: str = "", ifname: str = "",
                 pod_namespace: str = "", pod_name: str = "", pod_uid: str = "") -> None:
        self.command = command
        self.container_id = container_id
        self.netns = netns
        self.ifname = ifname
        self.pod_namespace = pod_namespace
        self.pod_name = pod_name
        self.pod_uid = pod_uid


class NetConf:
    """The parts of the network config the plugins use; ``raw`` is the whole document."""

    __slots__ = ("cni_version", "name", "plugin_type", "agent_socket", "timeout", "mtu", "dns", "raw")

    def __init__(self, *, cni_version: str, name: str, plugin_type: str, agent_socket: str, timeout: float,
                 mtu: int, dns: Dict[str, Any], raw: Dict[str, Any]) -> None:
        self.cni_version = cni_version
        self.name = name
        self.plugin_type = plugin_type
        self.agent_socket = agent_socket
        self.timeout = timeout
        self.mtu = mtu
        self.dns = dns
        self.raw = raw


def read_env(environ: Mapping[str, str]) -> CniEnv:
    """The CNI_* variables; raises ``CniError`` (code 4) when a required one is missing or malformed."""
    command = environ.get("CNI_COMMAND", "")
    if not command:
        raise CniError(INVALID_ENVIRONMENT, "CNI_COMMAND is not set")
    if command not in COMMANDS:
        raise CniError(INVALID_ENVIRONMENT, "unknown CNI_COMMAND: " + command)
    if command == "VERSION":
        return CniEnv(command)
    missing = [v for v in ("CNI_CONTAINERID", "CNI_IFNAME") if not environ.get(v)]
    if command in ("ADD", "CHECK") and not environ.get("CNI_NETNS"):
        missing.append("CNI_NETNS")
    if missing:
        raise CniError(INVALID_ENVIRONMENT, "required environment variables missing: " + ", ".join(missing))
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


def parse_cni_args(text: str) -> Dict[str, str]:
    """``CNI_ARGS`` ("K=V;K=V") as a dict.

    >>> parse_cni_args("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0")["K8S_POD_NAME"]
    'web-0'
    """
    args: Dict[str, str] = {}
    for pair in text.split(";"):
        if not pair:
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CniError(INVALID_ENVIRONMENT, "CNI_ARGS: invalid pair " + repr(pair))
        args[key] = value
    return args


def parse_version(data: bytes) -> str:
    """The cniVersion of a VERSION request's stdin; the latest when there is no usable config."""
    try:
        doc = jsonio.loads(data) if data.strip() else {}
    except ValueError:
        return LATEST_VERSION
    version = doc.get("cniVersion") if isinstance(doc, dict) else None
    return version if isinstance(version, str) and version else LATEST_VERSION


def parse_netconf(data: bytes, *, section: Optional[str] = None,
                  default_socket: str = DEFAULT_AGENT_SOCKET) -> NetConf:
    """The network config; ``section`` names a sub-object ("ipam") holding the plugin's own options, and
    ``default_socket`` is the agent socket when the config names none."""
    if len(data) > MAX_STDIN_BYTES:
        raise CniError(DECODING_FAILURE, "network configuration is larger than %d bytes" % MAX_STDIN_BYTES)
    try:
        doc = jsonio.loads(data)
    except ValueError as e:
        raise CniError(DECODING_FAILURE, "network configuration is not valid JSON", str(e)) from None
    if not isinstance(doc, dict):
        raise CniError(DECODING_FAILURE, "network configuration must be a JSON object")
    version = doc.get("cniVersion")
    if not isinstance(version, str) or not version:
        raise CniError(INVALID_CONFIG, "cniVersion is missing")
    if version not in SUPPORTED_VERSIONS:
        raise CniError(INCOMPATIBLE_VERSION, "incompatible CNI version " + version,
                       "supported: " + ", ".join(SUPPORTED_VERSIONS))
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise CniError(INVALID_CONFIG, "name is missing")
    options = doc if section is None else doc.get(section)
    if not isinstance(options, dict):
        raise CniError(INVALID_CONFIG, "%s must be an object" % section)
    plugin_type = options.get("type")
    if not isinstance(plugin_type, str) or not plugin_type:
        raise CniError(INVALID_CONFIG, "type is missing")
    return NetConf(
        cni_version=version,
        name=name,
        plugin_type=plugin_type,
        agent_socket=_str_option(options, "agentSocket", default_socket),
        timeout=_number_option(options, "timeoutSeconds", DEFAULT_TIMEOUT, 0.1, 300.0),
        mtu=int(_number_option(options, "mtu", 0, 0, 65535)),
        dns=_dns(doc.get("dns") if section is None else options.get("dns")),
        raw=doc,
    )


def _str_option(options: Mapping[str, Any], key: str, default: str) -> str:
    value = options.get(key, default)
    if not isinstance(value, str) or not value:
        raise CniError(INVALID_CONFIG, key + " must be a non-empty string")
    return value


def _number_option(options: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise CniError(INVALID_CONFIG, "%s must be a number in %s..%s" % (key, low, high))
    return float(value)


def _dns(value: Any) -> Dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CniError(INVALID_CONFIG, "dns must be an object")
    return {k: value[k] for k in ("nameservers", "domain", "search", "options") if value.get(k)}
