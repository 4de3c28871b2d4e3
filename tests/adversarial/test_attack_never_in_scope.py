"""Principle 8 under attack: never-in-scope data dressed as a record type, and free text by pattern."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from attack import attack, hostile_catalog

from xinyong.domain.catalog import load_catalog

RT = """
record_types:
  - id: {id}
    name: {name}
    category: {category}
    polarity: adverse
    severity: general
    subject_kinds: [person]
    publication_months: 6
    public: false
    attributes:
      {attribute}
    legal_basis: {{instrument: Hostile Municipal Measures, article: Art. 9}}
"""
PLAIN = "level: {type: string, enum: [low, high]}"


def record_type(id="market.hostile", name="An ordinary looking record", category="market", attribute=PLAIN):
    return RT.format(id=id, name=name, category=category, attribute=attribute)


def scope(line: int, what: str, topic: str, term: str, rt: str = "market.hostile") -> str:
    return (
        f"extra.yaml:{line}: record type '{rt}': principle 8, least data: {what} is about {topic} ('{term}'): that "
        "is never in scope, no record may hold it [never-in-scope]"
    )


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        (
            {"attribute": "religion: {type: string, enum: [none, buddhist, christian]}"},
            [
                scope(11, "attribute 'religion'", "religion", "religio"),
                scope(11, "value 'buddhist' of attribute 'religion'", "religion", "buddhis"),
                scope(11, "value 'christian' of attribute 'religion'", "religion", "christian"),
            ],
        ),
        (
            {"attribute": "conduct: {type: string, enum: [fine, petitioner]}"},
            [scope(11, "value 'petitioner' of attribute 'conduct'", "political opinion", "petition")],
        ),
        ({"category": "religion"}, [scope(4, "category", "religion", "religio")]),
        ({"id": "speech.online_post"}, [scope(2, "id", "speech or online content", "speech", "speech.online_post")]),
        (
            {"name": "Participation in unregistered association"},
            [scope(3, "name", "association membership", "associat")],
        ),
        (
            {"attribute": "last_location: {type: string, enum: [home, away]}"},
            [scope(11, "attribute 'last_location'", "location or camera surveillance", "location")],
        ),
        (
            {"attribute": "zongjiao_xinyang: {type: string, enum: [a, b]}"},
            [scope(11, "attribute 'zongjiao_xinyang'", "religion", "zongjiao")],
        ),
        ({"attribute": "minzu: {type: string, enum: [a, b]}"}, [scope(11, "attribute 'minzu'", "ethnicity", "minzu")]),
        (
            {"attribute": "weibo_account: {type: string, enum: [active, closed]}"},
            [scope(11, "attribute 'weibo_account'", "social-media accounts", "weibo")],
        ),
        (
            {"attribute": "party_member: {type: boolean}"},
            [scope(11, "attribute 'party_member'", "association membership", "partymember")],
        ),
    ],
)
def test_never_in_scope_data_is_refused(tmp_path, kwargs, expected):
    assert attack(tmp_path, "never-in-scope", extra=record_type(**kwargs)) == expected


def test_never_in_scope_chinese_name_is_refused(tmp_path):
    extra = record_type().replace("    category: market", "    name_zh: 宗教活动登记\n    category: market")
    assert attack(tmp_path, "never-in-scope", extra=extra) == [scope(4, "name_zh", "religion", "宗教")]


def free_text(attribute: str, why: str) -> str:
    return f"extra.yaml:11: record type 'market.hostile': principle 8, least data: attribute '{attribute}'{why} [no-free-text]"


@pytest.mark.parametrize(
    "spec,why",
    [
        (
            "{type: string, max_length: 60}",
            " is free text: give it an 'enum' of allowed values or a tight 'pattern' (max_length bounds its length, not what it says)",
        ),
        ("{type: string, max_length: 60, pattern: '.{1,60}'}", ": its pattern is free text: '.' matches any character"),
        (
            "{type: string, pattern: '[a-z ]{1,40}'}",
            ": its pattern is free text: leaves 40 characters to letter classes (at most 6): it can spell words",
        ),
        (
            "{type: string, pattern: '\\w{1,9}'}",
            ": its pattern is free text: \\w, \\s, \\S, \\W and \\D match free text; list the characters allowed",
        ),
        (
            "{type: string, pattern: '[^0-9]{1,3}'}",
            ": its pattern is free text: a negated class [^...] matches almost anything",
        ),
        (
            "{type: string, pattern: 'A[0-9]+'}",
            ": its pattern is free text: a repetition without bound (*, + or {n,}); give it a maximum",
        ),
        (
            "{type: string, pattern: '(AB'}",
            ": its pattern is free text: does not compile (missing ), unterminated subpattern at position 0)",
        ),
    ],
)
def test_a_string_needs_an_enum_or_a_tight_pattern(tmp_path, spec, why):
    assert attack(tmp_path, "no-free-text", extra=record_type(attribute=f"note: {spec}")) == [free_text("note", why)]


def test_a_tight_pattern_is_accepted(tmp_path):
    extra = record_type(attribute="permit_no: {type: string, pattern: 'XK[0-9]{6}-[A-Z]{2}'}")
    assert "market.hostile" in load_catalog(hostile_catalog(tmp_path, extra=extra)).record_types


def test_the_policy_readme_shows_the_term_lists_of_the_code():
    from xinyong.domain.catalog.terms import render_markdown

    readme = Path(__file__).parents[2] / "src" / "xinyong" / "policy" / "README.md"
    found = re.search(r"<!-- terms:begin -->\n(.*)<!-- terms:end -->", readme.read_text(encoding="utf-8"), re.S)
    assert found, "the policy README lost its generated terms section"
    assert found.group(1) == render_markdown(), "regenerate it: python -m xinyong.domain.catalog.terms"
