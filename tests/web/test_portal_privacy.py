"""Least data on the portal's public pages: a person is found only by their exact full name or
full identifier, only while on a public list, and is shown masked."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from builders import make_ric

from .conftest import PERSON_NAME, World


def _found(v: Any, q: str) -> str:
    return str(v.get(f"/search?q={quote(q)}").text)


def test_a_listed_person_is_found_by_exact_name_or_full_number_and_never_by_a_part(world: World, visit: Any) -> None:
    v = visit()
    entity = f'href="/entities/{world.listed_person}"'
    assert entity in _found(v, PERSON_NAME)
    assert entity in _found(v, make_ric(62))
    masked = PERSON_NAME[0] + "*" * (len(PERSON_NAME) - 1)
    for part in (
        masked,
        PERSON_NAME[:2],
        PERSON_NAME[1:],
        PERSON_NAME[:3],
        make_ric(62)[:17],
        make_ric(62)[-6:],
        "%",
        "_",
    ):
        assert entity not in _found(v, part), part
    page = v.get(f"/entities/{world.listed_person}").text
    assert masked in page and PERSON_NAME not in page and make_ric(62) not in page
    assert "330106********" in page, "the identifier is shown masked"


def test_companies_are_found_by_part_of_their_name_and_persons_off_every_list_not_at_all(
    world: World, visit: Any
) -> None:
    v = visit()
    assert f'href="/entities/{world.listed_company}"' in _found(v, "杭州某某")
    assert f'href="/entities/{world.proposed_company}"' in _found(v, "宁波")
    page = v.get(f"/entities/{world.listed_company}").text
    assert "黑名单" in v.get(f"/entities/{world.listed_company}", headers={"Accept-Language": "zh-CN"}).text
    assert "Supervision class" in page and "Class C" in page
    assert "Type at least two characters" in _found(v, "杭")
