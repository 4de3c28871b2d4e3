"""Storing one validated chunk of a batch: each row against what the store holds of its reference
(new, a new version, unchanged, or refused as a duplicate, a conflict or a stale revision), the
rows linked to their subjects and stored, the rejects reported; and the counts of the batch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from operator import attrgetter

from sqlalchemy import Connection

from xinyong.domain.records import Problem, ValidRow
from xinyong.domain.rows import content_hashes
from xinyong.ingest.chunks import Chunk
from xinyong.ingest.rejects import RejectReport
from xinyong.ingest.summary import merge_reading
from xinyong.store import ingest_repo as repo
from xinyong.store.batch_store import BatchStore
from xinyong.store.fragments_repo import keep_fragments
from xinyong.store.ingest_repo import StoredVersion


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


def store_chunk(
    conn: Connection,
    store: BatchStore,
    batch_id: int,
    chunk: Chunk,
    stamp: datetime,
    result: BatchResult,
    report: RejectReport,
) -> None:
    """Store one chunk in the batch's transaction; `stamp`: that transaction's knowledge-clock stamp."""
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
    hashes = content_hashes(valid)
    stored = store.stored_versions(refs)
    to_supersede: list[int] = []
    if stored:  # references the store holds already: decided one by one
        for r, content_hash in zip(valid, hashes, strict=True):
            versions = stored.get(r.source_ref)
            if versions is None or r.line in skip:
                continue
            problem, supersede = _against_stored(r, content_hash, versions, batch_id)
            if problem is not None:
                refused.append(problem)
                skip.add(r.line)
            elif supersede is None:
                result.unchanged += 1
                skip.add(r.line)
            elif supersede:
                to_supersede.append(supersede)
    if skip:
        kept = [i for i, r in enumerate(valid) if r.line not in skip]
        rows, hashes = [valid[i] for i in kept], [hashes[i] for i in kept]
    else:
        rows = valid
    result.new_versions += len(to_supersede)
    result.accepted += len(rows) - len(to_supersede)
    links = store.link(rows)
    result.subjects_created += links.created
    repo.supersede(conn, to_supersede, stamp)
    record_ids = store.store(rows, hashes, links)
    keep_fragments(conn, rows, record_ids, chunk.fragments)  # for match review: see docs/linking.md
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


def _against_stored(
    r: ValidRow, content_hash: str, versions: list[StoredVersion], batch_id: int
) -> tuple[Problem | None, int | None]:
    """What to do with a row (of `content_hash`) whose reference the store holds: (problem,
    version to supersede).

    Returns (None, None) for a row already stored unchanged, (None, 0) for a first version of a
    reference whose versions are all superseded, and (None, id) for a new version of record `id`.
    A revision the store holds is compared with the department's own row of it (version 0), not
    with the platform's versions of it (a correction by due process, a link a person made): the
    department's next revision supersedes whichever version is current.
    """
    ref = r.source_ref
    earlier = next((v for v in versions if v.batch_id == batch_id), None)
    if earlier is not None:
        return _dup(r, earlier.batch_line), None
    same = next((v for v in versions if v.revision == r.revision and v.version == 0), None)
    if same is not None:
        if same.content_hash == content_hash:
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
