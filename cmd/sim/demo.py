"""``tke-eni-sim demo``: bring a cluster up, show pods getting VPC IPs and talking, check, tear down."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from eni.sim.demo import Demo, DemoConfig
from eni.sim.ui import Progress


@click.command("demo")
@click.option("--mode", type=click.Choice(["static", "non-static"]), default="static", show_default=True,
              help="static also shows a static-IP pod keeping its IP across deletion.")
@click.option("--replicas", default=6, show_default=True, type=click.IntRange(2, 30))
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Default: a fresh temporary folder.")
@click.option("--direct-eni/--no-direct-eni", default=True, show_default=True,
              help="Also run an exclusive-ENI pod (tke-direct-eni) and ping between it and a shared-ENI pod.")
@click.option("--keep", is_flag=True, help="Leave the cluster running at the end (tear down with `down`).")
@click.option("--program", "programs", multiple=True, metavar="NAME=PATH",
              help="Run PATH instead of the installed program NAME (e.g. tke-eni-agent=./build/agent).")
def command(mode: str, replicas: int, state_dir: Path | None, direct_eni: bool, keep: bool,
            programs: tuple[str, ...]) -> None:
    """Show tke-eni on one machine in under two minutes; exits non-zero if anything shown did not work."""
    overrides = [p.split("=", 1) for p in programs]
    if any(len(o) != 2 or not o[1] for o in overrides):
        raise click.UsageError("--program takes NAME=PATH")
    cfg = DemoConfig(replicas=replicas, mode=mode, direct_eni=direct_eni, keep=keep, state_dir=state_dir,
                     programs=tuple((o[0], o[1]) for o in overrides))
    outcome = Demo(cfg, out=sys.stdout, progress=Progress()).run()
    if not outcome.ok:
        for failure in outcome.failures:
            click.echo(f"FAILED: {failure}", err=True)
        sys.exit(1)
