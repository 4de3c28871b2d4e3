"""Principle 8 under attack: contexts without purpose codes, codes that only look alike, and the
command line that must say all of it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from attack import attack, hostile_catalog

CONTEXT = """
contexts:
  - id: procurement.framework
    name: Framework agreements
    sector: procurement
{purposes}
"""
WHERE = "extra.yaml:{line}: context 'procurement.framework': principle 8, least data: "


def test_a_context_without_purposes_is_refused(tmp_path):
    assert attack(tmp_path, "purposes", extra=CONTEXT.format(purposes="")) == [
        WHERE.format(line=2) + "context 'procurement.framework' declares no purposes: list the purpose codes a check "
        "here may name (a consumer key is bound to its contexts and these codes) [purposes]"
    ]


@pytest.mark.parametrize("code", ["Tender Loin", "tender-loin", "tender__loin", "_tender", "投标", "a" * 41])
def test_a_malformed_purpose_code_is_refused(tmp_path, code):
    purposes = f"    purposes:\n      - {{code: '{code}', name: Screening, name_zh: 审查}}"
    assert attack(tmp_path, "purposes", extra=CONTEXT.format(purposes=purposes)) == [
        WHERE.format(line=6) + f"purpose code '{code}' is malformed: a short snake_case code (a-z, 0-9 and single "
        "underscores, at most 40 characters) [purposes]"
    ]


def test_a_purpose_code_declared_twice_is_refused(tmp_path):
    purposes = (
        "    purposes:\n      - {code: screening, name: Screening, name_zh: 审查}\n"
        "      - {code: screening, name: Screening again, name_zh: 再审查}"
    )
    assert attack(tmp_path, "purposes", extra=CONTEXT.format(purposes=purposes)) == [
        WHERE.format(line=7)
        + "purpose code 'screening' is declared twice in context 'procurement.framework' [purposes]"
    ]


def test_purposes_are_codes_of_their_context_matched_exactly(catalog):
    codes = catalog.purpose_codes("procurement.tender")
    assert {"bidder_screening", "contract_award"} <= codes
    assert "tenderloin" not in codes and "bidder" not in codes and "bidder_screening_x" not in codes
    assert all(p.name and p.name_zh for c in catalog.contexts for p in catalog.purposes_of(c))
    assert catalog.purpose_codes("healthcare.services") == {"admission"}
    with pytest.raises(KeyError):
        catalog.purposes_of("travel.flights")


def test_catalog_check_prints_every_refusal_with_file_line_entry_and_principle(tmp_path):
    root = hostile_catalog(
        tmp_path,
        extra=CONTEXT.format(purposes="").replace("procurement.framework", "hospital.admission"),
        edits={"procedures.yaml": [("objection_decision_working_days: 15", "objection_decision_working_days: 45")]},
    )
    run = subprocess.run(
        [sys.executable, "-m", "xinyong", "catalog", "check", str(root)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1
    lines = run.stderr.splitlines()
    assert lines[:3] == [
        "extra.yaml:2: context 'hospital.admission': principle 3, protected contexts: context 'hospital.admission' "
        "names a protected service (healthcare: 'hospital' in its id) but is in sector 'procurement'; put it in the "
        "protected sector 'healthcare', where no measure applies [protected-context]",
        "extra.yaml:2: context 'hospital.admission': principle 8, least data: context 'hospital.admission' declares no "
        "purposes: list the purpose codes a check here may name (a consumer key is bound to its contexts and these "
        "codes) [purposes]",
        "procedures.yaml:6: procedure 'default': principle 5, due process: objection_decision_working_days 45 is above "
        "the floor of 30 working days to decide an objection (configuration may be stricter than the floors in code, "
        "never looser) [due-process-floor]",
    ]
    assert "3 problem(s); the catalog is refused" in run.stderr
