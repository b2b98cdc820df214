"""How a program's click command becomes an exit status, the same for every program.

Why not click's standalone mode: it calls ``sys.exit`` itself, so ``main(argv)`` could not be called (and its
status checked) in-process; here usage errors still print click's message and give 2.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

__all__ = ["exit_status"]


def exit_status(command: click.Command, argv: Sequence[str] | None, *, prog_name: str) -> int:
    """Run ``command`` on ``argv`` (default: sys.argv[1:]) and return its exit status; usage errors give 2."""
    try:
        status = command.main(args=list(argv) if argv is not None else None, prog_name=prog_name,
                              standalone_mode=False)
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 1
    return status if isinstance(status, int) else 0
