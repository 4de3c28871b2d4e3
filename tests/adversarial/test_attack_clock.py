"""The clock under attack: no command moves a stored stamp ahead of the real time.

`maintain --now 2027-01-15` used to push the store's knowledge clock into the future for good:
records ingested afterwards were stamped then, and checks made meanwhile silently missed them.
A write given a moment ahead of the real clock is refused in one line and stores nothing; a
store whose stamps already run ahead (written by an older release) is reported by `status`, with
the repair; the clock a test or a replay may hold can be set to the past only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from builders import make_uscc, ok, xy
from servers import env_for
from xinyong.domain.clock import Clock
from xinyong.domain.errors import InvalidInput
from xinyong.store.clock import EPOCH
from xinyong.store.tables import audit_events, data_clock

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
