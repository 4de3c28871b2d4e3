"""Scheduled work without cron: the daily maintenance, the delivery of notices, the audit checkpoint.

`xinyong serve --schedule` runs a `Scheduler` beside the server. Each job has slots: a time of
day (`XINYONG_SCHEDULE_MAINTAIN_AT`, in `XINYONG_SCHEDULE_TIMEZONE`) or an interval (deliveries,
every `XINYONG_SCHEDULE_DELIVER_EVERY_SECONDS`). At each tick the scheduler claims the latest
slot of each job that has passed (`store.job_leases`): of all the processes and replicas that
run a scheduler, one wins and runs the job, the others skip it, and a slot missed while no
server ran is made up when one starts. While a job runs its claim is renewed; a server that
dies mid-job leaves the slot to be run again. Every run logs one JSON line (`ops.logs.job`).

Cron or a systemd timer calling `xinyong maintain` and `xinyong notices deliver` is the
alternative (docs/operations.md); `maintain` holds its own lock and delivery claims each notice,
so the two may even overlap without doing anything twice.

The scheduler runs on the platform's clock (`CLOCK.now()`): its slots, its claims and the moment
each job is given to run at. No caller gives it a moment: one ahead would claim a slot that has
not come and hold back every slot before it, and a lease is judged by the clock, so none is
stolen by saying it ran out.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import ConfigurationError
from xinyong.ops.logs import job as job_log
from xinyong.services.context import AppContext
from xinyong.store import job_leases

log = logging.getLogger("xinyong.schedule")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LEASE = timedelta(minutes=5)

Runner = Callable[[AppContext, datetime], dict[str, Any]]


@dataclass(frozen=True)
class Job:
    """A job: what it runs, and its slots (daily `at` a time in `tz`, or `every` an interval)."""

    name: str
    run: Runner
    at: time | None = None
    tz: ZoneInfo | None = None
    every: timedelta | None = None

    def slot(self, now: datetime) -> datetime:
        """The latest slot at or before `now` (UTC)."""
        if self.every is not None:
            step = self.every.total_seconds()
            return EPOCH + timedelta(seconds=(now - EPOCH).total_seconds() // step * step)
        at, tz = self._daily()
        local = now.astimezone(tz)
        today = datetime.combine(local.date(), at, tzinfo=tz)
        day = today if today <= local else datetime.combine(local.date() - timedelta(days=1), at, tzinfo=tz)
        return day.astimezone(UTC)

    def next_slot(self, now: datetime) -> datetime:
        if self.every is not None:
            return self.slot(now) + self.every
        at, tz = self._daily()
        local = self.slot(now).astimezone(tz)
        return datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz).astimezone(UTC)

    def _daily(self) -> tuple[time, ZoneInfo]:
        if self.at is None or self.tz is None:
            raise ValueError(f"job {self.name} has neither an interval nor a time of day")
        return self.at, self.tz


def run_maintenance(ctx: AppContext, now: datetime) -> dict[str, Any]:
    """The daily run, audited as the command's is, with the scheduler as its actor."""
    from xinyong.services.audit_checkpoints import checkpoint
    from xinyong.services.maintain import maintain
    from xinyong.store.unit_of_work import AuditNote

    actor = f"scheduler:{socket.gethostname()}"[:100]
    note = AuditNote(actor, "maintain", "due process", "lists")
    counts = dict(maintain(ctx.migrated_engine(), ctx.catalog, now, audit=note))
    checkpoint(ctx.engine, ctx.signing_key, reason="maintain")
    return counts


def run_delivery(ctx: AppContext, now: datetime) -> dict[str, Any]:
    from xinyong.services.delivery import RetryPolicy, channel_from, deliver_due

    channel = channel_from(ctx.settings)
    try:
        return deliver_due(ctx.migrated_engine(), channel, RetryPolicy.of(ctx.settings)).as_dict()
    finally:
        channel.close()


def run_checkpoint(ctx: AppContext, now: datetime) -> dict[str, Any]:
    """The daily signed checkpoint of the audit chain's head (`services.audit_checkpoints`)."""
    from xinyong.services.audit_checkpoints import checkpoint

    done = checkpoint(ctx.migrated_engine(), ctx.signing_key, reason="daily")
    return {"seq": done["seq"]}


# The daily audit checkpoint: `serve --schedule` runs it every day at XINYONG_SCHEDULE_CHECKPOINT_AT
# under the job name "audit-checkpoint" (which the metrics'
# xinyong_audit_last_checkpoint_timestamp_seconds reads).
AUDIT_CHECKPOINT: Runner | None = run_checkpoint


def _daily(value: str) -> time:
    hour, minute = value.split(":")  # HH:MM, as the settings' pattern holds it
    return time(int(hour), int(minute))


def jobs(ctx: AppContext) -> list[Job]:
    """The jobs the settings schedule, their times checked now rather than at the first slot."""
    s = ctx.settings
    try:
        tz = ZoneInfo(s.schedule_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"XINYONG_SCHEDULE_TIMEZONE: '{s.schedule_timezone}' is not a time zone (e.g. UTC, Asia/Shanghai)"
        ) from None
    found = [
        Job("maintain", run_maintenance, at=_daily(s.schedule_maintain_at), tz=tz),
        Job("deliver", run_delivery, every=timedelta(seconds=s.schedule_deliver_every_seconds)),
    ]
    if AUDIT_CHECKPOINT is not None:
        found.append(Job("audit-checkpoint", AUDIT_CHECKPOINT, at=_daily(s.schedule_checkpoint_at), tz=tz))
    return found


class Scheduler:
    """Runs the jobs at their slots from a thread of its own (`start`, `stop`), or once (`tick`)."""

    def __init__(self, ctx: AppContext, job_list: list[Job] | None = None, lease: timedelta = LEASE) -> None:
        self.ctx, self.lease = ctx, lease
        self.jobs = jobs(ctx) if job_list is None else job_list
        self.holder = f"{socket.gethostname()[:60]}:{os.getpid()}:{id(self) % 100_000}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> dict[str, str]:
        """Claim and run each job whose slot has passed and is not done: {job: outcome} of those run."""
        ran: dict[str, str] = {}
        for job in self.jobs:
            moment = CLOCK.now()
            slot = job.slot(moment)
            if job_leases.claim(self.ctx.engine, job.name, slot, holder=self.holder, lease=self.lease):
                ran[job.name] = self._run(job, slot, moment)
        return ran

    def _run(self, job: Job, slot: datetime, now: datetime) -> str:
        renewing = threading.Event()
        keeper = threading.Thread(target=self._renew, args=(job.name, renewing), daemon=True)
        keeper.start()
        outcome, detail = job_leases.FAILED, None
        try:
            with job_log(job.name, slot=slot.isoformat()) as counts:
                counts.update(job.run(self.ctx, now))
            outcome = job_leases.OK
        except Exception as exc:  # noqa: BLE001 - a failed job is stored, logged, and tried again later
            detail = f"{type(exc).__name__}: {exc}"
        finally:
            renewing.set()
            keeper.join()
            job_leases.finish(self.ctx.engine, job.name, holder=self.holder, outcome=outcome, detail=detail)
        return outcome

    def _renew(self, name: str, done: threading.Event) -> None:
        while not done.wait(self.lease.total_seconds() / 3):
            try:
                job_leases.renew(self.ctx.engine, name, holder=self.holder, lease=self.lease)
            except Exception:  # noqa: BLE001, S112 - the store is away: try again at the next renewal
                continue

    def start(self) -> None:
        names = ", ".join(j.name for j in self.jobs)
        log.info("scheduling %s", names + ("" if AUDIT_CHECKPOINT else "; the audit checkpoint is not available yet"))
        self._thread = threading.Thread(target=self._loop, name="xinyong-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - the store is away: try again at the next slot
                log.warning("the scheduler could not reach the store: %s", type(exc).__name__)
            now = CLOCK.now()
            wait = min((j.next_slot(now) - now).total_seconds() for j in self.jobs) if self.jobs else 60
            self._stop.wait(min(max(wait, 0.05), 30))
