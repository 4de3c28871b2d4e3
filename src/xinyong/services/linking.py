"""Match review: train the linking model, propose candidate subjects, and record reviewers' judgements.

A proposal is never a link (principle 4). A reviewer's confirmation writes a new version of the
record linked to the subject (`link_method` "confirmed"), stamped by the knowledge clock: checks,
scores and lists read as known before it still find the record unresolved, and those after find
it linked. An undo is a new judgement that writes a further version without the link. Every
judgement is appended; a rejected pair is never proposed again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import Conflict, InvalidInput, NotFound
from xinyong.domain.notices import Notice, NoticeKind
from xinyong.services import notices as outbox
from xinyong.services.corrections import current_record, new_version
from xinyong.services.lists import need_reason
from xinyong.services.refresh import rescore_subjects
from xinyong.store import clock, merges_repo
from xinyong.store import linking_repo as repo
from xinyong.store.linking_tables import link_judgements, link_proposals
from xinyong.store.tables import batches, unresolved
from xinyong.store.unit_of_work import AuditNote, UnitOfWork

log = logging.getLogger(__name__)
ENGINES = ("duckdb", "spark")
REVIEWER_MAX = 100


class Outcome(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"
    UNSURE = "unsure"


def _load(document: str) -> Any:
    """A kept model file, verified (its content against its version) as `load_model` does."""
    import tempfile
    from pathlib import Path

    from xinyong.resolve.model import load_model

    with tempfile.TemporaryDirectory(prefix="xinyong-model-") as tmp:
        path = Path(tmp) / "model.json"
        path.write_text(document, encoding="utf-8")
        return load_model(path)


def train_model(engine: Engine, *, by: str, seed: int = 1, audit: AuditNote | None = None) -> dict[str, Any]:
    """Train the model on the store's own records and keep it under its version, stamped with
    the clock (when it was trained and saved).

    Raises:
        ModelError: too few subjects or identified records of a kind to learn from.
    """
    from xinyong.resolve.training import train

    with engine.connect() as conn:
        subjects = repo.candidate_subjects(conn)
        identified = repo.identified_records(conn)
        pending = repo.unresolved_records(conn)
    model = train(subjects, identified, pending, seed=seed)
    document = {**model.payload(), "version": model.version}
    text = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    figures = {
        "subjects": len(subjects),
        "identified_records": len(identified),
        "unresolved_records": len(pending),
        "seed": seed,
        "training": {kind: params.training for kind, params in model.kinds.items()},
    }
    with UnitOfWork.writing(engine, dated=False) as uow:
        new = repo.save_model(uow.conn, model.version, text, model.trained_at, figures, by)
        uow.audit(audit, f"link_model:{model.version[:12]}")
    return {"version": model.version, "new": new, **figures}


def _proposals(conn: Connection, model: Any, batch_id: int | None, engine_name: str, spark: Any) -> pa.Table:
    from xinyong.resolve.propose import propose

    pending = repo.unresolved_records(conn, batch_id=batch_id)
    if len(pending) == 0:
        return pa.table({})
    kinds = sorted(set(pending["kind"].to_pylist()) & set(model.kinds))
    candidates = repo.candidate_subjects(conn, kinds)
    pending = pending.filter(pc.is_in(pending["kind"], pa.array(kinds)))
    return propose(pending, candidates, model, engine_name, spark=spark)  # type: ignore[arg-type]


def run(
    engine: Engine,
    *,
    engine_name: str = "duckdb",
    batch_id: int | None = None,
    spark: Any = None,
    version: str | None = None,
    audit: AuditNote | None = None,
) -> dict[str, Any]:
    """Propose candidate subjects for every unresolved record (or those of one batch) and keep them,
    each stamped with the clock.

    Raises:
        InvalidInput: an unknown engine, or no model kept (train one first).
    """
    if engine_name not in ENGINES:
        raise InvalidInput(f"engine '{engine_name}': expected one of {', '.join(ENGINES)}")
    with engine.connect() as conn:
        kept = repo.model_document(conn, version)
        if kept is None:
            what = f"no linking model of version {version}" if version else "no linking model is kept"
            raise InvalidInput(f"{what}: run `xinyong link train` first")
        model = _load(kept.model)
        table = _proposals(conn, model, batch_id, engine_name, spark)
    with UnitOfWork.writing(engine, dated=False) as uow:
        made = repo.insert_proposals(uow.conn, table) if table.num_columns else []
        uow.audit(audit, f"link_proposals:{made[0]}-{made[-1]}" if made else "link_proposals:none")
        open_now = repo.count_open(uow.conn)
    records = len(set(table["record_key"].to_pylist())) if table.num_columns else 0
    return {"model_version": model.version, "records": records, "proposals": len(made), "open": open_now}


def propose_for_batch(engine_or_conn: Engine | Connection, batch_id: int) -> int:
    """Propose candidates for the unresolved records one ingestion batch stored, once it has committed.

    Proposes nothing while no model is kept or the batch left nothing unresolved. The batch is
    stored whatever happens here: a failure is logged and `xinyong link run` proposes later.
    """
    engine = engine_or_conn if isinstance(engine_or_conn, Engine) else engine_or_conn.engine
    with engine.connect() as conn:
        left = conn.scalar(select(batches.c.unresolved).where(batches.c.id == batch_id))
        if not left or repo.model_document(conn) is None:
            return 0
    try:
        result = run(engine, batch_id=batch_id)
    except (InvalidInput, ValueError, RuntimeError) as exc:
        log.warning("batch %s is stored; proposing matches for it failed (run `xinyong link run`): %s", batch_id, exc)
        return 0
    return int(result["proposals"])


def need_reviewer(reviewer: str) -> str:
    text = (reviewer or "").strip()
    if not text or len(text) > REVIEWER_MAX or any(not c.isprintable() for c in text):
        raise InvalidInput(
            f"reviewer '{text[:40]}': give the reviewer's name, 1 to {REVIEWER_MAX} printable characters"
        )
    return text


def _proposal(conn: Connection, proposal_id: int) -> Any:
    p = conn.execute(select(link_proposals).where(link_proposals.c.id == proposal_id)).first()
    if p is None:
        raise NotFound(f"no match proposal {proposal_id}")
    return p


@contextmanager
def _judging(engine: Engine) -> Iterator[tuple[UnitOfWork, set[int]]]:
    """A unit of work for a judgement, and the subjects to rescore once it has committed."""
    touched: set[int] = set()
    with UnitOfWork.writing(engine) as uow:
        yield uow, touched


def decide(
    engine: Engine,
    catalog: Catalog,
    proposal_id: int,
    outcome: str,
    *,
    reviewer: str,
    reason: str,
    now: datetime,
    audit: AuditNote | None = None,
) -> dict[str, Any]:
    """Record a reviewer's judgement on a proposal; a confirmation links the record from now on.
    `now`: the moment the subject is rescored at (never ahead of the clock); the judgement, the
    record's new version and its queue entry are stamped with the clock.

    Raises:
        InvalidInput: an unknown outcome, or a missing reviewer or reason.
        NotFound: no such proposal.
        Conflict: the record is linked already, or the pair stands rejected.
    """
    try:
        decided = Outcome(outcome)
    except ValueError:
        raise InvalidInput(f"outcome '{outcome}': expected confirm, reject or unsure") from None
    who = need_reviewer(reviewer)
    why = need_reason(reason, "a match judgement")
    now = CLOCK.as_of(now, "now")
    with _judging(engine) as (uow, touched):
        conn = uow.conn
        at = uow.stamp()  # the judgement's time, and its record version's: the clock's, not the caller's
        p = _proposal(conn, proposal_id)
        rec = current_record(conn, p.source_id, p.source_ref, lock=True)
        if rec.subject_id is not None:
            raise Conflict(f"record {p.source_id}/{p.source_ref} is already linked to subject {rec.subject_id}")
        prior = conn.scalar(
            select(link_judgements.c.id).where(
                repo.standing(),
                link_judgements.c.source_id == p.source_id,
                link_judgements.c.source_ref == p.source_ref,
                link_judgements.c.subject_id == p.subject_id,
                link_judgements.c.outcome == "reject",
            )
        )
        if prior is not None:
            raise Conflict(f"this pair was rejected (judgement {prior}); undo that judgement first")
        values = {
            "proposal_id": proposal_id,
            "source_id": p.source_id,
            "source_ref": p.source_ref,
            "subject_id": p.subject_id,
            "outcome": decided.value,
            "reviewer": who,
            "reason": why,
            "at": at,
        }
        jid = int(conn.execute(insert(link_judgements).values(**values).returning(link_judgements.c.id)).scalar_one())
        uow.audit(audit, f"link_judgement:{jid}")
        linked_id = None
        if decided is Outcome.CONFIRM:
            merged = merges_repo.merge_standing(conn, clock.known_at(conn), absorbed=int(p.subject_id))
            target = int(p.subject_id if merged is None else merged.subject_id)  # a merged-away candidate: its survivor
            linked_id = _confirm(conn, catalog, p, target, int(rec.id), jid, why, at)
            touched.add(target)
    rescore_subjects(engine, catalog, touched, now)
    return {"judgement": jid, "proposal": proposal_id, "outcome": decided.value, "record_version": linked_id}


def _confirm(
    conn: Connection, catalog: Catalog, p: Any, target: int, version: int, jid: int, reason: str, at: datetime
) -> int:
    """Link the record as judged, close its queue entry, and tell the subject; `at`: the write's stamp."""
    conn.execute(  # first, or superseding the version would close its queue entry as "superseded"
        update(unresolved)
        .where(unresolved.c.record_id == version, unresolved.c.resolved_at.is_(None))
        .values(resolved_at=at, resolution="confirmed")
    )
    cause = f"link review {jid} confirmed"
    _, new_id = new_version(conn, catalog, p.source_id, p.source_ref, cause=cause, link_to=target)
    conn.execute(update(link_judgements).where(link_judgements.c.id == jid).values(record_id=new_id))
    known = clock.advance(conn)  # the new version's stamp (one per transaction)
    merges_repo.add_mark(conn, new_id, f"review {jid} on {known.date().isoformat()}", known)
    outbox.put(
        conn,
        subject_id=target,
        event_ref=f"link:{jid}",
        notice=Notice(
            NoticeKind.LINK_CONFIRMED,
            f"A record was linked to you by review {jid}",
            f"record {p.source_id}/{p.source_ref} carried no valid identifier; a reviewer confirmed on "
            f"{at.date().isoformat()} that it is about you, and it now counts in your file.",
            reason,
            f"if the record is not about you, object to the link (target link:{p.source_id}/{p.source_ref}).",
        ),
    )
    return new_id


def undo(
    engine: Engine,
    catalog: Catalog,
    judgement_id: int,
    *,
    reviewer: str,
    reason: str,
    now: datetime,
    audit: AuditNote | None = None,
) -> dict[str, Any]:
    """Reverse a judgement by appending one that names it; an undone confirmation unlinks the record.
    `now`: the moment the subject is rescored at (never ahead of the clock); what is stored is
    stamped with the clock.

    Raises:
        NotFound: no such judgement.
        Conflict: it is an undo itself, was undone already, or the record's link changed since.
    """
    who = need_reviewer(reviewer)
    why = need_reason(reason, "undoing a match judgement")
    now = CLOCK.as_of(now, "now")
    with _judging(engine) as (uow, touched):
        conn = uow.conn
        at = uow.stamp()  # before the savepoint below (see store.clock.advance)
        j = conn.execute(select(link_judgements).where(link_judgements.c.id == judgement_id)).first()
        if j is None:
            raise NotFound(f"no match judgement {judgement_id}")
        if j.outcome == "undo":
            raise Conflict(f"judgement {judgement_id} is an undo; judge the proposal again instead")
        done = conn.scalar(select(link_judgements.c.id).where(link_judgements.c.reverses == judgement_id))
        if done is not None:
            raise Conflict(f"judgement {judgement_id} was undone already (judgement {done})")
        record_version, told = None, int(j.subject_id)
        if j.outcome == Outcome.CONFIRM:
            rec = current_record(conn, j.source_id, j.source_ref, lock=True)
            if rec.id != j.record_id:
                raise Conflict(
                    f"record {j.source_id}/{j.source_ref} changed since judgement {judgement_id} linked it "
                    f"(now version {rec.id}); object to the link instead"
                )
            cause = f"link review {judgement_id} undone"
            _, record_version = new_version(conn, catalog, j.source_id, j.source_ref, cause=cause, unlink=True)
            told = int(rec.subject_id)  # the candidate's survivor, if a merge had absorbed it
            touched.add(told)
        values = {
            "proposal_id": j.proposal_id,
            "source_id": j.source_id,
            "source_ref": j.source_ref,
            "subject_id": j.subject_id,
            "outcome": "undo",
            "reverses": judgement_id,
            "reviewer": who,
            "reason": why,
            "at": at,
            "record_id": record_version,
        }
        try:
            with conn.begin_nested():  # two reviewers undoing at once: the unique `reverses` lets one through
                jid = int(
                    conn.execute(insert(link_judgements).values(**values).returning(link_judgements.c.id)).scalar_one()
                )
        except IntegrityError:
            raise Conflict(f"judgement {judgement_id} was undone by someone else at the same time") from None
        uow.audit(audit, f"link_judgement:{jid}")
        if j.outcome == Outcome.CONFIRM:
            outbox.put(
                conn,
                subject_id=told,
                event_ref=f"link:{jid}",
                notice=Notice(
                    NoticeKind.LINK_UNDONE,
                    f"Review {judgement_id} linking a record to you was undone",
                    f"record {j.source_id}/{j.source_ref} no longer counts in your file from {at.date().isoformat()}.",
                    why,
                    "nothing; the record waits for match review again.",
                ),
            )
    rescore_subjects(engine, catalog, touched, now)
    return {"judgement": jid, "reverses": judgement_id, "record_version": record_version}
