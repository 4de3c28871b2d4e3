"""Undoing the split that reversed a merge, on SQLite and PostgreSQL: the two subjects are one
again from the undo on (the records move back, the absorbed code resolves to the survivor, checks
deny again), a replay from between the split and its undo still sees two, and the decisions that
can no longer be undone say so."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from linking_store_world import LinkWorld, clock_at
from test_subject_merges import DOC, WHY, _check, _twin, world  # noqa: F401 - world is the fixture
from xinyong.domain.errors import Conflict
from xinyong.services import merges
from xinyong.services.checks import replay
from xinyong.services.subjects import resolve_subject
from xinyong.store.linking_tables import subject_merges


def test_undoing_the_split_of_a_merge_merges_again_from_the_undo_on(world: LinkWorld) -> None:  # noqa: F811
    sid_a, sid_b, code_a, code_b = _twin(world)
    p = merges.propose_merge(world.engine, sid_a, sid_b, by="li", reason=WHY, document_no=DOC, now=clock_at(2))
    merged = merges.decide(world.engine, world.catalog, p["proposal"], "confirm", reviewer="wang",
                           reason="the notice was checked", now=clock_at(3))  # fmt: skip
    with world.engine.connect() as conn:
        merge_id = conn.scalar(select(subject_merges.c.id).where(subject_merges.c.action == "merge"))
    s = merges.propose_split(world.engine, sid_a, by="zhao", reason="two companies after all", merge_id=merge_id,
                             now=clock_at(4))  # fmt: skip
    split = merges.decide(world.engine, world.catalog, s["proposal"], "confirm", reviewer="wang",
                          reason="the register shows two companies", now=clock_at(5))  # fmt: skip
    apart = _check(world, code_a, 6)
    assert apart["decision"]["outcome"] == "allow"
    assert world.current("TX-B", "tax").subject_id == sid_b

    undone = merges.undo(world.engine, world.catalog, split["decision"], reviewer="zhao",
                         reason="the register's entry was itself a mistake", now=clock_at(7))  # fmt: skip
    assert undone["effect"] is not None and undone["records_kept"] == []
    moved = world.current("TX-B", "tax")
    assert moved.subject_id == sid_a
    assert _check(world, code_a, 8)["decision"]["outcome"] == "deny"
    assert resolve_subject(world.engine, world.catalog, world.vault, code_b)[0] == sid_a
    again = replay(world.engine, world.catalog, apart["check_id"])  # made between the split and its undo
    assert again["same"] is True and again["outcome_replayed"] == "allow"

    with pytest.raises(Conflict, match="is an undo; decide the proposal again instead"):
        merges.undo(world.engine, world.catalog, undone["decision"], reviewer="li", reason="undo the undo",
                    now=clock_at(9))  # fmt: skip
    with pytest.raises(Conflict, match=rf"what decision {split['decision']} did was reversed already by a later merge"):
        merges.undo(world.engine, world.catalog, split["decision"], reviewer="li", reason="once more",
                    now=clock_at(9))  # fmt: skip
    with pytest.raises(
        Conflict, match=rf"what decision {merged['decision']} did was reversed already by a later split"
    ):
        merges.undo(world.engine, world.catalog, merged["decision"], reviewer="li", reason="the first merge",
                    now=clock_at(9))  # fmt: skip
    history = merges.history(world.engine, sid_a, clock_at(9))
    assert [e["action"] for e in history["effects"]] == ["merge", "split", "merge"]
