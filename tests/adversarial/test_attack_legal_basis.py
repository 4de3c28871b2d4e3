"""Principle 1 under attack: placeholders in the legal basis, and entries that cite no article."""

from __future__ import annotations

import pytest
from attack import attack

RT = """
record_types:
  - id: market.hostile
    name: A record type with a fake basis
    category: market
    polarity: adverse
    severity: general
    subject_kinds: [organisation]
    publication_months: 6
    public: true
    legal_basis: {{instrument: "{instrument}", article: Art. 3}}
"""
WHERE = "extra.yaml:10: record type 'market.hostile': principle 1, legal basis: legal_basis: "


@pytest.mark.parametrize(
    "instrument,why",
    [
        ("TBD", "instrument 'TBD' is a placeholder"),
        ("n/a", "instrument 'n/a' is a placeholder"),
        ("none", "instrument 'none' is a placeholder"),
        ("TODO", "instrument 'TODO' is a placeholder"),
        ("---", "instrument is empty once whitespace, zero-width characters and punctuation are removed"),
        ("xxx", "instrument 'xxx' is a placeholder"),
        (
            "\u200b\u200b\u200b",
            "instrument is empty once whitespace, zero-width characters and punctuation are removed",
        ),
        ("Law of the Republic TBD", "instrument 'Law of the Republic TBD' still carries the draft marker 'tbd'"),
        ("待补充", "instrument '待补充' is a placeholder"),
    ],
)
def test_placeholder_instrument_is_refused(tmp_path, instrument, why):
    [message] = attack(tmp_path, "legal-basis", extra=RT.format(instrument=instrument))
    assert message == WHERE + why + ": name the law, regulation or decision [legal-basis]"


def test_an_instrument_without_words_is_refused(tmp_path):
    [message] = attack(tmp_path, "legal-basis", extra=RT.format(instrument="A1 B2 C3"))
    assert message == WHERE + "instrument 'A1 B2 C3' has no real words: name the law or decision [legal-basis]"


@pytest.mark.parametrize(
    "basis,field,why",
    [
        ("{instrument: Government Procurement Law, article: n/a}", "article", "article 'n/a' is a placeholder"),
        ("{instrument: Government Procurement Law, document: TBD}", "document", "document 'TBD' is a placeholder"),
        ("{instrument: Government Procurement Law, article: Article}", "article", "article 'Article' is a placeholder"),
        (
            "{instrument: Government Procurement Law, article: the relevant part}",
            "article",
            "article 'the relevant part' has no number",
        ),
        ("{instrument: Government Procurement Law}", "instrument", "names no article and no document number"),
    ],
)
def test_a_measure_cites_an_article_or_a_document(tmp_path, basis, field, why):
    extra = f"""
    measures:
      - id: procurement.hostile
        name: A measure that cites nothing
        effect: deny
        implementing_department: finance
        contexts: [procurement.tender]
        trigger: {{list: black.court_defaulters}}
        national_item: {{edition: "2021"}}
        subject_kinds: [organisation]
        legal_basis: {basis}
    """
    [message] = attack(tmp_path, "legal-basis", extra=extra)
    assert message.startswith(
        f"extra.yaml:10: measure 'procurement.hostile': principle 1, legal basis: legal_basis: {why}"
    )


def test_a_list_with_a_placeholder_document_is_refused(tmp_path):
    messages = attack(
        tmp_path,
        "legal-basis",
        edits={
            "lists.yaml": [("      document: Fa Shi [2017] No. 7\n      article: Art. 2\n", "      document: '---'\n")]
        },
    )
    assert messages == [
        "lists.yaml:29: list 'black.court_defaulters': principle 1, legal basis: legal_basis: document is empty once "
        "whitespace, zero-width characters and punctuation are removed: cite it as written, e.g. 'Art. 8' or "
        "'Fa Shi [2017] No. 7' [legal-basis]"
    ]


def test_a_source_that_submits_names_the_law_that_lets_it(tmp_path):
    extra = """
    sources:
      - id: port
        name: Port authority
        submits: [customs.violation]
    """
    [message] = attack(tmp_path, "legal-basis", extra=extra)
    assert message == (
        "extra.yaml:4: source 'port': principle 1, legal basis: source 'port' submits customs.violation but names no "
        "legal basis: name the law that lets it submit these records [legal-basis]"
    )


def test_a_repair_basis_is_a_citation_too(tmp_path):
    messages = attack(
        tmp_path,
        "legal-basis",
        edits={"lists.yaml": [("      document: STA Order No. 54\n    public", "      document: TBD\n    public")]},
    )
    assert messages == [
        "lists.yaml:60: list 'black.major_tax_violations': principle 1, legal basis: repair_basis: document 'TBD' is "
        "a placeholder: cite it as written, e.g. 'Art. 8' or 'Fa Shi [2017] No. 7' [legal-basis]"
    ]


def test_the_owners_review_basis_is_a_citation_too(tmp_path):
    """The provision a subject is told to apply under, when the owner answers that its record stands."""
    messages = attack(
        tmp_path,
        "legal-basis",
        edits={"lists.yaml": [("      article: Art. 11-12\n", "      article: TBD\n")]},
    )
    assert messages == [
        "lists.yaml:41: list 'black.court_defaulters': principle 1, legal basis: review_basis: article 'TBD' is a "
        "placeholder: cite it as written, e.g. 'Art. 8' or 'Fa Shi [2017] No. 7' [legal-basis]"
    ]


@pytest.mark.parametrize(
    "item,why",
    [
        (
            '{edition: "1999"}',
            "unknown edition '1999' of the national basic list: one of 2021 (发改财金规〔2021〕1827号), 2022",
        ),
        ('{edition: "2021", item: 15}', "item 15 is not in the 2021 edition of the national basic list (items 1-14)"),
    ],
)
def test_a_sanction_cites_a_real_item_of_the_national_list(tmp_path, item, why):
    edits = {
        "measures.yaml": [
            (
                '      article: Art. 22(5)\n    national_item: {edition: "2021"}\n  - id: subsidy.deny_major_tax_violation',
                f"      article: Art. 22(5)\n    national_item: {item}\n  - id: subsidy.deny_major_tax_violation",
            )
        ]
    }
    [message] = attack(tmp_path, "national-item", edits=edits)
    assert (
        f"measure 'procurement.exclude_major_tax_violators': principle 1, legal basis: {why} [national-item]" in message
    )


def test_a_list_sanction_without_a_national_item_is_refused(tmp_path):
    edits = {
        "measures.yaml": [
            (
                '      article: Art. 22(5)\n    national_item: {edition: "2021"}\n  - id: subsidy.deny_major',
                "      article: Art. 22(5)\n  - id: subsidy.deny_major",
            )
        ]
    }
    [message] = attack(tmp_path, "national-item", edits=edits)
    assert message.startswith(
        "measures.yaml:58: measure 'procurement.exclude_major_tax_violators': principle 1, legal basis: a sanction "
        "triggered by a list cites the item of the national basic list of disciplinary measures"
    )
