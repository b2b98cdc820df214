"""Click building blocks of the programs: flag groups in --help and the DURATION and LIST value types.

It only shapes the command line; meaning and validation of the values live in each program's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import click

from eni.api.v1.codec import parse_duration

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS: dict[str, Any] = {
    "auto_envvar_prefix": "ENI",
    "help_option_names": ["-h", "--help"],
    "max_content_width": 120,
    "show_default": True,
}


class DurationType(click.ParamType[timedelta]):
    """A Go-style duration (``90s``, ``5m``, ``1h30m``) parsed into a timedelta."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as e:
            self.fail(str(e), param, ctx)

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "DURATION"


class ListType(click.ParamType[tuple[str, ...]]):
    """Comma-separated words (blanks around items ignored); the empty string is the empty list."""

    name = "list"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        return tuple(item.strip() for item in text.split(",")) if text else ()

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "A,B,..."


DURATION = DurationType()
LIST = ListType()


class GroupedOption(click.Option):
    """An option that --help lists under a named section."""

    def __init__(self, *args: Any, group: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group = group


def option(*decls: str, group: str, **kwargs: Any) -> Callable[[F], F]:
    """``click.option`` that lands in section ``group`` of --help and shows its environment variable."""
    kwargs.setdefault("show_envvar", True)
    return click.option(*decls, cls=GroupedOption, group=group, **kwargs)


def _format_grouped_options(command: click.Command, ctx: click.Context, formatter: click.HelpFormatter) -> None:
    sections: dict[str, list[tuple[str, str]]] = {}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None:
            sections.setdefault(getattr(param, "group", "Other options"), []).append(record)
    for title, rows in sections.items():
        with formatter.section(title):
            formatter.write_dl(rows)


class GroupedCommand(click.Command):
    """A command whose --help shows its options section by section."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _format_grouped_options(self, ctx, formatter)


class GroupedGroup(click.Group):
    """A command group whose --help shows its options section by section, then its subcommands."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _format_grouped_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)
