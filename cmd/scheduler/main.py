"""Entry point."""

import sys

import click


@click.group()
def cli() -> None:
    """Placeholder."""


def run() -> None:
    sys.exit(cli())
