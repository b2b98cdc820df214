"""The CNI verbs of ``tke-route-eni`` and ``tke-eni-ipamc``, run inside the agent for the forwarding plugins.

Why here: the runtime execs a plugin per pod and waits for it, and a Python plugin's own work (decoding JSON,
building messages and results) costs as much as the agent's. So the plugin forwards its CNI_* environment and
stdin untouched and prints what comes back; this module parses them (``cniconf``), calls the service through
``AgentHandlers.call`` (timed and reported as the API's methods, with the same error mapping as the gRPC and
JSON edges, without building their protobuf messages) and renders the CNI result or error document, in the
shape of the config's CNI version.

Must never: raise (every failure becomes a CNI error document with the spec's code); print anything but one
JSON document; call a method before the input was validated.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from eni.agent.cniconf import (
    INCOMPATIBLE_VERSION,
    INTERNAL,
    INVALID_ENVIRONMENT,
    LATEST_VERSION,
    MAX_STDIN_BYTES,
    SUPPORTED_VERSIONS,
    UNKNOWN_CONTAINER,
    CniEnv,
    CniFailure,
    NetConf,
    parse_env,
    parse_netconf,
    sniff_version,
)
from eni.agent.errors import AgentError
from eni.agent.handlers import AgentHandlers, error_info, error_text
from eni.agent.ledger import AttachmentKey, PodRef
from eni.agent.servicetypes import AddResult, IpamResult, PodRequest

__all__ = ["CniOutcome", "CniVerbs", "IPAMC", "PLUGINS", "ROUTE_ENI"]

log = logging.getLogger(__name__)
_T = TypeVar("_T")

ROUTE_ENI = "tke-route-eni"
IPAMC = "tke-eni-ipamc"
PLUGINS: Mapping[str, str | None] = {ROUTE_ENI: None, IPAMC: "ipam"}
"""The plugins served, each with the config section holding its options (None: the top level)."""


@dataclass(frozen=True, slots=True)
class CniOutcome:
    """What the plugin process does: print ``stdout`` and exit with ``status``."""

    status: int
    stdout: bytes


class CniVerbs:
    """Runs one plugin invocation over the agent API ``handlers``."""

    def __init__(self, handlers: AgentHandlers) -> None:
        self._handlers = handlers
        self._service = handlers.service
        self._verbs: dict[str, Callable[[CniEnv, NetConf], dict[str, Any] | None]] = {
            ROUTE_ENI: self._route_eni, IPAMC: self._ipamc}

    def run(self, plugin: str, environ: Mapping[str, str], stdin: bytes) -> CniOutcome:
        """The outcome of ``plugin`` run with ``environ`` (its CNI_* variables) and ``stdin``."""
        try:
            if plugin not in PLUGINS:
                raise CniFailure(INVALID_ENVIRONMENT, f"the agent serves no CNI plugin named {plugin!r}")
            env = parse_env(environ)
            if env.command == "VERSION":
                version = _answer_version(stdin)
                return _printed(0, {"cniVersion": version if version in SUPPORTED_VERSIONS else LATEST_VERSION,
                                    "supportedVersions": list(SUPPORTED_VERSIONS)})
            conf = parse_netconf(stdin, section=PLUGINS[plugin])
            result = self._verbs[plugin](env, conf)
            return _printed(0, result) if result else CniOutcome(0, b"")
        except CniFailure as e:
            return _printed(1, e.document(_answer_version(stdin)))
        except Exception as e:  # NB: a bug must still reach the runtime as an error document, not a closed socket
            log.exception("CNI verb failed", extra={"plugin": plugin})
            failure = CniFailure(INTERNAL, f"internal error: {type(e).__name__}: {e}")
            return _printed(1, failure.document(_answer_version(stdin)))

    # --- the verbs -----------------------------------------------------------------------------------

    def _route_eni(self, env: CniEnv, conf: NetConf) -> dict[str, Any] | None:
        request = _request(env, conf)
        if env.command == "ADD":
            return add_result(conf.cni_version, self._call("Add", lambda: self._service.add(request)), conf.dns)
        _require_check_support(env, conf)
        if env.command == "DEL":
            self._call("Del", lambda: self._service.delete(request))
        else:
            self._call("Check", lambda: self._service.check(request))
        return None

    def _ipamc(self, env: CniEnv, conf: NetConf) -> dict[str, Any] | None:
        request = _request(env, conf)
        if env.command == "ADD":
            allocated = self._call("Allocate", lambda: self._service.allocate(request.key, request.pod))
            return ipam_result(conf.cni_version, allocated, conf.dns)
        _require_check_support(env, conf)
        if env.command == "DEL":
            self._call("Release", lambda: self._service.release(request.key))
            return None
        held = self._call("ListAllocations", self._handlers.allocations)
        if not any(a.key == request.key for a in held):
            raise CniFailure(UNKNOWN_CONTAINER, "no IP is allocated to container " + env.container_id)
        return None

    def _call(self, method: str, operation: Callable[[], _T]) -> _T:
        """What the service returns, timed as the API method ``method``; a failure as the ``CniFailure`` the
        JSON edge would have reported."""
        try:
            return self._handlers.call(method, operation)
        except Exception as e:
            if not isinstance(e, AgentError):
                log.exception("Agent API call failed", extra={"method": method})
            info = error_info(e)
            raise CniFailure(info.cni_code or INTERNAL, error_text(e) or "the tke-eni agent failed",
                             info.reason) from None


def _answer_version(stdin: bytes) -> str:
    """The CNI version a VERSION answer or an error document is in; read only then, not on every success
    (it parses the config a second time)."""
    return sniff_version(stdin) if len(stdin) <= MAX_STDIN_BYTES else LATEST_VERSION


# --- requests and results ------------------------------------------------------------------------------


def _request(env: CniEnv, conf: NetConf) -> PodRequest:
    texts = (conf.name, env.container_id, env.ifname, env.netns, env.pod_namespace, env.pod_name, env.pod_uid)
    try:
        for text in texts:
            text.encode()
    except UnicodeEncodeError as e:  # e.g. a lone surrogate from an undecodable environment variable
        raise CniFailure(INVALID_ENVIRONMENT, f"malformed CNI environment: {e}") from None
    return PodRequest(key=AttachmentKey(network_name=conf.name, container_id=env.container_id, ifname=env.ifname),
                      pod=PodRef(namespace=env.pod_namespace, name=env.pod_name, uid=env.pod_uid),
                      netns=env.netns, mtu=conf.mtu)


def _require_check_support(env: CniEnv, conf: NetConf) -> None:
    if env.command == "CHECK" and conf.cni_version.startswith("0.") and conf.cni_version < "0.4.0":
        raise CniFailure(INCOMPATIBLE_VERSION, f"config version {conf.cni_version} does not allow CHECK")


def ip_entry(cni_version: str, address: str, gateway: str, interface: int | None) -> dict[str, Any]:
    """One ``ips`` entry; 0.3.x/0.4.0 require its ``version`` field, 1.0.0 dropped it."""
    entry: dict[str, Any] = {"address": address}
    if gateway:
        entry["gateway"] = gateway
    if interface is not None:
        entry["interface"] = interface
    if cni_version.startswith("0."):
        entry["version"] = "4"
    return entry


def add_result(cni_version: str, added: AddResult, dns: Mapping[str, Any]) -> dict[str, Any]:
    """tke-route-eni's ADD result: [host veth, pod interface], the IP on the pod's interface, the routes (via
    the gateway). An exclusive ENI has no host end: then the pod's interface is the only one."""
    ifs = added.interfaces
    pod = {"name": ifs.container_ifname, "mac": ifs.container_mac, "sandbox": added.netns}
    interfaces = [{"name": ifs.host_ifname, "mac": ifs.host_mac}, pod] if ifs.host_ifname else [pod]
    gateway = str(added.gateway)
    result: dict[str, Any] = {
        "cniVersion": cni_version,
        "interfaces": interfaces,
        "ips": [ip_entry(cni_version, str(added.address), gateway, len(interfaces) - 1)],
        "routes": [{"dst": str(route), "gw": gateway} for route in added.routes],
    }
    if dns:
        result["dns"] = dict(dns)
    return result


def ipam_result(cni_version: str, allocated: IpamResult, dns: Mapping[str, Any]) -> dict[str, Any]:
    """tke-eni-ipamc's ADD result: IPs and routes (the main plugin picks their gateway), no interfaces (the main
    plugin makes them)."""
    result: dict[str, Any] = {
        "cniVersion": cni_version,
        "ips": [ip_entry(cni_version, str(allocated.address), str(allocated.gateway), None)],
        "routes": [{"dst": str(route)} for route in allocated.routes],
    }
    if dns:
        result["dns"] = dict(dns)
    return result


def _printed(status: int, doc: Mapping[str, Any]) -> CniOutcome:
    return CniOutcome(status, json.dumps(doc, separators=(",", ":")).encode() + b"\n")
