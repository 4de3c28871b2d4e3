"""The trained model: trained on the store's own data, saved with its version, loaded back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from resolve_world import trained_world
from xinyong.domain.identifiers import IdentifierVault
from xinyong.resolve.model import LinkModel, ModelError, load_model
from xinyong.resolve.training import train


def test_training_learns_that_a_corrected_number_is_strong_evidence(vault: IdentifierVault) -> None:
    _, model = trained_world(vault)
    person = model.kinds["person"]
    one_edit = person.levels["identifier"]["one_edit"].weight()
    different = person.levels["identifier"]["different"].weight()
    assert one_edit > 10
    assert different < 0
    assert "identifier.one_edit" in person.training["em"]  # estimated from unresolved records, not a prior
    assert person.levels["name"]["same_characters"].weight() > person.levels["name"]["same_surname"].weight()
    assert person.prior == pytest.approx(1 / person.training["subjects"])


def test_save_and_load_round_trip_keeps_the_version(vault: IdentifierVault, tmp_path: Path) -> None:
    _, model = trained_world(vault)
    path = tmp_path / "model.json"
    version = model.save(path)
    assert version == model.version and len(version) == 64
    loaded = load_model(path)
    assert loaded.version == version
    assert loaded.kinds == model.kinds
    assert loaded.splink_settings("person", "duckdb") == model.splink_settings("person", "duckdb")


def test_new_thresholds_are_a_new_version(vault: IdentifierVault) -> None:
    _, model = trained_world(vault)
    assert model.with_thresholds(0.999).version != model.version


def test_an_altered_model_file_is_refused(vault: IdentifierVault, tmp_path: Path) -> None:
    _, model = trained_world(vault)
    path = tmp_path / "model.json"
    model.save(path)
    document = json.loads(path.read_text())
    document["kinds"]["person"]["levels"]["name"]["same_surname"]["m"] = 0.9  # make a family name decisive
    path.write_text(json.dumps(document))
    with pytest.raises(ModelError, match="was altered"):
        load_model(path)


def test_a_model_of_another_definition_is_refused(vault: IdentifierVault, tmp_path: Path) -> None:
    _, model = trained_world(vault)
    path = tmp_path / "model.json"
    model.save(path)
    document = json.loads(path.read_text())
    document["definition"] = "0" * 64
    path.write_text(json.dumps(document))
    with pytest.raises(ModelError, match="another model definition"):
        load_model(path)


@pytest.mark.parametrize("content", ["", "not json", "[]", '{"format": "other"}', "\xff\xfe"])
def test_files_that_are_not_models_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(content, encoding="utf-8", errors="surrogateescape")
    with pytest.raises(ModelError):
        load_model(path)


def test_a_missing_model_file_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"model\.json"):
        load_model(tmp_path / "model.json")


@pytest.mark.parametrize(("high", "low"), [(0.5, 0.6), (1.0, 0.1), (0.9, 0.0), (0.9, -1.0)])
def test_thresholds_out_of_order_are_refused(vault: IdentifierVault, high: float, low: float) -> None:
    _, model = trained_world(vault)
    with pytest.raises(ModelError, match=r"thresholds must satisfy"):
        LinkModel(model.kinds, high_threshold=high, min_probability=low)


def test_training_without_identified_records_is_refused(vault: IdentifierVault) -> None:
    world, _ = trained_world(vault)
    with pytest.raises(ModelError, match="identified records"):
        train(world.subjects, world.identified.slice(0, 1), seed=1, u_max_pairs=1e4)


def test_training_is_deterministic_for_a_seed(vault: IdentifierVault) -> None:
    world, _ = trained_world(vault)
    small = {k: t.slice(0, 300) for k, t in (("s", world.subjects), ("i", world.identified))}
    unresolved = world.unresolved.filter(pa.compute.is_in(world.unresolved["kind"], pa.array(["person"])))
    a = train(small["s"], small["i"], unresolved, seed=5, u_max_pairs=5e4)
    b = train(small["s"], small["i"], unresolved, seed=5, u_max_pairs=5e4)
    assert a.kinds == b.kinds
