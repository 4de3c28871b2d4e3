"""Rows in xinyong's columns written back as a department's own export, through a catalog mapping.

The inverse of reading a file through its mapping (ingest/mapping.py): each field goes under the
header that feeds it, codes become the department's words (the first word of the mapping's table
for each code), yuan become 万元 where the column is in 万元 (exactly, in decimal arithmetic), the
identifier goes into the identifier column of its scheme, and the dropped columns get what a
department's system would put there, so that reading the file shows them dropped. The demo city
and the ingestion benchmark write files this way; a property test holds that reading them gives
the same records as the same rows in xinyong's own columns.
"""

from __future__ import annotations

from collections.abc import Mapping as Row
from datetime import date
from pathlib import Path
from typing import Any

from xinyong.demo.writers import CsvWriter, RowWriter
from xinyong.domain.catalog.mappings import Mapping
from xinyong.domain.normalise import UNIT_FACTORS, parse_amount, plain_amount

FILLER = {  # what departments' systems hold in columns the platform drops
    "法定代表人": "张某某",
    "法定代表人或者负责人姓名": "张某某",
    "违法事实": "经查，该单位存在违法行为。",
    "生效法律文书确定的义务": "支付执行款",
    "性别": "男",
    "年龄": "40",
    "执行法院": "市中级人民法院",
}


class ExportLayout:
    """How one mapping lays out rows: its headers, in order, and the conversion of each row."""

    def __init__(self, mapping: Mapping, fields: list[str], dropped: list[str] | None = None) -> None:
        """`fields` are the xinyong columns the rows carry; `dropped`, the dropped headers to fill in."""
        self.mapping = mapping
        self.specs = mapping.specs()
        wanted = set(fields)
        self.columns = [h for h, s in self.specs.items() if set(s.to) & wanted and "record_type" not in s.to]
        self.ids: list[tuple[str, str | None, str | None, dict[str, str]]] = []
        for col in mapping.identifiers:
            words = {scheme: word for word, scheme in reversed((col.schemes or {}).items())}
            self.ids.append((col.header, col.scheme, col.scheme_from, words))
            self.columns.append(col.header)
            if col.scheme_from:
                self.columns.append(col.scheme_from)
        self.dropped = [h for h in (dropped or []) if h in mapping.drop]
        self.headers = list(dict.fromkeys([*self.columns, *self.dropped]))
        self._words = {
            h: {code: word for word, code in reversed(s.values.items())} for h, s in self.specs.items() if s.values
        }

    def row(self, row: Row[str, Any]) -> dict[str, Any]:
        """One row in the department's headers."""
        out: dict[str, Any] = dict.fromkeys(self.headers, "")
        for header in self.columns:
            spec = self.specs.get(header)
            if spec is None:
                continue
            value = row.get(spec.to[0])
            words = self._words.get(header)
            if words is not None and value is not None:
                value = words.get(str(value), value)
            elif spec.unit not in (None, "元") and value not in (None, ""):
                value = plain_amount(parse_amount(value) / UNIT_FACTORS[str(spec.unit)])
            out[header] = value
        scheme, number = row.get("id_scheme"), row.get("id_number")
        for header, fixed, scheme_from, words in self.ids:
            if fixed == scheme or (scheme_from is not None and scheme in words):
                out[header] = number or ""
                if scheme_from is not None:
                    out[scheme_from] = words[str(scheme)]  # the kind of ID is known when the number is not
                break
        for header in self.dropped:
            out[header] = FILLER.get(header, "")
        return out


def plain(value: Any) -> Any:
    """A value as a text file holds it (dates in ISO form)."""
    return value.isoformat() if isinstance(value, date) else value


class ExportWriter(RowWriter):
    """Writes rows given in xinyong's columns as a department's export, into another writer."""

    def __init__(self, inner: RowWriter, layout: ExportLayout) -> None:
        super().__init__(inner.path, inner.columns)
        self.inner = inner
        self.layout = layout

    def _write(self, row: Row[str, Any]) -> None:
        self.inner.write({k: plain(v) for k, v in self.layout.row(row).items()})

    def close(self) -> None:
        self.inner.close()


def export_writer(path: Path, mapping: Mapping, fields: list[str], dropped: list[str], encoding: str) -> ExportWriter:
    """A CSV writer of `mapping`'s export in `encoding`, taking rows in xinyong's columns."""
    layout = ExportLayout(mapping, fields, dropped)
    return ExportWriter(CsvWriter(path, [(h, "text") for h in layout.headers], encoding), layout)


FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def full_width(text: str) -> str:
    """ASCII letters, digits and signs as their full-width forms, as typed with a Chinese input method."""
    return text.translate(FULL_WIDTH)
