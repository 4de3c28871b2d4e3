"""The demo's history: a small city lived through for 30 months, through the real services.

After `demo replay` a newcomer must find every state of every procedure, and nothing the replay
stored may carry a stamp ahead of the real clock; the chain of audit events must hold, and the
same seed must give the same history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select

from xinyong.demo.city import generate_city
from xinyong.demo.history import replay
from xinyong.domain.catalog import Catalog
from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import InvalidInput
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.notices import Notice, NoticeKind, bilingual
from xinyong.ingest.pipeline import ingest_file
from xinyong.services.audit import verify
from xinyong.services.clock_status import clock_status
from xinyong.services.objection_views import objection_rows
from xinyong.store.db import make_engine, upgrade
from xinyong.store.tables import (
    api_keys,
    audit_events,
    checks,
    list_entry_state,
    list_transitions,
    maintenance_runs,
    notices,
    objection_decisions,
    objections,
    records,
    repair_decisions,
    repairs,
    score_runs,
)

MONTHS = 30
SEED = 4242
STAMPS = [
    records.c.recorded_at, list_transitions.c.at, objections.c.filed_at, objection_decisions.c.at,
    repairs.c.filed_at, repair_decisions.c.at, notices.c.created_at, checks.c.created_at, checks.c.known_at,
    audit_events.c.at, api_keys.c.created_at, score_runs.c.known_at, maintenance_runs.c.now,
]  # fmt: skip


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    anchor = datetime.now(UTC).date()
    generate_city(out, 300, 120, 11, anchor, history_months=MONTHS)
    return out


@pytest.fixture(scope="module")
def until() -> datetime:
    """One end for every replay of the module, so that they can be compared."""
    return datetime.now(UTC).replace(microsecond=0)


def _replay(engine: Engine, catalog: Catalog, vault: IdentifierVault, city: Path, until: datetime, tmp: Path) -> Any:
    return replay(
        engine, catalog, vault, Ed25519PrivateKey.generate(), city, seed=SEED, report_dir=tmp / "rejects",
        until=until, helper_min_bytes=None,
    )  # fmt: skip


def _count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def test_a_newcomer_finds_every_state_of_every_procedure_all_stamped_in_the_past(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, city: Path, until: datetime, tmp_path: Path
) -> None:
    counts = _replay(engine, catalog, vault, city, until, tmp_path)
    for action in ("approve", "reject", "publish", "expire", "remove", "repair"):
        assert _count(engine, list_transitions, list_transitions.c.action == action), action
    for state in ("listed", "withdrawn", "expired", "removed", "repaired"):
        assert _count(engine, list_entry_state, list_entry_state.c.state == state), state
    decided = objection_rows(engine, state="decided", limit=10_000)
    assert {"upheld", "dismissed", "owner_maintained"} <= {o["outcome"] for o in decided}
    assert [o for o in objection_rows(engine, limit=10_000) if o["appeal_of"] is not None], "one appeal"
    overdue = objection_rows(engine, state="overdue", today=until.date(), limit=10_000)
    assert len(overdue) == 1, overdue
    for outcome in ("approved", "refused"):
        assert _count(engine, repair_decisions, repair_decisions.c.outcome == outcome), outcome
    assert _count(engine, checks, checks.c.outcome == "deny")
    assert counts["checks_fast_tracked"] > 0
    with engine.connect() as conn:
        contexts = set(conn.scalars(select(checks.c.context).distinct()))
    assert contexts == set(catalog.contexts), "consumers check in every context"
    _in_the_past(engine)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _in_the_past(engine: Engine) -> None:
    """No stamp ahead of the real clock, the history begun 30 months ago, the chain intact, and
    every notice to a resident in Chinese and English."""
    real = CLOCK.real()
    assert CLOCK.now() >= real, "the replay lets the clock run again"
    with engine.connect() as conn:
        assert not clock_status(conn, real)["ahead"]
        for column in STAMPS:
            assert _aware(conn.scalar(select(func.max(column)))) <= real, column
        first = _aware(conn.scalar(select(func.min(audit_events.c.at))))
        texts = conn.execute(select(notices.c.title, notices.c.body).where(notices.c.recipient == "subject")).all()
    assert first < real - timedelta(days=28 * MONTHS), "the history begins about 30 months ago"
    report = verify(engine)
    assert report.intact, report.problems
    assert texts and all("发生了什么" in body and "What happened" in body for _, body in texts)


def test_the_same_seed_gives_the_same_history(
    catalog: Catalog, vault: IdentifierVault, city: Path, until: datetime, tmp_path: Path
) -> None:
    runs = []
    for name in ("a", "b"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(engine)
        runs.append(_replay(engine, catalog, vault, city, until, tmp_path / name))
        engine.dispose()
    assert runs[0] == runs[1]
    assert runs[0]["proposals_approved"] > runs[0]["proposals_rejected"] > 0


def test_a_store_with_records_is_not_replayed_into(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, city: Path, until: datetime, tmp_path: Path
) -> None:
    first = sorted((city / "departments").glob("court.*.csv"))[0]
    ingest_file(engine, catalog, vault, first, report_dir=tmp_path, helper_min_bytes=None)
    events = _count(engine, audit_events)
    with pytest.raises(InvalidInput, match="replayed into an empty store only"):
        _replay(engine, catalog, vault, city, until, tmp_path)
    assert _count(engine, audit_events) == events, "nothing stored"


def test_the_history_never_ends_in_the_future(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, city: Path, tmp_path: Path
) -> None:
    ahead = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(InvalidInput, match="is ahead of the clock"):
        _replay(engine, catalog, vault, city, ahead, tmp_path)
    assert _count(engine, audit_events) == 0, "nothing stored"


def test_a_directory_that_is_no_city_is_refused_in_one_line(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, until: datetime, tmp_path: Path
) -> None:
    for wrong in (tmp_path / "missing", tmp_path):  # nothing there; a directory without departments/
        with pytest.raises(InvalidInput, match="no departments/ directory in it"):
            _replay(engine, catalog, vault, wrong, until, tmp_path)
    assert _count(engine, audit_events) == 0, "nothing stored"


def test_every_notice_speaks_chinese_and_english() -> None:
    for kind in NoticeKind:
        title, body = bilingual(Notice(kind, "Entry 7: listed", "what", "why", "can do", None))
        assert title.endswith("| Entry 7: listed") and any("\u4e00" <= c <= "\u9fff" for c in title), kind
        assert body.startswith("发生了什么：") and body.endswith("What you can do: can do"), kind


def test_a_city_without_monthly_files_is_ingested_at_once_now(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path
) -> None:
    flat = tmp_path / "flat"
    summary = generate_city(flat, 60, 30, 5, datetime.now(UTC).date())
    counts = replay(
        engine, catalog, vault, Ed25519PrivateKey.generate(), flat, seed=SEED, report_dir=tmp_path / "rejects",
        helper_min_bytes=None,
    )  # fmt: skip
    assert counts["batches"] == len(summary.files) - 2  # every department file; never the ground truth
    assert "checks" not in counts and "objections_filed" not in counts, "no history, no acts"
    with engine.connect() as conn:
        first = _aware(conn.scalar(select(func.min(records.c.recorded_at))))
    assert first > CLOCK.real() - timedelta(minutes=10), "ingested at the present"
