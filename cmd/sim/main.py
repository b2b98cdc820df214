"""tke-eni-sim: the local cluster and the stand-ins it is made of.

Subcommands are imported only when invoked, so `tke-eni-sim --help` stays fast and one broken
stand-in cannot take the others down.
"""

from __future__ import annotations

import importlib
import sys

import click

# subcommand name -> "module:attribute" of a click command
SUBCOMMANDS: dict[str, str] = {
    "apiserver": "tke_eni_sim.apiserver:command",
    "cloud": "tke_eni_sim.cloud:command",
    "up": "tke_eni_sim.up:command",
    "down": "tke_eni_sim.down:command",
    "check": "tke_eni_sim.check:command",
    "exec": "tke_eni_sim.exec:command",
    "cni-check": "tke_eni_sim.cnicheck:command",
    "demo": "tke_eni_sim.demo:command",
    "vpc": "tke_eni_sim.vpc:command",
    "kubelet": "tke_eni_sim.kubelet:command",
    "scheduler": "tke_eni_sim.scheduler:command",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Run tke-eni's local cluster and its stand-ins.

    up/down/check/exec/demo manage a whole simulated cluster in network namespaces; apiserver and
    cloud serve one stand-in on loopback until SIGTERM or Ctrl-C; vpc, kubelet and scheduler are the
    processes `up` starts.
    """


def run() -> None:
    """Console-script entry point."""
    sys.exit(cli())
