"""Shared options and loaders of the user-facing sim subcommands (up, down, check, exec, demo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from eni.sim.statedir import StateDir

state_dir_option = click.option(
    "--state-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="Where the cluster keeps its records, logs and state.json.")


def running_cluster(state_dir: Path) -> tuple[StateDir, dict[str, Any]]:
    """The state dir and its cluster record; a usage error if no cluster was brought up there."""
    state = StateDir(state_dir)
    cluster = state.cluster()
    if not cluster.get("nodes") or not (state.path / "cloud.json").exists():
        raise click.UsageError(f"no local cluster in {state_dir} (run `tke-eni-sim up --state-dir {state_dir}`)")
    return state, cluster
