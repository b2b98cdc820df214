"""``tke-eni-agent uninstall``: remove tke-eni's CNI plugins and network config from the node.

A config file is ours when its main (first) plugin is one of our plugin types, whatever its file
name; configs that only chain our IPAM plugin under someone else's main plugin belong to whoever
wrote them and stay. Only regular files are removed, and a second run finds nothing to do.
It must never touch anything else in the CNI folders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from eni.cni.bundle import ENTRY_POINTS

PLUGIN_NAMES = tuple(sorted(ENTRY_POINTS))
CONFIG_SUFFIXES = (".conflist", ".conf", ".json")
MAX_CONFIG_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Removal:
    """What an uninstall removed (or would remove, in a dry run)."""

    plugins: tuple[Path, ...]
    configs: tuple[Path, ...]


def plan(*, bin_dir: Path, conf_dir: Path) -> Removal:
    """The files an uninstall removes; reads only."""
    plugins = tuple(path for name in PLUGIN_NAMES if (path := bin_dir / name).is_file() and not path.is_symlink())
    configs: tuple[Path, ...] = ()
    if conf_dir.is_dir():
        configs = tuple(path for path in sorted(conf_dir.iterdir())
                        if path.suffix in CONFIG_SUFFIXES and path.is_file() and is_our_config(path))
    return Removal(plugins=plugins, configs=configs)


def uninstall(*, bin_dir: Path, conf_dir: Path) -> Removal:
    """Remove our plugins and configs; the config goes first so the runtime stops calling the plugins."""
    removal = plan(bin_dir=bin_dir, conf_dir=conf_dir)
    for path in (*removal.configs, *removal.plugins):
        path.unlink(missing_ok=True)
    return removal


def is_our_config(path: Path) -> bool:
    """Whether the CNI config at ``path`` has one of our plugins as its main plugin."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return False
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    if not isinstance(doc, dict):
        return False
    plugins = doc.get("plugins")
    main = plugins[0] if isinstance(plugins, list) and plugins else doc
    return isinstance(main, dict) and main.get("type") in PLUGIN_NAMES
