"""``tke-eni-sim up``: bring a local cluster up (see eni.sim.cluster)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from eni.sim.cluster import DEFAULT_INSTANCE_TYPE, ClusterBuilder, UpConfig, UpError
from eni.sim.statedir import StateDir
from eni.sim.ui import Progress

from .common import state_dir_option


@click.command("up")
@state_dir_option
@click.option("--nodes", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("--zones", default=2, show_default=True, type=click.IntRange(1, 8))
@click.option("--mode", type=click.Choice(["non-static", "static"]), default="non-static", show_default=True)
@click.option("--instance-type", default=DEFAULT_INSTANCE_TYPE, show_default=True,
              help="CVM type of every node; its quotas decide the ENIs (shared and exclusive) a node may attach.")
@click.option("--world", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML world for the emulator (see `tke-eni-sim cloud --help`); its instances are not nodes.")
@click.option("--ready-timeout", default=90.0, show_default=True, type=click.FloatRange(5, 900))
@click.option("--program", "programs", multiple=True, metavar="NAME=PATH",
              help="Run PATH instead of the installed program NAME (e.g. tke-eni-agent=./build/agent).")
def command(state_dir: Path, nodes: int, zones: int, mode: str, instance_type: str, world: Path | None,
            ready_timeout: float, programs: tuple[str, ...]) -> None:
    """Start a local cluster: API server, cloud emulator, VPC router and node namespaces, ipamd, agents,
    kubelet and scheduler stand-ins. Returns once every node is Ready; writes DIR/state.json."""
    try:
        overrides = tuple(tuple(p.split("=", 1)) for p in programs)
        if any(len(o) != 2 or not o[1] for o in overrides):
            raise ValueError("--program takes NAME=PATH")
        cfg = UpConfig(nodes=nodes, zones=zones, mode=mode, instance_type=instance_type, world=world,
                       ready_timeout=ready_timeout, programs=tuple((o[0], o[1]) for o in overrides))
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    state = StateDir(state_dir)
    try:
        summary = ClusterBuilder(state, cfg, Progress()).up()
    except UpError as e:
        click.echo(f"tke-eni-sim up failed: {e}\n(the cluster is left as it is for inspection; "
                   f"`tke-eni-sim down --state-dir {state_dir}` removes it)", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted; `tke-eni-sim down --state-dir {state_dir}` removes what was started", err=True)
        sys.exit(130)
    click.echo(json.dumps({"state": str(state.path / "state.json"), "kubeconfig": summary["kubeconfig"]}))
