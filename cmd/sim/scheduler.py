"""``tke-eni-sim scheduler``: the scheduler stand-in of the local cluster (internal to `up`)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from eni.sim.kube import KubeApi
from eni.sim.scheduler import ExtenderConfig, SimScheduler
from eni.sim.statedir import StateDir

from .process import serve_until_signalled

log = logging.getLogger("tke_eni_sim.scheduler")


@click.command("scheduler")
@click.option("--state-dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--extender-url", default="", help="URL prefix of the scheduler extender; empty: none.")
def command(state_dir: Path, extender_url: str) -> None:
    """Bind pending pods to nodes, asking the extender about eni-ip pods (internal to `up`)."""
    stop = serve_until_signalled("scheduler")
    state = StateDir(state_dir)
    api = KubeApi(state.kubeconfig)
    extender = ExtenderConfig(url_prefix=extender_url) if extender_url else None
    try:
        SimScheduler(api, extender=extender).run(stop)
    finally:
        api.close()
    log.info("Stopped")
