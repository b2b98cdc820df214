"""Deletes host veths of deleted pods on a background thread, so that CNI DEL does not wait for the kernel.

Why: deleting a veth is the slowest step of DEL (the kernel waits for RCU), yet nothing depends on it once
the pod's /32 route and rules are gone and its IP is durably released into cooldown: no traffic is routed
to the old veth, and the IP is not handed out again before the cooldown ends. So DEL schedules the veth
here and returns.

Collisions: host veth names are stable per attachment, so a re-ADD of the same attachment would meet its own
veth still pending deletion. ``flush`` (called by ADD under the attachment's lock) takes the name back and
deletes it at once; the worker deletes a name only under the same lock and only while it is still pending,
so it can never delete a veth that an ADD has just created.

Must never: delete a name that is no longer pending; block ``close`` for longer than its timeout; stop on a
failed deletion (it is logged; the IP GC's stale-state sweep and the next ADD's reuse logic recover).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager

__all__ = ["VethReaper"]

log = logging.getLogger(__name__)


class VethReaper:
    """A queue of host veth names to delete, served by one lazily started daemon thread."""

    def __init__(
        self,
        delete: Callable[[str], None],
        *,
        lock_for: Callable[[Hashable], AbstractContextManager[object]] = lambda _: contextlib.nullcontext(),
    ) -> None:
        self._delete = delete
        self._lock_for = lock_for
        self._cond = threading.Condition()
        self._pending: dict[str, Hashable] = {}  # name -> the attachment key it was scheduled for, FIFO
        self._busy = False  # guarded by _cond: the worker is deleting a name it took off _pending
        self._paused = 0  # guarded by _cond: open paused() blocks
        self._closing = False
        self._thread: threading.Thread | None = None

    def schedule(self, name: str, key: Hashable) -> None:
        """Deletes veth ``name`` (of attachment ``key``) soon; call it with the attachment's lock held."""
        with self._cond:
            if not self._closing:
                self._pending[name] = key
                self._ensure_worker()
                self._cond.notify()
                return
        # NB: after close nothing runs in the background: delete now, the caller pays the latency.
        self._delete_logged(name)

    def flush(self, name: str) -> bool:
        """Deletes ``name`` now if it is pending (call with its attachment's lock held); True if it was."""
        with self._cond:
            if self._pending.pop(name, None) is None:
                return False
            self._cond.notify_all()
        self._delete_logged(name)
        return True

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """While open, the worker starts no deletion (``flush`` still works): pending names stay pending."""
        with self._cond:
            self._paused += 1
        try:
            yield
        finally:
            with self._cond:
                self._paused -= 1
                self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._pending) + (1 if self._busy else 0)

    def wait_idle(self, timeout: float) -> bool:
        """Blocks until nothing is pending or ``timeout`` seconds passed; True when idle."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout=timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Deletes what is pending (within ``timeout``) and stops the worker; later schedules delete at once."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=timeout)

    def _ensure_worker(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="veth-reaper", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._closing and (not self._pending or self._paused):
                    self._cond.wait(timeout=5.0)
                if not self._pending:
                    return
                name, key = next(iter(self._pending.items()))
            with self._lock_for(key):
                with self._cond:
                    if self._pending.get(name) is not key:
                        continue  # flushed (and maybe re-created) by an ADD meanwhile
                    del self._pending[name]
                    self._busy = True
                try:
                    self._delete_logged(name)
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()

    def _delete_logged(self, name: str) -> None:
        try:
            self._delete(name)
        except Exception:
            log.warning("Deleting a pod's host veth failed", exc_info=True, extra={"ifname": name})
