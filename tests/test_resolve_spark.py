"""The Spark path: the same model on Spark (local mode) proposes exactly what DuckDB proposes."""

from __future__ import annotations

import pyarrow as pa
import pytest

from resolve_world import trained_world
from xinyong.domain.identifiers import IdentifierVault
from xinyong.resolve.engines import local_spark_session
from xinyong.resolve.propose import propose

pytestmark = pytest.mark.slow


def test_spark_proposals_equal_duckdb_proposals(vault: IdentifierVault) -> None:
    world, model = trained_world(vault)
    # A part of the world keeps Spark's local run short; namesakes and both kinds stay in it.
    records = pa.concat_tables([world.unresolved.slice(0, 60), world.unresolved.slice(len(world.unresolved) - 2)])
    on_duckdb = propose(records, world.subjects, model, engine="duckdb")
    with local_spark_session(cores=2) as spark:
        on_spark = propose(records, world.subjects, model, engine="spark", spark=spark)
    assert len(on_duckdb) > 30
    keys = ["record_key", "subject_id", "kind", "rank", "priority", "identifier_evidence", "model_version"]
    assert on_spark.select(keys).equals(on_duckdb.select(keys))
    for a, b in zip(on_spark.to_pylist(), on_duckdb.to_pylist(), strict=True):
        assert a["match_probability"] == pytest.approx(b["match_probability"], abs=1e-9)
        assert a["match_weight"] == pytest.approx(b["match_weight"], abs=1e-9)
        for name, entry in a["explanation"].items():
            assert entry["level"] == b["explanation"][name]["level"]
            assert entry["weight"] == pytest.approx(b["explanation"][name]["weight"], abs=1e-9)
