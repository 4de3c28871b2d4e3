"""The scoring pipeline on Apache Spark, reading and writing Parquet.

The same statements as the embedded engine, transpiled from DuckDB's dialect to Spark SQL by
SQLGlot. PySpark is an optional dependency (`pip install xinyong[spark]`); it is imported only
here, with a clear message when missing.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xinyong.domain.errors import ConfigurationError
from xinyong.engines.scoring_sql import ScoringPipeline

_CACHE = {"subject_status", "rule_raw", "rule_cap", "subject_total"}


@contextmanager
def local_session(cores: int = 2, app: str = "xinyong-scoring") -> Iterator[Any]:
    """A local-mode Spark session that is stopped on exit (tests and single machines)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigurationError("the Spark engine needs PySpark: pip install 'xinyong[spark]'") from None
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    scratch = tempfile.mkdtemp(prefix="xinyong-spark-")
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")  # local mode talks to itself on loopback only
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", str(max(cores * 2, 2)))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.local.dir", scratch)
        .config("spark.driver.memory", "2g")
        .config("spark.sql.ansi.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def run_spark(spark: Any, pipeline: ScoringPipeline, records: str, subjects: str, out_dir: str) -> tuple[str, str]:
    """Score from Parquet inputs; write `scores/` and `contributions/` Parquet under `out_dir`."""
    frame = spark.read.parquet(records)
    pipeline.check_records(frame.columns)
    frame.createOrReplaceTempView("records_in")
    spark.read.parquet(subjects).createOrReplaceTempView("subjects_in")
    for st in pipeline.statements():
        frame = spark.sql(st.for_engine("spark"))
        if st.view in _CACHE:
            frame = frame.cache()
        frame.createOrReplaceTempView(st.view)
    scores, contributions = str(Path(out_dir) / "scores"), str(Path(out_dir) / "contributions")
    spark.table("score_out").write.mode("overwrite").parquet(scores)
    spark.table("contribution_out").write.mode("overwrite").parquet(contributions)
    for view in _CACHE:
        spark.catalog.uncacheTable(view)
    return scores, contributions
