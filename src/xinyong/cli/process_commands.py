"""Commands of due process: lists, objections, repairs, notices and the daily `maintain` run.

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

from xinyong.cli.common import app, context, fail, out, parse_day, parse_moment
from xinyong.domain.errors import XinyongError
from xinyong.services.context import AppContext

lists_app = typer.Typer(help="List entries: review proposals, extend, remove, show.", no_args_is_help=True)
objections_app = typer.Typer(help="Objections: file, appeal, decide, show.", no_args_is_help=True)
repairs_app = typer.Typer(help="Credit repair: file, decide, show.", no_args_is_help=True)
notices_app = typer.Typer(help="The notices outbox.", no_args_is_help=True)
app.add_typer(lists_app, name="lists")
app.add_typer(objections_app, name="objections")
app.add_typer(repairs_app, name="repairs")
app.add_typer(notices_app, name="notices")

Json = Annotated[bool, typer.Option("--json", help="Print as JSON.")]
Now = Annotated[str | None, typer.Option("--now", help="The moment to act at (ISO timestamp); default now.")]
Reviewer = Annotated[str, typer.Option("--reviewer", help="Who decides (recorded as reviewer:NAME).")]
Reason = Annotated[str, typer.Option("--reason", help="The reason, in words the subject can read.")]


@contextmanager
def _service() -> Iterator[AppContext]:
    """The app context, with every platform error turned into a clear message and exit status 1."""
    try:
        yield context()
    except XinyongError as exc:
        raise fail(str(exc)) from None


def _emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        render(data)


def _table(rows: list[dict[str, Any]], columns: list[str], title: str) -> None:
    table = Table(title=f"{title} ({len(rows)})")
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in columns))
    out.print(table)


def _subject(ctx: AppContext, ref: str) -> int:
    from xinyong.services.subjects import resolve_subject

    return resolve_subject(ctx.migrated_engine(), ctx.catalog, ctx.vault, ref)[0]


def _deliver(ctx: AppContext) -> None:
    from xinyong.services.notices import deliver_pending

    deliver_pending(ctx.engine, ctx.settings.notice_delivery)


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

    with _service() as ctx:
        if list_id and list_id not in ctx.catalog.lists:
            raise fail(f"unknown list '{list_id}': one of {', '.join(ctx.catalog.lists)}")
        sid = _subject(ctx, subject) if subject else None
        rows = entries(
            ctx.migrated_engine(),
            list_id=list_id,
            state=state,
            subject_id=sid,
            day=parse_day(as_of, "--as-of"),
            limit=limit,
        )
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
    _emit(rows, as_json, lambda r: _table(r, cols, "List entries"))


@lists_app.command("show")
def lists_show(entry_id: int, now: Now = None, as_json: Json = False) -> None:
    """One entry: its ground, legal basis, state, disputes and every transition."""
    from xinyong.services.list_views import entry_detail

    with _service() as ctx:
        data = entry_detail(ctx.migrated_engine(), ctx.catalog, entry_id, known_at=parse_moment(now, "--now"))

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

    _emit(data, as_json, render)


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
    with _service() as ctx:
        view = decide(
            ctx.migrated_engine(),
            ctx.catalog,
            entry_id,
            approve_it=decision == "approve",
            actor=f"reviewer:{reviewer}",
            reason=reason,
            now=parse_moment(now, "--now"),
        )
        _deliver(ctx)
    _emit(
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

    with _service() as ctx:
        view = extend(
            ctx.migrated_engine(),
            ctx.catalog,
            entry_id,
            months=months,
            actor=f"reviewer:{reviewer}",
            reason=reason,
            now=parse_moment(now, "--now"),
        )
        _deliver(ctx)
    _emit(
        {"id": entry_id, "state": view.state.value, "ends_on": view.ends_on},
        as_json,
        lambda d: out.print(f"entry {d['id']}: {d['state']} until {d['ends_on']}", highlight=False),
    )


@lists_app.command("remove")
def lists_remove(entry_id: int, reviewer: Reviewer, reason: Reason, now: Now = None, as_json: Json = False) -> None:
    """End an entry early: removed when listed, withdrawn before publication."""
    from xinyong.services.lists import remove

    with _service() as ctx:
        view = remove(
            ctx.migrated_engine(),
            ctx.catalog,
            entry_id,
            actor=f"reviewer:{reviewer}",
            reason=reason,
            now=parse_moment(now, "--now"),
        )
        _deliver(ctx)
    _emit(
        {"id": entry_id, "state": view.state.value},
        as_json,
        lambda d: out.print(f"entry {d['id']}: {d['state']}", highlight=False),
    )


# -- objections ----------------------------------------------------------------------------------


@objections_app.command("file")
def objections_file(
    subject: Annotated[str, typer.Option("--subject", help="The objecting subject (id or identifier).")],
    target: Annotated[str, typer.Option("--target", help="record:SOURCE/REF, link:SOURCE/REF, entry:ID or score:ID.")],
    grounds: Annotated[str, typer.Option("--grounds", help="What is wrong, in the subject's words.")],
    now: Now = None,
    as_json: Json = False,
) -> None:
    """File an objection on a subject's behalf (the service files the subject's own)."""
    from xinyong.services.objections import file_objection

    with _service() as ctx:
        sid = _subject(ctx, subject)
        data = file_objection(
            ctx.migrated_engine(),
            ctx.catalog,
            subject_id=sid,
            target=target,
            grounds=grounds,
            actor=f"subject:{sid}",
            now=parse_moment(now, "--now"),
        )
        _deliver(ctx)
    _emit(data, as_json, lambda d: out.print(f"objection {d['id']} filed; decision due by {d['due_on']}"))


@objections_app.command("appeal")
def objections_appeal(
    objection_id: int,
    grounds: Annotated[str, typer.Option("--grounds", help="Why the dismissal is wrong.")] = "",
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Appeal a dismissed objection (once, within the appeal period)."""
    from xinyong.services.objections import appeal

    with _service() as ctx:
        data = appeal(
            ctx.migrated_engine(),
            ctx.catalog,
            objection_id,
            grounds=grounds,
            actor=None,
            now=parse_moment(now, "--now"),
        )
        _deliver(ctx)
    _emit(data, as_json, lambda d: out.print(f"appeal {d['id']} filed; decision due by {d['due_on']}"))


@objections_app.command("decide")
def objections_decide(
    objection_id: int,
    decision: Annotated[str, typer.Argument(help="uphold or dismiss.")],
    reviewer: Reviewer,
    reason: Reason,
    revoke: Annotated[bool, typer.Option("--revoke", help="Upheld record objection: revoke the record.")] = False,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Upheld record objection: ATTR=VALUE.")] = None,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Decide an objection; an upheld one is remedied at once and everything it touched recomputed."""
    from xinyong.services.objections import decide_objection

    if decision not in ("uphold", "dismiss"):
        raise fail(f"decision '{decision}': say uphold or dismiss")
    changes = {}
    for item in set_ or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise fail(f"--set '{item}': write ATTRIBUTE=VALUE")
        changes[name.strip()] = value.strip()
    with _service() as ctx:
        data = decide_objection(
            ctx.migrated_engine(),
            ctx.catalog,
            objection_id,
            uphold=decision == "uphold",
            actor=f"reviewer:{reviewer}",
            reason=reason,
            now=parse_moment(now, "--now"),
            revoke=revoke,
            set_attributes=changes or None,
        )
        _deliver(ctx)
    _emit(data, as_json, lambda d: out.print(f"objection {d['id']}: {d['outcome']} {d['remedy'] or ''}"))


@objections_app.command("list")
def objections_list(
    state: Annotated[str | None, typer.Option("--state", help="open, overdue or decided.")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Only this subject.")] = None,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Objections with their deadlines and outcomes."""
    from xinyong.services.objection_views import objection_rows

    if state not in (None, "open", "overdue", "decided"):
        raise fail(f"--state '{state}': open, overdue or decided")
    with _service() as ctx:
        sid = _subject(ctx, subject) if subject else None
        rows = objection_rows(
            ctx.migrated_engine(), state=state, subject_id=sid, today=parse_moment(now, "--now").date()
        )
    cols = ["id", "subject_id", "target_kind", "source_id", "source_ref", "entry_id", "due_on", "outcome", "appeal_of"]
    _emit(rows, as_json, lambda r: _table(r, cols, "Objections"))


@objections_app.command("show")
def objections_show(objection_id: int, as_json: Json = False) -> None:
    """One objection: target, grounds, deadline, decision with reasons, and its appeal."""
    from xinyong.services.objection_views import objection_detail

    with _service() as ctx:
        data = objection_detail(ctx.migrated_engine(), objection_id)

    def render(d: dict[str, Any]) -> None:
        target = d["entry_id"] or d["score_id"] or f"{d['source_id']}/{d['source_ref']}"
        out.print(
            f"Objection {d['id']} by subject {d['subject_id']} to {d['target_kind']} {target}, "
            f"filed {d['filed_at']:%Y-%m-%d}, due {d['due_on']}",
            highlight=False,
            markup=False,
        )
        out.print(f"  grounds: {d['grounds']}", highlight=False, markup=False)
        if d["outcome"]:
            out.print(
                f"  {d['outcome']} by {d['decided_by']} on {d['decided_at']:%Y-%m-%d}: {d['decision_reason']}",
                highlight=False,
                markup=False,
            )
        if d["appeal"]:
            out.print(f"  appealed as objection {d['appeal']['id']}", highlight=False)

    _emit(data, as_json, render)


# -- repairs -------------------------------------------------------------------------------------


@repairs_app.command("file")
def repairs_file(
    subject: Annotated[str, typer.Option("--subject", help="The subject asking (id or identifier).")],
    record: Annotated[str, typer.Option("--record", help="SOURCE/SOURCE_REF of the record to repair.")],
    evidence: Annotated[str | None, typer.Option("--evidence", help="Reference of the proof the obligation is met.")],
    commitment: Annotated[bool, typer.Option("--commitment", help="A credit commitment was filed.")] = False,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """File a credit repair request on a subject's behalf."""
    from xinyong.services.repairs import file_repair

    with _service() as ctx:
        sid = _subject(ctx, subject)
        data = file_repair(
            ctx.migrated_engine(),
            ctx.catalog,
            subject_id=sid,
            record=record,
            evidence_ref=evidence,
            commitment=commitment,
            actor=f"subject:{sid}",
            now=parse_moment(now, "--now"),
        )
        _deliver(ctx)
    _emit(
        data,
        as_json,
        lambda d: out.print(
            f"repair {d['id']} filed; decision due by {d['due_on']}; unmet now: {', '.join(d['unmet']) or 'none'}"
        ),
    )


@repairs_app.command("decide")
def repairs_decide(
    repair_id: int,
    decision: Annotated[str, typer.Argument(help="approve or refuse.")],
    reviewer: Reviewer,
    reason: Reason,
    unmet: Annotated[list[str] | None, typer.Option("--unmet", help="Refusal: the unmet condition(s).")] = None,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Decide a repair request; a refusal names the unmet condition and when to apply again."""
    from xinyong.services.repairs import decide_repair

    if decision not in ("approve", "refuse"):
        raise fail(f"decision '{decision}': say approve or refuse")
    with _service() as ctx:
        data = decide_repair(
            ctx.migrated_engine(),
            ctx.catalog,
            repair_id,
            approve=decision == "approve",
            actor=f"reviewer:{reviewer}",
            reason=reason,
            now=parse_moment(now, "--now"),
            unmet=unmet,
        )
        _deliver(ctx)
    _emit(data, as_json, lambda d: out.print(f"repair {d['id']}: {d['outcome']} {', '.join(d['unmet'])}"))


@repairs_app.command("list")
def repairs_list(
    state: Annotated[str | None, typer.Option("--state", help="open, overdue or decided.")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Only this subject.")] = None,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Repair requests with their deadlines and outcomes."""
    from xinyong.services.repairs import repair_rows

    if state not in (None, "open", "overdue", "decided"):
        raise fail(f"--state '{state}': open, overdue or decided")
    with _service() as ctx:
        sid = _subject(ctx, subject) if subject else None
        rows = repair_rows(ctx.migrated_engine(), state=state, subject_id=sid, today=parse_moment(now, "--now").date())
    cols = ["id", "subject_id", "source_id", "source_ref", "due_on", "outcome", "unmet", "reapply_on"]
    _emit(rows, as_json, lambda r: _table(r, cols, "Repair requests"))


@repairs_app.command("show")
def repairs_show(repair_id: int, now: Now = None, as_json: Json = False) -> None:
    """One repair request: record, evidence, deadline, decision, and its conditions today."""
    from xinyong.services.repairs import repair_detail

    with _service() as ctx:
        data = repair_detail(ctx.migrated_engine(), ctx.catalog, repair_id, parse_moment(now, "--now").date())

    def render(d: dict[str, Any]) -> None:
        out.print(
            f"Repair {d['id']} of record {d['source_id']}/{d['source_ref']} (subject {d['subject_id']}), "
            f"evidence {d['evidence_ref'] or 'none'}, commitment {'yes' if d['commitment'] else 'no'}, "
            f"due {d['due_on']}",
            highlight=False,
            markup=False,
        )
        if d["outcome"]:
            out.print(
                f"  {d['outcome']} by {d['decided_by']}: {d['decision_reason']}"
                + (f"; may apply again from {d['reapply_on']}" if d["reapply_on"] else ""),
                highlight=False,
                markup=False,
            )
        out.print(f"  today: {d['assessment_today']['text']}", highlight=False, markup=False)

    _emit(data, as_json, render)


# -- notices and maintenance -----------------------------------------------------------------------


@notices_app.command("list")
def notices_list(
    subject: Annotated[str, typer.Option("--subject", help="Whose outbox (id or identifier).")],
    as_json: Json = False,
) -> None:
    """Every notice sent to a subject: what happened, why, what they can do and by when."""
    from xinyong.services.notices import outbox

    with _service() as ctx:
        rows = outbox(ctx.migrated_engine(), _subject(ctx, subject))

    def render(rs: list[dict[str, Any]]) -> None:
        for n in rs:
            out.print(
                f"[{n['id']}] {n['created_at']:%Y-%m-%d} {n['title']}\n{n['body']}\n", highlight=False, markup=False
            )

    _emit(rows, as_json, render)


@app.command("maintain")
def maintain_cmd(now: Now = None, as_json: Json = False) -> None:
    """The daily run: propose, publish after notice, expire, end entries whose ground fell away, flag overdue."""
    from xinyong.services.maintain import maintain

    with _service() as ctx:
        counts = maintain(ctx.migrated_engine(), ctx.catalog, parse_moment(now, "--now"))
        _deliver(ctx)
    _emit(counts, as_json, lambda c: out.print(", ".join(f"{k} {v}" for k, v in c.items()), highlight=False))
