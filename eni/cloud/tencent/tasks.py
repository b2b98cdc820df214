"""Waiting for Tencent's asynchronous tasks.

ENI and IP mutations return at once and finish later: ``DescribeVpcTaskResult(TaskId=<RequestId of the
mutation>)`` reports ``RUNNING`` until ``SUCCESS`` or ``FAILED``. EIP actions return a numeric ``TaskId``
polled with ``DescribeTaskResult``. A FAILED task raises ``TaskFailed`` carrying the task's output; a
task still running at the deadline raises ``TaskTimeout`` (retryable: its outcome is unknown), and so does
a poll that fails: the cloud accepted the action, so an error about the poll (a NotFound naming the task,
a throttle past the retries) must never read to the caller as a refusal of the action.

The polls go through the same ``ApiCaller`` as every call, so they are paced, measured and retried.
The loop is bounded by both a deadline and a poll count.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from eni.cloud.errors import CloudError, TaskFailed, TaskTimeout
from eni.cloud.tencent.caller import ApiCaller
from eni.cloud.tencent.ratelimit import Clock

__all__ = ["TASK_FAILED_CODE", "TASK_TIMEOUT_CODE", "TaskWaiter"]

TASK_FAILED_CODE = "FailedOperation.TaskFailed"
TASK_TIMEOUT_CODE = "ClientSideTaskTimeout"

_Poll = Callable[[], tuple[str, str]]
"""One poll: the task status and its output."""


class TaskWaiter:
    """Polls task results until done, failed or past the deadline; thread-safe."""

    def __init__(self, *, caller: ApiCaller, clock: Clock, timeout: float, poll_interval: float) -> None:
        self._caller = caller
        self._clock = clock
        self._timeout = timeout
        self._interval = poll_interval
        self._max_polls = math.ceil(timeout / poll_interval) + 2

    def sleep(self) -> None:
        """Sleep one poll interval (for callers that poll something other than a task)."""
        self._clock.sleep(self._interval)

    def wait_vpc_task(self, request_id: str, *, action: str) -> None:
        """Wait for the VPC task of the mutation whose RequestId is ``request_id``."""
        self._wait(
            action=action,
            task=request_id,
            poll=lambda: self._status("DescribeVpcTaskResult", {"TaskId": request_id}, "Status", "Output"),
        )

    def wait_eip_task(self, task_id: str, *, action: str) -> None:
        """Wait for the EIP task ``task_id`` (``DescribeTaskResult``)."""
        params: dict[str, object] = {"TaskId": int(task_id) if task_id.isdigit() else task_id}
        self._wait(
            action=action,
            task=task_id,
            poll=lambda: self._status("DescribeTaskResult", params, "Result", None),
        )

    def _status(
        self, action: str, params: dict[str, object], status_key: str, output_key: str | None
    ) -> tuple[str, str]:
        reply = self._caller.call("vpc", action, params)
        body = reply.body if reply is not None else {}
        output = str(body.get(output_key) or "") if output_key else ""
        return str(body.get(status_key) or ""), output

    def _wait(self, *, action: str, task: str, poll: _Poll) -> None:
        deadline = self._clock.monotonic() + self._timeout
        for _ in range(self._max_polls):
            # NB: sleep first: a task is never done the instant its action returns, so an immediate
            # poll would only spend a call of the rate budget.
            self._clock.sleep(max(0.0, min(self._interval, deadline - self._clock.monotonic())))
            try:
                status, output = poll()
            except CloudError as e:
                raise TaskTimeout(TASK_TIMEOUT_CODE, f"{action} was accepted but polling its task failed "
                                  f"({e.code}: {e}); its outcome is unknown", task) from e
            if status == "SUCCESS":
                return
            if status == "FAILED":
                message = f"{action} task failed: {output or 'no output'}"
                raise TaskFailed(TASK_FAILED_CODE, message, task, output=output)
            if self._clock.monotonic() >= deadline:
                break
        raise TaskTimeout(TASK_TIMEOUT_CODE, f"{action} task still running after {self._timeout}s", task)

