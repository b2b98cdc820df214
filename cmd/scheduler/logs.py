"""Log output of tke-eni-ip-scheduler: one JSON object per line, or text, at the chosen level.

Only configures the root logger's handler; never decides what is logged.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from eni.runtime.log import KeyValueFormatter


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...key/values}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                                 "logger": record.name, "msg": record.getMessage()}
        entry.update({k: v if isinstance(v, (int, float, bool, type(None))) else str(v)
                      for k, v in getattr(record, "kv", {}).items()})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(*, level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
