"""The scoring engines behind one interface, and the one place that names them.

An engine runs the catalog's scoring pipeline over the records known at a moment and returns the
scores and their contributions as rows. `online` scores subject by subject in this process (the
path of a single check, and of small rescores); `embedded` runs the pipeline set-based in DuckDB;
`spark` runs the same SQL on a local Spark session. Batch engines (embedded, spark) also run a
pipeline over exported Parquet inputs (`run_files`), which is what `ruleset diff` compares.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import InvalidInput
from xinyong.engines.online import online_rows
from xinyong.engines.scoring_sql import ScoringPipeline

Rows = list[dict[str, Any]]


class ScoringEngine(Protocol):
    """Runs a scoring pipeline over the records known at `known_at`, valid on `as_of`."""

    name: str

    def score(
        self, conn: Connection, catalog: Catalog, as_of: date, known_at: datetime, subject_ids: Sequence[int] | None
    ) -> tuple[Rows, Rows]:
        """(score rows, contribution rows) of the given subjects (every subject when None)."""
        ...


class BatchEngine(ScoringEngine, Protocol):
    def run_files(self, pipeline: ScoringPipeline, records: Path, subjects: Path, workdir: Path) -> tuple[Any, Any]:
        """(scores, contributions) as Arrow tables, from Parquet inputs."""
        ...


class _Online:
    name = "online"

    def score(
        self, conn: Connection, catalog: Catalog, as_of: date, known_at: datetime, subject_ids: Sequence[int] | None
    ) -> tuple[Rows, Rows]:
        return online_rows(conn, catalog, subject_ids, as_of, known_at)


class _Batch:
    """A set-based engine: exports the inputs to Parquet, runs the pipeline, decodes the rows."""

    name = ""

    def score(
        self, conn: Connection, catalog: Catalog, as_of: date, known_at: datetime, subject_ids: Sequence[int] | None
    ) -> tuple[Rows, Rows]:
        from xinyong.engines.embedded import decoded  # pyarrow: imported when used
        from xinyong.services.exports import export_inputs

        with tempfile.TemporaryDirectory(prefix="xinyong-rescore-") as tmp:
            pipeline = ScoringPipeline(catalog, as_of)
            rec_path, sub_path = export_inputs(conn, known_at, subject_ids, Path(tmp), pipeline.inputs)
            s_tbl, c_tbl = self.run_files(pipeline, Path(rec_path), Path(sub_path), Path(tmp))
            return decoded(s_tbl).to_pylist(), decoded(c_tbl).to_pylist()

    def run_files(self, pipeline: ScoringPipeline, records: Path, subjects: Path, workdir: Path) -> tuple[Any, Any]:
        raise NotImplementedError


class _Embedded(_Batch):
    name = "embedded"

    def run_files(self, pipeline: ScoringPipeline, records: Path, subjects: Path, workdir: Path) -> tuple[Any, Any]:
        from xinyong.engines.embedded import run_duckdb

        return run_duckdb(pipeline, str(records), str(subjects))


class _Spark(_Batch):
    name = "spark"

    def run_files(self, pipeline: ScoringPipeline, records: Path, subjects: Path, workdir: Path) -> tuple[Any, Any]:
        import pyarrow.parquet as pq

        from xinyong.engines.spark import local_session, run_spark

        with local_session() as spark:
            s_path, c_path = run_spark(spark, pipeline, str(records), str(subjects), str(workdir / "out"))
            return pq.read_table(s_path), pq.read_table(c_path)


ENGINES: dict[str, ScoringEngine] = {e.name: e for e in (_Embedded(), _Online(), _Spark())}
BATCH_ENGINES: dict[str, BatchEngine] = {"embedded": _Embedded(), "spark": _Spark()}
NAMES = tuple(ENGINES)


def engine_named(name: str) -> ScoringEngine:
    """The engine called `name`; a one-line refusal naming the known ones otherwise."""
    found = ENGINES.get(name)
    if found is None:
        raise InvalidInput(f"unknown engine '{name}': use one of {', '.join(NAMES)}")
    return found


def batch_engine_named(name: str) -> BatchEngine:
    """The set-based engine called `name` (embedded or spark)."""
    found = BATCH_ENGINES.get(name)
    if found is None:
        engine_named(name)  # unknown: the same refusal as everywhere
        raise InvalidInput(f"engine '{name}' scores subject by subject: use one of {', '.join(BATCH_ENGINES)}")
    return found
