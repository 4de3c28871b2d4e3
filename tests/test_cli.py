"""The real `xinyong` command, run as a subprocess with an environment of its own.

Each test runs on SQLite (the embedded default: only XINYONG_DATA_DIR is set) and on PostgreSQL.
`fresh_env` is an unconfigured installation: an empty store and no identifier key. `ready_env` is
a configured one: on SQLite after `xinyong init`, on PostgreSQL the migrated schema and test key
of the `db_env` fixture.
"""

from __future__ import annotations

import json
import os
import re
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from builders import (
    cli_events,
    court_row,
    export_rows,
    make_ric,
    make_uscc,
    mistype,
    ok,
    stored,
    write_csv,
    write_jsonl,
    write_xlsx,
    xy,
)
from xinyong.cli.common import operator
from xinyong.settings import Settings
from xinyong.store.db import current_revision, head_revision, make_engine
from xinyong.store.tables import audit_events, batches, records, score_runs, subjects

SETTINGS_DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def one_line(s: str) -> str:
    return " ".join(s.split())


def store_url(env: dict[str, str]) -> str:
    return env.get("XINYONG_DATABASE_URL") or f"sqlite:///{Path(env['XINYONG_DATA_DIR']).resolve() / 'xinyong.db'}"


def store_counts(env: dict[str, str]) -> dict[str, int]:
    engine = make_engine(store_url(env))
    try:
        with engine.connect() as conn:
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (records, subjects, batches)
            }
    finally:
        engine.dispose()


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env["XINYONG_DATA_DIR"] = str(tmp_path / "data")
    return env


@pytest.fixture
def fresh_env(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    env = clean_env(tmp_path)
    if backend == "sqlite":
        yield env
        return
    base, _ = request.getfixturevalue("pg_schema")
    schema = f"xy_cli_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    env["XINYONG_DATABASE_URL"] = f"{base}{sep}options=-csearch_path%3D{schema}"
    try:
        yield env
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def ready_env(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    if backend == "sqlite":
        env = clean_env(tmp_path)
        ok(xy(env, "init", cwd=tmp_path))
        return env
    env = dict(request.getfixturevalue("db_env"))
    ok(xy(env, "init", cwd=tmp_path))  # the signing key, which maintain and audit verify use for checkpoints
    return env


def department_files(directory: Path) -> Path:
    """court.csv: two residents, one mistyped number, one impossible date; tax.jsonl: one good, one bad."""
    directory.mkdir(parents=True, exist_ok=True)
    court = [
        court_row("C-1", make_ric(1)),
        court_row("C-2", make_ric(2), amount_cny="800"),
        court_row("C-3", mistype(make_ric(3))),
        court_row("C-4", make_ric(4), decided_on="2024-02-30"),
    ]
    write_csv(directory / "court.csv", court)
    tax = [
        {
            "source_ref": "T-1",
            "revision": 1,
            "record_type": "tax.arrears",
            "subject_name": "杭州某某科技有限公司",
            "id_scheme": "cn.uscc",
            "id_number": make_uscc(1),
            "decided_on": "2025-06-01",
            "document_no": "(2025)杭税欠1号",
            "amount_cny": "35000.00",
            "tax_kind": "vat",
        },
        {
            "source_ref": "T-2",
            "record_type": "tax.arrears",
            "id_scheme": "cn.uscc",
            "id_number": make_uscc(2),
            "decided_on": "2025-06-02",
            "document_no": "(2025)杭税欠2号",
            "amount_cny": "100",
            "tax_kind": "luxury",
        },
    ]
    write_jsonl(directory / "tax.jsonl", tax)
    return directory


# --- unconfigured installations ----------------------------------------------------------------------


def test_init_creates_a_private_key_and_migrates(fresh_env, tmp_path):
    first = ok(xy(fresh_env, "init", cwd=tmp_path))
    key_file = Path(fresh_env["XINYONG_DATA_DIR"]) / "identifier.key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64,}", key)
    assert "created identifier key" in one_line(first.stdout)
    engine = make_engine(store_url(fresh_env))
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()

    second = ok(xy(fresh_env, "init", cwd=tmp_path))
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "created identifier key" not in one_line(second.stdout)


def test_status_before_init_says_how_to_migrate(fresh_env, tmp_path):
    result = xy(fresh_env, "status", cwd=tmp_path)
    assert result.returncode == 1
    assert "xinyong db upgrade" in one_line(result.stderr)
    assert "Traceback" not in result.stderr


def test_ingest_without_a_key_says_how_to_make_one(fresh_env, tmp_path):
    ok(xy(fresh_env, "db", "upgrade", cwd=tmp_path))
    files = department_files(tmp_path / "in")
    result = xy(fresh_env, "ingest", str(files / "court.csv"), cwd=tmp_path)
    assert result.returncode == 1
    message = one_line(result.stderr)
    assert "xinyong init" in message
    assert "Traceback" not in result.stderr
    assert not (Path(fresh_env["XINYONG_DATA_DIR"]) / "identifier.key").exists()
    assert store_counts(fresh_env) == {"records": 0, "subjects": 0, "batches": 0}


# --- a configured installation ----------------------------------------------------------------------


def test_ingest_directory_then_status(ready_env, tmp_path):
    files = department_files(tmp_path / "in")
    result = stored(xy(ready_env, "ingest", "--json", str(files), cwd=tmp_path))
    batches_out: list[dict[str, Any]] = json.loads(result.stdout)
    by_source = {b["source"]: b for b in batches_out}
    assert sorted(by_source) == ["court", "tax"]
    assert {
        k: by_source["court"][k] for k in ("rows_read", "accepted", "rejected", "unresolved", "subjects_created")
    } == {
        "rows_read": 4,
        "accepted": 3,
        "rejected": 1,
        "unresolved": 1,
        "subjects_created": 2,
    }
    assert {
        k: by_source["tax"][k] for k in ("rows_read", "accepted", "rejected", "unresolved", "subjects_created")
    } == {
        "rows_read": 2,
        "accepted": 1,
        "rejected": 1,
        "unresolved": 0,
        "subjects_created": 1,
    }

    status = json.loads(ok(xy(ready_env, "status", "--json", cwd=tmp_path)).stdout)
    assert {"records", "subjects", "unresolved", "rejected", "sources"} <= set(status)
    assert status["records"] == 4
    assert status["subjects"] == 3
    assert status["unresolved"] == 1
    assert status["rejected"] == 2
    assert set(status["sources"]) == {"court", "tax"}
    court, tax = status["sources"]["court"], status["sources"]["tax"]
    assert (court["records"], court["unresolved"], court["rejected"], court["batches"]) == (3, 1, 1, 1)
    assert (tax["records"], tax["unresolved"], tax["rejected"], tax["batches"]) == (1, 0, 1, 1)
    assert court["last_batch_at"] and tax["last_batch_at"]

    # The same files again add no record, no batch and no reject: they name the batches that stored them.
    again = json.loads(ok(xy(ready_env, "ingest", "--json", str(files), cwd=tmp_path)).stdout)
    assert [b["same_as"] for b in again] == [1, 2]
    assert [b["new_versions"] + b["rejected"] for b in again] == [0, 0]
    assert store_counts(ready_env)["records"] == 4
    assert store_counts(ready_env)["batches"] == 2


def test_ingest_and_scoring_commands_leave_their_audit_events(ready_env: dict[str, str], tmp_path: Path) -> None:
    files = department_files(tmp_path / "in")
    batches_out = json.loads(stored(xy(ready_env, "ingest", "--json", str(files), cwd=tmp_path)).stdout)
    resident = make_ric(1)
    shown = json.loads(ok(xy(ready_env, "score", resident, "--json", cwd=tmp_path)).stdout)
    run = json.loads(ok(xy(ready_env, "rescore", "--all", "--json", cwd=tmp_path)).stdout)["run_id"]
    export = tmp_path / "scores.csv"
    ok(xy(ready_env, "scores", "export", str(export), cwd=tmp_path))
    refused = xy(ready_env, "score", make_ric(99), cwd=tmp_path)  # known to no one: no read, no event
    assert refused.returncode == 1

    engine = make_engine(store_url(ready_env))
    try:
        with engine.connect() as conn:
            events = cli_events(conn)
            runs = conn.execute(select(score_runs.c.id).order_by(score_runs.c.id)).scalars().all()
    finally:
        engine.dispose()
    assert {actor for actor, *_ in events} == {operator()}
    after_ingest = runs[0]  # the rescore of the subjects the two files touched
    assert [(action, target, purpose) for _, action, target, purpose in events] == [
        ("submit_records", f"batch:{batches_out[0]['batch_id']}", "file ingestion"),
        ("submit_records", f"batch:{batches_out[1]['batch_id']}", "file ingestion"),
        ("rescore", f"score_run:{after_ingest}", "rescore changed"),
        ("read_score", f"subject:{shown['subject_id']}", "score explanation"),
        ("rescore", f"score_run:{run}", "rescore all"),
        ("export_scores", f"file:{export.resolve()}", "score export"),
    ]
    assert json.loads(ok(xy(ready_env, "audit", "verify", "--json", cwd=tmp_path)).stdout)["intact"] is True


def test_a_command_whose_audit_event_cannot_be_appended_says_so(ready_env: dict[str, str], tmp_path: Path) -> None:
    files = department_files(tmp_path / "in")
    stored(xy(ready_env, "ingest", str(files), cwd=tmp_path))
    engine = make_engine(store_url(ready_env))
    with engine.begin() as conn:  # the chain's table gone: every append fails
        conn.execute(text("ALTER TABLE audit_events RENAME TO audit_events_away"))
    try:
        export = tmp_path / "scores.csv"
        refused = xy(ready_env, "scores", "export", str(export), cwd=tmp_path)
        assert refused.returncode == 1
        assert "audit event 'export_scores file:" in one_line(refused.stderr)
        assert "nothing is shown or written out" in one_line(refused.stderr)
        assert not export.exists(), "an export that could not be audited is not handed out"
        read = xy(ready_env, "score", make_uscc(1), "--json", cwd=tmp_path)
        assert read.returncode == 1 and read.stdout == "" and "'read_score subject:" in one_line(read.stderr)
        changed = files / "court.csv"  # other bytes: a file stored before is not stored (nor audited) again
        changed.write_bytes(changed.read_bytes().replace(b"\n", b"\r\n"))
        again = xy(ready_env, "ingest", "--no-rescore", str(changed), cwd=tmp_path)
        assert again.returncode == 1 and "(nothing was stored)" in one_line(again.stderr)
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_events_away RENAME TO audit_events"))
        engine.dispose()
    assert store_counts(ready_env)["batches"] == 2, "a batch is stored with its audit event or not at all"


def test_ingest_table_output_names_the_reject_report(ready_env, tmp_path):
    files = department_files(tmp_path / "in")
    result = stored(xy(ready_env, "ingest", str(files / "court.csv"), cwd=tmp_path))
    out = one_line(result.stdout)
    assert "1 rejected, 1 unresolved" in out
    report = re.search(r"report: (\S+\.csv)", out)
    assert report, out
    assert Path(report.group(1)).is_file()
    written = Path(report.group(1)).read_text(encoding="utf-8")
    assert "C-3" in written and "C-4" in written
    for number in (make_ric(4), mistype(make_ric(3))):
        assert number not in written


def test_ingest_of_nothing_usable_stores_nothing(ready_env, tmp_path):
    missing = tmp_path / "nowhere" / "court.csv"
    result = xy(ready_env, "ingest", str(missing), cwd=tmp_path)
    assert result.returncode == 1
    assert "no such file or directory" in one_line(result.stderr)
    assert "Traceback" not in result.stderr

    files = department_files(tmp_path / "in")
    write_csv(files / "police.csv", [court_row("P-1", make_ric(9))])
    result = xy(ready_env, "ingest", str(files), cwd=tmp_path)
    assert result.returncode == 1
    message = one_line(result.stderr)
    assert "unknown source 'police'" in message
    assert "nothing ingested" in message
    assert "Traceback" not in result.stderr

    assert store_counts(ready_env) == {"records": 0, "subjects": 0, "batches": 0}


# --- settings --------------------------------------------------------------------------------------


def test_settings_command_lists_every_setting(tmp_path):
    result = ok(xy(clean_env(tmp_path), "settings", cwd=tmp_path))
    listed = re.findall(r"^(XINYONG_[A-Z_]+):", result.stdout, flags=re.MULTILINE)
    assert sorted(listed) == sorted(f"XINYONG_{name.upper()}" for name in Settings.model_fields)
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no help text"


def test_every_setting_is_documented():
    doc = SETTINGS_DOC.read_text(encoding="utf-8")
    missing = [f"XINYONG_{name.upper()}" for name in Settings.model_fields if f"XINYONG_{name.upper()}" not in doc]
    assert not missing, f"docs/settings.md does not document: {', '.join(missing)}"


def test_the_settings_doc_documents_no_setting_that_does_not_exist():
    documented = set(
        re.findall(r"^\|\s*`(XINYONG_[A-Z_]+)`", SETTINGS_DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    )
    assert documented, "docs/settings.md has no settings table"
    assert documented <= {f"XINYONG_{name.upper()}" for name in Settings.model_fields}


def test_keys_are_listed_without_secrets_and_revoked_once(ready_env: dict[str, str], tmp_path: Path) -> None:
    issued = json.loads(
        ok(
            xy(
                ready_env,
                "keys",
                "create",
                "--role",
                "consumer",
                "--name",
                "tax-bureau",
                "--scope",
                "contexts=procurement.tender",
                "--json",
                cwd=tmp_path,
            )
        ).stdout
    )
    listed = json.loads(ok(xy(ready_env, "keys", "list", "--json", cwd=tmp_path)).stdout)
    [mine] = [k for k in listed if k["id"] == issued["id"]]
    assert mine["role"] == "consumer" and mine["revoked_at"] is None
    assert issued["key"].split("_", 2)[2] not in json.dumps(listed)  # the secret is shown once only
    assert "secret_hash" not in mine

    whole = xy(ready_env, "keys", "revoke", issued["key"], cwd=tmp_path)
    assert whole.returncode == 1 and "give the key's id" in one_line(whole.stderr)
    unknown = xy(ready_env, "keys", "revoke", "0" * 16, cwd=tmp_path)
    assert unknown.returncode == 1 and "no key '0000000000000000'" in one_line(unknown.stderr)

    revoked = ok(xy(ready_env, "keys", "revoke", issued["id"], cwd=tmp_path))
    assert f"revoked consumer key {issued['id']} (tax-bureau)" in one_line(revoked.stdout)
    again = xy(ready_env, "keys", "revoke", issued["id"], cwd=tmp_path)
    assert again.returncode == 1 and "revoked already" in one_line(again.stderr)
    shown = ok(xy(ready_env, "keys", "list", cwd=tmp_path)).stdout
    assert any(issued["id"] in line and "REVOKED" in line for line in shown.splitlines())
    engine = make_engine(store_url(ready_env))
    try:  # who issued and who revoked the key is in the audit chain, and the chain holds
        with engine.connect() as conn:
            events = conn.execute(
                select(audit_events.c.action, audit_events.c.actor).where(
                    audit_events.c.target == f"key:{issued['id']}"
                )
            ).all()
    finally:
        engine.dispose()
    assert [action for action, _ in events] == ["key_create", "key_revoke"]
    assert all(actor.startswith("cli:") for _, actor in events)
    assert "intact" in ok(xy(ready_env, "audit", "verify", cwd=tmp_path)).stdout


def test_ingest_reads_encodings_and_sheets_as_told(ready_env, tmp_path):
    """--encoding and --sheet reach the readers; the output names the mapping, what it dropped and
    what it normalised; an encoding xinyong does not read is refused, nothing stored."""
    rows = [
        court_row("E-1", make_ric(31)),
        court_row("E-2", make_ric(32).translate({0x30 + i: 0xFF10 + i for i in range(10)})),
    ]
    headers, data = export_rows("court.defaulter_list", rows, ["性别"])
    gbk = write_csv(tmp_path / "court.csv", data, columns=headers, encoding="gbk")
    refused = xy(ready_env, "ingest", str(gbk), "--encoding", "latin-1", cwd=tmp_path)
    assert refused.returncode == 1 and "encoding 'latin-1' is not one xinyong reads" in refused.stderr
    out = one_line(stored(xy(ready_env, "ingest", str(gbk), "--encoding", "gbk", "--no-rescore", cwd=tmp_path)).stdout)
    assert "encoding gbk (declared); mapping court.defaulter_list; dropped 性别 (2); normalised full width 1" in out
    book = write_xlsx(tmp_path / "court.xlsx", rows, title="名单", sheet="失信")
    result = stored(xy(ready_env, "ingest", str(book), "--sheet", "失信", "--json", "--no-rescore", cwd=tmp_path))
    [batch] = json.loads(result.stdout)
    assert batch["unchanged"] == 2 and batch["reading"]["sheet"] == "失信" and batch["reading"]["header_line"] == 2
