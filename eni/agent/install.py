"""Installs the CNI plugin executables and the network config list on the node, atomically and only when changed.

Why this shape: the agent runs this on a loop (node set-up is continuous), so an unchanged file is never
rewritten (no needless inotify churn for the runtime) and a changed one is replaced by rename, never
written in place: the runtime may exec a plugin or read the config at any instant. The plugin bytes come
from the caller (``cmd`` builds them with ``eni.cni.bundle``), keeping ``eni.agent`` independent of ``eni.cni``.

Must never: leave a half-written plugin or config visible, or remove files it did not write.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CniInstallSettings", "conflist", "install", "uninstall", "write_if_changed"]

MAIN_PLUGIN = "tke-route-eni"
IPAM_PLUGIN = "tke-eni-ipamc"


@dataclass(frozen=True, slots=True)
class CniInstallSettings:
    agent_socket: Path
    """The agent's JSON socket, written into the config for the plugins."""
    cni_bin_dir: Path = Path("/opt/cni/bin")
    cni_conf_dir: Path = Path("/etc/cni/net.d")
    network_name: str = "tke-eni"
    conflist_name: str = "10-tke-eni.conflist"
    port_mapping: bool = False
    """Chain the reference ``portmap`` plugin after ours for hostPort."""
    mtu: int = 0
    """Pod interface MTU; 0 lets the agent choose."""


def conflist(settings: CniInstallSettings) -> dict[str, Any]:
    """The network config list: our main plugin, then ``portmap`` when port mapping is on."""
    main: dict[str, Any] = {"type": MAIN_PLUGIN, "agentSocket": str(settings.agent_socket)}
    if settings.mtu:
        main["mtu"] = settings.mtu
    plugins: list[dict[str, Any]] = [main]
    if settings.port_mapping:
        plugins.append({"type": "portmap", "capabilities": {"portMappings": True}, "snat": True})
    return {"cniVersion": "1.0.0", "name": settings.network_name, "plugins": plugins}


def install(settings: CniInstallSettings, plugins: Mapping[str, bytes]) -> list[Path]:
    """Writes ``plugins`` (name -> executable bytes) and the conflist; returns the paths that changed."""
    changed = []
    for name, data in sorted(plugins.items()):
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"invalid plugin name {name!r}")
        path = settings.cni_bin_dir / name
        if write_if_changed(path, data, mode=0o755):
            changed.append(path)
    conf = json.dumps(conflist(settings), indent=2, sort_keys=True).encode() + b"\n"
    path = settings.cni_conf_dir / settings.conflist_name
    if write_if_changed(path, conf, mode=0o644):
        changed.append(path)
    return changed


def uninstall(settings: CniInstallSettings, plugin_names: tuple[str, ...] = (MAIN_PLUGIN, IPAM_PLUGIN)) -> list[Path]:
    """Removes the conflist and the plugins; returns what was removed."""
    removed = []
    for path in [settings.cni_conf_dir / settings.conflist_name, *(settings.cni_bin_dir / n for n in plugin_names)]:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed


def write_if_changed(path: Path, data: bytes, *, mode: int) -> bool:
    """Atomically replaces ``path`` with ``data`` (temp file, fsync, rename, fsync dir) unless it already holds it."""
    try:
        if path.read_bytes() == data and (path.stat().st_mode & 0o7777) == mode:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fchmod(tmp.fileno(), mode)
            os.fsync(tmp.fileno())
        os.rename(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return True
