"""Checks: decisions with reasons for allow and deny, certificates that fail on any altered byte,
replay as known at the time, and the audit chain that catches every kind of tampering.

All on the real store (SQLite and PostgreSQL), with records ingested at injected moments.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from psycopg.pq import PipelineStatus
from sqlalchemy import BigInteger, Engine, bindparam, delete, event, func, insert, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from builders import make_uscc, ok, write_conn, xy
from conftest import pg_url
from process_story import T0, Story, at, clock_at, hold, org_row, release, write_csv
from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import ALGORITHM, CertificateInvalid, canonical, key_id, sign, verify
from xinyong.domain.errors import Busy, InvalidInput
from xinyong.domain.identifiers import IdentifierVault
from xinyong.ingest.pipeline import ingest_file
from xinyong.services import audit
from xinyong.services import lists as lists_service
from xinyong.services.checks import certificate_of, decide_check, replay, run_check, store_checks
from xinyong.services.objections import file_objection
from xinyong.store import clock, db
from xinyong.store import engine as engines
from xinyong.store.db import make_engine
from xinyong.store.tables import audit_events, records
from xinyong.store.unit_of_work import AuditEvent, UnitOfWork

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KEYS = {key_id(KEY.public_key()): KEY.public_key()}


@pytest.fixture
def story(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> Story:
    return Story(engine, catalog, vault, tmp_path)


def check(story: Story, number: str, context: str, when: float, purpose: str | None = None) -> dict:
    if purpose is None:  # the context's first purpose code
        codes = story.catalog.purpose_codes(context) if context in story.catalog.contexts else {"bidder_screening"}
        purpose = sorted(codes)[0]
    return run_check(
        story.engine,
        story.catalog,
        story.vault,
        KEY,
        identifier=number,
        context=context,
        purpose=purpose,
        consumer="consumer:finance",
        now=clock_at(when),
    )


def black_listed(story: Story, n: int) -> str:
    story.ingest([org_row(f"B-{n}", n)], T0)
    story.maintain(at(0))
    eid = story.entry(f"B-{n}")
    assert eid is not None
    lists_service.decide(
        story.engine, story.catalog, eid, approve_it=True, actor="reviewer:li", reason="unpaid", now=clock_at(0)
    )
    story.maintain(at(31))
    return make_uscc(n)


def test_black_listed_company_is_denied_in_procurement_with_reasons_and_a_certificate(story: Story) -> None:
    uscc = black_listed(story, 1)
    result = check(story, uscc, "procurement.tender", 32)
    d = result["decision"]
    assert d["outcome"] == "deny"
    [applied] = d["applied"]
    assert applied["measure"] == "procurement.exclude_court_defaulters" and applied["effect"] == "deny"
    assert "Fa Shi [2017] No. 7, Art. 8" in applied["legal_basis"]
    assert applied["basis"][0]["record"] == "court/B-1" and "in force since 2024-04-01" in applied["reason"]
    assert all(m["reason"].startswith("does not apply") for m in d["not_applied"]) and d["not_applied"]
    # Known at the last moment the platform learnt something (the listing by maintenance on
    # day 31), which a replay can reproduce; asked on day 32.
    assert result["data_version"] == {
        "catalog": story.catalog.version,
        "as_of": "2024-04-02",
        "known_at": at(31).isoformat(),
        "evaluated_at": at(32).isoformat(),
    }
    assert result["issued_at"] == at(32).isoformat()
    cert = certificate_of(story.engine, result["check_id"])
    assert verify(cert, KEYS).payload == result
    # Before publication (in the notice period) the same company is allowed, and told why.
    early = check(story, uscc, "procurement.tender", 10)
    assert early["decision"]["outcome"] == "allow"


def test_certificate_fails_on_any_altered_byte_and_on_an_unknown_key(story: Story) -> None:
    uscc = black_listed(story, 2)
    cert = certificate_of(story.engine, check(story, uscc, "procurement.tender", 32)["check_id"])
    for i in range(0, len(cert), max(1, len(cert) // 97)):
        altered = bytearray(cert)
        altered[i] = (altered[i] + 1) % 256
        with pytest.raises(CertificateInvalid):
            verify(bytes(altered), KEYS)
    with pytest.raises(CertificateInvalid, match="signed form"):
        verify(cert.replace(b'{"algorithm"', b'{ "algorithm"'), KEYS)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(CertificateInvalid, match="not a key of this platform"):
        verify(cert, {key_id(other): other})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), JSON, max_size=6))
def test_a_certificate_is_the_canonical_form_of_its_whole_document(payload: dict) -> None:
    """`sign` assembles the document around the payload's bytes; it must be what `canonical` makes."""
    cert = sign(KEY, payload)
    doc = json.loads(cert)
    whole = {"algorithm": ALGORITHM, "key_id": key_id(KEY.public_key()), "payload": payload}
    assert cert == canonical({**whole, "signature": doc["signature"]}) + b"\n"
    assert verify(cert, KEYS).payload == payload


def test_protected_context_unknown_subject_and_bad_input(story: Story) -> None:
    uscc = black_listed(story, 3)
    health = check(story, uscc, "healthcare.services", 32)["decision"]
    assert health["outcome"] == "allow" and health["applied"] == [] and "principle 3" in health["summary"]
    stranger = check(story, make_uscc(999), "procurement.tender", 32)["decision"]
    assert stranger["outcome"] == "allow" and not stranger["applied"]
    assert "no record linked" in stranger["summary"]
    with pytest.raises(InvalidInput, match="not valid in any scheme"):
        check(story, "91330106MA2ABCDE1X", "procurement.tender", 32)
    with pytest.raises(InvalidInput, match="context 'casino' is not in the catalog"):
        check(story, uscc, "casino", 32)
    with pytest.raises(InvalidInput, match=r"purpose ' ' is not a purpose code of context 'procurement\.tender'"):
        check(story, uscc, "procurement.tender", 32, purpose=" ")


def test_record_trigger_needs_a_linked_record_and_grades_trigger_only_rewards(story: Story) -> None:
    tax = {
        "revision": 1,
        "subject_name": "杭州某某有限公司",
        "id_scheme": "cn.uscc",
        "id_number": make_uscc(4),
        "decided_on": "2024-02-20",
        "valid_from": "2024-02-25",
        "valid_until": "",
        "document_no": "杭税稽 9",
        "source_ref": "TX-4",
        "record_type": "tax.major_violation",
        "violation": "false_invoicing",
        "amount_cny": "900000",
    }
    story.ingest([tax], T0, source="tax")
    d = check(story, make_uscc(4), "finance.subsidy", 1)["decision"]
    assert [m["measure"] for m in d["applied"]] == ["subsidy.deny_major_tax_violation"] and d["outcome"] == "deny"
    with story.engine.begin() as conn:
        conn.execute(update(records).where(records.c.source_ref == "TX-4").values(link_method="probable"))
    d = check(story, make_uscc(4), "finance.subsidy", 2)["decision"]
    assert d["outcome"] == "allow"
    [why] = [m["reason"] for m in d["not_applied"] if m["measure"] == "subsidy.deny_major_tax_violation"]
    assert "principle 4" in why
    grade_a = {
        **tax,
        "id_number": make_uscc(5),
        "source_ref": "A-5",
        "record_type": "tax.a_grade",
        "rating_year": "2026",
        "violation": "",
        "amount_cny": "",
    }
    assert story.ingest([grade_a], T0, source="tax").rejected == 0
    planning = check(story, make_uscc(5), "inspection.planning", 1)["decision"]
    assert planning["grade"] == "A"
    assert [m["measure"] for m in planning["applied"]] == ["inspection.less_for_class_a"]
    assert planning["outcome"] == "allow"


def test_replay_gives_the_same_answer_as_known_then_even_after_a_correction(story: Story) -> None:
    uscc = black_listed(story, 6)
    first = check(story, uscc, "procurement.tender", 32)
    sid = story.subject_of("B-6")
    o = file_objection(
        story.engine,
        story.catalog,
        subject_id=sid,
        target="record:court/B-6",
        grounds="the judgment was quashed on appeal",
        actor=f"subject:{sid}",
        now=clock_at(33),
    )
    disputed = check(story, uscc, "procurement.tender", 34)["decision"]
    assert disputed["outcome"] == "deny" and disputed["applied"][0]["disputed"] is True
    assert "disputes a ground" in disputed["summary"]
    assert o["forwarded_to"] == "court", "the court's record behind its listing: the court corrects it"
    story.ingest([org_row("B-6", 6, revision=2, performance="performed")], at(35))
    assert check(story, uscc, "procurement.tender", 36)["decision"]["outcome"] == "allow"
    again = replay(story.engine, story.catalog, first["check_id"])
    assert again["same"] is True and again["outcome_replayed"] == "deny", again["differences"]


def test_a_check_made_while_a_batch_is_being_written_replays_the_same(story: Story, tmp_path: Path) -> None:
    """A batch stamped before a check but committed after it must not enter the check's replay:
    the check is known at the knowledge clock's committed stamp, and the batch, stamped under
    the clock's lock, carries a later one."""
    uscc = make_uscc(7)
    tax = {
        "revision": 1,
        "subject_name": "杭州某某有限公司",
        "id_scheme": "cn.uscc",
        "id_number": uscc,
        "decided_on": "2024-02-20",
        "valid_from": "2024-02-25",
        "valid_until": "",
        "document_no": "杭税 7",
        "source_ref": "A-7",
        "record_type": "tax.a_grade",
        "rating_year": "2026",
        "violation": "",
        "amount_cny": "",
    }
    assert story.ingest([tax], T0, source="tax").accepted == 1  # the company is known before the batch
    violation = {**tax, "source_ref": "TX-7", "record_type": "tax.major_violation", "rating_year": ""}
    violation.update(violation="false_invoicing", amount_cny="900000")
    path = tmp_path / "batch" / "tax.csv"
    path.parent.mkdir()
    write_csv(path, [violation, {**violation, "source_ref": "TX-8", "id_number": make_uscc(8)}])
    during: list[Any] = []

    def mid_batch(_rows: int) -> None:  # after the first chunk is written, before the commit
        if not during:
            during.append(
                decide_check(
                    story.engine,
                    story.catalog,
                    story.vault,
                    KEY,
                    identifier=uscc,
                    context="finance.subsidy",
                    purpose="subsidy_application",
                    consumer="consumer:finance",
                    now=clock_at(3),
                )
            )

    result = ingest_file(
        story.engine,
        story.catalog,
        story.vault,
        path,
        report_dir=tmp_path,
        chunk_rows=1,
        helper_min_bytes=None,
        now=clock_at(2),
        progress=mid_batch,
    )
    assert result.accepted == 2 and result.rejected == 0
    [decided] = during
    assert decided.payload["decision"]["outcome"] == "allow"
    assert datetime.fromisoformat(decided.payload["data_version"]["known_at"]) < at(2)
    store_checks(story.engine, [decided])
    assert check(story, uscc, "finance.subsidy", 4)["decision"]["outcome"] == "deny"
    again = replay(story.engine, story.catalog, decided.payload["check_id"])
    assert again["same"] is True and again["outcome_replayed"] == "allow", again["differences"]


def test_the_knowledge_clock_never_runs_backwards_and_reads_only_what_is_committed(story: Story) -> None:
    with write_conn(story.engine) as conn:
        first = clock.advance(conn) if hold(at(10)) else None
    assert first == at(10), "the stamp is the clock's time"
    with write_conn(story.engine) as conn:
        hold(at(5))  # the clock held earlier (a replay): the stamp still moves forward
        assert clock.advance(conn) == first + clock.TICK
    with story.engine.connect() as reader:
        assert clock.known_at(reader) == first + clock.TICK

    def rolled_back() -> None:
        with write_conn(story.engine) as conn:
            hold(at(20))
            clock.advance(conn)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        rolled_back()
    with story.engine.connect() as reader:
        assert clock.known_at(reader) == first + clock.TICK


def test_a_check_reads_the_subject_file_in_one_statement_and_on_postgresql_outside_a_transaction(
    story: Story, engine: Engine
) -> None:
    """The subject, its records, its open objections and its list entries: one snapshot on either
    store; on PostgreSQL one round trip (a pipeline) of a transaction of its own that sets its
    plan (see HotRead), with no ROLLBACK after it."""
    uscc = black_listed(story, 8)
    sid = story.subject_of("B-8")
    file_objection(
        engine, story.catalog, subject_id=sid, target="record:court/B-8", grounds="paid in full", actor=f"subject:{sid}",
        now=clock_at(33),
    )  # fmt: skip
    seen: list[tuple[str, str | None]] = []  # each statement the driver ran, and on PostgreSQL the state after it

    def traced(dbapi_conn: Any, *_: Any) -> None:  # the read runs on the driver's connection
        if engine.dialect.name == "sqlite":
            dbapi_conn.set_trace_callback(lambda sql: seen.append((sql, None)))
            return
        cursor_of = dbapi_conn.cursor

        class Cursor:  # the driver's cursor, telling each statement it runs
            def __init__(self, cur: Any) -> None:
                self._cur = cur

            def execute(self, sql: Any, *more: Any, **kw: Any) -> Any:
                result = self._cur.execute(sql, *more, **kw)
                seen.append((str(sql), PipelineStatus(dbapi_conn.pgconn.pipeline_status).name))
                return result

            def __getattr__(self, name: str) -> Any:
                return getattr(self._cur, name)

        def cursor(*args: Any, **kwargs: Any) -> Any:
            return Cursor(cursor_of(*args, **kwargs))

        dbapi_conn.cursor = cursor

    def untraced(dbapi_conn: Any, *_: Any) -> None:
        if engine.dialect.name == "sqlite":
            dbapi_conn.set_trace_callback(None)
        else:
            del dbapi_conn.cursor

    event.listen(engine, "checkout", traced)
    event.listen(engine, "checkin", untraced)
    try:
        decided = decide_check(
            engine, story.catalog, story.vault, KEY, identifier=uscc, context="procurement.tender",
            purpose="contract_award", consumer="consumer:finance", now=clock_at(34),
        )  # fmt: skip
    finally:
        event.remove(engine, "checkout", traced)
        event.remove(engine, "checkin", untraced)
    decision = decided.payload["decision"]
    assert decision["outcome"] == "deny" and decision["applied"][0]["disputed"] is True  # entry, record, objection
    assert decided.payload["subject"]["id"] == sid
    if engine.dialect.name == "sqlite":
        [(sql, _)] = seen  # one statement: no BEGIN, no ROLLBACK
    else:  # sent together, in one pipeline, and nothing after it
        assert [s for s, _ in seen] == ["BEGIN", "SET LOCAL plan_cache_mode = force_generic_plan", seen[2][0], "COMMIT"]
        assert {state for _, state in seen} == {"ON"}
        sql = seen[2][0]
    assert "FROM records" in sql and "list_transitions" in sql


def test_on_postgresql_a_checks_read_runs_its_generic_plan(
    pg_schema: tuple[str, str], catalog: Catalog, vault: IdentifierVault
) -> None:
    """PostgreSQL planned the check's read afresh for each execution's values even once psycopg
    had prepared it (its generic plan estimated dearer): a millisecond of each check. The read
    runs the prepared statement's generic plan, and its setting does not outlive the read."""
    engine = make_engine(pg_url(*pg_schema), pool_size=1, max_overflow=0)  # every read on one session
    try:
        for n in range(10):  # psycopg prepares a statement on its fifth run
            ask = {"identifier": make_uscc(n), "context": "procurement.tender", "purpose": "bidder_screening"}
            decide_check(engine, catalog, vault, KEY, consumer="consumer:test", **ask)
        with engine.connect() as conn:
            plans = conn.exec_driver_sql(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE strpos(statement, 'list_transitions') > 0"
            ).all()
            setting = conn.exec_driver_sql("SHOW plan_cache_mode").scalar_one()
        assert len(plans) == 1 and plans[0].generic_plans >= 5 and plans[0].custom_plans == 0, plans
        assert setting == "auto"  # SET LOCAL: the session's other statements plan as before
    finally:
        engine.dispose()


def test_audit_chain_catches_alteration_deletion_insertion_and_reordering(story: Story, engine: Engine) -> None:
    story.ingest([org_row("B-7", 7)], T0)
    for i in range(5):
        check(story, make_uscc(7), "procurement.tender", 1 + i)
    report = audit.verify(engine)
    assert report.intact and report.events == 5

    def tampered(change) -> list[str]:  # type: ignore[no-untyped-def]
        with engine.connect() as conn:
            saved = [dict(r._mapping) for r in conn.execute(select(audit_events).order_by(audit_events.c.id))]
        with engine.begin() as conn:
            change(conn, saved)
        problems = audit.verify(engine).problems
        with engine.begin() as conn:
            conn.execute(delete(audit_events))
            conn.execute(insert(audit_events), saved)
        assert audit.verify(engine).intact
        return problems

    def alter(conn, rows):  # type: ignore[no-untyped-def]
        conn.execute(update(audit_events).where(audit_events.c.id == rows[2]["id"]).values(purpose="nothing to see"))

    def drop(conn, rows):  # type: ignore[no-untyped-def]
        conn.execute(delete(audit_events).where(audit_events.c.id == rows[1]["id"]))

    def add(conn, rows):  # type: ignore[no-untyped-def]
        fake = {**rows[3], "id": rows[3]["id"] * 100, "hash": "f" * 64, "target": "subject:1"}
        conn.execute(insert(audit_events).values(**fake))

    def swap(conn, rows):  # type: ignore[no-untyped-def]
        a, b = rows[1], rows[2]
        conn.execute(delete(audit_events).where(audit_events.c.id.in_([a["id"], b["id"]])))
        conn.execute(insert(audit_events), [{**b, "id": a["id"]}, {**a, "id": b["id"]}])

    assert any("altered" in p for p in tampered(alter))
    assert any("deleted, inserted or moved" in p for p in tampered(drop))
    assert tampered(add)
    assert any("deleted, inserted or moved" in p for p in tampered(swap))


def test_check_certificate_and_audit_from_the_command_line(
    story: Story, db_env: dict[str, str], tmp_path: Path
) -> None:
    # The command checks now (a check ahead of the real clock is refused): listed in the months before.
    start = datetime.now(UTC) - timedelta(days=60)
    day = (start - timedelta(days=10)).date().isoformat()
    story.ingest([org_row("B-8", 8, decided_on=day, valid_from=day)], start)
    story.maintain(start)
    eid = story.entry("B-8")
    assert eid is not None
    lists_service.decide(
        story.engine, story.catalog, eid, approve_it=True, actor="reviewer:li", reason="unpaid", now=hold(start)
    )
    story.maintain(start + timedelta(days=31))
    release()
    uscc = make_uscc(8)
    env = {**db_env, "XINYONG_SIGNING_KEY_FILE": str(tmp_path / "signing.key")}
    ok(xy(env, "init", cwd=tmp_path))
    result = json.loads(
        ok(
            xy(
                env,
                "check",
                uscc,
                "--context",
                "procurement.tender",
                "--purpose",
                "bidder_screening",
                "--json",
                cwd=tmp_path,
            )
        ).stdout
    )
    assert result["decision"]["outcome"] == "deny"
    cert = tmp_path / "cert.json"
    ok(xy(env, "certificate", "get", result["check_id"], "-o", str(cert), cwd=tmp_path))
    assert "valid: check" in ok(xy(env, "certificate", "verify", str(cert), cwd=tmp_path)).stdout
    public = ok(xy(env, "keys-public", cwd=tmp_path)).stdout.strip()
    offline = {k: v for k, v in env.items() if k != "XINYONG_SIGNING_KEY_FILE"}
    ok(xy(offline, "certificate", "verify", str(cert), "--public-key", public, cwd=tmp_path))
    cert.write_bytes(cert.read_bytes().replace(b'"deny"', b'"allow"', 1))
    bad = xy(env, "certificate", "verify", str(cert), cwd=tmp_path)
    assert bad.returncode == 1 and "altered" in bad.stderr
    same = json.loads(ok(xy(env, "checks", "replay", result["check_id"], "--json", cwd=tmp_path)).stdout)
    assert same["same"] is True
    chain = json.loads(ok(xy(env, "audit", "verify", "--json", cwd=tmp_path)).stdout)
    assert chain == {"events": 3, "intact": True, "problems": []}  # the check, the certificate read, the replay
    with story.engine.begin() as conn:
        conn.execute(update(audit_events).values(actor="consumer:someone-else"))
    broken = xy(env, "audit", "verify", cwd=tmp_path)
    assert broken.returncode == 1 and "altered" in broken.stdout


def test_the_knowledge_clock_keeps_no_stamp_a_savepoint_rolled_back(story: Story) -> None:
    with story.engine.connect() as conn:
        with pytest.raises(RuntimeError, match="inside a write transaction"):
            clock.advance(conn)
        conn.rollback()
        with write_conn(story.engine) as w:
            inner = w.begin_nested()
            undone = clock.advance(w) if hold(at(10)) else None
            inner.rollback()
            kept = clock.advance(w)
            hold(at(11))
            assert clock.advance(w) == kept  # one stamp for the rest of the transaction
        assert clock.known_at(conn) == kept >= undone


def _failure_in_a_thread(work: Callable[[], None]) -> BaseException | None:
    """Run `work` in a thread of its own (it may wait for a lock this thread holds); how it failed."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            failed.append(exc)

    waiting = threading.Thread(target=run)
    waiting.start()
    waiting.join(timeout=30)
    assert not waiting.is_alive(), "the waiting writer hung"
    return failed[0] if failed else None


def test_on_postgresql_a_writer_waiting_for_the_clock_gets_busy_not_a_hang(
    pg_schema: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch being ingested holds the knowledge clock until it commits; a decision that waits
    for it longer than the store's busy timeout is told to try again later, as on SQLite."""
    engine = make_engine(pg_url(*pg_schema))
    monkeypatch.setattr(engines, "BUSY_TIMEOUT_S", 1)

    def decide() -> None:
        with write_conn(engine):
            pass

    try:
        with write_conn(engine) as holder:
            clock.advance(holder)
            exc = _failure_in_a_thread(decide)
        assert isinstance(exc, Busy) and "try again later" in str(exc)
        with write_conn(engine) as after:  # the clock is free again once the holder commits
            clock.advance(after)
    finally:
        engine.dispose()


def test_on_postgresql_a_writer_waiting_for_the_audit_chain_gets_busy_not_a_hang(
    pg_schema: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit lock and the chain's end are taken in one round trip, past SQLAlchemy: a wait
    for the lock longer than the busy timeout must still be told Busy, and leave the chain whole."""
    engine = make_engine(pg_url(*pg_schema))
    monkeypatch.setattr(engines, "BUSY_TIMEOUT_S", 1)
    before = audit.verify(engine).events  # the session's schema: other tests' events may be there

    def decide() -> None:
        with UnitOfWork.writing(engine) as uow:  # a decision, which waits at most the busy timeout
            uow.audit(AuditEvent("reviewer:test", "entry_remove", "entry:1"))

    try:
        with UnitOfWork.writing(engine, dated=False) as holder:  # a check being stored holds the chain's end
            audit.append_many(
                holder.conn, [audit.Event("consumer:test", "check", "subject:1", None, datetime.now(UTC))]
            )
            exc = _failure_in_a_thread(decide)
        assert isinstance(exc, Busy) and "try again later" in str(exc)
        with UnitOfWork.writing(engine) as after:  # the chain is free again once the holder commits
            after.audit(AuditEvent("reviewer:test", "entry_remove", "entry:1"))
        report = audit.verify(engine)
        assert report.events == before + 2 and report.intact, report.problems
    finally:
        with engine.begin() as conn:  # the session's schema: leave no events to the tests after this one
            conn.execute(delete(audit_events))
        engine.dispose()


def test_on_postgresql_a_connection_lost_while_taking_the_audit_chain_is_not_handed_out_again(
    pg_schema: tuple[str, str],
) -> None:
    url = pg_url(*pg_schema)
    admin = make_engine(url)
    engine = make_engine(url, idle_ping_s=3600, pool_size=1, max_overflow=0)  # never asked whether it lives
    before = audit.verify(engine).events  # the session's schema: other tests' events may be there
    try:
        with engine.connect() as conn:
            pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        with admin.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 10000)").scalar_one()
        with pytest.raises(OperationalError), UnitOfWork.writing(engine, dated=False) as uow:
            uow.audit(AuditEvent("consumer:test", "check", "subject:1"))
        with UnitOfWork.writing(engine, dated=False) as uow:  # on a new connection
            uow.audit(AuditEvent("consumer:test", "check", "subject:1"))
        assert audit.verify(engine).events == before + 1
    finally:
        with engine.begin() as conn:  # the session's schema: leave no events to the tests after this one
            conn.execute(delete(audit_events))
        engine.dispose()
        admin.dispose()


def test_on_postgresql_a_connection_lost_under_a_checks_read_is_not_handed_out_again(
    pg_schema: tuple[str, str], catalog: Catalog, vault: IdentifierVault
) -> None:
    """A check's read runs on the driver's connection (`HotRead`), past SQLAlchemy's Connection:
    its error must still be SQLAlchemy's, and the dead connection must leave the pool."""
    url = pg_url(*pg_schema)
    admin = make_engine(url)
    engine = make_engine(url, idle_ping_s=3600, pool_size=1, max_overflow=0)  # never asked whether it lives
    ask: dict[str, Any] = {
        "identifier": make_uscc(5), "context": "procurement.tender", "purpose": "bidder_screening",
        "consumer": "consumer:test",
    }  # fmt: skip
    try:
        with engine.connect() as conn:
            pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        with admin.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 10000)").scalar_one()
        with pytest.raises(OperationalError):
            decide_check(engine, catalog, vault, KEY, **ask)
        decided = decide_check(engine, catalog, vault, KEY, **ask)  # on a new connection
        assert decided.payload["subject"]["id"] is None and decided.payload["decision"]["outcome"] == "allow"
    finally:
        engine.dispose()
        admin.dispose()


def test_a_failed_hot_read_raises_as_sqlalchemy_and_gives_its_connection_back_as_it_came(db_url: str) -> None:
    engine = make_engine(db_url, pool_size=1, max_overflow=0)  # one connection: the one the read failed on
    read = db.HotRead(select(func.abs(bindparam("n", type_=BigInteger)).label("q")))
    try:
        assert read.one(engine, {"n": -5}).q == 5
        with pytest.raises(DBAPIError):  # out of range on either store
            read.one(engine, {"n": -(2**63)})
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":  # left in autocommit, it would break every transaction after
                assert conn.connection.driver_connection.autocommit is False  # type: ignore[union-attr]
        assert read.one(engine, {"n": 7}).q == 7
    finally:
        engine.dispose()
