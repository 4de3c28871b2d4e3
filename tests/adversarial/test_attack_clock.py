"""The clock under attack: no command or caller moves a stored stamp, ahead or back.

`maintain --now 2027-01-15` used to push the store's knowledge clock into the future for good:
records ingested afterwards were stamped then, and checks made meanwhile silently missed them.
A write given a moment ahead of the real clock is refused in one line and stores nothing; a
store whose stamps already run ahead (written by an older release) is reported by `status`, with
the repair; the clock a test or a replay may hold can be set to the past only. A moment of the
past (`--now`, a service's `now`) is only the moment a decision is evaluated at: what the write
stores is stamped with the real clock, the knowledge clock never moves back, and audit times are
monotone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from builders import court_row, make_ric, make_uscc, ok, write_csv, xy
from process_story import T0, Story, hold, person_row, release
from servers import env_for
from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import Clock
from xinyong.domain.errors import InvalidInput
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services.audit import verify as audit_verify
from xinyong.services.objection_rulings import decide_objection
from xinyong.services.objections import appeal, file_objection
from xinyong.store.clock import EPOCH
from xinyong.store.tables import audit_events, checks, data_clock, objection_decisions, objections, records
from xinyong.store.unit_of_work import AuditEvent, record

AHEAD = "is ahead of the clock ("
WHY = "): a write is stamped with the real time, and may act only at a moment that has passed"


def _refused(result, flag_value: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 1, result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: --now {flag_value} {AHEAD}") and line.endswith(WHY), line


def test_a_write_with_a_future_now_is_refused_and_stores_nothing(
    db_env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    env = env_for(db_env)
    future = (datetime.now(UTC) + timedelta(days=400)).replace(microsecond=0)
    _refused(xy(env, "maintain", "--now", future.isoformat(), cwd=tmp_path), future.isoformat())
    ask = ("check", make_uscc(5), "--context", "procurement.tender", "--purpose", "bidder_screening")
    _refused(xy(env, *ask, "--now", future.isoformat(), cwd=tmp_path), future.isoformat())
    decide = ("lists", "decide", "1", "approve", "--reviewer", "li", "--reason", "the judgment stands unpaid")
    _refused(xy(env, *decide, "--now", future.isoformat(), cwd=tmp_path), future.isoformat())
    with engine.connect() as conn:
        assert conn.scalar(select(data_clock.c.stamp)) == EPOCH, "the knowledge clock did not move"
        assert conn.scalar(select(func.count()).select_from(audit_events)) == 0
    past = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    ok(xy(env, "maintain", "--now", past, cwd=tmp_path))  # a moment that has passed is a moment to act at


def test_status_reports_a_store_whose_clock_is_already_ahead_and_how_to_repair_it(
    db_env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    env = env_for(db_env)
    fine = json.loads(ok(xy(env, "status", "--json", cwd=tmp_path)).stdout)
    assert fine["clock"]["ahead"] is False and "repair" not in fine["clock"]
    with engine.begin() as conn:  # as `maintain --now 2027-...` of an older release left it
        conn.execute(update(data_clock).values(stamp=datetime.now(UTC) + timedelta(days=40)))
    ahead = json.loads(ok(xy(env, "status", "--json", cwd=tmp_path)).stdout)["clock"]
    assert ahead["ahead"] is True
    assert ahead["problem"].startswith("the store's stamps run ahead of the real clock (knowledge_clock, up to ")
    assert ahead["repair"].startswith("stop every writer; restore the last backup taken before the first stamp")
    text = ok(xy(env, "status", cwd=tmp_path)).stdout
    assert "CLOCK AHEAD: the store's stamps run ahead of the real clock" in text and "Repair: stop every writer" in text


def test_the_clock_can_be_held_in_the_past_only() -> None:
    clock = Clock()
    past = datetime.now(UTC) - timedelta(days=1)
    clock.set_to(past)
    assert clock.now() == past
    with pytest.raises(InvalidInput, match=r"the clock .* is ahead of the clock"):
        clock.set_to(datetime.now(UTC) + timedelta(minutes=1))
    with pytest.raises(InvalidInput, match="has no time zone"):
        clock.set_to(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive moment under test
    clock.set_to(None)
    assert clock.now() > past


# -- a moment of the past moves no stamp either --------------------------------------------------------


def _stamps(engine: Engine) -> tuple[datetime, list[datetime], list[datetime]]:
    """The knowledge clock, every record's recorded_at and every audit event's time, in order."""
    with engine.connect() as conn:
        known = conn.scalar(select(data_clock.c.stamp))
        recorded = list(conn.scalars(select(records.c.recorded_at).order_by(records.c.id)))
        audited = list(conn.scalars(select(audit_events.c.at).order_by(audit_events.c.id)))
    return known, recorded, audited


def test_maintain_at_a_past_moment_then_ingest_stamps_everything_with_the_real_clock(
    db_env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    env = env_for(db_env)
    before = datetime.now(UTC)
    long_ago = (before - timedelta(days=400)).replace(microsecond=0).isoformat()
    ok(xy(env, "maintain", "--now", long_ago, cwd=tmp_path))
    known, _, audited = _stamps(engine)
    assert known >= before, f"maintain --now {long_ago} stamped the knowledge clock {known}, before the run"
    row = court_row("CLK-1", make_ric(71), decided_on="2026-01-05", valid_from="2026-01-10", valid_until="")
    ok(xy(env, "ingest", str(write_csv(tmp_path / "court.csv", [row])), "--no-rescore", cwd=tmp_path))
    ok(xy(env, "maintain", "--now", long_ago, cwd=tmp_path))  # once more, back in time
    after = datetime.now(UTC)
    later, [recorded], audited = _stamps(engine)
    assert before <= recorded <= after, "the record is stamped when it arrived, not at the past moment"
    assert recorded <= later <= after, "the knowledge clock never moves backwards, nor ahead of the real time"
    assert len(audited) == 3 and audited == sorted(audited), "audit times are monotone"
    assert all(before <= at <= after for at in audited), "every event is stamped by the real clock"


def test_a_check_at_a_past_moment_is_issued_now_and_evaluated_then_and_says_both(
    db_env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    env = env_for(db_env)
    before = datetime.now(UTC)
    then = (before - timedelta(days=30)).replace(microsecond=0)
    ask = ("check", make_uscc(5), "--context", "procurement.tender", "--purpose", "bidder_screening")
    result = json.loads(ok(xy(env, *ask, "--now", then.isoformat(), "--json", cwd=tmp_path)).stdout)
    after = datetime.now(UTC)
    assert before <= datetime.fromisoformat(result["issued_at"]) <= after, "the certificate is issued now"
    assert result["data_version"]["evaluated_at"] == then.isoformat(), "and evaluated as of the moment given"
    assert result["data_version"]["as_of"] == then.date().isoformat()
    with engine.connect() as conn:
        created = conn.scalar(select(checks.c.created_at))
        [event] = conn.scalars(select(audit_events.c.at).where(audit_events.c.action == "check"))
    assert before <= created <= after and before <= event <= after
    text = ok(xy(env, *ask, "--now", then.isoformat(), cwd=tmp_path)).stdout
    assert f"evaluated as of {then.isoformat()}" in text and "issued at " in text


def test_a_backdated_filing_gets_no_deadline_in_the_past_and_a_backdated_appeal_is_refused(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path
) -> None:
    """A service's `now` is the moment a decision is evaluated at: a filing, a decision and an
    appeal are stamped with the clock, and their deadlines run from that stamp."""
    story = Story(engine, catalog, vault, tmp_path)
    story.ingest([person_row("CLK-2", 72), person_row("CLK-3", 73)], T0)
    first, second = story.subject_of("CLK-2"), story.subject_of("CLK-3")
    hold(T0 + timedelta(days=1))  # long ago, the second subject objected and was dismissed
    old = file_objection(
        engine, catalog, subject_id=second, target="record:court/CLK-3", grounds="the amount was paid in January",
        actor=f"subject:{second}", now=T0 + timedelta(days=1),
    )  # fmt: skip
    ended = decide_objection(
        engine, catalog, old["id"], uphold=False, actor="reviewer:li", reason="no proof of payment", now=story_day(2)
    )["appeal_until"]
    release()  # what follows happens now
    long_ago = T0 + timedelta(days=1)
    filed = file_objection(
        engine, catalog, subject_id=first, target="record:court/CLK-2", grounds="the amount was paid in January",
        actor=f"subject:{first}", now=long_ago,
    )  # fmt: skip
    today = datetime.now(UTC).date()
    assert filed["due_on"] > today, "a deadline in the past would make the objection overdue at once"
    dismissed = decide_objection(
        engine, catalog, filed["id"], uphold=False, actor="reviewer:li", reason="no proof of payment", now=long_ago
    )
    assert dismissed["appeal_until"] > today, "an appeal period is not over before it is given"
    with engine.connect() as conn:
        filed_at = conn.scalar(select(objections.c.filed_at).where(objections.c.id == filed["id"]))
        decided_at = conn.scalar(
            select(objection_decisions.c.at).where(objection_decisions.c.objection_id == filed["id"])
        )
    assert filed_at.date() == today and decided_at.date() == today
    with pytest.raises(InvalidInput) as info:  # an appeal told it is made back then, within the period
        appeal(engine, catalog, old["id"], grounds="backdated appeal", actor=None, now=T0 + timedelta(days=3))
    assert str(info.value) == f"the appeal period of objection {old['id']} ended on {ended.isoformat()}"


def story_day(days: float) -> datetime:
    return hold(T0 + timedelta(days=days))


def test_audit_times_stay_monotone_when_an_event_stamped_earlier_is_appended_later(engine: Engine) -> None:
    """Two writers: the first registers its event, the second appends a later one first. The
    chain never goes back in time: the late event takes the time of the one before it."""
    earlier = AuditEvent("cli:a", "test", "x:1", None, datetime.now(UTC) - timedelta(seconds=5))
    record(engine, AuditEvent("cli:b", "test", "x:2"))
    record(engine, earlier)
    with engine.connect() as conn:
        first, second = conn.scalars(select(audit_events.c.at).order_by(audit_events.c.id))
    assert second == first, "the late event takes the time of the event before it"
    assert audit_verify(engine).intact
