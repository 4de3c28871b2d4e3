"""Objections under attack: filing one is no way to learn what someone else's file holds.

A subject who objects to a record, list entry or score of another subject gets exactly the
answer a target that does not exist gets: the same status and the same body, word for word.
"""

from __future__ import annotations

from pathlib import Path

from operators import Api, api_fixture, ingest_rows, person_row, subject_of  # noqa: F401 - the api fixture


def test_objecting_to_someone_elses_record_answers_as_for_no_record(api: Api, tmp_path: Path) -> None:
    ingest_rows(api.engine, api.catalog, tmp_path, [person_row("THEIRS", 21), person_row("MINE", 22)])
    me = api.key("subject", "resident-22", subject_id=subject_of(api.engine, "MINE"))
    grounds = "this is not my debt, it was paid"

    def object_to(target: str) -> tuple[int, dict[str, object]]:
        r = api.call("POST", "/v1/me/objections", me, json={"target": target, "grounds": grounds})
        return r.status_code, {k: v for k, v in r.json().items() if k != "instance"}

    for theirs, nowhere in (
        ("record:court/THEIRS", "record:court/NOWHERE"),
        ("link:court/THEIRS", "link:court/NOWHERE"),
    ):
        status, body = object_to(theirs)
        assert status == 404, body
        assert body["detail"] == f"no {theirs.replace(':', ' ', 1)} in your file"
        missing_status, missing = object_to(nowhere)
        assert (missing_status, missing["detail"].replace("NOWHERE", "THEIRS")) == (status, body["detail"])
        assert {k: v for k, v in missing.items() if k != "detail"} == {k: v for k, v in body.items() if k != "detail"}
    assert object_to("record:court/MINE")[0] == 201
