"""How the `xinyong` command ends: every mistake in one line on stderr, never a traceback.

Exit codes: 0 done; 1 the command was refused or failed (the line says why); 2 the command line or
a setting is wrong (the line says what to fix, and `--help` tells more).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from typer import Abort, Exit, TyperException
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # Typer carries its own click
from typer.core import TyperGroup

USAGE = 2
FAILED = 1
LINE_MAX = 400


def say(message: str) -> None:
    """One line on stderr, however long or many-lined the message (a huge argument, a list)."""
    line = " ".join(message.split())
    if len(line) > LINE_MAX:
        line = line[: LINE_MAX - 1] + "…"
    sys.stderr.write(f"error: {line}\n")
    sys.stderr.flush()


def _usage(exc: UsageError) -> int:
    path = exc.ctx.command_path if exc.ctx else "xinyong"
    if isinstance(exc, NoArgsIsHelpError) and exc.ctx is not None:
        command = exc.ctx.command
        names = sorted(command.list_commands(exc.ctx)) if isinstance(command, TyperGroup) else []
        say(f"{path}: name a command: {', '.join(names)} (see '{path} --help')")
    else:
        say(f"{path}: {exc.format_message()} (see '{path} --help')")
    return USAGE


def _settings(exc: ValidationError) -> int:
    """A setting out of range or of the wrong type, named by its environment variable."""
    wrong = "; ".join(
        f"XINYONG_{'_'.join(str(p) for p in e['loc']).upper()}={str(e.get('input'))[:40]!r}: {e['msg']}"
        for e in exc.errors()
    )
    say(f"setting {wrong} (`xinyong settings` lists every setting and its range)")
    return USAGE


INT64 = (-(2**63), 2**63 - 1)


def bound_integers(command: Any) -> None:
    """Bound every integer argument and option of the command tree to 64 bits, as the store holds
    them, where the command names no narrower range: a larger number is the parser's mistake to
    name, not a crash deep in a query."""
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            bound_integers(sub)
        return
    for param in command.params:
        described = getattr(param, "type_descriptor", None)
        if described is None or described.annotation is not int:
            continue
        info = described.parameter_info
        info.min = INT64[0] if info.min is None else info.min
        info.max = INT64[1] if info.max is None else info.max


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit code."""
    import typer.main

    from xinyong.cli.common import app  # the package (imported first) registers every command
    from xinyong.domain.errors import XinyongError
    from xinyong.ops.faults import DISK_FULL, disk_full

    try:
        command = typer.main.get_command(app)
        bound_integers(command)
        code = command.main(
            args=list(sys.argv[1:] if argv is None else argv), prog_name="xinyong", standalone_mode=False
        )
    except UsageError as exc:
        return _usage(exc)
    except Exit as exc:
        return int(exc.exit_code)
    except Abort:
        say("aborted")
        return FAILED
    except TyperException as exc:
        say(exc.format_message())
        return int(exc.exit_code)
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        return _settings(exc)
    except XinyongError as exc:
        say(str(exc))
        return FAILED
    except Exception as exc:
        if not disk_full(exc):
            raise
        say(DISK_FULL)
        return FAILED
    return code if isinstance(code, int) else 0
