"""The plugins' slow path: bad input, configs naming their own socket or timeout, an unreachable agent.

Why apart from ``forward``: these cases are rare, and need JSON decoding and the config rules of ``config``,
which an ordinary invocation never runs (the agent applies the same rules, ``eni.agent.cniconf``). VERSION is
answered here without the agent when it cannot be reached. Input is
validated here before a failure to reach the agent is reported, so a broken config is reported as such
(code 6/7/...) and not as "try again later" (code 11), with or without an agent.

Must never: print a traceback or anything but one JSON document; use syntax newer than Python 3.8.
"""

from __future__ import annotations

from . import client, forward, jsonio
from .config import LATEST_VERSION, MAX_STDIN_BYTES, SUPPORTED_VERSIONS, parse_netconf, parse_version, read_env
from .errors import INTERNAL, CniError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Mapping, Optional, Tuple

SECTIONS: Dict[str, Optional[str]] = {"tke-route-eni": None, "tke-eni-ipamc": "ipam"}
"""Each plugin's config section holding its options (None: the top level)."""


def run(plugin: str, *, environ: Mapping[bytes, bytes], stdin: bytes, agent_socket: str,
        failure: Optional[CniError]) -> Tuple[int, bytes]:
    """(exit status, bytes to print); ``failure`` is why the hot path gave up, if it tried."""
    version = parse_version(stdin) if len(stdin) <= MAX_STDIN_BYTES else LATEST_VERSION
    try:
        env = read_env(decoded(environ))
        if env.command == "VERSION":
            return 0, _document({"cniVersion": version if version in SUPPORTED_VERSIONS else LATEST_VERSION,
                                 "supportedVersions": list(SUPPORTED_VERSIONS)})
        conf = parse_netconf(stdin, section=SECTIONS[plugin], default_socket=agent_socket)
        if failure is not None:
            raise failure
        return forward.exchange(conf.agent_socket, forward.frame(plugin, environ, stdin), timeout=conf.timeout)
    except CniError as e:
        return 1, _document(_agent_error(e).to_json(version))
    except Exception as e:  # never a traceback on stdout: the runtime parses it
        return 1, _document(CniError(INTERNAL, "internal error: %s: %s" % (type(e).__name__, e)).to_json(version))


def decoded(environ: Mapping[bytes, bytes]) -> Dict[str, str]:
    """The environment as ``os.environ`` decodes it (``os`` itself costs a millisecond of start)."""
    return {k.decode("utf-8", "surrogateescape"): v.decode("utf-8", "surrogateescape") for k, v in environ.items()}


def _agent_error(error: CniError) -> CniError:
    """An agent that predates ``tke-cni/1`` frames answers one with its JSON error line: report that error."""
    if error.reply.startswith(b"{"):
        try:
            client.decode_reply(error.reply)
        except CniError as reported:
            return reported
    return error


def _document(doc: Dict[str, Any]) -> bytes:
    return jsonio.dumps(doc).encode() + b"\n"
