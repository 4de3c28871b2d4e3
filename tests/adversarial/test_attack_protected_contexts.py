"""Principle 3 under attack: a protected service renamed, re-sectored or removed to let a measure in."""

from __future__ import annotations

import pytest
from attack import attack, hostile_catalog

from xinyong.domain.catalog import load_catalog

CONTEXT = """
contexts:
  - id: {id}
    name: {name}
    sector: {sector}
    purposes:
      - {{code: screening, name: Screening before service, name_zh: 服务前审查}}
measures:
  - id: permits.hostile
    name: A sanction that follows the renamed service
    effect: deny
    implementing_department: samr
    contexts: [{id}]
    trigger: {{list: black.court_defaulters}}
    national_item: {{edition: "2021"}}
    subject_kinds: [person, organisation]
    legal_basis: {{instrument: Hostile Municipal Measures, article: Art. 1}}
"""


def expected(ctx: str, sector: str, title: str, term: str, field: str, line: int, protected: str) -> str:
    return (
        f"extra.yaml:{line}: context '{ctx}': principle 3, protected contexts: context '{ctx}' names a protected "
        f"service ({title}: '{term}' in its {field}) but is in sector '{sector}'; put it in the protected sector "
        f"'{protected}', where no measure applies [protected-context]"
    )


@pytest.mark.parametrize(
    "ctx,name,sector,title,term,field,protected",
    [
        ("hospital.admission", "Admission", "permits", "healthcare", "hospital", "id", "healthcare"),
        ("school_admission", "Admission", "market_access", "education", "school", "id", "education"),
        ("medical.insurance_reimbursement", "Reimbursement", "finance", "healthcare", "medic", "id", "healthcare"),
        ("finance.dibao", "Allowance", "finance", "social assistance", "dibao", "id", "social_assistance"),
        (
            "market_access.water_connection",
            "Connection",
            "market_access",
            "basic utilities",
            "waterconnection",
            "id",
            "utilities",
        ),
        # Plurals, compounds, pinyin, Chinese, full-width letters and zero-width characters.
        ("hospitals.registry", "Registry", "permits", "healthcare", "hospital", "id", "healthcare"),
        ("permits.schooling_fees", "Fees", "permits", "education", "school", "id", "education"),
        ("yiyuan.guahao", "Registration", "permits", "healthcare", "yiyuan", "id", "healthcare"),
        ("permits.xue_xiao", "Enrolment office", "permits", "education", "xuexiao", "id", "education"),
        ("permits.registration", "医院挂号", "permits", "healthcare", "医院", "name", "healthcare"),
        (
            "permits.registration",
            "\uff48\uff4f\uff53\uff50\uff49\uff54\uff41\uff4c registration",
            "permits",
            "healthcare",
            "hospital",
            "name",
            "healthcare",
        ),
        (
            "permits.registration",
            "Hos\u200bpital registration",
            "permits",
            "healthcare",
            "hospital",
            "name",
            "healthcare",
        ),
        ("permits.connection", "Gas connection", "permits", "basic utilities", "gasconnection", "name", "utilities"),
        (
            "permits.filing",
            "Access to the courts",
            "permits",
            "access to courts and legal aid",
            "court",
            "name",
            "justice",
        ),
        ("finance.ambulance_fees", "Fees", "finance", "emergency services", "ambulance", "id", "emergency_services"),
    ],
)
def test_a_context_named_for_a_protected_service_must_be_protected(
    tmp_path, ctx, name, sector, title, term, field, protected
):
    extra = CONTEXT.format(id=ctx, name=name, sector=sector)
    line = 2 if field == "id" else 3
    messages = attack(tmp_path, "protected-context", extra=extra)
    assert messages == [expected(ctx, sector, title, term, field, line, protected)]


def test_the_same_context_in_its_protected_sector_loads_and_no_measure_may_use_it(tmp_path):
    extra = CONTEXT.format(id="hospital.admission", name="Admission", sector="healthcare")
    messages = attack(tmp_path, "protected-context", extra=extra)
    assert messages == [
        "extra.yaml:12: measure 'permits.hostile': principle 3, protected contexts: context 'hospital.admission' is in "
        "the protected sector 'healthcare': no measure, reward or sanction, may apply in healthcare, education, social "
        "assistance, utilities, emergency services or justice [protected-context]"
    ]


@pytest.mark.parametrize(
    "ctx,name,sector",
    [
        ("market_access.licence", "Market access licence", "market_access"),
        ("tax.services_refunds", "Tax services and refunds", "tax"),
        ("permits.waste_water_discharge", "Discharge permit for waste-water", "permits"),
        ("procurement.framework", "Framework agreements (services)", "procurement"),
    ],
)
def test_ordinary_contexts_are_not_mistaken_for_protected_ones(tmp_path, ctx, name, sector):
    root = hostile_catalog(tmp_path, extra=CONTEXT.format(id=ctx, name=name, sector=sector))
    assert ctx in load_catalog(root).contexts


def test_re_sectoring_a_shipped_protected_context_is_refused(tmp_path):
    edits = {
        "contexts.yaml": [
            ("    name_zh: 医疗卫生服务\n    sector: healthcare", "    name_zh: 医疗卫生服务\n    sector: permits")
        ]
    }
    messages = attack(tmp_path, "protected-context", edits=edits)
    assert messages[0] == (
        "contexts.yaml:59: context 'healthcare.services': principle 3, protected contexts: context "
        "'healthcare.services' is fixed in code in the protected sector 'healthcare'; it may not be moved to "
        "'permits' [protected-context]"
    )


@pytest.mark.parametrize("ctx", ["healthcare.services", "education.enrolment", "justice.legal_aid"])
def test_removing_or_renaming_a_shipped_protected_context_is_refused(tmp_path, ctx):
    edits = {"contexts.yaml": [(f"  - id: {ctx}\n", "  - id: permits.renamed_service\n")]}
    messages = attack(tmp_path, "protected-context", edits=edits)
    assert messages == [
        f"contexts.yaml:7: context '{ctx}': principle 3, protected contexts: the protected context '{ctx}' "
        f"(sector '{load_catalog().contexts[ctx].sector.value}') is missing: the shipped protected contexts are "
        "fixed in code and may not be removed or renamed; restore it [protected-context]"
    ]
