"""The clock under attack where it was still a caller's: match review, notice delivery, portal
sessions and scheduled jobs (SQLite and PostgreSQL).

Each used to store the moment its caller gave: a reviewer's judgement, the queue entry it closed
and the model's proposals carried the `--now` of the command; a delivery run stamped its attempts
with its `now` and judged claims by it; a session was opened and found at a moment the caller
chose; a scheduler claimed slots and leases at the moment it was told. Now every time they store,
and every time a claim, a lease or a session is judged against, is the platform's clock: a moment
of the past moves only what a decision is evaluated at, one ahead is refused and stores nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from linking_store_world import LinkWorld, at, build, keep_model, mistyped_rows
from process_story import hold, release
from test_delivery import with_notices
from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import InvalidInput
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import linking
from xinyong.services.delivery import CallableChannel, RetryPolicy, deliver_due
from xinyong.services.keys import create_key
from xinyong.services.web_sessions import close_session, find_session, open_session
from xinyong.store import job_leases
from xinyong.store.deliveries import claim_due
from xinyong.store.linking_tables import link_judgements, link_models, link_proposals
from xinyong.store.ops_tables import notice_attempts, notice_deliveries, scheduled_jobs
from xinyong.store.tables import notices, records, unresolved, web_sessions

AHEAD = "is ahead of the clock ("


@pytest.fixture
def world(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> LinkWorld:
    return build(engine, catalog, vault, tmp_path)


# -- match review -------------------------------------------------------------------------------------------


def test_a_match_judgement_told_another_moment_is_stamped_by_the_clock_and_one_ahead_is_refused(
    world: LinkWorld,
) -> None:
    hold(at(0))
    keep_model(world)
    world.ingest(mistyped_rows(world, 2), at(1))  # proposed at once, by the batch's hook
    with world.engine.connect() as conn:
        assert set(conn.scalars(select(link_models.c.saved_at))) == {at(0)}, "the model is saved at the clock's time"
        assert set(conn.scalars(select(link_proposals.c.created_at))) == {at(1)}
        best = conn.execute(
            select(link_proposals.c.id).where(link_proposals.c.source_ref == "M-0", link_proposals.c.rank == 1)
        ).scalar_one()
    e, c = world.engine, world.catalog
    future = datetime.now(UTC) + timedelta(days=30)
    with pytest.raises(InvalidInput) as info:
        linking.decide(e, c, best, "confirm", reviewer="li", reason="one digit mistyped", now=future)
    assert str(info.value).startswith(f"now {future.isoformat()} {AHEAD}")
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(link_judgements)) == 0, "nothing stored"
    hold(at(5))  # the clock; the reviewer says the judgement was made on day 2
    done = linking.decide(e, c, best, "confirm", reviewer="li", reason="one digit mistyped", now=at(2))
    with world.engine.connect() as conn:
        judged = conn.scalar(select(link_judgements.c.at).where(link_judgements.c.id == done["judgement"]))
        closed = conn.scalar(select(unresolved.c.resolved_at).where(unresolved.c.resolution == "confirmed"))
        linked = conn.scalar(select(records.c.recorded_at).where(records.c.id == done["record_version"]))
        told = conn.scalar(select(notices.c.body).where(notices.c.event_ref == f"link:{done['judgement']}"))
    assert judged == closed == linked == at(5), "the judgement, its queue entry and its version: the clock's time"
    assert f"a reviewer confirmed on {at(5).date().isoformat()} that it is about you" in told
    hold(at(6))
    undone = linking.undo(e, c, done["judgement"], reviewer="wang", reason="wrong company after all", now=at(1))
    with world.engine.connect() as conn:
        at_undo = conn.scalar(select(link_judgements.c.at).where(link_judgements.c.id == undone["judgement"]))
    assert at_undo == at(6), "an undo told it was made before the judgement it undoes is stamped now"


# -- notice delivery ------------------------------------------------------------------------------------------


def test_a_delivery_is_stamped_by_the_clock_and_a_claim_is_judged_by_it_alone(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path
) -> None:
    ids = with_notices(engine, catalog, vault, tmp_path, n=2)
    moment = hold(datetime(2024, 3, 3, 9, 0, tzinfo=UTC))
    # Another run claimed every notice for ten minutes; a run that says it started a day later
    # (its moment is the only one it gives) takes none of them while the claim holds.
    first = claim_due(engine, channel="log", holder="run:a", run_started=moment, lease=timedelta(minutes=10), limit=100)
    assert {int(n["id"]) for n in first} == ids
    late = claim_due(
        engine, channel="log", holder="run:b", run_started=moment + timedelta(days=1), lease=timedelta(minutes=10),
        limit=100,
    )  # fmt: skip
    assert late == [], "a claim holds by the clock, not by a moment a run gives"
    with engine.connect() as conn:
        until = set(conn.scalars(select(notice_deliveries.c.claimed_until)))
    assert until == {moment + timedelta(minutes=10)}
    hold(moment + timedelta(minutes=11))  # the claim has run out by the clock: the run that died loses it
    run = deliver_due(engine, CallableChannel("log"), RetryPolicy())
    assert run.delivered == len(ids)
    with engine.connect() as conn:
        attempts = set(conn.scalars(select(notice_attempts.c.at)))
        delivered = set(conn.scalars(select(notice_deliveries.c.delivered_at)))
        last = set(conn.scalars(select(notice_deliveries.c.last_attempt_at)))
        told = set(conn.scalars(select(notices.c.delivered_at)))
    assert attempts == delivered == last == told == {moment + timedelta(minutes=11)}


# -- portal sessions --------------------------------------------------------------------------------------------


def test_a_session_opened_while_the_clock_stood_in_the_past_cannot_outlive_its_real_expiry(
    engine: Engine, catalog: Catalog
) -> None:
    token = create_key(engine, catalog, role="admin", name="ops")["key"]
    opened = hold(datetime.now(UTC) - timedelta(hours=9))  # a replay held the clock: a session opened then
    old, _ = open_session(engine, token)
    release()
    before = datetime.now(UTC)
    fresh, session = open_session(engine, token)
    after = datetime.now(UTC)
    with engine.connect() as conn:
        rows = {r.expires_at - r.created_at: r for r in conn.execute(select(web_sessions))}
    assert set(rows) == {timedelta(hours=8)}, "every session lives eight hours of the clock"
    assert find_session(engine, old) is None, f"the session opened at {opened} ended eight hours after it"
    found = find_session(engine, fresh)
    assert found is not None and before + timedelta(hours=8) <= found.expires_at <= after + timedelta(hours=8)
    assert session.expires_at == found.expires_at
    assert close_session(engine, fresh) and find_session(engine, fresh) is None
    with engine.connect() as conn:
        revoked = conn.scalar(select(web_sessions.c.revoked_at).where(web_sessions.c.revoked_at.isnot(None)))
    assert after <= revoked <= datetime.now(UTC), "signed out at the clock's time"


# -- scheduled jobs -------------------------------------------------------------------------------------------


def test_a_lease_is_judged_by_the_clock_and_a_slot_ahead_of_it_cannot_be_claimed(engine: Engine) -> None:
    moment = hold(datetime(2024, 3, 1, 2, 1, tzinfo=UTC))
    slot = moment.replace(minute=0)
    lease = timedelta(minutes=5)
    ahead = slot + timedelta(days=400)
    with pytest.raises(InvalidInput) as info:
        job_leases.claim(engine, "maintain", ahead, holder="thief:1", lease=lease)
    assert str(info.value) == (
        f"the slot {ahead.isoformat()} of job maintain is ahead of the clock ({moment.isoformat()}): a job is "
        "claimed only for a slot that has passed"
    )
    assert job_leases.job_rows(engine) == [], "nothing stored: no later slot holds back the ones before it"
    assert job_leases.claim(engine, "maintain", slot, holder="owner:1", lease=lease)
    hold(moment + timedelta(minutes=4))
    assert not job_leases.claim(engine, "maintain", slot, holder="thief:1", lease=lease), "the lease still holds"
    with engine.connect() as conn:
        row = conn.execute(select(scheduled_jobs)).one()
    assert (row.holder, row.started_at, row.lease_until) == ("owner:1", moment, moment + lease)
    assert job_leases.renew(engine, "maintain", holder="owner:1", lease=lease)
    job_leases.finish(engine, "maintain", holder="owner:1", outcome=job_leases.OK, detail=None)
    with engine.connect() as conn:
        row = conn.execute(select(scheduled_jobs)).one()
    assert row.finished_at == row.lease_until == moment + timedelta(minutes=4), "finished at the clock's time"
