"""The edges of `POST /v1/records` that the file readers decide: a deeply nested body and a record
with a key no column has answer 4xx with a problem document, on a real server."""

from __future__ import annotations

import logging

import pytest

from builders import court_row, make_ric
from test_api import Served, served  # noqa: F401 - the real server fixture of the API tests


def test_a_deeply_nested_body_and_an_unknown_key_answer_4xx(served: Served) -> None:  # noqa: F811
    court = served.key("source", "court")
    good = court_row("E-1", make_ric(61), decided_on="2026-01-10", valid_from="2026-01-15", valid_until="")
    deep = b'{"records": [{"source_ref": ' + b"[" * 30_000 + b"]" * 30_000 + b"}]}"
    r = served.call("POST", "/v1/records", court, content=deep, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"] == "application/problem+json"
    r = served.call(
        "POST", "/v1/records", court, json={"records": [good, {**good, "source_ref": "E-2", "colour": "red"}]}
    )
    assert r.status_code == 422, r.text
    assert "line 2: unknown column(s): colour" in r.json()["detail"]
    r = served.call("POST", "/v1/records", court, json={"records": [good]})
    assert r.status_code == 201 and r.json()["accepted"] == 1  # nothing of the refused batch was kept


def test_a_batch_of_records_is_validated_in_the_server_not_in_a_helper_process(
    served: Served,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A helper process pays off only for large files; a server started one (a new interpreter)
    for every batch of a few records, which made each batch take seconds."""
    court = served.key("source", "court")
    rows = [court_row(f"H-{i}", make_ric(70 + i), decided_on="2026-01-10", valid_from="2026-01-15", valid_until="")
            for i in range(5)]  # fmt: skip
    with caplog.at_level(logging.INFO, logger="xinyong.ingest"):
        r = served.call("POST", "/v1/records", court, json={"records": rows})
    assert r.status_code == 201 and r.json()["accepted"] == 5, r.text
    assert not [m for m in caplog.messages if "helper process" in m]
    assert [m for m in caplog.messages if "rows read" in m], "the batch's progress was logged, so the log was heard"
