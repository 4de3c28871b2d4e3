"""Commands for objections and credit repair: file on a subject's behalf, appeal, decide, list, show."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from xinyong.cli.common import app, audited, fail, note, out, parse_moment, write_moment
from xinyong.cli.process_commands import (
    DUE_PROCESS,
    Json,
    Now,
    Reason,
    Reviewer,
    deliver,
    emit,
    service,
    subject_id_of,
    table,
)

objections_app = typer.Typer(help="Objections: file, appeal, decide, show.", no_args_is_help=True)
repairs_app = typer.Typer(help="Credit repair: file, decide, show.", no_args_is_help=True)
app.add_typer(objections_app, name="objections")
app.add_typer(repairs_app, name="repairs")


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

    with service() as ctx:
        sid = subject_id_of(ctx, subject)
        data = file_objection(
            ctx.migrated_engine(),
            ctx.catalog,
            subject_id=sid,
            target=target,
            grounds=grounds,
            actor=f"subject:{sid}",
            now=write_moment(now),
            audit=note("file_objection", DUE_PROCESS),
        )
        deliver(ctx)
    emit(data, as_json, lambda d: out.print(f"objection {d['id']} filed; decision due by {d['due_on']}"))


@objections_app.command("appeal")
def objections_appeal(
    objection_id: int,
    grounds: Annotated[str, typer.Option("--grounds", help="Why the dismissal is wrong.")] = "",
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Appeal a dismissed objection (once, within the appeal period)."""
    from xinyong.services.objections import appeal

    with service() as ctx:
        data = appeal(
            ctx.migrated_engine(),
            ctx.catalog,
            objection_id,
            grounds=grounds,
            actor=None,
            now=write_moment(now),
            audit=note("file_appeal", DUE_PROCESS),
        )
        deliver(ctx)
    emit(data, as_json, lambda d: out.print(f"appeal {d['id']} filed; decision due by {d['due_on']}"))


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
    from xinyong.services.objection_rulings import decide_objection

    if decision not in ("uphold", "dismiss"):
        raise fail(f"decision '{decision}': say uphold or dismiss")
    changes = {}
    for item in set_ or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise fail(f"--set '{item}': write ATTRIBUTE=VALUE")
        changes[name.strip()] = value.strip()
    with service() as ctx:
        data = decide_objection(
            ctx.migrated_engine(),
            ctx.catalog,
            objection_id,
            uphold=decision == "uphold",
            actor=f"reviewer:{reviewer}",
            reason=reason,
            now=write_moment(now),
            revoke=revoke,
            set_attributes=changes or None,
            audit=note(f"objection_{decision}", DUE_PROCESS, target=f"objection:{objection_id}"),
        )
        deliver(ctx)
    emit(data, as_json, lambda d: out.print(f"objection {d['id']}: {d['outcome']} {d['remedy'] or ''}"))


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
    with service() as ctx:
        sid = subject_id_of(ctx, subject) if subject else None
        rows = objection_rows(
            ctx.migrated_engine(), state=state, subject_id=sid, today=parse_moment(now, "--now").date()
        )
        audited(
            ctx, "read_objections", f"subject:{sid}" if sid else f"objections:{state or '*'}", DUE_PROCESS, read=True
        )
    cols = ["id", "subject_id", "target_kind", "source_id", "source_ref", "entry_id", "due_on", "outcome", "appeal_of"]
    emit(rows, as_json, lambda r: table(r, cols, "Objections"))


@objections_app.command("show")
def objections_show(objection_id: int, as_json: Json = False) -> None:
    """One objection: target, grounds, deadline, decision with reasons, and its appeal."""
    from xinyong.services.objection_views import objection_detail

    with service() as ctx:
        data = objection_detail(ctx.migrated_engine(), objection_id)
        audited(ctx, "read_objection", f"objection:{objection_id}", DUE_PROCESS, read=True)

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
        if d["reference"]:
            out.print(f"  the owner's decision: {d['reference']}", highlight=False, markup=False)
        if d["outcome"] == "owner_maintained":
            out.print(
                "  the owner answered that its record stands: no appeal on the platform; the subject may ask the "
                "owner to review its decision, or object again on new facts",
                highlight=False,
            )
        if d["appeal"]:
            out.print(f"  appealed as objection {d['appeal']['id']}", highlight=False)

    emit(data, as_json, render)


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

    with service() as ctx:
        sid = subject_id_of(ctx, subject)
        data = file_repair(
            ctx.migrated_engine(),
            ctx.catalog,
            subject_id=sid,
            record=record,
            evidence_ref=evidence,
            commitment=commitment,
            actor=f"subject:{sid}",
            now=write_moment(now),
            audit=note("file_repair", DUE_PROCESS),
        )
        deliver(ctx)
    emit(
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
    with service() as ctx:
        data = decide_repair(
            ctx.migrated_engine(),
            ctx.catalog,
            repair_id,
            approve=decision == "approve",
            actor=f"reviewer:{reviewer}",
            reason=reason,
            now=write_moment(now),
            unmet=unmet,
            audit=note(f"repair_{decision}", DUE_PROCESS, target=f"repair:{repair_id}"),
        )
        deliver(ctx)
    emit(data, as_json, lambda d: out.print(f"repair {d['id']}: {d['outcome']} {', '.join(d['unmet'])}"))


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
    with service() as ctx:
        sid = subject_id_of(ctx, subject) if subject else None
        rows = repair_rows(ctx.migrated_engine(), state=state, subject_id=sid, today=parse_moment(now, "--now").date())
        audited(ctx, "read_repairs", f"subject:{sid}" if sid else f"repairs:{state or '*'}", DUE_PROCESS, read=True)
    cols = ["id", "subject_id", "source_id", "source_ref", "due_on", "outcome", "unmet", "reapply_on"]
    emit(rows, as_json, lambda r: table(r, cols, "Repair requests"))


@repairs_app.command("show")
def repairs_show(repair_id: int, now: Now = None, as_json: Json = False) -> None:
    """One repair request: record, evidence, deadline, decision, and its conditions today."""
    from xinyong.services.repairs import repair_detail

    with service() as ctx:
        data = repair_detail(ctx.migrated_engine(), ctx.catalog, repair_id, parse_moment(now, "--now").date())
        audited(ctx, "read_repair", f"repair:{repair_id}", DUE_PROCESS, read=True)

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

    emit(data, as_json, render)
