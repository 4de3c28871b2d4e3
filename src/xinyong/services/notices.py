"""The outbox: every notice is stored first, then handed to the delivery channel.

A notice is stored and delivered in Chinese (zh-CN) and in English (`domain.notices.bilingual`).

Delivery is pluggable (`XINYONG_NOTICE_DELIVERY`): the default stores the notice and logs it;
`webhook` signs and posts it to a gateway; any other is a `module:callable` taking the notice row
as a mapping. `services.delivery` retries, backs off and sets aside what never arrives. A notice is written once per
recipient and event (`event_ref`), so a decision or a maintenance run that is repeated never
sends the same notice twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select

from xinyong.domain.clock import CLOCK
from xinyong.domain.notices import Notice, bilingual
from xinyong.services.channels import Delivery, delivery_from, log_delivery
from xinyong.store.tables import notices


def put(
    conn: Connection,
    *,
    subject_id: int | None,
    notice: Notice,
    event_ref: str,
    recipient: str = "subject",
) -> bool:
    """Store a notice in the outbox unless this recipient already has one for this event; it is
    stamped with the clock's time, whatever moment the decision that owes it was evaluated at."""
    exists = conn.scalar(
        select(notices.c.id).where(and_(notices.c.recipient == recipient, notices.c.event_ref == event_ref))
    )
    if exists is not None:
        return False
    title, body = bilingual(notice)
    conn.execute(
        insert(notices).values(
            subject_id=subject_id,
            recipient=recipient,
            kind=notice.kind.value,
            event_ref=event_ref,
            created_at=CLOCK.now(),
            title=title[:200],
            body=body[:4000],
            respond_by=notice.respond_by,
        )
    )
    return True


def deliver_pending(engine: Engine, delivery_name: str = "log") -> int:
    """Hand every notice due to the channel once; how many it took. Retries, backoff and the
    dead letter are `services.delivery`'s (a failed notice waits its turn; nothing is raised)."""
    from xinyong.services.delivery import CallableChannel, deliver_due  # ops: delivery with retries

    return deliver_due(engine, CallableChannel(delivery_name)).delivered


def outbox(engine: Engine, subject_id: int) -> list[dict[str, Any]]:
    """The notices addressed to the subject (not those sent to departments about their file)."""
    with engine.connect() as conn:
        q = (
            select(notices)
            .where(notices.c.subject_id == subject_id, notices.c.recipient == "subject")
            .order_by(notices.c.id)
        )
        return [dict(r._mapping) for r in conn.execute(q)]


# The channels are named here too, where the outbox is: see services.channels.
__all__ = ["Delivery", "deliver_pending", "delivery_from", "log_delivery", "outbox", "put"]
