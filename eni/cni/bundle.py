"""Builds each CNI plugin as one self-contained executable file: a zipapp of this package under a shebang.

Why a zipapp: the runtime execs a single file from the CNI bin dir with the host's python3; zipimport
loads the stdlib-only modules from the archive without unpacking, and the build is reproducible (fixed
timestamps, sorted entries) so that ``install`` can skip writing an unchanged plugin.
Must never: include anything but this package's modules; import anything outside the standard library.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Dict

DEFAULT_INTERPRETER = "/usr/bin/env -S python3 -IS"
PACKAGE = "tke_cni"
ENTRY_POINTS: Dict[str, str] = {
    "tke-route-eni": "main_route_eni",
    "tke-eni-ipamc": "main_ipamc",
}
_MODULES = ("__init__.py", "errors.py", "config.py", "client.py", "result.py", "plugin.py")
_EPOCH = (1980, 1, 1, 0, 0, 0)


def build_plugin(name: str, *, interpreter: str = DEFAULT_INTERPRETER) -> bytes:
    """The executable file of plugin ``name`` (a key of ``ENTRY_POINTS``)."""
    entry = ENTRY_POINTS.get(name)
    if entry is None:
        raise ValueError("unknown plugin %r; known: %s" % (name, ", ".join(sorted(ENTRY_POINTS))))
    if "\n" in interpreter or not interpreter.startswith("/"):
        raise ValueError("the interpreter must be an absolute command line, got %r" % interpreter)
    source_dir = Path(__file__).resolve().parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        main = "import sys\nfrom %s.plugin import %s\nsys.exit(%s())\n" % (PACKAGE, entry, entry)
        _add(archive, "__main__.py", main.encode())
        for module in _MODULES:
            _add(archive, "%s/%s" % (PACKAGE, module), (source_dir / module).read_bytes())
    return b"#!" + interpreter.encode() + b"\n" + buffer.getvalue()


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)
