"""Principle 5 under attack: floors loosened in configuration, and a national list taken from its owner."""

from __future__ import annotations

import pytest
from attack import attack, hostile_catalog

from xinyong.domain.catalog import load_catalog

LISTS = "lists.yaml"
COURT = "black.court_defaulters"


def court(line: int, message: str, rule: str = "due-process-floor") -> str:
    return f"lists.yaml:{line}: list '{COURT}': principle 5, due process: {message} [{rule}]"


LOOSER = "configuration may be stricter than the floors in code, never looser"


def test_a_black_list_published_the_day_it_is_proposed_is_refused(tmp_path):
    edits = {LISTS: [("    reviewer_required: true\n    notice_days: 30\n    term_months: 24\n",
                      "    reviewer_required: false\n    notice_days: 0\n    term_months: 24\n")]}  # fmt: skip
    assert attack(tmp_path, "due-process-floor", edits=edits) == [
        court(18, "a list that can lead to a sanction publishes an entry only after a reviewer decided the proposal: "
                  f"set 'reviewer_required: true' ({LOOSER})"),
        court(19, f"notice_days 0 is below the floor of 10 days' notice before an adverse listing is published ({LOOSER})"),
    ]  # fmt: skip


def test_a_sixty_month_term_is_refused(tmp_path):
    edits = {LISTS: [("    notice_days: 30\n    term_months: 24\n", "    notice_days: 30\n    term_months: 60\n")]}
    assert attack(tmp_path, "due-process-floor", edits=edits) == [
        court(20, "term_months 60 is above the floor of at most 36 months per listing; a longer stay needs a reasoned "
                  f"extension ({LOOSER})"),
    ]  # fmt: skip


def test_a_list_with_no_way_off_is_refused(tmp_path):
    edits = {LISTS: [(
        "    removal:\n      - {when: obligation_met, within_working_days: 3}\n      - {when: record_revoked, "
        "within_working_days: 3}\n    repairable: false\n    public: true\n    legal_basis:\n      instrument: Provisions",
        "    removal: []\n    repairable: false\n    public: true\n    legal_basis:\n      instrument: Provisions",
    )]}  # fmt: skip
    assert attack(tmp_path, "due-process-floor", edits=edits) == [
        court(22, "no removal path: an entry lives only while its ground does; add at least "
                  "'{when: record_revoked, within_working_days: 3}' and the obligation being met"),
    ]  # fmt: skip


def test_a_slow_removal_is_refused(tmp_path):
    edits = {LISTS: [("      - {when: obligation_met, within_working_days: 3}\n      - {when: record_revoked, within_working_days: 3}\n    repairable: false",
                      "      - {when: obligation_met, within_working_days: 20}\n      - {when: record_revoked, within_working_days: 3}\n    repairable: false")]}  # fmt: skip
    assert attack(tmp_path, "due-process-floor", edits=edits) == [
        court(23, f"removal when obligation_met within 20 working days is above the floor of 5 working days ({LOOSER})"),
    ]  # fmt: skip


def test_a_forty_five_working_day_objection_deadline_is_refused(tmp_path):
    edits = {"procedures.yaml": [("objection_decision_working_days: 15", "objection_decision_working_days: 45")]}
    assert attack(tmp_path, "due-process-floor", edits=edits) == [
        "procedures.yaml:6: procedure 'default': principle 5, due process: objection_decision_working_days 45 is above "
        "the floor of 30 working days to decide an objection (configuration may be stricter than the floors in code, "
        "never looser) [due-process-floor]"
    ]


def test_stricter_than_the_floors_is_accepted(tmp_path):
    from xinyong.domain.catalog import floors

    edits = {
        LISTS: [("    notice_days: 30\n    term_months: 24\n", "    notice_days: 45\n    term_months: 12\n")],
        "procedures.yaml": [("objection_decision_working_days: 15", "objection_decision_working_days: 10")],
    }
    catalog = load_catalog(hostile_catalog(tmp_path, edits=edits))
    assert (catalog.lists[COURT].notice_days, catalog.lists[COURT].term_months) == (45, 12)
    assert floors.NOTICE_DAYS_MIN <= 45 and floors.TERM_MONTHS_MAX >= 12


# -- each national list keeps its owner ----------------------------------------------------------


def test_credit_repair_may_not_end_a_court_listing(tmp_path):
    edits = {LISTS: [("      - {when: record_revoked, within_working_days: 3}\n    repairable: false\n    public: true\n    legal_basis:\n      instrument: Provisions",
                      "      - {when: record_revoked, within_working_days: 3}\n      - {when: repair_approved, within_working_days: 3}\n    repairable: true\n    public: true\n    legal_basis:\n      instrument: Provisions")]}  # fmt: skip
    assert attack(tmp_path, "list-owner", edits=edits) == [
        court(26, "an entry of the list owned by 'court' ends only by the owner's record decisions (obligation met, "
                  "record revoked); credit repair may end it only where the owner's law provides for repair: set "
                  "'repairable: false' and drop 'repair_approved', or cite that provision in 'repair_basis'",
              "list-owner"),
    ]  # fmt: skip


MERGED = """
lists:
  - id: black.everything
    kind: black
    name: One black list for every department
    subject_kinds: [person, organisation]
    entry: [{record_type: court.defaulter}, {record_type: tax.major_violation}]
    removal: [{when: record_revoked, within_working_days: 3}]
    repairable: false
    public: true
    legal_basis: {instrument: Hostile Municipal Measures, article: Art. 7}
"""


def test_a_black_list_names_its_owner(tmp_path):
    assert attack(tmp_path, "list-owner", extra=MERGED) == [
        "extra.yaml:3: list 'black.everything': principle 5, due process: a black list names its owner, the source "
        "whose decisions ground and end its entries (e.g. 'owner: court'): each national list keeps its owning "
        "authority [list-owner]"
    ]


def test_a_merged_list_cannot_borrow_another_authority_s_records(tmp_path):
    extra = MERGED.replace(
        "    subject_kinds: [person, organisation]\n", "    owner: court\n    subject_kinds: [person, organisation]\n"
    )
    assert attack(tmp_path, "list-owner", extra=extra) == [
        "extra.yaml:5: list 'black.everything': principle 5, due process: owner 'court' does not submit "
        "'tax.major_violation': a list's owner is the source whose decisions put subjects on it [list-owner]",
        "extra.yaml:5: list 'black.everything': principle 5, due process: source 'tax' also submits "
        "'tax.major_violation', a ground of the list owned by 'court': only the owner's decisions may ground and "
        "end its entries [list-owner]",
    ]


def test_a_second_source_may_not_ground_an_owned_list(tmp_path):
    extra = """
    sources:
      - id: district_court
        name: District court
        submits: [court.defaulter]
        legal_basis: {instrument: Civil Procedure Law, article: Art. 262}
    """
    assert attack(tmp_path, "list-owner", extra=extra) == [
        "lists.yaml:12: list 'black.court_defaulters': principle 5, due process: source 'district_court' also submits "
        "'court.defaulter', a ground of the list owned by 'court': only the owner's decisions may ground and end its "
        "entries [list-owner]"
    ]


@pytest.mark.parametrize("list_id,owner", [("black.court_defaulters", "court"), ("black.major_tax_violations", "tax"),
                                           ("black.samr_serious_violations", "samr"), ("black.wage_arrears", "labour")])  # fmt: skip
def test_each_shipped_national_list_keeps_its_owner_and_its_own_basis(catalog, list_id, owner):
    from xinyong.domain.catalog import floors

    lst = catalog.lists[list_id]
    assert lst.owner == owner and lst.kind == "black"
    assert {c.record_type for c in lst.entry} <= set(catalog.sources[owner].submits)
    assert lst.repairable == (lst.repair_basis is not None)
    assert lst.term_months <= floors.TERM_MONTHS_MAX and lst.notice_days >= floors.NOTICE_DAYS_MIN
    others = {lid for lid, other in catalog.lists.items() if other.legal_basis == lst.legal_basis}
    assert others == {list_id}
