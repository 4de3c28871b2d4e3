"""Commands for scores: explain one, rescore many, export, and compare rulesets."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from xinyong.cli.common import (
    app,
    audited,
    context,
    fail,
    note,
    out,
    parse_day,
    parse_moment,
    print_grades,
    ruleset_app,
    scores_app,
)
from xinyong.domain.catalog import CatalogError, load_catalog
from xinyong.domain.errors import XinyongError
from xinyong.engines.registry import NAMES as ENGINE_NAMES


@app.command("score")
def score(
    subject: Annotated[str, typer.Argument(help="Internal subject id (or id:N), or an identifier such as a USCC.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day to score (YYYY-MM-DD); default today.")] = None,
    known_at: Annotated[
        str | None, typer.Option("--known-at", help="Use what the platform knew at this moment; default now.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """A subject's score and grade with every contribution, its record, rule and legal basis."""
    from xinyong.domain.explain import explain_score
    from xinyong.services.objection_views import disputes_of
    from xinyong.services.scoring import score_with_facts
    from xinyong.services.subjects import resolve_subject
    from xinyong.store.merges_repo import marks

    ctx = context()
    day, moment = parse_day(as_of, "--as-of"), parse_moment(known_at)
    try:
        engine = ctx.migrated_engine()
        sid, how = resolve_subject(engine, ctx.catalog, ctx.vault, subject)
        result, known = score_with_facts(engine, ctx.catalog, sid, day, moment)
        facts = {f.record_id: f for f in known}
        with engine.connect() as conn:
            disputes = disputes_of(conn, sid)
            linked = marks(conn, facts)
        audited(ctx, "read_score", f"subject:{sid}", "score explanation", read=True)
    except XinyongError as exc:
        raise fail(str(exc)) from None
    disputed = frozenset(disputes.records | disputes.links)
    report = {
        "subject_id": sid,
        "found_by": how,
        **explain_score(result, facts, ctx.catalog, moment.isoformat(), disputed, linked),
        "score_disputed": bool(disputes.scores),
    }
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    out.print(f"Subject {sid} ({report['subject_kind']}, found by {how})", highlight=False)
    out.print(
        f"as of {report['as_of']}, as known at {report['known_at']}; catalog {ctx.catalog.short_version}",
        highlight=False,
    )
    out.print(report["summary"], highlight=False, markup=False)
    if report["score_disputed"]:
        out.print("  [DISPUTED] the subject has an open objection to this score.", highlight=False, markup=False)
    for c in report["contributions"]:
        out.print(f"  {c['reason']}", highlight=False, markup=False, soft_wrap=True)
    if "no_contributions_because" in report:
        out.print(f"  No contributions: {report['no_contributions_because']}.", highlight=False, markup=False)


@app.command("rescore")
def rescore_cmd(
    all_subjects: Annotated[bool, typer.Option("--all", help="Rescore every subject.")] = False,
    changed: Annotated[bool, typer.Option("--changed", help="Rescore subjects whose records changed.")] = False,
    engine_name: Annotated[
        str, typer.Option("--engine", help=f"One of {', '.join(ENGINE_NAMES)} (embedded: DuckDB).")
    ] = "embedded",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day to score; default today.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Recompute scores set-based and append them to the score history."""
    from xinyong.services.scoring import changed_subjects, rescore
    from xinyong.store import clock

    if all_subjects == changed:
        raise fail("say --all or --changed")
    from xinyong.engines.registry import engine_named

    try:
        engine_named(engine_name)
    except XinyongError as exc:
        raise fail(str(exc)) from None
    ctx = context()
    day = parse_day(as_of, "--as-of")
    try:
        engine = ctx.migrated_engine()
        ids = None
        why = "every subject"
        from xinyong.store.ingest_repo import owed_batches

        owed = owed_batches(engine)  # read first: every batch it names committed before `known`
        known = clock.latest(engine)  # one moment for the choice of subjects and their scores
        if changed:
            ids, why = changed_subjects(engine, ctx.catalog, day, known)
        result = rescore(
            engine, ctx.catalog, as_of=day, known_at=known, subject_ids=ids, mode="changed" if changed else "all",
            engine_name=engine_name,
            audit=note("rescore", f"rescore {'changed' if changed else 'all'}"), settles=owed,
        )  # fmt: skip
    except XinyongError as exc:
        raise fail(str(exc)) from None
    data = {
        "run_id": result.run_id,
        "engine": result.engine,
        "subjects": result.subjects,
        "selected": why,
        "as_of": result.as_of.isoformat(),
        "grades": result.grades,
    }
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    out.print(
        f"run {result.run_id}: {result.subjects} subjects scored ({why}) by the {result.engine} engine, as of {day}",
        highlight=False,
    )
    print_grades(result.grades)


@scores_app.command("export")
def scores_export(file: Annotated[Path, typer.Argument(help="Output .parquet or .csv file.")]) -> None:
    """Write every subject's current score (kind, points, grade, ruleset and catalog version, as_of)."""
    from xinyong.services.exports import export_current_scores

    ctx = context()
    try:
        n = export_current_scores(ctx.migrated_engine(), file)
        try:
            audited(ctx, "export_scores", f"file:{str(file.resolve())[-195:]}", "score export", read=True)
        except XinyongError:
            file.unlink(missing_ok=True)  # an export that could not be audited is not handed out
            raise
    except XinyongError as exc:
        raise fail(str(exc)) from None
    out.print(f"{n} current scores written to {file}", highlight=False)


@ruleset_app.command("diff")
def ruleset_diff_cmd(
    old: Annotated[str, typer.Argument(help="Ruleset in force, as ID or ID@VERSION.")],
    new: Annotated[str, typer.Argument(help="Ruleset to compare, as ID or ID@VERSION.")],
    new_catalog: Annotated[
        Path | None, typer.Option("--new-catalog", help="Catalog directory holding NEW (default: the same catalog).")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day to compare on; default today.")] = None,
    examples: Annotated[int, typer.Option(min=0, max=20, help="Explained examples per grade change.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    engine_name: Annotated[str, typer.Option("--engine", help="embedded (DuckDB) or spark.")] = "embedded",
) -> None:
    """What-if: how many subjects would change grade, from which to which, with explained examples."""
    from dataclasses import asdict

    from xinyong.services.whatif import ruleset_diff

    ctx = context()
    try:
        engine = ctx.migrated_engine()
        other = load_catalog(new_catalog) if new_catalog else ctx.catalog
        diff = ruleset_diff(
            engine, ctx.catalog, other, old, new, as_of=parse_day(as_of, "--as-of"), known_at=datetime.now(UTC),
            examples=examples, engine_name=engine_name,
        )  # fmt: skip
        audited(ctx, "ruleset_diff", f"rulesets:{old}..{new}"[:200], "what-if with explained examples", read=True)
    except CatalogError as exc:
        raise fail(f"--new-catalog is refused:\n{exc}") from None
    except XinyongError as exc:
        raise fail(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps(asdict(diff), indent=2, ensure_ascii=False, default=str) + "\n")
        return
    changed = diff.subjects - diff.unchanged
    out.print(
        f"{diff.old} -> {diff.new} for {diff.kind}s as of {diff.as_of}: "
        f"{changed} of {diff.subjects} would change grade",
        highlight=False,
    )
    table = Table(title="Grade changes")
    table.add_column("from -> to")
    table.add_column("subjects", justify="right")
    for move, n in diff.transitions.items():
        table.add_row(move, str(n))
    out.print(table)
    for move, cases in diff.examples.items():
        out.print(f"[bold]{move}[/]")
        for case in cases:
            out.print(f"  subject {case['subject_id']}", highlight=False)
            for side in ("old", "new"):
                out.print(f"    {side}: {case[side]['summary']}", highlight=False, markup=False, soft_wrap=True)
                for c in case[side]["contributions"]:
                    out.print(f"      {c['reason']}", highlight=False, markup=False, soft_wrap=True)
