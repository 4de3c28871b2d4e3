"""The public view over a demo city: never a non-public record, an expired record, a person off the
public lists, or a resident's identity number.

The city is ingested as known two months ago; the black-list proposals are approved then and
published after their notice period, so today some residents and companies are publicly listed.
Every subject of the city is then asked for through the public service, and a sample through the
real HTTP endpoints. The open data published the same day, and the public reports of a sample of
organisations, are held to the same rules.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from process_story import hold, release
from test_api import Served, served  # noqa: F401 - `served` serves the app over the test store
from test_privacy import submitted_numbers
from xinyong.demo.city import generate_city
from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import NotFound
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.scoring import RecordFact, with_publication_end
from xinyong.ingest.pipeline import ingest_file, plan_directory
from xinyong.services import lists as lists_service
from xinyong.services.maintain import maintain
from xinyong.services.portal import public_search, public_subject
from xinyong.store.tables import list_entry_state, records, subjects


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("public-city")
    generate_city(out, 400, 120, 5, datetime.now(UTC).date() - timedelta(days=60))
    return out / "departments"


def test_public_view_shows_only_public_records_in_force_and_masks_persons(
    served: Served,  # noqa: F811
    catalog: Catalog,
    vault: IdentifierVault,
    city: Path,
    tmp_path: Path,
) -> None:
    engine = served.engine
    then = hold(datetime.now(UTC) - timedelta(days=60))
    for path, source in plan_directory(city, catalog):
        ingest_file(engine, catalog, vault, path, source=source, report_dir=tmp_path, helper_min_bytes=None, now=then)
    maintain(engine, catalog, then)
    with engine.connect() as conn:
        proposed = list(conn.scalars(select(list_entry_state.c.entry_id).where(list_entry_state.c.state == "proposed")))
    for eid in proposed:
        lists_service.decide(
            engine, catalog, eid, approve_it=True, actor="reviewer:li", reason="approved for the test", now=hold(then)
        )
    maintain(engine, catalog, hold(then + timedelta(days=35)))
    release()
    today = datetime.now(UTC).date()

    residents = submitted_numbers(city)["cn.ric"]
    with engine.connect() as conn:
        everyone = conn.execute(select(subjects.c.id, subjects.c.kind)).all()
        rows = conn.execute(
            select(records).where(records.c.superseded_at.is_(None), records.c.subject_id.isnot(None))
        ).all()
    hidden: dict[int, set[str]] = {}
    for r in rows:
        rt = catalog.record_types[r.record_type]
        fact = RecordFact(r.id, r.record_type, r.decided_on, r.valid_from, r.valid_until, r.attributes, r.status)
        if r.document_no and (not rt.public or not with_publication_end(catalog, fact).valid_on(today)):
            hidden.setdefault(r.subject_id, set()).add(r.document_no)
    shown_people = shown_hidden = 0
    for sid, kind in everyone:
        try:
            view = public_subject(engine, catalog, sid, today)
        except NotFound:
            assert kind == "person", f"organisation {sid} must be public"
            continue
        text = json.dumps(view, ensure_ascii=False, default=str)
        assert not [n for n in residents if n in text], f"subject {sid}: a resident number in the public view"
        docs = {r["document_no"] for r in view["records"]}
        assert not docs & hidden.get(sid, set()), f"subject {sid}: a non-public or expired record shown"
        shown_hidden += bool(hidden.get(sid))
        if kind == "person":
            shown_people += 1
            assert view["list_entries"] and "*" in view["name"]
    assert shown_people > 0, "some residents are on the public black list today"
    assert shown_hidden > 0, "control: subjects with hidden records were looked at"

    sample = [sid for sid, _ in everyone[:40]]
    for sid in sample:
        r = served.call("GET", f"/v1/public/subjects/{sid}")
        assert r.status_code in (200, 404)
        assert not [n for n in residents if n in r.text]
    hits = public_search(engine, catalog, "公司", today)
    assert hits and all(h["kind"] == "organisation" or "*" in h["name"] for h in hits)
    check_open_data_and_reports(served, catalog, hidden, residents, tmp_path)


def check_open_data_and_reports(
    served: Served,  # noqa: F811
    catalog: Catalog,
    hidden: dict[int, set[str]],
    residents: set[str],
    tmp_path: Path,
) -> None:
    """The open data and public reports show nothing the public view may not."""
    from xinyong.reports.publish import publish

    engine = served.engine
    out = tmp_path / "open"
    publish(engine, catalog, served.app.state.ctx.signing_key, out, actor="cli:test")
    records = [json.loads(x) for x in (out / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    entries = [json.loads(x) for x in (out / "lists.jsonl").read_text(encoding="utf-8").splitlines()]
    listed_people = {e["subject_id"] for e in entries if e["subject_kind"] == "person"}
    assert records and listed_people, "control: the city publishes records, and lists residents"
    for r in records:
        assert r["document_no"] not in hidden.get(r["subject_id"], set()), f"{r['id']}: non-public or expired"
        if r["subject_kind"] == "person":
            assert r["subject_id"] in listed_people and "*" in r["subject_name"] and "*" in r["subject_identifier"]
    assert {e["list"] for e in entries} <= {lst.id for lst in catalog.lists.values() if lst.public}
    files = "".join((out / name).read_text(encoding="utf-8") for name in sorted(p.name for p in out.iterdir()))
    assert not [n for n in residents if n in files], "a resident number in the open data"
    orgs = sorted({r["subject_id"] for r in records if r["subject_kind"] == "organisation"})[:15]
    for sid in orgs:
        r = served.call("GET", f"/v1/public/subjects/{sid}/report", params={"format": "json"})
        assert r.status_code == 200, r.text
        payload = json.loads(r.content)["payload"]
        shown = {rec["document_no"] for s in payload["sources"] for rec in s["records"]}
        assert not shown & hidden.get(sid, set()), f"subject {sid}: a non-public or expired record in its report"
        assert not [n for n in residents if n in r.text]
    for sid in sorted(listed_people)[:5]:
        assert served.call("GET", f"/v1/public/subjects/{sid}/report").status_code == 404, (
            "a person's report is not public"
        )
