"""Pod sandboxes of one simulated node: a namespace per pod, recorded on disk before it is created.

A record holds what a container runtime keeps in its network cache: the sandbox (container) id, the pod
namespace's name, the CNI ADD result (handed back to DEL and CHECK) and the config list it was added with.
Because each record is written before its namespace is created and removed only after the namespace is
gone, a restarted kubelet stand-in (or ``tke-eni-sim down``) can always tear down what was set up.

Teardown runs CNI DEL first and deletes the namespace only once DEL succeeded; a failed DEL (or a node with
no CNI config to run it with) leaves everything in place for the next attempt, as a container runtime
retries StopPodSandbox. This matters for exclusive ENIs: the ENI sits in the pod's namespace until DEL moves
it back, and a sim ENI is a veth, which dies with its namespace. An ENI link still there after a successful
DEL is moved back to the node namespace first, as the kernel does for a physical NIC (``enilinks``).

``SandboxRuntime`` builds and removes sandboxes; it never deletes a namespace that is not recorded here.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tempfile
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from eni.sim.enilinks import return_to_node
from eni.sim.iproute import add_netns, delete_netns, netns_exists
from eni.sim.kubelet.cni_exec import (
    CniConfigError,
    CniError,
    CniExecutor,
    NetworkList,
    RuntimeConf,
    first_ipv4,
    load_network_list,
)
from eni.sim.names import SimNames

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SandboxRecord:
    uid: str
    namespace: str
    name: str
    container_id: str
    netns: str
    result: dict[str, Any] | None = None
    conf_file: str = ""
    port_mappings: tuple[dict[str, Any], ...] = ()

    @property
    def ip(self) -> str | None:
        return first_ipv4(self.result) if self.result else None

    def runtime_conf(self) -> RuntimeConf:
        return RuntimeConf(
            container_id=self.container_id,
            netns=f"/run/netns/{self.netns}",
            args=(("K8S_POD_NAMESPACE", self.namespace), ("K8S_POD_NAME", self.name),
                  ("K8S_POD_INFRA_CONTAINER_ID", self.container_id), ("K8S_POD_UID", self.uid)),
            capabilities={"portMappings": list(self.port_mappings)} if self.port_mappings else {},
        )


class SandboxStore:
    """One JSON file per pod uid in ``directory``; writes are atomic."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _path(self, uid: str) -> Path:
        safe = "".join(c for c in uid if c.isalnum() or c == "-")
        if not safe:
            raise ValueError(f"invalid pod uid {uid!r}")
        return self.directory / f"{safe}.json"

    def put(self, record: SandboxRecord) -> None:
        with self._lock:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".sandbox.")
            with os.fdopen(fd, "w") as f:
                json.dump(asdict(record), f)
            os.replace(tmp, self._path(record.uid))

    def remove(self, uid: str) -> None:
        with self._lock:
            self._path(uid).unlink(missing_ok=True)

    def all(self) -> dict[str, SandboxRecord]:
        found: dict[str, SandboxRecord] = {}
        with self._lock:
            for path in sorted(self.directory.glob("*.json")):
                try:
                    raw = json.loads(path.read_text())
                    raw["port_mappings"] = tuple(raw.get("port_mappings") or ())
                    record = SandboxRecord(**raw)
                except (OSError, ValueError, TypeError):
                    log.warning("ignoring unreadable sandbox record %s", path)
                    continue
                found[record.uid] = record
        return found


class SandboxRuntime:
    """Creates a pod's namespace and runs CNI ADD in it; DEL and removal on teardown."""

    def __init__(self, *, names: SimNames, store: SandboxStore, executor: CniExecutor, conf_dir: Path) -> None:
        self.names, self.store, self.executor, self.conf_dir = names, store, executor, conf_dir

    def network(self) -> NetworkList:
        return load_network_list(self.conf_dir)

    def create(self, *, uid: str, namespace: str, name: str,
               port_mappings: tuple[dict[str, Any], ...] = ()) -> SandboxRecord:
        """A fresh sandbox with its network; on any failure everything made is torn down and the error raised.

        ``port_mappings`` (the pod's hostPorts) reach plugins that declare the ``portMappings`` capability.
        """
        net = self.network()
        record = SandboxRecord(uid=uid, namespace=namespace, name=name, container_id=secrets.token_hex(32),
                               netns=self.names.pod(uid), conf_file=str(net.source), port_mappings=port_mappings)
        self.store.put(record)
        try:
            add_netns(record.netns)
            result = self.executor.add(net, record.runtime_conf())
        except Exception:
            try:
                self._teardown(record, net)
            except CniError as e:  # the ADD failure is what the caller needs; DEL is retried by GC
                log.warning("DEL after a failed ADD of %s/%s failed: %s", namespace, name, e)
            raise
        done = replace(record, result=result)
        self.store.put(done)
        return done

    def check(self, record: SandboxRecord) -> None:
        """CNI CHECK with the cached result; CniError if a plugin finds the network broken."""
        if record.result is None:
            raise CniError("runtime", "CHECK", code=999, msg="the sandbox has no network result")
        self.executor.check(self.network(), record.runtime_conf(), record.result)

    def destroy(self, record: SandboxRecord) -> None:
        """DEL (with the cached result), then the namespace and the record.

        Raises CniError if DEL failed, or if there is no CNI config to run it with while the namespace exists
        (nothing is removed then; the caller retries).
        """
        try:
            net: NetworkList | None = self.network()
        except CniConfigError as e:
            if self.names.owns(record.netns) and netns_exists(record.netns):
                raise CniError("runtime", "DEL", code=999, msg=f"cannot tear the network down: {e}") from e
            net = None  # no namespace, nothing a plugin could still hold there: only the record is left
        self._teardown(record, net)

    def _teardown(self, record: SandboxRecord, net: NetworkList | None) -> None:
        if net is not None:
            self.executor.delete(net, record.runtime_conf(), record.result)
        if self.names.owns(record.netns):
            if netns_exists(record.netns):
                return_to_node(record.netns, node_netns=self.executor.node_netns, router=self.names.router)
            delete_netns(record.netns)
        self.store.remove(record.uid)
