"""Log output of the programs: one JSON object per line, or text, at the chosen level.

Only configures the root logger's handler; never decides what is logged. The text formatter is handed in,
so this module needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
"""The line layout the text formatter is built with."""


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


def configure_logging(*, level: str, fmt: str, text_formatter: logging.Formatter) -> None:
    """Send the root logger to stderr as JSON (``fmt == "json"``) or through ``text_formatter``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else text_formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
