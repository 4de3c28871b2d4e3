"""Proposals: candidates with explanations for a person to decide; never high priority on a name alone."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resolve_world import trained_world
from xinyong.domain.identifiers import IdentifierVault
from xinyong.resolve.definition import comparisons
from xinyong.resolve.features import InputError, prepare_records, prepare_subjects
from xinyong.resolve.model import KindParameters, LevelParameters, LinkModel
from xinyong.resolve.propose import HIGH, PROPOSAL_SCHEMA, describe, priority_of, propose


@pytest.fixture(scope="module")
def proposed(vault: IdentifierVault) -> pa.Table:
    world, model = trained_world(vault)
    return propose(world.unresolved, world.subjects, model)


def test_proposals_find_the_true_subject_and_high_ones_are_right(vault: IdentifierVault, proposed: pa.Table) -> None:
    world, model = trained_world(vault)
    assert proposed.schema.equals(PROPOSAL_SCHEMA)
    rows = proposed.to_pylist()
    found = {(r["record_key"], r["subject_id"]) for r in rows}
    recall = sum((key, subject) in found for key, subject in world.truth.items()) / len(world.truth)
    assert recall >= 0.95
    high = [r for r in rows if r["priority"] == HIGH]
    assert high, "records with a mistyped number should give high-priority proposals"
    assert all(world.truth.get(r["record_key"]) == r["subject_id"] for r in high)
    assert {r["model_version"] for r in rows} == {model.version}


def test_namesakes_are_both_proposed_and_neither_is_high(vault: IdentifierVault, proposed: pa.Table) -> None:
    world, _ = trained_world(vault)
    for key in world.namesake_records:
        rows = [r for r in proposed.to_pylist() if r["record_key"] == key]
        assert {r["subject_id"] for r in rows} >= set(world.namesakes)
        assert all(r["priority"] != HIGH for r in rows)
        twins = [r for r in rows if r["subject_id"] in world.namesakes]
        assert twins[0]["match_probability"] == pytest.approx(twins[1]["match_probability"])
        assert all(r["explanation"]["identifier"]["level"] == "none" for r in rows)
        assert "No identifier evidence" in describe(rows[0])


def test_every_record_without_an_identifier_is_normal_priority(vault: IdentifierVault, proposed: pa.Table) -> None:
    world, _ = trained_world(vault)
    bare = set(pc.filter(world.unresolved["record_key"], pc.is_null(world.unresolved["id_whole"])).to_pylist())
    rows = [r for r in proposed.to_pylist() if r["record_key"] in bare]
    assert rows
    assert all(r["priority"] != HIGH and not r["identifier_evidence"] for r in rows)


def test_a_model_that_overrates_names_still_gives_no_high_priority_without_a_number(vault: IdentifierVault) -> None:
    """The attack: a model whose prior and name weights alone reach certainty. The rule is in code, not in the model."""
    world, model = trained_world(vault)
    person = model.kinds["person"]
    inflated = {comp: dict(levels) for comp, levels in person.levels.items()}
    for level in ("same_characters", "same_pinyin", "same_pinyin_tones"):
        inflated["name"][level] = LevelParameters(0.99, 1e-12)
    hostile = LinkModel({**model.kinds, "person": KindParameters(0.9, inflated, person.training)})
    records = world.unresolved.filter(pc.is_in(world.unresolved["record_key"], pa.array(list(world.namesake_records))))
    rows = propose(records, world.subjects, hostile).to_pylist()
    assert rows and max(r["match_probability"] for r in rows) > hostile.high_threshold
    assert all(r["priority"] != HIGH for r in rows)


@pytest.mark.parametrize("level", ["none", "different", "birth", None, "'; --"])
def test_the_priority_rule_refuses_high_without_identifier_evidence(level: str | None) -> None:
    assert priority_of("person", 1.0, level, 0.99) != HIGH


def test_the_priority_rule_needs_the_threshold_too() -> None:
    assert priority_of("person", 0.999, "one_edit", 0.99) == HIGH
    assert priority_of("person", 0.98, "one_edit", 0.99) != HIGH
    assert priority_of("organisation", 0.999, "org_code", 0.99) == HIGH
    assert priority_of("alien", 1.0, "one_edit", 0.99) != HIGH


def test_explanations_name_a_level_weight_and_sentence_for_each_comparison(proposed: pa.Table) -> None:
    row = proposed.slice(0, 1).to_pylist()[0]
    kind = row["kind"]
    for spec in comparisons(kind):
        entry = row["explanation"][spec.name]
        assert entry["level"] in {lv.id for lv in spec.levels}
        assert entry["text"] in {lv.explanation for lv in spec.levels}
        assert isinstance(entry["weight"], float)
    total = row["prior_weight"] + sum(e["weight"] + (e["tf_adjustment"] or 0.0) for e in row["explanation"].values())
    assert total == pytest.approx(row["match_weight"], abs=1e-6)


def test_ranks_order_each_records_candidates(proposed: pa.Table) -> None:
    by_record: dict[str, list[tuple[int, float]]] = {}
    for r in proposed.to_pylist():
        by_record.setdefault(r["record_key"], []).append((r["rank"], r["match_probability"]))
    for ranks in by_record.values():
        ranks.sort()
        assert [rank for rank, _ in ranks] == list(range(1, len(ranks) + 1))
        probabilities = [p for _, p in ranks]
        assert probabilities == sorted(probabilities, reverse=True)


def test_prepared_features_and_duckdb_relations_are_accepted(vault: IdentifierVault, proposed: pa.Table) -> None:
    world, model = trained_world(vault)
    con = duckdb.connect()
    con.register("u", world.unresolved)
    relation = con.sql("SELECT * FROM u")
    again = propose(relation, prepare_subjects(world.subjects), model)
    assert again.select(["record_key", "subject_id", "rank"]).equals(
        proposed.select(["record_key", "subject_id", "rank"])
    )


def test_max_candidates_bounds_each_record(vault: IdentifierVault) -> None:
    world, model = trained_world(vault)
    one = propose(world.unresolved, world.subjects, model, max_candidates=1)
    keys = one["record_key"].to_pylist()
    assert len(keys) == len(set(keys))


def test_empty_inputs_give_no_proposals(vault: IdentifierVault) -> None:
    world, model = trained_world(vault)
    assert len(propose(world.unresolved.slice(0, 0), world.subjects, model)) == 0
    assert len(propose(world.unresolved, world.subjects.slice(0, 0), model)) == 0


def test_a_missing_column_is_named(vault: IdentifierVault) -> None:
    world, model = trained_world(vault)
    with pytest.raises(InputError, match=r"records: missing column\(s\) name"):
        propose(world.unresolved.drop_columns(["name"]), world.subjects, model)


def test_a_repeated_key_is_named(vault: IdentifierVault) -> None:
    world, model = trained_world(vault)
    doubled = pa.concat_tables([world.subjects, world.subjects.slice(0, 1)])
    with pytest.raises(InputError, match="repeats the key '1'"):
        propose(world.unresolved, doubled, model)


def test_an_unknown_kind_is_refused(vault: IdentifierVault) -> None:
    world, _ = trained_world(vault)
    bad = world.unresolved.set_column(1, "kind", pa.array(["animal"] * len(world.unresolved)))
    with pytest.raises(InputError, match="only person and organisation"):
        prepare_records(bad)


def test_a_null_key_is_refused(vault: IdentifierVault) -> None:
    world, _ = trained_world(vault)
    bad = world.unresolved.set_column(0, "record_key", pa.nulls(len(world.unresolved), pa.string()))
    with pytest.raises(InputError, match="null key"):
        prepare_records(bad)


def test_fragments_of_the_wrong_type_are_refused(vault: IdentifierVault) -> None:
    world, _ = trained_world(vault)
    index = world.unresolved.schema.get_field_index("id_birth")
    bad = world.unresolved.set_column(index, "id_birth", pa.array(["19850312"] * len(world.unresolved)))
    with pytest.raises(InputError, match="id_birth is string, expected int64"):
        prepare_records(bad)


def test_an_unknown_engine_is_refused(vault: IdentifierVault) -> None:
    world, model = trained_world(vault)
    with pytest.raises(ValueError, match="unknown linking engine 'postgres'"):
        propose(world.unresolved, world.subjects, model, engine="postgres")  # type: ignore[arg-type]


def test_spark_without_a_session_is_refused(vault: IdentifierVault) -> None:
    world, model = trained_world(vault)
    with pytest.raises(ValueError, match="needs a SparkSession"):
        propose(world.unresolved, world.subjects, model, engine="spark")
