"""Merges of subjects over HTTP, served for real: one reviewer proposes, another decides and
undoes; an admin reads the history but decides nothing; the proposer cannot decide their own."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from builders import make_uscc
from linking_store_world import at, build, tax_record
from test_api import Served, served  # noqa: F401 - `served` serves the app over the test store
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.store.tables import audit_events

DOC = "市监变〔2027〕12号"


def test_reviewers_merge_and_undo_over_http(
    served: Served,  # noqa: F811
    catalog: Catalog,
    vault: IdentifierVault,
    tmp_path: Path,
) -> None:
    world = build(served.engine, catalog, vault, tmp_path)
    code_b = make_uscc(777002)
    world.ingest([tax_record("TX-B", world.orgs[3], code_b, 1)], at(1), source="tax")
    a, b = world.subject_of_number("cn.uscc", world.orgs[3].uscc), world.subject_of_number("cn.uscc", code_b)
    li, wang = served.key("reviewer", "li"), served.key("reviewer", "wang")
    admin = served.key("admin", "admin-1")
    why = f"notice {DOC} of the registration authority says one company"

    undocumented = served.call(
        "POST", "/v1/subjects/merges", li, json={"kept": a, "absorbed": b, "reason": "looks alike"}
    )
    assert undocumented.status_code == 422, undocumented.text
    assert undocumented.headers["content-type"] == "application/problem+json"
    assert "a merge needs the document" in undocumented.json()["detail"]
    itself = served.call("POST", "/v1/subjects/merges", li, json={"kept": a, "absorbed": a, "reason": why})
    assert itself.status_code == 422 and "cannot be merged with itself" in itself.json()["detail"]
    body = {"kept": a, "absorbed": b, "reason": why, "document_no": DOC}
    assert served.call("POST", "/v1/subjects/merges", admin, json=body).status_code == 403
    made = served.call("POST", "/v1/subjects/merges", li, json=body)
    assert made.status_code == 200, made.text
    pid = made.json()["proposal"]

    own = served.call(
        "POST", f"/v1/subjects/merges/{pid}/decision", li, json={"decision": "confirm", "reason": "my own one"}
    )
    assert own.status_code == 409 and "another reviewer decides it" in own.json()["detail"]
    bad = served.call("POST", f"/v1/subjects/merges/{pid}/decision", wang, json={"decision": "maybe", "reason": "hmm"})
    assert bad.status_code == 422
    done = served.call(
        "POST", f"/v1/subjects/merges/{pid}/decision", wang, json={"decision": "confirm", "reason": "checked it"}
    )
    assert done.status_code == 200, done.text
    did = done.json()["decision"]
    assert world.current("TX-B", "tax").subject_id == a

    history = served.call("GET", f"/v1/subjects/{b}/merges", admin)
    assert history.status_code == 200 and history.json()["stands_for"] == a
    assert [x["outcome"] for x in history.json()["proposals"][0]["decisions"]] == ["confirm"]
    undone = served.call("POST", f"/v1/subjects/merges/decisions/{did}/undo", wang, json={"reason": "withdrawn"})
    assert undone.status_code == 200 and undone.json()["reverses"] == did
    twice = served.call("POST", f"/v1/subjects/merges/decisions/{did}/undo", wang, json={"reason": "withdrawn"})
    assert twice.status_code == 409
    assert world.current("TX-B", "tax").subject_id == b
    missing = served.call("GET", "/v1/subjects/999999/merges", admin)
    assert missing.status_code == 404 and "no subject 999999" in missing.json()["detail"]

    with served.engine.connect() as conn:
        actions = set(conn.scalars(select(audit_events.c.action)))
    assert {"merge_propose", "merge_confirm", "merge_undo", "read_subject_merges"} <= actions
