"""The unit tier: the domain's decisions as pure functions over in-memory facts (no store, no
process). `pytest -m unit` runs this tier alone."""

from __future__ import annotations

from datetime import date

import pytest

from xinyong.domain.catalog import Catalog, load_catalog
from xinyong.domain.lists import Action, InvalidTransition, State, allowed_actions, next_state
from xinyong.domain.measures import Outcome, SubjectFacts, decide
from xinyong.domain.scoring import RecordFact, score_subject

pytestmark = pytest.mark.unit
DAY = date(2026, 6, 1)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _defaulter(record_id: int, valid_from: date, valid_until: date | None = None) -> RecordFact:
    return RecordFact(record_id, "court.defaulter", valid_from, valid_from, valid_until, {}, "active")


# -- the list state machine ----------------------------------------------------------------------


def test_an_entry_goes_from_proposal_to_its_end_only_by_the_allowed_steps() -> None:
    path = [
        (Action.PROPOSE, "system", State.PROPOSED),
        (Action.APPROVE, "reviewer", State.NOTIFIED),
        (Action.OBJECT, "subject", State.OBJECTED),
        (Action.DISMISS, "reviewer", State.NOTIFIED),
        (Action.PUBLISH, "system", State.LISTED),
        (Action.EXTEND, "reviewer", State.LISTED),
        (Action.EXPIRE, "system", State.EXPIRED),
    ]
    state: State | None = None
    for action, role, expected in path:
        state = next_state(1, state, action, role)
        assert state is expected
    assert allowed_actions(state) == [], "an expired entry allows nothing more"


def test_a_step_the_state_does_not_allow_is_refused_naming_what_it_allows() -> None:
    with pytest.raises(InvalidTransition, match="list entry 7 is proposed: it cannot publish; allowed now: approve"):
        next_state(7, State.PROPOSED, Action.PUBLISH, "system")
    with pytest.raises(InvalidTransition, match=r"allowed now: nothing \(the entry has ended\)"):
        next_state(7, State.REMOVED, Action.REMOVE, "reviewer")


def test_a_step_by_the_wrong_actor_is_refused_naming_who_may() -> None:
    with pytest.raises(InvalidTransition, match="a subject may not approve an entry"):
        next_state(3, State.PROPOSED, Action.APPROVE, "subject")
    with pytest.raises(InvalidTransition, match="a reviewer may not publish"):
        next_state(3, State.NOTIFIED, Action.PUBLISH, "reviewer")


# -- scoring -------------------------------------------------------------------------------------


def test_a_defaulter_record_in_force_costs_its_points_and_says_why(catalog: Catalog) -> None:
    clean = score_subject(catalog, "organisation", [], DAY)
    listed = score_subject(catalog, "organisation", [_defaulter(1, date(2026, 1, 1))], DAY)
    assert clean.status == listed.status == "scored"
    assert clean.points == 100.0 and listed.points == 60.0
    [why] = listed.contributions
    assert why.record_id == 1 and why.points_cp == -4000


def test_a_record_not_yet_or_no_longer_in_force_costs_nothing(catalog: Catalog) -> None:
    later = _defaulter(1, date(2027, 1, 1))
    ended = _defaulter(2, date(2020, 1, 1), date(2021, 1, 1))
    score = score_subject(catalog, "organisation", [later, ended], DAY)
    assert score.points == 100.0 and score.contributions == ()


def test_a_kind_without_a_ruleset_in_force_is_not_scored(catalog: Catalog) -> None:
    assert score_subject(catalog, "organisation", [], date(2000, 1, 1)).status == "no_ruleset"


# -- measures ------------------------------------------------------------------------------------


def test_a_protected_sector_is_never_sanctioned_whatever_the_facts(catalog: Catalog) -> None:
    facts = SubjectFacts(1, "organisation", grade="D", ruleset_id="org.supervision")
    decision = decide(catalog, "healthcare.services", facts, DAY)
    assert decision.outcome is Outcome.ALLOW and decision.measures == []
    assert "protected sector" in decision.summary


def test_a_subject_the_platform_does_not_know_is_allowed_with_the_reason(catalog: Catalog) -> None:
    decision = decide(catalog, "procurement.tender", None, DAY)
    assert decision.outcome is Outcome.ALLOW
    assert decision.summary == "No measure applies: the platform holds no record linked to this identifier."
    assert all(not m.applies for m in decision.measures)


def test_a_subject_with_no_entry_and_no_grade_meets_no_sanction(catalog: Catalog) -> None:
    decision = decide(catalog, "procurement.tender", SubjectFacts(1, "organisation"), DAY)
    assert decision.outcome is Outcome.ALLOW
    assert decision.measures, "every measure of the context is answered, applied or not"
