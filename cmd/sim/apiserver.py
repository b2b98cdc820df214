"""``tke-eni-sim apiserver``: the fake Kubernetes API server as a process, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

import click

from eni.runtime.testing.apiserver import FakeApiServer

log = logging.getLogger("tke_eni_sim.apiserver")


def _split_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise click.BadParameter("expected HOST:PORT, e.g. 127.0.0.1:6443", param_hint="--listen")
    return host.strip("[]"), int(port)


@click.command("apiserver")
@click.option("--listen", default="127.0.0.1:0", show_default=True, help="HOST:PORT on loopback; port 0 picks one.")
@click.option(
    "--kubeconfig",
    "kubeconfig_path",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="Write a kubeconfig for this server here once serving.",
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Load state from this file at start; save it atomically every few seconds and on exit.",
)
@click.option("--watch-history", default=10000, show_default=True, type=click.IntRange(1), help="Watch events kept.")
@click.option(
    "--graceful-pod-deletion/--no-graceful-pod-deletion",
    default=True,
    show_default=True,
    help="Bound pods stay Terminating until deleted again with grace period 0 (what a kubelet does).",
)
def command(
    listen: str, kubeconfig_path: str, state_file: str | None, watch_history: int, graceful_pod_deletion: bool
) -> None:
    """Serve a fake Kubernetes API server on loopback that kubectl and the official client accept.

    Discovery, built-in kinds, CRDs, watches, patches, finalizers and garbage collection;
    no authentication. Exits 0 on SIGTERM or SIGINT, saving state when --state-file is given.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    host, port = _split_listen(listen)
    try:
        server = FakeApiServer(
            persist_path=state_file, watch_history=watch_history, graceful_pod_deletion=graceful_pod_deletion
        )
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    try:
        server.start(host=host, port=port)
    except ValueError as e:
        raise click.UsageError(f"cannot serve on {listen}: {e}") from e
    except OSError as e:
        raise click.UsageError(f"cannot listen on {listen}: {e}") from e
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server.write_kubeconfig(kubeconfig_path)
    except OSError as e:
        server.stop()
        raise click.UsageError(f"cannot write kubeconfig {kubeconfig_path}: {e}") from e
    click.echo(f"tke-eni-sim apiserver listening on {server.url}, kubeconfig {kubeconfig_path}")
    sys.stdout.flush()
    while not stop.wait(1.0):
        pass
    server.stop()
    log.info("Stopped")
