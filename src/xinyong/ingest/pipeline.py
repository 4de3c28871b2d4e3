"""Ingest one department file, or a directory of them, into the store.

A file is one batch and one transaction: if the process dies midway, the store holds none of the
batch, and running the same command again completes it. Rows are validated and written in
chunks, so memory stays bounded whatever the file size. Ingesting the same file twice adds
nothing: every row is recognised by (source, source_ref, revision) and its content hash.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import chain
from operator import attrgetter
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import FileRefused
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.records import Problem, RowValidator, ValidRow
from xinyong.ingest.chunks import Chunk, Job, gc_paused, helper_chunks, local_chunks
from xinyong.ingest.readers import FORMATS, ReadOptions, file_format
from xinyong.ingest.summary import merge_reading, spreadsheet_safe
from xinyong.services.linking import propose_for_batch
from xinyong.store import ingest_repo as repo
from xinyong.store import linking_repo as link_repo
from xinyong.store.batch_store import BatchStore
from xinyong.store.ingest_repo import StoredVersion
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


@dataclass
class BatchResult:
    """What one file did to the store."""

    batch_id: int
    source: str
    file: str
    rows_read: int = 0
    accepted: int = 0
    new_versions: int = 0
    unchanged: int = 0
    rejected: int = 0
    unresolved: int = 0
    subjects_created: int = 0
    report: str | None = None
    problems_sample: list[str] = field(default_factory=list)
    reading: dict[str, object] = field(default_factory=dict)  # encoding, mapping, dropped and normalised counts
    same_as: int | None = None  # the batch that stored this very file before: nothing was stored again

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _submitting(catalog: Catalog) -> list[str]:
    """The departments that may submit records, by id."""
    return sorted(s for s, v in catalog.sources.items() if v.submits)


def _named_source(path: Path) -> str:
    """The source a file's name gives: `<source>.<ext>` or `<source>.<anything>.<ext>`."""
    return path.name.split(".", 1)[0]


def source_of(path: Path, catalog: Catalog, source: str | None) -> str:
    """The department a file comes from: given explicitly, or the first part of its name."""
    sid = source or _named_source(path)
    if sid not in catalog.sources:
        known = ", ".join(_submitting(catalog))
        how = "--source" if source else f"the file name '{path.name}'"
        raise FileRefused(f"unknown source '{sid}' (from {how}); known sources: {known}")
    if not catalog.sources[sid].submits:
        raise FileRefused(f"source '{sid}' submits no record types")
    return sid


class _Report:
    """Reject report: one CSV line per rejected row or unresolved record, written beside the store."""

    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.final = directory / name
        self.partial = directory / (name + ".partial")
        self._f = self.partial.open("w", encoding="utf-8", newline="")
        self._w = csv.writer(self._f)
        self._w.writerow(["line", "source_ref", "field", "outcome", "code", "message"])
        self.rows = 0

    def add(self, p: Problem, outcome: str) -> None:
        self._w.writerow(map(spreadsheet_safe, (p.line, p.source_ref or "", p.field or "", outcome, p.code, p.message)))
        self.rows += 1

    def finish(self, keep: bool) -> str | None:
        self._f.close()
        if keep and self.rows:
            self.partial.replace(self.final)
            return str(self.final)
        self.partial.unlink(missing_ok=True)
        return None


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
    try:
        with gc_paused():
            result = _store_chunks(
                engine, catalog, path, fmt, source_id, chunks, digest, report_dir, now, progress, audit
            )
    finally:
        chunks.close()
    if engine.dialect.name == "postgresql" and result.accepted + result.new_versions >= analyze_after_rows:
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(_ANALYZE)
        except DBAPIError as exc:  # the batch is stored: say so, and leave the statistics to the daemon
            log.warning("batch %s is stored; analysing its tables failed: %s", result.batch_id, exc.orig)
    propose_for_batch(engine, result.batch_id)  # match proposals for what it left unresolved, once committed
    return result


def _store_chunks(
    engine: Engine,
    catalog: Catalog,
    path: Path,
    fmt: str,
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
        raise FileRefused(f"{path.name}: the file holds no records")

    stamp = now.strftime("%Y%m%dT%H%M%S")
    report = _Report(report_dir, f"{stamp}-{source_id}-{path.name}.rejects.csv")
    committed = False
    try:
        with UnitOfWork.writing(engine, lock="ingest", bulk=True) as uow:
            conn = uow.conn
            at = uow.stamp()  # when the platform knows this batch: see store.clock
            repo.sync_sources(conn, catalog, at)
            batch_id = repo.open_batch(
                conn,
                {
                    "source_id": source_id,
                    "file_name": str(path.resolve())[-500:],
                    "file_format": fmt,
                    "file_sha256": "",  # known once the file is read: see close_batch below
                    "catalog_version": catalog.version,
                    "started_at": at,
                    "finished_at": at,
                },
            )
            uow.audit(audit, f"batch:{batch_id}")
            result = BatchResult(batch_id=batch_id, source=source_id, file=str(path))
            store = BatchStore(conn, source_id, batch_id, at)
            for chunk in chain([first], chunks):
                _store_chunk(conn, store, batch_id, chunk, at, result, report)
                if progress:
                    progress(chunk.rows_read)
                log.info("batch %s (%s): %d rows read", batch_id, path.name, result.rows_read)
            _close(conn, catalog.version, path, batch_id, digest[0], result, report, at)
        committed = True
    except _StoredBefore as stored:  # rolled back: no second batch, no second set of rejects
        return stored.result
    finally:
        report.finish(keep=committed)
    return result


def _close(
    conn: Connection,
    catalog_version: str,
    path: Path,
    batch_id: int,
    sha256: str,
    result: BatchResult,
    report: _Report,
    now: datetime,
) -> None:
    """The batch's last writes: refused if the file was stored before, else what it owes and counts."""
    earlier = repo.stored_before(conn, result.source, sha256, catalog_version, batch_id)
    if earlier is not None:
        raise _StoredBefore(BatchResult(earlier, result.source, str(path), result.rows_read, same_as=earlier))
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


def _store_chunk(
    conn: Connection,
    store: BatchStore,
    batch_id: int,
    chunk: Chunk,
    now: datetime,
    result: BatchResult,
    report: _Report,
) -> None:
    result.rows_read += chunk.rows_read
    merge_reading(result.reading, chunk.reading)
    valid = chunk.valid
    refused: list[Problem] = []
    skip: set[int] = set()  # lines not to store
    refs = [r.source_ref for r in valid]
    if len(set(refs)) != len(refs):  # a reference twice in this chunk: its first line counts
        first_line: dict[str, int] = {}
        for r in valid:
            if r.source_ref in first_line:
                refused.append(_dup(r, first_line[r.source_ref]))
                skip.add(r.line)
            else:
                first_line[r.source_ref] = r.line
    stored = store.stored_versions(refs)
    to_supersede: list[int] = []
    if stored:  # references the store holds already: decided one by one
        for r in valid:
            versions = stored.get(r.source_ref)
            if versions is None or r.line in skip:
                continue
            problem, supersede = _against_stored(r, versions, batch_id)
            if problem is not None:
                refused.append(problem)
                skip.add(r.line)
            elif supersede is None:
                result.unchanged += 1
                skip.add(r.line)
            elif supersede:
                to_supersede.append(supersede)
    rows = [r for r in valid if r.line not in skip] if skip else valid
    result.new_versions += len(to_supersede)
    result.accepted += len(rows) - len(to_supersede)
    links = store.link(rows)
    result.subjects_created += links.created
    repo.supersede(conn, to_supersede, now)
    record_ids = store.store(rows, links)
    link_repo.keep_fragments(conn, rows, record_ids, chunk.fragments)  # for match review: see docs/linking.md
    refused.sort(key=attrgetter("line"))
    problems = chunk.problems + refused
    repo.insert_rejects(conn, batch_id, problems)
    result.rejected += len({p.line for p in problems})
    for p in sorted(problems, key=attrgetter("line")):
        report.add(p, "rejected")
        if len(result.problems_sample) < 5:
            result.problems_sample.append(str(p))
    for r in rows:
        if r.unresolved is not None:
            result.unresolved += 1
            report.add(
                Problem(r.line, "id_number", "unresolved", f"stored, not linked: {r.unresolved}", r.source_ref),
                "stored_unresolved",
            )


def _against_stored(r: ValidRow, versions: list[StoredVersion], batch_id: int) -> tuple[Problem | None, int | None]:
    """What to do with a row whose reference the store holds: (problem, version to supersede).

    Returns (None, None) for a row already stored unchanged, (None, 0) for a first version of a
    reference whose versions are all superseded, and (None, id) for a new version of record `id`.
    """
    ref = r.source_ref
    earlier = next((v for v in versions if v.batch_id == batch_id), None)
    if earlier is not None:
        return _dup(r, earlier.batch_line), None
    same = next((v for v in versions if v.revision == r.revision), None)
    if same is not None:
        if same.content_hash == r.content_hash:
            return None, None
        return (
            Problem(
                r.line,
                "revision",
                "conflict",
                f"revision {r.revision} of '{ref}' is already stored with different content "
                f"(batch {same.batch_id}, line {same.batch_line}); send a correction as revision "
                f"{max(v.revision for v in versions) + 1}",
                ref,
            ),
            None,
        )
    current = next((v for v in versions if v.current), None)
    if current is not None and r.revision < current.revision:
        message = f"revision {r.revision} of '{ref}' is older than the stored revision {current.revision}"
        return Problem(r.line, "revision", "stale", message, ref), None
    return None, current.id if current is not None else 0


def _dup(r: ValidRow, first: int) -> Problem:
    return Problem(
        r.line,
        "source_ref",
        "duplicate",
        f"'{r.source_ref}' already appears at line {first} of this file; a file holds each record once",
        r.source_ref,
    )


def plan_directory(directory: Path, catalog: Catalog) -> list[tuple[Path, str]]:
    """The files of a directory to ingest, with their sources; refuses unknown names up front."""
    # A source's own file (<source>.<ext>) before its others (<source>.update-1.<ext>), whatever the extension.
    files = sorted(
        (p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")),
        key=lambda p: (_named_source(p), p.name.count(".") > 1, p.name),
    )
    if not files:
        raise FileRefused(f"{directory}: the directory holds no files")
    planned: list[tuple[Path, str]] = []
    bad: list[str] = []
    for p in files:
        if p.suffix.lower() not in FORMATS:
            bad.append(f"{p.name} (unsupported type; use {', '.join(FORMATS)})")
            continue
        sid = _named_source(p)
        if sid not in _submitting(catalog):
            bad.append(f"{p.name} (unknown source '{sid}')")
            continue
        planned.append((p, sid))
    if bad:
        known = ", ".join(_submitting(catalog))
        raise FileRefused(
            f"{directory}: nothing ingested; name each file <source>.<ext> with a known source "
            f"({known}). Not accepted: {'; '.join(bad)}"
        )
    return planned
