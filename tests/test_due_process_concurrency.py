"""Races and the state machine: real concurrent connections, and Hypothesis over random decisions.

- Two reviewers deciding one entry at the same moment: exactly one wins, the other gets a
  conflict error, and the entry has exactly one decision (both backends; on PostgreSQL the two
  transactions really overlap, SQLite serialises them at BEGIN IMMEDIATE).
- Two `maintain` runs at once do the work of one.
- Random sequences of actions by random actors, through the services: every refusal is an
  InvalidTransition, every accepted one is in the table, terminal states never move, nothing is
  listed without notice, and the derived state row always equals the fold of the transitions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from process_story import BLACK, T0, Story, at, clock_at, hold, person_row
from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import Conflict
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.lists import ACTORS, TERMINAL, TRANSITIONS, Action, InvalidTransition, State, fold
from xinyong.services import lists as lists_service
from xinyong.store.db import make_engine
from xinyong.store.tables import list_entries, list_entry_state, list_transitions, notices


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each result is a value or the exception raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, fn: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each racer got
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.fixture
def story(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> Story:
    return Story(engine, catalog, vault, tmp_path)


def test_two_reviewers_deciding_one_entry_at_once_exactly_one_wins(story: Story, db_url: str) -> None:
    story.ingest([person_row(f"R-{i}", 100 + i) for i in range(6)], T0)
    story.maintain(at(0))
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        for i in range(6):
            eid = story.entry(f"R-{i}")
            assert eid is not None
            results = race(
                lambda eid=eid: lists_service.decide(
                    engines[0],
                    story.catalog,
                    eid,
                    approve_it=True,
                    actor="reviewer:li",
                    reason="unpaid judgment",
                    now=clock_at(1),
                ),
                lambda eid=eid: lists_service.decide(
                    engines[1],
                    story.catalog,
                    eid,
                    approve_it=False,
                    actor="reviewer:wang",
                    reason="under appeal at court",
                    now=clock_at(1),
                ),
            )
            wins = [r for r in results if not isinstance(r, Exception)]
            losses = [r for r in results if isinstance(r, Exception)]
            assert len(wins) == 1 and len(losses) == 1, results
            assert isinstance(losses[0], Conflict), losses[0]
            steps = story.steps(eid)
            assert len(steps) == 2 and steps[1][1] == wins[0].state.value
    finally:
        for e in engines:
            e.dispose()


def test_two_maintenance_runs_at_once_do_the_work_of_one(story: Story, db_url: str) -> None:
    story.ingest([person_row(f"M-{i}", 200 + i) for i in range(20)], T0)
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        from xinyong.services.maintain import maintain

        results = race(*(lambda e=e: maintain(e, story.catalog, at(0)) for e in engines))
        assert not [r for r in results if isinstance(r, Exception)], results
        assert sorted(r["proposed"] for r in results) == [0, 20]
        again = maintain(story.engine, story.catalog, at(0))
        assert again["proposed"] == 0 and again["published"] == 0
        with story.engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(list_transitions)) == 20
            assert conn.scalar(select(func.count()).select_from(notices)) == 0  # black list: reviewer first
    finally:
        for e in engines:
            e.dispose()


# -- the state machine, through the store ---------------------------------------------------------------

ROLES = ("reviewer:li", "system:maintain", "subject:1")
step = st.tuples(st.sampled_from([a for a in Action if a is not Action.PROPOSE]), st.sampled_from(ROLES))


def _act(story: Story, eid: int, action: Action, actor: str, when: Any) -> None:
    hold(when)
    with story.engine.begin() as conn:
        kw: dict[str, Any] = {}
        if action is Action.PUBLISH:
            kw = {"listed_on": when.date(), "ends_on": at(800).date()}
        lists_service.apply(
            conn,
            story.catalog.lists[BLACK],
            eid,
            action,
            actor=actor,
            reason=f"{action.value} in a property test",
            **kw,
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_random_decisions_follow_the_table_and_the_state_row_follows_the_transitions(
    story: Story, steps: list[tuple[Action, str]]
) -> None:
    story.files += 1
    ref = f"P-{story.files}"
    # Each example in the same store a quarter of an hour after the one before, its steps a minute
    # apart: knowledge time only moves on.
    start = at(story.files / 96)
    story.ingest([person_row(ref, 300 + story.files % 600)], start)
    story.maintain(start)
    eid = story.entry(ref)
    assert eid is not None
    state: State = State.PROPOSED
    seen = [state]
    for i, (action, actor) in enumerate(steps):
        expected = TRANSITIONS.get((state, action))
        allowed = expected is not None and actor.split(":")[0] in ACTORS[action]
        if allowed:
            _act(story, eid, action, actor, start + timedelta(minutes=1 + i))
            assert expected is not None
            state = expected
            seen.append(state)
        else:
            with pytest.raises(InvalidTransition):
                _act(story, eid, action, actor, start + timedelta(minutes=1 + i))
        if seen[-2:-1] and seen[-2] in TERMINAL:
            pytest.fail(f"a terminal state moved: {seen}")
    if State.LISTED in seen:
        assert State.NOTIFIED in seen[: seen.index(State.LISTED)], "listed without notice"
    with story.engine.connect() as conn:
        row = conn.execute(select(list_entry_state).where(list_entry_state.c.entry_id == eid)).one()
        view = fold(lists_service.transitions_of(conn, eid))
    assert view is not None and (row.state, row.seq) == (view.state.value, view.seq) == (state.value, len(seen))


def test_an_entry_moved_after_the_run_selected_it_is_skipped_and_the_run_goes_on(story: Story) -> None:
    """maintain selects, then locks each entry; one a reviewer moved in between is left alone."""
    from xinyong.services import maintain as m

    story.ingest([person_row("S-1", 501), person_row("S-2", 502)], T0)
    story.maintain(at(0))
    ids = [story.entry("S-1"), story.entry("S-2")]
    for eid in ids:
        assert eid is not None
        lists_service.decide(
            story.engine,
            story.catalog,
            eid,
            approve_it=True,
            actor="reviewer:li",
            reason="unpaid judgment",
            now=clock_at(0),
        )
    with story.engine.connect() as conn:
        stale = conn.execute(select(list_entries).where(list_entries.c.id.in_(ids)).order_by(list_entries.c.id)).all()
    lists_service.remove(
        story.engine,
        story.catalog,
        stale[0].id,
        actor="reviewer:wang",
        reason="the court suspended enforcement",
        now=clock_at(31),
    )
    with story.engine.connect().execution_options(xinyong_write=True) as conn, conn.begin():
        done = [m.guarded(conn, m._publish_one, conn, story.catalog, e, at(32)) for e in stale]
    assert done == [None, True]
    assert story.state(stale[0].id, at(32)) == "withdrawn" and story.state(stale[1].id, at(32)) == "listed"
    assert story.steps(stale[0].id)[-1][0] == "withdraw"
