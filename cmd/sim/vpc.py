"""``tke-eni-sim vpc``: the cloud emulator with the simulated VPC data plane as its hooks (one process).

Started by ``tke-eni-sim up``: the emulator's attach/detach/assign/unassign hooks must run where the data
plane is programmed, so both live in this process. It reads the cluster's prefix and credentials from the
state dir, makes the router namespace, and writes ``cloud.json`` (endpoint, region) once serving.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

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
        world = World.from_yaml(cluster["world"]) if cluster.get("world") else World.from_dict({"instances": []})
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
