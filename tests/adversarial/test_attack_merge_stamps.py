"""Merges and splits of subjects under attack on the clock, on SQLite and PostgreSQL.

A reviewer (or a script in their name) that tells the service another moment cannot backdate a
merge proposal, its decision or its undo, nor the date the subjects' notices give for the change:
each is stamped with the platform's clock, and a moment ahead of it is refused. The moment given
only says when the guards read the store and the subjects are rescored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from builders import make_uscc
from linking_store_world import LinkWorld, at, build, clock_at, tax_record
from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import InvalidInput
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import merges
from xinyong.store.merge_tables import subject_merge_decisions, subject_merge_proposals
from xinyong.store.tables import notices

DOC = "市监变〔2027〕12号"
WHY = f"the registration authority's notice {DOC} says the two codes are one company"


@pytest.fixture
def world(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> LinkWorld:
    return build(engine, catalog, vault, tmp_path)


def _twin(world: LinkWorld) -> tuple[int, int]:
    a = world.orgs[3]
    code_b = make_uscc(777001)
    world.ingest([tax_record("TX-B", a, code_b, 1)], at(1), source="tax")
    return world.subject_of_number("cn.uscc", a.uscc), world.subject_of_number("cn.uscc", code_b)


def _stamp(world: LinkWorld, column, key) -> datetime:  # type: ignore[no-untyped-def]
    with world.engine.connect() as conn:
        value = conn.scalar(select(column).where(key))
    assert value is not None
    return value.astimezone(UTC)


def _told(world: LinkWorld, decision: int) -> list[str]:
    with world.engine.connect() as conn:
        return list(conn.scalars(select(notices.c.body).where(notices.c.event_ref.like(f"merge:{decision}:%"))))


def test_a_backdated_merge_its_decision_and_its_undo_are_stamped_by_the_clock(world: LinkWorld) -> None:
    kept, absorbed = _twin(world)
    clock_at(10)
    p = merges.propose_merge(world.engine, kept, absorbed, by="li", reason=WHY, document_no=DOC, now=at(2))
    assert _stamp(world, subject_merge_proposals.c.at, subject_merge_proposals.c.id == p["proposal"]) == at(10)

    clock_at(11)
    d = merges.decide(world.engine, world.catalog, p["proposal"], "confirm", reviewer="wang",
                      reason="the notice was checked against the register", now=at(3))  # fmt: skip
    assert _stamp(world, subject_merge_decisions.c.at, subject_merge_decisions.c.id == d["decision"]) == at(11)
    told = _told(world, d["decision"])
    assert len(told) == 2 and all(f"from {at(11).date().isoformat()} the platform holds" in b for b in told)
    assert not any(at(3).date().isoformat() in b for b in told), "the notice gives the caller's day"

    clock_at(12)
    u = merges.undo(world.engine, world.catalog, d["decision"], reviewer="zhao",
                    reason="the register corrected its notice", now=at(4))  # fmt: skip
    assert _stamp(world, subject_merge_decisions.c.at, subject_merge_decisions.c.id == u["decision"]) == at(12)
    told = _told(world, u["decision"])
    assert len(told) == 2 and all(f"from {at(12).date().isoformat()} records moved" in b for b in told)


def test_a_split_proposed_with_a_past_moment_is_stamped_by_the_clock(world: LinkWorld) -> None:
    kept, absorbed = _twin(world)
    clock_at(10)
    p = merges.propose_split(world.engine, absorbed, by="li", reason="the tax record is this company's",
                             records=["tax/TX-B"], to=kept, now=at(5))  # fmt: skip
    assert _stamp(world, subject_merge_proposals.c.at, subject_merge_proposals.c.id == p["proposal"]) == at(10)


@pytest.mark.parametrize("step", ["merge", "split", "decide", "undo"])
def test_a_moment_ahead_of_the_clock_is_refused_and_stores_nothing(world: LinkWorld, step: str) -> None:
    kept, absorbed = _twin(world)
    clock_at(10)
    p = merges.propose_merge(world.engine, kept, absorbed, by="li", reason=WHY, document_no=DOC, now=at(10))
    d = merges.decide(world.engine, world.catalog, p["proposal"], "confirm", reviewer="wang",
                      reason="the notice was checked against the register", now=at(10))  # fmt: skip
    future = datetime.now(UTC) + timedelta(days=30)
    with world.engine.connect() as conn:
        before = (conn.scalar(select(subject_merge_proposals.c.id).order_by(subject_merge_proposals.c.id.desc())),
                  conn.scalar(select(subject_merge_decisions.c.id).order_by(subject_merge_decisions.c.id.desc())))  # fmt: skip
    steps = {
        "merge": lambda: merges.propose_merge(
            world.engine, absorbed, kept, by="li", reason=WHY, document_no=DOC, now=future
        ),
        "split": lambda: merges.propose_split(
            world.engine, kept, by="li", reason="the merge was wrong", merge_id=d["effect"], now=future
        ),
        "decide": lambda: merges.decide(
            world.engine, world.catalog, p["proposal"], "reject", reviewer="zhao", reason="no such notice", now=future
        ),
        "undo": lambda: merges.undo(
            world.engine, world.catalog, d["decision"], reviewer="zhao", reason="the merge was wrong", now=future
        ),
    }
    with pytest.raises(InvalidInput, match="is ahead of the clock"):
        steps[step]()
    with world.engine.connect() as conn:
        after = (conn.scalar(select(subject_merge_proposals.c.id).order_by(subject_merge_proposals.c.id.desc())),
                 conn.scalar(select(subject_merge_decisions.c.id).order_by(subject_merge_decisions.c.id.desc())))  # fmt: skip
    assert after == before
