"""The plugins' hot path: the CNI_* environment and stdin go to the agent untouched, its answer to stdout.

Why: the runtime execs a plugin per pod and waits for it, and a Python process pays for every module it runs
and every byte it parses. So an ordinary invocation (the config names no socket or timeout of its own) sends
one ``tke-cni/1`` frame to the agent's JSON socket and prints the reply; the agent parses and validates
everything (``eni.agent.cniverbs``). Frame: ``tke-cni/1 <plugin> <E> <S>\\n``, E bytes of NUL-separated
``CNI_*=value`` pairs, S bytes of stdin; reply: ``tke-cni/1 <exit status> <N>\\n`` and the N bytes to print.
The rest (no CNI_COMMAND, oversized stdin, an unreachable agent) takes the slow path, ``fallback``.

Must never: import anything but interpreter builtins (``_socket``, ``time``: no file is read to load them);
wait without a timeout; read an unbounded reply; use syntax newer than Python 3.8.
"""

from __future__ import annotations

import _socket
import time

from .errors import IO_FAILURE, TRY_AGAIN_LATER, CniError

TYPE_CHECKING = False
if TYPE_CHECKING:  # NB: typing costs milliseconds of every plugin start; annotations are strings here
    from typing import Mapping, Tuple

FRAME = b"tke-cni/1"
DEFAULT_TIMEOUT = 10.0
MAX_REPLY_BYTES = (1 << 20) + 64
_OWN_OPTIONS = (b"timeoutSeconds", b"\\u")  # NB: a \u escape could spell an option's name


def uses_defaults(config: bytes, agent_socket: str) -> bool:
    """Whether ``config`` surely leaves ``agentSocket`` at ``agent_socket`` and ``timeoutSeconds`` unset.

    Decided without parsing: no timeoutSeconds and no \\u escape anywhere, and agentSocket either absent or
    present once, as ``"agentSocket":"<agent_socket>"`` (inside a JSON string its quotes would be escaped).
    False only sends the invocation down the slow path, which parses the config.

    >>> uses_defaults(b'{"name":"n","agentSocket":"/run/a.sock"}', "/run/a.sock")
    True
    >>> uses_defaults(b'{"name":"n","agentSocket":"/tmp/b.sock"}', "/run/a.sock")
    False
    """
    for marker in _OWN_OPTIONS:
        if marker in config:
            return False
    count = config.count(b"agentSocket")
    if count == 0:
        return True
    if count > 1 or '"' in agent_socket or "\\" in agent_socket:
        return False
    value = agent_socket.encode("utf-8", "surrogateescape")
    return b'"agentSocket":"' + value + b'"' in config or b'"agentSocket": "' + value + b'"' in config


def frame(plugin: str, environ: Mapping[bytes, bytes], stdin: bytes) -> bytes:
    """The request frame: the ``CNI_*`` variables of ``environ`` and ``stdin``, as the agent reads them."""
    env = b"\0".join([k + b"=" + v for k, v in environ.items() if k.startswith(b"CNI_")])
    return b"%s %s %d %d\n%s%s" % (FRAME, plugin.encode(), len(env), len(stdin), env, stdin)


def exchange(socket_path: str, request: bytes, *, timeout: float) -> Tuple[int, bytes]:
    """Sends ``request`` and returns the agent's (exit status, bytes to print); ``CniError`` when that fails.

    An answer that is not a ``tke-cni/1`` frame raises ``CniError`` (code 5) with the raw answer in ``reply``.
    """
    deadline = time.monotonic() + timeout
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        connect(sock, socket_path, deadline)
        try:
            sock.sendall(request)
            raw = _read_reply(sock, deadline)
        except _socket.timeout:
            raise CniError(TRY_AGAIN_LATER, "the tke-eni agent did not answer within %.1fs" % timeout) from None
        except OSError as e:
            raise CniError(TRY_AGAIN_LATER, "lost the connection to the tke-eni agent: %s" % e) from None
    finally:
        sock.close()
    return parse_reply(raw)


def parse_reply(raw: bytes) -> Tuple[int, bytes]:
    """(exit status, bytes to print) of a reply frame; ``CniError`` carrying ``raw`` when it is not one."""
    if not raw:
        raise CniError(TRY_AGAIN_LATER, "the tke-eni agent closed the connection without a reply")
    head, sep, body = raw.partition(b"\n")
    parts = head.split(b" ")
    if sep and len(parts) == 3 and parts[0] == FRAME and parts[1].isdigit() and parts[2].isdigit():
        if int(parts[2]) == len(body):
            return int(parts[1]), body
    error = CniError(IO_FAILURE, "the tke-eni agent sent a malformed reply")
    error.reply = raw
    raise error


def connect(sock: _socket.socket, socket_path: str, deadline: float) -> None:
    """Connects, retrying while the agent's accept backlog is full (EAGAIN on unix sockets) until ``deadline``."""
    pause = 0.001
    while True:
        try:
            sock.connect(socket_path)
            return
        except OSError as e:
            # NB: BlockingIOError is EAGAIN here (checked by class: the errno module costs a module init)
            if not isinstance(e, BlockingIOError) or time.monotonic() + pause > deadline:
                raise CniError(TRY_AGAIN_LATER,
                               "the tke-eni agent is unreachable at %s: %s" % (socket_path, e)) from None
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _read_reply(sock: _socket.socket, deadline: float) -> bytes:
    """The reply: a whole frame as soon as it is in (the agent's close may lag behind it), else everything
    until the agent closes the connection; at most MAX_REPLY_BYTES."""
    data = b""
    wanted = -1  # the frame's whole length once its header line is in
    while wanted < 0 or len(data) < wanted:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REPLY_BYTES:
            raise CniError(IO_FAILURE, "the tke-eni agent's reply is too large")
        if wanted < 0:
            head, sep, _ = data.partition(b"\n")
            parts = head.split(b" ")
            if sep and len(parts) == 3 and parts[0] == FRAME and parts[2].isdigit():
                wanted = len(head) + 1 + int(parts[2])
    return data
