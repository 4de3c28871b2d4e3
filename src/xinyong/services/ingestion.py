"""Submitting records: one service for every entrypoint (`xinyong ingest`, `POST /v1/records`).

`submit` stores each batch (a file, or rows already parsed) with its audit event, then does what
every batch owes once it has committed: it rescores the subjects whose records changed
(completing any rescore an interrupted run left owing), and delivers the notices due. A command
and a route that submit the same rows leave the same store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import Forbidden, InvalidInput
from xinyong.domain.identifiers import IdentifierVault
from xinyong.ingest.pipeline import BatchResult, Progress, ingest_file, ingest_rows
from xinyong.ingest.readers import ReadOptions
from xinyong.services.delivery import DeliveryRun, RetryPolicy, channel_from, deliver_due
from xinyong.services.scoring import RunResult, changed_subjects, rescore
from xinyong.settings import Settings
from xinyong.store import clock
from xinyong.store.ingest_repo import owed_batches, settle
from xinyong.store.unit_of_work import AuditNote

# Below this many subjects the online engine scores faster than starting the embedded one.
ONLINE_BELOW = 200


@dataclass(frozen=True)
class FileBatch:
    """A department file; its source given, or named by the file."""

    path: Path
    source: str | None = None
    options: ReadOptions = field(default_factory=ReadOptions)


@dataclass(frozen=True)
class RowBatch:
    """Rows already parsed (each a mapping of column to value), from one source."""

    rows: Sequence[Mapping[str, Any]]
    source: str
    label: str = "the batch"


@dataclass
class Submitted:
    """What a submission did: each batch, the rescore it owed (None: nothing to score), the notices delivered."""

    batches: list[BatchResult]
    rescored: RunResult | None = None
    delivered: DeliveryRun | None = None


def submit(
    engine: Engine,
    catalog: Catalog,
    vault: IdentifierVault,
    settings: Settings,
    batches: Sequence[FileBatch | RowBatch],
    *,
    audit: AuditNote | None = None,
    rescore_after: bool = True,
    report_dir: Path | None = None,
    progress: Callable[[FileBatch], Progress | None] | None = None,
    now: datetime | None = None,
) -> Submitted:
    """Validate and store each batch (one transaction each, with the event `audit`), then rescore
    the subjects they changed (`rescore_after`) and deliver the notices due.

    The rescore's event names the same actor as `audit` (action `rescore`). `progress` gives, for
    a file, the callback told of each chunk's rows.

    Raises:
        FileRefused: a batch as a whole cannot be accepted; nothing of it is stored (the batches
            before it are).
    """
    channel = channel_from(settings)  # a channel set up wrong is refused before anything is stored
    try:
        done = [_store(engine, catalog, vault, settings, b, audit, report_dir, progress, now) for b in batches]
        rescored = None
        if rescore_after:
            note = None if audit is None else AuditNote(audit.actor, "rescore", "rescore changed")
            rescored = rescore_owed(engine, catalog, note)
        return Submitted(done, rescored, deliver_due(engine, channel, RetryPolicy.of(settings)))
    finally:
        channel.close()


def _store(
    engine: Engine,
    catalog: Catalog,
    vault: IdentifierVault,
    settings: Settings,
    batch: FileBatch | RowBatch,
    audit: AuditNote | None,
    report_dir: Path | None,
    progress: Callable[[FileBatch], Progress | None] | None,
    now: datetime | None,
) -> BatchResult:
    rejects = report_dir or settings.rejects
    if isinstance(batch, RowBatch):
        limit = settings.max_batch_records
        if len(batch.rows) > limit:
            raise BatchTooLarge(f"a batch carries at most {limit} records; got {len(batch.rows)}: split it")
        _may_submit(catalog, batch)
        return ingest_rows(
            engine, catalog, vault, batch.rows, source=batch.source, report_dir=rejects,
            label=batch.label, chunk_rows=settings.ingest_chunk_rows, now=now, audit=audit,
        )  # fmt: skip
    helper = settings.ingest_helper_min_bytes
    return ingest_file(
        engine, catalog, vault, batch.path, source=batch.source, report_dir=rejects,
        chunk_rows=settings.ingest_chunk_rows, helper_min_bytes=helper if helper >= 0 else None,
        progress=progress(batch) if progress else None, options=batch.options, now=now, audit=audit,
    )  # fmt: skip


def _may_submit(catalog: Catalog, batch: RowBatch) -> None:
    """A batch holding a record type its source may not submit is refused whole, before anything is
    stored (a file's such rows are rejected one by one: a file is a department's export, a batch
    the deliberate act of its key)."""
    allowed = set(catalog.sources[batch.source].submits) if batch.source in catalog.sources else set()
    for i, r in enumerate(batch.rows, start=1):
        if r.get("record_type") not in allowed:
            raise NotAllowed(f"record {i}: {batch.source} may submit only {', '.join(sorted(allowed))}")


class BatchTooLarge(InvalidInput):
    """A batch of rows over `XINYONG_MAX_BATCH_RECORDS`: refused whole, before anything is read."""

    status = 413
    title = "Too large"


class NotAllowed(Forbidden):
    """A batch holds a record type its source may not submit: refused whole."""


def rescore_owed(engine: Engine, catalog: Catalog, audit: AuditNote | None = None) -> RunResult | None:
    """Rescore the subjects of the batches that owe it (this run's, and any a crash left); None
    when none owes one, or what they changed is scored already."""
    owed = owed_batches(engine)
    if not owed:
        return None
    today, known = datetime.now(UTC).date(), clock.latest(engine)  # one moment for both steps
    ids, _ = changed_subjects(engine, catalog, today, known)
    if not ids:
        settle(engine, owed)  # what they changed is scored already
        return None
    return rescore(
        engine, catalog, as_of=today, known_at=known, subject_ids=ids, mode="changed",
        engine_name="online" if len(ids) < ONLINE_BELOW else "embedded", audit=audit, settles=owed,
    )  # fmt: skip
