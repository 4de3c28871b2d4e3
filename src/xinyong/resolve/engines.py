"""Where the model runs: DuckDB in process (bounded memory, spilling to disk) or Apache Spark.

Splink renders one model definition for either; this module opens the backend, hands Splink the
input tables and brings the results back as Arrow. Both are imported lazily: `import xinyong` needs
neither Splink nor Spark.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[Engine, ...] = ("duckdb", "spark")


class MissingEngine(RuntimeError):
    """A backend whose package is not installed, with how to install it."""


def require_splink() -> None:
    """Fail with the install command when Splink is missing (an install without xinyong's dependencies)."""
    try:
        import splink  # noqa: F401
    except ImportError:
        raise MissingEngine("probabilistic linking needs Splink 5: pip install 'splink>=5,<6'") from None


@dataclass(frozen=True)
class DuckDBLimits:
    """How much the in-process engine may use: memory beyond this spills to `temp_directory`.

    Attributes:
        memory_limit: DuckDB's memory limit (e.g. "4GB"); joins and sorts past it spill to disk.
        threads: worker threads (None: DuckDB's default, one per core).
        temp_directory: where spilled data goes (None: a fresh temporary directory, removed after).
    """

    memory_limit: str = "4GB"
    threads: int | None = None
    temp_directory: str | None = None


@contextmanager
def local_spark_session(cores: int = 2, memory: str = "2g") -> Iterator[Any]:
    """A local-mode Spark session with Splink's similarity functions, stopped on exit.

    For tests and single machines; a cluster's session needs the same `spark.jars` entry.
    """
    require_splink()
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError:
        raise MissingEngine("the Spark engine needs pyspark: pip install 'xinyong[spark]'") from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    scratch = tempfile.mkdtemp(prefix="xinyong-link-spark-")
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("xinyong-linking")
        .config("spark.jars", similarity_jar_location())
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")  # local mode talks to itself on loopback only
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", str(max(cores * 2, 2)))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.local.dir", scratch)
        .config("spark.driver.memory", memory)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()
        shutil.rmtree(scratch, ignore_errors=True)


class Backend:
    """One open backend: registers Arrow tables for Splink and reads results back."""

    dialect: Engine

    def __init__(self, engine: Engine, *, limits: DuckDBLimits | None = None, spark: Any = None) -> None:
        require_splink()
        if engine not in ENGINES:
            raise ValueError(f"unknown linking engine {engine!r}; expected one of {', '.join(ENGINES)}")
        self.dialect = engine
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._con: Any = None
        if engine == "duckdb":
            self.api = self._duckdb(limits or DuckDBLimits())
        else:
            self.api = self._spark(spark)

    def _duckdb(self, limits: DuckDBLimits) -> Any:
        import duckdb
        from splink import DuckDBAPI

        temp = limits.temp_directory
        if temp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="xinyong-link-")
            temp = self._tmp.name
        con = duckdb.connect(config={"memory_limit": limits.memory_limit, "temp_directory": temp})
        if limits.threads is not None:
            con.execute(f"SET threads = {int(limits.threads)}")
        self._con = con
        return DuckDBAPI(con)

    def _spark(self, spark: Any) -> Any:
        try:
            from splink import SparkAPI
        except ImportError:
            raise MissingEngine("the Spark engine needs pyspark: pip install 'xinyong[spark]'") from None
        if spark is None:
            raise ValueError("the Spark engine needs a SparkSession: pass spark=local_spark_session() or your own")
        if "scala-udf-similarity" not in str(spark.conf.get("spark.jars", "")):
            raise MissingEngine(
                "the Spark session lacks Splink's similarity functions: build it with "
                "config('spark.jars', splink.backends.spark.similarity_jar_location()) (local_spark_session does)"
            )
        # Splink breaks long query lineages by checkpointing; without a checkpoint directory (a
        # local session), persisting in memory does the same.
        method = None if spark.sparkContext.getCheckpointDir() else "persist"
        return SparkAPI(spark_session=spark, break_lineage_method=method)  # type: ignore[no-untyped-call]

    def register(self, table: pa.Table, name: str) -> Any:
        """Register an Arrow table under `name` (also its dataset name in Splink's output)."""
        if self.dialect == "spark":
            spark_df = self.api.spark.createDataFrame(table.to_pandas(types_mapper=None))
            return self.api.register(spark_df, dataset_display_name=name, table_name=name)
        return self.api.register(table, dataset_display_name=name, table_name=name)

    def to_arrow(self, frame: SplinkDataFrame) -> pa.Table:
        """A Splink result as an Arrow table."""
        if self.dialect == "duckdb":
            relation = frame.as_duckdbpyrelation()
            return relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()
        return pa.Table.from_pandas(frame.as_pandas_dataframe(), preserve_index=False)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        """Close the connection and remove spilled data."""
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
