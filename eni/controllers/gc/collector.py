"""LeakCollector: compares the cloud's ENIs of this cluster with the VpcENI/VpcIP objects.

Each pass (``collect_once``, every ``interval`` on the leader):
- an ENI tagged with this cluster that no VpcENI names and that is not attached, seen so for longer
  than ``grace`` (remembered from pass to pass), is deleted;
- a secondary IP on a recorded ENI that no VpcIP names, seen so for longer than ``grace``, is
  unassigned — such an IP was never published in a NEC status, so no pod can hold it;
- a VpcIP whose IP the cloud no longer has on its ENI (by a fresh describe), for longer than
  ``grace``, is removed.
The grace period covers the instant between a cloud call and the record that follows it, and a
pending intent on the NEC (a restart replays it) holds collection of that node's ENIs and IPs. It
never touches ENIs without the cluster's tags, attached unknown ENIs, or primary IPs.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from eni.api.v1 import NODE_ENI_CONFIG, VpcIP, VpcIPPhase
from eni.cloud.errors import CloudError, NotFound
from eni.cloud.interfaces import VpcApi
from eni.cloud.types import Eni, EniId
from eni.controllers.eni.records import Records
from eni.controllers.metrics import CloudCalls, IpamdMetrics
from eni.controllers.nec.intents import pending_assign, pending_eni
from eni.runtime import log as kvlog
from eni.runtime.clock import REAL_CLOCK, Clock

log = kvlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class GcReport:
    """What one pass did."""

    deleted_enis: tuple[str, ...] = ()
    unassigned_ips: tuple[str, ...] = ()
    forgotten_records: tuple[str, ...] = ()


@dataclass
class _Suspects:
    first_seen: dict[str, float] = field(default_factory=dict)

    def ripe(self, key: str, now: float, grace: float) -> bool:
        first = self.first_seen.setdefault(key, now)
        return now - first >= grace


class LeakCollector:
    """A leader Runnable (``start``) and a single pass (``collect_once``) for tests."""

    def __init__(
        self, *, vpc: VpcApi, records: Records, cluster_tags: Mapping[str, str], interval: float, grace: float,
        metrics: IpamdMetrics, clock: Clock = REAL_CLOCK,
    ) -> None:
        if interval <= 0 or grace < 0:
            raise ValueError("interval must be > 0 and grace >= 0")
        if not cluster_tags:
            raise ValueError("cluster_tags must name this cluster, or GC could touch other clusters' ENIs")
        self._vpc = vpc
        self._records = records
        self._tags = dict(cluster_tags)
        self._interval = interval
        self._grace = grace
        self._calls = CloudCalls(metrics)
        self._clock = clock
        self._enis = _Suspects()
        self._ips = _Suspects()
        self._records_gone = _Suspects()

    def need_leader_election(self) -> bool:
        return True

    def start(self, stop: threading.Event) -> None:
        while not self._clock.wait(stop, self._interval):
            try:
                self.collect_once()
            except CloudError as e:
                log.warning("Leak collection failed; next pass retries", error=str(e))

    def collect_once(self) -> GcReport:
        now = self._clock.monotonic()
        cloud = self._calls.call("DescribeNetworkInterfaces", lambda: self._vpc.describe_enis(tags=self._tags))
        known_enis = {e.name: e for e in self._records.all_enis()}
        known_ips = {ip.name: ip for ip in self._records.all_ips()}
        busy_nodes = self._nodes_with_pending_intents()
        deleted: list[str] = []
        unassigned: list[str] = []
        suspects_now: set[str] = set()
        ip_suspects_now: set[str] = set()
        for eni in cloud:
            if eni.primary:
                continue
            node = eni.tags.get("tke-eni-node", "")
            record = known_enis.get(eni.id)
            if record is None:
                if eni.attachment is not None or node in busy_nodes:
                    continue
                suspects_now.add(eni.id)
                if self._enis.ripe(eni.id, now, self._grace):
                    self._delete_eni(eni.id)
                    deleted.append(eni.id)
                continue
            if record.spec.node_name in busy_nodes:
                continue
            stray = [ip.address for ip in eni.secondary_ips if ip.address not in known_ips]
            ripe = []
            for address in stray:
                ip_suspects_now.add(address)
                if self._ips.ripe(address, now, self._grace):
                    ripe.append(address)
            if ripe:
                self._unassign(eni.id, ripe)
                unassigned.extend(ripe)
        self._forget_cleared(self._enis, suspects_now, deleted)
        self._forget_cleared(self._ips, ip_suspects_now, unassigned)
        forgotten = self._forget_gone_records(cloud_by_id={e.id: e for e in cloud}, known_ips=known_ips, now=now)
        report = GcReport(tuple(deleted), tuple(unassigned), tuple(forgotten))
        if deleted or unassigned or forgotten:
            log.info("Collected leaked resources", enis=len(deleted), ips=len(unassigned), records=len(forgotten))
        return report

    @staticmethod
    def _forget_cleared(suspects: _Suspects, still: set[str], done: list[str]) -> None:
        for key in list(suspects.first_seen):
            if key not in still or key in done:
                del suspects.first_seen[key]

    def _delete_eni(self, eni_id: EniId) -> None:
        try:
            self._calls.call("DeleteNetworkInterface", lambda: self._vpc.delete_eni(eni_id))
        except NotFound:
            pass

    def _unassign(self, eni_id: EniId, addresses: list[str]) -> None:
        try:
            self._calls.call("UnassignPrivateIpAddresses", lambda: self._vpc.unassign_private_ips(eni_id, addresses))
        except NotFound:
            pass

    def _forget_gone_records(self, *, cloud_by_id: Mapping[str, Eni], known_ips: Mapping[str, VpcIP],
                             now: float) -> list[str]:
        """VpcIPs whose IP a fresh describe of their ENI no longer shows, for longer than the grace period."""
        forgotten: list[str] = []
        gone_now: set[str] = set()
        for address, record in known_ips.items():
            if record.status.phase is VpcIPPhase.ASSIGNING or not record.spec.eni_id:
                continue
            eni = cloud_by_id.get(record.spec.eni_id)
            if eni is not None and any(ip.address == address for ip in eni.private_ips):
                continue
            found = self._vpc.describe_enis(eni_ids=[EniId(record.spec.eni_id)])
            if found and any(ip.address == address for ip in found[0].private_ips):
                continue
            gone_now.add(address)
            if self._records_gone.ripe(address, now, self._grace):
                self._records.forget_records([record])
                forgotten.append(address)
        self._forget_cleared(self._records_gone, gone_now, forgotten)
        return forgotten

    def _nodes_with_pending_intents(self) -> set[str]:
        busy: set[str] = set()
        for nec in self._records.client.list(NODE_ENI_CONFIG):
            annotations = (nec.get("metadata") or {}).get("annotations") or {}
            if pending_eni(annotations) is not None or pending_assign(annotations) is not None:
                busy.add(str((nec.get("metadata") or {}).get("name") or ""))
        return busy
