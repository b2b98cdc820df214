"""The click building blocks the programs share: value types and options grouped in --help."""

from datetime import timedelta

import click
import pytest

from eni.cli.flags import DURATION, LIST, GroupedCommand, option


@pytest.mark.parametrize(("text", "expected"), [("90s", timedelta(seconds=90)), ("1h30m", timedelta(minutes=90)),
                                                ("0", timedelta(0))])
def test_duration_type(text, expected):
    assert DURATION.convert(text, None, None) == expected


def test_duration_type_refuses_bad_text():
    with pytest.raises(click.BadParameter, match="not a duration"):
        DURATION.convert("5 minutes", None, None)


@pytest.mark.parametrize(
    ("text", "expected"), [("", ()), ("a", ("a",)), (" a , b ", ("a", "b")), ("a,,b", ("a", "", "b"))]
)
def test_list_type(text, expected):
    assert LIST.convert(text, None, None) == expected


def test_options_are_listed_under_their_group(capsys):
    @click.command(cls=GroupedCommand, context_settings={"auto_envvar_prefix": "X"})
    @option("--alpha", group="First", default="a", help="Alpha.")
    @option("--beta", group="Second", default="b", help="Beta.")
    def command(alpha, beta):
        """Demo."""

    with pytest.raises(SystemExit):
        command.main(["--help"], prog_name="demo")
    out = capsys.readouterr().out
    assert out.index("First:") < out.index("--alpha") < out.index("Second:") < out.index("--beta")
    assert "X_ALPHA" in out and "Other options:" in out
