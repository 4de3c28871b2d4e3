"""A store filled the way departments fill it, for the match-review tests.

Residents and companies with court records under valid identifiers (what the model learns from),
two namesakes (same name and birth date, different districts), a few records whose identifier is
mistyped, and court records that name a namesake without any identifier. Everything follows from
the seed; time is injected.
"""

# ruff: noqa: S311 - seeded generators make the test data, not secrets

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from stdnum.cn import ric, uscc

from builders import court_row, write_conn, write_csv
from process_story import hold
from xinyong.demo.population import Org, Person, make_orgs, make_persons, make_ric, mistype
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.ingest.pipeline import BatchResult, ingest_file
from xinyong.store import linking_repo
from xinyong.store.linking_tables import link_models
from xinyong.store.tables import records

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
ANCHOR = date(2024, 1, 1)
NAMESAKE = "王建国"
NAMESAKE_BIRTH = date(1985, 3, 12)


def at(days: float) -> datetime:
    """The moment `days` after T0 (1 March 2024, in the past: writes are stamped by the clock)."""
    return T0 + timedelta(days=days)


def clock_at(days: float) -> datetime:
    """The moment `days` after T0, with the platform's clock held there (for a step that writes)."""
    return hold(at(days))


@dataclass
class LinkWorld:
    engine: Engine
    catalog: Catalog
    vault: IdentifierVault
    tmp: Path
    persons: list[Person]
    orgs: list[Org]
    twins: list[Person]
    files: int = 0

    def ingest(self, rows: list[dict[str, Any]], when: datetime, source: str = "court") -> BatchResult:
        self.files += 1
        folder = self.tmp / f"f{self.files}"
        folder.mkdir(parents=True)
        path = write_csv(folder / f"{source}.csv", rows)
        hold(when)
        return ingest_file(self.engine, self.catalog, self.vault, path, report_dir=self.tmp / "rejects", now=when)

    def current(self, source_ref: str, source: str = "court") -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                select(records).where(
                    records.c.source_id == source, records.c.source_ref == source_ref, records.c.superseded_at.is_(None)
                )
            ).one()

    def subject_of_number(self, scheme: str, number: str) -> int:
        from xinyong.store.tables import identifiers

        with self.engine.connect() as conn:
            sid = conn.scalar(
                select(identifiers.c.subject_id).where(identifiers.c.value_hash == self.vault.digest(scheme, number))
            )
        assert sid is not None
        return int(sid)


def person_record(ref: str, p: Person, number: str | None, n: int, **over: Any) -> dict[str, Any]:
    base = {"subject_name": p.name, "decided_on": "2024-02-20", "valid_from": "2024-02-25", "valid_until": "",
            "document_no": f"(2024)浙01执{n}号", "case_no": f"(2024)浙01执{n}号"}  # fmt: skip
    return court_row(ref, number, **{**base, **over})


def org_record(ref: str, o: Org, number: str | None, n: int, **over: Any) -> dict[str, Any]:
    return person_record(ref, o, number, n, id_scheme="cn.uscc", subject_name=o.name, **over)  # type: ignore[arg-type]


def tax_record(ref: str, o: Org, number: str, n: int) -> dict[str, Any]:
    """A major tax violation: a finance subsidy is denied while it is linked to the company."""
    return {"source_ref": ref, "revision": 1, "record_type": "tax.major_violation", "subject_name": o.name,
            "id_scheme": "cn.uscc", "id_number": number, "decided_on": "2024-02-20", "valid_from": "2024-02-25",
            "valid_until": "", "document_no": f"杭税稽 {n}", "violation": "false_invoicing", "amount_cny": "900000"}  # fmt: skip


def build(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp: Path, seed: int = 11) -> LinkWorld:
    """Ingest the identified population (one court record each) and the namesakes, at T0."""
    rng = random.Random(seed)
    persons = make_persons(random.Random(seed + 1), 120, ANCHOR)
    orgs = make_orgs(random.Random(seed + 2), 40, ANCHOR)
    used = {p.ric for p in persons}
    twins = [
        Person(f"T{i}", "王", "建国", True, NAMESAKE_BIRTH, d, make_ric(rng, d, NAMESAKE_BIRTH, True, used))
        for i, d in enumerate(("330106", "330109"))
    ]
    world = LinkWorld(engine, catalog, vault, tmp, persons, orgs, twins)
    rows = [person_record(f"P-{i}", p, p.ric, i) for i, p in enumerate([*persons, *twins])]
    rows += [org_record(f"O-{i}", o, o.uscc, 500 + i) for i, o in enumerate(orgs)]
    result = world.ingest(rows, T0)
    assert result.rejected == 0 and result.unresolved == 0, result.problems_sample
    return world


def mistyped_rows(world: LinkWorld, count: int, seed: int = 5) -> list[dict[str, Any]]:
    """Court records about identified subjects whose numbers were mistyped (one edit each)."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        if i % 2 == 0:
            p = world.persons[i]
            rows.append(person_record(f"M-{i}", p, mistype(rng, p.ric, ric.is_valid), 900 + i))
        else:
            o = world.orgs[i]
            rows.append(org_record(f"M-{i}", o, mistype(rng, o.uscc, uscc.is_valid), 900 + i))
    return rows


def namesake_rows() -> list[dict[str, Any]]:
    """Court records naming 王建国 without any identifier."""
    return [
        court_row(
            f"N-{i}",
            None,
            subject_name=NAMESAKE,
            decided_on="2024-02-20",
            valid_from="2024-02-25",
            valid_until="",
            document_no=f"(2024)浙01执{700 + i}号",
            case_no=f"(2024)浙01执{700 + i}号",
        )
        for i in range(2)
    ]


_MODEL: dict[str, Any] = {}


def keep_model(world: LinkWorld) -> str:
    """Train the model on this store once per session (the same data gives the same model), and keep
    it in this store; return its version."""
    from xinyong.services.linking import train_model

    if "row" not in _MODEL:
        hold(at(0))
        train_model(world.engine, by="cli:test", seed=3)
        with world.engine.connect() as conn:
            _MODEL["row"] = dict(conn.execute(select(link_models)).one()._mapping)
        return str(_MODEL["row"]["version"])
    row = _MODEL["row"]
    with write_conn(world.engine, dated=False) as conn:
        linking_repo.save_model(conn, row["version"], row["model"], row["trained_at"], row["figures"], row["saved_by"])
    return str(row["version"])
