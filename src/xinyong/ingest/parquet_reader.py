"""Reading Parquet department files with pyarrow, a record batch at a time, with the schema checked first.

Apart from the other readers so that pyarrow, a large library, is loaded only for Parquet files.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from xinyong.domain.catalog.models import CORE_FIELDS
from xinyong.domain.errors import FileRefused
from xinyong.ingest.columns import Columns, RawChunk, mapped
from xinyong.ingest.mapping import ColumnPlan

_TEXT_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
_DATE_TYPES = (pa.types.is_date32, pa.types.is_date64, pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
_NUMBER_TYPES = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, pa.types.is_null, pa.types.is_string)


def _schema_problems(schema: pa.Schema, plan: ColumnPlan) -> list[str]:
    """Columns of a type their field cannot take (a mapped column is judged by the field it feeds)."""
    problems = []
    for fld, targets in zip(schema, plan.targets, strict=True):
        t = fld.type
        name = targets[0] if targets else ""
        if not targets:
            continue  # a dropped column: never read
        if name in ("decided_on", "valid_from", "valid_until"):
            ok = any(f(t) for f in _DATE_TYPES) or (pa.types.is_timestamp(t))
            expected = "date32 or string"
        elif name == "revision":
            ok = pa.types.is_integer(t) or pa.types.is_null(t)
            expected = "integer"
        elif name in CORE_FIELDS:
            ok = any(f(t) for f in _TEXT_TYPES)
            expected = "string"
        else:
            ok = any(f(t) for f in _NUMBER_TYPES) or pa.types.is_boolean(t) or pa.types.is_date32(t)
            expected = "string, number, boolean or date"
        if not ok:
            problems.append(f"column '{fld.name}' has type {t}; expected {expected}")
    return problems


def read_parquet(path: Path, columns: Columns, batch_rows: int = 5000) -> Generator[RawChunk, None, None]:
    if path.stat().st_size == 0:
        raise FileRefused(f"{path.name}: the file is empty")
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileRefused(f"{path.name}: not a readable Parquet file ({exc})") from None
    schema = pf.schema_arrow
    try:
        plan = columns.plan(list(schema.names), 1)
    except FileRefused as exc:
        raise FileRefused(str(exc).replace(f"{path.name}: line 1:", f"{path.name}: schema:", 1)) from None
    type_problems = _schema_problems(schema, plan)
    if type_problems:
        raise FileRefused(f"{path.name}: wrong schema: " + "; ".join(type_problems))
    if pf.metadata.num_rows == 0:
        raise FileRefused(f"{path.name}: the file holds no records")
    return _batches(pf, plan, batch_rows)


def _batches(pf: pq.ParquetFile, plan: ColumnPlan, batch_rows: int) -> Generator[RawChunk, None, None]:
    row = 0
    reading = plan.describe()
    for batch in pf.iter_batches(batch_size=batch_rows):
        data = batch.to_pydict()
        n = batch.num_rows
        rows = list(map(list, zip(*data.values(), strict=True)))
        chunk = RawChunk(list(data), list(range(row + 1, row + n + 1)), rows, reading=reading)
        reading = {}
        row += n
        yield mapped(plan, chunk)
