"""Checks: a consuming department asks which measures apply to a subject in a context, and why.

A check is evaluated "as of a day, as known at a moment" from the store: the subject found by its
identifier's keyed hash, its records and list entries as known then, its grade computed online
from the same records. The decision, its data version and a signed certificate are stored under
a random id, an audit event records who asked and for what purpose, and `replay` evaluates the
check again as known at its moment to confirm the same outcome.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, insert, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import canonical, sign
from xinyong.domain.errors import InvalidInput, NotFound
from xinyong.domain.identifiers import IdentifierVault, Scheme
from xinyong.domain.lists import fold
from xinyong.domain.measures import EntryFact, LinkedRecord, SubjectFacts, decide
from xinyong.domain.scoring import RecordFact, score_subject
from xinyong.services import audit
from xinyong.services.lists import transitions_of
from xinyong.services.objection_views import disputes_of
from xinyong.services.scoring import FACT_COLUMNS, known_versions
from xinyong.store.db import writing
from xinyong.store.tables import checks, identifiers, list_entries, records, subjects

PURPOSE_MAX = 200


def _identify(catalog: Catalog, vault: IdentifierVault, raw: str) -> tuple[str, str, str]:
    """(scheme, keyed hash, mask) of a checksum-valid identifier; refuse anything else."""
    problems = []
    for spec in catalog.schemes.values():
        scheme = Scheme(spec.id, spec.subject_kind, spec.personal)
        checked = scheme.check(raw)
        if checked.valid:
            return scheme.id, vault.digest(scheme.id, checked.compact), scheme.mask(checked.compact)
        problems.append(str(checked.problem))
    raise InvalidInput(f"subject identifier is not valid in any scheme ({'; '.join(problems)})")


def subject_facts(conn: Connection, catalog: Catalog, subject_id: int, as_of: date, known_at: datetime) -> SubjectFacts:
    """What the decision rests on, as known at `known_at` and in force on `as_of`."""
    kind = conn.scalar(select(subjects.c.kind).where(subjects.c.id == subject_id))
    if kind is None:
        raise NotFound(f"no subject {subject_id}")
    disputes = disputes_of(conn, subject_id)
    q = select(*FACT_COLUMNS, records.c.link_method).where(records.c.subject_id == subject_id, known_versions(known_at))
    linked = [
        LinkedRecord(
            RecordFact(*row[: len(FACT_COLUMNS)]),
            row.link_method,
            disputes.record_disputed(row.source_id, row.source_ref),
        )
        for row in conn.execute(q)
    ]
    entries = []
    for e in conn.execute(
        select(list_entries).where(list_entries.c.subject_id == subject_id).order_by(list_entries.c.id)
    ):
        view = fold(transitions_of(conn, e.id), known_at)
        if view is not None and view.in_force_on(as_of) and view.listed_on is not None:
            disputed = e.id in disputes.entries or disputes.record_disputed(e.source_id, e.source_ref)
            entries.append(
                EntryFact(e.id, e.list_id, view.listed_on, view.ends_on, e.source_id, e.source_ref, disputed)
            )
    score = score_subject(catalog, kind, [r.fact for r in linked], as_of)
    grade = score.grade if score.status == "scored" else None
    return SubjectFacts(subject_id, kind, entries, linked, grade, score.ruleset_id)


def _subject_by_hash(conn: Connection, scheme: str, digest: str, known_at: datetime) -> int | None:
    sid = conn.scalar(
        select(identifiers.c.subject_id).where(
            identifiers.c.scheme == scheme, identifiers.c.value_hash == digest, identifiers.c.created_at <= known_at
        )
    )
    return None if sid is None else int(sid)


def evaluate(
    conn: Connection, catalog: Catalog, context: str, subject_id: int | None, as_of: date, known_at: datetime
) -> dict[str, Any]:
    facts = None if subject_id is None else subject_facts(conn, catalog, subject_id, as_of, known_at)
    why = "the platform holds no record linked to this identifier by a valid number or a confirmed match"
    return decide(catalog, context, facts, as_of, why).as_dict()


def run_check(
    engine: Engine,
    catalog: Catalog,
    vault: IdentifierVault,
    signing_key: Ed25519PrivateKey,
    *,
    identifier: str,
    context: str,
    purpose: str,
    consumer: str,
    as_of: date | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Decide, sign, store and audit one check; return what the consumer receives."""
    if context not in catalog.contexts:
        raise InvalidInput(f"context '{context}' is not in the catalog; one of: {', '.join(sorted(catalog.contexts))}")
    purpose = purpose.strip()
    if not 3 <= len(purpose) <= PURPOSE_MAX:
        raise InvalidInput(f"purpose: say in 3 to {PURPOSE_MAX} characters what the check is for")
    scheme, digest, masked = _identify(catalog, vault, identifier)
    known_at = now or datetime.now(UTC)
    day = as_of or known_at.date()
    check_id = secrets.token_hex(16)
    with writing(engine) as conn:
        subject_id = _subject_by_hash(conn, scheme, digest, known_at)
        decision = evaluate(conn, catalog, context, subject_id, day, known_at)
        payload = {
            "check_id": check_id,
            "issued_at": known_at.isoformat(),
            "consumer": consumer,
            "context": context,
            "purpose": purpose,
            "subject": {"id": subject_id, "identifier": f"{scheme} {masked}"},
            "data_version": {"catalog": catalog.version, "as_of": day.isoformat(), "known_at": known_at.isoformat()},
            "decision": decision,
        }
        certificate = sign(signing_key, payload)
        conn.execute(
            insert(checks).values(
                id=check_id,
                created_at=known_at,
                consumer=consumer,
                context=context,
                purpose=purpose,
                subject_id=subject_id,
                id_scheme=scheme,
                id_hash=digest,
                id_masked=masked,
                as_of=day,
                known_at=known_at,
                catalog_version=catalog.version,
                outcome=decision["outcome"],
                decision=decision,
                certificate=certificate.decode(),
            )
        )
        audit.append(
            conn,
            actor=consumer,
            action="check",
            target=f"subject:{subject_id}" if subject_id else f"identifier:{scheme} {masked}",
            purpose=purpose,
            at=known_at,
        )
    return payload


def stored_check(engine: Engine, check_id: str) -> Any:
    with engine.connect() as conn:
        row = conn.execute(select(checks).where(checks.c.id == check_id)).first()
    if row is None:
        raise NotFound(f"no check {check_id}")
    return row


def certificate_of(engine: Engine, check_id: str) -> bytes:
    return str(stored_check(engine, check_id).certificate).encode()


def _essence(decision: dict[str, Any]) -> dict[str, Any]:
    """What must be the same on replay: the outcome and each applied measure with its grounds."""
    return {
        "outcome": decision["outcome"],
        "applied": sorted(
            (
                m["measure"],
                sorted(canonical({k: v for k, v in b.items() if k != "disputed"}).decode() for b in m["basis"]),
            )
            for m in decision["applied"]
        ),
    }


def replay(engine: Engine, catalog: Catalog, check_id: str) -> dict[str, Any]:
    """Evaluate a stored check again as of its day, as known at its moment, and compare."""
    row = stored_check(engine, check_id)
    if row.catalog_version != catalog.version:
        return {
            "check_id": check_id,
            "same": None,
            "reason": f"the check used catalog {row.catalog_version[:12]}; "
            f"this platform runs {catalog.short_version}: replay it with that catalog",
        }
    with engine.connect() as conn:
        again = evaluate(conn, catalog, row.context, row.subject_id, row.as_of, row.known_at)
    same = _essence(again) == _essence(row.decision)
    return {
        "check_id": check_id,
        "same": same,
        "as_of": row.as_of.isoformat(),
        "known_at": row.known_at.isoformat(),
        "outcome_then": row.decision["outcome"],
        "outcome_replayed": again["outcome"],
        "differences": [] if same else [_essence(row.decision), _essence(again)],
        "reason": "the same measures apply on the same grounds"
        if same
        else "the replay differs: the store's history as known at that moment changed",
    }
