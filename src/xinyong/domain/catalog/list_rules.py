"""List rules: what may put a subject on a list, the due-process floors, and who owns a list.

A black list takes serious documented adverse records, a red list favourable ones, a watch list
adverse ones. An adverse list respects the floors of floors.py (principle 5: configuration may be
stricter, never looser). A black list names its owner, the source whose decisions ground it: only
that source submits its records, and only that source's record decisions (a correction reporting
the obligation met, a revocation) end its entries; credit repair ends them only where the owner's
law provides for it (`repair_basis`).
"""

from __future__ import annotations

from typing import cast

from xinyong.domain.catalog import floors
from xinyong.domain.catalog.condition_rules import Problems, check_conditions, type_ref
from xinyong.domain.catalog.models import ListDefinition, Polarity, RecordType, Severity, Source
from xinyong.domain.catalog.problems import Located

# Removal conditions that come from the owner's own record decisions.
RECORD_DRIVEN = frozenset({"obligation_met", "record_revoked"})


def check_list(
    loc: Located, types: dict[str, Located], sources: dict[str, Located], sanctioning: bool, problems: Problems
) -> None:
    """All rules of one list; `sanctioning` when a measure may deny or review on its entries."""
    lst = cast(ListDefinition, loc.entry)
    entry_types = []
    for i, crit in enumerate(lst.entry):
        rt = type_ref(loc, crit.record_type, types, problems, "entry", i, "record_type")
        if rt is None:
            continue
        entry_types.append(rt)
        check_conditions(loc, crit.conditions, rt, problems, "entry", i)
        _check_entry_type(loc, lst, rt, i, problems)
    if lst.extension and lst.extension.min_months > lst.extension.max_months:
        problems.append(loc.problem("invalid-value", "extension min_months exceeds max_months", "extension"))
    if lst.kind != "red":
        _check_floors(loc, lst, sanctioning or lst.kind == "black", problems)
    if lst.owner is not None or lst.kind == "black":
        _check_owner(loc, lst, entry_types, sources, problems)


def _check_entry_type(loc: Located, lst: ListDefinition, rt: RecordType, i: int, problems: Problems) -> None:
    if not set(rt.subject_kinds) & set(lst.subject_kinds):
        problems.append(
            loc.problem("subject-kind", f"record type '{rt.id}' concerns no subject kind of this list", "entry", i)
        )
    if lst.kind == "black" and not (
        rt.polarity is Polarity.ADVERSE and rt.severity is Severity.SERIOUS and rt.requires_document
    ):
        problems.append(
            loc.problem(
                "black-list-entry",
                f"a black list takes only serious adverse records backed by a decision document; "
                f"'{rt.id}' is {rt.polarity.value}"
                + (f", {rt.severity.value}" if rt.severity else "")
                + ("" if rt.requires_document else ", without required document"),
                "entry",
                i,
                "record_type",
            )
        )
    if lst.kind == "red" and rt.polarity is not Polarity.FAVOURABLE:
        problems.append(
            loc.problem("red-list-entry", f"a red list takes only favourable records; '{rt.id}' is not", "entry", i)
        )
    if lst.kind == "watch" and rt.polarity is not Polarity.ADVERSE:
        problems.append(
            loc.problem("watch-list-entry", f"a watch list takes only adverse records; '{rt.id}' is not", "entry", i)
        )


def _check_floors(loc: Located, lst: ListDefinition, sanctioning: bool, problems: Problems) -> None:
    looser = "configuration may be stricter than the floors in code, never looser"
    if sanctioning and lst.reviewer_required is not floors.REVIEWER_REQUIRED:
        problems.append(
            loc.violation(
                5,
                "due-process-floor",
                "a list that can lead to a sanction publishes an entry only after a reviewer decided the "
                f"proposal: set 'reviewer_required: true' ({looser})",
                "reviewer_required",
            )
        )
    if lst.notice_days < floors.NOTICE_DAYS_MIN:
        problems.append(
            loc.violation(
                5,
                "due-process-floor",
                f"notice_days {lst.notice_days} is below the floor of {floors.NOTICE_DAYS_MIN} days' notice "
                f"before an adverse listing is published ({looser})",
                "notice_days",
            )
        )
    if lst.term_months > floors.TERM_MONTHS_MAX:
        problems.append(
            loc.violation(
                5,
                "due-process-floor",
                f"term_months {lst.term_months} is above the floor of at most {floors.TERM_MONTHS_MAX} months "
                f"per listing; a longer stay needs a reasoned extension ({looser})",
                "term_months",
            )
        )
    if len(lst.removal) < floors.REMOVAL_PATHS_MIN:
        problems.append(
            loc.violation(
                5,
                "due-process-floor",
                "no removal path: an entry lives only while its ground does; add at least "
                "'{when: record_revoked, within_working_days: 3}' and the obligation being met",
                "removal",
            )
        )
    for i, rule in enumerate(lst.removal):
        if rule.within_working_days > floors.REMOVAL_WORKING_DAYS_MAX:
            problems.append(
                loc.violation(
                    5,
                    "due-process-floor",
                    f"removal when {rule.when} within {rule.within_working_days} working days is above the floor "
                    f"of {floors.REMOVAL_WORKING_DAYS_MAX} working days ({looser})",
                    "removal",
                    i,
                    "within_working_days",
                )
            )


def _check_owner(
    loc: Located, lst: ListDefinition, entry_types: list[RecordType], sources: dict[str, Located], problems: Problems
) -> None:
    owner_id = lst.owner
    if owner_id is None:
        problems.append(
            loc.violation(
                5,
                "list-owner",
                "a black list names its owner, the source whose decisions ground and end its entries "
                "(e.g. 'owner: court'): each national list keeps its owning authority",
                "kind",
            )
        )
        return
    owner = sources.get(owner_id)
    if owner is None:
        problems.append(loc.problem("unknown-reference", f"unknown owner '{owner_id}' (not a source)", "owner"))
        return
    submits = set(cast(Source, owner.entry).submits)
    for rt in {t.id: t for t in entry_types}.values():
        if rt.id not in submits:
            problems.append(
                loc.violation(
                    5,
                    "list-owner",
                    f"owner '{owner_id}' does not submit '{rt.id}': a list's owner is the source whose "
                    "decisions put subjects on it",
                    "owner",
                )
            )
        others = [s for s, other in sources.items() if s != owner_id and rt.id in cast(Source, other.entry).submits]
        for other in others:
            problems.append(
                loc.violation(
                    5,
                    "list-owner",
                    f"source '{other}' also submits '{rt.id}', a ground of the list owned by '{owner_id}': only "
                    "the owner's decisions may ground and end its entries",
                    "owner",
                )
            )
    repair = lst.repairable or any(r.when not in RECORD_DRIVEN for r in lst.removal)
    if repair and lst.repair_basis is None:
        problems.append(
            loc.violation(
                5,
                "list-owner",
                f"an entry of the list owned by '{owner_id}' ends only by the owner's record decisions "
                "(obligation met, record revoked); credit repair may end it only where the owner's law provides "
                "for repair: set 'repairable: false' and drop 'repair_approved', or cite that provision in "
                "'repair_basis'",
                "repairable" if lst.repairable else "removal",
            )
        )
