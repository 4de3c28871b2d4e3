"""Commands of due process: lists, notices and the daily `maintain` run (and what all of them share).

Reviewers name themselves with --reviewer (recorded as reviewer:NAME on every decision). Every
command takes --now so that a past or future moment can be replayed; by default it is now.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table

from xinyong.cli.common import app, audited, context, fail, note, out, parse_day, parse_moment, write_moment
from xinyong.domain.errors import XinyongError
from xinyong.services.context import AppContext

lists_app = typer.Typer(help="List entries: review proposals, extend, remove, show.", no_args_is_help=True)
notices_app = typer.Typer(help="The notices outbox.", no_args_is_help=True)
app.add_typer(lists_app, name="lists")
app.add_typer(notices_app, name="notices")

Json = Annotated[bool, typer.Option("--json", help="Print as JSON.")]
Now = Annotated[str | None, typer.Option("--now", help="The moment to act at (ISO timestamp); default now.")]
Reviewer = Annotated[str, typer.Option("--reviewer", help="Who decides (recorded as reviewer:NAME).")]
Reason = Annotated[str, typer.Option("--reason", help="The reason, in words the subject can read.")]
# The purpose these commands' audit events give (`audited`), as the API's due-process routes do.
DUE_PROCESS = "due process"


@contextmanager
def service() -> Iterator[AppContext]:
    """The app context, with every platform error turned into a clear message and exit status 1."""
    try:
        yield context()
    except XinyongError as exc:
        raise fail(str(exc)) from None


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        render(data)


def table(rows: list[dict[str, Any]], columns: list[str], title: str) -> None:
    table = Table(title=f"{title} ({len(rows)})")
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in columns))
    out.print(table)


def subject_id_of(ctx: AppContext, ref: str) -> int:
    from xinyong.services.subjects import resolve_subject

    return resolve_subject(ctx.migrated_engine(), ctx.catalog, ctx.vault, ref)[0]


def deliver(ctx: AppContext) -> None:
    """Deliver the notices due now, those of this command among them (ops: with retries)."""
    from xinyong.services.delivery import RetryPolicy, channel_from, deliver_due

    channel = channel_from(ctx.settings)
    try:
        deliver_due(ctx.engine, channel, RetryPolicy.of(ctx.settings))
    finally:
        channel.close()


# -- lists ---------------------------------------------------------------------------------------


@lists_app.command("list")
def lists_list(
    list_id: Annotated[str | None, typer.Option("--list", help="Only this list.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Only entries in this state (e.g. proposed).")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Only this subject (id or identifier).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day (YYYY-MM-DD); default today.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows.")] = 200,
    as_json: Json = False,
) -> None:
    """Entries with their state on a day; a listing past its term shows as expired."""
    from xinyong.services.list_views import entries

    with service() as ctx:
        if list_id and list_id not in ctx.catalog.lists:
            raise fail(f"unknown list '{list_id}': one of {', '.join(ctx.catalog.lists)}")
        sid = subject_id_of(ctx, subject) if subject else None
        rows = entries(
            ctx.migrated_engine(),
            list_id=list_id,
            state=state,
            subject_id=sid,
            day=parse_day(as_of, "--as-of"),
            limit=limit,
        )
        audited(ctx, "read_entries", f"subject:{sid}" if sid else f"list:{list_id or '*'}", DUE_PROCESS, read=True)
    cols = [
        "id",
        "list_id",
        "subject_id",
        "state",
        "disputed",
        "source_id",
        "source_ref",
        "notice_ends_on",
        "listed_on",
        "ends_on",
    ]
    emit(rows, as_json, lambda r: table(r, cols, "List entries"))


@lists_app.command("show")
def lists_show(entry_id: int, now: Now = None, as_json: Json = False) -> None:
    """One entry: its ground, legal basis, state, disputes and every transition."""
    from xinyong.services.list_views import entry_detail

    with service() as ctx:
        data = entry_detail(ctx.migrated_engine(), ctx.catalog, entry_id, known_at=parse_moment(now, "--now"))
        audited(ctx, "read_entry", f"entry:{entry_id}", DUE_PROCESS, read=True)

    def render(d: dict[str, Any]) -> None:
        out.print(
            f"Entry {d['id']} on {d['list_name']}: {d['state']}" + (" [DISPUTED]" if d["disputed"] else ""),
            highlight=False,
            markup=False,
        )
        out.print(f"  ground: {d['ground']['text']}\n  legal basis: {d['legal_basis']}", highlight=False, markup=False)
        for t in d["transitions"]:
            out.print(
                f"  {t['seq']}. {t['at']:%Y-%m-%d %H:%M} {t['action']} -> {t['to']} by {t['actor']}: {t['reason']}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )

    emit(data, as_json, render)


@lists_app.command("decide")
def lists_decide(
    entry_id: int,
    decision: Annotated[str, typer.Argument(help="approve (notify the subject) or reject.")],
    reviewer: Reviewer,
    reason: Reason,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Decide a proposal for listing, with a reason."""
    from xinyong.services.lists import decide

    if decision not in ("approve", "reject"):
        raise fail(f"decision '{decision}': say approve or reject")
    with service() as ctx:
        view = decide(
            ctx.migrated_engine(),
            ctx.catalog,
            entry_id,
            approve_it=decision == "approve",
            actor=f"reviewer:{reviewer}",
            reason=reason,
            now=write_moment(now),
            audit=note(f"entry_{decision}", DUE_PROCESS, target=f"entry:{entry_id}"),
        )
        deliver(ctx)
    emit(
        {"id": entry_id, "state": view.state.value},
        as_json,
        lambda d: out.print(f"entry {d['id']}: {d['state']}", highlight=False),
    )


@lists_app.command("extend")
def lists_extend(
    entry_id: int,
    months: Annotated[int, typer.Option("--months", help="Months to add, within the list's bounds.")],
    reviewer: Reviewer,
    reason: Reason,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Extend a listing by a new reasoned decision."""
    from xinyong.services.lists import extend

    with service() as ctx:
        view = extend(
            ctx.migrated_engine(),
            ctx.catalog,
            entry_id,
            months=months,
            actor=f"reviewer:{reviewer}",
            reason=reason,
            now=write_moment(now),
            audit=note("entry_extend", DUE_PROCESS, target=f"entry:{entry_id}"),
        )
        deliver(ctx)
    emit(
        {"id": entry_id, "state": view.state.value, "ends_on": view.ends_on},
        as_json,
        lambda d: out.print(f"entry {d['id']}: {d['state']} until {d['ends_on']}", highlight=False),
    )


@lists_app.command("remove")
def lists_remove(entry_id: int, reviewer: Reviewer, reason: Reason, now: Now = None, as_json: Json = False) -> None:
    """End an entry early: removed when listed, withdrawn before publication."""
    from xinyong.services.lists import remove

    with service() as ctx:
        view = remove(
            ctx.migrated_engine(),
            ctx.catalog,
            entry_id,
            actor=f"reviewer:{reviewer}",
            reason=reason,
            now=write_moment(now),
            audit=note("entry_remove", DUE_PROCESS, target=f"entry:{entry_id}"),
        )
        deliver(ctx)
    emit(
        {"id": entry_id, "state": view.state.value},
        as_json,
        lambda d: out.print(f"entry {d['id']}: {d['state']}", highlight=False),
    )


# -- notices and maintenance -----------------------------------------------------------------------


@notices_app.command("list")
def notices_list(
    subject: Annotated[str, typer.Option("--subject", help="Whose outbox (id or identifier).")],
    as_json: Json = False,
) -> None:
    """Every notice sent to a subject: what happened, why, what they can do and by when."""
    from xinyong.services.notices import outbox

    with service() as ctx:
        sid = subject_id_of(ctx, subject)
        rows = outbox(ctx.migrated_engine(), sid)
        audited(ctx, "read_notices", f"subject:{sid}", DUE_PROCESS, read=True)

    def render(rs: list[dict[str, Any]]) -> None:
        for n in rs:
            out.print(
                f"[{n['id']}] {n['created_at']:%Y-%m-%d} {n['title']}\n{n['body']}\n", highlight=False, markup=False
            )

    emit(rows, as_json, render)


@app.command("maintain")
def maintain_cmd(now: Now = None, as_json: Json = False) -> None:
    """The daily run: propose, publish after notice, expire, end entries whose ground fell away, flag overdue."""
    from xinyong.services.audit_checkpoints import checkpoint
    from xinyong.services.maintain import maintain

    with service() as ctx:
        key = ctx.signing_key  # every maintain anchors the audit chain: no key, no run
        counts = maintain(
            ctx.migrated_engine(),
            ctx.catalog,
            write_moment(now),
            audit=note("maintain", DUE_PROCESS, target="lists"),
        )
        checkpoint(ctx.engine, key, reason="maintain")
        deliver(ctx)
    emit(counts, as_json, lambda c: out.print(", ".join(f"{k} {v}" for k, v in c.items()), highlight=False))
