"""The leader-election lock: a coordination.k8s.io/v1 Lease read and written with optimistic concurrency.

The record (holderIdentity, leaseDurationSeconds, acquireTime, renewTime, leaseTransitions) is the whole
protocol; every write carries the resourceVersion it read, so two candidates can never both win one round.
Times are the writer's local wall clock, as in client-go: there is no fencing. This module only reads and writes
the Lease; timing decisions belong to the Elector, which passes every call the time it may take.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from eni.runtime.client.errors import ApiError, NotFoundError
from eni.runtime.client.interfaces import Client
from eni.runtime.client.kube import KubeClient
from eni.runtime.meta import LEASE, Obj, ObjectKey


@dataclass(frozen=True, slots=True)
class LeaderElectionRecord:
    holder_identity: str
    lease_duration_seconds: int
    acquire_time: datetime | None
    renew_time: datetime | None
    leader_transitions: int


class LeaseLock(Protocol):
    """One Lease as seen by one candidate. Methods raise the client's typed errors.

    ``timeout`` (seconds) bounds one call; an implementation that cannot finish in time raises an ApiError
    (TransportError for a timeout). None means the implementation's own default.
    """

    identity: str

    def get(self, *, timeout: float | None = None) -> tuple[LeaderElectionRecord, str] | None:
        """The current record and its resourceVersion, or None when the Lease does not exist."""
        ...

    def create(self, record: LeaderElectionRecord, *, timeout: float | None = None) -> str:
        """Create the Lease (AlreadyExistsError if someone was faster); return the new resourceVersion."""
        ...

    def update(self, record: LeaderElectionRecord, resource_version: str, *, timeout: float | None = None) -> str:
        """Write the record if the Lease is still at ``resource_version`` (ConflictError otherwise)."""
        ...

    def describe(self) -> str: ...


def format_micro_time(value: datetime | None) -> str | None:
    """MicroTime as the API writes it.

    >>> format_micro_time(datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC))
    '2026-01-02T03:04:05.006000Z'
    """
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def record_from_lease(lease: Obj) -> LeaderElectionRecord:
    spec = lease.get("spec") or {}
    return LeaderElectionRecord(
        holder_identity=str(spec.get("holderIdentity") or ""),
        lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
        acquire_time=parse_micro_time(spec.get("acquireTime")),
        renew_time=parse_micro_time(spec.get("renewTime")),
        leader_transitions=int(spec.get("leaseTransitions") or 0),
    )


def lease_spec(record: LeaderElectionRecord) -> dict[str, Any]:
    return {
        "holderIdentity": record.holder_identity,
        "leaseDurationSeconds": record.lease_duration_seconds,
        "acquireTime": format_micro_time(record.acquire_time),
        "renewTime": format_micro_time(record.renew_time),
        "leaseTransitions": record.leader_transitions,
    }


class KubeLeaseLock:
    """A LeaseLock on a Lease object through a Client.

    Over a KubeClient the requests go straight to its transport with the caller's timeout (and without the
    client's QPS bucket: renewals are paced by the elector and must never queue). Other clients are called as
    they are; the elector still abandons a call that outlives its deadline.
    """

    def __init__(self, client: Client, *, namespace: str, name: str, identity: str) -> None:
        if not identity:
            raise ValueError("leader election needs a non-empty identity")
        self.client = client
        self.key = ObjectKey(namespace=namespace, name=name)
        self.identity = identity
        # The Lease as last read, so an update keeps its labels and annotations (client-go updates the read object).
        self._last: Obj | None = None

    def _request(self, method: str, path: str, body: Obj | None, timeout: float | None) -> Obj:
        if isinstance(self.client, KubeClient):
            answer = self.client.transport.request(method, path, body=body, timeout=timeout)
            if not isinstance(answer, dict):
                raise ApiError(0, "BadResponse", f"{method} {path}: the server did not return an object")
            return answer
        if method == "GET":
            return self.client.get(LEASE, self.key)
        assert body is not None
        return self.client.create(LEASE, body) if method == "POST" else self.client.update(LEASE, body)

    def get(self, *, timeout: float | None = None) -> tuple[LeaderElectionRecord, str] | None:
        try:
            lease = self._request("GET", LEASE.object_path(self.key.name, self.key.namespace), None, timeout)
        except NotFoundError:
            self._last = None
            return None
        self._last = lease
        return record_from_lease(lease), str(lease["metadata"].get("resourceVersion") or "")

    def create(self, record: LeaderElectionRecord, *, timeout: float | None = None) -> str:
        body: Obj = {
            "apiVersion": LEASE.api_version,
            "kind": LEASE.kind,
            "metadata": {"namespace": self.key.namespace, "name": self.key.name},
            "spec": lease_spec(record),
        }
        lease = self._request("POST", LEASE.collection_path(self.key.namespace), body, timeout)
        return str(lease["metadata"].get("resourceVersion") or "")

    def update(self, record: LeaderElectionRecord, resource_version: str, *, timeout: float | None = None) -> str:
        base = copy.deepcopy(self._last) if self._last is not None else {}
        base.update(apiVersion=LEASE.api_version, kind=LEASE.kind)
        metadata = base.setdefault("metadata", {})
        metadata.update(namespace=self.key.namespace, name=self.key.name, resourceVersion=resource_version)
        base["spec"] = lease_spec(record)
        lease = self._request("PUT", LEASE.object_path(self.key.name, self.key.namespace), base, timeout)
        self._last = lease
        return str(lease["metadata"].get("resourceVersion") or "")

    def describe(self) -> str:
        return f"lease {self.key}"
