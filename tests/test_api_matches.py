"""Match review over HTTP, served for real: a reviewer lists, reads, confirms and undoes; an admin reads
but does not decide; bad bodies are refused as problem+json."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from linking_store_world import at, build, keep_model, namesake_rows
from test_api import Served, served  # noqa: F401 - `served` serves the app over the test store
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.store.tables import audit_events, records


def test_a_reviewer_reviews_namesakes_over_http(
    served: Served,  # noqa: F811
    catalog: Catalog,
    vault: IdentifierVault,
    tmp_path: Path,
) -> None:
    world = build(served.engine, catalog, vault, tmp_path)
    keep_model(world)
    world.ingest(namesake_rows(), at(1))
    reviewer, admin = served.key("reviewer", "reviewer-1"), served.key("admin", "admin-1")
    source = served.key("source", "court")

    page = served.call("GET", "/v1/matches", reviewer, params={"limit": 2})
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 4 and len(body["items"]) == 2  # two records, two namesakes each
    rest = served.call("GET", "/v1/matches", reviewer, params={"limit": 2, "cursor": body["next_cursor"]}).json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    assert {i["id"] for i in rest["items"]}.isdisjoint({i["id"] for i in body["items"]})
    assert served.call("GET", "/v1/matches", reviewer, params={"cursor": "page2"}).status_code == 400
    first = body["items"][0]
    assert first["priority"] == "normal" and first["evidence"].startswith("name: ")

    shown = served.call("GET", f"/v1/matches/{first['id']}", admin)
    assert shown.status_code == 200
    detail = shown.json()
    assert len(detail["other_candidates"]) >= 1 and "is linked to subject" in detail["effects"]["confirm"]

    refused = served.call(
        "POST", f"/v1/matches/{first['id']}/decision", admin, json={"decision": "confirm", "reason": "x" * 10}
    )
    assert refused.status_code == 403
    assert served.call("GET", "/v1/matches", source).status_code == 403
    assert served.call("GET", "/v1/matches").status_code == 401

    bad = served.call(
        "POST", f"/v1/matches/{first['id']}/decision", reviewer, json={"decision": "merge", "reason": "because so"}
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    short = served.call(
        "POST", f"/v1/matches/{first['id']}/decision", reviewer, json={"decision": "confirm", "reason": ""}
    )
    assert short.status_code == 422
    missing = served.call("GET", "/v1/matches/999999", reviewer)
    assert missing.status_code == 404 and "no match proposal 999999" in missing.json()["detail"]

    done = served.call(
        "POST",
        f"/v1/matches/{first['id']}/decision",
        reviewer,
        json={"decision": "confirm", "reason": "district on the judgment"},
    )
    assert done.status_code == 200, done.text
    jid = done.json()["judgement"]
    again = served.call(
        "POST",
        f"/v1/matches/{first['id']}/decision",
        reviewer,
        json={"decision": "confirm", "reason": "district on the judgment"},
    )
    assert again.status_code == 409
    undone = served.call("POST", f"/v1/matches/judgements/{jid}/undo", reviewer, json={"reason": "wrong twin"})
    assert undone.status_code == 200 and undone.json()["reverses"] == jid
    twice = served.call("POST", f"/v1/matches/judgements/{jid}/undo", reviewer, json={"reason": "wrong twin"})
    assert twice.status_code == 409 and "undone already" in twice.json()["detail"]

    with served.engine.connect() as conn:
        actions = list(conn.scalars(select(audit_events.c.action).order_by(audit_events.c.id)))
        versions = conn.scalars(select(records.c.link_method).where(records.c.source_ref == first["source_ref"]))
        methods = sorted(str(m) for m in versions)
    assert {"read_matches", "read_match", "match_confirm", "match_undo"} <= set(actions)
    assert methods == ["None", "None", "confirmed"]  # unresolved, linked by review, unlinked by the undo
