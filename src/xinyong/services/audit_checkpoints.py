"""Anchors of the audit chain: signed checkpoints of its head, kept in the store and outside it.

The chain alone proves only that its events link up: whoever can write the table can delete its
tail, append an event with a correctly computed hash, or rewrite it and compute every hash again.
So the platform signs (Ed25519, its certificate key) the chain's head, the last event's sequence
number and hash, at least daily, at every `maintain` and on demand, and keeps each checkpoint;
each check's certificate carries the head it was written at; and `audit checkpoint --export FILE`
hands a signed head to keep outside the store. `verify_anchored` holds the chain to all of them:

- an anchor's event is missing: the tail was deleted (or the chain cut before it);
- an anchor's event has another hash: the chain up to it was rewritten and re-chained;
- an event after an anchor is dated before the anchor was signed: it was appended later and
  backdated (audit times come from the real clock and never run backwards).

What a store-wide rewrite can still hide is said in docs/operations.md: events after the last
anchor held outside the store, by whoever holds the signing key.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Engine, insert, select

from xinyong.domain.certificates import CertificateInvalid, key_id, signed, verify
from xinyong.domain.clock import CLOCK
from xinyong.services import audit
from xinyong.store.audit_sql import AUDIT_LOCK
from xinyong.store.checkpoint_tables import audit_checkpoints
from xinyong.store.engine import advisory_key
from xinyong.store.tables import audit_events
from xinyong.store.unit_of_work import UnitOfWork

KIND = "audit_checkpoint"
REASONS = ("daily", "maintain", "export", "manual")


@dataclass(frozen=True)
class Anchor:
    """A head the chain must still have: event `seq` with hash `head`, as known at `at`."""

    seq: int
    head: str
    at: datetime | None
    where: str  # how a problem names it: "checkpoint 3", "anchor FILE", "certificate of check ID"


def _head(conn: Connection) -> tuple[int, str]:
    """(sequence, hash) of the chain's last event, (0, GENESIS) for an empty chain."""
    row = conn.execute(select(audit_events.c.id, audit_events.c.hash).order_by(audit_events.c.id.desc()).limit(1))
    last = row.first()
    return (0, audit.GENESIS) if last is None else (int(last.id), str(last.hash))


def checkpoint(engine: Engine, key: Ed25519PrivateKey, *, reason: str, now: datetime | None = None) -> dict[str, Any]:
    """Sign and keep the chain's head; return the checkpoint as signed (`document`, bytes).
    `now` may not lie ahead of the clock; the checkpoint is stamped with the clock."""
    CLOCK.as_of(now, "now")
    if reason not in REASONS:
        raise ValueError(f"checkpoint reason '{reason}': one of {', '.join(REASONS)}")
    with UnitOfWork.writing(engine, dated=False) as uow:
        conn = uow.conn
        if conn.dialect.name == "postgresql":  # the audit lock: no event is appended while the head is read
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({advisory_key(AUDIT_LOCK)})")
        seq, head = _head(conn)
        at = CLOCK.now()  # never a caller's moment: a checkpoint says when the head was signed
        payload = {"kind": KIND, "seq": seq, "head": head, "at": at.isoformat(), "reason": reason}
        document, _ = signed(key, payload)
        conn.execute(
            insert(audit_checkpoints).values(at=at, seq=seq, head=head, reason=reason, signed=document.decode())
        )
    return {**payload, "document": document}


def anchor_from(data: bytes, public: Ed25519PublicKey, where: str) -> Anchor:
    """The anchor of a signed checkpoint or a check's certificate, its signature verified.

    Raises:
        CertificateInvalid: not signed by this platform, altered, or carrying no head."""
    payload = verify(data, {key_id(public): public}).payload
    if payload.get("kind") == KIND:
        return Anchor(int(payload["seq"]), str(payload["head"]), datetime.fromisoformat(payload["at"]), where)
    written = payload.get("audit")
    if not isinstance(written, dict) or "seq" not in written or "head" not in written:
        raise CertificateInvalid(f"{where}: it carries no audit head (a certificate issued before heads were kept)")
    return Anchor(int(written["seq"]), str(written["head"]), None, where)


def stored_anchors(engine: Engine, public: Ed25519PublicKey | None) -> tuple[list[Anchor], list[str]]:
    """The store's checkpoints as anchors, and a problem for each whose signature fails (without
    the public key, where the signing key is not at hand, each is held as its row says)."""
    anchors, problems = [], []
    with engine.connect() as conn:
        for row in conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.id)):
            where = f"checkpoint {row.id} of {row.at.isoformat()}"
            if public is None:
                anchors.append(Anchor(int(row.seq), str(row.head), row.at, where))
                continue
            try:
                anchor = anchor_from(str(row.signed).encode(), public, where)
            except CertificateInvalid as exc:
                problems.append(f"{where}: {exc}")
                continue
            if (anchor.seq, anchor.head) != (row.seq, row.head):
                problems.append(f"{where}: its row says event {row.seq}, but it signed event {anchor.seq}")
            anchors.append(anchor)
    return anchors, problems


class _Chain:
    """The chain's events by sequence, and for each position the earliest time from there on."""

    def __init__(self, rows: Sequence[Any]) -> None:
        self.events = {int(r.id): (str(r.hash), r.at) for r in rows}
        self.seqs = sorted(self.events)
        self.earliest: list[datetime] = []
        for seq in reversed(self.seqs):
            at = self.events[seq][1]
            self.earliest.append(at if not self.earliest or at < self.earliest[-1] else self.earliest[-1])
        self.earliest.reverse()

    def backdated_after(self, anchor: Anchor) -> list[int]:
        """Events after the anchor's head dated before the anchor was signed (at most ten)."""
        if anchor.at is None:
            return []
        start = bisect_right(self.seqs, anchor.seq)
        if start >= len(self.seqs) or self.earliest[start] >= anchor.at:
            return []
        return [s for s in self.seqs[start:] if self.events[s][1] < anchor.at][:10]

    def problems(self, anchor: Anchor) -> list[str]:
        """What is wrong with the chain against one anchor."""
        if anchor.seq == 0:
            return []
        found = self.events.get(anchor.seq)
        if found is None:
            cut = "the chain ends before it" if anchor.seq > max(self.seqs, default=0) else "it is missing"
            return [f"{anchor.where}: the head it holds, event {anchor.seq}, is gone ({cut}: events were deleted)"]
        if found[0] != anchor.head:
            return [
                f"{anchor.where}: event {anchor.seq} has hash {found[0][:12]}, but it held {anchor.head[:12]} "
                "(the chain up to it was rewritten and re-chained)"
            ]
        return [
            f"{anchor.where}: event {seq} comes after the head it holds but is dated before it was signed "
            "(it was appended later and backdated)"
            for seq in self.backdated_after(anchor)
        ]


def verify_anchored(engine: Engine, public: Ed25519PublicKey | None, held: Sequence[Anchor] = ()) -> audit.ChainReport:
    """The chain's own links, then the chain against every stored checkpoint and every anchor held."""
    report = audit.verify(engine)
    anchors, problems = stored_anchors(engine, public)
    with engine.connect() as conn:
        chain = _Chain(conn.execute(select(audit_events.c.id, audit_events.c.hash, audit_events.c.at)).all())
    for anchor in [*anchors, *held]:
        problems += chain.problems(anchor)
    return audit.ChainReport(report.events, report.problems + problems)


def export(engine: Engine, key: Ed25519PrivateKey, now: datetime | None = None) -> bytes:
    """A checkpoint signed now, to keep outside the store (`audit verify --anchor FILE`)."""
    document: bytes = checkpoint(engine, key, reason="export", now=now)["document"]
    return document


def summary(checkpointed: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in checkpointed.items() if k != "document"}, ensure_ascii=False)
