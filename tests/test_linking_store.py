"""Match review against the real store, on SQLite and PostgreSQL: fragments kept at ingestion,
training, proposals, judgements appended and reversible, and the bitemporal effect of a link."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from linking_store_world import (
    NAMESAKE,
    LinkWorld,
    at,
    build,
    clock_at,
    keep_model,
    mistyped_rows,
    namesake_rows,
    tax_record,
)
from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import Conflict, InvalidInput, NotFound
from xinyong.domain.identifiers import IdentifierVault, digest64
from xinyong.services import linking
from xinyong.services.linking_views import open_proposals, proposal
from xinyong.store.linking_tables import link_fragments, link_judgements, link_models, link_proposals
from xinyong.store.tables import identifiers, notices, records, unresolved


@pytest.fixture
def world(engine: Engine, catalog: Catalog, vault: IdentifierVault, tmp_path: Path) -> LinkWorld:
    return build(engine, catalog, vault, tmp_path)


def _proposals_of(world: LinkWorld, source_ref: str) -> list[dict]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(link_proposals).where(link_proposals.c.source_ref == source_ref).order_by(link_proposals.c.rank)
        )
        return [dict(r._mapping) for r in rows]


def test_ingestion_keeps_only_keyed_fragments_of_a_mistyped_number(world: LinkWorld) -> None:
    rows = mistyped_rows(world, 2)
    world.ingest(rows, at(1))
    m0 = world.current("M-0")
    with world.engine.connect() as conn:
        frag = conn.execute(select(link_fragments).where(link_fragments.c.record_id == m0.id)).one()
        count = conn.scalar(select(func.count()).select_from(link_fragments))
        true_hash = conn.scalar(
            select(identifiers.c.value_hash).where(
                identifiers.c.value_hash == world.vault.digest("cn.ric", world.persons[0].ric)
            )
        )
    assert count == 2  # the two mistyped records; identified records keep nothing here
    assert digest64(true_hash) in frag.id_corrections  # the true number is among the corrections
    written = rows[0]["id_number"]
    stored = " ".join(str(v) for v in frag._mapping.values())
    for part in (written, written[:6], written[6:14], written[14:17]):
        assert part not in stored  # no plain part of the number


def test_training_keeps_a_versioned_model_with_its_figures(world: LinkWorld) -> None:
    world.ingest(mistyped_rows(world, 6), at(1))
    version = keep_model(world)
    with world.engine.connect() as conn:
        row = conn.execute(select(link_models)).one()
    assert row.version == version and len(version) == 64
    assert row.figures["subjects"] == 162 and set(row.figures["training"]) == {"person", "organisation"}
    assert linking._load(row.model).version == version
    tampered = row.model.replace('"high_threshold": 0.99', '"high_threshold": 0.5')
    with pytest.raises(ValueError, match="altered"):
        linking._load(tampered)


def test_a_mistyped_number_finds_its_subject_with_high_priority_and_named_evidence(world: LinkWorld) -> None:
    version = keep_model(world)
    world.ingest(mistyped_rows(world, 4), at(1))  # proposed at once: the batch's hook
    for i in range(4):
        best = _proposals_of(world, f"M-{i}")[0]
        subject = world.persons[i] if i % 2 == 0 else world.orgs[i]
        number = subject.ric if i % 2 == 0 else subject.uscc  # type: ignore[attr-defined]
        assert best["subject_id"] == world.subject_of_number("cn.ric" if i % 2 == 0 else "cn.uscc", number)
        assert best["priority"] == "high" and best["model_version"] == version
        assert set(best["explanation"]) == {"name", "identifier", "document", "source"}
        assert best["explanation"]["identifier"]["level"] == "one_edit"
    assert world.current("M-0").subject_id is None  # a proposal, never a link


def test_namesakes_are_both_shown_never_high_never_linked_never_listed(world: LinkWorld) -> None:
    from xinyong.services.maintain import maintain
    from xinyong.store.tables import list_entries

    keep_model(world)
    world.ingest(namesake_rows(), at(1))
    twins = {world.subject_of_number("cn.ric", t.ric) for t in world.twins}
    for ref in ("N-0", "N-1"):
        found = _proposals_of(world, ref)
        assert {p["subject_id"] for p in found[:2]} == twins
        assert all(p["priority"] == "normal" and not p["identifier_evidence"] for p in found)
        assert abs(found[0]["probability"] - found[1]["probability"]) < 1e-9
        detail = proposal(world.engine, found[0]["id"])
        assert {o["subject_id"] for o in detail["other_candidates"]} >= twins - {found[0]["subject_id"]}
        assert detail["record_name"] == NAMESAKE
        assert world.current(ref).subject_id is None
    maintain(world.engine, world.catalog, clock_at(40))
    with world.engine.connect() as conn:
        listed = conn.scalars(select(list_entries.c.source_ref).where(list_entries.c.source_ref.in_(("N-0", "N-1"))))
        assert list(listed) == []


def test_a_confirmed_link_counts_from_its_judgement_and_a_replay_before_is_unchanged(world: LinkWorld) -> None:
    from test_checks import KEY  # the test signing key
    from xinyong.services.checks import certificate_of, replay, run_check
    from xinyong.services.portal import my_file

    keep_model(world)
    org = world.orgs[3]
    written = org.uscc[:10] + ("0" if org.uscc[10] != "0" else "1") + org.uscc[11:]
    world.ingest([tax_record("TX-1", org, written, 1)], at(1), source="tax")

    def check(day: float) -> dict:
        return run_check(world.engine, world.catalog, world.vault, KEY, identifier=org.uscc,
                         context="finance.subsidy", purpose="subsidy_application", reference="subsidy 2024-1",
                         consumer="consumer:finance",
                         now=clock_at(day))  # fmt: skip

    before = check(2)
    assert before["decision"]["outcome"] == "allow"
    [best] = [p for p in _proposals_of(world, "TX-1") if p["rank"] == 1]
    done = linking.decide(world.engine, world.catalog, best["id"], "confirm", reviewer="li",
                          reason="same company: one digit of the code mistyped", now=clock_at(3))  # fmt: skip
    after = check(4)
    assert after["decision"]["outcome"] == "deny"
    [applied] = after["decision"]["applied"]
    by = f"review {done['judgement']} on {at(3).date().isoformat()}"
    assert applied["basis"][0]["linked_by"] == by and f"linked to the subject by {by}" in applied["reason"]
    assert by in certificate_of(world.engine, after["check_id"]).decode()  # the signed certificate says so too
    [mine] = [
        r for r in my_file(world.engine, world.catalog, best["subject_id"], at(4))["records"] if r["source"] == "tax"
    ]
    assert mine["linked_by"] == {"review": done["judgement"], "on": at(3).date()}  # the subject sees how
    again = replay(world.engine, world.catalog, before["check_id"])
    assert again["same"] is True and again["outcome_replayed"] == "allow"
    linked = world.current("TX-1", "tax")
    assert linked.link_method == "confirmed" and linked.subject_id == best["subject_id"]
    with world.engine.connect() as conn:
        told = conn.execute(select(notices).where(notices.c.event_ref == f"link:{done['judgement']}")).one()
        queue = conn.execute(select(unresolved.c.resolution).where(unresolved.c.resolved_at.isnot(None))).all()
    assert told.subject_id == best["subject_id"] and "object" in told.body
    assert [q.resolution for q in queue] == ["confirmed"]
    assert open_proposals(world.engine)["total"] == 0  # the record's other candidates close

    undone = linking.undo(world.engine, world.catalog, done["judgement"], reviewer="wang",
                          reason="the company disputes it; needs more evidence", now=clock_at(5))  # fmt: skip
    assert check(6)["decision"]["outcome"] == "allow"
    assert replay(world.engine, world.catalog, after["check_id"])["outcome_replayed"] == "deny"
    with world.engine.connect() as conn:
        history = conn.execute(select(link_judgements).order_by(link_judgements.c.id)).all()
    assert [(j.outcome, j.reverses) for j in history] == [("confirm", None), ("undo", done["judgement"])]
    assert undone["record_version"] is not None and world.current("TX-1", "tax").subject_id is None
    assert open_proposals(world.engine)["total"] >= 1  # back in the queue


def test_a_rejected_pair_is_never_proposed_again_until_the_rejection_is_undone(world: LinkWorld) -> None:
    keep_model(world)
    world.ingest(namesake_rows(), at(1))
    first = _proposals_of(world, "N-0")[0]
    j = linking.decide(world.engine, world.catalog, first["id"], "reject", reviewer="li",
                       reason="different district on the judgment", now=clock_at(2))  # fmt: skip
    clock_at(3)
    linking.run(world.engine)
    open_ids = {p["id"] for p in open_proposals(world.engine, limit=200)["items"]}
    assert first["id"] not in open_ids
    with pytest.raises(Conflict, match=f"this pair was rejected \\(judgement {j['judgement']}\\)"):
        linking.decide(
            world.engine,
            world.catalog,
            first["id"],
            "confirm",
            reviewer="li",
            reason="changed my mind",
            now=clock_at(3),
        )
    assert [p["id"] for p in _proposals_of(world, "N-0") if p["subject_id"] == first["subject_id"]] == [first["id"]]
    linking.undo(
        world.engine, world.catalog, j["judgement"], reviewer="li", reason="rejected the wrong one", now=clock_at(4)
    )
    assert first["id"] in {p["id"] for p in open_proposals(world.engine, limit=200)["items"]}


def test_unsure_keeps_the_proposal_open_and_appends(world: LinkWorld) -> None:
    keep_model(world)
    world.ingest(namesake_rows(), at(1))
    first = _proposals_of(world, "N-0")[0]
    linking.decide(
        world.engine, world.catalog, first["id"], "unsure", reviewer="li", reason="cannot tell yet", now=clock_at(2)
    )
    assert first["id"] in {p["id"] for p in open_proposals(world.engine, limit=200)["items"]}
    assert world.current("N-0").subject_id is None


def test_bad_judgements_are_refused_in_words(world: LinkWorld) -> None:
    keep_model(world)
    world.ingest(namesake_rows(), at(1))
    first = _proposals_of(world, "N-0")[0]
    e, c, pid = world.engine, world.catalog, first["id"]
    with pytest.raises(InvalidInput, match="outcome 'maybe': expected confirm, reject or unsure"):
        linking.decide(e, c, pid, "maybe", reviewer="li", reason="a good reason", now=clock_at(2))
    with pytest.raises(InvalidInput, match="reviewer '': give the reviewer's name"):
        linking.decide(e, c, pid, "confirm", reviewer="  ", reason="a good reason", now=clock_at(2))
    with pytest.raises(InvalidInput, match="give the reviewer's name"):
        linking.decide(e, c, pid, "confirm", reviewer="li\x1b[31m", reason="a good reason", now=clock_at(2))
    with pytest.raises(InvalidInput, match="give the reviewer's name"):
        linking.decide(e, c, pid, "confirm", reviewer="x" * 101, reason="a good reason", now=clock_at(2))
    with pytest.raises(InvalidInput, match="needs a reason"):
        linking.decide(e, c, pid, "confirm", reviewer="li", reason=" ", now=clock_at(2))
    with pytest.raises(InvalidInput, match="at most 1000"):
        linking.decide(e, c, pid, "confirm", reviewer="li", reason="x" * 5000, now=clock_at(2))
    with pytest.raises(NotFound, match="no match proposal 999999"):
        linking.decide(e, c, 999999, "confirm", reviewer="li", reason="a good reason", now=clock_at(2))
    j = linking.decide(e, c, pid, "confirm", reviewer="li", reason="the judgment names the district", now=clock_at(2))
    other = next(p for p in _proposals_of(world, "N-0") if p["id"] != pid)
    with pytest.raises(Conflict, match="already linked to subject"):
        linking.decide(e, c, other["id"], "confirm", reviewer="li", reason="a second opinion", now=clock_at(3))
    u = linking.undo(e, c, j["judgement"], reviewer="li", reason="wrong twin confirmed", now=clock_at(4))
    with pytest.raises(Conflict, match="was undone already"):
        linking.undo(e, c, j["judgement"], reviewer="li", reason="wrong twin confirmed", now=clock_at(5))
    with pytest.raises(Conflict, match="is an undo"):
        linking.undo(e, c, u["judgement"], reviewer="li", reason="undo the undo", now=clock_at(5))
    with pytest.raises(NotFound, match="no match judgement 999999"):
        linking.undo(e, c, 999999, reviewer="li", reason="no such thing", now=clock_at(5))
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(link_judgements)) == 2
        assert (
            conn.scalar(select(func.count()).where(records.c.source_ref == "N-0")) == 3
        )  # unresolved, linked, unlinked


def test_run_without_a_model_or_with_an_unknown_engine_is_refused(world: LinkWorld) -> None:
    with pytest.raises(InvalidInput, match="no linking model is kept: run `xinyong link train` first"):
        linking.run(world.engine)
    with pytest.raises(InvalidInput, match="engine 'pandas': expected one of duckdb, spark"):
        linking.run(world.engine, engine_name="pandas")
    with pytest.raises(InvalidInput, match="limit 0: give 1 to 200"):
        open_proposals(world.engine, limit=0)
    assert linking.propose_for_batch(world.engine, 1) == 0  # no model: ingestion goes on unchanged
