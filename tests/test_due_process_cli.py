"""The reviewers' command line over a real store: lists, objections, repairs, notices, maintain.

Records are ingested in-process; every command runs as a real `xinyong` subprocess on the same
store (SQLite and PostgreSQL), with --now to move the clock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from builders import cli_events, make_ric, make_uscc, ok, xy
from process_story import T0, Story, at, clock_at, org_row, person_row
from xinyong.cli.common import operator
from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import ConfigurationError
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services.notices import deliver_pending, delivery_from
from xinyong.services.objections import file_objection
from xinyong.store.ops_tables import notice_deliveries
from xinyong.store.tables import notices

DELIVERED: list[int] = []


def collecting_channel(notice: Mapping[str, Any]) -> None:
    """A delivery channel for the test: keeps the ids it was handed."""
    DELIVERED.append(int(notice["id"]))


def failing_channel(notice: Mapping[str, Any]) -> None:
    if len(DELIVERED) >= 1:
        raise RuntimeError("the mail relay is down")
    DELIVERED.append(int(notice["id"]))


def run_json(env: dict[str, str], tmp_path: Path, *args: str) -> Any:
    return json.loads(ok(xy(env, *args, "--json", cwd=tmp_path)).stdout)


# The commands write at moments that have passed (a write ahead of the real clock is refused): the
# story of the first test happens in the spring of 2026.
P0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def test_reviewer_cli_walks_a_listing_and_an_objection(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, db_env: dict[str, str], tmp_path: Path
) -> None:
    story = Story(engine, catalog, vault, tmp_path)
    story.ingest([person_row("K-1", 21, decided_on="2026-02-20", valid_from="2026-02-25")], P0)
    ok(xy(db_env, "init", cwd=tmp_path))  # the signing key: every maintain signs a checkpoint of the audit chain
    now = lambda d: ("--now", (P0 + timedelta(days=d)).isoformat())  # noqa: E731 - a short spelling for the commands below

    counts = run_json(db_env, tmp_path, "maintain", *now(0))
    assert counts["proposed"] == 1
    [entry] = run_json(db_env, tmp_path, "lists", "list", "--state", "proposed", "--as-of", "2026-03-02")
    eid = str(entry["id"])
    bad = xy(db_env, "lists", "decide", eid, "approve", "--reviewer", "li", "--reason", "ok", *now(1), cwd=tmp_path)
    assert bad.returncode == 1 and "needs a reason" in bad.stderr
    wrong = xy(db_env, "lists", "decide", eid, "maybe", "--reviewer", "li", "--reason", "unpaid", cwd=tmp_path)
    assert wrong.returncode == 1 and "approve or reject" in wrong.stderr
    decided = run_json(
        db_env,
        tmp_path,
        "lists",
        "decide",
        eid,
        "approve",
        "--reviewer",
        "li",
        "--reason",
        "the judgment is unpaid",
        *now(1),
    )
    assert decided["state"] == "notified"
    again = xy(
        db_env, "lists", "decide", eid, "reject", "--reviewer", "wang", "--reason", "second view", *now(2), cwd=tmp_path
    )
    assert again.returncode == 1 and "is notified: it cannot reject" in again.stderr

    subject = make_ric(21)
    filed = run_json(
        db_env,
        tmp_path,
        "objections",
        "file",
        "--subject",
        subject,
        "--target",
        "record:court/K-1",
        "--grounds",
        "the amount was paid in January",
        *now(3),
    )
    # Reads as of now: what the commands wrote is stamped with the real clock, whatever --now they acted at.
    shown = run_json(db_env, tmp_path, "lists", "show", eid)
    assert shown["disputed"] is True and shown["state"] == "notified"
    assert [t["action"] for t in shown["transitions"]] == ["propose", "approve"]
    open_ = run_json(db_env, tmp_path, "objections", "list", "--state", "open")
    assert [o["id"] for o in open_] == [filed["id"]]
    later = ("--now", (datetime.now(UTC) + timedelta(days=40)).isoformat())  # a read may look ahead; a write may not
    assert run_json(db_env, tmp_path, "objections", "list", "--state", "overdue", *later)[0]["id"] == filed["id"]
    status = run_json(db_env, tmp_path, "status")
    assert status["due_process"]["open_objections"] == 1
    assert status["due_process"]["lists"]["black.court_defaulters"] == {"notified": 1}

    up = run_json(
        db_env,
        tmp_path,
        "objections",
        "decide",
        str(filed["id"]),
        "uphold",
        "--reviewer",
        "li",
        "--reason",
        "the court confirmed payment",
        "--set",
        "performance=performed",
        *now(5),
    )
    assert up["outcome"] == "upheld" and up["remedy"] == {"set": {"performance": "performed"}}
    assert run_json(db_env, tmp_path, "lists", "show", eid)["state"] == "withdrawn"
    letters = run_json(db_env, tmp_path, "notices", "list", "--subject", subject)
    assert [n["kind"] for n in letters] == [
        "listing_proposed",
        "objection_received",
        "listing_withdrawn",
        "objection_upheld",
    ]
    assert all(n["delivered_at"] for n in letters), "the default channel delivers every notice"
    assert "What you can do:" in letters[0]["body"] and letters[0]["respond_by"]

    nothing = xy(
        db_env, "repairs", "file", "--subject", subject, "--record", "court/NOPE", "--evidence", "x", cwd=tmp_path
    )
    assert nothing.returncode == 1 and "no record court/NOPE" in nothing.stderr
    badref = xy(db_env, "repairs", "file", "--subject", subject, "--record", "K-1", "--evidence", "x", cwd=tmp_path)
    assert badref.returncode == 1 and "SOURCE/SOURCE_REF" in badref.stderr
    badnow = xy(db_env, "maintain", "--now", "tomorrow", cwd=tmp_path)
    assert badnow.returncode == 1 and "--now 'tomorrow' is not a timestamp" in badnow.stderr

    # Every command that wrote or read personal data left one event, under the login that ran it,
    # named as the API names the operation where it has it; the refused ones left none.
    with engine.connect() as conn:
        events = cli_events(conn)
    assert {actor for actor, *_ in events} == {operator()}
    assert {purpose for *_, purpose in events} == {"due process"}
    oid = f"objection:{filed['id']}"
    assert [(action, target) for _, action, target, _ in events] == [
        ("maintain", "lists"),
        ("read_entries", "list:*"),
        ("entry_approve", f"entry:{eid}"),
        ("file_objection", oid),
        ("read_entry", f"entry:{eid}"),
        ("read_objections", "objections:open"),
        ("read_objections", "objections:overdue"),
        ("objection_uphold", oid),
        ("read_entry", f"entry:{eid}"),
        ("read_notices", f"subject:{story.subject_of('K-1')}"),
    ]
    assert run_json(db_env, tmp_path, "audit", "verify")["intact"] is True


def test_notice_delivery_is_pluggable_and_a_failing_channel_leaves_the_rest_pending(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    story = Story(engine, catalog, vault, tmp_path)
    story.ingest([person_row(f"N-{i}", 40 + i) for i in range(3)], T0)
    story.maintain(at(0))
    from xinyong.services import lists as lists_service

    for ref in ("N-0", "N-1", "N-2"):
        eid = story.entry(ref)
        assert eid is not None
        lists_service.decide(
            engine, catalog, eid, approve_it=True, actor="reviewer:li", reason="unpaid", now=clock_at(1)
        )
    DELIVERED.clear()
    # The channel takes the first notice and fails on the others: they stay pending, each with
    # its error, and wait their turn (a failing channel no longer stops the run with its error).
    clock_at(2)  # delivery runs on the platform's clock
    assert deliver_pending(engine, f"{__name__}:failing_channel") == 1
    with engine.connect() as conn:
        states = dict(conn.execute(select(notices.c.id, notices.c.channel)).all())
        errors = list(
            conn.scalars(select(notice_deliveries.c.last_error).where(notice_deliveries.c.state == "pending"))
        )
    assert sum(1 for c in states.values() if c) == 1 and len(states) == 3
    assert errors == ["RuntimeError: the mail relay is down"] * 2
    assert deliver_pending(engine, f"{__name__}:collecting_channel") == 0  # not due again yet
    clock_at(3)
    assert deliver_pending(engine, f"{__name__}:collecting_channel") == 2
    with caplog.at_level(logging.INFO, logger="xinyong.notices"):
        clock_at(4)
        assert deliver_pending(engine, "log") == 0
    with pytest.raises(ConfigurationError, match="cannot be loaded"):
        delivery_from("no_such_module:send")
    with pytest.raises(ConfigurationError, match="module:callable"):
        delivery_from("smtp")


def test_a_disputed_record_is_marked_in_the_score_explanation(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, db_env: dict[str, str], tmp_path: Path
) -> None:
    story = Story(engine, catalog, vault, tmp_path)
    story.ingest([org_row("K-2", 22)], T0)
    day = ("--as-of", at(3).date().isoformat(), "--known-at", at(3).isoformat())
    before = run_json(db_env, tmp_path, "score", make_uscc(22), *day)
    assert [c.get("disputed") for c in before["contributions"]] == [None]
    sid = story.subject_of("K-2")
    file_objection(
        engine,
        catalog,
        subject_id=sid,
        target="record:court/K-2",
        grounds="this case was settled in 2026",
        actor=f"subject:{sid}",
        now=clock_at(2),
    )
    after = run_json(db_env, tmp_path, "score", make_uscc(22), *day)
    [c] = after["contributions"]
    assert c["disputed"] is True and c["reason"].startswith("[DISPUTED")
    assert after["points"] == before["points"], "a dispute flags the record; only a decision changes the score"
    text = ok(xy(db_env, "score", make_uscc(22), *day, cwd=tmp_path)).stdout
    assert "[DISPUTED: under objection]" in text
