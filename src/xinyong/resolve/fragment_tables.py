"""Identifier fragments of many numbers at once, as an Arrow table: what the linking model reads.

Apart from `fragments.py` so that ingestion, which computes the fragments of a few mistyped
numbers, never imports Arrow (see `xinyong.resolve`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa

from xinyong.domain.identifiers import IdentifierVault
from xinyong.resolve.fragments import FRAGMENT_COLUMNS, Fragments, fragments

FRAGMENTS_SCHEMA = pa.schema(
    [pa.field(c, pa.int64()) for c in FRAGMENT_COLUMNS] + [pa.field("id_corrections", pa.list_(pa.int64()))]
)


def fragments_table(
    vault: IdentifierVault, schemes: Sequence[str | None] | pa.Array, numbers: Sequence[str | None] | pa.Array
) -> pa.Table:
    """`fragments` of many identifiers at once, as an Arrow table in FRAGMENTS_SCHEMA (one row each).

    Equal (scheme, number) pairs are computed once: a department file names its frequent subjects
    many times.
    """
    scheme_list = schemes.to_pylist() if isinstance(schemes, pa.Array | pa.ChunkedArray) else list(schemes)
    number_list = numbers.to_pylist() if isinstance(numbers, pa.Array | pa.ChunkedArray) else list(numbers)
    if len(scheme_list) != len(number_list):
        raise ValueError(f"{len(scheme_list)} schemes for {len(number_list)} numbers: give one scheme per number")
    memo: dict[tuple[str | None, str | None], Fragments] = {}
    rows = [memo.get(k) or memo.setdefault(k, fragments(vault, *k)) for k in zip(scheme_list, number_list, strict=True)]
    return _to_table(rows)


def _to_table(rows: Iterable[Fragments]) -> pa.Table:
    rows = list(rows)
    columns: dict[str, list[object]] = {c: [getattr(r, c[3:]) for r in rows] for c in FRAGMENT_COLUMNS}
    columns["id_corrections"] = [list(r.corrections) for r in rows]
    return pa.Table.from_pydict(columns, schema=FRAGMENTS_SCHEMA)
