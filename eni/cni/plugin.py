"""The two CNI plugin executables: ``tke-route-eni`` (main plugin) and ``tke-eni-ipamc`` (IPAM plugin).

Why so thin: the runtime execs a plugin per pod and waits for it, so the plugins only parse, forward to the
agent's JSON socket and print; the agent does the work (ARCHITECTURE.md section 5). ``run`` takes its
environment, stdin and stdout as arguments so that tests drive it in-process.

Must never: print a traceback or anything but one JSON document on stdout; read unbounded stdin; import
anything outside the standard library or use syntax newer than Python 3.8.
"""

from __future__ import annotations

import posix
import sys

from . import client, jsonio
from .config import (
    LATEST_VERSION,
    MAX_STDIN_BYTES,
    SUPPORTED_VERSIONS,
    CniEnv,
    NetConf,
    parse_netconf,
    parse_version,
    read_env,
)
from .errors import INCOMPATIBLE_VERSION, INTERNAL, IO_FAILURE, UNKNOWN_CONTAINER, CniError
from .result import add_result, ipam_result

TYPE_CHECKING = False
if TYPE_CHECKING:  # NB: typing costs milliseconds of every plugin start; annotations are strings here
    from typing import IO, Any, Callable, Dict, Mapping

    Handler = Callable[[CniEnv, NetConf], Dict[str, Any]]


def _request(env: CniEnv, conf: NetConf) -> Dict[str, Any]:
    return {
        "key": {"networkName": conf.name, "containerId": env.container_id, "ifname": env.ifname},
        "pod": {"namespace": env.pod_namespace, "name": env.pod_name, "uid": env.pod_uid},
    }


def _call(conf: NetConf, method: str, request: Dict[str, Any]) -> Dict[str, Any]:
    return client.call(conf.agent_socket, method, request, timeout=conf.timeout)


def route_eni(env: CniEnv, conf: NetConf) -> Dict[str, Any]:
    """tke-route-eni: ADD/DEL/CHECK through the agent's PodNetwork service."""
    request = _request(env, conf)
    request["netns"] = env.netns
    if conf.mtu:
        request["mtu"] = conf.mtu
    if env.command == "ADD":
        return add_result(conf.cni_version, _call(conf, "PodNetwork/Add", request), conf.dns)
    _require_check_support(env, conf)
    _call(conf, "PodNetwork/Del" if env.command == "DEL" else "PodNetwork/Check", request)
    return {}


def ipamc(env: CniEnv, conf: NetConf) -> Dict[str, Any]:
    """tke-eni-ipamc: ADD/DEL/CHECK through the agent's Ipam service."""
    request = _request(env, conf)
    if env.command == "ADD":
        return ipam_result(conf.cni_version, _call(conf, "Ipam/Allocate", request), conf.dns)
    _require_check_support(env, conf)
    if env.command == "DEL":
        _call(conf, "Ipam/Release", {"key": request["key"]})
        return {}
    allocations = _call(conf, "Introspection/ListAllocations", {}).get("allocations") or []
    if not any(a.get("key") == request["key"] for a in allocations):
        raise CniError(UNKNOWN_CONTAINER, "no IP is allocated to container " + env.container_id)
    return {}


def _require_check_support(env: CniEnv, conf: NetConf) -> None:
    if env.command == "CHECK" and conf.cni_version.startswith("0.") and conf.cni_version < "0.4.0":
        raise CniError(INCOMPATIBLE_VERSION, "config version %s does not allow CHECK" % conf.cni_version)


def run(handler: Handler, *, section: str | None, environ: Mapping[str, str], stdin: IO[bytes],
        stdout: IO[str]) -> int:
    """Runs one CNI command; returns the exit status. Exactly one JSON document goes to ``stdout`` (none on DEL/CHECK
    success)."""
    data = b""
    version = LATEST_VERSION
    try:
        data = stdin.read(MAX_STDIN_BYTES + 1)
        version = parse_version(data) if len(data) <= MAX_STDIN_BYTES else LATEST_VERSION
        env = read_env(environ)
        if env.command == "VERSION":
            _emit(stdout, {"cniVersion": version if version in SUPPORTED_VERSIONS else LATEST_VERSION,
                           "supportedVersions": list(SUPPORTED_VERSIONS)})
            return 0
        conf = parse_netconf(data, section=section)
        result = handler(env, conf)
        if result:
            _emit(stdout, result)
        return 0
    except CniError as e:
        _emit(stdout, e.to_json(version))
    except OSError as e:
        _emit(stdout, CniError(IO_FAILURE, "I/O failure: %s" % e).to_json(version))
    except Exception as e:  # never a traceback on stdout: the runtime parses it
        _emit(stdout, CniError(INTERNAL, "internal error: %s: %s" % (type(e).__name__, e)).to_json(version))
    return 1


def _emit(stdout: IO[str], doc: Dict[str, Any]) -> None:
    stdout.write(jsonio.dumps(doc))
    stdout.write("\n")
    stdout.flush()


def process_environ() -> Dict[str, str]:
    """The process environment, decoded as ``os.environ`` does; ``os`` itself costs a millisecond of start."""
    return {k.decode("utf-8", "surrogateescape"): v.decode("utf-8", "surrogateescape")
            for k, v in posix.environ.items()}


def main_route_eni() -> int:
    return run(route_eni, section=None, environ=process_environ(), stdin=sys.stdin.buffer, stdout=sys.stdout)


def main_ipamc() -> int:
    return run(ipamc, section="ipam", environ=process_environ(), stdin=sys.stdin.buffer, stdout=sys.stdout)
