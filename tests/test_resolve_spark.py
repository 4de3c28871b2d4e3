"""The Spark path: the same model on Spark (local mode) proposes exactly what DuckDB proposes.

Spark runs in a process of its own: Splink's similarity functions must be on the classpath of the
JVM when it starts, and other tests of the session may have started one without them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from resolve_world import trained_world
from xinyong.domain.identifiers import IdentifierVault
from xinyong.resolve.propose import propose

pytestmark = pytest.mark.slow

SPARK_RUN = """
import sys
import pyarrow.parquet as pq
from xinyong.resolve import load_model, local_spark_session
from xinyong.resolve.propose import propose
from pathlib import Path
folder = Path(sys.argv[1])
model = load_model(folder / "model.json")
with local_spark_session(cores=2) as spark:
    out = propose(pq.read_table(folder / "records.parquet"), pq.read_table(folder / "subjects.parquet"), model,
                  engine="spark", spark=spark)
pq.write_table(out, folder / "spark.parquet")
"""


def test_spark_proposals_equal_duckdb_proposals(vault: IdentifierVault, tmp_path: Path) -> None:
    world, model = trained_world(vault)
    # A part of the world keeps Spark's local run short; namesakes and both kinds stay in it.
    records = pa.concat_tables([world.unresolved.slice(0, 60), world.unresolved.slice(len(world.unresolved) - 2)])
    model.save(tmp_path / "model.json")
    pq.write_table(records, tmp_path / "records.parquet")
    pq.write_table(world.subjects, tmp_path / "subjects.parquet")
    run = subprocess.run([sys.executable, "-c", SPARK_RUN, str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    on_spark = pq.read_table(tmp_path / "spark.parquet")
    on_duckdb = propose(records, world.subjects, model, engine="duckdb")
    assert len(on_duckdb) > 30
    keys = ["record_key", "subject_id", "kind", "rank", "priority", "identifier_evidence", "model_version"]
    assert on_spark.select(keys).equals(on_duckdb.select(keys))
    for a, b in zip(on_spark.to_pylist(), on_duckdb.to_pylist(), strict=True):
        assert a["match_probability"] == pytest.approx(b["match_probability"], abs=1e-9)
        assert a["match_weight"] == pytest.approx(b["match_weight"], abs=1e-9)
        for name, entry in a["explanation"].items():
            assert entry["level"] == b["explanation"][name]["level"]
            assert entry["weight"] == pytest.approx(b["explanation"][name]["weight"], abs=1e-9)
