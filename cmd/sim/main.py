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
    """Run tke-eni's local stand-ins: a fake Kubernetes API server and a Tencent Cloud emulator.

    Each subcommand serves on loopback until SIGTERM or Ctrl-C.
    """


def run() -> None:
    """Console-script entry point."""
    sys.exit(cli())
