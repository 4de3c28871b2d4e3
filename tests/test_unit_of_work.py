"""The unit of work stores a write's data, its knowledge-clock stamp and its audit events together
or not at all, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from xinyong.domain.clock import CLOCK
from xinyong.services import audit
from xinyong.store import clock
from xinyong.store.tables import audit_events, web_sessions
from xinyong.store.unit_of_work import AuditEvent, AuditNote, UnitOfWork, record

NOW = datetime(2026, 12, 7, 10, tzinfo=UTC)


def _counts(engine: Engine) -> tuple[int, int]:
    with UnitOfWork.reading(engine) as conn:
        return (
            int(conn.scalar(select(func.count()).select_from(web_sessions)) or 0),
            int(conn.scalar(select(func.count()).select_from(audit_events)) or 0),
        )


def _session_row(i: int) -> dict[str, object]:
    return {"id_hash": f"h{i}", "key_id": "k", "csrf_secret": "c", "created_at": NOW, "expires_at": NOW}


def _key(engine: Engine) -> None:
    from xinyong.store.tables import api_keys

    with UnitOfWork.writing(engine, dated=False) as uow:
        uow.conn.execute(
            api_keys.insert().values(
                id="k",
                secret_hash="x",  # noqa: S106 - not a secret
                role="admin",
                name="t",
                scopes={},
                subject_id=None,
                created_at=NOW,
            )
        )


def test_a_unit_of_work_that_commits_stores_its_data_and_its_events_and_the_chain_verifies(engine: Engine) -> None:
    _key(engine)
    with UnitOfWork.writing(engine, dated=False) as uow:
        uow.conn.execute(web_sessions.insert().values(**_session_row(1)))
        uow.audit(AuditEvent("cli:test", "sign_in", "session:1", "portal"))
        uow.audit(AuditNote("cli:test", "sign_in", "portal"), "session:2")
    assert _counts(engine) == (1, 2)
    report = audit.verify(engine)
    assert report.intact and report.events == 2, report.problems


def test_a_unit_of_work_that_fails_leaves_neither_its_data_nor_its_event(engine: Engine) -> None:
    _key(engine)

    def refused() -> None:
        with UnitOfWork.writing(engine) as uow:
            uow.stamp()
            uow.conn.execute(web_sessions.insert().values(**_session_row(1)))
            uow.audit(AuditEvent("cli:test", "sign_in", "session:1"))
            raise RuntimeError("refused")

    CLOCK.set_to(NOW)  # the stamp is the clock's time
    with pytest.raises(RuntimeError, match="refused"):
        refused()
    assert _counts(engine) == (0, 0)
    assert clock.latest(engine) < NOW, "the stamp of a write that did not commit is not kept"
    with UnitOfWork.writing(engine) as uow:  # the next one is whole, and the chain with it
        assert uow.stamp() == NOW
        uow.audit(AuditEvent("cli:test", "sign_in", "session:2"))
    assert clock.latest(engine) == NOW
    assert audit.verify(engine).intact


def test_an_event_that_cannot_be_appended_takes_the_write_down_with_it(engine: Engine) -> None:
    """The append is the commit's last step: when it fails, nothing of the write is stored."""
    _key(engine)

    def write(i: int, event: AuditEvent | AuditNote) -> None:
        with UnitOfWork.writing(engine, dated=False) as uow:
            uow.conn.execute(web_sessions.insert().values(**_session_row(i)))
            uow.audit(event)

    with pytest.raises(RuntimeError, match="named no target"):
        write(1, AuditNote("cli:test", "file_thing"))
    assert _counts(engine) == (0, 0)
    bad = AuditEvent("cli:test", "sign_in", "session:1", at="not a moment")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        write(2, bad)
    assert _counts(engine) == (0, 0)
    assert audit.verify(engine).events == 0


def test_an_event_of_a_read_is_recorded_in_a_unit_of_work_of_its_own(engine: Engine) -> None:
    record(engine, AuditEvent("consumer:test", "read_file", "subject:1", "credit check"))
    with UnitOfWork.reading(engine) as conn:
        row = conn.execute(select(audit_events)).one()
    assert (row.actor, row.action, row.target, row.purpose) == (
        "consumer:test",
        "read_file",
        "subject:1",
        "credit check",
    )
    assert audit.verify(engine).intact
