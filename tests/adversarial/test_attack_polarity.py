"""Principle 2 under attack: opting in, a commendation or a watch list turned into a burden."""

from __future__ import annotations

import pytest
from attack import attack

MEASURE = """
measures:
  - id: inspection.hostile
    name: A measure that turns a good thing into a burden
    effect: {effect}
    implementing_department: samr
    contexts: [{context}]
    trigger: {trigger}
    subject_kinds: [{kinds}]
    legal_basis: {{instrument: Hostile Municipal Measures, article: Art. 4}}
"""


def measure(
    effect="inspect_more", context="inspection.planning", trigger="{record_type: consent.scoring}", kinds="person"
):
    return MEASURE.format(effect=effect, context=context, trigger=trigger, kinds=kinds)


WHERE = "extra.yaml:{line}: measure 'inspection.hostile': principle 2, scores inform, lists decide: "


@pytest.mark.parametrize(
    "trigger,record",
    [
        ("{record_type: consent.scoring}", "'consent.scoring' is a neutral record (a consent)"),
        ("{record_type: gov.commendation}", "'gov.commendation' is a favourable record"),
        ("{record_type: tax.a_grade}", "'tax.a_grade' is a favourable record"),
    ],
)
@pytest.mark.parametrize("effect", ["inspect_more", "inspect_less", "review"])
def test_favourable_and_consent_records_trigger_rewards_only(tmp_path, trigger, record, effect):
    kinds = (
        "person, organisation" if "commendation" in trigger else ("organisation" if "a_grade" in trigger else "person")
    )
    messages = attack(tmp_path, "polarity", extra=measure(effect=effect, trigger=trigger, kinds=kinds))
    assert messages[0] == WHERE.format(line=7) + (
        f"{record}: favourable and consent records trigger rewards only, never '{effect}' [polarity]"
    )


def test_the_red_list_cannot_bring_closer_supervision(tmp_path):
    [message] = attack(tmp_path, "polarity", extra=measure(trigger="{list: red.trustworthy}", kinds="organisation"))
    assert (
        message
        == WHERE.format(line=4) + "a red list rewards: it cannot trigger 'inspect_more' (a supervision) [polarity]"
    )


WATCH = """
lists:
  - id: watch.residents
    kind: watch
    name: Residents under key supervision
    subject_kinds: [person]
    entry: [{record_type: tax.arrears}]
    reviewer_required: false
    notice_days: 30
    term_months: 12
    removal: [{when: record_revoked, within_working_days: 3}]
    public: false
    legal_basis: {instrument: Hostile Municipal Measures, article: Art. 2}
"""


@pytest.mark.parametrize(
    "trigger,basis",
    [
        ("{list: watch.residents}", "list 'watch.residents'"),
        ("{record_type: tax.arrears}", "record type 'tax.arrears'"),
    ],
)
def test_persons_meet_closer_supervision_only_from_adjudicated_records_or_black_lists(tmp_path, trigger, basis):
    extra = WATCH + measure(trigger=trigger).replace("measures:\n", "measures:\n", 1)
    [message] = attack(tmp_path, "polarity", extra=extra)
    assert message == WHERE.format(line=21) + (
        f"'inspect_more' on persons needs an adjudicated adverse record or a black-list entry; {basis} is neither "
        "(drop 'person' from subject_kinds, or trigger on such a ground) [polarity]"
    )
