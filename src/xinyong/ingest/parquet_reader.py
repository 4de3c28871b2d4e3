"""Reading Parquet department files with pyarrow, row by row, with the schema checked first.

Apart from the other readers so that pyarrow, a large library, is loaded only for Parquet files.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from xinyong.domain.catalog.models import CORE_FIELDS
from xinyong.domain.errors import FileRefused
from xinyong.ingest.readers import HeaderCheck, Row

_TEXT_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
_DATE_TYPES = (pa.types.is_date32, pa.types.is_date64, pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
_NUMBER_TYPES = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, pa.types.is_null, pa.types.is_string)


def _schema_problems(schema: pa.Schema) -> list[str]:
    problems = []
    for fld in schema:
        name, t = fld.name, fld.type
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
            problems.append(f"column '{name}' has type {t}; expected {expected}")
    return problems


def read_parquet(
    path: Path, check_header: HeaderCheck, batch_rows: int = 5000
) -> Generator[tuple[int, Row], None, None]:
    if path.stat().st_size == 0:
        raise FileRefused(f"{path.name}: the file is empty")
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileRefused(f"{path.name}: not a readable Parquet file ({exc})") from None
    schema = pf.schema_arrow
    columns = list(schema.names)
    problems = check_header(columns)
    if problems:
        raise FileRefused(f"{path.name}: schema: " + "; ".join(problems))
    type_problems = _schema_problems(schema)
    if type_problems:
        raise FileRefused(f"{path.name}: wrong schema: " + "; ".join(type_problems))
    if pf.metadata.num_rows == 0:
        raise FileRefused(f"{path.name}: the file holds no records")
    row = 0
    for batch in pf.iter_batches(batch_size=batch_rows):
        for rec in batch.to_pylist():
            row += 1
            yield row, rec
