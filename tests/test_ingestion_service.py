"""One ingestion service for every entrypoint: `xinyong ingest` of a file and `POST /v1/records` of
the same rows leave the same store (records, rejects, scores, the owed rescore settled, notices
delivered, audit), and the API's batch is never written to a temporary file.

The command runs as a real subprocess and the API as a real server, one after the other on the
same store (emptied in between), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update

from builders import court_row, make_uscc, mistype, write_jsonl, xy
from test_api import Served, served  # noqa: F401 - the real server fixture of the API tests
from xinyong.cli.store_commands import REJECTED_ROWS_EXIT
from xinyong.domain.notices import Notice, NoticeKind
from xinyong.services.notices import put
from xinyong.store.clock import EPOCH
from xinyong.store.ops_tables import notice_deliveries
from xinyong.store.tables import (
    audit_events,
    batches,
    data_clock,
    metadata,
    owed_rescores,
    records,
    rejects,
    score_runs,
    scores,
    subjects,
)


def _org(ref: str, number: str, **over: Any) -> dict[str, Any]:
    return court_row(ref, number, id_scheme="cn.uscc", subject_name=f"杭州{ref}有限公司", valid_until="", **over)


ROWS = [
    _org("S-1", make_uscc(11)),
    _org("S-2", make_uscc(12), amount_cny="900000.00"),
    _org("S-3", mistype(make_uscc(13))),  # stored, not linked
    _org("S-4", make_uscc(14), decided_on="not a day"),  # rejected
]


def _queue_notice(engine: Engine) -> None:
    """A notice waiting in the outbox, as a decision leaves one: the submission delivers it."""
    notice = Notice(NoticeKind.RECORD_CORRECTED, "Record corrected", "a record changed", "a test", "nothing")
    with engine.begin() as conn:
        put(conn, subject_id=None, notice=notice, event_ref="test:waiting", recipient="court")


def _state(engine: Engine) -> dict[str, Any]:
    """What a submission leaves in the store, without the moments and the actor that differ."""
    with engine.connect() as conn:

        def rows(*columns: Any) -> list[Any]:
            return sorted(tuple(r) for r in conn.execute(select(*columns)))

        return {
            "records": rows(records.c.source_ref, records.c.subject_id, records.c.link_method, records.c.status),
            "subjects": rows(subjects.c.id, subjects.c.kind),
            "batches": rows(
                batches.c.source_id,
                batches.c.rows_read,
                batches.c.accepted,
                batches.c.rejected,
                batches.c.unresolved,
                batches.c.subjects_created,
            ),
            "rejects": rows(rejects.c.line, rejects.c.field, rejects.c.code),
            "scores": rows(scores.c.subject_id, scores.c.status, scores.c.points_cp, scores.c.grade),
            "runs": rows(score_runs.c.mode, score_runs.c.engine, score_runs.c.subjects),
            "owed": rows(owed_rescores.c.batch_id),
            "deliveries": rows(notice_deliveries.c.notice_id, notice_deliveries.c.state),
            "audit": [e for e in rows(audit_events.c.action, audit_events.c.target) if e[0] != "key_create"],
        }


def _empty(engine: Engine) -> None:
    with engine.begin() as conn:
        names = [t.name for t in metadata.sorted_tables if t is not data_clock]
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(names):
                conn.execute(text(f"DELETE FROM {name}"))
            if conn.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")):
                conn.execute(text("DELETE FROM sqlite_sequence"))
        conn.execute(update(data_clock).values(stamp=EPOCH))


def test_a_batch_through_the_api_leaves_the_store_a_file_through_the_command_leaves(
    served: Served,  # noqa: F811
    db_env: dict[str, str],
    tmp_path: Path,
) -> None:
    _queue_notice(served.engine)
    done = xy(db_env, "ingest", str(write_jsonl(tmp_path / "court.jsonl", ROWS)), "--json", cwd=tmp_path)
    assert done.returncode == REJECTED_ROWS_EXIT, done.stderr
    by_command = _state(served.engine)

    _empty(served.engine)
    court = served.key("source", "court")
    _queue_notice(served.engine)
    r = served.call("POST", "/v1/records", court, json={"records": ROWS})
    assert r.status_code == 201, r.text
    assert (r.json()["accepted"], r.json()["rejected"], r.json()["unresolved"]) == (3, 1, 1)
    by_api = _state(served.engine)

    assert by_api == by_command
    assert len(by_api["scores"]) == 2, "both linked organisations were rescored after the batch"
    assert by_api["owed"] == [], "the rescore the batch owed is settled"
    assert by_api["deliveries"] == [(1, "delivered")], "the notice waiting was delivered"
    assert ("submit_records", "batch:1") in by_api["audit"]
    assert ("rescore", "score_run:1") in by_api["audit"]


def test_a_batch_is_never_written_to_a_temporary_file(
    served: Served,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The temporary directory is one nobody may write in: a batch written there would fail."""
    locked = tmp_path / "tmp"
    locked.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(locked))
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        court = served.key("source", "court")
        r = served.call("POST", "/v1/records", court, json={"records": ROWS[:2]})
        assert r.status_code == 201, r.text
        assert r.json()["accepted"] == 2
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(stat.S_IRWXU)


def test_a_batch_with_a_type_its_source_may_not_submit_is_refused_whole(served: Served) -> None:  # noqa: F811
    court = served.key("source", "court")
    r = served.call(
        "POST", "/v1/records", court, json={"records": [ROWS[0], {**ROWS[1], "record_type": "tax.arrears"}]}
    )
    assert r.status_code == 403, r.text
    assert r.json()["detail"].startswith("record 2: court may submit only")
    with served.engine.connect() as conn:
        assert conn.scalar(select(records.c.id)) is None
