"""The two CNI plugin executables: ``tke-route-eni`` (main plugin) and ``tke-eni-ipamc`` (IPAM plugin).

Why so thin: the runtime execs a plugin per pod and waits for it, so the agent does the work (ARCHITECTURE.md
section 5) and the plugin only forwards (``forward``), VERSION included; a missing CNI_COMMAND, oversized stdin,
a config naming its own socket or timeout and an unreachable agent take the slow path (``fallback``), loaded
only then: it answers VERSION and reports bad input without the agent. The process ends with ``posix._exit``
once its output is written: the interpreter's teardown would cost a millisecond per pod and there is nothing
left to flush. ``run`` takes its environment and stdin as arguments and returns what to print, so that tests
drive it in-process.

Must never: print anything but one JSON document on stdout (none on DEL/CHECK success) and never a traceback;
read unbounded stdin; import anything but interpreter builtins at start (``from . import fallback`` only inside
functions: the bundle loads the slow path's modules on that first use); use syntax newer than Python 3.8.
"""

from __future__ import annotations

import posix

from . import forward
from .errors import CniError

TYPE_CHECKING = False
if TYPE_CHECKING:  # NB: typing costs milliseconds of every plugin start; annotations are strings here
    from typing import Mapping, Optional, Tuple

ROUTE_ENI = "tke-route-eni"
IPAMC = "tke-eni-ipamc"
MAX_STDIN_BYTES = 1 << 20


def run(plugin: str, *, environ: Mapping[bytes, bytes], stdin: bytes, agent_socket: str) -> Tuple[int, bytes]:
    """(exit status, bytes to print) of one invocation of ``plugin``; ``agent_socket`` is its built-in socket."""
    failure: Optional[CniError] = None
    command = environ.get(b"CNI_COMMAND")
    if command and len(stdin) <= MAX_STDIN_BYTES and forward.uses_defaults(stdin, agent_socket):
        try:
            status, out = forward.exchange(agent_socket, forward.frame(plugin, environ, stdin),
                                           timeout=forward.DEFAULT_TIMEOUT)
            return status, out
        except CniError as e:
            failure = e
        except Exception as e:  # NB: reported by the slow path, which knows the config's cniVersion
            failure = CniError(999, "internal error: %s: %s" % (type(e).__name__, e))
    from . import fallback

    return fallback.run(plugin, environ=environ, stdin=stdin, agent_socket=agent_socket, failure=failure)


def main_route_eni(agent_socket: str) -> int:
    return _main(ROUTE_ENI, agent_socket)


def main_ipamc(agent_socket: str) -> int:
    return _main(IPAMC, agent_socket)


def _main(plugin: str, agent_socket: str) -> int:
    try:
        status, out = run(plugin, environ=posix.environ, stdin=_read_stdin(MAX_STDIN_BYTES + 1),
                          agent_socket=agent_socket)
    except BaseException:  # NB: the slow path reports every failure; this is the guard against a bug in it
        status, out = 1, b'{"cniVersion":"1.0.0","code":999,"msg":"internal error in the plugin","details":""}\n'
    try:
        _write_all(1, out)
    except OSError:
        status = status or 1
    posix._exit(status)
    return status  # pragma: no cover - not reached


def _read_stdin(limit: int) -> bytes:
    """Up to ``limit`` bytes of stdin (the caller treats ``limit`` bytes as too many)."""
    chunks = []
    size = 0
    while size < limit:
        try:
            chunk = posix.read(0, min(65536, limit - size))
        except OSError:  # e.g. no stdin at all: the config is then missing, which the slow path reports
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[posix.write(fd, view):]
