"""Merges and splits of subjects: propose, decide (another reviewer), undo, and the history."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from xinyong.cli.common import app, audited, note, out, write_moment
from xinyong.cli.process_commands import DUE_PROCESS, Json, Now, Reason, Reviewer, deliver, emit, service, table

subjects_app = typer.Typer(help="Merges and splits of subjects, reviewed and reversible like match judgements.")
app.add_typer(subjects_app, name="subjects")
Subject = Annotated[int, typer.Argument(help="A subject's internal id.")]


@subjects_app.command("merge")
def subjects_merge(
    kept: Subject,
    absorbed: Annotated[int, typer.Argument(help="The subject that is the same person or organisation.")],
    reviewer: Reviewer,
    reason: Reason,
    document: Annotated[
        str | None,
        typer.Option(
            "--document",
            help="The document that says they are one (needed when each has its own identifier of a scheme); "
            "cite it in the reason.",
        ),
    ] = None,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Propose that ABSORBED is KEPT: another reviewer confirms or rejects it."""
    from xinyong.services.merges import propose_merge

    with service() as ctx:
        data = propose_merge(
            ctx.migrated_engine(), kept, absorbed, by=reviewer, reason=reason, document_no=document,
            now=write_moment(now), audit=note("propose_subject_merge", DUE_PROCESS),
        )  # fmt: skip
    emit(data, as_json, lambda d: out.print(f"proposal {d['proposal']}: merge subject {absorbed} into {kept}"))


@subjects_app.command("split")
def subjects_split(
    subject: Subject,
    reviewer: Reviewer,
    reason: Reason,
    merge: Annotated[int | None, typer.Option("--merge", help="The merge into SUBJECT to reverse.")] = None,
    record: Annotated[
        list[str] | None, typer.Option("--record", help="A record SOURCE/REF to move off SUBJECT (repeatable).")
    ] = None,
    to: Annotated[int | None, typer.Option("--to", help="The subject the records move to.")] = None,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Propose to reverse a merge, or to move named records off SUBJECT onto another."""
    from xinyong.services.merges import propose_split

    with service() as ctx:
        data = propose_split(
            ctx.migrated_engine(), subject, by=reviewer, reason=reason, merge_id=merge, records=record, to=to,
            now=write_moment(now), audit=note("propose_subject_split", DUE_PROCESS),
        )  # fmt: skip
    emit(data, as_json, lambda d: out.print(f"proposal {d['proposal']}: split between {subject} and {d['other_id']}"))


@subjects_app.command("decide")
def subjects_decide(
    proposal_id: Annotated[int, typer.Argument(help="The merge or split proposal.")],
    outcome: Annotated[str, typer.Argument(help="confirm or reject.")],
    reviewer: Reviewer,
    reason: Reason,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Decide a proposal made by someone else; a confirmation moves the records from now on."""
    from xinyong.services.merges import decide

    with service() as ctx:
        data = decide(
            ctx.migrated_engine(), ctx.catalog, proposal_id, outcome, reviewer=reviewer, reason=reason,
            now=write_moment(now), audit=note("decide_subject_merge", DUE_PROCESS),
        )  # fmt: skip
        deliver(ctx)
    emit(data, as_json, lambda d: out.print(f"decision {d['decision']}: proposal {d['proposal']} {d['outcome']}ed"))


@subjects_app.command("undo")
def subjects_undo(
    decision_id: Annotated[int, typer.Argument(help="The decision to reverse.")],
    reviewer: Reviewer,
    reason: Reason,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Reverse a decision by a new one (history is kept); an undone confirmation moves the records back."""
    from xinyong.services.merges import undo

    with service() as ctx:
        data = undo(
            ctx.migrated_engine(), ctx.catalog, decision_id, reviewer=reviewer, reason=reason,
            now=write_moment(now), audit=note("undo_subject_merge", DUE_PROCESS),
        )  # fmt: skip
        deliver(ctx)
    emit(data, as_json, _print_undo)


def _print_undo(d: dict[str, Any]) -> None:
    out.print(f"decision {d['decision']} reverses decision {d['reverses']}")
    if d["records_kept"]:
        out.print(f"changed since, left where they are: {', '.join(d['records_kept'])}")


@subjects_app.command("history")
def subjects_history(subject: Subject, now: Now = None, as_json: Json = False) -> None:
    """Every merge and split proposal about SUBJECT, with its decisions."""
    from xinyong.services.merges import history

    with service() as ctx:
        data = history(ctx.migrated_engine(), subject, write_moment(now))
        audited(ctx, "read_subject_merges", f"subject:{subject}", DUE_PROCESS, read=True)
    emit(data, as_json, _print_history)


def _print_history(d: dict[str, Any]) -> None:
    if d["stands_for"] != d["subject_id"]:
        out.print(f"subject {d['subject_id']} stands for subject {d['stands_for']} (merged)")
    rows = []
    for p in d["proposals"]:
        steps = "; ".join(
            f"{x['id']} {x['outcome']} by {x['reviewer']}" + (f" (reverses {x['reverses']})" if x["reverses"] else "")
            for x in p["decisions"]
        )
        rows.append({"proposal": p["id"], "action": p["action"], "subjects": f"{p['subject_id']} ← {p['other_id']}",
                     "state": p["state"], "proposed by": p["proposed_by"], "decisions": steps or "-"})  # fmt: skip
    table(rows, ["proposal", "action", "subjects", "state", "proposed by", "decisions"], "Merges and splits")
