"""Log output of tke-eni-agent: one JSON object per line, or text, at the chosen level.

The agent's modules log key/values through ``extra={...}`` (and the runtime's through ``kv``); both end up
as fields of the line. Only configures the root logger's handler; never decides what is logged.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from eni.runtime.log import KeyValueFormatter

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "kv"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
    fields.update(getattr(record, "kv", {}) or {})
    return {k: v if isinstance(v, (int, float, bool, type(None))) else str(v) for k, v in fields.items()}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...fields}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                                 "logger": record.name, "msg": record.getMessage()}
        entry.update(_fields(record))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class TextFormatter(KeyValueFormatter):
    """The runtime's key=value text lines, with the ``extra`` fields too."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = {k: v for k, v in _fields(record).items() if k not in (getattr(record, "kv", {}) or {})}
        return line + "".join(f" {k}={v}" for k, v in extra.items())


def configure_logging(*, level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
