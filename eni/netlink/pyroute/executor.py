"""Threads that live inside the node's network namespace and run netlink requests there.

pyroute2 (0.9) keeps an `IPRoute`'s socket per thread: a thread other than the creator that uses it silently
gets a NEW socket opened in *its own* namespace, so sharing one across threads would act on the wrong
namespace. Hence every node-side request runs on one of a few worker threads that entered the node namespace
for good when they started and own their `IPRoute`, created and closed on that thread. Callers submit a
function of the socket and wait for its result (with a timeout).

Must never let an `IPRoute` cross threads, and never run a request before the worker is inside the node
namespace.
"""

from __future__ import annotations

import errno
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from pyroute2 import IPRoute

from eni.netlink.errors import NetlinkError
from eni.netlink.namespace import setns

__all__ = ["NodeExecutor"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_POLL = 0.5  # seconds a worker waits for a job before checking for shutdown


class NodeExecutor:
    """Runs `fn(ipr)` on worker threads inside the namespace `netns_fd` (kept open by the caller)."""

    def __init__(self, netns_fd: int, *, workers: int = 2, timeout: float = 30.0, name: str = "netlink") -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._timeout = timeout
        self._jobs: queue.Queue[tuple[Callable[[Any], Any], Future[Any]]] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        for i in range(workers):
            started: Future[None] = Future()
            thread = threading.Thread(target=self._work, args=(netns_fd, started), name=f"{name}-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
            try:
                started.result(timeout=timeout)
            except Exception:
                self.close()
                raise

    def run(self, fn: Callable[[Any], T]) -> T:
        """`fn(ipr)` on a worker, with `ipr` an `IPRoute` in the node namespace; re-raises what `fn` raised."""
        if self._stop.is_set():
            raise NetlinkError("netlink", errno.EBADF, "the network handle is closed")
        done: Future[T] = Future()
        self._jobs.put((fn, done))
        try:
            return done.result(timeout=self._timeout)
        except FutureTimeout:
            raise NetlinkError("netlink", errno.ETIMEDOUT, f"no answer within {self._timeout}s") from None

    def close(self) -> None:
        """Stop the workers; each closes its own socket. Pending jobs fail with EBADF."""
        self._stop.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=self._timeout)
        while True:
            try:
                _, pending = self._jobs.get_nowait()
            except queue.Empty:
                return
            pending.set_exception(NetlinkError("netlink", errno.EBADF, "the network handle is closed"))

    def _work(self, netns_fd: int, started: Future[None]) -> None:
        try:
            setns(netns_fd)  # NB: this thread stays in the node namespace until it exits
            ipr = IPRoute(groups=0)
        except Exception as e:
            started.set_exception(NetlinkError("ip netns exec <node>", getattr(e, "errno", None) or errno.EIO,
                                               f"cannot open a netlink socket in the node namespace: {e}"))
            return
        started.set_result(None)
        try:
            while not self._stop.is_set():
                try:
                    fn, done = self._jobs.get(timeout=_POLL)
                except queue.Empty:
                    continue
                if not done.set_running_or_notify_cancel():
                    continue
                try:
                    done.set_result(fn(ipr))
                except Exception as e:
                    done.set_exception(e)
        finally:
            ipr.close()
