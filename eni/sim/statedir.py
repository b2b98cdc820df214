"""The local cluster's state dir: what was created, recorded before it is created, so ``down`` always works.

Layout of ``DIR``:
- ``cluster.json``: the namespace prefix, the cloud credentials and the settings of ``up`` (written first);
- ``pids.json``: every process started (name, pid, argv), updated as each one starts;
- ``state.json``: the documented summary for users and tests (kubeconfig, cloud, extender, nodes);
- ``logs/<component>.log``, ``nodes/<node>/...`` (CNI dirs, agent sockets and ledger, device plugins,
  sandbox records), ``kubeconfig``, ``apiserver.json`` (the API server's persisted objects).

Every write is atomic (temp file + rename). Reading a missing or damaged file gives an empty value: ``down``
must be able to run against whatever a crash left behind.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLUSTER_FILE = "cluster.json"
PIDS_FILE = "pids.json"
STATE_FILE = "state.json"


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    name: str
    pid: int
    argv: tuple[str, ...]


class StateDir:
    """Paths and records of one local cluster; thread-safe for ``record_process``."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self._lock = threading.Lock()

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def kubeconfig(self) -> Path:
        return self.path / "kubeconfig"

    def node_dir(self, node: str) -> Path:
        return self.path / "nodes" / node

    def cluster(self) -> dict[str, Any]:
        return read_json(self.path / CLUSTER_FILE)

    def write_cluster(self, data: dict[str, Any]) -> None:
        write_json(self.path / CLUSTER_FILE, data)

    def state(self) -> dict[str, Any]:
        return read_json(self.path / STATE_FILE)

    def write_state(self, data: dict[str, Any]) -> None:
        write_json(self.path / STATE_FILE, data)

    def processes(self) -> list[ProcessRecord]:
        found = []
        for entry in read_json(self.path / PIDS_FILE).get("processes") or []:
            try:
                found.append(ProcessRecord(str(entry["name"]), int(entry["pid"]), tuple(map(str, entry["argv"]))))
            except (KeyError, TypeError, ValueError):
                continue
        return found

    def record_process(self, record: ProcessRecord) -> None:
        with self._lock:
            others = [p for p in self.processes() if p.name != record.name]
            entries = [{"name": p.name, "pid": p.pid, "argv": list(p.argv)} for p in [*others, record]]
            write_json(self.path / PIDS_FILE, {"processes": entries})

    def forget_process(self, name: str) -> None:
        with self._lock:
            entries = [{"name": p.name, "pid": p.pid, "argv": list(p.argv)} for p in self.processes()
                       if p.name != name]
            write_json(self.path / PIDS_FILE, {"processes": entries})
