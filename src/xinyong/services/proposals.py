"""Proposals for listing: made in bulk from records that meet a list's criteria.

The first maintenance run over a store proposes every qualifying record at once, so entries,
their first transitions, their state rows and (for lists that need no reviewer) the notices are
written with one executemany per table, with ids reserved first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import ListDefinition
from xinyong.domain.lists import Action, State
from xinyong.domain.notices import Notice, NoticeKind, basis_text, bilingual, record_text
from xinyong.store import clock
from xinyong.store.bulk import allocate_ids
from xinyong.store.tables import list_entries, list_entry_state, list_transitions, notices, sources


def proposal_notice(
    listing: ListDefinition,
    entry_id: int,
    actor: str,
    reason: str,
    g_text: str,
    source_name: str,
    notified_at: datetime,
) -> Notice:
    """The notice that opens the objection window (FCRA s.615: who decided, on what, what you can do)."""
    respond_by = notified_at.date() + timedelta(days=listing.notice_days)
    who = "the platform (this list needs no reviewer)" if actor.startswith("system:") else f"reviewer {actor[9:]}"
    return Notice(
        NoticeKind.LISTING_PROPOSED,
        f"Proposed entry on the {listing.name}",
        f"{who} decided to enter you on the {listing.name} (entry {entry_id}); the entry will be published "
        f"on {respond_by.isoformat()} unless you object before then.",
        f"{g_text}; legal basis: {basis_text(listing.legal_basis)}. Reason: {reason}",
        "object to the entry or to the record, free of charge; an objection holds publication until it "
        f"is decided. You may ask {source_name} for a free copy of its decision.",
        respond_by,
    )


def _entry_row(entry_id: int, listing: ListDefinition, r: Any, now: datetime) -> dict[str, Any]:
    """The row of a new entry on `listing` for record `r`."""
    return {
        "id": entry_id,
        "list_id": listing.id,
        "subject_id": r.subject_id,
        "subject_kind": r.subject_kind,
        "source_id": r.source_id,
        "source_ref": r.source_ref,
        "record_id": r.id,
        "record_type": r.record_type,
        "created_at": now,
    }


def _letter(subject_id: int, event_ref: str, n: Notice, now: datetime) -> dict[str, Any]:
    """The outbox row of a notice to a subject, written in bulk with the entries it concerns."""
    title, body = bilingual(n)
    return {
        "subject_id": subject_id,
        "recipient": "subject",
        "kind": n.kind.value,
        "event_ref": event_ref,
        "created_at": now,
        "title": title[:200],
        "body": body[:4000],
        "respond_by": n.respond_by,
    }


def create_entries(conn: Connection, catalog: Catalog, listing: ListDefinition, found: Sequence[Any]) -> int:
    """Propose entries for records that meet the list's criteria and have none on it yet.

    Written in bulk (ids reserved first, then one executemany per table), because the first run
    over a store proposes every qualifying record at once. A list that needs no reviewer has its
    proposals approved by the system in the same step, and the subjects notified.
    """
    if not found:
        return 0
    source_names = dict(conn.execute(select(sources.c.id, sources.c.name)).all())
    ids = allocate_ids(conn, list_entries, len(found))
    auto = not listing.reviewer_required
    basis = basis_text(listing.legal_basis)
    known = clock.advance(conn)  # when the platform knows the proposals: see store.clock
    notice_ends = known.date() + timedelta(days=listing.notice_days) if auto else None  # never backdated
    approve_reason = f"{listing.name} needs no reviewer: entries are notified when proposed"
    entry_rows, steps, states, letters = [], [], [], []
    for entry_id, r in zip(ids, found, strict=True):
        rt = catalog.record_types[r.record_type]
        g_text = record_text(rt.name, source_names.get(r.source_id, r.source_id), r.document_no, r.decided_on)
        entry_rows.append(_entry_row(entry_id, listing, r, known))
        step = {
            "entry_id": entry_id,
            "at": known,
            "actor": "system:maintain",
            "legal_basis": basis,
            "listed_on": None,
            "ends_on": None,
            "ref": f"record:{r.source_id}/{r.source_ref}",
        }
        steps.append(
            {
                **step,
                "seq": 1,
                "action": Action.PROPOSE.value,
                "from_state": None,
                "to_state": State.PROPOSED.value,
                "reason": f"{g_text} meets the criteria of {listing.name}",
            }
        )
        state = {
            "entry_id": entry_id,
            "list_id": listing.id,
            "subject_id": r.subject_id,
            "listed_on": None,
            "ends_on": None,
        }
        if auto:
            steps.append(
                {
                    **step,
                    "seq": 2,
                    "action": Action.APPROVE.value,
                    "from_state": State.PROPOSED.value,
                    "to_state": State.NOTIFIED.value,
                    "reason": approve_reason,
                }
            )
            states.append(
                {**state, "state": State.NOTIFIED.value, "seq": 2, "notified_at": known, "notice_ends_on": notice_ends}
            )
            source_name = source_names.get(r.source_id, r.source_id)
            n = proposal_notice(listing, entry_id, "system:maintain", approve_reason, g_text, source_name, known)
            letters.append(_letter(int(r.subject_id), f"entry:{entry_id}:2", n, known))
        else:
            states.append(
                {**state, "state": State.PROPOSED.value, "seq": 1, "notified_at": None, "notice_ends_on": None}
            )
    conn.execute(insert(list_entries), entry_rows)
    conn.execute(insert(list_transitions), steps)
    conn.execute(insert(list_entry_state), states)
    if letters:
        conn.execute(insert(notices), letters)
    return len(found)
