"""The shared machinery behind ``TencentVpc``'s methods: calls, task waits, caches, tokens and tags.

A mutation here is "call, then wait for its task, then invalidate the caches it affects" — the
invalidation happens even when the call or the wait fails, because a failed or timed-out task may
still have changed the world. Describe calls page through all results, bounded by ``MAX_PAGES``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eni.cloud.errors import CloudError
from eni.cloud.tencent.cache import DescribeCache
from eni.cloud.tencent.caller import ApiCaller, Reply
from eni.cloud.tencent.idempotency import client_token
from eni.cloud.tencent.settings import TencentSettings
from eni.cloud.tencent.tasks import TaskWaiter

__all__ = ["AdapterCore", "MAX_PAGES", "PAGE_SIZE"]

log = logging.getLogger(__name__)

PAGE_SIZE = 100
"""The largest ``Limit`` the describe actions accept."""
MAX_PAGES = 100
"""At most this many pages per describe (10 000 items): a guard against a server that never ends."""


@dataclass(frozen=True, slots=True)
class AdapterCore:
    """What every group of adapter methods needs; immutable, thread-safe parts only."""

    settings: TencentSettings
    caller: ApiCaller
    tasks: TaskWaiter
    cache: DescribeCache

    def token(self, action: str, intent: str, *, scope: str = "", part: int = 0) -> str:
        """The ClientToken of one request of ``intent`` (see ``idempotency``)."""
        return client_token(
            cluster_id=self.settings.cluster_id, action=action, intent=intent, scope=scope, part=part
        )

    def marker_tags(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        """The cluster and created-by tags, plus ``extra`` (which cannot override them)."""
        tags = dict(extra or {})
        tags[self.settings.cluster_tag_key] = self.settings.cluster_id
        tags[self.settings.created_by_tag_key] = self.settings.created_by_tag_value
        return tags

    def describe(self, service: str, action: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        """One describe call's ``Response`` body (describes are never ``already_done``)."""
        reply = self.caller.call(service, action, params)
        assert reply is not None  # only already_done calls return None
        return reply.body

    def paged(
        self,
        service: str,
        action: str,
        params: Mapping[str, Any],
        set_key: str,
        *,
        string_paging: bool = False,
    ) -> list[Any]:
        """Every item of ``set_key`` over all pages of a describe call."""
        items: list[Any] = []
        for page in range(MAX_PAGES):
            offset, limit = page * PAGE_SIZE, PAGE_SIZE
            paging: dict[str, Any] = (
                {"Offset": str(offset), "Limit": str(limit)} if string_paging else {"Offset": offset, "Limit": limit}
            )
            body = self.describe(service, action, {**params, **paging})
            batch = body.get(set_key) or []
            items.extend(batch)
            total = body.get("TotalCount")
            if len(batch) < limit or (isinstance(total, int) and len(items) >= total):
                return items
        log.warning("Describe truncated", extra={"action": action, "pages": MAX_PAGES})
        return items

    def mutate_vpc(
        self,
        action: str,
        params: Mapping[str, Any],
        *,
        invalidate: Sequence[str] = ("eni", "subnet"),
        already_done: Callable[[CloudError], bool] | None = None,
        asynchronous: bool = True,
    ) -> Reply | None:
        """Call a VPC mutation and wait for its task (``TaskId`` = its RequestId)."""
        try:
            reply = self.caller.call("vpc", action, params, already_done=already_done)
            if reply is not None and asynchronous:
                self.tasks.wait_vpc_task(reply.request_id, action=action)
            return reply
        finally:
            self.cache.invalidate(*invalidate)

    def mutate_eip(
        self,
        action: str,
        params: Mapping[str, Any],
        *,
        already_done: Callable[[CloudError], bool] | None = None,
    ) -> Reply | None:
        """Call an EIP action and wait for the ``TaskId`` it returns, if any."""
        try:
            reply = self.caller.call("vpc", action, params, already_done=already_done)
            task_id = reply.body.get("TaskId") if reply is not None else None
            if task_id not in (None, ""):
                self.tasks.wait_eip_task(str(task_id), action=action)
            return reply
        finally:
            self.cache.invalidate("eip", "eni")
