"""The platform's versions of a department's record keep the department's revision numbers, on
SQLite and PostgreSQL: after an upheld objection's correction, a reviewer's confirmation of a
match and a merge of subjects, the department's own next revision is accepted as its revision 2,
its revision 1 sent again is unchanged, other content under revision 1 is a conflict naming the
next revision, and an older revision is stale. (The migration of stores written before:
test_platform_versions_migration.py.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from builders import make_uscc
from linking_store_world import LinkWorld, at, build, clock_at, keep_model, person_record, tax_record
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import linking, merges
from xinyong.services.objection_rulings import decide_objection
from xinyong.services.objections import file_objection
from xinyong.services.portal import my_file
from xinyong.store.linking_tables import link_proposals
from xinyong.store.tables import batches, records

DOC = "市监变〔2027〕12号"
WHY = f"the registration authority's notice {DOC} says the two codes are one company"
Row = Callable[..., dict[str, Any]]


@pytest.fixture
def world(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> LinkWorld:
    return build(engine, catalog, vault, tmp_path)


@dataclass
class Case:
    """A department's record the platform wrote a version of: (source, ref), and the
    department's row of a revision (other content with keyword arguments)."""

    source: str
    ref: str
    row: Row
    subject_id: int


def versions(world: LinkWorld, case: Case) -> list[tuple[int, int, bool, str | None]]:
    """(revision, version, current, batch's file format) of every version, oldest first."""
    with world.engine.connect() as conn:
        q = (
            select(records.c.revision, records.c.version, records.c.superseded_at.is_(None), batches.c.file_format)
            .join(batches, batches.c.id == records.c.batch_id)
            .where(records.c.source_id == case.source, records.c.source_ref == case.ref)
            .order_by(records.c.id)
        )
        return [(int(r), int(v), bool(c), f) for r, v, c, f in conn.execute(q)]


def _objection_corrected(world: LinkWorld) -> Case:
    """A court record about a resident, corrected by an upheld objection (performed after all)."""
    p = world.persons[0]
    sid = world.subject_of_number("cn.ric", p.ric)
    o = file_objection(world.engine, world.catalog, subject_id=sid, target="record:court/P-0",
                       grounds="the judgment was performed in full", actor=f"subject:{sid}", now=clock_at(2))  # fmt: skip
    decide_objection(world.engine, world.catalog, o["id"], uphold=True, actor="reviewer:li",
                     reason="the receipt was verified", now=clock_at(3),
                     set_attributes={"performance": "performed"})  # fmt: skip
    return Case("court", "P-0", lambda revision, **over: person_record("P-0", p, p.ric, 0, revision=revision, **over),
                sid)  # fmt: skip


def _match_confirmed(world: LinkWorld) -> Case:
    """A tax record whose company code was mistyped, linked by a reviewer's confirmation."""
    keep_model(world)
    org = world.orgs[3]
    written = org.uscc[:10] + ("0" if org.uscc[10] != "0" else "1") + org.uscc[11:]
    world.ingest([tax_record("TX-1", org, written, 1)], at(1), source="tax")
    with world.engine.connect() as conn:
        best = conn.execute(
            select(link_proposals).where(link_proposals.c.source_ref == "TX-1", link_proposals.c.rank == 1)
        ).one()
    linking.decide(world.engine, world.catalog, best.id, "confirm", reviewer="li",
                   reason="same company: one digit of the code mistyped", now=clock_at(3))  # fmt: skip
    return Case("tax", "TX-1", lambda revision, **over: {**tax_record("TX-1", org, written, 1), "revision": revision,
                                                         **over}, int(best.subject_id))  # fmt: skip


def _merged(world: LinkWorld) -> Case:
    """A tax record of a company under a second code, moved to the company by a merge."""
    a = world.orgs[3]
    code_b = make_uscc(777001)
    world.ingest([tax_record("TX-B", a, code_b, 1)], at(1), source="tax")
    sid_a, sid_b = world.subject_of_number("cn.uscc", a.uscc), world.subject_of_number("cn.uscc", code_b)
    p = merges.propose_merge(world.engine, sid_a, sid_b, by="li", reason=WHY, document_no=DOC, now=clock_at(2))
    merges.decide(world.engine, world.catalog, p["proposal"], "confirm", reviewer="wang", reason="checked",
                  now=clock_at(3))  # fmt: skip
    return Case("tax", "TX-B", lambda revision, **over: {**tax_record("TX-B", a, code_b, 1), "revision": revision,
                                                         **over}, sid_a)  # fmt: skip


SCENARIOS = {"objection": _objection_corrected, "confirmation": _match_confirmed, "merge": _merged}


@pytest.mark.parametrize("made_by", list(SCENARIOS))
def test_the_departments_next_revision_follows_its_own_numbers_after_a_platform_version(
    world: LinkWorld, made_by: str
) -> None:
    case = SCENARIOS[made_by](world)
    ref = case.ref
    [first] = [v for v in versions(world, case) if v[1] == 0]
    assert versions(world, case) == [(1, 0, False, first[3]), (1, 1, True, "decision")]
    with world.engine.connect() as conn:
        first_batch, first_line = conn.execute(
            select(records.c.batch_id, records.c.batch_line).where(
                records.c.source_ref == ref, records.c.version == 0, records.c.revision == 1
            )
        ).one()

    again = world.ingest([case.row(1), filler(world, case, 1)], at(4), source=case.source)
    assert (again.unchanged, again.rejected) == (1, 0), again.problems_sample
    other = world.ingest([case.row(1, amount_cny="111111")], at(4.1), source=case.source)
    assert other.rejected == 1
    assert other.problems_sample == [
        f"line 2, field 'revision': revision 1 of '{ref}' is already stored with different content "
        f"(batch {first_batch}, line {first_line}); send a correction as revision 2"
    ]
    assert versions(world, case)[-1] == (1, 1, True, "decision"), "the platform's version stays current"

    second = world.ingest([case.row(2, amount_cny="222222")], at(5), source=case.source)
    assert (second.new_versions, second.rejected) == (1, 0), second.problems_sample
    now = versions(world, case)
    assert [(r, v) for r, v, _, _ in now][:3] == [(1, 0), (1, 1), (2, 0)] and not now[1][2]
    current = world.current(ref, case.source)
    assert current.revision == 2 and str(current.attributes["amount_cny"]).startswith("222222")
    if made_by != "objection":  # the person's link (a review, a merge) holds for the department's revision
        assert (current.version, current.subject_id, current.link_method) == (1, case.subject_id, "confirmed")

    again = world.ingest([case.row(1), filler(world, case, 2)], at(6), source=case.source)
    assert (again.unchanged, again.rejected) == (1, 0), again.problems_sample
    other = world.ingest([case.row(1, amount_cny="121212")], at(6.1), source=case.source)
    assert other.problems_sample[0].endswith("send a correction as revision 3")
    world.ingest([case.row(4, amount_cny="444444")], at(7), source=case.source)
    stale = world.ingest([case.row(3, amount_cny="333333")], at(8), source=case.source)
    assert stale.problems_sample == [
        f"line 2, field 'revision': revision 3 of '{ref}' is older than the stored revision 4"
    ]
    assert str(world.current(ref, case.source).attributes["amount_cny"]).startswith("444444")


def filler(world: LinkWorld, case: Case, n: int) -> dict[str, Any]:
    """A new record in a file that sends a stored one again (the very same file is not read twice)."""
    if case.source == "tax":
        return tax_record(f"FILL-{n}", world.orgs[10 + n], world.orgs[10 + n].uscc, 40 + n)
    p = world.persons[10 + n]
    return person_record(f"FILL-{n}", p, p.ric, 40 + n)


def test_the_subjects_file_shows_the_departments_revision_and_the_platforms_version(world: LinkWorld) -> None:
    case = _match_confirmed(world)
    [rec] = [
        r for r in my_file(world.engine, world.catalog, case.subject_id, at(4))["records"] if r["source_ref"] == "TX-1"
    ]
    assert (rec["revision"], rec["version"]) == (1, 1)
    world.ingest([case.row(2, amount_cny="950000")], at(5), source="tax")
    [rec] = [
        r for r in my_file(world.engine, world.catalog, case.subject_id, at(6))["records"] if r["source_ref"] == "TX-1"
    ]
    assert (rec["revision"], rec["version"]) == (2, 1)
    assert rec["link_mark"].endswith("(carried to revision 2)")
    with world.engine.connect() as conn:
        causes = list(
            conn.scalars(select(batches.c.file_name).where(batches.c.file_format == "decision").order_by(batches.c.id))
        )
    assert causes[-1] == "link of revision 1, platform version 1 carried"
