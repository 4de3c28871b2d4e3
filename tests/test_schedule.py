"""Scheduled work: slots, one run per slot whoever claims it, a dead holder's slot run again,
a failed run tried again, and `xinyong serve --schedule` making up the day's maintenance once
when two servers start together.

The scheduler runs on the platform's clock, which a test holds at moments of the past
(`at_tick`); the process test waits for events only.
"""

from __future__ import annotations

import threading
import time as clock
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from process_story import T0, hold
from servers import Serving, env_for
from xinyong.domain.errors import ConfigurationError
from xinyong.services.context import AppContext
from xinyong.services.schedule import Job, Scheduler, jobs
from xinyong.settings import Settings
from xinyong.store import job_leases
from xinyong.store.tables import audit_events, maintenance_runs

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_daily_slot_is_the_last_time_of_day_passed_in_its_zone_and_an_interval_is_aligned() -> None:
    daily = Job("d", lambda *_: {}, at=time(2, 0), tz=SHANGHAI)
    # 02:00 in Shanghai is 18:00 UTC of the day before.
    assert daily.slot(datetime(2027, 3, 1, 17, 59, tzinfo=UTC)) == datetime(2027, 2, 28, 18, 0, tzinfo=UTC)
    assert daily.slot(datetime(2027, 3, 1, 18, 0, tzinfo=UTC)) == datetime(2027, 3, 1, 18, 0, tzinfo=UTC)
    assert daily.next_slot(datetime(2027, 3, 1, 18, 0, tzinfo=UTC)) == datetime(2027, 3, 2, 18, 0, tzinfo=UTC)
    every = Job("e", lambda *_: {}, every=timedelta(seconds=60))
    assert every.slot(datetime(2027, 3, 1, 9, 0, 59, tzinfo=UTC)) == datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    assert every.next_slot(datetime(2027, 3, 1, 9, 0, 59, tzinfo=UTC)) == datetime(2027, 3, 1, 9, 1, tzinfo=UTC)


def test_a_schedule_in_an_unknown_zone_or_at_no_time_of_day_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="XINYONG_SCHEDULE_TIMEZONE: 'Mars/Olympus' is not a time zone"):
        jobs(AppContext(Settings(data_dir=tmp_path, schedule_timezone="Mars/Olympus")))
    for bad in ("24:00", "2:00", "02:60", "noon", ""):
        with pytest.raises(ValueError, match="schedule_maintain_at"):
            Settings(data_dir=tmp_path, schedule_maintain_at=bad)


def at_tick(scheduler: Scheduler, moment: datetime) -> dict[str, str]:
    """One tick with the platform's clock held at `moment` (of the past): the scheduler knows no other time."""
    hold(moment)
    return scheduler.tick()


class Counting:
    """A job body that counts its runs, can be made to fail, and can be held running."""

    def __init__(self) -> None:
        self.runs: list[datetime] = []
        self.fail = False
        self.hold = threading.Event()
        self.hold.set()
        self.lock = threading.Lock()

    def __call__(self, _ctx: AppContext, now: datetime) -> dict[str, Any]:
        self.hold.wait()
        with self.lock:
            self.runs.append(now)
        if self.fail:
            raise RuntimeError("the store said no")
        return {"done": 1}


@pytest.fixture
def contexts(db_url: str, tmp_path: Path) -> Iterator[Callable[[], AppContext]]:
    """Contexts of schedulers over the test store, as many as asked for, closed at the end."""
    made: list[AppContext] = []

    def make() -> AppContext:
        made.append(AppContext(Settings(database_url=db_url, data_dir=tmp_path)))
        return made[-1]

    yield make
    for ctx in made:
        ctx.engine.dispose()


def test_two_schedulers_at_one_slot_run_the_job_once(contexts: Callable[[], AppContext]) -> None:
    body = Counting()
    job = Job("count", body, at=time(2, 0), tz=UTC)
    schedulers = [Scheduler(contexts(), [job]) for _ in range(4)]
    now = T0.replace(hour=2, minute=1)
    barrier = threading.Barrier(len(schedulers))
    results: list[dict[str, str]] = []
    hold(now)

    def tick(s: Scheduler) -> None:
        barrier.wait()
        results.append(s.tick())

    threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(body.runs) == 1 and sorted(map(len, results)) == [0, 0, 0, 1]
    assert at_tick(schedulers[0], now + timedelta(hours=20)) == {}, "the day's slot is done"
    assert at_tick(schedulers[1], now + timedelta(days=1)) == {"count": "ok"}, "the next day's is not"
    assert len(body.runs) == 2


def test_a_slot_whose_holder_died_is_run_again_and_a_failed_one_is_retried_a_few_times(
    contexts: Callable[[], AppContext],
) -> None:
    body = Counting()
    job = Job("count", body, every=timedelta(hours=1))
    first, second = (Scheduler(contexts(), [job], lease=timedelta(minutes=5)) for _ in range(2))
    now = T0.replace(minute=10)
    engine = first.ctx.engine
    # A holder that claimed the slot and died: its lease runs out, then the slot is anyone's.
    hold(now)
    assert job_leases.claim(engine, "count", job.slot(now), holder="gone:1", lease=timedelta(minutes=5))
    assert at_tick(second, now + timedelta(minutes=4)) == {}
    assert at_tick(second, now + timedelta(minutes=6)) == {"count": "ok"}
    # A failed run is tried again after a while, at most three times a slot.
    body.fail = True
    later = now + timedelta(hours=1)
    assert at_tick(first, later) == {"count": "failed"}
    assert at_tick(first, later + timedelta(minutes=1)) == {}
    assert at_tick(first, later + timedelta(minutes=11)) == {"count": "failed"}
    assert at_tick(first, later + timedelta(minutes=22)) == {"count": "failed"}
    assert at_tick(first, later + timedelta(minutes=33)) == {}, "three tries, then the next slot"
    row = next(r for r in job_leases.job_rows(engine) if r["name"] == "count")
    assert row["outcome"] == "failed" and row["tries"] == 3 and row["detail"] == "RuntimeError: the store said no"


def test_a_slot_still_running_holds_back_the_next_one(contexts: Callable[[], AppContext]) -> None:
    body = Counting()
    body.hold.clear()
    job = Job("count", body, every=timedelta(minutes=1))
    runner, other = (Scheduler(contexts(), [job]) for _ in range(2))
    now = T0
    hold(now)
    started = threading.Thread(target=runner.tick)
    started.start()
    while not [r for r in job_leases.job_rows(runner.ctx.engine) if r["outcome"] == "running"]:
        clock.sleep(0.01)  # waits for the claim, an event; no duration is asserted
    assert at_tick(other, now + timedelta(minutes=2)) == {}, "the earlier slot is still running"
    body.hold.set()
    started.join()
    assert at_tick(other, now + timedelta(minutes=2)) == {"count": "ok"}


def test_two_servers_started_with_schedule_make_up_the_days_maintenance_once(
    engine: Engine, db_env: dict[str, str], tmp_path: Path
) -> None:
    # The day's maintenance time has passed (00:00 UTC), so each server's first tick claims it.
    env = env_for(db_env, schedule_maintain_at="00:00", schedule_deliver_every_seconds="3600")
    with Serving(env, tmp_path, "--schedule", name="a") as a, Serving(env, tmp_path, "--schedule", name="b") as b:
        deadline = clock.monotonic() + 120
        while not _job_lines(a, b, "maintain"):
            assert clock.monotonic() < deadline, a.text()[-2000:] + b.text()[-2000:]
            clock.sleep(0.1)
        deadline = clock.monotonic() + 120
        while len(_job_lines(a, b, "deliver")) < 1:
            assert clock.monotonic() < deadline, a.text()[-2000:] + b.text()[-2000:]
            clock.sleep(0.1)
    assert len(_job_lines(a, b, "maintain")) == 1, "one of the two ran it"
    [line] = _job_lines(a, b, "maintain")
    assert line["outcome"] == "ok" and line["request_id"].startswith("job-maintain-")
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(maintenance_runs)) == 1
        actors = list(conn.scalars(select(audit_events.c.actor).where(audit_events.c.action == "maintain")))
    assert len(actors) == 1 and actors[0].startswith("scheduler:")


def _job_lines(a: Serving, b: Serving, job: str) -> list[dict[str, Any]]:
    servers = (a, b)
    return [x for s in servers for x in s.lines() if x.get("logger") == "xinyong.jobs" and x.get("job") == job]


def test_the_daily_audit_checkpoint_is_scheduled_and_signs_the_chains_head(
    contexts: Callable[[], AppContext],
) -> None:
    ctx = contexts()
    ctx.settings.create_signing_key_file()
    [checkpoint] = [j for j in jobs(ctx) if j.name == "audit-checkpoint"]
    assert checkpoint.at == time(3, 0)
    assert Scheduler(ctx, [checkpoint]).tick() == {"audit-checkpoint": "ok"}
    from xinyong.store.checkpoint_tables import audit_checkpoints

    with ctx.engine.connect() as conn:
        [(reason, seq)] = conn.execute(select(audit_checkpoints.c.reason, audit_checkpoints.c.seq)).all()
    assert (reason, seq) == ("daily", 0)
