"""Open data: what is published, its signed manifest, FollowTheMoney entities, the changes feed.

- Only public records inside their publication period, and entries of public lists in force;
  persons only while listed, and only masked; nothing of a resident's number in any file.
- The manifest's signature and every file's SHA-256 verify; an altered file fails.
- Every entity validates against the `followthemoney` schema, and `ftm validate` (the package's
  own tooling) reads the file back to the same entities.
- Publishing twice with nothing changed writes an empty changes feed; a revoked record and an
  ended listing show as removed, each with its reason; `--since` diffs against an older one.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from builders import make_ric
from process_story import person_row
from report_world import NOW, START, World
from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import CertificateInvalid, key_id
from xinyong.domain.errors import InvalidInput, NotFound
from xinyong.domain.identifiers import IdentifierVault
from xinyong.reports.publish import publish, verify_publication
from xinyong.services.objection_rulings import decide_objection
from xinyong.services.objections import file_objection
from xinyong.store.tables import audit_events, list_entries

KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(KEY.public_key()): KEY.public_key()}


@pytest.fixture
def world(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> World:
    return World(engine, catalog, vault, tmp_path / "world")


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_publication_holds_only_what_is_public_and_verifies(
    engine: Engine, catalog: Catalog, world: World, tmp_path: Path
) -> None:
    out = tmp_path / "open"
    done = publish(engine, catalog, KEY, out, actor="cli:test")
    manifest = verify_publication(out, KEYS)
    assert manifest["publication"] == done.publication_id and manifest["since"] is None
    records = lines(out / "records.jsonl")
    with (out / "records.csv").open(encoding="utf-8") as f:
        assert [r["id"] for r in csv.DictReader(f)] == [r["id"] for r in records]
    ids = {r["id"] for r in records}
    assert "record:court/W-1" in ids and "record:samr/S-1" in ids
    assert "record:samr/S-OLD" not in ids, "a record past its publication period is not published"
    person = [r for r in records if r["subject_kind"] == "person"]
    assert person and all(r["subject_name"] == "张*" and "*" in r["subject_identifier"] for r in person)
    entries = lines(out / "lists.jsonl")
    assert {e["list"] for e in entries} == {"black.court_defaulters"}
    assert {e["subject_id"] for e in entries} == {world.company, world.person}
    everything = "".join((out / name).read_text(encoding="utf-8") for name in manifest["files"])
    assert make_ric(62) not in everything, "no resident number leaves"
    assert manifest["counts"]["records"] == len(records) and manifest["files"]["records.csv"]["rows"] == len(records)
    with engine.connect() as conn:
        [event] = conn.execute(
            select(audit_events.c.action, audit_events.c.target).where(audit_events.c.action == "publish_open_data")
        ).all()
    assert event.target == f"publication:{done.publication_id}"

    (out / "lists.csv").write_text((out / "lists.csv").read_text(encoding="utf-8") + "x\n", encoding="utf-8")
    with pytest.raises(CertificateInvalid, match=r"lists\.csv: its size or SHA-256 differs"):
        verify_publication(out, KEYS)
    with pytest.raises(CertificateInvalid, match="not a key of this platform"):
        verify_publication(out, {})


def test_entities_validate_and_round_trip_through_the_followthemoney_tools(
    engine: Engine, catalog: Catalog, world: World, tmp_path: Path
) -> None:
    from followthemoney import model

    out = tmp_path / "open"
    publish(engine, catalog, KEY, out, actor="cli:test")
    entities = lines(out / "entities.ftm.json")
    schemata = sorted(e["schema"] for e in entities)
    assert schemata == ["Company", "Person", "Sanction", "Sanction"]
    for e in entities:
        proxy = model.get_proxy(e, cleaned=False)
        assert proxy.schema.validate(proxy.to_dict()) is None
        for required in proxy.schema.required:
            assert proxy.get(required), f"{e['id']}: {required} is required"
    sanction = next(e for e in entities if e["schema"] == "Sanction")
    assert {"program", "authority", "startDate", "endDate", "reason"} <= set(sanction["properties"])
    assert "Legal basis" in sanction["properties"]["reason"][0]
    person = next(e for e in entities if e["schema"] == "Person")
    assert person["properties"]["name"] == ["张*"] and make_ric(62) not in json.dumps(person)

    ftm = shutil.which("ftm") or str(Path(__import__("sys").executable).with_name("ftm"))
    result = subprocess.run(
        [ftm, "validate", "-i", str(out / "entities.ftm.json"), "-o", str(tmp_path / "back.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    back = {e["id"]: e for e in lines(tmp_path / "back.json")}
    assert set(back) == {e["id"] for e in entities}
    for e in entities:
        assert back[e["id"]]["schema"] == e["schema"]
        assert {k: sorted(v) for k, v in back[e["id"]]["properties"].items()} == {
            k: sorted(v) for k, v in e["properties"].items()
        }


def test_changes_feed(engine: Engine, catalog: Catalog, world: World, tmp_path: Path) -> None:
    first = publish(engine, catalog, KEY, tmp_path / "one", actor="cli:test")
    feed = lines(tmp_path / "one" / "changes.jsonl")
    assert feed and {c["change"] for c in feed} == {"added"} and first.counts["changes"]["added"] == len(feed)
    again = publish(engine, catalog, KEY, tmp_path / "two", actor="cli:test")
    assert (tmp_path / "two" / "changes.jsonl").read_bytes() == b"", "nothing changed: an empty feed"
    assert again.since == first.publication_id

    sid = world.company
    objection = file_objection(
        engine,
        catalog,
        subject_id=sid,
        target="record:samr/S-1",
        grounds="the fine was annulled on appeal",
        actor=f"subject:{sid}",
        now=NOW,
    )
    decide_objection(
        engine,
        catalog,
        objection["id"],
        uphold=True,
        actor="reviewer:wang",
        reason="annulled",
        revoke=True,
        now=NOW + timedelta(minutes=1),
    )
    with engine.connect() as conn:
        eid = conn.scalar(select(list_entries.c.id).where(list_entries.c.subject_id == world.person))
    # The court's own decision ends its listing: a platform reviewer may not (the list's owner).
    day = (START - timedelta(days=20)).date().isoformat()
    paid = person_row("W-2", 62, revision=2, performance="performed", decided_on=day, valid_from=day)
    world.story.ingest([paid], NOW + timedelta(minutes=2))
    assert world.story.maintain(NOW + timedelta(minutes=2))["ended_ground_changed"] == 1
    publish(engine, catalog, KEY, tmp_path / "three", actor="cli:test")
    changes = {c["item"]: c for c in lines(tmp_path / "three" / "changes.jsonl")}
    assert changes["record:samr/S-1"]["change"] == "removed"
    assert "revoked" in changes["record:samr/S-1"]["reason"]
    assert (
        changes[f"entry:{eid}"]["change"] == "removed"
        and "removed by the list's owner" in changes[f"entry:{eid}"]["reason"]
    )
    assert changes["record:court/W-2"]["change"] == "removed", (
        "the person left the public list, and their records with them"
    )
    assert all(c["since"] == again.publication_id for c in changes.values())
    since_first = publish(engine, catalog, KEY, tmp_path / "four", since=first.publication_id, actor="cli:test")
    assert {c["item"] for c in lines(tmp_path / "four" / "changes.jsonl")} == set(changes)
    assert since_first.since == first.publication_id
    assert (tmp_path / "five").exists() is False
    with pytest.raises(NotFound, match="no such publication"):
        publish(engine, catalog, KEY, tmp_path / "five", since=999, actor="cli:test")
    assert not any((tmp_path / "five").iterdir()), "a refused publication leaves nothing behind"
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInput, match="not a directory"):
        publish(engine, catalog, KEY, tmp_path / "file", actor="cli:test")
    assert START < NOW
