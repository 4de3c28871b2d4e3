"""Claims of scheduled jobs, so that two processes never run the same job together, and a
job's run for one slot (a day's 02:00, a minute of deliveries) is made once, wherever it runs.

One row per job (`scheduled_jobs`): the slot last claimed, its holder, until when the claim
holds (the holder renews it while the job runs), and how the run ended. A claim is read FOR
UPDATE in a write transaction (SQLite admits one writer; PostgreSQL locks the row), so two
claimers of one slot cannot both win; two first claims of a new job meet on its primary key.
A holder that died leaves its claim to expire, and the slot is run again by whoever comes next.
A failed run is tried again after `RETRY_AFTER`, at most `MAX_TRIES` times per slot.

Claims run on the platform's clock alone (`CLOCK.now()`): when a claim starts, until when it
holds, when the run finished, and whether another holder's claim has run out. No caller gives a
moment, so none steals a running claim by saying its lease is over, and a slot ahead of the
clock cannot be claimed (it would hold back every slot before it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import InvalidInput
from xinyong.store.ops_tables import scheduled_jobs
from xinyong.store.unit_of_work import ops_writing

RUNNING, OK, FAILED = "running", "ok", "failed"
MAX_TRIES = 3
RETRY_AFTER = timedelta(minutes=10)


def _tries(row: Any, slot: datetime, now: datetime) -> int | None:
    """The try this claim would be for `slot`, or None if it may not be made now."""
    if row is None:
        return 1
    busy = row.outcome == RUNNING and row.lease_until > now
    if row.slot > slot or busy:
        return None  # a later slot was run (this clock is behind), or the job runs now
    if row.slot < slot:
        return 1
    if row.outcome == OK:
        return None
    if row.outcome == FAILED and (row.tries >= MAX_TRIES or row.finished_at + RETRY_AFTER > now):
        return None
    return int(row.tries) + 1  # failed and due again, or its holder died


def claim(engine: Engine, name: str, slot: datetime, *, holder: str, lease: timedelta) -> bool:
    """Whether `holder` may run job `name` for `slot` now; if so, the claim is stored.

    Raises:
        InvalidInput: `slot` lies ahead of the clock."""
    j = scheduled_jobs
    now = CLOCK.now()
    if slot > now:
        raise InvalidInput(
            f"the slot {slot.isoformat()} of job {name} is ahead of the clock ({now.isoformat(timespec='seconds')}): "
            "a job is claimed only for a slot that has passed"
        )
    values = {
        "slot": slot,
        "holder": holder,
        "lease_until": now + lease,
        "started_at": now,
        "finished_at": None,
        "outcome": RUNNING,
        "detail": None,
    }
    try:
        with ops_writing(engine) as conn:
            row = conn.execute(select(j).where(j.c.name == name).with_for_update()).first()
            tries = _tries(row, slot, now)
            if tries is None:
                return False
            if row is None:
                conn.execute(insert(j).values(name=name, tries=tries, **values))
            else:
                conn.execute(update(j).where(j.c.name == name).values(tries=tries, **values))
    except IntegrityError:  # another process made the job's first claim at the same moment
        return False
    return True


def renew(engine: Engine, name: str, *, holder: str, lease: timedelta) -> bool:
    """Extend a running claim to `lease` from now; False if it is no longer this holder's."""
    j = scheduled_jobs
    until = CLOCK.now() + lease
    with ops_writing(engine) as conn:
        done = conn.execute(
            update(j).where(j.c.name == name, j.c.holder == holder, j.c.outcome == RUNNING).values(lease_until=until)
        )
        return bool(done.rowcount)


def finish(engine: Engine, name: str, *, holder: str, outcome: str, detail: str | None) -> None:
    """Store how the holder's run ended (`ok` or `failed`, and a short detail), now."""
    j = scheduled_jobs
    now = CLOCK.now()
    with ops_writing(engine) as conn:
        conn.execute(
            update(j)
            .where(j.c.name == name, j.c.holder == holder)
            .values(outcome=outcome, finished_at=now, lease_until=now, detail=(detail or "")[:500] or None)
        )


def job_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every job's row: its last slot, holder, outcome and times."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(scheduled_jobs).order_by(scheduled_jobs.c.name))]
