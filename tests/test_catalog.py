"""The shipped catalog, its version, and every refusal of the loader (each its own test)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from xinyong.domain.catalog import CatalogError, default_catalog_dir, load_catalog
from xinyong.domain.catalog.models import PROTECTED_SECTORS, PUBLICATION_MONTHS, MeasureKind, Polarity


def test_shipped_catalog_meets_the_minimum(catalog):
    types = catalog.record_types.values()
    assert len(catalog.record_types) >= 15
    submitting = [s for s in catalog.sources.values() if s.submits]
    assert len(submitting) >= 7
    assert {p for t in types for p in [t.polarity]} >= {Polarity.ADVERSE, Polarity.FAVOURABLE}
    assert {k for t in types for k in t.subject_kinds} == {"person", "organisation"}
    # One black list per owning authority (court, tax, market regulation, labour), one red, one watch.
    assert {lst.kind for lst in catalog.lists.values()} == {"black", "red", "watch"}
    assert sorted(lst.owner for lst in catalog.lists.values() if lst.kind == "black") == [
        "court",
        "labour",
        "samr",
        "tax",
    ]
    assert len(catalog.measures) >= 10
    kinds = {m.kind for m in catalog.measures.values()}
    assert {MeasureKind.SANCTION, MeasureKind.REWARD} <= kinds
    for m in catalog.measures.values():
        assert m.implementing_department in catalog.sources
        assert m.contexts and m.legal_basis.instrument
        assert all(catalog.contexts[c].sector not in PROTECTED_SECTORS for c in m.contexts)
    for t in types:
        assert t.legal_basis.instrument
        if t.severity is not None:
            low, high = PUBLICATION_MONTHS[t.severity]
            assert low <= t.publication_months <= high
    for name in ("court.defaulter", "tax.arrears", "tax.major_violation", "customs.aeo_certified", "consent.scoring"):
        assert name in catalog.record_types


def test_version_is_stable_and_ignores_formatting(tmp_path):
    a = load_catalog()
    b = load_catalog()
    assert a.version == b.version and len(a.version) == 64
    copy = tmp_path / "cat"
    shutil.copytree(default_catalog_dir(), copy)
    path = copy / "contexts.yaml"
    path.write_text("# a new comment\n\n" + path.read_text())
    assert load_catalog(copy).version == a.version
    path.write_text(
        path.read_text().replace("Participation in a government procurement tender", "Tender participation")
    )
    assert load_catalog(copy).version != a.version


@pytest.fixture
def cat_dir(tmp_path):
    copy = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), copy)
    return copy


def refuse(cat_dir: Path, extra: str, rule: str, *, file: str = "extra.yaml") -> list:
    """Add `extra` to the catalog as its own file; assert the loader refuses it for `rule`."""
    (cat_dir / file).write_text(textwrap.dedent(extra).lstrip())
    with pytest.raises(CatalogError) as info:
        load_catalog(cat_dir)
    hits = [p for p in info.value.problems if p.rule == rule]
    assert hits, f"expected rule {rule}, got {[str(p) for p in info.value.problems]}"
    assert all(p.file == file and p.line for p in hits)
    return hits


RT = """
record_types:
  - id: test.thing
    name: A test record type
    category: market
    polarity: adverse
    severity: general
    subject_kinds: [organisation]
    publication_months: 6
    public: true
{extra}
"""
LB = """    legal_basis: {instrument: Test Law, article: Art. 1}"""


def test_record_type_without_legal_basis(cat_dir):
    [p] = refuse(cat_dir, RT.format(extra=""), "legal-basis")
    assert p.entry == "record type 'test.thing'" and p.line == 2
    assert "legal_basis" in p.message and "principle 1" in p.message


def test_list_without_legal_basis(cat_dir):
    [p] = refuse(
        cat_dir,
        """
        lists:
          - id: black.other
            kind: black
            name: Another black list
            subject_kinds: [organisation]
            entry: [{record_type: market.licence_revoked}]
            public: true
        """,
        "legal-basis",
    )
    assert p.entry == "list 'black.other'"


MEASURE = """
measures:
  - id: test.measure
    name: A test measure
    effect: {effect}
    implementing_department: finance
    contexts: [{context}]
    trigger: {trigger}
    subject_kinds: [organisation]
{extra}
"""


def measure(effect="deny", context="procurement.tender", trigger="{list: black.court_defaulters}", extra=LB):
    return MEASURE.format(effect=effect, context=context, trigger=trigger, extra=extra)


def test_measure_without_legal_basis(cat_dir):
    [p] = refuse(cat_dir, measure(extra=""), "legal-basis")
    assert p.entry == "measure 'test.measure'"


@pytest.mark.parametrize("effect", ["deny", "review"])
def test_sanction_triggered_by_grade(cat_dir, effect):
    [p] = refuse(
        cat_dir, measure(effect=effect, trigger="{grade: {subject_kind: organisation, grades: [D]}}"), "scores-inform"
    )
    assert "principle 2" in p.message and p.line == 7


def test_supervision_by_person_grade(cat_dir):
    text = measure(
        effect="inspect_more", context="inspection.planning", trigger="{grade: {subject_kind: person, grades: [C]}}"
    )
    refuse(cat_dir, text.replace("subject_kinds: [organisation]", "subject_kinds: [person]"), "scores-inform")


PROTECTED = {
    "healthcare": "healthcare.services",
    "education": "education.enrolment",
    "social_assistance": "social.assistance",
    "utilities": "utilities.connection",
    "emergency_services": "emergency.services",
    "justice": "justice.legal_aid",
}


@pytest.mark.parametrize("sector", sorted(PROTECTED))
@pytest.mark.parametrize(
    "effect,trigger", [("deny", "{list: black.court_defaulters}"), ("fast_track", "{list: red.trustworthy}")]
)
def test_any_measure_in_protected_context(cat_dir, sector, effect, trigger):
    assert {s.value for s in PROTECTED_SECTORS} == set(PROTECTED)
    [p] = refuse(cat_dir, measure(effect=effect, context=PROTECTED[sector], trigger=trigger), "protected-context")
    assert sector in p.message and p.line == 6


@pytest.mark.parametrize("binds", ["relatives", "legal_representative", "spouse", "associates"])
def test_measure_binding_anyone_but_the_subject(cat_dir, binds):
    [p] = refuse(cat_dir, measure(extra=f"    binds: {binds}\n{LB}"), "binds-subject-only")
    assert binds in p.message and p.line == 9


def test_free_text_attribute(cat_dir):
    [p] = refuse(
        cat_dir,
        RT.format(extra=LB + "\n    attributes:\n      behaviour: {type: string, description: what they did}"),
        "no-free-text",
    )
    assert "behaviour" in p.message and p.line == 12


def test_unknown_record_type_reference(cat_dir):
    [p] = refuse(
        cat_dir,
        measure(effect="deny", context="finance.subsidy", trigger="{record_type: court.nonexistent}"),
        "unknown-reference",
    )
    assert "court.nonexistent" in p.message


def test_unknown_record_type_submitted_by_source(cat_dir):
    [p] = refuse(
        cat_dir, "sources:\n  - id: port\n    name: Port authority\n    submits: [port.delay]\n", "unknown-reference"
    )
    assert "port.delay" in p.message and p.line == 4


def test_unknown_context(cat_dir):
    [p] = refuse(cat_dir, measure(context="travel.flights"), "unknown-reference")
    assert "travel.flights" in p.message


def test_unknown_implementing_department(cat_dir):
    [p] = refuse(
        cat_dir,
        measure().replace("implementing_department: finance", "implementing_department: nobody"),
        "unknown-reference",
    )
    assert "nobody" in p.message


def test_unknown_list_in_trigger(cat_dir):
    refuse(cat_dir, measure(trigger="{list: black.nonexistent}"), "unknown-reference")


@pytest.mark.parametrize(
    "text,key",
    [
        (RT.format(extra=LB + "\n    colour: red"), "colour"),
        (RT.format(extra=LB.replace("article", "artikel")), "legal_basis.artikel"),
        (RT.format(extra=LB + "\n    attributes:\n      n: {type: integer, minimun: 3}"), "attributes.n.minimun"),
    ],
)
def test_unknown_keys_anywhere(cat_dir, text, key):
    [p] = refuse(cat_dir, text, "unknown-key")
    assert f"'{key}'" in p.message


def test_unknown_section(cat_dir):
    [p] = refuse(cat_dir, "penalties:\n  - id: x\n", "unknown-key")
    assert "penalties" in p.message and p.line == 1


def test_duplicate_key_in_yaml(cat_dir):
    [p] = refuse(cat_dir, RT.format(extra=LB + "\n    public: false"), "yaml")
    assert "appears twice" in p.message


def test_boolean_looking_key(cat_dir):
    [p] = refuse(cat_dir, "lists:\n  - id: x\n    removal:\n      - {on: obligation_met}\n", "yaml")
    assert "quote it" in p.message and p.line == 4


def test_duplicate_id(cat_dir):
    [p] = refuse(cat_dir, RT.format(extra=LB).replace("test.thing", "tax.arrears"), "duplicate-id", file="zz.yaml")
    assert "record_types.yaml:" in p.message


def test_black_list_takes_only_serious_documented_records(cat_dir):
    text = """
    lists:
      - id: black.minor
        kind: black
        name: Black list of minor things
        subject_kinds: [organisation]
        entry: [{record_type: market.abnormal_operations}]
        public: true
        legal_basis: {instrument: Test Law}
    """
    [p] = refuse(cat_dir, text, "black-list-entry")
    assert "serious" in p.message


def test_sanction_needs_adjudicated_record(cat_dir):
    refuse(cat_dir, measure(context="finance.subsidy", trigger="{record_type: tax.arrears}"), "sanction-basis")


def test_watch_list_cannot_trigger_sanction(cat_dir):
    refuse(cat_dir, measure(trigger="{list: watch.key_supervision}"), "list-effect")


def test_publication_period_outside_severity_range(cat_dir):
    [p] = refuse(
        cat_dir, RT.format(extra=LB).replace("publication_months: 6", "publication_months: 30"), "publication-period"
    )
    assert "3-12" in p.message


def test_condition_of_wrong_type(cat_dir):
    text = measure(
        effect="deny",
        context="finance.subsidy",
        trigger="{record_type: court.defaulter, conditions: [{attribute: amount_cny, op: ge, value: lots}]}",
    )
    refuse(cat_dir, text, "condition-type")


def test_condition_on_unknown_attribute(cat_dir):
    text = measure(
        effect="deny",
        context="finance.subsidy",
        trigger="{record_type: court.defaulter, conditions: [{attribute: colour, op: eq, value: red}]}",
    )
    refuse(cat_dir, text, "unknown-reference")


def test_person_ruleset_without_consent(cat_dir):
    path = cat_dir / "rulesets.yaml"
    path.write_text(path.read_text().replace("    requires_consent: consent.scoring\n", ""))
    with pytest.raises(CatalogError) as info:
        load_catalog(cat_dir)
    [p] = [p for p in info.value.problems if p.rule == "person-opt-in"]
    assert p.file == "rulesets.yaml" and p.entry == "ruleset 'person.incentive'"


def test_overlapping_rulesets(cat_dir):
    text = """
    rulesets:
      - id: org.supervision_v2
        version: "2.0"
        subject_kind: organisation
        effective_from: 2025-01-01
        base: 100
        bands: [{grade: A}]
        legal_basis: {instrument: Test Law}
    """
    [p] = refuse(cat_dir, text, "ruleset-overlap")
    assert "org.supervision" in p.message


def test_grade_bands_with_gap(cat_dir):
    path = cat_dir / "rulesets.yaml"
    path.write_text(path.read_text().replace("{grade: B, min: 70, max: 90", "{grade: B, min: 70, max: 85"))
    with pytest.raises(CatalogError) as info:
        load_catalog(cat_dir)
    assert any(p.rule == "grade-bands" and "'B'" in p.message for p in info.value.problems)


def test_person_scheme_must_be_personal(cat_dir):
    refuse(
        cat_dir,
        "schemes:\n  - {id: cn.ric, name: Resident id again, subject_kind: person, personal: false}\n",
        "least-data",
    )


def test_unknown_stdnum_scheme(cat_dir):
    refuse(
        cat_dir,
        "schemes:\n  - {id: xx.nothing, name: Nothing at all, subject_kind: organisation, personal: false}\n",
        "unknown-scheme",
    )


def test_invalid_yaml_and_encoding(cat_dir):
    refuse(cat_dir, "record_types: [\n  - id: x\n", "yaml")
    (cat_dir / "extra.yaml").unlink()
    (cat_dir / "gbk.yaml").write_bytes("contexts:\n  - {id: a.b, name: 采购, sector: procurement}\n".encode("gbk"))
    with pytest.raises(CatalogError) as info:
        load_catalog(cat_dir)
    assert [p.rule for p in info.value.problems] == ["encoding"]


def test_every_problem_is_reported_at_once(cat_dir):
    text = measure(
        effect="deny",
        context="healthcare.services",
        trigger="{grade: {subject_kind: organisation, grades: [D]}}",
        extra="    binds: relatives",
    )
    (cat_dir / "extra.yaml").write_text(textwrap.dedent(text))
    with pytest.raises(CatalogError) as info:
        load_catalog(cat_dir)
    rules = {p.rule for p in info.value.problems}
    assert {"legal-basis"} <= rules  # entry-level failure stops further checks of that entry
    (cat_dir / "extra.yaml").write_text(
        textwrap.dedent(
            measure(
                effect="deny",
                context="healthcare.services",
                trigger="{grade: {subject_kind: organisation, grades: [D]}}",
                extra=f"    binds: relatives\n{LB}",
            )
        )
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(cat_dir)
    assert {"protected-context", "scores-inform", "binds-subject-only"} <= {p.rule for p in info.value.problems}


def test_cli_catalog_check(cat_dir):
    ok = subprocess.run([sys.executable, "-m", "xinyong", "catalog", "check"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "catalog OK" in ok.stdout
    (cat_dir / "extra.yaml").write_text(textwrap.dedent(measure(context="education.enrolment")).lstrip())
    bad = subprocess.run(
        [sys.executable, "-m", "xinyong", "catalog", "check", str(cat_dir)], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "extra.yaml:6: measure 'test.measure':" in bad.stderr
    assert "[protected-context]" in bad.stderr


def test_ruleset_rule_on_unknown_record_type(cat_dir):
    path = cat_dir / "rulesets.yaml"
    path.write_text(
        path.read_text().replace("record_type: court.defaulter, points: -40", "record_type: court.gossip, points: -40")
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(cat_dir)
    [p] = [p for p in info.value.problems if p.rule == "unknown-reference"]
    assert p.entry == "ruleset 'org.supervision'" and "court.gossip" in p.message and p.file == "rulesets.yaml"


def test_grade_bands_that_overlap(cat_dir):
    path = cat_dir / "rulesets.yaml"
    path.write_text(path.read_text().replace("{grade: C, min: 40, max: 70", "{grade: C, min: 40, max: 75"))
    with pytest.raises(CatalogError) as info:
        load_catalog(cat_dir)
    assert any(p.rule == "grade-bands" and "'C'" in p.message and "'B'" in p.message for p in info.value.problems)


# -- due-process deadlines (the 'procedures' entry) ------------------------------------------------


def test_shipped_procedure_holds_the_reference_defaults(catalog):
    p = catalog.procedure
    assert (p.objection_decision_working_days, p.appeal_days, p.repair_decision_working_days) == (15, 10, 10)
    assert (p.repair_min_months.minor, p.repair_min_months.general, p.repair_min_months.serious) == (0, 3, 12)
    assert p.holiday_calendar == "CN"


def test_a_second_procedure_is_refused(cat_dir):
    [p] = refuse(
        cat_dir,
        """
        procedures:
          - id: other
            legal_basis: {instrument: Test Law, article: Art. 1}
        """,
        "procedure",
        file="zz.yaml",  # read after the shipped procedures.yaml, so it is the second
    )
    assert "only one" in p.message and p.entry == "procedure 'other'"


def test_a_catalog_without_procedure_is_refused(cat_dir):
    (cat_dir / "procedures.yaml").unlink()
    with pytest.raises(CatalogError) as info:
        load_catalog(cat_dir)
    assert [p.rule for p in info.value.problems] == ["procedure"]
    assert "due-process deadlines" in info.value.problems[0].message


def test_procedure_bounds_calendar_and_legal_basis(cat_dir):
    (cat_dir / "procedures.yaml").unlink()
    hits = refuse(
        cat_dir,
        """
        procedures:
          - id: default
            objection_decision_working_days: 60
            holiday_calendar: XX
            legal_basis: {instrument: Test Law, article: Art. 1}
        """,
        "invalid-value",
    )
    assert "objection_decision_working_days" in hits[0].message
    (cat_dir / "extra.yaml").write_text(
        "procedures:\n  - id: default\n    holiday_calendar: XX\n    legal_basis: {instrument: Test Law}\n"
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(cat_dir)
    [p] = info.value.problems
    assert p.rule == "procedure" and "unknown holiday calendar 'XX'" in p.message and p.line == 3
    (cat_dir / "extra.yaml").write_text("procedures:\n  - id: default\n")
    refuse(cat_dir, "procedures:\n  - id: default\n", "legal-basis")
