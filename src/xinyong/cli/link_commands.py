"""Match review commands: train the linking model, propose candidates, review, decide, undo."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from xinyong.cli.common import app, audited, note, out, write_moment
from xinyong.cli.process_commands import DUE_PROCESS, Json, Now, Reason, Reviewer, deliver, emit, service, table

link_app = typer.Typer(help="Match review: records without a valid identifier, and the people who link them.")
app.add_typer(link_app, name="link")
Engine = Annotated[str, typer.Option("--engine", help="duckdb (in process) or spark (local session).")]


@link_app.command("train")
def link_train(
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random sampling for u.")] = 1,
    as_json: Json = False,
) -> None:
    """Train the linking model on the store's own records and keep it under its version (stamped now)."""
    from xinyong.cli.common import operator
    from xinyong.services.linking import train_model

    with service() as ctx:
        data = train_model(ctx.migrated_engine(), by=operator(), seed=seed, audit=note("train_link_model"))
    emit(
        data,
        as_json,
        lambda d: out.print(
            f"model {d['version'][:12]} {'kept' if d['new'] else 'was kept already'}: trained on "
            f"{d['subjects']} subjects, {d['identified_records']} identified and "
            f"{d['unresolved_records']} unresolved records"
        ),
    )


@link_app.command("run")
def link_run(engine: Engine = "duckdb", as_json: Json = False) -> None:
    """Propose candidate subjects for every unresolved record with the newest kept model (stamped now)."""
    from xinyong.services.linking import run

    with service() as ctx:
        spark_ctx = _spark(engine)
        with spark_ctx as spark:
            data = run(ctx.migrated_engine(), engine_name=engine, spark=spark, audit=note("propose_links"))
    emit(
        data,
        as_json,
        lambda d: out.print(
            f"{d['records']} unresolved record(s) scored with model {d['model_version'][:12]}: "
            f"{d['proposals']} new proposal(s), {d['open']} open for review"
        ),
    )


def _spark(engine: str) -> Any:
    from contextlib import nullcontext

    if engine != "spark":
        return nullcontext(None)
    from xinyong.resolve.engines import local_spark_session

    return local_spark_session()


@link_app.command("review")
def link_review(
    limit: Annotated[int, typer.Option("--limit", help="At most this many (1-200).")] = 20,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many.")] = 0,
    as_json: Json = False,
) -> None:
    """Open proposals, best first, with their evidence; a record's other candidates beside each."""
    from xinyong.services.linking_views import open_proposals, proposal

    with service() as ctx:
        engine = ctx.migrated_engine()
        page = open_proposals(engine, limit=limit, offset=offset)
        audited(ctx, "review_links", "link_proposals", DUE_PROCESS, read=True)
        for item in page["items"]:
            detail = proposal(engine, int(item["id"]))
            item["other_candidates"] = [
                {k: o[k] for k in ("id", "subject_id", "subject_name", "probability", "priority", "evidence")}
                for o in detail["other_candidates"]
            ]
    emit(page, as_json, _print_page)


def _print_page(page: dict[str, Any]) -> None:
    rows = []
    for p in page["items"]:
        others = ", ".join(f"{o['id']}→{o['subject_id']} ({o['probability']:.3f})" for o in p["other_candidates"])
        rows.append(
            {
                "proposal": p["id"],
                "record": f"{p['source_id']}/{p['source_ref']}",
                "written": p["record_name"],
                "subject": f"{p['subject_id']} {p['subject_name'] or ''}",
                "probability": f"{p['probability']:.4f}",
                "priority": p["priority"],
                "evidence": p["evidence"],
                "other candidates": others or "-",
            }
        )
    columns = ["proposal", "record", "written", "subject", "probability", "priority", "evidence", "other candidates"]
    table(rows, columns, f"Open match proposals, {page['total']} in all")


@link_app.command("decide")
def link_decide(
    proposal_id: Annotated[int, typer.Argument(help="The proposal to judge.")],
    outcome: Annotated[str, typer.Argument(help="confirm, reject or unsure.")],
    reviewer: Reviewer,
    reason: Reason,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Judge a proposal; a confirmation links the record from now on and tells the subject."""
    from xinyong.services.linking import decide

    with service() as ctx:
        data = decide(
            ctx.migrated_engine(),
            ctx.catalog,
            proposal_id,
            outcome,
            reviewer=reviewer,
            reason=reason,
            now=write_moment(now),
            audit=note("judge_link", DUE_PROCESS),
        )
        deliver(ctx)
    emit(data, as_json, lambda d: out.print(f"judgement {d['judgement']}: proposal {d['proposal']} {d['outcome']}ed"))


@link_app.command("undo")
def link_undo(
    judgement_id: Annotated[int, typer.Argument(help="The judgement to reverse.")],
    reviewer: Reviewer,
    reason: Reason,
    now: Now = None,
    as_json: Json = False,
) -> None:
    """Reverse a judgement by a new one (history is kept); an undone confirmation unlinks the record."""
    from xinyong.services.linking import undo

    with service() as ctx:
        data = undo(
            ctx.migrated_engine(),
            ctx.catalog,
            judgement_id,
            reviewer=reviewer,
            reason=reason,
            now=write_moment(now),
            audit=note("undo_link_judgement", DUE_PROCESS),
        )
        deliver(ctx)
    emit(data, as_json, lambda d: out.print(f"judgement {d['judgement']} reverses judgement {d['reverses']}"))
