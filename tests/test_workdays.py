"""Working days from the Chinese calendar, and repair eligibility as a pure function."""

from __future__ import annotations

from datetime import date

from xinyong.domain.catalog import Catalog
from xinyong.domain.disputes import Unmet, appeal_until, assess_repair, objection_due
from xinyong.domain.workdays import add_working_days, is_working_day


def test_national_day_holidays_are_skipped_and_the_adjusted_saturday_counts() -> None:
    # 1-7 October 2026 are statutory holidays; Saturday 10 October is a working day in exchange.
    assert not is_working_day(date(2026, 10, 1))
    assert is_working_day(date(2026, 10, 10))
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert add_working_days(date(2026, 9, 30), 0) == date(2026, 9, 30)


def test_objection_deadline_counts_working_days_and_appeals_count_calendar_days(catalog: Catalog) -> None:
    # Friday 27 November 2026 + 15 working days (weekends skipped) = Friday 18 December.
    assert objection_due(catalog.procedure, date(2026, 11, 27)) == date(2026, 12, 18)
    assert appeal_until(catalog.procedure, date(2026, 11, 27)) == date(2026, 12, 7)


def test_repair_eligibility_names_every_unmet_condition(catalog: Catalog) -> None:
    serious = catalog.record_types["court.defaulter"]
    a = assess_repair(
        catalog.procedure,
        serious,
        valid_from=date(2026, 1, 31),
        counting=True,
        repairable=True,
        obligation_met=False,
        commitment=False,
        today=date(2026, 6, 1),
    )
    assert a.unmet == [Unmet.PERIOD_NOT_SERVED, Unmet.OBLIGATION_NOT_MET, Unmet.NO_COMMITMENT]
    assert a.served_on == date(2027, 1, 31) and a.reapply_on == date(2027, 1, 31)
    assert "served on 2027-01-31" in a.explain()
    general = catalog.record_types["tax.arrears"]
    ok = assess_repair(
        catalog.procedure,
        general,
        valid_from=date(2026, 1, 31),
        counting=True,
        repairable=True,
        obligation_met=True,
        commitment=True,
        today=date(2026, 4, 30),
    )
    assert ok.eligible and ok.served_on == date(2026, 4, 30)
    favourable = catalog.record_types["tax.a_grade"]
    no = assess_repair(
        catalog.procedure,
        favourable,
        valid_from=date(2020, 1, 1),
        counting=True,
        repairable=True,
        obligation_met=True,
        commitment=True,
        today=date(2026, 4, 30),
    )
    assert no.unmet == [Unmet.NOT_REPAIRABLE]
