"""The reads of the key service: whether an API key still stands (a column any read can carry),
and the residents the demo's keys are issued for."""

from __future__ import annotations

from sqlalchemy import Engine, bindparam, exists, select

from xinyong.store.tables import api_keys, list_entries, records, subjects

# True in a read exactly when the key it names (by id and secret hash) stands: issued and not
# revoked. A route that lets a key through from `KeyCache` reads this in the same statement as
# what it serves, so the key is confirmed in the very snapshot the answer comes from.
KEY_STANDS = (
    exists()
    .where(
        api_keys.c.id == bindparam("key_id"),
        api_keys.c.secret_hash == bindparam("key_hash"),
        api_keys.c.revoked_at.is_(None),
    )
    .label("key_stands")
)


def demo_residents(engine: Engine) -> tuple[int | None, int | None]:
    """(a listed person, another who consented to scoring): the subjects of the demo's resident keys."""
    with engine.connect() as conn:
        listed = conn.scalar(
            select(list_entries.c.subject_id)
            .where(list_entries.c.subject_kind == "person")
            .order_by(list_entries.c.id)
            .limit(1)
        )
        consenting = conn.scalar(
            select(records.c.subject_id)
            .join(subjects, subjects.c.id == records.c.subject_id)
            .where(records.c.record_type == "consent.scoring", records.c.subject_id != listed)
            .order_by(records.c.id)
            .limit(1)
        )
    return listed, consenting
