"""``tke-eni-sim cloud``: the Tencent Cloud emulator as a process, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

import click

from eni.cloud.emulator import Emulator, World, WorldError
from eni.cloud.emulator import world as world_module

log = logging.getLogger("tke_eni_sim.cloud")


def _split_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter("expected HOST:PORT, e.g. 127.0.0.1:9000")
    return host.strip("[]"), int(port)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _world_format() -> str:
    """The YAML example block of the world module's docstring, for --help."""
    block = (world_module.__doc__ or "").split("::\n\n", 1)[-1]
    lines = itertools.takewhile(lambda line: line.startswith("    ") or not line.strip(), block.splitlines())
    return "\n".join(line[2:] for line in lines).rstrip()


def _default_world() -> str:
    """One paragraph describing the built-in world, generated from it so the two never drift apart."""
    world = World.default()
    subnets = ", ".join(f"{s.subnet_id} {s.cidr} ({s.zone})" for s in world.subnets)
    instances = ", ".join(f"{i.instance_id} {i.instance_type} ({i.zone})" for i in world.instances)
    groups = ", ".join(g.group_id for g in world.security_groups)
    return (f"Without --world: region {world.region}, VPC {world.vpc_id} {world.vpc_cidr} with route table "
            f"{world.route_table_id}; subnets {subnets}; security groups {groups}; instances {instances}.")


@click.command(
    "cloud",
    epilog="World file format (YAML):\n\n\b\n" + _world_format() + "\n\n" + _default_world(),
)
@click.option("--listen", default="127.0.0.1:0", show_default=True, help="HOST:PORT on loopback; port 0 picks one.")
@click.option("--secret-id", envvar="TENCENTCLOUD_SECRET_ID", default="AKIDEMULATOR", show_default=True)
@click.option("--secret-key", envvar="TENCENTCLOUD_SECRET_KEY", default="emulator-secret", show_default=False,
              help="The key requests must be signed with (TC3-HMAC-SHA256).")
@click.option("--world", "world_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML world description (see below).")
@click.option("--task-delay", default=0.05, show_default=True, type=click.FloatRange(0, 60),
              help="Seconds before an asynchronous task (ENI/IP/EIP) finishes.")
@click.option("--faults", "faults_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON fault plan, the body format of PUT /_admin/faults.")
@click.option("--documented-rate-limits", is_flag=True,
              help="Throttle above Tencent's documented rates (100/s per ENI/IP action, 10/s ReleaseAddresses).")
@click.option("--endpoint-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write HOST:PORT here once serving.")
@click.option("--seed", type=int, default=None, help="Seed for ids, MACs and fault dice.")
def command(
    listen: str, secret_id: str, secret_key: str, world_file: Path | None, task_delay: float,
    faults_file: Path | None, documented_rate_limits: bool, endpoint_file: Path | None, seed: int | None,
) -> None:
    """Serve the Tencent Cloud VPC and CVM APIs (2017-03-12) on loopback for the real SDK.

    Admin endpoints under /_admin/: faults (GET/PUT/DELETE), state, reset, instances, calls.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    host, port = _split_listen(listen)
    try:
        world = World.from_yaml(world_file) if world_file else World.default()
    except WorldError as e:
        raise click.UsageError(str(e)) from e
    emu = Emulator(world=world, secret_id=secret_id, secret_key=secret_key, task_delay=task_delay, seed=seed)
    if documented_rate_limits:
        emu.faults.apply_documented_limits()
    if faults_file:
        try:
            emu.faults.update(json.loads(faults_file.read_text()))
        except ValueError as e:
            raise click.UsageError(f"bad fault plan: {e}") from e
    try:
        emu.start(host=host, port=port)
    except (ValueError, OSError) as e:
        raise click.UsageError(f"cannot listen on {listen}: {e}") from e
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if endpoint_file:
        _write_atomically(endpoint_file, emu.endpoint + "\n")
    click.echo(f"tke-eni-sim cloud listening on {emu.endpoint} region {emu.region}")
    sys.stdout.flush()
    while not stop.wait(1.0):
        pass
    emu.stop()
    log.info("Stopped")
