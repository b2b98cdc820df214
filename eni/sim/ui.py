"""Friendly terminal output for the sim commands: steps, a live waiting line, tables.

On a terminal the waiting line is redrawn in place; otherwise (logs, CI) each change is one line. Output
goes to the stream given (stderr for progress, stdout for tables), never anywhere else.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO


class Progress:
    """Progress of a long command: ``step`` lines and a redrawn ``waiting`` line."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._pending = ""
        self._started = time.monotonic()

    def _clear(self) -> None:
        if self._pending and self._tty:
            self.stream.write("\r\033[K")
        self._pending = ""

    def step(self, text: str) -> None:
        if self.quiet:
            return
        self._clear()
        self.stream.write(f"[{time.monotonic() - self._started:5.1f}s] {text}\n")
        self.stream.flush()

    def ok(self, text: str) -> None:
        self.step(f"ok   {text}")

    def fail(self, text: str) -> None:
        self.step(f"FAIL {text}")

    def waiting(self, text: str) -> None:
        """Show what is being waited for; repeated calls with the same text print nothing new."""
        if self.quiet or text == self._pending:
            return
        if self._tty:
            self.stream.write(f"\r\033[K       ... {text}")
        else:
            self.stream.write(f"       ... {text}\n")
        self.stream.flush()
        self._pending = text

    def end_wait(self) -> None:
        if not self.quiet:
            if self._pending and self._tty:
                self.stream.write("\n")
            self._pending = ""


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)
