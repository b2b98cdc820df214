"""Key/value logging bound per reconcile through contextvars (controller-runtime's ``log.FromContext``).

The worker binds ``controller``, ``namespace``, ``name`` and ``reconcile_id`` with ``bound(...)`` before calling a
reconciler; every ``KeyValueLogger`` call inside sees them without passing a logger around. Key/values travel
in ``record.kv`` for a JSON formatter (configured only by ``cmd``); ``KeyValueFormatter`` renders them as text.
This module never configures handlers itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})
_FIELDS: ContextVar[Mapping[str, Any]] = ContextVar("eni_log_fields", default=_NO_FIELDS)


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Bind key/values to every KeyValueLogger call made by this thread (or context) inside the block."""
    token = _FIELDS.set({**_FIELDS.get(), **fields})
    try:
        yield
    finally:
        _FIELDS.reset(token)


def current_fields() -> Mapping[str, Any]:
    """The key/values bound in this context."""
    return _FIELDS.get()


class KeyValueLogger:
    """A logger whose calls take key/values: ``log.info("Assigned IP", ip=ip, eni=eni_id)``."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def _log(self, level: int, msg: str, exc_info: bool, kv: Mapping[str, Any]) -> None:
        if self.logger.isEnabledFor(level):
            merged = {**_FIELDS.get(), **kv}
            self.logger.log(level, msg, exc_info=exc_info, extra={"kv": merged}, stacklevel=3)

    def debug(self, msg: str, **kv: Any) -> None:
        self._log(logging.DEBUG, msg, False, kv)

    def info(self, msg: str, **kv: Any) -> None:
        self._log(logging.INFO, msg, False, kv)

    def warning(self, msg: str, **kv: Any) -> None:
        self._log(logging.WARNING, msg, False, kv)

    def error(self, msg: str, *, exc_info: bool = False, **kv: Any) -> None:
        self._log(logging.ERROR, msg, exc_info, kv)


def get_logger(name: str) -> KeyValueLogger:
    return KeyValueLogger(logging.getLogger(name))


class KeyValueFormatter(logging.Formatter):
    """Appends ``key=value`` pairs from ``record.kv`` to the formatted message."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        kv: Mapping[str, Any] = getattr(record, "kv", {})
        if not kv:
            return text
        head, sep, tail = text.partition("\n")
        pairs = " ".join(f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}" for k, v in kv.items())
        return f"{head} {pairs}{sep}{tail}"
