"""Execs a node's CNI plugins the way a container runtime (libcni) does, from inside the node's namespace.

For a conflist, ADD runs the plugins in order, handing each one the previous result as ``prevResult``; DEL runs
them in reverse order with the cached ADD result; CHECK runs them in order with the cached result. Each exec
gets the CNI environment (``CNI_COMMAND``, ``CNI_CONTAINERID``, ``CNI_NETNS``, ``CNI_IFNAME``, ``CNI_ARGS``,
``CNI_PATH``) and the network configuration on stdin, exactly as the spec says; a non-zero exit is turned into
``CniError`` from the error JSON the plugin printed.

The plugins run in the node's namespace (``ip netns exec``) because there they see that node's ENIs and
agent, as on a real host. This module reads the conflist; it never writes CNI config or touches a namespace
other than through the plugins it execs.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXEC_TIMEOUT = 60.0
CONF_SUFFIXES = (".conflist", ".conf", ".json")


class CniError(RuntimeError):
    """A plugin failed: the CNI error code and message it printed (or an exec failure, code 999)."""

    def __init__(self, plugin: str, command: str, *, code: int, msg: str, details: str = "") -> None:
        self.plugin, self.command, self.code, self.msg, self.details = plugin, command, code, msg, details
        text = f'plugin type="{plugin}" failed ({command.lower()}): {msg}'
        super().__init__(text + (f"; {details}" if details else ""))


class CniConfigError(ValueError):
    """The node's CNI config folder holds no usable network configuration."""


@dataclass(frozen=True, slots=True)
class NetworkList:
    """A loaded network configuration list (a single ``.conf`` becomes a list of one)."""

    name: str
    cni_version: str
    plugins: tuple[dict[str, Any], ...]
    source: Path


@dataclass(frozen=True, slots=True)
class RuntimeConf:
    """Per-sandbox values a runtime passes to the plugins."""

    container_id: str
    netns: str
    ifname: str = "eth0"
    args: tuple[tuple[str, str], ...] = ()
    capabilities: dict[str, Any] = field(default_factory=dict)

    def cni_args(self) -> str:
        return ";".join(["IgnoreUnknown=1", *(f"{k}={v}" for k, v in self.args)])


def load_network_list(conf_dir: Path) -> NetworkList:
    """The first configuration in ``conf_dir`` by file name, as libcni picks it; CniConfigError if none."""
    try:
        files = sorted(p for p in conf_dir.iterdir() if p.suffix in CONF_SUFFIXES and p.is_file())
    except OSError as e:
        raise CniConfigError(f"cannot read CNI config dir {conf_dir}: {e}") from e
    for path in files:
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict):
            continue
        if isinstance(doc.get("plugins"), list) and doc["plugins"]:
            plugins = tuple(p for p in doc["plugins"] if isinstance(p, dict) and isinstance(p.get("type"), str))
            if len(plugins) != len(doc["plugins"]):
                continue
            return NetworkList(str(doc.get("name", "")), str(doc.get("cniVersion", "0.4.0")), plugins, path)
        if isinstance(doc.get("type"), str):
            single = {k: v for k, v in doc.items() if k not in ("name", "cniVersion")}
            return NetworkList(str(doc.get("name", "")), str(doc.get("cniVersion", "0.4.0")), (single,), path)
    raise CniConfigError(f"no network configuration found in {conf_dir}")


@dataclass(frozen=True, slots=True)
class PluginTiming:
    plugin: str
    command: str
    seconds: float


class CniExecutor:
    """Runs plugins for one node: its namespace, its CNI bin dirs; thread-safe (no shared mutable state)."""

    def __init__(
        self,
        *,
        node_netns: str,
        bin_dirs: Sequence[Path],
        timeout: float = EXEC_TIMEOUT,
        on_timing: Callable[[PluginTiming], None] | None = None,
    ) -> None:
        if not node_netns:
            raise ValueError("the plugins must run in a node namespace")
        self.node_netns = node_netns
        self.bin_dirs = tuple(bin_dirs)
        self.timeout = timeout
        self._on_timing = on_timing

    def add(self, net: NetworkList, rt: RuntimeConf) -> dict[str, Any]:
        """ADD through the whole list; the final result. On a failure the caller should DEL (as runtimes do)."""
        prev: dict[str, Any] | None = None
        for plugin in net.plugins:
            prev = self._exec("ADD", net, plugin, rt, prev)
        return prev or {}

    def delete(self, net: NetworkList, rt: RuntimeConf, cached: dict[str, Any] | None) -> None:
        """DEL through the list in reverse, every plugin even if one fails; raises the first failure."""
        first: CniError | None = None
        for plugin in reversed(net.plugins):
            if not self._installed(str(plugin["type"])):
                continue  # a plugin that cannot be exec'd cannot have set anything up
            try:
                self._exec("DEL", net, plugin, rt, cached)
            except CniError as e:
                first = first or e
        if first is not None:
            raise first

    def check(self, net: NetworkList, rt: RuntimeConf, cached: dict[str, Any]) -> None:
        """CHECK through the list with the cached ADD result; raises CniError on the first complaint."""
        for plugin in net.plugins:
            self._exec("CHECK", net, plugin, rt, cached)

    def _installed(self, plugin_type: str) -> bool:
        try:
            self._find(plugin_type)
        except CniError:
            return False
        return True

    def _find(self, plugin_type: str) -> Path:
        if "/" in plugin_type or not plugin_type:
            raise CniError(plugin_type, "exec", code=999, msg="invalid plugin type")
        for d in self.bin_dirs:
            candidate = d / plugin_type
            if os.access(candidate, os.X_OK):
                return candidate
        raise CniError(plugin_type, "exec", code=999,
                       msg=f"failed to find plugin {plugin_type!r} in path {[str(d) for d in self.bin_dirs]}")

    def _exec(
        self, command: str, net: NetworkList, plugin: dict[str, Any], rt: RuntimeConf, prev: dict[str, Any] | None
    ) -> dict[str, Any]:
        plugin_type = str(plugin["type"])
        conf = {**plugin, "cniVersion": net.cni_version, "name": net.name}
        caps = plugin.get("capabilities") or {}
        runtime_config = {k: v for k, v in rt.capabilities.items() if isinstance(caps, dict) and caps.get(k)}
        if runtime_config:
            conf["runtimeConfig"] = runtime_config
        if prev is not None:
            conf["prevResult"] = prev
        env = {
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": rt.container_id,
            "CNI_NETNS": rt.netns,
            "CNI_IFNAME": rt.ifname,
            "CNI_ARGS": rt.cni_args(),
            "CNI_PATH": os.pathsep.join(str(d) for d in self.bin_dirs),
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        }
        exe = self._find(plugin_type)
        started = time.monotonic()
        try:
            proc = subprocess.run(["ip", "netns", "exec", self.node_netns, str(exe)], input=json.dumps(conf).encode(),
                                  env=env, capture_output=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise CniError(plugin_type, command, code=999, msg=f"timed out after {self.timeout:.0f}s") from e
        finally:
            if self._on_timing is not None:
                self._on_timing(PluginTiming(plugin_type, command, time.monotonic() - started))
        out = proc.stdout.decode(errors="replace").strip()
        if proc.returncode != 0:
            raise _error_of(plugin_type, command, out, proc.stderr.decode(errors="replace").strip())
        if command != "ADD":
            return prev or {}
        try:
            result = json.loads(out)
        except ValueError as e:
            raise CniError(plugin_type, command, code=999, msg=f"unparsable result {out[:200]!r}") from e
        if not isinstance(result, dict):
            raise CniError(plugin_type, command, code=999, msg="the result is not a JSON object")
        return result


def _error_of(plugin_type: str, command: str, stdout: str, stderr: str) -> CniError:
    try:
        doc = json.loads(stdout) if stdout else {}
    except ValueError:
        doc = {}
    if isinstance(doc, dict) and "code" in doc:
        return CniError(plugin_type, command, code=int(doc.get("code") or 999), msg=str(doc.get("msg", "")),
                        details=str(doc.get("details", "")))
    return CniError(plugin_type, command, code=999, msg=(stderr or stdout or "exited non-zero")[-500:])


def first_ipv4(result: dict[str, Any]) -> str | None:
    """The first IPv4 address of a CNI result (1.0 ``ips``), without its prefix length."""
    for entry in result.get("ips") or []:
        address = str(entry.get("address", "")) if isinstance(entry, dict) else ""
        if address and ":" not in address:
            return address.split("/", 1)[0]
    return None
