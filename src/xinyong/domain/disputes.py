"""Objections and credit repair: deadlines, appeal rules and repair eligibility, as pure functions.

The numbers are policy data (the catalog's `procedures` entry); working days come from its
holiday calendar. A refusal of repair always names the unmet condition and the day the subject
may apply again, so that no one is refused without knowing what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from xinyong.domain.catalog.models import Procedure, RecordType, Severity
from xinyong.domain.errors import InvalidInput
from xinyong.domain.scoring import add_months
from xinyong.domain.workdays import add_working_days


class TargetKind(StrEnum):
    RECORD = "record"  # the record is wrong: correct or revoke it
    ENTRY = "entry"  # the list entry is wrong
    LINK = "link"  # the record is about someone else: undo the subject link
    SCORE = "score"  # the score is wrong


class Outcome(StrEnum):
    UPHELD = "upheld"
    DISMISSED = "dismissed"
    OWNER_RESOLVED = "owner_resolved"  # forwarded to the list's owner, whose corrected record ended the entry
    ENTRY_ENDED = "entry_ended"  # forwarded, and the entry ended otherwise (its term...) before the owner decided
    OWNER_MAINTAINED = "owner_maintained"  # forwarded, and the owner answered with reasons that its record stands


# What the owner of a list may answer to an objection forwarded to it, besides its corrected or
# revoked record (which it submits with a higher revision, as any record).
RECORD_STANDS = "record_stands"


class RepairOutcome(StrEnum):
    APPROVED = "approved"
    REFUSED = "refused"


class Unmet(StrEnum):
    """Why a repair cannot be approved yet."""

    NOT_REPAIRABLE = "not_repairable"  # the record is not adverse, or its list forbids repair
    PERIOD_NOT_SERVED = "period_not_served"
    OBLIGATION_NOT_MET = "obligation_not_met"
    NO_COMMITMENT = "no_commitment"
    NOT_COUNTING = "not_counting"  # the record is already revoked, repaired or superseded


UNMET_TEXT = {
    Unmet.NOT_REPAIRABLE: "this record cannot be repaired (it is not adverse, or its list does not allow repair)",
    Unmet.PERIOD_NOT_SERVED: "the minimum period for the record's severity has not been served",
    Unmet.OBLIGATION_NOT_MET: "the evidence does not show that the obligation has been met",
    Unmet.NO_COMMITMENT: "no credit commitment was filed",
    Unmet.NOT_COUNTING: "the record no longer counts (revoked, repaired or replaced)",
}


def objection_due(procedure: Procedure, filed_on: date) -> date:
    return add_working_days(filed_on, procedure.objection_decision_working_days, procedure.holiday_calendar)


def suspension(objection_id: int, target: str, due_on: date, day: date) -> str | None:
    """Why a ground under an undecided objection cannot be used on `day`, or None while it can.

    An objection is decided within its deadline (working days, counted when it was filed); one
    still undecided after it suspends every sanction resting on its target until it is decided:
    what cannot be verified in time is not used (FCRA s.611).
    """
    if day <= due_on:
        return None
    return (
        f"suspended: objection {objection_id} to {target} is undecided past its decision deadline of "
        f"{due_on.isoformat()}; what cannot be verified in time is not used (FCRA s.611)"
    )


def appeal_until(procedure: Procedure, dismissed_on: date) -> date:
    """The last day an appeal may be filed (calendar days, as the reference procedure counts them)."""
    return dismissed_on + timedelta(days=procedure.appeal_days)


def correction_due(procedure: Procedure, decided_on: date) -> date:
    return add_working_days(decided_on, procedure.correction_working_days, procedure.holiday_calendar)


def repair_due(procedure: Procedure, filed_on: date) -> date:
    return add_working_days(filed_on, procedure.repair_decision_working_days, procedure.holiday_calendar)


def removal_due(within_working_days: int, reported_on: date, calendar: str) -> date:
    return add_working_days(reported_on, within_working_days, calendar)


def minimum_months(procedure: Procedure, severity: Severity | None) -> int:
    if severity is None:
        return 0
    return int(getattr(procedure.repair_min_months, severity.value))


@dataclass(frozen=True)
class RepairAssessment:
    """What holds and what does not for one repair request, on one day."""

    unmet: list[Unmet]
    served_on: date  # the day the minimum period is served
    reapply_on: date | None  # when a refused subject may apply again (None: once the condition is met)

    @property
    def eligible(self) -> bool:
        return not self.unmet

    def explain(self) -> str:
        if not self.unmet:
            return "every condition of credit repair is met"
        parts = [UNMET_TEXT[u] for u in self.unmet]
        if Unmet.PERIOD_NOT_SERVED in self.unmet:
            parts[self.unmet.index(Unmet.PERIOD_NOT_SERVED)] += f" (served on {self.served_on.isoformat()})"
        return "; ".join(parts)


def assess_repair(
    procedure: Procedure,
    record_type: RecordType,
    *,
    valid_from: date,
    counting: bool,
    repairable: bool,
    obligation_met: bool,
    commitment: bool,
    today: date,
) -> RepairAssessment:
    """Check the conditions of credit repair for one record on `today`."""
    served_on = add_months(valid_from, minimum_months(procedure, record_type.severity))
    unmet: list[Unmet] = []
    if record_type.polarity.value != "adverse" or not repairable:
        unmet.append(Unmet.NOT_REPAIRABLE)
    if not counting:
        unmet.append(Unmet.NOT_COUNTING)
    if today < served_on:
        unmet.append(Unmet.PERIOD_NOT_SERVED)
    if not obligation_met:
        unmet.append(Unmet.OBLIGATION_NOT_MET)
    if not commitment:
        unmet.append(Unmet.NO_COMMITMENT)
    reapply = served_on if Unmet.PERIOD_NOT_SERVED in unmet else None
    return RepairAssessment(unmet, served_on, reapply)


def parse_record_ref(ref: str) -> tuple[str, str]:
    source_id, sep, source_ref = ref.partition("/")
    if not sep or not source_id or not source_ref:
        raise InvalidInput(f"record '{ref}': write it as SOURCE/SOURCE_REF, e.g. court/(2026)浙0106执1234号")
    return source_id, source_ref


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    source_id: str | None = None
    source_ref: str | None = None
    entry_id: int | None = None
    score_id: int | None = None

    @property
    def text(self) -> str:
        if self.kind in (TargetKind.RECORD, TargetKind.LINK):
            return f"{self.kind.value} {self.source_id}/{self.source_ref}"
        return f"{self.kind.value} {self.entry_id if self.kind is TargetKind.ENTRY else self.score_id}"


def parse_target(text: str) -> Target:
    kind, sep, rest = text.partition(":")
    try:
        k = TargetKind(kind)
    except ValueError:
        raise InvalidInput(f"target '{text}': start with record:, link:, entry: or score:") from None
    if not sep or not rest:
        raise InvalidInput(f"target '{text}': name what is objected to, e.g. record:court/REF, entry:12, score:40")
    if k in (TargetKind.RECORD, TargetKind.LINK):
        src, ref = parse_record_ref(rest)
        return Target(k, source_id=src, source_ref=ref)
    if not (rest.isascii() and rest.isdigit()) or len(rest) > 18:
        raise InvalidInput(f"target '{text[:80]}': {k.value} ids are numbers of 1 to 18 digits")
    return Target(k, entry_id=int(rest)) if k is TargetKind.ENTRY else Target(k, score_id=int(rest))
