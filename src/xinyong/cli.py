"""The `xinyong` command line. Each command translates its arguments into one service call."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from xinyong.domain.catalog import CatalogError, load_catalog
from xinyong.domain.errors import XinyongError
from xinyong.services.context import AppContext
from xinyong.settings import Settings

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


def _ctx() -> AppContext:
    return AppContext(Settings())


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(Text.assemble(("error: ", "bold red"), message), highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@catalog_app.command("check")
def catalog_check(
    directory: Annotated[Path | None, typer.Argument(help="Catalog directory (default: the shipped catalog).")] = None,
) -> None:
    """Validate a catalog and print every problem with file, line and what to fix."""
    try:
        catalog = load_catalog(directory or Settings().catalog_dir)
    except CatalogError as exc:
        for p in exc.problems:
            err.print(str(p), markup=False, highlight=False, soft_wrap=True)
        raise _fail(f"{len(exc.problems)} problem(s); the catalog is refused") from None
    out.print(
        f"catalog OK: version {catalog.short_version}; {len(catalog.sources)} departments, "
        f"{len(catalog.record_types)} record types, {len(catalog.lists)} lists, {len(catalog.measures)} measures, "
        f"{len(catalog.contexts)} contexts, {len(catalog.rulesets)} rulesets",
        highlight=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the store's schema to the newest revision (or REVISION)."""
    from xinyong.store.db import current_revision, upgrade

    ctx = _ctx()
    upgrade(ctx.engine, revision)
    out.print(
        f"store at revision {current_revision(ctx.engine)} ({ctx.engine.url.render_as_string()})", highlight=False
    )


@app.command("init")
def init() -> None:
    """Prepare a data directory: create the identifier key if missing and migrate the store."""
    from xinyong.store.db import current_revision, upgrade

    ctx = _ctx()
    ctx.settings.data_dir.mkdir(parents=True, exist_ok=True)
    if ctx.settings.create_key_file():
        out.print(f"created identifier key {ctx.settings.key_file} (keep it secret; never commit it)", highlight=False)
    ctx.settings.vault()
    upgrade(ctx.engine)
    out.print(f"store ready at revision {current_revision(ctx.engine)}", highlight=False)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    )


@app.command("ingest")
def ingest(
    path: Annotated[
        Path, typer.Argument(help="A .csv, .jsonl or .parquet file, or a directory of <source>.<ext> files.")
    ],
    source: Annotated[str | None, typer.Option(help="Source department (default: from the file name).")] = None,
    report_dir: Annotated[Path | None, typer.Option(help="Where to write reject reports.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    rescore_after: Annotated[
        bool, typer.Option("--rescore/--no-rescore", help="Rescore the subjects whose records changed.")
    ] = True,
) -> None:
    """Ingest department files: validate, resolve identifiers, store, report rejects, rescore."""
    from xinyong.ingest.pipeline import ingest_file, plan_directory, source_of

    ctx = _ctx()
    try:
        engine = ctx.migrated_engine()
        catalog, vault = ctx.catalog, ctx.vault
        if path.is_dir():
            if source:
                raise _fail("--source applies to a single file; in a directory the file names give the sources")
            plan = plan_directory(path, catalog)
        elif path.is_file():
            plan = [(path, source_of(path, catalog, source))]
        else:
            raise _fail(f"{path}: no such file or directory")
        results = []
        with _progress() as bar:
            for file, sid in plan:
                total = _count_rows(file)
                task = bar.add_task(f"{file.name:<28}", total=total)
                result = ingest_file(
                    engine,
                    catalog,
                    vault,
                    file,
                    source=sid,
                    report_dir=report_dir or ctx.settings.rejects,
                    chunk_rows=ctx.settings.ingest_chunk_rows,
                    helper_min_bytes=ctx.settings.ingest_helper_min_bytes
                    if ctx.settings.ingest_helper_min_bytes >= 0
                    else None,
                    progress=partial(bar.advance, task),
                )
                results.append(result)
        rescored = None
        if rescore_after and any(r.accepted or r.new_versions for r in results):
            from xinyong.services.scoring import changed_subjects, rescore

            today = datetime.now(UTC).date()
            ids, _ = changed_subjects(engine, catalog, today, datetime.now(UTC))
            if ids:
                rescored = rescore(
                    engine, catalog, as_of=today, subject_ids=ids, mode="changed",
                    engine_name="online" if len(ids) < 200 else "embedded",
                )  # fmt: skip
    except XinyongError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        payload: Any = [r.as_dict() for r in results]
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    table = Table(title="Ingestion")
    for col in (
        "file",
        "batch",
        "read",
        "accepted",
        "new versions",
        "unchanged",
        "rejected",
        "unresolved",
        "new subjects",
    ):
        table.add_column(col, justify="left" if col == "file" else "right")
    for r in results:
        table.add_row(
            Path(r.file).name,
            str(r.batch_id),
            *(
                str(x)
                for x in (
                    r.rows_read,
                    r.accepted,
                    r.new_versions,
                    r.unchanged,
                    r.rejected,
                    r.unresolved,
                    r.subjects_created,
                )
            ),
        )
    out.print(table)
    for r in results:
        if r.report:
            out.print(
                f"{Path(r.file).name}: {r.rejected} rejected, {r.unresolved} unresolved; report: {r.report}",
                highlight=False,
            )
            for line in r.problems_sample:
                out.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    if rescored is not None:
        out.print(
            f"rescored {rescored.subjects} subject(s) whose records changed (run {rescored.run_id})", highlight=False
        )
        _print_grades(rescored.grades)


def _count_rows(path: Path) -> int | None:
    """Rows in a file, for the progress bar (cheap: a line count, or Parquet metadata)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:  # noqa: BLE001 - a bad file is refused, with its reason, by the ingest itself
            return None
    with path.open("rb") as f:
        return max(sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")) - (path.suffix == ".csv"), 0)


def _day(value: str | None, what: str) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{what} '{value}' is not a date; use YYYY-MM-DD") from None


def _moment(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"--known-at '{value}' is not a timestamp; use e.g. 2026-11-29T08:00:00+00:00") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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
    from xinyong.services.scoring import facts_of, score_online
    from xinyong.services.subjects import resolve_subject

    ctx = _ctx()
    day, moment = _day(as_of, "--as-of"), _moment(known_at)
    try:
        engine = ctx.migrated_engine()
        sid, how = resolve_subject(engine, ctx.catalog, ctx.vault, subject)
        result = score_online(engine, ctx.catalog, sid, day, moment)
        with engine.connect() as conn:
            facts = {f.record_id: f for f in facts_of(conn, sid, moment)}
    except XinyongError as exc:
        raise _fail(str(exc)) from None
    report = {"subject_id": sid, "found_by": how, **explain_score(result, facts, ctx.catalog, moment.isoformat())}
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
        return
    out.print(f"Subject {sid} ({report['subject_kind']}, found by {how})", highlight=False)
    out.print(
        f"as of {report['as_of']}, as known at {report['known_at']}; catalog {ctx.catalog.short_version}",
        highlight=False,
    )
    out.print(report["summary"], highlight=False, markup=False)
    for c in report["contributions"]:
        out.print(f"  {c['reason']}", highlight=False, markup=False, soft_wrap=True)
    if "no_contributions_because" in report:
        out.print(f"  No contributions: {report['no_contributions_because']}.", highlight=False, markup=False)


@app.command("rescore")
def rescore_cmd(
    all_subjects: Annotated[bool, typer.Option("--all", help="Rescore every subject.")] = False,
    changed: Annotated[bool, typer.Option("--changed", help="Rescore subjects whose records changed.")] = False,
    engine_name: Annotated[str, typer.Option("--engine", help="embedded (DuckDB), spark, or online.")] = "embedded",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day to score; default today.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Recompute scores set-based and append them to the score history."""
    from xinyong.services.scoring import changed_subjects, rescore

    if all_subjects == changed:
        raise _fail("say --all or --changed")
    if engine_name not in ("embedded", "spark", "online"):
        raise _fail(f"unknown engine '{engine_name}': use embedded, spark or online")
    ctx = _ctx()
    day = _day(as_of, "--as-of")
    try:
        engine = ctx.migrated_engine()
        ids = None
        why = "every subject"
        if changed:
            ids, why = changed_subjects(engine, ctx.catalog, day, datetime.now(UTC))
        result = rescore(
            engine, ctx.catalog, as_of=day, subject_ids=ids, mode="changed" if changed else "all",
            engine_name=engine_name,  # type: ignore[arg-type]
        )  # fmt: skip
    except XinyongError as exc:
        raise _fail(str(exc)) from None
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
    _print_grades(result.grades)


def _print_grades(grades: dict[str, dict[str, int]]) -> None:
    table = Table(title="Grades")
    table.add_column("kind")
    table.add_column("grade")
    table.add_column("subjects", justify="right")
    for kind, counts in sorted(grades.items()):
        for grade, n in sorted(counts.items()):
            table.add_row(kind, grade, str(n))
    out.print(table)


@scores_app.command("export")
def scores_export(file: Annotated[Path, typer.Argument(help="Output .parquet or .csv file.")]) -> None:
    """Write every subject's current score (kind, points, grade, ruleset and catalog version, as_of)."""
    from xinyong.services.scoring import export_current_scores

    try:
        n = export_current_scores(_ctx().migrated_engine(), file)
    except XinyongError as exc:
        raise _fail(str(exc)) from None
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
) -> None:
    """What-if: how many subjects would change grade, from which to which, with explained examples."""
    from dataclasses import asdict

    from xinyong.services.whatif import ruleset_diff

    ctx = _ctx()
    try:
        engine = ctx.migrated_engine()
        other = load_catalog(new_catalog) if new_catalog else ctx.catalog
        diff = ruleset_diff(
            engine, ctx.catalog, other, old, new, as_of=_day(as_of, "--as-of"), known_at=datetime.now(UTC),
            examples=examples,
        )  # fmt: skip
    except CatalogError as exc:
        raise _fail(f"--new-catalog is refused:\n{exc}") from None
    except XinyongError as exc:
        raise _fail(str(exc)) from None
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


@app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Counts of records, subjects, unresolved records and rejects, per source."""
    from xinyong.services.status import store_status

    try:
        data = store_status(_ctx().migrated_engine())
    except XinyongError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    out.print(
        f"records {data['records']} (versions {data['record_versions']}), subjects {data['subjects']} "
        f"{data['subjects_by_kind']}, unresolved {data['unresolved']}, rejected rows {data['rejected']}, "
        f"batches {data['batches']}",
        highlight=False,
    )
    table = Table(title="Per source")
    for col in ("source", "records", "versions", "unresolved", "rejected", "batches", "last batch"):
        table.add_column(col)
    for sid, s in sorted(data["sources"].items()):
        table.add_row(
            sid,
            *(str(s[k]) for k in ("records", "versions", "unresolved", "rejected", "batches")),
            s["last_batch_at"] or "",
        )
    out.print(table)


@app.command("settings")
def show_settings() -> None:
    """List every setting with its environment variable and help text."""
    for name, f in Settings.model_fields.items():
        out.print(f"XINYONG_{name.upper()}: {f.description}", highlight=False, soft_wrap=True)


@demo_app.command("generate")
def demo_generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write departments/ and ground_truth/ into.")],
    persons: Annotated[int, typer.Option(min=0, help="Number of residents.")] = 50_000,
    orgs: Annotated[int, typer.Option(min=0, help="Number of companies.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and anchor give the same bytes.")] = 20261129,
    anchor: Annotated[
        str | None,
        typer.Option(help="Day the city is seen from (YYYY-MM-DD); no decision is later. Default: today (UTC)."),
    ] = None,
) -> None:
    """Generate the synthetic demo city: department files to ingest, and the ground truth kept apart."""
    from datetime import UTC, date, datetime

    from xinyong.demo.city import generate_city, progress_total

    try:
        day = date.fromisoformat(anchor) if anchor else datetime.now(UTC).date()
    except ValueError:
        raise _fail(f"--anchor '{anchor}' is not a date; use YYYY-MM-DD") from None
    with _progress() as bar:
        task = bar.add_task("demo city", total=progress_total(persons, orgs))
        summary = generate_city(out_dir, persons, orgs, seed, day, progress=lambda n: bar.advance(task, n))
    table = Table(title=f"Demo city: {persons} residents, {orgs} companies, seed {seed}, anchor {day.isoformat()}")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for f in summary.files:
        table.add_row(str(f.path), str(f.rows))
    out.print(table)
    out.print(
        f"{summary.records} records and {summary.corrections} corrections; {summary.noisy} with a missing or "
        f"mistyped identifier, {summary.bad_rows} broken on purpose. Ingest {out_dir / 'departments'}; "
        f"the ground truth {summary.truth} is for checking only, never ingest it.",
        highlight=False,
        soft_wrap=True,
    )


def main() -> None:  # pragma: no cover - console entry point
    app()
