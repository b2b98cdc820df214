"""One pass of keeping the node in line with its NodeENIConfig status, and what the agent publishes back.

Why one function: the agent's loop (and the informer handler) calls ``sync`` with each status it sees; it
configures the ENIs found by MAC, enforces the sysctls, hands the service the pool and the ENIs' route
tables, and answers the release handshake. Exclusive (direct) ENIs get none of the shared set-up (no route table,
no rules, no sysctls): they are only located by MAC and handed to the exclusive-ENI service, whose in-use and
promised-back ENIs join the report; the first sync also brings back free exclusive ENIs stranded in pod
namespaces. The caller merge-patches the returned ``AgentStatus`` into
``status.agent`` only after ``sync`` returns, i.e. after the promises are durable.

Must never: write to the API server (the caller does), or promise an IP (or an exclusive ENI) that is in use,
cooling down or away from the node's namespace.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eni.agent.directpool import parse_direct_pool
from eni.agent.directservice import DirectReport
from eni.agent.pool import PoolView, parse_pool
from eni.agent.service import AgentService
from eni.netlink.interfaces import NodeNetwork
from eni.netlink.types import EniSpec

__all__ = ["AgentStatus", "NodeSync"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """``status.agent`` of the NodeENIConfig, as this agent reports it."""

    in_use_ips: tuple[str, ...]
    released_ips: tuple[str, ...]
    heartbeat_time: str
    in_use_enis: tuple[str, ...] = ()
    released_enis: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"inUseIPs": list(self.in_use_ips), "releasedIPs": list(self.released_ips),
                "inUseENIs": list(self.in_use_enis), "releasedENIs": list(self.released_enis),
                "heartbeatTime": self.heartbeat_time}

    def handshake(self) -> tuple[tuple[str, ...], ...]:
        """What ipamd acts on (everything but the heartbeat): a change of it is published at once."""
        return (self.in_use_ips, self.released_ips, self.in_use_enis, self.released_enis)


class NodeSync:
    """Applies NodeENIConfig statuses to the node and the service; not thread-safe (one loop calls it)."""

    def __init__(self, service: AgentService, node: NodeNetwork, *,
                 now: Callable[[], datetime.datetime] | None = None,
                 spec: Callable[[], Mapping[str, Any]] | None = None) -> None:
        self._service = service
        self._node = node
        self._now = now or (lambda: datetime.datetime.now(datetime.timezone.utc))
        self._spec = spec or dict
        self._recovered = False

    def sync(self, status: Mapping[str, Any] | None) -> AgentStatus:
        pool = parse_pool(status)
        shared = [e for e in pool.enis if e.shared]
        states = self._node.sync_enis([EniSpec(mac=e.mac, primary_ip=e.primary_ip, subnet=e.subnet,
                                               gateway=e.gateway) for e in shared])
        self._node.enforce_sysctls([s.ifname for s in states])
        tables = {s.mac: s.table for s in states}
        # NB: exclusive ENIs first: update_pool wakes ADDs waiting for a static IP or ENI, which must see both;
        # and promises first, so that a woken ADD never finds an IP Bound again (a release ipamd cancelled) still
        # promised back.
        self._sync_direct(status)
        self._service.ledger.promise_release(pool)
        self._service.update_pool(pool, tables)
        self._repair_pod_rules(tables)
        return self._report(pool)

    def _sync_direct(self, status: Mapping[str, Any] | None) -> None:
        if self._service.direct is None:
            return
        try:
            self._refresh_direct(status)
        except Exception:
            # NB: a failure here must not keep shared-ENI pods from their pool; the next step retries.
            log.exception("Applying the exclusive ENIs of the NodeENIConfig status failed")

    def _refresh_direct(self, status: Mapping[str, Any] | None) -> None:
        direct = self._service.direct
        assert direct is not None
        capacity = self._spec().get("maxDirectENI")
        limit = capacity if isinstance(capacity, int) and not isinstance(capacity, bool) and capacity > 0 else 0
        direct.refresh(parse_direct_pool(status), capacity=limit)
        if not self._recovered:
            self._recovered = True
            if direct.recover():
                direct.refresh(direct.pool(), capacity=limit)

    def report(self) -> AgentStatus:
        """The report over the pool last applied by ``sync``, for a prompt publish between syncs."""
        return self._report(self._service.pool())

    def _repair_pod_rules(self, tables: Mapping[str, int]) -> None:
        """Re-adds missing policy rules of every allocated IP (drift repair; present ones are kept)."""
        # NB: exclusive, so that a DEL cannot remove an IP's rules between our read and our add.
        with self._service.exclusive():
            rules = [(a.ip, tables[a.eni_mac]) for a in self._service.ledger.allocations() if a.eni_mac in tables]
            if rules:
                self._node.ensure_pod_rules(rules)

    def _report(self, pool: PoolView) -> AgentStatus:
        ledger = self._service.ledger
        promised = ledger.promise_release(pool)
        in_use = ledger.in_use()
        direct = self._service.direct.report() if self._service.direct is not None else DirectReport()
        stamp = self._now().astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        # NB: sorted by int: IPv4Address compares in Python code, which made sorting the report's main cost.
        return AgentStatus(in_use_ips=tuple(str(ip) for ip in sorted(in_use, key=int)),
                           released_ips=tuple(str(ip) for ip in sorted(promised, key=int)), heartbeat_time=stamp,
                           in_use_enis=direct.in_use, released_enis=direct.released)
