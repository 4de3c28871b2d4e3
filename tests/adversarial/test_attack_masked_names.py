"""The public search under attack: a masked name stays masked.

The public view shows a listed resident as `肖**`. Searching for the hidden characters, for any
part of the name, or for part of the resident number must find nobody; only the exact full name
or the full resident number finds the (still masked) entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from operators import Api, api_fixture, ingest_rows, person_row  # noqa: F401 - the api fixture

from builders import make_ric
from process_story import hold, release
from xinyong.services import lists as lists_service
from xinyong.services.maintain import maintain
from xinyong.store.tables import list_entries


@pytest.fixture
def listed(api: Api, tmp_path: Path) -> Api:
    start = datetime.now(UTC) - timedelta(days=100)
    day = (start - timedelta(days=20)).date().isoformat()
    row = person_row("X-1", 31) | {"subject_name": "肖晓明", "decided_on": day, "valid_from": day, "valid_until": ""}
    ingest_rows(api.engine, api.catalog, tmp_path, [row], when=start)
    maintain(api.engine, api.catalog, hold(start))
    with api.engine.connect() as conn:
        [entry] = conn.scalars(list_entries.select().with_only_columns(list_entries.c.id)).all()
    lists_service.decide(
        api.engine, api.catalog, entry, approve_it=True, actor="reviewer:li", reason="unpaid", now=hold(start)
    )
    maintain(api.engine, api.catalog, hold(start + timedelta(days=31)))
    release()
    return api


def _names(api: Api, q: str) -> list[str]:
    r = api.call("GET", "/v1/public/subjects", params={"q": q})
    assert r.status_code == 200, r.text
    return [h["name"] for h in r.json()["items"] if h["kind"] == "person"]


def test_a_listed_resident_is_found_by_the_full_name_or_number_only(listed: Api) -> None:
    for part in ("晓明", "肖晓", " 晓明 ", "肖_明", "肖%", make_ric(31)[:14], make_ric(31)[6:]):
        assert _names(listed, part) == [], part
    assert _names(listed, "肖晓明") == ["肖**"]
    assert _names(listed, make_ric(31)) == ["肖**"]
