"""``tke-eni-sim vpc``: the cloud emulator with the simulated VPC data plane as its hooks (one process).

Started by ``tke-eni-sim up``: the emulator's attach/detach/assign/unassign hooks must run where the data
plane is programmed, so both live in this process. It reads the cluster's prefix and credentials from the
state dir, makes the router namespace, and writes ``cloud.json`` (endpoint, region) once serving. A world file
that lists no ``instances`` gets none (``up`` adds the nodes); it never gets the built-in instances.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click
import yaml

from eni.cloud.emulator import Emulator, World, WorldError
from eni.sim.dataplane import VpcDataPlane
from eni.sim.names import SimNames
from eni.sim.statedir import StateDir, write_json

from .process import serve_until_signalled

log = logging.getLogger("tke_eni_sim.vpc")


@click.command("vpc")
@click.option("--state-dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--listen-port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1; 0 picks one.")
@click.option("--task-delay", default=0.05, show_default=True, type=click.FloatRange(0, 60))
@click.option("--faults", "faults_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON fault plan, the body format of PUT /_admin/faults.")
def command(state_dir: Path, listen_port: int, task_delay: float, faults_file: Path | None) -> None:
    """Serve the Tencent Cloud emulator whose hooks program the simulated VPC (internal to `up`)."""
    stop = serve_until_signalled("vpc")
    state = StateDir(state_dir)
    cluster = state.cluster()
    if not cluster.get("prefix"):
        raise click.UsageError(f"{state_dir} is not the state dir of a local cluster (no cluster.json)")
    try:
        world = _load_world(str(cluster.get("world") or ""))
    except WorldError as e:
        raise click.UsageError(str(e)) from e
    plane = VpcDataPlane(SimNames(cluster["prefix"]))
    plane.create_router(s.cidr for s in world.subnets)
    emu = Emulator(world=world, secret_id=cluster["secret_id"], secret_key=cluster["secret_key"],
                   task_delay=task_delay, hooks=plane)
    if faults_file:
        emu.faults.update(json.loads(faults_file.read_text()))
    emu.start(host="127.0.0.1", port=listen_port)
    write_json(state.path / "cloud.json", {"endpoint": emu.endpoint, "region": emu.region, "vpc_id": world.vpc_id,
                                           "subnets": [{"id": s.subnet_id, "zone": s.zone, "cidr": s.cidr}
                                                       for s in world.subnets]})
    click.echo(f"tke-eni-sim vpc: emulator on {emu.endpoint}, router namespace {plane.names.router}", err=True)
    while not stop.wait(1.0):
        pass
    emu.stop()
    log.info("Stopped")


def _load_world(path: str) -> World:
    """The world file (or the built-in world) without built-in instances: ``up`` adds the nodes itself, and the
    built-in ones sit in the built-in subnets, which a world with its own subnets does not have."""
    if not path:
        return World.from_dict({"instances": []})
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise WorldError(f"cannot read world file {path}: {e}") from e
    if raw is None:
        raw = {}
    if isinstance(raw, dict):
        raw.setdefault("instances", [])
    return World.from_dict(raw)
