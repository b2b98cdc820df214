"""``tke-eni-sim down``: stop a local cluster and remove what it created (idempotent)."""

from __future__ import annotations

from pathlib import Path

import click

from eni.sim.statedir import StateDir
from eni.sim.teardown import down

from .common import state_dir_option


@click.command("down")
@state_dir_option
@click.option("--purge", is_flag=True, help="Also remove the logs and the state dir itself.")
def command(state_dir: Path, purge: bool) -> None:
    """Stop every process of the cluster and remove its namespaces and files; safe to repeat."""
    report = down(StateDir(state_dir), purge=purge)
    click.echo(f"stopped {len(report.stopped)} processes, removed {len(report.namespaces)} namespaces"
               + ("" if purge else f"; logs kept in {Path(state_dir) / 'logs'}"))
