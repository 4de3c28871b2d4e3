"""Lists in time, as pure functions over in-memory facts: no store, no clock.

An entry evaluated "as of t" is in force only while it is listed and its ground counts; a removal
ends it from its day, an upheld objection voids it from the start; an extension is bounded; an
objection past its deadline suspends what rests on its target.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.citations import words_problem
from xinyong.domain.disputes import suspension
from xinyong.domain.errors import InvalidInput
from xinyong.domain.lists import (
    Action,
    GroundFact,
    InvalidTransition,
    OwnedByAnother,
    State,
    Transition,
    extension_end,
    fold,
    ground_ends,
    owner_refusal,
    repairs_end,
    standing_on,
)

pytestmark = pytest.mark.unit

COURT = "black.court_defaulters"
LISTED = date(2027, 4, 1)


def moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def step(seq: int, action: Action, to: State, day: date, actor: str = "system:maintain", **kw: object) -> Transition:
    return Transition(seq, action, None, to, actor, moment(day), kw.pop("reason", "why"), **kw)  # type: ignore[arg-type]


def listed_steps() -> list[Transition]:
    return [
        step(1, Action.PROPOSE, State.PROPOSED, date(2027, 3, 1)),
        step(2, Action.APPROVE, State.NOTIFIED, date(2027, 3, 1), "reviewer:li"),
        step(3, Action.PUBLISH, State.LISTED, LISTED, listed_on=LISTED, ends_on=date(2029, 4, 1)),
    ]


def ground(**over: object) -> GroundFact:
    base: dict[str, object] = {
        "version_id": 7,
        "status": "active",
        "linked": True,
        "meets_criteria": True,
        "learned_on": date(2027, 2, 26),
        "publication_ends": date(2030, 2, 25),
        "document_no": "(2027)浙01执1号",
    }
    return GroundFact(**{**base, **over})  # type: ignore[arg-type]


def test_a_removal_ends_the_listing_from_its_day_and_the_days_before_stay_listed() -> None:
    removed = fold([*listed_steps(), step(4, Action.REMOVE, State.REMOVED, date(2027, 6, 1), "reviewer:wang",
                                          reason="obligation performed", ref="record:court/C-1")])  # fmt: skip
    assert removed is not None and removed.state is State.REMOVED
    assert standing_on(removed, 7, ground(), date(2027, 5, 15)).in_force
    assert standing_on(removed, 7, ground(), date(2027, 5, 15)).note == "removed on 2027-06-01: obligation performed"
    assert not standing_on(removed, 7, ground(), date(2027, 6, 1)).in_force
    assert not standing_on(removed, 7, ground(), date(2027, 3, 31)).in_force  # before publication


def test_an_upheld_objection_voids_the_listing_from_the_start() -> None:
    voided = fold([*listed_steps(), step(4, Action.REMOVE, State.REMOVED, date(2027, 6, 1), "reviewer:wang",
                                         reason="the judgment was set aside", ref="objection:3")])  # fmt: skip
    assert voided is not None and voided.void
    s = standing_on(voided, 7, ground(), date(2027, 5, 15))
    assert not s.in_force
    assert s.note == "void from the start: objection upheld (objection:3): the judgment was set aside"


def test_an_entry_ends_with_its_ground_with_no_job_run() -> None:
    view = fold(listed_steps())
    assert view is not None
    # the obligation reported met in a correction learned on 1 May: from that day, not before
    met = ground(version_id=8, meets_criteria=False, learned_on=date(2027, 5, 1))
    assert standing_on(view, 7, met, date(2027, 4, 30)).in_force
    s = standing_on(view, 7, met, date(2027, 5, 1))
    assert not s.in_force
    assert s.note == "ended on 2027-05-01: the source reported the obligation met (learned on 2027-05-01)"
    revoked = ground(version_id=8, status="revoked", learned_on=date(2027, 5, 2))
    assert standing_on(view, 7, revoked, date(2027, 5, 2)).note == (
        "ended on 2027-05-02: the source decision was revoked (learned on 2027-05-02)"
    )
    # the record's publication period ends before the listing's term does
    short = ground(publication_ends=date(2028, 1, 1))
    assert standing_on(view, 7, short, date(2027, 12, 31)).in_force
    assert standing_on(view, 7, short, date(2028, 1, 1)).note == (
        "ended on 2028-01-01: the publication period of the ground record ended"
    )
    # a correction that still meets the criteria keeps it in force
    assert standing_on(view, 7, ground(version_id=8, learned_on=date(2027, 5, 1)), date(2027, 6, 1)).in_force
    # a ground no longer linked to the subject was never this subject's
    gone = standing_on(view, 7, None, date(2027, 6, 1))
    assert (
        not gone.in_force and gone.note == "void from the start: the ground record is no longer linked to this subject"
    )


def test_repair_ends_an_owned_entry_only_where_the_owners_law_provides_it(catalog: Catalog) -> None:
    repaired = ground(version_id=8, status="repaired", learned_on=date(2027, 5, 1), publication_ends=None)
    court = GroundFact(**{**repaired.__dict__, "repair_ends": repairs_end(catalog.lists[COURT])})
    assert ground_ends(7, court) is None
    samr = GroundFact(
        **{**repaired.__dict__, "repair_ends": repairs_end(catalog.lists["black.samr_serious_violations"])}
    )
    assert ground_ends(7, samr) == (
        date(2027, 5, 1),
        "credit repair was approved for the ground record (learned on 2027-05-01)",
    )


def test_a_platform_removal_of_an_owned_listing_is_refused_naming_the_owner(catalog: Catalog) -> None:
    listing = catalog.lists[COURT]
    with pytest.raises(OwnedByAnother) as info:
        owner_refusal(listing, "Intermediate People's Court", 5, State.LISTED, "removal")
    assert str(info.value) == (
        "list entry 5 is on the List of dishonest judgment defaulters, which Intermediate People's Court (court) "
        "owns: only Intermediate People's Court's decision (a corrected or revoked record from court) ends it, "
        "not a removal on this platform"
    )
    owner_refusal(listing, "court", 5, State.NOTIFIED, "removal")  # before publication: the reviewer's own review
    owner_refusal(catalog.lists["watch.key_supervision"], "nobody", 5, State.LISTED, "removal")  # no owner


@pytest.mark.parametrize(
    ("months", "reviewer", "day", "ground_fact", "error", "message"),
    [
        (12, "reviewer:li", date(2029, 1, 1), ground(), InvalidInput,
         "reviewer:li approved list entry 5: its extension is decided by a different reviewer"),
        (36, "reviewer:wang", date(2029, 1, 1), ground(version_id=8, meets_criteria=False, learned_on=date(2028, 6, 1)),
         InvalidTransition, "list entry 5 cannot be extended: its ground no longer counts since 2028-06-01 "
         "(the source reported the obligation met (learned on 2028-06-01))"),
        (36, "reviewer:wang", date(2029, 1, 1), None, InvalidTransition,
         "list entry 5 cannot be extended: its ground no longer counts (the ground record is no longer linked to "
         "this subject)"),
        (48, "reviewer:wang", date(2029, 1, 1), ground(), InvalidInput,
         "an extension of the List of dishonest judgment defaulters is 12 to 36 months, not 48"),
        (12, "reviewer:wang", date(2029, 4, 1), ground(), InvalidTransition,
         "list entry 5 is not in force: only a listing in force can be extended"),
    ],
)  # fmt: skip
def test_an_extension_is_refused(
    catalog: Catalog,
    months: int,
    reviewer: str,
    day: date,
    ground_fact: GroundFact | None,
    error: type[Exception],
    message: str,
) -> None:
    view = fold(listed_steps())
    assert view is not None and view.approved_by == "reviewer:li"
    with pytest.raises(error) as info:
        extension_end(
            catalog.lists[COURT], 5, view, ground_ends(7, ground_fact), months=months, reviewer=reviewer, day=day
        )
    assert str(info.value) == message


def test_extensions_repeated_stop_at_the_lists_longest_stay(catalog: Catalog) -> None:
    listing = catalog.lists[COURT]  # 24 months' term, extensions of 12 to 36 months
    steps = listed_steps()
    view = fold(steps)
    assert view is not None
    ends = extension_end(listing, 5, view, None, months=36, reviewer="reviewer:wang", day=date(2029, 1, 1))
    assert ends == date(2032, 4, 1)  # 60 months after listing: the most there is
    steps.append(step(4, Action.EXTEND, State.LISTED, date(2029, 1, 1), "reviewer:wang", ends_on=ends))
    view = fold(steps)
    assert view is not None and view.ends_on == ends
    with pytest.raises(InvalidInput) as info:
        extension_end(listing, 5, view, None, months=12, reviewer="reviewer:zhao", day=date(2032, 1, 1))
    assert str(info.value) == (
        "list entry 5 is listed from 2027-04-01 to 2032-04-01: 12 more months would exceed the List of dishonest "
        "judgment defaulters's longest stay of 60 months (24 months' term and at most 36 months' extension)"
    )


@pytest.mark.parametrize("reason", [".....", "…… ……", "\u200b\u200b\u200b\u200b\u200b", "TODO!", "xxxxx", "n/a n/a"])
def test_a_reason_without_real_words_is_refused(reason: str) -> None:
    assert words_problem(reason) is not None


@pytest.mark.parametrize("reason", ["a new default judgment on the same obligation", "再次被判决失信"])
def test_a_reason_with_real_words_passes(reason: str) -> None:
    assert words_problem(reason) is None


def test_an_objection_suspends_only_once_past_its_deadline() -> None:
    due = date(2027, 3, 22)
    assert suspension(4, "record:court/C-1", due, due) is None
    assert suspension(4, "record:court/C-1", due, date(2027, 3, 23)) == (
        "suspended: objection 4 to record:court/C-1 is undecided past its decision deadline of 2027-03-22; "
        "what cannot be verified in time is not used (FCRA s.611)"
    )
