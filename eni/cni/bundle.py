"""Builds each CNI plugin as one self-contained executable script holding this package's modules.

Why a generated script (not a zipapp): running a zipapp goes through ``runpy``, which costs more than the
plugin's own imports. The script embeds, for the interpreter that built it, the compiled modules (compressed
marshal, keyed by ``sys.implementation.cache_tag``), and for any other Python their compressed sources, compiled
when used. Only the hot path's modules run at start (see ``plugin``). The agent's socket is built in, so that
an ordinary config needs no parsing. Builds are reproducible, so ``install`` can skip writing an unchanged
plugin.
Must never: include anything but this package's modules; import anything outside the standard library.
"""

from __future__ import annotations
import __future__

import binascii
import marshal
import shutil
import sys
import zlib
from pathlib import Path

from .config import DEFAULT_AGENT_SOCKET

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Optional, Tuple

DEFAULT_INTERPRETER = "/usr/bin/env -S python3 -IS"
PACKAGE = "tke_cni"
ENTRY_POINTS: Dict[str, str] = {
    "tke-route-eni": "main_route_eni",
    "tke-eni-ipamc": "main_ipamc",
}
# NB: the modules' "from __future__ import annotations" line is taken out and its compiler flag passed instead:
# executing the statement imports the __future__ module, a measurable part of the plugin's start.
_FUTURE_LINE = "from __future__ import annotations\n"
_ANNOTATIONS = __future__.annotations.compiler_flag
# In dependency order: each module imports only those before it. The first HOT ones run at every start; the
# others (the slow path) run on their first use, through the package's __getattr__.
MODULES = ("errors", "forward", "plugin", "jsonio", "config", "client", "fallback")
HOT = 3

# The script's own source is kept to a few lines: the interpreter compiles it on every start, and compiling
# Python costs far more per byte than reading a string literal. The loader itself ships compiled ("__boot__").
_SCRIPT = '''import sys
from marshal import loads
try:
    _codes = loads(bytes.fromhex(_HOT)) if sys.implementation.cache_tag == %(tag)r else {}
except Exception:
    _codes = {}
if _codes:
    _sources = None
    exec(_codes["__boot__"])
else:
    from binascii import a2b_base64
    from zlib import decompress
    _sources = dict(loads(decompress(a2b_base64(_SOURCES))))
    exec(compile(_sources["__boot__"], "<%(package)s.__boot__>", "exec"))
sys.exit(getattr(_boot(_codes, _sources), %(entry)r)(%(socket)r))
'''

# Runs the hot modules now; the others on the first access to them as attributes of the package (PEP 562).
_BOOT = '''def _boot(codes, sources):
    package = type(sys)(%(package)r)
    package.__path__ = []
    package.__package__ = %(package)r
    sys.modules[%(package)r] = package

    def load(name):
        if sources is not None:
            import __future__
            code = compile(sources[name], "<%(package)s." + name + ">", "exec",
                           __future__.annotations.compiler_flag, True)
        else:
            if name not in codes:
                from binascii import a2b_base64
                from zlib import decompress
                codes.update(loads(decompress(a2b_base64(_COLD))))
            code = codes[name]
        qualified = %(package)r + "." + name
        module = type(sys)(qualified)
        module.__package__ = %(package)r
        module.__file__ = "<" + qualified + ">"
        sys.modules[qualified] = module
        exec(code, module.__dict__)
        setattr(package, name, module)

    def load_slow_path(attribute):
        if attribute not in %(cold)r:
            raise AttributeError(attribute)
        for name in %(cold)r:
            if name not in package.__dict__:
                load(name)
        return package.__dict__[attribute]

    package.__getattr__ = load_slow_path
    for name in %(hot)r:
        load(name)
    return package.plugin
'''


def resolve_interpreter(command_line: str, *, which: Callable[[str], Optional[str]] = shutil.which) -> str:
    """``command_line`` with a leading ``/usr/bin/env [-S] PROGRAM`` replaced by PROGRAM's absolute path.

    The kernel then execs the interpreter directly: ``env`` costs one more exec on every plugin start. The
    program is looked up with ``which`` (the installing process's PATH); unchanged when it is not found.

    >>> resolve_interpreter("/usr/bin/env -S python3 -IS", which=lambda p: "/usr/bin/" + p)
    '/usr/bin/python3 -IS'
    >>> resolve_interpreter("/opt/py/bin/python3 -I", which=lambda p: None)
    '/opt/py/bin/python3 -I'
    """
    words = command_line.split()
    if not words or words[0] not in ("/usr/bin/env", "/bin/env"):
        return command_line
    rest = words[1:]
    if rest and rest[0] == "-S":
        rest = rest[1:]
    if not rest or rest[0].startswith("-") or "=" in rest[0]:
        return command_line
    found = which(rest[0])
    if not found or not found.startswith("/"):
        return command_line
    return " ".join([found, *rest[1:]])


def build_plugin(name: str, *, interpreter: str = DEFAULT_INTERPRETER,
                 agent_socket: str = DEFAULT_AGENT_SOCKET) -> bytes:
    """The executable file of plugin ``name`` (a key of ``ENTRY_POINTS``), starting with ``#!<interpreter>``.

    ``agent_socket`` is the agent's JSON socket, used when the network config names none (or names this one).
    """
    entry = ENTRY_POINTS.get(name)
    if entry is None:
        raise ValueError("unknown plugin %r; known: %s" % (name, ", ".join(sorted(ENTRY_POINTS))))
    if "\n" in interpreter or not interpreter.startswith("/"):
        raise ValueError("the interpreter must be an absolute command line, got %r" % interpreter)
    if not agent_socket.startswith("/") or "\0" in agent_socket:
        raise ValueError("the agent socket must be an absolute path, got %r" % agent_socket)
    names = {"package": PACKAGE, "hot": MODULES[:HOT], "cold": MODULES[HOT:]}
    sources = [("__boot__", _BOOT % names), *_sources()]
    codes = {n: compile(src, "<%s.%s>" % (PACKAGE, n), "exec", _ANNOTATIONS if n != "__boot__" else 0, True,
                        optimize=2) for n, src in sources}
    hot = {n: codes[n] for n in ("__boot__", *MODULES[:HOT])}
    cold = {n: codes[n] for n in MODULES[HOT:]}
    parts: List[str] = [
        "#!" + interpreter,
        "# %s: the tke-eni CNI plugin, generated by tke-eni-agent from eni.cni; do not edit." % name,
        # NB: hex, not base64, for the code run at every start: bytes.fromhex needs no module import.
        "_HOT = %r" % marshal.dumps(hot).hex(),
        "_COLD = %r" % _b64(zlib.compress(marshal.dumps(cold), 9)),
        "_SOURCES = %r" % _b64(zlib.compress(marshal.dumps(tuple(sources)), 9)),
        _SCRIPT % dict(names, tag=sys.implementation.cache_tag, entry=entry, socket=agent_socket),
    ]
    return "\n".join(parts).encode()


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _sources() -> List[Tuple[str, str]]:
    here = Path(__file__).resolve().parent
    sources = []
    for module in MODULES:
        text = (here / (module + ".py")).read_text(encoding="utf-8")
        if _FUTURE_LINE not in text:
            raise ValueError("eni/cni/%s.py must start with %r" % (module, _FUTURE_LINE.strip()))
        sources.append((module, text.replace(_FUTURE_LINE, "\n", 1)))
    return sources
