"""Ingest one department file, or one batch of rows, into the store.

A batch is one transaction: if the process dies midway, the store holds none of it, and
running the same command again completes it. Rows are validated and written in chunks, so memory
stays bounded whatever the file size. Ingesting the same file (or the same rows) twice adds
nothing: every row is recognised by (source, source_ref, revision) and its content hash.

Two readers stand in front of one core (`ingest_chunks`): `ingest_file` reads a file (in a helper
process when it is large), `ingest_rows` takes rows already parsed (the API's JSON batch) and
reads them as the lines of a JSONL file, with the same rules and messages, and never writes them
out. `services.ingestion.submit` adds what every entrypoint owes after a batch: the rescore of
the subjects it changed and the delivery of the notices due.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import FileRefused
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.records import RowValidator
from xinyong.ingest.chunk_store import BatchResult, store_chunk
from xinyong.ingest.chunks import Chunk, Job, gc_paused, helper_chunks, local_chunks, validate_chunk
from xinyong.ingest.readers import RawChunk, ReadOptions, file_format, read_rows
from xinyong.ingest.rejects import RejectReport, report_name, settle_reports
from xinyong.ingest.sources import plan_directory, source_of, submitting_source
from xinyong.services.merge_moves import carry_after_batch
from xinyong.store import ingest_repo as repo
from xinyong.store.batch_store import BatchStore
from xinyong.store.fragments_repo import model_kept
from xinyong.store.unit_of_work import AuditNote, UnitOfWork

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
# Below this size a helper process costs more to start than it saves.
HELPER_MIN_BYTES = 8 << 20
# On PostgreSQL a batch that stores at least this many record versions analyses the tables it
# filled once it has committed: until statistics are taken, PostgreSQL plans those tables as they
# were before the batch (a store loaded in one batch, as if it were empty), and the autovacuum
# daemon takes them only some time later, or never where it is off.
ANALYZE_AFTER_ROWS = 10_000
_ANALYZE = "ANALYZE subjects, identifiers, records, unresolved"


@dataclass(frozen=True)
class Origin:
    """Where a batch's rows come from: how messages name it (`label`), the name its reject report
    is given (`name`), what the batch row stores (`stored`) and the result shows (`file`)."""

    label: str
    name: str
    stored: str
    fmt: str
    file: str


def ingest_file(
    engine: Engine,
    catalog: Catalog,
    vault: IdentifierVault,
    path: Path,
    *,
    source: str | None = None,
    report_dir: Path,
    chunk_rows: int = 5000,
    helper_min_bytes: int | None = HELPER_MIN_BYTES,
    now: datetime | None = None,
    progress: Progress | None = None,
    analyze_after_rows: int = ANALYZE_AFTER_ROWS,
    options: ReadOptions | None = None,
    audit: AuditNote | None = None,
) -> BatchResult:
    """Ingest one file as one atomic batch, stored with its audit event (`audit`, whose target
    is the new batch) or not at all.

    Files of at least `helper_min_bytes` are read and validated by a helper process while this
    one writes (None: never). On PostgreSQL a batch that stored at least `analyze_after_rows`
    record versions then analyses the tables it filled (see ANALYZE_AFTER_ROWS). `options` give a
    text file's encoding and a workbook's sheet where the catalog does not, or override it.

    Raises:
        FileRefused: the file as a whole cannot be accepted; nothing of it is stored.
    """
    now = CLOCK.as_of(now, "now")  # the day rows are validated as of; the batch is stamped by the clock
    if not path.is_file():
        raise FileRefused(f"{path}: no such file")
    source_id = source_of(path, catalog, source)
    fmt = file_format(path)
    digest: list[str] = []  # the file's SHA-256, taken while it is read (one pass over the file)
    if helper_min_bytes is not None and path.stat().st_size >= helper_min_bytes:
        job = Job(path, fmt, catalog, source_id, vault, now.date(), chunk_rows, options or ReadOptions())
        chunks = helper_chunks(job, digest.append)
    else:
        validator = RowValidator(catalog, source_id, vault, now.date())
        chunks = local_chunks(path, fmt, validator, chunk_rows, digest.append, options)
    origin = Origin(path.name, path.name, str(path.resolve())[-500:], fmt, str(path))
    return ingest_chunks(
        engine, catalog, source_id, chunks, digest, origin,
        report_dir=report_dir, now=now, progress=progress, analyze_after_rows=analyze_after_rows, audit=audit,
    )  # fmt: skip


def ingest_rows(
    engine: Engine,
    catalog: Catalog,
    vault: IdentifierVault,
    rows: Iterable[Mapping[str, Any]],
    *,
    source: str,
    report_dir: Path,
    label: str = "the batch",
    chunk_rows: int = 5000,
    now: datetime | None = None,
    analyze_after_rows: int = ANALYZE_AFTER_ROWS,
    audit: AuditNote | None = None,
) -> BatchResult:
    """Ingest rows already parsed (each a mapping of column to value) as one atomic batch, as if
    they were the lines of a JSONL file (line n: the n-th row): the same validation, the same
    messages (naming `label` where a file's would name the file), the same store. Validated in
    this process; nothing is written but the store and the reject report.

    Raises:
        FileRefused: the batch as a whole cannot be accepted (an unknown column, no rows); nothing
            of it is stored.
    """
    now = CLOCK.as_of(now, "now")  # the day rows are validated as of; the batch is stamped by the clock
    source_id = submitting_source(catalog, source, "the batch's source")
    validator = RowValidator(catalog, source_id, vault, now.date())
    digest: list[str] = []  # the SHA-256 of the rows as JSONL: the same rows again are the same batch
    sha = hashlib.sha256()
    chunks = _validated(validator, read_rows(rows, validator, chunk_rows, sha, label), sha, digest)
    origin = Origin(label, f"{source_id}.batch", f"{source_id}: batch of rows", "jsonl", label)
    return ingest_chunks(
        engine, catalog, source_id, chunks, digest, origin,
        report_dir=report_dir, now=now, analyze_after_rows=analyze_after_rows, audit=audit,
    )  # fmt: skip


def _validated(
    validator: RowValidator, raws: Generator[RawChunk, None, None], sha: Any, digest: list[str]
) -> Generator[Chunk, None, None]:
    try:
        for raw in raws:
            yield validate_chunk(validator, raw)
    finally:
        raws.close()
    digest.append(sha.hexdigest())


def ingest_chunks(
    engine: Engine,
    catalog: Catalog,
    source_id: str,
    chunks: Generator[Chunk, None, None],
    digest: list[str],
    origin: Origin,
    *,
    report_dir: Path,
    now: datetime,
    progress: Progress | None = None,
    analyze_after_rows: int = ANALYZE_AFTER_ROWS,
    audit: AuditNote | None = None,
) -> BatchResult:
    """The core of every ingestion: store validated chunks as one batch, with its audit event, its
    reject report and the rescore it owes; then analyse (PostgreSQL, large batches) and propose
    matches for what it left unresolved. `digest` holds the rows' SHA-256 once they are read."""
    try:
        with gc_paused():
            result = _store_chunks(engine, catalog, origin, source_id, chunks, digest, report_dir, now, progress, audit)
    finally:
        chunks.close()
    if engine.dialect.name == "postgresql" and result.accepted + result.new_versions >= analyze_after_rows:
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(_ANALYZE)
        except DBAPIError as exc:  # the batch is stored: say so, and leave the statistics to the daemon
            log.warning("batch %s is stored; analysing its tables failed: %s", result.batch_id, exc.orig)
    if result.same_as is None and (result.accepted or result.new_versions):
        carry_after_batch(engine, result.batch_id)  # the links people made hold for the batch's new revisions
    if result.unresolved and model_kept(engine):  # match proposals for what it left unresolved, once committed
        # Imported only then: the model loads Arrow, a third of a second, whose threads would also
        # keep the next file's helper from forking (chunks._start_method).
        from xinyong.services.linking import propose_for_batch

        propose_for_batch(engine, result.batch_id)
    return result


def _store_chunks(
    engine: Engine,
    catalog: Catalog,
    origin: Origin,
    source_id: str,
    chunks: Generator[Chunk, None, None],
    digest: list[str],
    report_dir: Path,
    now: datetime,
    progress: Progress | None,
    audit: AuditNote | None = None,
) -> BatchResult:
    first = next(chunks, None)  # header and schema problems surface here, before any write
    if first is None:
        raise FileRefused(f"{origin.label}: the file holds no records")

    report: RejectReport | None = None
    committed = False
    try:
        with UnitOfWork.writing(engine, lock="ingest", bulk=True) as uow:
            conn = uow.conn
            at = uow.stamp()  # when the platform knows this batch: see store.clock
            settle_reports(conn, report_dir)  # of a batch whose process died as it committed
            repo.sync_sources(conn, catalog, at)
            batch_id = repo.open_batch(
                conn,
                {
                    "source_id": source_id,
                    "file_name": origin.stored,
                    "file_format": origin.fmt,
                    "file_sha256": "",  # known once the file is read: see close_batch below
                    "catalog_version": catalog.version,
                    "started_at": at,
                    "finished_at": at,
                },
            )
            uow.audit(audit, f"batch:{batch_id}")
            name = report_name(at.strftime("%Y%m%dT%H%M%S"), batch_id, source_id, origin.name)
            report = RejectReport(report_dir, name)
            result = BatchResult(batch_id=batch_id, source=source_id, file=origin.file)
            store = BatchStore(conn, source_id, batch_id, at)
            for chunk in chain([first], chunks):
                store_chunk(conn, store, batch_id, chunk, at, result, report)
                if progress:
                    progress(chunk.rows_read)
                log.info("batch %s (%s): %d rows read", batch_id, origin.label, result.rows_read)
            _close(conn, catalog.version, origin, batch_id, digest[0], result, report, at)
            report.seal()  # whole on disk before the commit: see ingest.rejects
        committed = True
    except _StoredBefore as stored:  # rolled back: no second batch, no second set of rejects
        return stored.result
    finally:
        if report is not None:
            report.finish(keep=committed)
    return result


def _close(
    conn: Connection,
    catalog_version: str,
    origin: Origin,
    batch_id: int,
    sha256: str,
    result: BatchResult,
    report: RejectReport,
    now: datetime,
) -> None:
    """The batch's last writes: refused if the file was stored before, else what it owes and counts."""
    earlier = repo.stored_before(conn, result.source, sha256, catalog_version, batch_id)
    if earlier is not None:
        raise _StoredBefore(BatchResult(earlier, result.source, origin.file, result.rows_read, same_as=earlier))
    result.report = str(report.final) if report.rows else None
    if result.accepted or result.new_versions:
        repo.owe_rescore(conn, batch_id, now)
    repo.close_batch(
        conn,
        batch_id,
        {
            "finished_at": CLOCK.now(),
            "file_sha256": sha256,
            "rows_read": result.rows_read,
            "accepted": result.accepted,
            "new_versions": result.new_versions,
            "unchanged": result.unchanged,
            "rejected": result.rejected,
            "unresolved": result.unresolved,
            "subjects_created": result.subjects_created,
            "report_path": result.report,
        },
    )


class _StoredBefore(Exception):
    def __init__(self, result: BatchResult) -> None:
        self.result = result


__all__ = ["BatchResult", "ingest_chunks", "ingest_file", "ingest_rows", "plan_directory", "source_of"]
