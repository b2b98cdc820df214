#!/usr/bin/env python3
"""Writes the flag tables of docs/operator-guide.md from the programs' own click commands.

Usage: ``.venv/bin/python hack/gen-flag-docs.py [--check]``. Each table sits between
``<!-- BEGIN FLAGS <program> -->`` and ``<!-- END FLAGS <program> -->``; the text around them is never
touched. ``--check`` rewrites nothing and exits 1 when a table differs from what the CLI says (the
manifests tests run it, so a new or renamed flag without regenerated docs fails).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "operator-guide.md"
# (heading, console script, "module:command", subcommand or "")
TABLES = (
    ("tke-eni-agent", "tke_eni_agent.main:cli", ""),
    ("tke-eni-agent ipam", "tke_eni_agent.main:cli", "ipam"),
    ("tke-eni-agent uninstall", "tke_eni_agent.main:cli", "uninstall"),
    ("tke-eni-ipamd", "tke_eni_ipamd.main:cli", ""),
    ("tke-eni-ip-scheduler", "tke_eni_ip_scheduler.main:cli", ""),
)
BLOCK = re.compile(r"(<!-- BEGIN FLAGS (?P<name>[^>]+?) -->\n)(?P<body>.*?)(<!-- END FLAGS (?P=name) -->)", re.S)


def load_command(target: str) -> click.Command:
    module_name, attr = target.split(":")
    command = getattr(importlib.import_module(module_name), attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


def contexts(program: str, target: str, subcommand: str) -> tuple[click.Command, click.Context]:
    """The command and a context as the program builds it (so environment variable names resolve as at run time)."""
    command = load_command(target)
    ctx = click.Context(command, info_name=program.split()[0], **command.context_settings)
    if subcommand:
        assert isinstance(command, click.Group)
        sub = command.commands[subcommand]
        ctx = click.Context(sub, info_name=subcommand, parent=ctx, **sub.context_settings)
        command = sub
    return command, ctx


def env_var(param: click.Option, ctx: click.Context) -> str:
    if param.envvar:
        names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar)
        return ", ".join(f"`{n}`" for n in names)
    if ctx.auto_envvar_prefix and param.name:
        return f"`{ctx.auto_envvar_prefix}_{param.name.upper()}`"
    return ""


def default_text(param: click.Option, ctx: click.Context) -> str:
    if param.required:
        return "required"
    value: Any = param.get_default(ctx, call=False)
    if param.is_flag and not param.secondary_opts:
        return "off" if not value else "on"
    if isinstance(value, bool):
        return f"`{param.opts[0] if value else param.secondary_opts[0]}`"
    if value is None or value == "" or value == ():
        return "—"
    if isinstance(value, timedelta):
        value = f"{int(value.total_seconds())}s"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def flag_text(param: click.Option, ctx: click.Context) -> str:
    names = " / ".join(f"`{o}`" for o in (*param.opts, *param.secondary_opts))
    if param.is_flag:
        return names
    metavar = param.make_metavar(ctx)
    return f"{names} {metavar}" if metavar else names


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def options(command: click.Command, ctx: click.Context) -> Iterator[click.Option]:
    for param in command.get_params(ctx):
        if isinstance(param, click.Option) and not param.hidden and param.expose_value:  # not --help, --version
            yield param


def table(program: str, target: str, subcommand: str) -> str:
    """The Markdown table of one command: flag, environment variable, default, meaning; by --help section."""
    command, ctx = contexts(program, target, subcommand)
    rows = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
    section = None
    for param in options(command, ctx):
        group = getattr(param, "group", "")
        if group and group != section and group != "Options":
            rows.append(f"| **{_cell(group)}** | | | |")
            section = group
        rows.append(f"| {_cell(flag_text(param, ctx))} | {env_var(param, ctx)} | {_cell(default_text(param, ctx))} "
                     f"| {_cell(param.help or '')} |")
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    """``text`` with every flag block regenerated; raises KeyError for a block naming an unknown program."""
    wanted = {heading: table(heading, target, sub) for heading, target, sub in TABLES}
    found = {m.group("name") for m in BLOCK.finditer(text)}
    if found != set(wanted):
        raise KeyError(f"flag blocks {sorted(found)} do not match the programs {sorted(wanted)}")
    return BLOCK.sub(lambda m: m.group(1) + wanted[m.group("name")] + m.group(4), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the guide's tables are stale")
    parser.add_argument("--guide", type=Path, default=GUIDE, help="the Markdown file holding the blocks")
    args = parser.parse_args(argv)
    current = args.guide.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{args.guide}: flag tables are stale; run hack/gen-flag-docs.py", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        args.guide.write_text(fresh, encoding="utf-8")
        print(f"wrote {args.guide}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
