"""The outbox: every notice is stored first, then handed to the delivery channel.

A notice is stored and delivered in Chinese (zh-CN) and in English (`domain.notices.bilingual`).

Delivery is pluggable (`XINYONG_NOTICE_DELIVERY`): the default stores the notice and logs it;
`webhook` signs and posts it to a gateway; any other is a `module:callable` taking the notice row
as a mapping. `services.delivery` retries, backs off and sets aside what never arrives. A notice is written once per
recipient and event (`event_ref`), so a decision or a maintenance run that is repeated never
sends the same notice twice.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select

from xinyong.domain.errors import ConfigurationError
from xinyong.domain.notices import Notice, bilingual
from xinyong.store.tables import notices

log = logging.getLogger("xinyong.notices")

Delivery = Callable[[Mapping[str, Any]], None]


def log_delivery(notice: Mapping[str, Any]) -> None:
    """The default channel: the notice is already stored in the outbox; say so in the log."""
    log.info(
        "notice %s to %s (subject %s): %s", notice["id"], notice["recipient"], notice["subject_id"], notice["title"]
    )


def delivery_from(name: str) -> tuple[str, Delivery]:
    if name == "log":
        return "log", log_delivery
    module, _, attr = name.partition(":")
    if not attr:
        raise ConfigurationError(f"notice delivery '{name}': give 'log' or 'module:callable'")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"notice delivery '{name}' cannot be loaded: {exc}") from None
    return name, fn


def put(
    conn: Connection,
    *,
    subject_id: int | None,
    notice: Notice,
    event_ref: str,
    now: datetime,
    recipient: str = "subject",
) -> bool:
    """Store a notice in the outbox unless this recipient already has one for this event."""
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
            created_at=now,
            title=title[:200],
            body=body[:4000],
            respond_by=notice.respond_by,
        )
    )
    return True


def deliver_pending(engine: Engine, delivery_name: str = "log", now: datetime | None = None) -> int:
    """Hand every notice due to the channel once; how many it took. Retries, backoff and the
    dead letter are `services.delivery`'s (a failed notice waits its turn; nothing is raised)."""
    from xinyong.services.delivery import CallableChannel, deliver_due  # ops: delivery with retries

    return deliver_due(engine, CallableChannel(delivery_name), now=now).delivered


def outbox(engine: Engine, subject_id: int) -> list[dict[str, Any]]:
    """The notices addressed to the subject (not those sent to departments about their file)."""
    with engine.connect() as conn:
        q = (
            select(notices)
            .where(notices.c.subject_id == subject_id, notices.c.recipient == "subject")
            .order_by(notices.c.id)
        )
        return [dict(r._mapping) for r in conn.execute(q)]
