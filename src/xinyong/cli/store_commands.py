"""Commands for the catalog, the store, ingestion, status, settings and the demo city."""

from __future__ import annotations

import json
import sys
from datetime import date
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from xinyong.cli.common import (
    app,
    catalog_app,
    context,
    db_app,
    demo_app,
    err,
    fail,
    note,
    out,
    print_grades,
    progress_bar,
)
from xinyong.domain.catalog import CatalogError, load_catalog
from xinyong.domain.errors import XinyongError
from xinyong.settings import Settings


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
        raise fail(f"{len(exc.problems)} problem(s); the catalog is refused") from None
    out.print(
        f"catalog OK: version {catalog.short_version}; {len(catalog.sources)} departments, "
        f"{len(catalog.record_types)} record types, {len(catalog.lists)} lists, {len(catalog.measures)} measures, "
        f"{len(catalog.contexts)} contexts, {len(catalog.rulesets)} rulesets",
        highlight=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the store's schema to the newest revision (or REVISION)."""
    from xinyong.store.migrate import current_revision, upgrade

    ctx = context()
    upgrade(ctx.engine, revision)
    out.print(
        f"store at revision {current_revision(ctx.engine)} ({ctx.engine.url.render_as_string()})", highlight=False
    )


@app.command("init")
def init() -> None:
    """Prepare a data directory: create the identifier and signing keys if missing and migrate the store."""
    from xinyong.store.migrate import current_revision, upgrade

    ctx = context()
    ctx.settings.data_dir.mkdir(parents=True, exist_ok=True)
    if ctx.settings.create_key_file():
        out.print(f"created identifier key {ctx.settings.key_file} (keep it secret; never commit it)", highlight=False)
    ctx.settings.vault()
    if ctx.settings.create_signing_key_file():
        out.print(f"created certificate signing key {ctx.settings.signing_file}", highlight=False)
    upgrade(ctx.engine)
    out.print(f"store ready at revision {current_revision(ctx.engine)}", highlight=False)


@app.command("ingest")
def ingest(
    path: Annotated[
        Path,
        typer.Argument(help="A .csv, .jsonl, .parquet, .xlsx or .xls file, or a directory of <source>.<ext> files."),
    ],
    source: Annotated[str | None, typer.Option(help="Source department (default: from the file name).")] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="Encoding of text files: utf-8, gb18030, gbk, gb2312 or utf-16 (default: detected)."),
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="Sheet of a workbook to read (default: the first).")] = None,
    report_dir: Annotated[Path | None, typer.Option(help="Where to write reject reports.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    rescore_after: Annotated[
        bool, typer.Option("--rescore/--no-rescore", help="Rescore the subjects whose records changed.")
    ] = True,
) -> None:
    """Ingest department files: validate, resolve identifiers, store, report rejects, rescore.

    A file stored before (the same bytes, source and catalog) is not stored again. Rescoring also
    completes the rescore that an interrupted run left owing. Exit codes: 0 every row stored;
    3 the files were stored but some rows were rejected (see the reject reports); 1 an error,
    nothing of the failing file stored.
    """
    ctx = context()
    try:
        done = _submit(ctx, path, source, (encoding, sheet), report_dir, rescore_after)
    except XinyongError as exc:
        raise fail(str(exc)) from None
    _show_ingestion(done.batches, done.rescored, as_json)
    if any(r.rejected for r in done.batches):
        raise typer.Exit(REJECTED_ROWS_EXIT)


# `xinyong ingest` exits with this code when it stored the files but rejected some of their rows.
REJECTED_ROWS_EXIT = 3


def _submit(
    ctx: Any,
    path: Path,
    source: str | None,
    read: tuple[str | None, str | None],
    report_dir: Path | None,
    rescore: bool,
) -> Any:
    from xinyong.ingest.pipeline import plan_directory, source_of
    from xinyong.ingest.readers import ReadOptions
    from xinyong.services.ingestion import FileBatch, submit

    engine = ctx.migrated_engine()
    catalog = ctx.catalog
    if path.is_dir():
        if source:
            raise fail("--source applies to a single file; in a directory the file names give the sources")
        plan = plan_directory(path, catalog)
    elif path.is_file():
        plan = [(path, source_of(path, catalog, source))]
    else:
        raise fail(f"{path}: no such file or directory")
    with progress_bar() as bar:

        def progress(batch: FileBatch) -> Any:
            total = None if bar.disable else _count_rows(batch.path)  # a pass over the file only for a bar shown
            return partial(bar.advance, bar.add_task(f"{batch.path.name:<28}", total=total))

        return submit(
            engine, catalog, ctx.vault, ctx.settings, [FileBatch(file, sid, ReadOptions(*read)) for file, sid in plan],
            audit=note("submit_records", "file ingestion"),  # its target: the new batch
            rescore_after=rescore, report_dir=report_dir, progress=progress,
        )  # fmt: skip


def _show_ingestion(results: list[Any], rescored: Any, as_json: bool) -> None:
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
        if r.reading.get("mapping") or r.reading.get("dropped") or r.reading.get("normalised"):
            out.print(f"{Path(r.file).name}: {_reading_text(r.reading)}", markup=False, highlight=False, soft_wrap=True)
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
        print_grades(rescored.grades)


def _reading_text(reading: dict[str, Any]) -> str:
    """What reading a file rewrote, in one line: mapping, dropped columns, normalised values."""
    parts = [f"{k} {reading[k]}" for k in ("encoding", "sheet", "mapping") if reading.get(k)]
    if reading.get("header_line", 1) > 1:
        parts.append(f"header at line {reading['header_line']}")
    if reading.get("dropped"):
        parts.append("dropped " + ", ".join(f"{k} ({n})" for k, n in reading["dropped"].items()))
    if reading.get("normalised"):
        parts.append("normalised " + ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in reading["normalised"].items()))
    return "; ".join(parts)


def _count_rows(path: Path) -> int | None:
    """Rows in a file, for the progress bar (cheap: a line count, or Parquet metadata)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:  # noqa: BLE001 - a bad file is refused, with its reason, by the ingest itself
            return None
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        return None  # compressed: its bytes do not count its rows
    with path.open("rb") as f:
        return max(sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")) - (path.suffix == ".csv"), 0)


@app.command("status")
def status(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Counts of records, subjects, unresolved records and rejects, per source."""
    from xinyong.services.status import store_status

    try:
        data = store_status(context().migrated_engine())
    except XinyongError as exc:
        raise fail(str(exc)) from None
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
    if data["clock"]["ahead"]:
        out.print(f"CLOCK AHEAD: {data['clock']['problem']}.\nRepair: {data['clock']['repair']}.", highlight=False)
    dp = data["due_process"]
    if dp["lists"]:
        lists = Table(title="List entries by state (as of today)")
        lists.add_column("list")
        lists.add_column("entries")
        for list_id, states in sorted(dp["lists"].items()):
            lists.add_row(list_id, ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
        out.print(lists)
    out.print(
        f"objections open {dp['open_objections']} (overdue {dp['overdue_objections']}), repairs open "
        f"{dp['open_repairs']} (overdue {dp['overdue_repairs']}), undelivered notices {dp['undelivered_notices']} "
        f"(pending {dp['notice_delivery']['pending']}, dead {dp['notice_delivery']['dead']}), "
        f"last maintenance {dp['last_maintenance'] or 'never'}",
        highlight=False,
    )


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
    history_months: Annotated[
        int,
        typer.Option(min=0, max=60, help="Split the last N months into monthly files, for `demo replay` (0: none)."),
    ] = 0,
) -> None:
    """Generate the synthetic demo city: department files to ingest, and the ground truth kept apart."""
    from datetime import UTC, datetime

    from xinyong.demo.city import generate_city, progress_total

    try:
        day = date.fromisoformat(anchor) if anchor else datetime.now(UTC).date()
    except ValueError:
        raise fail(f"--anchor '{anchor}' is not a date; use YYYY-MM-DD") from None
    with progress_bar() as bar:
        task = bar.add_task("demo city", total=progress_total(persons, orgs))
        summary = generate_city(
            out_dir, persons, orgs, seed, day, progress=lambda n: bar.advance(task, n), history_months=history_months
        )
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
