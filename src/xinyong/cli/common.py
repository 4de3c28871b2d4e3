"""What every command shares: the Typer apps, the consoles, settings and error output."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from xinyong.services.context import AppContext
from xinyong.settings import Settings
from xinyong.store.unit_of_work import AuditNote

app = typer.Typer(help="xinyong: public credit information platform.", no_args_is_help=True, add_completion=False)
catalog_app = typer.Typer(help="Inspect and validate policy catalogs.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)
demo_app = typer.Typer(help="The synthetic demo city.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
scores_app = typer.Typer(help="Stored scores.", no_args_is_help=True)
ruleset_app = typer.Typer(help="Rulesets: compare before a new one takes effect.", no_args_is_help=True)
app.add_typer(scores_app, name="scores")
app.add_typer(ruleset_app, name="ruleset")

# Wide tables when the output goes to a file or a pipe; the terminal's own width otherwise.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def context() -> AppContext:
    return AppContext(Settings())


def operator() -> str:
    """Who runs the command, as the audit chain records it: `cli:` and the login name."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:100]
    except (KeyError, OSError):  # no login name for this user id
        return "cli:operator"


def note(action: str, purpose: str | None = None, *, target: str | None = None) -> AuditNote:
    """The event of a command's write, which the service stores in the write's own unit of work,
    as the API does: the write and its event are stored together or not at all, and a refused
    command leaves no event. Without `target`, the write names what it creates."""
    return AuditNote(operator(), action, purpose, target)


def audited(ctx: AppContext, action: str, target: str, purpose: str | None = None, *, read: bool = False) -> None:
    """Append the event of a command that read personal data, or of a write that takes no
    transaction of its own to append it in (a rescore), in a transaction of its own.

    A command that reads calls this before it shows anything (`read`): what could not be
    audited is not shown. On SQLite the append waits, as every writer does, for a batch being
    ingested, up to the store's busy timeout.

    Raises:
        XinyongError: the event could not be appended; the message says whether the command's
            own work is stored.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from xinyong.domain.errors import XinyongError
    from xinyong.store.unit_of_work import AuditEvent, record

    try:
        record(ctx.engine, AuditEvent(actor=operator(), action=action, target=target, purpose=purpose))
    except (XinyongError, SQLAlchemyError) as exc:
        done = "nothing is shown or written out" if read else "what the command did is stored"
        raise XinyongError(f"the audit event '{action} {target}' could not be appended ({done}): {exc}") from exc


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(Text.assemble(("error: ", "bold red"), message), highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    )


def parse_day(value: str | None, what: str) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{what} '{value}' is not a date; use YYYY-MM-DD") from None


def parse_moment(value: str | None, what: str = "--known-at") -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{what} '{value}' is not a timestamp; use e.g. 2026-11-29T08:00:00+00:00") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def write_moment(value: str | None) -> datetime:
    """The moment a write acts at (`--now`): the real time, or a moment of the past; one ahead of
    the clock is refused, since every stamp the write stores comes from the real clock."""
    from xinyong.domain.clock import CLOCK
    from xinyong.domain.errors import InvalidInput

    if value is None:
        return CLOCK.now()
    try:
        return CLOCK.admit(parse_moment(value, "--now"), "--now")
    except InvalidInput as exc:
        raise fail(str(exc)) from None


def show(data: Any, as_json: bool, text: str) -> None:
    """Print a command's result: as JSON with `--json`, else as its text."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        out.print(text, highlight=False, markup=False, soft_wrap=True)


def print_grades(grades: dict[str, dict[str, int]]) -> None:
    table = Table(title="Grades")
    table.add_column("kind")
    table.add_column("grade")
    table.add_column("subjects", justify="right")
    for kind, counts in sorted(grades.items()):
        for grade, n in sorted(counts.items()):
            table.add_row(kind, grade, str(n))
    out.print(table)
