"""Checks: a consuming department asks which measures apply to a subject in a context, and why.

A check is evaluated "as of a day, as known at a moment" from the store: the subject found by its
identifier's keyed hash, its records and list entries as known then, its grade computed online
from the same records. The decision, its data version and a signed certificate are stored under
a random id, an audit event records who asked and for what purpose, and `replay` evaluates the
check again as known at its moment to confirm the same outcome.

A check is decided by one read (`decide_check`) and stored, with its audit event, in a short
write transaction (`store_checks`), which the service shares among the checks that arrive
together (group commit), so checks never wait on each other's reads. The read is one statement
(`store.checks_repo`): the subject and, aggregated as JSON, its records, open objections and list
entries, so it sees one snapshot on either store and costs one round trip to PostgreSQL (four
statements in a transaction were six, and three times the time). The moment the check is
"known at" is taken as it starts. Known limit: a writer still in flight at that moment whose
rows are stamped earlier (an ingestion batch stamps its records when it starts, before it takes
the write lock) commits rows the check did not see but a replay will; replay then says that the
store's history as known at that moment changed, which is the truth, but not the promise of
principle 7. Closing the gap needs writers that stamp under the write lock and checks that
confirm their snapshot under it.

The statements, built once per dialect at import, and the writes on the driver's connection live
in `store/checks_repo.py`; this module decides, signs and replays.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import groupby
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine

from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import canonical, signed
from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import InvalidInput, NotFound, Unauthorized
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.lists import LINKS_THAT_MAY_LIST, Transition, fold, ground_from, standing_on
from xinyong.domain.measures import EntryFact, LinkedRecord, SubjectFacts, decide
from xinyong.domain.scoring import RecordFact, score_subject
from xinyong.services import audit
from xinyong.services.check_purposes import purpose_of
from xinyong.services.keys import Principal
from xinyong.services.lists import transition
from xinyong.services.objection_views import Disputes, disputes_from
from xinyong.store import checks_repo as repo
from xinyong.store.checks_repo import ENTRY_AT, SEQ_AT
from xinyong.store.unit_of_work import AuditEvent, UnitOfWork

PURPOSE_MAX = 200


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _moment(text: str) -> datetime:
    """A timestamp as JSON gives it: PostgreSQL's with its offset, SQLite's without (stored in UTC)."""
    at = datetime.fromisoformat(text)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _facts(catalog: Catalog, row: Any, as_of: date, known_at: datetime) -> SubjectFacts:
    """What the decision rests on, from a row of `_file_statement`."""
    disputes = disputes_from(row.objections or ())
    linked = []
    learned: dict[tuple[str, str], date] = {}
    for rid, rtype, decided, start, until, attributes, status, source, ref, link_method, at, doc, review in (
        row.records or ()
    ):
        fact = RecordFact(
            rid,
            rtype,
            date.fromisoformat(decided),
            date.fromisoformat(start),
            _day(until),
            attributes,
            status,
            source,
            ref,
        )
        learned[(source, ref)] = _moment(at).date()
        disputed = disputes.record_disputed(source, ref)
        suspended = disputes.suspended(f"record:{source}/{ref}", as_of)
        linked.append(LinkedRecord(fact, link_method, disputed, suspended, doc, linked_by=review))
    entries = [e for e in _entries(catalog, row, disputes, linked, learned, as_of, known_at) if e is not None]
    score = score_subject(catalog, row.kind, [r.fact for r in linked], as_of)
    grade = score.grade if score.status == "scored" else None
    return SubjectFacts(int(row.subject_id), row.kind, entries, linked, grade, score.ruleset_id)


def _entries(
    catalog: Catalog,
    row: Any,
    disputes: Disputes,
    linked: list[LinkedRecord],
    learned: dict[tuple[str, str], date],
    as_of: date,
    known_at: datetime,
) -> Iterator[EntryFact | None]:
    """Each entry of the subject that was ever published, as it stands on `as_of` (`standing_on`):
    in force, or ended with how it ended; with its ground's decision document and any suspension."""
    grounds = {(r.fact.source_id, r.fact.source_ref): r for r in linked}
    steps = sorted(row.entries or (), key=lambda r: (r[ENTRY_AT], r[SEQ_AT]))
    for (entry_id, list_id, source_id, source_ref, record_id), group in groupby(
        steps, key=lambda r: tuple(r[ENTRY_AT:])
    ):
        view = fold([_transition(r) for r in group], known_at)
        listing = catalog.lists.get(list_id)
        if view is None or view.listed_on is None or listing is None:
            yield None
            continue
        r = grounds.get((source_id, source_ref))
        ground = None
        if r is not None:
            ok = r.link_method in LINKS_THAT_MAY_LIST
            on = learned[(source_id, source_ref)]
            ground = ground_from(catalog, listing, r.fact, linked=ok, learned_on=on, document_no=r.document_no)
        standing = standing_on(view, int(record_id), ground, as_of)
        disputed = entry_id in disputes.entries or disputes.record_disputed(source_id, source_ref)
        suspended = None
        if standing.in_force:
            suspended = disputes.suspended(f"entry:{entry_id}", as_of) or disputes.suspended(
                f"record:{source_id}/{source_ref}", as_of
            )
        yield EntryFact(
            entry_id,
            list_id,
            view.listed_on,
            view.ends_on,
            source_id,
            source_ref,
            disputed,
            standing.in_force,
            standing.note,
            suspended,
            ground.document_no if ground else None,
        )


def _transition(r: Sequence[Any]) -> Transition:
    seq, action, from_state, to_state, actor, at, reason, listed_on, ends_on, ref = r[:ENTRY_AT]
    return transition(
        (seq, action, from_state, to_state, actor, _moment(at), reason, _day(listed_on), _day(ends_on), ref)
    )


def _identify(catalog: Catalog, vault: IdentifierVault, raw: str) -> tuple[str, str, str]:
    """(scheme, keyed hash, mask) of a checksum-valid identifier, under the first scheme that
    accepts it; refuse anything else."""
    problems = []
    for scheme in catalog.identifier_schemes:
        checked = scheme.check(raw)
        if checked.valid:
            return scheme.id, vault.digest(scheme.id, checked.compact), scheme.mask(checked.compact)
        problems.append(str(checked.problem))
    raise InvalidInput(f"subject identifier is not valid in any scheme ({'; '.join(problems)})")


def subject_facts(
    conn: Connection, catalog: Catalog, subject_id: int, as_of: date, known_at: datetime, asked_at: datetime
) -> SubjectFacts:
    """What the decision rests on, as known at `known_at` and in force on `as_of`, with the
    objections open when the check was asked (`asked_at`)."""
    row = repo.file_by_id(conn, subject_id, known_at, asked_at)
    if row is None:
        raise NotFound(f"no subject {subject_id}")
    return _facts(catalog, row, as_of, known_at)


_UNKNOWN = "the platform holds no record linked to this identifier by a valid number or a confirmed match"


def evaluate(
    conn: Connection,
    catalog: Catalog,
    context: str,
    subject_id: int | None,
    as_of: date,
    known_at: datetime,
    asked_at: datetime,
) -> dict[str, Any]:
    facts = None if subject_id is None else subject_facts(conn, catalog, subject_id, as_of, known_at, asked_at)
    return decide(catalog, context, facts, as_of, _UNKNOWN).as_dict()


@dataclass(frozen=True)
class Decided:
    """A check decided and signed, not yet stored: what the consumer receives, its row, its event."""

    payload: dict[str, Any]
    row: dict[str, Any]
    event: audit.Event
    payload_json: bytes  # the payload's canonical JSON, as signed in the certificate


def decide_check(
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
    key: Principal | None = None,
    reference: str | None = None,
) -> Decided:
    """Decide and sign one check; it reads only (see `store_checks`).

    `key`: the asking key, confirmed in the check's own read; one that no longer stands (it was
    revoked) gets `Unauthorized` and nothing is decided.
    """
    if context not in catalog.contexts:
        raise InvalidInput(f"context '{context}' is not in the catalog; one of: {', '.join(sorted(catalog.contexts))}")
    purpose, reference = purpose_of(catalog, context, purpose, reference)
    scheme, digest, masked = _identify(catalog, vault, identifier)
    check_id = secrets.token_hex(16)
    issued = CLOCK.now()  # the certificate's time: the clock's, never a caller's moment
    now = CLOCK.as_of(now, "now")  # the moment the check is evaluated at: known at, and in force on its day
    day = as_of or now.date()
    params = {
        "scheme": scheme,
        "digest": digest,
        "known_at": now,
        "key_id": key.key_id if key else None,
        "key_hash": key.secret_hash if key else None,
    }
    found = repo.file_by_hash(engine, params)
    if key is not None and not found.key_stands:
        raise Unauthorized("the API key is unknown, revoked or malformed")
    known_at = found.known_at
    facts = None if found.subject_id is None else _facts(catalog, found, day, known_at)
    subject_id = None if facts is None else facts.subject_id
    decision = decide(catalog, context, facts, day, _UNKNOWN).as_dict()
    payload = {
        "check_id": check_id,
        "issued_at": issued.isoformat(),
        "consumer": consumer,
        "context": context,
        "purpose": purpose,
        "reference": reference,
        "subject": {"id": subject_id, "identifier": f"{scheme} {masked}"},
        "data_version": {
            "catalog": catalog.version,
            "as_of": day.isoformat(),
            "known_at": known_at.isoformat(),
            "evaluated_at": now.isoformat(),
        },
        "decision": decision,
        "audit": {"seq": found.audit_seq or 0, "head": found.audit_head or audit.GENESIS},
    }
    certificate, body = signed(signing_key, payload)
    row = {
        "id": check_id,
        "created_at": issued,
        "consumer": consumer,
        "context": context,
        "purpose": purpose,
        "subject_id": subject_id,
        "id_scheme": scheme,
        "id_hash": digest,
        "id_masked": masked,
        "as_of": day,
        "known_at": known_at,
        "catalog_version": catalog.version,
        "outcome": decision["outcome"],
        "decision": decision,
        "certificate": certificate.decode(),
    }
    target = f"subject:{subject_id}" if subject_id else f"identifier:{scheme} {masked}"
    noted = purpose if reference is None else f"{purpose}: {reference}"
    return Decided(payload, row, audit.Event(consumer, "check", target, noted, issued), body)


def store_checks(engine: Engine, decided: Sequence[Decided]) -> None:
    """Store decided checks and their audit events, in their order, in one write transaction."""
    if engine.dialect.name == "postgresql":
        events = [d.event for d in decided]
        repo.insert_on_postgresql(
            engine, [d.row for d in decided], lambda head, at: audit.chained(head or audit.GENESIS, events, at)[0]
        )
        return
    with UnitOfWork.writing(engine, dated=False) as uow:
        repo.insert_checks(uow.conn, [d.row for d in decided])
        for d in decided:
            uow.audit(AuditEvent(*d.event))


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
    reference: str | None = None,
) -> dict[str, Any]:
    """Decide, sign, store and audit one check; return what the consumer receives."""
    decided = decide_check(
        engine,
        catalog,
        vault,
        signing_key,
        identifier=identifier,
        context=context,
        purpose=purpose,
        consumer=consumer,
        as_of=as_of,
        now=now,
        reference=reference,
    )
    store_checks(engine, [decided])
    return decided.payload


def stored_check(engine: Engine, check_id: str) -> Any:
    row = repo.check_row(engine, check_id)
    if row is None:
        raise NotFound(f"no check {check_id}")
    return row


def certificate_of(engine: Engine, check_id: str) -> bytes:
    return str(stored_check(engine, check_id).certificate).encode()


# What a ground shows beside its identity (flags and the chain back to the decision): a check stored
# before a field was added must replay the same.
_SHOWN = frozenset({"disputed", "suspended", "document_no", "list_legal_basis", "record_legal_basis"})


def _essence(decision: dict[str, Any]) -> dict[str, Any]:
    """What must be the same on replay: the outcome and each applied measure with its grounds."""
    return {
        "outcome": decision["outcome"],
        "applied": sorted(
            (
                m["measure"],
                sorted(canonical({k: v for k, v in b.items() if k not in _SHOWN}).decode() for b in m["basis"]),
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
        again = evaluate(conn, catalog, row.context, row.subject_id, row.as_of, row.known_at, row.created_at)
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
