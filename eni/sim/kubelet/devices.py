"""Device assignment of the kubelet stand-in: a pod's extended-resource requests get device ids, and the
device plugin's Allocate is called for them before the pod's sandbox is built (as the kubelet's admission does).

Ids are taken from the devices the plugin lists as Healthy and not yet given to another pod of this node.
Assignments live in memory: a restarted stand-in starts with none, like a kubelet without its checkpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from eni.agent.deviceplugin.protocol import HEALTHY
from eni.sim.kubelet.device_manager import FakeDeviceManager, UnknownResourceError


class AdmissionError(RuntimeError):
    """The node cannot give the pod the devices it requests (too few, or no plugin)."""


class DeviceAssigner:
    def __init__(self, manager: FakeDeviceManager) -> None:
        self.manager = manager
        self._lock = threading.Lock()
        self._held: dict[str, dict[str, list[str]]] = {}  # pod uid -> resource -> device ids

    def assign(self, uid: str, wants: Mapping[str, int]) -> dict[str, list[str]]:
        """Pick and Allocate devices for every requested resource a plugin serves; AdmissionError if short."""
        with self._lock:
            if uid in self._held:
                return self._held[uid]
            picked: dict[str, list[str]] = {}
            for resource, count in sorted(wants.items()):
                table = self.manager.devices(resource)
                if not table:
                    raise AdmissionError(f"no device plugin serves {resource} on this node")
                taken = {d for held in self._held.values() for d in held.get(resource, [])}
                free = sorted(d for d, health in table.items() if health == HEALTHY and d not in taken)
                if len(free) < count:
                    raise AdmissionError(f"insufficient {resource}: {count} requested, {len(free)} free")
                picked[resource] = free[:count]
            for resource, ids in picked.items():
                try:
                    self.manager.allocate(resource, [ids])
                except (UnknownResourceError, Exception) as e:  # grpc.RpcError included
                    raise AdmissionError(f"Allocate of {resource} failed: {e}") from e
            self._held[uid] = picked
            return picked

    def release(self, uid: str) -> None:
        with self._lock:
            self._held.pop(uid, None)

    def held(self) -> dict[str, dict[str, list[str]]]:
        with self._lock:
            return {uid: {r: list(ids) for r, ids in res.items()} for uid, res in self._held.items()}
