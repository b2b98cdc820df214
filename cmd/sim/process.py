"""What every long-running sim component shares: logging set-up and a stop event tied to SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType


def serve_until_signalled(name: str) -> threading.Event:
    """Configure logging for component ``name``; the returned event is set on SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s %(levelname)s {name} %(name)s %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop
